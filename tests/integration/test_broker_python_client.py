"""A Python client written from PROTOCOL.md alone (ihclient.py) publishes and subscribes,
checked against real agents' stores (infohub-agent run / publish / list --json)."""
import json
import time

import ihclient
from conftest import wait_until


def _ok(rep, what=""):
    assert rep is not None, "%s: no answer within the timeout" % what
    assert rep["t"] == "ok", "%s: %r" % (what, rep)
    return rep


def test_python_publishes_agent_stores(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rd = deploy.add_member("noc", "bank-b", sector="finance")
    deploy.start_broker()
    deploy.start_agent(rd)
    p = deploy.client(pub)
    sent = [
        ihclient.alert_body(pub.ident, title="Phishing wave", tlp="GREEN", severity="high",
                            category="phishing", sectors=["finance"], tags=["wave"],
                            references=["https://example.org/advisory"],
                            iocs=[ihclient.ioc("domain", "evil.example.com", "landing page"),
                                  ihclient.ioc("ipv4", "192.0.2.7", "", False)],
                            summary="**bold** text"),
        ihclient.alert_body(pub.ident, title="For bank-b only", tlp="AMBER",
                            recipients=["bank-b"]),
        ihclient.alert_body(pub.ident, title="Not for bank-b", tlp="RED", recipients=[]),
    ]
    seqs = {}
    for b in sent:
        seqs[b["id"]] = _ok(p.publish_wait(b), b["title"])["seq"]

    want = {sent[0]["id"], sent[1]["id"]}
    rows = wait_until(lambda: (lambda r: r if {x["id"] for x in r} >= want else None)(
        deploy.agent_list(rd)), 15.0, interval=0.3, what="the agent to store 2 alerts")
    time.sleep(0.5)
    rows = deploy.agent_list(rd)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == want, "agent stored %r" % [r.get("title") for r in rows]
    a = by_id[sent[0]["id"]]
    assert a["title"] == "Phishing wave" and a["tlp"] == "GREEN" and a["severity"] == "high"
    assert a["category"] == "phishing" and a["sectors"] == ["finance"] and a["tags"] == ["wave"]
    assert a["references"] == ["https://example.org/advisory"]
    assert a["summary"] == "**bold** text"
    assert a["seq"] == seqs[a["id"]]
    assert a["revision"] == 1
    assert a["publisher"] == {"org": "bank-a", "member": "soc"}
    assert a["signer"] == pub.ident.sign_pk.hex()
    assert [(i["type"], i["value"], i.get("comment", ""), i.get("detect", True))
            for i in a["iocs"]] == [("domain", "evil.example.com", "landing page", True),
                                    ("ipv4", "192.0.2.7", "", False)]
    assert by_id[sent[1]["id"]]["seq"] == seqs[sent[1]["id"]]


def test_agent_publishes_python_receives(deploy, tmp_path):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rd = deploy.add_member("noc", "bank-b", sector="finance")
    deploy.start_broker()
    sub = deploy.subscriber(rd)
    doc = {"title": "Refanged input", "summary": "see *below*", "tlp": "AMBER",
           "severity": "critical", "category": "malware", "sectors": ["finance"],
           "recipients": ["bank-b"], "references": [], "tags": ["t1"],
           "iocs": [{"type": "url", "value": "hxxps://Evil[.]Example.COM/Path?q=1",
                     "comment": "c2", "detect": True},
                    {"type": "domain", "value": "EVIL[.]com"},
                    {"type": "ipv6", "value": "2001:DB8:0:0:0:0:0:1"}]}
    f = tmp_path / "alert.json"
    f.write_text(json.dumps(doc))
    r = deploy.agent_cmd(pub, "publish", str(f))
    new_id = r.stdout.decode().strip().splitlines()[-1].strip()
    assert len(new_id) == 36, "publish printed %r" % r.stdout

    assert sub.wait_items(1, 5.0), "python subscriber got nothing"
    sub.drain(0.3)
    assert not sub.bad_items, sub.bad_items
    assert len(sub.items) == 1
    seq, b, rec, _ = sub.items[0]
    assert b["id"] == new_id and b["k"] == "alert" and b["rev"] == 1
    assert (b["org"], b["member"], b["signer"]) == ("bank-a", "soc", pub.ident.sign_pk)
    assert (rec["name"], rec["org"], rec["role"], rec["curve"]) == \
        ("soc", "bank-a", "publisher", ihclient.z85.decode(pub.ident.curve_public))
    assert rec["gateway"] is False
    assert b["title"] == "Refanged input" and b["tlp"] == "AMBER"
    assert b["recipients"] == ["bank-b"] and b["severity"] == "critical"
    assert b["iocs"] == [["url", "https://evil.example.com/Path?q=1", "c2", True],
                         ["domain", "evil.com", "", True],
                         ["ipv6", "2001:db8::1", "", True]]
    assert b["created"] <= b["modified"] <= ihclient.now_ms()


def test_session_basics(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rd = deploy.add_member("noc", "bank-b")
    deploy.start_broker()
    p = deploy.client(pub)
    first = _ok(p.publish_wait(ihclient.alert_body(pub.ident, title="one")))
    assert first["seq"] == 1

    c = deploy.client(rd)
    # ping without a session: no-session
    c.ping()
    e = c.wait_inbox(lambda m: m.get("t") == "error", 3.0)
    assert e is not None and e["code"] == "no-session", e
    # cursor above head: bad-cursor
    w = c.hello(cursor=5)
    assert w is not None and w["t"] == "error" and w["code"] == "bad-cursor", w
    assert w["reason"]
    w = c.hello(cursor=0, window=50)
    assert w is not None and w["t"] == "welcome", w
    assert (w["member"], w["org"], w["head"], w["heartbeat"]) == ("noc", "bank-b", 1, 1000)
    assert w["owed"] == 1, w                  # the GREEN alert is for it (section 4.1)
    assert c.wait_items(1, 3.0)
    assert c.seqs() == [1]

    c.ping()
    pong = c.wait_inbox(lambda m: m.get("t") == "pong", 3.0)
    assert pong is not None and pong["head"] == 1 and pong["owed"] == 1, pong
    assert (c.head, c.owed, c.bad_envelopes) == (1, 1, [])
    st = c.status()
    assert st is not None, "no stats"
    stats = json.loads(st["json"])
    for k in ("connections", "sessions", "messages_in", "messages_out", "rejected", "replays",
              "journal_bytes", "head", "uptime_s"):
        assert k in stats, "stats lacks %s: %r" % (k, stats)
    assert stats["head"] == 1 and stats["messages_in"] >= 1 and stats["sessions"] >= 1

    # Resending an identical body and signature: ok with the original seq, no second delivery.
    body = ihclient.alert_body(pub.ident, title="two")
    data, sig = p.sign_body(body)
    r1 = _ok(p.publish_wait(data, sig=sig))
    r2 = _ok(p.publish_wait(data, sig=sig))
    assert r1["seq"] == r2["seq"] == 2 and r1["id"] == r2["id"] == body["id"]
    r3 = _ok(p.publish_wait(ihclient.alert_body(pub.ident, title="three")))
    assert r3["seq"] == 3
    assert c.wait_items(3, 3.0)
    c.drain(0.5)
    assert c.seqs() == [1, 2, 3]

    # A second hello restarts the session from its cursor.
    w = c.hello(cursor=1)
    assert w is not None and w["t"] == "welcome" and w["head"] == 3
    assert c.wait_items(5, 3.0)
    c.drain(0.3)
    assert c.seqs() == [1, 2, 3, 2, 3]

    # bye ends the session at once: a later ping is answered no-session.
    c.bye()
    time.sleep(0.2)
    c.inbox.clear()
    c.ping()
    e = c.wait_inbox(lambda m: m.get("t") in ("error", "pong"), 3.0)
    assert e is not None and e["t"] == "error" and e["code"] == "no-session", e
    deploy.assert_broker_alive()


def test_silent_session_expires(deploy):
    rd = deploy.add_member("noc", "bank-b")
    deploy.start_broker()
    c = deploy.subscriber(rd)
    c.ping()
    assert c.wait_inbox(lambda m: m.get("t") == "pong", 3.0) is not None
    time.sleep(3.6)   # 3 x heartbeat (1000 ms) of silence: the broker forgets the session
    c.ping()
    e = c.wait_inbox(lambda m: m.get("t") in ("error", "pong"), 3.0)
    assert e is not None and e["t"] == "error" and e["code"] == "no-session", e
    w = c.hello(cursor=0)
    assert w is not None and w["t"] == "welcome", w
