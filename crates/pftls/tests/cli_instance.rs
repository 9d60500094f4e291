//! Issue 14 on copies of the examples (no running Postfix): snapshots bound to their
//! instance, the undo hint replayed, reload notices, drift, saved-plan integrity, and
//! `--all-instances` over a postmulti-style pair of configuration directories. postconf
//! (3.7.11 installed) is the oracle where values matter.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Sandbox;
use serde_json::Value;

const OVER: &str = "centos-stream-10/over-hardened";
const POLICY: &str = "inbound-opportunistic";

/// A second instance beside a sandbox, sharing its backup directory.
fn second(s: &Sandbox, name: &str) -> PathBuf {
    let dir = s.tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    for f in ["main.cf", "master.cf"] {
        std::fs::copy(s.conf.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// pftls with `-c dir` and the sandbox's backup and crypto-policies dirs.
fn run_in(s: &Sandbox, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pftls"))
        .arg("-c")
        .arg(dir)
        .arg("--backup-dir")
        .arg(&s.backups)
        .arg("--crypto-policies-dir")
        .arg(&s.crypto)
        .args(args)
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .env_remove("PFTLS_POLICY_PATH")
        .output()
        .unwrap()
}

fn json_in(s: &Sandbox, dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let out = run_in(s, dir, &a);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn read(dir: &Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Pin queue_directory to a directory without a master.pid (no running Postfix).
fn not_running(dir: &Path) {
    let q = dir.join("queue");
    std::fs::create_dir_all(&q).unwrap();
    let mut m = read(dir, "main.cf");
    m.extend_from_slice(format!("queue_directory = {}\n", q.display()).as_bytes());
    std::fs::write(dir.join("main.cf"), m).unwrap();
}

#[test]
fn another_instances_snapshot_is_refused_naming_both_dirs() {
    let s = Sandbox::new(OVER);
    let b = second(&s, "postfix-b");
    let b_orig = (read(&b, "main.cf"), read(&b, "master.cf"));
    let (code, v) = s.json(&["apply", "-p", POLICY]);
    assert_eq!(code, 0, "{v}");
    let id = v["backup"]["id"].as_str().unwrap().to_string();

    // Without --to: B has no snapshot of its own; A's is not picked.
    let (code, e) = json_in(&s, &b, &["rollback"]);
    assert_eq!(code, 1, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("nothing to roll back"), "{msg}");
    assert!(
        msg.contains(&s.conf.canonicalize().unwrap().display().to_string()),
        "{msg}"
    );

    // --to A's id, real and dry run: refused, both dirs named, nothing written.
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["rollback", "--to", &id];
        args.extend_from_slice(extra);
        let (code, e) = json_in(&s, &b, &args);
        assert_eq!(code, 1, "{e}");
        assert_eq!(e["error"]["kind"], "other_instance", "{e}");
        let msg = e["error"]["message"].as_str().unwrap();
        for d in [&s.conf, &b] {
            let d = d.canonicalize().unwrap().display().to_string();
            assert!(msg.contains(&d), "{msg} names {d}");
        }
    }
    assert_eq!((read(&b, "main.cf"), read(&b, "master.cf")), b_orig);
    assert_eq!(
        s.snapshots(),
        vec![id.clone()],
        "no snapshot taken by the refusals"
    );
    // backups show of A's snapshot from B is refused too.
    let o = run_in(&s, &b, &["backups", "show", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("belongs to"), "{}", stderr(&o));
}

#[test]
fn backups_list_show_config_dir_and_prune_keeps_other_instances() {
    let s = Sandbox::new(OVER);
    let b = second(&s, "postfix-b");
    // Two snapshots of A (apply, rollback), one of B.
    assert_eq!(s.json(&["apply", "-p", POLICY]).0, 0);
    assert_eq!(s.json(&["rollback"]).0, 0);
    let (code, vb) = json_in(&s, &b, &["apply", "-p", POLICY]);
    assert_eq!(code, 0, "{vb}");
    let b_id = vb["backup"]["id"].as_str().unwrap().to_string();

    let a_dir = s.conf.canonicalize().unwrap().display().to_string();
    let b_dir = b.canonicalize().unwrap().display().to_string();
    let (_, l) = s.json(&["backups", "list"]);
    let dirs: Vec<&str> = l["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["manifest"]["config_dir"].as_str().unwrap())
        .collect();
    assert_eq!(dirs, vec![a_dir.as_str(), a_dir.as_str()], "{l}");
    let (_, all) = s.json(&["backups", "list", "--all"]);
    assert_eq!(all["backups"].as_array().unwrap().len(), 3, "{all}");
    let text = stdout(&s.run(&["backups", "list"]));
    assert!(text.contains(&a_dir) && !text.contains(&b_dir), "{text}");

    // prune --keep 1 on A removes A's older snapshot only.
    let (code, p) = s.json(&["backups", "prune", "--keep", "1"]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["removed"].as_array().unwrap().len(), 1, "{p}");
    assert!(
        s.snapshots().contains(&b_id),
        "B's snapshot survived: {:?}",
        s.snapshots()
    );
    assert_eq!(s.snapshots().len(), 2);
}

#[test]
fn undo_hint_replays_with_the_options_of_the_apply() {
    let s = Sandbox::new(OVER);
    let orig = (s.main_cf(), s.master_cf());
    let postconf_before = common::postconf(&s.conf, "-n");
    let o = s.run(&[
        "apply",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(s.main_cf(), orig.0);
    let out = stdout(&o);
    let hint = out
        .lines()
        .find_map(|l| l.strip_prefix("Undo with: "))
        .unwrap_or_else(|| panic!("no undo hint in {out}"));
    let conf = s.conf.canonicalize().unwrap().display().to_string();
    assert!(hint.contains(&format!("-c {conf}")), "{hint}");
    assert!(hint.contains("--backup-dir"), "{hint}");
    assert!(hint.contains("--reload --reload-command true"), "{hint}");
    // Run the printed command as a user would (from another directory, environment clean).
    let bin = env!("CARGO_BIN_EXE_pftls");
    let cmd = hint.replacen("pftls", bin, 1);
    let r = Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .current_dir("/")
        .env_remove("PFTLS_CONFIG_DIR")
        .env_remove("PFTLS_BACKUP_DIR")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{cmd}: {}", stderr(&r));
    assert!(stdout(&r).contains("Reload `true`: ok"), "{}", stdout(&r));
    assert_eq!((s.main_cf(), s.master_cf()), orig, "original bytes back");
    assert_eq!(common::postconf(&s.conf, "-n"), postconf_before);
}

#[test]
fn without_reload_apply_and_rollback_say_the_change_is_not_active() {
    let s = Sandbox::new(OVER);
    let conf = s.conf.canonicalize().unwrap().display().to_string();
    let want = format!("postfix -c {conf} reload");
    let o = s.run(&["apply", "-p", POLICY]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("Not active yet") && last.ends_with(&want),
        "{out}"
    );
    let (code, v) = s.json(&["rollback"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["active"], false);
    assert_eq!(v["activate"], want.as_str());
    // With --reload the notice is gone.
    let (_, v) = s.json(&[
        "apply",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        "true",
    ]);
    assert_eq!(v["active"], true, "{v}");
}

#[test]
fn reload_of_a_stopped_instance_says_so_and_verify_refuses_before_writing() {
    let s = Sandbox::new(OVER);
    not_running(&s.conf);
    let orig = s.main_cf();
    let (code, e) = s.json(&["apply", "-p", POLICY, "--reload", "--verify"]);
    assert_eq!(code, 1, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not running"),
        "{e}"
    );
    assert_eq!(s.main_cf(), orig, "nothing written");
    assert!(s.snapshots().is_empty());
    let o = s.run(&["apply", "-p", POLICY, "--reload"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Postfix is not running for"), "{out}");
    assert!(out.contains("master.pid does not exist"), "{out}");
    assert!(
        out.contains(&format!(
            "postfix -c {} start",
            s.conf.canonicalize().unwrap().display()
        )),
        "{out}"
    );
    assert_ne!(s.main_cf(), orig);
    // rollback --reload of the stopped instance: restored, and it says nothing was reloaded.
    let (code, v) = s.json(&["rollback", "--reload"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["reload"].is_null(), "no reload ran: {v}");
    assert_eq!(v["active"], false);
    assert!(v["activate"].as_str().unwrap().ends_with(" start"), "{v}");
    assert_eq!(s.main_cf(), orig);
}

#[test]
fn failed_reload_shows_the_commands_output() {
    let s = Sandbox::new(OVER);
    let orig = s.main_cf();
    let script = s.tmp.path().join("reload.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'postfix/postfix-script: fatal: the Postfix mail system is not running' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = s.run(&[
        "apply",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        script.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("fatal: the Postfix mail system is not running"),
        "{err}"
    );
    assert!(err.contains("restored"), "{err}");
    assert_eq!(s.main_cf(), orig);
}

#[test]
fn drift_is_refused_with_its_diff_and_force_restores() {
    let s = Sandbox::new(OVER);
    let orig = (s.main_cf(), s.master_cf());
    let postconf_before = common::postconf(&s.conf, "-n");
    assert_eq!(s.json(&["apply", "-p", POLICY]).0, 0);
    let mut m = s.main_cf();
    m.extend_from_slice(b"relayhost = [relay.example.net]:587\n");
    std::fs::write(s.conf.join("main.cf"), &m).unwrap();
    let snaps = s.snapshots();

    for dry in [false, true] {
        let mut args = vec!["rollback"];
        if dry {
            args.push("--dry-run");
        }
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(1), "dry={dry}");
        let out = stdout(&o);
        assert!(
            out.contains("+relayhost = [relay.example.net]:587"),
            "{out}"
        );
        assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
        let (code, v) = s.json(&args);
        assert_eq!(code, 1);
        assert_eq!(v["error"]["kind"], "drift", "{v}");
        assert!(
            v["drift"][0]["diff"]
                .as_str()
                .unwrap()
                .contains("+relayhost"),
            "{v}"
        );
        assert_eq!(s.main_cf(), m, "nothing written (dry={dry})");
        assert_eq!(s.snapshots(), snaps);
    }
    let (code, v) = s.json(&["rollback", "--force"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((s.main_cf(), s.master_cf()), orig);
    assert_eq!(common::postconf(&s.conf, "-n"), postconf_before);
}

/// A postmulti-style pair: the sandbox is the default instance, `postfix-out` is listed in
/// its multi_instance_directories.
fn postmulti_pair(s: &Sandbox) -> PathBuf {
    let out = second(s, "postfix-out");
    let mut m = read(&out, "main.cf");
    m.extend_from_slice(b"multi_instance_name = postfix-out\nmulti_instance_enable = yes\n");
    std::fs::write(out.join("main.cf"), m).unwrap();
    let mut d = s.main_cf();
    d.extend_from_slice(
        format!(
            "multi_instance_wrapper = ${{command_directory}}/postmulti -p --\nmulti_instance_directories = {}\n",
            out.display()
        )
        .as_bytes(),
    );
    std::fs::write(s.conf.join("main.cf"), d).unwrap();
    out
}

#[test]
fn all_instances_apply_and_rollback_each_instance() {
    let s = Sandbox::new(OVER);
    let out = postmulti_pair(&s);
    let orig_a = (s.main_cf(), s.master_cf());
    let orig_b = (read(&out, "main.cf"), read(&out, "master.cf"));

    let (code, v) = s.json(&["show", "--all-instances"]);
    assert_eq!(code, 0, "{v}");
    let inst = v["instances"].as_array().unwrap();
    assert_eq!(inst.len(), 2, "{v}");
    assert_eq!(inst[1]["name"], "postfix-out");
    assert!(inst[1]["result"].is_object(), "{v}");

    let (code, v) = s.json(&["apply", "--all-instances", "-p", POLICY]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true);
    let inst = v["instances"].as_array().unwrap();
    assert_eq!(inst.len(), 2, "{v}");
    for i in inst {
        assert_eq!(i["result"]["changed"], true, "{i}");
        assert!(i["result"]["backup"]["id"].is_string(), "{i}");
    }
    assert_ne!(s.main_cf(), orig_a.0);
    assert_ne!(read(&out, "main.cf"), orig_b.0);
    // One snapshot per instance, each bound to its own dir.
    let (_, all) = s.json(&["backups", "list", "--all"]);
    let mut dirs: Vec<String> = all["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["manifest"]["config_dir"].as_str().unwrap().to_string())
        .collect();
    dirs.sort();
    let mut want = vec![
        s.conf.canonicalize().unwrap().display().to_string(),
        out.canonicalize().unwrap().display().to_string(),
    ];
    want.sort();
    assert_eq!(dirs, want);

    // A hand edit in the second instance: rollback --all-instances refuses before writing
    // anything, in either instance.
    let applied_a = s.main_cf();
    let mut edited = read(&out, "main.cf");
    edited.extend_from_slice(b"relayhost = [relay.example.net]\n");
    std::fs::write(out.join("main.cf"), &edited).unwrap();
    let (code, v) = s.json(&["rollback", "--all-instances"]);
    assert_eq!(code, 1, "{}", v["error"]);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no instance was changed"),
        "{}",
        v["error"]
    );
    assert_eq!(s.main_cf(), applied_a);
    assert_eq!(read(&out, "main.cf"), edited);

    // --force: both restored byte for byte.
    let (code, v) = s.json(&["rollback", "--all-instances", "--force"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((s.main_cf(), s.master_cf()), orig_a);
    assert_eq!((read(&out, "main.cf"), read(&out, "master.cf")), orig_b);
    assert_eq!(
        common::postconf(&out, "-n"),
        {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("main.cf"), &orig_b.0).unwrap();
            std::fs::write(tmp.path().join("master.cf"), &orig_b.1).unwrap();
            common::postconf(tmp.path(), "-n")
        },
        "postconf sees the original settings"
    );

    // plan and doctor, grouped; plan writes nothing.
    let (code, v) = s.json(&["plan", "--all-instances", "-p", POLICY, "--no-impact"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["changed"], true);
    assert_eq!(v["instances"].as_array().unwrap().len(), 2);
    assert_eq!(v["instances"][1]["result"]["changed"], true, "{v}");
    let (_, v) = s.json(&["doctor", "--all-instances"]);
    for i in v["instances"].as_array().unwrap() {
        assert_eq!(i["step"], "doctor");
        assert!(i["result"]["findings"].is_array(), "{i}");
    }
    assert_eq!((s.main_cf(), s.master_cf()), orig_a);
}

#[test]
fn all_instances_failure_in_one_instance_leaves_the_others_as_they_were() {
    // Phase 1: the second instance cannot be planned: nothing is written anywhere.
    let s = Sandbox::new(OVER);
    let out = postmulti_pair(&s);
    let orig_a = s.main_cf();
    let mut broken = read(&out, "master.cf");
    broken.extend_from_slice(b"broken inet n\n");
    std::fs::write(out.join("master.cf"), &broken).unwrap();
    let (code, v) = s.json(&["apply", "--all-instances", "-p", POLICY]);
    assert_eq!(code, 1, "{}", v["summary"]);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no instance was changed"),
        "{v}"
    );
    assert_eq!(s.main_cf(), orig_a);
    assert_eq!(read(&out, "master.cf"), broken);
    assert!(s.snapshots().is_empty());

    // Phase 2: the second instance's reload fails: it restores itself, and the first
    // (already changed and reloaded) is rolled back and reloaded again.
    let s = Sandbox::new(OVER);
    let out = postmulti_pair(&s);
    let orig_a = (s.main_cf(), s.master_cf());
    let orig_b = (read(&out, "main.cf"), read(&out, "master.cf"));
    let count = s.tmp.path().join("reloads");
    let script = s.tmp.path().join("reload.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho x >> {c}\nn=$(wc -l < {c})\n[ \"$n\" -eq 2 ] && {{ echo 'fatal: second reload fails' >&2; exit 1; }}\nexit 0\n",
            c = count.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = s.run(&[
        "apply",
        "--all-instances",
        "-p",
        POLICY,
        "--reload",
        "--reload-command",
        script.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("then restored from snapshot"), "{text}");
    assert!(stderr(&o).contains("second reload fails"), "{}", stderr(&o));
    assert_eq!(
        (s.main_cf(), s.master_cf()),
        orig_a,
        "first instance restored"
    );
    assert_eq!((read(&out, "main.cf"), read(&out, "master.cf")), orig_b);
    // Reloads: first apply, second (failed), the undo of the first.
    let n = std::fs::read_to_string(&count).unwrap().lines().count();
    assert_eq!(n, 3);
}

/// A minimal SMTP server on 127.0.0.1 that offers AUTH before STARTTLS and examines the
/// credentials (535), i.e. runs AUTH in plaintext; serves connections until dropped.
struct FakeSmtp {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeSmtp {
    fn start() -> FakeSmtp {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while !flag.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                let Ok((s, _)) = l.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let _ = w.write_all(b"220 fake.example ESMTP\r\n");
                for _ in 0..20 {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-fake.example\r\n250 AUTH PLAIN LOGIN\r\n"
                    } else if cmd.starts_with("AUTH") {
                        b"535 5.7.8 Error: authentication failed\r\n"
                    } else if cmd.starts_with("MAIL") {
                        b"250 2.1.0 Ok\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 2.0.0 Bye\r\n");
                        break;
                    } else {
                        b"502 5.5.2 Error: command not recognized\r\n"
                    };
                    if w.write_all(reply).is_err() {
                        break;
                    }
                }
            }
        });
        FakeSmtp {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn verify_names_plaintext_auth_and_unreachable_listeners() {
    let s = Sandbox::new(OVER);
    let fake = FakeSmtp::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut master = s.master_cf();
    master.extend_from_slice(
        b"submission inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\n",
    );
    std::fs::write(s.conf.join("master.cf"), master).unwrap();
    let mut main = s.main_cf();
    main.extend_from_slice(
        format!(
            "inet_interfaces = loopback-only\nknown_tcp_ports = smtp={closed}, submission={}\n",
            fake.port
        )
        .as_bytes(),
    );
    std::fs::write(s.conf.join("main.cf"), main).unwrap();
    let (code, v) = s.json(&["verify", "--probe-timeout", "3"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["ok"], false);
    let checks = v["checks"].as_array().unwrap();
    let find = |check: &str, listener: &str| {
        checks
            .iter()
            .find(|c| c["check"] == check && c["listener"] == listener)
            .unwrap_or_else(|| panic!("no {check} on {listener}: {v:#}"))
    };
    let auth = find("plaintext-auth", "submission/inet");
    assert_eq!(auth["ok"], false, "{auth}");
    assert!(auth["detail"].as_str().unwrap().contains("535"), "{auth}");
    assert_eq!(auth["address"], format!("127.0.0.1:{}", fake.port));
    let smtp = find("connect", "smtp/inet");
    assert_eq!(smtp["ok"], false, "{smtp}");
    assert_eq!(smtp["address"], format!("127.0.0.1:{closed}"));
    // The text form names each failing check.
    let o = s.run(&["verify", "--probe-timeout", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("FAIL plaintext-auth on submission/inet"),
        "{out}"
    );
    assert!(out.contains("FAIL connect on smtp/inet"), "{out}");
}
