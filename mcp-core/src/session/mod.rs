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

pub use bus::{BusMessage, Inbox, LocalBus, MessageBus};
pub use changes::ChangeEvent;
pub use log::{EventId, EventLog, InMemoryEventLog, KEEP_EVERY, LoggedEvent, Replay, ReplayError};
pub use state::{MAX_SUBSCRIPTIONS, SessionChange, SessionState, TooManySubscriptions, Transport};
pub use store::{InMemorySessionStore, SessionStore, StoreError};

pub(crate) use log::{ReplayLimit, STANDALONE};
pub use runtime::Session;
pub(crate) use runtime::{ClientReply, ResumeError, Runtimes};

/// Everything replicas of one service share, from one backend: the session store, the event
/// log and the message bus. Give it to [`McpServerBuilder::cluster`](crate::McpServerBuilder::cluster);
/// `mcp-mount-redis` implements it on Redis.
pub trait Cluster: Send + Sync + 'static {
    /// Where session state lives.
    fn session_store(&self) -> std::sync::Arc<dyn SessionStore>;
    /// Where the events of resumable streams are kept.
    fn event_log(&self) -> std::sync::Arc<dyn EventLog>;
    /// How this replica reaches the others.
    fn message_bus(&self) -> std::sync::Arc<dyn MessageBus>;
}
