//! The offline copy's seal (issue 22, part 4): a manifest naming the node, its applied index,
//! the time, its last contact with the majority and the SHA-256 of every file, signed with the
//! cluster's Ed25519 key, so a receiving beredd (or a person with the key's fingerprint) can
//! tell the folder is whole and came from this cluster; and the copy as one ZIP, read back
//! within bounds. The pages themselves are the web layer's (`web::offline`).
//!
//! The signing key is derived from the cluster's first session key (a random secret every node
//! holds), so every node of a cluster signs with the same key and its fingerprint stays the same
//! while the cluster lives; a node never writes the key anywhere.

use domain::{Record, StateError, StateView, Table};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use time::OffsetDateTime;

/// The manifest's name in the copy, and its detached signature's.
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
/// What a manifest says it is.
pub const FORMAT: &str = "beredd-offline-copy/1";
/// Bounds on a copy read back (a ZIP or a folder): files, bytes of one file, bytes in all.
pub const MAX_FILES: usize = 20_000;
pub const MAX_FILE_BYTES: u64 = 64 << 20;
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;

/// One file of the copy as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    /// Hex.
    pub sha256: String,
}

/// What the copy is and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// `ed25519:` and the public key in hex: who signed it.
    pub key: String,
    pub node: u64,
    pub applied_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    /// When the node last heard from a majority (`None`: never).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_majority_contact: Option<OffsetDateTime>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("the cluster has no session key yet, so it cannot sign")]
    NoKey,
    #[error("{0} is missing")]
    Missing(String),
    #[error("the manifest cannot be read: {0}")]
    BadManifest(String),
    #[error("the signature does not match the manifest: the manifest was changed or signed by another key")]
    BadSignature,
    #[error("signed by {found}, not by the trusted key {trusted}")]
    Untrusted { found: String, trusted: String },
    #[error("{0} was changed after the copy was made (its SHA-256 differs from the manifest's)")]
    Changed(String),
    #[error("{0} is not in the manifest")]
    Extra(String),
    #[error("the copy is too large or has too many files (at most {MAX_FILES} files, {MAX_TOTAL_BYTES} bytes)")]
    TooLarge,
    #[error("the ZIP cannot be read: {0}")]
    Zip(String),
    #[error("a file name in the copy is not allowed: {0}")]
    BadPath(String),
    #[error(transparent)]
    State(#[from] StateError),
}

/// The cluster's signing key: derived from its oldest session key.
pub fn signing_key(view: &dyn StateView) -> Result<SigningKey, OfflineError> {
    let mut keys: Vec<domain::SessionKey> = crate::read_model::scan_all(view, Table::SessionKey)?
        .into_iter()
        .filter_map(|r| match r {
            Record::SessionKey(k) => Some(k),
            _ => None,
        })
        .collect();
    keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    let first = keys.first().ok_or(OfflineError::NoKey)?;
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"beredd offline copy signing key v1\0")
        .chain_update(first.secret.as_bytes())
        .finalize()
        .into();
    Ok(SigningKey::from_bytes(&seed))
}

/// `ed25519:<hex>` of a public key: what a person compares with the source's `/ops` page.
pub fn key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", hex::encode(key.as_bytes()))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Adds `manifest.json` (listing every file of `files`) and its signature `manifest.sig`.
pub fn seal(
    mut files: Vec<(String, Vec<u8>)>,
    key: &SigningKey,
    node: u64,
    applied_index: u64,
    made_at: OffsetDateTime,
    last_majority_contact: Option<OffsetDateTime>,
) -> Vec<(String, Vec<u8>)> {
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let manifest = Manifest {
        format: FORMAT.into(),
        key: key_text(&key.verifying_key()),
        node,
        applied_index,
        made_at,
        last_majority_contact,
        files: files
            .iter()
            .map(|(path, b)| FileEntry { path: path.clone(), bytes: b.len() as u64, sha256: sha256_hex(b) })
            .collect(),
    };
    // Serialising a plain struct to a Vec cannot fail.
    let mut json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    json.push(b'\n');
    let sig = key.sign(&json);
    files.push((MANIFEST.into(), json));
    files.push((SIGNATURE.into(), format!("{}\n", hex::encode(sig.to_bytes())).into_bytes()));
    files
}

/// Checks a copy read back: the signature over `manifest.json` by `trusted` (`ed25519:<hex>`;
/// `None` accepts the manifest's own key, for a person who compares it by eye), and every file
/// against its SHA-256. A file the manifest does not name is refused too.
pub fn verify(files: &BTreeMap<String, Vec<u8>>, trusted: Option<&str>) -> Result<Manifest, OfflineError> {
    let json = files.get(MANIFEST).ok_or_else(|| OfflineError::Missing(MANIFEST.into()))?;
    let sig = files.get(SIGNATURE).ok_or_else(|| OfflineError::Missing(SIGNATURE.into()))?;
    let manifest: Manifest = serde_json::from_slice(json).map_err(|e| OfflineError::BadManifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(OfflineError::BadManifest(format!("format {} is not {FORMAT}", manifest.format)));
    }
    if let Some(t) = trusted
        && t.trim() != manifest.key
    {
        return Err(OfflineError::Untrusted { found: manifest.key.clone(), trusted: t.trim().to_owned() });
    }
    let key = manifest
        .key
        .strip_prefix("ed25519:")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| OfflineError::BadManifest("the key is not an Ed25519 public key".into()))?;
    let sig = hex::decode(String::from_utf8_lossy(sig).trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or(OfflineError::BadSignature)?;
    key.verify(json, &sig).map_err(|_| OfflineError::BadSignature)?;
    for f in &manifest.files {
        let b = files.get(&f.path).ok_or_else(|| OfflineError::Missing(f.path.clone()))?;
        if b.len() as u64 != f.bytes || sha256_hex(b) != f.sha256 {
            return Err(OfflineError::Changed(f.path.clone()));
        }
    }
    if let Some(extra) =
        files.keys().find(|p| *p != MANIFEST && *p != SIGNATURE && !manifest.files.iter().any(|f| &f.path == *p))
    {
        return Err(OfflineError::Extra(extra.clone()));
    }
    Ok(manifest)
}

/// A relative path made only of plain names (no `..`, no absolute path, no backslash).
pub fn safe_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(':'))
        && p.chars().all(|c| !c.is_control())
}

/// The copy as one ZIP (deflated), in the order given.
pub fn zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, OfflineError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        w.start_file(path.as_str(), opts).map_err(|e| OfflineError::Zip(e.to_string()))?;
        w.write_all(bytes).map_err(|e| OfflineError::Zip(e.to_string()))?;
    }
    Ok(w.finish().map_err(|e| OfflineError::Zip(e.to_string()))?.into_inner())
}

/// A ZIP read back into files, within the bounds above (a hostile archive cannot fill memory,
/// and a name that would climb out of the folder is refused).
pub fn unzip(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, OfflineError> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| OfflineError::Zip(e.to_string()))?;
    if z.len() > MAX_FILES {
        return Err(OfflineError::TooLarge);
    }
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..z.len() {
        let f = z.by_index(i).map_err(|e| OfflineError::Zip(e.to_string()))?;
        if f.is_dir() {
            continue;
        }
        let name = f.name().map_err(|e| OfflineError::Zip(e.to_string()))?.into_owned();
        if !safe_path(&name) {
            return Err(OfflineError::BadPath(name));
        }
        let mut b = Vec::new();
        f.take(MAX_FILE_BYTES + 1).read_to_end(&mut b).map_err(|e| OfflineError::Zip(e.to_string()))?;
        total += b.len() as u64;
        if b.len() as u64 > MAX_FILE_BYTES || total > MAX_TOTAL_BYTES {
            return Err(OfflineError::TooLarge);
        }
        out.insert(name, b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    fn sealed() -> (Vec<(String, Vec<u8>)>, String) {
        let key = SigningKey::from_bytes(&[7; 32]);
        let files = vec![
            ("index.html".to_owned(), b"<!doctype html><title>x</title>".to_vec()),
            ("files/contacts.csv".to_owned(), "Namn;Telefon\nIVA;010-100 20 00\n".as_bytes().to_vec()),
        ];
        let at = datetime!(2026-12-06 12:00 UTC);
        (seal(files, &key, 3, 1234, at, Some(at)), key_text(&key.verifying_key()))
    }

    #[test]
    fn a_sealed_copy_verifies_and_one_changed_byte_anywhere_does_not() {
        let (files, key) = sealed();
        let map: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
        let m = verify(&map, Some(&key)).unwrap();
        assert_eq!((m.node, m.applied_index, m.files.len()), (3, 1234, 2));
        assert!(verify(&map, None).is_ok());
        // Another cluster's key is not trusted.
        let other = key_text(&SigningKey::from_bytes(&[8; 32]).verifying_key());
        assert!(matches!(verify(&map, Some(&other)), Err(OfflineError::Untrusted { .. })));
        // One byte of a file, of the manifest, of the signature.
        let mut changed = map.clone();
        changed.get_mut("files/contacts.csv").unwrap()[5] ^= 1;
        assert!(matches!(verify(&changed, Some(&key)), Err(OfflineError::Changed(p)) if p == "files/contacts.csv"));
        let mut changed = map.clone();
        let m = changed.get_mut(MANIFEST).unwrap();
        // The applied index 1234 becomes 1235: the signature no longer matches.
        let at = m.windows(4).position(|w| w == b"1234").unwrap();
        m[at + 3] = b'5';
        assert!(matches!(verify(&changed, Some(&key)), Err(OfflineError::BadSignature)));
        let mut extra = map.clone();
        extra.insert("evil.html".into(), b"x".to_vec());
        assert!(matches!(verify(&extra, Some(&key)), Err(OfflineError::Extra(_))));
        let mut missing = map;
        missing.remove("index.html");
        assert!(matches!(verify(&missing, Some(&key)), Err(OfflineError::Missing(_))));
    }

    #[test]
    fn the_zip_reads_back_and_refuses_names_that_climb_out() {
        let (files, key) = sealed();
        let back = unzip(&zip(&files).unwrap()).unwrap();
        assert!(verify(&back, Some(&key)).is_ok());
        let evil = zip(&[("../etc/passwd".to_owned(), b"x".to_vec())]).unwrap();
        assert!(matches!(unzip(&evil), Err(OfflineError::BadPath(_))));
        assert!(unzip(b"not a zip").is_err());
        for p in ["a/../b", "/abs", "c:x", "a\\b", ""] {
            assert!(!safe_path(p), "{p}");
        }
        assert!(safe_path("files/orders/2026-000001.pdf"));
    }
}
