//! Which addresses a webhook receiver may be at.
//!
//! A receiver is whatever URL an admin registers, and zhibiao then posts to it from
//! inside the network it runs in. Left open, that lets a webhook reach what only the
//! host itself should reach: a database admin page on loopback, a cloud metadata
//! service on 169.254.169.254, or zhibiao's own API in a loop. So a receiver at a
//! loopback, link-local, unspecified, multicast or broadcast address, or at an address
//! of the host zhibiao listens on, is refused unless `serve --allow-internal-webhooks`
//! is given (a receiver on the same machine, as in tests and small setups).
//!
//! Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: a county's
//! intranet gateway to 企业微信 or 钉钉 lives there, and it is a different machine.
//!
//! The check runs twice. At registration the URL's host is looked up, so that an
//! admin hears at once that `http://localhost:9000/` will never be delivered to. At
//! delivery the client's own resolver ([`Filtering`]) drops refused addresses from
//! every lookup before a connection is made, so that a name that resolved to a public
//! address at registration and to 127.0.0.1 later (DNS rebinding) still cannot reach
//! loopback. A URL with a literal IP bypasses resolvers, so [`AddressPolicy::check_url`]
//! checks those directly on every attempt.
//!
//! Behind an HTTP proxy (`HTTPS_PROXY`), the proxy connects to the receiver: delivery
//! resolves only the proxy's name, so the check at registration is the one that
//! applies to the receiver itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The flag that lets receivers at internal addresses through.
pub const FLAG: &str = "--allow-internal-webhooks";

/// Which receiver addresses are refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// `--allow-internal-webhooks`: refuse nothing.
    pub allow_internal: bool,
    /// Where the server listens, once it does: its address (or, for 0.0.0.0 and ::,
    /// every address of the host) is refused too.
    pub listening: Option<SocketAddr>,
}

/// A receiver refused for where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct InternalAddress {
    /// The URL's host as written: a name, or the literal address.
    pub host: String,
    /// The refused address.
    pub addr: IpAddr,
    /// What kind of address it is ("a loopback address").
    pub why: &'static str,
}

impl InternalAddress {
    fn sentence(&self) -> String {
        let what = if self.host == self.addr.to_string()
            || self.host.trim_matches(['[', ']']) == self.addr.to_string()
        {
            format!("the receiver's address {}", self.addr)
        } else {
            format!(
                "the receiver's host '{}' resolves to {}",
                self.host, self.addr
            )
        };
        format!(
            "{what}, {}; webhooks to loopback, link-local and zhibiao's own addresses are refused unless the server runs with {FLAG}",
            self.why
        )
    }
}

/// A name whose lookup left no address to connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the receiver's host '{0}' resolves to no address")]
pub struct NoAddress(pub String);

impl AddressPolicy {
    /// Why `ip` is refused, or `None` when a receiver may be there.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_internal {
            return None;
        }
        // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel.
        let ip = ip.to_canonical();
        if let Some(why) = special(ip) {
            return Some(why);
        }
        match self.listening {
            Some(l) if l.ip().to_canonical() == ip => Some("the address zhibiao listens on"),
            Some(l) if l.ip().is_unspecified() && is_host_address(ip) => {
                Some("an address of the host zhibiao listens on")
            }
            _ => None,
        }
    }

    /// Checks one address that `host` stands for.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), InternalAddress> {
        match self.refuses(ip) {
            None => Ok(()),
            Some(why) => Err(InternalAddress {
                host: host.to_string(),
                addr: ip.to_canonical(),
                why,
            }),
        }
    }

    /// Checks a URL whose host is a literal address; a name passes (it is checked when
    /// it is looked up).
    pub fn check_literal(&self, url: &reqwest::Url) -> Result<(), InternalAddress> {
        match literal(url) {
            Some(ip) => self.check_ip(url.host_str().unwrap_or_default(), ip),
            None => Ok(()),
        }
    }

    /// Checks a receiver's URL when it is registered: a literal address directly, a
    /// name by looking it up (within `timeout`). Any refused address among a name's
    /// addresses refuses it. A name that does not resolve now passes: it may resolve
    /// later, and delivery checks again.
    pub async fn check_url(
        &self,
        url: &reqwest::Url,
        timeout: Duration,
    ) -> Result<(), InternalAddress> {
        if self.allow_internal {
            return Ok(());
        }
        self.check_literal(url)?;
        let Some(name) = url.host_str().filter(|_| literal(url).is_none()) else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(0);
        let found = tokio::time::timeout(timeout, tokio::net::lookup_host((name, port))).await;
        if let Ok(Ok(addrs)) = found {
            for a in addrs {
                self.check_ip(name, a.ip())?;
            }
        }
        Ok(())
    }
}

/// The URL's host as an address, when it is one. The URL parser has already turned
/// the other spellings of an IPv4 address (`0x7f.1`, `2130706433`) into dotted form,
/// and writes IPv6 in brackets.
fn literal(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Loopback, link-local, unspecified, multicast and broadcast addresses: never a
/// receiver on another machine.
fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.octets()[0] == 0 {
        // 0.0.0.0/8, "this network": Linux connects 0.0.0.0 to the host itself.
        Some("an unspecified address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.segments()[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Whether `ip` is one of this host's own addresses: binding a socket to it succeeds
/// only then. A host that allows binding to any address (`ip_nonlocal_bind`) would
/// make every address look like its own; there the test is skipped.
fn is_host_address(ip: IpAddr) -> bool {
    static BINDS_ANYTHING: OnceLock<bool> = OnceLock::new();
    let binds_anything = *BINDS_ANYTHING.get_or_init(|| {
        // 192.0.2.1 is reserved for documentation: no host has it.
        UdpSocket::bind((Ipv4Addr::new(192, 0, 2, 1), 0)).is_ok()
    });
    !binds_anything && UdpSocket::bind((ip, 0)).is_ok()
}

/// The delivery client's resolver: the system's lookup, less every address the
/// policy refuses. A name left with none fails with [`InternalAddress`], so that the
/// attempt says why.
#[derive(Debug, Clone)]
pub struct Filtering {
    pub policy: AddressPolicy,
}

impl reqwest::dns::Resolve for Filtering {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut kept = Vec::new();
            let mut refused = None;
            for a in found {
                match policy.check_ip(&host, a.ip()) {
                    Ok(()) => kept.push(a),
                    Err(e) => {
                        refused.get_or_insert(e);
                    }
                }
            }
            if kept.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> = match refused {
                    Some(e) => Box::new(e),
                    None => Box::new(NoAddress(host)),
                };
                return Err(e);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Filtering {
    pub fn new(policy: AddressPolicy) -> Arc<Filtering> {
        Arc::new(Filtering { policy })
    }
}

/// The [`InternalAddress`] somewhere in an error's chain of causes.
pub fn find_refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a InternalAddress> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<InternalAddress>() {
            return Some(r);
        }
        cur = c.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_private_ranges_are_not() {
        let p = AddressPolicy::default();
        // Each refused for what it reaches: the host itself, the link (cloud metadata
        // at 169.254.169.254), nothing at all, or many hosts at once.
        for (addr, why) in [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
        ] {
            let got = p.refuses(ip(addr));
            assert!(got.is_some_and(|w| w.contains(why)), "{addr}: {got:?}");
        }
        // A county intranet's gateway, and the public robots' addresses.
        for addr in [
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.20",
            "fd00::5",
            "101.91.42.232",
            "2408:8756::1",
            "fec0::1",
        ] {
            assert_eq!(p.refuses(ip(addr)), None, "{addr}");
        }
        let open = AddressPolicy {
            allow_internal: true,
            ..AddressPolicy::default()
        };
        assert_eq!(open.refuses(ip("127.0.0.1")), None);
    }

    #[test]
    fn the_address_zhibiao_listens_on_is_refused() {
        let p = AddressPolicy {
            allow_internal: false,
            listening: Some("10.9.8.7:8080".parse().unwrap()),
        };
        assert!(p.refuses(ip("10.9.8.7")).is_some());
        assert!(p.refuses(ip("::ffff:10.9.8.7")).is_some());
        assert_eq!(p.refuses(ip("10.9.8.6")), None);
    }

    #[test]
    fn a_literal_address_in_a_url_is_checked_and_the_refusal_names_it_and_the_flag() {
        let p = AddressPolicy::default();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/x",
            "http://[::ffff:7f00:1]/x",
            // The URL parser reads these as 127.0.0.1.
            "http://0x7f.1/x",
            "http://2130706433/x",
        ] {
            let u = reqwest::Url::parse(url).unwrap();
            let e = p.check_literal(&u).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("loopback") && text.contains(FLAG),
                "{url}: {text}"
            );
        }
        let e = p
            .check_literal(&reqwest::Url::parse("http://169.254.169.254/latest").unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("169.254.169.254"), "{e}");
        assert!(p
            .check_literal(&reqwest::Url::parse("https://qyapi.weixin.qq.com/x").unwrap())
            .is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_at_registration_and_by_the_resolver() {
        let p = AddressPolicy::default();
        let u = reqwest::Url::parse("http://localhost:9/hook").unwrap();
        let e = p.check_url(&u, Duration::from_secs(10)).await.unwrap_err();
        assert!(e.to_string().contains("'localhost' resolves to"), "{e}");
        let r = Filtering::new(p);
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match reqwest::dns::Resolve::resolve(&*r, name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(find_refusal(&*err).is_some(), "{err}");
    }
}
