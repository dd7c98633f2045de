use crate::common::pki::*;
use notaryd::verify::chain::{ChainPurpose, validate_chain};
use notaryd::verify::x509::Certificate;

#[test]
fn generated_chain_satisfies_the_code_signing_rules() {
    for kind in [
        KeyKind::Rsa2048,
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::P521,
    ] {
        let chain = Chain::new(kind);
        let certs: Vec<Certificate> = chain
            .x5c()
            .iter()
            .map(|d| Certificate::from_der(d).unwrap())
            .collect();
        validate_chain(&certs, ChainPurpose::CodeSigning, 10).unwrap();
    }
}
