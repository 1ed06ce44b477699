//! Failover drill reports: `beredd drill` records each one here (`POST /api/v1/drills`), so the
//! ops page of every node lists them and any node prints one as a PDF for the binder. Ops staff
//! and admins only.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use documents::drills::all;
use domain::drills::DrillReport;
use domain::{Command, CommandId, Role, StateViewExt};
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/drills", post(record).get(list))
        .route("/api/v1/drills/{id}", get(one))
        .route("/api/v1/drills/{id}/report.pdf", get(pdf))
}

fn may_read(actor: &Actor) -> Result<(), Error> {
    if matches!(actor.0.role, Role::Ops | Role::Admin) {
        Ok(())
    } else {
        Err(Error::new(StatusCode::FORBIDDEN, "access.forbidden", "drill reports are for ops staff and admins"))
    }
}

async fn record(State(b): Shared, actor: Actor, h: HeaderMap, Body(report): Body<DrillReport>) -> ApiResult {
    let id = CommandId::new(format!("drill:{}", report.id));
    write(&b, &actor, &h, id, Command::RecordDrill(report), StatusCode::CREATED).await
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    may_read(&actor)?;
    let items = all(b.view().as_ref())?;
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

fn find(b: &Arc<dyn Backend>, id: &str) -> Result<DrillReport, Error> {
    b.view()
        .drill(id)?
        .ok_or_else(|| Error::new(StatusCode::NOT_FOUND, "drill.not_found", format!("no drill report {id:?}")))
}

async fn one(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    may_read(&actor)?;
    Ok(Json(find(&b, &id)?).into_response())
}

async fn pdf(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    may_read(&actor)?;
    let r = find(&b, &id)?;
    let lang = crate::lang::of_request(&h);
    let node = b.cluster().node_id;
    let bytes = documents::export::drills::write(&r, lang, node).map_err(Error::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.pdf\"", r.id)),
        ],
        bytes,
    )
        .into_response())
}
