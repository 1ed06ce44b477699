//! Exercises over the API: `GET /api/v1/exercises` (every exercise, for anyone signed in),
//! `POST` (the crisis staff, ops and admins plan one), `GET|PUT /api/v1/exercises/{id}`,
//! `POST /api/v1/exercises/{id}/end`, `…/clear` (delete what was made in it, once it is over)
//! and `…/drills` (attach a failover drill report: `{"drill_id": …}`). Records are made in an
//! exercise by naming it in their own body (`"exercise": "<id>"`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::exercises::ExerciseFields;
use domain::{Command, ExerciseId, StateViewExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, create, update, write};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/exercises", get(list).post(create_exercise))
        .route("/api/v1/exercises/{id}", get(one).put(update_exercise))
        .route("/api/v1/exercises/{id}/end", post(end))
        .route("/api/v1/exercises/{id}/clear", post(clear))
        .route("/api/v1/exercises/{id}/drills", post(attach))
}

async fn list(State(b): Shared, _actor: Actor) -> ApiResult {
    let items = documents::exercises::all(b.view().as_ref())?;
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    let x = b.view().exercise(ExerciseId::new(id.as_str()))?.ok_or_else(|| Error::not_found("exercise", &id))?;
    Ok(Json(x).into_response())
}

async fn create_exercise(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "exercise", |fields: ExerciseFields| Command::PutExercise {
        expected_version: None,
        fields,
    })
    .await
}

async fn update_exercise(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |version, fields: ExerciseFields| Command::PutExercise {
        expected_version: Some(version),
        fields,
    })
    .await
}

async fn end(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let cmd = Command::EndExercise { exercise_id: id.as_str().into() };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn clear(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let cmd = Command::ClearExercise { exercise_id: id.as_str().into() };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachBody {
    drill_id: String,
}

async fn attach(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(a): Body<AttachBody>,
) -> ApiResult {
    let cmd = Command::AttachDrill { exercise_id: id.as_str().into(), drill_id: a.drill_id.as_str().into() };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}
