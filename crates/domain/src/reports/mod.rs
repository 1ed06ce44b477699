//! Situation reports (issue 22): every care unit tells the crisis staff, on a cycle they set,
//! how it stands — staffing, power, water and heating, IT and phones, critical supplies, what it
//! needs — with one traffic light for the whole unit. The form's fields are the organisation's
//! ([`ReportForm`], [`default_fields`] until set). A [`ReportCycle`] per site (or one for all
//! sites) says when reports are due; [`next_due`] works out each unit's next due time from its
//! last report, and the leader reminds a late unit once per missed time (`RemindReport`).
//!
//! Reports are numbered per unit ([`ReportKey`]: the unit, then a counter), so one unit's
//! history is one range of keys and its latest is read directly.
//!
//! The time a report was *written* ([`SituationReport::written_at`]) is the person's, set by the
//! node that took it: a report filed on a node cut off from the majority waits in that node's
//! outbox and keeps its time when it is shared. A report entered afterwards from paper says so
//! and carries the time written on the paper.

pub(crate) mod rules;
#[cfg(test)]
mod tests;

pub use rules::{cycles, form, history, latest, unit_routes};

use crate::ids::{SiteKey, UnitId};
use crate::state::KeyId;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

/// A traffic light: how a unit (or one part of its work) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// Normal work.
    Green,
    /// Strained: working, with workarounds or reduced capacity.
    Yellow,
    /// Cannot work as it should; needs help.
    Red,
}

impl Light {
    pub const ALL: [Light; 3] = [Light::Green, Light::Yellow, Light::Red];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// What a field of the form asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A light and a comment (e.g. power: yellow, "on reserve power since 14:10").
    Light,
    /// Free text only.
    Text,
}

/// One field of the report form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportField {
    /// Stable name: lower-case letters, digits and `_` (the CSV column, the form's input).
    pub key: String,
    /// The label the organisation chose; empty for the built-in fields, whose label comes in
    /// the reader's language.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub kind: FieldKind,
}

/// The built-in fields' keys, in the order they are asked.
pub const DEFAULT_KEYS: [&str; 5] = ["staffing", "power", "water_heating", "it_phones", "critical_supplies"];

/// The form every organisation starts with: staffing, power, water and heating, IT and phones,
/// medical gases and other critical supplies (each a light and a comment).
pub fn default_fields() -> Vec<ReportField> {
    DEFAULT_KEYS
        .iter()
        .map(|k| ReportField { key: (*k).into(), label: String::new(), kind: FieldKind::Light })
        .collect()
}

/// The organisation's report form (a single record; [`default_fields`] until set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportForm {
    pub fields: Vec<ReportField>,
    pub version: u64,
}

/// Most fields a form may have, and the longest field key.
pub const MAX_FIELDS: usize = 20;
pub const MAX_KEY_LEN: usize = 40;
/// Longest comment, need or free text in a report.
pub const MAX_REPORT_TEXT: usize = 2000;

/// A field's answer in one report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light: Option<Light>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// What a person sends: the unit's answers. `written_at` is set by the node that took it (the
/// moment of sending) or, from paper, the time on the paper.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFields {
    pub unit_id: UnitId,
    pub light: Light,
    #[serde(default)]
    pub values: Vec<FieldValue>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub needs: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
    /// Entered afterwards from a paper form.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_paper: bool,
    /// The exercise it is made in (see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

/// A report's storage key: the unit, then its number within the unit (1, 2, …).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReportKey {
    pub unit_id: UnitId,
    pub n: u64,
}

impl KeyId for ReportKey {
    /// `unit/0000000042`: `/` is never in an id, so one unit's reports are one key range.
    fn key_text(&self) -> String {
        format!("{}/{:010}", self.unit_id, self.n)
    }
}

impl ReportKey {
    /// The key text after which `unit`'s reports begin (for a scan).
    pub fn range_start(unit: &UnitId) -> String {
        format!("{unit}/")
    }
}

/// One filed report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SituationReport {
    pub unit_id: UnitId,
    pub n: u64,
    /// The unit's site when reported (the overview groups by it).
    pub site: String,
    pub light: Light,
    pub values: Vec<FieldValue>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub needs: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// When the person wrote it (their node's clock, or the paper's time).
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
    /// When it reached the log (later than `written_at` if it waited in an outbox).
    #[serde(with = "time::serde::rfc3339")]
    pub shared_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_paper: bool,
    pub reported_by: Option<String>,
    /// The node that took it.
    pub node: u64,
    pub version: u64,
    /// The exercise it was made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

impl SituationReport {
    pub fn key(&self) -> ReportKey {
        ReportKey { unit_id: self.unit_id.clone(), n: self.n }
    }

    pub fn value(&self, key: &str) -> Option<&FieldValue> {
        self.values.iter().find(|v| v.key == key)
    }
}

/// When reports are due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every `minutes` minutes, the first at `first_due`.
    Every {
        #[serde(with = "time::serde::rfc3339")]
        first_due: OffsetDateTime,
        minutes: u32,
    },
    /// Every day at these local times ("08:00", "12:00", "16:00"), in order.
    Daily { times: Vec<String> },
}

/// The shortest and longest interval a cycle may have, in minutes.
pub const CYCLE_MINUTES: std::ops::RangeInclusive<u32> = 10..=24 * 60;
/// Most fixed times a day.
pub const MAX_TIMES: usize = 24;
/// How long before a due time a report counts for it (less for short cycles).
pub const EARLY: Duration = Duration::minutes(15);

/// What a crisis-staff member sends to start a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleFields {
    /// The site it applies to; `None` for every site (a site's own cycle wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub schedule: Schedule,
}

/// A reporting cycle in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCycle {
    /// [`cycle_key`] of the site, or `*` for every site.
    pub key: SiteKey,
    pub site: Option<String>,
    pub schedule: Schedule,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    pub started_by: Option<String>,
    pub version: u64,
}

/// The key of the cycle for `site` (`None`: the one for every site).
pub fn cycle_key(site: Option<&str>) -> SiteKey {
    match site {
        Some(s) => crate::status::site_key(s),
        None => SiteKey::new("*"),
    }
}

/// "HH:MM" as hours and minutes.
pub fn parse_hhmm(s: &str) -> Option<(u8, u8)> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

impl Schedule {
    /// How long before a due time a report counts for it: [`EARLY`], or half the interval of a
    /// shorter cycle.
    pub fn early(&self) -> Duration {
        match self {
            Self::Every { minutes, .. } => EARLY.min(Duration::minutes(i64::from(*minutes)) / 2),
            Self::Daily { .. } => EARLY,
        }
    }

    /// The first due time strictly after `after`. `local` turns a date and a local time into
    /// an instant (the caller knows the time zone; the domain does not).
    pub fn first_after(
        &self,
        after: OffsetDateTime,
        local: &dyn Fn(Date, u8, u8) -> Option<OffsetDateTime>,
    ) -> Option<OffsetDateTime> {
        match self {
            Self::Every { first_due, minutes } => {
                if after < *first_due {
                    return Some(*first_due);
                }
                let step = Duration::minutes(i64::from((*minutes).max(1)));
                let k = (after - *first_due).whole_seconds() / step.whole_seconds() + 1;
                first_due.checked_add(step.checked_mul(i32::try_from(k).ok()?)?)
            }
            Self::Daily { times } => {
                let times: Vec<(u8, u8)> = times.iter().filter_map(|t| parse_hhmm(t)).collect();
                let mut best: Option<OffsetDateTime> = None;
                let mut day = after.date().previous_day()?;
                for _ in 0..4 {
                    for (h, m) in &times {
                        if let Some(t) = local(day, *h, *m).filter(|t| *t > after) {
                            best = Some(best.map_or(t, |b| b.min(t)));
                        }
                    }
                    day = day.next_day()?;
                }
                best
            }
        }
    }
}

impl ReportCycle {
    /// When the unit whose last report was written at `last` is next due: the first due time
    /// after the cycle started that the last report does not already answer (a report answers
    /// the first due time at most [`Schedule::early`] after it was written).
    pub fn next_due(
        &self,
        last: Option<OffsetDateTime>,
        local: &dyn Fn(Date, u8, u8) -> Option<OffsetDateTime>,
    ) -> Option<OffsetDateTime> {
        let answered_until = last.map(|l| l + self.schedule.early());
        let floor = answered_until.map_or(self.started_at, |a| a.max(self.started_at));
        self.schedule.first_after(floor, local)
    }
}

/// The cycle that applies to a unit at `site`: the site's own, else the one for every site.
pub fn cycle_for<'a>(cycles: &'a [ReportCycle], site: &str) -> Option<&'a ReportCycle> {
    let key = cycle_key(Some(site));
    cycles.iter().find(|c| c.key == key).or_else(|| cycles.iter().find(|c| c.key.0 == "*"))
}
