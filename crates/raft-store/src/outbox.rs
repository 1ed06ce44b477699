//! The node-local outbox: commands taken while no leader could be reached, kept in their own
//! column family of the node's database, in the order they were taken. Not replicated and never
//! part of a snapshot. Every change is written with a synced WAL before it returns, because
//! "queued here" is a promise to the user that the command survives a crash.
//!
//! The store keeps opaque serde values keyed by a sequence number; the node decides what an item
//! holds.

use crate::keys;
use rocksdb::{DB, IteratorMode, WriteOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox storage: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("outbox item {0}: {1}")]
    Format(u64, String),
    #[error("column family outbox missing")]
    NoFamily,
}

/// Cheap to clone; every method does blocking I/O (call it off the async workers).
#[derive(Clone)]
pub struct OutboxStore {
    db: Arc<DB>,
}

impl OutboxStore {
    pub(crate) fn new(db: Arc<DB>) -> Self {
        Self { db }
    }

    fn cf(&self) -> Result<&rocksdb::ColumnFamily, OutboxError> {
        self.db.cf_handle(keys::OUTBOX).ok_or(OutboxError::NoFamily)
    }

    fn synced() -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(true);
        w
    }

    /// Stores `item` under the next sequence number, synced, and returns the number.
    pub fn push<T: Serialize>(&self, item: &T) -> Result<u64, OutboxError> {
        // One writer at a time picks the next number (pushes are rare: only without quorum).
        static NEXT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = NEXT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let seq = self.last_seq()?.map_or(1, |s| s + 1);
        self.put(seq, item)?;
        Ok(seq)
    }

    /// Replaces item `seq`, synced.
    pub fn put<T: Serialize>(&self, seq: u64, item: &T) -> Result<(), OutboxError> {
        let bytes = serde_json::to_vec(item).map_err(|e| OutboxError::Format(seq, e.to_string()))?;
        self.db.put_cf_opt(self.cf()?, keys::log_key(seq), bytes, &Self::synced())?;
        Ok(())
    }

    /// Every item in the order taken.
    pub fn list<T: DeserializeOwned>(&self) -> Result<Vec<(u64, T)>, OutboxError> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf()?, IteratorMode::Start) {
            let (k, v) = kv?;
            let seq = keys::log_index(&k).ok_or_else(|| OutboxError::Format(0, "bad key".into()))?;
            out.push((seq, serde_json::from_slice(&v).map_err(|e| OutboxError::Format(seq, e.to_string()))?));
        }
        Ok(out)
    }

    /// Removes item `seq`, synced.
    pub fn remove(&self, seq: u64) -> Result<(), OutboxError> {
        self.db.delete_cf_opt(self.cf()?, keys::log_key(seq), &Self::synced())?;
        Ok(())
    }

    fn last_seq(&self) -> Result<Option<u64>, OutboxError> {
        match self.db.iterator_cf(self.cf()?, IteratorMode::End).next() {
            None => Ok(None),
            Some(kv) => Ok(keys::log_index(&kv?.0)),
        }
    }
}
