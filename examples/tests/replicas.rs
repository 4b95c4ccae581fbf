//! The fixture as a cluster: two `fixture-server` processes of different frameworks, one Redis
//! (`--redis`), one `requestState` key (`--request-state-key`), and a round-robin proxy in front
//! that sends each request to the next replica in turn (the case client opens a connection per
//! request). Real processes, so nothing of one replica's memory helps the other.
//!
//! - `axum_actix_web` and `poem_salvo`: every conformance case through such a pair. The cases
//!   that cannot pass there are listed with the reason; all of them depend on state the
//!   *fixture* keeps in the process (its test gates and its registry edits), not on a session.
//! - `cluster`: cases of their own that kill and restart replicas.
//!
//! Without `redis-server` every test says how to install it and passes, unless
//! `MCP_MOUNT_REQUIRE_REDIS=1` (CI), when it fails.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_mount_conformance::replicas::{Redis, RoundRobin, Tied};
use mcp_mount_conformance::{Target, next_id};
use serde_json::{Value, json};

const PREFIX: &str = "/mcp";
const FIXTURE_SERVER: &str = env!("CARGO_BIN_EXE_fixture-server");
/// How long a replica may take to start listening.
const START: Duration = Duration::from_secs(30);

/// The `requestState` key every replica of this test process shares: 32 bytes, hex, random
/// per process.
fn state_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut key = String::new();
        for i in 0..4u64 {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(i);
            key.push_str(&format!("{:016x}", hasher.finish()));
        }
        key
    })
}

/// One `fixture-server --framework framework` on Redis `redis`, on `addr` (a free port when
/// `None`); the process and the address it listens on.
fn replica(framework: &str, redis: &str, addr: Option<SocketAddr>) -> (Tied, SocketAddr) {
    let addr = addr.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
    let args = [
        "--framework",
        framework,
        "--addr",
        &addr,
        "--prefix",
        PREFIX,
        "--redis",
        redis,
        "--request-state-key",
        state_key(),
    ];
    let mut process = Tied::spawn(FIXTURE_SERVER, &args)
        .unwrap_or_else(|e| panic!("fixture-server --framework {framework}: {e}"));
    let line = process
        .wait_for("listening on http://", START)
        .unwrap_or_else(|| panic!("fixture-server --framework {framework} did not start"));
    let listening = line
        .trim_start_matches("listening on http://")
        .trim_end_matches(PREFIX);
    let addr = listening
        .parse()
        .unwrap_or_else(|e| panic!("fixture-server said {line:?}: {e}"));
    (process, addr)
}

/// Two replicas on one Redis of their own.
struct Pair {
    redis: Redis,
    replicas: Vec<(&'static str, Tied, SocketAddr)>,
}

impl Pair {
    /// `None` when there is no Redis to be had (after saying why).
    fn start(frameworks: [&'static str; 2]) -> Option<Self> {
        let redis = Redis::start()?;
        let replicas = frameworks
            .into_iter()
            .map(|framework| {
                let (process, addr) = replica(framework, redis.url(), None);
                (framework, process, addr)
            })
            .collect();
        Some(Self { redis, replicas })
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.replicas.iter().map(|(_, _, addr)| *addr).collect()
    }

    /// The target of replica `index` alone.
    fn direct(&self, index: usize) -> Target {
        Target::new(format!("http://{}{PREFIX}", self.replicas[index].2))
    }

    /// Stops replica `index` with `signal` and starts it again on the same address.
    fn restart(&mut self, index: usize, signal: &str) {
        let (framework, process, addr) = &mut self.replicas[index];
        process.signal(signal);
        process.kill();
        let (fresh, _) = replica(framework, self.redis.url(), Some(*addr));
        *process = fresh;
    }
}

/// The pair of `frameworks` this test binary shares between its cases, started on first use;
/// `None` when there is no Redis.
fn shared(frameworks: [&'static str; 2]) -> Option<Vec<SocketAddr>> {
    type Started = Vec<([&'static str; 2], Option<Arc<Pair>>)>;
    static PAIRS: Mutex<Started> = Mutex::new(Vec::new());
    let mut pairs = PAIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, pair)) = pairs.iter().find(|(f, _)| *f == frameworks) {
        return pair.as_ref().map(|p| p.addrs());
    }
    // Kept for the whole test binary; the watchdogs stop the processes when it ends.
    let pair = Pair::start(frameworks).map(Arc::new);
    pairs.push((frameworks, pair.clone()));
    pair.map(|p| p.addrs())
}

/// A fresh round-robin proxy (so that each case alternates from its first request) in front of
/// the shared pair of `frameworks`.
async fn through(frameworks: [&'static str; 2]) -> Option<Target> {
    let addrs = tokio::task::spawn_blocking(move || shared(frameworks))
        .await
        .unwrap_or_else(|e| panic!("starting the replicas failed: {e}"))?;
    let proxy = RoundRobin::start(addrs)
        .await
        .unwrap_or_else(|e| panic!("no proxy: {e}"));
    Some(Target::new(format!("http://{}{PREFIX}", proxy.addr())))
}

/// Why each excepted case cannot pass through two replicas. The fixture keeps these in its
/// process, by design of the fixture, not of the library: a real app's tools and resources are
/// the same code on every replica.
macro_rules! replica_suite {
    ($frameworks:expr) => {
        mcp_mount_conformance::suite!(
            replicas = super::through($frameworks),
            except = {
                stream_events_are_not_buffered:
                    "the fixture's `gate`/`release` pair is a signal inside one process; the release lands on the other replica",
                tools_list_changed_on_runtime_change:
                    "the fixture's `test_trigger_tool_change` edits the tool registry of the replica it runs on; registries are code, per process",
                resources_and_prompts_list_changed:
                    "the fixture's `dynamic` tool edits the registries of the replica it runs on",
                list_changed_never_rides_a_request_stream:
                    "the fixture's `dynamic` tool edits the registries of the replica it runs on",
                rest_lists_tools:
                    "adds a tool with the fixture's `dynamic` tool and lists it, which the other replica has not",
                older_clients_get_no_priming_event:
                    "registers a tool with the fixture's `dynamic` tool on one replica and calls it on the other",
                resources_subscribe_delivers_updates:
                    "checks the count `notify_resource_updated` returns, which counts the sessions of the replica it runs on (delivery across replicas: `cluster::resource_update_reaches_the_other_replica`)",
            },
        );
    };
}

mod axum_actix_web {
    replica_suite!(["axum", "actix-web"]);
}

mod poem_salvo {
    replica_suite!(["poem", "salvo"]);
}

/// Cases that need replicas of their own, to kill and restart.
mod cluster {
    use super::*;
    use mcp_mount_conformance::client::STEP_TIMEOUT;

    fn text_of(result: &Value) -> &str {
        result["content"][0]["text"].as_str().unwrap_or_default()
    }

    /// A resource update made on one replica reaches the subscribed session's GET stream held
    /// by the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resource_update_reaches_the_other_replica() {
        let Some(pair) = tokio::task::spawn_blocking(|| Pair::start(["axum", "poem"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let (a, b) = (pair.direct(0), pair.direct(1));
        let subscriber = a.connect().await;
        let uri = format!("test://template/{}/data", next_id());
        subscriber
            .call("resources/subscribe", json!({"uri": uri}))
            .await;
        let mut stream = subscriber.open(subscriber.get(None)).await;
        assert_eq!(stream.status, 200);
        // The same session, through the other replica: touch the resource there.
        let mut on_b = subscriber.clone();
        on_b.target = b.clone();
        let reached = on_b.call_tool("touch_resource", json!({"uri": uri})).await;
        assert_eq!(
            text_of(&reached),
            "0",
            "no listener on the replica that changed it"
        );
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = stream
                .next_message(left)
                .await
                .unwrap_or_else(|()| {
                    panic!("no notifications/resources/updated within {STEP_TIMEOUT:?}")
                })
                .unwrap_or_else(|| panic!("the GET stream ended"));
            if message["method"] == "notifications/resources/updated" {
                assert_eq!(message["params"]["uri"], uri.as_str());
                break;
            }
        }
    }

    /// SIGKILL of the replica running a call: the session lives on on the other replica, and a
    /// stream resumed there ends with a JSON-RPC error for the call's id once the dead
    /// writer's heartbeat has expired, instead of waiting for ever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigkill_of_the_replica_running_a_call() {
        let Some(mut pair) = tokio::task::spawn_blocking(|| Pair::start(["salvo", "axum"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let (a, b) = (pair.direct(0), pair.direct(1));
        let session = a.connect().await;
        let id = next_id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "slow", "arguments": {"key": format!("kill{id}")}}});
        let mut call = session.open(session.post(&body)).await;
        assert_eq!(call.status, 200);
        // The priming event, then the tool's "started" log message: the call runs on A.
        let mut last = None;
        while let Ok(Some(event)) = call.next_event(STEP_TIMEOUT).await {
            if event.id.is_some() {
                last = event.id.clone();
            }
            if event.data.contains("notifications/message") {
                break;
            }
        }
        let last = last.unwrap_or_else(|| panic!("the call's stream had no event id"));
        pair.replicas[0].1.signal("KILL");
        pair.replicas[0].1.kill();

        let mut on_b = session.clone();
        on_b.target = b.clone();
        // The dead writer's heartbeat expires within the Redis log's writer timeout (15 s by
        // default): the resumed stream must end with the call's answer well before 30 s.
        let mut resumed = on_b.open(on_b.get(Some(&last))).await;
        assert_eq!(resumed.status, 200);
        let answer = loop {
            let message = resumed
                .next_message(Duration::from_secs(30))
                .await
                .unwrap_or_else(|()| panic!("the resumed stream of the dead call never ended"))
                .unwrap_or_else(|| panic!("the resumed stream ended without an answer"));
            if message["id"] == id {
                break message;
            }
        };
        assert_eq!(answer["error"]["code"], -32603, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("send the request again"), "{answer}");
        assert_eq!(
            resumed.next_message(STEP_TIMEOUT).await,
            Ok(None),
            "the resumed stream ends with the answer"
        );
        // The session itself lives on on B.
        assert_eq!(on_b.call("ping", json!({})).await, json!({}));
        let sum = on_b.call_tool("add", json!({"a": 2, "b": 3})).await;
        assert_eq!(text_of(&sum), "5");
    }

    /// A 2026-07-28 request declaring the tasks extension (and elicitation), with the headers
    /// a conforming client sends; its JSON-RPC answer.
    async fn modern(t: &Target, method: &str, mut params: Value, name: &str) -> Value {
        if let Some(params) = params.as_object_mut() {
            params.insert(
                "_meta".into(),
                json!({
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities":
                        {"elicitation": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}},
                }),
            );
        }
        let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": params});
        let mut builder = t
            .post(&body)
            .header("mcp-method", method)
            .header("mcp-name", name);
        if let Some(headers) = builder.headers_mut() {
            headers.insert(
                "mcp-protocol-version",
                http::HeaderValue::from_static("2026-07-28"),
            );
        }
        t.send(builder).await.rpc()
    }

    /// Starts tool `name` as a task on `t`; its id.
    async fn start_task(t: &Target, name: &str, arguments: Value) -> String {
        let created = modern(
            t,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
            name,
        )
        .await;
        assert_eq!(created["result"]["resultType"], "task", "{created}");
        created["result"]["taskId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// `tasks/get` on `t` until the task's status is one of `statuses` (within `within`).
    async fn task_until(t: &Target, task: &str, statuses: &[&str], within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = modern(t, "tasks/get", json!({"taskId": task}), task).await;
            if statuses.contains(&got["result"]["status"].as_str().unwrap_or_default()) {
                return got["result"].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "task {task} never reached {statuses:?}: {got}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A task running on one replica is cancelled through the other: the cancel travels the
    /// bus, the handler's future is dropped where it runs, and the task settles `cancelled`
    /// for both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_is_cancelled_through_the_other_replica() {
        let Some(pair) = tokio::task::spawn_blocking(|| Pair::start(["actix-web", "salvo"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let (a, b) = (pair.direct(0), pair.direct(1));
        let key = format!("task-cancel-{}", next_id());
        let task = start_task(&a, "slow", json!({"key": key})).await;
        let ack = modern(&b, "tasks/cancel", json!({"taskId": task}), &task).await;
        assert_eq!(ack["result"], json!({"resultType": "complete"}), "{ack}");
        let settled = task_until(
            &a,
            &task,
            &["cancelled", "completed", "failed"],
            STEP_TIMEOUT,
        )
        .await;
        assert_eq!(settled["status"], "cancelled", "{settled}");
        // The handler ran on A: its future was dropped there.
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let probe = a.connect().await;
            let dropped = probe.call_tool("was_cancelled", json!({"key": key})).await;
            if text_of(&dropped) == "true" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the handler on the other replica kept running"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A task running on one replica that asks the client a question is answered through the
    /// other: the answer travels the bus to the waiting handler, which completes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_is_answered_through_the_other_replica() {
        let Some(pair) = tokio::task::spawn_blocking(|| Pair::start(["poem", "axum"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let (a, b) = (pair.direct(0), pair.direct(1));
        let task = start_task(&a, "confirm_delete", json!({"filename": "x.txt"})).await;
        let asked = task_until(&b, &task, &["input_required"], STEP_TIMEOUT).await;
        let key = asked["inputRequests"]
            .as_object()
            .and_then(|r| r.keys().next().cloned())
            .unwrap_or_default();
        let answer = json!({key: {"action": "accept", "content": {"confirm": true}}});
        let ack = modern(
            &b,
            "tasks/update",
            json!({"taskId": task, "inputResponses": answer}),
            &task,
        )
        .await;
        assert_eq!(ack["result"], json!({"resultType": "complete"}), "{ack}");
        let done = task_until(
            &b,
            &task,
            &["completed", "failed", "cancelled"],
            STEP_TIMEOUT,
        )
        .await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(text_of(&done["result"]), "deleted x.txt", "{done}");
    }

    /// SIGKILL of the replica running a task: the other replica reports it `failed` with a
    /// JSON-RPC error that says to call again, once the dead replica's renewals have lapsed
    /// (15 s), instead of `working` for ever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_whose_replica_dies_fails() {
        let Some(mut pair) = tokio::task::spawn_blocking(|| Pair::start(["axum", "actix-web"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let (a, b) = (pair.direct(0), pair.direct(1));
        let task = start_task(&a, "slow_compute", json!({"seconds": 120})).await;
        let working = task_until(&b, &task, &["working"], STEP_TIMEOUT).await;
        assert_eq!(working["status"], "working");
        pair.replicas[0].1.signal("KILL");
        pair.replicas[0].1.kill();
        let failed = task_until(
            &b,
            &task,
            &["failed", "completed", "cancelled"],
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(failed["status"], "failed", "{failed}");
        assert_eq!(failed["error"]["code"], -32603, "{failed}");
        let message = failed["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("call the tool again"), "{failed}");
    }

    /// A rolling restart (each replica stopped with SIGTERM and started again, one after the
    /// other, behind the proxy) loses no session.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rolling_restart_loses_no_session() {
        let Some(mut pair) = tokio::task::spawn_blocking(|| Pair::start(["actix-web", "poem"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        let proxy = RoundRobin::start(pair.addrs())
            .await
            .unwrap_or_else(|e| panic!("no proxy: {e}"));
        let target = Target::new(format!("http://{}{PREFIX}", proxy.addr()));
        let mut sessions = Vec::new();
        for _ in 0..6 {
            let session = target.connect_with("2025-11-25", json!({})).await;
            session
                .call("logging/setLevel", json!({"level": "error"}))
                .await;
            sessions.push(session);
        }
        for index in 0..2 {
            pair = tokio::task::spawn_blocking(move || {
                pair.restart(index, "TERM");
                pair
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            for session in &sessions {
                // Two requests each: one per replica.
                assert_eq!(session.call("ping", json!({})).await, json!({}));
                let sum = session.call_tool("add", json!({"a": 2, "b": 3})).await;
                assert_eq!(text_of(&sum), "5");
            }
        }
        let counts = proxy.counts();
        assert!(
            counts.iter().all(|&c| c > 0),
            "requests reached both replicas: {counts:?}"
        );
    }

    /// Redis stopped under two running replicas: requests that need a session get 503 with
    /// `Retry-After` and a JSON-RPC error, stateless requests are served; once Redis is back
    /// (empty: this one keeps nothing on disk) new sessions work again without a restart.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_down_and_back() {
        let Some(mut pair) = tokio::task::spawn_blocking(|| Pair::start(["axum", "salvo"]))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        else {
            return;
        };
        if pair.redis.is_external() {
            mcp_mount_conformance::replicas::skip(
                "redis_down_and_back stops Redis: not one named by MCP_MOUNT_REDIS_URL",
            );
            return;
        }
        let proxy = RoundRobin::start(pair.addrs())
            .await
            .unwrap_or_else(|e| panic!("no proxy: {e}"));
        let target = Target::new(format!("http://{}{PREFIX}", proxy.addr()));
        let session = target.connect().await;
        pair = tokio::task::spawn_blocking(move || {
            pair.redis.stop();
            pair
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // Two of each in a row: the proxy sends them to both replicas.
        for _ in 0..2 {
            let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "ping"});
            let down = session.send(session.post(&body)).await;
            assert_eq!(
                down.status,
                503,
                "{:?}",
                String::from_utf8_lossy(&down.body)
            );
            assert!(
                down.header("retry-after").is_some(),
                "503 without Retry-After"
            );
            assert!(down.json()["error"]["code"].is_i64(), "{:?}", down.body);
        }
        for _ in 0..2 {
            let stateless = target.variant("stateless");
            let call = json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 2, "b": 3}}});
            let up = stateless.send(stateless.post(&call)).await;
            assert_eq!(
                up.status, 200,
                "a stateless call with Redis down: {:?}",
                up.body
            );
            assert_eq!(text_of(&up.result()), "5");
        }
        pair = tokio::task::spawn_blocking(move || {
            pair.redis.restart();
            pair
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // The replicas reconnect by themselves; give them a bounded while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let fresh = loop {
            let init = target
                .send(target.post(&mcp_mount_conformance::initialize_body(
                    next_id(),
                    "2025-11-25",
                )))
                .await;
            if init.status == 200 {
                break init;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no new session 15 s after Redis came back: {} {:?}",
                init.status,
                init.body
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(fresh.header("mcp-session-id").is_some());
        drop(pair);
    }
}

/// Graceful shutdown of a real process on every framework: a client holding a GET stream, one
/// holding a 2026-07-28 `subscriptions/listen` stream and one waiting on a slow call; SIGTERM;
/// the process exits within its deadline (2 s here) plus a second, the streams end cleanly (the
/// listen stream after its final result) and the call gets a JSON-RPC error for its id.
mod shutdown {
    use super::*;
    use mcp_mount_conformance::client::STEP_TIMEOUT;
    use std::time::Instant;

    const DEADLINE: &str = "2";

    async fn stops_cleanly(framework: &'static str) {
        let mut process = Tied::spawn(
            FIXTURE_SERVER,
            &[
                "--framework",
                framework,
                "--addr",
                "127.0.0.1:0",
                "--prefix",
                PREFIX,
                "--shutdown-deadline",
                DEADLINE,
            ],
        )
        .unwrap_or_else(|e| panic!("fixture-server --framework {framework}: {e}"));
        let line = process
            .wait_for("listening on http://", START)
            .unwrap_or_else(|| panic!("fixture-server --framework {framework} did not start"));
        let target = Target::new(line.trim_start_matches("listening on "));
        let session = target.connect().await;
        let mut get = session.open(session.get(None)).await;
        assert_eq!(get.status, 200);

        let listen_id = next_id();
        let listen = json!({"jsonrpc": "2.0", "id": listen_id, "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": true}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "shutdown", "version": "1"}}}});
        let mut request = target
            .post(&listen)
            .header("mcp-method", "subscriptions/listen");
        if let Some(headers) = request.headers_mut() {
            headers.insert(
                "mcp-protocol-version",
                http::HeaderValue::from_static("2026-07-28"),
            );
        }
        let mut listener = target.open(request).await;
        assert_eq!(listener.status, 200);
        let ack = listener.next_message(STEP_TIMEOUT).await;
        assert!(
            matches!(&ack, Ok(Some(m)) if m["method"] == "notifications/subscriptions/acknowledged"),
            "{ack:?}"
        );

        let call_id = next_id();
        let body = json!({"jsonrpc": "2.0", "id": call_id, "method": "tools/call",
            "params": {"name": "slow", "arguments": {"key": format!("stop{call_id}")}}});
        let mut call = session.open(session.post(&body)).await;
        assert_eq!(call.status, 200);
        // Running: its log message is out.
        loop {
            let message = call
                .next_message(STEP_TIMEOUT)
                .await
                .unwrap_or_else(|()| panic!("the slow call sent nothing"))
                .unwrap_or_else(|| panic!("the slow call's stream ended"));
            if message["method"] == "notifications/message" {
                break;
            }
        }

        let signalled = Instant::now();
        process.signal("TERM");
        let stopped = tokio::task::spawn_blocking(move || {
            let line = process.wait_for("stopped", Duration::from_secs(10));
            (line, signalled.elapsed(), process)
        });

        assert_eq!(
            get.next_message(Duration::from_secs(5)).await,
            Ok(None),
            "{framework}: the GET stream did not end cleanly at SIGTERM"
        );
        let last = listener
            .next_message(Duration::from_secs(5))
            .await
            .unwrap_or_else(|()| panic!("{framework}: the listen stream did not end"))
            .unwrap_or_else(|| panic!("{framework}: the listen stream ended without its result"));
        assert_eq!(last["id"], listen_id, "{last}");
        assert_eq!(last["result"]["resultType"], "complete", "{last}");
        assert_eq!(listener.next_message(STEP_TIMEOUT).await, Ok(None));

        let answer = call
            .next_message(Duration::from_secs(10))
            .await
            .unwrap_or_else(|()| panic!("{framework}: the slow call got no answer"))
            .unwrap_or_else(|| panic!("{framework}: the slow call's stream ended unanswered"));
        assert_eq!(answer["id"], call_id, "{answer}");
        assert_eq!(answer["error"]["code"], -32603, "{answer}");
        assert_eq!(call.next_message(STEP_TIMEOUT).await, Ok(None));

        let (line, took, _process) = stopped.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(line.is_some(), "{framework}: the process did not stop");
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
            "{framework}: stopped {took:?} after SIGTERM with a {DEADLINE} s deadline"
        );
        eprintln!("{framework}: stopped {took:?} after SIGTERM (deadline {DEADLINE} s)");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn axum() {
        stops_cleanly("axum").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn actix_web() {
        stops_cleanly("actix-web").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn poem() {
        stops_cleanly("poem").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn salvo() {
        stops_cleanly("salvo").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hyper() {
        stops_cleanly("hyper").await;
    }
}
