//! `mcp-bench`: every mcp-mount adapter against its bare framework and against rmcp, side by
//! side in one run on this machine. See `benches/README.md` for the method.
//!
//! `cargo run --release -p mcp-mount-benches --bin mcp-bench -- [--rounds 3] [--duration 3]
//!  [--frameworks axum,actix-web,poem,salvo] [--skip-load] [--skip-memory] [--skip-redis]
//!  [--redis-core N] [--out DIR]`

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

#[path = "mcp-bench/redis.rs"]
mod with_redis;

use with_redis::{Redis, RedisMemory, RoundTrips};

const FRAMEWORKS: &[&str] = &["axum", "actix-web", "poem", "salvo"];
const MODES: &[&str] = &["stateless-json", "stateful-json", "stateful-sse"];
/// The stateful axum targets with their sessions in Redis.
const REDIS_TARGETS: [&str; 2] = [
    "mcp-axum-stateful-json-redis",
    "mcp-axum-stateful-sse-redis",
];
/// Sequential calls whose Redis commands and read events are counted.
const COUNTED_CALLS: usize = 2_000;
const SESSIONS: usize = 10_000;
const STREAMS: usize = 1_000;
const CALL: &str = r#"{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"mcp-bench","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const LUA: &str = r#"-- A tools/call add(2,3) with a unique JSON-RPC id per request.
local counter = 0
local headers = {}
function init(args)
  headers["Content-Type"] = "application/json"
  headers["Accept"] = "application/json, text/event-stream"
  headers["MCP-Protocol-Version"] = "2025-06-18"
  if args[1] ~= nil and args[1] ~= "" then headers["Mcp-Session-Id"] = args[1] end
end
function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, '{"jsonrpc":"2.0","id":' .. counter .. ',"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}')
end
"#;

#[path = "../soak.rs"]
mod soak;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    rounds: usize,
    duration: u64,
    frameworks: Vec<String>,
    load: bool,
    memory: bool,
    /// The `-redis` targets, their round trips and Redis memory per session.
    redis: bool,
    /// The core `redis-server` is pinned to (the load generator's, by default).
    redis_core: usize,
    out: PathBuf,
    /// `--soak MINUTES`: the soak instead of the load and memory runs.
    soak: Option<f64>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        rounds: 3,
        duration: 3,
        frameworks: FRAMEWORKS.iter().map(|f| (*f).to_owned()).collect(),
        load: true,
        memory: true,
        redis: true,
        redis_core: 1,
        out: PathBuf::from("target/bench-report"),
        soak: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--duration" => {
                options.duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?
            }
            "--frameworks" => options.frameworks = value()?.split(',').map(str::to_owned).collect(),
            "--out" => options.out = PathBuf::from(value()?),
            "--skip-load" => options.load = false,
            "--skip-memory" => options.memory = false,
            "--soak" => options.soak = Some(value()?.parse().map_err(|e| format!("--soak: {e}"))?),
            "--skip-redis" => options.redis = false,
            "--redis-core" => {
                options.redis_core = value()?.parse().map_err(|e| format!("--redis-core: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(bad) = options
        .frameworks
        .iter()
        .find(|f| !FRAMEWORKS.contains(&f.as_str()))
    {
        return Err(format!("unknown framework {bad}"));
    }
    Ok(options)
}

// ---------- machine set-up ----------

fn have(command: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {command}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_wrk() -> Result<(), BoxError> {
    if have("wrk") {
        return Ok(());
    }
    eprintln!("installing wrk from Debian's packages…");
    let ok = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && apt-get install -y -qq wrk >/dev/null",
        ])
        .status()?
        .success();
    if ok && have("wrk") {
        Ok(())
    } else {
        Err("could not install wrk (apt-get install wrk)".into())
    }
}

/// 1,000 open streams need more descriptors than the usual soft limit: re-run under a raised one.
fn ensure_descriptors() -> Result<(), BoxError> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    if soft >= 8192 || std::env::var_os("MCP_BENCH_REEXEC").is_some() {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let err = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null; exec \"$0\" \"$@\"")
        .arg(exe)
        .args(std::env::args().skip(1))
        .env("MCP_BENCH_REEXEC", "1")
        .exec();
    Err(err.into())
}

fn build_servers() -> Result<PathBuf, BoxError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ok = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "mcp-mount-benches",
            "--bin",
            "bench-server",
        ])
        .status()?
        .success();
    if !ok {
        return Err("building bench-server failed".into());
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("no directory for the current executable")?;
    Ok(dir.join("bench-server"))
}

/// `taskset -c N` when the machine has two cores to split between server and load generator.
fn pin(core: usize) -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores >= 2 && have("taskset") {
        vec!["taskset".into(), "-c".into(), core.to_string()]
    } else {
        Vec::new()
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------- servers ----------

struct Server {
    target: String,
    child: Child,
    url: String,
    /// The key prefix of a `-redis` target.
    prefix: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `target`; a `-redis` one on `redis`, under a prefix of its own.
    fn start(binary: &Path, target: &str, redis: Option<&Redis>) -> Result<Self, BoxError> {
        let mut argv = pin(0);
        argv.push(binary.display().to_string());
        argv.extend([target.to_owned(), "127.0.0.1:0".to_owned()]);
        let prefix = if target.ends_with("-redis") {
            let redis = redis.ok_or_else(|| format!("{target} needs a Redis"))?;
            let prefix = Redis::fresh_prefix();
            argv.extend([redis.url.clone(), prefix.clone()]);
            Some(prefix)
        } else {
            None
        };
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("ready ")
            .ok_or_else(|| format!("{target} did not start: {line:?}"))?
            .to_owned();
        Ok(Self {
            target: target.to_owned(),
            child,
            url,
            prefix,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn authority(&self) -> &str {
        self.url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("")
    }

    fn cpu_seconds(&self, ticks: f64) -> f64 {
        cpu_seconds_of(self.pid(), ticks)
    }

    fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn stateful(&self) -> bool {
        self.target.contains("stateful")
    }

    fn expects_sse(&self) -> bool {
        self.target.ends_with("-sse")
            || self.target.ends_with("-sse-redis")
            || self.target == "rmcp-stateful"
    }
}

/// utime + stime of process `pid`, in seconds.
fn cpu_seconds_of(pid: u32, ticks: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(11) + get(12)) / ticks
}

// ---------- a keep-alive HTTP/1.1 client ----------

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
    /// The protocol version it initializes sessions with and names in its requests.
    version: &'static str,
}

struct Answer {
    status: u16,
    content_type: String,
    session: Option<String>,
    body: String,
}

impl Conn {
    async fn open(authority: &str) -> Result<Self, BoxError> {
        Self::open_as(authority, "2025-06-18").await
    }

    async fn open_as(authority: &str, version: &'static str) -> Result<Self, BoxError> {
        let stream = tokio::net::TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            sender,
            authority: authority.to_owned(),
            version,
        })
    }

    fn request(
        &self,
        method: http::Method,
        session: Option<&str>,
        body: &str,
    ) -> Result<http::Request<Full<Bytes>>, BoxError> {
        let mut request = http::Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", self.version);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        Ok(request.body(Full::new(Bytes::from(body.to_owned())))?)
    }

    async fn post(&mut self, session: Option<&str>, body: &str) -> Result<Answer, BoxError> {
        self.sender.ready().await?;
        let response = self
            .sender
            .send_request(self.request(http::Method::POST, session, body)?)
            .await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (status, content_type, session) = (
            response.status().as_u16(),
            header("content-type").unwrap_or_default(),
            header("mcp-session-id"),
        );
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            content_type,
            session,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Opens the session's GET stream and keeps it open (the body is returned unread).
    async fn get_stream(
        &mut self,
        session: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, BoxError> {
        self.sender.ready().await?;
        let mut request = self.request(http::Method::GET, Some(session), "")?;
        request.headers_mut().insert(
            "accept",
            http::HeaderValue::from_static("text/event-stream"),
        );
        Ok(self.sender.send_request(request).await?)
    }

    /// `initialize` plus `notifications/initialized`; the session id.
    async fn open_session(&mut self) -> Result<String, BoxError> {
        let init = self
            .post(None, &INIT.replace("2025-06-18", self.version))
            .await?;
        let session = init.session.ok_or_else(|| {
            format!(
                "initialize gave no session (status {}: {})",
                init.status, init.body
            )
        })?;
        let ack = self.post(Some(&session), INITIALIZED).await?;
        if ack.status != 202 {
            return Err(format!("notifications/initialized: status {}", ack.status).into());
        }
        Ok(session)
    }
}

/// Checks the server answers `add(2, 3)` correctly before any load: a benchmark of error
/// responses would be worthless. Returns the session the load will use.
async fn verify(server: &Server) -> Result<Option<String>, BoxError> {
    let mut conn = Conn::open(server.authority()).await?;
    let session = if server.stateful() {
        Some(conn.open_session().await?)
    } else {
        None
    };
    for id in 1..=50 {
        let answer = conn
            .post(session.as_deref(), &CALL.replace("ID", &id.to_string()))
            .await?;
        let expected_type = if server.expects_sse() {
            "text/event-stream"
        } else {
            "application/json"
        };
        let ok = answer.status == 200
            && answer.content_type.starts_with(expected_type)
            && answer.body.contains(&format!(
                r#""id":{id},"result":{{"content":[{{"type":"text","text":"5"}}]"#
            ));
        if !ok {
            return Err(format!(
                "{} answered call {id} wrongly: {} {} {:?}",
                server.target, answer.status, answer.content_type, answer.body
            )
            .into());
        }
    }
    Ok(session)
}

// ---------- load ----------

#[derive(Clone, Debug, Default)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: f64,
    errors: u64,
    cpu_us_per_request: f64,
    /// The server's CPU time ÷ the run's wall time (1.0: its core was busy throughout).
    server_busy: f64,
    /// Of a `-redis` target: `redis-server`'s CPU per request, and its read events per
    /// request (below 1 when the replica's one multiplexed connection carries the commands of
    /// several concurrent calls in one write).
    redis_cpu_us_per_request: f64,
    redis_reads_per_request: f64,
}

fn duration_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

fn parse_wrk(output: &str) -> Run {
    let mut run = Run::default();
    for line in output.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            run.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("50%") {
            run.p50_ms = duration_ms(v).unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("99%") {
            run.p99_ms = duration_ms(v).unwrap_or(0.0);
        } else if line.contains("requests in") {
            run.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            run.errors += v.trim().parse::<u64>().unwrap_or(1);
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            run.errors += v
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    run
}

fn wrk(
    server: &Server,
    session: Option<&str>,
    connections: usize,
    seconds: u64,
    script: &Path,
    ticks: f64,
    redis: Option<&Redis>,
) -> Result<Run, BoxError> {
    let redis = redis.filter(|_| server.prefix.is_some());
    let mut argv = pin(1);
    argv.extend(["wrk", "-t1"].map(str::to_owned));
    argv.push(format!("-c{connections}"));
    argv.push(format!("-d{seconds}s"));
    argv.extend([
        "--latency".to_owned(),
        "-s".to_owned(),
        script.display().to_string(),
        server.url.clone(),
    ]);
    argv.push("--".into());
    argv.push(session.unwrap_or("").to_owned());
    let redis_before = match redis {
        Some(redis) => (
            redis.cpu_seconds(ticks),
            redis.info()?.num("total_reads_processed"),
        ),
        None => (f64::NAN, f64::NAN),
    };
    let cpu_before = server.cpu_seconds(ticks);
    let started = Instant::now();
    let output = Command::new(&argv[0]).args(&argv[1..]).output()?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds(ticks) - cpu_before;
    let redis_after = match redis {
        Some(redis) => (
            redis.cpu_seconds(ticks),
            redis.info()?.num("total_reads_processed"),
        ),
        None => (f64::NAN, f64::NAN),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut run = parse_wrk(&text);
    if !output.status.success() || run.rps == 0.0 {
        return Err(format!(
            "wrk against {} failed: {text}{}",
            server.target,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    run.cpu_us_per_request = if run.requests > 0.0 {
        cpu * 1e6 / run.requests
    } else {
        0.0
    };
    run.server_busy = cpu / wall;
    run.redis_cpu_us_per_request = (redis_after.0 - redis_before.0) * 1e6 / run.requests;
    run.redis_reads_per_request = (redis_after.1 - redis_before.1 - 1.0) / run.requests;
    Ok(run)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

// ---------- memory ----------

#[derive(Debug)]
struct Memory {
    target: String,
    baseline_kb: u64,
    after_sessions_kb: u64,
    bytes_per_session: f64,
    sessions_per_second: f64,
    streams_total_kb: Option<u64>,
}

async fn measure_sessions(binary: &Path, target: &str) -> Result<Memory, BoxError> {
    let server = Server::start(binary, target, None)?;
    let authority = server.authority().to_owned();
    let mut conn = Conn::open(&authority).await?;
    for _ in 0..20 {
        conn.open_session().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline_kb = server.rss_kb();
    let started = Instant::now();
    let workers = 8;
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let authority = authority.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&authority).await?;
            for _ in 0..SESSIONS / workers {
                conn.open_session().await?;
            }
            Ok::<_, BoxError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_sessions_kb = server.rss_kb();
    Ok(Memory {
        target: target.to_owned(),
        baseline_kb,
        after_sessions_kb,
        bytes_per_session: (after_sessions_kb.saturating_sub(baseline_kb) * 1024) as f64
            / SESSIONS as f64,
        sessions_per_second: SESSIONS as f64 / elapsed,
        streams_total_kb: None,
    })
}

/// Total RSS of a fresh server holding `STREAMS` open GET streams (one session each).
async fn measure_streams(binary: &Path, target: &str) -> Result<u64, BoxError> {
    let server = Server::start(binary, target, None)?;
    let authority = server.authority().to_owned();
    let mut held = Vec::with_capacity(STREAMS);
    let mut setup = Conn::open(&authority).await?;
    for _ in 0..STREAMS {
        let session = setup.open_session().await?;
        let mut conn = Conn::open(&authority).await?;
        let response = conn.get_stream(&session).await?;
        if response.status() != 200 {
            return Err(format!("{target}: GET stream answered {}", response.status()).into());
        }
        held.push((conn, response));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let total = server.rss_kb();
    drop(held);
    Ok(total)
}

// ---------- report ----------

struct Row {
    target: String,
    framework: String,
    kind: String,
    c1: Run,
    c64: Run,
    vs_bare: f64,
    vs_rmcp: f64,
    vs_stateless: f64,
    p99_c1_vs_bare: f64,
}

fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "–".into()
    }
}

fn markdown(
    rows: &[Row],
    memory: &[Memory],
    redis: Option<&RedisReport>,
    options: &Options,
    started: &str,
) -> String {
    let mut md = String::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let _ = writeln!(md, "# mcp-mount benchmark report\n");
    let _ = writeln!(
        md,
        "Run {started}; {cores} cores; server pinned to core 0, wrk to core 1 (when 2+ cores); {} rounds × {} s per target and concurrency, targets interleaved and rotated each round; medians over rounds; ratios are medians of per-round ratios.\n",
        options.rounds, options.duration
    );
    if !rows.is_empty() {
        let _ = writeln!(md, "## Throughput and latency: `tools/call add(2,3)`\n");
        let _ = writeln!(
            md,
            "| target | c=1 req/s | c=1 p50 ms | c=1 p99 ms | c=64 req/s | c=64 p50 ms | c=64 p99 ms | server µs/req (c=64) | ÷ bare (c=64) | ÷ rmcp (c=64) | ÷ stateless (c=64) | p99 c=1 ÷ bare | errors |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {:.1} | {} | {} | {} | {} | {} |",
                r.target,
                r.c1.rps,
                r.c1.p50_ms,
                r.c1.p99_ms,
                r.c64.rps,
                r.c64.p50_ms,
                r.c64.p99_ms,
                r.c64.cpu_us_per_request,
                ratio(r.vs_bare),
                ratio(r.vs_rmcp),
                ratio(r.vs_stateless),
                ratio(r.p99_c1_vs_bare),
                r.c1.errors + r.c64.errors
            );
        }
        let _ = writeln!(md, "\n## Targets\n");
        let _ = writeln!(
            md,
            "| target | framework | measured | goal | met |\n|---|---|---|---|---|"
        );
        for r in rows.iter().filter(|r| r.kind == "mcp") {
            let mode = r
                .target
                .rsplit_once(&format!("{}-", r.framework))
                .map_or("", |(_, m)| m);
            let mut check = |what: String, value: f64, goal: f64, higher: bool| {
                let met = if higher { value >= goal } else { value <= goal };
                let _ = writeln!(
                    md,
                    "| {what} | {} | {} | {} {goal} | {} |",
                    r.framework,
                    ratio(value),
                    if higher { "≥" } else { "≤" },
                    if met { "yes" } else { "**no**" }
                );
            };
            if mode == "stateless-json" {
                check(format!("{} ÷ bare, c=64", r.target), r.vs_bare, 0.85, true);
                check(
                    format!("{} p99 c=1 ÷ bare", r.target),
                    r.p99_c1_vs_bare,
                    1.3,
                    false,
                );
                if r.framework == "axum" {
                    check(format!("{} ÷ rmcp, c=64", r.target), r.vs_rmcp, 3.5, true);
                }
            } else {
                check(
                    format!("{} ÷ stateless, c=64", r.target),
                    r.vs_stateless,
                    0.8,
                    true,
                );
            }
        }
    }
    if !memory.is_empty() {
        let _ = writeln!(md, "\n## Memory\n");
        let _ = writeln!(
            md,
            "| target | RSS before (KiB) | RSS after {SESSIONS} sessions (KiB) | bytes per idle session | sessions/s | RSS with {STREAMS} open GET streams (KiB) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|");
        for m in memory {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {:.0} | {} |",
                m.target,
                m.baseline_kb,
                m.after_sessions_kb,
                m.bytes_per_session,
                m.sessions_per_second,
                m.streams_total_kb.map_or("–".into(), |k| k.to_string())
            );
        }
        let _ = writeln!(
            md,
            "\nGoals: ≤ 4096 bytes per idle session; {STREAMS} open SSE streams under 65536 KiB total."
        );
    }
    if let Some(redis) = redis {
        redis_markdown(&mut md, redis);
    }
    md
}

fn redis_markdown(md: &mut String, redis: &RedisReport) {
    let _ = writeln!(md, "\n## Redis-backed sessions (`mcp-mount-redis`)\n");
    let _ = writeln!(
        md,
        "{}. Each `-redis` target is its in-memory counterpart as one replica of a cluster (`McpServer::builder(..).cluster(RedisCluster::connect_with(url, prefix))`), its keys under a prefix of its own.\n",
        redis.setup
    );
    if !redis.rows.is_empty() {
        let _ = writeln!(
            md,
            "| target | req/s c=1 | req/s c=64 | ÷ in-memory req/s c=1 | ÷ in-memory c=64 | server µs/call c=1 (in-memory) | c=64 (in-memory) | ÷ in-memory µs/call c=1 | ÷ in-memory c=64 | redis-server µs/call c=1 | c=64 | server core busy c=64 (in-memory) | Redis reads per call c=64 | errors |"
        );
        let _ = writeln!(
            md,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &redis.rows {
            let [c1, c64] = &r.runs;
            let [b1, b64] = &r.base_runs;
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} | {} | {} | {:.1} ({:.1}) | {:.1} ({:.1}) | {} | {} | {:.1} | {:.1} | {:.0} % ({:.0} %) | {:.2} | {} |",
                r.target,
                c1.rps,
                c64.rps,
                ratio(r.rps[0]),
                ratio(r.rps[1]),
                c1.cpu_us_per_request,
                b1.cpu_us_per_request,
                c64.cpu_us_per_request,
                b64.cpu_us_per_request,
                ratio(r.cpu[0]),
                ratio(r.cpu[1]),
                c1.redis_cpu_us_per_request,
                c64.redis_cpu_us_per_request,
                c64.server_busy * 100.0,
                b64.server_busy * 100.0,
                c64.redis_reads_per_request,
                c1.errors + c64.errors,
            );
        }
        let _ = writeln!(
            md,
            "\nThe in-memory counterpart of each is the same target without `-redis` ({}); ratios are medians of per-round ratios.",
            redis
                .rows
                .iter()
                .map(|r| format!("`{}`", r.base))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !redis.trips.is_empty() {
        let _ = writeln!(md, "\n### Redis round trips per ordinary `tools/call`\n");
        let _ = writeln!(
            md,
            "| target | protocol | calls | round trips per call | commands per call (`commandstats`, scripts' included) | one call under `MONITOR` (each entry one command sent; a pipeline's are listed in turn) | Redis bytes kept per call |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        for t in &redis.trips {
            let commands = t
                .commands
                .iter()
                .map(|(name, n)| format!("{name} {n:.2}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.2} | {} | {} | {:.0} |",
                t.target,
                t.version,
                t.calls,
                t.round_trips,
                commands,
                t.monitor.join(" → "),
                t.bytes_kept_per_call
            );
        }
        let _ = writeln!(
            md,
            "\nMethod: one session, {COUNTED_CALLS} calls one after another on one connection (so no two calls' commands share a write); round trips = the growth of `redis-server`'s `total_reads_processed` (one read event per request or pipeline it receives), less the final `INFO`'s own read and every `PING` (the bus subscribers' health checks, counted in `commandstats`), ÷ calls. Goal: one."
        );
    }
    if !redis.memory.is_empty() {
        let _ = writeln!(md, "\n### Redis memory per idle session\n");
        let _ = writeln!(
            md,
            "| target | sessions | used_memory before (bytes) | after | bytes per idle session | keys per session | one state hash (`MEMORY USAGE`) | its JSON | replica RSS bytes per session | sessions/s |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for m in &redis.memory {
            let _ = writeln!(
                md,
                "| {} | {SESSIONS} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
                m.target,
                m.used_before,
                m.used_after,
                m.bytes_per_session,
                m.keys_per_session,
                m.state_hash_bytes,
                m.state_json_bytes,
                m.replica_bytes_per_session,
                m.sessions_per_second
            );
        }
        let _ = writeln!(
            md,
            "\n{SESSIONS} `initialize` + `notifications/initialized` over 8 keep-alive connections on a fresh replica, no `DELETE`: the growth of Redis's `used_memory` ÷ {SESSIONS} (the state hash, its key's expiry and the session's entry in the cap's sorted set, with their share of Redis's tables). Goal: ≤ 1024 bytes."
        );
    }
}

fn svg(rows: &[Row]) -> String {
    let (width, bar_height, left) = (900.0, 22.0, 260.0);
    let height = 60.0 + rows.len() as f64 * bar_height;
    let max = rows.iter().map(|r| r.c64.rps).fold(1.0, f64::max);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12"><text x="10" y="20" font-size="15">tools/call req/s at 64 connections (one server core)</text>"#
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 40.0 + i as f64 * bar_height;
        let w = (width - left - 90.0) * r.c64.rps / max;
        let color = match r.kind.as_str() {
            "bare" => "#999999",
            "rmcp" => "#d9534f",
            _ => "#337ab7",
        };
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><rect x="{left}" y="{:.0}" width="{w:.1}" height="{:.0}" fill="{color}"/><text x="{:.1}" y="{:.0}">{:.0}</text>"#,
            left - 6.0,
            y + 15.0,
            r.target,
            y + 3.0,
            bar_height - 6.0,
            left + w + 4.0,
            y + 15.0,
            r.c64.rps
        );
    }
    out.push_str("</svg>\n");
    out
}

// ---------- Redis ----------

/// A `-redis` target against its in-memory counterpart; `[c=1, c=64]`.
struct RedisRow {
    target: String,
    base: String,
    /// Medians of the per-round ratios (redis ÷ in-memory) of req/s and server CPU per call.
    rps: [f64; 2],
    cpu: [f64; 2],
    runs: [Run; 2],
    base_runs: [Run; 2],
}

struct RedisReport {
    /// Where Redis ran, for the report.
    setup: String,
    rows: Vec<RedisRow>,
    trips: Vec<RoundTrips>,
    memory: Vec<RedisMemory>,
}

/// Round trips and commands of an ordinary call (2025-06-18 as under load, and 2025-11-25,
/// whose SSE streams are resumable and so logged), then Redis memory per idle session.
async fn redis_phase(
    binary: &Path,
    redis: &Redis,
    rows: Vec<RedisRow>,
) -> Result<RedisReport, BoxError> {
    let info = redis.info()?;
    let version = info.get("redis_version").unwrap_or("?").to_owned();
    let setup = if redis.own() {
        format!(
            "redis-server {version} started by mcp-bench on {} (`--save \"\" --appendonly no`){}",
            redis.url,
            redis.core.map_or(String::new(), |c| format!(
                ", pinned to core {c}{}",
                if c == 1 { " with wrk" } else { "" }
            ))
        )
    } else {
        format!("Redis {version} at MCP_MOUNT_REDIS_URL (not pinned by mcp-bench)")
    };
    let mut trips = Vec::new();
    for target in REDIS_TARGETS {
        for version in ["2025-06-18", "2025-11-25"] {
            let t = with_redis::measure_round_trips(binary, target, version, redis, COUNTED_CALLS)
                .await?;
            eprintln!(
                "{target} ({version}): {:.2} Redis round trips per call: {}",
                t.round_trips,
                t.monitor.join("; ")
            );
            trips.push(t);
        }
    }
    let mut memory = Vec::new();
    for target in REDIS_TARGETS {
        let m = with_redis::measure_memory(binary, target, redis).await?;
        eprintln!(
            "{target}: {:.0} bytes of Redis memory per idle session",
            m.bytes_per_session
        );
        memory.push(m);
    }
    Ok(RedisReport {
        setup,
        rows,
        trips,
        memory,
    })
}

// ---------- main ----------

async fn run(options: Options) -> Result<(), BoxError> {
    ensure_wrk()?;
    let binary = build_servers()?;
    std::fs::create_dir_all(&options.out)?;
    let script = options.out.join("call.lua");
    std::fs::write(&script, LUA)?;
    let ticks = clock_ticks();
    let started = Command::new("date")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    // The Redis-backed targets exist for axum (one framework is enough: the store is the same
    // under all four).
    let redis = if options.redis && options.frameworks.iter().any(|f| f == "axum") {
        Redis::start(options.redis_core)?
    } else {
        None
    };
    let mut targets = Vec::new();
    for framework in &options.frameworks {
        targets.push(format!("bare-{framework}"));
        for mode in MODES {
            targets.push(format!("mcp-{framework}-{mode}"));
        }
        if framework == "axum" && redis.is_some() {
            targets.extend(REDIS_TARGETS.map(str::to_owned));
        }
    }
    targets.push("rmcp-stateless-json".to_owned());
    targets.push("rmcp-stateful".to_owned());

    let mut rows = Vec::new();
    let mut redis_rows = Vec::new();
    if options.load {
        let mut servers = Vec::new();
        for target in &targets {
            let server = Server::start(&binary, target, redis.as_ref())?;
            let session = verify(&server).await?;
            eprintln!("verified {target}: 50 correct answers");
            servers.push((server, session));
        }
        for (server, session) in &servers {
            wrk(
                server,
                session.as_deref(),
                64,
                1,
                &script,
                ticks,
                redis.as_ref(),
            )?;
        }
        // runs[target][concurrency] = one Run per round
        let mut runs: BTreeMap<String, BTreeMap<usize, Vec<Run>>> = BTreeMap::new();
        for round in 0..options.rounds {
            for connections in [1, 64] {
                for k in 0..servers.len() {
                    let (server, session) = &servers[(k + round * 5) % servers.len()];
                    let run = wrk(
                        server,
                        session.as_deref(),
                        connections,
                        options.duration,
                        &script,
                        ticks,
                        redis.as_ref(),
                    )?;
                    eprintln!(
                        "round {} c={connections:<2} {:<28} {:>9.0} req/s  p99 {:.3} ms",
                        round + 1,
                        server.target,
                        run.rps,
                        run.p99_ms
                    );
                    runs.entry(server.target.clone())
                        .or_default()
                        .entry(connections)
                        .or_default()
                        .push(run);
                }
            }
        }
        let med = |target: &str, c: usize| -> Run {
            let list = runs
                .get(target)
                .and_then(|m| m.get(&c))
                .cloned()
                .unwrap_or_default();
            Run {
                rps: median(list.iter().map(|r| r.rps).collect()),
                p50_ms: median(list.iter().map(|r| r.p50_ms).collect()),
                p99_ms: median(list.iter().map(|r| r.p99_ms).collect()),
                requests: list.iter().map(|r| r.requests).sum(),
                errors: list.iter().map(|r| r.errors).sum(),
                cpu_us_per_request: median(list.iter().map(|r| r.cpu_us_per_request).collect()),
                server_busy: median(list.iter().map(|r| r.server_busy).collect()),
                redis_cpu_us_per_request: median(
                    list.iter().map(|r| r.redis_cpu_us_per_request).collect(),
                ),
                redis_reads_per_request: median(
                    list.iter().map(|r| r.redis_reads_per_request).collect(),
                ),
            }
        };
        let per_round = |a: &str, b: &str, c: usize, f: &dyn Fn(&Run) -> f64| -> f64 {
            let (Some(xs), Some(ys)) = (
                runs.get(a).and_then(|m| m.get(&c)),
                runs.get(b).and_then(|m| m.get(&c)),
            ) else {
                return f64::NAN;
            };
            median(xs.iter().zip(ys).map(|(x, y)| f(x) / f(y)).collect())
        };
        for target in &targets {
            let (kind, framework) = if let Some(f) = target.strip_prefix("bare-") {
                ("bare", f.to_owned())
            } else if target.starts_with("rmcp-") {
                ("rmcp", "axum".to_owned())
            } else if target.ends_with("-redis") {
                ("redis", "axum".to_owned())
            } else {
                let f = options
                    .frameworks
                    .iter()
                    .find(|f| target.starts_with(&format!("mcp-{f}-")))
                    .cloned()
                    .unwrap_or_default();
                ("mcp", f)
            };
            let bare = format!("bare-{framework}");
            let rmcp_peer = if target.contains("stateless") {
                "rmcp-stateless-json"
            } else {
                "rmcp-stateful"
            };
            let stateless = format!("mcp-{framework}-stateless-json");
            let rps = |r: &Run| r.rps;
            rows.push(Row {
                target: target.clone(),
                framework: framework.clone(),
                kind: kind.to_owned(),
                c1: med(target, 1),
                c64: med(target, 64),
                vs_bare: if kind == "bare" {
                    f64::NAN
                } else {
                    per_round(target, &bare, 64, &rps)
                },
                vs_rmcp: if kind == "mcp" {
                    per_round(target, rmcp_peer, 64, &rps)
                } else {
                    f64::NAN
                },
                vs_stateless: if kind == "mcp" && !target.contains("stateless") {
                    per_round(target, &stateless, 64, &rps)
                } else {
                    f64::NAN
                },
                p99_c1_vs_bare: if kind == "bare" {
                    f64::NAN
                } else {
                    per_round(target, &bare, 1, &|r: &Run| r.p99_ms)
                },
            });
            if let Some(base) = target.strip_suffix("-redis") {
                let cpu = |r: &Run| r.cpu_us_per_request;
                redis_rows.push(RedisRow {
                    target: target.clone(),
                    base: base.to_owned(),
                    rps: [1, 64].map(|c| per_round(target, base, c, &rps)),
                    cpu: [1, 64].map(|c| per_round(target, base, c, &cpu)),
                    runs: [1, 64].map(|c| med(target, c)),
                    base_runs: [1, 64].map(|c| med(base, c)),
                });
            }
        }
        drop(servers);
    }

    let mut memory = Vec::new();
    if options.memory {
        let mut memory_targets: Vec<String> = options
            .frameworks
            .iter()
            .map(|f| format!("mcp-{f}-stateful-json"))
            .collect();
        memory_targets.push("rmcp-stateful".into());
        for target in &memory_targets {
            let mut m = measure_sessions(&binary, target).await?;
            m.streams_total_kb = match measure_streams(&binary, target).await {
                Ok(kb) => Some(kb),
                Err(e) => {
                    eprintln!("{target}: {STREAMS} GET streams could not be held open: {e}");
                    None
                }
            };
            eprintln!(
                "{target}: {:.0} bytes per idle session, {:?} KiB with {STREAMS} streams",
                m.bytes_per_session, m.streams_total_kb
            );
            memory.push(m);
        }
    }

    let redis_report = match &redis {
        Some(redis) => Some(redis_phase(&binary, redis, redis_rows).await?),
        None => None,
    };

    let md = markdown(&rows, &memory, redis_report.as_ref(), &options, &started);
    std::fs::write(options.out.join("report.md"), &md)?;
    if !rows.is_empty() {
        std::fs::write(options.out.join("chart.svg"), svg(&rows))?;
    }
    println!("{md}");
    println!(
        "written: {}/report.md{}",
        options.out.display(),
        if rows.is_empty() {
            ""
        } else {
            " and chart.svg"
        }
    );
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = ensure_descriptors() {
        eprintln!("mcp-bench: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mcp-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(minutes) = options.soak {
        return match runtime.block_on(soak::run(minutes, &options.frameworks)) {
            Ok(report) => {
                println!("\n{report}");
                let _ = std::fs::create_dir_all(&options.out);
                let _ = std::fs::write(options.out.join("soak.md"), &report);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mcp-bench --soak: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
