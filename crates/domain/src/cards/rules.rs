//! How action-card commands are checked and applied (called from [`crate::apply`]).

use super::{ActionCard, CardText, MAX_HISTORY, MAX_MARKDOWN, Revision};
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

fn markdown(field: &str, s: &str, required: bool) -> Result<(), Rejection> {
    if required && s.trim().is_empty() {
        return Err(Rejection::invalid(Kind::Card, field, Problem::Required));
    }
    if s.chars().count() > MAX_MARKDOWN {
        return Err(Rejection::invalid(Kind::Card, field, Problem::TooLong));
    }
    Ok(())
}

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    let Command::PutCard { fields: f, .. } = cmd else { return Ok(()) };
    let k = Kind::Card;
    check_id(k, "id", f.id.as_str())?;
    let title = text(k, "title", &f.title, true)?;
    if title.chars().count() > 200 {
        return Err(Rejection::invalid(k, "title", Problem::TooLong));
    }
    text(k, "who", &f.who, true)?;
    text(k, "trigger", &f.trigger, true)?;
    markdown("task", &f.task, true)?;
    markdown("actions", &f.actions, true)?;
    markdown("documentation", &f.documentation, false)?;
    text(k, "owner", &f.owner, true)?;
    text(k, "approver", &f.approver, false)?;
    if f.systems.len() > 100 {
        return Err(Rejection::invalid(k, "systems", Problem::TooMany));
    }
    for (i, s) in f.systems.iter().enumerate() {
        check_id(k, &format!("systems[{i}]"), s.as_str())?;
    }
    Ok(())
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let Command::PutCard { expected_version, fields: f } = &env.cmd else { return Ok(None) };
    let k = Kind::Card;
    let current = view.card(&f.id)?;
    let version = match next_version(k, f.id.as_str(), current.as_ref().map(|c| c.version), *expected_version) {
        Ok(v) => v,
        Err(r) => return Ok(Some(Err(r))),
    };
    for (i, s) in f.systems.iter().enumerate() {
        if view.system(s)?.is_none() {
            let field = format!("systems[{i}]");
            return Ok(Some(Err(Rejection::Unknown { kind: Kind::System, id: s.to_string(), field })));
        }
    }
    let text = CardText {
        title: f.title.trim().to_owned(),
        task: f.task.trim().to_owned(),
        who: f.who.trim().to_owned(),
        trigger: f.trigger.trim().to_owned(),
        actions: f.actions.trim().to_owned(),
        documentation: f.documentation.trim().to_owned(),
    };
    // The version being replaced goes into the history when its text changes.
    let mut history = Vec::new();
    if let Some(old) = current {
        history = old.history;
        if old.text != text {
            history.push(Revision { version: old.version, at: old.changed_at, by: old.changed_by, text: old.text });
        }
        let excess = history.len().saturating_sub(MAX_HISTORY);
        history.drain(..excess);
    }
    let card = ActionCard {
        id: f.id.clone(),
        category: f.category,
        text,
        owner: f.owner.trim().to_owned(),
        approver: f.approver.trim().to_owned(),
        approved_on: f.approved_on,
        review_by: f.review_by,
        systems: f.systems.clone(),
        changed_at: env.at,
        changed_by: env.actor.clone(),
        history,
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Card(f.id.clone()), Record::Card(card));
    Ok(Some(applied(k, f.id.as_str(), version)))
}
