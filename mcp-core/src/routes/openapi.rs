//! An OpenAPI 3.0/3.1 document, read as JSON, into operations: names, descriptions, one flat
//! input schema per operation and the map from each argument back to where it goes.
//!
//! Hand-written on `serde_json::Value` rather than on an OpenAPI crate: the core keeps OpenAPI
//! crates out of its dependency tree, and it needs only paths, operations, parameters, bodies,
//! responses and `$ref`s.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use http::{HeaderName, Method};
use serde_json::{Map, Value, json};

use crate::handler::schema::restrict_formats;
use crate::protocol::model::ToolAnnotations;

/// The longest tool name generated (what most model APIs accept).
pub const MAX_NAME: usize = 64;

/// How calls are made: what the builder set.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) forward: Vec<HeaderName>,
    pub(crate) timeout: Duration,
    pub(crate) max_body: usize,
}

/// Why an OpenAPI document cannot be turned into tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenApiError(String);

impl OpenApiError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for OpenApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenApiError {}

/// The methods of a path item, in the order OpenAPI lists them (and names are made unique in).
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Where an argument goes in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
    Header,
    Cookie,
    /// One property of an object body.
    Body,
    /// The whole body (the argument `body`).
    WholeBody,
}

impl Location {
    fn label(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
            Self::Body | Self::WholeBody => "body",
        }
    }
}

/// One tool argument: its name in the input schema, its name on the wire, where it goes.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub(crate) name: String,
    pub(crate) wire: String,
    pub(crate) location: Location,
}

/// How the body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    Form,
    Text,
}

/// One operation, as a tool.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    /// The tool name (made unique by [`name_uniquely`]).
    pub(crate) name: String,
    pub(crate) operation_id: Option<String>,
    pub(crate) method: Method,
    /// The path template, base path included (`/api/items/{id}`).
    pub(crate) path: String,
    pub(crate) tags: Vec<String>,
    pub(crate) title: Option<String>,
    pub(crate) description: String,
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Option<Value>,
    pub(crate) args: Vec<Arg>,
    /// The body's content type and encoding, when the operation takes one.
    pub(crate) body: Option<(String, Encoding)>,
}

impl Operation {
    /// The hints its method gives.
    pub(crate) fn annotations(&self) -> ToolAnnotations {
        let m = &self.method;
        let read_only = matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS);
        ToolAnnotations {
            read_only_hint: Some(read_only),
            destructive_hint: (!read_only).then_some(*m == Method::DELETE),
            idempotent_hint: (!read_only).then_some(matches!(*m, Method::PUT | Method::DELETE)),
            ..ToolAnnotations::default()
        }
    }
}

/// Every operation of `doc`, in path order, named but not yet unique.
pub(crate) fn operations(doc: &Value, settings: &Settings) -> Result<Vec<Operation>, OpenApiError> {
    let base = base_path(doc);
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<&String> = paths.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for path in keys {
        let item = deref(doc, &paths[path])?;
        let shared = item.get("parameters").and_then(Value::as_array);
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            if op.get("x-mcp-mount").is_some() {
                continue;
            }
            let full = format!("{base}{path}");
            if let Some(op) = operation(doc, &full, method, op, shared, settings)? {
                out.push(op);
            }
        }
    }
    Ok(out)
}

/// The path of the first `servers` entry's URL (`https://x/api/v1` or `/api/v1` give
/// `/api/v1`): OpenAPI paths are relative to it.
fn base_path(doc: &Value) -> String {
    let url = doc
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    // A templated server URL (`{basePath}`) cannot be resolved here: no base path.
    if path.contains('{') || !path.starts_with('/') {
        return String::new();
    }
    path.trim_end_matches('/').to_owned()
}

/// A parameter as read from the document.
struct Param {
    name: String,
    location: Location,
    required: bool,
    schema: Value,
}

fn operation(
    doc: &Value,
    path: &str,
    method: &str,
    op: &Value,
    shared: Option<&Vec<Value>>,
    settings: &Settings,
) -> Result<Option<Operation>, OpenApiError> {
    let method_upper = method.to_ascii_uppercase();
    let http_method = Method::from_bytes(method_upper.as_bytes())
        .map_err(|_| OpenApiError::new(format!("unknown method {method}")))?;
    let where_ = format!("{method_upper} {path}");

    // Path-level parameters, overridden by the operation's own with the same name and place.
    let mut params: Vec<Param> = Vec::new();
    for raw in shared.into_iter().flatten().chain(
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    ) {
        let Some(param) = parameter(doc, raw, settings)? else {
            continue;
        };
        params.retain(|p| !(p.name == param.name && p.location == param.location));
        params.push(param);
    }
    let order = |l: Location| match l {
        Location::Path => 0,
        Location::Query => 1,
        Location::Header => 2,
        Location::Cookie => 3,
        Location::Body | Location::WholeBody => 4,
    };
    params.sort_by_key(|p| order(p.location));

    let mut body = None;
    if let Some(raw) = op.get("requestBody") {
        let request_body = deref(doc, raw)?;
        // Only an explicit `required: false` makes the body optional: OpenAPI's default is
        // false, but generators (salvo-oapi among them) leave it out of bodies their handlers
        // require, and a body the model may leave out would lose its required properties.
        let required = request_body.get("required") != Some(&Value::Bool(false));
        let content = request_body.get("content").and_then(Value::as_object);
        let pick = content.and_then(|content| {
            let find = |want: &dyn Fn(&str) -> bool| {
                content.iter().find(|(k, _)| want(&k.to_ascii_lowercase()))
            };
            find(&|k| k.starts_with("application/json") || k.contains("+json"))
                .map(|(k, v)| (k, v, Encoding::Json))
                .or_else(|| {
                    find(&|k| k.starts_with("application/x-www-form-urlencoded"))
                        .map(|(k, v)| (k, v, Encoding::Form))
                })
                .or_else(|| find(&|k| k.starts_with("text/")).map(|(k, v)| (k, v, Encoding::Text)))
        });
        match pick {
            Some((content_type, media, encoding)) => {
                let mut defs = Defs::default();
                let schema = match media.get("schema") {
                    Some(schema) => resolve(doc, schema, &mut Vec::new(), &mut defs)?,
                    None => json!({}),
                };
                let properties = (encoding != Encoding::Text)
                    .then(|| object_properties(&schema))
                    .flatten();
                match properties {
                    Some((props, inner_required)) => {
                        for (name, prop) in props {
                            params.push(Param {
                                required: required && inner_required.contains(&name),
                                name,
                                location: Location::Body,
                                schema: prop,
                            });
                        }
                    }
                    None => params.push(Param {
                        name: "body".into(),
                        location: Location::WholeBody,
                        required,
                        schema,
                    }),
                }
                body = Some((content_type.clone(), encoding, defs));
            }
            // A body this cannot encode (multipart, binary): the operation cannot be a tool
            // when it needs one; an optional one is left out.
            None if required => return Ok(None),
            None => {}
        }
    }

    // Names, with the documented disambiguation.
    let mut taken: HashSet<String> = HashSet::new();
    let mut args = Vec::new();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in params {
        let mut name = param.name.clone();
        if taken.contains(&name) {
            let prefixed = format!("{}_{}", param.location.label(), param.name);
            name = prefixed.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{prefixed}_{n}");
                n += 1;
            }
        }
        taken.insert(name.clone());
        if param.required {
            required.push(Value::String(name.clone()));
        }
        properties.insert(name.clone(), param.schema);
        args.push(Arg {
            name,
            wire: param.name,
            location: param.location,
        });
    }
    let mut input_schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        input_schema["required"] = Value::Array(required);
    }
    let body = body.map(|(content_type, encoding, defs)| {
        defs.attach(&mut input_schema);
        (content_type, encoding)
    });
    // Parameters' own recursive schemas went to their own `$defs`; hoist them.
    hoist_defs(&mut input_schema);
    // OpenAPI's `int32`/`int64` formats are not JSON Schema's: clients warn about them.
    restrict_formats(&mut input_schema);
    let mut output = output_schema(doc, op)?;
    if let Some(output) = &mut output {
        restrict_formats(output);
    }

    let summary = text(op.get("summary"));
    let details = text(op.get("description"));
    let description = match (&summary, &details) {
        (Some(s), Some(d)) if s != d => format!("{s}\n\n{d}"),
        (Some(s), _) => s.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => where_.clone(),
    };
    let operation_id = text(op.get("operationId"));
    let name = match &operation_id {
        Some(id) => sanitize(id),
        None => String::new(),
    };
    let name = if name.is_empty() {
        generated_name(method, path)
    } else {
        name
    };
    Ok(Some(Operation {
        name: shorten(&name),
        operation_id,
        method: http_method,
        path: path.to_owned(),
        tags: op
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        title: summary,
        description,
        input_schema,
        output_schema: output,
        args,
        body,
    }))
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// One parameter, `None` for those that are not arguments.
fn parameter(doc: &Value, raw: &Value, settings: &Settings) -> Result<Option<Param>, OpenApiError> {
    let param = deref(doc, raw)?;
    let Some(name) = param.get("name").and_then(Value::as_str) else {
        return Ok(None);
    };
    let location = match param.get("in").and_then(Value::as_str) {
        Some("path") => Location::Path,
        Some("query") => Location::Query,
        Some("header") => Location::Header,
        Some("cookie") => Location::Cookie,
        _ => return Ok(None),
    };
    if location == Location::Header {
        let lower = name.to_ascii_lowercase();
        let forwarded =
            HeaderName::from_bytes(lower.as_bytes()).is_ok_and(|h| settings.forward.contains(&h));
        if matches!(lower.as_str(), "accept" | "content-type" | "authorization") || forwarded {
            return Ok(None);
        }
    }
    let raw_schema = param.get("schema").or_else(|| {
        param
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema"))
    });
    let mut defs = Defs::default();
    let mut schema = match raw_schema {
        Some(schema) => resolve(doc, schema, &mut Vec::new(), &mut defs)?,
        None => json!({"type": "string"}),
    };
    if let (Some(object), Some(description)) =
        (schema.as_object_mut(), text(param.get("description")))
    {
        object
            .entry("description")
            .or_insert(Value::String(description));
    }
    defs.attach(&mut schema);
    Ok(Some(Param {
        name: name.to_owned(),
        location,
        required: location == Location::Path
            || param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        schema,
    }))
}

/// An object schema's properties, in order, and its required names.
type ObjectShape = (Vec<(String, Value)>, Vec<String>);

/// The properties and required names of an object schema (`allOf` members merged), `None`
/// for any other schema.
fn object_properties(schema: &Value) -> Option<ObjectShape> {
    let is_object = |s: &Value| {
        s.get("type").is_none_or(|t| t == "object")
            && s.get("properties").is_some_and(Value::is_object)
    };
    let parts: Vec<&Value> = if is_object(schema) {
        vec![schema]
    } else if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        if all.is_empty() || !all.iter().all(is_object) {
            return None;
        }
        all.iter().collect()
    } else {
        return None;
    };
    let mut props = Vec::new();
    let mut required = Vec::new();
    for part in parts {
        if let Some(p) = part.get("properties").and_then(Value::as_object) {
            for (k, v) in p {
                props.retain(|(name, _): &(String, Value)| name != k);
                props.push((k.clone(), v.clone()));
            }
        }
        if let Some(r) = part.get("required").and_then(Value::as_array) {
            required.extend(r.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    Some((props, required))
}

/// The schema of the operation's 2xx JSON answer, when every 2xx answer it documents is a
/// JSON object.
fn output_schema(doc: &Value, op: &Value) -> Result<Option<Value>, OpenApiError> {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return Ok(None);
    };
    let mut keys: Vec<&String> = responses
        .keys()
        .filter(|k| k.starts_with('2') && k.len() == 3)
        .collect();
    keys.sort();
    let mut found = None;
    for key in keys {
        let response = deref(doc, &responses[key])?;
        let media = response
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| {
                c.iter()
                    .find(|(k, _)| k.starts_with("application/json") || k.contains("+json"))
            })
            .and_then(|(_, m)| m.get("schema"));
        let Some(schema) = media else {
            return Ok(None);
        };
        let mut defs = Defs::default();
        let mut schema = resolve(doc, schema, &mut Vec::new(), &mut defs)?;
        let object = schema.get("type").is_some_and(|t| t == "object")
            || (schema.get("type").is_none() && schema.get("properties").is_some());
        if !object {
            return Ok(None);
        }
        if found.is_none() {
            defs.attach(&mut schema);
            hoist_defs(&mut schema);
            found = Some(schema);
        }
    }
    Ok(found)
}

/// Follows a non-schema `$ref` chain (parameters, bodies, responses, path items).
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> Result<&'a Value, OpenApiError> {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => value = lookup(doc, reference)?,
            None => return Ok(value),
        }
    }
    Err(OpenApiError::new(format!(
        "a $ref chain loops: {}",
        value.get("$ref").and_then(Value::as_str).unwrap_or("")
    )))
}

fn lookup<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, OpenApiError> {
    let pointer = reference.strip_prefix('#').ok_or_else(|| {
        OpenApiError::new(format!(
            "$ref {reference:?} points outside the document; bundle external references into it first"
        ))
    })?;
    let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
    doc.pointer(&decoded).ok_or_else(|| {
        OpenApiError::new(format!(
            "$ref {reference:?} does not resolve in the document"
        ))
    })
}

/// The `$defs` a schema's recursive references moved to, by reference.
#[derive(Default)]
struct Defs {
    names: HashMap<String, String>,
    schemas: Map<String, Value>,
}

impl Defs {
    fn attach(self, schema: &mut Value) {
        if self.schemas.is_empty() {
            return;
        }
        if let Some(object) = schema.as_object_mut() {
            let defs = object
                .entry("$defs")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(defs) = defs.as_object_mut() {
                defs.extend(self.schemas);
            }
        }
    }
}

/// Moves `$defs` found in property schemas up to the root, where `#/$defs/…` points.
fn hoist_defs(schema: &mut Value) {
    let mut found = Map::new();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for prop in props.values_mut() {
            if let Some(Value::Object(defs)) = prop.as_object_mut().and_then(|p| p.remove("$defs"))
            {
                found.extend(defs);
            }
        }
    }
    if !found.is_empty() {
        Defs {
            names: HashMap::new(),
            schemas: found,
        }
        .attach(schema);
    }
}

/// A schema with its `$ref`s inlined; a reference met again inside itself (a recursive
/// schema) becomes `#/$defs/<name>`, defined once. OpenAPI 3.0's `nullable: true` becomes a
/// `"null"` type, as JSON Schema has it.
fn resolve(
    doc: &Value,
    schema: &Value,
    stack: &mut Vec<String>,
    defs: &mut Defs,
) -> Result<Value, OpenApiError> {
    match schema {
        Value::Object(object) => {
            if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
                let reference = reference.to_owned();
                if stack.contains(&reference) {
                    let name = def_name(defs, &reference);
                    if !defs.schemas.contains_key(&name) {
                        defs.schemas.insert(name.clone(), Value::Null);
                        let target = lookup(doc, &reference)?;
                        let mut inner = vec![reference.clone()];
                        let resolved = resolve(doc, target, &mut inner, defs)?;
                        defs.schemas.insert(name.clone(), resolved);
                    }
                    return Ok(json!({"$ref": format!("#/$defs/{name}")}));
                }
                if stack.len() > 64 {
                    return Err(OpenApiError::new(format!(
                        "schema references nest more than 64 deep at {reference:?}"
                    )));
                }
                let target = lookup(doc, &reference)?;
                stack.push(reference);
                let mut resolved = resolve(doc, target, stack, defs)?;
                stack.pop();
                // OpenAPI 3.1 allows keywords beside `$ref` (a description): they win.
                if let Some(out) = resolved.as_object_mut() {
                    for (k, v) in object {
                        if k != "$ref" {
                            out.insert(k.clone(), resolve(doc, v, stack, defs)?);
                        }
                    }
                }
                return Ok(resolved);
            }
            let mut out = Map::new();
            for (k, v) in object {
                out.insert(k.clone(), resolve(doc, v, stack, defs)?);
            }
            if out.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| resolve(doc, v, stack, defs))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn def_name(defs: &mut Defs, reference: &str) -> String {
    if let Some(name) = defs.names.get(reference) {
        return name.clone();
    }
    let last = reference.rsplit('/').next().unwrap_or("def");
    let base = sanitize(last);
    let mut name = base.clone();
    let mut n = 2;
    while defs.names.values().any(|v| *v == name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    defs.names.insert(reference.to_owned(), name.clone());
    name
}

/// Every character outside `A-Z a-z 0-9 _ - .` replaced by `_`.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `get_items_id` for `GET /items/{id}`; `get_root` for `GET /`.
pub(crate) fn generated_name(method: &str, path: &str) -> String {
    let mut slug = String::new();
    for c in path.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_matches('_');
    let slug = if slug.is_empty() { "root" } else { slug };
    format!("{}_{slug}", method.to_ascii_lowercase())
}

/// `name` within [`MAX_NAME`]: a longer one keeps 55 characters, then `_` and the 8 hex digits
/// of its FNV-1a hash.
pub(crate) fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_owned();
    }
    // FNV-1a, 32 bits: stable across runs and platforms (std's hasher is not).
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    // The name is ASCII (sanitized), so byte indices are character indices.
    format!("{}_{hash:08x}", &name[..MAX_NAME - 9])
}

/// The operations with names unique among themselves and apart from `taken`, in order.
pub(crate) fn name_uniquely(mut ops: Vec<Operation>, taken: &[&str]) -> Vec<Operation> {
    let mut used: HashSet<String> = taken.iter().map(|&s| s.to_owned()).collect();
    for op in &mut ops {
        let mut name = op.name.clone();
        let mut n = 2;
        while used.contains(&name) {
            let suffix = format!("_{n}");
            let mut base = op.name.clone();
            base.truncate(MAX_NAME - suffix.len());
            name = format!("{base}{suffix}");
            n += 1;
        }
        used.insert(name.clone());
        op.name = name;
    }
    ops
}
