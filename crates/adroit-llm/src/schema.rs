//! The JSON-schema subset structured extraction validates against, and pulling the first
//! JSON object out of a model's reply.
//!
//! Why not the `jsonschema` crate: even with its default features off it compiles about
//! 100k lines of its own plus fifteen mandatory dependencies (fancy-regex, fraction,
//! idna-like URL and e-mail validators, a reference resolver…), several times the rest of
//! this client, for drafts and formats extraction never uses. Extraction schemas are small
//! records: the keywords below cover them, and a schema using anything else is refused when
//! it is compiled instead of being half-checked.
//!
//! Supported: `type` (one name or a list; `integer` is a number without a fraction),
//! `properties`, `required`, `additionalProperties` (bool or a schema), `items`, `enum`,
//! `const`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`,
//! `maxLength` (in characters), `minItems`, `maxItems`. Annotations (`title`,
//! `description`, `$schema`, `$id`, `$comment`, `default`, `examples`) are ignored.

use serde_json::{Map, Value};
use std::fmt;

use crate::LlmError;

/// Keywords that only describe and never constrain.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "$schema",
    "$id",
    "$comment",
    "default",
    "examples",
];

const SUPPORTED: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "null" => Kind::Null,
            "boolean" => Kind::Boolean,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "string" => Kind::String,
            "array" => Kind::Array,
            "object" => Kind::Object,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }

    fn matches(self, value: &Value) -> bool {
        match (self, value) {
            (Kind::Null, Value::Null)
            | (Kind::Boolean, Value::Bool(_))
            | (Kind::Number, Value::Number(_))
            | (Kind::String, Value::String(_))
            | (Kind::Array, Value::Array(_))
            | (Kind::Object, Value::Object(_)) => true,
            (Kind::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[derive(Debug, Clone)]
enum Additional {
    Allow,
    Deny,
    Schema(Box<Node>),
}

#[derive(Debug, Clone)]
struct Node {
    types: Option<Vec<Kind>>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    properties: Vec<(String, Node)>,
    required: Vec<String>,
    additional: Additional,
    items: Option<Box<Node>>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    min_items: Option<usize>,
    max_items: Option<usize>,
}

/// A compiled schema: checked once for keywords outside the supported subset.
#[derive(Debug, Clone)]
pub struct Schema {
    root: Node,
    source: Value,
}

/// One way a value breaks its schema: where (`$.aspects[0].sentiment`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every violation of one value, displayed as `path: message; path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl Schema {
    /// Compiles `schema`, refusing keywords outside the supported subset (named with their
    /// place in the schema) so that nothing is silently left unchecked.
    pub fn compile(schema: &Value) -> Result<Schema, LlmError> {
        let root = compile_node(schema, "#")?;
        Ok(Schema {
            root,
            source: schema.clone(),
        })
    }

    /// The schema as given, for prompts and cache keys.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Checks `value`; every violation is reported, not only the first.
    pub fn validate(&self, value: &Value) -> Result<(), Violations> {
        let mut out = Vec::new();
        check(&self.root, value, "$", &mut out);
        if out.is_empty() {
            Ok(())
        } else {
            Err(Violations(out))
        }
    }
}

fn schema_error(at: &str, message: impl fmt::Display) -> LlmError {
    LlmError::Schema(format!("schema at {at}: {message}"))
}

fn number(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<f64>, LlmError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| schema_error(at, format!("`{key}` must be a number, got {v}"))),
    }
}

fn count(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<usize>, LlmError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                schema_error(
                    at,
                    format!("`{key}` must be a non-negative integer, got {v}"),
                )
            }),
    }
}

fn compile_node(schema: &Value, at: &str) -> Result<Node, LlmError> {
    let map = match schema {
        Value::Object(map) => map,
        // `true` accepts anything; `false` is not useful for extraction.
        Value::Bool(true) => &Map::new(),
        other => return Err(schema_error(at, format!("expected an object, got {other}"))),
    };
    for key in map.keys() {
        if !SUPPORTED.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
            return Err(schema_error(
                at,
                format!(
                    "keyword `{key}` is not supported (supported: {})",
                    SUPPORTED.join(", ")
                ),
            ));
        }
    }
    let types = match map.get("type") {
        None => None,
        Some(Value::String(name)) => {
            Some(vec![Kind::parse(name).ok_or_else(|| {
                schema_error(at, format!("unknown type {name:?}"))
            })?])
        }
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| {
                    n.as_str()
                        .and_then(Kind::parse)
                        .ok_or_else(|| schema_error(at, format!("unknown type {n}")))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(schema_error(
                at,
                format!("`type` must be a name or a list of names, got {other}"),
            ));
        }
    };
    let enumeration = match map.get("enum") {
        None => None,
        Some(Value::Array(values)) if !values.is_empty() => Some(values.clone()),
        Some(other) => {
            return Err(schema_error(
                at,
                format!("`enum` must be a non-empty list, got {other}"),
            ));
        }
    };
    let mut properties = Vec::new();
    match map.get("properties") {
        None => {}
        Some(Value::Object(props)) => {
            for (name, sub) in props {
                properties.push((
                    name.clone(),
                    compile_node(sub, &format!("{at}/properties/{name}"))?,
                ));
            }
        }
        Some(other) => {
            return Err(schema_error(
                at,
                format!("`properties` must be an object, got {other}"),
            ));
        }
    }
    let required = match map.get("required") {
        None => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| schema_error(at, format!("`required` must list names, got {n}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(schema_error(
                at,
                format!("`required` must be a list, got {other}"),
            ));
        }
    };
    let additional = match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => Additional::Allow,
        Some(Value::Bool(false)) => Additional::Deny,
        Some(sub) => Additional::Schema(Box::new(compile_node(
            sub,
            &format!("{at}/additionalProperties"),
        )?)),
    };
    let items = match map.get("items") {
        None => None,
        Some(sub) => Some(Box::new(compile_node(sub, &format!("{at}/items"))?)),
    };
    Ok(Node {
        types,
        enumeration,
        constant: map.get("const").cloned(),
        properties,
        required,
        additional,
        items,
        minimum: number(map, "minimum", at)?,
        maximum: number(map, "maximum", at)?,
        exclusive_minimum: number(map, "exclusiveMinimum", at)?,
        exclusive_maximum: number(map, "exclusiveMaximum", at)?,
        min_length: count(map, "minLength", at)?,
        max_length: count(map, "maxLength", at)?,
        min_items: count(map, "minItems", at)?,
        max_items: count(map, "maxItems", at)?,
    })
}

/// Numbers compare by value (`1` equals `1.0`), everything else structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn member_path(path: &str, name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::String(name.to_owned()))
    }
}

fn check(node: &Node, value: &Value, path: &str, out: &mut Vec<Violation>) {
    fn add(out: &mut Vec<Violation>, path: &str, message: String) {
        out.push(Violation {
            path: path.to_owned(),
            message,
        });
    }
    if let Some(types) = &node.types
        && !types.iter().any(|k| k.matches(value))
    {
        let names: Vec<&str> = types.iter().map(|k| k.name()).collect();
        add(
            out,
            path,
            format!(
                "expected {}, got {} {}",
                names.join(" or "),
                kind_of(value),
                short(value)
            ),
        );
        // Further checks on a value of the wrong type only repeat the same problem.
        return;
    }
    if let Some(values) = &node.enumeration
        && !values.iter().any(|v| same(v, value))
    {
        let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        add(
            out,
            path,
            format!("{} is not one of [{}]", short(value), list.join(", ")),
        );
    }
    if let Some(constant) = &node.constant
        && !same(constant, value)
    {
        add(
            out,
            path,
            format!("{} is not the constant {constant}", short(value)),
        );
    }
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(m) = node.minimum
                && x < m
            {
                add(out, path, format!("{n} is less than the minimum {m}"));
            }
            if let Some(m) = node.maximum
                && x > m
            {
                add(out, path, format!("{n} is greater than the maximum {m}"));
            }
            if let Some(m) = node.exclusive_minimum
                && x <= m
            {
                add(out, path, format!("{n} is not greater than {m}"));
            }
            if let Some(m) = node.exclusive_maximum
                && x >= m
            {
                add(out, path, format!("{n} is not less than {m}"));
            }
        }
        Value::String(s) => {
            let len = s.chars().count();
            if let Some(m) = node.min_length
                && len < m
            {
                add(
                    out,
                    path,
                    format!("text of {len} characters is shorter than {m}"),
                );
            }
            if let Some(m) = node.max_length
                && len > m
            {
                add(
                    out,
                    path,
                    format!("text of {len} characters is longer than {m}"),
                );
            }
        }
        Value::Array(items) => {
            if let Some(m) = node.min_items
                && items.len() < m
            {
                add(
                    out,
                    path,
                    format!("{} items, at least {m} required", items.len()),
                );
            }
            if let Some(m) = node.max_items
                && items.len() > m
            {
                add(
                    out,
                    path,
                    format!("{} items, at most {m} allowed", items.len()),
                );
            }
            if let Some(item) = &node.items {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            for name in &node.required {
                if !map.contains_key(name) {
                    add(out, path, format!("missing required property {name:?}"));
                }
            }
            for (name, v) in map {
                let sub = member_path(path, name);
                if let Some((_, prop)) = node.properties.iter().find(|(n, _)| n == name) {
                    check(prop, v, &sub, out);
                } else {
                    match &node.additional {
                        Additional::Allow => {}
                        Additional::Deny => out.push(Violation {
                            path: sub,
                            message: "property not allowed by the schema".into(),
                        }),
                        Additional::Schema(extra) => check(extra, v, &sub, out),
                    }
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// The first JSON object in a model's reply: models wrap their answer in prose or
/// ```` ```json ```` fences, or add a remark after it. Each `{` is tried in turn as the
/// start of a JSON value; `None` when no `{` starts a complete object.
pub fn first_json_object(reply: &str) -> Option<Value> {
    for (start, _) in reply.match_indices('{') {
        let mut values = serde_json::Deserializer::from_str(&reply[start..]).into_iter::<Value>();
        if let Some(Ok(value @ Value::Object(_))) = values.next() {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn review_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "title": "review",
            "required": ["sentiment", "rating"],
            "additionalProperties": false,
            "properties": {
                "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "score": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "summary": {"type": "string", "minLength": 2, "maxLength": 5},
                "aspects": {
                    "type": "array",
                    "maxItems": 2,
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "kind": {"const": "aspect"}}
                    }
                }
            }
        }))
        .unwrap()
    }

    #[test]
    fn valid_values_pass() {
        let s = review_schema();
        s.validate(&json!({"sentiment": "positive", "rating": 5}))
            .unwrap();
        s.validate(&json!({"sentiment": "neutral", "rating": 3.0, "score": null}))
            .unwrap();
        s.validate(&json!({
            "sentiment": "negative", "rating": 1, "score": 0.5, "summary": "物流太慢",
            "aspects": [{"name": "delivery", "kind": "aspect"}]
        }))
        .unwrap();
    }

    #[test]
    fn every_violation_is_named_with_its_path() {
        let s = review_schema();
        let err = s
            .validate(&json!({
                "sentiment": "great", "rating": 7, "score": 1, "summary": "x",
                "aspects": [{"kind": "other"}, {"name": 3}, {"name": "c"}], "extra": true
            }))
            .unwrap_err();
        let text = err.to_string();
        for expected in [
            "$.sentiment: \"great\" is not one of [\"positive\", \"negative\", \"neutral\"]",
            "$.rating: 7 is greater than the maximum 5",
            "$.score: 1 is not less than 1",
            "$.summary: text of 1 characters is shorter than 2",
            "$.aspects: 3 items, at most 2 allowed",
            "$.aspects[0]: missing required property \"name\"",
            "$.aspects[0].kind: \"other\" is not the constant \"aspect\"",
            "$.aspects[1].name: expected string, got number 3",
            "$.extra: property not allowed by the schema",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert_eq!(err.0.len(), 9, "{text}");
        let missing = s.validate(&json!({"rating": 2.5})).unwrap_err().to_string();
        assert!(missing.contains("$: missing required property \"sentiment\""));
        assert!(missing.contains("$.rating: expected integer, got number 2.5"));
        let wrong = s.validate(&json!(["a"])).unwrap_err().to_string();
        assert_eq!(wrong, "$: expected object, got array [\"a\"]");
    }

    #[test]
    fn unsupported_keywords_are_refused_with_their_place() {
        let err = Schema::compile(&json!({
            "type": "object",
            "properties": {"phone": {"type": "string", "pattern": "^1[0-9]{10}$"}}
        }))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("#/properties/phone") && err.contains("`pattern` is not supported"),
            "{err}"
        );
        for bad in [
            json!({"type": "text"}),
            json!({"enum": []}),
            json!({"minimum": "1"}),
            json!({"maxLength": -1}),
            json!({"required": "a"}),
            json!(3),
        ] {
            assert!(Schema::compile(&bad).is_err(), "{bad} accepted");
        }
        Schema::compile(&json!(true))
            .unwrap()
            .validate(&json!(1))
            .unwrap();
    }

    #[test]
    fn the_first_object_is_pulled_out_of_prose_and_fences() {
        let cases = [
            (r#"{"a": 1}"#, json!({"a": 1})),
            (
                "Sure! Here is the JSON:\n```json\n{\"a\": {\"b\": [1, 2]}}\n```\nHope it helps {:",
                json!({"a": {"b": [1, 2]}}),
            ),
            (
                "The {product} was rated: {\"a\": \"}{\"} and more {\"b\": 2}",
                json!({"a": "}{"}),
            ),
            ("```\n{ \"s\" : \"好评\" }```", json!({"s": "好评"})),
        ];
        for (reply, want) in cases {
            assert_eq!(first_json_object(reply), Some(want), "{reply}");
        }
        for reply in ["", "no json here", "[1, 2]", "{\"a\": 1", "{'a': 1}"] {
            assert_eq!(first_json_object(reply), None, "{reply}");
        }
    }
}
