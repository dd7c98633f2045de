//! The `notaryd` command.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use notaryd::cli::{self, Cli, Command, EXIT_USAGE, VerifyArgs, VerifyCommandError, VerifyOutcome};

/// Largest password or identity token read from standard input.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Command::Verify(v) => {
            let now = notaryd::clock::now();
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
                Err(e) => {
                    let code = e
                        .downcast_ref::<VerifyCommandError>()
                        .map_or(EXIT_USAGE, VerifyCommandError::exit_code);
                    eprintln!("notaryd: {e:#}");
                    ExitCode::from(code)
                }
            }
        }
    }
}

fn verify_registry(
    v: &VerifyArgs,
    now: notaryd::verify::time::Timestamp,
) -> anyhow::Result<VerifyOutcome> {
    let password = if v.password_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .take(MAX_PASSWORD_BYTES)
            .read_to_string(&mut buf)?;
        // One trailing newline is the terminal's, not the password's.
        Some(
            buf.strip_suffix('\n')
                .map(|b| b.strip_suffix('\r').unwrap_or(b))
                .unwrap_or(&buf)
                .to_owned(),
        )
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(cli::verify_registry(v, password, now))?)
}
