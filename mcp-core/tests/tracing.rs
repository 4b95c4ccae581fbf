//! With the `tracing` feature, every MCP request gets a span with the OpenTelemetry MCP
//! attribute names, and every rejected request a `warn` that names the setting to change.
#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

mod support;
use mcp_mount::{McpServer, Tool};
use tracing_subscriber::fmt::format::FmtSpan;

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

fn post(host: &str, session: Option<&str>, body: &str) -> http::Request<Bytes> {
    support::request(http::Method::POST, host, session, body)
}

#[test]
fn requests_have_spans_and_rejections_name_the_setting() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    let server = McpServer::builder("t", "1")
        .tool(Tool::new("echo", || async { "hi" }))
        .build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let rejected = server
                .handle(post("api.example.com", None, "{}"), "/mcp")
                .await;
            assert_eq!(rejected.status(), 403);
            let init = server
                .handle(
                    post(
                        "localhost",
                        None,
                        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
                    ),
                    "/mcp",
                )
                .await;
            let session = init
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no session"));
            let call = server
                .handle(
                    post(
                        "localhost",
                        Some(&session),
                        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}"#,
                    ),
                    "/mcp",
                )
                .await;
            assert_eq!(call.status(), 200);
            let missing = server
                .handle(
                    post(
                        "localhost",
                        Some(&session),
                        r#"{"jsonrpc":"2.0","id":8,"method":"nope/nothing"}"#,
                    ),
                    "/mcp",
                )
                .await;
            assert_eq!(missing.status(), 200);
        });
    });
    let text = captured.text();
    assert!(
        text.contains("MCP request rejected: Forbidden: Host \"api.example.com\" is not allowed")
            && text.contains("allowed_hosts"),
        "{text}"
    );
    let call_span = text
        .lines()
        .find(|l| l.contains("mcp.request") && l.contains("jsonrpc.request.id=7"))
        .unwrap_or_else(|| panic!("no span for the call: {text}"));
    for field in [
        "mcp.method.name=\"tools/call\"",
        &format!("mcp.session.id=\"{session}\"", session = session_of(&text)),
        "mcp.protocol.version=\"2025-11-25\"",
        "gen_ai.tool.name=\"echo\"",
    ] {
        assert!(call_span.contains(field), "{field} missing in {call_span}");
    }
    let failed = text
        .lines()
        .find(|l| l.contains("mcp.request") && l.contains("jsonrpc.request.id=8"))
        .unwrap_or_else(|| panic!("no span for the failed call: {text}"));
    assert!(failed.contains("error.type=-32601"), "{failed}");
}

/// The session id the spans carry (the one `initialize` created).
fn session_of(text: &str) -> String {
    text.split("mcp.session.id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}
