//! This node's access log: logins, failed logins, logouts, refused tokens and the operators'
//! gRPC calls that change the cluster, one JSON line each in `<data_dir>/access.log` (mode 0600),
//! rolled to `access.log.1` at 8 MB so a flood of refused attempts cannot fill the disk; the
//! admin's audit page shows the node it is served by.
//!
//! Each line also goes into the replicated audit trail (`RecordAccess`, the cluster's own
//! command) when a leader answers; without one the local line is all there is. Failed logins and
//! refused tokens come from strangers, so a node replicates at most [`FAILURES_PER_MINUTE`] of
//! them a minute: beyond that they stay local, and the next one that goes out is preceded by a
//! line saying how many did not, so a flood of guesses cannot flood the log.

use std::io::{BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;
use web::AccessEvent;

/// Size at which the log is rolled over.
const MAX_BYTES: u64 = 8 << 20;

/// Lines waiting to go into the audit trail; beyond this they stay local only.
pub const QUEUE: usize = 1024;

/// Failed logins and refused tokens a node sends into the audit trail per minute at the most.
pub const FAILURES_PER_MINUTE: u32 = 30;

pub struct AccessLog {
    path: PathBuf,
    lock: Mutex<()>,
    failures: Mutex<Budget>,
}

/// This minute's allowance of replicated failures, and how many were kept local.
struct Budget {
    since: std::time::Instant,
    used: u32,
    local_only: u32,
}

/// Whether a line goes into the audit trail.
#[derive(Debug, PartialEq, Eq)]
pub enum Replicate {
    No,
    Yes,
    /// Yes, after a line saying that this many failures before it stayed local.
    AfterSkipped(u32),
}

impl AccessLog {
    pub fn new(data_dir: &std::path::Path) -> Self {
        let budget = Budget { since: std::time::Instant::now(), used: 0, local_only: 0 };
        Self { path: data_dir.join("access.log"), lock: Mutex::new(()), failures: Mutex::new(budget) }
    }

    /// Whether `event` goes into the audit trail: always for logins, logouts and operator
    /// calls; for a stranger's failures, only within this minute's allowance.
    pub fn replicate(&self, event: &str, now: std::time::Instant) -> Replicate {
        if !matches!(event, "login_failed" | "token_refused") {
            return Replicate::Yes;
        }
        let mut b = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if now.duration_since(b.since) >= std::time::Duration::from_secs(60) {
            b.since = now;
            b.used = 0;
        }
        if b.used >= FAILURES_PER_MINUTE {
            b.local_only += 1;
            return Replicate::No;
        }
        b.used += 1;
        match std::mem::take(&mut b.local_only) {
            0 => Replicate::Yes,
            n => Replicate::AfterSkipped(n),
        }
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

/// `s` without control characters, at most 64 characters (what `RecordAccess` carries).
fn field(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

impl crate::server::Server {
    /// Records one access line here and queues it for the audit trail (see the module doc).
    pub(crate) fn record_access_line(&self, e: AccessEvent) {
        self.access.record(&e);
        let skipped = match self.access.replicate(&e.event, std::time::Instant::now()) {
            Replicate::No => return,
            Replicate::Yes => None,
            Replicate::AfterSkipped(n) => Some(AccessEvent {
                at: e.at,
                event: "failures_local_only".into(),
                user: String::new(),
                via: n.to_string(),
                client: String::new(),
            }),
        };
        for line in skipped.into_iter().chain([e]) {
            if self.access_tx.try_send(line).is_err() {
                tracing::warn!("the audit trail is not keeping up; this line is in the node's access log only");
            }
        }
    }

    /// Records a gRPC call that changes the cluster (membership, backups, drills) with the
    /// certificate that made it.
    pub(crate) fn record_call(&self, caller: &crate::server::peers::Caller, call: &str, detail: &str) {
        tracing::info!(target: "beredd::audit", call, subject = %caller.subject, role = caller.role.as_str(), detail, "gRPC call");
        self.record_access_line(AccessEvent {
            at: time::OffsetDateTime::now_utc(),
            event: "grpc_call".into(),
            user: field(&caller.subject),
            via: field(format!("{call} {detail}").trim()),
            client: caller.client.clone(),
        });
    }

    /// Sends queued access lines into the log, one at a time.
    pub(crate) fn spawn_access_recorder(self: &std::sync::Arc<Self>, mut rx: tokio::sync::mpsc::Receiver<AccessEvent>) {
        let me = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let Some(server) = me.upgrade() else { return };
                let cmd = domain::Command::RecordAccess { event: e.event, user: e.user, via: e.via, client: e.client };
                let id = domain::CommandId::new(format!("access:{}", uuid::Uuid::new_v4()));
                if let Err(err) = server.submit(id, cmd, None).await {
                    tracing::info!("an access line stays in this node's access log only (no leader: {err})");
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

    #[test]
    fn a_flood_of_failed_logins_reaches_the_audit_trail_only_up_to_the_allowance() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = AccessLog::new(dir.path());
        let t0 = std::time::Instant::now();
        let sent = (0..100).filter(|_| log.replicate("login_failed", t0) != Replicate::No).count();
        assert_eq!(sent, FAILURES_PER_MINUTE as usize);
        // Logins, logouts and operator calls are never held back.
        assert_eq!(log.replicate("login", t0), Replicate::Yes);
        assert_eq!(log.replicate("grpc_call", t0), Replicate::Yes);
        // A minute on, the next failure goes out after a line counting the ones that did not.
        let later = t0 + std::time::Duration::from_secs(61);
        assert_eq!(log.replicate("token_refused", later), Replicate::AfterSkipped(70));
        assert_eq!(log.replicate("login_failed", later), Replicate::Yes);
    }
}
