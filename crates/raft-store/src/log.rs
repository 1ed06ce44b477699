//! `RaftLogStorage`: log entries, vote, committed index and the last purged log id.

use crate::keys::{self, log_index, log_key};
use crate::writer::{Done, Writer};
use crate::{Error, NodeId, TypeConfig, msg_err, read_err};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{Entry, LogId, LogState, OptionalSend, RaftLogReader, Vote};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// Format version of the Raft metadata (vote, committed, membership, snapshot) this crate writes;
/// log entries have their own, see [`crate::codec`].
const V1: u8 = 1;

pub(crate) fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>, Error> {
    let mut out = vec![V1];
    serde_json::to_writer(&mut out, v).map_err(crate::write_err)?;
    Ok(out)
}

pub(crate) fn dec<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    match bytes.split_first() {
        Some((&V1, rest)) => serde_json::from_slice(rest).map_err(read_err),
        Some((v, _)) => Err(msg_err(format!("unknown storage format version {v}"))),
        None => Err(msg_err("empty stored value")),
    }
}

#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    writer: Writer,
}

impl LogStore {
    pub(crate) fn new(db: Arc<DB>, writer: Writer) -> Self {
        Self { db, writer }
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, Error> {
        self.db.cf_handle(name).ok_or_else(|| msg_err(format!("column family {name} missing")))
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, Error> {
        let cf = self.cf(keys::RAFT)?;
        self.db.get_cf(cf, key).map_err(read_err)?.map(|b| dec(&b)).transpose()
    }

    fn last_entry_log_id(&self) -> Result<Option<LogId<NodeId>>, Error> {
        let cf = self.cf(keys::LOG)?;
        match self.db.iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item.map_err(read_err)?;
                let e = crate::codec::decode_entry(&v).map_err(read_err)?;
                Ok(Some(e.log_id))
            }
        }
    }

    async fn write(&self, batch: WriteBatch, durable: Option<Done>) -> Result<(), Error> {
        self.writer.write(batch, durable).await.map_err(msg_err)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, Error> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.cf(keys::LOG)?;
        let mut out = Vec::new();
        let from = log_key(start);
        for item in self.db.iterator_cf(cf, IteratorMode::From(&from, Direction::Forward)) {
            let (k, v) = item.map_err(read_err)?;
            let Some(idx) = log_index(&k) else { continue };
            if !range.contains(&idx) {
                break;
            }
            out.push(crate::codec::decode_entry(&v).map_err(read_err)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, Error> {
        let last_purged: Option<LogId<NodeId>> = self.get_meta(keys::LAST_PURGED)?;
        let last = self.last_entry_log_id()?.or(last_purged);
        Ok(LogState { last_purged_log_id: last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), Error> {
        let mut b = WriteBatch::default();
        b.put_cf(self.cf(keys::RAFT)?, keys::VOTE, enc(vote)?);
        self.writer.write_durable(b).await.map_err(msg_err)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, Error> {
        self.get_meta(keys::VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), Error> {
        // Not synced: losing it only means re-applying from the state machine's own last_applied.
        let mut b = WriteBatch::default();
        b.put_cf(self.cf(keys::RAFT)?, keys::COMMITTED, enc(&committed)?);
        self.write(b, None).await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, Error> {
        Ok(self.get_meta::<Option<LogId<NodeId>>>(keys::COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), Error>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.cf(keys::LOG)?;
        let mut b = WriteBatch::default();
        for e in entries {
            b.put_cf(cf, log_key(e.log_id.index), crate::codec::encode_entry(&e));
        }
        // Entries are readable when `write` returns; openraft learns they are durable only
        // when the sync thread has synced the WAL and calls back.
        let done: Done = Box::new(move |r| callback.log_io_completed(r.map_err(std::io::Error::other)));
        self.write(b, Some(done)).await
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), Error> {
        let mut b = WriteBatch::default();
        b.delete_range_cf(self.cf(keys::LOG)?, log_key(log_id.index), log_key(u64::MAX));
        b.delete_cf(self.cf(keys::LOG)?, log_key(u64::MAX));
        self.write(b, None).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), Error> {
        // The state machine's writes precede this one in the shared WAL, so a purge that
        // survives a crash implies the applied state it relied on survived too.
        let mut b = WriteBatch::default();
        b.put_cf(self.cf(keys::RAFT)?, keys::LAST_PURGED, enc(&log_id)?);
        b.delete_range_cf(self.cf(keys::LOG)?, log_key(0), log_key(log_id.index.saturating_add(1)));
        self.write(b, None).await
    }
}
