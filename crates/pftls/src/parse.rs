//! Parsing main.cf and master.cf into documents, with errors that name the file and line.

use postfix_conf::{MainCf, MasterCf};

use crate::context::ConfigFiles;
use crate::error::{CliError, CliResult};

/// Parses both files as Postfix would; a fatal syntax error names file and line.
pub fn parse_both(files: &ConfigFiles) -> CliResult<(MainCf, MasterCf)> {
    let main = MainCf::parse(&files.main).map_err(|e| {
        CliError::new(
            "config",
            format!(
                "{}:{}: {}: \"{}\"",
                files.main_path.display(),
                e.line,
                e.message,
                e.text
            ),
        )
        .at(files.main_path.display().to_string(), Some(e.line))
    })?;
    let master = MasterCf::parse(&files.master).map_err(|e| {
        CliError::new(
            "config",
            format!(
                "{}:{}: {}: \"{}\"",
                files.master_path.display(),
                e.line,
                e.message,
                e.text
            ),
        )
        .at(files.master_path.display().to_string(), Some(e.line))
    })?;
    Ok((main, master))
}
