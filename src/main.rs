//! The `notaryd` command.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use notaryd::cli::{
    self, BundleCommand, Cli, Command, EXIT_USAGE, VerifyArgs, VerifyCommandError, VerifyOutcome,
};

/// Largest password or identity token read from standard input.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

fn main() -> ExitCode {
    let args = Cli::parse();
    let now = notaryd::clock::now();
    match args.command {
        Command::Verify(v) => {
            let result = if v.reference.is_some() {
                verify_registry(&v, now)
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
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
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
        .take(MAX_PASSWORD_BYTES)
        .read_to_string(&mut buf)?;
    // One trailing newline is the terminal's, not the password's.
    Ok(Some(
        buf.strip_suffix('\n')
            .map(|b| b.strip_suffix('\r').unwrap_or(b))
            .unwrap_or(&buf)
            .to_owned(),
    ))
}

fn verify_registry(
    v: &VerifyArgs,
    now: notaryd::verify::time::Timestamp,
) -> anyhow::Result<VerifyOutcome> {
    let password = read_password(v.registry.password_stdin)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(cli::verify_registry(v, password, now))?)
}
