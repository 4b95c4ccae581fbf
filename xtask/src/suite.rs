//! Runs the official conformance CLI against a URL and reads its results.
//!
//! The summary the CLI prints ends like this (both 0.1.16 and 0.2.0-alpha.12):
//!
//! ```text
//! === SUMMARY ===
//! ✓ server-initialize: 1 passed, 0 failed
//! ✗ completion-complete: 0 passed, 1 failed
//!
//! Total: 19 passed, 16 failed
//!
//! Not scored for 2025-11-25: 3 scenario(s) run, 0 failing. These do not affect conformance.
//!   ✓ server-session-lifecycle (added-after-release)
//! ```
//!
//! The counts are checks (`SUCCESS` and `FAILURE`), not scenarios. The last block is printed by
//! 0.2.0 only. With `-o DIR` every scenario leaves `DIR/server-<scenario>-<timestamp>/checks.json`,
//! which holds the failure reasons.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::install::NpmInstall;
use crate::process::{Outcome, run_logged};

/// Check id 0.2.0 records when a scenario does not finish within its `--timeout`.
const SCENARIO_TIMEOUT_CHECK: &str = "scenario-timeout";
/// Time allowed for re-running one scenario alone.
const RERUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One version of the official suite and how the xtask runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Suite {
    /// The `--only` name.
    pub(crate) key: &'static str,
    /// How it is installed.
    pub(crate) install: NpmInstall,
    /// Arguments after `server --url URL`.
    pub(crate) args: &'static [&'static str],
    /// Extra arguments when one scenario is re-run alone with `--scenario`.
    pub(crate) rerun_args: &'static [&'static str],
    /// Time allowed for the whole suite.
    pub(crate) timeout: Duration,
    /// Whether failures of unscored *extension* scenarios are reported without failing the run
    /// (no suite has them now: every extension this server offers must pass).
    pub(crate) extensions_informational: bool,
}

impl Suite {
    /// "conformance 0.1.16 --suite all", as the summary table shows it.
    pub(crate) fn label(&self) -> String {
        let version = self.install.dir.trim_start_matches("conformance-");
        format!("conformance {version} {}", self.args.join(" "))
    }
}

/// The stable suite. Every scenario, including the two pending ones.
pub(crate) const V0_1_16: Suite = Suite {
    key: "conformance-0.1.16",
    install: NpmInstall {
        dir: "conformance-0.1.16",
        package: "@modelcontextprotocol/conformance",
    },
    args: &["--suite", "all"],
    rerun_args: &[],
    // 0.1.16 has no per-scenario timeout; a full run takes seconds when nothing hangs.
    timeout: Duration::from_secs(10 * 60),
    extensions_informational: false,
};

/// The pre-release suite, scoring exactly what the 2025-11-25 revision requires.
pub(crate) const V0_2_0: Suite = Suite {
    key: "conformance-0.2.0",
    install: NpmInstall {
        dir: "conformance-0.2.0-alpha.12",
        package: "@modelcontextprotocol/conformance",
    },
    args: &["--requirements", "2025-11-25"],
    rerun_args: &["--spec-version", "2025-11-25"],
    // 33 scenarios with a 30 s timeout each could legitimately take 16.5 min when all hang.
    timeout: Duration::from_secs(20 * 60),
    extensions_informational: false,
};

/// The same pre-release suite scoring the 2026-07-28 (stateless) revision, which the server
/// serves on the same endpoint beside the legacy era. Every check must pass, the unscored
/// `tasks-*` extension scenarios' included (the tasks extension is implemented).
pub(crate) const V0_2_0_MODERN: Suite = Suite {
    key: "conformance-0.2.0-2026-07-28",
    install: NpmInstall {
        dir: "conformance-0.2.0-alpha.12",
        package: "@modelcontextprotocol/conformance",
    },
    args: &["--requirements", "2026-07-28"],
    rerun_args: &["--spec-version", "2026-07-28"],
    timeout: Duration::from_secs(20 * 60),
    extensions_informational: false,
};

/// Every suite, in the order they run.
pub(crate) const ALL: [Suite; 3] = [V0_1_16, V0_2_0, V0_2_0_MODERN];

/// One `✓/✗ name: N passed, M failed` line, possibly replaced by a re-run.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// Its name.
    pub(crate) name: String,
    /// SUCCESS checks.
    pub(crate) passed: u32,
    /// FAILURE checks.
    pub(crate) failed: u32,
    /// Whether 0.2.0 listed it as not scored, and why.
    pub(crate) not_scored: Option<String>,
    /// The failed checks as `[id] reason`, from checks.json.
    pub(crate) reasons: Vec<String>,
    /// Every check of its checks.json (empty when that could not be read).
    pub(crate) checks: Vec<Check>,
    /// What a re-run after a timeout gave, if there was one.
    pub(crate) rerun: Option<String>,
}

/// One check of a scenario's checks.json.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// Its id, e.g. `tools-list-deterministic-order`.
    pub(crate) id: String,
    /// `SUCCESS`, `FAILURE`, `WARNING`, `INFO`, `SKIPPED`.
    pub(crate) status: String,
    /// Its error message or else its description, on one line.
    pub(crate) message: String,
}

/// What a suite run printed and left on disk.
#[derive(Debug)]
pub(crate) struct Results {
    /// Scenarios in the order printed.
    pub(crate) scenarios: Vec<Scenario>,
    /// The `Total: N passed, M failed` line as printed.
    pub(crate) printed_total: Option<(u32, u32)>,
    /// How the process ended.
    pub(crate) outcome: Outcome,
    /// The console log.
    pub(crate) log: PathBuf,
}

impl Results {
    /// Checks passed and failed over all scenarios (after re-runs).
    pub(crate) fn totals(&self) -> (u32, u32) {
        self.scenarios
            .iter()
            .fold((0, 0), |(p, f), s| (p + s.passed, f + s.failed))
    }
}

/// Removes ANSI colour sequences (single-scenario output is coloured even when piped).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses "N passed, M failed".
fn counts(text: &str) -> Option<(u32, u32)> {
    let (passed, failed) = text.trim().split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some((passed.trim().parse().ok()?, failed.trim().parse().ok()?))
}

/// Parses the summary block of a suite's console output.
pub(crate) fn parse_summary(text: &str) -> (Vec<Scenario>, Option<(u32, u32)>) {
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut total = None;
    let mut in_summary = false;
    let mut in_not_scored = false;
    for line in text.lines().map(strip_ansi) {
        let trimmed = line.trim();
        if trimmed == "=== SUMMARY ===" {
            // A later summary (there is only one today) replaces an earlier one.
            in_summary = true;
            in_not_scored = false;
            scenarios.clear();
            total = None;
            continue;
        }
        if !in_summary {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("Total:") {
            total = counts(rest);
            continue;
        }
        if trimmed.starts_with("Not scored for ") {
            in_not_scored = true;
            continue;
        }
        let Some(rest) = trimmed
            .strip_prefix('✓')
            .or_else(|| trimmed.strip_prefix('✗'))
        else {
            continue;
        };
        let rest = rest.trim();
        if in_not_scored {
            // "✓ server-session-lifecycle (added-after-release)"
            let (name, reason) = match rest.split_once(" (") {
                Some((name, reason)) => (name, reason.trim_end_matches(')')),
                None => (rest, "not scored"),
            };
            if let Some(s) = scenarios.iter_mut().find(|s| s.name == name) {
                s.not_scored = Some(reason.to_owned());
            }
            continue;
        }
        if let Some((name, numbers)) = rest.split_once(": ") {
            if let Some((passed, failed)) = counts(numbers) {
                scenarios.push(Scenario {
                    name: name.to_owned(),
                    passed,
                    failed,
                    not_scored: None,
                    reasons: Vec::new(),
                    checks: Vec::new(),
                    rerun: None,
                });
            }
        }
    }
    (scenarios, total)
}

/// The newest `server-<name>-<timestamp>/checks.json` under `dir`.
fn checks_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let prefix = format!("server-{name}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            // The timestamp starts with a 4-digit year; this keeps `ping` from matching
            // `ping-something`.
            file_name.strip_prefix(&prefix).is_some_and(|stamp| {
                stamp.len() > 5
                    && stamp[..4].bytes().all(|b| b.is_ascii_digit())
                    && stamp.as_bytes()[4] == b'-'
            })
        })
        .map(|entry| entry.path().join("checks.json"))
        .filter(|path| path.is_file())
        .collect();
    // ISO timestamps sort chronologically.
    found.sort();
    found.pop()
}

/// The checks of one scenario run.
fn read_checks(path: &Path) -> Result<Vec<Value>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    match serde_json::from_str(&text) {
        Ok(Value::Array(checks)) => Ok(checks),
        Ok(_) => Err(format!("{} is not a JSON array", path.display())),
        Err(e) => Err(format!("parsing {}: {e}", path.display())),
    }
}

fn status(check: &Value) -> &str {
    check.get("status").and_then(Value::as_str).unwrap_or("")
}

fn id(check: &Value) -> &str {
    check.get("id").and_then(Value::as_str).unwrap_or("?")
}

/// A check's error message, else its description, on one line.
fn message(check: &Value) -> String {
    let text = check
        .get("errorMessage")
        .and_then(Value::as_str)
        .or_else(|| check.get("description").and_then(Value::as_str))
        .unwrap_or("(no reason given)");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "[id] errorMessage" for every FAILURE check, one line each.
fn failure_reasons(checks: &[Value]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| status(c) == "FAILURE")
        .map(|c| format!("[{}] {}", id(c), message(c)))
        .collect()
}

/// Every check, for comparing one run with another.
fn all_checks(checks: &[Value]) -> Vec<Check> {
    checks
        .iter()
        .map(|c| Check {
            id: id(c).to_owned(),
            status: status(c).to_owned(),
            message: message(c),
        })
        .collect()
}

/// Runs `suite` with Node `node` and the CLI entry script `cli` against `url`, writing results
/// under `out` (emptied first).
///
/// # Errors
///
/// When the CLI cannot be started or its output folder cannot be prepared. A suite that runs
/// and fails is not an error: it is in the returned [`Results`].
pub(crate) fn run(
    node: &Path,
    cli: &Path,
    suite: Suite,
    url: &str,
    out: &Path,
) -> Result<Results, String> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| format!("emptying {}: {e}", out.display()))?;
    }
    let results_dir = out.join("results");
    std::fs::create_dir_all(&results_dir)
        .map_err(|e| format!("creating {}: {e}", results_dir.display()))?;
    let log = out.join("console.log");
    let outcome = run_logged(
        Command::new(node)
            .arg(cli)
            .args(["server", "--url", url])
            .args(suite.args)
            .arg("-o")
            .arg(&results_dir)
            .current_dir(out),
        &log,
        suite.timeout,
    )?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let (mut scenarios, printed_total) = parse_summary(&text);
    // Every scenario's checks are read (they are compared with other runs); a failed one's
    // are also its reasons, and one that only timed out is re-run.
    for scenario in &mut scenarios {
        let checks = checks_file(&results_dir, &scenario.name)
            .ok_or_else(|| {
                format!(
                    "no checks.json for {} under {}",
                    scenario.name,
                    results_dir.display()
                )
            })
            .and_then(|path| read_checks(&path));
        let checks = match checks {
            Ok(checks) => checks,
            Err(e) => {
                if scenario.failed > 0 {
                    scenario.reasons = vec![format!("(failure reason unavailable: {e})")];
                }
                continue;
            }
        };
        scenario.checks = all_checks(&checks);
        if scenario.failed == 0 {
            continue;
        }
        scenario.reasons = failure_reasons(&checks);
        let only_timeouts = checks
            .iter()
            .filter(|c| status(c) == "FAILURE")
            .all(|c| id(c) == SCENARIO_TIMEOUT_CHECK);
        if only_timeouts {
            rerun(node, cli, suite, url, out, scenario);
        }
    }
    Ok(Results {
        scenarios,
        printed_total,
        outcome,
        log,
    })
}

/// Re-runs a scenario that failed only by timing out, alone, and replaces its counts with the
/// re-run's. The suite's own timeouts are flaky under load; a second timeout stays a failure.
fn rerun(node: &Path, cli: &Path, suite: Suite, url: &str, out: &Path, scenario: &mut Scenario) {
    let dir = out.join(format!("rerun-{}", scenario.name));
    let log = out.join(format!("rerun-{}.log", scenario.name));
    let first = format!(
        "timed out in the suite run ({})",
        scenario.reasons.join("; ")
    );
    let outcome = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
        .and_then(|()| {
            run_logged(
                Command::new(node)
                    .arg(cli)
                    .args(["server", "--url", url, "--scenario", &scenario.name])
                    .args(suite.rerun_args)
                    .arg("-o")
                    .arg(&dir)
                    .current_dir(out),
                &log,
                RERUN_TIMEOUT,
            )
        });
    let checks = outcome.and_then(|outcome| {
        if outcome.timed_out {
            return Err(format!(
                "the re-run was killed after {} s",
                RERUN_TIMEOUT.as_secs()
            ));
        }
        let path = checks_file(&dir, &scenario.name)
            .ok_or_else(|| format!("the re-run left no checks.json (log: {})", log.display()))?;
        read_checks(&path)
    });
    match checks {
        Ok(checks) => {
            let count = |s: &str| checks.iter().filter(|c| status(c) == s).count();
            scenario.passed = u32::try_from(count("SUCCESS")).unwrap_or(u32::MAX);
            scenario.failed = u32::try_from(count("FAILURE")).unwrap_or(u32::MAX);
            scenario.reasons = failure_reasons(&checks);
            scenario.checks = all_checks(&checks);
            let verdict = if scenario.failed == 0 {
                "passed"
            } else {
                "failed"
            };
            scenario.rerun = Some(format!(
                "{first}; re-run alone: {verdict} ({} passed, {} failed)",
                scenario.passed, scenario.failed
            ));
        }
        Err(e) => {
            scenario.rerun = Some(format!("{first}; re-run alone could not be scored: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V0_2_0_OUTPUT: &str = "\
=== Running scenario: ping ===
✓ this line is before the summary: 1 passed, 0 failed

=== SUMMARY ===
✓ server-initialize: 3 passed, 0 failed
✗ completion-complete: 1 passed, 1 failed
✗ tools-call-elicitation: 0 passed, 1 failed
✓ server-session-lifecycle: 3 passed, 0 failed

Total: 7 passed, 2 failed

Not scored for 2025-11-25: 1 scenario(s) run, 0 failing. These do not affect conformance.
  ✓ server-session-lifecycle (added-after-release)
";

    #[test]
    fn parses_the_summary_and_the_not_scored_block() {
        let (scenarios, total) = parse_summary(V0_2_0_OUTPUT);
        assert_eq!(total, Some((7, 2)));
        let names: Vec<_> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "server-initialize",
                "completion-complete",
                "tools-call-elicitation",
                "server-session-lifecycle"
            ]
        );
        assert_eq!((scenarios[1].passed, scenarios[1].failed), (1, 1));
        assert_eq!(
            scenarios[3].not_scored.as_deref(),
            Some("added-after-release")
        );
        assert_eq!(scenarios[0].not_scored, None);
    }

    #[test]
    fn no_summary_means_no_scenarios() {
        let (scenarios, total) = parse_summary("SyntaxError: The requested module 'fs' ...");
        assert!(scenarios.is_empty());
        assert_eq!(total, None);
    }

    #[test]
    fn strips_colours() {
        assert_eq!(strip_ansi("\u{1b}[32mSUCCESS\u{1b}[0m ok"), "SUCCESS ok");
    }

    #[test]
    fn finds_the_newest_checks_of_exactly_one_scenario() {
        let dir = std::env::temp_dir().join(format!("xtask-checks-{}", std::process::id()));
        for sub in [
            "server-ping-2026-11-25T05-24-40-705Z",
            "server-ping-2026-11-25T05-24-41-000Z",
            "server-ping-extra-2026-11-25T05-24-42-000Z",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            std::fs::write(dir.join(sub).join("checks.json"), "[]").unwrap();
        }
        let found = checks_file(&dir, "ping").unwrap();
        assert!(
            found.ends_with("server-ping-2026-11-25T05-24-41-000Z/checks.json"),
            "{found:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Stands in for the CLI: the suite times out in `slow` and really fails `broken`; `slow`
    /// passes when re-run alone.
    #[cfg(unix)]
    const FAKE_CLI: &str = r#"
out=""; scenario=""
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift ;; --scenario) scenario="$2"; shift ;; esac
  shift
done
if [ -z "$scenario" ]; then
  for s in ping slow broken; do mkdir -p "$out/server-$s-2026-01-01T00-00-00-000Z"; done
  echo '[{"id":"ping","status":"SUCCESS"}]' > "$out/server-ping-2026-01-01T00-00-00-000Z/checks.json"
  echo '[{"id":"scenario-timeout","status":"FAILURE","errorMessage":"did not complete"}]' \
    > "$out/server-slow-2026-01-01T00-00-00-000Z/checks.json"
  echo '[{"id":"broken","status":"FAILURE","errorMessage":"Expected 404, got 400"}]' \
    > "$out/server-broken-2026-01-01T00-00-00-000Z/checks.json"
  printf '=== SUMMARY ===\n✓ ping: 1 passed, 0 failed\n✗ slow: 0 passed, 1 failed\n'
  printf '✗ broken: 0 passed, 1 failed\n\nTotal: 1 passed, 2 failed\n'
  exit 1
fi
mkdir -p "$out/server-$scenario-2026-01-01T00-00-01-000Z"
echo '[{"id":"x","status":"SUCCESS"},{"id":"wire-schema-valid","status":"SUCCESS"}]' \
  > "$out/server-$scenario-2026-01-01T00-00-01-000Z/checks.json"
"#;

    #[cfg(unix)]
    #[test]
    fn a_scenario_that_only_timed_out_is_rerun_alone() {
        let dir = std::env::temp_dir().join(format!("xtask-rerun-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cli = dir.join("fake-cli.sh");
        std::fs::write(&cli, FAKE_CLI).unwrap();
        let results = run(
            Path::new("sh"),
            &cli,
            V0_2_0,
            "http://127.0.0.1:1/mcp",
            &dir.join("out"),
        )
        .unwrap();
        assert_eq!(results.printed_total, Some((1, 2)));
        // Passing scenarios' checks are read too (to compare runs); a re-run's replace the first.
        assert_eq!(results.scenarios[0].checks.len(), 1);
        assert_eq!(results.scenarios[0].checks[0].status, "SUCCESS");
        let slow = &results.scenarios[1];
        assert_eq!(slow.checks.len(), 2);
        assert_eq!((slow.passed, slow.failed), (2, 0));
        let note = slow.rerun.as_deref().unwrap();
        assert!(
            note.contains("timed out in the suite run") && note.contains("re-run alone: passed"),
            "{note}"
        );
        let broken = &results.scenarios[2];
        assert_eq!(
            (broken.passed, broken.failed, broken.rerun.is_none()),
            (0, 1, true)
        );
        assert_eq!(broken.reasons, ["[broken] Expected 404, got 400"]);
        assert_eq!(results.totals(), (3, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_reasons_are_one_line_each() {
        let checks: Vec<Value> = serde_json::from_str(
            r#"[{"id":"a","status":"SUCCESS"},
                {"id":"b","status":"FAILURE","errorMessage":"Failed:\n  MCP error -32601"},
                {"id":"c","status":"FAILURE","description":"Server does c"}]"#,
        )
        .unwrap();
        assert_eq!(
            failure_reasons(&checks),
            ["[b] Failed: MCP error -32601", "[c] Server does c"]
        );
    }
}
