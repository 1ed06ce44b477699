//! How directory and rota commands are checked and applied (called from [`crate::apply`]).

use super::{Contact, MAX_ROUTES, MAX_SHIFTS, Rota, Route, RouteKind, Shift};
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, ContactFields, Envelope, RotaFields};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

const MAX_SHORT: usize = 200;

fn short(kind: Kind, field: &str, s: &str, required: bool) -> Result<(), Rejection> {
    let t = text(kind, field, s, required)?;
    if t.chars().count() > MAX_SHORT {
        return Err(Rejection::invalid(kind, field, Problem::TooLong));
    }
    Ok(())
}

/// A number as people write it: digits with spaces, dashes, slashes, brackets and a leading +.
fn is_number(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 3 && s.trim_start_matches('+').chars().all(|c| c.is_ascii_digit() || " -/()".contains(c))
}

pub(crate) fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn check_route(i: usize, r: &Route) -> Result<(), Rejection> {
    let k = Kind::Contact;
    let f = |what: &str| format!("routes[{i}].{what}");
    short(k, &f("value"), &r.value, true)?;
    let v = r.value.trim();
    let ok = match r.kind {
        kind if kind.is_number() => is_number(v),
        RouteKind::Email => is_email(v),
        _ => true,
    };
    if !ok {
        return Err(Rejection::invalid(k, f("value"), Problem::BadFormat));
    }
    short(k, &f("hours"), &r.hours, false)?;
    short(k, &f("note"), &r.note, false)
}

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PutContact { fields: f, .. } => {
            let k = Kind::Contact;
            check_id(k, "id", f.id.as_str())?;
            short(k, "name", &f.name, true)?;
            short(k, "title", &f.title, false)?;
            short(k, "organisation", &f.organisation, false)?;
            short(k, "site", &f.site, false)?;
            text(k, "note", &f.note, false)?;
            if let Some(u) = &f.unit_id {
                check_id(k, "unit_id", u.as_str())?;
            }
            if let Some(s) = &f.supplier_id {
                check_id(k, "supplier_id", s.as_str())?;
            }
            if f.routes.len() > MAX_ROUTES {
                return Err(Rejection::invalid(k, "routes", Problem::TooMany));
            }
            f.routes.iter().enumerate().try_for_each(|(i, r)| check_route(i, r))
        }
        Command::PutRota { fields: f, .. } => {
            let k = Kind::Rota;
            check_id(k, "id", f.id.as_str())?;
            short(k, "name", &f.name, true)?;
            check_shifts(k, "shifts", &f.shifts)?;
            check_shifts(k, "overrides", &f.overrides)?;
            if f.page_wait_seconds.is_some_and(|s| !crate::paging::WAIT_SECONDS.contains(&s)) {
                return Err(Rejection::invalid(k, "page_wait_seconds", Problem::OutOfRange));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Each shift ends after it starts, and no two in the list overlap (the schedule has one
/// person at a time; so do the overrides among themselves).
fn check_shifts(k: Kind, field: &str, shifts: &[Shift]) -> Result<(), Rejection> {
    if shifts.len() > MAX_SHIFTS {
        return Err(Rejection::invalid(k, field, Problem::TooMany));
    }
    for (i, s) in shifts.iter().enumerate() {
        check_id(k, &format!("{field}[{i}].contact_id"), s.contact_id.as_str())?;
        short(k, &format!("{field}[{i}].note"), &s.note, false)?;
        if s.to <= s.from {
            return Err(Rejection::invalid(k, format!("{field}[{i}].to"), Problem::OutOfRange));
        }
    }
    let mut order: Vec<usize> = (0..shifts.len()).collect();
    order.sort_by_key(|i| shifts[*i].from);
    for w in order.windows(2) {
        if shifts[w[1]].from < shifts[w[0]].to {
            return Err(Rejection::invalid(k, format!("{field}[{}].from", w[1]), Problem::Duplicate));
        }
    }
    Ok(())
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    Ok(Some(match &env.cmd {
        Command::PutContact { expected_version, fields } => put_contact(view, env, fields, *expected_version, ch)?,
        Command::PutRota { expected_version, fields } => put_rota(view, fields, *expected_version, ch)?,
        _ => return Ok(None),
    }))
}

fn put_contact(
    view: &dyn StateView,
    env: &Envelope,
    f: &ContactFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Contact;
    let current = view.contact(&f.id)?.map(|c| c.version);
    let version = match next_version(k, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(u) = &f.unit_id
        && view.unit(u)?.is_none()
    {
        return Ok(Err(Rejection::Unknown { kind: Kind::Unit, id: u.to_string(), field: "unit_id".into() }));
    }
    if let Some(s) = &f.supplier_id
        && view.supplier(s)?.is_none()
    {
        return Ok(Err(Rejection::Unknown { kind: Kind::Supplier, id: s.to_string(), field: "supplier_id".into() }));
    }
    // A route cannot have been tested after the request was made.
    if let Some(i) = f.routes.iter().position(|r| r.last_tested.is_some_and(|d| d > env.at.date())) {
        return Ok(Err(Rejection::invalid(k, format!("routes[{i}].last_tested"), Problem::OutOfRange)));
    }
    let trim = |s: &str| s.trim().to_owned();
    let c = Contact {
        id: f.id.clone(),
        kind: f.kind,
        name: trim(&f.name),
        title: trim(&f.title),
        organisation: trim(&f.organisation),
        unit_id: f.unit_id.clone(),
        site: trim(&f.site),
        supplier_id: f.supplier_id.clone(),
        routes: f
            .routes
            .iter()
            .map(|r| Route {
                kind: r.kind,
                value: trim(&r.value),
                hours: trim(&r.hours),
                last_tested: r.last_tested,
                note: trim(&r.note),
            })
            .collect(),
        note: trim(&f.note),
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Contact(f.id.clone()), Record::Contact(c));
    Ok(applied(k, f.id.as_str(), version))
}

fn put_rota(
    view: &dyn StateView,
    f: &RotaFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Rota;
    let current = view.rota(&f.id)?.map(|r| r.version);
    let version = match next_version(k, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    if let Some(fid) = &f.function_id
        && view.contact(fid)?.is_none()
    {
        return Ok(Err(Rejection::Unknown { kind: Kind::Contact, id: fid.to_string(), field: "function_id".into() }));
    }
    for (field, list) in [("shifts", &f.shifts), ("overrides", &f.overrides)] {
        for (i, s) in list.iter().enumerate() {
            if view.contact(&s.contact_id)?.is_none() {
                return Ok(Err(Rejection::Unknown {
                    kind: Kind::Contact,
                    id: s.contact_id.to_string(),
                    field: format!("{field}[{i}].contact_id"),
                }));
            }
        }
    }
    let sorted = |l: &[Shift]| {
        let mut l = l.to_vec();
        l.sort_by_key(|s| s.from);
        l
    };
    let r = Rota {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        function_id: f.function_id.clone(),
        shifts: sorted(&f.shifts),
        overrides: sorted(&f.overrides),
        version,
        page_wait_seconds: f.page_wait_seconds,
        page_on_critical: f.page_on_critical,
    };
    ch.put(Key::Rota(f.id.clone()), Record::Rota(r));
    Ok(applied(k, f.id.as_str(), version))
}
