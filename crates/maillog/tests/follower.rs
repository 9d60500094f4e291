//! LogFollower against a real writer thread: rename rotation and copytruncate, every line
//! exactly once, in order, nothing from before the start.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use pftls_maillog::LogFollower;

const POLL: Duration = Duration::from_millis(20);
const LINES: usize = 200;

#[derive(Clone, Copy)]
enum Rotation {
    Rename,
    CopyTruncate,
}

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// Writes LINES lines over ~2 s, rotating at the half; one line is written in two pieces.
fn writer(path: PathBuf, rotation: Rotation) {
    let mut f = append(&path);
    for i in 0..LINES {
        if i == LINES / 2 {
            match rotation {
                Rotation::Rename => {
                    fs::rename(&path, path.with_extension("1")).unwrap();
                    // A line still written to the old file after the rename (as a daemon
                    // does until it reopens its log) must not be lost.
                    writeln!(f, "late line in the rotated file").unwrap();
                    f = append(&path);
                }
                Rotation::CopyTruncate => {
                    // logrotate's copytruncate; give the follower time to read the tail
                    // first (lines written between its last read and the truncate are lost
                    // to any follower, tail -F included).
                    thread::sleep(POLL * 5);
                    fs::copy(&path, path.with_extension("1")).unwrap();
                    f.set_len(0).unwrap();
                }
            }
        }
        if i == 10 {
            write!(f, "line {i:04} first half").unwrap();
            f.flush().unwrap();
            thread::sleep(POLL * 3);
            writeln!(f, " second half").unwrap();
        } else {
            writeln!(f, "line {i:04}").unwrap();
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn follow(rotation: Rotation) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    fs::write(&path, "old line 1\nold line 2\n").unwrap();
    let mut fol = LogFollower::open(&path).unwrap().with_poll_interval(POLL);
    let p = path.clone();
    let w = thread::spawn(move || writer(p, rotation));
    let mut expected: Vec<String> = (0..LINES)
        .map(|i| {
            if i == 10 {
                format!("line {i:04} first half second half")
            } else {
                format!("line {i:04}")
            }
        })
        .collect();
    if let Rotation::Rename = rotation {
        expected.insert(LINES / 2, "late line in the rotated file".into());
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < expected.len() && Instant::now() < deadline {
        seen.extend(fol.wait_lines(Duration::from_millis(500)).unwrap());
    }
    w.join().unwrap();
    // Nothing more arrives later (no duplicates after the writer stopped).
    seen.extend(fol.wait_lines(POLL * 5).unwrap());
    assert_eq!(seen, expected);
}

#[test]
fn rename_rotation_every_line_once() {
    follow(Rotation::Rename);
}

#[test]
fn copytruncate_every_line_once() {
    follow(Rotation::CopyTruncate);
}

#[test]
fn missing_file_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut fol = LogFollower::open(&path).unwrap().with_poll_interval(POLL);
    assert!(fol.poll().unwrap().is_empty());
    fs::write(&path, "a\nb\npartial").unwrap();
    assert_eq!(
        fol.wait_lines(Duration::from_secs(2)).unwrap(),
        vec!["a", "b"]
    );
    let t = Instant::now();
    assert!(fol.wait_lines(POLL * 3).unwrap().is_empty());
    assert!(t.elapsed() < Duration::from_secs(2), "wait is bounded");
}
