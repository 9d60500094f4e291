"""Test-only callback: records every task result per host and the play recap as JSON in the
file named by PFTLS_RECORD, beside the normal output (ansible-core ships no json callback; the
one in ansible.posix is another collection)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: pftls_record
type: notification
short_description: Records task results and stats as JSON for the pftls tests
description: Writes the file named by E(PFTLS_RECORD) at the end of the playbook.
requirements:
  - enabled in callbacks_enabled
"""


class CallbackModule(CallbackBase):
    """Collects {task name: {host: result}} and {host: stats}."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "pftls_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = {}

    def _record(self, result, **extra):
        entry = dict(result._result)
        entry.update(extra)
        name = result._task.get_name()
        self.tasks.setdefault(name, {})[result._host.get_name()] = entry

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        path = os.environ.get("PFTLS_RECORD")
        if path:
            with open(path, "w") as handle:
                json.dump({"tasks": self.tasks, "stats": summary}, handle, default=str)
