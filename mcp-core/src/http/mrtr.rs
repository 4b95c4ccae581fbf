//! Multi round-trip requests (2026-07-28): the integrity-protected `requestState` that lets a
//! stateless server resume a handler that asked the client for input.
//!
//! A handler is resumed by running it again: its n-th request to the client is answered from
//! the n-th input response (key `input-<n>`). The state carries every response given so far,
//! the originating method and name, the principal and an expiry, sealed with HMAC-SHA256 under
//! a key drawn when the server is built.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::protocol::codec;

/// HMAC-SHA256 (RFC 2104) over `message`, keyed with `key`.
///
/// `None` only if the `hmac` crate refused the key, which it does for no key length.
fn mac(key: &[u8; 32], message: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac)
}

/// What a `requestState` says.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    /// The originating method.
    pub(crate) m: String,
    /// The originating tool or prompt name, or resource URI.
    pub(crate) n: String,
    /// The principal the request spoke for, when sessions are bound to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) p: Option<String>,
    /// Expiry, in milliseconds since the Unix epoch.
    pub(crate) exp: u64,
    /// Every input response given so far, by key.
    pub(crate) r: Map<String, Value>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl State {
    /// A state for the request, expiring after `ttl`.
    pub(crate) fn new(
        method: &str,
        name: &str,
        principal: Option<String>,
        ttl: Duration,
        responses: Map<String, Value>,
    ) -> Self {
        Self {
            m: method.to_owned(),
            n: name.to_owned(),
            p: principal,
            exp: now().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            r: responses,
        }
    }

    /// `base64(json).base64(mac)`; `None` when it cannot be sealed.
    pub(crate) fn seal(&self, key: &[u8; 32]) -> Option<String> {
        let payload = codec::encode(&serde_json::to_vec(self).ok()?);
        let tag = mac(key, payload.as_bytes())?.finalize().into_bytes();
        Some(format!("{payload}.{}", codec::encode(&tag)))
    }

    /// The state in `text`, when its MAC is ours, it has not expired, and it was issued for
    /// this method, name and principal; otherwise why not.
    pub(crate) fn open(
        key: &[u8; 32],
        text: &str,
        method: &str,
        name: &str,
        principal: Option<&str>,
    ) -> Result<Self, &'static str> {
        let (payload, tag) = text.split_once('.').ok_or("it is malformed")?;
        let tag = codec::decode_strict(tag).ok_or("it is malformed")?;
        // Constant-time comparison, by the `hmac` crate.
        mac(key, payload.as_bytes())
            .ok_or("it cannot be verified")?
            .verify_slice(&tag)
            .map_err(|_| "it fails verification")?;
        let json = codec::decode_strict(payload).ok_or("it is malformed")?;
        let state: Self = serde_json::from_slice(&json).map_err(|_| "it is malformed")?;
        if state.exp < now() {
            return Err("it has expired");
        }
        if state.m != method || state.n != name || state.p.as_deref() != principal {
            return Err("it was issued for another request");
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; zero-padding it to 32 bytes gives the same
        // HMAC, since HMAC pads short keys with zeros to the block size.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let Some(tag) = mac(&key, b"what do ya want for nothing?") else {
            panic!("no HMAC")
        };
        let tag = tag.finalize().into_bytes();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn state_round_trips_and_rejects_tampering() {
        let key = [7u8; 32];
        let state = State::new("tools/call", "t", None, Duration::from_secs(60), Map::new());
        let Some(sealed) = state.seal(&key) else {
            panic!("not sealed")
        };
        assert!(State::open(&key, &sealed, "tools/call", "t", None).is_ok());
        assert!(State::open(&key, &sealed, "tools/call", "other", None).is_err());
        assert!(State::open(&[8u8; 32], &sealed, "tools/call", "t", None).is_err());
        let mut tampered = sealed.clone();
        tampered.insert(0, 'A');
        assert!(State::open(&key, &tampered, "tools/call", "t", None).is_err());
    }
}
