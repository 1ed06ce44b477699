//! The state machine's tables as seen by the domain: a key space of typed records, a read
//! trait ([`StateView`]) that storage implements, and [`Changes`], what `apply` asks storage to
//! write. [`MemState`] is the in-memory reference implementation.

use crate::banners::Banner;
use crate::cards::ActionCard;
use crate::channels::SupplierChannel;
use crate::command::Verdict;
use crate::contacts::{Contact, Rota};
use crate::dispatch::DispatchJob;
use crate::drills::DrillReport;
use crate::exercises::Exercise;
use crate::federation::{IdentityProvider, UsedOnce};
use crate::ids::{
    ArticleId, BannerId, CardId, CommandId, ContactId, CounterName, DispatchId, DrillId, ExerciseId, IdpId, IncidentId,
    MaintenanceId, NodeId, OnceKey, OrderId, PageId, RotaId, SessionKeyId, SiteKey, SubscriberId, SupplierId, SystemId,
    TokenId, UnitId, UserId,
};
use crate::model::{
    ApiToken, Article, AuditEntry, AuditSeq, CareUnit, NodeRecord, Order, Organisation, SessionKey, Supplier, User,
};
use crate::nodes::invitations::Invitation;
use crate::paging::Page;
use crate::reports::{ReportCycle, ReportForm, ReportKey, SituationReport};
use crate::status::{Incident, Maintenance, Readiness, System};
use crate::subscribers::Subscriber;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a key's id is written after its table's prefix.
pub trait KeyId {
    fn key_text(&self) -> String;
}

/// Node ids and log indexes are zero-padded so that they sort numerically.
impl KeyId for u64 {
    fn key_text(&self) -> String {
        format!("{self:020}")
    }
}

/// Declares every table once and generates what must agree about it: [`Table`] with its key
/// prefix, [`Key`], [`Record`] (whose serde tag is the table's name in snake_case),
/// [`StateViewExt`]'s typed getters and [`record_key`]. Prefixes and names are the stored format:
/// never change one (a test opens a data directory written before this macro existed).
///
/// `keyed` tables hold many records by id (`|r| …` says how a record knows its id; tables without
/// it are the node's own bookkeeping); a `single` table holds one record under a fixed id.
macro_rules! tables {
    (
        keyed {
            $( $(#[$kdoc:meta])* $k:ident($kprefix:literal, $kid:ty) => $krec:ty, $kget:ident $(, |$kr:ident| $kexpr:expr)?; )*
        }
        single {
            $( $(#[$sdoc:meta])* $s:ident($sprefix:literal, $sid:expr) => $srec:ty, $sget:ident; )*
        }
    ) => {
        /// A table of the state machine; its prefix is the first byte(s) of every key in it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Table {
            $( $k, )*
            $( $s, )*
        }

        impl Table {
            pub const ALL: &'static [Table] = &[$( Self::$k, )* $( Self::$s, )*];

            /// Key prefix. Changing one changes the storage format.
            pub fn prefix(self) -> &'static str {
                match self {
                    $( Self::$k => $kprefix, )*
                    $( Self::$s => $sprefix, )*
                }
            }
        }

        /// A key in the state machine.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Key {
            $( $(#[$kdoc])* $k($kid), )*
            $( $(#[$sdoc])* $s, )*
        }

        impl Key {
            pub fn table(&self) -> Table {
                match self {
                    $( Self::$k(_) => Table::$k, )*
                    $( Self::$s => Table::$s, )*
                }
            }

            /// The id part of the key, as stored after the table's prefix.
            pub fn id_text(&self) -> String {
                match self {
                    $( Self::$k(x) => KeyId::key_text(x), )*
                    $( Self::$s => $sid.to_owned(), )*
                }
            }
        }

        /// A stored value.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "t", content = "v", rename_all = "snake_case")]
        pub enum Record {
            $( $k($krec), )*
            $( $s($srec), )*
        }

        /// Typed getters over any [`StateView`].
        pub trait StateViewExt: StateView {
            $(
                /// The record with this id (an id, a reference to one, or its text).
                fn $kget(&self, id: impl Into<$kid>) -> Result<Option<$krec>, StateError> {
                    Ok(match self.get(&Key::$k(id.into()))? {
                        Some(Record::$k(x)) => Some(x),
                        _ => None,
                    })
                }
            )*
            $(
                fn $sget(&self) -> Result<Option<$srec>, StateError> {
                    Ok(match self.get(&Key::$s)? {
                        Some(Record::$s(x)) => Some(x),
                        _ => None,
                    })
                }
            )*

            /// A named counter (0 until first set).
            fn counter(&self, name: &str) -> Result<u64, StateError> {
                Ok(self.counter_value(&CounterName::new(name))?.unwrap_or(0))
            }
        }

        /// The key a record is stored under, for records that know their own id.
        #[allow(unreachable_code)]
        pub fn record_key(r: &Record) -> Option<Key> {
            match r {
                $( Record::$k(_x) => {
                    $( let $kr = _x; return Some(Key::$k($kexpr)); )?
                    None
                } )*
                $( Record::$s(_) => Some(Key::$s), )*
            }
        }
    };
}

tables! {
    keyed {
        Supplier("sup/", SupplierId) => Supplier, supplier, |x| x.id.clone();
        Unit("unit/", UnitId) => CareUnit, unit, |x| x.id.clone();
        Article("art/", ArticleId) => Article, article, |x| x.id.clone();
        Order("ord/", OrderId) => Order, order, |x| x.id.clone();
        /// What a command left behind, by its id.
        Command("cmd/", CommandId) => CommandRecord, command;
        Counter("ctr/", CounterName) => u64, counter_value;
        Node("node/", NodeId) => NodeRecord, node, |x| x.id;
        User("user/", UserId) => User, user, |x| x.id.clone();
        Token("tok/", TokenId) => ApiToken, token, |x| x.id.clone();
        /// By log index (zero-padded) and place in the entry, so that the trail reads in log order.
        Audit("aud/", AuditSeq) => AuditEntry, audit, |x| x.seq();
        SessionKey("skey/", SessionKeyId) => SessionKey, session_key, |x| x.id.clone();
        System("sys/", SystemId) => System, system, |x| x.id.clone();
        Incident("inc/", IncidentId) => Incident, incident, |x| x.id.clone();
        Maintenance("mnt/", MaintenanceId) => Maintenance, maintenance, |x| x.id.clone();
        /// By [`crate::status::site_key`].
        Readiness("rdy/", SiteKey) => Readiness, readiness, |x| x.key.clone();
        Contact("con/", ContactId) => Contact, contact, |x| x.id.clone();
        Rota("rota/", RotaId) => Rota, rota, |x| x.id.clone();
        Card("card/", CardId) => ActionCard, card, |x| x.id.clone();
        Drill("drill/", DrillId) => DrillReport, drill, |x| x.id.clone();
        Channel("chan/", SupplierId) => SupplierChannel, channel, |x| x.supplier_id.clone();
        Dispatch("dsp/", DispatchId) => DispatchJob, dispatch, |x| x.id.clone();
        Subscriber("subs/", SubscriberId) => Subscriber, subscriber, |x| x.id.clone();
        Page("page/", PageId) => Page, page, |x| x.id.clone();
        /// By unit, then number: see [`crate::reports::ReportKey`].
        Report("rep/", ReportKey) => SituationReport, report, |x| x.key();
        /// By [`crate::reports::cycle_key`].
        ReportCycle("rcyc/", SiteKey) => ReportCycle, report_cycle, |x| x.key.clone();
        Banner("ban/", BannerId) => Banner, banner, |x| x.id.clone();
        Exercise("exer/", ExerciseId) => Exercise, exercise, |x| x.id.clone();
        Idp("idp/", IdpId) => IdentityProvider, idp, |x| x.id.clone();
        /// Proofs of login already used (SAML assertions), until they expire anyway.
        Once("once/", OnceKey) => UsedOnce, used_once, |x| x.key.clone();
        /// By the node id each reserves.
        Invitation("inv/", NodeId) => Invitation, invitation, |x| x.fields.node;
    }
    single {
        /// The one buyer organisation.
        Organisation("org/", crate::model::ORGANISATION_ID) => Organisation, organisation;
        /// The organisation's situation report form.
        ReportForm("rform/", "form") => ReportForm, report_form;
    }
}

impl Key {
    /// The storage key: table prefix + id.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut k = self.table().prefix().as_bytes().to_vec();
        k.extend_from_slice(self.id_text().as_bytes());
        k
    }
}

/// What a command left behind: its verdict, kept so that a repeat returns the same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub verdict: Verdict,
    /// Index of the log entry that carried it.
    pub log_index: u64,
    /// Who sent it: the same id from anyone else is refused. Records written before this field
    /// existed have none (and so answer only commands without an actor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
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

#[cfg(test)]
mod tests;
