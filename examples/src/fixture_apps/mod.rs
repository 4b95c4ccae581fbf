//! The conformance fixture inside a small host app, one module per framework, used by
//! `fixture-server` and by the test that checks all adapters answer identically.
//!
//! Each app has its own routes (`GET /` and `GET /health`), an "auth" middleware that turns the
//! `x-user` header into a [`Principal`](mcp_mount_conformance::Principal) the way a real app
//! would from a token, and every fixture of
//! [`fixtures`](mcp_mount_conformance::fixtures) mounted under the prefix.

pub mod actix_web;
pub mod axum;
pub mod poem;
pub mod salvo;

/// The frameworks `serve` knows, by the name `fixture-server --framework` takes.
pub const FRAMEWORKS: &[&str] = &["axum", "actix-web", "poem", "salvo"];

/// Serves the fixture app of `framework` on `listener` (bound, any blocking mode) until the
/// process ends.
///
/// # Errors
///
/// An unknown framework, or the server failing.
pub fn serve(
    framework: &str,
    listener: std::net::TcpListener,
    prefix: &str,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    match framework {
        "axum" => axum::serve(listener, prefix),
        "actix-web" => actix_web::serve(listener, prefix),
        "poem" => poem::serve(listener, prefix),
        "salvo" => salvo::serve(listener, prefix),
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "unknown framework {other:?} (known: {})",
                FRAMEWORKS.join(", ")
            ),
        )),
    }
}

/// A multi-threaded tokio runtime for the hosts that run on tokio directly.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
