//! Parse + (optional edit) + render of one main.cf, for speed and peak-memory measurements.
//!
//! Usage:
//!   roundtrip gen <MiB> <out>          write a generated main.cf of about <MiB> MiB
//!   roundtrip <main.cf> [--edit]       parse, optionally set one parameter, render; prints MB/s
//!   roundtrip <main.cf> --read-only    only read the file (baseline for CPU time)
//! Peak memory: `/usr/bin/time -v target/release/examples/roundtrip big.cf` (Maximum resident).

use std::time::Instant;

use postfix_conf::MainCf;

/// A main.cf-like text: entries, comments, blank lines, continuations, duplicates.
fn generate(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 256);
    out.extend_from_slice(b"smtpd_tls_security_level = may\n");
    let mut i = 0usize;
    while out.len() < bytes {
        let block = format!(
            "# The parameter_{i} setting, with a comment that explains it\n\
             parameter_{i} = value-{i} $myhostname\n\
             list_{i} = hash:/etc/postfix/a_{i},\n    hash:/etc/postfix/b_{i}\n\n\
"
        );
        out.extend_from_slice(block.as_bytes());
        i += 1;
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("gen") {
        let mib: usize = args.get(1).ok_or("gen <MiB> <out>")?.parse()?;
        let out = args.get(2).ok_or("gen <MiB> <out>")?;
        std::fs::write(out, generate(mib << 20))?;
        return Ok(());
    }
    let path = args
        .first()
        .ok_or("usage: roundtrip <main.cf> [--edit] | gen <MiB> <out>")?;
    let edit = args.iter().any(|a| a == "--edit");
    let input = std::fs::read(path)?;
    let len = input.len();
    if args.iter().any(|a| a == "--read-only") {
        // Baseline for CPU-time measurements under /usr/bin/time.
        println!("{path}: {len} bytes read");
        return Ok(());
    }
    let t = Instant::now();
    let mut doc = MainCf::parse_vec(input)?;
    if edit {
        doc.set("smtpd_tls_security_level", "encrypt")?;
    }
    let out = doc.render();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{path}: {len} bytes in, {} bytes out, {} entries, {:.3} s, {:.0} MB/s{}",
        out.len(),
        doc.len(),
        secs,
        len as f64 / secs / 1e6,
        if edit { " (with edit)" } else { "" }
    );
    Ok(())
}
