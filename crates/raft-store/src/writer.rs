//! The one thread that writes the Raft log. Writes arrive in order; a job can ask to be told
//! when its write is in the memtable (so entries are readable) and again once the WAL is synced
//! (so they are durable). Syncing on this thread keeps fsync stalls off the tokio workers, and
//! jobs that queue up during a sync share the next one.

use rocksdb::{DB, WriteBatch, WriteOptions};
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use tokio::sync::oneshot;

pub type Done = Box<dyn FnOnce(Result<(), String>) + Send>;

pub struct Job {
    pub batch: WriteBatch,
    pub written: Option<oneshot::Sender<Result<(), String>>>,
    /// Called after the WAL has been synced (or the write failed); `None` needs no sync.
    pub durable: Option<Done>,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the thread. It holds the database only weakly, so dropping the stores closes it
    /// (and the thread ends when the last sender is gone).
    pub fn start(db: &Arc<DB>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let db = Arc::downgrade(db);
        std::thread::Builder::new().name("raft-log-writer".into()).spawn(move || run(&db, &rx))?;
        Ok(Self { tx })
    }

    /// Queues `batch`; returns once it is written (readable). `durable` runs after the sync.
    pub async fn write(&self, batch: WriteBatch, durable: Option<Done>) -> Result<(), String> {
        let (written, rx) = oneshot::channel();
        self.tx
            .send(Job { batch, written: Some(written), durable })
            .map_err(|_| "log writer thread has stopped".to_owned())?;
        rx.await.map_err(|_| "log writer thread has stopped".to_owned())?
    }

    /// Writes `batch` and returns only after it is synced to disk.
    pub async fn write_durable(&self, batch: WriteBatch) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        let done: Done = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.write(batch, Some(done)).await?;
        rx.await.map_err(|_| "log writer thread has stopped".to_owned())?
    }
}

fn run(db: &Weak<DB>, rx: &mpsc::Receiver<Job>) {
    let opts = WriteOptions::default();
    while let Ok(first) = rx.recv() {
        let Some(db) = db.upgrade() else {
            fail(first, "database is closed");
            while let Ok(job) = rx.try_recv() {
                fail(job, "database is closed");
            }
            continue;
        };
        let mut pending: Vec<(Result<(), String>, Done)> = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next {
            let res = db.write_opt(job.batch, &opts).map_err(|e| e.to_string());
            if let Some(w) = job.written {
                let _ = w.send(res.clone());
            }
            if let Some(d) = job.durable {
                pending.push((res, d));
            }
            next = rx.try_recv().ok();
        }
        if pending.is_empty() {
            continue;
        }
        let synced = db.flush_wal(true).map_err(|e| format!("WAL sync failed: {e}"));
        // Let go of the database before reporting, so whoever we wake may close it.
        drop(db);
        for (res, done) in pending {
            done(res.and(synced.clone()));
        }
    }
}

fn fail(job: Job, why: &str) {
    if let Some(w) = job.written {
        let _ = w.send(Err(why.to_owned()));
    }
    if let Some(d) = job.durable {
        d(Err(why.to_owned()));
    }
}
