//! The purchaser's view: orders to review, to send and awaiting delivery, grouped by supplier,
//! with the actions right beside them.

use crate::pages::chrome::{Chrome, Ctx, PageResult, index, render, urlencode};
use crate::pages::form_id;
use crate::pages::orders::Row;
use askama::Template;
use axum::extract::Query;
use documents::read_model::OrderSort;
use domain::{OrderStatus, StateViewExt};
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
    /// Why the supplier's PEPPOL files cannot be made (empty when they can).
    pub peppol_problems: Vec<String>,
    /// When more orders wait than shown: how many, and the order list that shows them all.
    pub more: Option<(usize, String)>,
    /// How the supplier receives orders, in words; `None` until a purchaser sets it.
    pub channel: Option<String>,
    /// The form id of the "send all" button.
    pub form: String,
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
#[template(path = "orders/purchasing.html")]
struct PurchasingPage {
    c: Chrome,
    tab: &'static str,
    tabs: Vec<(&'static str, usize)>,
    groups: Vec<Group>,
}

impl PurchasingPage {
    /// The tab's statuses for the batch download links, e.g. `sent,confirmed,partially_delivered`.
    fn statuses(&self) -> String {
        TABS.iter()
            .find(|(t, _)| *t == self.tab)
            .map_or(String::new(), |(_, s)| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","))
    }
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

/// Orders shown per supplier; the rest are a link away.
const PER_SUPPLIER: usize = 50;

const TABS: [(&str, &[OrderStatus]); 3] = [
    ("review", &[OrderStatus::Submitted]),
    ("send", &[OrderStatus::Approved]),
    ("delivery", &[OrderStatus::Sent, OrderStatus::Confirmed, OrderStatus::PartiallyDelivered]),
];

pub async fn page(ctx: Ctx, Query(q): Query<TabQuery>) -> PageResult {
    let ctx = ctx.in_section("purchasing");
    if !ctx.c.may_purchase() {
        return Err(ctx.forbidden());
    }
    let (tab, statuses) = TABS.iter().find(|(t, _)| *t == q.tab).copied().unwrap_or(TABS[0]);
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let user = ctx.user()?;
    let count = |s: &[OrderStatus]| ix.count(&ix.filter(&user, None, s, None, None, None));
    let tabs = TABS.iter().map(|(t, s)| (*t, count(s))).collect();
    let buyer = b.view().organisation()?;
    let mut groups = Vec::new();
    for s in ix.suppliers.values() {
        let f = ix.filter(&user, None, statuses, None, None, Some(&s.id));
        let (orders, total) = ix.find(&f, OrderSort::Newest, 0, PER_SUPPLIER);
        if total == 0 {
            continue;
        }
        let orders = orders
            .into_iter()
            .map(|o| Item {
                row: Row::of(&ix, o),
                lines: o
                    .articles
                    .iter()
                    .filter(|a| ix.articles.get(*a).is_some_and(|a| a.article.supplier_id == s.id))
                    .count(),
                version: o.version,
                form: form_id(),
            })
            .collect();
        let more = (total > PER_SUPPLIER).then(|| {
            let status = if statuses.len() == 1 { statuses[0].as_str() } else { "open" };
            (total, format!("/orders?supplier={}&status={status}&sort=oldest", urlencode(s.id.as_str())))
        });
        let peppol_problems =
            documents::export::ubl::party_problems(buyer.as_ref(), &[s]).iter().map(|p| p.text(ctx.lang())).collect();
        let channel = b.view().channel(&s.id)?.map(|c| crate::pages::dispatch::channel_text(ctx.lang(), &c.channel));
        groups.push(Group {
            supplier_id: s.id.to_string(),
            supplier: s.name.clone(),
            orders,
            more,
            peppol_problems,
            channel,
            form: form_id(),
        });
    }
    groups.sort_by_key(|a| a.supplier.to_lowercase());
    let page = PurchasingPage { tab, tabs, groups, c: ctx.c };
    drop(ix);
    render(&page)
}
