"""The checkers the export tests rely on (issue 10), tested on rules and objects written by
hand, with no process: suricata_check.py must refuse what Suricata 7 refuses, and
stix_strict.py what a strict STIX consumer refuses. A checker that passes everything would
let test_export.py and test_gateway.py pass whatever the exporter writes.
"""
import json
import os
import subprocess

import pytest

import stix_strict
import suricata_check

GOOD = [
    'alert ip [45.33.32.156] any <> any any (msg:"Infohub TLP:AMBER malware: x (45.33.32.156)"; '
    'metadata:infohub_alert 6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10, infohub_tlp amber; priority:2; '
    'sid:9000001; rev:1;)',
    'alert ip [2a03:2880::/32] any <> any any (msg:"a"; sid:9000002; rev:3;)',
    'alert dns any any -> any any (msg:"Say \\"hi\\"\\; then go \\\\ away"; dns.query; dotprefix; '
    'content:".evil-login.xyz"; nocase; endswith; sid:9000003; rev:1;)',
    'alert tls any any -> any any (msg:"a"; tls.sni; dotprefix; content:".evil-login.xyz"; nocase; '
    'endswith; sid:9000004; rev:1;)',
    'alert http any any -> any any (msg:"a"; http.host; content:"evil-login.xyz"; bsize:14; '
    'http.uri.raw; content:"/a\'b|5C|c?q=1|3B||22|"; startswith; sid:9000005; rev:2;)',
    'alert http any any -> any any (msg:"a"; http.host.raw; content:"Evil-Login.xyz"; nocase; '
    'sid:9000006; rev:1;)',
]

BAD = [
    # what infohub-agent wrote before issue 10: Suricata 7 refuses nocase on http.host
    ('alert http any any -> any any (msg:"a"; http.host; content:"evil-login.xyz"; nocase; bsize:14; '
     'sid:1; rev:1;)', "nocase after http.host"),
    ('alert http any any -> any any (msg:"a"; http.host; content:"Evil-Login.xyz"; sid:1; rev:1;)',
     "must be lower case"),
    ('alert dns any any -> any any (msg:"a"; content:"evil"; sid:1; rev:1;)', "follows no sticky buffer"),
    ('alert dns any any -> any any (msg:"a"; dns.query; dotprefix; content:"evil.xyz"; sid:1; rev:1;)',
     "does not start with '.'"),
    ('alert tls any any -> any any (msg:"a"; dns.query; content:".x.xyz"; sid:1; rev:1;)',
     "dns buffer in an tls rule"),
    ('alert dns any any -> any any (msg:"a"; dns.query; content:"a;b"; sid:1; rev:1;)', "unescaped ';'"),
    ('alert dns any any -> any any (msg:"a"; dns.query; content:"a"b"; sid:1; rev:1;)', "text after the quoted"),
    ('alert dns any any -> any any (msg:"a; b"; dns.query; content:"ab"; sid:1; rev:1;)', "unescaped ';'"),
    ('alert dns any any -> any any (msg:"a \\ b"; dns.query; content:"ab"; sid:1; rev:1;)', "escape"),
    ('alert dns any any -> any any (msg:"unterminated; dns.query; content:"ab"; sid:1; rev:1;)', ""),
    ('alert dns any any -> any any (msg:"a"; dns.query; content:"a|3"; sid:1; rev:1;)', "unbalanced '|'"),
    ('alert dns any any -> any any (msg:"a"; dns.query; content:"a|zz|"; sid:1; rev:1;)', "bad hex run"),
    ('alert dns any any -> any any (msg:"a"; nocase; dns.query; content:"ab"; sid:1; rev:1;)',
     "nocase follows no content"),
    ('alert dns any any -> any any (msg:"a"; dns.query; content:"ab"; endswith; endswith; sid:1; rev:1;)',
     "endswith twice"),
    ('alert ip any any => [1.2.3.4] any (msg:"a"; sid:1; rev:1;)', "header"),
    ('alert ip any any -> [1.2.3.4/8] any (msg:"a"; sid:1; rev:1;)', "bad address"),
    ('alert ip any any -> [1.2.3.4] 70000 (msg:"a"; sid:1; rev:1;)', "bad port"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:0; rev:1;)', "not a positive integer"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:1;)', "rev appears 0 times"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:1; rev:1; priority:0;)', "priority"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:1; rev:1; metadata:alone;)', "key value"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:1; rev:1; classtype:made-up;)', "classification.config"),
    ('alert ip any any -> [1.2.3.4] any (msg:"a"; sid:1; rev:1)', "not terminated"),
]


def test_suricata_checker_takes_good_rules():
    problems, rules = suricata_check.check_rules("# a comment\n\n" + "\n".join(GOOD) + "\n")
    assert problems == [] and rules == GOOD
    parsed = suricata_check.parse_with_suricata_update(rules)
    assert [r["sid"] for r in parsed] == list(range(9000001, 9000007))
    assert parsed[0]["direction"] == "<>" and parsed[0]["proto"] == "ip" and parsed[4]["rev"] == 2


@pytest.mark.parametrize("rule,why", BAD)
def test_suricata_checker_refuses(rule, why):
    problems, _ = suricata_check.check_rule(rule)
    assert problems, rule
    assert any(why in p for p in problems), problems


def test_suricata_checker_refuses_duplicate_sids():
    problems, _ = suricata_check.check_rules(GOOD[0] + "\n" + GOOD[0] + "\n")
    assert any("duplicate sid" in p for p in problems)


def test_suricata_update_is_the_debian_parser():
    from suricata.update import rule as surule
    assert surule.__file__.startswith("/usr/lib/python3/dist-packages/"), surule.__file__
    assert surule.parse("not a rule") is None


# ---- STIX ---------------------------------------------------------------------------------------

XDEF = "extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8"
TLP_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
T = "2026-01-01T00:00:00.000Z"


def _report(**extra):
    o = {"type": "report", "spec_version": "2.1", "id": "report--6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10",
         "created": T, "modified": T, "name": "r", "published": T,
         "object_refs": ["identity--2dd1b53c-6f16-50ea-bcaa-1df64b3531e2"]}
    o.update(extra)
    return o


def _xdef(types=("property-extension",)):
    return {"type": "extension-definition", "spec_version": "2.1", "id": XDEF, "created": T, "modified": T,
            "created_by_ref": "identity--2dd1b53c-6f16-50ea-bcaa-1df64b3531e2", "name": "Infohub alert properties",
            "schema": "docs/stix-extension.md", "version": "1.0", "extension_types": list(types)}


def _ident():
    return {"type": "identity", "spec_version": "2.1", "id": "identity--2dd1b53c-6f16-50ea-bcaa-1df64b3531e2",
            "created": T, "modified": T, "name": "Infohub", "identity_class": "system"}


def test_stix_strict_refuses_custom_properties():
    # what infohub-agent wrote before issue 10
    bad = stix_strict.check([_report(x_infohub_severity="high", x_infohub_revision=1)])
    assert len(bad) == 2 and all("custom property" in b for b in bad), bad
    bad = stix_strict.check([_report(severity="high")])
    assert bad == ["report--6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10: property 'severity' is not defined for report"]
    bad = stix_strict.check([_report(external_references=[{"source_name": "x", "note": "y"}])])
    assert bad and "external reference property 'note'" in bad[0]
    bad = stix_strict.check([{"type": "x-thing", "id": "x-thing--1"}])
    assert bad and "unknown type" in bad[0]


def test_stix_strict_wants_extensions_defined():
    ext = {"extensions": {XDEF: {"extension_type": "property-extension", "severity": "high"}}}
    bad = stix_strict.check([_report(**ext)])
    assert bad and "has no extension-definition" in bad[0]
    assert stix_strict.check([_ident(), _xdef(), _report(**ext)]) == []
    assert stix_strict.check([_report(**ext)], context=[_ident(), _xdef()]) == []          # a TAXII page
    bad = stix_strict.check([_xdef(types=("new-sdo",)), _report(**ext)])
    assert bad and "extension_type 'property-extension' is not one the definition declares" in bad[0]
    bad = stix_strict.check([_report(extensions={"made-up-ext": {"a": 1}})])
    assert bad and "unknown extension" in bad[0]
    # the TLP 2.0 markings' extension is published with them: known
    tlp = {"type": "marking-definition", "spec_version": "2.1", "created": "2022-10-01T00:00:00.000Z",
           "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "name": "TLP:CLEAR",
           "extensions": {TLP_EXT: {"extension_type": "property-extension", "tlp_2_0": "clear"}}}
    assert stix_strict.check([tlp]) == []


def test_stix_validate_checks_extension_definitions(tmp_path):
    good = {"type": "bundle", "id": "bundle--6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10",
            "objects": [_ident(), _xdef(), _report(extensions={XDEF: {"extension_type": "property-extension",
                                                                      "severity": "high"}})]}
    rc, out = stix_strict.stix_validate_text(json.dumps(good), tmp_path)
    assert rc == 0, out
    broken = json.loads(json.dumps(good))
    del broken["objects"][1]["version"]
    rc, out = stix_strict.stix_validate_text(json.dumps(broken), tmp_path)
    assert rc == 1 and "'version' is a required property" in out, out
    # an empty list is no STIX value, inside an extension too
    empty = json.loads(json.dumps(good))
    empty["objects"][2]["extensions"][XDEF]["recipients"] = []
    rc, out = stix_strict.stix_validate_text(json.dumps(empty), tmp_path)
    assert rc == 1, out
    # as a command
    p = tmp_path / "b.json"
    p.write_text(json.dumps(good))
    r = subprocess.run(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "stix_strict.py"), str(p)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0 and b"3 objects, 0 refused" in r.stdout, r.stdout
