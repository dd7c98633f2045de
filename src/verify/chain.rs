//! The certificate-chain rules of NOTARY-VERIFY §5.1, applied to a chain exactly as given
//! (leaf first, root last). There is no path building: the signer states the chain and it is
//! either well-formed or rejected.

use der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

use super::oid;
use super::x509::Certificate;

/// What the chain is for; the leaf rules differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainPurpose {
    /// An envelope's x5c chain.
    CodeSigning,
    /// A timestamp token's chain, leaf = the TSA certificate.
    Timestamping,
}

/// A broken rule of §5.1, naming the certificate by position and subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No certificates at all.
    #[error("certificate chain is empty")]
    Empty,
    /// More certificates than the configured cap.
    #[error("certificate chain has {len} certificates, more than the limit of {max}")]
    TooLong {
        /// Chain length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The last certificate (or the only one) is not self-signed.
    #[error("certificate {index} ({subject:?}) must be a self-signed root: {reason}")]
    RootNotSelfSigned {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
        /// What failed.
        reason: String,
    },
    /// A certificate other than the last is self-signed (an extra root, or a self-signed leaf
    /// placed in front of an unrelated chain).
    #[error("certificate {index} ({subject:?}) is self-signed but is not the last in the chain")]
    SelfSignedBeforeRoot {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// Certificate i is not issued by certificate i+1.
    #[error(
        "certificate {index} ({subject:?}) is not issued by the next certificate ({issuer:?}): {reason}"
    )]
    NotIssuedByNext {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
        /// The next certificate's subject.
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// A CA certificate lacks basicConstraints with cA=TRUE.
    #[error("CA certificate {index} ({subject:?}) must have basicConstraints with cA=TRUE")]
    CaWithoutBasicConstraints {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// A CA's pathLenConstraint is smaller than the number of CAs below it.
    #[error(
        "CA certificate {index} ({subject:?}) has pathLenConstraint {path_len} but {needed} CA certificates follow below it"
    )]
    PathLenExceeded {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
        /// The constraint.
        path_len: u8,
        /// CAs below this one.
        needed: usize,
    },
    /// keyUsage is missing.
    #[error("certificate {index} ({subject:?}) has no keyUsage extension")]
    KeyUsageMissing {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// keyUsage is present but not critical where the code-signing profile requires it.
    #[error("certificate {index} ({subject:?}) must mark keyUsage critical")]
    KeyUsageNotCritical {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// A CA without keyCertSign.
    #[error("CA certificate {index} ({subject:?}) lacks the keyCertSign key usage")]
    CaWithoutKeyCertSign {
        /// Position in the chain.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// The leaf claims to be a CA.
    #[error("leaf certificate ({subject:?}) has basicConstraints cA=TRUE")]
    LeafIsCa {
        /// Its subject.
        subject: String,
    },
    /// The leaf lacks digitalSignature.
    #[error("leaf certificate ({subject:?}) lacks the digitalSignature key usage")]
    LeafWithoutDigitalSignature {
        /// Its subject.
        subject: String,
    },
    /// The leaf has a key usage other than digitalSignature / nonRepudiation.
    #[error("leaf certificate ({subject:?}) has forbidden key usages: {usages}")]
    LeafForbiddenKeyUsage {
        /// Its subject.
        subject: String,
        /// The forbidden bits, comma-separated.
        usages: String,
    },
    /// A code-signing leaf has an EKU that the spec forbids.
    #[error("code-signing leaf certificate ({subject:?}) has forbidden extended key usage {eku}")]
    LeafForbiddenEku {
        /// Its subject.
        subject: String,
        /// The offending purpose.
        eku: &'static str,
    },
    /// A TSA leaf whose EKU is not exactly [timeStamping], or not critical.
    #[error(
        "timestamping leaf certificate ({subject:?}) must have a critical extendedKeyUsage of exactly timeStamping"
    )]
    TsaEku {
        /// Its subject.
        subject: String,
    },
    /// The leaf's key is not one of RSA 2048/3072/4096 or EC P-256/384/521.
    #[error("leaf certificate ({subject:?}) has an unsupported key: {reason}")]
    LeafKey {
        /// Its subject.
        subject: String,
        /// The key found.
        reason: String,
    },
}

/// Something worth telling the operator that did not fail the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainNote(pub String);

/// Checks a chain against every rule of §5.1 for `purpose`. Validity periods are not checked
/// here: they belong to the authentic-timestamp check, which the level may only log.
pub fn validate_chain(
    chain: &[Certificate],
    purpose: ChainPurpose,
    max_len: usize,
) -> Result<Vec<ChainNote>, ChainError> {
    let mut notes = Vec::new();
    let Some(last_index) = chain.len().checked_sub(1) else {
        return Err(ChainError::Empty);
    };
    if chain.len() > max_len {
        return Err(ChainError::TooLong {
            len: chain.len(),
            max: max_len,
        });
    }
    for (i, cert) in chain.iter().enumerate() {
        if i == last_index {
            if let Err(e) = cert.is_issued_by(cert) {
                return Err(ChainError::RootNotSelfSigned {
                    index: i,
                    subject: cert.subject().to_owned(),
                    reason: e.to_string(),
                });
            }
        } else {
            if cert.is_self_signed() {
                return Err(ChainError::SelfSignedBeforeRoot {
                    index: i,
                    subject: cert.subject().to_owned(),
                });
            }
            let parent = &chain[i + 1];
            if let Err(e) = cert.is_issued_by(parent) {
                return Err(ChainError::NotIssuedByNext {
                    index: i,
                    subject: cert.subject().to_owned(),
                    issuer: parent.subject().to_owned(),
                    reason: e.to_string(),
                });
            }
        }
        if i == 0 {
            validate_leaf(cert, purpose)?;
        } else {
            validate_ca(cert, i, purpose, &mut notes)?;
        }
    }
    Ok(notes)
}

fn validate_ca(
    cert: &Certificate,
    index: usize,
    purpose: ChainPurpose,
    notes: &mut Vec<ChainNote>,
) -> Result<(), ChainError> {
    let subject = || cert.subject().to_owned();
    let ext = cert.extensions();
    match &ext.basic_constraints {
        Some((bc, critical)) if bc.ca => {
            if !critical {
                // The spec wants it critical; notation does not check. Accept, but say so.
                notes.push(ChainNote(format!(
                    "CA certificate {index} ({}) has a non-critical basicConstraints extension",
                    cert.subject()
                )));
            }
            // CA certificates below this one, not counting the leaf.
            let needed = index - 1;
            if let Some(path_len) = bc.path_len_constraint
                && usize::from(path_len) < needed
            {
                return Err(ChainError::PathLenExceeded {
                    index,
                    subject: subject(),
                    path_len,
                    needed,
                });
            }
        }
        _ => {
            return Err(ChainError::CaWithoutBasicConstraints {
                index,
                subject: subject(),
            });
        }
    }
    let Some((ku, critical)) = &ext.key_usage else {
        return Err(ChainError::KeyUsageMissing {
            index,
            subject: subject(),
        });
    };
    if purpose == ChainPurpose::CodeSigning && !critical {
        return Err(ChainError::KeyUsageNotCritical {
            index,
            subject: subject(),
        });
    }
    if !ku.key_cert_sign() {
        return Err(ChainError::CaWithoutKeyCertSign {
            index,
            subject: subject(),
        });
    }
    Ok(())
}

fn validate_leaf(cert: &Certificate, purpose: ChainPurpose) -> Result<(), ChainError> {
    let subject = || cert.subject().to_owned();
    let ext = cert.extensions();
    if cert.is_ca() {
        return Err(ChainError::LeafIsCa { subject: subject() });
    }
    let Some((ku, critical)) = &ext.key_usage else {
        return Err(ChainError::KeyUsageMissing {
            index: 0,
            subject: subject(),
        });
    };
    if purpose == ChainPurpose::CodeSigning && !critical {
        return Err(ChainError::KeyUsageNotCritical {
            index: 0,
            subject: subject(),
        });
    }
    if !ku.digital_signature() {
        return Err(ChainError::LeafWithoutDigitalSignature { subject: subject() });
    }
    const FORBIDDEN: [(KeyUsages, &str); 7] = [
        (KeyUsages::KeyEncipherment, "keyEncipherment"),
        (KeyUsages::DataEncipherment, "dataEncipherment"),
        (KeyUsages::KeyAgreement, "keyAgreement"),
        (KeyUsages::KeyCertSign, "keyCertSign"),
        (KeyUsages::CRLSign, "cRLSign"),
        (KeyUsages::EncipherOnly, "encipherOnly"),
        (KeyUsages::DecipherOnly, "decipherOnly"),
    ];
    let bad: Vec<&str> = FORBIDDEN
        .iter()
        .filter(|(bit, _)| ku.0.contains(*bit))
        .map(|(_, name)| *name)
        .collect();
    if !bad.is_empty() {
        return Err(ChainError::LeafForbiddenKeyUsage {
            subject: subject(),
            usages: bad.join(", "),
        });
    }
    match purpose {
        ChainPurpose::CodeSigning => {
            if let Some((ekus, _)) = &ext.extended_key_usage {
                const FORBIDDEN_EKU: [(ObjectIdentifier, &str); 6] = [
                    (oid::KP_SERVER_AUTH, "serverAuth"),
                    (oid::KP_CLIENT_AUTH, "clientAuth"),
                    (oid::KP_EMAIL_PROTECTION, "emailProtection"),
                    (oid::KP_TIME_STAMPING, "timeStamping"),
                    (oid::KP_OCSP_SIGNING, "OCSPSigning"),
                    // The spec bans anyExtendedKeyUsage; notation does not (a documented
                    // divergence: we follow the spec).
                    (oid::ANY_EKU, "anyExtendedKeyUsage"),
                ];
                for eku in ekus {
                    if let Some((_, name)) = FORBIDDEN_EKU.iter().find(|(o, _)| o == eku) {
                        return Err(ChainError::LeafForbiddenEku {
                            subject: subject(),
                            eku: name,
                        });
                    }
                }
            }
        }
        ChainPurpose::Timestamping => match &ext.extended_key_usage {
            Some((ekus, true)) if ekus.as_slice() == [oid::KP_TIME_STAMPING] => {}
            _ => return Err(ChainError::TsaEku { subject: subject() }),
        },
    }
    match cert.public_key() {
        Ok(key) if key.spec().notary_algorithm().is_some() => Ok(()),
        Ok(key) => Err(ChainError::LeafKey {
            subject: subject(),
            reason: key.spec().to_string(),
        }),
        Err(e) => Err(ChainError::LeafKey {
            subject: subject(),
            reason: e.to_string(),
        }),
    }
}
