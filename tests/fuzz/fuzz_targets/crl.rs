#![no_main]

use std::sync::OnceLock;

use notaryd::verify::x509::Certificate;

/// A CA certificate (the OCSP fixtures' CA) for the signature path.
fn issuer() -> &'static Certificate {
    static ISSUER: OnceLock<Certificate> = OnceLock::new();
    ISSUER.get_or_init(|| {
        Certificate::from_der(include_bytes!("../fixtures/ocsp-ca.der")).expect("fixture CA parses")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use notaryd::verify::revocation::crl::Crl;
    if let Ok(crl) = Crl::parse_unverified(data) {
        let _ = crl.issuer();
        let _ = (
            crl.number(),
            crl.delta_base(),
            crl.is_delta(),
            crl.authority_key_id(),
        );
        let _ = (crl.this_update(), crl.next_update(), crl.entry_count());
        let _ = (crl.freshest_crl_urls(), crl.scope(), crl.heap_bytes());
        let _ = crl.covers(issuer());
        let _ = crl.lookup(&[1]);
        let _ = crl.lookup_all(&[0x10, 0x00]).count();
        if let Some(n) = crl.number() {
            let _ = notaryd::verify::revocation::crl::cmp_crl_numbers(n, &[1]);
        }
    }
    let _ = Crl::parse_and_verify(data, issuer());
});
