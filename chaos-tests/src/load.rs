//! Concurrent clients that record every request and its answer while faults happen.
//!
//! Writers create orders, each carrying its operation id as the order's note and as the
//! `Idempotency-Key`, and retry an operation with the same key on another node until it is
//! acknowledged or its deadline passes: the key is what makes the retry safe. Watchers poll
//! each node's status (role, term, quorum, applied index) every 100 ms and re-read an order
//! they saw there before, so a node that goes back in time is caught.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::{JoinHandle, sleep, spawn};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::docker::Node;
use crate::http::{Api, Reply};

/// How an operation ended, as the client knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A node answered 2xx: it must be on every node after the heal.
    Acked,
    /// Every attempt was refused with an answer that says nothing was saved.
    Refused,
    /// At least one attempt got no clear answer: it may or may not have been applied.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct Op {
    pub id: String,
    /// When it ended, in seconds since the run started.
    pub done: f64,
    pub outcome: Outcome,
    /// The order the cluster made for it, when acknowledged.
    pub order_id: Option<String>,
    /// When the attempt that was acknowledged started.
    pub acked_attempt: Option<f64>,
    pub attempts: u32,
    /// Attempts that got no clear answer before the last one.
    pub ambiguous: u32,
    pub last_error: Option<String>,
}

/// One poll of a node's status; `None` when it did not answer.
#[derive(Clone, Debug)]
pub struct Sample {
    pub t: f64,
    pub node: u64,
    pub role: Option<String>,
    pub quorum: bool,
}

/// Everything recorded during a run.
#[derive(Default, Debug)]
pub struct History {
    pub ops: Vec<Op>,
    pub samples: Vec<Sample>,
    /// Reads that went back in time on one node.
    pub stale_reads: Vec<String>,
}

struct Recorder {
    t0: Instant,
    history: Mutex<History>,
}

impl Recorder {
    fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }
    fn lock(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Load {
    rec: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    targets: Arc<RwLock<Vec<Node>>>,
    writers: Vec<JoinHandle<()>>,
    watchers: BTreeMap<u64, (Arc<AtomicBool>, JoinHandle<()>)>,
    token: String,
    tag: String,
}

/// How long one operation is retried before the client gives up on it.
const OP_DEADLINE: Duration = Duration::from_secs(20);

impl Load {
    /// Starts `writers` writing clients and one watcher per node. `tag` prefixes every
    /// operation id (it names the run).
    pub fn start(nodes: &[Node], token: &str, writers: usize, seed: u64, tag: &str) -> Load {
        let rec = Arc::new(Recorder { t0: Instant::now(), history: Mutex::new(History::default()) });
        let stop = Arc::new(AtomicBool::new(false));
        let targets = Arc::new(RwLock::new(nodes.to_vec()));
        // Longer than the node's own write timeout (4 s), so its 503 arrives before ours.
        let api = Api::new(Duration::from_secs(6), token);
        let writers = (0..writers)
            .map(|w| {
                let (rec, stop, targets, api) = (rec.clone(), stop.clone(), targets.clone(), api.clone());
                let tag = tag.to_owned();
                let mut rng = StdRng::seed_from_u64(seed.wrapping_add(w as u64 + 1));
                spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let nodes = targets.read().unwrap_or_else(|e| e.into_inner()).clone();
                        let op = write_one(&api, &rec, &nodes, &format!("{tag}-w{w}-{n}"), &mut rng, false);
                        rec.lock().ops.push(op);
                        n += 1;
                    }
                })
            })
            .collect();
        let mut load = Load {
            rec,
            stop,
            targets,
            writers,
            watchers: BTreeMap::new(),
            token: token.to_owned(),
            tag: tag.to_owned(),
        };
        for n in nodes {
            load.watch(n.clone());
        }
        load
    }

    pub fn now(&self) -> f64 {
        self.rec.now()
    }

    /// Changes which nodes the clients use (after a node is replaced).
    pub fn set_targets(&mut self, nodes: &[Node]) {
        *self.targets.write().unwrap_or_else(|e| e.into_inner()) = nodes.to_vec();
        for n in nodes {
            if !self.watchers.contains_key(&n.id) {
                self.watch(n.clone());
            }
        }
        let gone: Vec<u64> = self.watchers.keys().filter(|id| !nodes.iter().any(|n| n.id == **id)).copied().collect();
        for id in gone {
            if let Some((stop, h)) = self.watchers.remove(&id) {
                stop.store(true, Ordering::Relaxed);
                h.join().ok();
            }
        }
    }

    /// Sends `count` operations to `node` only, one after the other, and records them.
    pub fn probe(&self, node: &Node, count: usize, seed: u64) -> Vec<Op> {
        let mut rng = StdRng::seed_from_u64(seed);
        let api = Api::new(Duration::from_secs(3), &self.token);
        let ops: Vec<Op> = (0..count)
            .map(|i| {
                write_one(
                    &api,
                    &self.rec,
                    std::slice::from_ref(node),
                    &format!("{}-probe-{i}", self.tag),
                    &mut rng,
                    true,
                )
            })
            .collect();
        self.rec.lock().ops.extend(ops.iter().cloned());
        ops
    }

    /// Stops every client (each finishes the operation it is on) and returns what happened.
    pub fn finish(mut self) -> History {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.writers.drain(..) {
            h.join().ok();
        }
        for (_, (stop, h)) in std::mem::take(&mut self.watchers) {
            stop.store(true, Ordering::Relaxed);
            h.join().ok();
        }
        std::mem::take(&mut *self.rec.lock())
    }

    fn watch(&mut self, node: Node) {
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, s, api) = (self.rec.clone(), stop.clone(), Api::new(Duration::from_millis(500), &self.token));
        let id = node.id;
        let h = spawn(move || watch_node(&api, &rec, &node, &s));
        self.watchers.insert(id, (stop, h));
    }
}

/// One operation: a new order whose note is its id, retried with the same key until it is
/// acknowledged or `OP_DEADLINE` passes.
fn write_one(api: &Api, rec: &Recorder, nodes: &[Node], id: &str, rng: &mut StdRng, probe: bool) -> Op {
    let body = json!({
        "unit_id": "chaos-unit",
        "lines": [{"article_id": "chaos-art", "quantity": rng.random_range(1..10)}],
        "note": id,
    });
    let deadline = Instant::now() + if probe { Duration::from_secs(3) } else { OP_DEADLINE };
    let mut op = Op {
        id: id.to_owned(),
        done: 0.0,
        outcome: Outcome::Refused,
        order_id: None,
        acked_attempt: None,
        attempts: 0,
        ambiguous: 0,
        last_error: None,
    };
    let mut i = rng.random_range(0..nodes.len().max(1));
    while Instant::now() < deadline && !nodes.is_empty() {
        let node = &nodes[i % nodes.len()];
        let started = rec.now();
        op.attempts += 1;
        let reply = api.post(node.port, "/api/v1/orders", &body, Some(id));
        match &reply {
            Reply::Answer(s, v) if (200..300).contains(s) => {
                op.outcome = Outcome::Acked;
                op.order_id = v["id"].as_str().map(str::to_owned);
                op.acked_attempt = Some(started);
                op.done = rec.now();
                return op;
            }
            // The node says nothing was saved.
            Reply::Answer(503, _) if reply.code() == Some("cluster.no_quorum") => {}
            Reply::Answer(s, _) if (400..500).contains(s) => {}
            Reply::NoAnswer(e) if e.contains("onnection refused") => {}
            _ => op.ambiguous += 1,
        }
        op.last_error = Some(match &reply {
            Reply::Answer(s, _) => format!("node {}: {s} {}", node.id, reply.code().unwrap_or_default()),
            Reply::NoAnswer(e) => format!("node {}: {e}", node.id),
        });
        i += 1;
        sleep(Duration::from_millis(100));
    }
    op.outcome = if op.ambiguous > 0 { Outcome::Unknown } else { Outcome::Refused };
    op.done = rec.now();
    op
}

fn watch_node(api: &Api, rec: &Recorder, node: &Node, stop: &AtomicBool) {
    let mut max_applied = 0u64;
    // An order seen on this node before, and the index at which it was seen.
    let mut witness: Option<String> = None;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let t = rec.now();
        let v: Option<Value> = api.get(node.port, "/api/v1/cluster").ok().cloned();
        let sample = Sample {
            t,
            node: node.id,
            role: v.as_ref().and_then(|v| v["role"].as_str().map(str::to_owned)),
            quorum: v.as_ref().is_some_and(|v| v["quorum"] == true),
        };
        if let Some(applied) = v.as_ref().and_then(|v| v["last_applied_index"].as_u64()) {
            if applied < max_applied {
                rec.lock()
                    .stale_reads
                    .push(format!("node {}: applied index {applied} at {t:.1} s after {max_applied} earlier", node.id));
            }
            max_applied = max_applied.max(applied);
        }
        rec.lock().samples.push(sample);
        round += 1;
        if round.is_multiple_of(5) && v.is_some() {
            if let Some(w) = &witness
                && let Reply::Answer(404, _) = api.get(node.port, &format!("/api/v1/orders/{w}"))
            {
                rec.lock()
                    .stale_reads
                    .push(format!("node {}: order {w}, read there before, is gone at {t:.1} s", node.id));
            }
            let newest = rec.lock().ops.iter().rev().find_map(|o| o.order_id.clone());
            if let Some(id) = newest
                && api.get(node.port, &format!("/api/v1/orders/{id}")).ok().is_some()
            {
                witness = Some(id);
            }
        }
        sleep(Duration::from_millis(100));
    }
}
