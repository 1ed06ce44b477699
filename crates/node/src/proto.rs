//! The gRPC messages and stubs generated from `proto/`, shared by the server and the CLI
//! clients, and the versioned encoding their payloads carry (openraft's and the domain's
//! types), so the `.proto` files stay small.

#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used, unused_qualifications)]
pub mod pb {
    pub mod raft {
        tonic::include_proto!("beredd.raft.v1");
    }
    pub mod cluster {
        tonic::include_proto!("beredd.cluster.v1");
    }
}

/// Encodes a payload in the current wire format (see [`raft_store::codec`]).
pub fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
    raft_store::codec::to_bytes(v)
}

/// Decodes a payload of either wire format; a bad one is the caller's error.
pub fn dec<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, tonic::Status> {
    raft_store::codec::from_bytes(bytes).map_err(|e| tonic::Status::invalid_argument(format!("payload: {e}")))
}
