//! Orders: `/api/v1/orders` (staff see only their units' orders, others' answer 404), their
//! state transitions `/api/v1/orders/{id}/{action}`, and the order and supplier files.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use domain::command::{OrderFields, Received};
use domain::{Command, OrderAction, OrderId, OrderStatus, Record, StateViewExt, Table};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

use super::common::*;
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/orders", get(list_orders).post(create_order))
        .route("/api/v1/orders/{id}", get(get_order).put(update_order))
        .route("/api/v1/orders/{id}/{action}", post(order_action))
        .route("/api/v1/orders/{id}/export", get(super::downloads::order))
        .route("/api/v1/suppliers/{id}/export", get(super::downloads::supplier))
        .route("/binder.pdf", get(super::downloads::binder))
}

async fn list_orders(State(b): Shared, actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    if !domain::access::may_list_orders(&actor.0) {
        return Err(forbidden("orders"));
    }
    barrier(&b, q.consistency.as_deref()).await?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| Error::bad_request(format!("unknown status {s:?}")))?),
    };
    let unit = q.unit_id.clone();
    page(&b, Table::Order, &q, |r| match r {
        Record::Order(o)
            if unit.as_deref().is_none_or(|u| o.unit_id.as_str() == u)
                && status.is_none_or(|s| o.status == s)
                && domain::access::may_see_order(&actor.0, &o) =>
        {
            to_json(&o)
        }
        _ => None,
    })
}

async fn get_order(State(b): Shared, actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    // An order the user may not see is reported as missing, not as forbidden.
    found("order", &id, b.view().order(OrderId::new(&id))?.filter(|o| domain::access::may_see_order(&actor.0, o)))
}

async fn create_order(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "order", Command::CreateOrder).await
}

async fn update_order(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |expected_version, fields: OrderFields| Command::UpdateOrder {
        expected_version,
        fields,
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    version: Option<u64>,
    reason: Option<String>,
    lines: Option<Vec<Received>>,
}

async fn order_action(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    // The body is optional: most actions need nothing but the order id.
    let a: ActionBody = optional_body(&body)?;
    let reason = || a.reason.clone().unwrap_or_default();
    let action = match action.as_str() {
        "submit" => OrderAction::Submit,
        "approve" => OrderAction::Approve,
        "reject" => OrderAction::Reject { reason: reason() },
        "send" => OrderAction::Send,
        "confirm" => OrderAction::Confirm,
        "receive" => OrderAction::Receive { lines: a.lines.clone().unwrap_or_default() },
        "cancel" => OrderAction::Cancel { reason: reason() },
        other => {
            return Err(Error::new(StatusCode::NOT_FOUND, "route.not_found", format!("no order action {other:?}")));
        }
    };
    let cmd = Command::Transition { order_id: OrderId::new(id), expected_version: a.version, action };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}
