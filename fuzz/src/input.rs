//! One fuzzed HTTP request for `handle`, read from the fuzzer's bytes with the `arbitrary`
//! crate's [`Unstructured`], in a byte layout simple enough that the seed generator writes it
//! back ([`Input::encode`]) and a mutation of one byte changes one thing:
//!
//! ```text
//! server  method  peer  path [len bytes]  headers (name kind [len bytes])*  body…
//! ```
//!
//! - `server`: which of [`harness::SERVERS`](crate::harness::SERVERS) answers (modulo);
//! - `method`: an index into [`METHODS`] (modulo);
//! - `peer`: the peer address the adapter would insert: a trusted proxy, an untrusted
//!   client, or none ([`Peer`]);
//! - `path`: an index into [`PATHS`] (modulo `PATHS.len() + 1`); the extra value means a
//!   custom suffix of `len` bytes after the mount prefix;
//! - `headers`: a count (modulo 16), then per header an index into [`HEADERS`] and a value
//!   kind: 0 a literal of `len` bytes, 1 and 2 the id of the server's first and second live
//!   session ([`Value::Session`]);
//! - the body: every byte left.
//!
//! Running out of bytes reads as zeros and empty values, so every byte string is an input.

use arbitrary::{Arbitrary, Result, Unstructured};
use http::Method;

/// The methods a request may have.
pub const METHODS: &[Method] = &[
    Method::POST,
    Method::GET,
    Method::DELETE,
    Method::OPTIONS,
    Method::PUT,
    Method::HEAD,
    Method::PATCH,
];

/// A path of the table, or how it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// The mount prefix followed by this suffix.
    Suffix(&'static str),
    /// `{prefix}/messages?sessionId=` the server's live HTTP+SSE session (an unknown one on a
    /// server without).
    LegacyMessages,
    /// `/.well-known/oauth-protected-resource{prefix}`, answered by `McpServer::well_known`.
    WellKnown,
}

/// The paths of the table.
pub const PATHS: &[PathKind] = &[
    PathKind::Suffix(""),
    PathKind::Suffix("/"),
    PathKind::Suffix("/sse"),
    PathKind::Suffix("/messages"),
    PathKind::LegacyMessages,
    PathKind::Suffix("/tools"),
    PathKind::Suffix("/tools/echo"),
    PathKind::Suffix("/tools/add_structured"),
    PathKind::Suffix("/images/test_image_content"),
    PathKind::Suffix("/completions"),
    PathKind::Suffix("/openapi.json"),
    PathKind::Suffix("/nope"),
    PathKind::WellKnown,
];

/// The headers a request may carry (each any number of times).
pub const HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
    "origin",
    "host",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "forwarded",
    "authorization",
    "access-control-request-method",
    "access-control-request-headers",
    "mcp-param-region",
    "mcp-param-count",
];

/// Where the request came from, as the adapter tells the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// A proxy the servers trust (127.0.0.1).
    Trusted,
    /// A client on the internet (203.0.113.9).
    Untrusted,
    /// No peer address: an adapter that does not give one.
    Unknown,
}

/// A header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// These bytes (a header that is not a valid value is left out).
    Literal(Vec<u8>),
    /// The id of the server's live session 0 (2025-11-25) or 1 (2025-03-26), made at start-up
    /// and made again when an input ends it.
    Session(u8),
}

/// The path of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Path {
    /// [`PATHS`]`[i]`.
    Table(usize),
    /// The mount prefix followed by these bytes (an input whose URI does not parse is
    /// skipped).
    Custom(Vec<u8>),
}

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Which server.
    pub server: u8,
    /// [`METHODS`]`[method % len]`.
    pub method: u8,
    /// Where it came from.
    pub peer: Peer,
    /// Its path.
    pub path: Path,
    /// Its headers, by index into [`HEADERS`].
    pub headers: Vec<(usize, Value)>,
    /// Its body.
    pub body: Vec<u8>,
}

/// At most this many headers.
const MAX_HEADERS: u8 = 16;

fn byte(u: &mut Unstructured<'_>) -> u8 {
    // Out of data reads as 0.
    u8::arbitrary(u).unwrap_or(0)
}

fn counted(u: &mut Unstructured<'_>) -> Vec<u8> {
    let len = usize::from(byte(u)).min(u.len());
    u.bytes(len).map(<[u8]>::to_vec).unwrap_or_default()
}

impl Input {
    /// Reads an input; every byte string is one.
    pub fn read(u: &mut Unstructured<'_>) -> Self {
        let server = byte(u);
        let method = byte(u);
        let peer = match byte(u) % 3 {
            0 => Peer::Trusted,
            1 => Peer::Untrusted,
            _ => Peer::Unknown,
        };
        let path = match usize::from(byte(u)) % (PATHS.len() + 1) {
            i if i < PATHS.len() => Path::Table(i),
            _ => Path::Custom(counted(u)),
        };
        let count = byte(u) % MAX_HEADERS;
        let mut headers = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let name = usize::from(byte(u)) % HEADERS.len();
            let value = match byte(u) % 3 {
                0 => Value::Literal(counted(u)),
                kind => Value::Session(kind - 1),
            };
            headers.push((name, value));
        }
        let body = u.bytes(u.len()).map(<[u8]>::to_vec).unwrap_or_default();
        Self {
            server,
            method,
            peer,
            path,
            headers,
            body,
        }
    }

    /// The bytes [`read`](Self::read) reads back as this input (literals longer than 255
    /// bytes are cut, and so are headers past 15).
    pub fn encode(&self) -> Vec<u8> {
        fn counted(out: &mut Vec<u8>, bytes: &[u8]) {
            let len = bytes.len().min(255);
            out.push(u8::try_from(len).unwrap_or(u8::MAX));
            out.extend_from_slice(&bytes[..len]);
        }
        let mut out = vec![
            self.server,
            self.method,
            match self.peer {
                Peer::Trusted => 0,
                Peer::Untrusted => 1,
                Peer::Unknown => 2,
            },
        ];
        match &self.path {
            Path::Table(i) => out.push(u8::try_from(*i).unwrap_or(0)),
            Path::Custom(bytes) => {
                out.push(u8::try_from(PATHS.len()).unwrap_or(0));
                counted(&mut out, bytes);
            }
        }
        let headers = &self.headers[..self.headers.len().min(usize::from(MAX_HEADERS) - 1)];
        out.push(u8::try_from(headers.len()).unwrap_or(0));
        for (name, value) in headers {
            out.push(u8::try_from(*name).unwrap_or(0));
            match value {
                Value::Literal(bytes) => {
                    out.push(0);
                    counted(&mut out, bytes);
                }
                Value::Session(i) => out.push(1 + i % 2),
            }
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// The index of a header name in [`HEADERS`].
    pub fn header_index(name: &str) -> Option<usize> {
        HEADERS.iter().position(|h| h.eq_ignore_ascii_case(name))
    }

    /// The index of a method in [`METHODS`].
    pub fn method_index(method: &Method) -> Option<u8> {
        METHODS
            .iter()
            .position(|m| m == method)
            .and_then(|i| u8::try_from(i).ok())
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Self::read(u))
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> Result<Self> {
        Ok(Self::read(&mut u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_reads_back() {
        let input = Input {
            server: 2,
            method: 1,
            peer: Peer::Untrusted,
            path: Path::Custom(b"/x?y=1".to_vec()),
            headers: vec![
                (3, Value::Literal(b"2025-11-25".to_vec())),
                (2, Value::Session(1)),
                (0, Value::Literal(Vec::new())),
            ],
            body: br#"{"jsonrpc":"2.0"}"#.to_vec(),
        };
        let bytes = input.encode();
        assert_eq!(Input::read(&mut Unstructured::new(&bytes)), input);
        let table = Input {
            path: Path::Table(4),
            headers: Vec::new(),
            body: Vec::new(),
            ..input
        };
        assert_eq!(Input::read(&mut Unstructured::new(&table.encode())), table);
    }

    #[test]
    fn any_bytes_are_an_input() {
        for bytes in [&b""[..], b"\xff", b"\xff\xff\xff\xff\xff\xff\xff"] {
            let _ = Input::read(&mut Unstructured::new(bytes));
        }
    }
}
