//! `mcp-conformance URL`: runs every wire-level case against a running conformance fixture
//! (e.g. `fixture-server`), prints one line per case and `N passed, N failed`.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use mcp_mount_conformance::{CASES, Target};

const USAGE: &str = "usage: mcp-conformance URL [--case NAME]...

Runs every conformance case against the mcp-mount conformance fixture at URL
(e.g. http://127.0.0.1:3000/mcp), whose variants must be mounted beside it at
URL-stateless, URL-limited, URL-capped, URL-expiring, URL-proxied, URL-oauth and
URL-impatient (fixture-server does this).";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut only = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--case" => match args.next() {
                Some(name) => only.push(name),
                None => return usage(),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if url.is_none() && arg.starts_with("http://") => url = Some(arg),
            _ => return usage(),
        }
    }
    let Some(url) = url else { return usage() };
    if let Some(unknown) = only
        .iter()
        .find(|n| !CASES.iter().any(|(name, _)| name == n))
    {
        eprintln!("no case named {unknown:?}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Failures are reported once, on the case's line, not by the default panic hook.
    let last_panic = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&last_panic);
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| {
                info.payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
            })
            .unwrap_or_else(|| "panic".to_owned());
        if let Ok(mut last) = sink.lock() {
            *last = format!("{message}{location}");
        }
    }));
    let target = Target::new(url);
    let (mut passed, mut failed) = (0, 0);
    for (name, case) in CASES
        .iter()
        .filter(|(name, _)| only.is_empty() || only.iter().any(|n| n == name))
    {
        let target = target.clone();
        let case = *case;
        let outcome =
            runtime.block_on(async move { tokio::spawn(async move { case(&target).await }).await });
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("ok     {name}");
            }
            Err(_) => {
                failed += 1;
                let reason = last_panic.lock().map(|l| l.clone()).unwrap_or_default();
                println!("FAILED {name}: {reason}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
