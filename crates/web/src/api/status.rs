//! `/api/v1/status`: the board as JSON (public, like the status page) and the JSON twins of
//! every action on the status pages. Writes need a communicator or an admin.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::command::{IncidentFields, IncidentUpdateFields, MaintenanceFields, ReadinessFields, SystemFields};
use domain::state::StateViewExt;
use domain::status::SystemState;
use domain::{Command, IncidentId, MaintenanceId, SystemId};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, create, update, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use documents::status::Board;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/status", get(board))
        .route("/api/v1/status/systems", post(create_system))
        .route("/api/v1/status/systems/{id}", put(update_system))
        .route("/api/v1/status/systems/{id}/state", post(set_state))
        .route("/api/v1/status/incidents", post(open_incident))
        .route("/api/v1/status/incidents/{id}", get(get_incident))
        .route("/api/v1/status/incidents/{id}/updates", post(post_update))
        .route("/api/v1/status/maintenance", post(schedule))
        .route("/api/v1/status/maintenance/{id}/advance", post(advance))
        .route("/api/v1/status/maintenance/{id}/cancel", post(cancel))
        .route("/api/v1/status/readiness", put(set_readiness))
}

/// The whole board from this node's state; no login needed (it is the status page's twin).
async fn board(State(b): Shared) -> ApiResult {
    let board = Board::build(b.view().as_ref(), time::OffsetDateTime::now_utc())?;
    Ok(Json(board).into_response())
}

async fn get_incident(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    match b.view().incident(IncidentId::new(&id))? {
        Some(i) => Ok(Json(i).into_response()),
        None => Err(Error::new(StatusCode::NOT_FOUND, "incident.not_found", format!("incident {id} not found"))),
    }
}

async fn create_system(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "system", |fields: SystemFields| Command::PutSystem { expected_version: None, fields })
        .await
}

async fn update_system(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |version, fields: SystemFields| Command::PutSystem {
        expected_version: Some(version),
        fields,
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: SystemState,
    #[serde(default)]
    note: String,
}

async fn set_state(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(s): Body<StateBody>,
) -> ApiResult {
    let cmd = Command::SetSystemState { system_id: SystemId::new(id), state: s.state, note: s.note };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn open_incident(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "incident", |fields: IncidentFields| Command::OpenIncident(fields)).await
}

async fn post_update(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(u): Body<IncidentUpdateFields>,
) -> ApiResult {
    let cmd = Command::PostIncidentUpdate { incident_id: IncidentId::new(id), update: u };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn schedule(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "maintenance", |fields: MaintenanceFields| Command::ScheduleMaintenance(fields)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    version: u64,
    #[serde(default)]
    note: String,
}

async fn advance(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(a): Body<AdvanceBody>,
) -> ApiResult {
    let cmd = Command::AdvanceMaintenance {
        maintenance_id: MaintenanceId::new(id),
        expected_version: a.version,
        note: a.note,
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    reason: String,
}

async fn cancel(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(c): Body<CancelBody>,
) -> ApiResult {
    let cmd = Command::CancelMaintenance { maintenance_id: MaintenanceId::new(id), reason: c.reason };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn set_readiness(State(b): Shared, actor: Actor, h: HeaderMap, Body(f): Body<ReadinessFields>) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::SetReadiness(f), StatusCode::OK).await
}
