//! openraft's `RaftNetwork` over tonic: one reused channel per peer address, per-call
//! deadlines, openraft's back-off when a peer is unreachable, and whole snapshots streamed in
//! 1 MiB chunks under a generous deadline.

use crate::proto::pb::raft::raft_service_client::RaftServiceClient;
use crate::proto::pb::raft::{Payload, SnapshotChunk, snapshot_chunk::Part};
use crate::proto::{dec, enc};
use futures::StreamExt;
use openraft::error::{
    Fatal, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::{OptionalSend, Snapshot, StorageIOError, Vote};
use raft_store::{NodeAddr, NodeId, TypeConfig};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tonic::transport::{Channel, Endpoint};

const CHUNK: usize = 1 << 20;

/// Channels to peers, shared by Raft replication, forwarded writes and the CLI.
#[derive(Clone)]
pub struct Network {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    snapshot_timeout: Duration,
    /// The longest one append or vote call may take (`[raft] rpc_timeout_ms`), whatever
    /// openraft allows.
    rpc_timeout: Duration,
    /// Mutual TLS towards peers, when configured.
    tls: Option<tonic::transport::ClientTlsConfig>,
    /// Set during a drill's network cut: nothing goes out.
    pub isolation: Arc<super::isolation::Isolation>,
    /// When each peer last answered a Raft call or a status probe (for `/ops`).
    heard: Arc<Mutex<HashMap<NodeId, Instant>>>,
    /// Told when a peer refuses this node as retired (see `retired.rs`).
    stop: Arc<tokio::sync::watch::Sender<Option<super::Stop>>>,
}

impl Network {
    pub fn new(
        snapshot_timeout: Duration,
        rpc_timeout: Duration,
        tls: Option<tonic::transport::ClientTlsConfig>,
        stop: Arc<tokio::sync::watch::Sender<Option<super::Stop>>>,
    ) -> Self {
        Self {
            channels: Arc::default(),
            snapshot_timeout,
            rpc_timeout,
            tls,
            isolation: Arc::default(),
            heard: Arc::default(),
            stop,
        }
    }

    /// Notes that `peer` answered just now.
    pub fn heard_from(&self, peer: NodeId) {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).insert(peer, Instant::now());
    }

    /// Milliseconds since `peer` last answered; `None` if it never did since this node started.
    pub fn millis_since_heard(&self, peer: NodeId) -> Option<u64> {
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        heard.get(&peer).map(|t| t.elapsed().as_millis() as u64)
    }

    /// A lazily connecting channel to `addr` (`host:port`), made once and reused.
    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(addr) {
            return Ok(c.clone());
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut e = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
        if let Some(tls) = &self.tls {
            e = e.tls_config(tls.clone())?;
        }
        let c = e
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .connect_lazy();
        map.insert(addr.to_owned(), c.clone());
        Ok(c)
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &NodeAddr) -> Peer {
        Peer { target, addr: node.grpc.clone(), net: self.clone() }
    }
}

pub struct Peer {
    target: NodeId,
    addr: String,
    net: Network,
}

type RpcErr<E = RaftError<NodeId>> = RPCError<NodeId, NodeAddr, E>;

fn transport_err<E: std::error::Error>(s: &tonic::Status) -> RpcErr<E> {
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            RPCError::Unreachable(Unreachable::new(s))
        }
        _ => RPCError::Network(NetworkError::new(s)),
    }
}

impl Peer {
    fn client(&self) -> Result<RaftServiceClient<Channel>, Unreachable> {
        if self.net.isolation.active() {
            return Err(Unreachable::new(&super::isolation::Isolation::refused()));
        }
        let ch = self.net.channel(&self.addr).map_err(|e| Unreachable::new(&e))?;
        Ok(RaftServiceClient::new(ch).max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20))
    }

    /// A failed call's error for openraft; a refusal as retired also stops this node.
    fn failed<E: std::error::Error>(&self, s: &tonic::Status) -> RpcErr<E> {
        super::retired::heard(s, &self.net.stop);
        transport_err(s)
    }

    fn request<T: serde::Serialize>(rpc: &T, timeout: Duration) -> tonic::Request<Payload> {
        let mut req = tonic::Request::new(Payload { data: enc(rpc) });
        req.set_timeout(timeout);
        req
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        let mut c = self.client()?;
        let reply = c
            .append_entries(Self::request(&rpc, option.hard_ttl().min(self.net.rpc_timeout)))
            .await
            .map_err(|s| self.failed(&s))?;
        self.net.heard_from(self.target);
        let res: Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>> =
            dec(&reply.into_inner().data).map_err(|s| RPCError::Network(NetworkError::new(&s)))?;
        res.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(&mut self, rpc: VoteRequest<NodeId>, option: RPCOption) -> Result<VoteResponse<NodeId>, RpcErr> {
        let mut c = self.client()?;
        let reply = c
            .vote(Self::request(&rpc, option.hard_ttl().min(self.net.rpc_timeout)))
            .await
            .map_err(|s| self.failed(&s))?;
        let res: Result<VoteResponse<NodeId>, RaftError<NodeId>> =
            dec(&reply.into_inner().data).map_err(|s| RPCError::Network(NetworkError::new(&s)))?;
        res.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let mut c = self.client()?;
        // Open now: the file stays readable even if a newer snapshot replaces it meanwhile.
        let file = tokio::fs::File::open(&snapshot.snapshot.path)
            .await
            .map_err(|e| StreamingError::StorageError(StorageIOError::read_snapshot(None, &e).into()))?;
        let header = SnapshotChunk { part: Some(Part::Header(enc(&(vote, snapshot.meta.clone())))) };
        let chunks = futures::stream::unfold(Some(file), |state| async move {
            let mut f = state?;
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf).await {
                Ok(0) | Err(_) => None, // A short stream fails the receiver's checksum.
                Ok(n) => {
                    buf.truncate(n);
                    Some((SnapshotChunk { part: Some(Part::Chunk(buf)) }, Some(f)))
                }
            }
        });
        let mut req = tonic::Request::new(futures::stream::iter([header]).chain(chunks));
        req.set_timeout(self.net.snapshot_timeout);
        let reply = tokio::select! {
            r = c.install_snapshot(req) => r,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        if let Err(s) = &reply {
            super::retired::heard(s, &self.net.stop);
        }
        let reply = reply.map_err(|s| match s.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                StreamingError::Unreachable(Unreachable::new(&s))
            }
            _ => StreamingError::Network(NetworkError::new(&s)),
        })?;
        let res: Result<SnapshotResponse<NodeId>, Fatal<NodeId>> =
            dec(&reply.into_inner().data).map_err(|s| StreamingError::Network(NetworkError::new(&s)))?;
        res.map_err(|e| StreamingError::RemoteError(RemoteError::new(self.target, e)))
    }
}
