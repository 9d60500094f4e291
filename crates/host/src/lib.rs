//! The host model: everything pftls knows about one Postfix host, discovered once per run.
//!
//! [`Host::discover`] reads main.cf and master.cf (each parsed once), decides the target Postfix
//! version and its parameter catalogue (`postconf -d` of the installed Postfix, or built-in
//! data), evaluates the system crypto-policy, and classifies every master.cf service into a
//! [`topology::Topology`] of listener roles. Commands are views over a `Host`: the effective
//! value lookup ([`Host::view`]), the certificate a listener presents ([`certs`]), and the
//! role-aware planner ([`plan`]) all read the same documents.

pub mod certs;
pub mod crypto;
mod discover;
pub mod plan;
pub mod simulate;
pub mod tls_level;
pub mod topology;
pub mod validate;

use std::path::PathBuf;

pub use discover::{ConfigFiles, HostOptions, Target};
pub use pftls_policy::PostfixVersion;
pub use postfix_conf::{Scope, ServiceKey};

use pftls_policy::{Catalogue, ConfigView, CryptoFacts, Environment};
use postfix_conf::{MainCf, MasterCf};

/// Why the host could not be discovered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// `--postfix-version` names a release line pftls has no catalogue for.
    #[error("{0}")]
    UnsupportedVersion(String),
    /// The configuration directory does not exist.
    #[error("configuration directory {} does not exist (use -c DIR)", .0.display())]
    NoConfigDir(PathBuf),
    /// A configuration file could not be read safely (missing, not a regular file, too
    /// large, unreadable); the message names the file and never quotes its contents.
    #[error("{message}{hint}")]
    Read {
        /// The file.
        path: PathBuf,
        /// safe-read's message (it names the file itself).
        message: String,
        /// A hint for the user (may be empty).
        hint: String,
    },
    /// A file could not be read.
    #[error("{}: {message}{hint}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
        /// A hint for the user (may be empty).
        hint: String,
    },
    /// main.cf or master.cf cannot be parsed as Postfix would read it.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Postfix's wording plus the offending text.
        message: String,
    },
    /// The crypto-policies tree is unreadable.
    #[error("{}: {message}", path.display())]
    Crypto {
        /// The crypto-policies root.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One Postfix host as pftls sees it.
pub struct Host {
    /// The files as read from disk (paths and bytes).
    pub files: ConfigFiles,
    /// main.cf, parsed once.
    pub main: MainCf,
    /// master.cf, parsed once (empty document when the file is absent).
    pub master: MasterCf,
    /// Target Postfix version.
    pub version: PostfixVersion,
    /// Parameter catalogue of that version.
    pub catalogue: Catalogue,
    /// The crypto-policy baseline.
    pub baseline: pftls_tls::Baseline,
    /// Facts the planner resolves dynamic values from.
    pub crypto: CryptoFacts,
    /// Notes for the user (e.g. "postconf not found, assuming 3.11").
    pub notes: Vec<String>,
    /// Listener roles of the current documents.
    pub topology: topology::Topology,
}

impl Host {
    /// Discovers the host: reads and parses both files, the target version and catalogue, the
    /// crypto-policy, and the topology.
    pub fn discover(opts: &HostOptions) -> Result<Host, HostError> {
        discover::discover(opts, None)
    }

    /// [`Host::discover`] reusing a target already discovered.
    pub fn discover_with(opts: &HostOptions, target: Target) -> Result<Host, HostError> {
        discover::discover(opts, Some(target))
    }

    /// Builds a host from documents already in memory (tests, planned candidates).
    pub fn from_parts(
        files: ConfigFiles,
        version: PostfixVersion,
        catalogue: Catalogue,
        baseline: pftls_tls::Baseline,
        crypto: CryptoFacts,
    ) -> Result<Host, HostError> {
        let main = discover::parse_main(&files)?;
        let master = discover::parse_master(&files)?;
        let topology = topology::Topology::of(&ConfigView::new(&main, &master, &catalogue));
        Ok(Host {
            files,
            main,
            master,
            version,
            catalogue,
            baseline,
            crypto,
            notes: Vec::new(),
            topology,
        })
    }

    /// The effective-value view (master.cf `-o` → main.cf → default, `$name` expanded in the
    /// service's scope).
    pub fn view(&self) -> ConfigView<'_> {
        ConfigView::new(&self.main, &self.master, &self.catalogue)
    }

    /// The planner's environment (target version, catalogue, crypto facts).
    pub fn environment(&self) -> Environment {
        Environment {
            version: self.version,
            catalogue: self.catalogue.clone(),
            crypto: self.crypto.clone(),
        }
    }

    /// `DIR/main.cf` or `DIR/master.cf` followed by `:LINE`, for a value's source.
    pub fn locate(&self, source: &pftls_policy::Source) -> Option<String> {
        match source {
            pftls_policy::Source::Main(l) => {
                Some(format!("{}:{l}", self.files.main_path.display()))
            }
            pftls_policy::Source::Master(l) => {
                Some(format!("{}:{l}", self.files.master_path.display()))
            }
            _ => None,
        }
    }
}
