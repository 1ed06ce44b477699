//! How report commands are checked and applied (called from [`crate::apply`]).

use super::*;
use crate::channels::Channel;
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::contacts::RouteKind;
use crate::ids::ExerciseId;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt, Table};
use crate::subscribers::{About, Notice, queue};

const K: Kind = Kind::Report;

/// How far ahead of the node's clock a report's time may be (clocks differ a little).
const CLOCK_SLACK: Duration = Duration::minutes(5);
/// How old a report may be when it reaches the log (a paper form entered afterwards, or one
/// that waited in an outbox through a long outage).
const MAX_AGE: Duration = Duration::days(7);

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::FileReport { fields: f } => {
            check_id(K, "unit_id", &f.unit_id)?;
            if f.values.len() > MAX_FIELDS {
                return Err(Rejection::invalid(K, "values", Problem::TooMany));
            }
            for v in &f.values {
                check_key(&v.key)?;
                report_text("values", &v.text)?;
            }
            report_text("needs", &f.needs)?;
            report_text("note", &f.note)
        }
        Command::SetReportForm { fields, .. } => {
            if fields.is_empty() {
                return Err(Rejection::invalid(K, "fields", Problem::Required));
            }
            if fields.len() > MAX_FIELDS {
                return Err(Rejection::invalid(K, "fields", Problem::TooMany));
            }
            for (i, f) in fields.iter().enumerate() {
                check_key(&f.key)?;
                if fields[..i].iter().any(|g| g.key == f.key) {
                    return Err(Rejection::invalid(K, "fields", Problem::Duplicate));
                }
                text(K, "label", &f.label, !DEFAULT_KEYS.contains(&f.key.as_str()))?;
                if f.label.chars().count() > 100 {
                    return Err(Rejection::invalid(K, "label", Problem::TooLong));
                }
            }
            Ok(())
        }
        Command::StartReportCycle { fields } => {
            if let Some(site) = &fields.site {
                text(K, "site", site, true)?;
            }
            match &fields.schedule {
                Schedule::Every { minutes, .. } if !CYCLE_MINUTES.contains(minutes) => {
                    Err(Rejection::invalid(K, "minutes", Problem::OutOfRange))
                }
                Schedule::Every { .. } => Ok(()),
                Schedule::Daily { times } => {
                    if times.is_empty() {
                        return Err(Rejection::invalid(K, "times", Problem::Required));
                    }
                    if times.len() > MAX_TIMES {
                        return Err(Rejection::invalid(K, "times", Problem::TooMany));
                    }
                    let parsed: Option<Vec<_>> = times.iter().map(|t| parse_hhmm(t)).collect();
                    match parsed {
                        None => Err(Rejection::invalid(K, "times", Problem::BadFormat)),
                        Some(p) if p.windows(2).any(|w| w[0] >= w[1]) => {
                            Err(Rejection::invalid(K, "times", Problem::Duplicate))
                        }
                        Some(_) => Ok(()),
                    }
                }
            }
        }
        Command::StopReportCycle { site: Some(s) } => text(K, "site", s, true).map(|_| ()),
        Command::RemindReport { unit_id, .. } => check_id(K, "unit_id", unit_id),
        _ => Ok(()),
    }
}

fn check_key(key: &str) -> Result<(), Rejection> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(Rejection::invalid(K, "key", Problem::BadFormat)) }
}

fn report_text(field: &str, s: &str) -> Result<(), Rejection> {
    if s.chars().count() > MAX_REPORT_TEXT {
        return Err(Rejection::invalid(K, field, Problem::TooLong));
    }
    Ok(())
}

/// The organisation's form, or the built-in one.
pub fn form(view: &dyn StateView) -> Result<Vec<ReportField>, StateError> {
    Ok(view.report_form()?.map_or_else(default_fields, |f| f.fields))
}

/// Every cycle in force.
pub fn cycles(view: &dyn StateView) -> Result<Vec<ReportCycle>, StateError> {
    Ok(view
        .scan(Table::ReportCycle, None, usize::MAX)?
        .into_iter()
        .filter_map(|r| match r {
            Record::ReportCycle(c) => Some(c),
            _ => None,
        })
        .collect())
}

/// How many reports back [`latest`] looks for one of the exercise it is asked about.
const LOOK_BACK: u64 = 200;

/// The unit's latest real report (`exercise` `None`), or its latest in that exercise: an
/// exercise's reports never count as the unit's real word, nor the other way round.
pub fn latest(
    view: &dyn StateView,
    unit: &UnitId,
    exercise: Option<&ExerciseId>,
) -> Result<Option<SituationReport>, StateError> {
    let n = view.counter(&counter(unit))?;
    for k in (n.saturating_sub(LOOK_BACK) + 1..=n).rev() {
        // A cleared exercise's reports are gone: their numbers are skipped.
        if let Some(r) = view.report(ReportKey { unit_id: unit.clone(), n: k })?
            && r.exercise.as_ref() == exercise
        {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The unit's reports, oldest first, at most `limit` after number `after`.
pub fn history(
    view: &dyn StateView,
    unit: &UnitId,
    after: u64,
    limit: usize,
) -> Result<Vec<SituationReport>, StateError> {
    let start = ReportKey { unit_id: unit.clone(), n: after }.key_text();
    let prefix = ReportKey::range_start(unit);
    let rows = view.scan_keyed(Table::Report, Some(&start), limit)?;
    let table_prefix = Table::Report.prefix().len();
    Ok(rows
        .into_iter()
        .take_while(|(k, _)| k.get(table_prefix..).is_some_and(|id| id.starts_with(prefix.as_bytes())))
        .filter_map(|(_, r)| match r {
            Record::Report(r) => Some(r),
            _ => None,
        })
        .collect())
}

fn counter(unit: &UnitId) -> String {
    format!("report:{unit}")
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let outcome = match &env.cmd {
        Command::FileReport { fields } => file(view, env, fields, ch)?,
        Command::SetReportForm { fields, expected_version } => {
            let current = view.report_form()?;
            match next_version(K, "form", current.map(|f| f.version), *expected_version) {
                Err(r) => Err(r),
                Ok(version) => {
                    let fields = fields
                        .iter()
                        .map(|f| ReportField { key: f.key.clone(), label: f.label.trim().to_owned(), kind: f.kind })
                        .collect();
                    ch.put(Key::ReportForm, Record::ReportForm(ReportForm { fields, version }));
                    applied(K, "form", version)
                }
            }
        }
        Command::StartReportCycle { fields } => {
            let site = fields.site.as_deref().map(str::trim).map(str::to_owned);
            let key = cycle_key(site.as_deref());
            let version = view.report_cycle(&key)?.map_or(1, |c| c.version + 1);
            let cycle = ReportCycle {
                key: key.clone(),
                site,
                schedule: fields.schedule.clone(),
                started_at: env.at,
                started_by: env.actor.clone(),
                version,
            };
            ch.put(Key::ReportCycle(key.clone()), Record::ReportCycle(cycle));
            applied(K, &format!("cycle:{key}"), version)
        }
        Command::StopReportCycle { site } => {
            let key = cycle_key(site.as_deref().map(str::trim));
            match view.report_cycle(&key)? {
                None => Err(Rejection::NotFound { kind: K, id: format!("cycle:{key}") }),
                Some(c) => {
                    ch.0.push((Key::ReportCycle(key.clone()), None));
                    applied(K, &format!("cycle:{key}"), c.version + 1)
                }
            }
        }
        Command::RemindReport { unit_id, due } => remind(view, env, unit_id, *due, ch)?,
        _ => return Ok(None),
    };
    Ok(Some(outcome))
}

fn file(view: &dyn StateView, env: &Envelope, f: &ReportFields, ch: &mut Changes) -> Result<Outcome, StateError> {
    let Some(unit) = view.unit(&f.unit_id)?.filter(|u| !u.withdrawn) else {
        return Ok(Err(Rejection::Unknown { kind: Kind::Unit, id: f.unit_id.to_string(), field: "unit_id".into() }));
    };
    if f.written_at > env.at + CLOCK_SLACK || f.written_at < env.at - MAX_AGE {
        return Ok(Err(Rejection::invalid(K, "written_at", Problem::OutOfRange)));
    }
    let form = form(view)?;
    let mut values = Vec::new();
    for v in &f.values {
        let Some(field) = form.iter().find(|d| d.key == v.key) else {
            return Ok(Err(Rejection::invalid(K, "values", Problem::UnknownCode)));
        };
        if values.iter().any(|w: &FieldValue| w.key == v.key) {
            return Ok(Err(Rejection::invalid(K, "values", Problem::Duplicate)));
        }
        if field.kind == FieldKind::Text && v.light.is_some() {
            return Ok(Err(Rejection::invalid(K, "values", Problem::BadFormat)));
        }
        let text = v.text.trim().to_owned();
        if v.light.is_none() && text.is_empty() {
            continue;
        }
        values.push(FieldValue { key: v.key.clone(), light: v.light, text });
    }
    let n = view.counter(&counter(&f.unit_id))? + 1;
    let report = SituationReport {
        unit_id: f.unit_id.clone(),
        n,
        site: unit.site.clone(),
        light: f.light,
        values,
        needs: f.needs.trim().to_owned(),
        note: f.note.trim().to_owned(),
        written_at: f.written_at,
        shared_at: env.at,
        from_paper: f.from_paper,
        reported_by: env.actor.clone(),
        node: env.origin,
        version: 1,
        exercise: f.exercise.clone(),
    };
    let key = report.key();
    ch.put(Key::Counter(counter(&f.unit_id).into()), Record::Counter(n));
    ch.put(Key::Report(key.clone()), Record::Report(report));
    Ok(applied(K, &key.key_text(), 1))
}

/// How a unit is reached about its report: its directory entries (not withdrawn), each by its
/// first mobile or pager number in E.164 form and its first e-mail address; one text to every
/// phone and one e-mail to every address.
pub fn unit_routes(view: &dyn StateView, unit: &UnitId) -> Result<Vec<Channel>, StateError> {
    let (mut phones, mut mails) = (Vec::new(), Vec::new());
    for r in view.scan(Table::Contact, None, usize::MAX)? {
        let Record::Contact(c) = r else { continue };
        if c.withdrawn || c.unit_id.as_ref() != Some(unit) {
            continue;
        }
        let phone = c
            .routes
            .iter()
            .filter(|r| matches!(r.kind, RouteKind::Mobile | RouteKind::Pager))
            .find_map(|r| crate::sms::e164(&r.value));
        phones.extend(phone.filter(|p| !phones.contains(p)));
        let mail = c.routes.iter().find(|r| r.kind == RouteKind::Email).map(|e| e.value.trim().to_owned());
        mails.extend(mail.filter(|m| crate::contacts::rules::is_email(m) && !mails.contains(m)));
    }
    let mut out = Vec::new();
    if !phones.is_empty() {
        out.push(Channel::Sms { to: phones });
    }
    if !mails.is_empty() {
        out.push(Channel::Email { to: mails, attach: Vec::new() });
    }
    Ok(out)
}

/// The leader's reminder that a unit's report due at `due` has not come: a text and an e-mail
/// to each of the unit's directory entries, once per due time. Refused when the report came
/// meanwhile, the unit has no cycle, or nobody of the unit can be reached.
fn remind(
    view: &dyn StateView,
    env: &Envelope,
    unit_id: &UnitId,
    due: OffsetDateTime,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let Some(unit) = view.unit(unit_id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::Unit, id: unit_id.to_string() }));
    };
    let cycles = cycles(view)?;
    let Some(cycle) = cycle_for(&cycles, &unit.site) else {
        return Ok(Err(Rejection::NotFound { kind: K, id: "cycle".into() }));
    };
    let answered = latest(view, unit_id, None)?.is_some_and(|r| r.written_at + cycle.schedule.early() >= due);
    if answered || env.at < due || due < cycle.started_at {
        return Ok(Err(Rejection::invalid(K, "due", Problem::OutOfRange)));
    }
    let routes = unit_routes(view, unit_id)?;
    if routes.is_empty() {
        return Ok(Err(Rejection::invalid(K, "contacts", Problem::Required)));
    }
    let mut first = None;
    for channel in routes {
        let sms = matches!(channel, Channel::Sms { .. });
        let notice = Notice {
            subscriber_id: crate::ids::SubscriberId::default(),
            about: About::ReportDue { unit_id: unit_id.clone(), due },
            sms,
        };
        first = first.or(queue(view, env, notice, channel, ch)?);
    }
    Ok(match first {
        Some(job) => applied(Kind::Dispatch, &job, 1),
        None => Err(Rejection::AlreadyExists { kind: Kind::Dispatch, id: unit_id.to_string() }),
    })
}
