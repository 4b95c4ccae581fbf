//! [`McpServer`]: the builder, the run-time registry API and the HTTP request pipeline.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::handler::prompt::Prompt;
use crate::handler::resource::{Resource, ResourceTemplate};
use crate::handler::tool::Tool;
use crate::http::bearer::{self, Principal, ProtectedResource, TokenVerifier};
use crate::http::body::McpBody;
use crate::http::cors::Cors;
use crate::http::error::{Error, ErrorKind};
use crate::http::forwarded::{self, TrustedProxies};
use crate::http::guard::HostOriginPolicy;
use crate::http::negotiate;
use crate::http::reply::{self, StreamConfig};
use crate::http::routing::{self, Route};
use crate::http::sse;
use crate::protocol::jsonrpc::{self, Envelope, Message, RpcError};
use crate::protocol::sse::EventId;
use crate::registry::{Entry, Registry};
use crate::session::{
    InMemorySessionStore, ReplayLimit, ResumeError, STANDALONE, Session, SessionStore,
};

pub use crate::http::stateless::{
    CacheScope, HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, MODERN_PROTOCOL_VERSION,
    UNSUPPORTED_PROTOCOL_VERSION,
};

/// The newest protocol version of the handshake era.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// Every handshake-era protocol version this server negotiates, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The version assumed when a request carries no `MCP-Protocol-Version` header.
const DEFAULT_HEADER_VERSION: &str = "2025-03-26";

/// The one version whose clients may send JSON-RPC batches.
const BATCH_VERSION: &str = "2025-03-26";

pub(crate) const MCP_SESSION_ID: &str = "mcp-session-id";
const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
const LAST_EVENT_ID: &str = "last-event-id";

/// How a request's answer is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// JSON when the handler sends nothing before its result; an SSE stream as soon as it sends
    /// a message (progress, logging, a request to the client). The default.
    #[default]
    Auto,
    /// Always `application/json`; notifications from handlers are dropped and handlers cannot
    /// send requests to the client.
    Json,
    /// Always `text/event-stream`.
    Sse,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_body: usize,
    pub(crate) session_ttl: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) stateless: bool,
    pub(crate) response_mode: ResponseMode,
    pub(crate) policy: HostOriginPolicy,
    pub(crate) page_size: usize,
    pub(crate) sse_retry: Duration,
    pub(crate) replay: ReplayLimit,
    pub(crate) client_timeout: Duration,
    pub(crate) trusted_proxies: Option<TrustedProxies>,
    pub(crate) rest_view: bool,
    pub(crate) cors: Option<Cors>,
    pub(crate) bind_sessions: Option<BindSessions>,
    pub(crate) oauth: Option<(ProtectedResource, Arc<dyn TokenVerifier>)>,
    pub(crate) cache: crate::http::stateless::CachePolicy,
    pub(crate) input_ttl: Duration,
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
            sse_retry: Duration::from_secs(1),
            replay: ReplayLimit::default(),
            client_timeout: Duration::from_secs(60),
            trusted_proxies: None,
            rest_view: false,
            cors: None,
            bind_sessions: None,
            oauth: None,
            cache: crate::http::stateless::CachePolicy::default(),
            input_ttl: Duration::from_secs(10 * 60),
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
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
    config: Config,
    store: Option<Arc<dyn SessionStore>>,
}

impl fmt::Debug for McpServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServerBuilder")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("tools", &self.tools.len())
            .field("resources", &self.resources.len())
            .field("templates", &self.templates.len())
            .field("prompts", &self.prompts.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a server definition, or a run-time change to it, was refused.
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

    /// Adds a resource.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Adds several resources.
    pub fn resources(mut self, resources: impl IntoIterator<Item = Resource>) -> Self {
        self.resources.extend(resources);
        self
    }

    /// Adds a resource template. A URI that no resource has is read through the first template
    /// (in the order they were added) that matches it.
    pub fn resource_template(mut self, template: ResourceTemplate) -> Self {
        self.templates.push(template);
        self
    }

    /// Adds a prompt.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompts.push(prompt);
        self
    }

    /// Adds several prompts.
    pub fn prompts(mut self, prompts: impl IntoIterator<Item = Prompt>) -> Self {
        self.prompts.extend(prompts);
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
    /// behind any load balancer; cancellation, subscriptions, change notifications and requests
    /// to the client need a session and are unavailable.
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

    /// The reconnection delay sent in the `retry` field of priming events (default 1 s).
    pub fn sse_retry(mut self, retry: Duration) -> Self {
        self.config.sse_retry = retry;
        self
    }

    /// How much SSE traffic each session keeps for `Last-Event-ID` replay: at most `events`
    /// events and `bytes` bytes, the oldest dropped first (default 32 events, 256 KiB).
    ///
    /// `events == 0` turns resumability off: streams then carry no event ids and no priming
    /// events.
    pub fn sse_replay_buffer(mut self, events: usize, bytes: usize) -> Self {
        self.config.replay = ReplayLimit { events, bytes };
        self
    }

    /// How long a handler waits for the client to answer a request it sent
    /// ([`RequestContext::create_message`](crate::RequestContext::create_message) and the like)
    /// before giving up with a timeout (default 60 s).
    pub fn client_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.client_timeout = timeout;
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
    /// `POST {prefix}/completions` (`completion/complete`), `POST {prefix}/images/{tool}` (the
    /// first image's bytes) and `GET {prefix}/openapi.json`.
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
    /// [`Principal`] of [`oauth`](Self::oauth)), and a session used by anyone else answers 404,
    /// as an unknown session does.
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
    /// [`Principal`] is put in the request's extensions for handlers. Serve the metadata
    /// document from the host's root router with each adapter's `well_known` helper (or
    /// [`McpServer::well_known`]).
    pub fn oauth(mut self, resource: ProtectedResource, verifier: impl TokenVerifier) -> Self {
        self.config.oauth = Some((resource, Arc::new(verifier)));
        self
    }

    /// How long, and by whom, 2026-07-28 clients may cache `server/discover`, the lists and
    /// `resources/read` results: their `ttlMs` and `cacheScope` (default 0 ms, private, so
    /// clients always re-fetch and never share).
    pub fn cache_policy(mut self, ttl: Duration, scope: CacheScope) -> Self {
        self.config.cache = crate::http::stateless::CachePolicy { ttl, scope };
        self
    }

    /// How long the `requestState` of a 2026-07-28 `input_required` result stays valid
    /// (default 10 minutes): a retry after that is refused with `-32602`.
    pub fn input_request_ttl(mut self, ttl: Duration) -> Self {
        self.config.input_ttl = ttl;
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
    /// A tool name that breaks the spec's rules, a tool whose input schema is not an object
    /// schema, a resource URI without a scheme, a URI template that is not RFC 6570 level 1, a
    /// completion handler for an argument or variable that does not exist, or two entries of
    /// one kind with the same name or URI.
    pub fn try_build(self) -> Result<McpServer, BuildError> {
        let store = self.store.unwrap_or_else(|| {
            Arc::new(InMemorySessionStore::new(
                self.config.session_ttl,
                self.config.max_sessions,
            ))
        });
        let mut state_key = [0u8; 32];
        getrandom::fill(&mut state_key)
            .map_err(|e| BuildError(format!("no randomness for the requestState key: {e}")))?;
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
                tools: registry(self.tools)?,
                resources: registry(self.resources)?,
                templates: registry(self.templates)?,
                prompts: registry(self.prompts)?,
                config: self.config,
                store,
                listeners: Mutex::new(Vec::new()),
                never_cancelled: CancellationToken::new(),
                legacy: crate::http::http_sse::LegacySessions::default(),
                events: tokio::sync::broadcast::channel(256).0,
                state_key,
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
            // PANIC: documented; an invalid definition is a bug in the host program.
            Err(e) => panic!("invalid MCP server definition: {e}"),
        }
    }
}

fn registry<T: Entry>(items: Vec<T>) -> Result<RwLock<Arc<Registry<T>>>, BuildError> {
    Registry::new(items)
        .map(|r| RwLock::new(Arc::new(r)))
        .map_err(BuildError)
}

/// A complete MCP server, ready to be mounted under any path by an adapter.
///
/// Cheap to clone: the state is shared behind an `Arc`. Tools, resources, templates and prompts
/// can be added and removed while it serves; every session with an open GET stream is told
/// with a `notifications/*/list_changed`.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) server_info: Value,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: RwLock<Arc<Registry<Tool>>>,
    pub(crate) resources: RwLock<Arc<Registry<Resource>>>,
    pub(crate) templates: RwLock<Arc<Registry<ResourceTemplate>>>,
    pub(crate) prompts: RwLock<Arc<Registry<Prompt>>>,
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn SessionStore>,
    /// Sessions that opened a GET stream: where server-wide notifications go.
    pub(crate) listeners: Mutex<Vec<Weak<Session>>>,
    /// Shared by every call that nothing can cancel (no session).
    pub(crate) never_cancelled: CancellationToken,
    /// Sessions of the 2024-11-05 HTTP+SSE transport.
    pub(crate) legacy: crate::http::http_sse::LegacySessions,
    /// Change events for 2026-07-28 `subscriptions/listen` streams.
    pub(crate) events: tokio::sync::broadcast::Sender<crate::http::stateless::ServerEvent>,
    /// Seals MRTR `requestState` (HMAC-SHA256), drawn when the server is built.
    pub(crate) state_key: [u8; 32],
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("server_info", &self.inner.server_info)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The current snapshot of a registry.
pub(crate) fn snapshot<T>(lock: &RwLock<Arc<Registry<T>>>) -> Result<Arc<Registry<T>>, RpcError> {
    lock.read()
        .map(|r| Arc::clone(&r))
        .map_err(|_| RpcError::internal("the registry is unavailable"))
}

/// Replaces a registry with `change(current)`, if it gives one; `Ok(false)` when it did not.
fn update<T>(
    lock: &RwLock<Arc<Registry<T>>>,
    change: impl FnOnce(&Registry<T>) -> Result<Option<Registry<T>>, String>,
) -> Result<bool, BuildError> {
    let mut current = lock
        .write()
        .map_err(|_| BuildError("the registry is unavailable".to_owned()))?;
    match change(&current).map_err(BuildError)? {
        Some(next) => {
            *current = Arc::new(next);
            Ok(true)
        }
        None => Ok(false),
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
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
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
        let mut response = reply::json_response(Bytes::from(document.to_string()));
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        );
        response
    }

    /// Adds a tool, or replaces the one with the same name, and sends
    /// `notifications/tools/list_changed`.
    ///
    /// # Errors
    ///
    /// A tool [`McpServerBuilder::try_build`] would refuse.
    pub fn add_tool(&self, tool: Tool) -> Result<(), BuildError> {
        update(&self.inner.tools, |r| r.with(tool).map(Some))?;
        self.inner.list_changed("notifications/tools/list_changed");
        Ok(())
    }

    /// Removes the tool `name` and sends `notifications/tools/list_changed`; `false` when there
    /// was none.
    pub fn remove_tool(&self, name: &str) -> bool {
        self.remove(&self.inner.tools, name, "notifications/tools/list_changed")
    }

    /// Adds a resource, or replaces the one with the same URI, and sends
    /// `notifications/resources/list_changed`.
    ///
    /// # Errors
    ///
    /// A resource [`McpServerBuilder::try_build`] would refuse.
    pub fn add_resource(&self, resource: Resource) -> Result<(), BuildError> {
        update(&self.inner.resources, |r| r.with(resource).map(Some))?;
        self.inner
            .list_changed("notifications/resources/list_changed");
        Ok(())
    }

    /// Removes the resource at `uri` and sends `notifications/resources/list_changed`; `false`
    /// when there was none.
    pub fn remove_resource(&self, uri: &str) -> bool {
        self.remove(
            &self.inner.resources,
            uri,
            "notifications/resources/list_changed",
        )
    }

    /// Adds a resource template, or replaces the one with the same URI template, and sends
    /// `notifications/resources/list_changed`.
    ///
    /// # Errors
    ///
    /// A template [`McpServerBuilder::try_build`] would refuse.
    pub fn add_resource_template(&self, template: ResourceTemplate) -> Result<(), BuildError> {
        update(&self.inner.templates, |r| r.with(template).map(Some))?;
        self.inner
            .list_changed("notifications/resources/list_changed");
        Ok(())
    }

    /// Removes the resource template `uri_template` and sends
    /// `notifications/resources/list_changed`; `false` when there was none.
    pub fn remove_resource_template(&self, uri_template: &str) -> bool {
        self.remove(
            &self.inner.templates,
            uri_template,
            "notifications/resources/list_changed",
        )
    }

    /// Adds a prompt, or replaces the one with the same name, and sends
    /// `notifications/prompts/list_changed`.
    ///
    /// # Errors
    ///
    /// A prompt [`McpServerBuilder::try_build`] would refuse.
    pub fn add_prompt(&self, prompt: Prompt) -> Result<(), BuildError> {
        update(&self.inner.prompts, |r| r.with(prompt).map(Some))?;
        self.inner
            .list_changed("notifications/prompts/list_changed");
        Ok(())
    }

    /// Removes the prompt `name` and sends `notifications/prompts/list_changed`; `false` when
    /// there was none.
    pub fn remove_prompt(&self, name: &str) -> bool {
        self.remove(
            &self.inner.prompts,
            name,
            "notifications/prompts/list_changed",
        )
    }

    /// Tells every session subscribed to `uri` (`resources/subscribe`) that the resource
    /// changed, with `notifications/resources/updated` on its GET stream. Returns how many
    /// sessions it reached.
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        #[derive(serde::Serialize)]
        struct Updated<'a> {
            uri: &'a str,
        }
        let message =
            jsonrpc::notification_bytes("notifications/resources/updated", &Updated { uri });
        // No listen stream open is not an error.
        let _ = self
            .inner
            .events
            .send(crate::http::stateless::ServerEvent::ResourceUpdated(
                uri.to_owned(),
            ));
        self.inner
            .listeners()
            .iter()
            .filter(|s| s.is_subscribed(uri) && s.send_on_stream(&message))
            .count()
    }

    fn remove<T: Entry>(&self, lock: &RwLock<Arc<Registry<T>>>, key: &str, method: &str) -> bool {
        let removed = update(lock, |r| Ok(r.without(key))).unwrap_or(false);
        if removed {
            self.inner.list_changed(method);
        }
        removed
    }
}

impl Inner {
    /// Live sessions with a GET stream, forgetting the ones that are gone.
    pub(crate) fn listeners(&self) -> Vec<Arc<Session>> {
        let Ok(mut listeners) = self.listeners.lock() else {
            return Vec::new();
        };
        let mut live = Vec::with_capacity(listeners.len());
        listeners.retain(|weak| match weak.upgrade() {
            Some(session) if !session.is_closed() => {
                live.push(session);
                true
            }
            _ => false,
        });
        live
    }

    pub(crate) fn listen(&self, session: &Arc<Session>) {
        if session.start_listening() {
            if let Ok(mut listeners) = self.listeners.lock() {
                // A dead session's memory is freed only when its last `Weak` goes: prune now
                // and then, so sessions that come and go without any broadcast do not pile up.
                if listeners.len() >= 64 && listeners.len().is_power_of_two() {
                    listeners.retain(|w| w.upgrade().is_some_and(|s| !s.is_closed()));
                }
                listeners.push(Arc::downgrade(session));
            }
        }
    }

    /// Sends a `list_changed` notification on every live GET stream.
    pub(crate) fn list_changed(&self, method: &str) {
        if let Some(event) = crate::http::stateless::ServerEvent::list_changed(method) {
            // No listen stream open is not an error.
            let _ = self.events.send(event);
        }
        let message = jsonrpc::notification_bytes(method, &serde_json::json!({}));
        for session in self.listeners() {
            session.send_on_stream(&message);
        }
    }

    pub(crate) fn stream_config(&self) -> StreamConfig {
        StreamConfig {
            mode: self.config.response_mode,
            retry: self.config.sse_retry,
        }
    }

    pub(crate) async fn handle(
        self: &Arc<Self>,
        req: Request<Bytes>,
        prefix: &str,
        cors_allowed: bool,
    ) -> Result<Response<McpBody>, Error> {
        let (mut parts, body) = req.into_parts();
        // Only the Host check needs the external view on every request; the few routes that
        // build URLs derive it again themselves, so the hot path allocates nothing for it.
        self.config.policy.check(
            &parts.headers,
            &self.external(&parts).authority,
            cors_allowed,
        )?;
        if cors_allowed && Cors::is_preflight(&parts.method, &parts.headers) {
            if let (Some(cors), Some(origin)) =
                (&self.config.cors, parts.headers.get(header::ORIGIN))
            {
                routing::route(parts.uri.path(), prefix, self.config.rest_view)?;
                return Ok(cors.preflight(origin, &parts.headers));
            }
        }
        if let Some((resource, verifier)) = &self.config.oauth {
            let external = self.external(&parts);
            let metadata = format!(
                "{}{}",
                external.origin(),
                bearer::well_known_path(&external.path(prefix.trim_end_matches('/')))
            );
            let principal = authenticate(&parts.headers, resource, &**verifier, &metadata).await?;
            parts.extensions.insert(principal);
        }
        match routing::route(parts.uri.path(), prefix, self.config.rest_view)? {
            Route::Endpoint => {}
            Route::RestTools => return self.rest_tools(&parts.method),
            Route::RestTool(name) => {
                let name = name.to_owned();
                return self.rest_tool(&name, parts, body).await;
            }
            Route::RestImage(name) => {
                let name = name.to_owned();
                return self.rest_image(&name, parts, body).await;
            }
            Route::RestCompletions => return self.rest_completions(parts, body).await,
            Route::OpenApi => return self.openapi(&parts.method, &self.external(&parts), prefix),
            Route::LegacySse | Route::LegacyMessages if self.config.stateless => {
                return Err(Error::new(
                    ErrorKind::MethodNotAllowed,
                    "Method Not Allowed: the HTTP+SSE transport needs sessions, and this server is stateless",
                )
                .with_allow("POST"));
            }
            Route::LegacySse if parts.method == Method::GET => {
                let external_prefix = self.external(&parts).path(prefix.trim_end_matches('/'));
                return self.legacy_open(&parts, &external_prefix);
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

    /// The URL the client used: the request's own, or what a trusted proxy says it was.
    pub(crate) fn external<'a>(&self, parts: &'a http::request::Parts) -> forwarded::External<'a> {
        forwarded::external(parts, self.config.trusted_proxies.as_ref())
    }

    pub(crate) fn check_version_header(headers: &HeaderMap) -> Result<&'static str, Error> {
        match headers.get(MCP_PROTOCOL_VERSION) {
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

    /// The session named by `Mcp-Session-Id` (`None` in stateless mode). A session bound to
    /// another principal is not found, as an unknown one.
    pub(crate) fn session(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<Arc<Session>>, Error> {
        if self.config.stateless {
            return Ok(None);
        }
        let Some(id) = header_str(&parts.headers, MCP_SESSION_ID) else {
            return Err(ErrorKind::MissingSession.into());
        };
        self.store
            .get(id)
            .filter(|session| session.principal() == self.principal_of(parts).as_deref())
            .map(Some)
            .ok_or_else(|| ErrorKind::SessionNotFound.into())
    }

    /// The principal sessions are bound to, when they are.
    pub(crate) fn principal_of(&self, parts: &http::request::Parts) -> Option<String> {
        self.config
            .bind_sessions
            .as_ref()
            .and_then(|bind| bind(parts))
    }

    pub(crate) fn get(&self, parts: &http::request::Parts) -> Result<Response<McpBody>, Error> {
        let headers = &parts.headers;
        if !negotiate::accepts(headers).1 {
            return Err(Error::new(
                ErrorKind::NotAcceptable,
                "Not Acceptable: Client must accept text/event-stream",
            ));
        }
        Self::check_version_header(headers)?;
        let Some(session) = self.session(parts)? else {
            return Err(ErrorKind::MethodNotAllowed.into());
        };
        if let Some(last) = headers.get(LAST_EVENT_ID) {
            let text = last.to_str().unwrap_or("");
            let Some(after) = EventId::parse(text) else {
                return Err(Error::new(
                    ErrorKind::CannotResume,
                    format!(
                        "Bad Request: Last-Event-ID {text:?} is not an event id of this server"
                    ),
                ));
            };
            let rx = session.resume(after, self.config.sse_retry).map_err(|e| {
                let why = match e {
                    ResumeError::NotResumable => {
                        "this session's streams are not resumable (its protocol version is before 2025-11-25)"
                    }
                    ResumeError::UnknownStream => "no stream of this session has that event id",
                    ResumeError::Gone => {
                        "the events after that id are no longer kept (the replay buffer is full)"
                    }
                };
                Error::new(
                    ErrorKind::CannotResume,
                    format!("Bad Request: cannot resume after Last-Event-ID {text:?}: {why}"),
                )
            })?;
            if after.stream == STANDALONE {
                self.listen(&session);
            }
            return Ok(sse::response(McpBody::stream(rx)));
        }
        let Some(rx) = session.open_stream(64, self.config.sse_retry) else {
            return Err(ErrorKind::SessionNotFound.into());
        };
        self.listen(&session);
        Ok(sse::response(McpBody::stream(rx)))
    }

    pub(crate) fn delete(&self, parts: &http::request::Parts) -> Result<Response<McpBody>, Error> {
        let Some(session) = self.session(parts)? else {
            return Err(ErrorKind::MethodNotAllowed.into());
        };
        if let Some(removed) = self.store.remove(session.id()) {
            removed.close();
        }
        session.close();
        Ok(Response::new(McpBody::empty()))
    }

    pub(crate) async fn post(
        self: &Arc<Self>,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<McpBody>, Error> {
        let (json, sse) = negotiate::accepts(&parts.headers);
        if !(json && sse) {
            return Err(Error::new(
                ErrorKind::NotAcceptable,
                "Not Acceptable: Client must accept both application/json and text/event-stream",
            ));
        }
        negotiate::require_json_content_type(&parts.headers)?;
        if body.len() > self.config.max_body {
            return Err(Error::payload_too_large(self.config.max_body));
        }
        let is_batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        if !is_batch && crate::http::stateless::may_be_modern(&body) {
            let message = serde_json::from_slice::<Envelope<'_>>(&body)
                .ok()
                .and_then(|envelope| envelope.classify().ok())
                .filter(crate::http::stateless::is_modern);
            if let Some(message) = message {
                return Ok(self.modern(parts, message).await);
            }
        }
        Self::check_version_header(&parts.headers)?;
        if is_batch {
            return self.batch(parts, &body).await;
        }
        let envelope = match serde_json::from_slice::<Envelope<'_>>(&body) {
            Ok(envelope) => envelope,
            Err(e) if e.is_data() => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "Invalid Request: expected a JSON-RPC object",
                ));
            }
            Err(e) => return Err(Error::new(ErrorKind::Parse, format!("Parse error: {e}"))),
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
            Message::Response { id, result, error } => {
                if let Some(session) = &session {
                    session.complete_client_request(&id, client_reply(result, error));
                }
                Ok(accepted())
            }
            Message::Request { id, method, params } => {
                let call = Call {
                    modern: None,
                    parts,
                    session: session.clone(),
                    id: &id,
                    plain_json: self.config.response_mode == ResponseMode::Json,
                };
                let reply = match self.request(call, &method, params) {
                    Ok(reply) => reply,
                    Err(error) => {
                        crate::http::reply::Reply::Ready(jsonrpc::error_bytes(Some(&id), &error))
                    }
                };
                Ok(reply::respond(self.stream_config(), session, reply).await)
            }
        }
    }

    /// A JSON-RPC batch: accepted from 2025-03-26 clients only (later versions removed batching).
    /// Each element is handled as if sent alone; the responses come back as one JSON array.
    pub(crate) async fn batch(
        self: &Arc<Self>,
        parts: http::request::Parts,
        body: &[u8],
    ) -> Result<Response<McpBody>, Error> {
        let elements: Vec<&RawValue> = serde_json::from_slice(body)
            .map_err(|e| Error::new(ErrorKind::Parse, format!("Parse error: {e}")))?;
        let session = self.session(&parts)?;
        let header = parts
            .headers
            .get(MCP_PROTOCOL_VERSION)
            .and_then(|v| v.to_str().ok());
        let version = match (header, &session) {
            (Some(header), _) => header,
            (None, Some(session)) => session.protocol_version(),
            (None, None) => DEFAULT_HEADER_VERSION,
        };
        if version != BATCH_VERSION {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "Invalid Request: JSON-RPC batches are not supported in protocol version {version} (only in {BATCH_VERSION})"
                ),
            ));
        }
        if elements.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "Invalid Request: an empty batch",
            ));
        }
        let mut messages = Vec::with_capacity(elements.len());
        for element in elements {
            let message = serde_json::from_str::<Envelope<'_>>(element.get())
                .map_err(|_| jsonrpc::Invalid {
                    id: None,
                    message: "Invalid Request: a batch element is not a JSON-RPC object",
                })
                .and_then(Envelope::classify);
            if let Ok(Message::Request { method, .. }) = &message {
                if method == "initialize" {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "Invalid Request: initialize must not be part of a JSON-RPC batch",
                    ));
                }
            }
            messages.push(message);
        }
        let mut answers = Vec::new();
        for message in messages {
            match message {
                Err(invalid) => {
                    answers.push(crate::http::reply::Reply::Ready(jsonrpc::error_bytes(
                        invalid.id.as_ref(),
                        &RpcError::new(jsonrpc::INVALID_REQUEST, invalid.message),
                    )))
                }
                Ok(Message::Notification { method, params }) => {
                    self.notification(session.as_deref(), &method, params);
                }
                Ok(Message::Response { id, result, error }) => {
                    if let Some(session) = &session {
                        session.complete_client_request(&id, client_reply(result, error));
                    }
                }
                Ok(Message::Request { id, method, params }) => {
                    let call = Call {
                        modern: None,
                        parts: parts.clone(),
                        session: session.clone(),
                        id: &id,
                        plain_json: true,
                    };
                    answers.push(match self.request(call, &method, params) {
                        Ok(reply) => reply,
                        Err(error) => crate::http::reply::Reply::Ready(jsonrpc::error_bytes(
                            Some(&id),
                            &error,
                        )),
                    });
                }
            }
        }
        if answers.is_empty() {
            return Ok(accepted());
        }
        let responses = reply::join_replies(answers).await;
        if responses.is_empty() {
            // Every request in it was cancelled: nothing to answer.
            return Ok(accepted());
        }
        let mut out = Vec::with_capacity(responses.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
        out.push(b'[');
        for (i, response) in responses.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(response);
        }
        out.push(b']');
        Ok(reply::json_response(Bytes::from(out)))
    }

    pub(crate) fn initialize(
        &self,
        parts: &http::request::Parts,
        id: &jsonrpc::RequestId,
        params: Option<&RawValue>,
    ) -> Result<Response<McpBody>, Error> {
        if !self.config.stateless && parts.headers.contains_key(MCP_SESSION_ID) {
            // A known session is already initialised; an unknown one gets the usual 404.
            self.session(parts)?;
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "Invalid Request: Server already initialized",
            )
            .with_id(Some(id.clone())));
        }
        let params: crate::engine::InitializeParams = match crate::engine::parse_params(params) {
            Ok(params) => params,
            Err(error) => {
                return Ok(reply::reply_now(
                    self.stream_config(),
                    None,
                    jsonrpc::error_bytes(Some(id), &error),
                ));
            }
        };
        let version =
            supported_version(&params.protocol_version).unwrap_or(LATEST_PROTOCOL_VERSION);
        let mut session_id = None;
        if !self.config.stateless {
            let principal = self.principal_of(parts);
            let session = Session::new(
                version,
                params.capabilities,
                params.client_info,
                self.config.replay,
            )
            .map(|session| session.with_principal(principal))
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
        let body = self.initialize_result(id, version);
        let mut response = reply::reply_now(self.stream_config(), None, body);
        if let Some(session_id) = session_id.and_then(|s| HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(MCP_SESSION_ID, session_id);
        }
        Ok(response)
    }

    /// The JSON-RPC response to `initialize` at `version`.
    pub(crate) fn initialize_result(&self, id: &jsonrpc::RequestId, version: &str) -> Bytes {
        let mut result = serde_json::Map::new();
        result.insert("protocolVersion".into(), Value::String(version.to_owned()));
        result.insert("capabilities".into(), self.capabilities());
        result.insert("serverInfo".into(), self.server_info.clone());
        if let Some(instructions) = &self.instructions {
            result.insert("instructions".into(), Value::String(instructions.clone()));
        }
        jsonrpc::result_bytes(id, Value::Object(result).to_string().as_bytes())
    }

    /// What this server offers, as registered now. Change notifications and subscriptions need
    /// a session's GET stream, so a stateless server does not offer them.
    pub(crate) fn capabilities(&self) -> Value {
        let live = !self.config.stateless;
        let has = |empty: Result<bool, RpcError>| !empty.unwrap_or(true);
        let tools = has(snapshot(&self.tools).map(|r| r.is_empty()));
        let resources = has(snapshot(&self.resources).map(|r| r.is_empty()));
        let templates = has(snapshot(&self.templates).map(|r| r.is_empty()));
        let prompts = has(snapshot(&self.prompts).map(|r| r.is_empty()));
        let mut capabilities = serde_json::Map::new();
        if tools {
            capabilities.insert("tools".into(), serde_json::json!({ "listChanged": live }));
        }
        if resources || templates {
            capabilities.insert(
                "resources".into(),
                serde_json::json!({ "subscribe": live, "listChanged": live }),
            );
        }
        if prompts {
            capabilities.insert("prompts".into(), serde_json::json!({ "listChanged": live }));
        }
        capabilities.insert("logging".into(), serde_json::json!({}));
        if prompts || templates {
            capabilities.insert("completions".into(), serde_json::json!({}));
        }
        Value::Object(capabilities)
    }
}

/// One request being dispatched.
pub(crate) struct Call<'a> {
    pub(crate) parts: http::request::Parts,
    pub(crate) session: Option<Arc<Session>>,
    pub(crate) id: &'a jsonrpc::RequestId,
    /// The answer is plain JSON: the handler cannot stream or send requests to the client.
    pub(crate) plain_json: bool,
    /// A 2026-07-28 request's declarations (`None` in the legacy era).
    pub(crate) modern: Option<Arc<crate::handler::context::ModernCall>>,
}

/// The client's answer to a server-to-client request, as the waiting handler gets it.
pub(crate) fn client_reply(
    result: Option<&RawValue>,
    error: Option<&RawValue>,
) -> crate::session::ClientReply {
    match (result, error) {
        (Some(result), _) => Ok(result.to_owned()),
        (None, Some(error)) => Err(
            serde_json::from_str::<RpcError>(error.get()).unwrap_or_else(|_| {
                RpcError::internal("the client sent a malformed JSON-RPC error object")
            }),
        ),
        (None, None) => Err(RpcError::internal("the client sent an empty response")),
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
        .with_challenge(bearer::challenge(metadata, required, None)));
    };
    let principal = verifier.verify(token).await.map_err(|e| {
        Error::new(ErrorKind::Unauthorized, format!("Unauthorized: {e}")).with_challenge(
            bearer::challenge(metadata, required, Some(("invalid_token", &e.0))),
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
        .with_challenge(bearer::challenge(
            metadata,
            required,
            Some(("insufficient_scope", &description)),
        )));
    }
    Ok(principal)
}

pub(crate) fn accepted() -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn supported_version(version: &str) -> Option<&'static str> {
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .copied()
        .find(|v| *v == version)
}
