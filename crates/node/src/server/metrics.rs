//! Prometheus metrics: Raft state read at scrape time, and counters and a latency histogram
//! for writes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;
use web::{ClusterStatus, SubmitError, Submitted};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
    kind: &'static str,
}

pub struct Metrics {
    registry: Registry,
    writes: Family<ResultLabel, Counter>,
    write_seconds: Histogram,
    term: Gauge,
    last_log: Gauge,
    applied: Gauge,
    leader: Gauge,
    quorum: Gauge,
    voters: Gauge,
    outbox_waiting: Gauge,
    outbox_oldest_seconds: Gauge,
    outbox_needs_person: Gauge,
    crl_age_seconds: Gauge,
    crl_refresh_failing: Gauge,
    sms_route_up: Family<RouteLabel, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("beredd");
        let writes = Family::<ResultLabel, Counter>::default();
        let buckets = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
        let write_seconds = Histogram::new(buckets);
        let (term, last_log, applied, leader, quorum, voters) = (
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
            Gauge::default(),
        );
        registry.register(
            "writes",
            "Client writes by result (applied, rejected, no_leader, timeout, error)",
            writes.clone(),
        );
        registry.register(
            "write_seconds",
            "Time from receiving a write to having applied it on this node",
            write_seconds.clone(),
        );
        registry.register("raft_term", "Current Raft term", term.clone());
        registry.register("raft_last_log_index", "Index of the last log entry", last_log.clone());
        registry.register("raft_last_applied_index", "Index of the last applied entry", applied.clone());
        registry.register("raft_is_leader", "1 when this node is the leader", leader.clone());
        registry.register("raft_quorum", "1 when this node is in contact with a quorum", quorum.clone());
        registry.register("raft_voters", "Number of voters in the membership", voters.clone());
        let (outbox_waiting, outbox_oldest_seconds, outbox_needs_person) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("outbox_waiting", "Commands in this node's outbox not yet sent", outbox_waiting.clone());
        registry.register(
            "outbox_oldest_seconds",
            "Age of the oldest command waiting in this node's outbox (0 when none)",
            outbox_oldest_seconds.clone(),
        );
        registry.register(
            "outbox_needs_person",
            "Outbox items refused or in conflict, waiting for a person's decision",
            outbox_needs_person.clone(),
        );
        let (crl_age_seconds, crl_refresh_failing) = (Gauge::default(), Gauge::default());
        registry.register(
            "client_crl_age_seconds",
            "Age of the smart-card revocation lists in force (-1 when none was ever loaded)",
            crl_age_seconds.clone(),
        );
        registry.register(
            "client_crl_refresh_failing",
            "1 when the last refresh of the revocation lists failed (the last good ones stay in force)",
            crl_refresh_failing.clone(),
        );
        let sms_route_up = Family::<RouteLabel, Gauge>::default();
        registry.register(
            "sms_route_up",
            "1 when this node reached the SMS route at its last probe or send, 0 when not, -1 before the first",
            sms_route_up.clone(),
        );
        Self {
            sms_route_up,
            registry,
            crl_age_seconds,
            crl_refresh_failing,
            writes,
            write_seconds,
            term,
            last_log,
            applied,
            leader,
            quorum,
            voters,
            outbox_waiting,
            outbox_oldest_seconds,
            outbox_needs_person,
        }
    }

    /// Outbox length, age of the oldest waiting item, and items waiting for a person.
    pub fn set_outbox(&self, items: &[web::Queued], now: time::OffsetDateTime) {
        let waiting: Vec<&web::Queued> = items.iter().filter(|q| q.fate == web::Fate::Queued).collect();
        let oldest = waiting.iter().map(|q| (now - q.queued_at).whole_seconds()).max().unwrap_or(0);
        let person = items.iter().filter(|q| matches!(q.fate, web::Fate::Refused { .. } | web::Fate::Conflict { .. }));
        self.outbox_waiting.set(i64::try_from(waiting.len()).unwrap_or(i64::MAX));
        self.outbox_oldest_seconds.set(oldest.max(0));
        self.outbox_needs_person.set(i64::try_from(person.count()).unwrap_or(i64::MAX));
    }

    /// The revocation lists' age and whether refreshing them fails.
    pub fn set_crl(&self, st: &crate::server::crl::CrlStatus, now: time::OffsetDateTime) {
        self.crl_age_seconds.set(st.loaded_at.map_or(-1, |t| (now - t).whole_seconds()));
        self.crl_refresh_failing.set(i64::from(st.failing.is_some()));
    }

    /// Whether each SMS route was reachable when last tried.
    pub fn set_sms(&self, routes: &[crate::server::sms::RouteStatus]) {
        for r in routes {
            let up = r.health.up.map_or(-1, i64::from);
            self.sms_route_up.get_or_create(&RouteLabel { route: r.name.clone(), kind: r.kind }).set(up);
        }
    }

    pub fn observe_write(&self, res: &Result<Submitted, SubmitError>, took: Duration) {
        let result = match res {
            Ok(Submitted { verdict: domain::Verdict::Rejected { .. }, .. }) => "rejected",
            Ok(_) => "applied",
            Err(SubmitError::NoLeader(_)) => "no_leader",
            Err(SubmitError::Timeout(_)) => "timeout",
            Err(SubmitError::Internal(_)) => "error",
        };
        self.writes.get_or_create(&ResultLabel { result }).inc();
        if res.is_ok() {
            self.write_seconds.observe(took.as_secs_f64());
        }
    }

    pub fn render(&self, s: &ClusterStatus) -> String {
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        self.term.set(n(s.term));
        self.last_log.set(n(s.last_log_index));
        self.applied.set(n(s.last_applied_index));
        self.leader.set(i64::from(s.role == "leader"));
        self.quorum.set(i64::from(s.quorum));
        self.voters.set(n(s.voters.len() as u64));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!("encoding metrics: {e}");
        }
        out
    }
}
