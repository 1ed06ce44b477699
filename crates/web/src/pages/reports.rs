//! `/reports`: situation reports. The overview (every unit the user may see, late ones first in
//! red, each with its light, last report, needs and next due time; reports still in this node's
//! outbox shown as "not yet shared"), the reporting cycles (communicators and admins start and
//! stop them), the period's export and the blank paper form. `/reports/new` is the unit's form
//! (also for entering a paper form afterwards), `/reports/unit/{id}` a unit's history, and
//! `/reports/form` the organisation's fields. JSON twins: `/api/v1/reports…`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use documents::reports::{Row, field_label};
use domain::reports::{
    CycleFields, FieldKind, FieldValue, Light, ReportCycle, ReportField, ReportFields, Schedule, SituationReport,
};
use domain::{CareUnit, Command, Record, Role, StateViewExt, Table, UnitId, User};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::chrome::{Chrome, Ctx, Error, PageResult, render, see_path};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};
use crate::api::reports::{seer, waiting};

fn may_manage(user: &User) -> bool {
    matches!(user.role, Role::Communicator | Role::Admin)
}

/// The units `user` may report for, by site and name.
fn reportable(ctx: &Ctx, user: &User) -> Result<Vec<CareUnit>, Error> {
    let view = ctx.backend.view();
    let mut out: Vec<CareUnit> = documents::read_model::scan_all(view.as_ref(), Table::Unit)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Unit(u) if !u.withdrawn => Some(u),
            _ => None,
        })
        .filter(|u| domain::access::may_file_report(user, &u.id))
        .collect();
    out.sort_by(|a, b| a.site.cmp(&b.site).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The cycle form's values (kept when it is refused).
#[derive(Default)]
pub struct CycleForm {
    pub site: String,
    pub kind: String,
    pub minutes: String,
    pub first: String,
    pub times: String,
}

#[derive(Template)]
#[template(path = "reports/overview.html")]
struct OverviewPage {
    c: Chrome,
    rows: Vec<Row>,
    cycles: Vec<ReportCycle>,
    sites: Vec<String>,
    may_manage: bool,
    may_file: bool,
    all: bool,
    done: String,
    cycle: CycleForm,
    errors: Errors,
    form: String,
    today: String,
}

impl OverviewPage {
    fn light(&self, l: Option<Light>) -> &'static str {
        l.map_or("", |l| self.c.t(format!("report.light_{}", l.as_str())))
    }
    fn light_class(&self, l: Option<Light>) -> &'static str {
        l.map_or("none", Light::as_str)
    }
    fn cycle_text(&self, cy: &ReportCycle) -> String {
        documents::reports::cycle_text(self.c.lang, cy)
    }
    fn cycle_site(&self, cy: &ReportCycle) -> String {
        cy.site.clone().unwrap_or_else(|| self.c.t("report.all_sites").to_owned())
    }
    fn cycle_site_value(&self, cy: &ReportCycle) -> String {
        cy.site.clone().unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
pub struct OverviewQuery {
    done: Option<String>,
}

/// `GET /reports`.
pub async fn overview(ctx: Ctx, Query(q): Query<OverviewQuery>) -> PageResult {
    let ctx = ctx.in_section("reports");
    ctx.user()?;
    let done = q.done.filter(|d| matches!(d.as_str(), "saved" | "queued" | "cycle" | "stopped" | "form"));
    show_overview(ctx, done.unwrap_or_default(), CycleForm::default(), Errors::default(), StatusCode::OK)
}

fn show_overview(ctx: Ctx, done: String, cycle: CycleForm, errors: Errors, status: StatusCode) -> PageResult {
    let user = ctx.user()?;
    let view = ctx.backend.view();
    let now = OffsetDateTime::now_utc();
    // In exercise mode, the exercise's reports; otherwise the real ones.
    let exercise = ctx.c.exercise_id();
    let rows = documents::reports::overview(
        view.as_ref(),
        &seer(&user),
        &waiting(ctx.backend.as_ref()),
        exercise.as_ref(),
        ctx.lang(),
        now,
    )?;
    let page = OverviewPage {
        cycles: domain::reports::cycles(view.as_ref())?,
        sites: documents::status::unit_sites(view.as_ref())?,
        may_manage: may_manage(&user),
        may_file: !reportable(&ctx, &user)?.is_empty(),
        all: domain::access::may_see_all_reports(&user),
        rows,
        done,
        cycle,
        errors,
        form: form_id(),
        today: local_today(ctx.lang()),
        c: ctx.c,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `POST /reports/cycles`: starts (or replaces) the cycle of a site or of every site.
pub async fn start_cycle(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    if !may_manage(&user) {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let v = CycleForm {
        site: f.text("site"),
        kind: f.text("kind"),
        minutes: f.text("minutes"),
        first: f.text("first"),
        times: f.text("times"),
    };
    let mut errors = Errors::default();
    let schedule = if v.kind == "daily" {
        let times: Vec<String> = v.times.split([',', ' ', ';']).filter(|t| !t.is_empty()).map(pad_time).collect();
        if times.is_empty() || times.iter().any(|t| domain::reports::parse_hhmm(t).is_none()) {
            errors.add("times", lang.t("report.bad_times"));
        }
        Schedule::Daily { times }
    } else {
        let minutes = v.minutes.trim().parse::<u32>().ok().filter(|m| domain::reports::CYCLE_MINUTES.contains(m));
        if minutes.is_none() {
            errors.add("minutes", lang.t("report.bad_minutes"));
        }
        let minutes = minutes.unwrap_or(60);
        let first = if v.first.trim().is_empty() {
            Some(OffsetDateTime::now_utc() + Duration::minutes(i64::from(minutes)))
        } else {
            lang.parse_local(&v.first)
        };
        if first.is_none() {
            errors.add("first", lang.t("report.bad_first"));
        }
        Schedule::Every { first_due: first.unwrap_or_else(OffsetDateTime::now_utc), minutes }
    };
    if !errors.is_empty() {
        return show_overview(ctx, String::new(), v, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let site = Some(v.site.trim().to_owned()).filter(|s| !s.is_empty());
    let cmd = Command::StartReportCycle { fields: CycleFields { site, schedule } };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path("/reports?done=cycle"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            let mut errors = Errors::default();
            match field.as_deref() {
                Some(f @ ("minutes" | "times")) => errors.add(f, message),
                _ => errors.form = Some(message),
            }
            show_overview(ctx, String::new(), v, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// "8:00" → "08:00", so people need not type the zero.
fn pad_time(t: &str) -> String {
    match t.trim().split_once(['.', ':']) {
        Some((h, m)) if h.len() == 1 => format!("0{h}:{m}"),
        Some((h, m)) => format!("{h}:{m}"),
        None => t.trim().to_owned(),
    }
}

/// `POST /reports/cycles/stop`.
pub async fn stop_cycle(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let site = Some(f.text("site")).filter(|s| !s.trim().is_empty());
    match submit(&ctx, &user, f.get("form"), Command::StopReportCycle { site }).await? {
        Outcome::Saved { .. } => see_path("/reports?done=stopped"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { rejection: Some(domain::Rejection::Forbidden { .. }), .. } => Err(ctx.forbidden()),
        Outcome::Refused { message, .. } => {
            let errors = Errors { form: Some(message), ..Default::default() };
            show_overview(ctx, String::new(), CycleForm::default(), errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// One field of the report form with what was entered.
pub struct FieldRow {
    pub key: String,
    pub label: String,
    pub light_kind: bool,
    pub light: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "reports/new.html")]
struct NewPage {
    c: Chrome,
    units: Vec<CareUnit>,
    unit: String,
    light: String,
    fields: Vec<FieldRow>,
    needs: String,
    note: String,
    from_paper: bool,
    written_at: String,
    errors: Errors,
    form: String,
}

impl NewPage {
    fn light_word(&self, l: &Light) -> &'static str {
        self.c.t(format!("report.light_{}", l.as_str()))
    }
    fn lights(&self) -> [Light; 3] {
        Light::ALL
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    unit: Option<String>,
}

fn field_rows(ctx: &Ctx, f: Option<&Fields>) -> Result<Vec<FieldRow>, Error> {
    let form = domain::reports::form(ctx.backend.view().as_ref())?;
    Ok(form
        .iter()
        .map(|d| FieldRow {
            key: d.key.clone(),
            label: field_label(ctx.lang(), d),
            light_kind: d.kind == FieldKind::Light,
            light: f.map(|f| f.text(&format!("light_{}", d.key))).unwrap_or_default(),
            text: f.map(|f| f.text(&format!("text_{}", d.key))).unwrap_or_default(),
        })
        .collect())
}

/// `GET /reports/new?unit=`.
pub async fn new(ctx: Ctx, Query(q): Query<NewQuery>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let units = reportable(&ctx, &user)?;
    if units.is_empty() {
        return Err(ctx.forbidden());
    }
    let unit = q.unit.filter(|u| units.iter().any(|x| x.id.as_str() == u)).unwrap_or_default();
    let page = NewPage {
        fields: field_rows(&ctx, None)?,
        units,
        unit,
        light: String::new(),
        needs: String::new(),
        note: String::new(),
        from_paper: false,
        written_at: String::new(),
        errors: Errors::default(),
        form: form_id(),
        c: ctx.c,
    };
    render(&page)
}

/// `POST /reports`: files the unit's report (into the outbox when no leader can be reached).
pub async fn file(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let units = reportable(&ctx, &user)?;
    let fields = field_rows(&ctx, Some(&f))?;
    let mut errors = Errors::default();
    let unit = f.text("unit");
    if !units.iter().any(|u| u.id.as_str() == unit) {
        errors.add("unit", lang.t("report.pick_unit"));
    }
    let light = Light::parse(&f.text("light"));
    if light.is_none() {
        errors.add("light", lang.t("report.pick_light"));
    }
    let from_paper = f.flag("from_paper");
    let written_at = if from_paper {
        let t = lang.parse_local(&f.text("written_at"));
        if t.is_none() {
            errors.add("written_at", lang.t("report.bad_written_at"));
        }
        t
    } else {
        Some(OffsetDateTime::now_utc())
    };
    let values = fields
        .iter()
        .map(|r| FieldValue { key: r.key.clone(), light: Light::parse(&r.light), text: r.text.clone() })
        .collect();
    let page = |errors: Errors, ctx: Ctx| NewPage {
        units,
        unit: unit.clone(),
        light: f.text("light"),
        fields,
        needs: f.text("needs"),
        note: f.text("note"),
        from_paper,
        written_at: f.text("written_at"),
        errors,
        form: f.text("form"),
        c: ctx.c,
    };
    let refused = |p: NewPage| -> PageResult {
        let html = p.render().map_err(Error::internal)?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
    };
    if !errors.is_empty() {
        return refused(page(errors, ctx));
    }
    let report = ReportFields {
        unit_id: UnitId::new(unit.as_str()),
        light: light.unwrap_or(Light::Green),
        values,
        needs: f.text("needs"),
        note: f.text("note"),
        written_at: written_at.unwrap_or_else(OffsetDateTime::now_utc),
        from_paper,
        exercise: ctx.c.exercise_id(),
    };
    match submit(&ctx, &user, f.get("form"), Command::FileReport { fields: report }).await? {
        Outcome::Saved { .. } => see_path(&format!("/reports/unit/{unit}?done=saved")),
        // Shown on the overview as not yet shared (and in the outbox).
        Outcome::Queued { .. } => see_path("/reports?done=queued"),
        Outcome::Refused { message, field, .. } => {
            let mut errors = Errors::default();
            match field.as_deref() {
                Some("written_at") => errors.add("written_at", message),
                Some("needs") => errors.add("needs", message),
                Some("note") => errors.add("note", message),
                Some("unit_id") => errors.add("unit", message),
                _ => errors.form = Some(message),
            }
            refused(page(errors, ctx))
        }
    }
}

#[derive(Template)]
#[template(path = "reports/unit.html")]
struct UnitPage {
    c: Chrome,
    unit: CareUnit,
    form: Vec<ReportField>,
    reports: Vec<SituationReport>,
    pending: Vec<ReportFields>,
    may_file: bool,
}

impl UnitPage {
    fn light(&self, l: &Light) -> &'static str {
        self.c.t(format!("report.light_{}", l.as_str()))
    }
    fn label(&self, f: &ReportField) -> String {
        field_label(self.c.lang, f)
    }
    /// A field's answer in words: "Gul: two nurses ill".
    fn answer(&self, values: &[FieldValue], key: &str) -> String {
        let Some(v) = values.iter().find(|v| v.key == key) else { return String::new() };
        match (v.light, v.text.is_empty()) {
            (Some(l), true) => self.light(&l).to_owned(),
            (Some(l), false) => format!("{}: {}", self.light(&l), v.text),
            (None, _) => v.text.clone(),
        }
    }
}

/// `GET /reports/unit/{id}`: the unit's reports, the newest first.
pub async fn unit(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let unit_id = UnitId::new(id.as_str());
    if !domain::access::may_see_reports(&user, &unit_id) {
        return Err(ctx.forbidden());
    }
    let view = ctx.backend.view();
    let Some(unit) = view.unit(&unit_id)? else { return Err(ctx.not_found()) };
    let mut reports = domain::reports::history(view.as_ref(), &unit_id, 0, usize::MAX)?;
    reports.reverse();
    let pending = waiting(ctx.backend.as_ref()).into_iter().filter(|p| p.unit_id == unit_id).collect();
    let may_file = reportable(&ctx, &user)?.iter().any(|u| u.id == unit_id);
    let form = domain::reports::form(view.as_ref())?;
    render(&UnitPage { c: ctx.c, unit, form, reports, pending, may_file })
}

/// Today's date where the reader is (the language's zone), as `YYYY-MM-DD`: between midnight
/// there and midnight UTC the two differ.
fn local_today(lang: documents::i18n::Lang) -> String {
    lang.local_input(OffsetDateTime::now_utc()).chars().take(10).collect()
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// `GET /reports/export?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|xlsx`: the reports written
/// on those local days (both included).
pub async fn export(ctx: Ctx, Query(q): Query<ExportQuery>) -> PageResult {
    let user = ctx.user()?;
    let lang = ctx.lang();
    let day = |s: Option<&str>| {
        let s = s.unwrap_or_default().trim();
        let today = local_today(lang);
        let s = if s.is_empty() { today.as_str() } else { s };
        lang.parse_local(&format!("{s}T00:00"))
    };
    let (Some(from), Some(to)) = (day(q.from.as_deref()), day(q.to.as_deref())) else {
        return Err(Error::bad_request(lang.t("report.bad_period")));
    };
    let to = to + Duration::days(1);
    if from >= to || to - from > Duration::days(92) {
        return Err(Error::bad_request(lang.t("report.bad_period")));
    }
    let view = ctx.backend.view();
    let reports = documents::reports::period(view.as_ref(), &seer(&user), from, to)?;
    let name = format!("beredd-lagesrapporter-{}", from.date());
    let (body, mime, ext) = match q.format.as_deref().unwrap_or("csv") {
        "xlsx" => (
            documents::reports::xlsx(view.as_ref(), lang, &reports).map_err(Error::internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        _ => (
            documents::reports::csv(view.as_ref(), lang, &reports).map_err(Error::internal)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
    };
    let disposition = format!("attachment; filename=\"{name}.{ext}\"");
    Ok(([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// One row of the fields form.
pub struct FieldEdit {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "reports/fields.html")]
struct FieldsPage {
    c: Chrome,
    rows: Vec<FieldEdit>,
    version: u64,
    errors: Errors,
    form: String,
}

impl FieldsPage {
    fn default_label(&self, key: &str) -> &'static str {
        self.c.t(format!("report.field_{key}"))
    }
}

/// Rows enough for every field and three new ones.
fn edit_rows(fields: &[ReportField]) -> Vec<FieldEdit> {
    let mut rows: Vec<FieldEdit> = fields
        .iter()
        .map(|f| FieldEdit {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: if f.kind == FieldKind::Light { "light".into() } else { "text".into() },
            builtin: domain::reports::DEFAULT_KEYS.contains(&f.key.as_str()),
        })
        .collect();
    for _ in 0..3 {
        rows.push(FieldEdit { key: String::new(), label: String::new(), kind: "light".into(), builtin: false });
    }
    rows
}

/// `GET /reports/form`: the organisation's report fields (communicators and admins).
pub async fn fields(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    if !may_manage(&user) {
        return Err(ctx.forbidden());
    }
    let view = ctx.backend.view();
    let version = view.report_form()?.map_or(0, |f| f.version);
    let rows = edit_rows(&domain::reports::form(view.as_ref())?);
    render(&FieldsPage { c: ctx.c, rows, version, errors: Errors::default(), form: form_id() })
}

/// `POST /reports/form`.
pub async fn set_fields(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("reports");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    if !may_manage(&user) {
        return Err(ctx.forbidden());
    }
    let keys: Vec<String> = f.0.iter().filter(|(k, _)| k == "key").map(|(_, v)| v.trim().to_owned()).collect();
    let labels: Vec<String> = f.0.iter().filter(|(k, _)| k == "label").map(|(_, v)| v.trim().to_owned()).collect();
    let kinds: Vec<String> = f.0.iter().filter(|(k, _)| k == "kind").map(|(_, v)| v.clone()).collect();
    let fields: Vec<ReportField> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| !k.is_empty())
        .map(|(i, k)| ReportField {
            key: k.clone(),
            label: labels.get(i).cloned().unwrap_or_default(),
            kind: if kinds.get(i).is_some_and(|k| k == "text") { FieldKind::Text } else { FieldKind::Light },
        })
        .collect();
    let version: u64 = f.text("version").parse().unwrap_or(0);
    let expected_version = (version > 0).then_some(version);
    let cmd = Command::SetReportForm { fields: fields.clone(), expected_version };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path("/reports?done=form"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, .. } => {
            let errors = Errors { form: Some(message), ..Default::default() };
            let mut rows = edit_rows(&fields);
            rows.truncate(fields.len() + 3);
            let html = FieldsPage { c: ctx.c, rows, version, errors, form: f.text("form") }
                .render()
                .map_err(Error::internal)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
    }
}

#[cfg(test)]
mod tests;
