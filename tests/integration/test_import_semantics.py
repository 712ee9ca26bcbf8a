"""infohub-agent import, what users ran into (issue 10), with a real broker and agents:

A. `import --format misp DIR` reads a MISP feed directory (manifest.json and the
   <event-uuid>.json files it lists), as `export --format misp-feed --out DIR` writes it;
B. import is idempotent: each source object maps to a stable alert id (UUIDv5 of the
   importing org, the format and the source id); the same content again is skipped, a
   changed one goes out as a new revision; the report line counts new, revised,
   unchanged and not imported alerts;
C. an import never widens an audience: recipients are read back (STIX extension, MISP
   infohub:recipient tags, a CSV recipients column); no TLP, or one Infohub cannot
   express (MISP distribution 0 and 4, sharing groups), is refused or narrowed, and said
   per alert; the original publisher is kept (a source:ORG tag and a first summary line);
D. IOCs on a warninglist or in a documentation range get detect false and a comment
   naming the list, unless --keep-detect.
"""
import csv
import io
import json
import os
import re
import uuid

import pytest

from agentlib import set_cfg, wait_synced
from test_export_lib import A_AMBER, A_GREEN, A_RED, RETRACTED_VALUES, cli, make_world, normalised, wait_stored

EXT = "extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8"
TLP2 = {"CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}
LINE = re.compile(r"(\d+) new, (\d+) revised, (\d+) unchanged, (\d+) not imported")


@pytest.fixture
def pair(deploy):
    w = make_world(deploy)
    imp = deploy.add_member("intake", "bank-b", sector="energy", role="publisher")
    deploy.start_agent(imp)
    return w, imp


def counts(r):
    """(new, revised, unchanged, not imported) from an import's report line (its last)."""
    last = r.stderr.decode().strip().splitlines()[-1]
    m = LINE.search(last)
    assert m, r.stderr
    return tuple(int(x) for x in m.groups())


def imp_file(d, member, fmt, path, *extra, check=True):
    return cli(d, member, "import", "--format", fmt, *extra, path, check=check)


def imp_text(d, member, fmt, text, *extra, check=True):
    return cli(d, member, "import", "--format", fmt, *extra, "-", input=text.encode(), check=check)


def own(rows, org):
    return [a for a in rows if a["publisher"]["org"] == org]


def write(d, name, doc):
    path = os.path.join(d.base, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def ids():
    return str(uuid.uuid4())


def report(name, tlp, refs=(), ext=None, by=None, desc="", labels=()):
    """A STIX report with its Infohub extension (and the older x_infohub_ properties, so
    that the input reads the same whichever way ih_stix_prop finds them)."""
    r = {"type": "report", "spec_version": "2.1", "id": "report--" + ids(), "created": "2024-01-01T00:00:00.000Z",
         "modified": "2024-01-01T00:00:00.000Z", "name": name, "description": desc,
         "published": "2024-01-01T00:00:00.000Z", "report_types": ["threat-report"], "labels": list(labels),
         "object_refs": list(refs)}
    if tlp:
        r["object_marking_refs"] = [TLP2[tlp]]
    if by:
        r["created_by_ref"] = by
    if ext:
        r["extensions"] = {EXT: dict(ext, extension_type="property-extension")}
        for k, v in ext.items():
            r["x_infohub_" + k] = v
    return r


def indicator(value, kind="domain-name", tlp=None):
    o = {"type": "indicator", "spec_version": "2.1", "id": "indicator--" + ids(),
         "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
         "pattern": "[%s:value = '%s']" % (kind, value), "pattern_type": "stix",
         "valid_from": "2024-01-01T00:00:00Z"}
    if tlp:
        o["object_marking_refs"] = [TLP2[tlp]]
    return o


def bundle(*objects):
    return {"type": "bundle", "id": "bundle--" + ids(), "objects": list(objects)}


# ---- A. a MISP feed directory -------------------------------------------------------------

def test_misp_feed_directory(pair):
    w, imp = pair
    d = w.deploy
    feed = os.path.join(d.base, "feed")
    cli(d, w.pub, "export", "--format", "misp-feed", "--tlp-max", "RED", "--out", feed)
    r = imp_file(d, imp, "misp", feed)
    assert counts(r) == (3, 0, 0, 0), r.stderr
    got = r.stdout.decode().split()
    assert len(got) == 3
    rows = wait_stored(d, imp, lambda l: l if len([a for a in own(l, "bank-b") if a["id"] in got]) == 3 else None,
                       "the feed's 3 alerts in bank-b's store")
    live = {doc["title"]: {(t, v) for t, v in normalised(doc) if v not in RETRACTED_VALUES}
            for doc in (A_GREEN, A_AMBER, A_RED)}
    for a in own(rows, "bank-b"):
        assert {(i["type"], i["value"]) for i in a["iocs"]} == live[a["title"]]
    # the same feed again: nothing new
    r = imp_file(d, imp, "misp", feed)
    assert counts(r) == (0, 0, 3, 0) and r.stdout == b"", r.stderr
    # a listed event whose file is gone, and a file the manifest does not list, are said
    with open(os.path.join(feed, "manifest.json")) as f:
        manifest = json.load(f)
    gone = next(iter(manifest))
    os.rename(os.path.join(feed, gone + ".json"), os.path.join(feed, "unlisted.json"))
    r = imp_file(d, imp, "misp", feed, check=False)
    assert counts(r) == (0, 0, 2, 0), r.stderr
    assert "1 feed event without its file" in r.stderr.decode(), r.stderr
    # another format cannot read a directory; the manifest alone points to its directory
    r = imp_file(d, imp, "stix21", feed, check=False)
    assert r.returncode == 1 and b"is a directory" in r.stderr and b"--format misp" in r.stderr, r.stderr
    r = imp_file(d, imp, "misp", os.path.join(feed, "manifest.json"), check=False)
    assert r.returncode == 1 and b"feed manifest" in r.stderr, r.stderr


# ---- B. idempotency ---------------------------------------------------------------------------

def test_import_twice_publishes_once(pair):
    w, imp = pair
    d = w.deploy
    path = os.path.join(d.base, "x.stix21")
    cli(d, w.pub, "export", "--format", "stix21", "--tlp-max", "RED", "--out", path)
    r = imp_file(d, imp, "stix21", path)
    assert counts(r) == (3, 0, 0, 0), r.stderr
    first = r.stdout.decode().split()
    wait_stored(d, imp, lambda l: len(own(l, "bank-b")) == 3 or None, "3 imported alerts stored")
    # the same file again: nothing published, nothing new anywhere
    r = imp_file(d, imp, "stix21", path)
    assert counts(r) == (0, 0, 3, 0) and r.stdout == b"", r.stderr
    # a second member of bank-b without a running agent (no store): the broker knows them
    twin = d.add_member("intake2", "bank-b", role="publisher")
    r = imp_file(d, twin, "stix21", path)
    assert counts(r) == (0, 0, 3, 0), r.stderr
    assert "not in this agent's store" in r.stderr.decode(), r.stderr
    # another org importing the same feed gets alerts of its own
    other = d.add_member("desk", "bank-c", role="publisher")
    r = imp_file(d, other, "stix21", path)
    assert counts(r) == (3, 0, 0, 0), r.stderr
    assert not set(r.stdout.decode().split()) & set(first)
    # a changed report goes out as a new revision of the same alert, created kept
    with open(path) as f:
        b = json.load(f)
    rep = next(o for o in b["objects"] if o["type"] == "report" and o["name"] == A_RED["title"])
    rep["description"] = "Now with details."
    path2 = write(d, "x2.stix21", b)
    before = {a["title"]: a for a in own(d.agent_list(imp), "bank-b")}
    r = imp_file(d, imp, "stix21", path2)
    assert counts(r) == (0, 1, 2, 0), r.stderr
    aid = r.stdout.decode().strip()
    assert aid == before[A_RED["title"]]["id"]
    rows = wait_stored(d, imp, lambda l: [a for a in l if a["id"] == aid and a["revision"] == 2] or None,
                       "revision 2 stored")
    assert rows[0]["summary"].endswith("Now with details.")
    assert rows[0]["created"] == before[A_RED["title"]]["created"]
    # bank-a (entitled to the GREEN and AMBER ones) holds each imported alert once
    wait_synced(d, [w.pub, imp])
    at_a = [a for a in d.agent_list(w.pub) if a["publisher"]["org"] == "bank-b"]
    assert len(at_a) == len({a["id"] for a in at_a}) == 2, [a["title"] for a in at_a]


def test_same_content_definition(pair):
    """Every field of "the same content" counts; the order of lists and IOCs does not."""
    w, imp = pair
    d = w.deploy
    base = {"alert_id": "a1", "tlp": "AMBER", "severity": "high", "category": "phishing", "title": "T"}
    rows = [dict(base, type="domain", value="evil-one.xyz", comment="c", detect="true"),
            dict(base, type="ipv4", value="45.33.32.156", comment="", detect="true")]

    def csvtext(rs, **over):
        out = io.StringIO()
        wr = csv.DictWriter(out, fieldnames=["alert_id", "tlp", "severity", "category", "title", "sectors", "tags",
                                             "type", "value", "comment", "detect"])
        wr.writeheader()
        for x in rs:
            wr.writerow(dict(x, **over))
        return out.getvalue()
    r = imp_text(d, imp, "csv", csvtext(rows))
    assert counts(r) == (1, 0, 0, 0)
    aid = r.stdout.decode().strip()
    wait_stored(d, imp, lambda l: [a for a in l if a["id"] == aid] or None, "the alert stored")
    assert counts(imp_text(d, imp, "csv", csvtext(rows[::-1]))) == (0, 0, 1, 0)      # order: the same
    rev = 1
    for change, alert_level in (({"comment": "other"}, False), ({"detect": "false"}, False),
                                ({"severity": "low"}, True), ({"tags": "x"}, True),
                                ({"sectors": "energy"}, True), ({"title": "T2"}, True)):
        rows = [dict(x, **change) if alert_level or i == 0 else x for i, x in enumerate(rows)]
        r = imp_text(d, imp, "csv", csvtext(rows))
        assert counts(r) == (0, 1, 0, 0), (change, r.stderr)
        rev += 1
        wait_stored(d, imp, lambda l: [a for a in l if a["id"] == aid and a["revision"] == rev] or None,
                    "revision %d" % rev)
        assert counts(imp_text(d, imp, "csv", csvtext(rows))) == (0, 0, 1, 0), change


def test_a_revision_the_broker_refuses_is_counted_not_fatal(pair):
    """A changed source that would narrow its alert (TLP up) cannot be a revision: that
    alert is not imported and said so; the others go on."""
    w, imp = pair
    d = w.deploy
    r1 = report("Goes red", "GREEN", desc="one")
    r2 = report("Stays green", "GREEN", desc="two")
    r1["id"], r2["id"] = "report--" + ids(), "report--" + ids()
    path = write(d, "rev.stix21", bundle(r1, r2))
    r = imp_file(d, imp, "stix21", path)
    assert counts(r) == (2, 0, 0, 0), r.stderr
    got = r.stdout.decode().split()
    wait_stored(d, imp, lambda l: len([a for a in l if a["id"] in got]) == 2 or None, "both stored")
    r1["object_marking_refs"] = [TLP2["RED"]]
    r2["description"] = "two, revised"
    r = imp_file(d, imp, "stix21", write(d, "rev2.stix21", bundle(r1, r2)), check=False)
    assert r.returncode == 1 and counts(r) == (0, 1, 0, 1), r.stderr
    err = r.stderr.decode()
    assert "'Goes red': not imported: broker refused: bad-message" in err and "narrow" in err, err


# ---- C. audiences --------------------------------------------------------------------------

def test_recipients_and_publisher_survive(pair):
    w, imp = pair
    d = w.deploy
    tel = d.add_member("noc", "tel-a", sector="telecom", role="reader")
    d.start_agent(tel)
    ind = indicator("lockbit-pay.top")
    ident = {"type": "identity", "spec_version": "2.1", "id": "identity--" + ids(), "created": "2024-01-01T00:00:00.000Z",
             "modified": "2024-01-01T00:00:00.000Z", "name": "bank-a", "identity_class": "organization"}
    rep = report("LockBit affiliate", "AMBER", [ind["id"]], by=ident["id"], desc="Affiliate infra.",
                 ext={"severity": "critical", "category": "ransomware", "sectors": ["telecom"], "revision": 1,
                      "recipients": ["sector:telecom"], "publisher_org": "bank-a", "publisher_member": "soc"})
    ind["object_marking_refs"] = [TLP2["AMBER"]]
    path = write(d, "amber.stix21", bundle(ident, rep, ind))
    r = imp_file(d, imp, "stix21", path)
    assert counts(r) == (1, 0, 0, 0), r.stderr
    aid = r.stdout.decode().strip()
    a = wait_stored(d, imp, lambda l: [x for x in l if x["id"] == aid] or None, "the alert at bank-b")[0]
    assert a["tlp"] == "AMBER" and a["recipients"] == ["sector:telecom"], a
    assert "source:bank-a" in a["tags"]
    assert a["summary"].startswith("Originally published by bank-a.") and "Affiliate infra." in a["summary"]
    # a telecom member gets it; bank-a (finance, not a recipient) does not
    wait_stored(d, tel, lambda l: [x for x in l if x["id"] == aid] or None, "the alert at tel-a")
    wait_synced(d, [w.pub, tel])
    assert aid not in {x["id"] for x in d.agent_list(w.pub)}
    # MISP: recipient and publisher tags; AMBER+STRICT to one org
    ev = {"Event": {"uuid": ids(), "info": "Strict one", "distribution": "0",
                    "Orgc": {"name": "bank-a"},
                    "Tag": [{"name": "tlp:amber+strict"}, {"name": "infohub:severity=\"high\""},
                            {"name": "infohub:recipient=\"tel-a\""}, {"name": "infohub:publisher=\"bank-a\""}],
                    "Attribute": [{"type": "domain", "value": "strict-one.xyz", "to_ids": True}]}}
    r = imp_text(d, imp, "misp", json.dumps(ev))
    assert counts(r) == (1, 0, 0, 0), r.stderr
    sid = r.stdout.decode().strip()
    a = wait_stored(d, tel, lambda l: [x for x in l if x["id"] == sid] or None, "the strict alert at tel-a")[0]
    assert a["tlp"] == "AMBER+STRICT" and a["recipients"] == ["tel-a"] and "source:bank-a" in a["tags"]
    # CSV with recipients and publisher columns
    text = ("alert_id,revision,org,tlp,severity,category,title,type,value,recipients\n"
            "x1,1,bank-a,AMBER,high,phishing,Csv one,domain,csv-one.xyz,sector:telecom;tel-b\n")
    drafts = [json.loads(l) for l in imp_text(d, imp, "csv", text, "--dry-run").stdout.decode().splitlines()]
    assert drafts[0]["tlp"] == "AMBER" and drafts[0]["recipients"] == ["sector:telecom", "tel-b"]
    assert "source:bank-a" in drafts[0]["tags"]


def test_unexpressible_audience_is_narrowed_or_refused(pair):
    w, imp = pair
    d = w.deploy

    def event(info, tags=(), **kw):
        e = {"uuid": ids(), "info": info, "Orgc": {"name": "CIRCL"}, "Tag": [{"name": t} for t in tags],
             "Attribute": [{"type": "domain", "value": "narrow-%d.xyz" % len(info), "to_ids": True}]}
        e.update(kw)
        return {"Event": e}
    # distribution 0 (your organisation only) and 4 (a sharing group): RED, bank-b alone
    for ev, why in ((event("Org only", ["tlp:green"], distribution="0"), "your organisation only"),
                    (event("Group", ["tlp:green"], distribution="4", sharing_group_id="7"), "sharing group")):
        r = imp_text(d, imp, "misp", json.dumps(ev), "--dry-run")
        drafts = [json.loads(l) for l in r.stdout.decode().splitlines()]
        assert drafts[0]["tlp"] == "RED" and not drafts[0].get("recipients"), drafts
        err = r.stderr.decode()
        assert "narrowed to TLP:RED" in err and why in err and "1 narrowed" in err, err
        assert "source:CIRCL" in drafts[0]["tags"] and drafts[0]["summary"].startswith("Originally published by CIRCL.")
        # the operator may choose
        r = imp_text(d, imp, "misp", json.dumps(ev), "--dry-run", "--tlp", "AMBER")
        assert json.loads(r.stdout.decode().splitlines()[0])["tlp"] == "AMBER"
    # distribution 3 with a TLP tag: as tagged
    r = imp_text(d, imp, "misp", json.dumps(event("All", ["tlp:green"], distribution="3")), "--dry-run")
    assert json.loads(r.stdout.decode())["tlp"] == "GREEN"
    # no TLP: that alert is not imported (the others are), and the run fails
    both = [event("Tagged", ["tlp:green"]), event("Untagged")]
    r = imp_text(d, imp, "misp", json.dumps(both), check=False)
    assert r.returncode == 1 and counts(r) == (1, 0, 0, 1), r.stderr
    err = r.stderr.decode()
    assert "'Untagged'" in err and "no TLP" in err and "give --tlp" in err, err
    # an AMBER from a CSV export without a recipients column: its audience is unknown
    path = os.path.join(d.base, "x.csv")
    cli(d, w.pub, "export", "--format", "csv", "--tlp-max", "RED", "--out", path)
    with open(path) as f:
        header = f.readline()
    if "recipients" not in header:
        r = imp_file(d, imp, "csv", path, "--dry-run")
        got = {a["title"]: a["tlp"] for a in map(json.loads, r.stdout.decode().splitlines())}
        assert got[A_AMBER["title"]] == "RED" and got[A_GREEN["title"]] == "GREEN", got


# ---- D. warninglists ---------------------------------------------------------------------

def test_warninglisted_iocs_lose_detect(pair):
    w, imp = pair
    d = w.deploy
    text = ("type,value,comment\n"
            "domain,www.google.com,\n"
            "ipv6,2001:db8::dead,seen in logs\n"
            "md5,d41d8cd98f00b204e9800998ecf8427e,\n"
            "ipv4,198.51.100.7,\n"
            "domain,evil-one.xyz,c2\n")
    r = imp_text(d, imp, "csv", text, "--tlp", "GREEN", "--title", "WL")
    aid = r.stdout.decode().strip()
    assert "4 IOCs with detect off" in r.stderr.decode(), r.stderr
    a = wait_stored(d, imp, lambda l: [x for x in l if x["id"] == aid] or None, "the alert")[0]
    by = {i["value"]: i for i in a["iocs"]}
    assert by["evil-one.xyz"]["detect"] is True and by["evil-one.xyz"]["comment"] == "c2"
    assert by["www.google.com"]["detect"] is False and "popular-domains" in by["www.google.com"]["comment"]
    assert by["2001:db8::dead"]["detect"] is False and by["2001:db8::dead"]["comment"].startswith("seen in logs; ")
    assert "reserved-ranges" in by["2001:db8::dead"]["comment"]
    assert by["d41d8cd98f00b204e9800998ecf8427e"]["detect"] is False
    assert by["198.51.100.7"]["detect"] is False
    # --keep-detect keeps them
    r = imp_text(d, imp, "csv", text, "--tlp", "GREEN", "--title", "WL", "--keep-detect", "--dry-run")
    a = json.loads(r.stdout.decode())
    assert all(i["detect"] for i in a["iocs"]), a["iocs"]
    # documentation ranges count even when the configured lists miss them
    lists = os.path.join(d.base, "lists")
    os.makedirs(lists)
    with open(os.path.join(lists, "mine.txt"), "w") as f:
        f.write("# name: mine\nevil-one.xyz\n")
    set_cfg(imp, warninglists=lists)
    r = imp_text(d, imp, "csv", text, "--tlp", "GREEN", "--title", "WL2", "--dry-run")
    by = {i["value"]: i for i in json.loads(r.stdout.decode())["iocs"]}
    assert by["evil-one.xyz"]["detect"] is False and "mine" in by["evil-one.xyz"]["comment"]
    assert by["198.51.100.7"]["detect"] is False and "RFC 5737" in by["198.51.100.7"]["comment"]
    assert by["2001:db8::dead"]["detect"] is False and "RFC 3849" in by["2001:db8::dead"]["comment"]
    assert by["www.google.com"]["detect"] is True
