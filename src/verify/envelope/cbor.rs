//! A strict, bounded CBOR (RFC 8949) reader for COSE envelopes.
//!
//! It enforces, on the received bytes, the decoding rules go-cose applies through
//! fxamacker/cbor (NOTARY-VERIFY §4.1), so that notaryd and notation read the same bytes the
//! same way:
//! - the input is exactly one well-formed data item, with nothing after it;
//! - indefinite-length strings, arrays and maps are refused (`IndefLengthForbidden`);
//! - a map may not repeat a key, at any depth (`DupMapKeyEnforcedAPF`); keys are compared by
//!   value, so `1` and its non-minimal encoding `0x18 0x01` are the same key;
//! - tags are refused, except that a caller may allow them as the direct values of the top-level
//!   map (the protected header, where the time headers carry tag 1);
//! - text strings must be UTF-8; integers must fit an `i64` (`IntDecConvertSigned`);
//! - reserved encodings (additional information 28–30, two-byte simple values below 32, a stray
//!   break byte) are not well-formed.
//!
//! Non-minimal ("non-preferred") heads, such as `0x18 0x01` for the integer 1, are *accepted*,
//! as fxamacker/cbor accepts them: a signature always covers the received protected bytes, so a
//! second encoding of the same header cannot pass as the first. The one exception is the fixed
//! `0xD2 0x84` prefix of a COSE_Sign1_Tagged, which the COSE parser checks byte for byte, as
//! go-cose does.
//!
//! Budgets: at most [`MAX_CBOR_DEPTH`] nested levels (the reader recurses once per level, so this
//! bounds its stack) and at most [`MAX_CBOR_ITEMS`] items per document. A declared length is
//! checked against the bytes that remain before anything is allocated for it.

use std::fmt;

use crate::limits::{MAX_CBOR_DEPTH, MAX_CBOR_ITEMS};

/// One decoded data item. Strings borrow from the input, so a byte string is the received bytes
/// exactly (the protected header's bytes are signed as received).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item<'a> {
    /// Major types 0 and 1.
    Int(i64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<Item<'a>>),
    /// Major type 5, pairs in received order.
    Map(Vec<(Item<'a>, Item<'a>)>),
    /// Major type 6.
    Tag(u64, Box<Item<'a>>),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// Any other simple value.
    Simple(u8),
    /// Half, single or double precision.
    Float(f64),
}

impl Item<'_> {
    /// A short name of the item's type, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Int(_) => "int",
            Self::Bytes(_) => "bstr",
            Self::Text(_) => "tstr",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
            Self::Tag(..) => "tag",
            Self::Bool(_) => "bool",
            Self::Null => "null",
            Self::Undefined => "undefined",
            Self::Simple(_) => "simple value",
            Self::Float(_) => "float",
        }
    }
}

/// Where tags may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tags {
    /// Nowhere (go-cose's `TagsForbidden` mode, used for the COSE_Sign1 body).
    Forbidden,
    /// Only as the direct value of an entry of the top-level map (any tag number; the caller
    /// decides which labels may carry which tag). Nested tags are refused.
    TopLevelMapValues,
}

/// Why bytes are not acceptable CBOR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CborError {
    /// The input ends inside an item.
    #[error("unexpected end of CBOR data at offset {0}")]
    Truncated(usize),
    /// Bytes follow the single top-level item.
    #[error("{0} trailing bytes after the CBOR data item")]
    TrailingBytes(usize),
    /// Additional information 28–30, or 31 on a major type that has no indefinite form.
    #[error("malformed CBOR: reserved initial byte 0x{byte:02x} at offset {offset}")]
    Reserved {
        /// The initial byte.
        byte: u8,
        /// Where.
        offset: usize,
    },
    /// An indefinite-length string, array or map.
    #[error("indefinite-length CBOR {0} at offset {1} is not allowed")]
    IndefiniteLength(&'static str, usize),
    /// A break byte outside an indefinite-length item.
    #[error("malformed CBOR: unexpected break byte at offset {0}")]
    UnexpectedBreak(usize),
    /// A two-byte simple value below 32.
    #[error("malformed CBOR: two-byte simple value {0} below 32")]
    InvalidSimple(u8),
    /// A text string that is not UTF-8.
    #[error("CBOR text string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    /// An integer outside the `i64` range.
    #[error("CBOR integer at offset {0} does not fit a signed 64-bit integer")]
    IntegerOutOfRange(usize),
    /// A tag where none is allowed.
    #[error("unexpected CBOR tag {tag} at offset {offset}")]
    TagNotAllowed {
        /// The tag number.
        tag: u64,
        /// Where.
        offset: usize,
    },
    /// More than [`MAX_CBOR_DEPTH`] nested levels.
    #[error("CBOR nesting deeper than {MAX_CBOR_DEPTH} levels")]
    TooDeep,
    /// More than [`MAX_CBOR_ITEMS`] items.
    #[error("CBOR document has more than {MAX_CBOR_ITEMS} data items")]
    TooManyItems,
    /// A map repeats a key.
    #[error("duplicate map key {0}")]
    DuplicateKey(String),
    /// A map key that is an array, a map or a tag (not comparable, refused as go-cose does).
    #[error("map key of type {0} is not supported")]
    UnsupportedKey(&'static str),
}

/// Decodes `bytes` as exactly one data item.
pub(crate) fn decode(bytes: &[u8], tags: Tags) -> Result<Item<'_>, CborError> {
    let mut reader = Reader {
        buf: bytes,
        pos: 0,
        items: 0,
        tags,
    };
    let item = reader.item(0, false)?;
    if reader.pos != bytes.len() {
        return Err(CborError::TrailingBytes(bytes.len() - reader.pos));
    }
    Ok(item)
}

/// Appends the shortest head for major type `major` with argument `value` (RFC 8949 §4.2.1).
pub(crate) fn push_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let mt = major << 5;
    match value {
        0..=23 => out.push(mt | value as u8),
        24..=0xff => out.extend([mt | 24, value as u8]),
        0x100..=0xffff => {
            out.push(mt | 25);
            out.extend((value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(mt | 26);
            out.extend((value as u32).to_be_bytes());
        }
        _ => {
            out.push(mt | 27);
            out.extend(value.to_be_bytes());
        }
    }
}

/// Appends a byte string with its shortest head.
pub(crate) fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a text string with its shortest head.
pub(crate) fn push_text(out: &mut Vec<u8>, text: &str) {
    push_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

enum Argument {
    Value(u64),
    Indefinite,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    items: usize,
    tags: Tags,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.remaining())
            .ok_or(CborError::Truncated(self.buf.len()))?;
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn argument(&mut self, initial: u8, offset: usize) -> Result<Argument, CborError> {
        let info = initial & 0x1f;
        let width = match info {
            0..=23 => return Ok(Argument::Value(u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Ok(Argument::Indefinite),
            _ => {
                return Err(CborError::Reserved {
                    byte: initial,
                    offset,
                });
            }
        };
        let bytes = self.take(width)?;
        Ok(Argument::Value(
            bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        ))
    }

    /// A definite argument. `indefinite` names the item if its major type has an
    /// indefinite-length form (refused); otherwise additional information 31 is reserved.
    fn definite(
        &mut self,
        initial: u8,
        offset: usize,
        indefinite: Option<&'static str>,
    ) -> Result<u64, CborError> {
        match (self.argument(initial, offset)?, indefinite) {
            (Argument::Value(v), _) => Ok(v),
            (Argument::Indefinite, Some(what)) => Err(CborError::IndefiniteLength(what, offset)),
            (Argument::Indefinite, None) => Err(CborError::Reserved {
                byte: initial,
                offset,
            }),
        }
    }

    /// Reads one item. `level` is the number of enclosing arrays, maps and tags; `tag_ok` says
    /// whether this item may be a tag.
    fn item(&mut self, level: usize, tag_ok: bool) -> Result<Item<'a>, CborError> {
        self.items += 1;
        if self.items > MAX_CBOR_ITEMS {
            return Err(CborError::TooManyItems);
        }
        let offset = self.pos;
        let initial = *self
            .buf
            .get(self.pos)
            .ok_or(CborError::Truncated(self.pos))?;
        self.pos += 1;
        match initial >> 5 {
            0 => {
                let v = self.definite(initial, offset, None)?;
                i64::try_from(v)
                    .map(Item::Int)
                    .map_err(|_| CborError::IntegerOutOfRange(offset))
            }
            1 => {
                let v = self.definite(initial, offset, None)?;
                // -1 - v, which fits i64 exactly when v <= i64::MAX.
                i64::try_from(v)
                    .map(|v| Item::Int(-1 - v))
                    .map_err(|_| CborError::IntegerOutOfRange(offset))
            }
            2 => {
                let len = self.definite(initial, offset, Some("byte string"))?;
                Ok(Item::Bytes(self.take(len)?))
            }
            3 => {
                let len = self.definite(initial, offset, Some("text string"))?;
                let bytes = self.take(len)?;
                std::str::from_utf8(bytes)
                    .map(Item::Text)
                    .map_err(|_| CborError::InvalidUtf8(offset))
            }
            4 => {
                let len = self.definite(initial, offset, Some("array"))?;
                let level = self.enter(level)?;
                // Every element takes at least one byte.
                let len = self.count(len, 1)?;
                let mut out = Vec::with_capacity(len.min(64));
                for _ in 0..len {
                    out.push(self.item(level, false)?);
                }
                Ok(Item::Array(out))
            }
            5 => {
                let len = self.definite(initial, offset, Some("map"))?;
                let level = self.enter(level)?;
                // Every pair takes at least two bytes.
                let len = self.count(len, 2)?;
                let values_may_be_tags = self.tags == Tags::TopLevelMapValues && level == 1;
                let mut out = Vec::with_capacity(len.min(64));
                for _ in 0..len {
                    let key = self.item(level, false)?;
                    let value = self.item(level, values_may_be_tags)?;
                    out.push((key, value));
                }
                check_unique_keys(&out)?;
                Ok(Item::Map(out))
            }
            6 => {
                let tag = self.definite(initial, offset, None)?;
                if !tag_ok {
                    return Err(CborError::TagNotAllowed { tag, offset });
                }
                let level = self.enter(level)?;
                Ok(Item::Tag(tag, Box::new(self.item(level, false)?)))
            }
            _ => self.simple(initial, offset),
        }
    }

    fn enter(&self, level: usize) -> Result<usize, CborError> {
        let level = level + 1;
        if level > MAX_CBOR_DEPTH {
            return Err(CborError::TooDeep);
        }
        Ok(level)
    }

    /// Checks a declared element count against the bytes left (`min_bytes` per element).
    fn count(&self, declared: u64, min_bytes: usize) -> Result<usize, CborError> {
        usize::try_from(declared)
            .ok()
            .filter(|&n| n <= self.remaining() / min_bytes)
            .ok_or(CborError::Truncated(self.buf.len()))
    }

    fn simple(&mut self, initial: u8, offset: usize) -> Result<Item<'a>, CborError> {
        match initial & 0x1f {
            20 => Ok(Item::Bool(false)),
            21 => Ok(Item::Bool(true)),
            22 => Ok(Item::Null),
            23 => Ok(Item::Undefined),
            v @ 0..=19 => Ok(Item::Simple(v)),
            24 => {
                let v = self.take(1)?[0];
                if v < 32 {
                    return Err(CborError::InvalidSimple(v));
                }
                Ok(Item::Simple(v))
            }
            25 => {
                let b = self.take(2)?;
                Ok(Item::Float(f16_to_f64(u16::from_be_bytes([b[0], b[1]]))))
            }
            26 => {
                let b = self.take(4)?;
                Ok(Item::Float(f64::from(f32::from_be_bytes([
                    b[0], b[1], b[2], b[3],
                ]))))
            }
            27 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Ok(Item::Float(f64::from_be_bytes(a)))
            }
            31 => Err(CborError::UnexpectedBreak(offset)),
            _ => Err(CborError::Reserved {
                byte: initial,
                offset,
            }),
        }
    }
}

/// IEEE 754 half precision to double (RFC 8949 Appendix D).
fn f16_to_f64(half: u16) -> f64 {
    let exp = (half >> 10) & 0x1f;
    let mant = f64::from(half & 0x3ff);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(i32::from(exp) - 25),
    };
    if half & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// A map key reduced to what makes two keys equal once decoded (as Go map keys compare).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyValue<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Bool(bool),
    Null,
    Undefined,
    Simple(u8),
    Float(u64),
}

impl fmt::Display for KeyValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Bytes(b) => {
                f.write_str("h'")?;
                for byte in b.iter().take(32) {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str(if b.len() > 32 { "…'" } else { "'" })
            }
            Self::Text(s) => write!(f, "{:?}", s.chars().take(100).collect::<String>()),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
            Self::Undefined => f.write_str("undefined"),
            Self::Simple(v) => write!(f, "simple({v})"),
            Self::Float(bits) => write!(f, "{}", f64::from_bits(*bits)),
        }
    }
}

fn check_unique_keys(pairs: &[(Item<'_>, Item<'_>)]) -> Result<(), CborError> {
    if pairs.len() < 2 {
        // A single key still has to be of a supported type.
        if let Some((key, _)) = pairs.first() {
            key_value(key)?;
        }
        return Ok(());
    }
    let mut keys = Vec::with_capacity(pairs.len());
    for (key, _) in pairs {
        if let Some(k) = key_value(key)? {
            keys.push(k);
        }
    }
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(CborError::DuplicateKey(w[0].to_string())),
        None => Ok(()),
    }
}

/// `None` for a NaN key, which never equals another key (as in Go).
fn key_value<'a>(key: &Item<'a>) -> Result<Option<KeyValue<'a>>, CborError> {
    Ok(Some(match key {
        Item::Int(i) => KeyValue::Int(*i),
        Item::Bytes(b) => KeyValue::Bytes(b),
        Item::Text(s) => KeyValue::Text(s),
        Item::Bool(b) => KeyValue::Bool(*b),
        Item::Null => KeyValue::Null,
        Item::Undefined => KeyValue::Undefined,
        Item::Simple(v) => KeyValue::Simple(*v),
        Item::Float(f) if f.is_nan() => return Ok(None),
        // +0.0 and -0.0 are equal keys.
        Item::Float(f) => KeyValue::Float((f + 0.0).to_bits()),
        Item::Array(_) | Item::Map(_) | Item::Tag(..) => {
            return Err(CborError::UnsupportedKey(key.kind()));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(bytes: &[u8]) -> Item<'_> {
        decode(bytes, Tags::Forbidden).unwrap()
    }

    fn err(bytes: &[u8]) -> CborError {
        decode(bytes, Tags::Forbidden).unwrap_err()
    }

    #[test]
    fn integers_minimal_and_not() {
        assert_eq!(ok(&[0x01]), Item::Int(1));
        assert_eq!(ok(&[0x18, 0x01]), Item::Int(1));
        assert_eq!(ok(&[0x1b, 0, 0, 0, 0, 0, 0, 0, 1]), Item::Int(1));
        assert_eq!(ok(&[0x20]), Item::Int(-1));
        assert_eq!(ok(&[0x38, 0x24]), Item::Int(-37));
        assert_eq!(
            ok(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Item::Int(i64::MIN)
        );
        assert_eq!(
            err(&[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            CborError::IntegerOutOfRange(0)
        );
        assert_eq!(
            err(&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            CborError::IntegerOutOfRange(0)
        );
    }

    #[test]
    fn indefinite_lengths_are_refused() {
        for (bytes, what) in [
            (&[0x5f, 0x41, 0x00, 0xff][..], "byte string"),
            (&[0x7f, 0x61, 0x61, 0xff][..], "text string"),
            (&[0x9f, 0x01, 0xff][..], "array"),
            (&[0xbf, 0x01, 0x02, 0xff][..], "map"),
        ] {
            assert_eq!(err(bytes), CborError::IndefiniteLength(what, 0));
        }
        assert!(matches!(err(&[0x1f]), CborError::Reserved { .. }));
        assert!(matches!(err(&[0xdf, 0x01]), CborError::Reserved { .. }));
        assert_eq!(err(&[0xff]), CborError::UnexpectedBreak(0));
    }

    #[test]
    fn reserved_and_truncated() {
        for b in [0x1c, 0x3d, 0x5e, 0xfc, 0xfd, 0xfe] {
            assert!(matches!(err(&[b]), CborError::Reserved { .. }), "{b:#x}");
        }
        assert_eq!(err(&[0xf8, 0x1f]), CborError::InvalidSimple(31));
        assert_eq!(ok(&[0xf8, 0x20]), Item::Simple(32));
        assert!(matches!(err(&[0x42, 0x00]), CborError::Truncated(_)));
        assert!(matches!(err(&[0x19, 0x00]), CborError::Truncated(_)));
        assert!(matches!(
            err(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            CborError::Truncated(_)
        ));
        assert!(matches!(
            err(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            CborError::Truncated(_)
        ));
        assert_eq!(err(&[0x01, 0x02]), CborError::TrailingBytes(1));
        assert_eq!(err(&[0x62, 0xff, 0xfe]), CborError::InvalidUtf8(0));
    }

    #[test]
    fn floats() {
        assert_eq!(ok(&[0xf9, 0x3c, 0x00]), Item::Float(1.0));
        assert_eq!(ok(&[0xf9, 0xc4, 0x00]), Item::Float(-4.0));
        assert_eq!(ok(&[0xf9, 0x00, 0x01]), Item::Float(2f64.powi(-24)));
        assert_eq!(ok(&[0xf9, 0x7c, 0x00]), Item::Float(f64::INFINITY));
        assert!(matches!(ok(&[0xf9, 0x7e, 0x00]), Item::Float(f) if f.is_nan()));
        assert_eq!(ok(&[0xfa, 0x47, 0xc3, 0x50, 0x00]), Item::Float(100000.0));
    }

    #[test]
    fn duplicate_keys_by_value_at_any_depth() {
        assert_eq!(
            err(&[0xa2, 0x01, 0x00, 0x18, 0x01, 0x00]),
            CborError::DuplicateKey("1".into())
        );
        assert_eq!(
            err(&[0x81, 0xa2, 0x61, 0x61, 0x00, 0x61, 0x61, 0x00]),
            CborError::DuplicateKey("\"a\"".into())
        );
        // An int and a text "1" differ; so do 1 and 1.0.
        ok(&[0xa3, 0x01, 0x00, 0x61, 0x31, 0x00, 0xf9, 0x3c, 0x00, 0x00]);
        // +0.0 and -0.0 are the same key.
        assert!(matches!(
            err(&[0xa2, 0xf9, 0x00, 0x00, 0x00, 0xf9, 0x80, 0x00, 0x00]),
            CborError::DuplicateKey(_)
        ));
        assert_eq!(err(&[0xa1, 0x80, 0x00]), CborError::UnsupportedKey("array"));
    }

    #[test]
    fn tags_only_where_allowed() {
        assert_eq!(
            err(&[0xc1, 0x01]),
            CborError::TagNotAllowed { tag: 1, offset: 0 }
        );
        let map = [0xa1, 0x01, 0xc1, 0x01];
        assert_eq!(
            decode(&map, Tags::TopLevelMapValues).unwrap(),
            Item::Map(vec![(Item::Int(1), Item::Tag(1, Box::new(Item::Int(1))))])
        );
        assert!(decode(&map, Tags::Forbidden).is_err());
        // Not as a key, not nested, not at the top, not inside a nested map.
        for bytes in [
            &[0xa1, 0xc1, 0x01, 0x01][..],
            &[0xa1, 0x01, 0xc1, 0xc1, 0x01][..],
            &[0xc1, 0xa0][..],
            &[0xa1, 0x01, 0xa1, 0x01, 0xc1, 0x01][..],
            &[0xa1, 0x01, 0x81, 0xc1, 0x01][..],
        ] {
            assert!(
                matches!(
                    decode(bytes, Tags::TopLevelMapValues),
                    Err(CborError::TagNotAllowed { .. })
                ),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn depth_and_item_budgets() {
        let mut deep = vec![0x81; MAX_CBOR_DEPTH - 1];
        deep.push(0x80);
        ok(&deep);
        let mut deeper = vec![0x81; MAX_CBOR_DEPTH];
        deeper.push(0x80);
        assert_eq!(err(&deeper), CborError::TooDeep);
        // Far deeper than the budget: refused without recursing that deep.
        let abyss = vec![0x81; 1_000_000];
        assert_eq!(err(&abyss), CborError::TooDeep);

        let mut many = Vec::new();
        push_head(&mut many, 4, MAX_CBOR_ITEMS as u64);
        many.extend(std::iter::repeat_n(0x00, MAX_CBOR_ITEMS));
        assert_eq!(err(&many), CborError::TooManyItems);
        let mut enough = Vec::new();
        push_head(&mut enough, 4, MAX_CBOR_ITEMS as u64 - 1);
        enough.extend(std::iter::repeat_n(0x00, MAX_CBOR_ITEMS - 1));
        ok(&enough);
    }

    #[test]
    fn shortest_heads() {
        for (v, want) in [
            (0u64, vec![0x40]),
            (23, vec![0x57]),
            (24, vec![0x58, 24]),
            (255, vec![0x58, 0xff]),
            (256, vec![0x59, 0x01, 0x00]),
            (65536, vec![0x5a, 0, 1, 0, 0]),
            (1 << 32, vec![0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            push_head(&mut out, 2, v);
            assert_eq!(out, want, "{v}");
        }
    }
}
