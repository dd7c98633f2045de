//! COSE_Sign1 envelopes, `application/cose` (NOTARY-VERIFY §4).
//!
//! The bytes are read with the strict CBOR reader in [`super::cbor`], which applies go-cose's
//! decoding rules (no indefinite lengths, no duplicate map keys, no unexpected tags) to the
//! received bytes. This module then applies the COSE and Notary header rules and fills a
//! [`ParsedEnvelope`]; the cross-format rules (alg bound to the leaf key, the signature, crit,
//! scheme and time rules, content type, chain) are applied by `verify_parsed`.
//!
//! Where notaryd is stricter than go-cose + notation-core-go (each a deliberate choice):
//! - a tag in the protected header is accepted only as the value of the three time headers
//!   (go-cose accepts any tag anywhere in the protected header, e.g. on extended attributes);
//! - a tag-1 time must be finite (fxamacker/cbor turns NaN/±Inf into Go's zero time, which
//!   notation then reports as a missing time);
//! - x5chain (label 33) in the protected header is refused (notation ignores it there and reads
//!   only the unprotected array);
//! - `io.cncf.notary.timestampSignature` that is not a bstr is refused (notation ignores it);
//! - the payload must be a bstr (fxamacker/cbor would also decode an array of small integers);
//! - at most [`MAX_CBOR_ITEMS`](crate::limits::MAX_CBOR_ITEMS) data items per CBOR
//!   document.
//!
//! Where notaryd is as lenient as go-cose: non-minimal integer and length encodings are
//! accepted (except in the fixed `0xD2 0x84` prefix), a label may appear in both buckets (other
//! than x5chain and IV/Partial IV), and a countersignature (labels 7 and 11) in the unprotected
//! header is checked for its shape only and otherwise ignored.

use super::cbor::{self, Item, Tags};
use super::{EnvelopeError, EnvelopeType, ParsedEnvelope, check_chain_len, header};
use crate::crypto::SignatureAlgorithm;
use crate::limits::{Limits, MAX_CRIT_ENTRIES};
use crate::time::Timestamp;

/// CBOR tag 18 (COSE_Sign1), in its one-byte encoding.
const TAG_SIGN1: u8 = 0xd2;
/// A definite array of four items.
const ARRAY_OF_4: u8 = 0x84;

/// Label of the algorithm header.
const LABEL_ALG: i64 = 1;
/// Label of the critical-headers list.
const LABEL_CRIT: i64 = 2;
/// Label of the content type.
const LABEL_CONTENT_TYPE: i64 = 3;
/// Label of the x5chain header (RFC 9360).
const LABEL_X5CHAIN: i64 = 33;

/// Names used in errors for the integer labels notaryd reads.
const ALG: &str = "alg (1)";
const CRIT: &str = "crit (2)";
const CONTENT_TYPE: &str = "content type (3)";
const X5CHAIN: &str = "x5chain (33)";

/// The context string of a COSE_Sign1 Sig_structure (RFC 9052 §4.4).
const SIGNATURE1: &str = "Signature1";

use super::invalid_header as invalid;

fn malformed(reason: impl Into<String>) -> EnvelopeError {
    super::malformed("COSE", reason)
}

/// A header label: RFC 9052 allows only int and tstr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label<'a> {
    Int(i64),
    Text(&'a str),
}

impl Label<'_> {
    /// The label as `ParsedEnvelope` names it: integers in decimal, text as is.
    fn name(self) -> String {
        match self {
            Self::Int(i) => i.to_string(),
            Self::Text(s) => s.to_owned(),
        }
    }

    /// The label for an error message, at most 200 characters.
    fn display(self) -> String {
        match self {
            Self::Int(LABEL_ALG) => ALG.to_owned(),
            Self::Int(LABEL_CRIT) => CRIT.to_owned(),
            Self::Int(LABEL_CONTENT_TYPE) => CONTENT_TYPE.to_owned(),
            Self::Int(LABEL_X5CHAIN) => X5CHAIN.to_owned(),
            Self::Int(i) => i.to_string(),
            Self::Text(s) => s.chars().take(200).collect(),
        }
    }
}

/// One header bucket with its labels checked. Duplicates were already refused by the reader.
struct Bucket<'i, 'a> {
    entries: Vec<(Label<'a>, &'i Item<'a>)>,
}

impl<'i, 'a> Bucket<'i, 'a> {
    fn new(pairs: &'i [(Item<'a>, Item<'a>)], which: &str) -> Result<Self, EnvelopeError> {
        let entries = pairs
            .iter()
            .map(|(key, value)| match key {
                Item::Int(i) => Ok((Label::Int(*i), value)),
                Item::Text(s) => Ok((Label::Text(s), value)),
                other => Err(malformed(format!(
                    "{which} header has a label of type {}; labels must be int or tstr",
                    other.kind()
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    fn get(&self, label: Label<'_>) -> Option<&'i Item<'a>> {
        self.entries
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| *v)
    }

    fn has(&self, label: i64) -> bool {
        self.get(Label::Int(label)).is_some()
    }
}

pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedEnvelope, EnvelopeError> {
    // go-cose checks the two-byte prefix before decoding: tag 18 in its one-byte form, then a
    // definite array of four. An untagged COSE_Sign1 (0x84 ...) is refused here.
    match bytes {
        [TAG_SIGN1, ARRAY_OF_4, ..] => {}
        [TAG_SIGN1, ..] => {
            return Err(malformed(
                "tag 18 must enclose a definite-length array of four items (COSE_Sign1)",
            ));
        }
        [ARRAY_OF_4, ..] => {
            return Err(malformed(
                "untagged COSE_Sign1: a COSE_Sign1_Tagged (tag 18) is required",
            ));
        }
        _ => {
            return Err(malformed(
                "not a COSE_Sign1_Tagged object: it must start with tag 18 (0xD2)",
            ));
        }
    }
    // The body after the tag: no tags anywhere in it (go-cose's TagsForbidden mode).
    let body = cbor::decode(&bytes[1..], Tags::Forbidden)
        .map_err(|e| malformed(format!("COSE_Sign1: {e}")))?;
    let Item::Array(fields) = &body else {
        return Err(malformed("COSE_Sign1 is not an array"));
    };
    let [protected, unprotected, payload, signature] = fields.as_slice() else {
        return Err(malformed("COSE_Sign1 must have four items"));
    };

    let protected_bytes: &[u8] = match protected {
        Item::Bytes(b) => b,
        Item::Null => return Err(malformed("protected header is nil")),
        other => {
            return Err(malformed(format!(
                "protected header must be a bstr, found {}",
                other.kind()
            )));
        }
    };
    let Item::Map(unprotected_pairs) = unprotected else {
        return Err(malformed(format!(
            "unprotected header must be a map, found {}",
            unprotected.kind()
        )));
    };
    let payload: &[u8] = match payload {
        Item::Bytes(b) => b,
        Item::Null => {
            return Err(malformed(
                "payload is nil; detached payloads are not supported",
            ));
        }
        other => {
            return Err(malformed(format!(
                "payload must be a bstr, found {}",
                other.kind()
            )));
        }
    };
    let signature: &[u8] = match signature {
        Item::Bytes([]) => return Err(malformed("signature is empty")),
        Item::Bytes(b) => b,
        other => {
            return Err(malformed(format!(
                "signature must be a bstr, found {}",
                other.kind()
            )));
        }
    };

    // empty_or_serialized_map: a zero-length bstr is an empty header (which then lacks alg).
    let protected_item = if protected_bytes.is_empty() {
        Item::Map(Vec::new())
    } else {
        cbor::decode(protected_bytes, Tags::TopLevelMapValues)
            .map_err(|e| malformed(format!("protected header: {e}")))?
    };
    let Item::Map(protected_pairs) = &protected_item else {
        return Err(malformed(format!(
            "protected header must encode a map, found {}",
            protected_item.kind()
        )));
    };
    let protected = Bucket::new(protected_pairs, "protected")?;
    let unprotected = Bucket::new(unprotected_pairs, "unprotected")?;
    check_common_parameters(&protected, &unprotected)?;

    // Tags: only tag 1, and only on the three time headers (checked by `time_header`).
    for (label, value) in &protected.entries {
        if let Item::Tag(tag, _) = value
            && !is_time_header(*label)
        {
            return Err(invalid(
                &label.display(),
                format!("unexpected CBOR tag {tag}; only the time headers carry a tag (1)"),
            ));
        }
    }

    let algorithm = match protected.get(Label::Int(LABEL_ALG)) {
        None => return Err(EnvelopeError::MissingHeader(ALG)),
        Some(Item::Int(id)) => SignatureAlgorithm::from_cose_id(*id)
            .ok_or_else(|| EnvelopeError::UnsupportedAlgorithm(id.to_string()))?,
        // go-cose decodes a text alg, notation then refuses it: no Notary algorithm has a name.
        Some(Item::Text(name)) => {
            return Err(EnvelopeError::UnsupportedAlgorithm(
                name.chars().take(50).collect(),
            ));
        }
        Some(other) => {
            return Err(invalid(
                ALG,
                format!("must be an int, found {}", other.kind()),
            ));
        }
    };
    let critical = critical_labels(&protected)?;
    let content_type = match protected.get(Label::Int(LABEL_CONTENT_TYPE)) {
        None => return Err(EnvelopeError::MissingHeader(CONTENT_TYPE)),
        Some(Item::Text(s)) => (*s).to_owned(),
        Some(Item::Int(format)) => {
            return Err(invalid(
                CONTENT_TYPE,
                format!(
                    "integer content format {format} is not supported; the Notary payload type is a tstr"
                ),
            ));
        }
        Some(other) => {
            return Err(invalid(
                CONTENT_TYPE,
                format!("must be a tstr, found {}", other.kind()),
            ));
        }
    };
    if protected.has(LABEL_X5CHAIN) {
        return Err(invalid(
            X5CHAIN,
            "must be in the unprotected header only (notation reads it only there)",
        ));
    }
    let signing_scheme = match protected.get(Label::Text(header::SIGNING_SCHEME)) {
        None => None,
        Some(Item::Text(s)) => Some((*s).to_owned()),
        Some(other) => {
            return Err(invalid(
                header::SIGNING_SCHEME,
                format!("must be a tstr, found {}", other.kind()),
            ));
        }
    };
    let signing_time = time_header(&protected, header::SIGNING_TIME)?;
    let authentic_signing_time = time_header(&protected, header::AUTHENTIC_SIGNING_TIME)?;
    let expiry = time_header(&protected, header::EXPIRY)?;
    let verification_plugin = protected
        .get(Label::Text(header::VERIFICATION_PLUGIN))
        .map(|v| match v {
            Item::Text(s) => (*s).to_owned(),
            other => format!("<{}>", other.kind()),
        });

    let certificate_chain = match unprotected.get(Label::Int(LABEL_X5CHAIN)) {
        // Absent or empty: `verify_parsed` reports the missing chain.
        None => Vec::new(),
        Some(Item::Array(certs)) => {
            check_chain_len(certs.len(), limits)?;
            certs
                .iter()
                .enumerate()
                .map(|(i, c)| match c {
                    Item::Bytes(der) => Ok(der.to_vec()),
                    other => Err(invalid(
                        X5CHAIN,
                        format!("entry {i} must be a bstr, found {}", other.kind()),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(Item::Bytes(_)) => {
            return Err(invalid(
                X5CHAIN,
                "a single bstr certificate is not accepted; x5chain must be an array of bstr",
            ));
        }
        Some(other) => {
            return Err(invalid(
                X5CHAIN,
                format!("must be an array of bstr, found {}", other.kind()),
            ));
        }
    };
    let timestamp_token = match unprotected.get(Label::Text(header::TIMESTAMP_SIGNATURE)) {
        None => None,
        Some(Item::Bytes(token)) => Some(token.to_vec()),
        Some(other) => {
            return Err(invalid(
                header::TIMESTAMP_SIGNATURE,
                format!("must be a bstr, found {}", other.kind()),
            ));
        }
    };
    // Informational only: never validated, never a reason to fail.
    let signing_agent = match unprotected.get(Label::Text(header::SIGNING_AGENT)) {
        Some(Item::Text(s)) => Some(s.chars().take(200).collect()),
        _ => None,
    };

    Ok(ParsedEnvelope {
        envelope_type: EnvelopeType::Cose,
        algorithm,
        content_type,
        critical,
        protected_names: protected.entries.iter().map(|(l, _)| l.name()).collect(),
        signing_scheme,
        signing_time,
        authentic_signing_time,
        expiry,
        verification_plugin,
        certificate_chain,
        timestamp_token,
        signing_agent,
        signed_bytes: sig_structure(protected_bytes, payload),
        signature: signature.to_vec(),
        payload: payload.to_vec(),
    })
}

/// `["Signature1", body_protected, external_aad = h'', payload]` in CBOR (RFC 9052 §4.4).
/// `body_protected` is the received protected bstr content byte for byte; only the heads are
/// written here, in their shortest form, as go-cose (`deterministicBinaryString`) and coset do.
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 32);
    cbor::push_head(&mut out, 4, 4);
    cbor::push_text(&mut out, SIGNATURE1);
    cbor::push_bytes(&mut out, protected);
    cbor::push_bytes(&mut out, &[]);
    cbor::push_bytes(&mut out, payload);
    out
}

/// The `crit` list as names. Every entry must be an int or tstr label present in the protected
/// header (go-cose `ensureCritical`, comparing the label's type as well as its value).
fn critical_labels(protected: &Bucket<'_, '_>) -> Result<Vec<String>, EnvelopeError> {
    let entries = match protected.get(Label::Int(LABEL_CRIT)) {
        None => return Err(EnvelopeError::MissingHeader(CRIT)),
        Some(Item::Array(entries)) => entries,
        Some(other) => {
            return Err(invalid(
                CRIT,
                format!("must be an array, found {}", other.kind()),
            ));
        }
    };
    if entries.is_empty() {
        return Err(invalid(CRIT, "empty"));
    }
    if entries.len() > MAX_CRIT_ENTRIES {
        return Err(invalid(
            CRIT,
            format!("more than {MAX_CRIT_ENTRIES} entries"),
        ));
    }
    entries
        .iter()
        .map(|entry| {
            let label = match entry {
                Item::Int(i) => Label::Int(*i),
                Item::Text(s) => Label::Text(s),
                other => {
                    return Err(invalid(
                        CRIT,
                        format!("an entry is a {}; labels must be int or tstr", other.kind()),
                    ));
                }
            };
            if protected.get(label).is_none() {
                return Err(EnvelopeError::CriticalHeaderNotPresent(
                    label.name().chars().take(200).collect(),
                ));
            }
            Ok(label.name())
        })
        .collect()
}

fn is_time_header(label: Label<'_>) -> bool {
    matches!(
        label,
        Label::Text(header::SIGNING_TIME | header::AUTHENTIC_SIGNING_TIME | header::EXPIRY)
    )
}

/// A time header: CBOR tag 1 (epoch-based date/time, RFC 8949 §3.4.2) around an integer or a
/// float number of seconds. notation-core-go requires tag 1 and decodes with fxamacker/cbor,
/// which takes both forms; a float keeps its fraction (truncated to nanoseconds, as Go's
/// `math.Modf` split does).
fn time_header(
    protected: &Bucket<'_, '_>,
    name: &'static str,
) -> Result<Option<Timestamp>, EnvelopeError> {
    let Some(item) = protected.get(Label::Text(name)) else {
        return Ok(None);
    };
    let seconds = match item {
        Item::Tag(1, inner) => inner,
        Item::Tag(tag, _) => {
            return Err(invalid(
                name,
                format!("only Tag 1 Datetime is supported, found tag {tag}"),
            ));
        }
        other => {
            return Err(invalid(
                name,
                format!(
                    "only Tag 1 Datetime is supported, found an untagged {}",
                    other.kind()
                ),
            ));
        }
    };
    match **seconds {
        Item::Int(secs) => Ok(Some(Timestamp::from_unix_seconds(secs))),
        // The bound keeps the seconds inside i64, as Go's time.Unix needs.
        Item::Float(f) if f.is_finite() && f.abs() < 9.2e18 => {
            let whole = f.trunc();
            let nanos = (whole as i128) * 1_000_000_000 + ((f - whole) * 1e9) as i128;
            Ok(Some(Timestamp::from_unix_nanos(nanos)))
        }
        Item::Float(f) => Err(invalid(name, format!("tag 1 encloses {f}, not a time"))),
        ref other => Err(invalid(
            name,
            format!(
                "tag 1 must enclose an integer or a float, found {}",
                other.kind()
            ),
        )),
    }
}

/// The generic header rules go-cose applies while decoding (RFC 9052 §3.1,
/// `validateHeaderParameters`): crit only in the protected header; the types of alg, content
/// type, kid, IV, Partial IV and typ; IV and Partial IV never together; countersignatures only
/// in the unprotected header.
fn check_common_parameters(
    protected: &Bucket<'_, '_>,
    unprotected: &Bucket<'_, '_>,
) -> Result<(), EnvelopeError> {
    const IV: i64 = 5;
    const PARTIAL_IV: i64 = 6;
    if unprotected.has(LABEL_CRIT) {
        return Err(invalid(CRIT, "not allowed in the unprotected header"));
    }
    for (bucket, is_protected) in [(protected, true), (unprotected, false)] {
        for (label, value) in &bucket.entries {
            let Label::Int(l) = *label else { continue };
            let is_uint = matches!(value, Item::Int(i) if *i >= 0);
            let problem = match l {
                LABEL_ALG if !matches!(value, Item::Int(_) | Item::Text(_)) => {
                    "must be an int or a tstr"
                }
                // Content type (3) and typ (16).
                3 | 16 if !is_uint && !matches!(value, Item::Text(_)) => "must be a tstr or a uint",
                // kid, IV, Partial IV.
                4..=6 if !matches!(value, Item::Bytes(_)) => "must be a bstr",
                // Countersignatures (RFC 8152 and RFC 9338).
                7 | 9 | 11 | 12 if is_protected => "not allowed in the protected header",
                9 | 12 if !matches!(value, Item::Bytes(_)) => "must be a bstr",
                7 | 11 if !is_countersignature(value) => "must be a COSE countersignature",
                _ => continue,
            };
            let bucket_name = if is_protected {
                "protected"
            } else {
                "unprotected"
            };
            return Err(invalid(
                &label.display(),
                format!("{problem} ({bucket_name} header)"),
            ));
        }
        if bucket.has(IV) && bucket.has(PARTIAL_IV) {
            return Err(invalid("5", "IV and Partial IV must not both be present"));
        }
    }
    if (protected.has(IV) && unprotected.has(PARTIAL_IV))
        || (protected.has(PARTIAL_IV) && unprotected.has(IV))
    {
        return Err(invalid("5", "IV and Partial IV must not both be present"));
    }
    Ok(())
}

/// The shape of a COSE_Countersignature, `[protected bstr, unprotected map, signature bstr]`,
/// or a non-empty array of them. Its contents are not used.
fn is_countersignature(item: &Item<'_>) -> bool {
    fn one(item: &Item<'_>) -> bool {
        matches!(item, Item::Array(a)
            if matches!(a.as_slice(), [Item::Bytes(_), Item::Map(_), Item::Bytes(_)]))
    }
    match item {
        Item::Array(a) if !a.is_empty() && a.iter().all(one) => true,
        other => one(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sig_structure_uses_shortest_heads_around_received_bytes() {
        // A protected map written with a non-minimal integer: its bytes are kept as they are.
        let protected = [0xa1, 0x18, 0x01, 0x26];
        let s = sig_structure(&protected, b"x");
        assert_eq!(
            s,
            [
                &[0x84, 0x6a][..],
                b"Signature1",
                &[0x44],
                &protected,
                &[0x40, 0x41, b'x']
            ]
            .concat()
        );
    }

    #[test]
    fn float_and_negative_times() {
        let mut map = vec![0xa1];
        cbor::push_text(&mut map, header::SIGNING_TIME);
        // 1(1.5) as a half float, then 1(-1.5).
        let mut a = map.clone();
        a.extend([0xc1, 0xf9, 0x3e, 0x00]);
        let mut b = map.clone();
        b.extend([0xc1, 0xf9, 0xbe, 0x00]);
        for (bytes, nanos) in [(a, 1_500_000_000i128), (b, -1_500_000_000)] {
            let Item::Map(pairs) = cbor::decode(&bytes, Tags::TopLevelMapValues).unwrap() else {
                panic!("not a map")
            };
            let bucket = Bucket::new(&pairs, "protected").unwrap();
            assert_eq!(
                time_header(&bucket, header::SIGNING_TIME).unwrap(),
                Some(Timestamp::from_unix_nanos(nanos))
            );
        }
    }
}
