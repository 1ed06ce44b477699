//! What load balancers and monitoring ask, without a login: `/healthz`, `/readyz`, `/metrics`,
//! `/api/v1/cluster`, and the OpenAPI document.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::common::Shared;
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use domain::Role;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/cluster", get(cluster))
        .route("/api/openapi.json", get(openapi))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(b): Shared) -> Response {
    let c = b.cluster();
    let body = json!({
        "ready": c.initialized,
        "node_id": c.node_id,
        "role": c.role,
        "leader_id": c.leader_id,
        "quorum": c.quorum,
        "last_applied_index": c.last_applied_index,
    });
    let status = if c.initialized { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn metrics(State(b): Shared) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], b.metrics()).into_response()
}

#[derive(Deserialize, Default)]
struct ClusterQuery {
    digest: Option<bool>,
}

/// One state digest at a time on this node: it reads every record.
static DIGESTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The cluster as this node sees it, for anyone. With `?digest=true` (ops and admins only) also
/// a digest of the whole applied state, made on a blocking thread.
async fn cluster(
    State(b): Shared,
    actor: Result<Actor, Error>,
    Query(q): Query<ClusterQuery>,
) -> Result<Json<crate::ClusterStatus>, Error> {
    let mut status = b.cluster();
    let ops = actor.as_ref().is_ok_and(|a| matches!(a.0.role, Role::Ops | Role::Admin));
    if !ops {
        // What software a node runs and how full its disk is are for ops staff, not everyone.
        (status.version, status.disk_free_bytes) = (None, None);
    }
    if q.digest == Some(true) {
        if !matches!(actor?.0.role, Role::Ops | Role::Admin) {
            return Err(super::common::forbidden("state digests"));
        }
        let _one = DIGESTING
            .acquire()
            .await
            .map_err(|e| Error::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string()))?;
        let backend = b.clone();
        let (applied_index, sha256) =
            tokio::task::spawn_blocking(move || backend.state_digest()).await.map_err(Error::internal)??;
        status.state_digest = Some(crate::StateDigest { applied_index, sha256 });
    }
    Ok(Json(status))
}

/// The OpenAPI document of this API (kept beside this file; a test checks it names every route).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
