//! Task records on Redis: one JSON string per task expiring at its creation plus its TTL, and
//! the caps on running tasks as sorted sets beside the session cap's.

use std::sync::LazyLock;

use async_trait::async_trait;
use mcp_mount::cluster::{StoreError, TaskChange, TaskRecord, TaskStore};
use redis::Script;

use crate::keys::valid_id;
use crate::{Shared, now_ms, run, unavailable};

/// Takes a place for a new running task: drops expired entries, refuses past the cap (0) or
/// past the client's cap (-1), else adds the task to both sets (1).
/// KEYS: the running set, the client's set. ARGV: now, expiry, task id, cap, per-client cap.
const RESERVE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return 1
";

/// Replaces a record only if it is still the one read (a compare-and-set), keeping its
/// expiry. KEYS: the record. ARGV: the record as read, the new one.
const SWAP: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
";

static RESERVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RESERVE));
static SWAP_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SWAP));

/// How often a change is tried again when another replica changed the record meanwhile.
const SWAP_TRIES: usize = 16;

/// Task records in Redis, shared by every replica: `tasks/get`, `tasks/update` and
/// `tasks/cancel` work on any of them, whichever runs the task.
///
/// - `{prefix}:{tid}:t` — the record as JSON, `PEXPIREAT` its creation plus its TTL.
/// - `{prefix}:tasks` and `{{prefix}:tasks}:c:{client}` — the running tasks, in all and per
///   client, scored by expiry: the caps ([`StoreError::Full`], [`StoreError::OwnerFull`]).
///
/// A change reads the record, applies [`TaskRecord::apply`] and writes it back only if no
/// other replica changed it meanwhile (else it reads again): the runner's heartbeats and
/// outcome, and `tasks/update`/`tasks/cancel` on other replicas, never overwrite each other.
#[derive(Clone, Debug)]
pub struct RedisTaskStore {
    shared: Shared,
    cap: usize,
    per_client: usize,
}

impl RedisTaskStore {
    /// Connects a task store alone to `url`: at most `cap` running tasks, `per_client` of them
    /// for one client.
    ///
    /// # Errors
    ///
    /// A bad URL or key prefix, or Redis cannot be reached now.
    pub async fn connect(
        url: &str,
        options: crate::RedisOptions,
        cap: usize,
        per_client: usize,
    ) -> Result<Self, crate::Error> {
        Ok(Self::from_shared(
            Shared::connect(url, options).await?,
            cap,
            per_client,
        ))
    }

    pub(crate) fn from_shared(shared: Shared, cap: usize, per_client: usize) -> Self {
        Self {
            shared,
            cap: cap.max(1),
            per_client: per_client.max(1),
        }
    }

    fn client_key(&self, record: &TaskRecord) -> String {
        self.shared
            .keys
            .client_tasks(record.client.as_deref().unwrap_or("-"))
    }

    async fn read(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.shared.keys.task(id);
        run(&self.shared.conn, &[], true, |mut conn| {
            let mut get = redis::cmd("GET");
            get.arg(&key);
            async move { get.query_async::<Option<Vec<u8>>>(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))
    }

    /// Drops an ended task from the caps' sets.
    async fn release(&self, record: &TaskRecord) {
        let (live, client) = (self.shared.keys.tasks().to_owned(), self.client_key(record));
        let id = record.id.clone();
        // Not released now, its entries expire with the task: nothing is lost.
        let _ = run(&self.shared.conn, &[], true, |mut conn| {
            let mut pipe = redis::pipe();
            pipe.cmd("ZREM")
                .arg(&live)
                .arg(&id)
                .ignore()
                .cmd("ZREM")
                .arg(&client)
                .arg(&id)
                .ignore();
            async move { pipe.exec_async(&mut conn).await }
        })
        .await;
    }
}

fn decode(id: &str, raw: &[u8]) -> Result<TaskRecord, StoreError> {
    serde_json::from_slice(raw).map_err(|e| {
        StoreError::Unavailable(format!(
            "the record of task {id} in Redis is not one mcp-mount-redis wrote ({e}); use the \
             mcp-mount-redis of the same release on every replica"
        ))
    })
}

#[async_trait]
impl TaskStore for RedisTaskStore {
    async fn create(&self, record: TaskRecord) -> Result<(), StoreError> {
        if !valid_id(&record.id) {
            return Err(StoreError::Unavailable(format!(
                "the task id {:?} cannot name a Redis key",
                record.id
            )));
        }
        let json = serde_json::to_vec(&record)
            .map_err(|e| StoreError::Unavailable(format!("a task as JSON: {e}")))?;
        let expiry = record.created_at.saturating_add(record.ttl_ms);
        let (live, client) = (
            self.shared.keys.tasks().to_owned(),
            self.client_key(&record),
        );
        let id = record.id.as_str();
        let placed: i64 = run(&self.shared.conn, &[&RESERVE_SCRIPT], true, |mut conn| {
            let mut reserve = RESERVE_SCRIPT.prepare_invoke();
            reserve
                .key(&live)
                .key(&client)
                .arg(now_ms())
                .arg(expiry)
                .arg(id)
                .arg(self.cap)
                .arg(self.per_client);
            async move { reserve.invoke_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))?;
        match placed {
            0 => return Err(StoreError::Full),
            -1 => {
                return Err(StoreError::OwnerFull {
                    limit: self.per_client,
                });
            }
            _ => {}
        }
        let key = self.shared.keys.task(id);
        // Written before the CreateTaskResult goes out: a tasks/get anywhere finds it.
        let written = run(&self.shared.conn, &[], true, |mut conn| {
            let mut set = redis::cmd("SET");
            set.arg(&key).arg(&json).arg("PXAT").arg(expiry);
            async move { set.exec_async(&mut conn).await }
        })
        .await;
        if let Err(e) = written {
            self.release(&record).await;
            return Err(unavailable(&e));
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        match self.read(id).await? {
            Some(raw) => Ok(Some(decode(id, &raw)?)),
            None => Ok(None),
        }
    }

    async fn change(
        &self,
        id: &str,
        change: &TaskChange,
    ) -> Result<Option<TaskRecord>, StoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        let key = self.shared.keys.task(id);
        for _ in 0..SWAP_TRIES {
            let Some(raw) = self.read(id).await? else {
                return Ok(None);
            };
            let mut record = decode(id, &raw)?;
            let was_running = !record.status.is_terminal();
            record.apply(change, now_ms());
            let json = serde_json::to_vec(&record)
                .map_err(|e| StoreError::Unavailable(format!("a task as JSON: {e}")))?;
            if json == raw {
                return Ok(Some(record));
            }
            let swapped: i64 = run(&self.shared.conn, &[&SWAP_SCRIPT], true, |mut conn| {
                let mut swap = SWAP_SCRIPT.prepare_invoke();
                swap.key(&key).arg(&raw).arg(&json);
                async move { swap.invoke_async(&mut conn).await }
            })
            .await
            .map_err(|e| unavailable(&e))?;
            if swapped == 1 {
                if was_running && record.status.is_terminal() {
                    self.release(&record).await;
                }
                return Ok(Some(record));
            }
        }
        Err(StoreError::Unavailable(format!(
            "task {id} changed {SWAP_TRIES} times while this change was applied; retry"
        )))
    }
}
