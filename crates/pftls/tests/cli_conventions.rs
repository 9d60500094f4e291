//! The CLI conventions (issue 17): usage errors exit 64 and print one JSON object with
//! `--format json` wherever it stands; did-you-mean for subcommands and policy names; unknown
//! Postfix versions refused; `-q` / `-v`; wrapping to $COLUMNS with hanging indents and aligned
//! columns; per-command help with examples; dry runs that end with the command applying them.

mod common;

use std::process::{Command, Output};

use common::Sandbox;

const EXIT_USAGE: i32 = 64;

/// Runs pftls on the sandbox with COLUMNS set (or removed), as a user would.
fn run_cols(s: &Sandbox, columns: Option<usize>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pftls"));
    cmd.arg("-c")
        .arg(&s.conf)
        .arg("--backup-dir")
        .arg(&s.backups)
        .arg("--crypto-policies-dir")
        .arg(&s.crypto)
        .args(args)
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .env_remove("PFTLS_POLICY_PATH");
    match columns {
        Some(c) => cmd.env("COLUMNS", c.to_string()),
        None => cmd.env_remove("COLUMNS"),
    };
    cmd.output().unwrap()
}

/// Runs the bare binary (no sandbox options), e.g. for usage errors.
fn bare(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pftls"))
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout parsed as exactly one JSON object.
fn one_json(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    });
    assert!(v.is_object(), "{v}");
    v
}

#[test]
fn usage_errors_exit_64_with_text_on_stderr() {
    for args in [
        &[][..],
        &["backups"],
        &["policies"],
        &["plna"],
        &["plan", "--bogus"],
        &["apply"],
        &["rollback", "--keep", "many"],
        &["--format", "yaml", "show"],
    ] {
        let o = bare(args);
        assert_eq!(
            o.status.code(),
            Some(EXIT_USAGE),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(
            stdout(&o).is_empty(),
            "{args:?}: usage goes to stderr: {}",
            stdout(&o)
        );
        assert!(!stderr(&o).is_empty(), "{args:?}");
    }
    // Help and version are not errors.
    for args in [
        &["--help"][..],
        &["--version"],
        &["plan", "--help"],
        &["help"],
    ] {
        assert_eq!(bare(args).status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn usage_errors_print_one_json_object_wherever_format_json_stands() {
    for args in [
        &["--format", "json"][..],
        &["--format=json"],
        &["backups", "--format", "json"],
        &["--format", "json", "backups"],
        &["plna", "--format", "json"],
        &["plan", "--bogus", "--format", "json"],
        &["plan", "--format=json", "--bogus"],
        &["apply", "--format", "json"],
        &["set", "--format", "json"],
        &["set", "novalue", "--format", "json"],
        &["--postfix-version", "9.9", "show", "--format", "json"],
        &["rollback", "--keep", "many", "--format", "json"],
    ] {
        let o = bare(args);
        assert_eq!(o.status.code(), Some(EXIT_USAGE), "{args:?}");
        let v = one_json(&o);
        assert_eq!(v["changed"], false, "{args:?}: {v}");
        assert_eq!(v["error"]["kind"], "usage", "{args:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            !msg.is_empty() && !msg.contains("\x1b["),
            "{args:?}: {msg:?}"
        );
        assert!(
            !msg.contains("Usage:"),
            "{args:?}: no usage block in JSON: {msg}"
        );
    }
}

#[test]
fn did_you_mean_for_subcommands() {
    let o = bare(&["plna"]);
    assert!(
        stderr(&o).contains("did you mean 'plan'?"),
        "{}",
        stderr(&o)
    );
    let v = one_json(&bare(&["--format", "json", "backups", "lsit"]));
    assert_eq!(v["error"]["suggestions"], serde_json::json!(["list"]));
    let v = one_json(&bare(&["--format", "json", "zzzzzz"]));
    assert_eq!(
        v["error"]["suggestions"],
        serde_json::json!([]),
        "no wild guesses"
    );
}

#[test]
fn did_you_mean_for_policy_names_including_policy_dirs() {
    let s = Sandbox::new("debian-12/stock");
    let (code, v) = s.json(&["plan", "-p", "inbound-oportunistic"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["kind"], "policy");
    assert_eq!(
        v["error"]["suggestions"],
        serde_json::json!(["inbound-opportunistic"])
    );
    let o = s.run(&["policies", "show", "tls-loging"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did you mean \"tls-logging\"?"),
        "{}",
        stderr(&o)
    );
    // A name in a --policy-dir is a candidate too.
    let dir = s.tmp.path().join("pol");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("site-hardening.yaml"),
        "name: site-hardening\ndescription: x\nmain:\n  smtpd_tls_loglevel: 1\n",
    )
    .unwrap();
    let dirs = dir.display().to_string();
    let (_, v) = s.json(&["--policy-dir", &dirs, "plan", "-p", "site-hardenin"]);
    assert_eq!(
        v["error"]["suggestions"],
        serde_json::json!(["site-hardening"])
    );
}

#[test]
fn unknown_postfix_versions_are_refused_with_the_known_list() {
    let s = Sandbox::new("debian-12/stock");
    for cmd in [
        &["show"][..],
        &["logs", "/dev/null"],
        &["plan", "-p", "tls-logging"],
    ] {
        let mut args = vec!["--postfix-version", "9.9"];
        args.extend_from_slice(cmd);
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(EXIT_USAGE), "{cmd:?}");
        let e = stderr(&o);
        assert!(
            e.contains("known versions: 3.5, 3.6, 3.7, 3.8, 3.9, 3.10, 3.11"),
            "{e}"
        );
    }
    assert_eq!(
        s.run(&["--postfix-version", "3.4", "show"]).status.code(),
        Some(64)
    );
    assert_eq!(
        s.run(&["--postfix-version", "x.y", "show"]).status.code(),
        Some(64)
    );
    let (code, v) = s.json(&["--postfix-version", "3.6", "show"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["postfix_version"], "3.6.0");
}

#[test]
fn each_help_shows_its_options_and_ends_with_examples() {
    let top = stdout(&bare(&["--help"]));
    assert!(
        top.contains("Examples:") && top.contains("64 usage error"),
        "{top}"
    );
    let subs = [
        "show", "doctor", "plan", "apply", "rollback", "simulate", "probe", "logs", "mta-sts",
        "tlsa", "backups", "policies", "set",
    ];
    for sc in subs {
        let o = bare(&[sc, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{sc}");
        let h = stdout(&o);
        let tail = h.trim_end().rsplit("Examples:").next().unwrap();
        assert!(h.contains("Examples:"), "{sc}: {h}");
        assert!(tail.contains(&format!("pftls {sc}")), "{sc}: {tail}");
    }
    let logs = stdout(&bare(&["logs", "--help"]));
    for absent in [
        "--detailed-exitcode",
        "--crypto-policies-dir",
        "--postfix-version",
        "--policy-dir",
    ] {
        assert!(!logs.contains(absent), "logs --help shows {absent}");
    }
    let plan = stdout(&bare(&["plan", "--help"]));
    for present in ["--detailed-exitcode", "--policy-dir", "--postfix-version"] {
        assert!(plan.contains(present), "plan --help lacks {present}");
    }
    assert!(!plan.contains("--backup-dir"), "plan writes no snapshot");
    let probe = stdout(&bare(&["probe", "--help"]));
    assert!(!probe.contains("--config-dir"), "{probe}");
    // Hidden is not refused: global options still work before or after any subcommand.
    let s = Sandbox::new("debian-12/stock");
    // (An empty regular file: a device such as /dev/null is refused as a log.)
    let empty = s.tmp.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let o = s.run(&["logs", "--detailed-exitcode", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn quiet_prints_only_what_changes_and_verbose_adds_the_reasoning() {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let normal = stdout(&s.run(&["plan", "-p", "crypto-policy-aligned"]));
    let quiet = stdout(&s.run(&["plan", "-p", "crypto-policy-aligned", "-q"]));
    let verbose = stdout(&s.run(&["plan", "-p", "crypto-policy-aligned", "-v"]));
    assert!(normal.starts_with("pftls plan "), "{normal}");
    assert!(normal.contains("--- ") && normal.contains("Handshake impact"));
    // -q: the changed parameters and the command, no heading, diff or impact matrix.
    assert!(!quiet.contains("pftls plan "), "{quiet}");
    assert!(
        !quiet.contains("--- ") && !quiet.contains("Handshake impact"),
        "{quiet}"
    );
    assert!(quiet.contains("smtpd_tls_protocols") && quiet.contains(">=TLSv1.3 -> >=TLSv1.2"));
    assert!(quiet.len() * 2 < normal.len(), "quiet is much shorter");
    // -v: resolutions and the listener topology on top of the normal output.
    assert!(!normal.contains("Resolved values:") && !normal.contains("Listeners:"));
    assert!(verbose.contains("Resolved values:"), "{verbose}");
    assert!(verbose.contains("crypto-policies"), "resolution reasons");
    assert!(verbose.contains("Listeners:") && verbose.contains("smtp/inet"));
    // Doctor: -q only the findings, -v the topology behind them.
    let d = stdout(&s.run(&["doctor", "--no-file-checks"]));
    let dq = stdout(&s.run(&["doctor", "--no-file-checks", "-q"]));
    let dv = stdout(&s.run(&["doctor", "--no-file-checks", "-v"]));
    assert!(d.contains("PFTLS-E003") && dq.contains("PFTLS-E003"));
    assert!(!dq.contains("pftls doctor") && !dq.contains("fix:"), "{dq}");
    assert!(!d.contains("listeners") && dv.contains("listeners"), "{dv}");
    // Nothing to change: -q prints nothing at all.
    let s2 = Sandbox::new("debian-12/stock");
    let first = s2.run(&["apply", "-p", "tls-logging", "--no-impact", "-q"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stdout(&first).contains("smtpd_tls_loglevel"));
    let again = s2.run(&["apply", "-p", "tls-logging", "--no-impact", "-q"]);
    assert_eq!(stdout(&again), "", "nothing changed, nothing printed");
    // Apply -v names the validation steps.
    let s3 = Sandbox::new("debian-12/stock");
    let v = stdout(&s3.run(&["apply", "-p", "tls-logging", "--no-impact", "-v"]));
    assert!(v.contains("Validation:") && v.contains("postconf"), "{v}");
}

/// Lines of a doctor run at `cols` columns: no line longer than the width unless it is one
/// unbreakable word after the indent, continuation lines indented, and no word split.
fn check_doctor_wrap(cols: usize) {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let text = stdout(&run_cols(&s, Some(cols), &["doctor", "--no-file-checks"]));
    let (_, json) = s.json(&["doctor", "--no-file-checks"]);
    let mut wrapped_somewhere = false;
    for l in text.lines() {
        let n = l.chars().count();
        if n > cols {
            let words = l.split_whitespace().count();
            assert!(words <= 2, "line of {n} > {cols} columns: {l:?}");
        }
    }
    // Each finding's message appears whole once the hanging-indented lines are joined.
    let joined = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    for f in json["findings"].as_array().unwrap() {
        let msg = f["message"].as_str().unwrap();
        let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(joined.contains(&msg), "message not intact at {cols}: {msg}");
        if msg.len() + 6 > cols {
            wrapped_somewhere = true;
        }
    }
    assert!(
        wrapped_somewhere,
        "the fixture has messages longer than {cols}"
    );
    // Continuation lines of a message or fix are indented under it.
    let lines: Vec<&str> = text.lines().collect();
    for w in lines.windows(2) {
        if w[0].starts_with("      fix: ") && !w[1].is_empty() && !w[1].starts_with("  ") {
            panic!("fix continuation not indented: {w:?}");
        }
        if w[1].starts_with("           ") {
            assert!(w[1].trim_start().len() < cols);
        }
    }
}

#[test]
fn doctor_wraps_at_80_and_120_columns_with_hanging_indents() {
    check_doctor_wrap(80);
    check_doctor_wrap(120);
    // Not a terminal and no COLUMNS: 80.
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let a = stdout(&run_cols(&s, None, &["doctor", "--no-file-checks"]));
    let b = stdout(&run_cols(&s, Some(80), &["doctor", "--no-file-checks"]));
    assert_eq!(a, b);
    let c = stdout(&run_cols(&s, Some(120), &["doctor", "--no-file-checks"]));
    assert_ne!(a, c, "the width changes the layout");
}

/// The column at which each parameter row's value starts must be the same on every row, even
/// with long names and long values, and no value shows raw continuation whitespace.
fn check_plan_alignment(cols: usize) {
    let s = Sandbox::new("centos-stream-10/over-hardened");
    let text = stdout(&run_cols(
        &s,
        Some(cols),
        &[
            "plan",
            "-p",
            "crypto-policy-aligned",
            "-p",
            "tls-logging",
            "--no-impact",
        ],
    ));
    let start = text.find("Parameters:").expect(&text);
    let rows: Vec<&str> = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(rows.len() > 10, "{text}");
    let mut value_cols = std::collections::BTreeSet::new();
    for r in &rows {
        // Only an unbreakable value (a colon-separated cipher list) may stick out.
        let longest = r.split_whitespace().map(str::len).max().unwrap_or(0);
        assert!(r.chars().count() <= cols || longest > cols / 2, "{r:?}");
        assert!(!r.contains('\t') && !r.trim_end().contains("   ,"), "{r:?}");
        if let Some(after_scope) = r.strip_prefix("  main  ") {
            // "  main  NAME<pad>VALUE": the value starts after the padded name column.
            if let Some(i) = after_scope.find(' ') {
                let rest = &after_scope[i..];
                let pad = rest.len() - rest.trim_start().len();
                if !rest.trim().is_empty() {
                    value_cols.insert(8 + i + pad);
                }
            }
        }
    }
    assert_eq!(
        value_cols.len(),
        1,
        "values start at one column: {value_cols:?}\n{text}"
    );
    // The over-hardened tls_high_cipherlist is written over continuation lines in main.cf;
    // its row shows it joined with single spaces.
    let main = String::from_utf8(s.main_cf()).unwrap();
    let at = main.find("tls_high_cipherlist").unwrap();
    assert!(main[at..]
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(char::is_whitespace));
    let (_, v) = s.json(&["plan", "-p", "crypto-policy-aligned", "--no-impact"]);
    let raw = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tls_high_cipherlist")
        .unwrap()["before"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        raw.contains("   "),
        "the fixture value keeps its continuation: {raw:?}"
    );
    let single = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let joined = rows.iter().map(|r| r.trim()).collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains(&single),
        "{single} not shown on one logical line"
    );
}

#[test]
fn plan_rows_stay_aligned_and_single_line_at_80_and_120() {
    check_plan_alignment(80);
    check_plan_alignment(120);
}

#[test]
fn apply_dry_run_is_headed_as_such_and_ends_with_the_command_that_applies_it() {
    let s = Sandbox::new("debian-12/stock");
    let before = s.main_cf();
    let o = s.run(&["apply", "-p", "tls-logging", "--dry-run", "--no-impact"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.starts_with("pftls apply dry run "), "{text}");
    assert!(!text.contains("pftls plan"), "{text}");
    let last = text.lines().last().unwrap();
    let cmd = last.strip_prefix("Apply it with: ").expect(last);
    assert!(cmd.contains(" apply -p tls-logging --no-impact") && !cmd.contains("--dry-run"));
    assert_eq!(s.main_cf(), before, "dry run wrote nothing");
    // The printed command, run by a shell, applies exactly what the dry run showed.
    let bin = env!("CARGO_BIN_EXE_pftls");
    let line = cmd.replacen("pftls", bin, 1);
    let run = Command::new("sh").arg("-c").arg(&line).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stdout(&run).starts_with("pftls apply "));
    assert_ne!(s.main_cf(), before);
    let plus: Vec<&str> = text.lines().filter(|l| l.starts_with("+smtp")).collect();
    let after = String::from_utf8(s.main_cf()).unwrap();
    for p in plus {
        assert!(after.contains(&p[1..]), "{p} not applied");
    }
    // A plan ends with the apply command too (plan -> apply, --out dropped), in JSON as well.
    let s = Sandbox::new("debian-12/stock");
    let (code, v) = s.json(&["plan", "-p", "tls-logging", "--no-impact"]);
    assert_eq!(code, 0);
    let cmd = v["apply_command"].as_str().unwrap();
    assert!(cmd.ends_with("apply -p tls-logging --no-impact"), "{cmd}");
    assert!(cmd.contains("--format json"), "the exact command: {cmd}");
}

/// Runs the bash completion for `words` (the last one is being completed) and returns the
/// candidates.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; _pftls_dynamic pftls \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&prog)
        .env("PFTLS_COMPLETE_BIN", env!("CARGO_BIN_EXE_pftls"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_completes_policy_names_and_snapshot_ids() {
    common::require("bash");
    let s = Sandbox::new("debian-12/stock");
    let script = s.tmp.path().join("pftls.bash");
    let o = bare(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(&script, &o.stdout).unwrap();
    // Policy names after -p, filtered by the prefix.
    let got = bash_complete(&script, &["pftls", "plan", "-p", "tls-"]);
    assert_eq!(got, vec!["tls-logging"]);
    let got = bash_complete(&script, &["pftls", "policies", "show", ""]);
    assert!(
        got.contains(&"inbound-opportunistic".to_string()),
        "{got:?}"
    );
    // Snapshot ids after --to and `backups show`, from the --backup-dir typed on the line.
    let (code, v) = s.json(&["set", "smtpd_tls_loglevel=1", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap().to_string();
    let bk = s.backups.display().to_string();
    let conf = s.conf.display().to_string();
    let got = bash_complete(
        &script,
        &[
            "pftls",
            "-c",
            &conf,
            "--backup-dir",
            &bk,
            "rollback",
            "--to",
            "",
        ],
    );
    assert_eq!(got, vec![id.clone()]);
    let got = bash_complete(
        &script,
        &[
            "pftls",
            "-c",
            &conf,
            "--backup-dir",
            &bk,
            "backups",
            "show",
            &id[..4],
        ],
    );
    assert_eq!(got, vec![id]);
    // Elsewhere the generated completion answers (subcommands).
    let got = bash_complete(&script, &["pftls", "pl"]);
    assert!(got.contains(&"plan".to_string()), "{got:?}");
}

/// Runs fish's completion engine on `line` with the generated script loaded.
fn fish_complete(script: &std::path::Path, line: &str) -> Vec<String> {
    let out = Command::new("fish")
        .arg("--no-config")
        .arg("-c")
        .arg(format!(
            "source '{}'; complete -C '{line}'",
            script.display()
        ))
        .env("PFTLS_COMPLETE_BIN", env!("CARGO_BIN_EXE_pftls"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // `candidate<TAB>description`: keep the candidate.
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs one of the zsh completers of the generated script with `words` as the command line
/// (the last word is being completed); `_describe` is replaced by a printer of its candidates.
fn zsh_complete(script: &std::path::Path, completer: &str, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        "compdef() {{ :; }}; _files() {{ :; }}; _describe() {{ print -l -- ${{(P)4}}; }}; \
         source '{}'; words=({}); CURRENT={}; {completer}",
        script.display(),
        quoted.join(" "),
        words.len()
    );
    let out = Command::new("zsh")
        .arg("-f")
        .arg("-c")
        .arg(&prog)
        .env("PFTLS_COMPLETE_BIN", env!("CARGO_BIN_EXE_pftls"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn zsh_and_fish_completion_complete_policy_names_and_snapshot_ids() {
    common::require("zsh");
    common::require("fish");
    let s = Sandbox::new("debian-12/stock");
    let (code, v) = s.json(&["set", "smtpd_tls_loglevel=1", "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap().to_string();
    let (conf, bk) = (
        s.conf.display().to_string(),
        s.backups.display().to_string(),
    );

    let fish = s.tmp.path().join("pftls.fish");
    std::fs::write(&fish, bare(&["completions", "fish"]).stdout).unwrap();
    let got = fish_complete(&fish, "pftls plan -p tls-");
    assert!(got.contains(&"tls-logging".to_string()), "{got:?}");
    assert!(
        !got.contains(&"inbound-opportunistic".to_string()),
        "{got:?}"
    );
    let got = fish_complete(
        &fish,
        &format!("pftls -c {conf} --backup-dir {bk} rollback --to "),
    );
    assert_eq!(got, vec![id.clone()]);

    let zsh = s.tmp.path().join("_pftls");
    let script = bare(&["completions", "zsh"]).stdout;
    let text = String::from_utf8_lossy(&script);
    // The generated value specs point at the dynamic completers.
    assert!(text.contains(":POLICY:_pftls_policies'"), "zsh script");
    assert!(text.contains(":ID:_pftls_snapshots'"), "zsh script");
    std::fs::write(&zsh, &script).unwrap();
    let got = zsh_complete(&zsh, "_pftls_policies", &["pftls", "apply", "-p", ""]);
    assert!(
        got.contains(&"inbound-opportunistic".to_string()),
        "{got:?}"
    );
    let got = zsh_complete(
        &zsh,
        "_pftls_snapshots",
        &[
            "pftls",
            "-c",
            &conf,
            "--backup-dir",
            &bk,
            "rollback",
            "--to",
            "",
        ],
    );
    assert_eq!(got, vec![id]);
}
