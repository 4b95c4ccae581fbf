use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::openapi::{self, Location};
use super::{HostApp, HostError, HostHandle, MAX_NAME, RouteTools, call, host_fn};
use crate::protocol::model::CallToolResult;

fn doc(paths: Value) -> Value {
    json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths,
        "components": {"schemas": {
            "NewItem": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "description": "What it is called"},
                "tag": {"$ref": "#/components/schemas/Tag"}}},
            "Tag": {"type": "string", "enum": ["a", "b"]},
            "Item": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}}},
            "Node": {"type": "object", "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
        },
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}, "description": "At most this many"}}}
    })
}

fn ops(doc: &Value) -> Vec<openapi::Operation> {
    let routes = RouteTools::from_openapi(doc).unwrap();
    openapi::name_uniquely(
        openapi::operations(&routes.doc, &routes.settings).unwrap(),
        &[],
    )
}

fn shop() -> Value {
    doc(json!({
        "/items": {
            "get": {"operationId": "list_items", "summary": "Lists items", "tags": ["items"],
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}}}},
            "post": {"operationId": "create_item", "summary": "Creates an item", "description": "Stores it.", "tags": ["items", "write"],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}}}
        },
        "/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "put": {"operationId": "replace_item",
                "parameters": [{"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                               {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                               {"name": "id", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}, "required": ["name"]}}}},
                "responses": {"200": {"description": "ok"}}},
            "delete": {"responses": {"204": {"description": "gone"}}}
        },
        "/tree": {"post": {"operationId": "plant",
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}},
        "/upload": {"post": {"operationId": "upload",
            "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "ok"}}}}
    }))
}

fn find<'a>(ops: &'a [openapi::Operation], name: &str) -> &'a openapi::Operation {
    ops.iter().find(|o| o.name == name).unwrap_or_else(|| {
        panic!(
            "no operation {name} in {:?}",
            ops.iter().map(|o| &o.name).collect::<Vec<_>>()
        )
    })
}

#[test]
fn rejects_what_is_not_openapi_3() {
    let swagger = json!({"swagger": "2.0", "paths": {}});
    assert!(
        RouteTools::from_openapi(&swagger)
            .unwrap_err()
            .to_string()
            .contains("OpenAPI 3.x")
    );
    let no_paths = json!({"openapi": "3.0.3"});
    assert!(RouteTools::from_openapi(&no_paths).is_err());
    let dangling = doc(
        json!({"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}], "responses": {}}}}),
    );
    let e = RouteTools::from_openapi(&dangling).unwrap_err().to_string();
    assert!(e.contains("#/components/parameters/Nope"), "{e}");
    let external =
        doc(json!({"/a": {"get": {"parameters": [{"$ref": "other.yaml#/x"}], "responses": {}}}}));
    assert!(
        RouteTools::from_openapi(&external)
            .unwrap_err()
            .to_string()
            .contains("outside")
    );
    assert!(RouteTools::from_openapi_str("{").is_err());
}

#[test]
fn names_come_from_operation_ids_or_method_and_path() {
    let ops = ops(&shop());
    let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
    // Sorted by path, then by OpenAPI's method order; the multipart-only operation is left out.
    assert_eq!(
        names,
        [
            "list_items",
            "create_item",
            "replace_item",
            "delete_items_id",
            "plant"
        ]
    );
    assert_eq!(openapi::generated_name("get", "/"), "get_root");
    assert_eq!(
        openapi::generated_name("post", "/api/v1/Users/{user-id}/keys"),
        "post_api_v1_users_user_id_keys"
    );
    assert_eq!(openapi::sanitize("items/list all"), "items_list_all");
    assert_eq!(openapi::sanitize("a.b-c_d"), "a.b-c_d");
}

#[test]
fn long_names_are_shortened_stably_and_distinctly() {
    let a = "x".repeat(70) + "_first";
    let b = "x".repeat(70) + "_second";
    let (sa, sb) = (openapi::shorten(&a), openapi::shorten(&b));
    assert_eq!(sa.len(), MAX_NAME);
    assert_eq!(sb.len(), MAX_NAME);
    assert_ne!(sa, sb);
    assert_eq!(sa, openapi::shorten(&a), "the same every time");
    assert!(sa.starts_with(&"x".repeat(55)));
    assert_eq!(openapi::shorten("short"), "short");
}

#[test]
fn names_are_unique_among_operations_and_existing_tools() {
    let d = doc(json!({
        "/a": {"get": {"operationId": "same", "responses": {}}, "post": {"operationId": "same", "responses": {}}},
        "/b": {"get": {"operationId": "same", "responses": {}}},
        "/c": {"get": {"operationId": "echo", "responses": {}}}
    }));
    let routes = RouteTools::from_openapi(&d).unwrap();
    let raw = openapi::operations(&routes.doc, &routes.settings).unwrap();
    let named = openapi::name_uniquely(raw, &["echo"]);
    let names: Vec<&str> = named.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["same", "same_2", "same_3", "echo_2"]);
    // A long name with a suffix still fits.
    let long = "y".repeat(80);
    let d = doc(
        json!({"/a": {"get": {"operationId": long, "responses": {}}, "post": {"operationId": long, "responses": {}}}}),
    );
    let named = ops(&d);
    assert!(named.iter().all(|o| o.name.len() <= MAX_NAME));
    assert_ne!(named[0].name, named[1].name);
}

#[test]
fn descriptions_and_annotations() {
    let ops = ops(&shop());
    let list = find(&ops, "list_items");
    assert_eq!(list.title.as_deref(), Some("Lists items"));
    assert_eq!(list.description, "Lists items");
    let create = find(&ops, "create_item");
    assert_eq!(create.description, "Creates an item\n\nStores it.");
    let delete = find(&ops, "delete_items_id");
    assert_eq!(delete.description, "DELETE /items/{id}");

    let hints = |name: &str| serde_json::to_value(find(&ops, name).annotations()).unwrap();
    assert_eq!(hints("list_items"), json!({"readOnlyHint": true}));
    assert_eq!(
        hints("create_item"),
        json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false})
    );
    assert_eq!(
        hints("replace_item"),
        json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": true})
    );
    assert_eq!(
        hints("delete_items_id"),
        json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true})
    );
}

#[test]
fn parameters_and_body_merge_into_one_schema_with_refs_resolved() {
    let ops = ops(&shop());
    let list = find(&ops, "list_items");
    assert_eq!(
        list.input_schema,
        json!({"type": "object", "properties": {"limit": {"type": "integer", "description": "At most this many"}}})
    );
    let create = find(&ops, "create_item");
    // Without `required: false`, the body's required properties are required.
    let mut unsaid = shop();
    unsaid["paths"]["/items"]["post"]["requestBody"]
        .as_object_mut()
        .unwrap()
        .remove("required");
    assert_eq!(
        find(&ops_of(&unsaid), "create_item").input_schema["required"],
        json!(["name"])
    );
    let mut optional = shop();
    optional["paths"]["/items"]["post"]["requestBody"]["required"] = json!(false);
    assert_eq!(
        find(&ops_of(&optional), "create_item")
            .input_schema
            .get("required"),
        None
    );
    assert_eq!(
        create.input_schema,
        json!({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "description": "What it is called"},
            "tag": {"type": "string", "enum": ["a", "b"]}}})
    );
}

#[test]
fn colliding_names_are_prefixed_by_location() {
    let ops = ops(&shop());
    let replace = find(&ops, "replace_item");
    let args: Vec<(&str, &str, Location)> = replace
        .args
        .iter()
        .map(|a| (a.name.as_str(), a.wire.as_str(), a.location))
        .collect();
    assert_eq!(
        args,
        [
            ("id", "id", Location::Path),
            ("query_id", "id", Location::Query),
            // Authorization is not an argument: OpenAPI ignores it, and it is forwarded.
            ("X-Request-Id", "X-Request-Id", Location::Header),
            ("body_id", "id", Location::Body),
            ("name", "name", Location::Body),
        ]
    );
    assert_eq!(replace.input_schema["required"], json!(["id", "name"]));
}

#[test]
fn forwarded_headers_are_not_arguments() {
    let d = doc(json!({"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "X-Tenant", "in": "header", "schema": {"type": "string"}},
        {"name": "X-Other", "in": "header", "schema": {"type": "string"}}], "responses": {}}}}));
    let routes = RouteTools::from_openapi(&d)
        .unwrap()
        .forward_headers(["x-tenant"]);
    let ops = openapi::operations(&routes.doc, &routes.settings).unwrap();
    let names: Vec<&str> = ops[0].args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["X-Other"]);
}

#[test]
fn recursive_schemas_go_to_defs_and_non_objects_are_the_body_argument() {
    let ops = ops(&shop());
    let plant = find(&ops, "plant");
    assert_eq!(plant.args.len(), 1);
    assert_eq!(plant.args[0].location, Location::WholeBody);
    let body = &plant.input_schema["properties"]["body"];
    assert_eq!(body["type"], "array");
    assert_eq!(
        body["items"]["properties"]["children"]["items"],
        json!({"$ref": "#/$defs/Node"})
    );
    let node = &plant.input_schema["$defs"]["Node"];
    assert_eq!(
        node["properties"]["children"]["items"],
        json!({"$ref": "#/$defs/Node"})
    );
    // The output schema resolves the same way, with its own $defs.
    let output = plant.output_schema.as_ref().unwrap();
    assert_eq!(output["type"], "object");
    assert_eq!(output["$defs"]["Node"]["type"], "object");
}

#[test]
fn output_schema_only_for_json_object_answers() {
    let ops = ops(&shop());
    assert_eq!(find(&ops, "list_items").output_schema, None, "an array");
    assert_eq!(
        find(&ops, "create_item").output_schema,
        Some(
            json!({"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
        )
    );
    assert_eq!(
        find(&ops, "delete_items_id").output_schema,
        None,
        "no content"
    );
    let mixed = doc(json!({"/a": {"get": {"operationId": "a", "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {}}}}},
        "204": {"description": "none"}}}}}));
    assert_eq!(
        ops_of(&mixed)[0].output_schema,
        None,
        "a 204 has no structured content"
    );
}

fn ops_of(d: &Value) -> Vec<openapi::Operation> {
    ops(d)
}

#[test]
fn openapi_3_0_nullable_becomes_a_null_type() {
    let d = json!({"openapi": "3.0.3", "paths": {"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "q", "in": "query", "schema": {"type": "string", "nullable": true}}], "responses": {}}}}});
    assert_eq!(
        ops(&d)[0].input_schema["properties"]["q"]["type"],
        json!(["string", "null"])
    );
}

#[test]
fn servers_url_path_is_the_base_path() {
    let mut d = doc(json!({"/items": {"get": {"operationId": "a", "responses": {}}}}));
    d["servers"] = json!([{"url": "https://api.example.com/api/v1/"}]);
    assert_eq!(ops(&d)[0].path, "/api/v1/items");
    d["servers"] = json!([{"url": "/base"}]);
    assert_eq!(ops(&d)[0].path, "/base/items");
}

fn unreachable_host() -> HostHandle {
    let app: Arc<dyn HostApp> = Arc::new(host_fn(|_req, _max| async {
        Err::<Response<Bytes>, _>(HostError::new("not used"))
    }));
    HostHandle::new(app)
}

fn names(routes: &RouteTools) -> Vec<String> {
    routes
        .tools(&unreachable_host(), &[])
        .iter()
        .map(|t| t.name().to_owned())
        .collect()
}

#[test]
fn filters_by_operation_tag_method_and_path() {
    let routes = RouteTools::from_openapi(&shop()).unwrap();
    assert_eq!(
        names(&routes.clone().operations(["list_items", "plant"])),
        ["list_items", "plant"]
    );
    assert_eq!(
        names(
            &routes
                .clone()
                .exclude_operations(["plant", "delete_items_id"])
        ),
        ["list_items", "create_item", "replace_item"]
    );
    assert_eq!(
        names(&routes.clone().tags(["items"])),
        ["list_items", "create_item"]
    );
    assert_eq!(
        names(&routes.clone().tags(["items"]).exclude_tags(["write"])),
        ["list_items"]
    );
    assert_eq!(
        names(&routes.clone().methods([Method::GET])),
        ["list_items"]
    );
    assert_eq!(names(&routes.clone().exclude_path("/items/")), ["plant"]);
    assert_eq!(
        names(&routes.exclude_path("/item")).len(),
        5,
        "a path prefix ends at a segment"
    );
}

#[test]
fn calls_into_the_mount_are_recognised() {
    assert!(call::is_under("/mcp", "/mcp"));
    assert!(call::is_under("/mcp/tools/x", "/mcp/"));
    assert!(!call::is_under("/mcpx", "/mcp"));
    assert!(!call::is_under("/items", "/mcp"));
    assert!(call::is_under("/", ""), "mounted at the root: its endpoint");
    assert!(
        !call::is_under("/items", ""),
        "mounted at the root: the app's routes are not it"
    );
}

#[test]
fn the_rest_view_is_never_a_tool() {
    let d = doc(json!({
        "/tools": {"get": {"x-mcp-mount": true, "operationId": "listTools", "responses": {}}},
        "/mine": {"get": {"operationId": "mine", "responses": {}}}
    }));
    assert_eq!(names(&RouteTools::from_openapi(&d).unwrap()), ["mine"]);
}

fn request_for(name: &str, args: Value, caller: &HeaderMap) -> Result<Request<Bytes>, String> {
    let ops = ops(&shop());
    let Value::Object(args) = args else { panic!() };
    call::request(
        find(&ops, name),
        &args,
        caller,
        &[http::header::AUTHORIZATION],
    )
}

#[test]
fn arguments_become_the_request() {
    let mut caller = HeaderMap::new();
    caller.insert("authorization", HeaderValue::from_static("Bearer t"));
    caller.insert("cookie", HeaderValue::from_static("session=s"));
    caller.insert("host", HeaderValue::from_static("shop.example"));
    let req = request_for(
        "replace_item",
        json!({"id": 7, "query_id": "a b&c", "X-Request-Id": "r1", "body_id": 8, "name": "café"}),
        &caller,
    )
    .unwrap();
    assert_eq!(req.method(), Method::PUT);
    assert_eq!(req.uri(), "/items/7?id=a%20b%26c");
    assert_eq!(req.headers()["x-request-id"], "r1");
    assert_eq!(req.headers()["authorization"], "Bearer t", "forwarded");
    assert_eq!(req.headers()["host"], "shop.example");
    assert!(
        req.headers().get("cookie").is_none(),
        "not on the allow-list"
    );
    assert_eq!(req.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(body, json!({"id": 8, "name": "café"}));

    let req = request_for("list_items", json!({"limit": 2}), &HeaderMap::new()).unwrap();
    assert_eq!(req.uri(), "/items?limit=2");
    assert!(req.body().is_empty());
    assert!(req.headers().get("content-type").is_none());
    assert!(req.headers().get("authorization").is_none());

    let req = request_for("plant", json!({"body": [{"value": 1}]}), &HeaderMap::new()).unwrap();
    assert_eq!(req.body(), &Bytes::from_static(br#"[{"value":1}]"#));
    let req = request_for("plant", json!({}), &HeaderMap::new()).unwrap();
    assert!(req.body().is_empty(), "an optional body left out");
}

#[test]
fn path_arguments_are_escaped_and_required() {
    let req = request_for(
        "delete_items_id",
        json!({"id": "../admin?x"}),
        &HeaderMap::new(),
    )
    .unwrap();
    assert_eq!(req.uri().path(), "/items/..%2Fadmin%3Fx");
    let e = request_for("delete_items_id", json!({}), &HeaderMap::new()).unwrap_err();
    assert!(e.contains("\"id\"") && e.contains("/items/{id}"), "{e}");
    let e = request_for("list_items", json!({"limitt": 1}), &HeaderMap::new()).unwrap_err();
    assert!(e.contains("limitt") && e.contains("limit"), "{e}");
}

#[test]
fn an_argument_never_overrides_a_forwarded_header() {
    let d = doc(json!({"/a": {"get": {"operationId": "a", "parameters": [
        {"name": "X-Key", "in": "header", "schema": {"type": "string"}}], "responses": {}}}}));
    let ops = ops(&d);
    let mut caller = HeaderMap::new();
    caller.insert("x-key", HeaderValue::from_static("caller"));
    let Value::Object(args) = json!({"X-Key": "model"}) else {
        panic!()
    };
    let req = call::request(
        &ops[0],
        &args,
        &caller,
        &[http::HeaderName::from_static("x-key")],
    )
    .unwrap();
    assert_eq!(req.headers()["x-key"], "caller");
}

fn answer(status: u16, content_type: &str, body: &'static [u8]) -> CallToolResult {
    let mut response = Response::new(Bytes::from_static(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if !content_type.is_empty() {
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_str(content_type).unwrap());
    }
    call::result(response, "/x")
}

#[test]
fn answers_become_results() {
    let object = answer(201, "application/json", br#"{"id":1,"name":"a"}"#);
    assert!(!object.is_error);
    assert_eq!(
        object.structured_content,
        Some(json!({"id": 1, "name": "a"}))
    );
    assert_eq!(
        serde_json::to_value(&object.content).unwrap(),
        json!([{"type": "text", "text": r#"{"id":1,"name":"a"}"#}])
    );

    let array = answer(200, "application/json; charset=utf-8", b"[1,2]");
    assert_eq!(
        array.structured_content, None,
        "structuredContent is an object"
    );
    assert_eq!(
        serde_json::to_value(&array.content).unwrap()[0]["text"],
        "[1,2]"
    );

    let text = answer(200, "text/plain", b"hello");
    assert_eq!(
        serde_json::to_value(&text.content).unwrap()[0]["text"],
        "hello"
    );

    let image = answer(200, "image/png", b"\x89PNG");
    assert_eq!(
        serde_json::to_value(&image.content).unwrap()[0],
        json!({"type": "image", "data": "iVBORw==", "mimeType": "image/png"})
    );

    let blob = answer(200, "application/octet-stream", b"\x00\x01");
    assert_eq!(
        serde_json::to_value(&blob.content).unwrap()[0]["type"],
        "resource"
    );

    let empty = answer(204, "", b"");
    assert_eq!(
        serde_json::to_value(&empty.content).unwrap()[0]["text"],
        "HTTP 204 No Content"
    );
}

#[test]
fn other_statuses_are_tool_errors_with_status_and_body() {
    let denied = answer(401, "application/json", br#"{"error":"no token"}"#);
    assert!(denied.is_error);
    assert_eq!(denied.structured_content, None);
    let text = serde_json::to_value(&denied.content).unwrap()[0]["text"].clone();
    assert_eq!(text, r#"HTTP 401 Unauthorized: {"error":"no token"}"#);
    assert!(answer(500, "", b"").is_error);
    assert!(answer(302, "", b"").is_error, "redirects are not followed");
}

/// A call through a tool, with a context as the core makes one.
async fn call_tool(
    tool: &crate::handler::tool::Tool,
    args: Value,
    headers: HeaderMap,
    prefix: Option<&str>,
) -> CallToolResult {
    call_tool_cancellable(tool, args, headers, prefix, None).await
}

/// [`call_tool`] with the cancellation token the core gives a cancellable request.
async fn call_tool_cancellable(
    tool: &crate::handler::tool::Tool,
    args: Value,
    headers: HeaderMap,
    prefix: Option<&str>,
    cancel: Option<tokio_util::sync::CancellationToken>,
) -> CallToolResult {
    let mut parts = Request::new(()).into_parts().0;
    parts.headers = headers;
    if let Some(prefix) = prefix {
        parts
            .extensions
            .insert(super::MountPrefix(prefix.to_owned()));
    }
    let ctx = crate::handler::context::RequestContext::new(
        crate::protocol::jsonrpc::RequestId::Int(1),
        None,
        parts,
        None,
        None,
        cancel,
        Duration::from_secs(1),
    );
    let raw = serde_json::value::to_raw_value(&args).unwrap();
    (tool.invoke)(Some(&raw), ctx).await
}

#[tokio::test]
async fn a_tool_call_goes_through_the_host_and_back() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app: Arc<dyn HostApp> = Arc::new(host_fn(move |req: Request<Bytes>, _max| {
        let log = Arc::clone(&log);
        async move {
            let auth = req
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("").to_owned());
            log.lock()
                .unwrap()
                .push(format!("{} {} {:?}", req.method(), req.uri(), auth));
            let mut response = Response::new(Bytes::from(r#"{"id":1,"name":"a"}"#));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            Ok(response)
        }
    }));
    let tools = RouteTools::from_openapi(&shop())
        .unwrap()
        .tools(&HostHandle::weak(&app), &[]);
    let create = tools.iter().find(|t| t.name() == "create_item").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_static("Bearer t"));
    let result = call_tool(create, json!({"name": "a"}), headers, Some("/mcp")).await;
    assert!(!result.is_error, "{result:?}");
    assert_eq!(
        result.structured_content,
        Some(json!({"id": 1, "name": "a"}))
    );
    assert_eq!(*seen.lock().unwrap(), ["POST /items Some(\"Bearer t\")"]);

    // Mounted at /items: the call would reach the mount itself.
    let refused = call_tool(
        create,
        json!({"name": "a"}),
        HeaderMap::new(),
        Some("/items"),
    )
    .await;
    assert!(refused.is_error);
    assert_eq!(seen.lock().unwrap().len(), 1, "never sent");

    // The app is gone: the weak handle does not keep it.
    drop(app);
    let gone = call_tool(create, json!({"name": "a"}), HeaderMap::new(), None).await;
    assert!(gone.is_error);
    assert!(format!("{:?}", gone.content).contains("no longer running"));
}

#[tokio::test]
async fn a_slow_host_times_out_and_its_request_is_dropped() {
    struct Dropped(Arc<Mutex<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = true;
        }
    }
    let dropped: Arc<Mutex<bool>> = Arc::default();
    let flag = Arc::clone(&dropped);
    let app: Arc<dyn HostApp> = Arc::new(host_fn(move |_req, _max| {
        let guard = Dropped(Arc::clone(&flag));
        async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Response::new(Bytes::new()))
        }
    }));
    let tools = RouteTools::from_openapi(&shop())
        .unwrap()
        .timeout(Duration::from_millis(50))
        .tools(&HostHandle::new(app), &[]);
    let list = tools.iter().find(|t| t.name() == "list_items").unwrap();
    let result = call_tool(list, json!({}), HeaderMap::new(), None).await;
    assert!(result.is_error);
    assert!(format!("{:?}", result.content).contains("timed out after 50 ms"));
    assert!(*dropped.lock().unwrap(), "the inner request was dropped");
}

#[test]
fn tool_definitions_carry_schema_title_annotations_and_output() {
    let tools = RouteTools::from_openapi(&shop())
        .unwrap()
        .tools(&unreachable_host(), &[]);
    let create = tools.iter().find(|t| t.name() == "create_item").unwrap();
    let definition: Value = serde_json::from_str(create.definition().get()).unwrap();
    assert_eq!(definition["title"], "Creates an item");
    assert_eq!(definition["annotations"]["idempotentHint"], false);
    assert_eq!(definition["outputSchema"]["type"], "object");
    assert_eq!(definition["inputSchema"]["required"], json!(["name"]));
    assert_eq!(definition["_meta"]["mcp-mount/route"], "POST /items");
    let _: Map<String, Value> = definition.as_object().unwrap().clone();
}

#[tokio::test]
async fn a_cancelled_call_drops_its_inner_request() {
    struct Dropped(Arc<Mutex<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = true;
        }
    }
    let dropped: Arc<Mutex<bool>> = Arc::default();
    let flag = Arc::clone(&dropped);
    let app: Arc<dyn HostApp> = Arc::new(host_fn(move |_req, _max| {
        let guard = Dropped(Arc::clone(&flag));
        async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Response::new(Bytes::new()))
        }
    }));
    let tools = RouteTools::from_openapi(&shop())
        .unwrap()
        .tools(&HostHandle::new(app), &[]);
    let list = tools.iter().find(|t| t.name() == "list_items").unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        trigger.cancel();
    });
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        call_tool_cancellable(list, json!({}), HeaderMap::new(), None, Some(cancel)),
    )
    .await
    .unwrap();
    assert!(result.is_error);
    assert!(format!("{:?}", result.content).contains("cancelled"));
    assert!(*dropped.lock().unwrap(), "the inner request was dropped");
}
