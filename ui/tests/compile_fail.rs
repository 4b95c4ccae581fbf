//! The compiler's answer to each usual mistake, pinned: every `tests/compile-fail/*.rs` must
//! fail to compile with exactly the `.stderr` beside it.
//!
//! rustc's own wording changes between releases, so the `.stderr` files hold for the toolchain
//! they were written with (`PINNED_RUSTC`); on another one this test says so and checks nothing.
//! `MCP_MOUNT_REQUIRE_UI=1` (CI) turns that skip into a failure. After a toolchain update:
//! `TRYBUILD=overwrite cargo test -p mcp-mount-ui`, read the diff, commit it and `PINNED_RUSTC`.

/// The `rustc --version` prefix the `.stderr` files were written with.
const PINNED_RUSTC: &str = "rustc 1.95.";

#[test]
fn compile_errors_teach() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if !version.starts_with(PINNED_RUSTC) {
        let why = format!(
            "skipped: the .stderr files are pinned on {PINNED_RUSTC}x, this is {version:?}"
        );
        assert!(std::env::var_os("MCP_MOUNT_REQUIRE_UI").is_none(), "{why}");
        eprintln!("{why}");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
