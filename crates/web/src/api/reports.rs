//! Situation reports over the API: `GET/POST /api/v1/reports` (a unit's staff for their units;
//! the crisis staff, ops, admins for every unit; purchasers read), `GET /api/v1/reports/overview`
//! (every unit the caller may see, late ones first, with reports still in this node's outbox),
//! `GET /api/v1/reports/export` (CSV or XLSX of a period), `GET /api/v1/reports/blank` (the
//! paper form as PDF), `GET/PUT /api/v1/reports/form` and `GET/POST /api/v1/reports/cycles`,
//! `POST /api/v1/reports/cycles/stop` (communicators and admins change them).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::reports::{CycleFields, FieldValue, Light, ReportField, ReportFields};
use domain::{Command, UnitId, User};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

use super::common::{ApiResult, Body, Shared, command_id, write};
use crate::auth::Actor;
use crate::backend::{Backend, Fate};
use crate::error::Error;
use documents::i18n::Lang;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/reports", get(list).post(file))
        .route("/api/v1/reports/overview", get(overview))
        .route("/api/v1/reports/export", get(export))
        .route("/api/v1/reports/blank", get(blank))
        .route("/api/v1/reports/form", get(form).put(set_form))
        .route("/api/v1/reports/cycles", get(cycles).post(start_cycle))
        .route("/api/v1/reports/cycles/stop", post(stop_cycle))
}

/// Reports filed on this node that wait in its outbox for a leader (not yet shared).
pub fn waiting(b: &dyn Backend) -> Vec<ReportFields> {
    b.outbox()
        .unwrap_or_default()
        .into_iter()
        .filter(|q| q.fate == Fate::Queued)
        .filter_map(|q| match q.cmd {
            Command::FileReport { fields } => Some(fields),
            _ => None,
        })
        .collect()
}

/// Whether `user` may see `unit`'s reports (a closure for the read models).
pub fn seer(user: &User) -> impl Fn(&UnitId) -> bool + '_ {
    move |u| domain::access::may_see_reports(user, u)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    unit_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

fn instant(field: &str, s: Option<&str>, default: OffsetDateTime) -> Result<OffsetDateTime, Error> {
    match s {
        None => Ok(default),
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| Error::bad_request(format!("{field} must be an RFC 3339 time, e.g. 2026-12-06T10:00:00Z"))),
    }
}

/// The period asked for: `from` to `to`, by default the last 24 hours; at most 92 days.
fn period(q: &PeriodQuery) -> Result<(OffsetDateTime, OffsetDateTime), Error> {
    let now = OffsetDateTime::now_utc();
    let to = instant("to", q.to.as_deref(), now + time::Duration::minutes(5))?;
    let from = instant("from", q.from.as_deref(), to - time::Duration::days(1))?;
    if from >= to || to - from > time::Duration::days(92) {
        return Err(Error::bad_request("from must be before to, and the period at most 92 days"));
    }
    Ok((from, to))
}

async fn list(State(b): Shared, actor: Actor, Query(q): Query<PeriodQuery>) -> ApiResult {
    let (from, to) = period(&q)?;
    let view = b.view();
    let unit = q.unit_id.as_deref().map(UnitId::new);
    if let Some(u) = &unit
        && !domain::access::may_see_reports(&actor.0, u)
    {
        return Err(super::common::forbidden("reports"));
    }
    let may = seer(&actor.0);
    let only = |u: &UnitId| may(u) && unit.as_ref().is_none_or(|x| x == u);
    let items = documents::reports::period(view.as_ref(), &only, from, to)?;
    let pending: Vec<ReportFields> = waiting(b.as_ref()).into_iter().filter(|p| only(&p.unit_id)).collect();
    Ok(Json(json!({ "items": items, "not_yet_shared": pending, "next": null })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    /// The overview of this exercise's reports instead of the real ones.
    exercise: Option<String>,
}

async fn overview(State(b): Shared, actor: Actor, Query(q): Query<OverviewQuery>) -> ApiResult {
    let view = b.view();
    let now = OffsetDateTime::now_utc();
    let exercise = q.exercise.map(domain::ExerciseId::from);
    let queued = waiting(b.as_ref());
    let rows = documents::reports::overview(view.as_ref(), &seer(&actor.0), &queued, exercise.as_ref(), Lang::Sv, now)?;
    let items: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "unit_id": r.unit.id,
                "unit": r.unit.name,
                "site": r.unit.site,
                "light": r.light(),
                "last_written_at": r.last_written().map(rfc3339),
                "needs": r.needs(),
                "due": r.due.map(rfc3339),
                "late": r.late,
                "latest": r.latest,
                "not_yet_shared": r.pending,
            })
        })
        .collect();
    let cycles = domain::reports::cycles(view.as_ref())?;
    Ok(Json(json!({ "items": items, "cycles": cycles, "at": rfc3339(now) })).into_response())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn lang_of(q: Option<&str>, headers: &HeaderMap) -> Result<Lang, Error> {
    match q {
        Some(l) => Lang::parse(l).ok_or_else(|| Error::bad_request(format!("lang must be sv, nb or en, not {l:?}"))),
        None => Ok(crate::lang::of_request(headers)),
    }
}

/// `format=csv` (default) or `xlsx`, of the reports written in the period.
async fn export(State(b): Shared, actor: Actor, headers: HeaderMap, Query(q): Query<PeriodQuery>) -> ApiResult {
    let lang = lang_of(q.lang.as_deref(), &headers)?;
    let (from, to) = period(&q)?;
    let view = b.view();
    let reports = documents::reports::period(view.as_ref(), &seer(&actor.0), from, to)?;
    let name = format!("beredd-lagesrapporter-{}", from.date());
    match q.format.as_deref().unwrap_or("csv") {
        "csv" => {
            let body = documents::reports::csv(view.as_ref(), lang, &reports).map_err(Error::internal)?;
            Ok(super::contacts::file(body, "text/csv; charset=utf-8", &format!("{name}.csv")))
        }
        "xlsx" => {
            let body = documents::reports::xlsx(view.as_ref(), lang, &reports).map_err(Error::internal)?;
            let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            Ok(super::contacts::file(body, mime, &format!("{name}.xlsx")))
        }
        other => Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "export.format",
            format!("format {other:?}: use csv or xlsx"),
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LangQuery {
    lang: Option<String>,
}

/// The blank paper form, with the organisation's fields.
async fn blank(State(b): Shared, _actor: Actor, headers: HeaderMap, Query(q): Query<LangQuery>) -> ApiResult {
    let lang = lang_of(q.lang.as_deref(), &headers)?;
    let fields = domain::reports::form(b.view().as_ref())?;
    let pdf = documents::export::report_form::write(&fields, lang, b.cluster().node_id).map_err(Error::internal)?;
    Ok(super::contacts::file(pdf, "application/pdf", "beredd-lagesrapport-blankett.pdf"))
}

/// What a client sends: the report, its time optional (now when absent).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub unit_id: String,
    pub light: Light,
    #[serde(default)]
    pub values: Vec<FieldValue>,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub note: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub written_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub from_paper: bool,
    /// The exercise it is made in (then marked as such everywhere).
    #[serde(default)]
    pub exercise: Option<String>,
}

async fn file(State(b): Shared, actor: Actor, h: HeaderMap, Body(n): Body<NewReport>) -> ApiResult {
    let fields = ReportFields {
        unit_id: n.unit_id.into(),
        light: n.light,
        values: n.values,
        needs: n.needs,
        note: n.note,
        written_at: n.written_at.unwrap_or_else(OffsetDateTime::now_utc),
        from_paper: n.from_paper,
        exercise: n.exercise.map(Into::into),
    };
    write(&b, &actor, &h, command_id(&h, None)?, Command::FileReport { fields }, StatusCode::CREATED).await
}

async fn form(State(b): Shared, _actor: Actor) -> ApiResult {
    let view = b.view();
    let version = domain::StateViewExt::report_form(view.as_ref())?.map(|f| f.version);
    Ok(Json(json!({ "fields": domain::reports::form(view.as_ref())?, "version": version })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormBody {
    fields: Vec<ReportField>,
    #[serde(default)]
    version: Option<u64>,
}

async fn set_form(State(b): Shared, actor: Actor, h: HeaderMap, Body(f): Body<FormBody>) -> ApiResult {
    let cmd = Command::SetReportForm { fields: f.fields, expected_version: f.version };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn cycles(State(b): Shared, _actor: Actor) -> ApiResult {
    Ok(Json(json!({ "items": domain::reports::cycles(b.view().as_ref())? })).into_response())
}

async fn start_cycle(State(b): Shared, actor: Actor, h: HeaderMap, Body(fields): Body<CycleFields>) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::StartReportCycle { fields }, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StopBody {
    #[serde(default)]
    site: Option<String>,
}

async fn stop_cycle(State(b): Shared, actor: Actor, h: HeaderMap, Body(s): Body<StopBody>) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::StopReportCycle { site: s.site }, StatusCode::OK).await
}
