"""Invariants 1 and 7: only registered, unrevoked keys connect; revocation takes effect
without a restart, within 1 second, for new and open connections alike."""
import json
import signal
import time

import pytest
import zmq

import ihclient


def _members(deploy):
    pub = deploy.add_member("soc-a", "bank-a", sector="finance", role="publisher")
    rd = deploy.add_member("reader-b", "bank-b", sector="finance")
    return pub, rd


def _head(client):
    st = client.status()
    assert st is not None, "no stats answer to status"
    return json.loads(st["json"])["head"]


def test_unregistered_key_gets_nothing(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()

    stranger = ihclient.Identity.stranger(pub.ident)
    s = deploy.client(stranger, monitor=True)
    s.hello(cursor=0, wait=False)
    s.ping()
    s.send("status")
    s.publish(ihclient.alert_body(stranger, title="from a stranger"))

    # Someone holding a registered member's PUBLIC key but not its secret key.
    fake = ihclient.Identity.stranger(pub.ident)
    fake.curve_public = rd.ident.curve_public
    f = deploy.client(fake, monitor=True)
    f.hello(cursor=0, wait=False)
    f.send("status")

    # No CURVE at all (NULL mechanism): nothing either.
    plain = deploy.ctx.socket(zmq.DEALER)
    plain.linger = 0
    plain.connect(deploy.endpoint)
    plain.send(ihclient.pack({"v": 1, "t": "hello", "cursor": 0, "categories": [], "sectors": [],
                              "min_severity": "", "window": 10, "agent": "plain"}))
    plain.send(ihclient.pack({"v": 1, "t": "status"}))

    good = deploy.client(rd, monitor=True)
    w = good.hello(cursor=0)
    assert w is not None and w["t"] == "welcome", w
    assert (w["member"], w["org"]) == ("reader-b", "bank-b")
    p = deploy.client(pub)
    rep = p.publish_wait(ihclient.alert_body(pub.ident, title="visible"))
    assert rep is not None and rep["t"] == "ok", rep
    assert good.wait_items(1, 5.0), "registered reader got no delivery"

    s.drain(1.5)
    f.drain(0.2)
    assert s.received == 0, "unregistered key received %r" % (s.inbox + s.items,)
    assert f.received == 0, "impersonator received %r" % (f.inbox + f.items,)
    got_plain = plain.poll(100, zmq.POLLIN)
    plain.close(0)
    assert not got_plain, "a plain-text (NULL mechanism) client received something"
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in s.monitor_events(), \
        "the broker completed a CURVE handshake with an unregistered key"
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in f.monitor_events()
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED in good.monitor_events()

    # The stranger's publish changed nothing: only the one alert is journaled and delivered.
    good.drain(0.5)
    assert [b["title"] for _, b, _, _ in good.items] == ["visible"]
    assert _head(good) == rep["seq"] == 1
    deploy.assert_broker_alive()


@pytest.mark.parametrize("how", ["sighup", "poll"])
def test_revoked_member_new_connection_gets_nothing(deploy, how):
    pub, rd = _members(deploy)
    victim = deploy.add_member("reader-c", "power-c", sector="energy")
    vpub = deploy.add_member("soc-c", "power-c", sector="energy", role="publisher")
    deploy.start_broker()

    # Both work before the revocation (so the checks below can fail).
    for m in (victim, vpub):
        c = deploy.client(m)
        w = c.hello(cursor=0)
        assert w is not None and w["t"] == "welcome", (m, w)
        c.bye()
        c.close()

    deploy.revoke(victim.name)
    deploy.revoke(vpub.name)
    if how == "sighup":
        deploy.broker.signal(signal.SIGHUP)
    time.sleep(1.1)

    v = deploy.client(victim, monitor=True)
    v.hello(cursor=0, wait=False)
    v.send("status")
    vp = deploy.client(vpub, monitor=True)
    vp.publish(ihclient.alert_body(vpub.ident, title="from a revoked publisher"))
    vp.send("status")

    ctl = deploy.subscriber(rd)
    p = deploy.client(pub)
    rep = p.publish_wait(ihclient.alert_body(pub.ident, title="after revocation"))
    assert rep is not None and rep["t"] == "ok", rep
    assert ctl.wait_items(1, 5.0), "control reader got no delivery"

    v.drain(1.5)
    vp.drain(0.2)
    assert v.received == 0, "revoked member received %r" % (v.inbox + v.items,)
    assert vp.received == 0, "revoked publisher received %r" % (vp.inbox,)
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in v.monitor_events(), \
        "handshake with a revoked key succeeded"
    ctl.drain(0.5)
    assert [b["title"] for _, b, _, _ in ctl.items] == ["after revocation"]
    deploy.assert_broker_alive()


@pytest.mark.parametrize("how", ["sighup", "poll"])
def test_revoked_while_connected_gets_nothing_more(deploy, how):
    pub, rd = _members(deploy)
    victim = deploy.add_member("reader-c", "power-c", sector="energy")
    vpub = deploy.add_member("soc-c", "power-c", sector="energy", role="publisher")
    deploy.start_broker()

    sv = deploy.subscriber(victim)
    sc = deploy.subscriber(rd)
    p = deploy.client(pub)
    vp = deploy.client(vpub)
    rep = p.publish_wait(ihclient.alert_body(pub.ident, title="before 1"))
    assert rep is not None and rep["t"] == "ok", rep
    rep = vp.publish_wait(ihclient.alert_body(vpub.ident, title="before 2"))
    assert rep is not None and rep["t"] == "ok", rep
    assert sv.wait_items(2, 5.0) and sc.wait_items(2, 5.0), "no delivery before revocation"

    deploy.revoke(victim.name)
    deploy.revoke(vpub.name)
    t_change = time.monotonic()
    if how == "sighup":
        deploy.broker.signal(signal.SIGHUP)

    # Within the first second anything may still arrive; after it, nothing.
    sv.drain(max(0.0, t_change + 1.0 - time.monotonic()))
    n_victim = len(sv.items)
    for i in range(5):
        rep = p.publish_wait(ihclient.alert_body(pub.ident, title="after %d" % i))
        assert rep is not None and rep["t"] == "ok", rep
    assert sc.wait_items(7, 5.0), "control reader stopped receiving"

    sv.ping()  # a revoked member's ping gets no pong
    rep = vp.publish_wait(ihclient.alert_body(vpub.ident, title="revoked publisher"), timeout=1.5)
    assert rep is None or (rep["t"] == "error" and rep["code"] in ("revoked", "not-registered")), \
        "revoked publisher's publish answered %r" % (rep,)
    sv.drain(1.0)
    late = [b["title"] for _, b, _, _ in sv.items[n_victim:]]
    assert late == [], "revoked member still received %r more than 1 s after revocation" % late
    assert not [m for m in sv.inbox if m.get("t") == "pong"], "revoked member got a pong"

    sc.drain(0.5)
    titles = [b["title"] for _, b, _, _ in sc.items]
    assert "revoked publisher" not in titles, "an alert from a revoked publisher was delivered"
    assert titles == ["before 1", "before 2"] + ["after %d" % i for i in range(5)]

    # PROTOCOL.md 2.3: the revoked member is sent an error with code "revoked".
    codes = [m.get("code") for m in sv.inbox if m.get("t") == "error"]
    assert "revoked" in codes, "errors sent to the revoked member: %r" % codes
    deploy.assert_broker_alive()
