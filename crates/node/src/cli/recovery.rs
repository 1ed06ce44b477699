//! `beredd backup`, `restore` and `recover`: getting the data out of a cluster, and a new
//! cluster back from a backup file or from the one node that survived.
//!
//! `backup` asks a running node over gRPC; `restore` and `recover` change a *stopped* node's
//! data folder (`raft_store::restore`, `raft_store::force_new_cluster`) and print what the
//! operator does next.

use crate::cli::progress::{Progress, Unit};
use crate::config::Config;
use crate::proto::pb::cluster::BackupRequest;
use crate::proto::pb::cluster::StatusRequest;
use anyhow::{Context, Result, bail};
use raft_store::{BackupHeader, NodeAddr};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Streams a backup from the node at `node` (gRPC address), checks it, writes it to `out`
/// sealed as `seal` says, and says how fresh it is.
pub async fn backup(node: &str, out: &Path, seal: &super::sealed::SealArgs) -> Result<()> {
    if out.exists() {
        anyhow::bail!("{} exists already; choose a new name", out.display());
    }
    let started = Instant::now();
    let mut client = crate::cli::cluster::connect(node).await?;
    let mut stream = client
        .backup(BackupRequest {})
        .await
        .map_err(|s| anyhow::anyhow!("node at {node} made no backup: {}", s.message()))?
        .into_inner();
    let part = out.with_extension("part");
    let _ = std::fs::remove_file(&part);
    // The clear copy is private from the start, and removed once sealed.
    let mut file = super::sealed::private_file(&part)?;
    let bar = Progress::new("backup", 0, Unit::Bytes);
    let received = async {
        while let Some(chunk) = stream.message().await.map_err(|s| anyhow::anyhow!("{}", s.message()))? {
            bar.set_total(chunk.total_bytes);
            file.write_all(&chunk.data).with_context(|| format!("writing {}", part.display()))?;
            bar.inc(chunk.data.len() as u64);
        }
        file.sync_all().with_context(|| format!("writing {}", part.display()))?;
        Ok::<_, anyhow::Error>(())
    };
    if let Err(e) = received.await {
        let _ = std::fs::remove_file(&part);
        return Err(e.context(format!("receiving the backup from {node}")));
    }
    bar.finish();
    // Check what arrived before it gets the real name.
    let (header, _) = match raft_store::read_backup(&part) {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e).context("the received backup does not check out; nothing was saved");
        }
    };
    let sealed = seal.seal(&part, out);
    let _ = std::fs::remove_file(&part);
    sealed?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!("{}: {} bytes in {:.1} s", out.display(), bytes, started.elapsed().as_secs_f64());
    describe(&header);
    Ok(())
}

/// Prints a backup's header for a person: what, from where, how fresh.
fn describe(h: &BackupHeader) {
    let index = h.last_applied.map_or(0, |l| l.index);
    println!(
        "backup format {}: {} records up to log index {index}, taken {} from node {}",
        h.version, h.records, h.source.taken_at, h.source.node_id
    );
    println!("state digest {}", h.state_sha256);
    if h.source.quorum {
        println!("freshness: node {} was in touch with a majority (leader {:?})", h.source.node_id, h.source.leader_id);
    } else {
        let since = h
            .source
            .millis_since_quorum
            .map_or("never since it started".to_owned(), |ms| format!("{:.0} s before", ms as f64 / 1000.0));
        println!(
            "freshness: WITHOUT A MAJORITY - node {} last heard from one {since}; changes made elsewhere since then are not in it",
            h.source.node_id
        );
    }
}

fn addr_of(cfg: &Config) -> NodeAddr {
    NodeAddr { http: cfg.http.advertise.clone(), grpc: cfg.grpc.advertise.clone() }
}

/// Asks for "yes" on a terminal; without one, only `--yes` goes on.
fn confirm(yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("not confirmed: run again with --yes to go ahead without a question");
    }
    print!("Type yes to go ahead: ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the answer")?;
    if line.trim() != "yes" {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

/// `beredd restore FILE --config …`: a new one-node cluster from a backup, in the node's empty
/// data folder.
pub fn restore(file: &Path, config: &Path, yes: bool) -> Result<()> {
    let cfg = Config::load(config, std::env::vars()).context("loading configuration")?;
    let (header, records) = raft_store::read_backup(file).map_err(anyhow::Error::from)?;
    describe(&header);
    let dir = &cfg.node.data_dir;
    if dir.join("db").exists() {
        bail!(
            "{} already holds a node's data; a restore builds a new cluster in an empty folder (set node.data_dir to a new one)",
            dir.display()
        );
    }
    println!(
        "This makes node {} at {} the only member of a NEW cluster holding this backup, in {}.",
        cfg.node.id,
        cfg.grpc.advertise,
        dir.display()
    );
    confirm(yes)?;
    let started = Instant::now();
    let bar = Progress::new("restore", records.len() as u64, Unit::Items("records"));
    let f = raft_store::restore(dir, cfg.node.id, addr_of(&cfg), &header, &records, &mut |done, _| bar.set(done));
    bar.finish();
    let f = f?;
    println!(
        "restored {} records in {:.1} s; the new cluster starts at log index {} (term {})",
        records.len(),
        started.elapsed().as_secs_f64(),
        f.log_id.index,
        f.log_id.leader_id.term
    );
    next_steps(config, &header.membership, false);
    Ok(())
}

fn next_steps(config: &Path, old: &openraft::StoredMembership<u64, NodeAddr>, new_ids: bool) {
    let old_ids: Vec<String> = old.membership().nodes().map(|(id, _)| id.to_string()).collect();
    println!("Next:");
    println!("  1. start it:  beredd serve --config {}", config.display());
    if new_ids {
        println!("  2. add each other node with an EMPTY data folder and a NEW id (not {}):", old_ids.join(", "));
    } else {
        println!("  2. add each other node with an EMPTY data folder:");
    }
    println!(
        "       beredd cluster add-learner --id N --http URL --grpc HOST:PORT, then beredd cluster promote --id N"
    );
}

/// Status of each old voter other than `me` that answers within a few seconds.
async fn reachable_voters(cfg: &Config, voters: &[(u64, NodeAddr)]) -> Vec<(u64, serde_json::Value)> {
    if let Some(tls) = cfg.tls_files()
        && let Ok(c) = tls.client()
    {
        let _ = crate::certs::CLI_TLS.set(Some(c));
    }
    let mut out = Vec::new();
    for (id, addr) in voters.iter().filter(|(id, _)| *id != cfg.node.id) {
        let probe = async {
            let mut c = crate::cli::cluster::connect(&addr.grpc).await.ok()?;
            let r = c.status(StatusRequest {}).await.ok()?;
            serde_json::from_slice::<serde_json::Value>(&r.into_inner().json).ok()
        };
        if let Ok(Some(status)) = tokio::time::timeout(Duration::from_secs(4), probe).await {
            out.push((*id, status));
        }
    }
    out
}

/// `beredd recover --config … [--force-new-cluster] [--yes]`.
pub async fn recover(config: &Path, force: bool, yes: bool) -> Result<()> {
    let cfg = Config::load(config, std::env::vars()).context("loading configuration")?;
    let dir = cfg.node.data_dir.clone();
    let survey = raft_store::survey(&dir)?;
    let membership = survey.membership.membership();
    let voters: Vec<(u64, NodeAddr)> =
        membership.voter_ids().filter_map(|id| Some((id, membership.get_node(&id)?.clone()))).collect();
    let is_voter = voters.iter().any(|(id, _)| *id == cfg.node.id);
    let at = |l: Option<openraft::LogId<u64>>| l.map_or(0, |l| l.index);
    println!(
        "node {} ({}) in {}: applied up to log index {}, log up to {}, last known commit {}; outbox: {} item(s)",
        cfg.node.id,
        if is_voter { "voter" } else { "learner" },
        dir.display(),
        at(survey.last_applied),
        at(survey.last_log),
        at(survey.committed),
        survey.outbox
    );
    println!("old cluster's voters: {:?}", voters.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    let answering = reachable_voters(&cfg, &voters).await;
    let majority = voters.len() / 2 + 1;
    let with_me = answering.len() + usize::from(is_voter);
    for (id, s) in &answering {
        println!("  node {id} answers: role {}, leader {}", s["role"].as_str().unwrap_or("?"), s["leader_id"]);
    }
    if with_me >= majority {
        bail!(
            "refused: {} of the old cluster's {} voters answer{}, a majority; the cluster can go on without force. \
             Start this node again (beredd serve --config {}) and it rejoins; replace lost nodes with \
             `beredd cluster remove` and `add-learner`",
            with_me,
            voters.len(),
            if is_voter { " counting this one" } else { "" },
            config.display()
        );
    }
    println!(
        "{} of {} voters answer: the old cluster has no majority and cannot get one back without the lost nodes.",
        answering.len(),
        voters.len()
    );
    if !force {
        println!("Nothing changed. To make this node a new one-node cluster, run again with --force-new-cluster.");
        return Ok(());
    }
    println!(
        "--force-new-cluster makes node {} the ONLY member of a new cluster with everything it holds: all {} log \
         entries past its state are applied (including any the old cluster may not have committed), and its outbox \
         is kept and forwarded once it leads. The old nodes must never start again with their old data: wipe them \
         and add them back under new ids.",
        cfg.node.id,
        at(survey.last_log).saturating_sub(at(survey.last_applied))
    );
    confirm(yes)?;
    let started = Instant::now();
    let bar = Progress::new("replaying the log", 0, Unit::Items("entries"));
    let f = raft_store::force_new_cluster(
        &dir,
        cfg.node.id,
        addr_of(&cfg),
        &raft_store::Confirmed::default(),
        &mut |done, of| {
            bar.set_total(of);
            bar.set(done);
        },
    );
    bar.finish();
    let f = f?;
    println!(
        "recovered in {:.2} s: {} entries applied ({} past the last known commit); old nodes {:?} retired (their ids \
         are never used again); the new cluster starts at log index {} (term {})",
        started.elapsed().as_secs_f64(),
        f.replayed,
        f.beyond_commit,
        f.retired,
        f.log_id.index,
        f.log_id.leader_id.term
    );
    next_steps(config, &survey.membership, true);
    Ok(())
}

/// Records per merge request: keeps each well under the HTTP body limit and `MAX_IMPORT_ROWS`.
const MERGE_CHUNK: usize = 1000;

/// `beredd import FILE --http URL --token T`: merges the catalog, directory and action cards of
/// another cluster's backup into the cluster at `http`, and prints what changed.
pub fn import(file: &Path, http: &str, token: &str, dry_run: bool) -> Result<()> {
    let (header, records) = raft_store::read_backup(file).map_err(anyhow::Error::from)?;
    describe(&header);
    let mut incoming = domain::merge::Incoming::default();
    for (key, value) in &records {
        let record = domain::codec::decode_record(value).map_err(|e| {
            anyhow::anyhow!(
                "{}: record {} cannot be read ({e}); nothing was merged",
                file.display(),
                String::from_utf8_lossy(key)
            )
        })?;
        incoming.add(record);
    }
    merge(incoming, http, token, dry_run)
}

/// `beredd import COPY --trust KEY`: the reference data of an offline copy (a folder or its ZIP,
/// from `beredd offline-copy` or a node's schedule), merged like a backup's once the copy's
/// signature is by `trust` and every file matches the manifest.
pub fn import_offline(path: &Path, trust: &str, http: &str, token: &str, dry_run: bool) -> Result<()> {
    let files = crate::offline::read(path)?;
    let m = documents::offline::verify(&files, Some(trust)).with_context(|| {
        format!("{} is not a whole offline copy signed by {trust}; nothing was merged", path.display())
    })?;
    println!(
        "offline copy made {} by node {} (applied index {}), {} files, signature and contents verified",
        crate::offline::when(m.made_at),
        m.node,
        m.applied_index,
        m.files.len()
    );
    let data = files.get("files/reference.json").context("the copy has no files/reference.json")?;
    let incoming: domain::merge::Incoming =
        serde_json::from_slice(data).context("files/reference.json cannot be read; nothing was merged")?;
    merge(incoming, http, token, dry_run)
}

/// Sends `incoming` to the cluster at `http` in chunks and prints what changed.
fn merge(incoming: domain::merge::Incoming, http: &str, token: &str, dry_run: bool) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/api/v1/merge{}", http.trim_end_matches('/'), if dry_run { "?dry_run=true" } else { "" });
    let (mut added, mut changed, mut unchanged) = (0, 0, 0);
    let parts = chunks(incoming);
    let bar = Progress::new(if dry_run { "checking" } else { "merging" }, 0, Unit::Items("records"));
    bar.set_total(parts.iter().map(|p| p.len() as u64).sum());
    for part in parts {
        let size = part.len() as u64;
        let mut resp = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Idempotency-Key", &uuid::Uuid::new_v4().to_string())
            .send_json(&part)
            .with_context(|| format!("sending to {url}"))?;
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.body_mut().read_json().unwrap_or_default();
        if status != 200 {
            let msg = body["error"]["message"].as_str().unwrap_or("no message");
            bail!("the cluster refused the merge ({status}): {msg}");
        }
        for item in body["items"].as_array().into_iter().flatten() {
            let note = item["note"].as_str().map(|n| format!(" ({n})")).unwrap_or_default();
            match item["change"].as_str() {
                Some("added") => bar.println(&format!(
                    "  + {} {}{note}",
                    item["kind"].as_str().unwrap_or(""),
                    item["id"].as_str().unwrap_or("")
                )),
                Some("changed") => bar.println(&format!(
                    "  ~ {} {}{note}",
                    item["kind"].as_str().unwrap_or(""),
                    item["id"].as_str().unwrap_or("")
                )),
                _ => {}
            }
        }
        added += body["added"].as_u64().unwrap_or(0);
        changed += body["changed"].as_u64().unwrap_or(0);
        unchanged += body["unchanged"].as_u64().unwrap_or(0);
        bar.inc(size);
    }
    bar.finish();
    let verb = if dry_run { "would be" } else { "were" };
    println!(
        "{added} added, {changed} changed, {unchanged} unchanged{}",
        if dry_run { format!(" ({verb} - dry run, nothing saved)") } else { String::new() }
    );
    Ok(())
}

/// Splits `all` into requests of at most `MERGE_CHUNK` records, keeping the order of kinds so
/// that what a record names arrives before it (units and suppliers, then articles, …).
fn chunks(all: domain::merge::Incoming) -> Vec<domain::merge::Incoming> {
    use domain::merge::Incoming;
    let mut out = vec![Incoming::default()];
    macro_rules! spread {
        ($field:ident) => {
            for r in all.$field {
                if out.last().map_or(true, |c| c.len() >= MERGE_CHUNK) {
                    out.push(Incoming::default());
                }
                if let Some(c) = out.last_mut() {
                    c.$field.push(r);
                }
            }
        };
    }
    spread!(units);
    spread!(suppliers);
    spread!(articles);
    spread!(contacts);
    spread!(rotas);
    spread!(cards);
    out.retain(|c| !c.is_empty());
    out
}
