//! Parsing main.cf and master.cf into documents, with errors that name the file and line.

use std::path::Path;

use postfix_conf::{MainCf, MasterCf, ParseError};

use crate::context::ConfigFiles;
use crate::error::{CliError, CliResult};

/// Parses both files as Postfix would; a fatal syntax error names file and line.
pub fn parse_both(files: &ConfigFiles) -> CliResult<(MainCf, MasterCf)> {
    let main =
        MainCf::parse(&files.main).map_err(|e| located(&files.main_path, &files.main, &e))?;
    let master = MasterCf::parse(&files.master)
        .map_err(|e| located(&files.master_path, &files.master, &e))?;
    Ok((main, master))
}

fn located(path: &Path, bytes: &[u8], e: &ParseError) -> CliError {
    CliError::new(
        "config",
        format!(
            "{}:{}: {}{}",
            path.display(),
            e.line,
            e.message,
            pftls_safe_read::excerpt::quoted_line(bytes, e.line, &e.text)
        ),
    )
    .at(path.display().to_string(), Some(e.line))
}
