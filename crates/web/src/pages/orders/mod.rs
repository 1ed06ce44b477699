//! The order list (filter, sort, page) and the order page: lines, totals, the history of every
//! transition, and only the actions that the order's state and the user's role allow.

pub mod form;
pub mod purchasing;

use super::catalog::Pager;
use super::chrome::{Chrome, Ctx, Error, PageResult, index, render, safe_next, urlencode};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use documents::i18n::parse_count;
use documents::read_model::{Index, OrderSort, OrderSummary};
use domain::command::Received;
use domain::{
    Article, Command, Order, OrderAction, OrderId, OrderStatus, Role, StateViewExt, SupplierId, UnitId, User,
};
use serde::Deserialize;

pub const PAGE_SIZE: usize = 25;

/// Whether `user` may see orders of `unit` (staff: their own units; purchasers and admins: all).
pub fn sees_unit(user: &User, unit: &UnitId) -> bool {
    match user.role {
        Role::Admin | Role::Purchaser => true,
        Role::Staff => user.units.contains(unit),
        Role::Communicator | Role::Ops => false,
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    supplier: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    sort: String,
    page: Option<usize>,
}

pub struct Row {
    pub id: String,
    pub number: String,
    pub unit: String,
    pub status: OrderStatus,
    pub urgent: bool,
    pub needed_by: Option<time::Date>,
    pub created_at: time::OffsetDateTime,
    pub lines: usize,
    pub suppliers: String,
    /// Made in an exercise.
    pub exercise: bool,
}

impl Row {
    pub fn of(ix: &Index, o: &OrderSummary) -> Self {
        let suppliers: Vec<&str> =
            o.suppliers.iter().filter_map(|s| ix.suppliers.get(s)).map(|s| s.name.as_str()).collect();
        Self {
            id: o.id.to_string(),
            number: o.number.clone(),
            unit: ix.units.get(&o.unit_id).map(|u| u.name.clone()).unwrap_or_else(|| o.unit_id.to_string()),
            status: o.status,
            urgent: o.urgent,
            needed_by: o.needed_by,
            created_at: o.created_at,
            lines: o.articles.len(),
            suppliers: suppliers.join(", "),
            exercise: o.exercise,
        }
    }

    pub fn link(&self) -> String {
        format!("/orders/{}", urlencode(&self.id))
    }
}

#[derive(Template)]
#[template(path = "orders/list.html")]
struct ListPage {
    c: Chrome,
    q: ListQuery,
    units: Vec<(String, String)>,
    suppliers: Vec<(String, String)>,
    statuses: Vec<OrderStatus>,
    /// Sort keys and their labels.
    sorts: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    total: usize,
    pager: Pager,
    errors: Errors,
}

pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> PageResult {
    let ctx = ctx.in_section("orders");
    let user = ctx.user()?;
    if !domain::access::may_list_orders(&user) {
        return Err(ctx.forbidden());
    }
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let mut errors = Errors::default();
    let status = match q.status.as_str() {
        "" => None,
        "open" => None,
        s => OrderStatus::parse(s).or_else(|| {
            errors.add("status", ctx.c.t("problem.bad_format"));
            None
        }),
    };
    let open_only = q.status == "open";
    let date = |s: &str, field: &str, errors: &mut Errors| {
        if s.is_empty() {
            return None;
        }
        let d = documents::i18n::parse_date(s);
        if d.is_none() {
            errors.add(field, ctx.c.t("problem.bad_date"));
        }
        d
    };
    let from = date(&q.from, "from", &mut errors);
    let to = date(&q.to, "to", &mut errors);
    let unit = (!q.unit.is_empty()).then(|| UnitId::new(&q.unit));
    let supplier = (!q.supplier.is_empty()).then(|| SupplierId::new(&q.supplier));
    let statuses: Vec<OrderStatus> = match (status, open_only) {
        (Some(s), _) => vec![s],
        (None, true) => OrderStatus::ALL.into_iter().filter(|s| !s.is_final()).collect(),
        (None, false) => vec![],
    };
    let filter = ix.filter(&user, unit.as_ref(), &statuses, from, to, supplier.as_ref());
    let page_no = q.page.unwrap_or(1).max(1);
    let (hits, total) = ix.find(&filter, OrderSort::parse(&q.sort), (page_no - 1).saturating_mul(PAGE_SIZE), PAGE_SIZE);
    let base = format!(
        "/orders?unit={}&status={}&supplier={}&from={}&to={}&sort={}&",
        urlencode(&q.unit),
        urlencode(&q.status),
        urlencode(&q.supplier),
        urlencode(&q.from),
        urlencode(&q.to),
        urlencode(&q.sort)
    );
    let pager = Pager::new(&base, page_no, total, PAGE_SIZE);
    let rows = hits.iter().map(|o| Row::of(&ix, o)).collect();
    let page = ListPage {
        units: ix
            .units
            .values()
            .filter(|u| sees_unit(&user, &u.id))
            .map(|u| (u.id.to_string(), format!("{} – {}", u.name, u.site)))
            .collect(),
        suppliers: ix.suppliers.values().map(|s| (s.id.to_string(), s.name.clone())).collect(),
        statuses: OrderStatus::ALL.to_vec(),
        sorts: ["newest", "oldest", "needed_by", "updated", "status", "unit"]
            .into_iter()
            .map(|s| (s, ctx.c.t(format!("sort.{s}"))))
            .collect(),
        total,
        rows,
        pager,
        errors,
        q,
        c: ctx.c,
    };
    drop(ix);
    render(&page)
}

/// One line of an order as its page shows it.
pub struct LineView {
    pub line_no: u32,
    pub article: Option<Article>,
    pub article_id: String,
    pub supplier: String,
    pub quantity: u32,
    pub received: u32,
    pub note: String,
    pub line_total: Option<i64>,
}

impl LineView {
    pub fn remaining(&self) -> u32 {
        self.quantity.saturating_sub(self.received)
    }
    pub fn name(&self) -> &str {
        self.article.as_ref().map_or(self.article_id.as_str(), |a| a.name.as_str())
    }
    pub fn article_number(&self) -> &str {
        self.article.as_ref().map_or("", |a| a.article_number.as_str())
    }
    pub fn unit_code(&self) -> &str {
        self.article.as_ref().map_or("EA", |a| a.unit.as_str())
    }
}

#[derive(Template)]
#[template(path = "orders/order.html")]
struct OrderPage {
    c: Chrome,
    order: Order,
    unit: String,
    site: String,
    lines: Vec<LineView>,
    total: Option<i64>,
    actions: Vec<&'static str>,
    may_edit: bool,
    form: String,
    error: Option<String>,
    reason: String,
    /// Why no PEPPOL file can be made for this order (empty when it can).
    peppol_problems: Vec<String>,
    /// Every dispatch job that carries this order, newest first.
    jobs: Vec<super::dispatch::JobRow>,
    /// For a purchaser and an approved order: each supplier of its lines (id, name) and how it
    /// receives orders, in words (`None`: no channel yet).
    send_to: Vec<(String, String, Option<String>)>,
}

impl OrderPage {
    fn send_label(&self, supplier: &str) -> String {
        self.c.tf("dispatch.send_to", &[("supplier", supplier)])
    }
}

/// The actions `user` may take on `order` now, by its state and their role.
pub fn allowed_actions(view: &dyn domain::StateView, user: &User, order: &Order) -> Result<Vec<&'static str>, Error> {
    let mut out = Vec::new();
    let full: Vec<Received> = order
        .lines
        .iter()
        .map(|l| Received { line_no: l.line_no, quantity: l.quantity.saturating_sub(l.received) })
        .collect();
    let candidates = [
        OrderAction::Submit,
        OrderAction::Approve,
        OrderAction::Reject { reason: "x".into() },
        OrderAction::Send,
        OrderAction::Confirm,
        OrderAction::Receive { lines: full },
        OrderAction::Cancel { reason: "x".into() },
    ];
    for action in candidates {
        if domain::apply::next_status(order, &action).is_err() {
            continue;
        }
        let name = action.name();
        let cmd = Command::Transition { order_id: order.id.clone(), expected_version: None, action };
        if domain::access::authorize(view, user, &cmd)?.is_ok() {
            out.push(name);
        }
    }
    Ok(out)
}

fn order_page(ctx: Ctx, user: &User, order: Order, error: Option<String>, reason: String) -> Result<OrderPage, Error> {
    let view = ctx.backend.view();
    let mut lines = Vec::new();
    let mut total = Some(0i64);
    for l in &order.lines {
        let article = view.article(&l.article_id)?;
        let supplier = match &article {
            Some(a) => view.supplier(&a.supplier_id)?.map(|s| s.name).unwrap_or_default(),
            None => String::new(),
        };
        let line_total = article.as_ref().and_then(|a| a.price_cents).map(|p| p * i64::from(l.quantity));
        total = match (total, line_total) {
            (Some(t), Some(x)) => Some(t + x),
            _ => None,
        };
        lines.push(LineView {
            line_no: l.line_no,
            article_id: l.article_id.to_string(),
            article,
            supplier,
            quantity: l.quantity,
            received: l.received,
            note: l.note.clone().unwrap_or_default(),
            line_total,
        });
    }
    let unit = view.unit(&order.unit_id)?;
    let actions = allowed_actions(view.as_ref(), user, &order)?;
    let may_edit = order.status == OrderStatus::Draft
        && domain::access::authorize(
            view.as_ref(),
            user,
            &Command::UpdateOrder {
                expected_version: order.version,
                fields: domain::command::OrderFields {
                    id: order.id.clone(),
                    unit_id: order.unit_id.clone(),
                    lines: vec![],
                    note: None,
                    needed_by: None,
                    urgent: false,
                    submit: false,
                    exercise: None,
                    drill: false,
                },
            },
        )?
        .is_ok();
    let lang = ctx.lang();
    let doc = documents::export::order_doc(view.as_ref(), order.clone(), None)?;
    let peppol_problems =
        documents::export::ubl::problems(&doc, view.organisation()?.as_ref()).iter().map(|p| p.text(lang)).collect();
    let jobs = super::dispatch::for_order(lang, view.as_ref(), &order.id)?;
    let mut send_to: Vec<(String, String, Option<String>)> = Vec::new();
    if order.status == OrderStatus::Approved && ctx.c.may_purchase() {
        for l in &doc.lines {
            let Some(s) = &l.supplier else { continue };
            if send_to.iter().any(|(id, _, _)| id == s.id.as_str()) {
                continue;
            }
            let channel = view.channel(&s.id)?.map(|c| super::dispatch::channel_text(lang, &c.channel));
            send_to.push((s.id.to_string(), s.name.clone(), channel));
        }
    }
    Ok(OrderPage {
        jobs,
        send_to,
        peppol_problems,
        unit: unit.as_ref().map_or_else(|| order.unit_id.to_string(), |u| u.name.clone()),
        site: unit.map(|u| u.site).unwrap_or_default(),
        lines,
        total: total.filter(|_| !order.lines.is_empty()),
        actions,
        may_edit,
        form: form_id(),
        error,
        reason,
        order,
        c: ctx.c,
    })
}

fn visible_order(ctx: &Ctx, user: &User, id: &str) -> Result<Order, Error> {
    match ctx.backend.view().order(OrderId::new(id))? {
        Some(o) if domain::access::may_see_order(user, &o) => Ok(o),
        _ => Err(ctx.not_found()),
    }
}

pub async fn page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("orders");
    let user = ctx.user()?;
    let order = visible_order(&ctx, &user, &id)?;
    render(&order_page(ctx, &user, order, None, String::new())?)
}

/// An action button on the order page or the purchaser view: submit, approve, reject, send,
/// confirm, receive or cancel.
pub async fn action(
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let ctx = ctx.in_section("orders");
    let f = Fields(f);
    let user = ctx.user()?;
    ctx.check_csrf(f.csrf())?;
    let order = visible_order(&ctx, &user, &id)?;
    let reason = f.text("reason");
    let mut problem: Option<String> = None;
    let action = match action.as_str() {
        "submit" => OrderAction::Submit,
        "approve" => OrderAction::Approve,
        "send" => OrderAction::Send,
        "confirm" => OrderAction::Confirm,
        "reject" | "cancel" => {
            if reason.is_empty() {
                problem = Some(ctx.c.t("order.reason_required").into());
            }
            if action == "reject" {
                OrderAction::Reject { reason: reason.clone() }
            } else {
                OrderAction::Cancel { reason: reason.clone() }
            }
        }
        "receive" => {
            let mut lines = Vec::new();
            for l in &order.lines {
                let raw = f.text(&format!("received-{}", l.line_no));
                if raw.is_empty() {
                    continue;
                }
                match parse_count(&raw) {
                    Some(q) => lines.push(Received { line_no: l.line_no, quantity: q }),
                    None => problem = Some(ctx.c.t("problem.bad_number").into()),
                }
            }
            OrderAction::Receive { lines }
        }
        _ => return Err(ctx.not_found()),
    };
    let name = action.name();
    let outcome = match problem {
        Some(message) => Outcome::Refused { message, field: None, rejection: None },
        None => {
            let expected_version = f.get("version").and_then(|v| v.parse().ok());
            let cmd = Command::Transition { order_id: order.id.clone(), expected_version, action };
            submit(&ctx, &user, f.get("form"), cmd).await?
        }
    };
    match outcome {
        Outcome::Saved { .. } => {
            let back = f.get("back").map(|b| safe_next(Some(b)));
            let to = back.unwrap_or_else(|| format!("/orders/{}", urlencode(order.id.as_str())));
            let sep = if to.contains('?') { '&' } else { '?' };
            super::chrome::see_path(&format!("{to}{sep}done={name}"))
        }
        Outcome::Queued { seq } => super::chrome::see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, .. } => {
            // Show the order as it is now, with the message and what the user typed.
            let current = visible_order(&ctx, &user, &id)?;
            let page = order_page(ctx, &user, current, Some(message), reason)?;
            let html = page.render().map_err(Error::internal)?;
            Ok((StatusCode::CONFLICT, Html(html)).into_response())
        }
    }
}
