//! How exercise commands are checked and applied, and how `apply` marks what a command makes
//! in an exercise (called from [`crate::apply`]).

use super::*;
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Record, StateError, StateView, StateViewExt};

const K: Kind = Kind::Exercise;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PutExercise { fields: f, .. } => {
            check_id(K, "id", f.id.as_str())?;
            let name = text(K, "name", &f.name, true)?;
            if name.chars().count() > MAX_NAME {
                return Err(Rejection::invalid(K, "name", Problem::TooLong));
            }
            if f.ends_at <= f.starts_at || f.ends_at - f.starts_at > MAX_WINDOW {
                return Err(Rejection::invalid(K, "ends_at", Problem::OutOfRange));
            }
            Ok(())
        }
        Command::EndExercise { exercise_id } | Command::ClearExercise { exercise_id } => {
            check_id(K, "id", exercise_id.as_str())
        }
        Command::AttachDrill { exercise_id, drill_id } => {
            check_id(K, "id", exercise_id.as_str())?;
            check_id(K, "drill_id", drill_id.as_str())
        }
        _ => Ok(()),
    }
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    Ok(Some(match &env.cmd {
        Command::PutExercise { expected_version, fields: f } => {
            let current = view.exercise(&f.id)?;
            if current.as_ref().is_some_and(|x| x.is_cleared() || x.is_over(env.at)) {
                return Ok(Some(Err(Rejection::Closed { kind: K, id: f.id.to_string() })));
            }
            match next_version(K, f.id.as_str(), current.as_ref().map(|x| x.version), *expected_version) {
                Err(r) => Err(r),
                Ok(version) => {
                    let mut x = current.unwrap_or_else(|| Exercise {
                        id: f.id.clone(),
                        name: String::new(),
                        starts_at: f.starts_at,
                        ends_at: f.ends_at,
                        ended_at: None,
                        made: Vec::new(),
                        drills: Vec::new(),
                        cleared_at: None,
                        cleared_by: None,
                        cleared: 0,
                        created_by: env.actor.clone(),
                        changed_at: env.at,
                        version,
                    });
                    x.name = f.name.trim().to_owned();
                    x.starts_at = f.starts_at;
                    x.ends_at = f.ends_at;
                    x.changed_at = env.at;
                    x.version = version;
                    ch.put(Key::Exercise(f.id.clone()), Record::Exercise(x));
                    applied(K, f.id.as_str(), version)
                }
            }
        }
        Command::EndExercise { exercise_id } => match view.exercise(exercise_id)? {
            None => Err(Rejection::NotFound { kind: K, id: exercise_id.to_string() }),
            Some(x) if x.is_over(env.at) || x.is_cleared() => {
                Err(Rejection::Closed { kind: K, id: exercise_id.to_string() })
            }
            Some(mut x) => {
                x.ended_at = Some(env.at);
                x.starts_at = x.starts_at.min(env.at);
                x.changed_at = env.at;
                x.version += 1;
                let version = x.version;
                ch.put(Key::Exercise(exercise_id.clone()), Record::Exercise(x));
                applied(K, exercise_id.as_str(), version)
            }
        },
        Command::ClearExercise { exercise_id } => match view.exercise(exercise_id)? {
            None => Err(Rejection::NotFound { kind: K, id: exercise_id.to_string() }),
            Some(x) if x.is_cleared() => Err(Rejection::Closed { kind: K, id: exercise_id.to_string() }),
            // Cleared only when over, so nothing is made in it after its records are gone.
            Some(x) if !x.is_over(env.at) => Err(Rejection::invalid(K, "ends_at", Problem::NotOver)),
            Some(mut x) => {
                let mut removed = 0u32;
                for m in std::mem::take(&mut x.made) {
                    let key = m.key();
                    if view.get(&key)?.is_some() {
                        ch.0.push((key, None));
                        removed += 1;
                    }
                }
                x.cleared_at = Some(env.at);
                x.cleared_by = env.actor.clone();
                x.cleared = removed;
                x.changed_at = env.at;
                x.version += 1;
                let version = x.version;
                ch.put(Key::Exercise(exercise_id.clone()), Record::Exercise(x));
                applied(K, exercise_id.as_str(), version)
            }
        },
        Command::AttachDrill { exercise_id, drill_id } => {
            if view.drill(drill_id)?.is_none() {
                return Ok(Some(Err(Rejection::Unknown {
                    kind: Kind::Drill,
                    id: drill_id.to_string(),
                    field: "drill_id".into(),
                })));
            }
            match view.exercise(exercise_id)? {
                None => Err(Rejection::NotFound { kind: K, id: exercise_id.to_string() }),
                Some(x) if x.is_cleared() => Err(Rejection::Closed { kind: K, id: exercise_id.to_string() }),
                Some(x) if x.drills.contains(drill_id) => Err(Rejection::invalid(K, "drill_id", Problem::Duplicate)),
                Some(x) if x.drills.len() >= MAX_DRILLS => Err(Rejection::invalid(K, "drill_id", Problem::TooMany)),
                Some(mut x) => {
                    x.drills.push(drill_id.clone());
                    x.changed_at = env.at;
                    x.version += 1;
                    let version = x.version;
                    ch.put(Key::Exercise(exercise_id.clone()), Record::Exercise(x));
                    applied(K, exercise_id.as_str(), version)
                }
            }
        }
        _ => return Ok(None),
    }))
}

/// Which exercise `cmd` works in, and whether it names it itself (a new record, which needs
/// the exercise running) or follows the record it acts on. A page about an incident, and a
/// sending of several orders, must be in the same exercise as what they are about.
pub fn exercise_of(
    view: &dyn StateView,
    cmd: &Command,
) -> Result<Result<Option<(ExerciseId, bool)>, Rejection>, StateError> {
    let named = |x: &Option<ExerciseId>| x.clone().map(|x| (x, true));
    let follows = |x: Option<ExerciseId>| x.map(|x| (x, false));
    Ok(Ok(match cmd {
        Command::OpenIncident(f) => named(&f.exercise),
        Command::FileReport { fields } => named(&fields.exercise),
        Command::CreateOrder(f) => named(&f.exercise),
        Command::PageOnCall { fields, .. } => {
            let about = match &fields.incident_id {
                Some(i) => view.incident(i)?.and_then(|i| i.exercise),
                None => None,
            };
            if fields.incident_id.is_some() && about != fields.exercise {
                return Ok(Err(Rejection::invalid(Kind::Page, "exercise", Problem::Mismatch)));
            }
            named(&fields.exercise)
        }
        Command::PostIncidentUpdate { incident_id, .. } | Command::RemindLead { incident_id, .. } => {
            follows(view.incident(incident_id)?.and_then(|i| i.exercise))
        }
        Command::EscalatePage { page_id, .. }
        | Command::AcknowledgePage { page_id, .. }
        | Command::CancelPage { page_id, .. } => follows(view.page(page_id)?.and_then(|p| p.exercise)),
        Command::UpdateOrder { fields, .. } => follows(view.order(&fields.id)?.and_then(|o| o.exercise)),
        Command::Transition { order_id, .. } => follows(view.order(order_id)?.and_then(|o| o.exercise)),
        Command::Dispatch { order_ids, .. } => {
            let mut seen = None;
            for (i, id) in order_ids.iter().enumerate() {
                let x = view.order(id)?.and_then(|o| o.exercise);
                if i > 0 && x != seen {
                    // An exercise's orders are never sent together with real ones.
                    return Ok(Err(Rejection::invalid(Kind::Dispatch, "order_ids", Problem::Mismatch)));
                }
                seen = x;
            }
            follows(seen)
        }
        _ => None,
    }))
}

/// The exercise `env`'s command works in, checked before the command runs: a record is made in
/// an exercise only while it runs; what follows from one already made (an update, an
/// escalation, the next step of an order) only until the exercise is cleared.
pub(crate) fn check(view: &dyn StateView, env: &Envelope) -> Result<Result<Option<Exercise>, Rejection>, StateError> {
    let (id, named) = match exercise_of(view, &env.cmd)? {
        Err(r) => return Ok(Err(r)),
        Ok(None) => return Ok(Ok(None)),
        Ok(Some(x)) => x,
    };
    let Some(x) = view.exercise(&id)? else {
        return Ok(Err(Rejection::Unknown { kind: K, id: id.to_string(), field: "exercise".into() }));
    };
    if x.is_cleared() || (named && !x.is_running(env.at)) {
        return Ok(Err(Rejection::Closed { kind: K, id: id.to_string() }));
    }
    Ok(Ok(Some(x)))
}

/// Lists in exercise `x` (from [`check`]) every incident, page, report, order and dispatch job
/// a command made (`ch`, not yet applied to `view`).
pub(crate) fn mark(
    view: &dyn StateView,
    mut x: Exercise,
    ch: &mut Changes,
) -> Result<Result<(), Rejection>, StateError> {
    let mut added = false;
    for (key, record) in &ch.0 {
        let Some(made) = Made::of_key(key).filter(|_| record.is_some()) else { continue };
        if view.get(key)?.is_none() && !x.made.contains(&made) {
            x.made.push(made);
            added = true;
        }
    }
    if x.made.len() > MAX_MADE {
        return Ok(Err(Rejection::invalid(K, "made", Problem::TooMany)));
    }
    if added {
        ch.put(Key::Exercise(x.id.clone()), Record::Exercise(x));
    }
    Ok(Ok(()))
}
