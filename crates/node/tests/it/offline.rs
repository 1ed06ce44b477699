//! The offline copy across real processes: a node with `[offline_copy]` writes it to its folder
//! on its own; `beredd offline-copy` fetches one from another node and writes it (folder and
//! ZIP); both verify against the key `/ops` shows; a second cluster imports the directory and
//! the cards from the copy with `beredd import --trust`, and refuses a copy with one changed
//! byte, an untrusted key, or no key given.

use crate::dispatch::wait_until;
use crate::harness::{Cluster, bin};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out =
        Command::new(bin()).args(args).env_remove("BEREDD_TOKEN").env_remove("BEREDD_TOKEN_FILE").output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn read(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_copy_is_written_by_schedule_and_on_demand_verifies_and_a_second_cluster_imports_it() {
    let work = tempfile::tempdir().unwrap();
    let stick = work.path().join("stick");
    let stick_s = stick.display().to_string();
    // BEREDD_TOKEN in the nodes' environment too: a script that sets it for its commands must
    // be able to start nodes (it is no configuration key).
    let env = [
        ("BEREDD_OFFLINE_COPY_DIR", stick_s.as_str()),
        ("BEREDD_OFFLINE_COPY_EVERY_MINUTES", "1"),
        ("BEREDD_TOKEN", "not-a-config-key"),
    ];
    let c = Cluster::start(3, &env);
    let leader = c.wait_leader();
    let route =
        json!({"kind": "mobile", "value": "+46 70 100 80 00", "hours": "dygnet runt", "last_tested": null, "note": ""});
    let contact = json!({"id": "con-jour", "kind": "function", "name": "Inköp jour", "routes": [route]});
    let (s, v) = c.post(leader, "/api/v1/contacts", &contact);
    assert_eq!(s, 201, "{v}");
    let card = json!({"id": "card-el", "category": "power_loss", "title": "Strömavbrott", "task": "Säkra patienter.",
        "who": "Ansvarig sjuksköterska", "trigger": "När ljuset slocknar.", "actions": "1. Ring driftcentralen.",
        "owner": "Verksamhetschef", "review_by": "2027-12-01"});
    let (s, v) = c.post(leader, "/api/v1/cards", &card);
    assert_eq!(s, 201, "{v}");

    // The key /ops shows is the one that signs.
    let ops = c.page(1, "/ops");
    let key = ops.split("data-copy-key>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    assert!(key.starts_with("ed25519:"), "{ops}");

    // On demand, from node 2: a folder and a ZIP, verified.
    let out = work.path().join("copy");
    let http = format!("http://{}", c.nodes[1].http);
    let (ok, text) = run(&[
        "offline-copy",
        "--http",
        &http,
        "--token",
        &c.token,
        "--out",
        &out.display().to_string(),
        "--trust",
        &key,
    ]);
    assert!(ok, "{text}");
    let files = read(&out);
    let m = documents::offline::verify(&files, Some(&key)).unwrap();
    assert_eq!(m.node, c.nodes[1].id);
    assert!(String::from_utf8_lossy(&files["directory.html"]).contains("+46 70 100 80 00"));
    let zipped = documents::offline::unzip(&std::fs::read(work.path().join("copy.zip")).unwrap()).unwrap();
    assert_eq!(zipped, files, "the ZIP holds the same files");
    // Written again, the token from BEREDD_TOKEN (not on the command line, where `ps` shows
    // it): replaced whole (a leftover file does not survive, nothing is left beside it).
    std::fs::write(out.join("leftover.txt"), b"x").unwrap();
    let again = Command::new(bin())
        .args(["offline-copy", "--http", &http, "--out", &out.display().to_string()])
        .env("BEREDD_TOKEN", &c.token)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&again.stdout), String::from_utf8_lossy(&again.stderr));
    assert!(again.status.success() && text.contains(&key), "{text}");
    let (ok, text) = run(&["offline-copy", "--http", &http, "--out", &out.display().to_string()]);
    assert!(!ok && text.contains("BEREDD_TOKEN"), "no token anywhere: {text}");
    assert!(!out.join("leftover.txt").exists());
    let beside: Vec<String> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(beside.iter().all(|n| !n.starts_with('.')), "{beside:?}");

    // On its own schedule, every node writes its copy to the stick.
    for n in &c.nodes {
        let dir = stick.join(format!("beredd-offline-node{}", n.id));
        wait_until("the node's scheduled copy", || dir.join("manifest.sig").is_file());
        let m = documents::offline::verify(&read(&dir), Some(&key)).unwrap();
        assert_eq!(m.node, n.id);
    }
    drop(c);

    // A second cluster: a tampered copy, an untrusted key and no key are refused; the copy is
    // then imported, its directory entry and card with it.
    let other = Cluster::start(1, &[]);
    let node = other.wait_leader();
    let http = format!("http://{}", other.nodes[node].http);
    let tampered = work.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    for (p, b) in &files {
        let target = tampered.join(p);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, b).unwrap();
    }
    let mut page = std::fs::read(tampered.join("cards.html")).unwrap();
    page[200] ^= 0x20;
    std::fs::write(tampered.join("cards.html"), page).unwrap();
    // The token from a file this time.
    let token_file = work.path().join("token");
    std::fs::write(&token_file, format!("{}\n", other.token)).unwrap();
    let token_file = token_file.display().to_string();
    let import = |path: &Path, trust: Option<&str>| {
        let p = path.display().to_string();
        let mut args = vec!["import", p.as_str(), "--http", &http, "--token-file", &token_file];
        if let Some(t) = trust {
            args.extend(["--trust", t]);
        }
        run(&args)
    };
    let (ok, text) = import(&tampered, Some(&key));
    assert!(!ok && text.contains("cards.html was changed"), "{text}");
    let (ok, text) = import(&out, Some("ed25519:0000000000000000000000000000000000000000000000000000000000000000"));
    assert!(!ok && text.contains("not by the trusted key"), "{text}");
    let (ok, text) = import(&out, None);
    assert!(!ok && text.contains("--trust"), "{text}");
    let (s, v) = other.get(node, "/api/v1/contacts/con-jour");
    assert_eq!(s, 404, "nothing merged yet: {v}");
    let (ok, text) = import(&work.path().join("copy.zip"), Some(&key));
    assert!(ok && text.contains("signature and contents verified"), "{text}");
    let (s, v) = other.get(node, "/api/v1/contacts/con-jour");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["routes"][0]["value"], "+46 70 100 80 00");
    let (s, v) = other.get(node, "/api/v1/cards/card-el");
    assert_eq!((s, v["title"].as_str()), (200, Some("Strömavbrott")), "{v}");
}
