//! The one integration test binary: real `beredd` processes on free loopback ports, RocksDB in
//! temp dirs, real gRPC between them. Add modules here, not files in `tests/`.

// Integration tests see every dependency of the package; most are for the binary.
#![allow(unused_crate_dependencies)]
// Test helpers may panic: a panic is a test failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod break_glass;
mod channels;
mod cli;
mod cluster;
mod contacts;
mod demo;
mod dispatch;
mod drill;
mod email;
mod exercises;
mod federation;
mod format;
mod harness;
mod join;
mod members;
mod offline;
mod outbox;
mod pages;
mod recovery;
mod reports;
mod roles;
mod sessions;
mod sms;
mod status;
mod tidy;
mod tls;
