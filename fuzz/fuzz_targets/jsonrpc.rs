//! The JSON-RPC envelope and its classification, on a body and (as a batch is taken apart) on
//! each element of an array. An answer the server writes must be JSON and echo the id.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_mount::fuzzing::{JsonRpc, parse_jsonrpc};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Value,
}

/// Whether two JSON ids are the same id (numbers by value: `-0` is `0`).
fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
                a == b
            } else if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
                a == b
            } else {
                a.as_f64() == b.as_f64()
            }
        }
        _ => a == b,
    }
}

fn check(bytes: &[u8]) {
    match parse_jsonrpc(bytes) {
        JsonRpc::NotAnEnvelope => {}
        JsonRpc::Invalid(answer) => {
            let answer: Value = serde_json::from_slice(&answer)
                .unwrap_or_else(|e| panic!("the error answer is not JSON ({e}): {answer:?}"));
            assert!(answer["error"]["code"].is_i64(), "{answer}");
        }
        JsonRpc::Message(_, None) => {}
        JsonRpc::Message(message, Some(answer)) => {
            let answer: Value = serde_json::from_slice(&answer)
                .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {answer:?}"));
            // Read as leniently as the envelope is: serde_json skips the members it ignores
            // without checking them (their strings need not even be UTF-8).
            let sent: IdOnly = serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("an envelope whose id is not JSON ({e}): {message}"));
            assert!(
                same_id(&answer["id"], &sent.id),
                "id {} answered as {}",
                sent.id,
                answer["id"]
            );
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    check(bytes);
    if let Ok(elements) = serde_json::from_slice::<Vec<&RawValue>>(bytes) {
        for element in elements {
            check(element.get().as_bytes());
        }
    }
});
