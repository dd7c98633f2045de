//! JSON decoding that refuses duplicate object keys anywhere in the document, and that bounds
//! what a document may cost beyond its size in bytes.
//!
//! serde_json keeps the last of two equal keys silently; for signed headers and payloads that
//! would let two readers of the same bytes see different values, so every untrusted JSON
//! document in the core goes through [`from_slice_strict`] or [`value_strict`].
//!
//! Bytes are capped by the callers (envelope, manifest and payload limits). Two more costs are
//! bounded here: nesting depth by serde_json's recursion limit (128 levels, always on), and the
//! number of values by [`MAX_JSON_VALUES`], because a parsed value takes 16–100 times the bytes
//! that encode it (`[0,0,...]` spends two bytes per 32-byte `Value`).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::limits::MAX_JSON_VALUES;

/// Longest error text kept. serde reports a wrongly typed string by quoting all of it, and
/// the text ends up in signature reports and logs, so it is cut.
const MAX_ERROR_CHARS: usize = 300;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON, a duplicate key, nested too deeply, or not the expected shape.
    #[error("{0}")]
    Invalid(String),
    /// More values than [`MAX_JSON_VALUES`]; parsing stopped there.
    #[error("more than {max} JSON values")]
    TooManyValues {
        /// The limit.
        max: usize,
    },
}

fn invalid(e: impl fmt::Display) -> JsonError {
    let text = e.to_string();
    if text.chars().count() <= MAX_ERROR_CHARS {
        return JsonError::Invalid(text);
    }
    let mut cut: String = text.chars().take(MAX_ERROR_CHARS).collect();
    cut.push_str("...");
    JsonError::Invalid(cut)
}

/// Parses `bytes` into `T`, failing on any duplicate key at any depth.
pub fn from_slice_strict<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let value = value_strict(bytes)?;
    serde_json::from_value(value).map_err(invalid)
}

/// Parses `bytes` into a [`Value`], failing on any duplicate key at any depth and after
/// [`MAX_JSON_VALUES`] values.
pub fn value_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    value_strict_with_limit(bytes, MAX_JSON_VALUES)
}

/// [`value_strict`] with another value budget (tests use a small one).
pub fn value_strict_with_limit(bytes: &[u8], max_values: usize) -> Result<Value, JsonError> {
    let budget = Budget {
        left: Cell::new(max_values),
        max: max_values,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue { budget: &budget }.deserialize(&mut de);
    if budget.left.get() == 0 && parsed.is_err() {
        return Err(JsonError::TooManyValues { max: max_values });
    }
    let value = parsed.map_err(invalid)?;
    de.end().map_err(invalid)?;
    Ok(value)
}

/// Values still allowed in the document being parsed.
struct Budget {
    left: Cell<usize>,
    max: usize,
}

#[derive(Clone, Copy)]
struct StrictValue<'b> {
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let left = self.budget.left.get();
        if left == 0 {
            return Err(de::Error::custom(format_args!(
                "more than {} JSON values",
                self.budget.max
            )));
        }
        self.budget.left.set(left - 1);
        d.deserialize_any(StrictVisitor {
            budget: self.budget,
        })
    }
}

struct StrictVisitor<'b> {
    budget: &'b Budget,
}

impl<'de> Visitor<'de> for StrictVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        let seed = StrictValue {
            budget: self.budget,
        };
        while let Some(v) = seq.next_element_seed(seed)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let shown: String = key.chars().take(100).collect();
                return Err(de::Error::custom(format_args!("duplicate key {shown:?}")));
            }
            let v = map.next_value_seed(StrictValue {
                budget: self.budget,
            })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(value_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(value_strict(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(value_strict(br#"[{"b":1},{"b":1}]"#).is_ok());
        assert!(value_strict(br#"{"a":1} x"#).is_err());
    }

    #[test]
    fn every_value_counts_against_the_budget() {
        // {"a":[1,2]} is four values: the object, the array and two numbers.
        assert!(value_strict_with_limit(br#"{"a":[1,2]}"#, 4).is_ok());
        assert_eq!(
            value_strict_with_limit(br#"{"a":[1,2]}"#, 3),
            Err(JsonError::TooManyValues { max: 3 })
        );
        assert_eq!(
            value_strict_with_limit(b"1", 0),
            Err(JsonError::TooManyValues { max: 0 })
        );
    }

    #[test]
    fn the_default_budget_stops_a_flat_array_early() {
        // The array and MAX_JSON_VALUES - 1 numbers: exactly the budget.
        let mut doc = b"[0".to_vec();
        for _ in 0..MAX_JSON_VALUES - 2 {
            doc.extend_from_slice(b",0");
        }
        assert!(value_strict(&[&doc[..], b"]"].concat()).is_ok());
        doc.extend_from_slice(b",0]");
        assert_eq!(
            value_strict(&doc),
            Err(JsonError::TooManyValues {
                max: MAX_JSON_VALUES
            })
        );
    }

    #[test]
    fn nesting_is_bounded_by_serde_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            value_strict(deep.as_bytes()),
            Err(JsonError::Invalid(e)) if e.contains("recursion limit")
        ));
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(value_strict(ok.as_bytes()).is_ok());
    }

    #[test]
    fn errors_do_not_quote_megabytes_of_input() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: u64,
        }
        let long = "x".repeat(1 << 20);
        let wrong_type = format!(r#"{{"n":"{long}"}}"#);
        let e = from_slice_strict::<T>(wrong_type.as_bytes()).unwrap_err();
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
        let duplicate = format!(r#"{{"{long}":1,"{long}":2}}"#);
        let e = value_strict(duplicate.as_bytes()).unwrap_err();
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
    }
}
