//! `beredd demo`: three `beredd serve` child processes on 127.0.0.1 with demo data, described
//! in `DIR/demo-cluster.json`, until SIGINT or SIGTERM. A second run on the same folder reuses
//! the data; seeding goes through the public API with fixed idempotency keys, so it is harmless
//! to repeat. With `--https` the nodes serve HTTPS with a demo web CA and accept a demo smart
//! card (see [`DemoTls`]).

use crate::cli::wait_for_stop;
use anyhow::{Context, Result, anyhow, bail};
use domain::{Command, OrderAction};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct DemoNode {
    id: u64,
    http: String,
    grpc: String,
    config: PathBuf,
    log: PathBuf,
}

fn node_config(n: &DemoNode, all: &[DemoNode], tls: Option<&DemoTls>) -> String {
    let tls = tls.map_or(String::new(), |t| {
        format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n# The demo's smart cards: the certificate's CN is the user id.\nclient_ca = \"{}\"\n",
            t.cert.display(),
            t.key.display(),
            t.card_ca.display()
        )
    });
    let mut s = format!(
        "# Demo node {id}, written by `beredd demo`.\n[node]\nid = {id}\ndata_dir = \"data\"\n# The hospital this node serves: its pages show that site's banners.\nsite = \"{site}\"\n\n[http]\nlisten = \"{hl}\"\nadvertise = \"{http}\"\n{tls}\n[grpc]\nlisten = \"{grpc}\"\nadvertise = \"{grpc}\"\n\n# Webhooks may go to test receivers on this machine (plain http, loopback).\n[outbound]\ntest_receivers = true\n\n[cluster]\nbootstrap = {boot}\n# The demo lets ops force a new cluster on a lone survivor after one minute (default 15).\nbreak_glass_after_s = 60\n",
        id = n.id,
        hl = n.http.trim_start_matches("https://").trim_start_matches("http://"),
        http = n.http,
        grpc = n.grpc,
        boot = n.id == 1,
        site = domain::demo_data::site_name(usize::try_from(n.id.saturating_sub(1)).unwrap_or(0)),
    );
    for m in all {
        s.push_str(&format!("\n[[cluster.members]]\nid = {}\nhttp = \"{}\"\ngrpc = \"{}\"\n", m.id, m.http, m.grpc));
    }
    s
}

/// The demo's cluster TLS, made once in `dir/cluster-tls` (`beredd certs init-cluster`): a
/// cluster CA, a certificate for each node and one for an operator, and the issuing CA every
/// node holds, so a fourth machine can join by invitation from `/ops`.
fn cluster_tls_section(dir: &Path, id: u64) -> Result<String> {
    let d = dir.join("cluster-tls");
    crate::certs::init_cluster(&d, 3)?;
    let p = |f: &str| d.join(f).display().to_string();
    Ok(format!(
        "\n# Mutual TLS between the nodes, and the issuing CA for invitations (see /ops).\n[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nissuing_cert = \"{}\"\nissuing_key = \"{}\"\n",
        p("ca.pem"),
        p(&format!("node{id}.pem")),
        p(&format!("node{id}-key.pem")),
        p("issuing.pem"),
        p("issuing-key.pem"),
    ))
}

/// The demo cluster is a SAML service provider with one key pair in `dir/saml` (made once).
fn saml_section(dir: &Path) -> Result<String> {
    let keys = dir.join("saml");
    if !keys.join("saml-sp.pem").exists() {
        crate::certs::saml_sp(&keys)?;
    }
    Ok(format!(
        "\n[saml]\nentity_id = \"urn:beredd:demo\"\ncert = \"{}\"\nkey = \"{}\"\n",
        keys.join("saml-sp.pem").display(),
        keys.join("saml-sp-key.pem").display()
    ))
}

/// The demo's HTTPS (`beredd demo --https`), made once in `DIR/tls`: a web CA and one
/// certificate for 127.0.0.1 and localhost that all three nodes serve; a card CA and one card
/// for the unit nurse ([`DEMO_STAFF`], CN = user id), also as `card-<user>.p12` (password
/// `demo`) to import into a browser.
struct DemoTls {
    web_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    card_ca: PathBuf,
    card: PathBuf,
    card_p12: Option<PathBuf>,
}

impl DemoTls {
    fn make(dir: &Path) -> Result<Self> {
        use crate::certs::{CertRole, init, issue};
        let (web, cards) = (dir.join("tls").join("web"), dir.join("tls").join("cards"));
        let user = DEMO_STAFF.0;
        if !web.join("ca.pem").exists() {
            init(&web)?;
            issue(&web, "web", CertRole::Web, &["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        }
        if !cards.join("ca.pem").exists() {
            init(&cards)?;
            issue(&cards, user, CertRole::Card, &[])?;
        }
        let card = cards.join(format!("{user}.pem"));
        let p12 = dir.join("tls").join(format!("card-{user}.p12"));
        // The browser imports PKCS#12; Debian's openssl writes it (without it, the PEM files do).
        let card_p12 = p12.exists()
            || std::process::Command::new("openssl")
                .args(["pkcs12", "-export", "-passout", "pass:demo", "-name"])
                .arg(format!("beredd demo card ({user})"))
                .arg("-in")
                .arg(&card)
                .arg("-inkey")
                .arg(cards.join(format!("{user}-key.pem")))
                .arg("-out")
                .arg(&p12)
                .output()
                .is_ok_and(|o| o.status.success());
        Ok(Self {
            web_ca: web.join("ca.pem"),
            cert: web.join("web.pem"),
            key: web.join("web-key.pem"),
            card_ca: cards.join("ca.pem"),
            card,
            card_p12: card_p12.then_some(p12),
        })
    }
}

/// The demo's texts go to its own SMSC ([`crate::cli::demo_smsc`]) over SMPP.
fn sms_section(sms_port: u16) -> String {
    format!(
        "\n[sms]\n[[sms.routes]]\nkind = \"smpp\"\nname = \"demo-smsc\"\naddress = \"127.0.0.1:{sms_port}\"\nsystem_id = \"beredd\"\npassword = \"demo\"\nsource = \"Beredd\"\nper_second = 200\n"
    )
}

/// The ports of a demo: node 1's HTTP (the others follow), the mail server and the SMSC.
pub struct Ports {
    pub base: u16,
    pub mail: u16,
    pub sms: u16,
}

/// The demo's mail goes to a mail server on this machine, without TLS.
fn smtp_section(mail_port: u16) -> String {
    format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {mail_port}\nsecurity = \"none\"\nfrom = \"Beredd demo <beredd@demo.invalid>\"\n"
    )
}

pub async fn run(dir: &Path, ports: Ports, https: bool) -> Result<()> {
    let Ports { base: base_port, mail: mail_port, sms: sms_port } = ports;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    crate::cli::demo_smsc::start(&format!("127.0.0.1:{sms_port}"), &dir.join("sms")).await?;
    let tls = if https { Some(DemoTls::make(&dir)?) } else { None };
    let scheme = if https { "https" } else { "http" };
    let nodes: Vec<DemoNode> = (0..3u16)
        .map(|i| {
            let id = u64::from(i) + 1;
            let node_dir = dir.join(format!("node{id}"));
            DemoNode {
                id,
                http: format!("{scheme}://127.0.0.1:{}", base_port + i),
                grpc: format!("127.0.0.1:{}", base_port + 1000 + i),
                config: node_dir.join(format!("node{id}.toml")),
                log: node_dir.join("node.log"),
            }
        })
        .collect();
    for n in &nodes {
        let parent = n.config.parent().ok_or_else(|| anyhow!("bad config path"))?;
        std::fs::create_dir_all(parent)?;
        if n.config.exists() {
            let old = std::fs::read_to_string(&n.config)?;
            if !old.contains(&format!("advertise = \"{}\"", n.http)) {
                bail!(
                    "{} was made for other ports or {}; use the same --base-port (and --https or not) as before, or a new --data folder",
                    n.config.display(),
                    if https { "plain HTTP" } else { "HTTPS" }
                );
            }
            // A folder from before e-mail or SAML existed: add the mail server, the SP.
            let mut add = String::new();
            if !old.contains("[smtp]") {
                add += &smtp_section(mail_port);
            }
            if !old.contains("[saml]") {
                add += &saml_section(&dir)?;
            }
            if !old.contains("[sms]") {
                add += &sms_section(sms_port);
            }
            if !old.contains("[tls]") {
                add += &cluster_tls_section(&dir, n.id)?;
            }
            if !add.is_empty() {
                std::fs::write(&n.config, old + &add)?;
            }
        } else {
            std::fs::write(
                &n.config,
                node_config(n, &nodes, tls.as_ref())
                    + &smtp_section(mail_port)
                    + &saml_section(&dir)?
                    + &sms_section(sms_port)
                    + &cluster_tls_section(&dir, n.id)?,
            )?;
        }
    }

    let exe = std::env::current_exe().context("finding the beredd binary")?;
    let mut children = Vec::new();
    let mut listed = Vec::new();
    for n in &nodes {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&n.log)?;
        let child = tokio::process::Command::new(&exe)
            .arg("serve")
            .arg("--config")
            .arg(&n.config)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting node {}", n.id))?;
        let pid = child.id().unwrap_or(0);
        listed.push(json!({
            "id": n.id, "http": n.http, "grpc": n.grpc, "pid": pid,
            "config": n.config, "log": n.log,
        }));
        children.push((n.id, pid, child));
    }
    let manifest = dir.join("demo-cluster.json");
    std::fs::write(&manifest, serde_json::to_vec_pretty(&json!({ "nodes": listed }))?)?;

    // The demo speaks to its nodes' gRPC port as node 1 does.
    let ctls = dir.join("cluster-tls");
    let node1 = crate::certs::TlsFiles {
        ca: ctls.join("ca.pem"),
        cert: ctls.join("node1.pem"),
        key: ctls.join("node1-key.pem"),
    };
    let _ = crate::certs::CLI_TLS.set(Some(node1.client()?));
    let creds = wait_for_leader_and_admin(&nodes[0].grpc, &dir.join("credentials.json")).await?;
    let urls: Vec<String> = nodes.iter().map(|n| n.http.clone()).collect();
    let (token, password) = (creds.api_token.clone(), creds.admin_password.clone());
    let web_ca = tls.as_ref().map(|t| t.web_ca.clone());
    let seeded = tokio::task::spawn_blocking(move || seed(&urls, web_ca.as_deref(), &token, &password)).await?;
    match seeded {
        Ok(n) => println!("demo data ready ({n} commands sent)"),
        Err(e) => eprintln!("beredd demo: seeding failed: {e:#} (see the node logs)"),
    }
    println!("admin login: {} / {}", creds.admin_user, creds.admin_password);
    println!(
        "also with that password: {} (unit staff, {}), {} (purchaser), {} (status communicator) and {} (ops)",
        DEMO_STAFF.0,
        DEMO_STAFF.2.join(", "),
        DEMO_PURCHASER.0,
        DEMO_COMMUNICATOR.0,
        DEMO_OPS.0
    );
    println!("API token:   {}", creds.api_token);
    println!("(also in {})", dir.join("credentials.json").display());
    println!("beredd demo cluster is running:");
    for n in &nodes {
        println!("  node {}  {}  (log {})", n.id, n.http, n.log.display());
    }
    if let Some(t) = &tls {
        println!("HTTPS: let the browser trust the demo web CA {}", t.web_ca.display());
        match &t.card_p12 {
            Some(p12) => println!(
                "smart card: import {} (password: demo) into the browser and use \"Log in with card\" as {}",
                p12.display(),
                DEMO_STAFF.0
            ),
            None => println!(
                "smart card: {} and its key beside it (no openssl here to make a .p12 for the browser)",
                t.card.display()
            ),
        }
    }
    println!("e-mail (orders, status notices) goes to the mail server on 127.0.0.1:{mail_port}");
    println!(
        "texts go to the demo SMSC on 127.0.0.1:{sms_port}, one JSON file each in {}; a phone replies with a file {{\"from\": \"+46701112201\", \"text\": \"OK\"}} in {}",
        dir.join("sms").display(),
        dir.join("sms").join("replies").display()
    );
    println!(
        "cluster TLS in {}: for `beredd cluster status` give --ca ca.pem --cert operator.pem --key operator-key.pem from there",
        ctls.display()
    );
    println!("cluster described in {}; stop with Ctrl-C", manifest.display());

    let stopped_child = async {
        loop {
            for (id, _, c) in children.iter_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    eprintln!(
                        "node {id} exited ({status}); restart it with `beredd serve --config …` from demo-cluster.json"
                    );
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    };
    tokio::select! {
        r = wait_for_stop() => r?,
        () = stopped_child => {}
    }
    println!("stopping the demo cluster");
    // Followers first, then the leader: a leader that stops while its peers run hands leadership
    // over first, which is wasted (and waits for a peer that is stopping too) when all go.
    let leader = match crate::cli::cluster::leader_addr(&nodes[0].grpc).await {
        Ok(addr) => nodes.iter().find(|n| n.grpc == addr).map(|n| n.id),
        Err(_) => None,
    };
    children.sort_by_key(|(id, _, _)| Some(*id) == leader);
    let deadline = Instant::now() + Duration::from_secs(10);
    for (_, pid, c) in &mut children {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, c.wait()).await.is_err() {
            let _ = c.kill().await;
        }
    }
    Ok(())
}

/// Waits until the cluster has a leader, then makes sure the demo admin exists.
async fn wait_for_leader_and_admin(grpc: &str, file: &Path) -> Result<crate::cli::accounts::Credentials> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match crate::cli::accounts::demo_admin(grpc, file).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e.context("no leader elected within 60 s")),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// The seeding client; with `--https` it trusts the demo's web CA and nothing else.
fn agent(web_ca: Option<&Path>) -> Result<ureq::Agent> {
    let mut config =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).http_status_as_error(false);
    if let Some(ca) = web_ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let roots = vec![ureq::tls::Certificate::from_pem(&pem)?];
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(roots.into())).build();
        config = config.tls_config(tls);
    }
    Ok(config.build().into())
}

/// The demo's unit nurse: (user id, name, care units).
pub const DEMO_STAFF: (&str, &str, &[&str]) = ("sjukskoterska", "Sara Sjuksköterska", &["ekb-iva", "ekb-akut"]);
/// The demo's purchaser: (user id, name).
pub const DEMO_PURCHASER: (&str, &str) = ("inkopare", "Ivar Inköpare");
/// The demo's status communicator: (user id, name).
pub const DEMO_COMMUNICATOR: (&str, &str) = ("kommunikator", "Kim Kommunikatör");
/// The demo's ops person (with the admin, the second account break-glass recovery needs).
pub const DEMO_OPS: (&str, &str) = ("drift", "Dana Drift");

/// Sends every demo command through the API unless the data is already there, and makes the
/// demo's staff and purchaser accounts (with the admin's password, so one password opens all).
fn seed(urls: &[String], web_ca: Option<&Path>, token: &str, password: &str) -> Result<usize> {
    let bearer = format!("Bearer {token}");
    let agent = agent(web_ca)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let ready = urls.iter().find(|u| {
            agent
                .get(format!("{u}/api/v1/cluster"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["leader_id"].is_u64())
        });
        if let Some(u) = ready {
            break u.clone();
        }
        if Instant::now() > deadline {
            bail!("no leader elected within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let cmds = domain::demo_data::demo_commands();
    let users = [
        json!({"id": DEMO_STAFF.0, "name": DEMO_STAFF.1, "role": "staff", "units": DEMO_STAFF.2, "password": password}),
        json!({"id": DEMO_PURCHASER.0, "name": DEMO_PURCHASER.1, "role": "purchaser", "password": password}),
        json!({"id": DEMO_COMMUNICATOR.0, "name": DEMO_COMMUNICATOR.1, "role": "communicator", "password": password}),
        json!({"id": DEMO_OPS.0, "name": DEMO_OPS.1, "role": "ops", "password": password}),
    ];
    // Units first: a staff account names its units.
    let units_first: Vec<&(domain::CommandId, Command)> =
        cmds.iter().filter(|(_, c)| matches!(c, Command::CreateUnit(_))).collect();
    for (id, cmd) in units_first {
        if let Command::CreateUnit(f) = cmd {
            post(&agent, &format!("{base}/api/v1/units"), id.as_str(), &bearer, &serde_json::to_value(f)?, true)?;
        }
    }
    for u in &users {
        let key = format!("demo:user:{}", u["id"].as_str().unwrap_or_default());
        post(&agent, &format!("{base}/api/v1/users"), &key, &bearer, u, true)?;
    }
    seed_status(&agent, &base, &bearer)?;
    if let Some((_, Command::CreateOrder(last))) = cmds.iter().rev().find(|(_, c)| matches!(c, Command::CreateOrder(_)))
    {
        let r = agent.get(format!("{base}/api/v1/orders/{}", last.id)).header("Authorization", &bearer).call()?;
        if r.status() == 200 {
            // Already seeded; the directory (it names a supplier) comes last.
            seed_contacts(&agent, &base, &bearer)?;
            return Ok(0);
        }
    }
    for (id, cmd) in &cmds {
        if let Command::SetOrganisation { fields, .. } = cmd {
            let url = format!("{base}/api/v1/organisation");
            let r = agent
                .put(&url)
                .header("Idempotency-Key", id.as_str())
                .header("Authorization", &bearer)
                .send_json(serde_json::to_value(fields)?)?;
            if r.status() != 200 {
                bail!("{url} answered {}: {}", r.status(), r.into_body().read_to_string().unwrap_or_default());
            }
            continue;
        }
        let (path, body) = match cmd {
            Command::CreateSupplier(f) => ("/api/v1/suppliers".to_owned(), serde_json::to_value(f)?),
            Command::CreateUnit(f) => ("/api/v1/units".to_owned(), serde_json::to_value(f)?),
            Command::CreateArticle(f) => ("/api/v1/articles".to_owned(), serde_json::to_value(f)?),
            Command::CreateOrder(f) => ("/api/v1/orders".to_owned(), serde_json::to_value(f)?),
            Command::Transition { order_id, action, .. } => {
                let body = match action {
                    OrderAction::Reject { reason } | OrderAction::Cancel { reason } => json!({ "reason": reason }),
                    OrderAction::Receive { lines } => json!({ "lines": lines }),
                    _ => json!({}),
                };
                (format!("/api/v1/orders/{order_id}/{}", action.name()), body)
            }
            other => bail!("demo data holds an unexpected command {other:?}"),
        };
        post(&agent, &format!("{base}{path}"), id.as_str(), &bearer, &body, false)?;
    }
    seed_contacts(&agent, &base, &bearer)?;
    Ok(cmds.len())
}

/// The status board: systems, one yellow light, one hospital in stabsläge, and a maintenance
/// window starting in two hours (its times are the only demo data made from the clock).
fn seed_status(agent: &ureq::Agent, base: &str, bearer: &str) -> Result<()> {
    for (id, cmd) in domain::demo_data::demo_status() {
        match cmd {
            Command::PutSystem { fields, .. } => {
                post(
                    agent,
                    &format!("{base}/api/v1/status/systems"),
                    id.as_str(),
                    bearer,
                    &serde_json::to_value(fields)?,
                    true,
                )?;
            }
            Command::SetSystemState { system_id, state, note } => {
                let url = format!("{base}/api/v1/status/systems/{system_id}/state");
                post(agent, &url, id.as_str(), bearer, &json!({"state": state, "note": note}), false)?;
            }
            Command::SetReadiness(f) => {
                let url = format!("{base}/api/v1/status/readiness");
                let r = agent
                    .put(&url)
                    .header("Idempotency-Key", id.as_str())
                    .header("Authorization", bearer)
                    .send_json(serde_json::to_value(f)?)?;
                if r.status() != 200 {
                    bail!("{url} answered {}", r.status());
                }
            }
            other => bail!("demo status data holds an unexpected command {other:?}"),
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let body = json!({
        "id": "demo-maint-erp",
        "title": "Uppgradering av affärssystemet",
        "systems": ["erp"],
        "starts_at": rfc(now + time::Duration::hours(2)),
        "ends_at": rfc(now + time::Duration::hours(5)),
        "stages": ["Beställningar stängs", "Säkerhetskopiering", "Databasen uppgraderas", "Integrationer provas", "Kontroll och öppning"],
        "note": "Lägg brådskande beställningar före start; under arbetet används reservrutinen.",
    });
    post(agent, &format!("{base}/api/v1/status/maintenance"), "demo:maint:erp", bearer, &body, true)?;
    // Subscribers by phone, in each language: every stage of the maintenance reaches them.
    let subscribers = [
        json!({"id": "demo-sms-iva", "name": "IVA Ekbacka, jourtelefon", "lang": "sv",
            "target": {"kind": "sms", "phone": "+46701112210"}, "systems": ["erp"]}),
        json!({"id": "demo-sms-nb", "name": "Anestesi, gjestelege", "lang": "nb",
            "target": {"kind": "sms", "phone": "+4791234567"}, "systems": ["erp"]}),
        json!({"id": "demo-sms-en", "name": "Supply chain desk", "lang": "en",
            "target": {"kind": "sms", "phone": "+447700900123"},
            "systems": ["erp"]}),
    ];
    for s in subscribers {
        let key = format!("demo:subscriber:{}", s["id"].as_str().unwrap_or_default());
        post(agent, &format!("{base}/api/v1/subscribers"), &key, bearer, &s, true)?;
    }
    for (id, cmd) in domain::demo_data::demo_cards() {
        let Command::PutCard { fields, .. } = cmd else { bail!("unexpected demo card command") };
        post(agent, &format!("{base}/api/v1/cards"), id.as_str(), bearer, &serde_json::to_value(fields)?, true)?;
    }
    Ok(())
}

/// The directory, and the "Inköp jour" rota: daily handovers at 08:00 UTC from yesterday for
/// two weeks, the three purchasers in turn, and one evening covered by someone else.
fn seed_contacts(agent: &ureq::Agent, base: &str, bearer: &str) -> Result<()> {
    for (id, cmd) in domain::demo_data::demo_contacts() {
        let Command::PutContact { fields, .. } = cmd else { bail!("unexpected demo contact command") };
        post(agent, &format!("{base}/api/v1/contacts"), id.as_str(), bearer, &serde_json::to_value(fields)?, true)?;
    }
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let start = now.replace_time(time::macros::time!(08:00)) - time::Duration::days(1);
    let people = ["anna-andersson", "bjorn-berg", "cecilia-ostlund"];
    let shifts: Vec<Value> = (0..14)
        .map(|d| {
            let from = start + time::Duration::days(d);
            json!({"contact_id": people[(d as usize) % 3], "from": rfc(from), "to": rfc(from + time::Duration::days(1))})
        })
        .collect();
    let evening = now.replace_time(time::macros::time!(18:00)) + time::Duration::days(1);
    let overrides =
        [json!({"contact_id": "cecilia-ostlund", "from": rfc(evening), "to": rfc(evening + time::Duration::hours(4)),
        "note": "Byte: tar kvällen"})];
    // Two minutes per step, so a page's escalation can be watched in the demo.
    let body = json!({"id": "inkop-jour", "name": "Inköp jour", "function_id": "inkop-jour", "shifts": shifts,
        "overrides": overrides, "page_wait_seconds": 120});
    post(agent, &format!("{base}/api/v1/rotas"), "demo:rota:inkop-jour", bearer, &body, true)
}

/// Posts one demo command, retrying while the cluster settles. With `exists_ok`, "already
/// exists" counts as done.
fn post(agent: &ureq::Agent, url: &str, key: &str, bearer: &str, body: &Value, exists_ok: bool) -> Result<()> {
    let mut tries = 0;
    loop {
        tries += 1;
        let r = agent.post(url).header("Idempotency-Key", key).header("Authorization", bearer).send_json(body)?;
        match r.status().as_u16() {
            200 | 201 => return Ok(()),
            409 if exists_ok => return Ok(()),
            503 if tries < 5 => std::thread::sleep(Duration::from_secs(1)),
            s => {
                let text = r.into_body().read_to_string().unwrap_or_default();
                bail!("{url} answered {s}: {text}");
            }
        }
    }
}
