//! Banners set by hand, by role and by site: communicators set and end them through the form,
//! bad input changes nothing, and a banner shows on every page of its site's staff, on
//! `/status`, in the Atom feed, and on nobody else's pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::Role;

use crate::backend::Backend;
use crate::test_backend::{MemBackend, text};

#[tokio::test]
async fn a_banner_shows_on_every_page_of_its_site_only_and_only_communicators_set_it() {
    let d = domain::demo_data::demo();
    let a = &d.units[0];
    let other = d.units.iter().find(|u| u.site != a.site).expect("a unit at another site");
    let (b, tokens) = MemBackend::demo(&[
        ("nurse-a", Role::Staff, &[a.id.as_str()]),
        ("nurse-o", Role::Staff, &[other.id.as_str()]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
    ]);
    let get = |who: &str, path: &str| MemBackend::request("GET", path, &tokens[who], None);
    let form = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    let lang = documents::i18n::Lang::Sv;
    let now = time::OffsetDateTime::now_utc();
    let (from, to) =
        (lang.local_input(now - time::Duration::minutes(5)), lang.local_input(now + time::Duration::hours(2)));
    let enc = |s: &str| s.replace(' ', "+").replace(':', "%3A");
    let body = |text: &str, to: &str| {
        format!("text={text}&level=critical&site={}&starts_at={}&ends_at={}", enc(&a.site), enc(&from), enc(to))
    };

    for who in ["nurse-a", "buyer"] {
        assert_eq!(b.send(get(who, "/banners")).await.status(), 403, "{who}");
        assert_eq!(b.send(form(who, "/banners", &body("V%C3%A4xeln+nere", &to))).await.status(), 403, "{who}");
    }
    // Bad input: a clear error and nothing set.
    let (status, html) = text(b.send(form("comms", "/banners", &body("+", &to))).await).await;
    assert_eq!(status, 422);
    assert!(html.contains("f-text-error"), "{html}");
    let (status, html) = text(b.send(form("comms", "/banners", &body("V%C3%A4xeln+nere", &from))).await).await;
    assert_eq!(status, 422, "ends before it starts");
    assert!(html.contains("f-ends_at-error"), "{html}");
    assert!(documents::status::all_banners(b.view().as_ref()).unwrap().is_empty());

    let res = b.send(form("comms", "/banners", &body("V%C3%A4xeln+nere%2C+ring+010-100+20+00", &to))).await;
    assert_eq!(res.status(), 303);
    let said = "Växeln nere, ring 010-100 20 00";
    for path in ["/", "/catalog", "/contacts", "/reports", "/status"] {
        let (_, html) = text(b.send(get("nurse-a", path)).await).await;
        assert!(html.contains("data-banner=") && html.contains(said), "{path}: {html}");
        let (_, html) = text(b.send(get("nurse-o", path)).await).await;
        assert!(!html.contains("data-banner="), "{path} of another site: {html}");
    }
    // The public status page lists it with its site, and so does the feed.
    let anon = |path: &str| axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
    let (_, html) = text(b.send(anon("/status")).await).await;
    assert!(html.contains("data-banners") && html.contains(said) && html.contains(&a.site), "{html}");
    let (_, atom) = text(b.send(anon("/status/feed.atom")).await).await;
    assert!(atom.contains(&format!("Kritiskt: {said}")), "{atom}");

    // Ended now: gone from every page, kept in the list.
    let id = documents::status::all_banners(b.view().as_ref()).unwrap()[0].id.clone();
    assert_eq!(b.send(form("nurse-a", &format!("/banners/{id}/end"), "")).await.status(), 403);
    assert_eq!(b.send(form("comms", &format!("/banners/{id}/end"), "")).await.status(), 303);
    let (_, html) = text(b.send(get("nurse-a", "/")).await).await;
    assert!(!html.contains("data-banner="), "{html}");
    let (_, html) = text(b.send(get("comms", "/banners")).await).await;
    assert!(html.contains(said) && html.contains("Avslutad"), "{html}");
}
