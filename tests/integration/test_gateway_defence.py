"""The gateway's own guards, beyond what the broker enforces, and HTTPS.

- A broker that misbehaves (here: a rogue broker holding the real broker's CURVE key, which
  replays genuinely signed items) delivers a GREEN alert, a comment on it and a GREEN
  sighting to the gateway: the gateway stores none of it, logs each refusal, and shows the
  CLEAR alert delivered with them (defence in depth, invariant 2).
- Items with a broken signature are rejected too, and the cursor passes them.
- With tls-cert and tls-key, the gateway serves HTTPS (MHD's TLS) and sends HSTS.
"""
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

from gwutil import GatewayEnv, cf, ihclient

deploy = cf.deploy


def _rogue_cfg(env, endpoint, store):
    text = open(env.cfg).read()
    text = re.sub(r'endpoint = "[^"]*"', 'endpoint = "%s"' % endpoint, text)
    text = text.replace('store = "gateway-store"', 'store = "%s"' % store)
    path = os.path.join(env.d.dir, "gateway-rogue.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


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

    # The rogue broker: same CURVE key as the real one, no authentication, no TLP rules.
    broker_pub, broker_sec = ihclient.load_curve_secret(os.path.join(deploy.dir, "broker.cert_secret"))
    ctx = zmq.Context()
    rogue = ctx.socket(zmq.ROUTER)
    rogue.linger = 0
    rogue.curve_server = True
    rogue.curve_publickey = broker_pub
    rogue.curve_secretkey = broker_sec
    port = rogue.bind_to_random_port("tcp://127.0.0.1")
    try:
        env.start_gateway(cfg=_rogue_cfg(env, "tcp://127.0.0.1:%d" % port, "gateway-store-rogue"))
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
    finally:
        rogue.close(0)
        ctx.term()


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
