//! Accounts, for admins: list, create (with a password, units, and an optional expiry such as
//! the 24 hours of a federated account), edit, disable or enable, end all sessions; and the
//! audit trail, with its CSV export.

use super::chrome::{Chrome, Ctx, Error, PageResult, index, render, see_path, urlencode};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use documents::i18n::parse_date;
use domain::KeyId;
use domain::command::UserFields;
use domain::{Command, Record, Role, StateViewExt, Table, UnitId, User, UserId};
use serde::Deserialize;
use time::OffsetDateTime;

pub struct UserRow {
    pub user: User,
    pub units: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<UserRow>,
}

pub async fn list(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let view = ctx.backend.view();
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let batch = view.scan(Table::User, after.as_deref(), 500)?;
        let n = batch.len();
        for r in batch {
            if let Record::User(u) = r {
                after = Some(u.id.to_string());
                let mut names = Vec::new();
                for id in &u.units {
                    names.push(view.unit(id)?.map_or_else(|| id.to_string(), |x| x.name));
                }
                rows.push(UserRow { active: u.is_active(now), units: names.join(", "), user: u });
            }
        }
        if n < 500 {
            break;
        }
    }
    render(&ListPage { c: ctx.c, rows })
}

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    c: Chrome,
    /// The account being edited (None: a new one).
    id: Option<String>,
    version: u64,
    form: String,
    user_id: String,
    name: String,
    role: String,
    /// Every unit: (id, "name – site", chosen).
    units: Vec<(String, String, bool)>,
    /// `YYYY-MM-DD` or empty.
    expires: String,
    disabled: bool,
    errors: Errors,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/admin/users/{}", urlencode(id)),
            None => "/admin/users/new".into(),
        }
    }

    fn roles(&self) -> Vec<&'static str> {
        Role::ALL.iter().map(|r| r.as_str()).collect()
    }
}

fn unit_choices(ctx: &Ctx, chosen: &[String]) -> Result<Vec<(String, String, bool)>, Error> {
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    Ok(ix
        .units
        .values()
        .map(|u| (u.id.to_string(), format!("{} – {}", u.name, u.site), chosen.contains(&u.id.to_string())))
        .collect())
}

fn show(page: FormPage, status: StatusCode) -> PageResult {
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

pub async fn new_page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let units = unit_choices(&ctx, &[])?;
    show(
        FormPage {
            id: None,
            version: 0,
            form: form_id(),
            user_id: String::new(),
            name: String::new(),
            role: "staff".into(),
            units,
            expires: String::new(),
            disabled: false,
            errors: Errors::default(),
            c: ctx.c,
        },
        StatusCode::OK,
    )
}

pub async fn edit_page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let Some(u) = ctx.backend.view().user(UserId::new(&id))? else { return Err(ctx.not_found()) };
    let chosen: Vec<String> = u.units.iter().map(ToString::to_string).collect();
    let units = unit_choices(&ctx, &chosen)?;
    show(
        FormPage {
            id: Some(id),
            version: u.version,
            form: form_id(),
            user_id: u.id.to_string(),
            name: u.name.clone(),
            role: u.role.as_str().into(),
            units,
            expires: u.expires_at.map(|t| t.date().to_string()).unwrap_or_default(),
            disabled: u.disabled,
            errors: Errors::default(),
            c: ctx.c,
        },
        StatusCode::OK,
    )
}

pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, None, Fields(f)).await
}

pub async fn update(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, Some(id), Fields(f)).await
}

/// The end of the chosen day in Stockholm, as the moment an account stops working.
fn end_of_day(d: time::Date) -> Option<OffsetDateTime> {
    let next = d.next_day()?;
    let ts = jiff::civil::date(
        i16::try_from(next.year()).ok()?,
        i8::try_from(u8::from(next.month())).ok()?,
        i8::try_from(next.day()).ok()?,
    )
    .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Stockholm").ok()?)
    .ok()?
    .timestamp();
    OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
}

async fn save(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let ctx = ctx.in_section("admin");
    let admin = ctx.admin()?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let existing = match &id {
        Some(id) => match ctx.backend.view().user(UserId::new(id))? {
            Some(u) => Some(u),
            None => return Err(ctx.not_found()),
        },
        None => None,
    };
    let mut errors = Errors::default();
    let user_id = id.clone().unwrap_or_else(|| f.text("user_id"));
    let role = match Role::ALL.iter().find(|r| r.as_str() == f.text("role")) {
        Some(r) => *r,
        None => {
            errors.add("role", lang.t("problem.required"));
            Role::Staff
        }
    };
    let chosen: Vec<String> = f.0.iter().filter(|(k, _)| k == "units").map(|(_, v)| v.clone()).collect();
    let expires = f.text("expires");
    let valid_24h = f.flag("valid_24h");
    let expires_at = if valid_24h {
        Some(OffsetDateTime::now_utc() + time::Duration::hours(24))
    } else if expires.is_empty() {
        None
    } else {
        match parse_date(&expires).and_then(end_of_day) {
            Some(t) => Some(t),
            None => {
                errors.add("expires", lang.t("problem.bad_date"));
                None
            }
        }
    };
    let password = f.get("password").unwrap_or_default().to_owned();
    let password_hash = if password.is_empty() {
        if existing.is_none() {
            errors.add("password", lang.tf("users.password_short", &[("n", &crate::auth::MIN_PASSWORD.to_string())]));
        }
        None
    } else if password.chars().count() < crate::auth::MIN_PASSWORD {
        errors.add("password", lang.tf("users.password_short", &[("n", &crate::auth::MIN_PASSWORD.to_string())]));
        None
    } else {
        Some(crate::auth::hash_password(&password)?)
    };
    let mut form = f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned);
    let version = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    if errors.is_empty() {
        let fields = UserFields {
            id: UserId::new(&user_id),
            name: f.text("name"),
            role,
            units: chosen.iter().map(UnitId::new).collect(),
            password_hash,
            expires_at,
        };
        let cmd = match &existing {
            None => Command::CreateUser(fields),
            Some(_) => Command::UpdateUser { expected_version: version, fields },
        };
        match submit(&ctx, &admin, Some(&form), cmd).await? {
            Outcome::Saved { .. } => return see_path("/admin/users?done=saved"),
            Outcome::Queued { seq } => return see_path(&Outcome::queued_path(seq)),
            Outcome::Refused { message, field, rejection } => {
                if rejection.is_some() {
                    form = form_id();
                }
                match field.as_deref() {
                    Some("id") => errors.add("user_id", message),
                    Some(f) if f.starts_with("units") => errors.add("units", message),
                    Some(f) => errors.add(f, message),
                    None => errors.form = Some(message),
                }
            }
        }
    }
    let units = unit_choices(&ctx, &chosen)?;
    show(
        FormPage {
            id,
            version,
            form,
            user_id,
            name: f.text("name"),
            role: role.as_str().into(),
            units,
            expires,
            disabled: existing.is_some_and(|u| u.disabled),
            errors,
            c: ctx.c,
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// `POST /admin/users/{id}/{action}`: disable, enable, or end every session.
pub async fn action(
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let ctx = ctx.in_section("admin");
    let admin = ctx.admin()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let user_id = UserId::new(&id);
    let cmd = match action.as_str() {
        "disable" => Command::SetUserDisabled { user_id, disabled: true },
        "enable" => Command::SetUserDisabled { user_id, disabled: false },
        "logout" => Command::LogoutEverywhere { user_id },
        _ => return Err(ctx.not_found()),
    };
    match submit(&ctx, &admin, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/admin/users/{}?done=saved", urlencode(&id))),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, .. } => Err(Error::new(StatusCode::CONFLICT, "user.refused", message)),
    }
}

#[derive(Template)]
#[template(path = "users/audit.html")]
struct AuditPage {
    c: Chrome,
    entries: Vec<domain::AuditEntry>,
    pager: super::catalog::Pager,
    /// This node's logins and logouts (not replicated), newest first.
    access: Vec<crate::backend::AccessEvent>,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    page: Option<usize>,
}

const AUDIT_PAGE: usize = 100;

/// The audit trail, newest first, 100 lines a page.
pub async fn audit(ctx: Ctx, Query(q): Query<AuditQuery>) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let view = ctx.backend.view();
    let last = ctx.backend.read_model().get(view.as_ref())?.upto.log_index;
    let total = usize::try_from(last).unwrap_or(0);
    let pager = super::catalog::Pager::new("/admin/audit?", q.page.unwrap_or(1), total, AUDIT_PAGE);
    // A page is a window of AUDIT_PAGE log indexes, newest first: every line of those entries
    // (an entry carries a batch of commands, so a window can hold more lines than indexes).
    let top = last.saturating_sub(((pager.page - 1) * AUDIT_PAGE) as u64);
    let from = top.saturating_sub(AUDIT_PAGE as u64);
    let mut entries: Vec<domain::AuditEntry> = Vec::new();
    let mut after = format!("{from:020}/");
    'window: loop {
        let batch = view.scan(Table::Audit, Some(&after), AUDIT_PAGE)?;
        let n = batch.len();
        for r in batch {
            let Record::Audit(a) = r else { continue };
            if a.log_index > top {
                break 'window;
            }
            after = a.seq().key_text();
            entries.push(a);
        }
        if n < AUDIT_PAGE {
            break;
        }
    }
    entries.reverse();
    let access = ctx.backend.access_log(200);
    render(&AuditPage { c: ctx.c, entries, pager, access })
}
