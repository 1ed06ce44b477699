//! Group commit on the leader: commands that arrive while earlier proposals are still being
//! written and replicated go into one log entry together, so that one fsync on each node, one
//! AppendEntries and one apply serve all of them. Each command keeps its own verdict, dedup
//! record and audit line (see `raft_store::Batch`). Forwarded writes from followers come here
//! too.
//!
//! One proposal is in flight at a time; the window of a batch is the time the one before it
//! takes, so a lone client never waits for a timer. (On the 2-core bench machine two in
//! flight, the next batch written while the last one is replicated, gave smaller batches and
//! less throughput: 2,995 against 3,488 writes/s at 64 clients, 1,022 against 1,144 at 8;
//! BENCHMARKS.md, issue 19.)

use domain::{Envelope, Verdict};
use openraft::error::{ClientWriteError, RaftError};
use raft_store::{Batch, Raft};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Commands per entry at most (each is bounded by the HTTP and gRPC body limits).
const MAX_BATCH: usize = 128;
/// Commands waiting for a proposal at most; more wait for room (back-pressure).
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
    /// Its place in the queue, given back when it is proposed.
    _room: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Job>,
    /// A proposal is in flight; whoever finishes it proposes what waits next.
    busy: bool,
}

#[derive(Clone)]
pub(crate) struct Batcher {
    raft: Raft,
    queue: Arc<Mutex<Queue>>,
    room: Arc<Semaphore>,
}

impl Batcher {
    pub fn start(raft: Raft) -> Self {
        Self { raft, queue: Arc::default(), room: Arc::new(Semaphore::new(QUEUE)) }
    }

    /// Proposes `env` in the next batch and waits for its verdict. When nothing is in flight
    /// and nobody waits, the caller proposes its command itself, on its own task (a lone
    /// client's write makes no extra hand-offs); otherwise the command joins the queue that
    /// the proposal in flight takes up when it is done.
    pub async fn propose(&self, env: Envelope) -> Result<Proposed, ProposeError> {
        let (reply, answer) = oneshot::channel();
        let room = self
            .room
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ProposeError::Failed("the batcher has stopped".into()))?;
        let alone = {
            let mut q = self.lock();
            q.waiting.push(Job { env, reply, _room: room });
            let idle = !q.busy;
            q.busy = true;
            match (idle, q.waiting.len()) {
                (true, 1) => Some(std::mem::take(&mut q.waiting)),
                // (Idle with others waiting cannot happen; if it did, they would be proposed.)
                (true, _) => {
                    self.spawn_drive();
                    None
                }
                (false, _) => None,
            }
        };
        if let Some(mine) = alone {
            // If this caller is cancelled mid-proposal, the guard hands the queue on.
            let guard = HandOn(Some(self.clone()));
            propose_batch(&self.raft, mine).await;
            if let Some(me) = guard.defuse() {
                me.hand_on();
            }
        }
        answer.await.map_err(|_| ProposeError::Failed("the proposal was dropped".into()))?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called when a proposal is done: the next batch goes on a task of its own, or the
    /// batcher is idle again.
    fn hand_on(&self) {
        let mut q = self.lock();
        if q.waiting.is_empty() {
            q.busy = false;
        } else {
            self.spawn_drive();
        }
    }

    /// Proposes batch after batch on a task of its own until nothing waits. (Outside a
    /// runtime, i.e. while it shuts down, the waiting commands are dropped: "dropped".)
    fn spawn_drive(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let me = self.clone();
        rt.spawn(async move {
            loop {
                let jobs: Vec<Job> = {
                    let mut q = me.lock();
                    if q.waiting.is_empty() {
                        q.busy = false;
                        return;
                    }
                    let n = q.waiting.len().min(MAX_BATCH);
                    q.waiting.drain(..n).collect()
                };
                propose_batch(&me.raft, jobs).await;
            }
        });
    }
}

/// Hands the queue on when dropped armed, i.e. when the caller proposing its own command was
/// cancelled (a timeout, a client gone) before the proposal finished.
struct HandOn(Option<Batcher>);

impl HandOn {
    fn defuse(mut self) -> Option<Batcher> {
        self.0.take()
    }
}

impl Drop for HandOn {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            b.hand_on();
        }
    }
}

/// Proposes `jobs` as one log entry and answers each.
async fn propose_batch(raft: &Raft, jobs: Vec<Job>) {
    let (envs, replies): (Vec<Envelope>, Vec<_>) = jobs.into_iter().map(|j| (j.env, j.reply)).unzip();
    match raft.client_write(Batch(envs)).await {
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
                let err = if not_leader { ProposeError::NotLeader } else { ProposeError::Failed(e.to_string()) };
                let _ = reply.send(Err(err));
            }
        }
    }
}
