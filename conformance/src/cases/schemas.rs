//! The JSON Schemas a server publishes, read as a JSON Schema 2020-12 validator reads them.

use serde_json::Value;

use super::features::all_pages;
use crate::Target;

/// The `format` values JSON Schema 2020-12 defines (Validation, section 7.3). Any other is
/// unknown to validators: Ajv, under the TypeScript SDK and the Inspector, warns about each.
pub const JSON_SCHEMA_2020_12_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Every `format` keyword in `schema` that JSON Schema 2020-12 does not define, each with its
/// JSON pointer. Only schema positions are read: a property *named* `format`, or a `format` key
/// inside `default`, `const`, `enum` or `examples`, is data and not a keyword.
pub fn unknown_formats(schema: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(schema, "#", &mut found);
    found
}

fn walk(schema: &Value, at: &str, found: &mut Vec<(String, String)>) {
    let Value::Object(keywords) = schema else {
        return; // `true` / `false` schemas have no keywords
    };
    if let Some(format) = keywords.get("format") {
        match format.as_str() {
            Some(name) if JSON_SCHEMA_2020_12_FORMATS.contains(&name) => {}
            _ => found.push((format!("{at}/format"), format.to_string())),
        }
    }
    for (keyword, value) in keywords {
        let here = format!("{at}/{}", keyword.replace('~', "~0").replace('/', "~1"));
        match keyword.as_str() {
            // Maps from names to schemas.
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                if let Value::Object(entries) = value {
                    for (name, schema) in entries {
                        let name = name.replace('~', "~0").replace('/', "~1");
                        walk(schema, &format!("{here}/{name}"), found);
                    }
                }
            }
            // Arrays of schemas.
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(items) = value {
                    for (i, schema) in items.iter().enumerate() {
                        walk(schema, &format!("{here}/{i}"), found);
                    }
                }
            }
            // One schema (`items` was an array of schemas before 2020-12: read both).
            "items"
            | "additionalItems"
            | "additionalProperties"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contains"
            | "propertyNames"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contentSchema" => match value {
                Value::Array(items) => {
                    for (i, schema) in items.iter().enumerate() {
                        walk(schema, &format!("{here}/{i}"), found);
                    }
                }
                schema => walk(schema, &here, found),
            },
            _ => {}
        }
    }
}

/// Every tool's `inputSchema` and `outputSchema` (all pages of `tools/list`) uses only `format`
/// values JSON Schema 2020-12 defines: schemars' `uint64`, `int32`, `double`, … must not reach
/// clients (their bounds travel as `minimum` / `maximum`).
pub async fn tool_schemas_use_only_2020_12_formats(t: &Target) {
    let session = t.connect().await;
    let tools = all_pages(&session, "tools/list", "tools").await;
    assert!(!tools.is_empty(), "the fixture lists tools");
    let mut unknown = Vec::new();
    for tool in &tools {
        let name = tool["name"].as_str().unwrap_or("?");
        for field in ["inputSchema", "outputSchema"] {
            if let Some(schema) = tool.get(field) {
                for (at, format) in unknown_formats(schema) {
                    unknown.push(format!("{name} {field} {at}: {format}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "formats JSON Schema 2020-12 does not define:\n{}",
        unknown.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_keywords_and_skips_data() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "uint64"},
                "format": {"type": "string", "default": {"format": "int32"}},
                "when": {"type": "string", "format": "date-time"},
                "list": {"type": "array", "items": {"type": "number", "format": "double"}}
            },
            "$defs": {"Note": {"anyOf": [{"format": "uint8"}, true]}},
            "enum": [{"format": "uint32"}]
        });
        let mut found = unknown_formats(&schema);
        found.sort();
        assert_eq!(
            found,
            [
                (
                    "#/$defs/Note/anyOf/0/format".to_owned(),
                    "\"uint8\"".to_owned()
                ),
                ("#/properties/id/format".to_owned(), "\"uint64\"".to_owned()),
                (
                    "#/properties/list/items/format".to_owned(),
                    "\"double\"".to_owned()
                ),
            ]
        );
    }
}
