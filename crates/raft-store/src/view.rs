//! `domain::StateView` over the state machine's column family: how the node reads local state.

use crate::keys;
use domain::codec::decode_record;
use domain::{Key, Record, StateError, StateView, Table};
use rocksdb::{DB, Direction, IteratorMode};
use std::sync::Arc;

/// Reads the latest applied state of this node. Cheap to clone.
#[derive(Clone)]
pub struct RocksView {
    db: Arc<DB>,
}

fn fault(e: impl std::fmt::Display) -> StateError {
    StateError(e.to_string())
}

impl RocksView {
    pub(crate) fn new(db: Arc<DB>) -> Self {
        Self { db }
    }

    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    fn cf(&self) -> Result<&rocksdb::ColumnFamily, StateError> {
        self.db.cf_handle(keys::SM).ok_or_else(|| fault("column family sm missing"))
    }

    /// SHA-256 over every key and value of the state machine, in key order, and the log index
    /// it reflects, both read from one RocksDB snapshot: nodes at the same applied index must
    /// report the same digest. Reads the whole state; meant for checks, not for every request.
    pub fn digest(&self) -> Result<(u64, String), StateError> {
        let snap = self.db.snapshot();
        let meta = self.db.cf_handle(keys::SM_META).ok_or_else(|| fault("column family sm_meta missing"))?;
        let applied = match snap.get_cf(meta, keys::LAST_APPLIED).map_err(fault)? {
            None => 0,
            Some(b) => crate::log::dec::<Option<openraft::LogId<u64>>>(&b).map_err(fault)?.map_or(0, |l| l.index),
        };
        let mut h = StateHasher::default();
        for item in snap.iterator_cf(self.cf()?, IteratorMode::Start) {
            let (k, v) = item.map_err(fault)?;
            h.record(&k, &v);
        }
        Ok((applied, h.finish()))
    }
}

/// The state digest: SHA-256 over every record, length-prefixed, in key order. Shared by
/// [`RocksView::digest`] and backups, so a restored node can be compared with its source.
#[derive(Default)]
pub(crate) struct StateHasher(sha2::Sha256);

impl StateHasher {
    pub(crate) fn record(&mut self, key: &[u8], value: &[u8]) {
        use sha2::Digest;
        self.0.update((key.len() as u64).to_be_bytes());
        self.0.update(key);
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value);
    }

    pub(crate) fn finish(self) -> String {
        use sha2::Digest;
        hex::encode(self.0.finalize())
    }
}

impl StateView for RocksView {
    fn get(&self, key: &Key) -> Result<Option<Record>, StateError> {
        match self.db.get_pinned_cf(self.cf()?, key.to_bytes()).map_err(fault)? {
            None => Ok(None),
            Some(v) => decode_record(&v).map(Some).map_err(fault),
        }
    }

    fn scan_keyed(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Record)>, StateError> {
        let prefix = table.prefix().as_bytes();
        let mut start = prefix.to_vec();
        if let Some(a) = after {
            start.extend_from_slice(a.as_bytes());
            // The smallest key greater than prefix+after.
            start.push(0);
        }
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf()?, IteratorMode::From(&start, Direction::Forward)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(fault)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), decode_record(&v).map_err(fault)?));
        }
        Ok(out)
    }
}
