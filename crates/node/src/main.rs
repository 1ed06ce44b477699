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
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // One crypto provider for every TLS use (gRPC, HTTPS): ring, as tonic is built with.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEREDD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn,h2=warn,tower=warn,hyper=warn"));
    // Colours only on a terminal: journald and `docker logs` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).init();
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
