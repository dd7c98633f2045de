//! A bounded BER → DER converter for RFC 3161 tokens.
//!
//! TSAs may emit BER (NOTARY-VERIFY §5.4 step 2; tspclient-go converts before parsing). This
//! converter rewrites the *framing* only:
//!
//! - every length is re-encoded in the minimal definite form (long-form lengths that could be
//!   shorter, and long-form lengths below 128, are BER but not DER);
//! - indefinite lengths (`0x80` … end-of-contents `00 00`) become definite;
//! - a constructed universal OCTET STRING (`0x24`, the way streaming BER encoders write
//!   `eContent`) is flattened into one primitive OCTET STRING holding the concatenated chunks.
//!
//! Identifier octets (including high-tag-number form) and primitive contents are copied as
//! received. Value-level DER rules (minimal INTEGERs, BOOLEAN 0xFF, SET OF order) are not
//! rewritten; the typed decoders downstream enforce them, as Go's `encoding/asn1` does after
//! tspclient-go's conversion.
//!
//! Valid DER is returned byte for byte, so the certificates in a DER token keep their exact
//! encoding (their hashes and signatures are over those bytes).
//!
//! The walk uses an explicit stack capped at [`MAX_DEPTH`]; there is no recursion. Memory is
//! bounded by the input: one `usize` per constructed element (each costs at least two input
//! bytes) plus the output, which is at most 5/4 of the input (an indefinite-length element,
//! at least 4 input bytes, grows by at most one byte when its length is written out).

/// Deepest nesting accepted. The deepest element of a real token is about 18 levels down
/// (ContentInfo → SignedData → signerInfos → SignerInfo → signedAttrs → Attribute → values →
/// SigningCertificateV2 → certs → ESSCertIDv2 → IssuerSerial → GeneralNames → directoryName →
/// Name → RDN → AttributeTypeAndValue → value); 32 leaves room and bounds the stack.
pub const MAX_DEPTH: usize = 32;

/// Longest long-form length accepted, in octets. tspclient-go accepts at most 4 (lengths must
/// fit an `int32`); a token is capped far below 4 GiB anyway.
const MAX_LENGTH_OCTETS: usize = 4;

/// Longest identifier accepted, in octets (1 + 4 high-tag-number octets = tag numbers below
/// 2^28). No CMS or X.509 structure uses high tag numbers at all.
const MAX_IDENTIFIER_OCTETS: usize = 5;

/// Why the input is not acceptable BER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at offset {offset}")]
pub(crate) struct BerError {
    /// Byte offset in the input where the problem was found.
    pub(crate) offset: usize,
    /// What is wrong.
    pub(crate) reason: &'static str,
}

fn err<T>(offset: usize, reason: &'static str) -> Result<T, BerError> {
    Err(BerError { offset, reason })
}

/// Converts BER to DER as described in the module documentation.
pub(crate) fn to_der(input: &[u8]) -> Result<Vec<u8>, BerError> {
    if input.is_empty() {
        return err(0, "empty input");
    }
    // Pass 1: the DER content length of every constructed element, in the order they open.
    let mut measure = Measure::default();
    walk(input, |event| measure.event(event))?;
    // Pass 2: write the DER using those lengths.
    let mut emit = Emit {
        lens: &measure.lens,
        next: 0,
        modes: Vec::new(),
        out: Vec::with_capacity(measure.total),
    };
    walk(input, |event| emit.event(event))?;
    Ok(emit.out)
}

/// One step of the walk over the input.
enum Event<'a> {
    /// A primitive element: identifier octets and contents.
    Primitive {
        tag: &'a [u8],
        content: &'a [u8],
        offset: usize,
    },
    /// A constructed element starts: identifier octets.
    Open { tag: &'a [u8], offset: usize },
    /// The most recently opened constructed element ends.
    Close,
}

struct Header<'a> {
    tag: &'a [u8],
    constructed: bool,
    /// `None` for an indefinite length.
    len: Option<usize>,
    content_start: usize,
}

/// Reads identifier and length octets at `pos`; the element must end by `limit`.
fn read_header(input: &[u8], pos: usize, limit: usize) -> Result<Header<'_>, BerError> {
    let Some(&first) = input.get(pos).filter(|_| pos < limit) else {
        return err(pos, "truncated: identifier expected");
    };
    let mut i = pos + 1;
    if first & 0x1f == 0x1f {
        // High-tag-number form (X.690 8.1.2.4): base-128 octets, the last without bit 8.
        let mut first_subsequent = true;
        loop {
            let Some(&b) = input.get(i).filter(|_| i < limit) else {
                return err(pos, "truncated identifier");
            };
            if first_subsequent && b == 0x80 {
                return err(i, "high tag number with a leading zero octet");
            }
            first_subsequent = false;
            i += 1;
            if i - pos > MAX_IDENTIFIER_OCTETS {
                return err(pos, "tag number too large");
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    } else if first == 0 {
        return err(pos, "unexpected end-of-contents octets");
    }
    let tag = &input[pos..i];
    let constructed = first & 0x20 != 0;

    let Some(&l) = input.get(i).filter(|_| i < limit) else {
        return err(i, "truncated: length expected");
    };
    i += 1;
    let len = match l {
        0x00..=0x7f => Some(usize::from(l)),
        0x80 => {
            if !constructed {
                return err(i - 1, "indefinite length on a primitive element");
            }
            None
        }
        0xff => return err(i - 1, "reserved length octet 0xff"),
        _ => {
            let n = usize::from(l & 0x7f);
            if n > MAX_LENGTH_OCTETS {
                return err(i - 1, "length longer than 4 octets");
            }
            if limit.saturating_sub(i) < n {
                return err(i, "truncated length");
            }
            let value = input[i..i + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            i += n;
            Some(value)
        }
    };
    if let Some(len) = len
        && limit.saturating_sub(i) < len
    {
        return err(pos, "length runs past the end of the enclosing element");
    }
    Ok(Header {
        tag,
        constructed,
        len,
        content_start: i,
    })
}

/// Walks the single element that must make up `input`, without recursion, and reports each
/// element to `sink` in document order.
fn walk<'a>(
    input: &'a [u8],
    mut sink: impl FnMut(Event<'a>) -> Result<(), BerError>,
) -> Result<(), BerError> {
    // One entry per open constructed element: its end, or `None` while indefinite.
    let mut open: Vec<Option<usize>> = Vec::new();
    let mut pos = 0usize;
    let mut started = false;
    loop {
        // The nearest definite end bounds everything inside it.
        let limit = open.iter().rev().find_map(|e| *e).unwrap_or(input.len());
        match open.last() {
            Some(Some(end)) if pos == *end => {
                open.pop();
                sink(Event::Close)?;
                continue;
            }
            Some(None) if limit - pos >= 2 && input[pos] == 0 && input[pos + 1] == 0 => {
                pos += 2;
                open.pop();
                sink(Event::Close)?;
                continue;
            }
            Some(_) => {}
            None if started => break,
            None => started = true,
        }
        let h = read_header(input, pos, limit)?;
        if h.constructed {
            if open.len() >= MAX_DEPTH {
                return err(pos, "nesting deeper than the limit");
            }
            sink(Event::Open {
                tag: h.tag,
                offset: pos,
            })?;
            open.push(h.len.map(|len| h.content_start + len));
            pos = h.content_start;
        } else {
            // `read_header` refuses indefinite primitives.
            let len = h.len.unwrap_or(0);
            sink(Event::Primitive {
                tag: h.tag,
                content: &input[h.content_start..h.content_start + len],
                offset: pos,
            })?;
            pos = h.content_start + len;
        }
    }
    if pos != input.len() {
        return err(pos, "trailing bytes after the top-level element");
    }
    Ok(())
}

/// Number of octets DER uses for a length.
fn length_octets(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let n = length_octets(len) - 1;
        out.push(0x80 | n as u8);
        for i in (0..n).rev() {
            out.push((len >> (8 * i)) as u8);
        }
    }
}

const OCTET_STRING: u8 = 0x04;
const OCTET_STRING_CONSTRUCTED: u8 = 0x24;

/// How a constructed element is rewritten.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Identifier and DER length, then the members.
    Normal,
    /// A constructed OCTET STRING at the top: becomes one primitive OCTET STRING.
    FlattenRoot,
    /// A constructed OCTET STRING chunk inside one being flattened: contributes its chunks only.
    FlattenInner,
}

fn child_mode(parent: Option<Mode>, tag: &[u8], offset: usize) -> Result<Mode, BerError> {
    match parent {
        Some(Mode::FlattenRoot | Mode::FlattenInner) => {
            if tag != [OCTET_STRING_CONSTRUCTED] {
                return err(offset, "constructed OCTET STRING holds a non-OCTET STRING");
            }
            Ok(Mode::FlattenInner)
        }
        _ if tag == [OCTET_STRING_CONSTRUCTED] => Ok(Mode::FlattenRoot),
        _ => Ok(Mode::Normal),
    }
}

fn check_chunk(parent: Option<Mode>, tag: &[u8], offset: usize) -> Result<bool, BerError> {
    match parent {
        Some(Mode::FlattenRoot | Mode::FlattenInner) => {
            if tag != [OCTET_STRING] {
                return err(offset, "constructed OCTET STRING holds a non-OCTET STRING");
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn overflow(offset: usize) -> BerError {
    BerError {
        offset,
        reason: "length overflow",
    }
}

#[derive(Default)]
struct Measure {
    /// (index into `lens`, identifier length, mode, accumulated content length)
    stack: Vec<(usize, usize, Mode, usize)>,
    lens: Vec<usize>,
    total: usize,
}

impl Measure {
    fn add(&mut self, n: usize, offset: usize) -> Result<(), BerError> {
        let slot = match self.stack.last_mut() {
            Some(top) => &mut top.3,
            None => &mut self.total,
        };
        *slot = slot.checked_add(n).ok_or_else(|| overflow(offset))?;
        Ok(())
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), BerError> {
        let parent = self.stack.last().map(|f| f.2);
        match event {
            Event::Open { tag, offset } => {
                let mode = child_mode(parent, tag, offset)?;
                self.stack.push((self.lens.len(), tag.len(), mode, 0));
                self.lens.push(0);
            }
            Event::Primitive {
                tag,
                content,
                offset,
            } => {
                let n = if check_chunk(parent, tag, offset)? {
                    content.len()
                } else {
                    tag.len() + length_octets(content.len()) + content.len()
                };
                self.add(n, offset)?;
            }
            Event::Close => {
                let Some((index, tag_len, mode, len)) = self.stack.pop() else {
                    return err(0, "unbalanced structure");
                };
                self.lens[index] = len;
                let n = match mode {
                    Mode::FlattenInner => len,
                    Mode::FlattenRoot => 1 + length_octets(len) + len,
                    Mode::Normal => tag_len + length_octets(len) + len,
                };
                self.add(n, 0)?;
            }
        }
        Ok(())
    }
}

struct Emit<'m> {
    lens: &'m [usize],
    next: usize,
    modes: Vec<Mode>,
    out: Vec<u8>,
}

impl Emit<'_> {
    fn event(&mut self, event: Event<'_>) -> Result<(), BerError> {
        let parent = self.modes.last().copied();
        match event {
            Event::Open { tag, offset } => {
                let mode = child_mode(parent, tag, offset)?;
                let Some(&len) = self.lens.get(self.next) else {
                    return err(offset, "unbalanced structure");
                };
                self.next += 1;
                match mode {
                    Mode::Normal => {
                        self.out.extend_from_slice(tag);
                        write_length(&mut self.out, len);
                    }
                    Mode::FlattenRoot => {
                        self.out.push(OCTET_STRING);
                        write_length(&mut self.out, len);
                    }
                    Mode::FlattenInner => {}
                }
                self.modes.push(mode);
            }
            Event::Primitive {
                tag,
                content,
                offset,
            } => {
                if !check_chunk(parent, tag, offset)? {
                    self.out.extend_from_slice(tag);
                    write_length(&mut self.out, content.len());
                }
                self.out.extend_from_slice(content);
            }
            Event::Close => {
                self.modes.pop();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn der_is_returned_unchanged() {
        let der = hex("30 0a 02 01 01 04 03 61 62 63 05 00");
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn indefinite_lengths_become_definite() {
        let ber = hex("30 80 02 01 01 30 80 05 00 00 00 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("30 07 02 01 01 30 02 05 00"));
    }

    #[test]
    fn non_minimal_lengths_are_shortened() {
        let ber = hex("30 82 00 06 04 81 03 61 62 63");
        assert_eq!(to_der(&ber).unwrap(), hex("30 05 04 03 61 62 63"));
    }

    #[test]
    fn constructed_octet_strings_are_flattened() {
        // [0] EXPLICIT { OCTET STRING (constructed, indefinite) { "ab", { "c" } } }
        let ber = hex("a0 80 24 80 04 02 61 62 24 03 04 01 63 00 00 00 00");
        assert_eq!(to_der(&ber).unwrap(), hex("a0 05 04 03 61 62 63"));
    }

    #[test]
    fn long_lengths_are_written_minimally() {
        let content = vec![0x41u8; 300];
        let mut ber = hex("24 80 04 82 01 2c");
        ber.extend_from_slice(&content);
        ber.extend_from_slice(&[0, 0]);
        let mut want = hex("04 82 01 2c");
        want.extend_from_slice(&content);
        assert_eq!(to_der(&ber).unwrap(), want);
    }

    #[test]
    fn high_tag_numbers_are_copied() {
        let der = hex("30 04 9f 1f 01 00");
        assert_eq!(to_der(&der).unwrap(), der);
    }

    #[test]
    fn malformed_inputs_are_refused() {
        for bad in [
            "",                        // empty
            "30",                      // no length
            "30 05 02 01",             // truncated content
            "30 80 02 01 01",          // missing end-of-contents
            "04 80 00 00",             // indefinite primitive
            "30 02 00 00",             // end-of-contents in a definite element
            "30 85 00 00 00 00 00",    // length of 5 octets
            "30 00 00",                // trailing byte
            "30 ff",                   // reserved length
            "24 03 02 01 01",          // constructed OCTET STRING with an INTEGER chunk
            "1f 80 01 00",             // high tag number with leading zero octet
            "30 03 02 02 01",          // inner length past the outer end
            "30 80 30 03 02 01 01 00", // end-of-contents cut short
        ] {
            assert!(to_der(&hex(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = Vec::new();
        for _ in 0..MAX_DEPTH + 1 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..MAX_DEPTH + 1 {
            deep.extend_from_slice(&[0, 0]);
        }
        assert_eq!(
            to_der(&deep).unwrap_err().reason,
            "nesting deeper than the limit"
        );
        let ok = &deep[2..deep.len() - 2];
        assert!(to_der(ok).is_ok());
    }

    #[test]
    fn length_octets_match_encoding() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24] {
            let mut out = Vec::new();
            write_length(&mut out, len);
            assert_eq!(out.len(), length_octets(len), "{len}");
        }
    }
}
