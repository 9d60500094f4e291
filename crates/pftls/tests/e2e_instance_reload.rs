//! Real Postfix (a private instance in a temp dir on 127.0.0.1): with `-c DIR --reload` and no
//! `--reload-command`, pftls reloads that instance (`postfix -c DIR reload`, seen in the
//! instance's own log), and when the instance is not running a failed reload says so (from
//! its `pid/master.pid`) and restores the files.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn run(argv: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .args(argv)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"))
}

fn run_ok(argv: &[&str]) -> Output {
    let o = run(argv);
    assert!(
        o.status.success(),
        "{argv:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Root, postfix and openssl are needed; missing under CI=true is a failure, never a skip.
fn can_run() -> bool {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = ["postfix", "postconf", "openssl", "timeout"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t} >/dev/null")])
                .status()
                .is_ok_and(|s| s.success())
        });
    let ok = root && tools;
    if !ok {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "needs root, postfix and openssl (CI=true: failure, not a skip)"
        );
        eprintln!("NOTICE: e2e_instance_reload skipped: needs root, postfix and openssl");
    }
    ok
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
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
        let tmp = tempfile::Builder::new()
            .prefix("pftls-inst-")
            .tempdir()
            .unwrap();
        let root = tmp.path().to_path_buf();
        set_mode(&root, 0o755);
        let conf = root.join("conf");
        std::fs::create_dir(&conf).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/centos-stream-10/over-hardened");
        for f in ["main.cf", "master.cf"] {
            std::fs::copy(example.join(f), conf.join(f)).unwrap();
        }
        let (cert, key) = (conf.join("cert.pem"), conf.join("key.pem"));
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
        std::fs::create_dir(root.join("queue")).unwrap();
        set_mode(&root.join("queue"), 0o755);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = run_ok(&[
            "postconf",
            "-d",
            "-h",
            "daemon_directory",
            "shlib_directory",
            "meta_directory",
            "command_directory",
        ]);
        let d: Vec<String> = String::from_utf8_lossy(&d.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let r = root.display();
        let settings = [
            format!("queue_directory={r}/queue"),
            format!("data_directory={r}/data"),
            format!("daemon_directory={}", d[0]),
            format!("shlib_directory={}", d[1]),
            format!("meta_directory={}", d[2]),
            format!("command_directory={}", d[3]),
            "mail_owner=postfix".into(),
            "setgid_group=postdrop".into(),
            "compatibility_level=3.6".into(),
            "inet_interfaces=127.0.0.1".into(),
            "inet_protocols=ipv4".into(),
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
        ];
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
