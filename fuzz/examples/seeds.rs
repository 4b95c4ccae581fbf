//! Writes the seed corpora of every fuzz target from what the conformance cases really send.
//!
//! Starts the conformance fixture behind plain hyper (`hosts::hyper`, every variant mounted),
//! puts a recording proxy in front of it, runs every case of `mcp_mount_conformance::CASES`
//! through the proxy, and turns each request it saw into seeds: the whole request for
//! `handle` (its session ids replaced by the harness's live sessions, its mount by the
//! harness's server of the same kind), its body for `jsonrpc`, its forwarding headers for
//! `forwarded`, its `Last-Event-ID` for `last_event_id`, the `requestState`s it carried for
//! `request_state`, and the resource URIs it read for `uri_template`.
//!
//! ```text
//! cd fuzz && cargo run --release --example seeds      # writes corpus/<target>/seed-*
//! ```
//!
//! A case that fails behind the proxy only loses its seeds; the generator says which.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_mount_conformance::{CASES, Target, harness, hosts};
use mcp_mount_fuzz::input::{Input, PATHS, Path, PathKind, Peer, Value};
use serde_json::Value as Json;

/// Bodies longer than this make no seed (the over-limit cases send megabytes).
const MAX_BODY: usize = 16 * 1024;

/// One request the proxy saw.
#[derive(Clone, Debug)]
struct Recorded {
    case: &'static str,
    method: http::Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Log {
    case: &'static str,
    requests: Vec<Recorded>,
    /// Every `Mcp-Session-Id` the fixture issued.
    sessions: HashSet<String>,
}

type Shared = Arc<Mutex<Log>>;

fn lock(log: &Shared) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
    log: Shared,
) -> Result<Response<Incoming>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    {
        let mut log = lock(&log);
        let case = log.case;
        log.requests.push(Recorded {
            case,
            method: parts.method.clone(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
    }
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let response = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await?;
    if let Some(id) = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
    {
        lock(&log).sessions.insert(id.to_owned());
    }
    Ok(response)
}

async fn proxy(listener: tokio::net::TcpListener, upstream: SocketAddr, log: Shared) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let log = Arc::clone(&log);
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(req, upstream, Arc::clone(&log)));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// Whether a body speaks the 2026-07-28 era (as the server tells).
fn modern(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("io.modelcontextprotocol/") || text.contains("server/discover")
}

/// The harness server of the fixture mount `variant` (`""` the main one), for `body`.
fn server_of(variant: &str, body: &[u8]) -> u8 {
    match variant {
        "-stateless" | "-limited" => 1,
        "-proxied" => 2,
        "-oauth" | "-oauth-proxied" => 3,
        _ if modern(body) => 2,
        _ => 0,
    }
}

/// The handle input of one recorded request; `None` when it names no fixture mount.
fn handle_input(recorded: &Recorded, sessions: &HashSet<String>) -> Option<Input> {
    const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
    let (variant, rest, well_known) = match recorded.path.strip_prefix(WELL_KNOWN) {
        Some(mount) => (mount.strip_prefix("/mcp")?.to_owned(), String::new(), true),
        None => {
            let after = recorded.path.strip_prefix("/mcp")?;
            let split = after.find(['/', '?']).unwrap_or(after.len());
            (after[..split].to_owned(), after[split..].to_owned(), false)
        }
    };
    let path = if well_known {
        PATHS
            .iter()
            .position(|p| *p == PathKind::WellKnown)
            .map(Path::Table)?
    } else if rest.starts_with("/messages?sessionId=") {
        PATHS
            .iter()
            .position(|p| *p == PathKind::LegacyMessages)
            .map(Path::Table)?
    } else {
        match PATHS
            .iter()
            .position(|p| matches!(p, PathKind::Suffix(s) if *s == rest))
        {
            Some(i) => Path::Table(i),
            None => Path::Custom(rest.into_bytes()),
        }
    };
    let old = recorded
        .headers
        .get("mcp-protocol-version")
        .is_some_and(|v| v == "2025-03-26");
    let mut headers = Vec::new();
    for (name, value) in &recorded.headers {
        let Some(index) = Input::header_index(name.as_str()) else {
            continue;
        };
        let value = match value.to_str() {
            Ok(id) if name == "mcp-session-id" && sessions.contains(id) => {
                Value::Session(u8::from(old))
            }
            _ => Value::Literal(value.as_bytes().to_vec()),
        };
        headers.push((index, value));
    }
    Some(Input {
        server: server_of(&variant, &recorded.body),
        method: Input::method_index(&recorded.method)?,
        peer: Peer::Trusted,
        path,
        headers,
        body: recorded.body.to_vec(),
    })
}

/// Seeds of one target, by file name, deduplicated by content.
#[derive(Default)]
struct Seeds {
    files: BTreeMap<String, Vec<u8>>,
    seen: HashSet<Vec<u8>>,
}

impl Seeds {
    fn add(&mut self, label: &str, bytes: Vec<u8>) {
        if self.seen.insert(bytes.clone()) {
            let n = self.files.len();
            self.files.insert(format!("seed-{label}-{n:04}"), bytes);
        }
    }

    fn write(&self, dir: &FsPath) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("seed-") {
                std::fs::remove_file(entry.path())?;
            }
        }
        for (name, bytes) in &self.files {
            std::fs::write(dir.join(name), bytes)?;
        }
        Ok(())
    }
}

/// Every `requestState` string in a JSON value.
fn request_states(value: &Json, out: &mut Vec<(String, Json)>) {
    match value {
        Json::Object(map) => {
            if let Some(Json::String(state)) = map.get("requestState") {
                out.push((
                    state.clone(),
                    map.get("inputResponses").cloned().unwrap_or(Json::Null),
                ));
            }
            map.values().for_each(|v| request_states(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| request_states(v, out)),
        _ => {}
    }
}

/// A body whose `requestState`s, sealed by the fixture, are sealed again with the harness's
/// modern server's key (and a long life), so that the seeds reach the resumption.
fn resealed(body: &[u8]) -> Vec<u8> {
    let Ok(json) = serde_json::from_slice::<Json>(body) else {
        return body.to_vec();
    };
    let mut states = Vec::new();
    request_states(&json, &mut states);
    let mut text = String::from_utf8_lossy(body).into_owned();
    for (state, _) in states {
        let payload = state.split('.').next().unwrap_or("");
        let Some(inner) = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Json>(&bytes).ok())
        else {
            continue;
        };
        let resealed = mcp_mount::fuzzing::seal_request_state(
            &[mcp_mount_fuzz::harness::STATE_KEY.to_vec()],
            inner["m"].as_str().unwrap_or(""),
            inner["n"].as_str().unwrap_or(""),
            inner["p"].as_str(),
            Duration::from_secs(20 * 365 * 24 * 3600),
            inner["r"].as_object().cloned().unwrap_or_default(),
        );
        if let Some(resealed) = resealed {
            text = text.replace(&state, &resealed);
        }
    }
    text.into_bytes()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let upstream = harness::host("/mcp", hosts::hyper::serve);
    let upstream_addr: SocketAddr = upstream.authority().parse()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let proxy_addr = listener.local_addr()?;
    let log: Shared = Arc::default();
    tokio::spawn(proxy(listener, upstream_addr, Arc::clone(&log)));
    let target: &'static Target =
        Box::leak(Box::new(Target::new(format!("http://{proxy_addr}/mcp"))));

    // The cases' own failures behind the proxy are reported once each, not as a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = Vec::new();
    for (name, case) in CASES {
        lock(&log).case = name;
        let run = tokio::spawn(case(target));
        match tokio::time::timeout(Duration::from_secs(30), run).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => failed.push(*name),
        }
    }
    let _ = std::panic::take_hook();
    let log = std::mem::take(&mut *lock(&log));
    eprintln!(
        "{} cases, {} requests recorded; failed behind the proxy (fewer seeds): {failed:?}",
        CASES.len(),
        log.requests.len()
    );

    let mut handle = Seeds::default();
    let mut jsonrpc = Seeds::default();
    let mut forwarded = Seeds::default();
    let mut last_event_id = Seeds::default();
    let mut request_state = Seeds::default();
    let mut uri_template = Seeds::default();
    for recorded in &log.requests {
        if recorded.body.len() > MAX_BODY {
            continue;
        }
        let label = recorded.case;
        if let Some(mut input) = handle_input(recorded, &log.sessions) {
            if input.server == 2 {
                input.body = resealed(&input.body);
            }
            handle.add(label, input.encode());
        }
        if !recorded.body.is_empty() {
            jsonrpc.add(label, recorded.body.to_vec());
        }
        // Peer 127.0.0.1 (trusted by trust byte 2), then the request's host and forwarding
        // headers.
        let mut lines = vec![0u8, 2];
        let mut forwarding = false;
        for (name, value) in &recorded.headers {
            let name = name.as_str();
            if name == "host" || name == "forwarded" || name.starts_with("x-forwarded-") {
                forwarding |= name != "host";
                lines.extend_from_slice(format!("{name}: ").as_bytes());
                lines.extend_from_slice(value.as_bytes());
                lines.push(b'\n');
            }
        }
        if forwarding {
            forwarded.add(label, lines);
        }
        if let Some(id) = recorded.headers.get("last-event-id") {
            last_event_id.add(label, id.as_bytes().to_vec());
        }
        let Ok(body) = serde_json::from_slice::<Json>(&recorded.body) else {
            continue;
        };
        let mut states = Vec::new();
        request_states(&body, &mut states);
        let method = body["method"].as_str().unwrap_or("");
        let name = body["params"]["name"]
            .as_str()
            .or_else(|| body["params"]["uri"].as_str())
            .unwrap_or("");
        for (state, responses) in states {
            let mut text = vec![0u8];
            text.extend_from_slice(state.as_bytes());
            request_state.add(label, text);
            let payload = state.split('.').next().unwrap_or("");
            if let Ok(json) = base64::engine::general_purpose::STANDARD.decode(payload) {
                let mut sealed = vec![1u8];
                sealed.extend_from_slice(&json);
                request_state.add(label, sealed);
            }
            let round_trip = format!("{method}\0{name}\0\0{responses}");
            let mut bytes = vec![2u8];
            bytes.extend_from_slice(round_trip.as_bytes());
            request_state.add(label, bytes);
        }
        if let Some(uri) = body["params"]["uri"].as_str() {
            for template in ["test://template/{id}/data", "test://{a}/{b}", "test://{x}"] {
                uri_template.add(label, format!("{template}\0{uri}\0{}", "v").into_bytes());
            }
        }
        if let Some(argument) = body["params"]["argument"]["value"].as_str() {
            uri_template.add(
                label,
                format!("test://template/{{id}}/data\0test://template/{argument}/data\0{argument}")
                    .into_bytes(),
            );
        }
    }
    // The templates the fixture and the unit tests use, with URIs that match and that do not.
    for (template, uri, values) in [
        ("file:///{name}.{ext}", "file:///a.b.txt", "a\0b"),
        ("x://{q}", "x://a%20b%2Fc", "q"),
        ("x://{a}.{b}.{c}.z", "x://........", "1\x002\x003"),
        ("x://{a}/b/{c_d}", "x://1/b/2", "é\0z"),
        ("x://{+path}", "x://a", "a"),
    ] {
        uri_template.add("unit", format!("{template}\0{uri}\0{values}").into_bytes());
    }
    for id in [
        "0-0",
        "1-0",
        " 3-17 ",
        "4294967295-4294967295",
        "99999999999-1",
    ] {
        last_event_id.add("unit", id.as_bytes().to_vec());
    }
    forwarded.add(
        "unit",
        b"\x00\x04host: 10.0.0.2\nforwarded: for=1.2.3.4;host=\"api.example.com\";proto=https, for=5.6.7.8\nx-forwarded-prefix: /edge/\ntrust: 127.0.0.0/8, ::1\n".to_vec(),
    );

    let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, seeds) in [
        ("handle", &handle),
        ("jsonrpc", &jsonrpc),
        ("forwarded", &forwarded),
        ("last_event_id", &last_event_id),
        ("request_state", &request_state),
        ("uri_template", &uri_template),
    ] {
        seeds.write(&root.join(name))?;
        eprintln!("corpus/{name}: {} seeds", seeds.files.len());
    }
    // The hosts' server threads run until the process ends.
    std::process::exit(0);
}
