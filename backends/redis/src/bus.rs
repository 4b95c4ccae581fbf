//! The message bus on Redis pub/sub: one channel every replica subscribes to.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_mount::RpcError;
use mcp_mount::cluster::{BusMessage, Inbox, MessageBus};
use mcp_mount::model::RequestId;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::{RedisOptions, Shared, log_info, log_warn};

/// The most messages published in one round trip.
const BATCH: usize = 64;
/// How often an idle subscription is checked (a `PING` on it), so a dead connection is seen
/// even when nothing is published.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// The longest wait between two attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What goes on the channel: the sender's instance id (so it ignores its own) and the message.
///
/// A client reply travels in a field of its own: `BusMessage` is tagged internally, and serde
/// cannot read the raw JSON of a reply's `result` back through an internally tagged enum.
#[derive(Serialize)]
struct Outgoing<'a> {
    from: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a BusMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<ReplyOut<'a>>,
}

#[derive(Serialize)]
struct ReplyOut<'a> {
    session: &'a str,
    request: &'a RequestId,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RpcError>,
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(default)]
    message: Option<BusMessage>,
    #[serde(default)]
    reply: Option<ReplyIn>,
}

#[derive(Deserialize)]
struct ReplyIn {
    session: String,
    request: RequestId,
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// `message` as the JSON published for it.
fn encode(from: &str, message: &BusMessage) -> serde_json::Result<Vec<u8>> {
    let outgoing = match message {
        BusMessage::ClientReply {
            session,
            request,
            reply,
        } => Outgoing {
            from,
            message: None,
            reply: Some(ReplyOut {
                session,
                request,
                result: reply.as_ref().ok().map(AsRef::as_ref),
                error: reply.as_ref().err(),
            }),
        },
        other => Outgoing {
            from,
            message: Some(other),
            reply: None,
        },
    };
    serde_json::to_vec(&outgoing)
}

/// The message in what was published; `None` for anything else.
fn decode(payload: &[u8]) -> serde_json::Result<Option<BusMessage>> {
    let incoming: Incoming = serde_json::from_slice(payload)?;
    Ok(match (incoming.message, incoming.reply) {
        (Some(message), _) => Some(message),
        (None, Some(reply)) => Some(BusMessage::ClientReply {
            session: reply.session,
            request: reply.request,
            reply: match (reply.result, reply.error) {
                (_, Some(error)) => Err(error),
                (Some(result), None) => Ok(result),
                (None, None) => Ok(RawValue::from_string("null".into())?),
            },
        }),
        (None, None) => None,
    })
}

/// Replicas reaching each other through Redis pub/sub on the channel `{prefix}:b`.
///
/// Every message is published as JSON with this replica's random instance id (new per
/// process, so pre-forked workers differ); each replica delivers every message of another to
/// its [`Inbox`] and ignores its own. [`send`](MessageBus::send) queues into an unbounded
/// channel that a publisher task drains (batched, one round trip per batch), so it never
/// blocks. A subscriber task reads the subscription; when the connection drops (Redis
/// restarted, the network broke, a `PING` went unanswered) it subscribes again by itself,
/// with backoff. Delivery is best effort, as the trait asks: what is sent while Redis is away
/// is dropped (and logged).
#[derive(Debug)]
pub struct RedisBus {
    queue: mpsc::UnboundedSender<BusMessage>,
    inbox: Arc<Mutex<Option<Inbox>>>,
    instance: Arc<str>,
    tasks: [AbortHandle; 2],
}

impl RedisBus {
    /// Connects a bus alone (without the store and the log) to `url`; its tasks run on the
    /// caller's tokio runtime.
    ///
    /// # Errors
    ///
    /// A bad URL or key prefix, or Redis cannot be reached now.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, crate::Error> {
        Ok(Self::from_shared(Shared::connect(url, options).await?))
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        let instance: Arc<str> = instance_id().into();
        let inbox = Arc::new(Mutex::new(None));
        let channel: Arc<str> = shared.keys.channel().into();
        let (queue, rx) = mpsc::unbounded_channel();
        let publisher = tokio::spawn(publish(
            rx,
            shared.conn.clone(),
            Arc::clone(&channel),
            Arc::clone(&instance),
        ));
        let subscriber = tokio::spawn(subscribe(
            shared.client.clone(),
            channel,
            Arc::clone(&instance),
            Arc::clone(&inbox),
            shared.options.timeout,
        ));
        Self {
            queue,
            inbox,
            instance,
            tasks: [publisher.abort_handle(), subscriber.abort_handle()],
        }
    }

    /// This replica's instance id on the bus: 128 random bits in hex, new per process.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl MessageBus for RedisBus {
    fn attach(&self, inbox: Inbox) {
        *self.inbox.lock().unwrap_or_else(PoisonError::into_inner) = Some(inbox);
    }

    fn send(&self, message: BusMessage) {
        // Only fails once the publisher is gone, when the bus is being dropped.
        let _ = self.queue.send(message);
    }
}

/// 128 random bits in hex; a fixed fallback would make replicas ignore each other, so the
/// clock and the process id stand in if the system has no randomness to give.
fn instance_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (nanos ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Drains the queue into `PUBLISH`es, a batch a round trip.
async fn publish(
    mut rx: mpsc::UnboundedReceiver<BusMessage>,
    mut conn: ConnectionManager,
    channel: Arc<str>,
    instance: Arc<str>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut count = 0;
        for message in batch.drain(..) {
            match encode(&instance, &message) {
                Ok(json) => {
                    pipe.cmd("PUBLISH").arg(&*channel).arg(json).ignore();
                    count += 1;
                }
                Err(e) => {
                    log_warn!("mcp-mount-redis bus: a message not sent, as JSON it fails: {e}")
                }
            }
        }
        if count == 0 {
            continue;
        }
        if let Err(e) = pipe.exec_async(&mut conn).await {
            log_warn!("mcp-mount-redis bus: {count} message(s) to the other replicas lost: {e}");
        }
    }
}

/// Keeps a subscription to `channel` open for as long as the bus lives, subscribing again
/// after every lost connection.
async fn subscribe(
    client: redis::Client,
    channel: Arc<str>,
    instance: Arc<str>,
    inbox: Arc<Mutex<Option<Inbox>>>,
    timeout: Duration,
) {
    // Messages of this replica start with its own `from`: ignored without parsing.
    let own = format!("{{\"from\":\"{instance}\"");
    let mut backoff = Duration::from_millis(50);
    let mut lost = false;
    loop {
        let outcome = listen(&client, &channel, &own, &inbox, timeout, || {
            if lost {
                log_info!("mcp-mount-redis bus: subscribed again to {channel}");
            }
            lost = false;
            backoff = Duration::from_millis(50);
        })
        .await;
        if !lost {
            log_warn!(
                "mcp-mount-redis bus: subscription to {channel} lost ({outcome}); subscribing again"
            );
        }
        lost = true;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Subscribes once and delivers until the connection fails; returns why it ended.
async fn listen(
    client: &redis::Client,
    channel: &str,
    own: &str,
    inbox: &Mutex<Option<Inbox>>,
    timeout: Duration,
    subscribed: impl FnOnce(),
) -> String {
    let pubsub = match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
        Ok(Ok(pubsub)) => pubsub,
        Ok(Err(e)) => return e.to_string(),
        Err(_) => return "no connection within the timeout".into(),
    };
    let (mut sink, mut stream) = pubsub.split();
    match tokio::time::timeout(timeout, sink.subscribe(channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return e.to_string(),
        Err(_) => return "SUBSCRIBE unanswered".into(),
    }
    subscribed();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return "the connection closed".into();
                };
                let payload = message.get_payload_bytes();
                if payload.starts_with(own.as_bytes()) {
                    continue;
                }
                match decode(payload) {
                    Ok(Some(message)) => {
                        let inbox = inbox.lock().unwrap_or_else(PoisonError::into_inner).clone();
                        if let Some(inbox) = inbox {
                            inbox.deliver(message);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => log_warn!("mcp-mount-redis bus: a message that is not one: {e}"),
                }
            }
            _ = heartbeat.tick() => {
                match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return e.to_string(),
                    Err(_) => return "PING unanswered".into(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_random_hex() {
        let (a, b) = (instance_id(), instance_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    fn round_trip(message: &BusMessage) -> String {
        let json = encode("me", message).unwrap_or_default();
        assert!(json.starts_with(b"{\"from\":\"me\""));
        match decode(&json) {
            Ok(Some(back)) => format!("{back:?}"),
            other => panic!("{} -> {other:?}", String::from_utf8_lossy(&json)),
        }
    }

    #[test]
    fn every_message_round_trips_with_its_sender() {
        let Ok(result) = RawValue::from_string(r#"{"action":"accept"}"#.into()) else {
            panic!("raw JSON")
        };
        let messages = [
            BusMessage::End {
                session: "s".into(),
            },
            BusMessage::Cancel {
                session: "s".into(),
                request: RequestId::Str("r-1".into()),
            },
            BusMessage::Change(mcp_mount::cluster::ChangeEvent::ToolsListChanged),
            BusMessage::HttpSseMessage {
                session: "s".into(),
                uri: "/mcp/messages?sessionId=s".into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.into(),
            },
            BusMessage::Change(mcp_mount::cluster::ChangeEvent::ResourceUpdated(
                "u://x".into(),
            )),
            BusMessage::ClientReply {
                session: "s".into(),
                request: RequestId::Int(3),
                reply: Ok(result),
            },
            BusMessage::ClientReply {
                session: "s".into(),
                request: RequestId::Int(4),
                reply: Err(RpcError {
                    code: -1,
                    message: "no".into(),
                    data: None,
                }),
            },
        ];
        for message in &messages {
            assert_eq!(round_trip(message), format!("{message:?}"));
        }
    }
}
