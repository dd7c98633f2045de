//! JWS JSON serialization, flattened form only (NOTARY-VERIFY §3).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::{EnvelopeError, EnvelopeType, ParsedEnvelope, check_chain_len, header};
use crate::crypto::SignatureAlgorithm;
use crate::json::value_strict;
use crate::limits::{Limits, MAX_CRIT_ENTRIES};
use crate::time::Timestamp;

use super::invalid_header as invalid;

fn malformed(reason: impl Into<String>) -> EnvelopeError {
    super::malformed("JWS", reason)
}

/// Decodes base64url without padding, refusing padding and non-canonical trailing bits, so
/// that exactly one string encodes each value.
fn b64url(field: &'static str, text: &str) -> Result<Vec<u8>, EnvelopeError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| malformed(format!("{field} is not base64url without padding: {e}")))
}

fn string_member<'a>(
    obj: &'a Map<String, Value>,
    key: &'static str,
) -> Result<&'a str, EnvelopeError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(format!("{key} is not a string"))),
        None => Err(malformed(format!("{key} is missing"))),
    }
}

pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedEnvelope, EnvelopeError> {
    let Value::Object(top) = value_strict(bytes).map_err(|e| malformed(e.to_string()))? else {
        return Err(malformed("not a JSON object"));
    };
    if top.contains_key("signatures") {
        return Err(malformed(
            "general JWS serialization (signatures) is not supported",
        ));
    }
    let protected_b64 = string_member(&top, "protected")?;
    let payload_b64 = string_member(&top, "payload")?;
    let signature_b64 = string_member(&top, "signature")?;

    let protected_bytes = b64url("protected", protected_b64)?;
    let payload = b64url("payload", payload_b64)?;
    let signature = b64url("signature", signature_b64)?;
    if signature.is_empty() {
        return Err(malformed("signature is empty"));
    }

    let Value::Object(protected) =
        value_strict(&protected_bytes).map_err(|e| malformed(format!("protected header: {e}")))?
    else {
        return Err(malformed("protected header is not a JSON object"));
    };

    let alg_text = match protected.get("alg") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(invalid("alg", "not a string")),
        None => return Err(EnvelopeError::MissingHeader("alg")),
    };
    let algorithm = SignatureAlgorithm::from_jws_name(alg_text)
        .ok_or_else(|| EnvelopeError::UnsupportedAlgorithm(alg_text.chars().take(50).collect()))?;
    let content_type = match protected.get("cty") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("cty", "not a string")),
        None => return Err(EnvelopeError::MissingHeader("cty")),
    };
    let critical = match protected.get("crit") {
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(invalid("crit", "empty"));
            }
            if items.len() > MAX_CRIT_ENTRIES {
                return Err(invalid(
                    "crit",
                    format!("more than {MAX_CRIT_ENTRIES} entries"),
                ));
            }
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid("crit", "an entry is not a string")),
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(_) => return Err(invalid("crit", "not an array")),
        None => return Err(EnvelopeError::MissingHeader("crit")),
    };
    let opt_string = |key: &str| -> Result<Option<String>, EnvelopeError> {
        match protected.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(key, "not a string")),
        }
    };
    let opt_time = |key: &str| -> Result<Option<Timestamp>, EnvelopeError> {
        match opt_string(key)? {
            None => Ok(None),
            Some(s) => Timestamp::parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| invalid(key, format!("{s:?} is not an RFC 3339 time"))),
        }
    };
    let signing_scheme = opt_string(header::SIGNING_SCHEME)?;
    let signing_time = opt_time(header::SIGNING_TIME)?;
    let authentic_signing_time = opt_time(header::AUTHENTIC_SIGNING_TIME)?;
    let expiry = opt_time(header::EXPIRY)?;
    let verification_plugin = match protected.get(header::VERIFICATION_PLUGIN) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };

    let unprotected = match top.get("header") {
        Some(Value::Object(h)) => h,
        Some(_) => return Err(malformed("header is not a JSON object")),
        None => return Err(EnvelopeError::MissingCertificateChain),
    };
    let certificate_chain = match unprotected.get("x5c") {
        Some(Value::Array(items)) => {
            check_chain_len(items.len(), limits)?;
            items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => STANDARD.decode(s).map_err(|e| {
                        invalid("x5c", format!("entry {i} is not standard base64: {e}"))
                    }),
                    _ => Err(invalid("x5c", format!("entry {i} is not a string"))),
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(_) => return Err(invalid("x5c", "not an array")),
        None => Vec::new(),
    };
    let timestamp_token = match unprotected.get(header::TIMESTAMP_SIGNATURE) {
        None => None,
        Some(Value::String(s)) => Some(STANDARD.decode(s).map_err(|e| {
            invalid(
                header::TIMESTAMP_SIGNATURE,
                format!("not standard base64: {e}"),
            )
        })?),
        Some(_) => return Err(invalid(header::TIMESTAMP_SIGNATURE, "not a string")),
    };
    // Informational only: never validated, never a reason to fail (older signers also spell it
    // with a capital S, which is simply ignored).
    let signing_agent = match unprotected.get(header::SIGNING_AGENT) {
        Some(Value::String(s)) => Some(s.chars().take(200).collect()),
        _ => None,
    };

    // The signing input is the received text, byte for byte.
    let mut signed_bytes = Vec::with_capacity(protected_b64.len() + 1 + payload_b64.len());
    signed_bytes.extend_from_slice(protected_b64.as_bytes());
    signed_bytes.push(b'.');
    signed_bytes.extend_from_slice(payload_b64.as_bytes());

    Ok(ParsedEnvelope {
        envelope_type: EnvelopeType::Jws,
        algorithm,
        content_type,
        critical,
        protected_names: protected.keys().cloned().collect(),
        signing_scheme,
        signing_time,
        authentic_signing_time,
        expiry,
        verification_plugin,
        certificate_chain,
        timestamp_token,
        signing_agent,
        signed_bytes,
        signature,
        payload,
    })
}
