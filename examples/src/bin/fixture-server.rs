//! Serves the conformance fixture inside a small host app, for `mcp-conformance`, the official
//! MCP conformance suite and real clients:
//!
//! `fixture-server [--framework axum|actix-web|poem|salvo|hyper] [--addr 127.0.0.1:3000] [--prefix /mcp]
//! [--redis redis://127.0.0.1:6379] [--request-state-key HEX] [--shutdown-deadline SECONDS]`
//!
//! The host app is the one the adapter tests serve (`mcp_mount_conformance::hosts`; `hyper` is
//! the core behind plain hyper, no framework). The fixture is mounted at PREFIX and its variants
//! at PREFIX-stateless, PREFIX-limited and so on (`mcp_mount_conformance::fixture::VARIANTS`);
//! the app also has `GET /` and `GET /health`, and an "auth" middleware that turns the `x-user`
//! header into a `Principal` extension. Prints `listening on http://ADDR/PREFIX` once it accepts
//! connections.
//!
//! The app also has REST routes of its own under `/shop` (`mcp_mount_conformance::hosts::shop`),
//! behind its own bearer-token middleware (`Authorization: Bearer fixture-token`) and documented
//! with the framework's OpenAPI crate (utoipa for axum and actix-web, poem-openapi, salvo-oapi;
//! a hand-written document on hyper). The main fixture serves them as MCP tools of the same
//! names on every framework — `list_items` (GET, optional query `limit`), `create_item` (POST
//! `{"name"}`, answering the new item), `get_item`, `replace_item`, `get_shop_status` and
//! `fail` — called through the app itself (`routes_as_tools`), so any client can check the
//! bridge: a call made without the token is a tool error carrying the route's 401.
//!
//! With `--redis URL` every fixture runs as one replica of several that share sessions through
//! that Redis (`mcp-mount-redis`; each fixture under its own key prefix), so several
//! fixture-servers behind a load balancer serve one deployment. `--request-state-key HEX`
//! (at least 32 bytes, the same on every replica) seals MRTR `requestState`.
//!
//! On SIGTERM or SIGINT it shuts down gracefully: new requests get 503, GET and listen streams
//! end, calls in flight get `--shutdown-deadline` seconds (default 10) and then an error, and
//! it prints `stopped` and exits 0.

use std::io::Write;
use std::net::SocketAddr;

use mcp_mount_conformance::fixture;
use mcp_mount_conformance::hosts::{self, HOSTS};
use mcp_mount_redis::{RedisCluster, RedisOptions};
use std::process::ExitCode;

const USAGE: &str = "usage: fixture-server [--framework axum|actix-web|poem|salvo|hyper] [--addr HOST:PORT] [--prefix /PATH] [--redis URL] [--request-state-key HEX] [--shutdown-deadline SECONDS]";

struct Options {
    framework: String,
    addr: SocketAddr,
    prefix: String,
    redis: Option<String>,
    state_key: Option<Vec<u8>>,
    shutdown_deadline: std::time::Duration,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        framework: "axum".into(),
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        prefix: "/mcp".into(),
        redis: None,
        state_key: None,
        shutdown_deadline: std::time::Duration::from_secs(10),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--framework" => options.framework = value,
            "--addr" => options.addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?,
            "--prefix" => {
                if !value.starts_with('/') || value.len() < 2 {
                    return Err(format!(
                        "--prefix {value:?} must start with '/' and not be the root"
                    ));
                }
                options.prefix = value.trim_end_matches('/').to_owned();
            }
            "--redis" => options.redis = Some(value),
            "--request-state-key" => {
                let key = hex::decode(&value)
                    .map_err(|e| format!("--request-state-key: not hex: {e}"))?;
                options.state_key = Some(key);
            }
            "--shutdown-deadline" => {
                let seconds: f64 = value
                    .parse()
                    .map_err(|e| format!("--shutdown-deadline {value}: {e}"))?;
                options.shutdown_deadline = std::time::Duration::try_from_secs_f64(seconds)
                    .map_err(|e| format!("--shutdown-deadline {value}: {e}"))?;
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !HOSTS.contains(&options.framework.as_str()) {
        eprintln!(
            "unknown framework {:?} (known: {})\n{USAGE}",
            options.framework,
            HOSTS.join(", ")
        );
        return ExitCode::from(2);
    }
    // Kept for the whole process: the Redis parts' background tasks run on it.
    let _deployment = match deploy(&options) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fixture-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = std::net::TcpListener::bind(options.addr).and_then(|listener| {
        let addr = listener.local_addr()?;
        // The listener accepts connections from here on: the line is true when printed.
        println!("listening on http://{addr}{}", options.prefix);
        let _ = std::io::stdout().flush();
        let stop = on_signal(options.shutdown_deadline)?;
        hosts::serve_until(&options.framework, listener, &options.prefix, stop)
    });
    match result {
        Ok(()) => {
            println!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fixture-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A stop that fires on SIGTERM or SIGINT, watched on a thread of its own.
fn on_signal(deadline: std::time::Duration) -> std::io::Result<hosts::Stop> {
    let (fire, stop) = hosts::Stop::new(deadline);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    let Ok(mut term) = signal(SignalKind::terminate()) else {
                        return;
                    };
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                #[cfg(not(unix))]
                let _ = tokio::signal::ctrl_c().await;
                let _ = fire.send(true);
                // Keep the sender: dropping it would read as "never".
                std::future::pending::<()>().await;
            });
        })?;
    Ok(stop)
}

/// Deploys every fixture as `--redis` and `--request-state-key` say; the runtime that holds the
/// Redis connections, when there are any.
fn deploy(options: &Options) -> Result<Option<tokio::runtime::Runtime>, String> {
    let mut clusters = std::collections::HashMap::new();
    let runtime = match &options.redis {
        None => None,
        Some(url) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("no runtime for Redis: {e}"))?;
            let names = std::iter::once("").chain(fixture::VARIANTS.iter().copied());
            for name in names {
                let options = RedisOptions::default().prefix(format!("fixture{name}"));
                let cluster = runtime
                    .block_on(RedisCluster::connect_with(url, options))
                    .map_err(|e| format!("--redis {url}: {e}"))?;
                clusters.insert(name.to_owned(), cluster);
            }
            Some(runtime)
        }
    };
    let key = options.state_key.clone();
    if clusters.is_empty() && key.is_none() {
        return Ok(runtime);
    }
    fixture::deploy(move |name, builder| {
        let builder = match clusters.get(name) {
            Some(cluster) => builder.cluster(cluster.clone()),
            None => builder,
        };
        match &key {
            Some(key) => builder.request_state_keys([key]),
            None => builder,
        }
    });
    Ok(runtime)
}
