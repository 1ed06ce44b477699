//! This node's access log: logins, failed logins, logouts and refused tokens, one JSON line
//! each in `<data_dir>/access.log` (mode 0600). Logins are not replicated (they work without
//! quorum, and a stranger's failed attempts must not become cluster log entries), so each node
//! keeps its own; the admin's audit page shows the node it is served by. The file is rolled to
//! `access.log.1` at 8 MB, so a flood of refused attempts cannot fill the disk.

use std::io::{BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use web::AccessEvent;

/// Size at which the log is rolled over.
const MAX_BYTES: u64 = 8 << 20;

pub struct AccessLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl AccessLog {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self { path: data_dir.join("access.log"), lock: Mutex::new(()) }
    }

    /// Appends one line; a failure to write is logged, never fatal for the request.
    pub fn record(&self, e: &AccessEvent) {
        tracing::info!(target: "beredd::audit", event = %e.event, user = %e.user, via = %e.via, client = %e.client, "access");
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = self.append(e) {
            tracing::warn!("writing {}: {err}", self.path.display());
        }
    }

    fn append(&self, e: &AccessEvent) -> std::io::Result<()> {
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > MAX_BYTES) {
            std::fs::rename(&self.path, self.path.with_extension("log.1"))?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&self.path)?;
        let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        line.push(b'\n');
        f.write_all(&line)
    }

    /// The newest `limit` lines, newest first.
    pub fn newest(&self, limit: usize) -> Vec<AccessEvent> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(f) = std::fs::File::open(&self.path) else { return Vec::new() };
        let mut all: Vec<AccessEvent> =
            std::io::BufReader::new(f).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect();
        all.reverse();
        all.truncate(limit);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_back_newest_first_from_a_file_only_the_node_may_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = AccessLog::new(dir.path());
        for (i, event) in ["login_failed", "login", "logout"].into_iter().enumerate() {
            log.record(&AccessEvent::now(event, &format!("anna{i}"), "password", None));
        }
        let got: Vec<String> = log.newest(2).into_iter().map(|e| e.event).collect();
        assert_eq!(got, ["logout", "login"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("access.log")).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
}
