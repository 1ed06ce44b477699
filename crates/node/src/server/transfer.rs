//! Handing leadership to another voter, which openraft 0.9 does not do by itself.
//!
//! Followers refuse to vote while their leader's lease runs (openraft's guard against disruptive
//! candidates), so the target cannot simply call an election. Instead the leader, holding the
//! membership lock, stops taking new writes (they wait or are retried at the next leader), waits
//! until the target holds every entry it has, and tells the other voters and itself not to
//! campaign. Then the target campaigns at once: with three voters the old leader's own vote
//! (its lease has run out, see step 3) makes a majority and the hand-over takes a round trip.
//! Otherwise the leader stops its heartbeats until the followers' leases run out; the target,
//! the only node that campaigns and one with the whole log, wins the next term; the old leader
//! sees that term and follows. Whatever happens, every node's election switch is turned back
//! on afterwards.
//!
//! Safety does not depend on any of this (Raft's vote rules still hold); it only decides who is
//! likely to win. If the target is slow, the attempt times out and the old leader carries on.

use crate::proto::pb::cluster::ElectRequest;
use crate::proto::pb::cluster::cluster_service_client::ClusterServiceClient;
use crate::server::Server;
use raft_store::NodeId;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Server {
    /// Whether this leader is handing over (and so takes no new writes).
    pub fn is_transferring(&self) -> bool {
        self.transferring.load(Ordering::Relaxed)
    }

    /// Makes voter `to` the leader; returns once it is (or with why not).
    pub async fn transfer_leader(&self, to: NodeId) -> Result<(), String> {
        self.transfer(to, true).await
    }

    /// Hands leadership to `to`. `staying`: this node stays up, so a voter that does not
    /// answer may be left out (the target and this node can still make a majority); a node
    /// that is stopping hands over only when every voter answers, as then the target alone
    /// might lead nobody.
    async fn transfer(&self, to: NodeId, staying: bool) -> Result<(), String> {
        let _guard = self
            .membership_lock
            .try_lock()
            .map_err(|_| "another membership change or transfer is in progress".to_owned())?;
        let m = self.raft.metrics().borrow().clone();
        if m.current_leader != Some(self.id) {
            return Err(format!("node {} is not the leader", self.id));
        }
        if to == self.id {
            return Ok(());
        }
        let voters: Vec<NodeId> = m.membership_config.membership().voter_ids().collect();
        if !voters.contains(&to) {
            return Err(format!("node {to} is not a voter; only a voter can lead"));
        }
        let others: Vec<NodeId> = voters.iter().copied().filter(|v| *v != to && *v != self.id).collect();
        let started = Instant::now();
        self.transferring.store(true, Ordering::Relaxed);
        let res = self.hand_over(to, &others, staying).await;
        // Back to normal everywhere, whatever happened.
        self.raft.runtime_config().heartbeat(true);
        self.allow_elect(true);
        for v in &others {
            if let Err(e) = self.set_elect(*v, true).await {
                tracing::warn!(node = v, "could not re-enable elections after a transfer: {e}");
            }
        }
        self.transferring.store(false, Ordering::Relaxed);
        match &res {
            Ok(()) => tracing::info!(to, took_ms = started.elapsed().as_millis() as u64, "leadership handed over"),
            Err(e) => tracing::warn!(to, "leadership transfer failed: {e}"),
        }
        res
    }

    async fn hand_over(&self, to: NodeId, others: &[NodeId], staying: bool) -> Result<(), String> {
        let election = Duration::from_millis(self.cfg.raft.election_max_ms);
        // 1. The target must hold everything this leader has (writes are paused, so this settles).
        let deadline = Instant::now() + election * 2;
        loop {
            let m = self.raft.metrics().borrow().clone();
            let last = m.last_log_index;
            let matched = m.replication.as_ref().and_then(|r| r.get(&to).cloned().flatten()).map(|l| l.index);
            if matched.is_some() && matched == last {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("node {to} did not catch up in time (has {matched:?} of {last:?})"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // 2. Only the target may campaign. While this node stays up, a voter that cannot be
        //    reached is left out: it cannot win an election either (it would need the votes of
        //    those that answer).
        for v in others {
            match self.set_elect(*v, false).await {
                Ok(()) => {}
                Err(e) if staying => tracing::warn!(node = v, "not reached before a leadership handover: {e}"),
                Err(e) => return Err(format!("node {v}: {e}")),
            }
        }
        self.allow_elect(false);
        let target = self.grpc_of(to).ok_or_else(|| format!("no address for node {to}"))?;
        // 3. The quick way: openraft's lease guard counts from when a node last heard from its
        //    leader, and a leader never hears from itself, so once it has led for a lease this
        //    node grants the target's vote at once (and steps down). With the target's own vote
        //    that is a majority when there are at most three voters.
        if others.len() <= 1 {
            if let Err(e) = self.campaign_now(to).await {
                tracing::warn!("asking node {to} to campaign: {e}");
            }
            let quick = Duration::from_millis(self.cfg.raft.heartbeat_ms * 4).max(Duration::from_millis(150));
            let mut wait = self.raft.metrics();
            let until = tokio::time::Instant::now() + quick;
            while wait.borrow().current_leader != Some(to) {
                if tokio::time::timeout_at(until, wait.changed()).await.is_err() {
                    break;
                }
            }
            if wait.borrow().current_leader == Some(to) {
                return Ok(());
            }
        }
        // 4. Otherwise this node stops its heartbeats and the followers' leases run out
        //    (openraft 0.9 has no TimeoutNow to skip them); then the target campaigns at once
        //    instead of after its own timeout, and wins. Give up at once if the target stops
        //    answering (it is stopping too, as when a whole cluster is shut down).
        self.raft.runtime_config().heartbeat(false);
        let quiet = Instant::now();
        tokio::time::sleep((quiet + election + Duration::from_millis(20)).saturating_duration_since(Instant::now()))
            .await;
        if let Err(e) = self.campaign_now(to).await {
            // Not fatal: the target still campaigns on its own timer.
            tracing::warn!("asking node {to} to campaign: {e}");
        }
        let mut wait = self.raft.metrics();
        let deadline = tokio::time::Instant::now() + election * 4;
        let mut probe = tokio::time::interval(Duration::from_millis(200));
        loop {
            let leader = wait.borrow().current_leader;
            if leader == Some(to) {
                return Ok(());
            }
            if leader.is_some() && leader != Some(self.id) {
                return Err(format!("node {} won the election instead of node {to}", leader.unwrap_or_default()));
            }
            tokio::select! {
                changed = tokio::time::timeout_at(deadline, wait.changed()) => {
                    if changed.is_err() {
                        return Err(format!("node {to} did not take over in time"));
                    }
                }
                _ = probe.tick() => {
                    if self.peer_status(&target, Duration::from_millis(300)).await.is_err() {
                        return Err(format!("node {to} stopped answering"));
                    }
                }
            }
        }
    }

    async fn set_elect(&self, node: NodeId, enable: bool) -> Result<(), String> {
        self.elect_request(node, ElectRequest { enable, now: false }).await
    }

    /// Asks `node` to campaign now (the hand-over's last step).
    async fn campaign_now(&self, node: NodeId) -> Result<(), String> {
        self.elect_request(node, ElectRequest { enable: true, now: true }).await
    }

    async fn elect_request(&self, node: NodeId, request: ElectRequest) -> Result<(), String> {
        let addr = self.grpc_of(node).ok_or_else(|| format!("no address for node {node}"))?;
        let ch = self.net.channel(&addr).map_err(|e| e.to_string())?;
        let mut req = tonic::Request::new(request);
        req.set_timeout(Duration::from_secs(2));
        ClusterServiceClient::new(ch).set_elect(req).await.map_err(|s| s.message().to_owned())?;
        Ok(())
    }

    /// Stops the node: hands leadership over if it can ([`Self::step_down`]), then shuts
    /// openraft down.
    pub async fn stop(&self) {
        self.step_down().await;
        self.raft.shutdown().await.ok();
    }

    /// On SIGTERM: if this node leads and another voter is up to date, hand over first, so
    /// that a planned restart costs no election timeout.
    async fn step_down(&self) {
        let m = self.raft.metrics().borrow().clone();
        if m.current_leader != Some(self.id) {
            return;
        }
        let best = m.replication.as_ref().and_then(|r| {
            let voters: Vec<NodeId> = m.membership_config.membership().voter_ids().collect();
            r.iter()
                .filter(|(id, _)| **id != self.id && voters.contains(id))
                .max_by_key(|(_, l)| l.map(|l| l.index))
                .map(|(id, _)| *id)
        });
        if let Some(to) = best {
            tracing::info!(to, "stopping: handing leadership over first");
            if let Err(e) = self.transfer(to, false).await {
                tracing::warn!("stopping without handing over: {e}");
            }
        }
    }
}
