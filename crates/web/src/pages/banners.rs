//! `/banners`: communicators and admins set a banner by hand (text, level, sites, window), see
//! every banner with its state, and end one now. The banner shows on every page of its sites,
//! on `/status`, in the Atom feed and the binder. JSON twin: `/api/v1/banners`.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::banners::{Banner, BannerFields, BannerLevel};
use domain::{Command, Role, User};
use time::{Duration, OffsetDateTime};

use super::chrome::{Chrome, Ctx, Error, PageResult, see_path};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};

fn may_manage(user: &User) -> bool {
    matches!(user.role, Role::Communicator | Role::Admin)
}

/// The form's values (kept when it is refused).
#[derive(Default)]
pub struct BannerForm {
    pub text: String,
    pub level: String,
    pub sites: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Template)]
#[template(path = "status/banners.html")]
struct BannersPage {
    c: Chrome,
    banners: Vec<Banner>,
    sites: Vec<String>,
    levels: [BannerLevel; 3],
    v: BannerForm,
    errors: Errors,
    form: String,
    now: OffsetDateTime,
}

impl BannersPage {
    fn state(&self, b: &Banner) -> &'static str {
        if b.is_current(self.now) {
            self.c.t("banner.current")
        } else if b.starts_at > self.now {
            self.c.t("banner.planned")
        } else {
            self.c.t("banner.ended")
        }
    }
}

/// `GET /banners`.
pub async fn list(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("status");
    let user = ctx.user()?;
    if !may_manage(&user) {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let now = OffsetDateTime::now_utc();
    let v = BannerForm {
        level: "warning".into(),
        starts_at: lang.local_input(now),
        ends_at: lang.local_input(now + Duration::hours(8)),
        ..BannerForm::default()
    };
    show(ctx, v, Errors::default(), StatusCode::OK)
}

fn show(ctx: Ctx, v: BannerForm, errors: Errors, status: StatusCode) -> PageResult {
    let view = ctx.backend.view();
    let page = BannersPage {
        banners: documents::status::all_banners(view.as_ref())?,
        sites: documents::status::unit_sites(view.as_ref())?,
        levels: BannerLevel::ALL,
        v,
        errors,
        form: form_id(),
        now: OffsetDateTime::now_utc(),
        c: ctx.c,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `POST /banners`: sets a new banner.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("status");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    if !may_manage(&user) {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let v = BannerForm {
        text: f.text("text"),
        level: f.text("level"),
        sites: f.0.iter().filter(|(k, _)| k == "site").map(|(_, s)| s.clone()).collect(),
        starts_at: f.text("starts_at"),
        ends_at: f.text("ends_at"),
    };
    let mut errors = Errors::default();
    let Some((starts_at, ends_at)) = errors.window(lang, &v.starts_at, &v.ends_at, "banner.bad_time") else {
        return show(ctx, v, errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let fields = BannerFields {
        id: crate::api::common::new_id().into(),
        text: v.text.clone(),
        level: BannerLevel::parse(&v.level).unwrap_or(BannerLevel::Info),
        sites: v.sites.clone(),
        starts_at,
        ends_at,
    };
    match submit(&ctx, &user, f.get("form"), Command::PutBanner { expected_version: None, fields }).await? {
        Outcome::Saved { .. } => see_path("/banners?done=saved"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            match field.as_deref() {
                Some(k @ ("text" | "ends_at")) => errors.add(k, message),
                _ => errors.form = Some(message),
            }
            show(ctx, v, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `POST /banners/{id}/end`.
pub async fn end(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("status");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    match submit(&ctx, &user, f.get("form"), Command::EndBanner { banner_id: id.as_str().into() }).await? {
        Outcome::Saved { .. } => see_path("/banners?done=saved"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { rejection: Some(domain::Rejection::Forbidden { .. }), .. } => Err(ctx.forbidden()),
        Outcome::Refused { message, .. } => {
            let errors = Errors { form: Some(message), ..Default::default() };
            show(ctx, BannerForm::default(), errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[cfg(test)]
mod tests;
