//! The REST view of the tools (opt-in with [`McpServerBuilder::rest_view`]): plain HTTP routes
//! under the same prefix and the same host middleware as the MCP endpoint, for dashboards,
//! scripts and anything that speaks HTTP but not MCP.
//!
//! [`McpServerBuilder::rest_view`]: super::McpServerBuilder::rest_view

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::engine::{Call, Reply};
use crate::handler::context::RequestContext;
use crate::http::body::McpBody;
use crate::http::core::Core;
use crate::http::error::{Error, ErrorKind};
use crate::http::forwarded::External;
use crate::http::negotiate;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::model::{CallToolResult, Content};

fn json_body(status: StatusCode, value: &impl serde::Serialize) -> Response<McpBody> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(McpBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn rest_error(status: StatusCode, message: impl Into<String>) -> Response<McpBody> {
    json_body(status, &json!({ "error": message.into() }))
}

/// The body as a JSON object, or why it is not one (answered with 400).
fn json_object(body: &[u8]) -> Result<&RawValue, String> {
    match serde_json::from_slice::<&RawValue>(body) {
        Ok(raw) if raw.get().starts_with('{') => Ok(raw),
        Ok(_) => Err("the body must be a JSON object".to_owned()),
        Err(e) => Err(format!("the body is not valid JSON: {e}")),
    }
}

fn only(method: &Method, allowed: Method) -> Result<(), Error> {
    if *method == allowed {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::MethodNotAllowed,
            format!("Method Not Allowed: {method}"),
        )
        .with_allow(if allowed == Method::GET {
            "GET"
        } else {
            "POST"
        }))
    }
}

/// `GET {prefix}/tools`: every tool's definition, as `tools/list` gives them, in one page.
pub(crate) fn tools(core: &Core, method: &Method) -> Result<Response<McpBody>, Error> {
    only(method, Method::GET)?;
    let tools = core.engine.registries.tools.snapshot();
    let definitions: Vec<&RawValue> = tools.definitions().iter().map(|d| &**d).collect();
    Ok(json_body(StatusCode::OK, &json!({ "tools": definitions })))
}

/// Calls a tool with the request body as its arguments.
async fn rest_call(
    core: &Core,
    name: &str,
    parts: http::request::Parts,
    body: &Bytes,
) -> Result<CallToolResult, Response<McpBody>> {
    if !body.is_empty() {
        negotiate::require_json_content_type(&parts.headers).map_err(Error::into_response)?;
    }
    if body.len() > core.config.max_body {
        return Err(Error::payload_too_large(core.config.max_body).into_response());
    }
    let arguments = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(json_object(body).map_err(|why| rest_error(StatusCode::BAD_REQUEST, why))?)
    };
    let invoke = {
        let found = core
            .engine
            .registries
            .tools
            .read(|tools| tools.get(name).map(|tool| Arc::clone(&tool.invoke)));
        match found {
            Some(invoke) => invoke,
            None => {
                return Err(rest_error(
                    StatusCode::NOT_FOUND,
                    format!("no tool named {name:?}"),
                ));
            }
        }
    };
    let ctx = RequestContext::new(
        RequestId::Str("rest".into()),
        None,
        parts,
        None,
        None,
        None,
        core.engine.client_timeout,
    );
    Ok(invoke(arguments, ctx).await)
}

/// `POST {prefix}/tools/{name}`: the `CallToolResult`, with HTTP 200 even when `isError`.
pub(crate) async fn call(
    core: &Core,
    name: &str,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<McpBody>, Error> {
    only(&parts.method, Method::POST)?;
    Ok(match rest_call(core, name, parts, &body).await {
        Ok(result) => json_body(StatusCode::OK, &result),
        Err(response) => response,
    })
}

/// `POST {prefix}/images/{tool}`: the tool's first image as raw bytes with its MIME type.
pub(crate) async fn image(
    core: &Core,
    name: &str,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<McpBody>, Error> {
    only(&parts.method, Method::POST)?;
    let result = match rest_call(core, name, parts, &body).await {
        Ok(result) => result,
        Err(response) => return Ok(response),
    };
    let image = result.content.iter().find_map(|c| match c {
        Content::Image(image) => Some(image),
        _ => None,
    });
    let Some(image) = image.filter(|_| !result.is_error) else {
        let reason = if result.is_error {
            "the tool failed"
        } else {
            "the tool produced no image"
        };
        return Ok(json_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "error": reason, "result": result }),
        ));
    };
    let Some(bytes) = crate::protocol::codec::decode_lenient(&image.data) else {
        return Ok(rest_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the tool's image data is not valid base64",
        ));
    };
    let mut response = Response::new(McpBody::full(bytes));
    if let Ok(mime) = HeaderValue::from_str(&image.mime_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, mime);
    }
    Ok(response)
}

/// `POST {prefix}/completions`: `completion/complete` over REST. The body is the request's
/// params (`ref`, `argument`, `context`); the answer is its result, or 400 with the error.
pub(crate) async fn completions(
    core: &Core,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<McpBody>, Error> {
    only(&parts.method, Method::POST)?;
    negotiate::require_json_content_type(&parts.headers)?;
    if body.len() > core.config.max_body {
        return Err(Error::payload_too_large(core.config.max_body));
    }
    let params = match json_object(&body) {
        Ok(params) => params,
        Err(why) => return Ok(rest_error(StatusCode::BAD_REQUEST, why)),
    };
    let id = RequestId::Str("rest".into());
    let call = Call {
        modern: None,
        parts,
        session: None,
        id: &id,
        plain_json: true,
        span: crate::telemetry::idle(),
    };
    let answer = match core.engine.complete(call, Some(params)) {
        Ok(Reply::Ready(answer)) => answer,
        Ok(Reply::Running(running)) => running.future.await,
        Err(error) => {
            return Ok(json_body(
                StatusCode::BAD_REQUEST,
                &json!({ "error": error.message, "code": error.code }),
            ));
        }
    };
    let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    Ok(match (answer.get("result"), answer.get("error")) {
        (Some(result), _) => json_body(StatusCode::OK, result),
        (None, Some(error)) => json_body(
            StatusCode::BAD_REQUEST,
            &json!({ "error": error.get("message").cloned().unwrap_or(Value::Null), "code": error.get("code").cloned().unwrap_or(Value::Null) }),
        ),
        (None, None) => rest_error(StatusCode::INTERNAL_SERVER_ERROR, "no completion result"),
    })
}

/// `GET {prefix}/openapi.json`: the REST view as an OpenAPI 3.1 document.
pub(crate) fn openapi(
    core: &Core,
    method: &Method,
    external: &External<'_>,
    prefix: &str,
) -> Result<Response<McpBody>, Error> {
    only(method, Method::GET)?;
    let tools = core.engine.registries.tools.snapshot();
    let error = json!({"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]});
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/tools".into(),
        json!({"get": {"x-mcp-mount": true, "operationId": "listTools", "summary": "Lists every tool (as MCP tools/list does)",
            "responses": {"200": {"description": "The tools", "content": {"application/json": {"schema": {"type": "object"}}}}}}}),
    );
    for definition in tools.definitions() {
        let Ok(tool) = serde_json::from_str::<Value>(definition.get()) else {
            continue;
        };
        let Some(name) = tool["name"].as_str() else {
            continue;
        };
        let with_id = |schema: &Value, kind: &str| {
            // An `$id` makes the schema its own resource, so its `#/$defs/…` references
            // resolve inside it and not against this document's root.
            let mut schema = schema.clone();
            if let Some(object) = schema.as_object_mut() {
                object
                    .entry("$id")
                    .or_insert_with(|| json!(format!("urn:mcp-mount:tool:{name}:{kind}")));
            }
            schema
        };
        let mut result = json!({"type": "object", "properties": {
            "content": {"type": "array", "items": {"type": "object", "properties": {"type": {"type": "string"}}, "required": ["type"]}},
            "isError": {"type": "boolean"}}, "required": ["content"]});
        if let Some(output) = tool.get("outputSchema") {
            result["properties"]["structuredContent"] = with_id(output, "output");
        }
        let summary = tool.get("description").cloned().unwrap_or(Value::Null);
        paths.insert(
            format!("/tools/{name}"),
            json!({"post": {"x-mcp-mount": true, "operationId": name, "summary": summary,
                "requestBody": {"required": false, "content": {"application/json": {"schema": with_id(&tool["inputSchema"], "input")}}},
                "responses": {
                    "200": {"description": "The tool's result; `isError` is true when the tool itself failed", "content": {"application/json": {"schema": result}}},
                    "400": {"description": "The body is not a JSON object", "content": {"application/json": {"schema": error}}},
                    "404": {"description": "No such tool", "content": {"application/json": {"schema": error}}}}}}),
        );
    }
    paths.insert(
        "/images/{tool}".into(),
        json!({"post": {"x-mcp-mount": true, "operationId": "toolImage", "summary": "Calls a tool and answers with its first image's bytes",
            "parameters": [{"name": "tool", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "The image, with its MIME type", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}},
                "404": {"description": "No such tool", "content": {"application/json": {"schema": error}}},
                "422": {"description": "The tool failed or produced no image", "content": {"application/json": {"schema": error}}}}}}),
    );
    let title = core
        .engine
        .server_info
        .get("title")
        .or_else(|| core.engine.server_info.get("name"))
        .cloned()
        .unwrap_or(Value::Null);
    let document = json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": core.engine.server_info.get("version").cloned().unwrap_or(Value::Null),
                 "description": "The tools of this MCP server as plain HTTP operations (the mcp-mount REST view)."},
        "servers": [{"url": external.url(prefix.trim_end_matches('/'))}],
        "paths": paths,
    });
    Ok(json_body(StatusCode::OK, &document))
}
