//! Generates the man pages and shell completions of `pftls` from its clap definitions, so that
//! they can never drift from the binary.
//!
//! Usage: `cargo run -p pftls --example gen-assets -- OUTDIR`
//!
//! Writes:
//! - `OUTDIR/man/pftls.1` and one page per subcommand (`pftls-apply.1`, `pftls-backups-list.1`, ...),
//! - `OUTDIR/completions/pftls.bash`, `OUTDIR/completions/_pftls` (zsh) and
//!   `OUTDIR/completions/pftls.fish`.
//!
//! Any previous content of `OUTDIR/man` and `OUTDIR/completions` is replaced, so a subcommand that
//! was removed leaves no stale page behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use pftls::cli::Cli;

/// Name of the program in the man pages and completion scripts.
const BIN: &str = "pftls";

/// A failure while writing the assets, with the path concerned.
#[derive(Debug, thiserror::Error)]
enum GenError {
    /// Wrong command line.
    #[error("usage: gen-assets OUTDIR")]
    Usage,
    /// An I/O error on `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Attaches `path` to an I/O error.
fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let result = match (args.next(), args.next()) {
        (Some(out), None) => generate_all(Path::new(&out)),
        _ => Err(GenError::Usage),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-assets: error: {e}");
            // 64 is the usage exit code of pftls itself (EX_USAGE); anything else is 1.
            ExitCode::from(if matches!(e, GenError::Usage) { 64 } else { 1 })
        }
    }
}

/// Writes every asset under `out`.
fn generate_all(out: &Path) -> Result<(), GenError> {
    let man_dir = fresh_dir(&out.join("man"))?;
    let comp_dir = fresh_dir(&out.join("completions"))?;
    write_man_pages(&man_dir)?;
    write_completions(&comp_dir)?;
    Ok(())
}

/// Creates `dir` empty (removing what was there).
fn fresh_dir(dir: &Path) -> Result<PathBuf, GenError> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io_at(dir))?;
    }
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    Ok(dir.to_path_buf())
}

/// Writes `pftls.1` plus one page per (nested) subcommand, then completes the top page: the
/// `after_help` text (exit codes) gets its conventional title, and the FILES, ENVIRONMENT and SEE
/// ALSO sections (facts clap has no place for) are appended.
fn write_man_pages(dir: &Path) -> Result<(), GenError> {
    clap_mangen::generate_to(Cli::command(), dir).map_err(io_at(dir))?;
    let top = dir.join(format!("{BIN}.1"));
    let mut sub_pages: Vec<String> = fs::read_dir(dir)
        .map_err(io_at(dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".1").map(str::to_owned))
        .filter(|n| n != BIN)
        .collect();
    sub_pages.sort();
    let page = fs::read_to_string(&top).map_err(io_at(&top))?;
    // clap_mangen titles the after_help text "EXTRA"; on pftls.1 it is the exit-code list.
    let mut page = page.replacen(".SH EXTRA\n", ".SH \"EXIT STATUS\"\n", 1);
    page.push_str(&extra_sections(&sub_pages));
    fs::write(&top, page).map_err(io_at(&top))?;
    Ok(())
}

/// The roff text of the sections appended to `pftls.1`.
fn extra_sections(sub_pages: &[String]) -> String {
    let mut s = String::from(concat!(
        ".SH FILES\n",
        ".TP\n\\fI/etc/postfix/main.cf\\fR, \\fI/etc/postfix/master.cf\\fR\n",
        "The Postfix configuration pftls reads and edits (see \\fB\\-\\-config\\-dir\\fR).\n",
        ".TP\n\\fI/var/lib/pftls/backups\\fR\n",
        "Snapshots taken before every change (mode 0700; see \\fB\\-\\-backup\\-dir\\fR).\n",
        ".TP\n\\fI/usr/share/doc/pftls/policies\\fR\n",
        "Copies of the built\\-in policies, as examples for your own \\fB\\-\\-policy\\-dir\\fR.\n",
        ".TP\n\\fI/etc/crypto\\-policies\\fR\n",
        "The system crypto\\-policies state (see \\fB\\-\\-crypto\\-policies\\-dir\\fR).\n",
        ".SH ENVIRONMENT\n",
        ".TP\n\\fBPFTLS_CONFIG_DIR\\fR\nDefault of \\fB\\-\\-config\\-dir\\fR.\n",
        ".TP\n\\fBPFTLS_BACKUP_DIR\\fR\nDefault of \\fB\\-\\-backup\\-dir\\fR.\n",
        ".TP\n\\fBPFTLS_POLICY_PATH\\fR\n",
        "Colon\\-separated policy directories, searched after \\fB\\-\\-policy\\-dir\\fR.\n",
        ".SH SEE ALSO\n",
    ));
    let mut refs: Vec<String> = sub_pages
        .iter()
        .map(|p| format!("\\fB{p}\\fR(1)"))
        .collect();
    refs.extend(
        [
            "\\fBpostconf\\fR(5)",
            "\\fBpostconf\\fR(1)",
            "\\fBmaster\\fR(5)",
        ]
        .map(String::from),
    );
    s.push_str(&refs.join(", "));
    s.push('\n');
    s
}

/// Writes the bash, zsh and fish completion scripts.
fn write_completions(dir: &Path) -> Result<(), GenError> {
    let mut cmd = Cli::command();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, BIN, dir).map_err(io_at(dir))?;
    }
    Ok(())
}
