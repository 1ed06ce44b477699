//! Failover drills started from `/ops`: the node runs `beredd drill` — the same program an
//! operator runs — as a process of its own, with the API token the web layer made for the person
//! who asked, its output to a file in the data folder, and keeps what `/ops` shows: who, how,
//! when, running or its exit code, and the last lines it printed. The child has its own process
//! group, so a drill that halts this very node (it leads, `kill` mode) goes on to its report.

use super::Server;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use web::{DrillMode, DrillRun, DrillStart};

/// Lines of a drill's output `/ops` shows.
const TAIL_LINES: usize = 30;
/// Bytes read from the end of its output file for them.
const TAIL_BYTES: u64 = 8 << 10;

/// The drill this node started last.
#[derive(Clone, Default)]
pub(crate) struct LastDrill(Arc<Mutex<Option<(DrillRun, PathBuf)>>>);

impl LastDrill {
    /// The last drill as it stands now, with its output's last lines.
    pub(crate) fn now(&self) -> Option<DrillRun> {
        let (mut run, path) = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        run.output = tail(&path);
        Some(run)
    }

    fn running(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|(r, _)| r.running)
    }

    fn ended(&self, code: Option<i32>) {
        if let Some((run, _)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            run.running = false;
            run.exit_code = Some(code.unwrap_or(-1));
        }
    }
}

/// The last lines of the file at `path` (its last few KiB only).
fn tail(path: &PathBuf) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(path) else { return Vec::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES))).is_err() || f.read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| (*l).to_owned()).collect()
}

impl Server {
    /// Starts `beredd drill` against this node with `drill`'s token (see the module docs).
    pub(crate) fn start_drill(&self, drill: DrillStart) -> Result<(), String> {
        if self.drill.running() {
            return Err("a drill started on this node is still running".into());
        }
        let dir = self.cfg.node.data_dir.join("drills");
        std::fs::create_dir_all(&dir).map_err(|e| format!("making {}: {e}", dir.display()))?;
        let started_at = time::OffsetDateTime::now_utc();
        let path = dir.join(format!("drill-{}.log", started_at.unix_timestamp()));
        let out = std::fs::File::create(&path).map_err(|e| format!("making {}: {e}", path.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| format!("finding the beredd program: {e}"))?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("drill").arg("--http").arg(&self.cfg.http.advertise).arg("--seconds").arg(drill.seconds.to_string());
        match &drill.mode {
            DrillMode::Transfer { to: Some(to) } => {
                cmd.arg("--to").arg(to.to_string());
            }
            DrillMode::Transfer { to: None } => {}
            DrillMode::Kill => {
                cmd.arg("--kill");
            }
            DrillMode::Isolate { seconds } => {
                cmd.arg("--isolate").arg(seconds.to_string());
            }
        }
        // The node's own certificate reaches the others' gRPC port (nodes may ask what ops may).
        if let Some(t) = self.cfg.tls_files() {
            cmd.arg("--ca").arg(t.ca).arg("--cert").arg(t.cert).arg("--key").arg(t.key);
        }
        cmd.env("BEREDD_TOKEN", &drill.token)
            .env_remove("BEREDD_TOKEN_FILE")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(false)
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("starting the drill: {e}"))?;
        tracing::info!(target: "beredd::audit", by = %drill.by, mode = ?drill.mode, "failover drill started from /ops");
        let run =
            DrillRun { by: drill.by, started_at, mode: drill.mode, exit_code: None, running: true, output: Vec::new() };
        *self.drill.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((run, path));
        let last = self.drill.clone();
        tokio::spawn(async move {
            let code = child.wait().await.ok().and_then(|s| s.code());
            tracing::info!(code, "failover drill started from /ops ended");
            last.ended(code);
        });
        Ok(())
    }
}
