//! Editing the directory in the browser, for communicators and admins: an entry with its routes
//! in fallback order (a row per route, blank rows to add more), an on-call rota's schedule and
//! overrides (a row per shift, in local time), and a CSV import with a row-by-row report, saved
//! all or nothing. Each form posts a domain command and comes back with the refusal beside the
//! field it names.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path};
use axum::http::StatusCode;
use domain::command::{ContactFields, RotaFields};
use domain::contacts::{Contact, ContactKind, Route, RouteKind, Shift};
use domain::{Command, ContactId, Role, RotaId, SupplierId, UnitId, User};
use time::Date;

use crate::pages::chrome::{Chrome, Ctx, Error, PageResult, render, see_path, urlencode};
use crate::pages::form::{Errors, Fields};
use crate::pages::{Outcome, form_id, submit};
use documents::contacts::Directory;
use documents::i18n::Lang;
use documents::import::RowError;

/// Blank rows offered below the filled ones.
const BLANK_ROWS: usize = 3;

pub(crate) fn may_edit(user: &User) -> bool {
    matches!(user.role, Role::Communicator | Role::Admin)
}

/// The signed-in user, if they may edit the directory, the rotas and the action cards.
pub(crate) fn editor(ctx: &Ctx) -> Result<User, Error> {
    let u = ctx.user()?;
    if may_edit(&u) { Ok(u) } else { Err(ctx.forbidden()) }
}

/// One route row as the form shows it.
pub struct RouteRow {
    pub kind: String,
    pub value: String,
    pub hours: String,
    pub tested: String,
}

/// An entry as the form shows it: from the record, or as posted.
pub struct ContactDraft {
    pub kind: String,
    pub name: String,
    pub title: String,
    pub organisation: String,
    pub unit_id: String,
    pub site: String,
    pub supplier_id: String,
    pub note: String,
    pub withdrawn: bool,
    pub routes: Vec<RouteRow>,
}

impl ContactDraft {
    fn of(c: &Contact) -> Self {
        Self {
            kind: c.kind.as_str().into(),
            name: c.name.clone(),
            title: c.title.clone(),
            organisation: c.organisation.clone(),
            unit_id: c.unit_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            site: c.site.clone(),
            supplier_id: c.supplier_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            note: c.note.clone(),
            withdrawn: c.withdrawn,
            routes: c
                .routes
                .iter()
                .map(|r| RouteRow {
                    kind: r.kind.as_str().into(),
                    value: r.value.clone(),
                    hours: r.hours.clone(),
                    tested: r.last_tested.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
        }
    }

    fn posted(f: &Fields) -> Self {
        let col = |name: &str| f.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).collect();
        let (kinds, values, hours, tested): (Vec<String>, Vec<String>, Vec<String>, Vec<String>) =
            (col("route_kind"), col("route_value"), col("route_hours"), col("route_tested"));
        let cell = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
        let routes = (0..kinds.len().max(values.len()))
            .map(|i| RouteRow {
                kind: cell(&kinds, i),
                value: cell(&values, i),
                hours: cell(&hours, i),
                tested: cell(&tested, i),
            })
            .collect();
        Self {
            kind: f.text("kind"),
            name: f.text("name"),
            title: f.text("title"),
            organisation: f.text("organisation"),
            unit_id: f.text("unit_id"),
            site: f.text("site"),
            supplier_id: f.text("supplier_id"),
            note: f.text("note"),
            withdrawn: f.flag("withdrawn"),
            routes,
        }
    }

    /// The non-blank route rows, each with its row number on the form.
    fn filled(&self) -> impl Iterator<Item = (usize, &RouteRow)> {
        self.routes.iter().enumerate().filter(|(_, r)| !(r.value.is_empty() && r.hours.is_empty()))
    }
}

#[derive(Template)]
#[template(path = "contacts/form.html")]
struct ContactForm {
    c: Chrome,
    /// The entry's id when editing.
    id: Option<String>,
    version: u64,
    form: String,
    d: ContactDraft,
    units: Vec<(String, String)>,
    errors: Errors,
}

impl ContactForm {
    fn kinds(&self) -> &'static [ContactKind] {
        ContactKind::ALL
    }
    fn route_kinds(&self) -> &'static [RouteKind] {
        RouteKind::ALL
    }
    /// The one-line fields: name, value, required.
    fn text_fields(&self) -> Vec<(&'static str, &str, bool)> {
        let d = &self.d;
        vec![
            ("name", d.name.as_str(), true),
            ("title", d.title.as_str(), false),
            ("organisation", d.organisation.as_str(), false),
            ("site", d.site.as_str(), false),
            ("supplier_id", d.supplier_id.as_str(), false),
        ]
    }
    fn rows(&self) -> usize {
        self.d.routes.len() + BLANK_ROWS
    }
    fn row(&self, i: &usize) -> Option<&RouteRow> {
        self.d.routes.get(*i)
    }
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/contacts/{}/edit", urlencode(id)),
            None => "/contacts/new".into(),
        }
    }
}

fn units(dir: &Directory) -> Vec<(String, String)> {
    dir.units().map(|(id, name)| (id.to_string(), name.to_owned())).collect()
}

fn show_contact(
    ctx: Ctx,
    dir: &Directory,
    id: Option<String>,
    version: u64,
    d: ContactDraft,
    errors: Errors,
    status: StatusCode,
) -> PageResult {
    let page = ContactForm { c: ctx.c, id, version, form: form_id(), d, units: units(dir), errors };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /contacts/new`.
pub async fn new_contact(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("contacts");
    editor(&ctx)?;
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let mut d = ContactDraft::posted(&Fields::default());
    d.kind = ContactKind::Function.as_str().into();
    show_contact(ctx, &dir, None, 0, d, Errors::default(), StatusCode::OK)
}

/// `GET /contacts/{id}/edit`.
pub async fn edit_contact(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    editor(&ctx)?;
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let Some(c) = dir.contact(&ContactId::new(&id)) else { return Err(ctx.not_found()) };
    let (version, d) = (c.version, ContactDraft::of(c));
    show_contact(ctx, &dir, Some(id), version, d, Errors::default(), StatusCode::OK)
}

/// A readable id from a name: "Inköp jour" → "inkop-jour".
fn slug(name: &str) -> String {
    let folded = domain::search::fold(name);
    let s: String = folded.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-").chars().take(48).collect()
}

/// `POST /contacts/new`.
pub async fn create_contact(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_contact(ctx, None, Fields(f)).await
}

/// `POST /contacts/{id}/edit`.
pub async fn update_contact(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_contact(ctx, Some(id), Fields(f)).await
}

async fn save_contact(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = editor(&ctx)?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let d = ContactDraft::posted(&f);
    let version = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut errors = Errors::default();
    let kind = ContactKind::parse(&d.kind).unwrap_or_else(|| {
        errors.add("kind", lang.t("problem.required"));
        ContactKind::Function
    });
    let mut routes = Vec::new();
    for (i, r) in d.filled() {
        let Some(kind) = RouteKind::parse(&r.kind) else {
            errors.add(&format!("route-{i}-kind"), lang.t("problem.required"));
            continue;
        };
        let last_tested = match r.tested.as_str() {
            "" => None,
            t => match Date::parse(t, time::macros::format_description!("[year]-[month]-[day]")) {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add(&format!("route-{i}-tested"), lang.t("problem.bad_date"));
                    None
                }
            },
        };
        routes.push(Route { kind, value: r.value.clone(), hours: r.hours.clone(), last_tested, note: String::new() });
    }
    let editing = id.is_some();
    let id = id.unwrap_or_else(|| match f.text("id") {
        s if s.is_empty() => slug(&d.name),
        s => s,
    });
    if !errors.is_empty() {
        let shown = editing.then(|| id.clone());
        return show_contact(ctx, &dir, shown, version, d, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let fields = ContactFields {
        id: ContactId::new(&id),
        kind,
        name: d.name.clone(),
        title: d.title.clone(),
        organisation: d.organisation.clone(),
        unit_id: Some(d.unit_id.clone()).filter(|s| !s.is_empty()).map(UnitId::new),
        site: d.site.clone(),
        supplier_id: Some(d.supplier_id.clone()).filter(|s| !s.is_empty()).map(SupplierId::new),
        routes,
        note: d.note.clone(),
        withdrawn: d.withdrawn,
    };
    let cmd = Command::PutContact { expected_version: editing.then_some(version), fields };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/contacts?done=saved#contact-{}", urlencode(&id))),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            // `routes[1].value` is about the second filled row: find its row on the form.
            let field = field.unwrap_or_default();
            let key = match field.strip_prefix("routes[").and_then(|r| r.split_once("].")) {
                Some((n, col)) => {
                    let n: usize = n.parse().unwrap_or(0);
                    let row = d.filled().nth(n).map_or(0, |(i, _)| i);
                    let col = if col == "last_tested" { "tested" } else { col };
                    format!("route-{row}-{col}")
                }
                None if field.is_empty() => String::new(),
                None => field,
            };
            if key.is_empty() {
                errors.form = Some(message);
            } else {
                errors.add(&key, message);
            }
            let shown = editing.then_some(id);
            show_contact(ctx, &dir, shown, version, d, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// One shift row as the form shows it (times as `datetime-local` values).
pub struct ShiftRow {
    pub from: String,
    pub to: String,
    pub contact: String,
    pub note: String,
}

impl ShiftRow {
    fn of(s: &Shift, lang: Lang) -> Self {
        Self {
            from: lang.local_input(s.from),
            to: lang.local_input(s.to),
            contact: s.contact_id.to_string(),
            note: s.note.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "contacts/rota_form.html")]
struct RotaForm {
    c: Chrome,
    id: Option<String>,
    version: u64,
    form: String,
    head: RotaHead,
    /// `("shifts", rows)` and `("overrides", rows)`.
    tables: Vec<(&'static str, Vec<ShiftRow>)>,
    functions: Vec<(String, String)>,
    people: Vec<(String, String)>,
    errors: Errors,
}

impl RotaForm {
    fn rows(&self, rows: &[ShiftRow]) -> usize {
        rows.len() + BLANK_ROWS
    }
    fn cell<'a>(&self, rows: &'a [ShiftRow], i: &usize) -> Option<&'a ShiftRow> {
        rows.get(*i)
    }
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/contacts/rotas/{}/edit", urlencode(id)),
            None => "/contacts/rotas/new".into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// The rota's own fields on the form, as stored or as typed.
#[derive(Default)]
struct RotaHead {
    name: String,
    function_id: String,
    /// The wait per step of a page, in minutes as typed (empty: the default).
    wait_minutes: String,
    on_critical: bool,
}

impl RotaHead {
    fn of(r: &domain::contacts::Rota) -> Self {
        Self {
            name: r.name.clone(),
            function_id: r.function_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            // Whole minutes as such; a wait set in seconds through the API as a decimal.
            wait_minutes: r.page_wait_seconds.map_or_else(String::new, |s| {
                if s.is_multiple_of(60) { (s / 60).to_string() } else { format!("{:.2}", f64::from(s) / 60.0) }
            }),
            on_critical: r.page_on_critical,
        }
    }

    /// The wait in seconds: `None` when empty, `Err` when it is no number of minutes.
    fn wait_seconds(&self) -> Result<Option<u32>, ()> {
        let t = self.wait_minutes.trim().replace(',', ".");
        if t.is_empty() {
            return Ok(None);
        }
        let m: f64 = t.parse().map_err(|_| ())?;
        let s = (m * 60.0).round();
        if !(0.0..=f64::from(u32::MAX)).contains(&s) {
            return Err(());
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Some(s as u32))
    }
}

fn show_rota(
    ctx: Ctx,
    dir: &Directory,
    id: Option<String>,
    version: u64,
    head: RotaHead,
    tables: Vec<(&'static str, Vec<ShiftRow>)>,
    errors: Errors,
    status: StatusCode,
) -> PageResult {
    let pick = |kind: ContactKind| {
        dir.contacts
            .iter()
            .filter(|c| c.kind == kind && !c.withdrawn)
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect::<Vec<_>>()
    };
    let (functions, mut people) = (pick(ContactKind::Function), pick(ContactKind::Person));
    // A function can hold a shift too (a duty phone passed between people).
    people.extend(functions.iter().cloned());
    let page = RotaForm { c: ctx.c, id, version, form: form_id(), head, tables, functions, people, errors };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /contacts/rotas/new`.
pub async fn new_rota(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("contacts");
    editor(&ctx)?;
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let tables = vec![("shifts", vec![]), ("overrides", vec![])];
    show_rota(ctx, &dir, None, 0, Default::default(), tables, Errors::default(), StatusCode::OK)
}

/// `GET /contacts/rotas/{id}/edit`.
pub async fn edit_rota(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("contacts");
    editor(&ctx)?;
    let lang = ctx.lang();
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let Some(r) = dir.rotas.iter().find(|r| r.id.as_str() == id) else { return Err(ctx.not_found()) };
    let rows = |v: &[Shift]| v.iter().map(|s| ShiftRow::of(s, lang)).collect::<Vec<_>>();
    let tables = vec![("shifts", rows(&r.shifts)), ("overrides", rows(&r.overrides))];
    let head = RotaHead::of(r);
    let version = r.version;
    show_rota(ctx, &dir, Some(id), version, head, tables, Errors::default(), StatusCode::OK)
}

/// `POST /contacts/rotas/new`.
pub async fn create_rota(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_rota(ctx, None, Fields(f)).await
}

/// `POST /contacts/rotas/{id}/edit`.
pub async fn update_rota(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_rota(ctx, Some(id), Fields(f)).await
}

/// The posted rows of one table (`shifts` or `overrides`).
fn posted_rows(f: &Fields, table: &str) -> Vec<ShiftRow> {
    let col = |c: &str| -> Vec<String> {
        let name = format!("{table}_{c}");
        f.0.iter().filter(|(k, _)| *k == name).map(|(_, v)| v.trim().to_owned()).collect()
    };
    let (from, to, who, note) = (col("from"), col("to"), col("contact"), col("note"));
    let cell = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
    (0..from.len().max(to.len()).max(who.len()))
        .map(|i| ShiftRow { from: cell(&from, i), to: cell(&to, i), contact: cell(&who, i), note: cell(&note, i) })
        .collect()
}

async fn save_rota(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = editor(&ctx)?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let version = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let tables = vec![("shifts", posted_rows(&f, "shifts")), ("overrides", posted_rows(&f, "overrides"))];
    let mut errors = Errors::default();
    // Each table's shifts, and for each the row on the form it came from.
    let mut parsed: Vec<(Vec<Shift>, Vec<usize>)> = Vec::new();
    for (table, rows) in &tables {
        let (mut shifts, mut at) = (Vec::new(), Vec::new());
        for (i, r) in rows.iter().enumerate() {
            if r.from.is_empty() && r.to.is_empty() && r.contact.is_empty() {
                continue;
            }
            let (from, to) = (lang.parse_local(&r.from), lang.parse_local(&r.to));
            if from.is_none() {
                errors.add(&format!("{table}-{i}-from"), lang.t("problem.bad_date"));
            }
            if to.is_none() {
                errors.add(&format!("{table}-{i}-to"), lang.t("problem.bad_date"));
            }
            if r.contact.is_empty() {
                errors.add(&format!("{table}-{i}-contact"), lang.t("problem.required"));
            }
            if let (Some(from), Some(to)) = (from, to) {
                let contact_id = ContactId::new(&r.contact);
                shifts.push(Shift { contact_id, from, to, note: r.note.clone() });
                at.push(i);
            }
        }
        parsed.push((shifts, at));
    }
    let head = RotaHead {
        name: f.text("name"),
        function_id: f.text("function_id"),
        wait_minutes: f.text("wait_minutes"),
        on_critical: f.flag("on_critical"),
    };
    let wait = head.wait_seconds();
    if wait.is_err() {
        errors.add("page_wait_seconds", lang.t("problem.out_of_range"));
    }
    let editing = id.is_some();
    let id = id.unwrap_or_else(|| slug(&head.name));
    if !errors.is_empty() {
        let shown = editing.then(|| id.clone());
        return show_rota(ctx, &dir, shown, version, head, tables, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let [(shifts, shift_rows), (overrides, override_rows)] = <[_; 2]>::try_from(parsed).unwrap_or_default();
    let fields = RotaFields {
        id: RotaId::new(&id),
        name: head.name.clone(),
        function_id: Some(head.function_id.clone()).filter(|s| !s.is_empty()).map(ContactId::new),
        shifts,
        overrides,
        page_wait_seconds: wait.unwrap_or_default(),
        page_on_critical: head.on_critical,
    };
    let cmd = Command::PutRota { expected_version: editing.then_some(version), fields };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/contacts?done=saved#rota-{}-h", urlencode(&id))),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            // `overrides[2].to` names the third filled override: point at its row.
            let field = field.unwrap_or_default();
            let at = |table: &str, rows: &[usize]| {
                let rest = field.strip_prefix(table)?.strip_prefix('[')?;
                let (n, col) = rest.split_once("].")?;
                let col = if col == "contact_id" { "contact" } else { col };
                Some(format!("{table}-{}-{col}", rows.get(n.parse::<usize>().ok()?)?))
            };
            match at("shifts", &shift_rows).or_else(|| at("overrides", &override_rows)) {
                Some(key) => errors.add(&key, message),
                None if matches!(field.as_str(), "name" | "function_id" | "page_wait_seconds") => {
                    errors.add(&field, message);
                }
                None => errors.form = Some(message),
            }
            let shown = editing.then_some(id);
            show_rota(ctx, &dir, shown, version, head, tables, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

/// What the directory page shows after an import that saved nothing.
pub struct ImportReport {
    pub message: String,
    pub errors: Vec<RowError>,
}

/// `POST /contacts/import`: a CSV of entries; all saved, or none and a report by row.
pub async fn import(ctx: Ctx, mut mp: Multipart) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = editor(&ctx)?;
    let lang = ctx.lang();
    let (mut csrf, mut file) = (String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| Error::bad_request(e.to_string());
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "file" => file = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            _ => {}
        }
    }
    ctx.check_csrf(Some(&csrf))?;
    let fail = |ctx: Ctx, errors: Vec<RowError>, message: String| {
        let report = ImportReport { message: format!("{} {message}", lang.t("import.nothing_saved")), errors };
        crate::pages::contacts::show(ctx, String::new(), Some(report), StatusCode::UNPROCESSABLE_ENTITY)
    };
    if file.is_empty() {
        return fail(ctx, vec![], lang.t("import.no_file").into());
    }
    let sheet = match documents::import::read_csv(&file) {
        Ok(s) => s,
        Err(e) => return fail(ctx, vec![], lang.tf("import.unreadable", &[("why", &e)])),
    };
    let rows = documents::contacts::import::rows(&sheet, &Directory::load(ctx.backend.view().as_ref())?);
    let rows = match rows {
        Ok(r) => r,
        Err(errors) => return fail(ctx, errors, String::new()),
    };
    let n = rows.len();
    match submit(&ctx, &user, None, Command::Import { rows }).await? {
        Outcome::Saved { .. } => see_path(&format!("/contacts?done=imported&rows={n}")),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, rejection, field } => {
            let errors = match rejection {
                Some(domain::Rejection::InRow { row, .. }) => {
                    let column = documents::contacts::import::refused_column(field.as_deref());
                    vec![documents::import::refused_row(row, column, message.clone())]
                }
                _ => vec![],
            };
            fail(ctx, errors, message)
        }
    }
}
