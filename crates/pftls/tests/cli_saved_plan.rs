//! Saved plans cannot be altered unnoticed: every tampering (bytes, summary, file list,
//! config dir, Postfix version), with or without a recomputed digest, is refused before
//! anything is written.

mod common;

use common::Sandbox;
use pftls_policy::saved::SavedPlan;

const OVER: &str = "centos-stream-10/over-hardened";

fn sha256_hex(b: &[u8]) -> String {
    openssl::sha::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Rewrite the plan file with `edit` applied, with a freshly computed (valid) digest, as an
/// attacker who read the source would.
fn tamper(path: &std::path::Path, edit: impl FnOnce(&mut SavedPlan)) {
    let mut p: SavedPlan = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut p);
    p.digest.clear();
    p.digest = sha256_hex(&serde_json::to_vec(&p).unwrap());
    std::fs::write(path, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
}

fn make_plan(s: &Sandbox) -> std::path::PathBuf {
    let plan = s.tmp.path().join("plan.json");
    let (code, v) = s.json(&[
        "plan",
        "-p",
        "inbound-opportunistic",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{v}");
    plan
}

/// Apply must fail with `kind` and a message containing `why`, writing nothing.
fn refused(s: &Sandbox, plan: &std::path::Path, kind: &str, why: &str) {
    let (main, master) = (s.main_cf(), s.master_cf());
    let (code, e) = s.json(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code, 1, "{e}");
    assert_eq!(e["error"]["kind"], kind, "{e}");
    assert_eq!(e["changed"], false);
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains(why), "{msg}");
    assert_eq!(s.main_cf(), main, "main.cf written");
    assert_eq!(s.master_cf(), master, "master.cf written");
    assert!(s.snapshots().is_empty(), "snapshot taken");
}

#[test]
fn altered_saved_plans_are_refused_before_anything_is_written() {
    let s = Sandbox::new(OVER);
    let plan = make_plan(&s);
    let pristine = std::fs::read(&plan).unwrap();
    let evil = |p: &mut SavedPlan| {
        let f = p.files.iter_mut().find(|f| f.name == "main.cf").unwrap();
        let mut bytes = openssl::base64::decode_block(&f.after_base64).unwrap();
        bytes.extend_from_slice(b"mynetworks = 0.0.0.0/0\n");
        f.after_base64 = openssl::base64::encode_block(&bytes);
        f.after_sha256 = sha256_hex(&bytes);
    };

    // Edited by hand, digest left alone.
    let mut v: serde_json::Value = serde_json::from_slice(&pristine).unwrap();
    v["postfix_version"] = "3.7.12".into();
    std::fs::write(&plan, serde_json::to_vec(&v).unwrap()).unwrap();
    refused(&s, &plan, "plan", "altered after it was saved");

    // Bytes altered, digest recomputed: the policies do not produce them.
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, evil);
    refused(&s, &plan, "plan", "not what its policies produce");

    // The change summary contradicts the bytes.
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, |p| p.plan.changes[0].after = Some("none".into()));
    refused(&s, &plan, "plan", "change summary");

    // master.cf missing (it used to empty master.cf).
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, |p| p.files.retain(|f| f.name != "master.cf"));
    refused(&s, &plan, "plan", "master.cf is missing");

    // Another config dir, another Postfix version.
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, |p| p.config_dir = "/etc/postfix-out".into());
    refused(&s, &plan, "stale-plan", "made for /etc/postfix-out");
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, |p| p.postfix_version = "3.8.6".into());
    refused(&s, &plan, "stale-plan", "Postfix 3.8.6");

    // The embedded policy text altered.
    std::fs::write(&plan, &pristine).unwrap();
    tamper(&plan, |p| {
        p.policies[0].text.push_str("\n# x\n");
        p.policies[0].sha256 = sha256_hex(p.policies[0].text.as_bytes());
    });
    refused(&s, &plan, "stale-plan", "changed since the plan was made");

    // The untouched plan still applies, exactly.
    std::fs::write(&plan, &pristine).unwrap();
    let saved: SavedPlan = serde_json::from_slice(&pristine).unwrap();
    let (code, a) = s.json(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(code, 0, "{a}");
    let main_sha = &saved
        .files
        .iter()
        .find(|f| f.name == "main.cf")
        .unwrap()
        .after_sha256;
    assert_eq!(&sha256_hex(&s.main_cf()), main_sha);
}
