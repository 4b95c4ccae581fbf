//! Serves the conformance fixture inside a small host app, for `mcp-conformance`, the official
//! MCP conformance suite and real clients:
//!
//! `fixture-server [--framework axum|actix-web|poem|salvo|hyper] [--addr 127.0.0.1:3000] [--prefix /mcp]`
//!
//! The host app is the one the adapter tests serve (`mcp_mount_conformance::hosts`; `hyper` is
//! the core behind plain hyper, no framework). The fixture is mounted at PREFIX and its variants
//! at PREFIX-stateless, PREFIX-limited and so on (`mcp_mount_conformance::fixture::VARIANTS`);
//! the app also has `GET /` and `GET /health`, and an "auth" middleware that turns the `x-user`
//! header into a `Principal` extension. Prints `listening on http://ADDR/PREFIX` once it accepts
//! connections.

use std::io::Write;
use std::net::SocketAddr;

use mcp_mount_conformance::hosts::{self, HOSTS};
use std::process::ExitCode;

const USAGE: &str = "usage: fixture-server [--framework axum|actix-web|poem|salvo|hyper] [--addr HOST:PORT] [--prefix /PATH]";

struct Options {
    framework: String,
    addr: SocketAddr,
    prefix: String,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        framework: "axum".into(),
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        prefix: "/mcp".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--framework" => options.framework = value,
            "--addr" => options.addr = value.parse().map_err(|e| format!("--addr {value}: {e}"))?,
            "--prefix" => {
                if !value.starts_with('/') || value.len() < 2 {
                    return Err(format!(
                        "--prefix {value:?} must start with '/' and not be the root"
                    ));
                }
                options.prefix = value.trim_end_matches('/').to_owned();
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !HOSTS.contains(&options.framework.as_str()) {
        eprintln!(
            "unknown framework {:?} (known: {})\n{USAGE}",
            options.framework,
            HOSTS.join(", ")
        );
        return ExitCode::from(2);
    }
    let result = std::net::TcpListener::bind(options.addr).and_then(|listener| {
        let addr = listener.local_addr()?;
        // The listener accepts connections from here on: the line is true when printed.
        println!("listening on http://{addr}{}", options.prefix);
        let _ = std::io::stdout().flush();
        hosts::serve(&options.framework, listener, &options.prefix)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixture-server: {e}");
            ExitCode::FAILURE
        }
    }
}
