//! Handlers that fail badly: a panic answers its call with `-32603` and harms nothing else.

use serde_json::json;

use super::{EVENT_WAIT, text_of};
use crate::client::parse_sse;
use crate::fixture::PANIC_TEXT;
use crate::{Target, next_id, request_body};

/// A handler of any kind that panics (when called or while running; tools, resources,
/// templates, prompts, completion) answers its call with `-32603` and a generic message,
/// never the panic's text; the session and its GET stream live on.
pub async fn panicking_handlers_answer_internal_error(t: &Target) {
    let session = t.connect().await;
    let mut listener = session.open(session.get(None)).await;
    assert_eq!(listener.status, 200);
    let calls = [
        ("tools/call", json!({"name": "panic"})),
        (
            "tools/call",
            json!({"name": "panic_when_called", "arguments": {}}),
        ),
        ("resources/read", json!({"uri": "test://panic"})),
        ("resources/read", json!({"uri": "test://panic/7"})),
        ("prompts/get", json!({"name": "panic"})),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "test://panic/{id}"},
                   "argument": {"name": "id", "value": "1"}}),
        ),
    ];
    for (method, params) in calls {
        let response = session
            .send(session.post(&request_body(method, params.clone())))
            .await;
        assert_eq!(
            response.status, 200,
            "{method} {params}: {:?}",
            response.body
        );
        let answer = response.rpc();
        assert_eq!(
            answer["error"]["code"], -32603,
            "{method} {params}: {answer}"
        );
        assert!(
            !String::from_utf8_lossy(&response.body).contains(PANIC_TEXT),
            "{method}: the panic's text reached the client: {answer}"
        );
    }
    assert_eq!(session.call("ping", json!({})).await, json!({}));
    let sum = session.call_tool("add", json!({"a": 2, "b": 3})).await;
    assert_eq!(text_of(&sum), "5");
    // The GET stream is still open: no end of stream within a short wait (other cases'
    // list changes may arrive on it meanwhile).
    assert_ne!(
        listener
            .next_message(std::time::Duration::from_millis(300))
            .await,
        Ok(None),
        "the session's GET stream ended after its handlers panicked"
    );
}

/// A tool that panics after it sent progress (its call already streaming) ends its stream with
/// a `-32603` answer for its id, and leaves no running record behind: resuming that stream
/// replays it to the end at once.
pub async fn a_panic_after_progress_ends_its_stream(t: &Target) {
    let session = t.connect().await;
    let id = next_id();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "panic_after_progress", "_meta": {"progressToken": "p"}}});
    let response = session.send(session.post(&body)).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.content_type(), "text/event-stream");
    let messages = response.messages();
    assert!(
        messages
            .iter()
            .any(|m| m["method"] == "notifications/progress"),
        "no progress before the panic: {messages:?}"
    );
    let answer = response.rpc();
    assert_eq!(answer["id"], id, "{answer}");
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert!(!String::from_utf8_lossy(&response.body).contains(PANIC_TEXT));

    let priming = parse_sse(&response.body)
        .into_iter()
        .find_map(|e| e.id)
        .unwrap_or_else(|| panic!("the stream had no event id"));
    let resumed = session.open(session.get(Some(&priming))).await;
    assert_eq!(resumed.status, 200);
    let replay = resumed
        .rest(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("the panicked call's stream is still open on resume"));
    let replayed = parse_sse(&replay);
    assert!(
        replayed.iter().any(|e| e.data.contains("-32603")),
        "the replay lacks the answer: {replayed:?}"
    );
    let sum = session.call_tool("add", json!({"a": 2, "b": 3})).await;
    assert_eq!(text_of(&sum), "5");
}

/// A body far over the limit (8 MiB against the `limited` variant's 16 KiB), sent whole by a
/// client that reads only once it has sent everything, gets the 413: the server reads and
/// discards the rest instead of closing on the client mid-send (which it sees as a broken
/// pipe, and nginx as a 502).
pub async fn an_oversize_body_gets_a_readable_413(t: &Target) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limited = t.variant("limited");
    let size = 8 * 1024 * 1024;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {size}\r\n\
         Connection: close\r\n\r\n",
        limited.path(),
        limited.authority()
    );
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(limited.authority()).await?;
        tcp.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..size / chunk.len() {
            tcp.write_all(&chunk).await?;
        }
        tcp.flush().await?;
        // `Connection: close`: the answer ends where the connection does.
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("the oversize POST did not finish within 30 s"))
        .unwrap_or_else(|e| panic!("the client could not send its whole body and read: {e}"));
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"code\""), "a JSON-RPC error: {text}");
}
