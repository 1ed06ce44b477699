//! Group commit on the leader: commands that arrive while earlier proposals are still being
//! written and replicated go into one log entry together, so that one fsync on each node, one
//! AppendEntries and one apply serve all of them. Each command keeps its own verdict, dedup
//! record and audit line (see `raft_store::Batch`). Forwarded writes from followers come here
//! too.
//!
//! At most [`IN_FLIGHT`] proposals are outstanding; the window of a batch is the time the one
//! before it takes, so a lone client never waits for a timer.

use domain::{Envelope, Verdict};
use openraft::error::{ClientWriteError, RaftError};
use raft_store::{Batch, Raft};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Proposals in flight at once. One makes every command that arrives meanwhile join the next
/// batch; on the 2-core bench machine two (the next batch written while the last one is
/// replicated) gave smaller batches and less throughput: 3,488 against 2,995 writes/s at 64
/// clients, 1,144 against 1,022 at 8 (BENCHMARKS.md, issue 19).
const IN_FLIGHT: usize = 1;
/// Commands per entry at most (each is bounded by the HTTP and gRPC body limits).
const MAX_BATCH: usize = 128;
/// Commands waiting for a proposal at most; more wait to be queued (back-pressure).
const QUEUE: usize = 4096;

/// What the leader decided about one command.
pub(crate) struct Proposed {
    pub verdict: Verdict,
    pub log_index: u64,
}

pub(crate) enum ProposeError {
    /// This node is not (or no longer) the leader: nothing was proposed.
    NotLeader,
    /// Raft failed; the command may or may not have been committed.
    Failed(String),
}

struct Job {
    env: Envelope,
    reply: oneshot::Sender<Result<Proposed, ProposeError>>,
}

#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub fn start(raft: Raft) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(raft, rx));
        Self { tx }
    }

    /// Proposes `env` in the next batch and waits for its verdict.
    pub async fn propose(&self, env: Envelope) -> Result<Proposed, ProposeError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { env, reply }).await.map_err(|_| ProposeError::Failed("the batcher has stopped".into()))?;
        answer.await.map_err(|_| ProposeError::Failed("the proposal was dropped".into()))?
    }
}

async fn run(raft: Raft, mut rx: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        // Wait for a free slot first: meanwhile the queue fills, and it all goes in one entry.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = rx.recv().await else { return };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let (envs, replies): (Vec<Envelope>, Vec<_>) = jobs.into_iter().map(|j| (j.env, j.reply)).unzip();
            let res = raft.client_write(Batch(envs)).await;
            drop(slot);
            match res {
                Ok(resp) => {
                    let index = resp.log_id.index;
                    // One verdict per command, in order (a missing one drops its reply: "dropped").
                    for (reply, verdict) in replies.into_iter().zip(resp.data) {
                        let _ = reply.send(Ok(Proposed { verdict, log_index: index }));
                    }
                }
                Err(e) => {
                    let not_leader = matches!(e, RaftError::APIError(ClientWriteError::ForwardToLeader(_)));
                    for reply in replies {
                        let err =
                            if not_leader { ProposeError::NotLeader } else { ProposeError::Failed(e.to_string()) };
                        let _ = reply.send(Err(err));
                    }
                }
            }
        });
    }
}
