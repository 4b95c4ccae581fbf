//! The Redis parts against a real Redis: a `redis-server` this test starts on a free port of
//! 127.0.0.1 (or the one `MCP_MOUNT_REDIS_URL` names). Without `redis-server` every test
//! says how to install it and passes, unless `MCP_MOUNT_REQUIRE_REDIS=1` (CI), when it fails.
//!
//! First each part alone, with the in-memory parts' semantics; then two replicas (two
//! `McpServer`s) on one Redis, as `mcp-core/tests/replicas.rs` runs them on shared in-memory
//! parts; then Redis stopped and started again under a running server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use mcp_mount::adapter::McpBody;
use mcp_mount::cluster::{
    EventId, EventLog, MAX_SUBSCRIPTIONS, ReplayError, SessionChange, SessionState, SessionStore,
    StoreError, TaskChange, TaskRecord, TaskStatus, TaskStore,
};
use mcp_mount::model::{ElicitParams, LoggingLevel, RequestId};
use mcp_mount::{McpServer, RequestContext, Tool};
use mcp_mount_redis::{
    RedisCluster, RedisEventLog, RedisOptions, RedisSessionStore, RedisTaskStore,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A Redis of the test's own

/// A `redis-server` this test started (killed by pid when dropped), or the external one of
/// `MCP_MOUNT_REDIS_URL`.
struct Redis {
    url: String,
    port: u16,
    child: Option<Child>,
    external: bool,
}

impl Redis {
    /// A Redis to test against; `None` (after saying why) when there is none to be had.
    fn start() -> Option<Self> {
        if let Ok(url) = std::env::var("MCP_MOUNT_REDIS_URL")
            && !url.is_empty()
        {
            return Some(Self {
                url,
                port: 0,
                child: None,
                external: true,
            });
        }
        let port = free_port();
        let mut redis = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child: None,
            external: false,
        };
        match redis.spawn() {
            Ok(()) => Some(redis),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var("MCP_MOUNT_REQUIRE_REDIS").as_deref() != Ok("1"),
                    "MCP_MOUNT_REQUIRE_REDIS=1 but redis-server is not installed \
                     (apt-get install redis-server)"
                );
                skip(
                    "redis-server is not installed; install it (apt-get install redis-server) \
                     or point MCP_MOUNT_REDIS_URL at a Redis to run this test",
                );
                None
            }
            Err(e) => panic!("redis-server would not start: {e}"),
        }
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other("redis-server did not answer PING"))
    }

    /// Kills the server (SIGKILL, by pid): everything it held is gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new server on the same port.
    fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("redis-server would not start again: {e}");
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Says why a test did not run, past the test harness's capture (which would hide it).
fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// Options with a key prefix of this test's own, so tests may share one external Redis.
fn options() -> RedisOptions {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("{e}"));
    let tag: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    RedisOptions::default().prefix(format!("t{tag}"))
}

macro_rules! redis_or_skip {
    () => {
        match Redis::start() {
            Some(redis) => redis,
            None => return,
        }
    };
}

fn state() -> SessionState {
    SessionState::new(
        "2025-11-25",
        json!({"elicitation": {}, "roots": {"listChanged": true}}),
        json!({"name": "test", "version": "1"}),
        Some("alice".into()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn store(redis: &Redis, options: RedisOptions) -> RedisSessionStore {
    RedisSessionStore::connect(&redis.url, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn log(redis: &Redis, options: RedisOptions) -> RedisEventLog {
    RedisEventLog::connect(&redis.url, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------------
// The session store

#[tokio::test]
async fn store_keeps_state_and_applies_changes() {
    let redis = redis_or_skip!();
    let store = store(&redis, options()).await;
    let created = state();
    let id = created.id.clone();
    assert_eq!(store.create(created.clone()).await, Ok(None));
    let loaded = store.load(&id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.as_deref(), Some(&created));

    let mut expected = created.clone();
    for change in [
        SessionChange::Initialized,
        SessionChange::LogLevel(LoggingLevel::Warning),
        SessionChange::Subscribe("test://a".into()),
        SessionChange::Subscribe("test://b".into()),
        SessionChange::Unsubscribe("test://a".into()),
        SessionChange::Negotiated {
            protocol_version: "2024-11-05".into(),
            client_capabilities: json!({"sampling": {}}),
            client_info: json!({"name": "old", "version": "0.1"}),
        },
    ] {
        assert_eq!(expected.apply(&change), Ok(()));
        let changed = store.change(&id, &change).await;
        assert_eq!(changed, Ok(Some(Arc::new(expected.clone()))), "{change:?}");
    }
    let loaded = store.load(&id).await.ok().flatten();
    assert_eq!(loaded.as_deref(), Some(&expected));
    assert_eq!(store.count().await, Ok(1));
    assert_eq!(store.touch(&id).await, Ok(true));

    // Unknown, malformed and removed sessions are no sessions.
    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(store.load(unknown).await, Ok(None));
    assert_eq!(store.load("not{a}session").await, Ok(None));
    assert_eq!(
        store.change(unknown, &SessionChange::Initialized).await,
        Ok(None)
    );
    assert_eq!(store.touch(unknown).await, Ok(false));
    assert_eq!(store.remove(&id).await, Ok(true));
    assert_eq!(store.remove(&id).await, Ok(false));
    assert_eq!(store.load(&id).await, Ok(None));
    assert_eq!(store.count().await, Ok(0));
}

#[tokio::test]
async fn store_sessions_expire_when_idle_and_use_keeps_them() {
    let redis = redis_or_skip!();
    let store = store(&redis, options().session_ttl(Duration::from_millis(400))).await;
    let (kept, idle, touched) = (state(), state(), state());
    let (kept_id, idle_id, touched_id) = (kept.id.clone(), idle.id.clone(), touched.id.clone());
    for s in [kept, idle, touched] {
        assert_eq!(store.create(s).await, Ok(None));
    }
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(store.load(&kept_id).await.ok().flatten().is_some());
        assert_eq!(store.touch(&touched_id).await, Ok(true));
    }
    assert_eq!(store.load(&idle_id).await, Ok(None), "idle 600 ms of 400");
    // An expired session was removed already.
    assert_eq!(store.remove(&idle_id).await, Ok(false));
    assert_eq!(store.count().await, Ok(2));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store.load(&kept_id).await, Ok(None));
    assert_eq!(store.touch(&touched_id).await, Ok(false));
    assert_eq!(store.count().await, Ok(0));
}

#[tokio::test]
async fn store_cap_holds_across_replicas() {
    let redis = redis_or_skip!();
    let options = options()
        .max_sessions(2)
        .session_ttl(Duration::from_millis(500));
    let (one, two) = (
        store(&redis, options.clone()).await,
        store(&redis, options).await,
    );
    let (a, b) = (state(), state());
    let a_id = a.id.clone();
    assert_eq!(one.create(a).await, Ok(None));
    assert_eq!(two.create(b).await, Ok(None));
    let refused = state();
    let refused_id = refused.id.clone();
    assert_eq!(one.create(refused).await, Err(StoreError::Full));
    assert_eq!(two.create(state()).await, Err(StoreError::Full));
    // A refused session left nothing behind.
    assert_eq!(one.load(&refused_id).await, Ok(None));
    assert_eq!(two.count().await, Ok(2));
    // A removed session makes room, and so does an expired one.
    assert_eq!(two.remove(&a_id).await, Ok(true));
    assert_eq!(two.create(state()).await, Ok(None));
    assert_eq!(one.create(state()).await, Err(StoreError::Full));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(one.create(state()).await, Ok(None));
    assert_eq!(two.create(state()).await, Ok(None));
    assert_eq!(one.create(state()).await, Err(StoreError::Full));
}

#[tokio::test]
async fn store_full_of_idle_sessions_makes_room_for_new_ones() {
    let redis = redis_or_skip!();
    let options = options()
        .max_sessions(2)
        .evict_after(Duration::from_millis(300));
    let (one, two) = (
        store(&redis, options.clone()).await,
        store(&redis, options).await,
    );
    let (a, b) = (state(), state());
    let (a_id, b_id) = (a.id.clone(), b.id.clone());
    assert_eq!(one.create(a).await, Ok(None));
    assert_eq!(two.create(b).await, Ok(None));
    // Both just used: nobody is idle long enough to make room.
    assert_eq!(one.create(state()).await, Err(StoreError::Full));
    tokio::time::sleep(Duration::from_millis(400)).await;
    // b is used again; a, idle the longest, makes room on the other replica.
    assert!(two.load(&b_id).await.ok().flatten().is_some());
    let c = state();
    let c_id = c.id.clone();
    assert_eq!(one.create(c).await, Ok(Some(a_id.clone())), "a made room");
    assert_eq!(two.load(&a_id).await, Ok(None), "a was evicted");
    assert!(one.load(&b_id).await.ok().flatten().is_some());
    assert!(two.load(&c_id).await.ok().flatten().is_some());
    assert_eq!(one.count().await, Ok(2));
}

#[tokio::test]
async fn store_caps_each_owner_across_replicas_and_makes_room_from_its_own_idle_sessions() {
    let redis = redis_or_skip!();
    let options = options()
        .max_sessions(10)
        .max_sessions_per_client(2)
        .evict_after(Duration::from_millis(300));
    let (one, two) = (
        store(&redis, options.clone()).await,
        store(&redis, options).await,
    );
    let owned = |owner: &str| {
        let mut state = state();
        state.owner = Some(owner.into());
        state
    };
    let (a1, a2) = (owned("principal:a"), owned("principal:a"));
    let (a1_id, a2_id) = (a1.id.clone(), a2.id.clone());
    assert_eq!(one.create(a1).await, Ok(None));
    assert_eq!(two.create(a2).await, Ok(None));
    // The owner's third, on either replica, is refused.
    assert_eq!(
        one.create(owned("principal:a")).await,
        Err(StoreError::OwnerFull { limit: 2 })
    );
    assert_eq!(one.count().await, Ok(2), "a refused session takes no place");
    // Other owners, and sessions without one, are not held back.
    assert_eq!(two.create(owned("address:127.0.0.1")).await, Ok(None));
    assert_eq!(two.create(owned("address:127.0.0.1")).await, Ok(None));
    assert_eq!(one.create(state()).await, Ok(None));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(two.load(&a2_id).await.ok().flatten().is_some());
    // a's own longest idle makes room, not the others' (idle as long).
    let a3 = owned("principal:a");
    let a3_id = a3.id.clone();
    assert_eq!(two.create(a3).await, Ok(Some(a1_id.clone())));
    assert_eq!(one.load(&a1_id).await, Ok(None), "a1 was evicted");
    assert_eq!(
        one.load(&a3_id)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.owner.clone()),
        Some("principal:a".to_owned()),
        "the owner is kept with the state"
    );
    assert_eq!(one.count().await, Ok(5));
    // An owner whose sessions ended has its places back.
    assert_eq!(one.remove(&a2_id).await, Ok(true));
    assert_eq!(one.create(owned("principal:a")).await, Ok(None));
}

fn task(client: &str) -> TaskRecord {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| panic!("{e}"));
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut record = TaskRecord::new(id, Duration::from_secs(60), Duration::from_millis(500));
    record.client = Some(client.into());
    record
}

#[tokio::test]
async fn tasks_are_shared_capped_and_changed_without_losing_a_write() {
    let redis = redis_or_skip!();
    let options = options();
    let connect = || RedisTaskStore::connect(&redis.url, options.clone(), 3, 2);
    let (one, two) = (
        connect().await.unwrap_or_else(|e| panic!("{e}")),
        connect().await.unwrap_or_else(|e| panic!("{e}")),
    );
    let (a1, a2, b1) = (task("a"), task("a"), task("b"));
    let (a1_id, a2_id) = (a1.id.clone(), a2.id.clone());
    assert_eq!(one.create(a1).await, Ok(()));
    assert_eq!(two.create(a2).await, Ok(()));
    assert_eq!(
        one.create(task("a")).await,
        Err(StoreError::OwnerFull { limit: 2 })
    );
    assert_eq!(two.create(b1).await, Ok(()));
    assert_eq!(one.create(task("c")).await, Err(StoreError::Full));
    // Read on the other replica at once.
    assert_eq!(
        two.get(&a1_id).await.ok().flatten().map(|t| t.status),
        Some(TaskStatus::Working)
    );
    // Concurrent changes from both replicas all land (compare-and-set).
    let asks = (0..8).map(|n| {
        let store = if n % 2 == 0 { one.clone() } else { two.clone() };
        let id = a1_id.clone();
        async move {
            let change = TaskChange::Ask {
                key: format!("k{n}"),
                request: json!({"method": "elicitation/create"}),
            };
            store.change(&id, &change).await
        }
    });
    for changed in futures_util::future::join_all(asks).await {
        assert!(changed.is_ok_and(|t| t.is_some()));
    }
    let asked = one.get(&a1_id).await.ok().flatten();
    assert_eq!(
        asked.map(|t| t.input_requests.len()),
        Some(8),
        "no write lost"
    );
    // An ended task frees its place under the caps and no longer changes.
    let done = two
        .change(&a2_id, &TaskChange::Complete(json!({"content": []})))
        .await;
    assert!(done.is_ok_and(|t| t.is_some_and(|t| t.status == TaskStatus::Completed)));
    assert_eq!(one.create(task("a")).await, Ok(()));
    let after = one
        .change(&a2_id, &TaskChange::Cancel("late".into()))
        .await
        .ok()
        .flatten();
    assert_eq!(after.map(|t| t.status), Some(TaskStatus::Completed));
    assert_eq!(one.get("no-such-task").await, Ok(None));
}

#[tokio::test]
async fn store_a_session_without_its_handshake_expires_sooner() {
    let redis = redis_or_skip!();
    let store = store(&redis, options().handshake_ttl(Duration::from_millis(300))).await;
    let (fresh, mut done) = (state(), state());
    done.initialized = true;
    let (fresh_id, done_id) = (fresh.id.clone(), done.id.clone());
    assert_eq!(store.create(fresh).await, Ok(None));
    assert_eq!(store.create(done).await, Ok(None));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.load(&fresh_id).await, Ok(None));
    assert!(store.load(&done_id).await.ok().flatten().is_some());
}

#[tokio::test]
async fn store_changes_from_two_replicas_at_once_all_land() {
    let redis = redis_or_skip!();
    let options = options();
    let (one, two) = (
        store(&redis, options.clone()).await,
        store(&redis, options).await,
    );
    let created = state();
    let id = created.id.clone();
    assert_eq!(one.create(created).await, Ok(None));
    let changes = (0..200).map(|i| {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let id = id.clone();
        tokio::spawn(async move {
            store
                .change(&id, &SessionChange::Subscribe(format!("test://{i}")))
                .await
        })
    });
    for change in futures_util::future::join_all(changes).await {
        assert!(matches!(change, Ok(Ok(Some(_)))), "{change:?}");
    }
    let loaded = two.load(&id).await.ok().flatten();
    assert_eq!(loaded.map(|s| s.subscriptions.len()), Some(200));

    // The subscription cap holds, as `SessionState::apply` has it.
    let rest: Vec<usize> = (200..MAX_SUBSCRIPTIONS).collect();
    for batch in rest.chunks(50) {
        let more = batch.iter().map(|i| {
            let (store, id, uri) = (one.clone(), id.clone(), format!("test://{i}"));
            tokio::spawn(async move { store.change(&id, &SessionChange::Subscribe(uri)).await })
        });
        for change in futures_util::future::join_all(more).await {
            assert!(matches!(change, Ok(Ok(Some(_)))), "{change:?}");
        }
    }
    assert!(matches!(
        two.change(&id, &SessionChange::Subscribe("test://more".into()))
            .await,
        Err(StoreError::Refused(_))
    ));
    // One already held is no new subscription.
    let again = one
        .change(&id, &SessionChange::Subscribe("test://0".into()))
        .await;
    assert_eq!(
        again.ok().flatten().map(|s| s.subscriptions.len()),
        Some(MAX_SUBSCRIPTIONS)
    );
}

// ---------------------------------------------------------------------------------------------
// The event log

const SID: &str = "0123456789abcdef0123456789abcdef";

fn id(stream: u32, seq: u32) -> EventId {
    EventId { stream, seq }
}

#[tokio::test]
async fn log_numbers_streams_and_replays_after_an_id() {
    let redis = redis_or_skip!();
    let log = log(&redis, options()).await;
    assert_eq!(log.open(SID, None).await, Ok(1));
    assert_eq!(log.open(SID, None).await, Ok(2));
    for (i, data) in ["a", "b", "c"].iter().enumerate() {
        let logged = log.append(SID, 1, Bytes::from(*data)).await;
        assert_eq!(logged, Ok(id(1, u32::try_from(i).unwrap_or(0) + 1)));
    }
    assert_eq!(log.append(SID, 2, Bytes::from("x")).await, Ok(id(2, 1)));
    // The standalone stream counts from 0, priming ids and events alike.
    assert_eq!(log.next_id(SID, 0).await, Ok(id(0, 0)));
    assert_eq!(log.append(SID, 0, Bytes::from("n")).await, Ok(id(0, 1)));
    assert_eq!(log.next_id(SID, 0).await, Ok(id(0, 2)));

    let replay = log
        .replay(SID, id(1, 0))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(replay.running);
    let got: Vec<(EventId, Bytes)> = replay.events.into_iter().map(|e| (e.id, e.data)).collect();
    assert_eq!(
        got,
        [
            (id(1, 1), Bytes::from("a")),
            (id(1, 2), Bytes::from("b")),
            (id(1, 3), Bytes::from("c"))
        ]
    );
    let after_b = log.replay(SID, id(1, 2)).await.map(|r| r.events.len());
    assert_eq!(after_b, Ok(1));
    // After a priming id of the standalone stream: what followed it.
    let standalone = log.replay(SID, id(0, 0)).await.map(|r| r.events.len());
    assert_eq!(standalone, Ok(1));
    assert_eq!(
        log.replay(SID, id(0, 2)).await.map(|r| r.events.len()),
        Ok(0)
    );

    assert_eq!(log.finish(SID, 1).await, Ok(()));
    let finished = log.replay(SID, id(1, 3)).await;
    assert!(finished.is_ok_and(|r| !r.running && r.events.is_empty()));
    assert!(log.replay(SID, id(2, 0)).await.is_ok_and(|r| r.running));

    // Ids never given out, streams never opened.
    assert_eq!(
        log.replay(SID, id(1, 4)).await,
        Err(ReplayError::UnknownStream)
    );
    assert_eq!(
        log.replay(SID, id(9, 0)).await,
        Err(ReplayError::UnknownStream)
    );
    let other = "fedcba9876543210fedcba9876543210";
    assert_eq!(
        log.replay(other, id(1, 0)).await,
        Err(ReplayError::UnknownStream)
    );

    assert_eq!(log.forget(SID).await, Ok(()));
    assert_eq!(
        log.replay(SID, id(1, 0)).await,
        Err(ReplayError::UnknownStream)
    );
    assert_eq!(
        log.open(SID, None).await,
        Ok(1),
        "a forgotten session starts over"
    );
}

#[tokio::test]
async fn log_bounds_each_stream_and_says_gone_for_what_it_dropped() {
    let redis = redis_or_skip!();
    let log = log(&redis, options().replay_buffer(3, 1 << 20)).await;
    let stream = log.open(SID, None).await.unwrap_or_else(|e| panic!("{e}"));
    for i in 1..=5u32 {
        let logged = log.append(SID, stream, Bytes::from(format!("e{i}"))).await;
        assert_eq!(logged, Ok(id(stream, i)));
    }
    // 1 and 2 were dropped: after 0 or 1 something is missing; after 2 nothing is.
    assert_eq!(log.replay(SID, id(stream, 0)).await, Err(ReplayError::Gone));
    assert_eq!(log.replay(SID, id(stream, 1)).await, Err(ReplayError::Gone));
    let kept = log.replay(SID, id(stream, 2)).await;
    let seqs: Vec<u32> = kept
        .unwrap_or_else(|e| panic!("{e:?}"))
        .events
        .iter()
        .map(|e| e.id.seq)
        .collect();
    assert_eq!(seqs, [3, 4, 5]);

    // The byte bound: an event costs its data and 40 bytes.
    let log = log_with_bytes(&redis, 300).await;
    let stream = log.open(SID, None).await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        assert!(
            log.append(SID, stream, Bytes::from(vec![b'x'; 100]))
                .await
                .is_ok()
        );
    }
    assert_eq!(log.replay(SID, id(stream, 0)).await, Err(ReplayError::Gone));
    assert_eq!(
        log.replay(SID, id(stream, 1)).await.map(|r| r.events.len()),
        Ok(2)
    );
    // A stream whose every event was dropped still knows its events existed.
    let log = log_with_bytes(&redis, 10).await;
    let stream = log.open(SID, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        log.append(SID, stream, Bytes::from("too big"))
            .await
            .is_ok()
    );
    assert_eq!(log.replay(SID, id(stream, 0)).await, Err(ReplayError::Gone));
    assert_eq!(
        log.replay(SID, id(stream, 1)).await.map(|r| r.events.len()),
        Ok(0)
    );
}

async fn log_with_bytes(redis: &Redis, bytes: usize) -> RedisEventLog {
    log(redis, options().replay_buffer(100, bytes)).await
}

#[tokio::test]
async fn log_expires_with_the_idle_ttl() {
    let redis = redis_or_skip!();
    let log = log(&redis, options().session_ttl(Duration::from_millis(300))).await;
    let stream = log.open(SID, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(log.append(SID, stream, Bytes::from("a")).await.is_ok());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(log.replay(SID, id(stream, 0)).await.is_ok(), "still kept");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        log.replay(SID, id(stream, 0)).await,
        Err(ReplayError::UnknownStream)
    );
}

#[tokio::test]
async fn log_reports_a_stream_abandoned_once_its_writer_stops_keeping_it() {
    let redis = redis_or_skip!();
    let log = log(&redis, options().writer_timeout(Duration::from_millis(300))).await;
    let request = RequestId::Int(11);
    let stream = log
        .open(SID, Some(&request))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let whole = log.open(SID, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        log.append(SID, stream, Bytes::from("progress"))
            .await
            .is_ok()
    );
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(log.keep(SID, stream).await, Ok(()));
        let kept = log.replay(SID, id(stream, 0)).await;
        assert!(kept.is_ok_and(|r| r.running && r.abandoned.is_none()));
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    let replay = log
        .replay(SID, id(stream, 0))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(replay.abandoned, Some(request));
    assert_eq!(replay.events.len(), 1, "its events are still replayed");
    // A stream with no request behind it is never abandoned; a finished one neither.
    assert!(
        log.replay(SID, id(whole, 0))
            .await
            .is_ok_and(|r| r.abandoned.is_none())
    );
    assert_eq!(log.finish(SID, stream).await, Ok(()));
    let finished = log.replay(SID, id(stream, 0)).await;
    assert!(finished.is_ok_and(|r| !r.running && r.abandoned.is_none()));
}

// ---------------------------------------------------------------------------------------------
// Two replicas on one Redis (the cases of mcp-core/tests/replicas.rs)

async fn replica(redis: &Redis, options: &RedisOptions) -> McpServer {
    let cluster = RedisCluster::connect_with(&redis.url, options.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    McpServer::builder("replicas", "1.0.0")
        .cluster(cluster)
        .tool(Tool::new("ask", |ctx: RequestContext| async move {
            let asked = ctx
                .elicit(ElicitParams::form(
                    "Your name?",
                    json!({"type": "object", "properties": {"name": {"type": "string"}}}),
                ))
                .await;
            match asked {
                Ok(answer) => format!("answered {:?}", answer.content),
                Err(e) => format!("failed: {e}"),
            }
        }))
        .tool(Tool::new("wait", |ctx: RequestContext| async move {
            ctx.cancelled().await;
            "cancelled"
        }))
        .build()
}

async fn replicas(redis: &Redis) -> (McpServer, McpServer) {
    let options = options();
    (
        replica(redis, &options).await,
        replica(redis, &options).await,
    )
}

fn request(
    method: http::Method,
    session: Option<&str>,
    last_event: Option<&str>,
    body: &str,
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        builder = builder
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    if let Some(last) = last_event {
        builder = builder.header("last-event-id", last);
    }
    builder
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn post(server: &McpServer, session: Option<&str>, body: Value) -> http::Response<McpBody> {
    server
        .handle(
            request(http::Method::POST, session, None, &body.to_string()),
            "/mcp",
        )
        .await
}

async fn get(
    server: &McpServer,
    session: &str,
    last_event: Option<&str>,
) -> http::Response<McpBody> {
    server
        .handle(
            request(http::Method::GET, Some(session), last_event, ""),
            "/mcp",
        )
        .await
}

/// The next SSE event with JSON data (priming events are skipped), with its id.
async fn next_event_with_id(body: &mut McpBody, wait: Duration) -> Option<(Option<String>, Value)> {
    loop {
        let chunk = tokio::time::timeout(wait, body.next()).await.ok()??.ok()?;
        let text = String::from_utf8_lossy(&chunk).into_owned();
        let data: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .map(str::to_owned);
        if !data.trim().is_empty() {
            return serde_json::from_str(&data).ok().map(|v| (id, v));
        }
    }
}

async fn next_event(body: &mut McpBody) -> Option<Value> {
    next_event_with_id(body, Duration::from_secs(5))
        .await
        .map(|(_, v)| v)
}

async fn initialize(server: &McpServer) -> http::Response<McpBody> {
    post(
        server,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "test", "version": "1"}}}),
    )
    .await
}

async fn connect(a: &McpServer, b: &McpServer) -> String {
    let init = initialize(a).await;
    assert_eq!(init.status(), 200);
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no session id"));
    // The other replica knows the session from the shared store.
    let ack = post(
        b,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(ack.status(), 202);
    session
}

#[tokio::test]
async fn replicas_serve_a_session_made_on_the_other() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let listed = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(listed.status(), 200);
    let body = listed.into_body().as_full().unwrap_or_default();
    let listed: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(listed["result"]["tools"].as_array().map(Vec::len), Some(2));
    let unknown = post(
        &b,
        Some("0123456789abcdef0123456789abcdef"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn replicas_route_a_client_answer_to_the_waiting_handler() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask"}}),
    )
    .await;
    let mut stream = call.into_body();
    let asked = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no request"));
    assert_eq!(asked["method"], "elicitation/create", "{asked}");
    let answered = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": asked["id"].clone(),
               "result": {"action": "accept", "content": {"name": "Ada"}}}),
    )
    .await;
    assert_eq!(answered.status(), 202);
    let result = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no result"));
    assert_eq!(result["id"], 7);
    let text = result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("");
    assert!(text.contains("Ada"), "{result}");
}

#[tokio::test]
async fn replicas_cancel_a_call_running_on_the_other() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let running = tokio::spawn({
        let (a, session) = (a.clone(), session.clone());
        async move {
            post(
                &a,
                Some(&session),
                json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "wait"}}),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!running.is_finished(), "the call must still run");
    let cancelled = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}),
    )
    .await;
    assert_eq!(cancelled.status(), 202);
    let answer = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap_or_else(|_| panic!("the call was not cancelled"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        answer.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    let mut body = answer.into_body();
    assert!(next_event(&mut body).await.is_none());
}

#[tokio::test]
async fn replicas_tell_streams_on_the_other_of_changes_and_not_themselves_twice() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    // Two sessions: one session holds one GET stream at a time (the newest wins everywhere).
    let (here, there) = (connect(&a, &b).await, connect(&b, &a).await);
    let (on_a, on_b) = (get(&a, &here, None).await, get(&b, &there, None).await);
    assert_eq!((on_a.status().as_u16(), on_b.status().as_u16()), (200, 200));
    let (mut on_a, mut on_b) = (on_a.into_body(), on_b.into_body());
    assert!(a.add_tool(Tool::new("later", || async { "later" })).is_ok());
    let event = next_event(&mut on_b)
        .await
        .unwrap_or_else(|| panic!("no notification on the other replica"));
    assert_eq!(
        event["method"], "notifications/tools/list_changed",
        "{event}"
    );
    // The replica that made the change told its own stream once, not again from the bus.
    let here = next_event(&mut on_a).await;
    assert!(here.is_some_and(|e| e["method"] == "notifications/tools/list_changed"));
    assert!(
        next_event_with_id(&mut on_a, Duration::from_millis(500))
            .await
            .is_none(),
        "its own message came back"
    );
}

#[tokio::test]
async fn replicas_end_everywhere_on_a_delete_on_one() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let held = get(&a, &session, None).await;
    assert_eq!(held.status(), 200);
    let mut stream = held.into_body();
    let deleted = b
        .handle(
            request(http::Method::DELETE, Some(&session), None, ""),
            "/mcp",
        )
        .await;
    assert_eq!(deleted.status(), 200);
    assert!(next_event(&mut stream).await.is_none(), "the stream ended");
    let gone = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
    )
    .await;
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn replicas_resume_a_stream_of_the_other_with_last_event_id() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask"}}),
    )
    .await;
    let mut stream = call.into_body();
    let (asked_id, asked) = next_event_with_id(&mut stream, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no request"));
    let asked_id = asked_id.unwrap_or_else(|| panic!("the event has no id"));
    // The client lost the connection before that event and resumes on B.
    let stream_no = asked_id.split('-').next().unwrap_or("1");
    let resumed = get(&b, &session, Some(&format!("{stream_no}-0"))).await;
    assert_eq!(resumed.status(), 200);
    let mut resumed = resumed.into_body();
    let (again_id, again) = next_event_with_id(&mut resumed, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("nothing replayed"));
    assert_eq!(again_id.as_deref(), Some(asked_id.as_str()));
    assert_eq!(again, asked);
    // An id no stream gave out cannot be resumed.
    let bad = get(&b, &session, Some("99-0")).await;
    assert_eq!(bad.status(), 400);
}

// ---------------------------------------------------------------------------------------------
// Redis stopped and started again

async fn status_and_retry_after(response: &http::Response<McpBody>) -> (u16, bool) {
    (
        response.status().as_u16(),
        response.headers().contains_key("retry-after"),
    )
}

#[tokio::test]
async fn replicas_answer_503_while_redis_is_away_and_recover_by_themselves() {
    // What the parts log (reconnects, lost bus messages) shows with the test's output.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mut redis = redis_or_skip!();
    if redis.external {
        skip("this test stops and starts its own redis-server (MCP_MOUNT_REDIS_URL is set)");
        return;
    }
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;

    redis.stop();
    let started = Instant::now();
    let listed = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(status_and_retry_after(&listed).await, (503, true));
    let body = listed.into_body().as_full().unwrap_or_default();
    let error: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert!(error["error"]["code"].is_i64(), "a JSON-RPC error: {error}");
    assert_eq!(
        status_and_retry_after(&initialize(&b).await).await,
        (503, true)
    );
    // A 2026-07-28 request needs no session, and no Redis.
    let modern = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"}}}});
    let mut stateless = request(http::Method::POST, None, None, &modern.to_string());
    for (name, value) in [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
    ] {
        stateless
            .headers_mut()
            .insert(name, http::HeaderValue::from_static(value));
    }
    assert_eq!(a.handle(stateless, "/mcp").await.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered within the timeout: {:?}",
        started.elapsed()
    );

    redis.restart();
    // The same servers, untouched, serve new sessions again…
    let deadline = Instant::now() + Duration::from_secs(10);
    let session = loop {
        let init = initialize(&a).await;
        if init.status() == 200 {
            break init
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no session id"));
        }
        assert!(Instant::now() < deadline, "no recovery: {}", init.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let listed = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(listed.status(), 200);

    // …and the bus delivers again, once both have subscribed anew.
    let held = get(&b, &session, None).await;
    assert_eq!(held.status(), 200);
    let mut stream = held.into_body();
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        assert!(Instant::now() < deadline, "the bus never delivered again");
        assert!(
            a.add_tool(Tool::new(format!("later{i}"), || async { "later" }))
                .is_ok()
        );
        if let Some((_, event)) = next_event_with_id(&mut stream, Duration::from_millis(500)).await
        {
            assert_eq!(
                event["method"], "notifications/tools/list_changed",
                "{event}"
            );
            break;
        }
    }
}

#[tokio::test]
async fn replicas_end_a_stream_whose_replica_died_with_an_error_for_its_request() {
    let redis = redis_or_skip!();
    // A writer that misses its heartbeat for 300 ms is dead: replica A, whose first heartbeat
    // comes only after KEEP_EVERY, looks dead to B from then on.
    let options = options().writer_timeout(Duration::from_millis(300));
    let replica = |cluster: RedisCluster| {
        McpServer::builder("replicas", "1.0.0")
            .cluster(cluster)
            .tool(Tool::new("stuck", |ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), Some("half way")).await;
                ctx.cancelled().await;
                "never"
            }))
            .build()
    };
    let connect_cluster = || async {
        RedisCluster::connect_with(&redis.url, options.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (
        replica(connect_cluster().await),
        replica(connect_cluster().await),
    );
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
               "params": {"name": "stuck", "_meta": {"progressToken": "p"}}}),
    )
    .await;
    let mut stream = call.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .ok()
        .flatten()
        .and_then(Result::ok)
        .unwrap_or_default();
    let first = String::from_utf8_lossy(&first).into_owned();
    let priming = first
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap_or_else(|| panic!("no priming event: {first}"))
        .to_owned();
    let progress = next_event(&mut stream).await.unwrap_or_default();
    assert_eq!(progress["method"], "notifications/progress", "{progress}");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let resumed = get(&b, &session, Some(&priming)).await;
    assert_eq!(resumed.status(), 200);
    let mut resumed = resumed.into_body();
    let replayed = next_event(&mut resumed).await.unwrap_or_default();
    assert_eq!(replayed["method"], "notifications/progress", "{replayed}");
    let ended = next_event(&mut resumed).await.unwrap_or_default();
    assert_eq!(ended["id"], 11, "{ended}");
    assert_eq!(ended["error"]["code"], -32603, "{ended}");
    assert!(
        next_event(&mut resumed).await.is_none(),
        "the stream ends there"
    );
}

#[tokio::test]
async fn replicas_answer_an_http_sse_message_posted_to_the_other_on_the_stream() {
    let redis = redis_or_skip!();
    let (a, b) = replicas(&redis).await;
    let mut open = request(http::Method::GET, None, None, "");
    *open.uri_mut() = http::Uri::from_static("/mcp/sse");
    let opened = a.handle(open, "/mcp").await;
    let status = opened.status();
    let mut stream = opened.into_body();
    assert_eq!(status, 200, "{:?}", stream.as_full());
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .ok()
        .flatten()
        .and_then(Result::ok)
        .unwrap_or_default();
    let first = String::from_utf8_lossy(&first).into_owned();
    let endpoint = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no endpoint event: {first}"))
        .to_owned();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "old", "version": "1"}}});
    let mut posted = request(http::Method::POST, None, None, &initialize.to_string());
    *posted.uri_mut() = endpoint.parse().unwrap_or_else(|e| panic!("{e}"));
    let accepted = b.handle(posted, "/mcp").await;
    assert_eq!(accepted.status(), 202);
    let answer = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no answer on the stream"));
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
    // The negotiation reached the shared state: B serves the next message from it.
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let mut posted = request(http::Method::POST, None, None, &list.to_string());
    *posted.uri_mut() = endpoint.parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.handle(posted, "/mcp").await.status(), 202);
    let listed = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no list on the stream"));
    assert_eq!(listed["id"], 2, "{listed}");
    let mut stray = request(http::Method::POST, None, None, &initialize.to_string());
    *stray.uri_mut() =
        http::Uri::from_static("/mcp/messages?sessionId=00000000000000000000000000000000");
    assert_eq!(b.handle(stray, "/mcp").await.status(), 404);
}

/// Sends one command to the test's Redis on a connection of its own; the first line of the
/// answer.
fn command(port: u16, line: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.write_all(format!("{line}\r\n").as_bytes());
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).trim().to_owned()
}

#[tokio::test]
async fn replicas_keep_their_sessions_when_redis_drops_their_connections() {
    let redis = redis_or_skip!();
    if redis.external {
        skip("this test drops every client of its own redis-server (MCP_MOUNT_REDIS_URL is set)");
        return;
    }
    let (a, b) = replicas(&redis).await;
    let session = connect(&a, &b).await;
    let held = get(&b, &session, None).await;
    assert_eq!(held.status(), 200);
    let mut stream = held.into_body();
    // Every connection of both replicas, commands and subscriptions, is cut.
    for kind in ["normal", "pubsub"] {
        let killed = command(redis.port, &format!("CLIENT KILL TYPE {kind}"));
        assert!(killed.starts_with(':'), "{killed}");
    }
    // The session is still there, and the request that finds the connection gone is tried
    // again on the new one: the client sees no error.
    for (server, id) in [(&a, 2), (&b, 3)] {
        let listed = post(
            server,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
        )
        .await;
        assert_eq!(listed.status(), 200);
    }
    // The stream B held all along hears of changes on A again, once B has subscribed anew.
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        assert!(Instant::now() < deadline, "the bus never delivered again");
        assert!(
            a.add_tool(Tool::new(format!("later{i}"), || async { "later" }))
                .is_ok()
        );
        if let Some((_, event)) = next_event_with_id(&mut stream, Duration::from_millis(500)).await
        {
            assert_eq!(
                event["method"], "notifications/tools/list_changed",
                "{event}"
            );
            break;
        }
    }
}

#[tokio::test]
async fn a_server_holds_its_redis_parts_to_its_own_session_ttl_and_cap() {
    let redis = redis_or_skip!();
    let cluster = RedisCluster::connect_with(&redis.url, options())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The options keep their defaults (30 min, 10,000); the builder's settings must win.
    let server = McpServer::builder("bounded", "1.0.0")
        .cluster(cluster)
        .session_ttl(Duration::from_millis(300))
        .max_sessions(1)
        .build();
    let first = initialize(&server).await;
    assert_eq!(first.status(), 200);
    let session = first
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no session id"));
    assert_eq!(
        initialize(&server).await.status(),
        503,
        "the cap of one holds"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let expired = post(
        &server,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(expired.status(), 404, "the TTL of 300 ms holds");
    assert_eq!(initialize(&server).await.status(), 200, "and makes room");
}
