//! COSE_Sign1 envelopes (NOTARY-VERIFY §4).

use super::{EnvelopeError, ParsedEnvelope};
use crate::verify::limits::Limits;

pub(crate) fn parse(_bytes: &[u8], _limits: &Limits) -> Result<ParsedEnvelope, EnvelopeError> {
    Err(EnvelopeError::Malformed {
        format: "COSE",
        reason: "COSE support is being written".into(),
    })
}
