//! The purchaser's view: orders to review, to send and awaiting delivery, grouped by supplier,
//! with the actions right beside them.

use super::chrome::{Chrome, Ctx, PageResult, index, render};
use super::form_id;
use super::orders::Row;
use askama::Template;
use axum::extract::Query;
use domain::{OrderStatus, SupplierId};
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    tab: String,
}

pub struct Group {
    pub supplier_id: String,
    pub supplier: String,
    pub orders: Vec<Item>,
}

/// An order under a supplier: how many of its lines are that supplier's, and the version and
/// form id its action buttons post.
pub struct Item {
    pub row: Row,
    pub lines: usize,
    pub version: u64,
    pub form: String,
}

#[derive(Template)]
#[template(path = "purchasing.html")]
struct PurchasingPage {
    c: Chrome,
    tab: &'static str,
    tabs: Vec<(&'static str, usize)>,
    groups: Vec<Group>,
}

impl Item {
    /// The one-click actions for this order's state (reject and receive need the order page).
    pub fn actions(&self) -> Vec<&'static str> {
        match self.row.status {
            OrderStatus::Submitted => vec!["approve"],
            OrderStatus::Approved => vec!["send"],
            OrderStatus::Sent => vec!["confirm"],
            _ => vec![],
        }
    }
}

const TABS: [(&str, &[OrderStatus]); 3] = [
    ("review", &[OrderStatus::Submitted]),
    ("send", &[OrderStatus::Approved]),
    ("delivery", &[OrderStatus::Sent, OrderStatus::Confirmed, OrderStatus::PartiallyDelivered]),
];

pub async fn page(ctx: Ctx, Query(q): Query<TabQuery>) -> PageResult {
    let ctx = ctx.in_section("purchasing");
    ctx.user()?;
    if !ctx.c.may_purchase() {
        return Err(ctx.forbidden());
    }
    let (tab, statuses) = TABS.iter().find(|(t, _)| *t == q.tab).copied().unwrap_or(TABS[0]);
    let b = ctx.backend.clone();
    let ix = index(&b, ctx.lang())?;
    let tabs = TABS.iter().map(|(t, s)| (*t, ix.orders.values().filter(|o| s.contains(&o.status)).count())).collect();
    let orders: Vec<_> = ix.orders_newest_first().filter(|o| statuses.contains(&o.status)).collect();
    let mut groups = Vec::new();
    for s in ix.suppliers.values() {
        let id: &SupplierId = &s.id;
        let mut rows = Vec::new();
        for o in &orders {
            let lines =
                o.articles.iter().filter(|a| ix.articles.get(*a).is_some_and(|a| a.article.supplier_id == *id)).count();
            if lines > 0 {
                rows.push(Item { row: Row::of(&ix, o), lines, version: o.version, form: form_id() });
            }
        }
        if !rows.is_empty() {
            groups.push(Group { supplier_id: id.to_string(), supplier: s.name.clone(), orders: rows });
        }
    }
    groups.sort_by_key(|a| a.supplier.to_lowercase());
    let page = PurchasingPage { tab, tabs, groups, c: ctx.c };
    drop(ix);
    render(&page, page.c.lang)
}
