//! Sessions of the session era (`Mcp-Session-Id`): their state as data ([`SessionState`], kept
//! by a [`SessionStore`]) and each replica's live runtime around it ([`Session`]: open
//! streams, running handlers, requests waiting on the client, the replay buffer).

pub(crate) mod bus;
pub(crate) mod changes;
pub(crate) mod http_sse;
pub(crate) mod log;
pub(crate) mod runtime;
pub(crate) mod state;
pub(crate) mod store;

pub use bus::{BusMessage, Inbox, LocalBus, MessageBus};
pub use changes::ChangeEvent;
pub use log::{EventId, EventLog, InMemoryEventLog, LoggedEvent, Replay, ReplayError};
pub use state::{MAX_SUBSCRIPTIONS, SessionChange, SessionState, TooManySubscriptions, Transport};
pub use store::{InMemorySessionStore, SessionStore, StoreError};

pub(crate) use log::{ReplayLimit, STANDALONE};
pub use runtime::Session;
pub(crate) use runtime::{ClientReply, ResumeError, Runtimes};
pub(crate) use state::new_session_id;
