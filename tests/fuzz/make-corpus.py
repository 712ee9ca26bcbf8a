#!/usr/bin/python3
"""Writes the seed corpus of bin/fuzz-decode into tests/fuzz/corpus/ (next to this file).

Valid bodies of each kind (with and without the optional author), a member record,
envelopes of each type (publish, deliver and members carrying real bodies and records),
and a few malformed frames. Built from PROTOCOL.md with Python's
msgpack, whose packb(use_bin_type=True) output is the canonical form for dicts in the
documented key order. Usage: /usr/bin/python3 tests/fuzz/make-corpus.py
"""
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
ID2 = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
T0 = 1764350736123


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def common(kind, rev=0, author=None):
    d = {"k": kind, "id": ID if kind == "alert" else ID2, "rev": rev, "created": T0,
         "modified": T0 + 60000, "org": "acme", "member": "alice", "signer": b"\x5a" * 32}
    if author is not None:
        d["author"] = author        # the one optional key, right after "signer"
    return d


def alert():
    d = common("alert", 2)
    d.update({"title": "LockBit affiliate targeting payment processors",
              "summary": "# Summary\n\nSeen **twice**.", "tlp": "AMBER", "severity": "high",
              "category": "ransomware", "sectors": ["finance", "energy"],
              "recipients": ["sector:finance", "globex"],
              "references": ["https://example.org/advisory/1"], "tags": ["lockbit"],
              "iocs": [["ipv4", "198.51.100.7", "C2 server", True],
                       ["ipv6", "2001:db8::1", "", True],
                       ["cidr", "198.51.100.0/24", "", False],
                       ["domain", "evil.example", "", True],
                       ["url", "https://evil.example/x?a=1", "", True],
                       ["email", "ceo@evil.example", "", False],
                       ["md5", "d41d8cd98f00b204e9800998ecf8427e", "", True],
                       ["sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "", True],
                       ["sha256", SHA, "dropper", False],
                       ["filename", "invoice.exe", "", True],
                       ["cve", "CVE-2024-3400", "", False],
                       ["asn", "AS64496", "", False]]})
    return d


def clear_alert():
    d = common("alert", 1)
    d.update({"title": "Phishing wave", "summary": "", "tlp": "CLEAR", "severity": "low",
              "category": "phishing", "sectors": [], "recipients": [], "references": [],
              "tags": [], "iocs": []})
    return d


def event():
    d = common("alert", 1, author="Ana M\u00fcller")
    d.update({"title": "Workshop: phishing drills", "summary": "", "tlp": "CLEAR", "severity": "low",
              "category": "event", "sectors": [], "recipients": [],
              "references": ["https://example.org/workshop"],
              "tags": ["date:2027-01-14T09:00Z", "place:Bern"], "iocs": []})
    return d


def comment_by(author):
    d = common("comment", author=author)
    d.update({"ref": ID, "text": "Seen here too."})
    return d


def retraction():
    d = common("retraction")
    d.update({"ref": ID, "text": "false positive", "iocs": [["ipv4", "198.51.100.7", "", False]]})
    return d


def comment():
    d = common("comment")
    d.update({"ref": ID, "text": "Seen at two more members."})
    return d


def sighting():
    d = common("sighting")
    d.update({"ref": ID, "tlp": "GREEN", "iocs": [["domain", "evil.example", "", False]],
              "count": 3})
    return d


def member(gateway=False):
    return {"k": "member", "name": "gateway" if gateway else "alice", "org": "acme",
            "sector": "" if gateway else "finance", "role": "reader" if gateway else "publisher",
            "curve": b"\xc5" * 32, "sign": b"\x5a" * 32, "created": T0, "gateway": gateway}


def env(t, **fields):
    d = {"v": 1, "t": t}
    d.update(fields)
    return pack(d)


def main():
    os.makedirs(OUT, exist_ok=True)
    sig = b"\x11" * 64
    body = pack(alert())
    rec = pack(member())
    files = {
        "body-alert": body,
        "body-alert-clear": pack(clear_alert()),
        "body-retraction": pack(retraction()),
        "body-comment": pack(comment()),
        "body-sighting": pack(sighting()),
        "body-alert-event": pack(event()),
        "body-comment-author": pack(comment_by("Bo (SOC, night shift)")),
        "member": rec,
        "member-gateway": pack(member(True)),
        "env-hello": env("hello", cursor=41, categories=["ransomware", "phishing"],
                         sectors=["finance"], min_severity="medium", window=1000,
                         agent="infohub-agent/0.1"),
        "env-welcome": env("welcome", head=123456789, member="alice", org="acme", heartbeat=5000),
        "env-publish": env("publish", req=7, body=body, sig=sig),
        "env-publish-sighting": env("publish", req=8, body=pack(sighting()), sig=sig),
        "env-ok": env("ok", req=7, seq=300, id=ID),
        "env-error": env("error", req=7, code="bad-message", reason="title: too long (300 > 256 bytes)"),
        "env-deliver": env("deliver", items=[[5, body, sig, rec, sig],
                                             [6, pack(comment()), sig, rec, sig],
                                             [9, pack(retraction()), sig, rec, sig]]),
        "env-ack": env("ack", seq=70000),
        "env-ping": env("ping"),
        "env-pong": env("pong", head=5),
        "env-bye": env("bye"),
        "env-status": env("status"),
        "env-stats": env("stats", json='{"connections":2,"head":5}'),
        "env-roster": env("roster"),
        "env-members": env("members", members=[[rec, sig], [pack(member(True)), sig]]),
        #  malformed: each should be rejected, with a different error
        "bad-version": env("ping").replace(b"\xa1v\x01", b"\xa1v\x02"),
        "bad-type": env("zap"),
        "bad-sig-len": env("publish", req=7, body=body, sig=b"\x11" * 12),
        "bad-extra-key": env("ack", seq=1, x=None),
        "bad-noncanonical-rev": body.replace(b"\xa3rev\x02", b"\xa3rev\xcd\x00\x02"),
        "bad-key-order": pack(dict(reversed(list(comment().items())))),
        "bad-ioc-domain": pack(dict(sighting(), iocs=[["domain", "EVIL.example", "", False]])),
        "bad-lying-array": b"\x81\xa1k\xdd\xff\xff\xff\xff",
        "bad-deep": b"\x91" * 9 + b"\xc0",
        "bad-trailing": env("bye") + b"\xc0",
        "bad-truncated": body[:len(body) // 2],
        "bad-float": env("ack", seq=1.5),
        "bad-deliver-order": env("deliver", items=[[6, body, sig, rec, sig], [5, body, sig, rec, sig]]),
        "bad-author-empty": pack(comment_by("")),
        "bad-author-order": pack(dict(comment(), author="Bo")),
        "bad-members-entry": env("members", members=[[rec]]),
    }
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name + ".mp"), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(files), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
