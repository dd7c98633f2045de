//! Distinguished names compared the way notation compares them (NOTARY-VERIFY §5.3).
//!
//! notation never compares certificate names structurally. It prints the leaf subject with Go's
//! `pkix.Name.String()` and parses that text with the same RFC 4514 parser it uses for the
//! `x509.subject:` identities in the trust policy (go-ldap `ParseDN` plus notation's own rules).
//! Matching therefore inherits every quirk of that round trip, and users see exactly those
//! quirks with notation. We reproduce the round trip instead of comparing DER, so that a policy
//! accepted or refused by notation is accepted or refused here too:
//!
//! - Go groups every repeated attribute type into one multi-valued RDN (`OU=a+OU=b`), which
//!   notation refuses, so a leaf with two OUs can never match an `x509.subject` identity.
//! - Go prints attribute types it has no short name for (emailAddress, DC, UID, …) as
//!   `OID=#<hex>`, and notation refuses any DN containing `=#`, so such a leaf can never match.
//! - A leaf without C, ST and O can never match either.
//! - Go re-orders the well-known attributes and flattens multi-valued RDNs of *different* types
//!   (`CN=a+O=b` becomes two RDNs), so those leaves *can* match.
//!
//! In all of these cases only the `*` identity accepts the leaf.

use core::fmt;

use const_oid::ObjectIdentifier;
use der::{Encode, Tag, Tagged};
use x509_cert::{attr::AttributeTypeAndValue, name::Name};

/// Why a distinguished name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnError {
    /// notation refuses any DN text containing `=#` (an RFC 4514 hex-encoded value) before
    /// parsing it at all.
    #[error("\"=#\" (a hex-encoded attribute value) is not supported")]
    HexValue,
    /// An RDN separator or the end of the text came before the `type=` part of an attribute.
    #[error("attribute ending at byte {offset} has no \"type=\" part")]
    IncompleteAttribute {
        /// Byte offset in the DN text where the incomplete attribute ends.
        offset: usize,
    },
    /// A backslash is the last character, or is followed by neither a special character nor
    /// two hex digits.
    #[error("invalid escape sequence")]
    InvalidEscape,
    /// RFC 4514 requires this character to be escaped inside a type or value.
    #[error("character {ch:?} must be escaped")]
    UnescapedCharacter {
        /// The raw character found.
        ch: char,
    },
    /// `\XX` escapes produced bytes that are not UTF-8; such a value could never equal a
    /// certificate value, which is always decoded to UTF-8.
    #[error("escaped bytes do not form valid UTF-8")]
    InvalidUtf8,
    /// notation does not support multi-valued RDNs (`A=1+B=2`).
    #[error("multi-valued RDNs (\"+\") are not supported")]
    MultiValuedRdn,
    /// Each attribute type may appear only once, because the DN is used as a map.
    #[error("attribute {attribute} appears more than once")]
    DuplicateAttribute {
        /// The repeated attribute type (after the `S` → `ST` alias).
        attribute: String,
    },
    /// More attributes than [`MAX_DN_ATTRIBUTES`].
    #[error("more than {MAX_DN_ATTRIBUTES} attributes")]
    TooManyAttributes,
    /// notation requires C, ST (or its alias S) and O, each with a non-empty value.
    #[error("mandatory attribute {attribute} is missing or empty (C, ST or S, and O are required)")]
    MissingMandatoryAttribute {
        /// `C`, `ST` or `O`.
        attribute: &'static str,
    },
    /// A certificate name value has an ASN.1 type that Go's certificate parser refuses, so
    /// notation would not even load the certificate.
    #[error("attribute {oid} has ASN.1 type {tag}, which Go's certificate parser refuses")]
    UnsupportedStringType {
        /// Attribute type of the offending value.
        oid: ObjectIdentifier,
        /// ASN.1 tag of the offending value.
        tag: Tag,
    },
    /// A certificate name value is not valid for its declared string type (Go refuses it too).
    #[error("attribute {oid} is not a valid {tag}")]
    InvalidString {
        /// Attribute type of the offending value.
        oid: ObjectIdentifier,
        /// ASN.1 tag of the offending value.
        tag: Tag,
    },
}

/// A distinguished name as notation sees it: attribute type → value, one value per type, in
/// the order written. Only the parsers below build it, so every instance satisfies notation's
/// rules (no multi-valued RDN, no repeated type, C/ST/O present).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    attributes: Vec<(String, String)>,
}

/// Most attributes in one distinguished name.
///
/// notation has no limit. A DN that can ever match has at most nine: Go renders only C, ST,
/// L, STREET, POSTALCODE, O, OU, CN and SERIALNUMBER as `type=value` (anything else becomes
/// `OID=#hex`, which is refused), and a repeated type becomes a refused multi-valued RDN.
/// 16 leaves room for identities written with other types (they parse, and never match),
/// and bounds the repeated-type check and the pairwise overlap check of up to 1,024
/// identities per policy statement, which would otherwise grow with the square of a
/// megabyte-long DN.
pub const MAX_DN_ATTRIBUTES: usize = 16;

/// The attributes notation insists on; a DN without them is refused on both sides.
const MANDATORY_ATTRIBUTES: [&str; 3] = ["C", "ST", "O"];

impl DistinguishedName {
    /// Parses RFC 4514 text with notation's rules (go-ldap `ParseDN`, then notation's checks).
    pub fn parse_rfc4514(text: &str) -> Result<Self, DnError> {
        // notation checks the raw text, so even an escaped `\=#` inside a value is refused.
        if text.contains("=#") {
            return Err(DnError::HexValue);
        }
        let mut attributes: Vec<(String, String)> = Vec::new();
        for rdn in split_rdns(text)? {
            if rdn.len() > 1 {
                return Err(DnError::MultiValuedRdn);
            }
            for (kind, value) in rdn {
                if attributes.len() == MAX_DN_ATTRIBUTES {
                    return Err(DnError::TooManyAttributes);
                }
                let kind = if kind == "S" { "ST".to_owned() } else { kind };
                if attributes.iter().any(|(seen, _)| *seen == kind) {
                    return Err(DnError::DuplicateAttribute { attribute: kind });
                }
                attributes.push((kind, value));
            }
        }
        let dn = Self { attributes };
        for attribute in MANDATORY_ATTRIBUTES {
            if dn.get(attribute).is_none_or(str::is_empty) {
                return Err(DnError::MissingMandatoryAttribute { attribute });
            }
        }
        Ok(dn)
    }

    /// Parses a certificate name the way notation parses a leaf subject: Go's
    /// `pkix.Name.String()` text fed to [`DistinguishedName::parse_rfc4514`].
    pub fn from_certificate_name(name: &Name) -> Result<Self, DnError> {
        Self::parse_rfc4514(&go_name_string(name, Strictness::Strict)?)
    }

    /// Value of one attribute type, compared case-sensitively as notation does.
    pub fn get(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(kind, _)| kind == attribute)
            .map(|(_, value)| value.as_str())
    }

    /// Attributes in the order they were written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.attributes
            .iter()
            .map(|(kind, value)| (kind.as_str(), value.as_str()))
    }

    /// Number of attributes (never zero, since C, ST and O are mandatory).
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Always false; present because clippy pairs it with `len`.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// True when every attribute of `self` is in `other` with exactly the same value.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.first_difference(other).is_none()
    }

    /// The first attribute of `self` that `other` lacks or holds with another value; reports
    /// use it to say why an identity did not match.
    pub fn first_difference<'a>(&'a self, other: &'a Self) -> Option<(&'a str, Option<&'a str>)> {
        self.iter().find_map(|(kind, value)| {
            let theirs = other.get(kind);
            (theirs != Some(value)).then_some((kind, theirs))
        })
    }
}

/// Escapes for display so that the text parses back to the same DN. `#` is always escaped
/// because the parser refuses any `=#`, even where the `#` is not at the start of a value.
impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, value)) in self.attributes.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write_escaped(f, kind, true)?;
            f.write_str("=")?;
            write_escaped(f, value, false)?;
        }
        Ok(())
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str, is_type: bool) -> fmt::Result {
    for (i, c) in text.char_indices() {
        let at_edge = i == 0 || i + c.len_utf8() == text.len();
        match c {
            ' ' if at_edge => f.write_str("\\ ")?,
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '#' => write!(f, "\\{c}")?,
            '=' if is_type => f.write_str("\\=")?,
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    write!(f, "\\{byte:02X}")?;
                }
            }
            c => write!(f, "{c}")?,
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RFC 4514 text → RDNs, with go-ldap's ParseDN semantics.
// ---------------------------------------------------------------------------------------------

type RawRdn = Vec<(String, String)>;

/// Splits DN text into RDNs of (type, value) pairs the way go-ldap's `ParseDN` does: one pass
/// over the bytes, where a backslash hides the next byte from the separator search, the first
/// unescaped `=` ends the type, and `,` `;` end an RDN while `+` only ends an attribute.
fn split_rdns(text: &str) -> Result<Vec<RawRdn>, DnError> {
    let mut rdns = Vec::new();
    // go-ldap returns an empty DN for blank text; the mandatory-attribute check then refuses it.
    if text.trim().is_empty() {
        return Ok(rdns);
    }
    let mut rdn: RawRdn = Vec::new();
    let mut kind = String::new();
    let mut escaping = false;
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        if escaping {
            escaping = false;
            continue;
        }
        match byte {
            b'\\' => escaping = true,
            // go-ldap tests "no type yet" by emptiness, so a type that decodes to "" lets a
            // later `=` set it again. Mirrored on purpose.
            b'=' if kind.is_empty() => {
                kind = decode(&text[start..i])?;
                start = i + 1;
            }
            b',' | b'+' | b';' => {
                if kind.is_empty() {
                    return Err(DnError::IncompleteAttribute { offset: i });
                }
                let value = decode(&text[start..i])?;
                rdn.push((std::mem::take(&mut kind), value));
                start = i + 1;
                if byte != b'+' {
                    rdns.push(std::mem::take(&mut rdn));
                }
            }
            _ => {}
        }
    }
    if kind.is_empty() {
        return Err(DnError::IncompleteAttribute { offset: text.len() });
    }
    let value = decode(&text[start..])?;
    rdn.push((kind, value));
    rdns.push(rdn);
    Ok(rdns)
}

/// Drops unescaped leading and trailing spaces. A trailing space survives only when an odd
/// number of backslashes precede it (it is then escaped, not insignificant).
fn strip_spaces(raw: &str) -> &str {
    let leading = raw.len() - raw.trim_start_matches(' ').len();
    let trimmed = raw[leading..].trim_end_matches(' ');
    let end = leading + trimmed.len();
    if !trimmed.is_empty() && end < raw.len() {
        let backslashes = trimmed.bytes().rev().take_while(|&b| b == b'\\').count();
        if backslashes % 2 == 1 {
            return &raw[leading..=end];
        }
    }
    trimmed
}

/// Removes insignificant spaces and undoes escapes, as go-ldap's `decodeString` does
/// (including its refusal of raw `"`, `;`, `<`, `>` and NUL).
fn decode(raw: &str) -> Result<String, DnError> {
    let text = strip_spaces(raw);
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if matches!(c, '"' | ';' | '<' | '>' | '\0') {
                return Err(DnError::UnescapedCharacter { ch: c });
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let next = chars.next().ok_or(DnError::InvalidEscape)?;
        if matches!(
            next,
            ' ' | '"' | '#' | '+' | ',' | ';' | '<' | '=' | '>' | '\\'
        ) {
            let mut buf = [0u8; 4];
            out.extend_from_slice(next.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let low = chars.next().ok_or(DnError::InvalidEscape)?;
        match (next.to_digit(16), low.to_digit(16)) {
            // Both digits are below 16, so the pair always fits in a byte.
            (Some(high), Some(low)) => out.push(u8::try_from(high * 16 + low).unwrap_or(0)),
            _ => return Err(DnError::InvalidEscape),
        }
    }
    String::from_utf8(out).map_err(|_| DnError::InvalidUtf8)
}

// ---------------------------------------------------------------------------------------------
// Certificate name → text, with Go's pkix.Name.String() semantics for a parsed certificate.
// ---------------------------------------------------------------------------------------------

/// Renders a certificate name exactly as Go's `pkix.Name.String()` does for a parsed
/// certificate, which is the text notation matches identities against. Values Go's parser
/// would refuse are shown as `OID=#<DER hex>` so that reports still say something useful.
pub fn render_go_style(name: &Name) -> String {
    match go_name_string(name, Strictness::Lenient) {
        Ok(text) => text,
        // Lenient rendering never fails; fall back to the RFC 4514 text to stay total.
        Err(_) => name.to_string(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    /// Refuse values Go's certificate parser refuses (matching must agree with notation).
    Strict,
    /// Show such values as hex (reports must always produce text).
    Lenient,
}

/// The attribute types Go parses into named `pkix.Name` fields, in the order
/// `Name.ToRDNSequence` emits them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KnownType {
    Country,
    Province,
    Locality,
    StreetAddress,
    PostalCode,
    Organization,
    OrganizationalUnit,
    CommonName,
    SerialNumber,
}

impl KnownType {
    const ORDER: [Self; 9] = [
        Self::Country,
        Self::Province,
        Self::Locality,
        Self::StreetAddress,
        Self::PostalCode,
        Self::Organization,
        Self::OrganizationalUnit,
        Self::CommonName,
        Self::SerialNumber,
    ];

    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        const PREFIX: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4");
        if oid.parent() != Some(PREFIX) {
            return None;
        }
        match oid.arc(3)? {
            3 => Some(Self::CommonName),
            5 => Some(Self::SerialNumber),
            6 => Some(Self::Country),
            7 => Some(Self::Locality),
            8 => Some(Self::Province),
            9 => Some(Self::StreetAddress),
            10 => Some(Self::Organization),
            11 => Some(Self::OrganizationalUnit),
            17 => Some(Self::PostalCode),
            _ => None,
        }
    }

    /// Go's short name (`attributeTypeNames`).
    fn label(self) -> &'static str {
        match self {
            Self::Country => "C",
            Self::Province => "ST",
            Self::Locality => "L",
            Self::StreetAddress => "STREET",
            Self::PostalCode => "POSTALCODE",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::CommonName => "CN",
            Self::SerialNumber => "SERIALNUMBER",
        }
    }

    /// Go keeps only the last CN and serial number (single string fields) and drops them when
    /// empty; the other types are lists that keep every value, empty or not.
    fn is_single_valued(self) -> bool {
        matches!(self, Self::CommonName | Self::SerialNumber)
    }
}

/// One attribute as Go prints it.
enum GoAtom {
    /// `LABEL=escaped value`.
    Text(&'static str, String),
    /// `OID=#hex` (no escaping).
    Hex(ObjectIdentifier, Vec<u8>),
}

fn go_name_string(name: &Name, strictness: Strictness) -> Result<String, DnError> {
    let mut known: Vec<(KnownType, String)> = Vec::new();
    let mut others: Vec<GoAtom> = Vec::new();
    for atv in name.iter() {
        let value = match go_string_value(atv) {
            Ok(value) => value,
            Err(err) if strictness == Strictness::Strict => return Err(err),
            Err(_) => {
                let der = atv.value.to_der().unwrap_or_default();
                others.push(GoAtom::Hex(atv.oid, der));
                continue;
            }
        };
        match KnownType::from_oid(&atv.oid) {
            Some(kind) => known.push((kind, value)),
            None => others.push(GoAtom::Hex(atv.oid, go_marshal_string(&value))),
        }
    }

    // Go's sequence: every non-standard attribute as its own RDN, then one RDN per known type
    // holding all of its values. It is printed last RDN first.
    let mut sequence: Vec<Vec<GoAtom>> = others.into_iter().map(|atom| vec![atom]).collect();
    for kind in KnownType::ORDER {
        let mut values = known
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_str());
        let rdn: Vec<GoAtom> = if kind.is_single_valued() {
            values
                .next_back()
                .filter(|v| !v.is_empty())
                .map(|v| GoAtom::Text(kind.label(), v.to_owned()))
                .into_iter()
                .collect()
        } else {
            values
                .map(|v| GoAtom::Text(kind.label(), v.to_owned()))
                .collect()
        };
        if !rdn.is_empty() {
            sequence.push(rdn);
        }
    }

    let mut out = String::new();
    for (i, rdn) in sequence.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atom) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match atom {
                GoAtom::Text(label, value) => {
                    out.push_str(label);
                    out.push('=');
                    go_escape_into(&mut out, value);
                }
                GoAtom::Hex(oid, der) => {
                    out.push_str(&oid.to_string());
                    out.push_str("=#");
                    for byte in der {
                        out.push_str(&format!("{byte:02x}"));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Go's `RDNSequence.String` escaping: the RFC 2253 specials everywhere, a space only at the
/// first or last byte, `#` only at the first byte, and nothing else (no control escapes).
fn go_escape_into(out: &mut String, value: &str) {
    for (k, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == value.len() - 1,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Decodes a name value as Go's `parseASN1String` does; anything else makes Go refuse the
/// whole certificate.
fn go_string_value(atv: &AttributeTypeAndValue) -> Result<String, DnError> {
    let tag = atv.value.tag();
    let bytes = atv.value.value();
    let invalid = || DnError::InvalidString { oid: atv.oid, tag };
    match tag {
        // Go reads T.61 as Latin-1, like most of the world.
        Tag::TeletexString => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::PrintableString => {
            if bytes.iter().all(|&b| go_printable(b, true)) {
                Ok(bytes.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(invalid())
            }
        }
        Tag::Utf8String => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| invalid()),
        Tag::BmpString => decode_bmp(bytes).ok_or_else(invalid),
        Tag::Ia5String => {
            if bytes.is_ascii() {
                Ok(bytes.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(invalid())
            }
        }
        Tag::NumericString => {
            if bytes.iter().all(|&b| b.is_ascii_digit() || b == b' ') {
                Ok(bytes.iter().map(|&b| char::from(b)).collect())
            } else {
                Err(invalid())
            }
        }
        _ => Err(DnError::UnsupportedStringType { oid: atv.oid, tag }),
    }
}

/// UCS-2 as Go accepts it: even length, an optional 00 00 terminator, no surrogates and no
/// permanent noncharacters.
fn decode_bmp(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let bytes = bytes.strip_suffix(&[0, 0]).unwrap_or(bytes);
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let point = u16::from_be_bytes([pair[0], pair[1]]);
            let refused = point == 0xfffe
                || point == 0xffff
                || (0xfdd0..=0xfdef).contains(&point)
                || (0xd800..=0xdfff).contains(&point);
            if refused {
                None
            } else {
                char::from_u32(u32::from(point))
            }
        })
        .collect()
}

/// Go's PrintableString alphabet. Its certificate parser also allows `*` and `&` (seen in real
/// certificates); its marshaller does not.
fn go_printable(b: u8, parsing: bool) -> bool {
    b.is_ascii_alphanumeric()
        || (b'\''..=b')').contains(&b)
        || (b'+'..=b'/').contains(&b)
        || matches!(b, b' ' | b':' | b'=' | b'?')
        || (parsing && matches!(b, b'*' | b'&'))
}

/// DER of a Go string as `asn1.Marshal` writes it: PrintableString when every character is in
/// the strict alphabet, UTF8String otherwise. Go re-encodes the decoded value, so the original
/// tag (IA5String for emailAddress, say) is not what appears in the hex.
fn go_marshal_string(value: &str) -> Vec<u8> {
    let printable = value
        .bytes()
        .all(|b| b.is_ascii() && go_printable(b, false));
    let tag: u8 = if printable { 0x13 } else { 0x0c };
    let mut der = vec![tag];
    let len = value.len();
    if len < 0x80 {
        der.push(u8::try_from(len).unwrap_or(0));
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let significant = &be[skip..];
        der.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        der.extend_from_slice(significant);
    }
    der.extend_from_slice(value.as_bytes());
    der
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use der::{Decode, asn1::Any};
    use proptest::prelude::*;
    use x509_cert::name::{RdnSequence, RelativeDistinguishedName};

    const CN: &str = "2.5.4.3";
    const C: &str = "2.5.4.6";
    const ST: &str = "2.5.4.8";
    const O: &str = "2.5.4.10";
    const OU: &str = "2.5.4.11";
    const L: &str = "2.5.4.7";
    const EMAIL: &str = "1.2.840.113549.1.9.1";
    const DC: &str = "0.9.2342.19200300.100.1.25";

    const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;
    const T61: u8 = 0x14;
    const IA5: u8 = 0x16;
    const NUMERIC: u8 = 0x12;
    const BMP: u8 = 0x1e;

    fn parse(text: &str) -> Result<DistinguishedName, DnError> {
        DistinguishedName::parse_rfc4514(text)
    }

    fn attrs(dn: &DistinguishedName) -> Vec<(&str, &str)> {
        dn.iter().collect()
    }

    /// Builds a certificate `Name` from DER, RDN by RDN in DER order, each attribute as
    /// (OID, ASN.1 tag, raw value bytes), so tests control the exact encoding.
    fn name(rdns: &[&[(&str, u8, &[u8])]]) -> Name {
        let mut sequence: Vec<RelativeDistinguishedName> = Vec::new();
        for rdn in rdns {
            let atvs: Vec<AttributeTypeAndValue> = rdn
                .iter()
                .map(|(oid, tag, value)| {
                    let mut tlv = vec![*tag, u8::try_from(value.len()).unwrap()];
                    tlv.extend_from_slice(value);
                    AttributeTypeAndValue {
                        oid: ObjectIdentifier::new_unwrap(oid),
                        value: Any::from_der(&tlv).unwrap(),
                    }
                })
                .collect();
            sequence.push(RelativeDistinguishedName::try_from(atvs).unwrap());
        }
        let der = RdnSequence::from(sequence).to_der().unwrap();
        Name::from_der(&der).unwrap()
    }

    fn utf8(oid: &'static str, value: &'static str) -> (&'static str, u8, &'static [u8]) {
        (oid, UTF8, value.as_bytes())
    }

    /// C=US, ST=WA, O=Notary in DER order, the minimum notation accepts.
    fn base() -> Vec<(&'static str, u8, &'static [u8])> {
        vec![
            (C, PRINTABLE, b"US".as_slice()),
            utf8(ST, "WA"),
            utf8(O, "Notary"),
        ]
    }

    fn single_rdns(atvs: &[(&'static str, u8, &'static [u8])]) -> Name {
        let rdns: Vec<&[(&str, u8, &[u8])]> = atvs.iter().map(core::slice::from_ref).collect();
        name(&rdns)
    }

    // --- parse_rfc4514 -----------------------------------------------------------------------

    #[test]
    fn parses_attributes_in_order_and_trims_spaces() {
        let dn = parse(" CN = e2e , O=Notary, L=Seattle,ST=WA,C=US ").unwrap();
        assert_eq!(
            attrs(&dn),
            [
                ("CN", "e2e"),
                ("O", "Notary"),
                ("L", "Seattle"),
                ("ST", "WA"),
                ("C", "US")
            ]
        );
    }

    #[test]
    fn semicolon_separates_rdns_like_comma() {
        let dn = parse("C=US;ST=WA;O=acme").unwrap();
        assert_eq!(dn.get("O"), Some("acme"));
    }

    #[test]
    fn s_is_an_alias_of_st() {
        let dn = parse("C=US,S=WA,O=acme").unwrap();
        assert_eq!(dn.get("ST"), Some("WA"));
        assert_eq!(dn.get("S"), None);
    }

    #[test]
    fn rejects_s_and_st_together_as_a_repeat() {
        assert_eq!(
            parse("C=US,S=WA,ST=WA,O=acme"),
            Err(DnError::DuplicateAttribute {
                attribute: "ST".into()
            })
        );
    }

    #[test]
    fn attribute_types_are_case_sensitive() {
        assert_eq!(
            parse("c=US,ST=WA,O=acme"),
            Err(DnError::MissingMandatoryAttribute { attribute: "C" })
        );
    }

    #[test]
    fn rejects_hex_values_even_when_escaped() {
        assert_eq!(
            parse("C=US,ST=WA,O=x,1.2.3=#0c0161"),
            Err(DnError::HexValue)
        );
        assert_eq!(parse("C=US,ST=WA,O=a\\=#b"), Err(DnError::HexValue));
        // `\23` is an escaped '#', which notation does not see as "=#".
        assert_eq!(
            parse("C=US,ST=WA,O=a=\\23b").unwrap().get("O"),
            Some("a=#b")
        );
    }

    #[test]
    fn rejects_multi_valued_rdns() {
        assert_eq!(parse("C=US+ST=WA,O=acme"), Err(DnError::MultiValuedRdn));
    }

    #[test]
    fn rejects_repeated_attribute_types() {
        assert_eq!(
            parse("C=US,ST=WA,O=acme,OU=a,OU=b"),
            Err(DnError::DuplicateAttribute {
                attribute: "OU".into()
            })
        );
        // notation lets a repeat overwrite an earlier empty value; we do not.
        assert!(parse("C=US,ST=WA,OU=,OU=b,O=acme").is_err());
    }

    #[test]
    fn rejects_each_missing_mandatory_attribute() {
        for (text, missing) in [
            ("ST=WA,O=acme", "C"),
            ("C=US,O=acme", "ST"),
            ("C=US,ST=WA", "O"),
            ("C=US,ST=WA,O=", "O"),
            ("", "C"),
            ("   ", "C"),
        ] {
            assert_eq!(
                parse(text),
                Err(DnError::MissingMandatoryAttribute { attribute: missing }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_more_attributes_than_the_limit() {
        let mut text = String::from("C=US,ST=WA,O=o");
        for i in 3..MAX_DN_ATTRIBUTES {
            text.push_str(&format!(",X{i}=v"));
        }
        assert_eq!(parse(&text).unwrap().len(), MAX_DN_ATTRIBUTES);
        text.push_str(",Y=v");
        assert_eq!(parse(&text), Err(DnError::TooManyAttributes));
        // A long DN is refused quickly, not after a quadratic repeated-type scan.
        let long: String = (0..100_000).map(|i| format!(",A{i}=v")).collect();
        assert_eq!(
            parse(&format!("C=US,ST=WA,O=o{long}")),
            Err(DnError::TooManyAttributes)
        );
    }

    #[test]
    fn rejects_attributes_without_a_type() {
        assert_eq!(
            parse("C=US,acme,O=x"),
            Err(DnError::IncompleteAttribute { offset: 9 })
        );
        assert_eq!(
            parse("C=US,ST=WA,acme"),
            Err(DnError::IncompleteAttribute { offset: 15 })
        );
    }

    #[test]
    fn equals_signs_after_the_type_belong_to_the_value() {
        assert_eq!(parse("C=US,ST=WA,O=a=b").unwrap().get("O"), Some("a=b"));
    }

    #[test]
    fn unescapes_special_characters() {
        let dn = parse(r#"C=US,ST=WA,O=a\,b\;c\+d\"e\\f\<g\>h\=i\#j"#).unwrap();
        assert_eq!(dn.get("O"), Some(r#"a,b;c+d"e\f<g>h=i#j"#));
    }

    #[test]
    fn unescapes_hex_pairs_into_utf8() {
        assert_eq!(
            parse(r"C=US,ST=WA,O=caf\C3\A9").unwrap().get("O"),
            Some("café")
        );
        assert_eq!(
            parse(r"C=US,ST=WA,O=caf\c3\a9").unwrap().get("O"),
            Some("café")
        );
        assert_eq!(
            parse(r"C=US,ST=WA,O=caf\C3").unwrap_err(),
            DnError::InvalidUtf8
        );
    }

    #[test]
    fn keeps_escaped_edge_spaces_and_drops_unescaped_ones() {
        assert_eq!(
            parse(r"C=US,ST=WA,O=\ acme\ ").unwrap().get("O"),
            Some(" acme ")
        );
        assert_eq!(
            parse("C=US,ST=WA,O=  acme  ").unwrap().get("O"),
            Some("acme")
        );
        assert_eq!(parse("C=US,ST=WA,O=a  b").unwrap().get("O"), Some("a  b"));
        // An escaped backslash does not escape the space after it.
        assert_eq!(
            parse(r"C=US,ST=WA,O=acme\\ ").unwrap().get("O"),
            Some(r"acme\")
        );
        assert_eq!(
            parse(r"C=US,ST=WA,O=acme\\\ ").unwrap().get("O"),
            Some(r"acme\ ")
        );
    }

    #[test]
    fn rejects_broken_escapes() {
        for text in [
            r"C=US,ST=WA,O=ab\",
            r"C=US,ST=WA,O=a\zz",
            r"C=US,ST=WA,O=a\4",
            r"C=US,ST=WA,O=a\é1",
        ] {
            assert_eq!(parse(text), Err(DnError::InvalidEscape), "{text:?}");
        }
    }

    #[test]
    fn rejects_characters_that_must_be_escaped() {
        for (text, ch) in [
            ("C=US,ST=WA,O=a\"b", '"'),
            ("C=US,ST=WA,O=a<b", '<'),
            ("C=US,ST=WA,O=a>b", '>'),
            ("C=US,ST=WA,O=a\0b", '\0'),
        ] {
            assert_eq!(
                parse(text),
                Err(DnError::UnescapedCharacter { ch }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn subset_match_is_exact_and_case_sensitive() {
        let leaf = parse("CN=e2e,O=Notary,L=Seattle,ST=WA,C=US").unwrap();
        assert!(parse("C=US,ST=WA,O=Notary").unwrap().is_subset_of(&leaf));
        assert!(leaf.is_subset_of(&leaf));
        assert!(!parse("C=US,ST=WA,O=notary").unwrap().is_subset_of(&leaf));
        assert!(
            !parse("C=US,ST=WA,O=Notary,OU=x")
                .unwrap()
                .is_subset_of(&leaf)
        );
        assert!(!leaf.is_subset_of(&parse("C=US,ST=WA,O=Notary").unwrap()));
        assert_eq!(
            parse("C=US,ST=WA,O=Other").unwrap().first_difference(&leaf),
            Some(("O", Some("Notary")))
        );
    }

    #[test]
    fn display_escapes_so_that_the_text_parses_back() {
        let dn = parse(r"CN=\ #a\,b\+c\;d\<e\>f\\g\22h\ ,C=US,ST=WA,O=x=\23y").unwrap();
        let text = dn.to_string();
        assert_eq!(
            text,
            r#"CN=\ \#a\,b\+c\;d\<e\>f\\g\"h\ ,C=US,ST=WA,O=x=\#y"#
        );
        assert_eq!(parse(&text).unwrap(), dn);
    }

    proptest! {
        #[test]
        fn display_round_trips(
            values in proptest::collection::vec("[ -~éß\u{1}\u{7f}]{1,12}", 4),
        ) {
            let attributes: Vec<(String, String)> = ["C", "ST", "O", "OU"]
                .iter()
                .map(|t| (*t).to_owned())
                .zip(values)
                .collect();
            let dn = DistinguishedName { attributes };
            let reparsed = parse(&dn.to_string());
            prop_assert_eq!(reparsed, Ok(dn));
        }

        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }
    }

    // --- Go rendering and from_certificate_name -------------------------------------------------

    #[test]
    fn renders_known_types_in_go_order_whatever_the_der_order() {
        // DER order O, ST, C (what `openssl` prints reversed as C=AU,ST=…,O=…).
        let subject = single_rdns(&[
            utf8(O, "Internet Widgits Pty Ltd"),
            utf8(ST, "Some-State"),
            (C, PRINTABLE, b"AU".as_slice()),
        ]);
        assert_eq!(
            render_go_style(&subject),
            "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"
        );
        let mut atvs = base();
        atvs.extend([utf8(L, "Seattle"), utf8(CN, "e2e")]);
        let subject = single_rdns(&atvs);
        assert_eq!(
            render_go_style(&subject),
            "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"
        );
        let dn = DistinguishedName::from_certificate_name(&subject).unwrap();
        assert_eq!(dn.get("CN"), Some("e2e"));
    }

    #[test]
    fn repeated_types_become_one_multi_valued_rdn_and_never_match() {
        let mut atvs = base();
        atvs.extend([utf8(OU, "a"), utf8(OU, "b")]);
        let subject = single_rdns(&atvs);
        assert_eq!(render_go_style(&subject), "OU=a+OU=b,O=Notary,ST=WA,C=US");
        assert_eq!(
            DistinguishedName::from_certificate_name(&subject),
            Err(DnError::MultiValuedRdn)
        );
    }

    #[test]
    fn multi_valued_rdns_of_different_types_are_flattened_and_can_match() {
        let cn_o: &[(&str, u8, &[u8])] = &[utf8(CN, "x"), utf8(O, "Notary")];
        let subject = name(&[&[(C, PRINTABLE, b"US")], &[utf8(ST, "WA")], cn_o]);
        assert_eq!(render_go_style(&subject), "CN=x,O=Notary,ST=WA,C=US");
        assert!(DistinguishedName::from_certificate_name(&subject).is_ok());
    }

    #[test]
    fn other_oids_are_hex_at_the_end_and_never_match() {
        let mut atvs = base();
        atvs.push((EMAIL, IA5, b"a@b.example".as_slice()));
        atvs.push((DC, IA5, b"com".as_slice()));
        atvs.push(utf8(CN, "x"));
        let subject = single_rdns(&atvs);
        // Go re-marshals the decoded string: '@' forces UTF8String, "com" is PrintableString.
        assert_eq!(
            render_go_style(&subject),
            "CN=x,O=Notary,ST=WA,C=US,0.9.2342.19200300.100.1.25=#1303636f6d,\
             1.2.840.113549.1.9.1=#0c0b6140622e6578616d706c65"
        );
        assert_eq!(
            DistinguishedName::from_certificate_name(&subject),
            Err(DnError::HexValue)
        );
    }

    #[test]
    fn marshal_uses_utf8_for_star_and_long_form_lengths() {
        assert_eq!(go_marshal_string("a*"), [0x0c, 2, b'a', b'*']);
        let long = "a".repeat(200);
        let der = go_marshal_string(&long);
        assert_eq!(der[..3], [0x13, 0x81, 200]);
        assert_eq!(der.len(), 203);
    }

    #[test]
    fn keeps_only_the_last_non_empty_common_name() {
        let mut atvs = base();
        atvs.extend([utf8(CN, "first"), utf8(CN, "last")]);
        assert_eq!(
            render_go_style(&single_rdns(&atvs)),
            "CN=last,O=Notary,ST=WA,C=US"
        );
        let mut atvs = base();
        atvs.push(utf8(CN, ""));
        assert_eq!(render_go_style(&single_rdns(&atvs)), "O=Notary,ST=WA,C=US");
    }

    #[test]
    fn escapes_values_like_go_and_parses_them_back() {
        let mut atvs = base();
        atvs.push(utf8(CN, " #a,b+c\"d\\e<f>g;h=i #"));
        atvs.push(utf8(OU, "#lead"));
        let subject = single_rdns(&atvs);
        assert_eq!(
            render_go_style(&subject),
            r#"CN=\ #a\,b\+c\"d\\e\<f\>g\;h=i #,OU=\#lead,O=Notary,ST=WA,C=US"#
        );
        let dn = DistinguishedName::from_certificate_name(&subject).unwrap();
        assert_eq!(dn.get("CN"), Some(" #a,b+c\"d\\e<f>g;h=i #"));
        assert_eq!(dn.get("OU"), Some("#lead"));
    }

    #[test]
    fn value_containing_equals_hash_never_matches() {
        let mut atvs = base();
        atvs.push(utf8(CN, "Bad=#CN"));
        let subject = single_rdns(&atvs);
        assert_eq!(render_go_style(&subject), "CN=Bad=#CN,O=Notary,ST=WA,C=US");
        assert_eq!(
            DistinguishedName::from_certificate_name(&subject),
            Err(DnError::HexValue)
        );
    }

    #[test]
    fn leaf_without_mandatory_attributes_never_matches() {
        let subject = single_rdns(&[utf8(CN, "e2e")]);
        assert_eq!(render_go_style(&subject), "CN=e2e");
        assert_eq!(
            DistinguishedName::from_certificate_name(&subject),
            Err(DnError::MissingMandatoryAttribute { attribute: "C" })
        );
    }

    #[test]
    fn decodes_the_string_types_go_accepts() {
        let cases: [(u8, &[u8], &str); 7] = [
            (T61, &[0x63, 0x61, 0x66, 0xe9], "café"),
            (BMP, &[0x00, 0x63, 0x00, 0xe9], "cé"),
            (BMP, &[0x00, 0x63, 0x00, 0x00], "c"),
            (PRINTABLE, b"a*&b", "a*&b"),
            (IA5, b"a@b", "a@b"),
            (NUMERIC, b"12 3", "12 3"),
            (UTF8, "é".as_bytes(), "é"),
        ];
        for (tag, bytes, expected) in cases {
            let mut atvs = base();
            atvs.push((CN, tag, bytes));
            let dn = DistinguishedName::from_certificate_name(&single_rdns(&atvs)).unwrap();
            assert_eq!(dn.get("CN"), Some(expected), "tag {tag:#x}");
        }
    }

    #[test]
    fn refuses_values_go_refuses_but_still_renders_them() {
        let cn = ObjectIdentifier::new_unwrap(CN);
        let cases: [(u8, &[u8]); 7] = [
            (PRINTABLE, b"a@b"),
            (IA5, &[0xe9]),
            (NUMERIC, b"1a"),
            (BMP, &[0x00]),
            (BMP, &[0xd8, 0x00]),
            (BMP, &[0xff, 0xfe]),
            (UTF8, &[0xff]),
        ];
        for (tag, bytes) in cases {
            let mut atvs = base();
            atvs.push((CN, tag, bytes));
            let subject = single_rdns(&atvs);
            let err = DistinguishedName::from_certificate_name(&subject).unwrap_err();
            assert!(
                matches!(err, DnError::InvalidString { oid, .. } if oid == cn),
                "tag {tag:#x}: {err:?}"
            );
            assert!(render_go_style(&subject).starts_with("O=Notary,ST=WA,C=US,2.5.4.3=#"));
        }
        let mut atvs = base();
        atvs.push((CN, 0x04, b"raw".as_slice()));
        assert!(matches!(
            DistinguishedName::from_certificate_name(&single_rdns(&atvs)),
            Err(DnError::UnsupportedStringType { .. })
        ));
    }
}
