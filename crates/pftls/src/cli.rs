//! Command-line definitions (clap). The man page and shell completions are generated from these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// pftls — remediation engine for Postfix TLS configuration.
///
/// Reads main.cf and master.cf without losing a byte, applies declarative TLS policies, shows the
/// diff and which sending MTAs would be locked out, snapshots, writes atomically, and rolls back
/// with one command.
#[derive(Debug, Parser)]
#[command(name = "pftls", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 error (nothing changed), 2 changes with --detailed-exitcode, 3 doctor findings at --fail-on level, 64 usage error."
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Postfix configuration directory, as postconf -c.
    #[arg(
        short = 'c',
        long,
        global = true,
        env = "PFTLS_CONFIG_DIR",
        default_value = "/etc/postfix",
        value_name = "DIR"
    )]
    pub config_dir: PathBuf,
    /// Where snapshots live.
    #[arg(
        long,
        global = true,
        env = "PFTLS_BACKUP_DIR",
        default_value = "/var/lib/pftls/backups",
        value_name = "DIR"
    )]
    pub backup_dir: PathBuf,
    /// Extra policy directory, searched before the built-in policies (repeatable; env
    /// PFTLS_POLICY_PATH is colon-separated).
    #[arg(long = "policy-dir", global = true, value_name = "DIR")]
    pub policy_dirs: Vec<PathBuf>,
    /// Root of the system crypto-policies state.
    #[arg(
        long,
        global = true,
        default_value = "/etc/crypto-policies",
        value_name = "DIR"
    )]
    pub crypto_policies_dir: PathBuf,
    /// The Postfix version to target, using pftls's built-in parameter data for it (default:
    /// ask the installed postconf; without postconf, the newest version pftls knows).
    #[arg(long, global = true, value_name = "X.Y[.Z]")]
    pub postfix_version: Option<String>,
    /// Output format; json prints exactly one JSON object on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour in text output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Exit 2 when something changed (apply, rollback) or would change (plan, --dry-run).
    #[arg(long, global = true)]
    pub detailed_exitcode: bool,
    /// Less output.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// postmulti: run show, doctor, plan, apply or rollback on every instance — the one of
    /// -c (the default instance) and each directory of its multi_instance_directories — one
    /// transaction, snapshot and reload per instance; output grouped by instance.
    #[arg(long, global = true)]
    pub all_instances: bool,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object on stdout.
    Json,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Effective TLS settings, each with its provenance (main.cf:LINE, master.cf:LINE, default).
    Show(ShowArgs),
    /// Findings: what is wrong or risky, where, and the policy or edit that fixes it.
    Doctor(crate::cmd::doctor::DoctorArgs),
    /// What applying policies would change: diff, per-parameter summary, warnings. Writes nothing.
    Plan(PlanArgs),
    /// Apply policies (or a saved plan): validate, snapshot, write atomically, optionally reload.
    Apply(ApplyArgs),
    /// Restore the snapshot taken by the most recent apply (or --to ID).
    Rollback(RollbackArgs),
    /// Probe every listener of the instance live: TLS 1.2+ for a modern client, plaintext mail
    /// accepted on mx, plaintext AUTH refused where TLS is required, no TLS deferrals queued.
    Verify(crate::cmd::verify::VerifyArgs),
    /// Handshake matrix: which client profiles each inbound TLS service accepts, current vs planned.
    Simulate(crate::cmd::simulate::SimulateArgs),
    /// Live SMTP STARTTLS probe of HOST[:PORT] with every client profile.
    Probe(crate::cmd::probe::ProbeArgs),
    /// Mail-log analytics: TLS failures, protocol mix, 530 refusals, volume per time bucket.
    Logs(crate::cmd::logs::LogsArgs),
    /// MTA-STS policy file, _mta-sts and TLS-RPT DNS records; --check validates a policy file.
    #[command(name = "mta-sts")]
    MtaSts(crate::cmd::mta_sts::MtaStsArgs),
    /// DANE TLSA records (3 1 1, and 2 1 1 for the issuer) for the configured or a given certificate.
    Tlsa(crate::cmd::tlsa::TlsaArgs),
    /// List, show and prune snapshots.
    #[command(subcommand)]
    Backups(BackupsCmd),
    /// List, show and check policies.
    #[command(subcommand)]
    Policies(PoliciesCmd),
    /// One-off edits like postconf -e/-P/-X, with apply's safety net: validated, diffed,
    /// snapshotted, written atomically, undone with `pftls rollback`.
    Set(crate::cmd::set::SetArgs),
    /// Shell completion script (bash, zsh, fish) that also completes policy names and
    /// snapshot ids, e.g. `pftls completions bash > /etc/bash_completion.d/pftls`.
    Completions(crate::completions::CompletionsArgs),
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Show(_) => "show",
            Command::Doctor(_) => "doctor",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Rollback(_) => "rollback",
            Command::Verify(_) => "verify",
            Command::Simulate(_) => "simulate",
            Command::Probe(_) => "probe",
            Command::Logs(_) => "logs",
            Command::MtaSts(_) => "mta-sts",
            Command::Tlsa(_) => "tlsa",
            Command::Backups(_) => "backups",
            Command::Policies(_) => "policies",
            Command::Set(_) => "set",
            Command::Completions(_) => "completions",
        }
    }
}

/// The clap command with per-command help: examples after each command's options, and the
/// global options that a command does not use hidden from its `--help` (still accepted, so that
/// `pftls -c DIR logs ...` keeps working in scripts). Parse and generate man pages from this.
pub fn command() -> clap::Command {
    crate::help::customise(<Cli as clap::CommandFactory>::command())
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Also every other parameter set in main.cf and every -o override in master.cf.
    #[arg(long)]
    pub all: bool,
}

/// Policies to merge, in order.
#[derive(Debug, Args, Default)]
pub struct PolicyArgs {
    /// A built-in policy name, a name in a --policy-dir, or a path to a YAML file (repeatable;
    /// merged in order; conflicting values are an error).
    #[arg(short = 'p', long = "policy", value_name = "POLICY")]
    pub policies: Vec<String>,
    /// Skip the analysis (handshake impact matrix and doctor findings fixed/introduced): only
    /// the diff and the parameter changes; faster, e.g. across a fleet.
    #[arg(long)]
    pub no_impact: bool,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Policies.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Save the plan (with the checksums of its inputs) for a later `apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `apply` options.
#[derive(Debug, Args, Default)]
pub struct ApplyArgs {
    /// Policies.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Apply exactly this saved plan; refused when the files changed since it was made.
    #[arg(long, value_name = "FILE", conflicts_with = "policies")]
    pub plan: Option<PathBuf>,
    /// Print exactly what would be done and write nothing anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// Reload, retention and locking.
    #[command(flatten)]
    pub write: WriteArgs,
    /// After the reload, probe every listener of the instance (as `pftls verify`); on a
    /// failed check restore the snapshot, reload again and exit 1. Needs --reload.
    #[arg(long, requires = "reload")]
    pub verify: bool,
    /// How long --verify retries failing checks (old smtpd processes finish after a reload).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub verify_timeout: u64,
    /// Watch the mail log after applying and roll back on a drop.
    #[command(flatten)]
    pub guard: GuardArgs,
}

/// `apply --guard`: after applying (with --reload), follow the mail log for DURATION and roll
/// back automatically (with reload) when accepted mail drops or TLS failures rise.
#[derive(Debug, Args, Default)]
pub struct GuardArgs {
    /// How long to watch, e.g. 90s, 10m, 1h (1s..24h). The before-window of the same length is
    /// read from FILE (and FILE.1 after a recent rotation).
    #[arg(long, value_name = "DURATION", requires = "log")]
    pub guard: Option<String>,
    /// The mail log to follow (survives rotation).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Roll back when accepted mail drops by more than PCT percent against the same-length
    /// window before the change.
    #[arg(long, value_name = "PCT", default_value_t = 50.0)]
    pub max_drop: f64,
    /// Roll back when the TLS failure rate (handshake failures and 530 refusals per session)
    /// rises above PCT percent.
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    pub max_failure_rate: f64,
    /// After DURATION, wait at most this long for a log line past the after-window's end
    /// (without one the log may be stale: the verdict is inconclusive).
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub guard_wait: String,
    /// Evidence needed before a rollback (see docs/logs.md).
    #[command(flatten)]
    pub decision: DecisionArgs,
}

/// The guard's evidence thresholds (`apply --guard`, `rollback --if-drop`); see docs/logs.md.
#[derive(Debug, Args, Clone)]
pub struct DecisionArgs {
    /// Accepted messages the before-window needs for the drop rule (fewer: inconclusive).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_messages: u64,
    /// Inbound attempts the after-window needs for the failure rule (fewer: inconclusive).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub min_attempts: u64,
    /// Confidence of the significance tests, percent (above 50, below 100).
    #[arg(long, value_name = "PCT", default_value_t = 95.0)]
    pub confidence: f64,
}

impl Default for DecisionArgs {
    /// The same defaults as the command line (an in-memory apply such as `pftls set`).
    fn default() -> DecisionArgs {
        DecisionArgs {
            min_messages: 10,
            min_attempts: 10,
            confidence: 95.0,
        }
    }
}

/// `rollback` options.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The snapshot to restore (default: the one taken by the most recent apply).
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
    /// Print what would be restored and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Roll back even when the files were edited after the apply (those edits are lost).
    #[arg(long)]
    pub force: bool,
    /// Only roll back when accepted mail dropped by more than PCT percent after the change
    /// (needs --log; the change is --around ID, default the snapshot being restored). Compares
    /// the time since the change (at most 1 h) with an equal window before it; only the drop
    /// rule applies; a change less than a second old is kept.
    #[arg(long, value_name = "PCT", requires = "log")]
    pub if_drop: Option<f64>,
    /// The mail log to read for --if-drop.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The change to judge: a snapshot id or a time (RFC 3339, YYYY-MM-DD HH:MM, or -2h).
    #[arg(long, value_name = "ID|TIME", allow_hyphen_values = true)]
    pub around: Option<String>,
    /// Evidence needed before --if-drop rolls back (see docs/logs.md).
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// Reload, retention and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// Options of the commands that write (apply, rollback, set).
#[derive(Debug, Clone, Args, Default)]
pub struct WriteArgs {
    /// Run `postfix reload` afterwards (`postfix -c DIR reload` for an instance other than
    /// the default one, or --reload-command); a failed reload restores the previous files and
    /// exits 1.
    #[arg(long)]
    pub reload: bool,
    /// The reload command (split on whitespace, no shell). Default: the instance's
    /// `postfix [-c DIR] reload`.
    #[arg(long, value_name = "CMD")]
    pub reload_command: Option<String>,
    /// Keep only the newest N snapshots of this instance afterwards (N >= 1: the snapshot
    /// this run takes is always kept).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// How long to wait for another pftls run on the same config dir.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

impl WriteArgs {
    /// The reload command as argv, when --reload was given: --reload-command, or the
    /// instance-aware default for `config_dir`.
    pub fn reload_argv(&self, config_dir: &std::path::Path) -> Option<Vec<String>> {
        self.reload.then(|| match &self.reload_command {
            Some(c) => pftls_txn::split_reload_command(c),
            None => pftls_txn::reload_command_for(config_dir, &default_config_dir()),
        })
    }

    /// `--keep` as a count.
    pub fn keep(&self) -> Option<usize> {
        self.keep.map(|k| usize::try_from(k).unwrap_or(usize::MAX))
    }

    /// The lock timeout.
    pub fn lock_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_timeout)
    }
}

/// The default instance's configuration directory (`postconf -d -h config_directory`;
/// `/etc/postfix` when postconf cannot say).
pub fn default_config_dir() -> std::path::PathBuf {
    std::process::Command::new("postconf")
        .args(["-d", "-h", "config_directory"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/etc/postfix".to_string())
        .into()
}

/// `backups` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupsCmd {
    /// List this instance's snapshots (--all: every instance's), oldest first.
    List {
        /// Every instance's snapshots in the backup dir.
        #[arg(long)]
        all: bool,
    },
    /// Show one snapshot's manifest and verify its checksums.
    Show {
        /// Snapshot id (YYYYMMDDTHHMMSSZ).
        id: String,
    },
    /// Remove this instance's oldest snapshots beyond N.
    Prune {
        /// How many to keep.
        #[arg(long, value_name = "N")]
        keep: usize,
    },
}

/// `policies` subcommands.
#[derive(Debug, Subcommand)]
pub enum PoliciesCmd {
    /// List the available policies (policy dirs first, then built-in).
    List,
    /// Show one policy's YAML.
    Show {
        /// Policy name or path.
        name: String,
    },
    /// Validate policy files (against --config-dir's master.cf when it exists).
    Check {
        /// Policy files or names.
        #[arg(required = true)]
        files: Vec<String>,
    },
}
