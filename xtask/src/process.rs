//! Child processes that never outlive the xtask and never run past a deadline.
//!
//! Children stay in the xtask's process group, so a Ctrl-C in the terminal reaches them too.
//! Every child is owned by a [`Guard`] that kills and reaps it when dropped, so an error or a
//! panic in the xtask cannot leave one behind.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How often a running child is polled for its exit.
const POLL: Duration = Duration::from_millis(25);

/// A child process that is killed and reaped when this value is dropped.
#[derive(Debug)]
pub(crate) struct Guard {
    child: Child,
}

impl Guard {
    /// Waits until the child exits or `timeout` has passed; on timeout, kills it.
    pub(crate) fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> std::io::Result<(Option<ExitStatus>, bool)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok((Some(status), false));
            }
            if Instant::now() >= deadline {
                self.kill();
                return Ok((None, true));
            }
            thread::sleep(POLL);
        }
    }

    /// The child's process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has already exited, and how.
    pub(crate) fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills the child if it still runs, and reaps it.
    pub(crate) fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a child run with [`run_logged`] ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Its exit status; `None` when it was killed on timeout.
    pub(crate) status: Option<ExitStatus>,
    /// Whether it was killed because it ran past its timeout.
    pub(crate) timed_out: bool,
}

impl Outcome {
    /// Whether it exited by itself with status 0.
    pub(crate) fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// "exit code 1", "killed by a signal" or "killed after 60 s (timeout)".
    pub(crate) fn describe(&self, timeout: Duration) -> String {
        match (self.status, self.timed_out) {
            (_, true) => format!("killed after {} s (timeout)", timeout.as_secs()),
            (Some(status), false) => match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".to_owned(),
            },
            (None, false) => "no exit status".to_owned(),
        }
    }
}

/// Creates `log` (truncating it) and returns two handles to it, for stdout and stderr.
fn log_handles(log: &Path) -> Result<(File, File), String> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let open = || {
        OpenOptions::new()
            .append(true)
            .open(log)
            .map_err(|e| format!("opening {}: {e}", log.display()))
    };
    Ok((open()?, open()?))
}

/// Runs `cmd` with stdin closed and stdout plus stderr appended to `log`, killing it after
/// `timeout`.
///
/// # Errors
///
/// When the log cannot be written or the program cannot be started (the message names it).
pub(crate) fn run_logged(
    cmd: &mut Command,
    log: &Path,
    timeout: Duration,
) -> Result<Outcome, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut guard = start_logged(cmd, log)?;
    let (status, timed_out) = guard
        .wait_timeout(timeout)
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    Ok(Outcome { status, timed_out })
}

/// Starts `cmd` with stdin closed and stdout plus stderr appended to `log`, and returns at once.
/// For servers that say nothing useful on stdout when ready (`redis-server`, `nginx`): the
/// caller probes them.
///
/// # Errors
///
/// When the log cannot be written or the program cannot be started (the message names it).
pub(crate) fn start_logged(cmd: &mut Command, log: &Path) -> Result<Guard, String> {
    let (out, err) = log_handles(log)?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))?;
    Ok(Guard { child })
}

/// Runs `cmd` with stdin closed, stderr passed through and stdout captured, killing it after
/// `timeout`. For short commands whose output is small (`node --version`, `cargo build` JSON).
///
/// # Errors
///
/// When the program cannot be started, or does not exit successfully in time.
pub(crate) fn run_capture(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))?;
    let mut guard = Guard { child };
    // Read stdout on a thread so a chatty child cannot block on a full pipe while we poll.
    let stdout = guard.child.stdout.take();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stdout) = stdout {
            let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        }
        text
    });
    let (status, timed_out) = guard
        .wait_timeout(timeout)
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    let text = reader.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => Ok(text),
        _ if timed_out => Err(format!(
            "{program} was killed after {} s (timeout)",
            timeout.as_secs()
        )),
        Some(status) => Err(format!("{program} failed ({status})")),
        None => Err(format!("{program} ended without an exit status")),
    }
}

/// A process that announced itself with a line on stdout, such as `fixture-server`.
#[derive(Debug)]
pub(crate) struct Announced {
    /// The running process; dropping it stops the process.
    pub(crate) guard: Guard,
    /// The rest of the line after the expected prefix.
    pub(crate) value: String,
}

/// Starts `cmd` with stdout and stderr appended to `log`, and waits up to `timeout` for a stdout
/// line starting with `prefix`.
///
/// # Errors
///
/// When the program cannot be started, exits first, or does not print the line in time; the
/// message includes the end of its log. The process is killed in every error case.
pub(crate) fn start_announced(
    cmd: &mut Command,
    log: &Path,
    prefix: &'static str,
    timeout: Duration,
) -> Result<Announced, String> {
    let (mut out, err) = log_handles(log)?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))?;
    let mut guard = Guard { child };
    let stdout = guard.child.stdout.take();
    let (tx, rx) = mpsc::channel();
    // Copies stdout into the log for as long as the process runs, so its pipe never fills up.
    thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(out, "{line}");
            if !sent {
                if let Some(rest) = line.strip_prefix(prefix) {
                    sent = tx.send(rest.trim().to_owned()).is_ok();
                }
            }
        }
    });
    let deadline = Instant::now() + timeout;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(value) => return Ok(Announced { guard, value }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // stdout closed without the line: the process is exiting.
                let status = guard.child.wait().ok();
                let status = status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                return Err(format!(
                    "{program} exited ({status}) before printing {prefix:?}:\n{}",
                    tail(log, 15)
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    guard.kill();
                    return Err(format!(
                        "{program} did not print {prefix:?} within {} s; killed it:\n{}",
                        timeout.as_secs(),
                        tail(log, 15)
                    ));
                }
            }
        }
    }
}

/// The last `lines` lines of a text file, indented, for error messages.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    for line in &all[start..] {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("    (no output)\n");
    }
    out.push_str(&format!("    (log: {})", path.display()));
    out
}
