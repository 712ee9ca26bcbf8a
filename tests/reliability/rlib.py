"""The reliability suite's machinery (issue 12, "The suite"): a world of four orgs on
loopback, publishers that keep going through faults, the measurement of one row, and the
registry of scenarios.

The world is the integration fixtures (tests/integration: conftest.Deployment,
agentlib.Ledger/entitled, gwutil's gateway helpers), reused the way tests/browser does:

    bank-a/finance   soc    publisher   agent running
    telco-b/telecom  noc    publisher   agent running
    uni-c/education  lab    reader      agent running
    energy-d/energy  grid   reader      agent running
    the gateway                         CLEAR only

Each publisher sends its half of the alerts, of every TLP, some for named orgs or a
sector (PLAN), pre-signed, 64 in flight. It is a well-behaved publisher: what the broker
did not answer within PUBLISH_SILENCE seconds it sends again on a new connection, and what
the broker refused it sends again after a pause, each time with the same bytes and
signature, so that an alert the broker had already journaled gets its original seq. On a
new connection it also sends the last RESEND_ANSWERED answered ones again, as a publisher
whose answers were lost with the connection would: each must get the seq it got before.

A scenario is a function of a World that starts it (after any preparation: a small disk,
a proxy), runs a burst, does its fault in the middle, and returns w.row(...):

    @scenario("agent SIGKILLed mid-burst")
    def agent_kill(w):
        w.start()
        w.burst()
        w.wait_acked(1 / 3)
        w.fault_begins()
        ...
        w.fault_ends()
        return w.row(saw=w.saw(agent, r"..."))

w.row waits for the publishers, then for every agent (and the gateway) to hold exactly
its entitlement (the seconds from fault_ends), then counts:

    published    alerts the broker acknowledged (distinct ids)
    received     alerts held: every agent's store (list --json) and the gateway's
    lost         entitled (agentlib.entitled) but not held, summed over the holders; plus
                 any acknowledged alert missing from the journal or renumbered in it
    duplicated   the same (alert id, revision) twice: in an agent's log of deliveries
                 (tail --json --all --from 0), in a store, in the gateway's JSON API, or
                 in the journal (replayed from 0 as each publisher)
    leaked       held but not entitled (the gateway: anything not CLEAR)

Abuse and damage (shared with test_abuse.py): flood() starts one member's flood in another
process (flooder.py), flood_result() reads what it got acknowledged (World.add_extra counts
those alerts at every holder too); World.steady() starts a Steady publisher, one alert at a
time, timed from its send until it is in another member's store (StoreWatch reads the
store beside its daemon); measure_delivered() times to a subscriber instead; pct(), flip()
(a bit of each occurrence of a marker in a file), open_files(pid).
"""
import collections
import contextlib
import errno
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import gwutil  # noqa: E402

cf = gwutil.cf
# agentlib takes wait_until from the module named conftest; outside pytest there is none.
sys.modules.setdefault("conftest", cf)
import agentlib  # noqa: E402
import ihclient  # noqa: E402

ROOT = cf.ROOT
AGENT = cf.AGENT
BROKER = cf.BROKER

PUBLISH_SILENCE = 3.0     # s without any answer while publishes are pending: reconnect
REFUSED_PAUSE = 0.5       # s before a refused publish is sent again
INFLIGHT = 64
RESEND_ANSWERED = 64      # answered publishes sent again on a new connection


# ---- modes -------------------------------------------------------------------------------
class Mode:
    """short: what `make test` runs (tests/reliability/test_reliability.py); full: what
    `make reliability` runs. RELIABILITY_ALERTS and RELIABILITY_STOP override either."""

    def __init__(self, short):
        self.short = short
        self.alerts = int(os.environ.get("RELIABILITY_ALERTS") or (700 if short else 5000))
        self.stop_s = float(os.environ.get("RELIABILITY_STOP") or (5 if short else 60))
        self.outage_s = 2.0 if short else 10.0      # a broker down, a network cut
        self.recover_timeout = 90.0 if short else 300.0

    def __repr__(self):
        return "<%s mode: %d alerts, %.0f s stops>" % ("short" if self.short else "full",
                                                        self.alerts, self.stop_s)


# ---- the registry ------------------------------------------------------------------------
class Scenario:
    def __init__(self, name, fn, root=False, pending=None):
        self.name, self.fn, self.root, self.pending = name, fn, root, pending
        self.slug = fn.__name__ if fn else re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


SCENARIOS = []
RESULTS = []      # the rows test_reliability.py ran, for the summary (conftest.py)


def scenario(name, root=False):
    """Registers fn(world) -> Row as a scenario. root: it mounts a tmpfs."""
    def deco(fn):
        SCENARIOS.append(Scenario(name, fn, root=root))
        return fn
    return deco


def pending(name, why):
    """A scenario someone still has to write (it needs a feature being built): listed
    under the table, skipped by the tests."""
    SCENARIOS.append(Scenario(name, None, pending=why))


# ---- a row -------------------------------------------------------------------------------
class Row:
    COLUMNS = ("scenario", "published", "received", "lost", "duplicated", "leaked",
               "seconds to recover", "what the operator saw")

    def __init__(self, name, published=0, received=0, lost=0, duplicated=0, leaked=0,
                 recover_s=None, saw="", error=None, notes=(), stopped=None, failures=()):
        self.name, self.published, self.received = name, published, received
        self.lost, self.duplicated, self.leaked = lost, duplicated, leaked
        self.recover_s = recover_s      # None: did not recover within the time limit
        self.saw = saw
        self.error = error              # the scenario itself failed (a harness error)
        self.notes = list(notes)        # anything odd, for the report
        self.stopped = stopped          # the message a process stopped with, if it had to
        self.failures = list(failures)  # a scenario's own checks that failed (a latency bound)
        self.sent = None                # the alerts the scenario meant to publish

    def skipped(self):
        return self.error is not None and self.error.startswith("skipped:")

    def ok(self):
        return (self.error is None and self.lost == 0 and self.duplicated == 0
                and self.leaked == 0 and self.recover_s is not None and not self.failures)

    def cells(self):
        if self.error is not None:
            what = self.error if self.skipped() else "FAILED: " + self.error
            return [self.name, "", "", "", "", "", "", shorten(what, 110)]
        rec = "%.1f" % self.recover_s if self.recover_s is not None else "did not recover"
        return [self.name, "%d" % self.published, "%d" % self.received, "%d" % self.lost,
                "%d" % self.duplicated, "%d" % self.leaked, rec, self.saw]


def md_table(rows, pend=()):
    def esc(s):
        return str(s).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(Row.COLUMNS) + " |", "|" + "---|" * len(Row.COLUMNS)]
    for r in rows:
        out.append("| " + " | ".join(esc(c) for c in r.cells()) + " |")
    notes = ["- %s: FAILED: %s" % (r.name, esc(n)) for r in rows for n in r.failures]
    notes += ["- %s: %s" % (r.name, esc(n)) for r in rows for n in r.notes]
    if notes:
        out.append("")
        out += notes
    if pend:
        out.append("")
        out.append("Not in the suite yet (each needs a feature being built; "
                   "tests/reliability/scenarios.py lists them):")
        for s in pend:
            out.append("- %s: %s" % (s.name, s.pending))
    return "\n".join(out) + "\n"


def shorten(s, n=110):
    """One line of at most about n characters: its start and its end (where a message says
    what to do), the middle elided at word boundaries."""
    s = " ".join(str(s).split())
    if len(s) <= n:
        return s
    head = s[:n * 2 // 5]
    head = head[:head.rfind(" ")] if " " in head else head
    tail = s[len(s) - (n - len(head) - 3):]
    tail = tail[tail.find(" ") + 1:] if " " in tail else tail
    return head + " … " + tail


# ---- alerts ------------------------------------------------------------------------------
# (tlp, recipients); OTHER is the other publisher's org. Every level, named orgs, a sector.
PLAN = [("CLEAR", ()), ("GREEN", ()), ("AMBER", ()), ("AMBER", ("sector:energy",)),
        ("AMBER", ("OTHER",)), ("AMBER+STRICT", ("uni-c",)), ("AMBER+STRICT", ("OTHER", "energy-d")),
        ("RED", ("energy-d",)), ("RED", ("nobody-org",)), ("RED", ("OTHER", "uni-c")),
        ("CLEAR", ()), ("GREEN", ())]


def make_alerts(pub, other_org, n, tag):
    out = []
    for i in range(n):
        tlp, rcpt = PLAN[i % len(PLAN)]
        rcpt = [other_org if r == "OTHER" else r for r in rcpt]
        b = ihclient.alert_body(
            pub.ident, title="%s %s %d" % (tag, pub.org, i), tlp=tlp, recipients=rcpt,
            severity=("low", "medium", "high", "critical")[i % 4],
            summary="Reliability run alert %d of %s. " % (i, pub.org) + "Details follow. " * 12,
            iocs=[ihclient.ioc("ipv4", "10.%d.%d.%d" % (hash(pub.org) & 127, i >> 8 & 255, i & 255)),
                  ihclient.ioc("domain", "r%d.%s.example" % (i, pub.org))])
        data = ihclient.pack(b)
        out.append((b, data, ihclient.sign(pub.ident.sign_sk, data)))
    return out


# ---- a publisher that keeps going --------------------------------------------------------
class Publisher(threading.Thread):
    """Publishes items (body, data, sig) in order, INFLIGHT at a time, on its own thread
    (its sockets are its own). release(k) lets the first k go (all, by default)."""

    def __init__(self, deploy, member, items):
        super().__init__(name="pub-" + member.name, daemon=True)
        self.d, self.member, self.items = deploy, member, items
        self.released = len(items)
        self.acked = {}                  # index -> seq
        self.ack_order = []              # indexes, in the order of their first ok
        self.conflicts = []              # (index, first seq, later seq): renumbered
        self.refusals = collections.Counter()
        self.last_refusal = None
        self.reconnects = 0
        self.resent = set()              # indexes sent more than once
        self.stop_flag = False
        self.lock = threading.Lock()

    def release(self, k):
        self.released = min(k, len(self.items))

    def done(self):
        return len(self.acked) == len(self.items)

    def n_acked(self):
        return len(self.acked)

    def run(self):
        c = self.d.client(self.member)
        pending = {}                     # req -> index
        retry = collections.deque()
        retry_at = 0.0
        nxt = 0
        last_answer = time.monotonic()
        while not self.stop_flag and not self.done():
            now = time.monotonic()
            while len(pending) < INFLIGHT:
                if now < retry_at:
                    break
                if retry:
                    i = retry.popleft()
                    self.resent.add(i)
                elif nxt < self.released:
                    i = nxt
                    nxt += 1
                else:
                    break
                _, data, sig = self.items[i]
                if not pending:
                    last_answer = now
                pending[c.publish(data, sig=sig)] = i
            c.poll(0.02)
            now = time.monotonic()
            for req in [r for r in pending if r in c.replies]:
                rep = c.replies.pop(req)
                i = pending.pop(req)
                last_answer = now
                if rep.get("t") == "ok":
                    with self.lock:
                        old = self.acked.get(i)
                        if old is not None and old != rep["seq"]:
                            self.conflicts.append((i, old, rep["seq"]))
                        if old is None:
                            self.acked[i] = rep["seq"]
                            self.ack_order.append(i)
                else:
                    self.refusals[rep.get("code", "?")] += 1
                    self.last_refusal = rep
                    retry.append(i)
                    # rate-limited: nothing more before the broker's retry_after (a
                    # publisher that ignores it is cut off: README, Limits)
                    wait = REFUSED_PAUSE
                    if rep.get("code") == "rate-limited" and rep.get("retry_after"):
                        wait = max(wait, rep["retry_after"] / 1000.0)
                    retry_at = max(retry_at, now + wait)
            if pending and now - last_answer > PUBLISH_SILENCE:
                # the broker is gone or unreachable: a new connection, the same bytes
                c.close()
                c = self.d.client(self.member)
                self.reconnects += 1
                retry.extend(sorted(pending.values()) + self.ack_order[-RESEND_ANSWERED:])
                pending.clear()
                retry_at = now
                last_answer = now
        c.close()


# ---- abuse and damage (the suite's scenarios and tests/reliability/test_abuse.py) ---------
def pct(xs, p):
    """The p-th percentile of xs (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def flip(path, marker):
    """Flips one bit (a letter's case) two bytes into each occurrence of marker in the file
    at path, as a failing disk would, under the program's feet; returns how many."""
    data = open(path, "rb").read()
    offs, at = [], data.find(marker)
    while at >= 0:
        offs.append(at)
        at = data.find(marker, at + 1)
    with open(path, "r+b") as f:
        for off in offs:
            f.seek(off + 2)
            b = f.read(1)
            f.seek(off + 2)
            f.write(bytes([b[0] ^ 0x20]))
    return len(offs)


def flood(member, big, seconds, rate, bodies=False):
    """A flood by member in another process (flooder.py): alerts of about `big` bytes at
    `rate` a second (0: as fast as it can), for `seconds` or until SIGTERM. Its stdout ends
    with "sent N ok N limited N" (with bodies: one "ok JSON" line before it for each alert
    acknowledged; flood_result reads them)."""
    return subprocess.Popen([sys.executable, os.path.join(HERE, "flooder.py"),
                             os.path.join(HERE, "..", "integration"), member.agentdir, str(big),
                             str(seconds), str(rate)] + (["--bodies"] if bodies else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=cf._child_setup)


def flood_result(proc, timeout=60):
    """(the flooder's last line, [acknowledged bodies]) once it ended."""
    out, err = proc.communicate(timeout=timeout)
    lines = out.decode().splitlines()
    acked = [json.loads(l[3:]) for l in lines if l.startswith("ok ")]
    last = lines[-1] if lines else "no output: " + err.decode(errors="replace")[-300:]
    return last, acked


def measure_delivered(deploy, pub, sub, n, every_s):
    """pub publishes n alerts, one every every_s seconds, each awaited (ok) before the next;
    returns (latencies in ms from send to delivery at the subscriber sub, acknowledged ids,
    received ids)."""
    c = deploy.client(pub)
    sent = {}
    ok_ids = []
    for i in range(n):
        b = ihclient.alert_body(pub.ident, title="steady %d" % i)
        t0 = time.monotonic()
        req = c.publish(b)
        sent[b["id"]] = t0
        deadline = t0 + every_s
        while time.monotonic() < deadline or req not in c.replies:
            sub.poll(0.001)
            c.poll(0)
            if time.monotonic() > t0 + 10:
                break
        rep = c.replies.pop(req, None)
        if rep and rep["t"] == "ok":
            ok_ids.append(b["id"])
    sub.drain(1.0)
    got = {}
    for (seq, body, rec, raw), at in zip(sub.items, sub.item_times):
        if body["id"] in sent and body["id"] not in got:
            got[body["id"]] = at
    lat = [(got[i] - sent[i]) * 1000.0 for i in got]
    ids = [body["id"] for _, body, _, _ in sub.items if body["id"] in sent]
    return lat, ok_ids, ids


class StoreWatch:
    """Reads an agent's store (LMDB, read-only, beside the daemon that writes it): which
    alert ids it holds now. agents/ih_store.h: the alerts database, keyed by id."""

    def __init__(self, store):
        import lmdb
        self.lmdb = lmdb
        self.env = lmdb.open(store, readonly=True, lock=True, max_dbs=16, subdir=True)
        self.db = self.env.open_db(b"alerts", create=False)

    def held(self, ids):
        try:
            with self.env.begin() as txn:
                return [i for i in ids if txn.get(i.encode(), db=self.db) is not None]
        except self.lmdb.MapResizedError:
            self.env.set_mapsize(0)         # the daemon grew its map
            return []

    def close(self):
        self.env.close()


class Steady(Publisher):
    """A well-behaved member's steady publishing, one alert every every_s seconds, each
    awaited (ok) before the next, with the time from its send until it is stored in the
    store of another member's agent (a StoreWatch): publish -> stored, as that member sees
    it. A Publisher, so that the row counts its alerts like the burst's."""

    def __init__(self, deploy, member, items, every_s, store):
        super().__init__(deploy, member, items)
        self.every_s, self.store = every_s, store
        self.sent_at = {}
        self.stored_at = {}

    def run(self):
        watch = StoreWatch(self.store)
        c = self.d.client(self.member)
        waiting = {}                     # id -> index, sent and not yet stored

        def look():
            now = time.monotonic()
            for aid in watch.held(list(waiting)):
                self.stored_at[waiting.pop(aid)] = now
        try:
            for i, (body, data, sig) in enumerate(self.items):
                if self.stop_flag:
                    break
                t0 = time.monotonic()
                self.sent_at[i] = t0
                waiting[body["id"]] = i
                while True:
                    req = c.publish(data, sig=sig)
                    rep = None
                    while rep is None and time.monotonic() < t0 + 30:
                        c.poll(0.001)
                        rep = c.replies.pop(req, None)
                        look()
                    if rep is not None and rep.get("t") == "ok":
                        with self.lock:
                            self.acked[i] = rep["seq"]
                            self.ack_order.append(i)
                        break
                    self.refusals[(rep or {}).get("code", "no answer")] += 1
                    time.sleep(max(REFUSED_PAUSE, (rep or {}).get("retry_after", 0) / 1000.0))
                while time.monotonic() < t0 + self.every_s:
                    look()
                    time.sleep(0.001)
            deadline = time.monotonic() + 30
            while waiting and time.monotonic() < deadline:
                look()
                time.sleep(0.001)
        finally:
            c.close()
            watch.close()

    def latencies(self):
        """ms from send to stored, of the alerts stored."""
        return [(self.stored_at[i] - self.sent_at[i]) * 1000.0 for i in self.stored_at]


def open_files(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# ---- the gateway -------------------------------------------------------------------------
class Gateway(gwutil.GatewayEnv):
    """gwutil.GatewayEnv's gateway process and HTTP helpers, on this world's members (its
    constructor would add its own members and start the broker)."""

    def __init__(self, deploy):      # not GatewayEnv.__init__: see above
        self.d = deploy
        self.clients = {}
        self.cfg = os.path.join(deploy.dir, "gateway.cfg")
        self.port = int(ihclient.zpl_load(self.cfg).require("gateway/http/port"))
        self.gw = None

    def healthz(self):
        try:
            s, _, b = self.get("/healthz", timeout=2.0)
            return json.loads(b) if s in (200, 503) else None
        except (OSError, ValueError):
            return None

    def api_alerts(self):
        """Every alert the JSON API lists, page by page."""
        out, nxt = [], None
        for _ in range(1000):
            q = "/api/v1/alerts?limit=500" + ("&next=" + nxt if nxt else "")
            page = self.get_json(q)
            out += page["alerts"]
            nxt = page.get("next")
            if not nxt:
                return out
        raise AssertionError("the gateway's API pages do not end")

    def store_cfg(self, path):
        """An agent.cfg that reads the gateway's store (list --json sees what it holds,
        not only what it shows)."""
        node = ihclient.zpl_load(self.cfg)
        store = node.require("gateway/store")
        if not os.path.isabs(store):
            store = os.path.join(self.d.dir, store)
        with open(path, "w") as f:
            f.write('agent\n    name = "gateway"\n    org = "public"\n'
                    '    curve-cert = "%s"\n    signing-key = "none"\n    registry-key = "%s"\n'
                    '    store = "%s"\n    broker\n        endpoint = "%s"\n'
                    '        public-key = "%s"\n'
                    % (os.path.join(self.d.dir, node.require("gateway/curve-cert")),
                       node.require("gateway/registry-key"), store,
                       node.require("gateway/broker/endpoint"),
                       node.require("gateway/broker/public-key")))
        return path


# ---- the world ---------------------------------------------------------------------------
class World:
    ORGS = (("soc", "bank-a", "finance", "publisher"), ("noc", "telco-b", "telecom", "publisher"),
            ("lab", "uni-c", "education", "reader"), ("grid", "energy-d", "energy", "reader"))

    def __init__(self, base, mode, name="run"):
        self.mode, self.name = mode, name
        os.makedirs(base, exist_ok=True)
        self.d = cf.Deployment(base).init()
        self.members = [self.d.add_member(n, o, sector=s, role=r) for n, o, s, r in self.ORGS]
        self.pubs = [m for m in self.members if m.role == "publisher"]
        self.readers = [m for m in self.members if m.role == "reader"]
        self.gw = Gateway(self.d)
        self.publishers = []
        self.items = {}                   # id -> body, everything ever sent
        self.extra = []                   # bodies acknowledged outside the publishers (a flood's)
        self.fault_t0 = self.fault_t1 = None
        self.log_marks = {}
        self.mounts = []
        self.proxies = []
        self.notes = []
        self.stopped = None

    # ---- processes
    def start(self):
        self.d.start_broker()
        for m in self.members:
            self.d.start_agent(m)
        self.gw.start_gateway()
        return self

    def agent(self, m):
        return self.d.agents[m.name]

    def member(self, org):
        return next(m for m in self.members if m.org == org)

    def restart_agent(self, m):
        return self.d.start_agent(m)

    # ---- publishing
    def burst(self, n=None, release=None):
        """Starts both publishers on n alerts (the mode's by default), half each; release:
        the fraction let go now (the rest with release_all)."""
        n = n or self.mode.alerts
        a, b = self.pubs
        new = []
        for pub, other, k in ((a, b.org, (n + 1) // 2), (b, a.org, n // 2)):
            items = make_alerts(pub, other, k, self.name)
            for body, _, _ in items:
                self.items[body["id"]] = body
            p = Publisher(self.d, pub, items)
            if release is not None:
                p.release(int(len(items) * release))
            new.append(p)
        self.publishers += new
        for p in new:
            p.start()

    def release_all(self):
        for p in self.publishers:
            p.release(len(p.items))

    def n_acked(self):
        return sum(p.n_acked() for p in self.publishers)

    def n_items(self):
        return sum(len(p.items) for p in self.publishers)

    def wait_acked(self, fraction, timeout=None):
        """Until that fraction of the burst is acknowledged (released items only)."""
        burst = [p for p in self.publishers if not isinstance(p, Steady)]
        want = int(sum(p.released for p in burst) * fraction)
        cf.wait_until(lambda: sum(p.n_acked() for p in burst) >= want,
                      timeout or self.mode.recover_timeout,
                      interval=0.005, what="%d acknowledged publishes" % want)

    def wait_published(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.mode.recover_timeout)
        for p in self.publishers:
            p.join(max(0.1, deadline - time.monotonic()))
        ok = all(p.done() for p in self.publishers)
        if not ok:
            for p in self.publishers:
                p.stop_flag = True
                p.join(5)
            self.notes.append("publishers gave up with %d of %d acknowledged (refusals %s)"
                              % (self.n_acked(), self.n_items(),
                                 dict(sum((p.refusals for p in self.publishers), collections.Counter()))))
        return ok

    # ---- faults
    def fault_begins(self):
        self.fault_t0 = time.monotonic()
        self.log_marks = {p.log: len(p.text()) for p in self.d.procs}

    def fault_ends(self):
        self.fault_t1 = time.monotonic()

    def mount_tmpfs(self, path, size):
        if os.geteuid() != 0:
            raise Skip("needs root (mount -t tmpfs)")
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Skip("cannot mount a tmpfs: %s" % r.stderr.decode(errors="replace").strip())
        self.mounts.append(path)
        return path

    def resize_tmpfs(self, path, size):
        subprocess.run(["mount", "-o", "remount,size=%s" % size, path], check=True)

    def fill_disk(self, path, leave=0):
        """Fills the filesystem at path with a file of zeros (path/filler), as a log or a
        backup would, up to its last byte and then gives back `leave` bytes, for the
        program to fill itself; returns the filler's size."""
        n = 0
        with open(os.path.join(path, "filler"), "wb", buffering=0) as f:
            for chunk in (b"\0" * (1 << 20), b"\0" * 512):
                while True:
                    try:
                        n += f.write(chunk)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
            n = max(0, n - leave)
            f.truncate(n)
        return n

    def proxy(self):
        from proxy import Proxy
        p = Proxy(("127.0.0.1", self.d.port)).start()
        self.proxies.append(p)
        return p

    # ---- what the operator saw
    def saw(self, proc, pattern, since_fault=True, timeout=0.0, width=160):
        """The first line of proc's log (a cf.Proc, or a path) matching pattern, after the
        fault began; waits up to timeout for it. Cut to about width characters."""
        deadline = time.monotonic() + timeout
        while True:
            text = proc.text() if hasattr(proc, "text") else open(proc, errors="replace").read()
            start = self.log_marks.get(getattr(proc, "log", proc), 0) if since_fault else 0
            for line in text[start:].splitlines():
                line = self.relative(line)      # not the run's directory's name
                if re.search(pattern, line):
                    return shorten(line, width)
            if time.monotonic() >= deadline:
                return ""
            time.sleep(0.1)

    def relative(self, line):
        """Paths in a log line made relative to the run's directory (the table is read, not
        the tree), those a program shortened from the start too ("...ld/x/agents/...")."""
        line = line.strip().replace(self.d.base + "/", "")
        return re.sub(r"\.\.\.\S*?/(agents|dep)/", r"\1/", line)

    # ---- measuring
    def agent_status(self, m):
        r = subprocess.run([AGENT, "-c", m.cfg, "status", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        try:
            return json.loads(r.stdout.decode())
        except ValueError:
            return None

    def ledger(self):
        led = agentlib.Ledger()
        for p in self.publishers:
            for i in sorted(p.acked):
                led.alert(p.items[i][0])
        for b in self.extra:
            led.alert(dict(b, iocs=b.get("iocs", [])))
        return led

    def add_extra(self, bodies):
        """Alerts acknowledged to someone other than the publishers (a flooder): counted
        at every holder like the others (not in the journal's check, which replays the
        publishers' own)."""
        for b in bodies:
            self.items[b["id"]] = b
            self.extra.append(b)

    def steady(self, member, n, every_s, at):
        """A Steady publisher of member's n GREEN alerts (every agent's), timed to the store
        of `at` (a member); started, and counted in the row."""
        items = []
        for i in range(n):
            b = ihclient.alert_body(member.ident, title="%s steady %s %d" % (self.name, member.org, i),
                                    tlp="GREEN", summary="A steady alert. " * 20,
                                    iocs=[ihclient.ioc("domain", "s%d-%d.%s.example"
                                                       % (len(self.publishers), i, member.org))])
            data = ihclient.pack(b)
            items.append((b, data, ihclient.sign(member.ident.sign_sk, data)))
            self.items[b["id"]] = b
        p = Steady(self.d, member, items, every_s, os.path.join(at.agentdir, "store"))
        self.publishers.append(p)
        p.start()
        return p

    def broker_stats(self):
        """The broker's counters (status, as a member asks for them)."""
        c = self.d.client(self.members[2])
        try:
            return json.loads(c.status()["json"])
        finally:
            c.close()

    def holds_exactly(self, led):
        """Counts only (cheap, polled): each agent's store and the gateway hold as many
        alerts as they are entitled to. The row checks ids, revisions and logs."""
        for m in self.members:
            st = self.agent_status(m)
            if not st or st.get("alerts") != len(led.expected(m)):
                return False
        h = self.gw.healthz()
        return bool(h) and h.get("alerts") == len(led.expected(self.d.gateway))

    def wait_recovered(self, led):
        deadline = time.monotonic() + self.mode.recover_timeout
        while time.monotonic() < deadline:
            if self.holds_exactly(led):
                return time.monotonic()
            time.sleep(0.1)
        return None

    def agent_log(self, m, upto):
        """The store's log of deliveries: `tail --json --all --from 0`, read until it shows
        seq upto (or stays quiet for 2 s)."""
        p = subprocess.Popen([AGENT, "-c", m.cfg, "tail", "--json", "--all", "--from", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, buf, quiet = [], b"", time.monotonic()
        fd = p.stdout.fileno()
        try:
            while True:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        break
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line.strip():
                            out.append(json.loads(line))
                    quiet = time.monotonic()
                    if out and out[-1].get("seq", 0) >= upto:
                        break
                elif time.monotonic() - quiet > 2.0:
                    break
        finally:
            p.terminate()
            p.wait(10)
        return out

    def journal(self):
        """Replays the journal from 0 as each publisher (entitled to all it published):
        {id: [seqs]} of its own alerts."""
        seqs = collections.defaultdict(list)
        for pub in self.pubs:
            c = self.d.subscriber(pub)
            own = sum(1 for b in self.items.values() if b["org"] == pub.org)
            c.wait_items(own, timeout=60)
            # until the replay reached the last seq the broker holds for it (owed, from
            # welcome and pong), or stays quiet: a pause of a loaded machine is not the end
            deadline = time.monotonic() + 120
            n = -1
            while time.monotonic() < deadline:
                top = max((s for s, _, _, _ in c.items), default=0)
                if c.owed is not None and top >= c.owed:
                    break
                if n == len(c.items) and c.owed is None:
                    break
                n = len(c.items)
                c.drain(0.5)
            for s, b, _, _ in c.items:
                if b.get("k") == "alert" and b["org"] == pub.org:
                    seqs[(b["id"], b["rev"])].append(s)
            if c.bad_items:
                self.notes.append("journal replay: %d items failed verification, e.g. %s"
                                  % (len(c.bad_items), c.bad_items[0]))
            c.close()
        return seqs

    def row(self, saw="", led=None):
        """Waits for the publishers and for recovery, then counts (see the module's doc)."""
        if self.fault_t1 is None:
            self.fault_ends()
        self.wait_published()
        led = led or self.ledger()
        t = self.wait_recovered(led)
        recover = None if t is None else max(0.0, t - self.fault_t1)
        published = len(led.alerts)
        received = lost = dup = leaked = 0
        # agents
        for m in self.members:
            rows = self.d.agent_list(m)
            ids = [r["id"] for r in rows]
            exp = led.expected(m)
            held = set(ids)
            received += len(ids)
            lost += len(set(exp) - held)
            dup += len(ids) - len(held)
            for i in held:
                body = self.items.get(i)
                if body is None or not agentlib.entitled(m, body["tlp"], body["org"], body["recipients"]):
                    leaked += 1
            st = self.agent_status(m) or {}
            log = self.agent_log(m, st.get("cursor", 0))
            seen = collections.Counter((e.get("id"), e.get("revision")) for e in log
                                       if e.get("kind", "alert") == "alert" and "id" in e)
            dup += sum(c - 1 for c in seen.values() if c > 1)
            rejected = sum(1 for e in log if e.get("kind") == "rejected")
            if rejected:
                self.notes.append("%s@%s logged %d rejected deliveries" % (m.name, m.org, rejected))
            if not self.agent(m).alive():
                self.notes.append("%s@%s's agent is not running (rc %s)"
                                  % (m.name, m.org, self.agent(m).p.returncode))
        # the gateway: what it holds (its store) and what it shows (its API)
        gcfg = self.gw.store_cfg(os.path.join(self.d.base, "gateway-reader.cfg"))
        r = subprocess.run([AGENT, "-c", gcfg, "list", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            self.notes.append("list of the gateway's store failed: %s"
                              % shorten(r.stderr.decode(errors="replace")))
        grows = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
        gexp = led.expected(self.d.gateway)
        gids = [x["id"] for x in grows]
        received += len(gids)
        lost += len(set(gexp) - set(gids))
        dup += len(gids) - len(set(gids))
        shown = self.gw.api_alerts()
        api = [(a["id"], a.get("revision")) for a in shown]
        dup += len(api) - len(set(api))

        def public(x):
            body = self.items.get(x["id"])
            return x.get("tlp", "CLEAR") == "CLEAR" and body is not None and body["tlp"] == "CLEAR"
        # held (its store) or shown (its API): one leak per alert
        leaked += len({x["id"] for x in grows + shown if not public(x)})
        if len(set(api)) != len(gexp):
            self.notes.append("the gateway's API lists %d alerts, %d are CLEAR"
                              % (len(set(api)), len(gexp)))
        # the journal: each acknowledged alert once, at the seq it was acknowledged with
        js = self.journal()
        for key, s in js.items():
            dup += len(s) - 1
        for p in self.publishers:
            for i, seq in p.acked.items():
                b = p.items[i][0]
                if js.get((b["id"], b["rev"]), [None])[0] != seq:
                    lost += 1
                    self.notes.append("acknowledged alert %s (seq %d) missing or renumbered in "
                                      "the journal" % (b["id"], seq))
            dup += len(p.conflicts)
            if p.conflicts:
                self.notes.append("%s: a resend got another seq than the first ok, e.g. %r"
                                  % (p.member.name, p.conflicts[0]))
        row = Row(self.name, published, received, lost, dup, leaked, recover, saw,
                  notes=self.notes, stopped=self.stopped)
        row.sent = self.n_items() + len(self.extra)
        return row

    # ---- the end
    def close(self, out=None):
        for p in self.publishers:
            p.stop_flag = True
        for p in self.publishers:
            p.join(5)
        for p in self.proxies:
            p.close()
        with contextlib.redirect_stdout(out or io.StringIO()):
            self.d.teardown()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Skip(Exception):
    """The scenario cannot run here (not root, no mount)."""


def run_scenario(sc, mode, base, keep_logs=None):
    """Runs one scenario on a fresh world under base/; returns its Row (error set when the
    scenario itself failed). keep_logs: a file for the processes' last log lines."""
    w = None
    try:
        w = World(os.path.join(base, sc.slug), mode, name=sc.name)
        return sc.fn(w)
    except Skip as e:
        return Row(sc.name, error="skipped: %s" % e)
    except KeyboardInterrupt:
        raise
    except BaseException as e:          # pytest.fail raises an OutcomeException
        msg = getattr(e, "msg", None) or str(e) or type(e).__name__
        return Row(sc.name, error="%s: %s" % (type(e).__name__, msg),
                   notes=w.notes if w else ())
    finally:
        if w is not None:
            buf = io.StringIO()
            w.close(buf)
            if keep_logs:
                with open(keep_logs, "a") as f:
                    f.write("==== %s\n%s\n" % (sc.name, buf.getvalue()))


def clean(base):
    """Removes a previous run's directories (unmounting any tmpfs left behind first)."""
    if not os.path.isdir(base):
        return
    with open("/proc/mounts") as f:
        mounts = [l.split()[1] for l in f]
    for m in sorted(mounts, key=len, reverse=True):
        if m.startswith(os.path.abspath(base) + "/"):
            subprocess.run(["umount", "-l", m], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(base, ignore_errors=True)
