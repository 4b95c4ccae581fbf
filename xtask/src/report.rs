//! The summary table (console and `target/interop/summary.md`) and the failure details.

use std::fmt::Write as _;
use std::time::Duration;

/// One line of the summary: one run against one framework.
#[derive(Debug)]
pub(crate) struct Row {
    /// The framework's `--framework` name.
    pub(crate) framework: String,
    /// What ran, e.g. "conformance 0.1.16 --suite all".
    pub(crate) run: String,
    /// The counts, e.g. "19 passed, 16 failed".
    pub(crate) result: String,
    /// Whether this run passed completely.
    pub(crate) ok: bool,
    /// Short remarks for the table.
    pub(crate) notes: String,
    /// How long it took.
    pub(crate) time: Duration,
    /// One line per failure, for the details below the table.
    pub(crate) failures: Vec<String>,
    /// Other facts worth a line below the table (re-runs that passed, log locations).
    pub(crate) info: Vec<String>,
    /// What the run found item by item (a suite's checks, a client's steps), for comparing it
    /// with the same run elsewhere; empty for runs that are not compared.
    pub(crate) items: Vec<Item>,
}

/// One finding of a run: a check of a scenario, or a step of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// What was checked, e.g. "tools-list / tools-list-deterministic-order" or "call_tool".
    pub(crate) key: String,
    /// How it came out: the suite's `SUCCESS`, `FAILURE`, `WARNING`…, or a step's `PASS`/`FAIL`.
    pub(crate) status: String,
    /// The reason or description given with it.
    pub(crate) detail: String,
    /// Whether a failure of it fails the run (not for informational extension scenarios).
    pub(crate) counted: bool,
}

fn seconds(time: Duration) -> String {
    format!("{:.1} s", time.as_secs_f64())
}

/// Escapes what would break a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The table as Markdown, with columns padded so it also reads well on a terminal.
pub(crate) fn table(rows: &[Row]) -> String {
    let header = ["framework", "run", "result", "status", "notes", "time"];
    let body: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                cell(&row.framework),
                cell(&row.run),
                cell(&row.result),
                (if row.ok { "ok" } else { "FAIL" }).to_owned(),
                cell(&row.notes),
                seconds(row.time),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for line in &body {
        for (width, text) in widths.iter_mut().zip(line) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        out.push('|');
        for (text, width) in cells.iter().zip(widths) {
            let pad = width.saturating_sub(text.chars().count());
            let _ = write!(out, " {text}{} |", " ".repeat(pad));
        }
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    line(&widths.map(|w| "-".repeat(w)));
    for cells in &body {
        line(cells);
    }
    out
}

/// The failure reasons and other facts, grouped by run.
pub(crate) fn details(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows
        .iter()
        .filter(|r| !r.failures.is_empty() || !r.info.is_empty())
    {
        let _ = writeln!(out, "\n### {} · {}\n", row.framework, row.run);
        for failure in &row.failures {
            let _ = writeln!(out, "- ✗ {failure}");
        }
        for info in &row.info {
            let _ = writeln!(out, "- {info}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_are_padded_and_escaped() {
        let rows = [Row {
            framework: "axum".into(),
            run: "python | sse".into(),
            result: "1 passed, 0 failed".into(),
            ok: true,
            notes: String::new(),
            time: Duration::from_millis(1500),
            failures: Vec::new(),
            info: Vec::new(),
            items: Vec::new(),
        }];
        let table = table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains("python \\| sse"), "{table}");
        assert!(lines[2].contains("1.5 s"), "{table}");
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{table}");
    }
}
