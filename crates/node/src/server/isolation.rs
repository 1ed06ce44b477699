//! A drill's network cut (`beredd drill --isolate`), checked by the Raft transport and the
//! cluster service.

/// A drill's network cut (`beredd drill --isolate`): until it ends, this node sends and answers
/// no Raft traffic and no forwarded writes, as if its link were down; it heals by itself.
pub struct Isolation {
    start: std::time::Instant,
    /// Milliseconds after `start` when the cut ends (0: none).
    until_ms: std::sync::atomic::AtomicU64,
}

impl Default for Isolation {
    fn default() -> Self {
        Self { start: std::time::Instant::now(), until_ms: std::sync::atomic::AtomicU64::new(0) }
    }
}

impl Isolation {
    pub fn cut_for(&self, d: std::time::Duration) {
        let until = self.start.elapsed() + d;
        self.until_ms.store(u64::try_from(until.as_millis()).unwrap_or(u64::MAX), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn active(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        now < self.until_ms.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn refused() -> tonic::Status {
        tonic::Status::unavailable("this node is cut off for a failover drill")
    }
}
