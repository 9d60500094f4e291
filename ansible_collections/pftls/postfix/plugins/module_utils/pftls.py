# -*- coding: utf-8 -*-
# Copyright (c) 2026 pftls developers
# MIT License (see LICENSE in the pftls repository)
"""Shared by the pftls.postfix modules: finding and running the pftls binary, and turning the
unified diffs pftls prints into the before/after text Ansible's diff mode shows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

# The files pftls may write; it never writes anything else in the configuration directory.
CONFIG_FILES = ("main.cf", "master.cf")

HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")

# Options shared by every module, as argument_spec entries (the DOCUMENTATION of each module
# describes them).
COMMON_ARGS = dict(
    config_dir=dict(type="path", default="/etc/postfix"),
    backup_dir=dict(type="path", default="/var/lib/pftls/backups"),
    crypto_policies_dir=dict(type="path"),
    policy_dirs=dict(type="list", elements="path", default=[]),
    postfix_version=dict(type="str"),
    binary=dict(type="str", default="pftls"),
)


def read_bytes(path):
    """Content of PATH, or None when it does not exist or cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def sha256_hex(data):
    """Hex SHA-256 of DATA, as pftls reports it."""
    return hashlib.sha256(data).hexdigest()


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


def _text(data):
    """Text for Ansible's diff display; undecodable bytes are shown, never fatal."""
    return data.decode("utf-8", "replace")


def build_diff(files, before_contents):
    """Ansible diff entries (before/after text per file) for the files pftls changed.

    After a real run AFTER is read from disk; in check mode it is rebuilt from pftls's unified
    diff and checked against the after_sha256 pftls computed, so the text shown is exactly what
    pftls would write. When it does not check out, the diff is shown as pftls printed it.
    """
    entries = []
    for entry in files:
        if not entry.get("changed"):
            continue
        path = entry.get("path") or ""
        before = before_contents.get(os.path.basename(path))
        if before is None:
            before = b""
        after = read_bytes(path)
        if after is None or sha256_hex(after) != entry.get("after_sha256"):
            after = apply_unified_diff(before, entry.get("diff") or "")
        if after is not None and sha256_hex(after) == entry.get("after_sha256"):
            entries.append(
                {
                    "before_header": path,
                    "after_header": path,
                    "before": _text(before),
                    "after": _text(after),
                }
            )
        elif entry.get("diff"):
            entries.append({"prepared": entry["diff"]})
    return entries


def snapshot_config(config_dir):
    """The bytes of main.cf and master.cf before pftls runs: file name -> bytes or None."""
    return dict((name, read_bytes(os.path.join(config_dir, name))) for name in CONFIG_FILES)


def resolve_binary(module, binary):
    """Absolute path of the pftls binary; fails the task clearly when it is missing."""
    if os.sep in binary:
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            module.fail_json(msg="pftls binary %s does not exist or is not executable" % binary)
        return binary
    return module.get_bin_path(binary, required=True)


def base_argv(module):
    """pftls --format json and the global options every subcommand takes."""
    params = module.params
    argv = [resolve_binary(module, params["binary"]), "--format", "json"]
    argv += ["--config-dir", params["config_dir"], "--backup-dir", params["backup_dir"]]
    if params["crypto_policies_dir"]:
        argv += ["--crypto-policies-dir", params["crypto_policies_dir"]]
    if params["postfix_version"]:
        argv += ["--postfix-version", params["postfix_version"]]
    for directory in params["policy_dirs"]:
        argv += ["--policy-dir", directory]
    return argv


def run_pftls(module, argv, ok_codes=(0,)):
    """Runs pftls and returns its JSON object.

    Fails the task on any error, with pftls's own message (FILE:LINE: ... for configuration
    errors) as msg and its error object as error.
    """
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
    if rc not in ok_codes or result.get("error"):
        error = result.get("error") or {}
        module.fail_json(
            msg="pftls: %s" % error.get("message", "exit code %d" % rc),
            error=error,
            rc=rc,
            stderr=err,
            cmd=argv,
        )
    return result
