"""A fair share of the gateway's work for each client address (issue 12, item 1).

One address (127.0.0.1) keeps 8 expensive requests running at once; another (127.0.0.2:
loopback answers on the whole of 127/8) fetches a cheap page meanwhile. Before the web
layer queued its handlers fairly, the cheap page waited behind the flood on whichever
thread its connection had landed on: its median time rose to the order of an expensive
request. Now each address has its share of the workers (http/per-ip-workers), so the cheap
page is answered at once, and an address that queues more than its share
(http/per-ip-queue) is told 429 with a Retry-After.

No absolute speed is asserted: times are compared with each other, with generous bounds.
"""
import http.client
import os
import statistics
import subprocess
import threading
import time

import gwutil

BENCH_LOAD = os.path.join(gwutil.BIN, "ih-bench-load")
EXPENSIVE = gwutil.OBJECTS + "?limit=1000"


def _get(port, path, source, headers=None, timeout=60.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        t0 = time.monotonic()
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Retry-After"), time.monotonic() - t0
    finally:
        c.close()


def _env(deploy):
    """A gateway whose store holds 10,000 TLP:CLEAR alerts of 20 IOCs, loaded straight
    into it (bin/ih-bench-load) as a real publisher's: the gateway learns the publisher's
    record from one alert through the broker first, so that its store checks as sound."""
    gwutil.cf.need(BENCH_LOAD)
    env = gwutil.GatewayEnv(deploy)
    env.start_gateway()
    env.wait_visible(env.publish(title="first", tlp="CLEAR"))
    env.stop_gateway()
    node = gwutil.ihclient.zpl_load(env.cfg)
    store = node.require("gateway/store")
    if not os.path.isabs(store):
        store = os.path.join(os.path.dirname(env.cfg), store)
    agent = gwutil.ihclient.zpl_load(env.pub.cfg)
    key = agent.require("agent/signing-key")
    if not os.path.isabs(key):
        key = os.path.join(env.pub.agentdir, key)
    subprocess.run([BENCH_LOAD, "--clear", "--signer", key, env.pub.org, env.pub.name, store,
                    "10000", "20"], check=True, capture_output=True, timeout=300)
    return env

def _set(cfg, key, value):
    text = open(cfg).read()
    text = text.replace("    http\n", '    http\n        %s = "%s"\n' % (key, value), 1)
    open(cfg, "w").write(text)


class _Flood:
    """8 threads from 127.0.0.1, each asking for path (made unique: the cache must not
    answer) again and again until stopped."""

    def __init__(self, port, path, n=8):
        self.port, self.path = port, path
        self.stop = False
        self.results = []           # (status, retry-after, seconds)
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(n)]

    def _run(self, i):
        k = 0
        while not self.stop:
            k += 1
            self.results.append(_get(self.port, "%s%sflood=%d-%d" % (
                self.path, "&" if "?" in self.path else "?", i, k), "127.0.0.1"))

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(1.0)             # all 8 at work
        return self

    def __exit__(self, *exc):
        self.stop = True
        for t in self.threads:
            t.join(120)


def _cheap(port, n=20):
    out = []
    for i in range(n):
        out.append(_get(port, "/static/style.css?cheap=%d" % i, "127.0.0.2", timeout=120))
        time.sleep(0.05)
    return out


def _median(results):
    return statistics.median(d for s, _, d in results)


def test_a_flood_of_expensive_requests_does_not_starve_another_address(deploy):
    env = _env(deploy)
    env.start_gateway()
    # the expensive request: a page of 500 alerts of the API (a handler's work), and a
    # whole CSV export (a stream: its parts are the work)
    for path in ("/api/v1/alerts?limit=500", "/export/csv"):
        with _Flood(env.port, path) as flood:
            cheap = _cheap(env.port)
        served = [r for r in flood.results if r[0] == 200]
        assert served, "the flood got nothing: %r" % flood.results[:5]
        assert all(s in (200, 429) for s, _, _ in flood.results), flood.results[:20]
        assert all(s == 200 for s, _, _ in cheap), cheap
        heavy, light = _median(served), _median(cheap)
        # before: the cheap page waited behind the flood (its median near an expensive
        # request's); now it takes a small part of one
        assert light * 4 < heavy, "%s: cheap page median %.3f s, expensive %.3f s" % (
            path, light, heavy)
    env.assert_alive()


def test_an_address_over_its_share_is_told_to_retry(deploy):
    env = _env(deploy)
    _set(env.cfg, "per-ip-queue", "2")
    env.start_gateway()
    with _Flood(env.port, "/api/v1/alerts?limit=500") as flood:
        cheap = _cheap(env.port, 10)
    refused = [r for r in flood.results if r[0] == 429]
    assert refused, "no 429 in %d answers to 8 parallel requests" % len(flood.results)
    assert all(ra and int(ra) >= 1 for _, ra, _ in refused), refused[:3]
    assert any(r[0] == 200 for r in flood.results)
    assert all(s == 200 for s, _, _ in cheap), cheap       # the other address: never 429
    # lifted (a gateway behind a proxy): 8 parallel requests all served
    env.stop_gateway()
    _set(env.cfg, "per-ip-queue", "0")
    env.start_gateway()
    with _Flood(env.port, "/api/v1/alerts?limit=500") as flood:
        pass
    assert flood.results and all(s == 200 for s, _, _ in flood.results), \
        [r for r in flood.results if r[0] != 200][:5]
    env.assert_alive()
