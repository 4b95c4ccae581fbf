//! The boxed future stored handlers return.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what stored handlers return.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
