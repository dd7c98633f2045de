//! TEMPORARY compile stand-in until the timestamp branch merges.
#![allow(missing_docs)]
use super::time::Timestamp;
use super::x509::Certificate;
pub struct VerifiedTimestamp {
    chain: Vec<Certificate>,
    t: Timestamp,
}
impl VerifiedTimestamp {
    pub fn gen_time(&self) -> Timestamp {
        self.t
    }
    pub fn earliest(&self) -> Timestamp {
        self.t
    }
    pub fn latest(&self) -> Timestamp {
        self.t
    }
    pub fn tsa_chain(&self) -> &[Certificate] {
        &self.chain
    }
}
#[derive(Debug, thiserror::Error)]
#[error("timestamp verification not merged")]
pub struct TimestampError;
pub fn verify_timestamp(
    _t: &[u8],
    _s: &[u8],
    _r: &[&Certificate],
    _m: usize,
) -> Result<VerifiedTimestamp, TimestampError> {
    Err(TimestampError)
}
