//! Opening a 2026-07-28 `requestState`: arbitrary text, arbitrary payloads under a valid MAC
//! (what only a key holder could send, and so what the server parses after verification), and
//! seal-then-open round trips with key rotation.
//!
//! Input: a mode byte, then the text (0), the payload JSON (1), or `method NUL name NUL
//! principal NUL responses-JSON` (2).

#![no_main]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use mcp_mount::fuzzing::{open_request_state, seal_request_state};
use serde_json::{Map, Value};
use sha2::Sha256;

fn old() -> Vec<u8> {
    vec![7; 32]
}

fn new() -> Vec<u8> {
    vec![9; 32]
}

/// `base64(payload).base64(HMAC-SHA256(key, base64(payload)))`, as the server seals.
fn sealed(key: &[u8], payload: &[u8]) -> String {
    let payload = STANDARD.encode(payload);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|e| panic!("{e}"));
    mac.update(payload.as_bytes());
    format!("{payload}.{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fuzz_target!(|bytes: &[u8]| {
    let [mode, rest @ ..] = bytes else {
        return;
    };
    let ring = [new(), old()];
    match mode % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            let _ = open_request_state(&ring, &text, "tools/call", "t", None);
            let _ = open_request_state(&ring, &text, "prompts/get", "p", Some("alice"));
        }
        1 => {
            let text = sealed(&old(), rest);
            let _ = open_request_state(&ring, &text, "tools/call", "t", None);
            let _ = open_request_state(&ring, &text, "resources/read", "test://x", Some("alice"));
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let mut pieces = text.splitn(4, '\0');
            let method = pieces.next().unwrap_or("");
            let name = pieces.next().unwrap_or("");
            let principal = pieces.next().filter(|p| !p.is_empty());
            let responses: Map<String, Value> = pieces
                .next()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default();
            let Some(state) = seal_request_state(
                &[old()],
                method,
                name,
                principal,
                Duration::from_secs(600),
                responses.clone(),
            ) else {
                panic!("cannot seal {method:?} {name:?}");
            };
            // The same request opens it, under the old key alone or a ring that rotated.
            for keys in [vec![old()], ring.to_vec()] {
                match open_request_state(&keys, &state, method, name, principal) {
                    Ok(opened) => assert_eq!(opened, responses),
                    Err(why) => panic!("{method:?} {name:?}: {why}"),
                }
            }
            // Another key, or another request, does not.
            assert!(open_request_state(&[new()], &state, method, name, principal).is_err());
            let other = format!("{name}x");
            assert!(open_request_state(&ring, &state, method, &other, principal).is_err());
            assert!(
                open_request_state(&ring, &state, method, name, Some("mallory")).is_err()
                    || principal == Some("mallory")
            );
        }
    }
});
