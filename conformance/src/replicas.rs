//! What it takes to run the cases against several replicas of the fixture: a `redis-server` of
//! the test's own, processes tied to the test process, and a round-robin proxy in front of the
//! replicas. The suite's `replicas = …` form ([`suite!`](crate::suite)) uses them; so do
//! cluster cases that kill and restart replicas.
//!
//! Processes started here are stopped by their pid: those held by a value when it is dropped,
//! and those kept for the whole test binary (in a `static`) by a small `sh` watchdog that kills
//! its child as soon as the test process is gone (its stdin, a pipe from the test process,
//! reaches end of file), however the test process ended.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Set to `1` (as CI does) to turn "skipped: no redis-server" into a failure.
pub const REQUIRE_REDIS: &str = "MCP_MOUNT_REQUIRE_REDIS";
/// Names an external Redis to use instead of starting one.
pub const REDIS_URL: &str = "MCP_MOUNT_REDIS_URL";

/// How long a started process may take to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A program running under a watchdog: killed (SIGKILL, by its pid) when this value is
/// dropped, or when the test process ends without dropping it.
#[derive(Debug)]
pub struct Tied {
    /// The watchdog (`sh`); its stdin is `keep`.
    watchdog: Child,
    /// Kept open while the program should live: its end of file is the watchdog's signal.
    keep: Option<ChildStdin>,
    /// The program's pid (not the watchdog's).
    pid: u32,
    /// The program's standard output, line by line, after the watchdog's first line (read
    /// by a thread of its own, so that a program that writes much never blocks on the pipe).
    lines: Mutex<Receiver<String>>,
}

impl Tied {
    /// Starts `program` with `args` under a watchdog; its standard output can be read with
    /// [`read_line`](Self::read_line), its standard error goes to the test's.
    ///
    /// # Errors
    ///
    /// When `sh` cannot start or the program does not (an `ErrorKind::NotFound` error when
    /// `program` is not installed).
    pub fn spawn(program: &str, args: &[&str]) -> std::io::Result<Self> {
        if !installed(program) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{program} is not installed"),
            ));
        }
        // The watchdog prints the program's pid, then waits for its stdin to close (the test
        // process ended or dropped this value) and kills the program.
        // The program's own shell prints its pid and then becomes the program (`exec`), so the
        // pid line comes before anything the program writes.
        let script = r#"sh -c 'echo "pid $$"; exec "$@"' sh "$@" & pid=$!; read _ignored; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null"#;
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let keep = watchdog.stdin.take();
        let stdout = watchdog
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the watchdog has no stdout"))?;
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("stdout of {program}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        // Nobody reads any more: keep draining the pipe.
                        continue;
                    }
                }
            })?;
        let mut tied = Self {
            watchdog,
            keep,
            pid: 0,
            lines: Mutex::new(lines),
        };
        let first = tied.read_line(READY_TIMEOUT);
        tied.pid = first
            .as_deref()
            .and_then(|l| l.strip_prefix("pid "))
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| {
                std::io::Error::other(format!("the watchdog of {program} said {first:?}"))
            })?;
        Ok(tied)
    }

    /// The program's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The program's next line of standard output (without its end of line); `None` at end of
    /// file or when none comes within `timeout`.
    pub fn read_line(&mut self, timeout: Duration) -> Option<String> {
        let lines = self.lines.get_mut().unwrap_or_else(PoisonError::into_inner);
        lines.recv_timeout(timeout).ok()
    }

    /// Reads lines until one starts with `start`, and returns it; `None` at end of file or
    /// when none comes within `timeout`.
    pub fn wait_for(&mut self, start: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.read_line(left)?;
            if line.starts_with(start) {
                return Some(line);
            }
        }
    }

    /// Sends `signal` (a `kill` signal name such as `KILL` or `TERM`) to the program.
    pub fn signal(&self, signal: &str) {
        // 0 would signal this whole process group (the test itself): never a program's pid.
        if self.pid == 0 {
            return;
        }
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Kills the program (SIGKILL) and waits for the watchdog to end.
    pub fn kill(&mut self) {
        self.signal("KILL");
        self.keep = None;
        let _ = self.watchdog.wait();
    }
}

impl Drop for Tied {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `program` is a file (a path) or found on `PATH` (a bare name).
fn installed(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A free port on 127.0.0.1 (free when this returns; the caller binds it soon after).
///
/// # Panics
///
/// When no loopback port can be bound: nothing can be tested then.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"))
}

/// A Redis for the test: a `redis-server` started on a free port (no persistence), or the one
/// [`REDIS_URL`] names.
#[derive(Debug)]
pub struct Redis {
    url: String,
    port: u16,
    process: Option<Tied>,
}

impl Redis {
    /// A Redis to test against; `None` after saying why there is none (no `redis-server`
    /// installed and no [`REDIS_URL`]).
    ///
    /// # Panics
    ///
    /// When [`REQUIRE_REDIS`] is `1` and there is none, or when `redis-server` is installed
    /// but does not start.
    pub fn start() -> Option<Self> {
        if let Ok(url) = std::env::var(REDIS_URL)
            && !url.is_empty()
        {
            return Some(Self {
                url,
                port: 0,
                process: None,
            });
        }
        let port = free_port();
        let mut redis = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            process: None,
        };
        match redis.spawn() {
            Ok(()) => Some(redis),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var(REQUIRE_REDIS).as_deref() != Ok("1"),
                    "{REQUIRE_REDIS}=1 but redis-server is not installed (apt-get install redis-server)"
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
        let port = self.port.to_string();
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ];
        self.process = Some(Tied::spawn("redis-server", &args)?);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if ping(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other("redis-server did not answer PING"))
    }

    /// Whether it is the external one [`REDIS_URL`] names (which [`stop`](Self::stop) and
    /// [`restart`](Self::restart) leave alone).
    pub fn is_external(&self) -> bool {
        self.port == 0
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (SIGKILL): everything it held is gone. Does nothing to an external one.
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// A new, empty server on the same port.
    ///
    /// # Panics
    ///
    /// When it does not start again.
    pub fn restart(&mut self) {
        if self.port == 0 {
            return;
        }
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("redis-server would not start again: {e}");
        }
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    tcp.write_all(b"PING\r\n").is_ok()
        && tcp.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// Says why a test did not run, past the test harness's capture (which would hide it).
pub fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// A round-robin TCP proxy on 127.0.0.1: each connection it accepts goes to the next replica in
/// turn. The case client opens one connection per request, so each request goes to the next
/// replica — as nginx's round-robin does with no stickiness. It runs on the current tokio
/// runtime until that runtime ends.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    addr: SocketAddr,
    counts: Arc<[AtomicUsize]>,
}

impl RoundRobin {
    /// Starts a proxy in front of `replicas`.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or with no replicas.
    pub async fn start(replicas: Vec<SocketAddr>) -> std::io::Result<Self> {
        assert!(!replicas.is_empty(), "a proxy needs a replica");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts: Arc<[AtomicUsize]> = replicas.iter().map(|_| AtomicUsize::new(0)).collect();
        let proxy = Self {
            addr,
            counts: Arc::clone(&counts),
        };
        tokio::spawn(async move {
            let mut next = 0usize;
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let index = next % replicas.len();
                next += 1;
                counts[index].fetch_add(1, Ordering::Relaxed);
                let replica = replicas[index];
                tokio::spawn(async move {
                    let _ = inbound.set_nodelay(true);
                    match tokio::net::TcpStream::connect(replica).await {
                        Ok(mut outbound) => {
                            let _ = outbound.set_nodelay(true);
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                        // A replica that is down: the client sees its connection closed, as
                        // from a balancer with no retry.
                        Err(_) => drop(inbound),
                    }
                });
            }
        });
        Ok(proxy)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections went to each replica so far, in the order given to
    /// [`start`](Self::start).
    pub fn counts(&self) -> Vec<usize> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

/// Looks `case` up in a `replicas = …` suite's list of cases that cannot pass on replicas.
#[doc(hidden)]
pub fn excepted(except: &[(&str, &'static str)], case: &str) -> Option<&'static str> {
    except
        .iter()
        .find(|(name, _)| *name == case)
        .map(|(_, why)| *why)
}

/// Panics unless every name in a `replicas = …` suite's list of exceptions is a case.
#[doc(hidden)]
pub fn check_exceptions(except: &[(&str, &str)]) {
    let unknown: Vec<&str> = except
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !crate::CASES.iter().any(|(case, _)| case == name))
        .collect();
    assert!(unknown.is_empty(), "no such cases: {unknown:?}");
}
