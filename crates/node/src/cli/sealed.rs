//! Backups leave the node encrypted with age (age-encryption.org/v1): they hold every
//! account's password hash, the session-signing keys and webhook secrets, and they travel on
//! USB sticks. `beredd backup` encrypts to one or more age recipients (`beredd backup-key` makes
//! a key pair) or to a passphrase read from a file; `--unencrypted` must be asked for by name.
//! `beredd restore` and `beredd import` decrypt with an identity file or the passphrase, into a
//! temporary file (mode 0600) that is removed when they are done. Unencrypted backups still
//! open, so older files keep working.

use anyhow::{Context, Result, anyhow, bail};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How `beredd backup` seals the file it writes.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct SealArgs {
    /// An age recipient (`age1…`, from `beredd backup-key`) that may open the backup;
    /// repeatable.
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    /// Encrypt with the passphrase in this file (its first line) instead.
    #[arg(long, conflicts_with = "recipients")]
    pub passphrase_file: Option<PathBuf>,
    /// Write the backup unencrypted (it then holds password hashes and keys in the clear).
    #[arg(long, conflicts_with_all = ["recipients", "passphrase_file"])]
    pub unencrypted: bool,
}

/// How `beredd restore`/`import` open an encrypted backup.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct OpenArgs {
    /// An age identity file (from `beredd backup-key`); repeatable.
    #[arg(long = "identity")]
    pub identities: Vec<PathBuf>,
    /// The passphrase file the backup was encrypted with.
    #[arg(long = "passphrase-file")]
    pub passphrase_file: Option<PathBuf>,
}

const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

fn passphrase(path: &Path) -> Result<age::secrecy::SecretString> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim_end().to_owned();
    if line.chars().count() < 12 {
        bail!("the passphrase in {} is shorter than 12 characters", path.display());
    }
    Ok(line.into())
}

/// A new file with mode 0600 (never readable by others, not even for a moment).
pub fn private_file(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

impl SealArgs {
    /// Refuses to go on without a way to encrypt, unless `--unencrypted` was given.
    pub fn check(&self) -> Result<()> {
        if self.recipients.is_empty() && self.passphrase_file.is_none() && !self.unencrypted {
            bail!(
                "backups are encrypted: give --recipient age1… (make a key pair with `beredd backup-key --out FILE`) \
                 or --passphrase-file FILE; --unencrypted writes password hashes and keys in the clear"
            );
        }
        for r in &self.recipients {
            r.parse::<age::x25519::Recipient>()
                .map_err(|e| anyhow!("--recipient {r:?} is not an age recipient: {e}"))?;
        }
        Ok(())
    }

    /// Writes `plain` to `out` (a new file, mode 0600), encrypted as asked.
    pub fn seal(&self, plain: &Path, out: &Path) -> Result<()> {
        let mut input = std::fs::File::open(plain).with_context(|| format!("reading {}", plain.display()))?;
        let mut file = private_file(out)?;
        if self.unencrypted {
            std::io::copy(&mut input, &mut file)?;
            return file.sync_all().context("writing the backup");
        }
        let encryptor = if let Some(p) = &self.passphrase_file {
            age::Encryptor::with_user_passphrase(passphrase(p)?)
        } else {
            let recipients: Vec<age::x25519::Recipient> =
                self.recipients.iter().map(|r| r.parse().map_err(|e| anyhow!("{e}"))).collect::<Result<_>>()?;
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| anyhow!("encrypting: {e}"))?
        };
        let mut w = encryptor.wrap_output(&mut file).context("encrypting the backup")?;
        std::io::copy(&mut input, &mut w).context("encrypting the backup")?;
        w.finish().context("encrypting the backup")?;
        file.sync_all().context("writing the backup")
    }
}

/// A backup ready to read: the file itself, or a decrypted copy removed on drop.
pub struct Opened {
    path: PathBuf,
    temporary: bool,
}

impl Opened {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl OpenArgs {
    /// `file` as a plain backup: itself when not encrypted, else a decrypted temporary copy.
    pub fn open(&self, file: &Path) -> Result<Opened> {
        let mut head = [0u8; 21];
        let n = std::fs::File::open(file)
            .and_then(|mut f| f.read(&mut head))
            .with_context(|| format!("reading {}", file.display()))?;
        if &head[..n] != AGE_MAGIC {
            return Ok(Opened { path: file.to_owned(), temporary: false });
        }
        let input = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
        let decryptor = age::Decryptor::new(std::io::BufReader::new(input))
            .map_err(|e| anyhow!("{} is not a readable age file: {e}", file.display()))?;
        let mut identities: Vec<Box<dyn age::Identity>> = Vec::new();
        for path in &self.identities {
            let f = age::IdentityFile::from_file(path.display().to_string())
                .with_context(|| format!("reading the identity file {}", path.display()))?;
            identities.extend(f.into_identities().map_err(|e| anyhow!("{}: {e}", path.display()))?);
        }
        if let Some(p) = &self.passphrase_file {
            identities.push(Box::new(age::scrypt::Identity::new(passphrase(p)?)));
        }
        if identities.is_empty() {
            bail!("{} is encrypted: give --identity FILE or --passphrase-file FILE", file.display());
        }
        let damaged = |e: &dyn std::fmt::Display| {
            anyhow!(
                "{} is damaged, or was not encrypted for the given key or passphrase ({e}); nothing was changed",
                file.display()
            )
        };
        let mut reader =
            decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| damaged(&e))?;
        let path = std::env::temp_dir().join(format!("beredd-restore-{}.brd", uuid::Uuid::new_v4()));
        let opened = Opened { path, temporary: true };
        let mut out = private_file(opened.path())?;
        std::io::copy(&mut reader, &mut out).map_err(|e| damaged(&e))?;
        out.flush()?;
        Ok(opened)
    }
}

/// `beredd backup-key --out FILE`: a new age identity in FILE (mode 0600); prints its recipient.
pub fn new_key(out: &Path) -> Result<String> {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let mut f = private_file(out)?;
    writeln!(f, "# beredd backup key, made {}", time::OffsetDateTime::now_utc().date())?;
    writeln!(f, "# public key (give it to `beredd backup --recipient`): {recipient}")?;
    writeln!(f, "{}", identity.to_string().expose_secret())?;
    f.sync_all()?;
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_backup_opens_only_with_its_key_and_the_clear_copy_goes_away() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let plain = dir.path().join("plain.brd");
        std::fs::write(&plain, b"BEREDD-BACKUP secret hashes").unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("key.txt");
        let recipient = new_key(&key).unwrap_or_else(|e| panic!("{e:#}"));
        let sealed = dir.path().join("sealed.brd");
        let seal = SealArgs { recipients: vec![recipient], ..SealArgs::default() };
        seal.seal(&plain, &sealed).unwrap_or_else(|e| panic!("{e:#}"));
        let bytes = std::fs::read(&sealed).unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(AGE_MAGIC));
        assert!(!bytes.windows(6).any(|w| w == b"secret"), "nothing in the clear");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sealed).map(|m| m.permissions().mode() & 0o777).ok();
        assert_eq!(mode, Some(0o600));

        let err = OpenArgs::default().open(&sealed).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(err.contains("--identity"), "{err}");
        let other = dir.path().join("other.txt");
        new_key(&other).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(OpenArgs { identities: vec![other], ..OpenArgs::default() }.open(&sealed).is_err());
        let temp = {
            let opened = OpenArgs { identities: vec![key], ..OpenArgs::default() }
                .open(&sealed)
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(std::fs::read(opened.path()).ok().as_deref(), Some(&b"BEREDD-BACKUP secret hashes"[..]));
            opened.path().to_owned()
        };
        assert!(!temp.exists(), "the decrypted copy is removed");
        // A plain (older) backup opens as it is.
        assert_eq!(OpenArgs::default().open(&plain).map(|o| o.path().to_owned()).ok(), Some(plain));
        assert!(SealArgs::default().check().is_err(), "no silent unencrypted backups");
    }
}
