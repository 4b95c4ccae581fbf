//! `Last-Event-ID` values: an id the parser accepts is `stream-seq` and writes back as itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_mount::fuzzing::last_event_id;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Some(id) = last_event_id(text) {
        let written = format!("{}-{}", id.stream, id.seq);
        assert_eq!(last_event_id(&written), Some(id), "{text:?}");
        let (stream, seq) = text.trim().split_once('-').unwrap_or_default();
        assert_eq!(stream.parse::<u32>().ok(), Some(id.stream), "{text:?}");
        assert_eq!(seq.parse::<u32>().ok(), Some(id.seq), "{text:?}");
    }
});
