//! [`RequestContext`]: what a handler knows about the request it serves, and how it talks back.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, Uri};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{self, RequestId};
use crate::model::LoggingLevel;
use crate::session::Session;

/// The request a handler is serving: its HTTP parts (headers and the host's extensions, such as
/// the user an auth middleware inserted), its session, and channels back to the client.
///
/// Cheap to clone. Every call gets the context of its own HTTP request, never a stale one.
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

struct Inner {
    request_id: RequestId,
    progress_token: Option<Value>,
    parts: http::request::Parts,
    session: Option<Arc<Session>>,
    sink: Option<mpsc::UnboundedSender<Bytes>>,
    cancel: CancellationToken,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.inner.request_id)
            .field("session", &self.session_id())
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    pub(crate) fn new(
        request_id: RequestId,
        progress_token: Option<Value>,
        parts: http::request::Parts,
        session: Option<Arc<Session>>,
        sink: Option<mpsc::UnboundedSender<Bytes>>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                request_id,
                progress_token,
                parts,
                session,
                sink,
                cancel,
            }),
        }
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The HTTP request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.parts.headers
    }

    /// The HTTP request's extensions: whatever the host's middleware inserted.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.parts.extensions
    }

    /// The HTTP request's URI as the host received it (mount prefix included).
    pub fn uri(&self) -> &Uri {
        &self.inner.parts.uri
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.inner.parts.method
    }

    /// The session this request belongs to (`None` in stateless mode).
    pub fn session(&self) -> Option<&Session> {
        self.inner.session.as_deref()
    }

    /// The `Mcp-Session-Id` of the request's session.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session.as_deref().map(Session::id)
    }

    /// The `_meta.progressToken` the client sent, if any.
    pub fn progress_token(&self) -> Option<&Value> {
        self.inner.progress_token.as_ref()
    }

    /// Whether the client cancelled this request (`notifications/cancelled`).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Completes when the client cancels this request. The core also drops the handler's future
    /// on cancellation; this is for work a handler spawned elsewhere.
    pub async fn cancelled(&self) {
        self.inner.cancel.cancelled().await;
    }

    /// Sends `notifications/progress` on this request's stream, if the client asked for progress.
    ///
    /// `progress` should increase with each call. Returns whether a notification was queued.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> bool {
        let Some(token) = &self.inner.progress_token else {
            return false;
        };
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Progress<'a> {
            progress_token: &'a Value,
            progress: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            total: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<&'a str>,
        }
        self.send(jsonrpc::notification_bytes(
            "notifications/progress",
            &Progress {
                progress_token: token,
                progress,
                total,
                message,
            },
        ))
    }

    /// Sends `notifications/message` on this request's stream, if `level` passes the session's
    /// `logging/setLevel` filter. Returns whether a notification was queued.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: impl Serialize,
    ) -> bool {
        if self.session().is_some_and(|s| level < s.log_level()) {
            return false;
        }
        #[derive(Serialize)]
        struct Message<'a, D> {
            level: LoggingLevel,
            #[serde(skip_serializing_if = "Option::is_none")]
            logger: Option<&'a str>,
            data: D,
        }
        self.send(jsonrpc::notification_bytes(
            "notifications/message",
            &Message {
                level,
                logger,
                data,
            },
        ))
    }

    fn send(&self, message: Bytes) -> bool {
        self.inner
            .sink
            .as_ref()
            .is_some_and(|sink| sink.send(message).is_ok())
    }
}
