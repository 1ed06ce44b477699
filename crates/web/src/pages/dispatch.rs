//! `/dispatch`: the outbound queue for purchasers — every job (pending, failed with its reason,
//! delivered, cancelled) with each attempt; "retry now", "cancel" and "sent by hand"; the job's
//! files to send by hand. `POST /dispatch/new` is the "send to supplier" button of the order and
//! purchasing pages. JSON twins: `/api/v1/dispatch`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::channels::{Attachment, Channel, WebhookBody};
use domain::dispatch::{Attempt, DispatchJob, JobState};
use domain::subscribers::{About, Notice};
use domain::{Command, OrderId, StateView, StateViewExt, SupplierId};
use serde::Deserialize;

use super::chrome::{Chrome, Ctx, Error, PageResult, render, safe_next, see_path, urlencode};
use super::form::Fields;
use super::{Outcome, form_id, submit};
use documents::i18n::Lang;

/// A job as a row of the queue and the head of its own page.
pub struct JobRow {
    pub job: DispatchJob,
    pub supplier: String,
    /// (id, number) of each order.
    pub orders: Vec<(String, String)>,
    pub channel: String,
}

impl JobRow {
    pub fn new(lang: Lang, view: &dyn StateView, job: DispatchJob) -> Self {
        if let Some(n) = &job.notice {
            let (to, about) = notice_words(lang, view, n);
            return Self {
                channel: channel_text(lang, &job.channel),
                supplier: to,
                orders: vec![(String::new(), about)],
                job,
            };
        }
        let supplier =
            view.supplier(&job.supplier_id).ok().flatten().map_or_else(|| job.supplier_id.to_string(), |s| s.name);
        let orders = job
            .order_ids
            .iter()
            .map(|id| {
                let number = view.order(id).ok().flatten().map_or_else(|| id.to_string(), |o| o.number);
                (id.to_string(), number)
            })
            .collect();
        Self { channel: channel_text(lang, &job.channel), supplier, orders, job }
    }

    pub fn state(&self) -> &'static str {
        state_key(self.job.state)
    }

    pub fn last(&self) -> Option<&Attempt> {
        self.job.attempts.last()
    }

    pub fn may_retry(&self) -> bool {
        matches!(self.job.state, JobState::Pending | JobState::Failed)
            && !matches!(self.job.channel, Channel::Manual { .. })
    }

    pub fn may_cancel(&self) -> bool {
        matches!(self.job.state, JobState::Pending | JobState::Failed)
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.job.channel, Channel::Manual { .. })
    }
}

/// A notice's recipient and subject, in words.
fn notice_words(lang: Lang, view: &dyn StateView, n: &Notice) -> (String, String) {
    let to = if let About::Page { id, step } = &n.about {
        let link = view.page(id).ok().flatten().and_then(|p| p.chain.get(*step).cloned());
        link.map_or_else(String::new, |l| l.name)
    } else if n.subscriber_id.is_empty() {
        lang.t("dispatch.to_lead").to_owned()
    } else {
        view.subscriber(&n.subscriber_id)
            .ok()
            .flatten()
            .map_or_else(|| lang.t("dispatch.unsubscribed").to_owned(), |s| s.name)
    };
    let title = |id: &domain::IncidentId| view.incident(id).ok().flatten().map_or_else(|| id.to_string(), |i| i.title);
    let about = match &n.about {
        About::Incident { id, update } => {
            lang.tf("dispatch.about_incident", &[("title", &title(id)), ("n", &update.to_string())])
        }
        About::Maintenance { id, update } => {
            let t = view.maintenance(id).ok().flatten().map_or_else(|| id.to_string(), |m| m.title);
            lang.tf("dispatch.about_maintenance", &[("title", &t), ("n", &update.to_string())])
        }
        About::Reminder { id, .. } => lang.tf("dispatch.about_reminder", &[("title", &title(id))]),
        About::Page { id, step } => {
            let rota = view.page(id).ok().flatten().map_or_else(|| id.to_string(), |p| p.rota_name);
            lang.tf("dispatch.about_page", &[("rota", &rota), ("n", &(step + 1).to_string())])
        }
        About::ReportDue { unit_id, due } => {
            let unit = view.unit(unit_id).ok().flatten().map_or_else(|| unit_id.to_string(), |u| u.name);
            lang.tf("dispatch.about_report", &[("unit", &unit), ("due", &lang.datetime(*due))])
        }
    };
    // A notice about an exercise's incident or page says so here too.
    let exercise = documents::exercises::of_notice(view, &n.about);
    (to, documents::exercises::marked(lang, exercise.as_ref(), &about))
}

fn state_key(s: JobState) -> &'static str {
    s.as_str()
}

/// How a channel sends, in words: "E-mail to a@b (PDF, PEPPOL XML)", "Webhook to …", "By hand: …".
pub fn channel_text(lang: Lang, ch: &Channel) -> String {
    match ch {
        Channel::Email { to, attach } => {
            let files: Vec<&str> = attach.iter().map(|a| attachment_label(lang, *a)).collect();
            lang.tf("channel.text_email", &[("to", &to.join(", ")), ("files", &files.join(", "))])
        }
        Channel::Webhook { url, body, secret } => {
            let body = match body {
                WebhookBody::Ubl => lang.t("export.ubl"),
                WebhookBody::Json => "JSON",
            };
            let signed = if secret.is_some() { lang.t("channel.signed") } else { "" };
            lang.tf("channel.text_webhook", &[("url", url), ("body", body), ("signed", signed)])
        }
        Channel::Manual { how } => lang.tf("channel.text_manual", &[("how", how)]),
        Channel::Sms { to } => lang.tf("channel.text_sms", &[("to", &to.join(", "))]),
    }
}

pub fn attachment_label(lang: Lang, a: Attachment) -> &'static str {
    match a {
        Attachment::Pdf => lang.t("export.pdf"),
        Attachment::Csv => lang.t("export.csv"),
        Attachment::Xlsx => lang.t("export.xlsx"),
        Attachment::Ubl => lang.t("export.ubl"),
    }
}

/// The jobs that carry `order`, newest first (for the order page's dispatch history).
pub fn for_order(lang: Lang, view: &dyn StateView, order: &OrderId) -> Result<Vec<JobRow>, domain::StateError> {
    Ok(documents::dispatch::all(view)?
        .into_iter()
        .filter(|j| j.order_ids.contains(order))
        .map(|j| JobRow::new(lang, view, j.redacted()))
        .collect())
}

const TABS: [&str; 5] = ["pending", "failed", "delivered", "cancelled", "all"];

#[derive(Deserialize, Default)]
pub struct StateQuery {
    #[serde(default)]
    state: String,
}

#[derive(Template)]
#[template(path = "dispatch/list.html")]
struct QueuePage {
    c: Chrome,
    tab: &'static str,
    tabs: Vec<(&'static str, usize)>,
    rows: Vec<JobRow>,
    form: String,
    error: Option<String>,
}

/// `GET /dispatch?state=…`.
pub async fn list(ctx: Ctx, Query(q): Query<StateQuery>) -> PageResult {
    let page = queue_page(ctx, &q.state, None)?;
    render(&page)
}

fn queue_page(ctx: Ctx, state: &str, error: Option<String>) -> Result<QueuePage, Error> {
    let ctx = ctx.in_section("dispatch");
    if !ctx.c.may_purchase() && !ctx.c.may_manage_status() {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let view = ctx.backend.view();
    // Purchasers see orders, communicators status notices, admins both.
    let user = ctx.user()?;
    let jobs: Vec<DispatchJob> = documents::dispatch::all(view.as_ref())?
        .into_iter()
        .filter(|j| domain::access::may_see_dispatch(&user, j))
        .collect();
    let tab = TABS.iter().copied().find(|t| *t == state).unwrap_or("pending");
    let tabs =
        TABS.iter().map(|t| (*t, jobs.iter().filter(|j| *t == "all" || state_key(j.state) == *t).count())).collect();
    let rows = jobs
        .into_iter()
        .filter(|j| tab == "all" || state_key(j.state) == tab)
        .map(|j| JobRow::new(lang, view.as_ref(), j.redacted()))
        .collect();
    Ok(QueuePage { c: ctx.c, tab, tabs, rows, form: form_id(), error })
}

#[derive(Template)]
#[template(path = "dispatch/job.html")]
struct JobPage {
    c: Chrome,
    row: JobRow,
    form: String,
    error: Option<String>,
    how: String,
    /// The files a person may download to send the job by hand: (format, label).
    formats: Vec<(&'static str, &'static str)>,
}

/// `GET /dispatch/{id}`.
pub async fn one(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let page = job_page(ctx, &id, None, String::new())?;
    render(&page)
}

fn job_page(ctx: Ctx, id: &str, error: Option<String>, how: String) -> Result<JobPage, Error> {
    let ctx = ctx.in_section("dispatch");
    let view = ctx.backend.view();
    let Some(job) = view.dispatch(id)? else { return Err(ctx.not_found()) };
    if !domain::access::may_see_dispatch(&ctx.user()?, &job) {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let row = JobRow::new(lang, view.as_ref(), job.redacted());
    let formats = vec![
        ("pdf", lang.t("export.pdf")),
        ("csv", lang.t("export.csv")),
        ("xlsx", lang.t("export.xlsx")),
        ("ubl", lang.t("export.ubl")),
    ];
    Ok(JobPage { c: ctx.c, row, form: form_id(), error, how, formats })
}

/// `POST /dispatch/{id}/do/{retry|cancel|manual}`.
pub async fn act(
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(f);
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let how = f.text("how");
    let cmd = match action.as_str() {
        "retry" => Command::RetryDispatch { job_id: id.as_str().into() },
        "cancel" => Command::CancelDispatch { job_id: id.as_str().into() },
        "manual" => Command::RecordManualSend { job_id: id.as_str().into(), how: how.clone() },
        _ => return Err(ctx.not_found()),
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => {
            let back = f.get("back").map(|b| safe_next(Some(b)));
            let to = back.unwrap_or_else(|| format!("/dispatch/{}", urlencode(&id)));
            let sep = if to.contains('?') { '&' } else { '?' };
            see_path(&format!("{to}{sep}done=dispatch_{action}"))
        }
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, .. } => {
            let page = job_page(ctx, &id, Some(message), how)?;
            let html = page.render().map_err(Error::internal)?;
            Ok((StatusCode::CONFLICT, Html(html)).into_response())
        }
    }
}

/// `POST /dispatch/new`: send approved orders (`order`, repeated) to `supplier_id` through its
/// channel. Only with a majority: a job queued on a cut-off node would go out late, after the
/// hospital had phoned the order in.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let f = Fields(f);
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let order_ids: Vec<OrderId> =
        f.0.iter().filter(|(k, _)| k == "order").map(|(_, v)| OrderId::new(v.trim())).collect();
    let job_id = crate::api::common::new_id();
    let cmd = Command::Dispatch {
        job_id: job_id.as_str().into(),
        supplier_id: SupplierId::new(f.text("supplier_id")),
        order_ids,
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { id } => {
            let id = if id.is_empty() { job_id } else { id };
            see_path(&format!("/dispatch/{}?done=dispatched", urlencode(&id)))
        }
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, rejection, .. } => {
            let message = match rejection {
                None if !ctx.c.quorum => lang.t("dispatch.no_quorum").to_owned(),
                _ => message,
            };
            let page = queue_page(ctx, "pending", Some(message))?;
            let html = page.render().map_err(Error::internal)?;
            Ok((StatusCode::CONFLICT, Html(html)).into_response())
        }
    }
}
