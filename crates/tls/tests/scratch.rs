use pftls_tls::*;
use std::path::Path;
#[test]
fn explore() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/crypto-policies");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        let t = std::time::Instant::now();
        let p = CryptoPolicy::load(&d).unwrap().unwrap();
        let b = p.baseline().unwrap();
        println!("{:?}: {} sec={} min={} forbidden={:?} ({:?})", d.file_name().unwrap(), b.source, b.seclevel, b.min_protocol, b.forbidden, t.elapsed());
    }
    println!("{:?}", Baseline::openssl_default().unwrap());
    let profiles = builtin_profiles();
    for (label, server) in [
        ("S1", ServerTls::default()),
        ("S2", ServerTls { ciphers: format!("{}:@SECLEVEL=0", postfix_defaults::MEDIUM_37), seclevel: 0, ..Default::default() }),
        ("S3", ServerTls { ciphers: postfix_defaults::HIGH_38.into(), min_protocol: Some(Protocol::Tls1_2), ..Default::default() }),
        ("S4", ServerTls { ciphers: "@SECLEVEL=2:kEECDH:kRSA:kEDH:kPSK:kDHEPSK:kECDHEPSK:kRSAPSK:-aDSS:-3DES:!DES:!RC4:!RC2:!IDEA:-SEED:!eNULL:!aNULL:!MD5:-SHA384:-CAMELLIA:-ARIA:-AESCCM8".into(), min_protocol: Some(Protocol::Tls1_2), ..Default::default() }),
    ] {
        let t = std::time::Instant::now();
        for p in &profiles {
            let o = simulate::simulate(&server, p);
            println!("{label} {:14} {:?} {:?} {:?}", p.id, o.protocol, o.cipher, o.error);
        }
        println!("{label} took {:?}", t.elapsed());
    }
}
