//! Generates the man pages and shell completions of `pftls` from its clap definitions, so that
//! they can never drift from the binary.
//!
//! Usage: `cargo run -p pftls --example gen-assets -- OUTDIR`
//!
//! Writes:
//! - `OUTDIR/man/pftls.1` and one page per subcommand (`pftls-apply.1`, `pftls-backups-list.1`, ...),
//!   each with EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES and SEE ALSO (sections.rs),
//! - `OUTDIR/man/pftls-policy.5`, the policy file format (policy_page.rs),
//! - `OUTDIR/completions/pftls.bash`, `OUTDIR/completions/_pftls` (zsh) and
//!   `OUTDIR/completions/pftls.fish`.
//!
//! Any previous content of `OUTDIR/man` and `OUTDIR/completions` is replaced, so a subcommand that
//! was removed leaves no stale page behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod policy_page;
mod roff;
mod sections;

use clap::{CommandFactory, Parser};
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
    /// sections::EXAMPLES names a page that clap no longer generates.
    #[error("examples for {0}, which is not a command any more (crates/pftls/examples/gen-assets/sections.rs)")]
    StaleExamples(String),
    /// An example whose command the CLI does not accept.
    #[error("man page example `{0}` is not a valid pftls command line: {1}")]
    BadExample(String, String),
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

/// Writes `pftls.1` plus one page per (nested) subcommand, completes each with the sections clap
/// has no place for (EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO), and writes
/// `pftls-policy.5`.
fn write_man_pages(dir: &Path) -> Result<(), GenError> {
    clap_mangen::generate_to(Cli::command(), dir).map_err(io_at(dir))?;
    let mut pages: Vec<String> = fs::read_dir(dir)
        .map_err(io_at(dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".1").map(str::to_owned))
        .collect();
    pages.sort();
    if let Some((stale, _)) = sections::EXAMPLES
        .iter()
        .find(|(name, _)| !pages.iter().any(|p| p == name))
    {
        return Err(GenError::StaleExamples(stale.to_string()));
    }
    for (_, examples) in sections::EXAMPLES {
        for (_, command) in *examples {
            check_example(command)?;
        }
    }
    for name in &pages {
        let path = dir.join(format!("{name}.1"));
        let page = fs::read_to_string(&path).map_err(io_at(&path))?;
        let page = complete_page(name, &page, &pages);
        fs::write(&path, page).map_err(io_at(&path))?;
    }
    let policy = dir.join(format!("{BIN}-policy.5"));
    fs::write(&policy, policy_page::page(env!("CARGO_PKG_VERSION"))).map_err(io_at(&policy))?;
    Ok(())
}

/// Parses the pftls command of an example (the part after a `|`, if any) with the real clap
/// definition, so that a renamed option or command cannot survive in the man pages.
fn check_example(command: &str) -> Result<(), GenError> {
    let pftls_part = command.rsplit('|').next().unwrap_or(command);
    let words: Vec<&str> = pftls_part.split_whitespace().collect();
    if words.first() != Some(&BIN) {
        return Err(GenError::BadExample(
            command.to_string(),
            "does not run pftls".into(),
        ));
    }
    Cli::try_parse_from(&words)
        .map(|_| ())
        .map_err(|e| GenError::BadExample(command.to_string(), e.kind().to_string()))
}

/// Adds the extra sections to the page `name`, before clap's VERSION section.
///
/// clap_mangen titles a command's `after_help` text "EXTRA". On `pftls.1` that text is the short
/// exit-code list, replaced by the full EXIT STATUS section; on a command's page it is retitled
/// NOTES.
fn complete_page(name: &str, page: &str, pages: &[String]) -> String {
    let (mut head, tail) = match page.find(".SH VERSION") {
        Some(i) => (page[..i].to_string(), page[i..].to_string()),
        None => (page.to_string(), String::new()),
    };
    if name == BIN {
        head = remove_section(&head, ".SH EXTRA\n");
    } else {
        head = head.replacen(".SH EXTRA\n", ".SH NOTES\n", 1);
    }
    let mut extra = roff::section("EXIT STATUS");
    for (code, meaning) in sections::EXIT_CODES {
        extra.push_str(&roff::tagged(code, meaning));
    }
    extra.push_str(&roff::para(
        "With --format json every command prints exactly one JSON object on stdout, also on \
         failure: {\"changed\": false, \"error\": {\"kind\", \"message\", \"file\", \"line\"}}.",
    ));
    extra.push_str(&roff::section("ENVIRONMENT"));
    for (var, text) in sections::ENVIRONMENT {
        extra.push_str(&roff::tagged(var, text));
    }
    extra.push_str(&roff::section("FILES"));
    for (file, text) in sections::FILES {
        extra.push_str(&roff::tagged(file, text));
    }
    if let Some((_, examples)) = sections::EXAMPLES.iter().find(|(n, _)| *n == name) {
        extra.push_str(&roff::section("EXAMPLES"));
        for (what, command) in *examples {
            extra.push_str(&roff::para(what));
            extra.push_str(&roff::literal(command));
        }
    }
    extra.push_str(&roff::section("SEE ALSO"));
    extra.push_str(&roff::references(
        see_also(name, pages).iter().map(String::as_str),
    ));
    format!("{head}{extra}{tail}")
}

/// Removes the section starting with `header` up to the next `.SH`.
fn remove_section(page: &str, header: &str) -> String {
    let Some(start) = page.find(header) else {
        return page.to_string();
    };
    let rest = &page[start + header.len()..];
    let end = rest.find("\n.SH ").map(|i| i + 1).unwrap_or(rest.len());
    format!("{}{}", &page[..start], &rest[end..])
}

/// SEE ALSO of page `name`: on `pftls.1` every command page; on a command page `pftls(1)`, its
/// parent and its own subcommands; then pftls-policy(5) and the Postfix pages.
fn see_also(name: &str, pages: &[String]) -> Vec<String> {
    let mut refs: Vec<String> = if name == BIN {
        pages
            .iter()
            .filter(|p| *p != BIN)
            .map(|p| format!("{p}(1)"))
            .collect()
    } else {
        let parent = name.rsplit_once('-').map(|(p, _)| p).unwrap_or(BIN);
        let mut r = vec![format!("{BIN}(1)")];
        if parent != BIN && pages.iter().any(|p| p == parent) {
            r.push(format!("{parent}(1)"));
        }
        let children = format!("{name}-");
        r.extend(
            pages
                .iter()
                .filter(|p| p.starts_with(&children))
                .map(|p| format!("{p}(1)")),
        );
        r
    };
    refs.push(format!("{BIN}-policy(5)"));
    refs.extend(sections::SEE_ALSO_POSTFIX.iter().map(|s| s.to_string()));
    refs
}

/// Writes the bash, zsh and fish completion scripts: the same scripts `pftls completions SHELL`
/// prints (bash's also completes policy names and snapshot ids).
fn write_completions(dir: &Path) -> Result<(), GenError> {
    for (shell, name) in [
        (Shell::Bash, format!("{BIN}.bash")),
        (Shell::Zsh, format!("_{BIN}")),
        (Shell::Fish, format!("{BIN}.fish")),
    ] {
        let path = dir.join(name);
        fs::write(&path, pftls::completions::script(shell)).map_err(io_at(&path))?;
    }
    Ok(())
}
