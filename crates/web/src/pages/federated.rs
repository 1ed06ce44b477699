//! Logging in through an identity provider. The button on `/login` (`/login/idp/{id}`) sends
//! the browser to the IdP: for OpenID Connect with a login in progress kept in a signed cookie,
//! back at `/auth/oidc/{id}/callback`; for SAML see the `saml` module. Either way the node checks
//! the answer, maps the person by the IdP's rules, records the account in the cluster (made or
//! renewed, valid for the IdP's hours) and starts a session ([`complete`]).
//!
//! The cookie is signed with the cluster's session key, so the login completes on any node the
//! IdP sends the browser back to (each node's callback URL is registered at the IdP).

use super::account::{into_session, login_form, login_token_ok};
use super::chrome::{Ctx, PageResult, safe_next};
use super::form::Fields;
use crate::backend::{AccessEvent, OidcPending};
use crate::submit::{Refusal as NotSaved, Submission};
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect};
use domain::federation::{IdentityProvider, OnceUse, Protocol, Refusal};
use domain::{Command, CommandId, IdpId, StateViewExt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The cookie of a login in progress.
const COOKIE: &str = "beredd_oidc";
/// What the signature of that cookie is for (see [`crate::sessions::sign_for`]).
const PURPOSE: &str = "oidc-login";
/// A login must come back from the IdP within this many seconds.
const PENDING_SECONDS: i64 = 600;

/// What the cookie keeps while the person is at the IdP.
#[derive(Serialize, Deserialize)]
struct Pending {
    idp: String,
    next: String,
    /// The callback URL the IdP was given (the token request must name the same).
    redirect: String,
    /// Unix seconds after which the login is void.
    exp: i64,
    oidc: OidcPending,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where the IdP sends the browser back: `code` and `state`, or `error`.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn pending_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    // Lax: the IdP's redirect back is a top-level navigation from another site.
    match value {
        Some(v) => format!("{COOKIE}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={PENDING_SECONDS}{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

fn cookie_value(headers: &axum::http::HeaderMap) -> Option<&str> {
    super::chrome::cookie_in(headers, COOKIE)
}

/// An IdP `/login` offers, by id.
pub(super) fn enabled_idp(ctx: &Ctx, id: &str) -> Result<Option<IdentityProvider>, super::chrome::Error> {
    if !domain::ids::is_valid_id(id) {
        return Ok(None);
    }
    let idp = ctx.backend.view().idp(IdpId::new(id))?;
    Ok(idp.filter(|i| super::account::offered(ctx.backend.as_ref(), i)))
}

/// The login page again with `key`'s message and `status`.
pub(super) fn refused(ctx: Ctx, status: StatusCode, next: String, message: String) -> PageResult {
    login_form(ctx, status, next, String::new(), Some(message), None)
}

/// Off to an OpenID Connect IdP (from `/login/idp/{id}`, which sends SAML IdPs elsewhere).
pub async fn begin(ctx: Ctx, Path(id): Path<String>, Query(q): Query<NextQuery>) -> PageResult {
    let next = safe_next(q.next.as_deref());
    let Some(idp) = enabled_idp(&ctx, &id)? else {
        let msg = ctx.c.t("login.idp_unknown").to_owned();
        return refused(ctx, StatusCode::NOT_FOUND, next, msg);
    };
    let b = ctx.backend.clone();
    let Some(key) = crate::sessions::newest_key(b.view().as_ref())? else {
        let msg = ctx.c.t("login.no_key").to_owned();
        return refused(ctx, StatusCode::SERVICE_UNAVAILABLE, next, msg);
    };
    let redirect = crate::login::oidc_callback_url(&b.public_url(), &idp.id);
    let start = match b.oidc_begin(idp.clone(), redirect.clone()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(idp = %idp.id, "OpenID Connect login could not start: {e}");
            let msg = ctx.c.tf("login.idp_unreachable", &[("idp", &idp.name)]);
            return refused(ctx, StatusCode::BAD_GATEWAY, next, msg);
        }
    };
    let exp = OffsetDateTime::now_utc().unix_timestamp() + PENDING_SECONDS;
    let pending = Pending { idp: idp.id.to_string(), next, redirect, exp, oidc: start.pending };
    let value = crate::sessions::sign_for(&key, PURPOSE, &pending)
        .ok_or_else(|| super::chrome::Error::internal("cannot sign the login in progress"))?;
    let cookie = pending_cookie(Some(&value), b.secure_cookies());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&start.url)).into_response())
}

/// `GET /auth/oidc/{id}/callback`: back from the IdP.
pub async fn callback_for(
    ctx: Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> PageResult {
    back(ctx, Some(id), headers, q).await
}

/// `GET /login/oidc/callback`: the same, for IdPs registered before callbacks named the IdP.
pub async fn callback(ctx: Ctx, headers: axum::http::HeaderMap, Query(q): Query<CallbackQuery>) -> PageResult {
    back(ctx, None, headers, q).await
}

async fn back(ctx: Ctx, path_idp: Option<String>, headers: axum::http::HeaderMap, q: CallbackQuery) -> PageResult {
    let b = ctx.backend.clone();
    let now = OffsetDateTime::now_utc();
    let pending: Option<Pending> = match cookie_value(&headers) {
        Some(v) => crate::sessions::verify_for(b.view().as_ref(), PURPOSE, v)?,
        None => None,
    };
    let for_this = |p: &Pending| path_idp.as_ref().is_none_or(|id| *id == p.idp);
    let Some(p) = pending.filter(|p| p.exp > now.unix_timestamp() && for_this(p)) else {
        let msg = ctx.c.t("login.idp_expired").to_owned();
        return refused(ctx, StatusCode::BAD_REQUEST, "/".into(), msg);
    };
    let next = safe_next(Some(&p.next));
    let Some(idp) = enabled_idp(&ctx, &p.idp)? else {
        let msg = ctx.c.t("login.idp_unknown").to_owned();
        return refused(ctx, StatusCode::NOT_FOUND, next, msg);
    };
    let said = |event: &str, who: &str| b.record_access(AccessEvent::now(event, who, &format!("idp:{}", idp.id), None));
    let state_ok = q.state.as_deref().is_some_and(|s| crate::sessions::same(s.as_bytes(), p.oidc.state.as_bytes()));
    let (Some(code), true, None) = (q.code.clone(), state_ok, q.error.as_deref()) else {
        said("login_failed", "");
        let msg = match q.error.as_deref() {
            Some(e) => ctx.c.tf("login.idp_said_no", &[("idp", &idp.name), ("error", &clip(e))]),
            None => ctx.c.t("login.idp_expired").to_owned(),
        };
        return refused(ctx, StatusCode::UNAUTHORIZED, next, msg);
    };
    let attrs = match b.oidc_finish(idp.clone(), p.redirect.clone(), code, p.oidc.clone()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(idp = %idp.id, "OpenID Connect login failed: {e}");
            said("login_failed", "");
            let msg = ctx.c.tf("login.idp_failed", &[("idp", &idp.name)]);
            return refused(ctx, StatusCode::BAD_GATEWAY, next, msg);
        }
    };
    // One command per login: a reloaded callback repeats it and changes nothing.
    let login_id = format!("login-{}", clip_id(&p.oidc.state));
    complete(ctx, idp, &attrs, next, login_id, None).await
}

/// "Log in with card": the client certificate the browser presented with this connection
/// (e.g. a SITHS card) logs its account in, the same as `POST /api/v1/login/certificate`.
pub async fn login_card(
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    cert: Option<axum::Extension<crate::auth::ClientCertUser>>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(f);
    let next = safe_next(f.get("next"));
    if !login_token_ok(&headers, &f) {
        let error = Some(ctx.c.t("error.csrf").to_owned());
        return login_form(ctx, StatusCode::FORBIDDEN, next, String::new(), error, None);
    }
    if !ctx.backend.card_login() {
        let error = Some(ctx.c.t("login.card_off").to_owned());
        return login_form(ctx, StatusCode::NOT_FOUND, next, String::new(), error, None);
    }
    let cert = cert.map(|axum::Extension(c)| c).unwrap_or_default();
    // No account of its own: a card IdP's rules may make one from the certificate's subject.
    if cert.user.is_some()
        && crate::login::card_account(&ctx.backend, cert.user.as_deref())?.is_none()
        && let Some(idp) = card_idp(&ctx)?
    {
        let mut n = [0u8; 12];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut n);
        return complete(ctx, idp, &cert.attrs, next, format!("login-card-{}", hex::encode(n)), None).await;
    }
    match crate::login::card_user(&ctx.backend, cert.user) {
        Ok(user) => into_session(ctx, &user, next, String::new()),
        Err(_) => {
            let error = Some(ctx.c.t("login.card_failed").to_owned());
            login_form(ctx, StatusCode::UNAUTHORIZED, next, String::new(), error, None)
        }
    }
}

/// The first enabled card IdP: its rules may make an account for a card whose user has none.
fn card_idp(ctx: &Ctx) -> Result<Option<IdentityProvider>, super::chrome::Error> {
    Ok(ctx.backend.view().scan(domain::Table::Idp, None, 100)?.into_iter().find_map(|r| match r {
        domain::Record::Idp(i) if !i.disabled && i.protocol == Protocol::Card => Some(i),
        _ => None,
    }))
}

/// Maps the person `idp` vouched for by its rules, records the account (or, cut off from the
/// majority, queues it and starts a provisional session) and starts the session. `once` is the
/// proof to use only once (a SAML assertion): the cluster refuses it a second time.
pub(super) async fn complete(
    ctx: Ctx,
    idp: IdentityProvider,
    attrs: &domain::federation::Attributes,
    next: String,
    login_id: String,
    once: Option<OnceUse>,
) -> PageResult {
    let b = ctx.backend.clone();
    let now = OffsetDateTime::now_utc();
    let said = |event: &str, who: &str| b.record_access(AccessEvent::now(event, who, &format!("idp:{}", idp.id), None));
    let mapped = match crate::login::map_person(&idp, attrs) {
        Ok(m) => m,
        Err(r) => {
            said("login_refused", "");
            let msg = refusal_text(&ctx, &r);
            return refused(ctx, StatusCode::FORBIDDEN, next, msg);
        }
    };
    let id = CommandId::new(login_id);
    let cmd = Command::FederatedLogin {
        idp_id: idp.id.clone(),
        user_id: mapped.user_id.clone(),
        name: mapped.name.clone(),
        role: mapped.role,
        units: mapped.units.clone(),
        provisional: false,
        once,
    };
    let queued = match crate::submit::federated_login(b.as_ref(), id, cmd, true).await? {
        Submission::Saved { .. } => false,
        Submission::Queued(_) => true,
        Submission::Refused(NotSaved::Rejected(rejection)) => {
            said("login_refused", mapped.user_id.as_str());
            let msg = ctx.c.tf("login.idp_account_refused", &[("why", &rejection.to_string())]);
            return refused(ctx, StatusCode::FORBIDDEN, next, msg);
        }
        Submission::Refused(NotSaved::Cluster(_)) => {
            said("login_failed", mapped.user_id.as_str());
            let msg = ctx.c.t("login.idp_no_quorum").to_owned();
            return refused(ctx, StatusCode::SERVICE_UNAVAILABLE, next, msg);
        }
    };
    let clear = pending_cookie(None, b.secure_cookies());
    if queued {
        // Cut off from the majority: a session on this node with the account the rules give,
        // which the outbox writes to the cluster when the majority is back.
        let hours = i64::from(idp.mapping.account_hours);
        let p = crate::sessions::Provisional {
            name: mapped.name.clone(),
            role: mapped.role,
            units: mapped.units.clone(),
            idp: idp.id.clone(),
            exp: (now + time::Duration::hours(hours)).unix_timestamp(),
        };
        let Ok((session, _)) = crate::login::provisional_session_cookie(&b, &mapped.user_id, p, now) else {
            let msg = ctx.c.t("login.no_key").to_owned();
            return refused(ctx, StatusCode::SERVICE_UNAVAILABLE, next, msg);
        };
        said("login_provisional", mapped.user_id.as_str());
        return Ok((AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, clear)]), Redirect::to(&next))
            .into_response());
    }
    let Some(user) = b.view().user(&mapped.user_id)?.filter(|u| u.is_active(OffsetDateTime::now_utc())) else {
        return Err(super::chrome::Error::internal("the account of a federated login is missing after it was saved"));
    };
    said("login", user.id.as_str());
    let (session, _) = match crate::login::session_cookie(&b, &user, OffsetDateTime::now_utc()) {
        Ok(c) => c,
        Err(_) => {
            let msg = ctx.c.t("login.no_key").to_owned();
            return refused(ctx, StatusCode::SERVICE_UNAVAILABLE, next, msg);
        }
    };
    Ok((AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, clear)]), Redirect::to(&next))
        .into_response())
}

pub(super) fn refusal_text(ctx: &Ctx, r: &Refusal) -> String {
    match r {
        Refusal::NoUserId(attr) => ctx.c.tf("login.refused_no_id", &[("attribute", attr)]),
        Refusal::Organisation(org) => ctx.c.tf("login.refused_organisation", &[("organisation", &clip(org))]),
        Refusal::NoRule => ctx.c.t("login.refused_no_rule").to_owned(),
        Refusal::Disabled => ctx.c.t("login.idp_unknown").to_owned(),
    }
}

/// At most 100 printable characters of something an IdP or browser sent.
pub(super) fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// A login's state as part of a command id.
fn clip_id(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(48).collect()
}
