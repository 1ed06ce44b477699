//! The gRPC messages and stubs generated from `proto/`, shared by the server and the CLI
//! clients, and the versioned JSON encoding their payloads carry (openraft's and the domain's
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
