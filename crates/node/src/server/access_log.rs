//! This node's access log: logins, failed logins, logouts and refused tokens, one JSON line
//! each in `<data_dir>/access.log` (mode 0600), rolled to `access.log.1` at 8 MB so a flood of
//! refused attempts cannot fill the disk; the admin's audit page shows the node it is served
//! by. Successful logins and logouts also go into the replicated audit trail
//! (`RecordAccess`, the cluster's own command) when a leader answers; without one the local line
//! is all there is. Failed logins and refused tokens stay local: a stranger's attempts must not
//! become cluster log entries.

use std::io::{BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use web::AccessEvent;

/// Size at which the log is rolled over.
const MAX_BYTES: u64 = 8 << 20;

/// Logins waiting to go into the audit trail; beyond this they stay local only.
pub const QUEUE: usize = 1024;

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
        let mut all: Vec<AccessEvent> = std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        all.reverse();
        all.truncate(limit);
        all
    }
}

impl crate::server::Server {
    /// Queues a login or logout for the audit trail (dropped, with the local line kept, when the
    /// queue is full).
    pub(crate) fn replicate_access(&self, e: AccessEvent) {
        if matches!(e.event.as_str(), "login" | "logout") && self.access_tx.try_send(e).is_err() {
            tracing::warn!("the audit trail is not keeping up with logins; this one is in the node's access log only");
        }
    }

    /// Sends queued logins and logouts into the log, one at a time.
    pub(crate) fn spawn_access_recorder(self: &std::sync::Arc<Self>, mut rx: tokio::sync::mpsc::Receiver<AccessEvent>) {
        let me = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let Some(server) = me.upgrade() else { return };
                let cmd = domain::Command::RecordAccess { event: e.event, user: e.user, via: e.via, client: e.client };
                let id = domain::CommandId::new(format!("access:{}", uuid::Uuid::new_v4()));
                if let Err(err) = server.submit(id, cmd, None).await {
                    tracing::info!("a login stays in this node's access log only (no leader: {err})");
                }
            }
        });
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
