//! Writes of the Raft log, and the one thread that syncs the WAL.
//!
//! A write goes into the memtable (and the WAL's page cache) on the caller, so the entries are
//! readable when [`Writer::write`] returns and openraft can replicate them at once. Only the
//! WAL sync is handed over: the sync thread keeps fsync stalls off the tokio workers, and every
//! write made while a sync runs shares the next one. Callers are openraft's RaftCore, which
//! awaits each storage call in turn, so writes keep their order.

use rocksdb::{DB, WriteBatch, WriteOptions};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

pub type Done = Box<dyn FnOnce(Result<(), String>) + Send>;

#[derive(Clone)]
pub struct Writer {
    db: Weak<DB>,
    syncs: mpsc::Sender<Done>,
}

impl Writer {
    /// Starts the sync thread. It holds the database only weakly, so dropping the stores closes
    /// it (and the thread ends when the last sender is gone).
    pub fn start(db: &Arc<DB>) -> std::io::Result<Self> {
        let (syncs, rx) = mpsc::channel::<Done>();
        let weak = Arc::downgrade(db);
        let thread_db = weak.clone();
        std::thread::Builder::new().name("raft-wal-sync".into()).spawn(move || run(&thread_db, &rx))?;
        Ok(Self { db: weak, syncs })
    }

    /// Writes `batch` (readable on return); `durable` runs once the WAL holding it is synced, or
    /// with the error if the write or the sync failed.
    pub async fn write(&self, batch: WriteBatch, durable: Option<Done>) -> Result<(), String> {
        let written = match self.db.upgrade() {
            Some(db) => db.write_opt(batch, &WriteOptions::default()).map_err(|e| e.to_string()),
            None => Err("database is closed".to_owned()),
        };
        match (written, durable) {
            (Err(e), Some(done)) => {
                done(Err(e.clone()));
                Err(e)
            }
            (Err(e), None) => Err(e),
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(done)) => self.syncs.send(done).map_err(|e| {
                let why = "WAL sync thread has stopped".to_owned();
                (e.0)(Err(why.clone()));
                why
            }),
        }
    }

    /// Writes `batch` and returns only after it is synced to disk.
    pub async fn write_durable(&self, batch: WriteBatch) -> Result<(), String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done: Done = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.write(batch, Some(done)).await?;
        rx.await.map_err(|_| "WAL sync thread has stopped".to_owned())?
    }
}

fn run(db: &Weak<DB>, rx: &mpsc::Receiver<Done>) {
    while let Ok(first) = rx.recv() {
        // Everything queued so far was written before it was queued: one sync covers it all.
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let synced = match db.upgrade() {
            Some(db) => db.flush_wal(true).map_err(|e| format!("WAL sync failed: {e}")),
            None => Err("database is closed".to_owned()),
        };
        for done in waiting {
            done(synced.clone());
        }
    }
}
