"""A minimal Infohub client, written from proto/PROTOCOL.md alone (protocol version 1).

It uses only python3-zmq (CURVE DEALER), python3-msgpack and python3-nacl (ed25519):

    ident = Identity.from_agentdir("/path/to/agentdir")
    c = Client(ident)                        # CURVE client to the broker named in agent.cfg
    body = alert_body(ident, title="x", tlp="GREEN")
    reply = c.publish_wait(body)              # {"t": "ok", "seq": .., "id": ..} or an error
    c.hello(cursor=0)                         # then c.poll() collects c.items (verified)

Section numbers in comments refer to PROTOCOL.md.
"""
import os
import re
import time
import uuid

import msgpack
import nacl.exceptions
import nacl.signing
import zmq
import zmq.utils.z85 as z85  # noqa: F401 (used by the tests)

VERSION = 1
CTX_MSG = b"infohub/msg/1"          # section 7
CTX_MEMBER = b"infohub/member/1"
MAX_FRAME = 1024 * 1024             # section 2.4

# --------------------------------------------------------------------------------------
# ZPL (czmq zconfig) reading: enough for agent.cfg, gateway.cfg, zcert files, key files.


class ZNode:
    def __init__(self, name, value=None):
        self.name, self.value, self.children = name, value, {}

    def get(self, path, default=None):
        node = self
        for part in path.split("/"):
            node = node.children.get(part)
            if node is None:
                return default
        return node.value if node.value is not None else default

    def require(self, path, source="config"):
        v = self.get(path)
        if v is None:
            raise KeyError("%s: missing %s" % (source, path))
        return v


_ZPL_LINE = re.compile(r"([^\s=#]+)\s*(?:=\s*(.*))?$")


def zpl_parse(text):
    root = ZNode("root")
    stack = [(-1, root)]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        level = (len(line) - len(body)) // 4
        m = _ZPL_LINE.match(body)
        if not m:
            raise ValueError("line %d: syntax error: %r" % (lineno, raw))
        name, rest = m.group(1), m.group(2)
        value = None
        if rest is not None:
            rest = rest.strip()
            if rest[:1] in ("'", '"'):
                end = rest.find(rest[0], 1)
                if end < 0:
                    raise ValueError("line %d: unterminated string" % lineno)
                value = rest[1:end]
            else:
                value = rest.split("#", 1)[0].strip()
        while stack[-1][0] >= level:
            stack.pop()
        node = ZNode(name, value)
        stack[-1][1].children[name] = node
        stack.append((level, node))
    return root


def zpl_load(path):
    with open(path, encoding="utf-8") as f:
        return zpl_parse(f.read())


def load_curve_secret(path):
    """czmq zcert secret file: curve/public-key and curve/secret-key, Z85 (40 chars)."""
    z = zpl_load(path)
    pub = z.require("curve/public-key", path).encode()
    sec = z.require("curve/secret-key", path).encode()
    assert len(pub) == 40 and len(sec) == 40, path
    return pub, sec


def load_curve_public(path):
    return zpl_load(path).require("curve/public-key", path).encode()


def load_signing(path):
    """ih_keys.h signing key file: signing/public-key (64 hex), signing/secret-key (128 hex,
    libsodium form seed||pk). Returns (pk bytes, nacl SigningKey or None)."""
    z = zpl_load(path)
    pk = bytes.fromhex(z.require("signing/public-key", path))
    sk_hex = z.get("signing/secret-key")
    sk = None
    if sk_hex:
        raw = bytes.fromhex(sk_hex)
        sk = nacl.signing.SigningKey(raw[:32])
        assert bytes(sk.verify_key) == pk, "%s: secret key does not match public key" % path
    return pk, sk


# --------------------------------------------------------------------------------------
# Identities


class Identity:
    """Who we are (CURVE keys, optional signing key) and which broker we talk to."""

    def __init__(self, name, org, sector, role, curve_public, curve_secret, sign_pk, sign_sk,
                 endpoint, broker_public, registry_pk, gateway=False):
        self.name, self.org, self.sector, self.role = name, org, sector, role
        self.curve_public, self.curve_secret = curve_public, curve_secret
        self.sign_pk, self.sign_sk = sign_pk, sign_sk
        self.endpoint, self.broker_public = endpoint, broker_public
        self.registry_pk = registry_pk
        self.gateway = gateway

    @classmethod
    def from_agentdir(cls, agentdir):
        cfgp = os.path.join(agentdir, "agent.cfg")
        cfg = zpl_load(cfgp)
        rel = lambda p: p if os.path.isabs(p) else os.path.join(agentdir, p)
        pub, sec = load_curve_secret(rel(cfg.require("agent/curve-cert", cfgp)))
        spk, ssk = load_signing(rel(cfg.require("agent/signing-key", cfgp)))
        return cls(cfg.require("agent/name", cfgp), cfg.require("agent/org", cfgp),
                   cfg.get("agent/sector", ""), cfg.get("agent/role", "reader"), pub, sec, spk, ssk,
                   cfg.require("agent/broker/endpoint", cfgp),
                   cfg.require("agent/broker/public-key", cfgp).encode(),
                   bytes.fromhex(cfg.require("agent/registry-key", cfgp)))

    @classmethod
    def from_gateway_cfg(cls, cfgp):
        cfg = zpl_load(cfgp)
        d = os.path.dirname(os.path.abspath(cfgp))
        rel = lambda p: p if os.path.isabs(p) else os.path.join(d, p)
        pub, sec = load_curve_secret(rel(cfg.require("gateway/curve-cert", cfgp)))
        return cls(cfg.require("gateway/name", cfgp), cfg.require("gateway/org", cfgp), "",
                   "reader", pub, sec, None, None,
                   cfg.require("gateway/broker/endpoint", cfgp),
                   cfg.require("gateway/broker/public-key", cfgp).encode(),
                   bytes.fromhex(cfg.require("gateway/registry-key", cfgp)), gateway=True)

    @classmethod
    def stranger(cls, like):
        """A fresh CURVE keypair and signing key that no registry knows; same broker."""
        pub, sec = zmq.curve_keypair()
        sk = nacl.signing.SigningKey.generate()
        return cls("stranger", "nowhere", "", "publisher", pub, sec, bytes(sk.verify_key), sk,
                   like.endpoint, like.broker_public, like.registry_pk)


# --------------------------------------------------------------------------------------
# Bodies (section 5) and signatures (section 7)

def now_ms():
    return int(time.time() * 1000)


def ioc(type_, value, comment="", detect=True):
    return [type_, value, comment, detect]


def _author(body, author):
    """The one optional key (section 5): "author" right after "signer", only when it names
    someone; a body without an author leaves the key out."""
    if author:
        body["author"] = author
    return body


def alert_body(ident, title="test alert", tlp="GREEN", recipients=(), severity="medium",
               category="malware", sectors=(), references=(), tags=(), iocs=(), summary="",
               id=None, rev=1, created=None, modified=None, author=""):
    """An alert body as a dict in the order of section 5 (the canonical order)."""
    t = now_ms()
    created = t if created is None else created
    b = _author({
        "k": "alert",
        "id": id or str(uuid.uuid4()),
        "rev": rev,
        "created": created,
        "modified": max(created, t) if modified is None else modified,
        "org": ident.org,
        "member": ident.name,
        "signer": ident.sign_pk}, author)
    b.update({
        "title": title,
        "summary": summary,
        "tlp": tlp,
        "severity": severity,
        "category": category,
        "sectors": list(sectors),
        "recipients": list(recipients),
        "references": list(references),
        "tags": list(tags),
        "iocs": [list(i) for i in iocs],
    })
    return b


def _common(ident, kind, id=None, author=""):
    t = now_ms()
    return _author({"k": kind, "id": id or str(uuid.uuid4()), "rev": 0, "created": t, "modified": t,
                    "org": ident.org, "member": ident.name, "signer": ident.sign_pk}, author)


def comment_body(ident, ref, text="a comment", author=""):
    b = _common(ident, "comment", author=author)
    b.update({"ref": ref, "text": text})
    return b


def retraction_body(ident, ref, text="withdrawn", iocs=(), author=""):
    b = _common(ident, "retraction", author=author)
    b.update({"ref": ref, "text": text, "iocs": [list(i) for i in iocs]})
    return b


def sighting_body(ident, ref, value_ioc, tlp="GREEN", count=1, author=""):
    b = _common(ident, "sighting", author=author)
    b.update({"ref": ref, "tlp": tlp, "iocs": [list(value_ioc)], "count": count})
    return b


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def sign(sk, body_bytes, ctx=CTX_MSG):
    return sk.sign(ctx + b"\0" + body_bytes).signature


def verify(pk, sig, body_bytes, ctx=CTX_MSG):
    try:
        nacl.signing.VerifyKey(pk).verify(ctx + b"\0" + body_bytes, sig)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False


def unpack_canonical(data):
    """Decodes a signed body or record and checks it re-encodes to the same bytes."""
    obj = msgpack.unpackb(data, raw=False, strict_map_key=True)
    if pack(obj) != data:
        raise ValueError("non-canonical encoding")
    return obj


class ItemError(Exception):
    pass


COMMON_KEYS = ["k", "id", "rev", "created", "modified", "org", "member", "signer"]
KIND_KEYS = {   # section 5: the keys of each kind after the common ones (and "author")
    "alert": ["title", "summary", "tlp", "severity", "category", "sectors", "recipients",
              "references", "tags", "iocs"],
    "retraction": ["ref", "text", "iocs"],
    "comment": ["ref", "text"],
    "sighting": ["ref", "tlp", "iocs", "count"],
}


def body_keys_ok(b):
    """The body's keys are those of its kind in order, "author" (non-empty) optional after
    "signer" (section 5)."""
    kind = b.get("k")
    if kind not in KIND_KEYS:
        return False
    keys = list(b)
    want = COMMON_KEYS + (["author"] if "author" in b else []) + KIND_KEYS[kind]
    if keys != want:
        return False
    return "author" not in b or (isinstance(b["author"], str) and 1 <= len(b["author"].encode()) <= 128)


RECORD_KEYS = ["k", "name", "org", "sector", "role", "curve", "sign", "created", "gateway"]


def verify_record(rec, rec_sig, registry_pk):
    """A member record (section 6) signed by the registry key, in canonical form."""
    if not verify(registry_pk, rec_sig, rec, CTX_MEMBER):
        return False
    try:
        r = unpack_canonical(rec)
    except ValueError:
        return False
    return list(r.keys()) == RECORD_KEYS


def verify_item(item, registry_pk):
    """Checks a delivered item [seq, body, sig, rec, rec_sig] (section 4) end to end:
    the record against the pinned registry key, the body against the record's signing key,
    and the body's org/member/signer against the record. Returns (seq, body dict, record)."""
    if not (isinstance(item, list) and len(item) == 5):
        raise ItemError("item is not an array of 5")
    seq, body, sig, rec, rec_sig = item
    if not isinstance(seq, int) or seq < 1:
        raise ItemError("bad seq %r" % (seq,))
    if not verify(registry_pk, rec_sig, rec, CTX_MEMBER):
        raise ItemError("seq %d: record signature does not verify against the registry key" % seq)
    r = unpack_canonical(rec)
    if list(r.keys()) != ["k", "name", "org", "sector", "role", "curve", "sign", "created", "gateway"]:
        raise ItemError("seq %d: record keys %r" % (seq, list(r.keys())))
    if not verify(r["sign"], sig, body, CTX_MSG):
        raise ItemError("seq %d: body signature does not verify against the record's key" % seq)
    b = unpack_canonical(body)
    if not body_keys_ok(b):
        raise ItemError("seq %d: body keys %r" % (seq, list(b.keys())))
    if (b["org"], b["member"], b["signer"]) != (r["org"], r["name"], r["sign"]):
        raise ItemError("seq %d: body org/member/signer do not match the record" % seq)
    return seq, b, r


# --------------------------------------------------------------------------------------
# The connection


class Client:
    """A DEALER CURVE client. Incoming messages are sorted as they arrive:
    replies to publish by req (self.replies), delivered items (self.items, verified),
    other messages (welcome, pong, stats, errors without a pending req) in self.inbox."""

    def __init__(self, ident, ctx=None, endpoint=None, auto_ack=True, verify=True, monitor=False,
                 sockopts=None, keepalive=True):
        self.ident = ident
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        # A DEALER with no connection blocks a send forever, and the broker closes the
        # connection of a revoked or over-connected key: a send that cannot leave within
        # 2 s is dropped (self.unsent counts them), as on a real network.
        self.sock.sndtimeo = 2000
        self.unsent = 0
        self.sock.curve_publickey = ident.curve_public
        self.sock.curve_secretkey = ident.curve_secret
        self.sock.curve_serverkey = ident.broker_public
        for opt, val in (sockopts or {}).items():
            self.sock.setsockopt(opt, val)
        self.mon = self.sock.get_monitor_socket() if monitor else None
        self.sock.connect(endpoint or ident.endpoint)
        self.auto_ack, self.verify = auto_ack, verify
        self.next_req = 1
        self.replies = {}        # req -> ok/error envelope
        self.items = []          # (seq, body dict, record dict, raw item) in arrival order
        self.item_times = []     # arrival time of each item
        self.deliveries = 0      # deliver envelopes received
        self.inbox = []          # everything else, in order
        self.received = 0        # frames received, of any kind
        self.bad_items = []      # items that failed verification (ItemError text)
        self.last_acked = 0
        self.keepalive = keepalive   # ping every heartbeat/2 while polling, once welcomed
        self.heartbeat = None        # seconds, from welcome
        self.last_ping = 0.0
        self.head = None             # the broker's head, from welcome and pong (4.1, 4.4)
        self.owed = None             # the last seq the broker holds for us: lag = owed - cursor
        self.bad_envelopes = []      # welcome/pong that break section 4 (owed above head)
        self.limited = 0             # publishes refused rate-limited (publish_many)

    def close(self):
        if self.mon is not None:
            self.sock.disable_monitor()
            self.mon.close(0)
            self.mon = None
        self.sock.close(0)

    # ---- sending
    def send(self, t, **fields):
        env = {"v": VERSION, "t": t}
        env.update(fields)
        try:
            self.sock.send(pack(env), copy=False)
        except zmq.Again:
            self.unsent += 1

    def send_raw(self, data):
        if isinstance(data, (list, tuple)):
            self.sock.send_multipart(data)
        else:
            self.sock.send(data)

    def hello(self, cursor=0, window=1000, categories=(), sectors=(), min_severity="",
              agent="ihclient.py", wait=True, timeout=5.0):
        self.inbox = [m for m in self.inbox if m.get("t") != "welcome"]
        self.send("hello", cursor=cursor, categories=list(categories), sectors=list(sectors),
                  min_severity=min_severity, window=window, agent=agent)
        if not wait:
            return None
        return self.wait_inbox(lambda m: m.get("t") in ("welcome", "error"), timeout)

    def ack(self, seq):
        self.send("ack", seq=seq)
        self.last_acked = max(self.last_acked, seq)

    def ping(self):
        self.send("ping")
        self.last_ping = time.monotonic()

    def bye(self):
        self.send("bye")
        self.heartbeat = None

    def status(self, timeout=5.0):
        self.send("status")
        return self.wait_inbox(lambda m: m.get("t") == "stats", timeout)

    def roster(self, timeout=5.0, verify=True):
        """Asks for the roster (section 4.6). Returns the decoded member records that verify
        against the pinned registry key (each a dict of section 6), or the error envelope,
        or None when nothing came. With verify, a record that does not verify raises."""
        self.send("roster")
        m = self.wait_inbox(lambda m: m.get("t") in ("members", "error"), timeout)
        if m is None or m["t"] == "error":
            return m
        out = []
        for rec, rec_sig in m["members"]:
            if verify and not verify_record(rec, rec_sig, self.ident.registry_pk):
                raise ItemError("roster: a record does not verify against the registry key")
            out.append(unpack_canonical(rec))
        return out

    def sign_body(self, body, sk=None):
        data = pack(body) if isinstance(body, dict) else body
        return data, sign(sk or self.ident.sign_sk, data)

    def publish(self, body, sig=None, sk=None, req=None):
        """Sends publish; body is a dict (packed and signed here) or bytes. Returns req."""
        data = pack(body) if isinstance(body, dict) else body
        if sig is None:
            sig = sign(sk or self.ident.sign_sk, data)
        if req is None:
            req = self.next_req
            self.next_req += 1
        self.send("publish", req=req, body=data, sig=sig)
        return req

    def publish_wait(self, body, sig=None, sk=None, timeout=5.0):
        req = self.publish(body, sig=sig, sk=sk)
        return self.wait_reply(req, timeout)

    def wait_reply(self, req, timeout=5.0):
        self.poll_until(lambda: req in self.replies, timeout)
        return self.replies.pop(req, None)

    # ---- receiving
    def _handle(self, frames):
        self.received += 1
        if len(frames) != 1:
            self.inbox.append({"t": "<multi-frame>", "frames": frames})
            return
        try:
            m = msgpack.unpackb(frames[0], raw=False)
        except Exception as e:  # keep anything odd for the tests to see
            self.inbox.append({"t": "<undecodable>", "data": frames[0], "why": str(e)})
            return
        if not isinstance(m, dict):
            self.inbox.append({"t": "<not-a-map>", "data": m})
            return
        t = m.get("t")
        if t == "deliver":
            self.deliveries += 1
            now = time.monotonic()
            top = 0
            for it in m.get("items", []):
                if self.verify:
                    try:
                        seq, b, r = verify_item(it, self.ident.registry_pk)
                    except Exception as e:
                        self.bad_items.append(str(e))
                        continue
                else:
                    seq, b, r = it[0], msgpack.unpackb(it[1], raw=False), None
                self.items.append((seq, b, r, it))
                self.item_times.append(now)
                top = max(top, seq)
            if self.auto_ack and top:
                self.ack(top)
        elif t in ("ok", "error") and m.get("req") in self._pending_reqs():
            self.replies[m["req"]] = m
        else:
            if t in ("welcome", "pong") and isinstance(m.get("head"), int):
                # section 4.1: owed <= head; a broker older than `owed` sends none: = head
                owed = m.get("owed", m["head"])
                if not isinstance(owed, int) or owed < 0 or owed > m["head"]:
                    self.bad_envelopes.append(m)
                else:
                    self.head, self.owed = m["head"], owed
            if t == "welcome" and isinstance(m.get("heartbeat"), int):
                self.heartbeat = max(m["heartbeat"], 100) / 1000.0
                self.last_ping = time.monotonic()
            elif t == "error" and m.get("code") in ("no-session", "revoked"):
                self.heartbeat = None
            self.inbox.append(m)

    def _pending_reqs(self):
        return range(1, self.next_req)

    def poll(self, timeout=0.0):
        """Receives everything available, waiting up to timeout seconds for the first."""
        got = 0
        if self.keepalive and self.heartbeat and \
                time.monotonic() - self.last_ping > self.heartbeat / 2:
            self.ping()
        wait_ms = int(timeout * 1000)
        while self.sock.poll(wait_ms, zmq.POLLIN):
            self._handle(self.sock.recv_multipart())
            got += 1
            wait_ms = 0
        return got

    def poll_until(self, cond, timeout):
        deadline = time.monotonic() + timeout
        while not cond():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poll(min(left, 0.05))
        return True

    def wait_inbox(self, pred, timeout=5.0):
        found = []

        def cond():
            for i, m in enumerate(self.inbox):
                if pred(m):
                    found.append(self.inbox.pop(i))
                    return True
            return False
        self.poll_until(cond, timeout)
        return found[0] if found else None

    def wait_items(self, n, timeout=10.0):
        return self.poll_until(lambda: len(self.items) >= n, timeout)

    def drain(self, seconds):
        """Keeps receiving for `seconds`; returns the number of frames received."""
        before = self.received
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.poll(min(left, 0.05))
        return self.received - before

    def seqs(self):
        return [s for s, _, _, _ in self.items]

    def ids(self):
        return [b["id"] for _, b, _, _ in self.items]

    def monitor_events(self, timeout=0.0):
        """Socket monitor events (zmq.EVENT_*) seen since last call (monitor=True)."""
        from zmq.utils.monitor import recv_monitor_message
        evs = []
        wait_ms = int(timeout * 1000)
        while self.mon is not None and self.mon.poll(wait_ms, zmq.POLLIN):
            evs.append(recv_monitor_message(self.mon)["event"])
            wait_ms = 0
        return evs

    # ---- a pipelined publisher
    def publish_many(self, bodies, inflight=64, timeout=60.0, on_ok=None, tick=None,
                     retry_limited=False):
        """Publishes signed (data, sig) pairs or dicts with up to `inflight` requests
        outstanding; calls tick() every round (to keep other clients polled). With
        retry_limited, a publish refused `rate-limited` is sent again once the error's
        retry_after (section 4.3) has passed; self.limited counts those refusals.
        Returns (oks {index: ok}, errors {index: error}, unanswered [index])."""
        pending = {}
        oks, errs = {}, {}
        later = []              # (when, index): refused rate-limited, to send again
        i = 0
        deadline = time.monotonic() + timeout
        n = len(bodies)

        def send(k):
            b = bodies[k]
            req = self.publish(b[0], sig=b[1]) if isinstance(b, tuple) else self.publish(b)
            pending[req] = k
        while (i < n or pending or later) and time.monotonic() < deadline:
            now = time.monotonic()
            while later and later[0][0] <= now and len(pending) < inflight:
                send(later.pop(0)[1])
            while i < n and len(pending) < inflight and not later:
                send(i)
                i += 1
            self.poll(0.05)
            if tick:
                tick()
            for req in [r for r in pending if r in self.replies]:
                rep = self.replies.pop(req)
                idx = pending.pop(req)
                if rep["t"] == "ok":
                    oks[idx] = rep
                    if on_ok:
                        on_ok(idx, rep)
                elif retry_limited and rep.get("code") == "rate-limited" and rep.get("retry_after"):
                    self.limited += 1
                    later.append((time.monotonic() + rep["retry_after"] / 1000.0, idx))
                    later.sort()
                else:
                    errs[idx] = rep
        left = sorted(list(pending.values()) + [k for _, k in later])
        return oks, errs, left + list(range(i, n))
