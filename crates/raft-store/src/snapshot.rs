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

/// Reads a snapshot file's records one at a time, hashing as it goes. A file is read twice:
/// once to verify it ([`verify`]), then to install it, so it is never held in memory whole.
pub struct Records {
    input: BufReader<File>,
    hash: Sha256,
    path: PathBuf,
    ended: bool,
}

impl Records {
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut r =
            Self { input: BufReader::new(File::open(path)?), hash: Sha256::new(), path: path.to_owned(), ended: false };
        let mut magic = [0u8; 8];
        r.take_into(&mut magic)?;
        if &magic != MAGIC {
            return Err(r.bad("not a beredd snapshot"));
        }
        Ok(r)
    }

    fn bad(&self, m: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("{}: {m}", self.path.display()))
    }

    fn take_into(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => self.bad("truncated"),
            _ => e,
        })?;
        self.hash.update(&*buf);
        Ok(())
    }

    fn take_len(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.take_into(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn take_vec(&mut self, len: u32) -> io::Result<Vec<u8>> {
        // Grown as read, so a corrupt length costs an error, not a huge allocation.
        let mut v = Vec::new();
        (&mut self.input).take(u64::from(len)).read_to_end(&mut v)?;
        if v.len() != len as usize {
            return Err(self.bad("truncated"));
        }
        self.hash.update(&v);
        Ok(v)
    }

    /// The next record, or `None` at the end marker.
    pub fn next_record(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.ended {
            return Ok(None);
        }
        let len = self.take_len()?;
        if len == END {
            self.ended = true;
            return Ok(None);
        }
        let key = self.take_vec(len)?;
        let vlen = self.take_len()?;
        let value = self.take_vec(vlen)?;
        Ok(Some((key, value)))
    }

    /// After the last record: checks the trailing checksum and that nothing follows it, and
    /// returns the checksum (hex).
    pub fn finish(mut self) -> io::Result<String> {
        while self.next_record()?.is_some() {}
        let mut sum = [0u8; 32];
        self.input.read_exact(&mut sum).map_err(|_| self.bad("truncated"))?;
        let mut rest = [0u8; 1];
        if self.input.read(&mut rest)? != 0 {
            return Err(self.bad("data after the checksum"));
        }
        if self.hash.finalize().as_slice() != sum {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: checksum mismatch", self.path.display()),
            ));
        }
        Ok(hex::encode(sum))
    }
}

/// Checks a snapshot file's format and checksum, reading it once in small pieces; returns the
/// checksum (hex).
pub fn verify(path: &Path) -> io::Result<String> {
    Records::open(path)?.finish()
}
