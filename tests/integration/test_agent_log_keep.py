"""The store's log is bounded (issue 10, item 4a).

The log (one 80-byte entry per delivered seq: what `tail` prints and the on-alert hook's
queue) used to grow forever. agent.cfg `log-keep` (default 100000) bounds it: each ingest
deletes the oldest entries beyond it, but never one the on-alert hook has not dealt with
yet, however far behind the hook is.
"""
import json
import os
import signal
import subprocess
import time

import ihclient
from agentlib import set_cfg, status, wait_cursor
from conftest import AGENT, wait_until


def log_entries(member):
    """Every log entry still in the store: `tail --all --json --from 0`, until it is idle."""
    p = subprocess.Popen([AGENT, "-c", member.cfg, "tail", "--all", "--json", "--from", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def hook_seen(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().split()


def test_log_bounded_but_never_ahead_of_the_hook(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("desk", "bank-b", sector="finance")
    gate = os.path.join(rdr.agentdir, "GO")
    seen = os.path.join(rdr.agentdir, "seen")
    # The hook waits for GO: while it waits, everything delivered stays in the log.
    set_cfg(rdr, log_keep=40, hook_max=1, hook_timeout=120,
            on_alert='while [ ! -e GO ]; do sleep 0.05; done; echo $INFOHUB_ALERT_ID >> seen')
    deploy.start_broker()
    c = deploy.client(pub)
    agent = deploy.start_agent(rdr)
    ids = []
    last = 0
    for i in range(120):
        r = c.publish_wait(ihclient.alert_body(pub.ident, title="alert %d" % i))
        assert r["t"] == "ok", r
        ids.append(r["id"])
        last = r["seq"]
    wait_cursor(deploy, rdr, last)
    held = log_entries(rdr)
    assert len(held) >= 119, len(held)              # all but the one whose hook runs

    open(gate, "w").close()
    wait_until(lambda: len(hook_seen(seen)) == 120, 90, interval=0.2, what="120 hooks")
    assert sorted(hook_seen(seen)) == sorted(ids)  # none lost, none twice
    # Once the hook is done, the next ingest trims the log to log-keep.
    for i in range(5):
        r = c.publish_wait(ihclient.alert_body(pub.ident, title="more %d" % i))
        assert r["t"] == "ok", r
        last = r["seq"]
    wait_cursor(deploy, rdr, last)
    wait_until(lambda: len(hook_seen(seen)) == 125, 30, interval=0.2, what="125 hooks")
    kept = log_entries(rdr)
    assert 40 <= len(kept) <= 45, len(kept)
    assert kept[-1]["seq"] == last, kept[-1]
    st = status(deploy, rdr)
    assert st["alerts"] == 125 and st["running"], st     # the data is the store's, not the log's
    assert agent.alive()
