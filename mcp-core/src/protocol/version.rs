//! The protocol versions this server speaks, in both eras: the session era (2024-11-05 to
//! 2025-11-25: an `initialize` handshake and, over HTTP, `Mcp-Session-Id` sessions) and the
//! stateless era (2026-07-28: every request carries its version and stands alone).

/// The newest session-era protocol version. Older than [`STATELESS_ERA_VERSION`]: it is the
/// newest version a client *negotiates* with `initialize`.
pub const SESSION_ERA_LATEST_VERSION: &str = "2025-11-25";

/// Every session-era protocol version this server negotiates, newest first.
pub const SESSION_ERA_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The version assumed when a request carries no `MCP-Protocol-Version` header.
pub(crate) const DEFAULT_HEADER_VERSION: &str = "2025-03-26";

/// The one version whose clients may send JSON-RPC batches.
pub(crate) const BATCH_VERSION: &str = "2025-03-26";

/// The stateless-era protocol version this server speaks.
pub const STATELESS_ERA_VERSION: &str = "2026-07-28";

/// Every stateless-era version this server speaks, newest first.
pub(crate) const STATELESS_ERA_VERSIONS: &[&str] = &[STATELESS_ERA_VERSION];

/// The session-era version `version` names, if this server speaks it.
pub(crate) fn supported_version(version: &str) -> Option<&'static str> {
    SESSION_ERA_VERSIONS.iter().copied().find(|v| *v == version)
}

/// Every version this server speaks: the stateless-era ones, then the session-era ones.
pub(crate) fn supported_versions() -> Vec<&'static str> {
    STATELESS_ERA_VERSIONS
        .iter()
        .chain(SESSION_ERA_VERSIONS)
        .copied()
        .collect()
}
