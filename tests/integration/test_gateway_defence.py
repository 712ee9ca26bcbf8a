"""The gateway's own guards, beyond what the broker enforces, and HTTPS.

- A broker that misbehaves (here: a rogue broker holding the real broker's CURVE key, which
  replays genuinely signed items) delivers a GREEN alert, a comment on it and a GREEN
  sighting to the gateway: the gateway stores none of it, logs each refusal, and shows the
  CLEAR alert delivered with them (defence in depth, invariant 2).
- Items with a broken signature are rejected too, and the cursor passes them.
- With tls-cert and tls-key, the gateway serves HTTPS (MHD's TLS) and sends HSTS.
"""
import contextlib
import http.client
import json
import os
import re
import ssl
import subprocess
import time

import msgpack
import pytest
import zmq

from gwutil import OBJECTS, TAXII, GatewayEnv, cf, ihclient

deploy = cf.deploy


def _rogue_cfg(env, endpoint, store):
    text = open(env.cfg).read()
    text = re.sub(r'endpoint = "[^"]*"', 'endpoint = "%s"' % endpoint, text)
    text = text.replace('store = "gateway-store"', 'store = "%s"' % store)
    path = os.path.join(env.d.dir, "gateway-rogue.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


@contextlib.contextmanager
def _rogue_broker(deploy, env, deliveries, store):
    """A rogue broker: the real broker's CURVE key, no authentication, no TLP rules. It
    starts the gateway against itself, answers its hello with one deliver of every item,
    and returns once the gateway acknowledged the last seq; the with-block then inspects
    the gateway while the rogue still answers nothing more."""
    broker_pub, broker_sec = ihclient.load_curve_secret(os.path.join(deploy.dir, "broker.cert_secret"))
    ctx = zmq.Context()
    rogue = ctx.socket(zmq.ROUTER)
    rogue.linger = 0
    rogue.curve_server = True
    rogue.curve_publickey = broker_pub
    rogue.curve_secretkey = broker_sec
    port = rogue.bind_to_random_port("tcp://127.0.0.1")
    try:
        env.start_gateway(cfg=_rogue_cfg(env, "tcp://127.0.0.1:%d" % port, store))
        head = deliveries[-1][0]
        acked = 0
        delivered = False
        deadline = time.monotonic() + 20
        while acked < head and time.monotonic() < deadline:
            if not rogue.poll(200):
                continue
            ident, frame = rogue.recv_multipart()
            m = msgpack.unpackb(frame, raw=False)
            if m["t"] == "hello":
                rogue.send_multipart([ident, ihclient.pack({"v": 1, "t": "welcome", "head": head,
                                                            "member": "gateway", "org": "public",
                                                            "heartbeat": 1000})])
                if not delivered:
                    rogue.send_multipart([ident, ihclient.pack({"v": 1, "t": "deliver",
                                                                "items": deliveries})])
                    delivered = True
            elif m["t"] == "ping":
                rogue.send_multipart([ident, ihclient.pack({"v": 1, "t": "pong", "head": head})])
            elif m["t"] == "ack":
                acked = max(acked, m["seq"])
        assert acked == head, "the gateway acknowledged %d of %d" % (acked, head)
        yield
    finally:
        rogue.close(0)
        ctx.term()


def test_gateway_refuses_above_clear_from_a_rogue_broker(deploy):
    env = GatewayEnv(deploy)
    pub = env.pub
    green = env.publish(title="secretmarkerrogue green", tlp="GREEN", category="intrusion",
                        iocs=[ihclient.ioc("domain", "secretmarkerrogue.example")])
    env.publish_body(pub, ihclient.comment_body(pub.ident, green, "secretmarkerrogue comment"))
    env.publish_body(pub, ihclient.sighting_body(pub.ident, "", ihclient.ioc("domain", "secretmarkerrogue.example"),
                                                 tlp="GREEN", count=3))
    clear = env.publish(title="clear among rogue deliveries", tlp="CLEAR", category="other",
                        iocs=[ihclient.ioc("domain", "clear-rogue.example")])
    # The items exactly as the broker delivers them to a member entitled to all four.
    sub = deploy.subscriber(env.reader)
    assert sub.wait_items(4), "reader got %d items" % len(sub.items)
    items = [list(it) for _, _, _, it in sub.items]
    # One more: the CLEAR alert again under a new seq with a broken signature.
    forged = list(items[3])
    forged[0] = items[3][0] + 10
    forged[2] = bytes(64)
    deliveries = items + [forged]

    with _rogue_broker(deploy, env, deliveries, "gateway-store-rogue"):
        env.wait_visible(clear)
        log = env.gw.text()
        assert re.search(r"E gateway: refused alert %s seq \d+ \(TLP:GREEN\) from soc@bank-a: it is not "
                         r"TLP:CLEAR" % green, log), log
        assert re.search(r"E gateway: refused comment on alert %s seq \d+ from soc@bank-a: .*does not "
                         r"hold as TLP:CLEAR" % green, log), log
        assert re.search(r"E gateway: refused sighting .*\(TLP:GREEN\)", log), log
        assert re.search(r"E gateway: rejected seq %d from soc@bank-a: bad signature" % forged[0], log), log
        everything = b""
        for p in ("/", "/feed.atom", "/api/v1/alerts", "/export/csv", "/export/stix21",
                  "/alerts/" + green, "/api/v1/alerts/" + green, "/metrics"):
            everything += env.get(p)[2]
        assert b"secretmarkerrogue" not in everything
        s, _, b = env.get("/search?q=secretmarkerrogue.example")
        assert b"0 results" in b
        assert env.get("/alerts/" + green)[0] == 404
        metrics = env.get("/metrics")[2].decode()
        assert re.search(r"^ih_gateway_items_refused_total 3$", metrics, re.M), metrics
        assert re.search(r"^ih_gateway_items_rejected_total 1$", metrics, re.M)
        # The sighting was refused: the CLEAR alert's IOC shows no sightings.
        assert env.get_json("/healthz")["alerts"] == 1



def test_gateway_refuses_clear_sightings_citing_an_alert_it_does_not_hold_as_clear(deploy):
    """A CLEAR sighting must cite a CLEAR alert the gateway holds (ih_sync.c, s_not_public):
    the rogue broker delivers (a) CLEAR alert A, (b) a CLEAR sighting citing A, (c) GREEN
    alert B, (d) a CLEAR sighting citing B, (e) a CLEAR sighting citing an unknown id, all
    genuinely signed by the publisher. Only (b) counts; (c), (d), (e) are refused and logged.
    (d) and (e) report A's own IOC value, so had they been stored, A's IOC would show them."""
    env = GatewayEnv(deploy)
    pub = env.pub
    a_ioc = ihclient.ioc("domain", "clear-ref-a.example")
    # (a), (b), (c) through the real broker, which accepts all three.
    aid = env.publish(title="clear alert a", tlp="CLEAR", category="other", iocs=[a_ioc])
    env.publish_body(pub, ihclient.sighting_body(pub.ident, aid, a_ioc, tlp="CLEAR", count=2))
    bid = env.publish(title="secretmarkerrefb green", tlp="GREEN", category="intrusion",
                      iocs=[ihclient.ioc("domain", "secretmarkerrefb.example")])
    sub = deploy.subscriber(env.reader)
    assert sub.wait_items(3), "reader got %d items" % len(sub.items)
    items = [list(it) for _, _, _, it in sub.items]
    assert [b["k"] for _, b, _, _ in sub.items] == ["alert", "sighting", "alert"]
    # (d) and (e): the real broker refuses these, so sign them here with the publisher's own
    # key and carry its registry-signed record, exactly as a broker would deliver them.
    unknown = "0badc0de-0000-4000-8000-00000000feed"
    seq = items[-1][0]
    deliveries = list(items)
    sighted = {}
    for ref, count in ((bid, 5), (unknown, 7)):
        body = ihclient.pack(ihclient.sighting_body(pub.ident, ref, a_ioc, tlp="CLEAR", count=count))
        seq += 1
        item = [seq, body, ihclient.sign(pub.ident.sign_sk, body), items[0][3], items[0][4]]
        ihclient.verify_item(item, pub.ident.registry_pk)      # genuinely signed
        deliveries.append(item)
        sighted[ref] = seq

    with _rogue_broker(deploy, env, deliveries, "gateway-store-rogue-ref"):
        env.wait_visible(aid)
        env.assert_alive()

        # Only (b) counted: A shows 2 sightings, in its JSON and on its page (alert and IOC row).
        a = env.get_json("/api/v1/alerts/" + aid)
        assert a.get("sightings") == 2, a
        s, _, page = env.get("/alerts/" + aid)
        assert s == 200
        page = page.decode()
        assert "<dt>Sightings</dt><dd>2 sightings reported by members" in page, page
        assert re.search(r"<code>clear-ref-a\.example</code>.*?<td class=\"num\">2</td></tr>", page), page

        # (c), (d), (e) refused and logged; (a) and (b) stored; no signature failures.
        log = env.gw.text()
        why = "it refers to an alert the gateway does not hold as TLP:CLEAR"
        for ref in (bid, unknown):
            assert re.search(r"^E gateway: refused sighting seq %d \(TLP:CLEAR\) of alert %s from "
                             r"soc@bank-a: %s; nothing of it is stored or shown$"
                             % (sighted[ref], ref, re.escape(why)), log, re.M), log
        assert re.search(r"^E gateway: refused alert %s seq \d+ \(TLP:GREEN\) from soc@bank-a: it is "
                         r"not TLP:CLEAR" % bid, log, re.M), log
        assert len(re.findall(r"^E gateway: refused ", log, re.M)) == 3, log
        assert not re.search(r"refused sighting .*of alert %s" % aid, log), log
        assert "rejected seq" not in log, log
        metrics = env.get("/metrics")[2].decode()
        assert re.search(r"^ih_gateway_items_refused_total 3$", metrics, re.M), metrics
        assert re.search(r"^ih_gateway_items_stored_total 2$", metrics, re.M), metrics
        assert re.search(r"^ih_gateway_items_rejected_total 0$", metrics, re.M), metrics
        assert re.search(r"^ih_gateway_cursor %d$" % deliveries[-1][0], metrics, re.M), metrics
        assert env.get_json("/healthz")["alerts"] == 1

        # Nothing about B on any route.
        everything = b""
        for p in ("/", "/feed.atom", "/api/v1/alerts", "/export/csv", "/export/stix21",
                  "/alerts/" + aid, "/api/v1/alerts/" + aid, "/metrics", "/healthz",
                  "/alerts/" + bid, "/api/v1/alerts/" + bid, "/alerts/" + unknown,
                  "/api/v1/alerts/" + unknown):
            everything += env.get(p)[2]
        everything += env.get(OBJECTS, {"Accept": TAXII})[2]
        assert b"secretmarkerrefb" not in everything
        assert bid.encode() not in everything.replace(b"/alerts/" + bid.encode(), b"")
        assert unknown.encode() not in everything
        for p in ("/alerts/" + bid, "/api/v1/alerts/" + bid, "/alerts/" + unknown,
                  "/api/v1/alerts/" + unknown):
            assert env.get(p)[0] == 404, p
        assert b"0 results" in env.get("/search?q=secretmarkerrefb.example")[2]


def test_https(deploy, tmp_path):
    env = GatewayEnv(deploy)
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here: %s" % r.stderr.decode()[-300:])
    os.chmod(key, 0o600)
    text = open(env.cfg).read().replace('tls-cert = ""', 'tls-cert = "%s"' % cert) \
                               .replace('tls-key = ""', 'tls-key = "%s"' % key)
    cfg = os.path.join(deploy.dir, "gateway-tls.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    # A key readable by others is refused, with a clear message.
    os.chmod(key, 0o644)
    p = env.start_gateway(cfg=cfg, wait=False)
    assert p.wait(15) not in (None, 0) and "tls-key" in p.text() and "0644" in p.text()
    os.chmod(key, 0o600)
    env.start_gateway(cfg=cfg, wait=False)
    aid = env.publish(title="over https", tlp="CLEAR", category="other")
    sslctx = ssl.create_default_context(cafile=str(cert))

    def get(path):
        c = http.client.HTTPSConnection("127.0.0.1", env.port, context=sslctx, timeout=5)
        try:
            c.request("GET", path)
            resp = c.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            c.close()

    def visible():
        try:
            return get("/api/v1/alerts/" + aid)[0] == 200
        except OSError:
            return False
    cf.wait_until(visible, 20, what="the alert over HTTPS")
    s, h, b = get("/")
    assert s == 200 and b"over https" in b
    assert h.get("strict-transport-security", "").startswith("max-age=")
    j = json.loads(get("/feed.atom")[2] and get("/api/v1/alerts")[2])
    assert j["alerts"][0]["title"] == "over https"
    s, h, b = get("/feed.atom")
    assert b"https://127.0.0.1:%d/alerts/" % env.port in b
    # Plain HTTP on the TLS port gets nothing useful, and the gateway stays up.
    with pytest.raises((http.client.HTTPException, OSError)):
        env.get("/", timeout=3)
    assert visible()
    env.assert_alive()
