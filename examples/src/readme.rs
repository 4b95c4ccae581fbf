//! The conformance fixture server (`fixture-server`), the tests that run the case list across
//! adapters and replicas (`tests/`), and the workspace README's examples. The example apps are
//! packages of their own: `examples/{axum,actix-web,poem,salvo,hyper}`, over `examples/notes`.

/// The workspace README's examples, compiled and run as doctests so they cannot go stale.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
