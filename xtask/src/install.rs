//! Installs the pinned tools into `.interop/` (ignored by git), skipping what is already there.
//!
//! Each install is described by files committed under `xtask/interop/` (`package.json` plus
//! `package-lock.json`, or a pip constraints file). After a successful install their contents
//! are written to `.xtask-stamp` in the install folder; the install is skipped next time when
//! the stamp still matches and the installed tool reports the pinned version.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{run_capture, run_logged, tail};

/// Time allowed for one `npm ci` or `pip install`.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Time allowed for a version probe such as `node --version`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// The file in an install folder that records what it was installed from.
const STAMP: &str = ".xtask-stamp";

/// Where things live: the repository, its `.interop/` and `target/interop/`.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// The repository root.
    pub(crate) root: PathBuf,
    /// `.interop/`: installed tools.
    pub(crate) interop: PathBuf,
    /// `target/interop/`: logs, suite results and the summary.
    pub(crate) out: PathBuf,
    /// `xtask/interop/`: committed package manifests, lock files and client scripts.
    pub(crate) specs: PathBuf,
}

impl Paths {
    /// The paths of the repository this xtask was built from.
    pub(crate) fn of_repo() -> Self {
        let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = xtask.parent().unwrap_or(xtask).to_path_buf();
        Self {
            interop: root.join(".interop"),
            out: root.join("target").join("interop"),
            specs: xtask.join("interop"),
            root,
        }
    }

    /// The log file for installing `name`.
    fn install_log(&self, name: &str) -> PathBuf {
        self.out.join("install").join(format!("{name}.log"))
    }
}

/// An npm package installed by `npm ci` from a committed manifest and lock file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NpmInstall {
    /// The folder under `xtask/interop/` and under `.interop/`.
    pub(crate) dir: &'static str,
    /// The package whose version is pinned in the manifest.
    pub(crate) package: &'static str,
}

/// Node 22 from the npm package `node` (the conformance CLI needs Node >= 22).
pub(crate) const NODE: NpmInstall = NpmInstall {
    dir: "node22",
    package: "node",
};

/// A Python virtual environment with one pinned `mcp` version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PyInstall {
    /// The folder under `.interop/`.
    pub(crate) dir: &'static str,
    /// The pinned version of the `mcp` package.
    pub(crate) mcp: &'static str,
    /// The pip constraints file under `xtask/interop/`.
    pub(crate) constraints: &'static str,
}

/// `mcp` 2.3.0, the current Python SDK.
pub(crate) const PY_MCP2: PyInstall = PyInstall {
    dir: "py-mcp2",
    mcp: "2.3.0",
    constraints: "py-mcp2-constraints.txt",
};

/// `mcp` 1.30.0, the last 1.x Python SDK (still has the legacy HTTP+SSE client).
pub(crate) const PY_MCP1: PyInstall = PyInstall {
    dir: "py-mcp1",
    mcp: "1.30.0",
    constraints: "py-mcp1-constraints.txt",
};

/// Prints the start of a progress line; the end follows when the step is done.
fn announce(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn read_json(path: &Path) -> Result<Value, String> {
    serde_json::from_str(&read(path)?).map_err(|e| format!("parsing {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The version `package` is pinned to in the committed `package.json` of `install`.
pub(crate) fn pinned_version(paths: &Paths, install: NpmInstall) -> Result<String, String> {
    let manifest = paths.specs.join(install.dir).join("package.json");
    read_json(&manifest)?
        .pointer(&format!(
            "/dependencies/{}",
            install.package.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("{} does not pin {}", manifest.display(), install.package))
}

/// The path of the executable `bin` declared by the installed `package` (its `bin` field).
fn package_bin(
    installed: &Path,
    package: &str,
    bin: &str,
    version: &str,
) -> Result<PathBuf, String> {
    let dir = installed.join("node_modules").join(package);
    let manifest = read_json(&dir.join("package.json"))?;
    let found = manifest
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if found != version {
        return Err(format!(
            "{package} {found} is installed, {version} is pinned"
        ));
    }
    let relative = match manifest.get("bin") {
        Some(Value::String(path)) => Some(path.as_str()),
        Some(Value::Object(bins)) => bins.get(bin).and_then(Value::as_str),
        _ => None,
    }
    .ok_or_else(|| format!("{package} declares no `{bin}` executable"))?;
    let path = dir.join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is missing", path.display()))
    }
}

/// Checks that the Node binary of [`NODE`] runs and reports the pinned version.
fn node_binary(installed: &Path, version: &str) -> Result<PathBuf, String> {
    let node = package_bin(installed, "node", "node", version)?;
    let reported = run_capture(Command::new(&node).arg("--version"), PROBE_TIMEOUT)?;
    if reported.trim() == format!("v{version}") {
        Ok(node)
    } else {
        Err(format!(
            "{} reports {:?}, expected v{version}",
            node.display(),
            reported.trim()
        ))
    }
}

/// Runs `npm ci` for `install` unless it is already in place; returns its folder under `.interop/`.
fn npm_install(
    paths: &Paths,
    install: NpmInstall,
    check: &dyn Fn(&Path) -> Result<PathBuf, String>,
) -> Result<PathBuf, String> {
    let spec = paths.specs.join(install.dir);
    let target = paths.interop.join(install.dir);
    let manifest = read(&spec.join("package.json"))?;
    let lock = read(&spec.join("package-lock.json"))?;
    let stamp = format!("{manifest}\n{lock}");
    if read(&target.join(STAMP)).ok().as_deref() == Some(stamp.as_str()) {
        if let Ok(found) = check(&target) {
            println!("  {:<28} up to date", install.dir);
            return Ok(found);
        }
    }
    let started = Instant::now();
    announce(&format!(
        "  {:<28} npm ci into {} ...",
        install.dir,
        target.display()
    ));
    std::fs::create_dir_all(&target).map_err(|e| format!("creating {}: {e}", target.display()))?;
    let _ = std::fs::remove_file(target.join(STAMP));
    write(&target.join("package.json"), &manifest)?;
    write(&target.join("package-lock.json"), &lock)?;
    let log = paths.install_log(install.dir);
    let outcome = run_logged(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&target),
        &log,
        INSTALL_TIMEOUT,
    )
    .map_err(|e| format!("{e} (is npm installed and on PATH?)"))?;
    if !outcome.success() {
        return Err(format!(
            "`npm ci` for {} failed ({}):\n{}",
            install.dir,
            outcome.describe(INSTALL_TIMEOUT),
            tail(&log, 20)
        ));
    }
    let found = check(&target).map_err(|e| format!("after `npm ci` for {}: {e}", install.dir))?;
    write(&target.join(STAMP), &stamp)?;
    println!(" done ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(found)
}

/// Installs Node 22 into `.interop/node22`; returns the `node` binary.
///
/// # Errors
///
/// When npm fails, or the installed binary does not report the pinned version.
pub(crate) fn node(paths: &Paths) -> Result<PathBuf, String> {
    let version = pinned_version(paths, NODE)?;
    npm_install(paths, NODE, &|dir| node_binary(dir, &version))
}

/// Installs the conformance CLI described by `install`; returns its entry script (run it with
/// the Node from [`node`], not with whatever `node` is on PATH).
///
/// # Errors
///
/// When npm fails, or the installed package is not the pinned version.
pub(crate) fn conformance(paths: &Paths, install: NpmInstall) -> Result<PathBuf, String> {
    let version = pinned_version(paths, install)?;
    npm_install(paths, install, &|dir| {
        package_bin(dir, install.package, "conformance", &version)
    })
}

/// The `python` of a virtual environment.
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Checks that `python` imports `mcp` at `version`.
fn mcp_version_ok(python: &Path, version: &str) -> Result<(), String> {
    let found = run_capture(
        Command::new(python).args([
            "-c",
            "import importlib.metadata as m; print(m.version('mcp'))",
        ]),
        PROBE_TIMEOUT,
    )?;
    if found.trim() == version {
        Ok(())
    } else {
        Err(format!(
            "mcp {} is installed, {version} is pinned",
            found.trim()
        ))
    }
}

/// Creates the venv `.interop/<dir>` with the pinned `mcp` unless it is already in place;
/// returns its `python`.
///
/// # Errors
///
/// When `python3 -m venv` or pip fails, or the pinned version is not importable afterwards.
pub(crate) fn python(paths: &Paths, install: PyInstall) -> Result<PathBuf, String> {
    let constraints = paths.specs.join(install.constraints);
    let requirement = format!("mcp=={}", install.mcp);
    let stamp = format!("{requirement}\n{}", read(&constraints)?);
    let venv = paths.interop.join(install.dir);
    let python = venv_python(&venv);
    if read(&venv.join(STAMP)).ok().as_deref() == Some(stamp.as_str())
        && mcp_version_ok(&python, install.mcp).is_ok()
    {
        println!("  {:<28} up to date", install.dir);
        return Ok(python);
    }
    let started = Instant::now();
    announce(&format!(
        "  {:<28} python3 -m venv + pip install {requirement} ...",
        install.dir
    ));
    let log = paths.install_log(install.dir);
    let outcome = run_logged(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        &log,
        INSTALL_TIMEOUT,
    )
    .map_err(|e| format!("{e} (is python3 >= 3.10 installed and on PATH?)"))?;
    if !outcome.success() {
        return Err(format!(
            "`python3 -m venv {}` failed ({}); on Debian and Ubuntu the venv module is the \
             python3-venv package:\n{}",
            venv.display(),
            outcome.describe(INSTALL_TIMEOUT),
            tail(&log, 20)
        ));
    }
    let pip_log = paths.install_log(&format!("{}-pip", install.dir));
    let outcome = run_logged(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .arg(&requirement)
            .arg("-c")
            .arg(&constraints),
        &pip_log,
        INSTALL_TIMEOUT,
    )?;
    if !outcome.success() {
        return Err(format!(
            "`pip install {requirement}` into {} failed ({}); mcp needs Python >= 3.10:\n{}",
            venv.display(),
            outcome.describe(INSTALL_TIMEOUT),
            tail(&pip_log, 20)
        ));
    }
    mcp_version_ok(&python, install.mcp).map_err(|e| format!("after pip install: {e}"))?;
    write(&venv.join(STAMP), &stamp)?;
    println!(" done ({:.0} s)", started.elapsed().as_secs_f64());
    Ok(python)
}
