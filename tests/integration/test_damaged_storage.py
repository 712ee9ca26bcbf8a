"""Damaged storage (issue 12 items 3, 5, 8): a truncated or empty LMDB file is refused with one
line that names the file and says what to do, never a SIGBUS; a second broker on the same
journal is refused.

    truncate -s 50% data.mdb   ->  every agent command, the agent daemon, the broker and the
                                   gateway say "... data.mdb is truncated: ..." and exit 1
"""
import os
import signal
import time

import ihclient
from conftest import AGENT, BROKER, run, wait_until
from agentlib import wait_cursor

SIGBUS = -signal.SIGBUS


def fill(deploy, n=300):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    deploy.start_broker()
    deploy.start_agent(pub)
    c = deploy.client(pub)
    bodies = [ihclient.alert_body(pub.ident, title="alert %d" % i, summary="x" * 2000)
              for i in range(n)]
    oks, errs, unanswered = c.publish_many(bodies)
    assert len(oks) == n and not errs and not unanswered, (errs, unanswered)
    head = max(r["seq"] for r in oks.values())
    wait_cursor(deploy, pub, head)
    return pub


def truncate_half(path):
    size = os.path.getsize(path)
    os.truncate(path, size // 2)
    return size


def one_line(r):
    text = r.stderr.decode(errors="replace").strip()
    assert r.returncode not in (SIGBUS, -signal.SIGSEGV), "killed by a signal: %d" % r.returncode
    assert r.returncode != 0
    assert "\n" not in text, text
    return text


def test_truncated_store_is_refused_by_every_agent_command_and_the_daemon(deploy):
    pub = fill(deploy)
    deploy.agents[pub.name].stop()
    data = os.path.join(pub.agentdir, "store", "data.mdb")
    truncate_half(data)
    for args in (["list"], ["status"], ["show", "0000"], ["search", "evil.example"],
                 ["export", "--format", "csv"], ["tail", "--from", "0"]):
        r = deploy.agent_cmd(pub, *args, check=False, timeout=20)
        text = r.stderr.decode(errors="replace")
        if args == ["status"]:
            assert r.returncode not in (SIGBUS, -signal.SIGSEGV), text
            assert "data.mdb is truncated" in text, text
            continue
        line = one_line(r)
        assert "data.mdb is truncated" in line and "rebuilds from the broker" in line, (args, line)
    r = run([AGENT, "-c", pub.cfg, "run"], check=False, timeout=20)
    line = one_line(r)
    assert "data.mdb is truncated" in line, line


def test_empty_store_file_is_refused_not_bad_file_descriptor(deploy):
    pub = fill(deploy, n=5)
    deploy.agents[pub.name].stop()
    data = os.path.join(pub.agentdir, "store", "data.mdb")
    os.truncate(data, 0)
    r = deploy.agent_cmd(pub, "list", check=False)
    line = one_line(r)
    assert "is empty (0 bytes)" in line and "Bad file descriptor" not in line, line
    # The daemon refuses too, instead of silently starting again from cursor 0.
    r = run([AGENT, "-c", pub.cfg, "run"], check=False, timeout=20)
    assert "is empty (0 bytes)" in one_line(r)


def test_truncated_journal_is_refused_by_the_broker(deploy):
    fill(deploy, n=300)
    deploy.broker.stop()
    data = os.path.join(deploy.dir, "journal", "data.mdb")
    truncate_half(data)
    r = run([BROKER, "-c", os.path.join(deploy.dir, "broker.cfg")], check=False, timeout=20)
    line = one_line(r)
    assert "journal" in line and "data.mdb is truncated" in line and "mdb_copy" in line, line


def test_a_second_broker_on_the_same_journal_is_refused(deploy):
    deploy.add_member("soc", "bank-a", role="publisher")
    deploy.start_broker()
    # Another broker on the same configuration (another port would not matter: the journal is
    # the same): refused at once, and the first one keeps working.
    r = run([BROKER, "-c", os.path.join(deploy.dir, "broker.cfg")], check=False, timeout=20)
    line = one_line(r)
    assert "is in use by another broker (pid %d)" % deploy.broker.p.pid in line, line
    deploy.assert_broker_alive()
    c = deploy.client(deploy.members["soc"])
    r = c.publish_wait(ihclient.alert_body(deploy.members["soc"].ident, title="still fine"))
    assert r and r["t"] == "ok", r
