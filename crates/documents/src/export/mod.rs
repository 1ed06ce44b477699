//! Supplier order files, made on any node from its local state: one order or a supplier's
//! batch (every order with lines from that supplier in chosen states and dates, only those
//! lines), as CSV or Excel. Both formats write the same rows from [`lines`] and [`summary`].
//! A file made without quorum says so in every row's source column.

pub mod audit;
pub mod binder;
pub mod csv;
pub mod drills;
pub mod pdf;
pub mod report_form;
pub mod ubl;
pub mod xlsx;

use crate::i18n::Lang;
use domain::{Article, CareUnit, Order, OrderLine, StateError, StateView, StateViewExt, Supplier, SupplierId};
use time::{Date, OffsetDateTime};

/// One order as a file shows it.
#[derive(Clone, Debug)]
pub struct OrderDoc {
    pub order: Order,
    pub unit: Option<CareUnit>,
    pub lines: Vec<LineDoc>,
}

#[derive(Clone, Debug)]
pub struct LineDoc {
    pub line: OrderLine,
    pub article: Option<Article>,
    pub supplier: Option<Supplier>,
}

/// What a file holds and where it came from.
#[derive(Clone, Debug)]
pub struct Batch {
    pub orders: Vec<OrderDoc>,
    pub node_id: u64,
    pub made_at: OffsetDateTime,
    /// `None` with quorum; otherwise since when the node has not heard from a majority.
    pub unconfirmed_since: Option<OffsetDateTime>,
    /// A queued order (in this node's outbox, not yet sent to the cluster): since when.
    pub queued_since: Option<OffsetDateTime>,
}

impl Batch {
    /// The source column's text: node and time, and a warning without quorum.
    pub fn source(&self, lang: Lang) -> String {
        match self.warning(lang) {
            None => self.origin(lang),
            Some(w) => format!("{} {w}", self.origin(lang)),
        }
    }

    /// Which node made the file, and when.
    pub fn origin(&self, lang: Lang) -> String {
        lang.tf("export.source", &[("node", &self.node_id.to_string()), ("time", &lang.datetime(self.made_at))])
    }

    /// Without quorum: that the cluster has not confirmed what the file shows, and since when.
    pub fn warning(&self, lang: Lang) -> Option<String> {
        if let Some(t) = self.queued_since {
            return Some(lang.tf("export.queued", &[("as_of", &lang.datetime(t))]));
        }
        self.unconfirmed_since.map(|t| lang.tf("export.unconfirmed", &[("as_of", &lang.datetime(t))]))
    }
}

/// The order with everything a file needs; `only` keeps just one supplier's lines.
pub fn order_doc(view: &dyn StateView, order: Order, only: Option<&SupplierId>) -> Result<OrderDoc, StateError> {
    let unit = view.unit(&order.unit_id)?;
    let mut lines = Vec::new();
    for l in &order.lines {
        let article = view.article(&l.article_id)?;
        let supplier = match &article {
            Some(a) => view.supplier(&a.supplier_id)?,
            None => None,
        };
        if only.is_some_and(|s| supplier.as_ref().is_none_or(|x| x.id != *s)) {
            continue;
        }
        lines.push(LineDoc { line: l.clone(), article, supplier });
    }
    Ok(OrderDoc { order, unit, lines })
}

/// A cell of a row, typed so that spreadsheets get numbers and dates, not text.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Hundredths of the currency; empty when unknown.
    Money(Option<i64>),
    Date(Option<Date>),
}

/// Column headers (catalog keys) of each order's own fields, first in both sheets.
const ORDER_COLUMNS: [&str; 7] =
    ["order.number", "order.created", "order.status", "order.urgent", "order.needed_by", "order.unit", "field.site"];

/// Column headers (catalog keys) of the lines sheet, in order.
pub fn line_columns() -> Vec<&'static str> {
    ORDER_COLUMNS
        .into_iter()
        .chain([
            "field.cost_centre",
            "field.delivery_address",
            "order.line_no",
            "catalog.supplier",
            "field.article_number",
            "field.gtin",
            "field.name",
            "order.quantity",
            "export.unit_code",
            "field.unit",
            "field.pack_size",
            "field.price",
            "order.line_total",
            "order.note",
            "export.order_note",
        ])
        .collect()
}

/// Column headers of the summary sheet.
pub fn summary_columns() -> Vec<&'static str> {
    ORDER_COLUMNS.into_iter().chain(["order.lines", "order.total"]).collect()
}

fn yes_no(lang: Lang, b: bool) -> Cell {
    Cell::Text(lang.t(if b { "export.yes" } else { "export.no" }).to_owned())
}

fn order_cells(lang: Lang, d: &OrderDoc) -> Vec<Cell> {
    let o = &d.order;
    vec![
        // An exercise's order says so in every row of every file.
        Cell::Text(crate::exercises::marked(lang, o.exercise.as_ref(), &o.number)),
        Cell::Date(Some(o.created_at.date())),
        Cell::Text(lang.t(&format!("status.{}", o.status.as_str())).to_owned()),
        yes_no(lang, o.urgent),
        Cell::Date(o.needed_by),
        Cell::Text(d.unit.as_ref().map_or_else(|| o.unit_id.to_string(), |u| u.name.clone())),
        Cell::Text(d.unit.as_ref().map(|u| u.site.clone()).unwrap_or_default()),
    ]
}

/// One row per order line, with the order's header fields.
pub fn lines(lang: Lang, b: &Batch) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for d in &b.orders {
        let head = order_cells(lang, d);
        for l in &d.lines {
            let a = l.article.as_ref();
            let price = a.and_then(|a| a.price_cents);
            let unit = a.map_or("EA", |a| a.unit.as_str());
            let mut row = head.clone();
            row.extend([
                Cell::Text(d.unit.as_ref().and_then(|u| u.cost_centre.clone()).unwrap_or_default()),
                Cell::Text(d.unit.as_ref().map(|u| u.delivery_address.join(", ")).unwrap_or_default()),
                Cell::Int(i64::from(l.line.line_no)),
                Cell::Text(l.supplier.as_ref().map(|s| s.name.clone()).unwrap_or_default()),
                Cell::Text(a.map(|a| a.article_number.clone()).unwrap_or_default()),
                Cell::Text(a.and_then(|a| a.gtin.clone()).unwrap_or_default()),
                Cell::Text(a.map_or_else(|| l.line.article_id.to_string(), |a| a.name.clone())),
                Cell::Int(i64::from(l.line.quantity)),
                Cell::Text(unit.to_owned()),
                Cell::Text(lang.t(&format!("uom.{unit}")).to_owned()),
                Cell::Int(a.map_or(1, |a| i64::from(a.pack_size))),
                Cell::Money(price),
                Cell::Money(price.map(|p| p * i64::from(l.line.quantity))),
                Cell::Text(l.line.note.clone().unwrap_or_default()),
                Cell::Text(d.order.note.clone().unwrap_or_default()),
            ]);
            rows.push(row);
        }
    }
    rows
}

/// One row per order: its header fields, how many lines, and the total where prices exist.
pub fn summary(lang: Lang, b: &Batch) -> Vec<Vec<Cell>> {
    b.orders
        .iter()
        .map(|d| {
            let total: Option<i64> = d
                .lines
                .iter()
                .map(|l| l.article.as_ref().and_then(|a| a.price_cents).map(|p| p * i64::from(l.line.quantity)))
                .sum();
            let mut row = order_cells(lang, d);
            row.push(Cell::Int(i64::try_from(d.lines.len()).unwrap_or(i64::MAX)));
            row.push(Cell::Money(total));
            row
        })
        .collect()
}

/// A file name without spaces or slashes: `beredd-order-2026-000042.csv`,
/// `beredd-medilux-2026-11-23.xlsx`.
pub fn file_name(what: &str, date: Date, ext: &str) -> String {
    let safe: String = domain::search::fold(what)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    format!("beredd-{}-{date}.{ext}", safe.trim_matches('-'))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod readers_tests;
