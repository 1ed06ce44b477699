//! Password login, logout, "log out everywhere" and session-key rotation, with login
//! throttling per account and per address on this node. Every failure gives the same answer,
//! so nothing reveals whether an account exists.

use crate::api::common::{ApiResult, Body, Shared, command_id, write};
use crate::api::views::UserView;
use crate::auth::{Actor, verify_password};
use crate::backend::AccessEvent;
use crate::error::Error;
use crate::sessions::{self, Claims};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use domain::{Command, StateViewExt, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Failed attempts allowed per account and per address within [`WINDOW`].
const MAX_FAILURES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failures by `user:<id>` and `addr:<ip>`, kept on this node only.
static FAILURES: LazyLock<Mutex<HashMap<String, (u32, Instant)>>> = LazyLock::new(Mutex::default);

/// Counts an attempt for every key; `false` (and nothing counted) when one of them has used up
/// its attempts.
fn count_attempt(keys: &[String]) -> bool {
    let mut map = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, (_, first)| first.elapsed() < WINDOW);
    if keys.iter().any(|k| map.get(k).is_some_and(|(n, _)| *n >= MAX_FAILURES)) {
        return false;
    }
    for k in keys {
        map.entry(k.clone()).or_insert((0, Instant::now())).0 += 1;
    }
    true
}

/// Takes back the attempt a successful login counted.
fn forget_attempt(keys: &[String]) {
    let mut map = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    for k in keys {
        if let Some((n, _)) = map.get_mut(k) {
            *n = n.saturating_sub(1);
        }
    }
}

/// A real argon2id hash of a random password, checked when the account does not exist, so that
/// a failed login takes as long whether the account exists or not.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| crate::auth::hash_password(&crate::auth::random_password()).unwrap_or_default());

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    user: String,
    password: String,
}

fn failed() -> Error {
    Error::new(StatusCode::UNAUTHORIZED, "auth.failed", "Wrong user name or password.")
}

pub async fn login(
    State(b): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body<LoginBody>,
) -> ApiResult {
    let client = crate::throttle::client_of(&headers, Some(peer), b.as_ref());
    let user = check_password(&b, client, &body.user, body.password).await?;
    start_session(&b, user, OffsetDateTime::now_utc())
}

/// Password checks at once on this node: each takes 19 MiB and tens of milliseconds of a core,
/// so a burst of logins waits here instead of taking the node's memory.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The account for a user name and password, with throttling per account and per client
/// address. The attempt is counted before the password is checked, so parallel guesses cannot
/// slip past the limit; a success takes it back. The same error for a wrong password and an
/// unknown account, after the same amount of work.
pub(crate) async fn check_password(
    b: &std::sync::Arc<dyn crate::Backend>,
    client: std::net::IpAddr,
    name: &str,
    password: String,
) -> Result<domain::User, Error> {
    let keys = [format!("user:{}", name.to_lowercase()), format!("addr:{client}")];
    if !count_attempt(&keys) {
        return Err(Error::new(
            StatusCode::TOO_MANY_REQUESTS,
            "auth.throttled",
            "Too many failed attempts. Wait a quarter of an hour, or ask an administrator.",
        ));
    }
    let view = b.view();
    let now = OffsetDateTime::now_utc();
    let user = domain::ids::is_valid_id(name).then(|| view.user(UserId::new(name))).transpose()?.flatten();
    let hash = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = {
        let _permit = HASHING
            .acquire()
            .await
            .map_err(|e| Error::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string()))?;
        // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.unwrap_or(false)
    };
    match user.filter(|u| ok && u.password_hash.is_some() && u.is_active(now)) {
        Some(u) => {
            forget_attempt(&keys);
            b.record_access(AccessEvent::now("login", u.id.as_str(), "password", Some(client)));
            Ok(u)
        }
        None => {
            b.record_access(AccessEvent::now("login_failed", name, "password", Some(client)));
            Err(failed())
        }
    }
}

/// Whether `password` is `user`'s current one (for a password change), through the same
/// bounded pool as logins.
pub(crate) async fn verify_current(user: &domain::User, password: String) -> bool {
    let Some(hash) = user.password_hash.clone() else { return false };
    let Ok(_permit) = HASHING.acquire().await else { return false };
    tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.unwrap_or(false)
}

/// Logs in with the TLS client certificate the browser presented (e.g. a SITHS card).
pub async fn login_certificate(
    State(b): Shared,
    cert: Option<axum::Extension<crate::auth::ClientCertUser>>,
) -> ApiResult {
    let user = card_user(&b, cert.and_then(|axum::Extension(c)| c.user))?;
    start_session(&b, user, OffsetDateTime::now_utc())
}

/// The active account of the client certificate's user id (from the field the node is set
/// to read), with the login or the refusal in the access log.
pub(crate) fn card_user(b: &std::sync::Arc<dyn crate::Backend>, id: Option<String>) -> Result<domain::User, Error> {
    let user = card_account(b, id.as_deref())?;
    let Some(user) = user else {
        b.record_access(AccessEvent::now("login_failed", id.as_deref().unwrap_or(""), "certificate", None));
        return Err(Error::new(
            StatusCode::UNAUTHORIZED,
            "auth.failed",
            "No valid certificate of an active account was presented.",
        ));
    };
    b.record_access(AccessEvent::now("login", user.id.as_str(), "certificate", None));
    Ok(user)
}

/// The active account of a card's user id, if any (nothing logged).
pub(crate) fn card_account(
    b: &std::sync::Arc<dyn crate::Backend>,
    id: Option<&str>,
) -> Result<Option<domain::User>, Error> {
    let Some(id) = id.filter(|id| domain::ids::is_valid_id(id)) else { return Ok(None) };
    let now = OffsetDateTime::now_utc();
    Ok(b.view().user(UserId::new(id))?.filter(|u| u.is_active(now)))
}

/// Sets the session cookie for `user` and answers with the user and the session's CSRF token.
fn start_session(b: &std::sync::Arc<dyn crate::Backend>, user: domain::User, now: OffsetDateTime) -> ApiResult {
    let (cookie, csrf) = session_cookie(b, &user, now)?;
    let mut body = serde_json::to_value(UserView::from(user)).map_err(Error::internal)?;
    body["csrf_token"] = serde_json::Value::String(csrf);
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// A new session for `user`: the `Set-Cookie` value and the session's CSRF token.
pub(crate) fn session_cookie(
    b: &std::sync::Arc<dyn crate::Backend>,
    user: &domain::User,
    now: OffsetDateTime,
) -> Result<(String, String), Error> {
    session_with(b, Claims { u: user.id.to_string(), iat: now.unix_timestamp(), seen: now.unix_timestamp(), p: None })
}

/// A session for an account that is not in the cluster yet (see [`sessions::Provisional`]).
pub(crate) fn provisional_session_cookie(
    b: &std::sync::Arc<dyn crate::Backend>,
    id: &domain::UserId,
    p: sessions::Provisional,
    now: OffsetDateTime,
) -> Result<(String, String), Error> {
    session_with(b, Claims { u: id.to_string(), iat: now.unix_timestamp(), seen: now.unix_timestamp(), p: Some(p) })
}

fn session_with(b: &std::sync::Arc<dyn crate::Backend>, claims: Claims) -> Result<(String, String), Error> {
    let view = b.view();
    let Some(key) = sessions::newest_key(view.as_ref())? else {
        return Err(Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "auth.no_session_key",
            "Logins are not possible until the cluster has made its session key; use an API token meanwhile.",
        ));
    };
    let value = sessions::sign(&key, &claims).ok_or_else(|| Error::internal("cannot sign the session"))?;
    let cookie = sessions::set_cookie(Some(&value), b.secure_cookies());
    let csrf = sessions::csrf_token(view.as_ref(), &value)?.unwrap_or_default();
    Ok((cookie, csrf))
}

pub async fn logout(State(b): Shared, actor: Result<Actor, Error>) -> impl IntoResponse {
    if let Ok(a) = actor {
        b.record_access(AccessEvent::now("logout", a.0.id.as_str(), "session", None));
    }
    ([(header::SET_COOKIE, sessions::set_cookie(None, b.secure_cookies()))], StatusCode::NO_CONTENT)
}

pub async fn logout_everywhere(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::LogoutEverywhere { user_id: UserId::new(id) }, StatusCode::OK)
        .await
}

/// Admins: add a new signing key; sessions signed with older keys stay valid until they end.
pub async fn rotate_key(State(b): Shared, actor: Actor, h: HeaderMap) -> ApiResult {
    let (key_id, secret) = sessions::new_key();
    write(
        &b,
        &actor,
        &h,
        command_id(&h, None)?,
        Command::AddSessionKey { key_id: key_id.into(), secret },
        StatusCode::CREATED,
    )
    .await
}

/// Re-issues a session cookie that has not been refreshed for a while, so that only idle
/// sessions time out. Runs after the handler, on every answer.
pub async fn refresh(
    State(b): Shared,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let cookie = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(sessions::from_cookie_header)
        .map(str::to_owned);
    let mut res = next.run(req).await;
    let Some(value) = cookie else { return res };
    let now = OffsetDateTime::now_utc();
    let view = b.view();
    let Ok(Some((_, claims))) = sessions::verify(view.as_ref(), &value, now) else { return res };
    if now.unix_timestamp() - claims.seen < sessions::REFRESH_AFTER.whole_seconds()
        || res.headers().contains_key(header::SET_COOKIE)
    {
        return res;
    }
    let fresh = Claims { seen: now.unix_timestamp(), ..claims };
    if let Some(v) = sessions::newest_key(view.as_ref()).ok().flatten().and_then(|k| sessions::sign(&k, &fresh))
        && let Ok(h) = sessions::set_cookie(Some(&v), b.secure_cookies()).parse()
    {
        res.headers_mut().insert(header::SET_COOKIE, h);
    }
    res
}

/// Maps a person an IdP vouched for by its rules, with identifying values pseudonymised under
/// the IdP's key where the rules say so.
pub(crate) fn map_person(
    idp: &domain::federation::IdentityProvider,
    attrs: &domain::federation::Attributes,
) -> Result<domain::federation::Mapped, domain::federation::Refusal> {
    domain::federation::map(idp, attrs, &|v| pseudonym(&idp.pseudonym_key, v))
}

/// The keyed pseudonym of an identifying value: HMAC-SHA256 under the IdP's key, 128 bits.
fn pseudonym(key_hex: &str, value: &str) -> String {
    use hmac::Mac;
    let key = hex::decode(key_hex).unwrap_or_default();
    let Ok(mut m) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else { return String::new() };
    m.update(value.trim().as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

/// This node's OpenID Connect callback URL (to register at each IdP), from its public URL.
pub(crate) fn oidc_callback_url(public_url: &str, idp: &domain::IdpId) -> String {
    format!("{}/auth/oidc/{idp}/callback", public_url.trim_end_matches('/'))
}

/// A fresh key for an identity provider's pseudonyms: 32 random bytes, hex.
pub(crate) fn new_pseudonym_key() -> String {
    use rand_core::RngCore;
    let mut b = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod pseudonym_tests {
    use super::pseudonym;

    #[test]
    fn pseudonyms_are_keyed_stable_and_hide_the_value() {
        let k1 = "00".repeat(32);
        let k2 = "11".repeat(32);
        let a = pseudonym(&k1, "19121212-1212");
        assert_eq!(a, pseudonym(&k1, " 19121212-1212 "));
        assert_ne!(a, pseudonym(&k2, "19121212-1212"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("1212"));
    }
}
