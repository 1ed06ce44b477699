//! The cluster's members, for ops staff and admins: `GET /api/v1/cluster/members` (each member
//! as this node sees it now, with its history) and `POST /api/v1/cluster/members/{id}/{change}`
//! (`promote`, `remove`, `transfer_leader`): recorded with who asked, then carried out by the
//! leader. The `/ops` page's forms submit the same.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::StateViewExt;
use domain::nodes::{MemberChange, NodeEvent};
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Shared, command_id};
use crate::auth::Actor;
use crate::backend::{Backend, MemberState};
use crate::error::Error;
use crate::submit::{Carried, change_member};

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/cluster/members", get(list))
        .route("/api/v1/cluster/members/{id}/{change}", post(change))
}

fn ops_only(actor: &Actor) -> Result<(), Error> {
    super::common::ops_or_admin(actor, "node.forbidden", "the cluster's members are for ops staff and admins")
}

/// Each member with what the node directory remembers of it.
async fn members_json(b: &Arc<dyn Backend>) -> Result<serde_json::Value, Error> {
    let members = b.members().await;
    let view = b.view();
    let mut items = Vec::with_capacity(members.len());
    for m in members {
        let history: Vec<NodeEvent> = view.node(m.id)?.map(|n| n.history).unwrap_or_default();
        let mut v = serde_json::to_value::<&MemberState>(&m).map_err(Error::internal)?;
        v["history"] = serde_json::to_value(history).map_err(Error::internal)?;
        items.push(v);
    }
    Ok(json!({ "items": items, "next": null }))
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    ops_only(&actor)?;
    Ok(Json(members_json(&b).await?).into_response())
}

async fn change(State(b): Shared, actor: Actor, h: HeaderMap, Path((id, change)): Path<(String, String)>) -> ApiResult {
    let not_found = || Error::new(StatusCode::NOT_FOUND, "node.not_found", format!("no such change: {id}/{change}"));
    let node: u64 = id.parse().map_err(|_| not_found())?;
    let what = MemberChange::parse(&change).ok_or_else(not_found)?;
    let cmd_id = command_id(&h, None)?;
    match change_member(b.as_ref(), &actor.0, cmd_id, node, what).await? {
        Carried::Done => Ok(Json(members_json(&b).await?).into_response()),
        Carried::Refused(r) => Err(r.into()),
        Carried::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "node.change_failed", why)),
    }
}
