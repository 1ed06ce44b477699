//! Checks a recorded history against what every node holds after the heal.
//!
//! - every acknowledged write is on every node (else: lost);
//! - no operation id appears on a node more than once (else: applied twice);
//! - nothing is there that no client sent (else: phantom);
//! - no write the cluster refused ("nothing was saved") is there;
//! - every node reports the same state digest at the same applied index;
//! - no node was read going back in time (recorded by the watchers).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};

use crate::docker::Node;
use crate::http::{Api, Reply};
use crate::load::{History, Outcome, Sample};

/// What every node holds after the heal: order id → note, per node.
pub type FinalState = BTreeMap<u64, Vec<(String, String)>>;

/// Reads every order on every node (its local state, no leader needed).
pub fn read_final_state(api: &Api, nodes: &[Node]) -> Result<FinalState> {
    let mut out = FinalState::new();
    for n in nodes {
        let mut orders = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/orders?limit=500&cursor={c}"),
                None => "/api/v1/orders?limit=500".to_owned(),
            };
            let v = match api.get(n.port, &path) {
                Reply::Answer(200, v) => v,
                other => bail!("listing orders on node {}: {other:?}", n.id),
            };
            for o in v["items"].as_array().into_iter().flatten() {
                let id = o["id"].as_str().unwrap_or_default().to_owned();
                orders.push((id, o["note"].as_str().unwrap_or_default().to_owned()));
            }
            match v["next"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        out.insert(n.id, orders);
    }
    Ok(out)
}

/// The figures of one run and anything that broke a promise.
#[derive(Debug, Default)]
pub struct Figures {
    /// Seconds after the first fault during which no node was leader with a quorum.
    pub leaderless_s: f64,
    /// From the first fault to the first acknowledgement of a write sent after it.
    pub first_ack_s: Option<f64>,
    pub acked: usize,
    pub refused: usize,
    pub unknown: usize,
    /// Of the unknown ones, how many were in fact applied.
    pub unknown_applied: usize,
    pub lost: Vec<String>,
    pub applied_twice: Vec<String>,
    pub phantoms: Vec<String>,
    pub refused_but_applied: Vec<String>,
    pub stale_reads: Vec<String>,
    pub diverged: Option<String>,
    /// Scenario-specific observations for the report.
    pub notes: Vec<String>,
}

impl Figures {
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut add = |what: &str, items: &[String]| {
            if !items.is_empty() {
                v.push(format!(
                    "{what}: {} ({})",
                    items.len(),
                    items.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        };
        add("acknowledged but lost", &self.lost);
        add("applied twice", &self.applied_twice);
        add("present but never sent", &self.phantoms);
        add("refused but applied", &self.refused_but_applied);
        add("read older state", &self.stale_reads);
        if let Some(d) = &self.diverged {
            v.push(format!("state digests differ: {d}"));
        }
        v
    }
}

/// Compares the history with the final state. `fault` is when the first fault was injected
/// (seconds on the history's clock), `digests` the outcome of waiting for equal digests.
pub fn check(h: &History, state: &FinalState, fault: f64, digests: Result<(u64, String)>) -> Figures {
    let mut f = Figures { stale_reads: h.stale_reads.clone(), ..Figures::default() };
    let sent: BTreeMap<&str, Outcome> = h.ops.iter().map(|o| (o.id.as_str(), o.outcome)).collect();
    for o in &h.ops {
        match o.outcome {
            Outcome::Acked => f.acked += 1,
            Outcome::Refused => f.refused += 1,
            Outcome::Unknown => f.unknown += 1,
        }
    }
    let mut unknown_applied = BTreeSet::new();
    for (node, orders) in state {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, note) in orders {
            *seen.entry(note.as_str()).or_default() += 1;
            match sent.get(note.as_str()) {
                None => f.phantoms.push(format!("node {node}: order {id} ({note:?})")),
                Some(Outcome::Refused) => f.refused_but_applied.push(format!("node {node}: {note}")),
                Some(Outcome::Unknown) => {
                    unknown_applied.insert(note.as_str());
                }
                Some(Outcome::Acked) => {}
            }
        }
        for (note, n) in &seen {
            if *n > 1 {
                f.applied_twice.push(format!("node {node}: {note} ×{n}"));
            }
        }
        for o in h.ops.iter().filter(|o| o.outcome == Outcome::Acked) {
            if !seen.contains_key(o.id.as_str()) {
                f.lost.push(format!("node {node}: {} (acked as {})", o.id, o.order_id.as_deref().unwrap_or("?")));
            }
        }
    }
    f.unknown_applied = unknown_applied.len();
    if let Err(e) = digests {
        f.diverged = Some(e.to_string());
    }
    f.leaderless_s = leaderless(&h.samples, fault);
    f.first_ack_s = h
        .ops
        .iter()
        .filter(|o| o.acked_attempt.is_some_and(|t| t >= fault))
        .map(|o| o.done - fault)
        .min_by(f64::total_cmp);
    f
}

/// Seconds from `from` to the last sample during which no node said it was leader with a
/// quorum. A node's sample counts for 0.7 s; a node that did not answer counts as down.
pub fn leaderless(samples: &[Sample], from: f64) -> f64 {
    let mut s: Vec<&Sample> = samples.iter().collect();
    s.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut last: BTreeMap<u64, &Sample> = BTreeMap::new();
    let mut total = 0.0;
    let mut prev: Option<f64> = None;
    for x in s {
        if let Some(p) = prev
            && x.t > from
        {
            let led = last.values().any(|y| p - y.t < 0.7 && y.quorum && y.role.as_deref() == Some("leader"));
            if !led {
                total += x.t - p.max(from);
            }
        }
        last.insert(x.node, x);
        prev = Some(x.t);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Op;

    fn op(id: &str, outcome: Outcome) -> Op {
        Op {
            id: id.into(),
            done: 2.0,
            outcome,
            order_id: Some(format!("o-{id}")),
            acked_attempt: (outcome == Outcome::Acked).then_some(1.5),
            attempts: 1,
            ambiguous: 0,
            last_error: None,
        }
    }

    fn state(nodes: &[&[&str]]) -> FinalState {
        nodes
            .iter()
            .enumerate()
            .map(|(i, notes)| (i as u64 + 1, notes.iter().map(|n| (format!("o-{n}"), n.to_string())).collect()))
            .collect()
    }

    #[test]
    fn each_broken_promise_is_named() {
        let h = History {
            ops: vec![
                op("a", Outcome::Acked),
                op("b", Outcome::Acked),
                op("r", Outcome::Refused),
                op("u", Outcome::Unknown),
            ],
            ..History::default()
        };
        let ok = check(&h, &state(&[&["a", "b", "u"], &["a", "b", "u"]]), 0.0, Ok((1, "x".into())));
        assert!(ok.violations().is_empty(), "{:?}", ok.violations());
        assert_eq!((ok.acked, ok.refused, ok.unknown, ok.unknown_applied), (2, 1, 1, 1));
        assert_eq!(ok.first_ack_s, Some(2.0));

        let bad = check(&h, &state(&[&["a", "a", "r", "zz"], &["a", "b"]]), 0.0, Err(anyhow::anyhow!("differ")));
        assert_eq!(bad.lost, vec!["node 1: b (acked as o-b)".to_owned()]);
        assert_eq!(bad.applied_twice, vec!["node 1: a ×2".to_owned()]);
        assert_eq!(bad.refused_but_applied, vec!["node 1: r".to_owned()]);
        assert_eq!(bad.phantoms.len(), 1);
        assert_eq!(bad.violations().len(), 5);
    }

    #[test]
    fn time_without_a_leader_is_measured_from_the_fault() {
        let s = |t: f64, node: u64, leader: bool| Sample {
            t,
            node,
            role: Some(if leader { "leader" } else { "follower" }.into()),
            quorum: true,
        };
        // Node 1 leads until 1.0, nobody from 1.1 to 3.0, node 2 from 3.0.
        let mut samples = vec![];
        for i in 0..=50 {
            let t = f64::from(i) * 0.1;
            samples.push(s(t, 1, t < 1.05));
            samples.push(s(t + 0.01, 2, t > 2.95));
        }
        let l = leaderless(&samples, 1.0);
        assert!((l - 2.0).abs() < 0.15, "{l}");
        assert!(leaderless(&samples, 3.5) < 0.01);
    }
}
