//! HTTP-level rules: path resolution under the mount prefix, content negotiation, Host and Origin.

use http::{HeaderMap, header};

use crate::error::{Error, ErrorKind};

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

/// Whether a media range's parameters refuse it (`q=0`).
fn refused(params: &str) -> bool {
    params.split(';').any(|p| {
        p.trim()
            .strip_prefix("q=")
            .and_then(|q| q.trim().parse::<f32>().ok())
            .is_some_and(|q| q <= 0.0)
    })
}

/// Which of JSON and SSE the client's `Accept` covers. A missing `Accept` covers everything
/// (RFC 9110 §12.5.1). Runs on every request: no allocation.
pub(crate) fn accepts(headers: &HeaderMap) -> (bool, bool) {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return (true, true);
    }
    let (mut json, mut sse) = (false, false);
    for value in values {
        // What every SDK sends, checked before any parsing.
        if value.as_bytes() == b"application/json, text/event-stream" {
            return (true, true);
        }
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let (media, params) = range.split_once(';').unwrap_or((range, ""));
            let media = media.trim();
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            let (covers_json, covers_sse) = if is("*/*") {
                (true, true)
            } else {
                (
                    is("application/json") || is("application/*"),
                    is("text/event-stream") || is("text/*"),
                )
            };
            if (covers_json || covers_sse) && !refused(params) {
                json |= covers_json;
                sse |= covers_sse;
            }
        }
    }
    (json, sse)
}

pub(crate) fn require_json_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        Ok(())
    } else {
        Err(ErrorKind::UnsupportedMediaType.into())
    }
}

/// Which `Host` and `Origin` values are allowed (DNS-rebinding protection).
#[derive(Clone, Debug)]
pub(crate) struct HostOriginPolicy {
    /// `None`: any host.
    pub(crate) hosts: Option<Vec<String>>,
    /// `None`: any origin.
    pub(crate) origins: Option<Vec<String>>,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Default for HostOriginPolicy {
    fn default() -> Self {
        Self {
            hosts: Some(LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect()),
            origins: Some(
                LOOPBACK_HOSTS
                    .iter()
                    .flat_map(|h| [format!("http://{h}"), format!("https://{h}")])
                    .collect(),
            ),
        }
    }
}

/// Splits `host[:port]` (with bracketed IPv6) into the host and the whole authority.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        authority
            .find(']')
            .map_or(authority, |end| &authority[..=end])
    } else {
        authority
            .split_once(':')
            .map_or(authority, |(host, _)| host)
    }
}

/// `entry` matches `authority` exactly, or by host name when `entry` has no port.
fn authority_matches(entry: &str, authority: &str) -> bool {
    authority_matches_host(entry, authority, host_name(authority))
}

/// [`authority_matches`] with the authority's host name already split off.
fn authority_matches_host(entry: &str, authority: &str, host: &str) -> bool {
    let entry_has_port =
        entry.ends_with(|c: char| c.is_ascii_digit()) && host_name(entry).len() != entry.len();
    if entry_has_port {
        entry.eq_ignore_ascii_case(authority)
    } else {
        entry.eq_ignore_ascii_case(host)
    }
}

impl HostOriginPolicy {
    /// Checks `host` (the request's external `host[:port]`) and the request's `Origin`.
    ///
    /// `cors_allowed`: the server's CORS policy allows this request's `Origin`, which then
    /// passes the `Origin` check.
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        host: &str,
        cors_allowed: bool,
    ) -> Result<(), Error> {
        if let Some(allowed) = &self.hosts {
            let name = host_name(host);
            if !allowed
                .iter()
                .any(|entry| authority_matches_host(entry, host, name))
            {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    format!("Forbidden: Host {host:?} is not allowed"),
                ));
            }
        }
        let Some(origin) = headers.get(header::ORIGIN).filter(|_| !cors_allowed) else {
            return Ok(());
        };
        let Some(allowed) = &self.origins else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("");
        let (scheme, authority) = origin.split_once("://").unwrap_or(("", ""));
        let same_origin = !authority.is_empty() && authority.eq_ignore_ascii_case(host);
        let listed = allowed.iter().any(|entry| {
            entry
                .split_once("://")
                .is_some_and(|(entry_scheme, entry_authority)| {
                    entry_scheme.eq_ignore_ascii_case(scheme)
                        && authority_matches(entry_authority, authority)
                })
        });
        if same_origin || listed {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Forbidden,
                format!("Forbidden: Origin {origin:?} is not allowed"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
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

    #[test]
    fn accept_parsing() {
        assert_eq!(
            accepts(&headers(&[(
                "accept",
                "application/json, text/event-stream"
            )])),
            (true, true)
        );
        assert_eq!(
            accepts(&headers(&[("accept", "application/json")])),
            (true, false)
        );
        assert_eq!(
            accepts(&headers(&[(
                "accept",
                "text/event-stream;q=0, application/json"
            )])),
            (true, false)
        );
        assert_eq!(accepts(&headers(&[("accept", "*/*")])), (true, true));
        assert_eq!(accepts(&HeaderMap::new()), (true, true));
    }

    #[test]
    fn host_and_origin() {
        let policy = HostOriginPolicy::default();
        let check = |policy: &HostOriginPolicy, pairs: &[(&'static str, &'static str)]| {
            let h = headers(pairs);
            let host = h
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            policy.check(&h, &host, false).is_ok()
        };
        assert!(check(&policy, &[("host", "localhost:3000")]));
        assert!(check(&policy, &[("host", "[::1]:80")]));
        assert!(!check(&policy, &[("host", "evil.example.com")]));
        assert!(!check(
            &policy,
            &[
                ("host", "127.0.0.1:9"),
                ("origin", "http://evil.example.com")
            ]
        ));
        assert!(check(
            &policy,
            &[("host", "127.0.0.1:9"), ("origin", "http://localhost:5173")]
        ));
        assert!(check(
            &policy,
            &[("host", "127.0.0.1:9"), ("origin", "http://127.0.0.1:9")]
        ));
        let custom = HostOriginPolicy {
            hosts: Some(vec!["api.example.com".into()]),
            origins: Some(vec!["https://app.example.com".into()]),
        };
        assert!(check(
            &custom,
            &[
                ("host", "api.example.com"),
                ("origin", "https://app.example.com")
            ]
        ));
        assert!(!check(&custom, &[("host", "localhost")]));
    }
}
