//! The example apps' admin dashboards, checked in a real headless Chromium: each example
//! serves `/admin`, a page that lists the mounted tools through the REST view and calls
//! `whoami` with a bearer token. Chromium runs the page's script and prints the resulting DOM.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process;
use crate::report::Row;

/// What the rendered page must contain once its script finished.
const EXPECTED: &[(&str, &str)] = &[
    ("the script ran to the end", "data-ready=\"yes\""),
    (
        "the tool list (REST view) shows list_notes",
        "<code>list_notes</code>",
    ),
    ("the tool list shows whoami", "<code>whoami</code>"),
    (
        "the tool list shows a REST route as a tool, marked with its route",
        "<code>index_notes</code>",
    ),
    (
        "the route tool carries its route",
        "<small class=\"route\"> [route: GET /notes]</small>",
    ),
    (
        "whoami saw the user the auth middleware set",
        "<pre id=\"whoami\">demo-admin</pre>",
    ),
];

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Debian's Chromium, installed with apt when it is not on the machine.
///
/// # Errors
///
/// When it is missing and cannot be installed.
pub(crate) fn chromium(log: &Path) -> Result<PathBuf, String> {
    const NAMES: &[&str] = &["chromium", "chromium-browser"];
    if let Some(found) = find(NAMES) {
        return Ok(found);
    }
    println!("== installing Debian's chromium (apt-get)");
    let outcome = process::run_logged(
        Command::new("sh").args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        ]),
        log,
        Duration::from_secs(20 * 60),
    )?;
    if !outcome.success() {
        return Err(format!(
            "apt-get install chromium failed ({}); see {}",
            outcome.describe(Duration::from_secs(20 * 60)),
            log.display()
        ));
    }
    find(NAMES).ok_or_else(|| "chromium is still not on PATH after apt-get install".into())
}

/// Starts the `framework` example, renders its dashboard in Chromium and checks the DOM.
pub(crate) fn check(framework: &str, example: &Path, chromium: &Path, out: &Path) -> Row {
    let started = Instant::now();
    let mut row = Row {
        framework: framework.to_owned(),
        run: "example dashboard (headless Chromium)".into(),
        result: String::new(),
        ok: false,
        notes: String::new(),
        time: Duration::ZERO,
        failures: Vec::new(),
        info: Vec::new(),
        items: Vec::new(),
    };
    let log = out.join("example.log");
    let announced = process::start_announced(
        Command::new(example).arg("127.0.0.1:0"),
        &log,
        "notes app on ",
        Duration::from_secs(30),
    );
    let announced = match announced {
        Ok(announced) => announced,
        Err(e) => {
            row.result = "did not start".into();
            row.failures.push(e);
            row.time = started.elapsed();
            return row;
        }
    };
    // "http://127.0.0.1:PORT: REST at /notes, MCP at /mcp"
    let base = announced
        .value
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(':')
        .to_owned();
    let profile = out.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let url = format!("{base}/admin");
    let dom = process::run_capture(
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url)
            // Chromium's own chatter (no D-Bus in a container, …) goes to a log, not the console.
            .stderr(match std::fs::File::create(out.join("chromium.log")) {
                Ok(file) => std::process::Stdio::from(file),
                Err(_) => std::process::Stdio::null(),
            }),
        Duration::from_secs(90),
    );
    drop(announced);
    row.time = started.elapsed();
    let dom = match dom {
        Ok(dom) => dom,
        Err(e) => {
            row.result = "did not render".into();
            row.failures.push(e);
            return row;
        }
    };
    let dom_file = out.join("dashboard.html");
    let _ = std::fs::write(&dom_file, &dom);
    let missing: Vec<&str> = EXPECTED
        .iter()
        .filter(|(_, needle)| !dom.contains(needle))
        .map(|(what, _)| *what)
        .collect();
    row.result = format!(
        "{} passed, {} failed",
        EXPECTED.len() - missing.len(),
        missing.len()
    );
    row.ok = missing.is_empty();
    if !row.ok {
        row.notes = format!("missing: {}", missing.join("; "));
        row.failures.extend(
            missing
                .iter()
                .map(|m| format!("{m} (rendered DOM: {})", dom_file.display())),
        );
    }
    row
}
