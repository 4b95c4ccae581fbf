//! Resources (fixed URIs) and resource templates (RFC 6570 level-1 URI templates).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::handler::completion::{CompleteFn, CompletionHandler, completer};
use crate::handler::context::RequestContext;
use crate::handler::future::BoxFuture;
use crate::protocol::jsonrpc::RpcError;
use crate::protocol::model::{Annotations, Completion, ResourceContents};

/// What a resource handler may return: the contents of the resource that was read.
///
/// Text (`String`, `&'static str`) and bytes (`Vec<u8>`, encoded in base64 here) become one
/// contents entry carrying the URI that was read and the resource's MIME type;
/// [`ResourceContents`] and `Vec<ResourceContents>` are sent as they are; `Result<T, RpcError>`
/// sends its error to the client (e.g. [`RpcError::resource_not_found`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a resource handler can return",
    label = "the handler's future resolves to `{Self}`",
    note = "a resource or template handler returns text (`String`, `&'static str`), bytes \
            (`Vec<u8>`), `ResourceContents`, `Vec<ResourceContents>`, or \
            `Result<T, RpcError>` of one of those (e.g. `Err(RpcError::resource_not_found(uri))`)"
)]
pub trait IntoResourceContents {
    /// Converts the handler's output for the resource `uri` whose MIME type is `mime_type`.
    ///
    /// # Errors
    ///
    /// The JSON-RPC error the client gets instead of contents.
    fn into_resource_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError>;
}

impl IntoResourceContents for String {
    fn into_resource_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        Ok(vec![ResourceContents::text(uri, mime_type, self)])
    }
}

impl IntoResourceContents for &'static str {
    fn into_resource_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        Ok(vec![ResourceContents::text(uri, mime_type, self)])
    }
}

impl IntoResourceContents for Vec<u8> {
    fn into_resource_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        Ok(vec![ResourceContents::bytes(uri, mime_type, &self)])
    }
}

impl IntoResourceContents for ResourceContents {
    fn into_resource_contents(
        self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        Ok(vec![self])
    }
}

impl IntoResourceContents for Vec<ResourceContents> {
    fn into_resource_contents(
        self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        Ok(self)
    }
}

impl<T: IntoResourceContents> IntoResourceContents for Result<T, RpcError> {
    fn into_resource_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<ResourceContents>, RpcError> {
        self.and_then(|ok| ok.into_resource_contents(uri, mime_type))
    }
}

/// A function that can read a [`Resource`]: an async fn or closure taking a [`RequestContext`];
/// see [`Resource::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a resource handler",
    label = "expected an async fn or closure `|ctx: RequestContext| async move {{ … }}`",
    note = "a resource handler takes the `RequestContext` and returns a `Send + 'static` future \
            resolving to an `IntoResourceContents` (`String`, `&'static str`, `Vec<u8>`, \
            `ResourceContents`, `Vec<ResourceContents>`, `Result<_, RpcError>`)",
    note = "usual causes: the contents themselves instead of a handler (write \
            `|_ctx: RequestContext| async {{ \"…\" }}`); a template's `|vars, ctx|` shape on a \
            fixed resource (use `ResourceTemplate::new`)"
)]
pub trait ResourceHandler<Fut>: Fn(RequestContext) -> Fut + Send + Sync + 'static {}

impl<F, Fut> ResourceHandler<Fut> for F where F: Fn(RequestContext) -> Fut + Send + Sync + 'static {}

/// A function that can read a [`ResourceTemplate`]: an async fn or closure taking the matched
/// [`UriVariables`] and a [`RequestContext`]; see [`ResourceTemplate::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a resource template handler",
    label = "expected an async fn or closure `|vars: UriVariables, ctx: RequestContext| async move {{ … }}`",
    note = "a template handler takes the matched `UriVariables` and the `RequestContext`, in that \
            order, and returns a `Send + 'static` future resolving to an `IntoResourceContents` \
            (`String`, `&'static str`, `Vec<u8>`, `ResourceContents`, `Vec<ResourceContents>`, \
            `Result<_, RpcError>`)",
    note = "usual causes: the context first; a fixed resource's `|ctx|` shape (take `_vars` too)"
)]
pub trait TemplateHandler<Fut>:
    Fn(UriVariables, RequestContext) -> Fut + Send + Sync + 'static
{
}

impl<F, Fut> TemplateHandler<Fut> for F where
    F: Fn(UriVariables, RequestContext) -> Fut + Send + Sync + 'static
{
}

pub(crate) type ReadOutput = Result<Vec<ResourceContents>, RpcError>;

/// What a read is for: the URI that was asked for and the MIME type to label text or bytes with.
pub(crate) struct ReadTarget {
    pub(crate) uri: String,
    pub(crate) mime_type: Option<String>,
}

type ReadFn = dyn Fn(ReadTarget, RequestContext) -> BoxFuture<ReadOutput> + Send + Sync;
type ReadTemplateFn =
    dyn Fn(ReadTarget, UriVariables, RequestContext) -> BoxFuture<ReadOutput> + Send + Sync;

/// Metadata shared by resources and templates.
#[derive(Clone, Debug, Default)]
struct Meta {
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
    size: Option<u64>,
    annotations: Option<Annotations>,
    meta: Option<Map<String, Value>>,
}

/// A resource at a fixed URI, read by an async handler.
///
/// # Examples
///
/// ```
/// use mcp_mount::{RequestContext, Resource};
///
/// let readme = Resource::new("docs://readme", "readme", |_ctx: RequestContext| async {
///     "# Hello"
/// })
/// .mime_type("text/markdown")
/// .description("The project's README");
/// # let _ = readme;
/// ```
#[derive(Clone)]
pub struct Resource {
    pub(crate) uri: String,
    name: String,
    meta: Meta,
    read: Arc<ReadFn>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("uri", &self.uri)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// A resource at `uri` named `name`; `handler` is an async fn or closure taking a
    /// [`RequestContext`] and returning anything [`IntoResourceContents`].
    pub fn new<F, Fut, R>(uri: impl Into<String>, name: impl Into<String>, handler: F) -> Self
    where
        F: ResourceHandler<Fut>,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceContents,
    {
        Self {
            uri: uri.into(),
            name: name.into(),
            meta: Meta::default(),
            read: Arc::new(move |target: ReadTarget, ctx| {
                let fut = handler(ctx);
                Box::pin(async move {
                    fut.await
                        .into_resource_contents(&target.uri, target.mime_type.as_deref())
                })
            }),
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.meta.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.meta.title = Some(title.into());
        self
    }

    /// Sets the MIME type: listed in `resources/list` and given to contents the handler returns
    /// as text or bytes.
    #[must_use]
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.meta.mime_type = Some(mime_type.into());
        self
    }

    /// Sets the size in bytes, shown to clients before they read it.
    #[must_use]
    pub fn size(mut self, bytes: u64) -> Self {
        self.meta.size = Some(bytes);
        self
    }

    /// Sets annotations.
    #[must_use]
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.meta.annotations = Some(annotations);
        self
    }

    /// Sets `_meta` on the resource's definition.
    #[must_use]
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta.meta = Some(meta);
        self
    }

    /// The resource's URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Starts reading the resource.
    pub(crate) fn read(&self, ctx: RequestContext) -> BoxFuture<ReadOutput> {
        let target = ReadTarget {
            uri: self.uri.clone(),
            mime_type: self.meta.mime_type.clone(),
        };
        (self.read)(target, ctx)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !has_scheme(&self.uri) {
            return Err(format!(
                "resource URI {:?} must be an absolute URI with a scheme (RFC 3986)",
                self.uri
            ));
        }
        if self.name.is_empty() {
            return Err(format!("resource {:?} needs a name", self.uri));
        }
        Ok(())
    }

    /// The definition in `resources/list`, serialised once.
    pub(crate) fn definition(&self) -> Box<RawValue> {
        definition("uri", &self.uri, &self.name, &self.meta)
    }
}

/// The variables a resource template matched, percent-decoded, with the URI they came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UriVariables {
    uri: String,
    values: Vec<(String, String)>,
}

impl UriVariables {
    /// The URI that was read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The value of the variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every variable and its value, in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// A family of resources named by an RFC 6570 level-1 URI template such as
/// `file:///notes/{id}`; reading a URI that matches calls the handler with the variables.
///
/// A variable matches one or more characters other than `/`, `?` and `#`, and its value is
/// percent-decoded. Two variables must be separated by literal text.
///
/// # Examples
///
/// ```
/// use mcp_mount::{RequestContext, ResourceTemplate, UriVariables};
///
/// let notes = ResourceTemplate::new("notes://{id}", "note", |vars: UriVariables, _ctx: RequestContext| async move {
///     format!("note {}", vars.get("id").unwrap_or_default())
/// })
/// .mime_type("text/plain")
/// .complete("id", |_request, _ctx| async { vec!["1", "2"] });
/// # let _ = notes;
/// ```
#[derive(Clone)]
pub struct ResourceTemplate {
    pub(crate) template: String,
    parsed: Result<UriTemplate, String>,
    name: String,
    meta: Meta,
    read: Arc<ReadTemplateFn>,
    pub(crate) completers: Vec<(String, Arc<CompleteFn>)>,
}

impl fmt::Debug for ResourceTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTemplate")
            .field("template", &self.template)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ResourceTemplate {
    /// A template named `name`; `handler` is an async fn or closure taking the matched
    /// [`UriVariables`] and a [`RequestContext`] and returning anything
    /// [`IntoResourceContents`].
    pub fn new<F, Fut, R>(
        uri_template: impl Into<String>,
        name: impl Into<String>,
        handler: F,
    ) -> Self
    where
        F: TemplateHandler<Fut>,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResourceContents,
    {
        let template = uri_template.into();
        Self {
            parsed: UriTemplate::parse(&template),
            template,
            name: name.into(),
            meta: Meta::default(),
            read: Arc::new(move |target: ReadTarget, vars, ctx| {
                let fut = handler(vars, ctx);
                Box::pin(async move {
                    fut.await
                        .into_resource_contents(&target.uri, target.mime_type.as_deref())
                })
            }),
            completers: Vec::new(),
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.meta.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.meta.title = Some(title.into());
        self
    }

    /// Sets the MIME type of every resource the template names.
    #[must_use]
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.meta.mime_type = Some(mime_type.into());
        self
    }

    /// Sets annotations.
    #[must_use]
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.meta.annotations = Some(annotations);
        self
    }

    /// Sets `_meta` on the template's definition.
    #[must_use]
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta.meta = Some(meta);
        self
    }

    /// Completes values of the variable `variable` for `completion/complete` with a `ref/resource`
    /// naming this template. `handler` is an async fn or closure taking a [`CompletionRequest`](crate::CompletionRequest)
    /// and a [`RequestContext`] and returning a [`Completion`] or a `Vec` of strings.
    #[must_use]
    pub fn complete<F, Fut, R>(mut self, variable: impl Into<String>, handler: F) -> Self
    where
        F: CompletionHandler<Fut>,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<Completion>,
    {
        let variable = variable.into();
        self.completers.retain(|(v, _)| *v != variable);
        self.completers.push((variable, completer(handler)));
        self
    }

    /// The URI template.
    pub fn uri_template(&self) -> &str {
        &self.template
    }

    /// Whether `name` is one of the template's variables.
    pub(crate) fn has_variable(&self, name: &str) -> bool {
        self.parsed
            .as_ref()
            .is_ok_and(|t| t.variables().any(|v| v == name))
    }

    /// The variables of `uri` when the template matches it.
    pub(crate) fn matches(&self, uri: &str) -> Option<UriVariables> {
        let values = self.parsed.as_ref().ok()?.matches(uri)?;
        Some(UriVariables {
            uri: uri.to_owned(),
            values,
        })
    }

    /// Starts reading the resource the variables name.
    pub(crate) fn read(&self, vars: UriVariables, ctx: RequestContext) -> BoxFuture<ReadOutput> {
        let target = ReadTarget {
            uri: vars.uri.clone(),
            mime_type: self.meta.mime_type.clone(),
        };
        (self.read)(target, vars, ctx)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let parsed = self
            .parsed
            .as_ref()
            .map_err(|e| format!("resource template {:?}: {e}", self.template))?;
        if !has_scheme(&self.template) {
            return Err(format!(
                "resource template {:?} must start with a URI scheme (RFC 3986)",
                self.template
            ));
        }
        if self.name.is_empty() {
            return Err(format!(
                "resource template {:?} needs a name",
                self.template
            ));
        }
        if let Some((variable, _)) = self
            .completers
            .iter()
            .find(|(v, _)| !parsed.variables().any(|p| p == v))
        {
            return Err(format!(
                "resource template {:?} has no variable {variable:?} to complete",
                self.template
            ));
        }
        Ok(())
    }

    /// The definition in `resources/templates/list`, serialised once.
    pub(crate) fn definition(&self) -> Box<RawValue> {
        definition("uriTemplate", &self.template, &self.name, &self.meta)
    }
}

fn definition(key: &'static str, uri: &str, name: &str, meta: &Meta) -> Box<RawValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Definition<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        uri: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        uri_template: Option<&'a str>,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<&'a Annotations>,
        #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
        meta: Option<&'a Map<String, Value>>,
    }
    let template = key == "uriTemplate";
    let definition = Definition {
        uri: (!template).then_some(uri),
        uri_template: template.then_some(uri),
        name,
        title: meta.title.as_deref(),
        description: meta.description.as_deref(),
        mime_type: meta.mime_type.as_deref(),
        size: meta.size,
        annotations: meta.annotations.as_ref(),
        meta: meta.meta.as_ref(),
    };
    // Strings, numbers and our own derive(Serialize) types always serialise.
    serde_json::value::to_raw_value(&definition).unwrap_or_default()
}

/// `scheme ":"` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn has_scheme(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The longest URI matched against templates; longer ones match none.
const MAX_TEMPLATE_URI: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// A parsed RFC 6570 level-1 template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

impl UriTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err("has a '}' with no '{'".to_owned());
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let after = &rest[i + 1..];
                    let end = after
                        .find('}')
                        .ok_or_else(|| "has a '{' with no '}'".to_owned())?;
                    let name = &after[..end];
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err(format!(
                            "{{{name}}} is not a level-1 variable: only {{name}} with letters, digits and '_' is supported"
                        ));
                    }
                    if matches!(parts.last(), Some(Part::Variable(_))) {
                        return Err("two variables must be separated by literal text".to_owned());
                    }
                    if parts.iter().any(|p| *p == Part::Variable(name.to_owned())) {
                        return Err(format!("variable {name:?} appears twice"));
                    }
                    parts.push(Part::Variable(name.to_owned()));
                    rest = &after[end + 1..];
                }
            }
        }
        Ok(Self { parts })
    }

    pub(crate) fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The percent-decoded variables when `uri` matches.
    pub(crate) fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        if uri.len() > MAX_TEMPLATE_URI {
            return None;
        }
        let mut spans = Vec::new();
        // Positions known not to match, so backtracking stays polynomial.
        let mut failed = vec![false; (self.parts.len() + 1) * (uri.len() + 1)];
        if !self.match_from(0, uri, 0, &mut spans, &mut failed) {
            return None;
        }
        let mut values = Vec::with_capacity(spans.len());
        for (name, start, end) in spans {
            values.push((name.to_owned(), percent_decode(&uri[start..end])?));
        }
        Some(values)
    }

    fn match_from<'t>(
        &'t self,
        part: usize,
        uri: &str,
        pos: usize,
        spans: &mut Vec<(&'t str, usize, usize)>,
        failed: &mut [bool],
    ) -> bool {
        let key = part * (uri.len() + 1) + pos;
        if failed[key] {
            return false;
        }
        let matched = match self.parts.get(part) {
            None => pos == uri.len(),
            Some(Part::Literal(literal)) => {
                uri[pos..].starts_with(literal.as_str())
                    && self.match_from(part + 1, uri, pos + literal.len(), spans, failed)
            }
            Some(Part::Variable(name)) => {
                let segment_end = uri[pos..]
                    .find(['/', '?', '#'])
                    .map_or(uri.len(), |i| pos + i);
                // Longest value first.
                let mut found = false;
                for end in (pos + 1..=segment_end).rev() {
                    if !uri.is_char_boundary(end) {
                        continue;
                    }
                    spans.push((name, pos, end));
                    if self.match_from(part + 1, uri, end, spans, failed) {
                        found = true;
                        break;
                    }
                    spans.pop();
                }
                found
            }
        };
        if !matched {
            failed[key] = true;
        }
        matched
    }
}

/// Decodes `%XX` escapes (with the `percent-encoding` crate); `None` for a malformed escape
/// (which that crate would pass through as text) or bytes that are not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_owned());
    }
    let bytes = value.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(template).ok()?.matches(uri)
    }

    #[test]
    fn level_one_templates_match_and_decode() {
        assert_eq!(
            vars("test://template/{id}/data", "test://template/123/data"),
            Some(vec![("id".into(), "123".into())])
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template//data"),
            None
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/1/2/data"),
            None
        );
        assert_eq!(
            vars("test://template/{id}/data", "test://template/1/data/x"),
            None
        );
        assert_eq!(
            vars("file:///{name}.{ext}", "file:///a.b.txt"),
            Some(vec![
                ("name".into(), "a.b".into()),
                ("ext".into(), "txt".into())
            ])
        );
        assert_eq!(
            vars("x://{q}", "x://a%20b%2Fc"),
            Some(vec![("q".into(), "a b/c".into())])
        );
        assert_eq!(vars("x://{q}", "x://a%2"), None);
        assert_eq!(vars("x://{q}", "x://%ff"), None);
        assert_eq!(
            vars("x://{q}", "x://é"),
            Some(vec![("q".into(), "é".into())])
        );
    }

    #[test]
    fn backtracking_stays_bounded() {
        let uri = format!("x://{}", ".".repeat(4000));
        let started = std::time::Instant::now();
        assert_eq!(vars("x://{a}.{b}.{c}.z", &uri), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn only_level_one_is_accepted() {
        for bad in [
            "x://{+path}",
            "x://{?q}",
            "x://{a}{b}",
            "x://{a",
            "x://a}",
            "x://{}",
            "x://{a}/{a}",
        ] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
        let ok = UriTemplate::parse("x://{a}/b/{c_d}").ok();
        assert_eq!(
            ok.map(|t| t.variables().map(str::to_owned).collect::<Vec<_>>()),
            Some(vec!["a".to_owned(), "c_d".to_owned()])
        );
    }

    #[test]
    fn schemes() {
        assert!(has_scheme("test://static-text"));
        assert!(has_scheme("file:///x"));
        assert!(has_scheme("urn:isbn:1"));
        assert!(!has_scheme("/relative"));
        assert!(!has_scheme("1abc://x"));
        assert!(!has_scheme("no scheme"));
    }
}
