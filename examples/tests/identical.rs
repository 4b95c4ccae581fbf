//! The same scripted requests through all four adapters, and through the core behind plain
//! hyper, must get identical answers: status, headers and body bytes, after normalising only
//! what must differ — the session id (random) and the framing headers each framework writes its
//! own way, listed in [`FRAMEWORK_HEADERS`] — and the host's own routes as tools: each host
//! documents its shop with its framework's OpenAPI crate (`hosts::shop`), whose schemas differ
//! by design, so `tools/list` answers are compared without them ([`without_route_tools`]),
//! after checking that every host lists them all.

use std::collections::BTreeMap;
use std::net::TcpListener;

use bytes::Bytes;
use http::{Method, Request};
use mcp_mount_conformance::client;
use mcp_mount_conformance::hosts::{self, HOSTS};

const PREFIX: &str = "/api/v1/tenants/acme/mcp";

/// Headers that describe the connection or the server rather than the MCP answer. Everything
/// else (content type, `Allow`, `Mcp-Session-Id`, cache headers…) must match exactly.
const FRAMEWORK_HEADERS: &[&str] = &[
    "date",
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// One request of the script. `{session}` in a header value stands for the session the last
/// `initialize` on the same mount opened.
struct Step {
    name: &'static str,
    method: Method,
    /// Appended to the prefix: `""` for the main fixture, `"-limited"`, `"/x"`…
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn standard(session: bool) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json, text/event-stream".to_owned()),
        ("mcp-protocol-version", "2025-11-25".to_owned()),
    ];
    if session {
        headers.push(("mcp-session-id", "{session}".to_owned()));
    }
    headers
}

fn post(name: &'static str, path: &'static str, session: bool, body: &str) -> Step {
    Step {
        name,
        method: Method::POST,
        path,
        headers: standard(session),
        body: body.as_bytes().to_vec(),
    }
}

fn with(mut step: Step, header: &'static str, value: &str) -> Step {
    step.headers.retain(|(name, _)| *name != header);
    step.headers.push((header, value.to_owned()));
    step
}

fn bare(
    name: &'static str,
    method: Method,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
) -> Step {
    Step {
        name,
        method,
        path,
        headers,
        body: Vec::new(),
    }
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"identical","version":"1"}}}"#;

fn call(id: u32, tool: &str, args: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{args}}}}}"#
    )
}

fn script() -> Vec<Step> {
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(20_000)
    );
    vec![
        post("initialize", "", false, INIT),
        post(
            "initialized",
            "",
            true,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ),
        post(
            "ping",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":"p-1","method":"ping"}"#,
        ),
        post(
            "tools/list",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        ),
        post(
            "tools/list bad cursor",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"nope"}}"#,
        ),
        post("add", "", true, &call(4, "add", r#"{"a":2,"b":3}"#)),
        post(
            "add_structured",
            "",
            true,
            &call(5, "add_structured", r#"{"a":40,"b":2}"#),
        ),
        post("image", "", true, &call(6, "test_image_content", "{}")),
        post("audio", "", true, &call(7, "test_audio_content", "{}")),
        post(
            "embedded",
            "",
            true,
            &call(8, "test_embedded_resource", "{}"),
        ),
        post(
            "mixed",
            "",
            true,
            &call(9, "test_multiple_content_types", "{}"),
        ),
        post("resource link", "", true, &call(10, "resource_link", "{}")),
        post(
            "invalid arguments",
            "",
            true,
            &call(11, "add", r#"{"a":"two"}"#),
        ),
        post(
            "arguments not an object",
            "",
            true,
            &call(12, "add", "[1,2]"),
        ),
        post(
            "tool error",
            "",
            true,
            &call(13, "test_error_handling", "{}"),
        ),
        post("unknown tool", "", true, &call(14, "nope", "{}")),
        post(
            "progress (SSE)",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":15}}}"#,
        ),
        post(
            "setLevel debug",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":16,"method":"logging/setLevel","params":{"level":"debug"}}"#,
        ),
        post(
            "logging (SSE)",
            "",
            true,
            &call(17, "test_tool_with_logging", "{}"),
        ),
        post(
            "setLevel bad",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":18,"method":"logging/setLevel","params":{"level":"loud"}}"#,
        ),
        with(
            post("whoami", "", true, &call(19, "whoami", "{}")),
            "x-user",
            "alice",
        ),
        post(
            "client response",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#,
        ),
        post(
            "unknown method",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":20,"method":"no/such"}"#,
        ),
        post("parse error", "", true, r#"{"jsonrpc": "2.0", "#),
        post("invalid request", "", true, r#"{"foo":1}"#),
        post(
            "null id",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        ),
        post(
            "batch",
            "",
            true,
            r#"[{"jsonrpc":"2.0","id":21,"method":"ping"}]"#,
        ),
        with(
            post(
                "406 json only",
                "",
                true,
                r#"{"jsonrpc":"2.0","id":22,"method":"ping"}"#,
            ),
            "accept",
            "application/json",
        ),
        with(
            post(
                "415 text/plain",
                "",
                true,
                r#"{"jsonrpc":"2.0","id":23,"method":"ping"}"#,
            ),
            "content-type",
            "text/plain",
        ),
        with(
            post(
                "400 bad version",
                "",
                true,
                r#"{"jsonrpc":"2.0","id":24,"method":"ping"}"#,
            ),
            "mcp-protocol-version",
            "1999-01-01",
        ),
        with(
            post(
                "old version header",
                "",
                true,
                r#"{"jsonrpc":"2.0","id":25,"method":"ping"}"#,
            ),
            "mcp-protocol-version",
            "2025-03-26",
        ),
        post(
            "400 no session",
            "",
            false,
            r#"{"jsonrpc":"2.0","id":26,"method":"ping"}"#,
        ),
        with(
            post(
                "404 unknown session",
                "",
                true,
                r#"{"jsonrpc":"2.0","id":27,"method":"ping"}"#,
            ),
            "mcp-session-id",
            "0123456789abcdef0123456789abcdef",
        ),
        post("second initialize", "", true, INIT),
        with(
            post("403 foreign host", "", false, INIT),
            "host",
            "evil.example.com",
        ),
        with(
            post("403 foreign origin", "", false, INIT),
            "origin",
            "http://evil.example.com",
        ),
        with(
            post("loopback origin", "", false, INIT),
            "origin",
            "http://localhost:5173",
        ),
        post(
            "trailing slash",
            "/",
            true,
            r#"{"jsonrpc":"2.0","id":28,"method":"ping"}"#,
        ),
        post(
            "404 sub-path",
            "/no-such-route",
            true,
            r#"{"jsonrpc":"2.0","id":29,"method":"ping"}"#,
        ),
        bare("405 PUT", Method::PUT, "", vec![]),
        bare("405 PATCH", Method::PATCH, "", vec![]),
        bare("405 OPTIONS", Method::OPTIONS, "", vec![]),
        bare(
            "406 GET json",
            Method::GET,
            "",
            vec![
                ("accept", "application/json".into()),
                ("mcp-session-id", "{session}".into()),
            ],
        ),
        bare(
            "400 GET no session",
            Method::GET,
            "",
            vec![("accept", "text/event-stream".into())],
        ),
        bare(
            "DELETE",
            Method::DELETE,
            "",
            vec![("mcp-session-id", "{session}".into())],
        ),
        post(
            "404 after DELETE",
            "",
            true,
            r#"{"jsonrpc":"2.0","id":30,"method":"ping"}"#,
        ),
        bare(
            "404 DELETE again",
            Method::DELETE,
            "",
            vec![("mcp-session-id", "{session}".into())],
        ),
        bare("rest: GET /tools", Method::GET, "/tools", vec![]),
        post(
            "rest: POST /tools/add",
            "/tools/add",
            false,
            r#"{"a":2,"b":3}"#,
        ),
        post(
            "rest: tool error",
            "/tools/test_error_handling",
            false,
            "{}",
        ),
        post("rest: unknown tool", "/tools/nope", false, "{}"),
        post("rest: bad JSON", "/tools/add", false, "{nope"),
        post(
            "rest: image bytes",
            "/images/test_image_content",
            false,
            "{}",
        ),
        post("rest: no image", "/images/test_simple_text", false, "{}"),
        bare("rest: openapi.json", Method::GET, "/openapi.json", vec![]),
        post("limited: initialize", "-limited", false, INIT),
        Step {
            body: big.into_bytes(),
            ..post("limited: 413", "-limited", true, "")
        },
        post(
            "limited: page 1",
            "-limited",
            true,
            r#"{"jsonrpc":"2.0","id":31,"method":"tools/list"}"#,
        ),
        post(
            "limited: progress as JSON",
            "-limited",
            true,
            r#"{"jsonrpc":"2.0","id":32,"method":"tools/call","params":{"name":"test_tool_with_progress","_meta":{"progressToken":1}}}"#,
        ),
        post("stateless: initialize", "-stateless", false, INIT),
        post(
            "stateless: add",
            "-stateless",
            false,
            &call(33, "add", r#"{"a":1,"b":1}"#),
        ),
        bare(
            "stateless: 405 GET",
            Method::GET,
            "-stateless",
            vec![("accept", "text/event-stream".into())],
        ),
        bare(
            "stateless: 405 DELETE",
            Method::DELETE,
            "-stateless",
            vec![],
        ),
    ]
}

/// What one step observed, normalised.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: u16,
    headers: BTreeMap<String, Vec<String>>,
    body: String,
}

/// `body` with the shop's tools taken out of every tool list in it — a `tools/list` result
/// (a JSON body or the `data:` lines of an SSE one), the REST view's `GET /tools` and its
/// OpenAPI paths — after checking they were all there; `seen` counts the lists that had them.
fn without_route_tools(body: &str, seen: &mut usize) -> String {
    let is_shop = |name: &str| hosts::shop::TOOLS.contains(&name);
    let mut strip = |json: &str| -> Option<String> {
        let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
        let mut changed = false;
        for pointer in ["/result/tools", "/tools"] {
            if let Some(tools) = value.pointer_mut(pointer).and_then(|t| t.as_array_mut()) {
                let before = tools.len();
                tools.retain(|t| !t["name"].as_str().is_some_and(is_shop));
                if before - tools.len() == hosts::shop::TOOLS.len() {
                    *seen += 1;
                }
                changed = true;
            }
        }
        if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
            paths.retain(|path, _| !path.strip_prefix("/tools/").is_some_and(is_shop));
            changed = true;
        }
        changed.then(|| value.to_string())
    };
    if let Some(stripped) = strip(body) {
        return stripped;
    }
    body.split('\n')
        .map(
            |line| match line.strip_prefix("data: ").and_then(&mut strip) {
                Some(stripped) => format!("data: {stripped}"),
                None => line.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

async fn run(base: &str) -> Vec<Observed> {
    let mut session = String::new();
    let mut observed = Vec::new();
    let mut route_tool_lists = 0;
    for step in script() {
        let mut request = Request::builder()
            .method(step.method.clone())
            .uri(format!("{base}{PREFIX}{}", step.path));
        // One Host for every server, so that nothing in an answer depends on the port.
        if !step.headers.iter().any(|(name, _)| *name == "host") {
            request = request.header("host", "localhost");
        }
        for (name, value) in &step.headers {
            request = request.header(*name, value.replace("{session}", &session));
        }
        let request = request
            .body(Bytes::from(step.body))
            .unwrap_or_else(|e| panic!("step {:?} builds an invalid request: {e}", step.name));
        let response = client::send(request).await;
        let opens_session = step.name.ends_with("initialize") && step.name != "second initialize";
        if let Some(id) = response.header("mcp-session-id").filter(|_| opens_session) {
            session = id.to_owned();
        }
        let mut headers = BTreeMap::<String, Vec<String>>::new();
        for (name, value) in &response.headers {
            if FRAMEWORK_HEADERS.contains(&name.as_str()) {
                continue;
            }
            // Session ids are random: that one was issued is compared, not its value.
            let value = if name == "mcp-session-id" {
                "{issued}".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .push(value);
        }
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let body = if !step.path.starts_with('-') {
            without_route_tools(&body, &mut route_tool_lists)
        } else {
            body
        };
        let body = if session.is_empty() {
            body
        } else {
            body.replace(&session, "{session}")
        };
        observed.push(Observed {
            status: response.status.as_u16(),
            headers,
            body,
        });
    }
    assert!(
        route_tool_lists > 0,
        "{base}: no tools/list of the main fixture listed the shop's route tools"
    );
    observed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_adapters_answer_identically() {
    let mut bases = Vec::new();
    for host in HOSTS {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        bases.push((*host, format!("http://{}", listener.local_addr().unwrap())));
        std::thread::spawn(move || hosts::serve(host, listener, PREFIX));
    }
    let names: Vec<&str> = script().iter().map(|s| s.name).collect();
    let (reference_name, reference_base) = &bases[0];
    let reference = run(reference_base).await;
    // The reference itself must be meaningful: sessions were issued and errors were errors.
    assert_eq!(reference[0].status, 200, "initialize on {reference_name}");
    assert!(reference[0].headers.contains_key("mcp-session-id"));
    assert!(reference.iter().any(|o| o.status == 413));
    assert!(
        reference
            .iter()
            .any(|o| o.body.contains("notifications/progress"))
    );
    let mut differences = Vec::new();
    for (framework, base) in &bases[1..] {
        let observed = run(base).await;
        for ((name, expected), got) in names.iter().zip(&reference).zip(&observed) {
            if expected != got {
                differences.push(format!(
                    "{framework} differs from {reference_name} at {name:?}:\n  {reference_name}: {expected:?}\n  {framework}: {got:?}"
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
