//! pftls against the real postconf of three Postfix versions (3.5 / Debian 11, 3.7 / Debian 12,
//! 3.10 / Debian 13), each in a minimal chroot built by `scripts/install-oracles.sh` (the
//! test-deps step). postconf runs as `chroot ROOT postconf -c /tmp/<copy>`; pftls runs with
//! `--postfix-version` set to that oracle's version, so only its built-in catalogue is used.
//!
//! * catalogue: each version's built-in catalogue is that version's `postconf -d` name list,
//!   with an empty and with the stock master.cf (service-derived names);
//! * parser: `show --all` lists what `postconf -n` / `-P` list and reports the same
//!   unused / undefined / read-only / deprecation warnings, for the corpus in
//!   tests/fixtures/oracle-corpus and each chroot's own stock main.cf and master.cf;
//! * master.cf field grammar: the wakeup forms postconf accepts and refuses;
//! * edit: every shipped policy applied: postconf agrees with pftls, no new warning, a second
//!   apply changes nothing, rollback restores the bytes.
//!
//! Without CI=true a missing oracle is reported and its checks are left out; with CI=true it
//! fails the test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use pftls_policy::{Catalogue, PostfixVersion};
use postfix_conf::{display_value, MasterCf};

const ORACLES: &[&str] = &["postfix-bullseye", "postfix-bookworm", "postfix-trixie"];

/// The usage warnings both sides report (other postconf warnings are compared elsewhere).
const USAGE_PREFIXES: &[&str] = &[
    "unused parameter",
    "undefined parameter",
    "read-only parameter",
    "support for parameter",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

struct Oracle {
    name: &'static str,
    root: PathBuf,
    version: PostfixVersion,
}

/// The oracle chroots that exist; under CI=true every one must.
fn oracles() -> Vec<Oracle> {
    let cache = std::env::var_os("PFTLS_CHROOT_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("pftls/chroots"))
        })
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/pftls/chroots")
        });
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let mut out = Vec::new();
    for name in ORACLES {
        let root = cache.join(name);
        if !root.join("usr/sbin/postconf").is_file() {
            let msg = format!(
                "oracle {name} missing at {} (run scripts/install-oracles.sh as root)",
                root.display()
            );
            assert!(!ci, "{msg}");
            eprintln!("SKIP: {msg}");
            continue;
        }
        let o = Oracle {
            name,
            root,
            version: PostfixVersion::new(0, 0, 0),
        };
        let staged = o.stage(b"", b"");
        let run = o.postconf(&staged, &["-d", "-h", "mail_version"]);
        assert!(run.ok, "{name}: postconf -d failed: {:?}", run.warnings);
        let version = run.stdout.trim().parse().expect("mail_version");
        out.push(Oracle { version, ..o });
    }
    out
}

/// A config dir inside a chroot (removed on drop).
struct Staged {
    dir: tempfile::TempDir,
    inside: String,
}

struct Run {
    ok: bool,
    stdout: String,
    /// postconf's usage warnings as `file: message` (config dir stripped).
    warnings: BTreeSet<String>,
    stderr: String,
}

impl Oracle {
    fn stage(&self, main: &[u8], master: &[u8]) -> Staged {
        let tmp = self.root.join("tmp");
        let dir = tempfile::Builder::new()
            .prefix("pftls-oracle-")
            .tempdir_in(&tmp)
            .expect("tempdir in chroot");
        write_settled(&dir.path().join("main.cf"), main);
        write_settled(&dir.path().join("master.cf"), master);
        let inside = format!("/tmp/{}", dir.path().file_name().unwrap().to_string_lossy());
        Staged { dir, inside }
    }

    /// `postconf -c DIR ARGS` in the chroot. Without myhostname in main.cf, postconf would
    /// look up the host name; a display-only `-o myhostname=` avoids that and is dropped again.
    fn postconf(&self, s: &Staged, args: &[&str]) -> Run {
        let main = std::fs::read(s.dir.path().join("main.cf")).unwrap();
        // (-o cannot be combined with -d.)
        let fake = !args.contains(&"-d")
            && !String::from_utf8_lossy(&main)
                .lines()
                .any(|l| l.starts_with("myhostname"));
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.root).args(["postconf", "-c", &s.inside]);
        if fake {
            cmd.args(["-o", "myhostname=localhost.localdomain"]);
        }
        let out = cmd
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("chroot postconf");
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if fake {
            stdout = stdout.replace("myhostname = localhost.localdomain\n", "");
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let prefix = format!("{}/", s.inside);
        let warnings = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("postconf: warning: "))
            .map(|l| l.replace(&prefix, ""))
            .filter(|l| {
                l.split_once(": ")
                    .is_some_and(|(_, m)| USAGE_PREFIXES.iter().any(|p| m.starts_with(p)))
            })
            .collect();
        Run {
            ok: out.status.success(),
            stdout,
            warnings,
            stderr,
        }
    }
}

/// Writes a file whose mtime lies a minute in the past: Postfix waits until a configuration
/// file is at least a second old before reading it (one to two seconds per oracle call).
fn write_settled(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write config file");
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open config file");
    f.set_times(
        std::fs::FileTimes::new()
            .set_modified(past)
            .set_accessed(past),
    )
    .expect("set mtime");
}

/// `name = value` lines as a set, whitespace collapsed, config_directory dropped.
fn listing(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            l.split_once(" = ")
                .or_else(|| l.strip_suffix(" =").map(|n| (n, "")))
        })
        .filter(|(n, _)| *n != "config_directory")
        .map(|(n, v)| format!("{n} = {}", display_value(v)))
        .collect()
}

struct Show {
    ok: bool,
    main: BTreeSet<String>,
    master: BTreeSet<String>,
    warnings: BTreeSet<String>,
    raw: String,
}

fn pftls(args: &[&str], conf: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pftls"))
        .arg("-c")
        .arg(conf)
        .arg("--crypto-policies-dir")
        .arg(repo().join("examples/centos-stream-10/crypto-policies"))
        .args(args)
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .env_remove("PFTLS_POLICY_PATH")
        .output()
        .expect("run pftls")
}

/// `pftls show --all` in JSON, split like postconf -n / -P and its usage warnings.
fn show(conf: &Path, version: PostfixVersion) -> Show {
    let v = version.to_string();
    let out = pftls(
        &["--format", "json", "--postfix-version", &v, "show", "--all"],
        conf,
    );
    let raw = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut s = Show {
        ok: out.status.success(),
        main: BTreeSet::new(),
        master: BTreeSet::new(),
        warnings: BTreeSet::new(),
        raw,
    };
    if !s.ok {
        return s;
    }
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show JSON");
    for p in j["parameters"].as_array().expect("parameters") {
        let (scope, name, value, source) = (
            p["scope"].as_str().unwrap(),
            p["name"].as_str().unwrap(),
            p["value"].as_str().unwrap(),
            p["source"].as_str().unwrap(),
        );
        if scope == "main" && source.starts_with("main.cf") {
            s.main.insert(format!("{name} = {}", display_value(value)));
        } else if scope != "main" && source.starts_with("master.cf") {
            s.master
                .insert(format!("{scope}/{name} = {}", display_value(value)));
        }
    }
    for w in j["warnings"].as_array().expect("warnings") {
        let w = w.as_str().unwrap();
        // "main.cf:12: unused parameter: x=y" -> "main.cf: unused parameter: x=y"
        let Some((file, rest)) = w.split_once(": ") else {
            continue;
        };
        let file = file.split(':').next().unwrap_or(file);
        if USAGE_PREFIXES.iter().any(|p| rest.starts_with(p)) {
            s.warnings.insert(format!("{file}: {rest}"));
        }
    }
    s
}

/// Compares pftls with one oracle on one configuration; returns the differences.
fn compare(o: &Oracle, what: &str, main: &[u8], master: &[u8]) -> Vec<String> {
    let staged = o.stage(main, master);
    let n = o.postconf(&staged, &["-n"]);
    let p = o.postconf(&staged, &["-P"]);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("main.cf"), main).unwrap();
    std::fs::write(host.path().join("master.cf"), master).unwrap();
    let s = show(host.path(), o.version);
    let mut diffs = Vec::new();
    let tag = format!("{what} on {} {}", o.name, o.version);
    if !(n.ok && p.ok) {
        diffs.push(format!("{tag}: postconf failed: {}{}", n.stderr, p.stderr));
        return diffs;
    }
    if !s.ok {
        diffs.push(format!("{tag}: pftls show failed: {}", s.raw));
        return diffs;
    }
    let pc_main = listing(&n.stdout);
    let pc_master = listing(&p.stdout);
    if pc_main.is_empty() && pc_master.is_empty() {
        diffs.push(format!("{tag}: postconf lists nothing: not a useful case"));
    }
    let mut side = |label: &str, pc: &BTreeSet<String>, ours: &BTreeSet<String>| {
        let only_pc: Vec<_> = pc.difference(ours).collect();
        let only_ours: Vec<_> = ours.difference(pc).collect();
        if !only_pc.is_empty() || !only_ours.is_empty() {
            diffs.push(format!(
                "{tag} {label}: only postconf {only_pc:?}; only pftls {only_ours:?}"
            ));
        }
    };
    side("-n", &pc_main, &s.main);
    side("-P", &pc_master, &s.master);
    let pc_warn: BTreeSet<String> = n.warnings.union(&p.warnings).cloned().collect();
    side("warnings", &pc_warn, &s.warnings);
    diffs
}

fn corpus() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = repo().join("tests/fixtures/oracle-corpus");
    let mut v: Vec<(String, Vec<u8>, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let p = e.path();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(p.join("main.cf")).expect("corpus main.cf"),
                std::fs::read(p.join("master.cf")).expect("corpus master.cf"),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 9, "corpus incomplete: {}", v.len());
    v
}

/// The example configurations of the repository (examples/<distro>/<case>/).
fn examples() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    for distro in std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .filter_map(Result::ok)
    {
        let Ok(cases) = std::fs::read_dir(distro.path()) else {
            continue;
        };
        for case in cases.filter_map(Result::ok) {
            let p = case.path();
            let (Ok(main), Ok(master)) = (
                std::fs::read(p.join("main.cf")),
                std::fs::read(p.join("master.cf")),
            ) else {
                continue;
            };
            v.push((
                format!(
                    "examples/{}",
                    p.strip_prefix(repo().join("examples")).unwrap().display()
                ),
                main,
                master,
            ));
        }
    }
    v.sort();
    assert!(v.len() >= 3, "examples missing");
    v
}

/// The parser fixtures (tests/fixtures/postfix-conf), each paired with an empty other file.
fn parser_fixtures() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = repo().join("tests/fixtures/postfix-conf");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(e.path()).unwrap();
        if name.ends_with(".main.cf") {
            v.push((format!("fixture {name}"), bytes, Vec::new()));
        } else if name.ends_with(".master.cf") {
            v.push((format!("fixture {name}"), Vec::new(), bytes));
        }
    }
    v.sort();
    v
}

#[test]
fn catalogue_equals_postconf_d_of_each_version() {
    for o in oracles() {
        let cat = Catalogue::try_builtin(o.version).expect("supported version");
        let names = |text: &str| -> BTreeSet<String> {
            text.lines()
                .filter_map(|l| l.split(" =").next())
                .map(str::to_string)
                .collect()
        };
        let staged = o.stage(b"", b"");
        let run = o.postconf(&staged, &["-d"]);
        assert!(run.ok);
        let real = names(&run.stdout);
        let ours: BTreeSet<String> = cat.names().map(str::to_string).collect();
        assert_eq!(
            ours.symmetric_difference(&real).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{} {}: catalogue differs from postconf -d",
            o.name,
            o.version
        );
        // The documentation rule (used for 3.6, 3.8, 3.9, 3.11) gives the same list here.
        let by_rule = pftls_policy::catalogue::documented_postconf_names(o.version);
        assert_eq!(
            by_rule.symmetric_difference(&real).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{} {}: postconf(5) rule differs from postconf -d",
            o.name,
            o.version
        );
        // With Debian's stock master.cf, the service-derived names come on top: computed.
        let stock_master =
            std::fs::read(o.root.join("usr/share/postfix/master.cf.dist")).expect("stock master");
        let staged = o.stage(b"", &stock_master);
        let run = o.postconf(&staged, &["-d"]);
        let real = names(&run.stdout);
        let with = cat.with_master(&MasterCf::parse(&stock_master).expect("stock master parses"));
        let ours: BTreeSet<String> = with.names().map(str::to_string).collect();
        assert_eq!(
            ours.symmetric_difference(&real).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{} {}: catalogue + stock master.cf differs from postconf -d",
            o.name,
            o.version
        );
        assert!(
            real.contains("relay_destination_recipient_limit")
                && !cat.is_known("relay_destination_recipient_limit"),
            "the stock master.cf's relay service must add its names"
        );
    }
}

#[test]
fn show_all_agrees_with_postconf_on_the_corpus_and_stock_files() {
    let mut diffs = Vec::new();
    let mut checked = 0;
    for o in oracles() {
        for (name, main, master) in corpus() {
            diffs.extend(compare(&o, &name, &main, &master));
            checked += 1;
        }
        let main = std::fs::read(o.root.join("usr/share/postfix/main.cf.dist")).unwrap();
        let master = std::fs::read(o.root.join("usr/share/postfix/master.cf.dist")).unwrap();
        diffs.extend(compare(&o, "stock .dist files", &main, &master));
        checked += 1;
        for (name, main, master) in examples().into_iter().chain(parser_fixtures()) {
            diffs.extend(compare(&o, &name, &main, &master));
            checked += 1;
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {checked} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn corpus_exercises_each_rule() {
    // The corpus must keep producing what it is there for (checked against one oracle, the
    // others agree by the test above).
    let Some(o) = oracles().into_iter().next() else {
        return;
    };
    let mut all_listed = BTreeSet::new();
    let mut all_warn = BTreeSet::new();
    for (_, main, master) in corpus() {
        let staged = o.stage(&main, &master);
        let n = o.postconf(&staged, &["-n"]);
        all_listed.extend(
            listing(&n.stdout)
                .into_iter()
                .map(|l| l.split(" = ").next().unwrap().to_string()),
        );
        all_warn.extend(n.warnings);
    }
    for name in [
        "dovecot_destination_recipient_limit",
        "policy_time_limit",
        "hh_domain",
        "vmy_table",
        "rsq_dbpath",
        "mc_ttl",
        "inl_bind",
        "permissive",
        "virtual_maps",
        "postscreen_dnsbl_ttl",
        "my_networks_extra",
        "indirect_b",
    ] {
        assert!(
            all_listed.contains(name),
            "postconf -n does not list {name}"
        );
    }
    for w in [
        "main.cf: unused parameter: uucp_destination_recipient_limit=1",
        "main.cf: unused parameter: bar=from-main",
        "main.cf: read-only parameter assignment: process_name=custom",
        "main.cf: undefined parameter: no_such_relay",
        "master.cf: undefined parameter: missing_in_master",
        "main.cf: unused parameter: smtpd_tls_securty_level=may",
        "master.cf: unused parameter: unused_local=1",
    ] {
        assert!(
            all_warn.contains(w),
            "postconf no longer warns {w:?}: {all_warn:?}"
        );
    }
}

#[test]
fn master_wakeup_grammar_matches_postconf() {
    let cases: &[(&str, bool)] = &[
        ("-", true),
        ("-?", true),
        ("0?", true),
        ("60?", true),
        ("?", true),
        ("60", true),
        ("--", false),
        ("1?2", false),
        ("??", false),
        ("-1", false),
        ("x", false),
    ];
    for o in oracles() {
        for (wakeup, _) in cases {
            let master = format!("pickup unix n - y {wakeup} 1 pickup\n");
            let staged = o.stage(b"", master.as_bytes());
            let run = o.postconf(&staged, &["-M"]);
            let ours = MasterCf::parse(master.as_bytes());
            assert_eq!(
                ours.is_ok(),
                run.ok,
                "{} {}: wakeup {wakeup:?}: postconf ok={} ({}), pftls {:?}",
                o.name,
                o.version,
                run.ok,
                run.stderr.trim(),
                ours.err()
            );
        }
    }
    for (wakeup, ok) in cases {
        let master = format!("pickup unix n - y {wakeup} 1 pickup\n");
        assert_eq!(MasterCf::parse(master.as_bytes()).is_ok(), *ok, "{wakeup}");
    }
}

#[test]
fn shipped_policies_applied_for_each_version_agree_with_postconf() {
    let policies: Vec<String> = std::fs::read_dir(repo().join("policies"))
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect();
    assert!(policies.len() >= 5);
    let mut failures = Vec::new();
    let mut changed = 0;
    for o in oracles() {
        let main0 = std::fs::read(o.root.join("usr/share/postfix/main.cf.dist")).unwrap();
        let master0 = std::fs::read(o.root.join("usr/share/postfix/master.cf.dist")).unwrap();
        let staged0 = o.stage(&main0, &master0);
        let before = o.postconf(&staged0, &["-n"]).warnings;
        let v = o.version.to_string();
        for policy in &policies {
            let tag = format!("{policy} on {} {}", o.name, o.version);
            let tmp = tempfile::tempdir().unwrap();
            let conf = tmp.path().join("postfix");
            std::fs::create_dir(&conf).unwrap();
            std::fs::write(conf.join("main.cf"), &main0).unwrap();
            std::fs::write(conf.join("master.cf"), &master0).unwrap();
            let backups = tmp.path().join("backups");
            let b = backups.to_str().unwrap();
            let apply = |extra: &[&str]| {
                let mut a = vec![
                    "--format",
                    "json",
                    "--backup-dir",
                    b,
                    "--postfix-version",
                    &v,
                ];
                a.extend_from_slice(extra);
                let out = pftls(&a, &conf);
                let j: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
                (
                    out.status.code(),
                    j,
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            let (code, j, err) = apply(&["apply", "-p", policy]);
            if code != Some(0) {
                failures.push(format!("{tag}: apply failed ({code:?}): {j} {err}"));
                continue;
            }
            let main1 = std::fs::read(conf.join("main.cf")).unwrap();
            let master1 = std::fs::read(conf.join("master.cf")).unwrap();
            failures.extend(compare(&o, &format!("{tag} (applied)"), &main1, &master1));
            let staged = o.stage(&main1, &master1);
            let after = o.postconf(&staged, &["-n"]);
            let new: Vec<_> = after.warnings.difference(&before).collect();
            if !new.is_empty() {
                failures.push(format!("{tag}: new postconf warnings {new:?}"));
            }
            let (code, j2, err) = apply(&["apply", "-p", policy]);
            if code != Some(0) || j2["changed"] != serde_json::Value::Bool(false) {
                failures.push(format!(
                    "{tag}: second apply not a no-op ({code:?}): {j2} {err}"
                ));
            }
            if j["changed"] == serde_json::Value::Bool(true) {
                changed += 1;
                let (code, r, err) = apply(&["rollback"]);
                if code != Some(0) {
                    failures.push(format!("{tag}: rollback failed: {r} {err}"));
                }
            }
            if std::fs::read(conf.join("main.cf")).unwrap() != main0
                || std::fs::read(conf.join("master.cf")).unwrap() != master0
            {
                failures.push(format!("{tag}: rollback is not byte-exact"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        changed > 0 || oracles().is_empty(),
        "no policy changed anything"
    );
}

/// `doctor` reports exactly postconf's unused (W053) and undefined (W054) parameters.
#[test]
fn doctor_reports_postconf_parameter_warnings() {
    let mut diffs = Vec::new();
    let mut seen = 0;
    for o in oracles() {
        for (case, main, master) in corpus() {
            let staged = o.stage(&main, &master);
            let n = o.postconf(&staged, &["-n"]);
            // "main.cf: unused parameter: x=y" -> "W053 main.cf x"
            let want: BTreeSet<String> = n
                .warnings
                .iter()
                .filter_map(|w| {
                    let (file, msg) = w.split_once(": ")?;
                    let (kind, rest) = msg.split_once(": ")?;
                    let id = if kind == "undefined parameter" {
                        "W054"
                    } else {
                        "W053"
                    };
                    let name = rest.split('=').next()?;
                    let name = if id == "W054" {
                        format!("${name}")
                    } else {
                        name.to_string()
                    };
                    (!kind.contains("will be removed")).then(|| format!("{id} {file} {name}"))
                })
                .collect();
            let host = tempfile::tempdir().unwrap();
            std::fs::write(host.path().join("main.cf"), &main).unwrap();
            std::fs::write(host.path().join("master.cf"), &master).unwrap();
            let v = o.version.to_string();
            let out = pftls(
                &[
                    "--format",
                    "json",
                    "--postfix-version",
                    &v,
                    "doctor",
                    "--no-file-checks",
                ],
                host.path(),
            );
            let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("doctor JSON: {e}: {}", String::from_utf8_lossy(&out.stderr))
            });
            let got: BTreeSet<String> = j["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .filter_map(|f| {
                    let id = f["id"].as_str()?.strip_prefix("PFTLS-")?;
                    matches!(id, "W053" | "W054")
                        .then(|| format!("{id} {}", f["subject"].as_str().unwrap_or("")))
                })
                .collect();
            seen += got.len();
            if got != want {
                diffs.push(format!(
                    "{case} on {} {}: postconf {want:?}, doctor {got:?}",
                    o.name, o.version
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert!(seen > 0 || oracles().is_empty());
}

/// A release line without a catalogue is refused, never mapped to another (no oracle needed).
#[test]
fn unknown_target_versions_are_refused() {
    let host = tempfile::tempdir().unwrap();
    let main = b"myhostname = mx.example.org\nsmtpd_tls_security_level = none\n";
    std::fs::write(host.path().join("main.cf"), main).unwrap();
    std::fs::write(host.path().join("master.cf"), b"").unwrap();
    let b = host.path().join("backups");
    for v in ["3.12.0", "3.4.14", "2.11"] {
        for cmd in [
            &["show"][..],
            &[
                "--backup-dir",
                b.to_str().unwrap(),
                "apply",
                "-p",
                "inbound-opportunistic",
            ][..],
        ] {
            let mut args = vec!["--postfix-version", v];
            args.extend_from_slice(cmd);
            let out = pftls(&args, host.path());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(64), "{v} {cmd:?}: {err}");
            assert!(
                err.contains("no parameter catalogue") && err.contains("3.5 to 3.11"),
                "{err}"
            );
        }
    }
    assert_eq!(std::fs::read(host.path().join("main.cf")).unwrap(), main);
    for v in ["3.6.4", "3.8.5", "3.9.1", "3.11.0"] {
        let out = pftls(&["--postfix-version", v, "show", "--all"], host.path());
        assert!(
            out.status.success(),
            "{v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A new `-o` on a service without options becomes a continuation line in the file's own
/// indentation (postconf -P's form), and every oracle reads it.
#[test]
fn new_override_is_a_continuation_line_postconf_reads() {
    let cases: &[(&[u8], &str, &[u8])] = &[
        (
            b"smtp      inet  n       -       y       -       -       smtpd\n",
            "smtp/inet",
            b"smtp      inet  n       -       y       -       -       smtpd\n  -o smtpd_tls_security_level=may\n",
        ),
        (
            b"smtp inet n - y - - smtpd\nrelay unix - - y - - smtp\n    -o syslog_name=relay\n",
            "smtp/inet",
            b"smtp inet n - y - - smtpd\n    -o smtpd_tls_security_level=may\nrelay unix - - y - - smtp\n    -o syslog_name=relay\n",
        ),
        (
            b"smtp inet n - y - - smtpd\r\nx unix - - n - - smtp\r\n\t-o a=b\r\n",
            "smtp/inet",
            b"smtp inet n - y - - smtpd\r\n\t-o smtpd_tls_security_level=may\r\nx unix - - n - - smtp\r\n\t-o a=b\r\n",
        ),
        (
            // Arguments on the command's line: the option goes right after the command name.
            b"md unix - n n - - pipe flags=R argv=/bin/true\n",
            "md/unix",
            b"md unix - n n - - pipe -o smtpd_tls_security_level=may flags=R argv=/bin/true\n",
        ),
    ];
    let all = oracles();
    for (before, key, want) in cases {
        let mut m = MasterCf::parse(before).unwrap();
        assert_eq!(
            m.set_override(key, "smtpd_tls_security_level", "may"),
            Ok(true)
        );
        let got = m.render();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        for o in &all {
            let staged = o.stage(b"", &got);
            let p = o.postconf(&staged, &["-P"]);
            assert!(
                p.stdout
                    .contains(&format!("{key}/smtpd_tls_security_level = may")),
                "{} {}: {}",
                o.name,
                o.version,
                p.stdout
            );
        }
    }
}

/// A policy may set the per-service names of the services master.cf defines, and only those.
#[test]
fn policies_may_set_names_of_the_services_at_hand() {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(
        host.path().join("main.cf"),
        b"myhostname = mx.example.org\n",
    )
    .unwrap();
    std::fs::write(
        host.path().join("master.cf"),
        b"smtp inet n - y - - smtpd\nrelay unix - - y - - smtp\n",
    )
    .unwrap();
    let b = host.path().join("backups");
    for (name, ok) in [
        ("relay_destination_concurrency_limit", true),
        ("dovecot_destination_recipient_limit", false),
    ] {
        let policy = host.path().join("svc.yaml");
        std::fs::write(
            &policy,
            format!("name: svc\ndescription: per-service limit\nmain:\n  {name}: \"5\"\n"),
        )
        .unwrap();
        let out = pftls(
            &[
                "--postfix-version",
                "3.7.11",
                "--backup-dir",
                b.to_str().unwrap(),
                "apply",
                "--dry-run",
                "-p",
                policy.to_str().unwrap(),
            ],
            host.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{name}: {err}");
        assert_eq!(
            err.contains("unknown Postfix parameter"),
            !ok,
            "{name}: {err}"
        );
    }
}
