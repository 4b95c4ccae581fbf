//! Runs `xtask/interop/py_client.py` with one of the Python SDK venvs and counts its steps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::install::{PY_MCP1, PY_MCP2, PyInstall};
use crate::process::{Outcome, run_logged};

/// Time allowed for one client run (each step has its own 8 s limit inside the script).
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// One Python client run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client {
    /// The summary table's name for it.
    pub(crate) label: &'static str,
    /// The venv it runs in.
    pub(crate) venv: PyInstall,
    /// The script's `--transport`.
    pub(crate) transport: &'static str,
    /// Appended to the server URL (the legacy transport lives at `{URL}/sse`).
    pub(crate) url_suffix: &'static str,
    /// Log file name under the framework's output folder.
    pub(crate) log: &'static str,
}

/// Every client run, in order.
pub(crate) const CLIENTS: [Client; 5] = [
    Client {
        label: "python mcp 2.3.0 Client(mode=\"2026-07-28\")",
        venv: PY_MCP2,
        transport: "modern",
        url_suffix: "",
        log: "python-mcp2-modern.log",
    },
    Client {
        label: "python mcp 2.3.0 Client(mode=\"auto\") -> 2026-07-28",
        venv: PY_MCP2,
        transport: "auto",
        url_suffix: "",
        log: "python-mcp2-auto.log",
    },
    Client {
        label: "python mcp 2.3.0 (streamable HTTP)",
        venv: PY_MCP2,
        transport: "streamable-http",
        url_suffix: "",
        log: "python-mcp2.log",
    },
    Client {
        label: "python mcp 1.30.0 (streamable HTTP)",
        venv: PY_MCP1,
        transport: "streamable-http",
        url_suffix: "",
        log: "python-mcp1.log",
    },
    Client {
        label: "python mcp 1.30.0 (legacy HTTP+SSE, {URL}/sse)",
        venv: PY_MCP1,
        transport: "sse",
        url_suffix: "/sse",
        log: "python-mcp1-sse.log",
    },
];

/// The bearer token of the example apps (`mcp_mount_examples::user_from`).
pub(crate) const EXAMPLE_TOKEN: &str = "demo-token";

/// The clients that check an example app's route tools (`py_client.py --routes`), over
/// streamable HTTP.
pub(crate) const ROUTE_CLIENTS: [Client; 2] = [
    Client {
        label: "python mcp 2.3.0: the example's REST routes as tools",
        venv: PY_MCP2,
        transport: "routes",
        url_suffix: "",
        log: "python-mcp2-routes.log",
    },
    Client {
        label: "python mcp 1.30.0: the example's REST routes as tools",
        venv: PY_MCP1,
        transport: "routes",
        url_suffix: "",
        log: "python-mcp1-routes.log",
    },
];

/// What one client run reported.
#[derive(Debug)]
pub(crate) struct Steps {
    /// Names of the steps that printed `PASS`.
    pub(crate) passed: Vec<String>,
    /// `step: reason` of the steps that printed `FAIL`.
    pub(crate) failed: Vec<String>,
    /// How the process ended.
    pub(crate) outcome: Outcome,
    /// Its log.
    pub(crate) log: PathBuf,
}

impl Steps {
    /// Whether every step passed and the script agrees (exit code 0).
    pub(crate) fn ok(&self) -> bool {
        self.failed.is_empty() && !self.passed.is_empty() && self.outcome.success()
    }
}

/// Parses the `PASS step (note)` and `FAIL step: reason` lines.
pub(crate) fn parse_steps(text: &str) -> (Vec<String>, Vec<String>) {
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("PASS ") {
            passed.push(rest.split_whitespace().next().unwrap_or(rest).to_owned());
        } else if let Some(rest) = line.strip_prefix("FAIL ") {
            failed.push(rest.trim().to_owned());
        }
    }
    (passed, failed)
}

/// Runs `client` with `python` against `url`, logging into `out`.
///
/// # Errors
///
/// When Python cannot be started or the log cannot be written.
pub(crate) fn run(
    python: &Path,
    script: &Path,
    client: Client,
    url: &str,
    out: &Path,
) -> Result<Steps, String> {
    let log = out.join(client.log);
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(format!("{url}{}", client.url_suffix));
    if client.transport == "routes" {
        command.args(["--routes", EXAMPLE_TOKEN]);
    } else {
        command.args(["--transport", client.transport]);
    }
    let outcome = run_logged(
        command
            // Unbuffered, so the lines printed before a timeout kill are in the log.
            .env("PYTHONUNBUFFERED", "1"),
        &log,
        CLIENT_TIMEOUT,
    )?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let (passed, failed) = parse_steps(&text);
    Ok(Steps {
        passed,
        failed,
        outcome,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_steps() {
        let (passed, failed) = parse_steps(
            "mcp 2.3.0, python 3.11.7\nPASS initialize (protocol 2025-11-25)\n\
             FAIL read_resource: MCPError: Method not found\nTraceback: FAIL inside\nPASS progress\n",
        );
        assert_eq!(passed, ["initialize", "progress"]);
        assert_eq!(failed, ["read_resource: MCPError: Method not found"]);
    }
}
