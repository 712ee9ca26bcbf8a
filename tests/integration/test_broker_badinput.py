"""Invariant 6 at the broker: bad input gets a clear error (code + one-line reason), changes
nothing (no seq is used, nothing is delivered), and the broker stays up and keeps serving:
after each case a valid publish on the same connection gets the next seq and is delivered."""
import json
import os
import random
import struct
import time
import uuid

import pytest
import zmq

import ihclient
from ihclient import alert_body, pack, sign
from conftest import Deployment


class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = Deployment(tmp_path_factory.mktemp("badinput"))
    d.init()
    e = Env()
    e.d = d
    e.pub = d.add_member("soc-a", "bank-a", sector="finance", role="publisher")
    e.other = d.add_member("soc-b", "bank-b", sector="finance", role="publisher")
    e.rd = d.add_member("noc-b", "bank-b", sector="finance")
    d.start_broker()
    e.crashes = []
    try:
        yield e
    finally:
        d.teardown()


@pytest.fixture
def fresh(env):
    """Restarts the broker if an earlier case killed it (that case has failed already)."""
    if not env.d.broker.alive():
        env.crashes.append(env.d.broker.text()[-3000:])
        env.d.start_broker()
    return env


def _head(env):
    c = env.d.client(env.rd)
    st = c.status()
    c.close()
    assert st is not None, "broker does not answer status"
    return json.loads(st["json"])["head"]


def _publish_env(req, body, sig, **extra):
    e = {"v": 1, "t": "publish", "req": req, "body": body, "sig": sig}
    e.update(extra)
    return e


def _signed(ident, **kw):
    b = alert_body(ident, **kw)
    data = pack(b)
    return b, data, sign(ident.sign_sk, data)


def _reply(c, req, timeout=3.0):
    return c.wait_reply(req, timeout)


def _raw_error(c, timeout=3.0):
    return c.wait_inbox(lambda m: m.get("t") in ("error", "ok"), timeout)


def _check_rejection(env, case, code, reason_has=None):
    """Runs case(env, client) -> (reply, extra_ok_ids) and checks everything around it."""
    head0 = _head(env)
    sub = env.d.subscriber(env.rd, cursor=head0)
    c = env.d.client(env.pub)
    rep, extra = case(env, c)
    assert rep is not None, "no error reply within 3 s (broker alive: %s)" % env.d.broker.alive()
    codes = code if isinstance(code, tuple) else (code,)
    assert rep.get("t") == "error", "expected error %s, got %r" % (codes, rep)
    assert rep.get("code") in codes, "expected error %s, got %r" % (codes, rep)
    reason = rep.get("reason")
    assert isinstance(reason, str) and reason.strip() and "\n" not in reason, rep
    if reason_has:
        assert reason_has in reason, "reason %r does not name %r" % (reason, reason_has)
    env.d.assert_broker_alive()
    # Nothing changed, and the same connection still works.
    b = alert_body(env.pub.ident, title="valid after %s" % case.__name__)
    ok = c.publish_wait(b, timeout=5.0)
    assert ok is not None and ok["t"] == "ok", "valid publish after the bad one: %r" % (ok,)
    assert ok["seq"] == head0 + len(extra) + 1, \
        "seq %d after head %d: the rejected input used a sequence number" % (ok["seq"], head0)
    sub.wait_items(len(extra) + 1, 5.0)
    sub.drain(0.3)
    assert sub.ids() == list(extra) + [b["id"]], \
        "subscriber got %r" % [x.get("title") for _, x, _, _ in sub.items]
    c.close()
    sub.close()


# ---- cases: each returns (error reply, ids of valid messages it published first) ---------

def forged_signature(env, c):
    _, data, _ = _signed(env.pub.ident)
    return _reply(c, c.publish(data, sig=os.urandom(64))), []


def altered_after_signing(env, c):
    b, data, sig = _signed(env.pub.ident, title="original")
    b["title"] = "altered"
    return _reply(c, c.publish(pack(b), sig=sig)), []


def signature_other_context(env, c):
    _, data, _ = _signed(env.pub.ident)
    return _reply(c, c.publish(data, sig=sign(env.pub.ident.sign_sk, data, ihclient.CTX_MEMBER))), []


def signed_by_other_member(env, c):
    # A perfectly valid body of soc-b, sent over soc-a's connection.
    _, data, sig = _signed(env.other.ident)
    return _reply(c, c.publish(data, sig=sig)), []


def claims_other_identity_signed_by_self(env, c):
    # Signed with the sender's own key (the signature verifies against its record) but the
    # body names another member: only the org/member check can catch it.
    b = alert_body(env.other.ident)
    b["signer"] = env.pub.ident.sign_pk
    data = pack(b)
    return _reply(c, c.publish(data, sig=sign(env.pub.ident.sign_sk, data))), []


def claims_self_signed_by_other_key(env, c):
    b = alert_body(env.pub.ident)
    data = pack(b)
    return _reply(c, c.publish(data, sig=sign(env.other.ident.sign_sk, data))), []


def claims_self_with_other_signer(env, c):
    b = alert_body(env.pub.ident)
    b["signer"] = env.other.ident.sign_pk
    data = pack(b)
    return _reply(c, c.publish(data, sig=sign(env.other.ident.sign_sk, data))), []


def reader_publishing(env, c):
    r = env.d.client(env.rd)
    _, data, sig = _signed(env.rd.ident)
    rep = _reply(r, r.publish(data, sig=sig))
    r.close()
    return rep, []


def malformed_msgpack(env, c):
    c.send_raw(b"\xc1\x00\x01")
    return _raw_error(c), []


def truncated_envelope(env, c):
    _, data, sig = _signed(env.pub.ident)
    c.send_raw(pack(_publish_env(900, data, sig))[:-7])
    return _raw_error(c), []


def trailing_bytes(env, c):
    _, data, sig = _signed(env.pub.ident)
    c.send_raw(pack(_publish_env(901, data, sig)) + b"\x00")
    return _raw_error(c), []


def envelope_not_a_map(env, c):
    c.send_raw(pack([1, "publish", 1]))
    return _raw_error(c), []


def unknown_type(env, c):
    c.send_raw(pack({"v": 1, "t": "frobnicate"}))
    return _raw_error(c), []


def server_type_from_client(env, c):
    c.send_raw(pack({"v": 1, "t": "welcome", "head": 0, "member": "soc-a", "org": "bank-a",
                     "heartbeat": 1000}))
    return _raw_error(c), []


def bad_version(env, c):
    _, data, sig = _signed(env.pub.ident)
    e = _publish_env(902, data, sig)
    e["v"] = 2
    c.send_raw(pack(e))
    return _raw_error(c), []


def missing_field(env, c):
    _, data, sig = _signed(env.pub.ident)
    e = _publish_env(903, data, sig)
    del e["sig"]
    c.send_raw(pack(e))
    return _raw_error(c), []


def extra_field(env, c):
    _, data, sig = _signed(env.pub.ident)
    c.send_raw(pack(_publish_env(904, data, sig, x=1)))
    return _raw_error(c), []


def short_signature(env, c):
    _, data, sig = _signed(env.pub.ident)
    c.send_raw(pack(_publish_env(905, data, sig[:63])))
    return _raw_error(c), []


def body_as_str(env, c):
    c.send_raw(pack({"v": 1, "t": "publish", "req": 906, "body": "not bin", "sig": b"\0" * 64}))
    return _raw_error(c), []


def type_before_version(env, c):
    _, data, sig = _signed(env.pub.ident)
    c.send_raw(pack({"t": "publish", "v": 1, "req": 907, "body": data, "sig": sig}))
    return _raw_error(c), []


def multi_frame(env, c):
    # The first frame alone would be a valid publish: it must not be journaled.
    _, data, sig = _signed(env.pub.ident, title="in a multi-frame message")
    c.send_raw([pack(_publish_env(908, data, sig)), b"second frame"])
    return _raw_error(c), []


def deep_nesting(env, c):
    c.send_raw(b"\x91" * 200000 + b"\xc0")      # 200,000 nested arrays: no recursion crash
    return _raw_error(c), []


def nesting_9_levels_in_envelope(env, c):
    nested = 1
    for _ in range(9):
        nested = [nested]
    c.send_raw(pack({"v": 1, "t": "ping", "x": nested}))
    return _raw_error(c), []


def huge_declared_array(env, c):
    c.send_raw(b"\xdd\xff\xff\xff\xff\x01")        # array32 of 4 G elements, 1 byte follows
    return _raw_error(c), []


def huge_declared_str_in_body(env, c):
    # A signed body that declares a 4 GB string: the broker must not allocate it.
    data = b"\x82\xa1k\xa5alert\xa2id\xdb\xff\xff\xff\xf0abc"
    return _reply(c, c.publish(data, sig=sign(env.pub.ident.sign_sk, data))), []


def body_not_msgpack(env, c):
    data = b"this is not msgpack"
    return _reply(c, c.publish(data, sig=sign(env.pub.ident.sign_sk, data))), []


def _bad_body(env, c, **kw):
    _, data, sig = _signed(env.pub.ident, **kw)
    return _reply(c, c.publish(data, sig=sig)), []


def ioc_invalid_ipv4(env, c):
    return _bad_body(env, c, iocs=[ihclient.ioc("ipv4", "1.2.3")])


def ioc_domain_not_normalised(env, c):
    return _bad_body(env, c, iocs=[ihclient.ioc("domain", "EVIL.Example.COM")])


def ioc_refanged_on_wire(env, c):
    return _bad_body(env, c, iocs=[ihclient.ioc("url", "hxxp://evil[.]com/x")])


def ioc_bad_sha256(env, c):
    return _bad_body(env, c, iocs=[ihclient.ioc("domain", "ok.example.com"),
                                   ihclient.ioc("sha256", "abc123")])


def ioc_unknown_type(env, c):
    return _bad_body(env, c, iocs=[ihclient.ioc("bitcoin", "1abc")])


def title_too_long(env, c):
    return _bad_body(env, c, title="x" * 300)


def tlp_unknown(env, c):
    return _bad_body(env, c, tlp="WHITE")


def clear_with_recipients(env, c):
    return _bad_body(env, c, tlp="CLEAR", recipients=["bank-b"])


def sector_recipient_on_red(env, c):
    return _bad_body(env, c, tlp="RED", recipients=["sector:finance"])


def modified_before_created(env, c):
    t = ihclient.now_ms()
    return _bad_body(env, c, created=t, modified=t - 1000)


def created_in_1990(env, c):
    return _bad_body(env, c, created=631152000000, modified=631152000000)


def uppercase_uuid(env, c):
    return _bad_body(env, c, id=str(uuid.uuid4()).upper())


class Raw(bytes):
    pass


def _pack_pairs(pairs):
    n = len(pairs)
    out = bytearray(bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n))
    for k, v in pairs:
        out += pack(k)
        out += v if isinstance(v, Raw) else pack(v)
    return bytes(out)


def _noncanon(env, c, mutate):
    b = alert_body(env.pub.ident, title="x")
    pairs = mutate(list(b.items()))
    data = _pack_pairs(pairs)
    assert data != pack(b)
    return _reply(c, c.publish(data, sig=sign(env.pub.ident.sign_sk, data))), []


def noncanonical_key_order(env, c):
    def m(p):
        p[5], p[8] = p[8], p[5]      # org <-> title
        return p
    return _noncanon(env, c, m)


def noncanonical_wide_int(env, c):
    def m(p):
        return [(k, Raw(b"\xce\x00\x00\x00\x01") if k == "rev" else v) for k, v in p]
    return _noncanon(env, c, m)


def noncanonical_str8(env, c):
    def m(p):
        return [(k, Raw(b"\xd9\x01x") if k == "title" else v) for k, v in p]
    return _noncanon(env, c, m)


def noncanonical_extra_key(env, c):
    return _noncanon(env, c, lambda p: p + [("extra", 1)])


def noncanonical_missing_key(env, c):
    return _noncanon(env, c, lambda p: [(k, v) for k, v in p if k != "tags"])


def duplicate_id(env, c):
    b, data, sig = _signed(env.pub.ident, title="first")
    ok = _reply(c, c.publish(data, sig=sig))
    assert ok and ok["t"] == "ok", ok
    b2 = dict(b, title="different content, same id and rev")
    return _reply(c, c.publish(b2)), [b["id"]]


def stale_revision(env, c):
    b = alert_body(env.pub.ident, title="rev 1")
    ok = _reply(c, c.publish(b))
    assert ok and ok["t"] == "ok", ok
    b3 = dict(b, title="rev 3", rev=3, modified=b["modified"] + 2)
    ok = _reply(c, c.publish(b3))
    assert ok and ok["t"] == "ok", ok
    b2 = dict(b, title="rev 2", rev=2, modified=b["modified"] + 1)
    return _reply(c, c.publish(b2)), [b["id"], b["id"]]


def not_owner(env, c):
    b = alert_body(env.pub.ident, title="mine")
    ok = _reply(c, c.publish(b))
    assert ok and ok["t"] == "ok", ok
    o = env.d.client(env.other)
    b2 = alert_body(env.other.ident, title="hijack", id=b["id"], rev=2, created=b["created"])
    rep = _reply(o, o.publish(b2))
    o.close()
    return rep, [b["id"]]


def unknown_alert(env, c):
    return _reply(c, c.publish(ihclient.comment_body(env.pub.ident, str(uuid.uuid4())))), []


def hello_window_zero(env, c):
    c.hello(cursor=0, window=0, wait=False)
    return _raw_error(c), []


def ack_seq_as_string(env, c):
    c.send_raw(pack({"v": 1, "t": "ack", "seq": "12"}))
    return _raw_error(c), []


CASES = [
    (forged_signature, "bad-signature", None),
    (altered_after_signing, "bad-signature", None),
    (signature_other_context, "bad-signature", None),
    (signed_by_other_member, ("signer-mismatch", "bad-signature"), None),
    (claims_other_identity_signed_by_self, "signer-mismatch", None),
    (claims_self_signed_by_other_key, "bad-signature", None),
    (claims_self_with_other_signer, ("signer-mismatch", "bad-signature"), None),
    (reader_publishing, "not-publisher", None),
    (malformed_msgpack, "bad-frame", None),
    (truncated_envelope, "bad-frame", None),
    (trailing_bytes, "bad-frame", None),
    (envelope_not_a_map, "bad-frame", None),
    (unknown_type, "bad-type", None),
    (server_type_from_client, "bad-type", None),
    (bad_version, "bad-version", None),
    (missing_field, "bad-frame", "sig"),
    (extra_field, "bad-frame", None),
    (short_signature, "bad-frame", "sig"),
    (body_as_str, "bad-frame", "body"),
    (type_before_version, "bad-frame", None),
    (multi_frame, "bad-frame", None),
    (deep_nesting, "bad-frame", None),
    (nesting_9_levels_in_envelope, "bad-frame", None),
    (huge_declared_array, "bad-frame", None),
    (huge_declared_str_in_body, "bad-message", None),
    (body_not_msgpack, "bad-message", None),
    (ioc_invalid_ipv4, "bad-message", "iocs"),
    (ioc_domain_not_normalised, "bad-message", "iocs"),
    (ioc_refanged_on_wire, "bad-message", "iocs"),
    (ioc_bad_sha256, "bad-message", "iocs[1]"),
    (ioc_unknown_type, "bad-message", "iocs"),
    (title_too_long, "bad-message", "title"),
    (tlp_unknown, "bad-message", "tlp"),
    (clear_with_recipients, "bad-message", "recipients"),
    (sector_recipient_on_red, "bad-message", "recipients"),
    (modified_before_created, "bad-message", "modified"),
    (created_in_1990, "bad-message", "created"),
    (uppercase_uuid, "bad-message", "id"),
    (noncanonical_key_order, "bad-message", "title"),
    (noncanonical_wide_int, "bad-message", "non-canonical"),
    (noncanonical_str8, "bad-message", "non-canonical"),
    (noncanonical_extra_key, "bad-message", None),
    (noncanonical_missing_key, "bad-message", None),
    (duplicate_id, "duplicate-id", None),
    (stale_revision, "stale-revision", None),
    (not_owner, "not-owner", None),
    (unknown_alert, "unknown-alert", None),
    (hello_window_zero, "bad-frame", "window"),
    (ack_seq_as_string, "bad-frame", "seq"),
]


@pytest.mark.parametrize("case,code,reason_has", CASES, ids=[c[0].__name__ for c in CASES])
def test_rejected(fresh, case, code, reason_has):
    _check_rejection(fresh, case, code, reason_has)


def test_oversized_frame_drops_connection(fresh):
    env = fresh
    head0 = _head(env)
    sub = env.d.subscriber(env.rd, cursor=head0)
    c = env.d.client(env.pub, monitor=True)
    ok = c.publish_wait(alert_body(env.pub.ident, title="before oversized"))
    assert ok is not None and ok["t"] == "ok", ok
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED in c.monitor_events(1.0)
    big = alert_body(env.pub.ident, title="too big", summary="x" * (1100 * 1024))
    req = c.publish(big)
    evs = []
    deadline = time.monotonic() + 5.0
    while zmq.EVENT_DISCONNECTED not in evs and time.monotonic() < deadline:
        evs += c.monitor_events(0.2)
    assert zmq.EVENT_DISCONNECTED in evs, "broker did not drop a > 1 MiB frame's connection"
    env.d.assert_broker_alive()
    # Others are still served.
    p2 = env.d.client(env.pub)
    b = alert_body(env.pub.ident, title="after oversized")
    ok2 = p2.publish_wait(b)
    assert ok2 is not None and ok2["t"] == "ok" and ok2["seq"] == head0 + 2, ok2
    sub.wait_items(2, 5.0)
    sub.drain(0.3)
    assert [x["title"] for _, x, _, _ in sub.items] == ["before oversized", "after oversized"]
    c.drain(0.3)
    assert req not in c.replies or c.replies[req]["t"] != "ok"


def test_large_frame_within_limit_is_accepted(fresh):
    """A valid ~930 KB publish frame (460 IOCs of 2000 bytes) is under 1 MiB and accepted."""
    env = fresh
    sub = env.d.subscriber(env.rd, cursor=_head(env))
    c = env.d.client(env.pub)
    iocs = [ihclient.ioc("url", "https://evil.example.com/%04d/" % i + "a" * 1985)
            for i in range(460)]
    b = alert_body(env.pub.ident, title="large", iocs=iocs)
    assert 900 * 1024 < len(pack(b)) < 1024 * 1024 - 1024
    ok = c.publish_wait(b, timeout=10.0)
    assert ok is not None and ok["t"] == "ok", ok
    assert sub.wait_items(1, 10.0), "large alert not delivered"
    assert len(sub.items[0][1]["iocs"]) == 460


def test_garbage_frames_do_not_hurt(fresh):
    env = fresh
    rnd = random.Random(1234)
    c = env.d.client(env.pub)
    valid = pack(_publish_env(1, b"x", b"y" * 64))
    for i in range(400):
        kind = i % 4
        if kind == 0:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 200)))
        elif kind == 1:   # mutated valid-looking envelope
            data = bytearray(valid)
            for _ in range(3):
                data[rnd.randrange(len(data))] = rnd.getrandbits(8)
            data = bytes(data)
        elif kind == 2:
            data = valid[:rnd.randrange(len(valid))]
        else:
            data = bytes([rnd.choice([0xdc, 0xdd, 0xde, 0xdf, 0xc6, 0xdb])]) + os.urandom(8)
        c.send_raw(data)
    c.drain(1.0)
    env.d.assert_broker_alive()
    errors = [m for m in c.inbox if m.get("t") == "error"]
    assert len(errors) >= 300, "only %d errors for 400 garbage frames" % len(errors)
    assert not [m for m in c.inbox if m.get("t") == "ok"], "garbage was accepted"
    _check_rejection(env, malformed_msgpack, "bad-frame")


def test_no_broker_crash_during_module(env):
    """Runs last in this module: no case above crashed the broker."""
    assert not env.crashes, "the broker died during earlier cases:\n" + "\n----\n".join(env.crashes)
    env.d.assert_broker_alive()
