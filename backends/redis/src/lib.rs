//! `mcp-mount-redis`: the session store, the SSE event log and the message bus of
//! [`mcp-mount`](mcp_mount) on Redis, so that an MCP server runs as several replicas behind a
//! plain load balancer (no stickiness): any request of a session may reach any replica.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_mount_redis::Error> {
//! use mcp_mount::McpServer;
//! use mcp_mount_redis::RedisCluster;
//!
//! let server = McpServer::builder("inventory", "1.4.0")
//!     .cluster(RedisCluster::connect("redis://127.0.0.1:6379").await?)
//!     .build();
//! # let _ = server;
//! # Ok(())
//! # }
//! ```
//!
//! Every key of a session carries the hash tag `{session id}`, so a Redis Cluster keeps a
//! session on one slot; see the crate README for the key layout and what happens when Redis
//! cannot be reached (requests that need a session get 503 with `Retry-After`, the replica
//! reconnects and resubscribes by itself).

mod bus;
mod keys;
mod log;
mod store;
mod task;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mcp_mount::cluster::{Cluster, ClusterSettings, EventLog, MessageBus, SessionStore, TaskStore};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use bus::RedisBus;
pub use log::RedisEventLog;
pub use store::RedisSessionStore;
pub use task::RedisTaskStore;

use keys::Keys;

/// Logs a warning through `tracing` when the feature is on; otherwise only checks the format.
macro_rules! log_warn {
    ($($arg:tt)*) => {{
        #[cfg(feature = "tracing")]
        ::tracing::warn!($($arg)*);
        #[cfg(not(feature = "tracing"))]
        let _ = format_args!($($arg)*);
    }};
}

/// Logs an informational event through `tracing` when the feature is on.
macro_rules! log_info {
    ($($arg:tt)*) => {{
        #[cfg(feature = "tracing")]
        ::tracing::info!($($arg)*);
        #[cfg(not(feature = "tracing"))]
        let _ = format_args!($($arg)*);
    }};
}

pub(crate) use {log_info, log_warn};

/// How the Redis parts name their keys, bound what they keep, and how long they wait.
///
/// Give every replica the same options: they describe one shared layout.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    prefix: String,
    session_ttl: Duration,
    max_sessions: usize,
    max_sessions_per_client: Option<usize>,
    evict_after: Duration,
    handshake_ttl: Duration,
    replay_events: usize,
    replay_bytes: usize,
    writer_timeout: Duration,
    timeout: Duration,
}

impl Default for RedisOptions {
    /// The core's own defaults: sessions idle out after 30 minutes, at most 10 000 of them,
    /// 32 events and 256 KiB kept per stream for `Last-Event-ID`; keys under `mcp`; Redis is
    /// given 1 s to answer.
    fn default() -> Self {
        Self {
            prefix: "mcp".into(),
            session_ttl: Duration::from_secs(30 * 60),
            max_sessions: 10_000,
            max_sessions_per_client: None,
            evict_after: mcp_mount::cluster::EVICT_AFTER_IDLE,
            handshake_ttl: mcp_mount::cluster::HANDSHAKE_TTL,
            replay_events: 32,
            replay_bytes: 256 * 1024,
            writer_timeout: mcp_mount::cluster::KEEP_EVERY * 3,
            timeout: Duration::from_secs(1),
        }
    }
}

impl RedisOptions {
    /// What every key starts with (default `mcp`): `{prefix}:{sid}:s`, `{prefix}:b`, …. It
    /// may not contain `{` or `}`, which would move the hash tag.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a session lives without activity (default 30 minutes); everything of the
    /// session in Redis expires with it. For the parts a [`RedisCluster`] gives a server, the
    /// server's own [`session_ttl`](mcp_mount::McpServerBuilder::session_ttl) takes its place;
    /// this is for the parts used on their own.
    #[must_use]
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// The most live sessions, across every replica (default 10 000); `initialize` past it is
    /// answered 503. A server built with a [`RedisCluster`] uses its own
    /// [`max_sessions`](mcp_mount::McpServerBuilder::max_sessions) instead.
    #[must_use]
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// At most `sessions` live sessions per owner ([`SessionState::owner`](mcp_mount::cluster::SessionState::owner)),
    /// across every replica (off by default); past it, the owner's longest-idle session makes
    /// room or `initialize` is answered 429. A server built with a [`RedisCluster`] uses its
    /// own [`max_sessions_per_client`](mcp_mount::McpServerBuilder::max_sessions_per_client)
    /// instead.
    #[must_use]
    pub fn max_sessions_per_client(mut self, sessions: usize) -> Self {
        self.max_sessions_per_client = Some(sessions.max(1));
        self
    }

    /// How long a session must have been idle to make room for a new one when the cap is
    /// reached (default [`EVICT_AFTER_IDLE`](mcp_mount::cluster::EVICT_AFTER_IDLE)). A server
    /// built with a [`RedisCluster`] uses its own
    /// [`session_eviction`](mcp_mount::McpServerBuilder::session_eviction) instead.
    #[must_use]
    pub fn evict_after(mut self, idle: Duration) -> Self {
        self.evict_after = idle;
        self
    }

    /// How long a session lives idle before its handshake completes (default
    /// [`HANDSHAKE_TTL`](mcp_mount::cluster::HANDSHAKE_TTL)). A server built with a
    /// [`RedisCluster`] uses its own
    /// [`handshake_ttl`](mcp_mount::McpServerBuilder::handshake_ttl) instead.
    #[must_use]
    pub fn handshake_ttl(mut self, ttl: Duration) -> Self {
        self.handshake_ttl = ttl;
        self
    }

    /// How much of each SSE stream is kept for `Last-Event-ID` (default 32 events and
    /// 256 KiB, oldest dropped first); a resumption from before what is kept is refused as
    /// gone. A server built with a [`RedisCluster`] uses its own
    /// [`sse_replay_buffer`](mcp_mount::McpServerBuilder::sse_replay_buffer) instead.
    #[must_use]
    pub fn replay_buffer(mut self, events: usize, bytes: usize) -> Self {
        self.replay_events = events;
        self.replay_bytes = bytes;
        self
    }

    /// How long a running request's stream may go without its writer's heartbeat
    /// ([`EventLog::keep`], every [`KEEP_EVERY`](mcp_mount::cluster::KEEP_EVERY)) before a
    /// replay reports it abandoned, its replica gone (default three periods, 15 s). Keep it
    /// well above `KEEP_EVERY`, or live requests are declared dead.
    #[must_use]
    pub fn writer_timeout(mut self, timeout: Duration) -> Self {
        self.writer_timeout = timeout;
        self
    }

    /// How long to wait for Redis to connect or answer (default 1 s) before the request that
    /// needed it is answered 503.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.session_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The idle TTL of a session before its handshake completes, in ms.
    fn handshake_ttl_ms(&self) -> u64 {
        u64::try_from(self.handshake_ttl.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, self.ttl_ms())
    }

    fn evict_after_ms(&self) -> u64 {
        u64::try_from(self.evict_after.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Why the connection to Redis could not be made.
#[derive(Debug)]
pub struct Error {
    message: String,
    source: Option<redis::RedisError>,
}

impl Error {
    fn redis(context: &str, error: redis::RedisError) -> Self {
        Self {
            message: format!("{context}: {error}"),
            source: Some(error),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// What the three parts share: the client, one multiplexed connection that reconnects by
/// itself, the key layout and the options.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) client: redis::Client,
    pub(crate) conn: ConnectionManager,
    pub(crate) keys: Arc<Keys>,
    pub(crate) options: Arc<RedisOptions>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("server", &self.client.get_connection_info().addr())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Shared {
    async fn connect(url: &str, options: RedisOptions) -> Result<Self, Error> {
        if options.prefix.contains(['{', '}']) {
            return Err(Error {
                message: format!(
                    "the key prefix {:?} may not contain '{{' or '}}'",
                    options.prefix
                ),
                source: None,
            });
        }
        let client = redis::Client::open(url).map_err(|e| Error::redis("bad Redis URL", e))?;
        // Fail fast while Redis is away, so requests get their 503 within about the timeout;
        // the next command tries again (the manager reconnects on any I/O error).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| Error::redis("cannot connect to Redis", e))?;
        Ok(Self {
            client,
            conn,
            keys: Arc::new(Keys::new(&options.prefix)),
            options: Arc::new(options),
        })
    }
}

/// The session store, event log and message bus of one replica, all on one Redis; give it to
/// [`McpServerBuilder::cluster`](mcp_mount::McpServerBuilder::cluster).
///
/// Spawns the bus's two background tasks on the caller's tokio runtime; they end when the
/// cluster and every server built with it are dropped.
#[derive(Clone, Debug)]
pub struct RedisCluster {
    shared: Shared,
    store: Arc<RedisSessionStore>,
    log: Arc<RedisEventLog>,
    bus: Arc<RedisBus>,
}

impl RedisCluster {
    /// Connects to `url` (`redis://[user:password@]host[:port][/db]`, or `rediss://` with the
    /// `tls` feature) with the default [`RedisOptions`].
    ///
    /// # Errors
    ///
    /// A bad URL, or Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to `url` with `options`.
    ///
    /// # Errors
    ///
    /// A bad URL or key prefix, or Redis cannot be reached now.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, Error> {
        let shared = Shared::connect(url, options).await?;
        Ok(Self {
            shared: shared.clone(),
            store: Arc::new(RedisSessionStore::from_shared(shared.clone())),
            log: Arc::new(RedisEventLog::from_shared(shared.clone())),
            bus: Arc::new(RedisBus::from_shared(shared)),
        })
    }

    /// The session store.
    pub fn store(&self) -> &RedisSessionStore {
        &self.store
    }

    /// The event log.
    pub fn log(&self) -> &RedisEventLog {
        &self.log
    }

    /// The message bus.
    pub fn bus(&self) -> &RedisBus {
        &self.bus
    }
}

impl RedisCluster {
    /// The parts' shared connection with the builder's bounds in place of the options' own.
    fn held_to(&self, settings: &ClusterSettings) -> Shared {
        let mut options = RedisOptions::clone(&self.shared.options);
        options.session_ttl = settings.session_ttl;
        options.max_sessions = settings.max_sessions;
        options.max_sessions_per_client = settings.max_sessions_per_client;
        options.evict_after = settings.evict_after;
        options.handshake_ttl = settings.handshake_ttl;
        options.replay_events = settings.replay_events;
        options.replay_bytes = settings.replay_bytes;
        Shared {
            options: Arc::new(options),
            ..self.shared.clone()
        }
    }
}

impl Cluster for RedisCluster {
    fn session_store(&self, settings: &ClusterSettings) -> Arc<dyn SessionStore> {
        Arc::new(RedisSessionStore::from_shared(self.held_to(settings)))
    }

    fn event_log(&self, settings: &ClusterSettings) -> Arc<dyn EventLog> {
        Arc::new(RedisEventLog::from_shared(self.held_to(settings)))
    }

    fn message_bus(&self) -> Arc<dyn MessageBus> {
        Arc::clone(&self.bus) as Arc<dyn MessageBus>
    }

    fn task_store(&self, settings: &ClusterSettings) -> Arc<dyn TaskStore> {
        let (cap, per_client) = settings.max_tasks;
        Arc::new(RedisTaskStore::from_shared(
            self.held_to(settings),
            cap,
            per_client,
        ))
    }
}

/// Milliseconds since the Unix epoch, by this replica's clock (scores of the session cap).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A Redis failure as the core's "unavailable" error (503 with `Retry-After`).
pub(crate) fn unavailable(error: &redis::RedisError) -> mcp_mount::cluster::StoreError {
    mcp_mount::cluster::StoreError::Unavailable(format!("Redis: {error}"))
}

/// Runs `invoke` on the shared connection. An idempotent call whose connection had dropped
/// (Redis closed it, restarted, or a proxy cut it) is tried once more, on the connection the
/// manager is making anew, so a mere reconnect costs the client no 503. When Redis does not
/// know one of `scripts` (it restarted, or `SCRIPT FLUSH` ran) they are loaded and the call
/// is tried once more.
pub(crate) async fn run<T, F, Fut>(
    conn: &ConnectionManager,
    scripts: &[&redis::Script],
    idempotent: bool,
    invoke: F,
) -> redis::RedisResult<T>
where
    F: Fn(ConnectionManager) -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let mut result = invoke(conn.clone()).await;
    if idempotent && matches!(&result, Err(e) if e.is_unrecoverable_error()) {
        result = invoke(conn.clone()).await;
    }
    match result {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            let mut load = conn.clone();
            for script in scripts {
                script.prepare_invoke().load_async(&mut load).await?;
            }
            invoke(conn.clone()).await
        }
        other => other,
    }
}
