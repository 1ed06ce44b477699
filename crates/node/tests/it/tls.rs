//! Mutual TLS between nodes: a cluster built with `beredd certs` replicates as usual; the
//! `beredd` commands need a certificate from the cluster CA; a node whose certificate comes from
//! another CA gets nothing from the cluster.

use crate::harness::{Cluster, bin};
use serde_json::json;
use std::process::Command;
use std::time::Duration;

/// `--ca` from the CA folder `trusted`, `--cert/--key` for certificate `name` from folder `certs`.
fn tls_args(trusted: &std::path::Path, certs: &std::path::Path, name: &str) -> Vec<String> {
    let p = |d: &std::path::Path, f: String| d.join(f).display().to_string();
    vec![
        "--ca".into(),
        p(trusted, "ca.pem".into()),
        "--cert".into(),
        p(certs, format!("{name}.pem")),
        "--key".into(),
        p(certs, format!("{name}-key.pem")),
    ]
}

fn beredd(args: &[String]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().expect("run beredd");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn only_holders_of_a_cluster_certificate_take_part() {
    let mut c = Cluster::start_tls(3);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let f = (leader + 1) % 3;
    let (s, v) = c.post(f, "/api/v1/orders", &Cluster::order_body("over-tls"));
    assert_eq!(s, 201, "a write forwarded over mutual TLS: {v}");

    let ca = c.tls.clone().expect("tls dir");
    let status = |extra: Vec<String>| {
        let mut args = vec!["cluster".to_owned(), "status".into(), "--node".into(), c.nodes[f].grpc.clone()];
        args.extend(extra);
        beredd(&args)
    };
    let (ok, text) = status(c.cli_tls_args("cli"));
    assert!(ok && text.contains("voters [1,2,3]"), "{text}");
    let (ok, _) = status(vec![]);
    assert!(!ok, "plain gRPC must be refused");

    // A second CA: its certificates are worth nothing to this cluster.
    let other = c.dir.path().join("other-ca");
    let other_s = other.display().to_string();
    assert!(beredd(&["certs".into(), "init".into(), "--dir".into(), other_s.clone()]).0);
    for name in ["node4", "cli"] {
        assert!(
            beredd(&["certs".into(), "issue".into(), "--dir".into(), other_s.clone(), "--name".into(), name.into()]).0
        );
    }
    let (ok, text) = status(tls_args(&other, &other, "cli"));
    assert!(!ok, "a certificate from another CA was accepted: {text}");
    // Trusting the cluster's CA but presenting the other CA's certificate: only the server's
    // check of client certificates can refuse this one.
    let (ok, text) = status(tls_args(&ca, &other, "cli"));
    assert!(!ok, "the node accepted a client certificate from another CA: {text}");

    // A node with the other CA's certificate, added by a legitimate operator, never gets data.
    let four = c.add_node(4);
    let cfg = std::fs::read_to_string(&c.nodes[four].config).expect("config");
    let tls =
        format!("[tls]\nca = \"{0}/ca.pem\"\ncert = \"{0}/node4.pem\"\nkey = \"{0}/node4-key.pem\"\n", other.display());
    std::fs::write(&c.nodes[four].config, cfg.replacen("[grpc]", &format!("{tls}[grpc]"), 1)).expect("write");
    c.kill(four);
    c.spawn(four);
    let mut args = vec!["cluster".to_owned(), "add-learner".into(), "--node".into(), c.nodes[leader].grpc.clone()];
    args.extend(["--id".into(), "4".into(), "--http".into(), format!("http://{}", c.nodes[four].http)]);
    args.extend(["--grpc".into(), c.nodes[four].grpc.clone()]);
    args.extend(c.cli_tls_args("cli"));
    let (ok, text) = beredd(&args);
    assert!(ok, "{text}");
    // The operator's call is in the replicated audit trail with the certificate that made it.
    c.wait_audit(f, &["grpc_call", "CN=cli", "AddLearner node 4"]);
    std::thread::sleep(Duration::from_secs(3));
    let st = c.status(four);
    assert_eq!(st["last_applied_index"], 0, "the rogue node received data: {st}");
    assert_eq!(st["initialized"], false, "{st}");
    assert!(c.status(leader)["lag"]["4"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn an_operator_certificate_cannot_speak_for_the_cluster_and_a_web_certificate_gets_nothing() {
    let c = Cluster::start_tls(3);
    let leader = c.wait_leader();
    let ca = c.tls.clone().expect("tls dir");
    let ca_s = ca.display().to_string();
    let user_create = |cert: &str| {
        let mut args: Vec<String> =
            ["user", "create", "--node", &c.nodes[leader].grpc, "--id", "mallory", "--role", "admin"]
                .map(String::from)
                .to_vec();
        args.extend(c.cli_tls_args(cert));
        beredd(&args)
    };
    // The cluster's own commands (here: a new admin, no actor) are for node certificates only.
    let (ok, text) = user_create("cli");
    assert!(!ok && text.contains("Forward is not for operator certificates"), "{text}");
    let (s, _) = c.get(leader, "/api/v1/users/mallory");
    assert_eq!(s, 404, "no account was made");
    // An operator still reads the cluster's status.
    let status = |cert: &str| {
        let mut args = vec!["cluster".to_owned(), "status".into(), "--node".into(), c.nodes[leader].grpc.clone()];
        args.extend(c.cli_tls_args(cert));
        beredd(&args)
    };
    assert!(status("cli").0);
    // A web (HTTPS) certificate from the same CA is not a cluster credential, even when named so.
    for (name, role) in [("web1", None), ("web2", Some("web"))] {
        let mut args = vec!["certs", "issue", "--dir", &ca_s, "--name", name, "--host", "127.0.0.1"];
        if let Some(r) = role {
            args.extend(["--role", r]);
        }
        assert!(beredd(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()).0, "issuing {name}");
        let (ok, text) = status(name);
        assert!(!ok, "{name} was accepted on the gRPC port: {text}");
    }
    let (ok, text) = user_create("node1");
    assert!(ok, "a node certificate may: {text}");
}

/// Restarts node `n` serving HTTPS with the web certificate `web` from the cluster CA, asking
/// browsers for a certificate from that CA, plus `more` `[http]` keys; waits for its answer.
/// Returns the process, its URL and the CA file for curl.
fn serve_https(c: &mut Cluster, n: usize, web: &str, more: &str) -> (std::process::Child, String, String) {
    let ca = c.tls.clone().expect("tls dir");
    c.kill(n);
    let http = c.nodes[n].http.clone();
    let cfg = std::fs::read_to_string(&c.nodes[n].config).expect("config");
    let https = format!(
        "advertise = \"https://{http}\"\ntls_cert = \"{0}/{web}.pem\"\ntls_key = \"{0}/{web}-key.pem\"\nclient_ca = \"{0}/ca.pem\"\n{more}",
        ca.display()
    );
    std::fs::write(&c.nodes[n].config, cfg.replacen(&format!("advertise = \"http://{http}\""), &https, 1))
        .expect("write");
    let child = Command::new(bin())
        .args(["serve", "--config", c.nodes[n].config.to_str().unwrap_or_default()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let (url, cacert) = (format!("https://{http}"), ca.join("ca.pem").display().to_string());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, body) = curl(&["--cacert", &cacert, &format!("{url}/healthz")]);
        if ok && body.trim() == "ok" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no HTTPS answer: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, url, cacert)
}

fn curl(args: &[&str]) -> (bool, String) {
    let out =
        Command::new("curl").args(["-sS", "--max-time", "5"]).args(args).output().expect("curl (Debian package curl)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_node_with_a_certificate_serves_https_and_secure_cookies() {
    let mut c = Cluster::start_tls(3);
    let leader = c.wait_leader();
    let (s, v) = c.post(
        leader,
        "/api/v1/users",
        &json!({"id": "per", "name": "Per", "role": "purchaser", "password": "ett-bra-lösenord"}),
    );
    assert_eq!(s, 201, "{v}");
    let ca = c.tls.clone().expect("tls dir");
    let args = ["certs", "issue", "--dir", ca.to_str().unwrap_or_default(), "--name", "web3", "--host", "127.0.0.1"];
    assert!(beredd(&args.map(String::from)).0);
    let n = (leader + 1) % 3;
    let http = c.nodes[n].http.clone();
    let (mut child, url, cacert) = serve_https(&mut c, n, "web3", "");
    // Plain HTTP gets no answer on that port, and a client that does not trust the CA refuses.
    let (ok, _) = curl(&[&format!("http://{http}/healthz")]);
    assert!(!ok, "plain HTTP must not be served");
    let (ok, _) = curl(&[&format!("{url}/healthz")]);
    assert!(!ok, "the certificate is not from a public CA, so curl without --cacert must refuse");
    // The restarted node must have caught up with the account, which the leader made just
    // before it went down (failed logins would count towards the throttle).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let auth = format!("Authorization: Bearer {}", c.token);
    while !curl(&["--cacert", &cacert, "-f", "-H", &auth, &format!("{url}/api/v1/users/per")]).0 {
        assert!(std::time::Instant::now() < deadline, "node {} never learned of the account", c.nodes[n].id);
        std::thread::sleep(Duration::from_millis(200));
    }
    // A login over HTTPS sets a Secure cookie.
    let (ok, head) = curl(&[
        "--cacert",
        &cacert,
        "-i",
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"user":"per","password":"ett-bra-lösenord"}"#,
        &format!("{url}/api/v1/login"),
    ]);
    assert!(ok, "{head}");
    let cookie = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie")).unwrap_or_default();
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{head}");
    assert!(head.to_ascii_lowercase().contains("strict-transport-security: max-age="), "HSTS over https: {head}");

    // Smart-card style login: a client certificate from the configured CA whose CN is a user.
    let login_cert = format!("{url}/api/v1/login/certificate");
    // (a client certificate: from the cluster CA here, client-only like an operator's)
    let args = ["certs", "issue", "--dir", ca.to_str().unwrap_or_default(), "--name", "per", "--role", "operator"];
    assert!(beredd(&args.map(String::from)).0);
    let (card, card_key) = (ca.join("per.pem"), ca.join("per-key.pem"));
    let (card, card_key) = (card.display().to_string(), card_key.display().to_string());
    let (ok, head) = curl(&["--cacert", &cacert, "-i", "-X", "POST", "--cert", &card, "--key", &card_key, &login_cert]);
    assert!(ok && head.starts_with("HTTP/") && head.contains(" 200"), "{head}");
    assert!(
        head.contains("\"id\":\"per\"") && head.to_ascii_lowercase().contains("set-cookie: beredd_session="),
        "{head}"
    );
    // Without a certificate, or with one for no account, there is no login.
    let (_, head) = curl(&["--cacert", &cacert, "-i", "-X", "POST", &login_cert]);
    assert!(head.contains(" 401") && head.contains("auth.failed"), "{head}");
    let args = ["certs", "issue", "--dir", ca.to_str().unwrap_or_default(), "--name", "ingen", "--role", "operator"];
    assert!(beredd(&args.map(String::from)).0);
    let (nobody, nobody_key) = (ca.join("ingen.pem"), ca.join("ingen-key.pem"));
    let (nobody, nobody_key) = (nobody.display().to_string(), nobody_key.display().to_string());
    let (_, head) =
        curl(&["--cacert", &cacert, "-i", "-X", "POST", "--cert", &nobody, "--key", &nobody_key, &login_cert]);
    assert!(head.contains(" 401"), "{head}");

    // The same in a browser: "Log in with card" on the login page, a session and on to `next`.
    let jar = tempfile::NamedTempFile::new().expect("cookie jar");
    let jar = jar.path().to_str().unwrap_or_default().to_owned();
    let card_args = ["--cacert", &cacert, "--cert", &card, "--key", &card_key, "-b", &jar, "-c", &jar];
    let (ok, page) = curl(&[&card_args[..], &[&format!("{url}/login")]].concat());
    assert!(ok && page.contains("action=\"/login/card\""), "no card button: {page}");
    let token = page.split("name=\"login_csrf\" value=\"").nth(1).and_then(|t| t.split('"').next()).unwrap_or_default();
    let form = format!("login_csrf={token}&next=/orders");
    let (_, head) = curl(&[&card_args[..], &["-i", "-d", &form, &format!("{url}/login/card")]].concat());
    assert!(head.contains(" 303") && head.contains("location: /orders"), "{head}");
    assert!(head.to_ascii_lowercase().contains("set-cookie: beredd_session="), "{head}");
    // Without the card, or without the login form's token, no session.
    let (_, head) = curl(&["--cacert", &cacert, "-b", &jar, "-i", "-d", &form, &format!("{url}/login/card")]);
    assert!(head.contains(" 401") && !head.contains("beredd_session="), "{head}");
    let (_, head) = curl(&[&card_args[..], &["-i", "-d", "next=/orders", &format!("{url}/login/card")]].concat());
    assert!(head.contains(" 403") && !head.contains("beredd_session="), "{head}");
    // A card whose user has no account here: a card IdP's rules make one from the subject.
    let ingen = ["--cacert", &cacert, "--cert", &nobody, "--key", &nobody_key, "-b", &jar, "-c", &jar];
    // The login form's token (a refused try renews it, so each try reads it afresh).
    let fresh_form = || {
        let (_, page) = curl(&[&ingen[..], &[&format!("{url}/login")]].concat());
        let token =
            page.split("name=\"login_csrf\" value=\"").nth(1).and_then(|t| t.split('"').next()).unwrap_or_default();
        format!("login_csrf={token}&next=/")
    };
    let rules = json!({"id": "kort", "name": "SITHS", "protocol": {"kind": "card"},
        "mapping": {"user_attribute": "cn", "name_attribute": "cn", "org_attribute": "o", "allowed_orgs": ["beredd"],
                    "rules": [{"attribute": "cn", "value": "ingen", "role": "purchaser"}], "account_hours": 8}});
    let (s, v) = c.post(leader, "/api/v1/idps", &rules);
    assert_eq!(s, 201, "{v}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let head = loop {
        let (_, head) = curl(&[&ingen[..], &["-i", "-d", &fresh_form(), &format!("{url}/login/card")]].concat());
        if head.contains(" 303") || std::time::Instant::now() > deadline {
            break head;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(head.contains(" 303") && head.to_ascii_lowercase().contains("set-cookie: beredd_session="), "{head}");
    let (s, u) = c.get(leader, "/api/v1/users/kort.ingen");
    assert_eq!((s, u["role"].as_str(), u["source"].as_str()), (200, Some("purchaser"), Some("kort")), "{u}");
    // A card the rules do not cover stays out.
    let args = ["certs", "issue", "--dir", ca.to_str().unwrap_or_default(), "--name", "okand", "--role", "operator"];
    assert!(beredd(&args.map(String::from)).0);
    let (okand, okand_key) =
        (ca.join("okand.pem").display().to_string(), ca.join("okand-key.pem").display().to_string());
    let other = ["--cacert", &cacert, "--cert", &okand, "--key", &okand_key, "-b", &jar, "-c", &jar];
    let (_, head) = curl(&[&other[..], &["-i", "-d", &fresh_form(), &format!("{url}/login/card")]].concat());
    assert!(head.contains(" 403") && !head.contains("beredd_session="), "{head}");
    assert!(!head.contains("login-error\">Formuläret"), "refused for its form, not by the rules: {head}");
    assert_eq!(c.get(leader, "/api/v1/users/kort.okand").0, 404);

    // A node without a client CA offers no card login.
    let plain = c.page(leader, "/login");
    assert!(plain.contains("action=\"/login\"") && !plain.contains("/login/card"), "{plain}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_revoked_smart_card_stops_working_at_the_next_refresh_and_a_failed_refresh_keeps_the_last_list() {
    let mut c = Cluster::start_tls(3);
    let leader = c.wait_leader();
    for id in ["per", "eva"] {
        let (s, v) = c.post(leader, "/api/v1/users", &json!({"id": id, "name": id, "role": "staff"}));
        assert_eq!(s, 201, "{v}");
    }
    let ca = c.tls.clone().expect("tls dir");
    let ca_s = ca.display().to_string();
    let issue = |args: &[&str]| {
        let mut all = vec!["certs", "issue", "--dir", &ca_s];
        all.extend(args);
        assert!(beredd(&all.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()).0, "{args:?}");
    };
    issue(&["--name", "web9", "--host", "127.0.0.1"]);
    issue(&["--name", "per", "--role", "operator"]);
    issue(&["--name", "eva", "--role", "operator"]);
    let crl = c.dir.path().join("cards.crl");
    let crl_s = crl.display().to_string();
    let write_crl = |revoke: &[&str]| {
        let mut args =
            vec!["certs".to_owned(), "crl".into(), "--dir".into(), ca_s.clone(), "--out".into(), crl_s.clone()];
        for r in revoke {
            args.extend(["--revoke".to_owned(), ca.join(format!("{r}.pem")).display().to_string()]);
        }
        let (ok, text) = beredd(&args);
        assert!(ok, "{text}");
    };
    write_crl(&[]);

    // One node serves HTTPS with card login, checking the card CA's list every second.
    let n = (leader + 1) % 3;
    let crl_keys = format!("client_crl = [\"{crl_s}\"]\nclient_crl_refresh_seconds = 1");
    let (mut child, url, cacert) = serve_https(&mut c, n, "web9", &crl_keys);
    let card_login = |who: &str| {
        let (cert, key) = (ca.join(format!("{who}.pem")), ca.join(format!("{who}-key.pem")));
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let (ok, head) = curl(&[
            "--cacert",
            &cacert,
            "-i",
            "-X",
            "POST",
            "--cert",
            &cert,
            "--key",
            &key,
            &format!("{url}/api/v1/login/certificate"),
        ]);
        ok && head.contains(" 200") && head.contains(&format!("\"id\":\"{who}\""))
    };
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !f() {
            assert!(std::time::Instant::now() < deadline, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("per logs in with the card before it is revoked", &|| card_login("per"));
    assert!(card_login("eva"));

    write_crl(&["per"]);
    wait_for("the revoked card is refused", &|| !card_login("per"));
    assert!(card_login("eva"), "a card not on the list still works");
    let auth = format!("Authorization: Bearer {}", c.token);
    let metrics = || curl(&["--cacert", &cacert, &format!("{url}/metrics")]).1;
    // (a sample line, not the HELP text that names the metric too)
    assert!(metrics().contains("\nberedd_client_crl_refresh_failing 0"), "{}", metrics());

    // The list's source breaks: the last good list stays in force, and /ops and /metrics say so.
    std::fs::write(&crl, "not a revocation list").expect("write");
    wait_for("the failing refresh shows in /metrics", &|| metrics().contains("\nberedd_client_crl_refresh_failing 1"));
    let (_, ops) = curl(&["--cacert", &cacert, "-H", &auth, &format!("{url}/ops")]);
    assert!(ops.contains("REFRESH FAILING"), "{ops}");
    assert!(!card_login("per"), "the revocation stays in force");
    assert!(card_login("eva"));
    let _ = child.kill();
    let _ = child.wait();
}
