//! The local outbox across real processes: a node cut off from the others queues an order and
//! an order edit (202, synced to disk), lists them and prints the order at once marked as not
//! confirmed, keeps them over a restart, and when the majority returns forwards each exactly
//! once; the edit, whose order was changed meanwhile by the others, becomes a conflict that a
//! person resolves by merging the lines.

use crate::harness::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn outbox(c: &Cluster, i: usize) -> Vec<Value> {
    let (s, v) = c.get(i, "/api/v1/outbox");
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn states(items: &[Value]) -> Vec<String> {
    items.iter().map(|q| q["fate"]["state"].as_str().unwrap_or_default().to_owned()).collect()
}

fn wait_states(c: &Cluster, i: usize, want: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let items = outbox(c, i);
        if states(&items) == want {
            return items;
        }
        assert!(Instant::now() < deadline, "outbox on node {i}: {:?}, want {want:?}: {items:?}", states(&items));
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_cut_off_node_queues_orders_and_forwards_each_once_with_conflicts_shown() {
    let mut c = Cluster::start(3, &[]);
    c.wait_leader();
    c.seed_catalog(0, 3);
    let (s, o) = c.post(0, "/api/v1/orders", &Cluster::order_body("shared"));
    assert_eq!(s, 201, "{o}");
    let index = c.status(0)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(1, index);
    c.wait_applied(2, index);

    // Node 1 goes down; the other two change the shared order.
    c.kill(0);
    c.wait_leader();
    let theirs = json!({"version": 1, "unit_id": "ost-iva",
        "lines": [{"article_id": "art-0", "quantity": 10}, {"article_id": "art-1", "quantity": 5}]});
    let (s, v) = c.put(1, "/api/v1/orders/shared", &theirs);
    assert_eq!(s, 200, "{v}");
    // Then they go down, and node 1 comes back alone: no majority.
    c.kill(1);
    c.kill(2);
    c.spawn(0);

    let cut_off = json!({"id": "cut-off", "unit_id": "ost-iva", "note": "beställd utan majoritet",
        "lines": [{"article_id": "art-1", "quantity": 4}]});
    // A client that has not said it accepts a queued answer gets the plain refusal.
    let (s, v) = c.post(0, "/api/v1/orders", &cut_off);
    assert_eq!(s, 503, "{v}");
    let (s, v) = c.send_async(0, "POST", "/api/v1/orders", &cut_off);
    assert_eq!((s, v["state"].as_str()), (202, Some("queued")), "{v}");
    let mine = json!({"version": 1, "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 3}, {"article_id": "art-2", "quantity": 7}]});
    let (s, v) = c.send_async(0, "PUT", "/api/v1/orders/shared", &mine);
    assert_eq!((s, v["state"].as_str()), (202, Some("queued")), "{v}");
    // Commands that may not wait are refused, not queued.
    let (s, v) = c.send_async(0, "POST", "/api/v1/suppliers", &json!({"id": "sup-x", "name": "X"}));
    assert_eq!(s, 503, "{v}");
    let items = outbox(&c, 0);
    assert_eq!(states(&items), ["queued", "queued"]);

    // The queued order prints at once, numbered as queued and marked unconfirmed.
    let (s, pdf) = c.get_bytes(0, "/api/v1/outbox/1/export?format=pdf&lang=sv");
    assert_eq!(s, 200);
    let text = crate::harness::pdf_text(&pdf, false);
    assert!(text.contains("KÖAD-1-1") && text.contains("Handske nitril 1"), "{text}");
    assert!(text.contains("KÖAD HÄR, EJ BEKRÄFTAD AV KLUSTRET"), "no queued warning:\n{text}");
    let (s, csv) = c.get_bytes(0, "/api/v1/outbox/1/export?format=csv&lang=sv");
    assert_eq!(s, 200);
    assert!(String::from_utf8_lossy(&csv).contains("KÖAD-1-1"));

    // The queue survives a crash of the node.
    c.kill(0);
    c.spawn(0);
    assert_eq!(states(&outbox(&c, 0)), ["queued", "queued"]);

    // The majority returns: the order lands once, the edit is a conflict.
    c.spawn(1);
    c.spawn(2);
    let items = wait_states(&c, 0, &["landed", "conflict"]);
    assert_eq!(items[0]["fate"]["record"], "cut-off");
    // Landed means committed; node 2 may not have applied it yet.
    c.wait_applied(1, items[0]["fate"]["log_index"].as_u64().unwrap_or(u64::MAX));
    let (_, o) = c.get(1, "/api/v1/orders/cut-off");
    assert_eq!((o["note"].as_str(), o["version"].as_u64()), (Some("beställd utan majoritet"), Some(1)), "{o}");
    let notes = c.order_ids(1).iter().filter(|id| id.as_str() == "cut-off").count();
    assert_eq!(notes, 1, "the queued order landed exactly once");
    let (_, shared) = c.get(1, "/api/v1/orders/shared");
    assert_eq!(shared["lines"][0]["quantity"], 10, "their edit stands until someone decides: {shared}");

    // Merge: their lines (art-1 is only theirs, so this is not "keep mine"), with mine added or
    // taking their place per article.
    let (s, v) = c.post(0, "/api/v1/outbox/2/resolve", &json!({"resolution": "merge_lines"}));
    assert_eq!(s, 200, "{v}");
    let items = wait_states(&c, 0, &["landed", "landed"]);
    c.wait_applied(0, items[1]["fate"]["log_index"].as_u64().unwrap_or(u64::MAX));
    let (_, shared) = c.get(0, "/api/v1/orders/shared");
    let lines: Vec<(String, u64)> = shared["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| (l["article_id"].as_str().unwrap_or_default().to_owned(), l["quantity"].as_u64().unwrap_or(0)))
        .collect();
    let want = [("art-0".to_owned(), 3), ("art-1".to_owned(), 5), ("art-2".to_owned(), 7)];
    assert_eq!(lines, want, "{shared}");
    // Metrics: nothing waits any more.
    let (_, metrics) = c.get_text(0, "/metrics");
    assert!(metrics.contains("beredd_outbox_waiting 0"), "{metrics}");
}
