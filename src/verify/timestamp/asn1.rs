//! The ASN.1 shapes of an RFC 3161 token, read from DER (the output of [`super::ber`]).
//!
//! The CMS layers (ContentInfo, SignedData, SignerInfo) are walked with a small TLV reader so
//! that every slice the checks need is the exact received encoding: the eContent octets, the
//! signed attributes, each certificate. The `cms` crate is not used for them because its
//! `SetOfVec` re-sorts `SET OF` on decode (losing the signerInfo order and the received
//! signed-attribute bytes) and its `CertificateChoices` would re-encode certificates.
//! The small leaf structures (TSTInfo, ESSCertIDv2, …) use `der` derive.

use der::asn1::{AnyRef, IntRef, ObjectIdentifier, OctetString};
use der::{Decode, DecodeValue, FixedTag, Header, Reader, Sequence, Tag};
use spki::AlgorithmIdentifierRef;

/// Universal and context-specific identifier octets used by the CMS layers.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[0]` constructed.
    pub(crate) const CTX0: u8 = 0xa0;
    /// `[1]` constructed.
    pub(crate) const CTX1: u8 = 0xa1;
    /// `[4]` constructed (GeneralName directoryName).
    pub(crate) const CTX4: u8 = 0xa4;
}

/// One DER element: its first identifier octet, its contents and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// First identifier octet. High-tag-number identifiers keep their first octet (`…1f`),
    /// which never equals any of the [`tag`] constants.
    pub(crate) tag: u8,
    /// Contents octets.
    pub(crate) value: &'a [u8],
    /// Identifier, length and contents, as received.
    pub(crate) raw: &'a [u8],
}

/// Splits the first element off `input`. Only definite lengths are accepted (the input is
/// the converter's output).
pub(crate) fn split_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), &'static str> {
    let first = *input.first().ok_or("truncated: element expected")?;
    let mut i = 1;
    if first & 0x1f == 0x1f {
        while input.get(i).ok_or("truncated identifier")? & 0x80 != 0 {
            i += 1;
        }
        i += 1;
    }
    let l = *input.get(i).ok_or("truncated: length expected")?;
    i += 1;
    let len = match l {
        0x00..=0x7f => usize::from(l),
        0x81..=0x84 => {
            let n = usize::from(l & 0x7f);
            let bytes = input.get(i..i + n).ok_or("truncated length")?;
            i += n;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
        _ => return Err("unsupported length encoding"),
    };
    let end = i.checked_add(len).ok_or("length overflow")?;
    let value = input.get(i..end).ok_or("length runs past the end")?;
    Ok((
        Tlv {
            tag: first,
            value,
            raw: &input[..end],
        },
        &input[end..],
    ))
}

/// Reads the members of a SEQUENCE or SET in order.
pub(crate) struct Members<'a> {
    rest: &'a [u8],
}

impl<'a> Members<'a> {
    pub(crate) fn new(contents: &'a [u8]) -> Self {
        Self { rest: contents }
    }

    /// The identifier octet of the next member, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next member, whatever it is.
    pub(crate) fn next_any(&mut self) -> Result<Option<Tlv<'a>>, &'static str> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (tlv, rest) = split_tlv(self.rest)?;
        self.rest = rest;
        Ok(Some(tlv))
    }

    /// The next member, which must carry `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, &'static str> {
        match self.next_any()? {
            Some(tlv) if tlv.tag == tag => Ok(tlv),
            Some(_) => Err("unexpected element"),
            None => Err("missing element"),
        }
    }

    /// The next member if it carries `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, &'static str> {
        if self.peek_tag() == Some(tag) {
            self.next_any()
        } else {
            Ok(None)
        }
    }

    /// Fails if members are left over.
    pub(crate) fn finish(&self) -> Result<(), &'static str> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err("unexpected trailing element")
        }
    }
}

/// Reads a small INTEGER (a version number) from its contents octets. DER minimality is
/// required, as Go's `encoding/asn1` requires it.
pub(crate) fn small_int(value: &[u8]) -> Result<i64, &'static str> {
    match value {
        [] => Err("empty INTEGER"),
        [0x00, b, ..] if b & 0x80 == 0 => Err("INTEGER not minimally encoded"),
        [0xff, b, ..] if b & 0x80 != 0 => Err("INTEGER not minimally encoded"),
        _ if value.len() > 8 => Err("INTEGER too large"),
        _ => {
            let init = if value[0] & 0x80 != 0 { -1i64 } else { 0 };
            Ok(value.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
        }
    }
}

/// Reads an OBJECT IDENTIFIER from its contents octets.
pub(crate) fn oid(value: &[u8]) -> Result<ObjectIdentifier, &'static str> {
    ObjectIdentifier::from_bytes(value).map_err(|_| "malformed OBJECT IDENTIFIER")
}

/// Names an OID for messages, with the familiar name of the ones that come up here.
pub(crate) fn oid_name(o: &ObjectIdentifier) -> String {
    use crate::oid as ids;
    let name = match *o {
        ids::SHA1 => "SHA-1",
        ids::SHA256 => "SHA-256",
        ids::SHA384 => "SHA-384",
        ids::SHA512 => "SHA-512",
        ids::SHA1_WITH_RSA => "sha1WithRSAEncryption",
        ids::DATA => "id-data",
        ids::SIGNED_DATA => "signedData",
        ids::CT_TST_INFO => "id-ct-TSTInfo",
        ids::AA_CONTENT_TYPE => "contentType",
        ids::AA_MESSAGE_DIGEST => "messageDigest",
        ids::AA_SIGNING_TIME => "signingTime",
        ids::AA_SIGNING_CERTIFICATE => "signingCertificate",
        ids::AA_SIGNING_CERTIFICATE_V2 => "signingCertificateV2",
        _ => return o.to_string(),
    };
    format!("{name} ({o})")
}

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`
#[derive(Sequence)]
pub(crate) struct MessageImprint<'a> {
    pub(crate) hash_algorithm: AlgorithmIdentifierRef<'a>,
    pub(crate) hashed_message: OctetString,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
/// micros [1] INTEGER (1..999) OPTIONAL }` (RFC 3161 §2.4.2; the module is IMPLICIT TAGS).
#[derive(Sequence)]
pub(crate) struct Accuracy {
    #[asn1(optional = "true")]
    pub(crate) seconds: Option<i64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) millis: Option<i64>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) micros: Option<i64>,
}

/// `TSTInfo` (RFC 3161 §2.4.2).
///
/// `ordering BOOLEAN DEFAULT FALSE` is read as an optional BOOLEAN so that an explicitly
/// encoded FALSE, which some TSAs write and Go accepts, does not fail the DER default rule.
/// `genTime` is read raw and parsed by [`crate::der_time::generalized_time`] with
/// [`crate::der_time::Fraction::Allowed`], as RFC 3161 allows fractional seconds. `tsa` is `[0]` EXPLICIT because GeneralName is a CHOICE.
#[derive(Sequence)]
pub(crate) struct TstInfo<'a> {
    pub(crate) version: i64,
    pub(crate) policy: ObjectIdentifier,
    pub(crate) message_imprint: MessageImprint<'a>,
    pub(crate) serial_number: IntRef<'a>,
    pub(crate) gen_time: AnyRef<'a>,
    #[asn1(optional = "true")]
    pub(crate) accuracy: Option<Accuracy>,
    #[asn1(optional = "true")]
    pub(crate) ordering: Option<bool>,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<IntRef<'a>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) tsa: Option<AnyRef<'a>>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        optional = "true",
        constructed = "true"
    )]
    pub(crate) extensions: Option<SkippedSequence<'a>>,
}

/// A SEQUENCE whose contents are not used (TSTInfo extensions): kept as a slice so that its
/// member count cannot drive allocation.
pub(crate) struct SkippedSequence<'a>(#[allow(dead_code)] pub(crate) &'a [u8]);

impl<'a> DecodeValue<'a> for SkippedSequence<'a> {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        Ok(Self(reader.read_slice(header.length())?))
    }
}

// `derive(Sequence)` also derives encoding, which needs this.
impl der::EncodeValue for SkippedSequence<'_> {
    fn value_len(&self) -> der::Result<der::Length> {
        der::Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

impl FixedTag for SkippedSequence<'_> {
    const TAG: Tag = Tag::Sequence;
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
/// certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }` (RFC 5035 §4).
#[derive(Sequence)]
pub(crate) struct EssCertIdV2<'a> {
    #[asn1(optional = "true")]
    pub(crate) hash_algorithm: Option<AlgorithmIdentifierRef<'a>>,
    pub(crate) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(crate) issuer_serial: Option<IssuerSerial<'a>>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Sequence)]
pub(crate) struct IssuerSerial<'a> {
    /// GeneralNames, walked by hand: only its first member is used.
    pub(crate) issuer: AnyRef<'a>,
    pub(crate) serial_number: AnyRef<'a>,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
/// policies SEQUENCE OF PolicyInformation OPTIONAL }`, reduced to the first ESSCertIDv2 (the
/// only one that names the signer, RFC 5035 §5.4). Every entry must decode, as in Go, but
/// only the first is kept. `Ok(None)` means the list is empty.
pub(crate) fn first_ess_cert_id_v2(raw: &[u8]) -> Result<Option<EssCertIdV2<'_>>, String> {
    let (outer, rest) = split_tlv(raw)?;
    if outer.tag != tag::SEQUENCE || !rest.is_empty() {
        return Err("SigningCertificateV2 is not a single SEQUENCE".into());
    }
    let mut members = Members::new(outer.value);
    let certs = members.expect(tag::SEQUENCE)?;
    if let Some(policies) = members.next_any()?
        && policies.tag != tag::SEQUENCE
    {
        return Err("policies is not a SEQUENCE".into());
    }
    members.finish()?;
    let mut first = None;
    let mut ids = Members::new(certs.value);
    while let Some(id) = ids.next_any()? {
        let id: EssCertIdV2<'_> = decode(id.raw)?;
        first.get_or_insert(id);
    }
    Ok(first)
}

/// Decodes a complete DER value of type `T` (no trailing bytes).
pub(crate) fn decode<'a, T: Decode<'a, Error = der::Error>>(raw: &'a [u8]) -> Result<T, String> {
    T::from_der(raw).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    }

    fn tst_info(ordering: u8) -> Vec<u8> {
        let sha256 = [
            0x06, 9, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        ];
        let imprint = tlv(0x30, &[tlv(0x30, &sha256), tlv(0x04, &[7; 32])].concat());
        let extension = tlv(0x30, &[tlv(0x06, &[0x2a, 0x03]), tlv(0x04, &[])].concat());
        tlv(
            0x30,
            &[
                tlv(0x02, &[1]),
                tlv(0x06, &[0x2a, 0x03]),
                imprint,
                tlv(0x02, &[5]),
                tlv(0x18, b"20210917140910.5Z"),
                tlv(0x30, &[tlv(0x02, &[1]), tlv(0x80, &[0x01, 0xf4])].concat()),
                tlv(0x01, &[ordering]),
                tlv(0x02, &[9]),
                tlv(0xa0, &tlv(0xa4, &tlv(0x30, &[]))),
                tlv(0xa1, &extension),
            ]
            .concat(),
        )
    }

    #[test]
    fn tst_info_with_every_optional_field_decodes() {
        for ordering in [0xff, 0x00] {
            let der = tst_info(ordering);
            let info: TstInfo<'_> = decode(&der).unwrap();
            assert_eq!(info.version, 1);
            assert_eq!(info.ordering, Some(ordering == 0xff));
            let acc = info.accuracy.unwrap();
            assert_eq!(
                (acc.seconds, acc.millis, acc.micros),
                (Some(1), Some(500), None)
            );
            assert!(info.nonce.is_some() && info.tsa.is_some() && info.extensions.is_some());
            assert_eq!(info.message_imprint.hashed_message.as_bytes(), &[7; 32]);
            assert_eq!(info.gen_time.value(), b"20210917140910.5Z");
        }
        // Trailing bytes after the TSTInfo are refused.
        let mut der = tst_info(0xff);
        der.push(0);
        assert!(decode::<TstInfo<'_>>(&der).is_err());
    }

    #[test]
    fn small_ints() {
        assert_eq!(small_int(&[1]), Ok(1));
        assert_eq!(small_int(&[0xff]), Ok(-1));
        assert_eq!(small_int(&[0x00, 0x80]), Ok(128));
        assert!(small_int(&[0x00, 0x01]).is_err());
        assert!(small_int(&[]).is_err());
        assert!(small_int(&[1; 9]).is_err());
    }

    #[test]
    fn tlv_split() {
        let (tlv, rest) = split_tlv(&[0x30, 0x02, 0x05, 0x00, 0xff]).unwrap();
        assert_eq!(tlv.tag, 0x30);
        assert_eq!(tlv.value, &[0x05, 0x00]);
        assert_eq!(rest, &[0xff]);
        assert!(split_tlv(&[0x30, 0x05, 0x00]).is_err());
        assert!(split_tlv(&[0x30, 0x80]).is_err());
    }
}
