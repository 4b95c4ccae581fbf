//! Resource templates (RFC 6570 level 1): parsing, matching, and one property — a URI made by
//! putting plain values into a template the builder accepts matches it.
//!
//! Input: `template NUL uri NUL value NUL value …` (UTF-8; anything else is skipped).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_mount::fuzzing::{uri_template, uri_template_variables};

/// The longest URI the server matches (longer ones match no template).
const MAX_URI: usize = 4096;

/// The template with each `{name}` replaced by the next value (cycling through them).
fn expand(template: &str, values: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut next = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(values[next % values.len()]);
        next += 1;
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let mut pieces = text.split('\0');
    let template = pieces.next().unwrap_or("");
    let uri = pieces.next().unwrap_or("");
    let values: Vec<&str> = pieces.collect();

    let Ok(variables) = uri_template_variables(template) else {
        assert!(uri_template(template, uri).is_err());
        return;
    };
    match uri_template(template, uri) {
        Ok(Some(matched)) => {
            let names: Vec<&str> = matched.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(names, variables, "{template:?} on {uri:?}");
        }
        Ok(None) => {}
        Err(e) => panic!("{template:?} parsed, then was refused: {e}"),
    }

    // Plain values: non-empty, without `/ ? #` (a variable stops there) or `%` (decoded).
    let plain = |v: &&str| !v.is_empty() && !v.contains(['/', '?', '#', '%']);
    if variables.is_empty() || values.is_empty() || !values.iter().all(plain) {
        return;
    }
    let expanded = expand(template, &values);
    if expanded.len() > MAX_URI {
        return;
    }
    match uri_template(template, &expanded) {
        Ok(Some(_)) => {}
        other => panic!("{template:?} does not match its own expansion {expanded:?}: {other:?}"),
    }
});
