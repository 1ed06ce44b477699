//! Versioned encodings of everything that is persisted or replicated: log entries carry an
//! [`Envelope`], the state machine stores [`Record`]s. The first byte names the format version,
//! so a future version can read the old one during a rolling upgrade.

use crate::command::Envelope;
use crate::state::Record;

/// Current format: a version byte followed by JSON.
pub const V1: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty value")]
    Empty,
    #[error("unknown format version {0}")]
    UnknownVersion(u8),
    #[error("malformed value: {0}")]
    Malformed(#[from] serde_json::Error),
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![V1];
    // Serialising plain data structs to a Vec cannot fail.
    serde_json::to_writer(&mut out, v).unwrap_or_default();
    out
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    match bytes.split_first() {
        None => Err(DecodeError::Empty),
        Some((&V1, rest)) => Ok(serde_json::from_slice(rest)?),
        Some((v, _)) => Err(DecodeError::UnknownVersion(*v)),
    }
}

pub fn encode_record(r: &Record) -> Vec<u8> {
    encode(r)
}

pub fn decode_record(bytes: &[u8]) -> Result<Record, DecodeError> {
    decode(bytes)
}

pub fn encode_envelope(e: &Envelope) -> Vec<u8> {
    encode(e)
}

pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    decode(bytes)
}
