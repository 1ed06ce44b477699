//! The HTML pages over real HTTP (the browser tests in `ui-tests/` drive a real Chromium): the
//! page contract (`<html lang>`, `data-node-id`, `data-quorum`), languages, search, the CSRF
//! check on forms, POST-redirect-GET with one order per form however often it is posted, and an
//! import that saves every row or none.

use crate::harness::Cluster;
use serde_json::json;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

/// GET `path` with the given headers; returns status, `Location` and body.
fn get(c: &Cluster, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = agent().get(&format!("http://{}{path}", c.nodes[0].http));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut r = req.call().expect("request");
    let loc = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (r.status().as_u16(), loc, r.body_mut().read_to_string().unwrap_or_default())
}

fn post_form(c: &Cluster, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String, String, String) {
    let mut r = agent()
        .post(&format!("http://{}{path}", c.nodes[0].http))
        .header("Cookie", cookie)
        .send_form(form.iter().copied())
        .expect("request");
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (loc, set_cookie) = (h("location"), h("set-cookie"));
    (r.status().as_u16(), loc, set_cookie, r.body_mut().read_to_string().unwrap_or_default())
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle).unwrap_or_else(|| panic!("no {name} in page")) + needle.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

#[test]
fn pages_carry_the_contract_attributes_speak_the_browsers_language_and_search_folds() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 3);
    let bearer = format!("Bearer {}", c.token);
    let (s, _, html) = get(&c, "/catalog?q=HANDSKE", &[("Authorization", &bearer)]);
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("<html lang=\"sv\">"), "Swedish by default");
    assert!(html.contains(&format!("data-node-id=\"{}\"", c.nodes[0].id)));
    assert!(html.contains("data-quorum=\"ok\""));
    assert!(html.contains("Handske nitril 2"), "{html}");
    assert!(!html.contains("<script"), "pages work without JavaScript");

    let (_, _, en) = get(&c, "/catalog", &[("Authorization", &bearer), ("Accept-Language", "de, en-GB;q=0.8")]);
    assert!(en.contains("<html lang=\"en\">") && en.contains(">Catalog<"));
    let (_, _, nb) = get(&c, "/catalog", &[("Authorization", &bearer), ("Cookie", "beredd_lang=nb")]);
    assert!(nb.contains("<html lang=\"nb\">"));

    // The order list finds an order's unit at "Östra sjukhuset" and shows it in Swedish.
    let (s, b) = c.post(0, "/api/v1/orders", &Cluster::order_body("o-1"));
    assert_eq!(s, 201, "{b}");
    let (_, _, list) = get(&c, "/orders", &[("Authorization", &bearer)]);
    assert!(list.contains(b["number"].as_str().unwrap()) && list.contains("Utkast"), "{list}");
    let (s, _, page) = get(&c, "/orders/o-1", &[("Authorization", &bearer)]);
    assert_eq!(s, 200);
    assert!(page.contains("Östra sjukhuset") && page.contains("Handske nitril 0"));

    // Without a login a page sends the browser to the login page, and back afterwards.
    let (s, loc, _) = get(&c, "/orders?status=draft", &[]);
    assert_eq!((s, loc.as_str()), (303, "/login?next=/orders%3Fstatus%3Ddraft"));
    let (s, _, _) = get(&c, "/assets/style.css", &[]);
    assert_eq!(s, 200);
}

#[test]
fn forms_need_the_csrf_token_redirect_after_saving_and_save_once() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 2);
    let staff = c.create_user("anna", "staff", &["ost-iva"]);
    let password = staff["password"].as_str().unwrap();
    // The login form is tied to the browser that fetched it (login CSRF).
    let form = [("user", "anna"), ("password", password), ("next", "/orders/new")];
    let (s, _, _, _) = post_form(&c, "/login", "", &form);
    assert_eq!(s, 403, "a login posted from elsewhere is refused");
    let mut r = agent().get(&format!("http://{}/login", c.nodes[0].http)).call().expect("request");
    let login_cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let login_cookie = login_cookie.split(';').next().unwrap().to_owned();
    let token = hidden(&r.body_mut().read_to_string().unwrap_or_default(), "login_csrf");
    let mut with_token = form.to_vec();
    with_token.push(("login_csrf", &token));
    let (s, loc, set_cookie, _) = post_form(&c, "/login", &login_cookie, &with_token);
    assert_eq!((s, loc.as_str()), (303, "/orders/new"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let (s, _, form) = get(&c, "/orders/new", &[("Cookie", &cookie)]);
    assert_eq!(s, 200);
    let (csrf, form_id) = (hidden(&form, "csrf"), hidden(&form, "form"));
    let fields = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("form", form_id.clone()),
            ("version", "0".into()),
            ("lines", "1".into()),
            ("unit", "ost-iva".into()),
            ("line-0-article", "ML-1".into()),
            ("line-0-quantity", "4".into()),
            ("line-0-note", "".into()),
            ("op", "submit".into()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let without: Vec<(&str, String)> = as_refs(&fields("wrong"));
    let pairs: Vec<(&str, &str)> = without.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, _, body) = post_form(&c, "/orders/new", &cookie, &pairs);
    assert_eq!(s, 403, "a form without the session's CSRF token is refused: {body}");
    assert!(c.order_ids(0).is_empty());

    let good = as_refs(&fields(&csrf));
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, loc, _, body) = post_form(&c, "/orders/new", &cookie, &pairs);
    assert_eq!(s, 303, "{body}");
    assert!(loc.starts_with("/orders/") && loc.ends_with("?done=submitted"), "{loc}");
    // The same form posted again (a double click, a reload) leads to the same order.
    let (s, again, _, _) = post_form(&c, "/orders/new", &cookie, &pairs);
    assert_eq!((s, again.as_str()), (303, loc.as_str()));
    assert_eq!(c.order_ids(0).len(), 1);
    let (_, _, page) = get(&c, &loc, &[("Cookie", &cookie)]);
    assert!(page.contains("Beställningen är inskickad") && page.contains("Inskickad"), "{page}");
    assert!(page.contains(">anna<"), "the history names who did it");
}

#[test]
fn an_import_saves_every_row_or_none_and_reports_each_bad_row() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 0);
    let csv =
        |rows: &str| format!("artikelnummer;namn;enhet;förpackningsstorlek;leverantör;kategori;id;gtin;pris\n{rows}");
    let good =
        "ML-900;Kompress 10x10;PK;10;sup-1;Förband;imp-1;;12,50\nML-901;Kompress 5x5;PK;10;sup-1;Förband;imp-2;;\n";
    let bad = "ML-902;Tejp;RLL;1;sup-1;Förband;imp-3;;\nML-903;Plåster;PK;x;nobody;Förband;imp-4;7310000000001;\n";
    let upload = |body: String| {
        let boundary = "beredd-test-boundary";
        let payload = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\narticles\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"artiklar.csv\"\r\nContent-Type: text/csv\r\n\r\n{body}\r\n--{boundary}--\r\n"
        );
        let mut r = agent()
            .post(&format!("http://{}/admin/import", c.nodes[0].http))
            .header("Authorization", &format!("Bearer {}", c.token))
            .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
            .send(payload.as_bytes())
            .expect("upload");
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    };
    let (s, page) = upload(csv(&format!("{good}{bad}")));
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("Ingenting sparades"), "{page}");
    for row in [">4<", ">5<"] {
        assert!(page.contains(row), "row {row} is reported: {page}");
    }
    assert_eq!(c.get(0, "/api/v1/articles/imp-1").0, 404, "nothing of a refused import is saved");

    let (s, page) = upload(csv(good));
    assert_eq!(s, 303, "{page}");
    let (s, a) = c.get(0, "/api/v1/articles/imp-1");
    assert_eq!(s, 200);
    assert_eq!(a["price_cents"], json!(1250));
    assert_eq!(c.get(0, "/api/v1/articles/imp-2").0, 200);
}

#[test]
fn every_role_gets_the_pages_it_should_and_is_refused_the_others() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 1);
    let (s, b) = c.post(0, "/api/v1/orders", &Cluster::order_body("o-1"));
    assert_eq!(s, 201, "{b}");
    let idp = json!({"id": "lund", "name": "Lunds kommun", "protocol": {"kind": "card"},
        "mapping": {"user_attribute": "cn", "rules": [{"attribute": "o", "value": "Lund", "role": "staff"}]}});
    let (s, b) = c.post(0, "/api/v1/idps", &idp);
    assert_eq!(s, 201, "{b}");
    let pages = [
        "/",
        "/catalog",
        "/orders",
        "/orders/o-1",
        "/orders/new",
        "/purchasing",
        "/admin",
        "/admin/articles/new",
        "/admin/users",
        "/admin/audit",
        "/admin/idps",
        "/admin/idps/new",
        "/admin/idps/lund",
        "/admin/identity",
    ];
    // 2: allowed (200), 3: refused (403), 4: hidden (404: someone else's order).
    let expect: [(&str, &[&str], [u16; 14]); 5] = [
        ("staff", &["ost-iva"], [200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("purchaser", &[], [200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("communicator", &[], [200, 200, 403, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("ops", &[], [200, 200, 403, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
        ("admin", &[], [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    ];
    for (role, units, codes) in expect {
        let token = c.create_user(&format!("u-{role}"), role, units)["api_token"].as_str().unwrap().to_owned();
        let bearer = format!("Bearer {token}");
        for (path, want) in pages.iter().zip(codes) {
            let (got, _, body) = get(&c, path, &[("Authorization", &bearer)]);
            assert_eq!(got, want, "{role} GET {path}: {}", body.chars().take(300).collect::<String>());
        }
        // Changes through forms follow the same rules as the API (a Bearer token needs no CSRF).
        let mut r = agent()
            .post(&format!("http://{}/admin/units/new", c.nodes[0].http))
            .header("Authorization", &bearer)
            .send_form([("id", format!("x-{role}").as_str()), ("name", "X"), ("site", "Y")])
            .unwrap();
        let want = if role == "admin" { 303 } else { 403 };
        assert_eq!(
            r.status().as_u16(),
            want,
            "{role} POST /admin/units/new: {}",
            r.body_mut().read_to_string().unwrap_or_default()
        );
    }
    // A staff member of another unit does not see the order at all.
    let other = c.create_user("u-other", "staff", &[])["api_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&c, "/orders/o-1", &[("Authorization", &format!("Bearer {other}"))]).0, 404);
}

#[test]
fn a_stale_edit_keeps_the_input_and_says_so_and_a_second_save_overwrites() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 2);
    let (s, b) = c.post(0, "/api/v1/orders", &Cluster::order_body("o-1"));
    assert_eq!(s, 201, "{b}");
    let bearer = format!("Bearer {}", c.token);
    let (s, _, form) = get(&c, "/orders/o-1/edit", &[("Authorization", &bearer)]);
    assert_eq!(s, 200);
    assert_eq!(hidden(&form, "version"), "1");
    // Someone else changes the draft meanwhile.
    let mut changed = Cluster::order_body("o-1");
    changed["version"] = json!(1);
    changed["note"] = json!("ändrad av någon annan");
    let (s, b) = c.put(0, "/api/v1/orders/o-1", &changed);
    assert_eq!(s, 200, "{b}");
    let mine = [
        ("form", hidden(&form, "form")),
        ("version", "1".to_owned()),
        ("lines", "1".to_owned()),
        ("unit", "ost-iva".to_owned()),
        ("line-0-article", "ML-1".to_owned()),
        ("line-0-quantity", "7".to_owned()),
        ("note", "min egen kommentar".to_owned()),
        ("op", "save".to_owned()),
    ];
    let post = |fields: &[(&str, String)]| {
        let mut r = agent()
            .post(&format!("http://{}/orders/o-1/edit", c.nodes[0].http))
            .header("Authorization", &bearer)
            .send_form(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .expect("post");
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    };
    let (s, page) = post(&mine);
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("Någon annan har ändrat utkastet"), "{page}");
    assert!(page.contains("min egen kommentar") && page.contains("value=\"7\""), "the input is kept: {page}");
    assert_eq!(hidden(&page, "version"), "2", "a second save overwrites on purpose");
    let again: Vec<(&str, String)> = mine
        .iter()
        .map(|(k, v)| match *k {
            "version" => (*k, "2".to_owned()),
            "form" => (*k, hidden(&page, "form")),
            _ => (*k, v.clone()),
        })
        .collect();
    let (s, _) = post(&again);
    assert_eq!(s, 303);
    let (_, o) = c.get(0, "/api/v1/orders/o-1");
    assert_eq!((o["note"].as_str(), o["lines"][0]["quantity"].as_u64()), (Some("min egen kommentar"), Some(7)));
}

#[test]
fn orders_and_supplier_batches_download_as_csv_and_xlsx_that_read_back() {
    let c = Cluster::start(1, &[]);
    c.wait_leader();
    c.seed_catalog(0, 2);
    for (id, q) in [("o-1", 3), ("o-2", 5)] {
        let mut body = Cluster::order_body(id);
        body["lines"][0]["quantity"] = json!(q);
        body["lines"][0]["note"] = json!("=1+1; \"märkt\"\nrad två");
        body["submit"] = json!(true);
        let (s, b) = c.post(0, "/api/v1/orders", &body);
        assert_eq!(s, 201, "{b}");
        let (s, b) = c.post(0, &format!("/api/v1/orders/{id}/approve"), &json!({}));
        assert_eq!(s, 200, "{b}");
    }
    let bearer = format!("Bearer {}", c.token);
    let download = |path: &str| {
        let mut r = agent()
            .get(&format!("http://{}{path}", c.nodes[0].http))
            .header("Authorization", &bearer)
            .call()
            .expect("download");
        let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (kind, disposition) = (h("content-type"), h("content-disposition"));
        (r.status().as_u16(), kind, disposition, r.body_mut().read_to_vec().unwrap_or_default())
    };
    let (s, kind, disposition, csv) = download("/api/v1/orders/o-1/export?format=csv&lang=sv");
    assert_eq!(s, 200);
    assert!(kind.starts_with("text/csv") && disposition.contains("beredd-order-2026-000001-"), "{disposition}");
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((&rows[0][0], &rows[0][14], &rows[0][20]), ("2026-000001", "3", "'=1+1; \"märkt\"\nrad två"));

    let (s, _, disposition, xlsx) = download("/api/v1/suppliers/sup-1/export?format=xlsx&status=approved&lang=en");
    assert_eq!(s, 200);
    assert!(disposition.contains("beredd-medilux-ab-"), "{disposition}");
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).expect("xlsx");
    use calamine::Reader;
    let names = wb.sheet_names();
    assert_eq!(names, ["Summary", "Lines"]);
    let lines = wb.worksheet_range("Lines").expect("lines");
    let quantities: Vec<String> = lines.rows().skip(1).take(2).map(|r| r[14].to_string()).collect();
    assert_eq!(quantities, ["3", "5"]);

    // Without a buyer organisation there is no PEPPOL file, only a reason; an order one may not
    // see is not found.
    let (s, _, _, body) = download("/api/v1/orders/o-1/export?format=ubl&lang=en");
    let body = String::from_utf8_lossy(&body);
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("export.peppol_incomplete") && body.contains("the buyer organisation is not set"), "{body}");
    let other = c.create_user("u-other", "staff", &[])["api_token"].as_str().unwrap().to_owned();
    let mut r = agent()
        .get(&format!("http://{}/api/v1/orders/o-1/export?format=csv", c.nodes[0].http))
        .header("Authorization", &format!("Bearer {other}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "{}", r.body_mut().read_to_string().unwrap_or_default());
}

/// The PEPPOL validator (`tests/peppol`, UBL schema + the official T01 rules) with the venv's
/// Python, which has lxml and saxonche (`scripts/ensure-venv.sh`).
pub(crate) fn peppol_validate(files: &[std::path::PathBuf]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new(crate::harness::venv_python())
        .arg(root.join("tests/peppol/validate.py"))
        .args(files)
        .output()
        .expect("python");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report.lines().filter(|l| l.starts_with("ok ")).count(), files.len(), "{report}");
}

#[test]
fn a_node_whose_peers_are_down_serves_a_supplier_batch_in_every_format() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let org = json!({"name": "Region Östra Ö", "org_number": "232100-0164", "country": "SE", "currency": "SEK",
        "address": ["Box 1100", "412 81 Ekbacka"], "contact_name": "Inköp jour", "phone": "031-390 06 00"});
    let (s, b) = c.put(leader, "/api/v1/organisation", &org);
    assert_eq!(s, 200, "{b}");
    let supplier = json!({"name": "Medilux AB", "gln": "7350000000016", "org_number": "556734-2182",
        "country": "SE", "address": ["Box 1204", "172 24 Sundbyberg"], "version": 1});
    let (s, b) = c.put(leader, "/api/v1/suppliers/sup-1", &supplier);
    assert_eq!(s, 200, "{b}");
    for (id, q) in [("o-1", 3), ("o-2", 5), ("o-3", 7)] {
        let mut body = Cluster::order_body(id);
        body["lines"][0]["quantity"] = json!(q);
        body["lines"][0]["note"] = json!("Märk \"akut\" <IVA> & co");
        body["submit"] = json!(true);
        let (s, b) = c.post(leader, "/api/v1/orders", &body);
        assert_eq!(s, 201, "{b}");
        let (s, b) = c.post(leader, &format!("/api/v1/orders/{id}/approve"), &json!({}));
        assert_eq!(s, 200, "{b}");
    }
    // Keep one follower, once it has everything; stop the others.
    let keep = (0..3).find(|i| *i != leader).expect("a follower");
    let applied = c.status(leader)["last_applied_index"].as_u64().expect("applied");
    c.wait_applied(keep, applied);
    for i in 0..3 {
        if i != keep {
            c.kill(i);
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while c.status(keep)["quorum"] != false {
        assert!(std::time::Instant::now() < deadline, "the lone node still reports quorum");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let bearer = format!("Bearer {}", c.token);
    let download = |query: &str| {
        let mut r = agent()
            .get(&format!(
                "http://{}/api/v1/suppliers/sup-1/export?status=approved&lang=en&{query}",
                c.nodes[keep].http
            ))
            .header("Authorization", &bearer)
            .call()
            .expect("download");
        assert_eq!(r.status().as_u16(), 200, "{query}");
        let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        (kind, r.body_mut().with_config().limit(50_000_000).read_to_vec().expect("body"))
    };
    let warning = "NOT CONFIRMED BY THE CLUSTER";

    let (kind, csv) = download("format=csv");
    assert!(kind.starts_with("text/csv"));
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().from_reader(&csv[3..]).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[22].contains(warning)), "{:?}", rows[0]);

    let (_, xlsx) = download("format=xlsx");
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).expect("xlsx");
    use calamine::Reader;
    assert_eq!(wb.worksheet_range("Lines").expect("lines").rows().count(), 4 + 2);

    for layout in ["per_order", "consolidated"] {
        let (kind, pdf) = download(&format!("format=pdf&layout={layout}"));
        assert_eq!(kind, "application/pdf");
        let text = crate::harness::pdf_text(&pdf, false);
        for number in ["2026-000001", "2026-000002", "2026-000003"] {
            assert!(text.contains(number), "{layout}: {number} missing:\n{text}");
        }
        assert!(text.contains("Region Östra Ö") && text.contains("Medilux AB"), "{text}");
        assert!(text.contains(warning), "{layout}: no warning without quorum:\n{text}");
        let pages = if layout == "per_order" { 3 } else { 1 };
        assert!(text.contains(&format!("Page {pages} of {pages}")), "{layout}:\n{text}");
    }

    let (kind, zipped) = download("format=ubl");
    assert_eq!(kind, "application/zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped)).expect("zip");
    let mut files = Vec::new();
    for k in 0..archive.len() {
        let mut f = archive.by_index(k).expect("entry");
        let path = dir.path().join(format!("order-{k}.xml"));
        let mut out = std::fs::File::create(&path).expect("file");
        std::io::copy(&mut f, &mut out).expect("copy");
        files.push(path);
    }
    assert_eq!(files.len(), 3);
    let xml = std::fs::read_to_string(&files[0]).expect("xml");
    assert!(xml.contains(warning) && xml.contains("schemeID=\"0088\">7350000000016<"), "{xml}");
    peppol_validate(&files);
}
