//! Hostile files: FIFOs, devices, directories, oversized and growing files are refused quickly,
//! and no error message ever contains the file's bytes.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use pftls_safe_read::{read, read_optional, read_to_string, Kind, ReadError};

fn mkfifo(p: &Path) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn fifo_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("main.cf");
    mkfifo(&p);
    let t = Instant::now();
    let err = read(&p, Kind::Config).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        matches!(err, ReadError::NotRegular { what: "FIFO", .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("main.cf") && msg.contains("not a regular file"),
        "{msg}"
    );
}

#[test]
fn symlink_to_dev_zero_and_directory_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("policy.yaml");
    std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
    let t = Instant::now();
    let err = read(&p, Kind::Policy).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(err.to_string().contains("character device"), "{err}");
    let err = read(tmp.path(), Kind::Manifest).unwrap_err();
    assert!(err.to_string().contains("directory"), "{err}");
}

#[test]
fn size_limit_and_no_contents_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("master.pid");
    let secret = "root:$6$SECRETHASH:19000:0:99999:7:::\n".repeat(200);
    fs::write(&p, &secret).unwrap();
    let err = read(&p, Kind::Small).unwrap_err();
    assert!(
        matches!(err, ReadError::TooLarge { limit: 4096, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("SECRET"), "{err}");
    // Not UTF-8: the offset is named, the bytes are not.
    let q = tmp.path().join("bin");
    fs::write(&q, b"SECRET\xff\xfe").unwrap();
    let err = read_to_string(&q, Kind::Config).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("byte offset 6") && !msg.contains("SECRET"),
        "{msg}"
    );
}

#[test]
fn regular_files_and_missing_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("main.cf");
    fs::write(&p, "a = b\n").unwrap();
    assert_eq!(read(&p, Kind::Config).unwrap(), b"a = b\n");
    assert_eq!(read_to_string(&p, Kind::Config).unwrap(), "a = b\n");
    let missing = tmp.path().join("nope");
    assert!(read(&missing, Kind::Config).unwrap_err().is_not_found());
    assert_eq!(read_optional(&missing, Kind::Config).unwrap(), None);
    // Permission errors keep the OS's text and the path.
    let err = read(Path::new("/proc/1/mem"), Kind::Config);
    if let Err(e) = err {
        assert!(e.to_string().contains("/proc/1/mem"));
    }
}
