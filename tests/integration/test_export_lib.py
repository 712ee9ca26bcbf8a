"""Shared by test_export.py and test_import.py: a publisher with a set of alerts that covers
every IOC type, warninglisted values, one retracted alert and one retracted IOC, published
through the agent's own CLI and stored by its running daemon.

No tests here (pytest collects nothing from this module).
"""
import json
import os
import shutil

import pytest

import stix_strict
from conftest import ROOT, wait_until

PY = "/usr/bin/python3"
STIX_VALIDATE = os.path.join(ROOT, "..", "shared", "tools", "stix-validate")

# Values on the shipped warninglists (config/warninglists): they must never reach a
# detection export unless --no-warninglist. Documentation ranges are on the lists too, so
# the values expected in detection exports below are outside them.
WARNINGLISTED = [("ipv4", "8.8.8.8"), ("ipv4", "172.16.5.4"), ("ipv4", "10.0.0.1"),
                 ("cidr", "172.0.0.0/8"), ("domain", "example.com"), ("domain", "www.google.com"),
                 ("md5", "d41d8cd98f00b204e9800998ecf8427e"), ("url", "http://192.168.1.1/admin")]

A_GREEN = {
    "title": "Phishing wave against banks", "summary": "Look *out*, \"quotes\" and a \\ backslash.",
    "tlp": "GREEN", "severity": "high", "category": "phishing", "sectors": ["finance"],
    "tags": ["wave, two"], "references": ["https://ref.example.net/a"],
    "iocs": [{"type": "domain", "value": "evil-login[.]xyz", "comment": "login page"},
             {"type": "ipv4", "value": "45.33.32.156", "comment": "c2, \"main\""},
             {"type": "url", "value": "hxxp://evil-login.xyz/login?a='1'"},
             {"type": "cidr", "value": "91.215.85.0/24"},
             {"type": "ipv6", "value": "2a03:2880:f003::1"},
             {"type": "email", "value": "boss@evil-login.xyz"},
             {"type": "sha256", "value": "a56f115ab16b1f6d0ac4b4c8a4b6e1d7d9f2c3b1a0e9d8c7b6a5f4e3d2c1b0a9"},
             {"type": "filename", "value": "invoice.exe", "detect": False},
             {"type": "cve", "value": "CVE-2024-3400"},
             {"type": "asn", "value": "AS44477"}]
            + [{"type": t, "value": v, "comment": "benign"} for t, v in WARNINGLISTED],
}
A_AMBER = {
    "title": "LockBit affiliate", "summary": "", "tlp": "AMBER", "severity": "critical",
    "category": "ransomware", "sectors": ["telecom"],
    "iocs": [{"type": "domain", "value": "lockbit-pay.top"},
             {"type": "sha1", "value": "3f786850e387550fdab836ed7e6dc881de23001b"},
             {"type": "ipv4", "value": "185.220.101.5"},
             {"type": "md5", "value": "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e", "detect": False}],
}
A_RED = {
    "title": "Fraud ring", "tlp": "RED", "severity": "low", "category": "fraud",
    "iocs": [{"type": "ipv4", "value": "194.26.29.99"}, {"type": "domain", "value": "pay-portal.top"}],
}
A_RETRACTED = {
    "title": "Wrong alert", "tlp": "CLEAR", "severity": "medium", "category": "malware",
    "iocs": [{"type": "ipv4", "value": "193.42.33.7"}, {"type": "domain", "value": "retracted-only.xyz"}],
}
# Retracted one by one, from A_AMBER:
RETRACTED_IOC = ("ipv4", "185.220.101.5")
RETRACTED_VALUES = ["193.42.33.7", "retracted-only.xyz", "185.220.101.5"]


def cli(deploy, member, *args, check=True, input=None, timeout=120):
    return deploy.agent_cmd(member, *args, check=check, input=input, timeout=timeout)


def publish(deploy, member, doc):
    r = cli(deploy, member, "publish", "-", input=json.dumps(doc).encode())
    aid = r.stdout.decode().strip()
    assert len(aid) == 36, r.stdout
    return aid


def status(deploy, member):
    # exits 3 when the agent is not running (LSB status)
    return json.loads(cli(deploy, member, "status", "--json", check=False).stdout.decode())


def wait_stored(deploy, member, pred, what, timeout=30.0):
    return wait_until(lambda: pred(deploy.agent_list(member)), timeout, interval=0.2, what=what)


def normalised(doc):
    """(type, value) of a published alert's IOCs as the store holds them."""
    out = []
    for i in doc["iocs"]:
        v = i["value"].replace("[.]", ".").replace("hxxp://", "http://")
        out.append((i["type"], v))
    return out


class World:
    """The publisher, its agent, and what it published."""

    def __init__(self, deploy, pub):
        self.deploy, self.pub = deploy, pub
        self.ids = {}

    def alerts(self):
        return {a["id"]: a for a in self.deploy.agent_list(self.pub)}


def make_world(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    deploy.start_broker()
    deploy.start_agent(pub)
    w = World(deploy, pub)
    for name, doc in (("green", A_GREEN), ("amber", A_AMBER), ("red", A_RED), ("gone", A_RETRACTED)):
        w.ids[name] = publish(deploy, pub, doc)
    wait_stored(deploy, pub, lambda l: len(l) == 4 or None, "4 alerts stored")
    cli(deploy, pub, "retract", w.ids["gone"], "--reason", "wrong")
    cli(deploy, pub, "retract", w.ids["amber"], "--ioc", RETRACTED_IOC[1])

    def done(rows):
        by = {r["id"]: r for r in rows}
        gone = by.get(w.ids["gone"], {}).get("status") == "retracted"
        amber = by.get(w.ids["amber"], {})
        flagged = [i for i in amber.get("iocs", []) if i.get("retracted")]
        return gone and flagged
    wait_stored(deploy, pub, done, "the retractions stored")
    return w


def expected_iocs(include_wl=False, detect_only=False):
    """(type, value) of every IOC an export must carry (not retracted)."""
    out = set()
    for doc in (A_GREEN, A_AMBER, A_RED):
        for i, (t, v) in zip(doc["iocs"], normalised(doc)):
            if v in RETRACTED_VALUES:
                continue
            if detect_only and i.get("detect") is False:
                continue
            if not include_wl and (t, v) in WARNINGLISTED:
                continue
            out.add((t, v))
    return out


def stix_validate(path):
    """A STIX file passes ../shared/tools/stix-validate (the OASIS schemas; extension
    definitions against their own, see stix_strict.py) and a strict consumer."""
    if not os.path.exists(STIX_VALIDATE):
        pytest.fail("%s is missing (CI lays ../shared beside the repository)" % STIX_VALIDATE)
    rc, out = stix_strict.stix_validate_file(path)
    assert rc == 0, "stix-validate %s:\n%s" % (path, out[-3000:])
    with open(path) as f:
        stix_strict.assert_strict(json.load(f))


def have(tool):
    return shutil.which(tool) or next((p for p in ("/usr/sbin/" + tool, "/sbin/" + tool)
                                       if os.access(p, os.X_OK)), None)
