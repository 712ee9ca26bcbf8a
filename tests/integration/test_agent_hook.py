"""The on-alert hook (agent.cfg `on-alert`) with a real broker and agent (issue 4):
it runs once per new alert and new revision with the alert's JSON on stdin, survives
restarts without running twice or skipping, never holds up ingest (a hook that hangs is
killed with its process group at `hook-timeout` and logged), and a failing hook is logged
on one line. Every scenario ends with the store holding exactly what the member is
entitled to.
"""
import json
import os
import signal
import time

import pytest

import ihclient
from agentlib import Ledger, assert_exact, pids_gone, set_cfg, status, wait_synced
from conftest import wait_until


@pytest.fixture
def pair(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("analyst", "bank-b", sector="energy", role="reader")
    deploy.start_broker()
    return deploy, pub, rdr


def hook_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.split() for l in f.read().splitlines() if l.strip()]


def log_lines(proc, what):
    return [l for l in proc.text().splitlines() if what in l]


RECORD = ('cat > "in.$INFOHUB_SEQ.json"; '
          'echo "$INFOHUB_EVENT $INFOHUB_ALERT_ID $INFOHUB_REVISION $INFOHUB_SEQ $INFOHUB_STATUS" >> hook.log')


def test_hook_once_per_alert_and_revision_across_restarts(pair):
    deploy, pub, rdr = pair
    set_cfg(rdr, on_alert=RECORD, hook_timeout=5)
    log = os.path.join(rdr.agentdir, "hook.log")
    ledger = Ledger()
    c = deploy.client(pub)
    ra = deploy.start_agent(rdr)
    bodies = [ihclient.alert_body(pub.ident, title="live %d" % i,
                                  iocs=[ihclient.ioc("ipv4", "192.0.2.%d" % (i + 1))]) for i in range(5)]
    ledger.publish(c, bodies)
    wait_until(lambda: len(hook_lines(log)) == 5, what="5 hooks")
    rev = dict(bodies[0], rev=2, title="live 0 v2", modified=bodies[0]["modified"] + 1)
    ledger.publish(c, [rev])
    wait_until(lambda: len(hook_lines(log)) == 6, what="the revision's hook")
    ev, aid, r, seq, st = hook_lines(log)[-1]
    assert (ev, aid, r, st) == ("revision", bodies[0]["id"], "2", "active")
    # stdin held the alert as `show --json` prints it
    with open(os.path.join(rdr.agentdir, "in.%s.json" % seq)) as f:
        given = json.loads(f.read())
    assert given == json.loads(deploy.agent_cmd(rdr, "show", aid, "--json").stdout.decode())
    assert given["revision"] == 2 and given["revisions"] == 2 and str(given["seq"]) == seq
    # a clean stop, alerts (and a revision) published while away, a restart
    assert ra.stop() == 0
    more = [ihclient.alert_body(pub.ident, title="away %d" % i) for i in range(6)]
    ledger.publish(c, more)
    ledger.publish(c, [dict(more[0], rev=2, title="away 0 v2", modified=more[0]["modified"] + 1)])
    ra = deploy.start_agent(rdr)
    wait_synced(deploy, [rdr])
    wait_until(lambda: status(deploy, rdr).get("hook", {}).get("running", 1) == 0 and
               len(hook_lines(log)) >= 11, what="the hooks of the catch-up")
    time.sleep(0.5)
    lines = hook_lines(log)
    runs = [(l[1], l[2]) for l in lines]
    assert len(runs) == len(set(runs)), "a hook ran twice: %r" % runs
    # every alert's latest revision ran exactly once; earlier ones at most once (a revision
    # stored before the first one's hook started is coalesced into it)
    for aid, a in ledger.alerts.items():
        assert (aid, str(a["rev"])) in runs, (aid, a["rev"])
    assert {aid for aid, _ in runs} == set(ledger.alerts)
    assert "resuming after seq" in ra.text()
    st = wait_until(lambda: (lambda h: h if h["ok"] == len(lines) - 6 else None)(status(deploy, rdr)["hook"]),
                    what="hook stats in status")
    assert st["failed"] == 0 and st["timed_out"] == 0 and st["running"] == 0
    assert_exact(deploy, rdr, ledger)


def test_hook_that_hangs_is_killed_and_ingest_goes_on(pair):
    deploy, pub, rdr = pair
    os.makedirs(os.path.join(rdr.agentdir, "pids"))
    # the shell starts a child that would sleep for a minute and waits for it
    set_cfg(rdr, on_alert='sleep 60 & echo $! > "pids/$INFOHUB_SEQ"; wait', hook_timeout=2, hook_max=2)
    ledger = Ledger()
    c = deploy.client(pub)
    ra = deploy.start_agent(rdr)
    wait_until(lambda: status(deploy, rdr)["connected"], what="connected")
    t0 = time.monotonic()
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="hang %d" % i) for i in range(6)])
    # all six are stored at once, although every hook hangs and only two run at a time
    wait_synced(deploy, [rdr], timeout=10)
    assert time.monotonic() - t0 < 4, "ingest waited for the hooks"
    assert_exact(deploy, rdr, ledger)
    wait_until(lambda: status(deploy, rdr)["hook"]["running"] == 2, what="two hooks running (hook-max)")
    # each is killed after 2 s, one log line each; then the next two run
    lines = wait_until(lambda: (lambda l: l if len(l) == 6 else None)(log_lines(ra, "timed out")),
                       timeout=30, what="6 timed-out hooks")
    for l in lines:
        assert l.startswith("W agent: on-alert hook for new alert ") and "killed its process group" in l
    took = time.monotonic() - t0
    assert 5 < took < 20, took
    pids = []
    for name in os.listdir(os.path.join(rdr.agentdir, "pids")):
        with open(os.path.join(rdr.agentdir, "pids", name)) as f:
            pids.append(int(f.read()))
    assert len(pids) == 6
    assert pids_gone(pids), "a hook's child outlived the time limit"
    st = wait_until(lambda: (lambda h: h if h["running"] == 0 else None)(status(deploy, rdr)["hook"]),
                    what="no hook running")
    assert st["timed_out"] == 6 and st["ok"] == 0
    assert ra.alive() and status(deploy, rdr)["connected"]
    # a stop while a hook hangs: it is killed at its limit and the agent exits cleanly
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="hang at stop")])
    wait_until(lambda: status(deploy, rdr)["hook"]["running"] == 1, what="a hook running")
    t1 = time.monotonic()
    assert ra.stop() == 0
    assert time.monotonic() - t1 < 8
    assert len(log_lines(ra, "timed out")) == 7
    assert_exact(deploy, rdr, ledger)


def test_failing_hook_is_logged_and_the_queue_moves_on(pair):
    deploy, pub, rdr = pair
    set_cfg(rdr, on_alert='if [ "$INFOHUB_SEQ" = 1 ]; then echo "cannot reach the firewall" >&2; exit 7; fi;'
                          ' echo "$INFOHUB_SEQ" >> ok.log')
    ledger = Ledger()
    c = deploy.client(pub)
    ra = deploy.start_agent(rdr)
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="f %d" % i) for i in range(3)])
    wait_until(lambda: len(hook_lines(os.path.join(rdr.agentdir, "ok.log"))) == 2, what="2 good hooks")
    lines = wait_until(lambda: log_lines(ra, "failed:"), what="the failure's log line")
    assert len(lines) == 1
    assert lines[0].startswith("W agent: on-alert hook for new alert ")
    assert "(seq 1) failed: exit status 7 after " in lines[0] and lines[0].endswith(": cannot reach the firewall")
    st = wait_until(lambda: (lambda h: h if h["running"] == 0 and h["ok"] == 2 else None)(
        status(deploy, rdr)["hook"]), what="hook stats")
    assert st["failed"] == 1 and st["after"] >= 3
    # a failed hook is not retried after a restart
    assert ra.stop() == 0
    ra = deploy.start_agent(rdr)
    wait_synced(deploy, [rdr])
    time.sleep(1)
    assert not log_lines(ra, "failed:")
    assert len(hook_lines(os.path.join(rdr.agentdir, "ok.log"))) == 2   # nothing ran again
    assert_exact(deploy, rdr, ledger)


def test_hook_after_sigkill_runs_what_did_not_finish(pair):
    deploy, pub, rdr = pair
    set_cfg(rdr, on_alert='sleep 0.4; echo "$INFOHUB_ALERT_ID" >> hook.log', hook_max=2, hook_timeout=5)
    log = os.path.join(rdr.agentdir, "hook.log")
    ledger = Ledger()
    c = deploy.client(pub)
    ra = deploy.start_agent(rdr)
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="k %d" % i) for i in range(12)])
    wait_until(lambda: len(hook_lines(log)) >= 3, what="some hooks done")
    ra.kill()                                    # SIGKILL: hooks in flight die with it
    time.sleep(0.6)
    ra = deploy.start_agent(rdr)
    wait_synced(deploy, [rdr])
    wait_until(lambda: len({l[0] for l in hook_lines(log)}) == 12, timeout=30, what="every alert's hook")
    time.sleep(1)
    ids = [l[0] for l in hook_lines(log)]
    assert set(ids) == set(ledger.alerts)
    # at most the hooks that had ended but whose end was not yet saved run twice
    assert len(ids) - len(set(ids)) <= 2, ids
    assert_exact(deploy, rdr, ledger)


def test_hook_configured_later_starts_from_then(pair):
    deploy, pub, rdr = pair
    ledger = Ledger()
    c = deploy.client(pub)
    ra = deploy.start_agent(rdr)
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="before %d" % i) for i in range(3)])
    wait_synced(deploy, [rdr])
    assert ra.stop() == 0
    set_cfg(rdr, on_alert='echo "$INFOHUB_ALERT_ID" >> hook.log')
    ra = deploy.start_agent(rdr)
    wait_until(lambda: "on-alert hook: first run" in ra.text(), what="hook start")
    b = [ihclient.alert_body(pub.ident, title="after")]
    ledger.publish(c, b)
    log = os.path.join(rdr.agentdir, "hook.log")
    wait_until(lambda: hook_lines(log), what="the hook")
    time.sleep(0.5)
    assert hook_lines(log) == [[b[0]["id"]]]
    # unconfigured, then configured again: it starts from then, not from the old cursor
    assert ra.stop() == 0
    set_cfg(rdr, on_alert="")
    ra = deploy.start_agent(rdr)
    ledger.publish(c, [ihclient.alert_body(pub.ident, title="no hook")])
    wait_synced(deploy, [rdr])
    assert ra.stop() == 0
    set_cfg(rdr, on_alert='echo "$INFOHUB_ALERT_ID" >> hook.log')
    ra = deploy.start_agent(rdr)
    time.sleep(1.5)
    assert hook_lines(log) == [[b[0]["id"]]]
    assert_exact(deploy, rdr, ledger)
