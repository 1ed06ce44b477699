//! Offline changes to a stopped node's database that found a new one-node cluster: from the
//! node's own data (recovery from a lone survivor, `beredd recover --force-new-cluster`) or
//! from a backup file (`beredd restore`).
//!
//! Both end the same way, as if the node had installed a snapshot of its state as the only
//! voter: the log is emptied and marked purged up to a new log id one past everything it
//! held, under a term above any it voted in, with membership `{this node}` at that id. The
//! state machine's records and the log indexes of the audit trail stay as they were, so later
//! entries never collide with earlier ones. openraft rebuilds the snapshot at start-up.

use crate::backup::{BackupHeader, Records};
use crate::log::{dec, enc};
use crate::sm::StateMachineStore;
use crate::{Error, NodeAddr, NodeId, OpenError, TypeConfig, keys, open_db};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership, StoredMembership, Vote};
use rocksdb::{DB, IteratorMode, WriteBatch, WriteOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Entries [`force_new_cluster`] applies at a time (each slice one write, then progress).
const REPLAY_SLICE: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("the node's database in {0} is in use: stop the node first (its process still runs)")]
    Running(PathBuf),
    #[error(transparent)]
    Open(OpenError),
    #[error("{0} already holds a node's data; a restore builds a new cluster in an empty folder")]
    NotEmpty(PathBuf),
    #[error("{0} holds no Raft state: there is nothing to recover")]
    Pristine(PathBuf),
    #[error("storage: {0}")]
    Storage(#[from] Error),
}

/// What a stopped node's database holds, for the operator to read before deciding.
#[derive(Debug, Clone)]
pub struct Survey {
    pub vote: Option<Vote<NodeId>>,
    pub committed: Option<LogId<NodeId>>,
    pub last_applied: Option<LogId<NodeId>>,
    pub last_log: Option<LogId<NodeId>>,
    pub membership: StoredMembership<NodeId, NodeAddr>,
    /// Commands in this node's outbox (they stay, and are forwarded once the node leads).
    pub outbox: usize,
}

/// Who decided a forced new cluster, for the audit trail and the node directory: nobody named
/// (`beredd recover` at the node's shell) or two ops or admin accounts on `/ops`, `actor` the
/// second of them (`apply` checks both).
#[derive(Debug, Clone, Default)]
pub struct Confirmed {
    pub actor: Option<String>,
    pub by: Vec<String>,
}

/// The new cluster's starting point.
#[derive(Debug, Clone)]
pub struct Founded {
    pub log_id: LogId<NodeId>,
    /// Log entries applied during recovery (held, not yet applied when the node stopped).
    pub replayed: u64,
    /// Of those, how many lay past the last commit this node had heard of: they may never have
    /// been confirmed to their senders, and are kept (as etcd and Consul do).
    pub beyond_commit: u64,
    /// Old nodes marked retired in the node directory, so their ids are never used again.
    pub retired: Vec<NodeId>,
}

fn open(dir: &Path) -> Result<(std::sync::Arc<DB>, PathBuf), RecoveryError> {
    open_db(dir).map_err(|e| match &e {
        OpenError::Db(_, err) if err.to_string().contains("lock") => RecoveryError::Running(dir.to_owned()),
        _ => RecoveryError::Open(e),
    })
}

fn get<T: serde::de::DeserializeOwned>(db: &DB, cf: &str, key: &[u8]) -> Result<Option<T>, Error> {
    let h = db.cf_handle(cf).ok_or_else(|| crate::msg_err(format!("column family {cf} missing")))?;
    db.get_cf(h, key).map_err(crate::read_err)?.map(|b| dec(&b)).transpose()
}

fn survey_db(db: &DB) -> Result<Survey, Error> {
    let log = db.cf_handle(keys::LOG).ok_or_else(|| crate::msg_err("column family log missing"))?;
    let last_log = match db.iterator_cf(log, IteratorMode::End).next() {
        Some(item) => {
            Some(crate::codec::decode_entry(&item.map_err(crate::read_err)?.1).map_err(crate::read_err)?.log_id)
        }
        None => get::<LogId<NodeId>>(db, keys::RAFT, keys::LAST_PURGED)?,
    };
    let outbox = db.cf_handle(keys::OUTBOX).map_or(0, |cf| db.iterator_cf(cf, IteratorMode::Start).count());
    Ok(Survey {
        vote: get(db, keys::RAFT, keys::VOTE)?,
        committed: get::<Option<LogId<NodeId>>>(db, keys::RAFT, keys::COMMITTED)?.flatten(),
        last_applied: get::<Option<LogId<NodeId>>>(db, keys::SM_META, keys::LAST_APPLIED)?.flatten(),
        last_log,
        membership: get(db, keys::SM_META, keys::MEMBERSHIP)?.unwrap_or_default(),
        outbox,
    })
}

/// Reads a stopped node's Raft state without changing it.
pub fn survey(dir: &Path) -> Result<Survey, RecoveryError> {
    if !dir.join("db").exists() {
        return Err(RecoveryError::Pristine(dir.to_owned()));
    }
    let (db, _) = open(dir)?;
    Ok(survey_db(&db)?)
}

/// Turns the stopped node in `dir` into the only voter of a new cluster, keeping every record it
/// holds: first every entry in its log is applied (also those past its last known commit),
/// then the log is reset as described in the module docs. The outbox is left as it is.
/// `progress` hears (entries applied, entries to apply) as the replay goes on.
pub fn force_new_cluster(
    dir: &Path,
    id: NodeId,
    addr: NodeAddr,
    confirmed: &Confirmed,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Founded, RecoveryError> {
    if !dir.join("db").exists() {
        return Err(RecoveryError::Pristine(dir.to_owned()));
    }
    let (db, _) = open(dir)?;
    let s = survey_db(&db)?;
    if s.last_log.is_none() && s.vote.is_none() {
        return Err(RecoveryError::Pristine(dir.to_owned()));
    }
    let from = s.last_applied.map_or(0, |l| l.index + 1);
    let log = db.cf_handle(keys::LOG).ok_or_else(|| crate::msg_err("column family log missing"))?;
    let mut entries: Vec<Entry<TypeConfig>> = Vec::new();
    let start = keys::log_key(from);
    for item in db.iterator_cf(log, IteratorMode::From(&start, rocksdb::Direction::Forward)) {
        entries.push(crate::codec::decode_entry(&item.map_err(crate::read_err)?.1).map_err(crate::read_err)?);
    }
    let committed = s.committed.map_or(0, |c| c.index);
    let replayed = entries.len() as u64;
    let beyond_commit = entries.iter().filter(|e| e.log_id.index > committed).count() as u64;
    // In slices, so that a long replay shows progress; applying in order is the same either way.
    progress(0, replayed);
    let mut applied = 0u64;
    let mut rest = entries.into_iter().peekable();
    while rest.peek().is_some() {
        let slice: Vec<_> = rest.by_ref().take(REPLAY_SLICE).collect();
        applied += slice.len() as u64;
        StateMachineStore::apply_blocking(&db, slice)?;
        progress(applied, replayed);
    }
    let last = s.last_log.max(s.last_applied);
    let term = s.vote.map_or(0, |v| v.leader_id().term).max(last.map_or(0, |l| l.leader_id.term)) + 1;
    let mut index = last.map_or(0, |l| l.index);
    // The old members are retired in the node directory, so their ids are never taken again:
    // one entry of the new term, applied like any other (the audit trail is keyed by index),
    // before the new cluster's first index. It names who confirmed it (see `Confirmed`).
    let view = crate::RocksView::new(db.clone());
    let mut old: BTreeSet<NodeId> = domain::StateView::scan(&view, domain::Table::Node, None, usize::MAX)
        .map_err(|e| crate::msg_err(e.0))?
        .into_iter()
        .filter_map(|r| match r {
            domain::Record::Node(n) if !n.retired && n.id != id => Some(n.id),
            _ => None,
        })
        .collect();
    old.extend(s.membership.membership().nodes().map(|(n, _)| *n).filter(|n| *n != id));
    let old: Vec<NodeId> = old.into_iter().collect();
    index += 1;
    let env = domain::Envelope {
        id: domain::CommandId::new(format!("cluster.force-new:{id}:{term}")),
        at: time::OffsetDateTime::now_utc(),
        origin: id,
        actor: confirmed.actor.clone(),
        cmd: domain::Command::ForceNewCluster {
            survivor: id,
            retired: old.clone(),
            confirmed_by: confirmed.by.clone(),
        },
    };
    let entry = Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, id), index),
        payload: EntryPayload::Normal(crate::Batch(vec![env])),
    };
    StateMachineStore::apply_blocking(&db, vec![entry])?;
    let log_id = LogId::new(CommittedLeaderId::new(term, id), index + 1);
    found(&db, id, addr, log_id)?;
    Ok(Founded { log_id, replayed, beyond_commit, retired: old })
}

/// Fills the empty data folder `dir` with a backup's records and makes this node the only voter
/// of a new cluster. The records are already checked (`read_backup`). Written to a sibling
/// folder first and renamed into place, so a failure leaves `dir` as it was.
pub fn restore(
    dir: &Path,
    id: NodeId,
    addr: NodeAddr,
    header: &BackupHeader,
    records: &Records,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Founded, RecoveryError> {
    if dir.join("db").exists() {
        return Err(RecoveryError::NotEmpty(dir.to_owned()));
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into());
    let tmp = dir.with_file_name(format!(".{name}.restoring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let founded = (|| {
        let (db, _) = open(&tmp)?;
        let sm = db.cf_handle(keys::SM).ok_or_else(|| crate::msg_err("column family sm missing"))?;
        let total = records.len() as u64;
        let mut written = 0u64;
        progress(0, total);
        for chunk in records.chunks(10_000) {
            let mut batch = WriteBatch::default();
            for (k, v) in chunk {
                batch.put_cf(sm, k, v);
            }
            db.write(batch).map_err(crate::write_err)?;
            written += chunk.len() as u64;
            progress(written, total);
        }
        let last = header.last_applied;
        let term = last.map_or(0, |l| l.leader_id.term) + 1;
        let log_id = LogId::new(CommittedLeaderId::new(term, id), last.map_or(0, |l| l.index) + 1);
        found(&db, id, addr, log_id)?;
        Ok::<_, RecoveryError>(Founded { log_id, replayed: 0, beyond_commit: 0, retired: Vec::new() })
    })();
    let founded = match founded {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if dir.exists() {
        // An empty folder (or one with only an empty snapshots folder) is replaced.
        std::fs::remove_dir_all(dir).map_err(|e| RecoveryError::Open(OpenError::Dir(dir.to_owned(), e)))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| RecoveryError::Open(OpenError::Dir(dir.to_owned(), e)))?;
    Ok(founded)
}

/// Empties the log and makes `id` the only voter from `log_id` on, in one synced batch.
fn found(db: &DB, id: NodeId, addr: NodeAddr, log_id: LogId<NodeId>) -> Result<(), Error> {
    let cf = |name: &str| db.cf_handle(name).ok_or_else(|| crate::msg_err(format!("column family {name} missing")));
    let membership = Membership::new(vec![BTreeSet::from([id])], BTreeMap::from([(id, addr)]));
    let stored = StoredMembership::new(Some(log_id), membership);
    let mut b = WriteBatch::default();
    let log = cf(keys::LOG)?;
    b.delete_range_cf(log, keys::log_key(0), keys::log_key(u64::MAX));
    b.delete_cf(log, keys::log_key(u64::MAX));
    let raft = cf(keys::RAFT)?;
    b.put_cf(raft, keys::VOTE, enc(&Vote::new(log_id.leader_id.term, id))?);
    b.put_cf(raft, keys::COMMITTED, enc(&Some(log_id))?);
    b.put_cf(raft, keys::LAST_PURGED, enc(&log_id)?);
    let meta = cf(keys::SM_META)?;
    b.put_cf(meta, keys::LAST_APPLIED, enc(&Some(log_id))?);
    b.put_cf(meta, keys::MEMBERSHIP, enc(&stored)?);
    // The old snapshot describes the old cluster; openraft builds a new one at start-up.
    b.delete_cf(meta, keys::SNAPSHOT);
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    db.write_opt(b, &sync).map_err(crate::write_err)
}
