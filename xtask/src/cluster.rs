//! The cluster run: the conformance fixture served by two `fixture-server` replicas that share
//! sessions through one Redis, behind a real nginx that balances round robin with no stickiness
//! and no buffering. Any request may land on either replica; the suites and clients must get
//! the same results as from one process.
//!
//! Everything lives in `target/interop/cluster-A+B/`: the replicas' and Redis's logs, and
//! `nginx/` with the generated `nginx.conf`, its pid file, temp folders, `error.log` and an
//! `access.log` that names the replica (`$upstream_addr`) of every request.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{self, Guard};
use crate::report::{Item, Row};

/// Set to `1` by `.ci/run`: missing nginx or redis-server then fails the run instead of
/// skipping the cluster runs.
pub(crate) const REQUIRE_ENV: &str = "MCP_MOUNT_REQUIRE_REDIS";

/// Time allowed for Redis or nginx to accept connections, and for nginx to stop.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Servers started on a port picked free a moment earlier may lose it to another process.
const PORT_ATTEMPTS: usize = 3;
/// How often a starting server is probed.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// Where nginx and redis-server are.
#[derive(Debug)]
pub(crate) struct Programs {
    nginx: PathBuf,
    redis: PathBuf,
}

/// `name` on PATH or in an sbin folder (nginx is in /usr/sbin, often not on a user's PATH).
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// nginx and redis-server, or why the cluster cannot run: "nginx not installed (apt-get
/// install nginx)".
///
/// # Errors
///
/// When either is missing.
pub(crate) fn programs() -> Result<Programs, String> {
    programs_from(find("nginx"), find("redis-server"))
}

fn programs_from(nginx: Option<PathBuf>, redis: Option<PathBuf>) -> Result<Programs, String> {
    match (nginx, redis) {
        (Some(nginx), Some(redis)) => Ok(Programs { nginx, redis }),
        (nginx, redis) => {
            let missing: Vec<&str> = [
                ("nginx", nginx.is_none()),
                ("redis-server", redis.is_none()),
            ]
            .into_iter()
            .filter(|(_, missing)| *missing)
            .map(|(name, _)| name)
            .collect();
            Err(format!(
                "{} not installed (apt-get install {})",
                missing.join(" and "),
                missing.join(" ")
            ))
        }
    }
}

/// Whether `MCP_MOUNT_REQUIRE_REDIS=1` asks for the cluster runs to really run.
pub(crate) fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|value| value == "1")
}

/// 32 random bytes as hex, for `--request-state-key` (the same on both replicas).
fn random_key() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("reading /dev/urandom for --request-state-key: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Waits until `ready()` while the process runs, for up to [`START_TIMEOUT`].
fn wait_ready(guard: &mut Guard, ready: impl Fn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match guard.try_wait() {
            Ok(Some(status)) => return Err(format!("exited ({status})")),
            Ok(None) => {}
            Err(e) => return Err(format!("unknown state: {e}")),
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready within {} s", START_TIMEOUT.as_secs()));
        }
        thread::sleep(PROBE_EVERY);
    }
}

/// Whether Redis at `port` answers `PING`.
fn redis_pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&local(port), Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

/// `s` as a double-quoted nginx string.
fn quoted(s: &Path) -> String {
    let s = s.to_string_lossy();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether this process runs as root (nginx's workers then run as `nobody` unless told).
#[cfg(unix)]
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// The nginx configuration: one worker in the foreground, every file it writes inside `dir`,
/// and plain round robin over `upstreams` (no `ip_hash`, `hash` or `sticky`).
fn nginx_conf(dir: &Path, port: u16, upstreams: &[SocketAddr], root: bool) -> String {
    let file = |name: &str| quoted(&dir.join(name));
    let servers: String = upstreams
        .iter()
        .map(|addr| format!("        server {addr};\n"))
        .collect();
    // As root, nginx would run its worker as `nobody`, which may not reach a checkout under a
    // private home folder; as any other user the directive is ignored (with a warning), so it
    // is only written for root.
    let user = if root { "user root;\n" } else { "" };
    format!(
        "# Written by `cargo xtask interop` for one cluster run; started as nginx -p DIR -c DIR/nginx.conf.
{user}worker_processes 1;
daemon off;
pid {pid};
error_log {error_log} info;
events {{
    worker_connections 1024;
}}
http {{
    client_body_temp_path {client_body};
    proxy_temp_path {proxy};
    fastcgi_temp_path {fastcgi};
    uwsgi_temp_path {uwsgi};
    scgi_temp_path {scgi};
    # The replica that answered, last: $upstream_addr is \"A, B\" when nginx tried A first.
    log_format replicas '$msec $status $request_time $request_method \"$request_uri\" session=$http_mcp_session_id new_session=$sent_http_mcp_session_id upstream=$upstream_addr';
    access_log {access_log} replicas;
    upstream mcp {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
",
        pid = file("nginx.pid"),
        error_log = file("error.log"),
        client_body = file("client_body_temp"),
        proxy = file("proxy_temp"),
        fastcgi = file("fastcgi_temp"),
        uwsgi = file("uwsgi_temp"),
        scgi = file("scgi_temp"),
        access_log = file("access.log"),
    )
}

/// nginx in front of the replicas; stopped (its worker too) when dropped.
#[derive(Debug)]
struct Nginx {
    guard: Guard,
    program: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn conf(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }

    fn access_log(&self) -> PathBuf {
        self.dir.join("access.log")
    }

    /// Fast shutdown (`nginx -s stop`: SIGTERM to the master, which stops its worker and
    /// writes the access log lines of requests still open). Killing the master alone would
    /// leave its worker running, so that is only the last resort.
    fn stop(&mut self) {
        if let Ok(None) = self.guard.try_wait() {
            let _ = process::run_logged(
                Command::new(&self.program)
                    .arg("-p")
                    .arg(&self.dir)
                    .arg("-c")
                    .arg(self.conf())
                    .args(["-s", "stop"]),
                &self.dir.join("stop.log"),
                START_TIMEOUT,
            );
            let _ = self.guard.wait_timeout(START_TIMEOUT);
        }
        self.guard.kill();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts nginx on a free port with `dir` as its prefix, balancing over `upstreams`.
fn start_nginx(program: &Path, dir: &Path, upstreams: &[SocketAddr]) -> Result<Nginx, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let log = dir.join("nginx.log");
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir, port, upstreams, is_root()))
            .map_err(|e| format!("writing {}: {e}", conf.display()))?;
        let _ = std::fs::remove_file(dir.join("access.log"));
        let mut guard = process::start_logged(
            Command::new(program)
                .arg("-p")
                .arg(dir)
                .arg("-c")
                .arg(&conf),
            &log,
        )?;
        match wait_ready(&mut guard, || {
            TcpStream::connect_timeout(&local(port), Duration::from_secs(1)).is_ok()
        }) {
            Ok(()) => {
                return Ok(Nginx {
                    guard,
                    program: program.to_owned(),
                    dir: dir.to_owned(),
                    port,
                });
            }
            Err(e) => {
                guard.kill();
                last = format!(
                    "nginx on 127.0.0.1:{port} {e}:\n{}\n{}",
                    process::tail(&log, 10),
                    process::tail(&dir.join("error.log"), 10)
                );
            }
        }
    }
    Err(last)
}

/// Starts Redis on a free port, without persistence.
fn start_redis(program: &Path, log: &Path) -> Result<(Guard, String), String> {
    let mut last = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let mut guard = process::start_logged(
            Command::new(program).args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]),
            log,
        )?;
        match wait_ready(&mut guard, || redis_pong(port)) {
            Ok(()) => return Ok((guard, format!("redis://127.0.0.1:{port}"))),
            Err(e) => {
                guard.kill();
                last = format!(
                    "redis-server on 127.0.0.1:{port} {e}:\n{}",
                    process::tail(log, 10)
                );
            }
        }
    }
    Err(last)
}

/// One `fixture-server --redis …` behind nginx.
#[derive(Debug)]
struct Replica {
    /// Its framework, numbered (`axum #1`) when both replicas are of one framework.
    name: String,
    addr: SocketAddr,
    guard: Guard,
    log: PathBuf,
}

/// Redis, two replicas and nginx, all running. Dropping it stops them: nginx first.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// `axum+actix-web`.
    pub(crate) name: String,
    nginx: Nginx,
    replicas: Vec<Replica>,
    redis: Guard,
    redis_log: PathBuf,
    /// The fixture's URL through nginx.
    pub(crate) url: String,
}

/// `http://127.0.0.1:PORT/prefix` → `127.0.0.1:PORT`.
fn addr_of(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    authority.parse().ok()
}

impl Cluster {
    /// Starts Redis, one `server` replica per framework of `pair` (sharing Redis and one random
    /// `--request-state-key`), and nginx in front of them, with everything under `out`.
    ///
    /// # Errors
    ///
    /// When any of them does not start; what was started is stopped again.
    pub(crate) fn start(
        programs: &Programs,
        server: &Path,
        pair: &[String; 2],
        prefix: &str,
        out: &Path,
    ) -> Result<Self, String> {
        let name = pair.join("+");
        std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
        let key = random_key()?;
        let redis_log = out.join("redis.log");
        let (redis, redis_url) = start_redis(&programs.redis, &redis_log)?;
        let mut replicas = Vec::new();
        for (i, framework) in pair.iter().enumerate() {
            // Both replicas may be of one framework (`--pairs axum+axum`): number the logs.
            let log = out.join(format!("{}-{framework}.log", i + 1));
            let announced = process::start_announced(
                Command::new(server).args([
                    "--framework",
                    framework,
                    "--addr",
                    "127.0.0.1:0",
                    "--prefix",
                    prefix,
                    "--redis",
                    &redis_url,
                    "--request-state-key",
                    &key,
                ]),
                &log,
                "listening on ",
                Duration::from_secs(30),
            )
            .map_err(|e| format!("replica {framework}: {e}"))?;
            let addr = addr_of(&announced.value).ok_or_else(|| {
                format!(
                    "replica {framework}: no address in its line {:?}",
                    announced.value
                )
            })?;
            let name = if pair[0] == pair[1] {
                format!("{framework} #{}", i + 1)
            } else {
                framework.clone()
            };
            replicas.push(Replica {
                name,
                addr,
                guard: announced.guard,
                log,
            });
        }
        let upstreams: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
        let nginx = start_nginx(&programs.nginx, &out.join("nginx"), &upstreams)?;
        let url = format!("http://127.0.0.1:{}{prefix}", nginx.port);
        Ok(Self {
            name,
            nginx,
            replicas,
            redis,
            redis_log,
            url,
        })
    }

    /// "redis-server (pid 1) at redis://…, axum at 127.0.0.1:A, …, nginx at 127.0.0.1:P".
    pub(crate) fn describe(&self) -> String {
        let replicas: Vec<String> = self
            .replicas
            .iter()
            .map(|r| format!("{} at {} (pid {})", r.name, r.addr, r.guard.id()))
            .collect();
        format!(
            "redis-server pid {}, {}, nginx at 127.0.0.1:{} (pid {})",
            self.redis.id(),
            replicas.join(", "),
            self.nginx.port,
            self.nginx.guard.id()
        )
    }

    /// The requests nginx has logged so far.
    pub(crate) fn requests(&self) -> Vec<Request> {
        std::fs::read_to_string(self.nginx.access_log())
            .unwrap_or_default()
            .lines()
            .filter_map(Request::parse)
            .collect()
    }

    /// How `requests` went over the replicas.
    pub(crate) fn spread(&self, requests: &[Request]) -> Spread {
        Spread::of(
            requests,
            &self
                .replicas
                .iter()
                .map(|r| (r.name.clone(), r.addr.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    /// Why the cluster cannot go on, when one of its processes has exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        let mut gone = Vec::new();
        let mut check = |what: String, guard: &mut Guard, log: &Path| match guard.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => gone.push(format!(
                "{what} exited ({status}):\n{}",
                process::tail(log, 15)
            )),
            Err(e) => gone.push(format!("{what}: unknown state: {e}")),
        };
        check(
            "redis-server".into(),
            &mut self.redis,
            &self.redis_log.clone(),
        );
        for replica in &mut self.replicas {
            check(
                format!("replica {} ({})", replica.name, replica.addr),
                &mut replica.guard,
                &replica.log,
            );
        }
        let nginx_log = self.nginx.dir.join("error.log");
        check("nginx".into(), &mut self.nginx.guard, &nginx_log);
        (!gone.is_empty()).then(|| gone.join("\n"))
    }

    /// Stops nginx (so the access log is complete), then the replicas and Redis; returns how
    /// all the requests nginx logged went over the replicas.
    pub(crate) fn stop(mut self) -> Spread {
        self.nginx.stop();
        let spread = self.spread(&self.requests());
        for replica in &mut self.replicas {
            replica.guard.kill();
        }
        self.redis.kill();
        spread
    }
}

/// One line of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The replica that answered (the last one nginx tried), or `-` when none did.
    upstream: String,
    /// The MCP session it belonged to: its `Mcp-Session-Id`, the one it created, or the legacy
    /// transport's `?sessionId=`.
    session: Option<String>,
}

impl Request {
    /// Parses `MSEC STATUS SECONDS METHOD "URI" session=S new_session=N upstream=A[, B]`.
    fn parse(line: &str) -> Option<Self> {
        let (head, upstream) = line.split_once(" upstream=")?;
        // "A, B" when nginx retried, "A : B" after an internal redirect: the last one answered.
        let upstream = upstream
            .rsplit(", ")
            .next()?
            .rsplit(" : ")
            .next()?
            .trim()
            .to_owned();
        let field = |name: &str| {
            head.split(' ')
                .find_map(|part| part.strip_prefix(name))
                .filter(|value| !value.is_empty() && *value != "-")
                .map(str::to_owned)
        };
        let legacy = || {
            let (_, query) = head.split_once("sessionId=")?;
            let id: String = query
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!id.is_empty()).then_some(id)
        };
        let session = field("session=")
            .or_else(|| field("new_session="))
            .or_else(legacy);
        Some(Self { upstream, session })
    }
}

/// How requests went over the replicas.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Spread {
    /// `(framework, address, requests)` per replica, in upstream order.
    pub(crate) replicas: Vec<(String, String, usize)>,
    /// Requests no replica answered.
    pub(crate) elsewhere: usize,
    /// Sessions with requests on more than one replica, of all sessions seen.
    pub(crate) sessions_on_both: usize,
    pub(crate) sessions: usize,
}

/// 1234567 → "1,234,567".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Spread {
    fn of(requests: &[Request], replicas: &[(String, String)]) -> Self {
        let mut counts: Vec<(String, String, usize)> = replicas
            .iter()
            .map(|(framework, addr)| (framework.clone(), addr.clone(), 0))
            .collect();
        let mut elsewhere = 0;
        let mut sessions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for request in requests {
            match counts
                .iter_mut()
                .find(|(_, addr, _)| *addr == request.upstream)
            {
                Some((_, _, n)) => *n += 1,
                None => elsewhere += 1,
            }
            if let Some(session) = &request.session {
                sessions
                    .entry(session)
                    .or_default()
                    .insert(&request.upstream);
            }
        }
        Self {
            replicas: counts,
            elsewhere,
            sessions_on_both: sessions.values().filter(|s| s.len() > 1).count(),
            sessions: sessions.len(),
        }
    }

    /// Replicas that got no request.
    pub(crate) fn idle(&self) -> Vec<String> {
        self.replicas
            .iter()
            .filter(|(_, _, n)| *n == 0)
            .map(|(framework, addr, _)| format!("{framework} ({addr})"))
            .collect()
    }

    /// "nginx: 218 to axum, 218 to actix-web", for one row's notes.
    pub(crate) fn short(&self) -> String {
        let parts: Vec<String> = self
            .replicas
            .iter()
            .map(|(framework, _, n)| format!("{} to {framework}", thousands(*n)))
            .collect();
        let mut text = format!("nginx: {}", parts.join(", "));
        if self.elsewhere > 0 {
            text.push_str(&format!(", {} to no replica", self.elsewhere));
        }
        text
    }

    /// "cluster axum+actix-web: 1,234 requests to axum (127.0.0.1:A), 1,229 to actix-web
    /// (127.0.0.1:B); 57 of 60 sessions were served by both replicas".
    pub(crate) fn line(&self, cluster: &str) -> String {
        let parts: Vec<String> = self
            .replicas
            .iter()
            .enumerate()
            .map(|(i, (framework, addr, n))| {
                let requests = if i == 0 { " requests" } else { "" };
                format!("{}{requests} to {framework} ({addr})", thousands(*n))
            })
            .collect();
        let mut line = format!("cluster {cluster}: {}", parts.join(", "));
        if self.elsewhere > 0 {
            line.push_str(&format!(
                ", {} answered by nginx itself (no replica)",
                thousands(self.elsewhere)
            ));
        }
        line.push_str(&format!(
            "; {} of {} sessions were served by both replicas",
            thousands(self.sessions_on_both),
            thousands(self.sessions)
        ));
        line
    }
}

/// Every item's statuses by key (a key may occur more than once), sorted.
fn statuses(items: &[Item]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for item in items {
        map.entry(item.key.as_str())
            .or_default()
            .push(item.status.as_str());
    }
    for statuses in map.values_mut() {
        statuses.sort_unstable();
    }
    map
}

fn failures(statuses: &[&str]) -> usize {
    statuses
        .iter()
        .filter(|s| **s == "FAILURE" || **s == "FAIL")
        .count()
}

fn describe(statuses: &[&str]) -> String {
    if statuses.is_empty() {
        "absent".to_owned()
    } else {
        statuses.join(" + ")
    }
}

/// Compares a cluster row with the same run on one process of each of its frameworks
/// (`alone`), item by item: check by check for a suite, step by step for a client.
///
/// A counted item that fails here more often than on every single process fails the row
/// ("fails only through the cluster"). Every other difference (a check that passed alone and
/// is only a warning here, a check that failed alone and passes here, an informational
/// extension scenario) is listed below the table without changing the verdict.
pub(crate) fn compare(row: &mut Row, alone: &[&Row]) {
    let (alone, empty): (Vec<&Row>, Vec<&Row>) =
        alone.iter().copied().partition(|r| !r.items.is_empty());
    for r in &empty {
        row.info.push(format!(
            "not compared with {} alone: that run has no results",
            r.framework
        ));
    }
    if alone.is_empty() {
        row.notes = join(&row.notes, "not compared: no single-process run of it here");
        return;
    }
    let names: Vec<&str> = alone.iter().map(|r| r.framework.as_str()).collect();
    let names = names.join(" and ");
    let (only_here, other) = {
        let here = statuses(&row.items);
        let there: Vec<(&str, BTreeMap<&str, Vec<&str>>)> = alone
            .iter()
            .map(|r| (r.framework.as_str(), statuses(&r.items)))
            .collect();
        let keys: BTreeSet<&str> = here
            .keys()
            .chain(there.iter().flat_map(|(_, map)| map.keys()))
            .copied()
            .collect();
        let mut only_here = Vec::new();
        let mut other = Vec::new();
        for key in keys {
            let mine = here.get(key).cloned().unwrap_or_default();
            let theirs: Vec<(&str, Vec<&str>)> = there
                .iter()
                .map(|(framework, map)| (*framework, map.get(key).cloned().unwrap_or_default()))
                .collect();
            if theirs.iter().all(|(_, statuses)| *statuses == mine) {
                continue;
            }
            // "SUCCESS on axum and actix-web alone", or one part per distinct outcome.
            let mut by_outcome: Vec<(String, Vec<&str>)> = Vec::new();
            for (framework, statuses) in &theirs {
                let outcome = describe(statuses);
                match by_outcome.iter_mut().find(|(o, _)| *o == outcome) {
                    Some((_, frameworks)) => frameworks.push(framework),
                    None => by_outcome.push((outcome, vec![framework])),
                }
            }
            let alone_text: Vec<String> = by_outcome
                .iter()
                .map(|(outcome, frameworks)| {
                    format!("{outcome} on {} alone", frameworks.join(" and "))
                })
                .collect();
            let ours = row.items.iter().filter(|i| i.key == key);
            let detail = ours
                .clone()
                .chain(
                    alone
                        .iter()
                        .flat_map(|r| r.items.iter().filter(|i| i.key == key)),
                )
                .find(|i| !matches!(i.status.as_str(), "SUCCESS" | "PASS"))
                .map(|i| format!(" ({})", i.detail))
                .filter(|d| d != " ()")
                .unwrap_or_default();
            let line = format!(
                "{key}: {} through the cluster, {}{detail}",
                describe(&mine),
                alone_text.join(", ")
            );
            let counted = ours.clone().all(|i| i.counted);
            let most_alone = theirs
                .iter()
                .map(|(_, statuses)| failures(statuses))
                .max()
                .unwrap_or(0);
            if counted && failures(&mine) > most_alone {
                only_here.push(line);
            } else {
                other.push(line);
            }
        }
        (only_here, other)
    };
    if only_here.is_empty() && other.is_empty() {
        row.notes = join(&row.notes, &format!("same as {names} alone, item by item"));
        return;
    }
    row.notes = join(
        &row.notes,
        &format!(
            "{} item(s) differ from {names} alone, {} failing only here",
            only_here.len() + other.len(),
            only_here.len()
        ),
    );
    if !only_here.is_empty() {
        row.ok = false;
    }
    row.failures.extend(
        only_here
            .into_iter()
            .map(|line| format!("fails only through the cluster: {line}")),
    );
    row.info.extend(
        other
            .into_iter()
            .map(|line| format!("differs from one process: {line}")),
    );
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a}; {b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, status: &str, counted: bool) -> Item {
        Item {
            key: key.into(),
            status: status.into(),
            detail: format!("{status} of {key}"),
            counted,
        }
    }

    fn row(framework: &str, items: Vec<Item>) -> Row {
        Row {
            framework: framework.into(),
            run: "conformance".into(),
            result: String::new(),
            ok: true,
            notes: String::new(),
            time: Duration::ZERO,
            failures: Vec::new(),
            info: Vec::new(),
            items,
        }
    }

    #[test]
    fn says_what_is_missing_and_how_to_install_it() {
        let found = Some(PathBuf::from("/usr/sbin/nginx"));
        assert_eq!(
            programs_from(None, Some("/usr/bin/redis-server".into())).unwrap_err(),
            "nginx not installed (apt-get install nginx)"
        );
        assert_eq!(
            programs_from(found.clone(), None).unwrap_err(),
            "redis-server not installed (apt-get install redis-server)"
        );
        assert_eq!(
            programs_from(None, None).unwrap_err(),
            "nginx and redis-server not installed (apt-get install nginx redis-server)"
        );
        assert!(programs_from(found, Some("/usr/bin/redis-server".into())).is_ok());
    }

    #[test]
    fn the_config_balances_round_robin_without_buffering_and_keeps_files_inside() {
        let dir = Path::new("/tmp/x y/nginx");
        let upstreams = [local(4001), local(4002)];
        let conf = nginx_conf(dir, 8080, &upstreams, false);
        for line in [
            "server 127.0.0.1:4001;",
            "server 127.0.0.1:4002;",
            "listen 127.0.0.1:8080;",
            "proxy_buffering off;",
            "proxy_request_buffering off;",
            "proxy_set_header Connection \"\";",
            "proxy_http_version 1.1;",
            "daemon off;",
            "pid \"/tmp/x y/nginx/nginx.pid\";",
        ] {
            assert!(conf.contains(line), "{line} missing:\n{conf}");
        }
        for sticky in ["ip_hash", "sticky", "hash ", "keepalive "] {
            assert!(!conf.contains(sticky), "{sticky} in:\n{conf}");
        }
        // Every file it writes is inside the private folder.
        let files: Vec<&str> = conf
            .lines()
            .map(str::trim)
            .filter(|l| {
                let directive = l.split(' ').next().unwrap_or_default();
                ["pid", "error_log", "access_log"].contains(&directive)
                    || directive.ends_with("_temp_path")
            })
            .collect();
        assert_eq!(files.len(), 8, "{files:?}");
        for line in files {
            assert!(line.contains(" \"/tmp/x y/nginx/"), "outside: {line}");
        }
        assert!(!conf.contains("user "));
        assert!(nginx_conf(dir, 8080, &upstreams, true).contains("user root;"));
    }

    #[test]
    fn reads_the_replica_and_session_of_each_request() {
        let lines = [
            r#"1.0 200 0.001 POST "/mcp" session=- new_session=abc upstream=127.0.0.1:4001"#,
            r#"1.1 202 0.001 POST "/mcp" session=abc new_session=- upstream=127.0.0.1:4002"#,
            r#"1.2 200 0.004 GET "/mcp" session=abc new_session=- upstream=127.0.0.1:4001, 127.0.0.1:4002"#,
            r#"1.3 202 0.001 POST "/mcp/messages?sessionId=f00d" session=- new_session=- upstream=127.0.0.1:4001"#,
            r#"1.4 200 0.001 POST "/mcp" session=- new_session=- upstream=127.0.0.1:4002"#,
            r#"1.5 502 0.001 POST "/mcp" session=- new_session=- upstream=-"#,
            "not a line of ours",
        ];
        let requests: Vec<Request> = lines.iter().filter_map(|l| Request::parse(l)).collect();
        assert_eq!(requests.len(), 6);
        assert_eq!(requests[2].upstream, "127.0.0.1:4002");
        assert_eq!(requests[3].session.as_deref(), Some("f00d"));
        assert_eq!(requests[4].session, None);
        let replicas = [
            ("axum".to_owned(), "127.0.0.1:4001".to_owned()),
            ("actix-web".to_owned(), "127.0.0.1:4002".to_owned()),
        ];
        let spread = Spread::of(&requests, &replicas);
        assert_eq!(
            spread.replicas,
            [
                ("axum".into(), "127.0.0.1:4001".into(), 2),
                ("actix-web".into(), "127.0.0.1:4002".into(), 3),
            ]
        );
        assert_eq!(
            (spread.elsewhere, spread.sessions_on_both, spread.sessions),
            (1, 1, 2)
        );
        assert!(spread.idle().is_empty());
        assert_eq!(
            spread.line("axum+actix-web"),
            "cluster axum+actix-web: 2 requests to axum (127.0.0.1:4001), 3 to actix-web \
             (127.0.0.1:4002), 1 answered by nginx itself (no replica); 1 of 2 sessions were \
             served by both replicas"
        );
        assert_eq!(
            spread.short(),
            "nginx: 2 to axum, 3 to actix-web, 1 to no replica"
        );
        let lopsided = Spread::of(&requests[..1], &replicas);
        assert_eq!(lopsided.idle(), ["actix-web (127.0.0.1:4002)"]);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_same_items_compare_equal() {
        let items = || {
            vec![
                item("a / x", "SUCCESS", true),
                item("b / y", "FAILURE", false),
            ]
        };
        let mut cluster = row("axum+actix-web", items());
        compare(
            &mut cluster,
            &[&row("axum", items()), &row("actix-web", items())],
        );
        assert!(cluster.ok);
        assert_eq!(
            cluster.notes,
            "same as axum and actix-web alone, item by item"
        );
        assert!(cluster.failures.is_empty() && cluster.info.is_empty());
    }

    #[test]
    fn a_failure_only_through_the_cluster_fails_the_row() {
        let alone = || {
            vec![
                item("a / x", "SUCCESS", true),
                item("a / w", "SUCCESS", true),
            ]
        };
        let mut cluster = row(
            "axum+actix-web",
            vec![
                item("a / x", "FAILURE", true),
                item("a / w", "WARNING", true),
            ],
        );
        compare(
            &mut cluster,
            &[&row("axum", alone()), &row("actix-web", alone())],
        );
        assert!(!cluster.ok);
        assert_eq!(
            cluster.failures,
            [
                "fails only through the cluster: a / x: FAILURE through the cluster, SUCCESS on axum and actix-web alone (FAILURE of a / x)"
            ]
        );
        // A warning instead of a success is a difference, reported, not a failure.
        assert_eq!(
            cluster.info,
            [
                "differs from one process: a / w: WARNING through the cluster, SUCCESS on axum and actix-web alone (WARNING of a / w)"
            ]
        );
        assert!(
            cluster.notes.contains("2 item(s) differ"),
            "{}",
            cluster.notes
        );
    }

    #[test]
    fn uncounted_or_shared_failures_do_not_fail_the_row() {
        let mut cluster = row(
            "axum+actix-web",
            vec![
                item("tasks / t", "FAILURE", false),
                item("b / y", "FAILURE", true),
            ],
        );
        let axum = row(
            "axum",
            vec![
                item("tasks / t", "SUCCESS", false),
                item("b / y", "FAILURE", true),
            ],
        );
        let actix = row(
            "actix-web",
            vec![
                item("tasks / t", "SUCCESS", false),
                item("b / y", "SUCCESS", true),
            ],
        );
        compare(&mut cluster, &[&axum, &actix]);
        assert!(cluster.ok, "{:?}", cluster.failures);
        assert_eq!(cluster.info.len(), 2, "{:?}", cluster.info);
        assert!(
            cluster.info[0].contains("FAILURE on axum alone, SUCCESS on actix-web alone"),
            "{:?}",
            cluster.info
        );
    }

    #[test]
    fn nothing_to_compare_with_is_said() {
        let mut cluster = row("poem+salvo", vec![item("a", "PASS", true)]);
        compare(&mut cluster, &[]);
        assert!(cluster.ok);
        assert_eq!(
            cluster.notes,
            "not compared: no single-process run of it here"
        );
        let mut cluster = row("poem+salvo", vec![item("a", "PASS", true)]);
        let mut missing = row("poem", vec![item("a", "PASS", true)]);
        missing.items.clear();
        compare(
            &mut cluster,
            &[&missing, &row("salvo", vec![item("a", "PASS", true)])],
        );
        assert_eq!(cluster.notes, "same as salvo alone, item by item");
        assert_eq!(
            cluster.info,
            ["not compared with poem alone: that run has no results"]
        );
    }
}
