//! What every front end shares: the engine, the configuration, the session store and the
//! change fan-out, and the few questions each of them asks of a request.

use std::sync::Arc;

use http::HeaderMap;

use crate::engine::Engine;
use crate::http::config::Config;
use crate::http::error::{Error, ErrorKind};
use crate::http::forwarded;
use crate::http::mrtr::KeyRing;
use crate::http::negotiate::{MCP_PROTOCOL_VERSION, MCP_SESSION_ID, header_str};
use crate::http::reply::StreamConfig;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::version::{DEFAULT_HEADER_VERSION, SESSION_ERA_VERSIONS, supported_version};
use crate::session::changes::Changes;
#[cfg(feature = "http-sse")]
use crate::session::http_sse::HttpSseSessions;
use crate::session::{
    BusMessage, ChangeEvent, ClientReply, EventLog, Runtimes, Session, SessionState, SessionStore,
    StoreError, Transport,
};

/// The state every front end serves from.
pub(crate) struct Core {
    pub(crate) engine: Engine,
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) changes: Changes,
    /// Sessions of the 2024-11-05 HTTP+SSE transport.
    #[cfg(feature = "http-sse")]
    pub(crate) http_sse: HttpSseSessions,
    /// Where the events of resumable streams are kept.
    pub(crate) log: Arc<dyn EventLog>,
    /// This replica's live parts of sessions.
    pub(crate) runtimes: Runtimes,
    /// Seals MRTR `requestState` (HMAC-SHA256), drawn when the server is built.
    pub(crate) state_keys: KeyRing,
    /// Task records, and the tasks running here.
    pub(crate) tasks: crate::session::task::Tasks,
}

impl Core {
    /// Starts a graceful shutdown: new requests are refused from now on, and the streams that
    /// only wait for events (GET, HTTP+SSE, `subscriptions/listen`) end; running calls go on.
    pub(crate) fn begin_shutdown(&self) {
        self.engine.shutdown.draining.cancel();
        self.runtimes.detach_standalone_streams();
        #[cfg(feature = "http-sse")]
        self.http_sse.close_all();
    }

    /// Adds a session to the store; a session dropped to make room ends here and on the
    /// other replicas, and its events are forgotten.
    pub(crate) async fn create_session(&self, state: SessionState) -> Result<(), StoreError> {
        if let Some(evicted) = self.store.create(state).await? {
            self.runtimes.end(&evicted);
            // A log that cannot be reached forgets it by its own expiry.
            let _ = self.log.forget(&evicted).await;
            self.engine.bus.send(BusMessage::End { session: evicted });
        }
        Ok(())
    }

    pub(crate) fn stream_config(&self) -> StreamConfig {
        StreamConfig {
            mode: self.config.response_mode,
            retry: self.config.sse_retry,
        }
    }

    /// The URL the client used: the request's own, or what a trusted proxy says it was.
    pub(crate) fn external<'a>(&self, parts: &'a http::request::Parts) -> forwarded::External<'a> {
        forwarded::external(parts, self.config.trusted_proxies.as_ref())
    }

    /// The session named by `Mcp-Session-Id` (`None` in stateless mode). A session bound to
    /// another principal is not found, as an unknown one.
    pub(crate) async fn session(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<Arc<Session>>, Error> {
        self.session_for(parts, true).await
    }

    /// [`session`](Self::session), for a message that runs nothing here (a notification, a
    /// client's answer): a replica that holds no runtime of the session uses a transient
    /// one rather than keeping one, so an idle session costs only its state.
    pub(crate) async fn session_passing(
        &self,
        parts: &http::request::Parts,
    ) -> Result<Option<Arc<Session>>, Error> {
        self.session_for(parts, false).await
    }

    async fn session_for(
        &self,
        parts: &http::request::Parts,
        keep: bool,
    ) -> Result<Option<Arc<Session>>, Error> {
        if self.config.stateless {
            return Ok(None);
        }
        let Some(id) = header_str(&parts.headers, &MCP_SESSION_ID) else {
            return Err(ErrorKind::MissingSession.into());
        };
        let Some(state) = self.store.load(id).await.map_err(store_error)? else {
            // Expired or ended elsewhere: whatever still runs here for it ends too.
            self.runtimes.end(id);
            return Err(ErrorKind::SessionNotFound.into());
        };
        if state.principal != self.principal_of(parts) || state.transport != Transport::Streamable {
            return Err(ErrorKind::SessionNotFound.into());
        }
        Ok(Some(if keep {
            self.runtimes.attach(state)
        } else {
            self.runtimes.existing_or_transient(state)
        }))
    }

    /// The principal sessions are bound to, when they are.
    pub(crate) fn principal_of(&self, parts: &http::request::Parts) -> Option<String> {
        self.config
            .bind_sessions
            .as_ref()
            .and_then(|bind| bind(parts))
    }

    /// Who a per-client cap counts this request against: its principal, else the client's
    /// address (an IPv6 client by its /64, the real client's behind trusted proxies).
    pub(crate) fn client_of(
        &self,
        parts: &http::request::Parts,
        principal: Option<&str>,
    ) -> Option<String> {
        if let Some(principal) = principal {
            return Some(format!("principal:{principal}"));
        }
        let ip = forwarded::client_ip(parts, self.config.trusted_proxies.as_ref())?;
        Some(match ip.to_canonical() {
            std::net::IpAddr::V6(v6) => {
                // One client's IPv6 addresses share a /64: its first four groups.
                let g = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", g[0], g[1], g[2], g[3])
            }
            v4 => format!("address:{v4}"),
        })
    }

    /// A new session's state for this request: bound to its principal, and owned by it or
    /// by the client's address when sessions are capped per client.
    pub(crate) fn new_session(
        &self,
        parts: &http::request::Parts,
        protocol_version: &str,
        client_capabilities: serde_json::Value,
        client_info: serde_json::Value,
    ) -> Result<SessionState, getrandom::Error> {
        let principal = self.principal_of(parts);
        let owner = self
            .config
            .max_sessions_per_client
            .and_then(|_| self.client_of(parts, principal.as_deref()));
        let mut state = SessionState::new(
            protocol_version,
            client_capabilities,
            client_info,
            principal,
        )?;
        state.owner = owner;
        Ok(state)
    }
}

impl Core {
    /// Hands the client's answer to the handler waiting for it: here, or on another replica.
    pub(crate) fn reply_to(&self, session: &Session, request: RequestId, reply: ClientReply) {
        if let Err(reply) = session.complete_client_request(&request, reply) {
            self.engine.bus.send(BusMessage::ClientReply {
                session: session.id().to_owned(),
                request,
                reply,
            });
        }
    }

    /// Tells every listening stream, here and on the other replicas, of `event`; returns how
    /// many sessions here it reached.
    pub(crate) fn publish(&self, event: ChangeEvent) -> usize {
        let reached = self.changes.publish(&event);
        self.engine.bus.send(BusMessage::Change(event));
        reached
    }
}

/// The version a session-era request names in `MCP-Protocol-Version` (2025-03-26 when it
/// names none); an unsupported one is a 400.
pub(crate) fn check_version_header(headers: &HeaderMap) -> Result<&'static str, Error> {
    match headers.get(MCP_PROTOCOL_VERSION) {
        None => Ok(DEFAULT_HEADER_VERSION),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(supported_version)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::UnsupportedProtocolVersion,
                    format!(
                        "Bad Request: Unsupported protocol version: {} (supported versions: {})",
                        String::from_utf8_lossy(value.as_bytes()),
                        SESSION_ERA_VERSIONS.join(", ")
                    ),
                )
            }),
    }
}

/// The transport error for a store that failed.
pub(crate) fn store_error(error: StoreError) -> Error {
    match error {
        StoreError::Full => ErrorKind::TooManySessions.into(),
        StoreError::OwnerFull { limit } => Error::new(
            ErrorKind::TooManyClientSessions,
            format!(
                "Too Many Requests: this client already holds {limit} sessions, the most the \
                 server's McpServerBuilder::max_sessions_per_client allows; end one with \
                 DELETE, or retry once one has been idle"
            ),
        ),
        StoreError::Refused(why) => {
            Error::new(ErrorKind::InvalidRequest, format!("Invalid Request: {why}"))
        }
        StoreError::Unavailable(why) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "Service Unavailable: the session store cannot be reached ({why}); retry shortly"
            ),
        ),
    }
}
