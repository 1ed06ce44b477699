//! `GET /api/v1/offline-copy`: the offline copy as one ZIP (ops and admins: it holds every route
//! of the directory and every unit's open orders), made by this node from its own state, so a
//! node cut off from the majority still makes one (the manifest says how fresh it is).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use domain::Role;
use std::sync::Arc;
use time::OffsetDateTime;

use super::common::{ApiResult, Shared, forbidden};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new().route("/api/v1/offline-copy", get(copy))
}

/// Who may take the copy away on a stick.
pub fn may_take(role: Role) -> bool {
    matches!(role, Role::Ops | Role::Admin)
}

async fn copy(State(b): Shared, actor: Actor) -> ApiResult {
    if !may_take(actor.0.role) {
        return Err(forbidden("offline copies"));
    }
    let now = OffsetDateTime::now_utc();
    let node = b.cluster().node_id;
    // PDFs and workbooks for every open order: CPU work, off the async threads.
    let zip = tokio::task::spawn_blocking(move || {
        let files = crate::offline::build(b.as_ref(), now)?;
        documents::offline::zip(&files).map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)??;
    let name = format!("beredd-offline-node{node}-{}.zip", now.date());
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        zip,
    )
        .into_response())
}
