//! The start page: my units' open orders, what waits for me, and the cluster as this node sees it.

use super::chrome::{Chrome, Ctx, PageResult, index, render};
use super::orders::Row;
use askama::Template;
use documents::read_model::OrderSort;
use domain::{OrderStatus, Role};

pub struct NodeLine {
    pub id: u64,
    pub http: String,
    pub role: &'static str,
    pub lag: Option<u64>,
}

#[derive(Template)]
#[template(path = "home/page.html")]
struct HomePage {
    c: Chrome,
    /// My units' open orders, newest first.
    rows: Vec<Row>,
    open_total: usize,
    /// (what, how many, link)
    waiting: Vec<(&'static str, usize, String)>,
    nodes: Vec<NodeLine>,
}

const SHOWN: usize = 10;

pub async fn page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("home");
    let user = ctx.user()?;
    let b = ctx.backend.clone();
    let ix = index(&b)?;
    let open: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| !s.is_final()).collect();
    let count = |s: &[OrderStatus]| ix.count(&ix.filter(&user, None, s, None, None, None));
    let (rows, open_total) = match user.role {
        Role::Staff => ix.find(&ix.filter(&user, None, &open, None, None, None), OrderSort::Newest, 0, SHOWN),
        _ => (Vec::new(), 0),
    };
    let mut waiting = Vec::new();
    match user.role {
        Role::Staff => {
            waiting.push(("home.wait_drafts", count(&[OrderStatus::Draft]), "/orders?status=draft".into()));
            waiting.push((
                "home.wait_deliveries",
                count(&[OrderStatus::Sent, OrderStatus::Confirmed, OrderStatus::PartiallyDelivered]),
                "/orders?status=open&sort=needed_by".into(),
            ));
        }
        Role::Purchaser | Role::Admin => {
            waiting.push(("home.wait_review", count(&[OrderStatus::Submitted]), "/purchasing?tab=review".into()));
            waiting.push(("home.wait_send", count(&[OrderStatus::Approved]), "/purchasing?tab=send".into()));
            waiting.push((
                "home.wait_delivery",
                count(&[OrderStatus::Sent, OrderStatus::Confirmed, OrderStatus::PartiallyDelivered]),
                "/purchasing?tab=delivery".into(),
            ));
        }
        Role::Communicator | Role::Ops => {}
    }
    let cluster = b.cluster();
    let nodes = cluster
        .nodes
        .iter()
        .map(|(id, m)| NodeLine {
            id: *id,
            http: m.http.clone(),
            role: if cluster.leader_id == Some(*id) {
                "role.leader"
            } else if cluster.learners.contains(id) {
                "role.learner"
            } else {
                "role.voter"
            },
            lag: cluster.lag.get(id).copied(),
        })
        .collect();
    let page = HomePage { open_total, rows: rows.iter().map(|o| Row::of(&ix, o)).collect(), waiting, nodes, c: ctx.c };
    drop(ix);
    render(&page)
}
