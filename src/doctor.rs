//! `notaryd doctor`: every way signature enforcement is silently off on this node.
//!
//! Enforcement is live when the daemon answers, and at least one route puts it in the pull
//! path: kubelet's `imageServiceEndpoint` is notaryd's CRI proxy (any containerd version), or
//! containerd 2.1+ runs `notaryd-containerd-verifier` from its image-verifier `bin_dir` with
//! CRI pulling through the transfer service. Each finding names the file and key at fault.
//! With a containerd socket it also lists the images already in containerd's store that
//! notaryd has no verdict for (and with `--verify`, verifies them now).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::api::v1;

/// The verifier binary's name in `bin_dir`.
pub(crate) const VERIFIER_BINARY: &str = "notaryd-containerd-verifier";
/// containerd's default `bin_dir` for image verifiers.
pub const DEFAULT_VERIFIER_BIN_DIR: &str = "/opt/containerd/image-verifier/bin";

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// Enforcement is off on this route.
    Bypass,
    /// Worth fixing; enforcement is not off because of it.
    Warning,
    /// What was found to be right.
    Ok,
}

/// One finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Where: `file: key` or a component.
    pub subject: String,
    /// What.
    pub message: String,
}

/// What `doctor` looks at.
#[derive(Clone, Debug)]
pub struct DoctorInput {
    /// containerd's config.toml.
    pub containerd_config: PathBuf,
    /// kubelet's config file (KubeletConfiguration, YAML or JSON), when given.
    pub kubelet_config: Option<PathBuf>,
    /// kubelet's `--image-service-endpoint` flag, when given instead.
    pub image_service_endpoint: Option<String>,
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The CRI proxy's socket.
    pub cri_socket: Option<PathBuf>,
    /// Whether the CRI proxy is in audit mode (refused pulls go ahead).
    pub cri_audit: bool,
    /// containerd's socket, for the image inventory.
    pub containerd_socket: Option<PathBuf>,
    /// containerd namespace of CRI's images.
    pub namespace: String,
    /// Verify the images without a verdict now.
    pub verify: bool,
}

/// An image in containerd's store and what notaryd says of it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLine {
    /// The image record's name.
    pub name: String,
    /// Its target digest.
    pub digest: String,
    /// accepted, skipped, rejected, exempt, error, or "no verdict".
    pub verdict: String,
    /// Why, when not accepted.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    /// Whether enforcement is live.
    pub enforcement_live: bool,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// containerd's images, when its socket was reachable.
    pub inventory: Vec<InventoryLine>,
}

fn finding(severity: Severity, subject: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding {
        severity,
        subject: subject.into(),
        message: message.into(),
    }
}

/// Looks up a dotted path of table keys.
fn lookup<'a>(v: &'a toml::Value, path: &[&str]) -> Option<&'a toml::Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// What the containerd configuration says.
#[derive(Debug, Default)]
pub(crate) struct ContainerdFacts {
    /// `version` of the config file (1, 2 or 3).
    pub config_version: i64,
    /// The verifier `bin_dir` when the bindir plugin is configured or defaulted (v3 only).
    pub bin_dir: Option<PathBuf>,
    /// Whether the bindir plugin is disabled.
    pub bindir_disabled: bool,
    /// Settings that put CRI in local-pull mode, which skips image verifiers.
    pub local_pull_reasons: Vec<(String, String)>,
}

/// Reads a containerd configuration (version 2 or 3).
pub(crate) fn containerd_facts(
    path: &Path,
    text: &str,
) -> Result<(ContainerdFacts, Vec<Finding>), String> {
    let doc: toml::Value = toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let shown = path.display().to_string();
    let mut facts = ContainerdFacts {
        config_version: doc
            .get("version")
            .and_then(toml::Value::as_integer)
            .unwrap_or(1),
        ..ContainerdFacts::default()
    };
    let mut findings = Vec::new();
    let disabled: Vec<&str> = doc
        .get("disabled_plugins")
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    const BINDIR: &str = "io.containerd.image-verifier.v1.bindir";
    facts.bindir_disabled = disabled.contains(&BINDIR);
    // Where each CRI image setting lives: version 3 (containerd 2.x) and version 2.
    let images_v3 = ["plugins", "io.containerd.cri.v1.images"];
    let cri_v2 = ["plugins", "io.containerd.grpc.v1.cri"];
    let get = |rel: &[&str]| -> Option<(&toml::Value, String)> {
        for base in [
            &images_v3[..],
            &cri_v2[..],
            &["plugins", "io.containerd.grpc.v1.cri", "containerd"][..],
        ] {
            let full: Vec<&str> = base.iter().chain(rel.iter()).copied().collect();
            if let Some(v) = lookup(&doc, &full) {
                return Some((
                    v,
                    format!("{shown}: [{}] {}", base[1..].join("."), rel.join(".")),
                ));
            }
        }
        None
    };
    let mut local = |key: String, why: String| facts.local_pull_reasons.push((key, why));
    if let Some((v, key)) = get(&["use_local_image_pull"])
        && v.as_bool() == Some(true)
    {
        local(
            key,
            "CRI pulls locally (use_local_image_pull = true)".into(),
        );
    }
    if let Some((v, key)) = get(&["disable_snapshot_annotations"])
        && v.as_bool() == Some(false)
    {
        local(
            key,
            "disable_snapshot_annotations = false makes CRI pull locally".into(),
        );
    }
    if let Some((v, key)) = get(&["discard_unpacked_layers"])
        && v.as_bool() == Some(true)
    {
        local(
            key,
            "discard_unpacked_layers = true makes CRI pull locally".into(),
        );
    }
    if let Some((v, key)) = get(&["max_concurrent_downloads"])
        && v.as_integer() != Some(3)
    {
        local(
            key,
            format!("max_concurrent_downloads = {v} (not the default 3) makes CRI pull locally"),
        );
    }
    if let Some((v, key)) = get(&["image_pull_with_sync_fs"])
        && v.as_bool() == Some(true)
    {
        local(
            key,
            "image_pull_with_sync_fs = true makes CRI pull locally".into(),
        );
    }
    for deprecated in ["mirrors", "configs", "auths"] {
        if let Some((v, key)) = get(&["registry", deprecated])
            && v.as_table().is_some_and(|t| !t.is_empty())
        {
            local(
                key,
                format!(
                    "the deprecated registry.{deprecated} makes CRI pull locally; use config_path (hosts.toml)"
                ),
            );
        }
    }
    if facts.config_version >= 3 || lookup(&doc, &["plugins", BINDIR]).is_some() {
        facts.bin_dir = Some(
            lookup(&doc, &["plugins", BINDIR, "bin_dir"])
                .and_then(toml::Value::as_str)
                .map_or_else(|| PathBuf::from(DEFAULT_VERIFIER_BIN_DIR), PathBuf::from),
        );
        if let Some(t) =
            lookup(&doc, &["plugins", BINDIR, "per_verifier_timeout"]).and_then(toml::Value::as_str)
        {
            findings.push(finding(
                Severity::Ok,
                format!("{shown}: [plugins.{BINDIR}] per_verifier_timeout"),
                format!("{t} (the verifier answers within 5 s unless NOTARYD_VERIFIER_TIMEOUT_MS says otherwise)"),
            ));
        }
    }
    Ok((facts, findings))
}

/// Checks a verifier `bin_dir`: containerd allows every pull when it is missing or empty.
pub(crate) fn check_bin_dir(dir: &Path) -> Vec<Finding> {
    let subject = format!("image verifier bin_dir {}", dir.display());
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            return vec![finding(
                Severity::Bypass,
                subject,
                format!(
                    "cannot be read ({e}): containerd then verifies nothing and allows every pull"
                ),
            )];
        }
    };
    let mut executables = Vec::new();
    let mut others = Vec::new();
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match std::fs::metadata(entry.path()) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => executables.push(name),
            _ => others.push(name),
        }
    }
    let mut out = Vec::new();
    if !others.is_empty() {
        out.push(finding(
            Severity::Warning,
            subject.clone(),
            format!(
                "entries that are not executable files are skipped by containerd: {}",
                others.join(", ")
            ),
        ));
    }
    if executables.is_empty() {
        out.push(finding(
            Severity::Bypass,
            subject,
            "holds no executable: containerd allows every pull (an empty bin_dir is an allow by contract)",
        ));
    } else if !executables.iter().any(|e| e == VERIFIER_BINARY) {
        out.push(finding(
            Severity::Bypass,
            subject,
            format!(
                "{VERIFIER_BINARY} is not there (found: {}): notaryd is not asked",
                executables.join(", ")
            ),
        ));
    } else {
        out.push(finding(
            Severity::Ok,
            subject,
            format!("{VERIFIER_BINARY} is installed and executable"),
        ));
    }
    out
}

/// kubelet's image service endpoint from its configuration file (YAML or JSON): the value of
/// the top-level `imageServiceEndpoint` key.
pub(crate) fn kubelet_image_endpoint(text: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        return v
            .get("imageServiceEndpoint")
            .and_then(|e| e.as_str())
            .map(str::to_owned);
    }
    // A KubeletConfiguration is flat YAML at the top level; the key is read from its line.
    text.lines()
        .filter(|l| !l.starts_with([' ', '\t', '#']))
        .find_map(|l| l.strip_prefix("imageServiceEndpoint:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_owned())
        .filter(|v| !v.is_empty())
}

fn endpoint_path(endpoint: &str) -> PathBuf {
    PathBuf::from(endpoint.strip_prefix("unix://").unwrap_or(endpoint))
}

/// Runs every check.
pub async fn run(input: &DoctorInput) -> DoctorReport {
    let mut findings = Vec::new();

    // The daemon.
    let daemon = format!("notaryd at {}", input.socket.display());
    let health = bounded(async {
        let mut c = crate::api::daemon_client(&input.socket)
            .await
            .map_err(|e| {
                format!(
                    "{e}: every route that asks it denies (fail closed) or, for an empty route, \
                     nothing asks"
                )
            })?;
        c.health(v1::HealthRequest {})
            .await
            .map_err(|s| s.message().to_owned())
    })
    .await;
    let daemon_ok = match health {
        Ok(r) if r.get_ref().status == v1::health_response::ServingStatus::Serving as i32 => {
            findings.push(finding(Severity::Ok, daemon, "serving"));
            true
        }
        Ok(_) => {
            findings.push(finding(Severity::Bypass, daemon, "not serving"));
            false
        }
        Err(e) => {
            findings.push(finding(Severity::Bypass, daemon, e));
            false
        }
    };

    // Route A: kubelet → CRI proxy.
    let endpoint = match (&input.image_service_endpoint, &input.kubelet_config) {
        (Some(e), _) => Some(Ok(e.clone())),
        (None, Some(path)) => Some(match std::fs::read_to_string(path) {
            Ok(text) => kubelet_image_endpoint(&text).ok_or_else(|| {
                format!(
                    "{}: no imageServiceEndpoint: kubelet pulls through containerd's CRI directly",
                    path.display()
                )
            }),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }),
        (None, None) => None,
    };
    let proxy_route = match (&endpoint, &input.cri_socket) {
        (None, _) => {
            findings.push(finding(
                Severity::Warning,
                "kubelet",
                "no kubelet configuration given (--kubelet-config or --image-service-endpoint): whether kubelet pulls through the CRI proxy is unknown",
            ));
            false
        }
        (Some(Err(e)), _) => {
            findings.push(finding(
                Severity::Bypass,
                "kubelet imageServiceEndpoint",
                e.clone(),
            ));
            false
        }
        (Some(Ok(ep)), None) => {
            findings.push(finding(
                Severity::Bypass,
                "kubelet imageServiceEndpoint",
                format!("{ep}, but notaryd serves no CRI proxy (cri.socket is not configured)"),
            ));
            false
        }
        (Some(Ok(ep)), Some(cri)) if endpoint_path(ep) == *cri => {
            let answers = std::os::unix::net::UnixStream::connect(cri).is_ok();
            let (severity, text) = match (answers, input.cri_audit) {
                (false, _) => (
                    Severity::Bypass,
                    format!("{ep} is notaryd's CRI proxy, but nothing answers there: pulls fail"),
                ),
                (true, true) => (
                    Severity::Bypass,
                    format!(
                        "{ep}: kubelet pulls through notaryd's CRI proxy, but cri.mode is \
                         \"audit\": refused pulls go ahead"
                    ),
                ),
                (true, false) => (
                    Severity::Ok,
                    format!("{ep}: kubelet pulls through notaryd's CRI proxy"),
                ),
            };
            findings.push(finding(severity, "kubelet imageServiceEndpoint", text));
            answers && !input.cri_audit
        }
        (Some(Ok(ep)), Some(cri)) => {
            findings.push(finding(
                Severity::Bypass,
                "kubelet imageServiceEndpoint",
                format!(
                    "{ep} is not notaryd's CRI proxy ({}): kubelet pulls without it",
                    cri.display()
                ),
            ));
            false
        }
    };

    // Route B: containerd 2.1+ bindir verifier with CRI on the transfer service.
    let mut containerd_version = None;
    if let Some(sock) = &input.containerd_socket {
        containerd_version = bounded(async {
            let channel = containerd_client::connect(sock)
                .await
                .map_err(|e| e.to_string())?;
            let mut version =
                containerd_client::services::v1::version_client::VersionClient::new(channel);
            version
                .version(())
                .await
                .map(|v| v.into_inner().version)
                .map_err(|s| s.message().to_owned())
        })
        .await
        .ok();
    }
    let version_2_1 = containerd_version.as_deref().map(is_at_least_2_1);
    let bindir_route = match std::fs::read_to_string(&input.containerd_config) {
        Err(e) => {
            findings.push(finding(
                Severity::Warning,
                input.containerd_config.display().to_string(),
                format!("cannot be read ({e}): the image-verifier route cannot be checked"),
            ));
            false
        }
        Ok(text) => match containerd_facts(&input.containerd_config, &text) {
            Err(e) => {
                findings.push(finding(
                    Severity::Warning,
                    input.containerd_config.display().to_string(),
                    e,
                ));
                false
            }
            Ok((facts, mut found)) => {
                findings.append(&mut found);
                let mut live = true;
                if version_2_1 == Some(false) {
                    findings.push(finding(
                        Severity::Bypass,
                        "containerd",
                        format!(
                            "version {} runs no image verifiers on CRI pulls (2.1 or later does): only the CRI proxy can enforce",
                            containerd_version.clone().unwrap_or_default()
                        ),
                    ));
                    live = false;
                }
                if facts.bindir_disabled {
                    findings.push(finding(
                        Severity::Bypass,
                        format!("{}: disabled_plugins", input.containerd_config.display()),
                        "io.containerd.image-verifier.v1.bindir is disabled",
                    ));
                    live = false;
                }
                match &facts.bin_dir {
                    Some(dir) => {
                        let checks = check_bin_dir(dir);
                        live &= !checks.iter().any(|f| f.severity == Severity::Bypass);
                        findings.extend(checks);
                    }
                    None => {
                        findings.push(finding(
                            Severity::Bypass,
                            input.containerd_config.display().to_string(),
                            format!("version {} configuration: no image-verifier plugin (containerd 2.1+ with a version 3 configuration has one)", facts.config_version),
                        ));
                        live = false;
                    }
                }
                for (key, why) in &facts.local_pull_reasons {
                    findings.push(finding(
                        Severity::Bypass,
                        key.clone(),
                        format!("{why}: local pulls skip image verifiers"),
                    ));
                    live = false;
                }
                if version_2_1.is_none() {
                    findings.push(finding(
                        Severity::Warning,
                        "containerd",
                        "version unknown (no --containerd-socket, or it did not answer): the verifier route needs 2.1 or later",
                    ));
                    live = false;
                }
                live
            }
        },
    };

    let enforcement_live = daemon_ok && (proxy_route || bindir_route);

    // Inventory.
    let mut inventory = Vec::new();
    if let Some(sock) = &input.containerd_socket {
        match bounded(list_images(sock, &input.namespace)).await {
            Ok(images) => {
                let client = bounded(async {
                    crate::api::daemon_client(&input.socket)
                        .await
                        .map_err(|e| e.to_string())
                })
                .await
                .ok();
                for (name, digest) in images {
                    let (verdict, reason) = match &client {
                        None => (
                            "no verdict".to_owned(),
                            "the daemon does not answer".to_owned(),
                        ),
                        Some(c) => ask(c.clone(), &name, &digest, !input.verify).await,
                    };
                    inventory.push(InventoryLine {
                        name,
                        digest,
                        verdict,
                        reason,
                    });
                }
                let unverified = inventory
                    .iter()
                    .filter(|l| {
                        l.verdict != "accepted" && l.verdict != "skipped" && l.verdict != "exempt"
                    })
                    .count();
                findings.push(finding(
                    if unverified == 0 {
                        Severity::Ok
                    } else {
                        Severity::Warning
                    },
                    format!("containerd images ({})", input.namespace),
                    format!(
                        "{} images, {unverified} without an accepting verdict",
                        inventory.len()
                    ),
                ));
            }
            Err(e) => findings.push(finding(
                Severity::Warning,
                format!("containerd at {}", sock.display()),
                e,
            )),
        }
    }
    findings.sort_by_key(|f| match f.severity {
        Severity::Bypass => 0,
        Severity::Warning => 1,
        Severity::Ok => 2,
    });
    DoctorReport {
        enforcement_live,
        findings,
        inventory,
    }
}

fn is_at_least_2_1(version: &str) -> bool {
    let v = version.trim_start_matches('v');
    let mut parts = v
        .split(['.', '-', '+', '~'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (2, 1)
}

/// How long doctor waits for one answer from containerd or the daemon (a verification with
/// `--verify` included): a wedged service is reported, not waited for.
const CALL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(90);

async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(CALL_DEADLINE, call)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CALL_DEADLINE.as_secs())))
}

async fn list_images(sock: &Path, namespace: &str) -> Result<Vec<(String, String)>, String> {
    use containerd_client::services::v1::ListImagesRequest;
    use containerd_client::services::v1::images_client::ImagesClient;
    let channel = containerd_client::connect(sock)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let mut images = ImagesClient::new(channel);
    let list = images
        .list(crate::containerd::in_namespace(
            namespace,
            ListImagesRequest {
                filters: Vec::new(),
            },
        ))
        .await
        .map_err(|s| s.message().to_owned())?
        .into_inner();
    Ok(list
        .images
        .into_iter()
        // CRI also records images by ID (`sha256:…`); those are not references.
        .filter(|i| !i.name.starts_with("sha256:"))
        .filter_map(|i| Some((i.name, i.target?.digest)))
        .collect())
}

async fn ask(
    mut client: crate::api::v1::verifier_client::VerifierClient<tonic::transport::Channel>,
    name: &str,
    digest: &str,
    cache_only: bool,
) -> (String, String) {
    let r = client.verify(v1::VerifyRequest {
        reference: name.to_owned(),
        descriptor: Some(v1::Descriptor {
            media_type: String::new(),
            digest: digest.to_owned(),
            size: 0,
        }),
        auth: None,
        namespace: String::new(),
        report_format: v1::ReportFormat::None as i32,
        cache_only,
    });
    let r = match tokio::time::timeout(CALL_DEADLINE, r).await {
        Ok(r) => r,
        Err(_) => {
            return (
                "error".into(),
                format!("no answer within {} s", CALL_DEADLINE.as_secs()),
            );
        }
    };
    match r {
        Err(s) => ("error".into(), s.message().to_owned()),
        Ok(r) => {
            let r = r.into_inner();
            let verdict = match v1::Outcome::try_from(r.outcome) {
                Ok(v1::Outcome::Accepted) => "accepted",
                Ok(v1::Outcome::Skipped) => "skipped",
                Ok(v1::Outcome::Rejected) => "rejected",
                Ok(v1::Outcome::Exempt) => "exempt",
                Ok(v1::Outcome::Error) => "error",
                _ => "no verdict",
            };
            (
                verdict.to_owned(),
                if r.allowed { String::new() } else { r.reason },
            )
        }
    }
}

/// The report as text.
pub fn render(report: &DoctorReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}",
        if report.enforcement_live {
            "ENFORCEMENT LIVE: images are verified before they are pulled"
        } else {
            "ENFORCEMENT OFF: at least one pull path is not verified (see BYPASS below)"
        }
    );
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Bypass => "BYPASS ",
            Severity::Warning => "warning",
            Severity::Ok => "ok     ",
        };
        let _ = writeln!(s, "  {tag} {}: {}", f.subject, f.message);
    }
    if !report.inventory.is_empty() {
        let _ = writeln!(s, "images in containerd's store:");
        for l in &report.inventory {
            let _ = writeln!(
                s,
                "  {:<10} {} ({}){}",
                l.verdict,
                l.name,
                l.digest,
                if l.reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", l.reason)
                }
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_pull_settings_are_found_in_both_config_versions() {
        let v3 = r#"
version = 3
[plugins.'io.containerd.cri.v1.images']
  use_local_image_pull = true
  disable_snapshot_annotations = false
  discard_unpacked_layers = true
  max_concurrent_downloads = 5
  image_pull_with_sync_fs = true
  [plugins.'io.containerd.cri.v1.images'.registry.mirrors."docker.io"]
    endpoint = ["https://mirror"]
[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = "/x"
"#;
        let (facts, _) = containerd_facts(Path::new("c.toml"), v3).unwrap();
        assert_eq!(
            facts.local_pull_reasons.len(),
            6,
            "{:?}",
            facts.local_pull_reasons
        );
        assert_eq!(facts.bin_dir, Some(PathBuf::from("/x")));
        let v2 = r#"
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  max_concurrent_downloads = 3
  [plugins."io.containerd.grpc.v1.cri".containerd]
    discard_unpacked_layers = true
"#;
        let (facts, _) = containerd_facts(Path::new("c.toml"), v2).unwrap();
        assert_eq!(
            facts.local_pull_reasons.len(),
            1,
            "{:?}",
            facts.local_pull_reasons
        );
        assert!(facts.bin_dir.is_none());
        let clean = "version = 3\n";
        let (facts, _) = containerd_facts(Path::new("c.toml"), clean).unwrap();
        assert!(facts.local_pull_reasons.is_empty());
        assert_eq!(facts.bin_dir, Some(PathBuf::from(DEFAULT_VERIFIER_BIN_DIR)));
    }

    #[test]
    fn kubelet_endpoint_from_yaml_and_json() {
        let yaml = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nimageServiceEndpoint: \"unix:///run/notaryd/cri.sock\"\nauthentication:\n  imageServiceEndpoint: nested\n";
        assert_eq!(
            kubelet_image_endpoint(yaml).as_deref(),
            Some("unix:///run/notaryd/cri.sock")
        );
        assert_eq!(kubelet_image_endpoint("kind: KubeletConfiguration\n"), None);
        assert_eq!(
            kubelet_image_endpoint(r#"{"imageServiceEndpoint":"unix:///a.sock"}"#).as_deref(),
            Some("unix:///a.sock")
        );
        assert!(
            is_at_least_2_1("v2.1.4")
                && is_at_least_2_1("2.2.0")
                && !is_at_least_2_1("1.6.20~ds1")
                && !is_at_least_2_1("2.0.5")
        );
    }
}
