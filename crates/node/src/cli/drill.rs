//! `beredd drill`: a failover drill against a live cluster under a light write load. It moves
//! leadership away (a leadership transfer, or with `--kill` the leader halts as if its power
//! went), keeps writing orders marked as drill orders through every node, and reports how long
//! the cluster had no serving leader, when the first write after the fault was acknowledged,
//! how many writes were acknowledged, failed or unknown, and whether any acknowledged write is
//! missing on any node afterwards (it must be 0). Drill orders are cancelled at the end.

use crate::cli::cluster::connect;
use crate::cli::progress::{Progress, Unit};
use crate::proto::pb::cluster::{IsolateRequest, NodeRequest, StatusRequest};
use anyhow::{Context, Result, anyhow, bail};
use domain::drills::{DrillNode, DrillReport, DrillWrites};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Options {
    pub http: String,
    pub token: String,
    pub kill: bool,
    /// Cut the leader off for this many seconds instead.
    pub isolate: Option<u64>,
    pub to: Option<u64>,
    pub seconds: u64,
    pub rate: u32,
    pub json: Option<std::path::PathBuf>,
    pub pdf: Option<std::path::PathBuf>,
    /// The exercise the drill belongs to: its orders are made in it, its report attached.
    pub exercise: Option<String>,
}

enum Outcome {
    Acked,
    Failed,
    Unknown,
}

struct Write {
    id: String,
    sent_ms: u64,
    done_ms: u64,
    outcome: Outcome,
}

/// Attaches the drill's report to exercise `x` (said, not fatal, when refused).
fn attach(a: &ureq::Agent, via: &str, token: &str, x: &str, report: &str) {
    let r = a
        .post(format!("{via}/api/v1/exercises/{x}/drills"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(json!({ "drill_id": report }));
    match r {
        Ok(r) if r.status().is_success() => println!("attached to exercise {x}: {via}/exercises/{x}"),
        Ok(mut r) => {
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            eprintln!("the report was not attached to exercise {x}: {}", v["error"]["message"].as_str().unwrap_or("?"));
        }
        Err(e) => eprintln!("the report was not attached to exercise {x}: {e}"),
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into()
}

fn get_json(a: &ureq::Agent, url: &str, token: &str) -> Option<(u16, Value)> {
    let mut r = a.get(url).header("Authorization", &format!("Bearer {token}")).call().ok()?;
    let status = r.status().as_u16();
    Some((status, r.body_mut().read_json().unwrap_or(Value::Null)))
}

fn states(a: &ureq::Agent, nodes: &BTreeMap<u64, (String, String)>) -> Vec<DrillNode> {
    nodes
        .iter()
        .map(|(id, (http, _))| {
            let s = get_json(a, &format!("{http}/api/v1/cluster"), "").map(|(_, v)| v);
            let s = s.unwrap_or(Value::Null);
            DrillNode {
                id: *id,
                http: http.clone(),
                reachable: !s.is_null(),
                role: s["role"].as_str().unwrap_or("unreachable").to_owned(),
                leader_id: s["leader_id"].as_u64(),
                term: s["term"].as_u64().unwrap_or(0),
                last_applied_index: s["last_applied_index"].as_u64().unwrap_or(0),
            }
        })
        .collect()
}

fn first_id(a: &ureq::Agent, url: &str, token: &str) -> Result<String> {
    let (s, v) = get_json(a, url, token).ok_or_else(|| anyhow!("no answer from {url}"))?;
    if s != 200 {
        bail!("{url} answered {s}: {}", v["error"]["message"].as_str().unwrap_or(""));
    }
    v["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["withdrawn"] != true))
        .and_then(|i| i["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{url} lists nothing to order; a drill writes orders"))
}

pub async fn run(o: Options) -> Result<()> {
    let a = agent(Duration::from_secs(10));
    let base = o.http.trim_end_matches('/').to_owned();
    let (_, cluster) =
        get_json(&a, &format!("{base}/api/v1/cluster"), "").ok_or_else(|| anyhow!("no answer from {base}"))?;
    let old_leader = cluster["leader_id"]
        .as_u64()
        .ok_or_else(|| anyhow!("the cluster has no leader now; a drill starts from a healthy cluster"))?;
    if cluster["quorum"] != true {
        bail!("node at {base} has no majority now; a drill starts from a healthy cluster");
    }
    let mut nodes = BTreeMap::new();
    for (id, n) in cluster["nodes"].as_object().into_iter().flatten() {
        let id: u64 = id.parse().context("node id")?;
        nodes.insert(
            id,
            (
                n["http"].as_str().unwrap_or("").trim_end_matches('/').to_owned(),
                n["grpc"].as_str().unwrap_or("").to_owned(),
            ),
        );
    }
    let voters: Vec<u64> = cluster["voters"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
    let unit = first_id(&a, &format!("{base}/api/v1/units?limit=50"), &o.token)?;
    let article = first_id(&a, &format!("{base}/api/v1/articles?limit=50"), &o.token)?;
    let started_at = time::OffsetDateTime::now_utc();
    let stamp = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let run = format!("drill-{}-{}", started_at.format(&stamp)?, &uuid::Uuid::new_v4().simple().to_string()[..4]);
    let before = states(&a, &nodes);
    // Taking the leader away must leave a majority that answers, or no new leader can come.
    let answering = voters.iter().filter(|v| **v != old_leader && before.iter().any(|s| s.id == **v && s.reachable));
    let majority = voters.len() / 2 + 1;
    if answering.count() < majority {
        bail!(
            "refused: without the leader fewer than {majority} of the {} voters answer, so no new leader could be \
             elected; start the missing nodes first (beredd cluster status)",
            voters.len()
        );
    }
    // Transfer to a voter that answers now.
    let target = match o.to {
        Some(t) => t,
        None => *voters
            .iter()
            .find(|v| **v != old_leader && before.iter().any(|s| s.id == **v && s.reachable))
            .ok_or_else(|| anyhow!("a drill needs a second voter that answers"))?,
    };
    let action = if let Some(secs) = o.isolate {
        format!("isolate leader {old_leader} for {secs} s")
    } else if o.kill {
        format!("kill leader {old_leader}")
    } else {
        format!("transfer leadership from {old_leader} to {target}")
    };
    println!("{run}: {action}, writing {} orders a second through every node", o.rate);

    // The load: one order at a time, through the nodes in turn.
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    // One writer per node, so a write stuck on one node does not hold up the others.
    let https: Vec<String> = nodes.values().map(|(h, _)| h.clone()).collect();
    let pause = Duration::from_millis(1000 * https.len() as u64 / u64::from(o.rate.max(1)));
    let load: Vec<_> = https
        .into_iter()
        .enumerate()
        .map(|(k, http)| {
            let (stop, writes, token, run) = (stop.clone(), writes.clone(), o.token.clone(), run.clone());
            let exercise = o.exercise.clone();
            let (unit, article) = (unit.clone(), article.clone());
            let a = agent(Duration::from_secs(8));
            std::thread::spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("{run}-{k}-{n}");
                    n += 1;
                    let mut body = json!({"id": id, "unit_id": unit, "lines": [{"article_id": article, "quantity": 1}],
                        "note": format!("Failover drill {run}: not a real order"), "urgent": false, "drill": true});
                    if let Some(x) = &exercise {
                        body["exercise"] = json!(x);
                    }
                    let sent_ms = start.elapsed().as_millis() as u64;
                    let res = a
                        .post(format!("{http}/api/v1/orders"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(&body);
                    let outcome = match res {
                        Ok(mut r) => {
                            let s = r.status().as_u16();
                            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                            match s {
                                200 | 201 => Outcome::Acked,
                                503 if v["error"]["code"] == "cluster.no_quorum" => Outcome::Failed,
                                400..=499 => Outcome::Failed,
                                _ => Outcome::Unknown,
                            }
                        }
                        Err(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Outcome::Failed,
                        Err(ureq::Error::ConnectionFailed) => Outcome::Failed,
                        Err(_) => Outcome::Unknown,
                    };
                    let done_ms = start.elapsed().as_millis() as u64;
                    if let Ok(mut w) = writes.lock() {
                        w.push(Write { id, sent_ms, done_ms, outcome });
                    }
                    std::thread::sleep(pause);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (leader_http, leader_grpc) =
        nodes.get(&old_leader).cloned().ok_or_else(|| anyhow!("no address for the leader"))?;
    let mut client = connect(&leader_grpc).await?;
    let mut fault_ms = start.elapsed().as_millis() as u64;
    if let Some(seconds) = o.isolate {
        client
            .isolate(IsolateRequest { seconds })
            .await
            .map_err(|s| anyhow!("cutting node {old_leader} off: {}", s.message()))?;
        fault_ms = start.elapsed().as_millis() as u64;
    } else if o.kill {
        client.halt(StatusRequest {}).await.map_err(|s| anyhow!("halting node {old_leader}: {}", s.message()))?;
        // The fault is the moment the leader stops answering, not the request.
        let quick = agent(Duration::from_millis(300));
        let asked = Instant::now();
        while quick.get(format!("{leader_http}/healthz")).call().is_ok() && asked.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        fault_ms = start.elapsed().as_millis() as u64;
    } else {
        // The transfer answers when it is done; the watch below measures from the request.
        let t = tokio::spawn(async move { client.transfer_leader(NodeRequest { node_id: target }).await });
        drop(t);
    }
    let fault = start + Duration::from_millis(fault_ms);
    // With a cut, write on until a few seconds after it healed, so the old leader's return is seen.
    let run_for = o.isolate.map_or(o.seconds, |i| o.seconds.max(i + 3));
    let shown = show_progress(run_for + fault_ms / 1000, start, writes.clone(), stop.clone());
    let mut new_leader = None;
    let mut without_leader_ms = None;
    while fault.elapsed() < Duration::from_secs(30) {
        let seen = states(&agent(Duration::from_millis(500)), &nodes);
        if let Some(l) = seen.iter().find(|s| s.reachable && s.role == "leader" && s.id != old_leader) {
            new_leader = Some(l.id);
            without_leader_ms = Some(fault.elapsed().as_millis() as u64);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rest = Duration::from_secs(run_for).saturating_sub(fault.elapsed());
    tokio::time::sleep(rest).await;
    stop.store(true, Ordering::Relaxed);
    for t in load {
        let _ = t.join();
    }
    let _ = shown.await;
    let writes = std::mem::take(&mut *writes.lock().map_err(|_| anyhow!("load thread failed"))?);

    // Let every reachable node apply the same index before looking for each write.
    let settle = Instant::now();
    let mut after = states(&a, &nodes);
    while settle.elapsed() < Duration::from_secs(20) {
        let idx: Vec<u64> = after.iter().filter(|s| s.reachable).map(|s| s.last_applied_index).collect();
        if idx.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = states(&a, &nodes);
    }
    let reachable: Vec<&DrillNode> = after.iter().filter(|s| s.reachable).collect();
    let mut w = DrillWrites::default();
    let mut lost_ids = Vec::new();
    let mut landed = Vec::new();
    for x in &writes {
        let present = |http: &str| {
            get_json(&a, &format!("{http}/api/v1/orders/{}", x.id), &o.token).is_some_and(|(s, _)| s == 200)
        };
        match x.outcome {
            Outcome::Acked => {
                w.acknowledged += 1;
                if reachable.iter().all(|n| present(&n.http)) {
                    landed.push(x.id.clone());
                } else {
                    lost_ids.push(x.id.clone());
                }
            }
            Outcome::Failed => w.failed += 1,
            Outcome::Unknown => {
                w.unknown += 1;
                if reachable.first().is_some_and(|n| present(&n.http)) {
                    w.unknown_landed += 1;
                    landed.push(x.id.clone());
                }
            }
        }
    }
    w.lost = lost_ids.len() as u64;
    let first_ack_ms = writes
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Acked) && x.sent_ms >= fault_ms)
        .map(|x| x.done_ms - fault_ms)
        .min();
    // Drill orders are not real: cancel them, through the new leader.
    let via = new_leader.and_then(|l| nodes.get(&l)).map_or(base.clone(), |n| n.0.clone());
    let mut cancelled = 0u64;
    for id in &landed {
        let r = a
            .post(format!("{via}/api/v1/orders/{id}/cancel"))
            .header("Authorization", &format!("Bearer {}", o.token))
            .send_json(json!({"reason": format!("failover drill {run}")}));
        if r.is_ok_and(|r| r.status().is_success()) {
            cancelled += 1;
        }
    }
    let ok = w.lost == 0 && new_leader.is_some();
    let report = DrillReport {
        id: run.into(),
        started_at,
        action,
        old_leader,
        new_leader,
        without_leader_ms,
        first_ack_ms,
        writes: w,
        lost_ids,
        drill_orders_cancelled: cancelled,
        before,
        after,
        ok,
        recorded_by: None,
    };
    print_text(&report);
    // Kept in the cluster, so the ops page of every node lists it; then printed from there.
    let rec = a
        .post(format!("{via}/api/v1/drills"))
        .header("Authorization", &format!("Bearer {}", o.token))
        .send_json(&report);
    match rec {
        Ok(r) if r.status().is_success() => {
            println!("recorded: {via}/ops (report {})", report.id);
            if let Some(x) = &o.exercise {
                attach(&a, &via, &o.token, x, &report.id.to_string());
            }
        }
        Ok(mut r) => {
            let v: Value = r.body_mut().read_json().unwrap_or_default();
            eprintln!("the report was not recorded in the cluster: {}", v["error"]["message"].as_str().unwrap_or("?"));
        }
        Err(e) => eprintln!("the report was not recorded in the cluster: {e}"),
    }
    if let Some(path) = &o.pdf {
        let mut r = a
            .get(format!("{via}/api/v1/drills/{}/report.pdf", report.id))
            .header("Authorization", &format!("Bearer {}", o.token))
            .call()
            .context("fetching the report's PDF")?;
        if !r.status().is_success() {
            bail!("the report's PDF could not be made ({})", r.status());
        }
        let bytes = r.body_mut().with_config().limit(32 << 20).read_to_vec().context("reading the PDF")?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("PDF: {}", path.display());
    }
    if let Some(path) = &o.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("report: {}", path.display());
    }
    if !report.ok {
        bail!("the drill found a problem: see the report");
    }
    Ok(())
}

/// Shows the drill's seconds go by with the writes acknowledged so far, until `stop`.
fn show_progress(
    seconds: u64,
    start: Instant,
    writes: Arc<Mutex<Vec<Write>>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let bar = Progress::new("drill", seconds, Unit::Items("s"));
        while !stop.load(Ordering::Relaxed) {
            let (acked, other) = writes.lock().map_or((0, 0), |w| {
                let acked = w.iter().filter(|x| matches!(x.outcome, Outcome::Acked)).count();
                (acked, w.len() - acked)
            });
            bar.note(format!("{acked} writes acknowledged, {other} failed or unknown"));
            bar.set(start.elapsed().as_secs().min(seconds));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bar.finish();
    })
}

fn print_text(r: &DrillReport) {
    let ms = |v: Option<u64>| v.map_or("never".to_owned(), |m| format!("{:.2} s", m as f64 / 1000.0));
    let at = r.started_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    println!("Failover drill {} ({at}), {}", r.id, r.action);
    println!("  old leader {}, new leader {}", r.old_leader, r.new_leader.map_or("none".into(), |l| l.to_string()));
    println!("  time without a serving leader: {}", ms(r.without_leader_ms));
    println!("  time to the first acknowledged write: {}", ms(r.first_ack_ms));
    let w = &r.writes;
    println!(
        "  writes: {} acknowledged, {} failed, {} unknown ({} of them saved), lost {}",
        w.acknowledged, w.failed, w.unknown, w.unknown_landed, w.lost
    );
    for (label, states) in [("before", &r.before), ("after", &r.after)] {
        println!("  {label}:");
        for s in states {
            println!(
                "    node {}: {} (leader {}, term {}, applied {})",
                s.id,
                s.role,
                s.leader_id.map_or("-".into(), |l| l.to_string()),
                s.term,
                s.last_applied_index
            );
        }
    }
    println!("  drill orders cancelled: {}", r.drill_orders_cancelled);
    println!("  result: {}", if r.ok { "OK, nothing lost" } else { "PROBLEM" });
}
