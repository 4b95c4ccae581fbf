//! How 2026-07-28 results say for how long, and by whom, they may be cached.

use std::io::Write as _;

use serde_json::{Map, Value};

/// Whether clients may share a cached result between users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheScope {
    /// Only the client (user) that fetched it may reuse it. The default: lists and reads may
    /// vary with the authorization presented.
    #[default]
    Private,
    /// Any cache may share it.
    Public,
}

/// The `ttlMs` and `cacheScope` of cacheable modern results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CachePolicy {
    pub(crate) ttl: std::time::Duration,
    pub(crate) scope: CacheScope,
}

impl CachePolicy {
    fn scope(self) -> &'static str {
        match self.scope {
            CacheScope::Private => "private",
            CacheScope::Public => "public",
        }
    }

    fn ttl_ms(self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Adds `ttlMs` and `cacheScope` to a result object being built.
    pub(crate) fn write(self, result: &mut Map<String, Value>) {
        result.insert("ttlMs".into(), Value::from(self.ttl_ms()));
        result.insert("cacheScope".into(), Value::from(self.scope()));
    }

    /// Writes `,"ttlMs":N,"cacheScope":"…"` into a result object being serialised.
    pub(crate) fn write_json(self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            ",\"ttlMs\":{},\"cacheScope\":\"{}\"",
            self.ttl_ms(),
            self.scope()
        );
    }
}
