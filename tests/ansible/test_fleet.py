"""Ansible tests of examples/ansible with real ansible-core over a 20-host local fleet.

Run by tests/ansible/run.sh with the virtualenv's Python:
    python test_fleet.py --pftls target/debug/pftls
Prints one line per check and a closing 'N passed, N failed' line; exits 1 on any failure.
"""

import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402  (the directory of this file is put on the path just above)

PLAYBOOKS = os.path.join(fleet.EXAMPLES, "ansible")
RECAP_RE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")
# Serial batches of 10 hosts; one failure in a batch of 10 is tolerated (the broken host).
STAGING = ["-e", '{"pftls_serial": 10, "pftls_max_fail_percentage": 20}']


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
            print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
        sys.stdout.flush()
        return ok


def parse_recap(output):
    """PLAY RECAP of ansible-playbook's output: host -> {ok, changed, failed, ...}."""
    recap = {}
    lines = output.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1 :]:
        match = RECAP_RE.match(line.strip())
        if match:
            counts = dict(kv.split("=") for kv in match.group(2).split())
            recap[match.group(1)] = {k: int(v) for k, v in counts.items()}
    return recap


class Runner:
    """Runs ansible-playbook and ansible-lint from the virtualenv."""

    def __init__(self, venv_bin, inventory, logdir):
        self.venv_bin = venv_bin
        self.inventory = inventory
        self.logdir = logdir
        self.env = dict(os.environ)
        self.env.update(
            {
                "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                "ANSIBLE_CONFIG": os.path.join(PLAYBOOKS, "ansible.cfg"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_LOCAL_TEMP": os.path.join(logdir, "ansible-local"),
                "ANSIBLE_HOME": os.path.join(logdir, "ansible-home"),
                "ANSIBLE_FORKS": os.environ.get("PFTLS_ANSIBLE_FORKS", "10"),
            }
        )
        self.count = 0

    def playbook(self, playbook, *args):
        """Runs one playbook; returns (exit code, output, recap, seconds)."""
        self.count += 1
        argv = [os.path.join(self.venv_bin, "ansible-playbook"), "-i", self.inventory]
        argv += list(args) + [os.path.join(PLAYBOOKS, playbook)]
        started = time.monotonic()
        proc = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, cwd=PLAYBOOKS, check=False
        )
        elapsed = time.monotonic() - started
        output = proc.stdout + proc.stderr
        log = os.path.join(self.logdir, "%02d-%s.log" % (self.count, playbook))
        with open(log, "w") as handle:
            handle.write("$ %s\n%s" % (" ".join(argv), output))
        print("     ran %s %s in %.1fs (log %s)" % (playbook, " ".join(args), elapsed, log))
        return proc.returncode, output, parse_recap(output), elapsed


def expect_recap(res, name, recap, hosts, changed, failed):
    """Checks that every host is in RECAP with changed/failed exactly as expected."""
    problems = []
    for host in hosts:
        counts = recap.get(host)
        if counts is None:
            problems.append("%s missing from recap" % host)
            continue
        want_changed = host in changed
        want_failed = host in failed
        if (counts.get("changed", 0) > 0) != want_changed:
            problems.append("%s changed=%d" % (host, counts.get("changed", 0)))
        if (counts.get("failed", 0) > 0) != want_failed:
            problems.append("%s failed=%d" % (host, counts.get("failed", 0)))
        if counts.get("unreachable", 0):
            problems.append("%s unreachable" % host)
    res.check(name + ": recap", not problems, "; ".join(problems[:6]))


def expect_untouched(res, name, before, after):
    """Checks that no file or directory changed bytes or mtime (nor appeared, nor vanished)."""
    diffs = [
        "%s:%s" % (host, path)
        for host in sorted(before)
        for path in sorted(set(before[host]) | set(after[host]))
        if before[host].get(path) != after[host].get(path)
    ]
    res.check(name + ": nothing touched (bytes, mtimes)", not diffs, ", ".join(diffs[:6]))


def expect_broken_message(res, name, output, fl):
    """Checks that the broken host's failure carries pftls's message (file:line: message)."""
    ok = bool(fl.broken) and all(
        re.search(
            r"pftls: %s:\d+: %s"
            % (
                re.escape(os.path.join(fl.hosts[h]["config_dir"], "main.cf")),
                re.escape(fleet.BROKEN_MESSAGE),
            ),
            output,
        )
        for h in fl.broken
    )
    res.check(name + ": broken host fails with pftls's message", ok)


def check_module_diff_helper(res, pftls, tmp):
    """The module rebuilds the planned file from pftls's unified diff: CRLF, no final newline."""
    spec = importlib.util.spec_from_file_location(
        "pftls_module", os.path.join(PLAYBOOKS, "library", "pftls.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    conf = os.path.join(tmp, "crlf")
    shutil.copytree(os.path.join(fleet.EXAMPLES, "centos-stream-10", "over-hardened"), conf)
    for filename in ("main.cf", "master.cf"):
        path = os.path.join(conf, filename)
        with open(path, "rb") as handle:
            data = handle.read().replace(b"\n", b"\r\n").rstrip(b"\r\n")
        with open(path, "wb") as handle:
            handle.write(data)
    args = fleet.pftls_args(
        conf, os.path.join(tmp, "crlf-bk"), fleet.CS10_CRYPTO, "apply", [fleet.POLICY]
    )
    code, out = fleet.run_pftls(pftls, args + ["--dry-run"])
    changed = [f for f in (out or {}).get("files", []) if f.get("changed")]
    ok = code == 0 and len(changed) == 2
    for entry in changed:
        with open(entry["path"], "rb") as handle:
            before = handle.read()
        after = module.apply_unified_diff(before, entry["diff"])
        ok = ok and after is not None
        ok = ok and hashlib.sha256(after).hexdigest() == entry["after_sha256"]
    res.check(
        "module: planned text rebuilt from the diff matches after_sha256", ok, repr(out)[:300]
    )
    # A diff that does not fit the file is refused, never applied approximately.
    res.check(
        "module: a diff that does not fit is refused",
        changed != [] and module.apply_unified_diff(b"other\n", changed[0]["diff"]) is None,
    )


def command_playbooks(res, runner, fl):
    """dry-run.yml, apply.yml (check, apply, re-apply) and rollback.yml on the fleet."""
    hosts = sorted(fl.hosts)
    nc, broken = fl.noncompliant, fl.broken
    initial_trees = fl.trees()
    initial = {h: fl.config_bytes(h) for h in hosts}

    code, out, recap, _ = runner.playbook("dry-run.yml")
    expect_recap(res, "dry-run.yml", recap, hosts, nc, broken)
    expect_untouched(res, "dry-run.yml", initial_trees, fl.trees())
    expect_broken_message(res, "dry-run.yml", out, fl)
    res.check("dry-run.yml: shows the planned diff", "+smtpd_tls_loglevel = 1" in out)
    res.check(
        "dry-run.yml: shows the findings the change fixes",
        re.search(r'"fixed": \[\s*"PFTLS-', out) is not None,
    )

    code, out, recap, _ = runner.playbook("apply.yml", "--check", "--diff", *STAGING)
    expect_recap(res, "apply.yml --check", recap, hosts, nc, broken)
    expect_untouched(res, "apply.yml --check", initial_trees, fl.trees())
    res.check("apply.yml --check: exit code 2 (a host failed)", code == 2, str(code))

    code, out, recap, _ = runner.playbook("apply.yml", *STAGING)
    expect_recap(res, "apply.yml", recap, hosts, nc, broken)
    expect_broken_message(res, "apply.yml", out, fl)
    after = fl.trees()
    untouched = {h: initial_trees[h] for h in hosts if h not in nc}
    expect_untouched(
        res, "apply.yml: compliant and broken hosts", untouched, {h: after[h] for h in untouched}
    )
    res.check(
        "apply.yml: every non-compliant host changed, with exactly one snapshot",
        all(fl.config_bytes(h) != initial[h] and len(fl.snapshots(h)) == 1 for h in nc),
    )
    applied = {h: fl.config_bytes(h) for h in hosts}

    code, out, recap, _ = runner.playbook("apply.yml", *STAGING)
    expect_recap(res, "apply.yml again", recap, hosts, [], broken)
    expect_untouched(res, "apply.yml again", after, fl.trees())

    before_rollback = fl.trees()
    code, out, recap, _ = runner.playbook("rollback.yml", "--check", "--diff")
    expect_recap(res, "rollback.yml --check", recap, hosts, nc, [])
    expect_untouched(res, "rollback.yml --check", before_rollback, fl.trees())
    res.check("rollback.yml --check --diff: shows the diff", "-smtpd_tls_loglevel = 1" in out)

    code, out, recap, _ = runner.playbook("rollback.yml")
    expect_recap(res, "rollback.yml", recap, hosts, nc, [])
    res.check("rollback.yml: exit code 0", code == 0, str(code))
    res.check(
        "rollback.yml: every file restored byte for byte",
        all(fl.config_bytes(h) == initial[h] for h in hosts),
    )

    return applied


def module_playbooks(res, runner, fl, applied_by_command):
    """module-apply.yml and module-rollback.yml (check and diff mode) on a fresh fleet."""
    hosts = sorted(fl.hosts)
    nc, broken = fl.noncompliant, fl.broken
    initial_trees = fl.trees()
    initial = {h: fl.config_bytes(h) for h in hosts}

    code, out, recap, _ = runner.playbook("module-apply.yml", "--check", "--diff", *STAGING)
    expect_recap(res, "module-apply.yml --check --diff", recap, hosts, nc, broken)
    expect_untouched(res, "module-apply.yml --check --diff", initial_trees, fl.trees())
    expect_broken_message(res, "module-apply.yml --check", out, fl)
    headers = all(
        "--- before: %s/main.cf" % fl.hosts[h]["config_dir"] in out
        and "+++ after: %s/main.cf" % fl.hosts[h]["config_dir"] in out
        for h in nc
    )
    res.check("module-apply.yml --check --diff: before/after diff of every changed host", headers)
    res.check(
        "module-apply.yml --check --diff: shows the planned lines",
        "+smtpd_tls_loglevel = 1" in out and "+smtpd_tls_security_level = may" in out,
    )

    code, out, recap, _ = runner.playbook("module-apply.yml", "--diff", *STAGING)
    expect_recap(res, "module-apply.yml", recap, hosts, nc, broken)
    expect_broken_message(res, "module-apply.yml", out, fl)
    res.check(
        "module-apply.yml: same bytes as the command playbook wrote",
        all(fl.config_bytes(h) == applied_by_command[h] for h in hosts),
    )
    res.check(
        "module-apply.yml: one snapshot per changed host, reported as backup_file",
        all(len(fl.snapshots(h)) == 1 for h in nc)
        and all(not fl.snapshots(h) for h in hosts if h not in nc)
        and all(os.path.join(fl.hosts[h]["backup_dir"], fl.snapshots(h)[0]) in out for h in nc),
    )
    after = fl.trees()

    code, out, recap, _ = runner.playbook("module-apply.yml", *STAGING)
    expect_recap(res, "module-apply.yml again", recap, hosts, [], broken)
    expect_untouched(res, "module-apply.yml again", after, fl.trees())

    code, out, recap, _ = runner.playbook("module-rollback.yml", "--check", "--diff")
    expect_recap(res, "module-rollback.yml --check --diff", recap, hosts, nc, [])
    expect_untouched(res, "module-rollback.yml --check --diff", after, fl.trees())
    res.check(
        "module-rollback.yml --check --diff: shows the lines it removes",
        "-smtpd_tls_loglevel = 1" in out and "--- before: " in out,
    )

    code, out, recap, _ = runner.playbook("module-rollback.yml", "--diff")
    expect_recap(res, "module-rollback.yml", recap, hosts, nc, [])
    res.check(
        "module-rollback.yml: every file restored byte for byte",
        all(fl.config_bytes(h) == initial[h] for h in hosts),
    )


def lint(res, venv_bin, env):
    """ansible-lint over examples/ansible, and ansible-doc over the module's documentation."""
    proc = subprocess.run(
        [os.path.join(venv_bin, "ansible-lint"), "--nocolor", "--offline"],
        cwd=PLAYBOOKS,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    res.check("ansible-lint examples/ansible", proc.returncode == 0, proc.stdout + proc.stderr)
    proc = subprocess.run(
        [os.path.join(venv_bin, "ansible-doc"), "-M", "library", "-t", "module", "pftls"],
        cwd=PLAYBOOKS,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout + proc.stderr
    res.check(
        "ansible-doc pftls (DOCUMENTATION, EXAMPLES, RETURN parse)",
        proc.returncode == 0 and "backup_file" in out and "rolled_back" in out,
        out[-500:],
    )


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pftls", required=True, help="the pftls binary under test")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    pftls = os.path.abspath(args.pftls)
    venv_bin = os.path.dirname(sys.executable)
    res = Results()
    tmp = tempfile.mkdtemp(prefix="pftls-ansible-")
    started = time.monotonic()
    try:
        seeds = fleet.make_seeds(tmp, pftls)
        check_module_diff_helper(res, pftls, tmp)

        fl = fleet.Fleet(os.path.join(tmp, "cmd"), pftls, seeds)
        res.check("fleet: 20 hosts", len(fl.hosts) == 20)
        runner = Runner(venv_bin, fl.write_inventory(sys.executable), tmp)
        lint(res, venv_bin, runner.env)
        applied = command_playbooks(res, runner, fl)

        fl2 = fleet.Fleet(os.path.join(tmp, "mod"), pftls, seeds)
        runner.inventory = fl2.write_inventory(sys.executable)
        module_playbooks(res, runner, fl2, applied)
    except Exception as err:  # a crash of the driver itself is a failed check, not a pass
        res.check("driver ran to the end", False, "%s: %s" % (type(err).__name__, err))
    finally:
        if args.keep or res.failed:
            print("     kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("     total %.1fs" % (time.monotonic() - started))
    print("ansible: %d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
