//! Failover drill reports: `beredd drill` records each one here (`POST /api/v1/drills`), so the
//! ops page of every node lists them and any node prints one as a PDF for the binder; and a drill
//! started from this node (`POST /api/v1/drills/run`, what the `/ops` form does) and how it goes
//! (`GET /api/v1/drills/run`). Ops staff and admins only.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use documents::drills::all;
use domain::drills::DrillReport;
use domain::{Command, CommandId, StateViewExt};
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, write};
use crate::auth::Actor;
use crate::backend::{Backend, DrillMode};
use crate::error::Error;
use crate::submit::{Carried, start_drill};

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/drills", post(record).get(list))
        .route("/api/v1/drills/run", get(run_status).post(run))
        .route("/api/v1/drills/{id}", get(one))
        .route("/api/v1/drills/{id}/report.pdf", get(pdf))
}

fn may_read(actor: &Actor) -> Result<(), Error> {
    super::common::ops_or_admin(actor, "access.forbidden", "drill reports are for ops staff and admins")
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

/// A drill to start: its mode (`{"mode": "transfer", "to": 2}`, `{"mode": "kill"}` or
/// `{"mode": "isolate", "seconds": 10}`) and how long to write after the fault.
#[derive(serde::Deserialize)]
struct RunBody {
    mode: String,
    to: Option<u64>,
    /// For `isolate`: how long the leader is cut off.
    isolate_seconds: Option<u64>,
    seconds: Option<u64>,
}

/// The mode a form or a body names, and the seconds of writing, checked.
pub(crate) fn drill_mode(
    mode: &str,
    to: Option<u64>,
    isolate: Option<u64>,
    seconds: Option<u64>,
) -> Result<(DrillMode, u64), String> {
    let mode = match mode {
        "transfer" => DrillMode::Transfer { to },
        "kill" => DrillMode::Kill,
        "isolate" => DrillMode::Isolate { seconds: isolate.unwrap_or(10) },
        other => return Err(format!("unknown drill mode {other:?}: transfer, kill or isolate")),
    };
    let seconds = seconds.unwrap_or(8);
    mode.check(seconds)?;
    Ok((mode, seconds))
}

async fn run(State(b): Shared, actor: Actor, Body(body): Body<RunBody>) -> ApiResult {
    may_read(&actor)?;
    let (mode, seconds) = drill_mode(&body.mode, body.to, body.isolate_seconds, body.seconds)
        .map_err(|m| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "drill.invalid", m))?;
    match start_drill(b.as_ref(), &actor.0, mode, seconds, crate::auth::new_token()).await? {
        Carried::Done => Ok((StatusCode::ACCEPTED, Json(json!({ "run": b.drill_run() }))).into_response()),
        Carried::Refused(r) => Err(r.into()),
        Carried::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "drill.not_started", why)),
    }
}

async fn run_status(State(b): Shared, actor: Actor) -> ApiResult {
    may_read(&actor)?;
    Ok(Json(json!({ "run": b.drill_run() })).into_response())
}
