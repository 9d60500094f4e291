#!/usr/bin/python
# -*- coding: utf-8 -*-
# pftls Ansible module: applies pftls TLS policies to Postfix, or rolls them back.
# It only needs ansible-core on the controller and the pftls binary on the managed host.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pftls
short_description: Apply Postfix TLS policies with pftls, or roll them back
description:
  - Runs the installed C(pftls) binary on the managed host to apply declarative TLS policies
    to Postfix's C(main.cf) and C(master.cf), or to restore the snapshot taken by the most
    recent apply.
  - Check mode is supported natively, by running C(pftls ... --dry-run), which writes nothing
    anywhere (no snapshot, no lock file, no change of any mtime).
  - Diff mode is supported natively, with the full C(before) and C(after) text of every file
    that changes (or would change in check mode).
  - pftls validates candidate files (its own checks and C(postconf -c) on a copy) before it
    writes anything, takes a timestamped snapshot, and writes C(main.cf) and C(master.cf)
    atomically and together.
version_added: "0.1.0"
author:
  - pftls project
options:
  state:
    description:
      - V(applied) applies O(policies).
      - V(rolled_back) restores the snapshot of the most recent apply, or O(to). When the
        backup directory holds no snapshot taken by an apply (pftls never changed this host),
        there is nothing to roll back and the module reports C(changed=false).
    type: str
    choices: [applied, rolled_back]
    default: applied
  policies:
    description:
      - Policies to apply, in order (built-in names such as V(inbound-opportunistic), names
        found in O(policy_dirs), or paths to YAML files on the managed host).
      - Required when O(state=applied). Two policies that set the same parameter to different
        values are an error.
    type: list
    elements: str
  config_dir:
    description: Postfix configuration directory (as C(postconf -c)).
    type: path
    default: /etc/postfix
  backup_dir:
    description: Where pftls keeps its snapshots.
    type: path
    default: /var/lib/pftls/backups
  crypto_policies_dir:
    description:
      - Root of the system crypto-policies state. When omitted, pftls uses
        C(/etc/crypto-policies) (OpenSSL defaults where it does not exist).
    type: path
  policy_dirs:
    description: Extra policy directories, searched before the built-in policies.
    type: list
    elements: path
    default: []
  reload:
    description:
      - Run C(postfix reload) after a change. A failed reload makes pftls restore the snapshot
        and the task fail. Not run in check mode.
    type: bool
    default: false
  to:
    description: Snapshot id to restore with O(state=rolled_back) (see C(pftls backups list)).
    type: str
  binary:
    description: The pftls executable, a name looked up in E(PATH) or an absolute path.
    type: str
    default: pftls
notes:
  - Idempotent. A second run with the same policies reports C(changed=false) and writes nothing.
  - Runs C(pftls --format json), whose output and exit codes are described in the pftls SPEC.
requirements:
  - pftls on the managed host
"""

EXAMPLES = r"""
- name: Make port 25 opportunistic again (check mode and diff mode supported)
  pftls:
    policies:
      - inbound-opportunistic
      - tls-logging
    reload: true
  register: pftls_result

- name: Roll back the most recent apply after a mail-volume drop
  pftls:
    state: rolled_back
    reload: true

- name: Restore one particular snapshot
  pftls:
    state: rolled_back
    to: "20261130T024728Z"
"""

RETURN = r"""
changed:
  description: Whether the files changed (or would change in check mode).
  returned: always
  type: bool
dry_run:
  description: Whether pftls ran with C(--dry-run) (check mode).
  returned: when pftls ran
  type: bool
backup_file:
  description: Directory of the snapshot pftls took before writing (none in check mode).
  returned: when a snapshot was taken
  type: str
  sample: /var/lib/pftls/backups/20261130T024728Z
backup_id:
  description: Id of that snapshot, for O(to).
  returned: when a snapshot was taken
  type: str
  sample: "20261130T024728Z"
files:
  description:
    - Per file, C(path), C(changed), C(before_sha256), C(after_sha256), and C(diff) where
      pftls gives one.
  returned: when pftls ran
  type: list
  elements: dict
parameters:
  description: Per changed parameter, C(scope), C(name), C(before), C(after).
  returned: when state=applied
  type: list
  elements: dict
findings:
  description:
    - Findings pftls reported for the resulting configuration (C(id), C(severity),
      C(message), C(location), C(fix)).
  returned: always
  type: list
  elements: dict
findings_fixed:
  description: Findings of the current configuration that the change fixes.
  returned: when state=applied
  type: list
  elements: dict
findings_introduced:
  description: Findings that the change introduces (each is also an Ansible warning).
  returned: when state=applied
  type: list
  elements: dict
warnings_pftls:
  description: Warnings pftls reported (also emitted as Ansible warnings).
  returned: always
  type: list
  elements: str
rolled_back_to:
  description: The snapshot id that rollback restores.
  returned: when state=rolled_back and pftls ran
  type: str
reload:
  description: The reload pftls ran (C(command), C(ok), C(output)).
  returned: when reload=true and not in check mode
  type: dict
error:
  description: pftls's error (C(kind), C(message), C(file), C(line)) when it failed.
  returned: failure
  type: dict
cmd:
  description: The pftls command line that ran.
  returned: always
  type: list
  elements: str
"""

import hashlib
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

# The files pftls may write; it never writes anything else in the configuration directory.
CONFIG_FILES = ("main.cf", "master.cf")

HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def read_bytes(path):
    """Content of PATH, or None when it does not exist or cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def apply_unified_diff(before, diff_text):
    """Applies the unified diff pftls printed for one file to its current bytes.

    Returns the new bytes, or None when the diff does not fit (the caller then shows the diff
    as pftls printed it). pftls keeps every byte of a line in the diff (a CR of a CRLF line
    stays in the line) and marks a missing final newline with the usual backslash line.
    """
    # Lines end at LF only, as in pftls and Postfix (bytes.splitlines would also split at a
    # lone CR inside a line).
    old_lines = [line + b"\n" for line in before.split(b"\n")]
    old_lines[-1] = old_lines[-1][:-1]
    if old_lines[-1] == b"":
        old_lines.pop()
    out = []
    pos = 0  # index in old_lines of the next line not yet copied
    diff_lines = diff_text.encode("utf-8").split(b"\n")
    if diff_lines and diff_lines[-1] == b"":
        diff_lines.pop()
    i = 0
    # Skip the --- / +++ header.
    while i < len(diff_lines) and not diff_lines[i].startswith(b"@@"):
        i += 1
    while i < len(diff_lines):
        match = HUNK_RE.match(diff_lines[i].decode("utf-8", "replace"))
        if not match:
            return None
        start = int(match.group(1))
        old_len = int(match.group(2)) if match.group(2) is not None else 1
        # A hunk of an empty old range starts after line START, otherwise at line START.
        first = start if old_len == 0 else start - 1
        if first < pos or first > len(old_lines):
            return None
        out.extend(old_lines[pos:first])
        pos = first
        i += 1
        while i < len(diff_lines) and not diff_lines[i].startswith(b"@@"):
            line = diff_lines[i]
            no_newline = i + 1 < len(diff_lines) and diff_lines[i + 1].startswith(b"\\")
            tag, text = line[:1], line[1:]
            full = text if no_newline else text + b"\n"
            if tag in (b" ", b"-"):
                if pos >= len(old_lines) or old_lines[pos] != full:
                    return None
                pos += 1
                if tag == b" ":
                    out.append(full)
            elif tag == b"+":
                out.append(full)
            else:
                return None
            i += 2 if no_newline else 1
    out.extend(old_lines[pos:])
    return b"".join(out)


def sha256_hex(data):
    """Hex SHA-256 of DATA, as pftls reports it."""
    return hashlib.sha256(data).hexdigest()


def to_text(data):
    """Text for Ansible's diff display; undecodable bytes are shown, never fatal."""
    return data.decode("utf-8", "replace")


def build_diff(files, before_contents, config_dir):
    """Ansible diff entries (before/after text) for the files pftls changed.

    Without check mode, AFTER is read from disk; in check mode it is rebuilt from pftls's
    unified diff and checked against the after_sha256 pftls computed, so the shown text is
    exactly what pftls would write. When it does not check out, the diff is shown as printed.
    """
    entries = []
    for entry in files:
        if not entry.get("changed"):
            continue
        path = entry.get("path") or ""
        name = os.path.basename(path)
        before = before_contents.get(name)
        if before is None:
            before = read_bytes(path) or b""
        # After a real run the file on disk is the result; in check mode it is still BEFORE.
        after = read_bytes(path)
        if after is None or sha256_hex(after) != entry.get("after_sha256"):
            after = apply_unified_diff(before, entry.get("diff") or "")
        if after is not None and sha256_hex(after) == entry.get("after_sha256"):
            entries.append(
                {
                    "before_header": path,
                    "after_header": path,
                    "before": to_text(before),
                    "after": to_text(after),
                }
            )
        elif entry.get("diff"):
            entries.append({"prepared": entry["diff"]})
    if not entries and any(f.get("changed") for f in files):
        entries.append({"prepared": "pftls changed files in %s" % config_dir})
    return entries


def resolve_binary(module, binary):
    """Absolute path of the pftls binary; fails the task clearly when it is missing."""
    if os.sep in binary:
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            module.fail_json(msg="pftls binary %s does not exist or is not executable" % binary)
        return binary
    return module.get_bin_path(binary, required=True)


def run_pftls(module, argv):
    """Runs pftls and returns its JSON object; fails the task on any error, with its message."""
    rc, out, err = module.run_command(argv)
    try:
        result = json.loads(out)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        module.fail_json(
            msg="pftls exited %d without a JSON object: %s" % (rc, (err or out).strip()),
            rc=rc,
            stdout=out,
            stderr=err,
            cmd=argv,
        )
    if rc != 0 or result.get("error"):
        error = result.get("error") or {}
        module.fail_json(
            msg="pftls: %s" % error.get("message", "exit code %d" % rc),
            error=error,
            rc=rc,
            stderr=err,
            cmd=argv,
        )
    return result


def has_apply_snapshot(module, base_argv):
    """Whether the backup directory holds a complete snapshot taken by an apply."""
    listing = run_pftls(module, base_argv + ["backups", "list"])
    for backup in listing.get("backups") or []:
        manifest = backup.get("manifest") or {}
        if backup.get("complete") and manifest.get("action") == "apply":
            return True
    return False


def main():
    """Module entry point."""
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="applied", choices=["applied", "rolled_back"]),
            policies=dict(type="list", elements="str"),
            config_dir=dict(type="path", default="/etc/postfix"),
            backup_dir=dict(type="path", default="/var/lib/pftls/backups"),
            crypto_policies_dir=dict(type="path"),
            policy_dirs=dict(type="list", elements="path", default=[]),
            reload=dict(type="bool", default=False),
            to=dict(type="str"),
            binary=dict(type="str", default="pftls"),
        ),
        required_if=[("state", "applied", ("policies",))],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "applied" and params["to"]:
        module.fail_json(msg="option 'to' only applies to state=rolled_back")

    binary = resolve_binary(module, params["binary"])
    base = [binary, "--format", "json", "--config-dir", params["config_dir"]]
    base += ["--backup-dir", params["backup_dir"]]
    if params["crypto_policies_dir"]:
        base += ["--crypto-policies-dir", params["crypto_policies_dir"]]
    for directory in params["policy_dirs"]:
        base += ["--policy-dir", directory]

    if params["state"] == "applied":
        action = ["apply"]
        for policy in params["policies"]:
            action += ["-p", policy]
    else:
        # Nothing was ever applied here: rolling back is a no-op, not an error, so that a
        # fleet-wide rollback succeeds on hosts that the apply found already compliant.
        if not params["to"] and not has_apply_snapshot(module, base):
            module.exit_json(
                changed=False,
                msg="no snapshot taken by apply in %s: nothing to roll back" % params["backup_dir"],
                findings=[],
                warnings_pftls=[],
                cmd=base + ["backups", "list"],
            )
        action = ["rollback"]
        if params["to"]:
            action += ["--to", params["to"]]
    if module.check_mode:
        action.append("--dry-run")
    elif params["reload"]:
        action.append("--reload")
    argv = base + action

    before_contents = {}
    for name in CONFIG_FILES:
        before_contents[name] = read_bytes(os.path.join(params["config_dir"], name))

    result = run_pftls(module, argv)
    changed = bool(result.get("changed"))
    files = result.get("files") or []
    warnings = [str(w) for w in result.get("warnings") or []]
    for warning in warnings:
        module.warn("pftls: %s" % warning)

    ret = dict(
        changed=changed,
        dry_run=bool(result.get("dry_run")),
        files=files,
        findings=result.get("findings") or [],
        warnings_pftls=warnings,
        cmd=argv,
    )
    if params["state"] == "applied":
        ret["parameters"] = result.get("parameters") or []
        ret["findings_fixed"] = result.get("findings_fixed") or []
        ret["findings_introduced"] = result.get("findings_introduced") or []
        for finding in ret["findings_introduced"]:
            if isinstance(finding, dict):
                module.warn(
                    "pftls: the change introduces %s (%s): %s"
                    % (finding.get("id"), finding.get("severity"), finding.get("message"))
                )
    else:
        ret["rolled_back_to"] = result.get("to")
    backup = result.get("backup")
    if isinstance(backup, dict):
        ret["backup_file"] = backup.get("path")
        ret["backup_id"] = backup.get("id")
    if result.get("reload") is not None:
        ret["reload"] = result["reload"]
    if module._diff and changed:
        ret["diff"] = build_diff(files, before_contents, params["config_dir"])
    module.exit_json(**ret)


if __name__ == "__main__":
    main()
