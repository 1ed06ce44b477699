//! The node's own offline copies (issue 22): with `[offline_copy]`, every `every_minutes` the
//! node makes the copy from its own state — with or without a majority; the manifest says how
//! fresh it is — and writes it to the configured folder, replacing the old one in one step.

use super::Server;
use std::sync::Arc;
use std::time::Duration;

/// How soon a failed copy is tried again.
const RETRY: Duration = Duration::from_secs(30);

impl Server {
    pub(crate) fn spawn_offline_copies(self: &Arc<Self>) {
        let Some(cfg) = self.cfg.offline_copy.clone() else { return };
        let target = cfg.dir.join(format!("beredd-offline-node{}", self.id));
        let every = Duration::from_secs(u64::from(cfg.every_minutes) * 60);
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            // The first soon after start (once the state is loaded), then on the schedule.
            let mut wait = Duration::from_secs(5);
            loop {
                tokio::time::sleep(wait).await;
                let Some(server) = me.upgrade() else { return };
                let target = target.clone();
                let made = tokio::task::spawn_blocking(move || {
                    let now = time::OffsetDateTime::now_utc();
                    let files = web::offline_copy(server.as_ref(), now).map_err(|e| e.message)?;
                    crate::offline::write(&target, &files).map_err(|e| format!("{e:#}"))?;
                    Ok::<_, String>((target, files.len()))
                })
                .await;
                // After a failure (no session key yet, the stick pulled out) it tries again soon.
                wait = every.min(RETRY);
                match made {
                    Ok(Ok((path, n))) => {
                        wait = every;
                        tracing::info!(files = n, "offline copy written to {}", path.display());
                    }
                    Ok(Err(e)) => tracing::warn!("writing the offline copy: {e}"),
                    Err(e) => tracing::warn!("writing the offline copy: {e}"),
                }
            }
        });
    }
}
