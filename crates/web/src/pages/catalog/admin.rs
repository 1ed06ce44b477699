//! Administration of units, suppliers and the catalog: lists, create and edit forms (articles
//! can be withdrawn: they stay on old orders but cannot be ordered), and import from CSV or
//! XLSX with a row-by-row report, saved all or nothing.

use crate::pages::catalog::Pager;
use crate::pages::chrome::{Chrome, Ctx, Error, PageResult, index, see_path, urlencode};
use crate::pages::form::{Errors, Fields};
use crate::pages::{Outcome, form_id, submit};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use documents::i18n::{parse_count, parse_money};
use documents::import::{ImportKind, RowError};
use domain::command::{ArticleFields, OrganisationFields, SupplierFields, UnitFields};
use domain::{ArticleId, Command, StateViewExt, SupplierId, UnitId};
use serde::Deserialize;

const PAGE_SIZE: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unit,
    Supplier,
    Article,
    /// The one buyer organisation: a form, no list.
    Organisation,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "units" => Some(Self::Unit),
            "suppliers" => Some(Self::Supplier),
            "articles" => Some(Self::Article),
            "organisation" => Some(Self::Organisation),
            _ => None,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Unit => "units",
            Self::Supplier => "suppliers",
            Self::Article => "articles",
            Self::Organisation => "organisation",
        }
    }
}

/// One input of an admin form.
pub struct Input {
    pub name: &'static str,
    pub value: String,
    /// `text`, `number`, `email`, `tel`, `textarea`, `select` or `checkbox`.
    pub kind: &'static str,
    pub required: bool,
    pub options: Vec<(String, String)>,
    /// A hint under the label (catalog key), e.g. the format expected.
    pub hint: &'static str,
}

impl Input {
    fn new(name: &'static str, value: impl Into<String>) -> Self {
        Self { name, value: value.into(), kind: "text", required: false, options: vec![], hint: "" }
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }
    fn hint(mut self, key: &'static str) -> Self {
        self.hint = key;
        self
    }
    fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.kind = "select";
        self.options = options;
        self
    }
    pub fn checked(&self) -> bool {
        self.value == "on"
    }
    pub fn label_key(&self) -> String {
        format!("field.{}", self.name)
    }
}

pub struct ListRow {
    pub link: String,
    pub cells: Vec<String>,
    pub withdrawn: bool,
}

#[derive(Template)]
#[template(path = "catalog/admin.html")]
struct AdminPage {
    c: Chrome,
    tab: &'static str,
    q: String,
    head: Vec<&'static str>,
    rows: Vec<ListRow>,
    total: usize,
    pager: Pager,
    import_kind: String,
    import_errors: Vec<RowError>,
    import_message: Option<String>,
    /// The columns an import of each kind reads: (kind, "id; name; …").
    import_columns: Vec<(&'static str, String)>,
}

#[derive(Deserialize, Default)]
pub struct AdminQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    q: String,
    page: Option<usize>,
}

fn admin_only(ctx: &Ctx) -> Result<(), Error> {
    ctx.admin().map(|_| ())
}

pub async fn index_page(
    ctx: Ctx,
    q: AdminQuery,
    import: Option<(String, Vec<RowError>, Option<String>)>,
    status: StatusCode,
) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let kind = match Kind::parse(&q.tab) {
        Some(Kind::Organisation) => return see_path("/admin/organisation"),
        Some(k) => k,
        None => Kind::Article,
    };
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let search = domain::search::Query::new(&q.q);
    let matches = |text: &str| search.matches(&domain::search::fold(text));
    let lang = ctx.lang();
    let (head, rows): (Vec<&'static str>, Vec<ListRow>) = match kind {
        Kind::Unit => (
            vec!["field.id", "field.name", "field.site", "field.cost_centre"],
            ix.units
                .values()
                .filter(|u| matches(&format!("{} {} {}", u.id, u.name, u.site)))
                .map(|u| ListRow {
                    link: format!("/admin/units/{}", urlencode(u.id.as_str())),
                    cells: vec![
                        u.id.to_string(),
                        u.name.clone(),
                        u.site.clone(),
                        u.cost_centre.clone().unwrap_or_default(),
                    ],
                    withdrawn: u.withdrawn,
                })
                .collect(),
        ),
        Kind::Supplier => (
            vec!["field.id", "field.name", "field.org_number", "field.gln", "field.email"],
            ix.suppliers
                .values()
                .filter(|s| matches(&format!("{} {} {}", s.id, s.name, s.org_number.as_deref().unwrap_or_default())))
                .map(|s| ListRow {
                    link: format!("/admin/suppliers/{}", urlencode(s.id.as_str())),
                    cells: vec![
                        s.id.to_string(),
                        s.name.clone(),
                        s.org_number.clone().unwrap_or_default(),
                        s.gln.clone().unwrap_or_default(),
                        s.email.clone().unwrap_or_default(),
                    ],
                    withdrawn: s.withdrawn,
                })
                .collect(),
        ),
        Kind::Article => (
            vec!["field.article_number", "field.name", "field.supplier_id", "field.unit", "field.price"],
            ix.search(&search, None, None, true)
                .into_iter()
                .map(|a| ListRow {
                    link: format!("/admin/articles/{}", urlencode(a.id.as_str())),
                    cells: vec![
                        a.article_number.clone(),
                        a.name.clone(),
                        ix.suppliers.get(&a.supplier_id).map(|s| s.name.clone()).unwrap_or_default(),
                        ctx.c.unit_label(&a.unit).to_owned(),
                        a.price_cents.map(|p| lang.money(p)).unwrap_or_default(),
                    ],
                    withdrawn: a.withdrawn,
                })
                .collect(),
        ),
        Kind::Organisation => (vec![], vec![]),
    };
    drop(ix);
    let base = format!("/admin?tab={}&q={}&", kind.path(), urlencode(&q.q));
    let pager = Pager::new(&base, q.page.unwrap_or(1), rows.len(), PAGE_SIZE);
    let total = rows.len();
    let rows = rows.into_iter().skip(pager.range(PAGE_SIZE).start).take(PAGE_SIZE).collect();
    let (import_kind, import_errors, import_message) = import.unwrap_or_else(|| (kind.path().to_owned(), vec![], None));
    let import_columns = [ImportKind::Articles, ImportKind::Suppliers, ImportKind::Units]
        .into_iter()
        .map(|k| (k.path(), k.columns().join("; ")))
        .collect();
    let page = AdminPage {
        tab: kind.path(),
        q: q.q,
        head,
        rows,
        total,
        pager,
        import_kind,
        import_errors,
        import_message,
        import_columns,
        c: ctx.c,
    };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

pub async fn list(ctx: Ctx, Query(q): Query<AdminQuery>) -> PageResult {
    index_page(ctx, q, None, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "catalog/admin_form.html")]
struct EditPage {
    c: Chrome,
    kind: &'static str,
    /// The record's id when editing.
    id: Option<String>,
    version: u64,
    form: String,
    inputs: Vec<Input>,
    errors: Errors,
}

impl EditPage {
    fn action(&self) -> String {
        if self.kind == Kind::Organisation.path() {
            return "/admin/organisation".to_owned();
        }
        match &self.id {
            Some(id) => format!("/admin/{}/{}", self.kind, urlencode(id)),
            None => format!("/admin/{}/new", self.kind),
        }
    }
}

fn inputs(ctx: &Ctx, kind: Kind, f: &Fields, editing: bool) -> Result<Vec<Input>, Error> {
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let id = Input::new("id", f.text("id")).hint(if editing { "hint.id_fixed" } else { "hint.id" });
    Ok(match kind {
        Kind::Unit => vec![
            id,
            Input::new("name", f.text("name")).required(),
            Input::new("site", f.text("site")).required(),
            Input::new("cost_centre", f.text("cost_centre")),
            Input::new("delivery_address", f.text("delivery_address")).kind("textarea").hint("hint.address"),
            Input::new("contact_name", f.text("contact_name")).hint("hint.unit_contact"),
            Input::new("phone", f.text("phone")).kind("tel"),
            Input::new("withdrawn", if f.flag("withdrawn") { "on" } else { "" })
                .kind("checkbox")
                .hint("hint.unit_withdrawn"),
        ],
        Kind::Supplier => vec![
            id,
            Input::new("name", f.text("name")).required(),
            Input::new("org_number", f.text("org_number")).hint("hint.org_number"),
            Input::new("gln", f.text("gln")).hint("hint.gln"),
            Input::new("email", f.text("email")).kind("email"),
            Input::new("phone", f.text("phone")).kind("tel"),
            Input::new("country", f.text("country")).hint("hint.country"),
            Input::new("address", f.text("address")).kind("textarea").hint("hint.address"),
            Input::new("withdrawn", if f.flag("withdrawn") { "on" } else { "" })
                .kind("checkbox")
                .hint("hint.supplier_withdrawn"),
        ],
        Kind::Organisation => vec![
            Input::new("name", f.text("name")).required(),
            Input::new("org_number", f.text("org_number")).hint("hint.org_number"),
            Input::new("gln", f.text("gln")).hint("hint.gln"),
            Input::new("country", f.text("country")).required().hint("hint.country"),
            Input::new("currency", f.text("currency")).required().hint("hint.currency"),
            Input::new("address", f.text("address")).kind("textarea").hint("hint.address"),
            Input::new("contact_name", f.text("contact_name")).hint("hint.buyer_contact"),
            Input::new("phone", f.text("phone")).kind("tel"),
            Input::new("email", f.text("email")).kind("email"),
        ],
        Kind::Article => vec![
            id,
            Input::new("article_number", f.text("article_number")).required(),
            Input::new("name", f.text("name")).required(),
            Input::new("supplier_id", f.text("supplier_id"))
                .options(ix.suppliers.values().map(|s| (s.id.to_string(), s.name.clone())).collect())
                .required(),
            Input::new("category", f.text("category")).required(),
            Input::new("unit", f.text("unit"))
                .options(
                    domain::units::CODES
                        .iter()
                        .map(|c| ((*c).to_owned(), format!("{} ({c})", ctx.c.unit_label(c))))
                        .collect(),
                )
                .required(),
            Input::new("pack_size", f.text("pack_size")).kind("number").required(),
            Input::new("gtin", f.text("gtin")).hint("hint.gtin"),
            Input::new("price", f.text("price")).hint("hint.price"),
            Input::new("withdrawn", if f.flag("withdrawn") { "on" } else { "" })
                .kind("checkbox")
                .hint("hint.withdrawn"),
        ],
    })
}

/// The current record's fields, as a form would post them, and its version.
fn current(ctx: &Ctx, kind: Kind, id: &str) -> Result<Option<(Fields, u64)>, Error> {
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let pair = |k: &str, v: String| (k.to_owned(), v);
    Ok(match kind {
        Kind::Unit => ix.units.get(&UnitId::new(id)).map(|u| {
            (
                Fields(vec![
                    pair("id", u.id.to_string()),
                    pair("name", u.name.clone()),
                    pair("site", u.site.clone()),
                    pair("cost_centre", u.cost_centre.clone().unwrap_or_default()),
                    pair("delivery_address", u.delivery_address.join("\n")),
                    pair("contact_name", u.contact_name.clone().unwrap_or_default()),
                    pair("phone", u.phone.clone().unwrap_or_default()),
                    pair("withdrawn", if u.withdrawn { "on".into() } else { String::new() }),
                ]),
                u.version,
            )
        }),
        Kind::Supplier => ix.suppliers.get(&SupplierId::new(id)).map(|s| {
            (
                Fields(vec![
                    pair("id", s.id.to_string()),
                    pair("name", s.name.clone()),
                    pair("org_number", s.org_number.clone().unwrap_or_default()),
                    pair("gln", s.gln.clone().unwrap_or_default()),
                    pair("email", s.email.clone().unwrap_or_default()),
                    pair("phone", s.phone.clone().unwrap_or_default()),
                    pair("country", s.country.clone().unwrap_or_default()),
                    pair("address", s.address.join("\n")),
                    pair("withdrawn", if s.withdrawn { "on".into() } else { String::new() }),
                ]),
                s.version,
            )
        }),
        Kind::Article => ix.articles.get(&ArticleId::new(id)).map(|a| {
            let a = &a.article;
            let mut f = vec![
                pair("id", a.id.to_string()),
                pair("article_number", a.article_number.clone()),
                pair("name", a.name.clone()),
                pair("supplier_id", a.supplier_id.to_string()),
                pair("category", a.category.clone()),
                pair("unit", a.unit.clone()),
                pair("pack_size", a.pack_size.to_string()),
                pair("gtin", a.gtin.clone().unwrap_or_default()),
                pair("price", a.price_cents.map(|p| ctx.lang().money(p)).unwrap_or_default()),
            ];
            if a.withdrawn {
                f.push(pair("withdrawn", "on".into()));
            }
            (Fields(f), a.version)
        }),
        Kind::Organisation => ctx.backend.view().organisation()?.map(|o| {
            (
                Fields(vec![
                    pair("name", o.name),
                    pair("org_number", o.org_number.unwrap_or_default()),
                    pair("gln", o.gln.unwrap_or_default()),
                    pair("country", o.country),
                    pair("currency", o.currency),
                    pair("address", o.address.join("\n")),
                    pair("contact_name", o.contact_name.unwrap_or_default()),
                    pair("phone", o.phone.unwrap_or_default()),
                    pair("email", o.email.unwrap_or_default()),
                ]),
                o.version,
            )
        }),
    })
}

fn show(page: EditPage, status: StatusCode) -> PageResult {
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

pub async fn new_page(ctx: Ctx, Path(kind): Path<String>) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let Some(kind) = Kind::parse(&kind) else { return Err(ctx.not_found()) };
    let inputs = inputs(&ctx, kind, &Fields::default(), false)?;
    show(
        EditPage {
            kind: kind.path(),
            id: None,
            version: 0,
            form: form_id(),
            inputs,
            errors: Errors::default(),
            c: ctx.c,
        },
        StatusCode::OK,
    )
}

pub async fn edit_page(ctx: Ctx, Path((kind, id)): Path<(String, String)>) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let Some(kind) = Kind::parse(&kind) else { return Err(ctx.not_found()) };
    let Some((fields, version)) = current(&ctx, kind, &id)? else { return Err(ctx.not_found()) };
    let inputs = inputs(&ctx, kind, &fields, true)?;
    show(
        EditPage {
            kind: kind.path(),
            id: Some(id),
            version,
            form: form_id(),
            inputs,
            errors: Errors::default(),
            c: ctx.c,
        },
        StatusCode::OK,
    )
}

pub async fn save(ctx: Ctx, Path(kind): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_record(ctx, kind, None, Fields(f)).await
}

pub async fn save_existing(
    ctx: Ctx,
    Path((kind, id)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    save_record(ctx, kind, Some(id), Fields(f)).await
}

/// Lines of a textarea, trimmed, blank ones dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// `GET /admin/organisation`: the buyer organisation's form, filled in once it is set.
pub async fn organisation_page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let kind = Kind::Organisation;
    let (fields, version) = current(&ctx, kind, domain::ORGANISATION_ID)?
        .unwrap_or_else(|| (Fields(vec![("country".into(), "SE".into()), ("currency".into(), "SEK".into())]), 0));
    let inputs = inputs(&ctx, kind, &fields, true)?;
    let page =
        EditPage { kind: kind.path(), id: None, version, form: form_id(), inputs, errors: Errors::default(), c: ctx.c };
    show(page, StatusCode::OK)
}

/// `POST /admin/organisation`.
pub async fn save_organisation(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save_record(ctx, Kind::Organisation.path().to_owned(), None, Fields(f)).await
}

/// An id made from a name: lower-case ASCII words joined by '-'.
fn slug(name: &str) -> String {
    let folded = domain::search::fold(name);
    let words: Vec<&str> = folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut s = words.join("-");
    s.truncate(40);
    s.trim_end_matches('-').to_owned()
}

async fn save_record(ctx: Ctx, kind: String, id: Option<String>, mut f: Fields) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let Some(kind) = Kind::parse(&kind) else { return Err(ctx.not_found()) };
    let lang = ctx.lang();
    let existing = match &id {
        Some(id) => match current(&ctx, kind, id)? {
            Some(c) => Some(c),
            None => return Err(ctx.not_found()),
        },
        None if kind == Kind::Organisation => current(&ctx, kind, domain::ORGANISATION_ID)?,
        None => None,
    };
    // The id of a record never changes; a new one may be left blank and made from the name.
    let rid = match &id {
        Some(id) => id.clone(),
        None => {
            let given = f.text("id");
            if given.is_empty() { slug(&f.text("name")) } else { given }
        }
    };
    f.0.retain(|(k, _)| k != "id");
    f.0.push(("id".into(), rid.clone()));
    let mut errors = Errors::default();
    let opt = |k: &str| Some(f.text(k)).filter(|s| !s.is_empty());
    let cmd = match kind {
        Kind::Unit => {
            let fields = UnitFields {
                id: UnitId::new(&rid),
                name: f.text("name"),
                site: f.text("site"),
                cost_centre: opt("cost_centre"),
                delivery_address: lines(&f.text("delivery_address")),
                contact_name: opt("contact_name"),
                phone: opt("phone"),
                withdrawn: f.flag("withdrawn"),
            };
            existing.as_ref().map_or(Command::CreateUnit(fields.clone()), |(_, v)| Command::UpdateUnit {
                expected_version: *v,
                fields,
            })
        }
        Kind::Supplier => {
            let fields = SupplierFields {
                id: SupplierId::new(&rid),
                name: f.text("name"),
                org_number: opt("org_number"),
                gln: opt("gln"),
                email: opt("email"),
                phone: opt("phone"),
                country: opt("country").map(|c| c.to_ascii_uppercase()),
                address: lines(&f.text("address")),
                withdrawn: f.flag("withdrawn"),
            };
            existing.as_ref().map_or(Command::CreateSupplier(fields.clone()), |(_, v)| Command::UpdateSupplier {
                expected_version: *v,
                fields,
            })
        }
        Kind::Article => {
            let pack_size = parse_count(&f.text("pack_size")).unwrap_or_else(|| {
                errors.add("pack_size", lang.t("problem.bad_number"));
                0
            });
            let price_cents = match opt("price") {
                None => None,
                Some(p) => parse_money(&p).or_else(|| {
                    errors.add("price", lang.t("problem.bad_number"));
                    None
                }),
            };
            let fields = ArticleFields {
                id: ArticleId::new(&rid),
                article_number: f.text("article_number"),
                gtin: opt("gtin"),
                name: f.text("name"),
                unit: f.text("unit"),
                pack_size,
                supplier_id: SupplierId::new(f.text("supplier_id")),
                category: f.text("category"),
                price_cents,
                withdrawn: f.flag("withdrawn"),
            };
            existing.as_ref().map_or(Command::CreateArticle(fields.clone()), |(_, v)| Command::UpdateArticle {
                expected_version: *v,
                fields,
            })
        }
        Kind::Organisation => Command::SetOrganisation {
            expected_version: existing.as_ref().map(|(_, v)| *v),
            fields: OrganisationFields {
                name: f.text("name"),
                org_number: opt("org_number"),
                gln: opt("gln"),
                country: f.text("country").to_ascii_uppercase(),
                currency: f.text("currency").to_ascii_uppercase(),
                address: lines(&f.text("address")),
                contact_name: opt("contact_name"),
                phone: opt("phone"),
                email: opt("email"),
            },
        },
    };
    let version = existing.as_ref().map_or(0, |(_, v)| *v);
    let mut form = f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned);
    if errors.is_empty() {
        // Edits are checked against the version the form was made from.
        let cmd = match (cmd, f.get("version").and_then(|v| v.parse::<u64>().ok())) {
            (Command::UpdateUnit { fields, .. }, Some(v)) => Command::UpdateUnit { expected_version: v, fields },
            (Command::UpdateSupplier { fields, .. }, Some(v)) => {
                Command::UpdateSupplier { expected_version: v, fields }
            }
            (Command::UpdateArticle { fields, .. }, Some(v)) => Command::UpdateArticle { expected_version: v, fields },
            (Command::SetOrganisation { fields, .. }, Some(v)) if v > 0 => {
                Command::SetOrganisation { expected_version: Some(v), fields }
            }
            (cmd, _) => cmd,
        };
        match submit(&ctx, &user, Some(&form), cmd).await? {
            Outcome::Saved { .. } if kind == Kind::Organisation => {
                return see_path("/admin/organisation?done=saved");
            }
            Outcome::Saved { .. } => {
                return see_path(&format!("/admin?tab={}&q={}&done=saved", kind.path(), urlencode(&rid)));
            }
            Outcome::Queued { seq } => return see_path(&Outcome::queued_path(seq)),
            Outcome::Refused { message, field, rejection } => {
                if rejection.is_some() {
                    form = form_id();
                }
                if matches!(rejection, Some(domain::Rejection::VersionConflict { .. })) {
                    errors.form = Some(lang.t("admin.stale").into());
                } else {
                    match field {
                        Some(field) => {
                            let field = if field == "price_cents" { "price".to_owned() } else { field };
                            errors.add(&field, message)
                        }
                        None => errors.form = Some(message),
                    }
                }
            }
        }
    }
    let inputs = inputs(&ctx, kind, &f, id.is_some())?;
    show(EditPage { kind: kind.path(), id, version, form, inputs, errors, c: ctx.c }, StatusCode::UNPROCESSABLE_ENTITY)
}

/// `POST /admin/import`: a file of units, suppliers or articles; all rows saved, or none.
pub async fn import(ctx: Ctx, mut mp: Multipart) -> PageResult {
    let ctx = ctx.in_section("admin");
    admin_only(&ctx)?;
    let user = ctx.user()?;
    let lang = ctx.lang();
    let (mut kind, mut csrf, mut file, mut name) = (String::new(), String::new(), Vec::new(), String::new());
    while let Some(field) = mp.next_field().await.map_err(|e| Error::bad_request(e.to_string()))? {
        match field.name().unwrap_or_default() {
            "kind" => kind = field.text().await.unwrap_or_default(),
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "file" => {
                name = field.file_name().unwrap_or_default().to_lowercase();
                file = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            }
            _ => {}
        }
    }
    ctx.check_csrf(Some(&csrf))?;
    let fail = |ctx: Ctx, errors: Vec<RowError>, message: Option<String>| {
        index_page(
            ctx,
            AdminQuery { tab: kind.clone(), ..AdminQuery::default() },
            Some((kind.clone(), errors, message)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(ik) = ImportKind::parse(&kind) else {
        return fail(ctx, vec![], Some(lang.t("import.choose_kind").into())).await;
    };
    if file.is_empty() {
        return fail(ctx, vec![], Some(lang.t("import.no_file").into())).await;
    }
    // Parsing a big workbook takes a while: off the async workers (and bounded, see
    // `documents::import::limits`).
    let csv = name.ends_with(".csv") || name.ends_with(".txt");
    let file = std::mem::take(&mut file);
    let sheet = tokio::task::spawn_blocking(move || {
        if csv { documents::import::read_csv(&file) } else { documents::import::read_workbook(&file) }
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let sheet = match sheet {
        Ok(s) => s,
        Err(e) => return fail(ctx, vec![], Some(lang.tf("import.unreadable", &[("why", &e)]))).await,
    };
    let rows = {
        let b = ctx.backend.clone();
        let ix = index(&b)?;
        documents::import::rows(ik, &sheet, &ix)
    };
    let rows = match rows {
        Ok(r) => r,
        Err(errors) => return fail(ctx, errors, Some(lang.t("import.nothing_saved").into())).await,
    };
    let n = rows.len();
    match submit(&ctx, &user, None, Command::Import { rows }).await? {
        Outcome::Saved { .. } => see_path(&format!("/admin?tab={kind}&done=imported&rows={n}")),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, rejection, field } => {
            let errors = match rejection {
                Some(domain::Rejection::InRow { row, .. }) => {
                    vec![documents::import::refused_row(row, field.unwrap_or_default(), message.clone())]
                }
                _ => vec![],
            };
            fail(ctx, errors, Some(format!("{} {message}", lang.t("import.nothing_saved")))).await
        }
    }
}
