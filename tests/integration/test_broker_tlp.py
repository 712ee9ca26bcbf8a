"""Invariant 2: TLP 2.0 enforced by the broker on every delivery, live and replay.

Publishers x recipient lists x levels; every subscriber's received set is compared with the
set computed here, independently of the broker, from docs/ARCHITECTURE.md invariant 2 / PROTOCOL.md section 10."""
import time

import pytest

import ihclient
from conftest import wait_until

MEMBERS = [  # name, org, sector, role
    ("pub-a", "bank-a", "finance", "publisher"),
    ("read-a", "bank-a", "finance", "reader"),
    ("pub-b", "bank-b", "finance", "publisher"),
    ("read-b", "bank-b", "finance", "reader"),
    ("pub-c", "power-c", "energy", "publisher"),
    ("read-c", "power-c", "energy", "reader"),
    ("read-d", "hosp-d", "health", "reader"),
    ("read-e", "telco-e", None, "reader"),
]

# (publisher, tlp, recipients)
CASES = [
    ("pub-a", "CLEAR", []),
    ("pub-a", "GREEN", []),
    ("pub-a", "AMBER", []),
    ("pub-a", "AMBER", ["bank-b"]),
    ("pub-a", "AMBER", ["power-c"]),
    ("pub-a", "AMBER", ["sector:energy"]),
    ("pub-a", "AMBER", ["sector:finance", "hosp-d"]),
    ("pub-a", "AMBER", ["sector:health", "telco-e"]),
    ("pub-a", "AMBER+STRICT", ["bank-b"]),
    ("pub-a", "AMBER+STRICT", ["power-c", "hosp-d"]),
    ("pub-a", "AMBER+STRICT", []),
    ("pub-a", "RED", ["bank-b"]),
    ("pub-a", "RED", ["telco-e"]),
    ("pub-a", "RED", []),
    ("pub-c", "CLEAR", []),
    ("pub-c", "GREEN", []),
    ("pub-c", "AMBER", ["sector:finance"]),
    ("pub-c", "AMBER", ["bank-a"]),
    ("pub-c", "AMBER+STRICT", ["hosp-d"]),
    ("pub-c", "RED", ["bank-a", "bank-b"]),
    ("pub-c", "RED", ["nonexistent-org"]),
    ("pub-b", "RED", ["power-c"]),
    ("pub-b", "AMBER", ["sector:health"]),
]


def entitled(m, tlp, pub_org, recipients):
    """Written from docs/ARCHITECTURE.md invariant 2, independently of the broker's code."""
    if m.gateway:
        return tlp == "CLEAR"
    if tlp in ("CLEAR", "GREEN"):
        return True
    if m.org == pub_org:
        return True
    if tlp == "AMBER":
        if not recipients:
            return True
        return m.org in recipients or (m.sector != "" and "sector:" + m.sector in recipients)
    return m.org in recipients  # AMBER+STRICT, RED


@pytest.fixture
def world(deploy):
    for name, org, sector, role in MEMBERS:
        deploy.add_member(name, org, sector=sector, role=role)
    deploy.start_broker()
    subs = list(deploy.members.values()) + [deploy.gateway]
    return deploy, subs


def _publish_matrix(deploy):
    """Publishes CASES, plus comments that inherit the entitlement of their alert.
    Returns {message id: (title, set of subscriber names expected)}."""
    pubs = {n: deploy.client(deploy.members[n]) for n in ("pub-a", "pub-b", "pub-c")}
    expected = {}
    subs = list(deploy.members.values()) + [deploy.gateway]
    alert_of = {}
    for i, (pn, tlp, rcpt) in enumerate(CASES):
        pm = deploy.members[pn]
        title = "case %d %s %s %s" % (i, pn, tlp, ",".join(rcpt) or "-")
        body = ihclient.alert_body(pm.ident, title=title, tlp=tlp, recipients=rcpt)
        rep = pubs[pn].publish_wait(body)
        assert rep is not None and rep["t"] == "ok", "%s: %r" % (title, rep)
        assert rep["id"] == body["id"]
        exp = {m.name for m in subs if entitled(m, tlp, pm.org, rcpt)}
        expected[body["id"]] = (title, exp)
        alert_of[(pn, tlp, tuple(rcpt))] = (body["id"], exp)

    # A comment has the entitlement of its alert, whoever (entitled) writes it.
    red_id, red_exp = alert_of[("pub-a", "RED", ("bank-b",))]
    b = ihclient.comment_body(deploy.members["pub-b"].ident, red_id, text="seen it too")
    rep = pubs["pub-b"].publish_wait(b)
    assert rep is not None and rep["t"] == "ok", rep
    expected[b["id"]] = ("comment on RED bank-b", red_exp)
    amb_id, amb_exp = alert_of[("pub-a", "AMBER", ("sector:energy",))]
    b = ihclient.comment_body(deploy.members["pub-c"].ident, amb_id, text="energy comment")
    rep = pubs["pub-c"].publish_wait(b)
    assert rep is not None and rep["t"] == "ok", rep
    expected[b["id"]] = ("comment on AMBER sector:energy", amb_exp)
    # ... and one who is not entitled to the alert cannot comment on it; it is told the
    # same as for an alert that does not exist, so it cannot probe ids it may not see.
    b = ihclient.comment_body(deploy.members["pub-c"].ident, red_id, text="not mine to see")
    rep = pubs["pub-c"].publish_wait(b)
    assert rep is not None and rep["t"] == "error" and rep["code"] == "unknown-alert", rep
    # A comment on a CLEAR alert is CLEAR: the gateway gets it too.
    clr_id, clr_exp = alert_of[("pub-a", "CLEAR", ())]
    b = ihclient.comment_body(deploy.members["pub-b"].ident, clr_id, text="public comment")
    rep = pubs["pub-b"].publish_wait(b)
    assert rep is not None and rep["t"] == "ok", rep
    expected[b["id"]] = ("comment on CLEAR", clr_exp)
    # Sightings: their own tlp (no recipients), limited to the alert's entitlement if any.
    seen = ihclient.ioc("ipv4", "198.51.100.7", "", True)
    sightings = [
        ("pub-b", red_id, "GREEN", red_exp, "GREEN sighting of RED bank-b"),
        ("pub-c", "", "CLEAR", {m.name for m in subs}, "CLEAR sighting, no alert"),
        ("pub-c", "", "AMBER", {m.name for m in subs if not m.gateway}, "AMBER sighting"),
        ("pub-b", clr_id, "GREEN", {m.name for m in subs if not m.gateway},
         "GREEN sighting of CLEAR"),
        ("pub-c", "", "RED", {m.name for m in subs if m.org == "power-c"}, "RED sighting"),
    ]
    for pn, ref, tlp, exp, what in sightings:
        b = ihclient.sighting_body(deploy.members[pn].ident, ref, seen, tlp=tlp, count=3)
        rep = pubs[pn].publish_wait(b)
        assert rep is not None and rep["t"] == "ok", (what, rep)
        expected[b["id"]] = (what, exp)
    b = ihclient.sighting_body(deploy.members["pub-c"].ident, red_id, seen, tlp="GREEN")
    rep = pubs["pub-c"].publish_wait(b)
    assert rep is not None and rep["t"] == "error" and rep["code"] == "unknown-alert", \
        "sighting of an alert the sender may not see: %r" % (rep,)
    # A retraction of an AMBER+STRICT alert goes where the alert went.
    st_id, st_exp = alert_of[("pub-a", "AMBER+STRICT", ("bank-b",))]
    b = ihclient.retraction_body(deploy.members["pub-a"].ident, st_id, text="false positive")
    rep = pubs["pub-a"].publish_wait(b)
    assert rep is not None and rep["t"] == "ok", rep
    expected[b["id"]] = ("retraction of AMBER+STRICT bank-b", st_exp)
    return expected


def _check(subs, clients, expected, phase):
    errors = []
    for m in subs:
        c = clients[m.name]
        got = c.ids()
        want = {i for i, (_, exp) in expected.items() if m.name in exp}
        extra = [expected.get(i, ("?", None))[0] for i in set(got) - want]
        missing = [expected[i][0] for i in want - set(got)]
        if extra or missing or len(got) != len(set(got)) or c.bad_items:
            errors.append("%s %s: extra %r, missing %r, duplicates %d, bad items %r" % (
                phase, m.name, extra, missing, len(got) - len(set(got)), c.bad_items))
        seqs = c.seqs()
        if seqs != sorted(set(seqs)):
            errors.append("%s %s: seqs not strictly increasing: %r" % (phase, m.name, seqs))
    assert not errors, "\n".join(errors)


def test_tlp_matrix_live_and_replay(world):
    deploy, subs = world
    live = {m.name: deploy.subscriber(m) for m in subs}
    expected = _publish_matrix(deploy)
    # Sanity of the expectation itself: every level reaches someone and excludes someone.
    assert any(len(e) == len(subs) for _, e in expected.values())
    assert any(e == {"pub-a", "read-a"} for _, e in expected.values())

    for m in subs:
        n = sum(1 for _, e in expected.values() if m.name in e)
        live[m.name].wait_items(n, 5.0)
    for c in live.values():
        c.drain(0.3)
    _check(subs, live, expected, "live")
    gw = live["gateway"]
    gw_got = [(b["k"], b.get("tlp") or expected[b["id"]][0]) for _, b, _, _ in gw.items]
    assert gw_got == [("alert", "CLEAR"), ("alert", "CLEAR"), ("comment", "comment on CLEAR"),
                      ("sighting", "CLEAR")], "gateway received %r" % gw_got

    replay = {m.name: deploy.subscriber(m) for m in subs}
    for m in subs:
        n = sum(1 for _, e in expected.values() if m.name in e)
        replay[m.name].wait_items(n, 5.0)
    for c in replay.values():
        c.drain(0.3)
    _check(subs, replay, expected, "replay")
    for m in subs:  # live and replay agree exactly, seq for seq
        assert live[m.name].seqs() == replay[m.name].seqs(), m.name

    # Replay after a broker restart enforces the same.
    deploy.restart_broker()
    again = {m.name: deploy.subscriber(m) for m in subs}
    for m in subs:
        n = sum(1 for _, e in expected.values() if m.name in e)
        again[m.name].wait_items(n, 5.0)
    for c in again.values():
        c.drain(0.3)
    _check(subs, again, expected, "replay after restart")


def _alert_ids(rows):
    return [r["id"] for r in rows if r.get("kind", "alert") == "alert"]


def test_tlp_matrix_agents(world):
    """The same matrix, read from real agents' stores (infohub-agent run + list --json)."""
    deploy, subs = world
    for name in ("read-a", "read-b", "read-c", "read-e"):
        deploy.start_agent(deploy.members[name])
    time.sleep(0.5)
    expected = _publish_matrix(deploy)
    alerts = {i: v for i, v in expected.items() if v[0].startswith("case ")}
    for name in ("read-a", "read-b", "read-c", "read-e"):
        m = deploy.members[name]
        want = {i for i, (_, exp) in alerts.items() if name in exp}

        def have():
            ids = _alert_ids(deploy.agent_list(m))
            return ids if set(ids) >= want else None
        ids = wait_until(have, 20.0, interval=0.3, what="%s's store to hold its %d alerts" %
                         (name, len(want)))
        time.sleep(0.3)
        ids = _alert_ids(deploy.agent_list(m))
        extra = [expected.get(i, ("?",))[0] for i in set(ids) - want]
        assert not extra, "%s stored alerts it is not entitled to: %r" % (name, extra)
        assert len(ids) == len(set(ids)), "%s stored duplicates" % name


def test_narrowing_never_widens(world):
    deploy, subs = world
    a, c = deploy.members["pub-a"], deploy.members["pub-c"]
    rc = deploy.members["read-c"]
    narrow = deploy.subscriber(rc, categories=["phishing"], min_severity="high")
    sect = deploy.subscriber(deploy.members["read-d"], sectors=["energy"])
    plain = deploy.subscriber(rc)
    pa, pc = deploy.client(a), deploy.client(c)
    sent = [
        (pa, a, dict(title="phish high", category="phishing", severity="high", sectors=["energy"])),
        (pa, a, dict(title="phish low", category="phishing", severity="low", sectors=["energy"])),
        (pa, a, dict(title="malware crit", category="malware", severity="critical")),
        (pa, a, dict(title="phish crit RED finance-only", category="phishing", severity="critical",
                     tlp="RED", recipients=["bank-b"], sectors=["energy"])),
        (pc, c, dict(title="phish critical energy", category="phishing", severity="critical",
                     sectors=["energy"])),
        (pc, c, dict(title="ddos energy", category="ddos", severity="high", sectors=["energy"])),
        (pc, c, dict(title="phish finance", category="phishing", severity="high",
                     sectors=["finance"])),
    ]
    for cl, m, kw in sent:
        rep = cl.publish_wait(ihclient.alert_body(m.ident, **kw))
        assert rep is not None and rep["t"] == "ok", (kw["title"], rep)
    plain.wait_items(6, 5.0)
    for cl in (narrow, sect, plain):
        cl.drain(0.5)
    titles = lambda cl: sorted(b["title"] for _, b, _, _ in cl.items)
    want_narrow = sorted(["phish high", "phish critical energy", "phish finance"])
    want_sect = sorted(["phish high", "phish low", "phish critical energy", "ddos energy"])
    assert titles(narrow) == want_narrow
    assert titles(sect) == want_sect
    assert titles(plain) == sorted(t for _, _, kw in sent for t in [kw["title"]]
                                   if "RED" not in t)
    # The same narrowing applies on replay.
    narrow2 = deploy.subscriber(rc, categories=["phishing"], min_severity="high")
    sect2 = deploy.subscriber(deploy.members["read-d"], sectors=["energy"])
    narrow2.wait_items(3, 5.0)
    sect2.wait_items(4, 5.0)
    narrow2.drain(0.3)
    sect2.drain(0.1)
    assert titles(narrow2) == want_narrow
    assert titles(sect2) == want_sect
