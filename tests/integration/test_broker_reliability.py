"""Invariants 4 and 5: nothing acknowledged is lost (broker SIGKILL mid-stream), agents catch
up from the journal in order with no gap and no duplicate (agent stopped or killed during a
stream, broker restarted under a running agent), flow control bounds what a slow agent gets
and never stalls the others."""
import json
import os
import signal
import time

import pytest
import zmq

import ihclient
from conftest import publisher_signed, wait_until


def _members(deploy):
    pub = deploy.add_member("soc-a", "bank-a", sector="finance", role="publisher")
    deploy.unlimited(pub)       # these tests flood on purpose
    rd = deploy.add_member("noc-b", "bank-b", sector="finance")
    return pub, rd


def _publish_all(client, signed, inflight=64, timeout=120.0):
    oks, errs, left = client.publish_many([(d, s) for d, s, _ in signed], inflight=inflight,
                                          timeout=timeout)
    assert not errs, "rejected: %r" % list(errs.items())[:3]
    assert not left, "%d publishes unanswered after %.0fs" % (len(left), timeout)
    return {signed[i][2]: rep["seq"] for i, rep in oks.items()}


def _replay_all(deploy, member, expect_at_least, timeout=60.0, quiet=0.7):
    """A fresh subscriber from cursor 0; returns its client once nothing more arrives."""
    c = deploy.subscriber(member)
    c.wait_items(expect_at_least, timeout)
    n = -1
    while n != len(c.items):
        n = len(c.items)
        c.drain(quiet)
    assert not c.bad_items, c.bad_items[:3]
    return c


def _store(deploy, member):
    rows = deploy.agent_list(member)
    return [r for r in rows if r.get("kind", "alert") == "alert"]


@pytest.mark.timeout(200)
def test_broker_sigkill_mid_stream_loses_no_acknowledged_alert(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()
    live = deploy.subscriber(rd)
    N = 2000
    signed = publisher_signed(pub.ident, N)
    p = deploy.client(pub)

    acked = {}      # index -> seq
    pending = {}    # req -> index
    i = 0

    def collect():
        for req in [r for r in pending if r in p.replies]:
            rep = p.replies.pop(req)
            assert rep["t"] == "ok", rep
            acked[pending.pop(req)] = rep["seq"]
    deadline = time.monotonic() + 60
    while len(acked) < 500 and time.monotonic() < deadline:   # steady, 64 in flight
        while i < N and len(pending) < 64:
            pending[p.publish(signed[i][0], sig=signed[i][1])] = i
            i += 1
        p.poll(0.02)
        live.poll(0)
        collect()
    assert len(acked) >= 500, "only %d oks in 60 s" % len(acked)
    # A burst of 800 more, and SIGKILL while the broker is working through it.
    for _ in range(800):
        pending[p.publish(signed[i][0], sig=signed[i][1])] = i
        i += 1
    mark = len(acked)
    while len(acked) < mark + 150 and time.monotonic() < deadline:
        p.poll(0.002)
        collect()
    deploy.broker.signal(signal.SIGKILL)
    deploy.broker.wait(5)
    # Replies the broker sent before it died still count as acknowledged.
    p.drain(0.5)
    live.drain(0.5)
    collect()
    p.close()       # drops what is still queued: the resend below is explicit
    seqs_acked = sorted(acked.values())
    assert len(set(seqs_acked)) == len(seqs_acked), "two oks with the same seq"

    deploy.start_broker()
    fresh = _replay_all(deploy, rd, len(acked))
    seq_of = {b["id"]: s for s, b, _, _ in fresh.items}
    ids = fresh.ids()
    assert len(ids) == len(set(ids)), "duplicate ids in the journal after restart"
    assert fresh.seqs() == sorted(set(fresh.seqs())), "replay not in strictly increasing order"
    lost = [idx for idx, s in acked.items() if seq_of.get(signed[idx][2]) != s]
    assert not lost, "%d acknowledged alerts lost or renumbered (first: index %d, ok seq %d, " \
        "journal seq %r)" % (len(lost), lost[0], acked[lost[0]], seq_of.get(signed[lost[0]][2]))
    # Nothing was delivered that the restarted broker does not have.
    phantom = [(s, b["id"]) for s, b, _, _ in live.items if seq_of.get(b["id"]) != s]
    assert not phantom, "delivered before the crash, absent after restart: %r" % phantom[:5]
    head1 = max(fresh.seqs()) if fresh.items else 0
    print("SIGKILL after %d oks with %d publishes in flight; journal after restart: head %d"
          % (len(acked), len(pending), head1))

    # Resend everything unanswered, same bytes and signature: already journaled ones keep
    # their seq, the others get new seqs after the old head; the final journal holds N.
    rest = [idx for idx in range(N) if idx not in acked]
    p2 = deploy.client(pub)
    oks, errs, left = p2.publish_many([(signed[k][0], signed[k][1]) for k in rest], inflight=64)
    assert not errs and not left, (list(errs.items())[:3], len(left))
    for j, rep in oks.items():
        k = rest[j]
        old = seq_of.get(signed[k][2])
        if old is not None:
            assert rep["seq"] == old, "resent journaled alert got seq %d, was %d" % (rep["seq"], old)
        else:
            assert rep["seq"] > head1, "new seq %d not above the head %d" % (rep["seq"], head1)
    final = _replay_all(deploy, rd, N)
    fids = final.ids()
    assert len(fids) == N and set(fids) == {x[2] for x in signed}, \
        "final journal: %d items, %d distinct, %d expected" % (len(fids), len(set(fids)), N)
    assert final.seqs() == list(range(1, N + 1)), "seqs are not 1..%d without gap" % N


@pytest.mark.timeout(200)
def test_pipelined_burst_with_forgeries_then_sigkill(deploy):
    """A burst that the broker takes in many batches, each verified while the one before
    it commits (ih_broker.h, "Pipeline"), with a forged signature every 40 publishes, and
    SIGKILL while it works through it: each forgery is refused and never journaled, the
    others are acknowledged in the order they were sent with consecutive seqs, and every
    acknowledged one is in the journal after the restart under the seq it was told."""
    pub, rd = _members(deploy)
    deploy.start_broker()
    N = 1200
    signed = publisher_signed(pub.ident, N, prefix="pipelined")
    forged = {i for i in range(N) if i % 40 == 17}
    p = deploy.client(pub)
    req_of = {}
    for i, (data, sig, _) in enumerate(signed):
        if i in forged:
            sig = sig[:9] + bytes([sig[9] ^ 0x40]) + sig[10:]
        req_of[p.publish(data, sig=sig)] = i
    deadline = time.monotonic() + 60
    while len(p.replies) < 400 and time.monotonic() < deadline:
        p.poll(0.002)
    deploy.broker.signal(signal.SIGKILL)
    deploy.broker.wait(5)
    p.drain(0.5)
    answered = sorted((req_of[r], m) for r, m in p.replies.items() if r in req_of)
    assert len(answered) >= 400, "only %d answers before the kill" % len(answered)
    acked = {}
    last = None
    for i, m in answered:
        if i in forged:
            assert m["t"] == "error" and m["code"] == "bad-signature", (i, m)
            continue
        assert m["t"] == "ok", (i, m)
        if last is not None:
            assert m["seq"] == last + 1, "index %d: seq %d after %d" % (i, m["seq"], last)
        last = m["seq"]
        acked[i] = m["seq"]
    assert any(i in forged for i, _ in answered), "no forgery was answered before the kill"
    # answers come in the order sent: nothing after a gap in the answered indexes
    idx = [i for i, _ in answered]
    assert idx == list(range(len(idx))), "answers not in the order sent"
    p.close()

    deploy.start_broker()
    fresh = _replay_all(deploy, rd, len(acked))
    seq_of = {b["id"]: s for s, b, _, _ in fresh.items}
    lost = [i for i, s in acked.items() if seq_of.get(signed[i][2]) != s]
    assert not lost, "%d acknowledged alerts lost or renumbered (first: index %d)" % (len(lost), lost[0])
    journaled_forgeries = [i for i in forged if signed[i][2] in seq_of]
    assert not journaled_forgeries, "forged publishes journaled: %r" % journaled_forgeries[:5]
    assert fresh.seqs() == list(range(1, len(fresh.seqs()) + 1)), "journal seqs have a gap"


@pytest.mark.timeout(280)
def test_agent_stopped_during_10000_alerts_catches_up_exactly_once(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()
    agent = deploy.start_agent(rd)
    p = deploy.client(pub)
    earlier = _publish_all(p, publisher_signed(pub.ident, 5, prefix="earlier"))
    wait_until(lambda: len(_store(deploy, rd)) == 5, 20.0, interval=0.3,
               what="the agent to store the first 5 alerts")

    N = 10000
    signed = publisher_signed(pub.ident, N)
    seqs = _publish_all(p, signed[:1500])
    rc = agent.stop(10.0)
    assert rc == 0, "agent did not exit cleanly on SIGTERM (rc %r):\n%s" % (rc, agent.text()[-2000:])
    seqs.update(_publish_all(p, signed[1500:], timeout=180.0))
    want = dict(earlier, **seqs)
    assert len(want) == N + 5

    deploy.start_agent(rd)
    wait_until(lambda: len(_store(deploy, rd)) >= N + 5, 150.0, interval=1.0,
               what="the restarted agent to store %d alerts" % (N + 5))
    time.sleep(1.0)
    rows = _store(deploy, rd)
    ids = [r["id"] for r in rows]
    assert len(ids) == N + 5, "store holds %d alerts, want %d" % (len(ids), N + 5)
    assert len(set(ids)) == len(ids), "duplicates in the store"
    assert set(ids) == set(want), "store differs from what was published"
    bad = [r["id"] for r in rows if r.get("seq") != want[r["id"]]]
    assert not bad, "%d stored alerts carry a wrong seq" % len(bad)


@pytest.mark.timeout(150)
def test_agent_sigkilled_mid_stream_stores_each_alert_once(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()
    agent = deploy.start_agent(rd)
    time.sleep(0.3)
    p = deploy.client(pub)
    N = 3000
    signed = publisher_signed(pub.ident, N)
    seqs = _publish_all(p, signed[:1500])
    agent.signal(signal.SIGKILL)   # most likely while it is still receiving and storing
    agent.wait(5)
    seqs.update(_publish_all(p, signed[1500:]))
    deploy.start_agent(rd)
    wait_until(lambda: len(_store(deploy, rd)) >= N, 90.0, interval=1.0,
               what="the restarted agent to store %d alerts" % N)
    time.sleep(1.0)
    ids = [r["id"] for r in _store(deploy, rd)]
    assert len(ids) == N and len(set(ids)) == N and set(ids) == set(seqs), \
        "store: %d rows, %d distinct, want %d" % (len(ids), len(set(ids)), N)


@pytest.mark.timeout(150)
def test_running_agent_survives_broker_restart(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()
    deploy.start_agent(rd)
    p = deploy.client(pub)
    first = publisher_signed(pub.ident, 500, prefix="first")
    seqs = _publish_all(p, first)
    wait_until(lambda: len(_store(deploy, rd)) == 500, 30.0, interval=0.5,
               what="the agent to store 500 alerts")
    deploy.broker.signal(signal.SIGKILL)
    deploy.broker.wait(5)
    time.sleep(0.5)
    deploy.start_broker()
    p2 = deploy.client(pub)
    second = publisher_signed(pub.ident, 500, prefix="second")
    s2 = _publish_all(p2, second)
    assert min(s2.values()) == max(seqs.values()) + 1, "seq did not continue across the restart"
    seqs.update(s2)
    # The agent notices the restart by itself (no pong for 3 heartbeats) and resumes.
    wait_until(lambda: len(_store(deploy, rd)) >= 1000, 30.0, interval=0.5,
               what="the agent to resume after the broker restart")
    time.sleep(0.5)
    ids = [r["id"] for r in _store(deploy, rd)]
    assert len(ids) == 1000 and set(ids) == set(seqs), \
        "store: %d rows, %d distinct, want 1000" % (len(ids), len(set(ids)))


# ---- replay order, entitlement on replay, flow control -----------------------------------

def test_replay_from_cursor_in_order_no_gap_no_dup(deploy):
    pa = deploy.add_member("soc-a", "bank-a", sector="finance", role="publisher")
    rc = deploy.add_member("noc-c", "power-c", sector="energy")
    deploy.start_broker()
    p = deploy.client(pa)
    kinds = [("GREEN", []), ("RED", ["bank-b"]), ("AMBER", ["sector:energy"]),
             ("RED", ["power-c"]), ("AMBER+STRICT", ["bank-b"]), ("AMBER", []),
             ("CLEAR", []), ("AMBER", ["sector:finance"])]
    for_c = {"GREEN": True, "CLEAR": True}
    entitled = []   # seqs noc-c may receive, computed here
    for i in range(400):
        tlp, rcpt = kinds[i % len(kinds)]
        body = ihclient.alert_body(pa.ident, title="r%d" % i, tlp=tlp, recipients=rcpt)
        rep = p.publish_wait(body)
        assert rep is not None and rep["t"] == "ok", rep
        if for_c.get(tlp) or (tlp == "AMBER" and (not rcpt or "sector:energy" in rcpt)) \
                or "power-c" in rcpt:
            entitled.append(rep["seq"])
    head = 400
    assert rep["seq"] == head
    for cursor, window in ((0, 1000), (1, 1000), (137, 1000), (head - 3, 1000), (head, 1000),
                           (0, 7), (250, 3)):
        c = deploy.subscriber(rc, cursor=cursor, window=window)
        want = [s for s in entitled if s > cursor]
        c.wait_items(len(want), 15.0)
        c.drain(0.3)
        assert not c.bad_items, c.bad_items[:3]
        assert c.seqs() == want, "cursor %d window %d: got %d items (first differences %r)" % (
            cursor, window, len(c.seqs()),
            [(a, b) for a, b in zip(c.seqs(), want) if a != b][:3] or (c.seqs()[-3:], want[-3:]))
        c.close()


def test_window_bounds_a_slow_agent_and_never_stalls_others(deploy):
    pub, rd = _members(deploy)
    other = deploy.add_member("noc-x", "bank-x")
    dead_m = deploy.add_member("noc-y", "bank-y")
    deploy.start_broker()
    slow = deploy.subscriber(rd, window=10, auto_ack=False)
    fast = deploy.subscriber(other)
    dead = deploy.client(dead_m, sockopts={zmq.RCVHWM: 1})
    w = dead.hello(cursor=0, window=10000)     # then never reads again
    assert w is not None and w["t"] == "welcome"

    N = 3000
    signed = publisher_signed(pub.ident, N)
    p = deploy.client(pub)
    t0 = time.monotonic()
    oks, errs, left = p.publish_many([(d, s) for d, s, _ in signed], inflight=64, timeout=90,
                                     tick=lambda: (fast.poll(0), slow.poll(0)))
    assert not errs and not left
    assert fast.wait_items(N, 30.0), "fast agent got %d of %d" % (len(fast.items), N)
    elapsed = time.monotonic() - t0
    slow.drain(1.0)
    assert 0 < len(slow.items) <= 10, "window 10, no ack: %d items delivered" % len(slow.items)
    assert fast.seqs() == list(range(1, N + 1))

    # Acknowledging lets the slow one catch up, in order, without gap or duplicate.
    deadline = time.monotonic() + 60
    while len(slow.items) < N and time.monotonic() < deadline:
        slow.ack(slow.seqs()[-1])
        slow.poll(0.05)
        outstanding = slow.seqs()[-1] - slow.last_acked
        assert outstanding <= 10, "%d items beyond the last ack with window 10" % outstanding
    slow.drain(0.3)
    assert slow.seqs() == list(range(1, N + 1)), "slow agent: %d items" % len(slow.items)
    deploy.assert_broker_alive()
    print("fan-out of %d alerts to the fast agent took %.2fs" % (N, elapsed))


def _rss_anon_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon for pid %d" % pid)


@pytest.mark.timeout(200)
def test_stuck_agents_do_not_grow_broker_memory(deploy):
    """Three agents that keep their sessions alive (ping) but never read: the broker's
    anonymous memory must not grow with what they would be owed (invariant 5)."""
    pub, rd = _members(deploy)
    deploy.start_broker()
    stuck = []
    for k in range(3):
        m = deploy.add_member("stuck-%d" % k, "bank-s%d" % k)
        c = deploy.client(m, sockopts={zmq.RCVHWM: 1, zmq.RCVBUF: 4096})
        w = c.hello(cursor=0, window=10000)
        assert w is not None and w["t"] == "welcome", w
        stuck.append(c)
    fast = deploy.subscriber(rd)
    p = deploy.client(pub)
    # Warm up allocators and the journal, then measure.
    _publish_all(p, publisher_signed(pub.ident, 200, prefix="warm", summary="w" * 4000))
    fast.wait_items(200, 10.0)
    time.sleep(0.5)
    before = _rss_anon_kb(deploy.broker.pid)

    N = 8000   # 8000 x ~4.3 KB = ~34 MB owed to each stuck agent
    signed = publisher_signed(pub.ident, N, summary="s" * 4000)
    last = [time.monotonic()]

    def tick():
        fast.poll(0)
        if time.monotonic() - last[0] > 0.4:      # keep the stuck sessions alive, never read
            for c in stuck:
                c.ping()
            last[0] = time.monotonic()
    oks, errs, left = p.publish_many([(d, s) for d, s, _ in signed], inflight=64, timeout=150,
                                     tick=tick)
    assert not errs and not left, (list(errs.items())[:2], len(left))
    assert fast.wait_items(200 + N, 30.0), "reading agent got %d of %d" % (len(fast.items), N + 200)
    time.sleep(1.0)
    after = _rss_anon_kb(deploy.broker.pid)
    growth_mb = (after - before) / 1024.0
    print("broker RssAnon %d kB -> %d kB (+%.1f MB)" % (before, after, growth_mb))
    assert growth_mb < 40, "broker anonymous memory grew by %.1f MB while 3 agents were " \
        "stuck (%.0f MB owed to each)" % (growth_mb, N * 4.3 / 1024)
    deploy.assert_broker_alive()


def test_sigterm_shuts_down_cleanly_and_keeps_the_head(deploy):
    pub, rd = _members(deploy)
    deploy.start_broker()
    p = deploy.client(pub)
    seqs = _publish_all(p, publisher_signed(pub.ident, 50))
    status = os.path.join(deploy.dir, "broker.status")
    wait_until(lambda: os.path.exists(status), 3.0,
               what="broker.status (README.md configuration reference) to be written")
    def head_in_status():
        try:
            with open(status) as f:
                return json.load(f).get("head") == 50
        except ValueError:      # caught mid-rewrite
            return False
    wait_until(head_in_status, 3.0, what="broker.status to report head 50")
    rc = deploy.broker.stop(5.0)
    assert rc == 0, "broker exit status %r on SIGTERM:\n%s" % (rc, deploy.broker.text()[-2000:])
    deploy.start_broker()
    c = deploy.subscriber(rd)
    c.wait_items(50, 5.0)
    c.drain(0.3)
    assert c.seqs() == list(range(1, 51)) and set(c.ids()) == set(seqs)
    r = p.publish_wait(ihclient.alert_body(pub.ident, title="after restart"))
    assert r is not None and r["t"] == "ok" and r["seq"] == 51, r


@pytest.mark.timeout(120)
def test_journal_grows_past_its_initial_map_size(deploy):
    cfg = os.path.join(deploy.dir, "broker.cfg")
    text = open(cfg).read()
    assert 'map-size = "1073741824"' in text
    open(cfg, "w").write(text.replace('map-size = "1073741824"', 'map-size = "1048576"'))
    pub, rd = _members(deploy)
    deploy.start_broker()
    p = deploy.client(pub)
    N = 1500   # ~6.5 MB of bodies into a 1 MiB initial map
    seqs = _publish_all(p, publisher_signed(pub.ident, N, summary="m" * 4000))
    assert sorted(seqs.values()) == list(range(1, N + 1))
    c = _replay_all(deploy, rd, N)
    assert c.seqs() == list(range(1, N + 1)) and set(c.ids()) == set(seqs)
