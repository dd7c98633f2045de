#![no_main]

//! Structure-aware RFC 3161 tokens: a ContentInfo / SignedData / TSTInfo shell built from the
//! fuzzer's choices, signed for real with the fixture TSA key (`fixtures/tsa-leaf-key.pk8`,
//! made for this target only) so that most inputs get past the CMS signature to the TSTInfo,
//! ESS signing-certificate and TSA chain checks. Each field is either the valid value or
//! fuzzer bytes; raw bytes (the first input byte even) also go to the parser as they are.

use std::sync::OnceLock;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use notaryd::verify::timestamp::{token_certificates, verify_timestamp};
use notaryd::verify::x509::Certificate;

const MESSAGE: &[u8] = b"notaryd fuzz: the envelope's signature bytes";
const ROOT: &[u8] = include_bytes!("../fixtures/tsa-root.der");
const LEAF: &[u8] = include_bytes!("../fixtures/tsa-leaf.der");

const OID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const OID_SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
const OID_CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];
const OID_SIGNING_TIME: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x05];
const OID_SIGNING_CERT_V2: &[u8] = &[
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x02, 0x2F,
];
const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_POLICY: &[u8] = &[0x2A, 0x03, 0x04];

struct Fixture {
    key: EcdsaKeyPair,
    root: Certificate,
    leaf: Certificate,
    rng: SystemRandom,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        key: EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            include_bytes!("../fixtures/tsa-leaf-key.pk8"),
        )
        .expect("fixture key"),
        root: Certificate::from_der(ROOT).expect("fixture root"),
        leaf: Certificate::from_der(LEAF).expect("fixture leaf"),
        rng: SystemRandom::new(),
    })
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else if n < 0x10000 {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    } else {
        out.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(o: &[u8]) -> Vec<u8> {
    tlv(0x06, o)
}

fn int(v: &[u8]) -> Vec<u8> {
    tlv(0x02, v)
}

/// True one time in `n` (false when the input has run out, so that short inputs build the
/// valid token).
fn odd(u: &mut Unstructured<'_>, n: u8) -> Result<bool> {
    Ok(u.int_in_range(0..=n - 1)? == n - 1)
}

/// Either `valid` (most of the time) or something the fuzzer made of the same kind.
fn pick(u: &mut Unstructured<'_>, valid: Vec<u8>) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0u8..=15)? {
        13 => u.arbitrary::<Vec<u8>>()?,
        14 if !valid.is_empty() => {
            // Same tag, fuzzer contents.
            let contents: Vec<u8> = u.arbitrary()?;
            tlv(valid[0], &contents)
        }
        15 => Vec::new(),
        _ => valid,
    })
}

fn alg(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, &'static [u8])> {
    let o = match u.int_in_range(0u8..=7)? {
        5 => OID_SHA384,
        6 => OID_SHA512,
        7 => OID_SHA1,
        _ => OID_SHA256,
    };
    let with_null = u.arbitrary::<bool>()?;
    let a = if with_null {
        seq(&[&oid(o), &[0x05, 0x00]])
    } else {
        seq(&[&oid(o)])
    };
    Ok((a, o))
}

fn build(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let f = fixture();
    // TSTInfo.
    let (imprint_alg, _) = alg(u)?;
    let imprint_hash = if odd(u, 8)? {
        u.arbitrary::<Vec<u8>>()?
    } else {
        digest(&SHA256, MESSAGE).as_ref().to_vec()
    };
    let imprint = pick(u, seq(&[&imprint_alg, &tlv(0x04, &imprint_hash)]))?;
    let gen_time = if odd(u, 4)? {
        let s: String = u.arbitrary()?;
        s.into_bytes()
    } else {
        b"20270601123456.789Z".to_vec()
    };
    let mut tst = vec![
        pick(u, int(&[1]))?,
        pick(u, oid(OID_POLICY))?,
        imprint,
        pick(u, int(&[0x01, 0x23, 0x45]))?,
        tlv(0x18, &gen_time),
    ];
    if u.arbitrary::<bool>()? {
        // Accuracy { seconds, [0] millis, [1] micros }, each optional.
        let mut acc = Vec::new();
        if u.arbitrary::<bool>()? {
            acc.extend(int(&[u.arbitrary::<u8>()? & 0x7f]));
        }
        if u.arbitrary::<bool>()? {
            acc.extend(tlv(0x80, &u.arbitrary::<[u8; 2]>()?));
        }
        if u.arbitrary::<bool>()? {
            acc.extend(tlv(0x81, &u.arbitrary::<[u8; 2]>()?));
        }
        tst.push(tlv(0x30, &acc));
    }
    if odd(u, 4)? {
        tst.push(tlv(0x01, &[u.arbitrary::<u8>()?]));
    }
    if u.arbitrary::<bool>()? {
        tst.push(int(&u.arbitrary::<[u8; 8]>()?));
    }
    if odd(u, 4)? {
        tst.push(tlv(0xA0, &u.arbitrary::<Vec<u8>>()?));
    }
    if odd(u, 4)? {
        tst.push(tlv(0xA1, &u.arbitrary::<Vec<u8>>()?));
    }
    let tst_parts: Vec<&[u8]> = tst.iter().map(Vec::as_slice).collect();
    let tst_info = seq(&tst_parts);

    // Signed attributes.
    let (digest_alg, _) = alg(u)?;
    let content_digest = if odd(u, 16)? {
        u.arbitrary::<Vec<u8>>()?
    } else {
        digest(&SHA256, &tst_info).as_ref().to_vec()
    };
    let cert_hash = if odd(u, 16)? {
        u.arbitrary::<Vec<u8>>()?
    } else {
        f.leaf.sha256().to_vec()
    };
    let issuer_serial = seq(&[
        &tlv(0x30, &tlv(0xA4, f.leaf.issuer_der())),
        &int(f.leaf.serial_number()),
    ]);
    let mut ess_id = vec![tlv(0x04, &cert_hash)];
    if u.arbitrary::<bool>()? {
        ess_id.insert(0, seq(&[&oid(OID_SHA256)]));
    }
    if u.arbitrary::<bool>()? {
        ess_id.push(pick(u, issuer_serial.clone())?);
    }
    let ess_parts: Vec<&[u8]> = ess_id.iter().map(Vec::as_slice).collect();
    let signing_cert = seq(&[&seq(&[&seq(&ess_parts)])]);
    let mut attrs = vec![
        pick(
            u,
            seq(&[&oid(OID_CONTENT_TYPE), &tlv(0x31, &oid(OID_TST_INFO))]),
        )?,
        pick(
            u,
            seq(&[
                &oid(OID_MESSAGE_DIGEST),
                &tlv(0x31, &tlv(0x04, &content_digest)),
            ]),
        )?,
        pick(
            u,
            seq(&[&oid(OID_SIGNING_CERT_V2), &tlv(0x31, &signing_cert)]),
        )?,
    ];
    if odd(u, 4)? {
        let tag = if u.arbitrary::<bool>()? { 0x17 } else { 0x18 };
        let t: String = u.arbitrary()?;
        attrs.push(seq(&[
            &oid(OID_SIGNING_TIME),
            &tlv(0x31, &tlv(tag, t.as_bytes())),
        ]));
    }
    if odd(u, 8)? {
        attrs.swap(0, 1);
    }
    let attrs = attrs.concat();
    let signature = if odd(u, 16)? {
        u.arbitrary::<Vec<u8>>()?
    } else {
        let signed = tlv(0x31, &attrs);
        f.key
            .sign(&f.rng, &signed)
            .expect("signing")
            .as_ref()
            .to_vec()
    };
    let sid = if odd(u, 8)? {
        // subjectKeyIdentifier, or junk.
        tlv(0x80, &u.arbitrary::<Vec<u8>>()?)
    } else {
        seq(&[f.leaf.issuer_der(), &int(f.leaf.serial_number())])
    };
    let signer_info = seq(&[
        &pick(u, int(&[1]))?,
        &sid,
        &digest_alg,
        &tlv(0xA0, &attrs),
        &pick(u, seq(&[&oid(OID_ECDSA_SHA256)]))?,
        &tlv(0x04, &signature),
    ]);
    let signers = match u.int_in_range(0u8..=9)? {
        8 => tlv(0x31, &[]),
        9 => tlv(0x31, &[signer_info.clone(), signer_info].concat()),
        _ => tlv(0x31, &signer_info),
    };

    // Certificates: none, the leaf, leaf and root, root first, or fuzzer bytes too.
    let certs: Vec<u8> = match u.int_in_range(0u8..=7)? {
        6 => Vec::new(),
        1 => tlv(0xA0, LEAF),
        2 => tlv(0xA0, &[ROOT, LEAF].concat()),
        3 => tlv(0xA0, &[LEAF, &u.arbitrary::<Vec<u8>>()?].concat()),
        4 => tlv(0xA0, &[LEAF, LEAF].concat()),
        _ => tlv(0xA0, &[LEAF, ROOT].concat()),
    };
    let encap = seq(&[
        &pick(u, oid(OID_TST_INFO))?,
        &tlv(0xA0, &tlv(0x04, &tst_info)),
    ]);
    let digest_algs = tlv(0x31, &seq(&[&oid(OID_SHA256)]));
    let signed_data = seq(&[
        &pick(u, int(&[3]))?,
        &pick(u, digest_algs)?,
        &encap,
        &certs,
        &signers,
    ]);
    Ok(seq(&[&oid(OID_SIGNED_DATA), &tlv(0xA0, &signed_data)]))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let roots = [&f.root];
    // The raw bytes, as a token from the envelope's unsigned header would be.
    let _ = verify_timestamp(data, MESSAGE, &roots, 10);
    let mut u = Unstructured::new(data);
    if let Ok(token) = build(&mut u) {
        let _ = token_certificates(&token, 10);
        let result = verify_timestamp(&token, MESSAGE, &roots, 10);
        if std::env::var_os("NOTARYD_FUZZ_DEBUG").is_some() {
            eprintln!("{:?}", result.as_ref().map(|v| v.gen_time()));
        }
        if let Ok(v) = result {
            assert!(v.earliest() <= v.latest());
            assert!(!v.tsa_chain().is_empty());
        }
    }
});
