//! `beredd`: one node of a beredd cluster, the three-node demo, and the operator's CLI.

// Dev-dependencies serve the integration tests; the unit-test build of the binary sees them too.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod certs;
mod cli;
mod config;
mod offline;
mod proto;
mod server;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Where log lines go when not to stdout: `beredd join` names a file in the node's folder, so
/// that its progress bar on the terminal stays whole.
pub static LOG_FILE: std::sync::OnceLock<std::sync::Mutex<std::fs::File>> = std::sync::OnceLock::new();

/// Log output: [`LOG_FILE`] once set, stdout before.
struct LogOut;

impl Write for LogOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match LOG_FILE.get() {
            Some(f) => f.lock().unwrap_or_else(|p| p.into_inner()).write(buf),
            None => std::io::stdout().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match LOG_FILE.get() {
            Some(f) => f.lock().unwrap_or_else(|p| p.into_inner()).flush(),
            None => std::io::stdout().flush(),
        }
    }
}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // One crypto provider for every TLS use (gRPC, HTTPS): ring, as tonic is built with.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEREDD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn,h2=warn,tower=warn,hyper=warn"));
    // Colours only on a terminal: journald and `docker logs` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).with_writer(|| LogOut).init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("beredd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beredd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
