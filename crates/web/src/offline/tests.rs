//! The offline copy from the demo's state: who may take it, what its pages hold, that every link
//! stays inside the folder, and that its seal catches one changed byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::Role;
use std::collections::BTreeMap;

use crate::backend::Backend;
use crate::test_backend::MemBackend;

fn page(f: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(f.get(path).unwrap_or_else(|| panic!("{path} missing")).clone()).unwrap()
}

#[tokio::test]
async fn the_copy_holds_every_page_in_three_languages_links_only_inside_and_verifies() {
    let (b, tokens) =
        MemBackend::demo(&[("nurse", Role::Staff, &[]), ("ops", Role::Ops, &[]), ("comms", Role::Communicator, &[])]);
    let post = |path: &str, body: serde_json::Value| {
        MemBackend::request("POST", path, &tokens["comms"], Some(("application/json", body.to_string())))
    };
    let route = serde_json::json!({"kind": "pager", "value": "+46 74 100 80 00", "hours": "dygnet runt", "last_tested": null, "note": ""});
    let contact = serde_json::json!({"id": "con-1", "kind": "function", "name": "Inköp jour", "routes": [route]});
    assert_eq!(b.send(post("/api/v1/contacts", contact)).await.status(), 201);
    let card = serde_json::json!({"id": "card-1", "category": "power_loss", "title": "Strömavbrott", "task": "Säkra patienter.",
        "who": "Ansvarig sjuksköterska", "trigger": "När ljuset slocknar.", "actions": "1. Ring driftcentralen.\n2. Tänd ficklampor.",
        "owner": "Verksamhetschef", "review_by": "2027-12-01"});
    assert_eq!(b.send(post("/api/v1/cards", card)).await.status(), 201);
    // Who may take it away: ops and admins only.
    for who in ["nurse", "comms"] {
        let res = b.send(MemBackend::request("GET", "/api/v1/offline-copy", &tokens[who], None)).await;
        assert_eq!(res.status(), 403, "{who}");
    }
    let res = b.send(MemBackend::request("GET", "/api/v1/offline-copy", &tokens["ops"], None)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bytes = axum::body::to_bytes(res.into_body(), 256 << 20).await.unwrap();
    let f = documents::offline::unzip(&bytes).unwrap();
    let key =
        documents::offline::key_text(&documents::offline::signing_key(b.view().as_ref()).unwrap().verifying_key());
    let m = documents::offline::verify(&f, Some(&key)).unwrap();
    assert_eq!(m.node, b.cluster().node_id);

    for dir in ["", "nb/", "en/"] {
        for p in ["index.html", "directory.html", "oncall.html", "cards.html", "orders.html", "reports.html"] {
            let html = page(&f, &format!("{dir}{p}"));
            // Every link and style sheet points inside the folder: nothing is fetched from anywhere.
            for attr in ["href=\"", "src=\""] {
                for rest in html.split(attr).skip(1) {
                    let target = rest.split('"').next().unwrap();
                    assert!(
                        !target.starts_with('/') && !target.contains("//") && !target.starts_with("http"),
                        "{dir}{p} links to {target}"
                    );
                    let file = target.split('#').next().unwrap();
                    if !file.is_empty() && !target.starts_with("mailto:") && !target.starts_with("tel:") {
                        let resolved = resolve(dir, file);
                        assert!(f.contains_key(&resolved), "{dir}{p} links to {target}, which is not in the copy");
                    }
                }
            }
        }
    }
    let dir = documents::contacts::Directory::load(b.view().as_ref()).unwrap();
    let directory = page(&f, "directory.html");
    let someone = dir.contacts.iter().find(|c| !c.withdrawn && !c.routes.is_empty()).expect("the demo has contacts");
    assert!(directory.contains(&someone.name) && directory.contains(&someone.routes[0].value), "{directory}");
    let cards = page(&f, "cards.html");
    assert!(cards.contains("Strömavbrott") && cards.contains("<li>Tänd ficklampor.</li>"), "{cards}");
    assert!(page(&f, "en/index.html").contains("Copy without a server"));
    assert!(page(&f, "nb/directory.html").contains("Kontakter"));
    let orders = page(&f, "orders.html");
    assert!(orders.contains("files/orders/"), "{orders}");
    // Each listed order's three files are in the copy; its CSV names it on every line.
    let (name, csv) = f.iter().find(|(p, _)| p.starts_with("files/orders/") && p.ends_with(".csv")).unwrap();
    let number = name.trim_start_matches("files/orders/").trim_end_matches(".csv");
    let text = String::from_utf8_lossy(csv);
    assert!(text.lines().count() >= 2 && text.lines().skip(1).all(|l| l.contains(number)), "{text}");
    for ext in ["pdf", "xlsx"] {
        assert!(f.contains_key(&format!("files/orders/{number}.{ext}")), "{number}.{ext}");
    }
    assert!(f.contains_key("files/binder.pdf") && f.contains_key("files/contacts.vcf"));
    let reference: domain::merge::Incoming = serde_json::from_slice(&f["files/reference.json"]).unwrap();
    assert!(!reference.contacts.is_empty() && !reference.cards.is_empty() && !reference.articles.is_empty());

    // One changed byte anywhere, and the copy no longer verifies.
    let mut changed = f.clone();
    changed.get_mut("directory.html").unwrap()[100] ^= 0x20;
    assert!(matches!(
        documents::offline::verify(&changed, Some(&key)),
        Err(documents::offline::OfflineError::Changed(p)) if p == "directory.html"
    ));
}

/// `file` linked from a page in `dir`, as a path from the top of the copy.
fn resolve(dir: &str, file: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in file.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}
