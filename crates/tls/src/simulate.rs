//! In-memory TLS handshakes between a server configured like Postfix and a client profile.
//!
//! No sockets: each side gets one end of a pair of in-memory byte queues, and the two
//! OpenSSL state machines are stepped alternately (bounded) until both finish or one fails.
//! The server's failure reason is preferred, because it is what Postfix logs
//! ("no shared cipher", "unsupported protocol", "no suitable signature algorithm").

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, Ssl, SslContext, SslContextBuilder, SslMethod,
    SslOptions, SslStream, SslVerifyMode,
};
use serde::{Deserialize, Serialize};

use crate::ciphers::known_cipher_names;
use crate::error::reason_of;
use crate::keys::{load_cert_spec, CertSpec, KeySpec};
use crate::profiles::ClientProfile;
use crate::{Protocol, TlsError};

/// Text of the outcome when none of a client's ciphers exists in this libssl.
pub const NO_CLIENT_CIPHER: &str = "client offers no cipher this OpenSSL build supports";

/// A TLS server as OpenSSL sees it after Postfix configured it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerTls {
    /// The full effective cipher string, exclusions included.
    pub ciphers: String,
    /// Protocol floor (None: no floor, as Postfix sets it without `>=`).
    pub min_protocol: Option<Protocol>,
    /// Protocol ceiling (None: none).
    pub max_protocol: Option<Protocol>,
    /// Security level of the context (from the system baseline).
    pub seclevel: u32,
    /// Certificate and key.
    pub cert: CertSpec,
    /// Server cipher preference (`tls_preempt_cipherlist = yes`).
    pub prefer_server_order: bool,
    /// Groups list (`:`-separated), None for the library default. Unknown names are skipped.
    pub groups: Option<String>,
    /// TLS 1.3 suites (`Ciphersuites`), None for the library default. Postfix does not set
    /// them; a crypto-policy's `Ciphersuites` line does.
    #[serde(default)]
    pub tls13_ciphersuites: Option<String>,
}

impl Default for ServerTls {
    /// Postfix 3.7 defaults (medium grade, no bounds) at seclevel 2 with an RSA-2048 cert.
    fn default() -> Self {
        ServerTls {
            ciphers: crate::postfix_defaults::MEDIUM_37.to_string(),
            min_protocol: None,
            max_protocol: None,
            seclevel: 2,
            cert: CertSpec::Generated(KeySpec::Rsa(2048)),
            prefer_server_order: false,
            groups: None,
            tls13_ciphersuites: None,
        }
    }
}

/// Result of one handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeOutcome {
    /// True when the handshake completed.
    pub ok: bool,
    /// Negotiated protocol (`TLSv1.3`).
    pub protocol: Option<String>,
    /// Negotiated cipher, OpenSSL name.
    pub cipher: Option<String>,
    /// OpenSSL's reason when it failed.
    pub error: Option<String>,
}

impl HandshakeOutcome {
    /// A failed outcome with this reason.
    pub fn failed(reason: impl Into<String>) -> Self {
        HandshakeOutcome {
            ok: false,
            protocol: None,
            cipher: None,
            error: Some(reason.into()),
        }
    }

    /// The negotiated protocol, parsed.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol.as_deref().and_then(Protocol::from_name)
    }
}

/// Builds (or returns the cached) OpenSSL server context for `server`. Generated-cert
/// configurations are cached; file-based ones are rebuilt so file changes are seen.
/// The error is OpenSSL's reason (e.g. "ee key too small", "no cipher match").
pub fn server_context(server: &ServerTls) -> Result<SslContext, TlsError> {
    static CACHE: OnceLock<Mutex<HashMap<ServerTls, SslContext>>> = OnceLock::new();
    let cacheable = matches!(server.cert, CertSpec::Generated(_));
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if cacheable {
        if let Some(hit) = cache.lock().ok().and_then(|c| c.get(server).cloned()) {
            return Ok(hit);
        }
    }
    let ctx = build_server_context(server)?;
    if cacheable {
        if let Ok(mut c) = cache.lock() {
            c.insert(server.clone(), ctx.clone());
        }
    }
    Ok(ctx)
}

fn build_server_context(server: &ServerTls) -> Result<SslContext, TlsError> {
    let ossl = |what: &str| {
        let what = what.to_string();
        move |e: openssl::error::ErrorStack| TlsError::openssl(what.clone(), &e)
    };
    let mut b = SslContextBuilder::new(SslMethod::tls_server()).map_err(ossl("server context"))?;
    b.set_security_level(server.seclevel);
    // Postfix >= 3.6 always sets both bounds (0 = none), overriding system config.
    b.set_min_proto_version(server.min_protocol.and_then(Protocol::to_ssl_version))
        .map_err(ossl("server minimum protocol"))?;
    b.set_max_proto_version(server.max_protocol.and_then(Protocol::to_ssl_version))
        .map_err(ossl("server maximum protocol"))?;
    b.set_cipher_list(&server.ciphers)
        .map_err(|e| TlsError::CipherList {
            cipher_string: server.ciphers.clone(),
            reason: reason_of(&e),
        })?;
    if let Some(suites) = &server.tls13_ciphersuites {
        b.set_ciphersuites(&filter_known(suites, is_known_suite))
            .map_err(ossl("server TLS 1.3 suites"))?;
    }
    if let Some(groups) = &server.groups {
        let known = filter_known(groups, is_known_group);
        if !known.is_empty() {
            b.set_groups_list(&known).map_err(ossl("server groups"))?;
        }
    }
    // Postfix has DH parameters for DHE suites; automatic ones match s_server's default.
    set_dh_auto(&mut b);
    if server.prefer_server_order {
        b.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    }
    let ck = load_cert_spec(&server.cert)?;
    b.set_certificate(&ck.cert)
        .map_err(ossl("loading the server certificate"))?;
    for c in ck.chain {
        b.add_extra_chain_cert(c)
            .map_err(ossl("loading the server chain"))?;
    }
    b.set_private_key(&ck.key)
        .map_err(ossl("loading the server key"))?;
    b.check_private_key()
        .map_err(ossl("checking the server key"))?;
    Ok(b.build())
}

fn set_dh_auto(b: &mut SslContextBuilder) {
    const SSL_CTRL_SET_DH_AUTO: std::os::raw::c_int = 118;
    // SAFETY: SSL_CTX_set_dh_auto(ctx, 1) is the macro for this ctrl call on a valid SSL_CTX;
    // it only sets a flag and cannot fail in a way that leaves the context invalid.
    unsafe {
        openssl_sys::SSL_CTX_ctrl(b.as_ptr(), SSL_CTRL_SET_DH_AUTO, 1, std::ptr::null_mut());
    }
}

/// Cached yes/no per name: does this libssl accept `name` for `set`?
fn cached_probe(
    cache: &'static OnceLock<Mutex<HashMap<String, bool>>>,
    name: &str,
    probe: impl FnOnce(&mut SslContextBuilder, &str) -> bool,
) -> bool {
    let map = cache.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = map.lock().ok().and_then(|m| m.get(name).copied()) {
        return v;
    }
    let ok = SslContextBuilder::new(SslMethod::tls())
        .map(|mut b| probe(&mut b, name))
        .unwrap_or(false);
    if let Ok(mut m) = map.lock() {
        m.insert(name.to_string(), ok);
    }
    ok
}

fn is_known_group(name: &str) -> bool {
    static C: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    cached_probe(&C, name, |b, n| b.set_groups_list(n).is_ok())
}

fn is_known_suite(name: &str) -> bool {
    static C: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    cached_probe(&C, name, |b, n| b.set_ciphersuites(n).is_ok())
}

fn filter_known(list: &str, known: impl Fn(&str) -> bool) -> String {
    list.split([':', ',', ' '])
        .filter(|n| !n.is_empty() && known(n))
        .collect::<Vec<_>>()
        .join(":")
}

/// Builds (or returns the cached) client context for a profile: `@SECLEVEL=0` and only the
/// cipher, suite and group names this libssl knows. Errors are outcome texts.
pub fn client_context(client: &ClientProfile) -> Result<SslContext, String> {
    static CACHE: OnceLock<Mutex<HashMap<ClientProfile, SslContext>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(client).cloned()) {
        return Ok(hit);
    }
    let ctx = build_client_context(client)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(client.clone(), ctx.clone());
    }
    Ok(ctx)
}

/// What a client profile becomes on this libssl: only the names it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveClient {
    /// TLS <= 1.2 ciphers (OpenSSL names, `:`-separated), without `@SECLEVEL`.
    pub ciphers: String,
    /// TLS 1.3 suites (`:`-separated; empty when the client has no TLS 1.3).
    pub tls13_ciphersuites: String,
    /// Groups (`:`-separated; empty: library default).
    pub groups: String,
    /// Lowest protocol (raised to TLS 1.3 when only TLS 1.3 suites are usable).
    pub min_protocol: Protocol,
    /// Highest protocol.
    pub max_protocol: Protocol,
}

/// Filters a profile down to what this libssl supports. Err is the outcome text
/// ([`NO_CLIENT_CIPHER`]) when nothing is left.
pub fn effective_client(client: &ClientProfile) -> Result<EffectiveClient, String> {
    let known: &BTreeSet<String> = known_cipher_names();
    let ciphers: Vec<&str> = client
        .ciphers
        .split([':', ',', ' '])
        .filter(|n| !n.is_empty() && known.contains(*n))
        .collect();
    let suites = if client.max_protocol >= Protocol::Tls1_3 {
        filter_known(&client.tls13_ciphersuites, is_known_suite)
    } else {
        String::new()
    };
    if ciphers.is_empty() && suites.is_empty() {
        return Err(NO_CLIENT_CIPHER.to_string());
    }
    let min_protocol = if ciphers.is_empty() {
        // Only TLS 1.3 suites are usable: the client can only speak TLS 1.3.
        Protocol::Tls1_3
    } else {
        client.min_protocol
    };
    Ok(EffectiveClient {
        ciphers: ciphers.join(":"),
        tls13_ciphersuites: suites,
        groups: filter_known(&client.groups, is_known_group),
        min_protocol,
        max_protocol: client.max_protocol,
    })
}

fn build_client_context(client: &ClientProfile) -> Result<SslContext, String> {
    let r = |e: openssl::error::ErrorStack| reason_of(&e);
    let eff = effective_client(client)?;
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(r)?;
    b.set_security_level(0);
    b.set_verify(SslVerifyMode::NONE);
    if !eff.ciphers.is_empty() {
        b.set_cipher_list(&format!("{}:@SECLEVEL=0", eff.ciphers))
            .map_err(r)?;
    }
    b.set_ciphersuites(&eff.tls13_ciphersuites).map_err(r)?;
    b.set_min_proto_version(eff.min_protocol.to_ssl_version())
        .map_err(r)?;
    b.set_max_proto_version(eff.max_protocol.to_ssl_version())
        .map_err(r)?;
    if !eff.groups.is_empty() {
        b.set_groups_list(&eff.groups).map_err(r)?;
    }
    Ok(b.build())
}

/// One direction of the in-memory duplex.
type Queue = Rc<RefCell<VecDeque<u8>>>;

/// One end of the in-memory duplex: reads from `inbox`, writes to `outbox`.
struct Pipe {
    inbox: Queue,
    outbox: Queue,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.inbox.borrow_mut();
        if q.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(q.len());
        for (dst, src) in buf.iter_mut().zip(q.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox.borrow_mut().extend(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Side {
    Mid(MidHandshakeSslStream<Pipe>),
    Done(SslStream<Pipe>),
    Failed(String),
}

fn side_of(r: Result<SslStream<Pipe>, HandshakeError<Pipe>>) -> Side {
    match r {
        Ok(s) => Side::Done(s),
        Err(HandshakeError::WouldBlock(mid)) => Side::Mid(mid),
        Err(HandshakeError::SetupFailure(e)) => Side::Failed(reason_of(&e)),
        Err(HandshakeError::Failure(mid)) => Side::Failed(error_text(mid.error())),
    }
}

fn error_text(e: &openssl::ssl::Error) -> String {
    match e.ssl_error() {
        Some(stack) if !stack.errors().is_empty() => reason_of(stack),
        _ => match e.io_error() {
            Some(io) => io.to_string(),
            None => e.to_string(),
        },
    }
}

fn step(side: Side) -> Side {
    match side {
        Side::Mid(mid) => side_of(mid.handshake()),
        other => other,
    }
}

/// Upper bound on alternating steps; a TLS handshake needs fewer than ten.
const MAX_ROUNDS: usize = 64;

/// Simulates one handshake between `server` and `client` in memory.
pub fn simulate(server: &ServerTls, client: &ClientProfile) -> HandshakeOutcome {
    let sctx = match server_context(server) {
        Ok(c) => c,
        Err(e) => return HandshakeOutcome::failed(server_error_text(&e)),
    };
    let cctx = match client_context(client) {
        Ok(c) => c,
        Err(e) => return HandshakeOutcome::failed(e),
    };
    handshake(&sctx, &cctx)
}

/// The short reason of a server-setup error (OpenSSL's reason where there is one).
fn server_error_text(e: &TlsError) -> String {
    match e {
        TlsError::OpenSsl { reason, .. } => reason.clone(),
        TlsError::CipherList { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Runs a handshake between two ready contexts.
pub fn handshake(server: &SslContext, client: &SslContext) -> HandshakeOutcome {
    let c2s: Queue = Rc::default();
    let s2c: Queue = Rc::default();
    let client_pipe = Pipe {
        inbox: s2c.clone(),
        outbox: c2s.clone(),
    };
    let server_pipe = Pipe {
        inbox: c2s.clone(),
        outbox: s2c.clone(),
    };
    let (cssl, sssl) = match (Ssl::new(client), Ssl::new(server)) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) | (_, Err(e)) => return HandshakeOutcome::failed(reason_of(&e)),
    };
    let mut c = side_of(cssl.connect(client_pipe));
    let mut s = match &c {
        Side::Failed(_) => Side::Failed(String::new()),
        _ => side_of(sssl.accept(server_pipe)),
    };
    for _ in 0..MAX_ROUNDS {
        match (&c, &s) {
            (Side::Done(cs), Side::Done(_)) => {
                let ssl = cs.ssl();
                return HandshakeOutcome {
                    ok: true,
                    protocol: Some(ssl.version_str().to_string()),
                    cipher: ssl.current_cipher().map(|x| x.name().to_string()),
                    error: None,
                };
            }
            (_, Side::Failed(e)) if !e.is_empty() => return HandshakeOutcome::failed(e.clone()),
            (Side::Failed(e), _) => return HandshakeOutcome::failed(e.clone()),
            _ => {}
        }
        c = step(c);
        s = step(s);
        // Writes never block here, so a side still in the handshake is waiting for input;
        // with both queues empty nothing can arrive any more.
        let idle = c2s.borrow().is_empty() && s2c.borrow().is_empty();
        let waiting = matches!(c, Side::Mid(_)) || matches!(s, Side::Mid(_));
        let failed = matches!(c, Side::Failed(_)) || matches!(s, Side::Failed(_));
        if idle && waiting && !failed {
            return HandshakeOutcome::failed("handshake stalled");
        }
    }
    HandshakeOutcome::failed("handshake did not finish")
}

/// Runs every client against `server`, in order.
pub fn simulate_matrix(
    server: &ServerTls,
    clients: &[ClientProfile],
) -> Vec<(String, HandshakeOutcome)> {
    clients
        .iter()
        .map(|c| (c.id.clone(), simulate(server, c)))
        .collect()
}
