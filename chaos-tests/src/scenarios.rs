//! The faults. Each scenario injects its fault into a loaded cluster, heals it, and returns
//! when (on the load's clock) the first fault had taken effect (its docker command returned).

use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::Value;

use crate::docker::{Cluster, Node, wait_for};
use crate::http::Reply;
use crate::load::{Load, Outcome};

pub struct Ctx<'a> {
    pub cluster: &'a mut Cluster,
    pub load: &'a mut Load,
    pub rng: StdRng,
    pub seed: u64,
    /// Observations for the report.
    pub notes: Vec<String>,
}

pub struct Scenario {
    pub name: &'static str,
    pub nodes: usize,
    pub what: &'static str,
    pub run: fn(&mut Ctx) -> Result<f64>,
}

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "leader-kill",
        nodes: 3,
        what: "leader SIGKILLed, started again 2-6 s after a new leader is up",
        run: leader_kill,
    },
    Scenario {
        name: "leader-pause",
        nodes: 3,
        what: "leader frozen (docker pause) 6-9 s, resumed, then written to directly",
        run: leader_pause,
    },
    Scenario {
        name: "leader-disconnect",
        nodes: 3,
        what: "leader cut off the network 6-9 s (docker network disconnect), reconnected",
        run: leader_disconnect,
    },
    Scenario {
        name: "partition",
        nodes: 5,
        what: "leader and one follower split from the other three for 8-12 s, healed",
        run: partition,
    },
    Scenario {
        name: "wipe-replace",
        nodes: 3,
        what: "a follower's container and volume destroyed; removed, a new node added and promoted",
        run: wipe_replace,
    },
    Scenario { name: "power-cut", nodes: 3, what: "every node SIGKILLed at once, started 2-4 s later", run: power_cut },
    Scenario {
        name: "rolling-restart",
        nodes: 3,
        what: "each node in turn stopped (SIGTERM) and started, waiting for it to catch up",
        run: rolling_restart,
    },
    Scenario {
        name: "snapshot-catchup",
        nodes: 3,
        what: "a follower stopped until the leader purged its log past it; it catches up by snapshot",
        run: snapshot_catchup,
    },
];

/// The quick subset `make test` runs.
pub const QUICK: &[&str] = &["leader-kill", "partition"];

const READY: Duration = Duration::from_secs(90);

fn pause_for(rng: &mut StdRng, secs: std::ops::Range<u64>) {
    sleep(Duration::from_millis(rng.random_range(secs.start * 1000..secs.end * 1000)));
}

fn status(c: &Cluster, n: &Node) -> Option<Value> {
    c.api(Duration::from_secs(2)).get(n.port, "/api/v1/cluster").ok().cloned()
}

/// Waits until `n` has applied at least what the leader had applied when this was called.
fn wait_caught_up(c: &Cluster, n: &Node, within: Duration) -> Result<()> {
    let leader = c.wait_leader(within)?;
    let target = status(c, &leader).and_then(|v| v["last_applied_index"].as_u64()).unwrap_or(0);
    wait_for(within, || status(c, n).and_then(|v| v["last_applied_index"].as_u64()).is_some_and(|i| i >= target))
        .with_context(|| format!("node {} did not catch up to index {target}", n.id))
}

fn leader_kill(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    x.cluster.kill(std::slice::from_ref(&l))?;
    let t = x.load.now();
    x.notes.push(format!("killed leader {}", l.id));
    let new = x.cluster.wait_leader(Duration::from_secs(30))?;
    x.notes.push(format!("node {} leads after {:.1} s", new.id, x.load.now() - t));
    pause_for(&mut x.rng, 2..6);
    x.cluster.start(std::slice::from_ref(&l))?;
    x.cluster.wait_ready(&x.cluster.members, READY)?;
    Ok(t)
}

fn leader_pause(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    let old_term = status(x.cluster, &l).and_then(|v| v["term"].as_u64()).unwrap_or(0);
    x.cluster.pause(std::slice::from_ref(&l))?;
    let t = x.load.now();
    pause_for(&mut x.rng, 6..9);
    let new = x.cluster.wait_leader(Duration::from_secs(30))?;
    x.cluster.unpause(std::slice::from_ref(&l))?;
    // What the resumed node says of itself at once, and what it does with writes sent to it.
    if let Some(v) = status(x.cluster, &l) {
        x.notes.push(format!(
            "paused leader {} (term {old_term}); node {} led meanwhile; resumed node said role {} term {}",
            l.id, new.id, v["role"], v["term"]
        ));
    }
    let probe = x.load.probe(&l, 15, x.seed);
    let count = |o: Outcome| probe.iter().filter(|p| p.outcome == o).count();
    x.notes.push(format!(
        "15 writes sent only to the resumed node: {} acknowledged (checked like all others), {} refused, {} unknown",
        count(Outcome::Acked),
        count(Outcome::Refused),
        count(Outcome::Unknown)
    ));
    x.cluster.wait_ready(&x.cluster.members, READY)?;
    Ok(t)
}

fn leader_disconnect(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    x.cluster.isolate(std::slice::from_ref(&l), false)?;
    let t = x.load.now();
    pause_for(&mut x.rng, 6..9);
    let new = x.cluster.wait_leader(Duration::from_secs(30))?;
    ensure!(new.id != l.id, "the cut-off node {} still says it leads with a quorum", l.id);
    x.notes.push(format!("cut off leader {}; node {} led", l.id, new.id));
    x.cluster.heal(std::slice::from_ref(&l), false)?;
    x.cluster.wait_ready(&x.cluster.members, READY)?;
    wait_caught_up(x.cluster, &l, READY)?;
    Ok(t)
}

fn partition(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    let mut others: Vec<Node> = x.cluster.members.iter().filter(|n| n.id != l.id).cloned().collect();
    others.shuffle(&mut x.rng);
    let minority = vec![l.clone(), others[0].clone()];
    x.cluster.isolate(&minority, true)?;
    let t = x.load.now();
    pause_for(&mut x.rng, 8..12);
    let new = x.cluster.wait_leader(Duration::from_secs(30))?;
    ensure!(!minority.contains(&new), "node {} leads from the minority side", new.id);
    x.notes.push(format!(
        "minority {{{}, {}}} (old leader first), majority leader {}",
        minority[0].id, minority[1].id, new.id
    ));
    x.cluster.heal(&minority, true)?;
    x.cluster.wait_ready(&x.cluster.members, READY)?;
    for n in &minority {
        wait_caught_up(x.cluster, n, READY)?;
    }
    Ok(t)
}

fn wipe_replace(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    let followers: Vec<Node> = x.cluster.members.iter().filter(|n| n.id != l.id).cloned().collect();
    let victim = followers[x.rng.random_range(0..followers.len())].clone();
    let spare = x.cluster.spare();
    x.cluster.destroy(&victim)?;
    let t = x.load.now();
    let survivor = followers.iter().find(|n| n.id != victim.id).unwrap_or(&l).clone();
    let id = victim.id.to_string();
    x.cluster.exec(&survivor, &["cluster", "remove", "--id", &id]).context("removing the destroyed node")?;
    let mut members: Vec<Node> = x.cluster.members.iter().filter(|n| n.id != victim.id).cloned().collect();
    x.cluster.members = members.clone();
    x.load.set_targets(&members);
    x.cluster.create(&spare)?;
    let api = x.cluster.api(Duration::from_secs(1));
    wait_for(READY, || matches!(api.get(spare.port, "/healthz"), Reply::Answer(200, _)))
        .context("the new node's HTTP server never came up")?;
    let (sid, http, grpc) =
        (spare.id.to_string(), format!("http://{}:8081", spare.service), format!("{}:9081", spare.service));
    x.cluster.exec(&survivor, &["cluster", "add-learner", "--id", &sid, "--http", &http, "--grpc", &grpc])?;
    wait_caught_up(x.cluster, &spare, READY)?;
    x.cluster.exec(&survivor, &["cluster", "promote", "--id", &sid])?;
    members.push(spare.clone());
    x.cluster.members = members.clone();
    x.load.set_targets(&members);
    x.cluster.wait_ready(&members, READY)?;
    let voters = status(x.cluster, &l).map(|v| v["voters"].clone()).unwrap_or_default();
    x.notes.push(format!(
        "destroyed node {}, added node {} as learner, promoted; voters now {voters}",
        victim.id, spare.id
    ));
    Ok(t)
}

fn power_cut(x: &mut Ctx) -> Result<f64> {
    let all = x.cluster.members.clone();
    x.cluster.kill(&all)?;
    let t = x.load.now();
    pause_for(&mut x.rng, 2..4);
    x.cluster.start(&all)?;
    let l = x.cluster.wait_leader(READY)?;
    x.notes.push(format!("all {} nodes killed; node {} led {:.1} s after the cut", all.len(), l.id, x.load.now() - t));
    x.cluster.wait_ready(&all, READY)?;
    Ok(t)
}

fn rolling_restart(x: &mut Ctx) -> Result<f64> {
    let mut order = x.cluster.members.clone();
    order.shuffle(&mut x.rng);
    let mut t = None;
    for n in &order {
        let began = Instant::now();
        x.cluster.stop(std::slice::from_ref(n))?;
        t.get_or_insert(x.load.now());
        sleep(Duration::from_secs(1));
        x.cluster.start(std::slice::from_ref(n))?;
        x.cluster.wait_ready(std::slice::from_ref(n), READY)?;
        wait_caught_up(x.cluster, n, READY)?;
        x.notes.push(format!("node {} restarted and caught up in {:.1} s", n.id, began.elapsed().as_secs_f64()));
    }
    t.context("no nodes")
}

fn snapshot_catchup(x: &mut Ctx) -> Result<f64> {
    let l = x.cluster.wait_leader(READY)?;
    let followers: Vec<Node> = x.cluster.members.iter().filter(|n| n.id != l.id).cloned().collect();
    let victim = followers[x.rng.random_range(0..followers.len())].clone();
    x.cluster.stop(std::slice::from_ref(&victim))?;
    let t = x.load.now();
    // The victim's log ends at most at the leader's log end when it stopped.
    let behind = status(x.cluster, &l).and_then(|v| v["last_log_index"].as_u64()).context("leader status")?;
    let mut purged = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    while purged <= behind {
        ensure!(Instant::now() < deadline, "the leader never purged its log past index {behind}");
        sleep(Duration::from_millis(500));
        let leader = x.cluster.wait_leader(READY)?;
        purged = status(x.cluster, &leader).and_then(|v| v["purged_index"].as_u64()).unwrap_or(0);
    }
    x.cluster.start(std::slice::from_ref(&victim))?;
    x.cluster.wait_ready(std::slice::from_ref(&victim), READY)?;
    wait_caught_up(x.cluster, &victim, READY)?;
    let snap = status(x.cluster, &victim).and_then(|v| v["snapshot_index"].as_u64()).unwrap_or(0);
    if snap < purged {
        bail!("node {} caught up but holds no snapshot at or past {purged} (has {snap})", victim.id);
    }
    x.notes.push(format!(
        "stopped node {} at log index ≤ {behind}; leader purged to {purged}; it installed a snapshot at {snap} and caught up",
        victim.id
    ));
    Ok(t)
}
