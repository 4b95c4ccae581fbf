//! The tasks extension (`io.modelcontextprotocol/tasks`) on the 2026-07-28 front end: a
//! `tools/call` that runs past the threshold (or whose handler asks) becomes a task, and
//! `tasks/get`, `tasks/update` and `tasks/cancel` reach it.
//!
//! The call runs as every call does; what changes is who waits for it. Until it becomes a task
//! the request waits (and a question to the client is an MRTR `input_required` round, as for
//! any tool). When it becomes one, its record is written (durably, before the client hears of
//! it), the request is answered with a `CreateTaskResult`, and the handler's future moves to a
//! task of its own on this replica, which writes its outcome to the record.

use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::engine::Running;
use crate::handler::context::ModernCall;
use crate::handler::future::BoxFuture;
use crate::handler::tool::TaskSupport;
use crate::http::core::Core;
use crate::protocol::jsonrpc::{
    self, INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY, RpcError, SERVER_ERROR,
};
use crate::session::task::{TASKS_EXTENSION, TaskChange, TaskLink, TaskRecord, now_ms};
use crate::session::{BusMessage, KEEP_EVERY, StoreError};

/// How long a task's replica may go without renewing it (three renewals, as for streams)
/// before the task is reported failed, its replica gone, in ms.
const RUNNER_TIMEOUT_MS: u64 = 3 * KEEP_EVERY.as_millis() as u64;

/// Whether the request's capabilities opt into the extension.
pub(crate) fn opted_in(capabilities: &Value) -> bool {
    capabilities
        .get("extensions")
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some_and(Value::is_object)
}

/// Whether this server offers tasks at all: some tool may become one.
pub(crate) fn offered(core: &Core) -> bool {
    core.engine.registries.tools.read(|tools| {
        tools
            .iter()
            .any(|tool| tool.task_support != TaskSupport::Forbidden)
    })
}

/// The task support of tool `name` (none for a tool that does not exist).
pub(crate) fn support_of(core: &Core, name: &str) -> TaskSupport {
    core.engine
        .registries
        .tools
        .read(|tools| tools.get(name).map(|tool| tool.task_support))
        .unwrap_or_default()
}

/// `-32021` naming the extension: what a client that did not opt in gets for a tool that
/// needs tasks, for the `tasks/*` methods and for task notifications.
pub(crate) fn required(what: &str) -> RpcError {
    RpcError::new(
        MISSING_REQUIRED_CLIENT_CAPABILITY,
        format!(
            "Missing required client capability: {what} needs the {TASKS_EXTENSION} extension; \
             declare it under _meta[\"io.modelcontextprotocol/clientCapabilities\"].extensions"
        ),
    )
    .with_data(json!({
        "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } }
    }))
}

/// Lets the call `running` become a task: after the threshold, or when its handler asks.
/// `client` is who the caps count it against, `principal` who may see it.
pub(crate) fn may_become_task(
    core: &Arc<Core>,
    running: Running,
    call: Arc<ModernCall>,
    principal: Option<String>,
    client: Option<String>,
    support: TaskSupport,
) -> Running {
    let Running {
        id,
        future: inner,
        outbound,
        cancel,
        cancellable,
        cancel_on_disconnect,
    } = running;
    let core = Arc::clone(core);
    let request = id.clone();
    let token = cancel.clone();
    let future: BoxFuture<Bytes> = Box::pin(async move {
        let mut inner = inner;
        let threshold = tokio::time::sleep(core.config.task_after);
        let asked = async {
            match &call.escalation {
                Some(escalation) => escalation.asked.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(threshold, asked);
        tokio::select! {
            biased;
            message = &mut inner => {
                settle(&call);
                return message;
            }
            () = &mut threshold => {}
            () = &mut asked => {}
        }
        let started = start(&core, &call, principal, client, token).await;
        settle(&call);
        match started {
            Ok((link, record)) => {
                let core = Arc::clone(&core);
                tokio::spawn(run(core, link, inner));
                let mut result = record.to_wire(false);
                result.insert("resultType".into(), json!("task"));
                jsonrpc::result_bytes(&request, Value::Object(result).to_string().as_bytes())
            }
            // No place for another task: an optional one goes on as an ordinary call.
            Err(why) if support == TaskSupport::Optional => {
                crate::telemetry::task_refused(&why.message);
                inner.await
            }
            Err(why) => jsonrpc::error_bytes(Some(&request), &why),
        }
    });
    Running {
        id,
        future,
        outbound,
        cancel,
        cancellable,
        cancel_on_disconnect,
    }
}

/// The handler's [`run_as_task`](crate::RequestContext::run_as_task) returns.
fn settle(call: &ModernCall) {
    if let Some(escalation) = &call.escalation {
        escalation.settled.cancel();
    }
}

/// Writes the new task's record and links the call to it.
async fn start(
    core: &Core,
    call: &ModernCall,
    principal: Option<String>,
    client: Option<String>,
    cancel: CancellationToken,
) -> Result<(Arc<TaskLink>, TaskRecord), RpcError> {
    let id = crate::session::state::new_session_id()
        .map_err(|e| RpcError::internal(format!("no randomness for a task id: {e}")))?;
    let mut record = TaskRecord::new(
        id.clone(),
        core.config.task_ttl,
        core.config.task_poll_interval,
    );
    record.owner = principal;
    record.client = client;
    record.runner_until = Some(record.created_at.saturating_add(RUNNER_TIMEOUT_MS));
    core.tasks
        .store
        .create(record.clone())
        .await
        .map_err(|e| match e {
            StoreError::Full => RpcError::new(
                SERVER_ERROR,
                "Too many tasks are running (the server's McpServerBuilder::max_tasks); retry \
                 shortly",
            ),
            StoreError::OwnerFull { limit } => RpcError::new(
                SERVER_ERROR,
                format!(
                    "This client already runs {limit} tasks, the most the server's \
                     McpServerBuilder::max_tasks allows per client; wait for one to end"
                ),
            ),
            other => RpcError::new(
                SERVER_ERROR,
                format!("The task could not be created: {other}"),
            ),
        })?;
    let link = Arc::new(TaskLink::new(
        id,
        Arc::clone(&core.tasks.store),
        core.changes.sender(),
        Arc::clone(&core.engine.bus),
        cancel,
    ));
    // Set before the handler is polled again: its questions go through the task from now on.
    let _ = call.task.set(Arc::clone(&link));
    core.tasks.start(Arc::clone(&link));
    Ok((link, record))
}

/// Runs a task's handler to its end and records the outcome.
async fn run(core: Arc<Core>, link: Arc<TaskLink>, inner: BoxFuture<Bytes>) {
    let ttl = tokio::time::sleep(core.config.task_ttl);
    tokio::pin!(ttl);
    let mut inner = inner;
    // The record learns that this replica still runs the task; one that stops renewing it
    // (a replica that died) leaves a task that `tasks/get` reports failed.
    let mut keep = tokio::time::interval_at(tokio::time::Instant::now() + KEEP_EVERY, KEEP_EVERY);
    let outcome = loop {
        tokio::select! {
            biased;
            () = link.cancel.cancelled() => {
                break TaskChange::Cancel("cancelled by the client".into());
            }
            () = &mut ttl => break TaskChange::Cancel("the task's TTL elapsed".into()),
            message = &mut inner => break outcome_of(&message),
            _ = keep.tick() => {
                let until = now_ms().saturating_add(RUNNER_TIMEOUT_MS);
                // A store away now is retried at the next tick.
                let _ = link.change(&TaskChange::Keep(until)).await;
            }
        }
    };
    if let Err(why) = link.change(&outcome).await {
        crate::telemetry::task_unrecorded(link.id(), &why.to_string());
    }
    core.tasks.end(link.id());
}

/// A finished call's JSON-RPC response as the task's outcome.
fn outcome_of(message: &[u8]) -> TaskChange {
    #[derive(Deserialize)]
    struct Response {
        result: Option<Value>,
        error: Option<Value>,
    }
    match serde_json::from_slice::<Response>(message) {
        Ok(Response {
            result: Some(mut result),
            ..
        }) => {
            if let Some(result) = result.as_object_mut() {
                result.remove("_meta");
            }
            TaskChange::Complete(result)
        }
        Ok(Response {
            error: Some(error), ..
        }) => TaskChange::Fail(error),
        _ => TaskChange::Fail(json!({
            "code": jsonrpc::INTERNAL_ERROR,
            "message": "Internal error: the call ended without a result"
        })),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskParams {
    task_id: Option<Value>,
    #[serde(default)]
    input_responses: Option<Value>,
}

/// `tasks/get`, `tasks/update` and `tasks/cancel`: the result, or the error.
pub(crate) async fn method(
    core: &Core,
    method: &str,
    params: Option<&RawValue>,
    call: &ModernCall,
    principal: Option<String>,
) -> Result<Value, RpcError> {
    if !opted_in(&call.capabilities) {
        return Err(required(method));
    }
    let params: TaskParams = params
        .map(|p| serde_json::from_str(p.get()))
        .transpose()
        .map_err(|_| RpcError::invalid_params("Invalid params: expected an object with taskId"))?
        .unwrap_or(TaskParams {
            task_id: None,
            input_responses: None,
        });
    let Some(Value::String(task_id)) = params.task_id else {
        return Err(RpcError::invalid_params(
            "Invalid params: taskId (a string) is required",
        ));
    };
    let unknown = || {
        RpcError::new(
            INVALID_PARAMS,
            format!("Invalid params: no task {task_id:?} (unknown, expired, or not yours)"),
        )
    };
    let unavailable = |e: StoreError| {
        RpcError::new(
            SERVER_ERROR,
            format!("The task store cannot be reached ({e}); retry shortly"),
        )
    };
    let record = core
        .tasks
        .store
        .get(&task_id)
        .await
        .map_err(unavailable)?
        .filter(|record| record.owner == principal)
        .ok_or_else(unknown)?;
    let record = if record.abandoned(now_ms()) {
        let lost = TaskChange::Fail(json!({
            "code": jsonrpc::INTERNAL_ERROR,
            "message": "Internal error: the server instance running this task stopped before \
                        it finished; call the tool again",
        }));
        core.tasks
            .store
            .change(&task_id, &lost)
            .await
            .map_err(unavailable)?
            .ok_or_else(unknown)?
    } else {
        record
    };
    let mut result = match method {
        "tasks/get" => record.to_wire(true),
        "tasks/update" => {
            let responses = match params.input_responses {
                Some(Value::Object(responses)) => responses,
                None => Map::new(),
                Some(_) => {
                    return Err(RpcError::invalid_params(
                        "Invalid params: inputResponses must be an object keyed by the \
                         inputRequests keys",
                    ));
                }
            };
            // Only answers to questions still open count; the rest are ignored.
            let responses: Map<String, Value> = responses
                .into_iter()
                .filter(|(key, _)| record.input_requests.contains_key(key))
                .collect();
            if !responses.is_empty() {
                let answered: Vec<String> = responses.keys().cloned().collect();
                // Recorded before the ack, so the next tasks/get shows what is left.
                core.tasks
                    .store
                    .change(&task_id, &TaskChange::Answered(answered))
                    .await
                    .map_err(unavailable)?;
                match core.tasks.running(&task_id) {
                    Some(link) => link.answer(responses),
                    None => core.engine.bus.send(BusMessage::TaskInput {
                        task: task_id.clone(),
                        responses,
                    }),
                }
            }
            Map::new()
        }
        _ => {
            match core.tasks.running(&task_id) {
                Some(link) => link.cancel.cancel(),
                // Running elsewhere: recorded here, and its replica cancels the handler.
                None if !record.status.is_terminal() => {
                    core.tasks
                        .store
                        .change(
                            &task_id,
                            &TaskChange::Cancel("cancelled by the client".into()),
                        )
                        .await
                        .map_err(unavailable)?;
                    core.engine.bus.send(BusMessage::TaskCancel {
                        task: task_id.clone(),
                    });
                }
                // An ended task stays as it is.
                None => {}
            }
            Map::new()
        }
    };
    result.insert("resultType".into(), json!("complete"));
    Ok(Value::Object(result))
}

/// The `notifications/tasks` message for task `id`, if `principal` may see it.
pub(crate) async fn notification(
    core: &Core,
    id: &str,
    principal: Option<&str>,
    tag: &Value,
) -> Option<Bytes> {
    let record = core.tasks.store.get(id).await.ok().flatten()?;
    if record.owner.as_deref() != principal {
        return None;
    }
    let mut params = record.to_wire(true);
    params.insert("_meta".into(), tag.clone());
    Some(jsonrpc::notification_bytes(
        "notifications/tasks",
        &Value::Object(params),
    ))
}
