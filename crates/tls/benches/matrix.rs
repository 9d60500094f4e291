//! Handshake-matrix benchmark: every built-in client profile x 3 server configurations x
//! before/after (66 in-memory handshakes), as `pftls plan`/`simulate` run it.
//! Prints figures; the target is < 300 ms for the whole matrix.
//!
//! Run: `cargo bench -p pftls-tls --bench matrix`

use std::time::{Duration, Instant};

use pftls_tls::keys::{generated, CertSpec, KeySpec};
use pftls_tls::postfix_defaults::MEDIUM_37;
use pftls_tls::simulate::simulate;
use pftls_tls::{builtin_profiles, Protocol, ServerTls};

fn configs() -> Vec<(String, ServerTls)> {
    let certs = [
        ("rsa2048", CertSpec::Generated(KeySpec::Rsa(2048))),
        ("rsa3072", CertSpec::Generated(KeySpec::Rsa(3072))),
        (
            "ecdsa-p256",
            CertSpec::Generated(KeySpec::Ec("prime256v1".into())),
        ),
    ];
    let mut out = Vec::new();
    for (name, cert) in certs {
        let before = ServerTls {
            cert: cert.clone(),
            ..ServerTls::default()
        };
        let after = ServerTls {
            ciphers: format!("{MEDIUM_37}:!aDSS:!SHA384:!CAMELLIA:!ARIA:!AESCCM8"),
            min_protocol: Some(Protocol::Tls1_2),
            cert,
            ..ServerTls::default()
        };
        out.push((format!("{name}/before"), before));
        out.push((format!("{name}/after"), after));
    }
    out
}

fn run(configs: &[(String, ServerTls)]) -> (Duration, usize, usize) {
    let profiles = builtin_profiles();
    let start = Instant::now();
    let (mut n, mut ok) = (0, 0);
    for (_, server) in configs {
        for p in &profiles {
            let o = simulate(server, p);
            n += 1;
            ok += usize::from(o.ok);
        }
    }
    (start.elapsed(), n, ok)
}

fn main() {
    let configs = configs();
    // Key generation is a one-time cost per process (cached); measure it separately.
    let t = Instant::now();
    for spec in [
        KeySpec::Rsa(2048),
        KeySpec::Rsa(3072),
        KeySpec::Ec("prime256v1".into()),
    ] {
        generated(&spec).expect("key generation");
    }
    let keygen = t.elapsed();
    let (first, n, ok) = run(&configs);
    let mut warm = Vec::new();
    for _ in 0..10 {
        warm.push(run(&configs).0);
    }
    warm.sort();
    let median = warm[warm.len() / 2];
    println!(
        "matrix: {n} handshakes ({ok} ok) = {} profiles x {} server configs",
        n / configs.len(),
        configs.len()
    );
    println!("  key generation (RSA-2048, RSA-3072, P-256; cached afterwards): {keygen:?}");
    println!("  first matrix (contexts built, keys cached): {first:?}");
    println!(
        "  warm matrix, median of 10: {median:?} (min {:?}, max {:?})",
        warm[0],
        warm[warm.len() - 1]
    );
    println!("  per handshake (warm median): {:?}", median / n as u32);
    println!(
        "  target: whole matrix < 300 ms -> {}",
        if first < Duration::from_millis(300) {
            "met"
        } else {
            "NOT met"
        }
    );
}
