"""Ansible tests of the pftls.postfix collection and examples/ansible over a fleet reached by
real SSH (tests/ansible/sshfleet.sh: one network namespace and one sshd per host, login as an
unprivileged user, become to root through sudo).

Run by tests/ansible/run.sh with the virtualenv's Python, after sshfleet_up:
    python test_fleet.py --pftls target/debug/pftls --fleet DIR --controller-ns NS
Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.
"""

import argparse
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402  (the directory of this file is put on the path just above)

# Serial batches [h01], [h02..h05], [h06..h10]; the broken host h05 stops the rollout.
STAGED = ["-e", '{"pftls_serial": [1, 4, "100%"], "pftls_max_fail_percentage": 0}']
ONE_BATCH = ["-e", '{"pftls_serial": "100%", "pftls_max_fail_percentage": 100}']


class Results:
    """Counts and prints checks; a failed check never stops the run."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        """Records one check."""
        if ok:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + str(detail)[:600]) if detail else ""))
        sys.stdout.flush()
        return ok


def expect_stats(res, name, run, hosts, changed, failed, absent=()):
    """Every host of HOSTS ran with changed/failed exactly as expected; ABSENT did not run."""
    problems = []
    for host in hosts:
        counts = run.stats.get(host)
        if host in absent:
            if counts is not None:
                problems.append("%s ran (%r)" % (host, counts))
            continue
        if counts is None:
            problems.append("%s did not run" % host)
            continue
        if (counts.get("changed", 0) > 0) != (host in changed):
            problems.append("%s changed=%d" % (host, counts.get("changed", 0)))
        if (counts.get("failures", 0) > 0) != (host in failed):
            problems.append("%s failures=%d" % (host, counts.get("failures", 0)))
        if counts.get("unreachable", 0):
            problems.append("%s unreachable" % host)
    if not run.data:
        problems.append("no json output: %s" % run.output[-400:])
    res.check(name + ": per-host changed/failed", not problems, "; ".join(problems[:6]))


def expect_untouched(res, name, before, after):
    """No file or directory changed bytes or mtime (nor appeared, nor vanished), no reload."""
    diffs = [
        "%s:%s" % (host, path)
        for host in sorted(before)
        for path in sorted(set(before[host]) | set(after[host]))
        if before[host].get(path) != after[host].get(path)
    ]
    res.check(name + ": nothing touched (bytes, mtimes, reloads)", not diffs, ", ".join(diffs[:6]))


def broken_message_re(fl, host):
    """pftls's message for the broken host: FILE:LINE: message."""
    path = os.path.join(fl.hosts[host]["config_dir"], "main.cf")
    return re.compile(r"pftls: %s:\d+: %s" % (re.escape(path), re.escape(fleet.BROKEN_MESSAGE)))


def expect_broken(res, name, fl, results):
    """The broken host's task failed, its msg being pftls's file:line message."""
    ok = bool(fl.broken)
    for host in fl.broken:
        result = results.get(host) or {}
        ok = ok and result.get("failed") and broken_message_re(fl, host).search(result.get("msg", ""))
    res.check(name + ": the broken host fails with pftls's file:line message", ok, results.get(fl.broken[0]))


def collection_checks(res, venv_bin, sanity_bin, tmp, env):
    """Builds the collection, installs the tarball, runs ansible-test sanity, ansible-doc and
    ansible-lint. Returns the collections path the playbooks use."""
    out_dir = os.path.join(tmp, "build")
    proc = subprocess.run(
        [os.path.join(venv_bin, "ansible-galaxy"), "collection", "build", "--output-path", out_dir],
        cwd=fleet.COLLECTION, env=env, capture_output=True, text=True, check=False,
    )
    tarballs = glob.glob(os.path.join(out_dir, "pftls-postfix-*.tar.gz"))
    res.check("ansible-galaxy collection build", proc.returncode == 0 and len(tarballs) == 1, proc.stdout + proc.stderr)
    collections = os.path.join(tmp, "collections")
    proc = subprocess.run(
        [os.path.join(venv_bin, "ansible-galaxy"), "collection", "install", "-p", collections] + tarballs[:1],
        env=env, capture_output=True, text=True, check=False,
    )
    installed = os.path.join(collections, "ansible_collections", "pftls", "postfix")
    res.check(
        "ansible-galaxy collection install of the tarball",
        proc.returncode == 0 and os.path.isfile(os.path.join(installed, "MANIFEST.json")),
        proc.stdout + proc.stderr,
    )
    # Sanity on the installed tarball content: what users get, outside any git checkout.
    sanity_env = dict(env)
    sanity_env["PATH"] = sanity_bin + os.pathsep + env["PATH"]
    started = time.monotonic()
    proc = subprocess.run(
        [os.path.join(sanity_bin, "ansible-test"), "sanity", "--local", "--python",
         "%d.%d" % sys.version_info[:2], "--color", "no"],
        cwd=installed, env=sanity_env, capture_output=True, text=True, check=False,
    )
    out = proc.stdout + proc.stderr
    ran = set(re.findall(r'Running sanity test "([\w-]+)"', out))
    wanted = {"validate-modules", "pep8", "pylint", "compile", "import", "yamllint", "ansible-doc"}
    res.check(
        "ansible-test sanity (%s) clean, %.0fs" % (", ".join(sorted(wanted)), time.monotonic() - started),
        proc.returncode == 0 and wanted <= ran and "ERROR" not in out,
        "exit %d, ran %s\n%s" % (proc.returncode, sorted(ran), "\n".join(l for l in out.splitlines() if "ERROR" in l or "FATAL" in l)),
    )
    doc_env = dict(env)
    doc_env["ANSIBLE_COLLECTIONS_PATH"] = collections
    for module, needles in (
        ("pftls.postfix.tls_policy", ["reload_command", "rolled_back", "backup_id", "check_mode", "diff_mode"]),
        ("pftls.postfix.tls_info", ["findings", "topology", "settings", "check_mode"]),
    ):
        proc = subprocess.run(
            [os.path.join(venv_bin, "ansible-doc"), "-t", "module", module],
            env=doc_env, capture_output=True, text=True, check=False,
        )
        out = proc.stdout + proc.stderr
        res.check(
            "ansible-doc %s renders options, attributes and return values" % module,
            proc.returncode == 0 and all(n in out for n in needles),
            out[-400:],
        )
    proc = subprocess.run(
        [os.path.join(venv_bin, "ansible-doc"), "-t", "role", "pftls.postfix.pftls"],
        env=doc_env, capture_output=True, text=True, check=False,
    )
    res.check("ansible-doc -t role pftls.postfix.pftls", proc.returncode == 0, proc.stdout + proc.stderr)
    for where in (fleet.PLAYBOOKS, fleet.COLLECTION):
        proc = subprocess.run(
            [os.path.join(venv_bin, "ansible-lint"), "--nocolor", "--offline", "--profile", "production"],
            cwd=where, env=doc_env, capture_output=True, text=True, check=False,
        )
        res.check(
            "ansible-lint --profile production %s" % os.path.relpath(where, fleet.REPO),
            proc.returncode == 0,
            proc.stdout + proc.stderr,
        )
    return collections


def diff_helper(res, pftls, tmp):
    """module_utils rebuilds the planned file from pftls's unified diff, also for CRLF lines and
    a missing final newline, and refuses a diff that does not fit."""
    spec = importlib.util.spec_from_file_location(
        "pftls_module_utils", os.path.join(fleet.COLLECTION, "plugins", "module_utils", "pftls.py")
    )
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    conf = os.path.join(tmp, "crlf")
    shutil.copytree(os.path.join(fleet.EXAMPLES, "centos-stream-10", "over-hardened"), conf)
    for filename in ("main.cf", "master.cf"):
        path = os.path.join(conf, filename)
        with open(path, "rb") as handle:
            data = handle.read().replace(b"\n", b"\r\n").rstrip(b"\r\n")
        with open(path, "wb") as handle:
            handle.write(data)
    code, out = fleet.run_pftls(
        pftls,
        ["-c", conf, "--backup-dir", os.path.join(tmp, "crlf-bk"), "--crypto-policies-dir",
         fleet.CS10_CRYPTO, "plan"] + ["--policy=%s" % p for p in fleet.POLICIES],
    )
    changed = [f for f in (out or {}).get("files", []) if f.get("changed")]
    ok = code == 0 and len(changed) == 2
    for entry in changed:
        with open(entry["path"], "rb") as handle:
            after = utils.apply_unified_diff(handle.read(), entry["diff"])
        ok = ok and after is not None and utils.sha256_hex(after) == entry["after_sha256"]
    res.check("module_utils: planned CRLF text rebuilt from the diff matches after_sha256", ok, repr(out)[:300])
    res.check(
        "module_utils: a diff that does not fit is refused",
        changed != [] and utils.apply_unified_diff(b"other\n", changed[0]["diff"]) is None,
    )


def install(res, runner, fl, pftls_src):
    """install.yml copies the pftls binary to every host, as root, over ssh; again: no change."""
    hosts = sorted(fl.hosts)
    run = runner.playbook("install.yml")
    expect_stats(res, "install.yml", run, hosts, hosts, [])
    with open(pftls_src, "rb") as handle:
        want = handle.read()
    ok = True
    for host in hosts:
        path = fl.hosts[host]["binary"]
        st = os.stat(path)
        with open(path, "rb") as handle:
            ok = ok and handle.read() == want and st.st_uid == 0 and st.st_mode & 0o777 == 0o755
    res.check("install.yml: every host has the binary, root-owned 0755", ok)


def info_before(res, runner, fl):
    """info.yml: findings on the non-compliant hosts, none on the compliant ones."""
    hosts = sorted(fl.hosts)
    trees = fl.trees()
    run = runner.playbook("info.yml")
    expect_stats(res, "info.yml before", run, hosts, [], fl.broken)
    results = run.results("Read findings and settings")
    expect_broken(res, "info.yml before", fl, results)
    res.check(
        "info.yml before: findings on every non-compliant host, none on the compliant ones",
        all(results[h].get("findings") for h in fl.noncompliant)
        and all(results[h].get("findings") == [] for h in fl.compliant),
        dict((h, [f.get("id") for f in results.get(h, {}).get("findings", [])]) for h in hosts),
    )
    res.check(
        "info.yml: effective settings with provenance, counts, postfix_version",
        all(
            any(s.get("name") == "smtpd_tls_security_level" and s.get("source") for s in results[h].get("settings", []))
            and set(results[h].get("counts", {})) >= {"error", "warning", "info"}
            and results[h].get("postfix_version")
            for h in fl.noncompliant + fl.compliant
        ),
    )
    res.check(
        "info.yml: the listener topology pftls reports (port 25 as role mx) is passed through",
        all(
            any(
                listener.get("service") == "smtp/inet" and listener.get("role") == "mx"
                for listener in (results[h].get("topology") or {}).get("listeners", [])
            )
            for h in fl.noncompliant + fl.compliant
        ),
        dict((h, results[h].get("topology")) for h in fl.compliant[:1]),
    )
    expect_untouched(res, "info.yml", trees, fl.trees())


def check_mode(res, runner, fl):
    """module-apply.yml --check --diff: the exact diffs, nothing touched. Returns the diffs."""
    hosts = sorted(fl.hosts)
    trees = fl.trees()
    initial = dict((h, fl.config_bytes(h)) for h in hosts)
    run = runner.playbook("module-apply.yml", "--check", "--diff", *ONE_BATCH)
    expect_stats(res, "module-apply.yml --check --diff", run, hosts, fl.noncompliant, fl.broken)
    expect_untouched(res, "module-apply.yml --check --diff", trees, fl.trees())
    results = run.results("Apply the policies")
    expect_broken(res, "module-apply.yml --check", fl, results)
    planned = {}
    ok = True
    for host in fl.noncompliant:
        diffs = results[host].get("diff") or []
        for entry in diffs:
            name = os.path.basename(entry.get("before_header", ""))
            ok = ok and entry.get("before") == initial[host].get(name, b"").decode()
            planned.setdefault(host, {})[name] = entry.get("after")
        ok = ok and diffs and all(e.get("before") != e.get("after") for e in diffs)
    ok = ok and all(not results[h].get("diff") and not results[h].get("changed") for h in fl.compliant)
    res.check("module-apply.yml --check --diff: before = the host's file, for every changed file", ok)
    path = os.path.join(fl.hosts[fl.noncompliant[0]]["config_dir"], "main.cf")
    res.check(
        "module-apply.yml --check --diff (text): --- before/+++ after of main.cf, the planned lines",
        "--- before: %s" % path in run.output and "+smtpd_tls_loglevel = 1" in run.output,
        run.output[-800:],
    )
    host = fl.noncompliant[0]
    run = runner.playbook("module-apply.yml", "--check", "--limit", host, "-e", "pftls_postfix_version=banana")
    result = run.results("Apply the policies").get(host) or {}
    res.check(
        "module-apply.yml postfix_version=banana: pftls's refusal, nothing touched",
        result.get("failed") and "--postfix-version" in " ".join(result.get("cmd") or [])
        and result.get("msg", "").startswith("pftls") and "banana" in result.get("msg", ""),
        result,
    )
    sample = [host, fl.compliant[0]]
    run = runner.playbook("site.yml", "--check", "--diff", "--limit", ",".join(sample))
    expect_stats(res, "site.yml --check --diff", run, sample, [host], [])
    res.check(
        "site.yml --check --diff: the role shows the same planned text",
        all(
            e.get("after") == planned[host][os.path.basename(e.get("after_header", ""))]
            for e in run.results("Apply the policies")[host].get("diff") or [{}]
        ),
    )
    expect_untouched(res, "module-apply.yml postfix_version, site.yml --check", trees, fl.trees())
    return planned


def staged_rollout(res, runner, fl):
    """module-apply.yml staged: the broken host in batch 2 stops the rollout before batch 3;
    module-rollback.yml then restores the hosts it changed, byte for byte."""
    hosts = sorted(fl.hosts)
    trees = fl.trees()
    initial = dict((h, fl.config_bytes(h)) for h in hosts)
    run = runner.playbook("module-apply.yml", "--diff", *STAGED)
    batch12, batch3 = hosts[:5], hosts[5:]
    reached_nc = [h for h in fl.noncompliant if h in batch12]
    expect_stats(res, "staged rollout", run, hosts, reached_nc, fl.broken, absent=batch3)
    res.check("staged rollout: exit code 2 (a host failed)", run.code == 2, run.code)
    expect_broken(res, "staged rollout", fl, run.results("Apply the policies"))
    expect_untouched(
        res, "staged rollout: batch 3 (max_fail_percentage=0) and compliant hosts",
        dict((h, trees[h]) for h in hosts if h not in reached_nc),
        dict((h, t) for h, t in fl.trees().items() if h not in reached_nc),
    )
    res.check(
        "staged rollout: changed hosts reloaded once, as root, with one snapshot",
        all(fl.reloads(h) == ["0"] and len(fl.snapshots(h)) == 1 for h in reached_nc)
        and all(fl.config_bytes(h) != initial[h] for h in reached_nc),
        dict((h, fl.reloads(h)) for h in hosts),
    )
    run = runner.playbook("module-rollback.yml", "--diff")
    expect_stats(res, "module-rollback.yml after the stopped rollout", run, hosts, reached_nc, [])
    res.check(
        "module-rollback.yml: every host restored byte for byte",
        all(fl.config_bytes(h) == initial[h] for h in hosts),
    )


def role_rollback_on_failure(res, runner, fl):
    """site.yml with a failing verification command: the role rolls the host back."""
    host = fl.noncompliant[0]
    initial = fl.config_bytes(host)
    snapshots = len(fl.snapshots(host))
    run = runner.playbook(
        "site.yml", "--limit", host, "-e", '{"pftls_verify_command": ["/bin/false"]}'
    )
    results = run.results("Fail the host with the reason")
    res.check(
        "site.yml, verification fails: the role rolls back and fails the host",
        run.stats.get(host, {}).get("failures") == 1
        and run.results("Roll back to the snapshot taken by this apply").get(host, {}).get("changed")
        and "verification command `/bin/false` exited 1" in (results.get(host) or {}).get("msg", "")
        and "rolled back to snapshot" in (results.get(host) or {}).get("msg", "")
        and fl.config_bytes(host) == initial
        and len(fl.snapshots(host)) == snapshots + 2,
        results.get(host),
    )


def role_rollout(res, runner, fl, planned):
    """site.yml without the broken host: exactly the non-compliant hosts change, to exactly the
    planned text; again: changed=0; info: no findings; rollback: byte for byte."""
    hosts = [h for h in sorted(fl.hosts) if h not in fl.broken]
    limit = ["--limit", "all:!%s" % ",!".join(fl.broken)]
    initial = dict((h, fl.config_bytes(h)) for h in hosts)
    reloads = dict((h, len(fl.reloads(h))) for h in hosts)
    trees = fl.trees()
    # A canary host, then the rest in one batch.
    run = runner.playbook("site.yml", "--diff", "-e", '{"pftls_serial": [1, "100%"]}', *limit)
    expect_stats(res, "site.yml", run, hosts, fl.noncompliant, [])
    res.check(
        "site.yml: each changed file is exactly the text check mode showed",
        all(
            fl.config_bytes(h)[name].decode() == after
            for h in fl.noncompliant
            for name, after in planned.get(h, {}).items()
        )
        and all(set(planned.get(h, {})) for h in fl.noncompliant),
    )
    res.check(
        "site.yml: a policy given by file gives the same bytes as by name",
        fl.config_bytes(fleet.POLICY_FILE_HOST) == fl.config_bytes(fleet.POLICY_FILE_TWIN)
        and fleet.POLICY_FILE_HOST in fl.noncompliant
        and fl.hosts[fleet.POLICY_FILE_HOST]["policies"][-1].endswith(".yaml"),
    )
    res.check(
        "site.yml: reload only where something changed",
        all(len(fl.reloads(h)) == reloads[h] + (1 if h in fl.noncompliant else 0) for h in hosts),
    )
    expect_untouched(
        res, "site.yml: compliant hosts",
        dict((h, trees[h]) for h in fl.compliant),
        dict((h, fl.tree(h)) for h in fl.compliant),
    )
    res.check(
        "site.yml: the role's doctor ran before and after",
        len(run.results("Doctor before the change")) == len(hosts)
        and len(run.results("Doctor after the change")) == len(hosts),
    )
    after = fl.trees()
    run = runner.playbook("site.yml", *ONE_BATCH + limit)
    expect_stats(res, "site.yml again", run, hosts, [], [])
    expect_untouched(res, "site.yml again", after, fl.trees())

    run = runner.playbook("info.yml", *limit)
    results = run.results("Read findings and settings")
    res.check(
        "info.yml after: no findings on any host",
        len(results) == len(hosts) and all(r.get("findings") == [] for r in results.values()),
        dict((h, [f.get("id") for f in r.get("findings", [])]) for h, r in results.items()),
    )

    run = runner.playbook("module-rollback.yml", "--check", "--diff")
    res.check(
        "module-rollback.yml --check --diff: shows the lines it removes",
        "-smtpd_tls_loglevel = 1" in run.output and "--- before: " in run.output,
    )
    expect_untouched(res, "module-rollback.yml --check --diff", after, fl.trees())
    run = runner.playbook("module-rollback.yml")
    expect_stats(res, "module-rollback.yml", run, sorted(fl.hosts), fl.noncompliant, [])
    res.check(
        "module-rollback.yml: every host restored byte for byte",
        all(fl.config_bytes(h) == initial[h] for h in hosts),
    )
    return dict((h, planned.get(h)) for h in fl.noncompliant)


def command_playbooks(res, runner, fl, planned):
    """dry-run.yml, apply.yml (check, apply, again) and rollback.yml: the command-module way."""
    fl.reset()
    hosts = sorted(fl.hosts)
    nc, broken = fl.noncompliant, fl.broken
    trees = fl.trees()
    initial = dict((h, fl.config_bytes(h)) for h in hosts)

    run = runner.playbook("dry-run.yml")
    expect_untouched(res, "dry-run.yml", trees, fl.trees())
    res.check("dry-run.yml: shows the planned diff", "+smtpd_tls_loglevel = 1" in run.output)
    res.check(
        "dry-run.yml: the broken host fails with pftls's message",
        all(broken_message_re(fl, h).search(run.output) for h in broken),
    )

    run = runner.playbook("apply.yml", "--check", *ONE_BATCH)
    expect_stats(res, "apply.yml --check", run, hosts, nc, broken)
    expect_untouched(res, "apply.yml --check", trees, fl.trees())

    run = runner.playbook("apply.yml", *ONE_BATCH)
    expect_stats(res, "apply.yml", run, hosts, nc, broken)
    expect_broken(res, "apply.yml", fl, run.results("Report the pftls error"))
    res.check(
        "apply.yml: the same bytes as the module wrote",
        all(
            fl.config_bytes(h)[name].decode() == after
            for h in nc
            for name, after in (planned.get(h) or {}).items()
        ),
    )
    after = fl.trees()
    run = runner.playbook("apply.yml", *ONE_BATCH)
    expect_stats(res, "apply.yml again", run, hosts, [], broken)
    expect_untouched(res, "apply.yml again", after, fl.trees())

    run = runner.playbook("rollback.yml")
    expect_stats(res, "rollback.yml", run, hosts, nc, [])
    res.check(
        "rollback.yml: every file restored byte for byte",
        all(fl.config_bytes(h) == initial[h] for h in hosts),
    )


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pftls", required=True, help="the pftls binary under test")
    parser.add_argument("--fleet", required=True, help="the directory sshfleet_up made")
    parser.add_argument("--controller-ns", required=True, help="the controller's namespace")
    parser.add_argument("--sanity-bin", required=True, help="bin of the ansible-test virtualenv")
    args = parser.parse_args()
    venv_bin = os.path.dirname(sys.executable)
    res = Results()
    tmp = os.path.join(args.fleet, "work")
    os.makedirs(tmp, exist_ok=True)
    started = time.monotonic()
    try:
        # What the hosts get: the binary without debug info (the same code, a tenth of the
        # bytes to copy over ssh).
        pftls_src = os.path.join(tmp, "pftls")
        subprocess.run(["strip", "-o", pftls_src, os.path.abspath(args.pftls)], check=True)
        seeds = fleet.make_seeds(tmp, pftls_src)
        fl = fleet.Fleet(args.fleet, seeds, pftls_src)
        res.check("fleet: %d hosts over ssh" % len(fl.hosts), len(fl.hosts) >= 8)
        diff_helper(res, pftls_src, tmp)
        env = dict(os.environ)
        env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
        env["ANSIBLE_HOME"] = os.path.join(tmp, "ansible-home")
        collections = collection_checks(res, venv_bin, args.sanity_bin, tmp, env)
        runner = fleet.Runner(venv_bin, args.controller_ns, fl.write_inventory(), tmp, collections)
        install(res, runner, fl, pftls_src)
        info_before(res, runner, fl)
        planned = check_mode(res, runner, fl)
        staged_rollout(res, runner, fl)
        role_rollback_on_failure(res, runner, fl)
        planned = role_rollout(res, runner, fl, planned)
        command_playbooks(res, runner, fl, planned)
    except Exception as err:  # a crash of the driver itself is a failed check, not a pass
        traceback.print_exc()
        res.check("driver ran to the end", False, "%s: %s" % (type(err).__name__, err))
    print("     logs in %s" % tmp)
    print("     total %.1fs" % (time.monotonic() - started))
    print("ansible: %d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
