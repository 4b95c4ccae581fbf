//! Running behind reverse proxies: which peers are trusted to say, through `Forwarded` or
//! `X-Forwarded-Host` / `-Proto` / `-Prefix`, what URL the client really used.
//!
//! Off by default: a header any client can send must not move the Host check or the URLs the
//! server emits, unless the request came from a proxy the host app named.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use http::request::Parts;

/// The address of the peer the request came from. Adapters insert it into the request's
/// extensions; [`TrustedProxies`] needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The peers whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
    any: bool,
}

/// An entry of [`TrustedProxies::new`] that is neither an IP address nor a CIDR network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProxy(pub String);

impl fmt::Display for InvalidProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an IP address or a CIDR network", self.0)
    }
}

impl std::error::Error for InvalidProxy {}

impl TrustedProxies {
    /// Trusts peers at these addresses or in these networks (`"10.0.0.7"`, `"10.0.0.0/8"`,
    /// `"::1"`, `"fd00::/8"`).
    ///
    /// # Errors
    ///
    /// An entry that is not an address or a network.
    pub fn new<I, S>(entries: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut networks = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let invalid = || InvalidProxy(entry.to_owned());
            let (ip, bits) = match entry.split_once('/') {
                Some((ip, bits)) => {
                    let ip: IpAddr = ip.parse().map_err(|_| invalid())?;
                    let bits: u8 = bits.parse().map_err(|_| invalid())?;
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    if bits > max {
                        return Err(invalid());
                    }
                    (ip, bits)
                }
                None => {
                    let ip: IpAddr = entry.parse().map_err(|_| invalid())?;
                    (ip, if ip.is_ipv4() { 32 } else { 128 })
                }
            };
            networks.push((ip, bits));
        }
        Ok(Self {
            networks,
            any: false,
        })
    }

    /// Trusts every peer: only for servers that nothing but your own proxy can reach.
    pub fn any() -> Self {
        Self {
            networks: Vec::new(),
            any: true,
        }
    }

    /// Whether a request from `peer` may speak for the client.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.any
            || self
                .networks
                .iter()
                .any(|(net, bits)| in_network(peer, *net, *bits))
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match (ip, net) {
        (IpAddr::V6(v6), IpAddr::V4(_)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        _ => ip,
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// The URL the client used, as far as the server can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct External<'a> {
    /// `http` or `https`.
    pub(crate) scheme: Cow<'a, str>,
    /// `host[:port]`.
    pub(crate) authority: Cow<'a, str>,
    /// Path prefix a proxy stripped before forwarding (`X-Forwarded-Prefix`), without a
    /// trailing slash; empty when none.
    pub(crate) forwarded_prefix: Cow<'a, str>,
}

impl External<'_> {
    /// The external URL of `path` (a path as the server sees it, e.g. the mount prefix).
    #[cfg(any(feature = "oauth", feature = "rest-view"))]
    pub(crate) fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{}{}",
            self.scheme, self.authority, self.forwarded_prefix, path
        )
    }

    /// `scheme://host[:port]`.
    #[cfg(feature = "oauth")]
    pub(crate) fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The external form of a server path (the forwarded prefix prepended).
    #[cfg(any(feature = "oauth", feature = "http-sse"))]
    pub(crate) fn path(&self, path: &str) -> String {
        format!("{}{}", self.forwarded_prefix, path)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').next().unwrap_or(v).trim())
        .filter(|v| !v.is_empty())
}

/// The first element's `name=value` of an RFC 7239 `Forwarded` header.
fn forwarded_param<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    element_param(header(headers, "forwarded")?, name)
}

/// The value of `name` in one element (`for=…;proto=…`) of a `Forwarded` header, unquoted.
fn element_param<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    })
}

/// Where the request came from, believing forwarding headers only from a trusted peer.
pub(crate) fn external<'a>(parts: &'a Parts, trusted: Option<&TrustedProxies>) -> External<'a> {
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let mut external = External {
        scheme: Cow::Borrowed(parts.uri.scheme_str().unwrap_or("http")),
        authority: Cow::Borrowed(host),
        forwarded_prefix: Cow::Borrowed(""),
    };
    let peer_trusted = trusted.is_some_and(|trusted| {
        parts
            .extensions
            .get::<PeerAddr>()
            .is_some_and(|peer| trusted.trusts(peer.0.ip()))
    });
    if !peer_trusted {
        return external;
    }
    let headers = &parts.headers;
    if let Some(host) =
        forwarded_param(headers, "host").or_else(|| header(headers, "x-forwarded-host"))
    {
        external.authority = Cow::Borrowed(host);
    }
    if let Some(proto) =
        forwarded_param(headers, "proto").or_else(|| header(headers, "x-forwarded-proto"))
    {
        if proto.eq_ignore_ascii_case("https") || proto.eq_ignore_ascii_case("http") {
            external.scheme = Cow::Owned(proto.to_ascii_lowercase());
        }
    }
    if let Some(prefix) = header(headers, "x-forwarded-prefix") {
        let prefix = prefix.trim_end_matches('/');
        if prefix.starts_with('/') && !prefix.contains(['?', '#', ' ']) {
            external.forwarded_prefix = Cow::Borrowed(prefix);
        }
    }
    external
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `Forwarded: for=` (or `X-Forwarded-For`) that is not itself a trusted proxy
/// (read from the right: every proxy appends, and only trusted ones are believed). `None`
/// when the adapter gave no peer address.
pub(crate) fn client_ip(parts: &Parts, trusted: Option<&TrustedProxies>) -> Option<IpAddr> {
    let peer = parts.extensions.get::<PeerAddr>()?.0.ip();
    let Some(trusted) = trusted.filter(|t| t.trusts(peer)) else {
        return Some(peer);
    };
    let mut chain: Vec<IpAddr> = Vec::new();
    let forwarded = parts.headers.get_all("forwarded");
    if forwarded.iter().next().is_some() {
        for value in forwarded.iter().filter_map(|v| v.to_str().ok()) {
            let elements = value.split(',');
            chain.extend(elements.filter_map(|e| element_param(e, "for").and_then(forwarded_node)));
        }
    } else {
        for value in parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            chain.extend(value.split(',').filter_map(forwarded_node));
        }
    }
    let mut client = peer;
    for ip in chain.into_iter().rev() {
        client = ip;
        if !trusted.trusts(ip) {
            break;
        }
    }
    Some(client)
}

/// An address of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"`, `[::1]`;
/// obfuscated names (`_hidden`, `unknown`) are none.
fn forwarded_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.parse()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_believed_only_from_trusted_proxies() {
        let trusted = TrustedProxies::new(["10.0.0.0/8"]).ok();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        // From an untrusted peer, the headers say nothing.
        let p = parts(&[("x-forwarded-for", "9.9.9.9")], Some("1.2.3.4:5"));
        assert_eq!(client_ip(&p, trusted.as_ref()), ip("1.2.3.4"));
        // Through two trusted proxies: the first untrusted address from the right.
        let p = parts(
            &[("x-forwarded-for", "6.6.6.6, 7.7.7.7, 10.0.0.2")],
            Some("10.0.0.1:5"),
        );
        assert_eq!(client_ip(&p, trusted.as_ref()), ip("7.7.7.7"));
        let p = parts(
            &[(
                "forwarded",
                "for=\"[2001:db8::1]:443\";proto=https, for=10.0.0.3",
            )],
            Some("10.0.0.1:5"),
        );
        assert_eq!(client_ip(&p, trusted.as_ref()), ip("2001:db8::1"));
        // Obfuscated and garbage entries are skipped; with nothing usable, the peer.
        let p = parts(&[("x-forwarded-for", "unknown, _x, ")], Some("10.0.0.1:5"));
        assert_eq!(client_ip(&p, trusted.as_ref()), ip("10.0.0.1"));
        assert_eq!(client_ip(&parts(&[], None), trusted.as_ref()), None);
    }

    fn parts(headers: &[(&'static str, &'static str)], peer: Option<&str>) -> Parts {
        let mut builder = http::Request::builder().uri("/mcp");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder.body(()).unwrap_or_default();
        if let Some(peer) = peer {
            request.extensions_mut().insert(PeerAddr(
                peer.parse()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0))),
            ));
        }
        request.into_parts().0
    }

    #[test]
    fn networks() {
        let trusted =
            TrustedProxies::new(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]).unwrap_or_default();
        assert!(trusted.trusts("10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(trusted.trusts("192.168.1.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!trusted.trusts("192.168.1.8".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(
            trusted.trusts(
                "::ffff:10.0.0.1"
                    .parse()
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
            )
        );
        assert!(trusted.trusts("fd12::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(TrustedProxies::new(["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::new(["proxy.local"]).is_err());
    }

    #[cfg(any(feature = "oauth", feature = "rest-view"))]
    #[test]
    fn only_trusted_peers_move_the_url() {
        let trusted = TrustedProxies::new(["127.0.0.1"]).unwrap_or_default();
        let headers = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "mcp.example.com"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-prefix", "/edge/"),
        ];
        let from_proxy = parts(&headers, Some("127.0.0.1:5000"));
        let external = external(&from_proxy, Some(&trusted));
        assert_eq!(external.url("/mcp"), "https://mcp.example.com/edge/mcp");
        let from_elsewhere = parts(&headers, Some("203.0.113.9:5000"));
        assert_eq!(
            super::external(&from_elsewhere, Some(&trusted)).url("/mcp"),
            "http://127.0.0.1:8080/mcp"
        );
        assert_eq!(
            super::external(&from_proxy, None).url("/mcp"),
            "http://127.0.0.1:8080/mcp"
        );
        let rfc7239 = parts(
            &[
                ("host", "10.0.0.2"),
                (
                    "forwarded",
                    "for=1.2.3.4;host=\"api.example.com\";proto=https, for=5.6.7.8",
                ),
            ],
            Some("127.0.0.1:1"),
        );
        assert_eq!(
            super::external(&rfc7239, Some(&trusted)).url("/mcp"),
            "https://api.example.com/mcp"
        );
    }
}
