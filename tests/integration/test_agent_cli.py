"""infohub-agent's command line against a real broker and agents on loopback (issue 4):
retract, comment, sight, list (filters), show (human and --json), search (every type,
IP in CIDR, parent domains, retracted IOCs), tail, status, and --help / one-line errors.
Every scenario ends with the stores holding exactly what each member is entitled to.
"""
import json
import signal
import subprocess
import time

import pytest

import ihclient
from agentlib import Ledger, assert_exact, broker_head, status, wait_cursor, wait_synced
from conftest import AGENT, _child_setup, run, wait_until

COMMANDS = ["run", "publish", "retract", "comment", "sight", "list", "show", "search", "tail", "status"]


@pytest.fixture
def trio(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    pub2 = deploy.add_member("cert", "bank-c", sector="finance", role="publisher")
    rdr = deploy.add_member("analyst", "bank-b", sector="energy", role="reader")
    deploy.start_broker()
    for m in (pub, pub2, rdr):
        deploy.start_agent(m)
    return deploy, pub, pub2, rdr


def cli(deploy, member, *args, check=True, input=None):
    return deploy.agent_cmd(member, *args, check=check, input=input)


def out(r):
    return r.stdout.decode()


def one_line_error(r):
    err = r.stderr.decode()
    assert r.returncode != 0, "expected a failure: %s" % out(r)
    assert err.count("\n") == 1 and err.startswith("infohub-agent: "), err
    return err


def publish_json(deploy, member, doc):
    r = cli(deploy, member, "publish", "-", input=json.dumps(doc).encode())
    return out(r).strip()


ALERT_A = {"title": "Phishing kit", "summary": "Line one\nline two", "tlp": "GREEN",
           "severity": "high", "category": "phishing", "sectors": ["finance"],
           "iocs": [{"type": "domain", "value": "evil[.]example"},
                    {"type": "ipv4", "value": "192.0.2.1", "comment": "c2"},
                    {"type": "url", "value": "hxxp://login.evil.example/x"},
                    {"type": "cidr", "value": "198.51.100.0/24"},
                    {"type": "ipv6", "value": "2001:DB8::1"},
                    {"type": "cidr", "value": "2001:db8:aa::/48"},
                    {"type": "email", "value": "boss[@]mail.evil.example"},
                    {"type": "md5", "value": "D41D8CD98F00B204E9800998ECF8427E"},
                    {"type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
                    {"type": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                    {"type": "filename", "value": "invoice.pdf.exe"},
                    {"type": "cve", "value": "cve-2024-3094"},
                    {"type": "asn", "value": "AS64496"}]}


def ledger_add(ledger, deploy, member, doc, aid, rev=1):
    """Records a CLI-published alert in the ledger (normalised values from the store)."""
    shown = json.loads(out(cli(deploy, member, "show", aid, "--json")))
    assert shown["revision"] == rev
    body = {"id": aid, "rev": rev, "tlp": doc["tlp"], "recipients": doc.get("recipients", []),
            "org": member.org, "title": doc["title"],
            "iocs": [[i["type"], i["value"]] for i in shown["iocs"]]}
    ledger.alert(body)


# ---- help and errors ----------------------------------------------------------------------

def test_help_for_every_command_and_one_line_errors(deploy):
    m = deploy.add_member("soc", "bank-a", role="publisher")
    for c in COMMANDS:
        r = run([AGENT, c, "--help"])
        assert r.returncode == 0 and out(r).startswith("usage: infohub-agent"), c
        r = run([AGENT, "-c", m.cfg, c, "--help"])
        assert r.returncode == 0 and b"usage" in r.stdout, c
    usage = out(run([AGENT, "--help"]))
    for c in COMMANDS:
        assert "\n  %s " % c in usage, c
    bad = [
        (["retract"], "retract: ID is missing"),
        (["retract", "nope"], "not an alert id"),
        (["retract", "00000000-0000-4000-8000-000000000000", "--bogus"], "unexpected argument '--bogus'"),
        (["retract", "00000000-0000-4000-8000-000000000000", "--ioc", "what?"], "retract: --ioc"),
        (["comment", "00000000-0000-4000-8000-000000000000"], "TEXT is missing"),
        (["comment"], "ID is missing"),
        (["sight"], "VALUE is missing"),
        (["sight", "1.2.3.4", "--count", "0"], "--count"),
        (["sight", "1.2.3.4", "--tlp", "PURPLE"], "--tlp"),
        (["sight", "1.2.3.4", "--alert", "x"], "not an alert id"),
        (["sight", "1.2.3.999", "--type", "ipv4"], "invalid ipv4"),
        (["search"], "VALUE is missing"),
        (["search", "1.2.3.4", "--type", "colour"], "unknown IOC type"),
        (["search", "a", "b"], "unexpected argument 'b'"),
        (["list", "--since", "yesterday"], "--since"),
        (["list", "--tlp", "PINK"], "--tlp"),
        (["show"], "ID is missing"),
        (["show", "00000000-0000-4000-8000-000000000000", "extra"], "unexpected argument"),
        (["tail", "--from", "x"], "--from"),
        (["status", "x"], "unexpected argument"),
    ]
    for args, want in bad:
        r = deploy.agent_cmd(m, *args, check=False)
        err = one_line_error(r)
        assert want in err, (args, err)
    # no broker: publishing commands fail in time with one line, naming the problem
    r = deploy.agent_cmd(m, "comment", "00000000-0000-4000-8000-000000000000", "hello", check=False,
                         timeout=30)
    one_line_error(r)
    # reading commands on a store that does not exist yet: empty, not an error
    # (search exits 1 when nothing matched, as grep does)
    r = deploy.agent_cmd(m, "search", "192.0.2.1", check=False)
    assert r.returncode == 1 and "no match" in out(r)
    r = deploy.agent_cmd(m, "search", "192.0.2.1", "--json", check=False)
    assert r.returncode == 1 and json.loads(out(r))["hits"] == []
    assert out(deploy.agent_cmd(m, "list")) == ""


# ---- revisions, retractions, comments, sightings through the CLI ------------------------

def test_revisions_and_retractions_in_list_and_show(trio):
    deploy, pub, pub2, rdr = trio
    ledger = Ledger()
    a = publish_json(deploy, pub, ALERT_A)
    b_doc = {"title": "Ransomware note", "tlp": "AMBER", "severity": "critical",
             "category": "ransomware", "iocs": [{"type": "sha256", "value": "ab" * 32}]}
    b = publish_json(deploy, pub, b_doc)
    # RED to bank-c only: the reader (bank-b) must never hold it
    red_doc = {"title": "Red one", "tlp": "RED", "severity": "low", "category": "other",
               "recipients": ["bank-c"], "iocs": [{"type": "ipv4", "value": "203.0.113.9"}]}
    red = publish_json(deploy, pub, red_doc)
    wait_until(lambda: len(deploy.agent_list(pub)) == 3, what="publisher stored 3")
    ledger_add(ledger, deploy, pub, ALERT_A, a)
    ledger_add(ledger, deploy, pub, b_doc, b)
    ledger_add(ledger, deploy, pub, red_doc, red)

    # a new revision of A drops the sha1 and adds a domain
    doc2 = json.loads(json.dumps(ALERT_A))
    doc2["title"] = "Phishing kit (update)"
    doc2["id"] = a
    doc2["iocs"] = [i for i in doc2["iocs"] if i["type"] != "sha1"] + [{"type": "domain", "value": "cdn.evil.example"}]
    assert publish_json(deploy, pub, doc2) == a
    wait_until(lambda: json.loads(out(cli(deploy, pub, "show", a, "--json")))["revision"] == 2,
               what="rev 2 at the publisher")
    ledger_add(ledger, deploy, pub, doc2, a, rev=2)

    # retract one IOC of A (defanged, matched against the stored alert), all of B
    r1 = out(cli(deploy, pub, "retract", a, "--ioc", "192.0.2[.]1", "--reason", "shared hosting")).strip()
    assert len(r1) == 36 and r1 != a
    ledger.retract(a, [("ipv4", "192.0.2.1")])
    assert len(out(cli(deploy, pub, "retract", b)).strip()) == 36
    ledger.retract(b)
    # an IOC the alert does not have is refused before anything is sent
    err = one_line_error(cli(deploy, pub, "retract", a, "--ioc", "8.8.8.8", check=False))
    assert "is not an IOC of alert" in err
    # another org may not retract: the broker's reason is shown
    wait_until(lambda: len(deploy.agent_list(pub2)) == 3, what="bank-c stored 3")
    err = one_line_error(cli(deploy, pub2, "retract", a, check=False))
    assert "broker refused: not-owner" in err
    # comments and sightings, by both publishers
    assert len(out(cli(deploy, pub2, "comment", a, "seen", "here", "too")).strip()) == 36
    cli(deploy, pub, "comment", a, "-", input=b"from stdin\n")
    cli(deploy, pub2, "sight", "192.0.2.1", "--alert", a, "--count", "3")
    cli(deploy, pub2, "sight", "hxxp://login.evil.example/x", "--tlp", "GREEN")
    cli(deploy, pub, "sight", "filename:invoice.pdf.exe")

    wait_synced(deploy, [pub, pub2, rdr])
    for m in (pub, pub2, rdr):
        assert_exact(deploy, m, ledger)

    # the reader's view of A
    shown = json.loads(out(cli(deploy, rdr, "show", a, "--json")))
    assert shown["revision"] == 2 and shown["revisions"] == 2 and shown["status"] == "active"
    assert shown["title"] == "Phishing kit (update)"
    flagged = [i["value"] for i in shown["iocs"] if i.get("retracted")]
    assert flagged == ["192.0.2.1"]
    assert [r["text"] for r in shown["retractions"]] == ["shared hosting"]
    assert [c["text"] for c in shown["comments"]] == ["seen here too", "from stdin"]
    assert shown["comments"][0]["publisher"] == {"org": "bank-c", "member": "cert"}
    assert shown["sightings"] == 3
    seen = {(s["type"], s["value"]): s["count"] for s in shown["ioc_sightings"]}
    assert seen == {("ipv4", "192.0.2.1"): 3, ("url", "http://login.evil.example/x"): 1,
                    ("filename", "invoice.pdf.exe"): 1}
    # list --json carries the same alert without the details
    row = [r for r in deploy.agent_list(rdr) if r["id"] == a][0]
    for k in ("retractions", "comments", "ioc_sightings"):
        shown.pop(k)
    assert row == shown
    # human show
    text = out(cli(deploy, rdr, "show", a))
    assert "revision    2 (2 revisions seen" in text and "status      active" in text
    assert "iocs (13; 1 retracted)" in text
    line = [l for l in text.splitlines() if " 192.0.2.1 " in l][0]
    assert "retracted" in line and " 3 " in line
    assert "shared hosting" in text and "seen here too" in text and "  Line one\n  line two" in text
    text_b = out(cli(deploy, rdr, "show", b))
    assert "RETRACTED (seq" in text_b and "the whole alert" in text_b
    assert json.loads(out(cli(deploy, rdr, "show", b, "--json")))["status"] == "retracted"
    # the RED alert is not there for the reader
    err = one_line_error(cli(deploy, rdr, "show", red, check=False))
    assert "no alert" in err

    # list: header + rows, filters
    lines = out(cli(deploy, rdr, "list")).splitlines()
    assert lines[0].split()[:3] == ["SEQ", "ID", "REV"] and len(lines) == 3
    assert [l.split()[1] for l in lines[1:]] == [b, a]            # A moved behind B (rev 2)
    def ids(*args):
        return [json.loads(l)["id"] for l in out(cli(deploy, rdr, "list", "--json", *args)).splitlines()]
    assert ids("--tlp", "AMBER") == [b]
    assert ids("--tlp", "green") == [a]
    assert ids("--category", "ransomware") == [b]
    assert ids("--sector", "finance") == [a]
    assert ids("--sector", "energy") == []
    assert ids("--since", "1h") == [b, a]
    assert ids("--since", "2199-01-01") == []
    # a show --json output publishes again as a new revision (details dropped)
    shown = out(cli(deploy, pub, "show", a, "--json"))
    assert publish_json(deploy, pub, json.loads(shown.replace("Phishing kit (update)", "Phishing kit v3"))) == a
    wait_until(lambda: json.loads(out(cli(deploy, rdr, "show", a, "--json")))["revision"] == 3,
               what="rev 3 at the reader")
    ledger.alerts[a]["rev"], ledger.alerts[a]["title"] = 3, "Phishing kit v3"
    wait_synced(deploy, [pub, pub2, rdr])
    for m in (pub, pub2, rdr):
        assert_exact(deploy, m, ledger)


# ---- search ----------------------------------------------------------------------------------

def search(deploy, member, *args):
    r = cli(deploy, member, "search", *args, "--json", check=False)
    res = json.loads(out(r))
    assert r.returncode == (0 if res["hits"] else 1), (args, r.returncode, r.stderr)
    return res


def hits(deploy, member, *args):
    return sorted((h["match"], h["type"], h["value"], h["id"]) for h in search(deploy, member, *args)["hits"])


def test_search_semantics(trio):
    deploy, pub, pub2, rdr = trio
    a = publish_json(deploy, pub, ALERT_A)
    other = publish_json(deploy, pub2, {
        "title": "Other", "tlp": "GREEN", "severity": "low", "category": "malware",
        "iocs": [{"type": "cidr", "value": "192.0.2.0/24"}, {"type": "cidr", "value": "10.0.0.0/8"},
                 {"type": "domain", "value": "example"[0:0] + "login.evil.example"},
                 {"type": "ipv4", "value": "192.0.2.1"}]})
    hidden = publish_json(deploy, pub, {
        "title": "Not for bank-b", "tlp": "AMBER+STRICT", "severity": "low", "category": "other",
        "recipients": ["bank-c"], "iocs": [{"type": "ipv4", "value": "203.0.113.77"},
                                           {"type": "cidr", "value": "203.0.113.0/24"}]})
    wait_synced(deploy, [rdr, pub2, pub])
    ledger = Ledger()
    ledger_add(ledger, deploy, pub, ALERT_A, a)
    ledger_add(ledger, deploy, pub2, {"title": "Other", "tlp": "GREEN"}, other)
    ledger_add(ledger, deploy, pub, {"title": "Not for bank-b", "tlp": "AMBER+STRICT",
                                     "recipients": ["bank-c"]}, hidden)

    # exact, for every type, with the value in the index's normal form
    for t, v in [("domain", "evil.example"), ("ipv6", "2001:db8::1"), ("email", "boss@mail.evil.example"),
                 ("md5", "d41d8cd98f00b204e9800998ecf8427e"), ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                 ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                 ("filename", "invoice.pdf.exe"), ("cve", "CVE-2024-3094"), ("asn", "AS64496"),
                 ("url", "http://login.evil.example/x"), ("cidr", "198.51.100.0/24")]:
        h = hits(deploy, rdr, v)
        assert ("exact", t, v, a) in h, (t, v, h)
    # input as people paste it: defanged, upper case, typed
    assert ("exact", "md5", "d41d8cd98f00b204e9800998ecf8427e", a) in hits(deploy, rdr, "D41D8CD98F00B204E9800998ECF8427E")
    assert ("exact", "url", "http://login.evil.example/x", a) in hits(deploy, rdr, "hxxp://login[.]evil[.]example/x")
    assert ("exact", "asn", "AS64496", a) in hits(deploy, rdr, "asn:64496")
    assert ("exact", "cve", "CVE-2024-3094", a) in hits(deploy, rdr, "--type", "cve", "cve-2024-3094")
    # an IP: exact, and every CIDR that contains it (v4 and v6)
    assert hits(deploy, rdr, "192.0.2.1") == sorted([("exact", "ipv4", "192.0.2.1", a),
                                                     ("exact", "ipv4", "192.0.2.1", other),
                                                     ("contains", "cidr", "192.0.2.0/24", other)])
    assert hits(deploy, rdr, "198.51.100.200") == [("contains", "cidr", "198.51.100.0/24", a)]
    assert hits(deploy, rdr, "10.1.2.3") == [("contains", "cidr", "10.0.0.0/8", other)]
    assert hits(deploy, rdr, "2001:db8:aa:1::5") == [("contains", "cidr", "2001:db8:aa::/48", a)]
    assert hits(deploy, rdr, "198.51.100.128/25") == [("contains", "cidr", "198.51.100.0/24", a)]
    assert hits(deploy, rdr, "198.51.101.1") == []
    # --inside: what lies within a network
    assert ("inside", "ipv4", "192.0.2.1", a) in hits(deploy, rdr, "192.0.0.0/16", "--inside")
    # a domain: exact, parent domains, URL hosts and e-mail domains (derived)
    h = hits(deploy, rdr, "a.b.login.evil.example")
    assert ("parent", "domain", "evil.example", a) in h
    assert ("parent", "domain", "login.evil.example", other) in h
    assert ("parent", "url", "login.evil.example", a) in h
    assert hits(deploy, rdr, "mail.evil.example") == sorted([("exact", "email", "mail.evil.example", a),
                                                             ("parent", "domain", "evil.example", a)])
    assert hits(deploy, rdr, "evil.example.org") == []
    assert ("subdomain", "domain", "login.evil.example", other) in hits(deploy, rdr, "evil.example", "--subdomains")
    # nothing from an alert the member is not entitled to (bank-c sees it, bank-b does not)
    assert hits(deploy, rdr, "203.0.113.77") == []
    assert ("exact", "ipv4", "203.0.113.77", hidden) in hits(deploy, pub2, "203.0.113.77")
    # retracted IOCs are marked, and --active leaves them out; so is a retracted alert
    cli(deploy, pub, "retract", a, "--ioc", "192.0.2.1")
    cli(deploy, pub2, "retract", other)
    ledger.retract(a, [("ipv4", "192.0.2.1")])
    ledger.retract(other)
    wait_synced(deploy, [rdr, pub, pub2])
    for m in (rdr, pub, pub2):
        assert_exact(deploy, m, ledger)
    res = search(deploy, rdr, "192.0.2.1")
    marks = {(h["type"], h["id"]): (h["retracted"], h["status"]) for h in res["hits"]}
    assert marks == {("ipv4", a): (True, "active"), ("ipv4", other): (True, "retracted"),
                     ("cidr", other): (True, "retracted")}
    assert search(deploy, rdr, "192.0.2.1", "--active")["hits"] == []
    assert hits(deploy, rdr, "evil.example", "--active") == [("exact", "domain", "evil.example", a)]
    # hits carry the alert; searched values carry their sightings
    cli(deploy, pub, "sight", "evil.example", "--count", "4")
    wait_synced(deploy, [rdr])
    res = search(deploy, rdr, "evil[.]example")
    assert res["searched"][0] == {"type": "domain", "value": "evil.example",
                                  "sightings": {"count": 4, "reports": 1}}
    h = [x for x in res["hits"] if x["match"] == "exact"][0]
    assert h["title"] == "Phishing kit" and h["tlp"] == "GREEN" and h["publisher"]["org"] == "bank-a"
    # human table
    text = out(cli(deploy, rdr, "search", "192.0.2.77"))
    assert text.splitlines()[0].split()[:3] == ["MATCH", "TYPE", "VALUE"]
    assert "contains  cidr     192.0.2.0/24" in text and "retracted" in text
    assert "no match for ipv4 203.0.113.77" in out(cli(deploy, rdr, "search", "203.0.113.77", check=False))
    assert "was sighted 4 times (1 report)" in out(cli(deploy, rdr, "search", "evil.example"))


# ---- tail and status -------------------------------------------------------------------------

def test_tail_prints_new_alerts_until_interrupted(trio):
    deploy, pub, pub2, rdr = trio
    first = publish_json(deploy, pub, {"title": "before tail", "tlp": "GREEN", "severity": "low",
                                       "category": "other"})
    wait_synced(deploy, [rdr])

    def start(*args):
        return subprocess.Popen([AGENT, "-c", rdr.cfg, "tail"] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=_child_setup)
    human = start()
    js = start("--json", "--all")
    replay = start("--json", "--from", "0")
    time.sleep(0.5)
    a = publish_json(deploy, pub, {"title": "live one", "tlp": "GREEN", "severity": "high",
                                   "category": "malware", "iocs": [{"type": "ipv4", "value": "192.0.2.9"}]})
    cli(deploy, pub, "comment", a, "tail me")
    wait_synced(deploy, [rdr])
    time.sleep(0.8)
    for p in (human, js, replay):
        p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    outs = [p.communicate(timeout=5) for p in (human, js, replay)]
    assert time.monotonic() - t0 < 3
    assert [p.returncode for p in (human, js, replay)] == [0, 0, 0]
    lines = outs[0][0].decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("new ") and a in lines[0] and "live one" in lines[0]
    events = [json.loads(l) for l in outs[1][0].decode().splitlines()]
    assert [e.get("kind", "alert") for e in events] == ["alert", "comment", "sighting"]  # + sync marker
    assert events[2]["outcome"] == "sighted" and events[2]["seq"] > events[1]["seq"]
    assert events[0]["id"] == a and events[1]["text"] == "tail me" and events[1]["ref"] == a
    assert [json.loads(l)["id"] for l in outs[2][0].decode().splitlines()] == [first, a]


def test_status_reports_connection_lag_counts(trio):
    deploy, pub, pub2, rdr = trio
    publish_json(deploy, pub, ALERT_A)
    head = wait_synced(deploy, [rdr])
    st = wait_until(lambda: (lambda s: s if s["connected"] and s["head"] == head else None)(status(deploy, rdr)),
                    what="status connected at head")
    assert st["running"] and st["lag"] == 0 and st["cursor"] == head
    assert st["alerts"] == 1 and st["iocs"] == 13 and st["store_bytes"] > 0 and st["map_bytes"] >= st["store_bytes"]
    assert st["store"].endswith("/store")
    text = out(cli(deploy, rdr, "status"))
    assert "(connected)" in text and "lag 0" in text and "alerts      1" in text
    # stopped: not running; the counts are still read from the store
    assert deploy.agents["analyst"].stop() == 0
    st = status(deploy, rdr)
    assert not st["running"] and not st["connected"] and st["alerts"] == 1
    r = cli(deploy, rdr, "status", check=False)
    assert r.returncode == 3 and "agent not running" in out(r)     # LSB: not running
    # lag: published while the agent is away shows once it reconnects and catches up
    c = deploy.client(pub)
    for i in range(3):
        assert c.publish_wait(ihclient.alert_body(pub.ident, title="away %d" % i))["t"] == "ok"
    deploy.start_agent(rdr)
    st = wait_until(lambda: (lambda s: s if s["connected"] and s["lag"] == 0 and s["cursor"] == head + 3 else None)(
        status(deploy, rdr)), what="caught up")
    assert st["alerts"] == 4
    assert [r["title"] for r in deploy.agent_list(rdr)] == ["Phishing kit", "away 0", "away 1", "away 2"]
