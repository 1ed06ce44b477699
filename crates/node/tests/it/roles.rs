//! Route by route, role by role: what each role gets and what it is refused, over HTTP on a
//! real cluster. 2xx means allowed; 401 without a token; 403 for a role that may not.

use crate::harness::Cluster;
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["admin", "purchaser", "staff", "communicator", "ops"];

/// Which roles may use a route; everyone else must get 403 (and no token: 401).
struct Route {
    method: &'static str,
    path: String,
    body: Value,
    allowed: &'static [&'static str],
}

fn route(method: &'static str, path: &str, body: Value, allowed: &'static [&'static str]) -> Route {
    Route { method, path: path.to_owned(), body, allowed }
}

const ALL: &[&str] = &["admin", "purchaser", "staff", "communicator", "ops"];
const ADMIN: &[&str] = &["admin"];
const ORDERING: &[&str] = &["admin", "purchaser", "staff"];
const APPROVING: &[&str] = &["admin", "purchaser"];

#[test]
fn every_role_is_allowed_and_refused_route_by_route() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("admin", c.token.clone());
    for role in &ROLES[1..] {
        let units: Vec<&str> = if *role == "staff" { vec!["ost-iva"] } else { vec![] };
        let (s, v) =
            c.post(0, "/api/v1/users", &json!({"id": format!("u-{role}"), "name": role, "role": role, "units": units}));
        assert_eq!(s, 201, "{v}");
        let (s, v) = c.post(0, "/api/v1/tokens", &json!({"user_id": format!("u-{role}")}));
        assert_eq!(s, 201, "{v}");
        tokens.insert(role, v["token"].as_str().unwrap_or_default().to_owned());
    }
    let node = (leader + 1) % 3;
    let mut n = 0;
    for role in ROLES {
        // Fresh targets per role, made by the admin, so each attempt is judged on its own.
        n += 1;
        let order = format!("o-{n}");
        let (s, v) = c.post(0, "/api/v1/orders", &json!({"id": order, "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 2}], "submit": true}));
        assert_eq!(s, 201, "{v}");
        let routes = [
            route("GET", "/api/v1/me", Value::Null, ALL),
            route("GET", "/api/v1/suppliers", Value::Null, ALL),
            route("GET", "/api/v1/units", Value::Null, ALL),
            route("GET", "/api/v1/articles", Value::Null, ALL),
            route("GET", "/api/v1/orders", Value::Null, ORDERING),
            route("GET", "/api/v1/users", Value::Null, ADMIN),
            route("GET", "/api/v1/audit", Value::Null, ADMIN),
            route("POST", "/api/v1/suppliers", json!({"id": format!("s-{n}"), "name": "Ny leverantör AB"}), ADMIN),
            route("POST", "/api/v1/units", json!({"id": format!("unit-{n}"), "name": "Avd 7", "site": "Östra"}), ADMIN),
            route(
                "POST",
                "/api/v1/articles",
                json!({"id": format!("a-{n}"), "article_number": "X", "name": "Kompress", "unit": "PK", "pack_size": 10, "supplier_id": "sup-1", "category": "Förband"}),
                ADMIN,
            ),
            route(
                "POST",
                "/api/v1/orders",
                json!({"id": format!("new-{n}"), "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 1}]}),
                ORDERING,
            ),
            route("POST", &format!("/api/v1/orders/{order}/approve"), json!({}), APPROVING),
            route("POST", "/api/v1/users", json!({"id": format!("x-{n}"), "name": "X", "role": "staff"}), ADMIN),
            route("POST", "/api/v1/users/u-staff/enable", json!({}), ADMIN),
            route("POST", "/api/v1/session-keys", json!({}), ADMIN),
            route("POST", "/api/v1/tokens", json!({"label": "egen"}), ALL),
            route(
                "POST",
                "/api/v1/tokens",
                json!({"user_id": if role == "purchaser" { "u-ops" } else { "u-purchaser" }}),
                ADMIN,
            ),
        ];
        for r in &routes {
            let token = &tokens[role];
            let (s, v) = match r.method {
                "GET" => c.get_as(node, &r.path, token),
                _ => c.post_as(node, &r.path, &r.body, token),
            };
            if r.allowed.contains(&role) {
                assert!((200..300).contains(&s), "{role} {} {}: {s} {v}", r.method, r.path);
            } else {
                assert_eq!(s, 403, "{role} {} {} must be refused: {v}", r.method, r.path);
                assert!(v["error"]["code"].as_str().is_some_and(|c| c.ends_with(".forbidden")), "{v}");
            }
        }
    }
    // And without any token, nothing but the public routes.
    for path in ["/api/v1/me", "/api/v1/orders", "/api/v1/users", "/api/v1/audit"] {
        assert_eq!(c.get_as(node, path, "").0, 401, "{path}");
    }
    assert_eq!(c.post_as(node, "/api/v1/orders", &json!({}), "").0, 401);
}
