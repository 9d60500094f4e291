//! Prints how long `diagnose` takes on the shipped examples (with and without the handshake
//! simulation). Run: `cargo run --release -p pftls-doctor --example bench_doctor [ROUNDS]`.

use std::path::Path;
use std::time::Instant;

use pftls_doctor::{diagnose, DoctorInput, DoctorOptions};
use pftls_policy::{Catalogue, PostfixVersion};
use pftls_tls::{builtin_profiles, Baseline, ClientProfile};
use postfix_conf::{MainCf, MasterCf};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20)
        .clamp(1, 10_000);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let baseline = match Baseline::load(&repo.join("examples/centos-stream-10/crypto-policies")) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("crypto-policies: {e}");
            std::process::exit(1);
        }
    };
    let version = PostfixVersion::new(3, 7, 11);
    let catalogue = Catalogue::builtin(version);
    let profiles = builtin_profiles();
    for example in [
        "centos-stream-10/over-hardened",
        "centos-stream-10/stock",
        "centos-stream-10/submission",
    ] {
        let dir = repo.join("examples").join(example);
        let (Ok(main), Ok(master)) = (
            std::fs::read(dir.join("main.cf")),
            std::fs::read(dir.join("master.cf")),
        ) else {
            eprintln!("{example}: cannot read the example");
            std::process::exit(1);
        };
        let (Ok(main), Ok(master)) = (MainCf::parse(&main), MasterCf::parse(&master)) else {
            eprintln!("{example}: does not parse");
            std::process::exit(1);
        };
        for (label, profs) in [
            ("with simulation", profiles.as_slice()),
            ("config only", &[] as &[ClientProfile]),
        ] {
            let input = DoctorInput {
                main: &main,
                master: &master,
                catalogue: &catalogue,
                version,
                baseline: &baseline,
                profiles: profs,
                options: DoctorOptions {
                    check_files: false,
                    ..DoctorOptions::default()
                },
            };
            let _warm = diagnose(&input);
            let mut times = Vec::with_capacity(rounds);
            let mut n = 0;
            for _ in 0..rounds {
                let t = Instant::now();
                n = diagnose(&input).len();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            println!(
                "{example:32} {label:16} {n:2} findings  mean {mean:7.2} ms  median {:7.2} ms  min {:7.2} ms  ({rounds} rounds)",
                times[times.len() / 2],
                times[0]
            );
        }
    }
}
