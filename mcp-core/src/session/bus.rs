//! The message bus between replicas: what one replica tells the others about sessions whose
//! live parts they hold, and the changes every listening stream should hear of.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::protocol::jsonrpc::{RequestId, RpcError};
use crate::session::changes::ChangeEvent;

/// What one replica tells the others.
// Externally tagged (`{"clientReply": {…}}`): an internally tagged enum buffers its content,
// through which serde cannot read back a `RawValue`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// `session` opened a new standalone GET stream on the sending replica: one held anywhere
    /// else ends (the newest GET stream of a session wins).
    StreamOpened {
        /// The session.
        session: String,
    },
    /// Something changed that listening streams on every replica should hear of.
    Change(ChangeEvent),
    /// `tasks/update` answered questions of task `task`, which runs elsewhere.
    TaskInput {
        /// The task.
        task: String,
        /// The answers, by `inputRequests` key.
        responses: serde_json::Map<String, serde_json::Value>,
    },
    /// `tasks/cancel` for task `task`, which runs elsewhere.
    TaskCancel {
        /// The task.
        task: String,
    },
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
    /// An inbox that hands each message to `deliver` (the core makes the one of each server;
    /// a backend's tests may make their own).
    pub fn new(deliver: impl Fn(BusMessage) + Send + Sync + 'static) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_survives_json() {
        let Ok(result) = RawValue::from_string(r#"{"action":"accept"}"#.to_owned()) else {
            panic!("raw value")
        };
        let messages = [
            BusMessage::ClientReply {
                session: "s".into(),
                request: RequestId::Int(3),
                reply: Ok(result),
            },
            BusMessage::ClientReply {
                session: "s".into(),
                request: RequestId::Str("r".into()),
                reply: Err(RpcError::internal("no")),
            },
            BusMessage::Cancel {
                session: "s".into(),
                request: RequestId::Int(4),
            },
            BusMessage::End {
                session: "s".into(),
            },
            BusMessage::StreamOpened {
                session: "s".into(),
            },
            BusMessage::Change(ChangeEvent::ToolsListChanged),
            BusMessage::Change(ChangeEvent::ResourceUpdated("file:///a".into())),
            BusMessage::HttpSseMessage {
                session: "s".into(),
                uri: "/mcp/messages?sessionId=s".into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: "{}".into(),
            },
        ];
        for message in messages {
            let json = serde_json::to_string(&message).unwrap_or_default();
            let back: BusMessage =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(serde_json::to_string(&back).unwrap_or_default(), json);
        }
    }
}
