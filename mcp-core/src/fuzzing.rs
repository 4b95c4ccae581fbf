//! Entry points for the fuzz targets in `fuzz/` (cargo fuzz, libFuzzer), and nothing else.
//!
//! **Not part of the API**: compiled only with the `fuzzing` feature, hidden from the docs, and
//! free to change in any release. Each function is a thin wrapper that calls one of the crate's
//! internal parsers exactly as the server does; none has logic of its own, so what the fuzzers
//! find is in the code the server runs.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Map, Value};

use crate::cluster::EventId;
use crate::handler::resource::UriTemplate;
use crate::http::forwarded::{self, PeerAddr, TrustedProxies};
use crate::http::mrtr::{KeyRing, State};
use crate::protocol::jsonrpc::{self, Envelope, Message};

/// What [`parse_jsonrpc`] made of one message.
#[derive(Debug)]
pub enum JsonRpc {
    /// Not a JSON object the envelope deserialises from (the server's parse error or invalid
    /// request).
    NotAnEnvelope,
    /// An envelope the classification refused: the error answer the server writes for it.
    Invalid(Bytes),
    /// A request, notification or response, as `Debug` shows it, and for a request or a
    /// response the id written back as the server writes it in a result
    /// (`{"jsonrpc":"2.0","id":ID,"result":{}}`).
    Message(String, Option<Bytes>),
}

/// One JSON-RPC message through the envelope and its classification, as the endpoint parses
/// a POST body (and each element of a batch).
pub fn parse_jsonrpc(bytes: &[u8]) -> JsonRpc {
    let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(bytes) else {
        return JsonRpc::NotAnEnvelope;
    };
    match envelope.classify() {
        Ok(message) => {
            let answer = match &message {
                Message::Request { id, .. } | Message::Response { id, .. } => {
                    Some(jsonrpc::result_bytes(id, b"{}"))
                }
                Message::Notification { .. } => None,
            };
            JsonRpc::Message(format!("{message:?}"), answer)
        }
        Err(invalid) => JsonRpc::Invalid(jsonrpc::error_bytes(
            invalid.id.as_ref(),
            &jsonrpc::RpcError::new(jsonrpc::INVALID_REQUEST, invalid.message),
        )),
    }
}

/// A resource template (RFC 6570 level 1) parsed as the builder parses it, then matched
/// against `uri` as `resources/read` does: `Err` for a template the builder refuses,
/// `Ok(None)` when `uri` does not match, the decoded variables when it does.
///
/// # Errors
///
/// The builder's reason for refusing the template.
pub fn uri_template(template: &str, uri: &str) -> Result<Option<Vec<(String, String)>>, String> {
    Ok(UriTemplate::parse(template)?.matches(uri))
}

/// The variables of a template, in order.
///
/// # Errors
///
/// The builder's reason for refusing the template.
pub fn uri_template_variables(template: &str) -> Result<Vec<String>, String> {
    Ok(UriTemplate::parse(template)?
        .variables()
        .map(str::to_owned)
        .collect())
}

/// The URL the client used, as [`forwarded`](fn@forwarded) derives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct External {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// The `X-Forwarded-Prefix` taken, or empty.
    pub forwarded_prefix: String,
}

/// What the server derives from a request's `Host`, `Forwarded` and `X-Forwarded-*` headers
/// when it comes from `peer` (as an adapter inserts it) to a server that trusts `trusted`.
pub fn forwarded(
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    trusted: Option<&TrustedProxies>,
) -> External {
    let mut request = http::Request::new(());
    *request.headers_mut() = headers;
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    let (parts, ()) = request.into_parts();
    let external = forwarded::external(&parts, trusted);
    External {
        scheme: external.scheme.into_owned(),
        authority: external.authority.into_owned(),
        forwarded_prefix: external.forwarded_prefix.into_owned(),
    }
}

/// A `Last-Event-ID` value parsed as a GET that resumes a stream parses it.
pub fn last_event_id(text: &str) -> Option<EventId> {
    EventId::parse(text)
}

/// Opens a `requestState` with a ring of `keys` (newest first) for the request it must have
/// been issued for, as a 2026-07-28 retry is checked: the input responses it carries.
///
/// # Errors
///
/// A ring the builder refuses, or why the state is refused.
pub fn open_request_state(
    keys: &[Vec<u8>],
    text: &str,
    method: &str,
    name: &str,
    principal: Option<&str>,
) -> Result<Map<String, Value>, String> {
    let ring = KeyRing::new(keys.iter().map(|k| k.clone().into_boxed_slice()).collect())?;
    State::open(&ring, text, method, name, principal)
        .map(|state| state.r)
        .map_err(str::to_owned)
}

/// Seals a `requestState` as a handler's `input_required` result does, with the first of
/// `keys`; `None` when the ring is refused or the state cannot be sealed.
pub fn seal_request_state(
    keys: &[Vec<u8>],
    method: &str,
    name: &str,
    principal: Option<&str>,
    ttl: Duration,
    responses: Map<String, Value>,
) -> Option<String> {
    let ring = KeyRing::new(keys.iter().map(|k| k.clone().into_boxed_slice()).collect()).ok()?;
    State::new(method, name, principal.map(str::to_owned), ttl, responses).seal(&ring)
}
