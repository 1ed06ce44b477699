//! Break-glass recovery on this node, for ops staff and admins: `GET /api/v1/cluster/break-glass`
//! (how long without a majority, when a new cluster may be forced, a waiting confirmation, the
//! last one forced here), `POST …/confirm` (this account's confirmation: the first waits for a
//! second, different account; the second makes the node force a new cluster on itself and
//! restart) and `POST …/withdraw`. What the `/ops` page's forms do.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Shared};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/cluster/break-glass", get(state))
        .route("/api/v1/cluster/break-glass/confirm", post(confirm))
        .route("/api/v1/cluster/break-glass/withdraw", post(withdraw))
}

fn ops_only(actor: &Actor) -> Result<(), Error> {
    super::common::ops_or_admin(actor, "cluster.forbidden", "break-glass recovery is for ops staff and admins")
}

/// The state as JSON: `available` false where this node cannot force a new cluster itself.
fn state_json(b: &Arc<dyn Backend>) -> Result<serde_json::Value, Error> {
    let node = b.cluster().node_id;
    Ok(match b.break_glass() {
        Some(g) => {
            let mut v = serde_json::to_value(&g).map_err(Error::internal)?;
            v["available"] = json!(true);
            v["allowed"] = json!(g.allowed());
            v["node_id"] = json!(node);
            v
        }
        None => json!({ "available": false, "node_id": node }),
    })
}

fn refused(why: String) -> Error {
    Error::new(StatusCode::CONFLICT, "cluster.break_glass_refused", why)
}

async fn state(State(b): Shared, actor: Actor) -> ApiResult {
    ops_only(&actor)?;
    Ok(Json(state_json(&b)?).into_response())
}

async fn confirm(State(b): Shared, actor: Actor) -> ApiResult {
    ops_only(&actor)?;
    let step = b.confirm_break_glass(actor.0.id.as_str()).map_err(refused)?;
    let mut v = state_json(&b)?;
    v["step"] = serde_json::to_value(step).map_err(Error::internal)?;
    Ok(Json(v).into_response())
}

async fn withdraw(State(b): Shared, actor: Actor) -> ApiResult {
    ops_only(&actor)?;
    b.withdraw_break_glass(actor.0.id.as_str()).map_err(refused)?;
    Ok(Json(state_json(&b)?).into_response())
}
