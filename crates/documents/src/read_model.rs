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
    Article, ArticleId, AuditSeq, CareUnit, KeyId, Order, OrderId, OrderStatus, Record, StateError, StateView,
    Supplier, SupplierId, Table, UnitId,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
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
    /// The suppliers of its lines (as the catalog says now).
    pub suppliers: Vec<SupplierId>,
    /// Made in an exercise (lists mark it).
    pub exercise: bool,
}

/// An order reduced to what list filters and sorts compare: 40 bytes, so that a scan over
/// 100,000 orders stays within the processor's caches.
#[derive(Clone, Copy, Debug)]
struct OrderKey {
    status: OrderStatus,
    urgent: bool,
    /// Index into [`Index::unit_names`].
    unit: u32,
    /// Days since the epoch (Julian day numbers).
    created: i32,
    needed_by: i32,
    updated: i64,
    /// One bit per supplier (the 64th stands for "any further supplier").
    suppliers: u64,
}

/// How an order list is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSort {
    Newest,
    Oldest,
    NeededBy,
    Updated,
    Status,
    Unit,
}

impl OrderSort {
    pub fn parse(s: &str) -> Self {
        match s {
            "oldest" => Self::Oldest,
            "needed_by" => Self::NeededBy,
            "updated" => Self::Updated,
            "status" => Self::Status,
            "unit" => Self::Unit,
            _ => Self::Newest,
        }
    }
}

/// Which orders a list shows. Build one with [`Index::filter`].
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Units the user may see (`None`: all).
    visible: Option<Vec<u32>>,
    unit: Option<u32>,
    /// Bit per [`OrderStatus`] position (`None`: all).
    statuses: Option<u16>,
    from: Option<i32>,
    to: Option<i32>,
    supplier: Option<(u64, SupplierId)>,
    /// Nothing can match (e.g. an unknown unit was asked for).
    none: bool,
}

fn status_bit(s: OrderStatus) -> u16 {
    1 << OrderStatus::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

fn day(d: Date) -> i32 {
    d.to_julian_day()
}

#[derive(Default)]
pub struct Index {
    /// The last audit line reflected here.
    pub upto: AuditSeq,
    pub suppliers: BTreeMap<SupplierId, Supplier>,
    pub units: BTreeMap<UnitId, CareUnit>,
    pub articles: HashMap<ArticleId, Arc<IndexedArticle>>,
    /// The same articles in name order (lower-cased name, then id).
    by_name: BTreeMap<(String, ArticleId), Arc<IndexedArticle>>,
    categories: BTreeSet<String>,
    /// Every article's folded text in name order, joined by newlines, searched in one pass;
    /// `starts[i]` is where article `i` of `in_order` begins.
    corpus: Vec<u8>,
    starts: Vec<usize>,
    in_order: Vec<Arc<IndexedArticle>>,
    /// Order summaries in order-number order (year, then sequence), keys beside them.
    orders: Vec<OrderSummary>,
    keys: Vec<OrderKey>,
    pos: HashMap<OrderId, usize>,
    /// Per sort other than by number: (sort key, minus the position), in list order.
    sorted: [BTreeSet<(i64, i64)>; 4],
    /// Interned unit ids: index → id, and each unit's rank by name.
    unit_ids: Vec<UnitId>,
    unit_index: HashMap<UnitId, u32>,
    unit_rank: Vec<u32>,
    supplier_bit: HashMap<SupplierId, u64>,
}

impl Index {
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(String::as_str)
    }

    /// Articles matching `q`, optionally of one category and supplier, in name order.
    pub fn search(
        &self,
        q: &Query,
        category: Option<&str>,
        supplier: Option<&SupplierId>,
        include_withdrawn: bool,
    ) -> Vec<&Article> {
        let hits = self.text_hits(q);
        self.in_order
            .iter()
            .enumerate()
            .filter(|(i, _)| hits.as_ref().is_none_or(|h| h.get(*i).copied().unwrap_or(false)))
            .map(|(_, a)| &a.article)
            .filter(|a| {
                include_withdrawn || !(a.withdrawn || self.suppliers.get(&a.supplier_id).is_some_and(|s| s.withdrawn))
            })
            .filter(|a| category.is_none_or(|c| a.category == c))
            .filter(|a| supplier.is_none_or(|s| a.supplier_id == *s))
            .collect()
    }

    /// Which articles (positions in `in_order`) contain every word of `q`; `None` for an empty
    /// query. Each word is one SIMD pass over the whole corpus rather than one per article.
    fn text_hits(&self, q: &Query) -> Option<Vec<bool>> {
        if q.is_empty() {
            return None;
        }
        let mut all = vec![true; self.in_order.len()];
        for (stem, whole) in q.finders() {
            let mut found = vec![false; self.in_order.len()];
            for finder in std::iter::once(stem).chain(whole) {
                for at in finder.find_iter(&self.corpus) {
                    let i = self.starts.partition_point(|s| *s <= at).saturating_sub(1);
                    if let Some(f) = found.get_mut(i) {
                        *f = true;
                    }
                }
            }
            for (a, f) in all.iter_mut().zip(found) {
                *a &= f;
            }
        }
        Some(all)
    }

    /// Lays out the search corpus again (after articles changed).
    fn rebuild_corpus(&mut self) {
        self.in_order = self.by_name.values().cloned().collect();
        self.corpus.clear();
        self.starts.clear();
        for a in &self.in_order {
            self.starts.push(self.corpus.len());
            // Newlines never occur in folded text, so no match spans two articles.
            self.corpus.extend(a.folded.replace('\n', " ").as_bytes());
            self.corpus.push(b'\n');
        }
    }

    pub fn order(&self, id: &OrderId) -> Option<&OrderSummary> {
        self.pos.get(id).and_then(|i| self.orders.get(*i))
    }

    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// A filter for the orders `user` may see, narrowed by the list's choices.
    pub fn filter(
        &self,
        user: &domain::User,
        unit: Option<&UnitId>,
        statuses: &[OrderStatus],
        from: Option<Date>,
        to: Option<Date>,
        supplier: Option<&SupplierId>,
    ) -> OrderFilter {
        use domain::Role;
        let mut f = OrderFilter { from: from.map(day), to: to.map(day), ..OrderFilter::default() };
        match user.role {
            Role::Admin | Role::Purchaser => {}
            Role::Staff => {
                f.visible = Some(user.units.iter().filter_map(|u| self.unit_index.get(u).copied()).collect());
            }
            Role::Communicator | Role::Ops => f.none = true,
        }
        if let Some(u) = unit {
            match self.unit_index.get(u) {
                Some(i) => f.unit = Some(*i),
                None => f.none = true,
            }
        }
        if !statuses.is_empty() {
            f.statuses = Some(statuses.iter().fold(0, |m, s| m | status_bit(*s)));
        }
        if let Some(s) = supplier {
            match self.supplier_bit.get(s) {
                Some(bit) => f.supplier = Some((*bit, s.clone())),
                None => f.none = true,
            }
        }
        f
    }

    /// The sorts kept as ordered sets, in the order of [`Index::sorted`].
    const SORTS: [OrderSort; 4] = [OrderSort::NeededBy, OrderSort::Updated, OrderSort::Status, OrderSort::Unit];

    /// Where order `i` stands in `sort`: smaller first; among equals, the newest first.
    fn sort_key(&self, sort: OrderSort, i: usize) -> (i64, i64) {
        let newest = -(i64::try_from(i).unwrap_or(i64::MAX));
        let Some(k) = self.keys.get(i) else { return (0, newest) };
        let primary = match sort {
            OrderSort::NeededBy => i64::from(k.needed_by) * 2 - i64::from(k.urgent),
            OrderSort::Updated => -k.updated,
            OrderSort::Status => i64::from(status_bit(k.status)),
            OrderSort::Unit => i64::from(self.unit_rank.get(k.unit as usize).copied().unwrap_or(u32::MAX)),
            OrderSort::Newest | OrderSort::Oldest => 0,
        };
        (primary, newest)
    }

    fn unsort(&mut self, i: usize) {
        for (n, sort) in Self::SORTS.into_iter().enumerate() {
            let k = self.sort_key(sort, i);
            self.sorted[n].remove(&k);
        }
    }

    fn resort(&mut self, i: usize) {
        for (n, sort) in Self::SORTS.into_iter().enumerate() {
            let k = self.sort_key(sort, i);
            self.sorted[n].insert(k);
        }
    }

    fn resort_all(&mut self) {
        self.sorted = Default::default();
        for i in 0..self.keys.len() {
            self.resort(i);
        }
    }

    fn keep(&self, f: &OrderFilter, i: usize) -> bool {
        let Some(k) = self.keys.get(i) else { return false };
        f.statuses.is_none_or(|m| m & status_bit(k.status) != 0)
            && f.unit.is_none_or(|u| u == k.unit)
            && f.visible.as_ref().is_none_or(|v| v.contains(&k.unit))
            && f.from.is_none_or(|d| k.created >= d)
            && f.to.is_none_or(|d| k.created <= d)
            && f.supplier.as_ref().is_none_or(|(bit, id)| {
                k.suppliers & bit != 0
                    && (*bit != OTHER_SUPPLIERS || self.orders.get(i).is_some_and(|o| o.suppliers.contains(id)))
            })
    }

    /// How many orders match `f`.
    pub fn count(&self, f: &OrderFilter) -> usize {
        if f.none {
            return 0;
        }
        (0..self.keys.len()).filter(|i| self.keep(f, *i)).count()
    }

    /// The orders matching `f`, sorted, `take` of them after the first `skip`; and how many
    /// match in all.
    pub fn find(&self, f: &OrderFilter, sort: OrderSort, skip: usize, take: usize) -> (Vec<&OrderSummary>, usize) {
        if f.none {
            return (Vec::new(), 0);
        }
        let n = self.keys.len();
        let pick = |idx: &[usize]| idx.iter().filter_map(|i| self.orders.get(*i)).collect::<Vec<_>>();
        match sort {
            OrderSort::Newest | OrderSort::Oldest => {
                let mut total = 0;
                let mut page = Vec::with_capacity(take.min(1024));
                let mut visit = |i: usize| {
                    if self.keep(f, i) {
                        if total >= skip && page.len() < take {
                            page.push(i);
                        }
                        total += 1;
                    }
                };
                if sort == OrderSort::Newest {
                    (0..n).rev().for_each(&mut visit);
                } else {
                    (0..n).for_each(&mut visit);
                }
                (pick(&page), total)
            }
            _ => {
                let n = Self::SORTS.iter().position(|s| *s == sort).unwrap_or(0);
                let mut page = Vec::with_capacity(take.min(1024));
                let mut seen = 0;
                for (_, minus_i) in &self.sorted[n] {
                    let i = usize::try_from(-minus_i).unwrap_or(usize::MAX);
                    if self.keep(f, i) {
                        if seen >= skip {
                            page.push(i);
                            if page.len() == take {
                                break;
                            }
                        }
                        seen += 1;
                    }
                }
                (pick(&page), self.count(f))
            }
        }
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
        if let Some(old) = self.articles.get(&a.id) {
            self.by_name.remove(&(old.article.name.to_lowercase(), a.id.clone()));
        }
        let (key, id) = ((a.name.to_lowercase(), a.id.clone()), a.id.clone());
        let indexed = Arc::new(IndexedArticle { article: a, folded });
        self.by_name.insert(key, indexed.clone());
        self.articles.insert(id, indexed);
    }

    fn unit_of(&mut self, id: &UnitId) -> u32 {
        if let Some(i) = self.unit_index.get(id) {
            return *i;
        }
        let i = u32::try_from(self.unit_ids.len()).unwrap_or(u32::MAX);
        self.unit_ids.push(id.clone());
        self.unit_index.insert(id.clone(), i);
        self.rank_units();
        i
    }

    fn rank_units(&mut self) {
        let mut order: Vec<(String, usize)> = self
            .unit_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (self.units.get(id).map(|u| u.name.to_lowercase()).unwrap_or_default(), i))
            .collect();
        order.sort();
        let old = std::mem::replace(&mut self.unit_rank, vec![0; self.unit_ids.len()]);
        for (rank, (_, i)) in order.into_iter().enumerate() {
            if let Some(r) = self.unit_rank.get_mut(i) {
                *r = u32::try_from(rank).unwrap_or(u32::MAX);
            }
        }
        if old != self.unit_rank {
            // Ranks moved: the by-unit order must be made again.
            let unit = Self::SORTS.iter().position(|s| *s == OrderSort::Unit).unwrap_or(3);
            self.sorted[unit] = (0..self.keys.len()).map(|i| self.sort_key(OrderSort::Unit, i)).collect();
        }
    }

    fn supplier_mask(&self, suppliers: &[SupplierId]) -> u64 {
        suppliers.iter().fold(0, |m, s| m | self.supplier_bit.get(s).copied().unwrap_or(OTHER_SUPPLIERS))
    }

    fn assign_supplier_bits(&mut self) {
        self.supplier_bit = self
            .suppliers
            .keys()
            .enumerate()
            .map(|(i, id)| (id.clone(), if i < 63 { 1u64 << i } else { OTHER_SUPPLIERS }))
            .collect();
    }

    fn summarize(&mut self, o: &Order) -> (OrderSummary, OrderKey) {
        let mut suppliers: Vec<SupplierId> = o
            .lines
            .iter()
            .filter_map(|l| self.articles.get(&l.article_id))
            .map(|a| a.article.supplier_id.clone())
            .collect();
        suppliers.sort();
        suppliers.dedup();
        let key = OrderKey {
            status: o.status,
            urgent: o.urgent,
            unit: self.unit_of(&o.unit_id),
            created: day(o.created_at.date()),
            needed_by: o.needed_by.map_or(i32::MAX / 4, day),
            updated: o.updated_at.unix_timestamp(),
            suppliers: self.supplier_mask(&suppliers),
        };
        let summary = OrderSummary {
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
            suppliers,
            exercise: o.exercise.is_some(),
        };
        (summary, key)
    }

    fn put_order(&mut self, o: &Order) {
        let (summary, key) = self.summarize(o);
        if let Some(&i) = self.pos.get(&o.id) {
            self.unsort(i);
            if let (Some(s), Some(k)) = (self.orders.get_mut(i), self.keys.get_mut(i)) {
                *s = summary;
                *k = key;
            }
            self.resort(i);
            return;
        }
        let i = self.orders.partition_point(|x| x.number < summary.number);
        if i == self.orders.len() {
            self.pos.insert(o.id.clone(), i);
            self.orders.push(summary);
            self.keys.push(key);
            self.resort(i);
        } else {
            // Numbers grow with every order, so this happens only when orders arrive out of
            // number order (a rebuild reads them by id).
            self.orders.insert(i, summary);
            self.keys.insert(i, key);
            self.reposition();
            self.resort_all();
        }
    }

    fn reposition(&mut self) {
        self.pos = self.orders.iter().enumerate().map(|(i, o)| (o.id.clone(), i)).collect();
    }

    /// After suppliers or articles changed: each order's suppliers again.
    fn resummarize_suppliers(&mut self) {
        for i in 0..self.orders.len() {
            let mut suppliers: Vec<SupplierId> = self.orders[i]
                .articles
                .iter()
                .filter_map(|a| self.articles.get(a))
                .map(|a| a.article.supplier_id.clone())
                .collect();
            suppliers.sort();
            suppliers.dedup();
            let mask = self.supplier_mask(&suppliers);
            if let (Some(o), Some(k)) = (self.orders.get_mut(i), self.keys.get_mut(i)) {
                o.suppliers = suppliers;
                k.suppliers = mask;
            }
        }
    }

    fn recount_categories(&mut self) {
        self.categories = self.articles.values().map(|a| a.article.category.clone()).collect();
    }

    fn build(view: &dyn StateView) -> Result<Self, StateError> {
        let mut ix = Index { upto: last_audit(view)?, ..Index::default() };
        for r in scan_all(view, Table::Supplier)? {
            if let Record::Supplier(s) = r {
                ix.suppliers.insert(s.id.clone(), s);
            }
        }
        ix.assign_supplier_bits();
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
        ix.recount_categories();
        ix.rebuild_corpus();
        let mut orders = Vec::new();
        for r in scan_all(view, Table::Order)? {
            if let Record::Order(o) = r {
                orders.push(o);
            }
        }
        orders.sort_by(|a, b| a.number.cmp(&b.number));
        for o in &orders {
            ix.put_order(o);
        }
        Ok(ix)
    }
}

/// The supplier bit shared by suppliers beyond the 63rd (checked exactly on the summary).
const OTHER_SUPPLIERS: u64 = 1 << 63;

/// Every record of `table`, read in batches.
pub fn scan_all(view: &dyn StateView, table: Table) -> Result<Vec<Record>, StateError> {
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

fn last_audit(view: &dyn StateView) -> Result<AuditSeq, StateError> {
    // Audit keys start with the zero-padded log index: step in big strides first so that a long
    // trail costs a few seeks, not a full scan.
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
    // Every line after index `upto - 1` belongs to that index or the next: read them to the end.
    let mut last = AuditSeq::default();
    let mut after = format!("{:020}", upto.saturating_sub(1));
    loop {
        let batch = view.scan(Table::Audit, Some(&after), 1000)?;
        let n = batch.len();
        for r in batch {
            if let Record::Audit(a) = r {
                last = a.seq();
            }
        }
        after = last.key_text();
        if n < 1000 {
            return Ok(last);
        }
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
            && view.scan(Table::Audit, Some(&upto.key_text()), 1)?.is_empty();
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
        // Clearing an exercise deletes the orders made in it, which no audit target names.
        let mut cleared = false;
        loop {
            let batch = view.scan(Table::Audit, Some(&upto.key_text()), 1000)?;
            let n = batch.len();
            for r in batch {
                if let Record::Audit(a) = r {
                    upto = a.seq();
                    if a.outcome == "applied" {
                        cleared |= a.command == "clear_exercise";
                        targets.insert(a.target);
                    }
                }
            }
            if targets.len() > REBUILD_AFTER || cleared {
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
                    "supplier" => view.supplier(SupplierId::new(id))?.map(Record::Supplier),
                    "unit" => view.unit(UnitId::new(id))?.map(Record::Unit),
                    "article" => view.article(ArticleId::new(id))?.map(Record::Article),
                    "order" => view.order(OrderId::new(id))?.map(Record::Order),
                    _ => None,
                };
                records.extend(rec);
            }
        }
        let mut ix = self.index.write().unwrap_or_else(|p| p.into_inner());
        let (mut suppliers_changed, mut units_changed, mut articles_changed, mut moved) = (false, false, false, false);
        let mut orders = Vec::new();
        for r in records {
            match r {
                Record::Supplier(s) => {
                    suppliers_changed |= !ix.suppliers.contains_key(&s.id) || ix.suppliers[&s.id].name != s.name;
                    ix.suppliers.insert(s.id.clone(), s);
                }
                Record::Unit(u) => {
                    units_changed = true;
                    ix.units.insert(u.id.clone(), u);
                }
                Record::Article(a) => {
                    articles_changed = true;
                    moved |= ix.articles.get(&a.id).is_some_and(|old| old.article.supplier_id != a.supplier_id);
                    ix.put_article(a);
                }
                // After the catalog, so that new orders see new articles.
                Record::Order(o) => orders.push(o),
                _ => {}
            }
        }
        if suppliers_changed {
            ix.assign_supplier_bits();
            // Supplier names are part of each article's search text.
            let all: Vec<Article> = ix.articles.values().map(|a| a.article.clone()).collect();
            for a in all {
                ix.put_article(a);
            }
        }
        if units_changed {
            ix.rank_units();
        }
        if articles_changed || suppliers_changed {
            ix.recount_categories();
            ix.rebuild_corpus();
        }
        if suppliers_changed || moved {
            ix.resummarize_suppliers();
        }
        orders.sort_by(|a, b| a.number.cmp(&b.number));
        for o in &orders {
            ix.put_order(o);
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
        let cmds = domain::demo_data::demo_commands();
        let half = cmds.len() / 2;
        let mut it = cmds.into_iter();
        run(&mut st, it.by_ref().take(half).collect(), 1);
        let rm = ReadModel::default();
        let (a0, o0) = {
            let ix = rm.get(&st).unwrap();
            (ix.articles.len(), ix.order_count())
        };
        run(&mut st, it.collect(), half as u64 + 1);
        let ix = rm.get(&st).unwrap();
        let fresh = Index::build(&st).unwrap();
        assert!(ix.articles.len() >= a0 && ix.order_count() >= o0);
        assert_eq!(ix.upto, fresh.upto);
        assert_eq!(ix.articles.len(), fresh.articles.len());
        assert_eq!(ix.order_count(), fresh.order_count());
        assert_eq!(ix.units.len(), fresh.units.len());
        for o in &fresh.orders {
            let mine = ix.order(&o.id).unwrap();
            assert_eq!((mine.status, &mine.number, &mine.suppliers), (o.status, &o.number, &o.suppliers), "{}", o.id);
        }
        assert_eq!(
            ix.orders.iter().map(|o| &o.number).collect::<Vec<_>>(),
            fresh.orders.iter().map(|o| &o.number).collect::<Vec<_>>()
        );
        // Filters and sorts agree with a plain scan over the orders.
        let admin = domain::User {
            id: domain::UserId::new("a"),
            name: "A".into(),
            role: domain::Role::Admin,
            units: vec![],
            password_hash: None,
            expires_at: None,
            disabled: false,
            sessions_valid_after: None,
            source: None,
            version: 1,
        };
        let staff = domain::User { role: domain::Role::Staff, units: vec![UnitId::new("ekb-iva")], ..admin.clone() };
        let open: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| !s.is_final()).collect();
        for (user, statuses, supplier) in [
            (&admin, vec![], None),
            (&admin, open.clone(), Some(SupplierId::new("medilux"))),
            (&staff, vec![], None),
            (&staff, vec![OrderStatus::Draft], None),
        ] {
            let f = ix.filter(user, None, &statuses, None, None, supplier.as_ref());
            let plain: Vec<&OrderSummary> = ix
                .orders
                .iter()
                .rev()
                .filter(|o| user.role == domain::Role::Admin || user.units.contains(&o.unit_id))
                .filter(|o| statuses.is_empty() || statuses.contains(&o.status))
                .filter(|o| supplier.as_ref().is_none_or(|s| o.suppliers.contains(s)))
                .collect();
            let (page, total) = ix.find(&f, OrderSort::Newest, 2, 5);
            assert_eq!(total, plain.len());
            assert_eq!(ix.count(&f), plain.len());
            let ids = |v: &[&OrderSummary]| v.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&page), ids(&plain.iter().skip(2).take(5).copied().collect::<Vec<_>>()));
            let (by_need, _) = ix.find(&f, OrderSort::NeededBy, 0, 1000);
            assert_eq!(by_need.len(), plain.len());
            let days: Vec<i32> = by_need.iter().map(|o| o.needed_by.map_or(i32::MAX / 4, day)).collect();
            assert!(days.windows(2).all(|w| w[0] <= w[1]), "{days:?}");
            let (first, _) = ix.find(&f, OrderSort::NeededBy, 0, 3);
            assert_eq!(first.len(), 3.min(plain.len()));
            assert_eq!(ids(&first), ids(&by_need[..first.len()]));
        }
        assert_eq!(ix.count(&ix.filter(&admin, Some(&UnitId::new("nowhere")), &[], None, None, None)), 0);

        // One pass over the corpus finds what a check of each article finds.
        for q in ["handske", "ostra", "nitril xs", "7350", "ML-44", "zz-nothing", "kateter ch"] {
            let q = Query::new(q);
            let by_article: Vec<&str> =
                ix.by_name.values().filter(|a| q.matches(&a.folded)).map(|a| a.article.id.as_str()).collect();
            let by_corpus: Vec<&str> = ix.search(&q, None, None, true).iter().map(|a| a.id.as_str()).collect();
            assert_eq!(by_corpus, by_article);
        }
        let hits = ix.search(&Query::new("handske"), None, None, false);
        assert!(!hits.is_empty());
        assert!(hits.iter().all(|a| fold(&a.name).contains("handsk") || fold(&a.category).contains("handsk")));
    }
}
