//! The local outbox: commands a node took while it could not reach a leader (only those
//! [`domain::Command::may_queue`] allows), kept in the node's own database with a synced write
//! before "queued here" is answered, and sent to the leader in the order taken once one is
//! reachable, each under the command id it was taken with, so that one that did reach the
//! cluster before (an answer lost on the way) is recognised and not applied twice.
//!
//! What became of each stays visible: landed, refused, or — for an edit whose record changed
//! meanwhile — a conflict that a person resolves (keep theirs, keep mine, merge lines).

use crate::server::Server;
use domain::command::LineFields;
use domain::rejection::Rejection;
use domain::state::StateViewExt;
use domain::{Command, CommandId, Envelope, OrderLine, Verdict};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use web::{Fate, Queued, Resolution, SubmitError};

/// How often the forwarder looks for a leader while something waits.
const PERIOD: Duration = Duration::from_millis(500);
/// Landed and dropped items stay listed this long, then go.
const KEEP_SETTLED: time::Duration = time::Duration::days(7);

fn storage(e: impl std::fmt::Display) -> SubmitError {
    SubmitError::Internal(format!("outbox: {e}"))
}

impl Server {
    /// Keeps `cmd` in the outbox, synced to disk, and wakes the forwarder.
    pub async fn queue(&self, id: CommandId, cmd: Command, actor: Option<String>) -> Result<Queued, SubmitError> {
        if !cmd.may_queue() {
            return Err(SubmitError::Internal(format!("a {} command cannot be queued", cmd.name())));
        }
        let store = self.outbox.clone();
        let mut item =
            Queued { seq: 0, id, cmd, actor, queued_at: OffsetDateTime::now_utc(), fate: Fate::Queued, attempts: 0 };
        let _guard = self.outbox_lock.lock().await;
        // The same command id queued twice (a double click, a client's retry) is one item.
        if let Some(same) = self.outbox_items()?.into_iter().find(|q| q.id == item.id) {
            return Ok(same);
        }
        let stored = item.clone();
        item.seq = tokio::task::spawn_blocking(move || store.push(&stored)).await.map_err(storage)?.map_err(storage)?;
        // The number is known only once stored; write it into the item too.
        self.put_item(&item).await?;
        tracing::info!(seq = item.seq, id = %item.id, "queued in the local outbox");
        self.outbox_wake.notify_one();
        Ok(item)
    }

    /// Every item, oldest first.
    pub fn outbox_items(&self) -> Result<Vec<Queued>, SubmitError> {
        Ok(self.outbox.list::<Queued>().map_err(storage)?.into_iter().map(|(_, q)| q).collect())
    }

    async fn put_item(&self, item: &Queued) -> Result<(), SubmitError> {
        let (store, item) = (self.outbox.clone(), item.clone());
        tokio::task::spawn_blocking(move || store.put(item.seq, &item)).await.map_err(storage)?.map_err(storage)
    }

    /// A person's answer to a conflict or a refusal.
    pub async fn resolve(&self, seq: u64, how: Resolution, actor: Option<String>) -> Result<Queued, SubmitError> {
        let _guard = self.outbox_lock.lock().await;
        let mut item = self
            .outbox_items()?
            .into_iter()
            .find(|q| q.seq == seq)
            .ok_or_else(|| SubmitError::Internal(format!("no item {seq} in the outbox")))?;
        let now = OffsetDateTime::now_utc();
        match (&item.fate, how) {
            (Fate::Conflict { .. } | Fate::Refused { .. } | Fate::Queued, Resolution::KeepTheirs) => {
                item.fate = Fate::Dropped { by: actor, at: now };
            }
            (Fate::Conflict { current_version, .. }, Resolution::KeepMine | Resolution::MergeLines) => {
                let Command::UpdateOrder { fields, .. } = &item.cmd else {
                    return Err(SubmitError::Internal("only an order edit can be kept or merged".into()));
                };
                let mut fields = fields.clone();
                if how == Resolution::MergeLines {
                    let current = self.view.order(&fields.id).map_err(storage)?;
                    fields.lines = merge_lines(current.map(|o| o.lines).unwrap_or_default(), fields.lines);
                }
                item.cmd = Command::UpdateOrder { expected_version: *current_version, fields };
                // A new decision is a new command: the cluster has seen the old id already.
                item.id = CommandId::new(format!("{}:{}", item.id, item.attempts + 1));
                item.fate = Fate::Queued;
            }
            (fate, how) => {
                return Err(SubmitError::Internal(format!("item {seq} is {}: cannot {how:?}", fate.code())));
            }
        }
        self.put_item(&item).await?;
        self.outbox_wake.notify_one();
        Ok(item)
    }

    /// Forwards waiting items whenever a leader is known; runs for the node's lifetime.
    pub fn spawn_outbox_forwarder(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(PERIOD, me.outbox_wake.notified()).await;
                if let Err(e) = me.forward_outbox().await {
                    tracing::warn!("outbox: {e}");
                }
            }
        });
    }

    /// One pass: sends waiting items in order and stops at the first that finds no leader.
    async fn forward_outbox(&self) -> Result<(), SubmitError> {
        let items = self.outbox_items()?;
        let now = OffsetDateTime::now_utc();
        for item in &items {
            let settled_at = match &item.fate {
                Fate::Landed { at, .. } | Fate::Dropped { at, .. } => Some(*at),
                _ => None,
            };
            if settled_at.is_some_and(|at| now - at > KEEP_SETTLED) {
                let store = self.outbox.clone();
                let seq = item.seq;
                tokio::task::spawn_blocking(move || store.remove(seq)).await.map_err(storage)?.map_err(storage)?;
            }
        }
        for item in items.into_iter().filter(|q| q.fate == Fate::Queued) {
            if self.raft.metrics().borrow().current_leader.is_none() {
                return Ok(());
            }
            // Sent with the time it was taken: an order placed at 10:02 while cut off says so.
            let env = Envelope {
                id: item.id.clone(),
                at: item.queued_at,
                origin: self.id,
                actor: item.actor.clone(),
                cmd: item.cmd.clone(),
            };
            let res = self.submit_envelope(env).await;
            let _guard = self.outbox_lock.lock().await;
            // A person may have answered meanwhile; their answer stands.
            let Some(mut current) = self.outbox_items()?.into_iter().find(|q| q.seq == item.seq) else { continue };
            if current.id != item.id || current.fate != Fate::Queued {
                continue;
            }
            current.attempts += 1;
            let stop = match res {
                Ok(s) => {
                    current.fate = fate_of(s.verdict, s.log_index);
                    false
                }
                Err(SubmitError::Internal(e)) => {
                    current.fate = Fate::Refused { code: "internal".into(), message: e };
                    false
                }
                // No leader after all, or no answer: keep it, and the order behind it.
                Err(_) => true,
            };
            tracing::info!(seq = current.seq, id = %current.id, fate = current.fate.code(), "outbox item sent");
            self.put_item(&current).await?;
            if stop {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// What the cluster's answer means for a queued item.
fn fate_of(verdict: Verdict, log_index: u64) -> Fate {
    let at = OffsetDateTime::now_utc();
    match verdict {
        Verdict::Applied { id, .. } => Fate::Landed { log_index, record: id, at },
        Verdict::Nothing => Fate::Landed { log_index, record: String::new(), at },
        Verdict::Rejected { rejection: Rejection::VersionConflict { actual, .. } } => {
            Fate::Conflict { message: "changed by someone else meanwhile".into(), current_version: actual }
        }
        Verdict::Rejected { rejection } => Fate::Refused { code: rejection.code(), message: rejection.to_string() },
    }
}

/// The current lines with mine merged in: a line for the same article takes the current one's
/// place, new articles are added at the end.
fn merge_lines(current: Vec<OrderLine>, mine: Vec<LineFields>) -> Vec<LineFields> {
    let mut out: Vec<LineFields> = current
        .into_iter()
        .map(|l| LineFields { article_id: l.article_id, quantity: l.quantity, note: l.note })
        .collect();
    for l in mine {
        match out.iter_mut().find(|c| c.article_id == l.article_id) {
            Some(c) => *c = l,
            None => out.push(l),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theirs(line_no: u32, article: &str, quantity: u32) -> OrderLine {
        OrderLine { line_no, article_id: domain::ArticleId::new(article), quantity, note: None, received: 0 }
    }

    fn mine(article: &str, quantity: u32) -> LineFields {
        LineFields { article_id: domain::ArticleId::new(article), quantity, note: None }
    }

    #[test]
    fn merged_lines_keep_theirs_and_take_mine_per_article() {
        let got = merge_lines(vec![theirs(1, "a", 1), theirs(2, "b", 2)], vec![mine("b", 5), mine("c", 3)]);
        let got: Vec<(String, u32)> = got.iter().map(|l| (l.article_id.to_string(), l.quantity)).collect();
        assert_eq!(got, [("a".to_owned(), 1), ("b".to_owned(), 5), ("c".to_owned(), 3)]);
    }
}
