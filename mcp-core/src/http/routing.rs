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

/// A mount path as hosts route it and the core names it: one leading slash, no trailing one,
/// `""` for the root (`"api/mcp/"` → `"/api/mcp"`, `"/"` → `""`). What adapters'
/// `mount_mcp` and `tower::McpService` (feature `tower`) mount at.
pub fn mount_path(path: &str) -> String {
    match path.trim_matches('/') {
        "" => String::new(),
        inner => format!("/{inner}"),
    }
}

/// What a path under the mount prefix names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `{prefix}` or `{prefix}/`: the MCP endpoint.
    Endpoint,
    /// `{prefix}/sse`: the 2024-11-05 HTTP+SSE transport's event stream.
    #[cfg(feature = "http-sse")]
    HttpSseStream,
    /// `{prefix}/messages`: where the 2024-11-05 HTTP+SSE transport's clients POST.
    #[cfg(feature = "http-sse")]
    HttpSseMessages,
    /// `{prefix}/tools`: the REST view's tool list.
    #[cfg(feature = "rest-view")]
    RestTools,
    /// `{prefix}/tools/{name}`: the REST view's call of one tool.
    #[cfg(feature = "rest-view")]
    RestTool(String),
    /// `{prefix}/images/{tool}`: a tool's first image as raw bytes.
    #[cfg(feature = "rest-view")]
    RestImage(String),
    /// `{prefix}/completions`: `completion/complete` over REST.
    #[cfg(feature = "rest-view")]
    RestCompletions,
    /// `{prefix}/openapi.json`: the REST view described as OpenAPI 3.1.
    #[cfg(feature = "rest-view")]
    OpenApi,
}

/// What the path names below the mount prefix; the REST routes only when `rest_view` is on.
/// A route whose feature is off is no route at all: it gets the same 404 as any unknown path.
pub(crate) fn route(path: &str, prefix: &str, rest_view: bool) -> Result<Route, Error> {
    let prefix = prefix.trim_end_matches('/');
    let rest = path
        .strip_prefix(prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let found = match rest {
        Some("" | "/") => Some(Route::Endpoint),
        #[cfg(feature = "http-sse")]
        Some("/sse") => Some(Route::HttpSseStream),
        #[cfg(feature = "http-sse")]
        Some("/messages") => Some(Route::HttpSseMessages),
        Some(other) if rest_view => rest_route(other),
        _ => None,
    };
    found.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("Not Found: no MCP route at {path}"),
        )
    })
}

/// The REST view's route at `path` (below the prefix).
#[cfg(feature = "rest-view")]
fn rest_route(path: &str) -> Option<Route> {
    let name = |name: &str| (!name.is_empty() && !name.contains('/')).then(|| name.to_owned());
    match path {
        "/tools" => Some(Route::RestTools),
        "/completions" => Some(Route::RestCompletions),
        "/openapi.json" => Some(Route::OpenApi),
        other => match (
            other.strip_prefix("/tools/"),
            other.strip_prefix("/images/"),
        ) {
            (Some(tool), _) => name(tool).map(Route::RestTool),
            (_, Some(tool)) => name(tool).map(Route::RestImage),
            _ => None,
        },
    }
}

/// Without the `rest-view` feature there is no REST route.
#[cfg(not(feature = "rest-view"))]
fn rest_route(_path: &str) -> Option<Route> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_have_one_leading_slash_and_no_trailing_one() {
        assert_eq!(mount_path("api/mcp/"), "/api/mcp");
        assert_eq!(mount_path("/api/mcp"), "/api/mcp");
        assert_eq!(mount_path("/"), "");
        assert_eq!(mount_path(""), "");
    }

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
    }

    #[cfg(feature = "rest-view")]
    #[test]
    fn rest_routes() {
        assert_eq!(
            route("/a/mcp/tools/add", "/a/mcp", true).ok(),
            Some(Route::RestTool("add".into()))
        );
        assert_eq!(
            route("/a/mcp/images/draw", "/a/mcp", true).ok(),
            Some(Route::RestImage("draw".into()))
        );
        assert!(route("/a/mcp/tools/a/b", "/a/mcp", true).is_err());
        assert!(route("/a/mcp/tools/", "/a/mcp", true).is_err());
    }
}
