//! The session store on Redis: a hash per session with an idle `PEXPIRE`, its subscriptions
//! in a set beside it, and the cap as a sorted set of live sessions scored by expiry.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use mcp_mount::cluster::{
    MAX_SUBSCRIPTIONS, SessionChange, SessionState, SessionStore, StoreError, TooManySubscriptions,
};
use mcp_mount::model::LoggingLevel;
use redis::Script;
use serde::{Deserialize, Serialize};

use crate::keys::valid_id;
use crate::{RedisOptions, Shared, now_ms, run, unavailable};

/// Refreshes every key of a live session and returns its state as `[j, i, l, n, sub…]`; `nil`
/// when there is no such session. KEYS: state, subscriptions, log counters, standalone stream.
/// ARGV: idle TTL in ms.
const LOAD: &str = r"
local v = redis.call('HMGET', KEYS[1], 'j', 'i', 'l', 'n')
if not v[1] then return false end
for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[1]) end
local r = {v[1], v[2] or '', v[3] or '', v[4] or ''}
local subs = redis.call('SMEMBERS', KEYS[2])
for k = 1, #subs do r[#r + 1] = subs[k] end
return r
";

/// `SessionState::apply` on the keys of a session, then `LOAD`; `{'!'}` for a subscription
/// past the cap (nothing changed). ARGV: TTL, change (`i`, `l`, `s`, `u`, `n`), its value,
/// the subscription cap.
const CHANGE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local kind = ARGV[2]
if kind == 'i' then
  redis.call('HSET', KEYS[1], 'i', '1')
elseif kind == 'l' then
  redis.call('HSET', KEYS[1], 'l', ARGV[3])
elseif kind == 's' then
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0
     and redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then
    return {'!'}
  end
  redis.call('SADD', KEYS[2], ARGV[3])
elseif kind == 'u' then
  redis.call('SREM', KEYS[2], ARGV[3])
elseif kind == 'n' then
  redis.call('HSET', KEYS[1], 'n', ARGV[3])
end
local v = redis.call('HMGET', KEYS[1], 'j', 'i', 'l', 'n')
for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[1]) end
local r = {v[1], v[2] or '', v[3] or '', v[4] or ''}
local subs = redis.call('SMEMBERS', KEYS[2])
for k = 1, #subs do r[#r + 1] = subs[k] end
return r
";

/// Takes a place under the caps: drops expired entries, adds `sid`. With an owner's set
/// (KEYS[2], the per-client cap in ARGV[7]), an owner at its cap first has its own
/// longest-idle session make room if idle long enough (else -1); then, when the live set is
/// full, the longest-idle session overall does (else 0). Returns 1, or the id of the
/// session that made room, for its keys to be deleted. A score is the session's expiry, so
/// its idle time is `now - (score - ttl)`; the owner's set only names its sessions (their
/// scores are read from the live set, which every request refreshes).
/// KEYS: the live set[, the owner's set]. ARGV: now, expiry, cap, sid, ttl, evict-after (ms)
/// [, per-client cap].
const RESERVE: &str = r"
local now, ttl, evict = tonumber(ARGV[1]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local victim = false
if KEYS[2] then
  local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
  local live, oldest, oldest_score = 0, false, false
  for i = 1, #ids do
    local score = redis.call('ZSCORE', KEYS[1], ids[i])
    if not score then
      redis.call('ZREM', KEYS[2], ids[i])
    elseif ids[i] ~= ARGV[4] then
      live = live + 1
      score = tonumber(score)
      if not oldest_score or score < oldest_score then oldest, oldest_score = ids[i], score end
    end
  end
  if live >= tonumber(ARGV[7]) then
    if now - (oldest_score - ttl) < evict then return -1 end
    victim = oldest
    redis.call('ZREM', KEYS[1], victim)
    redis.call('ZREM', KEYS[2], victim)
  end
end
if not victim and not redis.call('ZSCORE', KEYS[1], ARGV[4])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not oldest[1] or now - (tonumber(oldest[2]) - ttl) < evict then
    return 0
  end
  victim = oldest[1]
  redis.call('ZREM', KEYS[1], victim)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
if KEYS[2] then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
if victim then return victim end
return 1
";

static LOAD_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(LOAD));
static CHANGE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CHANGE));
static RESERVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RESERVE));

/// Sessions in Redis, shared by every replica: idle TTL and cap hold across the cluster.
///
/// - `{prefix}:{sid}:s` — hash: `j` the state as created (JSON), `i` initialized, `l` log
///   level, `n` what a later `initialize` negotiated (JSON); `PEXPIRE` = the idle TTL,
///   refreshed by `load`, `change` and `touch`.
/// - `{prefix}:{sid}:sub` — set of subscribed resource URIs, expiring with it.
/// - `{prefix}:sessions` — sorted set of live sessions scored by expiry; `create` drops the
///   expired ones and refuses past the cap ([`StoreError::Full`]), atomically.
/// - `{{prefix}:sessions}:o:{owner}` — with a per-client cap, the sessions of each owner
///   ([`SessionState::owner`]), on the live set's slot so one script holds both caps; it
///   expires a TTL after the owner's last new session.
///
/// `load`, `change` and `touch` are one round trip (a script on the session's slot,
/// pipelined with the refresh of its score); `create` is one, two when full.
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    shared: Shared,
}

impl RedisSessionStore {
    /// Connects a store alone (without the log and the bus) to `url`.
    ///
    /// # Errors
    ///
    /// A bad URL or key prefix, or Redis cannot be reached now.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, crate::Error> {
        Ok(Self::from_shared(Shared::connect(url, options).await?))
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self { shared }
    }

    fn session_keys(&self, id: &str) -> [String; 4] {
        let keys = &self.shared.keys;
        [
            keys.state(id),
            keys.subscriptions(id),
            keys.log(id),
            keys.events(id, 0),
        ]
    }

    fn expiry(&self) -> u64 {
        now_ms().saturating_add(self.shared.options.ttl_ms())
    }

    /// Runs `script` on `id`'s keys with `args` after the TTL, pipelined with the refresh of
    /// the session's score; `None` when the session is gone (then its score is dropped too,
    /// which the refresh may have brought back).
    async fn on_session(
        &self,
        id: &str,
        script: &Script,
        args: &[&str],
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let keys = self.session_keys(id);
        let ttl = self.shared.options.ttl_ms();
        let live = self.shared.keys.live();
        let expiry = self.expiry();
        // Every change is idempotent (setting a flag, a level, a set member), so a dropped
        // connection's call may be repeated.
        let reply: Option<Vec<Vec<u8>>> = run(&self.shared.conn, &[script], true, |mut conn| {
            let mut invocation = script.prepare_invoke();
            for key in &keys {
                invocation.key(key);
            }
            invocation.arg(ttl);
            for arg in args {
                invocation.arg(*arg);
            }
            let mut pipe = redis::pipe();
            pipe.invoke_script(&invocation)
                .cmd("ZADD")
                .arg(live)
                .arg("XX")
                .arg(expiry)
                .arg(id)
                .ignore();
            async move {
                let (reply,): (Option<Vec<Vec<u8>>>,) = pipe.query_async(&mut conn).await?;
                Ok(reply)
            }
        })
        .await
        .map_err(|e| unavailable(&e))?;
        if reply.is_none() {
            self.forget_score(id).await?;
        }
        Ok(reply)
    }

    async fn forget_score(&self, id: &str) -> Result<(), StoreError> {
        let live = self.shared.keys.live();
        run(&self.shared.conn, &[], true, |mut conn| {
            let mut zrem = redis::cmd("ZREM");
            zrem.arg(live).arg(id);
            async move { zrem.exec_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))
    }
}

/// What `SessionChange::Negotiated` sets, kept as JSON in the state's field `n`.
#[derive(Serialize, Deserialize)]
struct Negotiated {
    protocol_version: String,
    client_capabilities: serde_json::Value,
    client_info: serde_json::Value,
}

/// The state from what `LOAD` returns: the JSON it was created with, then what changed.
fn decode(reply: &[Vec<u8>]) -> Result<SessionState, StoreError> {
    let corrupt =
        |why: String| StoreError::Unavailable(format!("a corrupt session in Redis: {why}"));
    let [json, initialized, level, negotiated, subscriptions @ ..] = reply else {
        return Err(corrupt("a short reply".into()));
    };
    let mut state: SessionState =
        serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))?;
    if initialized.as_slice() == b"1" {
        state.initialized = true;
    }
    if !level.is_empty() {
        let level = String::from_utf8_lossy(level).into_owned();
        state.log_level = serde_json::from_value::<LoggingLevel>(serde_json::Value::String(level))
            .map_err(|e| corrupt(e.to_string()))?;
    }
    if !negotiated.is_empty() {
        let negotiated: Negotiated =
            serde_json::from_slice(negotiated).map_err(|e| corrupt(e.to_string()))?;
        state.protocol_version = negotiated.protocol_version;
        state.client_capabilities = negotiated.client_capabilities;
        state.client_info = negotiated.client_info;
    }
    state.subscriptions = subscriptions
        .iter()
        .map(|uri| String::from_utf8_lossy(uri).into_owned())
        .collect::<BTreeSet<String>>();
    Ok(state)
}

/// A change as the `CHANGE` script's kind and value.
fn encode(change: &SessionChange) -> Result<(&'static str, String), StoreError> {
    Ok(match change {
        SessionChange::Initialized => ("i", String::new()),
        SessionChange::LogLevel(level) => {
            let value = serde_json::to_value(level)
                .map_err(|e| StoreError::Unavailable(format!("a log level as JSON: {e}")))?;
            ("l", value.as_str().unwrap_or("debug").to_owned())
        }
        SessionChange::Subscribe(uri) => ("s", uri.clone()),
        SessionChange::Unsubscribe(uri) => ("u", uri.clone()),
        SessionChange::Negotiated {
            protocol_version,
            client_capabilities,
            client_info,
        } => {
            let negotiated = serde_json::to_string(&Negotiated {
                protocol_version: protocol_version.clone(),
                client_capabilities: client_capabilities.clone(),
                client_info: client_info.clone(),
            })
            .map_err(|e| StoreError::Unavailable(format!("a negotiation as JSON: {e}")))?;
            ("n", negotiated)
        }
        other => {
            return Err(StoreError::Unavailable(format!(
                "mcp-mount-redis does not know the session change {other:?}; use the \
                 mcp-mount-redis of the same release as mcp-mount"
            )));
        }
    })
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, state: SessionState) -> Result<Option<String>, StoreError> {
        if !valid_id(&state.id) {
            return Err(StoreError::Unavailable(format!(
                "the session id {:?} cannot name a Redis key",
                state.id
            )));
        }
        let json = serde_json::to_vec(&state)
            .map_err(|e| StoreError::Unavailable(format!("a session as JSON: {e}")))?;
        let [state_key, subs_key, ..] = self.session_keys(&state.id);
        // Until its handshake completes a session lives only the (shorter) handshake TTL; the
        // change to initialized refreshes it to the whole TTL.
        let ttl = if state.initialized {
            self.shared.options.ttl_ms()
        } else {
            self.shared.options.handshake_ttl_ms()
        };
        let (now, expiry) = (now_ms(), self.expiry());
        let cap = self.shared.options.max_sessions;
        let id = state.id.as_str();
        let live = self.shared.keys.live();
        let full_ttl = self.shared.options.ttl_ms();
        let evict_after = self.shared.options.evict_after_ms();
        let owner = self
            .shared
            .options
            .max_sessions_per_client
            .zip(state.owner.as_deref())
            .map(|(per_client, owner)| (self.shared.keys.owner(owner), per_client));
        // Placing the same id twice takes one place: the call may be repeated.
        let placed: redis::Value = run(&self.shared.conn, &[&RESERVE_SCRIPT], true, |mut conn| {
            let mut reserve = RESERVE_SCRIPT.prepare_invoke();
            reserve.key(live);
            if let Some((owner_key, _)) = &owner {
                reserve.key(owner_key);
            }
            reserve
                .arg(now)
                .arg(expiry)
                .arg(cap)
                .arg(id)
                .arg(full_ttl)
                .arg(evict_after);
            if let Some((_, per_client)) = &owner {
                reserve.arg(*per_client);
            }
            let mut pipe = redis::pipe();
            pipe.invoke_script(&reserve);
            // Written in the same round trip, and taken back in the rare case of a full
            // store: the id is fresh, so no other request can see it meanwhile.
            pipe.cmd("HSET")
                .arg(&state_key)
                .arg("j")
                .arg(&json)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&state_key)
                .arg(ttl)
                .ignore();
            if !state.subscriptions.is_empty() {
                pipe.cmd("SADD")
                    .arg(&subs_key)
                    .arg(&state.subscriptions)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&subs_key)
                    .arg(ttl)
                    .ignore();
            }
            async move {
                let (placed,): (redis::Value,) = pipe.query_async(&mut conn).await?;
                Ok(placed)
            }
        })
        .await
        .map_err(|e| unavailable(&e))?;
        match placed {
            redis::Value::Int(1) => return Ok(None),
            redis::Value::BulkString(victim) => {
                // The session that made room: its keys go now (the rest of its event log
                // expires on its own). A client that comes back for it gets 404.
                let victim = String::from_utf8_lossy(&victim).into_owned();
                if valid_id(&victim) {
                    let keys = self.session_keys(&victim);
                    // Not deleted now, they expire with the idle TTL: nothing is lost.
                    let _ = run(&self.shared.conn, &[], true, |mut conn| {
                        let mut del = redis::cmd("DEL");
                        del.arg(&keys[..]);
                        async move { del.exec_async(&mut conn).await }
                    })
                    .await;
                }
                return Ok(Some(victim));
            }
            _ => {}
        }
        run(&self.shared.conn, &[], true, |mut conn| {
            let mut del = redis::cmd("DEL");
            del.arg(&state_key).arg(&subs_key);
            async move { del.exec_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))?;
        match (placed, owner) {
            (redis::Value::Int(-1), Some((_, limit))) => Err(StoreError::OwnerFull { limit }),
            _ => Err(StoreError::Full),
        }
    }

    async fn load(&self, id: &str) -> Result<Option<Arc<SessionState>>, StoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        match self.on_session(id, &LOAD_SCRIPT, &[]).await? {
            Some(reply) => Ok(Some(Arc::new(decode(&reply)?))),
            None => Ok(None),
        }
    }

    async fn change(
        &self,
        id: &str,
        change: &SessionChange,
    ) -> Result<Option<Arc<SessionState>>, StoreError> {
        if !valid_id(id) {
            return Ok(None);
        }
        let (kind, value) = encode(change)?;
        let cap = MAX_SUBSCRIPTIONS.to_string();
        match self
            .on_session(id, &CHANGE_SCRIPT, &[kind, &value, &cap])
            .await?
        {
            Some(reply) if reply.first().is_some_and(|r| r.as_slice() == b"!") => {
                Err(StoreError::Refused(TooManySubscriptions))
            }
            Some(reply) => Ok(Some(Arc::new(decode(&reply)?))),
            None => Ok(None),
        }
    }

    async fn touch(&self, id: &str) -> Result<bool, StoreError> {
        if !valid_id(id) {
            return Ok(false);
        }
        let keys = self.session_keys(id);
        let ttl = self.shared.options.ttl_ms();
        let (live, expiry) = (self.shared.keys.live(), self.expiry());
        let (state, _, _, _): (bool, bool, bool, bool) =
            run(&self.shared.conn, &[], true, |mut conn| {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.cmd("PEXPIRE").arg(key).arg(ttl);
                }
                pipe.cmd("ZADD")
                    .arg(live)
                    .arg("XX")
                    .arg(expiry)
                    .arg(id)
                    .ignore();
                async move { pipe.query_async(&mut conn).await }
            })
            .await
            .map_err(|e| unavailable(&e))?;
        if !state {
            self.forget_score(id).await?;
        }
        Ok(state)
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        if !valid_id(id) {
            return Ok(false);
        }
        let keys = &self.shared.keys;
        let (state, subscriptions) = (keys.state(id), keys.subscriptions(id));
        // Repeated after a dropped connection, a removal that happened reads as none.
        let (removed, _, _): (u32, u32, u32) = run(&self.shared.conn, &[], true, |mut conn| {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL")
                .arg(&state)
                .cmd("DEL")
                .arg(&subscriptions)
                .cmd("ZREM")
                .arg(keys.live())
                .arg(id);
            async move { pipe.query_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))?;
        Ok(removed == 1)
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let live = self.shared.keys.live();
        run(&self.shared.conn, &[], true, |mut conn| {
            let mut zcount = redis::cmd("ZCOUNT");
            zcount.arg(live).arg(format!("({}", now_ms())).arg("+inf");
            async move { zcount.query_async(&mut conn).await }
        })
        .await
        .map_err(|e| unavailable(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_has_its_script_kind() {
        for (change, kind) in [
            (SessionChange::Initialized, "i"),
            (SessionChange::LogLevel(LoggingLevel::Warning), "l"),
            (SessionChange::Subscribe("u://a".into()), "s"),
            (SessionChange::Unsubscribe("u://a".into()), "u"),
            (
                SessionChange::Negotiated {
                    protocol_version: "2024-11-05".into(),
                    client_capabilities: serde_json::json!({}),
                    client_info: serde_json::json!({}),
                },
                "n",
            ),
        ] {
            assert_eq!(encode(&change).map(|(k, _)| k), Ok(kind));
        }
        assert_eq!(
            encode(&SessionChange::LogLevel(LoggingLevel::Warning)).map(|(_, v)| v),
            Ok("warning".to_owned())
        );
    }

    #[test]
    fn a_state_decodes_with_what_changed() {
        let Ok(state) = SessionState::new(
            "2025-11-25",
            serde_json::json!({}),
            serde_json::json!({"name": "t"}),
            None,
        ) else {
            panic!("no randomness")
        };
        let json = serde_json::to_vec(&state).unwrap_or_default();
        let negotiated = br#"{"protocol_version":"2024-11-05","client_capabilities":{"x":1},"client_info":{"name":"old"}}"#;
        let decoded = decode(&[
            json,
            b"1".to_vec(),
            b"error".to_vec(),
            negotiated.to_vec(),
            b"u://x".to_vec(),
        ]);
        let Ok(decoded) = decoded else {
            panic!("{decoded:?}")
        };
        assert!(decoded.initialized);
        assert_eq!(decoded.log_level, LoggingLevel::Error);
        assert_eq!(decoded.subscriptions.iter().collect::<Vec<_>>(), ["u://x"]);
        assert_eq!(decoded.protocol_version, "2024-11-05");
        assert_eq!(decoded.client_info, serde_json::json!({"name": "old"}));
        assert_eq!(decoded.client_capabilities, serde_json::json!({"x": 1}));
        assert_eq!(decoded.id, state.id);
    }
}
