//! Who is at the other end: the client's address, taken from the connection or, behind
//! a trusted reverse proxy, from the proxy's `X-Forwarded-For` or `Forwarded` header.
//!
//! The throttle of failed logins counts per client address. Behind a proxy every
//! request comes from the proxy's address, so one guesser would lock out every user;
//! with `--trust-proxy`, the address the proxy saw is used instead. Only the peers
//! named by `--trust-proxy` are believed: anyone else could write any address into
//! those headers.

use std::net::{IpAddr, SocketAddr};

/// The connection's peer address, put into every request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// An address or a network (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| {
            format!("'{s}' is not an IP address or network (e.g. 10.0.0.1 or 10.0.0.0/8)")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix length must be 0 to {max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:10.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which
/// case the nearest address in the forwarding chain that is not itself a trusted
/// proxy (`Forwarded` first, then `X-Forwarded-For`). A chain that cannot be read
/// leaves the peer's address.
pub fn client_address(
    peer: Option<IpAddr>,
    trusted: &[IpNet],
    forwarded: Option<&str>,
    x_forwarded_for: Option<&str>,
) -> Option<IpAddr> {
    let peer = canonical(peer?);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let chain: Option<Vec<IpAddr>> = forwarded
        .map(forwarded_for)
        .or_else(|| x_forwarded_for.map(|h| readable_tail(h.split(',').map(parse_node))));
    let Some(chain) = chain else {
        return Some(peer);
    };
    // From the nearest hop back: the first address a trusted proxy did not add itself.
    let mut client = peer;
    for ip in chain.iter().rev() {
        client = canonical(*ip);
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// The `for=` addresses of a `Forwarded` header (RFC 7239), in order. An element
/// without a readable `for=` (`unknown`, an obfuscated name) ends the chain there.
fn forwarded_for(h: &str) -> Vec<IpAddr> {
    readable_tail(h.split(',').map(|element| {
        element
            .split(';')
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
            })
            .and_then(parse_node)
    }))
}

/// The addresses after the last entry that cannot be read (an entry no proxy of ours
/// wrote, so nothing before it can be believed either).
fn readable_tail(nodes: impl Iterator<Item = Option<IpAddr>>) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for n in nodes {
        match n {
            Some(ip) => out.push(ip),
            None => out.clear(),
        }
    }
    out
}

fn parse_node(n: &str) -> Option<IpAddr> {
    let n = n.trim().trim_matches('"');
    if let Ok(ip) = n.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = n.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    // `[2001:db8::1]` without a port.
    n.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let got = client_address(
            Some(ip("203.0.113.9")),
            &nets(&["10.0.0.1"]),
            None,
            Some("198.51.100.1"),
        );
        assert_eq!(got, Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_in_x_forwarded_for() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_address(
            Some(ip("10.0.0.1")),
            &trusted,
            None,
            Some("198.51.100.7, 10.1.2.3"),
        );
        // 10.1.2.3 is a trusted hop too; the client is the address before it.
        assert_eq!(got, Some(ip("198.51.100.7")));
        // A client that forges a leading entry does not get past the proxy's own.
        let forged = client_address(
            Some(ip("10.0.0.1")),
            &trusted,
            None,
            Some("1.2.3.4, 198.51.100.7"),
        );
        assert_eq!(forged, Some(ip("198.51.100.7")));
    }

    #[test]
    fn forwarded_is_read_with_quotes_ports_and_ipv6() {
        let trusted = nets(&["127.0.0.1"]);
        let got = client_address(
            Some(ip("127.0.0.1")),
            &trusted,
            Some(r#"for="[2001:db8::7]:4711";proto=https, for=127.0.0.1"#),
            Some("9.9.9.9"),
        );
        assert_eq!(got, Some(ip("2001:db8::7")));
    }

    #[test]
    fn a_trusted_proxy_without_a_chain_is_the_client() {
        let got = client_address(
            Some(ip("::ffff:10.0.0.1")),
            &nets(&["10.0.0.1"]),
            None,
            None,
        );
        assert_eq!(got, Some(ip("10.0.0.1")));
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(n.contains(ip("192.168.4.5")));
        assert!(!n.contains(ip("192.169.0.1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy.local".parse::<IpNet>().is_err());
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
    }
}
