//! The installed revocation set (NOTARY-VERIFY §7) with a CA hierarchy, CRLs and OCSP
//! responses made here: what a node answers for each certificate of a chain, what an import
//! refuses, and how the answers meet the policy's level table in a full verification.

use notaryd::verify::descriptor::{Descriptor, Digest};
use notaryd::verify::limits::Limits;
use notaryd::verify::policy::TrustPolicyDocument;
use notaryd::verify::revocation::set::{
    RevocationItem, RevocationOptions, RevocationSet, RevocationSetError,
};
use notaryd::verify::revocation::{CertRevocationStatus, ChainRevocation, check_chain};
use notaryd::verify::time::Timestamp;
use notaryd::verify::trust_store::{TrustStore, TrustStoreType};
use notaryd::verify::verifier::{
    Check, CheckStatus, SignatureInput, VerificationRequest, Verifier,
};
use notaryd::verify::x509::Certificate;
use serde_json::{Value, json};

use crate::common::crl::{CrlSpec, DAY, EntrySpec, Ext, IdpSpec, THIS_UPDATE};
use crate::common::jws::{Jws, payload_for};
use crate::common::ocsp::{IdHash, ResponderIdSpec, ResponseSpec, Single, Status, responder_spec};
use crate::common::pki::*;

const HOUR: i64 = 3600;
const INT_CRL: &str = "http://crl.test/intermediate-ca.crl";
const ROOT_CRL: &str = "http://crl.test/root-ca.crl";
const DELTA_CRL: &str = "http://crl.test/intermediate-ca-delta.crl";
const OCSP_URL: &str = "http://ocsp.test/";

fn at(unix: i64) -> Timestamp {
    Timestamp::from_unix_seconds(unix)
}

/// The verification time of most cases: a day into the CRLs' week.
const NOW: i64 = THIS_UPDATE + DAY;

/// root → intermediate (names the root's CRL) → code-signing leaf (names the intermediate's
/// CRL, and optionally an OCSP responder).
struct Pki {
    root: TestCert,
    int: TestCert,
    leaf: TestCert,
}

impl Pki {
    fn with(leaf_crl: bool, leaf_ocsp: bool) -> Self {
        let root = TestCert::self_signed(
            CertSpec::ca("revocation root", Some(1)),
            TestKey::cached(KeyKind::P256, 70),
        );
        let mut int_spec = CertSpec::ca("revocation intermediate", Some(0));
        int_spec.crl_urls = vec![ROOT_CRL.into()];
        let int = root.issue(int_spec, TestKey::cached(KeyKind::P256, 71));
        let mut leaf_spec = CertSpec::code_signing("revocation leaf");
        if leaf_crl {
            leaf_spec.crl_urls = vec![INT_CRL.into()];
        }
        if leaf_ocsp {
            leaf_spec.ocsp_urls = vec![OCSP_URL.into()];
        }
        let leaf = int.issue(leaf_spec, TestKey::cached(KeyKind::P256, 72));
        Self { root, int, leaf }
    }

    fn chain(&self) -> Vec<Certificate> {
        [&self.leaf, &self.int, &self.root]
            .iter()
            .map(|c| Certificate::from_der(&c.der).unwrap())
            .collect()
    }

    fn test_chain(&self) -> Chain {
        Chain {
            root: clone_cert(&self.root),
            intermediate: clone_cert(&self.int),
            leaf: clone_cert(&self.leaf),
        }
    }

    /// A good (empty) CRL of the intermediate, number 1, valid a week from THIS_UPDATE.
    fn int_crl(&self) -> CrlSpec {
        CrlSpec::new(&self.int)
    }

    fn root_crl(&self) -> CrlSpec {
        CrlSpec::new(&self.root)
    }

    /// Good CRLs for both revocable certificates, and the intermediate to verify the leaf's.
    fn good_items(&self) -> Vec<Vec<u8>> {
        vec![
            self.int.der.clone(),
            self.int_crl().sign(&self.int.key),
            self.root_crl().sign(&self.root.key),
        ]
    }

    fn ocsp(&self, status: Status) -> ResponseSpec {
        let single = Single::new(&self.leaf.der, &self.int.der, IdHash::Sha1, status);
        ocsp_spec(
            &self.int,
            vec![single],
            at(THIS_UPDATE),
            Some(at(THIS_UPDATE + 7 * DAY)),
        )
    }
}

fn clone_cert(c: &TestCert) -> TestCert {
    TestCert {
        der: c.der.clone(),
        key: c.key.clone(),
        spec: c.spec.clone(),
    }
}

fn ocsp_spec(
    issuer: &TestCert,
    mut singles: Vec<Single>,
    this_update: Timestamp,
    next_update: Option<Timestamp>,
) -> ResponseSpec {
    for s in &mut singles {
        s.this_update = this_update;
        s.next_update = next_update;
    }
    ResponseSpec {
        response_status: 0,
        bytes_with_error: false,
        response_type: crate::common::ocsp::OCSP_BASIC.to_vec(),
        responder_id: ResponderIdSpec::ByName(crate::common::crl::subject_der(issuer)),
        produced_at: this_update,
        responses: singles,
        response_extensions: Vec::new(),
        certs: Vec::new(),
        signer: issuer.key.clone(),
        signature_oid: None,
        corrupt_signature: false,
    }
}

fn serial_of(cert: &TestCert) -> Vec<u8> {
    Certificate::from_der(&cert.der)
        .unwrap()
        .serial_number()
        .to_vec()
}

fn entry(cert: &TestCert, revoked_at: i64) -> EntrySpec {
    EntrySpec {
        serial: serial_of(cert),
        ..EntrySpec::new(0, revoked_at)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Crl,
    Ocsp,
    Cert,
}

/// Sorts DER blobs into bundle items by what they are.
fn items<'a>(blobs: &[(Kind, &'a [u8])]) -> Vec<RevocationItem<'a>> {
    blobs
        .iter()
        .map(|(k, b)| match k {
            Kind::Crl => RevocationItem::Crl(b),
            Kind::Ocsp => RevocationItem::Ocsp(b),
            Kind::Cert => RevocationItem::Certificate(b),
        })
        .collect()
}

/// Certificates and CRLs are told apart by parsing (OCSP responses are passed separately).
fn guess(b: &[u8]) -> Kind {
    if Certificate::from_der(b).is_ok() {
        Kind::Cert
    } else {
        Kind::Crl
    }
}

struct Build<'a> {
    pki: &'a Pki,
    blobs: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
    fresh_at: Option<Timestamp>,
    grace: u32,
    previous: Option<&'a RevocationSet>,
    allow_rollback: bool,
}

impl<'a> Build<'a> {
    fn new(pki: &'a Pki, blobs: Vec<Vec<u8>>) -> Self {
        Self {
            pki,
            blobs,
            ocsp: Vec::new(),
            fresh_at: Some(at(NOW)),
            grace: 0,
            previous: None,
            allow_rollback: false,
        }
    }

    fn ocsp(mut self, der: Vec<u8>) -> Self {
        self.ocsp.push(der);
        self
    }

    fn run(&self) -> Result<RevocationSet, RevocationSetError> {
        let root = Certificate::from_der(&self.pki.root.der).unwrap();
        let mut typed: Vec<(Kind, &[u8])> = self
            .blobs
            .iter()
            .map(|b| (guess(b), b.as_slice()))
            .collect();
        typed.extend(self.ocsp.iter().map(|b| (Kind::Ocsp, b.as_slice())));
        RevocationSet::build(
            &items(&typed),
            &[&root],
            self.fresh_at,
            RevocationOptions {
                grace_seconds: self.grace,
            },
            self.previous,
            self.allow_rollback,
        )
    }
}

fn statuses(
    set: &RevocationSet,
    pki: &Pki,
    now: i64,
    ast: Option<i64>,
) -> (ChainRevocation, Vec<CertRevocationStatus>) {
    check_chain(&pki.chain(), set, ast.map(at), at(now))
}

fn is_unknown(s: &CertRevocationStatus, needle: &str) -> bool {
    matches!(s, CertRevocationStatus::Unknown { reason } if reason.contains(needle))
}

// ------------------------------------------------------------------------------ CRLs

#[test]
fn good_crls_cover_leaf_and_intermediate() {
    let pki = Pki::with(true, false);
    let set = Build::new(&pki, pki.good_items()).run().unwrap();
    let (chain, each) = statuses(&set, &pki, NOW, None);
    assert_eq!(chain, ChainRevocation::Ok);
    assert_eq!(
        each,
        [CertRevocationStatus::Good, CertRevocationStatus::Good]
    );
    assert_eq!(set.crl_summaries().len(), 2);
}

#[test]
fn revoked_leaf_reports_reason_revocation_and_invalidity_dates() {
    let pki = Pki::with(true, false);
    let crl = pki
        .int_crl()
        .entry(
            entry(&pki.leaf, THIS_UPDATE - DAY)
                .reason(1)
                .invalidity(THIS_UPDATE - 2 * DAY),
        )
        .sign(&pki.int.key);
    let set = Build::new(
        &pki,
        vec![pki.int.der.clone(), crl, pki.root_crl().sign(&pki.root.key)],
    )
    .run()
    .unwrap();
    let (chain, each) = statuses(&set, &pki, NOW, None);
    assert_eq!(
        each[0],
        CertRevocationStatus::Revoked {
            reason: Some(1),
            revocation_time: Some(at(THIS_UPDATE - DAY)),
            invalidity_date: Some(at(THIS_UPDATE - 2 * DAY)),
        }
    );
    assert_eq!(each[1], CertRevocationStatus::Good);
    assert!(
        matches!(chain, ChainRevocation::Revoked { subject, .. } if subject.contains("revocation leaf"))
    );
}

#[test]
fn revoked_intermediate_revokes_the_chain() {
    let pki = Pki::with(true, false);
    let root_crl = pki
        .root_crl()
        .entry(entry(&pki.int, THIS_UPDATE - HOUR).reason(2))
        .sign(&pki.root.key);
    let set = Build::new(
        &pki,
        vec![
            pki.int.der.clone(),
            pki.int_crl().sign(&pki.int.key),
            root_crl,
        ],
    )
    .run()
    .unwrap();
    let (chain, each) = statuses(&set, &pki, NOW, None);
    assert_eq!(each[0], CertRevocationStatus::Good);
    assert!(matches!(
        each[1],
        CertRevocationStatus::Revoked {
            reason: Some(2),
            ..
        }
    ));
    assert!(
        matches!(chain, ChainRevocation::Revoked { subject, .. } if subject.contains("revocation intermediate"))
    );
}

#[test]
fn a_certificate_without_its_crl_in_the_set_is_unknown() {
    let pki = Pki::with(true, false);
    let set = Build::new(&pki, vec![pki.root_crl().sign(&pki.root.key)])
        .run()
        .unwrap();
    let (chain, each) = statuses(&set, &pki, NOW, None);
    assert!(is_unknown(&each[0], "no CRL from its issuer"), "{each:?}");
    assert_eq!(each[1], CertRevocationStatus::Good);
    assert!(matches!(chain, ChainRevocation::Unknown { .. }));
    // A revoked certificate elsewhere in the chain wins over an unknown one.
    let root_crl = pki
        .root_crl()
        .entry(entry(&pki.int, THIS_UPDATE))
        .sign(&pki.root.key);
    let set = Build::new(&pki, vec![root_crl]).run().unwrap();
    assert!(matches!(
        statuses(&set, &pki, NOW, None).0,
        ChainRevocation::Revoked { .. }
    ));
}

#[test]
fn stale_crl_is_used_inside_the_grace_and_unknown_past_it() {
    let pki = Pki::with(true, false);
    let next_update = THIS_UPDATE + 7 * DAY;
    let later = next_update + HOUR;
    // Imported while fresh, asked about after nextUpdate.
    for (grace, good) in [
        (0, false),
        (HOUR as u32 - 1, false),
        (HOUR as u32, true),
        (2 * HOUR as u32, true),
    ] {
        let mut b = Build::new(&pki, pki.good_items());
        b.grace = grace;
        let set = b.run().unwrap();
        let (chain, each) = statuses(&set, &pki, later, None);
        assert_eq!(
            chain == ChainRevocation::Ok,
            good,
            "grace {grace}: {each:?}"
        );
        if !good {
            assert!(is_unknown(&each[0], "expired at"), "{each:?}");
        }
    }
    // Imported after nextUpdate: refused past the grace, accepted inside it.
    let mut b = Build::new(&pki, pki.good_items());
    b.fresh_at = Some(at(later));
    assert!(matches!(b.run(), Err(RevocationSetError::Stale { .. })));
    b.grace = 2 * HOUR as u32;
    b.run().unwrap();
}

#[test]
fn crl_without_next_update_counts_as_expired() {
    let pki = Pki::with(true, false);
    let mut spec = pki.int_crl();
    spec.next_update = None;
    let items = vec![
        pki.int.der.clone(),
        spec.sign(&pki.int.key),
        pki.root_crl().sign(&pki.root.key),
    ];
    let err = Build::new(&pki, items.clone()).run().unwrap_err();
    assert!(matches!(err, RevocationSetError::Stale { .. }), "{err}");
    let mut b = Build::new(&pki, items);
    b.fresh_at = None;
    let set = b.run().unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "no nextUpdate"
    ));
}

#[test]
fn crl_signed_by_the_wrong_key_is_refused_at_import() {
    let pki = Pki::with(true, false);
    let forged = pki.int_crl().sign(&TestKey::cached(KeyKind::P256, 73));
    let err = Build::new(&pki, vec![pki.int.der.clone(), forged])
        .run()
        .unwrap_err();
    assert!(
        matches!(err, RevocationSetError::Crl { index: 1, .. }),
        "{err}"
    );
    // The reason is that of the certificate with the CRL's issuer name (a bad signature), not
    // the name mismatch of the last certificate tried.
    let text = err.to_string();
    assert!(text.to_lowercase().contains("signature"), "{text}");
    assert!(!text.contains("is not"), "{text}");
    // A CRL by a CA that is neither in the trust store nor carried by the bundle.
    let err = Build::new(&pki, vec![pki.int_crl().sign(&pki.int.key)])
        .run()
        .unwrap_err();
    assert!(
        matches!(err, RevocationSetError::Crl { index: 0, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("no trust-store or bundle certificate has this issuer name"),
        "{err}"
    );
}

#[test]
fn carried_certificates_must_be_cas_chaining_to_the_trust_store() {
    let pki = Pki::with(true, false);
    // The leaf is not a CA.
    let err = Build::new(&pki, vec![pki.int.der.clone(), pki.leaf.der.clone()])
        .run()
        .unwrap_err();
    assert!(
        matches!(&err, RevocationSetError::Certificate { index: 1, reason, .. } if reason.contains("not a CA")),
        "{err}"
    );
    // A CA from another hierarchy.
    let stranger = TestCert::self_signed(
        CertSpec::ca("stranger", None),
        TestKey::cached(KeyKind::P256, 74),
    );
    let err = Build::new(&pki, vec![stranger.der.clone()])
        .run()
        .unwrap_err();
    assert!(
        matches!(&err, RevocationSetError::Certificate { reason, .. } if reason.contains("does not chain")),
        "{err}"
    );
    // Order inside the bundle does not matter: an intermediate's child may come first.
    let sub = pki.int.issue(
        CertSpec::ca("sub CA", None),
        TestKey::cached(KeyKind::P256, 75),
    );
    let pki2 = Pki::with(true, false);
    Build::new(&pki2, vec![sub.der.clone(), pki.int.der.clone()])
        .run()
        .unwrap();
}

#[test]
fn delta_crl_adds_revocations_to_its_base() {
    let pki = Pki::with(true, false);
    let mut base = pki.int_crl();
    base.number = Some(10);
    base.freshest = vec![DELTA_CRL.into()];
    let base_der = base.sign(&pki.int.key);
    let delta = |number: u64, base_number: u64, entries: Vec<EntrySpec>, next: i64| {
        let mut d = pki.int_crl();
        d.number = Some(number);
        d.delta_base = Some(base_number);
        d.next_update = Some(next);
        d.entries = entries;
        d.sign(&pki.int.key)
    };
    let root = pki.root_crl().sign(&pki.root.key);
    let set_with = |extra: Vec<Vec<u8>>| {
        let mut blobs = vec![pki.int.der.clone(), base_der.clone(), root.clone()];
        blobs.extend(extra);
        Build::new(&pki, blobs).run().unwrap()
    };
    let week = THIS_UPDATE + 7 * DAY;

    // The delta revokes the leaf.
    let set = set_with(vec![delta(
        11,
        10,
        vec![entry(&pki.leaf, THIS_UPDATE).reason(1)],
        week,
    )]);
    assert!(matches!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Revoked {
            reason: Some(1),
            ..
        }
    ));
    // An empty delta: good.
    let set = set_with(vec![delta(11, 10, vec![], week)]);
    assert_eq!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Good
    );
    // The base names a delta that is not there: unknown.
    let set = set_with(vec![]);
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "delta CRL that is not in"
    ));
    // A delta whose number is not above the base's, or whose base is newer than the base
    // held, does not apply.
    for d in [delta(10, 9, vec![], week), delta(12, 11, vec![], week)] {
        let set = set_with(vec![d]);
        assert!(is_unknown(
            &statuses(&set, &pki, NOW, None).1[0],
            "delta CRL that is not in"
        ));
    }
    // The newest applicable delta is used.
    let set = set_with(vec![
        delta(11, 10, vec![], week),
        delta(12, 10, vec![entry(&pki.leaf, THIS_UPDATE)], week),
    ]);
    assert!(matches!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Revoked { .. }
    ));
    // A delta that expires before the base: unknown once it has.
    let set = set_with(vec![delta(11, 10, vec![], THIS_UPDATE + 2 * DAY)]);
    assert_eq!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Good
    );
    assert!(is_unknown(
        &statuses(&set, &pki, THIS_UPDATE + 3 * DAY, None).1[0],
        "delta CRL"
    ));
}

#[test]
fn certificate_naming_a_delta_whose_base_does_not_is_unknown() {
    let pki = Pki::with(true, false);
    let freshest = Ext::new(
        &[2, 5, 29, 46],
        false,
        crate::common::crl::distribution_points_der(&[DELTA_CRL.into()]),
    );
    let mut spec = CertSpec::code_signing("leaf naming a delta");
    spec.crl_urls = vec![INT_CRL.into()];
    spec.extra
        .push((freshest.oid.clone(), freshest.value.clone(), false));
    let leaf = pki.int.issue(spec, TestKey::cached(KeyKind::P256, 72));
    let pki = Pki {
        root: clone_cert(&pki.root),
        int: clone_cert(&pki.int),
        leaf,
    };
    let set = Build::new(&pki, pki.good_items()).run().unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "names a delta CRL"
    ));
}

#[test]
fn hold_revokes_until_a_later_remove_from_crl_lifts_it() {
    let pki = Pki::with(true, false);
    let root = pki.root_crl().sign(&pki.root.key);
    let with_entries = |base_entries: Vec<EntrySpec>, delta_entries: Option<Vec<EntrySpec>>| {
        let mut base = pki.int_crl();
        base.number = Some(10);
        base.entries = base_entries;
        let mut blobs = vec![pki.int.der.clone(), root.clone()];
        if let Some(entries) = delta_entries {
            base.freshest = vec![DELTA_CRL.into()];
            let mut d = pki.int_crl();
            d.number = Some(11);
            d.delta_base = Some(10);
            d.entries = entries;
            blobs.push(d.sign(&pki.int.key));
        }
        blobs.push(base.sign(&pki.int.key));
        let set = Build::new(&pki, blobs).run().unwrap();
        statuses(&set, &pki, NOW, None).1[0].clone()
    };
    let hold = |t| entry(&pki.leaf, t).reason(6);
    let remove = |t| entry(&pki.leaf, t).reason(8);
    assert!(matches!(
        with_entries(vec![hold(THIS_UPDATE - DAY)], None),
        CertRevocationStatus::Revoked {
            reason: Some(6),
            ..
        }
    ));
    assert_eq!(
        with_entries(
            vec![hold(THIS_UPDATE - DAY)],
            Some(vec![remove(THIS_UPDATE)])
        ),
        CertRevocationStatus::Good
    );
    // The most recent of hold and remove decides, wherever it is.
    assert!(matches!(
        with_entries(
            vec![remove(THIS_UPDATE)],
            Some(vec![hold(THIS_UPDATE + HOUR)])
        ),
        CertRevocationStatus::Revoked {
            reason: Some(6),
            ..
        }
    ));
    // A removal never lifts a revocation for another reason.
    assert!(matches!(
        with_entries(
            vec![entry(&pki.leaf, THIS_UPDATE - DAY).reason(1)],
            Some(vec![remove(THIS_UPDATE)])
        ),
        CertRevocationStatus::Revoked {
            reason: Some(1),
            ..
        }
    ));
    // Two entries for one serial in one CRL: the revocation counts.
    assert!(matches!(
        with_entries(
            vec![remove(THIS_UPDATE), entry(&pki.leaf, THIS_UPDATE - DAY)],
            None
        ),
        CertRevocationStatus::Revoked { reason: None, .. }
    ));
}

#[test]
fn signing_authority_time_before_the_invalidity_date_keeps_the_signature_good() {
    let pki = Pki::with(true, false);
    let crl = pki
        .int_crl()
        .entry(
            entry(&pki.leaf, THIS_UPDATE)
                .reason(1)
                .invalidity(THIS_UPDATE - 10 * DAY),
        )
        .sign(&pki.int.key);
    let set = Build::new(
        &pki,
        vec![pki.int.der.clone(), crl, pki.root_crl().sign(&pki.root.key)],
    )
    .run()
    .unwrap();
    let leaf = |ast| statuses(&set, &pki, NOW, ast).1[0].clone();
    assert_eq!(
        leaf(Some(THIS_UPDATE - 11 * DAY)),
        CertRevocationStatus::Good
    );
    assert!(matches!(
        leaf(Some(THIS_UPDATE - 10 * DAY)),
        CertRevocationStatus::Revoked { .. }
    ));
    assert!(matches!(
        leaf(Some(THIS_UPDATE - 9 * DAY)),
        CertRevocationStatus::Revoked { .. }
    ));
    // notary.x509 (no authentic signing time): revoked, timestamp or not.
    assert!(matches!(leaf(None), CertRevocationStatus::Revoked { .. }));
    // Without an invalidity date the exception never applies.
    let crl = pki
        .int_crl()
        .entry(entry(&pki.leaf, THIS_UPDATE))
        .sign(&pki.int.key);
    let set = Build::new(
        &pki,
        vec![pki.int.der.clone(), crl, pki.root_crl().sign(&pki.root.key)],
    )
    .run()
    .unwrap();
    assert!(matches!(
        statuses(&set, &pki, NOW, Some(0)).1[0],
        CertRevocationStatus::Revoked { .. }
    ));
}

#[test]
fn entry_with_an_unknown_critical_extension_is_unknown() {
    let pki = Pki::with(true, false);
    let odd = Ext::new(&[1, 3, 6, 1, 4, 1, 99999, 7], true, vec![0x05, 0x00]);
    let crl = pki
        .int_crl()
        .entry(entry(&pki.leaf, THIS_UPDATE).ext(odd))
        .sign(&pki.int.key);
    let set = Build::new(
        &pki,
        vec![pki.int.der.clone(), crl, pki.root_crl().sign(&pki.root.key)],
    )
    .run()
    .unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "unsupported critical"
    ));
}

#[test]
fn crl_partitioned_by_reason_can_revoke_but_not_clear() {
    let pki = Pki::with(true, false);
    let partitioned = |entries: Vec<EntrySpec>| {
        let mut spec = pki.int_crl();
        // keyCompromise only (bit 1).
        spec.idp = Some(IdpSpec {
            only_some_reasons: Some(vec![0x06, 0x40]),
            ..IdpSpec::default()
        });
        spec.entries = entries;
        let set = Build::new(
            &pki,
            vec![
                pki.int.der.clone(),
                spec.sign(&pki.int.key),
                pki.root_crl().sign(&pki.root.key),
            ],
        )
        .run()
        .unwrap();
        statuses(&set, &pki, NOW, None).1[0].clone()
    };
    assert!(is_unknown(
        &partitioned(vec![]),
        "only some revocation reasons"
    ));
    assert!(matches!(
        partitioned(vec![entry(&pki.leaf, THIS_UPDATE).reason(1)]),
        CertRevocationStatus::Revoked { .. }
    ));
}

#[test]
fn crl_scoped_to_other_certificates_does_not_cover() {
    let pki = Pki::with(true, false);
    // A CA-only CRL says nothing about the leaf; a CRL for another distribution point neither.
    for idp in [
        IdpSpec {
            only_ca_certs: true,
            ..IdpSpec::default()
        },
        IdpSpec {
            uris: vec!["http://crl.test/other.crl".into()],
            ..IdpSpec::default()
        },
    ] {
        let mut spec = pki.int_crl();
        spec.idp = Some(idp);
        let set = Build::new(
            &pki,
            vec![
                pki.int.der.clone(),
                spec.sign(&pki.int.key),
                pki.root_crl().sign(&pki.root.key),
            ],
        )
        .run()
        .unwrap();
        assert!(is_unknown(
            &statuses(&set, &pki, NOW, None).1[0],
            "covers it"
        ));
    }
    // The matching distribution point does.
    let mut spec = pki.int_crl();
    spec.idp = Some(IdpSpec {
        uris: vec![INT_CRL.into()],
        only_user_certs: true,
        ..IdpSpec::default()
    });
    let set = Build::new(
        &pki,
        vec![
            pki.int.der.clone(),
            spec.sign(&pki.int.key),
            pki.root_crl().sign(&pki.root.key),
        ],
    )
    .run()
    .unwrap();
    assert_eq!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Good
    );
}

#[test]
fn non_http_distribution_points_are_unknown_as_in_notation() {
    let pki = Pki::with(true, false);
    let mut spec = CertSpec::code_signing("https leaf");
    spec.crl_urls = vec![INT_CRL.into(), "https://crl.test/int.crl".into()];
    let leaf = pki.int.issue(spec, TestKey::cached(KeyKind::P256, 72));
    let pki = Pki {
        root: clone_cert(&pki.root),
        int: clone_cert(&pki.int),
        leaf,
    };
    let set = Build::new(&pki, pki.good_items()).run().unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "not http://"
    ));
}

// ------------------------------------------------------------------------------ OCSP

#[test]
fn ocsp_good_revoked_and_unknown() {
    let pki = Pki::with(false, true);
    let run = |status: Status| {
        let set = Build::new(
            &pki,
            vec![pki.int.der.clone(), pki.root_crl().sign(&pki.root.key)],
        )
        .ocsp(pki.ocsp(status).der())
        .run()
        .unwrap();
        statuses(&set, &pki, NOW, None).1[0].clone()
    };
    assert_eq!(run(Status::Good), CertRevocationStatus::Good);
    assert_eq!(
        run(Status::Revoked {
            time: at(THIS_UPDATE - DAY),
            reason: Some(1),
        }),
        CertRevocationStatus::Revoked {
            reason: Some(1),
            revocation_time: Some(at(THIS_UPDATE - DAY)),
            invalidity_date: None,
        }
    );
    // No CRL to fall back to: the responder's "unknown" stands.
    assert!(is_unknown(&run(Status::Unknown), "responder says unknown"));
    // No response at all.
    let set = Build::new(&pki, vec![pki.root_crl().sign(&pki.root.key)])
        .run()
        .unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "no OCSP response"
    ));
}

#[test]
fn ocsp_unknown_or_expired_falls_back_to_the_crl() {
    let pki = Pki::with(true, true);
    let expired = ocsp_spec(
        &pki.int,
        vec![Single::new(
            &pki.leaf.der,
            &pki.int.der,
            IdHash::Sha1,
            Status::Good,
        )],
        at(THIS_UPDATE - 3 * DAY),
        Some(at(THIS_UPDATE + HOUR)),
    )
    .der();
    let revoking_crl = pki
        .int_crl()
        .entry(entry(&pki.leaf, THIS_UPDATE).reason(4))
        .sign(&pki.int.key);
    // The expired response was fresh when it was installed (fresh_at None: loaded as is).
    let loaded = |blobs: Vec<Vec<u8>>, ocsp: Vec<u8>| {
        let mut b = Build::new(&pki, blobs).ocsp(ocsp);
        b.fresh_at = None;
        b.run().unwrap()
    };
    for ocsp in [pki.ocsp(Status::Unknown).der(), expired] {
        // Falls back to a good CRL…
        let set = loaded(pki.good_items(), ocsp.clone());
        assert_eq!(
            statuses(&set, &pki, NOW, None).1[0],
            CertRevocationStatus::Good
        );
        // …and to a revoking one.
        let set = loaded(
            vec![
                pki.int.der.clone(),
                revoking_crl.clone(),
                pki.root_crl().sign(&pki.root.key),
            ],
            ocsp.clone(),
        );
        assert!(matches!(
            statuses(&set, &pki, NOW, None).1[0],
            CertRevocationStatus::Revoked {
                reason: Some(4),
                ..
            }
        ));
        // Without a CRL: unknown.
        let set = loaded(
            vec![pki.int.der.clone(), pki.root_crl().sign(&pki.root.key)],
            ocsp,
        );
        assert!(matches!(
            statuses(&set, &pki, NOW, None).1[0],
            CertRevocationStatus::Unknown { .. }
        ));
    }
    // A definitive OCSP answer is not second-guessed by the CRL.
    let set = Build::new(
        &pki,
        vec![
            pki.int.der.clone(),
            revoking_crl,
            pki.root_crl().sign(&pki.root.key),
        ],
    )
    .ocsp(pki.ocsp(Status::Good).der())
    .run()
    .unwrap();
    assert_eq!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Good
    );
}

#[test]
fn expired_ocsp_response_is_refused_at_import_and_unknown_later() {
    let pki = Pki::with(false, true);
    let ocsp = pki.ocsp(Status::Good).der();
    let mut b = Build::new(&pki, vec![pki.int.der.clone()]).ocsp(ocsp.clone());
    b.fresh_at = Some(at(THIS_UPDATE + 8 * DAY));
    assert!(matches!(b.run(), Err(RevocationSetError::Stale { .. })));
    let set = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(ocsp)
        .run()
        .unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, THIS_UPDATE + 8 * DAY, None).1[0],
        "expired at"
    ));
    // A response without nextUpdate counts as expired.
    let no_next = ocsp_spec(
        &pki.int,
        vec![Single::new(
            &pki.leaf.der,
            &pki.int.der,
            IdHash::Sha1,
            Status::Good,
        )],
        at(THIS_UPDATE),
        None,
    )
    .der();
    let mut b = Build::new(&pki, vec![pki.int.der.clone()]).ocsp(no_next);
    assert!(matches!(b.run(), Err(RevocationSetError::Stale { .. })));
    b.fresh_at = None;
    let set = b.run().unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "no nextUpdate"
    ));
}

#[test]
fn ocsp_from_a_delegated_responder_counts_and_a_forged_one_is_refused() {
    let pki = Pki::with(false, true);
    let responder = pki.int.issue(
        responder_spec("int OCSP responder", true),
        TestKey::cached(KeyKind::P256, 76),
    );
    let mut spec = pki.ocsp(Status::Good);
    spec.signer = responder.key.clone();
    spec.certs = vec![responder.der.clone()];
    let set = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(spec.der())
        .run()
        .unwrap();
    assert_eq!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Good
    );
    // Signed by a key no CA vouches for.
    let mut forged = pki.ocsp(Status::Good);
    forged.signer = TestKey::cached(KeyKind::P256, 73);
    let err = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(forged.der())
        .run()
        .unwrap_err();
    assert!(matches!(err, RevocationSetError::Ocsp { .. }), "{err}");
}

#[test]
fn ocsp_answer_about_another_issuers_certificate_is_not_used() {
    let pki = Pki::with(false, true);
    // The intermediate signs a response whose CertID names the root as the leaf's issuer.
    let wrong = Single::new(&pki.leaf.der, &pki.root.der, IdHash::Sha1, Status::Good);
    let spec = ocsp_spec(
        &pki.int,
        vec![wrong],
        at(THIS_UPDATE),
        Some(at(THIS_UPDATE + 7 * DAY)),
    );
    let set = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(spec.der())
        .run()
        .unwrap();
    assert!(is_unknown(
        &statuses(&set, &pki, NOW, None).1[0],
        "no OCSP response"
    ));
}

#[test]
fn ocsp_invalidity_date_exception_for_signing_authority() {
    let pki = Pki::with(false, true);
    let single = Single::new(
        &pki.leaf.der,
        &pki.int.der,
        IdHash::Sha1,
        Status::Revoked {
            time: at(THIS_UPDATE),
            reason: Some(1),
        },
    )
    .with_invalidity_date(at(THIS_UPDATE - 5 * DAY));
    let spec = ocsp_spec(
        &pki.int,
        vec![single],
        at(THIS_UPDATE),
        Some(at(THIS_UPDATE + 7 * DAY)),
    );
    let set = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(spec.der())
        .run()
        .unwrap();
    assert_eq!(
        statuses(&set, &pki, NOW, Some(THIS_UPDATE - 6 * DAY)).1[0],
        CertRevocationStatus::Good
    );
    assert!(matches!(
        statuses(&set, &pki, NOW, Some(THIS_UPDATE - 4 * DAY)).1[0],
        CertRevocationStatus::Revoked { .. }
    ));
    assert!(matches!(
        statuses(&set, &pki, NOW, None).1[0],
        CertRevocationStatus::Revoked { .. }
    ));
}

// ------------------------------------------------------------------------------ rollback

#[test]
fn older_crl_than_the_installed_one_is_a_rollback() {
    let pki = Pki::with(true, false);
    let crl = |number: u64, this_update: i64| {
        let mut s = pki.int_crl();
        s.number = Some(number);
        s.this_update = this_update;
        s.sign(&pki.int.key)
    };
    let installed = Build::new(&pki, vec![pki.int.der.clone(), crl(5, THIS_UPDATE)])
        .run()
        .unwrap();
    let with_previous = |der: Vec<u8>, allow: bool| {
        let mut b = Build::new(&pki, vec![pki.int.der.clone(), der]);
        b.previous = Some(&installed);
        b.allow_rollback = allow;
        b.run()
    };
    let err = with_previous(crl(4, THIS_UPDATE + HOUR), false).unwrap_err();
    assert!(
        matches!(&err, RevocationSetError::Rollback { index: 1, .. })
            && err.to_string().contains("--allow-rollback"),
        "{err}"
    );
    // Same number, older thisUpdate: also a rollback.
    assert!(matches!(
        with_previous(crl(5, THIS_UPDATE - HOUR), false),
        Err(RevocationSetError::Rollback { .. })
    ));
    // The operator may insist.
    with_previous(crl(4, THIS_UPDATE + HOUR), true).unwrap();
    // Same or newer: fine.
    with_previous(crl(5, THIS_UPDATE), false).unwrap();
    with_previous(crl(6, THIS_UPDATE + HOUR), false).unwrap();
    // Another issuer's CRL is not compared with this one.
    let mut b = Build::new(
        &pki,
        vec![pki.int.der.clone(), crl(6, THIS_UPDATE), {
            let mut r = pki.root_crl();
            r.number = Some(1);
            r.sign(&pki.root.key)
        }],
    );
    b.previous = Some(&installed);
    b.run().unwrap();
}

#[test]
fn older_ocsp_response_than_the_installed_one_is_a_rollback() {
    let pki = Pki::with(false, true);
    let response = |produced: i64| {
        let mut spec = pki.ocsp(Status::Good);
        spec.produced_at = at(produced);
        spec.der()
    };
    let installed = Build::new(&pki, vec![pki.int.der.clone()])
        .ocsp(response(THIS_UPDATE + HOUR))
        .run()
        .unwrap();
    let mut b = Build::new(&pki, vec![pki.int.der.clone()]).ocsp(response(THIS_UPDATE));
    b.previous = Some(&installed);
    assert!(matches!(b.run(), Err(RevocationSetError::Rollback { .. })));
    b.allow_rollback = true;
    b.run().unwrap();
}

// ------------------------------------------------------------------------------ the workflow

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SCOPE: &str = "registry.example/team/app";

fn target() -> Descriptor {
    Descriptor {
        media_type: MANIFEST.into(),
        digest: Digest::parse(&format!("sha256:{}", "cd".repeat(32))).unwrap(),
        size: 1234,
        artifact_type: None,
        platform: None,
        annotations: Default::default(),
    }
}

fn policy(level: &str, stores: &[&str], extra: Value) -> TrustPolicyDocument {
    let mut verification = json!({"level": level});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            verification[k] = v;
        }
    }
    let d = json!({"version": "1.0", "trustPolicies": [{
        "name": "revocation", "registryScopes": [SCOPE],
        "signatureVerification": verification,
        "trustStores": stores, "trustedIdentities": ["*"],
    }]});
    TrustPolicyDocument::from_json(d.to_string().as_bytes()).unwrap()
}

fn verify(
    policy: &TrustPolicyDocument,
    store: &TrustStore,
    set: &RevocationSet,
    envelope: &[u8],
    now: i64,
) -> (bool, notaryd::verify::verifier::SignatureReport) {
    let verifier = Verifier::new(policy, store, set, Limits::default()).unwrap();
    let result = verifier.verify_all(
        VerificationRequest {
            scope: SCOPE.into(),
            target: target(),
            user_metadata: Default::default(),
            time: at(now),
        },
        [SignatureInput {
            signature_digest: None,
            media_type: "application/jose+json",
            envelope,
        }],
    );
    match result {
        Ok(v) => (true, v.reports()[0].clone()),
        Err(r) => (false, r.reports[0].clone()),
    }
}

fn check(report: &notaryd::verify::verifier::SignatureReport, check: Check) -> CheckStatus {
    report
        .checks
        .iter()
        .find(|c| c.check == check)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| panic!("{check} not run: {:?}", report.checks))
}

#[test]
fn revoked_signing_chain_meets_the_level_table() {
    let pki = Pki::with(true, false);
    let t = target();
    let envelope = Jws::new(
        &pki.test_chain(),
        payload_for(&t.media_type, t.digest.as_str(), t.size, &[]),
    )
    .sign();
    let mut store = TrustStore::new();
    store
        .add_store(
            TrustStoreType::Ca,
            "acme",
            &[("root.der".to_owned(), pki.root.der.clone())],
        )
        .unwrap();
    let good = Build::new(&pki, pki.good_items()).run().unwrap();
    let revoked = Build::new(
        &pki,
        vec![
            pki.int.der.clone(),
            pki.int_crl()
                .entry(entry(&pki.leaf, THIS_UPDATE))
                .sign(&pki.int.key),
            pki.root_crl().sign(&pki.root.key),
        ],
    )
    .run()
    .unwrap();
    let empty = RevocationSet::empty(RevocationOptions::default());

    let strict = policy("strict", &["ca:acme"], json!({}));
    let (ok, r) = verify(&strict, &store, &good, &envelope, NOW);
    assert!(ok, "{:?}", r.checks);
    assert_eq!(check(&r, Check::Revocation), CheckStatus::Passed);
    for set in [&revoked, &empty] {
        let (ok, r) = verify(&strict, &store, set, &envelope, NOW);
        assert!(!ok);
        assert_eq!(check(&r, Check::Revocation), CheckStatus::Failed);
    }
    let (_, r) = verify(&strict, &store, &revoked, &envelope, NOW);
    let detail = r
        .checks
        .iter()
        .find(|c| c.check == Check::Revocation)
        .unwrap()
        .detail
        .clone()
        .unwrap();
    assert!(
        detail.contains("revoked") && detail.contains("revocation leaf"),
        "{detail}"
    );
    // Stale data past nextUpdate is unknown, which strict enforces.
    let (ok, _) = verify(&strict, &store, &good, &envelope, THIS_UPDATE + 8 * DAY);
    assert!(!ok);

    for level in ["permissive", "audit"] {
        let (ok, r) = verify(
            &policy(level, &["ca:acme"], json!({})),
            &store,
            &revoked,
            &envelope,
            NOW,
        );
        assert!(ok, "{level}");
        assert_eq!(check(&r, Check::Revocation), CheckStatus::Logged, "{level}");
    }
    let skip = policy(
        "strict",
        &["ca:acme"],
        json!({"override": {"revocation": "skip"}}),
    );
    let (ok, r) = verify(&skip, &store, &revoked, &envelope, NOW);
    assert!(ok);
    assert_eq!(check(&r, Check::Revocation), CheckStatus::Skipped);
    let log = policy(
        "strict",
        &["ca:acme"],
        json!({"override": {"revocation": "log"}}),
    );
    let (ok, r) = verify(&log, &store, &revoked, &envelope, NOW);
    assert!(ok);
    assert_eq!(check(&r, Check::Revocation), CheckStatus::Logged);
}

#[test]
fn revoked_tsa_certificate_fails_the_authentic_timestamp() {
    use crate::common::tsa::{PkiOptions, Tsa};
    use notaryd::verify::crypto::HashAlgorithm;

    let tsa = Tsa::with(&PkiOptions {
        leaf_crl_urls: vec!["http://crl.test/tsa-ca.crl".into()],
        ..PkiOptions::default()
    });
    let tsa_int = tsa.intermediate_cert().unwrap();
    let tsa_leaf_serial = Certificate::from_der(tsa.leaf_der())
        .unwrap()
        .serial_number()
        .to_vec();

    // A signing chain without revocation locations, timestamped.
    let chain = Chain::new(KeyKind::P256);
    let t = target();
    let mut jws = Jws::new(
        &chain,
        payload_for(&t.media_type, t.digest.as_str(), t.size, &[]),
    );
    let signature = jws.signature();
    jws.signature_override = Some(signature.clone());
    jws.timestamp = Some(tsa.timestamp(&signature, at(THIS_UPDATE - DAY), HashAlgorithm::Sha256));
    let envelope = jws.sign();

    let mut store = TrustStore::new();
    store
        .add_store(
            TrustStoreType::Ca,
            "acme",
            &[("root.der".to_owned(), chain.root.der.clone())],
        )
        .unwrap();
    store
        .add_store(
            TrustStoreType::Tsa,
            "ts",
            &[("root.der".to_owned(), tsa.root_der().to_vec())],
        )
        .unwrap();
    let strict = policy("strict", &["ca:acme", "tsa:ts"], json!({}));

    let set_for = |entries: Vec<EntrySpec>| {
        let mut spec = CrlSpec::new(&tsa_int);
        spec.entries = entries;
        let crl = spec.sign(&tsa_int.key);
        let root = Certificate::from_der(tsa.root_der()).unwrap();
        let int_der = tsa.intermediate_der().unwrap().to_vec();
        RevocationSet::build(
            &[
                RevocationItem::Certificate(&int_der),
                RevocationItem::Crl(&crl),
            ],
            &[&root],
            Some(at(NOW)),
            RevocationOptions::default(),
            None,
            false,
        )
        .unwrap()
    };
    let good = set_for(vec![]);
    let (ok, r) = verify(&strict, &store, &good, &envelope, NOW);
    assert!(ok, "{:?}", r.checks);
    assert_eq!(check(&r, Check::AuthenticTimestamp), CheckStatus::Passed);

    let revoked = set_for(vec![
        EntrySpec {
            serial: tsa_leaf_serial,
            ..EntrySpec::new(0, THIS_UPDATE - HOUR)
        }
        .reason(1),
    ]);
    let (ok, r) = verify(&strict, &store, &revoked, &envelope, NOW);
    assert!(!ok);
    assert_eq!(check(&r, Check::AuthenticTimestamp), CheckStatus::Failed);
    let detail = r
        .checks
        .iter()
        .find(|c| c.check == Check::AuthenticTimestamp)
        .unwrap()
        .detail
        .clone()
        .unwrap();
    assert!(detail.contains("revoked"), "{detail}");

    // No data about the TSA chain: unknown, which also fails under strict.
    let empty = RevocationSet::empty(RevocationOptions::default());
    let (ok, r) = verify(&strict, &store, &empty, &envelope, NOW);
    assert!(!ok);
    assert_eq!(check(&r, Check::AuthenticTimestamp), CheckStatus::Failed);
}
