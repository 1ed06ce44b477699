//! Situation reports: when a unit is due, who may report for which unit, what the form
//! accepts, a unit's history, and the leader's reminder once per missed time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::command::{Command, ContactFields};
use crate::contacts::{ContactKind, Route, RouteKind};
use crate::ids::{ContactId, UnitId};
use crate::model::Role;
use crate::state::StateViewExt;
use crate::testing::{AT, Db, unit, user};
use time::macros::datetime;

/// Local times at UTC+1 (Swedish winter time) for the tests.
fn cet(d: Date, h: u8, m: u8) -> Option<OffsetDateTime> {
    let t = time::Time::from_hms(h, m, 0).ok()?;
    Some(d.with_time(t).assume_offset(time::UtcOffset::from_hms(1, 0, 0).ok()?).to_offset(time::UtcOffset::UTC))
}

fn hourly(started: OffsetDateTime) -> ReportCycle {
    ReportCycle {
        key: cycle_key(None),
        site: None,
        schedule: Schedule::Every { first_due: started + Duration::hours(1), minutes: 60 },
        started_at: started,
        started_by: None,
        version: 1,
    }
}

#[test]
fn an_hourly_cycle_is_due_each_hour_and_a_report_answers_the_next_time() {
    let c = hourly(datetime!(2026-12-06 10:00 UTC));
    // Nothing reported: the first report is due an hour after the start.
    assert_eq!(c.next_due(None, &cet), Some(datetime!(2026-12-06 11:00 UTC)));
    // Reported at 10:50 (within 15 minutes of 11:00): next due 12:00.
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 10:50 UTC)), &cet), Some(datetime!(2026-12-06 12:00 UTC)));
    // Reported at 10:30: that does not answer 11:00 yet.
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 10:30 UTC)), &cet), Some(datetime!(2026-12-06 11:00 UTC)));
    // Late for 11:00 (reported 11:20): next due 12:00, and 13:00 after a report at 12:05.
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 11:20 UTC)), &cet), Some(datetime!(2026-12-06 12:00 UTC)));
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 12:05 UTC)), &cet), Some(datetime!(2026-12-06 13:00 UTC)));
    // A report from before the cycle started answers nothing of it.
    assert_eq!(c.next_due(Some(datetime!(2026-12-05 09:00 UTC)), &cet), Some(datetime!(2026-12-06 11:00 UTC)));
    // A short cycle counts reports only half its interval early.
    let short = ReportCycle {
        schedule: Schedule::Every { first_due: datetime!(2026-12-06 10:20 UTC), minutes: 20 },
        ..c.clone()
    };
    assert_eq!(short.schedule.early(), Duration::minutes(10));
    assert_eq!(short.next_due(Some(datetime!(2026-12-06 10:05 UTC)), &cet), Some(datetime!(2026-12-06 10:20 UTC)));
    assert_eq!(short.next_due(Some(datetime!(2026-12-06 10:12 UTC)), &cet), Some(datetime!(2026-12-06 10:40 UTC)));
}

#[test]
fn a_daily_cycle_is_due_at_its_local_times_also_across_midnight() {
    let c = ReportCycle {
        schedule: Schedule::Daily { times: vec!["08:00".into(), "12:00".into(), "16:00".into()] },
        ..hourly(datetime!(2026-12-06 09:00 UTC))
    };
    // 09:00 UTC is 10:00 local: next is 12:00 local = 11:00 UTC.
    assert_eq!(c.next_due(None, &cet), Some(datetime!(2026-12-06 11:00 UTC)));
    // Answered 12:00 local: next 16:00 local.
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 10:50 UTC)), &cet), Some(datetime!(2026-12-06 15:00 UTC)));
    // After 16:00 local: tomorrow 08:00 local = 07:00 UTC.
    assert_eq!(c.next_due(Some(datetime!(2026-12-06 15:10 UTC)), &cet), Some(datetime!(2026-12-07 07:00 UTC)));
    assert_eq!(parse_hhmm("7:00"), None);
    assert_eq!(parse_hhmm("24:00"), None);
    assert_eq!(parse_hhmm("23:59"), Some((23, 59)));
}

/// Two units at two sites, their staff, a communicator, a purchaser; a contact of unit u1 with
/// a mobile and an e-mail address.
fn seeded() -> Db {
    let mut db = Db::default();
    db.ok(Command::CreateUnit(unit("u1")));
    db.ok(Command::CreateUnit(crate::command::UnitFields { site: "Norra sjukhuset".into(), ..unit("u2") }));
    db.ok(Command::CreateUser(user("nurse1", Role::Staff, &["u1"])));
    db.ok(Command::CreateUser(user("nurse2", Role::Staff, &["u2"])));
    db.ok(Command::CreateUser(user("crisis", Role::Communicator, &[])));
    db.ok(Command::CreateUser(user("buyer", Role::Purchaser, &[])));
    db.ok(Command::PutContact {
        expected_version: None,
        fields: ContactFields {
            id: ContactId::new("u1-desk"),
            kind: ContactKind::Function,
            name: "Avdelning 12 expedition".into(),
            title: String::new(),
            organisation: String::new(),
            unit_id: Some(UnitId::new("u1")),
            site: String::new(),
            supplier_id: None,
            routes: [(RouteKind::Mobile, "+46 70 111 22 33"), (RouteKind::Email, "avd12@region.example")]
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
    });
    db
}

fn report(unit: &str, light: Light) -> Command {
    Command::FileReport {
        fields: ReportFields {
            unit_id: UnitId::new(unit),
            light,
            values: vec![
                FieldValue {
                    key: "staffing".into(),
                    light: Some(Light::Yellow),
                    text: "Två sjuksköterskor sjuka".into(),
                },
                FieldValue { key: "power".into(), light: Some(Light::Green), text: String::new() },
            ],
            needs: "Syrgas, 10 flaskor".into(),
            note: String::new(),
            written_at: AT,
            from_paper: false,
            exercise: None,
        },
    }
}

#[test]
fn staff_report_for_their_own_unit_and_the_crisis_staff_for_any() {
    let mut db = seeded();
    assert_eq!(db.says_as(Some("nurse1"), AT, report("u1", Light::Yellow)), "applied");
    assert_eq!(db.says_as(Some("nurse1"), AT, report("u2", Light::Red)), "report.forbidden");
    assert_eq!(db.says_as(Some("buyer"), AT, report("u1", Light::Red)), "report.forbidden");
    assert_eq!(db.says_as(Some("crisis"), AT, report("u2", Light::Red)), "applied");
    assert_eq!(db.says_as(Some("crisis"), AT, report("u1", Light::Green)), "applied");
    assert_eq!(db.says_as(Some("crisis"), AT, report("nowhere", Light::Green)), "unit.unknown unit_id");

    let u1 = UnitId::new("u1");
    let latest = latest(&db.state, &u1, None).unwrap().unwrap();
    assert_eq!((latest.n, latest.light, latest.reported_by.as_deref()), (2, Light::Green, Some("crisis")));
    let all = history(&db.state, &u1, 0, 100).unwrap();
    assert_eq!(all.iter().map(|r| (r.n, r.light)).collect::<Vec<_>>(), [(1, Light::Yellow), (2, Light::Green)]);
    assert_eq!(all[0].value("staffing").unwrap().text, "Två sjuksköterskor sjuka");
    assert_eq!(all[0].needs, "Syrgas, 10 flaskor");
    // Another unit's reports are not in u1's range, and u2 has its own numbering.
    assert_eq!(history(&db.state, &UnitId::new("u2"), 0, 100).unwrap().len(), 1);
    assert_eq!(history(&db.state, &u1, 1, 100).unwrap().len(), 1);

    let nurse = db.state.user(UserId::new("nurse1")).unwrap().unwrap();
    assert!(crate::access::may_see_reports(&nurse, &u1));
    assert!(!crate::access::may_see_reports(&nurse, &UnitId::new("u2")));
    assert!(!crate::access::may_see_all_reports(&nurse));
}

use crate::ids::UserId;

#[test]
fn the_form_takes_only_its_own_fields_and_bad_input_changes_nothing() {
    let mut db = seeded();
    let with = |f: &dyn Fn(&mut ReportFields)| {
        let Command::FileReport { mut fields } = report("u1", Light::Green) else { unreachable!() };
        f(&mut fields);
        Command::FileReport { fields }
    };
    let unknown = with(&|f| f.values.push(FieldValue { key: "morale".into(), light: None, text: "ok".into() }));
    assert_eq!(db.says_as(Some("nurse1"), AT, unknown), "report.invalid values unknown_code");
    let twice = with(&|f| f.values.push(FieldValue { key: "power".into(), light: None, text: "x".into() }));
    assert_eq!(db.says_as(Some("nurse1"), AT, twice), "report.invalid values duplicate");
    let long = with(&|f| f.needs = "x".repeat(MAX_REPORT_TEXT + 1));
    assert_eq!(db.says_as(Some("nurse1"), AT, long), "report.invalid needs too_long");
    let future = with(&|f| f.written_at = AT + Duration::hours(1));
    assert_eq!(db.says_as(Some("nurse1"), AT, future), "report.invalid written_at out_of_range");
    let bad_key = with(&|f| f.values[0].key = "Staffing!".into());
    assert_eq!(db.says_as(Some("nurse1"), AT, bad_key), "report.invalid key bad_format");
    assert!(latest(&db.state, &UnitId::new("u1"), None).unwrap().is_none());

    // From paper, written two hours before it was entered.
    let paper = with(&|f| {
        f.from_paper = true;
        f.written_at = AT - Duration::hours(2);
    });
    assert_eq!(db.says_as(Some("crisis"), AT, paper), "applied");
    let r = latest(&db.state, &UnitId::new("u1"), None).unwrap().unwrap();
    assert!(r.from_paper);
    assert_eq!((r.written_at, r.shared_at), (AT - Duration::hours(2), AT));

    // The organisation's own form: a text field of its own; the built-in "power" gone.
    let fields = vec![
        ReportField { key: "staffing".into(), label: String::new(), kind: FieldKind::Light },
        ReportField { key: "beds".into(), label: "Lediga vårdplatser".into(), kind: FieldKind::Text },
    ];
    let set = Command::SetReportForm { fields: fields.clone(), expected_version: None };
    assert_eq!(db.says_as(Some("nurse1"), AT, set.clone()), "report.forbidden");
    assert_eq!(db.says_as(Some("crisis"), AT, set), "applied");
    assert_eq!(form(&db.state).unwrap(), fields);
    assert_eq!(db.says_as(Some("nurse1"), AT, report("u1", Light::Green)), "report.invalid values unknown_code");
    let unlabelled = Command::SetReportForm {
        fields: vec![ReportField { key: "beds".into(), label: " ".into(), kind: FieldKind::Text }],
        expected_version: Some(1),
    };
    assert_eq!(db.says_as(Some("crisis"), AT, unlabelled), "report.invalid label required");
}

#[test]
fn cycles_per_site_win_over_the_one_for_every_site_and_can_be_stopped() {
    let mut db = seeded();
    let start = |site: Option<&str>, minutes| Command::StartReportCycle {
        fields: CycleFields {
            site: site.map(Into::into),
            schedule: Schedule::Every { first_due: AT + Duration::hours(1), minutes },
        },
    };
    assert_eq!(db.says_as(Some("nurse1"), AT, start(None, 60)), "report.forbidden");
    assert_eq!(db.says_as(Some("crisis"), AT, start(None, 5)), "report.invalid minutes out_of_range");
    assert_eq!(db.says_as(Some("crisis"), AT, start(None, 60)), "applied");
    assert_eq!(db.says_as(Some("crisis"), AT, start(Some("Norra sjukhuset"), 30)), "applied");
    let cycles = cycles(&db.state).unwrap();
    assert_eq!(cycles.len(), 2);
    let minutes = |site| match &cycle_for(&cycles, site).unwrap().schedule {
        Schedule::Every { minutes, .. } => *minutes,
        Schedule::Daily { .. } => 0,
    };
    assert_eq!((minutes("Testsjukhuset"), minutes("Norra sjukhuset")), (60, 30));
    let stop = |site: Option<&str>| Command::StopReportCycle { site: site.map(Into::into) };
    assert_eq!(db.says_as(Some("crisis"), AT, stop(Some("Norra sjukhuset"))), "applied");
    assert_eq!(db.says_as(Some("crisis"), AT, stop(Some("Norra sjukhuset"))), "report.not_found");
    let cycles = crate::reports::cycles(&db.state).unwrap();
    assert_eq!(cycle_for(&cycles, "Norra sjukhuset").unwrap().key.0, "*");
    let daily = Command::StartReportCycle {
        fields: CycleFields { site: None, schedule: Schedule::Daily { times: vec!["12:00".into(), "08:00".into()] } },
    };
    assert_eq!(db.says_as(Some("crisis"), AT, daily), "report.invalid times duplicate");
}

#[test]
fn a_late_unit_is_reminded_once_per_missed_time_by_text_and_mail() {
    let mut db = seeded();
    let start = Command::StartReportCycle {
        fields: CycleFields {
            site: None,
            schedule: Schedule::Every { first_due: AT + Duration::hours(1), minutes: 60 },
        },
    };
    assert_eq!(db.says_as(Some("crisis"), AT, start), "applied");
    let due = AT + Duration::hours(1);
    let remind = |unit: &str| Command::RemindReport { unit_id: UnitId::new(unit), due };
    // Not before the time; people may not send it.
    assert_eq!(db.says_as(None, AT, remind("u1")), "report.invalid due out_of_range");
    assert_eq!(db.says_as(Some("crisis"), due, remind("u1")), "report.forbidden");
    let (verdict, changes) = db.run_changes(&crate::command::Envelope {
        id: crate::ids::CommandId::new("remind-1"),
        at: due + Duration::minutes(1),
        origin: 1,
        actor: None,
        cmd: remind("u1"),
    });
    assert_eq!(crate::testing::describe(&verdict), "applied");
    let jobs: Vec<_> = changes
        .0
        .iter()
        .filter_map(|(_, r)| match r {
            Some(crate::state::Record::Dispatch(j)) => Some(j.channel.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        jobs,
        [
            crate::channels::Channel::Sms { to: vec!["+46701112233".into()] },
            crate::channels::Channel::Email { to: vec!["avd12@region.example".into()], attach: Vec::new() },
        ]
    );
    // Again for the same time: nothing more.
    assert_eq!(db.says_as(None, due + Duration::minutes(2), remind("u1")), "dispatch.already_exists");
    // u2 has nobody in the directory to remind.
    assert_eq!(db.says_as(None, due + Duration::minutes(2), remind("u2")), "report.invalid contacts required");
    // Once the unit has reported, a reminder for that time is refused.
    let mut late = report("u1", Light::Green);
    if let Command::FileReport { fields } = &mut late {
        fields.written_at = due + Duration::minutes(3);
    }
    assert_eq!(db.says_as(Some("nurse1"), due + Duration::minutes(3), late), "applied");
    let again = Command::RemindReport { unit_id: UnitId::new("u1"), due };
    assert_eq!(db.says_as(None, due + Duration::minutes(4), again), "report.invalid due out_of_range");
}
