//! The conformance fixture inside a host app, one module per framework (used by `fixture-server`).

pub mod axum;

/// Prints the line `fixture-server` promises once the listener accepts connections.
pub(crate) fn announce(addr: std::net::SocketAddr, prefix: &str) {
    use std::io::Write;
    println!("listening on http://{addr}{prefix}");
    let _ = std::io::stdout().flush();
}
