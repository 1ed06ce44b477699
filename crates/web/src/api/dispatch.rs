//! Dispatch jobs over the API: `POST /api/v1/dispatch` sends approved orders to a supplier
//! through its channel (a job the leader delivers); `GET /api/v1/dispatch[/{id}]` shows jobs
//! with every attempt; `POST /api/v1/dispatch/{id}/retry|cancel|manual`; a job's files, made by
//! `documents::dispatch` as the node's deliverer sends them.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::dispatch::DispatchJob;
use domain::{Command, OrderId, StateViewExt, SupplierId};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use super::common::{ApiResult, Body, Shared, command_id, new_id, optional_body, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use documents::dispatch::{Format, all, file};

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/dispatch", get(list).post(create))
        .route("/api/v1/dispatch/{id}", get(one))
        .route("/api/v1/dispatch/{id}/{action}", post(act))
        .route("/api/v1/dispatch/{id}/files/{format}", get(download))
}

#[derive(Deserialize)]
struct NewJob {
    #[serde(default)]
    id: Option<String>,
    supplier_id: SupplierId,
    order_ids: Vec<OrderId>,
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(j): Body<NewJob>) -> ApiResult {
    let job_id = j.id.unwrap_or_else(new_id);
    let cmd = Command::Dispatch { job_id: job_id.clone().into(), supplier_id: j.supplier_id, order_ids: j.order_ids };
    write(&b, &actor, &h, command_id(&h, Some(format!("dispatch:{job_id}")))?, cmd, StatusCode::CREATED).await
}

fn may_see(actor: &Actor, job: &DispatchJob) -> bool {
    domain::access::may_see_dispatch(&actor.0, job)
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    let items: Vec<DispatchJob> =
        all(b.view().as_ref())?.iter().filter(|j| may_see(&actor, j)).map(DispatchJob::redacted).collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    let job = b.view().dispatch(&id)?.filter(|j| may_see(&actor, j));
    let job = job.ok_or_else(|| Error::not_found("dispatch", &id))?;
    Ok(Json(job.redacted()).into_response())
}

#[derive(Deserialize, Default)]
struct ActBody {
    #[serde(default)]
    how: String,
}

async fn act(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let a: ActBody = optional_body(&body)?;
    let cmd = match action.as_str() {
        "retry" => Command::RetryDispatch { job_id: id.into() },
        "cancel" => Command::CancelDispatch { job_id: id.into() },
        "manual" => Command::RecordManualSend { job_id: id.into(), how: a.how },
        other => {
            return Err(Error::new(StatusCode::NOT_FOUND, "route.not_found", format!("no dispatch action {other:?}")));
        }
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

/// `GET /api/v1/dispatch/{id}/files/{pdf|csv|xlsx|ubl|json}`: a job's file, to check what
/// goes out or to send it by hand (also from a node without a majority).
async fn download(State(b): Shared, actor: Actor, Path((id, format)): Path<(String, String)>) -> ApiResult {
    let view = b.view();
    let job = view.dispatch(&id)?.filter(|j| may_see(&actor, j));
    let job = job.ok_or_else(|| Error::not_found("dispatch", &id))?;
    let Some(format) = Format::parse(&format) else {
        return Err(Error::new(
            StatusCode::NOT_FOUND,
            "route.not_found",
            format!("no file format {format:?} (pdf, csv, xlsx, ubl or json)"),
        ));
    };
    let f = file(view.as_ref(), &job, format, b.cluster().node_id, OffsetDateTime::now_utc())
        .map_err(|e| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "dispatch.file_unavailable", e))?;
    let disposition = format!("attachment; filename=\"{}\"", f.name);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, f.content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        f.bytes,
    )
        .into_response())
}
