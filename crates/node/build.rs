//! Compiles `proto/*.proto` into `node::pb`, with the `protoc` from the `protoc-bin-vendored`
//! crate so a fresh machine needs no system package for it.

// Pins syn's features for the whole build graph (see the workspace Cargo.toml).
use syn as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["../../proto/raft.proto", "../../proto/cluster.proto"],
        &["../../proto"],
    )?;
    Ok(())
}
