//! How dispatch commands are checked and applied (called from [`crate::apply`]).

use super::*;

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    let k = Kind::Dispatch;
    match cmd {
        Command::Dispatch { job_id, supplier_id, order_ids } => {
            check_id(k, "id", job_id)?;
            check_id(k, "supplier_id", supplier_id.as_str())?;
            if order_ids.is_empty() {
                return Err(Rejection::invalid(k, "order_ids", Problem::Required));
            }
            if order_ids.len() > MAX_ORDERS {
                return Err(Rejection::invalid(k, "order_ids", Problem::TooMany));
            }
            let mut ids: Vec<&str> = order_ids.iter().map(OrderId::as_str).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.len() != order_ids.len() {
                return Err(Rejection::invalid(k, "order_ids", Problem::Duplicate));
            }
            Ok(())
        }
        Command::RecordAttempt { job_id, detail, refs, .. } => {
            check_id(k, "id", job_id)?;
            if refs.len() > MAX_RECEIPTS {
                return Err(Rejection::invalid(k, "refs", Problem::TooMany));
            }
            for (i, r) in refs.iter().enumerate() {
                text(k, &format!("refs[{i}]"), r, true)?;
            }
            text(k, "detail", detail, false).map(|_| ())
        }
        Command::RecordReceipt { job_id, reference, state } => {
            check_id(k, "id", job_id)?;
            text(k, "reference", reference, true)?;
            text(k, "state", state, true).map(|_| ())
        }
        Command::RecordManualSend { job_id, how } => {
            check_id(k, "id", job_id)?;
            text(k, "how", how, true).map(|_| ())
        }
        Command::RetryDispatch { job_id } | Command::CancelDispatch { job_id } => check_id(k, "id", job_id),
        _ => Ok(()),
    }
}

fn job(view: &dyn StateView, id: &str) -> Result<Result<DispatchJob, Rejection>, StateError> {
    Ok(view.dispatch(id)?.ok_or_else(|| Rejection::NotFound { kind: Kind::Dispatch, id: id.to_owned() }))
}

/// A job that is delivered, cancelled or (for attempts) failed takes no more changes.
fn bad_state(job: &DispatchJob) -> Rejection {
    Rejection::Closed { kind: Kind::Dispatch, id: job.id.to_string() }
}

fn save(mut job: DispatchJob, ch: &mut Changes) -> Outcome {
    job.version += 1;
    let (id, version) = (job.id.clone(), job.version);
    ch.put(Key::Dispatch(id.clone()), Record::Dispatch(job));
    applied(Kind::Dispatch, &id, version)
}

/// Marks the job's orders sent (those still approved: another job may have sent one already).
fn mark_sent(view: &dyn StateView, env: &Envelope, job: &DispatchJob, ch: &mut Changes) -> Result<(), StateError> {
    let mut overlay = Overlay::new(view);
    for id in &job.order_ids {
        if view.order(id)?.is_some_and(|o| o.status == OrderStatus::Approved) {
            let mut sub = Changes::default();
            if crate::orders::rules::transition(&overlay, env, id, None, &OrderAction::Send, &mut sub)?.is_ok() {
                overlay.add(sub);
            }
        }
    }
    ch.0.extend(overlay.into_changes().0);
    Ok(())
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    let k = Kind::Dispatch;
    let outcome = match &env.cmd {
        Command::Dispatch { job_id, supplier_id, order_ids } => {
            if view.dispatch(job_id)?.is_some() {
                return Ok(Some(Err(Rejection::AlreadyExists { kind: k, id: job_id.to_string() })));
            }
            let Some(channel) = view.channel(supplier_id)? else {
                return Ok(Some(Err(Rejection::Unknown {
                    kind: Kind::Channel,
                    id: supplier_id.to_string(),
                    field: "supplier_id".into(),
                })));
            };
            for (i, id) in order_ids.iter().enumerate() {
                let field = format!("order_ids[{i}]");
                let Some(order) = view.order(id)? else {
                    return Ok(Some(Err(Rejection::Unknown { kind: Kind::Order, id: id.to_string(), field })));
                };
                if order.status != OrderStatus::Approved {
                    let (id, from) = (id.to_string(), order.status);
                    return Ok(Some(Err(Rejection::BadTransition { id, from, action: "send".into() })));
                }
                let mut from_supplier = false;
                for l in &order.lines {
                    from_supplier |= view.article(&l.article_id)?.is_some_and(|a| &a.supplier_id == supplier_id);
                }
                if !from_supplier {
                    return Ok(Some(Err(Rejection::invalid(k, field, Problem::UnknownCode))));
                }
            }
            let job = DispatchJob {
                id: job_id.clone(),
                supplier_id: supplier_id.clone(),
                order_ids: order_ids.clone(),
                channel: channel.channel,
                state: JobState::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(env.at),
                created_at: env.at,
                created_by: env.actor.clone(),
                version: 0,
                notice: None,
                receipts: Vec::new(),
            };
            save(job, ch)
        }
        Command::RecordReceipt { job_id, reference, state } => {
            let mut job = match job(view, job_id)? {
                Ok(j) => j,
                Err(r) => return Ok(Some(Err(r))),
            };
            if !job.attempts.iter().any(|a| a.refs.contains(reference)) {
                return Ok(Some(Err(Rejection::invalid(Kind::Dispatch, "reference", Problem::OutOfRange))));
            }
            let state = state.trim().to_uppercase();
            if job.receipts.iter().any(|r| r.reference == *reference && r.state == state) {
                return Ok(Some(Err(Rejection::AlreadyExists { kind: Kind::Dispatch, id: job.id.to_string() })));
            }
            if job.receipts.len() >= MAX_RECEIPTS {
                return Ok(Some(Err(Rejection::invalid(Kind::Dispatch, "receipts", Problem::TooMany))));
            }
            job.receipts.push(Receipt { at: env.at, reference: reference.clone(), state });
            save(job, ch)
        }
        Command::RecordAttempt { job_id, node, ok, detail, refs } => {
            let mut job = match job(view, job_id)? {
                Ok(j) => j,
                Err(r) => return Ok(Some(Err(r))),
            };
            if job.state != JobState::Pending {
                // A late report from a deposed leader: kept out, the job has moved on.
                return Ok(Some(Err(bad_state(&job))));
            }
            let detail = detail.trim().to_owned();
            job.attempts.push(Attempt { at: env.at, node: *node, ok: *ok, detail, by: None, refs: refs.clone() });
            if *ok {
                job.state = JobState::Delivered;
                job.next_attempt_at = None;
                mark_sent(view, env, &job, ch)?;
            } else {
                let failures = job.attempts.iter().rev().take_while(|a| !a.ok).count();
                if job.attempts.len() >= MAX_ATTEMPTS {
                    job.state = JobState::Failed;
                    job.next_attempt_at = None;
                } else {
                    job.next_attempt_at = Some(env.at + backoff(failures));
                }
            }
            save(job, ch)
        }
        Command::RecordManualSend { job_id, how } => {
            let mut job = match job(view, job_id)? {
                Ok(j) => j,
                Err(r) => return Ok(Some(Err(r))),
            };
            if !matches!(job.state, JobState::Pending | JobState::Failed) {
                return Ok(Some(Err(bad_state(&job))));
            }
            let by = env.actor.clone();
            let detail = how.trim().to_owned();
            job.attempts.push(Attempt { at: env.at, node: 0, ok: true, detail, by, refs: Vec::new() });
            job.state = JobState::Delivered;
            job.next_attempt_at = None;
            mark_sent(view, env, &job, ch)?;
            save(job, ch)
        }
        Command::RetryDispatch { job_id } | Command::CancelDispatch { job_id } => {
            let mut job = match job(view, job_id)? {
                Ok(j) => j,
                Err(r) => return Ok(Some(Err(r))),
            };
            if !matches!(job.state, JobState::Pending | JobState::Failed) {
                return Ok(Some(Err(bad_state(&job))));
            }
            if matches!(env.cmd, Command::RetryDispatch { .. }) {
                job.state = JobState::Pending;
                job.next_attempt_at = Some(env.at);
            } else {
                job.state = JobState::Cancelled;
                job.next_attempt_at = None;
            }
            save(job, ch)
        }
        _ => return Ok(None),
    };
    Ok(Some(outcome))
}
