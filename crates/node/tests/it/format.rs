//! The stored format holds across builds: node 1's data folder from a `beredd demo` run by the
//! build before issue 17 (checked in under `fixtures/format-1`, made by
//! `scripts/make-format-fixture.py`, with a record in every table) opens with this build, which
//! reports the same state digest and serves every list exactly as the old build did.

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{bin, free_port};

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(agent: &ureq::Agent, url: &str, token: &str) -> (u16, Value) {
    let mut res = agent.get(url).header("Authorization", &format!("Bearer {token}")).call().expect("request");
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().unwrap_or(Value::Null))
}

#[test]
fn a_data_folder_written_before_issue_17_opens_and_serves_every_record_as_before() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/format-1");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("expected.json")).expect("expected.json"))
            .expect("expected JSON");
    let dir = tempfile::tempdir().expect("temp dir");
    let untar = Command::new("tar")
        .args(["-xzf", &fixture.join("node1-data.tar.gz").display().to_string(), "-C"])
        .arg(dir.path())
        .status()
        .expect("tar");
    assert!(untar.success());

    // Node 1 alone: its two peers are gone, so it serves reads without a leader, as a lone
    // survivor does.
    let (http, grpc) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nid = 1\ndata_dir = \"data\"\n[http]\nlisten = \"{http}\"\nadvertise = \"http://{http}\"\n\
             [grpc]\nlisten = \"{grpc}\"\nadvertise = \"{grpc}\"\n[cluster]\nbootstrap = false\n\
             [[cluster.members]]\nid = 1\nhttp = \"http://{http}\"\ngrpc = \"{grpc}\"\n"
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.path().join("node.log")).expect("log");
    let _node = Node(
        Command::new(bin())
            .args(["serve", "--config", &config.display().to_string()])
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("beredd serve"),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into();
    let token = expected["token"].as_str().expect("token");
    let base = format!("http://{http}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut r) = agent.get(&format!("{base}/readyz")).call()
            && r.status() == 200
            && r.body_mut().read_json::<Value>().is_ok()
        {
            break;
        }
        let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "the old data folder did not open:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let (_, cluster) = get(&agent, &format!("{base}/api/v1/cluster?digest=true"), token);
    assert_eq!(cluster["state_digest"], expected["state_digest"], "the same state, byte for byte");

    let lists = expected["lists"].as_object().expect("lists");
    assert!(lists.len() >= 12);
    for (path, want) in lists {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{base}{path}{sep}limit=500");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = get(&agent, &url, token);
            assert_eq!(status, 200, "{path}: {page}");
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut want = want.as_array().expect("items").clone();
        assert!(!want.is_empty(), "{path}: the fixture has a record in every table");
        if path == "/api/v1/rotas" {
            // Who is on call now and next is judged by the reader's clock; the rota is not.
            for list in [&mut items, &mut want] {
                for r in list.iter_mut() {
                    if let Some(o) = r.as_object_mut() {
                        for k in ["on_call", "now_contact", "next_contact"] {
                            o.remove(k);
                        }
                    }
                }
            }
        }
        let want = &want;
        assert_eq!(items.len(), want.len(), "{path}");
        assert_eq!(&items, want, "{path} serves every record as the old build did");
    }
    for (path, want) in expected["ones"].as_object().expect("ones") {
        let (status, got) = get(&agent, &format!("{base}{path}"), token);
        assert_eq!(status, 200, "{path}");
        if path == "/api/v1/status" {
            // The board is judged by the reader's clock (what is overdue, what is recent).
            assert_eq!(got["sites"], want["sites"], "{path}");
            assert_eq!(got["incidents"].as_array().map(Vec::len), want["incidents"].as_array().map(Vec::len));
        } else {
            assert_eq!(&got, want, "{path}");
        }
    }
}
