//! The documented contract against the real binary.
//!
//! `docs/exit-codes-and-json.md` is parsed, not copied: its exit-code table and its field tables
//! (one per `### heading`) are checked against real runs of `pftls` on a copy of the shipped
//! CentOS Stream 10 example. Every documented exit code must come out of a real case; every
//! documented JSON field must be there with the documented type; every top-level field the
//! binary prints must be documented. So an undocumented change of the code, or a doc that
//! promises what the code does not do, fails here.
//!
//! The runs use `--postfix-version` and `--reload-command true`: they need no Postfix, no root
//! and no network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The contract file.
fn contract_path() -> PathBuf {
    repo().join("docs/exit-codes-and-json.md")
}

fn read_contract() -> String {
    let path = contract_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---- the documented contract ---------------------------------------------------------------

/// The cells of a Markdown table row (`| a | b |` → `["a", "b"]`), or None for other lines and
/// for the `|---|` separator.
fn cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_string()).collect();
    if cells
        .iter()
        .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
    {
        return None;
    }
    Some(cells)
}

/// The exit codes of the `## Exit codes` table.
fn documented_exit_codes(doc: &str) -> BTreeSet<i32> {
    let mut in_section = false;
    let mut codes = BTreeSet::new();
    for line in doc.lines() {
        if line.starts_with("## ") {
            in_section = line.trim() == "## Exit codes";
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some(c) = cells(line) {
            if let Ok(code) = c[0].parse::<i32>() {
                codes.insert(code);
            }
        }
    }
    codes
}

/// One documented field: its path (`files[].path`) and type (`string?`).
#[derive(Debug, Clone)]
struct Field {
    path: String,
    ty: String,
}

/// The field tables: `### heading` → its rows whose first cell is a `` `path` ``.
fn documented_fields(doc: &str) -> BTreeMap<String, Vec<Field>> {
    let mut out: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    let mut heading: Option<String> = None;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            heading = Some(h.trim().to_string());
            continue;
        }
        if line.starts_with("## ") {
            heading = None;
            continue;
        }
        let (Some(h), Some(c)) = (&heading, cells(line)) else {
            continue;
        };
        if c.len() < 2 {
            continue;
        }
        let Some(path) = c[0].strip_prefix('`').and_then(|p| p.strip_suffix('`')) else {
            continue;
        };
        out.entry(h.clone()).or_default().push(Field {
            path: path.to_string(),
            ty: c[1].clone(),
        });
    }
    out
}

// ---- resolving and type-checking a path ----------------------------------------------------

/// All values at `path` in `v` (`a[].b`: field `b` of every element of array `a`). Err names the
/// first segment that is missing or not of the expected shape.
fn values_at<'a>(v: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![v];
    for seg in path.split('.') {
        let (name, iterate) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for c in &current {
            let field = c
                .get(name)
                .ok_or_else(|| format!("no field `{name}` (in `{path}`)"))?;
            if iterate {
                let arr = field
                    .as_array()
                    .ok_or_else(|| format!("`{name}` is not an array (in `{path}`)"))?;
                next.extend(arr.iter());
            } else {
                next.push(field);
            }
        }
        if next.is_empty() {
            return Err(format!(
                "`{path}` cannot be checked: the array before `{seg}` is empty in this run"
            ));
        }
        current = next;
    }
    Ok(current)
}

/// Whether `v` has the documented type.
fn has_type(v: &Value, ty: &str) -> bool {
    if let Some(inner) = ty.strip_suffix('?') {
        return v.is_null() || has_type(v, inner);
    }
    if let Some(inner) = ty.strip_suffix("[]") {
        return v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| has_type(x, inner)));
    }
    match ty {
        "bool" => v.is_boolean(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        other => panic!("docs/exit-codes-and-json.md: unknown type `{other}`"),
    }
}

/// Checks `output` against the fields of `heading` (plus `extends`, whose fields it also has).
/// Returns the problems found.
fn check_fields(
    heading: &str,
    extends: Option<&str>,
    output: &Value,
    fields: &BTreeMap<String, Vec<Field>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(own) = fields.get(heading) else {
        return vec![format!("no field table under `### {heading}`")];
    };
    for f in own {
        match values_at(output, &f.path) {
            Ok(vals) => {
                for v in vals {
                    if !has_type(v, &f.ty) {
                        problems.push(format!(
                            "{heading}: `{}` is documented as {} but is {v}",
                            f.path, f.ty
                        ));
                        break;
                    }
                }
            }
            Err(e) => problems.push(format!("{heading}: {e}")),
        }
    }
    // Every top-level field printed is documented (here or in the table this one extends).
    let mut documented: BTreeSet<&str> = own
        .iter()
        .filter(|f| !f.path.contains('.') && !f.path.contains("[]"))
        .map(|f| f.path.as_str())
        .collect();
    if let Some(base) = extends.and_then(|b| fields.get(b)) {
        documented.extend(
            base.iter()
                .filter(|f| !f.path.contains('.') && !f.path.contains("[]"))
                .map(|f| f.path.as_str()),
        );
    }
    if let Some(obj) = output.as_object() {
        for key in obj.keys() {
            if !documented.contains(key.as_str()) {
                problems.push(format!(
                    "{heading}: the binary prints top-level `{key}`, which {} does not document",
                    contract_path().display()
                ));
            }
        }
    } else {
        problems.push(format!("{heading}: output is not a JSON object: {output}"));
    }
    problems
}

// ---- real runs -----------------------------------------------------------------------------

/// A copy of the over-hardened CentOS Stream 10 example and an empty backup dir.
struct Host {
    _tmp: tempfile::TempDir,
    conf: PathBuf,
    backups: PathBuf,
}

impl Host {
    fn new() -> Host {
        let tmp = tempfile::tempdir().expect("tempdir");
        let conf = tmp.path().join("postfix");
        std::fs::create_dir(&conf).expect("mkdir");
        let src = repo().join("examples/centos-stream-10/over-hardened");
        for f in ["main.cf", "master.cf"] {
            std::fs::copy(src.join(f), conf.join(f)).expect("copy example");
        }
        let backups = tmp.path().join("backups");
        Host {
            _tmp: tmp,
            conf,
            backups,
        }
    }

    /// Runs pftls on this host with `args` after the global options.
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(&self.conf, args)
    }

    /// Runs pftls with `conf` as the configuration directory.
    fn run_in(&self, conf: &Path, args: &[&str]) -> Output {
        let crypto = repo().join("examples/centos-stream-10/crypto-policies");
        Command::new(env!("CARGO_BIN_EXE_pftls"))
            .arg("-c")
            .arg(conf)
            .arg("--backup-dir")
            .arg(&self.backups)
            .arg("--crypto-policies-dir")
            .arg(crypto)
            .args(["--postfix-version", "3.8"])
            .args(args)
            .env_remove("PFTLS_POLICY_PATH")
            .output()
            .expect("run pftls")
    }

    /// Runs with `--format json` and parses the one JSON object on stdout.
    fn json(&self, args: &[&str]) -> (i32, Value) {
        self.json_in(&self.conf, args)
    }

    /// `json` with `conf` as the configuration directory.
    fn json_in(&self, conf: &Path, args: &[&str]) -> (i32, Value) {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let out = self.run_in(conf, &full);
        let code = out.status.code().expect("exit code");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "pftls {args:?}: stdout is not one JSON object ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, v)
    }

    fn main_cf(&self) -> Vec<u8> {
        std::fs::read(self.conf.join("main.cf")).expect("read main.cf")
    }
}

const POLICY: &str = "inbound-opportunistic";

#[test]
fn every_documented_json_field_is_real_and_every_printed_field_is_documented() {
    let doc = read_contract();
    let fields = documented_fields(&doc);
    let host = Host::new();
    let mut problems = Vec::new();
    let mut checked = BTreeSet::new();
    let mut check = |heading: &str, extends: Option<&str>, (code, v): (i32, Value), want: i32| {
        checked.insert(heading.to_string());
        if code != want {
            problems.push(format!("{heading}: exit {code}, expected {want}: {v}"));
        }
        problems.extend(check_fields(heading, extends, &v, &fields));
    };

    check(
        "error",
        None,
        host.json_in(Path::new("/nonexistent/pftls"), &["show"]),
        1,
    );
    check("show", None, host.json(&["show"]), 0);
    check("doctor", None, host.json(&["doctor"]), 0);
    check("plan", None, host.json(&["plan", "-p", POLICY]), 0);
    check("simulate", None, host.json(&["simulate", "-p", POLICY]), 0);
    check(
        "apply",
        Some("plan"),
        host.json(&[
            "apply",
            "-p",
            POLICY,
            "--reload",
            "--reload-command",
            "true",
        ]),
        0,
    );
    check("backups list", None, host.json(&["backups", "list"]), 0);
    check(
        "rollback",
        None,
        host.json(&["rollback", "--reload", "--reload-command", "true"]),
        0,
    );

    // Every field table is exercised here; a new table needs a run above.
    for heading in fields.keys() {
        if !checked.contains(heading) {
            problems.push(format!(
                "`### {heading}` has a field table but no real run here"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagrees with the binary:\n  {}",
        contract_path().display(),
        problems.join("\n  ")
    );
}

#[test]
fn every_documented_exit_code_comes_out_of_a_real_run() {
    let codes = documented_exit_codes(&read_contract());
    assert!(
        codes.len() >= 4,
        "the exit-code table of {} was not found or is incomplete: {codes:?}",
        contract_path().display()
    );
    let host = Host::new();
    let code = |args: &[&str]| host.run(args).status.code().expect("exit code");
    let mut seen: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut expect = |want: i32, args: &[&str], got: i32| {
        if got == want {
            seen.entry(want).or_default().push(args.join(" "));
        } else {
            problems.push(format!(
                "pftls {}: exit {got}, documented {want}",
                args.join(" ")
            ));
        }
    };

    // 0: success, nothing changed; and changes made without --detailed-exitcode.
    expect(0, &["policies", "list"], code(&["policies", "list"]));
    expect(0, &["show"], code(&["show"]));
    // 3: doctor findings at --fail-on level (the example is over-hardened: errors).
    expect(
        3,
        &["doctor", "--fail-on", "warning"],
        code(&["doctor", "--fail-on", "warning"]),
    );
    // 2: with --detailed-exitcode, a plan or dry run that would change something.
    let a = ["--detailed-exitcode", "plan", "-p", POLICY];
    expect(2, &a, code(&a));
    let a = ["--detailed-exitcode", "apply", "--dry-run", "-p", POLICY];
    expect(2, &a, code(&a));
    // 1: an error, and nothing changed: a policy that does not validate.
    let before = host.main_cf();
    let bad = host._tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ndescription: x\nmain:\n  smtpd_tls_securty_level: may\n",
    )
    .expect("write bad policy");
    let bad = bad.to_string_lossy().to_string();
    let a = ["apply", "-p", bad.as_str()];
    expect(1, &a, code(&a));
    assert_eq!(host.main_cf(), before, "a failed apply changed main.cf");
    assert!(
        !host.backups.exists()
            || std::fs::read_dir(&host.backups)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true),
        "a failed apply left a snapshot"
    );
    // 0 with changes made (no --detailed-exitcode), then 2 for the same kind of run with it.
    let a = ["apply", "-p", POLICY];
    expect(0, &a, code(&a));
    assert_ne!(host.main_cf(), before, "apply did not change main.cf");
    let a = ["--detailed-exitcode", "rollback"];
    expect(2, &a, code(&a));
    assert_eq!(host.main_cf(), before, "rollback did not restore main.cf");
    // 64: usage errors.
    for a in [
        &["--no-such-option", "show"][..],
        &["no-such-command"][..],
        &["plan", "-p"][..],
        &["--format", "yaml", "show"][..],
    ] {
        expect(64, a, code(a));
    }

    for c in &codes {
        if !seen.contains_key(c) {
            problems.push(format!(
                "documented exit code {c} is produced by no case here"
            ));
        }
    }
    for c in seen.keys() {
        if !codes.contains(c) {
            problems.push(format!("exit code {c} occurs but is not documented"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_json_error_object_is_what_the_docs_say() {
    let host = Host::new();
    let (code, v) = host.json_in(Path::new("/nonexistent/pftls"), &["show"]);
    assert_eq!(code, 1);
    assert_eq!(v["changed"], Value::Bool(false), "{v}");
    assert_eq!(v["error"]["kind"], "config", "{v}");
    assert_eq!(v["error"]["file"], "/nonexistent/pftls", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/nonexistent/pftls")),
        "{v}"
    );
}

#[test]
fn the_project_docs_point_nowhere_outside_the_repository() {
    let mut files = vec![repo().join("README.md")];
    for e in std::fs::read_dir(repo().join("docs")).expect("docs/") {
        let p = e.expect("dir entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read doc");
        for (i, line) in text.lines().enumerate() {
            if line.contains("../shared") || line.contains("shared/SPEC") {
                problems.push(format!("{}:{}: {line}", f.display(), i + 1));
            }
        }
    }
    // The binary's help neither: every command's --help.
    let help = Command::new(env!("CARGO_BIN_EXE_pftls"))
        .arg("--help")
        .output()
        .expect("run pftls --help");
    let text = String::from_utf8_lossy(&help.stdout);
    if text.contains("shared/SPEC") || text.contains("../shared") {
        problems.push("pftls --help names ../shared".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The pftls command lines of the ```sh blocks of a Markdown text: continuation lines joined,
/// comments dropped, the pftls part of a pipeline, and `cargo run ... -p pftls -- ARGS` as
/// `pftls ARGS`.
fn pftls_commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match t.find(" #") {
            Some(i) => &t[..i],
            None if t.starts_with('#') => "",
            None => t,
        };
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(code);
        let full = std::mem::take(&mut pending);
        let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
        for part in full.split(['|', ';']).map(str::trim) {
            if part.starts_with("pftls ") {
                out.push(part.to_string());
            } else if part.starts_with("cargo run") && part.contains("-p pftls --") {
                if let Some((_, rest)) = part.split_once("-p pftls --") {
                    out.push(format!("pftls{rest}"));
                }
            }
        }
    }
    out
}

#[test]
fn every_pftls_command_in_the_readme_and_docs_is_accepted_by_the_cli() {
    use clap::Parser;
    let mut files = vec![repo().join("README.md")];
    for e in std::fs::read_dir(repo().join("docs")).expect("docs/") {
        let p = e.expect("dir entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut problems = Vec::new();
    let mut count = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read doc");
        for cmd in pftls_commands(&text) {
            count += 1;
            let words: Vec<&str> = cmd.split_whitespace().collect();
            if let Err(e) = pftls::cli::Cli::try_parse_from(&words) {
                problems.push(format!("{}: `{cmd}`: {}", f.display(), e.kind()));
            }
        }
    }
    assert!(
        count >= 6,
        "only {count} pftls commands found in README.md and docs/"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_command_extractor_finds_what_a_reader_would_run() {
    let md = "```sh\npftls doctor   # why\n# pftls not-this\ncargo run -p pftls -- \\\n  -c d \\\n  show\n\
              journalctl -o short-iso | pftls logs -\n```\n```\npftls ignored\n```\n";
    assert_eq!(
        pftls_commands(md),
        vec!["pftls doctor", "pftls -c d show", "pftls logs -"]
    );
}

#[test]
fn the_contract_parser_reads_tables_and_rejects_wrong_types() {
    let doc = "## Exit codes\n\n| code | meaning |\n|---|---|\n| 0 | ok |\n| 64 | usage |\n\n\
               ## JSON\n\n### thing\n\n| field | type | meaning |\n|---|---|---|\n\
               | `a` | bool | x |\n| `b` | array | z |\n| `b[].c` | string? | y |\n";
    assert_eq!(documented_exit_codes(doc), BTreeSet::from([0, 64]));
    let fields = documented_fields(doc);
    let good: Value = serde_json::json!({"a": true, "b": [{"c": null}, {"c": "s"}]});
    assert!(check_fields("thing", None, &good, &fields).is_empty());
    let wrong_type: Value = serde_json::json!({"a": "yes", "b": [{"c": 1}]});
    assert_eq!(check_fields("thing", None, &wrong_type, &fields).len(), 2);
    let extra: Value = serde_json::json!({"a": true, "b": [{"c": "s"}], "z": 1});
    let p = check_fields("thing", None, &extra, &fields);
    assert!(p.len() == 1 && p[0].contains("`z`"), "{p:?}");
    let empty: Value = serde_json::json!({"a": true, "b": []});
    assert!(check_fields("thing", None, &empty, &fields)[0].contains("empty"));
}
