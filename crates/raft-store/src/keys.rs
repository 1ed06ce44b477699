//! Column families and the keys in them, in one place.

/// Log entries, keyed by big-endian index so that iteration is in log order.
pub const LOG: &str = "log";
/// Raft's own small records: vote, committed, last purged.
pub const RAFT: &str = "raft";
/// The state machine's tables, keyed by `domain::Key::to_bytes`.
pub const SM: &str = "sm";
/// The state machine's bookkeeping: last applied log id, membership, current snapshot.
pub const SM_META: &str = "sm_meta";

/// The node-local outbox (never replicated, never in a snapshot), keyed like the log.
pub const OUTBOX: &str = "outbox";

pub const ALL_CFS: [&str; 5] = [LOG, RAFT, SM, SM_META, OUTBOX];

pub const VOTE: &[u8] = b"vote";
pub const COMMITTED: &[u8] = b"committed";
pub const LAST_PURGED: &[u8] = b"last_purged";

pub const LAST_APPLIED: &[u8] = b"last_applied";
pub const MEMBERSHIP: &[u8] = b"membership";
pub const SNAPSHOT: &[u8] = b"snapshot";
pub const SNAPSHOT_SEQ: &[u8] = b"snapshot_seq";

/// Every state machine key is ASCII, so this sorts after all of them.
pub const SM_END: &[u8] = &[0xff];

pub fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub fn log_index(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}
