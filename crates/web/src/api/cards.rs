//! `/api/v1/cards` and its write twins; the cards that apply now come from `documents::cards`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use documents::cards::Cards;
use domain::command::CardFields;
use domain::{CardId, Command};
use serde_json::{Value, json};
use std::sync::Arc;

use super::common::{self as api, ApiResult, Body, Shared};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new().route("/api/v1/cards", get(list).post(create)).route("/api/v1/cards/{id}", get(one).put(update))
}

async fn list(State(b): Shared, _actor: Actor) -> ApiResult {
    let c = Cards::load(b.view().as_ref())?;
    let now: Vec<&str> = c.now().iter().map(|x| x.id.as_str()).collect();
    Ok(Json(json!({ "items": c.cards, "now": now })).into_response())
}

async fn one(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    use domain::state::StateViewExt;
    match b.view().card(CardId::new(&id))? {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(Error::new(StatusCode::NOT_FOUND, "card.not_found", format!("card {id} not found"))),
    }
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    api::create(&b, &actor, &h, v, "card", |fields: CardFields| Command::PutCard { expected_version: None, fields })
        .await
}

async fn update(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    api::update(&b, &actor, &h, id, v, |version, fields: CardFields| Command::PutCard {
        expected_version: Some(version),
        fields,
    })
    .await
}
