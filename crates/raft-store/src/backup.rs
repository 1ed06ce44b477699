//! Backup files: every state machine record of one node, read from one RocksDB snapshot, with a
//! header that says where and when it was taken and how fresh that node was, and a checksum.
//!
//! Layout (version 1): `BRDBACK1`, records `u32 key_len, key, u32 value_len, value` (big endian),
//! `u32::MAX`, then `u32 header_len` and the header as JSON, then the SHA-256 of everything
//! before it. The header comes last so the file is written in one pass; a reader checks the
//! checksum, the format, the version and the state digest before it believes any of it.

use crate::keys;
use crate::view::{RocksView, StateHasher};
use crate::{NodeAddr, NodeId};
use openraft::{LogId, StoredMembership};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"BRDBACK1";
const SNAPSHOT_MAGIC: &[u8; 8] = b"BRDSNAP1";
const END: u32 = u32::MAX;
/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// What the header says about the node the backup was taken from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupSource {
    pub node_id: NodeId,
    /// RFC 3339, UTC.
    pub taken_at: String,
    pub leader_id: Option<NodeId>,
    /// Whether the node was in touch with a majority: without it the backup may miss the newest
    /// changes, up to `millis_since_quorum` old.
    pub quorum: bool,
    pub millis_since_quorum: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupHeader {
    /// Always `beredd-backup`.
    pub format: String,
    pub version: u32,
    pub source: BackupSource,
    /// The last log entry the records reflect.
    pub last_applied: Option<LogId<NodeId>>,
    pub membership: StoredMembership<NodeId, NodeAddr>,
    pub records: u64,
    /// As `RocksView::digest`: a restored node reports the same.
    pub state_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] io::Error),
    #[error("{0} is not a beredd backup")]
    Foreign(PathBuf),
    #[error("{0} is a Raft snapshot file from a node's data folder, not a backup; make one with `beredd backup`")]
    Snapshot(PathBuf),
    #[error("{0} is damaged: {1}; nothing was changed")]
    Damaged(PathBuf, String),
    #[error(
        "{0} was written in backup format {1}, newer than this beredd reads ({FORMAT_VERSION}); use a newer beredd"
    )]
    Newer(PathBuf, u32),
}

struct Out {
    w: BufWriter<File>,
    hash: Sha256,
}

impl Out {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.w.write_all(bytes)
    }

    fn part(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("record too large"))?;
        self.put(&len.to_be_bytes())?;
        self.put(bytes)
    }
}

/// Writes a backup of `view`'s node to `path` (synced) and returns its header.
pub fn write_backup(view: &RocksView, path: &Path, source: BackupSource) -> Result<BackupHeader, BackupError> {
    let io_err = |e: io::Error| BackupError::Io(path.to_owned(), e);
    let other = |e: &dyn std::fmt::Display| BackupError::Io(path.to_owned(), io::Error::other(e.to_string()));
    let db = view.db();
    let snap = db.snapshot();
    let meta_cf = db.cf_handle(keys::SM_META).ok_or_else(|| other(&"column family sm_meta missing"))?;
    let sm_cf = db.cf_handle(keys::SM).ok_or_else(|| other(&"column family sm missing"))?;
    let get = |k: &[u8]| snap.get_cf(meta_cf, k).map_err(|e| other(&e));
    let last_applied: Option<LogId<NodeId>> =
        get(keys::LAST_APPLIED)?.map(|b| crate::log::dec(&b)).transpose().map_err(|e| other(&e))?.flatten();
    let membership =
        get(keys::MEMBERSHIP)?.map(|b| crate::log::dec(&b)).transpose().map_err(|e| other(&e))?.unwrap_or_default();
    // It holds password hashes and keys: private to the node's user from the start.
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_err)?
    };
    let mut out = Out { w: BufWriter::new(file), hash: Sha256::new() };
    out.put(MAGIC).map_err(io_err)?;
    let mut state = StateHasher::default();
    let mut records = 0u64;
    for item in snap.iterator_cf(sm_cf, rocksdb::IteratorMode::Start) {
        let (k, v) = item.map_err(|e| other(&e))?;
        state.record(&k, &v);
        out.part(&k).map_err(io_err)?;
        out.part(&v).map_err(io_err)?;
        records += 1;
    }
    out.put(&END.to_be_bytes()).map_err(io_err)?;
    let header = BackupHeader {
        format: "beredd-backup".into(),
        version: FORMAT_VERSION,
        source,
        last_applied,
        membership,
        records,
        state_sha256: state.finish(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| other(&e))?;
    out.part(&json).map_err(io_err)?;
    let sum = out.hash.finalize();
    out.w.write_all(&sum).map_err(io_err)?;
    let file = out.w.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)?;
    Ok(header)
}

/// A backup's records, key and value as stored.
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Reads and checks a whole backup file: checksum, format, version, and the state digest of its
/// records against the header.
pub fn read_backup(path: &Path) -> Result<(BackupHeader, Records), BackupError> {
    let damaged = |m: &str| BackupError::Damaged(path.to_owned(), m.to_owned());
    let mut data = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut data)).map_err(|e| BackupError::Io(path.to_owned(), e))?;
    if data.starts_with(SNAPSHOT_MAGIC) {
        return Err(BackupError::Snapshot(path.to_owned()));
    }
    if !data.starts_with(MAGIC) {
        return Err(BackupError::Foreign(path.to_owned()));
    }
    if data.len() < MAGIC.len() + 8 + 32 {
        return Err(damaged("it is cut short"));
    }
    let (body, sum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err(damaged("its checksum does not match (cut short or changed after it was written)"));
    }
    let mut rest = &body[MAGIC.len()..];
    let mut records = Vec::new();
    let mut state = StateHasher::default();
    loop {
        let klen = read_u32(&mut rest).ok_or_else(|| damaged("a record runs past the end"))?;
        if klen == END {
            break;
        }
        let key = split(&mut rest, klen).ok_or_else(|| damaged("a record runs past the end"))?;
        let vlen = read_u32(&mut rest).ok_or_else(|| damaged("a record runs past the end"))?;
        let value = split(&mut rest, vlen).ok_or_else(|| damaged("a record runs past the end"))?;
        state.record(key, value);
        records.push((key.to_vec(), value.to_vec()));
    }
    let hlen = read_u32(&mut rest).ok_or_else(|| damaged("the header is missing"))?;
    let json = split(&mut rest, hlen).ok_or_else(|| damaged("the header is cut short"))?;
    let header: BackupHeader = match serde_json::from_slice(json) {
        Ok(h) => h,
        Err(e) => {
            // A newer format may have a header this build cannot read: say that, not "damaged".
            let v = serde_json::from_slice::<serde_json::Value>(json).ok().and_then(|v| v["version"].as_u64());
            return match v {
                Some(v) if v > u64::from(FORMAT_VERSION) => {
                    Err(BackupError::Newer(path.to_owned(), u32::try_from(v).unwrap_or(u32::MAX)))
                }
                _ => Err(damaged(&format!("its header cannot be read ({e})"))),
            };
        }
    };
    if header.format != "beredd-backup" {
        return Err(BackupError::Foreign(path.to_owned()));
    }
    if header.version > FORMAT_VERSION {
        return Err(BackupError::Newer(path.to_owned(), header.version));
    }
    if header.records != records.len() as u64 || header.state_sha256 != state.finish() {
        return Err(damaged("its records do not match the digest in its header"));
    }
    Ok((header, records))
}

fn read_u32(rest: &mut &[u8]) -> Option<u32> {
    let b = split(rest, 4)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

fn split<'a>(rest: &mut &'a [u8], n: u32) -> Option<&'a [u8]> {
    let n = n as usize;
    if rest.len() < n {
        return None;
    }
    let (a, b) = rest.split_at(n);
    *rest = b;
    Some(a)
}
