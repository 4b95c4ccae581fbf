//! Transport-level errors and their one mapping to HTTP responses.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::http::body::McpBody;
use crate::protocol::jsonrpc::{
    self, INVALID_REQUEST, PARSE_ERROR, RequestId, RpcError, SERVER_ERROR, SESSION_NOT_FOUND,
};

/// What went wrong at the HTTP transport level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// The body could not be read (400).
    BodyRead,
    /// `Accept` does not cover what the endpoint answers with (406).
    NotAcceptable,
    /// `Content-Type` is not `application/json` (415).
    UnsupportedMediaType,
    /// `Host` or `Origin` is not allowed (403).
    Forbidden,
    /// The HTTP method is not served here (405).
    MethodNotAllowed,
    /// No MCP route at this path (404).
    NotFound,
    /// The body is not valid JSON (400, `-32700`).
    Parse,
    /// The body is JSON but not a valid JSON-RPC message, or is not allowed here (400, `-32600`).
    InvalidRequest,
    /// `MCP-Protocol-Version` names a version this server does not speak (400).
    UnsupportedProtocolVersion,
    /// A request other than `initialize` came without `Mcp-Session-Id` (400).
    MissingSession,
    /// The session is unknown, expired or was ended (404).
    SessionNotFound,
    /// The live-session cap is reached (503, with `Retry-After`).
    TooManySessions,
    /// This client (principal, or address) holds as many sessions as the per-client cap
    /// allows (429, with `Retry-After`).
    TooManyClientSessions,
    /// No valid bearer token (401, with a `WWW-Authenticate` challenge).
    Unauthorized,
    /// The token lacks a required scope (403, with a `WWW-Authenticate` challenge).
    InsufficientScope,
    /// A `Last-Event-ID` that names no stream this session can resume (400).
    CannotResume,
    /// Something the request needs (the session store) cannot be reached now (503, with
    /// `Retry-After`).
    Unavailable,
}

impl ErrorKind {
    fn status(self) -> StatusCode {
        match self {
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyRead
            | Self::Parse
            | Self::InvalidRequest
            | Self::UnsupportedProtocolVersion
            | Self::MissingSession
            | Self::CannotResume => StatusCode::BAD_REQUEST,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Forbidden | Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound | Self::SessionNotFound => StatusCode::NOT_FOUND,
            Self::TooManySessions | Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyClientSessions => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn code(self) -> i32 {
        match self {
            Self::Parse => PARSE_ERROR,
            Self::InvalidRequest => INVALID_REQUEST,
            Self::SessionNotFound => SESSION_NOT_FOUND,
            _ => SERVER_ERROR,
        }
    }
}

/// A transport-level error: an HTTP status plus a JSON-RPC error body.
///
/// The `Display` text is for people and is not part of the API; match on [`Error::kind`].
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    id: Option<RequestId>,
    allow: Option<&'static str>,
    www_authenticate: Option<String>,
    /// The builder setting that would let such a request through, for the log.
    setting: Option<&'static str>,
}

impl Error {
    /// An error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            id: None,
            allow: None,
            www_authenticate: None,
            setting: None,
        }
    }

    /// The body was larger than `limit` bytes. Adapters answer with this when buffering hits the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "Payload Too Large: the body exceeds the limit of {limit} bytes (the server's \
                 McpServerBuilder::max_body)"
            ),
        )
    }

    /// The body could not be read from the connection.
    pub fn body_read(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::BodyRead,
            format!("Bad Request: could not read the body: {detail}"),
        )
    }

    pub(crate) fn with_id(mut self, id: Option<RequestId>) -> Self {
        self.id = id;
        self
    }

    /// Adds the `WWW-Authenticate` challenge of a refused bearer token.
    #[cfg(feature = "oauth")]
    pub(crate) fn with_challenge(mut self, challenge: String) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    /// Names the builder setting that would let such a request through (for the log).
    pub(crate) fn with_setting(mut self, setting: &'static str) -> Self {
        self.setting = Some(setting);
        self
    }

    /// The builder setting that would let such a request through, when one would.
    pub(crate) fn setting(&self) -> Option<&'static str> {
        self.setting.or(match self.kind {
            ErrorKind::PayloadTooLarge => Some("max_body"),
            ErrorKind::TooManySessions => Some("max_sessions"),
            ErrorKind::TooManyClientSessions => Some("max_sessions_per_client"),
            ErrorKind::SessionNotFound => Some("session_ttl"),
            ErrorKind::Unauthorized | ErrorKind::InsufficientScope => Some("oauth"),
            _ => None,
        })
    }

    /// Logs this error as a rejected request (a `warn` with the `tracing` feature).
    pub(crate) fn log(&self) {
        crate::telemetry::rejected(self.status().as_u16(), &self.message, self.setting());
    }

    pub(crate) fn with_allow(mut self, allow: &'static str) -> Self {
        self.allow = Some(allow);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The response for this error: its status, a JSON-RPC error body and, for 405, `Allow`.
    pub fn into_response(self) -> http::Response<McpBody> {
        let body: Bytes = jsonrpc::error_bytes(
            self.id.as_ref(),
            &RpcError::new(self.kind.code(), self.message),
        );
        let mut response = http::Response::new(McpBody::full(body));
        *response.status_mut() = self.kind.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        match self.kind {
            ErrorKind::Unavailable | ErrorKind::TooManySessions => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // A place opens when one of the client's own sessions has been idle long enough
            // to make room (15 s by default) or is ended.
            ErrorKind::TooManyClientSessions => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("15"));
            }
            _ => {}
        }
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        let message = match kind {
            ErrorKind::PayloadTooLarge => "Payload Too Large",
            ErrorKind::BodyRead => "Bad Request: could not read the body",
            ErrorKind::NotAcceptable => "Not Acceptable",
            ErrorKind::UnsupportedMediaType => {
                "Unsupported Media Type: Content-Type must be application/json"
            }
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::MethodNotAllowed => "Method Not Allowed",
            ErrorKind::NotFound => "Not Found",
            ErrorKind::Parse => "Parse error",
            ErrorKind::InvalidRequest => "Invalid Request",
            ErrorKind::UnsupportedProtocolVersion => "Bad Request: unsupported protocol version",
            ErrorKind::MissingSession => "Bad Request: Mcp-Session-Id header is required",
            ErrorKind::SessionNotFound => "Session not found",
            ErrorKind::TooManySessions => {
                "Service Unavailable: too many sessions (the server's McpServerBuilder::max_sessions); retry shortly"
            }
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::InsufficientScope => "Forbidden: insufficient scope",
            ErrorKind::CannotResume => "Bad Request: cannot resume the stream",
            ErrorKind::Unavailable => "Service Unavailable: retry shortly",
            ErrorKind::TooManyClientSessions => {
                "Too Many Requests: this client holds as many sessions as the server's McpServerBuilder::max_sessions_per_client allows; end one with DELETE, or retry once one has been idle"
            }
        };
        Self::new(kind, message)
    }
}
