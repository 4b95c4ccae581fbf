//! Project automation.
//!
//! `cargo xtask interop` installs the official MCP conformance suites and the Python SDK
//! clients into `.interop/`, serves the conformance fixture with `fixture-server` for each web
//! framework, runs them all against it, and prints one summary table (also written to
//! `target/interop/summary.md`). It exits non-zero when anything failed. See `xtask/README.md`.

mod cluster;
mod dashboard;
mod install;
mod process;
mod python;
mod report;
mod suite;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use install::Paths;
use report::{Item, Row};
use serde_json::Value;

const USAGE: &str = "\
usage: cargo xtask interop [--frameworks axum,actix-web,poem,salvo] [--prefix /PATH]
                           [--only conformance-0.1.16,conformance-0.2.0,python,cluster,dashboard]
                           [--pairs axum+actix-web,poem+salvo]

Installs what it needs into .interop/ (Node 22, the conformance CLI 0.1.16 and 0.2.0-alpha.12,
Python venvs with mcp 2.3.0 and 1.30.0), builds fixture-server, serves the conformance fixture
with each framework at PREFIX, runs the selected suites and clients against it, prints a summary
table, writes it to target/interop/summary.md, and exits 1 if anything failed. The cluster runs
do the same through nginx (round robin, no stickiness) in front of two fixture-server replicas
that share sessions through Redis, and compare the results with the single-process runs. It also
starts each framework's example app, has the Python clients list and call the tools made from
its REST routes (with `python`), and checks its admin dashboard in headless Chromium (Debian's,
installed with apt-get when missing).

  --frameworks LIST  fixture-server --framework values (default: axum,actix-web,poem,salvo)
  --prefix PATH      where the fixture is mounted (default: /api/v1/tenants/acme/mcp)
  --only LIST        conformance-0.1.16, conformance-0.2.0, conformance-0.2.0-2026-07-28,
                     python, cluster and/or dashboard (default: all). `cluster` runs the
                     selected suites and clients through the cluster too; alone, it runs all of
                     them through the cluster only
  --pairs LIST       the clusters, as A+B (default: --frameworks in twos, the last one paired
                     with the first when their number is odd)";

/// What `cargo xtask interop` was asked to do.
#[derive(Debug)]
struct Options {
    frameworks: Vec<String>,
    prefix: String,
    /// The suites that run (on each framework alone, and through each cluster).
    suites: Vec<suite::Suite>,
    /// Whether the Python clients run.
    python: bool,
    /// Whether the suites and clients run against each framework on its own.
    single: bool,
    /// The frameworks of the two replicas of each cluster; empty when no cluster runs.
    pairs: Vec<[String; 2]>,
    dashboard: bool,
}

/// Splits "a,b,,c" into ["a", "b", "c"].
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses the arguments after `interop`; `Ok(None)` means help was asked for.
fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut frameworks = list("axum,actix-web,poem,salvo");
    let mut prefix = "/api/v1/tenants/acme/mcp".to_owned();
    let mut only = list(
        "conformance-0.1.16,conformance-0.2.0,conformance-0.2.0-2026-07-28,python,cluster,dashboard",
    );
    let mut pairs = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--frameworks" => frameworks = list(&value()?),
            "--prefix" => prefix = value()?,
            "--only" => only = list(&value()?),
            "--pairs" => pairs = Some(list(&value()?)),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if frameworks.is_empty() {
        return Err("--frameworks needs at least one framework".into());
    }
    let is_name = |f: &str| {
        !f.is_empty()
            && f.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some(bad) = frameworks.iter().find(|f| !is_name(f)) {
        return Err(format!("--frameworks: {bad:?} is not a framework name"));
    }
    let pairs: Vec<[String; 2]> = match pairs {
        Some(pairs) => pairs
            .iter()
            .map(|pair| match pair.split_once('+') {
                Some((a, b)) if is_name(a) && is_name(b) => Ok([a.to_owned(), b.to_owned()]),
                _ => Err(format!(
                    "--pairs: {pair:?} is not two framework names joined by '+'"
                )),
            })
            .collect::<Result<_, _>>()?,
        None => frameworks
            .chunks(2)
            .map(|two| [two[0].clone(), two.get(1).unwrap_or(&frameworks[0]).clone()])
            .collect(),
    };
    if !prefix.starts_with('/') || prefix.trim_end_matches('/').is_empty() {
        return Err(format!(
            "--prefix {prefix:?} must start with '/' and not be the root"
        ));
    }
    let mut suites = Vec::new();
    let mut python = false;
    let mut cluster = false;
    let mut dashboard = false;
    for name in &only {
        if name == "python" {
            python = true;
        } else if name == "cluster" {
            cluster = true;
        } else if name == "dashboard" {
            dashboard = true;
        } else if suite::ALL
            .iter()
            .any(|s| s.key == name || s.install.dir == name)
        {
            // One name may cover several requirement sets of one suite version.
            suites.extend(
                suite::ALL
                    .into_iter()
                    .filter(|s| s.key == name || s.install.dir == name),
            );
        } else {
            return Err(format!(
                "--only: unknown run {name:?} (known: conformance-0.1.16, conformance-0.2.0, conformance-0.2.0-2026-07-28, python, cluster, dashboard)"
            ));
        }
    }
    // `--only cluster` alone: everything, through the clusters only.
    let single = !suites.is_empty() || python;
    if cluster && !single {
        suites = suite::ALL.to_vec();
        python = true;
    }
    if !single && !cluster && !dashboard {
        return Err("--only selects nothing".into());
    }
    Ok(Some(Options {
        frameworks,
        prefix: prefix.trim_end_matches('/').to_owned(),
        suites,
        python,
        single,
        pairs: if cluster { pairs } else { Vec::new() },
        dashboard,
    }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("", &[][..]),
    };
    if task != "interop" {
        eprintln!("{USAGE}");
        return if task.is_empty() || task == "-h" || task == "--help" {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    let options = match parse(rest) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match interop(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("\nxtask interop: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Installed tools.
#[derive(Debug, Default)]
struct Tools {
    node: Option<PathBuf>,
    /// Entry script of each selected suite, in order.
    suites: Vec<(suite::Suite, PathBuf)>,
    /// `python` of each venv by its folder name.
    pythons: Vec<(&'static str, PathBuf)>,
}

fn install_tools(paths: &Paths, options: &Options) -> Result<Tools, String> {
    println!("== installing into {}", paths.interop.display());
    let mut tools = Tools::default();
    if !options.suites.is_empty() {
        tools.node = Some(install::node(paths)?);
        for suite in &options.suites {
            tools
                .suites
                .push((*suite, install::conformance(paths, suite.install)?));
        }
    }
    if options.python {
        for venv in [install::PY_MCP2, install::PY_MCP1] {
            tools
                .pythons
                .push((venv.dir, install::python(paths, venv)?));
        }
    }
    Ok(tools)
}

/// Builds `fixture-server` with the cargo that runs this xtask; returns the binary.
fn build_fixture_server(paths: &Paths) -> Result<PathBuf, String> {
    build_binary(paths, "mcp-mount-examples", "fixture-server")
}

/// Builds the example app of `framework` (the package `mcp-mount-example-{framework}`, whose
/// binary has the package's name); returns its path.
fn build_example(paths: &Paths, framework: &str) -> Result<PathBuf, String> {
    let package = format!("mcp-mount-example-{framework}");
    build_binary(paths, &package, &package)
}

/// Builds the binary `bin` of `package`; returns its path.
fn build_binary(paths: &Paths, package: &str, bin: &str) -> Result<PathBuf, String> {
    println!("== cargo build -p {package} --bin {bin}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let messages = process::run_capture(
        Command::new(cargo)
            .args(["build", "-p", package, "--bin", bin])
            .arg("--message-format=json-render-diagnostics")
            .current_dir(&paths.root),
        Duration::from_secs(30 * 60),
    )
    .map_err(|e| format!("building {bin}: {e}"))?;
    // The artifact message names the binary wherever CARGO_TARGET_DIR puts it.
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m.get("reason").and_then(Value::as_str) == Some("compiler-artifact"))
        .filter(|m| m.pointer("/target/name").and_then(Value::as_str) == Some(bin))
        .find_map(|m| {
            m.get("executable")
                .and_then(Value::as_str)
                .map(PathBuf::from)
        })
        .ok_or_else(|| format!("cargo built no {bin} executable"))
}

fn rel<'a>(paths: &Paths, path: &'a Path) -> std::borrow::Cow<'a, str> {
    path.strip_prefix(&paths.root)
        .unwrap_or(path)
        .to_string_lossy()
}

/// One row for a suite run.
fn suite_row(
    paths: &Paths,
    framework: &str,
    suite: suite::Suite,
    ran: Result<suite::Results, String>,
    time: Duration,
) -> Row {
    let mut row = Row {
        framework: framework.to_owned(),
        run: suite.label(),
        result: String::new(),
        ok: false,
        notes: String::new(),
        time,
        failures: Vec::new(),
        info: Vec::new(),
        items: Vec::new(),
    };
    let results = match ran {
        Ok(results) => results,
        Err(e) => {
            row.result = "did not run".into();
            row.notes = e.lines().next().unwrap_or_default().to_owned();
            row.failures.push(e);
            return row;
        }
    };
    let log = rel(paths, &results.log).into_owned();
    let how = results.outcome.describe(suite.timeout);
    if results.printed_total.is_none() || results.scenarios.is_empty() {
        row.result = "no result".into();
        row.notes = format!("no summary in the CLI output ({how})");
        row.failures.push(format!(
            "the CLI printed no `=== SUMMARY ===` / `Total:` ({how}):\n{}",
            process::tail(&results.log, 15)
        ));
        return row;
    }
    let (passed, failed) = results.totals();
    row.result = format!("{passed} passed, {failed} failed");
    let mut notes = Vec::new();
    let failed_scenarios = results.scenarios.iter().filter(|s| s.failed > 0).count();
    notes.push(format!(
        "{failed_scenarios} of {} scenarios failed",
        results.scenarios.len()
    ));
    let not_scored: Vec<_> = results
        .scenarios
        .iter()
        .filter(|s| s.not_scored.is_some())
        .collect();
    if !not_scored.is_empty() {
        let (p, f) = results
            .scenarios
            .iter()
            .filter(|s| s.not_scored.is_none())
            .fold((0, 0), |(p, f), s| (p + s.passed, f + s.failed));
        let failing = not_scored.iter().filter(|s| s.failed > 0).count();
        let counted = match (failing > 0, suite.extensions_informational) {
            (false, _) => "",
            (true, false) => " (counted as failures here)",
            (true, true) => " (extensions: reported, not counted)",
        };
        notes.push(format!(
            "scored: {p} passed, {f} failed; not scored: {} scenarios, {failing} failing{counted}",
            not_scored.len()
        ));
    }
    let reruns = results
        .scenarios
        .iter()
        .filter(|s| s.rerun.is_some())
        .count();
    if reruns > 0 {
        notes.push(format!("{reruns} timed-out scenario(s) re-run alone"));
    }
    if results.printed_total != Some((passed, failed)) {
        if let Some((p, f)) = results.printed_total {
            notes.push(format!("the CLI printed Total: {p} passed, {f} failed"));
        }
    }
    let exited_ok = results.outcome.success();
    if !exited_ok && failed == 0 && reruns == 0 {
        notes.push(format!("but the CLI ended with {how}"));
    }
    // Unscored extension scenarios of a suite that scores the core protocol are reported only.
    let informational = |s: &suite::Scenario| {
        suite.extensions_informational
            && s.not_scored
                .as_deref()
                .is_some_and(|why| why.contains("extension"))
    };
    let counted_failures: u32 = results
        .scenarios
        .iter()
        .filter(|s| !informational(s))
        .map(|s| s.failed)
        .sum();
    let cli_ok =
        exited_ok || reruns > 0 || (suite.extensions_informational && counted_failures == 0);
    row.ok = counted_failures == 0 && cli_ok;
    row.notes = notes.join("; ");
    for scenario in &results.scenarios {
        let counted = !informational(scenario);
        if scenario.checks.is_empty() {
            // No checks.json to read: the summary line's verdict stands for the scenario.
            row.items.push(Item {
                key: scenario.name.clone(),
                status: (if scenario.failed > 0 {
                    "FAILURE"
                } else {
                    "SUCCESS"
                })
                .into(),
                detail: "(no checks.json)".into(),
                counted,
            });
        }
        row.items.extend(scenario.checks.iter().map(|check| Item {
            key: format!("{} / {}", scenario.name, check.id),
            status: check.status.clone(),
            detail: check.message.clone(),
            counted,
        }));
    }
    for scenario in &results.scenarios {
        let tag = scenario
            .not_scored
            .as_ref()
            .map(|why| format!(" (not scored: {why})"))
            .unwrap_or_default();
        if scenario.failed > 0 {
            let mut line = format!("{}{tag}: {}", scenario.name, scenario.reasons.join("; "));
            if let Some(rerun) = &scenario.rerun {
                line.push_str(&format!(" [{rerun}]"));
            }
            if informational(scenario) {
                row.info.push(line);
            } else {
                row.failures.push(line);
            }
        } else if let Some(rerun) = &scenario.rerun {
            row.info.push(format!("{}{tag}: {rerun}", scenario.name));
        }
    }
    if !row.failures.is_empty() {
        let results_dir = results.log.with_file_name("results");
        row.info.push(format!(
            "console output: {log}; checks.json per scenario under {}",
            rel(paths, &results_dir)
        ));
    }
    row
}

/// One row for a Python client run.
fn python_row(
    paths: &Paths,
    framework: &str,
    client: python::Client,
    ran: Result<python::Steps, String>,
    time: Duration,
) -> Row {
    let mut row = Row {
        framework: framework.to_owned(),
        run: client.label.to_owned(),
        result: String::new(),
        ok: false,
        notes: String::new(),
        time,
        failures: Vec::new(),
        info: Vec::new(),
        items: Vec::new(),
    };
    let steps = match ran {
        Ok(steps) => steps,
        Err(e) => {
            row.result = "did not run".into();
            row.notes = e.clone();
            row.failures.push(e);
            return row;
        }
    };
    row.result = format!(
        "{} passed, {} failed",
        steps.passed.len(),
        steps.failed.len()
    );
    row.ok = steps.ok();
    let mut notes = Vec::new();
    if !steps.failed.is_empty() {
        let names: Vec<&str> = steps
            .failed
            .iter()
            .map(|f| f.split(':').next().unwrap_or(f))
            .collect();
        notes.push(format!("failed: {}", names.join(", ")));
    }
    if !steps.outcome.success() && (steps.failed.is_empty() || steps.outcome.timed_out) {
        notes.push(format!(
            "script ended with {}",
            steps.outcome.describe(python::CLIENT_TIMEOUT)
        ));
    }
    if steps.passed.is_empty() && steps.failed.is_empty() {
        notes.push("no PASS/FAIL line".into());
        row.failures.push(format!(
            "the script printed no step:\n{}",
            process::tail(&steps.log, 15)
        ));
    }
    row.notes = notes.join("; ");
    row.items.extend(steps.passed.iter().map(|step| Item {
        key: step.clone(),
        status: "PASS".into(),
        detail: String::new(),
        counted: true,
    }));
    row.items.extend(steps.failed.iter().map(|failed| {
        let (step, reason) = failed.split_once(':').unwrap_or((failed, ""));
        Item {
            key: step.trim().to_owned(),
            status: "FAIL".into(),
            detail: reason.trim().to_owned(),
            counted: true,
        }
    }));
    row.failures.extend(steps.failed.iter().cloned());
    if !row.ok {
        row.info.push(format!("log: {}", rel(paths, &steps.log)));
    }
    row
}

/// Prints one progress line for a finished row.
fn progress(row: &Row) {
    let status = if row.ok { "ok" } else { "FAIL" };
    println!(
        "  {:<54} {:<22} {status:<4} ({:.1} s)",
        row.run,
        row.result,
        row.time.as_secs_f64()
    );
}

/// A row for something that failed before any run could start.
fn failed_row(framework: &str, run: &str, result: &str, notes: String, why: String) -> Row {
    Row {
        framework: framework.to_owned(),
        run: run.to_owned(),
        result: result.to_owned(),
        ok: false,
        notes,
        time: Duration::ZERO,
        failures: vec![why],
        info: Vec::new(),
        items: Vec::new(),
    }
}

/// Runs the selected suites and Python clients against `url`, results under `out`, one row each
/// named `name`. After each row, `after` may annotate it, and returns a row that stops the
/// rest (the server is gone).
fn run_selected(
    paths: &Paths,
    options: &Options,
    tools: &Tools,
    name: &str,
    url: &str,
    out: &Path,
    after: &mut dyn FnMut(&mut Row, Instant) -> Option<Row>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    // Records a finished row; true when the rest must be skipped.
    let mut finish = |mut row: Row, started: Instant, rows: &mut Vec<Row>| {
        let stop = after(&mut row, started);
        progress(&row);
        rows.push(row);
        let Some(stop) = stop else { return false };
        progress(&stop);
        rows.push(stop);
        true
    };
    let node = tools.node.as_deref();
    for (suite, cli) in &tools.suites {
        let started = Instant::now();
        let ran = match node {
            Some(node) => suite::run(node, cli, *suite, url, &out.join(suite.key)),
            None => Err("Node was not installed".to_owned()),
        };
        let row = suite_row(paths, name, *suite, ran, started.elapsed());
        if finish(row, started, &mut rows) {
            return rows;
        }
    }
    if options.python {
        let script = paths.specs.join("py_client.py");
        for client in python::CLIENTS {
            let started = Instant::now();
            let ran = tools
                .pythons
                .iter()
                .find(|(dir, _)| *dir == client.venv.dir)
                .ok_or_else(|| format!("the venv {} was not installed", client.venv.dir))
                .and_then(|(_, python)| python::run(python, &script, client, url, out));
            let row = python_row(paths, name, client, ran, started.elapsed());
            if finish(row, started, &mut rows) {
                return rows;
            }
        }
    }
    rows
}

/// Serves the fixture with `framework` and runs everything selected against it.
fn run_framework(
    paths: &Paths,
    options: &Options,
    tools: &Tools,
    server: &Path,
    framework: &str,
) -> Vec<Row> {
    println!("== {framework}");
    let out = paths.out.join(framework);
    let started = Instant::now();
    let log = out.join("fixture-server.log");
    let announced = process::start_announced(
        Command::new(server).args([
            "--framework",
            framework,
            "--addr",
            "127.0.0.1:0",
            "--prefix",
            &options.prefix,
        ]),
        &log,
        "listening on ",
        Duration::from_secs(30),
    );
    let mut announced = match announced {
        Ok(announced) => announced,
        Err(e) => {
            // The server's own first line of output says why, e.g. "unknown framework".
            let notes = e
                .lines()
                .nth(1)
                .map(str::trim)
                .filter(|l| !l.starts_with('('))
                .or_else(|| e.lines().next())
                .unwrap_or_default()
                .to_owned();
            let mut row = failed_row(framework, "fixture-server", "did not start", notes, e);
            row.time = started.elapsed();
            progress(&row);
            return vec![row];
        }
    };
    let url = announced.value.clone();
    println!("  fixture-server at {url} (log: {})", rel(paths, &log));
    let rows = run_selected(
        paths,
        options,
        tools,
        framework,
        &url,
        &out,
        &mut |row, started| exited(&mut announced.guard, framework, &row.run, &log, started),
    );
    announced.guard.kill();
    rows
}

/// A failure row when the fixture server is no longer running after `run`.
fn exited(
    guard: &mut process::Guard,
    framework: &str,
    run: &str,
    log: &Path,
    started: Instant,
) -> Option<Row> {
    let how = match guard.try_wait() {
        Ok(None) => return None,
        Ok(Some(status)) => status.to_string(),
        Err(e) => format!("unknown state: {e}"),
    };
    let mut row = failed_row(
        framework,
        "fixture-server",
        "exited",
        format!("the server exited ({how}) during {run}; later runs skipped"),
        format!("fixture-server exited ({how}):\n{}", process::tail(log, 15)),
    );
    row.time = started.elapsed();
    Some(row)
}

/// The run label of the cluster as a whole (its request spread, or why it did not run).
const CLUSTER_RUN: &str = "cluster: nginx round robin over 2 replicas + Redis";

/// Serves the fixture from a cluster of `pair` behind nginx and runs everything selected through
/// it, comparing each run with the same run on each framework alone (in `alone`). Returns the
/// rows, the last one for the cluster as a whole (requests per replica; it fails when a
/// replica got none), and the request spread line.
fn run_cluster(
    paths: &Paths,
    options: &Options,
    tools: &Tools,
    server: &Path,
    programs: &cluster::Programs,
    pair: &[String; 2],
    alone: &[Row],
) -> (Vec<Row>, Option<String>) {
    let name = pair.join("+");
    println!("== cluster {name} (nginx, 2 replicas, Redis)");
    let out = paths.out.join(format!("cluster-{name}"));
    let started = Instant::now();
    let mut cluster = match cluster::Cluster::start(programs, server, pair, &options.prefix, &out) {
        Ok(cluster) => cluster,
        Err(e) => {
            let notes = e.lines().next().unwrap_or_default().to_owned();
            let mut row = failed_row(&name, CLUSTER_RUN, "did not start", notes, e);
            row.time = started.elapsed();
            progress(&row);
            return (vec![row], None);
        }
    };
    println!(
        "  {} at {} ({}; logs: {})",
        cluster.name,
        cluster.url,
        cluster.describe(),
        rel(paths, &out)
    );
    let url = cluster.url.clone();
    let mut seen = 0;
    let mut rows = run_selected(
        paths,
        options,
        tools,
        &name,
        &url,
        &out,
        &mut |row, started| {
            let requests = cluster.requests();
            let spread = cluster.spread(requests.get(seen..).unwrap_or_default());
            seen = requests.len();
            row.notes = if row.notes.is_empty() {
                spread.short()
            } else {
                format!("{}; {}", row.notes, spread.short())
            };
            // The same run on each framework of the pair alone (once for `axum+axum`).
            let same_run: Vec<&Row> = pair
                .iter()
                .enumerate()
                .filter(|(i, f)| *i == 0 || **f != pair[0])
                .filter_map(|(_, f)| alone.iter().find(|r| r.framework == *f && r.run == row.run))
                .collect();
            cluster::compare(row, &same_run);
            let why = cluster.exited()?;
            let mut stop = failed_row(
                &name,
                "cluster",
                "exited",
                format!(
                    "a process of the cluster exited during {}; later runs skipped",
                    row.run
                ),
                why,
            );
            stop.time = started.elapsed();
            Some(stop)
        },
    );
    let spread = cluster.stop();
    let line = spread.line(&name);
    println!("  {line}");
    let idle = spread.idle();
    let result: Vec<String> = spread
        .replicas
        .iter()
        .map(|(framework, _, n)| format!("{n} {framework}"))
        .collect();
    let row = Row {
        framework: name.clone(),
        run: CLUSTER_RUN.to_owned(),
        result: format!("requests: {}", result.join(", ")),
        ok: idle.is_empty(),
        notes: format!(
            "{} of {} sessions served by both replicas",
            spread.sessions_on_both, spread.sessions
        ),
        time: started.elapsed(),
        failures: idle
            .iter()
            .map(|replica| format!("{replica} got no request through nginx"))
            .collect(),
        info: vec![format!(
            "access log (the replica of every request): {}",
            rel(paths, &out.join("nginx").join("access.log"))
        )],
        items: Vec::new(),
    };
    progress(&row);
    rows.push(row);
    (rows, Some(line))
}

/// Each framework's example app, its REST routes as tools listed and called by the Python SDK
/// clients (`py_client.py --routes`) with the example's bearer token.
fn example_route_tools(paths: &Paths, options: &Options, tools: &Tools) -> Vec<Row> {
    let script = paths.specs.join("py_client.py");
    let mut rows = Vec::new();
    for framework in &options.frameworks {
        println!("== {framework} example: route tools from the Python SDK");
        let out = paths.out.join(framework);
        let started = Instant::now();
        let app = std::fs::create_dir_all(&out)
            .map_err(|e| format!("creating {}: {e}", out.display()))
            .and_then(|()| build_example(paths, framework))
            .and_then(|example| {
                process::start_announced(
                    Command::new(example).arg("127.0.0.1:0"),
                    &out.join("example-routes.log"),
                    "notes app on ",
                    Duration::from_secs(30),
                )
            });
        for client in python::ROUTE_CLIENTS {
            let ran = match &app {
                Err(e) => Err(e.clone()),
                Ok(app) => {
                    // "http://127.0.0.1:PORT: REST at /notes, MCP at /mcp, …"
                    let base = app
                        .value
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches(':');
                    tools
                        .pythons
                        .iter()
                        .find(|(dir, _)| *dir == client.venv.dir)
                        .ok_or_else(|| format!("the venv {} was not installed", client.venv.dir))
                        .and_then(|(_, python)| {
                            python::run(python, &script, client, &format!("{base}/mcp"), &out)
                        })
                }
            };
            let row = python_row(paths, framework, client, ran, started.elapsed());
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

/// Each framework's example app, its admin dashboard rendered in headless Chromium.
fn dashboards(paths: &Paths, options: &Options) -> Vec<Row> {
    let failed = |framework: &str, why: String| Row {
        framework: framework.to_owned(),
        run: "example dashboard (headless Chromium)".into(),
        result: "did not run".into(),
        ok: false,
        notes: why.lines().next().unwrap_or_default().to_owned(),
        time: Duration::ZERO,
        failures: vec![why],
        info: Vec::new(),
        items: Vec::new(),
    };
    let chromium = match dashboard::chromium(&paths.out.join("chromium-install.log")) {
        Ok(chromium) => chromium,
        Err(e) => {
            return options
                .frameworks
                .iter()
                .map(|f| failed(f, e.clone()))
                .collect();
        }
    };
    let mut rows = Vec::new();
    for framework in &options.frameworks {
        println!("== {framework} example dashboard");
        let out = paths.out.join(framework);
        if let Err(e) = std::fs::create_dir_all(&out) {
            rows.push(failed(
                framework,
                format!("creating {}: {e}", out.display()),
            ));
            continue;
        }
        let row = match build_example(paths, framework) {
            Ok(example) => dashboard::check(framework, &example, &chromium, &out),
            Err(e) => failed(framework, e),
        };
        progress(&row);
        rows.push(row);
    }
    rows
}

/// Every cluster of `--pairs`, compared with the single-process rows already in `rows`; the
/// rows are appended to `rows`. Returns the summary's section on the clusters: the request
/// spread of each, and the time they took.
fn run_clusters(
    paths: &Paths,
    options: &Options,
    tools: &Tools,
    server: &Path,
    rows: &mut Vec<Row>,
) -> String {
    let started = Instant::now();
    let mut lines = Vec::new();
    match cluster::programs() {
        Ok(programs) => {
            for pair in &options.pairs {
                let (new, line) = run_cluster(paths, options, tools, server, &programs, pair, rows);
                rows.extend(new);
                lines.extend(line);
            }
        }
        Err(why) => {
            let required = cluster::required();
            println!("== clusters skipped: {why}");
            for pair in &options.pairs {
                let mut row = failed_row(
                    &pair.join("+"),
                    CLUSTER_RUN,
                    &format!("skipped: {why}"),
                    String::new(),
                    format!(
                        "{why}; {}=1 requires the cluster runs",
                        cluster::REQUIRE_ENV
                    ),
                );
                row.ok = !required;
                if required {
                    row.notes = format!("{}=1: must run", cluster::REQUIRE_ENV);
                } else {
                    row.failures.clear();
                }
                progress(&row);
                rows.push(row);
            }
            lines.push(format!("skipped: {why}"));
        }
    }
    let mut section = format!(
        "\n## Clusters\n\nnginx (round robin, no stickiness, `proxy_buffering off`) in front of two \
         fixture-server replicas sharing sessions through one Redis; {:.0} s in all.\n\n",
        started.elapsed().as_secs_f64()
    );
    for line in lines {
        section.push_str(&format!("- {line}\n"));
    }
    section
}

fn interop(options: &Options) -> Result<bool, String> {
    let started = Instant::now();
    let paths = Paths::of_repo();
    std::fs::create_dir_all(&paths.out)
        .map_err(|e| format!("creating {}: {e}", paths.out.display()))?;
    let tools = install_tools(&paths, options)?;
    let mut rows = Vec::new();
    let mut clusters = None;
    if !options.suites.is_empty() || options.python {
        let server = build_fixture_server(&paths)?;
        if options.single {
            for framework in &options.frameworks {
                rows.extend(run_framework(&paths, options, &tools, &server, framework));
            }
        }
        if !options.pairs.is_empty() {
            clusters = Some(run_clusters(&paths, options, &tools, &server, &mut rows));
        }
    }
    if options.python && options.single {
        rows.extend(example_route_tools(&paths, options, &tools));
    }
    if options.dashboard {
        rows.extend(dashboards(&paths, options));
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    let table = report::table(&rows);
    let details = report::details(&rows);
    let verdict = if failed == 0 {
        format!("All {} runs passed.", rows.len())
    } else {
        format!("{failed} of {} runs failed.", rows.len())
    };
    let elapsed = started.elapsed().as_secs_f64();
    let clusters = clusters.unwrap_or_default();
    let summary = format!(
        "# cargo xtask interop\n\nFrameworks {}, fixture at `{}`; {verdict} Total time {elapsed:.0} s.\n\n{table}{clusters}\n## Failures and notes\n{}",
        options.frameworks.join(", "),
        options.prefix,
        if details.is_empty() {
            "\nNone.\n".to_owned()
        } else {
            details.clone()
        },
    );
    let summary_path = paths.out.join("summary.md");
    std::fs::write(&summary_path, &summary)
        .map_err(|e| format!("writing {}: {e}", summary_path.display()))?;
    println!(
        "\n{table}{clusters}{details}\n{verdict} ({elapsed:.0} s; written to {})",
        rel(&paths, &summary_path)
    );
    Ok(failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults() {
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.frameworks, ["axum", "actix-web", "poem", "salvo"]);
        assert_eq!(options.prefix, "/api/v1/tenants/acme/mcp");
        assert_eq!(options.suites.len(), 3);
        assert!(options.python);
        assert!(options.single);
        assert_eq!(
            options.pairs,
            [["axum", "actix-web"], ["poem", "salvo"]].map(|p| p.map(str::to_owned))
        );
        assert!(options.dashboard);
    }

    #[test]
    fn clusters() {
        // Alone, `cluster` runs everything, through the clusters only.
        let options = parse(&args("--only cluster")).unwrap().unwrap();
        assert_eq!(options.suites.len(), 3);
        assert!(options.python && !options.single && !options.dashboard);
        assert_eq!(options.pairs.len(), 2);
        // With runs named, those run alone and through the clusters.
        let options = parse(&args("--only conformance-0.1.16,cluster --pairs poem+axum"))
            .unwrap()
            .unwrap();
        assert_eq!(options.suites.len(), 1);
        assert!(!options.python && options.single);
        assert_eq!(options.pairs, [["poem".to_owned(), "axum".to_owned()]]);
        // Without `cluster`, no cluster.
        let options = parse(&args("--only python")).unwrap().unwrap();
        assert!(options.pairs.is_empty());
        // The default pairs are --frameworks in twos; an odd one out pairs with the first.
        let options = parse(&args("--frameworks axum,poem,salvo"))
            .unwrap()
            .unwrap();
        assert_eq!(
            options.pairs,
            [["axum", "poem"], ["salvo", "axum"]].map(|p| p.map(str::to_owned))
        );
        let options = parse(&args("--frameworks axum")).unwrap().unwrap();
        assert_eq!(options.pairs, [["axum".to_owned(), "axum".to_owned()]]);
        assert!(parse(&args("--pairs axum")).is_err());
        assert!(parse(&args("--pairs axum+")).is_err());
        assert!(parse(&args("--pairs axum+Poem")).is_err());
    }

    #[test]
    fn filters() {
        let options = parse(&args("--frameworks axum --only=python --prefix /x/"))
            .unwrap()
            .unwrap();
        assert_eq!(options.frameworks, ["axum"]);
        assert_eq!(options.prefix, "/x");
        assert!(options.suites.is_empty());
        assert!(options.python);
        let options = parse(&args("--only conformance-0.2.0")).unwrap().unwrap();
        assert_eq!(options.suites.len(), 1);
        assert_eq!(options.suites[0].key, "conformance-0.2.0");
        let options = parse(&args("--only conformance-0.2.0-2026-07-28"))
            .unwrap()
            .unwrap();
        assert_eq!(options.suites.len(), 1);
        assert_eq!(options.suites[0].args, ["--requirements", "2026-07-28"]);
        assert!(!options.python);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&args("--only java")).is_err());
        assert!(parse(&args("--prefix /")).is_err());
        assert!(parse(&args("--prefix")).is_err());
        assert!(parse(&args("--frameworks Axum;rm")).is_err());
        assert!(parse(&args("--bogus")).is_err());
        assert!(parse(&args("--help")).unwrap().is_none());
    }
}
