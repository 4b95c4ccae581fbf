//! What a client is told when its JSON does not fit: serde's message without the parser's
//! position, and with the path of the field that was wrong.

use serde::Deserialize;

/// serde's message without its " at line L column C", which says nothing to a client that
/// sent the body as one line.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// Parses `text` as a `T`. The error names the field that did not fit (`` `filter.limit`: …``)
/// unless it is the whole value, says what was expected, and carries no parser position.
pub(crate) fn from_str_located<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let message = without_position(error.inner());
        let path = error.path().to_string();
        // serde_path_to_error writes "." for the whole value; "missing field `x`" already names
        // the field, and its path is the object that lacks it.
        if path == "." || path.is_empty() {
            message
        } else {
            format!("`{path}`: {message}")
        }
    })?;
    deserializer.end().map_err(|e| without_position(&e))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only parsed")]
    struct Search {
        query: String,
        filter: Option<Filter>,
    }

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only parsed")]
    struct Filter {
        limit: u32,
    }

    #[test]
    fn missing_field_has_no_position() {
        let error = from_str_located::<Search>("{}").unwrap_err();
        assert_eq!(error, "missing field `query`");
    }

    #[test]
    fn wrong_type_names_the_field_and_the_expectation() {
        let error =
            from_str_located::<Search>(r#"{"query":"x","filter":{"limit":"ten"}}"#).unwrap_err();
        assert_eq!(
            error,
            "`filter.limit`: invalid type: string \"ten\", expected u32"
        );
    }

    #[test]
    fn trailing_garbage_is_refused_without_position() {
        let error = from_str_located::<Filter>(r#"{"limit":1} x"#).unwrap_err();
        assert_eq!(error, "trailing characters");
    }
}
