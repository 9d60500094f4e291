#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 pftls developers
# MIT License (see LICENSE in the pftls repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_policy
short_description: Apply Postfix TLS policies with pftls, or roll them back
description:
  - Runs the C(pftls) binary on the managed host to apply declarative TLS policies to
    Postfix's C(main.cf) and C(master.cf), or to restore the snapshot taken by an apply.
  - pftls validates the candidate files (its own checks and C(postconf -c) on a copy) before it
    writes anything, takes a timestamped snapshot, and writes C(main.cf) and C(master.cf)
    atomically and together. A configuration it cannot parse fails the task with pftls's
    C(FILE:LINE) message and changes nothing.
  - Idempotent. A second run with the same policies reports C(changed=false) and writes nothing.
version_added: "1.0.0"
author:
  - pftls developers (@pftls)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Runs C(pftls plan) (or C(pftls rollback --dry-run)), which writes nothing anywhere (no
        snapshot, no lock file, no change of any mtime) and reports exactly what would change.
  diff_mode:
    support: full
    details:
      - Returns the full before and after text of every file that changes (or would change in
        check mode). In check mode the after text is rebuilt from pftls's diff and checked
        against the SHA-256 pftls computed for the file it would write.
  platform:
    platforms: posix
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
      - Policies to apply, in order; built-in names such as V(inbound-opportunistic), names
        found in O(policy_dirs), or paths to YAML policy files on the managed host.
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
    description: Extra policy directories on the managed host, searched before the built-in ones.
    type: list
    elements: path
    default: []
  postfix_version:
    description:
      - The Postfix version to target (V(3.7) or V(3.7.11)), using pftls's built-in parameter
        data for it. When omitted, pftls asks the installed C(postconf).
    type: str
  reload:
    description:
      - Reload Postfix after a change (O(reload_command)). A failed reload makes pftls restore
        the previous files and the task fail. Not run in check mode nor when nothing changed.
    type: bool
    default: true
  reload_command:
    description:
      - The reload command pftls runs, split on whitespace and run without a shell. When
        omitted, C(postfix reload).
    type: str
  to:
    description: Snapshot id to restore with O(state=rolled_back) (see RV(backup_id)).
    type: str
  binary:
    description: The pftls executable, a name looked up in E(PATH) or an absolute path.
    type: str
    default: pftls
notes:
  - Runs C(pftls --format json); its output and exit codes are described in the pftls SPEC.
seealso:
  - module: pftls.postfix.tls_info
requirements:
  - pftls on the managed host (the role P(pftls.postfix.pftls#role) installs it)
"""

EXAMPLES = r"""
- name: Make port 25 opportunistic and log TLS (check mode and diff mode supported)
  pftls.postfix.tls_policy:
    policies:
      - inbound-opportunistic
      - tls-logging
  register: pftls_result

- name: Apply a policy file, reload with a custom command, target Postfix 3.7
  pftls.postfix.tls_policy:
    policies:
      - /etc/pftls/policies/site.yml
    reload_command: systemctl reload postfix
    postfix_version: "3.7"

- name: Roll back the most recent apply after a mail-volume drop
  pftls.postfix.tls_policy:
    state: rolled_back

- name: Restore one particular snapshot
  pftls.postfix.tls_policy:
    state: rolled_back
    to: "{{ pftls_result.backup_id }}"
"""

RETURN = r"""
msg:
  description: What happened, in one sentence (or pftls's error message on failure).
  returned: always
  type: str
  sample: "applied inbound-opportunistic, tls-logging: main.cf changed (snapshot 20261130T024728Z)"
dry_run:
  description: Whether pftls only planned (check mode).
  returned: when pftls ran
  type: bool
backup_id:
  description: Id of the snapshot pftls took before writing, for O(to). None in check mode.
  returned: when a snapshot was taken
  type: str
  sample: "20261130T024728Z"
backup_path:
  description: Directory of that snapshot.
  returned: when a snapshot was taken
  type: str
  sample: /var/lib/pftls/backups/20261130T024728Z
files:
  description:
    - Per file, C(path), C(changed), C(before_sha256), C(after_sha256), and C(diff) (unified)
      where pftls gives one.
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
    - Findings pftls reports for the resulting configuration (C(id), C(severity), C(message),
      C(location), C(fix)).
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
rolled_back_to:
  description: The snapshot id that the rollback restores.
  returned: when state=rolled_back and pftls ran
  type: str
reload:
  description: The reload pftls ran (C(command), C(ok), C(output)).
  returned: when a reload ran
  type: dict
error:
  description: pftls's error (C(kind), C(message), C(file), C(line)).
  returned: failure
  type: dict
cmd:
  description: The pftls command line that ran.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pftls.postfix.plugins.module_utils.pftls import (
    COMMON_ARGS,
    base_argv,
    build_diff,
    run_pftls,
    snapshot_config,
)


def has_apply_snapshot(module, base):
    """Whether the backup directory holds a complete snapshot taken by an apply."""
    listing = run_pftls(module, base + ["backups", "list"])
    for backup in listing.get("backups") or []:
        manifest = backup.get("manifest") or {}
        if backup.get("complete") and manifest.get("action") == "apply":
            return True
    return False


def action_argv(module, params):
    """The subcommand and its options for the requested state and mode."""
    if params["state"] == "applied":
        # Check mode is a plan: the same computation as apply, and nothing written.
        action = ["plan"] if module.check_mode else ["apply"]
        for policy in params["policies"]:
            action += ["--policy", policy]
    else:
        action = ["rollback"]
        if params["to"]:
            action += ["--to", params["to"]]
        if module.check_mode:
            action.append("--dry-run")
    if not module.check_mode and params["reload"]:
        action.append("--reload")
        if params["reload_command"]:
            action += ["--reload-command", params["reload_command"]]
    return action


def summary(params, result, changed_names, check_mode):
    """The msg of a successful run."""
    if params["state"] == "applied":
        what = "applied %s" % ", ".join(params["policies"])
    else:
        what = "rolled back to %s" % (result.get("to") or params["to"] or "the last apply")
    if not changed_names:
        return "%s: nothing to change" % what
    verb = "would change" if check_mode else "changed"
    text = "%s: %s %s" % (what, " and ".join(changed_names), verb)
    backup = result.get("backup")
    if isinstance(backup, dict) and backup.get("id"):
        text += " (snapshot %s)" % backup["id"]
    return text


def main():
    """Module entry point."""
    argument_spec = dict(
        state=dict(type="str", default="applied", choices=["applied", "rolled_back"]),
        policies=dict(type="list", elements="str"),
        reload=dict(type="bool", default=True),
        reload_command=dict(type="str"),
        to=dict(type="str"),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "applied", ("policies",))],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "applied" and params["to"]:
        module.fail_json(msg="option 'to' only applies to state=rolled_back")
    if params["state"] == "applied" and not params["policies"]:
        module.fail_json(msg="state=applied needs at least one policy")

    base = base_argv(module)
    if params["state"] == "rolled_back" and not params["to"]:
        # Nothing was ever applied here: rolling back is a no-op, not an error, so that a
        # fleet-wide rollback succeeds on hosts that the apply found already compliant.
        if not has_apply_snapshot(module, base):
            module.exit_json(
                changed=False,
                msg="no snapshot taken by apply in %s: nothing to roll back" % params["backup_dir"],
                findings=[],
                cmd=base + ["backups", "list"],
            )
    argv = base + action_argv(module, params)
    before_contents = snapshot_config(params["config_dir"])

    result = run_pftls(module, argv)
    changed = bool(result.get("changed"))
    files = result.get("files") or []
    for warning in result.get("warnings") or []:
        module.warn("pftls: %s" % warning)

    changed_names = [os.path.basename(f.get("path") or "") for f in files if f.get("changed")]
    ret = dict(
        changed=changed,
        msg=summary(params, result, changed_names, module.check_mode),
        dry_run=bool(result.get("dry_run", module.check_mode)),
        files=files,
        findings=result.get("findings") or [],
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
        ret["backup_path"] = backup.get("path")
        ret["backup_id"] = backup.get("id")
    if result.get("reload") is not None:
        ret["reload"] = result["reload"]
    if module._diff and changed:
        ret["diff"] = build_diff(files, before_contents)
    module.exit_json(**ret)


if __name__ == "__main__":
    main()
