//! The SSE event log: every event of a resumable stream, kept (bounded) so a client can
//! resume with `Last-Event-ID` — on any replica, when the log is shared.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::protocol::jsonrpc::RequestId;
pub use crate::protocol::sse::EventId;
use crate::session::store::StoreError;

/// The stream number of the standalone GET stream; request streams count up from 1.
pub(crate) const STANDALONE: u32 = 0;

/// How much of a session's SSE traffic is kept for `Last-Event-ID` replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReplayLimit {
    pub(crate) events: usize,
    pub(crate) bytes: usize,
}

impl Default for ReplayLimit {
    fn default() -> Self {
        Self {
            events: 32,
            bytes: 256 * 1024,
        }
    }
}

/// One logged event: its id and its data (a JSON-RPC message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Where it stands in its stream.
    pub id: EventId,
    /// The JSON-RPC message it carried.
    pub data: Bytes,
}

/// What the log holds of a stream after an event id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The events after the id, in order.
    pub events: Vec<LoggedEvent>,
    /// Whether the stream is still open (more events may follow).
    pub running: bool,
    /// The request the stream answers, when the stream is unfinished but its writer stopped
    /// keeping it alive ([`EventLog::keep`]): the replica running that request is gone, and
    /// the request will never get its response.
    pub abandoned: Option<RequestId>,
}

/// How often the core calls [`EventLog::keep`] on a running request's stream.
pub const KEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a stream cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayError {
    /// No stream with that id is known (never existed, or long forgotten).
    UnknownStream,
    /// Events after that id were dropped from the bounded log.
    Gone,
    /// The log cannot be reached now.
    Unavailable(String),
}

/// Where the events of resumable SSE streams are kept, per session; the default is
/// [`InMemoryEventLog`].
///
/// Every stream has one writer at a time (the replica running its request, or holding its
/// GET stream), which is why sequence numbers can be given out by the log without a race.
/// Request streams are numbered from 1; stream 0 is the session's standalone GET stream.
#[async_trait]
pub trait EventLog: Send + Sync + fmt::Debug + 'static {
    /// Opens a new request stream of `session`, answering `request` (`None` when the whole
    /// stream is written at once and finished right away), and returns its number; its
    /// priming event is `{stream}-0`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn open(&self, session: &str, request: Option<&RequestId>) -> Result<u32, StoreError>;

    /// The writer of `stream` is alive: the core calls this at least every [`KEEP_EVERY`]
    /// while the stream's request runs. A shared log that sees no call for a while (three
    /// periods, say) reports the stream [`abandoned`](Replay::abandoned). A log in the same
    /// process as its writers needs nothing of it (the default).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn keep(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        let _ = (session, stream);
        Ok(())
    }

    /// Gives out the next event id of `stream` without logging anything: the id of a priming
    /// event (the standalone stream is primed anew on every connection).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn next_id(&self, session: &str, stream: u32) -> Result<EventId, StoreError>;

    /// Logs `data` as the next event of `stream` and returns its id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn append(&self, session: &str, stream: u32, data: Bytes) -> Result<EventId, StoreError>;

    /// Marks `stream` complete: no event follows.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn finish(&self, session: &str, stream: u32) -> Result<(), StoreError>;

    /// The events of `after.stream` that follow `after`.
    ///
    /// # Errors
    ///
    /// [`ReplayError`].
    async fn replay(&self, session: &str, after: EventId) -> Result<Replay, ReplayError>;

    /// Forgets every stream of `session` (it ended).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn forget(&self, session: &str) -> Result<(), StoreError>;
}

/// Event logs in memory, bounded per session (events and bytes, oldest dropped first), and
/// forgotten once a session has had no open stream for a whole idle TTL.
#[derive(Debug)]
pub struct InMemoryEventLog {
    sessions: Mutex<HashMap<String, Streams>>,
    limit: ReplayLimit,
    idle: Duration,
}

impl InMemoryEventLog {
    /// A log keeping at most `events` events and `bytes` bytes per session, forgetting a
    /// session's log after `idle` without an open stream.
    pub fn new(events: usize, bytes: usize, idle: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            limit: ReplayLimit { events, bytes },
            idle,
        }
    }

    /// Runs `f` on the streams of `session`, made when missing.
    fn with<R>(&self, session: &str, f: impl FnOnce(&mut Streams) -> R) -> R {
        // Each call leaves the map whole (entries are inserted, changed or removed as a unit),
        // so a poisoned lock is used as it stands.
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(streams) = sessions.get_mut(session) {
            streams.used = Instant::now();
            return f(streams);
        }
        if sessions.len() >= 64 && sessions.len().is_power_of_two() {
            // Now and then, forget the logs of sessions long gone.
            let idle = self.idle;
            sessions.retain(|_, s| {
                s.records
                    .iter()
                    .any(|r| r.running && r.stream != STANDALONE)
                    || s.used.elapsed() <= idle
            });
        }
        f(sessions.entry(session.to_owned()).or_default())
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self, session: &str) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(session)
            .map_or(0, |s| s.events.len())
    }
}

/// The streams of one session and the bounded buffer of their recent events.
#[derive(Debug)]
struct Streams {
    next_stream: u32,
    records: Vec<Record>,
    events: VecDeque<LoggedEvent>,
    bytes: usize,
    used: Instant,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            next_stream: 0,
            records: Vec::new(),
            events: VecDeque::new(),
            bytes: 0,
            used: Instant::now(),
        }
    }
}

#[derive(Debug)]
struct Record {
    stream: u32,
    next_seq: u32,
    /// The highest sequence number dropped from the buffer.
    lost_through: Option<u32>,
    buffered: u32,
    running: bool,
}

/// What an event costs the byte budget: its data and the framing around it.
fn cost(event: &LoggedEvent) -> usize {
    event.data.len() + 40
}

impl Streams {
    fn record_mut(&mut self, stream: u32) -> &mut Record {
        if let Some(i) = self.records.iter().position(|r| r.stream == stream) {
            return &mut self.records[i];
        }
        self.records.push(Record {
            stream,
            next_seq: u32::from(stream != STANDALONE),
            lost_through: None,
            buffered: 0,
            running: true,
        });
        let last = self.records.len() - 1;
        &mut self.records[last]
    }

    fn append(&mut self, stream: u32, data: Bytes, limit: ReplayLimit) -> EventId {
        let record = self.record_mut(stream);
        let id = EventId {
            stream,
            seq: record.next_seq,
        };
        record.next_seq = record.next_seq.saturating_add(1);
        record.buffered += 1;
        let event = LoggedEvent { id, data };
        self.bytes += cost(&event);
        self.events.push_back(event);
        while self.events.len() > limit.events || self.bytes > limit.bytes {
            let Some(old) = self.events.pop_front() else {
                break;
            };
            self.bytes -= cost(&old);
            if let Some(record) = self.records.iter_mut().find(|r| r.stream == old.id.stream) {
                record.buffered -= 1;
                record.lost_through = Some(old.id.seq);
            }
            self.forget_if_done(old.id.stream);
        }
        id
    }

    /// Drops the record of a completed stream with nothing left to replay.
    fn forget_if_done(&mut self, stream: u32) {
        self.records
            .retain(|r| r.stream != stream || r.running || r.buffered > 0);
    }
}

#[async_trait]
impl EventLog for InMemoryEventLog {
    async fn open(&self, session: &str, _request: Option<&RequestId>) -> Result<u32, StoreError> {
        // Its writers live and die with this log: a stream here is never abandoned.
        self.with(session, |streams| {
            streams.next_stream = streams
                .next_stream
                .checked_add(1)
                .ok_or_else(|| StoreError::Unavailable("the session opened 2^32 streams".into()))?;
            let stream = streams.next_stream;
            streams.record_mut(stream);
            Ok(stream)
        })
    }

    async fn next_id(&self, session: &str, stream: u32) -> Result<EventId, StoreError> {
        Ok(self.with(session, |streams| {
            let record = streams.record_mut(stream);
            let id = EventId {
                stream,
                seq: record.next_seq,
            };
            record.next_seq = record.next_seq.saturating_add(1);
            id
        }))
    }

    async fn append(&self, session: &str, stream: u32, data: Bytes) -> Result<EventId, StoreError> {
        let limit = self.limit;
        Ok(self.with(session, |streams| streams.append(stream, data, limit)))
    }

    async fn finish(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        self.with(session, |streams| {
            if let Some(record) = streams.records.iter_mut().find(|r| r.stream == stream) {
                record.running = false;
            }
            streams.forget_if_done(stream);
        });
        Ok(())
    }

    async fn replay(&self, session: &str, after: EventId) -> Result<Replay, ReplayError> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let streams = sessions.get(session).ok_or(ReplayError::UnknownStream)?;
        let record = streams
            .records
            .iter()
            .find(|r| r.stream == after.stream)
            .ok_or(ReplayError::UnknownStream)?;
        if after.seq >= record.next_seq {
            return Err(ReplayError::UnknownStream);
        }
        if record.lost_through.is_some_and(|lost| lost > after.seq) {
            return Err(ReplayError::Gone);
        }
        let events = streams
            .events
            .iter()
            .filter(|e| e.id.stream == after.stream && e.id.seq > after.seq)
            .cloned()
            .collect();
        Ok(Replay {
            events,
            running: record.running,
            abandoned: None,
        })
    }

    async fn forget(&self, session: &str) -> Result<(), StoreError> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session);
        Ok(())
    }
}

/// A log shared by several servers (replicas in one process, or a test): each holds an `Arc`.
#[async_trait]
impl<T: EventLog + ?Sized> EventLog for std::sync::Arc<T> {
    async fn open(&self, session: &str, request: Option<&RequestId>) -> Result<u32, StoreError> {
        (**self).open(session, request).await
    }
    async fn keep(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        (**self).keep(session, stream).await
    }
    async fn next_id(&self, session: &str, stream: u32) -> Result<EventId, StoreError> {
        (**self).next_id(session, stream).await
    }
    async fn append(&self, session: &str, stream: u32, data: Bytes) -> Result<EventId, StoreError> {
        (**self).append(session, stream, data).await
    }
    async fn finish(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        (**self).finish(session, stream).await
    }
    async fn replay(&self, session: &str, after: EventId) -> Result<Replay, ReplayError> {
        (**self).replay(session, after).await
    }
    async fn forget(&self, session: &str) -> Result<(), StoreError> {
        (**self).forget(session).await
    }
}
