//! Exercises: who runs them, what is checked, what is made in one (and marked), that an
//! exercise's records never count as real ones, and clearing them without touching real ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::command::{Command, IncidentFields, IncidentUpdateFields};
use crate::ids::{DrillId, ExerciseId, IncidentId, OrderId, UnitId};
use crate::model::Role;
use crate::reports::{Light, ReportFields};
use crate::state::{StateView, StateViewExt, Table};
use crate::status::{Impact, IncidentStage};
use crate::testing::{AT, Db, order, seeded, user};
use time::Duration;

fn plan(id: &str, starts: Duration, hours: i64) -> Command {
    Command::PutExercise {
        expected_version: None,
        fields: ExerciseFields {
            id: ExerciseId::new(id),
            name: "Stabsövning elavbrott".into(),
            starts_at: AT + starts,
            ends_at: AT + starts + Duration::hours(hours),
        },
    }
}

fn incident(id: &str, exercise: Option<&str>) -> Command {
    Command::OpenIncident(IncidentFields {
        id: IncidentId::new(id),
        title: "Strömavbrott i hus 4".into(),
        impact: Impact::Major,
        systems: Vec::new(),
        body: "Reservkraften har startat.".into(),
        stage: IncidentStage::Investigating,
        lead: None,
        next_update_due: Some(AT + Duration::hours(1)),
        exercise: exercise.map(ExerciseId::new),
    })
}

fn report(exercise: Option<&str>, light: Light) -> Command {
    Command::FileReport {
        fields: ReportFields {
            unit_id: UnitId::new("u1"),
            light,
            values: Vec::new(),
            needs: String::new(),
            note: String::new(),
            written_at: AT,
            from_paper: false,
            exercise: exercise.map(ExerciseId::new),
        },
    }
}

fn exercise(db: &Db, id: &str) -> Exercise {
    db.state.exercise(ExerciseId::new(id)).unwrap().expect("exercise exists")
}

fn db() -> Db {
    let mut db = seeded();
    db.ok(Command::CreateUser(user("comms", Role::Communicator, &[])));
    db.ok(Command::CreateUser(user("ops", Role::Ops, &[])));
    db.ok(Command::CreateUser(user("nurse", Role::Staff, &["u1"])));
    db
}

#[test]
fn the_crisis_staff_and_ops_run_exercises_and_bad_input_changes_nothing() {
    let mut db = db();
    assert_eq!(db.says_as(Some("nurse"), AT, plan("x1", Duration::ZERO, 4)), "exercise.forbidden");
    let mut blank = plan("x1", Duration::ZERO, 4);
    if let Command::PutExercise { fields, .. } = &mut blank {
        fields.name = " ".into();
    }
    assert_eq!(db.says_as(Some("comms"), AT, blank), "exercise.invalid name required");
    assert_eq!(
        db.says_as(Some("comms"), AT, plan("x1", Duration::ZERO, 24 * 15)),
        "exercise.invalid ends_at out_of_range"
    );
    assert_eq!(db.says_as(Some("comms"), AT, plan("x1", Duration::ZERO, -1)), "exercise.invalid ends_at out_of_range");
    assert!(db.state.exercise(ExerciseId::new("x1")).unwrap().is_none());
    assert_eq!(db.says_as(Some("comms"), AT, plan("x1", Duration::ZERO, 4)), "applied");
    assert_eq!(db.says_as(Some("ops"), AT, plan("x1", Duration::ZERO, 4)), "exercise.already_exists");
    let x = exercise(&db, "x1");
    assert!(x.is_running(AT) && !x.is_running(AT + Duration::hours(4)) && x.created_by.as_deref() == Some("comms"));

    // A drill report is attached once, and only one that exists.
    let drill = Command::AttachDrill { exercise_id: ExerciseId::new("x1"), drill_id: DrillId::new("drill-1") };
    assert_eq!(db.says_as(Some("ops"), AT, drill), "drill.unknown drill_id");
}

#[test]
fn records_made_in_an_exercise_are_marked_listed_and_never_count_as_real() {
    let mut db = db();
    db.ok(plan("x1", Duration::ZERO, 4));
    db.ok(plan("later", Duration::hours(2), 4));
    // Only while it runs, and only an exercise that exists.
    assert_eq!(db.says(incident("i0", Some("later"))), "exercise.closed");
    assert_eq!(db.says(incident("i0", Some("nope"))), "exercise.unknown exercise");
    assert!(db.state.incident(IncidentId::new("i0")).unwrap().is_none());

    db.ok(incident("real", None));
    db.ok(incident("drill", Some("x1")));
    assert_eq!(db.state.incident(IncidentId::new("drill")).unwrap().unwrap().exercise, Some(ExerciseId::new("x1")));
    // An update follows its incident into the exercise.
    let update = Command::PostIncidentUpdate {
        incident_id: IncidentId::new("drill"),
        update: IncidentUpdateFields {
            stage: IncidentStage::Identified,
            body: "Felet är hittat.".into(),
            next_update_due: Some(AT + Duration::hours(1)),
            impact: None,
        },
    };
    assert_eq!(db.says_as(Some("comms"), AT + Duration::minutes(5), update), "applied");

    // Reports: the unit's real word stays its real report.
    assert_eq!(db.says_as(Some("nurse"), AT, report(None, Light::Green)), "applied");
    assert_eq!(db.says_as(Some("nurse"), AT, report(Some("x1"), Light::Red)), "applied");
    let real = crate::reports::latest(&db.state, &UnitId::new("u1"), None).unwrap().unwrap();
    let drill = crate::reports::latest(&db.state, &UnitId::new("u1"), Some(&ExerciseId::new("x1"))).unwrap().unwrap();
    assert_eq!((real.light, real.n, drill.light, drill.n), (Light::Green, 1, Light::Red, 2));

    // Orders: made in it, and never sent together with real ones.
    db.ok(Command::CreateOrder(order("o-real", &[("a1", 2)])));
    db.ok(Command::CreateOrder(crate::command::OrderFields {
        exercise: Some(ExerciseId::new("x1")),
        ..order("o-drill", &[("a1", 5)])
    }));
    assert_eq!(db.order("o-drill").exercise, Some(ExerciseId::new("x1")));
    let mixed = Command::Dispatch {
        job_id: "job-1".into(),
        supplier_id: "s1".into(),
        order_ids: vec![OrderId::new("o-real"), OrderId::new("o-drill")],
    };
    assert_eq!(db.says_as(Some("anna.lind"), AT, mixed), "dispatch.invalid order_ids mismatch");

    let x = exercise(&db, "x1");
    let kinds: Vec<&str> = x.made.iter().map(Made::kind).collect();
    assert_eq!(kinds, ["incident", "report", "order"]);
    assert_eq!(x.version, 1, "listing what is made does not change the exercise's version");

    // Cleared only when over; then its records are gone and the real ones untouched.
    let clear = Command::ClearExercise { exercise_id: ExerciseId::new("x1") };
    assert_eq!(db.says_as(Some("comms"), AT, clear.clone()), "exercise.invalid ends_at not_over");
    let end = Command::EndExercise { exercise_id: ExerciseId::new("x1") };
    assert_eq!(db.says_as(Some("nurse"), AT, end.clone()), "exercise.forbidden");
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(1), end.clone()), "applied");
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(1), end), "exercise.closed");
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(1), incident("i2", Some("x1"))), "exercise.closed");
    let before = db.state.scan(Table::Audit, None, usize::MAX).unwrap().len();
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(1), clear.clone()), "applied");
    assert!(db.state.incident(IncidentId::new("drill")).unwrap().is_none());
    assert!(db.state.order(OrderId::new("o-drill")).unwrap().is_none());
    assert!(db.state.incident(IncidentId::new("real")).unwrap().is_some());
    assert_eq!(db.order("o-real").lines[0].quantity, 2);
    assert!(crate::reports::latest(&db.state, &UnitId::new("u1"), Some(&ExerciseId::new("x1"))).unwrap().is_none());
    assert_eq!(crate::reports::latest(&db.state, &UnitId::new("u1"), None).unwrap().unwrap().n, 1);
    let x = exercise(&db, "x1");
    assert!(x.is_cleared() && x.made.is_empty() && x.cleared == 3 && x.cleared_by.as_deref() == Some("comms"));
    // The trail keeps what happened (one more line, for the clearing).
    assert_eq!(db.state.scan(Table::Audit, None, usize::MAX).unwrap().len(), before + 1);
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(2), clear), "exercise.closed");
}
