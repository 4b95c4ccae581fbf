//! The host apps' own REST routes: a small shop every host serves beside its MCP mounts, behind
//! its own bearer-token middleware, documented with its framework's OpenAPI crate and served
//! as tools of the main fixture (`routes_as_tools`), so cases can check the bridge from
//! OpenAPI routes to MCP tools on every framework.
//!
//! The same operations on every host, under [`PATH`]:
//!
//! | operation id | route | answer |
//! |---|---|---|
//! | `list_items` | `GET /shop/items?limit=` | `{"items": [...]}` (at most `limit`) |
//! | `create_item` | `POST /shop/items` `{"name"}` | 201, the new item `{"id", "name"}` |
//! | `get_item` | `GET /shop/items/{id}` | the item, 404 `{"error"}` when there is none |
//! | `replace_item` | `PUT /shop/items/{id}` `{"id", "name"}` | `{"path_id", "body_id", "name"}` (the collision case) |
//! | (none) | `GET /shop/status` | `{"status": "ok"}`: documented without an operation id |
//! | `fail` | `GET /shop/fail` | 500 `{"error"}` |
//!
//! Every route answers 401 `{"error"}` without `Authorization: Bearer` [`TOKEN`]. The answers
//! hold no state between requests (a new item is not kept), so the cases also pass on
//! several replicas.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the shop's routes are.
pub const PATH: &str = "/shop";

/// The bearer token the shop's middleware accepts.
pub const TOKEN: &str = "fixture-token";

/// The names of the shop's tools, on the main fixture of every host.
pub const TOOLS: &[&str] = &[
    "list_items",
    "create_item",
    "get_item",
    "replace_item",
    "get_shop_status",
    "fail",
];

/// The items every host starts with: `(id, name)`.
pub const ITEMS: &[(u64, &str)] = &[(1, "apple"), (2, "pear"), (3, "plum")];

/// The id of the next item made.
static NEXT: AtomicU64 = AtomicU64::new(100);

/// An item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "Item")))]
#[cfg_attr(feature = "poem", oai(rename = "Item"))]
pub struct Item {
    /// Its id.
    pub id: u64,
    /// What it is called.
    pub name: String,
}

/// The body of `create_item`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "NewItem")))]
#[cfg_attr(feature = "poem", oai(rename = "NewItem"))]
pub struct NewItem {
    /// What to call it.
    pub name: String,
}

/// The body of `replace_item`: its `id` collides with the path's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "Replacement")))]
#[cfg_attr(feature = "poem", oai(rename = "Replacement"))]
pub struct Replacement {
    /// The id the body names.
    pub id: u64,
    /// The new name.
    pub name: String,
}

/// The answer of `list_items`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "ItemList")))]
#[cfg_attr(feature = "poem", oai(rename = "ItemList"))]
pub struct ItemList {
    /// The items.
    pub items: Vec<Item>,
}

/// The answer of `replace_item`: both ids, to show which argument went where.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "Replaced")))]
#[cfg_attr(feature = "poem", oai(rename = "Replaced"))]
pub struct Replaced {
    /// The id in the path.
    pub path_id: u64,
    /// The id in the body.
    pub body_id: u64,
    /// The new name.
    pub name: String,
}

/// The answer of `GET /shop/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "Status")))]
#[cfg_attr(feature = "poem", oai(rename = "Status"))]
pub struct Status {
    /// Always `ok`.
    pub status: String,
}

/// An error answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(any(feature = "axum", feature = "actix-web"), derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo", derive(salvo::oapi::ToSchema))]
#[cfg_attr(feature = "salvo", salvo(schema(name = "ErrorBody")))]
#[cfg_attr(feature = "poem", oai(rename = "ErrorBody"))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// Whether an `Authorization` header value carries the shop's token.
pub fn authorized(authorization: Option<&str>) -> bool {
    authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == TOKEN)
}

/// The 401 answer's body.
pub fn unauthorized() -> ErrorBody {
    ErrorBody {
        error: "missing or wrong bearer token".into(),
    }
}

/// `list_items`.
pub fn list(limit: Option<u32>) -> ItemList {
    let limit = limit.map_or(usize::MAX, |l| l as usize);
    ItemList {
        items: ITEMS
            .iter()
            .take(limit)
            .map(|&(id, name)| Item {
                id,
                name: name.into(),
            })
            .collect(),
    }
}

/// `create_item`.
pub fn create(new: NewItem) -> Item {
    Item {
        id: NEXT.fetch_add(1, Ordering::Relaxed),
        name: new.name,
    }
}

/// `get_item`: the item, or the 404 body.
pub fn get(id: u64) -> Result<Item, ErrorBody> {
    ITEMS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|&(id, name)| Item {
            id,
            name: name.into(),
        })
        .ok_or_else(|| ErrorBody {
            error: format!("no item {id}"),
        })
}

/// `replace_item`.
pub fn replace(path_id: u64, body: Replacement) -> Replaced {
    Replaced {
        path_id,
        body_id: body.id,
        name: body.name,
    }
}

/// `GET /shop/status`.
pub fn status() -> Status {
    Status {
        status: "ok".into(),
    }
}

/// `fail`'s 500 body.
pub fn failure() -> ErrorBody {
    ErrorBody {
        error: "the route failed on purpose".into(),
    }
}

/// The document every host hands to `routes_as_tools`: its framework's, with the operation id
/// of `GET /shop/status` taken out (hand-written documents often have none; the tool is then
/// named from method and path, `get_shop_status`).
pub fn without_status_id(mut doc: Value) -> Value {
    for key in ["/shop/status", "/status"] {
        if let Some(op) = doc
            .pointer_mut(&format!("/paths/{}/get", key.replace('/', "~1")))
            .and_then(Value::as_object_mut)
        {
            op.remove("operationId");
        }
    }
    doc
}

/// The route tools of a host's shop document, left out what lies under `prefix` (the mounts).
///
/// # Panics
///
/// When the document is not OpenAPI 3: a bug in the host.
pub fn route_tools(doc: Value, prefix: &str) -> mcp_mount::routes::RouteTools {
    match mcp_mount::routes::RouteTools::from_openapi(&without_status_id(doc)) {
        Ok(routes) => routes.exclude_path(prefix),
        Err(e) => panic!("the host's OpenAPI document: {e}"),
    }
}

/// The shop documented with utoipa, shared by the axum and actix-web hosts (whose handlers
/// call the functions above).
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub mod utoipa_doc {
    #![expect(
        dead_code,
        reason = "the functions exist for their #[utoipa::path] attributes"
    )]

    use super::{ErrorBody, Item, ItemList, NewItem, Replaced, Replacement, Status};

    #[utoipa::path(get, path = "/shop/items", operation_id = "list_items", tag = "items",
        summary = "Lists the shop's items",
        params(("limit" = Option<u32>, Query, description = "At most this many items")),
        responses((status = 200, description = "The items", body = ItemList),
                  (status = 401, description = "No token", body = ErrorBody)))]
    fn list_items() {}

    #[utoipa::path(post, path = "/shop/items", operation_id = "create_item", tag = "items",
        summary = "Creates an item", request_body = NewItem,
        responses((status = 201, description = "The new item", body = Item),
                  (status = 401, description = "No token", body = ErrorBody)))]
    fn create_item() {}

    #[utoipa::path(get, path = "/shop/items/{id}", operation_id = "get_item", tag = "items",
        summary = "Gets one item",
        params(("id" = u64, Path, description = "The item's id")),
        responses((status = 200, description = "The item", body = Item),
                  (status = 404, description = "No such item", body = ErrorBody)))]
    fn get_item() {}

    #[utoipa::path(put, path = "/shop/items/{id}", operation_id = "replace_item", tag = "items",
        summary = "Replaces an item (echoes both ids)", request_body = Replacement,
        params(("id" = u64, Path, description = "The item's id")),
        responses((status = 200, description = "Both ids and the name", body = Replaced)))]
    fn replace_item() {}

    #[utoipa::path(get, path = "/shop/status", tag = "shop", summary = "The shop's status",
        responses((status = 200, description = "ok", body = Status)))]
    fn status() {}

    #[utoipa::path(get, path = "/shop/fail", operation_id = "fail", tag = "shop",
        summary = "Always fails with 500",
        responses((status = 500, description = "The failure", body = ErrorBody)))]
    fn fail() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(title = "fixture shop", version = "1.0.0"),
        paths(list_items, create_item, get_item, replace_item, status, fail)
    )]
    struct ShopApi;

    /// The document, as JSON.
    pub fn document() -> serde_json::Value {
        serde_json::to_value(<ShopApi as utoipa::OpenApi>::openapi()).unwrap_or_default()
    }
}
