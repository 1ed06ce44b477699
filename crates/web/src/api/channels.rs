//! `GET/PUT /api/v1/suppliers/{id}/channel`: how a supplier receives orders (e-mail with files,
//! a signed webhook, or manual). A webhook's secret is written, never read back: answers say
//! only whether one is set.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use domain::channels::Channel;
use domain::{Command, StateViewExt, SupplierId};
use serde::Deserialize;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, write};
use super::views::channel_shown;
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new().route("/api/v1/suppliers/{id}/channel", get(one).put(set))
}

async fn one(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    if !domain::access::may_see_channels(&actor.0) {
        return Err(Error::new(StatusCode::FORBIDDEN, "channel.forbidden", "only purchasers see suppliers' channels"));
    }
    let id = SupplierId::new(&id);
    match b.view().channel(&id)? {
        Some(c) => Ok(Json(channel_shown(&c)).into_response()),
        None => Err(Error::new(
            StatusCode::NOT_FOUND,
            "channel.not_found",
            format!("supplier {id} has no ordering channel yet"),
        )),
    }
}

#[derive(Deserialize)]
struct ChannelBody {
    /// The version replaced; absent the first time.
    #[serde(default)]
    version: Option<u64>,
    channel: Channel,
}

async fn set(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<ChannelBody>,
) -> ApiResult {
    let cmd = Command::SetChannel {
        supplier_id: SupplierId::new(&id),
        expected_version: body.version,
        channel: body.channel,
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}
