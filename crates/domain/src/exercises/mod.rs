//! Exercises (issue 22): a named exercise with a start and an end, so that nobody mistakes a
//! drill for the real thing. Incidents (with their updates and notices), pages, situation
//! reports and orders made in an exercise carry its id, and every page, file, feed entry,
//! e-mail and text shows them as ÖVNING / ØVELSE / EXERCISE. The exercise keeps the list of what
//! was made in it, so that afterwards it is cleared — those records deleted — without a scan and
//! without touching a real record. Failover drill reports (`beredd drill`) can be attached.
//!
//! Which exercise a command works in is decided in one place, [`rules::exercise_of`]: the one
//! its fields name (a new incident, page, report or order), else the one of the record it acts
//! on (an update, an escalation, an order's next step). `apply` then lists every incident, page,
//! report, order and dispatch job the command made (see [`rules::mark`]).

pub(crate) mod rules;
#[cfg(test)]
mod tests;

use crate::ids::{DispatchId, DrillId, ExerciseId, IncidentId, OrderId, PageId};
use crate::reports::ReportKey;
use crate::state::Key;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a person sends to plan an exercise or change its name or window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseFields {
    pub id: ExerciseId,
    /// E.g. "Stabsövning el-avbrott vecka 50".
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// A record made in an exercise.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Made {
    Incident {
        id: IncidentId,
    },
    Page {
        id: PageId,
    },
    Report {
        key: ReportKey,
    },
    Order {
        id: OrderId,
    },
    /// A notice, a page's message or an order's sending.
    Dispatch {
        id: DispatchId,
    },
}

impl Made {
    /// What `key` is, if it is a kind of record an exercise lists.
    pub fn of_key(key: &Key) -> Option<Made> {
        Some(match key {
            Key::Incident(id) => Made::Incident { id: id.clone() },
            Key::Page(id) => Made::Page { id: id.clone() },
            Key::Report(key) => Made::Report { key: key.clone() },
            Key::Order(id) => Made::Order { id: id.clone() },
            Key::Dispatch(id) => Made::Dispatch { id: id.clone() },
            _ => return None,
        })
    }

    pub fn key(&self) -> Key {
        match self {
            Made::Incident { id } => Key::Incident(id.clone()),
            Made::Page { id } => Key::Page(id.clone()),
            Made::Report { key } => Key::Report(key.clone()),
            Made::Order { id } => Key::Order(id.clone()),
            Made::Dispatch { id } => Key::Dispatch(id.clone()),
        }
    }

    /// `incident`, `page`, `report`, `order` or `dispatch`.
    pub fn kind(&self) -> &'static str {
        match self {
            Made::Incident { .. } => "incident",
            Made::Page { .. } => "page",
            Made::Report { .. } => "report",
            Made::Order { .. } => "order",
            Made::Dispatch { .. } => "dispatch",
        }
    }
}

/// An exercise as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exercise {
    pub id: ExerciseId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Set when someone ended it before `ends_at`.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<OffsetDateTime>,
    /// What was made in it, oldest first (emptied when it is cleared).
    #[serde(default)]
    pub made: Vec<Made>,
    /// Failover drill reports attached to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drills: Vec<DrillId>,
    /// When its records were deleted, by whom, and how many.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_by: Option<String>,
    #[serde(default)]
    pub cleared: u32,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub version: u64,
}

/// Longest exercise name.
pub const MAX_NAME: usize = 120;
/// The longest an exercise may run.
pub const MAX_WINDOW: time::Duration = time::Duration::days(14);
/// Most records one exercise may make (they are listed in its one record).
pub const MAX_MADE: usize = 2000;
/// Most drill reports one exercise keeps.
pub const MAX_DRILLS: usize = 50;

impl Exercise {
    /// When it ends (or ended): its planned end, or earlier if ended by hand.
    pub fn end(&self) -> OffsetDateTime {
        self.ended_at.map_or(self.ends_at, |e| e.min(self.ends_at))
    }

    /// Whether records can be made in it at `now`.
    pub fn is_running(&self, now: OffsetDateTime) -> bool {
        self.cleared_at.is_none() && self.starts_at <= now && now < self.end()
    }

    /// Whether it is over at `now` (then it can be cleared).
    pub fn is_over(&self, now: OffsetDateTime) -> bool {
        now >= self.end()
    }

    pub fn is_cleared(&self) -> bool {
        self.cleared_at.is_some()
    }

    /// How many records of each kind it made, in the order of [`Made::kind`]'s kinds.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        ["incident", "page", "report", "order", "dispatch"]
            .into_iter()
            .map(|k| (k, self.made.iter().filter(|m| m.kind() == k).count()))
            .collect()
    }
}
