"""C and Python agree on the wire format (proto/PROTOCOL.md).

The C side is bin/ih-wire (tests/interop/ih-wire.c, linked with build/libihproto.a); the
Python side is msgpack (packb(use_bin_type=True), dicts in the documented key order) and
PyNaCl. Run: /usr/bin/python3 -m pytest tests/interop
  (a) C encodes, Python decodes and checks every field, and packs the same bytes;
  (b) Python encodes bodies and envelopes, C decodes them and prints every field;
  (c) Python signs and C verifies, and the other way round;
  (d) non-canonical or malformed frames built in Python are rejected by C, with the
      error naming the field.
"""
import os
import subprocess
import uuid

import msgpack
import nacl.signing
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WIRE = os.path.join(ROOT, "bin", "ih-wire")
CTX_MSG = b"infohub/msg/1"
CTX_MEMBER = b"infohub/member/1"

ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
ID2 = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
T0 = 1764350736123
MAX_FRAME = 1024 * 1024


# ---- helpers ----------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def wire():
    if not os.access(WIRE, os.X_OK):
        subprocess.run(["make", "-s", "-C", ROOT, "bin/ih-wire"], check=False)
    assert os.access(WIRE, os.X_OK), "bin/ih-wire missing: run `make bin/ih-wire`"
    return WIRE


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def run(*args, data=None):
    """Runs ih-wire; FILE arguments are given as "-" with data on stdin."""
    return subprocess.run([WIRE] + list(args), input=data, capture_output=True, timeout=60)


def unescape(v):
    return v.encode("latin-1").decode("unicode_escape").encode("latin-1").decode("utf-8")


def parse(out):
    d = {}
    for line in out.decode("ascii").splitlines():
        k, _, v = line.partition("=")
        assert k not in d, "duplicate key %s" % k
        d[k] = v
    return d


def c_decode(what, data):
    p = run("decode-" + what, "-", data=data)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b""
    return parse(p.stdout)


def c_reject(what, data):
    p = run("decode-" + what, "-", data=data)
    assert p.returncode == 1, "C accepted a bad %s: %s" % (what, p.stdout.decode())
    assert p.stdout == b""
    err = p.stderr.decode()
    assert err.endswith("\n") and err.count("\n") == 1, "error is not one line: %r" % err
    return err.strip()


def check_body(d, body):
    """Compares the dump of ih-wire decode-body with the Python dict, field by field."""
    assert d["k"] == body["k"]
    assert d["id"] == body["id"]
    assert int(d["rev"]) == body["rev"]
    assert int(d["created"]) == body["created"]
    assert int(d["modified"]) == body["modified"]
    assert unescape(d["org"]) == body["org"]
    assert unescape(d["member"]) == body["member"]
    assert bytes.fromhex(d["signer"]) == body["signer"]
    for key in ("author", "title", "summary", "severity", "category", "tlp", "ref", "text"):
        if key in body:
            assert unescape(d[key]) == body[key], key
    for key in ("sectors", "recipients", "references", "tags"):
        if key in body:
            assert int(d[key + "#"]) == len(body[key])
            for i, v in enumerate(body[key]):
                assert unescape(d["%s[%d]" % (key, i)]) == v
    if "count" in body:
        assert int(d["count"]) == body["count"]
    if "iocs" in body:
        assert int(d["iocs#"]) == len(body["iocs"])
        for i, (t, v, c, det) in enumerate(body["iocs"]):
            assert d["iocs[%d].type" % i] == t
            assert unescape(d["iocs[%d].value" % i]) == v
            assert unescape(d["iocs[%d].comment" % i]) == c
            assert d["iocs[%d].detect" % i] == ("true" if det else "false")
    expected = {"k", "id", "rev", "created", "modified", "org", "member", "signer"}
    for key, v in body.items():
        if isinstance(v, list):
            expected.add(key + "#")
            expected.update(k for k in d if k.startswith(key + "["))
        else:
            expected.add(key)
    assert set(d) == expected


# ---- the samples of ih-wire encode-sample (same values as tests/interop/ih-wire.c) --------

def common(kind, rev=0, author=None):
    """The common keys; "author", the one optional key, right after "signer" when given."""
    d = {"k": kind, "id": ID if kind == "alert" else ID2, "rev": rev, "created": T0,
         "modified": T0 + 60000, "org": "acme", "member": "alice", "signer": b"\x5a" * 32}
    if author is not None:
        d["author"] = author
    return d


def sample_alert():
    d = common("alert", 2, author="Ana M\u00fcller")
    d.update({
        "title": "LockBit affiliate targeting payment processors \u2014 r\u00e9sum\u00e9",
        "summary": "# Summary\n\nSeen **twice**.\tTabbed.",
        "tlp": "AMBER", "severity": "high", "category": "data-leak",
        "sectors": ["finance", "energy"], "recipients": ["sector:finance", "globex"],
        "references": ["https://example.org/advisory/1"],
        "tags": ["lockbit", "a tag of exactly forty bytes, str8 form!"],
        "iocs": [["ipv4", "198.51.100.7", "C2 server", True],
                 ["ipv6", "2001:db8::1", "", True],
                 ["cidr", "198.51.100.0/24", "", False],
                 ["domain", "evil.example", "", True],
                 ["url", "https://evil.example/x?a=1", "", True],
                 ["email", "ceo@evil.example", "", False],
                 ["md5", "d41d8cd98f00b204e9800998ecf8427e", "", True],
                 ["sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "", True],
                 ["sha256", SHA, "dropper", False],
                 ["filename", "invoice.exe", "", True],
                 ["cve", "CVE-2024-3400", "", False],
                 ["asn", "AS64496", "", False]]})
    return d


def sample_retraction():
    d = common("retraction")
    d.update({"ref": ID, "text": "false positive", "iocs": [["ipv4", "198.51.100.7", "", False]]})
    return d


def sample_comment():
    d = common("comment", author="Bo (SOC, night shift)")
    d.update({"ref": ID, "text": "Seen at two more members."})
    return d


def sample_sighting():
    d = common("sighting")
    d.update({"ref": ID, "tlp": "GREEN", "iocs": [["domain", "evil.example", "", False]], "count": 3})
    return d


def sample_member():
    return {"k": "member", "name": "alice", "org": "acme", "sector": "finance", "role": "publisher",
            "curve": b"\xc5" * 32, "sign": b"\x5a" * 32, "created": T0, "gateway": False}


SAMPLES = {"alert": sample_alert, "retraction": sample_retraction, "comment": sample_comment,
           "sighting": sample_sighting, "member": sample_member}


def sample_env(t):
    body, rec = pack(sample_alert()), pack(sample_member())
    sig, rec_sig = b"\x11" * 64, b"\x22" * 64
    fields = {
        "hello": {"cursor": 41, "categories": ["ransomware", "data-leak"], "sectors": ["finance"],
                  "min_severity": "medium", "window": 1000, "agent": "infohub-agent/0.1"},
        "welcome": {"head": 123456789, "owed": 123456700, "member": "alice", "org": "acme",
                    "heartbeat": 5000},
        "publish": {"req": 7, "body": body, "sig": sig},
        "ok": {"req": 7, "seq": 300, "id": ID},
        "error": {"req": 7, "code": "bad-message", "reason": "title: too long (300 > 256 bytes)"},
        "deliver": {"items": [[5, body, sig, rec, rec_sig], [4294967296, body, sig, rec, rec_sig]]},
        "ack": {"seq": 70000},
        "ping": {},
        "pong": {"head": 5, "owed": 4},
        "bye": {},
        "status": {},
        "stats": {"json": '{"connections":2,"head":5}'},
        "roster": {},
        "members": {"members": [[rec, rec_sig], [rec, rec_sig]]},
    }[t]
    d = {"v": 1, "t": t}
    d.update(fields)
    return d


ENV_TYPES = ["hello", "welcome", "publish", "ok", "error", "deliver", "ack", "ping", "pong",
             "bye", "status", "stats", "roster", "members"]


# ---- (a) C encodes, Python decodes ----------------------------------------------------------

@pytest.mark.parametrize("name", list(SAMPLES))
def test_c_encodes_python_decodes_body(name):
    p = run("encode-sample", name)
    assert p.returncode == 0, p.stderr.decode()
    raw = p.stdout
    obj = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    expected = SAMPLES[name]()
    assert obj == expected
    assert list(obj) == list(expected), "key order"
    # Canonical: Python packs the same logical message into the same bytes
    assert pack(expected) == raw
    assert pack(obj) == raw


@pytest.mark.parametrize("t", ENV_TYPES)
def test_c_encodes_python_decodes_envelope(t):
    p = run("encode-sample", t)
    assert p.returncode == 0, p.stderr.decode()
    obj = msgpack.unpackb(p.stdout, raw=False, strict_map_key=True)
    expected = sample_env(t)
    assert obj == expected
    assert list(obj)[:2] == ["v", "t"]
    assert pack(expected) == p.stdout
    if t == "publish":
        assert msgpack.unpackb(obj["body"], raw=False) == sample_alert()
    if t == "deliver":
        for item in obj["items"]:
            assert msgpack.unpackb(item[1], raw=False) == sample_alert()
            assert msgpack.unpackb(item[3], raw=False) == sample_member()
    if t == "members":
        for rec, rec_sig in obj["members"]:
            assert msgpack.unpackb(rec, raw=False) == sample_member() and rec_sig == b"\x22" * 64


def test_c_string_forms_match_python():
    # fixstr below 32 bytes, str8 from 32 to 255, str16 above: the 40-byte tag is a str8
    raw = run("encode-sample", "alert").stdout
    tag = b"a tag of exactly forty bytes, str8 form!"
    assert b"\xd9\x28" + tag in raw
    assert b"\xa7lockbit" in raw
    assert b"\xc4\x20" + b"\x5a" * 32 in raw            # bin8 signer
    assert b"\xa3rev\x02" in raw                        # positive fixint
    assert b"\xa7created\xcf" in raw                    # uint64 for ms > 2^32


# ---- (b) Python encodes, C decodes -----------------------------------------------------------

def py_alert(author=None, **over):
    d = {"k": "alert", "id": str(uuid.uuid4()), "rev": 1, "created": 1700000000000,
         "modified": 1700000000500, "org": "globex", "member": "bob", "signer": os.urandom(32)}
    if author is not None:
        d["author"] = author
    d.update({
         "title": "Python-made alert \u00fcber caf\u00e9 \U0001f512", "summary": "",
         "tlp": "RED", "severity": "critical", "category": "vulnerability", "sectors": [],
         "recipients": ["acme", "initech"], "references": ["http://example.com/a b".replace(" ", "%20")],
         "tags": [], "iocs": [["cve", "CVE-2021-44228", "log4shell", True],
                              ["ipv6", "2001:db8::ff00:42:8329", "", True]]})
    d.update(over)
    return d


PY_BODIES = {
    "alert": py_alert(),
    "alert-str16-summary": py_alert(summary="x" * 300, title="t" * 256),
    "alert-str32-summary": py_alert(summary="s" * 65536),      # the limit needs a str32
    "alert-str8-bounds": py_alert(title="y" * 32, tags=["z" * 31, "w" * 32, "v" * 64]),
    "alert-uint-forms": py_alert(rev=256),
    "alert-uint32-rev": py_alert(rev=65536),
    "alert-5000-iocs": py_alert(iocs=[["ipv4", "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255), "", False]
                                      for i in range(5000)]),
    "retraction-whole": {"k": "retraction", "id": str(uuid.uuid4()), "rev": 0, "created": 1700000000000,
                         "modified": 1700000000000, "org": "globex", "member": "bob",
                         "signer": b"\x01" * 32, "ref": ID, "text": "", "iocs": []},
    "comment": {"k": "comment", "id": str(uuid.uuid4()), "rev": 0, "created": 1700000000000,
                "modified": 1700000000000, "org": "globex", "member": "bob", "signer": b"\x02" * 32,
                "ref": ID, "text": "line one\nline two\ttab \\ backslash"},
    "comment-with-author": {"k": "comment", "id": str(uuid.uuid4()), "rev": 0, "created": 1700000000000,
                            "modified": 1700000000000, "org": "globex", "member": "bob",
                            "signer": b"\x02" * 32, "author": "Zo\u00eb \U0001f512 " + "x" * 100,
                            "ref": ID, "text": "ok"},
    "alert-event-with-author": py_alert(author="A", category="event", tlp="CLEAR", recipients=[],
                                        tags=["date:2027-01-14T09:00Z", "place:Bern"]),
    "sighting-no-alert": {"k": "sighting", "id": str(uuid.uuid4()), "rev": 0,
                          "created": 1700000000000, "modified": 1700000000000, "org": "globex",
                          "member": "bob", "signer": b"\x03" * 32, "ref": "", "tlp": "CLEAR",
                          "iocs": [["url", "http://evil.example/a?b=c", "", True]], "count": 1000000},
}


@pytest.mark.parametrize("name", list(PY_BODIES))
def test_python_encodes_c_decodes_body(name):
    body = PY_BODIES[name]
    raw = pack(body)
    assert len(raw) <= MAX_FRAME
    check_body(c_decode("body", raw), body)


def test_python_encodes_c_decodes_member():
    rec = {"k": "member", "name": "gateway", "org": "infohub", "sector": "", "role": "reader",
           "curve": os.urandom(32), "sign": os.urandom(32), "created": 1700000000000, "gateway": True}
    d = c_decode("member", pack(rec))
    assert d["name"] == "gateway" and d["org"] == "infohub" and d["sector"] == ""
    assert d["role"] == "reader" and d["gateway"] == "true"
    assert bytes.fromhex(d["curve"]) == rec["curve"] and bytes.fromhex(d["sign"]) == rec["sign"]
    assert int(d["created"]) == rec["created"]


def test_python_encodes_c_decodes_envelopes():
    # after "v" and "t", fields in any order
    hello = {"v": 1, "t": "hello", "agent": "pyclient/1", "window": 10000, "sectors": [],
             "min_severity": "", "categories": ["phishing"], "cursor": 2 ** 64 - 1}
    d = c_decode("env", pack(hello))
    assert d["t"] == "hello" and int(d["cursor"]) == 2 ** 64 - 1 and d["window"] == "10000"
    assert unescape(d["agent"]) == "pyclient/1" and d["min_severity"] == ""
    assert d["categories#"] == "1" and d["categories[0]"] == "phishing" and d["sectors#"] == "0"

    body = pack(py_alert())
    sig = os.urandom(64)
    d = c_decode("env", pack({"v": 1, "t": "publish", "sig": sig, "body": body, "req": 0}))
    assert bytes.fromhex(d["body"]) == body and bytes.fromhex(d["sig"]) == sig and d["req"] == "0"

    items = [[i * 3 + 1, body, sig, b"rec%d" % i, sig] for i in range(256)]
    d = c_decode("env", pack({"v": 1, "t": "deliver", "items": items}))
    assert d["items#"] == "256"
    assert d["items[255].seq"] == str(255 * 3 + 1)
    assert bytes.fromhex(d["items[7].rec"]) == b"rec7"

    for t, fields in [("welcome", {"org": "acme", "member": "alice", "heartbeat": 0, "head": 0,
                                   "owed": 0}),
                      ("welcome", {"owed": 2 ** 64 - 2, "org": "acme", "member": "alice",
                                   "heartbeat": 1000, "head": 2 ** 64 - 1}),
                      ("ok", {"id": ID, "seq": 1, "req": 65536}),
                      ("error", {"reason": "", "code": "internal", "req": 0}),
                      ("error", {"reason": "rate: x is over its messages-per-s limit (5 a second); "
                                 "retry after 250 ms", "code": "rate-limited", "req": 3,
                                 "retry_after": 250}),
                      ("error", {"retry_after": 86400000, "code": "rate-limited", "reason": "",
                                 "req": 0}),
                      ("ack", {"seq": 255}), ("pong", {"head": 256, "owed": 255}), ("ping", {}),
                      ("bye", {}), ("status", {}), ("stats", {"json": "{}"})]:
        env = {"v": 1, "t": t}
        env.update(fields)
        d = c_decode("env", pack(env))
        assert d.pop("v") == "1" and d.pop("t") == t
        assert {k: str(v) for k, v in fields.items()} == d
    # roster and members (section 4.6): none, one or many records, each [rec, rec_sig]
    assert c_decode("env", pack({"v": 1, "t": "roster"})) == {"v": "1", "t": "roster"}
    rec = pack(sample_member())
    for n in (0, 1, 300):
        sigs = [os.urandom(64) for _ in range(n)]
        d = c_decode("env", pack({"v": 1, "t": "members", "members": [[rec, s] for s in sigs]}))
        assert d.pop("v") == "1" and d.pop("t") == "members" and d.pop("members#") == str(n)
        for i, s in enumerate(sigs):
            assert bytes.fromhex(d.pop("members[%d].rec" % i)) == rec
            assert bytes.fromhex(d.pop("members[%d].rec_sig" % i)) == s
        assert d == {}
    # owed may be missing (a broker older than it): it then reads as head (section 4.1)
    for t, fields in [("welcome", {"head": 42, "member": "alice", "org": "acme", "heartbeat": 9}),
                      ("pong", {"head": 43})]:
        env = {"v": 1, "t": t}
        env.update(fields)
        d = c_decode("env", pack(env))
        assert d["owed"] == d["head"] == str(fields["head"]), d


# ---- (c) signatures --------------------------------------------------------------------------

def test_python_signs_c_verifies():
    sk = nacl.signing.SigningKey.generate()
    pk = bytes(sk.verify_key).hex()
    body = pack(py_alert())
    sig = sk.sign(CTX_MSG + b"\0" + body).signature
    p = run("verify", pk, CTX_MSG.decode(), sig.hex(), "-", data=body)
    assert p.returncode == 0 and p.stdout == b"ok\n", p.stderr
    # wrong context, altered body, altered signature, other key: all refused
    bad = [("verify", pk, CTX_MEMBER.decode(), sig.hex(), body),
           ("verify", pk, CTX_MSG.decode(), sig.hex(), body[:-1] + bytes([body[-1] ^ 1])),
           ("verify", pk, CTX_MSG.decode(), bytes([sig[0] ^ 1]).hex() + sig[1:].hex(), body),
           ("verify", bytes(nacl.signing.SigningKey.generate().verify_key).hex(),
            CTX_MSG.decode(), sig.hex(), body)]
    for cmd, k, ctx, s, data in bad:
        p = run(cmd, k, ctx, s, "-", data=data)
        assert p.returncode == 1 and p.stderr == b"bad signature\n"
    # a signature over the body alone (no context) is not valid
    plain = sk.sign(body).signature
    assert run("verify", pk, CTX_MSG.decode(), plain.hex(), "-", data=body).returncode == 1


def test_c_signs_python_verifies():
    seed = os.urandom(32)
    sk = nacl.signing.SigningKey(seed)
    rec = pack(sample_member())
    for key in (seed.hex(), (seed + bytes(sk.verify_key)).hex()):     # seed, or 64-byte secret key
        for ctx in (CTX_MSG, CTX_MEMBER):
            p = run("sign", key, ctx.decode(), "-", data=rec)
            assert p.returncode == 0, p.stderr
            sig = bytes.fromhex(p.stdout.decode().strip())
            assert len(sig) == 64
            sk.verify_key.verify(ctx + b"\0" + rec, sig)
            # ed25519 is deterministic: the same signature as PyNaCl's
            assert sig == sk.sign(ctx + b"\0" + rec).signature


def test_known_signature_vector():
    # the vector of ih_sign_test: seed 0x01 * 32, body "abc", context infohub/msg/1
    seed = b"\x01" * 32
    p = run("sign", seed.hex(), "infohub/msg/1", "-", data=b"abc")
    expected = nacl.signing.SigningKey(seed).sign(b"infohub/msg/1\0abc").signature
    assert p.stdout.decode().strip() == expected.hex()


# ---- (d) malformed or non-canonical frames are rejected with a named error ----------------------

def replace_once(data, old, new):
    assert data.count(old) >= 1, old
    return data.replace(old, new, 1)


def reordered(d, a, b):
    keys = list(d)
    i, j = keys.index(a), keys.index(b)
    keys[i], keys[j] = keys[j], keys[i]
    return {k: d[k] for k in keys}


def with_(d, **over):
    d = dict(d)
    d.update(over)
    return d


def without(d, key):
    return {k: v for k, v in d.items() if k != key}


ALERT = pack(sample_alert())

BAD_BODIES = [
    ("uint16 for a small int", replace_once(ALERT, b"\xa3rev\x02", b"\xa3rev\xcd\x00\x02"),
     "body: non-canonical encoding"),
    ("int8 for a positive int", replace_once(ALERT, b"\xa3rev\x02", b"\xa3rev\xd0\x02"),
     "body: non-canonical encoding"),
    ("str8 for a short str", replace_once(ALERT, b"\xa7lockbit", b"\xd9\x07lockbit"),
     "body: non-canonical encoding"),
    ("map32 header", replace_once(ALERT, b"\xde\x00\x13", b"\xdf\x00\x00\x00\x13"),
     "body: non-canonical encoding"),
    ("bin16 signer", replace_once(ALERT, b"\xc4\x20", b"\xc5\x00\x20"),
     "body: non-canonical encoding"),
    ("key order", pack(reordered(sample_alert(), "title", "summary")),
     "summary: out of order (expected 'title' at position 9)"),
    ("missing key", pack(without(sample_alert(), "tags")), "tags: missing"),
    ("empty author", pack(with_(sample_comment(), author="")),
     "author: empty (a body without an author leaves the key out)"),
    ("author on two lines", pack(with_(sample_comment(), author="Bo\nI agent: forged")),
     "author: invalid UTF-8 or control character"),
    ("author too long", pack(with_(sample_comment(), author="x" * 129)), "author: too long (129 > 128 bytes)"),
    ("author not a str", pack(with_(sample_comment(), author=5)), "author: expected str, got int"),
    ("author out of order", pack(reordered(sample_comment(), "author", "ref")),
     "ref: out of order (expected 'author' at position 8)"),
    ("author at the end", pack(dict(without(sample_alert(), "author"), author="A")),
     "title: out of order (expected 'author' at position 8)"),
    ("extra key", pack(with_(sample_alert(), extra=1)), "body: unknown key 'extra'"),
    ("k not first", pack(reordered(sample_comment(), "k", "id")), "k: missing (must be the first key)"),
    ("unknown kind", pack(with_(sample_comment(), k="note")), "k: unknown value 'note'"),
    ("title int", pack(with_(sample_alert(), title=5)), "title: expected str, got int"),
    ("title too long", pack(with_(sample_alert(), title="x" * 300)), "title: too long (300 > 256 bytes)"),
    ("rev float", pack(with_(sample_alert(), rev=1.5)), "rev: expected uint, got float"),
    ("rev negative", pack(with_(sample_alert(), rev=-1)), "rev: expected uint, got negative int"),
    ("created out of range", pack(with_(sample_alert(), created=-5)), "created: out of range"),
    ("signer as str (no bin type)", msgpack.packb(sample_alert(), use_bin_type=False),
     "signer: expected bin, got str"),
    ("short signer", pack(with_(sample_alert(), signer=b"\x5a" * 12)), "signer: expected 32 bytes, got 12"),
    ("lower-case tlp", pack(with_(sample_alert(), tlp="amber")), "tlp: unknown value 'amber'"),
    ("ioc not an array of 4", pack(with_(sample_sighting(), iocs=[{"type": "ipv4"}])),
     "iocs[0]: expected array of 4, got map"),
    ("ioc of 3", pack(with_(sample_sighting(), iocs=[["domain", "evil.example", ""]])),
     "iocs[0]: expected array of 4, got array of 3"),
    ("ioc detect int", pack(with_(sample_sighting(), iocs=[["domain", "evil.example", "", 1]])),
     "iocs[0].detect: expected bool, got int"),
    ("non-normalised domain", pack(with_(sample_sighting(), iocs=[["domain", "EVIL.example", "", False]])),
     "iocs[0].value: not in normal form"),
    ("non-normalised ipv6", pack(with_(sample_sighting(), iocs=[["ipv6", "2001:DB8:0::1", "", False]])),
     "iocs[0].value"),
    ("invalid UTF-8", replace_once(pack(with_(sample_comment(), text="caf!")), b"caf!", b"caf\xc3"),
     "text: invalid UTF-8"),
    ("NUL in a string", pack(with_(sample_comment(), text="a\0b")), "text: contains a NUL byte"),
    ("too many IOCs", pack(with_(sample_retraction(), iocs=[["ipv4", "10.0.0.1", "", False]] * 5001)),
     "iocs: too many elements (5001 > 5000)"),
    ("sighting count 0", pack(with_(sample_sighting(), count=0)), "count: must be 1..1000000"),
    ("lying array length", b"\x81\xa1k\xdd\xff\xff\xff\xff", "exceeds the 0 bytes left"),
    ("lying str length", b"\x82\xa1k\xa5alert\xa2id\xdb\x7f\xff\xff\xffabc",
     "msgpack: str of 2147483647 bytes at byte 12 exceeds the 3 bytes left"),
    ("deep nesting", b"\x91" * 20 + b"\xc0", "msgpack: nesting deeper than 8"),
    ("trailing bytes", ALERT + b"\xc0", "msgpack: 1 trailing bytes after the top-level object"),
    ("truncated", ALERT[:-1], "msgpack: truncated"),
    ("empty", b"", "msgpack: empty frame"),
    ("oversized", ALERT + b"\0" * (MAX_FRAME + 1 - len(ALERT)), "msgpack: frame too large (1048577 > 1048576 bytes)"),
]


@pytest.mark.parametrize("name,data,expect", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_c_rejects_bad_body(name, data, expect):
    assert expect in c_reject("body", data)


def test_c_rejects_bad_member():
    rec = sample_member()
    assert "k: expected 'member', got 'alert'" in c_reject("member", pack(with_(rec, k="alert")))
    assert "curve: expected 32 bytes, got 31" in c_reject("member", pack(with_(rec, curve=b"\0" * 31)))
    assert "role: unknown value 'admin'" in c_reject("member", pack(with_(rec, role="admin")))
    assert "member record: non-canonical encoding" in c_reject(
        "member", replace_once(pack(rec), b"\xa7created\xcf", b"\xa7created\xd3"))


ENV_PUBLISH = {"v": 1, "t": "publish", "req": 1, "body": ALERT, "sig": b"\x11" * 64}
BAD_ENVS = [
    ("bad version", pack(with_(ENV_PUBLISH, v=2)), "v: unsupported protocol version 2"),
    ("t before v", pack(reordered(ENV_PUBLISH, "v", "t")), "v: missing (must be the first key)"),
    ("unknown type", pack({"v": 1, "t": "subscribe"}), "t: unknown message type 'subscribe'"),
    ("bad sig length", pack(with_(ENV_PUBLISH, sig=b"\x11" * 12)), "sig: expected 64 bytes, got 12"),
    ("body as str", pack(with_(ENV_PUBLISH, body="x")), "body: expected bin, got str"),
    ("missing field", pack(without(ENV_PUBLISH, "req")), "req: missing"),
    ("unknown field", pack(with_(ENV_PUBLISH, prio=1)), "publish: unknown key 'prio'"),
    ("negative req", pack(with_(ENV_PUBLISH, req=-1)), "req: expected uint, got negative int"),
    ("ping with a field", pack({"v": 1, "t": "ping", "x": 1}), "ping: unknown key 'x'"),
    ("owed above head", pack({"v": 1, "t": "pong", "head": 5, "owed": 6}), "owed: 6 is above head 5"),
    ("owed negative", pack({"v": 1, "t": "pong", "head": 5, "owed": -1}),
     "owed: expected uint, got negative int"),
    ("owed in a ping", pack({"v": 1, "t": "ping", "owed": 1}), "ping: unknown key 'owed'"),
    ("retry_after not a uint", pack({"v": 1, "t": "error", "req": 0, "code": "rate-limited",
                                     "reason": "", "retry_after": "soon"}),
     "retry_after: expected uint, got str"),
    ("retry_after above a day", pack({"v": 1, "t": "error", "req": 0, "code": "rate-limited",
                                      "reason": "", "retry_after": 86400001}),
     "retry_after: out of range"),
    ("retry_after in an ok", pack({"v": 1, "t": "ok", "req": 1, "seq": 1, "id": ID,
                                   "retry_after": 5}), "ok: unknown key 'retry_after'"),
    ("welcome owed above head", pack({"v": 1, "t": "welcome", "head": 1, "owed": 2, "member": "a",
                                      "org": "b", "heartbeat": 1000}), "owed: 2 is above head 1"),
    ("window 0", pack({"v": 1, "t": "hello", "cursor": 0, "categories": [], "sectors": [],
                       "min_severity": "", "window": 0, "agent": "x"}), "window: must be 1..10000, got 0"),
    ("unknown category", pack({"v": 1, "t": "hello", "cursor": 0, "categories": ["spam"], "sectors": [],
                               "min_severity": "", "window": 5, "agent": "x"}),
     "categories[0]: unknown category 'spam'"),
    ("seq not increasing", pack({"v": 1, "t": "deliver", "items": [[2, b"b", b"s" * 64, b"r", b"s" * 64],
                                                                  [2, b"b", b"s" * 64, b"r", b"s" * 64]]}),
     "items[1].seq: not increasing (2 after 2)"),
    ("257 items", pack({"v": 1, "t": "deliver", "items": [[i + 1, b"b", b"s" * 64, b"r", b"s" * 64]
                                                         for i in range(257)]}),
     "items: expected 1..256 items, got 257"),
    ("item of 4", pack({"v": 1, "t": "deliver", "items": [[1, b"b", b"s" * 64, b"r"]]}),
     "items[0]: expected array of 5, got array of 4"),
    ("item rec_sig short", pack({"v": 1, "t": "deliver", "items": [[1, b"b", b"s" * 64, b"r", b"s"]]}),
     "items[0].rec_sig: expected 64 bytes, got 1"),
    ("not a map", pack([1, "ping"]), "envelope: expected map, got array"),
    ("roster with a field", pack({"v": 1, "t": "roster", "members": []}), "roster: unknown key 'members'"),
    ("members missing", pack({"v": 1, "t": "members"}), "members: missing"),
    ("members entry of 3", pack({"v": 1, "t": "members", "members": [[b"r", b"s" * 64, 1]]}),
     "members[0]: expected array of 2, got array of 3"),
    ("members rec as str", pack({"v": 1, "t": "members", "members": [["r", b"s" * 64]]}),
     "members[0].rec: expected bin, got str"),
    ("members sig short", pack({"v": 1, "t": "members", "members": [[b"r", b"s" * 63]]}),
     "members[0].rec_sig: expected 64 bytes, got 63"),
    ("4097 members", pack({"v": 1, "t": "members", "members": [[b"r", b"s" * 64]] * 4097}),
     "members: too many elements (4097 > 4096)"),
    ("trailing bytes", pack({"v": 1, "t": "bye"}) + b"\x00", "msgpack: 1 trailing bytes"),
]


@pytest.mark.parametrize("name,data,expect", BAD_ENVS, ids=[b[0] for b in BAD_ENVS])
def test_c_rejects_bad_envelope(name, data, expect):
    assert expect in c_reject("env", data)
