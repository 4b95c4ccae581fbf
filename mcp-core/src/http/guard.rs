//! The `Host` and `Origin` checks that protect a local server from DNS rebinding.

use http::{HeaderMap, header};

use crate::http::error::{Error, ErrorKind};

/// Which `Host` and `Origin` values are allowed (DNS-rebinding protection).
#[derive(Clone, Debug)]
pub(crate) struct HostOriginPolicy {
    /// `None`: any host. Otherwise the hosts allowed beside the loopback names.
    pub(crate) hosts: Option<Vec<String>>,
    /// The loopback host names (`localhost`, `127.0.0.1`, `[::1]`) are allowed beside `hosts`:
    /// they cannot carry a DNS-rebinding attack, and health checks use them.
    pub(crate) loopback_hosts: bool,
    /// `None`: any origin.
    pub(crate) origins: Option<Vec<String>>,
}

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Default for HostOriginPolicy {
    fn default() -> Self {
        Self {
            hosts: Some(Vec::new()),
            loopback_hosts: true,
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
            // An entry spelled exactly as the header is the common case: no parsing then.
            let exact = || {
                allowed
                    .iter()
                    .any(|entry| entry.as_bytes() == host.as_bytes())
            };
            let matches = || {
                let name = host_name(host);
                allowed
                    .iter()
                    .any(|entry| authority_matches_host(entry, host, name))
            };
            let loopback = || {
                self.loopback_hosts
                    && LOOPBACK_HOSTS
                        .iter()
                        .any(|name| name.eq_ignore_ascii_case(host_name(host)))
            };
            if !exact() && !loopback() && !matches() {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    format!(
                        "Forbidden: Host {host:?} is not allowed; the server lists the hosts it \
                         answers for in McpServerBuilder::allowed_hosts (behind a proxy that sets \
                         X-Forwarded-Host or Forwarded, name the proxy in trusted_proxies)"
                    ),
                )
                .with_setting("allowed_hosts (or trusted_proxies, behind a proxy)"));
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
                format!(
                    "Forbidden: Origin {origin:?} is not allowed; the server lists the browser \
                     origins it answers in McpServerBuilder::allowed_origins (or cors)"
                ),
            )
            .with_setting("allowed_origins (or cors)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::negotiate::test_headers as headers;

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
            loopback_hosts: true,
            origins: Some(vec!["https://app.example.com".into()]),
        };
        assert!(check(
            &custom,
            &[
                ("host", "api.example.com"),
                ("origin", "https://app.example.com")
            ]
        ));
        assert!(!check(&custom, &[("host", "evil.example.com")]));
        // Health checks on loopback keep working beside the configured hosts…
        assert!(check(&custom, &[("host", "localhost:8080")]));
        assert!(check(&custom, &[("host", "[::1]")]));
        // …unless the server opts out.
        let strict = HostOriginPolicy {
            loopback_hosts: false,
            ..custom
        };
        assert!(!check(&strict, &[("host", "localhost")]));
        assert!(check(&strict, &[("host", "api.example.com")]));
    }

    #[test]
    fn refusals_name_the_setting_to_change() {
        let policy = HostOriginPolicy::default();
        let headers = headers(&[("origin", "https://elsewhere.example")]);
        let host = policy.check(&headers, "api.example.com", false).err();
        assert!(host.is_some_and(|e| e.to_string().contains("allowed_hosts")));
        let origin = policy.check(&headers, "localhost", false).err();
        assert!(origin.is_some_and(|e| e.to_string().contains("allowed_origins")));
    }
}
