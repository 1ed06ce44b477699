//! Paging the on-call (issue 21), first part: the chain a page goes down. "Page the on-call"
//! for a rota reaches whoever is on call first; without an acknowledgement in time it goes to
//! that person's next route, then to the next person in the rota, then to the function's own
//! routes. This module decides that order, from the rota and the directory as they are at the
//! moment of paging; the page itself, its timeline and the leader's clock that moves it down the
//! chain come in a later step.
//!
//! Only routes the cluster can use without a person are links in the chain: a mobile or pager
//! number in E.164 form (a text message) and an e-mail address. A landline or a RAKEL talk group
//! stays in the directory for people to call.

use crate::contacts::{Contact, Rota, RouteKind};
use crate::ids::ContactId;
use time::{Duration, OffsetDateTime};

/// How one link of the chain is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Sms,
    Email,
}

/// Why someone is in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub contact_id: ContactId,
    pub name: String,
    pub via: Via,
    /// The E.164 number or the e-mail address.
    pub address: String,
    pub reason: Reason,
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
    out
}

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
