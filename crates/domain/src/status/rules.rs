//! How status-board commands are checked and applied (called from [`crate::apply`]).

use time::OffsetDateTime;

use super::{
    Incident, IncidentStage, MAX_STAGES, MAX_UPDATE_INTERVAL, MAX_UPDATES, Maintenance, MaintenancePhase, Readiness,
    System, Update, site_key,
};
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope, IncidentFields, IncidentUpdateFields, MaintenanceFields, SystemFields};
use crate::ids::SystemId;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

/// Longest title or name.
const MAX_TITLE: usize = 200;

fn title(kind: Kind, field: &str, s: &str) -> Result<(), Rejection> {
    let t = text(kind, field, s, true)?;
    if t.chars().count() > MAX_TITLE {
        return Err(Rejection::invalid(kind, field, Problem::TooLong));
    }
    Ok(())
}

fn systems(kind: Kind, ids: &[SystemId]) -> Result<(), Rejection> {
    if ids.len() > 100 {
        return Err(Rejection::invalid(kind, "systems", Problem::TooMany));
    }
    for (i, id) in ids.iter().enumerate() {
        check_id(kind, &format!("systems[{i}]"), id.as_str())?;
    }
    Ok(())
}

/// What can be checked without state or clock.
pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PutSystem { fields: f, .. } => check_system(f),
        Command::SetSystemState { system_id, note, .. } => {
            check_id(Kind::System, "id", system_id.as_str())?;
            text(Kind::System, "note", note, false).map(drop)
        }
        Command::OpenIncident(f) => check_incident(f),
        Command::PostIncidentUpdate { incident_id, update } => {
            check_id(Kind::Incident, "id", incident_id.as_str())?;
            text(Kind::Incident, "body", &update.body, true).map(drop)
        }
        Command::ScheduleMaintenance(f) => check_maintenance(f),
        Command::AdvanceMaintenance { maintenance_id, note, .. } => {
            check_id(Kind::Maintenance, "id", maintenance_id.as_str())?;
            text(Kind::Maintenance, "note", note, false).map(drop)
        }
        Command::CancelMaintenance { maintenance_id, reason } => {
            check_id(Kind::Maintenance, "id", maintenance_id.as_str())?;
            text(Kind::Maintenance, "reason", reason, true).map(drop)
        }
        Command::SetReadiness(f) => {
            title(Kind::Readiness, "site", &f.site)?;
            if site_key(&f.site).is_empty() {
                return Err(Rejection::invalid(Kind::Readiness, "site", Problem::BadFormat));
            }
            text(Kind::Readiness, "note", &f.note, false).map(drop)
        }
        _ => Ok(()),
    }
}

fn check_system(f: &SystemFields) -> Result<(), Rejection> {
    let k = Kind::System;
    check_id(k, "id", f.id.as_str())?;
    title(k, "name", &f.name)?;
    if !f.site.trim().is_empty() {
        title(k, "site", &f.site)?;
    }
    f.description.as_deref().map(|d| text(k, "description", d, false)).transpose().map(drop)
}

fn check_incident(f: &IncidentFields) -> Result<(), Rejection> {
    let k = Kind::Incident;
    check_id(k, "id", f.id.as_str())?;
    title(k, "title", &f.title)?;
    systems(k, &f.systems)?;
    text(k, "body", &f.body, true)?;
    if let Some(l) = &f.lead {
        text(k, "lead", l, false)?;
    }
    Ok(())
}

fn check_maintenance(f: &MaintenanceFields) -> Result<(), Rejection> {
    let k = Kind::Maintenance;
    check_id(k, "id", f.id.as_str())?;
    title(k, "title", &f.title)?;
    systems(k, &f.systems)?;
    text(k, "note", &f.note, false)?;
    if f.stages.is_empty() {
        return Err(Rejection::invalid(k, "stages", Problem::Required));
    }
    if f.stages.len() > MAX_STAGES {
        return Err(Rejection::invalid(k, "stages", Problem::TooMany));
    }
    for (i, s) in f.stages.iter().enumerate() {
        title(k, &format!("stages[{i}]"), s)?;
    }
    if f.ends_at <= f.starts_at {
        return Err(Rejection::invalid(k, "ends_at", Problem::OutOfRange));
    }
    if !f.stage_starts.is_empty() {
        if f.stage_starts.len() != f.stages.len() {
            return Err(Rejection::invalid(k, "stage_starts", Problem::TooMany));
        }
        let mut before = f.starts_at;
        for (i, t) in f.stage_starts.iter().enumerate() {
            if *t < before || *t >= f.ends_at {
                return Err(Rejection::invalid(k, format!("stage_starts[{i}]"), Problem::OutOfRange));
            }
            before = *t;
        }
    }
    Ok(())
}

/// A promised next update must lie ahead of the command (by the clock of the node that took
/// it) and within [`MAX_UPDATE_INTERVAL`]; open incidents must have one.
fn check_due(due: Option<OffsetDateTime>, stage: IncidentStage, at: OffsetDateTime) -> Result<(), Rejection> {
    let k = Kind::Incident;
    match due {
        None if stage != IncidentStage::Resolved => Err(Rejection::invalid(k, "next_update_due", Problem::Required)),
        Some(d) if stage != IncidentStage::Resolved && (d <= at || d > at + MAX_UPDATE_INTERVAL) => {
            Err(Rejection::invalid(k, "next_update_due", Problem::OutOfRange))
        }
        _ => Ok(()),
    }
}

/// Every referenced system must exist (`system.unknown`, as an order's unknown article is
/// `article.unknown`).
fn known_systems(view: &dyn StateView, ids: &[SystemId]) -> Result<Result<(), Rejection>, StateError> {
    for (i, id) in ids.iter().enumerate() {
        if view.system(id)?.is_none() {
            return Ok(Err(Rejection::Unknown {
                kind: Kind::System,
                id: id.to_string(),
                field: format!("systems[{i}]"),
            }));
        }
    }
    Ok(Ok(()))
}

fn update(env: &Envelope, stage: &str, body: &str) -> Update {
    Update {
        at: env.at,
        by: env.actor.clone(),
        node: env.origin,
        stage: stage.to_owned(),
        body: body.trim().to_owned(),
    }
}

/// Applies a status-board command; `None` when `cmd` is not one.
pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let outcome = change(view, env, ch)?;
    // Every incident update and maintenance change goes out to those who follow it.
    if matches!(outcome, Some(Ok(_))) {
        crate::subscribers::notify(view, env, ch)?;
    }
    Ok(outcome)
}

fn change(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    Ok(Some(match &env.cmd {
        Command::PutSystem { expected_version, fields } => put_system(view, env, fields, *expected_version, ch)?,
        Command::SetSystemState { system_id, state, note } => {
            let Some(mut s) = view.system(system_id)? else {
                return Ok(Some(Err(Rejection::NotFound { kind: Kind::System, id: system_id.to_string() })));
            };
            s.state = *state;
            s.note = note.trim().to_owned();
            s.changed_at = env.at;
            s.changed_by = env.actor.clone();
            s.version += 1;
            let v = s.version;
            ch.put(Key::System(system_id.clone()), Record::System(s));
            applied(Kind::System, system_id.as_str(), v)
        }
        Command::OpenIncident(f) => open_incident(view, env, f, ch)?,
        Command::PostIncidentUpdate { incident_id, update } => post_update(view, env, incident_id, update, ch)?,
        Command::ScheduleMaintenance(f) => schedule(view, env, f, ch)?,
        Command::AdvanceMaintenance { maintenance_id, expected_version, note } => {
            change_maintenance(view, maintenance_id, Some(*expected_version), ch, |m| {
                if m.current as usize >= m.stages.len() {
                    m.phase = MaintenancePhase::Completed;
                    m.updates.push(update(env, "completed", note));
                } else {
                    m.current += 1;
                    m.phase = MaintenancePhase::InProgress;
                    m.updates.push(update(env, &m.current.to_string(), note));
                }
            })?
        }
        Command::CancelMaintenance { maintenance_id, reason } => {
            change_maintenance(view, maintenance_id, None, ch, |m| {
                m.phase = MaintenancePhase::Cancelled;
                m.updates.push(update(env, "cancelled", reason));
            })?
        }
        Command::SetReadiness(f) => {
            let key = site_key(&f.site);
            let version = view.readiness(&key)?.map_or(1, |r| r.version + 1);
            let r = Readiness {
                key: key.clone(),
                site: f.site.trim().to_owned(),
                level: f.level,
                note: f.note.trim().to_owned(),
                changed_at: env.at,
                changed_by: env.actor.clone(),
                version,
            };
            ch.put(Key::Readiness(key.clone()), Record::Readiness(r));
            applied(Kind::Readiness, &key, version)
        }
        _ => return Ok(None),
    }))
}

fn put_system(
    view: &dyn StateView,
    env: &Envelope,
    f: &SystemFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.system(&f.id)?;
    let version = match next_version(Kind::System, f.id.as_str(), current.as_ref().map(|s| s.version), expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    // Editing name, site or description keeps the light and its note as they are.
    let (state, note, changed_at, changed_by) = match current {
        Some(c) => (c.state, c.note, c.changed_at, c.changed_by),
        None => (f.state, String::new(), env.at, env.actor.clone()),
    };
    let s = System {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        site: f.site.trim().to_owned(),
        description: f.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned),
        state,
        note,
        changed_at,
        changed_by,
        version,
    };
    ch.put(Key::System(f.id.clone()), Record::System(s));
    Ok(applied(Kind::System, f.id.as_str(), version))
}

fn open_incident(
    view: &dyn StateView,
    env: &Envelope,
    f: &IncidentFields,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Incident;
    if view.incident(&f.id)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: k, id: f.id.to_string() }));
    }
    if let Err(r) = check_due(f.next_update_due, f.stage, env.at) {
        return Ok(Err(r));
    }
    if let Err(r) = known_systems(view, &f.systems)? {
        return Ok(Err(r));
    }
    let resolved = f.stage == IncidentStage::Resolved;
    let i = Incident {
        id: f.id.clone(),
        title: f.title.trim().to_owned(),
        impact: f.impact,
        systems: f.systems.clone(),
        stage: f.stage,
        lead: f.lead.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
        next_update_due: if resolved { None } else { f.next_update_due },
        opened_at: env.at,
        resolved_at: resolved.then_some(env.at),
        updates: vec![update(env, f.stage.as_str(), &f.body)],
        version: 1,
        exercise: f.exercise.clone(),
    };
    ch.put(Key::Incident(f.id.clone()), Record::Incident(i));
    Ok(applied(k, f.id.as_str(), 1))
}

fn post_update(
    view: &dyn StateView,
    env: &Envelope,
    id: &crate::ids::IncidentId,
    u: &IncidentUpdateFields,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Incident;
    let Some(mut i) = view.incident(id)? else {
        return Ok(Err(Rejection::NotFound { kind: k, id: id.to_string() }));
    };
    if !i.is_open() {
        return Ok(Err(Rejection::Closed { kind: k, id: id.to_string() }));
    }
    if i.updates.len() >= MAX_UPDATES {
        return Ok(Err(Rejection::invalid(k, "updates", Problem::TooMany)));
    }
    if let Err(r) = check_due(u.next_update_due, u.stage, env.at) {
        return Ok(Err(r));
    }
    i.stage = u.stage;
    if let Some(impact) = u.impact {
        i.impact = impact;
    }
    if u.stage == IncidentStage::Resolved {
        i.next_update_due = None;
        i.resolved_at = Some(env.at);
    } else {
        i.next_update_due = u.next_update_due;
    }
    i.updates.push(update(env, u.stage.as_str(), &u.body));
    i.version += 1;
    let v = i.version;
    ch.put(Key::Incident(id.clone()), Record::Incident(i));
    Ok(applied(k, id.as_str(), v))
}

fn schedule(
    view: &dyn StateView,
    env: &Envelope,
    f: &MaintenanceFields,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Maintenance;
    if view.maintenance(&f.id)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: k, id: f.id.to_string() }));
    }
    if let Err(r) = known_systems(view, &f.systems)? {
        return Ok(Err(r));
    }
    let m = Maintenance {
        id: f.id.clone(),
        title: f.title.trim().to_owned(),
        systems: f.systems.clone(),
        starts_at: f.starts_at,
        ends_at: f.ends_at,
        stages: f.stages.iter().map(|s| s.trim().to_owned()).collect(),
        stage_starts: f.stage_starts.clone(),
        current: 0,
        phase: MaintenancePhase::Scheduled,
        updates: vec![update(env, "scheduled", &f.note)],
        version: 1,
    };
    ch.put(Key::Maintenance(f.id.clone()), Record::Maintenance(m));
    Ok(applied(k, f.id.as_str(), 1))
}

fn change_maintenance(
    view: &dyn StateView,
    id: &crate::ids::MaintenanceId,
    expected: Option<u64>,
    ch: &mut Changes,
    change: impl FnOnce(&mut Maintenance),
) -> Result<Outcome, StateError> {
    let k = Kind::Maintenance;
    let Some(mut m) = view.maintenance(id)? else {
        return Ok(Err(Rejection::NotFound { kind: k, id: id.to_string() }));
    };
    if m.is_closed() {
        return Ok(Err(Rejection::Closed { kind: k, id: id.to_string() }));
    }
    if let Some(e) = expected
        && e != m.version
    {
        return Ok(Err(Rejection::VersionConflict { kind: k, id: id.to_string(), expected: e, actual: m.version }));
    }
    if m.updates.len() >= MAX_UPDATES {
        return Ok(Err(Rejection::invalid(k, "updates", Problem::TooMany)));
    }
    change(&mut m);
    m.version += 1;
    let v = m.version;
    ch.put(Key::Maintenance(id.clone()), Record::Maintenance(m));
    Ok(applied(k, id.as_str(), v))
}
