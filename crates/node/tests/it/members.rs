//! Member changes through the JSON API (what the `/ops` page's forms submit), on real nodes:
//! asked on a follower and carried out by the leader, each recorded with who asked, a learner
//! promoted, a member removed, a removal refused when the voters left would not keep a majority
//! that answers, leadership handed over.

use crate::harness::Cluster;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn voters(c: &Cluster, i: usize) -> Value {
    c.status(i)["voters"].clone()
}

#[test]
fn ops_promote_remove_and_hand_over_through_any_node_and_a_removal_that_loses_the_majority_is_refused() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let f = (leader + 1) % 3;
    let four = c.add_node(4);
    let (http, grpc) = (format!("http://{}", c.nodes[four].http), c.nodes[four].grpc.clone());
    // The learner joins the usual way (invitations come later); everything else from the API.
    let (ok, text) = crate::cli::beredd(&[
        "cluster",
        "--node",
        &c.nodes[leader].grpc,
        "add-learner",
        "--id",
        "4",
        "--http",
        &http,
        "--grpc",
        &grpc,
    ]);
    assert!(ok, "{text}");
    let last = c.status(leader)["last_log_index"].as_u64().unwrap_or(0);
    c.wait_applied(four, last);

    // Every member, asked by the follower: each answers with its index, version and free disk.
    let (s, v) = c.get(f, "/api/v1/cluster/members");
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 4, "{v}");
    for m in &items {
        assert_eq!(m["reachable"], true, "{m}");
        assert!(m["version"].as_str().is_some_and(|s| !s.is_empty()), "{m}");
        assert!(m["disk_free_bytes"].as_u64().is_some_and(|b| b > 0), "{m}");
        assert!(m["applied_index"].as_u64().is_some(), "{m}");
    }
    let learner = items.iter().find(|m| m["id"] == 4).cloned().unwrap_or_default();
    assert_eq!((learner["voter"].clone(), learner["history"][0]["what"].clone()), (json!(false), json!("registered")));
    // The public status names no version or disk.
    let (_, public) = c.get_as(f, "/api/v1/cluster", "");
    assert!(public.get("version").is_none() && public.get("disk_free_bytes").is_none(), "{public}");

    // Promoted through the follower; the leader carries it out.
    let (s, v) = c.post(f, "/api/v1/cluster/members/4/promote", &json!(null));
    assert_eq!(s, 200, "{v}");
    wait_until("node 4 votes", || voters(&c, f) == json!([1, 2, 3, 4]));
    c.wait_audit(f, &["change_member", "node/4:promote", "admin"]);

    // Removed again (3 of the 3 voters left answer); its id is retired.
    let (s, v) = c.post(f, "/api/v1/cluster/members/4/remove", &json!(null));
    assert_eq!(s, 200, "{v}");
    wait_until("node 4 is gone", || voters(&c, f) == json!([1, 2, 3]));
    c.kill(four);
    let (_, v) = c.get(f, "/api/v1/cluster/members");
    assert!(v["items"].as_array().is_some_and(|a| a.iter().all(|m| m["id"] != 4)), "{v}");

    // One follower down: removing the other would leave 1 of 2 voters answering. Refused, and
    // the members stay as they were.
    let gone = (leader + 2) % 3;
    c.kill(gone);
    wait_until("the leader notices", || {
        let (_, v) = c.get(leader, "/api/v1/cluster/members");
        let silent =
            |m: &Value| m["reachable"] == false && m["millis_since_contact"].as_u64().unwrap_or(u64::MAX) > 3000;
        v["items"].as_array().is_some_and(|a| a.iter().any(|m| m["id"] == c.nodes[gone].id && silent(m)))
    });
    let path = format!("/api/v1/cluster/members/{}/remove", c.nodes[f].id);
    let (s, v) = c.post(leader, &path, &json!(null));
    assert_eq!(s, 409, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("not a majority")), "{v}");
    assert_eq!(voters(&c, leader), json!([1, 2, 3]));

    // Leadership handed to the follower that answers.
    let path = format!("/api/v1/cluster/members/{}/transfer_leader", c.nodes[f].id);
    let (s, v) = c.post(leader, &path, &json!(null));
    assert_eq!(s, 200, "{v}");
    wait_until("the follower leads", || c.status(f)["role"] == "leader");
    c.wait_audit(f, &["change_member", "transfer_leader", "admin"]);
    // Nobody without a login.
    let (s, _) = c.get_as(f, "/api/v1/cluster/members", "");
    assert_eq!(s, 401);
}
