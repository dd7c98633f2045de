//! Generates the manual pages and shell completions of `notaryd` from its command-line
//! definitions (`notaryd::cli::Cli`), for the packages (`scripts/package.sh`):
//!
//! ```text
//! OUT/man/notaryd.1  OUT/man/notaryd-verify.1  OUT/man/notaryd-bundle-create.1  …
//! OUT/completions/notaryd.bash  OUT/completions/_notaryd  OUT/completions/notaryd.fish
//! ```
//!
//! Run from the repository root: `cargo run --example gen-docs -- OUT`. The pages carry no
//! build date unless `SOURCE_DATE_EPOCH` is set, so two runs give the same bytes.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;

/// What the top-level page says beyond the options: the files the daemon reads, the exit
/// codes of `verify`, and where the rest is documented.
const EXTRA: &str = r#".SH "EXIT STATUS"
For \fBnotaryd verify\fR: 0 the trust policy accepts the artifact; 1 it rejects it;
2 bad usage or configuration; 3 the artifact or its signatures could not be read.
\fBnotaryd config check\fR exits 0 when the configuration and everything it names load, 2 otherwise.
.SH ENVIRONMENT
.TP
\fBNOTARYD_LOG\fR
Log filter for standard error (for example \fBinfo\fR or \fBnotaryd=debug\fR).
.TP
\fBDOCKER_CONFIG\fR
Directory of the docker \fIconfig.json\fR read for registry credentials when
\fBregistry.docker_config\fR is not set (the packaged unit sets \fI/etc/notaryd/docker\fR).
.SH FILES
.TP
\fI/etc/notaryd/config.toml\fR
Configuration of \fBnotaryd serve\fR; every key and its default is documented in it.
.TP
\fI/etc/notaryd/trustpolicy.json\fR
The trust policy, in notation's format. The packaged one accepts nothing.
.TP
\fI/etc/notaryd/truststore/x509/{ca,signingAuthority,tsa}/NAME/\fR
Named trust stores, in notation's layout.
.TP
\fI/var/lib/notaryd/revocation/\fR
The installed revocation bundle (\fBnotaryd bundle import\fR).
.TP
\fI/run/notaryd/notaryd.sock\fR
The verifier socket of \fBnotaryd serve\fR.
.TP
\fI/usr/libexec/notaryd/notaryd-containerd-verifier\fR
containerd's bindir image verifier, which asks the daemon.
.TP
\fI/usr/share/doc/notaryd/\fR
README, containerd integration, compatibility notes, example trust policy.
.SH "SEE ALSO"
\fBnotation\fR(1), \fBcontainerd\fR(8), \fBsystemd.socket\fR(5)
"#;

fn main() -> io::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "usage: gen-docs OUT_DIR"))?;
    let man_dir = out.join("man");
    let completions_dir = out.join("completions");
    fs::create_dir_all(&man_dir)?;
    fs::create_dir_all(&completions_dir)?;

    let date = source_date();
    let cmd = notaryd::cli::Cli::command().disable_help_subcommand(true);
    let mut written = Vec::new();
    write_pages(&cmd, &man_dir, &date, true, &mut written)?;

    let mut cmd = notaryd::cli::Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        written.push(clap_complete::generate_to(
            shell,
            &mut cmd,
            "notaryd",
            &completions_dir,
        )?);
    }
    for p in written {
        println!("{}", p.display());
    }
    Ok(())
}

/// One page per command and subcommand (`notaryd-bundle-create.1`), as `clap_mangen`'s
/// `generate_to` names them, with the extra sections on the top-level page only.
fn write_pages(
    cmd: &clap::Command,
    dir: &Path,
    date: &str,
    top: bool,
    out: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let mut cmd = cmd.clone();
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, date, false, out)?;
    }
    let man = Man::new(cmd.clone())
        .date(date)
        .manual("notaryd manual")
        .source(format!("notaryd {}", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    if top {
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        man.render_subcommands_section(&mut page)?;
        page.write_all(EXTRA.as_bytes())?;
        man.render_version_section(&mut page)?;
    } else {
        man.render(&mut page)?;
        let parent = "notaryd";
        write!(page, ".SH \"SEE ALSO\"\n\\fB{parent}\\fR(1)\n")?;
    }
    fs::write(&path, page)?;
    out.push(path);
    Ok(())
}

/// `SOURCE_DATE_EPOCH` as YYYY-MM-DD (reproducible builds), else no date.
fn source_date() -> String {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_default()
}
