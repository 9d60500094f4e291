//! A hostile SMTP server (127.0.0.1, bounded) whose banner and EHLO reply carry terminal
//! escape sequences: the probe report holds them escaped, never raw.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pftls_tls::probe::{probe, ProbeOptions};

#[test]
fn escape_bytes_in_banner_and_replies_are_shown_escaped() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_server = Arc::clone(&stop);
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut handled = 0;
        while handled < 4 && Instant::now() < deadline && !stop_server.load(Ordering::SeqCst) {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            handled += 1;
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.write_all(b"220 mx \x1b]0;owned\x07\x1b[2J ESMTP\r\n");
            let mut buf = [0u8; 512];
            for _ in 0..10 {
                let n = match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let cmd = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                let reply: &[u8] = if cmd.starts_with("EHLO") {
                    b"250-mx\r\n250 X-\x1b[31mRED\r\n"
                } else if cmd.starts_with("MAIL") {
                    b"250 2.1.0 \x9b31m Ok\r\n"
                } else if cmd.starts_with("QUIT") {
                    let _ = s.write_all(b"221 Bye\r\n");
                    break;
                } else {
                    b"250 Ok\r\n"
                };
                if s.write_all(reply).is_err() {
                    break;
                }
            }
        }
    });
    let mut opts = ProbeOptions::new("127.0.0.1", port);
    opts.timeout = Duration::from_secs(5);
    let report = probe(&opts);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
    let report = report.expect("probe");
    assert!(!report.banner.contains('\x1b'), "{:?}", report.banner);
    assert!(
        report.banner.contains("\\x1b]0;owned\\x07\\x1b[2J"),
        "{:?}",
        report.banner
    );
    assert!(
        report.ehlo.iter().all(|k| !k.contains('\x1b')),
        "{:?}",
        report.ehlo
    );
    assert!(
        report.ehlo.iter().any(|k| k.contains("\\x1b[31mRED")),
        "{:?}",
        report.ehlo
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("\\u001b"), "{json}");
}
