//! Oracle helpers shared by the integration tests: run the real `postconf -c DIR` on a
//! temporary directory and parse its output.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of the fixture directory `tests/fixtures/postfix-conf` at the workspace root.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/postfix-conf")
}

/// Fixture files whose name ends with `suffix` (e.g. `.main.cf`), sorted, with their bytes.
pub fn fixtures(suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .map(|n| {
            let bytes = std::fs::read(fixture_dir().join(&n)).expect("read fixture");
            (n, bytes)
        })
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures *{suffix}");
    v
}

/// Debian's stock file, e.g. `main.cf.dist`; None (or a panic under CI=true) if missing.
pub fn stock(name: &str) -> Option<Vec<u8>> {
    let p = Path::new("/usr/share/postfix").join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(e) => {
            require_tool(&format!("{}: {e}", p.display()));
            None
        }
    }
}

/// Panics under CI=true (a missing tool must fail loudly there), otherwise prints a notice.
fn require_tool(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("required tool or file missing under CI: {what}");
    }
    eprintln!("SKIP: {what}");
}

/// The postconf binary, if installed.
pub fn postconf() -> Option<&'static str> {
    static BIN: OnceLock<Option<&'static str>> = OnceLock::new();
    let found = *BIN.get_or_init(|| {
        ["/usr/sbin/postconf", "/usr/bin/postconf"]
            .into_iter()
            .find(|p| Path::new(p).exists())
    });
    if found.is_none() {
        require_tool("postconf (install postfix)");
    }
    found
}

/// What one postconf run said.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit status success.
    pub ok: bool,
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr text.
    pub stderr: String,
}

/// Runs `postconf -c DIR <args>` on a temp dir holding the given main.cf / master.cf.
///
/// When main.cf does not set `myhostname`, postconf resolves the host's FQDN (seconds without
/// DNS); a display-only `-o myhostname=...` avoids that, and its output line is dropped again.
pub fn run(main: &[u8], master: Option<&[u8]>, args: &[&str]) -> Option<Run> {
    let bin = postconf()?;
    let dir = tempfile::tempdir().expect("tempdir");
    write_settled(&dir.path().join("main.cf"), main);
    if let Some(m) = master {
        write_settled(&dir.path().join("master.cf"), m);
    }
    // Only -n needs it (and -P with -o is the slow one).
    let needs_host = args.contains(&"-n");
    let has_host = !needs_host
        || postfix_conf::MainCf::parse(main)
            .ok()
            .and_then(|d| d.get("myhostname"))
            .is_some();
    const FAKE: &str = "myhostname=localhost.localdomain";
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(dir.path());
    if !has_host {
        cmd.args(["-o", FAKE]);
    }
    let out = cmd.args(args).output().expect("run postconf");
    let mut stdout = out.stdout;
    if !has_host {
        let text = String::from_utf8_lossy(&stdout).into_owned();
        if text.contains("myhostname = localhost.localdomain\n") {
            stdout = text
                .replace("myhostname = localhost.localdomain\n", "")
                .into_bytes();
        }
    }
    let dir_s = dir.path().display().to_string();
    Some(Run {
        ok: out.status.success(),
        stdout,
        // Temp dir names differ per run; make stderr comparable.
        stderr: String::from_utf8_lossy(&out.stderr).replace(&dir_s, "DIR"),
    })
}

/// Splits `name = value` output lines (postconf -n / -P) into a map; later lines win.
pub fn parse_listing(stdout: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(stdout);
    let mut m = BTreeMap::new();
    for line in text.lines() {
        if let Some((n, v)) = line.split_once(" =") {
            m.insert(n.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string());
        }
    }
    m
}

/// `postconf -c DIR -n` as name -> displayed value, without `config_directory`.
///
/// When main.cf does not set `myhostname`, postconf resolves the host's FQDN (seconds without
/// DNS); a display-only `-o myhostname=...` avoids that and its line is dropped again.
pub fn postconf_n(main: &[u8]) -> Option<(BTreeMap<String, String>, Run)> {
    let r = run(main, Some(b""), &["-n"])?;
    assert!(r.ok, "postconf -n failed: {}", r.stderr);
    let mut m = parse_listing(&r.stdout);
    m.remove("config_directory");
    Some((m, r))
}

/// `postconf -c DIR -P` lines (`service/type/name = value`) in output order.
pub fn postconf_p(master: &[u8]) -> Option<(Vec<String>, Run)> {
    let r = run(b"", Some(master), &["-P"])?;
    assert!(r.ok, "postconf -P failed: {}", r.stderr);
    let lines = String::from_utf8_lossy(&r.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    Some((lines, r))
}

/// Every parameter name postconf knows (from `postconf -d`), computed once.
pub fn known_names() -> &'static HashSet<String> {
    static NAMES: OnceLock<HashSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| match run(b"", Some(b""), &["-d"]) {
        Some(r) => parse_listing(&r.stdout).into_keys().collect(),
        None => HashSet::new(),
    })
}

/// Distinct warning texts of a stderr, with `, line N` removed (line numbers move on edits).
pub fn warning_set(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter(|l| l.contains("warning:"))
        .map(|l| {
            let mut s = l.to_string();
            if let Some(i) = s.find(", line ") {
                let rest = &s[i + 7..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                s.replace_range(i..i + 7 + digits, "");
            }
            s
        })
        .collect()
}

/// The crate's effective main.cf parameters as postconf -n would show them: displayed values,
/// only names postconf knows or that another value references.
pub fn crate_params(
    doc: &postfix_conf::MainCf,
    shown_by_postconf: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let eff = doc.effective();
    let mut referenced: HashSet<String> = HashSet::new();
    for e in &eff {
        referenced.extend(postfix_conf::expand::references(&e.value));
    }
    eff.into_iter()
        .filter(|e| {
            known_names().contains(&e.name)
                || referenced.contains(&e.name)
                || shown_by_postconf.contains_key(&e.name)
        })
        .map(|e| (e.name, postfix_conf::display_value(&e.value)))
        .collect()
}

/// Asserts that the crate's effective parameters equal postconf -n for this main.cf.
pub fn assert_main_matches(main: &[u8], what: &str) -> Option<Run> {
    let doc = postfix_conf::MainCf::parse(main).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (pc, run) = postconf_n(main)?;
    let mine = crate_params(&doc, &pc);
    assert_eq!(mine, pc, "{what}: crate effective params != postconf -n");
    Some(run)
}

/// The crate's overrides formatted like postconf -P.
pub fn crate_p(doc: &postfix_conf::MasterCf) -> Vec<String> {
    let mut out = Vec::new();
    for s in doc.services() {
        for o in s.effective_overrides() {
            let v = postfix_conf::display_value(&o.value);
            out.push(if v.is_empty() {
                format!("{}/{} =", s.key(), o.name)
            } else {
                format!("{}/{} = {v}", s.key(), o.name)
            });
        }
    }
    out
}

/// Asserts that the crate's overrides equal postconf -P for this master.cf.
pub fn assert_master_matches(master: &[u8], what: &str) -> Option<Run> {
    let doc = postfix_conf::MasterCf::parse(master).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (pc, run) = postconf_p(master)?;
    assert_eq!(crate_p(&doc), pc, "{what}: crate overrides != postconf -P");
    Some(run)
}

/// Writes a file whose mtime lies a minute in the past: Postfix sleeps until a configuration
/// file is at least a second old before reading it, which would cost every oracle call one
/// to two seconds on a file written just now.
pub fn write_settled(path: &std::path::Path, bytes: &[u8]) {
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
