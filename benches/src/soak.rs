//! `mcp-bench --soak MINUTES`: session churn against the conformance fixture on every framework
//! (`fixture-server`, release build), with the defaults a real deployment starts from (10,000
//! sessions at most, 30 minutes idle TTL, eviction of sessions idle 15 s under a full cap).
//!
//! 64 connections per framework each loop: `initialize`, `notifications/initialized`, a call,
//! every tenth time a call of the fixture's `panic` tool (whose -32603 is expected), a GET
//! stream read to its priming event, then DELETE — or, every other time, nothing: the session is
//! abandoned. Every answer is checked; anything else is an error, counted by kind. The server's
//! RSS is read at one minute and at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Connections per framework.
const CONNECTIONS: usize = 64;
/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What one framework's soak saw.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Completed loops (one session each).
    pub(crate) loops: AtomicU64,
    /// Sessions left without DELETE.
    pub(crate) abandoned: AtomicU64,
    /// Panicking calls answered -32603, as they should be.
    pub(crate) panics_answered: AtomicU64,
    /// Unexpected answers and failures, by kind.
    pub(crate) errors: Mutex<BTreeMap<String, u64>>,
}

impl Outcome {
    fn error(&self, kind: impl Into<String>) {
        let mut errors = self
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *errors.entry(kind.into()).or_default() += 1;
    }

    /// Unexpected errors so far.
    pub(crate) fn error_count(&self) -> u64 {
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .sum()
    }
}

/// One keep-alive HTTP/1.1 connection to `addr`.
async fn connect(addr: &str) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (sender, connection) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

struct Answer {
    status: StatusCode,
    session: Option<String>,
    body: Bytes,
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<Answer, String> {
    let exchange = async {
        sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            session,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| "timeout".to_owned())?
}

fn post(authority: &str, session: Option<&str>, body: &Value) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/mcp")
        .header("host", authority)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        builder = builder
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|e| panic!("a request the soak builds is valid: {e}"))
}

/// The JSON-RPC answer in a body (JSON, or the last `data:` of an SSE body).
fn answer_of(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .rfind(|m| m.get("result").is_some() || m.get("error").is_some())
}

/// One session's life; errors go to `outcome`.
async fn session_loop(
    addr: &str,
    sender: &mut SendRequest<Full<Bytes>>,
    n: u64,
    outcome: &Outcome,
) -> Result<(), String> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "soak", "version": "1"}}});
    let answer = send(sender, post(addr, None, &init)).await?;
    if answer.status != StatusCode::OK {
        outcome.error(format!("initialize: HTTP {}", answer.status.as_u16()));
        return Ok(());
    }
    let Some(session) = answer.session else {
        outcome.error("initialize: no session id");
        return Ok(());
    };
    let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let answer = send(sender, post(addr, Some(&session), &ack)).await?;
    if answer.status != StatusCode::ACCEPTED {
        outcome.error(format!("initialized: HTTP {}", answer.status.as_u16()));
    }
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 2, "b": 3}}});
    let answer = send(sender, post(addr, Some(&session), &call)).await?;
    let text = answer_of(&answer.body).and_then(|a| {
        a["result"]["content"][0]["text"]
            .as_str()
            .map(str::to_owned)
    });
    if answer.status != StatusCode::OK || text.as_deref() != Some("5") {
        outcome.error(format!("tools/call: HTTP {}", answer.status.as_u16()));
    }
    if n.is_multiple_of(10) {
        let panic = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "panic", "arguments": {}}});
        let answer = send(sender, post(addr, Some(&session), &panic)).await?;
        let code = answer_of(&answer.body).and_then(|a| a["error"]["code"].as_i64());
        if answer.status == StatusCode::OK && code == Some(-32603) {
            outcome.panics_answered.fetch_add(1, Ordering::Relaxed);
        } else {
            outcome.error(format!(
                "panicking call: HTTP {} code {code:?}",
                answer.status.as_u16()
            ));
        }
    }
    // A GET stream on a connection of its own, read to its priming event, then dropped.
    match connect(addr).await {
        Ok(mut stream) => {
            let get = Request::builder()
                .method(Method::GET)
                .uri("/mcp")
                .header("host", addr)
                .header("accept", "text/event-stream")
                .header("mcp-session-id", &session)
                .header("mcp-protocol-version", "2025-11-25")
                .body(Full::new(Bytes::new()))
                .unwrap_or_else(|e| panic!("{e}"));
            let opened = async {
                stream.ready().await.map_err(|e| e.to_string())?;
                let response = stream.send_request(get).await.map_err(|e| e.to_string())?;
                let status = response.status();
                let mut body = response.into_body();
                let first = body.frame().await;
                Ok::<_, String>((status, first.is_some()))
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, opened).await {
                Ok(Ok((StatusCode::OK, true))) => {}
                Ok(Ok((status, _))) => outcome.error(format!("GET: HTTP {}", status.as_u16())),
                Ok(Err(e)) => outcome.error(format!("GET: {e}")),
                Err(_) => outcome.error("GET: timeout"),
            }
        }
        Err(e) => outcome.error(format!("GET: {e}")),
    }
    if n.is_multiple_of(2) {
        let delete = Request::builder()
            .method(Method::DELETE)
            .uri("/mcp")
            .header("host", addr)
            .header("mcp-session-id", &session)
            .body(Full::new(Bytes::new()))
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = send(sender, delete).await?;
        if !answer.status.is_success() {
            outcome.error(format!("DELETE: HTTP {}", answer.status.as_u16()));
        }
    } else {
        outcome.abandoned.fetch_add(1, Ordering::Relaxed);
    }
    outcome.loops.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Drives `addr` (a fixture-server's `host:port`, fixture at `/mcp`) until `until`.
pub(crate) async fn drive(addr: String, until: Instant, outcome: Arc<Outcome>) {
    let counter = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (addr, outcome, counter) =
                (addr.clone(), Arc::clone(&outcome), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut sender = None;
                while Instant::now() < until {
                    if sender.is_none() {
                        match connect(&addr).await {
                            Ok(s) => sender = Some(s),
                            Err(e) => {
                                outcome.error(e);
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                        }
                    }
                    let Some(conn) = sender.as_mut() else {
                        continue;
                    };
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = session_loop(&addr, conn, n, &outcome).await {
                        outcome.error(e);
                        // A broken connection is made again.
                        sender = None;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// The resident set size of process `pid`, in KiB (Linux).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Builds `fixture-server` (release) with the cargo that runs this; returns the binary.
fn build_fixture_server() -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ok = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "mcp-mount-examples",
            "--bin",
            "fixture-server",
        ])
        .status()
        .map_err(|e| format!("cargo: {e}"))?
        .success();
    if !ok {
        return Err("building fixture-server failed".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .ok_or("no directory for the current executable")?;
    Ok(dir.join("fixture-server"))
}

/// A fixture-server of `framework` on a free port; stopped (by pid) when dropped.
struct Server {
    child: std::process::Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &std::path::Path, framework: &str) -> Result<Server, String> {
    use std::io::BufRead;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(binary)
        .args([
            "--framework",
            framework,
            "--addr",
            &addr,
            "--prefix",
            "/mcp",
        ])
        .stdout(std::process::Stdio::piped())
        // The fixture's panicking tool is called on purpose; its panic messages are noise here.
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("fixture-server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(line)) if line.starts_with("listening on") => {}
        other => {
            let _ = child.kill();
            return Err(format!(
                "fixture-server --framework {framework} said {other:?}"
            ));
        }
    }
    Ok(Server { child, addr })
}

/// Runs the soak for `minutes` on every one of `frameworks` at once and returns the report
/// (a Markdown table).
///
/// # Errors
///
/// When fixture-server cannot be built or started.
pub(crate) async fn run(minutes: f64, frameworks: &[String]) -> Result<String, String> {
    let binary = build_fixture_server()?;
    let servers: Vec<(String, Server)> = frameworks
        .iter()
        .map(|f| start(&binary, f).map(|s| (f.clone(), s)))
        .collect::<Result<_, _>>()?;
    let total = Duration::from_secs_f64(minutes * 60.0);
    let started = Instant::now();
    let until = started + total;
    println!(
        "soak: {} frameworks at once, {CONNECTIONS} connections each, {minutes} min",
        servers.len()
    );
    let outcomes: Vec<Arc<Outcome>> = servers.iter().map(|_| Arc::default()).collect();
    let drivers: Vec<_> = servers
        .iter()
        .zip(&outcomes)
        .map(|((_, server), outcome)| {
            tokio::spawn(drive(server.addr.clone(), until, Arc::clone(outcome)))
        })
        .collect();
    // RSS at one minute (or a fifth of a shorter run), then at the end.
    let first = Duration::from_secs(60).min(total / 5);
    tokio::time::sleep(first).await;
    let early: Vec<Option<u64>> = servers.iter().map(|(_, s)| rss_kib(s.child.id())).collect();
    let mut last_report = Instant::now();
    while Instant::now() < until {
        tokio::time::sleep(
            Duration::from_secs(5).min(until.saturating_duration_since(Instant::now())),
        )
        .await;
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            for ((name, server), outcome) in servers.iter().zip(&outcomes) {
                println!(
                    "  {:>5.1} min {name}: {} sessions, {} unexpected errors, RSS {} KiB",
                    started.elapsed().as_secs_f64() / 60.0,
                    outcome.loops.load(Ordering::Relaxed),
                    outcome.error_count(),
                    rss_kib(server.child.id()).unwrap_or(0)
                );
            }
        }
    }
    for driver in drivers {
        let _ = driver.await;
    }
    let mut report = format!(
        "| framework ({minutes} min, {CONNECTIONS} connections, all at once) | sessions | abandoned | panics answered -32603 | unexpected errors | RSS at {:.0} s | RSS at end | end ÷ early |\n|---|---|---|---|---|---|---|---|\n",
        first.as_secs_f64()
    );
    for (((name, server), outcome), early) in servers.iter().zip(&outcomes).zip(&early) {
        let end = rss_kib(server.child.id());
        let errors = outcome
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(kind, n)| format!("{n} × {kind}"))
            .collect::<Vec<_>>();
        let ratio = match (early, end) {
            (Some(early), Some(end)) if *early > 0 => format!("{:.2}", end as f64 / *early as f64),
            _ => "?".into(),
        };
        report.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} KiB | {} KiB | {ratio} |\n",
            outcome.loops.load(Ordering::Relaxed),
            outcome.abandoned.load(Ordering::Relaxed),
            outcome.panics_answered.load(Ordering::Relaxed),
            if errors.is_empty() {
                "0".to_owned()
            } else {
                errors.join(", ")
            },
            early.map_or("?".into(), |k| k.to_string()),
            end.map_or("?".into(), |k| k.to_string()),
        ));
    }
    Ok(report)
}
