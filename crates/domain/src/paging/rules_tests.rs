//! A page through its life on a state with a log: raised, refused early escalation, moved on
//! when the wait is over, acknowledged by a reply from a phone it reached, and who may do what.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::command::{Command, ContactFields, RotaFields};
use crate::contacts::{ContactKind, Route, Shift};
use crate::dispatch::JobState;
use crate::model::Role;
use crate::state::StateViewExt;
use crate::testing::{Db, user};
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-12-06 20:00 UTC);
const TOKEN: &str = "0123456789abcdefghijKL";

fn contact(id: &str, routes: &[(RouteKind, &str)]) -> Command {
    Command::PutContact {
        expected_version: None,
        fields: ContactFields {
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
        },
    }
}

/// Anna on call (a mobile and an e-mail), Björn next (a mobile); a one-minute wait.
fn seeded() -> Db {
    let mut db = Db::default();
    db.ok(contact("anna", &[(RouteKind::Mobile, "+46 70 111 11 11"), (RouteKind::Email, "anna@region.example")]));
    db.ok(contact("bjorn", &[(RouteKind::Mobile, "+46 70 222 22 22")]));
    db.ok(contact("nobody", &[(RouteKind::Phone, "08-123 00 00")]));
    let shift = |who: &str, from: OffsetDateTime| Shift {
        contact_id: ContactId::new(who),
        from,
        to: from + Duration::hours(12),
        note: String::new(),
    };
    let rota = |id: &str, shifts: Vec<Shift>| Command::PutRota {
        expected_version: None,
        fields: RotaFields {
            id: id.into(),
            name: "Inköp jour".into(),
            function_id: None,
            shifts,
            overrides: Vec::new(),
            page_wait_seconds: Some(60),
            page_on_critical: false,
        },
    };
    db.ok(rota("jour", vec![shift("anna", AT - Duration::hours(2)), shift("bjorn", AT + Duration::hours(10))]));
    db.ok(rota("tom", vec![shift("nobody", AT - Duration::hours(2))]));
    for (id, role) in [("sara", Role::Staff), ("ivar", Role::Purchaser), ("kim", Role::Communicator)] {
        db.ok(Command::CreateUser(user(id, role, &[])));
    }
    db
}

fn raise(id: &str, rota: &str) -> Command {
    Command::PageOnCall {
        fields: PageFields {
            id: id.into(),
            rota_id: rota.into(),
            message: "Slut på CVK-set på IVA".into(),
            incident_id: None,
            lang: "sv".into(),
            exercise: None,
        },
        token: TOKEN.into(),
    }
}

fn page(db: &Db, id: &str) -> Page {
    db.state.page(&PageId::new(id)).unwrap().expect("page exists")
}

fn job_state(db: &Db, p: &Page, step: usize) -> Option<(JobState, crate::channels::Channel)> {
    db.state.dispatch(&p.step_job(step)).unwrap().map(|j| (j.state, j.channel))
}

#[test]
fn a_page_goes_down_its_chain_when_nobody_answers_and_stops_at_a_reply() {
    let mut db = seeded();
    let at = |s: i64| AT + Duration::seconds(s);
    assert_eq!(db.says_as(Some("sara"), AT, raise("p1", "tom")), "page.invalid chain required", "nobody reachable");
    assert_eq!(db.says_as(Some("sara"), AT, raise("p1", "ingen")), "rota.unknown rota_id");
    assert_eq!(db.says_as(Some("sara"), AT, raise("p1", "jour")), "applied", "staff may page");
    let p = page(&db, "p1");
    let who: Vec<(&str, Via)> = p.chain.iter().map(|l| (l.contact_id.as_str(), l.via)).collect();
    assert_eq!(who, [("anna", Via::Sms), ("anna", Via::Email), ("bjorn", Via::Sms)]);
    assert_eq!((p.step, p.step_due, p.raised_by.as_deref()), (0, Some(at(60)), Some("sara")));
    let (state, channel) = job_state(&db, &p, 0).unwrap();
    assert_eq!(
        (state, channel),
        (JobState::Pending, crate::channels::Channel::Sms { to: vec!["+46701111111".into()] })
    );

    // Not before the wait is over, not for another step, not by a person.
    let escalate = |step| Command::EscalatePage { page_id: "p1".into(), step };
    assert_eq!(db.says_as(None, at(59), escalate(0)), "page.invalid step out_of_range");
    assert_eq!(db.says_as(None, at(60), escalate(1)), "page.invalid step out_of_range");
    assert!(db.says_as(Some("kim"), at(60), escalate(0)).starts_with("page.forbidden"));
    // Anna's e-mail, then Björn.
    assert_eq!(db.says_as(None, at(60), escalate(0)), "applied");
    assert_eq!(db.says_as(None, at(60), escalate(0)), "page.invalid step out_of_range", "a repeat moves nothing");
    assert_eq!(db.says_as(None, at(120), escalate(1)), "applied");
    let p = page(&db, "p1");
    assert_eq!((p.step, p.step_due), (2, Some(at(180))));
    assert!(matches!(job_state(&db, &p, 1), Some((JobState::Pending, crate::channels::Channel::Email { .. }))));
    assert!(job_state(&db, &p, 2).is_some());

    // A reply from a phone the page has not reached, or from nobody's, changes nothing.
    let reply = |phone: &str| Command::AcknowledgePage { page_id: "p1".into(), ack: Ack::Sms { phone: phone.into() } };
    assert_eq!(db.says_as(None, at(130), reply("+46709999999")), "page.invalid phone unknown_code");
    assert!(db.says_as(Some("ivar"), at(130), reply("+46702222222")).starts_with("page.forbidden"));
    // Anna answers late (her phone was reached at step 0): it counts, and stops the page.
    assert_eq!(db.says_as(None, at(130), reply("+46701111111")), "applied");
    let p = page(&db, "p1");
    assert_eq!((p.state, p.step_due), (PageState::Acknowledged, None));
    let events: Vec<&Event> = p.timeline.iter().map(|e| &e.event).collect();
    assert_eq!(
        events,
        [
            &Event::Paged { step: 0 },
            &Event::NoAnswer { step: 0 },
            &Event::Paged { step: 1 },
            &Event::NoAnswer { step: 1 },
            &Event::Paged { step: 2 },
            &Event::Acknowledged { step: 0, via: "sms".into() },
        ]
    );
    // Messages not yet out are not sent any more.
    assert!((0..3).all(|k| job_state(&db, &p, k).is_some_and(|(s, _)| s == JobState::Cancelled)));
    assert_eq!(db.says_as(None, at(300), escalate(2)), "page.closed");
    assert_eq!(db.says_as(None, at(131), reply("+46702222222")), "page.closed", "answered once");
}

#[test]
fn the_link_needs_the_token_and_the_chain_running_out_leaves_the_page_unanswered() {
    let mut db = seeded();
    let at = |s: i64| AT + Duration::seconds(s);
    assert_eq!(db.says_as(Some("ivar"), AT, raise("p2", "jour")), "applied");
    let link = |step, token: &str| Command::AcknowledgePage {
        page_id: "p2".into(),
        ack: Ack::Link { step, token: token.into() },
    };
    assert_eq!(db.says_as(None, at(1), link(0, "0123456789abcdefghijKX")), "page.not_found", "wrong token");
    assert_eq!(db.says_as(None, at(1), link(1, TOKEN)), "page.not_found", "a step not sent yet");
    // Only the raiser, communicators, ops and admins stop a page.
    let cancel = Command::CancelPage { page_id: "p2".into(), reason: "Löst på annat sätt".into() };
    assert!(db.says_as(Some("sara"), at(2), cancel.clone()).starts_with("page.forbidden"));
    for s in [60, 120, 180] {
        let step = usize::try_from(s / 60 - 1).unwrap();
        assert_eq!(db.says_as(None, at(s), Command::EscalatePage { page_id: "p2".into(), step }), "applied");
    }
    let p = page(&db, "p2");
    assert_eq!((p.state, p.timeline.last().map(|e| &e.event)), (PageState::Unanswered, Some(&Event::Unanswered)));
    assert_eq!(db.says_as(None, at(181), link(0, TOKEN)), "page.closed");

    assert_eq!(db.says_as(Some("sara"), AT, raise("p3", "jour")), "applied");
    assert_eq!(
        db.says_as(Some("kim"), at(5), Command::CancelPage { page_id: "p3".into(), reason: String::new() }),
        "applied"
    );
    assert_eq!(db.says_as(Some("sara"), AT, raise("p4", "jour")), "applied");
    let by_link = Command::AcknowledgePage { page_id: "p4".into(), ack: Ack::Link { step: 0, token: TOKEN.into() } };
    assert_eq!(db.says_as(None, at(5), by_link), "applied");
    let p = page(&db, "p4");
    assert_eq!(p.timeline.last().map(|e| &e.event), Some(&Event::Acknowledged { step: 0, via: "link".into() }));
}

#[test]
fn replies_that_acknowledge() {
    for t in ["OK", "ok tack", "Ja.", "kvitterar", "Kvittert", "ACK"] {
        assert!(is_ack_reply(t), "{t}");
    }
    for t in ["", "STOP", "okänt", "nej"] {
        assert!(!is_ack_reply(t), "{t}");
    }
}

#[test]
fn a_page_in_an_exercise_lists_its_messages_there_and_must_match_its_incident() {
    let mut db = seeded();
    let plan = crate::exercises::ExerciseFields {
        id: "x1".into(),
        name: "Larmövning".into(),
        starts_at: AT - Duration::hours(1),
        ends_at: AT + Duration::hours(3),
    };
    db.ok(Command::PutExercise { expected_version: None, fields: plan });
    let open = Command::OpenIncident(crate::command::IncidentFields {
        id: "i1".into(),
        title: "Larmövning: slut på CVK-set".into(),
        impact: crate::status::Impact::Minor,
        systems: Vec::new(),
        body: "Övning.".into(),
        stage: crate::status::IncidentStage::Investigating,
        lead: None,
        next_update_due: Some(AT + Duration::hours(1)),
        exercise: Some("x1".into()),
    });
    assert_eq!(db.says_as(None, AT, open), "applied");
    let about = |id: &str, exercise: Option<&str>| {
        let mut c = raise(id, "jour");
        if let Command::PageOnCall { fields, .. } = &mut c {
            fields.incident_id = Some("i1".into());
            fields.exercise = exercise.map(Into::into);
        }
        c
    };
    assert_eq!(db.says_as(Some("sara"), AT, about("p1", None)), "page.invalid exercise mismatch");
    assert!(db.state.page(PageId::new("p1")).unwrap().is_none());
    assert_eq!(db.says_as(Some("sara"), AT, about("p1", Some("x1"))), "applied");
    // The escalation's message is listed in the exercise too.
    assert_eq!(
        db.says_as(None, AT + Duration::seconds(60), Command::EscalatePage { page_id: "p1".into(), step: 0 }),
        "applied"
    );
    let p = page(&db, "p1");
    let x = db.state.exercise(crate::ids::ExerciseId::new("x1")).unwrap().unwrap();
    let expected: Vec<crate::exercises::Made> = vec![
        crate::exercises::Made::Incident { id: "i1".into() },
        crate::exercises::Made::Dispatch { id: p.step_job(0) },
        crate::exercises::Made::Page { id: "p1".into() },
        crate::exercises::Made::Dispatch { id: p.step_job(1) },
    ];
    assert_eq!(x.made, expected);
    assert_eq!(p.exercise.as_ref().map(|x| x.as_str()), Some("x1"));
}
