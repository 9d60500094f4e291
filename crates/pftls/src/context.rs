//! Environment discovery: the config files, the target Postfix version and its parameter
//! catalogue (postconf -d when Postfix is installed), and the system crypto-policy.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use host::Host;
use pftls_policy::{Catalogue, Environment, PostfixVersion};

use crate::cli::{ColorChoice, Format, Global};
use crate::error::{CliError, CliResult};

/// Everything a command needs from the global options, resolved once.
pub struct Ctx {
    /// Postfix configuration directory.
    pub config_dir: PathBuf,
    /// Snapshot directory.
    pub backup_dir: PathBuf,
    /// Extra policy directories (flags first, then PFTLS_POLICY_PATH).
    pub policy_dirs: Vec<PathBuf>,
    /// crypto-policies root.
    pub crypto_dir: PathBuf,
    /// `--postfix-version`.
    pub version_flag: Option<String>,
    /// Output format.
    pub format: Format,
    /// Colour text output.
    pub color: bool,
    /// `--detailed-exitcode`.
    pub detailed_exitcode: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--verbose`.
    pub verbose: bool,
    /// The subcommand being run (`plan`, `apply`, `set`, ...), for headings and hints.
    pub command: &'static str,
    /// The command line as given (argv[0] replaced by `pftls`), for "apply it with" hints.
    pub invocation: Vec<String>,
    /// [`Ctx::host_target`], computed once per run.
    target_cache: std::cell::OnceCell<host::Target>,
    /// [`Ctx::host`], computed once per run.
    host_cache: std::cell::OnceCell<Host>,
}

pub use host::ConfigFiles;

/// The target Postfix and where its facts came from.
pub struct Target {
    /// Version.
    pub version: PostfixVersion,
    /// Catalogue.
    pub catalogue: Catalogue,
    /// Notes for the user (e.g. "postconf not found, assuming 3.11").
    pub warnings: Vec<String>,
}

impl Ctx {
    /// Resolves the global options.
    pub fn new(g: &Global) -> Ctx {
        let mut policy_dirs = g.policy_dirs.clone();
        if let Ok(p) = std::env::var("PFTLS_POLICY_PATH") {
            policy_dirs.extend(p.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
        }
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ctx {
            config_dir: g.config_dir.clone(),
            backup_dir: g.backup_dir.clone(),
            policy_dirs,
            crypto_dir: g.crypto_policies_dir.clone(),
            version_flag: g.postfix_version.clone(),
            format: g.format,
            color: color && g.format == Format::Text,
            detailed_exitcode: g.detailed_exitcode,
            quiet: g.quiet,
            verbose: g.verbose,
            command: "",
            invocation: Vec::new(),
            target_cache: std::cell::OnceCell::new(),
            host_cache: std::cell::OnceCell::new(),
        }
    }

    /// Reads main.cf (required) and master.cf (optional) from the config directory, fresh
    /// from disk (saved-plan checks compare against what is there now).
    pub fn read_config(&self) -> CliResult<ConfigFiles> {
        ConfigFiles::read(&self.config_dir).map_err(host_error)
    }

    fn host_options(&self) -> CliResult<host::HostOptions> {
        let version = match &self.version_flag {
            Some(v) => Some(crate::versions::parse_target(v).map_err(CliError::usage)?),
            None => None,
        };
        Ok(host::HostOptions {
            config_dir: self.config_dir.clone(),
            crypto_dir: self.crypto_dir.clone(),
            version,
        })
    }

    /// The target Postfix and crypto-policy, discovered once per run (asks postconf and
    /// evaluates the crypto-policy with OpenSSL); works without a configuration directory.
    pub fn host_target(&self) -> CliResult<&host::Target> {
        if let Some(t) = self.target_cache.get() {
            return Ok(t);
        }
        let t = host::Target::discover(&self.host_options()?).map_err(host_error)?;
        Ok(self.target_cache.get_or_init(|| t))
    }

    /// The host model, discovered once per run: every command is a view over it.
    pub fn host(&self) -> CliResult<&Host> {
        if let Some(h) = self.host_cache.get() {
            return Ok(h);
        }
        let target = self.host_target()?.clone();
        let h = Host::discover_with(&self.host_options()?, target).map_err(host_error)?;
        Ok(self.host_cache.get_or_init(|| h))
    }

    /// The target Postfix version and catalogue.
    pub fn target(&self) -> CliResult<Target> {
        let t = self.host_target()?;
        Ok(Target {
            version: t.version,
            catalogue: t.catalogue.clone(),
            warnings: t.notes.clone(),
        })
    }

    /// The planner's environment (target + crypto-policy), with notes for the user.
    pub fn environment(&self) -> CliResult<(Environment, pftls_tls::Baseline, Vec<String>)> {
        let t = self.host_target()?;
        Ok((t.environment(), t.baseline.clone(), t.notes.clone()))
    }

    /// The policy search path.
    pub fn policy_search(&self) -> pftls_policy::PolicySearch {
        pftls_policy::PolicySearch {
            dirs: self.policy_dirs.clone(),
        }
    }
}

/// Reads a file, mapping errors to a clear message naming it.
pub fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    pftls_safe_read::read(path, pftls_safe_read::Kind::Config)
        .map_err(|e| CliError::new("io", e.to_string()).at(path.display().to_string(), None))
}

/// An I/O error naming the path.
pub fn io_error(path: &Path, e: &std::io::Error) -> CliError {
    CliError::new("io", format!("{}: {e}", path.display())).at(path.display().to_string(), None)
}

/// Maps a host-discovery error to a CLI error naming the file (and line).
pub fn host_error(e: host::HostError) -> CliError {
    use host::HostError as E;
    match &e {
        E::NoConfigDir(p) => {
            CliError::new("config", e.to_string()).at(p.display().to_string(), None)
        }
        E::UnsupportedVersion(_) => {
            let mut err = CliError::new("usage", e.to_string());
            err.exit = crate::error::EXIT_USAGE;
            err
        }
        E::Read { path, .. } => {
            CliError::new("io", e.to_string()).at(path.display().to_string(), None)
        }
        E::Io { path, .. } => {
            CliError::new("io", e.to_string()).at(path.display().to_string(), None)
        }
        E::Parse { path, line, .. } => {
            CliError::new("config", e.to_string()).at(path.display().to_string(), Some(*line))
        }
        E::Crypto { path, .. } => {
            CliError::new("environment", e.to_string()).at(path.display().to_string(), None)
        }
    }
}
