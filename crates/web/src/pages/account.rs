//! Logging in and out in the browser, and choosing the language.

use super::chrome::{Chrome, Ctx, Error, PageResult, safe_next};
use super::form::Fields;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use documents::i18n::Lang;
use domain::StateViewExt;
use serde::Deserialize;
use std::net::SocketAddr;
use time::OffsetDateTime;

#[derive(Template)]
#[template(path = "users/login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    user: String,
    error: Option<String>,
    /// A notice after logging out or changing the password.
    done: Option<&'static str>,
    /// Ties the form to this browser (see [`LOGIN_COOKIE`]).
    login_csrf: String,
    /// Offer "Log in with card" (the node has a client CA).
    card: bool,
    /// The identity providers people may log in through, and whether each answers now.
    idps: Vec<IdpButton>,
}

struct IdpButton {
    /// `/login/idp/<id>?next=…`
    href: String,
    name: String,
    /// The last attempt to reach it from this node failed.
    down: bool,
}

/// Login CSRF: the login form carries a random token that must match this cookie, which a
/// browser sends only to a form of this site (`SameSite=Strict`). So another site cannot log a
/// person in under the attacker's account.
const LOGIN_COOKIE: &str = "beredd_login";

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

/// The page with a fresh login token and its cookie.
pub(super) fn login_form(
    ctx: Ctx,
    status: StatusCode,
    next: String,
    user: String,
    error: Option<String>,
    done: Option<&'static str>,
) -> PageResult {
    let secure = if ctx.backend.secure_cookies() { "; Secure" } else { "" };
    let token = crate::credentials::random_password();
    let cookie = format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}");
    let card = ctx.backend.card_login();
    let idps = idp_buttons(ctx.backend.as_ref(), &next)?;
    let page = LoginPage { c: ctx.c, next, user, error, done, login_csrf: token, card, idps };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, [(header::SET_COOKIE, cookie)], Html(html)).into_response())
}

pub async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> PageResult {
    let done = match q.done.as_deref() {
        Some("logout") => Some("logout"),
        Some("password") => Some("password"),
        _ => None,
    };
    login_form(ctx, StatusCode::OK, safe_next(q.next.as_deref()), String::new(), None, done)
}

/// Whether `/login` offers `idp`: an enabled OpenID Connect IdP, or a SAML one when this node
/// is a SAML service provider (cards have their own button).
pub(super) fn offered(b: &dyn crate::Backend, idp: &domain::federation::IdentityProvider) -> bool {
    !idp.disabled
        && match idp.protocol {
            domain::federation::Protocol::Oidc { .. } => true,
            domain::federation::Protocol::Saml { .. } => b.saml_sp(),
            domain::federation::Protocol::Card => false,
        }
}

/// The enabled identity providers, by name.
fn idp_buttons(b: &dyn crate::Backend, next: &str) -> Result<Vec<IdpButton>, Error> {
    let mut out: Vec<IdpButton> = b
        .view()
        .scan(domain::Table::Idp, None, 100)?
        .into_iter()
        .filter_map(|r| match r {
            domain::Record::Idp(i) if offered(b, &i) => Some(IdpButton {
                href: format!("/login/idp/{}?next={}", super::chrome::urlencode(&i.id), super::chrome::urlencode(next)),
                name: i.name.clone(),
                down: matches!(b.idp_reach(&i), crate::backend::IdpReach::Unreachable(_)),
            }),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The login token in the request's cookies.
fn login_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    super::chrome::cookie_in(headers, LOGIN_COOKIE)
}

pub async fn login(
    ctx: Ctx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(f);
    let client = crate::throttle::client_of(&headers, Some(peer), ctx.backend.as_ref());
    let (name, next) = (f.text("user"), safe_next(f.get("next")));
    if !login_token_ok(&headers, &f) {
        let error = Some(ctx.c.t("error.csrf").to_owned());
        return login_form(ctx, StatusCode::FORBIDDEN, next, name, error, None);
    }
    let password = f.get("password").unwrap_or_default().to_owned();
    let user = match crate::login::check_password(&ctx.backend, client, &name, password).await {
        Ok(u) => u,
        Err(e) => {
            let (key, status) = match e.code.as_str() {
                "auth.throttled" => ("login.throttled", StatusCode::TOO_MANY_REQUESTS),
                _ => ("login.failed", StatusCode::UNAUTHORIZED),
            };
            let error = Some(ctx.c.t(key).to_owned());
            return login_form(ctx, status, next, name, error, None);
        }
    };
    into_session(ctx, &user, next, name)
}

/// Whether the form's login token matches this browser's login cookie.
pub(super) fn login_token_ok(headers: &axum::http::HeaderMap, f: &Fields) -> bool {
    match (login_cookie(headers), f.get("login_csrf")) {
        (Some(c), Some(g)) => !c.is_empty() && crate::sessions::same(c.as_bytes(), g.as_bytes()),
        _ => false,
    }
}

/// Starts `user`'s session and goes on to `next` (the login form again, with the reason, when
/// the cluster has no session key yet).
pub(super) fn into_session(ctx: Ctx, user: &domain::User, next: String, name: String) -> PageResult {
    match crate::login::session_cookie(&ctx.backend, user, OffsetDateTime::now_utc()) {
        Ok((cookie, _)) => Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()),
        Err(e) => {
            tracing::warn!("login without session key: {}", e.message);
            let error = Some(ctx.c.t("login.no_key").to_owned());
            login_form(ctx, StatusCode::SERVICE_UNAVAILABLE, next, name, error, None)
        }
    }
}

pub async fn logout(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    ctx.check_csrf(Fields(f).csrf())?;
    if let Some(u) = &ctx.c.user {
        ctx.backend.record_access(crate::backend::AccessEvent::now("logout", u.id.as_str(), "session", None));
    }
    let cookie = crate::sessions::set_cookie(None, ctx.backend.secure_cookies());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login?done=logout")).into_response())
}

/// Remembers the chosen language for a year and goes back to the page.
pub async fn set_lang(Path(code): Path<String>, Query(q): Query<NextQuery>) -> PageResult {
    let lang = Lang::parse(&code).unwrap_or_default();
    let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax", documents::i18n::COOKIE, lang.code());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(q.next.as_deref()))).into_response())
}

/// One of the user's API tokens as the account page lists it.
pub struct TokenRow {
    pub id: String,
    pub label: String,
    pub created: String,
    pub expires: String,
    /// `valid`, `expired`, `revoked` or `ended` (by a new password or logging out everywhere).
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "account/page.html")]
struct AccountPage {
    c: Chrome,
    form: String,
    has_password: bool,
    tokens: Vec<TokenRow>,
    default_days: u32,
    max_days: u32,
    /// A token just made: shown this once.
    new_token: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /account`: your password and your API tokens.
pub async fn page(ctx: Ctx, Query(q): Query<DoneQuery>) -> PageResult {
    let done = q.done.filter(|d| ["password", "token", "revoked"].contains(&d.as_str()));
    account_page(ctx, StatusCode::OK, done, None, None)
}

fn account_page(
    ctx: Ctx,
    status: StatusCode,
    done: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
) -> PageResult {
    let ctx = ctx.in_section("account");
    let user = ctx.user()?;
    let now = OffsetDateTime::now_utc();
    let mut tokens = Vec::new();
    let mut after: Option<String> = None;
    let view = ctx.backend.view();
    loop {
        let batch = view.scan(domain::Table::Token, after.as_deref(), 500)?;
        let n = batch.len();
        for r in batch {
            let domain::Record::Token(t) = r else { continue };
            after = Some(t.id.to_string());
            if t.user_id != user.id {
                continue;
            }
            let state = if t.revoked {
                "revoked"
            } else if t.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else if !t.is_valid(&user, now) {
                "ended"
            } else {
                "valid"
            };
            let expires = t.expires_at.map(|e| ctx.c.datetime(e)).unwrap_or_else(|| "–".into());
            let (id, label, created) = (t.id.to_string(), t.label, ctx.c.datetime(t.created_at));
            tokens.push(TokenRow { id, label, created, expires, state });
        }
        if n < 500 {
            break;
        }
    }
    let (default_days, max_days) = ctx.backend.token_days();
    let has_password = user.password_hash.is_some();
    let page = AccountPage {
        c: ctx.c,
        form: super::form_id(),
        has_password,
        tokens,
        default_days,
        max_days,
        new_token,
        done,
        error,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `POST /account/password`: a new password, given the current one. Every session and token of
/// the old one ends, this one too: the browser goes to the login page.
pub async fn change_password(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let (current, new) = (f.get("current").unwrap_or_default().to_owned(), f.get("password").unwrap_or_default());
    if !crate::login::verify_current(&user, current).await {
        let error = Some(ctx.c.t("account.wrong_current").to_owned());
        return account_page(ctx, StatusCode::FORBIDDEN, None, error, None);
    }
    let hash = match crate::api::users::checked_hash(new) {
        Ok(h) => h,
        Err(e) => {
            let error = Some(if e.field.is_some() { ctx.c.t("account.password_hint").to_owned() } else { e.message });
            return account_page(ctx, StatusCode::UNPROCESSABLE_ENTITY, None, error, None);
        }
    };
    let cmd = domain::Command::SetPassword { user_id: user.id.clone(), password_hash: hash };
    match super::submit(&ctx, &user, f.get("form"), cmd).await? {
        super::Outcome::Saved { .. } => {
            let cookie = crate::sessions::set_cookie(None, ctx.backend.secure_cookies());
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login?done=password")).into_response())
        }
        super::Outcome::Queued { seq } => super::chrome::see_path(&super::Outcome::queued_path(seq)),
        super::Outcome::Refused { message, .. } => {
            account_page(ctx, StatusCode::UNPROCESSABLE_ENTITY, None, Some(message), None)
        }
    }
}

/// `POST /account/tokens`: a new API token for yourself, shown once on the answer.
pub async fn make_token(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let (default_days, max_days) = ctx.backend.token_days();
    let days = match f.get("days").map(str::trim).filter(|d| !d.is_empty()) {
        None => Some(default_days),
        Some(d) => d.parse::<u32>().ok().filter(|d| (1..=max_days).contains(d)),
    };
    let Some(days) = days else {
        let error = Some(ctx.c.tf("account.days_hint", &[("max", &max_days.to_string())]));
        return account_page(ctx, StatusCode::UNPROCESSABLE_ENTITY, None, error, None);
    };
    let t = crate::auth::new_token();
    let cmd = domain::Command::CreateToken {
        token_id: t.id.clone(),
        user_id: user.id.clone(),
        secret_sha256: t.secret_sha256,
        label: f.text("label"),
        expires_at: Some(OffsetDateTime::now_utc() + time::Duration::days(i64::from(days))),
    };
    // A fresh command id: the form id would make a reload answer without the token.
    match super::submit(&ctx, &user, None, cmd).await? {
        super::Outcome::Saved { .. } => account_page(ctx, StatusCode::OK, Some("token".into()), None, Some(t.token)),
        super::Outcome::Queued { seq } => super::chrome::see_path(&super::Outcome::queued_path(seq)),
        super::Outcome::Refused { message, .. } => {
            account_page(ctx, StatusCode::UNPROCESSABLE_ENTITY, None, Some(message), None)
        }
    }
}

/// `POST /account/tokens/{id}/revoke`: ends one of your tokens.
pub async fn revoke_token(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let token_id = domain::TokenId::new(&id);
    // Someone else's token is "not found" here, as if it did not exist.
    if ctx.backend.view().token(&token_id)?.is_none_or(|t| t.user_id != user.id) {
        return Err(ctx.not_found());
    }
    match super::submit(&ctx, &user, None, domain::Command::RevokeToken { token_id }).await? {
        super::Outcome::Saved { .. } => super::chrome::see_path("/account?done=revoked"),
        super::Outcome::Queued { seq } => super::chrome::see_path(&super::Outcome::queued_path(seq)),
        super::Outcome::Refused { message, .. } => account_page(ctx, StatusCode::CONFLICT, None, Some(message), None),
    }
}
