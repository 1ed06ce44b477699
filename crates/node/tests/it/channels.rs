//! A supplier's ordering channel through the API: set by a purchaser on one node, read on
//! another without its webhook secret, refused for staff and for bad addresses.

use crate::harness::Cluster;
use serde_json::json;

#[test]
fn a_purchaser_sets_a_channel_that_every_node_shows_without_its_secret() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let buyer = c.create_user("inkop", "purchaser", &[]);
    let buyer = buyer["api_token"].as_str().unwrap_or_default().to_owned();
    let staff = c.create_user("personal", "staff", &["ost-iva"]);
    let staff = staff["api_token"].as_str().unwrap_or_default().to_owned();
    let path = "/api/v1/suppliers/sup-1/channel";
    assert_eq!(c.get(1, path).0, 404);

    let email = json!({"channel": {"kind": "email", "to": ["order@medilux.se", "ingen-adress"], "attach": ["pdf"]}});
    let (s, v) = c.put_as(1, path, &email, &buyer);
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("to[1]")), "{v}");
    let (s, v) = c.put_as(1, path, &json!({"channel": {"kind": "manual", "how": "fax"}}), &staff);
    assert_eq!(s, 403, "{v}");

    let hook = json!({"channel": {"kind": "webhook", "url": "https://order.medilux.se/in", "body": "ubl",
        "secret": "en-delad-hemlighet-1234"}});
    let (s, v) = c.put_as(1, path, &hook, &buyer);
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["version"].as_u64(), v["channel"]["has_secret"].as_bool()), (Some(1), Some(true)), "{v}");
    assert!(!v.to_string().contains("hemlighet"), "the secret came back: {v}");
    // An edit without a secret keeps it; every node shows the same, without it.
    let edit =
        json!({"version": 1, "channel": {"kind": "webhook", "url": "https://order.medilux.se/v2", "body": "json"}});
    let (s, v) = c.put_as(2, path, &edit, &buyer);
    assert_eq!(s, 200, "{v}");
    let last = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, last);
        // A webhook's address can carry a supplier's credentials: purchasers read it, staff not.
        assert_eq!(c.get_as(i, path, &staff).0, 403);
        let (s, v) = c.get_as(i, path, &buyer);
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["channel"]["url"], "https://order.medilux.se/v2");
        assert_eq!((v["channel"]["has_secret"].as_bool(), v["version"].as_u64()), (Some(true), Some(2)), "{v}");
        assert!(!v.to_string().contains("hemlighet"), "{v}");
    }
    let (s, v) = c.put_as(0, path, &edit, &buyer);
    assert_eq!(s, 409, "a stale version was accepted: {v}");
}
