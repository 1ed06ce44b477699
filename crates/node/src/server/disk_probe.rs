//! How long this node's disk takes to make a write durable, measured at start. Raft's timings
//! must outlast a stalled fsync: a follower whose log write hangs longer than the election
//! timeout stops answering heartbeats in time and the cluster elects needlessly. The node warns
//! (log, `/ops`) when the configured `[raft]` timings are too short for the disk it runs on.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes and syncs made for the measurement.
const SYNCS: usize = 16;

/// What the probe saw.
#[derive(Clone, Debug)]
pub struct DiskProbe {
    pub median: Duration,
    pub max: Duration,
}

impl DiskProbe {
    /// Appends and syncs a 4 KiB block [`SYNCS`] times in `dir` (a file that is removed again).
    pub fn measure(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(".fsync-probe");
        let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        let block = [0u8; 4096];
        let mut times = Vec::with_capacity(SYNCS);
        for _ in 0..SYNCS {
            f.write_all(&block)?;
            let t = Instant::now();
            f.sync_data()?;
            times.push(t.elapsed());
        }
        drop(f);
        std::fs::remove_file(&path)?;
        times.sort();
        Ok(Self { median: times[SYNCS / 2], max: times[SYNCS - 1] })
    }

    /// A warning when a sync as slow as the slowest seen, four times over (a busy disk stalls
    /// longer than an idle one), would outlast `election_min_ms`.
    pub fn warning(&self, election_min_ms: u64) -> Option<String> {
        let margin = self.max * 4;
        (margin >= Duration::from_millis(election_min_ms)).then(|| {
            format!(
                "this node's disk took up to {} ms to sync a write at start (median {} ms); with \
                 [raft] election_min_ms = {election_min_ms} a stall can cause needless elections: \
                 use the conservative timings in beredd.example.toml (heartbeat 100, election 500-1000 ms) \
                 or a faster disk",
                self.max.as_millis(),
                self.median.as_millis()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_real_disk_is_measured_and_only_a_slow_one_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let p = DiskProbe::measure(dir.path()).unwrap();
        assert!(p.median <= p.max);
        assert!(!dir.path().join(".fsync-probe").exists(), "the probe leaves nothing behind");
        let slow = DiskProbe { median: Duration::from_millis(20), max: Duration::from_millis(300) };
        assert!(slow.warning(400).is_some_and(|w| w.contains("300 ms")));
        assert!(slow.warning(1300).is_none());
    }
}
