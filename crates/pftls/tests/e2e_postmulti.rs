//! Issue 14 against REAL Postfix (3.7.11 installed): two instances made by postmulti, both
//! configured like the over-hardened example, on 127.0.0.1 and non-standard ports, each with
//! its own config, queue and data directory and its own maillog_file (so each log shows its
//! reloads).
//!
//! postmulti has no -c option: it always edits the primary instance in the compiled-in
//! /etc/postfix. The machine's /etc/postfix is never touched: postmulti runs in a private
//! mount namespace (`unshare -m`) where a private "default instance" directory is
//! bind-mounted over /etc/postfix; pftls and postfix then use that directory with -c.
//!
//! Scenario: probe sees the lock-out (exit 1) → `apply --all-instances --reload` changes and
//! reloads both → `rollback --all-instances --reload` restores both byte for byte → `-c` of
//! the second instance with `--reload` reloads only that one → `apply --reload --verify` of
//! the fix passes → a custom policy forcing `encrypt` on mx fails verify, is restored and
//! reloaded, and swaks delivers again. Both instances are stopped at the end (also on
//! failure). Needs root, postfix, postmulti, swaks, openssl, unshare; with CI=true a missing
//! requirement is a failure, otherwise the test says why and passes.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/postfix.rs"]
mod postfix;
use postfix::{free_port, repo, run, run_ok, set_mode, text};

fn missing_requirement() -> Option<String> {
    if let Some(why) = postfix::missing_requirement(&[
        "postfix",
        "postconf",
        "postmulti",
        "postqueue",
        "swaks",
        "openssl",
        "unshare",
        "mount",
        "timeout",
    ]) {
        return Some(why);
    }
    if !Command::new("id")
        .arg("postfix")
        .output()
        .ok()?
        .status
        .success()
    {
        return Some("no postfix user".into());
    }
    let ns = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status()
        .ok()?;
    if !ns.success() {
        return Some("cannot create a mount namespace (unshare -m)".into());
    }
    None
}

/// Every file under a directory with its sha256 (sorted), and its listing.
fn fingerprint(dir: &Path) -> String {
    let d = dir.to_str().expect("utf-8");
    let o = run_ok(&[
        "sh",
        "-c",
        // -A, not -a: the listing of `..` (/etc) changes whenever anything installs a package.
        &format!("ls -lA {d}; find {d} -type f -exec sha256sum {{}} + | sort"),
    ]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One instance: its directories, port and log.
struct Inst {
    conf: PathBuf,
    log: PathBuf,
    port: u16,
}

impl Inst {
    fn conf_str(&self) -> &str {
        self.conf.to_str().expect("utf-8")
    }
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// master's "reload -- version ..." lines.
    fn reloads(&self) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains("/master[") && l.contains("reload --"))
            .count()
    }
    fn files(&self) -> (Vec<u8>, Vec<u8>) {
        (
            std::fs::read(self.conf.join("main.cf")).expect("main.cf"),
            std::fs::read(self.conf.join("master.cf")).expect("master.cf"),
        )
    }
}

/// Two running instances; both stopped when dropped.
struct Pair {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    default: Inst,
    out: Inst,
    started: Vec<PathBuf>,
}

impl Drop for Pair {
    fn drop(&mut self) {
        for c in &self.started {
            let o = run(&["postfix", "-c", c.to_str().unwrap_or(""), "stop"]);
            if !o.status.success() {
                eprintln!("postfix stop {}: {}", c.display(), text(&o));
            }
        }
    }
}

/// Settings shared by both instances (the installed Postfix's program dirs, loopback,
/// discard delivery), plus the instance's own directories, port and log.
fn instance_settings(
    root: &Path,
    name: &str,
    (port, submission): (u16, u16),
    cert: &Path,
    key: &Path,
) -> Vec<String> {
    let r = root.display();
    postfix::base_settings(&format!("{r}/{name}-queue"), &format!("{r}/{name}-data"))
        .into_iter()
        .chain([
            format!("myhostname={name}.pftls-e2e.localdomain"),
            "mydestination=localhost, $myhostname".into(),
            "mynetworks=127.0.0.0/8".into(),
            "default_transport=discard".into(),
            "local_transport=discard".into(),
            "alias_maps=".into(),
            "alias_database=".into(),
            "local_recipient_maps=".into(),
            format!("maillog_file={r}/{name}.log"),
            format!("maillog_file_prefixes={r}"),
            format!(
            "known_tcp_ports=lmtp=24, smtp={port}, smtps=submissions=465, submission={submission}"
        ),
            format!("smtpd_tls_cert_file={}", cert.display()),
            format!("smtpd_tls_key_file={}", key.display()),
        ])
        .collect()
}

fn postconf_e(conf: &Path, settings: &[String]) {
    let mut argv: Vec<&str> = vec!["postconf", "-c", conf.to_str().expect("utf-8"), "-e"];
    argv.extend(settings.iter().map(String::as_str));
    run_ok(&argv);
}

impl Pair {
    fn create() -> Pair {
        let tmp = tempfile::Builder::new()
            .prefix("pftls-postmulti-")
            .tempdir()
            .expect("tempdir");
        let root = tmp.path().to_path_buf();
        set_mode(&root, 0o755);
        let example = repo().join("examples/centos-stream-10/over-hardened");
        let (cert, key) = (root.join("cert.pem"), root.join("key.pem"));
        run_ok(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "2",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        set_mode(&key, 0o600);
        let pa = free_port(&[]);
        let pb = free_port(&[pa]);
        // The default instance also gets a submission listener (mandatory TLS, AUTH only
        // after STARTTLS), so that verify's plaintext-AUTH check meets a real smtpd.
        let ps = free_port(&[pa, pb]);
        let mut insts = Vec::new();
        for (name, port) in [("default", pa), ("postfix-out", pb)] {
            let conf = root.join(name);
            std::fs::create_dir(&conf).expect("mkdir conf");
            if name == "default" {
                // Inside the namespace this directory is /etc/postfix, which is also the
                // installed Postfix's meta_directory (postfix-files, *.proto): copies of those.
                run_ok(&["cp", "-a", "/etc/postfix/.", conf.to_str().unwrap()]);
            }
            for f in ["main.cf", "master.cf"] {
                std::fs::copy(example.join(f), conf.join(f)).expect("copy example");
            }
            let q = root.join(format!("{name}-queue"));
            std::fs::create_dir(&q).expect("mkdir queue");
            set_mode(&q, 0o755);
            if name == "default" {
                let mut m = std::fs::read(conf.join("master.cf")).expect("master.cf");
                m.extend_from_slice(
                    b"submission inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_tls_auth_only=yes\n",
                );
                std::fs::write(conf.join("master.cf"), m).expect("write master.cf");
            }
            postconf_e(
                &conf,
                &instance_settings(&root, name, (port, ps), &cert, &key),
            );
            insts.push(Inst {
                log: root.join(format!("{name}.log")),
                conf,
                port,
            });
        }
        let out = insts.pop().expect("two");
        let default = insts.pop().expect("two");

        // postmulti edits "the default instance" = /etc/postfix: give it ours, privately.
        let etc_before = fingerprint(Path::new("/etc/postfix"));
        let script = format!(
            "set -e\nmount --bind {d} /etc/postfix\npostmulti -e init\npostmulti -I postfix-out -e create config_directory={o} queue_directory={r}/postfix-out-queue data_directory={r}/postfix-out-data\npostmulti -i postfix-out -e enable\n",
            d = default.conf.display(),
            o = out.conf.display(),
            r = root.display()
        );
        run_ok(&[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ]);
        assert_eq!(
            fingerprint(Path::new("/etc/postfix")),
            etc_before,
            "the machine's /etc/postfix must not change"
        );
        let dirs = run_ok(&[
            "postconf",
            "-c",
            default.conf_str(),
            "-h",
            "multi_instance_directories",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&dirs.stdout).trim(),
            out.conf.display().to_string(),
            "postmulti registered the second instance"
        );
        let mut pair = Pair {
            _tmp: tmp,
            root,
            default,
            out,
            started: Vec::new(),
        };
        for i in [0, 1] {
            let conf = pair.inst(i).conf.clone();
            let o = run(&["postfix", "-c", conf.to_str().unwrap(), "start"]);
            pair.started.push(conf);
            assert!(
                o.status.success(),
                "postfix start: {}\n{}",
                text(&o),
                pair.inst(i).log_text()
            );
        }
        for i in [0, 1] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while TcpStream::connect(("127.0.0.1", pair.inst(i).port)).is_err() {
                assert!(Instant::now() < deadline, "{}", pair.inst(i).log_text());
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        pair
    }

    fn inst(&self, i: usize) -> &Inst {
        if i == 0 {
            &self.default
        } else {
            &self.out
        }
    }

    /// pftls -c CONF with this pair's backup dir, JSON.
    fn pftls(&self, conf: &Path, args: &[&str]) -> (i32, Value, String) {
        let out = Command::new("timeout")
            .arg("300")
            .arg(env!("CARGO_BIN_EXE_pftls"))
            .arg("-c")
            .arg(conf)
            .arg("--backup-dir")
            .arg(self.root.join("backups"))
            .arg("--crypto-policies-dir")
            .arg(self.root.join("no-crypto-policies"))
            .arg("--format")
            .arg("json")
            .args(args)
            .env_remove("PFTLS_CONFIG_DIR")
            .env_remove("PFTLS_BACKUP_DIR")
            .env_remove("PFTLS_POLICY_PATH")
            .output()
            .expect("run pftls");
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("pftls {args:?}: not JSON ({e}): {}", text(&out)));
        (
            out.status.code().unwrap_or(-1),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Waits (bounded) until `probe --mx` of instance i exits `want` (old smtpd processes
    /// finish after a reload).
    fn wait_probe(&self, i: usize, want: i32) {
        let target = format!("127.0.0.1:{}", self.inst(i).port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (c, v, _) = self.pftls(
                &self.inst(i).conf,
                &[
                    "probe",
                    &target,
                    "--mx",
                    "--timeout",
                    "5",
                    "--client",
                    "openssl_350",
                ],
            );
            if c == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "probe of {target} never exited {want}: {v:#}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits (bounded) for instance i's log to show `n` reloads.
    fn wait_reloads(&self, i: usize, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.inst(i).reloads() < n {
            assert!(
                Instant::now() < deadline,
                "instance {} logged {} reloads, want {n}:\n{}",
                i,
                self.inst(i).reloads(),
                self.inst(i).log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn postmulti_instances_apply_rollback_reload_and_verify() {
    if let Some(why) = missing_requirement() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("e2e_postmulti cannot run: {why}");
        }
        eprintln!("SKIPPED e2e_postmulti: {why}");
        return;
    }
    let pair = Pair::create();
    let (d, o) = (&pair.default, &pair.out);
    let orig = [d.files(), o.files()];

    // 0. Over-hardened: plaintext senders get 530 on both mx listeners: probe exits 1.
    pair.wait_probe(0, 1);
    pair.wait_probe(1, 1);

    // 1. apply --all-instances --reload: both changed and reloaded.
    let (code, v, err) = pair.pftls(
        &d.conf,
        &[
            "apply",
            "--all-instances",
            "-p",
            "inbound-opportunistic",
            "--reload",
        ],
    );
    assert_eq!(code, 0, "{v:#}\n{err}");
    let inst = v["instances"].as_array().expect("instances");
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[1]["name"], "postfix-out");
    for (i, part) in inst.iter().enumerate() {
        assert_eq!(part["result"]["changed"], true, "{part:#}");
        assert_eq!(part["result"]["reload"]["ok"], true, "{part:#}");
        let cmd = part["result"]["reload"]["command"].as_str().unwrap();
        assert_eq!(
            cmd,
            format!("postfix -c {} reload", pair.inst(i).conf.display()),
            "each instance reloads itself"
        );
    }
    pair.wait_reloads(0, 1);
    pair.wait_reloads(1, 1);
    assert_ne!(d.files(), orig[0]);
    assert_ne!(o.files(), orig[1]);
    pair.wait_probe(0, 0);
    pair.wait_probe(1, 0);

    // 2. rollback --all-instances --reload: both byte for byte, both reloaded again.
    let (code, v, err) = pair.pftls(&d.conf, &["rollback", "--all-instances", "--reload"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(d.files(), orig[0], "default instance byte for byte");
    assert_eq!(o.files(), orig[1], "postfix-out byte for byte");
    pair.wait_reloads(0, 2);
    pair.wait_reloads(1, 2);
    pair.wait_probe(0, 1);

    // 3. -c of the second instance with --reload reloads that one, not the default.
    let (code, v, err) = pair.pftls(
        &o.conf,
        &["apply", "-p", "inbound-opportunistic", "--reload"],
    );
    assert_eq!(code, 0, "{v:#}\n{err}");
    pair.wait_reloads(1, 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(d.reloads(), 2, "the default instance was not reloaded");
    assert_eq!(d.files(), orig[0]);

    // 4. apply --reload --verify of the fix on the default instance: every check passes.
    let (code, v, err) = pair.pftls(
        &d.conf,
        &[
            "apply",
            "-p",
            "inbound-opportunistic",
            "--reload",
            "--verify",
        ],
    );
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["verify"]["ok"], true, "{:#}", v["verify"]);
    let checks: Vec<&str> = v["verify"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for c in [
        "connect",
        "modern-tls",
        "plaintext-mail",
        "plaintext-auth",
        "queue",
    ] {
        assert!(checks.contains(&c), "{c} checked: {checks:?}");
    }
    let auth = v["verify"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "plaintext-auth")
        .unwrap();
    assert_eq!(auth["listener"], "submission/inet", "{auth}");
    assert!(
        auth["detail"].as_str().unwrap().contains("530"),
        "smtpd answers 530 to AUTH before STARTTLS: {auth}"
    );
    let fixed = d.files();
    let reloads = d.reloads();

    // 5. A custom policy forcing encrypt on mx fails verify: restored, reloaded, exit 1.
    let policy = pair.root.join("force-encrypt.yaml");
    std::fs::write(
        &policy,
        "name: force-encrypt\ndescription: require TLS on port 25 (breaks plaintext senders)\nmain:\n  smtpd_tls_security_level: encrypt\n",
    )
    .expect("write policy");
    let (code, v, err) = pair.pftls(
        &d.conf,
        &[
            "apply",
            "-p",
            policy.to_str().unwrap(),
            "--reload",
            "--verify",
            "--verify-timeout",
            "6",
        ],
    );
    assert_eq!(code, 1, "{v:#}\n{err}");
    let msg = v["error"]["message"].as_str().unwrap_or("");
    assert!(msg.contains("plaintext-mail"), "failing check named: {msg}");
    assert!(msg.contains("restored"), "{msg}");
    assert_eq!(v["rolled_back"], true);
    assert_eq!(d.files(), fixed, "restored byte for byte");
    pair.wait_reloads(0, reloads + 2);
    pair.wait_probe(0, 0);
    let swaks = run(&[
        "swaks",
        "--server",
        &format!("127.0.0.1:{}", d.port),
        "--from",
        "sender@example.org",
        "--to",
        "root@localhost",
        "--header",
        "Subject: pftls postmulti e2e",
        "--timeout",
        "20",
    ]);
    assert!(
        swaks.status.success(),
        "swaks after the restore: {}",
        text(&swaks)
    );

    // 6. Standalone verify of the second instance (fixed in step 3) passes too.
    let (code, v, err) = pair.pftls(&o.conf, &["verify", "--retry-for", "10"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    println!(
        "reloads logged: default {}, postfix-out {}",
        d.reloads(),
        o.reloads()
    );
}
