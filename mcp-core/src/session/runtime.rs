//! A session's live runtime on this replica: open streams and their connections, running
//! handlers, requests waiting on the client; and the registry of the runtimes.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustc_hash::FxHashMap;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::protocol::jsonrpc::{RequestId, RpcError};
use crate::protocol::model::LoggingLevel;
use crate::protocol::sse;
use crate::protocol::version::{ProtocolVersion, supported_version};

use crate::session::log::{EventId, EventLog, ReplayError, ReplayLimit, STANDALONE};
use crate::session::state::SessionState;

/// What a client answered to a server-to-client request: its `result`, or its `error`.
pub(crate) type ClientReply = Result<Box<RawValue>, RpcError>;

/// Locks `mutex`, using the data as it stands if a holder panicked: every critical section
/// here replaces or removes whole values, so the data is consistent even then, and the
/// request goes on with the right answer instead of a made-up one.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client's session as this replica serves it: its state (as last loaded or changed
/// here) and the live parts that exist only where they run.
pub struct Session {
    id: Arc<str>,
    protocol_version: &'static str,
    /// The state as loaded; what never changes after `initialize` is read here.
    initial: Arc<SessionState>,
    /// The newest state this replica saw (log level, initialized, subscriptions).
    latest: RwLock<Arc<SessionState>>,
    created: Instant,
    last_seen_ms: AtomicU64,
    listening: AtomicBool,
    replay: ReplayLimit,
    in_flight: Mutex<HashMap<RequestId, CancellationToken>>,
    /// The live connection of each of the session's open streams on this replica (`None`:
    /// open, but its client is away).
    attached: Mutex<HashMap<u32, Option<mpsc::Sender<Bytes>>>>,
    /// Orders the logging of events against resumption (an async lock: held across the
    /// log's awaits).
    writes: tokio::sync::Mutex<()>,
    /// Where the session's stream events are kept for resumption.
    log: Arc<dyn EventLog>,
    /// The store, told that the session is in use while a request's stream runs (so a full
    /// store never takes it for abandoned); set by the registry that made this runtime.
    store: std::sync::OnceLock<Arc<dyn crate::session::store::SessionStore>>,
    next_client_request: AtomicI64,
    pending: Mutex<HashMap<RequestId, oneshot::Sender<ClientReply>>>,
    closed: CancellationToken,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("protocol_version", &self.protocol_version)
            .finish_non_exhaustive()
    }
}

/// Why a `Last-Event-ID` cannot be resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResumeError {
    /// The session's streams carry no event ids (an older protocol version).
    NotResumable,
    /// No stream with that id is known (never existed, or long forgotten).
    UnknownStream,
    /// Events after that id were dropped from the bounded replay buffer.
    Gone,
    /// The event log cannot be reached now.
    Unavailable,
}

impl Session {
    /// The runtime of a session whose state is `state`.
    pub(crate) fn new(
        state: Arc<SessionState>,
        replay: ReplayLimit,
        log: Arc<dyn EventLog>,
    ) -> Self {
        // A version the store holds that this build does not speak is served as the newest
        // one it does: the state was written by a newer replica during a rolling deploy.
        let protocol_version = supported_version(&state.protocol_version)
            .unwrap_or(crate::protocol::version::SESSION_ERA_LATEST_VERSION);
        Self {
            id: state.id.as_str().into(),
            protocol_version,
            latest: RwLock::new(Arc::clone(&state)),
            initial: state,
            created: Instant::now(),
            last_seen_ms: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            replay,
            in_flight: Mutex::new(HashMap::new()),
            attached: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
            log,
            store: std::sync::OnceLock::new(),
            next_client_request: AtomicI64::new(1),
            pending: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
        }
    }

    /// The newest state this replica saw of the session.
    pub fn state(&self) -> Arc<SessionState> {
        Arc::clone(&self.latest.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records a newer state (from a load or a change).
    pub(crate) fn refresh(&self, state: Arc<SessionState>) {
        // Usually the state is the very one held already (nothing changed): no write lock,
        // so concurrent requests of one session do not queue here.
        if Arc::ptr_eq(
            &self.latest.read().unwrap_or_else(PoisonError::into_inner),
            &state,
        ) {
            return;
        }
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// The principal the session is bound to, if sessions are bound
    /// ([`bind_sessions`](crate::McpServerBuilder::bind_sessions)).
    pub fn principal(&self) -> Option<&str> {
        self.initial.principal.as_deref()
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
        &self.initial.client_capabilities
    }

    /// The `clientInfo` the client sent at `initialize`.
    pub fn client_info(&self) -> &Value {
        &self.initial.client_info
    }

    /// Whether the client sent `notifications/initialized`.
    pub fn is_initialized(&self) -> bool {
        self.state().initialized
    }

    /// The minimum level of `notifications/message` the client asked for.
    pub fn log_level(&self) -> LoggingLevel {
        self.state().log_level
    }

    /// Whether the client subscribed to updates of `uri` (`resources/subscribe`).
    pub fn is_subscribed(&self, uri: &str) -> bool {
        self.state().subscriptions.contains(uri)
    }

    /// Marks the session as registered for server-wide notifications; `true` the first time.
    pub(crate) fn start_listening(&self) -> bool {
        !self.listening.swap(true, Ordering::Relaxed)
    }

    /// Records activity now.
    pub fn touch(&self) {
        let ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_seen_ms.store(ms, Ordering::Relaxed);
    }

    /// How long the session has been idle here: no request, and no open GET stream.
    pub fn idle_for(&self) -> Duration {
        if self.has_open_stream() {
            return Duration::ZERO;
        }
        let seen = Duration::from_millis(self.last_seen_ms.load(Ordering::Relaxed));
        self.created.elapsed().saturating_sub(seen)
    }

    /// Whether nothing of the session is live here: no open stream, no running request, no
    /// request waiting on the client. Such a runtime can be dropped and rebuilt from state.
    pub(crate) fn is_quiet(&self) -> bool {
        !self.has_open_stream()
            && lock(&self.in_flight).is_empty()
            && lock(&self.pending).is_empty()
    }

    /// Resolves when the session is ended.
    pub(crate) async fn ended(&self) {
        self.closed.cancelled().await;
    }

    /// Writes an SSE comment on the standalone GET stream, so that a framework that notices a
    /// gone client only when a write fails does notice; `false` when the stream is closed.
    pub(crate) fn ping_stream(&self) -> bool {
        let tx = lock(&self.attached).get(&STANDALONE).cloned().flatten();
        match tx {
            Some(tx) => !matches!(
                tx.try_send(Bytes::from_static(b":\n\n")),
                Err(mpsc::error::TrySendError::Closed(_))
            ),
            None => false,
        }
    }

    /// Whether the standalone GET stream has a connection.
    pub(crate) fn has_open_stream(&self) -> bool {
        lock(&self.attached)
            .get(&STANDALONE)
            .and_then(Option::as_ref)
            .is_some_and(|tx| !tx.is_closed())
    }

    /// Ends the session here: closes its streams, cancels its in-flight requests and fails
    /// the requests it was waiting on the client for.
    pub fn close(&self) {
        self.closed.cancel();
        lock(&self.attached).clear();
        for (_, token) in lock(&self.in_flight).drain() {
            token.cancel();
        }
        lock(&self.pending).clear();
    }

    /// Whether the session was ended.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Whether this session's SSE streams carry event ids and can be resumed with
    /// `Last-Event-ID`: the client negotiated 2025-11-25 or later and replay is enabled.
    pub fn is_resumable(&self) -> bool {
        ProtocolVersion::parse(self.protocol_version)
            .is_some_and(ProtocolVersion::resumable_streams)
            && self.replay.events > 0
    }

    /// Registers an in-flight request; the guard unregisters it when dropped.
    pub(crate) fn begin_request(self: &Arc<Self>, id: RequestId) -> InFlight {
        // Independent of `closed`: `close` cancels every registered token itself, and a child
        // token would make concurrent requests of one session contend on the parent's lock.
        let token = CancellationToken::new();
        lock(&self.in_flight).insert(id.clone(), token.clone());
        InFlight {
            session: Arc::clone(self),
            id,
            token,
        }
    }

    /// Cancels the request `id` if it runs here; `false` when it does not.
    pub(crate) fn cancel_request(&self, id: &RequestId) -> bool {
        let token = lock(&self.in_flight).remove(id);
        token.map(|token| token.cancel()).is_some()
    }

    /// Registers a server-to-client request with a fresh id, unique in the session; the guard
    /// unregisters it when dropped.
    pub(crate) fn begin_client_request(
        self: &Arc<Self>,
    ) -> (RequestId, oneshot::Receiver<ClientReply>, PendingGuard) {
        let id = RequestId::Int(self.next_client_request.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = lock(&self.pending);
            if !self.is_closed() {
                pending.insert(id.clone(), tx);
            }
        }
        let guard = PendingGuard {
            session: Arc::clone(self),
            id: id.clone(),
        };
        (id, rx, guard)
    }

    /// Hands the client's answer to the request waiting for it here.
    ///
    /// # Errors
    ///
    /// The reply itself, when no handler here waits for it (it may wait on another replica).
    pub(crate) fn complete_client_request(
        &self,
        id: &RequestId,
        reply: ClientReply,
    ) -> Result<(), ClientReply> {
        match lock(&self.pending).remove(id) {
            // A handler that gave up waiting has dropped its receiver: the answer is moot.
            Some(waiting) => {
                let _ = waiting.send(reply);
                Ok(())
            }
            None => Err(reply),
        }
    }

    /// Opens a request's SSE stream: allocates its number in the event log and queues the
    /// priming event on `tx` (or returns it, when the whole body is written at once).
    /// `None` when the log cannot be reached: the stream is then sent without ids.
    pub(crate) async fn open_request_stream(
        &self,
        request: Option<&RequestId>,
        tx: Option<mpsc::Sender<Bytes>>,
        retry: Duration,
    ) -> Option<(u32, Bytes)> {
        let stream = self.log.open(&self.id, request).await.ok()?;
        let priming = sse::priming(EventId { stream, seq: 0 }, retry);
        if let Some(tx) = &tx {
            // A fresh channel always has room for its first message.
            let _ = tx.try_send(priming.clone());
        }
        lock(&self.attached).insert(stream, tx);
        Some((stream, priming))
    }

    /// Logs `message` as the next event of `stream` and returns the framed event with the
    /// connection currently attached to the stream, if any. When the log cannot be reached
    /// the live copy still goes out, without an id.
    pub(crate) async fn record_event(
        &self,
        stream: u32,
        message: &[u8],
    ) -> (Bytes, Option<mpsc::Sender<Bytes>>) {
        let _ordered = self.writes.lock().await;
        let id = self
            .log
            .append(&self.id, stream, Bytes::copy_from_slice(message))
            .await
            .ok();
        let tx = lock(&self.attached).get(&stream).cloned().flatten();
        (sse::event(id, message), tx)
    }

    /// Tells the event log that this replica still writes `stream` (see [`EventLog::keep`]).
    pub(crate) async fn keep_stream(&self, stream: u32) {
        // A log that cannot be reached now is told next time.
        let _ = self.log.keep(&self.id, stream).await;
        // A request still running: its session is in use. (The GET stream keeps its session
        // with a loop of its own.)
        if stream != STANDALONE {
            if let Some(store) = self.store.get() {
                let _ = store.touch(&self.id).await;
            }
        }
    }

    /// Detaches the connection from a running stream (SEP-1699 polling): its HTTP body ends,
    /// the stream's later events wait for the client to resume.
    pub(crate) fn detach_stream(&self, stream: u32) {
        if let Some(tx) = lock(&self.attached).get_mut(&stream) {
            *tx = None;
        }
    }

    /// Marks a request stream as complete: its connection ends once it has sent what it has.
    pub(crate) async fn finish_stream(&self, stream: u32) {
        lock(&self.attached).remove(&stream);
        // A log that cannot be reached forgets the stream by its own expiry.
        let _ = self.log.finish(&self.id, stream).await;
    }

    /// Opens the standalone GET stream, ending the one open before, if any.
    ///
    /// The newest stream wins rather than the second being refused: several frameworks only
    /// notice that an idle stream's client went away when they next write to it, and a client
    /// that reconnects must not be locked out by a stream the server cannot see is dead.
    /// On a resumable session the stream starts with a priming event.
    pub(crate) async fn open_stream(
        &self,
        capacity: usize,
        retry: Duration,
    ) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(capacity);
        if self.is_resumable() {
            if let Ok(id) = self.log.next_id(&self.id, STANDALONE).await {
                let _ = tx.try_send(sse::priming(id, retry));
            }
        }
        // Replacing the attached sender drops the previous one, which ends that stream.
        lock(&self.attached).insert(STANDALONE, Some(tx));
        rx
    }

    /// Sends the notification `method` with `params` on the session's standalone GET stream,
    /// for messages unrelated to any request (on a resumable session it is also kept for
    /// replay).
    ///
    /// Returns whether it was delivered or kept: `false` when the client never opened the
    /// stream, or when its connection is gone or too far behind on a session that cannot
    /// replay.
    pub async fn notify(&self, method: &str, params: &impl serde::Serialize) -> bool {
        self.send_on_stream(&crate::protocol::jsonrpc::notification_bytes(
            method, params,
        ))
        .await
    }

    /// Sends an already serialised JSON-RPC message on the standalone GET stream; see
    /// [`notify`](Self::notify).
    pub(crate) async fn send_on_stream(&self, message: &[u8]) -> bool {
        if !lock(&self.attached).contains_key(&STANDALONE) {
            return false;
        }
        if self.is_resumable() {
            let (frame, tx) = self.record_event(STANDALONE, message).await;
            if let Some(tx) = tx {
                let _ = tx.try_send(frame);
            }
            true
        } else {
            lock(&self.attached)
                .get(&STANDALONE)
                .and_then(Option::as_ref)
                .is_some_and(|tx| tx.try_send(sse::event(None, message)).is_ok())
        }
    }

    /// Resumes the stream an event id belongs to: a connection that first replays the stream's
    /// events after that id, then carries its live events (ending when it completes).
    pub(crate) async fn resume(
        &self,
        after: EventId,
        retry: Duration,
    ) -> Result<mpsc::Receiver<Bytes>, ResumeError> {
        if !self.is_resumable() {
            return Err(ResumeError::NotResumable);
        }
        // No event of this session is logged while the replay is read and the new connection
        // attached, so none falls between the two.
        let _ordered = self.writes.lock().await;
        let replay = self
            .log
            .replay(&self.id, after)
            .await
            .map_err(|e| match e {
                ReplayError::Gone => ResumeError::Gone,
                ReplayError::UnknownStream => ResumeError::UnknownStream,
                ReplayError::Unavailable(_) => ResumeError::Unavailable,
            })?;
        let (tx, rx) = mpsc::channel(replay.events.len() + 64);
        if replay.running && after.stream == STANDALONE {
            // A resumed standalone stream gets a fresh priming event, as a new GET does.
            if let Ok(id) = self.log.next_id(&self.id, STANDALONE).await {
                let _ = tx.try_send(sse::priming(id, retry));
            }
        }
        for event in &replay.events {
            // The channel was sized to hold the whole replay.
            let _ = tx.try_send(sse::event(Some(event.id), &event.data));
        }
        if let Some(request) = &replay.abandoned {
            // The replica running the request is gone: the stream ends with an error for it,
            // logged so every later resumption sees the same end.
            let error = abandoned(request);
            let id = self
                .log
                .append(&self.id, after.stream, error.clone())
                .await
                .ok();
            let _ = self.log.finish(&self.id, after.stream).await;
            let _ = tx.try_send(sse::event(id, &error));
            return Ok(rx);
        }
        if replay.running {
            let written_here =
                after.stream == STANDALONE || lock(&self.attached).contains_key(&after.stream);
            if written_here {
                // A connection still attached is one the client gave up on.
                lock(&self.attached).insert(after.stream, Some(tx));
            } else {
                // Another replica runs the request: its later events reach the shared log,
                // and are followed from there until the stream ends.
                let last = replay.events.last().map_or(after, |e| e.id);
                tokio::spawn(follow(Arc::clone(&self.log), self.id.clone(), last, tx));
            }
        }
        Ok(rx)
    }
}

/// The response a request gets whose replica died before it finished.
fn abandoned(request: &RequestId) -> Bytes {
    crate::protocol::jsonrpc::error_bytes(
        Some(request),
        &RpcError::internal(
            "the replica running this request stopped before it finished; send the request again",
        ),
    )
}

/// How often a stream written on another replica is read from the shared log.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// Sends a stream's events as another replica logs them, after `last`, until the stream ends
/// (finished, or abandoned by a replica that died), or the client goes away.
async fn follow(
    log: Arc<dyn EventLog>,
    session: Arc<str>,
    mut last: EventId,
    tx: mpsc::Sender<Bytes>,
) {
    loop {
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        let replay = match log.replay(&session, last).await {
            Ok(replay) => replay,
            // Not reachable now: asked again next time, while the client waits.
            Err(ReplayError::Unavailable(_)) => continue,
            // Trimmed or forgotten under us: nothing more can be sent.
            Err(_) => return,
        };
        for event in &replay.events {
            if tx
                .send(sse::event(Some(event.id), &event.data))
                .await
                .is_err()
            {
                return;
            }
            last = event.id;
        }
        if let Some(request) = &replay.abandoned {
            let error = abandoned(request);
            let _ = tx.send(sse::event(None, &error)).await;
            return;
        }
        if !replay.running {
            return;
        }
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
        lock(&self.session.in_flight).remove(&self.id);
    }
}

/// Unregisters a server-to-client request when dropped (answered, timed out or abandoned).
pub(crate) struct PendingGuard {
    session: Arc<Session>,
    id: RequestId,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        lock(&self.session.pending).remove(&self.id);
    }
}

/// This replica's session runtimes, by id: built from state on first use, dropped when
/// the session ends or when nothing of it has been live here for a whole idle TTL (the store
/// still has the state; a later request builds the runtime again).
pub(crate) struct Runtimes {
    /// By session id, with a fast hash: the ids are the server's own random ones.
    map: RwLock<FxHashMap<Arc<str>, Arc<Session>>>,
    replay: ReplayLimit,
    idle: Duration,
    log: Arc<dyn EventLog>,
    store: Option<Arc<dyn crate::session::store::SessionStore>>,
}

impl Runtimes {
    /// No runtimes yet; each will keep `replay` for resumption, and is dropped after `idle`.
    pub(crate) fn new(replay: ReplayLimit, idle: Duration, log: Arc<dyn EventLog>) -> Self {
        Self {
            map: RwLock::new(FxHashMap::default()),
            replay,
            idle,
            log,
            store: None,
        }
    }

    /// Gives every runtime made from now on `store`, to touch while its requests run.
    pub(crate) fn with_store(
        mut self,
        store: Arc<dyn crate::session::store::SessionStore>,
    ) -> Self {
        self.store = Some(store);
        self
    }

    fn make(&self, state: Arc<SessionState>) -> Session {
        let session = Session::new(state, self.replay, Arc::clone(&self.log));
        if let Some(store) = &self.store {
            let _ = session.store.set(Arc::clone(store));
        }
        session
    }

    /// The runtime of `state`'s session if this replica has one, or a transient one that is
    /// not kept (for a message that leaves nothing running here).
    pub(crate) fn existing_or_transient(&self, state: Arc<SessionState>) -> Arc<Session> {
        match self.get(&state.id).filter(|s| !s.is_closed()) {
            Some(session) => {
                session.refresh(state);
                session.touch();
                session
            }
            None => Arc::new(self.make(state)),
        }
    }

    /// A runtime for `state` that no registry holds (an HTTP+SSE session's).
    #[cfg(feature = "http-sse")]
    pub(crate) fn detached(&self, state: Arc<SessionState>) -> Session {
        self.make(state)
    }

    /// The runtime of `state`'s session (made now if this replica has none), with `state`
    /// recorded as the newest.
    pub(crate) fn attach(&self, state: Arc<SessionState>) -> Arc<Session> {
        if let Some(session) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(state.id.as_str())
            .filter(|s| !s.is_closed())
        {
            session.refresh(state);
            session.touch();
            return Arc::clone(session);
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= 64 && map.len().is_power_of_two() {
            // Now and then, forget what is over: ended sessions and long-quiet ones.
            // A quiet runtime holds nothing a later request cannot build again from the store
            // and the log: a minute idle is enough (the idle TTL may be half an hour).
            let quiet_for = self.idle.min(Duration::from_secs(60));
            map.retain(|_, s| !(s.is_closed() || (s.is_quiet() && s.idle_for() > quiet_for)));
        }
        let session = map
            .entry(state.id.as_str().into())
            .and_modify(|s| {
                if s.is_closed() {
                    *s = Arc::new(self.make(Arc::clone(&state)));
                }
            })
            .or_insert_with(|| Arc::new(self.make(Arc::clone(&state))));
        session.refresh(state);
        session.touch();
        Arc::clone(session)
    }

    /// The runtime of session `id`, if this replica has one.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Ends the connection of every session's GET stream here (a graceful shutdown): the
    /// sessions live on (in the store, for the other replicas) and their running requests go
    /// on; a client reconnects its GET stream, elsewhere.
    pub(crate) fn detach_standalone_streams(&self) {
        let sessions: Vec<Arc<Session>> = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for session in sessions {
            session.detach_stream(STANDALONE);
        }
    }

    /// Forgets the runtime of session `id` and ends it, if this replica has one.
    pub(crate) fn end(&self, id: &str) {
        let removed = self
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        if let Some(session) = removed {
            session.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::log::InMemoryEventLog;

    fn session(version: &'static str, limit: ReplayLimit) -> (Session, Arc<InMemoryEventLog>) {
        let state = SessionState::new(version, Value::Null, Value::Null, None)
            .unwrap_or_else(|e| panic!("{e}"));
        let log = Arc::new(InMemoryEventLog::new(
            limit.events,
            limit.bytes,
            Duration::from_secs(60),
        ));
        let runtime = Session::new(
            Arc::new(state),
            limit,
            Arc::clone(&log) as Arc<dyn EventLog>,
        );
        (runtime, log)
    }

    fn drain(rx: &mut mpsc::Receiver<Bytes>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(frame) = rx.try_recv() {
            out.push(String::from_utf8_lossy(&frame).into_owned());
        }
        out
    }

    #[tokio::test]
    async fn an_idle_session_is_small() {
        // The struct itself; an idle session allocates nothing else but its id and the
        // client's capabilities and info.
        assert!(
            std::mem::size_of::<Session>() < 1024,
            "Session is {} bytes",
            std::mem::size_of::<Session>()
        );
        let (s, log) = session("2025-11-25", ReplayLimit::default());
        assert_eq!(log.buffered(s.id()), 0);
    }

    #[tokio::test]
    async fn a_request_stream_resumes_after_an_id() {
        let (s, _log) = session("2025-11-25", ReplayLimit::default());
        let retry = Duration::from_millis(10);
        let (tx, mut first) = mpsc::channel(8);
        let Some((stream, priming)) = s
            .open_request_stream(Some(&RequestId::Int(1)), Some(tx), retry)
            .await
        else {
            panic!("not opened")
        };
        assert!(String::from_utf8_lossy(&priming).starts_with(&format!("id: {stream}-0\n")));
        let (_, live) = s.record_event(stream, b"{\"a\":1}").await;
        assert!(live.is_some());
        s.detach_stream(stream);
        let (_, live) = s.record_event(stream, b"{\"a\":2}").await;
        assert!(live.is_none(), "a detached stream has no connection");
        // The priming event was queued on the connection; events are sent by the caller.
        let seen = drain(&mut first);
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("retry: 10"), "{seen:?}");
        // Resume after the first event: only the second is replayed, then live events follow.
        let Ok(mut resumed) = s.resume(EventId { stream, seq: 1 }, retry).await else {
            panic!("cannot resume")
        };
        let replayed = drain(&mut resumed);
        assert_eq!(replayed.len(), 1);
        assert!(replayed[0].contains("{\"a\":2}"));
        let (_, live) = s.record_event(stream, b"{\"a\":3}").await;
        if let Some(tx) = live {
            let _ = tx.try_send(Bytes::from_static(b"live"));
        }
        assert_eq!(drain(&mut resumed), ["live"]);
        s.finish_stream(stream).await;
        assert!(resumed.try_recv().is_err());
        // Ids from the future and unknown streams are refused.
        assert_eq!(
            s.resume(EventId { stream, seq: 99 }, retry).await.err(),
            Some(ResumeError::UnknownStream)
        );
        assert_eq!(
            s.resume(EventId { stream: 42, seq: 0 }, retry).await.err(),
            Some(ResumeError::UnknownStream)
        );
    }

    #[tokio::test]
    async fn the_replay_buffer_is_bounded() {
        let (s, log) = session(
            "2025-11-25",
            ReplayLimit {
                events: 2,
                bytes: 1 << 20,
            },
        );
        let retry = Duration::from_millis(10);
        let Some((stream, _)) = s.open_request_stream(None, None, retry).await else {
            panic!("not opened")
        };
        for i in 0..5 {
            s.record_event(stream, format!("{{\"n\":{i}}}").as_bytes())
                .await;
        }
        assert_eq!(log.buffered(s.id()), 2);
        assert_eq!(
            s.resume(EventId { stream, seq: 0 }, retry).await.err(),
            Some(ResumeError::Gone)
        );
        assert!(s.resume(EventId { stream, seq: 3 }, retry).await.is_ok());
        s.finish_stream(stream).await;
        // Once its events are evicted, a finished stream is forgotten.
        let Some((other, _)) = s.open_request_stream(None, None, retry).await else {
            panic!("not opened")
        };
        s.record_event(other, b"{}").await;
        s.record_event(other, b"{}").await;
        assert_eq!(
            s.resume(EventId { stream, seq: 3 }, retry).await.err(),
            Some(ResumeError::UnknownStream)
        );
    }

    #[tokio::test]
    async fn older_versions_are_not_resumable() {
        let (s, _log) = session("2025-06-18", ReplayLimit::default());
        assert!(!s.is_resumable());
        assert_eq!(
            s.resume(EventId { stream: 0, seq: 0 }, Duration::ZERO)
                .await
                .err(),
            Some(ResumeError::NotResumable)
        );
        let (off, _log) = session(
            "2025-11-25",
            ReplayLimit {
                events: 0,
                bytes: 0,
            },
        );
        assert!(!off.is_resumable());
    }
}
