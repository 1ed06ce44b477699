//! The situation report pages by role and by unit: staff see and report only for their units,
//! the crisis staff see every unit and run the cycles, bad input changes nothing, a report
//! filed without a leader shows as not yet shared, and exports hold only what the caller may see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::Role;

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

#[tokio::test]
async fn staff_see_and_report_only_for_their_units_and_the_crisis_staff_for_every_unit() {
    let d = domain::demo_data::demo();
    let (a, bu) = (&d.units[0], &d.units[1]);
    let (b, tokens) = MemBackend::demo(&[
        ("nurse-a", Role::Staff, &[a.id.as_str()]),
        ("nurse-b", Role::Staff, &[bu.id.as_str()]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
        ("admin", Role::Admin, &[]),
    ]);
    let get = |who: &str, path: &str| MemBackend::request("GET", path, &tokens[who], None);
    let form = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    let reports = |unit: &domain::UnitId| domain::reports::history(b.view().as_ref(), unit, 0, 100).unwrap();

    // Everyone signed in sees the overview; staff only their unit.
    for who in ["nurse-a", "buyer", "comms", "ops", "admin"] {
        let (status, html) = text(b.send(get(who, "/reports")).await).await;
        assert_eq!(status, 200, "{who}: {html}");
        assert!(html.contains(&format!("data-unit=\"{}\"", a.id)), "{who}: {html}");
        let sees_b = html.contains(&format!("data-unit=\"{}\"", bu.id));
        assert_eq!(sees_b, who != "nurse-a", "{who}");
    }
    // The form offers staff their own unit only; purchasers do not report.
    let (status, html) = text(b.send(get("nurse-a", "/reports/new")).await).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("value=\"{}\"", a.id)) && !html.contains(&format!("value=\"{}\"", bu.id)));
    assert_eq!(b.send(get("buyer", "/reports/new")).await.status(), 403);

    // Another unit's report, bad input: a clear error and nothing filed.
    let other = format!("unit={}&light=red&needs=x", bu.id);
    let (status, html) = text(b.send(form("nurse-a", "/reports", &other)).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-unit-error"), "{html}");
    let no_light = format!("unit={}&needs=Syrgas", a.id);
    let (status, html) = text(b.send(form("nurse-a", "/reports", &no_light)).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-light-error") && html.contains("Syrgas"), "what was typed stays: {html}");
    let paper_no_time = format!("unit={}&light=green&from_paper=1&written_at=", a.id);
    let (status, html) = text(b.send(form("nurse-a", "/reports", &paper_no_time)).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-written_at-error"), "{html}");
    assert!(reports(&a.id).is_empty() && reports(&bu.id).is_empty());

    // A real report.
    let good = format!(
        "form=f-1&unit={}&light=yellow&light_staffing=yellow&text_staffing=Tv%C3%A5+sjuka&light_power=green&needs=Syrgas%2C+10+flaskor",
        a.id
    );
    let res = b.send(form("nurse-a", "/reports", &good)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("/reports/unit/{}?done=saved", a.id).as_str());
    let filed = reports(&a.id);
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].value("staffing").unwrap().text, "Två sjuka");
    assert_eq!(filed[0].reported_by.as_deref(), Some("nurse-a"));
    let history = format!("/reports/unit/{}", a.id);
    let (status, html) = text(b.send(get("nurse-a", &history)).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("Gul: Två sjuka") && html.contains("Syrgas, 10 flaskor"), "{html}");
    for (who, allowed) in [("nurse-b", false), ("comms", true), ("buyer", true)] {
        let (status, html) = text(b.send(get(who, &history)).await).await;
        assert_eq!(status == 200, allowed, "{who}: {status}");
        assert_eq!(html.contains("Syrgas, 10 flaskor"), allowed, "{who}");
    }
    // Paper, entered afterwards by the crisis staff for unit B.
    let paper = format!("unit={}&light=red&from_paper=1&written_at=2026-12-06T08%3A15&needs=Reservkraft", bu.id);
    let res = b.send(form("comms", "/reports", &paper)).await;
    assert_eq!(res.status(), 303, "{:?}", text(res).await);
    let r = reports(&bu.id);
    assert!(r[0].from_paper);
    assert_eq!(documents::i18n::Lang::Sv.datetime(r[0].written_at), "2026-12-06 08:15");

    // Cycles: the crisis staff start one, staff may not.
    assert_eq!(b.send(form("nurse-a", "/reports/cycles", "kind=every&minutes=60")).await.status(), 403);
    let (status, html) = text(b.send(form("comms", "/reports/cycles", "kind=every&minutes=5")).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-minutes-error"), "{html}");
    assert!(domain::reports::cycles(b.view().as_ref()).unwrap().is_empty());
    let res = b.send(form("comms", "/reports/cycles", "kind=daily&times=8%3A00%2C+12%3A00%2C+16%3A00")).await;
    assert_eq!(res.status(), 303);
    let (_, html) = text(b.send(get("nurse-a", "/reports")).await).await;
    assert!(html.contains("varje dag kl. 08:00, 12:00, 16:00") && !html.contains("data-cycle-form"), "{html}");
    let (_, html) = text(b.send(get("comms", "/reports")).await).await;
    assert!(html.contains("data-cycle-form") && html.contains("/reports/cycles/stop"), "{html}");
    assert_eq!(b.send(form("nurse-a", "/reports/cycles/stop", "site=")).await.status(), 403);
    assert_eq!(b.send(form("comms", "/reports/cycles/stop", "site=")).await.status(), 303);
    assert!(domain::reports::cycles(b.view().as_ref()).unwrap().is_empty());

    // Exports hold only the units the caller may see.
    let mut csv = Vec::new();
    for who in ["nurse-a", "comms"] {
        let (status, body) = text(b.send(get(who, "/reports/export?from=2026-12-01&format=csv")).await).await;
        assert_eq!(status, 200, "{who}: {body}");
        csv.push(body);
    }
    let (mine, all) = (&csv[0], &csv[1]);
    assert!(mine.contains(&a.name) && !mine.contains(&bu.name), "{mine}");
    assert!(all.contains(&a.name) && all.contains(&bu.name), "{all}");
    let (status, _) = text(b.send(get("comms", "/reports/export?from=2026-01-01&to=2026-12-31")).await).await;
    assert_eq!(status, 400, "more than 92 days");

    // The fields: the crisis staff's to set.
    assert_eq!(b.send(get("nurse-a", "/reports/form")).await.status(), 403);
    assert_eq!(b.send(get("comms", "/reports/form")).await.status(), 200);
    let fields = "version=0&key=staffing&label=&kind=light&key=beds&label=Lediga+v%C3%A5rdplatser&kind=text&key=&label=&kind=light";
    assert_eq!(b.send(form("comms", "/reports/form", fields)).await.status(), 303);
    let (_, html) = text(b.send(get("nurse-a", "/reports/new")).await).await;
    assert!(html.contains("Lediga vårdplatser") && !html.contains("Vatten och värme"), "{html}");
}

#[tokio::test]
async fn a_report_filed_without_a_leader_is_kept_and_shown_as_not_yet_shared() {
    let d = domain::demo_data::demo();
    let a = &d.units[0];
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[a.id.as_str()])]);
    b.lose_leader();
    let body = format!("form=f-9&unit={}&light=red&needs=Generator", a.id);
    let req =
        MemBackend::request("POST", "/reports", &tokens["nurse-a"], Some(("application/x-www-form-urlencoded", body)));
    let res = b.send(req).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/reports?done=queued");
    assert_eq!(b.outbox().unwrap().len(), 1);
    let (_, html) = text(b.send(MemBackend::request("GET", "/reports", &tokens["nurse-a"], None)).await).await;
    assert!(html.contains("data-not-shared") && html.contains("inte delad än") && html.contains("Generator"), "{html}");
    let (_, html) =
        text(b.send(MemBackend::request("GET", &format!("/reports/unit/{}", a.id), &tokens["nurse-a"], None)).await)
            .await;
    assert!(html.contains("data-not-shared"), "{html}");
    let (_, json) =
        text(b.send(MemBackend::request("GET", "/api/v1/reports/overview", &tokens["nurse-a"], None)).await).await;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["items"][0]["not_yet_shared"][0]["needs"], "Generator", "{v}");
}
