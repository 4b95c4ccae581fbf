//! CORS for browser clients of the MCP routes, configured once in the core so every adapter
//! behaves the same.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

use crate::http::body::McpBody;

/// The request headers an MCP client sends, which a preflight may ask for. `Mcp-Param-*`
/// (2026-07-28 tool parameters) is matched by prefix.
const ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "content-type",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "mcp-protocol-version",
    "mcp-session-id",
];

/// A CORS policy for the MCP routes (opt-in with
/// [`McpServerBuilder::cors`](crate::McpServerBuilder::cors)).
///
/// An origin it allows also passes the server's `Origin` check.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    origins: Option<Vec<String>>,
    max_age: Option<Duration>,
    credentials: bool,
}

impl Cors {
    /// A policy that allows no origin yet.
    pub fn new() -> Self {
        Self {
            origins: Some(Vec::new()),
            max_age: Some(Duration::from_secs(600)),
            credentials: false,
        }
    }

    /// Allows these origins (`https://app.example.com`, compared exactly, case-insensitively).
    #[must_use]
    pub fn allow_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins
            .get_or_insert_with(Vec::new)
            .extend(origins.into_iter().map(Into::into));
        self
    }

    /// Allows every origin. Only for servers whose every route demands a credential the
    /// browser cannot send by itself (a bearer token).
    #[must_use]
    pub fn allow_any_origin(mut self) -> Self {
        self.origins = None;
        self
    }

    /// How long browsers may cache a preflight answer (default 10 minutes).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Sends `Access-Control-Allow-Credentials: true` (cookies and HTTP auth).
    #[must_use]
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            None => origin != "null",
            Some(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    fn allow_origin(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
    /// allowed origin.
    pub(crate) fn preflight(&self, origin: &HeaderValue, request: &HeaderMap) -> Response<McpBody> {
        let mut response = Response::new(McpBody::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        self.allow_origin(origin, headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        let requested = request
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| ALLOWED_HEADERS.contains(&h.as_str()) || h.starts_with("mcp-param-"))
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(value) = HeaderValue::from_str(&requested) {
            if !requested.is_empty() {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
            }
        }
        if let Some(max_age) = self
            .max_age
            .and_then(|m| HeaderValue::from_str(&m.as_secs().to_string()).ok())
        {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age);
        }
        response
    }

    /// Adds the CORS headers of an actual response to an allowed origin.
    pub(crate) fn decorate(&self, origin: &HeaderValue, response: &mut Response<McpBody>) {
        let headers = response.headers_mut();
        self.allow_origin(origin, headers);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate"),
        );
    }

    /// Whether this request is a preflight.
    pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        *method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }
}
