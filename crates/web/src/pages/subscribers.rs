//! `/status/subscribers`: who gets incident updates and maintenance changes, by e-mail, text
//! message, both, or webhook, for which sites and systems (communicators and admins add, change and remove them);
//! and `/status/unsubscribe/{id}/{token}`, the one-click link in every notice, which needs no
//! login. JSON twins: `/api/v1/subscribers`.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::subscribers::{Subscriber, SubscriberFields, Target};
use domain::{Command, Record, StateViewExt, SystemId, Table};

use super::chrome::{Chrome, Ctx, Error, PageResult, see_path};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};

#[derive(Template)]
#[template(path = "subscribers/list.html")]
struct ListPage {
    c: Chrome,
    subscribers: Vec<Subscriber>,
    /// System id → "name (site)".
    systems: Vec<(String, String)>,
    form: String,
}

impl ListPage {
    fn target(&self, s: &Subscriber) -> String {
        match &s.target {
            Target::Email { address } => address.clone(),
            Target::Webhook { url, .. } => format!("{} {url}", self.c.t("subscribers.webhook")),
            Target::Sms { phone } => format!("{} {phone}", self.c.t("subscribers.kind_sms")),
            Target::EmailAndSms { address, phone } => {
                format!("{address}, {} {phone}", self.c.t("subscribers.kind_sms"))
            }
        }
    }
    fn lang_name(&self, code: &str) -> &'static str {
        documents::i18n::Lang::parse(code).map_or("", documents::i18n::Lang::own_name)
    }
    fn follows(&self, s: &Subscriber) -> String {
        let systems = s
            .systems
            .iter()
            .map(|id| self.systems.iter().find(|(i, _)| i == id.as_str()).map_or(id.as_str(), |(_, n)| n.as_str()));
        s.sites.iter().map(String::as_str).chain(systems).collect::<Vec<_>>().join(", ")
    }
}

fn may_manage(ctx: &Ctx) -> Result<(), Error> {
    if ctx.c.may_manage_status() { Ok(()) } else { Err(ctx.forbidden()) }
}

/// Every system as (id, "name (site)"), and every site once, for the pickers.
/// (system id, label) pairs and site names.
type Pickers = (Vec<(String, String)>, Vec<String>);

fn systems_and_sites(ctx: &Ctx) -> Result<Pickers, Error> {
    let mut systems = Vec::new();
    let mut sites: Vec<String> = Vec::new();
    for r in documents::read_model::scan_all(ctx.backend.view().as_ref(), Table::System)? {
        if let Record::System(s) = r {
            let label = if s.site.is_empty() { s.name.clone() } else { format!("{} ({})", s.name, s.site) };
            if !s.site.is_empty() && !sites.contains(&s.site) {
                sites.push(s.site.clone());
            }
            systems.push((s.id.to_string(), label));
        }
    }
    systems.sort_by(|a, b| a.1.cmp(&b.1));
    sites.sort();
    Ok((systems, sites))
}

/// `GET /status/subscribers`.
pub async fn list(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    let subscribers = documents::subscribers::all(ctx.backend.view().as_ref())?;
    let (systems, _) = systems_and_sites(&ctx)?;
    super::chrome::render(&ListPage { c: ctx.c, subscribers, systems, form: form_id() })
}

/// The form's values, as stored or as typed (never the secret).
#[derive(Default)]
struct Values {
    name: String,
    kind: String,
    address: String,
    url: String,
    has_secret: bool,
    phone: String,
    sites: Vec<String>,
    systems: Vec<String>,
    lang: String,
}

#[derive(Template)]
#[template(path = "subscribers/form.html")]
struct FormPage {
    c: Chrome,
    id: Option<String>,
    version: u64,
    v: Values,
    all_sites: Vec<String>,
    all_systems: Vec<(String, String)>,
    form: String,
    errors: Errors,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/status/subscribers/{id}/edit"),
            None => "/status/subscribers/new".into(),
        }
    }
    fn has_site(&self, s: &str) -> bool {
        self.v.sites.iter().any(|x| x == s)
    }
    fn has_system(&self, s: &str) -> bool {
        self.v.systems.iter().any(|x| x == s)
    }
}

fn show_form(ctx: Ctx, id: Option<String>, version: u64, v: Values, errors: Errors, status: StatusCode) -> PageResult {
    let (all_systems, mut all_sites) = systems_and_sites(&ctx)?;
    for s in &v.sites {
        if !all_sites.contains(s) {
            all_sites.push(s.clone());
        }
    }
    let page = FormPage { c: ctx.c, id, version, v, all_sites, all_systems, form: form_id(), errors };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `GET /status/subscribers/new`.
pub async fn new_page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    let v = Values { kind: "email".into(), lang: ctx.lang().code().into(), ..Values::default() };
    show_form(ctx, None, 0, v, Errors::default(), StatusCode::OK)
}

/// `GET /status/subscribers/{id}/edit`.
pub async fn edit_page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    let Some(s) = ctx.backend.view().subscriber(&id)? else { return Err(ctx.not_found()) };
    let (kind, address, url, has_secret) = match &s.target {
        Target::Email { address } => ("email", address.clone(), String::new(), false),
        Target::Webhook { url, secret } => ("webhook", String::new(), url.clone(), secret.is_some()),
        Target::Sms { .. } => ("sms", String::new(), String::new(), false),
        Target::EmailAndSms { address, .. } => ("email_sms", address.clone(), String::new(), false),
    };
    let v = Values {
        name: s.name.clone(),
        kind: kind.into(),
        address,
        url,
        has_secret,
        phone: s.target.phone().unwrap_or_default().to_owned(),
        sites: s.sites.clone(),
        systems: s.systems.iter().map(ToString::to_string).collect(),
        lang: s.lang.clone(),
    };
    show_form(ctx, Some(id), s.version, v, Errors::default(), StatusCode::OK)
}

/// `POST /status/subscribers/new`.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, None, Fields(f)).await
}

/// `POST /status/subscribers/{id}/edit`.
pub async fn update(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, Some(id), Fields(f)).await
}

async fn save(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let many = |name: &str| -> Vec<String> {
        f.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    };
    let v = Values {
        name: f.text("name"),
        kind: f.text("kind"),
        address: f.text("address"),
        url: f.text("url"),
        has_secret: false,
        phone: f.text("phone"),
        sites: many("site"),
        systems: many("system"),
        lang: f.text("lang"),
    };
    let target = match v.kind.as_str() {
        "webhook" => Target::Webhook { url: v.url.clone(), secret: Some(f.text("secret")).filter(|s| !s.is_empty()) },
        "sms" => Target::Sms { phone: v.phone.clone() },
        "email_sms" => Target::EmailAndSms { address: v.address.clone(), phone: v.phone.clone() },
        _ => Target::Email { address: v.address.clone() },
    };
    let version: u64 = f.get("version").and_then(|x| x.parse().ok()).unwrap_or(0);
    let fields = SubscriberFields {
        id: id.clone().unwrap_or_else(crate::api::common::new_id).into(),
        name: v.name.clone(),
        target,
        sites: v.sites.clone(),
        systems: v.systems.iter().map(SystemId::new).collect(),
        lang: v.lang.clone(),
    };
    let cmd = Command::PutSubscriber {
        expected_version: id.is_some().then_some(version),
        fields,
        token: crate::api::subscribers::new_token(),
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path("/status/subscribers?done=saved"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            let mut errors = Errors::default();
            match field.as_deref().map(|x| x.split('[').next().unwrap_or(x)) {
                Some(k @ ("name" | "address" | "phone" | "url" | "secret" | "lang")) => errors.add(k, message),
                Some("sites" | "systems") => errors.add("sites", message),
                _ => errors.form = Some(message),
            }
            show_form(ctx, id, version, v, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `POST /status/subscribers/{id}/remove`.
pub async fn remove(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    let f = Fields(f);
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    match submit(&ctx, &user, f.get("form"), Command::RemoveSubscriber { subscriber_id: id.into() }).await? {
        Outcome::Saved { .. } => see_path("/status/subscribers?done=removed"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, .. } => Err(Error::internal(message)),
    }
}

#[derive(Template)]
#[template(path = "subscribers/unsubscribe.html")]
struct UnsubscribePage {
    c: Chrome,
    name: String,
    action: String,
    done: bool,
    error: Option<String>,
}

impl UnsubscribePage {
    fn ask(&self) -> String {
        self.c.tf("subscribers.unsubscribe_ask", &[("name", &self.name)])
    }
}

/// `GET /status/unsubscribe/{id}/{token}`: asks first, so that a mail scanner following the
/// link unsubscribes nobody.
pub async fn unsubscribe_page(ctx: Ctx, Path((id, token)): Path<(String, String)>) -> PageResult {
    let ctx = ctx.in_section("status");
    let s = ctx.backend.view().subscriber(&id)?.filter(|s| s.token == token);
    let Some(s) = s else {
        let page = UnsubscribePage { c: ctx.c, name: String::new(), action: String::new(), done: true, error: None };
        return super::chrome::render(&page);
    };
    let action = format!("/status/unsubscribe/{id}/{token}");
    super::chrome::render(&UnsubscribePage { c: ctx.c, name: s.name, action, done: false, error: None })
}

/// `POST /status/unsubscribe/{id}/{token}`: the button, and mail programs' one-click
/// unsubscribe (RFC 8058, body `List-Unsubscribe=One-Click`). The token is the permission.
pub async fn unsubscribe(ctx: Ctx, Path((id, token)): Path<(String, String)>) -> PageResult {
    let ctx = ctx.in_section("status");
    let lang = ctx.lang();
    let name = ctx.backend.view().subscriber(&id)?.filter(|s| s.token == token).map(|s| s.name);
    let Some(name) = name else {
        // Already gone (a second click) or never was: the same answer, telling nothing.
        let page = UnsubscribePage { c: ctx.c, name: String::new(), action: String::new(), done: true, error: None };
        return super::chrome::render(&page);
    };
    let result = crate::api::subscribers::unsubscribe_with(&ctx.backend, &id, &token).await;
    let error = result.err().map(|e| {
        if e.code == "no_quorum" || e.status == StatusCode::SERVICE_UNAVAILABLE {
            lang.t("subscribers.unsubscribe_later").to_owned()
        } else {
            e.message
        }
    });
    let done = error.is_none();
    let action = format!("/status/unsubscribe/{id}/{token}");
    let page = UnsubscribePage { c: ctx.c, name, action, done, error };
    let html = page.render().map_err(Error::internal)?;
    let status = if done { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok((status, Html(html)).into_response())
}
