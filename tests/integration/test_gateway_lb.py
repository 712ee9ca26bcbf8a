"""The gateway behind a load balancer (issue 10, item 2): what is proven here, over a real
broker and real gateways on 127.0.0.1:

- two gateways with their own stores, fed by the same broker, give the same ETag for the
  same URL (ETags come from what is served, not from the process), and a tag one of them
  gave is a 304 at the other;
- an export streamed while an alert is revised lists each alert once (the stream reads
  one snapshot of the store): the client reads the response slowly, the revision lands
  in the middle.
"""
import csv
import io
import json
import os
import socket
import time

import pytest

from gwutil import GatewayEnv, cf, ihclient, publish_realistic

deploy = cf.deploy            # the fixture, from the integration conftest

PUBLIC_URL = "https://public.infohub.example"


def _get(port, path, headers=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def _status(port, path):
    try:
        return _get(port, path)[0]
    except OSError:
        return None         # not listening yet


def _gateway_cfg(env, name, port, store):
    """A copy of the deployment's gateway.cfg with its own port and store, both behind the
    same public URL (what a load balancer serves)."""
    text = open(env.cfg).read()
    text = text.replace('port = "%d"' % env.port, 'port = "%d"' % port)
    text = text.replace('store = "gateway-store"', 'store = "%s"' % store)
    text = text.replace("    http\n", '    http\n        public-url = "%s"\n' % PUBLIC_URL)
    path = os.path.join(os.path.dirname(env.cfg), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_two_gateways_give_the_same_etags(deploy):
    env = GatewayEnv(deploy)
    port_a, port_b = cf.free_port(), cf.free_port()
    cfg_a = _gateway_cfg(env, "gateway-a.cfg", port_a, "gateway-store-a")
    cfg_b = _gateway_cfg(env, "gateway-b.cfg", port_b, "gateway-store-b")
    ids = publish_realistic(env)
    gw_a = deploy.spawn("gateway-a", [os.path.join(cf.BIN, "infohub-gateway"), "-c", cfg_a])
    time.sleep(0.3)         # different boot times, as two machines would have
    gw_b = deploy.spawn("gateway-b", [os.path.join(cf.BIN, "infohub-gateway"), "-c", cfg_b])
    for port in (port_a, port_b):
        for aid in ids:
            cf.wait_until(lambda: _status(port, "/api/v1/alerts/" + aid) == 200, 20,
                          what="alert %s on the gateway at port %d" % (aid, port))
    paths = ["/", "/?category=phishing", "/?sector=finance", "/?severity=high",
             "/alerts/" + ids[0], "/alerts/" + ids[5], "/search?q=phishing", "/search?q=45.86.230.137",
             "/trends", "/trends?weeks=52", "/feed.atom", "/api/v1/alerts",
             "/api/v1/alerts?category=ransomware&limit=1", "/api/v1/alerts/" + ids[1],
             "/robots.txt", "/static/style.css", "/taxii2/", "/taxii2/api/", "/taxii2/api/collections/"]
    s, _, b = _get(port_a, "/?before=999999")
    paths.append("/?before=%s" % b.decode().split("/?before=")[1].split('"')[0]
                 if "/?before=" in b.decode() else "/?before=999999")
    for p in paths:
        sa, ha, ba = _get(port_a, p)
        sb, hb, bb = _get(port_b, p)
        assert sa == sb == 200, (p, sa, sb)
        assert ba == bb, "%s: the two gateways serve different bytes" % p
        assert ha.get("etag") and ha["etag"] == hb.get("etag"), (p, ha.get("etag"), hb.get("etag"))
        # a tag from one is good at the other (a client moved by the load balancer)
        s304, h304, b304 = _get(port_b, p, {"If-None-Match": ha["etag"]})
        assert s304 == 304 and b304 == b"" and h304["etag"] == ha["etag"], (p, s304)
    # content decides: a new alert changes the tags of what shows it, on both
    tag = _get(port_a, "/")[1]["etag"]
    new = env.publish(title="a new advisory for both", tlp="CLEAR", category="other")
    for port in (port_a, port_b):
        cf.wait_until(lambda: _get(port, "/api/v1/alerts/" + new)[0] == 200, 15, what="new alert")
        s, h, _ = _get(port, "/", {"If-None-Match": tag})
        assert s == 200 and h["etag"] != tag
    assert _get(port_a, "/")[1]["etag"] == _get(port_b, "/")[1]["etag"]
    assert gw_a.alive() and gw_b.alive()


def _slow_get(port, path, first_bytes):
    """Starts GET path with a small receive buffer and reads about first_bytes of the
    response; returns (socket, what was read)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
    got = b""
    while len(got) < first_bytes:
        chunk = s.recv(2048)
        if not chunk:
            break
        got += chunk
    return s, got


def _read_rest(s, got):
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    # de-chunk
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return out


@pytest.mark.timeout(300)
def test_export_streams_one_snapshot_while_an_alert_is_revised(deploy):
    env = GatewayEnv(deploy)
    env.start_gateway()
    # Bigger than what the sockets buffer between the two ends (the sender's buffer grows
    # to 4 MiB on loopback), so the stream is still reading the store when the revision lands.
    comment = "c" * 250
    n, per = 800, 30
    ids, bodies = [], []
    for i in range(n):
        b = ihclient.alert_body(env.pub.ident, title="export snapshot %03d" % i, tlp="CLEAR",
                                category="malware",
                                iocs=[ihclient.ioc("domain", "snap-%03d-%02d.example" % (i, j), comment)
                                      for j in range(per)])
        env.publish_body(env.pub, b)
        ids.append(b["id"])
        bodies.append(b)
    env.wait_visible(ids[-1], timeout=30)
    for fmt, path in (("csv", "/export/csv"), ("stix21", "/export/stix21")):
        s, got = _slow_get(env.port, path, 8192)
        # the stream is under way: revise the first alert (long since sent) and wait until
        # the gateway holds the revision
        rev = 2 if fmt == "csv" else 3
        body = dict(bodies[0], title="export snapshot 000, revision %d" % rev, rev=rev,
                    modified=ihclient.now_ms())
        env.publish_body(env.pub, body)
        cf.wait_until(lambda: env.get_json("/api/v1/alerts/" + ids[0])["revision"] == rev, 15,
                      what="revision %d" % rev)
        time.sleep(0.3)
        data = _read_rest(s, got)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(data.decode())))
            rows_of = {}
            for r in rows:
                rows_of[r["alert_id"]] = rows_of.get(r["alert_id"], 0) + 1
            assert rows_of.get(ids[0]) == per, "alert %s listed %s times (%d rows)" % (
                ids[0], rows_of.get(ids[0], 0) / per, rows_of.get(ids[0], 0))
            assert sorted(rows_of) == sorted(ids) and set(rows_of.values()) == {per}
        else:
            bundle = json.loads(data)
            reports = [o["id"] for o in bundle["objects"] if o["type"] == "report"]
            assert reports.count("report--" + ids[0]) == 1, reports.count("report--" + ids[0])
            assert sorted(reports) == sorted("report--" + i for i in ids)
    env.assert_alive()
