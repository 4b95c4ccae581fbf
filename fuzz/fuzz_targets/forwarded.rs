//! The `Forwarded` / `X-Forwarded-*` parser (and `TrustedProxies`): what URL the server believes
//! the client used. Forwarding headers move nothing unless a trusted peer sent them; what they
//! move stays a scheme the server speaks and a path prefix.
//!
//! Input: a peer byte, a trust byte, then `name: value` lines, `name` one of [`NAMES`] (a
//! `trust: a, b` line lists the trusted networks when the trust byte asks for a list of the
//! input's own).

#![no_main]

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mcp_mount::TrustedProxies;
use mcp_mount::fuzzing::forwarded;

/// The headers of a request that matter here.
const NAMES: &[&str] = &[
    "host",
    "forwarded",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-forwarded-for",
];

const PEERS: &[&str] = &[
    "127.0.0.1:1",
    "[::1]:1",
    "[::ffff:127.0.0.1]:1",
    "10.1.2.3:1",
    "203.0.113.9:1",
    "[fd12::1]:1",
];

fuzz_target!(|bytes: &[u8]| {
    let [peer, trust, rest @ ..] = bytes else {
        return;
    };
    let peer: Option<SocketAddr> = PEERS
        .get(usize::from(*peer) % (PEERS.len() + 1))
        .and_then(|p| p.parse().ok());
    let mut headers = HeaderMap::new();
    let mut own_list = None;
    for line in rest.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if name == b"trust" {
            own_list = Some(String::from_utf8_lossy(value).into_owned());
            continue;
        }
        // Only the headers the parser reads: any other name would only fuzz the `http` crate's
        // header-name parsing.
        let Some(name) = NAMES
            .iter()
            .find(|n| n.as_bytes().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let trusted = match trust % 5 {
        0 => None,
        1 => Some(TrustedProxies::any()),
        2 => TrustedProxies::new(["127.0.0.1", "::1"]).ok(),
        3 => TrustedProxies::new(["10.0.0.0/8", "fd00::/8"]).ok(),
        _ => match TrustedProxies::new(own_list.unwrap_or_default().split(',')) {
            Ok(list) => Some(list),
            Err(_) => return,
        },
    };
    let believed = match (&trusted, peer) {
        (Some(trusted), Some(peer)) => trusted.trusts(peer.ip()),
        _ => false,
    };
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let external = forwarded(headers, peer, trusted.as_ref());
    assert!(
        external.scheme == "http" || external.scheme == "https",
        "{external:?}"
    );
    let prefix = &external.forwarded_prefix;
    assert!(
        prefix.is_empty()
            || (prefix.starts_with('/')
                && !prefix.ends_with('/')
                && !prefix.contains(['?', '#', ' '])),
        "{external:?}"
    );
    if !believed {
        assert_eq!(external.scheme, "http", "{external:?}");
        assert_eq!(external.authority, host, "{external:?}");
        assert!(prefix.is_empty(), "{external:?}");
    }
});
