//! [`McpServer`]: the builder, the request pipeline and method dispatch.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Principal, ProtectedResource, TokenVerifier};
use crate::body::McpBody;
use crate::context::RequestContext;
use crate::cors::Cors;
use crate::error::{Error, ErrorKind};
use crate::forwarded::{self, TrustedProxies};
use crate::jsonrpc::{self, Envelope, Message, RequestId, RpcError};
use crate::model::CallToolResult;
use crate::model::LoggingLevel;
use crate::session::{InFlight, InMemorySessionStore, Session, SessionStore};
use crate::sse;
use crate::tool::Tool;
use crate::transport::{self, HostOriginPolicy, Route};

mod legacy;
mod rest;

/// The newest protocol version of the handshake era.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// Every handshake-era protocol version this server negotiates, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The version assumed when a request carries no `MCP-Protocol-Version` header.
const DEFAULT_HEADER_VERSION: &str = "2025-03-26";

const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// How a request's answer is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// JSON when the handler sends nothing before its result; an SSE stream as soon as it sends
    /// a notification (progress, logging). The default.
    #[default]
    Auto,
    /// Always `application/json`; notifications from handlers are dropped.
    Json,
    /// Always `text/event-stream`.
    Sse,
}

#[derive(Clone)]
struct Config {
    max_body: usize,
    session_ttl: Duration,
    max_sessions: usize,
    stateless: bool,
    response_mode: ResponseMode,
    policy: HostOriginPolicy,
    page_size: usize,
    trusted_proxies: Option<TrustedProxies>,
    rest_view: bool,
    cors: Option<Cors>,
    bind_sessions: Option<BindSessions>,
    oauth: Option<(ProtectedResource, Arc<dyn TokenVerifier>)>,
}

/// How a request names the principal its session is bound to.
type BindSessions = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("max_body", &self.max_body)
            .field("session_ttl", &self.session_ttl)
            .field("max_sessions", &self.max_sessions)
            .field("stateless", &self.stateless)
            .field("response_mode", &self.response_mode)
            .field("policy", &self.policy)
            .field("rest_view", &self.rest_view)
            .field("cors", &self.cors)
            .field("bound_sessions", &self.bind_sessions.is_some())
            .field("oauth", &self.oauth.as_ref().map(|(resource, _)| resource))
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body: 4 * 1024 * 1024,
            session_ttl: Duration::from_secs(30 * 60),
            max_sessions: 10_000,
            stateless: false,
            response_mode: ResponseMode::Auto,
            policy: HostOriginPolicy::default(),
            page_size: 100,
            trusted_proxies: None,
            rest_view: false,
            cors: None,
            bind_sessions: None,
            oauth: None,
        }
    }
}

/// Builds an [`McpServer`]; start with [`McpServer::builder`].
#[must_use]
pub struct McpServerBuilder {
    name: String,
    version: String,
    title: Option<String>,
    instructions: Option<String>,
    tools: Vec<Tool>,
    config: Config,
    store: Option<Arc<dyn SessionStore>>,
}

impl fmt::Debug for McpServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServerBuilder")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("tools", &self.tools.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why [`McpServerBuilder::try_build`] refused the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl McpServerBuilder {
    /// A human-readable title for `serverInfo`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Instructions for the model, sent in the `initialize` result.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds several tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// The largest request body accepted, in bytes (default 4 MiB); larger ones get 413.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// How long an idle session lives (default 30 minutes). A session with an open GET stream
    /// is not idle.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.config.session_ttl = ttl;
        self
    }

    /// The most live sessions (default 10,000); `initialize` past it gets 503.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// Stateless mode: no sessions, no GET stream (405), every request stands alone. Scales
    /// behind any load balancer; cancellation needs a session and is unavailable.
    pub fn stateless(mut self, stateless: bool) -> Self {
        self.config.stateless = stateless;
        self
    }

    /// How request answers are sent (default [`ResponseMode::Auto`]).
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.config.response_mode = mode;
        self
    }

    /// Replaces the `Host` allowlist (default: `localhost`, `127.0.0.1` and `[::1]` on any port).
    ///
    /// An entry is a host name (any port) or `host:port`; requests from other hosts get 403.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.policy.hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts any `Host`. Only for servers behind something else that checks it.
    pub fn allow_any_host(mut self) -> Self {
        self.config.policy.hosts = None;
        self
    }

    /// Replaces the `Origin` allowlist (default: `http(s)://` loopback origins on any port).
    ///
    /// An entry is `scheme://host` (any port) or `scheme://host:port`. A same-origin request
    /// (its `Origin` names the allowed `Host` it was sent to) is always accepted; any other
    /// present `Origin` must be listed, or the request gets 403.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.policy.origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts any `Origin`.
    pub fn allow_any_origin(mut self) -> Self {
        self.config.policy.origins = None;
        self
    }

    /// How many items a `*/list` page holds (default 100).
    pub fn page_size(mut self, items: usize) -> Self {
        self.config.page_size = items.max(1);
        self
    }

    /// Believes `Forwarded` and `X-Forwarded-Host` / `-Proto` / `-Prefix` from these peers
    /// (default: from nobody). The forwarded host is then what the `Host` allowlist checks, and
    /// every URL the server emits uses the forwarded scheme, host and prefix. Adapters give the
    /// core the peer's address ([`PeerAddr`](crate::PeerAddr)); without it nobody is trusted.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.config.trusted_proxies = Some(proxies);
        self
    }

    /// Serves the REST view of the tools beside the MCP endpoint, under the same prefix (and so
    /// behind the same host middleware): `GET {prefix}/tools`, `POST {prefix}/tools/{name}` (the
    /// JSON body is the arguments; the `CallToolResult` comes back with 200 even when `isError`),
    /// `POST {prefix}/images/{tool}` (the first image's bytes) and `GET {prefix}/openapi.json`.
    pub fn rest_view(mut self, enabled: bool) -> Self {
        self.config.rest_view = enabled;
        self
    }

    /// Answers CORS preflights on the MCP routes and adds CORS headers (exposing
    /// `Mcp-Session-Id`) to answers for the origins `cors` allows, which also pass the `Origin`
    /// check.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config.cors = Some(cors);
        self
    }

    /// Binds every session to the principal that created it: `principal` names who a request
    /// speaks for (from what the host's auth middleware put in the extensions, or the
    /// [`Principal`](crate::Principal) of [`oauth`](Self::oauth)), and a session used by anyone
    /// else answers 404, as an unknown session does.
    ///
    /// ```
    /// # use mcp_mount::{McpServer, Principal};
    /// let server = McpServer::builder("demo", "1.0.0")
    ///     .bind_sessions(|parts| parts.extensions.get::<Principal>().map(|p| p.subject.clone()))
    ///     .build();
    /// # let _ = server;
    /// ```
    pub fn bind_sessions<F>(mut self, principal: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.config.bind_sessions = Some(Arc::new(principal));
        self
    }

    /// Makes the server an OAuth 2.0 protected resource: every request to its routes needs a
    /// bearer token that `verifier` accepts (401 with a `WWW-Authenticate` challenge naming the
    /// resource metadata otherwise, 403 when a required scope is missing), and the verified
    /// [`Principal`](crate::Principal) is put in the request's extensions for handlers.
    /// Serve the metadata document from the host's root router with each adapter's
    /// `well_known` helper (or [`McpServer::well_known`]).
    pub fn oauth(mut self, resource: ProtectedResource, verifier: impl TokenVerifier) -> Self {
        self.config.oauth = Some((resource, Arc::new(verifier)));
        self
    }

    /// Keeps sessions in `store` instead of the default in-memory store (whose TTL and cap come
    /// from [`session_ttl`](Self::session_ttl) and [`max_sessions`](Self::max_sessions)).
    pub fn session_store(mut self, store: impl SessionStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Builds the server.
    ///
    /// # Errors
    ///
    /// A tool name that breaks the spec's rules, a duplicate tool name, or a tool whose input
    /// schema is not an object schema.
    pub fn try_build(self) -> Result<McpServer, BuildError> {
        let mut seen = HashMap::new();
        for tool in &self.tools {
            tool.validate().map_err(BuildError)?;
            if seen.insert(tool.name.clone(), ()).is_some() {
                return Err(BuildError(format!(
                    "tool {:?} is registered twice",
                    tool.name
                )));
            }
        }
        let store = self.store.unwrap_or_else(|| {
            Arc::new(InMemorySessionStore::new(
                self.config.session_ttl,
                self.config.max_sessions,
            ))
        });
        let mut info = serde_json::Map::new();
        info.insert("name".into(), Value::String(self.name));
        info.insert("version".into(), Value::String(self.version));
        if let Some(title) = self.title {
            info.insert("title".into(), Value::String(title));
        }
        Ok(McpServer {
            inner: Arc::new(Inner {
                server_info: Value::Object(info),
                instructions: self.instructions,
                tools: RwLock::new(Arc::new(ToolSet::new(self.tools))),
                config: self.config,
                store,
                never_cancelled: CancellationToken::new(),
                legacy: legacy::LegacySessions::default(),
            }),
        })
    }

    /// Builds the server.
    ///
    /// # Panics
    ///
    /// On the errors [`try_build`](Self::try_build) returns: they are programming errors in the
    /// server's definition, found once at start-up.
    pub fn build(self) -> McpServer {
        match self.try_build() {
            Ok(server) => server,
            // PANIC: documented; an invalid tool definition is a bug in the host program.
            Err(e) => panic!("invalid MCP server definition: {e}"),
        }
    }
}

struct ToolSet {
    tools: Vec<Tool>,
    index: HashMap<String, usize>,
    definitions: Vec<Box<RawValue>>,
}

impl ToolSet {
    fn new(tools: Vec<Tool>) -> Self {
        let index = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let definitions = tools.iter().map(Tool::definition).collect();
        Self {
            tools,
            index,
            definitions,
        }
    }
}

/// A complete MCP server, ready to be mounted under any path by an adapter.
///
/// Cheap to clone: the state is shared behind an `Arc`.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    server_info: Value,
    instructions: Option<String>,
    tools: RwLock<Arc<ToolSet>>,
    config: Config,
    store: Arc<dyn SessionStore>,
    /// Shared by every call that nothing can cancel (no session).
    never_cancelled: CancellationToken,
    /// Sessions of the 2024-11-05 HTTP+SSE transport.
    legacy: legacy::LegacySessions,
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("server_info", &self.inner.server_info)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// Starts building a server with the `serverInfo` name and version.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> McpServerBuilder {
        McpServerBuilder {
            name: name.into(),
            version: version.into(),
            title: None,
            instructions: None,
            tools: Vec::new(),
            config: Config::default(),
            store: None,
        }
    }

    /// The body limit adapters buffer up to; a larger body is answered with
    /// [`Error::payload_too_large`].
    pub fn max_body(&self) -> usize {
        self.inner.config.max_body
    }

    /// The session store.
    pub fn sessions(&self) -> &dyn SessionStore {
        &*self.inner.store
    }

    /// Answers `GET /.well-known/oauth-protected-resource{prefix}` (RFC 9728) for a server
    /// mounted at `prefix` and configured with [`oauth`](McpServerBuilder::oauth): the
    /// protected resource metadata, with URLs built from the request's external origin (and
    /// forwarded prefix, behind a trusted proxy). Adapters route the root-anchored path here
    /// with their `well_known` helper; 404 when the server has no OAuth configuration.
    pub async fn well_known(&self, req: Request<Bytes>, prefix: &str) -> Response<McpBody> {
        let (parts, _) = req.into_parts();
        let external = forwarded::external(&parts, self.inner.config.trusted_proxies.as_ref());
        if let Err(e) = self
            .inner
            .config
            .policy
            .check(&parts.headers, &external.authority, false)
        {
            return e.into_response();
        }
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return Error::new(ErrorKind::MethodNotAllowed, "Method Not Allowed")
                .with_allow("GET")
                .into_response();
        }
        let Some((resource, _)) = &self.inner.config.oauth else {
            return Error::new(
                ErrorKind::NotFound,
                "Not Found: this server is not an OAuth protected resource",
            )
            .into_response();
        };
        let document = resource.document(&external.url(prefix.trim_end_matches('/')));
        let mut response = json_response(Bytes::from(document.to_string()));
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        );
        response
    }

    /// Handles one HTTP request to the mounted server.
    ///
    /// `req` carries the request as the host received it (its URI path includes the mount
    /// prefix) with the body buffered; `prefix` is the external path the server is mounted at,
    /// e.g. `/api/v1/mcp` (see [`mount_prefix`](crate::mount_prefix)). Every outcome, including
    /// bad input, is a response: this never panics on what came off the wire.
    pub async fn handle(&self, req: Request<Bytes>, prefix: &str) -> Response<McpBody> {
        // The CORS origin, when there is a policy and it allows the request's Origin.
        let cors = self.inner.config.cors.as_ref().and_then(|cors| {
            let origin = req.headers().get(header::ORIGIN)?;
            cors.allows(origin.to_str().ok()?)
                .then(|| (cors, origin.clone()))
        });
        let mut response = match self.inner.handle(req, prefix, cors.is_some()).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        if let Some((cors, origin)) = cors {
            cors.decorate(&origin, &mut response);
        }
        response
    }
}

/// Checks the bearer token: the principal, or the 401/403 with its challenge.
async fn authenticate(
    headers: &HeaderMap,
    resource: &ProtectedResource,
    verifier: &dyn TokenVerifier,
    metadata: &str,
) -> Result<Principal, Error> {
    let required = &resource.required_scopes;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(Error::new(
            ErrorKind::Unauthorized,
            "Unauthorized: a bearer token is required",
        )
        .with_challenge(auth::challenge(metadata, required, None)));
    };
    let principal = verifier.verify(token).await.map_err(|e| {
        Error::new(ErrorKind::Unauthorized, format!("Unauthorized: {e}")).with_challenge(
            auth::challenge(metadata, required, Some(("invalid_token", &e.0))),
        )
    })?;
    if let Some(missing) = required
        .iter()
        .find(|scope| !principal.scopes.contains(scope))
    {
        let description = format!("the token lacks the scope {missing}");
        return Err(Error::new(
            ErrorKind::InsufficientScope,
            format!("Forbidden: {description}"),
        )
        .with_challenge(auth::challenge(
            metadata,
            required,
            Some(("insufficient_scope", &description)),
        )));
    }
    Ok(principal)
}

fn accepted() -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn json_response(body: Bytes) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn supported_version(version: &str) -> Option<&'static str> {
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .copied()
        .find(|v| *v == version)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeParams {
    protocol_version: String,
    #[serde(default)]
    capabilities: Value,
    #[serde(default)]
    client_info: Value,
}

#[derive(Deserialize, Default)]
struct RequestMeta {
    #[serde(rename = "progressToken", default)]
    progress_token: Option<Value>,
}

#[derive(Deserialize)]
struct CallToolParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMeta>,
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct SetLevelParams {
    level: LoggingLevel,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelledParams {
    request_id: Value,
}

fn parse_params<'a, T: Deserialize<'a>>(params: Option<&'a RawValue>) -> Result<T, RpcError> {
    serde_json::from_str(params.map_or("{}", RawValue::get))
        .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}")))
}

/// The answer to one JSON-RPC request before it becomes an HTTP response.
enum Reply {
    /// The whole JSON-RPC response, known now.
    Ready(Bytes),
    /// A handler still running; may stream notifications first.
    Running(Running),
}

struct Running {
    id: RequestId,
    future: crate::tool::BoxFuture<CallToolResult>,
    notifications: Option<mpsc::UnboundedReceiver<Bytes>>,
    cancel: CancellationToken,
    /// Keeps the request registered for `notifications/cancelled` until it is answered.
    in_flight: Option<InFlight>,
}

impl Inner {
    async fn handle(
        self: &Arc<Self>,
        req: Request<Bytes>,
        prefix: &str,
        cors_allowed: bool,
    ) -> Result<Response<McpBody>, Error> {
        let (mut parts, body) = req.into_parts();
        let external =
            forwarded::external(&parts, self.config.trusted_proxies.as_ref()).into_owned();
        self.config
            .policy
            .check(&parts.headers, &external.authority, cors_allowed)?;
        let external_prefix = external.path(prefix.trim_end_matches('/'));
        if cors_allowed && Cors::is_preflight(&parts.method, &parts.headers) {
            if let (Some(cors), Some(origin)) =
                (&self.config.cors, parts.headers.get(header::ORIGIN))
            {
                transport::route(parts.uri.path(), prefix, self.config.rest_view)?;
                return Ok(cors.preflight(origin, &parts.headers));
            }
        }
        if let Some((resource, verifier)) = &self.config.oauth {
            let metadata = format!(
                "{}{}",
                external.origin(),
                auth::well_known_path(&external_prefix)
            );
            let principal = authenticate(&parts.headers, resource, &**verifier, &metadata).await?;
            parts.extensions.insert(principal);
        }
        let path = parts.uri.path().to_owned();
        match transport::route(&path, prefix, self.config.rest_view)? {
            Route::Endpoint => {}
            Route::RestTools => return self.rest_tools(&parts.method),
            Route::RestTool(name) => return self.rest_tool(name, parts, body).await,
            Route::RestImage(name) => return self.rest_image(name, parts, body).await,
            Route::OpenApi => return self.openapi(&parts.method, &external, prefix),
            Route::RestCompletions => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    "Not Found: this server has no completions",
                ));
            }
            Route::LegacySse | Route::LegacyMessages if self.config.stateless => {
                return Err(Error::new(
                    ErrorKind::MethodNotAllowed,
                    "Method Not Allowed: the HTTP+SSE transport needs sessions, and this server is stateless",
                )
                .with_allow("POST"));
            }
            Route::LegacySse if parts.method == Method::GET => {
                return self.legacy_open(&parts.headers, &external_prefix);
            }
            Route::LegacyMessages if parts.method == Method::POST => {
                return self.legacy_message(parts, body).await;
            }
            Route::LegacySse => {
                return Err(Error::from(ErrorKind::MethodNotAllowed).with_allow("GET"));
            }
            Route::LegacyMessages => {
                return Err(Error::from(ErrorKind::MethodNotAllowed).with_allow("POST"));
            }
        }
        let allow = if self.config.stateless {
            "POST"
        } else {
            "GET, POST, DELETE"
        };
        match parts.method {
            Method::POST => self.post(parts, body).await,
            Method::GET if !self.config.stateless => self.get(&parts),
            Method::DELETE if !self.config.stateless => self.delete(&parts),
            _ => Err(Error::new(
                ErrorKind::MethodNotAllowed,
                format!("Method Not Allowed: {} (allowed: {allow})", parts.method),
            )
            .with_allow(allow)),
        }
    }

    fn check_version_header(headers: &HeaderMap) -> Result<&'static str, Error> {
        match headers.get(&MCP_PROTOCOL_VERSION) {
            None => Ok(DEFAULT_HEADER_VERSION),
            Some(value) => value.to_str().ok().and_then(supported_version).ok_or_else(|| {
                Error::new(
                    ErrorKind::UnsupportedProtocolVersion,
                    format!(
                        "Bad Request: Unsupported protocol version: {} (supported versions: {})",
                        String::from_utf8_lossy(value.as_bytes()),
                        SUPPORTED_PROTOCOL_VERSIONS.join(", ")
                    ),
                )
            }),
        }
    }

    /// The session named by `Mcp-Session-Id` (`None` in stateless mode).
    /// The session named by `Mcp-Session-Id` (`None` in stateless mode). A session bound to
    /// another principal is not found, as an unknown one.
    fn session(&self, parts: &http::request::Parts) -> Result<Option<Arc<Session>>, Error> {
        if self.config.stateless {
            return Ok(None);
        }
        let Some(id) = header_str(&parts.headers, &MCP_SESSION_ID) else {
            return Err(ErrorKind::MissingSession.into());
        };
        self.store
            .get(id)
            .filter(|session| session.principal() == self.principal_of(parts).as_deref())
            .map(Some)
            .ok_or_else(|| ErrorKind::SessionNotFound.into())
    }

    /// The principal sessions are bound to, when they are.
    fn principal_of(&self, parts: &http::request::Parts) -> Option<String> {
        self.config
            .bind_sessions
            .as_ref()
            .and_then(|bind| bind(parts))
    }

    fn get(&self, parts: &http::request::Parts) -> Result<Response<McpBody>, Error> {
        let headers = &parts.headers;
        if !transport::accepts(headers).1 {
            return Err(Error::new(
                ErrorKind::NotAcceptable,
                "Not Acceptable: Client must accept text/event-stream",
            ));
        }
        Self::check_version_header(headers)?;
        let Some(session) = self.session(parts)? else {
            return Err(ErrorKind::MethodNotAllowed.into());
        };
        let Some(rx) = session.open_stream(64) else {
            return Err(Error::new(ErrorKind::SessionNotFound, "Session not found"));
        };
        Ok(sse::response(McpBody::stream(rx)))
    }

    fn delete(&self, parts: &http::request::Parts) -> Result<Response<McpBody>, Error> {
        let Some(session) = self.session(parts)? else {
            return Err(ErrorKind::MethodNotAllowed.into());
        };
        if let Some(removed) = self.store.remove(session.id()) {
            removed.close();
        }
        session.close();
        Ok(Response::new(McpBody::empty()))
    }

    async fn post(
        self: &Arc<Self>,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<McpBody>, Error> {
        let (json, sse) = transport::accepts(&parts.headers);
        if !(json && sse) {
            return Err(Error::new(
                ErrorKind::NotAcceptable,
                "Not Acceptable: Client must accept both application/json and text/event-stream",
            ));
        }
        transport::require_json_content_type(&parts.headers)?;
        if body.len() > self.config.max_body {
            return Err(Error::payload_too_large(self.config.max_body));
        }
        Self::check_version_header(&parts.headers)?;
        let envelope = match serde_json::from_slice::<Envelope<'_>>(&body) {
            Ok(envelope) => envelope,
            Err(e) => {
                let first = body.iter().find(|b| !b.is_ascii_whitespace());
                return Err(
                    if first == Some(&b'[') && serde_json::from_slice::<&RawValue>(&body).is_ok() {
                        Error::new(
                            ErrorKind::InvalidRequest,
                            "Invalid Request: JSON-RPC batches are not supported",
                        )
                    } else if e.is_data() {
                        Error::new(
                            ErrorKind::InvalidRequest,
                            "Invalid Request: expected a JSON-RPC object",
                        )
                    } else {
                        Error::new(ErrorKind::Parse, format!("Parse error: {e}"))
                    },
                );
            }
        };
        let message = envelope.classify().map_err(|invalid| {
            Error::new(ErrorKind::InvalidRequest, invalid.message).with_id(invalid.id)
        })?;
        if let Message::Request { id, method, params } = &message {
            if method == "initialize" {
                return self.initialize(&parts, id, *params);
            }
        }
        let session = self.session(&parts)?;
        match message {
            Message::Notification { method, params } => {
                self.notification(session.as_deref(), &method, params);
                Ok(accepted())
            }
            // Answers to server-to-client requests; nothing in this server sends those yet.
            Message::Response => Ok(accepted()),
            Message::Request { id, method, params } => {
                let reply = match self.request(parts, session, &id, &method, params) {
                    Ok(reply) => reply,
                    Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &error)),
                };
                Ok(self.respond(reply).await)
            }
        }
    }

    fn initialize(
        &self,
        parts: &http::request::Parts,
        id: &RequestId,
        params: Option<&RawValue>,
    ) -> Result<Response<McpBody>, Error> {
        if !self.config.stateless && parts.headers.contains_key(&MCP_SESSION_ID) {
            // A known session is already initialised; an unknown one gets the usual 404.
            self.session(parts)?;
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "Invalid Request: Server already initialized",
            )
            .with_id(Some(id.clone())));
        }
        let params: InitializeParams = match parse_params(params) {
            Ok(params) => params,
            Err(error) => return Ok(self.reply_now(jsonrpc::error_bytes(Some(id), &error))),
        };
        let version =
            supported_version(&params.protocol_version).unwrap_or(LATEST_PROTOCOL_VERSION);
        let mut session_id = None;
        if !self.config.stateless {
            let principal = self.principal_of(parts);
            let session = Session::new(version, params.capabilities, params.client_info)
                .map(|s| s.with_principal(principal))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::TooManySessions,
                        format!("Service Unavailable: {e}"),
                    )
                })?;
            let session = Arc::new(session);
            session_id = Some(session.id().to_owned());
            self.store
                .insert(session)
                .map_err(|_| Error::from(ErrorKind::TooManySessions))?;
        }
        let mut response = self.reply_now(self.initialize_result(id, version));
        if let Some(session_id) = session_id.and_then(|s| HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(MCP_SESSION_ID, session_id);
        }
        Ok(response)
    }

    /// The JSON-RPC response to `initialize` at `version`.
    fn initialize_result(&self, id: &RequestId, version: &str) -> Bytes {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("tools".into(), serde_json::json!({ "listChanged": false }));
        capabilities.insert("logging".into(), serde_json::json!({}));
        let mut result = serde_json::Map::new();
        result.insert("protocolVersion".into(), Value::String(version.to_owned()));
        result.insert("capabilities".into(), Value::Object(capabilities));
        result.insert("serverInfo".into(), self.server_info.clone());
        if let Some(instructions) = &self.instructions {
            result.insert("instructions".into(), Value::String(instructions.clone()));
        }
        jsonrpc::result_bytes(id, Value::Object(result).to_string().as_bytes())
    }

    fn notification(&self, session: Option<&Session>, method: &str, params: Option<&RawValue>) {
        match method {
            "notifications/initialized" => {
                if let Some(session) = session {
                    session.mark_initialized();
                }
            }
            "notifications/cancelled" => {
                let Ok(params) = parse_params::<CancelledParams>(params) else {
                    return;
                };
                if let (Some(session), Some(id)) =
                    (session, RequestId::from_value(&params.request_id))
                {
                    session.cancel_request(&id);
                }
            }
            // Other notifications need no action; the spec lets receivers ignore them.
            _ => {}
        }
    }

    fn request(
        &self,
        parts: http::request::Parts,
        session: Option<Arc<Session>>,
        id: &RequestId,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Reply, RpcError> {
        let ready = |result: &[u8]| Ok(Reply::Ready(jsonrpc::result_bytes(id, result)));
        match method {
            "ping" => ready(b"{}"),
            "tools/list" => self.list_tools(params).and_then(|page| ready(&page)),
            "tools/call" => self.call_tool(parts, session, id, params),
            "logging/setLevel" => {
                let params: SetLevelParams = parse_params(params)?;
                if let Some(session) = session {
                    session.set_log_level(params.level);
                }
                ready(b"{}")
            }
            _ => Err(RpcError::new(
                jsonrpc::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }

    fn list_tools(&self, params: Option<&RawValue>) -> Result<Vec<u8>, RpcError> {
        let params: ListParams = parse_params(params)?;
        let tools = self
            .tools
            .read()
            .map(|t| Arc::clone(&t))
            .map_err(|_| RpcError::internal("tool registry unavailable"))?;
        let start = match params.cursor.as_deref() {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .filter(|start| *start <= tools.definitions.len())
                .ok_or_else(|| RpcError::invalid_params("Invalid params: invalid cursor"))?,
        };
        let end = (start + self.config.page_size).min(tools.definitions.len());
        let mut out = Vec::with_capacity(
            64 + tools.definitions[start..end]
                .iter()
                .map(|d| d.get().len() + 1)
                .sum::<usize>(),
        );
        out.extend_from_slice(b"{\"tools\":[");
        for (i, definition) in tools.definitions[start..end].iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(definition.get().as_bytes());
        }
        out.push(b']');
        if end < tools.definitions.len() {
            out.extend_from_slice(b",\"nextCursor\":\"");
            out.extend_from_slice(encode_cursor(end).as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(out)
    }

    fn call_tool(
        &self,
        parts: http::request::Parts,
        session: Option<Arc<Session>>,
        id: &RequestId,
        params: Option<&RawValue>,
    ) -> Result<Reply, RpcError> {
        if params.is_none() {
            return Err(RpcError::invalid_params(
                "Invalid params: tools/call needs params with a name",
            ));
        }
        let params: CallToolParams<'_> = parse_params(params)?;
        let arguments = params.arguments.filter(|a| a.get() != "null");
        if arguments.is_some_and(|a| !a.get().starts_with('{')) {
            return Err(RpcError::invalid_params(
                "Invalid params: tools/call arguments must be an object",
            ));
        }
        let invoke = {
            let tools = self
                .tools
                .read()
                .map_err(|_| RpcError::internal("tool registry unavailable"))?;
            match tools.index.get(&*params.name) {
                Some(&i) => Arc::clone(&tools.tools[i].invoke),
                None => {
                    return Err(
                        RpcError::invalid_params(format!("Unknown tool: {}", params.name))
                            .with_data(serde_json::json!({ "name": params.name })),
                    );
                }
            }
        };
        let progress_token = params
            .meta
            .and_then(|m| m.progress_token)
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64());
        let (sink, notifications) = if self.config.response_mode == ResponseMode::Json {
            (None, None)
        } else {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        };
        // Without a session nothing can cancel the call: share one token that never fires.
        let in_flight = session.as_ref().map(|s| s.begin_request(id.clone()));
        let cancel = in_flight
            .as_ref()
            .map_or_else(|| self.never_cancelled.clone(), |f| f.token.clone());
        let ctx = RequestContext::new(
            id.clone(),
            progress_token,
            parts,
            session,
            sink,
            cancel.clone(),
        );
        Ok(Reply::Running(Running {
            id: id.clone(),
            future: invoke(arguments, ctx),
            notifications,
            cancel,
            in_flight,
        }))
    }

    /// A complete answer, as JSON or, in [`ResponseMode::Sse`], as a one-event stream.
    fn reply_now(&self, message: Bytes) -> Response<McpBody> {
        if self.config.response_mode == ResponseMode::Sse {
            sse::response(McpBody::full(sse::event(&message)))
        } else {
            json_response(message)
        }
    }

    async fn respond(&self, reply: Reply) -> Response<McpBody> {
        let Running {
            id,
            future,
            notifications,
            cancel,
            in_flight,
        } = match reply {
            Reply::Ready(message) => return self.reply_now(message),
            Reply::Running(running) => running,
        };
        // The plain path: nothing to stream and nothing can cancel the call (only a call in a
        // session can be named by `notifications/cancelled`). Await it where it stands.
        if notifications.is_none() && in_flight.is_none() {
            let result = future.await;
            return self.reply_now(jsonrpc::serialize_result(&id, &result));
        }
        let mut future = Box::pin(async move {
            let result = future.await;
            drop(in_flight);
            jsonrpc::serialize_result(&id, &result)
        });
        let Some(mut notifications) = notifications else {
            return tokio::select! {
                biased;
                () = cancel.cancelled() => cancelled_response(),
                message = &mut future => self.reply_now(message),
            };
        };
        // Run the handler here until it finishes or sends its first notification. Handlers that
        // send nothing are answered in one piece with no task spawned.
        let first = tokio::select! {
            biased;
            () = cancel.cancelled() => return cancelled_response(),
            Some(first) = notifications.recv() => first,
            message = &mut future => {
                let mut out = Vec::new();
                while let Ok(n) = notifications.try_recv() {
                    sse::push_event(&mut out, &n);
                }
                if out.is_empty() {
                    return self.reply_now(message);
                }
                sse::push_event(&mut out, &message);
                return sse::response(McpBody::full(out));
            }
        };
        let (tx, rx) = mpsc::channel(32);
        tokio::spawn(stream_handler(first, future, notifications, cancel, tx));
        sse::response(McpBody::stream(rx))
    }
}

/// Forwards a running handler's notifications and then its result as SSE events. A client that
/// went away does not cancel the handler (the spec says a disconnect is not a cancellation).
async fn stream_handler(
    first: Bytes,
    mut future: impl Future<Output = Bytes> + Unpin,
    mut notifications: mpsc::UnboundedReceiver<Bytes>,
    cancel: CancellationToken,
    tx: mpsc::Sender<Bytes>,
) {
    let _ = tx.send(sse::event(&first)).await;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            Some(n) = notifications.recv() => {
                let _ = tx.send(sse::event(&n)).await;
            }
            message = &mut future => {
                let mut out = Vec::new();
                while let Ok(n) = notifications.try_recv() {
                    sse::push_event(&mut out, &n);
                }
                sse::push_event(&mut out, &message);
                let _ = tx.send(Bytes::from(out)).await;
                return;
            }
        }
    }
}

/// A cancelled request gets no JSON-RPC response: an SSE stream that ends with no event.
fn cancelled_response() -> Response<McpBody> {
    sse::response(McpBody::empty())
}

fn encode_cursor(offset: usize) -> String {
    format!("o{offset:x}")
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix('o')?, 16).ok()
}
