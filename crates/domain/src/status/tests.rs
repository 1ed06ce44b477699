//! Table-driven tests of the status-board rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::command::{Command, IncidentFields, IncidentUpdateFields, MaintenanceFields, ReadinessFields, SystemFields};
use crate::ids::{IncidentId, MaintenanceId, SystemId, UserId};
use crate::model::Role;
use crate::state::{StateView, StateViewExt};
use crate::testing::Db;

const AT: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

impl Db {
    fn incident(&self, id: &str) -> Incident {
        self.state.incident(IncidentId::new(id)).unwrap().unwrap()
    }
}

fn system(id: &str, site: &str) -> Command {
    Command::PutSystem {
        expected_version: None,
        fields: SystemFields {
            id: SystemId::new(id),
            name: format!("System {id}"),
            site: site.into(),
            description: None,
            state: SystemState::Operational,
        },
    }
}

fn incident(id: &str, due: Option<Duration>) -> IncidentFields {
    IncidentFields {
        id: IncidentId::new(id),
        title: "Affärssystemet svarar inte".into(),
        impact: Impact::Major,
        systems: vec![SystemId::new("erp")],
        body: "Vi felsöker.".into(),
        stage: IncidentStage::Investigating,
        lead: Some("Inköp jour".into()),
        next_update_due: due.map(|d| AT + d),
        exercise: None,
    }
}

fn update(stage: IncidentStage, due: Option<Duration>) -> Command {
    Command::PostIncidentUpdate {
        incident_id: IncidentId::new("i1"),
        update: IncidentUpdateFields {
            stage,
            body: "Nytt läge.".into(),
            next_update_due: due.map(|d| AT + d),
            impact: None,
        },
    }
}

fn maintenance(stages: &[&str], starts: Duration, ends: Duration) -> Command {
    Command::ScheduleMaintenance(MaintenanceFields {
        id: MaintenanceId::new("m1"),
        title: "Byte av växel".into(),
        systems: vec![SystemId::new("erp")],
        starts_at: AT + starts,
        ends_at: AT + ends,
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        note: String::new(),
        stage_starts: Vec::new(),
    })
}

#[test]
fn incidents_promise_their_next_update_and_close_when_resolved() {
    let mut db = Db::default();
    assert_eq!(db.says(system("erp", "Östra sjukhuset")), "applied");
    let h = Duration::hours(1);
    let cases: &[(Command, &str)] = &[
        (Command::OpenIncident(incident("i1", None)), "incident.invalid next_update_due required"),
        (Command::OpenIncident(incident("i1", Some(-h))), "incident.invalid next_update_due out_of_range"),
        (
            Command::OpenIncident(incident("i1", Some(Duration::days(8)))),
            "incident.invalid next_update_due out_of_range",
        ),
        (
            Command::OpenIncident(IncidentFields { systems: vec![SystemId::new("pacs")], ..incident("i1", Some(h)) }),
            "system.unknown systems[0]",
        ),
        (
            Command::OpenIncident(IncidentFields { title: " ".into(), ..incident("i1", Some(h)) }),
            "incident.invalid title required",
        ),
        (Command::OpenIncident(incident("i1", Some(h))), "applied"),
        (Command::OpenIncident(incident("i1", Some(h))), "incident.already_exists"),
        (update(IncidentStage::Identified, None), "incident.invalid next_update_due required"),
        (update(IncidentStage::Identified, Some(h)), "applied"),
        (update(IncidentStage::Monitoring, Some(h / 2)), "applied"),
        // Resolving needs no next update; afterwards the incident takes no more.
        (update(IncidentStage::Resolved, None), "applied"),
        (update(IncidentStage::Investigating, Some(h)), "incident.closed"),
        (
            Command::PostIncidentUpdate {
                incident_id: IncidentId::new("nope"),
                update: IncidentUpdateFields {
                    stage: IncidentStage::Identified,
                    body: "x".into(),
                    next_update_due: Some(AT + h),
                    impact: None,
                },
            },
            "incident.not_found",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(db.says(cmd.clone()), *want, "{cmd:?}");
    }
    let i = db.incident("i1");
    let stages: Vec<&str> = i.updates.iter().map(|u| u.stage.as_str()).collect();
    assert_eq!(stages, ["investigating", "identified", "monitoring", "resolved"]);
    assert_eq!((i.stage, i.next_update_due, i.resolved_at), (IncidentStage::Resolved, None, Some(AT)));
    assert!(!i.is_major() && !i.overdue(AT + Duration::days(1)));
    assert_eq!(i.updates[0].node, 1, "the node the update was written on");
}

#[test]
fn an_update_is_overdue_only_after_its_due_time_and_major_ones_raise_the_banner() {
    let mut db = Db::default();
    db.says(system("erp", ""));
    db.says(Command::OpenIncident(incident("i1", Some(Duration::minutes(30)))));
    let i = db.incident("i1");
    assert!(!i.overdue(AT + Duration::minutes(30)));
    assert!(i.overdue(AT + Duration::minutes(31)));
    assert!(i.is_major());
    let minor = Incident { impact: Impact::Minor, ..i };
    assert!(!minor.is_major());
}

#[test]
fn maintenance_is_advanced_one_stage_at_a_time() {
    let mut db = Db::default();
    db.says(system("erp", ""));
    let h = Duration::hours(1);
    assert_eq!(db.says(maintenance(&[], h, 2 * h)), "maintenance.invalid stages required");
    assert_eq!(db.says(maintenance(&["a", ""], h, 2 * h)), "maintenance.invalid stages[1] required");
    assert_eq!(db.says(maintenance(&["a"], 2 * h, h)), "maintenance.invalid ends_at out_of_range");
    assert_eq!(db.says(maintenance(&["Stoppa", "Byt", "Starta"], h, 3 * h)), "applied");
    let advance = |v| Command::AdvanceMaintenance {
        maintenance_id: MaintenanceId::new("m1"),
        expected_version: v,
        note: String::new(),
    };
    let phase = |db: &Db| {
        let m = db.state.maintenance(MaintenanceId::new("m1")).unwrap().unwrap();
        (m.phase, m.current)
    };
    assert_eq!(phase(&db), (MaintenancePhase::Scheduled, 0));
    assert_eq!(db.says(advance(1)), "applied");
    // The same click twice (same version seen) does not skip a stage.
    assert_eq!(db.says(advance(1)), "maintenance.version_conflict");
    assert_eq!(phase(&db), (MaintenancePhase::InProgress, 1));
    assert_eq!(db.says(advance(2)), "applied");
    assert_eq!(db.says(advance(3)), "applied");
    assert_eq!(phase(&db), (MaintenancePhase::InProgress, 3));
    assert_eq!(db.says(advance(4)), "applied");
    assert_eq!(phase(&db), (MaintenancePhase::Completed, 3));
    assert_eq!(db.says(advance(5)), "maintenance.closed");
    let cancel = Command::CancelMaintenance { maintenance_id: MaintenanceId::new("m1"), reason: "x".into() };
    assert_eq!(db.says(cancel), "maintenance.closed");
}

#[test]
fn planned_stage_starts_are_one_per_stage_in_order_inside_the_window() {
    let mut db = Db::default();
    db.says(system("erp", ""));
    let h = Duration::hours(1);
    let planned = |starts: &[Duration]| {
        let Command::ScheduleMaintenance(mut f) = maintenance(&["Stoppa", "Byt", "Starta"], h, 4 * h) else {
            unreachable!()
        };
        f.stage_starts = starts.iter().map(|d| AT + *d).collect();
        Command::ScheduleMaintenance(f)
    };
    assert_eq!(db.says(planned(&[h, 2 * h])), "maintenance.invalid stage_starts too_many");
    assert_eq!(db.says(planned(&[h, 3 * h, 2 * h])), "maintenance.invalid stage_starts[2] out_of_range");
    assert_eq!(db.says(planned(&[h / 2, 2 * h, 3 * h])), "maintenance.invalid stage_starts[0] out_of_range");
    assert_eq!(db.says(planned(&[h, 2 * h, 4 * h])), "maintenance.invalid stage_starts[2] out_of_range");
    assert_eq!(db.says(planned(&[h, 2 * h, 3 * h])), "applied");
    let m = db.state.maintenance(MaintenanceId::new("m1")).unwrap().unwrap();
    assert_eq!(m.next_planned_start(), Some(AT + h));
    let advance =
        Command::AdvanceMaintenance { maintenance_id: m.id.clone(), expected_version: 1, note: String::new() };
    assert_eq!(db.says(advance), "applied");
    let m = db.state.maintenance(MaintenanceId::new("m1")).unwrap().unwrap();
    assert_eq!(m.next_planned_start(), Some(AT + 2 * h), "the next stage's time once stage 1 began");
}

#[test]
fn lights_and_readiness_change_without_touching_each_other() {
    let mut db = Db::default();
    db.says(system("erp", "Östra sjukhuset"));
    let set = |state| Command::SetSystemState { system_id: SystemId::new("erp"), state, note: "Långsamt".into() };
    assert_eq!(db.says(set(SystemState::DegradedPerformance)), "applied");
    let ready =
        |site: &str, level| Command::SetReadiness(ReadinessFields { site: site.into(), level, note: String::new() });
    assert_eq!(db.says(ready("Östra sjukhuset", ReadinessLevel::StaffAlert)), "applied");
    assert_eq!(db.says(ready(" !! ", ReadinessLevel::StaffAlert)), "readiness.invalid site bad_format");
    // Editing the system's name keeps its light.
    let edit = Command::PutSystem {
        expected_version: Some(2),
        fields: SystemFields {
            id: SystemId::new("erp"),
            name: "Affärssystem".into(),
            site: "Östra sjukhuset".into(),
            description: None,
            state: SystemState::Operational,
        },
    };
    assert_eq!(db.says(edit), "applied");
    let s = db.state.system(SystemId::new("erp")).unwrap().unwrap();
    assert_eq!(
        (s.state, s.note.as_str(), s.name.as_str()),
        (SystemState::DegradedPerformance, "Långsamt", "Affärssystem")
    );
    let r = db.state.readiness("ostra-sjukhuset").unwrap().unwrap();
    assert_eq!((r.level, r.site.as_str()), (ReadinessLevel::StaffAlert, "Östra sjukhuset"));
    assert_eq!(db.says(set(SystemState::MajorOutage)), "applied");
    assert!(db.state.system(SystemId::new("erp")).unwrap().unwrap().state.is_down());
}

#[test]
fn only_communicators_and_admins_change_the_board() {
    for (role, want) in [
        (Role::Communicator, "applied"),
        (Role::Admin, "applied"),
        (Role::Staff, "system.forbidden"),
        (Role::Purchaser, "system.forbidden"),
        (Role::Ops, "system.forbidden"),
    ] {
        let mut db = Db::default();
        db.says(Command::CreateUser(crate::command::UserFields {
            id: UserId::new("u"),
            name: "U".into(),
            role,
            units: vec![],
            password_hash: None,
            expires_at: None,
        }));
        assert_eq!(db.says_as(Some("u"), AT, system("erp", "")), want, "{role:?}");
    }
}

#[test]
fn site_keys_fold_letters_and_punctuation() {
    for (site, key) in [
        ("Östra sjukhuset", "ostra-sjukhuset"),
        ("  Sjukhuset i Ålesund / Hus 2 ", "sjukhuset-i-alesund-hus-2"),
        ("Ærø–Øst", "aero-ost"),
        ("!!", ""),
    ] {
        assert_eq!(site_key(site).as_str(), key, "{site}");
    }
    for s in SystemState::ALL {
        assert_eq!(SystemState::parse(s.as_str()), Some(*s));
    }
}

fn subscriber(id: &str, address: &str, sites: &[&str], systems: &[&str]) -> Command {
    Command::PutSubscriber {
        expected_version: None,
        fields: crate::subscribers::SubscriberFields {
            id: id.into(),
            name: format!("Prenumerant {id}"),
            target: crate::subscribers::Target::Email { address: address.into() },
            sites: sites.iter().map(|s| (*s).to_owned()).collect(),
            systems: systems.iter().map(|s| SystemId::new(*s)).collect(),
            lang: "sv".into(),
        },
        token: format!("{id}-token-0123456789abcdefghijklmnopqrstuv"),
    }
}

/// Notice jobs in the state: (subscriber, what) per job, sorted.
fn notices(db: &Db) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = db
        .state
        .scan(crate::state::Table::Dispatch, None, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            crate::state::Record::Dispatch(j) => j.notice.map(|n| {
                let what = match n.about {
                    crate::subscribers::About::Incident { id, update } => format!("{id}#{update}"),
                    crate::subscribers::About::Maintenance { id, update } => format!("{id}#{update}"),
                    crate::subscribers::About::Reminder { id, .. } => format!("remind {id}"),
                    crate::subscribers::About::Page { id, step } => format!("page {id}#{step}"),
                    crate::subscribers::About::ReportDue { unit_id, .. } => format!("report {unit_id}"),
                };
                (n.subscriber_id.to_string(), what)
            }),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

#[test]
fn subscribers_get_each_change_of_what_they_follow_until_they_unsubscribe() {
    let mut db = Db::default();
    assert_eq!(db.says(system("erp", "Östra sjukhuset")), "applied");
    assert_eq!(db.says(system("pacs", "Norra sjukhuset")), "applied");
    // By site (spelled differently), by system, and someone following only the other site.
    assert_eq!(db.says(subscriber("s-site", "a@region.example", &["östra  sjukhuset"], &[])), "applied");
    assert_eq!(db.says(subscriber("s-sys", "b@region.example", &[], &["erp"])), "applied");
    assert_eq!(db.says(subscriber("s-other", "c@region.example", &["Norra sjukhuset"], &[])), "applied");
    assert_eq!(db.says(subscriber("s-bad", "not-an-address", &["x"], &[])), "subscriber.invalid address bad_format");
    assert_eq!(db.says(subscriber("s-none", "d@region.example", &[], &[])), "subscriber.invalid sites required");
    assert_eq!(db.says(subscriber("s-ghost", "d@region.example", &[], &["nope"])), "system.unknown systems[0]");

    assert_eq!(db.says(Command::OpenIncident(incident("i1", Some(Duration::hours(1))))), "applied");
    assert_eq!(db.says(update(IncidentStage::Identified, Some(Duration::hours(2)))), "applied");
    assert_eq!(db.says(maintenance(&["a", "b"], Duration::days(1), Duration::days(2))), "applied");
    let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        notices(&db),
        [
            s("s-site", "i1#1"),
            s("s-site", "i1#2"),
            s("s-site", "m1#1"),
            s("s-sys", "i1#1"),
            s("s-sys", "i1#2"),
            s("s-sys", "m1#1")
        ]
    );

    // The unsubscribe link needs the subscriber's own token; then no more notices.
    let unsubscribe = |token: &str| Command::Unsubscribe { subscriber_id: "s-sys".into(), token: token.into() };
    assert_eq!(db.says(unsubscribe("wrong-token-0123456789abcdefghijklmnop")), "subscriber.not_found");
    assert_eq!(db.says(unsubscribe("s-sys-token-0123456789abcdefghijklmnopqrstuv")), "applied");
    assert!(db.state.subscriber("s-sys").unwrap().is_none());
    assert_eq!(db.says(update(IncidentStage::Monitoring, Some(Duration::hours(3)))), "applied");
    assert_eq!(notices(&db).iter().filter(|(who, _)| who == "s-sys").count(), 3);
    assert!(notices(&db).contains(&s("s-site", "i1#3")));
}

#[test]
fn a_late_update_reminds_the_lead_once_per_promised_time() {
    let mut db = Db::default();
    assert_eq!(db.says(system("erp", "Östra sjukhuset")), "applied");
    let lead = IncidentFields { lead: Some("jour@region.example".into()), ..incident("i1", Some(Duration::hours(1))) };
    assert_eq!(db.says(Command::OpenIncident(lead)), "applied");
    let due = AT + Duration::hours(1);
    let remind = || Command::RemindLead { incident_id: IncidentId::new("i1"), due };
    assert_eq!(db.says_as(None, AT, remind()), "incident.invalid next_update_due out_of_range", "not yet late");
    let late = AT + Duration::minutes(61);
    assert_eq!(db.says_as(None, late, remind()), "applied");
    assert_eq!(db.says_as(None, late, remind()), "dispatch.already_exists");
    assert_eq!(notices(&db), [(String::new(), "remind i1".to_owned())]);
    assert_eq!(db.says_as(Some("u-comm"), late, remind()), "incident.forbidden", "the cluster's own command");

    // A lead in the directory with an e-mail and a mobile gets both, once.
    let anna = Command::PutContact {
        expected_version: None,
        fields: crate::command::ContactFields {
            id: "anna".into(),
            kind: crate::contacts::ContactKind::Person,
            name: "Anna Åström".into(),
            title: String::new(),
            organisation: String::new(),
            unit_id: None,
            site: String::new(),
            supplier_id: None,
            routes: [
                (crate::contacts::RouteKind::Mobile, "+46 70 111 22 01"),
                (crate::contacts::RouteKind::Email, "anna@region.example"),
            ]
            .map(|(kind, value)| crate::contacts::Route {
                kind,
                value: value.into(),
                hours: String::new(),
                last_tested: None,
                note: String::new(),
            })
            .to_vec(),
            note: String::new(),
            withdrawn: false,
        },
    };
    assert_eq!(db.says(anna), "applied");
    let lead = IncidentFields { lead: Some("anna åström".into()), ..incident("i2", Some(Duration::hours(1))) };
    assert_eq!(db.says(Command::OpenIncident(lead)), "applied");
    let remind = Command::RemindLead { incident_id: IncidentId::new("i2"), due };
    assert_eq!(db.says_as(None, late, remind.clone()), "applied");
    assert_eq!(db.says_as(None, late, remind), "dispatch.already_exists");
    let jobs: Vec<crate::channels::Channel> = db
        .state
        .scan(crate::state::Table::Dispatch, None, 100)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            crate::state::Record::Dispatch(j)
                if j.notice.as_ref().is_some_and(
                    |n| matches!(&n.about, crate::subscribers::About::Reminder { id, .. } if id.as_str() == "i2"),
                ) =>
            {
                Some(j.channel)
            }
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.contains(&crate::channels::Channel::Sms { to: vec!["+46701112201".into()] }), "{jobs:?}");
}

#[test]
fn a_subscriber_by_phone_gets_a_text_job_and_one_by_both_gets_two_jobs_per_change() {
    use crate::channels::Channel;
    use crate::subscribers::Target;
    let mut db = Db::default();
    assert_eq!(db.says(system("erp", "Östra sjukhuset")), "applied");
    let with = |id: &str, target: Target| {
        let Command::PutSubscriber { fields, token, .. } = subscriber(id, "x@region.example", &[], &["erp"]) else {
            unreachable!()
        };
        Command::PutSubscriber {
            expected_version: None,
            fields: crate::subscribers::SubscriberFields { target, ..fields },
            token,
        }
    };
    let bad = with("s-bad", Target::Sms { phone: "0701234567".into() });
    assert_eq!(db.says(bad), "subscriber.invalid phone bad_format");
    assert_eq!(db.says(with("s-sms", Target::Sms { phone: "+46 70-123 45 67".into() })), "applied");
    let both = Target::EmailAndSms { address: "jour@region.example".into(), phone: "0047 912 34 567".into() };
    assert_eq!(db.says(with("s-both", both)), "applied");
    assert_eq!(db.state.subscriber("s-sms").unwrap().unwrap().target.phone(), Some("+46701234567"));
    assert_eq!(db.state.subscriber("s-both").unwrap().unwrap().target.phone(), Some("+4791234567"));

    assert_eq!(db.says(Command::OpenIncident(incident("i1", Some(Duration::hours(1))))), "applied");
    let mut jobs: Vec<(String, bool, Channel)> = db
        .state
        .scan(crate::state::Table::Dispatch, None, 100)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            crate::state::Record::Dispatch(j) => j.notice.map(|n| (n.subscriber_id.to_string(), n.sms, j.channel)),
            _ => None,
        })
        .collect();
    jobs.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let email = Channel::Email { to: vec!["jour@region.example".into()], attach: Vec::new() };
    let sms = |p: &str| Channel::Sms { to: vec![p.into()] };
    assert_eq!(
        jobs,
        [
            ("s-both".to_owned(), false, email),
            ("s-both".to_owned(), true, sms("+4791234567")),
            ("s-sms".to_owned(), true, sms("+46701234567")),
        ]
    );
}
