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

#[tokio::test]
async fn a_next_or_back_parameter_never_sends_the_browser_to_another_site() {
    let (b, tokens) = MemBackend::demo(&[("nurse", Role::Staff, &[])]);
    let evil = [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D%0A/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "/%5C/evil.example",
        "%2F%2Fevil.example",
        "https://evil.example",
        "%00//evil.example",
        "%20//evil.example",
    ];
    for next in evil {
        let path = format!("/lang/sv?next={next}");
        let res = b.send(MemBackend::request("GET", &path, &tokens["nurse"], None)).await;
        let to = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(to.as_deref(), Some("/"), "{path}");
    }
    // Login's `next` and dispatch's `back` go through the same check.
    for raw in ["/\t/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example", "evil.example"] {
        assert_eq!(super::chrome::safe_next(Some(raw)), "/", "{raw:?}");
    }
    // A path on this site is kept, with what a header may not hold percent-encoded.
    let res =
        b.send(MemBackend::request("GET", "/lang/sv?next=/contacts%3Fq%3D%C3%85sa%20B", &tokens["nurse"], None)).await;
    assert_eq!(res.headers()["location"], "/contacts?q=%C3%85sa%20B");
}

/// A ZIP of `parts` (what an XLSX or ODS file is).
fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn a_crafted_3kb_xlsx_or_a_zip_bomb_gets_a_4xx_and_the_node_keeps_serving() {
    let (b, tokens) = MemBackend::demo(&[("admin", Role::Admin, &[])]);
    let sst = br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="100000000000" uniqueCount="100000000000"><si><t>a</t></si></sst>"#;
    let sheet = br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData/></worksheet>"#;
    let crafted = zip_of(&[("xl/sharedStrings.xml", &sst[..]), ("xl/worksheets/sheet1.xml", &sheet[..])]);
    assert!(crafted.len() < 3 * 1024);
    let bomb = zip_of(&[("xl/worksheets/sheet1.xml", &vec![b' '; 200 << 20])]);
    assert!(bomb.len() < 1 << 20);
    let before = b.cluster().last_applied_index;
    for (name, file) in [("crafted.xlsx", crafted), ("bomb.xlsx", bomb)] {
        let boundary = "XBOUNDARYX";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\narticles\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/admin/import")
            .header("authorization", format!("Bearer {}", tokens["admin"]))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(axum::body::Body::from(body))
            .unwrap();
        let (status, html) = text(b.send(req).await).await;
        assert_eq!(status, 422, "{name}: {html}");
        assert!(html.contains("workbook") || html.contains("sheet"), "{name}: the reason is shown");
    }
    assert_eq!(b.cluster().last_applied_index, before, "nothing saved");
    let res = b.send(MemBackend::request("GET", "/readyz", &tokens["admin"], None)).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_account_page_makes_and_revokes_only_your_own_tokens_and_a_new_password_needs_the_old() {
    let (b, tokens) = MemBackend::demo(&[("anna", Role::Staff, &[]), ("bo", Role::Staff, &[])]);
    let form = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    // A token for a year and a day is more than the node allows.
    let (status, _) = text(b.send(form("anna", "/account/tokens", "label=anna-robot&days=366")).await).await;
    assert_eq!(status, 422);
    let (status, html) = text(b.send(form("anna", "/account/tokens", "label=anna-robot&days=30")).await).await;
    assert_eq!(status, 200, "{html}");
    let shown = html.split("id=\"new-token\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    assert!(shown.starts_with("brd_"), "the token is shown once: {shown}");
    let id = shown.trim_start_matches("brd_").split('_').next().unwrap().to_owned();
    let (status, mine) = text(b.send(MemBackend::request("GET", "/account", &shown, None)).await).await;
    assert_eq!(status, 200, "the new token works");
    assert!(mine.contains("anna-robot"), "{mine}");
    // Bo sees none of Anna's tokens and cannot revoke them.
    let (_, theirs) = text(b.send(MemBackend::request("GET", "/account", &tokens["bo"], None)).await).await;
    assert!(!theirs.contains(&id) && !theirs.contains("anna-robot"), "{theirs}");
    let res = b.send(form("bo", &format!("/account/tokens/{id}/revoke"), "")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(b.send(MemBackend::request("GET", "/account", &shown, None)).await.status(), 200, "still valid");
    let res = b.send(form("anna", &format!("/account/tokens/{id}/revoke"), "")).await;
    assert_eq!(res.status(), 303);
    let res = b.send(MemBackend::request("GET", "/account", &shown, None)).await;
    assert_ne!(res.status(), 200, "a revoked token no longer works");

    // A password change needs the current password, and then ends the old tokens.
    let hash = crate::auth::hash_password("gammalt-lösenord").unwrap();
    let cmd = domain::Command::SetPassword { user_id: domain::UserId::new("anna"), password_hash: hash };
    b.submit(domain::CommandId::new("set-pw"), cmd, None).await.unwrap();
    // (that change ended the test token too: make a fresh one through the API of the backend)
    let t = crate::auth::new_token();
    let cmd = domain::Command::CreateToken {
        token_id: t.id.clone(),
        user_id: domain::UserId::new("anna"),
        secret_sha256: t.secret_sha256,
        label: "ny".into(),
        expires_at: None,
    };
    b.submit(domain::CommandId::new("new-token"), cmd, None).await.unwrap();
    let post = |body: &str| {
        MemBackend::request(
            "POST",
            "/account/password",
            &t.token,
            Some(("application/x-www-form-urlencoded", body.to_owned())),
        )
    };
    let (status, _) = text(b.send(post("current=fel-l%C3%B6senord&password=ett-helt-nytt-l%C3%B6senord")).await).await;
    assert_eq!(status, 403);
    assert_eq!(b.send(MemBackend::request("GET", "/account", &t.token, None)).await.status(), 200, "nothing changed");
    let res = b.send(post("current=gammalt-l%C3%B6senord&password=ett-helt-nytt-l%C3%B6senord")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?done=password");
    assert_ne!(
        b.send(MemBackend::request("GET", "/account", &t.token, None)).await.status(),
        200,
        "the old token ended"
    );
}

/// Pages and the API share one error type: the API answers JSON, a page shows the same error
/// in the reader's language, and "log in first" on a page is a redirect that comes back.
#[tokio::test]
async fn one_error_is_json_for_the_api_and_a_page_in_the_readers_language() {
    let d = domain::demo_data::demo();
    let unit = d.units[0].id.to_string();
    let (b, tokens) = MemBackend::demo(&[("nurse-a", Role::Staff, &[unit.as_str()])]);
    let t = &tokens["nurse-a"];
    for (lang, want) in
        [("sv", documents::i18n::Lang::Sv), ("nb", documents::i18n::Lang::Nb), ("en", documents::i18n::Lang::En)]
    {
        let mut req = MemBackend::request("GET", "/admin/users", t, None);
        req.headers_mut().insert("accept-language", lang.parse().unwrap());
        let (status, html) = text(b.send(req).await).await;
        assert_eq!(status, 403);
        assert!(html.contains(want.t("error.forbidden")), "{lang}: {html}");
        assert!(html.contains(&format!("lang=\"{lang}\"")), "{lang}: {html}");
    }
    let (status, json) = text(b.send(MemBackend::request("GET", "/api/v1/users", t, None)).await).await;
    assert_eq!(status, 403);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["error"]["code"].as_str().is_some_and(|c| c.ends_with("forbidden")), "{json}");

    let anonymous = axum::http::Request::builder().uri("/orders?unit=x").body(axum::body::Body::empty()).unwrap();
    let res = b.send(anonymous).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/orders%3Funit%3Dx");
}

/// The login methods' admin pages: an IdP added through the form, its rules read line by line,
/// a bad line refused with the input kept, the secret never shown and kept on an edit.
#[tokio::test]
async fn admins_add_and_edit_identity_providers_through_the_form_and_the_secret_is_never_shown() {
    let (b, tokens) = MemBackend::demo(&[("ulla", Role::Staff, &[]), ("admin", Role::Admin, &[])]);
    let form = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    let fields = |rules: &str| {
        format!(
            "form=f-{}&id=skane&name=Region+Sk%C3%A5ne&issuer=https%3A%2F%2Fidp.example%2Frealms%2Fstaff&client_id=beredd&client_secret=klient-hemlighet&scopes=profile&user_attribute=hsa_id&name_attribute=name&org_attribute=organisation&allowed_orgs=Malm%C3%B6+stad%0ALunds+kommun&rules={rules}&account_hours=24",
            rules.len()
        )
    };
    assert_eq!(b.send(form("ulla", "/admin/idps/new", &fields("groups+%7C+iva+%7C+staff"))).await.status(), 403);
    // A rule line with an unknown role: refused, the input kept, nothing saved.
    let (status, html) = text(b.send(form("admin", "/admin/idps/new", &fields("groups+%7C+iva+%7C+chef"))).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("groups | iva | chef") && html.contains("Lunds kommun"), "{html}");
    assert!(b.view().idp(domain::IdpId::new("skane")).unwrap().is_none());
    let res = b.send(form("admin", "/admin/idps/new", &fields("groups+%7C+iva+%7C+purchaser"))).await;
    assert_eq!(res.status(), 303);
    let idp = b.view().idp(domain::IdpId::new("skane")).unwrap().unwrap();
    assert_eq!(idp.mapping.allowed_orgs, vec!["Malmö stad".to_owned(), "Lunds kommun".to_owned()]);
    assert_eq!(idp.mapping.rules[0].role, Role::Purchaser);
    let (status, page) =
        text(b.send(MemBackend::request("GET", "/admin/idps/skane", &tokens["admin"], None)).await).await;
    assert_eq!(status, 200);
    assert!(page.contains("groups | iva | purchaser") && !page.contains("klient-hemlighet"), "{page}");
    let (_, list) = text(b.send(MemBackend::request("GET", "/admin/idps", &tokens["admin"], None)).await).await;
    assert!(list.contains("Region Skåne") && list.contains("/auth/oidc/skane/callback"), "{list}");
    // An edit without a secret keeps the stored one.
    let edit =
        fields("groups+%7C+iva+%7C+staff").replace("client_secret=klient-hemlighet", "client_secret=") + "&version=1";
    let res = b.send(form("admin", "/admin/idps/skane", &edit)).await;
    assert_eq!(res.status(), 303);
    let idp = b.view().idp(domain::IdpId::new("skane")).unwrap().unwrap();
    let domain::federation::Protocol::Oidc { client_secret, .. } = &idp.protocol else { panic!("{idp:?}") };
    assert_eq!(
        (idp.version, idp.mapping.rules[0].role, client_secret.as_deref()),
        (2, Role::Staff, Some("klient-hemlighet"))
    );
    // The rules tried on typed attributes: the account they would make, or why not; nothing
    // saved, and only for admins.
    let attrs = "csrf=x&attributes=hsa_id+%3D+SE2321000016-ABCD%0Aorganisation+%3D+Lunds+kommun%0Agroups+%3D+iva";
    assert_eq!(b.send(form("ulla", "/admin/idps/skane/test", attrs)).await.status(), 403);
    let (status, page) = text(b.send(form("admin", "/admin/idps/skane/test", attrs)).await).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"trial-outcome\"") && page.contains("skane.se2321000016-abcd"), "{page}");
    assert!(b.view().user(domain::UserId::new("skane.se2321000016-abcd")).unwrap().is_none());
    let stranger = attrs.replace("Lunds", "Ystads");
    let (_, page) = text(b.send(form("admin", "/admin/idps/skane/test", &stranger)).await).await;
    assert!(page.contains("id=\"trial-outcome\"") && page.contains("Ystads kommun"), "{page}");
    let (_, page) = text(b.send(form("admin", "/admin/idps/skane/test", "attributes=bara+text")).await).await;
    assert!(page.contains("id=\"trial-outcome\"") && !page.contains("skane.se2321000016-abcd"), "{page}");
}

#[tokio::test]
async fn the_identity_ops_subscriber_and_update_helper_pages_answer_each_role_as_it_may() {
    let (b, tokens) = MemBackend::demo(&[
        ("staff", Role::Staff, &[]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
        ("admin", Role::Admin, &[]),
    ]);
    let send = |who: &str, method: &str, path: &str, body: Option<String>| {
        let body = body.map(|b| ("application/x-www-form-urlencoded", b));
        MemBackend::request(method, path, &tokens[who], body)
    };
    let due = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let incident = serde_json::json!({"id": "i-role", "title": "Växeln nere", "impact": "minor",
        "systems": [], "body": "Vi undersöker.", "next_update_due": due});
    let req = MemBackend::request(
        "POST",
        "/api/v1/status/incidents",
        &tokens["admin"],
        Some(("application/json", incident.to_string())),
    );
    let status = b.send(req).await.status();
    assert_eq!(status, 201);
    let everyone = ["staff", "buyer", "comms", "ops", "admin"];
    let cases: [(&str, &str, Option<&str>, &[&str], &str); 5] = [
        ("GET", "/admin/identity", None, &["admin"], "/admin/idps/new"),
        // This backend has no SMS routes: the section says so.
        ("GET", "/ops", None, &["ops", "admin"], "[sms]"),
        ("GET", "/status/subscribers/new", None, &["comms", "admin"], "name=\"phone\""),
        ("POST", "/status/manage/template/i-role", Some("template=delay"), &["comms", "admin"], "planerat"),
        (
            "POST",
            "/status/manage/update/i-role",
            Some("action=preview&stage=identified&body=Hej"),
            &["comms", "admin"],
            "data-preview",
        ),
    ];
    for (method, path, body, allowed, marker) in cases {
        for who in everyone {
            let (status, html) = text(b.send(send(who, method, path, body.map(str::to_owned))).await).await;
            if allowed.contains(&who) {
                assert_eq!(status, 200, "{who} {method} {path}: {html}");
                assert!(html.contains(marker), "{who} {method} {path} lacks {marker}: {html}");
            } else {
                assert_eq!(status, 403, "{who} {method} {path}");
            }
        }
    }
    // The helpers posted nothing: the incident has its opening update only.
    assert_eq!(b.view().incident("i-role").unwrap().unwrap().updates.len(), 1);
}

#[tokio::test]
async fn everyone_may_page_the_on_call_but_only_the_raiser_and_the_managers_stop_it_and_the_link_needs_its_token() {
    let (b, tokens) = MemBackend::demo(&[
        ("staff", Role::Staff, &[]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
        ("admin", Role::Admin, &[]),
    ]);
    let json = |who: &str, path: &str, body: serde_json::Value| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/json", body.to_string())))
    };
    let form = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    let get = |who: &str, path: &str| MemBackend::request("GET", path, &tokens[who], None);
    let pager =
        serde_json::json!({"kind": "pager", "value": "+46 74 100 80 00", "hours": "", "last_tested": null, "note": ""});
    let phone =
        serde_json::json!({"kind": "phone", "value": "010-100 80 00", "hours": "", "last_tested": null, "note": ""});
    for (id, route) in [("f-1", pager), ("f-2", phone)] {
        let c = serde_json::json!({"id": id, "kind": "function", "name": format!("Funktion {id}"), "routes": [route]});
        assert_eq!(b.send(json("comms", "/api/v1/contacts", c)).await.status(), 201);
    }
    for (id, f) in [("r-1", "f-1"), ("r-2", "f-2")] {
        let r = serde_json::json!({"id": id, "name": format!("Jour {id}"), "function_id": f});
        assert_eq!(b.send(json("comms", "/api/v1/rotas", r)).await.status(), 201);
    }
    let everyone = ["staff", "buyer", "comms", "ops", "admin"];
    for who in everyone {
        let (status, html) = text(b.send(get(who, "/pages?rota=r-2")).await).await;
        assert_eq!(status, 200, "{who}: {html}");
        assert!(html.contains("data-page-form") && html.contains(r#"<option value="r-2" selected>"#), "{who}: {html}");
    }
    // Bad input: a clear error and nothing raised.
    let (status, html) = text(b.send(form("staff", "/pages", "rota=r-1&message=+")).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("f-message-error"), "{html}");
    let (status, html) = text(b.send(form("staff", "/pages", "rota=r-2&message=Hj%C3%A4lp")).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Ingen i jourschemat har ett mobilnummer"), "{html}");
    assert!(documents::paging::all(b.view().as_ref()).unwrap().is_empty());

    let raise = |who: &str| form(who, "/pages", "rota=r-1&message=CVK-set+slut+p%C3%A5+IVA");
    let res = b.send(raise("staff")).await;
    assert_eq!(res.status(), 303);
    let at = res.headers()["location"].to_str().unwrap().to_owned();
    let id = at.trim_start_matches("/pages/").to_owned();
    for who in everyone {
        let (status, html) = text(b.send(get(who, &at)).await).await;
        assert_eq!(status, 200, "{who}: {html}");
        assert!(html.contains("data-chain") && html.contains("+46741008000"), "{who}: {html}");
        let may_stop = matches!(who, "staff" | "comms" | "ops" | "admin");
        assert_eq!(html.contains(&format!("/pages/{id}/cancel")), may_stop, "{who}: {html}");
    }
    let (status, _) = text(b.send(form("buyer", &format!("/pages/{id}/cancel"), "reason=nej")).await).await;
    assert_eq!(status, 403);
    let page = |id: &str| b.view().page(domain::PageId::new(id)).unwrap().unwrap();
    assert!(page(&id).is_open());
    assert_eq!(b.send(form("comms", &format!("/pages/{id}/cancel"), "reason=l%C3%B6st")).await.status(), 303);
    assert_eq!(page(&id).state, domain::paging::PageState::Cancelled);

    // The link in the text: no login, the token is the permission, a GET changes nothing.
    let res = b.send(raise("buyer")).await;
    let id = res.headers()["location"].to_str().unwrap().trim_start_matches("/pages/").to_owned();
    let token = page(&id).token;
    let anon = |method: &str, path: &str| {
        axum::http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()
    };
    let (status, html) = text(b.send(anon("GET", &format!("/p/{id}/0/{}", "0".repeat(32)))).await).await;
    assert_eq!(status, 200);
    assert!(html.contains("Länken gäller inte") && !html.contains("<form method=\"post\" action=\"/p/"), "{html}");
    let link = format!("/p/{id}/0/{token}");
    let (_, html) = text(b.send(anon("GET", &link)).await).await;
    assert!(html.contains(&format!("action=\"{link}\"")) && html.contains("CVK-set slut på IVA"), "{html}");
    assert!(page(&id).is_open(), "a GET acknowledges nothing");
    let (status, html) = text(b.send(anon("POST", &link)).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("larmet är kvitterat"), "{html}");
    assert_eq!(page(&id).state, domain::paging::PageState::Acknowledged);
    let (_, html) = text(b.send(anon("POST", &link)).await).await;
    assert!(html.contains("Larmet är redan avslutat: Kvitterat"), "{html}");
}

#[tokio::test]
async fn ops_staff_change_members_from_the_ops_page_each_change_recorded_first_with_who_asked() {
    use domain::nodes::MemberChange;
    let (b, tokens) = MemBackend::demo(&[
        ("staff", Role::Staff, &["ekb-iva"]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
        ("admin", Role::Admin, &[]),
    ]);
    b.apply_batch(vec![domain::Command::RegisterNode {
        id: 4,
        http: "http://n4:8080".into(),
        grpc: "n4:50051".into(),
    }]);
    let post = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };

    // The list: every member with its contact, lag, version and the forms to change it.
    let (status, html) = text(b.send(MemBackend::request("GET", "/ops", &tokens["ops"], None)).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-member=\"4\"") && html.contains("/ops/members/4/promote"), "{html}");
    assert!(html.contains(env!("CARGO_PKG_VERSION")), "the member's version: {html}");
    assert!(!html.contains("/ops/members/1/remove"), "the leader is not offered for removal: {html}");

    // Nobody but ops staff and admins; nothing recorded, nothing carried out.
    for who in ["staff", "buyer", "comms"] {
        let status = b.send(post(who, "/ops/members/4/promote", "")).await.status();
        assert_eq!(status, 403, "{who}");
    }
    assert!(b.member_changes().is_empty());
    // A removal needs its box ticked; an unknown change or node is not found.
    let (status, html) = text(b.send(post("ops", "/ops/members/4/remove", "")).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Kryssa i rutan"), "{html}");
    assert_eq!(b.send(post("ops", "/ops/members/4/halt", "")).await.status(), 404);
    assert_eq!(b.send(post("ops", "/ops/members/x/promote", "")).await.status(), 404);
    let (status, _) = text(b.send(post("ops", "/ops/members/9/promote", "")).await).await;
    assert_eq!(status, 404, "not in the node directory");
    assert!(b.member_changes().is_empty());

    // Ops promotes, an admin removes: each carried out after it was recorded.
    let res = b.send(post("ops", "/ops/members/4/promote", "")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ops?done=member_changed#members-h");
    let res = b.send(post("admin", "/ops/members/4/remove", "confirm=yes")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(b.member_changes(), [(4, MemberChange::Promote), (4, MemberChange::Remove)]);
    let node = b.view().node(4u64).unwrap().unwrap();
    let seen: Vec<(&str, Option<&str>)> = node.history.iter().map(|e| (e.what.as_str(), e.by.as_deref())).collect();
    assert_eq!(seen, [("registered", None), ("promote", Some("ops")), ("remove", Some("admin"))]);
    let (_, html) = text(b.send(MemBackend::request("GET", "/ops", &tokens["admin"], None)).await).await;
    assert!(html.contains("borttagning begärd (admin)"), "the history on the page: {html}");

    // The JSON twin lists the same and records the same.
    let (status, body) =
        text(b.send(MemBackend::request("GET", "/api/v1/cluster/members", &tokens["ops"], None)).await).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let four = v["items"].as_array().unwrap().iter().find(|m| m["id"] == 4).unwrap().clone();
    assert_eq!(four["history"][2]["by"], "admin", "{v}");
    let req = MemBackend::request("POST", "/api/v1/cluster/members/1/transfer_leader", &tokens["ops"], None);
    assert_eq!(b.send(req).await.status(), 200);
    assert_eq!(b.member_changes().last(), Some(&(1, MemberChange::TransferLeader)));

    // A drill from the page: ops and admins only, checked; it runs with a token made for the
    // person, and the page shows how it went.
    for who in ["staff", "buyer", "comms"] {
        assert_eq!(b.send(post(who, "/ops/drill", "mode=transfer&seconds=5")).await.status(), 403, "{who}");
    }
    assert!(b.drill_run().is_none());
    for bad in ["mode=halt", "mode=isolate&isolate_seconds=900", "mode=transfer&seconds=1", "mode=transfer&to=x"] {
        assert_eq!(b.send(post("ops", "/ops/drill", bad)).await.status(), 422, "{bad}");
    }
    assert!(b.drill_run().is_none(), "nothing started");
    let tokens_before = b.view().scan(domain::Table::Token, None, 1000).unwrap().len();
    let res = b.send(post("ops", "/ops/drill", "mode=isolate&isolate_seconds=5&seconds=4")).await;
    assert_eq!(res.status(), 303);
    let run = b.drill_run().unwrap();
    assert_eq!((run.by.as_str(), run.mode.clone()), ("ops", crate::backend::DrillMode::Isolate { seconds: 5 }));
    let made: Vec<domain::Record> = b.view().scan(domain::Table::Token, None, 1000).unwrap();
    assert_eq!(made.len(), tokens_before + 1, "one token made for the drill");
    assert!(made.iter().any(|r| matches!(r, domain::Record::Token(t) if t.user_id.as_str() == "ops"
        && t.label == "failover drill from /ops"
        && t.expires_at.is_some_and(|e| e < time::OffsetDateTime::now_utc() + time::Duration::hours(1)))));
    let (_, html) = text(b.send(MemBackend::request("GET", "/ops", &tokens["ops"], None)).await).await;
    assert!(html.contains("id=\"drill-run\"") && html.contains("ledaren kopplas bort i 5 s"), "{html}");
}

#[tokio::test]
async fn ops_staff_invite_a_node_from_the_ops_page_see_it_once_and_revoke_it() {
    use sha2::Digest;
    let (b, tokens) = MemBackend::demo(&[
        ("staff", Role::Staff, &["ekb-iva"]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
    ]);
    let post = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    let (status, html) = text(b.send(MemBackend::request("GET", "/ops", &tokens["ops"], None)).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("action=\"/ops/invitations\""), "{html}");

    // Nobody but ops staff and admins; bad answers change nothing.
    for who in ["staff", "buyer", "comms"] {
        let status = b.send(post(who, "/ops/invitations", "name=laptop&join_as=voter&hours=1")).await.status();
        assert_eq!(status, 403, "{who}");
    }
    for bad in [
        "name=laptop&join_as=boss&hours=1",
        "name=laptop&join_as=voter&hours=999",
        "name=laptop&hours=x",
        "name=&join_as=voter",
    ] {
        let status = b.send(post("ops", "/ops/invitations", bad)).await.status();
        assert_eq!(status, 422, "{bad}");
    }
    assert!(b.view().invitation(2u64).unwrap().is_none(), "nothing recorded");

    // Made: shown once, as the command and a QR code; only the secret's hash is recorded.
    let (status, html) =
        text(b.send(post("ops", "/ops/invitations", "name=laptop-akuten&join_as=learner&hours=2")).await).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("beredd join --dir beredd-node2 ").unwrap_or_else(|| panic!("{html}"));
    let invitation = html[start..].split_whitespace().nth(4).unwrap().trim_end_matches("</textarea>");
    let token = crate::invitation::InviteToken::decode(invitation).unwrap();
    assert_eq!(
        (token.node, token.name.as_str(), token.ca_sha256.as_str()),
        (2, "laptop-akuten", "ab".repeat(32).as_str())
    );
    assert!(html.contains("<svg") && html.contains("data-invite-qr"), "{html}");
    let inv = b.view().invitation(2u64).unwrap().unwrap();
    assert_eq!(inv.fields.secret_sha256, hex::encode(sha2::Sha256::digest(token.secret.as_bytes())));
    assert_eq!(inv.fields.join_as, domain::nodes::invitations::JoinAs::Learner);
    assert_eq!(inv.created.by.as_deref(), Some("ops"));
    let (_, page) = text(b.send(MemBackend::request("GET", "/ops", &tokens["ops"], None)).await).await;
    assert!(page.contains("data-invitation=\"2\" data-state=\"open\""), "{page}");
    assert!(!page.contains(&token.secret), "the secret is shown only once");
    let (_, json) = text(b.send(MemBackend::request("GET", "/api/v1/invitations", &tokens["ops"], None)).await).await;
    assert!(
        json.contains("laptop-akuten") && !json.contains(&token.secret) && !json.contains(&inv.fields.secret_sha256),
        "{json}"
    );

    // Revoked by ops only; an invitation nobody used removes no member.
    assert_eq!(b.send(post("staff", "/ops/invitations/2/revoke", "")).await.status(), 403);
    assert_eq!(b.send(post("ops", "/ops/invitations/x/revoke", "")).await.status(), 404);
    let res = b.send(post("ops", "/ops/invitations/2/revoke", "")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ops?done=invitation_revoked#invitations-h");
    assert!(b.view().invitation(2u64).unwrap().unwrap().revoked.is_some());
    assert!(b.member_changes().is_empty());
    let (_, page) = text(b.send(MemBackend::request("GET", "/ops", &tokens["ops"], None)).await).await;
    assert!(page.contains("data-invitation=\"2\" data-state=\"revoked\""), "{page}");
    // The next invitation gets the next id, never a used one.
    let (status, html) = text(b.send(post("ops", "/ops/invitations", "name=second&join_as=voter")).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("beredd join --dir beredd-node3 "), "{html}");
}

#[tokio::test]
async fn ops_staff_see_break_glass_explained_on_a_node_without_a_majority_and_two_accounts_confirm_it() {
    use crate::backend::{BreakGlass, BreakGlassFounding};
    let (b, tokens) = MemBackend::demo(&[
        ("staff", Role::Staff, &["ekb-iva"]),
        ("buyer", Role::Purchaser, &[]),
        ("comms", Role::Communicator, &[]),
        ("ops", Role::Ops, &[]),
        ("admin", Role::Admin, &[]),
    ]);
    let page = |who: &str| MemBackend::request("GET", "/ops", &tokens[who], None);
    let post = |who: &str, path: &str, body: &str| {
        MemBackend::request("POST", path, &tokens[who], Some(("application/x-www-form-urlencoded", body.to_owned())))
    };
    // With a majority there is nothing to say.
    *b.glass.lock().unwrap() = Some(BreakGlass { after_ms: 900_000, ..BreakGlass::default() });
    let (_, html) = text(b.send(page("ops")).await).await;
    assert!(!html.contains("data-break-glass"), "{html}");

    // Without one for 5 minutes of 15: explained, with how long to wait, and no form.
    *b.glass.lock().unwrap() =
        Some(BreakGlass { majority_lost_ms: Some(300_000), after_ms: 900_000, ..BreakGlass::default() });
    let (status, html) = text(b.send(page("ops")).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-break-glass data-allowed=\"false\""), "{html}");
    assert!(html.contains("utan majoritet i klustret i 5 min") && html.contains("(om 10 min)"), "{html}");
    assert!(html.contains("Inget av deras slås ihop automatiskt"), "what is lost is said: {html}");
    assert!(!html.contains("action=\"/ops/break-glass\""), "{html}");
    assert_eq!(b.send(post("ops", "/ops/break-glass", "confirm=yes")).await.status(), 409);

    // Long enough: the form. Only ops and admins, the box ticked, two different accounts.
    *b.glass.lock().unwrap() =
        Some(BreakGlass { majority_lost_ms: Some(960_000), after_ms: 900_000, ..BreakGlass::default() });
    let (_, html) = text(b.send(page("admin")).await).await;
    assert!(html.contains("action=\"/ops/break-glass\"") && html.contains("gör nod 1 till ett nytt kluster"), "{html}");
    for who in ["staff", "buyer", "comms"] {
        assert_eq!(b.send(post(who, "/ops/break-glass", "confirm=yes")).await.status(), 403, "{who}");
        assert_eq!(b.send(page(who)).await.status(), 403, "{who}");
    }
    assert!(b.break_glass().unwrap().pending.is_none(), "a refused account confirmed nothing");
    let (status, html) = text(b.send(post("ops", "/ops/break-glass", "")).await).await;
    assert_eq!(status, 422, "{html}");
    assert!(b.break_glass().unwrap().pending.is_none(), "nothing confirmed");
    let res = b.send(post("ops", "/ops/break-glass", "confirm=yes")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ops?done=glass_confirmed#glass-h");
    // The one who confirmed sees it waiting, without a form of their own; another sees the second.
    let (_, html) = text(b.send(page("ops")).await).await;
    assert!(html.contains("data-glass-pending") && html.contains("ops bekräftade"), "{html}");
    assert!(!html.contains("action=\"/ops/break-glass\""), "{html}");
    let (_, html) = text(b.send(page("admin")).await).await;
    assert!(html.contains("Andra bekräftelsen (av ett annat konto)"), "{html}");
    // Withdrawing it: ops and admins only; then the first confirmation is made again.
    for who in ["staff", "buyer", "comms"] {
        assert_eq!(b.send(post(who, "/ops/break-glass/withdraw", "")).await.status(), 403, "{who}");
    }
    assert!(b.break_glass().unwrap().pending.is_some(), "a refused withdrawal withdrew nothing");
    let res = b.send(post("admin", "/ops/break-glass/withdraw", "")).await;
    assert_eq!(res.headers()["location"], "/ops?done=glass_withdrawn#glass-h");
    assert!(b.break_glass().unwrap().pending.is_none());
    assert_eq!(b.send(post("admin", "/ops/break-glass/withdraw", "")).await.status(), 409, "nothing to withdraw");
    assert_eq!(b.send(post("ops", "/ops/break-glass", "confirm=yes")).await.status(), 303);
    let (status, html) = text(b.send(post("ops", "/ops/break-glass", "confirm=yes")).await).await;
    assert_eq!(status, 409, "{html}");
    let res = b.send(post("admin", "/ops/break-glass", "confirm=yes")).await;
    assert_eq!(res.headers()["location"], "/ops?done=glass_started#glass-h");
    let (_, html) = text(b.send(page("ops")).await).await;
    assert!(html.contains("data-running=\"true\"") && html.contains("data-glass-running"), "{html}");

    // Afterwards: what was done, by whom, and what to do next, while it has fewer than three voters.
    let at = time::OffsetDateTime::now_utc();
    let founded =
        BreakGlassFounding { at, confirmed_by: vec!["ops".into(), "admin".into()], retired: vec![2, 3], log_index: 40 };
    *b.glass.lock().unwrap() = Some(BreakGlass { after_ms: 900_000, founded: Some(founded), ..BreakGlass::default() });
    let (_, html) = text(b.send(page("ops")).await).await;
    assert!(html.contains("data-glass-founded") && html.contains("bekräftat av ops, admin"), "{html}");
    assert!(html.contains("Pensionerade för gott: nod 2, 3") && html.contains("Bjud in en nod"), "{html}");

    // The JSON twin: ops and admins only.
    let (status, body) =
        text(b.send(MemBackend::request("GET", "/api/v1/cluster/break-glass", &tokens["ops"], None)).await).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["available"].as_bool(), v["founded"]["retired"].clone()),
        (Some(true), serde_json::json!([2, 3])),
        "{v}"
    );
    let req = MemBackend::request("POST", "/api/v1/cluster/break-glass/confirm", &tokens["comms"], None);
    assert_eq!(b.send(req).await.status(), 403);
}
