//! Logging in through an OpenID Connect provider: a real one (idpyoidc, from the venv, on
//! loopback; `scripts/test-idp/oidc_idp.py`) and a real browser's side of the flow with curl
//! and a cookie jar: the button, the IdP's login form, the callback, the account made by the
//! rules and valid 24 hours, the refusals, a pseudonymised id, and an IdP that is gone.

use crate::harness::{Cluster, venv_python};
use serde_json::{Value, json};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "klient-hemlighet-1";

/// The IdP process; killed when dropped.
struct Idp {
    child: std::process::Child,
    issuer: String,
    _users: tempfile::NamedTempFile,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_idp(callbacks: &[String]) -> Idp {
    start_idp_with(callbacks, &[])
}

fn start_idp_with(callbacks: &[String], extra: &[&str]) -> Idp {
    let users = tempfile::NamedTempFile::new().expect("users file");
    let people = json!({
        "anna": {"password": "anna-pw", "sub": "a1", "name": "Anna Andersson", "hsa_id": "SE2321000016-A1B2",
                 "organisation": "Malmö stad", "groups": ["iva"], "personnummer": "191212121212"},
        "bo": {"password": "bo-pw", "hsa_id": "SE2321000016-B3C4", "organisation": "Ystads kommun", "groups": ["iva"]},
        "cia": {"password": "cia-pw", "hsa_id": "SE2321000016-C5D6", "organisation": "Lunds kommun", "groups": ["städ"]},
    });
    std::fs::write(users.path(), people.to_string()).expect("write users");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-idp/oidc_idp.py");
    let mut cmd = Command::new(venv_python());
    cmd.args([script, "--port", "0", "--client-id", "beredd", "--client-secret", SECRET]).args(extra);
    for cb in callbacks {
        cmd.args(["--redirect-uri", cb]);
    }
    let mut child = cmd
        .args(["--users", users.path().to_str().unwrap_or_default()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the IdP (idpyoidc in the venv)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("IdP's first line");
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("IdP said {line:?}: {e}"));
    Idp { child, issuer: started["issuer"].as_str().unwrap_or_default().to_owned(), _users: users }
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).output().expect("curl");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn location(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A browser with its own cookie jar.
struct Browser {
    jar: tempfile::NamedTempFile,
}

impl Browser {
    fn new() -> Self {
        Self { jar: tempfile::NamedTempFile::new().expect("jar") }
    }

    fn get(&self, url: &str) -> String {
        let jar = self.jar.path().to_str().unwrap_or_default();
        curl(&["-i", "-H", "Accept-Language: en", "-b", jar, "-c", jar, url])
    }

    fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> String {
        let jar = self.jar.path().to_str().unwrap_or_default();
        let mut args: Vec<String> =
            ["-i", "-H", "Accept-Language: en", "-b", jar, "-c", jar].map(String::from).to_vec();
        for (k, v) in fields {
            args.push("--data-urlencode".into());
            args.push(format!("{k}={v}"));
        }
        args.push(url.into());
        curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// From the IdP button on node `http` to the answer of the callback, logging in as `user`.
    fn login(&self, http: &str, idp: &str, user: &str, password: &str) -> String {
        let head = self.get(&format!("http://{http}/login/idp/{idp}?next=/orders"));
        assert!(head.contains(" 303"), "no redirect to the IdP: {head}");
        let form = self.get(&location(&head));
        let action = form.split("action=\"").nth(1).and_then(|s| s.split('"').next()).expect("the IdP's login form");
        let token = form.split("name=\"token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("form token");
        let base = location(&head).split("/authorization").next().unwrap_or_default().to_owned();
        let back =
            self.post_form(&format!("{base}{action}"), &[("token", token), ("username", user), ("password", password)]);
        let callback = location(&back);
        assert!(callback.starts_with(&format!("http://{http}/auth/oidc/{idp}/callback?")), "{back}");
        self.get(&callback)
    }
}

fn idp_body(id: &str, issuer: &str, mapping: Value) -> Value {
    json!({"id": id, "name": format!("Test-IdP {id}"),
        "protocol": {"kind": "oidc", "issuer": issuer, "client_id": "beredd", "client_secret": SECRET, "scopes": ["profile"]},
        "mapping": mapping})
}

fn wait_user(c: &Cluster, i: usize, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, u) = c.get(i, &format!("/api/v1/users/{id}"));
        if s == 200 {
            return u;
        }
        assert!(Instant::now() < deadline, "node {i} never learned of {id}: {s} {u}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn staff_log_in_through_their_organisations_idp_and_get_an_account_for_24_hours_by_its_rules() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    let unit = json!({"id": "ost-iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Hus 3"]});
    assert_eq!(c.post(leader, "/api/v1/units", &unit).0, 201);
    let callbacks: Vec<String> = c
        .nodes
        .iter()
        .flat_map(|n| ["skane", "kommun"].map(|idp| format!("http://{}/auth/oidc/{idp}/callback", n.http)))
        .collect();
    let idp = start_idp(&callbacks);
    let skane = json!({"user_attribute": "hsa_id", "org_attribute": "organisation",
        "allowed_orgs": ["Malmö stad", "Lunds kommun"],
        "rules": [{"attribute": "groups", "value": "iva", "role": "staff", "units": ["ost-iva"]}]});
    let (s, v) = c.post(leader, "/api/v1/idps", &idp_body("skane", &idp.issuer, skane));
    assert_eq!(s, 201, "{v}");
    assert!(v.get("pseudonym_key").is_none() && v["protocol"].get("client_secret").is_none(), "{v}");
    assert_eq!(v["has_client_secret"], json!(true));
    let kommun = json!({"user_attribute": "personnummer", "pseudonymise": true,
        "rules": [{"attribute": "groups", "value": "iva", "role": "purchaser"}], "account_hours": 8});
    assert_eq!(c.post(leader, "/api/v1/idps", &idp_body("kommun", &idp.issuer, kommun)).0, 201);

    // The login page of every node offers the IdP; a person of a member municipality in the
    // right group gets a session and lands where they were going.
    let n = (leader + 1) % 3;
    let page = Browser::new().get(&format!("http://{}/login", c.nodes[n].http));
    assert!(page.contains("href=\"/login/idp/skane?next=") && page.contains("Test-IdP skane"), "{page}");
    let anna = Browser::new();
    let done = anna.login(&c.nodes[n].http, "skane", "anna", "anna-pw");
    assert!(done.contains(" 303") && location(&done) == "/orders", "{done}");
    assert!(done.to_ascii_lowercase().contains("set-cookie: beredd_session="), "{done}");
    let me = anna.get(&format!("http://{}/api/v1/me", c.nodes[n].http));
    let me: Value = serde_json::from_str(me.split("\r\n\r\n").last().unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!((me["id"].as_str(), me["role"].as_str()), (Some("skane.se2321000016-a1b2"), Some("staff")), "{me}");
    assert_eq!(me["units"], json!(["ost-iva"]));
    // The account is in the cluster, made by the node (no actor), valid 24 hours from now.
    let other = (n + 1) % 3;
    let u = wait_user(&c, other, "skane.se2321000016-a1b2");
    let expires = time::OffsetDateTime::parse(
        u["expires_at"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("expires_at");
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::hours(23) && left <= time::Duration::hours(24), "{u}");
    c.wait_audit(other, &["federated_login", "user/skane.se2321000016-a1b2", "applied"]);
    // The callback again (a reload, a replay): the login in progress is gone, nothing new.
    let again = anna.get(&format!("http://{}/login/oidc/callback?code=x&state=y", c.nodes[n].http));
    assert!(again.contains(" 400") && !again.contains("beredd_session="), "{again}");

    // The rules say no: another municipality, no matching group. No account either way.
    let bo = Browser::new().login(&c.nodes[n].http, "skane", "bo", "bo-pw");
    assert!(bo.contains(" 403") && bo.contains("Ystads kommun") && !bo.contains("beredd_session="), "{bo}");
    let cia = Browser::new().login(&c.nodes[n].http, "skane", "cia", "cia-pw");
    assert!(cia.contains(" 403") && cia.contains("no role here"), "{cia}");
    assert_eq!(c.get(leader, "/api/v1/users/skane.se2321000016-b3c4").0, 404);
    assert_eq!(c.get(leader, "/api/v1/users/skane.se2321000016-c5d6").0, 404);

    // A forged answer (another state) never logs anyone in.
    let eve = Browser::new();
    let head = eve.get(&format!("http://{}/login/idp/skane", c.nodes[n].http));
    assert!(head.contains(" 303"), "{head}");
    let forged = eve.get(&format!("http://{}/auth/oidc/skane/callback?code=abc&state=forged", c.nodes[n].http));
    assert!(forged.contains(" 401") && !forged.contains("beredd_session="), "{forged}");

    // A personal identity number becomes a pseudonym: it is nowhere in the cluster.
    let dan = Browser::new();
    let done = dan.login(&c.nodes[leader].http, "kommun", "anna", "anna-pw");
    assert!(done.contains(" 303"), "{done}");
    let users = c.get(leader, "/api/v1/users").1.to_string();
    let pseudo = users.split("\"kommun.").nth(1).and_then(|s| s.split('"').next()).expect("the pseudonymised account");
    assert_eq!(pseudo.len(), 32, "{users}");
    let trail = String::from_utf8_lossy(&c.get_bytes(leader, "/api/v1/audit?format=csv").1).into_owned();
    assert!(!users.contains("191212121212") && !trail.contains("191212121212"), "the number was stored");

    // A switched-off IdP is no longer offered and logs nobody in.
    let (_, cur) = c.get(leader, "/api/v1/idps/kommun");
    let mut off = idp_body("kommun", &idp.issuer, cur["mapping"].clone());
    off["version"] = cur["version"].clone();
    off["disabled"] = json!(true);
    off.as_object_mut().map(|o| o.remove("id"));
    let (s, v) = c.put(leader, "/api/v1/idps/kommun", &off);
    assert_eq!(s, 200, "{v}");
    let page = Browser::new().get(&format!("http://{}/login", c.nodes[leader].http));
    assert!(page.contains("/login/idp/skane") && !page.contains("/login/idp/kommun"), "{page}");
    assert!(Browser::new().get(&format!("http://{}/login/idp/kommun", c.nodes[leader].http)).contains(" 404"));

    // The IdP is gone: a node that never reached it says so, and passwords still work.
    let issuer = idp.issuer.clone();
    drop(idp);
    let gone = (0..3).find(|i| *i != n && *i != leader).expect("a third node");
    let fail = Browser::new().get(&format!("http://{}/login/idp/skane", c.nodes[gone].http));
    assert!(fail.contains(" 502") && fail.contains("cannot be reached"), "{fail} ({issuer})");
    let page = Browser::new().get(&format!("http://{}/login", c.nodes[gone].http));
    assert!(page.contains("Not reachable from this node right now"), "{page}");
}

/// The IdP changes its signing key: the next ID token is signed with a key the node's cached
/// copy does not know, and the node fetches the keys again (once) instead of refusing the login.
#[test]
fn an_idp_that_rotates_its_signing_key_is_followed_without_a_refused_login() {
    let c = Cluster::start(1, &[]);
    let leader = c.wait_leader();
    let unit = json!({"id": "ost-iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Hus 3"]});
    assert_eq!(c.post(leader, "/api/v1/units", &unit).0, 201);
    let http = c.nodes[leader].http.clone();
    let idp = start_idp_with(&[format!("http://{http}/auth/oidc/skane/callback")], &["--allow-key-rotation"]);
    let rules = json!({"user_attribute": "hsa_id",
        "rules": [{"attribute": "groups", "value": "iva", "role": "staff", "units": ["ost-iva"]}]});
    assert_eq!(c.post(leader, "/api/v1/idps", &idp_body("skane", &idp.issuer, rules)).0, 201);
    let fetched = || curl(&[&format!("{}/test/jwks-fetched", idp.issuer)]).trim().to_owned();
    let first = Browser::new().login(&http, "skane", "anna", "anna-pw");
    assert!(first.contains(" 303") && first.contains("beredd_session="), "{first}");
    assert_eq!(fetched(), "1");
    let rotated = curl(&["-X", "POST", &format!("{}/test/rotate-keys", idp.issuer)]);
    assert!(rotated.contains("\"keys\""), "{rotated}");
    let second = Browser::new().login(&http, "skane", "anna", "anna-pw");
    assert!(second.contains(" 303") && second.contains("beredd_session="), "{second}");
    assert_eq!(fetched(), "2", "the node did not fetch the new key");
}

/// On a node cut off from the majority, a person the IdP vouches for (and who has no account
/// yet) still gets in: a provisional session with the role the rules give, said on every page;
/// the account waits in the node's outbox and lands once, marked provisional, when the majority
/// is back — and the session goes on with the real account.
#[test]
fn a_cut_off_node_logs_a_vouched_person_in_provisionally_and_the_account_lands_once_later() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    let unit = json!({"id": "ost-iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Hus 3"]});
    assert_eq!(c.post(leader, "/api/v1/units", &unit).0, 201);
    let callbacks: Vec<String> =
        c.nodes.iter().map(|n| format!("http://{}/auth/oidc/skane/callback", n.http)).collect();
    let idp = start_idp(&callbacks);
    let rules = json!({"user_attribute": "hsa_id",
        "rules": [{"attribute": "groups", "value": "iva", "role": "staff", "units": ["ost-iva"]}]});
    assert_eq!(c.post(leader, "/api/v1/idps", &idp_body("skane", &idp.issuer, rules)).0, 201);
    let lone = (leader + 1) % 3;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get(lone, "/api/v1/idps/skane").0 != 200 {
        assert!(Instant::now() < deadline, "node {lone} never learned of the IdP");
        std::thread::sleep(Duration::from_millis(100));
    }
    let others: Vec<usize> = (0..3).filter(|i| *i != lone).collect();
    for i in &others {
        c.stop(*i);
    }

    let http = c.nodes[lone].http.clone();
    let anna = Browser::new();
    let done = anna.login(&http, "skane", "anna", "anna-pw");
    assert!(done.contains(" 303") && done.to_ascii_lowercase().contains("set-cookie: beredd_session="), "{done}");
    let page = anna.get(&format!("http://{http}/orders"));
    assert!(page.contains(" 200") && page.contains("id=\"provisional\""), "{page}");
    let me = anna.get(&format!("http://{http}/api/v1/me"));
    assert!(me.contains("\"id\":\"skane.se2321000016-a1b2\"") && me.contains("\"role\":\"staff\""), "{me}");
    // Not in the replicated state yet: waiting in this node's outbox.
    assert_eq!(c.get(lone, "/api/v1/users/skane.se2321000016-a1b2").0, 404);
    let outbox = c.get(lone, "/api/v1/outbox").1.to_string();
    assert!(outbox.contains("federated_login") && outbox.contains("skane.se2321000016-a1b2"), "{outbox}");

    // The majority is back: the account lands once, marked provisional in the trail.
    for i in &others {
        c.spawn(*i);
    }
    wait_user(&c, others[0], "skane.se2321000016-a1b2");
    let trail = c.wait_audit(lone, &["federated_login", "user/skane.se2321000016-a1b2 (provisional)", "applied"]);
    assert_eq!(trail.lines().filter(|l| l.contains(";federated_login;")).count(), 1, "{trail}");
    let page = anna.get(&format!("http://{http}/orders"));
    assert!(page.contains(" 200") && !page.contains("id=\"provisional\""), "{page}");
}

/// The SAML IdP process (pysaml2 from the venv, `scripts/test-idp/saml_idp.py`); killed when
/// dropped.
struct SamlIdp {
    child: std::process::Child,
    metadata_url: String,
    entity_id: String,
    _users: tempfile::NamedTempFile,
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_saml_idp(sp_metadata: &str) -> SamlIdp {
    let users = tempfile::NamedTempFile::new().expect("users file");
    let people = json!({
        "kim": {"password": "kim-pw", "name": "Kim Kommunsson", "hsa_id": "SE2321000016-K1M0",
                "organisation": "Lunds kommun", "groups": ["iva"]},
        "bo": {"password": "bo-pw", "hsa_id": "SE2321000016-B3C4", "organisation": "Ystads kommun", "groups": ["iva"]},
    });
    std::fs::write(users.path(), people.to_string()).expect("write users");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test-idp/saml_idp.py");
    let mut child = Command::new(venv_python())
        .args([script, "--port", "0", "--sp-metadata", sp_metadata, "--users"])
        .arg(users.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the SAML IdP (pysaml2 in the venv)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("IdP's first line");
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("SAML IdP said {line:?}: {e}"));
    let s = |k: &str| started[k].as_str().unwrap_or_default().to_owned();
    SamlIdp { child, metadata_url: s("metadata_url"), entity_id: s("entity_id"), _users: users }
}

/// The value of the hidden field `name` in an HTML form.
fn hidden(page: &str, name: &str) -> String {
    let after = page.split(&format!("name=\"{name}\"")).nth(1).unwrap_or_else(|| panic!("no {name} in {page}"));
    let value = after.split("value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default();
    value
        .replace("&#x3D;", "=")
        .replace("&#x2B;", "+")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

impl Browser {
    /// From the IdP button on node `http` through the SAML IdP's login form: the auto-posting
    /// form the IdP answers with (its action, `SAMLResponse` and `RelayState`).
    fn saml_form(&self, http: &str, idp: &str, user: &str, password: &str) -> (String, String, String) {
        let head = self.get(&format!("http://{http}/login/idp/{idp}"));
        assert!(head.contains(" 303"), "no redirect to the IdP: {head}");
        let to_idp = location(&head);
        assert!(to_idp.contains("SAMLRequest=") && to_idp.contains("Signature="), "{to_idp}");
        let form = self.get(&to_idp);
        assert!(form.contains(" 200"), "the IdP refused the request: {form}");
        let base = to_idp.split("/sso/").next().unwrap_or_default().to_owned();
        let request = hidden(&form, "request").replace("&amp;", "&");
        let posted = self
            .post_form(&format!("{base}/login"), &[("request", &request), ("username", user), ("password", password)]);
        let action = posted.split("action=\"").nth(1).and_then(|s| s.split('"').next()).expect("the auto-post form");
        (action.to_owned(), hidden(&posted, "SAMLResponse"), hidden(&posted, "RelayState"))
    }
}

/// SAML: the SP metadata lists every node; a person logs in through a real SAML IdP, starting
/// on a follower and completing on another node; the assertion works once on any node; a
/// tampered response and the rules' refusals log nobody in.
#[test]
fn staff_log_in_through_a_saml_idp_on_any_node_and_an_assertion_works_once() {
    let keys = tempfile::tempdir().expect("tempdir");
    let made = Command::new(crate::harness::bin()).args(["certs", "saml", "--dir"]).arg(keys.path()).output();
    assert!(made.as_ref().is_ok_and(|o| o.status.success()), "{made:?}");
    let (cert, key) = (keys.path().join("saml-sp.pem"), keys.path().join("saml-sp-key.pem"));
    let env = [
        ("BEREDD_SAML_ENTITY_ID", "https://beredd.test/saml"),
        ("BEREDD_SAML_CERT", cert.to_str().unwrap_or_default()),
        ("BEREDD_SAML_KEY", key.to_str().unwrap_or_default()),
    ];
    let c = Cluster::start(3, &env);
    let leader = c.wait_leader();
    let unit = json!({"id": "ost-iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Hus 3"]});
    assert_eq!(c.post(leader, "/api/v1/units", &unit).0, 201);

    // The same SP metadata on every node, listing every node's consumer service.
    let md_url = format!("http://{}/auth/saml/metadata", c.nodes[leader].http);
    let md = curl(&[&md_url]);
    assert!(
        md.contains("entityID=\"https://beredd.test/saml\"") && md.contains("AuthnRequestsSigned=\"true\""),
        "{md}"
    );
    for node in &c.nodes {
        assert!(md.contains(&format!("Location=\"http://{}/auth/saml/acs\"", node.http)), "{md}");
    }
    let idp = start_saml_idp(&md_url);
    // pysaml2 sends the names it knows as URNs (`name` as urn:mace:dir:attribute-def:name), the
    // others as they are: the rules name them as the IdP sends them.
    let mapping = json!({"user_attribute": "hsa_id", "name_attribute": "urn:mace:dir:attribute-def:name",
        "org_attribute": "organisation", "allowed_orgs": ["Lunds kommun"],
        "rules": [{"attribute": "groups", "value": "iva", "role": "staff", "units": ["ost-iva"]}]});
    let body = json!({"id": "kommun", "name": "Kommunens IdP",
        "protocol": {"kind": "saml", "metadata_url": idp.metadata_url}, "mapping": mapping});
    let (s, v) = c.post(leader, "/api/v1/idps", &body);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["protocol"]["entity_id"].as_str(), Some(idp.entity_id.as_str()), "{v}");
    let bad = json!({"id": "trasig", "name": "Trasig", "protocol": {"kind": "saml", "metadata_xml": "<x/>"},
        "mapping": body["mapping"].clone()});
    let (s, v) = c.post(leader, "/api/v1/idps", &bad);
    assert!(s == 400 && v.to_string().contains("metadata"), "{s} {v}");

    // Start on a follower, complete on another node (the IdP's form posted elsewhere, as a
    // shared name in front of the nodes would).
    let n = (leader + 1) % 3;
    let m = (leader + 2) % 3;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get(n, "/api/v1/idps/kommun").0 != 200 {
        assert!(Instant::now() < deadline, "node {n} never learned of the IdP");
        std::thread::sleep(Duration::from_millis(100));
    }
    let kim = Browser::new();
    let (action, response, relay) = kim.saml_form(&c.nodes[n].http, "kommun", "kim", "kim-pw");
    assert_eq!(action, format!("http://{}/auth/saml/acs", c.nodes[n].http));
    let acs = |i: usize| format!("http://{}/auth/saml/acs", c.nodes[i].http);
    let done = kim.post_form(&acs(m), &[("SAMLResponse", &response), ("RelayState", &relay)]);
    assert!(done.contains(" 303") && done.to_ascii_lowercase().contains("set-cookie: beredd_session="), "{done}");
    let me = kim.get(&format!("http://{}/api/v1/me", c.nodes[m].http));
    assert!(me.contains("\"id\":\"kommun.se2321000016-k1m0\"") && me.contains("\"role\":\"staff\""), "{me}");
    let u = wait_user(&c, leader, "kommun.se2321000016-k1m0");
    assert_eq!(u["name"].as_str(), Some("Kim Kommunsson"), "{u}");

    // The same assertion again: refused on the node that took it and on every other.
    for i in [m, n, leader] {
        let again = Browser::new().post_form(&acs(i), &[("SAMLResponse", &response), ("RelayState", &relay)]);
        assert!(!again.to_ascii_lowercase().contains("beredd_session="), "node {i} took a replay: {again}");
        // The node that took it knows it itself; the others hear it from the cluster.
        let refused =
            if i == m { again.contains(" 401") } else { again.contains(" 403") && again.contains("used before") };
        assert!(refused, "node {i}: {again}");
    }

    // A response changed on the way (the organisation) fails its signature; the untouched one
    // still works, so the refusal was the signature's.
    let (_, response, relay) = Browser::new().saml_form(&c.nodes[leader].http, "kommun", "kim", "kim-pw");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(b64.decode(&response).expect("base64")).expect("utf-8");
    assert!(xml.contains("Lunds kommun"), "{xml}");
    let forged = b64.encode(xml.replace("Lunds kommun", "Malmö stad"));
    let refused = Browser::new().post_form(&acs(leader), &[("SAMLResponse", &forged), ("RelayState", &relay)]);
    assert!(refused.contains(" 401") && !refused.contains("beredd_session="), "{refused}");
    let fine = Browser::new().post_form(&acs(leader), &[("SAMLResponse", &response), ("RelayState", &relay)]);
    assert!(fine.contains(" 303"), "{fine}");
    // A RelayState we did not sign, or none: nothing to complete.
    let relay_forged = relay.replacen("kommun", "kommum", 1);
    let r = Browser::new().post_form(&acs(leader), &[("SAMLResponse", &response), ("RelayState", &relay_forged)]);
    assert!(r.contains(" 400"), "{r}");

    // The rules say no: another municipality.
    let (_, response, relay) = Browser::new().saml_form(&c.nodes[n].http, "kommun", "bo", "bo-pw");
    let bo = Browser::new().post_form(&acs(n), &[("SAMLResponse", &response), ("RelayState", &relay)]);
    assert!(bo.contains(" 403") && bo.contains("Ystads kommun") && !bo.contains("beredd_session="), "{bo}");
    assert_eq!(c.get(leader, "/api/v1/users/kommun.se2321000016-b3c4").0, 404);
    c.wait_audit(leader, &["federated_login", "user/kommun.se2321000016-k1m0", "applied"]);
}
