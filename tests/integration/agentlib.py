"""Helpers for the infohub-agent integration tests (test_agent_*.py).

The Ledger records what was published (through ihclient, fast, or through the agent's own
CLI) and says, from the TLP rules of docs/ARCHITECTURE.md written here independently of the C code, what
each member is entitled to. assert_exact() then checks an agent's store against it: the
entitled alerts and no other, each once, at its latest revision, with its retractions.
"""
import json
import os
import time

import pytest

import ihclient
from conftest import wait_until


def entitled(m, tlp, pub_org, recipients):
    """docs/ARCHITECTURE.md invariant 2 (PROTOCOL.md section 10)."""
    if getattr(m, "gateway", False):
        return tlp == "CLEAR"
    if tlp in ("CLEAR", "GREEN"):
        return True
    if m.org == pub_org:
        return True
    if tlp == "AMBER":
        if not recipients:
            return True
        return m.org in recipients or (m.sector != "" and "sector:" + m.sector in recipients)
    return m.org in recipients  # AMBER+STRICT, RED


class Ledger:
    """What the broker accepted, by alert id."""

    def __init__(self):
        self.alerts = {}

    def alert(self, body, seq=None):
        a = self.alerts.get(body["id"])
        if a is None or body["rev"] > a["rev"]:
            keep = a or {"retracted": False, "ret_iocs": set()}
            self.alerts[body["id"]] = dict(keep, id=body["id"], rev=body["rev"], tlp=body["tlp"],
                                           recipients=list(body["recipients"]), org=body["org"],
                                           title=body["title"],
                                           iocs=[(i[0], i[1]) for i in body["iocs"]])

    def retract(self, ref, iocs=()):
        a = self.alerts[ref]
        if not iocs:
            a["retracted"] = True
        for t, v in iocs:
            a["ret_iocs"].add((t, v))

    def expected(self, member):
        return {i: a for i, a in self.alerts.items()
                if entitled(member, a["tlp"], a["org"], a["recipients"])}

    def publish(self, client, bodies, timeout=120.0):
        """Publishes alert bodies (dicts) through an ihclient.Client; records the accepted."""
        #  as a well-behaved publisher: what the broker refuses `rate-limited` is sent
        #  again after the time it asks for
        oks, errs, lost = client.publish_many(bodies, timeout=timeout, retry_limited=True)
        assert not errs and not lost, (list(errs.values())[:3], lost[:3])
        for i in sorted(oks):
            self.alert(bodies[i], oks[i]["seq"])
        return max(o["seq"] for o in oks.values()) if oks else 0

    def publish_retraction(self, client, ident, ref, iocs=()):
        b = ihclient.retraction_body(ident, ref, iocs=[ihclient.ioc(t, v, "", False) for t, v in iocs])
        rep = client.publish_wait(b)
        assert rep is not None and rep["t"] == "ok", rep
        self.retract(ref, iocs)
        return rep["seq"]


def agent_rows(deploy, member):
    return deploy.agent_list(member)


def status(deploy, member):
    r = deploy.agent_cmd(member, "status", "--json", check=False)
    assert r.returncode in (0, 1, 3), r.stderr.decode()
    st = json.loads(r.stdout.decode())
    assert (r.returncode != 3) == st["running"], st     # 3 when not running (LSB)
    # 1 when the running daemon says its store is damaged or refuses writes (a full disk)
    bad = st.get("storage", {}).get("state", "ok") != "ok"
    assert (r.returncode == 1) == (st["running"] and bad), st
    return st


def broker_head(deploy, member):
    """The broker's head, asked over the wire (status/stats) as member."""
    c = getattr(deploy, "_head_client", None)
    if c is None:
        c = deploy._head_client = deploy.client(member)
    st = c.status()
    assert st is not None, "no stats from the broker"
    return json.loads(st["json"])["head"]


def wait_synced(deploy, members, timeout=60.0):
    """Waits until every member's agent stored everything published so far. An agent's
    cursor only passes what it was delivered, so a GREEN sighting of a value no alert
    holds ("sync.invalid", delivered to every member) is published as a marker and waited
    for. Returns its seq."""
    pub = next(m for m in deploy.members.values() if m.role == "publisher")
    c = getattr(deploy, "_sync_client", None)
    if c is None:
        c = deploy._sync_client = deploy.client(pub)
    rep = c.publish_wait(ihclient.sighting_body(pub.ident, "", ihclient.ioc("domain", "sync.invalid", "", False)))
    assert rep is not None and rep["t"] == "ok", rep
    for m in members:
        wait_cursor(deploy, m, rep["seq"], timeout)
    return rep["seq"]


def wait_cursor(deploy, member, seq, timeout=60.0):
    return wait_until(lambda: (lambda s: s if s["cursor"] >= seq else None)(status(deploy, member)),
                      timeout, interval=0.2, what="%r's cursor to reach %d" % (member, seq))


def assert_exact(deploy, member, ledger):
    """The store holds exactly what the member is entitled to: each entitled alert once,
    at its latest revision, with its status and retracted IOCs; nothing else."""
    rows = agent_rows(deploy, member)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "%r: an alert listed twice" % (member,)
    exp = ledger.expected(member)
    got = set(ids)
    missing = set(exp) - got
    extra = got - set(exp)
    assert not missing, "%r lacks %d entitled alerts, e.g. %s" % (member, len(missing), sorted(missing)[:3])
    assert not extra, "%r holds %d alerts it is not entitled to, e.g. %s" % (member, len(extra), sorted(extra)[:3])
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs), "list is not in broker order"
    for r in rows:
        a = exp[r["id"]]
        assert r["revision"] == a["rev"], "%r: %s at rev %d, latest is %d" % (member, r["id"], r["revision"], a["rev"])
        assert r["title"] == a["title"]
        assert r["status"] == ("retracted" if a["retracted"] else "active"), (member, r["id"], r["status"])
        flagged = {(i["type"], i["value"]) for i in r["iocs"] if i.get("retracted")}
        want = set(a["iocs"]) if a["retracted"] else (set(a["iocs"]) & a["ret_iocs"])
        assert flagged == want, (member, r["id"], flagged, want)
    st = status(deploy, member)
    assert st["alerts"] == len(exp)
    assert st["retracted"] == sum(1 for a in exp.values() if a["retracted"])
    assert st["iocs"] == sum(len(a["iocs"]) for a in exp.values())
    return rows


def set_cfg(member, **kv):
    """Sets agent/KEY = "VALUE" in the member's agent.cfg (keys with '_' written with '-').
    ZPL has no escapes: a value with double quotes is written in single quotes."""
    with open(member.cfg) as f:
        lines = f.read().splitlines()
    for key, value in kv.items():
        key = key.replace("_", "-")
        value = str(value)
        q = "'" if '"' in value else '"'
        assert q not in value, "ZPL cannot quote %r" % value
        line = '    %s = %s%s%s' % (key, q, value, q)
        for i, l in enumerate(lines):
            if l.startswith("    %s = " % key):
                lines[i] = line
                break
        else:
            at = next(i for i, l in enumerate(lines) if l.startswith("    broker"))
            lines.insert(at, line)
    with open(member.cfg, "w") as f:
        f.write("\n".join(lines) + "\n")


def big_alerts(ident, n, size=20000, prefix="big", **kw):
    return [ihclient.alert_body(ident, title="%s %d" % (prefix, i), summary="x" * size, **kw)
            for i in range(n)]


def mixed_alerts(pub, n, orgs, prefix="mix"):
    """n alerts of every TLP, some with recipients, each with a couple of IOCs."""
    out = []
    plan = [("CLEAR", ()), ("GREEN", ()), ("AMBER", ()), ("AMBER", (orgs[0],)),
            ("AMBER+STRICT", (orgs[1],)), ("RED", (orgs[0],)), ("RED", ("nobody-org",))]
    for i in range(n):
        tlp, rcpt = plan[i % len(plan)]
        out.append(ihclient.alert_body(pub.ident, title="%s %d" % (prefix, i), tlp=tlp,
                                       recipients=rcpt,
                                       iocs=[ihclient.ioc("ipv4", "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)),
                                             ihclient.ioc("domain", "h%d.example" % i)]))
    return out


def pids_gone(pids, timeout=5.0):
    """True once none of pids is alive (a zombie nobody reaped counts as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in pids:
            try:
                with open("/proc/%d/stat" % p) as f:
                    st = f.read()
                if st[st.rindex(")") + 2] not in "ZX":
                    alive.append(p)
            except (OSError, ValueError):
                pass
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def skip_unless_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (mount)")
