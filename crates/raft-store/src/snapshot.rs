//! Snapshot files: a consistent copy of the state machine's tables, written from a RocksDB
//! snapshot and checked by a trailing SHA-256 before it is installed.
//!
//! Layout (version 1): `BRDSNAP1`, then records `u32 key_len, key, u32 value_len, value` (big
//! endian), then `u32::MAX` as end marker, then the SHA-256 of everything before it.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"BRDSNAP1";
const END: u32 = u32::MAX;

/// The snapshot data openraft passes around: a file on disk, streamed in chunks by the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub path: PathBuf,
}

/// Writes records into a new snapshot file, hashing as it goes.
pub struct SnapshotWriter {
    out: BufWriter<File>,
    hash: Sha256,
    path: PathBuf,
}

impl SnapshotWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut w = Self { out: BufWriter::new(File::create(path)?), hash: Sha256::new(), path: path.to_owned() };
        w.put(MAGIC)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    pub fn record(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        for part in [key, value] {
            let len = u32::try_from(part.len()).map_err(|_| io::Error::other("record too large"))?;
            self.put(&len.to_be_bytes())?;
            self.put(part)?;
        }
        Ok(())
    }

    /// Ends the file, syncs it, and returns its checksum (hex).
    pub fn finish(mut self) -> io::Result<(PathBuf, String)> {
        self.put(&END.to_be_bytes())?;
        let sum = self.hash.finalize();
        self.out.write_all(&sum)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((self.path, hex::encode(sum)))
    }
}

/// Reads every record of a snapshot file, verifying magic and checksum first.
pub fn read_all(path: &Path) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {m}", path.display()));
    let mut data = Vec::new();
    BufReader::new(File::open(path)?).read_to_end(&mut data)?;
    if data.len() < MAGIC.len() + 4 + 32 {
        return Err(bad("too short"));
    }
    let (body, sum) = data.split_at(data.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err(bad("checksum mismatch"));
    }
    let rest = body.strip_prefix(MAGIC.as_slice()).ok_or_else(|| bad("not a beredd snapshot"))?;
    let mut pos = 0usize;
    let mut take = |n: usize| -> io::Result<&[u8]> {
        let s = rest.get(pos..pos + n).ok_or_else(|| bad("truncated"))?;
        pos += n;
        Ok(s)
    };
    let mut out = Vec::new();
    loop {
        let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad("truncated"))?);
        if len == END {
            break;
        }
        let key = take(len as usize)?.to_vec();
        let vlen = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad("truncated"))?);
        let value = take(vlen as usize)?.to_vec();
        out.push((key, value));
    }
    Ok(out)
}
