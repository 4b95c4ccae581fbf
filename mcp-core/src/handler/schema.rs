//! JSON Schemas generated from Rust types, as MCP clients read them.

use schemars::transform::{RestrictFormats, Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// The JSON Schema (2020-12) of `T`, as `schemars` generates it, with only the `format` values
/// JSON Schema 2020-12 defines.
///
/// schemars marks integers `"format": "uint64"` (`int32`, `uint8`, …) and floats `double` /
/// `float`, which no JSON Schema draft defines: validators such as Ajv (the TypeScript SDK, the
/// Inspector) warn about each one. Integer formats become the `minimum` / `maximum` they stand
/// for; every other format outside the 2020-12 list is dropped.
pub(crate) fn schema_for<T: JsonSchema>() -> Value {
    let mut schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    IntegerBounds.transform(&mut schema);
    RestrictFormats::default().transform(&mut schema);
    schema.to_value()
}

/// `schema` with only the `format` values JSON Schema 2020-12 defines, as [`schema_for`]
/// leaves them: for schemas that come from elsewhere (an OpenAPI document, whose generators
/// write `int32` / `int64` as OpenAPI defines them). A value that is not a schema is left as
/// it is.
pub(crate) fn restrict_formats(schema: &mut Value) {
    let Ok(mut parsed) = Schema::try_from(std::mem::take(schema)) else {
        return;
    };
    IntegerBounds.transform(&mut parsed);
    RestrictFormats::default().transform(&mut parsed);
    *schema = parsed.to_value();
}

/// Adds the bounds an integer `format` stands for, where the schema does not set them.
struct IntegerBounds;

impl Transform for IntegerBounds {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            let bounds = match object.get("format").and_then(Value::as_str) {
                Some("int8") => Some((i64::from(i8::MIN).into(), i64::from(i8::MAX).into())),
                Some("int16") => Some((i64::from(i16::MIN).into(), i64::from(i16::MAX).into())),
                Some("int32") => Some((i64::from(i32::MIN).into(), i64::from(i32::MAX).into())),
                Some("int64") => Some((i64::MIN.into(), i64::MAX.into())),
                Some("uint8") => Some((0.into(), u64::from(u8::MAX).into())),
                Some("uint16") => Some((0.into(), u64::from(u16::MAX).into())),
                Some("uint32") => Some((0.into(), u64::from(u32::MAX).into())),
                Some("uint64") => Some((0.into(), u64::MAX.into())),
                // usize/u128: the platform's or serde_json's width is not the client's; the
                // sign is what matters.
                Some("uint" | "uint128") => Some((0.into(), Value::Null)),
                _ => None,
            };
            if let Some((minimum, maximum)) = bounds {
                object.entry("minimum").or_insert(minimum);
                if !maximum.is_null() {
                    object.entry("maximum").or_insert(maximum);
                }
            }
        }
        transform_subschemas(self, schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(JsonSchema)]
    #[expect(dead_code, reason = "only its schema is read")]
    struct Note {
        id: u64,
        stars: u8,
        delta: i32,
        size: usize,
        weight: f64,
        tags: Vec<Tag>,
        owner: Option<uuid_like::Id>,
    }

    #[derive(JsonSchema)]
    #[expect(dead_code, reason = "only its schema is read")]
    struct Tag {
        colour: u32,
    }

    mod uuid_like {
        /// A string with a format JSON Schema 2020-12 defines: it stays.
        #[derive(schemars::JsonSchema)]
        #[schemars(extend("format" = "uuid"))]
        pub(super) struct Id(#[expect(dead_code, reason = "only its schema is read")] pub String);
    }

    fn formats(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(format)) = map.get("format") {
                    found.push(format.clone());
                }
                map.values().for_each(|v| formats(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| formats(v, found)),
            _ => {}
        }
    }

    #[test]
    fn only_2020_12_formats_remain_and_bounds_replace_integer_formats() {
        let schema = schema_for::<Note>();
        let mut found = Vec::new();
        formats(&schema, &mut found);
        assert_eq!(found, ["uuid"], "{schema:#}");
        let properties = &schema["properties"];
        assert_eq!(
            properties["id"],
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
        );
        assert_eq!(
            properties["stars"],
            json!({"type": "integer", "minimum": 0, "maximum": 255})
        );
        assert_eq!(
            properties["delta"],
            json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX})
        );
        assert_eq!(properties["size"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(properties["weight"], json!({"type": "number"}));
        assert_eq!(
            schema["$defs"]["Tag"]["properties"]["colour"],
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        );
    }
}
