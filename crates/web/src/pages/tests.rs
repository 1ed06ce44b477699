//! Pages in process, over [`MemBackend`]: the order list shows staff only their units' orders,
//! and a form posted while no leader answers goes to the outbox page (the one write pipeline's
//! `Queued`), not to an error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::{OrderId, Role, StateViewExt};

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

#[tokio::test]
async fn the_order_list_and_order_pages_show_staff_only_their_units_orders() {
    let d = domain::demo_data::demo();
    let (a, b_unit) = (d.units[0].id.to_string(), d.units[1].id.to_string());
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[a.as_str()])]);
    let t = &tokens["nurse-a"];
    let view = b.view();
    // The newest order of each unit: the list shows newest first.
    let number = |unit: &str| {
        let id = d.orders.iter().rev().find(|o| o.fields.unit_id.as_str() == unit).unwrap().fields.id.clone();
        (id.clone(), view.order(&id).unwrap().unwrap().number)
    };
    let ((_, own), (other_id, other)) = (number(&a), number(&b_unit));

    let (status, html) = text(b.send(MemBackend::request("GET", "/orders", t, None)).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-node-id=\"1\""), "every page names its node");
    assert!(html.contains(&own), "unit A's order {own} is listed");
    assert!(!html.contains(&other), "unit B's order {other} is not");

    let page = format!("/orders/{}", OrderId::new(other_id.as_str()));
    let (status, html) = text(b.send(MemBackend::request("GET", &page, t, None)).await).await;
    assert_eq!(status, 404);
    assert!(!html.contains(&other));
}

#[tokio::test]
async fn an_order_form_posted_without_a_leader_goes_to_the_outbox() {
    let d = domain::demo_data::demo();
    let unit = d.units[0].id.to_string();
    let article = d.articles.iter().find(|a| !a.withdrawn).unwrap();
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[unit.as_str()])]);
    b.lose_leader();
    let form = format!(
        "form=t-form-1&op=submit&unit={unit}&lines=1&line-0-article={}&line-0-quantity=2&line-0-note=",
        article.id
    );
    let req = MemBackend::request(
        "POST",
        "/orders/new",
        &tokens["nurse-a"],
        Some(("application/x-www-form-urlencoded", form)),
    );
    let res = b.send(req).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/outbox?done=queued#item-1");
    let queued = b.outbox().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].id.as_str(), "page:t-form-1", "the form's id is the command id");
}
