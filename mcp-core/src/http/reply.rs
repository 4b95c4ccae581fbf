//! Turning a request's answer into an HTTP response: one JSON body when the handler sends
//! nothing first, an SSE stream (with event ids and replay on resumable sessions) when it does.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{Reply, Running};
use crate::handler::context::Outbound;
use crate::http::body::McpBody;
use crate::http::config::ResponseMode;
use crate::http::sse as sse_response;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::sse;
use crate::session::KEEP_EVERY;
use crate::session::Session;

/// How often a stream whose closing cancels its request gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_millis(500);

/// How SSE streams are written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamConfig {
    pub(crate) mode: ResponseMode,
    /// The `retry` field of priming events.
    pub(crate) retry: Duration,
}

pub(crate) fn json_response(body: Bytes) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A cancelled request gets no JSON-RPC response: an SSE stream that ends with no event.
fn cancelled_response() -> Response<McpBody> {
    sse_response::response(McpBody::empty())
}

/// Messages known in full, written as one SSE body; with ids, a priming event and replay on a
/// resumable session.
async fn whole_stream(
    session: Option<&Arc<Session>>,
    retry: Duration,
    messages: &[Bytes],
) -> Response<McpBody> {
    let mut out = Vec::with_capacity(messages.iter().map(|m| m.len() + 48).sum::<usize>() + 48);
    let opened = match session.filter(|s| s.is_resumable()) {
        Some(session) => session
            .open_request_stream(None, None, retry)
            .await
            .map(|opened| (session, opened)),
        None => None,
    };
    match opened {
        Some((session, (stream, priming))) => {
            out.extend_from_slice(&priming);
            for message in messages {
                out.extend_from_slice(&session.record_event(stream, message).await.0);
            }
            session.finish_stream(stream).await;
        }
        None => {
            for message in messages {
                sse::push_event(&mut out, None, message);
            }
        }
    }
    sse_response::response(McpBody::full(out))
}

/// A complete answer: JSON, or in [`ResponseMode::Sse`] a stream holding it.
pub(crate) async fn reply_now(
    config: StreamConfig,
    session: Option<&Arc<Session>>,
    message: Bytes,
) -> Response<McpBody> {
    if config.mode == ResponseMode::Sse {
        whole_stream(session, config.retry, &[message]).await
    } else {
        json_response(message)
    }
}

/// Sends `reply` as an HTTP response.
///
/// A running handler is driven here until it finishes or sends its first message. Handlers that
/// send nothing are answered in one piece, with no task spawned; the others get an SSE stream
/// fed by a task that outlives a client disconnect (the spec says a disconnect is not a
/// cancellation), so a resumable stream can be picked up again with `Last-Event-ID`.
pub(crate) async fn respond(
    config: StreamConfig,
    session: Option<Arc<Session>>,
    reply: Reply,
) -> Response<McpBody> {
    let Running {
        id,
        mut future,
        outbound,
        cancel,
        cancellable,
        cancel_on_disconnect,
    } = match reply {
        Reply::Ready(message) => return reply_now(config, session.as_ref(), message).await,
        Reply::Running(running) => running,
    };
    if outbound.is_none() && !cancellable {
        // The plain path: nothing to stream and nothing to watch; await it where it stands.
        let message = future.await;
        return reply_now(config, session.as_ref(), message).await;
    }
    let Some(mut outbound) = outbound else {
        return tokio::select! {
            biased;
            () = cancel.cancelled() => cancelled_response(),
            message = &mut future => reply_now(config, session.as_ref(), message).await,
        };
    };
    let first = tokio::select! {
        biased;
        () = cancel.cancelled() => return cancelled_response(),
        Some(first) = outbound.recv() => first,
        message = &mut future => {
            let mut queued = Vec::new();
            while let Ok(item) = outbound.try_recv() {
                // Closing the connection is moot once the result is here.
                if let Outbound::Message(m) = item {
                    queued.push(m);
                }
            }
            if queued.is_empty() {
                return reply_now(config, session.as_ref(), message).await;
            }
            queued.push(message);
            return whole_stream(session.as_ref(), config.retry, &queued).await;
        }
    };
    let (tx, rx) = mpsc::channel(32);
    // Watching the connection: when the client drops the stream the receiver goes away.
    let watch = cancel_on_disconnect.then(|| tx.clone());
    let writer = StreamWriter::open(session, &id, tx, config.retry).await;
    tokio::spawn(stream_handler(
        writer, first, future, outbound, cancel, watch,
    ));
    sse_response::response(McpBody::stream(rx))
}

/// Where a request stream's events go.
enum StreamWriter {
    /// Through the session's replay buffer to whichever connection is attached.
    Replayable { session: Arc<Session>, stream: u32 },
    /// Straight to the one connection (no ids; not resumable).
    Direct(Option<mpsc::Sender<Bytes>>),
}

impl StreamWriter {
    /// Opens the stream, queuing its priming event when it is resumable.
    async fn open(
        session: Option<Arc<Session>>,
        request: &RequestId,
        tx: mpsc::Sender<Bytes>,
        retry: Duration,
    ) -> Self {
        if let Some(session) = session.filter(|s| s.is_resumable()) {
            if let Some((stream, _)) = session
                .open_request_stream(Some(request), Some(tx.clone()), retry)
                .await
            {
                return Self::Replayable { session, stream };
            }
        }
        Self::Direct(Some(tx))
    }

    async fn handle(&mut self, item: Outbound) {
        match item {
            Outbound::Message(message) => self.send(&message).await,
            Outbound::CloseConnection => match self {
                Self::Replayable { session, stream } => session.detach_stream(*stream),
                // Only offered on resumable streams; closing this one would lose the result.
                Self::Direct(_) => {}
            },
        }
    }

    async fn send(&mut self, message: &[u8]) {
        match self {
            Self::Replayable { session, stream } => {
                let (frame, tx) = session.record_event(*stream, message).await;
                if let Some(tx) = tx {
                    // A client that went away loses only the live copy; the event is kept.
                    let _ = tx.send(frame).await;
                }
            }
            Self::Direct(Some(tx)) => {
                let _ = tx.send(sse::event(None, message)).await;
            }
            Self::Direct(None) => {}
        }
    }

    /// Tells the event log this replica still writes the stream.
    async fn keep(&self) {
        if let Self::Replayable { session, stream } = self {
            session.keep_stream(*stream).await;
        }
    }

    async fn finish(self) {
        if let Self::Replayable { session, stream } = self {
            session.finish_stream(stream).await;
        }
    }
}

/// Forwards a running handler's messages and then its result as SSE events.
async fn stream_handler(
    mut writer: StreamWriter,
    first: Outbound,
    mut future: impl Future<Output = Bytes> + Unpin,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    cancel: CancellationToken,
    watch: Option<mpsc::Sender<Bytes>>,
) {
    writer.handle(first).await;
    let disconnected = async {
        match &watch {
            Some(tx) => tx.closed().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(disconnected);
    // Some servers notice a gone client only when a write fails: a watched stream gets a
    // keep-alive comment now and then (the 2026-07-28 transport encourages them anyway).
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    // A shared event log learns that this replica still runs the request (so a client that
    // resumes elsewhere is not left waiting on a replica that died).
    let mut keep_stream =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_EVERY, KEEP_EVERY);
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            _ = keep_stream.tick() => writer.keep().await,
            () = &mut disconnected => {
                // Closing the stream cancels the request: the handler is dropped here.
                cancel.cancel();
                break;
            }
            _ = keep_alive.tick(), if watch.is_some() => {
                let gone = match &watch {
                    Some(tx) => tx.send(Bytes::from_static(b":\n\n")).await.is_err(),
                    None => false,
                };
                if gone {
                    cancel.cancel();
                    break;
                }
            }
            Some(item) = outbound.recv() => writer.handle(item).await,
            message = &mut future => {
                while let Ok(item) = outbound.try_recv() {
                    if let Outbound::Message(m) = item {
                        writer.send(&m).await;
                    }
                }
                writer.send(&message).await;
                break;
            }
        }
    }
    writer.finish().await;
}

/// Drives the answers of a batch's requests concurrently and returns the JSON-RPC responses, in
/// order, leaving out the requests that were cancelled.
pub(crate) async fn join_replies(replies: Vec<Reply>) -> Vec<Bytes> {
    let answers = replies.into_iter().map(|reply| async move {
        match reply {
            Reply::Ready(message) => Some(message),
            Reply::Running(Running { future, cancel, .. }) => tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                message = future => Some(message),
            },
        }
    });
    futures_util::future::join_all(answers)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// `202 Accepted` with no body: what a notification or a response from the client gets.
pub(crate) fn accepted() -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}
