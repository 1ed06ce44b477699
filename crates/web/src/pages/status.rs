//! The status board pages: `/status` for everyone (no login: it must work for whoever finds a
//! screen), its Atom feed, and `/status/manage`, where communicators set lights and readiness
//! levels, open and update incidents, and plan and advance maintenance.

use askama::Template;
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::command::{IncidentFields, IncidentUpdateFields, MaintenanceFields, ReadinessFields, SystemFields};
use domain::status::{Impact, IncidentStage, Maintenance, ReadinessLevel, SystemState};
use domain::{Command, IncidentId, MaintenanceId, Role, SystemId, User};
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
    let now = OffsetDateTime::now_utc();
    let board = Board::build(ctx.backend.view().as_ref(), now)?;
    let page = ManagePage { c: ctx.c, board, form: form_id(), failed, posted, error };
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
            Command::ScheduleMaintenance(MaintenanceFields {
                id: MaintenanceId::new(f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned)),
                title: f.text("title"),
                systems: systems(&f),
                starts_at,
                ends_at,
                stages: f.text("stages").lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
                note: f.text("note"),
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
