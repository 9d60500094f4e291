//! The STARTTLS probe against small SMTP servers written here (127.0.0.1 only, bounded):
//! results must equal the in-memory simulation for the same server settings.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openssl::ssl::{Ssl, SslContext};
use pftls_tls::probe::{probe, ProbeOptions};
use pftls_tls::simulate::{server_context, simulate, ServerTls};
use pftls_tls::{builtin_profiles, Protocol, TlsError};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// STARTTLS offered; `require` = 530 for MAIL before TLS.
    StartTls { require: bool },
    /// No STARTTLS in EHLO.
    NoStartTls,
    /// TLS from the first byte (465).
    Wrapper,
    /// Accepts and never says anything.
    Silent,
}

/// Serves connections until `max_conns` were handled or 30 s passed.
fn serve(mode: Mode, ctx: Option<SslContext>, max_conns: usize) -> (u16, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut handled = 0;
        while handled < max_conns && Instant::now() < deadline {
            match listener.accept() {
                Ok((sock, _)) => {
                    sock.set_nonblocking(false).unwrap();
                    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    handle_conn(mode, ctx.as_ref(), sock);
                    handled += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        handled
    });
    (port, handle)
}

fn handle_conn(mode: Mode, ctx: Option<&SslContext>, sock: TcpStream) {
    match mode {
        Mode::Silent => {
            // Hold the connection without a word until the client gives up (bounded read).
            let mut s = sock;
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
        }
        Mode::Wrapper => {
            let Ok(tls) = Ssl::new(ctx.unwrap()).unwrap().accept(sock) else {
                return;
            };
            dialogue(mode, ctx, tls);
        }
        _ => dialogue(mode, ctx, sock),
    }
}

/// A minimal smtpd: banner, EHLO, MAIL, STARTTLS, QUIT; at most 20 commands.
fn dialogue<S: Read + Write>(mode: Mode, ctx: Option<&SslContext>, mut s: S) {
    let _ = s.write_all(b"220-mx.example.org ESMTP test\r\n220 second banner line\r\n");
    let mut reader_buf = Vec::new();
    for _ in 0..20 {
        let Some(line) = read_line(&mut s, &mut reader_buf) else {
            return;
        };
        let cmd = line.to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            match mode {
                Mode::StartTls { .. } => {
                    b"250-mx.example.org\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
                }
                _ => b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            }
        } else if cmd.starts_with("MAIL") {
            match mode {
                Mode::StartTls { require: true } => {
                    b"530 5.7.0 Must issue a STARTTLS command first\r\n"
                }
                _ => b"250 2.1.0 Ok\r\n",
            }
        } else if cmd == "STARTTLS" {
            if matches!(mode, Mode::StartTls { .. }) {
                let _ = s.write_all(b"220 2.0.0 Ready to start TLS\r\n");
                // Hand the socket to OpenSSL; the probe only needs the handshake.
                if let Ok(mut tls) = Ssl::new(ctx.unwrap()).unwrap().accept(s) {
                    let mut buf = Vec::new();
                    if read_line(&mut tls, &mut buf).is_some() {
                        let _ = tls.write_all(b"221 2.0.0 Bye\r\n");
                    }
                }
                return;
            }
            b"502 5.5.1 Error: command not implemented\r\n"
        } else if cmd == "QUIT" {
            let _ = s.write_all(b"221 2.0.0 Bye\r\n");
            return;
        } else {
            b"500 5.5.2 Error: command not recognized\r\n"
        };
        if s.write_all(reply).is_err() {
            return;
        }
    }
}

fn read_line<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> Option<String> {
    for _ in 0..1024 {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Some(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        let mut chunk = [0u8; 512];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    None
}

fn opts(port: u16) -> ProbeOptions {
    let mut o = ProbeOptions::new("127.0.0.1", port);
    o.timeout = Duration::from_secs(5);
    o
}

#[test]
fn starttls_probe_equals_simulation() {
    let server = ServerTls::default();
    let ctx = server_context(&server).unwrap();
    let clients = builtin_profiles();
    // 1 info connection + one per client.
    let (port, h) = serve(
        Mode::StartTls { require: true },
        Some(ctx),
        clients.len() + 1,
    );
    let report = probe(&opts(port)).unwrap();
    assert_eq!(
        report.banner,
        "mx.example.org ESMTP test\nsecond banner line"
    );
    assert!(report.starttls_offered);
    assert!(report.ehlo.iter().any(|k| k == "PIPELINING"));
    let mail = report.plaintext_mail.clone().unwrap();
    assert_eq!((mail.code, mail.refused_530), (530, true));
    assert!(mail.reply.contains("Must issue a STARTTLS command first"));
    assert_eq!(report.clients.len(), clients.len());
    for (c, r) in clients.iter().zip(&report.clients) {
        let sim = simulate(&server, c);
        assert_eq!(r.client, c.id);
        assert_eq!(
            (r.outcome.ok, &r.outcome.protocol, &r.outcome.cipher),
            (sim.ok, &sim.protocol, &sim.cipher),
            "{}: probe {:?} vs simulate {sim:?}",
            c.id,
            r.outcome
        );
    }
    assert!(
        report.clients.iter().any(|c| !c.outcome.ok),
        "TLS 1.0 senders fail at seclevel 2"
    );
    assert_eq!(report.modern_client, "openssl_350");
    assert!(report.modern_tls12_plus);
    assert_eq!(h.join().unwrap(), clients.len() + 1);
}

#[test]
fn opportunistic_server_accepts_plaintext_mail_and_tls12_floor() {
    let server = ServerTls {
        min_protocol: Some(Protocol::Tls1_2),
        max_protocol: Some(Protocol::Tls1_2),
        ..ServerTls::default()
    };
    let ctx = server_context(&server).unwrap();
    let clients: Vec<_> = builtin_profiles()
        .into_iter()
        .filter(|p| ["ie_8-10_win7", "ie_11_win7", "openssl_350"].contains(&p.id.as_str()))
        .collect();
    let (port, h) = serve(
        Mode::StartTls { require: false },
        Some(ctx),
        clients.len() + 1,
    );
    let mut o = opts(port);
    o.clients = clients.clone();
    let report = probe(&o).unwrap();
    let mail = report.plaintext_mail.unwrap();
    assert_eq!((mail.code, mail.refused_530), (250, false));
    let by_id = |id: &str| {
        report
            .clients
            .iter()
            .find(|c| c.client == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert!(!by_id("ie_8-10_win7").ok);
    assert_eq!(by_id("ie_11_win7").protocol.as_deref(), Some("TLSv1.2"));
    // The modern client reused its own result: TLS 1.2 is still >= 1.2.
    assert_eq!(by_id("openssl_350").protocol.as_deref(), Some("TLSv1.2"));
    assert!(report.modern_tls12_plus);
    for c in &clients {
        assert_eq!(by_id(&c.id).ok, simulate(&server, c).ok, "{}", c.id);
    }
    assert_eq!(h.join().unwrap(), clients.len() + 1);
}

#[test]
fn no_starttls_server() {
    let (port, h) = serve(Mode::NoStartTls, None, 1);
    let report = probe(&opts(port)).unwrap();
    assert!(!report.starttls_offered);
    assert!(!report.modern_tls12_plus);
    assert!(report
        .clients
        .iter()
        .all(|c| c.outcome.error.as_deref() == Some("server did not offer STARTTLS")));
    assert_eq!(h.join().unwrap(), 1);
}

#[test]
fn wrapper_mode() {
    let server = ServerTls::default();
    let ctx = server_context(&server).unwrap();
    let clients: Vec<_> = builtin_profiles()
        .into_iter()
        .filter(|p| ["java_7u25", "openssl_315"].contains(&p.id.as_str()))
        .collect();
    // modern greeting connection + one per client.
    let (port, h) = serve(Mode::Wrapper, Some(ctx), clients.len() + 1);
    let mut o = opts(port);
    o.starttls = false;
    o.clients = clients.clone();
    let report = probe(&o).unwrap();
    assert!(
        report.banner.starts_with("mx.example.org"),
        "{:?}",
        report.banner
    );
    assert!(report.plaintext_mail.is_none());
    assert!(report.modern_tls12_plus);
    for (c, r) in clients.iter().zip(&report.clients) {
        let sim = simulate(&server, c);
        assert_eq!(
            (r.outcome.ok, &r.outcome.cipher),
            (sim.ok, &sim.cipher),
            "{}",
            c.id
        );
    }
    assert_eq!(h.join().unwrap(), clients.len() + 1);
}

#[test]
fn refused_port_and_silent_server() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match probe(&opts(port)) {
        Err(TlsError::ConnectionRefused { target }) => {
            assert_eq!(target, format!("127.0.0.1:{port}"))
        }
        other => panic!("{other:?}"),
    }
    let (port, h) = serve(Mode::Silent, None, 1);
    let mut o = opts(port);
    o.timeout = Duration::from_millis(400);
    let start = Instant::now();
    match probe(&o) {
        Err(TlsError::Timeout { stage, .. }) => assert_eq!(stage, "banner"),
        other => panic!("{other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "bounded by the probe's timeout"
    );
    assert_eq!(h.join().unwrap(), 1);
}
