"""The fault scenarios of the reliability suite, in the order of the table. Each is a
function of a fresh World (rlib.py) that returns its Row; @scenario registers it.

To add one (a feature's owner does, when the feature lands): write

    @scenario("what happens, in a few words")
    def my_fault(w):
        w.start()                 # broker, four agents, the gateway (prepare before)
        w.burst()                 # both publishers, w.mode.alerts alerts in all
        w.wait_acked(1 / 3)       # mid-burst
        w.fault_begins()          # logs are read from here for what the operator saw
        ...                       # the fault, and its end (restart, heal, room again)
        w.fault_ends()            # "seconds to recover" counts from here
        return w.row(saw=w.saw(process, r"the line that tells the operator"))

tests/reliability/test_reliability.py runs it in short mode, `make reliability` in full
mode. A scenario with checks of its own beyond the counting (a latency bound) appends
what failed to row.failures.
"""
import collections
import json
import os
import re
import signal
import subprocess
import threading
import time

import agentlib
import rlib
import zmq
from rlib import scenario


def truncate_half(path):
    """Cuts the file to half its size (the issue's `truncate -s 50%`; GNU truncate has no
    percentages)."""
    os.truncate(path, os.path.getsize(path) // 2)


def refused_to_start(w, proc, what, timeout=20):
    rc = proc.wait(timeout)
    if rc is None:
        proc.kill()
        raise AssertionError("%s started on damaged storage instead of refusing" % what)
    lines = [l for l in proc.text().splitlines() if l.strip()]
    if rc == 0 or rc < 0 or len(lines) != 1:
        raise AssertionError("%s: exit %s with %d lines (want one line and exit 1): %r"
                             % (what, rc, len(lines), lines[-3:]))
    w.stopped = lines[0].strip()
    return rlib.shorten(w.relative(w.stopped), 160)


# ---- 1. the broker killed ----------------------------------------------------------------
@scenario("broker SIGKILLed mid-burst")
def broker_sigkill(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    w.fault_begins()
    w.d.broker.signal(signal.SIGKILL)
    w.d.broker.wait(5)
    time.sleep(w.mode.outage_s)
    b = w.d.start_broker()
    w.fault_ends()
    row = w.row()
    # Resent publishes the broker had journaled before it died must get their original seq
    # (w.row counts any other as duplicated); say how many there were.
    m = re.search(r"journal head (\d+)", b.text())
    head = int(m.group(1)) if m else 0
    resent = [(p, i) for p in w.publishers for i in p.resent]
    again = sum(1 for p, i in resent if p.acked.get(i, head + 1) <= head)
    row.notes.append("the broker restarted with journal head %d; the publishers sent %d "
                     "publishes again (the unanswered, and the last %d answered each), %d of them "
                     "journaled before the kill: each got its original seq"
                     % (head, len(resent), rlib.RESEND_ANSWERED, again))
    # The agents do not notice a dead broker before it is back: what the operator sees is
    # the restarted broker and the agents' reconnection.
    lab = w.agent(w.member("uni-c"))
    row.saw = w.saw(lab, r"broker|reconnect|hello|connected") or w.saw(w.d.broker, r".")
    return row


# ---- 2. an agent killed ------------------------------------------------------------------
@scenario("agent SIGKILLed mid-burst")
def agent_sigkill(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    m = w.member("uni-c")
    w.fault_begins()
    a = w.agent(m)
    a.signal(signal.SIGKILL)
    a.wait(5)
    time.sleep(1)
    a = w.restart_agent(m)
    w.fault_ends()
    row = w.row()
    row.saw = w.saw(a, r"connected to") or w.saw(a, r".")
    return row


# ---- 3. an agent stopped -----------------------------------------------------------------
@scenario("agent SIGSTOPped, then SIGCONT")
def agent_sigstop(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    m = w.member("energy-d")
    a = w.agent(m)
    w.fault_begins()
    a.signal(signal.SIGSTOP)
    time.sleep(w.mode.stop_s)
    a.signal(signal.SIGCONT)
    w.fault_ends()
    row = w.row()
    # the broker says it, while the agent cannot
    row.saw = (w.saw(w.d.broker, r"session of grid@energy-d ended") or
               w.saw(a, r"no answer|connected to"))
    row.name = "agent SIGSTOPped %d s, then SIGCONT" % w.mode.stop_s
    return row


# ---- 4. a full disk at an agent ----------------------------------------------------------
# The store (or the journal) on a tmpfs of its own, filled by another file after the first
# third of the burst (held back while the disk fills: a short burst outruns the filling)
# but for LEFT bytes, which the store (the journal) then fills itself, as it would when
# its own growth fills the disk; the heal gives the filesystem room again (remount, larger).
DISK = "64m"
MORE_DISK = "128m"
LEFT = 256 << 10


@scenario("agent's disk full, then room again", root=True)
def agent_disk_full(w):
    m = w.member("energy-d")
    mnt = w.mount_tmpfs(os.path.join(w.d.base, "disk-" + m.name), DISK)
    agentlib.set_cfg(m, store=os.path.join(mnt, "store"))
    w.start()
    a = w.agent(m)
    w.burst(release=1 / 3)
    w.wait_acked(1.0)
    w.fault_begins()
    w.fill_disk(mnt, leave=LEFT)
    w.release_all()
    saw = ""
    deadline = time.monotonic() + w.mode.recover_timeout
    while not saw and time.monotonic() < deadline:
        saw = w.saw(a, r"disk full|No space", timeout=0.5)
        if not a.alive():
            # not a way to say it: SIGSEGV here once (agents/ih_related.c aborted a
            # transaction whose commit had failed on the full disk)
            said = [l for l in a.text().splitlines() if l[:2] in ("W ", "E ")] or ["nothing"]
            raise AssertionError("the agent died (exit %s) on its full disk, after: %s"
                                 % (a.p.returncode, rlib.shorten(w.relative(said[-1]), 120)))
    if not saw:
        raise AssertionError("the agent never said its disk was full")
    if not w.wait_published():
        raise AssertionError("the publishers did not finish while the agent's disk was full")
    time.sleep(w.mode.outage_s)
    w.resize_tmpfs(mnt, MORE_DISK)
    w.fault_ends()
    return w.row(saw=saw)


# ---- 5. a full disk at the broker --------------------------------------------------------
def set_broker_cfg(w, key, value):
    path = os.path.join(w.d.dir, "broker.cfg")
    with open(path) as f:
        lines = f.read().splitlines()
    for i, l in enumerate(lines):
        if l.strip().startswith(key + " ="):
            lines[i] = '    %s = "%s"' % (key, value)
            break
    else:
        raise AssertionError("broker.cfg has no %s" % key)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


@scenario("broker's disk full, then room again", root=True)
def broker_disk_full(w):
    mnt = w.mount_tmpfs(os.path.join(w.d.base, "disk-broker"), DISK)
    set_broker_cfg(w, "journal", os.path.join(mnt, "journal"))
    w.start()
    w.burst(release=1 / 3)
    w.wait_acked(1.0)
    w.fault_begins()
    w.fill_disk(mnt, leave=LEFT)
    w.release_all()

    def refused():
        return sum(sum(p.refusals.values()) for p in w.publishers)
    deadline = time.monotonic() + w.mode.recover_timeout
    while not refused() and time.monotonic() < deadline and w.n_acked() < w.n_items():
        time.sleep(0.05)
    if not refused():
        raise AssertionError("the broker never refused a publish on its full disk")
    time.sleep(w.mode.outage_s)       # the publishers keep retrying, and are refused
    w.d.assert_broker_alive()
    w.resize_tmpfs(mnt, MORE_DISK)
    w.fault_ends()
    row = w.row()
    row.saw = (w.saw(w.d.broker, r"disk full", timeout=0, width=220) or
               w.saw(w.d.broker, r"journal|disk|space", timeout=0))
    codes = sum((p.refusals for p in w.publishers), collections.Counter())
    row.notes.append("publishers were refused %s, and sent them again until accepted"
                     % ", ".join("%d times `%s`" % (n, c) for c, n in codes.items()))
    return row


# ---- 6. the network --------------------------------------------------------------------
def behind_proxy(w, m):
    """Points m's agent at a proxy of its own."""
    p = w.proxy()
    with open(m.cfg) as f:
        text = f.read()
    old = 'endpoint = "%s"' % w.d.endpoint
    assert old in text, "agent.cfg has no %s" % old
    with open(m.cfg, "w") as f:
        f.write(text.replace(old, 'endpoint = "tcp://127.0.0.1:%d"' % p.port))
    return p


@scenario("network cut, then healed")
def network_cut(w):
    m = w.member("energy-d")
    p = behind_proxy(w, m)
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    w.fault_begins()
    p.cut()
    time.sleep(w.mode.stop_s)
    p.heal()
    w.fault_ends()
    row = w.row()
    a = w.agent(m)
    row.saw = w.saw(a, r"no answer|handshake|connect") or w.saw(w.d.broker, r"grid@energy-d")
    row.name = "network cut %d s, then healed" % w.mode.stop_s
    return row


@scenario("network stalled (connections kept, nothing passes), then healed")
def network_stall(w):
    m = w.member("uni-c")
    p = behind_proxy(w, m)
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    w.fault_begins()
    p.stall()
    time.sleep(w.mode.stop_s)
    p.heal()
    w.fault_ends()
    row = w.row()
    a = w.agent(m)
    row.saw = w.saw(a, r"no answer|handshake|connect") or w.saw(w.d.broker, r"lab@uni-c")
    row.name = "network stalled %d s (connections kept), then healed" % w.mode.stop_s
    return row


# ---- 7. a truncated store ----------------------------------------------------------------
@scenario("agent's store truncated; moved away, rebuilt from the broker")
def store_truncated(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    m = w.member("uni-c")
    a = w.agent(m)
    w.fault_begins()
    if a.stop() != 0:
        raise AssertionError("the agent did not stop cleanly on SIGTERM")
    store = os.path.join(m.agentdir, "store")
    data = os.path.join(store, "data.mdb")
    truncate_half(data)
    saw = refused_to_start(w, w.d.start_agent(m), "the agent")
    # What the line says to do: move the store away; the agent rebuilds from the broker.
    os.rename(store, store + ".damaged")
    w.restart_agent(m)
    w.fault_ends()
    return w.row(saw=saw)


# ---- 8. a truncated journal --------------------------------------------------------------
@scenario("broker's journal truncated; a copy restored")
def journal_truncated(w):
    w.start()
    w.burst(release=2 / 3)
    w.wait_acked(1.0)
    journal = os.path.join(w.d.dir, "journal")
    copy = journal + ".copy"
    os.makedirs(copy)
    # the operator's copy, taken after the burst (mdb_copy works on a live journal)
    subprocess.run(["mdb_copy", journal, copy], check=True)
    w.fault_begins()
    if w.d.broker.stop() != 0:
        raise AssertionError("the broker did not stop cleanly on SIGTERM")
    truncate_half(os.path.join(journal, "data.mdb"))
    saw = refused_to_start(w, w.d.start_broker(wait=False), "the broker")
    # What the line says to do: restore a copy (mdb_copy), start again.
    os.rename(journal, journal + ".damaged")
    os.rename(copy, journal)
    w.d.start_broker()
    w.fault_ends()
    w.release_all()
    return w.row(saw=saw)


# ---- 9. the gateway ----------------------------------------------------------------------
@scenario("gateway SIGKILLed mid-burst")
def gateway_sigkill(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    w.fault_begins()
    w.gw.gw.signal(signal.SIGKILL)
    w.gw.gw.wait(5)
    w.gw.start_gateway()
    w.fault_ends()
    row = w.row()
    row.saw = w.saw(w.gw.gw, r"connected to") or w.saw(w.gw.gw, r".")
    return row



# ---- 10. the console ---------------------------------------------------------------------
@scenario("console SIGKILLed mid-burst, restarted")
def console_sigkill(w):
    import consoleutil
    w.start()
    m = w.member("uni-c")
    env = consoleutil.ConsoleEnv(w.d)
    env.wait_connected(m)
    pw, secret, _ = env.add_user(m, "ana", "analyst")
    port = rlib.cf.free_port()          # the same port after the restart

    def start_console():
        p = w.d.spawn("console-" + m.name, [consoleutil.CONSOLE, "-c", m.cfg,
                                            "--bind", "127.0.0.1:%d" % port])
        rlib.cf.wait_until(lambda: serves(p), 15, what="the console on port %d" % port)
        return p

    def serves(p):
        if not p.alive():
            raise AssertionError("the console exited with %s: %s"
                                 % (p.p.returncode, p.text()[-500:]))
        try:
            return consoleutil.Session(port).get("/login")[0] == 200
        except OSError:
            return False
    con = start_console()
    s = consoleutil.Session(port).login("ana", pw, consoleutil.oathtool(secret))
    # a reader on the console all along, as an analyst's browser would be
    pages = {"ok": 0, "failed": 0}
    stop = threading.Event()

    def reader():
        r = consoleutil.Session(port)
        r.cookie = s.cookie
        while not stop.is_set():
            try:
                pages["ok" if r.get("/alerts")[0] == 200 else "failed"] += 1
            except OSError:
                pages["failed"] += 1
            time.sleep(0.05)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    w.burst()
    w.wait_acked(1 / 3)
    w.fault_begins()
    con.signal(signal.SIGKILL)
    con.wait(5)
    time.sleep(1)
    con = start_console()
    w.fault_ends()
    row = w.row()
    stop.set()
    t.join(10)
    # The session survived the restart (sessions are kept in the accounts database), and
    # the console shows what the agent holds: each entitled alert once, none other.
    st, _, body = s.get("/export?format=jsonl&tlp_max=RED")
    if st != 200:
        row.failures.append("the console's export answered %d after the restart" % st)
    ids = [json.loads(l).get("id") for l in body.splitlines() if l.strip()]
    exp = w.ledger().expected(m)
    shown = set(ids)
    row.lost += len(set(exp) - shown)
    row.leaked += len(shown - set(exp))
    row.notes.append("after the restart the analyst's session still works; its export lists "
                     "%d alerts (%d entitled); %d pages read during the run, %d failed (while "
                     "it was down)" % (len(shown), len(exp), pages["ok"], pages["failed"]))
    row.saw = w.saw(con, r"serving", since_fault=False) or w.saw(con, r".", since_fault=False)
    return row


# ---- 11. a bit-flipped store -------------------------------------------------------------
def wait_in_file(path, marker, timeout=60):
    rlib.cf.wait_until(lambda: marker in open(path, "rb").read(), timeout,
                       what="%r in %s" % (marker, path))


@scenario("agent's store bit-flipped; verify names it, moved away, rebuilt from the broker")
def store_bitflip(w):
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    m = w.member("uni-c")
    a = w.agent(m)
    store = os.path.join(m.agentdir, "store")
    data = os.path.join(store, "data.mdb")
    # bank-a's alert 12 (CLEAR: every agent's) in uni-c's store, a bit of its summary
    marker = b"run alert 12 of bank-a."
    wait_in_file(data, marker)
    w.fault_begins()
    if a.stop() != 0:
        raise AssertionError("the agent did not stop cleanly on SIGTERM")
    if rlib.flip(data, marker) < 1:
        raise AssertionError("no %r in the store" % marker)
    # The daemon runs on (a flipped bit is no reason to stop receiving); its scrub finds
    # the damage and says so once; status says DAMAGED (exit 1).
    a = w.restart_agent(m)
    t0 = time.monotonic()

    def damaged():
        r = w.d.agent_cmd(m, "status", "--json", check=False)
        st = json.loads(r.stdout.decode() or "{}")
        return r.returncode == 1 and st.get("storage", {}).get("state") == "damaged"
    rlib.cf.wait_until(damaged, 60, what="status to say the store is damaged")
    found_s = time.monotonic() - t0
    said = w.saw(a, r"is damaged")
    r = w.d.agent_cmd(m, "verify", check=False)
    out = r.stdout.decode()
    named = [l for l in out.splitlines() if l.startswith("damaged: ")]
    if r.returncode != 1 or len(named) != 1:
        raise AssertionError("verify: exit %d, %d damaged lines: %s" % (r.returncode, len(named), out[-500:]))
    # README, Recovery: stop it, move the store away, start it: it rebuilds from the broker
    if a.stop() != 0:
        raise AssertionError("the agent did not stop cleanly on SIGTERM")
    os.rename(store, store + ".damaged")
    w.restart_agent(m)
    w.fault_ends()
    row = w.row(saw=said or named[0])
    r = w.d.agent_cmd(m, "verify", check=False)
    if r.returncode != 0:
        row.failures.append("verify of the rebuilt store: exit %d: %s"
                            % (r.returncode, r.stdout.decode()[-300:]))
    row.notes.append("status said DAMAGED %.1f s after the start on the flipped store; `verify` "
                     "said: %s" % (found_s, rlib.shorten(w.relative(named[0]), 140)))
    return row


# ---- 12. a bit-flipped journal -----------------------------------------------------------
@scenario("broker's journal bit-flipped; agents reject the item, --verify names it, a copy restored")
def journal_bitflip(w):
    w.start()
    # energy-d's agent is away during the first part of the burst: it meets the damaged
    # item when it comes back (the others got it before the damage)
    m = w.member("energy-d")
    if w.agent(m).stop() != 0:
        raise AssertionError("the agent did not stop cleanly on SIGTERM")
    w.burst(release=2 / 3)
    w.wait_acked(1.0)
    journal = os.path.join(w.d.dir, "journal")
    copy = journal + ".copy"
    os.makedirs(copy)
    subprocess.run(["mdb_copy", journal, copy], check=True)     # the operator's copy
    w.fault_begins()
    if w.d.broker.stop() != 0:
        raise AssertionError("the broker did not stop cleanly on SIGTERM")
    # bank-a's alert 3: AMBER for the energy sector (energy-d's, not the gateway's)
    if rlib.flip(os.path.join(journal, "data.mdb"), b"run alert 3 of bank-a.") != 1:
        raise AssertionError("bank-a's alert 3 is not in the journal once")
    w.d.start_broker()
    a = w.restart_agent(m)
    rejected = w.saw(a, r"bad signature|reject", timeout=60)
    if not rejected:
        raise AssertionError("energy-d's agent did not reject the damaged item")
    # --verify, beside the running broker
    r = rlib.cf.run([rlib.BROKER, "-c", os.path.join(w.d.dir, "broker.cfg"), "--verify"], check=False)
    out = r.stdout.decode()
    named = [l for l in out.splitlines() if l.startswith("damaged: ")]
    if r.returncode != 1 or len(named) != 1:
        raise AssertionError("--verify: exit %d, %d damaged lines: %s" % (r.returncode, len(named), out[-500:]))
    # README, Recovery: stop the broker, the copy in the journal's place, start it; and the
    # agent that rejected the item (it skipped it) rebuilds its store from the broker
    if w.d.broker.stop() != 0:
        raise AssertionError("the broker did not stop cleanly on SIGTERM")
    os.rename(journal, journal + ".damaged")
    os.rename(copy, journal)
    r = rlib.cf.run([rlib.BROKER, "-c", os.path.join(w.d.dir, "broker.cfg"), "--verify"], check=False)
    if r.returncode != 0:
        raise AssertionError("--verify of the copy: exit %d: %s" % (r.returncode, r.stdout.decode()[-300:]))
    w.d.start_broker()
    if a.stop() != 0:
        raise AssertionError("the agent did not stop cleanly on SIGTERM")
    store = os.path.join(m.agentdir, "store")
    os.rename(store, store + ".skipped")
    w.restart_agent(m)
    w.fault_ends()
    w.release_all()
    row = w.row(saw=rejected)
    row.notes.append("`--verify` said: %s; energy-d's agent had skipped the damaged item (its "
                     "cursor passes a rejected item), so after the restore its store was moved "
                     "away too and rebuilt from the broker" % rlib.shorten(named[0], 140))
    return row


# ---- 13. a flood by one member at its limit ----------------------------------------------
FLOOD_EVERY = 0.04          # the steady member's pace (s)


@scenario("a flood by one member at its rate limit (the others' p99 within 2x unloaded)")
def flood_at_limit(w):
    noisy = w.d.add_member("noisy", "bank-z", sector="finance", role="publisher")
    w.start()
    soc, lab = w.member("bank-a"), w.member("uni-c")
    n = 60 if w.mode.short else 300
    # soc's steady alerts, timed until they are in lab's store: unloaded
    before = w.steady(soc, n, FLOOD_EVERY, lab)
    before.join(n * FLOOD_EVERY + 120)
    # the flood: 1 KB alerts at its 100 a second (the publishers' default), GREEN (every
    # agent stores them); then soc's steady alerts again, then the burst, while it lasts
    fl = rlib.flood(noisy, 200, 3600, 100, bodies=True)
    time.sleep(3)
    w.fault_begins()
    during = w.steady(soc, n, FLOOD_EVERY, lab)
    during.join(n * FLOOD_EVERY + 120)
    w.burst()
    w.wait_published()
    fl.terminate()
    last, acked = rlib.flood_result(fl)
    w.add_extra(acked)
    w.fault_ends()
    # unloaded again: the machine is shared, the figure to compare with is the worse
    after = w.steady(soc, n, FLOOD_EVERY, lab)
    after.join(n * FLOOD_EVERY + 120)
    row = w.row()
    lat0, lat1, lat2 = before.latencies(), during.latencies(), after.latencies()
    if min(len(lat0), len(lat1), len(lat2)) < n:
        row.failures.append("stored %d, %d, %d of %d steady alerts" % (len(lat0), len(lat1), len(lat2), n))
        return row
    p50_0, p99_0 = rlib.pct(lat0 + lat2, 50), max(rlib.pct(lat0, 99), rlib.pct(lat2, 99))
    p50_1, p99_1 = rlib.pct(lat1, 50), rlib.pct(lat1, 99)
    stats = w.broker_stats()
    row.saw = ("flooder: %s; broker: %d rate-limited answers in all (the burst's publishers at "
               "their limit); the others' publish->stored p50 %.1f ms, "
               "p99 %.1f ms unloaded; p50 %.1f ms, p99 %.1f ms during the flood"
               % (last, stats.get("rate_limited", -1), p50_0, p99_0, p50_1, p99_1))
    row.notes.append("the flood: %s (%d acknowledged, each counted at every holder); soc's "
                     "steady alerts (one every %d ms, %d a phase) timed from send until in "
                     "lab@uni-c's store: unloaded before %.1f/%.1f ms, after %.1f/%.1f ms "
                     "(p50/p99), during the flood %.1f/%.1f ms"
                     % (last, len(acked), FLOOD_EVERY * 1000, n, rlib.pct(lat0, 50), rlib.pct(lat0, 99),
                        rlib.pct(lat2, 50), rlib.pct(lat2, 99), p50_1, p99_1))
    #  The 2x bound is issue 12's aim for `make reliability`; `make test` (short mode, 60
    #  samples a phase, on a machine shared with other jobs) reports the figures and never
    #  asserts a speed.
    if p99_1 > 2 * p99_0:
        what = ("the others' p99 %.1f ms during the flood, %.1f ms unloaded (over 2x)"
                % (p99_1, p99_0))
        if w.mode.short:
            row.notes.append(what + " (short mode: reported, not checked)")
        else:
            row.failures.append(what)
    if "rate-limited answers (" in w.d.broker.text():
        row.failures.append("the flooder at its limit was cut off")
    return row


# ---- 14. 1,000 connections from one key ---------------------------------------------------
@scenario("1,000 connections from one key, each saying hello")
def thousand_connections(w):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    evil = w.d.add_member("evil", "org-z", sector="finance")
    w.start()
    w.burst()
    w.wait_acked(1 / 3)
    fds0 = rlib.open_files(w.d.broker.p.pid)
    st0 = w.broker_stats()
    w.fault_begins()
    ctx = zmq.Context()
    socks = []
    try:
        hello = rlib.ihclient.pack({"v": 1, "t": "hello", "cursor": 0, "categories": [], "sectors": [],
                                    "min_severity": "", "window": 1000, "agent": "evil"})
        for i in range(1000):
            s = ctx.socket(zmq.DEALER)
            s.linger = 0
            s.curve_publickey, s.curve_secretkey = evil.ident.curve_public, evil.ident.curve_secret
            s.curve_serverkey = evil.ident.broker_public
            s.connect(w.d.endpoint)
            s.send(hello, zmq.NOBLOCK)
            socks.append(s)
        # while they are held (the burst goes on): the broker's descriptors and counters
        peak = fds0
        for _ in range(int(w.mode.stop_s / 0.25)):
            peak = max(peak, rlib.open_files(w.d.broker.p.pid))
            time.sleep(0.25)
        st1 = w.broker_stats()
    finally:
        for s in socks:
            s.close(0)
        ctx.term()
    w.fault_ends()
    row = w.row()
    replays = st1.get("replays", 0) - st0.get("replays", 0)
    row.saw = (w.saw(w.d.broker, r"refused a connection of evil@org-z") or "-")
    row.notes.append("while the 1,000 were held (%d s, the burst going on): %d replays started (the "
                     "key's 8 sessions, each renewed when it expired silent), %d "
                     "peers and %d sessions at the broker (before: %d, %d); its open files %d at "
                     "most (%d before): the refused connections stay open (one descriptor each, "
                     "nothing more)"
                     % (w.mode.stop_s, replays, st1.get("peers", -1), st1.get("sessions", -1),
                        st0.get("peers", -1), st0.get("sessions", -1), peak, fds0))
    # The key holds at most 8 sessions (max-sessions) and 32 connections (max-peers): the
    # other hellos are refused before any replay. A session that stays silent (these never
    # answer a ping) ends after 3 s, and one of the waiting connections may take its place:
    # at most 8 new replays every 3 s, however many connections there are (there were
    # one per hello, 975 of 1,000, before the cap).
    if st1.get("sessions", 0) > st0.get("sessions", 0) + 8 or st1.get("peers", 0) > st0.get("peers", 0) + 32:
        row.failures.append("the key holds more than 8 sessions or 32 connections: %r" % st1)
    if replays > 8 * (w.mode.stop_s / 3.0 + 2) * 1.5:
        row.failures.append("%d replays in %d s: more than the key's 8 sessions, renewed as "
                            "they expire, can start" % (replays, w.mode.stop_s))
    # One descriptor per TCP connection is the floor while the client keeps it open; more
    # would mean each refused hello holds something (a replay, a file) as before the cap.
    if peak > fds0 + 1000 + 50:
        row.failures.append("the broker's open files rose from %d to %d for 1,000 connections"
                            % (fds0, peak))
    return row
