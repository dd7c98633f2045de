//! Caps on every size and count that an attacker controls. Each default says where its number
//! comes from; every cap is checked before the bytes it guards are parsed.

/// The limits one verification runs under. `Limits::default()` matches the reference
/// implementation wherever it has a limit, so notaryd accepts what `notation verify` accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest signature envelope blob, in bytes. notation-go caps envelope blobs at 32 MiB
    /// (`maxBlobSizeLimit`); real envelopes are a few KiB.
    pub max_envelope_bytes: u64,
    /// Largest signature manifest, or image manifest/index read while discovering
    /// signatures, in bytes. notation-go caps signature manifests at 4 MiB
    /// (`maxManifestSizeLimit`), the same as the distribution spec's suggested minimum
    /// that registries must accept.
    pub max_manifest_bytes: u64,
    /// Most signatures tried for one artifact. notation's `--max-signatures` default is 100.
    /// Exceeding it fails the verification, as in notation.
    pub max_signature_attempts: usize,
    /// Most certificates in one x5c chain (or in one timestamp token). notation has no cap;
    /// 10 is generous (public PKIs use 3–4) and bounds the signature checks to a few ms.
    pub max_chain_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: 32 * 1024 * 1024,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_signature_attempts: 100,
            max_chain_len: 10,
        }
    }
}

/// Most entries in a `crit` header. The Notary spec defines five critical attributes; 64 leaves
/// room for extended attributes and still bounds the quadratic presence checks.
pub const MAX_CRIT_ENTRIES: usize = 64;

/// Most signerInfos looked at in one RFC 3161 token. TSAs emit one; tspclient-go tests use two.
/// Enforced by the RFC 3161 verifier (`timestamp.rs`, still a stand-in on this branch).
pub const MAX_TIMESTAMP_SIGNERS: usize = 8;

/// Largest single certificate accepted, in bytes. Real code-signing and TSA certificates are
/// 1–3 KiB; 64 KiB covers certificates with large extensions and keeps parsing cheap.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Largest RFC 3161 timestamp token accepted, in bytes. tspclient-go, which notation signs
/// with, refuses TSA responses over 1 MiB (`maxBodyLength`), so no notation-made envelope holds
/// a larger token; real tokens are 3–8 KiB.
pub const MAX_TIMESTAMP_TOKEN_BYTES: usize = 1024 * 1024;

/// Most signed attributes read in one timestamp signerInfo. TSAs send four to six
/// (contentType, messageDigest, signingTime, signing-certificate v1/v2, CMS algorithm
/// protection); 32 is generous and bounds the duplicate checks.
pub const MAX_SIGNED_ATTRIBUTES: usize = 32;

/// Deepest nesting of arrays, maps and tags in one CBOR document (the COSE_Sign1 structure, or
/// the protected header inside it). go-cose decodes with fxamacker/cbor's default of 32 nested
/// levels; a Notary envelope needs 3. The CBOR reader recurses once per level, so this also
/// bounds its stack use.
pub const MAX_CBOR_DEPTH: usize = 32;

/// Most data items (every integer, string, array, map, tag and simple value counts one) in one
/// CBOR document. A Notary envelope holds under a hundred. fxamacker/cbor caps each array and
/// map at 131 072 entries but not the total; notaryd caps the total so that a 32 MiB envelope
/// of one-byte items cannot make the reader build a tree of millions of nodes.
pub const MAX_CBOR_ITEMS: usize = 16 * 1024;

/// Most values (objects, arrays, strings, numbers, booleans, nulls) in one untrusted JSON
/// document: an envelope, its protected header, a payload, a manifest or an index. A parsed
/// value costs 16–100 times the bytes that encode it, so without this a 32 MiB envelope of
/// `[0,0,...]` makes the verifier hold over 500 MiB before refusing it. The largest real
/// documents are indexes: at `oci::MAX_DESCRIPTORS` (10,000) entries of up to 20 values each
/// (a descriptor with platform and annotations has about 10), 200,000 fits; a Notary envelope
/// has about 20 values and a payload a few more per annotation. notation has no such limit;
/// its size limits alone bound nothing here because Go decodes into fixed structs.
pub const MAX_JSON_VALUES: usize = 200_000;

/// Largest CRL accepted, in bytes: one byte under 32 MiB. notation reads a CRL through a
/// 32 MiB `io.LimitReader` (`maxCRLSize`) and refuses a body that fills it, so 32 MiB − 1 is
/// the largest CRL notation accepts. The largest public CRLs are 10–20 MB. Checked before a
/// single byte is parsed.
pub const MAX_CRL_BYTES: usize = 32 * 1024 * 1024 - 1;

/// Longest serial number in a CRL entry, in contents octets of the DER INTEGER. RFC 5280
/// §4.1.2.2 caps serial numbers at 20 octets, so with the sign octet a conforming serial takes
/// 21 (x509-cert accepts 21 in certificates); 32 leaves room for non-conforming CAs. A longer
/// serial refuses the whole CRL: it bounds the serial arena and every index comparison.
pub const MAX_CRL_SERIAL_BYTES: usize = 32;

/// Longest CRL number or base CRL number (deltaCRLIndicator), in contents octets. RFC 5280
/// §5.2.3 caps them at 20 octets (21 with the sign octet); 32 as for serial numbers.
pub const MAX_CRL_NUMBER_BYTES: usize = 32;

/// Most extensions in a CRL's `crlExtensions`. Real CRLs carry two to four (authority key
/// identifier, CRL number, and sometimes an issuing distribution point, a freshest CRL or a
/// delta indicator); 32 is generous and bounds the duplicate checks.
pub const MAX_CRL_EXTENSIONS: usize = 32;

/// Most extensions in one CRL entry. Real entries carry at most two (reason code, invalidity
/// date); 16 bounds the per-entry duplicate check, which runs for every one of up to a
/// million entries.
pub const MAX_CRL_ENTRY_EXTENSIONS: usize = 16;

/// Largest value of a CRL extension that is decoded (authority key identifier, issuing
/// distribution point, freshest CRL), in bytes. They are a few hundred bytes in practice;
/// 64 KiB bounds what their decoders allocate. Extensions that are not decoded are not capped
/// beyond the CRL's size.
pub const MAX_CRL_EXTENSION_BYTES: usize = 64 * 1024;

/// Most URIs kept from a CRL's issuing distribution point and freshest-CRL extensions
/// together. Real CRLs name one to three; each becomes a `String`, so this bounds the
/// allocations a small extension can cause.
pub const MAX_CRL_URIS: usize = 32;
