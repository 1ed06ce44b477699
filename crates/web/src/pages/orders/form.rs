//! The order form: choose a unit, add and remove lines (article, quantity in the article's
//! unit, note), needed-by date and urgent flag; save as a draft or submit. Works without
//! JavaScript: "add line" and "remove" are submit buttons that show the form again. A field's
//! error is shown beside it, and nothing typed is lost, also when the node cannot save.

use crate::pages::chrome::{Chrome, Ctx, Error, PageResult, index, see_path, urlencode};
use crate::pages::form::{Errors, Fields};
use crate::pages::{Outcome, form_id, submit};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use documents::i18n::{parse_count, parse_date};
use documents::read_model::Index;
use domain::command::{LineFields, OrderFields};
use domain::{Article, ArticleId, Command, Order, OrderId, OrderStatus, StateViewExt, UnitId, User};
use serde::Deserialize;

/// Lines a blank form starts with.
const BLANK_LINES: usize = 3;

#[derive(Clone, Debug, Default)]
pub struct LineInput {
    /// What the user typed: article number, GTIN or article id.
    pub article: String,
    pub quantity: String,
    pub note: String,
    /// The article it names, when it names exactly one.
    pub found: Option<Article>,
}

#[derive(Template)]
#[template(path = "orders/form.html")]
struct FormPage {
    c: Chrome,
    /// The draft being edited (None: a new order).
    order_id: Option<String>,
    number: Option<String>,
    version: u64,
    form: String,
    unit: String,
    units: Vec<(String, String)>,
    needed_by: String,
    urgent: bool,
    note: String,
    lines: Vec<LineInput>,
    errors: Errors,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.order_id {
            Some(id) => format!("/orders/{}/edit", urlencode(id)),
            None => "/orders/new".into(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AddQuery {
    add: Option<String>,
}

/// Finds the one article that `input` names: its id, its GTIN, or its article number.
pub fn resolve(ix: &Index, input: &str) -> Result<Article, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Err("problem.required");
    }
    if let Some(a) = ix.articles.get(&ArticleId::new(input)) {
        return Ok(a.article.clone());
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let hits: Vec<&Article> = ix
        .articles
        .values()
        .map(|a| &a.article)
        .filter(|a| {
            a.article_number.eq_ignore_ascii_case(input)
                || (digits.len() >= 8 && digits.len() == input.len() && a.gtin.as_deref() == Some(digits.as_str()))
        })
        .collect();
    match hits.as_slice() {
        [] => Err("order.article_unknown"),
        [one] if one.withdrawn => Err("order.article_withdrawn"),
        [one] => Ok((*one).clone()),
        _ => Err("order.article_ambiguous"),
    }
}

fn unit_choices(ix: &Index, user: &User) -> Vec<(String, String)> {
    ix.units
        .values()
        .filter(|u| crate::pages::orders::sees_unit(user, &u.id) && !u.withdrawn)
        .map(|u| (u.id.to_string(), format!("{} – {}", u.name, u.site)))
        .collect()
}

fn line_for(a: &Article) -> LineInput {
    LineInput {
        article: a.article_number.clone(),
        quantity: String::new(),
        note: String::new(),
        found: Some(a.clone()),
    }
}

pub async fn new_page(ctx: Ctx, Query(q): Query<AddQuery>) -> PageResult {
    let ctx = ctx.in_section("new");
    let user = ctx.user()?;
    if !ctx.c.may_order() {
        return Err(ctx.forbidden());
    }
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let units = unit_choices(&ix, &user);
    let mut lines = Vec::new();
    if let Some(a) = q.add.as_deref().and_then(|id| ix.articles.get(&ArticleId::new(id))) {
        lines.push(line_for(&a.article));
    }
    while lines.len() < BLANK_LINES {
        lines.push(LineInput::default());
    }
    let page = FormPage {
        order_id: None,
        number: None,
        version: 0,
        form: form_id(),
        unit: if units.len() == 1 { units[0].0.clone() } else { String::new() },
        units,
        needed_by: String::new(),
        urgent: false,
        note: String::new(),
        lines,
        errors: Errors::default(),
        c: ctx.c,
    };
    drop(ix);
    show(page, StatusCode::OK)
}

fn show(page: FormPage, status: StatusCode) -> PageResult {
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

fn editable_draft(ctx: &Ctx, user: &User, id: &str) -> Result<Order, Error> {
    match ctx.backend.view().order(OrderId::new(id))? {
        Some(o) if domain::access::may_see_order(user, &o) => {
            if o.status == OrderStatus::Draft {
                Ok(o)
            } else {
                Err(Error::new(StatusCode::CONFLICT, "order.not_draft", ctx.c.t("order.not_draft")))
            }
        }
        _ => Err(ctx.not_found()),
    }
}

pub async fn edit_page(ctx: Ctx, Path(id): Path<String>, Query(q): Query<AddQuery>) -> PageResult {
    let ctx = ctx.in_section("orders");
    let user = ctx.user()?;
    let order = editable_draft(&ctx, &user, &id)?;
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let mut lines: Vec<LineInput> = order
        .lines
        .iter()
        .map(|l| {
            let found = ix.articles.get(&l.article_id).map(|a| a.article.clone());
            LineInput {
                article: found.as_ref().map_or_else(|| l.article_id.to_string(), |a| a.article_number.clone()),
                quantity: l.quantity.to_string(),
                note: l.note.clone().unwrap_or_default(),
                found,
            }
        })
        .collect();
    if let Some(a) = q.add.as_deref().and_then(|id| ix.articles.get(&ArticleId::new(id))) {
        lines.push(line_for(&a.article));
    }
    lines.push(LineInput::default());
    let page = FormPage {
        order_id: Some(order.id.to_string()),
        number: Some(order.number.clone()),
        version: order.version,
        form: form_id(),
        unit: order.unit_id.to_string(),
        units: unit_choices(&ix, &user),
        needed_by: order.needed_by.map(|d| ctx.lang().date(d)).unwrap_or_default(),
        urgent: order.urgent,
        note: order.note.clone().unwrap_or_default(),
        lines,
        errors: Errors::default(),
        c: ctx.c,
    };
    drop(ix);
    show(page, StatusCode::OK)
}

pub async fn save_new(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("new");
    save(ctx, None, Fields(f)).await
}

pub async fn save_edit(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("orders");
    save(ctx, Some(id), Fields(f)).await
}

/// The form's field name for a rejection's field (`lines[2].quantity` → `line-2-quantity`),
/// given which form line each command line came from.
fn form_field(field: &str, line_of: &[usize]) -> String {
    if let Some(rest) = field.strip_prefix("lines[")
        && let Some((i, what)) = rest.split_once("].")
        && let Ok(i) = i.parse::<usize>()
    {
        let what = if what == "article_id" { "article" } else { what };
        return format!("line-{}-{what}", line_of.get(i).copied().unwrap_or(i));
    }
    match field {
        "unit_id" => "unit".into(),
        other => other.into(),
    }
}

async fn save(ctx: Ctx, id: Option<String>, f: Fields) -> PageResult {
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    if !ctx.c.may_order() {
        return Err(ctx.forbidden());
    }
    let existing = match &id {
        Some(id) => Some(editable_draft(&ctx, &user, id)?),
        None => None,
    };
    let lang = ctx.lang();
    let b = ctx.backend.clone();
    let op = f.text("op");
    let count = f.get("lines").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0).min(domain::apply::MAX_LINES + 10);
    let (unit, needed_by, urgent, note) = (f.text("unit"), f.text("needed_by"), f.flag("urgent"), f.text("note"));
    let mut lines: Vec<LineInput> = (0..count)
        .map(|i| LineInput {
            article: f.text(&format!("line-{i}-article")),
            quantity: f.text(&format!("line-{i}-quantity")),
            note: f.text(&format!("line-{i}-note")),
            found: None,
        })
        .collect();
    let mut errors = Errors::default();
    let (units, cmd, line_of) = {
        let ix = index(&b)?;
        for l in &mut lines {
            l.found = resolve(&ix, &l.article).ok();
        }
        if op == "add" {
            lines.push(LineInput::default());
        } else if let Some(i) = op.strip_prefix("remove-").and_then(|i| i.parse::<usize>().ok())
            && i < lines.len()
        {
            lines.remove(i);
        }
        let units = unit_choices(&ix, &user);
        let mut cmd = None;
        let mut line_of = Vec::new();
        if op == "save" || op == "submit" {
            if unit.is_empty() {
                errors.add("unit", lang.t("problem.required"));
            }
            let date = if needed_by.is_empty() {
                None
            } else {
                let d = parse_date(&needed_by);
                if d.is_none() {
                    errors.add("needed_by", lang.t("problem.bad_date"));
                }
                d
            };
            let mut fields = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if l.article.is_empty() && l.quantity.is_empty() && l.note.is_empty() {
                    continue;
                }
                let article = match resolve(&ix, &l.article) {
                    Ok(a) => Some(a),
                    Err(key) => {
                        errors.add(&format!("line-{i}-article"), lang.t(key));
                        None
                    }
                };
                let quantity = match parse_count(&l.quantity) {
                    Some(q) if q > 0 && q <= domain::apply::MAX_QUANTITY => Some(q),
                    _ => {
                        errors.add(&format!("line-{i}-quantity"), lang.t("order.quantity_invalid"));
                        None
                    }
                };
                if let (Some(a), Some(quantity)) = (article, quantity) {
                    fields.push(LineFields {
                        article_id: a.id.clone(),
                        quantity,
                        note: (!l.note.is_empty()).then(|| l.note.clone()),
                    });
                    line_of.push(i);
                }
            }
            if fields.is_empty() && op == "submit" && errors.is_empty() {
                errors.add("lines", lang.t("order.lines_required"));
            }
            if errors.is_empty() {
                let order_id = existing.as_ref().map_or_else(|| OrderId::new(f.text("form")), |o| o.id.clone());
                let fields = OrderFields {
                    id: order_id,
                    unit_id: UnitId::new(&unit),
                    lines: fields,
                    note: (!note.is_empty()).then(|| note.clone()),
                    needed_by: date,
                    urgent,
                    submit: op == "submit",
                    // A new order in exercise mode is made in the exercise; an edit keeps its own.
                    exercise: ctx.c.exercise_id(),
                    drill: false,
                };
                cmd = Some(match &existing {
                    None => Command::CreateOrder(fields),
                    Some(_) => Command::UpdateOrder {
                        expected_version: f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
                        fields,
                    },
                });
            }
        }
        (units, cmd, line_of)
    };
    let mut version: u64 = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut form = f.get("form").filter(|x| !x.is_empty()).map_or_else(form_id, str::to_owned);
    if let Some(cmd) = cmd {
        match submit(&ctx, &user, f.get("form"), cmd).await? {
            Outcome::Saved { id, .. } => {
                let done = if op == "submit" { "submitted" } else { "saved" };
                return see_path(&format!("/orders/{}?done={done}", urlencode(&id)));
            }
            Outcome::Queued { seq } => return see_path(&Outcome::queued_path(seq)),
            Outcome::Refused { message, field, rejection } => {
                if rejection.is_some() {
                    // The verdict may be recorded under this form's id: the next try needs a
                    // new one. (Without quorum nothing was recorded, and the id stays.)
                    form = form_id();
                }
                if let Some(domain::Rejection::VersionConflict { actual, .. }) = rejection {
                    // Someone changed the draft meanwhile: keep this input, and let a second
                    // save overwrite on purpose.
                    version = actual;
                    errors.form = Some(lang.t("order.stale").into());
                } else {
                    match field {
                        Some(field) => errors.add(&form_field(&field, &line_of), message),
                        None => errors.form = Some(message),
                    }
                }
            }
        }
    }
    if lines.is_empty() {
        lines.push(LineInput::default());
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FormPage {
        order_id: existing.as_ref().map(|o| o.id.to_string()),
        number: existing.as_ref().map(|o| o.number.clone()),
        version,
        form,
        unit,
        units,
        needed_by,
        urgent,
        note,
        lines,
        errors,
        c: ctx.c,
    };
    show(page, status)
}
