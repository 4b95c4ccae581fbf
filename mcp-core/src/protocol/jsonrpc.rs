//! JSON-RPC 2.0 framing: parsing what came off the wire and writing responses.
//!
//! Parsing borrows from the request body and never builds a `serde_json::Value` for the envelope:
//! `params` stays a `&RawValue` until the method that owns it deserialises it into its own type.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// JSON-RPC "Parse error".
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC "Invalid Request".
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC "Method not found".
pub const METHOD_NOT_FOUND: i32 = -32601;
/// JSON-RPC "Invalid params".
pub const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC "Internal error".
pub const INTERNAL_ERROR: i32 = -32603;
/// Implementation-defined server error used for transport-level rejections (the TypeScript SDK's convention).
pub const SERVER_ERROR: i32 = -32000;
/// Implementation-defined "Session not found" (the TypeScript SDK's convention).
pub const SESSION_NOT_FOUND: i32 = -32001;
/// MCP "Resource not found" (2025-11-25 and earlier).
pub const RESOURCE_NOT_FOUND: i32 = -32002;
/// `HeaderMismatch`: a required header is missing, malformed or disagrees with the body.
pub const HEADER_MISMATCH: i32 = -32020;
/// `MissingRequiredClientCapability`: the request needs a capability the client lacks.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// `UnsupportedProtocolVersion`: the request's `_meta` names a version the server lacks.
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;

/// A JSON-RPC request id: a string or an integer, echoed back with its exact JSON type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id that fits `i64`.
    Int(i64),
    /// A non-negative integer id above `i64::MAX`.
    UInt(u64),
    /// A string id.
    Str(Arc<str>),
}

impl RequestId {
    /// Parses an id from its raw JSON text; `None` for `null`, floats and anything but strings and integers.
    pub(crate) fn from_raw(raw: &RawValue) -> Option<Self> {
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' => serde_json::from_str::<String>(text)
                .ok()
                .map(|s| Self::Str(s.into())),
            b'-' | b'0'..=b'9' => {
                if let Ok(i) = text.parse::<i64>() {
                    Some(Self::Int(i))
                } else {
                    text.parse::<u64>().ok().map(Self::UInt)
                }
            }
            _ => None,
        }
    }

    /// Parses an id from a JSON value (as found in `notifications/cancelled`).
    pub(crate) fn from_value(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Some(Self::Str(s.as_str().into())),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Self::Int)
                .or_else(|| n.as_u64().map(Self::UInt)),
            _ => None,
        }
    }

    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            // Writing to a Vec cannot fail.
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            Self::Str(s) => {
                // Serialising a str into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, &**s);
            }
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::UInt(u) => write!(f, "{u}"),
            Self::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Int(i) => serializer.serialize_i64(*i),
            Self::UInt(u) => serializer.serialize_u64(*u),
            Self::Str(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Self::from_value(&value)
            .ok_or_else(|| serde::de::Error::custom("a request id is a string or an integer"))
    }
}

/// The envelope of one incoming JSON-RPC message, borrowed from the body.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow, default)]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// Keeps a present `null` as `Some("null")` so that a `null` id can be told from a missing one.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// One classified incoming message.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    Request {
        id: RequestId,
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    Notification {
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    /// A response to a server-to-client request: exactly one of `result` and `error` is set.
    Response {
        id: RequestId,
        result: Option<&'a RawValue>,
        error: Option<&'a RawValue>,
    },
}

/// Why a message could not be classified: the JSON-RPC error to answer with.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) id: Option<RequestId>,
    pub(crate) message: &'static str,
}

impl<'a> Envelope<'a> {
    pub(crate) fn classify(self) -> Result<Message<'a>, Invalid> {
        let id = match self.id {
            None => None,
            Some(raw) => match RequestId::from_raw(raw) {
                Some(id) => Some(id),
                None => {
                    return Err(Invalid {
                        id: None,
                        message: "Invalid Request: id must be a string or an integer",
                    });
                }
            },
        };
        if self.jsonrpc.as_deref() != Some("2.0") {
            return Err(Invalid {
                id,
                message: "Invalid Request: jsonrpc must be \"2.0\"",
            });
        }
        let params = self.params.filter(|p| p.get() != "null");
        match (self.method, id) {
            (Some(method), Some(id)) => {
                if params.is_some_and(|p| !p.get().starts_with('{')) {
                    return Err(Invalid {
                        id: Some(id),
                        message: "Invalid Request: params must be an object",
                    });
                }
                Ok(Message::Request { id, method, params })
            }
            (Some(method), None) => Ok(Message::Notification { method, params }),
            (None, Some(id)) if self.result.is_some() != self.error.is_some() => {
                Ok(Message::Response {
                    id,
                    result: self.result,
                    error: self.error,
                })
            }
            (None, id) => Err(Invalid {
                id,
                message: "Invalid Request: not a JSON-RPC request, notification or response",
            }),
        }
    }
}

/// Writes `{"jsonrpc":"2.0","id":ID,"result":RESULT}` around an already serialised result.
pub(crate) fn result_bytes(id: &RequestId, result: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(result.len() + 40);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    id.write_json(&mut out);
    out.extend_from_slice(b",\"result\":");
    out.extend_from_slice(result);
    out.push(b'}');
    Bytes::from(out)
}

/// A JSON-RPC error object: code, message and optional data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The JSON-RPC error code.
    pub code: i32,
    /// A short description.
    pub message: Cow<'static, str>,
    /// Extra detail for the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

impl RpcError {
    /// An error with a code and a message and no data.
    pub fn new(code: i32, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// `-32602 Invalid params` with a message.
    pub fn invalid_params(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    /// `-32603 Internal error` with a message.
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(INTERNAL_ERROR, message)
    }

    /// `-32002 Resource not found` with `data: {"uri": uri}`.
    pub fn resource_not_found(uri: &str) -> Self {
        Self::new(RESOURCE_NOT_FOUND, format!("Resource not found: {uri}"))
            .with_data(serde_json::json!({ "uri": uri }))
    }

    /// Attaches `data`.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Writes `{"jsonrpc":"2.0","id":ID|null,"error":{...}}`.
pub(crate) fn error_bytes(id: Option<&RequestId>, error: &RpcError) -> Bytes {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    match id {
        Some(id) => id.write_json(&mut out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"error\":");
    // RpcError holds only strings, integers and JSON values: serialising it cannot fail.
    let _ = serde_json::to_writer(&mut out, error);
    out.push(b'}');
    Bytes::from(out)
}

/// Writes a notification `{"jsonrpc":"2.0","method":M,"params":P}`.
pub(crate) fn notification_bytes(method: &str, params: &impl Serialize) -> Bytes {
    #[derive(Serialize)]
    struct Notification<'a, P> {
        jsonrpc: &'static str,
        method: &'a str,
        params: &'a P,
    }
    let n = Notification {
        jsonrpc: "2.0",
        method,
        params,
    };
    // A notification is built from our own serialisable types; a failure would be a bug in them.
    Bytes::from(serde_json::to_vec(&n).unwrap_or_default())
}

/// Writes a request `{"jsonrpc":"2.0","id":ID,"method":M,"params":P}`.
pub(crate) fn request_bytes(id: &RequestId, method: &str, params: &impl Serialize) -> Bytes {
    #[derive(Serialize)]
    struct Request<'a, P> {
        jsonrpc: &'static str,
        id: &'a RequestId,
        method: &'a str,
        params: &'a P,
    }
    let r = Request {
        jsonrpc: "2.0",
        id,
        method,
        params,
    };
    // Built from our own serialisable types; a failure would be a bug in them.
    Bytes::from(serde_json::to_vec(&r).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Message<'_>, Invalid> {
        serde_json::from_str::<Envelope<'_>>(s)
            .map_err(|_| Invalid {
                id: None,
                message: "json",
            })
            .and_then(Envelope::classify)
    }

    #[test]
    fn ids_keep_their_type() {
        let Ok(Message::Request { id, .. }) = parse(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#)
        else {
            panic!("not a request")
        };
        assert_eq!(
            &result_bytes(&id, b"{}")[..],
            br#"{"jsonrpc":"2.0","id":7,"result":{}}"#
        );
        let Ok(Message::Request { id, .. }) =
            parse(r#"{"jsonrpc":"2.0","id":"7","method":"ping"}"#)
        else {
            panic!("not a request")
        };
        assert_eq!(
            &result_bytes(&id, b"{}")[..],
            br#"{"jsonrpc":"2.0","id":"7","result":{}}"#
        );
    }

    #[test]
    fn rejects_bad_ids_and_versions() {
        assert!(parse(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).is_err());
        assert!(parse(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#).is_err());
        assert!(parse(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).is_err());
        assert!(parse(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#).is_err());
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Message::Notification { .. })
        ));
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#),
            Ok(Message::Response { .. })
        ));
    }
}
