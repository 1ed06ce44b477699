//! `beredd cluster …`: talks to a running node over gRPC. Membership changes go to the leader;
//! if the given node is not the leader, the command follows it there.

use crate::cli::ClusterCmd;
use crate::proto::pb::cluster::cluster_service_client::ClusterServiceClient;
use crate::proto::pb::cluster::{AddLearnerRequest, NodeRequest, StatusRequest};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

pub async fn connect(addr: &str) -> Result<ClusterServiceClient<Channel>> {
    let tls = crate::certs::CLI_TLS.get().cloned().flatten();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut e = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
    if let Some(t) = tls {
        e = e.tls_config(t)?;
    }
    let ch = e
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(120))
        .connect()
        .await
        .with_context(|| format!("connecting to node at {addr}"))?;
    Ok(ClusterServiceClient::new(ch))
}

pub(crate) async fn status(addr: &str) -> Result<Value> {
    let reply = connect(addr).await?.status(StatusRequest {}).await.map_err(|s| anyhow!("{}", s.message()))?;
    Ok(serde_json::from_slice(&reply.into_inner().json)?)
}

/// The gRPC address of the leader, as the node at `addr` knows it.
pub async fn leader_addr(addr: &str) -> Result<String> {
    let s = status(addr).await?;
    let leader = s["leader_id"]
        .as_u64()
        .ok_or_else(|| anyhow!("node at {addr} knows no leader right now; try again shortly"))?;
    s["nodes"][leader.to_string()]["grpc"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no address known for leader {leader}"))
}

pub async fn run(addr: &str, cmd: ClusterCmd) -> Result<()> {
    let reply = match cmd {
        ClusterCmd::Status => {
            print_status(&status(addr).await?);
            return Ok(());
        }
        ClusterCmd::AddLearner { id, http, grpc } => {
            let mut c = connect(&leader_addr(addr).await?).await?;
            c.add_learner(AddLearnerRequest { node_id: id, http, grpc }).await
        }
        ClusterCmd::Promote { id } => {
            connect(&leader_addr(addr).await?).await?.promote(NodeRequest { node_id: id }).await
        }
        ClusterCmd::Remove { id } => {
            connect(&leader_addr(addr).await?).await?.remove(NodeRequest { node_id: id }).await
        }
        ClusterCmd::TransferLeader { to } => {
            connect(&leader_addr(addr).await?).await?.transfer_leader(NodeRequest { node_id: to }).await
        }
    };
    match reply {
        Ok(r) => {
            print_status(&serde_json::from_slice(&r.into_inner().json)?);
            Ok(())
        }
        Err(s) => bail!("{}", s.message()),
    }
}

fn print_status(s: &Value) {
    println!(
        "node {}  role {}  leader {}  term {}  last log {}  applied {}  quorum {}",
        s["node_id"],
        s["role"].as_str().unwrap_or("?"),
        s["leader_id"],
        s["term"],
        s["last_log_index"],
        s["last_applied_index"],
        s["quorum"]
    );
    println!("voters {}  learners {}", s["voters"], s["learners"]);
    if let Some(nodes) = s["nodes"].as_object() {
        for (id, n) in nodes {
            let lag = s["lag"].get(id).map(|l| format!("  lag {l}")).unwrap_or_default();
            println!("  node {id}: {}  {}{lag}", n["http"].as_str().unwrap_or(""), n["grpc"].as_str().unwrap_or(""));
        }
    }
}
