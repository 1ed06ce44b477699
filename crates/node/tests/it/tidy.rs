//! Architecture invariants from ARCHITECTURE.md, checked mechanically: dependency direction,
//! the pure domain, and module docs.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Names of every crate `package` depends on at run time (normal dependencies, transitively).
fn runtime_deps(meta: &Value, package: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let start = names.iter().find(|(_, n)| **n == package).map(|(id, _)| *id).expect("package in metadata");
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        for d in nodes[id]["deps"].as_array().into_iter().flatten() {
            let normal = d["dep_kinds"].as_array().into_iter().flatten().any(|k| k["kind"].is_null());
            let dep = d["pkg"].as_str().unwrap_or_default();
            if normal && seen.insert(names[dep].to_owned()) {
                todo.push(dep);
            }
        }
    }
    seen
}

#[test]
fn dependencies_point_one_way() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this machine's platform: crates for other targets (e.g. Android's) are never
    // downloaded, and `--offline` would fail on them.
    let rustc = Command::new("rustc").arg("-vV").output().expect("rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("host triple");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", &host])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");

    let domain = runtime_deps(&meta, "domain");
    for banned in ["tokio", "rocksdb", "librocksdb-sys", "openraft", "tonic", "axum", "hyper", "rand"] {
        assert!(!domain.contains(banned), "domain must stay pure but pulls in {banned}");
    }
    let web = runtime_deps(&meta, "web");
    for banned in ["rocksdb", "librocksdb-sys", "openraft", "tonic", "raft-store"] {
        assert!(!web.contains(banned), "web must reach state only through Backend but pulls in {banned}");
    }
    let store = runtime_deps(&meta, "raft-store");
    assert!(store.contains("librocksdb-sys") && !store.contains("web") && !store.contains("tonic"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut files = Vec::new();
    for c in ["domain", "raft-store", "web", "node"] {
        rust_files(&root().join("crates").join(c).join("src"), &mut files);
    }
    rust_files(&root().join("crates/node/tests"), &mut files);
    assert!(files.len() > 20);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(text.starts_with("//!"), "{} must start with a //! module comment", f.display());
    }
}

#[test]
fn the_domain_reads_no_clock_and_touches_no_files() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/domain/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for banned in ["SystemTime", "Instant::now", "now_utc", "std::fs", "std::net", "tokio", "thread_rng"] {
            assert!(!text.contains(banned), "{} uses {banned}; the domain must stay pure", f.display());
        }
    }
}
