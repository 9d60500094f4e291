"""A fleet of fake Postfix hosts for the Ansible tests and the bench.

Every host is a directory with its own Postfix configuration directory and backup directory,
made from the repository's examples; the inventory runs them all with ansible_connection=local.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
CS10_CRYPTO = os.path.join(EXAMPLES, "centos-stream-10", "crypto-policies")
POLICY = "inbound-opportunistic"
# The line that makes the broken host's main.cf unparsable, and what pftls says about it.
BROKEN_LINE = "this line has no equals sign\n"
BROKEN_MESSAGE = "missing '=' after attribute name"

# Host kinds: (example directory, crypto-policies directory or None for a host without
# crypto-policies, policies, compliant?). A compliant kind is the example after one apply.
KINDS = {
    "cs10-stock": ("centos-stream-10/stock", CS10_CRYPTO, [POLICY], False),
    "cs10-over-hardened": ("centos-stream-10/over-hardened", CS10_CRYPTO, [POLICY], False),
    "cs10-submission": (
        "centos-stream-10/submission",
        CS10_CRYPTO,
        [POLICY, "submission-mandatory"],
        False,
    ),
    "deb12-stock": ("debian-12/stock", None, [POLICY], False),
    "cs10-stock-ok": ("centos-stream-10/stock", CS10_CRYPTO, [POLICY], True),
    "cs10-over-hardened-ok": ("centos-stream-10/over-hardened", CS10_CRYPTO, [POLICY], True),
    "deb12-stock-ok": ("debian-12/stock", None, [POLICY], True),
    "deb12-broken": ("debian-12/stock", None, [POLICY], False),
}

# 20 hosts: 12 non-compliant, 7 compliant, 1 broken (the last, so that with serial=10 it is
# in the second batch together with hosts that succeed).
LAYOUT = (
    ["cs10-stock", "cs10-over-hardened", "cs10-submission", "deb12-stock"] * 3
    + ["cs10-stock-ok", "cs10-over-hardened-ok", "deb12-stock-ok"] * 2
    + ["cs10-stock-ok", "deb12-broken"]
)


class Fleet:
    """The hosts of one test run, under ROOT."""

    def __init__(self, root, pftls, seeds):
        self.root = root
        self.pftls = pftls
        self.hosts = {}
        for index, kind in enumerate(LAYOUT, start=1):
            name = "h%02d" % index
            base = os.path.join(root, "hosts", name)
            example, crypto, policies, _ = KINDS[kind]
            self.hosts[name] = {
                "kind": kind,
                "config_dir": os.path.join(base, "postfix"),
                "backup_dir": os.path.join(base, "backups"),
                "crypto_dir": crypto or os.path.join(base, "no-crypto-policies"),
                "policies": policies,
            }
            shutil.copytree(seeds[kind], self.hosts[name]["config_dir"], symlinks=True)

    def names(self, predicate):
        """Host names whose kind matches PREDICATE(kind)."""
        return sorted(n for n, h in self.hosts.items() if predicate(h["kind"]))

    @property
    def noncompliant(self):
        """Hosts that the policy changes."""
        return self.names(lambda k: not KINDS[k][3] and k != "deb12-broken")

    @property
    def compliant(self):
        """Hosts that already comply."""
        return self.names(lambda k: KINDS[k][3])

    @property
    def broken(self):
        """Hosts whose main.cf does not parse."""
        return self.names(lambda k: k == "deb12-broken")

    def write_inventory(self, python, pftls_bin=None):
        """Writes the inventory (JSON is YAML) and returns its path."""
        hosts = {}
        for name, host in self.hosts.items():
            hosts[name] = {
                "ansible_connection": "local",
                "ansible_python_interpreter": python,
                "pftls_bin": pftls_bin or self.pftls,
                "pftls_config_dir": host["config_dir"],
                "pftls_backup_dir": host["backup_dir"],
                "pftls_crypto_policies_dir": host["crypto_dir"],
                "pftls_policies": host["policies"],
                # No Postfix runs here; reload is exercised by pftls's own tests.
                "pftls_reload": False,
            }
        path = os.path.join(self.root, "inventory.yml")
        with open(path, "w") as handle:
            json.dump({"all": {"hosts": hosts}}, handle, indent=1)
        return path

    def tree(self, name):
        """Every file and directory under a host: relative path -> (sha256 or 'dir', mtime_ns)."""
        base = os.path.dirname(self.hosts[name]["config_dir"])
        state = {}
        for dirpath, _dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, base)
            state[rel + "/"] = ("dir", os.stat(dirpath).st_mtime_ns)
            for filename in filenames:
                path = os.path.join(dirpath, filename)
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                state[os.path.join(rel, filename)] = (digest, os.stat(path).st_mtime_ns)
        return state

    def trees(self):
        """tree() of every host."""
        return {name: self.tree(name) for name in self.hosts}

    def config_bytes(self, name):
        """main.cf and master.cf of a host: file name -> bytes."""
        out = {}
        for filename in ("main.cf", "master.cf"):
            with open(os.path.join(self.hosts[name]["config_dir"], filename), "rb") as handle:
                out[filename] = handle.read()
        return out

    def snapshots(self, name):
        """Snapshot directories in a host's backup directory."""
        backup_dir = self.hosts[name]["backup_dir"]
        if not os.path.isdir(backup_dir):
            return []
        return sorted(
            d for d in os.listdir(backup_dir) if os.path.isdir(os.path.join(backup_dir, d))
        )


def run_pftls(pftls, args):
    """Runs pftls with --format json; returns (exit code, parsed JSON)."""
    proc = subprocess.run(
        [pftls, "--format", "json"] + args, capture_output=True, text=True, check=False
    )
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        sys.stderr.write(proc.stderr)
        return proc.returncode, None


def pftls_args(config_dir, backup_dir, crypto_dir, command, policies):
    """pftls arguments for COMMAND (apply or plan-like) on one configuration directory."""
    args = ["-c", config_dir, "--backup-dir", backup_dir, "--crypto-policies-dir", crypto_dir]
    return args + [command] + ["--policy=%s" % p for p in policies]


def make_seeds(root, pftls):
    """One configuration directory per host kind, under ROOT/seeds: kind -> path.

    Compliant kinds are made by pftls itself (an apply with a throw-away backup directory),
    so that they stay compliant when the policies evolve.
    """
    seeds = {}
    for kind, (example, crypto, policies, compliant) in KINDS.items():
        path = os.path.join(root, "seeds", kind)
        shutil.copytree(os.path.join(EXAMPLES, example), path, symlinks=True)
        crypto_dir = crypto or os.path.join(root, "no-crypto-policies")
        backup_dir = os.path.join(root, "seed-backups", kind)
        if compliant:
            code, out = run_pftls(
                pftls, pftls_args(path, backup_dir, crypto_dir, "apply", policies)
            )
            if code != 0 or not out or not out.get("changed"):
                raise RuntimeError("could not make compliant seed %s: %r" % (kind, out))
        if kind == "deb12-broken":
            with open(os.path.join(path, "main.cf"), "a") as handle:
                handle.write(BROKEN_LINE)
        seeds[kind] = path
    return seeds
