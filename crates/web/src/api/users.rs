//! Accounts: `/api/v1/me`, users (admins), API tokens, logging in and out, session keys, and
//! the audit trail (admins; JSON or CSV).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{Command, Record, StateViewExt, Table, TokenId, UserId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

use super::common::*;
use super::views::UserView;
use crate::auth::{self, Actor};
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).put(update_user))
        .route("/api/v1/users/{id}/{action}", post(user_action))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/login", post(crate::login::login))
        .route("/api/v1/login/certificate", post(crate::login::login_certificate))
        .route("/api/v1/logout", post(crate::login::logout))
        .route("/api/v1/users/{id}/logout-everywhere", post(crate::login::logout_everywhere))
        .route("/api/v1/session-keys", post(crate::login::rotate_key))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}/revoke", post(revoke_token))
}

async fn me(actor: Actor) -> Json<UserView> {
    Json(actor.0.into())
}

async fn list_users(State(b): Shared, actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    if actor.0.role != domain::Role::Admin {
        return Err(forbidden("users"));
    }
    page(&b, Table::User, &q, |r| match r {
        Record::User(u) => to_json(&UserView::from(u)),
        _ => None,
    })
}

async fn get_user(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    let visible = actor.0.role == domain::Role::Admin || actor.0.id.as_str() == id;
    found("user", &id, b.view().user(UserId::new(&id))?.filter(|_| visible).map(UserView::from))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    id: UserId,
    name: String,
    role: domain::Role,
    #[serde(default)]
    units: Vec<domain::UnitId>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

pub(crate) fn checked_hash(password: &str) -> Result<String, Error> {
    if password.chars().count() < auth::MIN_PASSWORD {
        let mut e = Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user.invalid",
            format!("The password must have at least {} characters.", auth::MIN_PASSWORD),
        );
        e.field = Some("password".into());
        return Err(e);
    }
    auth::hash_password(password)
}

async fn create_user(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    let u: NewUser = fields(v)?;
    let password_hash = u.password.as_deref().map(checked_hash).transpose()?;
    let cmd_id = command_id(&h, Some(format!("create.user:{}", u.id)))?;
    let cmd = Command::CreateUser(domain::command::UserFields {
        id: u.id,
        name: u.name,
        role: u.role,
        units: u.units,
        password_hash,
        expires_at: u.expires_at,
    });
    write(&b, &actor, &h, cmd_id, cmd, StatusCode::CREATED).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdate {
    version: u64,
    name: String,
    role: domain::Role,
    #[serde(default)]
    units: Vec<domain::UnitId>,
    /// A new password; the old one stays when absent.
    #[serde(default)]
    password: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

/// Admins: change a user's name, role, units and expiry (and optionally the password).
async fn update_user(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    let u: UserUpdate = fields(v)?;
    let password_hash = u.password.as_deref().map(checked_hash).transpose()?;
    let cmd = Command::UpdateUser {
        expected_version: u.version,
        fields: domain::command::UserFields {
            id: UserId::new(id),
            name: u.name,
            role: u.role,
            units: u.units,
            password_hash,
            expires_at: u.expires_at,
        },
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserActionBody {
    password: Option<String>,
    /// Needed when users change their own password (admins changing another's need not).
    current_password: Option<String>,
}

async fn user_action(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let user_id = UserId::new(id);
    let cmd = match action.as_str() {
        "disable" => Command::SetUserDisabled { user_id, disabled: true },
        "enable" => Command::SetUserDisabled { user_id, disabled: false },
        "password" => {
            let a: UserActionBody = serde_json::from_slice(&body)
                .map_err(|e| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))?;
            let pw = a.password.ok_or_else(|| Error::bad_request("password is required"))?;
            if actor.0.role != domain::Role::Admin {
                let current = a.current_password.unwrap_or_default();
                if actor.0.id != user_id || !crate::login::verify_current(&actor.0, current).await {
                    let mut e = Error::new(
                        StatusCode::FORBIDDEN,
                        "user.forbidden",
                        "To change your password, give the current one (current_password).",
                    );
                    e.field = Some("current_password".into());
                    return Err(e);
                }
            }
            Command::SetPassword { user_id, password_hash: checked_hash(&pw)? }
        }
        other => {
            return Err(Error::new(StatusCode::NOT_FOUND, "route.not_found", format!("no user action {other:?}")));
        }
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    #[serde(default)]
    label: String,
    /// Admins may make tokens for others; everyone else for themselves.
    user_id: Option<UserId>,
    /// Days the token works: the node's default when absent, at most its maximum.
    days: Option<u32>,
}

async fn create_token(State(b): Shared, actor: Actor, h: HeaderMap, Body(body): Body<NewTokenBody>) -> ApiResult {
    let (default_days, max_days) = b.token_days();
    let days = body.days.unwrap_or(default_days);
    if days == 0 || days > max_days {
        let mut e = Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token.invalid",
            format!("A token works 1 to {max_days} days on this cluster."),
        );
        e.field = Some("days".into());
        return Err(e);
    }
    let expires_at = time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
    let t = auth::new_token();
    let user_id = body.user_id.unwrap_or_else(|| actor.0.id.clone());
    let cmd = Command::CreateToken {
        token_id: t.id.clone(),
        user_id: user_id.clone(),
        secret_sha256: t.secret_sha256,
        label: body.label.clone(),
        expires_at: Some(expires_at),
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::CREATED).await?;
    // The token itself is shown here, once; only its hash is stored.
    let expires = expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let shown = json!({ "id": t.id, "token": t.token, "user_id": user_id, "label": body.label, "expires_at": expires });
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

/// `GET /api/v1/tokens`: the caller's own tokens (admins: everyone's), without secrets.
async fn list_tokens(State(b): Shared, actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    let me = actor.0.id.clone();
    let admin = actor.0.role == domain::Role::Admin;
    page(&b, Table::Token, &q, move |r| match r {
        Record::Token(t) if admin || t.user_id == me => to_json(&super::views::TokenView::from(t)),
        _ => None,
    })
}

async fn revoke_token(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::RevokeToken { token_id: TokenId::new(id) }, StatusCode::OK)
        .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    /// `json` (default, paged) or `csv` (the whole trail).
    format: Option<String>,
}

/// The audit trail, admins only: paged JSON, or the whole trail as CSV (UTF-8 with BOM,
/// semicolon-separated as Swedish and Norwegian spreadsheets expect).
async fn audit(State(b): Shared, actor: Actor, Query(q): Query<AuditQuery>) -> ApiResult {
    if actor.0.role != domain::Role::Admin {
        return Err(forbidden("audit"));
    }
    match q.format.as_deref() {
        None | Some("json") => {
            let lq = ListQuery { limit: q.limit, cursor: q.cursor, ..ListQuery::default() };
            page(&b, Table::Audit, &lq, |r| match r {
                Record::Audit(a) => to_json(&a),
                _ => None,
            })
        }
        Some("csv") => {
            let bytes = documents::export::audit::csv(b.view().as_ref()).map_err(Error::internal)?;
            let disposition = "attachment; filename=\"beredd-audit.csv\"";
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, disposition)], bytes)
                .into_response())
        }
        Some(other) => Err(Error::bad_request(format!("format must be json or csv, not {other:?}"))),
    }
}
