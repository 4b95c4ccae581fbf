//! The protocol versions this server speaks, in both eras.

/// The newest protocol version of the handshake era.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";

/// Every handshake-era protocol version this server negotiates, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The version assumed when a request carries no `MCP-Protocol-Version` header.
pub(crate) const DEFAULT_HEADER_VERSION: &str = "2025-03-26";

/// The one version whose clients may send JSON-RPC batches.
pub(crate) const BATCH_VERSION: &str = "2025-03-26";

/// The stateless protocol version this server speaks.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";

/// Every modern-era version this server speaks, newest first.
pub(crate) const MODERN_VERSIONS: &[&str] = &[MODERN_PROTOCOL_VERSION];

/// The handshake-era version `version` names, if this server speaks it.
pub(crate) fn supported_version(version: &str) -> Option<&'static str> {
    SUPPORTED_PROTOCOL_VERSIONS
        .iter()
        .copied()
        .find(|v| *v == version)
}

/// Every version this server speaks: the modern ones, then the legacy ones.
pub(crate) fn supported_versions() -> Vec<&'static str> {
    MODERN_VERSIONS
        .iter()
        .chain(SUPPORTED_PROTOCOL_VERSIONS)
        .copied()
        .collect()
}
