//! What every page has: the language, the signed-in user, the CSRF token for its forms, and
//! the freshness strip (this node, the leader, the applied index, the lag) with the no-quorum
//! banner.

use crate::backend::Backend;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use documents::i18n::Lang;
use domain::exercises::Exercise;
use domain::{OrderStatus, Rejection, Role, User};
use std::sync::Arc;
use time::OffsetDateTime;

/// The frame of every page.
pub struct Chrome {
    pub lang: Lang,
    pub user: Option<User>,
    /// The session's CSRF token ("" for API tokens, which browsers never send by themselves).
    pub csrf: String,
    /// Path and query of this page, for the language links and after login.
    pub here: String,
    /// Which part of the navigation this page belongs to.
    pub section: &'static str,
    pub node_id: u64,
    pub node_role: String,
    pub leader_id: Option<u64>,
    pub applied: u64,
    pub quorum: bool,
    /// Entries this node is behind: the worst follower on a leader; elsewhere, entries received
    /// but not yet applied.
    pub lag: u64,
    /// When this node last heard from a quorum, as local time.
    pub as_of: String,
    pub now: String,
    /// A message after a redirect (`?done=saved`), in the user's language.
    pub notice: Option<String>,
    /// Open major incidents, shown on every page (each node from its own state).
    pub banner: Vec<documents::status::BannerItem>,
    /// Banners set by hand for this page's sites (the node's, and the user's units').
    pub notices: Vec<domain::banners::Banner>,
    /// Exercises running now (a strip on every page, so nobody mistakes one for real).
    pub exercises: Vec<Exercise>,
    /// The running exercise the signed-in user works in (exercise mode, chosen on
    /// `/exercises`): what they make is made in it.
    pub exercise: Option<Exercise>,
}

impl Chrome {
    /// The exercise what this user makes now is made in (none outside exercise mode).
    pub fn exercise_id(&self) -> Option<domain::ExerciseId> {
        self.exercise.as_ref().map(|x| x.id.clone())
    }

    /// "ÖVNING", "ØVELSE" or "EXERCISE", the mark on every exercise record.
    pub fn mark(&self) -> &'static str {
        documents::exercises::mark(self.lang)
    }

    /// The strip of a running exercise.
    pub fn running_text(&self, x: &Exercise) -> String {
        self.tf("exercise.running_strip", &[("name", &x.name), ("until", &self.lang.datetime(x.end()))])
    }

    /// The band of exercise mode.
    pub fn working_text(&self) -> String {
        self.exercise.as_ref().map_or_else(String::new, |x| self.tf("exercise.working", &[("name", &x.name)]))
    }

    /// Whether this page's user works in `x` now.
    pub fn works_in(&self, x: &Exercise) -> bool {
        self.exercise.as_ref().is_some_and(|w| w.id == x.id)
    }

    /// The signed-in account is provisional: made by a federated login on this node while it
    /// was cut off from the majority, waiting in its outbox (version 0, see
    /// `sessions::Provisional`).
    pub fn provisional(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.version == 0)
    }

    pub fn t(&self, key: impl AsRef<str>) -> &'static str {
        self.lang.t(key.as_ref())
    }

    /// The string for `prefix` + `suffix`, e.g. `tk("admin.new_", "units")`.
    pub fn tk(&self, prefix: &str, suffix: impl std::fmt::Display) -> &'static str {
        self.lang.t(&format!("{prefix}{suffix}"))
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.tf(key, args)
    }

    pub fn date(&self, d: impl Arg<time::Date>) -> String {
        self.lang.date(d.arg())
    }

    pub fn datetime(&self, t: impl Arg<OffsetDateTime>) -> String {
        self.lang.datetime(t.arg())
    }

    pub fn int(&self, n: impl Arg<u32>) -> String {
        self.lang.int(i64::from(n.arg()))
    }

    pub fn money(&self, cents: impl Arg<i64>) -> String {
        self.lang.money(cents.arg())
    }

    /// The name of an order action (`approve` → "Godkänn").
    pub fn action(&self, a: impl AsRef<str>) -> &'static str {
        self.t(format!("action.{}", a.as_ref()))
    }

    /// The label of a purchaser-view tab.
    pub fn tab(&self, t: impl AsRef<str>) -> &'static str {
        self.t(format!("purchasing.tab_{}", t.as_ref()))
    }

    /// A text with a count in it (`{n}`).
    pub fn count(&self, key: &str, n: impl Arg<usize>) -> String {
        self.tf(key, &[("n", &self.lang.int(i64::try_from(n.arg()).unwrap_or(i64::MAX)))])
    }

    pub fn status(&self, s: impl Arg<OrderStatus>) -> &'static str {
        self.t(format!("status.{}", s.arg().as_str()))
    }

    /// A readable label for a UN/ECE Rec 20 unit code.
    pub fn unit_label(&self, code: impl AsRef<str>) -> &'static str {
        let label = self.t(format!("uom.{}", code.as_ref()));
        if label.is_empty() { self.t("uom.EA") } else { label }
    }

    pub fn quorum_attr(&self) -> &'static str {
        if self.quorum { "ok" } else { "lost" }
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.name.as_str())
    }

    pub fn is_staff(&self) -> bool {
        self.role() == Some(Role::Staff)
    }

    pub fn may_order(&self) -> bool {
        matches!(self.role(), Some(Role::Staff | Role::Purchaser | Role::Admin))
    }

    pub fn may_purchase(&self) -> bool {
        matches!(self.role(), Some(Role::Purchaser | Role::Admin))
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Some(Role::Admin)
    }

    pub fn may_run_drills(&self) -> bool {
        matches!(self.role(), Some(Role::Ops | Role::Admin))
    }

    /// Whether the user plans, ends and clears exercises (the crisis staff, ops, admins).
    pub fn may_run_exercises(&self) -> bool {
        matches!(self.role(), Some(Role::Communicator | Role::Ops | Role::Admin))
    }

    pub fn may_manage_status(&self) -> bool {
        matches!(self.role(), Some(Role::Communicator | Role::Admin))
    }

    /// "Major incident" or "Critical incident", for the banner.
    pub fn banner_label(&self, b: &documents::status::BannerItem) -> &'static str {
        self.t(format!("board.banner_{}", b.impact.as_str()))
    }

    pub fn banner_stage(&self, b: &documents::status::BannerItem) -> &'static str {
        self.t(format!("board.stage_{}", b.stage.as_str()))
    }

    /// Whether this page is the admin tab `tab` (articles, suppliers, units, users, audit).
    pub fn section_tab(&self, tab: &str) -> bool {
        let path = self.here.split('?').next().unwrap_or_default();
        match tab {
            "users" => path.starts_with("/admin/users"),
            "audit" => path.starts_with("/admin/audit"),
            "idps" => path.starts_with("/admin/idps"),
            _ => {
                (path == "/admin" && self.here.contains(&format!("tab={tab}")))
                    || (tab == "articles" && self.here == "/admin")
                    || path.starts_with(&format!("/admin/{tab}"))
            }
        }
    }

    /// `aria-current` for the navigation link of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section { "page" } else { "false" }
    }

    /// The language links: each language with the link that switches to it.
    pub fn languages(&self) -> Vec<(Lang, String)> {
        Lang::ALL.into_iter().map(|l| (l, format!("/lang/{}?next={}", l.code(), urlencode(&self.here)))).collect()
    }

    pub fn is_lang(&self, l: &Lang) -> bool {
        *l == self.lang
    }

    pub fn no_quorum_text(&self) -> String {
        self.tf("fresh.no_quorum_text", &[("as_of", &self.as_of)])
    }

    pub fn served_text(&self) -> String {
        self.tf("foot.served", &[("node", &self.node_id.to_string()), ("time", &self.now)])
    }
}

/// The text for a domain rejection: by its code, and for invalid fields by the problem.
pub fn message_for(lang: Lang, r: &Rejection) -> String {
    match r {
        Rejection::InRow { row, rejection } => {
            format!("{} {}", lang.tf("import.in_row", &[("row", &(row + 2).to_string())]), message_for(lang, rejection))
        }
        Rejection::Invalid { problem, .. } => lang.t(&format!("problem.{}", problem.as_str())).to_owned(),
        Rejection::VersionConflict { .. } => lang.t("error.version_conflict").to_owned(),
        Rejection::BadTransition { .. } => lang.t("error.bad_transition").to_owned(),
        Rejection::Forbidden { .. } => lang.t("error.forbidden").to_owned(),
        Rejection::IdReused { .. } => lang.t("error.id_reused").to_owned(),
        Rejection::Closed { kind, id } => {
            lang.tf("error.closed", &[("kind", lang.t(&format!("kind.{}", kind.as_str()))), ("id", id)])
        }
        Rejection::Unknown { kind, id, .. }
        | Rejection::Withdrawn { kind, id, .. }
        | Rejection::NotFound { kind, id }
        | Rejection::AlreadyExists { kind, id } => {
            let what = match r {
                Rejection::Unknown { .. } => "error.unknown",
                Rejection::Withdrawn { .. } => "error.withdrawn",
                Rejection::NotFound { .. } => "error.not_found",
                _ => "error.already_exists",
            };
            lang.tf(what, &[("kind", lang.t(&format!("kind.{}", kind.as_str()))), ("id", id)])
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path on this site to go to after login, a language switch or a dispatch action; anything
/// else becomes `/`. Only `/` followed by neither `/` nor `\\`, and no control character
/// anywhere: browsers drop tabs and newlines from a URL, so `/\t/evil.example` would become
/// `//evil.example`, another site. Spaces and non-ASCII letters are percent-encoded so that the
/// answer is always a valid `Location`.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else { return "/".to_owned() };
    let mut rest = n.chars().skip(1);
    let local = n.starts_with('/')
        && !matches!(rest.next(), Some('/' | '\\'))
        && !n.chars().any(|c| c.is_control() || c == '\\');
    if !local {
        return "/".to_owned();
    }
    let mut out = String::with_capacity(n.len());
    for c in n.chars() {
        if c.is_ascii_graphic() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// A page request: the frame, and who is asking (if anyone).
pub struct Ctx {
    pub c: Chrome,
    pub backend: Arc<dyn Backend>,
    /// The session cookie's value, when the user came with one (forms then need the CSRF token).
    session: Option<String>,
}

pub type PageResult = Result<Response, Error>;

pub use crate::error::Error;

#[derive(Template)]
#[template(path = "layout/error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    status: u16,
    message: &'a str,
}

impl ErrorPage<'_> {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

/// Layered around the pages: an [`Error`] a page handler (or its extractor) returned is shown
/// as an HTML page in the reader's language, and "log in first" becomes a redirect to `/login`
/// that comes back here.
pub async fn show_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = crate::lang::of_request(req.headers());
    let here = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let mut response = next.run(req).await;
    let Some(e) = response.extensions_mut().remove::<Error>() else { return response };
    if e.code == crate::error::LOGIN_REQUIRED {
        return Redirect::to(&format!("/login?next={}", urlencode(&here))).into_response();
    }
    let message = e.message_key().map_or(e.message.clone(), |k| lang.t(&k).to_owned());
    let page = ErrorPage { lang, status: e.status.as_u16(), message: &message };
    match page.render() {
        Ok(html) => (e.status, Html(html)).into_response(),
        Err(_) => (e.status, message).into_response(),
    }
}

/// The cookie that holds the exercise a browser works in (see [`Chrome::exercise`]).
pub const EXERCISE_COOKIE: &str = "beredd_exercise";

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

impl FromRequestParts<Arc<dyn Backend>> for Ctx {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, backend: &Arc<dyn Backend>) -> Result<Self, Error> {
        let lang = crate::lang::of_request(&parts.headers);
        let here = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let now = OffsetDateTime::now_utc();
        let view = backend.view();
        let (mut user, mut csrf, mut session) = (None, String::new(), None);
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
            user = crate::auth::user_for_token(backend.as_ref(), token)?;
            if user.is_none() {
                return Err(Error::new(StatusCode::UNAUTHORIZED, "token_invalid", lang.t("login.token_invalid")));
            }
        } else if let Some(value) = cookie_in(&parts.headers, crate::sessions::COOKIE)
            && let Some((u, _)) = crate::sessions::verify(view.as_ref(), value, now)?
        {
            user = Some(u);
            csrf = crate::sessions::csrf_token(view.as_ref(), value)?.unwrap_or_default();
            session = Some(value.to_owned());
        }
        let c = backend.cluster();
        let lag = if c.role == "leader" {
            c.lag.values().copied().max().unwrap_or(0)
        } else {
            c.last_log_index.saturating_sub(c.last_applied_index)
        };
        let heard = c.millis_since_quorum.map(|ms| now - time::Duration::milliseconds(i64::try_from(ms).unwrap_or(0)));
        let notice = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("done=")))
            .map(|k| format!("done.{k}"))
            .filter(|k| lang.has(k))
            .map(|k| lang.t(&k).to_owned());
        let mut chrome = Chrome {
            lang,
            user,
            csrf,
            here,
            section: "",
            node_id: c.node_id,
            node_role: lang.t(&format!("role.{}", c.role)).to_owned(),
            leader_id: c.leader_id,
            applied: c.last_applied_index,
            quorum: c.quorum,
            lag,
            as_of: heard
                .map(|t| lang.datetime(t) + &format!(":{:02}", t.second()))
                .unwrap_or_else(|| lang.t("fresh.never").into()),
            now: lang.clock(now),
            notice,
            banner: documents::status::banner(view.as_ref())?,
            notices: Vec::new(),
            exercises: documents::exercises::running(view.as_ref(), now)?,
            exercise: None,
        };
        chrome.notices = page_banners(backend.as_ref(), view.as_ref(), chrome.user.as_ref(), now)?;
        // Exercise mode is the browser's choice (a cookie), honoured while the exercise runs.
        if chrome.user.is_some()
            && let Some(id) = cookie_in(&parts.headers, EXERCISE_COOKIE)
        {
            chrome.exercise = chrome.exercises.iter().find(|x| x.id.as_str() == id).cloned();
        }
        Ok(Ctx { c: chrome, backend: backend.clone(), session })
    }
}

/// The banners set by hand that show now on a page of this node for `user`: those for every
/// site, for the node's own site, and for the sites of the user's units.
fn page_banners(
    backend: &dyn Backend,
    view: &dyn domain::StateView,
    user: Option<&User>,
    now: OffsetDateTime,
) -> Result<Vec<domain::banners::Banner>, Error> {
    use domain::StateViewExt;
    let mut sites = vec![backend.site()];
    for unit in user.map(|u| u.units.as_slice()).unwrap_or_default() {
        sites.extend(view.unit(unit)?.map(|u| u.site));
    }
    sites.retain(|s| !s.trim().is_empty());
    Ok(documents::status::current_banners(view, now)?.into_iter().filter(|b| b.is_for(&sites)).collect())
}

impl Ctx {
    /// The signed-in user, or a redirect to the login page.
    pub fn user(&self) -> Result<User, Error> {
        self.c.user.clone().ok_or_else(Error::login_required)
    }

    pub fn lang(&self) -> Lang {
        self.c.lang
    }

    pub fn in_section(mut self, section: &'static str) -> Self {
        self.c.section = section;
        self
    }

    /// Checks a posted form's CSRF token (needed when the user came with a session cookie).
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), Error> {
        if self.session.is_none() {
            return Ok(());
        }
        match given {
            Some(g) if !self.c.csrf.is_empty() && crate::sessions::same(g.as_bytes(), self.c.csrf.as_bytes()) => Ok(()),
            _ => Err(Error::new(StatusCode::FORBIDDEN, "csrf", self.c.t("error.csrf"))),
        }
    }

    /// The signed-in user if an admin; otherwise the page is forbidden.
    pub fn admin(&self) -> Result<User, Error> {
        let user = self.user()?;
        if self.c.is_admin() { Ok(user) } else { Err(self.forbidden()) }
    }

    pub fn forbidden(&self) -> Error {
        Error::forbidden()
    }

    pub fn not_found(&self) -> Error {
        Error::new(StatusCode::NOT_FOUND, "page_not_found", "no such page")
    }
}

/// Renders a page template.
pub fn render(t: &impl Template) -> PageResult {
    t.render().map(|h| Html(h).into_response()).map_err(Error::internal)
}

/// After a successful post: see the result (303, so the browser GETs it).
pub fn see_path(path: &str) -> PageResult {
    Ok(Redirect::to(path).into_response())
}

/// The read index of `backend`, current with its state.
pub fn index(
    backend: &Arc<dyn Backend>,
) -> Result<std::sync::RwLockReadGuard<'_, documents::read_model::Index>, Error> {
    backend.read_model().get(backend.view().as_ref()).map_err(Error::internal)
}

/// A value that templates may pass by value or by (double) reference, as askama does.
pub trait Arg<T> {
    fn arg(self) -> T;
}

impl<T: Copy> Arg<T> for T {
    fn arg(self) -> T {
        self
    }
}

impl<T: Copy> Arg<T> for &T {
    fn arg(self) -> T {
        *self
    }
}

impl<T: Copy> Arg<T> for &&T {
    fn arg(self) -> T {
        **self
    }
}
