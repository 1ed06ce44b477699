//! Writing and revising action cards in the browser, for communicators and admins. Saving an
//! existing card publishes a new version (the old one goes to its history); the sections are
//! Markdown, shown sanitised like on the card itself.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use domain::cards::{ActionCard, Category};
use domain::command::CardFields;
use domain::state::StateViewExt;
use domain::{CardId, Command, SystemId};
use std::collections::BTreeMap;
use time::Date;

use crate::pages::chrome::{Chrome, Ctx, PageResult, render, see_path, urlencode};
use crate::pages::contacts::forms::editor;
use crate::pages::form::{Errors, Fields};
use crate::pages::{Outcome, form_id, submit};

/// The text fields, in form order: (name, Markdown).
const TEXTS: [(&str, bool); 6] =
    [("task", false), ("who", false), ("trigger", false), ("actions", true), ("documentation", true), ("title", false)];

#[derive(Template)]
#[template(path = "cards/form.html")]
struct CardForm {
    c: Chrome,
    id: Option<String>,
    version: u64,
    form: String,
    /// Field values by name; `systems` as the chosen ids.
    v: BTreeMap<String, String>,
    chosen: Vec<String>,
    /// Every system on the board: (id, name).
    systems: Vec<(String, String)>,
    errors: Errors,
}

impl CardForm {
    fn val(&self, name: &str) -> &str {
        self.v.get(name).map_or("", String::as_str)
    }
    fn categories(&self) -> &'static [Category] {
        Category::ALL
    }
    /// The multi-line sections, with whether each is Markdown.
    fn sections(&self) -> Vec<(&'static str, bool)> {
        TEXTS.iter().copied().filter(|(n, _)| *n != "title").collect()
    }
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/cards/{}/edit", urlencode(id)),
            None => "/cards/new".into(),
        }
    }
}

fn values(card: &ActionCard) -> BTreeMap<String, String> {
    let t = &card.text;
    [
        ("title", t.title.clone()),
        ("task", t.task.clone()),
        ("who", t.who.clone()),
        ("trigger", t.trigger.clone()),
        ("actions", t.actions.clone()),
        ("documentation", t.documentation.clone()),
        ("category", card.category.as_str().to_owned()),
        ("owner", card.owner.clone()),
        ("approver", card.approver.clone()),
        ("approved_on", card.approved_on.map(|d| d.to_string()).unwrap_or_default()),
        ("review_by", card.review_by.to_string()),
        ("withdrawn", if card.withdrawn { "on".into() } else { String::new() }),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn show(
    ctx: Ctx,
    id: Option<String>,
    version: u64,
    (v, chosen): (BTreeMap<String, String>, Vec<String>),
    errors: Errors,
    status: StatusCode,
) -> PageResult {
    let cards = documents::cards::Cards::load(ctx.backend.view().as_ref())?;
    let systems = cards.systems.values().map(|s| (s.id.to_string(), s.name.clone())).collect();
    let page = CardForm { c: ctx.c, id, version, form: form_id(), v, chosen, systems, errors };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /cards/new`.
pub async fn new_page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("cards");
    editor(&ctx)?;
    let mut v = BTreeMap::new();
    // A year from now is the usual review interval.
    let next_year = time::OffsetDateTime::now_utc().date().replace_year(time::OffsetDateTime::now_utc().year() + 1);
    v.insert("review_by".to_owned(), next_year.map(|d| d.to_string()).unwrap_or_default());
    show(ctx, None, 0, (v, vec![]), Errors::default(), StatusCode::OK)
}

/// `GET /cards/{id}/edit` (also for a withdrawn card, to bring it back).
pub async fn edit_page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("cards");
    editor(&ctx)?;
    let Some(card) = ctx.backend.view().card(CardId::new(&id))? else { return Err(ctx.not_found()) };
    let chosen = card.systems.iter().map(ToString::to_string).collect();
    show(ctx, Some(id), card.version, (values(&card), chosen), Errors::default(), StatusCode::OK)
}

/// `POST /cards/new`.
pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, None, Fields(f)).await
}

/// `POST /cards/{id}/edit`.
pub async fn update(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx, Some(id), Fields(f)).await
}

async fn save(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let ctx = ctx.in_section("cards");
    let user = editor(&ctx)?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let version = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut v: BTreeMap<String, String> = BTreeMap::new();
    for name in ["category", "owner", "approver", "approved_on", "review_by", "withdrawn"]
        .into_iter()
        .chain(TEXTS.iter().map(|(n, _)| *n))
    {
        // Markdown keeps its line breaks and indentation; only the ends are trimmed.
        v.insert(name.to_owned(), f.get(name).unwrap_or_default().to_owned());
    }
    let chosen: Vec<String> = f.0.iter().filter(|(k, _)| k == "systems").map(|(_, s)| s.clone()).collect();
    let mut errors = Errors::default();
    let date = |name: &str, errors: &mut Errors| -> Option<Date> {
        let s = v.get(name).map_or("", String::as_str);
        if s.is_empty() {
            return None;
        }
        let d = Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok();
        if d.is_none() {
            errors.add(name, lang.t("problem.bad_date"));
        }
        d
    };
    let approved_on = date("approved_on", &mut errors);
    let review_by = date("review_by", &mut errors);
    if review_by.is_none() && !errors.has("review_by") {
        errors.add("review_by", lang.t("problem.required"));
    }
    let category = Category::parse(v.get("category").map_or("", String::as_str));
    if category.is_none() {
        errors.add("category", lang.t("problem.required"));
    }
    let editing = id.is_some();
    let id = id.unwrap_or_else(form_id);
    let (Some(review_by), Some(category), true) = (review_by, category, errors.is_empty()) else {
        let shown = editing.then_some(id);
        return show(ctx, shown, version, (v, chosen), errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let text = |n: &str| v.get(n).cloned().unwrap_or_default();
    let fields = CardFields {
        id: CardId::new(&id),
        category,
        title: text("title"),
        task: text("task"),
        who: text("who"),
        trigger: text("trigger"),
        actions: text("actions"),
        documentation: text("documentation"),
        owner: text("owner"),
        approver: text("approver"),
        approved_on,
        review_by,
        systems: chosen.iter().map(SystemId::new).collect(),
        withdrawn: !text("withdrawn").is_empty(),
    };
    // A withdrawn card has no page of its own any more.
    let after =
        if fields.withdrawn { "/cards?done=saved".to_owned() } else { format!("/cards/{}?done=saved", urlencode(&id)) };
    let cmd = Command::PutCard { expected_version: editing.then_some(version), fields };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&after),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            match field.map(|f| f.split('[').next().unwrap_or_default().to_owned()) {
                Some(f) if !f.is_empty() && f != "id" => errors.add(&f, message),
                _ => errors.form = Some(message),
            }
            let shown = editing.then_some(id);
            show(ctx, shown, version, (v, chosen), errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
