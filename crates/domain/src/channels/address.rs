//! Where a webhook may point: the rule checked when a supplier channel or a status subscriber
//! is saved, and (for the addresses a name resolves to) again by the node's outbound client at
//! connect time. Webhooks are the one way users make the cluster call out, so they must not
//! reach into the hospital network or the node itself (SSRF).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest webhook URL accepted.
pub const MAX_URL: usize = 2000;

/// Why a webhook URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not a URL, not `https` (or `http` to this machine), with a user name or password in it,
    /// or too long.
    BadFormat,
    /// The host is a literal address in a local, private or special range.
    PrivateAddress,
}

/// Checks a webhook URL as parsed by the WHATWG URL rules (the `url` crate: the same parse a
/// client makes, so `http://localhost@10.0.0.5/` is host `10.0.0.5` and `http://0x7f.1/` is
/// `127.0.0.1`). `https` to a public host name or address; plain `http` only to this machine's
/// loopback, for test receivers (the node's outbound client refuses it too unless its
/// configuration allows test receivers).
pub fn check_webhook_url(raw: &str) -> Result<(), UrlProblem> {
    if raw.len() > MAX_URL || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlProblem::BadFormat);
    }
    let url = url::Url::parse(raw).map_err(|_| UrlProblem::BadFormat)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::BadFormat);
    }
    let ip = match url.host() {
        None => return Err(UrlProblem::BadFormat),
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
        Some(url::Host::Domain(_)) => None,
    };
    match url.scheme() {
        "https" => match ip.and_then(refused_range) {
            Some(_) => Err(UrlProblem::PrivateAddress),
            None => Ok(()),
        },
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                _ => ip.is_some_and(|a| a.is_loopback()),
            };
            if loopback { Ok(()) } else { Err(UrlProblem::BadFormat) }
        }
        _ => Err(UrlProblem::BadFormat),
    }
}

/// The special range `ip` is in, if any: addresses a webhook may not reach unless the node's
/// configuration allows them by name. IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4)
/// counts as the IPv4 address it carries.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => v4_range(a),
        IpAddr::V6(a) => v6_range(a),
    }
}

fn v4_range(a: Ipv4Addr) -> Option<&'static str> {
    let [o0, o1, o2, _] = a.octets();
    Some(match (o0, o1, o2) {
        (0, ..) => "unspecified",
        (127, ..) => "loopback",
        (10, ..) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (169, 254, _) => "link-local",
        (192, 0, 0) => "IETF protocol assignments",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved or broadcast",
        _ => return None,
    })
}

fn v6_range(a: Ipv6Addr) -> Option<&'static str> {
    let s = a.segments();
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_range(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => return Some("unspecified"),
        [0, 0, 0, 0, 0, 0, 0, 1] => return Some("loopback"),
        // IPv4-compatible (deprecated) and NAT64: the IPv4 address in the last 32 bits.
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return v4_range(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))).or(Some("IPv4-embedded"));
        }
        // 6to4: the IPv4 address in bits 16..48.
        [0x2002, hi, lo, ..] => {
            return v4_range(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
        }
        _ => {}
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "unique-local",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x0100 if s[1..4] == [0, 0, 0] => "discard-only",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn webhooks_into_the_hospital_network_or_the_node_are_refused_when_saved() {
        let refused = [
            ("http://localhost@10.0.0.5:8080/x", UrlProblem::BadFormat),
            ("https://user:pw@example.org/x", UrlProblem::BadFormat),
            ("https://169.254.169.254/latest/meta-data", UrlProblem::PrivateAddress),
            ("http://127.0.0.1.nip.example/x", UrlProblem::BadFormat),
            ("https://10.0.0.5/x", UrlProblem::PrivateAddress),
            ("https://0x0a.0.0.5/x", UrlProblem::PrivateAddress),
            ("https://167772165/x", UrlProblem::PrivateAddress),
            ("https://012.0.0.5/x", UrlProblem::PrivateAddress),
            ("https://[::ffff:10.0.0.5]/x", UrlProblem::PrivateAddress),
            ("https://[::ffff:a9fe:a9fe]/x", UrlProblem::PrivateAddress),
            ("https://[64:ff9b::c0a8:1]/x", UrlProblem::PrivateAddress),
            ("https://[2002:c0a8:0101::1]/x", UrlProblem::PrivateAddress),
            ("https://[fd00::1]/x", UrlProblem::PrivateAddress),
            ("https://[fe80::1]/x", UrlProblem::PrivateAddress),
            ("https://[::1]/x", UrlProblem::PrivateAddress),
            ("https://127.0.0.1/x", UrlProblem::PrivateAddress),
            ("https://0.0.0.0/x", UrlProblem::PrivateAddress),
            ("https://224.0.0.1/x", UrlProblem::PrivateAddress),
            ("https://172.31.255.255/x", UrlProblem::PrivateAddress),
            ("https://100.64.0.1/x", UrlProblem::PrivateAddress),
            ("http://example.org/x", UrlProblem::BadFormat),
            ("ftp://example.org/x", UrlProblem::BadFormat),
            ("file:///etc/passwd", UrlProblem::BadFormat),
            ("gopher://127.0.0.1:6379/_x", UrlProblem::BadFormat),
            ("https://exa mple.org/x", UrlProblem::BadFormat),
            ("https://example.org/\tx", UrlProblem::BadFormat),
        ];
        for (url, problem) in refused {
            assert_eq!(check_webhook_url(url), Err(problem), "{url}");
        }
        for url in [
            "https://order.supplier.example/in",
            "https://93.184.216.34:8443/hook",
            "https://[2a00:1450:4010:c0e::64]/x",
            "https://172.32.0.1/x",
            "http://127.0.0.1:8080/receiver",
            "http://[::1]:9000/x",
            "http://localhost:9000/x",
        ] {
            assert_eq!(check_webhook_url(url), Ok(()), "{url}");
        }
    }
}
