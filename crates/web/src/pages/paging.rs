//! `/pages`: paging the on-call for everyone signed in — the form ("which rota, what is it
//! about"), every page with where it stands, and `/pages/{id}`, one page's chain (who, by which
//! route, why, sent when, delivered or not) and timeline, with "cancel" for whoever raised it,
//! communicators, ops and admins. `/p/{id}/{step}/{token}` is the one-time link in each step's
//! message: it needs no login, asks first (a link scanner acknowledges nothing) and stops the
//! page. JSON twins: `/api/v1/pages`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::contacts::Rota;
use domain::dispatch::DispatchJob;
use domain::paging::{Event, Page, PageFields, PageState, Reason, Via};
use domain::{Command, PageId, Record, Role, StateView, StateViewExt, Table};
use serde::Deserialize;

use super::chrome::{Chrome, Ctx, Error, PageResult, render, see_path};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};

fn state_key(s: PageState) -> String {
    format!("page.state_{}", s.as_str())
}

/// Every rota as (id, name), by name.
fn rotas(view: &dyn StateView) -> Result<Vec<(String, String)>, Error> {
    let mut out: Vec<(String, String)> = documents::read_model::scan_all(view, Table::Rota)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Rota(Rota { id, name, .. }) => Some((id.to_string(), name)),
            _ => None,
        })
        .collect();
    out.sort_by_key(|r| r.1.to_lowercase());
    Ok(out)
}

#[derive(Template)]
#[template(path = "paging/list.html")]
struct ListPage {
    c: Chrome,
    pages: Vec<Page>,
    rotas: Vec<(String, String)>,
    rota: String,
    message: String,
    form: String,
    errors: Errors,
}

impl ListPage {
    fn state(&self, p: &Page) -> &'static str {
        self.c.t(state_key(p.state))
    }
    fn raiser(&self, p: &Page) -> String {
        p.raised_by.clone().unwrap_or_else(|| self.c.t("page.automatic").to_owned())
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    rota: Option<String>,
}

/// `GET /pages` (`?rota=` picks the rota in the form).
pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    ctx.user()?;
    let rota = q.rota.unwrap_or_default();
    show_list(ctx, rota, String::new(), Errors::default(), StatusCode::OK)
}

fn show_list(ctx: Ctx, rota: String, message: String, errors: Errors, status: StatusCode) -> PageResult {
    let view = ctx.backend.view();
    let pages = documents::paging::all(view.as_ref())?;
    let rotas = rotas(view.as_ref())?;
    let page = ListPage { c: ctx.c, pages, rotas, rota, message, form: form_id(), errors };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `POST /pages`: raises a page.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let (rota, message) = (f.text("rota"), f.text("message"));
    let id = crate::api::paging::new_page_id();
    let fields = PageFields {
        id: id.as_str().into(),
        rota_id: rota.as_str().into(),
        message: message.clone(),
        incident_id: None,
        lang: ctx.lang().code().into(),
        exercise: ctx.c.exercise_id(),
    };
    let cmd = Command::PageOnCall { fields, token: crate::api::paging::new_token() };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { id } => see_path(&format!("/pages/{id}")),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message: why, field, .. } => {
            let mut errors = Errors::default();
            match field.as_deref() {
                Some("message") => errors.add("message", why),
                Some("rota_id") => errors.add("rota", why),
                Some("chain") => errors.form = Some(ctx.lang().t("page.nobody").to_owned()),
                _ => errors.form = Some(why),
            }
            show_list(ctx, rota, message, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// One link of the chain as the page shows it.
pub struct StepRow {
    pub n: usize,
    pub name: String,
    pub via: &'static str,
    pub address: String,
    pub reason: &'static str,
    pub sent: Option<time::OffsetDateTime>,
    pub job: Option<DispatchJob>,
    pub current: bool,
}

impl StepRow {
    /// The job's state and, for a text, whether the network says it reached the phone.
    pub fn delivery(&self, c: &Chrome) -> String {
        let Some(job) = &self.job else { return c.t("page.not_yet").to_owned() };
        let mut s = c.t(format!("dispatch.state_{}", job.state.as_str())).to_owned();
        if let Some(a) = job.attempts.last() {
            s = format!("{s} ({})", a.detail);
        }
        if job.receipts.iter().any(domain::dispatch::Receipt::delivered) {
            s = format!("{s}, {}", c.t("page.delivered"));
        }
        s
    }
}

#[derive(Template)]
#[template(path = "paging/one.html")]
struct OnePage {
    c: Chrome,
    page: Page,
    raiser: String,
    steps: Vec<StepRow>,
    /// (time, words) of each timeline line.
    events: Vec<(time::OffsetDateTime, String)>,
    may_cancel: bool,
    form: String,
}

impl OnePage {
    fn state(&self) -> &'static str {
        self.c.t(state_key(self.page.state))
    }
    fn wait(&self) -> String {
        let s = self.page.wait_seconds;
        if s.is_multiple_of(60) { format!("{} min", s / 60) } else { format!("{s} s") }
    }
}

fn via_word(c: &Chrome, via: Via) -> &'static str {
    c.t(format!("page.via_{}", via.as_str()))
}

fn reason_word(c: &Chrome, r: Reason) -> &'static str {
    c.t(format!("page.reason_{}", r.as_str()))
}

/// A timeline line in words.
fn event_text(c: &Chrome, page: &Page, e: &Event) -> String {
    let name = |k: &usize| page.chain.get(*k).map_or_else(String::new, |l| l.name.clone());
    let via = |k: &usize| page.chain.get(*k).map_or("", |l| via_word(c, l.via));
    match e {
        Event::Paged { step } => c.tf("page.event_paged", &[("name", &name(step)), ("via", via(step))]),
        Event::NoAnswer { step } => c.tf("page.event_no_answer", &[("name", &name(step))]),
        Event::Acknowledged { step, via } => {
            let how = if via == "link" { c.t("page.via_link") } else { c.t("page.via_sms") };
            c.tf("page.event_acknowledged", &[("name", &name(step)), ("via", how)])
        }
        Event::Unanswered => c.t("page.event_unanswered").to_owned(),
        Event::Cancelled { reason } if reason.is_empty() => c.t("page.event_cancelled").to_owned(),
        Event::Cancelled { reason } => format!("{}: {reason}", c.t("page.event_cancelled")),
    }
}

/// `GET /pages/{id}`.
pub async fn one(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = ctx.user()?;
    let view = ctx.backend.view();
    let Some(page) = view.page(PageId::new(id.as_str()))? else { return Err(ctx.not_found()) };
    let c = ctx.c;
    let steps = page
        .chain
        .iter()
        .enumerate()
        .map(|(n, l)| StepRow {
            n: n + 1,
            name: l.name.clone(),
            via: via_word(&c, l.via),
            address: l.address.clone(),
            reason: reason_word(&c, l.reason),
            sent: page.paged_at(n),
            job: view.dispatch(page.step_job(n)).ok().flatten(),
            current: page.is_open() && n == page.step,
        })
        .collect();
    let events = page.timeline.iter().map(|e| (e.at, event_text(&c, &page, &e.event))).collect();
    let raiser = documents::paging::raiser(view.as_ref(), &page);
    let may_cancel = page.is_open()
        && (page.raised_by.as_deref() == Some(user.id.as_str())
            || matches!(user.role, Role::Communicator | Role::Ops | Role::Admin));
    render(&OnePage { c, page: page.redacted(), raiser, steps, events, may_cancel, form: form_id() })
}

/// `POST /pages/{id}/cancel`.
pub async fn cancel(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let cmd = Command::CancelPage { page_id: id.as_str().into(), reason: f.text("reason") };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/pages/{id}")),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { rejection: Some(domain::Rejection::Forbidden { .. }), .. } => Err(ctx.forbidden()),
        Outcome::Refused { message, .. } => Err(Error::internal(message)),
    }
}

#[derive(Template)]
#[template(path = "paging/ack.html")]
struct AckPage {
    c: Chrome,
    page: Option<Page>,
    action: String,
    /// What to say instead of the question (done, closed, unknown link, try later).
    said: Option<String>,
    error: bool,
}

impl AckPage {
    fn ask(&self) -> String {
        let rota = self.page.as_ref().map_or("", |p| p.rota_name.as_str());
        self.c.tf("page.ack_ask", &[("rota", rota)])
    }
}

/// The page a link names, if its token is right.
fn linked(ctx: &Ctx, id: &str, step: usize, token: &str) -> Result<Option<Page>, Error> {
    Ok(ctx.backend.view().page(PageId::new(id))?.filter(|p| p.token == token && step <= p.step))
}

/// `GET /p/{id}/{step}/{token}`: asks first.
pub async fn ack_page(ctx: Ctx, Path((id, step, token)): Path<(String, usize, String)>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let lang = ctx.lang();
    let page = linked(&ctx, &id, step, &token)?;
    let said = match &page {
        None => Some(lang.t("page.gone").to_owned()),
        Some(p) if !p.is_open() => Some(lang.tf("page.closed", &[("state", lang.t(&state_key(p.state)))])),
        Some(_) => None,
    };
    let action = format!("/p/{id}/{step}/{token}");
    render(&AckPage { c: ctx.c, page: page.map(|p| p.redacted()), action, said, error: false })
}

/// `POST /p/{id}/{step}/{token}`: the button. The token is the permission.
pub async fn ack(ctx: Ctx, Path((id, step, token)): Path<(String, usize, String)>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let lang = ctx.lang();
    let Some(page) = linked(&ctx, &id, step, &token)? else {
        let page = AckPage {
            c: ctx.c,
            page: None,
            action: String::new(),
            said: Some(lang.t("page.gone").into()),
            error: false,
        };
        return render(&page);
    };
    if !page.is_open() {
        let said = lang.tf("page.closed", &[("state", lang.t(&state_key(page.state)))]);
        return render(&AckPage {
            c: ctx.c,
            page: Some(page.redacted()),
            action: String::new(),
            said: Some(said),
            error: false,
        });
    }
    let result = crate::api::paging::acknowledge_with(&ctx.backend, &id, step, &token).await;
    let (said, error, status) = match result {
        Ok(()) => (lang.t("page.acked").to_owned(), false, StatusCode::OK),
        Err(e) if e.code == "no_quorum" || e.status == StatusCode::SERVICE_UNAVAILABLE => {
            (lang.t("page.later").to_owned(), true, StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(e) => (e.message, true, StatusCode::CONFLICT),
    };
    let action = format!("/p/{id}/{step}/{token}");
    let html = AckPage { c: ctx.c, page: Some(page.redacted()), action, said: Some(said), error }
        .render()
        .map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}
