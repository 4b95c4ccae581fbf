//! The message bus between replicas: what one replica tells the others about sessions whose
//! live parts they hold, and the changes every listening stream should hear of.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::protocol::jsonrpc::{RequestId, RpcError};
use crate::session::changes::ChangeEvent;

/// What one replica tells the others.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
#[non_exhaustive]
pub enum BusMessage {
    /// The client answered server-to-client request `request` of `session` on a replica
    /// where no handler waits for it.
    ClientReply {
        /// The session.
        session: String,
        /// The id of the server's request the client answered.
        request: RequestId,
        /// Its `result`, or its `error`.
        reply: Result<Box<RawValue>, RpcError>,
    },
    /// `notifications/cancelled` for request `request` of `session`, which runs elsewhere.
    Cancel {
        /// The session.
        session: String,
        /// The id of the cancelled request.
        request: RequestId,
    },
    /// `session` was deleted: its streams and running calls end everywhere.
    End {
        /// The session.
        session: String,
    },
    /// Something changed that listening streams on every replica should hear of.
    Change(ChangeEvent),
    /// A message an HTTP+SSE client POSTed to `/messages` on a replica other than the one
    /// holding its `/sse` stream, where it is handled. The host's request extensions do not
    /// cross replicas; the method, URI and headers do.
    HttpSseMessage {
        /// The session (the stream's id).
        session: String,
        /// The request's URI, as the host received it.
        uri: String,
        /// Its headers with text values.
        headers: Vec<(String, String)>,
        /// The JSON-RPC message.
        body: String,
    },
}

/// Where a replica takes the messages the others send it; the core gives one to
/// [`MessageBus::attach`] when the server is built.
#[derive(Clone)]
pub struct Inbox(Arc<dyn Fn(BusMessage) + Send + Sync>);

impl Inbox {
    pub(crate) fn new(deliver: impl Fn(BusMessage) + Send + Sync + 'static) -> Self {
        Self(Arc::new(deliver))
    }

    /// Hands `message` to this replica; it acts on what concerns a session it holds and
    /// ignores the rest.
    pub fn deliver(&self, message: BusMessage) {
        (self.0)(message);
    }
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inbox")
    }
}

/// How replicas reach each other; the default, [`LocalBus`], is for a server that runs alone.
///
/// The core sends a message only when the local replica could not act on it itself (no
/// handler here waits for that client reply, no such request runs here), and every change
/// event after it has told its own streams. `send` must not block: an implementation queues
/// the message and delivers it at most once to the [`Inbox`] of every other replica that may
/// hold the session's live part (broadcasting to all of them is correct: the others ignore
/// it). Delivery is best effort, like the HTTP answers the core gives for these messages
/// (`202 Accepted`).
pub trait MessageBus: Send + Sync + fmt::Debug + 'static {
    /// Registers where messages for this replica go; called once when the server is built.
    fn attach(&self, inbox: Inbox);

    /// Sends `message` to the other replicas.
    fn send(&self, message: BusMessage);
}

/// The bus of a server with no other replica: nothing to send, nowhere to send it.
#[derive(Debug, Default)]
pub struct LocalBus;

impl MessageBus for LocalBus {
    fn attach(&self, _inbox: Inbox) {}

    fn send(&self, _message: BusMessage) {}
}
