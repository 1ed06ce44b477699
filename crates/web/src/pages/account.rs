//! Logging in and out in the browser, and choosing the language.

use super::chrome::{Chrome, Ctx, PageResult, render, safe_next};
use super::form::Fields;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use documents::i18n::Lang;
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
    logged_out: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

pub async fn login_page(ctx: Ctx, Query(q): Query<NextQuery>) -> PageResult {
    let lang = ctx.lang();
    let page = LoginPage {
        c: ctx.c,
        next: safe_next(q.next.as_deref()),
        user: String::new(),
        error: None,
        logged_out: q.done.as_deref() == Some("logout"),
    };
    render(&page, lang)
}

pub async fn login(
    ctx: Ctx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(f);
    let lang = ctx.lang();
    let (name, next) = (f.text("user"), safe_next(f.get("next")));
    let password = f.get("password").unwrap_or_default().to_owned();
    let failed = |ctx: Ctx, code: &str| {
        let key = if code == "auth.throttled" { "login.throttled" } else { "login.failed" };
        let page = LoginPage {
            error: Some(ctx.c.t(key).to_owned()),
            c: ctx.c,
            next: next.clone(),
            user: name.clone(),
            logged_out: false,
        };
        let status = if code == "auth.throttled" { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNAUTHORIZED };
        page.render().map(|h| (status, Html(h)).into_response()).map_err(|e| super::PageError::internal(lang, e))
    };
    let user = match crate::login::check_password(&ctx.backend, peer, &name, password).await {
        Ok(u) => u,
        Err(e) => return failed(ctx, &e.code),
    };
    match crate::login::session_cookie(&ctx.backend, &user, OffsetDateTime::now_utc()) {
        Ok((cookie, _)) => Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()),
        Err(e) => {
            let page = LoginPage {
                error: Some(ctx.c.t("login.no_key").into()),
                c: ctx.c,
                next,
                user: name,
                logged_out: false,
            };
            tracing::warn!("login without session key: {}", e.message);
            page.render()
                .map(|h| (StatusCode::SERVICE_UNAVAILABLE, Html(h)).into_response())
                .map_err(|e| super::PageError::internal(lang, e))
        }
    }
}

pub async fn logout(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    ctx.check_csrf(Fields(f).csrf())?;
    let cookie = crate::sessions::set_cookie(None, ctx.backend.secure_cookies());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login?done=logout")).into_response())
}

/// Remembers the chosen language for a year and goes back to the page.
pub async fn set_lang(Path(code): Path<String>, Query(q): Query<NextQuery>) -> PageResult {
    let lang = Lang::parse(&code).unwrap_or_default();
    let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax", documents::i18n::COOKIE, lang.code());
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(q.next.as_deref()))).into_response())
}
