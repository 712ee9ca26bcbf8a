"""Regression tests for security findings against the broker (review of the broker and the
protocol codec):

- a revision cannot narrow TLP or recipients (retractions and comments follow the latest
  revision, so a narrowing revision would leave earlier recipients with a stale alert);
- the hello `agent` field, and values quoted in error reasons, cannot inject log lines;
- a sender that may not see an alert cannot learn that it exists, nor its owner;
- one member key holds a bounded number of sessions (error `busy`), refused before any
  replay while they are all alive.
"""
import json
import time
import uuid

import ihclient
from conftest import wait_until

NARROW = "rev: a revision cannot narrow TLP or recipients; retract it and publish a new alert"


def _ok(r):
    assert r and r["t"] == "ok", r
    return r


def _err(r, code):
    assert r and r["t"] == "error" and r["code"] == code, r
    return r


def _got(c):
    return [(it[1]["k"], it[1].get("rev"), it[1].get("tlp"), it[1].get("title"))
            for it in c.items]


def test_revision_cannot_narrow(deploy):
    a = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    b = deploy.add_member("noc", "telco", sector="telecom", role="reader")
    deploy.add_member("ops", "power-c", sector="energy", role="reader")
    deploy.start_broker()
    pub = deploy.client(a)
    t0 = ihclient.now_ms()
    bad_ip = ihclient.ioc("ipv4", "8.8.8.8", "C2 (wrong!)")

    # The reviewer's case: rev 1 CLEAR, rev 2 RED, then a retraction.
    aid = str(uuid.uuid4())
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="rev1 CLEAR", tlp="CLEAR", id=aid,
                                             created=t0, iocs=[bad_ip])))
    r = _err(pub.publish_wait(ihclient.alert_body(a.ident, title="rev2 RED", tlp="RED", id=aid,
                                                  rev=2, created=t0, iocs=[bad_ip])),
             "bad-message")
    assert r["reason"] == NARROW, r
    for tlp in ("GREEN", "AMBER", "AMBER+STRICT"):
        _err(pub.publish_wait(ihclient.alert_body(a.ident, title="narrower", tlp=tlp, id=aid,
                                                  rev=2, created=t0)), "bad-message")
    # an allowed revision (same TLP) and a retraction: everyone who got rev 1 gets both
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="rev2 CLEAR", tlp="CLEAR", id=aid,
                                             rev=2, created=t0, iocs=[bad_ip])))
    _ok(pub.publish_wait(ihclient.comment_body(a.ident, aid, "false positive, sorry")))
    _ok(pub.publish_wait(ihclient.retraction_body(a.ident, aid, "false positive")))
    for who in (b, deploy.gateway):
        c = deploy.subscriber(who, cursor=0)
        assert c.wait_items(4), (who, _got(c))
        got = _got(c)
        assert ("alert", 1, "CLEAR", "rev1 CLEAR") in got, (who, got)
        assert ("alert", 2, "CLEAR", "rev2 CLEAR") in got, (who, got)
        assert [k for k, *_ in got].count("retraction") == 1, (who, got)
        assert [k for k, *_ in got].count("comment") == 1, (who, got)
        assert not any(t == "RED" or (x or "").startswith("narrower") for _, _, t, x in got), got

    # AMBER to everyone cannot become AMBER to a list; a list cannot lose an entry;
    # widening (more recipients, AMBER to all, lower TLP) is fine.
    amb = str(uuid.uuid4())
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="amber all", tlp="AMBER", id=amb,
                                             created=t0)))
    r = _err(pub.publish_wait(ihclient.alert_body(a.ident, title="amber list", tlp="AMBER",
                                                  recipients=["telco"], id=amb, rev=2,
                                                  created=t0)), "bad-message")
    assert r["reason"] == NARROW
    red = str(uuid.uuid4())
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="red 1", tlp="RED",
                                             recipients=["telco", "power-c"], id=red,
                                             created=t0)))
    _err(pub.publish_wait(ihclient.alert_body(a.ident, title="red 2", tlp="RED",
                                              recipients=["telco"], id=red, rev=2,
                                              created=t0)), "bad-message")
    _err(pub.publish_wait(ihclient.alert_body(a.ident, title="amber 2", tlp="AMBER",
                                              recipients=["sector:telecom", "power-c"], id=red,
                                              rev=2, created=t0)), "bad-message")
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="amber+strict 2", tlp="AMBER+STRICT",
                                             recipients=["telco", "power-c", "bank-z"], id=red,
                                             rev=2, created=t0)))
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="amber 3", tlp="AMBER",
                                             recipients=["telco", "power-c", "bank-z",
                                                         "sector:energy"], id=red, rev=3,
                                             created=t0)))
    _ok(pub.publish_wait(ihclient.alert_body(a.ident, title="green 4", tlp="GREEN", id=red, rev=4,
                                             created=t0)))
    _err(pub.publish_wait(ihclient.alert_body(a.ident, title="amber 5", tlp="AMBER", id=red,
                                              rev=5, created=t0)), "bad-message")
    deploy.assert_broker_alive()


def test_hello_agent_and_error_reasons_cannot_inject_log_lines(deploy):
    a = deploy.add_member("r1", "org-x", role="reader")
    p = deploy.add_member("soc", "bank-a", role="publisher")
    deploy.start_broker()
    c = deploy.client(a)
    forged = "I broker: registry reloaded (SIGHUP): 0 members"
    rep = c.hello(agent="x)\n" + forged + "\x1b[2J")
    assert rep and rep["t"] == "error" and rep["code"] == "bad-frame", rep
    assert rep["reason"] == "agent: must be printable ASCII", rep
    for agent in ("caf\u00e9", "tab\there", "del\x7f"):
        rep = c.hello(agent=agent)
        assert rep and rep["t"] == "error" and "agent: must be printable ASCII" in rep["reason"], \
            (agent, rep)
    w = c.hello(agent="infohub-agent/0.1 (test; x86_64)")
    assert w and w["t"] == "welcome", w

    # a recipient with a line break: refused, and quoted escaped in the reason and the log
    pub = deploy.client(p)
    body = ihclient.alert_body(p.ident, tlp="AMBER", recipients=["x\n" + forged])
    rep = pub.publish_wait(body)
    assert rep and rep["t"] == "error" and rep["code"] == "bad-message", rep
    assert "\n" not in rep["reason"] and "\x1b" not in rep["reason"], rep
    body = ihclient.alert_body(p.ident, references=["https://a.example/\x7f\n" + forged])
    rep = pub.publish_wait(body)
    assert rep and rep["t"] == "error" and rep["code"] == "bad-message", rep
    assert "\n" not in rep["reason"] and "\\x7f\\x0a" in rep["reason"], rep
    time.sleep(0.3)
    log = deploy.broker.text()
    assert "\n" + forged not in log, log[-800:]
    assert "\x1b" not in log
    deploy.assert_broker_alive()


def test_unentitled_sender_cannot_probe_alerts(deploy):
    a = deploy.add_member("soc-a", "bank-a", role="publisher")
    b = deploy.add_member("soc-b", "bank-b", role="publisher")
    c = deploy.add_member("soc-c", "bank-c", role="publisher")
    deploy.start_broker()
    pa, pb, pc = deploy.client(a), deploy.client(b), deploy.client(c)
    red = ihclient.alert_body(a.ident, title="red to bank-b", tlp="RED", recipients=["bank-b"])
    _ok(pa.publish_wait(red))
    absent = str(uuid.uuid4())

    def answers(cl, ident, ref):
        out = []
        for body in (ihclient.comment_body(ident, ref, "x"),
                     ihclient.retraction_body(ident, ref, "x"),
                     ihclient.sighting_body(ident, ref, ihclient.ioc("ipv4", "192.0.2.1", "", True)),
                     ihclient.alert_body(ident, title="rev", id=ref, rev=2,
                                         created=red["created"], tlp="RED",
                                         recipients=["bank-b"])):
            r = cl.publish_wait(body)
            assert r and r["t"] == "error", r
            out.append((r["code"], r["reason"].replace(ref, "ID")))
        return out

    # bank-c may not see the RED alert: every answer is the one for an id that does not exist
    hidden = answers(pc, c.ident, red["id"])
    assert hidden == answers(pc, c.ident, absent), hidden
    assert all(code == "unknown-alert" for code, _ in hidden), hidden
    assert not any("bank-a" in why for _, why in hidden), hidden
    # reusing the hidden alert's id says it is taken, and nothing about whose it is
    r = _err(pc.publish_wait(ihclient.alert_body(c.ident, id=red["id"])), "duplicate-id")
    assert "bank-a" not in r["reason"] and "alert" not in r["reason"].replace(red["id"], ""), r
    # bank-b may see it: it may comment, and is told not-owner for a retraction or revision
    _ok(pb.publish_wait(ihclient.comment_body(b.ident, red["id"], "seen")))
    _err(pb.publish_wait(ihclient.retraction_body(b.ident, red["id"], "x")), "not-owner")
    _err(pb.publish_wait(ihclient.alert_body(b.ident, id=red["id"], rev=2, created=red["created"],
                                             tlp="RED", recipients=["bank-b"])), "not-owner")


def test_sessions_per_member_key_are_capped(deploy):
    r = deploy.add_member("evil", "org-z", role="reader")
    v = deploy.add_member("victim", "org-v", role="reader")
    p = deploy.add_member("soc", "bank-a", role="publisher")
    deploy.start_broker()
    pub = deploy.client(p)
    for i in range(20):
        _ok(pub.publish_wait(ihclient.alert_body(p.ident, title="a%d" % i)))
    victim = deploy.subscriber(v, cursor=0)
    sessions = []
    for i in range(8):
        sessions.append(deploy.subscriber(r, cursor=0, sectors=["zzz-none"]))
    for s in sessions:
        s.poll(0.05)
        assert not any(m.get("code") == "busy" for m in s.inbox), s.inbox
    # the 9th and 10th hellos of the same key, while its 8 sessions are alive, are refused
    # with `busy` before any replay starts: no welcome, and nobody else is ended
    replays = json.loads(pub.status()["json"])["replays"]
    for k in range(2):
        extra = deploy.client(r)
        w = extra.hello(cursor=0, sectors=["zzz-none"])
        assert w is not None and w.get("code") == "busy", w
        assert "all of them alive; this one was refused" in w["reason"], w
        assert not [m for m in extra.inbox if m.get("t") == "welcome"], extra.inbox
    assert json.loads(pub.status()["json"])["replays"] == replays, "a refused hello replayed"
    for s in sessions:
        s.poll(0.3)
        assert not any(m.get("code") == "busy" for m in s.inbox), s.inbox
    # a session silent for a heartbeat (its connection is probably dead) makes room: a new
    # hello ends it, and it is told `busy`
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:       # all but the oldest keep pinging
        for s in sessions[1:]:
            s.poll(0.05)
    sessions.append(deploy.subscriber(r, cursor=0, sectors=["zzz-none"]))
    assert sessions[0].poll_until(lambda: any(m.get("code") == "busy" for m in sessions[0].inbox), 2.0), \
        sessions[0].inbox
    busy = next(m for m in sessions[0].inbox if m.get("code") == "busy")
    assert "session:" in busy["reason"] and "silent for" in busy["reason"], busy
    st = pub.status()
    assert st, "no stats"
    assert json.loads(st["json"])["sessions"] == 9, st      # 8 of evil + the victim
    # the member's ended session is gone (ack/ping: no-session); the others still work
    sessions[0].ping()
    assert sessions[0].wait_inbox(lambda m: m.get("code") == "no-session", 3), sessions[0].inbox
    sessions[5].ping()
    assert sessions[5].wait_inbox(lambda m: m.get("t") == "pong", 3)
    # another member is not affected: it got everything, and still gets live alerts
    assert victim.wait_items(20)
    _ok(pub.publish_wait(ihclient.alert_body(p.ident, title="live")))
    assert victim.wait_items(21)
    wait_until(lambda: deploy.broker.text().count("busy") >= 2, what="busy logged")
    deploy.assert_broker_alive()
