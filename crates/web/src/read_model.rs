//! An in-memory index of the catalog and of order summaries, for search boxes and lists that
//! stay fast with 10,000 articles and 100,000 orders.
//!
//! It is kept current from the audit trail: every command the log carries leaves one audit line
//! naming its target, so after a change only the records it touched are read again. A node that
//! installed a snapshot simply finds many new lines and rebuilds. Nothing here is a second
//! source of truth: it is always derived from the node's applied state.

use domain::search::{Query, fold};
use domain::state::StateViewExt;
use domain::{
    Article, ArticleId, CareUnit, Order, OrderId, OrderStatus, Record, StateError, StateView, Supplier, SupplierId,
    Table, UnitId,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, RwLock, RwLockReadGuard};
use time::{Date, OffsetDateTime};

/// More new audit lines than this and the index is rebuilt from scratch.
const REBUILD_AFTER: usize = 20_000;

#[derive(Clone, Debug)]
pub struct IndexedArticle {
    pub article: Article,
    /// Name, article number, GTIN, category and supplier name, folded for search.
    pub folded: String,
}

/// What the order list needs of an order.
#[derive(Clone, Debug)]
pub struct OrderSummary {
    pub id: OrderId,
    pub number: String,
    pub unit_id: UnitId,
    pub status: OrderStatus,
    pub urgent: bool,
    pub needed_by: Option<Date>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: u64,
    pub articles: Vec<ArticleId>,
}

impl OrderSummary {
    fn of(o: &Order) -> Self {
        Self {
            id: o.id.clone(),
            number: o.number.clone(),
            unit_id: o.unit_id.clone(),
            status: o.status,
            urgent: o.urgent,
            needed_by: o.needed_by,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
            articles: o.lines.iter().map(|l| l.article_id.clone()).collect(),
        }
    }
}

#[derive(Default)]
pub struct Index {
    /// Log index of the last audit line reflected here.
    pub upto: u64,
    pub suppliers: BTreeMap<SupplierId, Supplier>,
    pub units: BTreeMap<UnitId, CareUnit>,
    pub articles: BTreeMap<ArticleId, IndexedArticle>,
    pub orders: HashMap<OrderId, OrderSummary>,
    /// Order ids by order number, which sorts by year and then sequence.
    pub by_number: BTreeMap<String, OrderId>,
}

impl Index {
    pub fn categories(&self) -> BTreeSet<&str> {
        self.articles.values().map(|a| a.article.category.as_str()).collect()
    }

    /// Articles matching `q`, optionally of one category and supplier, in name order.
    pub fn search(
        &self,
        q: &Query,
        category: Option<&str>,
        supplier: Option<&SupplierId>,
        include_withdrawn: bool,
    ) -> Vec<&Article> {
        let mut hits: Vec<&Article> = self
            .articles
            .values()
            .filter(|a| include_withdrawn || !a.article.withdrawn)
            .filter(|a| category.is_none_or(|c| a.article.category == c))
            .filter(|a| supplier.is_none_or(|s| a.article.supplier_id == *s))
            .filter(|a| q.matches(&a.folded))
            .map(|a| &a.article)
            .collect();
        hits.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
        hits
    }

    /// Whether an order has a line from `supplier`.
    pub fn order_has_supplier(&self, o: &OrderSummary, supplier: &SupplierId) -> bool {
        o.articles.iter().any(|a| self.articles.get(a).is_some_and(|a| a.article.supplier_id == *supplier))
    }

    /// Orders newest first (by number), as summaries.
    pub fn orders_newest_first(&self) -> impl Iterator<Item = &OrderSummary> {
        self.by_number.values().rev().filter_map(|id| self.orders.get(id))
    }

    fn put_article(&mut self, a: Article) {
        let supplier = self.suppliers.get(&a.supplier_id).map(|s| s.name.as_str()).unwrap_or_default();
        let folded = fold(&format!(
            "{} {} {} {} {}",
            a.name,
            a.article_number,
            a.gtin.as_deref().unwrap_or_default(),
            a.category,
            supplier
        ));
        self.articles.insert(a.id.clone(), IndexedArticle { article: a, folded });
    }

    fn put_order(&mut self, o: &Order) {
        self.by_number.insert(o.number.clone(), o.id.clone());
        self.orders.insert(o.id.clone(), OrderSummary::of(o));
    }

    fn build(view: &dyn StateView) -> Result<Self, StateError> {
        let mut ix = Index { upto: last_audit(view)?, ..Index::default() };
        for r in scan_all(view, Table::Supplier)? {
            if let Record::Supplier(s) = r {
                ix.suppliers.insert(s.id.clone(), s);
            }
        }
        for r in scan_all(view, Table::Unit)? {
            if let Record::Unit(u) = r {
                ix.units.insert(u.id.clone(), u);
            }
        }
        for r in scan_all(view, Table::Article)? {
            if let Record::Article(a) = r {
                ix.put_article(a);
            }
        }
        for r in scan_all(view, Table::Order)? {
            if let Record::Order(o) = r {
                ix.put_order(&o);
            }
        }
        Ok(ix)
    }
}

fn scan_all(view: &dyn StateView, table: Table) -> Result<Vec<Record>, StateError> {
    const BATCH: usize = 2048;
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    let prefix = table.prefix().len();
    loop {
        let after_id = after.as_ref().map(|k| String::from_utf8_lossy(&k[prefix..]).into_owned());
        let batch = view.scan_keyed(table, after_id.as_deref(), BATCH)?;
        let n = batch.len();
        for (k, r) in batch {
            after = Some(k);
            out.push(r);
        }
        if n < BATCH {
            return Ok(out);
        }
    }
}

fn last_audit(view: &dyn StateView) -> Result<u64, StateError> {
    // Audit keys are zero-padded log indexes: the last one is the largest. Step in big strides
    // first so that a long trail costs a few seeks, not a full scan.
    let mut upto = 0u64;
    let mut stride = 1u64 << 40;
    while stride > 0 {
        let probe = upto.saturating_add(stride);
        if !view.scan(Table::Audit, Some(&format!("{:020}", probe - 1)), 1)?.is_empty() {
            upto = probe;
        } else {
            stride /= 2;
        }
    }
    // `upto` is now the largest n with an audit line at index >= n; find that line.
    match view.scan(Table::Audit, Some(&format!("{:020}", upto.saturating_sub(1))), 1)?.first() {
        Some(Record::Audit(a)) => Ok(a.log_index),
        _ => Ok(0),
    }
}

/// The index, shared by every request of a node.
#[derive(Default)]
pub struct ReadModel {
    index: RwLock<Index>,
    built: std::sync::atomic::AtomicBool,
    catching_up: Mutex<()>,
}

impl ReadModel {
    /// The index, brought up to date with `view` first.
    pub fn get(&self, view: &dyn StateView) -> Result<RwLockReadGuard<'_, Index>, StateError> {
        let upto = self.read().upto;
        let fresh = self.built.load(std::sync::atomic::Ordering::Acquire)
            && view.scan(Table::Audit, Some(&format!("{upto:020}")), 1)?.is_empty();
        if !fresh {
            let _one_at_a_time = self.catching_up.lock().unwrap_or_else(|p| p.into_inner());
            self.catch_up(view)?;
        }
        Ok(self.read())
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn catch_up(&self, view: &dyn StateView) -> Result<(), StateError> {
        if !self.built.load(std::sync::atomic::Ordering::Acquire) {
            let ix = Index::build(view)?;
            *self.index.write().unwrap_or_else(|p| p.into_inner()) = ix;
            self.built.store(true, std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let mut upto = self.read().upto;
        let mut targets: BTreeSet<String> = BTreeSet::new();
        loop {
            let batch = view.scan(Table::Audit, Some(&format!("{upto:020}")), 1000)?;
            let n = batch.len();
            for r in batch {
                if let Record::Audit(a) = r {
                    upto = a.log_index;
                    if a.outcome == "applied" {
                        targets.insert(a.target);
                    }
                }
            }
            if targets.len() > REBUILD_AFTER {
                let ix = Index::build(view)?;
                *self.index.write().unwrap_or_else(|p| p.into_inner()) = ix;
                return Ok(());
            }
            if n < 1000 {
                break;
            }
        }
        // Read what changed before taking the write lock, so readers wait only for the swap.
        let mut records: Vec<Record> = Vec::new();
        if targets.iter().any(|t| t.starts_with("import/")) {
            // An import names no single record: read the whole catalog again.
            for table in [Table::Supplier, Table::Unit, Table::Article] {
                records.extend(scan_all(view, table)?);
            }
        }
        for t in &targets {
            let Some((kind, id)) = t.split_once('/') else { continue };
            let candidates: Vec<&str> = match kind {
                // A transition's target is `order/<id>:<action>`; ids may contain ':' too.
                "order" => std::iter::once(id).chain(id.rsplit_once(':').map(|(i, _)| i)).collect(),
                _ => vec![id],
            };
            for id in candidates {
                let rec = match kind {
                    "supplier" => view.supplier(&SupplierId::new(id))?.map(Record::Supplier),
                    "unit" => view.unit(&UnitId::new(id))?.map(Record::Unit),
                    "article" => view.article(&ArticleId::new(id))?.map(Record::Article),
                    "order" => view.order(&OrderId::new(id))?.map(Record::Order),
                    _ => None,
                };
                records.extend(rec);
            }
        }
        let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
        let mut suppliers_changed = false;
        for r in records {
            match r {
                Record::Supplier(s) => {
                    suppliers_changed = true;
                    ix.suppliers.insert(s.id.clone(), s);
                }
                Record::Unit(u) => {
                    ix.units.insert(u.id.clone(), u);
                }
                Record::Article(a) => ix.put_article(a),
                Record::Order(o) => ix.put_order(&o),
                _ => {}
            }
        }
        if suppliers_changed {
            // Supplier names are part of each article's search text.
            let all: Vec<Article> = ix.articles.values().map(|a| a.article.clone()).collect();
            for a in all {
                ix.put_article(a);
            }
        }
        ix.upto = upto;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Command, CommandId, Envelope, MemState};

    fn run(st: &mut MemState, cmds: Vec<(CommandId, Command)>, from: u64) {
        let at = time::macros::datetime!(2026-11-23 10:00 UTC);
        for (i, (id, cmd)) in cmds.into_iter().enumerate() {
            let n = from + i as u64;
            let env = Envelope { id, at, origin: 1, actor: None, cmd };
            let (_, ch) = domain::apply(st, &env, n).unwrap();
            st.write(ch);
        }
    }

    #[test]
    fn follows_the_audit_trail_and_matches_a_fresh_build() {
        let mut st = MemState::default();
        let cmds = domain::fixtures::demo_commands();
        let half = cmds.len() / 2;
        let mut it = cmds.into_iter();
        run(&mut st, it.by_ref().take(half).collect(), 1);
        let rm = ReadModel::default();
        let (a0, o0) = {
            let ix = rm.get(&st).unwrap();
            (ix.articles.len(), ix.orders.len())
        };
        run(&mut st, it.collect(), half as u64 + 1);
        let ix = rm.get(&st).unwrap();
        let fresh = Index::build(&st).unwrap();
        assert!(ix.articles.len() >= a0 && ix.orders.len() >= o0);
        assert_eq!(ix.upto, fresh.upto);
        assert_eq!(ix.articles.len(), fresh.articles.len());
        assert_eq!(ix.orders.len(), fresh.orders.len());
        assert_eq!(ix.units.len(), fresh.units.len());
        for (id, o) in &fresh.orders {
            assert_eq!(ix.orders[id].status, o.status, "{id}");
            assert_eq!(ix.orders[id].number, o.number);
        }
        let hits = ix.search(&Query::new("handske"), None, None, false);
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|a| fold(&a.name).contains("handsk") || fold(&a.category).contains("handsk")));
    }
}
