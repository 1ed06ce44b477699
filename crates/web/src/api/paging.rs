//! Paging the on-call over the API: `GET/POST /api/v1/pages` (anyone logged in sees and raises
//! pages), `GET /api/v1/pages/{id}` (the page with its chain and timeline),
//! `POST /api/v1/pages/{id}/cancel` (whoever raised it, communicators, ops and admins), and,
//! for anyone holding the link from a page's message, `POST /api/v1/pages/{id}/acknowledge`.
//! Answers never carry the link's token.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::paging::{Ack, Page, PageFields};
use domain::{Command, CommandId, StateViewExt};
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, new_id, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use crate::submit::{Submission, submit};

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/pages", get(list).post(create))
        .route("/api/v1/pages/{id}", get(one))
        .route("/api/v1/pages/{id}/cancel", post(cancel))
        .route("/api/v1/pages/{id}/acknowledge", post(acknowledge))
}

/// A fresh secret for a page's acknowledgement links: 16 random bytes, hex (short enough for a
/// text message).
pub fn new_token() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A fresh page id: short, because it is part of the link in a text message.
pub fn new_page_id() -> String {
    let mut b = [0u8; 6];
    OsRng.fill_bytes(&mut b);
    format!("pg-{}", hex::encode(b))
}

async fn list(State(b): Shared, _actor: Actor) -> ApiResult {
    let items: Vec<Page> = documents::paging::all(b.view().as_ref())?.iter().map(Page::redacted).collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    let p = b.view().page(domain::PageId::new(id.as_str()))?.ok_or_else(|| Error::not_found("page", &id))?;
    Ok(Json(p.redacted()).into_response())
}

#[derive(Deserialize)]
struct NewPage {
    #[serde(default)]
    id: Option<String>,
    rota_id: String,
    message: String,
    #[serde(default)]
    incident_id: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    exercise: Option<String>,
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(n): Body<NewPage>) -> ApiResult {
    let id = n.id.unwrap_or_else(new_page_id);
    let fields = PageFields {
        id: id.as_str().into(),
        rota_id: n.rota_id.into(),
        message: n.message,
        incident_id: n.incident_id.map(Into::into),
        lang: n.lang.unwrap_or_else(|| "sv".into()),
        exercise: n.exercise.map(Into::into),
    };
    let cmd = Command::PageOnCall { fields, token: new_token() };
    write(&b, &actor, &h, command_id(&h, Some(format!("page:{id}")))?, cmd, StatusCode::CREATED).await
}

#[derive(Deserialize)]
struct CancelBody {
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(c): Body<CancelBody>,
) -> ApiResult {
    let cmd = Command::CancelPage { page_id: id.into(), reason: c.reason };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AckBody {
    step: usize,
    token: String,
}

/// Acknowledges a page through the link in step `step`'s message; no login needed, the token
/// is the permission.
pub async fn acknowledge_with(b: &Arc<dyn Backend>, id: &str, step: usize, token: &str) -> Result<(), Error> {
    let cmd = Command::AcknowledgePage { page_id: id.into(), ack: Ack::Link { step, token: token.to_owned() } };
    // A fresh id: a wrong token tried first must not stand for the right one later.
    let id = CommandId::new(format!("page.ack:{}", new_id()));
    match submit(b.as_ref(), None, id, cmd, false).await? {
        Submission::Refused(refusal) => Err(refusal.into()),
        Submission::Saved { .. } | Submission::Queued(_) => Ok(()),
    }
}

async fn acknowledge(State(b): Shared, Path(id): Path<String>, Body(a): Body<AckBody>) -> ApiResult {
    acknowledge_with(&b, &id, a.step, &a.token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
