"""The labelled corpus (config/corpus/alerts.jsonl) for the analytics tests: the alerts,
their source documents (a shared references URL, or a near-duplicate pair of the README),
a held-out split by source document, and publishing alerts through a real broker."""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import check_corpus  # noqa: E402  (its Python port of ih_ioc_normalise)
import gwutil  # noqa: E402

ihclient = gwutil.ihclient
CORPUS = os.path.join(ROOT, "config", "corpus", "alerts.jsonl")
README = os.path.join(ROOT, "config", "corpus", "README.md")


def load():
    with open(CORPUS, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _parse():
    class R:
        def err(self, *a):
            raise AssertionError(a)
    return check_corpus.parse_readme(R(), README)


def pairs():
    """The near-duplicate pairs: [(line, line)] (1-based)."""
    return [tuple(v) for v in _parse()[1].values()]


def groups(alerts):
    """Source document of each alert (index): a shared references URL or a README pair."""
    parent = list(range(len(alerts)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)
    by_ref = {}
    for i, a in enumerate(alerts):
        for r in a.get("references", []):
            if r in by_ref:
                union(by_ref[r], i)
            else:
                by_ref[r] = i
    for pair in _parse()[1].values():
        union(pair[0] - 1, pair[1] - 1)
    return [find(i) for i in range(len(alerts))]


def split(alerts, every=5):
    """(train, held_out) indexes: every `every`-th source document is held out, whole."""
    g = groups(alerts)
    order = sorted(set(g))
    held_groups = set(order[i] for i in range(len(order)) if i % every == every - 1)
    train = [i for i in range(len(alerts)) if g[i] not in held_groups]
    held = [i for i in range(len(alerts)) if g[i] in held_groups]
    return train, held


def body(ident, a):
    """A signed-body dict of corpus alert a, published by ident (IOCs normalised)."""
    iocs = []
    for x in a.get("iocs", []):
        iocs.append(ihclient.ioc(x["type"], check_corpus.normalise(x["type"], x["value"]),
                                 x.get("comment", ""), x.get("detect", True)))
    return ihclient.alert_body(ident, title=a["title"], summary=a.get("summary", ""), tlp=a["tlp"],
                               recipients=a.get("recipients", []), severity=a["severity"],
                               category=a["category"], sectors=a.get("sectors", []),
                               references=a.get("references", []), tags=a.get("tags", []),
                               iocs=iocs)


def publish(deploy, member, alerts, window=64):
    """Publishes alerts as member through the broker; returns their ids, in order."""
    c = deploy.client(member)
    ids, pending = [], {}
    for a in alerts:
        b = body(member.ident, a)
        ids.append(b["id"])
        pending[c.publish(b)] = b["id"]
        while len(pending) >= window:
            _drain(c, pending)
    while pending:
        _drain(c, pending)
    return ids


def _drain(c, pending):
    deadline = time.time() + 15
    while time.time() < deadline:
        c.poll(0.1)
        done = [r for r in list(pending) if r in c.replies]
        for r in done:
            reply = c.replies.pop(r)
            assert reply.get("t") == "ok", "publish of %s: %r" % (pending[r], reply)
            del pending[r]
        if done:
            return
    raise AssertionError("no answer from the broker to %d publishes" % len(pending))


def wait_stored(deploy, member, n, timeout=60):
    """Waits until member's store holds n alerts (status --json)."""
    def stored():
        r = deploy.agent_cmd(member, "status", "--json", check=False)
        if r.returncode not in (0, 3):
            return False
        try:
            s = json.loads(r.stdout.decode())
        except ValueError:
            return False
        return s.get("alerts", 0) >= n
    gwutil.cf.wait_until(stored, timeout, what="%d alerts stored" % n)
