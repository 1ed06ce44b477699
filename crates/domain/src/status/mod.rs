//! The status board: systems with traffic lights, incidents with a timeline of updates and a
//! "next update due" time, scheduled maintenance in numbered stages, and a readiness level per
//! site. The vocabulary is the one status pages share (operational … major outage;
//! investigating … resolved), so staff who know one know this.
//!
//! Times come from the command's envelope; "overdue" is a question asked with the reader's
//! clock ([`Incident::overdue`]), so every node stores the same thing and each shows what is
//! late by its own time.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::codes::codes;
use crate::ids::NodeId;

pub(crate) mod rules;
#[cfg(test)]
mod tests;

codes!(
    /// A system's state, worst last.
    SystemState {
        Operational = "operational",
        UnderMaintenance = "under_maintenance",
        DegradedPerformance = "degraded_performance",
        PartialOutage = "partial_outage",
        MajorOutage = "major_outage",
    }
);

impl SystemState {
    /// Whether staff should treat the system as unavailable and follow its action cards.
    pub fn is_down(self) -> bool {
        !matches!(self, Self::Operational)
    }
}

codes!(
    /// Where an incident stands.
    IncidentStage {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
    }
);

codes!(
    /// How much an incident hurts; major and critical ones put a banner on every page.
    Impact {
        Minor = "minor",
        Major = "major",
        Critical = "critical",
    }
);

codes!(
    /// A site's readiness level (beredskapsläge), kept apart from the system lights.
    ReadinessLevel {
        Normal = "normal",
        /// Stabsläge: a staff group follows the situation.
        StaffAlert = "staff_alert",
        /// Förstärkningsläge: extra resources are called in.
        Reinforced = "reinforced",
        /// Katastrofläge.
        Disaster = "disaster",
    }
);

/// A system shown on the status board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub id: crate::ids::SystemId,
    pub name: String,
    /// The site it belongs to; empty for systems every site shares.
    pub site: String,
    pub description: Option<String>,
    pub state: SystemState,
    /// A short public text about the current state.
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub version: u64,
}

/// One entry in an incident's or a maintenance's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Option<String>,
    /// The node that took it (shown so readers know where it came from).
    pub node: NodeId,
    /// Incident stage after this update (incidents), or the stage number reached (maintenance).
    pub stage: String,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: crate::ids::IncidentId,
    pub title: String,
    pub impact: Impact,
    pub systems: Vec<crate::ids::SystemId>,
    pub stage: IncidentStage,
    /// Who leads the work and owes the next update (a name or user id).
    pub lead: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update_due: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Oldest first.
    pub updates: Vec<Update>,
    pub version: u64,
    /// The exercise it was made in (see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.stage != IncidentStage::Resolved
    }

    /// Whether the promised next update is late at `now` (the reader's clock).
    pub fn overdue(&self, now: OffsetDateTime) -> bool {
        self.is_open() && self.next_update_due.is_some_and(|due| now > due)
    }

    /// Whether it puts a banner on every page.
    pub fn is_major(&self) -> bool {
        self.is_open() && self.impact >= Impact::Major
    }

    /// When anything last happened to it.
    pub fn last_change(&self) -> OffsetDateTime {
        self.updates.last().map_or(self.opened_at, |u| u.at)
    }
}

/// Planned work, done in numbered stages ("del 2 av 5") that are advanced one at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub id: crate::ids::MaintenanceId,
    pub title: String,
    pub systems: Vec<crate::ids::SystemId>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// The stages' names, in order.
    pub stages: Vec<String>,
    /// When each stage is planned to start (empty: each starts when someone advances it).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "crate::model::rfc3339_list")]
    pub stage_starts: Vec<OffsetDateTime>,
    /// 0 before the work starts; k while stage k (1-based) is under way.
    pub current: u32,
    pub phase: MaintenancePhase,
    pub updates: Vec<Update>,
    pub version: u64,
}

codes!(
    MaintenancePhase {
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Completed = "completed",
        Cancelled = "cancelled",
    }
);

impl Maintenance {
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, MaintenancePhase::Completed | MaintenancePhase::Cancelled)
    }

    /// The next stage's planned start, while it has not begun (and the work is not over).
    pub fn next_planned_start(&self) -> Option<OffsetDateTime> {
        if self.is_closed() {
            return None;
        }
        self.stage_starts.get(self.current as usize).copied()
    }
}

/// A site's readiness level. Keyed by [`site_key`] of the site's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub key: crate::ids::SiteKey,
    pub site: String,
    pub level: ReadinessLevel,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub version: u64,
}

/// The storage key of a site name: lower case, Swedish/Norwegian letters folded to ASCII,
/// everything else a dash ("Östra sjukhuset" → "ostra-sjukhuset").
pub fn site_key(site: &str) -> crate::ids::SiteKey {
    let folded: String = crate::search::fold(site.trim());
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    crate::ids::SiteKey(out.trim_matches('-').chars().take(crate::ids::MAX_ID_LEN).collect())
}

/// How far ahead a "next update due" may be promised.
pub const MAX_UPDATE_INTERVAL: Duration = Duration::days(7);
/// Most updates one incident or maintenance keeps.
pub const MAX_UPDATES: usize = 1000;
/// Most stages one maintenance may have.
pub const MAX_STAGES: usize = 20;
