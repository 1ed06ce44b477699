//! Password login and session cookies on real nodes: one message for every failure, throttling,
//! a session that keeps working on another node after the leader is killed, and logging out
//! everywhere.

use crate::harness::Cluster;
use serde_json::json;
use std::time::{Duration, Instant};

/// Logs in on node `i`; returns the status and the `name=value` part of the session cookie.
fn login(c: &Cluster, i: usize, user: &str, password: &str) -> (u16, String) {
    let (s, cookie, _) = login_csrf(c, i, user, password);
    (s, cookie)
}

/// Like [`login`], also returning the session's CSRF token.
fn login_csrf(c: &Cluster, i: usize, user: &str, password: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent
        .post(&format!("http://{}/api/v1/login", c.nodes[i].http))
        .send_json(json!({"user": user, "password": password}))
        .expect("login request");
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if r.status() == 200 {
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    }
    let status = r.status().as_u16();
    let csrf = r.body_mut().read_json::<serde_json::Value>().unwrap_or_default()["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, cookie.split(';').next().unwrap_or_default().to_owned(), csrf)
}

fn me_with_cookie(c: &Cluster, i: usize, cookie: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r =
        agent.get(&format!("http://{}/api/v1/me", c.nodes[i].http)).header("Cookie", cookie).call().expect("me");
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or_default())
}

#[test]
fn a_session_survives_leader_failover_and_ends_everywhere_on_logout() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let (s, v) = c.post(
        0,
        "/api/v1/users",
        &json!({"id": "sara", "name": "Sara", "role": "staff", "units": ["ost-iva"], "password": "rätt-lösenord-1"}),
    );
    assert_eq!(s, 201, "{v}");

    // The session key comes with the cluster; wait until the follower has it.
    let f = (leader + 1) % 3;
    let deadline = Instant::now() + Duration::from_secs(10);
    let (cookie, csrf) = loop {
        let (s, cookie, csrf) = login_csrf(&c, f, "sara", "rätt-lösenord-1");
        if s == 200 {
            break (cookie, csrf);
        }
        assert!(Instant::now() < deadline, "login failed: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(cookie.starts_with("beredd_session="), "{cookie}");

    // Wrong password and unknown user get the same answer.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let fail = |user: &str| {
        let mut r = agent
            .post(&format!("http://{}/api/v1/login", c.nodes[f].http))
            .send_json(json!({"user": user, "password": "fel-lösenord"}))
            .expect("login");
        (r.status().as_u16(), r.body_mut().read_json::<serde_json::Value>().unwrap_or_default()["error"].clone())
    };
    let (a, b) = (fail("sara"), fail("finns-inte"));
    assert_eq!(a.0, 401);
    assert_eq!(a, b, "the answer must not reveal whether the account exists");

    // The session works on every node, and on a survivor after the leader is killed.
    for i in 0..3 {
        let (s, v) = me_with_cookie(&c, i, &cookie);
        assert_eq!((s, v["id"].as_str()), (200, Some("sara")), "node {}", c.nodes[i].id);
    }
    c.kill(leader);
    let new = c.wait_leader();
    let (s, v) = me_with_cookie(&c, new, &cookie);
    assert_eq!((s, v["id"].as_str()), (200, Some("sara")));
    let agent2: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let order = json!({"unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 1}]});
    let url = format!("http://{}/api/v1/orders", c.nodes[new].http);
    // Without the CSRF token (as a forged cross-site post would be), the cookie is not enough.
    let mut r = agent2.post(&url).header("Cookie", &cookie).send_json(&order).expect("order");
    assert_eq!(r.status(), 403);
    assert_eq!(r.body_mut().read_json::<serde_json::Value>().unwrap_or_default()["error"]["code"], "auth.csrf");
    let r = agent2
        .post(&url)
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", "0".repeat(64))
        .send_json(&order)
        .expect("order");
    assert_eq!(r.status(), 403);
    let r = agent2.post(&url).header("Cookie", &cookie).header("X-CSRF-Token", &csrf).send_json(&order).expect("order");
    assert_eq!(r.status(), 201, "a write with the session after failover");

    // Log out everywhere: the cookie stops working on every running node.
    let r = agent2
        .post(&format!("http://{}/api/v1/users/sara/logout-everywhere", c.nodes[new].http))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .send_json(json!({}))
        .expect("logout everywhere");
    assert_eq!(r.status(), 200);
    for i in c.running() {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (s, v) = me_with_cookie(&c, i, &cookie);
            if s == 401 {
                assert_eq!(v["error"]["code"], "auth.session_ended");
                break;
            }
            assert!(Instant::now() < deadline, "node {} still accepts the session", c.nodes[i].id);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // After five failures for an account, even the right password is refused for a while.
    // Throttling counts per node, so use the running node that has seen no failures yet.
    let fresh = c.running().into_iter().find(|i| *i != f).expect("a second running node");
    for _ in 0..5 {
        assert_eq!(login(&c, fresh, "sara", "fel").0, 401);
    }
    assert_eq!(login(&c, fresh, "sara", "rätt-lösenord-1").0, 429);
}

#[test]
fn logins_and_failed_logins_on_a_follower_reach_the_replicated_audit_trail() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    let body = json!({"id": "vera", "name": "Vera", "role": "staff", "password": "veras-eget-lösenord"});
    let (s, v) = c.post(leader, "/api/v1/users", &body);
    assert_eq!(s, 201, "{v}");
    let f = (leader + 1) % 3;
    let index = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(f, index);
    assert_eq!(login(&c, f, "vera", "fel-lösenord").0, 401);
    assert_eq!(login(&c, f, "vera", "veras-eget-lösenord").0, 200);
    // Both are in the audit trail, read on another node, with the client's address.
    c.wait_audit(leader, &["record_access", "login_failed vera (password, 127.0.0.1)"]);
    c.wait_audit(leader, &["record_access", "login vera (password, 127.0.0.1)"]);
}
