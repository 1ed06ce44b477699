//! gRPC between nodes: the Raft transport (client and server) and the cluster service
//! (forwarded writes, membership, status). Messages carry openraft's and the domain's types in a
//! versioned JSON encoding, so the `.proto` files stay small.

pub mod cluster_service;
pub mod network;
pub mod raft_service;

#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used, unused_qualifications)]
pub mod pb {
    pub mod raft {
        tonic::include_proto!("beredd.raft.v1");
    }
    pub mod cluster {
        tonic::include_proto!("beredd.cluster.v1");
    }
}

/// A drill's network cut (`beredd drill --isolate`): until it ends, this node sends and answers
/// no Raft traffic and no forwarded writes, as if its link were down; it heals by itself.
pub struct Isolation {
    start: std::time::Instant,
    /// Milliseconds after `start` when the cut ends (0: none).
    until_ms: std::sync::atomic::AtomicU64,
}

impl Default for Isolation {
    fn default() -> Self {
        Self { start: std::time::Instant::now(), until_ms: std::sync::atomic::AtomicU64::new(0) }
    }
}

impl Isolation {
    pub fn cut_for(&self, d: std::time::Duration) {
        let until = self.start.elapsed() + d;
        self.until_ms.store(u64::try_from(until.as_millis()).unwrap_or(u64::MAX), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn active(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        now < self.until_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn refused() -> tonic::Status {
        tonic::Status::unavailable("this node is cut off for a failover drill")
    }
}

/// Encoding version of every JSON payload on the wire.
const WIRE_V1: u8 = 1;

pub fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![WIRE_V1];
    // Serialising openraft's and our plain data types to a Vec does not fail.
    serde_json::to_writer(&mut out, v).unwrap_or_default();
    out
}

pub fn dec<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, tonic::Status> {
    match bytes.split_first() {
        Some((&WIRE_V1, rest)) => {
            serde_json::from_slice(rest).map_err(|e| tonic::Status::invalid_argument(format!("malformed payload: {e}")))
        }
        Some((v, _)) => Err(tonic::Status::invalid_argument(format!("unknown wire format version {v}"))),
        None => Err(tonic::Status::invalid_argument("empty payload")),
    }
}
