#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 pftls developers
# MIT License (see LICENSE in the pftls repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_info
short_description: Postfix TLS findings, topology and effective settings, from pftls
description:
  - Runs C(pftls doctor) and C(pftls show) on the managed host and returns their results as
    structured data; changes nothing.
  - RV(findings) says what is wrong or risky, where (C(main.cf:LINE)), and the policy or edit
    that fixes it; RV(settings) lists every effective TLS parameter with its value and where it
    comes from.
  - A configuration pftls cannot parse fails the task with pftls's C(FILE:LINE) message.
  - An info module; it never sets C(ansible_facts). Register the result, or use
    M(ansible.builtin.set_fact) to keep it as a fact.
version_added: "1.0.0"
author:
  - pftls developers (@pftls)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
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
      - The Postfix version to target (V(3.7) or V(3.7.11)). When omitted, pftls asks the
        installed C(postconf).
    type: str
  file_checks:
    description:
      - Also read the certificate and key files the configuration names (expiry, key match,
        readability). V(false) checks the configuration only (C(pftls doctor --no-file-checks)).
    type: bool
    default: true
  all_settings:
    description: Also return every other parameter set in C(main.cf) and every C(-o) override.
    type: bool
    default: false
  binary:
    description: The pftls executable, a name looked up in E(PATH) or an absolute path.
    type: str
    default: pftls
seealso:
  - module: pftls.postfix.tls_policy
requirements:
  - pftls on the managed host
"""

EXAMPLES = r"""
- name: Read the TLS state of every relay
  pftls.postfix.tls_info:
  register: pftls_tls

- name: Fail when pftls reports an error-level finding
  ansible.builtin.assert:
    that: pftls_tls.counts.error == 0
    fail_msg: "{{ pftls_tls.findings | selectattr('severity', 'eq', 'error') | map(attribute='message') | list }}"

- name: Keep the effective settings of port 25 as a fact
  ansible.builtin.set_fact:
    pftls_port25: "{{ pftls_tls.settings | selectattr('scope', 'eq', 'smtp/inet') | list }}"
"""

RETURN = r"""
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "2 findings (1 error, 1 warning, 0 info)"
findings:
  description:
    - The doctor findings, each with C(id), C(severity) (V(error), V(warning), V(info)),
      C(message), C(location) (C(main.cf:LINE) or null), C(subject), C(fix) and C(policy)
      (the policy that fixes it, or null).
  returned: success
  type: list
  elements: dict
counts:
  description: Number of findings per severity.
  returned: success
  type: dict
  sample: {"error": 1, "warning": 1, "info": 0}
settings:
  description:
    - The effective TLS settings, each with C(scope) (V(main) or a master.cf service such as
      V(smtp/inet)), C(name), C(value) and C(source) (C(main.cf:LINE), C(master.cf:LINE) or
      V(default)).
  returned: success
  type: list
  elements: dict
topology:
  description:
    - The listener topology pftls detected, passed through as pftls reports it
      (C(listeners), each with its service, role such as mx or submission, the reason,
      and the effective TLS level with the file and line that decides it). Absent when
      the installed pftls does not report one.
  returned: when pftls reports it
  type: raw
postfix_version:
  description: The Postfix version pftls targeted.
  returned: success
  type: str
  sample: "3.7.11"
crypto_policy:
  description: The system crypto policy pftls took into account.
  returned: when pftls reports it
  type: str
  sample: "crypto-policies DEFAULT"
warnings_pftls:
  description: Warnings pftls reported (also emitted as Ansible warnings).
  returned: success
  type: list
  elements: str
error:
  description: pftls's error (C(kind), C(message), C(file), C(line)).
  returned: failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pftls.postfix.plugins.module_utils.pftls import (
    COMMON_ARGS,
    base_argv,
    run_pftls,
)

SEVERITIES = ("error", "warning", "info")


def main():
    """Module entry point."""
    argument_spec = dict(
        file_checks=dict(type="bool", default=True),
        all_settings=dict(type="bool", default=False),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    base = base_argv(module)

    doctor_argv = base + ["doctor"]
    if not params["file_checks"]:
        doctor_argv.append("--no-file-checks")
    doctor = run_pftls(module, doctor_argv)
    show_argv = base + ["show"]
    if params["all_settings"]:
        show_argv.append("--all")
    show = run_pftls(module, show_argv)

    findings = doctor.get("findings") or []
    counts = dict((level, 0) for level in SEVERITIES)
    counts.update(doctor.get("counts") or {})
    warnings = []
    for warning in (doctor.get("warnings") or []) + (show.get("warnings") or []):
        if warning not in warnings:
            warnings.append(warning)
            module.warn("pftls: %s" % warning)
    ret = dict(
        changed=False,
        msg="%d findings (%s)"
        % (len(findings), ", ".join("%d %s" % (counts[level], level) for level in SEVERITIES)),
        findings=findings,
        counts=counts,
        settings=show.get("parameters") or [],
        postfix_version=doctor.get("postfix_version") or show.get("postfix_version"),
        warnings_pftls=warnings,
    )
    if doctor.get("crypto_policy") is not None:
        ret["crypto_policy"] = doctor["crypto_policy"]
    # Newer pftls reports the detected topology in show and doctor; pass it through unchanged.
    topology = show.get("topology", doctor.get("topology"))
    if topology is not None:
        ret["topology"] = topology
    module.exit_json(**ret)


if __name__ == "__main__":
    main()
