//! Environment discovery: the config files, the target Postfix version and its parameter
//! catalogue (postconf -d when Postfix is installed), and the system crypto-policy.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

use pftls_policy::{Catalogue, CryptoFacts, Environment, PostfixVersion};

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
    /// [`Ctx::environment`], computed once per run (it asks postconf and evaluates the
    /// crypto-policy with OpenSSL).
    env_cache: std::cell::OnceCell<(Environment, pftls_tls::Baseline, Vec<String>)>,
}

/// main.cf and master.cf as read from disk.
#[derive(Debug, Clone)]
pub struct ConfigFiles {
    /// main.cf path (a symlink is kept as given; the writer follows it).
    pub main_path: PathBuf,
    /// master.cf path.
    pub master_path: PathBuf,
    /// main.cf bytes.
    pub main: Vec<u8>,
    /// master.cf bytes (empty when the file does not exist).
    pub master: Vec<u8>,
    /// Whether master.cf exists.
    pub master_exists: bool,
}

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
            env_cache: std::cell::OnceCell::new(),
        }
    }

    /// Reads main.cf (required) and master.cf (optional) from the config directory.
    pub fn read_config(&self) -> CliResult<ConfigFiles> {
        let main_path = self.config_dir.join("main.cf");
        let master_path = self.config_dir.join("master.cf");
        if !self.config_dir.is_dir() {
            return Err(CliError::new(
                "config",
                format!(
                    "configuration directory {} does not exist (use -c DIR)",
                    self.config_dir.display()
                ),
            )
            .at(self.config_dir.display().to_string(), None));
        }
        let main = std::fs::read(&main_path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (is this the Postfix configuration directory? use -c DIR or PFTLS_CONFIG_DIR)"
            } else {
                ""
            };
            CliError::new("io", format!("{}: {e}{hint}", main_path.display()))
                .at(main_path.display().to_string(), None)
        })?;
        let (master, master_exists) = match std::fs::read(&master_path) {
            Ok(b) => (b, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), false),
            Err(e) => return Err(io_error(&master_path, &e)),
        };
        Ok(ConfigFiles {
            main_path,
            master_path,
            main,
            master,
            master_exists,
        })
    }

    /// The target Postfix version and catalogue.
    pub fn target(&self) -> CliResult<Target> {
        let mut warnings = Vec::new();
        let flag = match &self.version_flag {
            Some(v) => Some(v.parse::<PostfixVersion>().map_err(|e| {
                let mut err = CliError::new("usage", e.to_string());
                err.exit = crate::error::EXIT_USAGE;
                err
            })?),
            None => None,
        };
        // An explicit --postfix-version means the built-in data of that version: no postconf
        // process (fleets and benchmarks), and it works for versions other than the installed one.
        let installed = if flag.is_some() {
            None
        } else {
            postconf_defaults(&self.config_dir)
        };
        let (version, catalogue) = match (flag, installed) {
            (Some(v), Some((iv, text))) if (iv.major, iv.minor) == (v.major, v.minor) => {
                (v, Catalogue::from_postconf_d(&text, v))
            }
            // No silent mapping of a release line pftls has no catalogue for.
            (Some(v), _) => (
                v,
                Catalogue::try_builtin(v).map_err(|e| {
                    let mut err = CliError::new("usage", e.to_string());
                    err.exit = crate::error::EXIT_USAGE;
                    err
                })?,
            ),
            (None, Some((iv, text))) => (iv, Catalogue::from_postconf_d(&text, iv)),
            (None, None) => {
                let v = PostfixVersion::NEWEST_KNOWN;
                warnings.push(format!(
                    "postconf not found: assuming Postfix {} (the newest version pftls knows); use --postfix-version to target another",
                    v.line()
                ));
                (v, Catalogue::builtin(v))
            }
        };
        if version < PostfixVersion::OLDEST_SUPPORTED {
            warnings.push(format!(
                "Postfix {version} is older than the oldest version pftls supports ({}); results may be wrong",
                PostfixVersion::OLDEST_SUPPORTED.line()
            ));
        }
        Ok(Target {
            version,
            catalogue,
            warnings,
        })
    }

    /// Crypto-policy facts for the planner, plus the baseline description.
    pub fn crypto(&self, version: PostfixVersion) -> CliResult<(CryptoFacts, pftls_tls::Baseline)> {
        let baseline = crate::crypto::baseline(&self.crypto_dir)?;
        let facts = crate::crypto::facts(&baseline, version);
        Ok((facts, baseline))
    }

    /// The planner's environment (target + crypto-policy), with notes for the user.
    pub fn environment(&self) -> CliResult<(Environment, pftls_tls::Baseline, Vec<String>)> {
        if let Some(cached) = self.env_cache.get() {
            return Ok(cached.clone());
        }
        let computed = self.compute_environment()?;
        let _ = self.env_cache.set(computed.clone());
        Ok(computed)
    }

    fn compute_environment(&self) -> CliResult<(Environment, pftls_tls::Baseline, Vec<String>)> {
        let target = self.target()?;
        let (crypto, baseline) = self.crypto(target.version)?;
        Ok((
            Environment {
                version: target.version,
                catalogue: target.catalogue,
                crypto,
            },
            baseline,
            target.warnings,
        ))
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
    std::fs::read(path).map_err(|e| io_error(path, &e))
}

/// An I/O error naming the path.
pub fn io_error(path: &Path, e: &std::io::Error) -> CliError {
    CliError::new("io", format!("{}: {e}", path.display())).at(path.display().to_string(), None)
}

/// `postconf -d` of the installed Postfix, with its version; None when postconf is absent.
/// With `-c DIR`, postconf also lists the per-transport parameters of DIR's master.cf services.
fn postconf_defaults(config_dir: &Path) -> Option<(PostfixVersion, String)> {
    let mut cmd = Command::new("postconf");
    if config_dir.join("master.cf").is_file() {
        cmd.arg("-c").arg(config_dir);
    }
    let out = cmd.arg("-d").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("mail_version = "))
        .and_then(|v| v.parse().ok())?;
    Some((version, text))
}
