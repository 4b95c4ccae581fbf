//! Reading a request body for an adapter: up to the server's limit, and past it, reading and
//! discarding the rest (within a bound) so that the client gets to read the 413.
//!
//! A server that answers 413 and closes while the client is still sending leaves a client that
//! reads only after it has sent with a broken pipe, and makes nginx in front answer 502 (and,
//! with its default `max_fails`, take the replica out of rotation). So the rest of an oversize
//! body is drained, up to [`DRAIN_BYTES`] and [`DRAIN_TIME`]; past either bound the 413 is
//! answered at once and the framework closes the connection.

use std::fmt::Display;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body::Body;

use crate::http::error::Error;

/// How many bytes of an oversize body, past the limit, are read and thrown away before the 413.
pub const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// How long reading and throwing away the rest of an oversize body may take.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads a request body given as a stream of chunks, up to `limit` bytes.
///
/// # Errors
///
/// [`Error::payload_too_large`] past `limit` (after draining the rest, within
/// [`DRAIN_BYTES`] and [`DRAIN_TIME`]), [`Error::body_read`] when the connection fails.
pub async fn read_body_stream<S, E>(limit: usize, body: S) -> Result<Bytes, Error>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let mut body = std::pin::pin!(body);
    let mut collected = BytesMut::new();
    while let Some(chunk) = next(body.as_mut()).await {
        let chunk = chunk.map_err(Error::body_read)?;
        if collected.len() + chunk.len() > limit {
            let seen = collected.len() + chunk.len();
            drop(collected);
            drain(body.as_mut(), seen - limit).await;
            return Err(Error::payload_too_large(limit));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Reads a request body given as an [`http_body::Body`], up to `limit` bytes; trailers are
/// ignored. See [`read_body_stream`].
///
/// # Errors
///
/// As [`read_body_stream`].
pub async fn read_body<B>(limit: usize, body: B) -> Result<Bytes, Error>
where
    B: Body<Data = Bytes>,
    B::Error: Display,
{
    read_body_stream(limit, Chunks { body }).await
}

/// Reads and discards the rest of `body`, `past` bytes beyond the limit already seen, until it
/// ends or a bound is hit.
async fn drain<S, E>(mut body: Pin<&mut S>, past: usize)
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let mut discarded = past;
    let reading = async {
        while discarded <= DRAIN_BYTES {
            match next(body.as_mut()).await {
                Some(Ok(chunk)) => discarded += chunk.len(),
                // The client went away or the body ended: nothing more to read.
                Some(Err(_)) | None => return,
            }
        }
    };
    // Past the time bound the 413 goes out anyway; the framework closes the connection.
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

async fn next<S: Stream>(mut stream: Pin<&mut S>) -> Option<S::Item> {
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

pin_project_lite::pin_project! {
    /// The data frames of an [`http_body::Body`], as a stream.
    struct Chunks<B> {
        #[pin]
        body: B,
    }
}

impl<B: Body<Data = Bytes>> Stream for Chunks<B> {
    type Item = Result<Bytes, B::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut body = self.project().body;
        loop {
            return match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    // Trailers: not part of the body's bytes.
                    Err(_) => continue,
                },
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        let items: Vec<Result<Bytes, std::io::Error>> = sizes
            .iter()
            .map(|&n| Ok(Bytes::from(vec![b'x'; n])))
            .collect();
        futures_util::stream::iter(items)
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read_body_stream(10, chunks(&[4, 6])).await;
        assert_eq!(body.map(|b| b.len()).ok(), Some(10));
    }

    #[tokio::test]
    async fn an_oversize_body_is_read_to_its_end_before_the_413() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&read);
        let body = futures_util::StreamExt::map(chunks(&[8, 8, 8, 8]), move |chunk| {
            counter.fetch_add(1, Ordering::Relaxed);
            chunk
        });
        let error = read_body_stream(10, body).await.err();
        assert_eq!(
            error.map(|e| e.kind()),
            Some(crate::http::error::ErrorKind::PayloadTooLarge)
        );
        assert_eq!(read.load(Ordering::Relaxed), 4, "every chunk was read");
    }

    #[tokio::test]
    async fn draining_stops_at_its_byte_bound() {
        // An endless body: the drain must give up after DRAIN_BYTES.
        let endless = futures_util::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 1 << 20]))
        });
        let error = read_body_stream(1024, endless).await.err();
        assert!(error.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn draining_stops_at_its_time_bound() {
        let first =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 64]))]);
        // After the first chunk the client sends nothing more, and never ends the body.
        let stalled = futures_util::StreamExt::chain(first, futures_util::stream::pending());
        let error = read_body_stream(10, stalled).await.err();
        assert!(error.is_some());
    }

    #[tokio::test]
    async fn a_failing_connection_is_a_body_read_error() {
        let failing = futures_util::stream::iter([
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("reset")),
        ]);
        let error = read_body_stream(10, failing).await.err();
        assert_eq!(
            error.map(|e| e.kind()),
            Some(crate::http::error::ErrorKind::BodyRead)
        );
    }
}
