//! Every route of the JSON API, role by role, in process: each role gets what its area allows
//! and a 403 (with nothing written) for everything else; nobody without a token gets more than
//! the public routes. The table must name every operation of the OpenAPI document, so a new
//! route cannot be added without saying who may use it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::Role;
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

const ALL: &[Role] = &[Role::Admin, Role::Purchaser, Role::Staff, Role::Communicator, Role::Ops];
const ADMIN: &[Role] = &[Role::Admin];
const ORDERING: &[Role] = &[Role::Admin, Role::Purchaser, Role::Staff];
const BUYING: &[Role] = &[Role::Admin, Role::Purchaser];
const COMMS: &[Role] = &[Role::Admin, Role::Communicator];
const OPS: &[Role] = &[Role::Admin, Role::Ops];
/// Who plans, ends and clears exercises: the crisis staff, ops and admins.
const EXERCISING: &[Role] = &[Role::Admin, Role::Communicator, Role::Ops];
/// Who may file a situation report for the nurse's unit: she, the crisis staff, ops and admins.
const REPORTING: &[Role] = &[Role::Admin, Role::Staff, Role::Communicator, Role::Ops];
/// Who may stop the page the nurse raised: she, communicators, ops and admins.
const STOP_PAGE: &[Role] = &[Role::Admin, Role::Staff, Role::Communicator, Role::Ops];

/// Operations the table leaves out, each with the test that covers it instead.
const NOT_BY_ROLE: &[(&str, &str)] = &[
    ("POST /api/v1/login", "anyone may try: node::it::sessions"),
    ("POST /api/v1/logout", "ends the caller's own session: node::it::sessions"),
    ("POST /api/v1/login/certificate", "needs a client certificate: node::it::tls"),
    ("POST /api/v1/subscribers/{id}/unsubscribe", "its token is the permission: api::tests"),
    ("POST /api/v1/pages/{id}/acknowledge", "its token is the permission: api::tests"),
    ("POST /api/v1/outbox/{seq}/resolve", "only the item's author, without a leader: node::it::outbox"),
    ("GET /api/v1/outbox/{seq}/export", "only the item's author, without a leader: node::it::outbox"),
];

/// Public: answered without a token.
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/openapi.json",
    "/api/v1/cluster",
    "/api/v1/status",
    "/api/v1/cluster/ca",
];

struct Route {
    method: &'static str,
    /// The OpenAPI path, and the path asked (with ids filled in; `{n}` is this attempt's number).
    spec: &'static str,
    path: String,
    /// The body, without `version`; with `version_of` (a path and a record id), the record's
    /// current version, read as admin from that path, is added.
    body: Option<Value>,
    version_of: Option<(String, String)>,
    allowed: &'static [Role],
    /// A list that shows each caller what they may see: the others get it empty, not a 403.
    filtered: bool,
}

fn get(spec: &'static str, path: &str, allowed: &'static [Role]) -> Route {
    Route { method: "GET", spec, path: path.into(), body: None, version_of: None, allowed, filtered: false }
}

/// A list filtered by what the caller may see (see [`Route::filtered`]).
fn list(spec: &'static str, path: &str, allowed: &'static [Role]) -> Route {
    Route { filtered: true, ..get(spec, path, allowed) }
}

fn send(method: &'static str, spec: &'static str, path: &str, body: Value, allowed: &'static [Role]) -> Route {
    Route { method, spec, path: path.into(), body: Some(body), version_of: None, allowed, filtered: false }
}

/// A PUT of record `id`, whose version is read from `from`.
fn versioned(spec: &'static str, path: &str, body: Value, from: &str, id: &str, allowed: &'static [Role]) -> Route {
    let version_of = Some((from.to_owned(), id.to_owned()));
    Route { method: "PUT", spec, path: path.into(), body: Some(body), version_of, allowed, filtered: false }
}

/// The `version` of the object with `id` anywhere in `v` (with no id: of `v` itself).
fn version_of(v: &Value, id: &str) -> Option<Value> {
    match v {
        Value::Object(o) if id.is_empty() => o.get("version").cloned(),
        Value::Object(o) if o.get("id").and_then(Value::as_str) == Some(id) && o.contains_key("version") => {
            o.get("version").cloned()
        }
        Value::Object(o) => o.values().find_map(|x| version_of(x, id)),
        Value::Array(a) => a.iter().find_map(|x| version_of(x, id)),
        _ => None,
    }
}

/// What every role's attempt starts from: the demo, plus one record of each kind made by the
/// roles that may make them.
struct World {
    b: Arc<MemBackend>,
    tokens: std::collections::BTreeMap<String, String>,
    unit: String,
    supplier: String,
    article: String,
    /// A submitted and an approved order and a draft of the staff member's unit.
    submitted: String,
    approved: String,
    draft: String,
    /// Another user's token id (for revoking).
    their_token: String,
}

fn who(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Purchaser => "buyer",
        Role::Staff => "nurse",
        Role::Communicator => "comms",
        Role::Ops => "ops",
    }
}

impl World {
    async fn call(&self, as_: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let token = self.tokens.get(as_).map_or("", String::as_str);
        let req = match (token, body) {
            ("", _) => axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.map(Value::to_string).unwrap_or_default()))
                .unwrap(),
            (t, b) => MemBackend::request(method, path, t, b.map(|v| ("application/json", v.to_string()))),
        };
        let (s, t) = text(self.b.send(req).await).await;
        (s.as_u16(), t)
    }

    async fn ok(&self, as_: &str, method: &str, path: &str, body: Value) -> Value {
        let (s, t) = self.call(as_, method, path, Some(&body)).await;
        assert!((200..300).contains(&s), "setting up: {as_} {method} {path}: {s} {t}");
        serde_json::from_str(&t).unwrap_or(Value::Null)
    }

    async fn new() -> World {
        let d = domain::demo_data::demo();
        let unit = d.units[0].id.to_string();
        let article = d.articles.iter().find(|a| !a.withdrawn).unwrap();
        let (b, tokens) = MemBackend::demo(&[
            ("admin", Role::Admin, &[]),
            ("buyer", Role::Purchaser, &[]),
            ("nurse", Role::Staff, &[unit.as_str()]),
            ("comms", Role::Communicator, &[]),
            ("ops", Role::Ops, &[]),
            ("victim", Role::Staff, &[]),
        ]);
        // A node long enough without a majority, so that break-glass takes a confirmation.
        *b.glass.lock().unwrap() = Some(crate::backend::BreakGlass {
            majority_lost_ms: Some(3_600_000),
            after_ms: 900_000,
            ..Default::default()
        });
        let mut w = World {
            b,
            tokens,
            unit: unit.clone(),
            supplier: article.supplier_id.to_string(),
            article: article.id.to_string(),
            submitted: "w-submitted".into(),
            approved: "w-approved".into(),
            draft: "w-draft".into(),
            their_token: String::new(),
        };
        let order = |id: &str, submit: bool| {
            json!({"id": id, "unit_id": unit, "submit": submit,
                "lines": [{"article_id": article.id.to_string(), "quantity": 2}]})
        };
        w.ok("admin", "POST", "/api/v1/orders", order("w-submitted", true)).await;
        w.ok("admin", "POST", "/api/v1/orders", order("w-approved", true)).await;
        w.ok("admin", "POST", "/api/v1/orders/w-approved/approve", json!({})).await;
        // A second approved order, for the dispatch route to send.
        w.ok("admin", "POST", "/api/v1/orders", order("w-approved-2", true)).await;
        w.ok("admin", "POST", "/api/v1/orders/w-approved-2/approve", json!({})).await;
        w.ok("admin", "POST", "/api/v1/orders", order("w-draft", false)).await;
        let t = w.ok("admin", "POST", "/api/v1/tokens", json!({"user_id": "victim"})).await;
        w.their_token = t["id"].as_str().unwrap().to_owned();
        w.ok("comms", "POST", "/api/v1/status/systems", json!({"id": "sys-1", "name": "Journalen", "site": "Östra"}))
            .await;
        w.ok("comms", "POST", "/api/v1/status/incidents", incident("inc-1")).await;
        w.ok("comms", "POST", "/api/v1/status/maintenance", maintenance("mnt-1")).await;
        w.ok("comms", "POST", "/api/v1/contacts", contact("con-1")).await;
        w.ok("comms", "POST", "/api/v1/rotas", json!({"id": "rota-1", "name": "Jour", "function_id": "con-1"})).await;
        w.ok("comms", "POST", "/api/v1/cards", card("card-1")).await;
        w.ok("comms", "POST", "/api/v1/subscribers", subscriber("sub-1")).await;
        w.ok("nurse", "POST", "/api/v1/pages", json!({"id": "page-1", "rota_id": "rota-1", "message": "CVK-set slut"}))
            .await;
        let chan = json!({"channel": {"kind": "manual", "how": "fax"}});
        w.ok("buyer", "PUT", &format!("/api/v1/suppliers/{}/channel", w.supplier), chan).await;
        let job = json!({"id": "job-1", "supplier_id": w.supplier, "order_ids": [w.approved]});
        w.ok("buyer", "POST", "/api/v1/dispatch", job).await;
        w.ok("ops", "POST", "/api/v1/drills", drill("drill-20261205-010000-aaaa")).await;
        w.ok("comms", "POST", "/api/v1/reports/cycles", cycle()).await;
        w.ok("comms", "POST", "/api/v1/banners", banner("ban-1")).await;
        w.ok("comms", "POST", "/api/v1/banners", banner("ban-2")).await;
        w.ok("comms", "POST", "/api/v1/exercises", exercise("exer-1")).await;
        w.ok("comms", "POST", "/api/v1/exercises", exercise("exer-2")).await;
        w.ok("nurse", "POST", "/api/v1/reports", json!({"unit_id": unit, "light": "yellow", "needs": "Syrgas"})).await;
        w.ok("admin", "POST", "/api/v1/idps", idp("idp-1")).await;
        // An invitation (node 2) for the revoke row.
        w.ok("ops", "POST", "/api/v1/invitations", json!({"name": "laptop"})).await;
        w
    }

    /// The table: every operation, with a body that its allowed roles get through.
    fn routes(&self, n: usize) -> Vec<Route> {
        let (unit, sup, art) = (&self.unit, &self.supplier, &self.article);
        let line = json!([{"article_id": art, "quantity": 1}]);
        vec![
            get("/healthz", "/healthz", ALL),
            get("/readyz", "/readyz", ALL),
            get("/metrics", "/metrics", ALL),
            get("/api/openapi.json", "/api/openapi.json", ALL),
            get("/api/v1/cluster", "/api/v1/cluster", ALL),
            get("/api/v1/me", "/api/v1/me", ALL),
            get("/api/v1/audit", "/api/v1/audit", ADMIN),
            get("/api/v1/users", "/api/v1/users", ADMIN),
            get("/api/v1/users/{id}", "/api/v1/users/victim", ADMIN),
            get("/api/v1/tokens", "/api/v1/tokens", ALL),
            get("/api/v1/suppliers", "/api/v1/suppliers", ALL),
            get("/api/v1/suppliers/{id}", &format!("/api/v1/suppliers/{sup}"), ALL),
            get("/api/v1/organisation", "/api/v1/organisation", ALL),
            get("/api/v1/units", "/api/v1/units", ALL),
            get("/api/v1/units/{id}", &format!("/api/v1/units/{unit}"), ALL),
            get("/api/v1/articles", "/api/v1/articles", ALL),
            get("/api/v1/articles/{id}", &format!("/api/v1/articles/{art}"), ALL),
            get("/api/v1/orders", "/api/v1/orders", ORDERING),
            get("/api/v1/orders/{id}", &format!("/api/v1/orders/{}", self.submitted), ORDERING),
            get(
                "/api/v1/orders/{id}/export",
                &format!("/api/v1/orders/{}/export?format=csv", self.submitted),
                ORDERING,
            ),
            get("/api/v1/suppliers/{id}/export", &format!("/api/v1/suppliers/{sup}/export?format=csv"), ORDERING),
            get("/api/v1/status", "/api/v1/status", ALL),
            get("/api/v1/status/incidents/{id}", "/api/v1/status/incidents/inc-1", ALL),
            get("/api/v1/contacts", "/api/v1/contacts", ALL),
            get("/api/v1/contacts/export", "/api/v1/contacts/export?format=csv", ALL),
            get("/api/v1/contacts/{id}", "/api/v1/contacts/con-1", ALL),
            get("/api/v1/rotas", "/api/v1/rotas", ALL),
            get("/api/v1/cards", "/api/v1/cards", ALL),
            get("/api/v1/cards/{id}", "/api/v1/cards/card-1", ALL),
            get("/binder.pdf", "/binder.pdf", ALL),
            get("/api/v1/outbox", "/api/v1/outbox", ALL),
            get("/api/v1/drills", "/api/v1/drills", OPS),
            get("/api/v1/drills/run", "/api/v1/drills/run", OPS),
            send(
                "POST",
                "/api/v1/drills/run",
                "/api/v1/drills/run",
                json!({"mode": "isolate", "isolate_seconds": 5}),
                OPS,
            ),
            get("/api/v1/drills/{id}", "/api/v1/drills/drill-20261205-010000-aaaa", OPS),
            get("/api/v1/drills/{id}/report.pdf", "/api/v1/drills/drill-20261205-010000-aaaa/report.pdf", OPS),
            get("/api/v1/suppliers/{id}/channel", &format!("/api/v1/suppliers/{sup}/channel"), BUYING),
            // Communicators see the notices (here the page's text), purchasers the orders too.
            list("/api/v1/dispatch", "/api/v1/dispatch", &[Role::Admin, Role::Purchaser, Role::Communicator]),
            get("/api/v1/dispatch/{id}", "/api/v1/dispatch/job-1", BUYING),
            get("/api/v1/dispatch/{id}/files/{format}", "/api/v1/dispatch/job-1/files/json", BUYING),
            get("/api/v1/subscribers", "/api/v1/subscribers", COMMS),
            get("/api/v1/subscribers/{id}", "/api/v1/subscribers/sub-1", COMMS),
            // Accounts and keys.
            send(
                "POST",
                "/api/v1/users",
                "/api/v1/users",
                json!({"id": format!("x-{n}"), "name": "X", "role": "staff"}),
                ADMIN,
            ),
            versioned(
                "/api/v1/users/{id}",
                "/api/v1/users/victim",
                json!({"name": "Ny Namn", "role": "staff"}),
                "/api/v1/users/victim",
                "victim",
                ADMIN,
            ),
            send("POST", "/api/v1/users/{id}/{action}", "/api/v1/users/victim/enable", json!({}), ADMIN),
            send(
                "POST",
                "/api/v1/users/{id}/logout-everywhere",
                "/api/v1/users/victim/logout-everywhere",
                json!({}),
                ADMIN,
            ),
            send("POST", "/api/v1/tokens", "/api/v1/tokens", json!({"label": "egen"}), ALL),
            send(
                "POST",
                "/api/v1/tokens/{id}/revoke",
                &format!("/api/v1/tokens/{}/revoke", self.their_token),
                json!({}),
                ADMIN,
            ),
            send("POST", "/api/v1/session-keys", "/api/v1/session-keys", json!({}), ADMIN),
            // The catalog.
            send(
                "POST",
                "/api/v1/suppliers",
                "/api/v1/suppliers",
                json!({"id": format!("s-{n}"), "name": "Ny leverantör AB"}),
                ADMIN,
            ),
            versioned(
                "/api/v1/suppliers/{id}",
                &format!("/api/v1/suppliers/{sup}"),
                json!({"name": "Omdöpt AB"}),
                &format!("/api/v1/suppliers/{sup}"),
                sup,
                ADMIN,
            ),
            versioned(
                "/api/v1/organisation",
                "/api/v1/organisation",
                json!({"name": "Region Sjölanda", "country": "SE", "currency": "SEK"}),
                "/api/v1/organisation",
                "",
                ADMIN,
            ),
            send(
                "POST",
                "/api/v1/units",
                "/api/v1/units",
                json!({"id": format!("unit-{n}"), "name": "Avd 7", "site": "Östra"}),
                ADMIN,
            ),
            versioned(
                "/api/v1/units/{id}",
                &format!("/api/v1/units/{unit}"),
                json!({"name": "Avd 12", "site": "Östra"}),
                &format!("/api/v1/units/{unit}"),
                unit,
                ADMIN,
            ),
            send(
                "POST",
                "/api/v1/articles",
                "/api/v1/articles",
                json!({"id": format!("a-{n}"), "article_number": format!("X-{n}"), "name": "Kompress", "unit": "PK", "pack_size": 10, "supplier_id": sup, "category": "Förband"}),
                ADMIN,
            ),
            versioned(
                "/api/v1/articles/{id}",
                &format!("/api/v1/articles/{art}"),
                json!({"article_number": format!("Y-{n}"), "name": "Kompress", "unit": "PK", "pack_size": 10, "supplier_id": sup, "category": "Förband"}),
                &format!("/api/v1/articles/{art}"),
                art,
                ADMIN,
            ),
            // Orders: the staff member's own unit throughout, so only the role decides.
            send(
                "POST",
                "/api/v1/orders",
                "/api/v1/orders",
                json!({"id": format!("new-{n}"), "unit_id": unit, "lines": line}),
                ORDERING,
            ),
            versioned(
                "/api/v1/orders/{id}",
                &format!("/api/v1/orders/{}", self.draft),
                json!({"unit_id": unit, "lines": line}),
                &format!("/api/v1/orders/{}", self.draft),
                &self.draft,
                ORDERING,
            ),
            send(
                "POST",
                "/api/v1/orders/{id}/{action}",
                &format!("/api/v1/orders/{}/approve", self.submitted),
                json!({}),
                BUYING,
            ),
            // The status board.
            send(
                "POST",
                "/api/v1/status/systems",
                "/api/v1/status/systems",
                json!({"id": format!("sys-{n}0"), "name": "Lab", "site": "Östra"}),
                COMMS,
            ),
            versioned(
                "/api/v1/status/systems/{id}",
                "/api/v1/status/systems/sys-1",
                json!({"name": "Journalen", "site": "Östra"}),
                "/api/v1/status",
                "sys-1",
                COMMS,
            ),
            send(
                "POST",
                "/api/v1/status/systems/{id}/state",
                "/api/v1/status/systems/sys-1/state",
                json!({"state": "degraded_performance"}),
                COMMS,
            ),
            send("POST", "/api/v1/status/incidents", "/api/v1/status/incidents", incident(&format!("inc-{n}0")), COMMS),
            send(
                "POST",
                "/api/v1/status/incidents/{id}/updates",
                "/api/v1/status/incidents/inc-1/updates",
                json!({"stage": "identified", "body": "Orsaken är hittad.", "next_update_due": soon(2)}),
                COMMS,
            ),
            send(
                "POST",
                "/api/v1/status/maintenance",
                "/api/v1/status/maintenance",
                maintenance(&format!("mnt-{n}0")),
                COMMS,
            ),
            Route {
                method: "POST",
                spec: "/api/v1/status/maintenance/{id}/advance",
                path: "/api/v1/status/maintenance/mnt-1/advance".into(),
                body: Some(json!({"note": "Steg klart"})),
                version_of: Some(("/api/v1/status".into(), "mnt-1".into())),
                allowed: COMMS,
                filtered: false,
            },
            send(
                "POST",
                "/api/v1/status/maintenance/{id}/cancel",
                &format!("/api/v1/status/maintenance/mnt-{n}0/cancel"),
                json!({"reason": "Flyttad"}),
                COMMS,
            ),
            send(
                "PUT",
                "/api/v1/status/readiness",
                "/api/v1/status/readiness",
                json!({"site": "Östra", "level": "staff_alert"}),
                COMMS,
            ),
            // The directory, rotas and action cards.
            send("POST", "/api/v1/contacts", "/api/v1/contacts", contact(&format!("con-{n}0")), COMMS),
            versioned(
                "/api/v1/contacts/{id}",
                "/api/v1/contacts/con-1",
                without_id(contact("con-1")),
                "/api/v1/contacts/con-1",
                "con-1",
                COMMS,
            ),
            send("POST", "/api/v1/rotas", "/api/v1/rotas", json!({"id": format!("rota-{n}0"), "name": "Jour"}), COMMS),
            versioned(
                "/api/v1/rotas/{id}",
                "/api/v1/rotas/rota-1",
                json!({"name": "Jour natt", "function_id": "con-1"}),
                "/api/v1/rotas",
                "rota-1",
                COMMS,
            ),
            send("POST", "/api/v1/cards", "/api/v1/cards", card(&format!("card-{n}0")), COMMS),
            versioned(
                "/api/v1/cards/{id}",
                "/api/v1/cards/card-1",
                without_id(card("card-1")),
                "/api/v1/cards/card-1",
                "card-1",
                COMMS,
            ),
            // Suppliers' channels and dispatch.
            versioned(
                "/api/v1/suppliers/{id}/channel",
                &format!("/api/v1/suppliers/{sup}/channel"),
                json!({"channel": {"kind": "manual", "how": "telefon"}}),
                &format!("/api/v1/suppliers/{sup}/channel"),
                "",
                BUYING,
            ),
            send(
                "POST",
                "/api/v1/dispatch/{id}/{action}",
                "/api/v1/dispatch/job-1/manual",
                json!({"how": "fax"}),
                BUYING,
            ),
            send(
                "POST",
                "/api/v1/dispatch",
                "/api/v1/dispatch",
                json!({"id": format!("job-{n}0"), "supplier_id": sup, "order_ids": ["w-approved-2"]}),
                BUYING,
            ),
            // Subscribers.
            send("POST", "/api/v1/subscribers", "/api/v1/subscribers", subscriber(&format!("sub-{n}0")), COMMS),
            versioned(
                "/api/v1/subscribers/{id}",
                "/api/v1/subscribers/sub-1",
                without_id(subscriber("sub-1")),
                "/api/v1/subscribers/sub-1",
                "sub-1",
                COMMS,
            ),
            // Paging the on-call.
            get("/api/v1/pages", "/api/v1/pages", ALL),
            get("/api/v1/pages/{id}", "/api/v1/pages/page-1", ALL),
            send(
                "POST",
                "/api/v1/pages",
                "/api/v1/pages",
                json!({"id": format!("page-{n}0"), "rota_id": "rota-1", "message": "Ring 010-100 20 00"}),
                ALL,
            ),
            send(
                "POST",
                "/api/v1/pages/{id}/cancel",
                "/api/v1/pages/page-1/cancel",
                json!({"reason": "löst"}),
                STOP_PAGE,
            ),
            // Banners set by hand.
            get("/api/v1/banners", "/api/v1/banners", ALL),
            send("POST", "/api/v1/banners", "/api/v1/banners", banner(&format!("ban-{n}0")), COMMS),
            versioned(
                "/api/v1/banners/{id}",
                "/api/v1/banners/ban-1",
                without_id(banner("ban-1")),
                "/api/v1/banners",
                "ban-1",
                COMMS,
            ),
            send("POST", "/api/v1/banners/{id}/end", "/api/v1/banners/ban-2/end", json!(null), COMMS),
            // The offline copy (every route of the directory, every unit's open orders).
            get("/api/v1/offline-copy", "/api/v1/offline-copy", OPS),
            // Exercises.
            get("/api/v1/exercises", "/api/v1/exercises", ALL),
            get("/api/v1/exercises/{id}", "/api/v1/exercises/exer-1", ALL),
            send("POST", "/api/v1/exercises", "/api/v1/exercises", exercise(&format!("exer-{n}0")), EXERCISING),
            versioned(
                "/api/v1/exercises/{id}",
                "/api/v1/exercises/exer-1",
                without_id(exercise("exer-1")),
                "/api/v1/exercises",
                "exer-1",
                EXERCISING,
            ),
            send(
                "POST",
                "/api/v1/exercises/{id}/drills",
                "/api/v1/exercises/exer-1/drills",
                json!({"drill_id": "drill-20261205-010000-aaaa"}),
                EXERCISING,
            ),
            send("POST", "/api/v1/exercises/{id}/end", "/api/v1/exercises/exer-2/end", json!(null), EXERCISING),
            send("POST", "/api/v1/exercises/{id}/clear", "/api/v1/exercises/exer-2/clear", json!(null), EXERCISING),
            // Situation reports.
            get("/api/v1/reports", "/api/v1/reports", ALL),
            get("/api/v1/reports/overview", "/api/v1/reports/overview", ALL),
            get("/api/v1/reports/export", "/api/v1/reports/export?format=xlsx", ALL),
            get("/api/v1/reports/blank", "/api/v1/reports/blank?lang=nb", ALL),
            get("/api/v1/reports/form", "/api/v1/reports/form", ALL),
            get("/api/v1/reports/cycles", "/api/v1/reports/cycles", ALL),
            send(
                "POST",
                "/api/v1/reports",
                "/api/v1/reports",
                json!({"unit_id": unit, "light": "red", "values": [{"key": "power", "light": "red", "text": "Reservkraft"}]}),
                REPORTING,
            ),
            send(
                "PUT",
                "/api/v1/reports/form",
                "/api/v1/reports/form",
                json!({"fields": [{"key": "staffing", "kind": "light"}, {"key": "beds", "label": "Vårdplatser", "kind": "text"}]}),
                COMMS,
            ),
            send("POST", "/api/v1/reports/cycles", "/api/v1/reports/cycles", cycle(), COMMS),
            send("POST", "/api/v1/reports/cycles/stop", "/api/v1/reports/cycles/stop", json!({}), COMMS),
            // Cluster records and members.
            get("/api/v1/cluster/members", "/api/v1/cluster/members", OPS),
            get("/api/v1/cluster/ca", "/api/v1/cluster/ca", ALL),
            get("/api/v1/cluster/break-glass", "/api/v1/cluster/break-glass", OPS),
            send(
                "POST",
                "/api/v1/cluster/break-glass/confirm",
                "/api/v1/cluster/break-glass/confirm",
                json!(null),
                OPS,
            ),
            send(
                "POST",
                "/api/v1/cluster/break-glass/withdraw",
                "/api/v1/cluster/break-glass/withdraw",
                json!(null),
                OPS,
            ),
            get("/api/v1/invitations", "/api/v1/invitations", OPS),
            send("POST", "/api/v1/invitations", "/api/v1/invitations", json!({"name": format!("laptop-{n}")}), OPS),
            send("POST", "/api/v1/invitations/{node}/revoke", "/api/v1/invitations/2/revoke", json!(null), OPS),
            send(
                "POST",
                "/api/v1/cluster/members/{id}/{change}",
                "/api/v1/cluster/members/1/transfer_leader",
                json!(null),
                OPS,
            ),
            send("POST", "/api/v1/drills", "/api/v1/drills", drill(&format!("drill-20261205-01000{n}-bbbb")), OPS),
            // The body is a record as an offline node kept it (see the runner).
            send("POST", "/api/v1/merge", "/api/v1/merge", json!(null), COMMS),
            // The body is the directory's own export, read back (see the runner).
            send("POST", "/api/v1/contacts/import", "/api/v1/contacts/import", json!(null), COMMS),
            send("DELETE", "/api/v1/subscribers/{id}", "/api/v1/subscribers/sub-1", json!(null), COMMS),
            // Login methods.
            get("/api/v1/idps", "/api/v1/idps", ADMIN),
            get("/api/v1/idps/{id}", "/api/v1/idps/idp-1", ADMIN),
            send("POST", "/api/v1/idps", "/api/v1/idps", idp(&format!("idp-{n}0")), ADMIN),
            send(
                "POST",
                "/api/v1/idps/{id}/test",
                "/api/v1/idps/idp-1/test",
                json!({"attributes": {"sub": ["x"], "groups": ["iva"]}}),
                ADMIN,
            ),
            versioned(
                "/api/v1/idps/{id}",
                "/api/v1/idps/idp-1",
                without_id(idp("idp-1")),
                "/api/v1/idps/idp-1",
                "",
                ADMIN,
            ),
        ]
    }
}

/// `hours` from now, as RFC 3339 (an incident's next update must be due soon).
fn soon(hours: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::hours(hours))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn without_id(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("id");
    v
}

fn incident(id: &str) -> Value {
    json!({"id": id, "title": "Journalen svarar långsamt", "impact": "minor", "systems": ["sys-1"], "body": "Vi undersöker.",
        "next_update_due": soon(1)})
}

fn maintenance(id: &str) -> Value {
    json!({"id": id, "title": "Uppgradering", "systems": ["sys-1"], "starts_at": "2030-01-01T10:00:00Z",
        "ends_at": "2030-01-01T12:00:00Z", "stages": ["Stoppa", "Uppgradera", "Starta"]})
}

fn contact(id: &str) -> Value {
    let route = json!({"kind": "phone", "value": "010-100 80 00", "hours": "", "last_tested": null, "note": ""});
    let pager = json!({"kind": "pager", "value": "+46 74 100 80 00", "hours": "", "last_tested": null, "note": ""});
    json!({"id": id, "kind": "function", "name": "Inköp jour", "title": "", "organisation": "", "unit_id": null,
        "site": "", "supplier_id": null, "routes": [route, pager], "note": "", "withdrawn": false})
}

fn card(id: &str) -> Value {
    json!({"id": id, "category": "power_loss", "title": "Strömavbrott", "task": "Säkra patienter.",
        "who": "Ansvarig sjuksköterska", "trigger": "När ljuset slocknar.", "actions": "1. Ring driftcentralen.",
        "owner": "Verksamhetschef", "review_by": "2027-12-01"})
}

fn subscriber(id: &str) -> Value {
    json!({"id": id, "name": "Avdelning 12", "target": {"kind": "email", "address": "avd12@sjolanda.example"}, "systems": ["sys-1"]})
}

fn idp(id: &str) -> Value {
    json!({"id": id, "name": "Region Test",
        "protocol": {"kind": "oidc", "issuer": "https://idp.region.example", "client_id": "beredd", "client_secret": "hemlig-hemlig"},
        "mapping": {"user_attribute": "hsa_id", "rules": [{"attribute": "groups", "value": "inkop", "role": "purchaser"}]}})
}

fn banner(id: &str) -> Value {
    json!({"id": id, "text": "Växeln ligger nere, ring 010-100 20 00", "level": "warning", "sites": ["Östra"],
        "starts_at": soon(-1), "ends_at": soon(8)})
}

fn exercise(id: &str) -> Value {
    json!({"id": id, "name": "Stabsövning elavbrott", "starts_at": soon(-1), "ends_at": soon(4)})
}

fn cycle() -> Value {
    json!({"schedule": {"kind": "every", "first_due": soon(1), "minutes": 60}})
}

fn drill(id: &str) -> Value {
    let node = json!({"id": 1, "http": "http://127.0.0.1:8081", "reachable": true, "role": "leader", "term": 2, "last_applied_index": 9});
    json!({"id": id, "started_at": "2026-12-05T01:00:00Z", "action": "kill leader 1", "old_leader": 1,
        "writes": {"acknowledged": 1, "failed": 0, "unknown": 0, "unknown_landed": 0, "lost": 0},
        "drill_orders_cancelled": 0, "before": [node], "after": [node], "ok": true})
}

#[tokio::test]
async fn every_route_of_the_api_answers_each_role_as_its_area_allows() {
    // The table names every operation of the OpenAPI document.
    let w = World::new().await;
    let doc: Value = serde_json::from_str(super::health::OPENAPI).unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut tabled: BTreeSet<String> = w.routes(0).iter().map(|r| format!("{} {}", r.method, r.spec)).collect();
    tabled.extend(NOT_BY_ROLE.iter().map(|(op, _)| (*op).to_owned()));
    assert_eq!(documented, tabled, "every documented operation has a row, and every row a documented operation");

    let mut asked = 0;
    for (n, role) in ALL.iter().enumerate() {
        // A fresh world per role, so each attempt is judged on its own.
        let w = World::new().await;
        for r in w.routes(n + 1) {
            let mut body = r.body.clone();
            if let (Some((from, id)), Some(b)) = (&r.version_of, body.as_mut()) {
                let (s, current) = w.call("admin", "GET", from, None).await;
                let current: Value =
                    serde_json::from_str(&current).unwrap_or_else(|e| panic!("GET {from}: {s} {e}: {current}"));
                b["version"] = version_of(&current, id).unwrap_or_else(|| panic!("no version of {id} in {current}"));
            }
            let before = w.b.cluster().last_applied_index;
            let (status, answer) = if r.spec == "/api/v1/contacts/import" {
                let (_, csv) = w.call("admin", "GET", "/api/v1/contacts/export?format=csv", None).await;
                let req = MemBackend::request("POST", &r.path, &w.tokens[who(*role)], Some(("text/csv", csv)));
                let (s, t) = text(w.b.send(req).await).await;
                (s.as_u16(), t)
            } else if r.spec == "/api/v1/merge" {
                let (_, kept) = w.call("admin", "GET", "/api/v1/contacts/con-1", None).await;
                let mut kept: Value = serde_json::from_str(&kept).unwrap();
                kept["id"] = json!(format!("m-{n}"));
                w.call(who(*role), "POST", &r.path, Some(&json!({ "contacts": [kept] }))).await
            } else {
                w.call(who(*role), r.method, &r.path, body.as_ref().filter(|b| !b.is_null())).await
            };
            asked += 1;
            let what = format!("{role:?} {} {}", r.method, r.path);
            if r.allowed.contains(role) {
                assert!((200..300).contains(&status), "{what} must be allowed: {status} {answer}");
            } else if r.filtered {
                let v: Value = serde_json::from_str(&answer).unwrap();
                assert!(status == 200 && v["items"].as_array().is_some_and(Vec::is_empty), "{what}: {answer}");
            } else {
                // 404 where a record the caller may not see is "not there" (as with orders).
                assert!(matches!(status, 403 | 404), "{what} must be refused: {status} {answer}");
                assert!(answer.starts_with("{\"error\""), "{what}: {answer}");
                assert_eq!(w.b.cluster().last_applied_index, before, "{what}: a refusal wrote to the log");
            }
        }
    }
    assert!(asked > 5 * 70, "{asked} requests");

    // Without a token: the public routes, and 401 for everything else.
    let w = World::new().await;
    let (_, jobs) = w.call("comms", "GET", "/api/v1/dispatch", None).await;
    let jobs: Value = serde_json::from_str(&jobs).unwrap();
    let jobs = jobs["items"].as_array().unwrap();
    assert!(
        !jobs.is_empty() && jobs.iter().all(|j| j["notice"].is_object()),
        "communicators see notices only: {jobs:?}"
    );
    for r in w.routes(9) {
        let (status, answer) = w.call("", r.method, &r.path, r.body.as_ref().filter(|b| !b.is_null())).await;
        if PUBLIC.contains(&r.spec) {
            assert_eq!(status, 200, "{} {}: {answer}", r.method, r.path);
        } else {
            assert_eq!(status, 401, "{} {} without a token: {answer}", r.method, r.path);
        }
    }
}
