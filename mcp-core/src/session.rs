//! Sessions (`Mcp-Session-Id`) and where they are kept.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::RequestId;
use crate::model::LoggingLevel;

/// One client's session, created by `initialize`.
pub struct Session {
    id: Arc<str>,
    protocol_version: &'static str,
    client_capabilities: Value,
    client_info: Value,
    created: Instant,
    last_seen_ms: AtomicU64,
    log_level: AtomicU8,
    initialized: AtomicBool,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    stream: Mutex<Option<mpsc::Sender<Bytes>>>,
    closed: CancellationToken,
    principal: Option<Box<str>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("protocol_version", &self.protocol_version)
            .finish_non_exhaustive()
    }
}

/// 128 random bits as 32 lowercase hex characters (visible ASCII, as the spec requires).
pub(crate) fn new_session_id() -> Result<Arc<str>, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut id = String::with_capacity(32);
    for b in bytes {
        id.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        id.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Ok(id.into())
}

impl Session {
    pub(crate) fn new(
        protocol_version: &'static str,
        client_capabilities: Value,
        client_info: Value,
    ) -> Result<Self, getrandom::Error> {
        Ok(Self {
            id: new_session_id()?,
            protocol_version,
            client_capabilities,
            client_info,
            created: Instant::now(),
            last_seen_ms: AtomicU64::new(0),
            log_level: AtomicU8::new(LoggingLevel::Debug as u8),
            initialized: AtomicBool::new(false),
            in_flight: Mutex::new(HashMap::new()),
            stream: Mutex::new(None),
            closed: CancellationToken::new(),
            principal: None,
        })
    }

    /// Binds the session to the principal that created it.
    pub(crate) fn with_principal(mut self, principal: Option<String>) -> Self {
        self.principal = principal.map(String::into_boxed_str);
        self
    }

    /// The principal the session is bound to, if sessions are bound
    /// ([`bind_sessions`](crate::McpServerBuilder::bind_sessions)).
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The session id, as sent in `Mcp-Session-Id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The protocol version negotiated at `initialize`.
    pub fn protocol_version(&self) -> &'static str {
        self.protocol_version
    }

    /// The capabilities the client declared at `initialize`.
    pub fn client_capabilities(&self) -> &Value {
        &self.client_capabilities
    }

    /// The `clientInfo` the client sent at `initialize`.
    pub fn client_info(&self) -> &Value {
        &self.client_info
    }

    /// Whether the client sent `notifications/initialized`.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_initialized(&self) {
        self.initialized.store(true, Ordering::Relaxed);
    }

    /// The minimum level of `notifications/message` the client asked for.
    pub fn log_level(&self) -> LoggingLevel {
        LoggingLevel::from_u8(self.log_level.load(Ordering::Relaxed))
    }

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        self.log_level.store(level as u8, Ordering::Relaxed);
    }

    /// Records activity now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_seen_ms.store(ms, Ordering::Relaxed);
    }

    /// How long the session has been idle: no request, and no open GET stream.
    pub fn idle_for(&self) -> Duration {
        if self.has_open_stream() {
            return Duration::ZERO;
        }
        let seen = Duration::from_millis(self.last_seen_ms.load(Ordering::Relaxed));
        self.created.elapsed().saturating_sub(seen)
    }

    fn has_open_stream(&self) -> bool {
        self.stream
            .lock()
            .map(|s| s.as_ref().is_some_and(|tx| !tx.is_closed()))
            .unwrap_or(false)
    }

    /// Ends the session: closes its GET stream and cancels its in-flight requests.
    pub fn close(&self) {
        self.closed.cancel();
        if let Ok(mut stream) = self.stream.lock() {
            stream.take();
        }
        if let Ok(mut in_flight) = self.in_flight.lock() {
            for (_, token) in in_flight.drain() {
                token.cancel();
            }
        }
    }

    /// Whether the session was ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Registers an in-flight request; the guard unregisters it when dropped.
    pub(crate) fn begin_request(self: &Arc<Self>, id: RequestId) -> InFlight {
        // Independent of `closed`: `close` cancels every registered token itself, and a child
        // token would make concurrent requests of one session contend on the parent's lock.
        let token = CancellationToken::new();
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.insert(id.clone(), token.clone());
        }
        InFlight {
            session: Arc::clone(self),
            id,
            token,
        }
    }

    pub(crate) fn cancel_request(&self, id: &RequestId) {
        let token = self.in_flight.lock().ok().and_then(|mut m| m.remove(id));
        if let Some(token) = token {
            token.cancel();
        }
    }

    /// Opens the standalone GET stream, ending the one open before, if any.
    ///
    /// The newest stream wins rather than the second being refused: several frameworks only
    /// notice that an idle stream's client went away when they next write to it, and a client
    /// that reconnects must not be locked out by a stream the server cannot see is dead.
    pub(crate) fn open_stream(&self, capacity: usize) -> Option<mpsc::Receiver<Bytes>> {
        let mut slot = self.stream.lock().ok()?;
        let (tx, rx) = mpsc::channel(capacity);
        // Dropping the previous sender ends the previous stream.
        *slot = Some(tx);
        Some(rx)
    }
}

/// Unregisters an in-flight request when dropped.
pub(crate) struct InFlight {
    session: Arc<Session>,
    id: RequestId,
    pub(crate) token: CancellationToken,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.session.in_flight.lock() {
            in_flight.remove(&self.id);
        }
    }
}

/// The live-session cap was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFull;

impl fmt::Display for StoreFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the session store is full")
    }
}

impl std::error::Error for StoreFull {}

/// Where sessions live. The default is [`InMemorySessionStore`].
///
/// A store owns expiry and the cap: `get` returns `None` for a session that expired, and
/// `insert` fails with [`StoreFull`] when no room is left.
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Adds a new session.
    ///
    /// # Errors
    ///
    /// [`StoreFull`] when the cap on live sessions is reached.
    fn insert(&self, session: Arc<Session>) -> Result<(), StoreFull>;
    /// Looks a live session up and records activity on it.
    fn get(&self, id: &str) -> Option<Arc<Session>>;
    /// Removes a session (the caller closes it).
    fn remove(&self, id: &str) -> Option<Arc<Session>>;
    /// How many sessions are live.
    fn len(&self) -> usize;
    /// Whether no session is live.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sessions in memory, with an idle time-to-live and a cap on live sessions.
///
/// Expired sessions are dropped when looked up and swept in bulk when new ones are added, so no
/// background task is needed.
#[derive(Debug)]
pub struct InMemorySessionStore {
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    ttl: Duration,
    cap: usize,
    next_sweep: Mutex<Instant>,
}

impl InMemorySessionStore {
    /// A store whose sessions expire after `ttl` idle and which holds at most `cap` of them.
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            sessions: RwLock::new(HashMap::new()),
            ttl,
            cap,
            next_sweep: Mutex::new(Instant::now() + ttl),
        }
    }

    fn sweep(&self, sessions: &mut HashMap<Arc<str>, Arc<Session>>) {
        sessions.retain(|_, s| {
            let live = s.idle_for() <= self.ttl && !s.is_closed();
            if !live {
                s.close();
            }
            live
        });
        if let Ok(mut next) = self.next_sweep.lock() {
            *next = Instant::now()
                + self
                    .ttl
                    .min(Duration::from_secs(60))
                    .max(Duration::from_millis(100));
        }
    }
}

impl SessionStore for InMemorySessionStore {
    fn insert(&self, session: Arc<Session>) -> Result<(), StoreFull> {
        let Ok(mut sessions) = self.sessions.write() else {
            return Err(StoreFull);
        };
        let sweep_due = self
            .next_sweep
            .lock()
            .map(|n| Instant::now() >= *n)
            .unwrap_or(true);
        if sweep_due || sessions.len() >= self.cap {
            self.sweep(&mut sessions);
        }
        if sessions.len() >= self.cap {
            return Err(StoreFull);
        }
        session.touch();
        sessions.insert(session.id.clone(), session);
        Ok(())
    }

    fn get(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.sessions.read().ok()?.get(id).cloned()?;
        if session.idle_for() > self.ttl || session.is_closed() {
            self.remove(id);
            session.close();
            return None;
        }
        session.touch();
        Some(session)
    }

    fn remove(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.write().ok()?.remove(id)
    }

    fn len(&self) -> usize {
        self.sessions.read().map(|s| s.len()).unwrap_or(0)
    }
}
