#!/usr/bin/env python3
"""Write a synthetic Postfix mail log with KNOWN totals, and print the totals as JSON.

Usage: gen-maillog.py FORMAT (--lines N | --size BYTES) [--seed S] [--start ISO] [--gzip]
                      [--step SECONDS] -o OUTPUT

FORMAT: traditional (space-padded day, "Nov  3"), maillog (Postfix maillog_file, "Nov 03"),
        rfc3339 (rsyslog, microseconds and +00:00), short-iso (journalctl, +0000),
        short-iso-precise, rfc5424 ("<22>1 ...").
Timestamps are UTC. The output's mtime is set to the last timestamp (what a real log has),
so year-less formats can be placed in time from it. --start 2025-12-31T23:00:00Z with
enough lines gives a log that runs Dec 31 -> Jan 1.

The printed JSON uses the field names of pftls's `logs --format json` totals plus the
failure reasons, protocols, first/last and hourly buckets (messages_accepted,
tls_handshake_failures), so tests can compare exactly.
"""
import argparse
import datetime as dt
import gzip
import json
import os
import random
import sys

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# The analyser's reason categories (crates/maillog/src/reasons.rs) of the reasons below.
CATEGORY = {
    "lost connection": "lost connection",
    "no shared cipher": "no shared cipher",
    "no suitable signature algorithm": "no shared cipher",
    "unsupported protocol": "unsupported or too low protocol",
    "wrong version number": "unsupported or too low protocol",
}

REASONS = [
    ("0A0000C1", "no shared cipher", "../ssl/statem/statem_srvr.c:2226:"),
    ("0A000102", "unsupported protocol", "../ssl/statem/statem_srvr.c:1664:"),
    ("0A00010B", "wrong version number", "../ssl/record/ssl3_record.c:350:"),
    ("0A000076", "no suitable signature algorithm", "../ssl/t1_lib.c:3339:"),
]
PROTOS = [("TLSv1.3", "TLS_AES_256_GCM_SHA384", "(256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"),
          ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "(128/128 bits) key-exchange X25519 server-signature ECDSA (prime256v1) server-digest SHA256"),
          ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "(256/256 bits)")]
TLS_DEFER = ["TLS is required, but was not offered by host {h}",
             "Cannot start TLS: handshake failure"]


class Gen:
    def __init__(self, fmt, seed, start, step):
        self.fmt = fmt
        self.r = random.Random(seed)
        self.t = start.timestamp()
        self.step = step
        self.out = []
        self.size = 0
        self.qid = 0x1A2B3C4D00
        self.pid = 1000
        self.clients = [f"mail{i}.example{i % 17}.org[198.51.{i // 250}.{i % 250 + 1}]" for i in range(300)]
        self.clients += [f"unknown[203.0.113.{i}]" for i in range(1, 60)]
        self.clients += [f"v6host{i}.example.net[2001:db8::{i:x}]" for i in range(1, 20)]
        self.domains = [f"dest{i}.example.{tld}" for i in range(120) for tld in ("com",)]
        self.e = dict(lines=0, postfix_lines=0, connections=0, tls_established=0,
                      tls_handshake_failures=0, starttls_required_rejects=0, messages_accepted=0,
                      tls_deferrals=0, plaintext_sessions=0, tls_sessions=0,
                      tls_established_outbound=0, deliveries_sent=0, deliveries_deferred=0,
                      deliveries_bounced=0)
        self.reasons = {}
        self.protos = {}
        self.buckets = {}
        self.first = None
        self.last = None
        self._pcache = (None, None)

    # --- time and prefix -------------------------------------------------------------
    def prefix_time(self):
        sec = int(self.t)
        us = int((self.t - sec) * 1e6)
        if self._pcache[0] != sec:
            d = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
            self._pcache = (sec, d)
        d = self._pcache[1]
        f = self.fmt
        if f == "traditional":
            return f"{MONTHS[d.month - 1]} {d.day:>2} {d:%H:%M:%S}"
        if f == "maillog":
            return f"{MONTHS[d.month - 1]} {d.day:02} {d:%H:%M:%S}"
        if f == "rfc3339" or f == "rfc5424":
            return f"{d:%Y-%m-%dT%H:%M:%S}.{us:06d}+00:00"
        if f == "short-iso":
            return f"{d:%Y-%m-%dT%H:%M:%S}+0000"
        if f == "short-iso-precise":
            return f"{d:%Y-%m-%dT%H:%M:%S}.{us:06d}+0000"
        raise SystemExit(f"unknown format {f}")

    def emit(self, tag, pid, msg, postfix=True, sev=6):
        ts = self.prefix_time()
        if self.fmt == "rfc5424":
            line = f"<{16 + sev if postfix else 24 + sev}>1 {ts} mx {tag} {pid} - - {msg}\n"
        else:
            line = f"{ts} mx {tag}[{pid}]: {msg}\n"
        self.out.append(line)
        self.size += len(line)
        self.e["lines"] += 1
        if postfix:
            self.e["postfix_lines"] += 1
            sec = int(self.t)
            if self.first is None:
                self.first = sec
            self.last = sec

    def tick(self):
        self.t += self.r.random() * self.step

    def bucket(self, key):
        b = self.buckets.setdefault(int(self.t) // 3600 * 3600, {"messages_accepted": 0, "tls_handshake_failures": 0})
        b[key] += 1

    def next_qid(self):
        self.qid += self.r.randint(1, 7)
        return f"{self.qid:X}"

    def next_pid(self):
        self.pid = self.pid + 1 if self.pid < 60000 else 1000
        return self.pid

    # --- scenarios -------------------------------------------------------------------
    def accepted(self, smtpd_tag, pid, client):
        q = self.next_qid()
        self.emit(smtpd_tag, pid, f"{q}: client={client}")
        cpid = self.next_pid()
        self.emit("postfix/cleanup", cpid, f"{q}: message-id=<{q}.{self.r.randint(1, 1 << 30)}@example.org>")
        self.e["messages_accepted"] += 1
        self.bucket("messages_accepted")
        if self.r.random() < 0.05:
            # Postfix can log message-id twice for one queue ID (e.g. re-logged after a
            # milter); it is still one message.
            self.emit("postfix/cleanup", cpid, f"{q}: message-id=<dup@example.org>")
        self.emit("postfix/qmgr", 900, f"{q}: from=<a@example.org>, size={self.r.randint(900, 90000)}, nrcpt=1 (queue active)")

    def inbound_tls(self, tag="postfix/smtpd"):
        pid, c = self.next_pid(), self.r.choice(self.clients)
        self.emit(tag, pid, f"connect from {c}")
        self.e["connections"] += 1
        p = self.r.choice(PROTOS)
        kind = self.r.choice(["Anonymous", "Anonymous", "Untrusted", "Trusted"])
        self.emit(tag, pid, f"{kind} TLS connection established from {c}: {p[0]} with cipher {p[1]} {p[2]}")
        self.e["tls_established"] += 1
        self.protos[p[0]] = self.protos.get(p[0], 0) + 1
        self.accepted(tag, pid, c)
        self.emit(tag, pid, f"disconnect from {c} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7")
        self.e["tls_sessions"] += 1

    def wrapper_tls(self):
        tag = "postfix/submissions/smtpd"
        pid, c = self.next_pid(), self.r.choice(self.clients)
        self.emit(tag, pid, f"connect from {c}")
        self.e["connections"] += 1
        p = PROTOS[0]
        self.emit(tag, pid, f"Anonymous TLS connection established from {c}: {p[0]} with cipher {p[1]} {p[2]}")
        self.e["tls_established"] += 1
        self.protos[p[0]] = self.protos.get(p[0], 0) + 1
        self.accepted(tag, pid, c)
        self.emit(tag, pid, f"disconnect from {c} ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6")
        self.e["tls_sessions"] += 1

    def inbound_fail(self):
        pid, c = self.next_pid(), self.r.choice(self.clients)
        tag = "postfix/smtpd"
        self.emit(tag, pid, f"connect from {c}")
        self.e["connections"] += 1
        self.e["tls_handshake_failures"] += 1
        self.bucket("tls_handshake_failures")
        if self.r.random() < 0.25:
            self.emit(tag, pid, f"SSL_accept error from {c}: lost connection")
            reason = "lost connection"
        else:
            code, reason, where = self.r.choice(REASONS)
            self.emit(tag, pid, f"SSL_accept error from {c}: -1")
            if self.r.random() < 0.3:
                # another process logs in between; the reason still belongs to `pid`
                self.emit("postfix/anvil", 901, "statistics: max connection rate 1/60s for (smtp:192.0.2.1) at Nov 30 01:02:03")
            self.emit(tag, pid, f"warning: TLS library problem: error:{code}:SSL routines::{reason}:{where}", sev=4)
        cat = CATEGORY[reason]
        self.reasons[cat] = self.reasons.get(cat, 0) + 1
        self.emit(tag, pid, f"lost connection after STARTTLS from {c}")
        self.emit(tag, pid, f"disconnect from {c} ehlo=1 starttls=0/1 commands=1/2")
        self.e["plaintext_sessions"] += 1

    def refused_530(self):
        pid, c = self.next_pid(), self.r.choice(self.clients)
        tag = "postfix/smtpd"
        self.emit(tag, pid, f"connect from {c}")
        self.e["connections"] += 1
        self.emit(tag, pid, f"disconnect from {c} ehlo=1 mail=0/1 rcpt=0/1 quit=1 commands=2/4")
        self.e["starttls_required_rejects"] += 1
        self.e["plaintext_sessions"] += 1

    def plaintext(self):
        pid, c = self.next_pid(), self.r.choice(self.clients)
        tag = "postfix/smtpd"
        self.emit(tag, pid, f"connect from {c}")
        self.e["connections"] += 1
        self.accepted(tag, pid, c)
        self.emit(tag, pid, f"disconnect from {c} ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
        self.e["plaintext_sessions"] += 1

    def outbound(self):
        tag = self.r.choice(["postfix/smtp", "postfix/smtp", "postfix/relay/smtp"])
        pid, q, d = self.next_pid(), self.next_qid(), self.r.choice(self.domains)
        host = f"mx.{d}[192.0.2.{self.r.randint(1, 254)}]"
        x = self.r.random()
        if x < 0.6:
            self.emit(tag, pid, f"Verified TLS connection established to {host}:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)")
            self.e["tls_established_outbound"] += 1
            self.emit(tag, pid, f"{q}: to=<user@{d}>, relay={host}:25, delay=0.4, delays=0.05/0.01/0.3/0.04, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC)")
            self.e["deliveries_sent"] += 1
        elif x < 0.8:
            r = self.r.choice(TLS_DEFER).format(h=host)
            self.emit(tag, pid, f"{q}: to=<user@{d}>, relay={host}:25, delay=1.2, delays=0.05/0/1.1/0, dsn=4.7.4, status=deferred ({r})")
            self.e["deliveries_deferred"] += 1
            self.e["tls_deferrals"] += 1
        elif x < 0.95:
            self.emit(tag, pid, f"{q}: to=<user@{d}>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to {host}:25: Connection timed out)")
            self.e["deliveries_deferred"] += 1
        else:
            self.emit(tag, pid, f"{q}: to=<nobody@{d}>, relay={host}:25, delay=0.5, delays=0/0/0.3/0.2, dsn=5.1.1, status=bounced (host {host} said: 550 5.1.1 unknown user (in reply to RCPT TO command))")
            self.e["deliveries_bounced"] += 1

    def noise(self):
        x = self.r.random()
        if x < 0.4:
            self.emit("dovecot", self.next_pid(), "imap-login: Login: user=<u>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, TLS", postfix=False)
        elif x < 0.7:
            self.emit("CRON", self.next_pid(), "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", postfix=False)
        elif x < 0.85:
            self.emit("postfix/anvil", 901, "statistics: max connection count 1 for (smtp:192.0.2.1) at Nov 30 01:02:03")
        else:
            self.emit("postfix/postscreen", 902, "CONNECT from [192.0.2.44]:53422 to [192.0.2.1]:25")

    def one(self):
        self.tick()
        x = self.r.random()
        if x < 0.30:
            self.inbound_tls()
        elif x < 0.36:
            self.inbound_tls("postfix/submission/smtpd")
        elif x < 0.40:
            self.wrapper_tls()
        elif x < 0.50:
            self.inbound_fail()
        elif x < 0.56:
            self.refused_530()
        elif x < 0.66:
            self.plaintext()
        elif x < 0.86:
            self.outbound()
        else:
            self.noise()

    def expected(self):
        iso = lambda s: dt.datetime.fromtimestamp(s, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        e = dict(self.e)
        lines, pf = e.pop("lines"), e.pop("postfix_lines")
        return {"format": self.fmt, "lines": lines, "postfix_lines": pf,
                "first": iso(self.first) if self.first is not None else None,
                "last": iso(self.last) if self.last is not None else None,
                "totals": e, "failure_reasons": self.reasons, "tls_protocols": self.protos,
                "buckets": {iso(k): v for k, v in sorted(self.buckets.items())}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("format")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--lines", type=int)
    g.add_argument("--size", type=int, help="bytes (uncompressed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2025-11-30T00:00:00Z")
    ap.add_argument("--step", type=float, default=2.0, help="max seconds between sessions")
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    start = dt.datetime.fromisoformat(a.start.replace("Z", "+00:00"))
    gen = Gen(a.format, a.seed, start, a.step)
    opener = (lambda p: gzip.open(p, "wt", compresslevel=6)) if a.gzip else (lambda p: open(p, "w"))
    with opener(a.output) as f:
        def done():
            return gen.e["lines"] >= a.lines if a.lines is not None else gen.size >= a.size
        while not done():
            gen.one()
            if len(gen.out) >= 20000 or done():
                if a.lines is not None and gen.e["lines"] > a.lines:
                    pass  # sessions are atomic: the count may overshoot by a few lines
                f.write("".join(gen.out))
                gen.out.clear()
    if gen.last is not None:
        os.utime(a.output, (gen.last, gen.last))
    json.dump(gen.expected(), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
