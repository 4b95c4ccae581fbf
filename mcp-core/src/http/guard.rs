//! The `Host` and `Origin` checks that protect a local server from DNS rebinding.

use http::{HeaderMap, header};

use crate::http::error::{Error, ErrorKind};

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
            if !exact() && !matches() {
                return Err(Error::new(
                    ErrorKind::Forbidden,
                    format!("Forbidden: Host {host:?} is not allowed"),
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
                format!("Forbidden: Origin {origin:?} is not allowed"),
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
