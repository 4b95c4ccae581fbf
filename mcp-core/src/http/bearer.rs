//! Being an OAuth 2.0 protected resource (MCP authorization, RFC 9728): verifying bearer tokens
//! with the host's own verifier, challenging with `WWW-Authenticate`, and publishing the
//! protected resource metadata. mcp-mount does not issue tokens; an authorization server does.

use http::{HeaderMap, header};

use crate::http::error::{Error, ErrorKind};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use serde_json::Value;

/// Who is calling, as a [`TokenVerifier`] established it. The core puts it in the request's
/// extensions, so handlers read it with `ctx.extensions().get::<Principal>()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    /// The subject (`sub`): who the token speaks for.
    pub subject: String,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
    /// Anything else the verifier learned (claims), for handlers that need it.
    pub claims: Value,
}

impl Principal {
    /// A principal with a subject and scopes and no further claims.
    pub fn new<I, S>(subject: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            subject: subject.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            claims: Value::Null,
        }
    }
}

/// Why a token was refused: the request gets 401 with `error="invalid_token"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidToken(pub String);

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidToken {}

/// A boxed future, as [`TokenVerifier::verify`] returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Principal, InvalidToken>> + Send + 'a>>;

/// Checks a bearer token: signature, expiry, issuer, and that it was issued for this server
/// (its audience), as the MCP authorization spec requires. Implement it with your JWT or
/// introspection library.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the part after `Bearer `).
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

/// What this server publishes about itself as a protected resource (RFC 9728).
#[derive(Clone, Debug, Default)]
pub struct ProtectedResource {
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) resource_name: Option<String>,
    pub(crate) resource_documentation: Option<String>,
}

impl ProtectedResource {
    /// A resource whose tokens come from these authorization servers (issuer URLs).
    pub fn new<I, S>(authorization_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            authorization_servers: authorization_servers.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The scopes every request needs (sent in challenges, and listed as supported).
    #[must_use]
    pub fn required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        for scope in &self.required_scopes {
            if !self.scopes_supported.contains(scope) {
                self.scopes_supported.push(scope.clone());
            }
        }
        self
    }

    /// Further scopes to list as supported.
    #[must_use]
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for scope in scopes {
            let scope = scope.into();
            if !self.scopes_supported.contains(&scope) {
                self.scopes_supported.push(scope);
            }
        }
        self
    }

    /// A human-readable name for the resource.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A URL of documentation for developers.
    #[must_use]
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The metadata document for the resource at `resource` (its canonical URL).
    pub(crate) fn document(&self, resource: &str) -> Value {
        #[derive(Serialize)]
        struct Document<'a> {
            resource: &'a str,
            authorization_servers: &'a [String],
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            scopes_supported: &'a [String],
            bearer_methods_supported: [&'static str; 1],
            #[serde(skip_serializing_if = "Option::is_none")]
            resource_name: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            resource_documentation: Option<&'a str>,
        }
        serde_json::to_value(Document {
            resource,
            authorization_servers: &self.authorization_servers,
            scopes_supported: &self.scopes_supported,
            bearer_methods_supported: ["header"],
            resource_name: self.resource_name.as_deref(),
            resource_documentation: self.resource_documentation.as_deref(),
        })
        .unwrap_or(Value::Null)
    }
}

/// The path of the metadata document for a resource at `path` (RFC 9728 §3.1: the well-known
/// path inserted before the resource's path, at the origin's root).
pub fn well_known_path(path: &str) -> String {
    format!(
        "/.well-known/oauth-protected-resource{}",
        path.trim_end_matches('/')
    )
}

fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A `Bearer` challenge naming the metadata document, the scopes and, when given, the error.
pub(crate) fn challenge(
    metadata_url: &str,
    scopes: &[String],
    error: Option<(&str, &str)>,
) -> String {
    let mut challenge = format!("Bearer resource_metadata=\"{}\"", quoted(metadata_url));
    if !scopes.is_empty() {
        challenge.push_str(&format!(", scope=\"{}\"", quoted(&scopes.join(" "))));
    }
    if let Some((error, description)) = error {
        challenge.push_str(&format!(
            ", error=\"{error}\", error_description=\"{}\"",
            quoted(description)
        ));
    }
    challenge
}

/// Checks the bearer token: the principal, or the 401/403 with its challenge.
pub(crate) async fn authenticate(
    headers: &HeaderMap,
    resource: &ProtectedResource,
    verifier: &dyn TokenVerifier,
    metadata: &str,
) -> Result<Principal, Error> {
    let required = &resource.required_scopes;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(Error::new(
            ErrorKind::Unauthorized,
            "Unauthorized: a bearer token is required",
        )
        .with_challenge(challenge(metadata, required, None)));
    };
    let principal =
        verifier.verify(token).await.map_err(|e| {
            Error::new(ErrorKind::Unauthorized, format!("Unauthorized: {e}"))
                .with_challenge(challenge(metadata, required, Some(("invalid_token", &e.0))))
        })?;
    if let Some(missing) = required
        .iter()
        .find(|scope| !principal.scopes.contains(scope))
    {
        let description = format!("the token lacks the scope {missing}");
        return Err(Error::new(
            ErrorKind::InsufficientScope,
            format!("Forbidden: {description}"),
        )
        .with_challenge(challenge(
            metadata,
            required,
            Some(("insufficient_scope", &description)),
        )));
    }
    Ok(principal)
}
