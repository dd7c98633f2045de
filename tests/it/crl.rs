//! CRLs (`notaryd::verify::revocation::crl`): one test per rule, named after the case, on
//! CRLs the tests build (`common::crl`), then notation's CRL vectors from `../shared/vectors`
//! (INDEX.md §D), read in place and never copied.

use std::path::PathBuf;
use std::sync::OnceLock;

use notaryd::verify::limits::{MAX_CRL_BYTES, MAX_CRL_SERIAL_BYTES};
use notaryd::verify::revocation::crl::{Crl, CrlError, CrlReason, cmp_crl_numbers};
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::parse_certificate_file;
use notaryd::verify::x509::Certificate;
use proptest::prelude::*;
use rcgen::KeyUsagePurpose;

use crate::common::crl::*;
use crate::common::pki::{CertSpec, KeyKind, KeyUsageSpec, TestCert, TestKey};

/// An RSA CA (root) and an EC CA, each with a leaf that names a CRL distribution point.
struct Pki {
    rsa_ca: TestCert,
    ec_ca: TestCert,
    /// Same subject as `rsa_ca`, another key.
    rsa_ca_twin: TestCert,
    /// Issued by `rsa_ca`, CDP `http://crl.test/ca.crl`.
    leaf: TestCert,
    /// A CA issued by `rsa_ca`, CDP `http://crl.test/ca.crl`.
    sub_ca: TestCert,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let rsa_ca = TestCert::self_signed(
            CertSpec::ca("crl test CA", None),
            TestKey::cached(KeyKind::Rsa2048, 40),
        );
        let rsa_ca_twin = TestCert::self_signed(
            CertSpec::ca("crl test CA", None),
            TestKey::cached(KeyKind::Rsa2048, 41),
        );
        let ec_ca = TestCert::self_signed(
            CertSpec::ca("crl test EC CA", None),
            TestKey::cached(KeyKind::P256, 40),
        );
        let mut leaf_spec = CertSpec::code_signing("crl test leaf");
        leaf_spec.crl_urls = vec!["http://crl.test/ca.crl".into()];
        let leaf = rsa_ca.issue(leaf_spec, TestKey::cached(KeyKind::P256, 41));
        let mut sub_spec = CertSpec::ca("crl test sub CA", Some(0));
        sub_spec.crl_urls = vec!["http://crl.test/ca.crl".into()];
        let sub_ca = rsa_ca.issue(sub_spec, TestKey::cached(KeyKind::P256, 42));
        Pki {
            rsa_ca,
            ec_ca,
            rsa_ca_twin,
            leaf,
            sub_ca,
        }
    })
}

fn cert(c: &TestCert) -> Certificate {
    Certificate::from_der(&c.der).unwrap()
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs)
}

fn parse(spec: &CrlSpec) -> Result<Crl, CrlError> {
    let p = pki();
    Crl::parse_and_verify(&spec.sign(&p.rsa_ca.key), &cert(&p.rsa_ca))
}

fn parse_ok(spec: &CrlSpec) -> Crl {
    parse(spec).unwrap()
}

#[test]
fn valid_crl_is_indexed_and_looked_up() {
    let p = pki();
    for (ca, name) in [(&p.rsa_ca, "RSA PKCS#1 SHA-256"), (&p.ec_ca, "ECDSA P-256")] {
        let mut spec = CrlSpec::new(ca);
        spec.number = Some(4098);
        for serial in [1000u64, 3, 0x80, 0xffff_ffff, 1 << 40] {
            spec.entries.push(EntrySpec::new(serial, THIS_UPDATE - DAY));
        }
        spec.entries
            .push(EntrySpec::new(77, THIS_UPDATE - 2 * DAY).reason(1));
        let der = spec.sign(&ca.key);
        let crl = Crl::parse_and_verify(&der, &cert(ca)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(crl.entry_count(), 6, "{name}");
        assert_eq!(crl.number(), Some(&[0x10, 0x02][..]), "{name}");
        assert_eq!(crl.delta_base(), None);
        assert!(!crl.is_delta());
        assert_eq!(crl.this_update(), ts(THIS_UPDATE));
        assert_eq!(crl.next_update(), Some(ts(THIS_UPDATE + 7 * DAY)));
        assert_eq!(crl.issuer_der(), cert(ca).subject_der());
        assert_eq!(crl.issuer(), cert(ca).subject());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        assert_eq!(&crl.sha256()[..], digest.as_ref());
        assert!(crl.freshest_crl_urls().is_empty());
        for serial in [1000u64, 3, 0x80, 0xffff_ffff, 1 << 40] {
            let e = crl
                .lookup(&uint(serial))
                .unwrap_or_else(|| panic!("{serial}"));
            assert_eq!(e.revocation_time, ts(THIS_UPDATE - DAY));
            assert_eq!(e.reason, None);
            assert_eq!(e.invalidity_date, None);
            assert!(!e.is_unusable());
        }
        let e = crl.lookup(&uint(77)).unwrap();
        assert_eq!(e.reason, Some(CrlReason::KeyCompromise));
        for absent in [0u64, 1, 2, 4, 999, 1001, 0x7f, 0x81, 1 << 41] {
            assert_eq!(crl.lookup(&uint(absent)), None, "{absent}");
        }
        // A redundant sign octet in the query is ignored.
        assert!(crl.lookup(&[0, 0, 0x03, 0xe8]).is_some());
        assert!(crl.heap_bytes() > 0);
    }
}

#[test]
fn crl_is_plain_shareable_data() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Crl>();
    shareable::<CrlError>();
}

#[test]
fn crl_without_entries_has_none() {
    let p = pki();
    let crl = parse_ok(&CrlSpec::new(&p.rsa_ca));
    assert_eq!(crl.entry_count(), 0);
    assert_eq!(crl.lookup(&[1]), None);
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.empty_revoked_sequence = true;
    assert_eq!(parse_ok(&spec).entry_count(), 0);
}

#[test]
fn crl_signed_by_the_wrong_key_is_refused() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec::new(5, THIS_UPDATE));
    // Same name, another key: the twin CA's key signed it.
    let der = spec.sign(&p.rsa_ca_twin.key);
    assert!(matches!(
        Crl::parse_and_verify(&der, &cert(&p.rsa_ca)),
        Err(CrlError::BadSignature { .. })
    ));
    // And the other way round.
    let der = spec.sign(&p.rsa_ca.key);
    assert!(matches!(
        Crl::parse_and_verify(&der, &cert(&p.rsa_ca_twin)),
        Err(CrlError::BadSignature { .. })
    ));
    // A key of another type.
    let der = spec.sign(&p.ec_ca.key);
    assert!(matches!(
        Crl::parse_and_verify(&der, &cert(&p.rsa_ca)),
        Err(CrlError::BadSignature { .. })
    ));
}

#[test]
fn issuer_name_mismatch_is_refused() {
    let p = pki();
    // Signed by the right key, but naming the EC CA.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.issuer_name = subject_der(&p.ec_ca);
    let err = parse(&spec).unwrap_err();
    assert!(
        matches!(&err, CrlError::IssuerMismatch { crl_issuer, issuer }
            if crl_issuer.contains("crl test EC CA") && issuer.contains("crl test CA")),
        "{err}"
    );
}

#[test]
fn tampered_entry_is_refused() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(0x1234, THIS_UPDATE))
        .entry(EntrySpec::new(0x5678, THIS_UPDATE));
    let der = spec.sign(&p.rsa_ca.key);
    let at = der.windows(2).position(|w| w == [0x12, 0x34]).unwrap();
    let mut tampered = der.clone();
    tampered[at] = 0x99;
    assert!(matches!(
        Crl::parse_and_verify(&tampered, &cert(&p.rsa_ca)),
        Err(CrlError::BadSignature { .. })
    ));
    // Dropping an entry, re-encoded consistently, is caught as well.
    let mut fewer = spec.clone();
    fewer.entries.pop();
    let honest = fewer.tbs(&algorithm_der(KeyKind::Rsa2048));
    let (_, old_sig) = split_signature(&der);
    let forged = wrap_signed(&honest, &algorithm_der(KeyKind::Rsa2048), &old_sig);
    assert!(matches!(
        Crl::parse_and_verify(&forged, &cert(&p.rsa_ca)),
        Err(CrlError::BadSignature { .. })
    ));
}

#[test]
fn issuer_that_may_not_sign_crls_is_refused() {
    let p = pki();
    // A leaf (basicConstraints cA=FALSE) signing a CRL in its own name.
    let spec = CrlSpec::new(&p.leaf);
    let der = spec.sign(&p.leaf.key);
    let err = Crl::parse_and_verify(&der, &cert(&p.leaf)).unwrap_err();
    assert!(matches!(err, CrlError::IssuerNotCrlSigner { .. }), "{err}");
    // A CA whose keyUsage lacks cRLSign.
    let mut ca_spec = CertSpec::ca("crl test CA without cRLSign", None);
    ca_spec.key_usage = KeyUsageSpec::Critical(vec![KeyUsagePurpose::KeyCertSign]);
    let ca = TestCert::self_signed(ca_spec, TestKey::cached(KeyKind::P256, 43));
    let der = CrlSpec::new(&ca).sign(&ca.key);
    let err = Crl::parse_and_verify(&der, &cert(&ca)).unwrap_err();
    assert!(
        matches!(err, CrlError::IssuerNotCrlSigner { reason, .. } if reason.contains("cRLSign"))
    );
}

#[test]
fn unknown_critical_crl_extension_is_refused() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.extra
        .push(Ext::new(&OID_UNKNOWN, true, vec![0x05, 0x00]));
    let err = parse(&spec).unwrap_err();
    assert!(
        matches!(&err, CrlError::UnknownCriticalExtension { oid } if oid == "1.3.6.1.4.1.99999.1.1"),
        "{err}"
    );
    // The same extension, not critical, is ignored.
    spec.extra[0].critical = false;
    parse_ok(&spec);
    // Known extensions may be critical (the delta indicator is, by RFC 5280).
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.delta_base = Some(1);
    spec.number = Some(2);
    spec.extra.push(Ext::new(&OID_AKI, true, tlv(0x30, &[])));
    parse_ok(&spec);
}

#[test]
fn repeated_crl_extension_is_refused() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.extra
        .push(Ext::new(&OID_CRL_NUMBER, false, tlv(0x02, &[9])));
    assert!(matches!(
        parse(&spec),
        Err(CrlError::DuplicateExtension { .. })
    ));
}

#[test]
fn decoded_extensions_are_capped() {
    let p = pki();
    // 33 freshest-CRL URIs: over MAX_CRL_URIS.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.freshest = (0..33)
        .map(|i| format!("http://crl.test/{i}.crl"))
        .collect();
    assert!(matches!(
        parse(&spec),
        Err(CrlError::MalformedExtension { reason, .. }) if reason.contains("URIs")
    ));
    spec.freshest.truncate(32);
    assert_eq!(parse_ok(&spec).freshest_crl_urls().len(), 32);
    // A freshest-CRL value over MAX_CRL_EXTENSION_BYTES, refused before it is decoded.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.freshest = vec![format!("http://crl.test/{}", "a".repeat(70_000))];
    assert!(matches!(
        parse(&spec),
        Err(CrlError::MalformedExtension { extension: "freshestCRL", reason }) if reason.contains("limit")
    ));
}

#[test]
fn indirect_crl_is_refused() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.idp = Some(IdpSpec {
        indirect: true,
        ..Default::default()
    });
    assert_eq!(parse(&spec).unwrap_err(), CrlError::IndirectCrl);
    // An entry naming a certificate issuer belongs to an indirect CRL too.
    let issuer_names = tlv(0x30, &tlv(0xa4, &subject_der(&p.ec_ca)));
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(1, THIS_UPDATE))
        .entry(EntrySpec::new(2, THIS_UPDATE).ext(Ext::new(
            &OID_CERTIFICATE_ISSUER,
            true,
            issuer_names,
        )));
    assert_eq!(
        parse(&spec).unwrap_err(),
        CrlError::IndirectEntry { index: 1 }
    );
}

#[test]
fn delta_crl_is_parsed_with_its_base_number() {
    let p = pki();
    let mut base = CrlSpec::new(&p.rsa_ca);
    base.number = Some(0x01_0000);
    base.freshest = vec!["http://crl.test/delta.crl".into()];
    let base = parse_ok(&base);
    assert!(!base.is_delta());
    assert_eq!(base.freshest_crl_urls(), ["http://crl.test/delta.crl"]);

    let mut delta = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(9, THIS_UPDATE).reason(6))
        .entry(EntrySpec::new(10, THIS_UPDATE).reason(8));
    delta.number = Some(0x01_0001);
    delta.delta_base = Some(0xff);
    let delta = parse_ok(&delta);
    assert!(delta.is_delta());
    assert_eq!(delta.delta_base(), Some(&[0xff][..]));
    assert_eq!(delta.number(), Some(&[1, 0, 1][..]));
    // What the set checks: number > base number, base indicator <= base number.
    assert!(cmp_crl_numbers(delta.number().unwrap(), base.number().unwrap()).is_gt());
    assert!(cmp_crl_numbers(delta.delta_base().unwrap(), base.number().unwrap()).is_le());
    assert_eq!(
        delta.lookup(&[9]).unwrap().reason,
        Some(CrlReason::CertificateHold)
    );
    assert_eq!(
        delta.lookup(&[10]).unwrap().reason,
        Some(CrlReason::RemoveFromCrl)
    );
}

#[test]
fn malformed_crl_number_is_refused() {
    let p = pki();
    for (value, name) in [
        (tlv(0x02, &[0x80]), "negative"),
        (tlv(0x02, &[0x00, 0x01]), "not minimal"),
        (tlv(0x02, &[0x01; 33]), "too long"),
        (tlv(0x04, &[0x01]), "not an INTEGER"),
        ([tlv(0x02, &[1]), vec![0]].concat(), "trailing data"),
    ] {
        let mut spec = CrlSpec::new(&p.rsa_ca);
        spec.number = None;
        spec.extra.push(Ext::new(&OID_CRL_NUMBER, false, value));
        assert!(
            matches!(
                parse(&spec),
                Err(CrlError::MalformedExtension {
                    extension: "cRLNumber",
                    ..
                })
            ),
            "{name}"
        );
    }
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.number = None;
    assert_eq!(parse_ok(&spec).number(), None);
}

#[test]
fn idp_scope_covers_matching_certificates() {
    let p = pki();
    let (leaf, sub_ca) = (cert(&p.leaf), cert(&p.sub_ca));
    // No IDP: every certificate of the issuer.
    let full = parse_ok(&CrlSpec::new(&p.rsa_ca));
    assert!(full.covers(&leaf) && full.covers(&sub_ca));
    // An IDP naming the certificates' distribution point.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.idp = Some(IdpSpec {
        uris: vec![
            "http://elsewhere.test/x.crl".into(),
            "http://crl.test/ca.crl".into(),
        ],
        ..Default::default()
    });
    let crl = parse_ok(&spec);
    assert!(crl.scope().has_distribution_point);
    assert!(crl.covers(&leaf) && crl.covers(&sub_ca));
    // onlyContainsUserCerts / onlyContainsCACerts.
    spec.idp.as_mut().unwrap().only_user_certs = true;
    let users = parse_ok(&spec);
    assert!(users.covers(&leaf) && !users.covers(&sub_ca));
    spec.idp.as_mut().unwrap().only_user_certs = false;
    spec.idp.as_mut().unwrap().only_ca_certs = true;
    let cas = parse_ok(&spec);
    assert!(!cas.covers(&leaf) && cas.covers(&sub_ca));
}

#[test]
fn idp_scope_does_not_cover_other_certificates() {
    let p = pki();
    let leaf = cert(&p.leaf);
    // Another distribution point.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.idp = Some(IdpSpec {
        uris: vec!["http://crl.test/partition-2.crl".into()],
        ..Default::default()
    });
    assert!(!parse_ok(&spec).covers(&leaf));
    // Attribute certificates only.
    spec.idp = Some(IdpSpec {
        only_attribute_certs: true,
        ..Default::default()
    });
    assert!(!parse_ok(&spec).covers(&leaf));
    // A certificate of another issuer is never covered.
    let full = parse_ok(&CrlSpec::new(&p.rsa_ca));
    assert!(!full.covers(&cert(&p.ec_ca)));
    // Two "only" flags at once is malformed.
    spec.idp = Some(IdpSpec {
        only_user_certs: true,
        only_ca_certs: true,
        ..Default::default()
    });
    assert!(matches!(
        parse(&spec),
        Err(CrlError::MalformedExtension {
            extension: "issuingDistributionPoint",
            ..
        })
    ));
}

#[test]
fn idp_only_some_reasons_is_reported() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    // keyCompromise and cACompromise: bits 1 and 2.
    spec.idp = Some(IdpSpec {
        only_some_reasons: Some(vec![5, 0x60]),
        ..Default::default()
    });
    let crl = parse_ok(&spec);
    let reasons = crl.scope().only_some_reasons.unwrap();
    assert!(reasons.contains(CrlReason::KeyCompromise));
    assert!(reasons.contains(CrlReason::CaCompromise));
    assert!(!reasons.contains(CrlReason::Superseded));
    assert!(crl.covers(&cert(&p.leaf)));
}

#[test]
fn entry_with_reason_and_invalidity_date() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(
            EntrySpec::new(42, THIS_UPDATE - DAY)
                .reason(1)
                .invalidity(THIS_UPDATE - 30 * DAY),
        )
        .entry(EntrySpec::new(43, THIS_UPDATE).reason(7))
        .entry(EntrySpec::new(44, THIS_UPDATE).reason(200));
    let crl = parse_ok(&spec);
    let e = crl.lookup(&[42]).unwrap();
    assert_eq!(e.revocation_time, ts(THIS_UPDATE - DAY));
    assert_eq!(e.reason, Some(CrlReason::KeyCompromise));
    assert_eq!(e.invalidity_date, Some(ts(THIS_UPDATE - 30 * DAY)));
    assert!(!e.is_unusable());
    // Codes RFC 5280 does not define are kept, not refused.
    assert_eq!(
        crl.lookup(&[43]).unwrap().reason,
        Some(CrlReason::Unrecognized(7))
    );
    assert_eq!(
        crl.lookup(&[44]).unwrap().reason,
        Some(CrlReason::Unrecognized(200))
    );
}

#[test]
fn invalidity_date_with_fraction_is_read() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec::new(1, THIS_UPDATE).ext(Ext::new(
        &OID_INVALIDITY_DATE,
        false,
        tlv(0x18, b"20251231235959.25Z"),
    )));
    let e = parse_ok(&spec).lookup(&[1]).unwrap();
    assert_eq!(
        e.invalidity_date,
        Some(Timestamp::from_unix_nanos(
            i128::from(THIS_UPDATE - 1) * 1_000_000_000 + 250_000_000
        ))
    );
}

#[test]
fn malformed_invalidity_date_marks_only_its_entry() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(1, THIS_UPDATE).ext(Ext::new(
            &OID_INVALIDITY_DATE,
            false,
            tlv(0x17, b"251231235959Z"),
        )))
        .entry(EntrySpec::new(2, THIS_UPDATE).reason(1));
    let crl = parse_ok(&spec);
    let bad = crl.lookup(&[1]).unwrap();
    assert!(bad.malformed_extension && bad.is_unusable());
    assert_eq!(bad.invalidity_date, None);
    assert!(!crl.lookup(&[2]).unwrap().is_unusable());
}

#[test]
fn malformed_reason_code_is_refused() {
    let p = pki();
    for value in [
        tlv(0x02, &[1]),
        tlv(0x0a, &[0xff]),
        tlv(0x0a, &[0x01, 0x00]),
        tlv(0x0a, &[]),
    ] {
        let spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec::new(1, THIS_UPDATE).ext(Ext::new(
            &OID_REASON_CODE,
            false,
            value,
        )));
        assert!(matches!(
            parse(&spec),
            Err(CrlError::MalformedEntry {
                index: 0,
                field: "reasonCode",
                ..
            })
        ));
    }
}

#[test]
fn entry_with_unknown_critical_extension_is_marked() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(1, THIS_UPDATE).ext(Ext::new(&OID_UNKNOWN, true, vec![5, 0])))
        .entry(EntrySpec::new(2, THIS_UPDATE).ext(Ext::new(&OID_UNKNOWN, false, vec![5, 0])))
        .entry(EntrySpec::new(3, THIS_UPDATE).reason(4));
    let crl = parse_ok(&spec);
    let marked = crl.lookup(&[1]).unwrap();
    assert!(marked.unsupported_critical_extension && marked.is_unusable());
    assert!(!crl.lookup(&[2]).unwrap().is_unusable());
    assert_eq!(
        crl.lookup(&[3]).unwrap().reason,
        Some(CrlReason::Superseded)
    );
}

#[test]
fn repeated_entry_extension_marks_the_entry() {
    let p = pki();
    let spec =
        CrlSpec::new(&p.rsa_ca).entry(EntrySpec::new(1, THIS_UPDATE).reason(1).ext(Ext::new(
            &OID_REASON_CODE,
            false,
            tlv(0x0a, &[8]),
        )));
    assert!(parse_ok(&spec).lookup(&[1]).unwrap().malformed_extension);
}

#[test]
fn too_many_entry_extensions_are_refused() {
    let p = pki();
    let mut entry = EntrySpec::new(1, THIS_UPDATE);
    for i in 0..17u64 {
        entry.extra.push(Ext::new(
            &[1, 3, 6, 1, 4, 1, 99999, 2, i],
            false,
            vec![5, 0],
        ));
    }
    assert_eq!(
        parse(&CrlSpec::new(&p.rsa_ca).entry(entry)).unwrap_err(),
        CrlError::TooManyEntryExtensions { index: 0 }
    );
}

#[test]
fn duplicate_serial_handling() {
    let p = pki();
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(7, THIS_UPDATE - 3 * DAY).reason(6))
        .entry(EntrySpec::new(8, THIS_UPDATE - 3 * DAY))
        .entry(EntrySpec::new(7, THIS_UPDATE - DAY).reason(8))
        .entry(EntrySpec::new(7, THIS_UPDATE - 2 * DAY).reason(1))
        .entry(EntrySpec::new(9, THIS_UPDATE).reason(6))
        .entry(EntrySpec::new(9, THIS_UPDATE).reason(8));
    let crl = parse_ok(&spec);
    assert_eq!(crl.entry_count(), 6);
    // lookup: the most recent by revocationDate.
    let latest = crl.lookup(&[7]).unwrap();
    assert_eq!(latest.revocation_time, ts(THIS_UPDATE - DAY));
    assert_eq!(latest.reason, Some(CrlReason::RemoveFromCrl));
    // lookup_all: every entry, in CRL order, so that the set can apply notation's rule (a
    // keyCompromise entry revokes whatever the latest hold/remove entry says).
    let all: Vec<_> = crl.lookup_all(&[7]).map(|e| e.reason).collect();
    assert_eq!(
        all,
        [
            Some(CrlReason::CertificateHold),
            Some(CrlReason::RemoveFromCrl),
            Some(CrlReason::KeyCompromise)
        ]
    );
    // Equal revocation dates: the first in CRL order.
    assert_eq!(
        crl.lookup(&[9]).unwrap().reason,
        Some(CrlReason::CertificateHold)
    );
    assert_eq!(crl.lookup_all(&[8]).count(), 1);
    assert_eq!(crl.lookup_all(&[6]).count(), 0);
}

#[test]
fn serial_with_sign_octet_matches_its_certificate() {
    let p = pki();
    let ca = cert(&p.rsa_ca);
    let key = TestKey::cached(KeyKind::P256, 44);
    let mut ids = Vec::new();
    for serial in [
        vec![0x00, 0x80, 0x01],
        vec![0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77],
        vec![0x7f],
        vec![0x01; 20],
        [vec![0x00], vec![0xab; 20]].concat(),
    ] {
        let der = build_certificate(
            &serial,
            ca.subject_der(),
            &subject_der(&p.leaf),
            &key,
            &[],
            &p.rsa_ca.key,
        );
        let leaf = Certificate::from_der(&der).unwrap();
        assert_eq!(leaf.serial_number(), serial.as_slice());
        ids.push((serial, leaf));
    }
    let mut spec = CrlSpec::new(&p.rsa_ca);
    for (serial, _) in &ids {
        spec.entries.push(EntrySpec {
            serial: serial.clone(),
            ..EntrySpec::new(0, THIS_UPDATE)
        });
    }
    let crl = parse_ok(&spec);
    for (serial, leaf) in &ids {
        assert!(crl.lookup(leaf.serial_number()).is_some(), "{serial:02x?}");
    }
    // Without its sign octet 0x80… is a negative number, another serial.
    assert!(crl.lookup(&[0x80, 0x01]).is_none());
}

#[test]
fn serial_over_the_cap_is_refused() {
    let p = pki();
    let ok = vec![0x01; MAX_CRL_SERIAL_BYTES];
    let spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec {
        serial: ok.clone(),
        ..EntrySpec::new(0, THIS_UPDATE)
    });
    assert!(parse_ok(&spec).lookup(&ok).is_some());
    let spec = CrlSpec::new(&p.rsa_ca)
        .entry(EntrySpec::new(1, THIS_UPDATE))
        .entry(EntrySpec {
            serial: vec![0x01; MAX_CRL_SERIAL_BYTES + 1],
            ..EntrySpec::new(0, THIS_UPDATE)
        });
    assert_eq!(
        parse(&spec).unwrap_err(),
        CrlError::SerialTooLong {
            index: 1,
            len: MAX_CRL_SERIAL_BYTES + 1
        }
    );
}

#[test]
fn non_der_serial_is_refused() {
    let p = pki();
    for serial in [vec![], vec![0x00, 0x05], vec![0xff, 0x80]] {
        let spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec {
            serial,
            ..EntrySpec::new(0, THIS_UPDATE)
        });
        assert!(matches!(
            parse(&spec),
            Err(CrlError::MalformedEntry {
                field: "userCertificate",
                ..
            })
        ));
    }
}

#[test]
fn missing_next_update_is_reported() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.next_update = None;
    spec.entries.push(EntrySpec::new(1, THIS_UPDATE));
    let crl = parse_ok(&spec);
    assert_eq!(crl.next_update(), None);
    assert!(crl.lookup(&[1]).is_some());
}

#[test]
fn generalized_times_after_2049_are_read() {
    let p = pki();
    let far = 4_102_444_800; // 2100-01-01
    let mut spec = CrlSpec::new(&p.rsa_ca).entry(EntrySpec::new(1, far));
    spec.next_update = Some(far);
    let crl = parse_ok(&spec);
    assert_eq!(crl.next_update(), Some(ts(far)));
    assert_eq!(crl.lookup(&[1]).unwrap().revocation_time, ts(far));
}

#[test]
fn v1_crl_is_refused() {
    let p = pki();
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.version = None;
    spec.number = None;
    assert!(matches!(
        parse(&spec),
        Err(CrlError::UnsupportedVersion { .. })
    ));
    spec.version = Some(vec![2]);
    assert!(matches!(
        parse(&spec),
        Err(CrlError::UnsupportedVersion { .. })
    ));
}

#[test]
fn signature_algorithm_mismatch_is_refused() {
    let p = pki();
    // RSA with SHA-256 written without its NULL parameters outside.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.outer_algorithm = Some(tlv(
        0x30,
        &crate::common::pki::oid_der(&[1, 2, 840, 113549, 1, 1, 11]),
    ));
    assert_eq!(
        parse(&spec).unwrap_err(),
        CrlError::SignatureAlgorithmMismatch
    );
}

#[test]
fn sha1_signed_crl_is_refused() {
    let p = pki();
    let mut alg = crate::common::pki::oid_der(&[1, 2, 840, 113549, 1, 1, 5]);
    alg.extend([5, 0]);
    let alg = tlv(0x30, &alg);
    let tbs = CrlSpec::new(&p.rsa_ca).tbs(&alg);
    let der = wrap_signed(&tbs, &alg, &p.rsa_ca.key.sign_pkcs1_sha256(&tbs));
    assert!(matches!(
        Crl::parse_and_verify(&der, &cert(&p.rsa_ca)),
        Err(CrlError::SignatureAlgorithm(_))
    ));
}

#[test]
fn trailing_data_is_refused() {
    let p = pki();
    let mut der = CrlSpec::new(&p.rsa_ca).sign(&p.rsa_ca.key);
    der.push(0);
    assert!(matches!(
        Crl::parse_and_verify(&der, &cert(&p.rsa_ca)),
        Err(CrlError::Malformed { .. })
    ));
}

#[test]
fn explicit_false_criticality_is_accepted() {
    let p = pki();
    let mut value = crate::common::pki::oid_der(&OID_UNKNOWN);
    value.extend([0x01, 0x01, 0x00]);
    push_tlv(&mut value, 0x04, &[5, 0]);
    let ext = tlv(0x30, &value);
    // Written by hand: the builder never writes FALSE.
    let mut spec = CrlSpec::new(&p.rsa_ca);
    spec.number = None;
    let alg = algorithm_der(KeyKind::Rsa2048);
    let tbs = spec.tbs(&alg);
    let mut body = split_tlv(&tbs).0.to_vec();
    body.extend(tlv(0xa0, &tlv(0x30, &ext)));
    let tbs = tlv(0x30, &body);
    let der = wrap_signed(&tbs, &alg, &p.rsa_ca.key.sign_pkcs1_sha256(&tbs));
    Crl::parse_and_verify(&der, &cert(&p.rsa_ca)).unwrap();
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let p = pki();
    let issuer = cert(&p.rsa_ca);
    let huge = vec![0u8; MAX_CRL_BYTES + 1];
    assert_eq!(
        Crl::parse_and_verify(&huge, &issuer).unwrap_err(),
        CrlError::TooLarge {
            len: MAX_CRL_BYTES + 1
        }
    );
    // At the cap the size is accepted, and the zeros fail as DER.
    let at_cap = &huge[..MAX_CRL_BYTES];
    assert!(matches!(
        Crl::parse_and_verify(at_cap, &issuer),
        Err(CrlError::Malformed { .. })
    ));
}

fn split_signature(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // CertificateList ::= SEQUENCE { tbs, alg, BIT STRING }: the tests' own CRLs use
    // lengths the parser below understands.
    let (body, _) = split_tlv(der);
    let (tbs, rest) = split_tlv_raw(body);
    let (_, rest) = split_tlv_raw(rest);
    let (bits, _) = split_tlv(rest);
    (tbs.to_vec(), bits[1..].to_vec())
}

/// (value, rest) of the first element.
fn split_tlv(der: &[u8]) -> (&[u8], &[u8]) {
    let (raw, rest) = split_tlv_raw(der);
    let header = if raw[1] < 0x80 {
        2
    } else {
        2 + usize::from(raw[1] & 0x7f)
    };
    (&raw[header..], rest)
}

/// (whole element, rest).
fn split_tlv_raw(der: &[u8]) -> (&[u8], &[u8]) {
    let (len, header) = if der[1] < 0x80 {
        (usize::from(der[1]), 2)
    } else {
        let n = usize::from(der[1] & 0x7f);
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, 2 + n)
    };
    der.split_at(header + len)
}

// ---------------------------------------------------------------------------------------------
// Robustness

fn fuzz_issuer() -> &'static (TestCert, Certificate, Vec<u8>) {
    static ISSUER: OnceLock<(TestCert, Certificate, Vec<u8>)> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let ca = TestCert::self_signed(
            CertSpec::ca("crl fuzz CA", None),
            TestKey::cached(KeyKind::P256, 45),
        );
        let c = cert(&ca);
        let mut spec = CrlSpec::new(&ca)
            .entry(
                EntrySpec::new(1, THIS_UPDATE)
                    .reason(1)
                    .invalidity(THIS_UPDATE),
            )
            .entry(EntrySpec::new(2, THIS_UPDATE).ext(Ext::new(&OID_UNKNOWN, true, vec![5, 0])));
        spec.idp = Some(IdpSpec {
            uris: vec!["http://crl.test/ca.crl".into()],
            only_user_certs: true,
            ..Default::default()
        });
        spec.freshest = vec!["http://crl.test/delta.crl".into()];
        let valid = spec.sign(&ca.key);
        (ca, c, valid)
    })
}

fn arb_ext() -> impl Strategy<Value = Ext> {
    (
        prop::sample::select(vec![
            OID_REASON_CODE.to_vec(),
            OID_INVALIDITY_DATE.to_vec(),
            OID_UNKNOWN.to_vec(),
            OID_CERTIFICATE_ISSUER.to_vec(),
        ]),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(oid, critical, value)| Ext {
            oid,
            critical,
            value,
        })
}

fn arb_entry() -> impl Strategy<Value = EntrySpec> {
    (
        prop::collection::vec(any::<u8>(), 0..40),
        -5_000_000_000i64..5_000_000_000,
        prop::option::of(any::<u8>()),
        prop::option::of(0i64..4_000_000_000),
        prop::collection::vec(arb_ext(), 0..3),
    )
        .prop_map(|(serial, at, reason, invalidity, extra)| EntrySpec {
            serial,
            revoked_at: at.clamp(-2_000_000_000, 250_000_000_000),
            reason,
            invalidity_date: invalidity,
            extra,
        })
}

fn arb_crl_ext() -> impl Strategy<Value = Ext> {
    (
        prop::sample::select(vec![
            OID_CRL_NUMBER.to_vec(),
            OID_DELTA_CRL_INDICATOR.to_vec(),
            OID_IDP.to_vec(),
            OID_FRESHEST_CRL.to_vec(),
            OID_AKI.to_vec(),
            OID_UNKNOWN.to_vec(),
        ]),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(oid, critical, value)| Ext {
            oid,
            critical,
            value,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never panic.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let (_, issuer, _) = fuzz_issuer();
        let _ = Crl::parse_and_verify(&bytes, issuer);
    }

    /// A valid CRL with bytes changed, truncated or extended never panics and never verifies.
    #[test]
    fn mutated_crl_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (_, issuer, valid) = fuzz_issuer();
        let mut der = valid.clone();
        for (at, byte) in &edits {
            let i = at.index(der.len());
            der[i] ^= byte | 1;
        }
        if truncate {
            der.truncate(cut.index(der.len()));
        }
        prop_assert!(Crl::parse_and_verify(&der, issuer).is_err());
    }

    /// Signed CRLs with arbitrary entries and extensions get past the signature, so the entry
    /// walk and the extension decoders see odd input: errors, never panics, and when the CRL
    /// is accepted every entry is found again.
    #[test]
    fn signed_odd_crls_never_panic(
        entries in prop::collection::vec(arb_entry(), 0..6),
        extensions in prop::collection::vec(arb_crl_ext(), 0..3),
    ) {
        let (ca, issuer, _) = fuzz_issuer();
        let mut spec = CrlSpec::new(ca);
        spec.number = None;
        spec.entries = entries.clone();
        spec.extra = extensions;
        if let Ok(crl) = Crl::parse_and_verify(&spec.sign(&ca.key), issuer) {
            prop_assert_eq!(crl.entry_count(), entries.len());
            for e in &entries {
                prop_assert!(crl.lookup(&e.serial).is_some());
            }
            let _ = crl.covers(issuer);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// notation's vectors (INDEX.md §D)

fn vectors() -> Option<PathBuf> {
    crate::common::vectors::vectors_dir("the CRL vector cases")
}

/// The e2e CRLs against `certchain_with_crl.pem` (LeafCert serial 0x1000, IntermediateCA
/// serial 0x1002 — INDEX.md gives them in hex, as openssl prints them — and RootCA): each
/// parses and verifies with the right issuer from the chain, and gives the expected entry.
#[test]
fn notation_e2e_crls_verify_against_their_issuers() {
    let Some(v) = vectors() else { return };
    let dir = v.join("notation/test/e2e/testdata/config/crl");
    let chain = parse_certificate_file(&std::fs::read(dir.join("certchain_with_crl.pem")).unwrap())
        .unwrap();
    assert_eq!(chain.len(), 3);
    let (leaf, intermediate, root) = (&chain[0], &chain[1], &chain[2]);
    assert_eq!(leaf.serial_number(), [0x10, 0x00]);
    assert_eq!(intermediate.serial_number(), [0x10, 0x02]);
    let time = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let mut ran = 0;
    for (file, issuer, number, revoked) in [
        ("leaf.crl", intermediate, 4096u16, None),
        (
            "leaf_revoked.crl",
            intermediate,
            4097,
            Some((leaf, "2024-11-11T05:30:52Z")),
        ),
        ("intermediate.crl", root, 4098, None),
        (
            "intermediate_revoked.crl",
            root,
            4099,
            Some((intermediate, "2024-11-11T05:30:51Z")),
        ),
    ] {
        let der = std::fs::read(dir.join(file)).unwrap();
        let crl = Crl::parse_and_verify(&der, issuer).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(crl.number(), Some(&number.to_be_bytes()[..]), "{file}");
        assert!(crl.next_update().unwrap() > time("2124-01-01T00:00:00Z"));
        assert!(crl.authority_key_id().is_some());
        let subject = chain
            .iter()
            .find(|c| c.issuer_der() == issuer.subject_der())
            .unwrap();
        assert!(crl.covers(subject), "{file}");
        match revoked {
            Some((cert, at)) => {
                assert_eq!(crl.entry_count(), 1);
                let e = crl.lookup(cert.serial_number()).unwrap();
                assert_eq!(e.revocation_time, time(at), "{file}");
                assert_eq!(e.reason, None);
            }
            None => assert_eq!(crl.entry_count(), 0),
        }
        assert_eq!(
            crl.lookup(leaf.serial_number()).is_some(),
            file == "leaf_revoked.crl"
        );
        assert_eq!(
            crl.lookup(intermediate.serial_number()).is_some(),
            file == "intermediate_revoked.crl"
        );
        // Each belongs to one issuer only.
        let other = if std::ptr::eq(issuer, root) {
            intermediate
        } else {
            root
        };
        assert!(Crl::parse_and_verify(&der, other).is_err(), "{file}");
        ran += 1;
    }
    // leaf_expired.crl names IntermediateCA but was signed by an earlier IntermediateCA key
    // (its authority key identifier differs): notation fails it on the signature before it
    // ever looks at its expired nextUpdate; so do we.
    let der = std::fs::read(dir.join("leaf_expired.crl")).unwrap();
    let err = Crl::parse_and_verify(&der, intermediate).unwrap_err();
    assert!(
        matches!(err, CrlError::BadSignature { .. }),
        "leaf_expired.crl: {err}"
    );
    ran += 1;
    crate::common::report::print_line(
        "conformance",
        &format!("crl vectors: {ran} cases ran (notation e2e CRLs)"),
    );
}

/// The delta and freshest-CRL CRLs of notation-core-go (`revocation/crl/testdata`). Their
/// issuer (an EJBCA ManagementCA) is not in the vectors, and their signature values are
/// identical, so at most one was ever valid: each tbsCertList is kept byte for byte and
/// re-signed by a test CA given the CRL's exact issuer name, which exercises the parsing of
/// EJBCA's real encodings.
#[test]
fn notation_core_go_delta_and_freshest_crls_parse() {
    let Some(v) = vectors() else { return };
    let dir = v.join("notation-core-go/revocation/crl/testdata");
    let key = TestKey::cached(KeyKind::Rsa2048, 46);
    let mut ran = 0;
    for file in ["delta.crl", "crlWithMultipleFreshestCRLs.crl"] {
        let original = std::fs::read(dir.join(file)).unwrap();
        let (tbs, _) = split_signature(&original);
        // tbsCertList: version, signature, issuer, ...
        let (tbs_body, _) = split_tlv(&tbs);
        let (_, rest) = split_tlv_raw(tbs_body);
        let (algorithm, rest) = split_tlv_raw(rest);
        let (issuer_name, _) = split_tlv_raw(rest);
        let ca_der = build_certificate(
            &[0x01],
            issuer_name,
            issuer_name,
            &key,
            &ca_extensions(),
            &key,
        );
        let ca = Certificate::from_der(&ca_der).unwrap();
        // As published: the signature is not the test CA's.
        assert!(matches!(
            Crl::parse_and_verify(&original, &ca),
            Err(CrlError::BadSignature { .. })
        ));
        let resigned = wrap_signed(&tbs, algorithm, &key.sign_pkcs1_sha256(&tbs));
        let crl = Crl::parse_and_verify(&resigned, &ca).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(crl.number(), Some(&[5][..]), "{file}");
        assert_eq!(crl.entry_count(), 0);
        assert_eq!(
            crl.this_update(),
            Timestamp::parse_rfc3339("2024-11-25T07:31:41Z").unwrap()
        );
        assert_eq!(
            crl.next_update(),
            Some(Timestamp::parse_rfc3339("2024-11-25T07:36:40Z").unwrap())
        );
        let delta_url = "http://localhost:80/ejbca/publicweb/webdist/certdist?cmd=deltacrl&issuer=UID%3Dc-0nwwozqvawvao3ech%2CCN%3DManagementCA%2CO%3DEJBCA+Container+Quickstart";
        match file {
            "delta.crl" => {
                assert_eq!(crl.delta_base(), Some(&[4][..]));
                assert!(crl.freshest_crl_urls().is_empty());
            }
            _ => {
                assert_eq!(crl.delta_base(), None);
                assert_eq!(crl.freshest_crl_urls(), [delta_url, delta_url]);
            }
        }
        ran += 1;
    }
    crate::common::report::print_line(
        "conformance",
        &format!("crl vectors: {ran} cases ran (notation-core-go delta/freshest CRLs)"),
    );
}
