//! Change events (list changes, resource updates) and where they go: every session's GET
//! stream that listens, and every 2026-07-28 `subscriptions/listen` stream.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use tokio::sync::broadcast;

use crate::protocol::jsonrpc;
use crate::session::runtime::Session;

/// A change that streams may be told of: what a server-wide notification is about.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "uri")]
#[non_exhaustive]
pub enum ChangeEvent {
    /// The tool list changed.
    ToolsListChanged,
    /// The prompt list changed.
    PromptsListChanged,
    /// The resource or template list changed.
    ResourcesListChanged,
    /// The resource at this URI changed.
    ResourceUpdated(String),
    /// The task with this id changed (`notifications/tasks`, on listen streams only).
    Task(String),
}

impl ChangeEvent {
    /// The notification method a session's stream gets for it.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            Self::ToolsListChanged => "notifications/tools/list_changed",
            Self::PromptsListChanged => "notifications/prompts/list_changed",
            Self::ResourcesListChanged => "notifications/resources/list_changed",
            Self::ResourceUpdated(_) => "notifications/resources/updated",
            Self::Task(_) => "notifications/tasks",
        }
    }
}

/// Fans change events out to the streams that want them.
pub(crate) struct Changes {
    /// Sessions that opened a GET stream.
    listeners: Mutex<Vec<Weak<Session>>>,
    /// For 2026-07-28 `subscriptions/listen` streams.
    events: broadcast::Sender<ChangeEvent>,
    /// The runtime the listening streams are served on, known from the first `listen`.
    runtime: OnceLock<tokio::runtime::Handle>,
}

impl Default for Changes {
    fn default() -> Self {
        Self {
            listeners: Mutex::new(Vec::new()),
            events: broadcast::channel(256).0,
            runtime: OnceLock::new(),
        }
    }
}

impl Changes {
    /// Where events for listen streams only are sent (task changes).
    pub(crate) fn sender(&self) -> broadcast::Sender<ChangeEvent> {
        self.events.clone()
    }

    /// A receiver of every event from now on, for one listen stream.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    /// Registers `session` for server-wide notifications (once; later calls do nothing).
    pub(crate) fn listen(&self, session: &Arc<Session>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let _ = self.runtime.set(runtime);
        }
        if session.start_listening() {
            // The list holds plain pointers; a panic elsewhere cannot leave it inconsistent.
            let mut listeners = self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // A dead session's memory is freed only when its last `Weak` goes: prune now and
            // then, so sessions that come and go without any broadcast do not pile up.
            if listeners.len() >= 64 && listeners.len().is_power_of_two() {
                listeners.retain(|w| w.upgrade().is_some_and(|s| !s.is_closed()));
            }
            listeners.push(Arc::downgrade(session));
        }
    }

    /// Live sessions with a GET stream, forgetting the ones that are gone.
    fn listeners(&self) -> Vec<Arc<Session>> {
        let mut listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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

    /// Tells every stream of `event`: each listening session (for a resource update, only
    /// those subscribed to it) and every listen stream. Returns how many sessions it reached.
    pub(crate) fn publish(&self, event: &ChangeEvent) -> usize {
        // No listen stream open is not an error.
        let _ = self.events.send(event.clone());
        if let ChangeEvent::Task(_) = event {
            // For listen streams only (the tasks extension is 2026-07-28's).
            return 0;
        }
        let message = match event {
            ChangeEvent::ResourceUpdated(uri) => {
                #[derive(serde::Serialize)]
                struct Updated<'a> {
                    uri: &'a str,
                }
                jsonrpc::notification_bytes(event.method(), &Updated { uri })
            }
            _ => jsonrpc::notification_bytes(event.method(), &serde_json::json!({})),
        };
        let subscribed = |session: &Session| match event {
            ChangeEvent::ResourceUpdated(uri) => session.is_subscribed(uri),
            _ => true,
        };
        let reached: Vec<Arc<Session>> = self
            .listeners()
            .into_iter()
            .filter(|s| subscribed(s))
            .collect();
        if reached.is_empty() {
            return 0;
        }
        // Writing to a stream may wait on its event log: each gets a task on the runtime that
        // serves the streams (the caller may be a thread outside it).
        let Some(runtime) = self.runtime.get() else {
            return 0;
        };
        for session in &reached {
            let (session, message) = (Arc::clone(session), message.clone());
            runtime.spawn(async move {
                session.send_on_stream(&message).await;
            });
        }
        reached.len()
    }
}
