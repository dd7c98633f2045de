//! Builds the TSA certificate chain the way Go's `x509.Certificate.Verify` does for
//! tspclient-go: roots = the `tsa:` trust-store certificates, intermediates = every certificate
//! in the token, `CurrentTime` = genTime, `KeyUsages = [TimeStamping]`.
//!
//! What is mirrored from Go (crypto/x509 `verify.go`):
//! - the leaf is checked first (validity, unhandled critical extensions); a leaf that is itself
//!   one of the roots (byte for byte) is a complete one-certificate chain;
//! - otherwise a depth-first search from the leaf; at each step the candidate parents are the
//!   roots whose subject equals the child's issuer, then the token certificates likewise
//!   (duplicates collapsed); a root ends the chain;
//! - a candidate is skipped if it is already in the chain (same subject and key), if it may not
//!   sign certificates (`CheckSignatureFrom`: basicConstraints cA, keyCertSign when keyUsage is
//!   present), if the signature does not verify (SHA-1 refused), or if it fails `isValid`:
//!   validity at genTime, an unhandled critical extension, an intermediate that is not a CA,
//!   a pathLenConstraint smaller than the intermediates below it;
//! - at most 100 signature checks (`maxChainSignatureChecks`);
//! - extended key usage is enforced nested down the chain (`checkChainForKeyUsage`): a
//!   certificate with an EKU extension that lacks both timeStamping and anyExtendedKeyUsage
//!   breaks the chain; a certificate without EKU does not;
//! - among the complete chains, the first one (in search order) that passes the EKU rule and,
//!   when the signer has a signingTime attribute, whose every certificate's validity contains
//!   it (tspclient-go `verifySignedAttributes`) is the result.
//!
//! Differences, all deliberate: the search is also bounded in depth (`max_chain_len`); the
//! candidate order does not prefer matching AKID/SKID (it only decides which of several valid
//! chains comes first); name constraints and certificate policies are not evaluated; the
//! already-in-chain test compares subject and public key but not subjectAltName.

use crate::oid;
use crate::time::Timestamp;
use crate::x509::Certificate;

/// Go's `maxChainSignatureChecks`: a cap on signature checks during one search.
const MAX_SIGNATURE_CHECKS: usize = 100;

/// A certificate in the search: one from the token or one of the trusted roots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertRef {
    /// Index into the token's certificates.
    Token(usize),
    /// Index into the trusted roots.
    Root(usize),
}

/// Why no acceptable chain was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A certificate is outside its validity period at genTime.
    NotValidAt {
        /// Its subject.
        subject: String,
        /// Start of validity.
        not_before: Timestamp,
        /// End of validity.
        not_after: Timestamp,
    },
    /// A certificate has a critical extension Go's verifier does not handle.
    UnhandledCriticalExtension {
        /// Its subject.
        subject: String,
        /// The extension.
        oid: String,
    },
    /// Every complete chain has a certificate whose EKU excludes timeStamping.
    Eku {
        /// Subject of the first such certificate, counted from the root.
        subject: String,
    },
    /// Every complete chain has a certificate whose validity does not contain signingTime.
    SigningTime {
        /// Subject of the first such certificate.
        subject: String,
    },
    /// No chain reaches a trusted root.
    Untrusted {
        /// What went wrong with the most promising candidate, if any candidate was found.
        hint: Option<String>,
    },
    /// The signature-check budget ran out.
    Budget,
}

struct Pool<'p> {
    token: &'p [Certificate],
    roots: &'p [&'p Certificate],
}

impl<'p> Pool<'p> {
    fn get(&self, r: CertRef) -> &'p Certificate {
        match r {
            CertRef::Token(i) => &self.token[i],
            CertRef::Root(i) => self.roots[i],
        }
    }

    /// Potential parents of `child`: roots first, then token certificates, by name.
    fn parents(&self, child: &Certificate) -> Vec<CertRef> {
        let mut out: Vec<CertRef> = (0..self.roots.len())
            .filter(|&i| self.roots[i].subject_der() == child.issuer_der())
            .map(CertRef::Root)
            .collect();
        for (i, c) in self.token.iter().enumerate() {
            // A pool holds each certificate once.
            if c.subject_der() == child.issuer_der()
                && !self.token[..i].iter().any(|d| d.der() == c.der())
            {
                out.push(CertRef::Token(i));
            }
        }
        out
    }
}

/// Extensions Go's certificate parser understands; a critical extension outside this list
/// makes Go's verifier refuse the certificate (`UnhandledCriticalExtension`).
fn unhandled_critical_extension(cert: &Certificate) -> Option<String> {
    const HANDLED: [der::asn1::ObjectIdentifier; 13] = [
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14"), // subjectKeyIdentifier
        oid::KEY_USAGE,
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17"), // subjectAltName
        oid::BASIC_CONSTRAINTS,
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.30"), // nameConstraints
        oid::CRL_DISTRIBUTION_POINTS,
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.32"), // certificatePolicies
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.33"), // policyMappings
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.35"), // authorityKeyIdentifier
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.36"), // policyConstraints
        oid::EXT_KEY_USAGE,
        der::asn1::ObjectIdentifier::new_unwrap("2.5.29.54"), // inhibitAnyPolicy
        oid::AUTHORITY_INFO_ACCESS,
    ];
    cert.inner()
        .tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.critical && !HANDLED.contains(&e.extn_id))
        .map(|e| e.extn_id.to_string())
}

/// Go's `alreadyInChain`, without the subjectAltName comparison.
fn already_in_chain(candidate: &Certificate, chain: &[&Certificate]) -> bool {
    let key = candidate
        .inner()
        .tbs_certificate()
        .subject_public_key_info();
    chain.iter().any(|c| {
        c.subject_der() == candidate.subject_der()
            && c.inner().tbs_certificate().subject_public_key_info() == key
    })
}

/// Go's `CheckSignatureFrom` preconditions on the would-be parent.
fn may_sign_certificates(parent: &Certificate) -> Result<(), &'static str> {
    let ext = parent.extensions();
    match &ext.basic_constraints {
        Some((bc, _)) if !bc.ca => return Err("basicConstraints cA is FALSE"),
        None if parent.inner().tbs_certificate().version() == x509_cert::Version::V3 => {
            return Err("no basicConstraints extension");
        }
        _ => {}
    }
    if matches!(&ext.key_usage, Some((ku, _)) if !ku.key_cert_sign()) {
        return Err("keyUsage lacks keyCertSign");
    }
    Ok(())
}

/// The validity and extension checks Go's `isValid` applies to every certificate.
fn check_validity(cert: &Certificate, at: Timestamp) -> Result<(), PathError> {
    if let Some(oid) = unhandled_critical_extension(cert) {
        return Err(PathError::UnhandledCriticalExtension {
            subject: cert.subject(),
            oid,
        });
    }
    if !cert.is_valid_at(at) {
        return Err(PathError::NotValidAt {
            subject: cert.subject(),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
        });
    }
    Ok(())
}

/// Go's `checkChainForKeyUsage` with the single usage timeStamping; returns the subject of
/// the certificate that breaks the chain.
fn eku_breaker<'c>(chain: &[&'c Certificate]) -> Option<&'c Certificate> {
    chain
        .iter()
        .rev()
        .copied()
        .find(|cert| match &cert.extensions().extended_key_usage {
            Some((ekus, _)) if !ekus.is_empty() => {
                !ekus.contains(&oid::ANY_EKU) && !ekus.contains(&oid::KP_TIME_STAMPING)
            }
            _ => false,
        })
}

/// The per-chain rules applied once a chain reaches a root: nested EKU, then signingTime.
fn judge_chain(
    pool: &Pool<'_>,
    refs: &[CertRef],
    signing_time: Option<Timestamp>,
) -> Result<(), PathError> {
    let certs: Vec<&Certificate> = refs.iter().map(|&r| pool.get(r)).collect();
    if let Some(breaker) = eku_breaker(&certs) {
        return Err(PathError::Eku {
            subject: breaker.subject(),
        });
    }
    if let Some(st) = signing_time
        && let Some(outside) = certs.iter().find(|c| !c.is_valid_at(st))
    {
        return Err(PathError::SigningTime {
            subject: outside.subject(),
        });
    }
    Ok(())
}

struct Frame {
    cert: CertRef,
    candidates: Vec<CertRef>,
    next: usize,
}

/// A failed candidate, remembered to explain a failed search (Go's `hintErr`).
struct Hint {
    /// The candidate's signature over the child verified: a more useful explanation.
    signature_ok: bool,
    error: PathError,
}

/// Finds the chain, leaf first, root last. `leaf` indexes the token certificates.
pub(crate) fn build(
    token: &[Certificate],
    leaf: usize,
    roots: &[&Certificate],
    at: Timestamp,
    signing_time: Option<Timestamp>,
    max_len: usize,
) -> Result<Vec<CertRef>, PathError> {
    let pool = Pool { token, roots };
    let leaf_cert = &token[leaf];
    check_validity(leaf_cert, at)?;

    // Why the complete chains found so far were refused, to report the best reason.
    let mut chain_failure: Option<PathError> = None;
    let mut consider_chain = |refs: Vec<CertRef>| -> Option<Vec<CertRef>> {
        match judge_chain(&pool, &refs, signing_time) {
            Ok(()) => Some(refs),
            Err(e) => {
                // A signingTime failure is more specific than an EKU one from another chain.
                if chain_failure.is_none() || matches!(e, PathError::SigningTime { .. }) {
                    chain_failure = Some(e);
                }
                None
            }
        }
    };

    if let Some(i) = roots.iter().position(|r| r.der() == leaf_cert.der()) {
        let refs = vec![CertRef::Root(i)];
        return judge_chain(&pool, &refs, signing_time).map(|()| refs);
    }

    let mut hint: Option<Hint> = None;
    let mut note = |h: Hint| {
        if hint
            .as_ref()
            .is_none_or(|old| !old.signature_ok && h.signature_ok)
        {
            hint = Some(h);
        }
    };
    let mut checks = 0usize;
    let mut stack = vec![Frame {
        cert: CertRef::Token(leaf),
        candidates: pool.parents(leaf_cert),
        next: 0,
    }];
    while let Some(top) = stack.last_mut() {
        let Some(&candidate_ref) = top.candidates.get(top.next) else {
            stack.pop();
            continue;
        };
        top.next += 1;
        let chain: Vec<&Certificate> = stack.iter().map(|f| pool.get(f.cert)).collect();
        let child = chain[chain.len() - 1];
        let candidate = pool.get(candidate_ref);
        if already_in_chain(candidate, &chain) {
            continue;
        }
        checks += 1;
        if checks > MAX_SIGNATURE_CHECKS {
            return Err(chain_failure.unwrap_or(PathError::Budget));
        }
        let unusable = |reason: String| Hint {
            signature_ok: false,
            error: PathError::Untrusted {
                hint: Some(format!(
                    "candidate issuer {:?} of {:?}: {reason}",
                    candidate.subject(),
                    child.subject()
                )),
            },
        };
        if let Err(reason) = may_sign_certificates(candidate) {
            note(unusable(reason.to_owned()));
            continue;
        }
        if let Err(e) = child.is_issued_by(candidate) {
            note(unusable(e.to_string()));
            continue;
        }
        if let Err(error) = check_validity(candidate, at) {
            note(Hint {
                signature_ok: true,
                error,
            });
            continue;
        }
        let is_root = matches!(candidate_ref, CertRef::Root(_));
        let bc = candidate.extensions().basic_constraints.as_ref();
        if !is_root && !candidate.is_ca() {
            note(Hint {
                signature_ok: true,
                error: PathError::Untrusted {
                    hint: Some(format!(
                        "intermediate {:?} is not a CA",
                        candidate.subject()
                    )),
                },
            });
            continue;
        }
        // Intermediates below this candidate, not counting the leaf.
        let below = chain.len() - 1;
        if let Some(path_len) = bc.and_then(|(bc, _)| bc.path_len_constraint)
            && below > usize::from(path_len)
        {
            note(Hint {
                signature_ok: true,
                error: PathError::Untrusted {
                    hint: Some(format!(
                        "{:?} allows {path_len} intermediates below it, {below} found",
                        candidate.subject()
                    )),
                },
            });
            continue;
        }
        if is_root {
            let mut refs: Vec<CertRef> = stack.iter().map(|f| f.cert).collect();
            refs.push(candidate_ref);
            if let Some(found) = consider_chain(refs) {
                return Ok(found);
            }
        } else if stack.len() + 1 < max_len {
            let candidates = pool.parents(candidate);
            stack.push(Frame {
                cert: candidate_ref,
                candidates,
                next: 0,
            });
        } else {
            note(Hint {
                signature_ok: true,
                error: PathError::Untrusted {
                    hint: Some(format!(
                        "the chain through {:?} would be longer than {max_len} certificates",
                        candidate.subject()
                    )),
                },
            });
        }
    }
    Err(chain_failure
        .or(hint.map(|h| h.error))
        .unwrap_or(PathError::Untrusted { hint: None }))
}
