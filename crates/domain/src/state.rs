//! The state machine's tables as seen by the domain: a key space of typed records, a read
//! trait ([`StateView`]) that storage implements, and [`Changes`], what `apply` asks storage to
//! write. [`MemState`] is the in-memory reference implementation.

use crate::cards::ActionCard;
use crate::command::Verdict;
use crate::contacts::{Contact, Rota};
use crate::ids::{
    ArticleId, CardId, CommandId, ContactId, IncidentId, MaintenanceId, NodeId, OrderId, RotaId, SupplierId, SystemId,
    TokenId, UnitId, UserId,
};
use crate::model::{
    ApiToken, Article, AuditEntry, CareUnit, NodeRecord, Order, Organisation, SessionKey, Supplier, User,
};
use crate::status::{Incident, Maintenance, Readiness, System};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A table of the state machine; its prefix is the first byte(s) of every key in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Supplier,
    Unit,
    Article,
    Order,
    Command,
    Counter,
    Node,
    User,
    Token,
    Audit,
    SessionKey,
    Organisation,
    System,
    Incident,
    Maintenance,
    Readiness,
    Contact,
    Rota,
    Card,
    Drill,
    Channel,
    Dispatch,
    Subscriber,
}

impl Table {
    pub const ALL: [Table; 23] = [
        Self::Supplier,
        Self::Unit,
        Self::Article,
        Self::Order,
        Self::Command,
        Self::Counter,
        Self::Node,
        Self::User,
        Self::Token,
        Self::Audit,
        Self::SessionKey,
        Self::Organisation,
        Self::System,
        Self::Incident,
        Self::Maintenance,
        Self::Readiness,
        Self::Contact,
        Self::Rota,
        Self::Card,
        Self::Drill,
        Self::Channel,
        Self::Dispatch,
        Self::Subscriber,
    ];

    /// Key prefix. Changing one changes the storage format.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Supplier => "sup/",
            Self::Unit => "unit/",
            Self::Article => "art/",
            Self::Order => "ord/",
            Self::Command => "cmd/",
            Self::Counter => "ctr/",
            Self::Node => "node/",
            Self::User => "user/",
            Self::Token => "tok/",
            Self::Audit => "aud/",
            Self::SessionKey => "skey/",
            Self::Organisation => "org/",
            Self::System => "sys/",
            Self::Incident => "inc/",
            Self::Maintenance => "mnt/",
            Self::Readiness => "rdy/",
            Self::Contact => "con/",
            Self::Rota => "rota/",
            Self::Card => "card/",
            Self::Drill => "drill/",
            Self::Channel => "chan/",
            Self::Dispatch => "dsp/",
            Self::Subscriber => "subs/",
        }
    }
}

/// A key in the state machine.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Supplier(SupplierId),
    Unit(UnitId),
    Article(ArticleId),
    Order(OrderId),
    Command(CommandId),
    Counter(String),
    Node(NodeId),
    User(UserId),
    Token(TokenId),
    /// By log index, zero-padded so that the trail reads in log order.
    Audit(u64),
    SessionKey(String),
    /// The one buyer organisation.
    Organisation,
    System(SystemId),
    Incident(IncidentId),
    Maintenance(MaintenanceId),
    /// By [`crate::status::site_key`].
    Readiness(String),
    Contact(ContactId),
    Rota(RotaId),
    Card(CardId),
    Drill(String),
    Channel(SupplierId),
    Dispatch(String),
    Subscriber(String),
}

impl Key {
    pub fn table(&self) -> Table {
        match self {
            Self::Supplier(_) => Table::Supplier,
            Self::Unit(_) => Table::Unit,
            Self::Article(_) => Table::Article,
            Self::Order(_) => Table::Order,
            Self::Command(_) => Table::Command,
            Self::Counter(_) => Table::Counter,
            Self::Node(_) => Table::Node,
            Self::User(_) => Table::User,
            Self::Token(_) => Table::Token,
            Self::Audit(_) => Table::Audit,
            Self::SessionKey(_) => Table::SessionKey,
            Self::Organisation => Table::Organisation,
            Self::System(_) => Table::System,
            Self::Incident(_) => Table::Incident,
            Self::Maintenance(_) => Table::Maintenance,
            Self::Readiness(_) => Table::Readiness,
            Self::Contact(_) => Table::Contact,
            Self::Rota(_) => Table::Rota,
            Self::Card(_) => Table::Card,
            Self::Drill(_) => Table::Drill,
            Self::Channel(_) => Table::Channel,
            Self::Dispatch(_) => Table::Dispatch,
            Self::Subscriber(_) => Table::Subscriber,
        }
    }

    /// The storage key: table prefix + id. Node ids are zero-padded so they sort numerically.
    pub fn to_bytes(&self) -> Vec<u8> {
        let id = match self {
            Self::Supplier(x) => x.0.clone(),
            Self::Unit(x) => x.0.clone(),
            Self::Article(x) => x.0.clone(),
            Self::Order(x) => x.0.clone(),
            Self::Command(x) => x.0.clone(),
            Self::Counter(x) => x.clone(),
            Self::Node(x) => format!("{x:020}"),
            Self::User(x) => x.0.clone(),
            Self::Token(x) => x.0.clone(),
            Self::Audit(x) => format!("{x:020}"),
            Self::SessionKey(x) => x.clone(),
            Self::Organisation => crate::model::ORGANISATION_ID.to_owned(),
            Self::System(x) => x.0.clone(),
            Self::Incident(x) => x.0.clone(),
            Self::Maintenance(x) => x.0.clone(),
            Self::Readiness(x) => x.clone(),
            Self::Contact(x) => x.0.clone(),
            Self::Rota(x) => x.0.clone(),
            Self::Card(x) => x.0.clone(),
            Self::Drill(x) => x.clone(),
            Self::Channel(x) => x.0.clone(),
            Self::Dispatch(x) => x.clone(),
            Self::Subscriber(x) => x.clone(),
        };
        let mut k = self.table().prefix().as_bytes().to_vec();
        k.extend_from_slice(id.as_bytes());
        k
    }
}

/// What a command left behind: its verdict, kept so that a repeat returns the same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub verdict: Verdict,
    /// Index of the log entry that carried it.
    pub log_index: u64,
}

/// A stored value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Record {
    Supplier(Supplier),
    Unit(CareUnit),
    Article(Article),
    Order(Order),
    Command(CommandRecord),
    Counter(u64),
    Node(NodeRecord),
    User(User),
    Token(ApiToken),
    Audit(AuditEntry),
    SessionKey(SessionKey),
    Organisation(Organisation),
    System(System),
    Incident(Incident),
    Maintenance(Maintenance),
    Readiness(Readiness),
    Contact(Contact),
    Rota(Rota),
    Card(ActionCard),
    Drill(crate::drill::DrillReport),
    Channel(crate::channel::SupplierChannel),
    Dispatch(crate::dispatch::DispatchJob),
    Subscriber(crate::subscription::Subscriber),
}

/// A storage fault while reading state (not a rejection: it stops the node).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct StateError(pub String);

/// Read access to the state machine. Implemented by storage over a consistent snapshot.
pub trait StateView {
    fn get(&self, key: &Key) -> Result<Option<Record>, StateError>;

    /// Up to `limit` records of `table` whose id sorts after `after`, in id order, with their
    /// storage keys.
    fn scan_keyed(&self, table: Table, after: Option<&str>, limit: usize)
    -> Result<Vec<(Vec<u8>, Record)>, StateError>;

    /// Up to `limit` records of `table` whose id sorts after `after`, in id order.
    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StateError> {
        Ok(self.scan_keyed(table, after, limit)?.into_iter().map(|(_, r)| r).collect())
    }
}

/// Typed getters over any [`StateView`].
pub trait StateViewExt: StateView {
    fn supplier(&self, id: &SupplierId) -> Result<Option<Supplier>, StateError> {
        Ok(match self.get(&Key::Supplier(id.clone()))? {
            Some(Record::Supplier(x)) => Some(x),
            _ => None,
        })
    }
    fn organisation(&self) -> Result<Option<Organisation>, StateError> {
        Ok(match self.get(&Key::Organisation)? {
            Some(Record::Organisation(x)) => Some(x),
            _ => None,
        })
    }
    fn channel(&self, id: &SupplierId) -> Result<Option<crate::channel::SupplierChannel>, StateError> {
        Ok(match self.get(&Key::Channel(id.clone()))? {
            Some(Record::Channel(x)) => Some(x),
            _ => None,
        })
    }

    fn subscriber(&self, id: &str) -> Result<Option<crate::subscription::Subscriber>, StateError> {
        Ok(match self.get(&Key::Subscriber(id.to_owned()))? {
            Some(Record::Subscriber(x)) => Some(x),
            _ => None,
        })
    }

    fn dispatch(&self, id: &str) -> Result<Option<crate::dispatch::DispatchJob>, StateError> {
        Ok(match self.get(&Key::Dispatch(id.to_owned()))? {
            Some(Record::Dispatch(x)) => Some(x),
            _ => None,
        })
    }

    fn drill(&self, id: &str) -> Result<Option<crate::drill::DrillReport>, StateError> {
        Ok(match self.get(&Key::Drill(id.to_owned()))? {
            Some(Record::Drill(x)) => Some(x),
            _ => None,
        })
    }

    fn card(&self, id: &CardId) -> Result<Option<ActionCard>, StateError> {
        Ok(match self.get(&Key::Card(id.clone()))? {
            Some(Record::Card(x)) => Some(x),
            _ => None,
        })
    }
    fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StateError> {
        Ok(match self.get(&Key::Contact(id.clone()))? {
            Some(Record::Contact(x)) => Some(x),
            _ => None,
        })
    }
    fn rota(&self, id: &RotaId) -> Result<Option<Rota>, StateError> {
        Ok(match self.get(&Key::Rota(id.clone()))? {
            Some(Record::Rota(x)) => Some(x),
            _ => None,
        })
    }
    fn system(&self, id: &SystemId) -> Result<Option<System>, StateError> {
        Ok(match self.get(&Key::System(id.clone()))? {
            Some(Record::System(x)) => Some(x),
            _ => None,
        })
    }
    fn incident(&self, id: &IncidentId) -> Result<Option<Incident>, StateError> {
        Ok(match self.get(&Key::Incident(id.clone()))? {
            Some(Record::Incident(x)) => Some(x),
            _ => None,
        })
    }
    fn maintenance(&self, id: &MaintenanceId) -> Result<Option<Maintenance>, StateError> {
        Ok(match self.get(&Key::Maintenance(id.clone()))? {
            Some(Record::Maintenance(x)) => Some(x),
            _ => None,
        })
    }
    fn readiness(&self, key: &str) -> Result<Option<Readiness>, StateError> {
        Ok(match self.get(&Key::Readiness(key.to_owned()))? {
            Some(Record::Readiness(x)) => Some(x),
            _ => None,
        })
    }
    fn unit(&self, id: &UnitId) -> Result<Option<CareUnit>, StateError> {
        Ok(match self.get(&Key::Unit(id.clone()))? {
            Some(Record::Unit(x)) => Some(x),
            _ => None,
        })
    }
    fn article(&self, id: &ArticleId) -> Result<Option<Article>, StateError> {
        Ok(match self.get(&Key::Article(id.clone()))? {
            Some(Record::Article(x)) => Some(x),
            _ => None,
        })
    }
    fn order(&self, id: &OrderId) -> Result<Option<Order>, StateError> {
        Ok(match self.get(&Key::Order(id.clone()))? {
            Some(Record::Order(x)) => Some(x),
            _ => None,
        })
    }
    fn command(&self, id: &CommandId) -> Result<Option<CommandRecord>, StateError> {
        Ok(match self.get(&Key::Command(id.clone()))? {
            Some(Record::Command(x)) => Some(x),
            _ => None,
        })
    }
    fn counter(&self, name: &str) -> Result<u64, StateError> {
        Ok(match self.get(&Key::Counter(name.to_owned()))? {
            Some(Record::Counter(x)) => x,
            _ => 0,
        })
    }
    fn node(&self, id: NodeId) -> Result<Option<NodeRecord>, StateError> {
        Ok(match self.get(&Key::Node(id))? {
            Some(Record::Node(x)) => Some(x),
            _ => None,
        })
    }
    fn user(&self, id: &UserId) -> Result<Option<User>, StateError> {
        Ok(match self.get(&Key::User(id.clone()))? {
            Some(Record::User(x)) => Some(x),
            _ => None,
        })
    }
    fn token(&self, id: &TokenId) -> Result<Option<ApiToken>, StateError> {
        Ok(match self.get(&Key::Token(id.clone()))? {
            Some(Record::Token(x)) => Some(x),
            _ => None,
        })
    }
}

impl<T: StateView + ?Sized> StateViewExt for T {}

/// Writes that one applied command asks for, in order. `None` deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes(pub Vec<(Key, Option<Record>)>);

impl Changes {
    pub fn put(&mut self, key: Key, value: Record) {
        self.0.push((key, Some(value)));
    }
}

fn id_of(key: &[u8], table: Table) -> Option<&str> {
    std::str::from_utf8(key.get(table.prefix().len()..)?).ok()
}

/// In-memory state: the reference [`StateView`], used by the domain's own tests.
#[derive(Clone, Debug, Default)]
pub struct MemState {
    pub map: BTreeMap<Vec<u8>, Record>,
}

impl MemState {
    pub fn write(&mut self, changes: Changes) {
        for (k, v) in changes.0 {
            match v {
                Some(v) => self.map.insert(k.to_bytes(), v),
                None => self.map.remove(&k.to_bytes()),
            };
        }
    }
}

impl StateView for MemState {
    fn get(&self, key: &Key) -> Result<Option<Record>, StateError> {
        Ok(self.map.get(&key.to_bytes()).cloned())
    }

    fn scan_keyed(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Record)>, StateError> {
        let prefix = table.prefix().as_bytes();
        Ok(self
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| match (after, id_of(k, table)) {
                (Some(a), Some(id)) => id > a,
                _ => true,
            })
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// A view of `base` with pending changes on top, so that the commands of one batch see the
/// changes of the commands before them before the batch is written.
pub struct Overlay<'a, V: StateView + ?Sized> {
    base: &'a V,
    pending: BTreeMap<Vec<u8>, (Key, Option<Record>)>,
}

impl<'a, V: StateView + ?Sized> Overlay<'a, V> {
    pub fn new(base: &'a V) -> Self {
        Self { base, pending: BTreeMap::new() }
    }

    pub fn add(&mut self, changes: Changes) {
        for (k, v) in changes.0 {
            self.pending.insert(k.to_bytes(), (k, v));
        }
    }

    /// Every pending write, in key order: what the batch must persist.
    pub fn into_changes(self) -> Changes {
        Changes(self.pending.into_values().collect())
    }
}

impl<V: StateView + ?Sized> StateView for Overlay<'_, V> {
    fn get(&self, key: &Key) -> Result<Option<Record>, StateError> {
        match self.pending.get(&key.to_bytes()) {
            Some((_, v)) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }

    fn scan_keyed(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Record)>, StateError> {
        // Merge on storage keys: read enough from the base to fill `limit` even if every
        // pending key overrides or deletes one of its records.
        let prefix = table.prefix().as_bytes().to_vec();
        let mut merged: BTreeMap<Vec<u8>, Option<Record>> = BTreeMap::new();
        for (k, r) in self.base.scan_keyed(table, after, limit.saturating_add(self.pending.len()))? {
            merged.insert(k, Some(r));
        }
        for (k, (_, v)) in self.pending.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
            let keep = match (after, id_of(k, table)) {
                (Some(a), Some(id)) => id > a,
                _ => true,
            };
            if keep {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged.into_iter().filter_map(|(k, v)| v.map(|r| (k, r))).take(limit).collect())
    }
}

/// The key a record is stored under, for records that know their own id.
pub fn record_key(r: &Record) -> Option<Key> {
    Some(match r {
        Record::Supplier(x) => Key::Supplier(x.id.clone()),
        Record::Unit(x) => Key::Unit(x.id.clone()),
        Record::Article(x) => Key::Article(x.id.clone()),
        Record::Order(x) => Key::Order(x.id.clone()),
        Record::Node(x) => Key::Node(x.id),
        Record::User(x) => Key::User(x.id.clone()),
        Record::Token(x) => Key::Token(x.id.clone()),
        Record::Audit(x) => Key::Audit(x.log_index),
        Record::SessionKey(x) => Key::SessionKey(x.id.clone()),
        Record::Organisation(_) => Key::Organisation,
        Record::System(x) => Key::System(x.id.clone()),
        Record::Incident(x) => Key::Incident(x.id.clone()),
        Record::Maintenance(x) => Key::Maintenance(x.id.clone()),
        Record::Readiness(x) => Key::Readiness(x.key.clone()),
        Record::Contact(x) => Key::Contact(x.id.clone()),
        Record::Rota(x) => Key::Rota(x.id.clone()),
        Record::Card(x) => Key::Card(x.id.clone()),
        Record::Drill(x) => Key::Drill(x.id.clone()),
        Record::Channel(x) => Key::Channel(x.supplier_id.clone()),
        Record::Dispatch(x) => Key::Dispatch(x.id.clone()),
        Record::Subscriber(x) => Key::Subscriber(x.id.clone()),
        Record::Command(_) | Record::Counter(_) => return None,
    })
}
