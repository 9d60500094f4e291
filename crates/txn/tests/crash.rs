//! kill -9 at random moments while a child process commits in a loop; after every kill,
//! `recover()` must leave main.cf and master.cf both wholly from the same commit.
//!
//! The child is this test binary re-invoked with `PFTLS_TXN_CRASH_DIR` set.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pftls_txn::*;

const KILLS: usize = 200;
const CHILD_ENV: &str = "PFTLS_TXN_CRASH_DIR";

/// Deterministic contents of generation `gen` (sizes vary so truncation would show).
fn content(kind: &str, gen: u64) -> String {
    let pad = "#".repeat(((gen * 7919) % 30_000) as usize);
    format!("gen = {gen}\n{kind}\n{pad}\nend = {gen}\n")
}

/// The generation of a file if it is exactly one generation's contents.
fn parse(kind: &str, text: &str) -> Option<u64> {
    let gen: u64 = text.lines().next()?.strip_prefix("gen = ")?.parse().ok()?;
    (content(kind, gen) == text).then_some(gen)
}

fn child(base: &Path) {
    let config = base.join("postfix");
    let store = SnapshotStore::new(base.join("backups"));
    // Tell the parent we are past process start-up, so its random delay lands in commits.
    println!("ready");
    // Bounded (a few seconds): the parent kills us long before this.
    for _ in 0..1_000 {
        let lock = lock_config_dir(&config, Duration::from_secs(60)).expect("lock");
        let text = fs::read_to_string(config.join("main.cf")).expect("read");
        let gen = parse("main", &text).expect("consistent main.cf") + 1;
        let changes = vec![
            FileChange {
                name: "main.cf".into(),
                path: config.join("main.cf"),
                new_contents: content("main", gen).into_bytes(),
                expected: Expected::Unchecked,
            },
            FileChange {
                name: "master.cf".into(),
                path: config.join("master.cf"),
                new_contents: content("master", gen).into_bytes(),
                expected: Expected::Unchecked,
            },
        ];
        let meta = SnapshotMeta {
            action: Action::Apply,
            policies: vec![format!("gen{gen}")],
            config_dir: config.clone(),
            pftls_version: "test".into(),
        };
        commit(&lock, &store, &changes, &meta, None, Some(30)).expect("commit");
    }
}

/// Small xorshift PRNG seeded from the clock (no rand dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn kill9_during_commits() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("postfix");
    fs::create_dir(&config).unwrap();
    fs::write(config.join("main.cf"), content("main", 0)).unwrap();
    fs::write(config.join("master.cf"), content("master", 0)).unwrap();
    let store = SnapshotStore::new(tmp.path().join("backups"));
    let exe = std::env::current_exe().unwrap();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);

    let (mut forward, mut back, mut discarded, mut incomplete_seen) = (0, 0, 0, 0);
    let mut last_gen = 0;
    let started = Instant::now();
    for i in 0..KILLS {
        let mut ch = Command::new(&exe)
            .args([
                "--exact",
                "kill9_during_commits",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(ch.stdout.take().unwrap());
        let mut line = String::new();
        // Bounded: the harness prints a few lines before ours.
        for _ in 0..20 {
            line.clear();
            // The harness prints "test NAME ... " without a newline before running the test.
            if out.read_line(&mut line).unwrap() == 0 || line.trim_end().ends_with("ready") {
                break;
            }
        }
        assert!(
            line.trim_end().ends_with("ready"),
            "child started: {line:?}"
        );
        // 0-300 ms: a commit takes ~4 ms (release, idle) to ~100 ms (debug, busy shared disk).
        std::thread::sleep(Duration::from_micros(rng.next() % 300_000));
        ch.kill().unwrap(); // SIGKILL
        let status = ch.wait().unwrap();
        assert!(
            status.code().is_none(),
            "child died by the signal, not by a failure: {status:?}"
        );

        let lock = lock_config_dir(&config, Duration::from_secs(10)).unwrap();
        match recover(&lock).unwrap() {
            Some(Recovery {
                action: RecoveryAction::RolledForward,
                ..
            }) => forward += 1,
            Some(Recovery {
                action: RecoveryAction::RolledBack,
                ..
            }) => back += 1,
            Some(Recovery {
                action: RecoveryAction::Discarded,
                ..
            }) => discarded += 1,
            None => {}
        }
        let main = fs::read_to_string(config.join("main.cf")).unwrap();
        let master = fs::read_to_string(config.join("master.cf")).unwrap();
        let gm = parse("main", &main).unwrap_or_else(|| panic!("kill {i}: main.cf is torn"));
        let gs = parse("master", &master).unwrap_or_else(|| panic!("kill {i}: master.cf is torn"));
        assert_eq!(
            gm, gs,
            "kill {i}: main.cf and master.cf from different commits"
        );
        assert!(
            gm >= last_gen,
            "kill {i}: went back from {last_gen} to {gm}"
        );
        last_gen = gm;
        assert_eq!(
            common::names(&config),
            ["main.cf", "master.cf"],
            "kill {i}: leftovers"
        );
        for info in store.list().unwrap() {
            if !info.complete {
                incomplete_seen += 1;
                continue;
            }
            store.verify(&info.id).unwrap();
            let m = String::from_utf8(store.read_file(&info.id, "main.cf").unwrap()).unwrap();
            let s = String::from_utf8(store.read_file(&info.id, "master.cf").unwrap()).unwrap();
            assert_eq!(
                parse("main", &m),
                parse("master", &s),
                "snapshot {}",
                info.id
            );
            assert!(parse("main", &m).is_some());
        }
        drop(lock);
    }
    // Prune reclaims incomplete snapshots left by kills once newer complete ones exist.
    store.prune(5).unwrap();
    let left = store.list().unwrap();
    assert_eq!(left.iter().filter(|i| i.complete).count(), 5);
    let oldest_kept = left.iter().position(|i| i.complete).unwrap();
    assert_eq!(
        oldest_kept, 0,
        "no incomplete snapshot older than the kept ones: {left:?}"
    );
    println!(
        "kill9: {KILLS} kills, {last_gen} commits completed, recoveries: {forward} rolled forward, \
         {back} rolled back, {discarded} discarded; incomplete snapshots observed {incomplete_seen}; {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(last_gen > 0, "children made progress");
    assert!(
        forward + discarded > 0,
        "some kills hit a transaction in flight"
    );
}
