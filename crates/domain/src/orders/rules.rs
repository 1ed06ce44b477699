//! How order commands are checked and applied: creating and editing a draft, and the order
//! state machine ([`next_status`]).

use crate::check::{Outcome, applied, check_id, clean, opt_text, text};
use crate::command::{Command, Envelope, OrderAction, OrderFields};
use crate::ids::OrderId;
use crate::model::{HistoryEntry, Order, OrderLine, OrderStatus};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

/// Checks what can be checked without state (see [`crate::apply::validate`]).
pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::CreateOrder(f) | Command::UpdateOrder { fields: f, .. } => check_order(f),
        Command::Transition { order_id, action, .. } => {
            check_id(Kind::Order, "id", order_id.as_str())?;
            match action {
                OrderAction::Reject { reason } | OrderAction::Cancel { reason } => {
                    text(Kind::Order, "reason", reason, true).map(|_| ())
                }
                OrderAction::Receive { lines } if lines.is_empty() => {
                    Err(Rejection::invalid(Kind::Order, "lines", Problem::Required))
                }
                _ => Ok(()),
            }
        }
        other => Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode)),
    }
}

/// Applies one of this area's commands (the router in [`crate::apply`] sends only those).
pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    match &env.cmd {
        Command::CreateOrder(f) => create_order(view, env, f, ch),
        Command::UpdateOrder { expected_version, fields } => update_order(view, env, fields, *expected_version, ch),
        Command::Transition { order_id, expected_version, action } => {
            transition(view, env, order_id, *expected_version, action, ch)
        }
        other => Ok(Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode))),
    }
}

/// Most lines one order may have.
pub const MAX_LINES: usize = 500;

/// Largest quantity on one line.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// Resolves order lines against the catalog: every article must exist and be orderable.
fn order_lines(view: &dyn StateView, f: &OrderFields) -> Result<Result<Vec<OrderLine>, Rejection>, StateError> {
    let mut lines = Vec::with_capacity(f.lines.len());
    for (i, l) in f.lines.iter().enumerate() {
        let field = format!("lines[{i}].article_id");
        match view.article(&l.article_id)? {
            None => return Ok(Err(Rejection::Unknown { kind: Kind::Article, id: l.article_id.to_string(), field })),
            Some(a) if a.withdrawn => {
                return Ok(Err(Rejection::Withdrawn { kind: Kind::Article, id: l.article_id.to_string(), field }));
            }
            Some(a) => {
                if view.supplier(&a.supplier_id)?.is_some_and(|s| s.withdrawn) {
                    return Ok(Err(Rejection::Withdrawn {
                        kind: Kind::Supplier,
                        id: a.supplier_id.to_string(),
                        field,
                    }));
                }
            }
        }
        lines.push(OrderLine {
            line_no: u32::try_from(i + 1).unwrap_or(u32::MAX),
            article_id: l.article_id.clone(),
            quantity: l.quantity,
            note: clean(&l.note),
            received: 0,
        });
    }
    Ok(Ok(lines))
}

/// The order's unit must exist and not be withdrawn.
fn orderable_unit(view: &dyn StateView, f: &OrderFields) -> Result<Result<(), Rejection>, StateError> {
    let (id, field) = (f.unit_id.to_string(), "unit_id".to_owned());
    Ok(match view.unit(&f.unit_id)? {
        None => Err(Rejection::Unknown { kind: Kind::Unit, id, field }),
        Some(u) if u.withdrawn => Err(Rejection::Withdrawn { kind: Kind::Unit, id, field }),
        Some(_) => Ok(()),
    })
}

fn create_order(
    view: &dyn StateView,
    env: &Envelope,
    f: &OrderFields,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    if view.order(&f.id)?.is_some() {
        return Ok(Err(Rejection::AlreadyExists { kind: Kind::Order, id: f.id.to_string() }));
    }
    if let Err(r) = orderable_unit(view, f)? {
        return Ok(Err(r));
    }
    let lines = match order_lines(view, f)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let seq = view.counter("order")? + 1;
    ch.put(Key::Counter("order".into()), Record::Counter(seq));
    let status = if f.submit { OrderStatus::Submitted } else { OrderStatus::Draft };
    let mut history = vec![entry(env, "created", None, OrderStatus::Draft, None)];
    if f.submit {
        history.push(entry(env, "submit", Some(OrderStatus::Draft), OrderStatus::Submitted, None));
    }
    let order = Order {
        id: f.id.clone(),
        number: format!("{}-{seq:06}", env.at.year()),
        unit_id: f.unit_id.clone(),
        lines,
        note: clean(&f.note),
        needed_by: f.needed_by,
        urgent: f.urgent,
        status,
        version: 1,
        created_at: env.at,
        updated_at: env.at,
        history,
        exercise: f.exercise.clone(),
        drill: f.drill,
    };
    ch.put(Key::Order(f.id.clone()), Record::Order(order));
    Ok(applied(Kind::Order, f.id.as_str(), 1))
}

fn update_order(
    view: &dyn StateView,
    env: &Envelope,
    f: &OrderFields,
    expected: u64,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let Some(mut order) = view.order(&f.id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::Order, id: f.id.to_string() }));
    };
    if order.version != expected {
        return Ok(Err(Rejection::VersionConflict {
            kind: Kind::Order,
            id: f.id.to_string(),
            expected,
            actual: order.version,
        }));
    }
    if order.status != OrderStatus::Draft {
        return Ok(Err(Rejection::BadTransition { id: f.id.to_string(), from: order.status, action: "edit".into() }));
    }
    if order.drill && f.submit {
        return Ok(Err(Rejection::BadTransition { id: f.id.to_string(), from: order.status, action: "submit".into() }));
    }
    if let Err(r) = orderable_unit(view, f)? {
        return Ok(Err(r));
    }
    order.lines = match order_lines(view, f)? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    order.unit_id = f.unit_id.clone();
    order.note = clean(&f.note);
    order.needed_by = f.needed_by;
    order.urgent = f.urgent;
    order.history.push(entry(env, "edit", Some(OrderStatus::Draft), OrderStatus::Draft, None));
    if f.submit {
        order.status = OrderStatus::Submitted;
        order.history.push(entry(env, "submit", Some(OrderStatus::Draft), OrderStatus::Submitted, None));
    }
    Ok(save_order(order, env, ch))
}

pub(crate) fn transition(
    view: &dyn StateView,
    env: &Envelope,
    id: &OrderId,
    expected: Option<u64>,
    action: &OrderAction,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let Some(mut order) = view.order(id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::Order, id: id.to_string() }));
    };
    if let Some(expected) = expected.filter(|e| *e != order.version) {
        return Ok(Err(Rejection::VersionConflict {
            kind: Kind::Order,
            id: id.to_string(),
            expected,
            actual: order.version,
        }));
    }
    let from = order.status;
    let to = match next_status(&order, action) {
        Ok(to) => to,
        Err(r) => return Ok(Err(r)),
    };
    if let OrderAction::Receive { lines } = action {
        for r in lines {
            if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == r.line_no) {
                line.received = line.received.saturating_add(r.quantity);
            }
        }
    }
    let reason = match action {
        OrderAction::Reject { reason } | OrderAction::Cancel { reason } => Some(reason.trim().to_owned()),
        _ => None,
    };
    order.status = to;
    order.history.push(entry(env, action.name(), Some(from), to, reason));
    Ok(save_order(order, env, ch))
}

/// The order state machine: which action is allowed from which status, and where it leads.
///
/// draft → submitted → approved → sent → confirmed → (partially_)delivered; submitted may be
/// rejected; anything before its first receipt may be cancelled. A receipt may not exceed what
/// was ordered on a line, and must receive something. A drill's order is only ever cancelled.
pub fn next_status(order: &Order, action: &OrderAction) -> Result<OrderStatus, Rejection> {
    use OrderStatus as S;
    let bad =
        || Rejection::BadTransition { id: order.id.to_string(), from: order.status, action: action.name().into() };
    if order.drill && !matches!(action, OrderAction::Cancel { .. }) {
        return Err(bad());
    }
    Ok(match (order.status, action) {
        (S::Draft, OrderAction::Submit) => {
            if order.lines.is_empty() {
                return Err(Rejection::invalid(Kind::Order, "lines", Problem::Required));
            }
            S::Submitted
        }
        (S::Submitted, OrderAction::Approve) => S::Approved,
        (S::Submitted, OrderAction::Reject { .. }) => S::Rejected,
        (S::Approved, OrderAction::Send) => S::Sent,
        (S::Sent, OrderAction::Confirm) => S::Confirmed,
        (S::Sent | S::Confirmed | S::PartiallyDelivered, OrderAction::Receive { lines }) => {
            if lines.iter().all(|r| r.quantity == 0) {
                return Err(Rejection::invalid(Kind::Order, "lines", Problem::Required));
            }
            let mut received: Vec<u32> = order.lines.iter().map(|l| l.received).collect();
            for (i, r) in lines.iter().enumerate() {
                let Some(pos) = order.lines.iter().position(|l| l.line_no == r.line_no) else {
                    return Err(Rejection::invalid(Kind::Order, format!("lines[{i}].line_no"), Problem::OutOfRange));
                };
                let slot = received.get_mut(pos).ok_or_else(bad)?;
                *slot = slot.saturating_add(r.quantity);
                if order.lines.get(pos).is_some_and(|l| *slot > l.quantity) {
                    return Err(Rejection::invalid(Kind::Order, format!("lines[{i}].quantity"), Problem::OutOfRange));
                }
            }
            let full = order.lines.iter().zip(&received).all(|(l, r)| *r >= l.quantity);
            if full { S::Delivered } else { S::PartiallyDelivered }
        }
        (S::Draft | S::Submitted | S::Approved | S::Sent | S::Confirmed, OrderAction::Cancel { .. }) => S::Cancelled,
        _ => return Err(bad()),
    })
}

fn save_order(mut order: Order, env: &Envelope, ch: &mut Changes) -> Outcome {
    order.version += 1;
    order.updated_at = env.at;
    let (id, version) = (order.id.clone(), order.version);
    ch.put(Key::Order(id.clone()), Record::Order(order));
    applied(Kind::Order, id.as_str(), version)
}

fn entry(
    env: &Envelope,
    action: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: Option<String>,
) -> HistoryEntry {
    HistoryEntry { at: env.at, node: env.origin, actor: env.actor.clone(), action: action.into(), from, to, reason }
}

fn check_order(f: &OrderFields) -> Result<(), Rejection> {
    let k = Kind::Order;
    check_id(k, "id", f.id.as_str())?;
    check_id(k, "unit_id", f.unit_id.as_str())?;
    opt_text(k, "note", &f.note)?;
    if f.submit && f.lines.is_empty() {
        return Err(Rejection::invalid(k, "lines", Problem::Required));
    }
    if f.submit && f.drill {
        // A drill's order only ever stays a draft, so nothing of a drill reaches a supplier.
        return Err(Rejection::invalid(k, "submit", Problem::Mismatch));
    }
    if f.lines.len() > MAX_LINES {
        return Err(Rejection::invalid(k, "lines", Problem::TooMany));
    }
    for (i, l) in f.lines.iter().enumerate() {
        check_id(k, &format!("lines[{i}].article_id"), l.article_id.as_str())?;
        if l.quantity == 0 || l.quantity > MAX_QUANTITY {
            return Err(Rejection::invalid(k, format!("lines[{i}].quantity"), Problem::OutOfRange));
        }
        opt_text(k, &format!("lines[{i}].note"), &l.note)?;
    }
    Ok(())
}
