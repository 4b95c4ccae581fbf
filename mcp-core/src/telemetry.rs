//! Logging and request spans, on `tracing` when the `tracing` feature is on and free of cost
//! when it is off. The bottom of the crate: it knows only strings and numbers.
//!
//! Span fields follow the OpenTelemetry semantic conventions for MCP (`mcp.method.name`,
//! `mcp.session.id`, `mcp.protocol.version`, `gen_ai.tool.name`, `jsonrpc.request.id`,
//! `error.type`); `otel.name` carries the conventional span name, `{method} {target}`.

use std::future::Future;

/// The span of one MCP request (a no-op without the `tracing` feature).
#[cfg(feature = "tracing")]
pub(crate) type Span = tracing::Span;

/// The span of one MCP request (a no-op without the `tracing` feature).
#[cfg(not(feature = "tracing"))]
#[derive(Clone, Debug, Default)]
pub(crate) struct Span;

/// A span that records nothing, until the engine opens the request's own.
pub(crate) fn idle() -> Span {
    #[cfg(feature = "tracing")]
    {
        Span::none()
    }
    #[cfg(not(feature = "tracing"))]
    {
        Span
    }
}

/// Opens the span of a request to `method`.
#[cfg(feature = "tracing")]
pub(crate) fn request_span(
    method: &str,
    request_id: &dyn std::fmt::Display,
    session: Option<&str>,
    version: Option<&str>,
) -> Span {
    tracing::info_span!(
        "mcp.request",
        otel.name = method,
        mcp.method.name = method,
        jsonrpc.request.id = %request_id,
        mcp.session.id = session,
        mcp.protocol.version = version,
        gen_ai.tool.name = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// Opens the span of a request to `method`.
#[cfg(not(feature = "tracing"))]
pub(crate) fn request_span(
    _method: &str,
    _request_id: &dyn std::fmt::Display,
    _session: Option<&str>,
    _version: Option<&str>,
) -> Span {
    Span
}

/// Enters `span` until the guard drops (for the synchronous part of a dispatch).
pub(crate) fn enter(span: &Span) -> impl Drop + '_ {
    #[cfg(feature = "tracing")]
    {
        span.enter()
    }
    #[cfg(not(feature = "tracing"))]
    {
        struct Nothing;
        impl Drop for Nothing {
            fn drop(&mut self) {}
        }
        let _ = span;
        Nothing
    }
}

/// Names the tool a `tools/call` span is about, and so its conventional span name.
pub(crate) fn record_tool(span: &Span, name: &str) {
    #[cfg(feature = "tracing")]
    if !span.is_disabled() {
        span.record("gen_ai.tool.name", name);
        span.record("otel.name", format!("tools/call {name}"));
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (span, name);
}

/// Records that the request ended in the JSON-RPC error `code`.
pub(crate) fn record_error(span: &Span, code: i32) {
    #[cfg(feature = "tracing")]
    span.record("error.type", code);
    #[cfg(not(feature = "tracing"))]
    let _ = (span, code);
}

/// Runs `future` inside `span`.
pub(crate) fn instrument<F: Future>(future: F, span: Span) -> impl Future<Output = F::Output> {
    #[cfg(feature = "tracing")]
    {
        // With no subscriber that wants the span, the future runs bare: the hot path pays
        // nothing for spans nobody reads.
        if span.is_disabled() {
            futures_util::future::Either::Left(future)
        } else {
            futures_util::future::Either::Right(tracing::Instrument::instrument(future, span))
        }
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = span;
        future
    }
}

/// Logs a rejected request at `warn`: its HTTP status, why, and the builder setting that
/// would let it through, when one would.
pub(crate) fn rejected(status: u16, reason: &str, setting: Option<&str>) {
    #[cfg(feature = "tracing")]
    match setting {
        Some(setting) => tracing::warn!(
            http.response.status_code = status,
            setting,
            "MCP request rejected: {reason} (see the McpServerBuilder setting `{setting}`)"
        ),
        None => tracing::warn!(
            http.response.status_code = status,
            "MCP request rejected: {reason}"
        ),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (status, reason, setting);
}

/// Logs, at `error`, that a handler panicked with `panic` (its call was answered with an
/// internal error; the text is for the operator, never the client).
pub(crate) fn handler_panicked(panic: &str) {
    #[cfg(feature = "tracing")]
    tracing::error!(
        panic,
        "an MCP handler panicked; its call was answered -32603 Internal error"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = panic;
}

/// Warns that a server sharing sessions with other replicas seals `requestState` with a key
/// of its own: a 2026-07-28 retry that reaches another replica will be refused.
pub(crate) fn unshared_state_key() {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        setting = "request_state_keys",
        "this MCP server is one replica of several (McpServerBuilder::cluster or message_bus) \
         but has no request_state_keys: it seals 2026-07-28 requestState with a random key of \
         its own, so an input_required retry that reaches another replica, or this one after a \
         restart, is refused; give every replica the same McpServerBuilder::request_state_keys"
    );
}

/// Logs, at `warn`, that a call that could have become a task went on as an ordinary call
/// because no task could be created (`why`: a cap, or the store).
pub(crate) fn task_refused(why: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!("a call went on without becoming a task: {why}");
    #[cfg(not(feature = "tracing"))]
    let _ = why;
}

/// Logs, at `error`, that a task's outcome could not be written to its record.
pub(crate) fn task_unrecorded(task: &str, why: &str) {
    #[cfg(feature = "tracing")]
    tracing::error!(task, "a task's outcome could not be recorded: {why}");
    #[cfg(not(feature = "tracing"))]
    let _ = (task, why);
}
