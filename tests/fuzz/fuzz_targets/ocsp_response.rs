#![no_main]

use std::sync::OnceLock;

use notaryd::verify::x509::Certificate;

/// The issuer of the OpenSSL-made fixtures, so that seeds from `tests/data/ocsp-openssl/` reach
/// the signature checks.
fn issuer() -> &'static Certificate {
    static ISSUER: OnceLock<Certificate> = OnceLock::new();
    ISSUER.get_or_init(|| {
        Certificate::from_der(include_bytes!("../fixtures/ocsp-ca.der")).expect("fixture CA parses")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use notaryd::verify::revocation::ocsp::OcspResponse;
    if let Ok(resp) = OcspResponse::parse_and_verify(data, issuer()) {
        let _ = resp.status_for(issuer());
        let _ = resp.responses().count();
    }
});
