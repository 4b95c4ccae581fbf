//! Multi round-trip requests (2026-07-28): the integrity-protected `requestState` that lets a
//! stateless server resume a handler that asked the client for input.
//!
//! A handler is resumed by running it again: its n-th request to the client is answered from
//! the n-th input response (key `input-<n>`). The state carries every response given so far,
//! the originating method and name, the principal and an expiry, sealed with HMAC-SHA256 under
//! the first key of the server's [`KeyRing`] and opened with any of its keys, so keys rotate
//! without breaking retries in flight, and every replica that shares the ring opens what any
//! of them sealed.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::protocol::codec;
use crate::session::task::now_ms;

/// The shortest `requestState` key accepted: 256 bits, the size of the HMAC-SHA256 output.
pub(crate) const MIN_KEY_BYTES: usize = 32;

/// The keys of `requestState`: the first seals, every one opens.
#[derive(Clone)]
pub(crate) struct KeyRing {
    keys: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl KeyRing {
    /// A ring of `keys`, newest first; `Err` names the first one shorter than
    /// [`MIN_KEY_BYTES`], or says the ring is empty.
    pub(crate) fn new(keys: Vec<Box<[u8]>>) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("request_state_keys needs at least one key".to_owned());
        }
        if let Some(i) = keys.iter().position(|k| k.len() < MIN_KEY_BYTES) {
            return Err(format!(
                "request_state_keys: key {i} has {} bytes; each needs at least {MIN_KEY_BYTES} (e.g. 32 random bytes)",
                keys[i].len()
            ));
        }
        Ok(Self { keys })
    }

    /// One random key, for a server that runs alone.
    pub(crate) fn random() -> Result<Self, getrandom::Error> {
        let mut key = vec![0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut key)?;
        Ok(Self {
            keys: vec![key.into_boxed_slice()],
        })
    }

    fn sealing(&self) -> &[u8] {
        self.keys.first().map_or(&[], |k| k)
    }
}

/// HMAC-SHA256 (RFC 2104) over `message`, keyed with `key`.
///
/// `None` only if the `hmac` crate refused the key, which it does for no key length.
fn mac(key: &[u8], message: &[u8]) -> Option<Hmac<Sha256>> {
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
    #[serde(deserialize_with = "exact::map")]
    pub(crate) r: Map<String, Value>,
}

/// Reading the input responses back exactly as they were written.
///
/// `serde_json::Value` takes an object whose first key is serde_json's private raw-value token
/// (`$serde_json::private::RawValue`, with the `raw_value` feature this crate uses) for a raw
/// value. A client may send that key anywhere in an object; written from a sorted map it
/// comes first, and the state would no longer open (found by fuzz/request_state). So the
/// responses are read with a visitor of our own, which takes every key for a key.
mod exact {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Number, Value};

    /// A JSON value read without the raw-value token's special meaning.
    struct Exact(Value);

    impl<'de> Deserialize<'de> for Exact {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ExactVisitor).map(Exact)
        }
    }

    struct ExactVisitor;

    impl<'de> Visitor<'de> for ExactVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(Exact(item)) = seq.next_element()? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
            let mut map = Map::new();
            while let Some((key, Exact(value))) = access.next_entry::<String, Exact>()? {
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
    }

    /// `deserialize_with` for a map of JSON values.
    pub(super) fn map<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Map<String, Value>, D::Error> {
        match deserializer.deserialize_any(ExactVisitor)? {
            Value::Object(map) => Ok(map),
            _ => Err(de::Error::custom("expected a JSON object")),
        }
    }
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
            exp: now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            r: responses,
        }
    }

    /// `base64(json).base64(mac)`; `None` when it cannot be sealed.
    pub(crate) fn seal(&self, keys: &KeyRing) -> Option<String> {
        let payload = codec::encode(&serde_json::to_vec(self).ok()?);
        let tag = mac(keys.sealing(), payload.as_bytes())?
            .finalize()
            .into_bytes();
        Some(format!("{payload}.{}", codec::encode(&tag)))
    }

    /// The state in `text`, when its MAC is ours, it has not expired, and it was issued for
    /// this method, name and principal; otherwise why not.
    pub(crate) fn open(
        keys: &KeyRing,
        text: &str,
        method: &str,
        name: &str,
        principal: Option<&str>,
    ) -> Result<Self, &'static str> {
        let (payload, tag) = text.split_once('.').ok_or("it is malformed")?;
        let tag = codec::decode_strict(tag).ok_or("it is malformed")?;
        // Constant-time comparison, by the `hmac` crate, against every key of the ring.
        let verified = keys.keys.iter().any(|key| {
            mac(key, payload.as_bytes()).is_some_and(|mac| mac.verify_slice(&tag).is_ok())
        });
        if !verified {
            return Err(
                "it fails verification (sealed with a key this server does not hold: set the same request_state_keys on every replica)",
            );
        }
        let json = codec::decode_strict(payload).ok_or("it is malformed")?;
        let state: Self = serde_json::from_slice(&json).map_err(|_| "it is malformed")?;
        if state.exp < now_ms() {
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
        // RFC 4231 test case 2, with its 4-byte key.
        let Some(tag) = mac(b"Jefe", b"what do ya want for nothing?") else {
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
        let ring = |bytes: &[&[u8; 32]]| {
            KeyRing::new(
                bytes
                    .iter()
                    .map(|b| b.to_vec().into_boxed_slice())
                    .collect(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let key = ring(&[&[7u8; 32]]);
        let state = State::new("tools/call", "t", None, Duration::from_secs(60), Map::new());
        let Some(sealed) = state.seal(&key) else {
            panic!("not sealed")
        };
        assert!(State::open(&key, &sealed, "tools/call", "t", None).is_ok());
        assert!(State::open(&key, &sealed, "tools/call", "other", None).is_err());
        assert!(State::open(&ring(&[&[8u8; 32]]), &sealed, "tools/call", "t", None).is_err());
        let mut tampered = sealed.clone();
        tampered.insert(0, 'A');
        assert!(State::open(&key, &tampered, "tools/call", "t", None).is_err());
        // Rotation: a new key seals, the previous one still opens what it sealed.
        let rotated = ring(&[&[9u8; 32], &[7u8; 32]]);
        assert!(State::open(&rotated, &sealed, "tools/call", "t", None).is_ok());
        let Some(resealed) = state.seal(&rotated) else {
            panic!("not sealed")
        };
        assert!(State::open(&key, &resealed, "tools/call", "t", None).is_err());
        assert!(State::open(&rotated, &resealed, "tools/call", "t", None).is_ok());
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(KeyRing::new(Vec::new()).is_err());
        let short = KeyRing::new(vec![vec![1u8; 31].into_boxed_slice()]);
        assert!(short.is_err_and(|e| e.contains("key 0 has 31 bytes")));
    }
}
