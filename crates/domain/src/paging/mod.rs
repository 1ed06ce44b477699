//! Paging the on-call (issue 21). "Page the on-call" for a rota reaches whoever is on call
//! first; without an acknowledgement in time it goes to that person's next route, then to the
//! next person in the rota, then to the function's own routes. [`chain`] decides that order, from
//! the rota and the directory as they are at the moment of paging; a [`Page`] keeps the chain,
//! where it has got to and its timeline. Each step is a dispatch job (a notice, see
//! [`crate::subscribers::About::Page`]) delivered by the leader like any other; the leader's clock
//! moves a page down its chain (`EscalatePage`, refused unless the step's wait is over), so a new
//! leader carries on where the old one stopped. A reply of "OK" to the text, or the one-time
//! link in it, acknowledges the page and stops it.
//!
//! Only routes the cluster can use without a person are links in the chain: a mobile or pager
//! number in E.164 form (a text message) and an e-mail address. A landline or a RAKEL talk group
//! stays in the directory for people to call.

pub(crate) mod rules;

use crate::contacts::{Contact, Rota, RouteKind};
use crate::ids::{ContactId, IncidentId, PageId, RotaId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// How one link of the chain is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Sms,
    Email,
}

/// Why someone is in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// On call at the moment of paging (an override counts).
    OnCall,
    /// The one who takes over next.
    Next,
    /// Someone else on the rota, in the order of their next shift.
    Rota,
    /// The rota's function (a duty phone or shared mailbox) when no person answered.
    Fallback,
}

/// One link: a person (or the function) and one route of theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub contact_id: ContactId,
    pub name: String,
    pub via: Via,
    /// The E.164 number or the e-mail address.
    pub address: String,
    pub reason: Reason,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnCall => "on_call",
            Self::Next => "next",
            Self::Rota => "rota",
            Self::Fallback => "fallback",
        }
    }
}

/// Where a page stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageState {
    /// Waiting for an acknowledgement from whoever has been paged so far.
    Open,
    Acknowledged,
    /// The chain ran out with nobody answering.
    Unanswered,
    Cancelled,
}

impl PageState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Unanswered => "unanswered",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How a page was acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ack {
    /// The one-time link in step `step`'s message (anyone holding the page's token).
    Link { step: usize, token: String },
    /// A reply from a paged phone, as the SMS route reported it (the cluster's own command).
    Sms { phone: String },
}

/// One line of a page's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Step `step` of the chain was sent (its dispatch job was made).
    Paged {
        step: usize,
    },
    /// The wait for step `step` ran out with no answer.
    NoAnswer {
        step: usize,
    },
    /// Acknowledged by the person of step `step` (by reply or link).
    Acknowledged {
        step: usize,
        via: String,
    },
    /// The chain ran out.
    Unanswered,
    Cancelled {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account behind it (none for the cluster's own steps and for links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

/// A page: who raised it and why, the chain as it was then, and how far it has got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub id: PageId,
    pub rota_id: RotaId,
    /// The rota's name when paged (the page reads the same if the rota is renamed).
    pub rota_name: String,
    /// What the page says, e.g. "Slut på CVK-set på IVA, ring 010-100 20 00".
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// The language of the texts (the raiser's).
    pub lang: String,
    pub chain: Vec<Link>,
    /// The step now waiting for an answer (an index into `chain`).
    pub step: usize,
    /// How long each step waits for an answer.
    pub wait_seconds: u32,
    /// When the current step's wait runs out (while open).
    #[serde(with = "time::serde::rfc3339::option")]
    pub step_due: Option<OffsetDateTime>,
    pub state: PageState,
    /// The secret in the acknowledgement links (made by the node that took the request; left
    /// out of answers, see [`Page::redacted`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    pub timeline: Vec<Entry>,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    pub raised_by: Option<String>,
    pub version: u64,
    /// The exercise it was made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

impl Page {
    /// Without the acknowledgement token, for pages and answers.
    pub fn redacted(&self) -> Self {
        Self { token: String::new(), ..self.clone() }
    }

    pub fn is_open(&self) -> bool {
        self.state == PageState::Open
    }

    /// The step whose phone is `phone` among the steps already sent (the latest first): a
    /// reply from any of them counts.
    pub fn step_of_phone(&self, phone: &str) -> Option<usize> {
        (0..=self.step.min(self.chain.len().saturating_sub(1)))
            .rev()
            .find(|k| self.chain.get(*k).is_some_and(|l| l.via == Via::Sms && l.address == phone))
    }

    /// What step `k`'s message is about (the notice of its dispatch job).
    pub fn step_notice(&self, k: usize) -> crate::subscribers::Notice {
        crate::subscribers::Notice {
            subscriber_id: Default::default(),
            about: crate::subscribers::About::Page { id: self.id.clone(), step: k },
            sms: self.chain.get(k).is_some_and(|l| l.via == Via::Sms),
        }
    }

    /// The dispatch job of step `k`.
    pub fn step_job(&self, k: usize) -> crate::ids::DispatchId {
        crate::subscribers::notice_id(&self.step_notice(k))
    }

    /// When step `k` was sent, from the timeline.
    pub fn paged_at(&self, k: usize) -> Option<OffsetDateTime> {
        self.timeline.iter().find(|e| e.event == Event::Paged { step: k }).map(|e| e.at)
    }
}

/// The fields of a new page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFields {
    pub id: PageId,
    pub rota_id: RotaId,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    #[serde(default = "swedish")]
    pub lang: String,
    /// The exercise it is made in: the incident's, if it names one (see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
}

fn swedish() -> String {
    "sv".into()
}

/// How long a step waits for an answer unless the rota says otherwise.
pub const DEFAULT_WAIT_SECONDS: u32 = 300;
/// The shortest and longest wait a rota may set.
pub const WAIT_SECONDS: std::ops::RangeInclusive<u32> = 10..=7200;
/// Longest page message (it must leave room in a text for the link).
pub const MAX_MESSAGE: usize = 300;
/// Most links one chain keeps.
pub const MAX_CHAIN: usize = 30;

/// Whether a reply is an acknowledgement: its first word is one of these (any case).
pub fn is_ack_reply(text: &str) -> bool {
    let word = text.split_whitespace().next().unwrap_or_default().trim_end_matches(['.', '!', ',']).to_uppercase();
    matches!(word.as_str(), "OK" | "OKEJ" | "JA" | "KVITT" | "KVITTERAR" | "KVITTERT" | "ACK" | "YES")
}

/// How far ahead the rota's plan is read for the order of the others.
const LOOK_AHEAD: Duration = Duration::days(28);

/// The routes of `c` a page can use, in the contact's own fallback order.
fn usable(c: &Contact) -> Vec<(Via, String)> {
    c.routes
        .iter()
        .filter_map(|r| match r.kind {
            RouteKind::Mobile | RouteKind::Pager => crate::sms::e164(&r.value).map(|p| (Via::Sms, p)),
            RouteKind::Email if crate::contacts::rules::is_email(r.value.trim()) => {
                Some((Via::Email, r.value.trim().to_owned()))
            }
            _ => None,
        })
        .collect()
}

/// Adds `id` unless it is there already; whether it was new.
fn add(people: &mut Vec<(ContactId, Reason)>, id: &ContactId, reason: Reason) -> bool {
    let new = !people.iter().any(|(p, _)| p == id);
    if new {
        people.push((id.clone(), reason));
    }
    new
}

/// The chain for a page on `rota` raised at `at`: the person on call, every usable route of
/// theirs in order; the next to take over; the others on the rota by their next shift (and
/// then anyone else who ever held a shift); the function last. Withdrawn or unknown contacts
/// are left out, and nobody comes twice.
pub fn chain(rota: &Rota, contact: impl Fn(&ContactId) -> Option<Contact>, at: OffsetDateTime) -> Vec<Link> {
    let mut people: Vec<(ContactId, Reason)> = Vec::new();
    if let Some((s, _)) = rota.at(at) {
        add(&mut people, &s.contact_id, Reason::OnCall);
    }
    let mut next_given = false;
    for (s, _) in rota.plan(at, at + LOOK_AHEAD) {
        let reason = if next_given { Reason::Rota } else { Reason::Next };
        next_given |= add(&mut people, &s.contact_id, reason);
    }
    for s in rota.shifts.iter().chain(&rota.overrides) {
        add(&mut people, &s.contact_id, Reason::Rota);
    }
    if let Some(f) = &rota.function_id {
        add(&mut people, f, Reason::Fallback);
    }
    let mut out = Vec::new();
    for (id, reason) in people {
        let Some(c) = contact(&id).filter(|c| !c.withdrawn) else { continue };
        let reason = if Some(&id) == rota.function_id.as_ref() { Reason::Fallback } else { reason };
        for (via, address) in usable(&c) {
            out.push(Link { contact_id: id.clone(), name: c.name.clone(), via, address, reason });
        }
    }
    out.truncate(MAX_CHAIN);
    out
}

#[cfg(test)]
mod rules_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::contacts::{ContactKind, Route, Shift};
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-06 20:00 UTC);

    fn person(id: &str, routes: &[(RouteKind, &str)]) -> Contact {
        Contact {
            id: ContactId::new(id),
            kind: ContactKind::Person,
            name: format!("Person {id}"),
            title: String::new(),
            organisation: String::new(),
            unit_id: None,
            site: String::new(),
            supplier_id: None,
            routes: routes
                .iter()
                .map(|(kind, value)| Route {
                    kind: *kind,
                    value: (*value).into(),
                    hours: String::new(),
                    last_tested: None,
                    note: String::new(),
                })
                .collect(),
            note: String::new(),
            withdrawn: false,
            version: 1,
        }
    }

    fn shift(who: &str, from: OffsetDateTime, hours: i64) -> Shift {
        Shift { contact_id: ContactId::new(who), from, to: from + Duration::hours(hours), note: String::new() }
    }

    #[test]
    fn the_chain_runs_from_the_one_on_call_through_the_rota_to_the_function() {
        use RouteKind::*;
        let day = datetime!(2026-12-06 08:00 UTC);
        let rota = Rota {
            id: "inkop-jour".into(),
            name: "Inköp jour".into(),
            function_id: Some(ContactId::new("f-inkop")),
            // Anna today, Björn tomorrow, Cecilia the day after, Dan long ago.
            shifts: vec![
                shift("dan", day - Duration::days(60), 24),
                shift("anna", day, 24),
                shift("bjorn", day + Duration::days(1), 24),
                shift("cecilia", day + Duration::days(2), 24),
            ],
            // Cecilia covers this evening for Anna.
            overrides: vec![shift("cecilia", AT - Duration::hours(1), 4)],
            version: 1,
            page_wait_seconds: None,
            page_on_critical: false,
        };
        let mut people = vec![
            person("anna", &[(Phone, "08-123 00 00"), (Mobile, "070-1"), (Email, "anna@region.example")]),
            person("bjorn", &[(Mobile, "+46 70 222 22 22")]),
            person("cecilia", &[(Rakel, "RSG 1"), (Mobile, "+46 70 333 33 33"), (Email, "cecilia@region.example")]),
            person("dan", &[(Mobile, "+46 70 444 44 44")]),
            person("f-inkop", &[(Pager, "+46 74 000 00 00"), (Phone, "010-100 80 00")]),
        ];
        people[3].withdrawn = true;
        let find = |id: &ContactId| people.iter().find(|c| c.id == *id).cloned();
        let chain = chain(&rota, find, AT);
        let got: Vec<(&str, Via, &str, Reason)> =
            chain.iter().map(|l| (l.contact_id.as_str(), l.via, l.address.as_str(), l.reason)).collect();
        assert_eq!(
            got,
            [
                // The override: Cecilia now, her mobile then her e-mail (RAKEL is for people).
                ("cecilia", Via::Sms, "+46703333333", Reason::OnCall),
                ("cecilia", Via::Email, "cecilia@region.example", Reason::OnCall),
                // Anna takes over again at 23:00: next. Her mobile "070-1" is no E.164 number.
                ("anna", Via::Email, "anna@region.example", Reason::Next),
                ("bjorn", Via::Sms, "+46702222222", Reason::Rota),
                // Dan is withdrawn; the function's pager last.
                ("f-inkop", Via::Sms, "+46740000000", Reason::Fallback),
            ]
        );
        // Nobody on call: the chain starts with whoever takes over next.
        let empty_now =
            Rota { overrides: Vec::new(), shifts: vec![shift("bjorn", AT + Duration::hours(2), 8)], ..rota };
        let first = chain_first(&empty_now, &people);
        assert_eq!((first.contact_id.as_str(), first.reason), ("bjorn", Reason::Next));
    }

    fn chain_first(rota: &Rota, people: &[Contact]) -> Link {
        chain(rota, |id| people.iter().find(|c| c.id == *id).cloned(), AT).remove(0)
    }
}
