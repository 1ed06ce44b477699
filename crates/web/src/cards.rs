//! Action cards as readers see them, from this node's state: every card, the ones that apply
//! now (linked to a system that is not operational), and `/api/v1/cards` with its write twins.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use domain::cards::ActionCard;
use domain::command::CardFields;
use domain::status::System;
use domain::{CardId, Command, Record, StateError, StateView, Table};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{self, ApiResult, Body, Shared};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::ApiError;
use crate::read_model::scan_all;

/// Every card (withdrawn ones left out) and every system, by id.
pub struct Cards {
    pub cards: Vec<ActionCard>,
    pub systems: BTreeMap<String, System>,
}

impl Cards {
    pub fn load(view: &dyn StateView) -> Result<Cards, StateError> {
        let mut cards: Vec<ActionCard> = scan_all(view, Table::Card)?
            .into_iter()
            .filter_map(|r| if let Record::Card(c) = r { Some(c) } else { None })
            .filter(|c| !c.withdrawn)
            .collect();
        cards.sort_by_key(|c| (c.category, c.text.title.to_lowercase()));
        let systems = scan_all(view, Table::System)?
            .into_iter()
            .filter_map(|r| if let Record::System(s) = r { Some((s.id.to_string(), s)) } else { None })
            .collect();
        Ok(Cards { cards, systems })
    }

    /// The linked systems that are not operational.
    pub fn down_systems(&self, c: &ActionCard) -> Vec<&System> {
        c.systems.iter().filter_map(|id| self.systems.get(id.as_str())).filter(|s| s.state.is_down()).collect()
    }

    /// Cards that apply now: one of their systems is not operational.
    pub fn now(&self) -> Vec<&ActionCard> {
        self.cards.iter().filter(|c| !self.down_systems(c).is_empty()).collect()
    }

    pub fn get(&self, id: &str) -> Option<&ActionCard> {
        self.cards.iter().find(|c| c.id.as_str() == id)
    }

    pub fn system_name(&self, id: &domain::SystemId) -> String {
        self.systems.get(id.as_str()).map_or_else(|| id.to_string(), |s| s.name.clone())
    }
}

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
    match b.view().card(&CardId::new(&id))? {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "card.not_found", format!("card {id} not found"))),
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
