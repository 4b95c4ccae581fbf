//! Sessions of the session era (`Mcp-Session-Id`): their state as data ([`SessionState`], kept
//! by a [`SessionStore`]) and each replica's live runtime around it ([`Session`]: open
//! streams, running handlers, requests waiting on the client, the replay buffer).

pub(crate) mod bus;
pub(crate) mod changes;
#[cfg(feature = "http-sse")]
pub(crate) mod http_sse;
pub(crate) mod log;
pub(crate) mod runtime;
pub(crate) mod state;
pub(crate) mod store;
pub(crate) mod task;

pub use bus::{BusMessage, Inbox, LocalBus, MessageBus};
pub use changes::ChangeEvent;
pub use log::{EventId, EventLog, InMemoryEventLog, KEEP_EVERY, LoggedEvent, Replay, ReplayError};
pub use state::{MAX_SUBSCRIPTIONS, SessionChange, SessionState, TooManySubscriptions, Transport};
pub use store::{EVICT_AFTER_IDLE, HANDSHAKE_TTL, InMemorySessionStore, SessionStore, StoreError};
pub use task::{
    InMemoryTaskStore, TASK_TTL, TASKS_EXTENSION, TaskChange, TaskRecord, TaskStatus, TaskStore,
};

pub(crate) use log::{ReplayLimit, STANDALONE};
pub use runtime::Session;
pub(crate) use runtime::{ClientReply, ResumeError, Runtimes};

/// What a server's builder says its shared parts must hold to: the same bounds the in-memory
/// parts get, so a deployment states them once, on the builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterSettings {
    /// How long an idle session lives ([`session_ttl`](crate::McpServerBuilder::session_ttl)).
    pub session_ttl: std::time::Duration,
    /// The most live sessions ([`max_sessions`](crate::McpServerBuilder::max_sessions)).
    pub max_sessions: usize,
    /// The most live sessions of one client, when capped
    /// ([`max_sessions_per_client`](crate::McpServerBuilder::max_sessions_per_client)):
    /// counted by [`SessionState::owner`].
    pub max_sessions_per_client: Option<usize>,
    /// How long a session must be idle to make room under the cap
    /// ([`session_eviction`](crate::McpServerBuilder::session_eviction)).
    pub evict_after: std::time::Duration,
    /// The idle TTL of a session before its handshake completes
    /// ([`handshake_ttl`](crate::McpServerBuilder::handshake_ttl)).
    pub handshake_ttl: std::time::Duration,
    /// Events kept for `Last-Event-ID`
    /// ([`sse_replay_buffer`](crate::McpServerBuilder::sse_replay_buffer)).
    pub replay_events: usize,
    /// Bytes kept for `Last-Event-ID`.
    pub replay_bytes: usize,
    /// The most running tasks in all, and per client
    /// ([`max_tasks`](crate::McpServerBuilder::max_tasks)).
    pub max_tasks: (usize, usize),
}

/// Everything replicas of one service share, from one backend: the session store, the event
/// log and the message bus. Give it to [`McpServerBuilder::cluster`](crate::McpServerBuilder::cluster);
/// `mcp-mount-redis` implements it on Redis. The parts are asked for when the server is built,
/// with the builder's settings.
pub trait Cluster: Send + Sync + 'static {
    /// Where session state lives, holding to `settings`' TTL and cap.
    fn session_store(&self, settings: &ClusterSettings) -> std::sync::Arc<dyn SessionStore>;
    /// Where the events of resumable streams are kept, within `settings`' replay bounds.
    fn event_log(&self, settings: &ClusterSettings) -> std::sync::Arc<dyn EventLog>;
    /// How this replica reaches the others.
    fn message_bus(&self) -> std::sync::Arc<dyn MessageBus>;
    /// Where task records live, holding to `settings`' caps on tasks.
    fn task_store(&self, settings: &ClusterSettings) -> std::sync::Arc<dyn TaskStore>;
}
