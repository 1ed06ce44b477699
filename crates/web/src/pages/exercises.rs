//! `/exercises`: the crisis staff (communicators), ops and admins plan an exercise (name, start,
//! end), end it, clear what was made in it and attach failover drill reports; everyone signed in
//! sees the list and can work in a running exercise ("exercise mode", a cookie of this browser):
//! then every incident, page, report and order they make is made in it and marked ÖVNING.
//! JSON twin: `/api/v1/exercises`.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use domain::drills::DrillReport;
use domain::exercises::{Exercise, ExerciseFields, Made};
use domain::{Command, ExerciseId, Role, StateViewExt, User};
use time::{Duration, OffsetDateTime};

use super::chrome::{Chrome, Ctx, EXERCISE_COOKIE, Error, PageResult, see_path};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};

fn may_run(user: &User) -> bool {
    matches!(user.role, Role::Communicator | Role::Ops | Role::Admin)
}

/// The plan form's values (kept when it is refused).
#[derive(Default)]
pub struct PlanForm {
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Template)]
#[template(path = "exercises/list.html")]
struct ListPage {
    c: Chrome,
    exercises: Vec<Exercise>,
    may_run: bool,
    v: PlanForm,
    errors: Errors,
    form: String,
    now: OffsetDateTime,
}

impl ListPage {
    fn state(&self, x: &Exercise) -> &'static str {
        documents::exercises::state_word(self.c.lang, x, self.now)
    }

    fn running(&self, x: &Exercise) -> bool {
        x.is_running(self.now)
    }

    fn count(&self, x: &Exercise) -> String {
        let n = if x.is_cleared() { x.cleared as usize } else { x.made.len() };
        self.c.count("exercise.counts", n)
    }
}

/// One record made in an exercise, as the exercise's page lists it.
pub struct MadeRow {
    pub kind: &'static str,
    pub label: String,
    /// Where to read it (none for a dispatch job the reader may not see).
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "exercises/one.html")]
struct OnePage {
    c: Chrome,
    x: Exercise,
    made: Vec<MadeRow>,
    drills: Vec<DrillReport>,
    /// Drill reports not yet attached, for the attach form.
    others: Vec<DrillReport>,
    may_run: bool,
    cleared_text: String,
    form: String,
    now: OffsetDateTime,
}

impl OnePage {
    fn state(&self) -> &'static str {
        documents::exercises::state_word(self.c.lang, &self.x, self.now)
    }

    fn over(&self) -> bool {
        self.x.is_over(self.now)
    }
}

/// `GET /exercises`.
pub async fn list(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("exercises");
    ctx.user()?;
    let lang = ctx.lang();
    let now = OffsetDateTime::now_utc();
    let v = PlanForm {
        name: String::new(),
        starts_at: lang.local_input(now),
        ends_at: lang.local_input(now + Duration::hours(4)),
    };
    show(ctx, v, Errors::default(), StatusCode::OK)
}

fn show(ctx: Ctx, v: PlanForm, errors: Errors, status: StatusCode) -> PageResult {
    let user = ctx.user()?;
    let page = ListPage {
        exercises: documents::exercises::all(ctx.backend.view().as_ref())?,
        may_run: may_run(&user),
        v,
        errors,
        form: form_id(),
        now: OffsetDateTime::now_utc(),
        c: ctx.c,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `POST /exercises`: plans a new exercise.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("exercises");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    if !may_run(&user) {
        return Err(ctx.forbidden());
    }
    let lang = ctx.lang();
    let v = PlanForm { name: f.text("name"), starts_at: f.text("starts_at"), ends_at: f.text("ends_at") };
    let mut errors = Errors::default();
    let Some((starts_at, ends_at)) = errors.window(lang, &v.starts_at, &v.ends_at, "exercise.bad_time") else {
        return show(ctx, v, errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let fields = ExerciseFields { id: crate::api::common::new_id().into(), name: v.name.clone(), starts_at, ends_at };
    match submit(&ctx, &user, f.get("form"), Command::PutExercise { expected_version: None, fields }).await? {
        Outcome::Saved { .. } => see_path("/exercises?done=saved"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            match field.as_deref() {
                Some(k @ ("name" | "ends_at")) => errors.add(k, message),
                _ => errors.form = Some(message),
            }
            show(ctx, v, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// `GET /exercises/{id}`: what was made in it, its drill reports.
pub async fn one(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("exercises");
    let user = ctx.user()?;
    let view = ctx.backend.view();
    let x = view.exercise(ExerciseId::new(id.as_str()))?.ok_or_else(|| ctx.not_found())?;
    let lang = ctx.lang();
    let mut made = Vec::new();
    for m in &x.made {
        made.push(made_row(view.as_ref(), &user, m)?);
    }
    let all = documents::drills::all(view.as_ref())?;
    let (drills, others) = all.into_iter().partition(|d| x.drills.contains(&d.id));
    let cleared_text = match &x.cleared_at {
        Some(at) => lang.tf(
            "exercise.cleared_text",
            &[
                ("at", &lang.datetime(*at)),
                ("by", x.cleared_by.as_deref().unwrap_or("–")),
                ("n", &x.cleared.to_string()),
            ],
        ),
        None => String::new(),
    };
    let page = OnePage {
        made,
        drills,
        others,
        may_run: may_run(&user),
        cleared_text,
        form: form_id(),
        now: OffsetDateTime::now_utc(),
        c: ctx.c,
        x,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok(Html(html).into_response())
}

/// A made record's line: what it is and, where the reader may see it, the link to it. Staff see
/// only their own units' orders and reports (the rest is listed by kind alone).
fn made_row(view: &dyn domain::StateView, user: &User, m: &Made) -> Result<MadeRow, Error> {
    let (label, link) = match m {
        Made::Incident { id } => {
            let title = view.incident(id)?.map_or_else(|| id.to_string(), |i| i.title);
            (title, Some(format!("/status#incident-{id}")))
        }
        Made::Page { id } => {
            let message = view.page(id)?.map_or_else(|| id.to_string(), |p| p.message);
            (message, Some(format!("/pages/{id}")))
        }
        Made::Report { key } if domain::access::may_see_reports(user, &key.unit_id) => {
            let unit = view.unit(&key.unit_id)?.map_or_else(|| key.unit_id.to_string(), |u| u.name);
            (format!("{unit} #{}", key.n), Some(format!("/reports/unit/{}", key.unit_id)))
        }
        Made::Order { id } => match view.order(id)? {
            Some(o) if domain::access::may_see_order(user, &o) => (o.number, Some(format!("/orders/{id}"))),
            _ => (String::new(), None),
        },
        Made::Report { .. } | Made::Dispatch { .. } => (String::new(), None),
    };
    Ok(MadeRow { kind: m.kind(), label, link })
}

/// `POST /exercises/{id}/end`, `…/clear` and `…/attach` (a drill report).
pub async fn act(
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let ctx = ctx.in_section("exercises");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let exercise_id = ExerciseId::new(id.as_str());
    let cmd = match action.as_str() {
        "end" => Command::EndExercise { exercise_id },
        "clear" => Command::ClearExercise { exercise_id },
        "attach" => Command::AttachDrill { exercise_id, drill_id: f.text("drill_id").as_str().into() },
        _ => return Err(ctx.not_found()),
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/exercises/{id}?done=saved")),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { rejection: Some(domain::Rejection::Forbidden { .. }), .. } => Err(ctx.forbidden()),
        Outcome::Refused { message, .. } => Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", &message)),
    }
}

/// `POST /exercises/{id}/join`: this browser works in the exercise from now on (while it runs).
pub async fn join(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("exercises");
    ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let now = OffsetDateTime::now_utc();
    let running = ctx.backend.view().exercise(ExerciseId::new(id.as_str()))?.filter(|x| x.is_running(now));
    let Some(x) = running else {
        return Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, "exercise_closed", ctx.c.t("exercise.state_over")));
    };
    let max_age = (x.end() - now).whole_seconds().max(1);
    let secure = if ctx.backend.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!("{EXERCISE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", x.id);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// `POST /exercises/leave`: back to real work.
pub async fn leave(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let secure = if ctx.backend.secure_cookies() { "; Secure" } else { "" };
    let cookie = format!("{EXERCISE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/exercises")).into_response())
}

#[cfg(test)]
mod tests;
