//! The JSON API in process, over [`MemBackend`]: what staff of one care unit may see of
//! another's orders through every order route, the answer to a create, and the outbox rule for
//! a write without a leader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::{OrderId, Role, StateViewExt};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

/// Two demo units, A and B, and a demo order of each.
struct Units {
    a: String,
    b: String,
    a_order: OrderId,
    b_order: OrderId,
}

fn units() -> Units {
    let d = domain::demo_data::demo();
    let (a, b) = (d.units[0].id.to_string(), d.units[1].id.to_string());
    let first = |u: &str| d.orders.iter().find(|o| o.fields.unit_id.as_str() == u).unwrap().fields.id.clone();
    Units { a_order: first(&a), b_order: first(&b), a, b }
}

#[tokio::test]
async fn staff_of_one_unit_see_nothing_of_another_units_orders_through_any_order_route() {
    let u = units();
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[u.a.as_str()])]);
    let t = &tokens["nurse-a"];

    let (status, body) = text(b.send(MemBackend::request("GET", "/api/v1/orders?limit=500", t, None)).await).await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|o| o["unit_id"] == u.a.as_str()), "only unit A's orders: {body}");

    let own = format!("/api/v1/orders/{}", u.a_order);
    assert_eq!(b.send(MemBackend::request("GET", &own, t, None)).await.status(), 200);
    for path in [
        format!("/api/v1/orders/{}", u.b_order),
        format!("/api/v1/orders/{}/export?format=csv", u.b_order),
        format!("/api/v1/orders/{}/export?format=pdf", u.b_order),
    ] {
        let (status, body) = text(b.send(MemBackend::request("GET", &path, t, None)).await).await;
        assert_eq!(status, 404, "{path}: another unit's order is missing, not forbidden: {body}");
        // The error names the order asked for, and nothing of it: not its unit, not its lines.
        assert!(!body.contains(&u.b) && !body.contains("\"lines\"") && !body.contains("article"), "{path}: {body}");
    }
    // Nor may they write for it: the early check refuses, and nothing reaches the log.
    let before = b.cluster().last_applied_index;
    let cancel = format!("/api/v1/orders/{}/cancel", u.b_order);
    let res =
        b.send(MemBackend::request("POST", &cancel, t, Some(("application/json", r#"{"reason":"x"}"#.into())))).await;
    assert!(matches!(res.status().as_u16(), 403 | 404), "{}", res.status());
    assert_eq!(b.cluster().last_applied_index, before);
}

#[tokio::test]
async fn a_created_order_is_answered_as_applied_and_a_retry_returns_the_same_order() {
    let u = units();
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[u.a.as_str()])]);
    let article = domain::demo_data::demo().articles.iter().find(|a| !a.withdrawn).unwrap().id.clone();
    let body = json!({ "id": "t-order-1", "unit_id": u.a, "lines": [{ "article_id": article, "quantity": 3 }] });
    let post = || {
        MemBackend::request("POST", "/api/v1/orders", &tokens["nurse-a"], Some(("application/json", body.to_string())))
    };

    let (status, first) = text(b.send(post()).await).await;
    assert_eq!(status, 201, "{first}");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["id"], "t-order-1");
    assert_eq!(first["status"], "draft");
    assert!(first["number"].as_str().is_some_and(|n| !n.is_empty()));

    let (status, again) = text(b.send(post()).await).await;
    assert_eq!(status, 201, "{again}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["number"], first["number"], "the same order, not a second one");
    assert_eq!(b.view().order(OrderId::new("t-order-1")).unwrap().unwrap().version, 1);
}

#[tokio::test]
async fn a_replayed_command_id_never_shows_another_units_order() {
    let u = units();
    let (b, tokens) =
        MemBackend::demo(&[("nurse-a", Role::Staff, &[u.a.as_str()]), ("nurse-b", Role::Staff, &[u.b.as_str()])]);
    let article = domain::demo_data::demo().articles.iter().find(|a| !a.withdrawn).unwrap().id.clone();
    let order = |unit: &str, id: &str| json!({ "id": id, "unit_id": unit, "lines": [{ "article_id": article, "quantity": 7 }] });
    let post = |who: &str, body: &Value| {
        MemBackend::request("POST", "/api/v1/orders", &tokens[who], Some(("application/json", body.to_string())))
    };
    let (status, body) = text(b.send(post("nurse-b", &order(&u.b, "secret-b"))).await).await;
    assert_eq!(status, 201, "{body}");

    // Unit A's nurse orders for their own unit under the command id of B's order.
    let mut req = post("nurse-a", &order(&u.a, "mine-a"));
    req.headers_mut().insert("idempotency-key", "create.order:secret-b".parse().unwrap());
    let (status, body) = text(b.send(req).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("command.id_reused"), "{body}");
    assert!(!body.contains("secret-b\"") && !body.contains(&u.b) && !body.contains("lines"), "{body}");
    assert!(b.view().order(OrderId::new("mine-a")).unwrap().is_none(), "nothing made under a used id");
}

/// An approved demo order (as applied) and a unit other than its own.
fn approved_order_and_another_unit() -> (domain::Order, String) {
    let d = domain::demo_data::demo();
    let (probe, _) = MemBackend::demo(&[]);
    let view = probe.view();
    let order = d
        .orders
        .iter()
        .map(|o| view.order(&o.fields.id).unwrap().unwrap())
        .find(|o| o.status == domain::OrderStatus::Approved)
        .expect("the demo has an approved order");
    let other = d.units.iter().map(|u| u.id.to_string()).find(|u| *u != order.unit_id.as_str()).unwrap();
    (order, other)
}

#[tokio::test]
async fn dispatch_jobs_and_their_files_show_no_order_to_staff() {
    // A job that sends an approved order to its supplier; staff of that order's unit and of
    // another unit see nothing of it (dispatch is the purchasers').
    let (order, other) = approved_order_and_another_unit();
    let own = order.unit_id.to_string();
    let (b, tokens) = MemBackend::demo(&[
        ("nurse-a", Role::Staff, &[other.as_str()]),
        ("nurse-b", Role::Staff, &[own.as_str()]),
        ("buyer", Role::Purchaser, &[]),
    ]);
    let view = b.view();
    let supplier = view.article(&order.lines[0].article_id).unwrap().unwrap().supplier_id;
    let buyer = &tokens["buyer"];
    let json_body = |v: Value| Some(("application/json", v.to_string()));
    let chan = json!({ "channel": { "kind": "manual", "how": "fax 08-123 45 67" } });
    let path = format!("/api/v1/suppliers/{supplier}/channel");
    let (status, body) = text(b.send(MemBackend::request("PUT", &path, buyer, json_body(chan))).await).await;
    assert_eq!(status, 200, "{body}");
    let job = json!({ "id": "job-b", "supplier_id": supplier, "order_ids": [order.id] });
    let (status, body) =
        text(b.send(MemBackend::request("POST", "/api/v1/dispatch", buyer, json_body(job))).await).await;
    assert_eq!(status, 201, "{body}");

    let routes = [
        "/api/v1/dispatch",
        "/api/v1/dispatch/job-b",
        "/api/v1/dispatch/job-b/files/json",
        "/api/v1/dispatch/job-b/files/csv",
    ];
    // The purchaser sees the job and its files (so the checks below are not vacuous).
    for path in routes {
        let (status, body) = text(b.send(MemBackend::request("GET", path, buyer, None)).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(order.id.as_str()) || body.contains(&order.number), "{path}: {body}");
    }
    for who in ["nurse-a", "nurse-b"] {
        let t = &tokens[who];
        for path in routes {
            let (status, body) = text(b.send(MemBackend::request("GET", path, t, None)).await).await;
            assert!(matches!(status.as_u16(), 200 | 403 | 404), "{who} {path}: {status}");
            assert!(!body.contains(order.id.as_str()) && !body.contains(&order.number), "{who} {path}: {body}");
        }
        let (status, html) = text(b.send(MemBackend::request("GET", "/dispatch/job-b", t, None)).await).await;
        assert!(matches!(status.as_u16(), 403 | 404), "{who} /dispatch/job-b: {status}");
        assert!(!html.contains(&order.number), "{who}");
    }
}

#[tokio::test]
async fn wrong_unsubscribe_tokens_never_reach_the_log_and_a_flood_is_throttled() {
    let (b, _) = MemBackend::demo(&[]);
    let before = b.view().scan(domain::Table::Audit, None, usize::MAX).unwrap().len();
    let mut throttled = 0;
    for i in 0..20 {
        let token = format!("{i:0>40}");
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/v1/subscribers/nobody/unsubscribe")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({ "token": token }).to_string()))
            .unwrap();
        let (status, body) = text(b.send(req).await).await;
        match status.as_u16() {
            404 => assert!(body.contains("subscriber.not_found"), "{body}"),
            429 => throttled += 1,
            other => panic!("{other}: {body}"),
        }
    }
    assert!(throttled > 0, "twenty tries in a row from one address are slowed down");
    let after = b.view().scan(domain::Table::Audit, None, usize::MAX).unwrap().len();
    assert_eq!(after, before, "no log entry, no audit line for a wrong token");
}

#[tokio::test]
async fn a_page_is_acknowledged_once_with_its_token_and_a_wrong_one_writes_nothing() {
    let (b, tokens) = MemBackend::demo(&[("comms", Role::Communicator, &[]), ("nurse", Role::Staff, &[])]);
    let send = |who: &str, path: &str, body: Value| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/json", body.to_string())))
    };
    let pager = json!({"kind": "pager", "value": "+46 74 100 80 00", "hours": "", "last_tested": null, "note": ""});
    let function = json!({"id": "f-1", "kind": "function", "name": "Inköp jour", "routes": [pager]});
    assert_eq!(b.send(send("comms", "/api/v1/contacts", function)).await.status(), 201);
    let rota = json!({"id": "r-1", "name": "Inköp jour", "function_id": "f-1", "page_wait_seconds": 60});
    assert_eq!(b.send(send("comms", "/api/v1/rotas", rota)).await.status(), 201);
    let (status, body) =
        text(b.send(send("nurse", "/api/v1/pages", json!({"rota_id": "r-1", "message": "CVK-set slut"}))).await).await;
    assert_eq!(status, 201, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["token"], Value::Null, "the answer never carries the token: {page}");
    assert_eq!(page["chain"][0]["address"], "+46741008000", "{page}");
    let id = page["id"].as_str().unwrap().to_owned();
    let token = b.view().page(domain::PageId::new(id.as_str())).unwrap().unwrap().token;
    let ack = |token: &str| {
        axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1/pages/{id}/acknowledge"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({ "step": 0, "token": token }).to_string()))
            .unwrap()
    };
    let before = b.view().scan(domain::Table::Audit, None, usize::MAX).unwrap().len();
    let (status, body) = text(b.send(ack(&"0".repeat(32))).await).await;
    assert_eq!((status.as_u16(), body.contains("page.not_found")), (404, true), "{body}");
    assert_eq!(b.view().scan(domain::Table::Audit, None, usize::MAX).unwrap().len(), before, "nothing logged");
    assert_eq!(b.send(ack(&token)).await.status(), 204);
    let (status, body) = text(b.send(ack(&token)).await).await;
    assert_eq!((status.as_u16(), body.contains("page.closed")), (409, true), "once: {body}");
    let p = b.view().page(domain::PageId::new(id.as_str())).unwrap().unwrap();
    assert_eq!(p.state, domain::paging::PageState::Acknowledged);
}

#[tokio::test]
async fn the_state_digest_is_for_ops_only() {
    let (b, tokens) = MemBackend::demo(&[("nurse", Role::Staff, &[]), ("ops", Role::Ops, &[])]);
    let anonymous =
        axum::http::Request::builder().uri("/api/v1/cluster?digest=true").body(axum::body::Body::empty()).unwrap();
    assert_eq!(b.send(anonymous).await.status(), 401);
    let get = |who: &str| MemBackend::request("GET", "/api/v1/cluster?digest=true", &tokens[who], None);
    assert_eq!(b.send(get("nurse")).await.status(), 403);
    let (status, body) = text(b.send(get("ops")).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sha256"), "{body}");
    // Without the digest the summary stays open to monitoring.
    let plain = axum::http::Request::builder().uri("/api/v1/cluster").body(axum::body::Body::empty()).unwrap();
    assert_eq!(b.send(plain).await.status(), 200);
}

#[tokio::test]
async fn webhooks_into_the_local_network_are_refused_when_saved() {
    let (b, tokens) = MemBackend::demo(&[("buyer", Role::Purchaser, &[]), ("comms", Role::Communicator, &[])]);
    let supplier = domain::demo_data::demo().suppliers[0].id.clone();
    let path = format!("/api/v1/suppliers/{supplier}/channel");
    for url in [
        "http://localhost@10.0.0.5:8080/x",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1.nip.example/x",
        "https://[::ffff:10.0.0.5]/x",
        "https://2130706433/x",
    ] {
        let chan = json!({ "channel": { "kind": "webhook", "url": url, "body": "ubl" } });
        let req = MemBackend::request("PUT", &path, &tokens["buyer"], Some(("application/json", chan.to_string())));
        let (status, body) = text(b.send(req).await).await;
        assert_eq!(status, 422, "{url}: {body}");
        assert!(body.contains("channel.invalid") && body.contains("\"field\":\"url\""), "{url}: {body}");
        let sub = json!({ "name": "x", "target": { "kind": "webhook", "url": url } });
        let req = MemBackend::request(
            "POST",
            "/api/v1/subscribers",
            &tokens["comms"],
            Some(("application/json", sub.to_string())),
        );
        let (status, body) = text(b.send(req).await).await;
        assert_eq!(status, 422, "subscriber {url}: {body}");
    }
    assert!(b.view().channel(&supplier).unwrap().is_none(), "nothing saved");
}

#[tokio::test]
async fn without_a_leader_a_write_is_queued_only_for_a_client_that_accepts_it() {
    let u = units();
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[u.a.as_str()])]);
    b.lose_leader();
    let article = domain::demo_data::demo().articles.iter().find(|a| !a.withdrawn).unwrap().id.clone();
    let body = json!({ "id": "t-queued", "unit_id": u.a, "lines": [{ "article_id": article, "quantity": 1 }] });
    let post = || {
        MemBackend::request("POST", "/api/v1/orders", &tokens["nurse-a"], Some(("application/json", body.to_string())))
    };

    let (status, refused) = text(b.send(post()).await).await;
    assert_eq!(status, 503, "{refused}");
    assert!(refused.contains("cluster.no_quorum"), "{refused}");
    assert!(b.outbox().unwrap().is_empty(), "nothing queued without Prefer");

    let mut req = post();
    req.headers_mut().insert("prefer", "respond-async".parse().unwrap());
    let (status, queued) = text(b.send(req).await).await;
    assert_eq!(status, 202, "{queued}");
    let queued: Value = serde_json::from_str(&queued).unwrap();
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["seq"], 1);
    assert_eq!(b.outbox().unwrap().len(), 1);

    // What may not wait (here a new API token) is refused, Prefer or not.
    let mut req = MemBackend::request(
        "POST",
        "/api/v1/tokens",
        &tokens["nurse-a"],
        Some(("application/json", json!({ "label": "x" }).to_string())),
    );
    req.headers_mut().insert("prefer", "respond-async".parse().unwrap());
    let (status, body) = text(b.send(req).await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(b.outbox().unwrap().len(), 1);
}

use super::health;

/// Every route in this folder is in the OpenAPI document (the health routes are listed too).
#[test]
fn the_openapi_document_names_every_route() {
    let doc: serde_json::Value = serde_json::from_str(health::OPENAPI).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let source = [
        include_str!("health.rs"),
        include_str!("catalog.rs"),
        include_str!("orders.rs"),
        include_str!("users.rs"),
        include_str!("status.rs"),
        include_str!("contacts.rs"),
        include_str!("cards.rs"),
        include_str!("outbox.rs"),
        include_str!("merge.rs"),
        include_str!("drills.rs"),
        include_str!("channels.rs"),
        include_str!("dispatch.rs"),
        include_str!("subscribers.rs"),
        include_str!("members.rs"),
        include_str!("invitations.rs"),
        include_str!("banners.rs"),
        include_str!("exercises.rs"),
        include_str!("idps.rs"),
        include_str!("paging.rs"),
        include_str!("reports.rs"),
        include_str!("offline.rs"),
        include_str!("downloads.rs"),
    ]
    .concat();
    let routes: Vec<&str> =
        source.split(".route(\"").skip(1).filter_map(|r| r.split('"').next()).filter(|r| r.starts_with('/')).collect();
    assert!(routes.len() > 20, "{routes:?}");
    for r in routes {
        assert!(paths.contains_key(r), "{r} is served but missing from openapi.json");
    }
}

/// A login request from `ip`, as the node's HTTP server hands it on (with the peer address).
fn login_from(ip: &str, user: &str, password: &str) -> axum::http::Request<axum::body::Body> {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({ "user": user, "password": password }).to_string()))
        .unwrap();
    let peer: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    req
}

#[tokio::test]
async fn a_burst_of_parallel_wrong_logins_is_throttled_before_any_password_is_hashed() {
    let (b, _) = MemBackend::demo(&[("carl", Role::Staff, &[])]);
    let hash = crate::auth::hash_password("carls-riktiga-lösenord").unwrap();
    let cmd = domain::Command::SetPassword { user_id: domain::UserId::new("carl"), password_hash: hash };
    b.submit(domain::CommandId::new("pw"), cmd, None).await.unwrap();
    let tries = (0..12).map(|i| {
        let b = b.clone();
        tokio::spawn(async move { b.send(login_from("192.0.2.41", "carl", &format!("gissning-{i}"))).await.status() })
    });
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap().as_u16());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 5, "only five attempts reach the password check: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 401 | 429)), "{statuses:?}");
    // Every checked attempt is in this node's access log, by account and address.
    let log = b.access_log(100);
    assert_eq!(log.iter().filter(|e| e.event == "login_failed" && e.user == "carl").count(), 5);
    assert!(log.iter().all(|e| e.client == "192.0.2.41"), "{log:?}");
}

#[tokio::test]
async fn logins_and_logouts_are_in_the_nodes_access_log_and_a_disabled_accounts_token_is_noted() {
    let (b, tokens) = MemBackend::demo(&[("dora", Role::Staff, &[]), ("admin", Role::Admin, &[])]);
    let hash = crate::auth::hash_password("doras-riktiga-lösenord").unwrap();
    let cmd = domain::Command::SetPassword { user_id: domain::UserId::new("dora"), password_hash: hash };
    b.submit(domain::CommandId::new("pw"), cmd, None).await.unwrap();
    // (the new password ended Dora's test token; the admin's still works)
    assert_eq!(b.send(login_from("192.0.2.42", "dora", "fel")).await.status(), 401);
    assert_eq!(b.send(login_from("192.0.2.42", "dora", "doras-riktiga-lösenord")).await.status(), 200);
    let disable = MemBackend::request("POST", "/api/v1/users/dora/disable", &tokens["admin"], None);
    assert_eq!(b.send(disable).await.status(), 200);
    let t = crate::auth::new_token();
    let cmd = domain::Command::CreateToken {
        token_id: t.id.clone(),
        user_id: domain::UserId::new("dora"),
        secret_sha256: t.secret_sha256,
        label: String::new(),
        expires_at: None,
    };
    b.submit(domain::CommandId::new("tok"), cmd, None).await.unwrap();
    assert_eq!(b.send(MemBackend::request("GET", "/api/v1/me", &t.token, None)).await.status(), 401);
    let events: Vec<(String, String)> = b.access_log(10).into_iter().map(|e| (e.event, e.user)).collect();
    let want = [("token_refused", "dora"), ("login", "dora"), ("login_failed", "dora")];
    assert_eq!(events, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    // The admin's audit page shows them.
    let (status, html) = text(b.send(MemBackend::request("GET", "/admin/audit", &tokens["admin"], None)).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("192.0.2.42"), "{html}");
}

/// A log entry carries a batch of commands: the audit page's newest window shows every line of
/// it and the line after, not only the first hundred lines.
#[tokio::test]
async fn the_audit_page_shows_every_command_of_a_batch_and_the_newest_line() {
    let (b, tokens) = MemBackend::demo(&[("admin", Role::Admin, &[])]);
    let supplier = |i: usize| {
        domain::Command::CreateSupplier(domain::command::SupplierFields::named(
            format!("batch-sup-{i:03}").as_str(),
            format!("Leverantör {i}"),
        ))
    };
    b.apply_batch((0..150).map(supplier).collect());
    b.apply_batch(vec![supplier(150)]);
    let (status, html) = text(b.send(MemBackend::request("GET", "/admin/audit", &tokens["admin"], None)).await).await;
    assert_eq!(status, 200);
    for i in [0, 1, 99, 100, 149, 150] {
        assert!(html.contains(&format!("supplier/batch-sup-{i:03}")), "line {i} missing");
    }
}

/// Every GET route of the API (from the OpenAPI document) and of the pages, asked by staff of
/// unit A with the ids of unit B's records put into the path: nothing of unit B comes back.
/// Unit B's order carries a marker in its note, is approved and sent to its supplier by a
/// dispatch job, and a second order of B waits in this node's outbox.
#[tokio::test]
async fn staff_of_one_unit_get_nothing_of_another_unit_through_any_get_route() {
    const MARK: &str = "HEMLIG-B-7731";
    // Unit B: the unit of an approved demo order (so a supplier job can carry one of B's).
    let (approved, unit_a) = approved_order_and_another_unit();
    let unit_b = approved.unit_id.to_string();
    let (b, tokens) = MemBackend::demo(&[
        ("nurse-a", Role::Staff, &[unit_a.as_str()]),
        ("nurse-b", Role::Staff, &[unit_b.as_str()]),
        ("buyer", Role::Purchaser, &[]),
    ]);
    let send = |who: &str, method: &str, path: &str, body: Option<Value>| {
        let req = MemBackend::request(method, path, &tokens[who], body.map(|v| ("application/json", v.to_string())));
        let b = b.clone();
        async move { text(b.send(req).await).await }
    };
    // B's own order with the marker, approved and dispatched by the purchaser.
    let article = approved.lines[0].article_id.clone();
    let body = json!({ "id": "b-secret", "unit_id": unit_b, "note": MARK, "submit": true,
        "lines": [{ "article_id": article, "quantity": 3, "note": MARK }] });
    assert_eq!(send("nurse-b", "POST", "/api/v1/orders", Some(body)).await.0, 201);
    assert_eq!(send("buyer", "POST", "/api/v1/orders/b-secret/approve", Some(json!({}))).await.0, 200);
    let number = b.view().order(OrderId::new("b-secret")).unwrap().unwrap().number;
    let supplier = b.view().article(&article).unwrap().unwrap().supplier_id;
    let chan = json!({ "channel": { "kind": "manual", "how": "fax" } });
    assert_eq!(send("buyer", "PUT", &format!("/api/v1/suppliers/{supplier}/channel"), Some(chan)).await.0, 200);
    let job = json!({ "id": "job-b", "supplier_id": supplier, "order_ids": ["b-secret"] });
    assert_eq!(send("buyer", "POST", "/api/v1/dispatch", Some(job)).await.0, 201);
    // A second order of B, queued in the outbox (no leader).
    b.lose_leader();
    let queued = json!({ "id": "b-queued", "unit_id": unit_b, "note": MARK,
        "lines": [{ "article_id": article, "quantity": 1 }] });
    let mut req = MemBackend::request(
        "POST",
        "/api/v1/orders",
        &tokens["nurse-b"],
        Some(("application/json", queued.to_string())),
    );
    req.headers_mut().insert("prefer", "respond-async".parse().unwrap());
    assert_eq!(b.send(req).await.status(), 202);

    // Every GET route, with B's ids where the path takes one.
    let doc: Value = serde_json::from_str(super::health::OPENAPI).unwrap();
    let mut paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.get("get").is_some())
        .map(|(p, _)| p.clone())
        .collect();
    let pages = include_str!("../pages/mod.rs");
    paths.extend(
        pages
            .split(".route(\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .filter(|r| r.starts_with('/') && !r.starts_with("/assets"))
            .map(str::to_owned),
    );
    let ids = ["b-secret", "job-b", "1", supplier.as_str(), unit_b.as_str()];
    let formats = ["json", "csv", "xlsx", "pdf", "ubl"];
    let mut asked = 0;
    for p in &paths {
        let mut concrete = vec![p.clone()];
        for (name, values) in [("{id}", &ids[..]), ("{seq}", &["1"][..]), ("{format}", &formats[..])] {
            concrete = concrete
                .iter()
                .flat_map(|c| {
                    if c.contains(name) { values.iter().map(|v| c.replace(name, v)).collect() } else { vec![c.clone()] }
                })
                .collect();
        }
        for path in concrete {
            if path.contains('{') {
                continue; // a parameter this test does not fill (kinds, actions, tokens)
            }
            for query in ["", "?format=csv", "?format=json&limit=500", "?state=all"] {
                let full = format!("{path}{query}");
                let (status, body) = send("nurse-a", "GET", &full, None).await;
                asked += 1;
                assert!(status.as_u16() < 500, "{full}: {status}");
                let about_b = ["b-secret", "b-queued", "job-b"].iter().any(|id| path.contains(id));
                if about_b && path.starts_with("/api/") {
                    assert!(!status.is_success(), "{full}: {status} {body}");
                }
                assert!(!body.contains(MARK) && !body.contains(&number), "{full} shows unit B's order: {body}");
            }
        }
    }
    assert!(asked > 150, "{asked} requests");
}

/// A key that made something else, sent again with a revocation or a member change, changes
/// nothing in the cluster (schemathesis once had a demo node removed that way).
#[tokio::test]
async fn a_replayed_idempotency_key_never_carries_out_a_revocation_or_a_member_change() {
    let (b, tokens) = MemBackend::demo(&[("ops", Role::Ops, &[])]);
    b.apply_batch(vec![domain::Command::RegisterNode {
        id: 2,
        http: "http://n2:8080".into(),
        grpc: "n2:50051".into(),
    }]);
    let keyed = |path: &str, body: Option<&str>| {
        let mut req =
            MemBackend::request("POST", path, &tokens["ops"], body.map(|b| ("application/json", b.to_owned())));
        req.headers_mut().insert("idempotency-key", "k-replayed".parse().unwrap());
        req
    };
    let (status, body) = text(b.send(keyed("/api/v1/invitations", Some(r#"{"name": "laptop"}"#))).await).await;
    assert_eq!(status, 201, "{body}");
    for path in [
        "/api/v1/invitations/2/revoke",
        "/api/v1/cluster/members/2/remove",
        "/api/v1/cluster/members/1/transfer_leader",
    ] {
        let (status, body) = text(b.send(keyed(path, None)).await).await;
        assert_eq!(status, 409, "{path}: {body}");
        assert!(b.member_changes().is_empty(), "{path} carried out a member change");
    }
    assert!(!b.view().node(2u64).unwrap().unwrap().retired, "node 2 is still a member");
}
