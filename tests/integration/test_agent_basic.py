"""infohub-agent with real processes on loopback: run, publish, list, show, status.

Covers issue 3 item 4 (the agent enough to test end to end) and the store behaviour it
relies on: revisions, replay after a restart with each alert once, reconnect after a
broker crash, verification of every delivered item (with a fake broker that forges), and
a full disk that stops the cursor and resumes without loss.
"""
import json
import os
import re
import resource
import signal
import time

import msgpack
import nacl.signing
import pytest
import zmq

import ihclient
from conftest import AGENT, run, wait_until


def alert_json(title="Phishing wave", **kw):
    d = {"title": title, "summary": "Look *out*.", "tlp": "GREEN", "severity": "high",
         "category": "phishing", "sectors": ["finance"],
         "iocs": [{"type": "domain", "value": "evil[.]example"},
                  {"type": "ipv4", "value": "192.0.2.1", "comment": "c2"},
                  {"type": "url", "value": "hxxp://evil.example/login"}]}
    d.update(kw)
    return json.dumps(d)


def publish(deploy, member, text, check=True):
    r = deploy.agent_cmd(member, "publish", "-", input=text.encode(), check=check)
    return r


def publish_id(deploy, member, text):
    r = publish(deploy, member, text)
    out = r.stdout.decode().strip()
    assert len(out) == 36, "publish printed %r" % out
    return out


def status(deploy, member):
    r = deploy.agent_cmd(member, "status", "--json", check=False)
    assert r.returncode in (0, 1, 3), r.stderr.decode()
    st = json.loads(r.stdout.decode())
    assert (r.returncode != 3) == st["running"], st     # 3 when not running (LSB)
    # 1 when the running daemon says its store is damaged or refuses writes (a full disk)
    bad = st.get("storage", {}).get("state", "ok") != "ok"
    assert (r.returncode == 1) == (st["running"] and bad), st
    return st


def wait_alerts(deploy, member, n, timeout=15.0):
    return wait_until(lambda: (lambda l: l if len(l) >= n else None)(deploy.agent_list(member)),
                      timeout, what="%d alerts in %r's store" % (n, member))


@pytest.fixture
def pair(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("analyst", "bank-b", sector="energy", role="reader")
    return deploy, pub, rdr


# ---- command line -------------------------------------------------------------------------

def test_help_and_errors(pair):
    deploy, pub, rdr = pair
    for args in (["--help"], ["run", "--help"], ["publish", "--help"], ["list", "--help"],
                 ["show", "--help"], ["status", "--help"]):
        r = run([AGENT] + args)
        assert r.returncode == 0 and b"usage" in r.stdout, args
    r = run([AGENT, "-c", pub.cfg, "frobnicate"], check=False)
    assert r.returncode != 0 and r.stderr.decode().count("\n") == 1
    assert b"unknown command 'frobnicate'" in r.stderr
    r = run([AGENT, "list"], check=False)
    assert r.returncode != 0 and b"-c AGENTDIR/agent.cfg is required" in r.stderr
    r = run([AGENT, "-c", "/nonexistent/agent.cfg", "status"], check=False)
    assert r.returncode != 0 and b"/nonexistent/agent.cfg" in r.stderr
    # a store that does not exist yet is empty, not an error
    assert deploy.agent_list(pub) == []
    assert status(deploy, pub)["cursor"] == 0
    r = deploy.agent_cmd(pub, "show", "00000000-0000-4000-8000-000000000000", check=False)
    assert r.returncode == 1 and b"no alert" in r.stderr
    r = deploy.agent_cmd(pub, "show", "not-a-uuid", check=False)
    assert r.returncode == 1 and b"not an alert id" in r.stderr
    # bad input to publish names the field, on one line, before anything is sent
    r = publish(deploy, pub, alert_json(tlp="PURPLE"), check=False)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and "tlp" in err, err
    r = publish(deploy, pub, '{"title": "x"', check=False)
    assert r.returncode == 1 and r.stderr.decode().startswith("infohub-agent: stdin:")
    r = deploy.agent_cmd(pub, "publish", "/nonexistent.json", check=False)
    assert r.returncode == 1 and b"/nonexistent.json" in r.stderr


# ---- run + publish ----------------------------------------------------------------------------

def test_publish_receive_revise(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    pa = deploy.start_agent(pub)
    ra = deploy.start_agent(rdr, extra=["-v"])     # -v: a debug line per message too
    aid = publish_id(deploy, pub, alert_json())
    got = wait_alerts(deploy, rdr, 1)
    a = got[0]
    assert a["id"] == aid and a["revision"] == 1 and a["status"] == "active"
    assert a["seq"] >= 1 and a["revisions"] == 1
    assert a["publisher"] == {"org": "bank-a", "member": "soc"}
    assert [i["value"] for i in a["iocs"]] == ["evil.example", "192.0.2.1", "http://evil.example/login"]
    assert a["iocs"][1]["comment"] == "c2"
    # the publisher's own agent has it too (its org is entitled)
    wait_alerts(deploy, pub, 1)
    # show prints the same alert
    shown = json.loads(deploy.agent_cmd(rdr, "show", aid, "--json").stdout.decode())
    assert shown == a
    # a new revision: "id" in the JSON, revision from the store, created kept
    wait_until(lambda: status(deploy, pub)["cursor"] >= a["seq"], what="publisher stored rev 1")
    aid2 = publish_id(deploy, pub, alert_json(title="Phishing wave (update)", id=aid))
    assert aid2 == aid
    got = wait_until(lambda: (lambda l: l if l and l[0]["revision"] == 2 else None)(
        deploy.agent_list(rdr)), what="revision 2")
    assert len(got) == 1
    b = got[0]
    assert b["title"] == "Phishing wave (update)" and b["revisions"] == 2
    assert b["created"] == a["created"] and b["modified"] >= a["modified"] and b["seq"] > a["seq"]
    # a reader cannot publish: the broker refuses, with its reason
    r = publish(deploy, rdr, alert_json(), check=False)
    assert r.returncode == 1
    assert r.stderr.decode().startswith("infohub-agent: broker refused: not-publisher: ")
    st = status(deploy, rdr)
    assert st["running"] and st["cursor"] == b["seq"] and st["alerts"] == 1 and st["iocs"] == 3
    # one information line per commit; each message's own line only with -v
    assert re.search(r"I agent: stored 1 alert, seq %d\n" % a["seq"], ra.text()), ra.text()
    assert "D agent: stored alert %s rev 1 seq %d" % (aid, a["seq"]) in ra.text()
    assert re.search(r"I agent: stored 1 alert, seq %d\n" % a["seq"], pa.text()), pa.text()
    assert "stored alert" not in pa.text()
    # SIGTERM: clean exit
    assert ra.stop() == 0
    assert "stopping analyst@bank-b" in ra.text()
    assert not status(deploy, rdr)["running"]


def test_second_daemon_refused(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    a = deploy.start_agent(rdr)
    wait_until(lambda: os.path.exists(os.path.join(rdr.agentdir, "store", "data.mdb")),
               what="store created")
    r = deploy.agent_cmd(rdr, "run", check=False, timeout=10)
    assert r.returncode == 1 and b"in use by another agent" in r.stderr
    assert a.alive()


def test_restart_catches_up_exactly_once(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    ra = deploy.start_agent(rdr)
    c = deploy.client(pub)
    first = ihclient.alert_body(pub.ident, title="before")
    assert c.publish_wait(first)["t"] == "ok"
    wait_alerts(deploy, rdr, 1)
    assert ra.stop() == 0
    # 200 alerts while the agent is away, some of them revised
    bodies = [ihclient.alert_body(pub.ident, title="away %d" % i,
                                  iocs=[ihclient.ioc("ipv4", "10.0.%d.%d" % (i // 250, i % 250 + 1))])
              for i in range(200)]
    oks, errs, lost = c.publish_many(bodies)
    assert len(oks) == 200, (errs, lost)
    for b in bodies[:5]:
        b2 = dict(b, rev=2, title=b["title"] + " v2", modified=b["modified"] + 1)
        assert c.publish_wait(b2)["t"] == "ok"
    ra = deploy.start_agent(rdr)
    got = wait_alerts(deploy, rdr, 201, timeout=60)
    ids = [a["id"] for a in got]
    assert len(ids) == len(set(ids)) == 201
    seqs = [a["seq"] for a in got]
    assert seqs == sorted(seqs)
    v2 = [a for a in got if a["revision"] == 2]
    assert len(v2) == 5 and all(a["title"].endswith(" v2") and a["revisions"] == 2 for a in v2)
    st = wait_until(lambda: (lambda s: s if s["cursor"] == s["head"] and s["head"] else None)(
        status(deploy, rdr)), what="cursor at head")
    assert st["alerts"] == 201 and st["rejected"] == 0


def test_broker_crash_and_restart(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    ra = deploy.start_agent(rdr)
    publish_id(deploy, pub, alert_json(title="one"))
    wait_alerts(deploy, rdr, 1)
    deploy.broker.kill()
    time.sleep(1.5)
    deploy.start_broker()
    publish_id(deploy, pub, alert_json(title="two"))
    got = wait_alerts(deploy, rdr, 2, timeout=30)
    assert [a["title"] for a in got] == ["one", "two"]
    assert ra.alive()


# ---- verification, with a broker that lies ---------------------------------------------------

class FakeBroker:
    """A CURVE ROUTER with the deployment's broker key that answers hello with welcome and
    sends the deliveries it is given; records acks."""

    def __init__(self, deploy):
        pub, sec = ihclient.load_curve_secret(os.path.join(deploy.dir, "broker.cert_secret"))
        self.sock = deploy.ctx.socket(zmq.ROUTER)
        self.sock.curve_server = True
        self.sock.curve_secretkey = sec
        self.sock.curve_publickey = pub
        self.sock.linger = 0
        self.sock.bind(deploy.endpoint)
        self.acks, self.hellos, self.peer = [], [], None

    def poll(self, timeout=0.1):
        while self.sock.poll(int(timeout * 1000)):
            peer, data = self.sock.recv_multipart()
            m = msgpack.unpackb(data, raw=False)
            self.peer = peer
            if m["t"] == "hello":
                self.hellos.append(m)
                self.send({"v": 1, "t": "welcome", "head": 5, "member": "analyst", "org": "bank-b",
                           "heartbeat": 1000})
            elif m["t"] == "ping":
                self.send({"v": 1, "t": "pong", "head": 5})
            elif m["t"] == "ack":
                self.acks.append(m["seq"])
            timeout = 0

    def send(self, env):
        self.sock.send_multipart([self.peer, ihclient.pack(env)])

    def close(self):
        self.sock.close()


def member_record(deploy, name):
    z = ihclient.zpl_load(os.path.join(deploy.dir, "members", name + ".member"))
    return bytes.fromhex(z.require("member/record")), bytes.fromhex(z.require("member/signature"))


def test_rejects_forged_items(pair):
    deploy, pub, rdr = pair
    fake = FakeBroker(deploy)
    try:
        ra = deploy.start_agent(rdr)
        wait_until(lambda: (fake.poll(), fake.hellos)[1], what="hello")
        assert fake.hellos[0]["cursor"] == 0
        rec, rec_sig = member_record(deploy, "soc")
        sk = pub.ident.sign_sk

        def item(seq, title, tamper=None, key=sk, record=(rec, rec_sig), **kw):
            b = ihclient.alert_body(pub.ident, title=title, **kw)
            data = ihclient.pack(b)
            sig = ihclient.sign(key, data)
            if tamper:
                data = tamper(data)
            return [seq, data, sig, record[0], record[1]], b["id"]

        good1, id1 = item(1, "genuine one")
        altered, _ = item(2, "tampered", tamper=lambda d: d.replace(b"tampered", b"TAMPERED"))
        other = nacl.signing.SigningKey.generate()
        wrongkey, _ = item(3, "signed by someone else", key=other)
        # a record made up by the broker: signed by a key that is not the registry's
        forged_rec = bytearray(rec)
        fake_sig = other.sign(ihclient.CTX_MEMBER + b"\0" + bytes(forged_rec)).signature
        forged, _ = item(4, "forged member", record=(bytes(forged_rec), fake_sig))
        good5, id5 = item(5, "genuine five")
        fake.send({"v": 1, "t": "deliver", "items": [good1, altered, wrongkey, forged, good5]})
        wait_until(lambda: (fake.poll(), 5 in fake.acks)[1], what="ack 5")
        text = ra.text()
        assert "E agent: rejected seq 2 from soc@bank-a: bad signature" in text
        assert "E agent: rejected seq 3 from soc@bank-a: bad signature" in text
        assert "E agent: rejected seq 4 from soc@bank-a: member record: bad signature" in text
        got = deploy.agent_list(rdr)
        assert [a["id"] for a in got] == [id1, id5]
        st = status(deploy, rdr)
        assert st["cursor"] == 5 and st["rejected"] == 3 and st["alerts"] == 2
        # a replay of the same items (after a reconnect) stores nothing twice
        fake.send({"v": 1, "t": "deliver", "items": [good1, good5]})
        fake.poll(0.5)
        assert [a["id"] for a in deploy.agent_list(rdr)] == [id1, id5]
        assert ra.stop() == 0
    finally:
        fake.close()


def test_hello_after_restart_uses_durable_cursor(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    ra = deploy.start_agent(rdr)
    for i in range(3):
        publish_id(deploy, pub, alert_json(title="n%d" % i))
    wait_alerts(deploy, rdr, 3)
    cursor = status(deploy, rdr)["cursor"]
    assert ra.stop() == 0
    deploy.broker.stop()
    fake = FakeBroker(deploy)
    try:
        deploy.start_agent(rdr)
        wait_until(lambda: (fake.poll(), fake.hellos)[1], what="hello")
        assert fake.hellos[0]["cursor"] == cursor
    finally:
        fake.close()


# ---- a full disk ------------------------------------------------------------------------------

def test_full_disk_stops_and_resumes(pair):
    deploy, pub, rdr = pair
    deploy.start_broker()
    ra = deploy.start_agent(rdr)
    publish_id(deploy, pub, alert_json(title="fits"))
    wait_alerts(deploy, rdr, 1)
    cursor = status(deploy, rdr)["cursor"]
    data = os.path.join(rdr.agentdir, "store", "data.mdb")
    size = os.path.getsize(data)
    # The agent's files may not grow any more: its writes fail with EFBIG, as on a full disk.
    soft, hard = resource.prlimit(ra.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(ra.pid, resource.RLIMIT_FSIZE, (size, hard))
    try:
        c = deploy.client(pub)
        big = "x" * 60000
        bodies = [ihclient.alert_body(pub.ident, title="big %d" % i, summary=big) for i in range(40)]
        oks, errs, lost = c.publish_many(bodies)
        assert len(oks) == 40, (errs, lost)
        head = max(o["seq"] for o in oks.values())
        wait_until(lambda: "disk full" in ra.text(), what="the agent to say the disk is full")
        # while full, the cursor stays where it is (some small batches may have fit in
        # pages the store had free) and the agent stays up
        # and `status` says so (exit 1: a health check sees it) once the daemon rewrote it
        wait_until(lambda: status(deploy, rdr)["storage"]["state"] == "error",
                   what="status to report the store's error")
        st = status(deploy, rdr)
        stuck = st["cursor"]
        assert cursor <= stuck < head
        assert "disk full" in st["storage"]["detail"], st
        time.sleep(1.5)
        assert status(deploy, rdr)["cursor"] == stuck
        assert ra.alive()
    finally:
        resource.prlimit(ra.pid, resource.RLIMIT_FSIZE, (soft, hard))
    got = wait_alerts(deploy, rdr, 41, timeout=60)
    ids = [a["id"] for a in got]
    assert len(set(ids)) == 41
    line = [l for l in ra.text().splitlines() if "disk full" in l][0]
    assert line.startswith("E agent: ") and "not advancing" in line
