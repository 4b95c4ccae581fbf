//! What a deployment of several replicas shares, for the authors of a shared backend (such as
//! `mcp-mount-redis`) and for servers that wire one in: session state and its store, the
//! event log of resumable streams, and the message bus between replicas.
//!
//! A server that runs alone needs none of this: its defaults keep everything in memory.

pub use crate::session::InMemoryTaskStore;
pub use crate::session::{
    BusMessage, ChangeEvent, Cluster, ClusterSettings, EVICT_AFTER_IDLE, EventId, EventLog,
    HANDSHAKE_TTL, InMemoryEventLog, InMemorySessionStore, Inbox, KEEP_EVERY, LocalBus,
    LoggedEvent, MAX_SUBSCRIPTIONS, MessageBus, Replay, ReplayError, SessionChange, SessionState,
    SessionStore, StoreError, TASK_TTL, TASKS_EXTENSION, TaskChange, TaskRecord, TaskStatus,
    TaskStore, TooManySubscriptions, Transport,
};
