//! The plaintext-AUTH check's SMTP dialogue: banner, EHLO, `AUTH PLAIN` with credentials no
//! server accepts, QUIT — without TLS. Replies are bounded and escaped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One SMTP reply: code and text (continuation lines joined), bounded.
fn read_reply(r: &mut BufReader<TcpStream>) -> Result<(u16, String), String> {
    let mut text = Vec::new();
    for _ in 0..100 {
        let mut line = String::new();
        let n = std::io::Read::take(&mut *r, 4096)
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        let line = line.trim_end();
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "not an SMTP reply: {}",
                    pftls_tls::sanitize::printable(line)
                )
            })?;
        text.push(pftls_tls::sanitize::printable(line.get(4..).unwrap_or("")));
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text.join(" ")));
        }
    }
    Err("reply too long".into())
}

/// Banner, EHLO, `AUTH PLAIN` with invalid credentials, QUIT: the reply to AUTH.
pub fn plaintext_auth(host: &str, port: u16, timeout: Duration) -> Result<(u16, String), String> {
    use std::net::ToSocketAddrs;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    read_reply(&mut r)?;
    w.write_all(b"EHLO pftls-verify.invalid\r\n")
        .map_err(|e| e.to_string())?;
    read_reply(&mut r)?;
    // "\0pftls-verify\0invalid": credentials no server accepts.
    w.write_all(b"AUTH PLAIN AHBmdGxzLXZlcmlmeQBpbnZhbGlk\r\n")
        .map_err(|e| e.to_string())?;
    let reply = read_reply(&mut r)?;
    let _ = w.write_all(b"QUIT\r\n");
    Ok(reply)
}
