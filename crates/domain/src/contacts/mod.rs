//! The contact directory: functions first ("Inköp jour", "IT-beredskap", a duty phone that is
//! always staffed), people second, each with contact routes in fallback order — phone, mobile,
//! e-mail, RAKEL talk-group, satellite phone, pager, a place to go — with opening hours and the
//! date each route was last tested; and on-call rotas that say who is on call now and next.
//!
//! Who is on call is asked with the reader's clock ([`Rota::on_call`]), like "overdue" on the
//! status board: every node stores the same schedule and answers by its own time.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::codes::codes;
use crate::ids::{ContactId, RotaId, SupplierId, UnitId};

pub(crate) mod rules;
#[cfg(test)]
mod tests;

codes!(
    /// A function (staffed around the clock or in hours, whoever holds it) or a named person.
    ContactKind {
        Function = "function",
        Person = "person",
    }
);

codes!(
    /// How to reach someone; listed in the order to try them.
    RouteKind {
        Phone = "phone",
        Mobile = "mobile",
        Email = "email",
        /// A RAKEL (Sweden) or Nødnett (Norway) talk group.
        Rakel = "rakel",
        Satellite = "satellite",
        Pager = "pager",
        /// A place to go in person (a room, a desk, a runner's destination).
        InPerson = "in_person",
    }
);

impl RouteKind {
    /// Routes dialled as numbers (checked as such, and callable from a page).
    pub fn is_number(self) -> bool {
        matches!(self, Self::Phone | Self::Mobile | Self::Satellite | Self::Pager)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub kind: RouteKind,
    /// The number, address, talk group or place.
    pub value: String,
    /// When it is answered, e.g. "dygnet runt" or "vardagar 08–17".
    #[serde(default)]
    pub hours: String,
    /// When someone last checked that it works.
    #[serde(default, with = "crate::model::ymd_opt")]
    pub last_tested: Option<Date>,
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub kind: ContactKind,
    pub name: String,
    /// A person's title, or what a function does.
    pub title: String,
    /// An outside organisation (a municipality, SOS Alarm, a supplier's name).
    pub organisation: String,
    pub unit_id: Option<UnitId>,
    pub site: String,
    pub supplier_id: Option<SupplierId>,
    /// In fallback order: try the first, then the next.
    pub routes: Vec<Route>,
    pub note: String,
    pub withdrawn: bool,
    pub version: u64,
}

impl Contact {
    /// The text a search looks in: names, title, organisation, site, and every route's value
    /// (numbers also without spaces and dashes, so "8000" finds "08-123 8000").
    pub fn search_text(&self, unit_name: Option<&str>) -> String {
        let mut parts = vec![self.name.clone(), self.title.clone(), self.organisation.clone(), self.site.clone()];
        parts.extend(unit_name.map(str::to_owned));
        for r in &self.routes {
            parts.push(r.value.clone());
            if r.kind.is_number() {
                parts.push(r.value.chars().filter(char::is_ascii_digit).collect());
            }
        }
        crate::search::fold(&parts.join(" \u{1f} "))
    }
}

/// One stretch of duty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub contact_id: ContactId,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    #[serde(default)]
    pub note: String,
}

impl Shift {
    pub fn covers(&self, t: OffsetDateTime) -> bool {
        self.from <= t && t < self.to
    }
}

/// An on-call rota: the schedule (shifts that do not overlap; their ends are the handovers)
/// and overrides (swaps, sick cover), which win over the schedule where they overlap it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rota {
    pub id: RotaId,
    pub name: String,
    /// The function this rota staffs ("Inköp jour"), if it is in the directory.
    pub function_id: Option<ContactId>,
    pub shifts: Vec<Shift>,
    pub overrides: Vec<Shift>,
    pub version: u64,
    /// How long a page waits for an answer at each step ([`crate::paging::DEFAULT_WAIT_SECONDS`]
    /// when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_wait_seconds: Option<u32>,
    /// Whether a critical incident pages this rota by itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_on_critical: bool,
}

/// Who is on call at a moment, and who takes over next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnCall {
    pub now: Option<Shift>,
    /// Whether `now` comes from an override.
    pub overridden: bool,
    pub next: Option<Shift>,
}

impl Rota {
    /// The shift in force at `t`: an override covering it, else a scheduled shift.
    pub fn at(&self, t: OffsetDateTime) -> Option<(&Shift, bool)> {
        self.overrides
            .iter()
            .find(|s| s.covers(t))
            .map(|s| (s, true))
            .or_else(|| self.shifts.iter().find(|s| s.covers(t)).map(|s| (s, false)))
    }

    /// Who is on call at `now` and who is next: the first later moment at which someone else
    /// (or someone at all, after a gap) takes over, with the shift from then.
    pub fn on_call(&self, now: OffsetDateTime) -> OnCall {
        let current = self.at(now);
        let who = current.map(|(s, _)| s.contact_id.clone());
        let mut edges: Vec<OffsetDateTime> =
            self.shifts.iter().chain(&self.overrides).flat_map(|s| [s.from, s.to]).filter(|t| *t > now).collect();
        edges.sort();
        edges.dedup();
        let next = edges.into_iter().find_map(|t| match self.at(t) {
            Some((s, _)) if Some(&s.contact_id) != who.as_ref() => {
                // The override or shift that starts the change, reported from the handover on.
                Some(Shift { from: t, ..s.clone() })
            }
            _ => None,
        });
        OnCall { now: current.map(|(s, _)| s.clone()), overridden: current.is_some_and(|(_, o)| o), next }
    }

    /// The shifts in force between `from` and `to` (overrides cut into the schedule), for a
    /// printed week.
    pub fn plan(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<(Shift, bool)> {
        let mut edges: Vec<OffsetDateTime> = self
            .shifts
            .iter()
            .chain(&self.overrides)
            .flat_map(|s| [s.from, s.to])
            .chain([from, to])
            .filter(|t| *t >= from && *t <= to)
            .collect();
        edges.sort();
        edges.dedup();
        let mut out: Vec<(Shift, bool)> = Vec::new();
        for w in edges.windows(2) {
            let Some((s, o)) = self.at(w[0]) else { continue };
            match out.last_mut() {
                Some((last, lo)) if last.contact_id == s.contact_id && last.to == w[0] && *lo == o => last.to = w[1],
                _ => out.push((Shift { from: w[0], to: w[1], ..s.clone() }, o)),
            }
        }
        out
    }
}

/// Most routes one entry may list.
pub const MAX_ROUTES: usize = 12;
/// Most shifts (and, separately, overrides) one rota may hold.
pub const MAX_SHIFTS: usize = 1000;
