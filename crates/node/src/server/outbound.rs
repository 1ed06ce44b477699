//! The one outbound HTTP client: every webhook (supplier channels, status subscribers) goes
//! through [`Outbound`]. Users choose these URLs, so the client guards the network behind the
//! node (SSRF): it resolves the host itself and connects only to public addresses (or ones the
//! configuration allows by range), so a name that resolves to a private address — also one
//! that changes its answer between the check and the call (DNS rebinding) — is refused at
//! connect time; it follows no redirects; uses no proxy from the environment; and reports only
//! the status code and a short, sanitised reason, never the body of the answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::OutboundSection;

/// How long one call may take in all.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the guard allows beyond public addresses.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Plain `http` and loopback receivers (tests and demos only).
    pub test_receivers: bool,
    /// Ranges in a refused class that webhooks may reach anyway (e.g. a supplier's gateway in
    /// the region's own network).
    pub allow: Vec<(IpAddr, u8)>,
}

impl Policy {
    pub fn from_config(c: &OutboundSection) -> Result<Self, String> {
        let allow = c.allow.iter().map(|r| parse_range(r)).collect::<Result<_, _>>()?;
        Ok(Self { test_receivers: c.test_receivers, allow })
    }

    /// `Err` with the reason when a webhook may not connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        let Some(range) = domain::channels::address::refused_range(ip) else { return Ok(()) };
        if self.allow.iter().any(|(net, bits)| in_range(ip, *net, *bits)) {
            return Ok(());
        }
        if range == "loopback" && self.test_receivers {
            return Ok(());
        }
        Err(format!("{ip} is a {range} address; webhooks go only to public addresses ([outbound] allow)"))
    }
}

/// `a.b.c.d/n`, `x::/n` or a single address.
fn parse_range(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, bits) = s.split_once('/').unwrap_or((s, ""));
    let ip: IpAddr = addr.trim().parse().map_err(|_| format!("[outbound] allow: {s:?} is not an address or range"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = if bits.is_empty() {
        max
    } else {
        bits.parse().map_err(|_| format!("[outbound] allow: bad prefix in {s:?}"))?
    };
    if bits > max {
        return Err(format!("[outbound] allow: prefix of {s:?} is longer than the address"));
    }
    Ok((ip, bits))
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, len) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = len - u32::from(bits);
    shift >= len || (ip >> shift) == (net >> shift)
}

/// Resolves like ureq's own resolver, then keeps only the addresses the policy allows.
#[derive(Debug)]
struct GuardedResolver {
    policy: Arc<Policy>,
    inner: DefaultResolver,
}

impl Resolver for GuardedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let found = self.inner.resolve(uri, config, timeout)?;
        let mut kept = self.empty();
        let mut refusal = None;
        for addr in found.iter().copied() {
            match self.policy.check(addr.ip()) {
                Ok(()) => kept.push(addr),
                Err(e) => refusal = Some(e),
            }
        }
        match (kept.is_empty(), refusal) {
            (true, Some(why)) => Err(ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::PermissionDenied, why))),
            _ => Ok(kept),
        }
    }
}

/// Largest answer [`Outbound::call`] reads (discovery documents and key sets are a few KiB).
pub const MAX_ANSWER: u64 = 1 << 20;

/// Why a call failed: the URL and a short, sanitised reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutboundError(pub String);

/// The guarded client. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    agent: ureq::Agent,
    policy: Arc<Policy>,
}

/// One request to send.
pub struct Post<'a> {
    pub url: &'a str,
    pub content_type: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Outbound {
    pub fn new(policy: Policy) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build();
        let policy = Arc::new(policy);
        let resolver = GuardedResolver { policy: policy.clone(), inner: DefaultResolver::default() };
        Self { agent: ureq::Agent::with_parts(config, DefaultConnector::new(), resolver), policy }
    }

    /// The address rules this client keeps (also for probes that only open a connection).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// POSTs on a blocking thread: `Ok` with `HTTP <code>` for a 2xx answer, `Err` with the code
    /// and its reason phrase (or what stopped the call) otherwise. The answer's body is never
    /// read into the result: it is the receiver's, and may be anything.
    pub async fn post(&self, p: Post<'_>) -> Result<String, String> {
        self.check_url(p.url)?;
        let (agent, url, content_type) = (self.agent.clone(), p.url.to_owned(), p.content_type.to_owned());
        let (headers, body) = (p.headers, p.body);
        tokio::task::spawn_blocking(move || {
            let mut req = agent.post(&url).header("Content-Type", &content_type);
            for (name, value) in &headers {
                req = req.header(*name, value);
            }
            match req.send(&body[..]) {
                Ok(r) if r.status().is_success() => Ok(format!("HTTP {}", r.status().as_u16())),
                Ok(r) if r.status().is_redirection() => {
                    Err(format!("HTTP {}: redirects are not followed", r.status().as_u16()))
                }
                Ok(r) => Err(format!("HTTP {} {}", r.status().as_u16(), r.status().canonical_reason().unwrap_or(""))
                    .trim_end()
                    .to_owned()),
                Err(e) => Err(sanitise(&e.to_string())),
            }
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Sends `req` and reads the answer (at most [`MAX_ANSWER`] bytes), for calls whose answer
    /// is the point: an identity provider's discovery document, keys and tokens. Blocking: run
    /// it off the async workers. The same guard as webhooks (addresses, no redirects, no proxy);
    /// the URL is an admin's setting, so plain `http` only with `test_receivers`.
    pub fn call(&self, req: ureq::http::Request<Vec<u8>>) -> Result<ureq::http::Response<Vec<u8>>, OutboundError> {
        let url = req.uri().to_string();
        let plain = req.uri().scheme_str() != Some("https");
        if plain && !self.policy.test_receivers {
            return Err(OutboundError(format!("{url}: only https is allowed")));
        }
        let (parts, body) = req.into_parts();
        let sent = if body.is_empty() {
            self.agent.run(ureq::http::Request::from_parts(parts, ureq::SendBody::none()))
        } else {
            self.agent.run(ureq::http::Request::from_parts(parts, body))
        };
        let mut answer = sent.map_err(|e| OutboundError(format!("{url}: {}", sanitise(&e.to_string()))))?;
        let bytes = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| OutboundError(format!("{url}: {}", sanitise(&e.to_string()))))?;
        let (parts, _) = answer.into_parts();
        Ok(ureq::http::Response::from_parts(parts, bytes))
    }

    /// The save-time rule again (a channel saved by an older version may not meet it), and plain
    /// `http` only when test receivers are allowed.
    fn check_url(&self, url: &str) -> Result<(), String> {
        if let Err(p) = domain::channels::address::check_webhook_url(url) {
            return Err(format!("refused URL ({p:?})"));
        }
        // The scheme as the URL parser reads it (`HTTP://` is plain http too).
        let plain = url.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("http:"));
        if plain && !self.policy.test_receivers {
            return Err("plain http is refused ([outbound] test_receivers is for tests only)".into());
        }
        Ok(())
    }
}

/// At most 200 printable characters of an error, so nothing a receiver sends fills the log.
fn sanitise(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_guard_refuses_private_addresses_unless_allowed() {
        let p = Policy::default();
        for ip in ["10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "fd00::1", "::ffff:192.168.1.1"] {
            assert!(p.check(ip.parse().unwrap()).is_err(), "{ip}");
        }
        assert!(p.check("93.184.216.34".parse().unwrap()).is_ok());
        let p = Policy { test_receivers: true, allow: vec![parse_range("10.1.2.0/24").unwrap()] };
        assert!(p.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(p.check("10.1.2.77".parse().unwrap()).is_ok());
        assert!(p.check("10.1.3.1".parse().unwrap()).is_err());
        assert!(parse_range("10.0.0.0/33").is_err());
        assert!(parse_range("nonsense").is_err());
    }

    /// A receiver on loopback that answers every request with `answer` and counts connections.
    fn receiver(answer: &'static str) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        (port, seen)
    }

    fn post(url: &str) -> Post<'_> {
        Post { url, content_type: "application/json", headers: vec![], body: b"{}".to_vec() }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_this_machine_is_refused_at_connect_time() {
        let (port, seen) = receiver("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        // `localhost` passes the save-time rule (a name, not an address); the guard resolves it.
        let url = format!("https://localhost:{port}/hook");
        let err = Outbound::new(Policy::default()).post(post(&url)).await.unwrap_err();
        assert!(err.contains("loopback"), "{err}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0, "no connection was made");
    }

    #[tokio::test]
    async fn redirects_are_not_followed_and_no_answer_body_is_kept() {
        let (inner, inner_seen) = receiver("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret");
        let redirect: &'static str = Box::leak(
            format!("HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{inner}/admin\r\ncontent-length: 0\r\n\r\n")
                .into_boxed_str(),
        );
        let (outer, _) = receiver(redirect);
        let out = Outbound::new(Policy { test_receivers: true, allow: vec![] });
        let err = out.post(post(&format!("http://127.0.0.1:{outer}/x"))).await.unwrap_err();
        assert!(err.starts_with("HTTP 302"), "{err}");
        assert_eq!(inner_seen.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was not followed");

        let (port, _) =
            receiver("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 28\r\n\r\nroot:x:0:0:internal-secrets");
        let err = out.post(post(&format!("http://127.0.0.1:{port}/x"))).await.unwrap_err();
        assert_eq!(err, "HTTP 500 Internal Server Error");
        // Without the test setting, plain http is refused before any connection.
        let (port, seen) = receiver("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        for scheme in ["http", "HTTP", "hTtP"] {
            let url = format!("{scheme}://127.0.0.1:{port}/x");
            let err = Outbound::new(Policy::default()).post(post(&url)).await.unwrap_err();
            assert!(err.contains("plain http"), "{url}: {err}");
        }
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
