"""What pftls adds per host to a playbook run over SSH: module-apply.yml on the compliant
fleet (every host already applied: the steady-state run), once with the real
pftls.postfix.tls_policy module and once with a stub of it (stub_tls_policy.py: same
arguments, no pftls run). One fork, so the per-host difference is not hidden by parallelism.

Run by bench.sh, after sshfleet_up:
    python bench.py --pftls target/debug/pftls --fleet DIR --controller-ns NS [--rounds 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402  (the directory of this file is put on the path just above)

ONE_BATCH = ["-e", '{"pftls_serial": "100%", "pftls_max_fail_percentage": 100}']


def install_collection(venv_bin, tarball, dest, env):
    """Installs the built collection into DEST; returns DEST."""
    subprocess.run(
        [os.path.join(venv_bin, "ansible-galaxy"), "collection", "install", "-p", dest, tarball],
        env=env, check=True, capture_output=True,
    )
    return dest


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pftls", required=True)
    parser.add_argument("--fleet", required=True)
    parser.add_argument("--controller-ns", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    venv_bin = os.path.dirname(sys.executable)
    tmp = os.path.join(args.fleet, "work")
    os.makedirs(tmp, exist_ok=True)
    env = dict(os.environ)
    env["ANSIBLE_HOME"] = os.path.join(tmp, "ansible-home")
    pftls_src = os.path.join(tmp, "pftls")
    subprocess.run(["strip", "-o", pftls_src, os.path.abspath(args.pftls)], check=True)
    seeds = fleet.make_seeds(tmp, pftls_src)
    fl = fleet.Fleet(args.fleet, seeds, pftls_src)
    subprocess.run(
        [os.path.join(venv_bin, "ansible-galaxy"), "collection", "build", "--output-path", tmp],
        cwd=fleet.COLLECTION, env=env, check=True, capture_output=True,
    )
    tarball = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".tar.gz")][0]
    real = install_collection(venv_bin, tarball, os.path.join(tmp, "real"), env)
    stub = install_collection(venv_bin, tarball, os.path.join(tmp, "stub"), env)
    shutil.copy(
        os.path.join(fleet.HERE, "stub_tls_policy.py"),
        os.path.join(stub, "ansible_collections", "pftls", "postfix", "plugins", "modules", "tls_policy.py"),
    )
    inventory = fl.write_inventory()
    os.environ["PFTLS_ANSIBLE_FORKS"] = "1"
    runner = fleet.Runner(venv_bin, args.controller_ns, inventory, tmp, real)
    hosts = [h for h in sorted(fl.hosts) if h not in fl.broken]
    limit = ["--limit", "all:!%s" % ",!".join(fl.broken)]
    runner.playbook("install.yml", *limit)
    first = runner.playbook("module-apply.yml", *ONE_BATCH + limit)
    if first.code != 0:
        raise SystemExit("bench: the first apply failed:\n" + first.output[-2000:])
    times = {}
    for label, collections in (("pftls", real), ("stub", stub)):
        runner.env["ANSIBLE_COLLECTIONS_PATH"] = collections
        walls = []
        for _ in range(args.rounds):
            run = runner.playbook("module-apply.yml", *ONE_BATCH + limit)
            changed = sum(s.get("changed", 0) for s in run.stats.values())
            if run.code != 0 or changed or len(run.stats) != len(hosts):
                raise SystemExit("bench: %s run not a clean no-op:\n%s" % (label, run.output[-2000:]))
            walls.append(run.seconds)
        times[label] = statistics.median(walls)
    per_host = (times["pftls"] - times["stub"]) / len(hosts)
    print("bench: %d hosts over ssh, 1 fork, median of %d runs of module-apply.yml (no-op)" % (len(hosts), args.rounds))
    print("bench: with pftls %.2fs, with the stub module %.2fs" % (times["pftls"], times["stub"]))
    print("bench: pftls adds %.0f ms per host (the rest is Ansible + ssh + become)" % (per_host * 1000))


if __name__ == "__main__":
    main()
