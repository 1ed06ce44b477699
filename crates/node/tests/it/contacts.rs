//! The directory across real nodes: entries and a rota written on one node are found on the
//! others by folded search, with who is on call now and next, and download as CSV that reads
//! back; a node cut off from the others still answers.

use crate::harness::Cluster;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn at(h: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::hours(h)).format(&Rfc3339).unwrap_or_default()
}

#[test]
fn the_directory_and_who_is_on_call_are_on_every_node_and_download_as_csv() {
    let mut c = Cluster::start(3, &[]);
    c.wait_leader();
    let kim = c.create_user("kim", "communicator", &[]);
    let kim = kim["api_token"].as_str().unwrap_or_default().to_owned();
    let entry = |id: &str, kind: &str, name: &str, site: &str, routes: serde_json::Value| json!({"id": id, "kind": kind, "name": name, "site": site, "routes": routes});
    let function = entry(
        "inkop-jour",
        "function",
        "Inköp jour",
        "Östra sjukhuset",
        json!([
            {"kind": "phone", "value": "010-100 80 00", "hours": "dygnet runt", "last_tested": "2026-11-16"},
            {"kind": "rakel", "value": "RSG INKÖP 1"},
            {"kind": "satellite", "value": "+870 776 480 000"},
            {"kind": "in_person", "value": "Hus 3, inköpsexpeditionen", "hours": "vardagar 08–16"}
        ]),
    );
    for (body, node) in [
        (function, 0),
        (
            entry(
                "anna",
                "person",
                "Anna Åström",
                "Östra sjukhuset",
                json!([{"kind": "mobile", "value": "070-111 22 01"}]),
            ),
            1,
        ),
        (
            entry(
                "bo",
                "person",
                "Bo Berg",
                "Västra sjukhuset",
                json!([{"kind": "email", "value": "bo@region.example"}]),
            ),
            2,
        ),
    ] {
        let (s, v) = c.post_as(node, "/api/v1/contacts", &body, &kim);
        assert_eq!(s, 201, "{v}");
    }
    // Bad input is refused with the field named, and changes nothing.
    let bad = entry("x", "person", "X", "", json!([{"kind": "email", "value": "inte en adress"}]));
    let (s, v) = c.post_as(0, "/api/v1/contacts", &bad, &kim);
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("routes[0].value")), "{v}");
    let rota = json!({"id": "inkop", "name": "Inköp jour", "function_id": "inkop-jour",
        "shifts": [{"contact_id": "anna", "from": at(-2), "to": at(6)}, {"contact_id": "bo", "from": at(6), "to": at(30)}]});
    let (s, v) = c.post_as(2, "/api/v1/rotas", &rota, &kim);
    assert_eq!(s, 201, "{v}");
    let overlapping = json!({"id": "x", "name": "X", "shifts": [
        {"contact_id": "anna", "from": at(0), "to": at(8)}, {"contact_id": "bo", "from": at(7), "to": at(9)}]});
    let (s, v) = c.post_as(2, "/api/v1/rotas", &overlapping, &kim);
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("rota.invalid")), "{v}");
    let index = c.status(2)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, index);
    }

    for i in 0..3 {
        let (s, v) = c.get(i, "/api/v1/contacts?q=ostra");
        assert_eq!(s, 200);
        let names: Vec<&str> = v["items"].as_array().into_iter().flatten().filter_map(|x| x["name"].as_str()).collect();
        assert_eq!(names, ["Inköp jour", "Anna Åström"], "node {i}: functions first, folded search");
        let (_, v) = c.get(i, "/api/v1/contacts?q=0101008000");
        assert_eq!(v["items"][0]["id"], "inkop-jour", "node {i}: numbers without spaces");
        let (_, v) = c.get(i, "/api/v1/rotas");
        assert_eq!(v["items"][0]["now_contact"]["name"], "Anna Åström", "node {i}");
        assert_eq!(v["items"][0]["next_contact"]["name"], "Bo Berg", "node {i}");
    }

    // Import: the export read back with one entry renamed and one added; a file with a bad row
    // saves nothing and names the row and column.
    let (_, exported) = c.get_bytes(1, "/api/v1/contacts/export?format=csv&lang=en");
    let exported = String::from_utf8_lossy(&exported).replace("Bo Berg", "Bo Bergström");
    let header = exported.lines().next().unwrap_or_default().trim_start_matches('\u{feff}').to_owned();
    let width = header.split(',').count();
    let row = |cells: &[&str]| {
        let mut v: Vec<&str> = cells.to_vec();
        v.resize(width, "");
        v.join(",")
    };
    let added = row(&[
        "it-jour",
        "function",
        "IT-beredskap",
        "",
        "",
        "",
        "Västra sjukhuset",
        "",
        "",
        "",
        "phone",
        "010-100 90 00",
    ]);
    let bad = row(&["z", "person", "Z", "", "", "no-such-unit"]);
    let (s, v) = c.post_text(2, "/api/v1/contacts/import", &format!("{exported}{added}\n{bad}\n"), &kim);
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        (v["error"]["rows"][0]["row"].as_u64(), v["error"]["rows"][0]["column"].as_str()),
        (Some(6), Some("unit_id")),
        "{v}"
    );
    let (s, v) = c.post_text(2, "/api/v1/contacts/import", &format!("{exported}{added}\n"), &c.token.clone());
    assert_eq!((s, v["imported"].as_u64()), (200, Some(4)), "{v}");
    let staff = c.create_user("sam", "staff", &[]);
    let (s, _) = c.post_text(
        2,
        "/api/v1/contacts/import",
        &format!("{header}\n{added}\n"),
        staff["api_token"].as_str().unwrap_or_default(),
    );
    assert_eq!(s, 403);
    let index = c.status(2)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(0, index);
    let (_, v) = c.get(0, "/api/v1/contacts?q=bergstrom");
    assert_eq!(v["items"][0]["id"], "bo", "{v}");
    let (_, v) = c.get(0, "/api/v1/contacts?q=it-beredskap");
    assert_eq!(v["items"][0]["routes"][0]["value"], "010-100 90 00", "{v}");

    // Cut off: the survivor answers from its own copy.
    c.kill(1);
    c.kill(2);
    let (s, csv) = c.get_bytes(0, "/api/v1/contacts/export?format=csv&lang=sv");
    assert_eq!(s, 200);
    let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]);
    let header: Vec<String> = r.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
    let rows: Vec<csv::StringRecord> = r.records().filter_map(Result::ok).collect();
    assert_eq!(rows.len(), 4);
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(usize::MAX);
    let inkop = rows.iter().find(|r| &r[0] == "inkop-jour").map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>());
    let inkop = inkop.unwrap_or_default();
    assert_eq!(inkop[col("route2_value")], "RSG INKÖP 1");
    assert_eq!(inkop[col("route4_hours")], "vardagar 08–16");
    let (s, vcf) = c.get_bytes(0, "/api/v1/contacts/export?format=vcf");
    assert_eq!(s, 200);
    assert_eq!(String::from_utf8_lossy(&vcf).matches("BEGIN:VCARD").count(), 4);
    let (s, v) = c.post_as(0, "/api/v1/contacts", &entry("y", "person", "Y", "", json!([])), &kim);
    assert_eq!(s, 503, "{v}");
}
