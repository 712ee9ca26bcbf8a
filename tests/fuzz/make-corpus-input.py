#!/usr/bin/python3
"""Writes the seed corpus of bin/fuzz-input into tests/fuzz/corpus-input/ (next to this file).

Each file starts with the selector byte of tests/fuzz/fuzz_input.c (0 alert JSON,
1..12 ih_ioc_normalise as type byte-1, 13 guess, 14 time, 15..18 import stix21/misp/
csv/text, 19 extract, 20 MISP feed manifest, 21 a model file), followed by the parser's input: the sample
alerts of config/samples, STIX bundles (one with Infohub's extension), MISP events (one
with Infohub's tags and a sharing group), a feed manifest, CSV, prose with defanged IOCs
and edge cases.
Regression inputs of fixed bugs are kept as crash-* files (not written by this script).
Usage: /usr/bin/python3 tests/fuzz/make-corpus-input.py
"""
import glob
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus-input")

JSON, GUESS, TIME, STIX, MISP, CSV, TEXT, EXTRACT, MANIFEST, MODEL = 0, 13, 14, 15, 16, 17, 18, 19, 20, 21
IOC = {name: i + 1 for i, name in enumerate(
    ["ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "filename", "cve", "asn"])}


def put(name, sel, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([sel]) + data)


def model_file():
    """A small model file in the layout of agents/ih_model.h (format 2): two categories,
    a sector, two tags, two severities, five terms."""
    cols = {"category": ["phishing", "ransomware"], "sectors": ["finance"], "tags": ["T1566", "T1486"],
            "severity": ["high", "low"]}
    meta = {"trained_ms": 1796585021923, "alerts": 40, "format": 2, "text_version": 1, "terms": 5,
            "precision_target": 0.85, "confidence": 0.9, "default_threshold": 0.9, "min_label": 3,
            "categories": ["ransomware", "phishing", "malware", "vulnerability", "ddos", "intrusion", "fraud",
                           "data-leak", "advisory", "other", "event"],
            "severities": ["low", "medium", "high", "critical"],
            "fields": {f: [{"label": l, "count": 20, "threshold": 0.8, "calibration": [1.5, -0.5],
                            "cv_precision": 0.9, "cv_suggestions": 10} for l in ls] for f, ls in cols.items()}}
    m = json.dumps(meta, separators=(",", ":")).encode()
    out = b"IHMODEL\0" + struct.pack("<II", 2, len(m)) + m
    terms = [("phish", [(0, 2.0), (2, 1.5)]), ("bank", [(0, 1.0), (2, 1.0)]), ("ransom", [(1, 2.5), (4, 2.0)]),
             ("encrypt", [(1, 1.0), (4, 1.5), (5, 0.5)]), ("钓鱼", [(0, 1.0)])]
    out += struct.pack("<I", len(terms))
    for t, ws in terms:
        b = t.encode()
        out += struct.pack("<H", len(b)) + b + struct.pack("<fH", 1.5, len(ws))
        for c, w in ws:
            out += struct.pack("<Hf", c, w)
    ncols = sum(len(v) for v in cols.values())
    out += struct.pack("<I", ncols) + b"".join(struct.pack("<f", -1.0) for _ in range(ncols))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ROOT, "config", "samples", "*.json"))):
        with open(path, "rb") as f:
            put("json-" + os.path.basename(path)[:2], JSON, f.read())
    put("json-sighting", JSON, '{"kind":"sighting","tlp":"AMBER","alert_id":'
        '"3f2504e0-4f89-41d3-9a0c-0305e82c3301","ioc_type":"ipv4","ioc_value":"1.2.3.4",'
        '"seen":"2026-11-28T17:25:36.123Z","count":3}')
    put("json-bad-dupkey", JSON, '{"title":"a","title":"b","tlp":"RED","severity":"low","category":"other"}')
    put("json-bad-trailing", JSON, '{"title":"a","tlp":"RED","severity":"low","category":"other"} x')

    put("ioc-ipv4", IOC["ipv4"], "192.168.001.1")
    put("ioc-ipv6", IOC["ipv6"], "2001:DB8:0:0:0::1")
    put("ioc-cidr", IOC["cidr"], "2001:db8::/32")
    put("ioc-domain", IOC["domain"], "Evil[.]Example[dot]COM.")
    put("ioc-url", IOC["url"], "hxxps://user@[2001:db8::1]:8443/p?q=1#f")
    put("ioc-email", IOC["email"], "a.b[@]xn--bcher-kva.example")
    put("ioc-sha256", IOC["sha256"], "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")
    put("ioc-filename", IOC["filename"], "invoice\xc3\xa9.pdf.exe")
    put("ioc-cve", IOC["cve"], "cve-2024-1234567")
    put("ioc-asn", IOC["asn"], "as4294967295")
    put("guess-url", GUESS, "http://example.com:80/a")
    put("guess-asn", GUESS, "AS64496")
    put("time-offset", TIME, "2026-02-29T23:59:60.123456+14:00")
    put("time-date", TIME, "1970-01-01")

    put("stix-bundle", STIX, """{"type":"bundle","id":"bundle--1","objects":[
 {"type":"marking-definition","spec_version":"2.1","id":"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82","name":"TLP:AMBER","definition_type":"tlp","definition":{"tlp":"amber"}},
 {"type":"report","spec_version":"2.1","id":"report--1","name":"Phish wave","description":"d","labels":["phishing"],
  "object_refs":["indicator--1","vulnerability--1"],"external_references":[{"source_name":"x","url":"https://example.org/r"}],
  "object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--1","pattern_type":"stix",
  "pattern":"[domain-name:value = 'evil.example.com'] OR [ipv4-addr:value = '198.51.100.7'] OR [file:hashes.'SHA-256' = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']"},
 {"type":"vulnerability","spec_version":"2.1","id":"vulnerability--1","name":"CVE-2024-3400"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--2","pattern_type":"stix","pattern":"[url:value = 'http://a.example.net/x' AND autonomous-system:number = 64496]"},
 {"type":"relationship","id":"relationship--1"}]}""")
    put("stix-one", STIX, '{"type":"indicator","id":"indicator--9","pattern_type":"stix",'
        '"pattern":"[email-message:from_ref.value = \'x@evil.example.com\']","object_marking_refs":'
        '["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}')
    put("misp-event", MISP, """{"Event":{"info":"Ransomware C2","threat_level_id":"1",
 "Tag":[{"name":"tlp:amber"},{"name":"ransomware"}],
 "Attribute":[{"type":"ip-dst|port","value":"203.0.113.9|443","to_ids":true,"comment":"c2"},
  {"type":"domain|ip","value":"c2.evil.example.com|203.0.113.9"},
  {"type":"filename|sha256","value":"x.exe|9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
  {"type":"link","value":"https://example.org/blog"},{"type":"text","value":"s","comment":"summary"},
  {"type":"regkey","value":"HKLM\\\\x"},{"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","deleted":true},
  {"type":"AS","value":"AS64496"},{"type":"vulnerability","value":"CVE-2021-44228"}],
 "Object":[{"name":"file","Attribute":[{"type":"sha1","value":"da39a3ee5e6b4b0d3255bfef95601890afd80709"}]}]}}""")
    put("misp-response", MISP, '{"response":[{"Event":{"info":"a","Tag":[{"name":"tlp:white"}],'
        '"Attribute":[{"type":"hostname|port","value":"h.example.com|8080"}]}},{"Event":{"info":"b"}}]}')
    put("misp-array", MISP, '[{"Event":{"info":"x","Attribute":[{"type":"email-src","value":"a@b.example.com"}]}}]')
    put("csv-basic", CSV, "value,type,title,tlp,severity,category,sectors,tags,comment,detect\r\n"
        "1.2.3.4,ipv4,T1,amber,high,phishing,finance;energy,a;b,\"quoted, comma\",true\r\n"
        "evil[.]example.com,,T1,amber,high,phishing,,,,false\r\n"
        "\"multi\nline\",domain,T2,red,,,,,\"\"\"q\"\"\",\r\n")
    put("csv-misp-types", CSV, "indicator,type,alert_id,to_ids\n"
        "203.0.113.1|80,ip-dst|port,a1,1\nd41d8cd98f00b204e9800998ecf8427e,md5,a1,0\n")
    put("csv-noheader", CSV, "1.2.3.4\n5.6.7.8\n")
    put("text-advisory", TEXT, "Advisory: TLP:AMBER\n\nWe saw hxxps://bad[.]example[.]com/login and "
        "185.220.101.47:443, [2001:db8::1]:8443, mail from ceo[@]evil-corp[.]com. Payload "
        "invoice.exe (sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08), "
        "CVE-2024-3400, AS64496. Source: https://example.org/advisory (e.g. update[.]zip).\n")
    put("text-notlp", TEXT, "just words, no indicators, e.g. invoice.exe and x.js\n")
    put("extract-edge", EXTRACT, "\"(1.2.3.4)\", <evil.example.com>; 'a[at]b(.)co(dot)uk' name:8080 "
        "hxxp[:]//x[.]y[.]com TLP: RED TLP GREEN [[.]] \xff\xfe")
    ext = "extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8"
    put("stix-extension", STIX, """{"type":"bundle","id":"bundle--2","objects":[
 {"type":"identity","spec_version":"2.1","id":"identity--1","name":"bank-a","identity_class":"organization"},
 {"type":"report","spec_version":"2.1","id":"report--2","created_by_ref":"identity--1","name":"Strict",
  "modified":"2024-01-02T00:00:00.000Z","object_refs":["indicator--3"],
  "object_marking_refs":["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
  "extensions":{"%s":{"extension_type":"property-extension","severity":"high","category":"malware",
   "sectors":["telecom"],"revision":2,"recipients":["sector:telecom","bank-b","Not A Slug"],
   "publisher_org":"bank-a","publisher_member":"soc"}},
  "x_infohub_recipients":["sector:telecom","bank-b"],"x_infohub_publisher_org":"bank-a"},
 {"type":"report","spec_version":"2.1","id":"report--2","name":"Older version","modified":"2024-01-01T00:00:00.000Z",
  "object_refs":["indicator--3"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--3","pattern_type":"stix","created_by_ref":"identity--1",
  "pattern":"[ipv4-addr:value = '192.0.2.7'] OR [url:value = 'http://[2001:db8::1]:8080/x']"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--4","pattern_type":"stix","created_by_ref":"identity--1",
  "pattern":"[domain-name:value = 'loose.example.com']",
  "object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}]}""" % ext)
    put("misp-infohub-tags", MISP, """{"response":[{"Event":{"uuid":"5f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
 "info":"Ours","distribution":"0","Orgc":{"name":"bank-a"},
 "Tag":[{"name":"tlp:amber"},{"name":"infohub:recipient=\"sector:telecom\""},
  {"name":"infohub:recipient=\"bank-b\""},{"name":"infohub:publisher=\"bank-a\""}],
 "Attribute":[{"type":"ip-dst","value":"198.51.100.0/25","to_ids":true,"distribution":"5"},
  {"type":"domain","value":"x.example.com","distribution":"0"}]}},
 {"Event":{"info":"Group","distribution":4,"sharing_group_id":"3","Orgc":{"name":"CIRCL."},
  "Tag":[{"name":"tlp:green"}],"Attribute":[{"type":"url","value":"http://203.0.113.5/a"}]}},
 {"Event":{"info":"Org only","distribution":"0","Tag":[{"name":"tlp:clear"}],
  "Attribute":[{"type":"ip-src","value":"2001:db8::dead"}]}}]}""")
    put("manifest", MANIFEST, """{"5f0e1c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b":{"info":"Ours","Orgc":{"name":"bank-a"},
 "Tag":[{"name":"tlp:amber"}],"timestamp":"1700000000","date":"2024-01-01","threat_level_id":"1","analysis":"2"},
 "../../etc/passwd":{"info":"x"},"5F0E1C2A-3B4D-4E5F-8A9B-0C1D2E3F4A5B":{}}""")
    put("csv-recipients", CSV, "alert_id,revision,created,modified,org,tlp,severity,category,sectors,tags,title,"
        "type,value,comment,detect,recipients\n"
        "a1,2,2024-01-01,2024-01-02,bank-a,AMBER,high,phishing,finance,,T,domain,x.example.com,,true,"
        "sector:telecom;bank-b\n"
        "a2,1,2024-01-01,2024-01-01,bank-a,AMBER,low,other,,,U,ipv4,192.0.2.1,,true,\n")
    put("csv-export-no-recipients", CSV, "alert_id,revision,created,modified,org,tlp,severity,category,sectors,"
        "tags,title,type,value,comment,detect\n"
        "a1,1,2024-01-01,2024-01-01,bank-a,AMBER,high,phishing,,,T,domain,x.example.com,,true\n")
    put("model-small", MODEL, model_file())
    put("empty-json", JSON, "")
    put("empty-text", TEXT, "")


if __name__ == "__main__":
    main()
