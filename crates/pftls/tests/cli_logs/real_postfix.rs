//! `pftls logs` on lines written by a real Postfix (the installed 3.7.11) to its own
//! `maillog_file`: a throw-away instance on 127.0.0.1 (own config, queue and data
//! directories) with postscreen in front of smtpd on one port, a submission service (its own
//! `syslog_name`, TLS required) on another, `smtpd_tls_loglevel = 1`; the test makes known
//! sessions with swaks and `openssl s_client` and checks the counts. Needs root, postfix,
//! swaks, openssl: without them the test says so and passes, except with `CI=true`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../support/postfix.rs"]
mod postfix;
use postfix::{run, run_ok, scratch};

fn missing_requirement() -> Option<String> {
    postfix::missing_requirement(&["postfix", "postconf", "swaks", "openssl", "timeout"])
}

fn free_port() -> u16 {
    postfix::free_port(&[])
}

/// A running instance, stopped when dropped (also on panic).
struct Instance {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
}

impl Instance {
    fn start(smtp: u16, submission: u16) -> Instance {
        let postfix::Scratch {
            tmp, root, conf, ..
        } = scratch("pftls-logs-", None);
        let (cert, key) = (conf.join("cert.pem"), conf.join("key.pem"));
        std::fs::write(conf.join("main.cf"), "").unwrap();
        let master = format!(
            "127.0.0.1:{smtp} inet n - n - 1 postscreen\n\
             smtpd pass - - n - - smtpd\n\
             tlsproxy unix - - n - 0 tlsproxy\n\
             dnsblog unix - - n - 0 dnsblog\n\
             127.0.0.1:{submission} inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n  -o smtpd_tls_security_level=encrypt\n\
             pickup unix n - n 60 1 pickup\n\
             cleanup unix n - n - 0 cleanup\n\
             qmgr unix n - n 300 1 qmgr\n\
             tlsmgr unix - - n 1000? 1 tlsmgr\n\
             rewrite unix - - n - - trivial-rewrite\n\
             bounce unix - - n - 0 bounce\n\
             defer unix - - n - 0 bounce\n\
             trace unix - - n - 0 bounce\n\
             verify unix - - n - 1 verify\n\
             flush unix n - n 1000? 0 flush\n\
             proxymap unix - - n - - proxymap\n\
             smtp unix - - n - - smtp\n\
             showq unix n - n - - showq\n\
             error unix - - n - - error\n\
             retry unix - - n - - error\n\
             discard unix - - n - - discard\n\
             anvil unix - - n - 1 anvil\n\
             scache unix - - n - 1 scache\n\
             postlog unix-dgram n - n - 1 postlogd\n"
        );
        std::fs::write(conf.join("master.cf"), master).unwrap();
        let r = root.display();
        let mut argv: Vec<String> = vec![
            "postconf".into(),
            "-c".into(),
            conf.display().to_string(),
            "-e".into(),
        ];
        argv.extend(postfix::base_settings(
            &format!("{r}/queue"),
            &format!("{r}/data"),
        ));
        argv.extend([
            "myhostname=pftls-logs.localdomain".into(),
            "mydestination=localhost, $myhostname".into(),
            "mynetworks=127.0.0.0/8".into(),
            "default_transport=discard".into(),
            "local_transport=discard".into(),
            "alias_maps=".into(),
            "alias_database=".into(),
            "local_recipient_maps=".into(),
            format!("maillog_file={r}/maillog"),
            format!("maillog_file_prefixes={r}"),
            "postscreen_access_list=permit_mynetworks".into(),
            "smtpd_tls_loglevel=1".into(),
            "smtpd_tls_security_level=may".into(),
            "smtpd_tls_protocols=>=TLSv1.2".into(),
            "smtpd_tls_mandatory_protocols=>=TLSv1.2".into(),
            format!("smtpd_tls_cert_file={}", cert.display()),
            format!("smtpd_tls_key_file={}", key.display()),
        ]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        run_ok(&argv);
        let inst = Instance {
            _tmp: tmp,
            root,
            conf,
        };
        let o = run(&["postfix", "-c", inst.conf.to_str().unwrap(), "start"]);
        assert!(o.status.success(), "postfix start: {o:?}\n{}", inst.log());
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", smtp)).is_err()
            || TcpStream::connect(("127.0.0.1", submission)).is_err()
        {
            assert!(Instant::now() < deadline, "not listening\n{}", inst.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        inst
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("maillog")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = run(&[
            "postfix",
            "-c",
            self.conf.to_str().unwrap_or("/nonexistent"),
            "stop",
        ]);
    }
}

fn swaks(port: u16, tls: bool) -> Output {
    let p = port.to_string();
    let mut a = vec![
        "swaks",
        "--server",
        "127.0.0.1",
        "--port",
        &p,
        "--from",
        "a@example.org",
        "--to",
        "user@localhost",
        "--timeout",
        "20",
    ];
    if tls {
        a.push("--tls");
    }
    run(&a)
}

/// A STARTTLS handshake the server refuses (the client offers only `args`).
fn refused_handshake(port: u16, args: &[&str]) {
    let target = format!("127.0.0.1:{port}");
    let mut a = vec![
        "openssl",
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        &target,
    ];
    a.extend_from_slice(args);
    let o = run(&a);
    assert!(!o.status.success(), "the handshake must fail: {args:?}");
}

#[test]
fn counts_on_a_real_postfix_log() {
    if let Some(why) = missing_requirement() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let (smtp, submission) = (free_port(), free_port());
    let pf = Instance::start(smtp, submission);
    // 3 messages over STARTTLS through postscreen → smtpd.
    for _ in 0..3 {
        let o = swaks(smtp, true);
        assert!(
            o.status.success(),
            "swaks: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // 2 handshakes with a protocol the server refuses, 1 with a cipher it does not have.
    for _ in 0..2 {
        refused_handshake(smtp, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    }
    refused_handshake(smtp, &["-tls1_2", "-cipher", "NULL-SHA256@SECLEVEL=0"]);
    // Submission (TLS required): 2 plaintext attempts refused with 530, 1 message over TLS.
    for _ in 0..2 {
        let o = swaks(submission, false);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("530"),
            "530 expected"
        );
    }
    assert!(swaks(submission, true).status.success());
    // Wait until the 4 messages were delivered (discard) and the sessions logged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while pf.log().matches("status=sent").count() < 4
        || pf.log().matches("disconnect from").count() < 11
    {
        assert!(Instant::now() < deadline, "log incomplete:\n{}", pf.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pftls"))
        .args([
            "--format",
            "json",
            "logs",
            pf.log_path().to_str().unwrap(),
            "--top",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &r["totals"];
    let log = pf.log();
    // The readiness probe's two connects (one per port), then 3 + 3 + 2 + 1 sessions.
    assert_eq!(t["connections"], 11, "smtpd connects\n{log}");
    assert_eq!(t["tls_established"], 4, "{log}");
    assert_eq!(t["messages_accepted"], 4, "{log}");
    assert_eq!(t["tls_handshake_failures"], 3, "{log}");
    assert_eq!(t["starttls_required_rejects"], 2, "{log}");
    assert_eq!(t["deliveries_sent"], 4);
    assert_eq!(r["deliveries_by_transport"]["discard"]["sent"], 4);
    assert_eq!(
        r["failure_reasons"]["unsupported or too low protocol"], 2,
        "{}",
        r["failure_samples"]
    );
    assert_eq!(
        r["failure_reasons"]["no shared cipher"], 1,
        "{}",
        r["failure_samples"]
    );
    assert_eq!(r["tls_protocols"]["TLSv1.3"], 4);
    // One client row (no ports in keys), and no loglevel note at level 1.
    assert_eq!(
        r["by_client"].as_array().unwrap().len(),
        1,
        "{}",
        r["by_client"]
    );
    assert_eq!(r["notes"], serde_json::json!([]));
    assert!(
        log.contains("postfix/submission/smtpd["),
        "the submission syslog_name"
    );
    assert!(log.contains("postfix/postscreen["), "postscreen in front");

    // smtpd_tls_loglevel = 0: what Postfix 3.7 still logs (handshake failures) and what it
    // does not (established sessions), and what `logs` says about it.
    let conf = pf.conf.to_str().unwrap();
    run_ok(&["postconf", "-c", conf, "-e", "smtpd_tls_loglevel=0"]);
    run_ok(&["postfix", "-c", conf, "reload"]);
    std::thread::sleep(Duration::from_secs(2));
    let before = pf.log().matches("disconnect from").count();
    assert!(swaks(submission, true).status.success());
    refused_handshake(smtp, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while pf.log().matches("disconnect from").count() < before + 2 {
        assert!(Instant::now() < deadline, "log incomplete:\n{}", pf.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = pf.log();
    let tail = &log[log.rfind("reload -- version").expect("reload logged")..];
    assert!(
        tail.contains("SSL_accept error from"),
        "failures are logged at level 0:\n{tail}"
    );
    assert!(tail.contains("TLS library problem"), "{tail}");
    assert!(!tail.contains("TLS connection established"), "{tail}");
    let tail_file = pf.root.join("level0.log");
    std::fs::write(&tail_file, tail).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pftls"))
        .args(["--format", "json", "logs", tail_file.to_str().unwrap()])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["totals"]["tls_established"], 0);
    assert_eq!(r["totals"]["tls_sessions"], 1, "{r}");
    assert_eq!(r["totals"]["tls_handshake_failures"], 1);
    let note = r["notes"][0].as_str().unwrap();
    assert!(
        note.starts_with("1 sessions used STARTTLS") && note.contains("smtpd_tls_loglevel is 0"),
        "{note}"
    );
}
