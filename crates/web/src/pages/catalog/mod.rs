//! The catalog: search by name, article number or GTIN (case- and diacritics-insensitive),
//! filter by category and supplier, page through the hits, and start or extend an order.

pub mod admin;

use super::chrome::{Chrome, Ctx, PageResult, index, render, urlencode};
use askama::Template;
use axum::extract::Query;
use domain::search::Query as Search;
use domain::{Article, StateViewExt, SupplierId};
use serde::Deserialize;

pub const PAGE_SIZE: usize = 25;

#[derive(Deserialize, Default)]
pub struct CatalogQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    supplier: String,
    page: Option<usize>,
    /// A draft order to add articles to.
    #[serde(rename = "for", default)]
    for_order: String,
}

pub struct Hit {
    pub article: Article,
    pub supplier: String,
    /// Where "order" leads: a new order with this line, or the draft being put together.
    pub order_link: String,
}

#[derive(Template)]
#[template(path = "catalog/search.html")]
struct CatalogPage {
    c: Chrome,
    q: String,
    category: String,
    supplier: String,
    for_order: String,
    for_number: Option<String>,
    categories: Vec<String>,
    suppliers: Vec<(String, String)>,
    hits: Vec<Hit>,
    total: usize,
    pager: Pager,
}

/// Page links for a list.
pub struct Pager {
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the list's URL with every filter and a trailing `&` or `?`.
    pub fn new(base: &str, page: usize, total: usize, size: usize) -> Self {
        let pages = total.div_ceil(size).max(1);
        let page = page.clamp(1, pages);
        Self {
            page,
            pages,
            prev: (page > 1).then(|| format!("{base}page={}", page - 1)),
            next: (page < pages).then(|| format!("{base}page={}", page + 1)),
        }
    }

    pub fn range(&self, size: usize) -> std::ops::Range<usize> {
        (self.page - 1) * size..self.page * size
    }
}

pub async fn page(ctx: Ctx, Query(q): Query<CatalogQuery>) -> PageResult {
    let ctx = ctx.in_section("catalog");
    let user = ctx.user()?;
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let search = Search::new(&q.q);
    let supplier = (!q.supplier.is_empty()).then(|| SupplierId::new(&q.supplier));
    let category = (!q.category.is_empty()).then_some(q.category.as_str());
    let all = ix.search(&search, category, supplier.as_ref(), false);
    let base = format!(
        "/catalog?q={}&category={}&supplier={}&for={}&",
        urlencode(&q.q),
        urlencode(&q.category),
        urlencode(&q.supplier),
        urlencode(&q.for_order)
    );
    let pager = Pager::new(&base, q.page.unwrap_or(1), all.len(), PAGE_SIZE);
    let draft = if q.for_order.is_empty() {
        None
    } else {
        b.view()
            .order(domain::OrderId::new(&q.for_order))?
            .filter(|o| o.status == domain::OrderStatus::Draft && domain::access::may_see_order(&user, o))
    };
    let hits = all
        .iter()
        .skip(pager.range(PAGE_SIZE).start)
        .take(PAGE_SIZE)
        .map(|a| Hit {
            article: (*a).clone(),
            supplier: ix.suppliers.get(&a.supplier_id).map(|s| s.name.clone()).unwrap_or_default(),
            order_link: match &draft {
                Some(o) => format!("/orders/{}/edit?add={}", urlencode(o.id.as_str()), urlencode(a.id.as_str())),
                None => format!("/orders/new?add={}", urlencode(a.id.as_str())),
            },
        })
        .collect();
    let page = CatalogPage {
        total: all.len(),
        categories: ix.categories().map(str::to_owned).collect(),
        suppliers: ix.suppliers.values().filter(|s| !s.withdrawn).map(|s| (s.id.to_string(), s.name.clone())).collect(),
        hits,
        pager,
        q: q.q,
        category: q.category,
        supplier: q.supplier,
        for_number: draft.map(|o| o.number),
        for_order: q.for_order,
        c: ctx.c,
    };
    drop(ix);
    render(&page)
}
