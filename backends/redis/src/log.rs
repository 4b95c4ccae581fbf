//! The SSE event log on Redis: a Redis Stream per SSE stream, counters in a hash beside them.

use std::sync::LazyLock;

use async_trait::async_trait;
use bytes::Bytes;
use mcp_mount::cluster::{EventId, EventLog, LoggedEvent, Replay, ReplayError, StoreError};
use mcp_mount::model::RequestId;
use redis::Script;

use crate::keys::valid_id;
use crate::{RedisOptions, Shared, run, unavailable};

/// Redis's clock in ms (scripts may read it since Redis 5), so replicas' clocks don't matter.
const NOW: &str = r"
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
";

/// A new request stream: its number, its next sequence number 1 (0 is the priming event),
/// and for a stream answering a request (ARGV[2], its id as JSON) the request and the
/// deadline of its writer's heartbeat. KEYS: counters. ARGV: TTL, request, writer timeout.
const OPEN: &str = r"
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'q' .. n, 1)
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'r' .. n, ARGV[2],
    'h' .. n, string.format('%.0f', now() + tonumber(ARGV[3])))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
";

/// The writer of stream ARGV[2] lives: its heartbeat's deadline moves on, and the stream's
/// keys stay (a long call may be silent for longer than the idle TTL). KEYS: counters, the
/// stream. ARGV: TTL, stream, writer timeout.
const KEEP: &str = r"
if redis.call('HEXISTS', KEYS[1], 'q' .. ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'h' .. ARGV[2], string.format('%.0f', now() + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
";

/// The next sequence number of stream ARGV[2] (request streams start at 1, the standalone
/// stream at 0). KEYS: counters, the stream. ARGV: TTL, stream.
const NEXT: &str = r"
local q = 'q' .. ARGV[2]
if ARGV[2] ~= '0' and redis.call('HEXISTS', KEYS[1], q) == 0 then
  redis.call('HSET', KEYS[1], q, 1)
end
local seq = redis.call('HINCRBY', KEYS[1], q, 1) - 1
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return seq
";

/// Logs ARGV[3] as the next event of stream ARGV[2], then drops the oldest events while the
/// stream holds more than ARGV[4] events or ARGV[5] bytes (an event costs its data and 40
/// bytes of framing, as in the in-memory log). Each entry keeps the sequence number of the
/// logged event before it (`p`), which is how a replay knows whether events it needs were
/// dropped. KEYS: counters, the stream. ARGV: TTL, stream, data, max events, max bytes.
const APPEND: &str = r"
local k = ARGV[2]
local q = 'q' .. k
if k ~= '0' and redis.call('HEXISTS', KEYS[1], q) == 0 then
  redis.call('HSET', KEYS[1], q, 1)
end
local seq = redis.call('HINCRBY', KEYS[1], q, 1) - 1
local prev = redis.call('HGET', KEYS[1], 'z' .. k) or ''
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'b' .. k, 0)
end
redis.call('XADD', KEYS[2], seq .. '-1', 'd', ARGV[3], 'p', prev)
redis.call('HSET', KEYS[1], 'z' .. k, seq)
local bytes = redis.call('HINCRBY', KEYS[1], 'b' .. k, #ARGV[3] + 40)
local len = redis.call('XLEN', KEYS[2])
local max_events, max_bytes = tonumber(ARGV[4]), tonumber(ARGV[5])
while len > 0 and (len > max_events or bytes > max_bytes) do
  local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  redis.call('XDEL', KEYS[2], old[1])
  bytes = redis.call('HINCRBY', KEYS[1], 'b' .. k, -(#old[2][2] + 40))
  len = len - 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return seq
";

/// The events of stream ARGV[2] after sequence number ARGV[3]: `{'r' or 'f', seq, data, …}`
/// (running or finished), `{'a', request, seq, data, …}` when running but its writer's
/// heartbeat is past its deadline (abandoned), `{'u'}` for an id never given out, `{'g'}`
/// when events after it were dropped. KEYS: counters, the stream. ARGV: TTL, stream, after.
const REPLAY: &str = r"
local k, after = ARGV[2], tonumber(ARGV[3])
local q = redis.call('HGET', KEYS[1], 'q' .. k)
if not q or after >= tonumber(q) then return {'u'} end
local entries = redis.call('XRANGE', KEYS[2], (after + 1) .. '-0', '+')
if #entries == 0 then
  local z = redis.call('HGET', KEYS[1], 'z' .. k)
  if z and tonumber(z) > after then return {'g'} end
else
  local prev = entries[1][2][4]
  if prev ~= '' and tonumber(prev) > after then return {'g'} end
end
local r = {'r'}
if redis.call('HEXISTS', KEYS[1], 'f' .. k) == 1 then
  r[1] = 'f'
else
  local v = redis.call('HMGET', KEYS[1], 'h' .. k, 'r' .. k)
  if v[1] and v[2] and tonumber(v[1]) < now() then
    r[1] = 'a'
    r[2] = v[2]
  end
end
for i = 1, #entries do
  r[#r + 1] = string.match(entries[i][1], '^(%d+)-')
  r[#r + 1] = entries[i][2][2]
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return r
";

static OPEN_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{NOW}{OPEN}")));
static KEEP_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{NOW}{KEEP}")));
static NEXT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(NEXT));
static APPEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND));
static REPLAY_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{NOW}{REPLAY}")));

/// The events of resumable SSE streams in Redis, so `Last-Event-ID` resumes on any replica.
///
/// - `{prefix}:{sid}:ev:{stream}` — a Redis Stream of the stream's kept events (entry id
///   `{seq}-1`), bounded by [`RedisOptions::replay_buffer`] (oldest dropped first, exactly:
///   `MAXLEN ~` trims only whole nodes of 100 entries, which would not bound a 32-event log);
///   replay is an `XRANGE` after the id.
/// - `{prefix}:{sid}:l` — hash of counters: streams opened (`HINCRBY`), per stream its next
///   sequence number, its last logged one, its kept bytes, its `finish` marker, and for a
///   request's stream the request id and its writer's heartbeat deadline, by Redis's clock:
///   [`keep`](EventLog::keep) moves it on, and a replay of an unfinished stream past it
///   reports the stream [`abandoned`](Replay::abandoned) (its replica died).
///
/// Every key expires after the idle TTL, refreshed when used (the session store refreshes
/// the counters and the standalone stream with the session), and [`forget`](EventLog::forget)
/// deletes them. `open`, `next_id`, `append`, `finish` and `replay` are one round trip each.
#[derive(Clone, Debug)]
pub struct RedisEventLog {
    shared: Shared,
}

impl RedisEventLog {
    /// Connects a log alone (without the store and the bus) to `url`.
    ///
    /// # Errors
    ///
    /// A bad URL or key prefix, or Redis cannot be reached now.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, crate::Error> {
        Ok(Self::from_shared(Shared::connect(url, options).await?))
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self { shared }
    }

    fn writer_timeout_ms(&self) -> String {
        self.shared.options.writer_timeout.as_millis().to_string()
    }

    fn check(session: &str) -> Result<(), StoreError> {
        if valid_id(session) {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "the session id {session:?} cannot name a Redis key"
            )))
        }
    }

    /// Runs `script` on the counters and the events of `stream` with the TTL, then `args`.
    /// Calls but `append` may be repeated after a dropped connection (a stream number or a
    /// sequence number given out twice leaves only a gap).
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        session: &str,
        stream: Option<u32>,
        args: &[&[u8]],
    ) -> redis::RedisResult<T> {
        let keys = &self.shared.keys;
        let counters = keys.log(session);
        let events = stream.map(|stream| keys.events(session, stream));
        let ttl = self.shared.options.ttl_ms();
        let mut invocation = script.prepare_invoke();
        invocation.key(&counters);
        if let Some(events) = &events {
            invocation.key(events);
        }
        invocation.arg(ttl);
        for arg in args {
            invocation.arg(*arg);
        }
        // Loads the script when Redis does not know it (it restarted) and tries again.
        let result = invocation.invoke_async(&mut self.shared.conn.clone()).await;
        match result {
            Err(e) if e.is_unrecoverable_error() && !std::ptr::eq(script, &*APPEND_SCRIPT) => {
                invocation.invoke_async(&mut self.shared.conn.clone()).await
            }
            other => other,
        }
    }
}

/// What `REPLAY` returned, as the trait's answer.
fn decode_replay(stream: u32, reply: Vec<Vec<u8>>) -> Result<Replay, ReplayError> {
    let mut items = reply.into_iter();
    let mut abandoned = None;
    let running = match items.next().as_deref() {
        Some(b"r") => true,
        Some(b"f") => false,
        Some(b"a") => {
            let request = items.next().unwrap_or_default();
            abandoned = Some(serde_json::from_slice::<RequestId>(&request).map_err(|e| {
                ReplayError::Unavailable(format!("a corrupt request id in Redis: {e}"))
            })?);
            true
        }
        Some(b"g") => return Err(ReplayError::Gone),
        Some(b"u") => return Err(ReplayError::UnknownStream),
        _ => {
            return Err(ReplayError::Unavailable(
                "a corrupt replay from Redis".into(),
            ));
        }
    };
    let mut events = Vec::new();
    while let (Some(seq), Some(data)) = (items.next(), items.next()) {
        let seq = std::str::from_utf8(&seq)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ReplayError::Unavailable("a corrupt event id in Redis".into()))?;
        events.push(LoggedEvent {
            id: EventId { stream, seq },
            data: Bytes::from(data),
        });
    }
    Ok(Replay {
        events,
        running,
        abandoned,
    })
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn open(&self, session: &str, request: Option<&RequestId>) -> Result<u32, StoreError> {
        Self::check(session)?;
        let request = match request {
            Some(request) => serde_json::to_vec(request)
                .map_err(|e| StoreError::Unavailable(format!("a request id as JSON: {e}")))?,
            None => Vec::new(),
        };
        let writer = self.writer_timeout_ms();
        let stream: u64 = self
            .run(&OPEN_SCRIPT, session, None, &[&request, writer.as_bytes()])
            .await
            .map_err(|e| unavailable(&e))?;
        u32::try_from(stream)
            .map_err(|_| StoreError::Unavailable("the session opened 2^32 streams".into()))
    }

    async fn keep(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        Self::check(session)?;
        let (k, writer) = (stream.to_string(), self.writer_timeout_ms());
        let _kept: u32 = self
            .run(
                &KEEP_SCRIPT,
                session,
                Some(stream),
                &[k.as_bytes(), writer.as_bytes()],
            )
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(())
    }

    async fn next_id(&self, session: &str, stream: u32) -> Result<EventId, StoreError> {
        Self::check(session)?;
        let k = stream.to_string();
        let seq: u32 = self
            .run(&NEXT_SCRIPT, session, Some(stream), &[k.as_bytes()])
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(EventId { stream, seq })
    }

    async fn append(&self, session: &str, stream: u32, data: Bytes) -> Result<EventId, StoreError> {
        Self::check(session)?;
        let options = &self.shared.options;
        let (k, events, bytes) = (
            stream.to_string(),
            options.replay_events.to_string(),
            options.replay_bytes.to_string(),
        );
        let seq: u32 = self
            .run(
                &APPEND_SCRIPT,
                session,
                Some(stream),
                &[k.as_bytes(), &data, events.as_bytes(), bytes.as_bytes()],
            )
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(EventId { stream, seq })
    }

    async fn finish(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        Self::check(session)?;
        let keys = &self.shared.keys;
        let (counters, events) = (keys.log(session), keys.events(session, stream));
        let ttl = self.shared.options.ttl_ms();
        let finished = format!("f{stream}");
        run(&self.shared.conn, &[], true, |mut conn| {
            let mut pipe = redis::pipe();
            pipe.cmd("HSET")
                .arg(&counters)
                .arg(&finished)
                .arg(1)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&counters)
                .arg(ttl)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&events)
                .arg(ttl)
                .ignore();
            async move { pipe.exec_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))
    }

    async fn replay(&self, session: &str, after: EventId) -> Result<Replay, ReplayError> {
        if !valid_id(session) {
            return Err(ReplayError::UnknownStream);
        }
        let (k, seq) = (after.stream.to_string(), after.seq.to_string());
        let reply: Vec<Vec<u8>> = self
            .run(
                &REPLAY_SCRIPT,
                session,
                Some(after.stream),
                &[k.as_bytes(), seq.as_bytes()],
            )
            .await
            .map_err(|e| ReplayError::Unavailable(format!("Redis: {e}")))?;
        decode_replay(after.stream, reply)
    }

    async fn forget(&self, session: &str) -> Result<(), StoreError> {
        if !valid_id(session) {
            return Ok(());
        }
        let keys = &self.shared.keys;
        let counters = keys.log(session);
        let mut conn = self.shared.conn.clone();
        let opened: Option<u32> = redis::cmd("HGET")
            .arg(&counters)
            .arg("n")
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        // Stream keys are deleted by number, a thousand a command; any opened meanwhile
        // expires by itself.
        let streams: Vec<u32> = (0..=opened.unwrap_or(0)).collect();
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&counters).ignore();
        for chunk in streams.chunks(1000) {
            let mut del = redis::cmd("DEL");
            for stream in chunk {
                del.arg(keys.events(session, *stream));
            }
            pipe.add_command(del).ignore();
        }
        pipe.exec_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_decode() {
        let reply = vec![b"f".to_vec(), b"3".to_vec(), b"{}".to_vec()];
        assert_eq!(
            decode_replay(2, reply),
            Ok(Replay {
                events: vec![LoggedEvent {
                    id: EventId { stream: 2, seq: 3 },
                    data: Bytes::from_static(b"{}"),
                }],
                running: false,
                abandoned: None,
            })
        );
        let abandoned = decode_replay(2, vec![b"a".to_vec(), b"\"r-7\"".to_vec()]);
        assert_eq!(
            abandoned.map(|r| (r.running, r.abandoned)),
            Ok((true, Some(RequestId::Str("r-7".into()))))
        );
        assert_eq!(
            decode_replay(2, vec![b"g".to_vec()]),
            Err(ReplayError::Gone)
        );
        assert_eq!(
            decode_replay(2, vec![b"u".to_vec()]),
            Err(ReplayError::UnknownStream)
        );
    }
}
