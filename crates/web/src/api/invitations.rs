//! Invitations for new nodes, for ops staff and admins: `GET /api/v1/invitations` (every
//! invitation and what became of it; never a secret), `POST /api/v1/invitations` (a new one:
//! the answer holds the invitation text, shown this once), `POST
//! /api/v1/invitations/{node}/revoke` (an open one can no longer be used; a used one's node
//! certificate is refused by every node and the node removed). And, for anyone,
//! `GET /api/v1/cluster/ca`: the cluster CA a new machine checks against its invitation.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::StateViewExt;
use domain::nodes::invitations::{Invitation, JoinAs};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

use super::common::{ApiResult, Body, Shared, command_id, ops_or_admin};
use super::views::invitation_item as item;
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use crate::submit::{Carried, Invited, create_invitation, revoke_invitation};

/// Hours an invitation stays open unless asked otherwise.
pub const DEFAULT_HOURS: i64 = 1;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/invitations", get(list).post(create))
        .route("/api/v1/invitations/{node}/revoke", post(revoke))
        .route("/api/v1/cluster/ca", get(ca))
}

fn may(actor: &Actor) -> Result<(), Error> {
    ops_or_admin(actor, "invitation.forbidden", "invitations are for ops staff and admins")
}

/// Every invitation, newest node id first.
pub(crate) fn all(b: &dyn Backend) -> Result<Vec<Invitation>, Error> {
    let mut out: Vec<Invitation> = b
        .view()
        .scan(domain::Table::Invitation, None, 10_000)?
        .into_iter()
        .filter_map(|r| match r {
            domain::Record::Invitation(i) => Some(i),
            _ => None,
        })
        .collect();
    out.reverse();
    Ok(out)
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    may(&actor)?;
    let now = OffsetDateTime::now_utc();
    let items: Vec<Value> = all(b.as_ref())?.iter().map(|i| item(i, now)).collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvitation {
    name: String,
    #[serde(default = "voter")]
    join_as: String,
    #[serde(default)]
    hours: Option<i64>,
    /// Instead of `hours`, for a short one.
    #[serde(default)]
    minutes: Option<i64>,
}

fn voter() -> String {
    "voter".into()
}

/// Checks what a person asked for: a role-to-be and how long, 1 minute to a week (`hours` or
/// `minutes`, not both; an hour when neither).
pub(crate) fn parse_request(
    join_as: &str,
    hours: Option<i64>,
    minutes: Option<i64>,
) -> Result<(JoinAs, time::Duration), Error> {
    let bad = |m: &str| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "invitation.invalid", m);
    let join_as = JoinAs::parse(join_as).ok_or_else(|| bad("join_as: voter or learner"))?;
    let minutes = match (hours, minutes) {
        (Some(_), Some(_)) => return Err(bad("give hours or minutes, not both")),
        (Some(h), None) => h.saturating_mul(60),
        (None, Some(m)) => m,
        (None, None) => DEFAULT_HOURS * 60,
    };
    if !(1..=168 * 60).contains(&minutes) {
        return Err(bad("valid for 1 minute to 168 hours (a week)"));
    }
    Ok((join_as, time::Duration::minutes(minutes)))
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<NewInvitation>) -> ApiResult {
    may(&actor)?;
    let (join_as, valid) = parse_request(&v.join_as, v.hours, v.minutes)?;
    let id = command_id(&h, None)?;
    match create_invitation(b.as_ref(), &actor.0, id, &v.name, join_as, valid).await? {
        Invited::Made(token) => {
            let inv = b.view().invitation(token.node)?.ok_or_else(|| Error::internal("invitation not saved"))?;
            let mut body = item(&inv, OffsetDateTime::now_utc());
            body["invitation"] = json!(token.encode());
            body["command"] = json!(token.command());
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Invited::Refused(r) => Err(r.into()),
        Invited::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "invitation.unavailable", why)),
    }
}

async fn revoke(State(b): Shared, actor: Actor, h: HeaderMap, Path(node): Path<String>) -> ApiResult {
    may(&actor)?;
    let node: u64 = node
        .parse()
        .map_err(|_| Error::new(StatusCode::NOT_FOUND, "invitation.not_found", format!("no invitation {node}")))?;
    let id = command_id(&h, None)?;
    let done = revoke_invitation(b.as_ref(), &actor.0, id, node).await?;
    let inv = b.view().invitation(node)?;
    match (done, inv) {
        (Carried::Done, Some(inv)) => Ok(Json(item(&inv, OffsetDateTime::now_utc())).into_response()),
        // Only a command id used before for something else answers "done" without one.
        (Carried::Done, None) => Err(Error::new(
            StatusCode::CONFLICT,
            "request.key_reused",
            "this Idempotency-Key was used before for another request",
        )),
        (Carried::Refused(r), _) => Err(r.into()),
        (Carried::Failed(why), _) => Err(Error::new(StatusCode::CONFLICT, "node.change_failed", why)),
    }
}

/// The cluster CA, for anyone: a certificate is public, and a new machine has no account.
async fn ca(State(b): Shared) -> ApiResult {
    match b.cluster_ca() {
        Some(pem) => Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()),
        None => Err(Error::new(StatusCode::NOT_FOUND, "cluster.no_tls", "this cluster runs without a cluster CA")),
    }
}
