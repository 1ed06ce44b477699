//! How page commands are checked and applied (called from [`crate::apply`]).

use super::*;
use crate::access::same_text;
use crate::channels::Channel;
use crate::check::{Outcome, applied, check_id, text};
use crate::command::{Command, Envelope};
use crate::dispatch::JobState;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};
use crate::subscribers::queue;

const K: Kind = Kind::Page;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PageOnCall { fields: f, token } => {
            check_id(K, "id", &f.id)?;
            check_id(K, "rota_id", &f.rota_id)?;
            let message = text(K, "message", &f.message, true)?;
            if message.chars().count() > MAX_MESSAGE {
                return Err(Rejection::invalid(K, "message", Problem::TooLong));
            }
            if let Some(i) = &f.incident_id {
                check_id(K, "incident_id", i)?;
            }
            if !matches!(f.lang.as_str(), "sv" | "nb" | "en") {
                return Err(Rejection::invalid(K, "lang", Problem::UnknownCode));
            }
            check_token(token)
        }
        Command::EscalatePage { page_id, .. } | Command::CancelPage { page_id, .. } => check_id(K, "id", page_id),
        Command::AcknowledgePage { page_id, ack } => {
            check_id(K, "id", page_id)?;
            match ack {
                Ack::Link { token, .. } => check_token(token),
                Ack::Sms { phone } => crate::sms::e164(phone)
                    .filter(|p| p == phone)
                    .map(|_| ())
                    .ok_or_else(|| Rejection::invalid(K, "phone", Problem::BadFormat)),
            }
        }
        _ => Ok(()),
    }
}

/// A link's secret: 22 to 128 URL-safe characters (22 base-62 characters are 131 bits).
fn check_token(token: &str) -> Result<(), Rejection> {
    let ok =
        (22..=128).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(Rejection::invalid(K, "token", Problem::BadFormat)) }
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let outcome = match &env.cmd {
        Command::PageOnCall { fields, token } => raise(view, env, fields, token, ch)?,
        Command::EscalatePage { page_id, step } => {
            let page = match open_page(view, page_id)? {
                Ok(p) => p,
                Err(r) => return Ok(Some(Err(r))),
            };
            if page.step != *step || page.step_due.is_none_or(|due| env.at < due) {
                return Ok(Some(Err(Rejection::invalid(K, "step", Problem::OutOfRange))));
            }
            escalate(view, env, page, ch)?
        }
        Command::AcknowledgePage { page_id, ack } => {
            let page = match open_page(view, page_id)? {
                Ok(p) => p,
                Err(r) => return Ok(Some(Err(r))),
            };
            let (step, via) = match ack {
                // A wrong token is said as "not found", like a wrong unsubscribe link.
                Ack::Link { step, token } if *step <= page.step && same_text(&page.token, token) => (*step, "link"),
                Ack::Link { .. } => return Ok(Some(Err(Rejection::NotFound { kind: K, id: page_id.to_string() }))),
                Ack::Sms { phone } => match page.step_of_phone(phone) {
                    Some(step) => (step, "sms"),
                    None => return Ok(Some(Err(Rejection::invalid(K, "phone", Problem::UnknownCode)))),
                },
            };
            let event = Event::Acknowledged { step, via: via.to_owned() };
            close(view, env, page, PageState::Acknowledged, event, ch)?
        }
        Command::CancelPage { page_id, reason } => {
            let page = match open_page(view, page_id)? {
                Ok(p) => p,
                Err(r) => return Ok(Some(Err(r))),
            };
            let reason = match text(K, "reason", reason, false) {
                Ok(r) => r.to_owned(),
                Err(r) => return Ok(Some(Err(r))),
            };
            close(view, env, page, PageState::Cancelled, Event::Cancelled { reason }, ch)?
        }
        _ => return Ok(None),
    };
    Ok(Some(outcome))
}

fn open_page(view: &dyn StateView, id: &PageId) -> Result<Result<Page, Rejection>, StateError> {
    Ok(match view.page(id)? {
        None => Err(Rejection::NotFound { kind: K, id: id.to_string() }),
        Some(p) if !p.is_open() => Err(Rejection::Closed { kind: K, id: id.to_string() }),
        Some(p) => Ok(p),
    })
}

fn raise(
    view: &dyn StateView,
    env: &Envelope,
    f: &PageFields,
    token: &str,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    if view.page(&f.id)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: K, id: f.id.to_string() }));
    }
    let Some(rota) = view.rota(&f.rota_id)? else {
        return Ok(Err(Rejection::Unknown { kind: Kind::Rota, id: f.rota_id.to_string(), field: "rota_id".into() }));
    };
    if let Some(i) = &f.incident_id
        && view.incident(i)?.is_none()
    {
        return Ok(Err(Rejection::Unknown { kind: Kind::Incident, id: i.to_string(), field: "incident_id".into() }));
    }
    let chain = chain(&rota, |id| view.contact(id).ok().flatten(), env.at);
    if chain.is_empty() {
        // Nobody on the rota has a mobile number or an e-mail address the cluster can use.
        return Ok(Err(Rejection::invalid(K, "chain", Problem::Required)));
    }
    let wait_seconds = rota.page_wait_seconds.unwrap_or(DEFAULT_WAIT_SECONDS);
    let page = Page {
        id: f.id.clone(),
        rota_id: rota.id.clone(),
        rota_name: rota.name.clone(),
        message: f.message.trim().to_owned(),
        incident_id: f.incident_id.clone(),
        lang: f.lang.clone(),
        chain,
        step: 0,
        wait_seconds,
        step_due: None,
        state: PageState::Open,
        token: token.to_owned(),
        timeline: vec![Entry { at: env.at, by: env.actor.clone(), event: Event::Paged { step: 0 } }],
        raised_at: env.at,
        raised_by: env.actor.clone(),
        version: 1,
        exercise: f.exercise.clone(),
    };
    send_step(view, env, page, ch)
}

/// Queues the current step's message and starts its wait.
fn send_step(view: &dyn StateView, env: &Envelope, mut page: Page, ch: &mut Changes) -> Result<Outcome, StateError> {
    let Some(link) = page.chain.get(page.step) else {
        return Ok(Err(Rejection::invalid(K, "step", Problem::OutOfRange)));
    };
    page.step_due = Some(env.at + Duration::seconds(i64::from(page.wait_seconds)));
    let notice = page.step_notice(page.step);
    let channel = match link.via {
        Via::Sms => Channel::Sms { to: vec![link.address.clone()] },
        Via::Email => Channel::Email { to: vec![link.address.clone()], attach: Vec::new() },
    };
    queue(view, env, notice, channel, ch)?;
    let (id, version) = (page.id.clone(), page.version);
    ch.put(Key::Page(id.clone()), Record::Page(page));
    Ok(applied(K, &id, version))
}

/// The current step went unanswered: on to the next link, or the page is unanswered.
fn escalate(view: &dyn StateView, env: &Envelope, mut page: Page, ch: &mut Changes) -> Result<Outcome, StateError> {
    page.timeline.push(Entry { at: env.at, by: None, event: Event::NoAnswer { step: page.step } });
    page.version += 1;
    if page.step + 1 < page.chain.len() {
        page.step += 1;
        page.timeline.push(Entry { at: env.at, by: None, event: Event::Paged { step: page.step } });
        return send_step(view, env, page, ch);
    }
    page.state = PageState::Unanswered;
    page.step_due = None;
    page.timeline.push(Entry { at: env.at, by: None, event: Event::Unanswered });
    let (id, version) = (page.id.clone(), page.version);
    ch.put(Key::Page(id.clone()), Record::Page(page));
    Ok(applied(K, &id, version))
}

/// Ends an open page; a step's message not yet out by then is not sent.
fn close(
    view: &dyn StateView,
    env: &Envelope,
    mut page: Page,
    state: PageState,
    event: Event,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    for step in 0..=page.step {
        let id = page.step_job(step);
        if let Some(mut job) = view.dispatch(&id)?.filter(|j| j.state == JobState::Pending) {
            job.state = JobState::Cancelled;
            job.next_attempt_at = None;
            job.version += 1;
            ch.put(Key::Dispatch(id), Record::Dispatch(job));
        }
    }
    page.state = state;
    page.step_due = None;
    page.version += 1;
    page.timeline.push(Entry { at: env.at, by: env.actor.clone(), event });
    let (id, version) = (page.id.clone(), page.version);
    ch.put(Key::Page(id.clone()), Record::Page(page));
    Ok(applied(K, &id, version))
}
