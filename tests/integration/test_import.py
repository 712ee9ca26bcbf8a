"""infohub-agent import (issue 5), with a real broker and agents.

- import(export(x)) keeps every IOC and the TLP, for stix21, misp and csv: one member's
  agent exports, another member imports (publishing through the broker), and that
  member's own agent stores the alerts again;
- text: IOCs out of prose, defanged forms, no file names taken for domains;
- what is not imported is counted and reported, never dropped silently; TLP:WHITE is
  CLEAR; an alert without TLP is not imported rather than guessed (issue 10 covers
  idempotency, audiences, attribution and warninglists: test_import_semantics.py).
"""
import json
import os

import pytest

from test_export_lib import (A_AMBER, A_GREEN, A_RED, RETRACTED_VALUES, cli, make_world,
                             normalised, publish, stix_validate, wait_stored)


@pytest.fixture
def pair(deploy):
    w = make_world(deploy)
    imp = deploy.add_member("intake", "bank-b", sector="energy", role="publisher")
    deploy.start_agent(imp)
    return w, imp


def dry(deploy, member, fmt, text, *extra, check=True):
    r = cli(deploy, member, "import", "--format", fmt, "--dry-run", *extra, "-", input=text.encode(),
            check=check)
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()], r


def test_import_of_export_keeps_iocs_and_tlp(pair):
    w, imp = pair
    d = w.deploy
    live = {}
    for doc in (A_GREEN, A_AMBER, A_RED):
        live[doc["title"]] = (doc["tlp"], {(t, v) for t, v in normalised(doc) if v not in RETRACTED_VALUES})
    # Export everything first (every TLP: exports stop at AMBER by default): what bank-b
    # imports reaches bank-a's store too (GREEN, AMBER).
    for fmt in ("stix21", "misp", "csv"):
        cli(d, w.pub, "export", "--format", fmt, "--tlp-max", "RED", "--out", os.path.join(d.base, "x." + fmt))
    stix_validate(os.path.join(d.base, "x.stix21"))
    # A csv export without a recipients column cannot tell AMBER to everyone from AMBER
    # to a few: its AMBER alerts come back narrowed to RED for the importing org.
    with open(os.path.join(d.base, "x.csv")) as f:
        csv_amber = "AMBER" if "recipients" in f.readline() else "RED"
    n = 0
    for fmt in ("stix21", "misp", "csv"):
        r = cli(d, imp, "import", "--format", fmt, os.path.join(d.base, "x." + fmt))
        ids = r.stdout.decode().split()
        assert len(ids) == 3 and all(len(i) == 36 for i in ids), r.stdout
        assert b"3 new, 0 revised, 0 unchanged, 0 not imported" in r.stderr, r.stderr
        n += 3
        rows = wait_stored(d, imp, lambda l: l if len([a for a in l if a["publisher"]["org"] == "bank-b"]) >= n
                           else None, "%d imported alerts in bank-b's store" % n)
        got = {a["id"]: a for a in rows if a["id"] in ids}
        assert len(got) == 3, fmt
        for a in got.values():
            tlp, iocs = live[a["title"]]
            if fmt == "csv" and tlp == "AMBER":
                tlp = csv_amber
            assert a["tlp"] == tlp, (fmt, a["title"], a["tlp"])
            assert a["publisher"] == {"org": "bank-b", "member": "intake"}
            assert {(i["type"], i["value"]) for i in a["iocs"]} == iocs, (fmt, a["title"])
        amber = next(a for a in got.values() if a["title"] == A_AMBER["title"])
        assert amber["severity"] == "critical" and amber["category"] == "ransomware", fmt
        md5 = next(i for i in amber["iocs"] if i["type"] == "md5")
        assert md5["detect"] is False, fmt
    # the retracted alert came along in none of them
    assert not any(a["title"] == "Wrong alert" and a["publisher"]["org"] == "bank-b" for a in d.agent_list(imp))


def test_text_import(pair):
    w, imp = pair
    d = w.deploy
    text = ("Subject: Invoice fraud wave\n"
            "TLP:AMBER\n\n"
            "The lure (invoice.exe, sometimes update.zip) opens hxxps://pay-portal[.]top/login and talks to\n"
            "45.33.32[.]156:8443 and evil-cdn[.]com; replies go to billing[@]pay-portal[.]top.\n"
            "SHA256 A56F115AB16B1F6D0AC4B4C8A4B6E1D7D9F2C3B1A0E9D8C7B6A5F4E3D2C1B0A9, exploits CVE-2024-3400.\n"
            "Details: https://advisories.example.org/2024/1 (see also readme.md, e.g. section 2).\n")
    drafts, r = dry(d, imp, "text", text)
    assert len(drafts) == 1
    a = drafts[0]
    assert a["title"] == "Invoice fraud wave" and a["tlp"] == "AMBER"
    iocs = {(i["type"], i["value"]) for i in a["iocs"]}
    assert iocs == {("filename", "invoice.exe"), ("url", "https://pay-portal.top/login"),
                    ("ipv4", "45.33.32.156"), ("domain", "evil-cdn.com"), ("email", "billing@pay-portal.top"),
                    ("sha256", "a56f115ab16b1f6d0ac4b4c8a4b6e1d7d9f2c3b1a0e9d8c7b6a5f4e3d2c1b0a9"),
                    ("cve", "CVE-2024-3400")}
    assert a["references"] == ["https://advisories.example.org/2024/1"]
    assert "dry run, nothing published: 1 new" in r.stderr.decode()
    # its id is the text's: the same text maps to the same alert
    again, _ = dry(d, imp, "text", text)
    assert again[0]["id"] == a["id"] and len(a["id"]) == 36
    # published for real, it arrives in the store
    r = cli(d, imp, "import", "--format", "text", "--severity", "high", "--category", "fraud", "-",
            input=text.encode())
    aid = r.stdout.decode().strip()
    rows = wait_stored(d, imp, lambda l: [x for x in l if x["id"] == aid] or None, "the text alert")
    assert rows[0]["severity"] == "high" and rows[0]["tlp"] == "AMBER" and len(rows[0]["iocs"]) == 7


def test_unsupported_is_counted_and_tlp_rules(pair):
    w, imp = pair
    d = w.deploy
    bundle = {"type": "bundle", "id": "bundle--6b0c8a8e-9d0b-4c83-9e9b-1d1e6b4f2c11", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6b0c8a8e-9d0b-4c83-9e9b-1d1e6b4f2c12",
         "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
         "pattern": "[domain-name:value = 'evil-cdn.com']", "pattern_type": "stix",
         "valid_from": "2024-01-01T00:00:00Z",
         "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--6b0c8a8e-9d0b-4c83-9e9b-1d1e6b4f2c13",
         "pattern": "[file:size > 1000]", "pattern_type": "stix",
         "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]},
        {"type": "malware", "id": "malware--6b0c8a8e-9d0b-4c83-9e9b-1d1e6b4f2c14", "name": "x"},
        {"type": "relationship", "id": "relationship--6b0c8a8e-9d0b-4c83-9e9b-1d1e6b4f2c15"}]}
    drafts, r = dry(d, imp, "stix21", json.dumps(bundle))
    err = r.stderr.decode()
    assert len(drafts) == 1 and drafts[0]["tlp"] == "CLEAR"        # TLP:WHITE (TLP 1.0) is CLEAR
    assert [i["value"] for i in drafts[0]["iocs"]] == ["evil-cdn.com"]
    assert "1 malware" in err and "1 relationship" in err and "other than '=' and OR" in err, err
    # MISP tags: tlp:white is CLEAR too; unsupported attribute types are counted
    event = {"Event": {"info": "x", "Tag": [{"name": "tlp:white"}], "Attribute": [
        {"type": "ip-dst", "value": "45.33.32.156", "to_ids": True},
        {"type": "mutex", "value": "Global\\x"}]}}
    drafts, r = dry(d, imp, "misp", json.dumps(event))
    assert drafts[0]["tlp"] == "CLEAR" and "1 MISP attribute type mutex" in r.stderr.decode()
    # no TLP anywhere: not imported, the alert named (a note) and counted (the report line)
    _, r = dry(d, imp, "csv", "value\n45.33.32.156\n", check=False)
    assert r.returncode == 1 and r.stderr.count(b"\n") == 2, r.stderr
    note, line = r.stderr.decode().splitlines()
    assert "'CSV import of stdin': not imported: no TLP marking (give --tlp)" in note
    assert "1 not imported (1 no TLP marking (give --tlp))" in line
    drafts, _ = dry(d, imp, "csv", "value\n45.33.32.156\n", "--tlp", "GREEN", "--title", "Feed")
    assert drafts[0]["tlp"] == "GREEN" and drafts[0]["title"] == "Feed"
    # bad input: one line, nothing published
    for fmt, text, msg in (("stix21", "{", b"not JSON"), ("misp", "[]", b"no Event"),
                           ("csv", "a,b\n1,2\n", b"no 'value' column"), ("text", "nothing here", b"no IOC found")):
        _, r = dry(d, imp, fmt, text, "--tlp", "GREEN", check=False)
        assert r.returncode == 1 and msg in r.stderr and r.stderr.count(b"\n") == 1, (fmt, r.stderr)
    r = cli(d, imp, "import", "--format", "yaml", "x", check=False)
    assert r.returncode == 1 and b"unknown format 'yaml'" in r.stderr
    r = cli(d, imp, "import", "--format", "csv", "/nonexistent.csv", check=False)
    assert r.returncode == 1 and b"/nonexistent.csv" in r.stderr
    assert cli(d, imp, "import", "--help").stdout.startswith(b"usage:")


def test_reader_cannot_import(deploy):
    pub = deploy.add_member("soc", "bank-a", role="publisher")
    rdr = deploy.add_member("ro", "bank-c", role="reader")
    deploy.start_broker()
    r = cli(deploy, rdr, "import", "--format", "csv", "--tlp", "GREEN", "-", input=b"value\n45.33.32.156\n",
            check=False)
    assert r.returncode == 1 and b"refused" in r.stderr, r.stderr
    assert publish(deploy, pub, {"title": "t", "tlp": "GREEN", "severity": "low", "category": "other"})
