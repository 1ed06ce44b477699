//! How a drill report is checked and recorded (called from [`crate::apply`]).

use super::*;

pub(crate) fn validate(r: &DrillReport) -> Result<(), Rejection> {
    let k = Kind::Drill;
    check_id(k, "id", &r.id)?;
    text(k, "action", &r.action, true)?;
    if r.before.len() > MAX_NODES || r.after.len() > MAX_NODES {
        return Err(Rejection::invalid(k, "before", Problem::TooMany));
    }
    if r.lost_ids.len() > MAX_LOST_IDS {
        return Err(Rejection::invalid(k, "lost_ids", Problem::TooMany));
    }
    for n in r.before.iter().chain(&r.after) {
        text(k, "role", &n.role, true)?;
        text(k, "http", &n.http, false)?;
    }
    if r.ok && r.writes.lost > 0 {
        return Err(Rejection::invalid(k, "ok", Problem::OutOfRange));
    }
    Ok(())
}

/// Records a drill report once (a report is never changed).
pub(crate) fn run(
    view: &dyn crate::state::StateView,
    env: &crate::command::Envelope,
    r: &DrillReport,
    ch: &mut crate::state::Changes,
) -> Result<crate::check::Outcome, crate::state::StateError> {
    use crate::command::Verdict;
    use crate::rejection::{Kind, Rejection};
    use crate::state::{Key, Record};

    let key = Key::Drill(r.id.clone());
    if view.get(&key)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: Kind::Drill, id: r.id.to_string() }));
    }
    let mut r = r.clone();
    r.recorded_by = env.actor.clone();
    let id = r.id.to_string();
    ch.put(key, Record::Drill(r));
    Ok(Ok(Verdict::Applied { kind: Kind::Drill, id, version: 1 }))
}
