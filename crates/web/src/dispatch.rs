//! Dispatch jobs over the API: `POST /api/v1/dispatch` sends approved orders to a supplier
//! through its channel (a job the leader delivers); `GET /api/v1/dispatch[/{id}]` shows jobs
//! with every attempt; `POST /api/v1/dispatch/{id}/retry|cancel|manual`. Also the files a job
//! carries ([`files`]): made here, where the exports live, and called by the node's deliverer.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::channel::{Attachment, Channel, WebhookBody};
use domain::dispatch::DispatchJob;
use domain::{Command, OrderId, Record, StateView, StateViewExt, SupplierId, Table};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::api::{ApiResult, Body, Shared, command_id, new_id, optional_body, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::ApiError;
use crate::export::{self, Batch};
use crate::i18n::Lang;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/dispatch", get(list).post(create))
        .route("/api/v1/dispatch/{id}", get(one))
        .route("/api/v1/dispatch/{id}/{action}", post(act))
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
    let cmd = Command::Dispatch { job_id: job_id.clone(), supplier_id: j.supplier_id, order_ids: j.order_ids };
    write(&b, &actor, &h, command_id(&h, Some(format!("dispatch:{job_id}")))?, cmd, StatusCode::CREATED).await
}

/// Every job, newest first, without webhook secrets.
pub fn all(view: &dyn StateView) -> Result<Vec<DispatchJob>, domain::StateError> {
    let mut jobs: Vec<DispatchJob> = crate::read_model::scan_all(view, Table::Dispatch)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Dispatch(j) => Some(j),
            _ => None,
        })
        .collect();
    jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(jobs)
}

async fn list(State(b): Shared, _actor: Actor) -> ApiResult {
    let items: Vec<DispatchJob> = all(b.view().as_ref())?.iter().map(DispatchJob::redacted).collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    let job = b.view().dispatch(&id)?.ok_or_else(|| ApiError::not_found("dispatch", &id))?;
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
        "retry" => Command::RetryDispatch { job_id: id },
        "cancel" => Command::CancelDispatch { job_id: id },
        "manual" => Command::RecordManualSend { job_id: id, how: a.how },
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "route.not_found",
                format!("no dispatch action {other:?}"),
            ));
        }
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

/// A file a job sends.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The files of `job` as its channel wants them (attachments of an e-mail, or a webhook's one
/// body), made by node `node_id` at `now`. Supplier files are in Swedish.
pub fn files(view: &dyn StateView, job: &DispatchJob, node_id: u64, now: OffsetDateTime) -> Result<Vec<File>, String> {
    let lang = Lang::Sv;
    let mut docs = Vec::new();
    let mut orders = Vec::new();
    for id in &job.order_ids {
        let o = view.order(id).map_err(|e| e.to_string())?.ok_or_else(|| format!("order {id} is gone"))?;
        orders.push(o.clone());
        docs.push(export::order_doc(view, o, Some(&job.supplier_id)).map_err(|e| e.to_string())?);
    }
    let batch = Batch { orders: docs, node_id, made_at: now, unconfirmed_since: None, queued_since: None };
    let buyer = view.organisation().map_err(|e| e.to_string())?;
    let stem = format!("order-{}", job.id);
    let ubl = || match export::ubl::write(&batch, buyer.as_ref(), lang) {
        Ok((bytes, false)) => Ok(File { name: format!("{stem}.xml"), content_type: "application/xml", bytes }),
        Ok((bytes, true)) => Ok(File { name: format!("{stem}.zip"), content_type: "application/zip", bytes }),
        Err(export::ubl::UblError::Incomplete(problems)) => {
            let list: Vec<String> = problems.iter().map(|p| p.text(lang)).collect();
            Err(format!("{} {}", lang.t("peppol.cannot"), list.join(" ")))
        }
        Err(e) => Err(e.to_string()),
    };
    match &job.channel {
        Channel::Webhook { body: WebhookBody::Ubl, .. } => Ok(vec![ubl()?]),
        Channel::Webhook { body: WebhookBody::Json, .. } => {
            let body = json!({ "job_id": job.id, "message_id": job.message_id(), "supplier_id": job.supplier_id, "orders": orders });
            Ok(vec![File {
                name: format!("{stem}.json"),
                content_type: "application/json",
                bytes: body.to_string().into_bytes(),
            }])
        }
        Channel::Email { attach, .. } => attach
            .iter()
            .map(|a| match a {
                Attachment::Ubl => ubl(),
                Attachment::Pdf => export::pdf::write(&batch, buyer.as_ref(), lang, export::pdf::Layout::PerOrder)
                    .map(|bytes| File { name: format!("{stem}.pdf"), content_type: "application/pdf", bytes })
                    .map_err(|e| e.to_string()),
                Attachment::Csv => export::csv::write(&batch, lang)
                    .map(|bytes| File { name: format!("{stem}.csv"), content_type: "text/csv; charset=utf-8", bytes })
                    .map_err(|e| e.to_string()),
                Attachment::Xlsx => export::xlsx::write(&batch, lang)
                    .map(|bytes| File {
                        name: format!("{stem}.xlsx"),
                        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        bytes,
                    })
                    .map_err(|e| e.to_string()),
            })
            .collect(),
        Channel::Manual { .. } => Ok(Vec::new()),
    }
}
