//! The `notaryd` command.

use std::process::ExitCode;

use clap::Parser;
use notaryd::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let args = Cli::parse();
    match args.command {
        Command::Verify(v) => {
            let now = notaryd::clock::now();
            match cli::verify(&v, now) {
                Ok(outcome) => {
                    for w in &outcome.warnings {
                        eprintln!("notaryd: warning: {w}");
                    }
                    print!("{}", cli::render(&outcome, v.output));
                    ExitCode::from(outcome.exit_code())
                }
                Err(e) => {
                    let code = e.exit_code();
                    eprintln!("notaryd: {:#}", anyhow::Error::from(e));
                    ExitCode::from(code)
                }
            }
        }
    }
}
