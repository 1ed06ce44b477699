//! Keeps the command replies bounded: the leader forgets those older than
//! `write.dedup_retention_days` (by the audit trail's clock), a few hundred per tick, through
//! [`domain::Command::ForgetCommands`] so that every node forgets the same ones. Without it
//! every command ever made would stay in the state and in every snapshot.

use crate::server::Server;
use domain::nodes::{MAX_FORGET, expired_commands, index_at};
use domain::{Command, CommandId};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const TICK: Duration = Duration::from_secs(10);
/// Command records read per tick.
const SCAN: usize = 2000;

/// Where a sweep through the command table stands.
#[derive(Default)]
struct Sweep {
    /// Commands below this log index are old enough (fixed for one sweep).
    below: Option<u64>,
    /// The last command id read.
    after: Option<String>,
}

impl Server {
    pub(crate) fn spawn_forgetter(self: &Arc<Self>) {
        let days = self.cfg.write.dedup_retention_days;
        if days == 0 {
            return;
        }
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut sweep = Sweep::default();
            loop {
                tokio::time::sleep(TICK).await;
                let Some(server) = me.upgrade() else { return };
                if !server.leads() {
                    sweep = Sweep::default();
                    continue;
                }
                if let Err(e) = server.forget_some(&mut sweep, days).await {
                    tracing::warn!("forgetting old command replies: {e}");
                    sweep = Sweep::default();
                }
            }
        });
    }

    async fn forget_some(&self, sweep: &mut Sweep, days: u32) -> Result<(), String> {
        let view = self.view.clone();
        let (below, after) = (sweep.below, sweep.after.clone());
        let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        let (below, ids, next) = tokio::task::spawn_blocking(move || {
            let below = match below {
                Some(b) => b,
                None => index_at(&view, cutoff)?,
            };
            let (ids, next) = expired_commands(&view, below, after.as_deref(), SCAN)?;
            Ok::<_, domain::StateError>((below, ids, next))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        // At the end of the table the next sweep starts over, with a new cutoff.
        *sweep = Sweep { below: next.is_some().then_some(below), after: next };
        for chunk in ids.chunks(MAX_FORGET) {
            let Some(first) = chunk.first() else { continue };
            let id = CommandId::new(format!("forget:{below}:{first}"));
            let cmd = Command::ForgetCommands { below_index: below, ids: chunk.to_vec() };
            self.submit(id, cmd, None).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
