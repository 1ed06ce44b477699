//! The encoding of log entries and Raft messages. The first byte names the format:
//!
//! - 1: JSON; each log entry carried one [`domain::Envelope`]. Still read, never written.
//! - 2: MessagePack with field names; each log entry carries a [`Batch`] of envelopes.
//!
//! MessagePack because it is binary (no text escaping, about a third smaller for our entries)
//! yet self-describing like JSON: the domain's tagged enums and optional fields decode as they
//! do from JSON, and a field added later is read by a node that does not know it yet. Formats
//! that drop field names (bincode, postcard) would make every such change a new format.

use crate::{NodeAddr, TypeConfig};
use openraft::raft::AppendEntriesRequest;
use openraft::{Entry, EntryPayload};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON, one envelope per entry (written before batches).
pub const JSON_V1: u8 = 1;
/// MessagePack, a batch of envelopes per entry.
pub const MSGPACK_V2: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty value")]
    Empty,
    #[error("unknown format version {0}")]
    UnknownVersion(u8),
    #[error("malformed JSON value: {0}")]
    Json(#[from] serde_json::Error),
    #[error("malformed MessagePack value: {0}")]
    MsgPack(#[from] rmp_serde::decode::Error),
}

/// Encodes `v` in the current format (2).
pub fn to_bytes<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(MSGPACK_V2);
    let mut ser = rmp_serde::Serializer::new(&mut out).with_struct_map().with_human_readable();
    // Serialising plain data types (ours and openraft's) to a Vec does not fail.
    let _ = v.serialize(&mut ser);
    out
}

/// Decodes a value written in format 1 or 2. For log entries and messages that hold entries use
/// [`decode_entry`] and [`from_bytes_with_entries`]: their format-1 shape differs.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&JSON_V1, rest)) => Ok(serde_json::from_slice(rest)?),
        Some((&MSGPACK_V2, rest)) => {
            let mut de = rmp_serde::Deserializer::from_read_ref(rest).with_human_readable();
            Ok(T::deserialize(&mut de)?)
        }
        Some((v, _)) => Err(CodecError::UnknownVersion(*v)),
    }
}

/// What a log entry carries: the commands proposed together (group commit), applied in order,
/// each with its own verdict, dedup record and audit line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Batch(pub Vec<domain::Envelope>);

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.0.len())
    }
}

openraft::declare_raft_types!(
    /// The Raft types of format 1, only to read old entries: one envelope per entry.
    pub LegacyConfig:
        D = domain::Envelope,
        R = domain::Verdict,
        NodeId = u64,
        Node = NodeAddr,
        Entry = openraft::Entry<LegacyConfig>,
        SnapshotData = crate::SnapshotFile,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A format-1 entry as a batch of one.
pub fn upgrade_entry(e: Entry<LegacyConfig>) -> Entry<TypeConfig> {
    let payload = match e.payload {
        EntryPayload::Blank => EntryPayload::Blank,
        EntryPayload::Normal(env) => EntryPayload::Normal(Batch(vec![env])),
        EntryPayload::Membership(m) => EntryPayload::Membership(m),
    };
    Entry { log_id: e.log_id, payload }
}

pub fn encode_entry(e: &Entry<TypeConfig>) -> Vec<u8> {
    to_bytes(e)
}

/// Reads a stored entry of either format.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry<TypeConfig>, CodecError> {
    match bytes.first() {
        Some(&JSON_V1) => Ok(upgrade_entry(from_bytes(bytes)?)),
        _ => from_bytes(bytes),
    }
}

/// Decodes an AppendEntries request of either format: a format-1 one, from a leader not yet
/// upgraded, has its entries upgraded. (An old node cannot read format 2: upgrade the followers
/// first and the leader last, see ARCHITECTURE.md.)
pub fn decode_append_entries(bytes: &[u8]) -> Result<AppendEntriesRequest<TypeConfig>, CodecError> {
    match bytes.first() {
        Some(&JSON_V1) => {
            let old: AppendEntriesRequest<LegacyConfig> = from_bytes(bytes)?;
            Ok(AppendEntriesRequest {
                vote: old.vote,
                prev_log_id: old.prev_log_id,
                entries: old.entries.into_iter().map(upgrade_entry).collect(),
                leader_commit: old.leader_commit,
            })
        }
        _ => from_bytes(bytes),
    }
}
