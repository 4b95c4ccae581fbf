//! Conformance for mcp-mount: the fixture server, wire-level cases that speak real HTTP to a
//! base URL, the [`suite!`] macro that makes each case its own `#[test]` in every adapter, and the
//! `mcp-conformance` CLI that runs the same cases against any running fixture.
//!
//! A case is written once, in [`cases`], and listed once, in the `__for_each_case!` macro; it then runs
//! against every adapter and from the CLI.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use http::{Method, Request};
use serde_json::{Value, json};

pub mod cases;
pub mod client;
pub mod fixture;
pub mod harness;
pub mod hosts;
pub mod replicas;

pub use client::{Response, Streaming};
pub use fixture::{Principal, fixture, fixtures, variant};

/// The fixture under test: the URL of its main mount. Variants are mounted beside it at
/// `{url}-{variant}` (see [`fixture::VARIANTS`]).
#[derive(Clone, Debug)]
pub struct Target {
    url: String,
}

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// A fresh JSON-RPC id, unique in this process.
pub fn next_id() -> i64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Target {
    /// A target whose main fixture is at `url` (e.g. `http://127.0.0.1:3000/mcp`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// The main fixture's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `host:port` of the URL.
    pub fn authority(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest)
    }

    /// The path of the URL (the mount prefix).
    pub fn path(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        rest.find('/').map_or("", |i| &rest[i..])
    }

    /// The target of a fixture variant mounted beside this one.
    pub fn variant(&self, name: &str) -> Self {
        Self {
            url: format!("{}-{name}", self.url),
        }
    }

    /// A POST of `body` with the headers a conforming client sends (no session).
    pub fn post(&self, body: &Value) -> http::request::Builder {
        self.post_raw()
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .extension(Bytes::from(body.to_string()))
    }

    /// A bare POST to the endpoint with no headers.
    pub fn post_raw(&self) -> http::request::Builder {
        Request::builder().method(Method::POST).uri(&self.url)
    }

    /// Sends a request built by [`post`](Self::post) (whose body rides in the extensions) or
    /// any request with a body.
    pub async fn send(&self, builder: http::request::Builder) -> Response {
        client::send(build(builder)).await
    }

    /// Like [`send`](Self::send), returning the response with its body unread.
    pub async fn open(&self, builder: http::request::Builder) -> Streaming {
        client::open(build(builder)).await
    }

    /// Initializes a session (offering `2025-11-25`, declaring no client capabilities), sends
    /// `notifications/initialized`, and checks both answers.
    pub async fn connect(&self) -> Session {
        self.connect_with("2025-11-25", json!({})).await
    }

    /// Like [`connect`](Self::connect), offering protocol `version` and declaring the client
    /// `capabilities`; the session's requests then carry that version in
    /// `MCP-Protocol-Version`.
    pub async fn connect_with(&self, version: &str, capabilities: Value) -> Session {
        let init = self
            .send(self.post(&initialize_body_with(next_id(), version, capabilities)))
            .await;
        assert_eq!(init.status, 200, "initialize: {:?}", init.body);
        let id = init
            .header("mcp-session-id")
            .unwrap_or_else(|| panic!("initialize answered without Mcp-Session-Id"))
            .to_owned();
        let initialize = init.result();
        assert_eq!(
            initialize["protocolVersion"], version,
            "the server did not accept version {version}"
        );
        let session = Session {
            target: self.clone(),
            id,
            version: version.to_owned(),
            initialize,
        };
        let ack = session
            .send(session.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})))
            .await;
        assert_eq!(ack.status, 202, "notifications/initialized: {:?}", ack.body);
        session
    }
}

/// Builds the request, taking the body from where [`Target::post`] put it.
fn build(builder: http::request::Builder) -> Request<Bytes> {
    let body = builder
        .extensions_ref()
        .and_then(|e| e.get::<Bytes>().cloned())
        .unwrap_or_default();
    builder
        .body(body)
        .unwrap_or_else(|e| panic!("the case built an invalid request: {e}"))
}

/// An `initialize` request body declaring no client capabilities.
pub fn initialize_body(id: i64, version: &str) -> Value {
    initialize_body_with(id, version, json!({}))
}

/// An `initialize` request body declaring the client `capabilities`.
pub fn initialize_body_with(id: i64, version: &str, capabilities: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": capabilities,
            "clientInfo": {"name": "mcp-mount-conformance", "version": "0.1.0"}
        }
    })
}

/// A request body with a fresh id.
pub fn request_body(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": params})
}

/// An initialized session on a target.
#[derive(Clone, Debug)]
pub struct Session {
    /// The target it belongs to.
    pub target: Target,
    /// Its `Mcp-Session-Id`.
    pub id: String,
    /// The negotiated protocol version, sent in `MCP-Protocol-Version`.
    pub version: String,
    /// The `initialize` result.
    pub initialize: Value,
}

impl Session {
    /// A POST of `body` carrying the session's id and protocol version.
    pub fn post(&self, body: &Value) -> http::request::Builder {
        let mut builder = self.target.post(body).header("mcp-session-id", &self.id);
        if let (Some(headers), Ok(version)) = (builder.headers_mut(), self.version.parse()) {
            headers.insert("mcp-protocol-version", version);
        }
        builder
    }

    /// A GET of the session's standalone SSE stream (with `Last-Event-ID` when given).
    pub fn get(&self, last_event_id: Option<&str>) -> http::request::Builder {
        let builder = Request::builder()
            .method(Method::GET)
            .uri(self.target.url())
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", &self.version);
        match last_event_id {
            Some(id) => builder.header("last-event-id", id),
            None => builder,
        }
    }

    /// Ends the session with DELETE.
    pub async fn delete(&self) -> Response {
        self.send(
            Request::builder()
                .method(Method::DELETE)
                .uri(self.target.url())
                .header("mcp-session-id", &self.id),
        )
        .await
    }

    /// Sends a request.
    pub async fn send(&self, builder: http::request::Builder) -> Response {
        self.target.send(builder).await
    }

    /// Sends a request and returns the unread response.
    pub async fn open(&self, builder: http::request::Builder) -> Streaming {
        self.target.open(builder).await
    }

    /// Sends `method` with `params` and returns the whole response (HTTP 200 checked).
    pub async fn request(&self, method: &str, params: Value) -> Response {
        let response = self.send(self.post(&request_body(method, params))).await;
        assert_eq!(response.status, 200, "{method}: {:?}", response.body);
        response
    }

    /// Sends `method` and returns its JSON-RPC `result`.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.request(method, params).await.result()
    }

    /// Calls a tool and returns the `CallToolResult`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Value {
        self.call("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }
}

/// A case: an async function of a [`Target`] that panics when the server misbehaves.
pub type Case = for<'a> fn(&'a Target) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Calls `$crate::$callback!` with `$args` followed by the name of every case, in order:
/// the one list of cases.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ($callback:ident $args:tt) => {
        $crate::$callback! { $args
            initialize_negotiates_latest,
            initialize_echoes_each_supported_version,
            initialize_counter_offers_unknown_version,
            initialize_without_version_is_invalid_params,
            second_initialize_is_rejected,
            session_id_is_128_bit_visible_ascii,
            initialized_notification_is_202,
            client_response_is_202,
            ping_returns_empty_object,
            ids_are_echoed_with_their_type,
            malformed_json_is_400_parse_error,
            invalid_requests_are_400_invalid_request,
            batch_on_current_version_is_rejected,
            unknown_method_is_method_not_found,
            post_without_both_accept_types_is_406,
            post_without_json_content_type_is_415,
            body_over_limit_is_413,
            an_oversize_body_gets_a_readable_413,
            unsupported_protocol_version_header_is_400,
            missing_protocol_version_header_is_accepted,
            any_supported_version_is_accepted_on_a_session,
            request_without_session_is_400,
            unknown_session_is_404,
            delete_ends_the_session,
            other_methods_are_405_with_allow,
            get_opens_the_session_stream,
            get_needs_event_stream_accept,
            get_needs_a_session,
            session_cap_is_503,
            idle_sessions_make_room_under_the_cap,
            sessions_are_capped_per_client,
            idle_sessions_expire,
            stateless_mode_needs_no_session,
            stateless_mode_has_no_get_or_delete,
            foreign_host_is_403,
            foreign_origin_is_403,
            loopback_origin_is_allowed,
            trailing_slash_is_the_same_endpoint,
            unknown_sub_path_is_404_json,
            tools_list_describes_every_tool,
            tools_list_paginates_with_opaque_cursors,
            tools_list_invalid_cursor_is_invalid_params,
            json_schema_2020_12_passes_through_verbatim,
            tools_call_returns_text,
            tools_call_without_arguments,
            tools_call_structured_output,
            tools_call_content_types,
            tools_call_invalid_arguments_is_tool_error,
            tool_schemas_use_only_2020_12_formats,
            tools_call_failure_is_tool_error,
            tools_call_unknown_tool_is_invalid_params,
            tools_call_without_name_is_invalid_params,
            progress_streams_on_the_request,
            progress_token_keeps_its_type,
            logging_streams_and_filters,
            logging_set_level_rejects_unknown_levels,
            json_mode_answers_in_json,
            sse_mode_answers_in_sse,
            stream_events_are_not_buffered,
            cancellation_aborts_the_handler,
            host_extensions_reach_handlers,
            concurrent_requests_on_one_session,
            panicking_handlers_answer_internal_error,
            a_panic_after_progress_ends_its_stream,
            capabilities_reflect_registrations,
            resources_list_describes_resources,
            resources_read_text,
            resources_read_binary,
            resources_read_through_template,
            resources_read_missing_is_32002,
            resources_list_paginates,
            resources_templates_list,
            resources_subscribe_delivers_updates,
            resources_subscribe_missing_is_32002,
            prompts_list_describes_prompts,
            prompts_get_renders_messages,
            prompts_get_carries_every_content_type,
            prompts_get_bad_requests_are_invalid_params,
            completion_completes_prompt_arguments,
            completion_completes_template_variables,
            completion_unknown_ref_is_invalid_params,
            tools_list_changed_on_runtime_change,
            resources_and_prompts_list_changed,
            list_changed_never_rides_a_request_stream,
            sampling_round_trip,
            sampling_error_reaches_the_handler,
            client_requests_need_the_capability,
            elicitation_form_round_trip,
            elicitation_modes_follow_capabilities,
            roots_round_trip,
            client_request_times_out,
            client_requests_unavailable_without_a_stream,
            sse_streams_start_with_a_priming_event,
            older_clients_get_no_priming_event,
            resume_replays_the_result,
            resume_continues_a_running_stream,
            resume_with_an_unknown_id_is_400,
            replay_buffer_is_bounded,
            batch_on_2025_03_26_is_answered_as_an_array,
            batch_follows_the_version_header,
            batch_rules_are_enforced,
            legacy_sse_endpoint_carries_the_full_path,
            legacy_sse_round_trip,
            legacy_messages_reject_bad_input,
            legacy_sse_needs_sessions,
            untrusted_forwarding_headers_change_nothing,
            trusted_proxy_shapes_host_check_and_urls,
            rest_lists_tools,
            rest_calls_tools,
            rest_rejects_bad_calls,
            rest_returns_images,
            rest_describes_itself_as_openapi,
            rest_completes_arguments,
            rest_view_is_behind_the_same_checks,
            cors_preflight_is_answered,
            cors_answers_expose_the_session_id,
            cors_does_not_open_the_door_to_other_origins,
            oauth_challenges_without_a_token,
            oauth_rejects_bad_tokens_and_scopes,
            oauth_metadata_resolves_under_the_prefix,
            oauth_metadata_behind_a_trusted_proxy,
            oauth_principal_reaches_handlers,
            sessions_are_bound_to_their_principal,
            modern_discover_describes_the_server,
            modern_requests_are_stateless,
            modern_meta_is_validated,
            modern_headers_must_mirror_the_body,
            modern_unknown_and_removed_methods_are_404,
            modern_missing_resource_is_invalid_params,
            modern_caching_follows_the_policy,
            modern_missing_client_capability_is_32021,
            modern_logging_follows_the_request_log_level,
            modern_closing_the_stream_cancels,
            modern_listen_carries_only_opted_in_changes,
            modern_input_required_round_trip,
            modern_input_required_for_roots,
            modern_param_headers_mirror_arguments,
            modern_input_required_rounds_and_keys,
            modern_panicking_handler_is_internal_error,
            tasks_extension_is_advertised,
            tasks_a_slow_call_becomes_a_task,
            tasks_need_the_extension,
            tasks_errors_settle_completed_or_failed,
            tasks_cancel_settles_cancelled,
            tasks_input_comes_through_update,
            tasks_mrtr_rounds_come_before_the_task,
            tasks_are_bound_to_their_principal,
            tasks_are_capped_per_client,
            tasks_expire_after_their_ttl,
            tasks_mcp_name_is_the_task_id,
            tasks_removed_methods_are_not_found,
            tasks_notifications_come_through_listen,
            tasks_progress_is_the_status_message,
            tasks_session_era_calls_get_results,
            route_tools_are_listed,
            route_tools_pass_the_hosts_middleware,
            route_tools_carry_path_query_and_body,
            route_tools_disambiguate_colliding_names,
            route_tools_name_operations_without_an_id,
            route_tools_report_http_errors,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __case_table {
    (() $($case:ident),* $(,)?) => {
        /// Every case with its name, in order.
        pub const CASES: &[(&str, $crate::Case)] = &[
            $( (stringify!($case), |t| Box::pin($crate::cases::$case(t))) ),*
        ];
    };
}
__for_each_case!(__case_table());

/// Makes every case its own `#[tokio::test]` against the [`Target`] that `$target` evaluates to
/// (evaluated once per test).
///
/// ```no_run
/// /// Starts the framework's server with the fixtures mounted under `prefix` (see
/// /// [`harness::serve`](mcp_mount_conformance::harness::serve)).
/// fn serve(prefix: &'static str) -> mcp_mount_conformance::Target {
///     # mcp_mount_conformance::Target::new(format!("http://127.0.0.1:3000{prefix}"))
/// }
///
/// mod at_mcp {
///     mcp_mount_conformance::suite!(super::serve("/mcp"));
/// }
/// # fn main() {}
/// ```
///
/// With `host = path`, where `path` names a host app's `serve(listener, prefix)` (one of
/// [`hosts`]), it runs the whole suite twice, with the fixtures mounted at `/mcp` (module
/// `at_mcp`) and at the nested `/api/v1/tenants/acme/mcp` (module `nested`), each on its own
/// server started with [`harness::host`]:
///
/// ```no_run
/// mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::hyper::serve);
/// # fn main() {}
/// ```
///
/// With `replicas = future, except = { case: "why", … }`, every case runs against the
/// [`Target`] the future gives (`Option<Target>`: `None` skips the case, after saying why), a
/// deployment of several replicas behind a proxy (see [`replicas`]); the cases named in
/// `except` are skipped with their reason, which says why they cannot pass there. A test checks
/// that every name in `except` is a case.
///
/// ```no_run
/// async fn replicas() -> Option<mcp_mount_conformance::Target> {
///     # None
/// }
///
/// mod on_replicas {
///     mcp_mount_conformance::suite!(
///         replicas = super::replicas(),
///         except = { stream_events_are_not_buffered: "its release signal is per process" },
///     );
/// }
/// # fn main() {}
/// ```
///
/// The test crate needs `tokio` (with the `macros` and `rt-multi-thread` features).
#[macro_export]
macro_rules! suite {
    (host = $serve:path $(,)?) => {
        mod at_mcp {
            $crate::suite!($crate::harness::host("/mcp", $serve));
        }
        mod nested {
            $crate::suite!($crate::harness::host("/api/v1/tenants/acme/mcp", $serve));
        }
    };
    (replicas = $target:expr, except = { $($skip:ident : $why:literal),* $(,)? } $(,)?) => {
        /// The cases that cannot pass on several replicas, each with the reason.
        const EXCEPT: &[(&str, &str)] = &[$((stringify!($skip), $why)),*];

        #[test]
        fn every_exception_is_a_case() {
            $crate::replicas::check_exceptions(EXCEPT);
        }

        $crate::__for_each_case!(__replica_cases($target));
    };
    ($target:expr $(,)?) => {
        $crate::__for_each_case!(__suite_cases($target));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __replica_cases {
    (($target:expr) $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(why) = $crate::replicas::excepted(EXCEPT, stringify!($case)) {
                    $crate::replicas::skip(&format!("{} on replicas: {why}", stringify!($case)));
                    return;
                }
                let target: Option<$crate::Target> = $target.await;
                let Some(target) = target else { return };
                $crate::cases::$case(&target).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_cases {
    (($target:expr) $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let target: $crate::Target = $target;
                $crate::cases::$case(&target).await;
            }
        )*
    };
}
