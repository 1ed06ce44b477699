//! This node's outbox as users see it: what was queued here while no leader was reachable,
//! what became of each (landed, refused, or a conflict a person resolves), and the files of a
//! queued order at once — marked as not confirmed by the cluster. `/api/v1/outbox` and the
//! `/outbox` page share it. The node keeps and forwards the queue; this module only reads it and
//! passes a person's answer on.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{Command, Envelope, Order, Record, Role, User};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared};
use super::downloads::ExportQuery;
use crate::auth::Actor;
use crate::backend::{Backend, Fate, Queued, Resolution};
use crate::error::Error;
use documents::i18n::Lang;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/outbox", get(list))
        .route("/api/v1/outbox/{seq}/resolve", post(resolve))
        .route("/api/v1/outbox/{seq}/export", get(export))
}

/// Whether `user` may see (and answer for) item `q`: their own, and what their role covers.
pub fn may_see(user: &User, q: &Queued, view: &dyn domain::StateView) -> bool {
    if user.role == Role::Admin || q.actor.as_deref() == Some(user.id.as_str()) {
        return true;
    }
    match &q.cmd {
        Command::CreateOrder(f) | Command::UpdateOrder { fields: f, .. } => match user.role {
            Role::Purchaser => true,
            Role::Staff => user.units.contains(&f.unit_id),
            _ => false,
        },
        Command::Transition { order_id, .. } => {
            use domain::StateViewExt;
            matches!(view.order(order_id), Ok(Some(o)) if domain::access::may_see_order(user, &o))
        }
        Command::PostIncidentUpdate { .. } => user.role == Role::Communicator,
        _ => false,
    }
}

/// The items `user` may see, oldest first.
pub fn visible(b: &Arc<dyn Backend>, user: &User) -> Result<Vec<Queued>, Error> {
    let view = b.view();
    Ok(b.outbox()?.into_iter().filter(|q| may_see(user, q, view.as_ref())).collect())
}

/// The order a queued create or edit would make, applied to this node's state as it is now (not
/// saved anywhere); numbered "KÖAD-node-seq" until the cluster gives it its number.
pub fn preview(view: &dyn domain::StateView, q: &Queued, node: u64, lang: Lang) -> Option<Order> {
    use domain::StateViewExt;
    let cmd = match &q.cmd {
        Command::CreateOrder(_) => q.cmd.clone(),
        // Shown on top of the current version, whatever it is now.
        Command::UpdateOrder { fields, .. } => {
            let current = view.order(&fields.id).ok()??;
            Command::UpdateOrder { expected_version: current.version, fields: fields.clone() }
        }
        _ => return None,
    };
    let env = Envelope {
        id: domain::CommandId::new(format!("preview:{}", q.id)),
        at: q.queued_at,
        origin: node,
        actor: q.actor.clone(),
        cmd,
    };
    let (verdict, changes) = domain::apply(view, &env, u64::MAX).ok()?;
    if matches!(verdict, domain::Verdict::Rejected { .. }) {
        return None;
    }
    changes.0.into_iter().find_map(|(_, r)| match r {
        Some(Record::Order(mut o)) => {
            o.number = format!("{}-{node}-{}", lang.t("outbox.number_prefix"), q.seq);
            Some(o)
        }
        _ => None,
    })
}

/// `GET /api/v1/outbox`: the items the caller may see, with their fate.
async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    let items = visible(&b, &actor.0)?;
    let waiting = items.iter().filter(|q| q.fate == Fate::Queued).count();
    Ok(Json(json!({ "node_id": b.cluster().node_id, "waiting": waiting, "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    resolution: Resolution,
}

/// `POST /api/v1/outbox/{seq}/resolve`: keep theirs (drop it), keep mine or merge lines.
async fn resolve(State(b): Shared, actor: Actor, Path(seq): Path<u64>, Body(r): Body<ResolveBody>) -> ApiResult {
    let item = find(&b, &actor.0, seq)?;
    let q = b
        .resolve(item.seq, r.resolution, Some(actor.id()))
        .await
        .map_err(|e| Error::new(StatusCode::CONFLICT, "outbox.cannot_resolve", e.to_string()))?;
    Ok(Json(q).into_response())
}

fn find(b: &Arc<dyn Backend>, user: &User, seq: u64) -> Result<Queued, Error> {
    visible(b, user)?.into_iter().find(|q| q.seq == seq).ok_or_else(|| Error::not_found("outbox", &seq.to_string()))
}

/// `GET /api/v1/outbox/{seq}/export?format=pdf|csv|xlsx`: a queued order's file, marked as
/// not confirmed by the cluster.
async fn export(
    b: Shared,
    actor: Actor,
    Path(seq): Path<u64>,
    Query(q): Query<ExportQuery>,
    h: HeaderMap,
) -> ApiResult {
    let item = find(&b.0, &actor.0, seq)?;
    let lang = crate::api::downloads::language(&q, &h)?;
    let view = b.view();
    let node = b.cluster().node_id;
    let order = preview(view.as_ref(), &item, node, lang).ok_or_else(|| {
        Error::new(StatusCode::UNPROCESSABLE_ENTITY, "outbox.no_file", "only a queued order has files")
    })?;
    let name = format!("order-{}", order.number);
    let doc = documents::export::order_doc(view.as_ref(), order, None)?;
    let mut batch = crate::api::downloads::batch(&b, vec![doc]);
    // Queued means unconfirmed, even after the majority is back and before it lands.
    batch.queued_since = Some(item.queued_at);
    crate::api::downloads::file(&batch, &q, lang, None, &name)
}
