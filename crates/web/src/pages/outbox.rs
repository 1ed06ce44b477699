//! `/outbox`: what this node queued while it could not reach a leader — each item with what it
//! is, when and by whom, and its fate; a queued order's files at once; and for a conflict or a
//! refusal, the person's choice (keep theirs, keep mine, merge lines).

use askama::Template;
use axum::Form;
use axum::extract::Path;
use domain::{Command, Order};

use super::chrome::{Chrome, Ctx, Error, PageResult, render, see_path};
use super::form::Fields;
use crate::backend::{Fate, Queued, Resolution};

/// One item as the page shows it.
pub struct Row {
    pub q: Queued,
    /// What it is, in the reader's language.
    pub what: String,
    /// A queued order as it would be (for its files), and its lines: article, quantity, unit.
    pub order: Option<Order>,
    pub lines: Vec<(String, u32, String)>,
}

#[derive(Template)]
#[template(path = "outbox/list.html")]
struct OutboxPage {
    c: Chrome,
    rows: Vec<Row>,
}

impl OutboxPage {
    fn fate(&self, f: &Fate) -> String {
        let lang = self.c.lang;
        match f {
            Fate::Queued => lang.t("outbox.fate_queued").into(),
            Fate::Landed { at, .. } => lang.tf("outbox.fate_landed", &[("at", &lang.datetime(*at))]),
            Fate::Refused { message, .. } => format!("{} {message}", lang.t("outbox.fate_refused")),
            Fate::Conflict { .. } => lang.t("outbox.fate_conflict").into(),
            Fate::Dropped { at, .. } => lang.tf("outbox.fate_dropped", &[("at", &lang.datetime(*at))]),
        }
    }
    fn is_edit(&self, q: &Queued) -> bool {
        matches!(q.cmd, Command::UpdateOrder { .. })
    }
}

fn describe(c: &Chrome, view: &dyn domain::StateView, q: &Queued) -> String {
    use domain::StateViewExt;
    let lang = c.lang;
    let unit = |id: &domain::UnitId| view.unit(id).ok().flatten().map_or_else(|| id.to_string(), |u| u.name);
    match &q.cmd {
        Command::CreateOrder(f) => lang.tf("outbox.what_create", &[("unit", &unit(&f.unit_id))]),
        Command::UpdateOrder { fields, .. } => {
            let number = view.order(&fields.id).ok().flatten().map_or_else(|| fields.id.to_string(), |o| o.number);
            lang.tf("outbox.what_update", &[("number", &number)])
        }
        Command::Transition { order_id, action, .. } => {
            let number = view.order(order_id).ok().flatten().map_or_else(|| order_id.to_string(), |o| o.number);
            let key = match action {
                domain::OrderAction::Send => "outbox.what_send",
                _ => "outbox.what_receive",
            };
            lang.tf(key, &[("number", &number)])
        }
        Command::PostIncidentUpdate { incident_id, .. } => {
            let title = view.incident(incident_id).ok().flatten().map_or_else(|| incident_id.to_string(), |i| i.title);
            lang.tf("outbox.what_incident", &[("title", &title)])
        }
        other => other.name().to_owned(),
    }
}

fn lines(c: &Chrome, view: &dyn domain::StateView, o: &Order) -> Vec<(String, u32, String)> {
    use domain::StateViewExt;
    o.lines
        .iter()
        .map(|l| match view.article(&l.article_id).ok().flatten() {
            Some(a) => (a.name.clone(), l.quantity, c.unit_label(&a.unit).to_owned()),
            None => (l.article_id.to_string(), l.quantity, String::new()),
        })
        .collect()
}

/// `GET /outbox`.
pub async fn page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("orders");
    let user = ctx.user()?;
    let lang = ctx.lang();
    let items = crate::api::outbox::visible(&ctx.backend, &user)?;
    let view = ctx.backend.view();
    let node = ctx.backend.cluster().node_id;
    let rows = items
        .into_iter()
        .rev()
        .map(|q| {
            let order = crate::api::outbox::preview(view.as_ref(), &q, node, lang);
            let lines = order.as_ref().map(|o| lines(&ctx.c, view.as_ref(), o)).unwrap_or_default();
            Row { what: describe(&ctx.c, view.as_ref(), &q), order, lines, q }
        })
        .collect();
    render(&OutboxPage { c: ctx.c, rows })
}

/// `POST /outbox/{seq}/resolve`: a person's answer to a conflict or a refusal.
pub async fn resolve(ctx: Ctx, Path(seq): Path<u64>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let how = match f.get("resolution") {
        Some("keep_theirs") => Resolution::KeepTheirs,
        Some("keep_mine") => Resolution::KeepMine,
        Some("merge_lines") => Resolution::MergeLines,
        _ => return Err(ctx.not_found()),
    };
    let items = crate::api::outbox::visible(&ctx.backend, &user)?;
    if !items.iter().any(|q| q.seq == seq) {
        return Err(ctx.not_found());
    }
    ctx.backend.resolve(seq, how, Some(user.id.to_string())).await.map_err(Error::internal)?;
    see_path(&format!("/outbox?done=saved#item-{seq}"))
}
