//! Status subscribers over the API (communicators and admins): `GET/POST /api/v1/subscribers`,
//! `GET/PUT/DELETE /api/v1/subscribers/{id}`; and, for anyone holding a subscriber's token, the
//! unsubscribe call `POST /api/v1/subscribers/{id}/unsubscribe`. Answers never carry the token
//! or a webhook secret.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use documents::subscribers::all;
use domain::subscribers::{Subscriber, SubscriberFields};
use domain::{Command, CommandId, Role, StateViewExt};
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
        .route("/api/v1/subscribers", get(list).post(create))
        .route("/api/v1/subscribers/{id}", get(one).put(update).delete(remove))
        .route("/api/v1/subscribers/{id}/unsubscribe", post(unsubscribe))
}

/// A fresh secret for an unsubscribe link: 32 random bytes, hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn may_manage(actor: &Actor) -> Result<(), Error> {
    if matches!(actor.0.role, Role::Communicator | Role::Admin) {
        Ok(())
    } else {
        Err(Error::new(StatusCode::FORBIDDEN, "subscriber.forbidden", "only communicators and admins see subscribers"))
    }
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    may_manage(&actor)?;
    let items: Vec<Subscriber> = all(b.view().as_ref())?.iter().map(Subscriber::redacted).collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    may_manage(&actor)?;
    let s = b.view().subscriber(&id)?.ok_or_else(|| Error::not_found("subscriber", &id))?;
    Ok(Json(s.redacted()).into_response())
}

#[derive(Deserialize)]
struct NewSubscriber {
    #[serde(default)]
    id: Option<String>,
    #[serde(flatten)]
    fields: Fields,
}

/// The fields without the id (which the path or the server gives).
#[derive(Deserialize)]
struct Fields {
    name: String,
    target: domain::subscribers::Target,
    #[serde(default)]
    sites: Vec<String>,
    #[serde(default)]
    systems: Vec<domain::SystemId>,
    #[serde(default)]
    lang: Option<String>,
}

impl Fields {
    fn with_id(self, id: String) -> SubscriberFields {
        SubscriberFields {
            id: id.into(),
            name: self.name,
            target: self.target,
            sites: self.sites,
            systems: self.systems,
            lang: self.lang.unwrap_or_else(|| "sv".into()),
        }
    }
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(n): Body<NewSubscriber>) -> ApiResult {
    let id = n.id.unwrap_or_else(new_id);
    let cmd =
        Command::PutSubscriber { expected_version: None, fields: n.fields.with_id(id.clone()), token: new_token() };
    write(&b, &actor, &h, command_id(&h, Some(format!("subscriber:{id}")))?, cmd, StatusCode::CREATED).await
}

#[derive(Deserialize)]
struct Edit {
    version: u64,
    #[serde(flatten)]
    fields: Fields,
}

async fn update(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(e): Body<Edit>,
) -> ApiResult {
    let cmd =
        Command::PutSubscriber { expected_version: Some(e.version), fields: e.fields.with_id(id), token: new_token() };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn remove(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let r = write(
        &b,
        &actor,
        &h,
        command_id(&h, None)?,
        Command::RemoveSubscriber { subscriber_id: id.into() },
        StatusCode::OK,
    )
    .await?;
    Ok(if r.status().is_success() { StatusCode::NO_CONTENT.into_response() } else { r })
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// Removes the subscriber named by the link; the token is the permission, no login needed.
pub async fn unsubscribe_with(b: &Arc<dyn Backend>, id: &str, token: &str) -> Result<(), Error> {
    let cmd = Command::Unsubscribe { subscriber_id: id.into(), token: token.to_owned() };
    // A fresh id: a wrong token tried first must not stand for the right one later.
    let id = CommandId::new(format!("unsubscribe:{}", new_id()));
    match submit(b.as_ref(), None, id, cmd, false).await? {
        Submission::Refused(refusal) => Err(refusal.into()),
        Submission::Saved { .. } | Submission::Queued(_) => Ok(()),
    }
}

async fn unsubscribe(State(b): Shared, Path(id): Path<String>, Body(t): Body<TokenBody>) -> ApiResult {
    unsubscribe_with(&b, &id, &t.token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
