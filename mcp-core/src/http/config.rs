//! The server's settings, as the builder collects them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use crate::protocol::cache::{CachePolicy, CacheScope};

#[cfg(feature = "oauth")]
use crate::http::bearer::{ProtectedResource, TokenVerifier};
use crate::http::cors::Cors;
use crate::http::forwarded::TrustedProxies;
use crate::http::guard::HostOriginPolicy;
use crate::session::ReplayLimit;

/// How a request's answer is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// JSON when the handler sends nothing before its result; an SSE stream as soon as it sends
    /// a message (progress, logging, a request to the client). The default.
    #[default]
    Auto,
    /// Always `application/json`; notifications from handlers are dropped and handlers cannot
    /// send requests to the client.
    Json,
    /// Always `text/event-stream`.
    Sse,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_body: usize,
    pub(crate) session_ttl: Duration,
    /// How long a session must be idle to make room under a full cap.
    pub(crate) evict_after: Duration,
    /// The idle TTL of a session that has not completed its handshake.
    pub(crate) handshake_ttl: Duration,
    pub(crate) max_sessions: usize,
    /// The most live sessions of one principal or client address, when capped.
    pub(crate) max_sessions_per_client: Option<usize>,
    pub(crate) stateless: bool,
    pub(crate) response_mode: ResponseMode,
    pub(crate) policy: HostOriginPolicy,
    pub(crate) page_size: usize,
    pub(crate) sse_retry: Duration,
    pub(crate) replay: ReplayLimit,
    pub(crate) client_timeout: Duration,
    pub(crate) trusted_proxies: Option<TrustedProxies>,
    #[cfg(feature = "rest-view")]
    pub(crate) rest_view: bool,
    pub(crate) cors: Option<Cors>,
    pub(crate) bind_sessions: Option<BindSessions>,
    #[cfg(feature = "oauth")]
    pub(crate) oauth: Option<(ProtectedResource, Arc<dyn TokenVerifier>)>,
    pub(crate) cache: CachePolicy,
    pub(crate) input_ttl: Duration,
    /// How long a call of a task-supporting tool runs before it becomes a task.
    pub(crate) task_after: Duration,
    /// How long a task is kept after its creation.
    pub(crate) task_ttl: Duration,
    /// The poll interval tasks suggest.
    pub(crate) task_poll_interval: Duration,
    /// The caps on live tasks: in all, and per client.
    pub(crate) max_tasks: (usize, usize),
}

/// How a request names the principal its session is bound to.
type BindSessions = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        f.field("max_body", &self.max_body)
            .field("session_ttl", &self.session_ttl)
            .field("evict_after", &self.evict_after)
            .field("handshake_ttl", &self.handshake_ttl)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_client", &self.max_sessions_per_client)
            .field("stateless", &self.stateless)
            .field("response_mode", &self.response_mode)
            .field("policy", &self.policy);
        #[cfg(feature = "rest-view")]
        f.field("rest_view", &self.rest_view);
        f.field("cors", &self.cors)
            .field("bound_sessions", &self.bind_sessions.is_some());
        #[cfg(feature = "oauth")]
        f.field("oauth", &self.oauth.as_ref().map(|(resource, _)| resource));
        f.finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body: 4 * 1024 * 1024,
            session_ttl: Duration::from_secs(30 * 60),
            evict_after: crate::session::EVICT_AFTER_IDLE,
            handshake_ttl: crate::session::HANDSHAKE_TTL,
            max_sessions: 10_000,
            max_sessions_per_client: None,
            stateless: false,
            response_mode: ResponseMode::Auto,
            policy: HostOriginPolicy::default(),
            page_size: 100,
            sse_retry: Duration::from_secs(1),
            replay: ReplayLimit::default(),
            client_timeout: Duration::from_secs(60),
            trusted_proxies: None,
            #[cfg(feature = "rest-view")]
            rest_view: false,
            cors: None,
            bind_sessions: None,
            #[cfg(feature = "oauth")]
            oauth: None,
            cache: CachePolicy::default(),
            input_ttl: Duration::from_secs(10 * 60),
            task_after: Duration::from_millis(200),
            task_ttl: crate::session::TASK_TTL,
            task_poll_interval: Duration::from_millis(500),
            max_tasks: (10_000, 100),
        }
    }
}

impl Config {
    /// Whether the REST view's routes are served: never without the `rest-view` feature.
    pub(crate) fn rest_view(&self) -> bool {
        #[cfg(feature = "rest-view")]
        {
            self.rest_view
        }
        #[cfg(not(feature = "rest-view"))]
        {
            false
        }
    }
}
