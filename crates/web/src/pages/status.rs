//! The status board pages: `/status` for everyone (no login: it must work for whoever finds a
//! screen), its Atom feed, and `/status/manage`, where communicators set lights and readiness
//! levels, open and update incidents (from a prepared message if they like, with a preview of
//! the text message and e-mail subscribers get), and plan and advance maintenance.

use askama::Template;
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::command::{IncidentFields, IncidentUpdateFields, MaintenanceFields, ReadinessFields, SystemFields};
use domain::status::{Impact, IncidentStage, Maintenance, ReadinessLevel, SystemState};
use domain::{Command, IncidentId, MaintenanceId, Role, StateViewExt, SystemId, User};
use time::{Duration, OffsetDateTime};

use super::chrome::{Arg, Ctx, Error, PageResult, render, see_path};
use super::form::Fields;
use super::{Outcome, form_id, submit};
use documents::status::{Board, feed};

#[derive(Template)]
#[template(path = "status/page.html")]
struct StatusPage {
    c: super::chrome::Chrome,
    board: Board,
    now: OffsetDateTime,
}

#[derive(Template)]
#[template(path = "status/manage.html")]
struct ManagePage {
    c: super::chrome::Chrome,
    board: Board,
    form: String,
    /// The form that was refused, its values and the message.
    failed: String,
    posted: Fields,
    error: Option<String>,
    /// The preview asked for on one incident's update form.
    preview: Option<Preview>,
}

/// What subscribers would get for an update as typed.
struct Preview {
    incident: String,
    sms: String,
    /// "2 sms, GSM 7-bit, 40 left".
    fit: String,
    subject: String,
}

/// Choices offered for "next update in", in minutes.
const NEXT_IN: &[i64] = &[15, 30, 60, 90, 120, 240];

/// Helpers the two templates share.
trait BoardText {
    fn lang(&self) -> documents::i18n::Lang;

    fn light(&self, s: impl Arg<SystemState>) -> &'static str {
        self.lang().t(&format!("board.state_{}", s.arg().as_str()))
    }
    fn stage(&self, s: impl Arg<IncidentStage>) -> &'static str {
        self.lang().t(&format!("board.stage_{}", s.arg().as_str()))
    }
    fn impact(&self, i: impl Arg<Impact>) -> &'static str {
        self.lang().t(&format!("board.impact_{}", i.arg().as_str()))
    }
    fn level(&self, l: impl Arg<ReadinessLevel>) -> &'static str {
        self.lang().t(&format!("board.level_{}", l.arg().as_str()))
    }
    /// "Del 2 av 5: Byt kort" for a running maintenance, or its phase.
    fn step(&self, m: &Maintenance) -> String {
        match m.phase {
            domain::status::MaintenancePhase::InProgress => self.lang().tf(
                "board.stage_of",
                &[
                    ("k", &m.current.to_string()),
                    ("n", &m.stages.len().to_string()),
                    ("name", m.stages.get((m.current as usize).saturating_sub(1)).map_or("", String::as_str)),
                ],
            ),
            p => self.lang().t(&format!("board.phase_{}", p.as_str())).to_owned(),
        }
    }
    /// An update's stage as text: incident stages, maintenance stage numbers and phases.
    fn update_stage(&self, m: Option<&Maintenance>, s: &str) -> String {
        match (m, s.parse::<usize>()) {
            (Some(m), Ok(k)) => self.lang().tf(
                "board.stage_of",
                &[
                    ("k", &k.to_string()),
                    ("n", &m.stages.len().to_string()),
                    ("name", m.stages.get(k.saturating_sub(1)).map_or("", String::as_str)),
                ],
            ),
            (Some(_), Err(_)) => self.lang().t(&format!("board.phase_{s}")).to_owned(),
            (None, _) => self.lang().t(&format!("board.stage_{s}")).to_owned(),
        }
    }
    fn site_name(&self, s: &str) -> String {
        if s.is_empty() { self.lang().t("board.shared").to_owned() } else { s.to_owned() }
    }
}

impl BoardText for StatusPage {
    fn lang(&self) -> documents::i18n::Lang {
        self.c.lang
    }
}
impl BoardText for ManagePage {
    fn lang(&self) -> documents::i18n::Lang {
        self.c.lang
    }
}

impl ManagePage {
    /// The value of field `name` of form `form` as posted, when that form was refused.
    fn p(&self, form: &str, name: &str) -> String {
        if self.failed == form { self.posted.text(name) } else { String::new() }
    }
    fn next_in(&self) -> &'static [i64] {
        NEXT_IN
    }
    fn states(&self) -> &'static [SystemState] {
        SystemState::ALL
    }
    fn stages(&self) -> &'static [IncidentStage] {
        IncidentStage::ALL
    }
    fn impacts(&self) -> &'static [Impact] {
        Impact::ALL
    }
    fn levels(&self) -> &'static [ReadinessLevel] {
        ReadinessLevel::ALL
    }
    /// The stage the update form of `incident` shows: as posted (a template or preview), or
    /// the incident's own.
    fn stage_shown(&self, incident: &str, own: &IncidentStage) -> String {
        let posted = self.p(&format!("update-{incident}"), "stage");
        if posted.is_empty() { own.as_str().to_owned() } else { posted }
    }
    fn templates(&self) -> Vec<(&'static str, &'static str)> {
        documents::notices::TEMPLATES.iter().map(|(k, _)| (*k, self.c.t(format!("template.name_{k}")))).collect()
    }
    fn preview_for(&self, incident: &str) -> Option<&Preview> {
        self.preview.as_ref().filter(|p| p.incident == incident)
    }
}

/// `GET /status`: readable without logging in.
pub async fn page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("status");
    let now = OffsetDateTime::now_utc();
    let board = Board::build(ctx.backend.view().as_ref(), now)?;
    render(&StatusPage { c: ctx.c, board, now })
}

/// `GET /status/feed.atom`.
pub async fn atom(ctx: Ctx, headers: HeaderMap) -> Response {
    let now = OffsetDateTime::now_utc();
    let board = match Board::build(ctx.backend.view().as_ref(), now) {
        Ok(b) => b,
        Err(e) => return Error::from(e).into_response(),
    };
    // Absolute links back to the node the reader used (Atom wants absolute IRIs).
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if ctx.backend.cluster().nodes.get(&ctx.c.node_id).is_some_and(|n| n.http.starts_with("https://")) {
        "https"
    } else {
        "http"
    };
    let body = feed::write(&board, ctx.c.lang, &format!("{scheme}://{host}"));
    ([(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], body).into_response()
}

fn may_manage(ctx: &Ctx) -> Result<User, Error> {
    let u = ctx.user()?;
    if matches!(u.role, Role::Communicator | Role::Admin) { Ok(u) } else { Err(ctx.forbidden()) }
}

/// `GET /status/manage`.
pub async fn manage(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("status");
    may_manage(&ctx)?;
    show(ctx, String::new(), Fields::default(), None, StatusCode::OK)
}

fn show(ctx: Ctx, failed: String, posted: Fields, error: Option<String>, status: StatusCode) -> PageResult {
    show_with(ctx, failed, posted, error, None, status)
}

fn show_with(
    ctx: Ctx,
    failed: String,
    posted: Fields,
    error: Option<String>,
    preview: Option<Preview>,
    status: StatusCode,
) -> PageResult {
    let now = OffsetDateTime::now_utc();
    let board = Board::build(ctx.backend.view().as_ref(), now)?;
    let page = ManagePage { c: ctx.c, board, form: form_id(), failed, posted, error, preview };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

/// `POST /status/manage/{what}` (and `/status/manage/{what}/{id}`): one handler per form.
pub async fn act(ctx: Ctx, Path(what): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    act_on(ctx, what, String::new(), Fields(f)).await
}

pub async fn act_on_id(
    ctx: Ctx,
    Path((what, id)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    act_on(ctx, what, id, Fields(f)).await
}

async fn act_on(ctx: Ctx, what: String, id: String, f: Fields) -> PageResult {
    let ctx = ctx.in_section("status");
    let user = may_manage(&ctx)?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let now = OffsetDateTime::now_utc();
    // Which form on the page this was, so a refusal can show its values again.
    let failed = if id.is_empty() { what.clone() } else { format!("{what}-{id}") };
    let refuse =
        |ctx: Ctx, msg: String| show(ctx, failed.clone(), f.clone(), Some(msg), StatusCode::UNPROCESSABLE_ENTITY);
    let next_due =
        |f: &Fields| f.get("next_in").and_then(|m| m.parse::<i64>().ok()).map(|m| now + Duration::minutes(m));
    let systems = |f: &Fields| -> Vec<SystemId> {
        f.0.iter().filter(|(k, _)| k == "systems").map(|(_, v)| SystemId::new(v.trim())).collect()
    };
    let parse_enum = |v: Option<&str>| v.map(str::to_owned).unwrap_or_default();
    if what == "template" || (what == "update" && f.get("action") == Some("preview")) {
        // The form's own default when the template form (which has no such field) asks.
        let due = next_due(&f).or(Some(now + Duration::minutes(60)));
        return prepare_update(ctx, &id, format!("update-{id}"), f.clone(), due);
    }
    let cmd = match what.as_str() {
        "system" => Command::PutSystem {
            expected_version: None,
            fields: SystemFields {
                id: SystemId::new(f.text("id")),
                name: f.text("name"),
                site: f.text("site"),
                description: f.get("description").map(str::to_owned),
                state: SystemState::Operational,
            },
        },
        "light" => {
            let Some(state) = SystemState::parse(&parse_enum(f.get("state"))) else {
                return refuse(ctx, lang.t("problem.required").into());
            };
            Command::SetSystemState { system_id: SystemId::new(&id), state, note: f.text("note") }
        }
        "incident" => {
            let Some(impact) = Impact::parse(&parse_enum(f.get("impact"))) else {
                return refuse(ctx, lang.t("problem.required").into());
            };
            Command::OpenIncident(IncidentFields {
                id: IncidentId::new(f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned)),
                title: f.text("title"),
                impact,
                systems: systems(&f),
                body: f.text("body"),
                stage: IncidentStage::Investigating,
                lead: f.get("lead").map(str::to_owned),
                next_update_due: next_due(&f),
                exercise: ctx.c.exercise_id(),
            })
        }
        "update" => {
            let Some(stage) = IncidentStage::parse(&parse_enum(f.get("stage"))) else {
                return refuse(ctx, lang.t("problem.required").into());
            };
            Command::PostIncidentUpdate {
                incident_id: IncidentId::new(&id),
                update: IncidentUpdateFields {
                    stage,
                    body: f.text("body"),
                    next_update_due: if stage == IncidentStage::Resolved { None } else { next_due(&f) },
                    impact: f.get("impact").and_then(Impact::parse),
                },
            }
        }
        "maintenance" => {
            let (Some(starts_at), Some(ends_at)) =
                (lang.parse_local(&f.text("starts")), lang.parse_local(&f.text("ends")))
            else {
                return refuse(ctx, lang.t("problem.bad_date").into());
            };
            let Some((stages, stage_starts)) = planned_stages(lang, &f.text("stages"), starts_at) else {
                return refuse(ctx, lang.t("board.stage_times_partial").into());
            };
            Command::ScheduleMaintenance(MaintenanceFields {
                id: MaintenanceId::new(f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned)),
                title: f.text("title"),
                systems: systems(&f),
                starts_at,
                ends_at,
                stages,
                note: f.text("note"),
                stage_starts,
            })
        }
        "advance" => Command::AdvanceMaintenance {
            maintenance_id: MaintenanceId::new(&id),
            expected_version: f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
            note: f.text("note"),
        },
        "cancel" => Command::CancelMaintenance { maintenance_id: MaintenanceId::new(&id), reason: f.text("reason") },
        "readiness" => {
            let Some(level) = ReadinessLevel::parse(&parse_enum(f.get("level"))) else {
                return refuse(ctx, lang.t("problem.required").into());
            };
            Command::SetReadiness(ReadinessFields { site: f.text("site"), level, note: f.text("note") })
        }
        _ => return Err(ctx.not_found()),
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path("/status/manage?done=saved"),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            // "Nästa uppdatering: …" — the field's label where there is one.
            let label = field.map(|f| f.split('[').next().unwrap_or_default().to_owned()).map(|f| {
                let key = format!("board.field_{f}");
                if lang.has(&key) { lang.t(&key).to_owned() } else { f }
            });
            let msg = match label {
                Some(l) => format!("{l}: {message}"),
                None => message,
            };
            refuse(ctx, msg)
        }
    }
}

/// The update form's two helpers, which change nothing: "use" fills the text (and stage) from a
/// prepared message; "preview" shows the text message and e-mail subject as typed.
fn prepare_update(ctx: Ctx, id: &str, failed: String, mut f: Fields, next: Option<OffsetDateTime>) -> PageResult {
    let lang = ctx.lang();
    let view = ctx.backend.view();
    let Some(incident) = view.incident(id)? else { return Err(ctx.not_found()) };
    let base = ctx.backend.public_url();
    if f.get("action") != Some("preview") {
        if let Some((stage, text)) =
            documents::notices::template(view.as_ref(), lang, &f.text("template"), &incident, next, &base)
        {
            f.0.retain(|(k, _)| k != "body" && k != "stage");
            f.0.push(("body".into(), text));
            f.0.push(("stage".into(), stage.into()));
        }
        return show(ctx, failed, f, None, StatusCode::OK);
    }
    let stage = IncidentStage::parse(&f.text("stage")).unwrap_or(incident.stage);
    let due = if stage == IncidentStage::Resolved { None } else { next };
    let max = ctx.backend.sms_max_segments();
    let sms =
        documents::notices::incident_sms_preview(lang, &incident, stage.as_str(), &f.text("body"), due, &base, max);
    let fit = domain::sms::fit(&sms);
    let coding = match fit.coding {
        domain::sms::Coding::Gsm7 => "GSM 7-bit",
        domain::sms::Coding::Ucs2 => "UCS-2",
    };
    let fit_text = lang.tf(
        "template.preview_segments",
        &[("n", &fit.segments.to_string()), ("coding", coding), ("left", &fit.left.to_string())],
    );
    let subject = format!(
        "[{}] {} – {}",
        lang.t("notice.prefix"),
        incident.title,
        lang.t(&format!("board.stage_{}", stage.as_str()))
    );
    let preview = Preview { incident: id.to_owned(), sms, fit: fit_text, subject };
    show_with(ctx, failed, f, None, Some(preview), StatusCode::OK)
}

/// The stage lines of the maintenance form: each a name, or a planned start and a name
/// ("02:30 Databasen uppgraderas", local time, the first such moment at or after the previous
/// stage's). Either every stage has a time or none; `None` when only some do.
fn planned_stages(
    lang: documents::i18n::Lang,
    text: &str,
    starts_at: time::OffsetDateTime,
) -> Option<(Vec<String>, Vec<time::OffsetDateTime>)> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let timed = |l: &str| -> Option<(u8, u8, String)> {
        let (clock, name) = l.split_once(char::is_whitespace)?;
        let (h, m) = clock.split_once([':', '.'])?;
        let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then(|| (h, m, name.trim().to_owned()))
    };
    let parsed: Vec<Option<(u8, u8, String)>> = lines.iter().map(|l| timed(l)).collect();
    if parsed.iter().all(Option::is_none) {
        return Some((lines.into_iter().map(str::to_owned).collect(), Vec::new()));
    }
    let mut before = starts_at;
    let (mut names, mut starts) = (Vec::new(), Vec::new());
    for p in parsed {
        let (h, m, name) = p?;
        let day = lang.local_input(before);
        let mut at = lang.parse_local(&format!("{}T{h:02}:{m:02}", day.split('T').next()?))?;
        if at < before {
            at += time::Duration::days(1);
        }
        before = at;
        names.push(name);
        starts.push(at);
    }
    Some((names, starts))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::planned_stages;
    use documents::i18n::Lang;

    #[test]
    fn stage_lines_with_times_plan_each_start_after_the_one_before_across_midnight() {
        let lang = Lang::Sv;
        let start = lang.parse_local("2026-12-06T22:00").unwrap();
        let (names, starts) = planned_stages(lang, "22:00 Stäng\n23:30 Kopiera\n\n01.15 Uppgradera", start).unwrap();
        assert_eq!(names, ["Stäng", "Kopiera", "Uppgradera"]);
        let local: Vec<String> = starts.iter().map(|t| lang.local_input(*t)).collect();
        assert_eq!(local, ["2026-12-06T22:00", "2026-12-06T23:30", "2026-12-07T01:15"]);
        let (names, starts) = planned_stages(lang, "Stäng\nKopiera", start).unwrap();
        assert_eq!((names.len(), starts.len()), (2, 0));
        assert!(planned_stages(lang, "22:00 Stäng\nKopiera", start).is_none(), "some with a time, some without");
    }
}
