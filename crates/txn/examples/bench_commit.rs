//! Bench: latency of `commit` (snapshot + atomic two-file write + verify) and `restore`.
//!
//! `cargo run --release -p pftls-txn --example bench_commit [DIR] [N]`: DIR (default: a new
//! temp dir under /tmp) is where config and backups live; N commits (default 200).
//! Prints mean / p50 / p99 / max per operation; no assertions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pftls_txn::*;

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let n = v.len().max(1);
    let mean = v.iter().sum::<Duration>() / n as u32;
    let pct = |p: usize| {
        v.get((v.len() * p / 100).min(v.len().saturating_sub(1)))
            .copied()
    };
    println!(
        "{name:<22} n={:<5} mean={:>8.2?} p50={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        v.len(),
        mean,
        pct(50).unwrap_or_default(),
        pct(99).unwrap_or_default(),
        v.last().copied().unwrap_or_default()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let _guard;
    let base: PathBuf = match args.get(1) {
        Some(d) => PathBuf::from(d),
        None => {
            let t = std::env::temp_dir().join(format!("pftls-bench-{}", std::process::id()));
            std::fs::create_dir_all(&t)?;
            _guard = Cleanup(t.clone());
            t
        }
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let config = base.join("postfix");
    std::fs::create_dir_all(&config)?;
    // Realistic sizes: Debian's main.cf ~ 2 KB, a commented one ~ 30 KB; master.cf ~ 6 KB.
    let main = |i: usize| {
        format!(
            "# gen {i}\n{}",
            "smtpd_tls_security_level = may\n".repeat(1000)
        )
    };
    let master = |i: usize| format!("# gen {i}\n{}", "smtp inet n - y - - smtpd\n".repeat(230));
    std::fs::write(config.join("main.cf"), main(0))?;
    std::fs::write(config.join("master.cf"), master(0))?;
    let store = SnapshotStore::new(base.join("backups"));
    let meta = SnapshotMeta {
        action: Action::Apply,
        policies: vec!["bench".into()],
        config_dir: config.clone(),
        pftls_version: "bench".into(),
    };
    let lock = lock_config_dir(&config, Duration::from_secs(10))?;
    let (mut commits, mut noops, mut restores, mut lists) = (vec![], vec![], vec![], vec![]);
    for i in 1..=n {
        let changes = vec![
            FileChange {
                name: "main.cf".into(),
                path: config.join("main.cf"),
                new_contents: main(i).into_bytes(),
                expected: Expected::Unchecked,
            },
            FileChange {
                name: "master.cf".into(),
                path: config.join("master.cf"),
                new_contents: master(i).into_bytes(),
                expected: Expected::Unchecked,
            },
        ];
        let t = Instant::now();
        let r = commit(&lock, &store, &changes, &meta, None, Some(50))?;
        commits.push(t.elapsed());
        let t = Instant::now();
        commit(&lock, &store, &changes, &meta, None, None)?;
        noops.push(t.elapsed());
        if i % 10 == 0 {
            let id = r.backup.map(|b| b.id).unwrap_or_default();
            let t = Instant::now();
            restore(&lock, &store, &id, &config, None, None)?;
            restores.push(t.elapsed());
            let t = Instant::now();
            let _ = store.list()?;
            lists.push(t.elapsed());
        }
    }
    println!(
        "dir {} (main.cf {} B, master.cf {} B)",
        base.display(),
        main(0).len(),
        master(0).len()
    );
    stats("commit (2 files)", commits);
    stats("commit (no change)", noops);
    stats("restore (2 files)", restores);
    stats("list (<=50 snapshots)", lists);
    Ok(())
}

struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
