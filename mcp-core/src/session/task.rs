//! Tasks (the `io.modelcontextprotocol/tasks` extension, 2026-07-28): a tool call that outlives
//! its request. Its record is plain data ([`TaskRecord`], kept by a [`TaskStore`]); the replica
//! that runs it holds a [`TaskLink`] for the handler's questions to the client and for
//! cancellation.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use tokio::sync::broadcast;

use crate::session::bus::{BusMessage, MessageBus};
use crate::session::changes::ChangeEvent;
use crate::session::store::StoreError;

/// The extension's identifier, under `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the client's answers to its `inputRequests` (`tasks/update`).
    InputRequired,
    /// Finished with a result (a tool error too: `isError` in the result).
    Completed,
    /// Ended by a JSON-RPC error, inlined as `error`.
    Failed,
    /// Cancelled by `tasks/cancel`.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task has ended: its record no longer changes.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A task's record: what `tasks/get` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// 128 random bits in hex: unguessable, it is all a client needs to reach the task.
    pub id: String,
    /// The principal that created it: only it can see the task (`None` without
    /// authentication: then the unguessable id is what grants access).
    pub owner: Option<String>,
    /// Who the per-client cap counts it against: its principal, or its client's address.
    pub client: Option<String>,
    /// Where it stands.
    pub status: TaskStatus,
    /// A word on where it stands, for the user or the model.
    pub status_message: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Milliseconds since the Unix epoch.
    pub last_updated_at: u64,
    /// How long after its creation the task is kept, in milliseconds.
    pub ttl_ms: u64,
    /// How often the client is asked to poll, in milliseconds.
    pub poll_interval_ms: u64,
    /// The requests to the client still waiting for answers, by key.
    pub input_requests: Map<String, Value>,
    /// The result, once completed.
    pub result: Option<Value>,
    /// The JSON-RPC error, once failed.
    pub error: Option<Value>,
    /// Until when (ms since the epoch) the replica running the task is known to be alive:
    /// it renews this every [`KEEP_EVERY`](crate::cluster::KEEP_EVERY). A task not ended past
    /// it lost its replica, and is reported failed.
    #[serde(default)]
    pub runner_until: Option<u64>,
}

/// One change to a task, applied atomically by the store ([`TaskRecord::apply`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TaskChange {
    /// The handler asks the client something: the task waits for input.
    Ask {
        /// The request's key in `inputRequests`.
        key: String,
        /// `{method, params}`.
        request: Value,
    },
    /// Answers arrived for these keys (others are ignored).
    Answered(Vec<String>),
    /// The handler finished with this result.
    Complete(Value),
    /// The handler ended with this JSON-RPC error.
    Fail(Value),
    /// The task was cancelled.
    Cancel(String),
    /// The replica running the task is alive until then (ms since the epoch).
    Keep(u64),
    /// The handler reported progress: the status message of a working task.
    Progress(String),
}

impl TaskRecord {
    /// A new running task `id`, created now, kept `ttl` and polled every `poll_interval`;
    /// no owner, no client.
    pub fn new(id: String, ttl: Duration, poll_interval: Duration) -> Self {
        let now = now_ms();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            id,
            owner: None,
            client: None,
            status: TaskStatus::Working,
            status_message: None,
            created_at: now,
            last_updated_at: now,
            ttl_ms: ms(ttl).max(1),
            poll_interval_ms: ms(poll_interval).max(1),
            input_requests: Map::new(),
            result: None,
            error: None,
            runner_until: None,
        }
    }

    /// Applies `change` at `now` (ms since the epoch); an ended task does not change.
    pub fn apply(&mut self, change: &TaskChange, now: u64) {
        if self.status.is_terminal() {
            return;
        }
        if let TaskChange::Keep(until) = change {
            // A heartbeat, not an update the client sees.
            self.runner_until = Some(*until);
            return;
        }
        match change {
            TaskChange::Ask { key, request } => {
                self.input_requests.insert(key.clone(), request.clone());
                self.status = TaskStatus::InputRequired;
                self.status_message = Some("waiting for the client's input".into());
            }
            TaskChange::Answered(keys) => {
                for key in keys {
                    self.input_requests.remove(key);
                }
                if self.input_requests.is_empty() {
                    self.status = TaskStatus::Working;
                    self.status_message = None;
                }
            }
            TaskChange::Complete(result) => {
                self.input_requests.clear();
                self.status = TaskStatus::Completed;
                self.status_message = None;
                self.result = Some(result.clone());
            }
            TaskChange::Fail(error) => {
                self.input_requests.clear();
                self.status = TaskStatus::Failed;
                self.status_message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.error = Some(error.clone());
            }
            TaskChange::Cancel(why) => {
                self.input_requests.clear();
                self.status = TaskStatus::Cancelled;
                self.status_message = Some(why.clone());
            }
            TaskChange::Progress(message) => {
                if self.status == TaskStatus::Working {
                    self.status_message = Some(message.clone());
                }
            }
            TaskChange::Keep(_) => {}
        }
        self.last_updated_at = now.max(self.last_updated_at);
    }

    /// Whether the task has not ended but its replica stopped renewing it by `now`.
    pub fn abandoned(&self, now: u64) -> bool {
        !self.status.is_terminal() && self.runner_until.is_some_and(|until| until < now)
    }

    /// Whether the task is past its TTL at `now`.
    pub fn expired(&self, now: u64) -> bool {
        now >= self.created_at.saturating_add(self.ttl_ms)
    }

    /// The task's fields as the wire has them (`Task`), with the status's own payload
    /// (`result`, `error`, `inputRequests`) when `detailed` (`DetailedTask`, for `tasks/get`
    /// and `notifications/tasks`).
    pub fn to_wire(&self, detailed: bool) -> Map<String, Value> {
        let mut task = Map::new();
        task.insert("taskId".into(), json!(self.id));
        task.insert("status".into(), json!(self.status));
        if let Some(message) = &self.status_message {
            task.insert("statusMessage".into(), json!(message));
        }
        task.insert("createdAt".into(), json!(iso8601(self.created_at)));
        task.insert("lastUpdatedAt".into(), json!(iso8601(self.last_updated_at)));
        task.insert("ttlMs".into(), json!(self.ttl_ms));
        task.insert("pollIntervalMs".into(), json!(self.poll_interval_ms));
        if detailed {
            match self.status {
                TaskStatus::InputRequired => {
                    task.insert(
                        "inputRequests".into(),
                        Value::Object(self.input_requests.clone()),
                    );
                }
                TaskStatus::Completed => {
                    if let Some(result) = &self.result {
                        task.insert("result".into(), result.clone());
                    }
                }
                TaskStatus::Failed => {
                    if let Some(error) = &self.error {
                        task.insert("error".into(), error.clone());
                    }
                }
                TaskStatus::Working | TaskStatus::Cancelled => {}
            }
        }
        task
    }
}

/// Milliseconds since the Unix epoch, now (task timestamps and MRTR `requestState` expiry).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ms` since the epoch as an RFC 3339 UTC timestamp (`2026-12-02T06:01:02.345Z`).
///
/// Hand-rolled (Howard Hinnant's days-to-civil) rather than a date crate: the core keeps its
/// dependency tree small, and this is its only calendar arithmetic.
pub(crate) fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Where task records live; the default is [`InMemoryTaskStore`].
///
/// A store holds records only, so it can be shared by replicas. It owns the TTL (a record past
/// it is gone) and the caps on live tasks.
#[async_trait]
pub trait TaskStore: Send + Sync + fmt::Debug + 'static {
    /// Adds a new task. Returns once a [`get`](Self::get) on any replica finds it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Full`] past the cap on live tasks, [`StoreError::OwnerFull`] past the
    /// cap per owner, or [`StoreError::Unavailable`].
    async fn create(&self, record: TaskRecord) -> Result<(), StoreError>;

    /// The task, while it lives.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError>;

    /// Applies `change` atomically; the new record, or `None` when the task is gone.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn change(&self, id: &str, change: &TaskChange)
    -> Result<Option<TaskRecord>, StoreError>;
}

/// Task records in memory, with their TTL and caps. At most twice the cap of records are
/// kept: past that, the ended tasks that changed longest ago are forgotten before their TTL.
#[derive(Debug)]
pub struct InMemoryTaskStore {
    tasks: Mutex<HashMap<String, TaskRecord>>,
    cap: usize,
    per_owner: usize,
}

impl InMemoryTaskStore {
    /// A store of at most `cap` live tasks, `per_owner` of them for one owner.
    pub fn new(cap: usize, per_owner: usize) -> Self {
        Self {
            tasks: Mutex::new(HashMap::new()),
            cap: cap.max(1),
            per_owner: per_owner.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TaskRecord>> {
        // Records are replaced whole: a poisoned map still holds valid ones.
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl TaskStore for InMemoryTaskStore {
    async fn create(&self, record: TaskRecord) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tasks = self.lock();
        tasks.retain(|_, task| !task.expired(now));
        // Ended tasks are kept for their TTL but count against no cap; so that short tasks
        // started one after the other cannot grow the map without bound, past twice the cap
        // the ended ones that changed longest ago make room.
        if tasks.len() >= self.cap.saturating_mul(2) {
            let mut ended: Vec<(u64, String)> = tasks
                .values()
                .filter(|task| task.status.is_terminal())
                .map(|task| (task.last_updated_at, task.id.clone()))
                .collect();
            ended.sort_unstable();
            let excess = tasks.len() + 1 - self.cap.saturating_mul(2);
            for (_, id) in ended.into_iter().take(excess.max(self.cap / 2)) {
                tasks.remove(&id);
            }
        }
        let live = |task: &&TaskRecord| !task.status.is_terminal();
        if tasks.values().filter(live).count() >= self.cap {
            return Err(StoreError::Full);
        }
        let owned = tasks
            .values()
            .filter(live)
            .filter(|task| task.client == record.client)
            .count();
        if owned >= self.per_owner {
            return Err(StoreError::OwnerFull {
                limit: self.per_owner,
            });
        }
        tasks.insert(record.id.clone(), record);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let now = now_ms();
        let mut tasks = self.lock();
        match tasks.get(id) {
            Some(task) if task.expired(now) => {
                tasks.remove(id);
                Ok(None)
            }
            task => Ok(task.cloned()),
        }
    }

    async fn change(
        &self,
        id: &str,
        change: &TaskChange,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let now = now_ms();
        let mut tasks = self.lock();
        let Some(task) = tasks.get_mut(id) else {
            return Ok(None);
        };
        if task.expired(now) {
            tasks.remove(id);
            return Ok(None);
        }
        task.apply(change, now);
        Ok(Some(task.clone()))
    }
}

/// What the replica running a task holds for it: its cancellation, and the handler's
/// questions to the client waiting for `tasks/update`.
pub(crate) struct TaskLink {
    id: String,
    store: Arc<dyn TaskStore>,
    events: broadcast::Sender<ChangeEvent>,
    bus: Arc<dyn MessageBus>,
    /// Fires on `tasks/cancel` (and at the TTL): the handler's cancellation.
    pub(crate) cancel: CancellationToken,
    /// Questions waiting for an answer, by key.
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    /// The number of the handler's next question (keys are never reused within a task).
    next: AtomicUsize,
}

impl fmt::Debug for TaskLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLink")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TaskLink {
    pub(crate) fn new(
        id: String,
        store: Arc<dyn TaskStore>,
        events: broadcast::Sender<ChangeEvent>,
        bus: Arc<dyn MessageBus>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            id,
            store,
            events,
            bus,
            cancel,
            pending: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
        }
    }

    /// The task's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Records `change` and tells `notifications/tasks` listeners.
    pub(crate) async fn change(&self, change: &TaskChange) -> Result<(), StoreError> {
        self.store.change(&self.id, change).await?;
        if !matches!(change, TaskChange::Keep(_)) {
            // Listen streams here and on the other replicas; none open is not an error.
            let event = ChangeEvent::Task(self.id.clone());
            let _ = self.events.send(event.clone());
            self.bus.send(BusMessage::Change(event));
        }
        Ok(())
    }

    /// Asks the client `{method, params}` through the task (`input_required`, answered with
    /// `tasks/update`) and waits for the answer; `None` when the task is cancelled or its
    /// record cannot be written.
    pub(crate) async fn ask(&self, method: &str, params: Value) -> Option<Value> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let key = format!("task-input-{n}");
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), tx);
        let request = json!({ "method": method, "params": params });
        if self
            .change(&TaskChange::Ask {
                key: key.clone(),
                request,
            })
            .await
            .is_err()
        {
            self.forget(&key);
            return None;
        }
        tokio::select! {
            () = self.cancel.cancelled() => None,
            answer = rx => answer.ok(),
        }
    }

    /// Hands the answers in `responses` to the questions waiting for them (the others are
    /// ignored, as the extension has it; the caller records which were answered).
    pub(crate) fn answer(&self, responses: Map<String, Value>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, value) in responses {
            if let Some(tx) = pending.remove(&key) {
                let _ = tx.send(value);
            }
        }
    }

    fn forget(&self, key: &str) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// This replica's tasks: the shared records, and the links of the tasks running here.
#[derive(Debug)]
pub(crate) struct Tasks {
    pub(crate) store: Arc<dyn TaskStore>,
    running: Mutex<HashMap<String, Arc<TaskLink>>>,
}

impl Tasks {
    pub(crate) fn new(store: Arc<dyn TaskStore>) -> Self {
        Self {
            store,
            running: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<TaskLink>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps the link of a task that starts running here.
    pub(crate) fn start(&self, link: Arc<TaskLink>) {
        self.lock().insert(link.id.clone(), link);
    }

    /// Forgets a task that ended here.
    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The link of a task running here.
    pub(crate) fn running(&self, id: &str) -> Option<Arc<TaskLink>> {
        self.lock().get(id).cloned()
    }
}

/// How long after its creation a task is kept by default: one hour.
pub const TASK_TTL: Duration = Duration::from_secs(60 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_796_191_262_345), "2026-12-02T06:01:02.345Z");
    }

    fn record(owner: &str) -> TaskRecord {
        TaskRecord {
            id: format!("{owner}-{}", now_ms()),
            owner: Some(owner.into()),
            client: Some(owner.into()),
            status: TaskStatus::Working,
            status_message: None,
            created_at: now_ms(),
            last_updated_at: now_ms(),
            ttl_ms: 60_000,
            poll_interval_ms: 500,
            input_requests: Map::new(),
            result: None,
            error: None,
            runner_until: None,
        }
    }

    #[test]
    fn an_ended_task_no_longer_changes() {
        let mut task = record("a");
        task.apply(
            &TaskChange::Ask {
                key: "k".into(),
                request: json!({}),
            },
            1,
        );
        assert_eq!(task.status, TaskStatus::InputRequired);
        task.apply(&TaskChange::Answered(vec!["k".into()]), 2);
        assert_eq!(task.status, TaskStatus::Working);
        task.apply(&TaskChange::Cancel("stop".into()), 3);
        task.apply(&TaskChange::Complete(json!({"content": []})), 4);
        assert_eq!(task.status, TaskStatus::Cancelled);
        assert!(task.result.is_none());
        let wire = task.to_wire(true);
        assert!(!wire.contains_key("result") && !wire.contains_key("requestState"));
    }

    #[tokio::test]
    async fn caps_count_live_tasks_only() {
        let store = InMemoryTaskStore::new(3, 2);
        let (a1, a2) = (record("a"), record("a"));
        let a1_id = a1.id.clone();
        let mut a2 = a2;
        a2.id.push('2');
        assert_eq!(store.create(a1).await, Ok(()));
        assert_eq!(store.create(a2).await, Ok(()));
        let mut a3 = record("a");
        a3.id.push('3');
        assert_eq!(
            store.create(a3.clone()).await,
            Err(StoreError::OwnerFull { limit: 2 })
        );
        assert_eq!(store.create(record("b")).await, Ok(()));
        let mut b2 = record("b");
        b2.id.push('2');
        assert_eq!(store.create(b2).await, Err(StoreError::Full));
        // An ended task frees its place but stays readable.
        let done = store
            .change(&a1_id, &TaskChange::Complete(json!({"content": []})))
            .await;
        assert!(done.ok().flatten().is_some());
        assert_eq!(store.create(a3).await, Ok(()));
        let read = store.get(&a1_id).await.ok().flatten();
        assert_eq!(read.map(|t| t.status), Some(TaskStatus::Completed));
    }

    #[tokio::test]
    async fn ended_tasks_cannot_grow_the_store_without_bound() {
        let store = InMemoryTaskStore::new(2, 2);
        let mut first = None;
        for n in 0..20 {
            let mut task = record("a");
            task.id = format!("t{n}");
            first.get_or_insert_with(|| task.id.clone());
            assert_eq!(store.create(task).await, Ok(()), "task {n}");
            let done = store
                .change(&format!("t{n}"), &TaskChange::Complete(json!({})))
                .await;
            assert!(done.is_ok_and(|t| t.is_some()));
            assert!(store.lock().len() <= 4, "at most twice the cap is kept");
        }
        let first = first.unwrap_or_default();
        assert_eq!(
            store.get(&first).await,
            Ok(None),
            "the oldest ended one made room"
        );
        assert!(store.get("t19").await.is_ok_and(|t| t.is_some()));
    }
}
