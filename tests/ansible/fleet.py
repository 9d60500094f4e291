"""The fleet of the Ansible tests and the bench: Postfix hosts reached over real SSH.

tests/ansible/sshfleet.sh makes the hosts (one network namespace and one sshd each, on its own
address) and a controller namespace; this module gives every host its own Postfix configuration
directory, made from the repository's examples and owned by root, so that only become can
change it, and writes the inventory.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
PLAYBOOKS = os.path.join(EXAMPLES, "ansible")
COLLECTION = os.path.join(REPO, "ansible_collections", "pftls", "postfix")
CS10_CRYPTO = os.path.join(EXAMPLES, "centos-stream-10", "crypto-policies")
POLICIES = ["inbound-opportunistic", "tls-logging"]
# The line that makes the broken host's main.cf unparsable, and what pftls says about it.
BROKEN_LINE = "this line has no equals sign\n"
BROKEN_MESSAGE = "missing '=' after attribute name"

# Host kinds: (example directory, crypto-policies directory or None for a host without
# crypto-policies, policies, compliant?). A compliant kind is the example after one apply.
KINDS = {
    "cs10-stock": ("centos-stream-10/stock", CS10_CRYPTO, POLICIES, False),
    "cs10-over-hardened": ("centos-stream-10/over-hardened", CS10_CRYPTO, POLICIES, False),
    "cs10-submission": (
        "centos-stream-10/submission",
        CS10_CRYPTO,
        POLICIES + ["submission-mandatory"],
        False,
    ),
    "deb12-stock": ("debian-12/stock", None, POLICIES, False),
    "cs10-stock-ok": ("centos-stream-10/stock", CS10_CRYPTO, POLICIES, True),
    "deb12-stock-ok": ("debian-12/stock", None, POLICIES, True),
    "deb12-broken": ("debian-12/stock", None, POLICIES, False),
}

# 10 hosts: 6 non-compliant, 3 compliant, 1 broken. With serial [1, 4, '100%'] the broken
# host is in the second batch and the third batch (h06..h10, three of them non-compliant)
# must not be reached.
LAYOUT = [
    "cs10-stock",
    "cs10-over-hardened",
    "cs10-submission",
    "cs10-stock-ok",
    "deb12-broken",
    "deb12-stock-ok",
    "cs10-over-hardened",
    "deb12-stock",
    "cs10-stock-ok",
    "deb12-stock",
]
# This host names its logging policy by file (a copy of the built-in tls-logging) instead of by
# name (the site's own copy of tls-logging); it is the same kind as h08, so both must end with the same bytes.
POLICY_FILE_HOST = "h10"
POLICY_FILE_TWIN = "h08"


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


def make_seeds(root, pftls):
    """One configuration directory per host kind, under ROOT/seeds: kind -> path.

    Compliant kinds are made by pftls itself (an apply with a throw-away backup directory),
    so that they stay compliant when the policies evolve.
    """
    seeds = {}
    for kind, (example, crypto, policies, compliant) in KINDS.items():
        path = os.path.join(root, "seeds", kind)
        shutil.copytree(os.path.join(EXAMPLES, example), path, symlinks=True)
        if compliant:
            args = ["-c", path, "--backup-dir", os.path.join(root, "seed-backups", kind)]
            args += ["--crypto-policies-dir", crypto or os.path.join(root, "none"), "apply"]
            code, out = run_pftls(pftls, args + ["--policy=%s" % p for p in policies])
            if code != 0 or not out or not out.get("changed"):
                raise RuntimeError("could not make compliant seed %s: %r" % (kind, out))
        if kind == "deb12-broken":
            with open(os.path.join(path, "main.cf"), "a") as handle:
                handle.write(BROKEN_LINE)
        seeds[kind] = path
    return seeds


class Fleet:
    """The hosts of one run: DIR/hosts (from sshfleet.sh) and DIR/hosts.d/NAME per host."""

    def __init__(self, root, seeds, pftls_src):
        self.root = root
        self.seeds = seeds
        self.pftls_src = pftls_src
        self.hosts = {}
        with open(os.path.join(root, "hosts")) as handle:
            lines = [line.split() for line in handle if line.strip()]
        if len(lines) != len(LAYOUT):
            raise RuntimeError("sshfleet made %d hosts, the layout has %d" % (len(lines), len(LAYOUT)))
        with open(os.path.join(root, "created-user")) as handle:
            self.ssh_user = handle.read().strip()
        self.reload_script = os.path.join(root, "reload.sh")
        with open(self.reload_script, "w") as handle:
            # Records the uid it ran as: pftls runs the reload command, as root through become.
            handle.write('#!/bin/sh\nid -u >>"$1"\n')
        os.chmod(self.reload_script, 0o755)
        for (name, address), kind in zip(lines, LAYOUT):
            base = os.path.join(root, "hosts.d", name)
            example, crypto, policies, _ = KINDS[kind]
            self.hosts[name] = {
                "kind": kind,
                "address": address,
                "base": base,
                "config_dir": os.path.join(base, "postfix"),
                "backup_dir": os.path.join(base, "backups"),
                "binary": os.path.join(base, "bin", "pftls"),
                "reloads": os.path.join(base, "reloads"),
                "crypto_dir": crypto or os.path.join(base, "no-crypto-policies"),
                "policies": policies,
            }
        host = self.hosts[POLICY_FILE_HOST]
        policy_file = os.path.join(host["base"], "site-logging.yaml")
        with open(os.path.join(REPO, "policies", "tls-logging.yaml")) as handle:
            text = handle.read()
        with open(policy_file, "w") as handle:
            # pftls wants a policy's name to be its file name.
            handle.write(text.replace("name: tls-logging\n", "name: site-logging\n", 1))
        host["policies"] = [p if p != "tls-logging" else policy_file for p in host["policies"]]
        self.reset()

    def reset(self):
        """Every host as at the start: seed configuration, no snapshots, no reloads."""
        for host in self.hosts.values():
            shutil.rmtree(host["config_dir"], ignore_errors=True)
            shutil.rmtree(host["backup_dir"], ignore_errors=True)
            if os.path.exists(host["reloads"]):
                os.unlink(host["reloads"])
            shutil.copytree(self.seeds[host["kind"]], host["config_dir"], symlinks=True)
            os.makedirs(os.path.dirname(host["binary"]), exist_ok=True)
            # Owned by root, writable by root only: the ssh login user cannot change anything.
            for path in (host["base"], host["config_dir"], os.path.dirname(host["binary"])):
                os.chown(path, 0, 0)
                os.chmod(path, 0o755)

    def names(self, predicate):
        """Host names whose kind matches PREDICATE(kind)."""
        return sorted(n for n, h in self.hosts.items() if predicate(h["kind"]))

    @property
    def noncompliant(self):
        """Hosts that the policies change."""
        return self.names(lambda k: not KINDS[k][3] and k != "deb12-broken")

    @property
    def compliant(self):
        """Hosts that already comply."""
        return self.names(lambda k: KINDS[k][3])

    @property
    def broken(self):
        """Hosts whose main.cf does not parse."""
        return self.names(lambda k: k == "deb12-broken")

    def inventory_vars(self, name):
        """The host's inventory variables: its address, the ssh login, and the pftls_* vars."""
        host = self.hosts[name]
        return {
            "ansible_host": host["address"],
            "ansible_user": self.ssh_user,
            "ansible_ssh_private_key_file": os.path.join(self.root, "ssh", "id_ed25519"),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "ansible_python_interpreter": "/usr/bin/python3",
            "pftls_binary": host["binary"],
            "pftls_binary_src": self.pftls_src,
            "pftls_config_dir": host["config_dir"],
            "pftls_backup_dir": host["backup_dir"],
            "pftls_crypto_policies_dir": host["crypto_dir"],
            "pftls_policies": host["policies"],
            "pftls_reload": True,
            "pftls_reload_command": "%s %s" % (self.reload_script, host["reloads"]),
            # The examples name certificate files that do not exist here.
            "pftls_file_checks": False,
        }

    def write_inventory(self, path=None):
        """Writes the inventory (JSON is YAML) and returns its path."""
        hosts = dict((name, self.inventory_vars(name)) for name in self.hosts)
        path = path or os.path.join(self.root, "inventory.yml")
        with open(path, "w") as handle:
            json.dump({"all": {"hosts": hosts}}, handle, indent=1)
        return path

    def tree(self, name):
        """Every file and directory of a host's configuration and backups, and its reload log:
        relative path -> (sha256 or 'dir', mtime_ns)."""
        base = self.hosts[name]["base"]
        state = {}
        for top in ("postfix", "backups"):
            for dirpath, _dirnames, filenames in os.walk(os.path.join(base, top)):
                rel = os.path.relpath(dirpath, base)
                state[rel + "/"] = ("dir", os.stat(dirpath).st_mtime_ns)
                for filename in filenames:
                    path = os.path.join(dirpath, filename)
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                    state[os.path.join(rel, filename)] = (digest, os.stat(path).st_mtime_ns)
        state["reloads"] = self.reloads(name)
        return state

    def trees(self):
        """tree() of every host."""
        return dict((name, self.tree(name)) for name in self.hosts)

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

    def reloads(self, name):
        """The uids the reload command ran as on a host, in order."""
        try:
            with open(self.hosts[name]["reloads"]) as handle:
                return handle.read().split()
        except FileNotFoundError:
            return []


class Run:
    """One ansible-playbook run: exit code, parsed json-callback output, text, seconds."""

    def __init__(self, code, data, output, seconds):
        self.code = code
        self.data = data or {}
        self.output = output
        self.seconds = seconds

    @property
    def stats(self):
        """Per host: ok, changed, failures, unreachable, skipped, rescued (hosts that ran)."""
        return self.data.get("stats") or {}

    def results(self, task):
        """Per host, the result of the task named TASK (over every serial batch)."""
        out = {}
        for name, hosts in (self.data.get("tasks") or {}).items():
            # Tasks of a role are named "ROLE : TASK".
            if name == task or name.endswith(" : " + task):
                out.update(hosts)
        return out


class Runner:
    """Runs ansible-playbook, inside the controller namespace, from the virtualenv."""

    def __init__(self, venv_bin, controller_ns, inventory, logdir, collections):
        self.venv_bin = venv_bin
        self.prefix = ["ip", "netns", "exec", controller_ns] if controller_ns else []
        self.inventory = inventory
        self.logdir = logdir
        self.env = dict(os.environ)
        self.env.update(
            {
                "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                "ANSIBLE_CONFIG": os.path.join(PLAYBOOKS, "ansible.cfg"),
                # The collection as built and installed by the test, not the source tree.
                "ANSIBLE_COLLECTIONS_PATH": collections,
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_LOCAL_TEMP": os.path.join(logdir, "ansible-local"),
                "ANSIBLE_HOME": os.path.join(logdir, "ansible-home"),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(logdir, "cp"),
                "ANSIBLE_FORKS": os.environ.get("PFTLS_ANSIBLE_FORKS", "10"),
                # The tests' recorder (callback_plugins/pftls_record.py), beside the default output.
                "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
                "ANSIBLE_CALLBACKS_ENABLED": "pftls_record",
                "ANSIBLE_SHOW_PER_HOST_START": "False",
            }
        )
        self.count = 0

    def playbook(self, playbook, *args, extra_env=None):
        """Runs one playbook and returns a Run (its text output and recorded results)."""
        self.count += 1
        argv = self.prefix + [os.path.join(self.venv_bin, "ansible-playbook")]
        argv += ["-i", self.inventory] + list(args) + [playbook]
        env = dict(self.env)
        record = os.path.join(self.logdir, "%02d-%s.json" % (self.count, os.path.basename(playbook)))
        env["PFTLS_RECORD"] = record
        env.update(extra_env or {})
        started = time.monotonic()
        proc = subprocess.run(
            argv, env=env, capture_output=True, text=True, cwd=PLAYBOOKS, check=False
        )
        elapsed = time.monotonic() - started
        output = proc.stdout + proc.stderr
        log = os.path.join(self.logdir, "%02d-%s.log" % (self.count, os.path.basename(playbook)))
        with open(log, "w") as handle:
            handle.write("$ %s\n%s" % (" ".join(argv), output))
        print("     ran %s %s in %.1fs (log %s)" % (playbook, " ".join(args), elapsed, log))
        data = None
        if os.path.exists(record):
            with open(record) as handle:
                data = json.load(handle)
        return Run(proc.returncode, data, output, elapsed)
