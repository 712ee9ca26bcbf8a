"""A stand-in for the agent daemon's control socket (agents/ih_control.h), in Python, for the
console's tests until `infohub-agent run` answers on it itself.

It binds a ZeroMQ REP socket on ipc://AGENTDIR/agent.sock (mode 0600) and answers the ops
the console asks for:

    ping        {"ok": true, "connected": true, ...}
    totp-check  unseals the user's secret (python3-nacl SecretBox under AGENTDIR/console.key)
                and checks the code with Python's hmac (RFC 6238: 30 s, 6 digits, SHA-1, +-1
                step): {"ok": true, "step": N} or {"ok": false, "code": "wrong-code"}
    totp-new    a fresh secret, sealed: {"ok": true, "sealed", "secret", "uri"}
    publish, comment, sighting, retract
                signed with the member's signing key and published through the real broker
                (ihclient), answering the broker's verdict: {"ok": true, "id", "seq", ...}
                or {"ok": false, "code", "reason"}. The "author" field is recorded
                (self.requests) but not put in the body: the wire has no author field yet.

add_user() writes an account into the console's accounts database (AGENTDIR/console, the
LMDB of agents/ih_users.h) as `infohub-agent user add` will: argon2id password hash
(libsodium's crypto_pwhash_str format), the TOTP secret sealed under console.key, ten
recovery codes hashed. It returns the base32 secret and the recovery codes.

Once the daemon side is merged, tests switch to the real daemon and `infohub-agent user
add`; see tests/integration/consoleutil.py (USE_STANDIN).
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
import time
import uuid

import lmdb
import nacl.hash
import nacl.encoding
import nacl.pwhash
import nacl.secret
import zmq

import ihclient

STEP = 30
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def b32(secret):
    return base64.b32encode(secret).decode().rstrip("=")


def totp(secret, t=None, step_offset=0):
    """The RFC 6238 code for time t (now), as oathtool --totp gives it."""
    step = int((time.time() if t is None else t) // STEP) + step_offset
    mac = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 15
    n = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000
    return "%06d" % n


def console_key(agentdir):
    """AGENTDIR/console.key (32 bytes, 0600), made when missing (the daemon's job)."""
    path = os.path.join(agentdir, "console.key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, secrets.token_bytes(32))
        os.close(fd)
    with open(path, "rb") as f:
        key = f.read()
    assert len(key) == 32
    return key


def seal(key, secret):
    return nacl.secret.SecretBox(key).encrypt(secret)      # nonce(24) + MAC(16) + secret


def unseal(key, sealed):
    return nacl.secret.SecretBox(key).decrypt(sealed)


def _recovery_hash(code):
    norm = code.replace("-", "").replace(" ", "").lower()[:16]
    return nacl.hash.blake2b(norm.encode(), digest_size=32, key=b"infohub/recovery/1",
                             encoder=nacl.encoding.RawEncoder)


def _env(agentdir):
    d = os.path.join(agentdir, "console")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return lmdb.open(d, max_dbs=4, map_size=64 << 20, subdir=True)


def add_user(agentdir, name, role="analyst", password=None, display=None):
    """An account, as `infohub-agent user add` makes it. Returns (password, base32 secret,
    recovery codes)."""
    password = password or "correct horse %s staple" % secrets.token_hex(4)
    key = console_key(agentdir)
    secret = secrets.token_bytes(20)
    codes = []
    hashes = []
    for _ in range(10):
        c = "".join(secrets.choice(ALPHABET) for _ in range(16))
        codes.append("%s-%s-%s-%s" % (c[:4], c[4:8], c[8:12], c[12:]))
        hashes.append(_recovery_hash(c).hex())
    now = int(time.time() * 1000)
    rec = {"name": name, "display": display or name.capitalize(), "role": role,
           "pw": nacl.pwhash.argon2id.str(password.encode(),
                                          opslimit=nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
                                          memlimit=nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE).decode(),
           "step": 0, "created": now, "pw_changed": now, "last_login": 0, "prev_login": 0,
           "last_visit": 0, "reuse": 0, "totp": bytes(seal(key, secret)).hex(), "recovery": hashes}
    env = _env(agentdir)
    try:
        users = env.open_db(b"users")
        env.open_db(b"sessions")
        env.open_db(b"throttle")
        with env.begin(write=True) as txn:
            assert txn.put(name.encode(), json.dumps(rec, separators=(",", ":")).encode(),
                           db=users, overwrite=False), "user %s exists" % name
    finally:
        env.close()
    return password, b32(secret), codes


def sessions(agentdir):
    """Every session record: [(key bytes, dict)]."""
    env = _env(agentdir)
    try:
        db = env.open_db(b"sessions")
        with env.begin() as txn:
            return [(bytes(k), json.loads(bytes(v))) for k, v in txn.cursor(db=db)]
    finally:
        env.close()


def age_sessions(agentdir, ms, fields=("created", "seen")):
    """Moves every session's clocks (created, seen, or one of them) back by ms, as if that
    long had passed."""
    env = _env(agentdir)
    try:
        db = env.open_db(b"sessions")
        with env.begin(write=True) as txn:
            for k, v in list(txn.cursor(db=db)):
                s = json.loads(bytes(v))
                for f in fields:
                    s[f] -= ms
                txn.put(bytes(k), json.dumps(s, separators=(",", ":")).encode(), db=db)
    finally:
        env.close()


def get_user(agentdir, name):
    env = _env(agentdir)
    try:
        db = env.open_db(b"users")
        with env.begin() as txn:
            v = txn.get(name.encode(), db=db)
            return json.loads(bytes(v)) if v is not None else None
    finally:
        env.close()


class StandIn:
    """The daemon's control socket for one member, served from a thread."""

    def __init__(self, member, endpoint=None, ctx=None, path=None):
        self.member = member
        self.agentdir = member.agentdir
        self.path = path or os.path.join(self.agentdir, "agent.sock")
        self.key = console_key(self.agentdir)
        self.endpoint = endpoint
        self.ctx = ctx or zmq.Context.instance()
        self.requests = []              # every request, as received
        self.revisions = {}             # alert id -> the last revision published here
        self.fail_next = None           # (code, reason): refuse the next signing op
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error = None
        self.thread = threading.Thread(target=self._run, name="standin-" + member.name, daemon=True)
        self.thread.start()
        self._ready.wait(10)
        if self._error:
            raise self._error

    def close(self):
        self._stop.set()
        self.thread.join(10)

    # ---- the ops
    def _client(self):
        if self._c is None:
            self._c = ihclient.Client(self.member.ident, ctx=self.ctx, endpoint=self.endpoint)
        return self._c

    def _send(self, body):
        rep = self._client().publish_wait(body, timeout=10.0)
        if rep is None:
            return {"ok": False, "code": "unavailable", "reason": "the broker did not answer in time"}
        if rep.get("t") != "ok":
            return {"ok": False, "code": rep.get("code", "error"), "reason": rep.get("reason", "refused")}
        return {"ok": True, "id": body["id"], "seq": rep["seq"]}

    def _refused(self):
        if self.fail_next:
            code, reason = self.fail_next
            self.fail_next = None
            return {"ok": False, "code": code, "reason": reason}
        return None

    def _op(self, req):
        op = req.get("op")
        ident = self.member.ident
        if op == "ping":
            return {"ok": True, "connected": True, "broker": "connected", "member": ident.name,
                    "org": ident.org, "cursor": 0, "head": 0}
        if op == "totp-check":
            try:
                secret = unseal(self.key, bytes.fromhex(req["sealed"]))
            except Exception:
                return {"ok": False, "code": "bad-secret", "reason": "the sealed secret does not open"}
            now = time.time()
            for off in (0, -1, 1):
                if hmac.compare_digest(totp(secret, now, off), str(req.get("code", ""))):
                    return {"ok": True, "step": int(now // STEP) + off}
            return {"ok": False, "code": "wrong-code", "reason": "the code does not match"}
        if op == "totp-new":
            secret = secrets.token_bytes(20)
            s = b32(secret)
            uri = "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30" % (
                req["issuer"].replace(" ", "%20"), req["account"], s, req["issuer"].replace(" ", "%20"))
            return {"ok": True, "sealed": bytes(seal(self.key, secret)).hex(), "secret": s, "uri": uri}
        if op in ("publish", "comment", "sighting", "retract"):
            if not isinstance(req.get("author"), str) or not req["author"]:
                return {"ok": False, "code": "bad-request", "reason": "author: missing"}
            refused = self._refused()
            if refused:
                return refused
            if self.endpoint is None:
                return {"ok": True, "id": str(uuid.uuid4()), "seq": len(self.requests)}
            if op == "comment":
                return self._send(ihclient.comment_body(ident, req["ref"], req["text"]))
            if op == "sighting":
                return self._send(ihclient.sighting_body(ident, req["ref"] or "",
                                                         ihclient.ioc(req["type"], req["value"], "", False),
                                                         tlp=req["tlp"], count=int(req.get("count", 1))))
            if op == "retract":
                iocs = [ihclient.ioc(i["type"], i["value"], "", False) for i in req.get("iocs") or []]
                return self._send(ihclient.retraction_body(ident, req["ref"], req.get("text") or "", iocs))
            a = req["alert"]
            aid = a.get("id") or None
            rev = self.revisions.get(aid, 1) + 1 if aid else 1
            body = ihclient.alert_body(
                ident, title=a["title"], summary=a.get("summary", ""), tlp=a["tlp"].upper(),
                severity=a["severity"].lower(), category=a["category"].lower(),
                sectors=a.get("sectors", []), recipients=a.get("recipients", []),
                references=a.get("references", []), tags=a.get("tags", []),
                iocs=[ihclient.ioc(i["type"], i["value"], i.get("comment", ""), i.get("detect", True))
                      for i in a.get("iocs", [])], id=aid, rev=rev)
            ans = self._send(body)
            if ans["ok"]:
                self.revisions[body["id"]] = rev
                ans["revision"] = rev
            return ans
        return {"ok": False, "code": "unknown-op", "reason": "unknown op %r" % op}

    def _run(self):
        self._c = None
        sock = None
        try:
            old = os.umask(0o077)
            try:
                sock = self.ctx.socket(zmq.REP)
                sock.linger = 0
                sock.bind("ipc://" + self.path)
            finally:
                os.umask(old)
        except Exception as e:  # noqa: BLE001 (reported to the constructor)
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(50):
                if self._c is not None:
                    self._c.poll(0)
                continue
            raw = sock.recv()
            try:
                req = json.loads(raw)
                self.requests.append(req)
                ans = self._op(req)
            except Exception as e:  # noqa: BLE001 (a bad request gets an answer, as the daemon's)
                ans = {"ok": False, "code": "bad-request", "reason": str(e)}
            sock.send(json.dumps(ans).encode())
        sock.close(0)
        if self._c is not None:
            self._c.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
