//! Accounts on real nodes: tokens are required, each role gets what it should and is refused
//! what it must not do, and disabling or revoking takes effect on every node, including one
//! without quorum.

use crate::harness::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn token_for(c: &Cluster, user: &str) -> String {
    let (s, v) = c.post(0, "/api/v1/tokens", &json!({"user_id": user, "label": "test"}));
    assert_eq!(s, 201, "{v}");
    v["token"].as_str().unwrap_or_default().to_owned()
}

/// Waits until every running node accepts `token` (a follower may not yet have applied the
/// change when node 0 answers).
fn known_everywhere(c: &Cluster, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in c.running() {
        while c.get_as(i, "/api/v1/me", token).0 != 200 {
            assert!(Instant::now() < deadline, "node {} never learned the token", c.nodes[i].id);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn make_user(c: &Cluster, body: Value) -> String {
    let (s, v) = c.post(0, "/api/v1/users", &body);
    assert_eq!(s, 201, "{v}");
    assert!(v.get("password_hash").is_none(), "the API must never show password hashes: {v}");
    let token = token_for(c, body["id"].as_str().unwrap_or_default());
    // An account made already expired is refused everywhere by design.
    if body["expires_at"].is_null() {
        known_everywhere(c, &token);
    }
    token
}

/// Waits until node `i` refuses `token` (the change that revoked it has been applied there).
fn refused_on(c: &Cluster, i: usize, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = c.get_as(i, "/api/v1/me", token);
        if s == 401 {
            assert_eq!(v["error"]["code"], "auth.invalid");
            return;
        }
        assert!(Instant::now() < deadline, "node {} still accepts the token: {s} {v}", c.nodes[i].id);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tokens_are_required_and_roles_and_units_are_enforced() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let (s, _) = c.post(0, "/api/v1/units", &json!({"id": "norr-akut", "name": "Akuten", "site": "Norra"}));
    assert_eq!(s, 201);

    // Without a token, or with a bad one: 401 everywhere but health and cluster status.
    for path in ["/api/v1/orders", "/api/v1/articles", "/api/v1/me", "/api/v1/users"] {
        let (s, v) = c.get_as(1, path, "");
        assert_eq!((s, v["error"]["code"].as_str()), (401, Some("auth.required")), "{path}");
        let (s, v) = c.get_as(1, path, "brd_0000_nonsense");
        assert_eq!((s, v["error"]["code"].as_str()), (401, Some("auth.invalid")), "{path}");
    }
    assert_eq!(c.get_as(1, "/api/v1/cluster", "").0, 200);
    let h = c.headers(1, "/api/v1/cluster");
    assert!(
        h["content-security-policy"].contains("frame-ancestors 'none'")
            && !h["content-security-policy"].contains("unsafe-inline")
    );
    assert_eq!((h["x-content-type-options"].as_str(), h["referrer-policy"].as_str()), ("nosniff", "no-referrer"));
    // Oversized bodies are refused from their Content-Length, before they are read.
    assert!(
        c.raw_status(0, "POST /api/v1/units HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5242880")
            .starts_with("HTTP/1.1 413")
    );
    assert_eq!(c.get_as(1, "/healthz", "").0, 200);

    let staff = make_user(
        &c,
        json!({"id": "sara", "name": "Sara Sjuksköterska", "role": "staff", "units": ["ost-iva"], "password": "lösenord-för-sara"}),
    );
    let purch = make_user(
        &c,
        json!({"id": "per", "name": "Per Inköpare", "role": "purchaser", "password": "lösenord-för-per"}),
    );
    let (s, v) = c.post(0, "/api/v1/users", &json!({"id": "kort", "name": "K", "role": "staff", "password": "kort"}));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("password")), "{v}");

    // Staff: own unit only, no approval, no catalog, no accounts. Tried on every node.
    let f = (leader + 1) % 3;
    let (s, v) = c.post_as(
        f,
        "/api/v1/orders",
        &json!({"id": "own", "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 1}]}),
        &staff,
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["history"][0]["actor"], "sara", "the author is recorded");
    let (s, v) = c.post_as(
        f,
        "/api/v1/orders",
        &json!({"unit_id": "norr-akut", "lines": [{"article_id": "art-0", "quantity": 1}]}),
        &staff,
    );
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("order.forbidden")), "{v}");
    let (s, v) = c.post_as(leader, "/api/v1/orders/own/submit", &json!({}), &staff);
    assert_eq!(s, 200, "{v}");
    let (s, v) = c.post_as(leader, "/api/v1/orders/own/approve", &json!({}), &staff);
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("order.forbidden")), "{v}");
    let art = json!({"id": "x", "article_number": "x", "name": "x", "unit": "EA", "pack_size": 1, "supplier_id": "sup-1", "category": "x"});
    let (s, v) = c.post_as(f, "/api/v1/articles", &art, &staff);
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("article.forbidden")), "{v}");
    let (s, _) = c.get_as(f, "/api/v1/users", &staff);
    assert_eq!(s, 403);
    let (s, v) = c.get_as(f, "/api/v1/me", &staff);
    assert_eq!((s, v["role"].as_str(), v["has_password"].as_bool()), (200, Some("staff"), Some(true)), "{v}");

    // Purchaser: every unit, approves, but no catalog.
    let (s, v) = c.post_as(
        f,
        "/api/v1/orders",
        &json!({"id": "theirs", "unit_id": "norr-akut", "lines": [{"article_id": "art-1", "quantity": 2}]}),
        &purch,
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post_as(f, "/api/v1/orders/own/approve", &json!({}), &purch);
    assert_eq!((s, v["status"].as_str()), (200, Some("approved")), "{v}");
    let (s, _) = c.post_as(f, "/api/v1/articles", &art, &purch);
    assert_eq!(s, 403);

    // Staff see only their unit's orders; another unit's order is simply not there.
    let (_, v) = c.get_as(f, "/api/v1/orders", &staff);
    let ids: Vec<&str> = v["items"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, ["own"]);
    assert_eq!(c.get_as(f, "/api/v1/orders/theirs", &staff).0, 404);
    assert_eq!(c.get_as(f, "/api/v1/orders", &purch).1["items"].as_array().map(Vec::len), Some(2));

    // The audit trail has every command with its author and outcome; only admins read it.
    assert_eq!(c.get_as(f, "/api/v1/audit", &staff).0, 403);
    let (s, v) = c.get(f, "/api/v1/audit?limit=2");
    assert_eq!((s, v["items"].as_array().map(Vec::len)), (200, Some(2)), "{v}");
    assert!(v["next"].is_string());
    let (s, bytes) = c.get_bytes(f, "/api/v1/audit?format=csv");
    assert_eq!(s, 200);
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).expect("UTF-8 BOM");
    let mut rows = csv::ReaderBuilder::new().delimiter(b';').from_reader(text);
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        ["log_index", "at", "node", "actor", "command_id", "command", "target", "outcome"]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let by_sara: Vec<(&str, &str, &str)> =
        rows.iter().filter(|r| &r[3] == "sara").map(|r| (&r[5], &r[6], &r[7])).collect();
    assert!(by_sara.contains(&("create_order", "order/own", "applied")), "{by_sara:?}");
    assert!(by_sara.contains(&("transition", "order/own:submit", "applied")), "{by_sara:?}");
    // Refused early by the node, the forbidden order never reached the log.
    assert!(!by_sara.iter().any(|r| r.2 == "order.forbidden"), "{by_sara:?}");

    // Revoking a token and disabling an account work on every node.
    let (s, v) = c.get(0, "/api/v1/me");
    assert_eq!((s, v["role"].as_str()), (200, Some("admin")));
    let spare = token_for(&c, "per");
    let spare_id = spare.trim_start_matches("brd_").split('_').next().unwrap_or_default().to_owned();
    let (s, v) = c.post_as(f, &format!("/api/v1/tokens/{spare_id}/revoke"), &json!({}), &purch);
    assert_eq!(s, 200, "{v}");
    for i in 0..3 {
        refused_on(&c, i, &spare);
    }
    assert_eq!(c.get_as(f, "/api/v1/me", &purch).0, 200, "the purchaser's other token still works");

    // Expired at creation: the account exists but its token never works.
    let expired = make_user(
        &c,
        json!({"id": "tillfallig", "name": "Extern Användare", "role": "staff", "units": ["ost-iva"], "expires_at": "2020-01-01T00:00:00Z"}),
    );
    refused_on(&c, f, &expired);

    // Disable the staff member, then cut the survivor off: it still refuses the account.
    let survivor = (leader + 1) % 3;
    let (s, v) = c.post(leader, "/api/v1/users/sara/disable", &json!({}));
    assert_eq!(s, 200, "{v}");
    refused_on(&c, survivor, &staff);
    for i in 0..3 {
        if i != survivor {
            c.kill(i);
        }
    }
    refused_on(&c, survivor, &staff);
    assert_eq!(c.get_as(survivor, "/api/v1/me", &purch).0, 200, "reads work without quorum");
}
