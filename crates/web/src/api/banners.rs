//! Banners set by hand over the API: `GET /api/v1/banners` (every banner, for anyone signed
//! in), `POST` (communicators and admins set one), `PUT /api/v1/banners/{id}` (change it, with
//! its version), `POST /api/v1/banners/{id}/end` (end it now).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::Command;
use domain::banners::BannerFields;
use serde_json::{Value, json};
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, create, update, write};
use crate::auth::Actor;
use crate::backend::Backend;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/banners", get(list).post(create_banner))
        .route("/api/v1/banners/{id}", put(update_banner))
        .route("/api/v1/banners/{id}/end", post(end))
}

async fn list(State(b): Shared, _actor: Actor) -> ApiResult {
    let items = documents::status::all_banners(b.view().as_ref())?;
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn create_banner(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "banner", |fields: BannerFields| Command::PutBanner { expected_version: None, fields })
        .await
}

async fn update_banner(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |version, fields: BannerFields| Command::PutBanner {
        expected_version: Some(version),
        fields,
    })
    .await
}

async fn end(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let cmd = Command::EndBanner { banner_id: id.as_str().into() };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}
