//! The whole `McpServer::handle` pipeline (and `well_known`) on arbitrary requests: method,
//! path under the prefix, headers from a fixed set (live session ids among the values) and
//! body, to a session, a stateless, a 2026-07-28 and an OAuth server. See `src/harness.rs`.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use mcp_mount_fuzz::harness::Harness;
use mcp_mount_fuzz::input::Input;

thread_local! {
    static HARNESS: RefCell<Option<Harness>> = const { RefCell::new(None) };
}

fuzz_target!(|input: Input| {
    HARNESS.with(|harness| {
        harness
            .borrow_mut()
            .get_or_insert_with(Harness::new)
            .run(&input);
    });
});
