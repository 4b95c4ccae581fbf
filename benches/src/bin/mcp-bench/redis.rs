//! The Redis the `-redis` targets share, and what mcp-bench measures of it: its CPU, the round
//! trips and commands of one call, and its memory per idle session.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{BoxError, CALL, Conn, SESSIONS, Server, have, pin};

/// A Redis that this run started (killed by its pid when dropped), or the one
/// `MCP_MOUNT_REDIS_URL` names (left as it is, apart from the keys the targets write under
/// their own prefixes, which expire with their sessions' TTL).
pub(crate) struct Redis {
    pub(crate) url: String,
    client: redis::Client,
    child: Option<Child>,
    /// Where `redis-server` was pinned, for the report.
    pub(crate) core: Option<usize>,
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Redis {
    /// The Redis of `MCP_MOUNT_REDIS_URL`, or a `redis-server` of our own on a free port of
    /// 127.0.0.1 pinned to `core`; `None`, after saying why, when there is none to be had.
    pub(crate) fn start(core: usize) -> Result<Option<Self>, BoxError> {
        if let Ok(url) = std::env::var("MCP_MOUNT_REDIS_URL")
            && !url.is_empty()
        {
            let redis = Self {
                client: redis::Client::open(url.as_str())?,
                url,
                child: None,
                core: None,
            };
            redis.wait_ready()?;
            return Ok(Some(redis));
        }
        if !have("redis-server") {
            eprintln!(
                "redis-server is not installed (apt-get install redis-server), nor is \
                 MCP_MOUNT_REDIS_URL set: running without the -redis targets"
            );
            return Ok(None);
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut argv = pin(core);
        let pinned = (!argv.is_empty()).then_some(core);
        argv.push("redis-server".into());
        let child = Command::new(&argv[0])
            .args(&argv[1..])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let url = format!("redis://127.0.0.1:{port}");
        let redis = Self {
            client: redis::Client::open(url.as_str())?,
            url,
            child: Some(child),
            core: pinned,
        };
        redis.wait_ready()?;
        Ok(Some(redis))
    }

    fn wait_ready(&self) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ping = self
                .connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            match ping {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("Redis at {} does not answer: {e}", self.url).into());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    pub(crate) fn own(&self) -> bool {
        self.child.is_some()
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        self.client
            .get_connection_with_timeout(Duration::from_secs(2))
    }

    /// `INFO everything`, as its `field:value` lines.
    pub(crate) fn info(&self) -> Result<Info, BoxError> {
        let mut conn = self.connection()?;
        let text: String = redis::cmd("INFO").arg("everything").query(&mut conn)?;
        Ok(Info(
            text.lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
                .collect(),
        ))
    }

    /// CPU seconds `redis-server` has used: from `/proc/PID/stat` when it is ours, from
    /// `INFO cpu` otherwise.
    pub(crate) fn cpu_seconds(&self, ticks: f64) -> f64 {
        match &self.child {
            Some(child) => crate::cpu_seconds_of(child.id(), ticks),
            None => self
                .info()
                .map(|i| i.num("used_cpu_sys") + i.num("used_cpu_user"))
                .unwrap_or(f64::NAN),
        }
    }

    /// A prefix no other server of this run (nor of an earlier run on a shared Redis) uses.
    pub(crate) fn fresh_prefix() -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        format!(
            "mcp-bench:{}:{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The fields of an `INFO` answer.
pub(crate) struct Info(BTreeMap<String, String>);

impl Info {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub(crate) fn num(&self, field: &str) -> f64 {
        self.0
            .get(field)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// `calls` of every command in `commandstats`, by name (`cmdstat_` dropped).
    fn calls(&self) -> BTreeMap<String, f64> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("cmdstat_")?;
                let calls = v.split(',').find_map(|f| f.strip_prefix("calls="))?;
                Some((name.to_owned(), calls.parse().ok()?))
            })
            .collect()
    }
}

// ---------- round trips of one call ----------

/// What one ordinary `tools/call` of a session costs in Redis.
pub(crate) struct RoundTrips {
    pub(crate) target: String,
    pub(crate) version: &'static str,
    pub(crate) calls: usize,
    /// Read events of `redis-server` per call (its `total_reads_processed`), less its own
    /// `INFO` and the bus subscribers' `PING`s: one per request or pipeline the replica sent
    /// and waited for, since the calls run one after another on one connection.
    pub(crate) round_trips: f64,
    /// Commands per call, by name, from `commandstats` (top-level and inside scripts alike).
    pub(crate) commands: BTreeMap<String, f64>,
    /// Growth of Redis's `used_memory` per call: what a call leaves behind (a resumable SSE
    /// answer's logged stream, kept until the session idles out).
    pub(crate) bytes_kept_per_call: f64,
    /// One call as `MONITOR` saw it: each request the replica sent, with what its scripts ran.
    pub(crate) monitor: Vec<String>,
}

/// `calls` sequential `tools/call`s on one session of a fresh `target` (protocol `version`),
/// counted in Redis's `INFO` deltas, then one more under `MONITOR`.
pub(crate) async fn measure_round_trips(
    binary: &Path,
    target: &str,
    version: &'static str,
    redis: &Redis,
    calls: usize,
) -> Result<RoundTrips, BoxError> {
    let server = Server::start(binary, target, Some(redis))?;
    let mut conn = Conn::open_as(server.authority(), version).await?;
    let session = conn.open_session().await?;
    let call = |id: usize| CALL.replace("ID", &id.to_string());
    for id in 1..=50 {
        check(&conn.post(Some(&session), &call(id)).await?, id, target)?;
    }
    let before = redis.info()?;
    for id in 0..calls {
        check(
            &conn.post(Some(&session), &call(1000 + id)).await?,
            1000 + id,
            target,
        )?;
    }
    let after = redis.info()?;
    let (before_calls, after_calls) = (before.calls(), after.calls());
    let delta = |name: &str| {
        after_calls.get(name).copied().unwrap_or(0.0)
            - before_calls.get(name).copied().unwrap_or(0.0)
    };
    let reads = after.num("total_reads_processed") - before.num("total_reads_processed");
    // The second INFO's own read is counted in it; every PING (a bus subscriber's health
    // check, once a second per replica) is a read of its own.
    let round_trips = (reads - 1.0 - delta("ping")) / calls as f64;
    let commands = after_calls
        .keys()
        .filter(|name| !matches!(name.as_str(), "info" | "ping"))
        .map(|name| (name.clone(), delta(name) / calls as f64))
        .filter(|(_, per_call)| *per_call > 0.0)
        .collect();
    let bytes_kept_per_call = (after.num("used_memory") - before.num("used_memory")) / calls as f64;
    let monitor = monitor_one_call(redis, &mut conn, &session, target).await?;
    Ok(RoundTrips {
        target: target.to_owned(),
        version,
        calls,
        round_trips,
        commands,
        bytes_kept_per_call,
        monitor,
    })
}

fn check(answer: &crate::Answer, id: usize, target: &str) -> Result<(), BoxError> {
    let expected = format!(r#""id":{id},"result":{{"content":[{{"type":"text","text":"5"}}]"#);
    if answer.status == 200 && answer.body.contains(&expected) {
        Ok(())
    } else {
        Err(format!(
            "{target} answered call {id} wrongly: {} {:?}",
            answer.status, answer.body
        )
        .into())
    }
}

/// One call under `MONITOR`: the requests the replica sent (`EVALSHA …`, `ZADD …`), each with
/// the commands its script ran (`MONITOR` lists a script's commands as `[db lua]` right
/// after the script's own line).
async fn monitor_one_call(
    redis: &Redis,
    conn: &mut Conn,
    session: &str,
    target: &str,
) -> Result<Vec<String>, BoxError> {
    const END: &str = "mcp-bench: end of the monitored call";
    let mut monitor = redis.connection()?;
    monitor.set_read_timeout(Some(Duration::from_secs(10)))?;
    monitor.send_packed_command(&redis::cmd("MONITOR").get_packed_command())?;
    let _ok = monitor.recv_response()?;
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        while let Ok(redis::Value::SimpleString(line)) = monitor.recv_response() {
            if line.contains(END) {
                break;
            }
            lines.push(line);
        }
        lines
    });
    check(
        &conn
            .post(Some(session), &CALL.replace("ID", "999999"))
            .await?,
        999_999,
        target,
    )?;
    let mut marker = redis.connection()?;
    let _: String = redis::cmd("ECHO").arg(END).query(&mut marker)?;
    let lines = reader.await?;
    Ok(summarise_monitor(&lines))
}

/// `1712.5 [0 127.0.0.1:5000] "EVALSHA" "ab12…" "4" …` and its `[0 lua]` lines as
/// `EVALSHA (script: HMGET, PEXPIRE ×4, SMEMBERS)`; the bus's `PING`s left out.
fn summarise_monitor(lines: &[String]) -> Vec<String> {
    let mut requests: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        let Some((client, command)) = line
            .split_once(" [")
            .and_then(|(_, rest)| rest.split_once("] "))
        else {
            continue;
        };
        let name = command
            .split('"')
            .nth(1)
            .unwrap_or(command)
            .to_ascii_uppercase();
        if client.ends_with(" lua") {
            if let Some((_, inner)) = requests.last_mut() {
                inner.push(name);
            }
        } else if name != "PING" {
            requests.push((name, Vec::new()));
        }
    }
    requests
        .into_iter()
        .map(|(name, inner)| {
            if inner.is_empty() {
                name
            } else {
                format!("{name} (script: {})", runs(&inner))
            }
        })
        .collect()
}

/// `A, B, B, B, C` as `A, B ×3, C`.
fn runs(names: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let n = names[i..].iter().take_while(|m| **m == names[i]).count();
        out.push(if n == 1 {
            names[i].clone()
        } else {
            format!("{} ×{n}", names[i])
        });
        i += n;
    }
    out.join(", ")
}

// ---------- memory per idle session ----------

/// Redis memory per idle session of a fresh `target`.
pub(crate) struct RedisMemory {
    pub(crate) target: String,
    pub(crate) used_before: f64,
    pub(crate) used_after: f64,
    pub(crate) bytes_per_session: f64,
    pub(crate) keys_per_session: f64,
    /// `MEMORY USAGE` of one session's state hash, and the length of its JSON.
    pub(crate) state_hash_bytes: f64,
    pub(crate) state_json_bytes: f64,
    /// The replica's own VmRSS growth per session (the state lives in Redis).
    pub(crate) replica_bytes_per_session: f64,
    pub(crate) sessions_per_second: f64,
}

/// `SESSIONS` `initialize` + `notifications/initialized` on a fresh `target` over 8 keep-alive
/// connections, no `DELETE`: the growth of Redis's `used_memory` ÷ `SESSIONS`.
pub(crate) async fn measure_memory(
    binary: &Path,
    target: &str,
    redis: &Redis,
) -> Result<RedisMemory, BoxError> {
    let server = Server::start(binary, target, Some(redis))?;
    let authority = server.authority().to_owned();
    let mut conn = Conn::open(&authority).await?;
    let mut sample = String::new();
    for _ in 0..20 {
        sample = conn.open_session().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (before, rss_before) = (redis.info()?, server.rss_kb());
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
    let (after, rss_after) = (redis.info()?, server.rss_kb());
    let keys = |info: &Info| {
        info.0
            .iter()
            .filter(|(k, _)| k.starts_with("db"))
            .filter_map(|(_, v)| v.split(',').find_map(|f| f.strip_prefix("keys=")))
            .filter_map(|n| n.parse::<f64>().ok())
            .sum::<f64>()
    };
    let n = SESSIONS as f64;
    let (state_hash_bytes, state_json_bytes) = state_size(redis, &server, &sample)?;
    Ok(RedisMemory {
        target: target.to_owned(),
        used_before: before.num("used_memory"),
        used_after: after.num("used_memory"),
        bytes_per_session: (after.num("used_memory") - before.num("used_memory")) / n,
        keys_per_session: (keys(&after) - keys(&before)) / n,
        state_hash_bytes,
        state_json_bytes,
        replica_bytes_per_session: (rss_after.saturating_sub(rss_before) * 1024) as f64 / n,
        sessions_per_second: n / elapsed,
    })
}

/// `MEMORY USAGE` of `session`'s state hash and `HSTRLEN` of its JSON.
fn state_size(redis: &Redis, server: &Server, session: &str) -> Result<(f64, f64), BoxError> {
    let key = format!(
        "{}:{{{session}}}:s",
        server.prefix.as_deref().unwrap_or("mcp")
    );
    let mut conn = redis.connection()?;
    let usage: Option<i64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .arg("SAMPLES")
        .arg(0)
        .query(&mut conn)?;
    let json: i64 = redis::cmd("HSTRLEN").arg(&key).arg("j").query(&mut conn)?;
    Ok((usage.map_or(f64::NAN, |u| u as f64), json as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_become_requests_with_their_scripts() {
        let lines = [
            r#"1.1 [0 127.0.0.1:5000] "evalsha" "ab" "4" "k""#,
            r#"1.2 [0 lua] "HMGET" "k" "j""#,
            r#"1.3 [0 lua] "PEXPIRE" "k" "1""#,
            r#"1.3 [0 lua] "PEXPIRE" "k2" "1""#,
            r#"1.4 [0 lua] "SMEMBERS" "k""#,
            r#"1.5 [0 127.0.0.1:5001] "PING""#,
            r#"1.6 [0 127.0.0.1:5000] "ZADD" "s" "XX" "1" "id""#,
        ]
        .map(str::to_owned);
        assert_eq!(
            summarise_monitor(&lines),
            ["EVALSHA (script: HMGET, PEXPIRE ×2, SMEMBERS)", "ZADD"]
        );
    }
}
