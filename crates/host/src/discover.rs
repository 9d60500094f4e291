//! Reading the host: config files, target Postfix version and catalogue, crypto-policy.

use std::path::{Path, PathBuf};
use std::process::Command;

use pftls_policy::{Catalogue, ConfigView, PostfixVersion};
use postfix_conf::{MainCf, MasterCf, ParseError};

use crate::{Host, HostError};

/// What discovery needs from the command line.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Postfix configuration directory.
    pub config_dir: PathBuf,
    /// crypto-policies root.
    pub crypto_dir: PathBuf,
    /// `--postfix-version`: use the built-in data of that version (no postconf process).
    pub version: Option<PostfixVersion>,
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

impl ConfigFiles {
    /// Reads main.cf (required) and master.cf (optional) from `dir`.
    pub fn read(dir: &Path) -> Result<ConfigFiles, HostError> {
        let main_path = dir.join("main.cf");
        let master_path = dir.join("master.cf");
        if !dir.is_dir() {
            return Err(HostError::NoConfigDir(dir.to_path_buf()));
        }
        // Non-blocking, regular files only, size-limited: a FIFO or /dev/zero as main.cf must
        // not hang or exhaust pftls while it holds the lock.
        let main =
            pftls_safe_read::read(&main_path, pftls_safe_read::Kind::Config).map_err(|e| {
                let hint = if e.is_not_found() {
                    " (is this the Postfix configuration directory? use -c DIR or PFTLS_CONFIG_DIR)"
                } else {
                    ""
                };
                HostError::Read {
                    path: main_path.clone(),
                    message: e.to_string(),
                    hint: hint.into(),
                }
            })?;
        let (master, master_exists) =
            match pftls_safe_read::read_optional(&master_path, pftls_safe_read::Kind::Config) {
                Ok(Some(b)) => (b, true),
                Ok(None) => (Vec::new(), false),
                Err(e) => {
                    return Err(HostError::Read {
                        path: master_path,
                        message: e.to_string(),
                        hint: String::new(),
                    })
                }
            };
        Ok(ConfigFiles {
            main_path,
            master_path,
            main,
            master,
            master_exists,
        })
    }
}

/// A parse error located at file:line. The offending line is quoted only when the file has
/// shown itself to be Postfix configuration (main.cf symlinked to /etc/shadow must not leak).
fn located(path: &Path, bytes: &[u8], e: &ParseError) -> HostError {
    HostError::Parse {
        path: path.to_path_buf(),
        line: e.line,
        message: format!(
            "{}{}",
            e.message,
            pftls_safe_read::excerpt::quoted_line(bytes, e.line, &e.text)
        ),
    }
}

pub(crate) fn parse_main(f: &ConfigFiles) -> Result<MainCf, HostError> {
    MainCf::parse(&f.main).map_err(|e| located(&f.main_path, &f.main, &e))
}

pub(crate) fn parse_master(f: &ConfigFiles) -> Result<MasterCf, HostError> {
    MasterCf::parse(&f.master).map_err(|e| located(&f.master_path, &f.master, &e))
}

/// The target Postfix and crypto-policy, without the configuration files (for commands that
/// validate policies on a machine without a Postfix configuration).
#[derive(Clone)]
pub struct Target {
    /// Target version.
    pub version: PostfixVersion,
    /// Its catalogue.
    pub catalogue: Catalogue,
    /// Crypto-policy baseline.
    pub baseline: pftls_tls::Baseline,
    /// Facts for dynamic policy values.
    pub crypto: pftls_policy::CryptoFacts,
    /// Notes for the user.
    pub notes: Vec<String>,
}

impl Target {
    /// Decides the target version and catalogue and evaluates the crypto-policy.
    pub fn discover(opts: &HostOptions) -> Result<Target, HostError> {
        let (version, catalogue, mut notes) = target(&opts.config_dir, opts.version)?;
        let baseline = crate::crypto::baseline(&opts.crypto_dir)?;
        let crypto = crate::crypto::facts(&baseline, version);
        if version < PostfixVersion::OLDEST_SUPPORTED {
            notes.push(format!(
                "Postfix {version} is older than the oldest version pftls supports ({}); results may be wrong",
                PostfixVersion::OLDEST_SUPPORTED.line()
            ));
        }
        Ok(Target {
            version,
            catalogue,
            baseline,
            crypto,
            notes,
        })
    }

    /// The planner's environment.
    pub fn environment(&self) -> pftls_policy::Environment {
        pftls_policy::Environment {
            version: self.version,
            catalogue: self.catalogue.clone(),
            crypto: self.crypto.clone(),
        }
    }
}

pub(crate) fn discover(opts: &HostOptions, t: Option<Target>) -> Result<Host, HostError> {
    let files = ConfigFiles::read(&opts.config_dir)?;
    let main = parse_main(&files)?;
    let master = parse_master(&files)?;
    let t = match t {
        Some(t) => t,
        None => Target::discover(opts)?,
    };
    let Target {
        version,
        catalogue,
        baseline,
        crypto,
        notes,
    } = t;
    let topology = crate::topology::Topology::of(&ConfigView::new(&main, &master, &catalogue));
    Ok(Host {
        files,
        main,
        master,
        version,
        catalogue,
        baseline,
        crypto,
        notes,
        topology,
    })
}

/// The target version and catalogue: `postconf -d` of the installed Postfix unless a version
/// was given (then built-in data, or postconf's when it is the same release line).
fn target(
    config_dir: &Path,
    flag: Option<PostfixVersion>,
) -> Result<(PostfixVersion, Catalogue, Vec<String>), HostError> {
    let mut notes = Vec::new();
    let installed = if flag.is_some() {
        None
    } else {
        postconf_defaults(config_dir)
    };
    let (version, catalogue) = match (flag, installed) {
        (Some(v), Some((iv, text))) if (iv.major, iv.minor) == (v.major, v.minor) => {
            (v, Catalogue::from_postconf_d(&text, v))
        }
        // No silent mapping of a release line pftls has no catalogue for.
        (Some(v), _) => (
            v,
            Catalogue::try_builtin(v).map_err(|e| HostError::UnsupportedVersion(e.to_string()))?,
        ),
        (None, Some((iv, text))) => (iv, Catalogue::from_postconf_d(&text, iv)),
        (None, None) => {
            let v = PostfixVersion::NEWEST_KNOWN;
            notes.push(format!(
                "postconf not found: assuming Postfix {} (the newest version pftls knows); use --postfix-version to target another",
                v.line()
            ));
            (v, Catalogue::builtin(v))
        }
    };
    Ok((version, catalogue, notes))
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
