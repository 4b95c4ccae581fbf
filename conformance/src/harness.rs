//! Starting a framework's real server for the suite: once per mount prefix, on its own thread
//! (and so its own runtime, whatever the framework uses), on `127.0.0.1:0`.

use std::net::TcpListener;
use std::sync::Mutex;

use crate::Target;

/// Returns the [`Target`] of the server mounted at `prefix`, starting it on first use.
///
/// `run` gets a bound, non-blocking listener on `127.0.0.1:0` and must serve the host app
/// (every fixture of [`fixtures`](crate::fixtures) mounted under `prefix`) on it until the
/// process ends; an error it returns is reported and fails the cases that need the server.
/// Servers live as long as the test binary; there are no fixed ports and no sleeps.
///
/// # Panics
///
/// When no loopback port can be bound: nothing can be tested then.
pub fn serve(
    prefix: &'static str,
    run: impl FnOnce(TcpListener) -> std::io::Result<()> + Send + 'static,
) -> Target {
    static SERVERS: Mutex<Vec<(&'static str, Target)>> = Mutex::new(Vec::new());
    let mut servers = SERVERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, target)) = servers.iter().find(|(p, _)| *p == prefix) {
        return target.clone();
    }
    let listener =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("cannot make the listener non-blocking: {e}"));
    std::thread::Builder::new()
        .name(format!("server {prefix}"))
        .spawn(move || {
            if let Err(e) = run(listener) {
                eprintln!("the server for {prefix} failed: {e}");
            }
        })
        .unwrap_or_else(|e| panic!("cannot start the server thread: {e}"));
    let target = Target::new(format!("http://{addr}{prefix}"));
    servers.push((prefix, target.clone()));
    target
}

/// [`serve`] with a host app's `serve(listener, prefix)` function, such as one of
/// [`hosts`](crate::hosts): the [`Target`] of that host with the fixtures mounted at `prefix`.
///
/// # Panics
///
/// As [`serve`].
pub fn host(prefix: &'static str, app: fn(TcpListener, &str) -> std::io::Result<()>) -> Target {
    serve(prefix, move |listener| app(listener, prefix))
}
