//! `notaryd bundle create`, run on a connected machine: collect the CRLs and OCSP responses
//! that verifications on a node will need, plus the CA certificates of signature chains that
//! issued them, and write them as one bundle.
//!
//! Sources: the CRL distribution points of every certificate in the trust stores and in the
//! chains (signing and TSA) of the given images' signatures — and the delta CRLs their CRLs
//! name; OCSP responses for every certificate of those chains that names a responder; and
//! CRLs and OCSP responses the operator already has as files. Only `http://` is fetched (as
//! notation does), each fetch under a deadline and a size cap; what cannot be had is
//! reported, never silently dropped.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::format::{self, ItemHeader, ItemKind};
use crate::oci;
use crate::registry::client::{Endpoint, RegistryClient};
use crate::verify::envelope::parse_unverified;
use crate::verify::limits::Limits;
use crate::verify::revocation::ocsp::{UnverifiedOcsp, request_der};
use crate::verify::x509::Certificate;

/// Deadline for one CRL download (notation's CRL timeout).
pub(crate) const CRL_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline for one OCSP request (notation's OCSP timeout).
pub(crate) const OCSP_TIMEOUT: Duration = Duration::from_secs(2);
/// Most URLs fetched for one bundle: far more than a trust store's CAs name.
pub const MAX_URLS: usize = 1024;

/// What a `bundle create` found and failed to find.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReport {
    /// Items written, by source.
    pub collected: Vec<String>,
    /// What could not be had, with the reason.
    pub missing: Vec<String>,
}

/// The inputs of `bundle create`.
pub(crate) struct CreateRequest {
    /// Trust-store certificates (every store).
    pub anchors: Vec<Certificate>,
    /// Signature chains (and TSA chains) of the images asked for, leaf first per chain.
    pub chains: Vec<Vec<Certificate>>,
    /// CRL URLs or files given by the operator.
    pub crls: Vec<String>,
    /// Certificates to get OCSP responses for (their issuers must be among the known
    /// certificates).
    pub ocsp_for: Vec<Certificate>,
    /// OCSP response files given by the operator.
    pub ocsp_files: Vec<PathBuf>,
    /// CA certificates given by the operator (issuers of CRLs and OCSP responses that are not
    /// in the trust stores, e.g. intermediates), included in the bundle.
    pub certificates: Vec<Certificate>,
    /// What could not be read while finding the chains (reported as missing).
    pub unreadable: Vec<String>,
}

/// Collects everything and returns the bundle's items and the report.
pub async fn collect(request: &CreateRequest) -> (Vec<(ItemHeader, Vec<u8>)>, CreateReport) {
    let mut report = CreateReport {
        missing: request.unreadable.clone(),
        ..CreateReport::default()
    };
    let mut items: Vec<(ItemHeader, Vec<u8>)> = Vec::new();
    let http = reqwest::Client::builder()
        // Only http:// is fetched (as notation does), redirects included.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().scheme() != "http" {
                attempt.error("a redirect to a non-http:// URL is not followed (only http:// is fetched, as notation does)")
            } else if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
        .build();
    let http = match http {
        Ok(h) => h,
        Err(e) => {
            report.missing.push(format!("HTTP client: {e}"));
            return (items, report);
        }
    };

    // Every certificate we know, for finding issuers.
    let mut known: Vec<&Certificate> = request.anchors.iter().collect();
    for chain in &request.chains {
        known.extend(chain.iter());
    }
    known.extend(request.ocsp_for.iter());
    known.extend(request.certificates.iter());

    // CA certificates of the chains that are not trust-store certificates go in, so that the
    // node can check the CRLs and responses they issued — only those that chain to the trust
    // stores: import refuses a bundle holding any other (a signature by an untrusted signer on
    // the same image must not make the whole bundle unusable).
    let mut included: BTreeSet<Vec<u8>> =
        request.anchors.iter().map(|c| c.der().to_vec()).collect();
    let mut admitted: Vec<&Certificate> = request.anchors.iter().collect();
    let mut candidates: Vec<(&Certificate, &str)> = request
        .certificates
        .iter()
        .map(|c| (c, "--certificate"))
        .chain(
            request
                .chains
                .iter()
                .flat_map(|chain| chain.iter().skip(1).map(|c| (c, "signature chain"))),
        )
        .filter(|(c, _)| !included.contains(c.der()))
        .collect();
    loop {
        let before = candidates.len();
        candidates.retain(|&(cert, source)| {
            if included.contains(cert.der()) {
                return false;
            }
            if !admitted
                .iter()
                .any(|issuer| cert.is_issued_by(issuer).is_ok())
            {
                return true;
            }
            included.insert(cert.der().to_vec());
            let is_ca = cert.is_ca();
            if !is_ca {
                // Import takes CA certificates only (they are there to check what they issued).
                report.missing.push(format!(
                    "certificate {} ({source}): not a CA certificate; not included",
                    cert.subject()
                ));
                return false;
            }
            admitted.push(cert);
            let mut h = format::item(ItemKind::Certificate, Some(source.into()));
            h.subject = Some(cert.subject());
            items.push((h, cert.der().to_vec()));
            report
                .collected
                .push(format!("certificate {}", cert.subject()));
            false
        });
        if candidates.len() == before {
            break;
        }
    }
    let mut left_out: BTreeSet<Vec<u8>> = BTreeSet::new();
    for (cert, source) in candidates {
        if left_out.insert(cert.der().to_vec()) {
            report.missing.push(format!(
                "certificate {} ({source}): does not chain to a trust store certificate; not included",
                cert.subject()
            ));
        }
    }

    // CRL distribution points.
    let mut urls: BTreeSet<String> = BTreeSet::new();
    for cert in &known {
        urls.extend(cert.extensions().crl_urls.iter().cloned());
    }
    let mut files = Vec::new();
    for c in &request.crls {
        if c.contains("://") {
            urls.insert(c.clone());
        } else {
            files.push(c.clone());
        }
    }
    let mut queue: Vec<String> = urls.into_iter().collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(url) = queue.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        if seen.len() > MAX_URLS {
            report
                .missing
                .push(format!("more than {MAX_URLS} CRL URLs; stopped at {url}"));
            break;
        }
        match fetch(&http, &url, format::MAX_CRL_BYTES, CRL_TIMEOUT, None).await {
            Ok(der) => {
                // Delta CRLs named by this CRL are needed too.
                if let Ok(crl) = crate::verify::revocation::crl::Crl::parse_unverified(&der) {
                    queue.extend(crl.freshest_crl_urls().iter().cloned());
                    let mut h = format::item(ItemKind::Crl, Some(url.clone()));
                    h.issuer = Some(render_name(crl.issuer_der()));
                    items.push((h, der));
                    report.collected.push(format!("CRL {url}"));
                } else {
                    report.missing.push(format!("CRL {url}: not a DER CRL"));
                }
            }
            Err(e) => report.missing.push(format!("CRL {url}: {e}")),
        }
    }
    for file in files {
        match std::fs::read(&file) {
            Ok(der) if der.len() as u64 <= format::MAX_CRL_BYTES => {
                match crate::verify::revocation::crl::Crl::parse_unverified(&der) {
                    Ok(crl) => {
                        let mut h = format::item(ItemKind::Crl, Some(file.clone()));
                        h.issuer = Some(render_name(crl.issuer_der()));
                        items.push((h, der));
                        report.collected.push(format!("CRL file {file}"));
                    }
                    Err(e) => report.missing.push(format!("CRL file {file}: {e}")),
                }
            }
            Ok(_) => report.missing.push(format!(
                "CRL file {file}: larger than {} bytes",
                format::MAX_CRL_BYTES
            )),
            Err(e) => report.missing.push(format!("CRL file {file}: {e}")),
        }
    }

    // OCSP for every chain certificate that names a responder, and for --ocsp-for.
    let mut targets: Vec<(&Certificate, &Certificate)> = Vec::new();
    for chain in &request.chains {
        for pair in chain.windows(2) {
            if !pair[0].extensions().ocsp_urls.is_empty() {
                targets.push((&pair[0], &pair[1]));
            }
        }
    }
    for cert in &request.ocsp_for {
        match known
            .iter()
            .find(|i| cert.is_issued_by(i).is_ok() && i.der() != cert.der())
        {
            Some(issuer) => targets.push((cert, issuer)),
            None => report.missing.push(format!(
                "OCSP for {}: its issuer is not among the known certificates",
                cert.subject()
            )),
        }
    }
    // One request per certificate, however many signatures or options name it.
    let mut asked: BTreeSet<Vec<u8>> = BTreeSet::new();
    targets.retain(|(cert, _)| asked.insert(cert.der().to_vec()));
    for (cert, issuer) in targets {
        let req = match request_der(cert, issuer) {
            Ok(r) => r,
            Err(e) => {
                report
                    .missing
                    .push(format!("OCSP for {}: {e}", cert.subject()));
                continue;
            }
        };
        let mut got = false;
        for url in &cert.extensions().ocsp_urls {
            let fetched = fetch(&http, url, format::MAX_OCSP_BYTES, OCSP_TIMEOUT, Some(&req))
                .await
                .and_then(|der| {
                    // A responder's tryLater, an error page: not a response import could use.
                    UnverifiedOcsp::parse(&der)
                        .map(|_| der)
                        .map_err(|e| e.to_string())
                });
            match fetched {
                Ok(der) => {
                    let mut h = format::item(ItemKind::Ocsp, Some(url.clone()));
                    h.issuer = Some(issuer.subject());
                    h.serial = Some(crate::verify::descriptor::hex(cert.serial_number()));
                    items.push((h, der));
                    report
                        .collected
                        .push(format!("OCSP {url} for {}", cert.subject()));
                    got = true;
                    break;
                }
                Err(e) => report
                    .missing
                    .push(format!("OCSP {url} for {}: {e}", cert.subject())),
            }
        }
        if !got && cert.extensions().ocsp_urls.is_empty() {
            report.missing.push(format!(
                "OCSP for {}: the certificate names no responder",
                cert.subject()
            ));
        }
    }
    for file in &request.ocsp_files {
        match std::fs::read(file) {
            Ok(der) if der.len() as u64 <= format::MAX_OCSP_BYTES => {
                match UnverifiedOcsp::parse(&der) {
                    Ok(_) => {
                        items.push((
                            format::item(ItemKind::Ocsp, Some(file.display().to_string())),
                            der,
                        ));
                        report
                            .collected
                            .push(format!("OCSP file {}", file.display()));
                    }
                    Err(e) => report
                        .missing
                        .push(format!("OCSP file {}: {e}", file.display())),
                }
            }
            Ok(_) => report.missing.push(format!(
                "OCSP file {}: larger than {} bytes",
                file.display(),
                format::MAX_OCSP_BYTES
            )),
            Err(e) => report
                .missing
                .push(format!("OCSP file {}: {e}", file.display())),
        }
    }
    (items, report)
}

/// GET (or, with `ocsp_request`, POST `application/ocsp-request`) an `http://` URL, capped.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
    max: u64,
    timeout: Duration,
    ocsp_request: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err("only http:// URLs are fetched (as notation does)".into());
    }
    let request = match ocsp_request {
        Some(body) => http
            .post(url)
            .header("Content-Type", "application/ocsp-request")
            .body(body.to_vec()),
        None => http.get(url),
    };
    let mut response = request.timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("timed out after {timeout:?}")
        } else {
            with_causes(&e)
        }
    })?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    if response.content_length().is_some_and(|l| l > max) {
        return Err(format!("larger than {max} bytes"));
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| with_causes(&e))? {
        if out.len() as u64 + chunk.len() as u64 > max {
            return Err(format!("larger than {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// An error with its causes: reqwest's own message ("error sending request for url …") does
/// not say why (connection refused, DNS, reset), and that is what an operator needs.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// The signing chains (and TSA chains) of `reference`'s signatures at `ep`, found as a
/// verification finds them (unverified: they only say where revocation data lives), and a line for each signature that could not be read (for the
/// report: its chain's CRLs and responders are then not collected).
pub(crate) async fn signature_chains(
    client: &RegistryClient,
    ep: &Endpoint,
    repository: &str,
    reference: &str,
    limits: &Limits,
) -> Result<(Vec<Vec<Certificate>>, Vec<String>), crate::registry::error::RegistryError> {
    let manifest = client
        .fetch_manifest(ep, repository, reference, limits.max_manifest_bytes)
        .await?;
    let entries = crate::registry::discovery::signature_entries(
        client,
        ep,
        repository,
        &manifest.digest,
        limits.max_manifest_bytes,
    )
    .await?;
    let mut chains = Vec::new();
    let mut unreadable = Vec::new();
    for entry in entries.iter().take(limits.max_signature_attempts) {
        match signature_chain(client, ep, repository, entry, limits).await {
            Ok(found) => chains.extend(found),
            Err(e) => unreadable.push(format!(
                "signature {} of {}/{repository}@{}: {e}",
                entry.digest, ep.host, manifest.digest
            )),
        }
    }
    Ok((chains, unreadable))
}

/// The chains one signature carries: its x5c chain and its timestamp token's certificates.
async fn signature_chain(
    client: &RegistryClient,
    ep: &Endpoint,
    repository: &str,
    entry: &crate::verify::descriptor::Descriptor,
    limits: &Limits,
) -> Result<Vec<Vec<Certificate>>, String> {
    let sig = client
        .fetch_manifest(
            ep,
            repository,
            entry.digest.as_str(),
            limits.max_manifest_bytes,
        )
        .await
        .map_err(|e| e.to_string())?;
    let parsed = oci::Manifest::parse(&sig.bytes).map_err(|e| e.to_string())?;
    let layer = parsed
        .layers
        .first()
        .or(parsed.blobs.first())
        .ok_or("the signature manifest names no envelope")?;
    let envelope = client
        .fetch_blob(
            ep,
            repository,
            &layer.digest,
            layer.size,
            limits.max_envelope_bytes,
        )
        .await
        .map_err(|e| e.to_string())?;
    let p =
        parse_unverified(&layer.media_type, &envelope.bytes, limits).map_err(|e| e.to_string())?;
    let chain = p
        .certificate_chain
        .iter()
        .map(|d| Certificate::from_der(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("its certificate chain: {e}"))?;
    let mut chains = vec![chain];
    if let Some(token) = &p.timestamp_token {
        let tsa = crate::verify::timestamp::token_certificates(token, limits.max_chain_len)
            .map_err(|e| format!("its timestamp token: {e}"))?;
        chains.push(order_chain(tsa));
    }
    Ok(chains)
}

/// Orders a bag of certificates leaf first (each issued by the next), best effort.
fn order_chain(mut certs: Vec<Certificate>) -> Vec<Certificate> {
    let Some(leaf_pos) = certs.iter().position(|c| !c.is_ca()) else {
        return certs;
    };
    let mut out = vec![certs.remove(leaf_pos)];
    while let Some(pos) = certs
        .iter()
        .position(|c| out.last().is_some_and(|l| l.is_issued_by(c).is_ok()))
    {
        out.push(certs.remove(pos));
    }
    out.extend(certs);
    out
}

fn render_name(der: &[u8]) -> String {
    use der::Decode;
    x509_cert::name::Name::from_der(der)
        .map(|n| crate::verify::dn::render_go_style(&n))
        .unwrap_or_else(|_| "?".into())
}
