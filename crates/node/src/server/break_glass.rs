//! Break-glass recovery from `/ops`: a node that has been without a majority for longer than
//! `cluster.break_glass_after_s` may be made the only voter of a new cluster, once two different
//! ops or admin accounts have confirmed it on this node.
//!
//! Nothing here can go through the log (there is no majority to commit it), so the
//! confirmations are this node's own, kept in `DATA/break-glass.json` (written whole and synced,
//! so a restart in between loses none). After the second, the node stops Raft, notes the
//! decision in that file and executes itself again (same process id, same arguments as
//! `beredd serve --config …`); the new process finds the decision before it opens its database
//! and runs the same steps as `beredd recover --force-new-cluster` (`raft_store::force_new_cluster`),
//! which apply `Command::ForceNewCluster` naming both accounts. The old members, retired by it,
//! are refused when they come back (see `raft_service`).

use super::Server;
use crate::config::Config;
use anyhow::{Context, Result};
use raft_store::NodeAddr;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;
use web::{BreakGlass, BreakGlassConfirmation, BreakGlassFounding, BreakGlassStep};

/// A first confirmation older than this no longer counts: the second must follow while both
/// people look at the same situation.
const CONFIRMATION_VALID: Duration = Duration::from_secs(30 * 60);

const FILE: &str = "break-glass.json";

/// What this node keeps on its own disk about break-glass recovery.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Ledger {
    /// The first confirmation, waiting for a second account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<BreakGlassConfirmation>,
    /// Both confirmed: force the new cluster before opening the database (cleared once done).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    decided: Vec<String>,
    /// The last forced new cluster made here from `/ops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    founded: Option<BreakGlassFounding>,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// The ledger in `data_dir` (empty when there is none yet).
fn load(data_dir: &Path) -> Result<Ledger> {
    let p = path(data_dir);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Writes the ledger to a temporary file, syncs it and renames it into place.
fn store(data_dir: &Path, ledger: &Ledger) -> Result<()> {
    use std::io::Write;
    let p = path(data_dir);
    let tmp = p.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(ledger)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))?;
    std::fs::File::open(data_dir)?.sync_all()?;
    Ok(())
}

/// Before the database opens: carries out a forced new cluster two accounts decided on before
/// this process started, and logs what it did (the node then starts as the only voter).
/// Returns the ledger the node starts with.
pub fn carry_out_decision(cfg: &Config) -> Result<Ledger> {
    let dir = &cfg.node.data_dir;
    let mut ledger = load(dir)?;
    if ledger.decided.is_empty() {
        return Ok(ledger);
    }
    let by = ledger.decided.clone();
    tracing::warn!(confirmed_by = ?by, "forcing a new cluster on this node, as confirmed on /ops");
    let confirmed = raft_store::Confirmed { actor: by.last().cloned(), by: by.clone() };
    let addr = NodeAddr { http: cfg.http.advertise.clone(), grpc: cfg.grpc.advertise.clone() };
    let mut last_logged = std::time::Instant::now();
    let f = raft_store::force_new_cluster(dir, cfg.node.id, addr, &confirmed, &mut |done, of| {
        if last_logged.elapsed() > Duration::from_secs(2) || done == of {
            tracing::info!(done, of, "replaying the log");
            last_logged = std::time::Instant::now();
        }
    })
    .context(
        "forcing a new cluster (the decision stays in break-glass.json; the node tries again at its next start)",
    )?;
    tracing::warn!(
        retired = ?f.retired,
        replayed = f.replayed,
        beyond_commit = f.beyond_commit,
        index = f.log_id.index,
        "this node is now the only voter of a new cluster; the old members' ids are retired"
    );
    ledger.decided.clear();
    ledger.pending = None;
    ledger.founded = Some(BreakGlassFounding {
        at: OffsetDateTime::now_utc(),
        confirmed_by: by,
        retired: f.retired,
        log_index: f.log_id.index,
    });
    store(dir, &ledger)?;
    Ok(ledger)
}

impl Server {
    /// How long this node has been without a majority; `None` while it has one.
    fn majority_lost_ms(&self) -> Option<u64> {
        let st = self.status();
        if st.quorum {
            return None;
        }
        // Never in touch since it started: as long as it has run.
        Some(st.millis_since_quorum.unwrap_or_else(|| self.contact.millis_since_start()))
    }

    /// Break-glass recovery as `/ops` shows it.
    pub fn break_glass(&self) -> BreakGlass {
        let ledger = self.break_glass_lock().clone();
        let pending = ledger.pending.filter(|c| !expired(c));
        BreakGlass {
            majority_lost_ms: self.majority_lost_ms(),
            after_ms: self.cfg.cluster.break_glass_after_s.saturating_mul(1000),
            pending,
            founded: ledger.founded,
            running: !ledger.decided.is_empty(),
        }
    }

    fn break_glass_lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.break_glass.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One account confirms. The first waits for a second, different account; the second makes
    /// the node force the new cluster (it stops Raft and restarts itself a moment later).
    pub fn confirm_break_glass(&self, account: &str) -> Result<BreakGlassStep, String> {
        let mut ledger = self.break_glass_lock();
        if !ledger.decided.is_empty() {
            return Err("this node is already becoming a new cluster; it restarts itself".into());
        }
        let after = self.cfg.cluster.break_glass_after_s;
        match self.majority_lost_ms() {
            None => {
                return Err("this node is in touch with a majority of the cluster: nothing needs forcing".into());
            }
            Some(ms) if ms < after.saturating_mul(1000) => {
                return Err(format!(
                    "this node has been without a majority for {} s; a new cluster may be forced here after {after} s \
                     (the others may still come back)",
                    ms / 1000
                ));
            }
            Some(_) => {}
        }
        let now = OffsetDateTime::now_utc();
        let first = ledger.pending.clone().filter(|c| !expired(c));
        let mut next = ledger.clone();
        let step = match first {
            Some(c) if c.account == account => {
                return Err(format!(
                    "you confirmed already at {}; a second, different ops or admin account must confirm",
                    c.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
                ));
            }
            Some(c) => {
                next.pending = None;
                next.decided = vec![c.account, account.to_owned()];
                BreakGlassStep::Started
            }
            None => {
                next.pending = Some(BreakGlassConfirmation { account: account.to_owned(), at: now });
                BreakGlassStep::Waiting
            }
        };
        store(&self.cfg.node.data_dir, &next).map_err(|e| format!("{e:#}"))?;
        *ledger = next;
        tracing::warn!(account, ?step, "break-glass recovery confirmed on /ops");
        if step == BreakGlassStep::Started {
            self.stop_tx.send_replace(Some(super::Stop::ForceNewCluster));
        }
        Ok(step)
    }

    /// Withdraws the waiting first confirmation (any ops or admin account may).
    pub fn withdraw_break_glass(&self, account: &str) -> Result<(), String> {
        let mut ledger = self.break_glass_lock();
        if ledger.pending.is_none() || !ledger.decided.is_empty() {
            return Err("there is no confirmation to withdraw".into());
        }
        let mut next = ledger.clone();
        next.pending = None;
        store(&self.cfg.node.data_dir, &next).map_err(|e| format!("{e:#}"))?;
        *ledger = next;
        tracing::warn!(account, "break-glass confirmation withdrawn on /ops");
        Ok(())
    }
}

fn expired(c: &BreakGlassConfirmation) -> bool {
    OffsetDateTime::now_utc() - c.at > CONFIRMATION_VALID
}

/// Replaces this process with a fresh `beredd serve --config FILE` (same process id, same
/// environment), which carries out the decision before it opens the database.
pub fn exec_serve(config: &Path) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return anyhow::Error::new(e).context("finding the beredd binary"),
    };
    tracing::warn!(exe = %exe.display(), config = %config.display(), "restarting this node as a new cluster");
    let err = std::process::Command::new(&exe).arg("serve").arg("--config").arg(config).exec();
    anyhow::Error::new(err).context(format!("restarting {}", exe.display()))
}
