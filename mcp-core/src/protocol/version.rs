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

/// One protocol version, and what it implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05: the first; over HTTP, the HTTP+SSE transport.
    V2024_11_05,
    /// 2025-03-26: streamable HTTP; the one version with JSON-RPC batches.
    V2025_03_26,
    /// 2025-06-18: structured tool output, elicitation; batches removed.
    V2025_06_18,
    /// 2025-11-25: resumable streams with priming events (SEP-1699).
    V2025_11_25,
    /// 2026-07-28: the stateless era.
    V2026_07_28,
}

/// The two eras of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Era {
    /// An `initialize` handshake, then (over HTTP) a session named by `Mcp-Session-Id`.
    Session,
    /// Every request carries its version and capabilities and stands alone.
    Stateless,
}

impl ProtocolVersion {
    /// Every version this server speaks, newest first.
    pub const ALL: [Self; 5] = [
        Self::V2026_07_28,
        Self::V2025_11_25,
        Self::V2025_06_18,
        Self::V2025_03_26,
        Self::V2024_11_05,
    ];

    /// The version as the protocol writes it (`"2025-11-25"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// The version `text` names, if this server speaks it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// Which era it belongs to.
    pub const fn era(self) -> Era {
        match self {
            Self::V2026_07_28 => Era::Stateless,
            _ => Era::Session,
        }
    }

    /// Whether its clients may send JSON-RPC batches (2025-03-26 only).
    pub const fn allows_batches(self) -> bool {
        matches!(self, Self::V2025_03_26)
    }

    /// Whether its SSE streams carry event ids and can be resumed with `Last-Event-ID`
    /// (2025-11-25 and later).
    pub fn resumable_streams(self) -> bool {
        self >= Self::V2025_11_25
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The session-era version `version` names, if this server speaks it.
pub(crate) fn supported_version(version: &str) -> Option<&'static str> {
    ProtocolVersion::parse(version)
        .filter(|v| v.era() == Era::Session)
        .map(ProtocolVersion::as_str)
}

/// Every version this server speaks: the stateless-era ones, then the session-era ones.
pub(crate) fn supported_versions() -> Vec<&'static str> {
    STATELESS_ERA_VERSIONS
        .iter()
        .chain(SESSION_ERA_VERSIONS)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_know_their_era_and_the_constants_agree() {
        let session: Vec<&str> = ProtocolVersion::ALL
            .into_iter()
            .filter(|v| v.era() == Era::Session)
            .map(ProtocolVersion::as_str)
            .collect();
        assert_eq!(session, SESSION_ERA_VERSIONS);
        assert_eq!(session[0], SESSION_ERA_LATEST_VERSION);
        assert_eq!(
            ProtocolVersion::parse(STATELESS_ERA_VERSION).map(ProtocolVersion::era),
            Some(Era::Stateless)
        );
        let batching: Vec<_> = ProtocolVersion::ALL
            .into_iter()
            .filter(|v| v.allows_batches())
            .map(ProtocolVersion::as_str)
            .collect();
        assert_eq!(batching, [BATCH_VERSION]);
        assert!(ProtocolVersion::V2025_11_25.resumable_streams());
        assert!(!ProtocolVersion::V2025_06_18.resumable_streams());
        assert_eq!(
            supported_version("2026-07-28"),
            None,
            "not a session-era version"
        );
        assert_eq!(ProtocolVersion::parse("2099-01-01"), None);
    }
}
