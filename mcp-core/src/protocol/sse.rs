//! The SSE event format of MCP's streams: event ids `{stream}-{seq}`, `message` events and
//! the priming events of SEP-1699. Framing only; the HTTP response lives in `http::sse`.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;

/// An SSE event id: the stream it belongs to and its place in that stream, written `stream-seq`.
///
/// Ids are unique within a session, and a `Last-Event-ID` names the stream to resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventId {
    /// The stream: 0 is a session's standalone GET stream, request streams count from 1.
    pub stream: u32,
    /// The event's place in its stream, from 0 (the priming event of a request stream).
    pub seq: u32,
}

impl EventId {
    /// Parses `stream-seq`; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (stream, seq) = text.trim().split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(stream) || !digits(seq) {
            return None;
        }
        Some(Self {
            stream: stream.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    fn write(self, out: &mut Vec<u8>) {
        let mut text = String::with_capacity(24);
        // Writing to a String cannot fail.
        let _ = writeln!(text, "id: {}-{}", self.stream, self.seq);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends one `message` event carrying `data` (a JSON text) to `out`, with an id if given.
///
/// JSON from serde never contains a raw newline, but each line still gets its own `data:` field
/// so that a newline could never end the event early.
pub(crate) fn push_event(out: &mut Vec<u8>, id: Option<EventId>, data: &[u8]) {
    out.extend_from_slice(b"event: message\n");
    if let Some(id) = id {
        id.write(out);
    }
    for line in data.split(|b| *b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// One event as its own chunk.
pub(crate) fn event(id: Option<EventId>, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 40);
    push_event(&mut out, id, data);
    Bytes::from(out)
}

/// The priming event that opens a resumable stream: an id, the reconnection delay, and empty
/// data (SEP-1699), so a client can resume from the very start of the stream.
pub(crate) fn priming(id: EventId, retry: Duration) -> Bytes {
    let mut out = Vec::with_capacity(48);
    id.write(&mut out);
    let mut text = String::with_capacity(24);
    // Writing to a String cannot fail.
    let _ = write!(text, "retry: {}\ndata: \n\n", retry.as_millis());
    out.extend_from_slice(text.as_bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_round_trip() {
        let id = EventId { stream: 3, seq: 17 };
        let frame = event(Some(id), b"{}");
        assert_eq!(&frame[..], b"event: message\nid: 3-17\ndata: {}\n\n");
        assert_eq!(EventId::parse("3-17"), Some(id));
        for bad in ["", "3", "3-", "-1", "a-1", "1-2-3", "1 -2", "99999999999-1"] {
            assert_eq!(EventId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            &priming(EventId { stream: 1, seq: 0 }, Duration::from_millis(1500))[..],
            b"id: 1-0\nretry: 1500\ndata: \n\n"
        );
    }
}
