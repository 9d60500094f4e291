"""What pftls adds per host to a playbook run: the same playbooks over the same 20-host local
fleet, once with pftls and once with a stub that runs no pftls (a shell script printing the
smallest JSON the playbooks read, i.e. /bin/true plus an echo). Prints the figures.

    python bench.py --pftls target/debug/pftls [--rounds 3]
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402  (the directory of this file is put on the path just above)
from test_fleet import Runner  # noqa: E402

ONE_BATCH = ["-e", "pftls_serial=100%"]
STUB = '#!/bin/sh\necho \'{"changed": false, "files": [], "warnings": []}\'\n'


def restore(fl, initial):
    """Puts every host's files back as they were (untimed) and empties its backup directory."""
    for name, files in initial.items():
        for filename, data in files.items():
            with open(os.path.join(fl.hosts[name]["config_dir"], filename), "wb") as handle:
                handle.write(data)
        shutil.rmtree(fl.hosts[name]["backup_dir"], ignore_errors=True)


def children_cpu():
    """CPU seconds (user + system) of every finished child process and its descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(runner, fl, initial, playbook, args, rounds):
    """Medians of ROUNDS runs, the fleet restored before each: (wall seconds, CPU seconds).

    CPU time (ansible-playbook, its workers, the modules and pftls) is the steadier figure
    on a loaded machine; wall time is what an operator waits.
    """
    walls, cpus = [], []
    for _ in range(rounds):
        restore(fl, initial)
        cpu_before = children_cpu()
        code, _, recap, seconds = runner.playbook(playbook, *args)
        cpus.append(children_cpu() - cpu_before)
        if not recap:
            raise RuntimeError("%s produced no recap (exit %d)" % (playbook, code))
        walls.append(seconds)
    return statistics.median(walls), statistics.median(cpus)


def main():
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pftls", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pftls = os.path.abspath(args.pftls)
    venv_bin = os.path.dirname(sys.executable)
    tmp = tempfile.mkdtemp(prefix="pftls-ansible-bench-")
    try:
        seeds = fleet.make_seeds(tmp, pftls)
        fl = fleet.Fleet(os.path.join(tmp, "fleet"), pftls, seeds)
        initial = {h: fl.config_bytes(h) for h in fl.hosts}
        stub = os.path.join(tmp, "stub-pftls")
        with open(stub, "w") as handle:
            handle.write(STUB)
        os.chmod(stub, 0o755)
        real_inv = fl.write_inventory(sys.executable)
        stub_inv = os.path.join(tmp, "stub-inventory.yml")
        os.rename(fl.write_inventory(sys.executable, pftls_bin=stub), stub_inv)
        fl.write_inventory(sys.executable)
        runner = Runner(venv_bin, real_inv, tmp)
        n = len(fl.hosts)

        # pftls alone, without Ansible: one dry run per host, one after the other.
        started, cpu_started = time.monotonic(), children_cpu()
        for host in fl.hosts.values():
            subprocess.run(
                [pftls, "--format", "json"]
                + fleet.pftls_args(
                    host["config_dir"],
                    host["backup_dir"],
                    host["crypto_dir"],
                    "apply",
                    host["policies"],
                )
                + ["--dry-run"],
                capture_output=True,
                check=False,
            )
        direct = (time.monotonic() - started) / n
        direct_cpu = (children_cpu() - cpu_started) / n

        rows = []
        for playbook, extra in (
            ("dry-run.yml", []),
            ("apply.yml", ["--check"]),
            ("apply.yml", []),
            ("module-apply.yml", ["--check"]),
            ("module-apply.yml", []),
        ):
            runner.inventory = real_inv
            with_pftls = timed(runner, fl, initial, playbook, extra + ONE_BATCH, args.rounds)
            runner.inventory = stub_inv
            with_stub = timed(runner, fl, initial, playbook, extra + ONE_BATCH, args.rounds)
            rows.append((playbook + " " + " ".join(extra), with_pftls, with_stub))
        restore(fl, initial)

        forks = runner.env["ANSIBLE_FORKS"]
        print()
        print(
            "bench: %d hosts, ansible_connection=local, forks=%s, %d rounds (medians), load %.1f"
            % (n, forks, args.rounds, os.getloadavg()[0])
        )
        print(
            "bench: pftls apply --dry-run alone, sequential: %.0f ms wall, %.0f ms CPU per host"
            % (direct * 1000, direct_cpu * 1000)
        )
        print(
            "%-26s %9s %9s %10s %9s %9s %10s"
            % ("playbook", "wall s", "stub s", "+/host", "cpu s", "stub s", "+cpu/host")
        )
        for name, (wall, cpu), (stub_wall, stub_cpu) in rows:
            print(
                "%-26s %9.1f %9.1f %7.0f ms %9.1f %9.1f %7.0f ms"
                % (
                    name,
                    wall,
                    stub_wall,
                    (wall - stub_wall) / n * 1000,
                    cpu,
                    stub_cpu,
                    (cpu - stub_cpu) / n * 1000,
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
