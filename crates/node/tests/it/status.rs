//! The status board across real nodes: an incident opened on one node and updated on another is
//! on every node's public page, feed and JSON, its banner is on every page, a late update is
//! flagged by each node's own clock, and a node that has lost its peers goes on serving all of it.

use crate::harness::Cluster;
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn in_secs(s: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(s)).format(&Rfc3339).unwrap_or_default()
}

/// Waits until every running node has applied what node `i` has.
fn settle(c: &Cluster, i: usize) {
    let index = c.status(i)["last_applied_index"].as_u64().unwrap_or(0);
    for n in c.running() {
        c.wait_applied(n, index);
    }
}

#[test]
fn an_incident_is_on_every_node_with_its_feed_entry_banner_and_overdue_warning_also_without_quorum() {
    let mut c = Cluster::start(3, &[]);
    c.wait_leader();
    let kim = c.create_user("kim", "communicator", &[]);
    let kim = kim["api_token"].as_str().unwrap_or_default().to_owned();
    let staff = c.create_user("sara", "staff", &[]);
    let staff = staff["api_token"].as_str().unwrap_or_default().to_owned();

    let (s, v) = c.post_as(0, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystem"}), &kim);
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post_as(
        0,
        "/api/v1/status/systems",
        &json!({"id": "vaxel", "name": "Telefonväxel", "site": "Östra sjukhuset"}),
        &kim,
    );
    assert_eq!(s, 201, "{v}");
    // Staff may read the board but not change it.
    let (s, v) = c.post_as(1, "/api/v1/status/systems/erp/state", &json!({"state": "major_outage"}), &staff);
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("system.forbidden")), "{v}");
    // A promise in the past is refused and changes nothing.
    let late = json!({"id": "bad", "title": "x", "impact": "minor", "body": "x", "next_update_due": in_secs(-60)});
    let (s, v) = c.post_as(1, "/api/v1/status/incidents", &late, &kim);
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("next_update_due")), "{v}");

    let incident = json!({
        "id": "erp-nere", "title": "Affärssystemet svarar inte", "impact": "major", "systems": ["erp"],
        "body": "Beställningar går inte fram. Använd reservrutinen.", "next_update_due": in_secs(3600),
    });
    let (s, v) = c.post_as(0, "/api/v1/status/incidents", &incident, &kim);
    assert_eq!(s, 201, "{v}");
    let (s, _) =
        c.post_as(1, "/api/v1/status/systems/erp/state", &json!({"state": "major_outage", "note": "Nere"}), &kim);
    assert_eq!(s, 200);
    // The update comes from node 3.
    let update =
        json!({"stage": "identified", "body": "Fel i databasservern; byte pågår.", "next_update_due": in_secs(3600)});
    let (s, v) = c.post_as(2, "/api/v1/status/incidents/erp-nere/updates", &update, &kim);
    assert_eq!(s, 200, "{v}");
    // A second incident whose next update is due in two seconds.
    let soon = json!({"id": "vaxel-sega", "title": "Växeln kopplar långsamt", "impact": "minor",
        "systems": ["vaxel"], "body": "Vi följer upp.", "next_update_due": in_secs(2)});
    let (s, v) = c.post_as(2, "/api/v1/status/incidents", &soon, &kim);
    assert_eq!(s, 201, "{v}");
    settle(&c, 2);
    std::thread::sleep(Duration::from_secs(3));

    for i in 0..3 {
        // The public page, without logging in.
        let (s, page) = c.get_text(i, "/status");
        assert_eq!(s, 200);
        for want in [
            "Affärssystemet svarar inte",
            "Orsak identifierad",
            "Fel i databasservern; byte pågår.",
            "Beställningar går inte fram.",
            "Större avbrott",
            "Östra sjukhuset",
            "Uppdateringen är försenad.",
        ] {
            assert!(page.contains(want), "node {i}: no {want:?} on /status");
        }
        // The overdue warning belongs to the minor incident only.
        assert_eq!(page.matches("class=\"overdue\"").count(), 1, "node {i}");
        // The banner is on every page, also the login page.
        let (_, login) = c.get_text(i, "/login");
        assert!(login.contains("Större störning") && login.contains("/status#incident-erp-nere"), "node {i}");
        let (s, feed) = c.get_text(i, "/status/feed.atom");
        assert_eq!(s, 200);
        assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
        assert!(feed.contains("Orsak identifierad: Affärssystemet svarar inte"), "node {i}: {feed}");
        assert_eq!(feed.matches("<entry>").count(), 3, "node {i}: one entry per update");
        let (s, board) = c.get_as(i, "/api/v1/status", "");
        assert_eq!(s, 200);
        let overdue: Vec<(String, bool)> = board["incidents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x: &Value| (x["id"].as_str().unwrap_or_default().to_owned(), x["overdue"] == true))
            .collect();
        assert!(overdue.contains(&("vaxel-sega".into(), true)) && overdue.contains(&("erp-nere".into(), false)));
        assert_eq!(board["banner"][0]["id"], "erp-nere");
    }

    // Resolved: off the banner, into "resolved in the last week"; closed to further updates.
    let done = json!({"stage": "resolved", "body": "Åtgärdat; beställningar går fram igen."});
    let (s, _) = c.post_as(1, "/api/v1/status/incidents/erp-nere/updates", &done, &kim);
    assert_eq!(s, 200);
    let (s, v) = c.post_as(1, "/api/v1/status/incidents/erp-nere/updates", &update, &kim);
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("incident.closed")), "{v}");
    settle(&c, 1);
    let (_, login) = c.get_text(0, "/login");
    assert!(!login.contains("Större störning"));

    // Without quorum the survivor still serves the board, the feed and the JSON; writes wait.
    c.kill(1);
    c.kill(2);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        let (s, page) = c.get_text(0, "/status");
        assert_eq!(s, 200);
        // The page says it has lost the others, and still shows the board.
        if page.contains("data-quorum=\"lost\"") || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(page.contains("data-quorum=\"lost\""), "{page}");
    assert!(page.contains("Åtgärdat; beställningar går fram igen.") && page.contains("Växeln kopplar långsamt"));
    let (s, feed) = c.get_text(0, "/status/feed.atom");
    assert_eq!(s, 200);
    assert!(feed.contains("Åtgärdad: Affärssystemet svarar inte"));
    let (s, v) = c.post_as(0, "/api/v1/status/systems/erp/state", &json!({"state": "operational"}), &kim);
    assert_eq!(s, 503, "{v}");
}

#[test]
fn an_action_card_applies_on_every_node_once_its_system_is_down_and_its_markdown_is_made_safe() {
    let c = Cluster::start(3, &[]);
    c.wait_leader();
    let (s, v) = c.post(0, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystem"}));
    assert_eq!(s, 201, "{v}");
    let card = json!({
        "id": "erp-nere", "category": "system_downtime", "title": "Affärssystemet ligger nere",
        "task": "Beställ utan ERP.", "who": "Inköp jour", "trigger": "ERP ur drift > 30 min",
        "actions": "1. Lägg beställningen i **beredd**\n2. <script>alert(1)</script>Ring leverantören\n3. [länk](javascript:alert(1))",
        "documentation": "Ordernummer för efterregistrering.", "owner": "Beredskapssamordnare",
        "review_by": "2020-01-01", "systems": ["erp"],
    });
    let (s, v) = c.post(1, "/api/v1/cards", &card);
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post(
        1,
        "/api/v1/cards",
        &json!({"id": "x", "category": "other", "title": "X", "task": "x",
        "who": "x", "trigger": "x", "actions": "x", "owner": "x", "review_by": "2027-01-01", "systems": ["okant"]}),
    );
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("system.unknown")), "{v}");
    settle(&c, 1);
    let (_, page) = c.get_text(2, "/status");
    assert!(!page.contains("Handlingskort att följa nu"), "no card while the system runs");

    let (s, _) = c.post(2, "/api/v1/status/systems/erp/state", &json!({"state": "partial_outage"}));
    assert_eq!(s, 200);
    settle(&c, 2);
    for i in 0..3 {
        let (_, page) = c.get_text(i, "/status");
        assert!(page.contains("Handlingskort att följa nu") && page.contains("/cards/erp-nere"), "node {i}");
        let (_, v) = c.get(i, "/api/v1/cards");
        assert_eq!(v["now"], json!(["erp-nere"]), "node {i}");
        let html = c.page(i, "/cards/erp-nere");
        assert!(html.contains("<strong>beredd</strong>"), "node {i}: Markdown rendered");
        assert!(!html.contains("<script>alert") && !html.contains("javascript:"), "node {i}: sanitised");
        assert!(html.contains("översyn försenad"), "node {i}: the review date has passed");
        assert!(html.contains("Gäller nu – ur drift:"), "node {i}");
    }
}

#[test]
fn the_binder_holds_status_contacts_rotas_cards_and_orders_with_a_freshness_stamp_on_every_page() {
    let mut c = Cluster::start(3, &[]);
    c.wait_leader();
    c.seed_catalog(0, 1);
    let (s, v) = c.post(0, "/api/v1/orders", &json!({"unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 2}], "submit": true, "urgent": true}));
    assert_eq!(s, 201, "{v}");
    let number = v["number"].as_str().unwrap_or_default().to_owned();
    c.post(0, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystem"}));
    c.post(0, "/api/v1/status/systems/erp/state", &json!({"state": "major_outage", "note": "Databasen"}));
    c.post(
        0,
        "/api/v1/status/incidents",
        &json!({"id": "i1", "title": "ERP nere", "impact": "major", "systems": ["erp"],
        "body": "Felsökning pågår.", "next_update_due": in_secs(3600)}),
    );
    c.post(0, "/api/v1/contacts", &json!({"id": "inkop-jour", "kind": "function", "name": "Inköp jour", "routes": [
        {"kind": "phone", "value": "010-100 80 00", "hours": "dygnet runt"}, {"kind": "rakel", "value": "RSG INKÖP 1"}]}));
    c.post(0, "/api/v1/contacts", &json!({"id": "anna", "kind": "person", "name": "Anna Åström", "routes": [{"kind": "mobile", "value": "070-111 22 01"}]}));
    c.post(
        0,
        "/api/v1/rotas",
        &json!({"id": "r", "name": "Inköp jour", "function_id": "inkop-jour",
        "shifts": [{"contact_id": "anna", "from": in_secs(-3600), "to": in_secs(86400)}]}),
    );
    let (s, v) = c.post(0, "/api/v1/cards", &json!({"id": "k1", "category": "system_downtime", "title": "ERP ligger nere",
        "task": "Beställ utan ERP.", "who": "Inköp jour", "trigger": "ERP ur drift", "owner": "Beredskap",
        "actions": "1. Lägg beställningen i **beredd**\n2. Ring leverantören", "review_by": "2030-01-01", "systems": ["erp"]}));
    assert_eq!(s, 201, "{v}");
    settle(&c, 0);

    let (s, pdf) = c.get_bytes(1, "/binder.pdf?lang=sv");
    assert_eq!(s, 200);
    let text = crate::harness::pdf_text(&pdf, true);
    for want in [
        "Läget just nu",
        "Affärssystem: Större avbrott – Databasen",
        "ERP nere (Felsökning pågår)",
        "Kontakter och reservvägar",
        "1. Telefon: 010-100 80 00 (dygnet runt)",
        "2. RAKEL-talgrupp: RSG INKÖP 1",
        "Jourer kommande vecka",
        "Anna Åström · 070-111 22 01",
        "Handlingskort",
        "1. Lägg beställningen i beredd",
        "2. Ring leverantören",
        "Öppna beställningar per enhet",
        number.as_str(),
        "BRÅDSKANDE",
    ] {
        assert!(text.contains(want), "no {want:?} in the binder:\n{text}");
    }
    // List items keep their own lines.
    assert!(text.lines().any(|l| l.trim_start().starts_with("2. Ring leverantören")), "{text}");
    let pages = text.matches('\u{c}').count().max(1);
    assert!(pages >= 5, "a page per section and per card: {pages}");
    assert_eq!(text.matches("från nod 2 · data t.o.m. index").count(), pages, "the stamp is on every page:\n{text}");
    assert!(!text.contains("EJ BEKRÄFTAD"));

    // Without quorum the survivor still prints it, and every page says it is unconfirmed.
    c.kill(1);
    c.kill(2);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while c.status(0)["quorum"] == true && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    let (s, pdf) = c.get_bytes(0, "/binder.pdf");
    assert_eq!(s, 200);
    let text = crate::harness::pdf_text(&pdf, true);
    assert!(text.contains("ERP ligger nere") && text.contains("Inköp jour"));
    assert_eq!(text.matches("EJ BEKRÄFTAD AV KLUSTRET").count(), text.matches('\u{c}').count().max(1), "{text}");
}
