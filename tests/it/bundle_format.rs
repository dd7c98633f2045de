//! The revocation bundle container (docs/revocation-bundle.md): what `bundle import` and
//! `verify --revocation-bundle` refuse before any CRL or OCSP response is looked at — cut or
//! altered files, every cap, unknown fields and versions — and the operator signatures.

use base64::Engine;
use notaryd::bundle::format::{
    self, BundleError, BundleKey, ItemKind, MAX_CRL_BYTES, MAX_HEADER_BYTES, MAX_ITEMS,
    MAX_OCSP_BYTES, MAX_SIGNATURE_BYTES, SigningKey,
};
use proptest::prelude::*;

use crate::common::pki::{KeyKind, TestKey};

fn items() -> Vec<(format::ItemHeader, Vec<u8>)> {
    vec![
        (
            format::item(ItemKind::Crl, Some("http://crl.test/a.crl".into())),
            b"a CRL's bytes".to_vec(),
        ),
        (
            format::item(ItemKind::Ocsp, None),
            b"an OCSP response".to_vec(),
        ),
        (
            format::item(ItemKind::Certificate, None),
            b"a certificate".to_vec(),
        ),
    ]
}

fn signer(kind: KeyKind, slot: usize) -> (SigningKey, BundleKey) {
    let key = TestKey::cached(kind, slot);
    let signing = SigningKey::from_pkcs8_pem(key.pkcs8_pem().as_bytes()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(key.spki_der());
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
    (signing, BundleKey::from_pem(pem.as_bytes()).unwrap())
}

/// A header-only bundle with `header` as its JSON (lengths and hashes as given).
fn with_header(header: &serde_json::Value, body: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap();
    let mut out = format::MAGIC.to_vec();
    out.extend_from_slice(&format::VERSION.to_be_bytes());
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(body);
    out
}

fn header_of(bytes: &[u8]) -> serde_json::Value {
    let len = u32::from_be_bytes(bytes[12..16].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[16..16 + len]).unwrap()
}

fn body_of(bytes: &[u8]) -> &[u8] {
    let len = u32::from_be_bytes(bytes[12..16].try_into().unwrap()) as usize;
    &bytes[16 + len..]
}

#[test]
fn a_bundle_reads_back_as_written() {
    let bytes = format::write("2026-11-28T00:00:00Z", "test", &items(), None).unwrap();
    let b = format::parse(&bytes).unwrap();
    assert_eq!(b.header.producer, "test");
    assert_eq!(b.items.len(), 3);
    for ((h, data), (expected_h, expected)) in b.items.iter().zip(items()) {
        assert_eq!(*data, expected.as_slice());
        assert_eq!(h.kind, expected_h.kind);
        assert_eq!(h.length, expected.len() as u64);
    }
    assert!(b.signature.is_none());
}

#[test]
fn every_truncation_is_refused() {
    let (key, _) = signer(KeyKind::P256, 80);
    for signed in [None, Some(&key)] {
        let bytes = format::write("2026-11-28T00:00:00Z", "test", &items(), signed).unwrap();
        for cut in 0..bytes.len() {
            let r = format::parse(&bytes[..cut]);
            // A bundle cut exactly before its signature block is a valid unsigned bundle;
            // with keys configured it is refused as unsigned (tests/it/bundle_cli.rs).
            if let Ok(b) = &r {
                assert!(
                    signed.is_some() && b.signature.is_none(),
                    "cut at {cut} accepted"
                );
                continue;
            }
            assert!(r.is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn every_byte_flip_is_refused_by_the_format_or_the_signature() {
    let (key, public) = signer(KeyKind::P256, 80);
    let bytes = format::write("2026-11-28T00:00:00Z", "test", &items(), Some(&key)).unwrap();
    let b = format::parse(&bytes).unwrap();
    format::verify_signature(
        b.signed_bytes,
        b.signature.as_ref().unwrap(),
        std::slice::from_ref(&public),
    )
    .unwrap();
    for i in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[i] ^= 0x01;
        let accepted = match format::parse(&altered) {
            Err(_) => false,
            Ok(b) => match &b.signature {
                None => false,
                Some(sig) => {
                    format::verify_signature(b.signed_bytes, sig, std::slice::from_ref(&public))
                        .is_ok()
                }
            },
        };
        assert!(!accepted, "flip of byte {i} accepted");
    }
}

#[test]
fn signatures_by_each_key_kind_verify_only_with_that_key() {
    let (p384, p384_pub) = signer(KeyKind::P384, 81);
    let (rsa, rsa_pub) = signer(KeyKind::Rsa2048, 0);
    let (_, other_pub) = signer(KeyKind::P256, 82);
    for (key, public, alg) in [(&p384, &p384_pub, "ES384"), (&rsa, &rsa_pub, "PS256")] {
        let bytes = format::write("t", "p", &items(), Some(key)).unwrap();
        let b = format::parse(&bytes).unwrap();
        let sig = b.signature.as_ref().unwrap();
        assert_eq!(sig.algorithm, alg);
        assert_eq!(sig.key_id, public.key_id());
        format::verify_signature(b.signed_bytes, sig, &[other_pub.clone(), public.clone()])
            .unwrap();
        let err = format::verify_signature(b.signed_bytes, sig, std::slice::from_ref(&other_pub))
            .unwrap_err();
        assert!(matches!(err, BundleError::Signature(_)), "{err}");
    }
}

#[test]
fn detached_signature_next_to_the_file_is_checked() {
    let (key, public) = signer(KeyKind::P256, 80);
    let (other, _) = signer(KeyKind::P256, 82);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.bundle");
    let bytes = format::write("t", "p", &items(), None).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let keys = [public];
    // Unsigned with keys configured: refused, naming the missing .sig.
    let err = notaryd::bundle::open_bundle(&path, &bytes, &keys).unwrap_err();
    assert!(err.to_string().contains("unsigned"), "{err}");
    // Without keys: accepted as is.
    notaryd::bundle::open_bundle(&path, &bytes, &[]).unwrap();
    let sig_path = dir.path().join("r.bundle.sig");
    for (signer, ok) in [(&key, true), (&other, false)] {
        let sig = signer.sign(&bytes).unwrap();
        std::fs::write(&sig_path, serde_json::to_vec(&sig).unwrap()).unwrap();
        assert_eq!(
            notaryd::bundle::open_bundle(&path, &bytes, &keys).is_ok(),
            ok
        );
    }
    std::fs::write(&sig_path, b"{not json").unwrap();
    assert!(notaryd::bundle::open_bundle(&path, &bytes, &keys).is_err());
}

#[test]
fn caps_are_enforced_from_the_header_before_reading_items() {
    let bytes = format::write("t", "p", &items(), None).unwrap();
    let header = header_of(&bytes);
    let body = body_of(&bytes).to_vec();

    // An item longer than its kind's cap, even if the file were that long.
    for (index, cap) in [(0usize, MAX_CRL_BYTES), (1, MAX_OCSP_BYTES)] {
        let mut h = header.clone();
        h["items"][index]["length"] = (cap + 1).into();
        let err = format::parse(&with_header(&h, &body)).unwrap_err();
        assert!(
            matches!(&err, BundleError::Item { index: i, reason, .. } if *i == index && reason.contains("limit")),
            "{err}"
        );
    }
    // A length pointing past the end of the file.
    let mut h = header.clone();
    h["items"][2]["length"] = 10_000.into();
    assert!(matches!(
        format::parse(&with_header(&h, &body)),
        Err(BundleError::Item { index: 2, .. })
    ));
    // Too many items.
    let mut h = header.clone();
    let one = h["items"][1].clone();
    h["items"] = serde_json::Value::Array(vec![one; MAX_ITEMS + 1]);
    let err = format::parse(&with_header(&h, &body)).unwrap_err();
    assert!(err.to_string().contains("items"), "{err}");
    // A header length over the cap, in the fixed part.
    let mut big = bytes.clone();
    big[12..16].copy_from_slice(&((MAX_HEADER_BYTES + 1) as u32).to_be_bytes());
    assert!(matches!(
        format::parse(&big),
        Err(BundleError::TooLarge { .. })
    ));
    // A signature block declaring more than its cap.
    let mut sig = bytes.clone();
    sig.extend_from_slice(format::SIGNATURE_MAGIC);
    sig.extend_from_slice(&((MAX_SIGNATURE_BYTES + 1) as u32).to_be_bytes());
    assert!(matches!(
        format::parse(&sig),
        Err(BundleError::TooLarge { .. })
    ));
}

#[test]
fn unknown_versions_fields_and_kinds_are_refused() {
    let bytes = format::write("t", "p", &items(), None).unwrap();
    let header = header_of(&bytes);
    let body = body_of(&bytes).to_vec();
    let mut v2 = bytes.clone();
    v2[10..12].copy_from_slice(&2u16.to_be_bytes());
    assert!(
        format::parse(&v2)
            .unwrap_err()
            .to_string()
            .contains("version 2")
    );
    for (path, value) in [
        ("/version", serde_json::json!(2)),
        ("/extra", serde_json::json!(true)),
        ("/items/0/kind", serde_json::json!("delta")),
        ("/items/0/trusted", serde_json::json!(true)),
    ] {
        let mut h = header.clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut h
        } else {
            h.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        assert!(
            matches!(
                format::parse(&with_header(&h, &body)),
                Err(BundleError::Header(_))
            ),
            "{path}"
        );
    }
    // Duplicate keys in the header are refused, as in every JSON notaryd reads.
    let json = String::from_utf8(serde_json::to_vec(&header).unwrap()).unwrap();
    let dup = json.replacen("{\"createdAt\":", "{\"producer\":\"x\",\"createdAt\":", 1);
    assert_ne!(dup, json);
    let mut out = format::MAGIC.to_vec();
    out.extend_from_slice(&format::VERSION.to_be_bytes());
    out.extend_from_slice(&(dup.len() as u32).to_be_bytes());
    out.extend_from_slice(dup.as_bytes());
    out.extend_from_slice(&body);
    assert!(matches!(format::parse(&out), Err(BundleError::Header(_))));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = format::parse(&bytes);
        let mut prefixed = format::MAGIC.to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = format::parse(&prefixed);
    }
}
