//! [`McpServer`] and its builder: the one object a host holds, and the run-time changes to
//! what it offers. The request pipeline lives in the `http` layer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use serde_json::Value;

use crate::engine::{Engine, EngineSettings};
use crate::handler::prompt::Prompt;
use crate::handler::resource::{Resource, ResourceTemplate};
use crate::handler::tool::Tool;
#[cfg(feature = "oauth")]
use crate::http::bearer::{ProtectedResource, TokenVerifier};
use crate::http::body::McpBody;
use crate::http::config::{CachePolicy, CacheScope, Config, ResponseMode};
use crate::http::core::Core;
use crate::http::cors::Cors;
use crate::http::forwarded::TrustedProxies;
use crate::http::mrtr::KeyRing;
use crate::http::service;
use crate::registry::{Entry, Registries, Registry, Shelf};
use crate::routes::{HostHandle, RouteTools};
use crate::session::changes::{ChangeEvent, Changes};
#[cfg(feature = "http-sse")]
use crate::session::http_sse::HttpSseSessions;
use crate::session::task::{InMemoryTaskStore, TaskStore, Tasks};
use crate::session::{
    Cluster, ClusterSettings, EventLog, InMemoryEventLog, InMemorySessionStore, Inbox, LocalBus,
    MessageBus, ReplayLimit, Runtimes, SessionStore,
};

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
    task_store: Option<Arc<dyn TaskStore>>,
    log: Option<Arc<dyn EventLog>>,
    bus: Option<Arc<dyn MessageBus>>,
    state_keys: Option<Vec<Box<[u8]>>>,
    cluster: Option<Box<dyn Cluster>>,
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

    /// How long a session must have been idle for a new one to take its place when
    /// [`max_sessions`](Self::max_sessions) is reached (default 15 s,
    /// [`EVICT_AFTER_IDLE`](crate::cluster::EVICT_AFTER_IDLE)): abandoned sessions never lock
    /// new clients out. A session with an open GET stream or a streamed call running is not
    /// idle; one that waits quietly between calls may be dropped while the cap is reached (its
    /// client gets 404 and starts a new session, as the protocol has it).
    /// [`Duration::MAX`] turns eviction off.
    pub fn session_eviction(mut self, idle: Duration) -> Self {
        self.config.evict_after = idle;
        self
    }

    /// How long a session lives idle before its client has completed the handshake with
    /// `notifications/initialized` (default 30 s,
    /// [`HANDSHAKE_TTL`](crate::cluster::HANDSHAKE_TTL); never longer than
    /// [`session_ttl`](Self::session_ttl)).
    pub fn handshake_ttl(mut self, ttl: Duration) -> Self {
        self.config.handshake_ttl = ttl;
        self
    }

    /// The most live sessions (default 10,000); past it, the longest-idle session makes room
    /// (see [`session_eviction`](Self::session_eviction)), or `initialize` gets 503.
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// At most `sessions` live sessions per client (off by default), so that one client
    /// cannot take the whole [`max_sessions`](Self::max_sessions) for itself. A client is the
    /// principal its sessions are bound to ([`bind_sessions`](Self::bind_sessions)), else its
    /// address (an IPv6 address by its /64; behind a proxy, the address the
    /// [`trusted_proxies`](Self::trusted_proxies) report in `Forwarded` or
    /// `X-Forwarded-For`, otherwise every client is the proxy). Past the cap, the client's own
    /// longest-idle session makes room if it has been idle for
    /// [`session_eviction`](Self::session_eviction); otherwise `initialize` gets 429 with
    /// `Retry-After` and a JSON-RPC error that names this setting. Held across replicas by
    /// a shared store (`mcp-mount-redis`).
    pub fn max_sessions_per_client(mut self, sessions: usize) -> Self {
        self.config.max_sessions_per_client = Some(sessions.max(1));
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

    /// The hosts this server answers for beside the loopback names `localhost`, `127.0.0.1`
    /// and `[::1]` (which stay allowed, on any port: they cannot carry a DNS-rebinding attack,
    /// and health checks use them; [`loopback_hosts(false)`](Self::loopback_hosts) drops them).
    ///
    /// An entry is a host name (any port) or `host:port`; requests from other hosts get 403.
    /// Replaces any earlier list.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.policy.hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the loopback host names are allowed beside [`allowed_hosts`](Self::allowed_hosts)
    /// (default `true`). `false` leaves only the listed hosts.
    pub fn loopback_hosts(mut self, allowed: bool) -> Self {
        self.config.policy.loopback_hosts = allowed;
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
    /// core the peer's address ([`PeerAddr`](crate::adapter::PeerAddr)); without it nobody is trusted.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.config.trusted_proxies = Some(proxies);
        self
    }

    /// Serves the REST view of the tools beside the MCP endpoint, under the same prefix (and so
    /// behind the same host middleware): `GET {prefix}/tools`, `POST {prefix}/tools/{name}` (the
    /// JSON body is the arguments; the `CallToolResult` comes back with 200 even when `isError`),
    /// `POST {prefix}/completions` (`completion/complete`), `POST {prefix}/images/{tool}` (the
    /// first image's bytes) and `GET {prefix}/openapi.json`.
    #[cfg(feature = "rest-view")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rest-view")))]
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
    /// `Principal` that `oauth` puts there), and a session used by anyone else answers 404, as
    /// an unknown session does.
    ///
    /// ```
    /// # use mcp_mount::McpServer;
    /// /// What the host's auth middleware inserts.
    /// #[derive(Clone)]
    /// struct User(String);
    ///
    /// let server = McpServer::builder("demo", "1.0.0")
    ///     .bind_sessions(|parts| parts.extensions.get::<User>().map(|user| user.0.clone()))
    ///     .build();
    /// # let _ = server;
    /// ```
    ///
    /// With [`oauth`](Self::oauth), name the verified principal:
    /// `parts.extensions.get::<Principal>().map(|p| p.subject.clone())`.
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
    /// [`Principal`](crate::Principal) is put in the request's extensions for handlers. Serve
    /// the metadata document from the host's root router with each adapter's `well_known`
    /// helper (or [`McpServer::well_known`]).
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub fn oauth(mut self, resource: ProtectedResource, verifier: impl TokenVerifier) -> Self {
        self.config.oauth = Some((resource, Arc::new(verifier)));
        self
    }

    /// How long, and by whom, 2026-07-28 clients may cache `server/discover`, the lists and
    /// `resources/read` results: their `ttlMs` and `cacheScope` (default 0 ms, private, so
    /// clients always re-fetch and never share).
    pub fn cache_policy(mut self, ttl: Duration, scope: CacheScope) -> Self {
        self.config.cache = CachePolicy { ttl, scope };
        self
    }

    /// How long a call of a tool with [`TaskSupport::Optional`](crate::TaskSupport) or
    /// `Required` may run before it becomes a task, for a 2026-07-28 client that opted into
    /// the `io.modelcontextprotocol/tasks` extension (default 200 ms): a call that finishes
    /// sooner is answered with its result, so one tool serves fast and slow cases.
    pub fn task_after(mut self, threshold: Duration) -> Self {
        self.config.task_after = threshold;
        self
    }

    /// How long a task is kept after its creation (default one hour,
    /// [`TASK_TTL`](crate::cluster::TASK_TTL)): then `tasks/get` no longer finds it, and a
    /// task still running then is cancelled.
    pub fn task_ttl(mut self, ttl: Duration) -> Self {
        self.config.task_ttl = ttl;
        self
    }

    /// The most running tasks (default 10,000), and the most for one client (its principal,
    /// else its address; default 100). Past either, an `Optional` tool's call waits for its
    /// result as if it did not support tasks, and a `Required` tool's gets an error that says
    /// so.
    pub fn max_tasks(mut self, tasks: usize, per_client: usize) -> Self {
        self.config.max_tasks = (tasks, per_client);
        self
    }

    /// Keeps task records in `store` instead of the default in-memory store (bounded by
    /// [`max_tasks`](Self::max_tasks)).
    pub fn task_store(mut self, store: impl TaskStore) -> Self {
        self.task_store = Some(Arc::new(store));
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

    /// Keeps the events of resumable SSE streams in `log` instead of the default in-memory log
    /// (whose bounds come from [`sse_replay_buffer`](Self::sse_replay_buffer)). A log shared by
    /// several replicas lets a client resume a stream on any of them.
    pub fn event_log(mut self, log: impl EventLog) -> Self {
        self.log = Some(Arc::new(log));
        self
    }

    /// Connects this replica to the others through `bus` (default: [`LocalBus`](crate::cluster::LocalBus),
    /// for a server that runs alone): client answers, cancellations and `DELETE`s that reach
    /// a replica other than the one holding the session's live part, and change events for
    /// every replica's listening streams, go over it.
    pub fn message_bus(mut self, bus: impl MessageBus) -> Self {
        self.bus = Some(Arc::new(bus));
        self
    }

    /// The keys that seal and open the `requestState` of 2026-07-28 `input_required` results,
    /// newest first: the first seals, every one opens, so a key can be rotated without breaking
    /// the retries in flight. Each key is at least 32 bytes of randomness.
    ///
    /// On several replicas a rotation takes three deploys, each rolled out to every replica
    /// before the next: `[old, new]` (every replica can open the new key before any seals with
    /// it), `[new, old]`, and, once [`input_request_ttl`](Self::input_request_ttl) has passed,
    /// `[new]`. Putting the new key first straight away would let an updated replica seal
    /// states that the replicas not yet updated refuse. One process needs only the last two.
    ///
    /// Every replica of a service needs the same keys, or a retry that reaches another replica
    /// (or the same one after a restart) is refused. Without this setting each server draws a
    /// random key when it is built, which suits one process only; a server built with
    /// [`cluster`](Self::cluster) and no keys logs a warning.
    pub fn request_state_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        self.state_keys = Some(
            keys.into_iter()
                .map(|k| k.as_ref().to_vec().into_boxed_slice())
                .collect(),
        );
        self
    }

    /// Runs this server as one replica of several that share `cluster`'s session store, event
    /// log and message bus (e.g. `mcp-mount-redis`): any request of a session may then reach
    /// any replica behind a plain load balancer. Its store and event log are made when the
    /// server is built, held to this builder's [`session_ttl`](Self::session_ttl),
    /// [`max_sessions`](Self::max_sessions) and [`sse_replay_buffer`](Self::sse_replay_buffer)
    /// whatever order they are set in; they take the place of any
    /// [`session_store`](Self::session_store) and [`event_log`](Self::event_log).
    pub fn cluster(mut self, cluster: impl Cluster) -> Self {
        // Its parts are made at build time, with the settings the builder has by then.
        self.bus = Some(cluster.message_bus());
        self.cluster = Some(Box::new(cluster));
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
    pub fn try_build(mut self) -> Result<McpServer, BuildError> {
        if let Some(cluster) = self.cluster.take() {
            let settings = ClusterSettings {
                session_ttl: self.config.session_ttl,
                max_sessions: self.config.max_sessions,
                max_sessions_per_client: self.config.max_sessions_per_client,
                evict_after: self.config.evict_after,
                handshake_ttl: self.config.handshake_ttl,
                replay_events: self.config.replay.events,
                replay_bytes: self.config.replay.bytes,
                max_tasks: self.config.max_tasks,
            };
            self.store = Some(cluster.session_store(&settings));
            if self.task_store.is_none() {
                self.task_store = Some(cluster.task_store(&settings));
            }
            self.log = Some(cluster.event_log(&settings));
        }
        let store = self.store.unwrap_or_else(|| {
            let store =
                InMemorySessionStore::new(self.config.session_ttl, self.config.max_sessions)
                    .evict_after(self.config.evict_after)
                    .handshake_ttl(self.config.handshake_ttl);
            Arc::new(match self.config.max_sessions_per_client {
                Some(cap) => store.per_owner(cap),
                None => store,
            })
        });
        let (max_tasks, max_tasks_per_client) = self.config.max_tasks;
        let tasks =
            Tasks::new(self.task_store.unwrap_or_else(|| {
                Arc::new(InMemoryTaskStore::new(max_tasks, max_tasks_per_client))
            }));
        let clustered = self.bus.is_some();
        let state_keys = match self.state_keys {
            Some(keys) => KeyRing::new(keys).map_err(BuildError)?,
            None => {
                if clustered {
                    crate::telemetry::unshared_state_key();
                }
                KeyRing::random().map_err(|e| {
                    BuildError(format!("no randomness for the requestState key: {e}"))
                })?
            }
        };
        let mut info = serde_json::Map::new();
        info.insert("name".into(), Value::String(self.name));
        info.insert("version".into(), Value::String(self.version));
        if let Some(title) = self.title {
            info.insert("title".into(), Value::String(title));
        }
        let bus: Arc<dyn MessageBus> = self.bus.unwrap_or_else(|| Arc::new(LocalBus));
        let registries = Registries::new(self.tools, self.resources, self.templates, self.prompts)
            .map_err(BuildError)?;
        let engine = Engine::new(
            registries,
            Value::Object(info),
            self.instructions,
            EngineSettings {
                page_size: self.config.page_size,
                client_timeout: self.config.client_timeout,
                cache: self.config.cache,
            },
            Arc::clone(&store),
            Arc::clone(&bus),
        );
        let log: Arc<dyn EventLog> = self.log.unwrap_or_else(|| {
            Arc::new(InMemoryEventLog::new(
                self.config.replay.events,
                self.config.replay.bytes,
                self.config.session_ttl,
            ))
        });
        let runtimes = Runtimes::new(
            self.config.replay,
            self.config.session_ttl,
            Arc::clone(&log),
        )
        .with_store(Arc::clone(&store));
        let inner = Arc::new_cyclic(|me: &std::sync::Weak<Core>| {
            let me = me.clone();
            bus.attach(Inbox::new(move |message| {
                if let Some(core) = me.upgrade() {
                    service::deliver(&core, message);
                }
            }));
            Core {
                engine,
                config: self.config,
                store,
                changes: Changes::default(),
                #[cfg(feature = "http-sse")]
                http_sse: HttpSseSessions::default(),
                runtimes,
                log,
                state_keys,
                tasks,
            }
        });
        Ok(McpServer { inner })
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

/// A complete MCP server, ready to be mounted under any path by an adapter.
///
/// Cheap to clone: the state is shared behind an `Arc`. Tools, resources, templates and prompts
/// can be added and removed while it serves; every session with an open GET stream is told
/// with a `notifications/*/list_changed`.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Core>,
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("server_info", &self.inner.engine.server_info)
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
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            config: Config::default(),
            store: None,
            task_store: None,
            log: None,
            bus: None,
            state_keys: None,
            cluster: None,
        }
    }

    /// The body limit adapters buffer up to; a larger body is answered with
    /// [`Error::payload_too_large`](crate::adapter::Error::payload_too_large).
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
    /// e.g. `/api/v1/mcp` (see [`mount_prefix`](crate::adapter::mount_prefix)). Every outcome, including
    /// bad input, is a response: this never panics on what came off the wire.
    pub async fn handle(&self, req: Request<Bytes>, prefix: &str) -> Response<McpBody> {
        service::serve(&self.inner, req, prefix).await
    }

    /// Shuts the server down gracefully, for the host's own graceful shutdown (see the
    /// adapters' READMEs for each framework's wiring); resolves once nothing of it runs.
    ///
    /// At once: every new request is answered 503 with `Retry-After` (a load balancer sends
    /// it to another replica), and the streams that only wait for events end cleanly — GET
    /// streams, HTTP+SSE streams, and `subscriptions/listen` streams after their final
    /// `resultType: "complete"` result. Their sessions live on (in the store, for the other
    /// replicas, or for this one once restarted on a shared store).
    ///
    /// Calls in flight get until `deadline` to finish; then each one still running is
    /// cancelled (its handler is dropped) and answers a JSON-RPC error for its id, and this
    /// waits up to one more second for those answers to be written.
    ///
    /// ```no_run
    /// # async fn run(server: mcp_mount::McpServer, sigterm: impl std::future::Future<Output = ()>) {
    /// // The future a host's graceful shutdown waits on (axum's `with_graceful_shutdown`,
    /// // poem's `run_with_graceful_shutdown`…): the MCP server winds down first, then the
    /// // host waits for the connections, which by then have all ended.
    /// let graceful = async move {
    ///     sigterm.await;
    ///     server.shutdown(std::time::Duration::from_secs(10)).await;
    /// };
    /// # graceful.await;
    /// # }
    /// ```
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        self.inner.begin_shutdown();
        let shutdown = &self.inner.engine.shutdown;
        if tokio::time::timeout(deadline, shutdown.idle())
            .await
            .is_err()
        {
            shutdown.expire();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), shutdown.idle()).await;
        }
    }

    /// Whether [`shutdown`](Self::shutdown) has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.engine.shutdown.draining.is_cancelled()
    }

    /// Answers `GET /.well-known/oauth-protected-resource{prefix}` (RFC 9728) for a server
    /// mounted at `prefix` and configured with [`oauth`](McpServerBuilder::oauth): the
    /// protected resource metadata, with URLs built from the request's external origin (and
    /// forwarded prefix, behind a trusted proxy). Adapters route the root-anchored path here
    /// with their `well_known` helper; 404 when the server has no OAuth configuration.
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub async fn well_known(&self, req: Request<Bytes>, prefix: &str) -> Response<McpBody> {
        service::well_known(&self.inner, req, prefix).await
    }

    /// Whether the server was built with [`oauth`](McpServerBuilder::oauth), so that the
    /// adapters' `mount_mcp` also routes its [`well_known`](Self::well_known) document.
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub fn is_protected_resource(&self) -> bool {
        self.inner.config.oauth.is_some()
    }

    /// Adds a tool, or replaces the one with the same name, and sends
    /// `notifications/tools/list_changed`.
    ///
    /// # Errors
    ///
    /// A tool [`McpServerBuilder::try_build`] would refuse.
    pub fn add_tool(&self, tool: Tool) -> Result<(), BuildError> {
        self.inner
            .engine
            .registries
            .tools
            .update(|r| r.with(tool).map(Some))
            .map_err(BuildError)?;
        self.inner.publish(ChangeEvent::ToolsListChanged);
        Ok(())
    }

    /// Adds the tools of the host app's own REST routes (see [`routes`](crate::routes)),
    /// calling into `host`, with one `notifications/tools/list_changed`; their names avoid the
    /// tools the server has. Returns the names given. Adapters wrap this as `routes_as_tools`.
    ///
    /// # Errors
    ///
    /// A tool [`McpServerBuilder::try_build`] would refuse (none, with names made as the
    /// module documents).
    pub fn add_route_tools(
        &self,
        routes: &RouteTools,
        host: &HostHandle,
    ) -> Result<Vec<String>, BuildError> {
        let mut names = Vec::new();
        self.inner
            .engine
            .registries
            .tools
            .update(|current| {
                let existing: Vec<String> = current.iter().map(|t| t.name.clone()).collect();
                let taken: Vec<&str> = existing.iter().map(String::as_str).collect();
                let mut next: Option<Registry<Tool>> = None;
                for tool in routes.tools(host, &taken) {
                    names.push(tool.name.clone());
                    next = Some(next.as_ref().unwrap_or(current).with(tool)?);
                }
                Ok(next)
            })
            .map_err(BuildError)?;
        if !names.is_empty() {
            self.inner.publish(ChangeEvent::ToolsListChanged);
        }
        Ok(names)
    }

    /// Removes the tool `name` and sends `notifications/tools/list_changed`; `false` when there
    /// was none.
    pub fn remove_tool(&self, name: &str) -> bool {
        self.remove(
            &self.inner.engine.registries.tools,
            name,
            ChangeEvent::ToolsListChanged,
        )
    }

    /// Adds a resource, or replaces the one with the same URI, and sends
    /// `notifications/resources/list_changed`.
    ///
    /// # Errors
    ///
    /// A resource [`McpServerBuilder::try_build`] would refuse.
    pub fn add_resource(&self, resource: Resource) -> Result<(), BuildError> {
        self.inner
            .engine
            .registries
            .resources
            .update(|r| r.with(resource).map(Some))
            .map_err(BuildError)?;
        self.inner.publish(ChangeEvent::ResourcesListChanged);
        Ok(())
    }

    /// Removes the resource at `uri` and sends `notifications/resources/list_changed`; `false`
    /// when there was none.
    pub fn remove_resource(&self, uri: &str) -> bool {
        self.remove(
            &self.inner.engine.registries.resources,
            uri,
            ChangeEvent::ResourcesListChanged,
        )
    }

    /// Adds a resource template, or replaces the one with the same URI template, and sends
    /// `notifications/resources/list_changed`.
    ///
    /// # Errors
    ///
    /// A template [`McpServerBuilder::try_build`] would refuse.
    pub fn add_resource_template(&self, template: ResourceTemplate) -> Result<(), BuildError> {
        self.inner
            .engine
            .registries
            .templates
            .update(|r| r.with(template).map(Some))
            .map_err(BuildError)?;
        self.inner.publish(ChangeEvent::ResourcesListChanged);
        Ok(())
    }

    /// Removes the resource template `uri_template` and sends
    /// `notifications/resources/list_changed`; `false` when there was none.
    pub fn remove_resource_template(&self, uri_template: &str) -> bool {
        self.remove(
            &self.inner.engine.registries.templates,
            uri_template,
            ChangeEvent::ResourcesListChanged,
        )
    }

    /// Adds a prompt, or replaces the one with the same name, and sends
    /// `notifications/prompts/list_changed`.
    ///
    /// # Errors
    ///
    /// A prompt [`McpServerBuilder::try_build`] would refuse.
    pub fn add_prompt(&self, prompt: Prompt) -> Result<(), BuildError> {
        self.inner
            .engine
            .registries
            .prompts
            .update(|r| r.with(prompt).map(Some))
            .map_err(BuildError)?;
        self.inner.publish(ChangeEvent::PromptsListChanged);
        Ok(())
    }

    /// Removes the prompt `name` and sends `notifications/prompts/list_changed`; `false` when
    /// there was none.
    pub fn remove_prompt(&self, name: &str) -> bool {
        self.remove(
            &self.inner.engine.registries.prompts,
            name,
            ChangeEvent::PromptsListChanged,
        )
    }

    /// Tells every session subscribed to `uri` (`resources/subscribe`) that the resource
    /// changed, with `notifications/resources/updated` on its GET stream. Returns how many
    /// sessions it reached.
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        self.inner
            .publish(ChangeEvent::ResourceUpdated(uri.to_owned()))
    }

    fn remove<T: Entry>(&self, shelf: &Shelf<T>, key: &str, event: ChangeEvent) -> bool {
        let removed = shelf.update(|r| Ok(r.without(key))).unwrap_or(false);
        if removed {
            self.inner.publish(event);
        }
        removed
    }
}
