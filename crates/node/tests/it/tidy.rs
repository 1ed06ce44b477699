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
    let documents = runtime_deps(&meta, "documents");
    for banned in ["axum", "tokio", "hyper", "tonic", "rocksdb", "librocksdb-sys", "openraft", "web", "raft-store"] {
        assert!(!documents.contains(banned), "documents makes things to read, no I/O, but pulls in {banned}");
    }
    let web = runtime_deps(&meta, "web");
    for banned in ["rocksdb", "librocksdb-sys", "openraft", "tonic", "raft-store"] {
        assert!(!web.contains(banned), "web must reach state only through Backend but pulls in {banned}");
    }
    let store = runtime_deps(&meta, "raft-store");
    assert!(store.contains("librocksdb-sys") && !store.contains("web") && !store.contains("tonic"));
    for c in ["domain", "documents", "raft-store"] {
        assert!(!runtime_deps(&meta, c).contains("axum"), "only web names axum: {c}");
    }
    // Named directly: the node serves HTTP through `web::serve`, and only the node speaks gRPC.
    let direct = |package: &str| -> BTreeSet<String> {
        let p = meta["packages"].as_array().into_iter().flatten().find(|p| p["name"] == package).expect("package");
        p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect()
    };
    for c in ["node", "raft-store", "documents", "domain"] {
        for banned in ["axum", "axum-server", "tower-http"] {
            assert!(!direct(c).contains(banned), "only web names {banned}, but {c} does");
        }
    }
    for c in ["web", "raft-store", "documents", "domain"] {
        assert!(!direct(c).contains("tonic"), "only node names tonic, but {c} does");
    }
}

/// `node` reaches `web` only through the port: the router, `Backend` and the plain types at the
/// crate root, `web::credentials` (accounts and keys the node makes itself) and `web::serve`
/// (HTTP and HTTPS over the node's listeners and TLS configuration). In particular
/// the dispatcher makes its letters and files with `documents`, never with a web handler.
#[test]
fn the_node_uses_web_only_through_its_port() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/node/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        for (i, _) in text.match_indices("web::") {
            let before = text[..i].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' {
                continue;
            }
            let path: String =
                text[i + 5..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            // A root item (`router`, `Backend`, `Fate::Queued`) or `credentials::…`; never
            // another module of web.
            let first = path.split("::").next().unwrap_or_default();
            let allowed = ["credentials", "serve"].contains(&first)
                || !path.contains("::")
                || first.starts_with(char::is_uppercase);
            assert!(allowed, "{} names web::{path}; use the port (web's root) or documents", f.display());
        }
    }
}

/// One write pipeline: only `web/src/submit.rs` calls `Backend::submit` or `Backend::queue`, so
/// validation, the early access check and the outbox rule are the same for the API and pages.
#[test]
fn one_submit_is_the_only_way_a_web_request_reaches_the_cluster() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/web/src"), &mut files);
    for f in files {
        // (tests set up state through the backend directly)
        if f.ends_with("submit.rs") || f.ends_with("backend.rs") || f.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read");
        for call in [".submit(", ".queue("] {
            assert!(!text.contains(call), "{} calls {call}: go through crate::submit::submit", f.display());
        }
    }
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
    for c in ["domain", "documents", "raft-store", "web", "node"] {
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
        // (`std::net`'s address types are plain values; its sockets and name lookups are not)
        let io = ["TcpStream", "TcpListener", "UdpSocket", "ToSocketAddrs", "to_socket_addrs"];
        for banned in ["SystemTime", "Instant::now", "now_utc", "std::fs", "tokio", "thread_rng"].into_iter().chain(io)
        {
            assert!(!text.contains(banned), "{} uses {banned}; the domain must stay pure", f.display());
        }
    }
}

/// `web`'s modules import each other in one direction only: no two modules (parent and child
/// aside) reach each other through `crate::…` or `super::…` paths, directly or round a circle.
#[test]
fn web_modules_import_each_other_in_one_direction() {
    let src = root().join("crates/web/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |p: &Path| -> String {
        let rel = p.strip_prefix(&src).expect("under src").with_extension("");
        let parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        let parts = if parts.last().is_some_and(|l| l == "mod") { &parts[..parts.len() - 1] } else { &parts[..] };
        parts.join("::")
    };
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).filter(|m| m != "lib").collect();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len()).rev().map(|k| parts[..k].join("::")).find(|c| modules.contains(c))
    };
    let related = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"));
    let mut edges: HashMap<String, BTreeSet<String>> = HashMap::new();
    for f in &files {
        let m = module_of(f);
        if m == "lib" {
            continue;
        }
        let parent = m.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_owned());
        let text = std::fs::read_to_string(f).expect("read");
        let ident =
            |s: &str| s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':').collect::<String>();
        let mut out = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            if let Some(t) = resolve(ident(&text[i + 7..]).trim_end_matches(':')) {
                out.insert(t);
            }
        }
        for (i, _) in text.match_indices("super::") {
            let rest = ident(&text[i + 7..]);
            let full = if parent.is_empty() { rest } else { format!("{parent}::{rest}") };
            if let Some(t) = resolve(full.trim_end_matches(':')) {
                out.insert(t);
            }
        }
        out.retain(|t| !related(&m, t));
        edges.insert(m, out);
    }
    // Depth-first search for a way back to where it started.
    fn reaches(from: &str, to: &str, edges: &HashMap<String, BTreeSet<String>>, seen: &mut BTreeSet<String>) -> bool {
        for next in edges.get(from).into_iter().flatten() {
            if next == to || (seen.insert(next.clone()) && reaches(next, to, edges, seen)) {
                return true;
            }
        }
        false
    }
    for m in edges.keys() {
        assert!(!reaches(m, m, &edges, &mut BTreeSet::new()), "web::{m} imports a module that imports it back");
    }
}
