//! The key layout. Every key of a session carries the hash tag `{sid}`, so Redis Cluster keeps
//! all of them on one slot and a script may touch them together.
//!
//! | key | type | what |
//! |---|---|---|
//! | `{p}:{sid}:s` | hash | `j`: the state as created (JSON); `i`: initialized; `l`: log level; `n`: what a later `initialize` negotiated (JSON) |
//! | `{p}:{sid}:sub` | set | the subscribed resource URIs |
//! | `{p}:{sid}:l` | hash | the event log's counters: `n` streams opened; per stream `k`: `q{k}` next sequence number, `z{k}` last logged one, `b{k}` bytes kept, `f{k}` finished, `r{k}` the request it answers (JSON id), `h{k}` its writer's heartbeat deadline (ms, Redis's clock) |
//! | `{p}:{sid}:ev:{k}` | stream | the kept events of SSE stream `k`, entry id `{seq}-1`, fields `d` (data) and `p` (sequence number of the logged event before it) |
//! | `{p}:sessions` | sorted set | live session ids scored by expiry (ms since the epoch): the cap |
//! | `{p:sessions}:o:{owner}` | sorted set | with a per-client cap, the session ids of one owner (a principal or a client address); the hash tag is the live set's whole name, so both share a slot |
//! | `{p}:{tid}:t` | string | a task's record (JSON), expiring at its creation plus its TTL |
//! | `{p}:tasks` | sorted set | running task ids scored by expiry: the cap on tasks |
//! | `{p:tasks}:c:{client}` | sorted set | the running task ids of one client (a principal or an address), on the slot of `{p}:tasks` |
//! | `{p}:b` | channel | the message bus |

/// Builds the keys under one prefix.
#[derive(Debug)]
pub(crate) struct Keys {
    prefix: String,
    live: String,
    tasks: String,
    channel: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            live: format!("{prefix}:sessions"),
            tasks: format!("{prefix}:tasks"),
            channel: format!("{prefix}:b"),
        }
    }

    fn session(&self, sid: &str, kind: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + sid.len() + kind.len() + 4);
        key.push_str(&self.prefix);
        key.push_str(":{");
        key.push_str(sid);
        key.push_str("}:");
        key.push_str(kind);
        key
    }

    /// The session's state hash.
    pub(crate) fn state(&self, sid: &str) -> String {
        self.session(sid, "s")
    }

    /// The session's subscriptions.
    pub(crate) fn subscriptions(&self, sid: &str) -> String {
        self.session(sid, "sub")
    }

    /// The event log's counters of the session.
    pub(crate) fn log(&self, sid: &str) -> String {
        self.session(sid, "l")
    }

    /// The kept events of stream `stream` of the session.
    pub(crate) fn events(&self, sid: &str, stream: u32) -> String {
        self.session(sid, &format!("ev:{stream}"))
    }

    /// The sorted set of live sessions.
    pub(crate) fn live(&self) -> &str {
        &self.live
    }

    /// The sessions of `owner`, on the live set's slot: its hash tag is the live set's
    /// whole name (which has no braces, so Redis Cluster hashes all of it).
    pub(crate) fn owner(&self, owner: &str) -> String {
        format!("{{{}}}:o:{owner}", self.live)
    }

    /// A task's record.
    pub(crate) fn task(&self, tid: &str) -> String {
        self.session(tid, "t")
    }

    /// The sorted set of running tasks.
    pub(crate) fn tasks(&self) -> &str {
        &self.tasks
    }

    /// The running tasks of `client`, on the slot of [`tasks`](Self::tasks).
    pub(crate) fn client_tasks(&self, client: &str) -> String {
        format!("{{{}}}:c:{client}", self.tasks)
    }

    /// The bus channel.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }
}

/// Whether `id` can name a session here: 1 to 128 visible ASCII characters other than the
/// braces of hash tags. Anything else (a client may send any `Mcp-Session-Id`) is no session,
/// answered without asking Redis.
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_session_shares_its_hash_tag() {
        let keys = Keys::new("mcp");
        let sid = "0123456789abcdef0123456789abcdef";
        for key in [
            keys.state(sid),
            keys.subscriptions(sid),
            keys.log(sid),
            keys.events(sid, 7),
        ] {
            assert!(
                key.starts_with("mcp:{0123456789abcdef0123456789abcdef}:"),
                "{key}"
            );
        }
        assert_eq!(keys.events(sid, 7), format!("mcp:{{{sid}}}:ev:7"));
        assert!(valid_id(sid));
        for bad in ["", "a}b", "{x", "a b", "é", &"a".repeat(129)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
