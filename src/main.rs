//! The `notaryd` command.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use notaryd::cli::{
    self, BundleCommand, Cli, Command, ConfigCommand, EXIT_USAGE, VerifyArgs, VerifyCommandError,
    VerifyOutcome,
};

/// Largest password or identity token read from standard input.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

fn main() -> ExitCode {
    let args = Cli::parse();
    let now = notaryd::clock::now();
    match args.command {
        Command::Verify(v) if v.daemon => {
            let result = (|| -> anyhow::Result<_> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(runtime.block_on(cli::verify_daemon(&v))?)
            })();
            match result {
                Ok((report, code)) => {
                    print!("{report}");
                    ExitCode::from(code)
                }
                Err(e) => fail(&e),
            }
        }
        Command::Serve(a) => {
            init_tracing();
            // While this is the only thread: large buffers get pages of their own.
            notaryd::daemon::memory::tune_allocator();
            let result = (|| -> anyhow::Result<()> {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("notaryd")
                    .build()?;
                let result = runtime.block_on(notaryd::daemon::run(
                    a.overrides.config.clone(),
                    a.overrides.overrides(),
                ));
                // A credential helper still running must not hold the exit up.
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
                result?;
                Ok(())
            })();
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("notaryd: {e:#}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        Command::Config(ConfigCommand::Check(o)) => {
            let loaded = notaryd::daemon::load(o.config.as_deref(), &o.overrides()).and_then(|s| {
                // What serve would also need before it answers: the socket's group.
                if let Some(g) = s.config.socket_group.clone() {
                    notaryd::daemon::resolve_group(&g).map_err(|e| {
                        notaryd::daemon::DaemonError::Io {
                            what: format!("server.socket_group {g:?}"),
                            source: e,
                        }
                    })?;
                }
                Ok(s)
            });
            match loaded {
                Ok(s) => {
                    let c = &s.config;
                    println!(
                        "configuration OK: socket {}, trust policy {} ({} namespace policies), trust store {}, revocation {}",
                        c.socket.display(),
                        s.default_policy.path.display(),
                        s.namespace_policies.len(),
                        c.trust_store.display(),
                        notaryd::daemon::snapshot::revocation_bundle_path(c).map_or_else(
                            || "none installed".to_owned(),
                            |p| p.display().to_string()
                        )
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("notaryd: configuration refused: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        Command::Doctor(a) => {
            let result = (|| -> anyhow::Result<_> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(runtime.block_on(cli::doctor(&a))?)
            })();
            match result {
                Ok(report) => {
                    match a.output {
                        cli::OutputFormat::Text => print!("{}", notaryd::doctor::render(&report)),
                        cli::OutputFormat::Json => println!(
                            "{}",
                            serde_json::to_string_pretty(&report).unwrap_or_default()
                        ),
                    }
                    ExitCode::from(u8::from(!report.enforcement_live))
                }
                Err(e) => fail(&e),
            }
        }
        Command::Verify(v) => {
            let result = if v.reference.is_some() {
                verify_registry(&v)
            } else {
                cli::verify(&v, now).map_err(anyhow::Error::from)
            };
            match result {
                Ok(outcome) => {
                    for w in &outcome.warnings {
                        eprintln!("notaryd: warning: {w}");
                    }
                    print!("{}", cli::render(&outcome, v.output));
                    ExitCode::from(outcome.exit_code())
                }
                Err(e) => fail(&e),
            }
        }
        Command::Bundle(BundleCommand::Inspect(a)) => match cli::bundle_inspect(&a) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.into()),
        },
        Command::Bundle(BundleCommand::Import(a)) => match cli::bundle_import(&a, now) {
            Ok(r) => {
                println!(
                    "installed {} ({} CRLs, {} OCSP answers{})",
                    r.installed.display(),
                    r.crls,
                    r.ocsp_answers,
                    if r.replaced_previous {
                        ", replacing the previous set"
                    } else {
                        ""
                    }
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.into()),
        },
        Command::Bundle(BundleCommand::Create(a)) => {
            let result = (|| -> anyhow::Result<_> {
                let password = read_password(a.registry.password_stdin)?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(runtime.block_on(cli::bundle_create(&a, password, now))?)
            })();
            match result {
                Ok(report) => {
                    for c in &report.collected {
                        println!("collected {c}");
                    }
                    for m in &report.missing {
                        eprintln!("notaryd: warning: not collected: {m}");
                    }
                    println!("wrote {}", a.output.display());
                    if report.missing.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        // Written, but incomplete: an unattended job must notice.
                        eprintln!(
                            "notaryd: the bundle is incomplete: {} item(s) could not be collected",
                            report.missing.len()
                        );
                        ExitCode::from(1)
                    }
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// Logs to standard error (journald keeps it); `NOTARYD_LOG` sets the filter (default info).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NOTARYD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn fail(e: &anyhow::Error) -> ExitCode {
    let code = e
        .downcast_ref::<VerifyCommandError>()
        .map_or(EXIT_USAGE, VerifyCommandError::exit_code);
    eprintln!("notaryd: {e:#}");
    ExitCode::from(code)
}

fn read_password(from_stdin: bool) -> anyhow::Result<Option<String>> {
    if !from_stdin {
        return Ok(None);
    }
    let mut buf = String::new();
    std::io::stdin()
        .take(MAX_PASSWORD_BYTES + 1)
        .read_to_string(&mut buf)?;
    // A password cut short would be sent as if it were whole: refuse instead.
    anyhow::ensure!(
        buf.len() as u64 <= MAX_PASSWORD_BYTES,
        "--password-stdin: more than {MAX_PASSWORD_BYTES} bytes on standard input"
    );
    // One trailing newline is the terminal's, not the password's.
    Ok(Some(
        buf.strip_suffix('\n')
            .map(|b| b.strip_suffix('\r').unwrap_or(b))
            .unwrap_or(&buf)
            .to_owned(),
    ))
}

fn verify_registry(v: &VerifyArgs) -> anyhow::Result<VerifyOutcome> {
    let password = read_password(v.registry.password_stdin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(cli::verify_registry(v, password))?)
}
