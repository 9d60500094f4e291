//! 16 threads committing on one config directory at once: serialised by the lock.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use pftls_txn::*;

const THREADS: usize = 16;
const ROUNDS: usize = 3;

fn tag_of(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[test]
fn sixteen_threads_commit_concurrently() {
    let env = Arc::new(Env::new());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let env = Arc::clone(&env);
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for r in 0..ROUNDS {
                    let lock = lock_config_dir(&env.config, Duration::from_secs(120))
                        .expect("lock within timeout");
                    let tag = format!("writer = {t}/{r}");
                    let main = format!("{tag}\nsmtpd_tls_security_level = may\n");
                    let master = format!("{tag}\nsmtp inet n - y - - smtpd\n");
                    let rep = commit(
                        &lock,
                        &env.store(),
                        &env.changes(&main, &master),
                        &env.meta(),
                        None,
                        None,
                    )
                    .expect("commit");
                    assert!(rep.changed);
                    // Under the lock, nobody else can have touched the files since.
                    assert_eq!(env.read("main.cf"), main);
                    assert_eq!(env.read("master.cf"), master);
                    ids.push(rep.backup.expect("snapshot").id);
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("thread finished"));
    }
    assert_eq!(all.len(), THREADS * ROUNDS);
    let uniq: HashSet<&String> = all.iter().collect();
    assert_eq!(uniq.len(), all.len(), "snapshot ids are unique");

    let store = env.store();
    let list = store.list().unwrap();
    assert_eq!(list.len(), all.len());
    let mut first_state = 0;
    for info in &list {
        assert!(info.complete, "{} complete", info.id);
        store.verify(&info.id).unwrap();
        let main = String::from_utf8(store.read_file(&info.id, "main.cf").unwrap()).unwrap();
        let master = String::from_utf8(store.read_file(&info.id, "master.cf").unwrap()).unwrap();
        // Each snapshot holds one consistent state (both files from the same commit).
        if main == MAIN_OLD {
            assert_eq!(master, MASTER_OLD);
            first_state += 1;
        } else {
            assert_eq!(tag_of(&main), tag_of(&master), "snapshot {}", info.id);
        }
    }
    assert_eq!(first_state, 1, "exactly one snapshot saw the initial state");
    assert_eq!(tag_of(&env.read("main.cf")), tag_of(&env.read("master.cf")));
    assert_eq!(names(&env.config), ["main.cf", "master.cf"]);
}
