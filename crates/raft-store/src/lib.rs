//! openraft's storage on RocksDB: the Raft log, the vote and the state machine's tables live in
//! column families of one database, so one WAL orders every write.
//!
//! Durability rules (see ARCHITECTURE.md): a log append is acknowledged to openraft only after
//! the WAL is synced, on the WAL sync thread (never on a tokio worker); applying entries writes the
//! domain's changes, `last_applied` and membership in one `WriteBatch`, so a restarted node
//! serves at once and a crash never half-applies.

// openraft dictates the (large) storage error type of every trait method.
#![allow(clippy::result_large_err)]

mod backup;
pub mod codec;
mod keys;
mod log;
mod outbox;
mod recovery;
mod sm;
mod snapshot;
mod view;
mod writer;

pub use backup::{BackupError, BackupHeader, BackupSource, Records, read_backup, write_backup};
pub use codec::Batch;
pub use log::LogStore;
pub use outbox::{OutboxError, OutboxStore};
pub use recovery::{Confirmed, Founded, RecoveryError, Survey, force_new_cluster, restore, survey};
pub use sm::StateMachineStore;
pub use snapshot::SnapshotFile;
pub use view::RocksView;

/// Checks a snapshot file's format and checksum without installing it.
pub fn verify_snapshot(path: &Path) -> std::io::Result<()> {
    snapshot::verify(path).map(|_| ())
}

use openraft::{StorageError, StorageIOError};
use rocksdb::{ColumnFamilyDescriptor, DB, Options};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Address of a node, as kept in Raft membership.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// Base URL of the node's HTTP server, e.g. `http://127.0.0.1:8081`.
    pub http: String,
    /// `host:port` of the node's gRPC server.
    pub grpc: String,
}

impl std::fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.http, self.grpc)
    }
}

openraft::declare_raft_types!(
    /// beredd's Raft types: a log entry carries a [`Batch`] of domain envelopes and answers with
    /// one [`domain::Verdict`] for each; snapshots are files.
    pub TypeConfig:
        D = Batch,
        R = Vec<domain::Verdict>,
        NodeId = u64,
        Node = NodeAddr,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = SnapshotFile,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type NodeId = u64;
pub type Error = StorageError<NodeId>;

/// Opens (or creates) the node's database under `dir` and returns the two storage halves.
pub fn open(dir: &Path) -> Result<Storage, OpenError> {
    let (db, snap_dir) = open_db(dir)?;
    let writer = writer::Writer::start(&db).map_err(|e| OpenError::Dir(dir.to_owned(), e))?;
    Ok(Storage {
        log: LogStore::new(db.clone(), writer),
        sm: StateMachineStore::new(db.clone(), snap_dir),
        outbox: OutboxStore::new(db.clone()),
        view: RocksView::new(db),
    })
}

/// The database and snapshot folder under `dir`, created if missing. RocksDB's lock makes a
/// second opener (a running node, or a recovery while the node runs) fail here.
fn open_db(dir: &Path) -> Result<(Arc<DB>, PathBuf), OpenError> {
    std::fs::create_dir_all(dir).map_err(|e| OpenError::Dir(dir.to_owned(), e))?;
    let snap_dir = dir.join("snapshots");
    std::fs::create_dir_all(&snap_dir).map_err(|e| OpenError::Dir(snap_dir.clone(), e))?;
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // Small machines: keep background work modest and the memtables small.
    opts.increase_parallelism(2);
    opts.set_max_background_jobs(2);
    opts.set_write_buffer_size(16 << 20);
    opts.set_keep_log_file_num(5);
    let cfs = keys::ALL_CFS.iter().map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    let db_path = dir.join("db");
    let db = DB::open_cf_descriptors(&opts, &db_path, cfs).map_err(|e| OpenError::Db(db_path, e))?;
    Ok((Arc::new(db), snap_dir))
}

/// The storage of one node: give `log` and `sm` to openraft; `view` serves local reads;
/// `outbox` keeps what this node took while it could not reach a leader.
pub struct Storage {
    pub log: LogStore,
    pub sm: StateMachineStore,
    pub view: RocksView,
    pub outbox: OutboxStore,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create {0}: {1}")]
    Dir(PathBuf, #[source] std::io::Error),
    #[error("cannot open RocksDB at {0}: {1}")]
    Db(PathBuf, #[source] rocksdb::Error),
}

pub(crate) fn read_err(e: impl std::error::Error + 'static) -> Error {
    StorageIOError::read(&e).into()
}

pub(crate) fn write_err(e: impl std::error::Error + 'static) -> Error {
    StorageIOError::write(&e).into()
}

pub(crate) fn msg_err(msg: impl ToString) -> Error {
    StorageIOError::write(openraft::AnyError::error(msg)).into()
}

#[cfg(test)]
mod tests;
