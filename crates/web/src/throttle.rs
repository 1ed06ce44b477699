//! Per-client rate limits on the routes anyone may call without logging in (the status pages
//! and feed, logins, unsubscribe links, the cluster summary), kept on this node only. A client
//! is its address — the peer's, or the `X-Forwarded-For` hop a configured trusted proxy added —
//! so one client's burst does not slow anyone else down.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::backend::Backend;
use crate::error::Error;

/// Token buckets by client address: `burst` requests at once, refilled at `per_second`.
pub(crate) struct Buckets {
    burst: f64,
    per_second: f64,
    map: Mutex<BTreeMap<IpAddr, (f64, Instant)>>,
}

/// Clients remembered at most; beyond it, those with a full bucket are forgotten first.
const MAX_CLIENTS: usize = 10_000;

impl Buckets {
    pub(crate) const fn new(burst: f64, per_second: f64) -> Self {
        Self { burst, per_second, map: Mutex::new(BTreeMap::new()) }
    }

    /// Takes one request from `client`'s bucket; `false` when it is empty.
    pub(crate) fn take(&self, client: IpAddr) -> bool {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(&client) {
            let (burst, rate) = (self.burst, self.per_second);
            map.retain(|_, (left, at)| *left + now.duration_since(*at).as_secs_f64() * rate < burst);
            if map.len() >= MAX_CLIENTS {
                map.clear();
            }
        }
        let (left, at) = map.entry(client).or_insert((self.burst, now));
        *left = (*left + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *left >= 1.0 {
            *left -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One router's limits (a node has one router; each test backend its own).
pub(crate) struct Limits {
    /// Pages, feeds and logins without an account: generous for people, not for scripts.
    public: Buckets,
    /// Links whose token is the permission (unsubscribe, a page's acknowledgement): a person
    /// clicks one now and then; a guesser is slowed to a crawl.
    unsubscribe: Buckets,
}

impl Limits {
    pub(crate) fn new() -> Self {
        Self { public: Buckets::new(120.0, 10.0), unsubscribe: Buckets::new(10.0, 0.2) }
    }

    /// Which limit a request falls under, if any (routes that need a login have none here:
    /// without one they are refused at once).
    fn limit_for(&self, path: &str) -> Option<&Buckets> {
        if token_link(path) { Some(&self.unsubscribe) } else { public(path).then_some(&self.public) }
    }
}

/// The routes whose token in the path or body is the permission.
fn token_link(path: &str) -> bool {
    path.contains("/unsubscribe")
        || path.starts_with("/p/")
        || (path.starts_with("/api/v1/pages/") && path.ends_with("/acknowledge"))
}

/// The routes anyone may call without logging in.
fn public(path: &str) -> bool {
    path == "/status"
        || path.starts_with("/status/")
        || path.starts_with("/status.")
        || path.starts_with("/api/v1/status")
        || path == "/login"
        || path.starts_with("/login/")
        || path.starts_with("/api/v1/login")
        || path == "/api/v1/cluster"
}

/// The client's address: the peer's, unless the peer is a trusted proxy — then the last
/// `X-Forwarded-For` hop that is not one (what the proxy saw), so a client cannot pick its own
/// address by sending the header itself.
pub(crate) fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|h| !trusted.contains(h)).unwrap_or(peer)
}

/// The address of the client of `req`, as [`client_ip`] reads it.
pub(crate) fn client_of(req_headers: &HeaderMap, peer: Option<SocketAddr>, b: &dyn Backend) -> IpAddr {
    client_ip(peer.map(|p| p.ip()), req_headers, b.trusted_proxies())
}

/// Middleware: answers 429 with `Retry-After` once a client has used its share.
pub(crate) async fn limit(
    State((b, limits)): State<(Arc<dyn Backend>, Arc<Limits>)>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(buckets) = limits.limit_for(req.uri().path()) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        if !buckets.take(client_of(req.headers(), peer, b.as_ref())) {
            let mut res = Error::new(
                StatusCode::TOO_MANY_REQUESTS,
                "request.throttled",
                "Too many requests from this address. Wait a little and try again.",
            )
            .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            return res;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bucket_lets_a_burst_through_and_then_refuses_only_that_client() {
        let b = Buckets::new(3.0, 0.0);
        let (one, two): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!((0..3).all(|_| b.take(one)));
        assert!(!b.take(one));
        assert!(b.take(two), "another client is not slowed down");
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 192.0.2.7".parse().unwrap());
        // From the proxy: the hop it added (the client's own header part is not believed).
        assert_eq!(client_ip(Some(proxy), &h, &[proxy]), "192.0.2.7".parse::<IpAddr>().unwrap());
        // From anyone else: the header is ignored.
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(client_ip(Some(stranger), &h, &[proxy]), stranger);
        assert_eq!(client_ip(Some(proxy), &h, &[]), proxy);
    }
}
