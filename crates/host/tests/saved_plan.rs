//! Saved plans as a library: round trip through the file, and refusal when the directory
//! differs, an input changed, or the stored content is damaged.

use host::saved_plan::{SavedPlan, SavedPlanError};
use host::ConfigFiles;
use pftls_policy::policy::{parse_policy, Origin};
use pftls_policy::{make_plan, Catalogue, CryptoFacts, Environment, PostfixVersion};

fn env() -> Environment {
    let v = PostfixVersion::new(3, 7, 11);
    Environment {
        version: v,
        catalogue: Catalogue::builtin(v),
        crypto: CryptoFacts {
            source: "test".into(),
            min_protocol: "TLSv1.2".into(),
            exclusions: Vec::new(),
            protocols_value: ">=TLSv1.2".into(),
        },
    }
}

#[test]
fn round_trip_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("postfix");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("main.cf"), "smtpd_tls_security_level = encrypt\n").unwrap();
    std::fs::write(dir.join("master.cf"), "smtp inet n - n - - smtpd\n").unwrap();
    let files = ConfigFiles::read(&dir).unwrap();
    let p = parse_policy(
        "name: a\ndescription: d\nmain:\n  smtpd_tls_security_level: may\n",
        Origin::BuiltIn,
        None,
    )
    .unwrap();
    let plan = make_plan(&files.main, &files.master, &[p], &env()).unwrap();
    let saved = SavedPlan::new(
        &plan,
        "2026-01-01T00:00:00Z".into(),
        &dir,
        "3.7.11".into(),
        "test".into(),
    );
    let path = tmp.path().join("plan.json");
    saved.save(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let loaded = SavedPlan::load(&path).unwrap();
    let again = loaded.check_against(&dir, &files).unwrap();
    assert_eq!(again.main_after, plan.main_after);

    // Another directory.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    assert!(matches!(
        loaded.check_against(&other, &files),
        Err(SavedPlanError::OtherDirectory { .. })
    ));
    // An input changed since.
    std::fs::write(dir.join("main.cf"), "smtpd_tls_security_level = none\n").unwrap();
    let changed = ConfigFiles::read(&dir).unwrap();
    let e = loaded.check_against(&dir, &changed).unwrap_err();
    assert_eq!(e.kind(), "stale-plan");
    assert!(
        e.to_string()
            .contains("main.cf changed since the plan was made"),
        "{e}"
    );
    // Damaged content.
    let mut bad = SavedPlan::load(&path).unwrap();
    bad.files[0].after_base64 = "***".into();
    assert!(matches!(
        bad.check_against(&dir, &files),
        Err(SavedPlanError::Corrupt(_))
    ));
    // Not a plan file: the JSON error's line is kept.
    std::fs::write(&path, "{\n  \"format\": 1,\n").unwrap();
    match SavedPlan::load(&path) {
        Err(SavedPlanError::Format { line, .. }) => assert!(line.is_some()),
        other => panic!("{other:?}"),
    }
}
