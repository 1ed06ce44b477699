//! Table-driven tests of the directory and rota rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::command::{Command, ContactFields, RotaFields};
use crate::ids::{ContactId, RotaId};
use crate::state::StateViewExt;
use crate::testing::Db;

const AT: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

/// Runs `cmd` for the cluster at this file's [`AT`].
fn run(db: &mut Db, cmd: Command) -> String {
    db.says_as(None, AT, cmd)
}

fn route(kind: RouteKind, value: &str) -> Route {
    Route {
        kind,
        value: value.into(),
        hours: "dygnet runt".into(),
        last_tested: Some(date!(2026 - 11 - 30)),
        note: String::new(),
    }
}

fn contact(id: &str, kind: ContactKind, routes: Vec<Route>) -> Command {
    Command::PutContact {
        expected_version: None,
        fields: ContactFields {
            id: ContactId::new(id),
            kind,
            name: format!("Kontakt {id}"),
            title: String::new(),
            organisation: String::new(),
            unit_id: None,
            site: "Östra sjukhuset".into(),
            supplier_id: None,
            routes,
            note: String::new(),
            withdrawn: false,
        },
    }
}

#[test]
fn routes_are_checked_by_kind() {
    use RouteKind::*;
    let cases: &[(Route, &str)] = &[
        (route(Phone, "08-123 456 00"), "applied"),
        (route(Mobile, "+46 70 123 45 67"), "applied"),
        (route(Satellite, "+870 776 123 456"), "applied"),
        (route(Pager, "12345"), "applied"),
        (route(Email, "inkop.jour@region.example"), "applied"),
        (route(Rakel, "RSG Inköp 1"), "applied"),
        (route(InPerson, "Hus 3, plan 2, rum 214"), "applied"),
        (route(Phone, "ring växeln"), "contact.invalid routes[0].value bad_format"),
        (route(Phone, "12"), "contact.invalid routes[0].value bad_format"),
        (route(Email, "inkop@region"), "contact.invalid routes[0].value bad_format"),
        (route(Email, "a b@c.se"), "contact.invalid routes[0].value bad_format"),
        (route(Rakel, " "), "contact.invalid routes[0].value required"),
        (
            Route { last_tested: Some(date!(2026 - 12 - 03)), ..route(Phone, "112") },
            "contact.invalid routes[0].last_tested out_of_range",
        ),
    ];
    for (i, (r, want)) in cases.iter().enumerate() {
        let mut db = Db::default();
        assert_eq!(run(&mut db, contact(&format!("k{i}"), ContactKind::Function, vec![r.clone()])), *want, "{r:?}");
    }
    let mut db = Db::default();
    let many = vec![route(RouteKind::Phone, "112"); MAX_ROUTES + 1];
    assert_eq!(run(&mut db, contact("k", ContactKind::Person, many)), "contact.invalid routes too_many");
    let Command::PutContact { fields, .. } = contact("k", ContactKind::Person, vec![]) else { unreachable!() };
    let bad_unit = Command::PutContact {
        expected_version: None,
        fields: ContactFields { unit_id: Some(crate::UnitId::new("nope")), ..fields },
    };
    assert_eq!(run(&mut db, bad_unit), "unit.unknown unit_id");
}

fn shift(who: &str, from_h: i64, to_h: i64) -> Shift {
    Shift {
        contact_id: ContactId::new(who),
        from: AT + Duration::hours(from_h),
        to: AT + Duration::hours(to_h),
        note: String::new(),
    }
}

fn rota(shifts: Vec<Shift>, overrides: Vec<Shift>) -> Command {
    Command::PutRota {
        expected_version: None,
        fields: RotaFields {
            id: RotaId::new("inkop"),
            name: "Inköp jour".into(),
            function_id: Some(ContactId::new("inkop-jour")),
            shifts,
            overrides,
            page_wait_seconds: None,
            page_on_critical: false,
        },
    }
}

fn db_with_people() -> Db {
    let mut db = Db::default();
    assert_eq!(
        run(&mut db, contact("inkop-jour", ContactKind::Function, vec![route(RouteKind::Phone, "010-100 80 00")])),
        "applied"
    );
    for p in ["anna", "bo", "cia"] {
        assert_eq!(
            run(&mut db, contact(p, ContactKind::Person, vec![route(RouteKind::Mobile, "070-000 00 00")])),
            "applied"
        );
    }
    db
}

#[test]
fn rotas_refuse_overlaps_and_strangers() {
    let cases: Vec<(Command, &str)> = vec![
        (rota(vec![shift("anna", 0, 8), shift("bo", 7, 16)], vec![]), "rota.invalid shifts[1].from duplicate"),
        (rota(vec![shift("anna", 8, 8)], vec![]), "rota.invalid shifts[0].to out_of_range"),
        (rota(vec![shift("okand", 0, 8)], vec![]), "contact.unknown shifts[0].contact_id"),
        (
            rota(vec![shift("anna", 0, 8)], vec![shift("bo", 1, 3), shift("cia", 2, 4)]),
            "rota.invalid overrides[1].from duplicate",
        ),
        // An override may lie across the schedule: that is what overrides are for.
        (rota(vec![shift("anna", -8, 8), shift("bo", 8, 24)], vec![shift("cia", 6, 10)]), "applied"),
    ];
    for (cmd, want) in cases {
        let mut db = db_with_people();
        assert_eq!(run(&mut db, cmd.clone()), want, "{cmd:?}");
    }
}

#[test]
fn on_call_now_and_next_follow_handovers_and_overrides() {
    let r = Rota {
        id: RotaId::new("inkop"),
        name: "Inköp jour".into(),
        function_id: None,
        // Anna until 08:00 tomorrow-ish, Bo the next day, a gap, then Anna again.
        shifts: vec![shift("anna", -10, 8), shift("bo", 8, 24), shift("anna", 30, 40)],
        // Cia covers 06–10 (across the handover).
        overrides: vec![shift("cia", 6, 10)],
        version: 1,
        page_wait_seconds: None,
        page_on_critical: false,
    };
    let who = |o: &Option<Shift>| o.as_ref().map(|s| s.contact_id.to_string());
    // (hours from AT, on call now, by override, next and from when)
    type Case<'a> = (i64, Option<&'a str>, bool, Option<(&'a str, i64)>);
    let cases: &[Case] = &[
        (0, Some("anna"), false, Some(("cia", 6))),
        (7, Some("cia"), true, Some(("bo", 10))),
        (12, Some("bo"), false, Some(("anna", 30))),
        (26, None, false, Some(("anna", 30))),
        (41, None, false, None),
    ];
    for (h, now, overridden, next) in cases {
        let oc = r.on_call(AT + Duration::hours(*h));
        assert_eq!(who(&oc.now).as_deref(), *now, "at +{h} h");
        assert_eq!(oc.overridden, *overridden, "at +{h} h");
        assert_eq!(
            oc.next.as_ref().map(|s| (s.contact_id.to_string(), s.from)),
            next.map(|(w, t)| (w.to_string(), AT + Duration::hours(t))),
            "at +{h} h"
        );
    }
    // The printed week: the override cuts into both shifts.
    let plan: Vec<(String, i64, i64, bool)> = r
        .plan(AT, AT + Duration::hours(24))
        .into_iter()
        .map(|(s, o)| (s.contact_id.to_string(), (s.from - AT).whole_hours(), (s.to - AT).whole_hours(), o))
        .collect();
    assert_eq!(plan, [("anna".into(), 0, 6, false), ("cia".into(), 6, 10, true), ("bo".into(), 10, 24, false)]);
}

#[test]
fn search_text_folds_letters_and_finds_numbers_without_spaces() {
    let c = Contact {
        id: ContactId::new("x"),
        kind: ContactKind::Function,
        name: "Inköp jour".into(),
        title: String::new(),
        organisation: "Region Sjölanda".into(),
        unit_id: None,
        site: "Östra sjukhuset".into(),
        supplier_id: None,
        routes: vec![route(RouteKind::Phone, "010-123 80 00")],
        note: String::new(),
        withdrawn: false,
        version: 1,
    };
    let t = c.search_text(Some("IVA Östra"));
    for q in ["ostra", "inkop", "sjolanda", "0101238000", "iva"] {
        assert!(crate::search::Query::new(q).matches(&t), "{q} in {t}");
    }
}

#[test]
fn the_demo_directory_applies_after_the_demo_data() {
    let mut db = Db::default();
    for (_, cmd) in crate::demo_data::demo_commands().into_iter().chain(crate::demo_data::demo_contacts()) {
        let is_contact = matches!(cmd, Command::PutContact { .. });
        let v = run(&mut db, cmd);
        if is_contact {
            assert_eq!(v, "applied");
        }
    }
}

#[test]
fn an_import_of_entries_saves_all_rows_or_none() {
    use RouteKind::*;
    let mut db = Db::default();
    let good = |id: &str| contact(id, ContactKind::Function, vec![route(Phone, "08-123 456 00")]);
    let bad = contact("trasig", ContactKind::Function, vec![route(Email, "inte en adress")]);
    let cases: &[(Vec<Command>, &str)] = &[
        (vec![good("a"), bad.clone(), good("b")], "contact.invalid routes[0].value"),
        (vec![good("a"), good("b")], "applied"),
        // "a" exists now: creating it again is refused, and "c" before it stays unsaved.
        (vec![good("c"), good("a")], "contact.already_exists"),
    ];
    for (rows, want) in cases {
        let got = run(&mut db, Command::Import { rows: rows.clone() });
        assert!(got.starts_with(want), "{rows:?}: got {got}, want {want}");
    }
    let saved: Vec<_> = ["a", "b", "c", "trasig"]
        .into_iter()
        .filter(|id| db.state.contact(ContactId::new(*id)).unwrap().is_some())
        .collect();
    assert_eq!(saved, ["a", "b"]);
}

#[test]
fn an_import_may_do_what_each_of_its_rows_may_do() {
    use crate::model::{Role, User};
    let db = db_with_people();
    let as_role = |role| User {
        id: crate::UserId::new("u"),
        name: "U".into(),
        role,
        units: vec![],
        password_hash: None,
        expires_at: None,
        disabled: false,
        sessions_valid_after: None,
        source: None,
        version: 1,
    };
    let entries = Command::Import { rows: vec![contact("x", ContactKind::Function, vec![])] };
    for (role, allowed) in
        [(Role::Communicator, true), (Role::Admin, true), (Role::Staff, false), (Role::Purchaser, false)]
    {
        let verdict = crate::access::authorize(&db.state, &as_role(role), &entries).unwrap();
        assert_eq!(verdict.is_ok(), allowed, "{role:?}");
    }
}
