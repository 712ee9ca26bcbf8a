"""A compromised broker (one holding the broker's CURVE secret key) against a real agent.

Every item it delivers is genuinely signed by a registered member, so signatures alone do
not help; the agent's own guards must:
- refuse a revision of org A's alert signed by org B (the content is not replaced), and a
  retraction of it by org B (the alert stays active), with an E line naming both orgs;
- judge a retraction that arrives before its alert when the alert comes (another org's is
  dropped, the publisher's own is applied);
- still accept the publisher's own later revision and retraction;
- reject an item whose member record is a reader's ("not a publisher");
- drop a seq far beyond its cursor (UINT64_MAX), which would otherwise wedge the agent's
  cursor above any honest broker's head.
"""
import json
import os
import re
import time
import uuid

import msgpack
import zmq

import ihclient
from conftest import wait_until


def _member_rec(dep, name):
    z = ihclient.zpl_load(os.path.join(dep.dir, "members", name + ".member"))
    return bytes.fromhex(z.require("member/record")), bytes.fromhex(z.require("member/signature"))


def _item(seq, member, rec, body):
    data = ihclient.pack(body)
    return [seq, data, ihclient.sign(member.ident.sign_sk, data), rec[0], rec[1]]


class FakeBroker:
    """A ROUTER with the real broker's CURVE key, on the real broker's endpoint."""

    def __init__(self, dep):
        pub, sec = ihclient.load_curve_secret(os.path.join(dep.dir, "broker.cert_secret"))
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(zmq.ROUTER)
        self.s.linger = 0
        self.s.curve_server = True
        self.s.curve_publickey = pub
        self.s.curve_secretkey = sec
        self.s.bind(dep.endpoint)
        self.rid = None
        self.acked = 0
        self.head = 0
        self.sent = {}          # seq -> item: what a new session is sent again, as a broker replays

    def pump(self, until=lambda fb: False, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until(self):
                return True
            if not self.s.poll(100):
                continue
            rid, frame = self.s.recv_multipart()
            m = msgpack.unpackb(frame, raw=False)
            if m["t"] == "hello":
                # A loaded machine can keep the test (and so its pongs) away for seconds:
                # the agent then reconnects, and gets again what it did not acknowledge.
                self.rid = rid
                self.s.send_multipart([rid, ihclient.pack({"v": 1, "t": "welcome", "head": self.head,
                                                           "member": "victim", "org": "telco",
                                                           "heartbeat": 5000})])
                again = [self.sent[q] for q in sorted(self.sent) if q > m.get("cursor", 0)]
                if again:
                    self.s.send_multipart([rid, ihclient.pack({"v": 1, "t": "deliver", "items": again})])
            elif m["t"] == "ping":
                self.s.send_multipart([rid, ihclient.pack({"v": 1, "t": "pong", "head": self.head})])
            elif m["t"] == "ack":
                self.acked = max(self.acked, m["seq"])
        return until(self)

    def deliver(self, items, expect_ack):
        self.head = max(self.head, max(i[0] for i in items))
        self.sent.update((i[0], i) for i in items)
        self.s.send_multipart([self.rid, ihclient.pack({"v": 1, "t": "deliver", "items": items})])
        assert self.pump(lambda fb: fb.acked >= expect_ack), \
            "the agent acknowledged %d, expected %d" % (self.acked, expect_ack)

    def close(self):
        self.s.close(0)
        self.ctx.term()


def _show(dep, member, aid):
    r = dep.agent_cmd(member, "show", aid, "--json")
    return json.loads(r.stdout)


def test_compromised_broker_cannot_rewrite_or_retract_another_orgs_alert(deploy):
    a = deploy.add_member("soc", "bank-a", role="publisher")
    b = deploy.add_member("evil", "bank-b", role="publisher")
    rd = deploy.add_member("rdr", "bank-c", role="reader")
    v = deploy.add_member("victim", "telco", role="reader")
    ra, rb, rr = _member_rec(deploy, "soc"), _member_rec(deploy, "evil"), _member_rec(deploy, "rdr")
    fb = FakeBroker(deploy)
    try:
        agent = deploy.start_agent(v)
        assert fb.pump(lambda f: f.rid is not None, 15), "the agent never said hello"

        # 1. org B's "revision" 99 of org A's alert, and org B's retraction of another one.
        aid, aid2 = str(uuid.uuid4()), str(uuid.uuid4())
        t0 = ihclient.now_ms()
        orig = ihclient.alert_body(a.ident, title="Bank A: block 203.0.113.9", tlp="GREEN", id=aid,
                                   created=t0, iocs=[ihclient.ioc("ipv4", "203.0.113.9")])
        forged = ihclient.alert_body(b.ident, title="Bank A says: block 1.1.1.1", tlp="GREEN", id=aid,
                                     rev=99, created=t0, iocs=[ihclient.ioc("ipv4", "1.1.1.1")])
        orig2 = ihclient.alert_body(a.ident, title="Bank A second", tlp="GREEN", id=aid2,
                                    iocs=[ihclient.ioc("domain", "evil.example")])
        fb.deliver([_item(1, a, ra, orig), _item(2, b, rb, forged), _item(3, a, ra, orig2),
                    _item(4, b, rb, ihclient.retraction_body(b.ident, aid2, "lol")),
                    _item(5, b, rb, ihclient.retraction_body(b.ident, aid2, "iocs too",
                                                             iocs=[ihclient.ioc("domain", "evil.example")]))],
                   expect_ack=5)
        shown = _show(deploy, v, aid)
        assert shown["publisher"]["org"] == "bank-a" and shown["revision"] == 1, shown
        assert "1.1.1.1" not in json.dumps(shown)
        shown2 = _show(deploy, v, aid2)
        assert shown2["status"] == "active", shown2
        assert not any(i.get("retracted") for i in shown2["iocs"]), shown2
        r = deploy.agent_cmd(v, "search", "1.1.1.1", "--json", check=False)
        assert aid not in r.stdout.decode()
        log = agent.text()
        assert re.search(r"E .*revision 99 of alert %s from org 'bank-b' refused: the alert was "
                         r"published by org 'bank-a'" % aid, log), log
        assert re.search(r"E .*retraction of alert %s from org 'bank-b' refused: the alert was "
                         r"published by org 'bank-a'" % aid2, log), log

        # 2. Retractions before their alert: org B's is dropped, org A's own is applied.
        aid3, aid4 = str(uuid.uuid4()), str(uuid.uuid4())
        fb.deliver([_item(6, b, rb, ihclient.retraction_body(b.ident, aid3, "early forged")),
                    _item(7, a, ra, ihclient.retraction_body(a.ident, aid4, "early genuine")),
                    _item(8, a, ra, ihclient.alert_body(a.ident, title="Bank A third", id=aid3)),
                    _item(9, a, ra, ihclient.alert_body(a.ident, title="Bank A fourth", id=aid4))],
                   expect_ack=9)
        assert _show(deploy, v, aid3)["status"] == "active"
        assert _show(deploy, v, aid4)["status"] == "retracted"
        assert re.search(r"E .*dropped 1 retraction of alert %s .*from org 'bank-b'.*publisher is "
                         r"org 'bank-a'" % aid3, agent.text()), agent.text()

        # 3. The publisher's own revision and retraction still work.
        rev2 = ihclient.alert_body(a.ident, title="Bank A: block 203.0.113.10", tlp="GREEN", id=aid,
                                   rev=2, created=t0, iocs=[ihclient.ioc("ipv4", "203.0.113.10")])
        fb.deliver([_item(10, a, ra, rev2),
                    _item(11, a, ra, ihclient.retraction_body(a.ident, aid2, "ours"))], expect_ack=11)
        shown = _show(deploy, v, aid)
        assert shown["revision"] == 2 and "203.0.113.10" in json.dumps(shown), shown
        assert _show(deploy, v, aid2)["status"] == "retracted"

        # 4. A reader's record on a message: rejected at verification.
        aid5 = str(uuid.uuid4())
        fb.deliver([_item(12, rd, rr, ihclient.alert_body(rd.ident, title="from a reader", id=aid5))],
                   expect_ack=12)
        assert deploy.agent_cmd(v, "show", aid5, "--json", check=False).returncode != 0
        assert re.search(r"E .*rejected seq 12 from rdr@bank-c: member record: rdr is not a publisher",
                         agent.text()), agent.text()

        # 5. A seq of UINT64_MAX is dropped and does not move the cursor; the next honest
        #    seq is stored.
        aid6 = str(uuid.uuid4())
        fb.s.send_multipart([fb.rid, ihclient.pack({"v": 1, "t": "deliver", "items": [
            _item(2 ** 64 - 1, a, ra, ihclient.alert_body(a.ident, title="seq bomb", id=str(uuid.uuid4())))]})])
        fb.pump(timeout=1.5)
        fb.deliver([_item(13, a, ra, ihclient.alert_body(a.ident, title="after the bomb", id=aid6))],
                   expect_ack=13)
        assert fb.acked == 13
        st = json.loads(deploy.agent_cmd(v, "status", "--json").stdout)
        assert st["cursor"] == 13, st
        assert _show(deploy, v, aid6)["title"] == "after the bomb"
        assert re.search(r"E .*dropped seq 18446744073709551615", agent.text()), agent.text()
        assert agent.alive()
    finally:
        fb.close()
