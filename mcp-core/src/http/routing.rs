//! What a path under the mount prefix names.

use crate::http::error::{Error, ErrorKind};

/// The external prefix a server is mounted at, given the request's original path and the part of
/// it the host's router left to the mounted service.
///
/// `("/api/v1/mcp", "/")` and `("/api/v1/mcp/sse", "/sse")` both give `"/api/v1/mcp"`.
/// Adapters use this so the core can resolve the rest of the path itself.
pub fn mount_prefix<'a>(original_path: &'a str, remaining_path: &str) -> &'a str {
    let prefix = if remaining_path.is_empty() || remaining_path == "/" {
        original_path
    } else {
        original_path
            .strip_suffix(remaining_path)
            .unwrap_or(original_path)
    };
    prefix.trim_end_matches('/')
}

/// What a path under the mount prefix names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `{prefix}` or `{prefix}/`: the MCP endpoint.
    Endpoint,
    /// `{prefix}/sse`: the 2024-11-05 transport's event stream.
    LegacySse,
    /// `{prefix}/messages`: where the 2024-11-05 transport's clients POST.
    LegacyMessages,
    /// `{prefix}/tools`: the REST view's tool list.
    RestTools,
    /// `{prefix}/tools/{name}`: the REST view's call of one tool.
    RestTool(&'a str),
    /// `{prefix}/images/{tool}`: a tool's first image as raw bytes.
    RestImage(&'a str),
    /// `{prefix}/completions`: `completion/complete` over REST.
    RestCompletions,
    /// `{prefix}/openapi.json`: the REST view described as OpenAPI 3.1.
    OpenApi,
}

/// What the path names below the mount prefix; the REST routes only when `rest` is on.
pub(crate) fn route<'a>(path: &'a str, prefix: &str, rest_view: bool) -> Result<Route<'a>, Error> {
    let prefix = prefix.trim_end_matches('/');
    let rest = path
        .strip_prefix(prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let found = match rest {
        Some("" | "/") => Some(Route::Endpoint),
        Some("/sse") => Some(Route::LegacySse),
        Some("/messages") => Some(Route::LegacyMessages),
        Some("/tools") if rest_view => Some(Route::RestTools),
        Some("/completions") if rest_view => Some(Route::RestCompletions),
        Some("/openapi.json") if rest_view => Some(Route::OpenApi),
        Some(other) if rest_view => other
            .strip_prefix("/tools/")
            .map(Route::RestTool)
            .or_else(|| other.strip_prefix("/images/").map(Route::RestImage))
            .filter(|r| matches!(r, Route::RestTool(n) | Route::RestImage(n) if !n.is_empty() && !n.contains('/'))),
        _ => None,
    };
    found.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("Not Found: no MCP route at {path}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(mount_prefix("/api/v1/mcp", "/"), "/api/v1/mcp");
        assert_eq!(mount_prefix("/api/v1/mcp/", "/"), "/api/v1/mcp");
        assert_eq!(mount_prefix("/api/v1/mcp/sse", "/sse"), "/api/v1/mcp");
        assert_eq!(mount_prefix("/mcp", ""), "/mcp");
        assert_eq!(route("/a/mcp", "/a/mcp", false).ok(), Some(Route::Endpoint));
        assert_eq!(
            route("/a/mcp/", "/a/mcp", false).ok(),
            Some(Route::Endpoint)
        );
        assert!(route("/a/mcpx", "/a/mcp", true).is_err());
        assert!(route("/a/mcp/x", "/a/mcp", true).is_err());
        assert!(route("/a/mcp/tools", "/a/mcp", false).is_err());
        assert_eq!(
            route("/a/mcp/tools/add", "/a/mcp", true).ok(),
            Some(Route::RestTool("add"))
        );
        assert_eq!(
            route("/a/mcp/images/draw", "/a/mcp", true).ok(),
            Some(Route::RestImage("draw"))
        );
        assert!(route("/a/mcp/tools/a/b", "/a/mcp", true).is_err());
        assert!(route("/a/mcp/tools/", "/a/mcp", true).is_err());
    }
}
