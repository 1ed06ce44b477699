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
    ]
    .concat();
    let routes: Vec<&str> =
        source.split(".route(\"").skip(1).filter_map(|r| r.split('"').next()).filter(|r| r.starts_with('/')).collect();
    assert!(routes.len() > 20, "{routes:?}");
    for r in routes {
        assert!(paths.contains_key(r), "{r} is served but missing from openapi.json");
    }
}
