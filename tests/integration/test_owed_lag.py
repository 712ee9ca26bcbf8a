"""The lag counts only what a member is owed (issue 10, item 4b).

The broker numbers every message in one sequence, but a member receives only what it is
entitled to: a healthy agent that stored everything for it is not behind, however much
traffic went to others. welcome and pong say `owed` (PROTOCOL.md 4.1, 4.4): the highest
journaled seq this member is entitled to; `status` shows lag = owed - cursor, and the
gateway's /metrics and /healthz the same. The broker keeps what it owes each audience
with the journal, so a restart changes nothing.
"""
import json
import re

import ihclient
from conftest import wait_until
from gwutil import GatewayEnv


def status(deploy, member):
    r = deploy.agent_cmd(member, "status", "--json", check=False)
    return json.loads(r.stdout.decode())


def red_to(c, ident, org, n, title="red"):
    seqs = []
    for i in range(n):
        r = c.publish_wait(ihclient.alert_body(ident, title="%s %d" % (title, i), tlp="RED",
                                               recipients=[org]))
        assert r["t"] == "ok", r
        seqs.append(r["seq"])
    return seqs


def test_owed_in_welcome_and_pong_and_status(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    fin = deploy.add_member("desk", "bank-b", sector="finance")
    tel = deploy.add_member("noc", "telco-c", sector="telecom")
    deploy.start_broker()
    c = deploy.client(pub)
    green = c.publish_wait(ihclient.alert_body(pub.ident, title="for all", tlp="GREEN"))["seq"]
    reds = red_to(c, pub.ident, "bank-b", 5)
    amber = c.publish_wait(ihclient.alert_body(pub.ident, title="finance", tlp="AMBER",
                                               recipients=["sector:finance"]))["seq"]
    head = amber

    # the wire: welcome and pong say what each member is owed
    s2 = deploy.client(tel)
    w = s2.hello(cursor=0)
    assert w["t"] == "welcome" and w["head"] == head and w["owed"] == green, w
    s2.ping()
    p = s2.wait_inbox(lambda m: m.get("t") == "pong", 3.0)
    assert p["head"] == head and p["owed"] == green, p
    f = deploy.client(fin)
    w = f.hello(cursor=0)
    assert w["head"] == head and w["owed"] == amber, w
    pa = deploy.client(pub)
    assert pa.hello(cursor=0)["owed"] == amber         # the publisher's org gets its own

    # status: a healthy agent that stored all it is owed has no lag
    at = deploy.start_agent(tel)
    st = wait_until(lambda: (lambda x: x if x["connected"] and x["cursor"] == green else None)(
        status(deploy, tel)), 15, what="telco agent caught up")
    assert st["head"] == head and st["owed"] == green and st["lag"] == 0, st
    r = deploy.agent_cmd(tel, "status")
    assert "(%d for this member, lag 0)" % green in r.stdout.decode(), r.stdout

    # more RED to bank-b: telco's lag stays 0, its head moves on
    more = red_to(c, pub.ident, "bank-b", 3, "more")
    st = wait_until(lambda: (lambda x: x if x["head"] == more[-1] else None)(status(deploy, tel)),
                    10, what="head reported after a ping")
    assert st["lag"] == 0 and st["owed"] == green and st["cursor"] == green, st

    # a message for it while it is away: owed moves past its cursor (lag = owed - cursor,
    # a distance in seqs, 0 only when the store holds everything the broker has for it)
    at.stop()
    g2 = c.publish_wait(ihclient.alert_body(pub.ident, title="again for all", tlp="GREEN"))["seq"]
    red_to(c, pub.ident, "bank-b", 2, "late")
    s3 = deploy.client(tel)
    w = s3.hello(cursor=green)
    assert w["owed"] == g2 and g2 > green, w
    s3.close()

    # a restart of the broker: the same answers (kept with the journal)
    deploy.restart_broker()
    s4 = deploy.client(tel)
    w = s4.hello(cursor=green)
    assert w["owed"] == g2 and w["head"] == g2 + 2, w
    f2 = deploy.client(fin)
    assert f2.hello(cursor=0)["owed"] == g2 + 2
    deploy.assert_broker_alive()


def test_gateway_lag_counts_only_clear(deploy):
    env = GatewayEnv(deploy)
    aid = env.publish(title="public", tlp="CLEAR", category="other")
    env.start_gateway()
    env.wait_visible(aid)
    c = env.client(env.pub)
    for i in range(4):
        r = c.publish_wait(ihclient.alert_body(env.pub.ident, title="members %d" % i, tlp="AMBER"))
        assert r["t"] == "ok", r
    head = r["seq"]

    def reported():
        h = env.get_json("/healthz")
        return h if h["head"] == head else None
    h = wait_until(reported, 10, what="gateway saw the head")
    assert h["lag"] == 0 and h["cursor"] < head, h
    text = env.get("/metrics")[2].decode()
    assert re.search(r"^ih_gateway_lag 0$", text, re.M), text
    assert re.search(r"^ih_gateway_broker_head %d$" % head, text, re.M), text
    assert re.search(r"^ih_gateway_broker_owed 1$", text, re.M), text
    env.assert_alive()
