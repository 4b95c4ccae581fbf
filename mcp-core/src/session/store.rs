//! Where session state lives: the [`SessionStore`] trait and the in-memory store.

use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::session::state::{SessionChange, SessionState, TooManySubscriptions};

/// Why a store could not do what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The cap on live sessions is reached (answered 503).
    Full,
    /// The session's owner (its [`SessionState::owner`]) already has as many live sessions
    /// as the per-client cap allows, none idle long enough to make room (answered 429).
    OwnerFull {
        /// The per-client cap.
        limit: usize,
    },
    /// A change the session's state refuses (a subscription past the cap).
    Refused(TooManySubscriptions),
    /// The store cannot be reached now; the request may be retried (503 with `Retry-After`).
    Unavailable(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("the session store is full"),
            Self::OwnerFull { limit } => {
                write!(
                    f,
                    "this client already has {limit} live sessions, the most it may hold"
                )
            }
            Self::Refused(why) => why.fmt(f),
            Self::Unavailable(why) => write!(f, "the session store is unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<TooManySubscriptions> for StoreError {
    fn from(why: TooManySubscriptions) -> Self {
        Self::Refused(why)
    }
}

/// How long a session must have been idle before a new one may take its place under a full
/// cap. A session with an open GET stream or a streamed call running is touched every
/// `KEEP_EVERY` (5 s), so a session idle this long (three times that)
/// is one its client abandoned, or one that waits quietly between calls.
pub const EVICT_AFTER_IDLE: Duration = Duration::from_secs(15);

/// How long a session that has not completed its handshake (no `notifications/initialized`)
/// lives idle, whatever the idle TTL: most such sessions were abandoned right away.
pub const HANDSHAKE_TTL: Duration = Duration::from_secs(30);

/// Where session state lives; the default is [`InMemorySessionStore`].
///
/// A store holds [`SessionState`] only, never live objects, so it can be shared by several
/// replicas (`mcp-mount-redis` keeps it in Redis). It owns expiry and the cap: `load` returns
/// `None` for a session that expired or was removed, and `create`, when the cap is reached,
/// makes room by dropping the longest-idle session if it has been idle at least
/// [`EVICT_AFTER_IDLE`] (so abandoned sessions cannot lock new clients out), and fails with
/// [`StoreError::Full`] otherwise.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Adds a new session; `Some(id)` names the session dropped to make room under a full
    /// cap (the core then ends what still runs for it and forgets its events).
    ///
    /// # Errors
    ///
    /// [`StoreError::Full`] when the cap on live sessions is reached and no session has been
    /// idle long enough to make room, or [`StoreError::Unavailable`].
    async fn create(&self, state: SessionState) -> Result<Option<String>, StoreError>;

    /// The state of a live session, recording activity on it (its idle time starts again).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn load(&self, id: &str) -> Result<Option<Arc<SessionState>>, StoreError>;

    /// Applies `change` to a live session atomically and returns the new state (`None` when
    /// the session is gone).
    ///
    /// # Errors
    ///
    /// [`StoreError::Refused`] for a change the state refuses (see [`SessionState::apply`]),
    /// or [`StoreError::Unavailable`].
    async fn change(
        &self,
        id: &str,
        change: &SessionChange,
    ) -> Result<Option<Arc<SessionState>>, StoreError>;

    /// Records activity on a live session without reading it (an open stream keeps its
    /// session alive this way); `false` when the session is gone.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn touch(&self, id: &str) -> Result<bool, StoreError>;

    /// Removes a session; `false` when there was none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn remove(&self, id: &str) -> Result<bool, StoreError>;

    /// How many sessions are live.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn count(&self) -> Result<usize, StoreError>;
}

/// Sessions in memory, with an idle time-to-live and a cap on live sessions.
///
/// Expired sessions are dropped when looked up and swept in bulk when new ones are added, so no
/// background task is needed.
#[derive(Debug)]
pub struct InMemorySessionStore {
    /// Keyed by session id with a fast hash: every id in it is one this server drew at
    /// random, so no client can choose keys that collide.
    sessions: RwLock<FxHashMap<Arc<str>, Entry>>,
    ttl: Duration,
    cap: usize,
    /// How long a session must be idle to make room under a full cap.
    evict_after: Duration,
    /// The idle TTL of a session that has not completed its handshake.
    handshake_ttl: Duration,
    /// The most live sessions one owner may hold, when capped.
    per_owner: Option<usize>,
    /// The sessions of each owner (capped stores only), pruned of ended ones as they are
    /// counted and at every sweep. Locked only with `sessions`' write lock held. A std map
    /// (SipHash): owners are principals and client addresses, which clients choose.
    owners: Mutex<HashMap<Arc<str>, Vec<Arc<str>>>>,
    /// What `last_seen` counts from.
    epoch: Instant,
    next_sweep: Mutex<Instant>,
}

#[derive(Debug)]
struct Entry {
    state: Arc<SessionState>,
    /// Milliseconds since the store's epoch.
    last_seen: AtomicU64,
}

impl InMemorySessionStore {
    /// A store whose sessions expire after `ttl` idle and which holds at most `cap` of them.
    pub fn new(ttl: Duration, cap: usize) -> Self {
        let epoch = Instant::now();
        Self {
            sessions: RwLock::new(FxHashMap::default()),
            ttl,
            cap,
            evict_after: EVICT_AFTER_IDLE,
            handshake_ttl: HANDSHAKE_TTL,
            per_owner: None,
            owners: Mutex::new(HashMap::new()),
            epoch,
            next_sweep: Mutex::new(epoch + ttl),
        }
    }

    /// How long a session must have been idle to make room for a new one under a full cap
    /// (default [`EVICT_AFTER_IDLE`]; [`Duration::MAX`] never evicts).
    #[must_use]
    pub fn evict_after(mut self, idle: Duration) -> Self {
        self.evict_after = idle;
        self
    }

    /// At most `sessions` live sessions per owner ([`SessionState::owner`]); past it, the
    /// owner's own longest-idle session makes room if it has been idle long enough (see
    /// [`evict_after`](Self::evict_after)), else `create` fails with
    /// [`StoreError::OwnerFull`]. Sessions without an owner count only against the cap.
    #[must_use]
    pub fn per_owner(mut self, sessions: usize) -> Self {
        self.per_owner = Some(sessions.max(1));
        self
    }

    /// How long a session that has not completed its handshake lives idle (default
    /// [`HANDSHAKE_TTL`], and never longer than the idle TTL).
    #[must_use]
    pub fn handshake_ttl(mut self, ttl: Duration) -> Self {
        self.handshake_ttl = ttl;
        self
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn expired(&self, entry: &Entry, now: u64) -> bool {
        let idle = now.saturating_sub(entry.last_seen.load(Ordering::Relaxed));
        let ttl = if entry.state.initialized {
            self.ttl
        } else {
            self.ttl.min(self.handshake_ttl)
        };
        Duration::from_millis(idle) > ttl
    }

    // The map holds whole entries swapped in and out under the lock; a panic elsewhere cannot
    // leave it half-changed, so a poisoned lock is used as it stands.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, FxHashMap<Arc<str>, Entry>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, FxHashMap<Arc<str>, Entry>> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The live entry `id`, touched; an expired one is removed.
    fn live(&self, id: &str) -> Option<Arc<SessionState>> {
        let now = self.now();
        {
            let sessions = self.read();
            let entry = sessions.get(id)?;
            if !self.expired(entry, now) {
                entry.last_seen.store(now, Ordering::Relaxed);
                return Some(Arc::clone(&entry.state));
            }
        }
        self.write().remove(id);
        None
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn create(&self, state: SessionState) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let mut sessions = self.write();
        let sweep_due = {
            let next = self
                .next_sweep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Instant::now() >= *next
        };
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        if sweep_due || sessions.len() >= self.cap {
            sessions.retain(|_, entry| !self.expired(entry, now));
            owners.retain(|_, ids| {
                ids.retain(|id| sessions.contains_key(id));
                !ids.is_empty()
            });
            let mut next = self
                .next_sweep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *next = Instant::now()
                + self
                    .ttl
                    .min(Duration::from_secs(60))
                    .max(Duration::from_millis(100));
        }
        let evict_after = u64::try_from(self.evict_after.as_millis()).unwrap_or(u64::MAX);
        let idle_enough = |entry: &Entry| {
            now.saturating_sub(entry.last_seen.load(Ordering::Relaxed)) >= evict_after
        };
        let id: Arc<str> = state.id.as_str().into();
        let mut evicted = None;
        if let (Some(limit), Some(owner)) = (self.per_owner, state.owner.as_deref()) {
            let ids = owners.entry(owner.into()).or_default();
            ids.retain(|id| sessions.get(id).is_some_and(|e| !self.expired(e, now)));
            if ids.len() >= limit {
                // The owner's own longest idle makes room, if idle long enough.
                let oldest = ids
                    .iter()
                    .filter_map(|id| sessions.get(id).map(|entry| (id, entry)))
                    .min_by_key(|(_, entry)| entry.last_seen.load(Ordering::Relaxed))
                    .filter(|(_, entry)| idle_enough(entry))
                    .map(|(id, _)| Arc::clone(id));
                let Some(oldest) = oldest else {
                    if ids.is_empty() {
                        owners.remove(owner);
                    }
                    return Err(StoreError::OwnerFull { limit });
                };
                sessions.remove(&oldest);
                ids.retain(|id| *id != oldest);
                evicted = Some(oldest.to_string());
            }
            ids.push(Arc::clone(&id));
        }
        if evicted.is_none() && sessions.len() >= self.cap {
            // Full of live sessions: the longest idle makes room, if idle long enough.
            let oldest = sessions
                .iter()
                .min_by_key(|(_, entry)| entry.last_seen.load(Ordering::Relaxed))
                .filter(|(_, entry)| idle_enough(entry))
                .map(|(id, _)| Arc::clone(id));
            match oldest {
                Some(oldest) => {
                    sessions.remove(&oldest);
                    evicted = Some(oldest.to_string());
                }
                None => {
                    // Not placed after all: the owner's list forgets it again.
                    if let Some(ids) = state.owner.as_deref().and_then(|o| owners.get_mut(o)) {
                        ids.retain(|known| *known != id);
                    }
                    return Err(StoreError::Full);
                }
            }
        }
        sessions.insert(
            id,
            Entry {
                state: Arc::new(state),
                last_seen: AtomicU64::new(now),
            },
        );
        Ok(evicted)
    }

    async fn load(&self, id: &str) -> Result<Option<Arc<SessionState>>, StoreError> {
        Ok(self.live(id))
    }

    async fn change(
        &self,
        id: &str,
        change: &SessionChange,
    ) -> Result<Option<Arc<SessionState>>, StoreError> {
        let now = self.now();
        let mut sessions = self.write();
        let Some(entry) = sessions.get_mut(id) else {
            return Ok(None);
        };
        if self.expired(entry, now) {
            sessions.remove(id);
            return Ok(None);
        }
        let mut next = SessionState::clone(&entry.state);
        next.apply(change)?;
        entry.state = Arc::new(next);
        entry.last_seen.store(now, Ordering::Relaxed);
        Ok(Some(Arc::clone(&entry.state)))
    }

    async fn touch(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.live(id).is_some())
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        // An expired entry is gone already, whether or not it was swept yet.
        Ok(self
            .write()
            .remove(id)
            .is_some_and(|entry| !self.expired(&entry, now)))
    }

    async fn count(&self) -> Result<usize, StoreError> {
        Ok(self.read().len())
    }
}

/// A store shared by several servers (replicas in one process, or a test): each holds an `Arc`.
#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    async fn create(&self, state: SessionState) -> Result<Option<String>, StoreError> {
        (**self).create(state).await
    }
    async fn load(&self, id: &str) -> Result<Option<Arc<SessionState>>, StoreError> {
        (**self).load(id).await
    }
    async fn change(
        &self,
        id: &str,
        change: &SessionChange,
    ) -> Result<Option<Arc<SessionState>>, StoreError> {
        (**self).change(id, change).await
    }
    async fn touch(&self, id: &str) -> Result<bool, StoreError> {
        (**self).touch(id).await
    }
    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        (**self).remove(id).await
    }
    async fn count(&self) -> Result<usize, StoreError> {
        (**self).count().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn state() -> SessionState {
        SessionState::new("2025-11-25", Value::Null, Value::Null, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn the_cap_and_the_ttl_hold() {
        let store = InMemorySessionStore::new(Duration::from_millis(50), 2);
        let (a, b) = (state(), state());
        let (a_id, b_id) = (a.id.clone(), b.id.clone());
        assert_eq!(store.create(a).await, Ok(None));
        assert_eq!(store.create(b).await, Ok(None));
        assert_eq!(store.create(state()).await, Err(StoreError::Full));
        assert!(store.load(&a_id).await.ok().flatten().is_some());
        let changed = store
            .change(&a_id, &SessionChange::Initialized)
            .await
            .ok()
            .flatten();
        assert!(changed.is_some_and(|s| s.initialized));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(store.load(&b_id).await.ok().flatten().is_none(), "expired");
        // Expired sessions make room for new ones.
        assert_eq!(store.create(state()).await, Ok(None));
        assert_eq!(store.remove(&a_id).await, Ok(false));
    }

    fn initialized() -> SessionState {
        let mut state = state();
        state.initialized = true;
        state
    }

    #[tokio::test]
    async fn a_full_store_makes_room_by_dropping_the_longest_idle_session() {
        let store = InMemorySessionStore::new(Duration::from_secs(60), 2)
            .evict_after(Duration::from_millis(40));
        let (a, b) = (initialized(), initialized());
        let (a_id, b_id) = (a.id.clone(), b.id.clone());
        assert_eq!(store.create(a).await, Ok(None));
        assert_eq!(store.create(b).await, Ok(None));
        // Both were used just now: nobody is idle long enough to make room.
        assert_eq!(store.create(initialized()).await, Err(StoreError::Full));
        tokio::time::sleep(Duration::from_millis(60)).await;
        // b is used again; a stays idle and makes room.
        assert!(store.touch(&b_id).await.unwrap_or(false));
        let c = initialized();
        let c_id = c.id.clone();
        assert_eq!(store.create(c).await, Ok(Some(a_id.clone())), "a made room");
        assert!(
            store.load(&a_id).await.ok().flatten().is_none(),
            "a was evicted"
        );
        assert!(store.load(&b_id).await.ok().flatten().is_some());
        assert!(store.load(&c_id).await.ok().flatten().is_some());
        assert_eq!(store.count().await, Ok(2));
    }

    #[tokio::test]
    async fn a_session_without_its_handshake_expires_sooner() {
        let store = InMemorySessionStore::new(Duration::from_secs(60), 10)
            .handshake_ttl(Duration::from_millis(40));
        let (fresh, done) = (state(), initialized());
        let (fresh_id, done_id) = (fresh.id.clone(), done.id.clone());
        assert_eq!(store.create(fresh).await, Ok(None));
        assert_eq!(store.create(done).await, Ok(None));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(store.load(&fresh_id).await.ok().flatten().is_none());
        assert!(store.load(&done_id).await.ok().flatten().is_some());
    }

    fn owned(owner: &str) -> SessionState {
        let mut state = initialized();
        state.owner = Some(owner.into());
        state
    }

    #[tokio::test]
    async fn an_owner_past_its_cap_makes_room_from_its_own_idle_sessions_only() {
        let store = InMemorySessionStore::new(Duration::from_secs(60), 10)
            .evict_after(Duration::from_millis(40))
            .per_owner(2);
        let (a1, a2) = (owned("a"), owned("a"));
        let (a1_id, a2_id) = (a1.id.clone(), a2.id.clone());
        assert_eq!(store.create(a1).await, Ok(None));
        assert_eq!(store.create(a2).await, Ok(None));
        assert_eq!(
            store.create(owned("a")).await,
            Err(StoreError::OwnerFull { limit: 2 })
        );
        // Other owners, and sessions without one, are not held back.
        assert_eq!(store.create(owned("b")).await, Ok(None));
        assert_eq!(store.create(owned("b")).await, Ok(None));
        assert_eq!(store.create(initialized()).await, Ok(None));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(store.touch(&a2_id).await.unwrap_or(false));
        // a's own longest idle makes room, not b's (idle longer).
        assert_eq!(store.create(owned("a")).await, Ok(Some(a1_id.clone())));
        assert!(store.load(&a1_id).await.ok().flatten().is_none());
        assert_eq!(store.count().await, Ok(5));
        // An owner whose sessions ended has its places back.
        assert_eq!(store.remove(&a2_id).await, Ok(true));
        assert_eq!(store.create(owned("a")).await, Ok(None));
    }
}
