#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 pftls developers
# MIT License (see LICENSE in the pftls repository)
"""Bench stub of pftls.postfix.tls_policy (tests/ansible/bench.py): the same arguments, no
pftls run, changed=false. The difference of a playbook run with it and with the real module is
what pftls itself costs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tls_policy
short_description: Bench stub of the pftls tls_policy module
description: Accepts the real module's arguments and returns changed=false without running pftls.
author:
  - pftls developers (@pftls)
options: {}
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    """Validates the arguments, runs nothing."""
    # The real module's argument_spec: Ansible validates the arguments the same way.
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="applied", choices=["applied", "rolled_back"]),
            policies=dict(type="list", elements="str"),
            reload=dict(type="bool", default=True),
            reload_command=dict(type="str"),
            to=dict(type="str"),
            config_dir=dict(type="path", default="/etc/postfix"),
            backup_dir=dict(type="path", default="/var/lib/pftls/backups"),
            crypto_policies_dir=dict(type="path"),
            policy_dirs=dict(type="list", elements="path", default=[]),
            postfix_version=dict(type="str"),
            binary=dict(type="str", default="pftls"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, msg="stub", findings=[])


if __name__ == "__main__":
    main()
