"""The agent daemon's control socket and the Members Zone's command line, with real
processes on loopback: a broker and two agents.

The console holds no key: it asks the daemon (`infohub-agent run`) over its control socket
(agents/ih_control.h, agents/ih_signer.h) to sign and send. Covered here: the socket
(0600, JSON in and out, every field checked), publish / revise / comment / sighting /
retract with an author that the other member stores inside the signed body, the broker's
verdict in the answer, TOTP enrolment and checks against Debian's oathtool, the roster in
the store, publishing after the key files became unreadable, and the `user` and `audit`
commands (issue 11).
"""
import json
import os
import re
import shutil
import stat
import subprocess
import time

import pytest
import zmq

import ihclient
from conftest import AGENT, run, wait_until

OATHTOOL = shutil.which("oathtool")


def control(member, req, timeout=20.0, raw=None):
    """One request on the member's control socket; the answer as a dict."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.REQ)
    s.linger = 0
    s.rcvtimeo = int(timeout * 1000)
    try:
        s.connect("ipc://" + os.path.join(member.agentdir, "agent.sock"))
        s.send(raw if raw is not None else json.dumps(req).encode())
        return json.loads(s.recv())
    finally:
        s.close()


def wait_connected(member, timeout=15.0):
    return wait_until(lambda: (lambda a: a if a.get("connected") else None)(control(member, {"op": "ping"})),
                      timeout, interval=0.1, what="%r's daemon connected" % (member,))


def alert(title="Phishing wave", **kw):
    d = {"title": title, "summary": "Look *out*.", "tlp": "GREEN", "severity": "high",
         "category": "phishing", "sectors": ["finance"],
         "iocs": [{"type": "domain", "value": "evil[.]example"},
                  {"type": "ipv4", "value": "192.0.2.1", "comment": "c2"}]}
    d.update(kw)
    return d


def show(deploy, member, aid):
    return json.loads(deploy.agent_cmd(member, "show", aid, "--json").stdout.decode())


def wait_show(deploy, member, aid, pred, what, timeout=10.0):
    def probe():
        r = deploy.agent_cmd(member, "show", aid, "--json", check=False)
        if r.returncode != 0:
            return None
        a = json.loads(r.stdout.decode())
        return a if pred(a) else None
    return wait_until(probe, timeout, interval=0.1, what=what)


@pytest.fixture
def hub(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    peer = deploy.add_member("analyst", "bank-b", sector="energy", role="reader")
    deploy.start_broker()
    deploy.start_agent(pub)
    deploy.start_agent(peer)
    wait_connected(pub)
    wait_connected(peer)
    return deploy, pub, peer


# ---- the socket -------------------------------------------------------------------------------

def test_socket_ping_and_bad_requests(hub):
    deploy, pub, peer = hub
    path = os.path.join(pub.agentdir, "agent.sock")
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    a = control(pub, {"op": "ping"})
    assert a["ok"] is True and a["connected"] is True
    assert a["member"] == "soc" and a["org"] == "bank-a" and a["role"] == "publisher"
    assert a["broker"] == deploy.endpoint and a["pending"] == 0
    assert a["owed"] >= a["cursor"] >= 0 and a["head"] >= a["owed"]
    # every refusal is {ok: false, code, reason}, one line naming the field
    for req, code, reason in [
        ({"op": "launch"}, "bad-request", "op: unknown operation 'launch'"),
        ({}, "bad-request", "op: missing"),
        ({"op": "comment", "text": "x"}, "bad-request", "ref: missing"),
        ({"op": "comment", "ref": "not-a-uuid", "text": "x"}, "bad-request", "ref: 'not-a-uuid' is not an alert id"),
        ({"op": "comment", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, "bad-request", "text: missing"),
        ({"op": "comment", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "text": "x", "author": "a" * 129},
         "bad-request", "author: too long (129 > 128 bytes)"),
        ({"op": "comment", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "text": "x",
          "author": "Ana\nI agent: forged line"}, "bad-request", "author: invalid UTF-8 or control character"),
        ({"op": "comment", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "text": "x", "author": 5},
         "bad-request", "author: expected a string"),
        ({"op": "publish"}, "bad-request", "alert: missing"),
        ({"op": "publish", "alert": {"kind": "comment"}}, "bad-request", "alert.kind: publish takes an alert"),
        ({"op": "publish", "alert": alert(tlp="PURPLE")}, "bad-request", "alert.tlp: unknown value 'PURPLE'"),
        ({"op": "publish", "alert": alert(category="event")}, "bad-request",
         "alert.tags: an event needs a tag date:YYYY-MM-DD"),
        ({"op": "publish", "alert": alert(id="3f2504e0-4f89-41d3-9a0c-0305e82c3301")}, "unknown-alert",
         "does not hold alert 3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
        ({"op": "sighting", "value": "evil.example"}, "bad-request", "tlp: missing"),
        ({"op": "sighting", "value": "evil.example", "tlp": "GREEN", "count": 0}, "bad-request", "count:"),
        ({"op": "sighting", "value": "not an ioc at all", "tlp": "GREEN"}, "bad-request",
         "value: cannot tell what kind of IOC"),
        ({"op": "sighting", "type": "ipv4", "value": "1.2.3", "tlp": "GREEN"}, "bad-request", "value: "),
        ({"op": "retract", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "iocs": []}, "bad-request",
         "iocs: expected 1..5000 IOCs"),
        ({"op": "totp-check", "sealed": "00", "code": "123456"}, "bad-request", "sealed: expected 120 hex digits"),
        ({"op": "totp-new"}, "bad-request", "account: missing"),
    ]:
        a = control(pub, req)
        assert a["ok"] is False and a["code"] == code and reason in a["reason"], (req, a)
        assert "\n" not in a["reason"]
    a = control(pub, None, raw=b"{not json")
    assert a["ok"] is False and a["code"] == "bad-request" and "not a JSON object" in a["reason"]
    # the daemon is still well
    assert control(pub, {"op": "ping"})["connected"] is True


# ---- signing for the console --------------------------------------------------------------------

def test_publish_comment_sighting_retract_with_author(hub):
    deploy, pub, peer = hub
    # a new alert, signed by the daemon with the console user's name inside the body
    a = control(pub, {"op": "publish", "author": "Ana M\u00fcller (SOC)", "alert": alert()})
    assert a["ok"] is True and a["kind"] == "alert" and a["revision"] == 1, a
    aid, seq = a["id"], a["seq"]
    assert len(aid) == 36 and seq >= 1
    assert a["stored"] is True           # the answer waits for our own copy
    got = wait_show(deploy, peer, aid, lambda x: True, "the alert at the second member")
    assert got["author"] == "Ana M\u00fcller (SOC)" and got["publisher"] == {"org": "bank-a", "member": "soc"}
    assert [i["value"] for i in got["iocs"]] == ["evil.example", "192.0.2.1"]
    lst = [x for x in deploy.agent_list(peer) if x["id"] == aid]
    assert lst and lst[0]["author"] == "Ana M\u00fcller (SOC)"
    # a comment and a sighting from the other member (a reader: readers collaborate)
    c = control(peer, {"op": "comment", "author": "Bo", "ref": aid, "text": "Seen here too.\nBlocked."})
    assert c["ok"] is True and c["kind"] == "comment" and c["stored"] is True, c
    s = control(peer, {"op": "sighting", "author": "Bo", "ref": aid, "tlp": "AMBER",
                       "value": "evil[.]example", "count": 3})
    assert s["ok"] is True and s["kind"] == "sighting", s
    shown = wait_show(deploy, pub, aid, lambda x: x.get("comments") and x.get("ioc_sightings"),
                      "the comment and sighting at the publisher")
    cm = shown["comments"][0]
    assert cm["author"] == "Bo" and cm["text"] == "Seen here too.\nBlocked." and cm["id"] == c["id"]
    assert cm["publisher"] == {"org": "bank-b", "member": "analyst"}
    assert shown["ioc_sightings"][0]["value"] == "evil.example" and shown["ioc_sightings"][0]["count"] == 3
    # a reader may not publish alerts: the broker's verdict comes back as it is
    r = control(peer, {"op": "publish", "author": "Bo", "alert": alert()})
    assert r["ok"] is False and r["code"] == "not-publisher", r
    # nor revise another org's alert (refused before signing: the store says whose it is)
    r = control(peer, {"op": "publish", "alert": alert(id=aid)})
    assert r["ok"] is False and r["code"] == "not-owner", r
    # a revision: "id" of an alert the store holds; next revision, created kept; the
    # author is the request's, whatever the JSON said
    before = show(deploy, pub, aid)
    rev = dict(before, title="Phishing wave (update)", author="someone else")
    rv = control(pub, {"op": "publish", "author": "Cy", "alert": rev})
    assert rv["ok"] is True and rv["id"] == aid and rv["revision"] == 2 and rv["seq"] > seq, rv
    b = wait_show(deploy, peer, aid, lambda x: x["revision"] == 2, "revision 2")
    assert b["title"] == "Phishing wave (update)" and b["author"] == "Cy" and b["created"] == got["created"]
    # retract one IOC, then the whole alert
    r1 = control(pub, {"op": "retract", "author": "Cy", "ref": aid, "text": "shared hosting",
                       "iocs": [{"type": "ipv4", "value": "192.0.2.1"}]})
    assert r1["ok"] is True and r1["kind"] == "retraction", r1
    x = wait_show(deploy, peer, aid, lambda x: any(i.get("retracted") for i in x["iocs"]), "the IOC retracted")
    assert [i["value"] for i in x["iocs"] if i.get("retracted")] == ["192.0.2.1"]
    assert x["retractions"][0]["author"] == "Cy"
    r2 = control(pub, {"op": "retract", "ref": aid, "text": "withdrawn"})
    assert r2["ok"] is True
    wait_show(deploy, peer, aid, lambda x: x["status"] == "retracted", "the alert retracted")
    # an event: category event, date and place tags, its link first among the references
    ev = control(pub, {"op": "publish", "author": "Ana", "alert": alert(
        title="Workshop: phishing drills", category="event", tlp="CLEAR", severity="low", iocs=[],
        tags=["date:2027-01-14T09:00Z", "place:Bern, Hall 2"], references=["https://example.org/ws"])})
    assert ev["ok"] is True, ev
    e = wait_show(deploy, peer, ev["id"], lambda x: True, "the event")
    assert e["category"] == "event" and e["tags"] == ["date:2027-01-14T09:00Z", "place:Bern, Hall 2"]
    assert [x["id"] for x in deploy.agent_list(peer) if x["category"] == "event"] == [ev["id"]]
    r = deploy.agent_cmd(peer, "list", "--json", "--category", "event")
    assert [json.loads(line)["id"] for line in r.stdout.decode().splitlines()] == [ev["id"]]
    # the daemon logged who wrote what, on one line each, the author quoted
    log = deploy.agents["soc"].text()
    assert "console: sent alert %s by 'Ana M\\xc3\\xbcller (SOC)'" % aid in log


def test_broker_down_is_unavailable(hub):
    deploy, pub, peer = hub
    deploy.broker.kill()
    # the daemon notices within 3 heartbeats; until then a publish waits for an answer
    # that does not come, and is answered "unavailable" after 10 s at most
    t0 = time.monotonic()
    a = control(pub, {"op": "publish", "author": "Ana", "alert": alert()}, timeout=20)
    assert a["ok"] is False and a["code"] == "unavailable", a
    assert time.monotonic() - t0 < 12
    wait_until(lambda: not control(pub, {"op": "ping"})["connected"], 10, what="the daemon to see it")
    a = control(pub, {"op": "comment", "ref": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "text": "x"})
    assert a["ok"] is False and a["code"] == "unavailable" and "not connected" in a["reason"], a
    # and when the broker is back, so is publishing
    deploy.start_broker()
    wait_connected(pub, timeout=20)
    a = control(pub, {"op": "publish", "author": "Ana", "alert": alert()})
    assert a["ok"] is True, a


def test_keys_unreadable_after_start(hub):
    """The daemon read its keys once: with the key files unreadable (and, since the tests
    run as root, moved away too), the console still publishes through it."""
    deploy, pub, peer = hub
    cfg = ihclient.zpl_load(pub.cfg)
    keys = [os.path.join(pub.agentdir, cfg.get("agent/signing-key")),
            os.path.join(pub.agentdir, cfg.get("agent/curve-cert"))]
    hidden = []
    try:
        for k in keys:
            os.chmod(k, 0)
            os.rename(k, k + ".hidden")
            hidden.append(k)
        a = control(pub, {"op": "publish", "author": "Ana", "alert": alert(title="keys away")})
        assert a["ok"] is True, a
        wait_show(deploy, peer, a["id"], lambda x: x["title"] == "keys away", "the alert signed without key files")
        # the CLI, which reads the key file, cannot
        r = deploy.agent_cmd(pub, "comment", a["id"], "from the CLI", check=False)
        assert r.returncode == 1 and b"signing.key" in r.stderr, r.stderr
    finally:
        for k in hidden:
            os.rename(k + ".hidden", k)
            os.chmod(k, 0o600)


# ---- TOTP ------------------------------------------------------------------------------------------

@pytest.mark.skipif(not OATHTOOL, reason="oathtool (Debian package oathtool) is not installed")
def test_totp_with_oathtool(hub):
    deploy, pub, peer = hub
    key = os.path.join(pub.agentdir, "console.key")
    assert not os.path.exists(key)
    n = control(pub, {"op": "totp-new", "account": "ana"})
    assert n["ok"] is True, n
    # the console key was made, private; the secret comes sealed under it
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and os.path.getsize(key) == 32
    assert re.fullmatch(r"[0-9a-f]{120}", n["sealed"]) and re.fullmatch(r"[A-Z2-7]{32}", n["secret"])
    assert n["uri"] == ("otpauth://totp/Infohub%%20bank-a:ana?secret=%s&issuer=Infohub%%20bank-a"
                        "&algorithm=SHA1&digits=6&period=30" % n["secret"])
    assert n["qr"].startswith("<?xml") and "<svg" in n["qr"]
    code = subprocess.run([OATHTOOL, "--totp", "-b", n["secret"]], capture_output=True, check=True,
                          text=True).stdout.strip()
    now_step = int(time.time()) // 30
    a = control(pub, {"op": "totp-check", "sealed": n["sealed"], "code": code, "name": "ana"})
    assert a["ok"] is True and abs(a["step"] - now_step) <= 1, a
    # one step back is accepted (clock skew); two are not
    prev = subprocess.run([OATHTOOL, "--totp", "-b", "-N", "now - 30 seconds", n["secret"]],
                          capture_output=True, check=True, text=True).stdout.strip()
    a = control(pub, {"op": "totp-check", "sealed": n["sealed"], "code": prev})
    assert a["ok"] is True and a["step"] in (now_step - 1, now_step), a
    old = subprocess.run([OATHTOOL, "--totp", "-b", "-N", "now - 90 seconds", n["secret"]],
                         capture_output=True, check=True, text=True).stdout.strip()
    if old not in (code, prev):
        a = control(pub, {"op": "totp-check", "sealed": n["sealed"], "code": old})
        assert a["ok"] is False and a["code"] == "wrong-code", a
    wrong = "%06d" % ((int(code) + 1) % 1000000)
    a = control(pub, {"op": "totp-check", "sealed": n["sealed"], "code": wrong})
    assert a["ok"] is False and a["code"] == "wrong-code"
    a = control(pub, {"op": "totp-check", "sealed": n["sealed"], "code": "12a456"})
    assert a["ok"] is False and a["code"] == "bad-request"
    tampered = n["sealed"][:-2] + ("00" if n["sealed"][-2:] != "00" else "01")
    a = control(pub, {"op": "totp-check", "sealed": tampered, "code": code})
    assert a["ok"] is False and a["code"] == "bad-sealed"
    # the other member's console key is another key: our secret is not its
    a = control(peer, {"op": "totp-check", "sealed": n["sealed"], "code": code})
    assert a["ok"] is False and a["code"] in ("no-console-key", "bad-sealed")


# ---- the roster ---------------------------------------------------------------------------------------

def test_roster_in_store(hub):
    deploy, pub, peer = hub

    def roster():
        r = deploy.agent_cmd(pub, "roster", "--json", check=False)
        return json.loads(r.stdout.decode()) if r.returncode == 0 else None
    ro = wait_until(roster, 10, interval=0.1, what="the roster in soc's store")
    assert [(m["org"], m["name"], m["sector"], m["role"]) for m in ro["members"]] == [
        ("bank-a", "soc", "finance", "publisher"), ("bank-b", "analyst", "energy", "reader")]
    assert ro["orgs"] == [{"name": "bank-a", "sector": "finance", "members": 1, "publishers": 1},
                          {"name": "bank-b", "sector": "energy", "members": 1, "publishers": 0}]
    assert ro["sectors"] == ["energy", "finance"]
    text = deploy.agent_cmd(pub, "roster").stdout.decode()
    assert text.startswith("2 organisations, 2 sectors, 2 members (as of ")
    # the wire: any member asks; every record verifies against the pinned registry key;
    # the gateway identity is not answered
    c = deploy.client(pub)
    recs = c.roster()
    assert sorted(r["name"] for r in recs if not r["gateway"]) == ["analyst", "soc"]
    g = deploy.client(deploy.gateway)
    e = g.roster()
    assert e["t"] == "error" and e["code"] == "bad-type", e
    # a member enrolled later, and one revoked: the next roster (the daemon asks again
    # after each welcome) has the one and not the other
    deploy.add_member("cert", "agency", role="publisher")
    deploy.revoke("analyst")
    # the broker has read the registry again once it stopped the revoked member's agent
    assert deploy.agents["analyst"].wait(10) == 4
    deploy.agents["soc"].stop()
    deploy.start_agent(pub)
    ro = wait_until(lambda: (lambda x: x if x and [m["name"] for m in x["members"]] == ["cert", "soc"] else None)(
        roster()), 15, interval=0.2, what="the new roster")
    assert ro["sectors"] == ["finance"] and ro["orgs"][0] == {"name": "agency", "sector": "", "members": 1,
                                                              "publishers": 1}


# ---- user and audit ------------------------------------------------------------------------------------

def user(deploy, member, *args, password=None, check=True):
    return deploy.agent_cmd(member, "user", *args, input=password.encode() + b"\n" if password else None,
                            check=check)


def test_user_commands_and_audit(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    for args in (["user", "--help"], ["audit", "--help"], ["roster", "--help"]):
        r = run([AGENT] + args)
        assert r.returncode == 0 and b"usage" in r.stdout, args
    r = user(deploy, pub, "add", "ana", "--role", "publisher", "--display", "Ana M\u00fcller",
             "--password-stdin", password="correct horse battery staple")
    out = r.stdout.decode()
    assert "user ana added (publisher, shown as \"Ana M\u00fcller\")" in out, out
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://totp/"))
    secret = re.search(r"secret=([A-Z2-7]+)&", uri).group(1)
    assert uri.startswith("otpauth://totp/Infohub%20bank-a:ana?")
    qr = re.search(r"^QR code: (\S+) ", out, re.M).group(1)
    assert qr == os.path.join(pub.agentdir, "console", "ana.totp.svg")
    assert stat.S_IMODE(os.stat(qr).st_mode) == 0o600 and open(qr).read().startswith("<?xml")
    codes = re.findall(r"^  ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", out, re.M)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert stat.S_IMODE(os.stat(os.path.join(pub.agentdir, "console")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(pub.agentdir, "console.key")).st_mode) == 0o600
    if OATHTOOL:
        code = subprocess.run([OATHTOOL, "--totp", "-b", secret], capture_output=True, check=True,
                              text=True).stdout.strip()
        assert re.fullmatch(r"\d{6}", code)
    # refusals, one line each, nothing changed
    for args, pw, msg in [
        (["add", "ana", "--password-stdin"], "another good password", "user ana exists already"),
        (["add", "Bad Name", "--password-stdin"], "another good password", "is not a user name"),
        (["add", "bo", "--password-stdin"], "short", "password"),
        (["add", "bo", "--password-stdin"], "password1234", "password"),
        (["add", "bo", "--role", "boss", "--password-stdin"], "another good password", "--role"),
        (["add", "bo", "--display", "two\nlines", "--password-stdin"], "another good password", "--display"),
        (["remove", "nobody"], None, "no user 'nobody'"),
        (["frobnicate"], None, "unknown subcommand"),
    ]:
        r = user(deploy, pub, *args, password=pw, check=False)
        err = r.stderr.decode()
        assert r.returncode == 1 and msg in err and err.count("\n") == 1, (args, err)
    # without --password-stdin and no terminal: a clear error
    r = run([AGENT, "-c", pub.cfg, "user", "add", "bo"], check=False)
    assert r.returncode == 1 and b"no terminal" in r.stderr
    user(deploy, pub, "add", "bo", "--password-stdin", password="another good password")
    lst = [json.loads(x) for x in user(deploy, pub, "list", "--json").stdout.decode().splitlines()]
    assert [(u["name"], u["role"], u["display"], u["recovery_codes"], u["last_login"]) for u in lst] == [
        ("ana", "publisher", "Ana M\u00fcller", 10, None), ("bo", "analyst", "bo", 10, None)]
    text = user(deploy, pub, "list").stdout.decode()
    assert "ana" in text and "never" in text and "Ana M\u00fcller" in text
    r = user(deploy, pub, "reset-otp", "ana")
    new_secret = re.search(r"secret=([A-Z2-7]+)&", r.stdout.decode()).group(1)
    assert new_secret != secret and "0 sessions ended" in r.stdout.decode()
    user(deploy, pub, "reset-password", "bo", "--password-stdin", password="yet another good one")
    user(deploy, pub, "remove", "bo")
    assert [json.loads(x)["name"] for x in user(deploy, pub, "list", "--json").stdout.decode().splitlines()] == ["ana"]
    # the audit log: every change, by "cli", hash-chained
    log = os.path.join(pub.agentdir, "console", "audit.log")
    entries = [json.loads(line) for line in open(log)]
    assert [(e["actor"], e["event"]) for e in entries] == [
        ("cli", "user-added"), ("cli", "user-added"), ("cli", "users-listed"), ("cli", "users-listed"),
        ("cli", "totp-reset"), ("cli", "password-changed"), ("cli", "user-removed"), ("cli", "users-listed")]
    r = deploy.agent_cmd(pub, "audit", "verify")
    assert r.stdout.decode() == "%s: 8 entries, chain intact\n" % log
    # one flipped byte anywhere is found, with its line
    data = bytearray(open(log, "rb").read())
    third = data.index(b"\n", data.index(b"\n") + 1) + 1        # line 3 starts here
    at = data.index(b"users-listed", third)
    data[at] ^= 0x01
    with open(log, "wb") as f:
        f.write(data)
    r = deploy.agent_cmd(pub, "audit", "verify", check=False)
    err = r.stderr.decode()
    assert r.returncode == 1 and "audit.log:3: " in err and err.count("\n") == 1, err
    data[at] ^= 0x01
    with open(log, "wb") as f:
        f.write(data[:third] + data[data.index(b"\n", third) + 1:])       # line 3 removed
    r = deploy.agent_cmd(pub, "audit", "verify", check=False)
    assert r.returncode == 1 and b"audit.log:3: entry 4 follows entry 2" in r.stderr, r.stderr
