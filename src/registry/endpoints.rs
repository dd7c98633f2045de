//! From containerd's host configuration to the endpoints the client contacts: reads the CA
//! and client-certificate files each host names (size-capped), keeps the order (mirrors,
//! then the registry itself), and marks which endpoint is the upstream.

use std::io::Read;
use std::path::Path;

use super::client::{Capabilities, Endpoint, TlsOptions};
use super::error::RegistryError;
use super::hosts::{self, RegistryHost, Scheme};

/// Largest CA or client certificate/key file read. A CA bundle of ~150 roots is ~200 KiB.
pub const MAX_TLS_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The endpoints for `registry` from the hosts directory (`/etc/containerd/certs.d` by
/// default). `plain_http` makes the registry itself (when no `server` is configured) plain
/// HTTP, as `--plain-http` does in containerd's tools.
pub fn endpoints_for(
    hosts_dir: &Path,
    registry: &str,
    plain_http: bool,
) -> Result<Vec<Endpoint>, RegistryError> {
    let scheme = if plain_http {
        Scheme::Http
    } else {
        Scheme::Https
    };
    let hosts = hosts::load_hosts_from(&[hosts_dir], registry, scheme)
        .map_err(|e| RegistryError::Config(e.to_string()))?;
    let last = hosts.len().saturating_sub(1);
    hosts
        .iter()
        .enumerate()
        .map(|(i, h)| endpoint(h, i == last))
        .collect()
}

fn endpoint(h: &RegistryHost, is_upstream: bool) -> Result<Endpoint, RegistryError> {
    let mut tls = TlsOptions {
        skip_verify: h.insecure_skip_verify(),
        ..TlsOptions::default()
    };
    for ca in &h.ca_files {
        tls.ca_pem.push(read_file(ca, "CA certificate", &h.host)?);
    }
    if let Some(pair) = h.client_pairs.first() {
        let mut identity = read_file(&pair.cert, "client certificate", &h.host)?;
        if let Some(key) = &pair.key {
            identity.push(b'\n');
            identity.extend(read_file(key, "client key", &h.host)?);
        }
        tls.client_identity_pem = Some(identity);
    }
    Ok(Endpoint {
        scheme: match h.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        },
        host: h.host.clone(),
        path_prefix: h.path.trim_end_matches('/').to_owned(),
        capabilities: Capabilities {
            pull: h.capabilities.pull,
            resolve: h.capabilities.resolve,
        },
        tls,
        headers: h
            .headers
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect(),
        is_upstream,
        // containerd (Go's net.Dialer) reads 0 as "no dial timeout": the client's applies.
        dial_timeout: h.dial_timeout.filter(|d| !d.is_zero()),
    })
}

fn read_file(path: &Path, what: &str, host: &str) -> Result<Vec<u8>, RegistryError> {
    let err =
        |e: String| RegistryError::Config(format!("{what} {} for {host}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TLS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_TLS_FILE_BYTES {
        return Err(err(format!("larger than {MAX_TLS_FILE_BYTES} bytes")));
    }
    Ok(bytes)
}
