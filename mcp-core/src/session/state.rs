//! What a session *is*, as plain data: everything a replica needs to serve it, and nothing
//! live. Stores keep this; every replica builds its own runtime around it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::model::LoggingLevel;

/// The most resources one session may subscribe to, so a client cannot grow its session
/// without bound.
pub const MAX_SUBSCRIPTIONS: usize = 1024;

/// A session's state: what `initialize` negotiated and what the client changed since.
///
/// Serializable, so any store can keep it (the default keeps it in memory; `mcp-mount-redis`
/// in Redis). Changes go through [`SessionChange`] so that a store can apply them without a
/// read-modify-write race.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionState {
    /// The session id, as sent in `Mcp-Session-Id`: 128 random bits in hex.
    pub id: String,
    /// The protocol version negotiated at `initialize`.
    pub protocol_version: String,
    /// The capabilities the client declared at `initialize`.
    pub client_capabilities: Value,
    /// The `clientInfo` the client sent at `initialize`.
    pub client_info: Value,
    /// The principal the session is bound to, when sessions are bound
    /// ([`bind_sessions`](crate::McpServerBuilder::bind_sessions)).
    pub principal: Option<String>,
    /// The minimum level of `notifications/message` the client asked for.
    pub log_level: LoggingLevel,
    /// Whether the client sent `notifications/initialized`.
    pub initialized: bool,
    /// The resource URIs the client subscribed to (`resources/subscribe`).
    pub subscriptions: BTreeSet<String>,
    /// Which transport the session speaks.
    #[serde(default)]
    pub transport: Transport,
    /// Who the per-client cap counts this session against
    /// ([`max_sessions_per_client`](crate::McpServerBuilder::max_sessions_per_client)):
    /// `principal:<p>` for a session bound to a principal, else `address:<ip>` (an IPv6
    /// client by its /64); `None` when that cap is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// The transport a session was opened on; a session is only ever served on its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Transport {
    /// Streamable HTTP: `initialize` on the endpoint, `Mcp-Session-Id` on every request.
    #[default]
    Streamable,
    /// The 2024-11-05 HTTP+SSE transport: a `/sse` stream and `/messages` posts.
    HttpSse,
}

/// One change to a [`SessionState`], as the client's requests make them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SessionChange {
    /// `notifications/initialized` arrived.
    Initialized,
    /// `logging/setLevel`.
    LogLevel(LoggingLevel),
    /// `resources/subscribe`.
    Subscribe(String),
    /// `resources/unsubscribe`.
    Unsubscribe(String),
    /// `initialize` arrived on a session opened before it (an HTTP+SSE stream's).
    Negotiated {
        /// The version negotiated.
        protocol_version: String,
        /// The capabilities the client declared.
        client_capabilities: Value,
        /// The `clientInfo` it sent.
        client_info: Value,
    },
}

/// A change the state refuses: a subscription past [`MAX_SUBSCRIPTIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManySubscriptions;

impl std::fmt::Display for TooManySubscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a session may hold at most {MAX_SUBSCRIPTIONS} subscriptions"
        )
    }
}

impl std::error::Error for TooManySubscriptions {}

impl SessionState {
    /// A new session's state, with a fresh random id.
    ///
    /// # Errors
    ///
    /// The operating system has no randomness to give.
    pub fn new(
        protocol_version: &str,
        client_capabilities: Value,
        client_info: Value,
        principal: Option<String>,
    ) -> Result<Self, getrandom::Error> {
        Ok(Self {
            id: new_session_id()?,
            protocol_version: protocol_version.to_owned(),
            client_capabilities,
            client_info,
            principal,
            log_level: LoggingLevel::Debug,
            initialized: false,
            subscriptions: BTreeSet::new(),
            transport: Transport::Streamable,
            owner: None,
        })
    }

    /// Applies `change`; what a store calls, atomically, for every change.
    ///
    /// # Errors
    ///
    /// [`TooManySubscriptions`] for a new subscription past the cap; the state is unchanged.
    pub fn apply(&mut self, change: &SessionChange) -> Result<(), TooManySubscriptions> {
        match change {
            SessionChange::Initialized => self.initialized = true,
            SessionChange::LogLevel(level) => self.log_level = *level,
            SessionChange::Subscribe(uri) => {
                if self.subscriptions.len() >= MAX_SUBSCRIPTIONS
                    && !self.subscriptions.contains(uri)
                {
                    return Err(TooManySubscriptions);
                }
                self.subscriptions.insert(uri.clone());
            }
            SessionChange::Unsubscribe(uri) => {
                self.subscriptions.remove(uri);
            }
            SessionChange::Negotiated {
                protocol_version,
                client_capabilities,
                client_info,
            } => {
                self.protocol_version.clone_from(protocol_version);
                self.client_capabilities = client_capabilities.clone();
                self.client_info = client_info.clone();
            }
        }
        Ok(())
    }
}

/// 128 random bits as 32 lowercase hex characters (visible ASCII, as the spec requires).
pub(crate) fn new_session_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut id = String::with_capacity(32);
    for b in bytes {
        id.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        id.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_json_and_applies_changes() {
        let Ok(mut state) = SessionState::new("2025-11-25", Value::Null, Value::Null, None) else {
            panic!("no randomness")
        };
        assert_eq!(state.id.len(), 32);
        for change in [
            SessionChange::Initialized,
            SessionChange::LogLevel(LoggingLevel::Error),
            SessionChange::Subscribe("test://a".into()),
            SessionChange::Subscribe("test://b".into()),
            SessionChange::Unsubscribe("test://a".into()),
        ] {
            assert_eq!(state.apply(&change), Ok(()));
        }
        let json = serde_json::to_string(&state).unwrap_or_default();
        let back: SessionState = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, state);
        assert!(back.initialized);
        assert_eq!(back.log_level, LoggingLevel::Error);
        assert_eq!(back.subscriptions.iter().collect::<Vec<_>>(), ["test://b"]);
    }

    #[test]
    fn subscriptions_are_capped() {
        let Ok(mut state) = SessionState::new("2025-11-25", Value::Null, Value::Null, None) else {
            panic!("no randomness")
        };
        for i in 0..MAX_SUBSCRIPTIONS {
            assert_eq!(
                state.apply(&SessionChange::Subscribe(format!("u://{i}"))),
                Ok(())
            );
        }
        let more = SessionChange::Subscribe("u://more".into());
        assert_eq!(state.apply(&more), Err(TooManySubscriptions));
        // Subscribing again to one already held is not a new subscription.
        assert_eq!(
            state.apply(&SessionChange::Subscribe("u://0".into())),
            Ok(())
        );
    }
}
