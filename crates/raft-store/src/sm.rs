//! `RaftStateMachine`: applies committed entries through `domain::apply` and persists the
//! result, `last_applied` and membership in one `WriteBatch`; builds and installs snapshots.

use crate::keys;
use crate::log::{dec, enc};
use crate::snapshot::{self, SnapshotFile, SnapshotWriter};
use crate::view::RocksView;
use crate::{Error, NodeAddr, NodeId, TypeConfig, msg_err, read_err, write_err};
use domain::codec::encode_record;
use domain::{AuditSeq, Overlay, Verdict};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership,
};
use rocksdb::{DB, IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Membership = StoredMembership<NodeId, NodeAddr>;

/// What `sm_meta/snapshot` records: the current snapshot and its file name.
#[derive(Serialize, Deserialize)]
struct CurrentSnapshot {
    meta: SnapshotMeta<NodeId, NodeAddr>,
    file: String,
    sha256: String,
}

#[derive(Clone)]
pub struct StateMachineStore {
    db: Arc<DB>,
    snap_dir: PathBuf,
}

fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a rocksdb::ColumnFamily, Error> {
    db.cf_handle(name).ok_or_else(|| msg_err(format!("column family {name} missing")))
}

/// A few commands, none of them an import: applied on openraft's state-machine task itself,
/// because handing them to the blocking pool costs more (two thread switches) than the work.
fn is_light(entries: &[Entry<TypeConfig>]) -> bool {
    const MAX_INLINE: usize = 4;
    let mut commands = 0;
    for e in entries {
        if let EntryPayload::Normal(batch) = &e.payload {
            if batch.0.iter().any(|env| matches!(env.cmd, domain::Command::Import { .. })) {
                return false;
            }
            commands += batch.0.len();
        }
    }
    commands <= MAX_INLINE
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
    tokio::task::spawn_blocking(f).await.map_err(|e| msg_err(format!("storage task failed: {e}")))?
}

impl StateMachineStore {
    pub(crate) fn new(db: Arc<DB>, snap_dir: PathBuf) -> Self {
        Self { db, snap_dir }
    }

    fn meta<T: serde::de::DeserializeOwned>(db: &DB, key: &[u8]) -> Result<Option<T>, Error> {
        db.get_cf(cf(db, keys::SM_META)?, key).map_err(read_err)?.map(|b| dec(&b)).transpose()
    }

    fn current(db: &DB) -> Result<Option<CurrentSnapshot>, Error> {
        Self::meta(db, keys::SNAPSHOT)
    }

    /// Applies `entries` in one batch (on a blocking thread unless they are light).
    pub(crate) fn apply_blocking(db: &Arc<DB>, entries: Vec<Entry<TypeConfig>>) -> Result<Vec<Vec<Verdict>>, Error> {
        let view = RocksView::new(db.clone());
        let mut overlay = Overlay::new(&view);
        let mut verdicts = Vec::with_capacity(entries.len());
        let mut last_applied = None;
        let mut membership = None;
        for e in entries {
            last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => verdicts.push(Vec::new()),
                EntryPayload::Normal(batch) => {
                    let mut answers = Vec::with_capacity(batch.0.len());
                    for (slot, env) in batch.0.iter().enumerate() {
                        let at = AuditSeq { log_index: e.log_id.index, slot: u32::try_from(slot).unwrap_or(u32::MAX) };
                        let (verdict, changes) =
                            domain::apply(&overlay, env, at).map_err(|err| StorageIOError::apply(e.log_id, &err))?;
                        overlay.add(changes);
                        answers.push(verdict);
                    }
                    verdicts.push(answers);
                }
                EntryPayload::Membership(m) => {
                    membership = Some(Membership::new(Some(e.log_id), m));
                    verdicts.push(Vec::new());
                }
            }
        }
        let mut batch = WriteBatch::default();
        let sm = cf(db, keys::SM)?;
        for (key, value) in overlay.into_changes().0 {
            match value {
                Some(v) => batch.put_cf(sm, key.to_bytes(), encode_record(&v)),
                None => batch.delete_cf(sm, key.to_bytes()),
            }
        }
        let meta = cf(db, keys::SM_META)?;
        if let Some(la) = last_applied {
            batch.put_cf(meta, keys::LAST_APPLIED, enc(&la)?);
        }
        if let Some(m) = membership {
            batch.put_cf(meta, keys::MEMBERSHIP, enc(&m)?);
        }
        db.write(batch).map_err(write_err)?;
        Ok(verdicts)
    }

    fn build_blocking(db: &DB, snap_dir: &Path) -> Result<Snapshot<TypeConfig>, Error> {
        let snap = db.snapshot();
        let meta_cf = cf(db, keys::SM_META)?;
        let get = |k: &[u8]| snap.get_cf(meta_cf, k).map_err(read_err);
        let last_applied: Option<LogId<NodeId>> = get(keys::LAST_APPLIED)?.map(|b| dec(&b)).transpose()?;
        let membership: Membership = get(keys::MEMBERSHIP)?.map(|b| dec(&b)).transpose()?.unwrap_or_default();
        let seq: u64 = get(keys::SNAPSHOT_SEQ)?.map(|b| dec(&b)).transpose()?.unwrap_or(0) + 1;
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{}-{seq}", l.leader_id.term, l.leader_id.node_id, l.index),
            None => format!("0-0-0-{seq}"),
        };
        let file = format!("snapshot-{snapshot_id}.bin");
        let tmp = snap_dir.join(format!("{file}.tmp"));
        let mut w = SnapshotWriter::create(&tmp).map_err(write_err)?;
        for item in snap.iterator_cf(cf(db, keys::SM)?, IteratorMode::Start) {
            let (k, v) = item.map_err(read_err)?;
            w.record(&k, &v).map_err(write_err)?;
        }
        let (_, sha256) = w.finish().map_err(write_err)?;
        let path = snap_dir.join(&file);
        std::fs::rename(&tmp, &path).map_err(write_err)?;
        let meta = SnapshotMeta { last_log_id: last_applied, last_membership: membership, snapshot_id };
        let current = CurrentSnapshot { meta: meta.clone(), file, sha256 };
        let mut batch = WriteBatch::default();
        batch.put_cf(meta_cf, keys::SNAPSHOT, enc(&current)?);
        batch.put_cf(meta_cf, keys::SNAPSHOT_SEQ, enc(&seq)?);
        db.write(batch).map_err(write_err)?;
        prune(snap_dir, &current.file);
        Ok(Snapshot { meta, snapshot: Box::new(SnapshotFile { path }) })
    }

    fn install_blocking(
        db: &DB,
        snap_dir: &Path,
        meta: &SnapshotMeta<NodeId, NodeAddr>,
        data: &SnapshotFile,
    ) -> Result<(), Error> {
        // One pass over the file, record by record, into one batch (so readers see the old state
        // or the new one, never a mix); the checksum at its end is checked before the batch is
        // written, so a bad file changes nothing.
        let sm = cf(db, keys::SM)?;
        let meta_cf = cf(db, keys::SM_META)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(sm, &b""[..], keys::SM_END);
        let mut records = snapshot::Records::open(&data.path).map_err(read_err)?;
        while let Some((k, v)) = records.next_record().map_err(read_err)? {
            batch.put_cf(sm, k, v);
        }
        let sha256 = records.finish().map_err(read_err)?;
        let file = format!("snapshot-{}.bin", meta.snapshot_id);
        let dest = snap_dir.join(&file);
        if data.path != dest {
            std::fs::copy(&data.path, &dest).map_err(write_err)?;
        }
        batch.put_cf(meta_cf, keys::LAST_APPLIED, enc(&meta.last_log_id)?);
        batch.put_cf(meta_cf, keys::MEMBERSHIP, enc(&meta.last_membership)?);
        batch.put_cf(
            meta_cf,
            keys::SNAPSHOT,
            enc(&CurrentSnapshot { meta: meta.clone(), file: file.clone(), sha256 })?,
        );
        db.write(batch).map_err(write_err)?;
        db.flush_wal(true).map_err(write_err)?;
        if data.path != dest && data.path.starts_with(snap_dir) {
            let _ = std::fs::remove_file(&data.path);
        }
        prune(snap_dir, &file);
        Ok(())
    }

    /// The snapshot directory, where received snapshots are written before installation.
    pub fn snapshot_dir(&self) -> &Path {
        &self.snap_dir
    }
}

/// Keeps the current snapshot and the one before it (a peer may still be streaming it).
fn prune(dir: &Path, keep: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
        .filter(|e| e.file_name().to_string_lossy() != keep)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files.pop();
    for (_, p) in files {
        let _ = std::fs::remove_file(p);
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, Error> {
        let (db, dir) = (self.db.clone(), self.snap_dir.clone());
        blocking(move || Self::build_blocking(&db, &dir)).await
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId<NodeId>>, Membership), Error> {
        let la = Self::meta::<Option<LogId<NodeId>>>(&self.db, keys::LAST_APPLIED)?.flatten();
        let m = Self::meta(&self.db, keys::MEMBERSHIP)?.unwrap_or_default();
        Ok((la, m))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Verdict>>, Error>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        let db = self.db.clone();
        if is_light(&entries) {
            return Self::apply_blocking(&db, entries);
        }
        blocking(move || Self::apply_blocking(&db, entries)).await
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotFile>, Error> {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Ok(Box::new(SnapshotFile { path: self.snap_dir.join(format!("incoming-{n}.bin")) }))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, NodeAddr>,
        snapshot: Box<SnapshotFile>,
    ) -> Result<(), Error> {
        let (db, dir, meta) = (self.db.clone(), self.snap_dir.clone(), meta.clone());
        blocking(move || Self::install_blocking(&db, &dir, &meta, &snapshot)).await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, Error> {
        let Some(cur) = Self::current(&self.db)? else { return Ok(None) };
        let path = self.snap_dir.join(&cur.file);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(Snapshot { meta: cur.meta, snapshot: Box::new(SnapshotFile { path }) }))
    }
}
