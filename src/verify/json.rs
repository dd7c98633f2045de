//! The core's one strict JSON reader: every untrusted JSON document (envelopes, protected
//! headers, payloads, manifests, indexes, bundle headers, the trust policy) is parsed here.
//!
//! serde_json keeps the last of two equal keys silently; for signed headers and payloads that
//! would let two readers of the same bytes see different values, so duplicate keys are refused
//! at any depth. Trailing data after the one value is refused too.
//!
//! Bytes are capped by the callers (envelope, manifest, payload and policy limits). Two more
//! costs are bounded here: nesting depth by serde_json's recursion limit (128 levels, always
//! on), and the number of values by a budget ([`MAX_JSON_VALUES`] unless the caller gives
//! another), because a parsed value takes 16–100 times the bytes that encode it (`[0,0,...]`
//! spends two bytes per 32-byte `Value`).
//!
//! Two shapes come out of the same parser:
//! - [`from_slice_strict`] / [`value_strict`] fail at the first duplicate key, with its line and
//!   column, and give serde types or a [`Value`];
//! - [`tree_with_limit`] gives a [`Node`] tree in document order that records the first
//!   duplicate key of each object instead of failing, for schema checks (the trust policy)
//!   that report the first problem in document order with the JSON path of the field
//!   ([`member_path`], [`element_path`]).

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::limits::MAX_JSON_VALUES;

/// Longest error text kept. serde reports a wrongly typed string by quoting all of it, and
/// the text ends up in signature reports and logs, so it is cut.
const MAX_ERROR_CHARS: usize = 300;

/// Characters of a duplicate key quoted in the error, so that a megabyte-long key is not.
const MAX_KEY_CHARS_SHOWN: usize = 100;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON, a duplicate key, nested too deeply, or not the expected shape.
    #[error("{0}")]
    Invalid(String),
    /// More values than the budget ([`MAX_JSON_VALUES`] by default); parsing stopped there.
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
    parse(bytes, max_values, Duplicates::Refuse).map(Node::into_value)
}

/// Parses `bytes` into a [`Node`] tree, failing on syntax, trailing data, nesting deeper than
/// serde_json's limit and after `max_values` values, but not on duplicate keys: each object
/// keeps the first value of every key and remembers where its first duplicate key was
/// ([`Object::first_key_problem`]), so that a schema check can report it in document order,
/// after the problems written before it, and name its path.
pub fn tree_with_limit(bytes: &[u8], max_values: usize) -> Result<Node, JsonError> {
    parse(bytes, max_values, Duplicates::Record)
}

/// What the parser does with a key already seen in the same object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Duplicates {
    /// Fail there, naming the key with serde_json's line and column.
    Refuse,
    /// Note the first one in the object, skip its value and go on.
    Record,
}

fn parse(bytes: &[u8], max_values: usize, duplicates: Duplicates) -> Result<Node, JsonError> {
    let budget = Budget {
        left: Cell::new(max_values),
        max: max_values,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictNode {
        budget: &budget,
        duplicates,
    }
    .deserialize(&mut de);
    // The budget's own error is a serde custom error with a position; report it as the typed
    // variant instead, whatever text serde wrapped around it.
    if budget.left.get() == 0 && parsed.is_err() {
        return Err(JsonError::TooManyValues { max: max_values });
    }
    let node = parsed.map_err(invalid)?;
    de.end().map_err(invalid)?;
    Ok(node)
}

/// `key` as a member of the field at `path`, the way error messages name fields: `a.b`, or
/// just `b` at the root (whose path is empty). Keys are written as they are, unquoted.
pub fn member_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Element `index` of the array at `path`, the way error messages name it: `a.b[2]`.
pub fn element_path(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// One parsed JSON value, with objects in document order.
///
/// Only the parser builds the objects, so a tree is never deeper than serde_json's recursion
/// limit (128 levels); that bounds the recursion of its conversion and of its drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json holds it.
    Number(Number),
    /// A string, escapes decoded.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object (boxed, so that a value is 32 bytes as serde_json's is: arrays hold many).
    Object(Box<Object>),
}

impl Node {
    /// The JSON type with its article, as error messages name it: "a string", "null", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }

    /// Converts a tree parsed with [`Duplicates::Refuse`] (so without duplicate keys) into a
    /// [`Value`]. Recursive: the parser bounds the depth (see [`Node`]), and this stays
    /// private so that it only ever sees parsed trees.
    fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Number(n) => Value::Number(n),
            Self::String(s) => Value::String(s),
            Self::Array(items) => Value::Array(items.into_iter().map(Self::into_value).collect()),
            Self::Object(object) => Value::Object(
                object
                    .entries
                    .into_iter()
                    .map(|(key, value)| (key, value.into_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

/// The members of a JSON object in document order, each key once with its first value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    entries: Vec<(String, Node)>,
    /// The first repeated key, if any; later ones are never reported, as the first problem
    /// of an object ends its check.
    duplicate: Option<Duplicate>,
}

/// Where an object's first repeated key was written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Duplicate {
    key: String,
    /// How many distinct keys came before it: it sits between `entries[position - 1]` and
    /// `entries[position]` in the document.
    position: usize,
}

/// The first thing wrong with an object's keys, in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem<'a> {
    /// A key the schema does not define.
    Unknown(&'a str),
    /// A key written a second time.
    Duplicate(&'a str),
}

impl Object {
    /// The members, in document order, each key once with the first value written for it.
    pub fn entries(&self) -> &[(String, Node)] {
        &self.entries
    }

    /// The first value written for `key`. A linear scan: schema objects have a handful of
    /// keys, and callers look up fixed names.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// True when the object has no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first key, in document order, that `known` refuses or that repeats an earlier key.
    /// A repeated unknown key never shows as a duplicate: its first writing is reported first.
    pub fn first_key_problem(&self, known: impl Fn(&str) -> bool) -> Option<KeyProblem<'_>> {
        let duplicate = self.duplicate.as_ref();
        for (position, (key, _)) in self.entries.iter().enumerate() {
            if let Some(d) = duplicate
                && d.position == position
            {
                return Some(KeyProblem::Duplicate(&d.key));
            }
            if !known(key) {
                return Some(KeyProblem::Unknown(key));
            }
        }
        // A duplicate after the last distinct key.
        duplicate.map(|d| KeyProblem::Duplicate(&d.key))
    }
}

/// Values still allowed in the document being parsed.
struct Budget {
    left: Cell<usize>,
    max: usize,
}

/// Parses one value (and everything inside it), charging each value to the budget.
#[derive(Clone, Copy)]
struct StrictNode<'b> {
    budget: &'b Budget,
    duplicates: Duplicates,
}

impl<'de> DeserializeSeed<'de> for StrictNode<'_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        let left = self.budget.left.get();
        if left == 0 {
            return Err(de::Error::custom(format_args!(
                "more than {} JSON values",
                self.budget.max
            )));
        }
        self.budget.left.set(left - 1);
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictNode<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // JSON text cannot spell NaN or infinity and serde_json refuses numbers out of f64's
        // range, so `None` does not happen; null is what serde_json's own Value would hold.
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Node::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        // A set, not a scan of the earlier keys: a scan is quadratic, and a 1 MiB object
        // holds 100,000 keys.
        let mut seen: HashSet<String> = HashSet::new();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                if self.duplicates == Duplicates::Refuse {
                    // Checked before the value is read, so the position serde_json adds is
                    // the key's.
                    let shown: String = key.chars().take(MAX_KEY_CHARS_SHOWN).collect();
                    return Err(de::Error::custom(format_args!("duplicate key {shown:?}")));
                }
                // The value is still parsed (its syntax and its cost count) but dropped:
                // readers of the tree see the first value, as a check that stops at the
                // duplicate never reads the value anyway.
                map.next_value_seed(self)?;
                if duplicate.is_none() {
                    duplicate = Some(Duplicate {
                        key,
                        position: entries.len(),
                    });
                }
                continue;
            }
            let value = map.next_value_seed(self)?;
            seen.insert(key.clone());
            entries.push((key, value));
        }
        Ok(Node::Object(Box::new(Object { entries, duplicate })))
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

    fn tree(text: &str) -> Node {
        tree_with_limit(text.as_bytes(), MAX_JSON_VALUES).unwrap()
    }

    fn object(node: &Node) -> &Object {
        match node {
            Node::Object(object) => object,
            other => panic!("expected an object, got {other:?}"),
        }
    }

    #[test]
    fn a_duplicate_is_refused_where_it_is_written_at_any_depth() {
        let e = value_strict(br#"{"a":[{"b":1},{"c":{"d":1,"d":2}}]}"#).unwrap_err();
        assert_eq!(
            e,
            JsonError::Invalid("duplicate key \"d\" at line 1 column 29".into())
        );
        // Equal keys in sibling objects are not duplicates; escapes are compared decoded.
        assert!(value_strict(br#"{"a":{"k":1},"b":{"k":1}}"#).is_ok());
        assert!(value_strict(br#"{"k":1,"\u006b":2}"#).is_err());
    }

    #[test]
    fn the_tree_records_duplicates_at_any_depth_and_keeps_the_first_value() {
        let root = tree(r#"{"a":{"x":1,"y":2,"x":3,"z":4,"y":5},"b":[{"k":true,"k":null}]}"#);
        let a = object(object(&root).get("a").unwrap());
        let keys: Vec<&str> = a.entries().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["x", "y", "z"]);
        assert_eq!(a.get("x"), Some(&Node::Number(1.into())));
        assert_eq!(
            a.first_key_problem(|_| true),
            Some(KeyProblem::Duplicate("x"))
        );
        let Some(Node::Array(b)) = object(&root).get("b") else {
            panic!("b is an array");
        };
        let k = object(&b[0]);
        assert_eq!(k.get("k"), Some(&Node::Bool(true)));
        assert_eq!(
            k.first_key_problem(|_| true),
            Some(KeyProblem::Duplicate("k"))
        );
        assert_eq!(object(&root).first_key_problem(|_| true), None);
    }

    #[test]
    fn key_problems_come_in_document_order() {
        let known = |key: &str| key != "u";
        let first = |text: &str| {
            let node = tree(text);
            object(&node).first_key_problem(known).map(|p| match p {
                KeyProblem::Unknown(k) => format!("unknown {k}"),
                KeyProblem::Duplicate(k) => format!("duplicate {k}"),
            })
        };
        assert_eq!(
            first(r#"{"a":1,"u":1,"a":1}"#).as_deref(),
            Some("unknown u")
        );
        assert_eq!(
            first(r#"{"a":1,"a":1,"u":1}"#).as_deref(),
            Some("duplicate a")
        );
        assert_eq!(
            first(r#"{"a":1,"b":1,"a":1}"#).as_deref(),
            Some("duplicate a")
        );
        // A repeated unknown key is reported as unknown, at its first writing.
        assert_eq!(first(r#"{"u":1,"u":1}"#).as_deref(), Some("unknown u"));
        assert_eq!(first(r#"{"a":1,"b":1}"#), None);
        assert_eq!(first("{}"), None);
    }

    #[test]
    fn the_tree_still_refuses_bad_syntax_after_a_duplicate() {
        assert!(tree_with_limit(br#"{"a":1,"a":[}"#, MAX_JSON_VALUES).is_err());
        assert!(tree_with_limit(br#"{"a":1,"a":2} x"#, MAX_JSON_VALUES).is_err());
    }

    #[test]
    fn paths_name_members_and_elements() {
        assert_eq!(member_path("", "version"), "version");
        assert_eq!(member_path("a", "b"), "a.b");
        let stores = element_path(&member_path("", "trustStores"), 1);
        assert_eq!(stores, "trustStores[1]");
        assert_eq!(member_path(&stores, "k.x"), "trustStores[1].k.x");
        assert_eq!(element_path("", 0), "[0]");
    }

    #[test]
    fn duplicate_values_count_against_the_budget_in_the_tree() {
        // The object, 1, and the dropped [2]: four values with the 2 inside it.
        assert!(tree_with_limit(br#"{"a":1,"a":[2]}"#, 4).is_ok());
        assert_eq!(
            tree_with_limit(br#"{"a":1,"a":[2]}"#, 3),
            Err(JsonError::TooManyValues { max: 3 })
        );
    }

    #[test]
    fn trailing_data_is_refused_and_trailing_whitespace_is_not() {
        for bad in [&b"{} {}"[..], b"1 x", b"[]]", b"\"a\"\"b\"", b"{}\0"] {
            assert!(
                matches!(value_strict(bad), Err(JsonError::Invalid(e)) if e.contains("trailing")),
                "{bad:?}"
            );
            assert!(tree_with_limit(bad, MAX_JSON_VALUES).is_err(), "{bad:?}");
        }
        assert!(value_strict(b" {} \n\t\r").is_ok());
        for empty in [&b""[..], b"   "] {
            assert!(value_strict(empty).is_err());
        }
    }

    #[test]
    fn numbers_and_escapes_are_decoded_as_serde_json_decodes_them() {
        let text = r#"[0,-0,18446744073709551615,-9223372036854775808,1.5e3,-2E-2,
            "\u00e9\n\t\"\\\/","\ud83d\ude00","é",true,false,null,{"":{}}]"#;
        let ours = value_strict(text.as_bytes()).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        let Node::Array(items) = tree(text) else {
            panic!("an array");
        };
        assert_eq!(items[2], Node::Number(u64::MAX.into()));
        assert_eq!(items[3], Node::Number(i64::MIN.into()));
        assert_eq!(items[6], Node::String("é\n\t\"\\/".into()));
        assert_eq!(items[7], Node::String("😀".into()));
        let kinds: Vec<&str> = items[8..].iter().map(Node::kind).collect();
        assert_eq!(
            kinds,
            ["a string", "a boolean", "a boolean", "null", "an object"]
        );
        assert_eq!(tree("[]").kind(), "an array");
        assert_eq!(tree("1").kind(), "a number");
        // Out of f64's range, a lone surrogate, a raw control character, a leading zero, a
        // bare decimal point, invalid UTF-8.
        for bad in [
            &b"1e400"[..],
            b"\"\\ud83d\"",
            b"\"a\x01\"",
            b"01",
            b"1.",
            b"\"\xff\"",
        ] {
            assert!(value_strict(bad).is_err(), "{bad:?}");
            assert!(tree_with_limit(bad, MAX_JSON_VALUES).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_tree_is_bounded_in_depth_like_the_value() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(
            tree_with_limit(deep.as_bytes(), MAX_JSON_VALUES),
            Err(JsonError::Invalid(e)) if e.contains("recursion limit")
        ));
        let deep = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
        assert!(matches!(
            value_strict(deep.as_bytes()),
            Err(JsonError::Invalid(e)) if e.contains("recursion limit")
        ));
        // The deepest accepted document converts (recursively) without trouble.
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(value_strict(ok.as_bytes()).is_ok());
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_parsed_value_is_no_larger_than_serde_jsons() {
        // The value budgets are sized on it (limits::MAX_JSON_VALUES, MAX_TRUST_POLICY_VALUES).
        assert!(std::mem::size_of::<Node>() <= std::mem::size_of::<Value>());
    }

    /// Arbitrary JSON without duplicate keys (a serde_json Map cannot hold any), a few levels
    /// deep, with every kind of scalar and strings that need escaping.
    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            r#"[ -~\u{0}-\u{1f}\u{7f}é😀\\"]{0,8}"#.prop_map(Value::from),
        ];
        scalar.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(r#"[a-c"\\é]{0,3}"#, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn reads_what_serde_json_writes_as_serde_json_reads_it(value in any_value()) {
            // Compared with what serde_json reads back, not with `value`: without its
            // float_roundtrip feature serde_json may read a float one ulp off.
            let text = serde_json::to_vec(&value).unwrap();
            let expected: Value = serde_json::from_slice(&text).unwrap();
            proptest::prop_assert_eq!(value_strict(&text).unwrap(), expected.clone());
            let pretty = serde_json::to_vec_pretty(&value).unwrap();
            proptest::prop_assert_eq!(value_strict(&pretty).unwrap(), expected.clone());
            let tree = tree_with_limit(&text, MAX_JSON_VALUES).unwrap();
            proptest::prop_assert_eq!(tree.into_value(), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = value_strict(&bytes);
            let _ = tree_with_limit(&bytes, 64);
        }
    }
}
