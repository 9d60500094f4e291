//! Live SMTP STARTTLS probe over TCP: banner, EHLO, STARTTLS, then one TLS handshake per
//! client profile on a fresh connection each; also whether plaintext `MAIL FROM` is refused
//! with 530 (TLS required) and whether a modern client gets TLS 1.2 or better.
//! Every network step has a timeout, and replies are read with hard size limits.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use openssl::ssl::{HandshakeError, Ssl, SslStream};
use serde::Serialize;

use crate::profiles::{builtin_profiles, newest_profile, ClientProfile};
use crate::simulate::{client_context, HandshakeOutcome};
use crate::{Protocol, TlsError};

/// Longest reply line accepted (RFC 5321 says 512; be lenient).
const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply.
const MAX_REPLY_LINES: usize = 100;

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Host name or address.
    pub host: String,
    /// TCP port (25, 587, 465).
    pub port: u16,
    /// true: plaintext SMTP then STARTTLS; false: TLS from the first byte (wrapper mode, 465).
    pub starttls: bool,
    /// Timeout for connecting and for each read/write; a whole connection is bounded by
    /// four times this.
    pub timeout: Duration,
    /// Name sent with EHLO.
    pub ehlo_name: String,
    /// SNI name (None: the host if it is not an IP address).
    pub sni: Option<String>,
    /// Client profiles to try, one connection each.
    pub clients: Vec<ClientProfile>,
    /// Also send plaintext `MAIL FROM` to see whether TLS is required (STARTTLS mode only).
    pub check_plaintext_mail: bool,
}

impl ProbeOptions {
    /// Defaults: STARTTLS, 10 s timeout, all built-in profiles, plaintext MAIL check on.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        ProbeOptions {
            host: host.into(),
            port,
            starttls: true,
            timeout: Duration::from_secs(10),
            ehlo_name: "pftls-probe.example.org".into(),
            sni: None,
            clients: builtin_profiles(),
            check_plaintext_mail: true,
        }
    }

    /// The per-step timeout, never zero (std rejects a zero socket timeout, which would
    /// silently leave the socket blocking forever).
    fn step_timeout(&self) -> Duration {
        self.timeout.max(Duration::from_millis(1))
    }

    /// Deadline for one whole connection: four step timeouts from now (saturating).
    fn connection_deadline(&self) -> Instant {
        let budget = self.step_timeout().saturating_mul(4);
        let now = Instant::now();
        now.checked_add(budget)
            .unwrap_or_else(|| now + Duration::from_secs(86_400))
    }

    fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Reply to the plaintext `MAIL FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaintextMail {
    /// SMTP code (530 when TLS is required).
    pub code: u16,
    /// Reply text, lines joined with a space.
    pub reply: String,
    /// True for 530: the server refuses mail without TLS.
    pub refused_530: bool,
}

/// One client profile's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientResult {
    /// Profile id.
    pub client: String,
    /// What happened.
    pub outcome: HandshakeOutcome,
}

/// Everything the probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// `host:port`.
    pub target: String,
    /// Greeting, lines joined with a newline (read after TLS in wrapper mode).
    pub banner: String,
    /// EHLO keywords (STARTTLS, PIPELINING, SIZE 10240000, ...).
    pub ehlo: Vec<String>,
    /// Whether EHLO advertised STARTTLS (always false in wrapper mode).
    pub starttls_offered: bool,
    /// Plaintext MAIL FROM result (None in wrapper mode or when not checked).
    pub plaintext_mail: Option<PlaintextMail>,
    /// Per client profile, in the order given.
    pub clients: Vec<ClientResult>,
    /// Profile used for the modern-client check.
    pub modern_client: String,
    /// Whether that modern client negotiated TLS 1.2 or newer.
    pub modern_tls12_plus: bool,
}

/// An SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// A line-oriented SMTP connection with a hard deadline.
struct Smtp<S> {
    stream: S,
    buf: Vec<u8>,
    target: String,
    deadline: Instant,
}

trait Timed {
    fn set_timeout(&self, t: Duration);
}

impl Timed for TcpStream {
    fn set_timeout(&self, t: Duration) {
        // A zero duration is rejected by std; we never pass one (see remaining()).
        let _ = self.set_read_timeout(Some(t));
        let _ = self.set_write_timeout(Some(t));
    }
}

impl Timed for SslStream<TcpStream> {
    fn set_timeout(&self, t: Duration) {
        self.get_ref().set_timeout(t);
    }
}

fn net_error(target: &str, stage: &str, e: io::Error) -> TlsError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TlsError::Timeout {
            target: target.into(),
            stage: stage.into(),
        },
        io::ErrorKind::ConnectionRefused => TlsError::ConnectionRefused {
            target: target.into(),
        },
        _ => TlsError::Network {
            target: target.into(),
            stage: stage.into(),
            source: e,
        },
    }
}

impl<S: Read + Write + Timed> Smtp<S> {
    fn remaining(&self, stage: &str) -> Result<Duration, TlsError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(TlsError::Timeout {
                target: self.target.clone(),
                stage: stage.into(),
            });
        }
        Ok(left)
    }

    fn read_line(&mut self, stage: &str, per_read: Duration) -> Result<String, TlsError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                // Remote text: escaped here, once, so that no reply reaches a terminal raw.
                return Ok(crate::sanitize::printable(
                    text.trim_end_matches(['\r', '\n']),
                ));
            }
            if self.buf.len() > MAX_LINE {
                return Err(self.unexpected(stage, "reply line too long"));
            }
            let left = self.remaining(stage)?;
            self.stream.set_timeout(left.min(per_read));
            let mut chunk = [0u8; 1024];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| net_error(&self.target, stage, e))?;
            if n == 0 {
                return Err(self.unexpected(stage, "connection closed by server"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads a (multi-line) reply: `250-...` continues, `250 ...` ends.
    fn read_reply(&mut self, stage: &str, per_read: Duration) -> Result<Reply, TlsError> {
        let mut lines = Vec::new();
        let mut code = None;
        for _ in 0..MAX_REPLY_LINES {
            let line = self.read_line(stage, per_read)?;
            let bytes = line.as_bytes();
            let this_code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse::<u16>().ok());
            let Some(this_code) = this_code else {
                return Err(self.unexpected(stage, &line));
            };
            if code.is_some_and(|c| c != this_code) {
                return Err(self.unexpected(stage, &line));
            }
            code = Some(this_code);
            lines.push(line.get(4..).unwrap_or("").to_string());
            match bytes.get(3) {
                Some(b'-') => continue,
                None | Some(b' ') => {
                    return Ok(Reply {
                        code: this_code,
                        lines,
                    })
                }
                Some(_) => return Err(self.unexpected(stage, &line)),
            }
        }
        Err(self.unexpected(stage, "reply has too many lines"))
    }

    fn send(&mut self, line: &str, stage: &str, per_write: Duration) -> Result<(), TlsError> {
        let left = self.remaining(stage)?;
        self.stream.set_timeout(left.min(per_write));
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|_| self.stream.flush())
            .map_err(|e| net_error(&self.target, stage, e))
    }

    fn command(&mut self, line: &str, stage: &str, t: Duration) -> Result<Reply, TlsError> {
        self.send(line, stage, t)?;
        self.read_reply(stage, t)
    }

    fn unexpected(&self, stage: &str, reply: &str) -> TlsError {
        let mut reply = reply.to_string();
        if reply.len() > 200 {
            let mut cut = 200;
            while !reply.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.truncate(cut);
        }
        TlsError::UnexpectedReply {
            target: self.target.clone(),
            stage: stage.into(),
            reply,
        }
    }

    /// Banner then EHLO; returns (banner, EHLO keywords).
    fn greet(&mut self, opts: &ProbeOptions) -> Result<(String, Vec<String>), TlsError> {
        let banner = self.read_reply("banner", opts.step_timeout())?;
        if banner.code != 220 {
            return Err(self.unexpected("banner", &format!("{} {}", banner.code, banner.text())));
        }
        let ehlo = self.command(
            &format!("EHLO {}", opts.ehlo_name),
            "EHLO",
            opts.step_timeout(),
        )?;
        if ehlo.code != 250 {
            return Err(self.unexpected("EHLO", &format!("{} {}", ehlo.code, ehlo.text())));
        }
        Ok((
            banner.lines.join("\n"),
            ehlo.lines.into_iter().skip(1).collect(),
        ))
    }
}

fn connect(opts: &ProbeOptions) -> Result<TcpStream, TlsError> {
    let target = opts.target();
    let addrs: Vec<SocketAddr> = (opts.host.as_str(), opts.port)
        .to_socket_addrs()
        .map_err(|e| TlsError::Network {
            target: target.clone(),
            stage: "resolving the host".into(),
            source: e,
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, opts.step_timeout()) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(net_error(&target, "connect", e)),
        }
    }
    Err(last.unwrap_or_else(|| TlsError::Network {
        target,
        stage: "resolving the host".into(),
        source: io::Error::new(io::ErrorKind::NotFound, "no address"),
    }))
}

fn open(opts: &ProbeOptions) -> Result<Smtp<TcpStream>, TlsError> {
    let stream = connect(opts)?;
    Ok(Smtp {
        stream,
        buf: Vec::new(),
        target: opts.target(),
        deadline: opts.connection_deadline(),
    })
}

fn sni_name(opts: &ProbeOptions) -> Option<String> {
    opts.sni.clone().or_else(|| {
        opts.host
            .parse::<std::net::IpAddr>()
            .is_err()
            .then(|| opts.host.clone())
    })
}

/// TLS handshake on an open socket with a client profile; the stream is returned on success.
fn tls_handshake(
    tcp: TcpStream,
    client: &ClientProfile,
    opts: &ProbeOptions,
    deadline: Instant,
) -> (HandshakeOutcome, Option<SslStream<TcpStream>>) {
    let ctx = match client_context(client) {
        Ok(c) => c,
        Err(e) => return (HandshakeOutcome::failed(e), None),
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return (
            HandshakeOutcome::failed("timeout before TLS handshake"),
            None,
        );
    }
    tcp.set_timeout(left.min(opts.step_timeout()));
    let mut ssl = match Ssl::new(&ctx) {
        Ok(s) => s,
        Err(e) => return (HandshakeOutcome::failed(crate::reason_of(&e)), None),
    };
    if let Some(name) = sni_name(opts) {
        // An SNI name OpenSSL refuses (e.g. with a trailing dot) is simply not sent.
        let _ = ssl.set_hostname(name.trim_end_matches('.'));
    }
    match ssl.connect(tcp) {
        Ok(stream) => {
            let s = stream.ssl();
            let outcome = HandshakeOutcome {
                ok: true,
                protocol: Some(s.version_str().to_string()),
                cipher: s.current_cipher().map(|c| c.name().to_string()),
                error: None,
            };
            (outcome, Some(stream))
        }
        Err(HandshakeError::WouldBlock(_)) => (
            HandshakeOutcome::failed("timeout during TLS handshake"),
            None,
        ),
        Err(HandshakeError::SetupFailure(e)) => {
            (HandshakeOutcome::failed(crate::reason_of(&e)), None)
        }
        Err(HandshakeError::Failure(mid)) => {
            let e = mid.error();
            let text = match e.ssl_error() {
                Some(stack) if !stack.errors().is_empty() => crate::reason_of(stack),
                _ => match e.io_error() {
                    Some(io)
                        if matches!(
                            io.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        "timeout during TLS handshake".to_string()
                    }
                    Some(io) => io.to_string(),
                    None => "connection closed during TLS handshake".to_string(),
                },
            };
            (HandshakeOutcome::failed(text), None)
        }
    }
}

/// One client over STARTTLS: fresh connection, banner, EHLO, STARTTLS, handshake.
fn starttls_client(opts: &ProbeOptions, client: &ClientProfile) -> HandshakeOutcome {
    let run = || -> Result<HandshakeOutcome, TlsError> {
        let mut smtp = open(opts)?;
        let (_, ehlo) = smtp.greet(opts)?;
        if !offers_starttls(&ehlo) {
            return Ok(HandshakeOutcome::failed("server did not offer STARTTLS"));
        }
        let reply = smtp.command("STARTTLS", "STARTTLS", opts.step_timeout())?;
        if reply.code != 220 {
            return Ok(HandshakeOutcome::failed(format!(
                "STARTTLS refused: {} {}",
                reply.code,
                reply.text()
            )));
        }
        if !smtp.buf.is_empty() {
            // Bytes after the 220 would be injected into the TLS stream (CVE-2011-0411 class).
            return Err(smtp.unexpected("STARTTLS", "data after 220 reply"));
        }
        let (outcome, stream) = tls_handshake(smtp.stream, client, opts, smtp.deadline);
        if let Some(mut s) = stream {
            let _ = s.write_all(b"QUIT\r\n");
            let _ = s.shutdown();
        }
        Ok(outcome)
    };
    run().unwrap_or_else(|e| HandshakeOutcome::failed(e.to_string()))
}

/// Banner and EHLO keywords.
type Greeting = (String, Vec<String>);

/// One client in wrapper mode: fresh connection, handshake first; returns the outcome and,
/// when asked, the banner and EHLO keywords read over TLS.
fn wrapper_client(
    opts: &ProbeOptions,
    client: &ClientProfile,
    greet: bool,
) -> Result<(HandshakeOutcome, Option<Greeting>), TlsError> {
    let tcp = connect(opts)?;
    let deadline = opts.connection_deadline();
    let (outcome, stream) = tls_handshake(tcp, client, opts, deadline);
    let Some(stream) = stream else {
        return Ok((outcome, None));
    };
    let mut smtp = Smtp {
        stream,
        buf: Vec::new(),
        target: opts.target(),
        deadline,
    };
    let greeting = if greet {
        let g = smtp.greet(opts)?;
        Some(g)
    } else {
        None
    };
    let _ = smtp.send("QUIT", "QUIT", opts.step_timeout());
    let _ = smtp.stream.shutdown();
    Ok((outcome, greeting))
}

fn offers_starttls(ehlo: &[String]) -> bool {
    ehlo.iter().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
    })
}

/// Runs the probe. Errors only for failures of the first (information) connection:
/// connection refused, timeout, a banner or EHLO reply that is not 220/250. Failures of a
/// client's own connection are recorded in its outcome.
pub fn probe(opts: &ProbeOptions) -> Result<ProbeReport, TlsError> {
    let modern =
        newest_profile().ok_or_else(|| TlsError::Profiles("no built-in profiles".into()))?;
    let mut report = ProbeReport {
        target: opts.target(),
        banner: String::new(),
        ehlo: Vec::new(),
        starttls_offered: false,
        plaintext_mail: None,
        clients: Vec::new(),
        modern_client: modern.id.clone(),
        modern_tls12_plus: false,
    };
    let mut modern_outcome = None;

    if opts.starttls {
        let mut smtp = open(opts)?;
        let (banner, ehlo) = smtp.greet(opts)?;
        report.banner = banner;
        report.starttls_offered = offers_starttls(&ehlo);
        report.ehlo = ehlo;
        if opts.check_plaintext_mail {
            let reply = smtp.command(
                "MAIL FROM:<probe@example.org>",
                "MAIL FROM",
                opts.step_timeout(),
            )?;
            report.plaintext_mail = Some(PlaintextMail {
                code: reply.code,
                reply: reply.text(),
                refused_530: reply.code == 530,
            });
        }
        let _ = smtp.command("QUIT", "QUIT", opts.step_timeout());
        for client in &opts.clients {
            let outcome = if report.starttls_offered {
                starttls_client(opts, client)
            } else {
                HandshakeOutcome::failed("server did not offer STARTTLS")
            };
            report.clients.push(ClientResult {
                client: client.id.clone(),
                outcome,
            });
        }
    } else {
        let (outcome, greeting) = wrapper_client(opts, &modern, true)?;
        if let Some((banner, ehlo)) = greeting {
            report.banner = banner;
            report.ehlo = ehlo;
        }
        modern_outcome = Some(outcome);
        for client in &opts.clients {
            let outcome = match wrapper_client(opts, client, false) {
                Ok((o, _)) => o,
                Err(e) => HandshakeOutcome::failed(e.to_string()),
            };
            report.clients.push(ClientResult {
                client: client.id.clone(),
                outcome,
            });
        }
    }

    let modern_outcome = match modern_outcome {
        Some(o) => o,
        None => match report.clients.iter().find(|c| c.client == modern.id) {
            Some(c) => c.outcome.clone(),
            None if report.starttls_offered => starttls_client(opts, &modern),
            None => HandshakeOutcome::failed("server did not offer STARTTLS"),
        },
    };
    report.modern_tls12_plus = modern_outcome.ok
        && modern_outcome
            .protocol()
            .is_some_and(|p| p >= Protocol::Tls1_2);
    Ok(report)
}
