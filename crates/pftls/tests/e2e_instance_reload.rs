//! Real Postfix (a private instance in a temp dir on 127.0.0.1): with `-c DIR --reload` and no
//! `--reload-command`, pftls reloads that instance (`postfix -c DIR reload`, seen in the
//! instance's own log), and when the instance is not running a failed reload says so (from
//! its `pid/master.pid`) and restores the files.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/postfix.rs"]
mod postfix;
use postfix::{free_port, run, run_ok, scratch};

/// Root, postfix and openssl are needed; missing under CI=true is a failure, never a skip.
fn can_run() -> bool {
    postfix::can_run(
        "e2e_instance_reload",
        &["postfix", "postconf", "openssl", "timeout"],
    )
}

struct Instance {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
    port: u16,
    started: bool,
}

impl Instance {
    fn create() -> Instance {
        let postfix::Scratch {
            tmp, root, conf, ..
        } = scratch("pftls-inst-", Some("centos-stream-10/over-hardened"));
        let (cert, key) = (conf.join("cert.pem"), conf.join("key.pem"));
        let port = free_port(&[]);
        let r = root.display();
        let settings: Vec<String> = postfix::base_settings(
            &format!("{r}/queue"),
            &format!("{r}/data"),
        )
        .into_iter()
        .chain([
            "myhostname=pftls-inst.localdomain".into(),
            "mydestination=localhost".into(),
            "default_transport=discard".into(),
            "local_transport=discard".into(),
            "alias_maps=".into(),
            "alias_database=".into(),
            "local_recipient_maps=".into(),
            format!("maillog_file={r}/maillog"),
            format!("maillog_file_prefixes={r}"),
            format!("known_tcp_ports=lmtp=24, smtp={port}, smtps=submissions=465, submission=587"),
            format!("smtpd_tls_cert_file={}", cert.display()),
            format!("smtpd_tls_key_file={}", key.display()),
        ])
        .collect();
        let mut argv = vec!["postconf", "-c", conf.to_str().unwrap(), "-e"];
        argv.extend(settings.iter().map(String::as_str));
        run_ok(&argv);
        Instance {
            _tmp: tmp,
            root,
            conf,
            port,
            started: false,
        }
    }

    fn start(&mut self) {
        self.started = true;
        run_ok(&["postfix", "-c", self.conf.to_str().unwrap(), "start"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "instance does not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if self.started {
            let _ = run(&["postfix", "-c", self.conf.to_str().unwrap(), "stop"]);
            self.started = false;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("maillog")).unwrap_or_default()
    }

    fn pftls(&self, args: &[&str]) -> (i32, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_pftls"))
            .arg("-c")
            .arg(&self.conf)
            .arg("--backup-dir")
            .arg(self.root.join("backups"))
            .args(["--crypto-policies-dir", "/nonexistent", "--format", "json"])
            .args(args)
            .env_remove("PFTLS_CONFIG_DIR")
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn reload_targets_the_instance_and_says_when_it_is_not_running() {
    if !can_run() {
        return;
    }
    let mut inst = Instance::create();
    inst.start();
    let canon = inst.conf.canonicalize().unwrap();
    let before = std::fs::read(inst.conf.join("main.cf")).unwrap();
    let (code, v) = inst.pftls(&["apply", "-p", "inbound-opportunistic", "--reload"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["reload"]["command"],
        format!("postfix -c {} reload", canon.display()),
        "{v}"
    );
    assert_eq!(v["reload"]["ok"], true, "{v}");
    // The instance's own master logged the reload.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !inst.log().contains("reload -- version") {
        assert!(
            Instant::now() < deadline,
            "no reload in the instance log:\n{}",
            inst.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let applied = std::fs::read(inst.conf.join("main.cf")).unwrap();
    assert_ne!(applied, before);

    // Stopped: the rollback's reload fails, the error says Postfix is not running, and
    // the files are as they were before the rollback.
    inst.stop();
    let (code, e) = inst.pftls(&["rollback", "--reload"]);
    assert_eq!(code, 1, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("Postfix is not running for"), "{msg}");
    // postfix-script logs its "not running" only to the log (stderr is no terminal), so the
    // master.pid check is what tells the admin; the command and its status are shown.
    assert!(msg.contains("exit status 1"), "{msg}");
    assert!(msg.contains("pid/master.pid"), "{msg}");
    assert!(msg.contains("previous files were restored"), "{msg}");
    assert_eq!(e["changed"], false, "{e}");
    assert_eq!(std::fs::read(inst.conf.join("main.cf")).unwrap(), applied);
}
