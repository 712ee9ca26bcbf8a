"""The Members Zone console's login and its defences, against the real bin/infohub-console
(a real broker and agent underneath), with codes from Debian's oathtool:

  - refused: a wrong password, an unknown user (the same answer), a wrong code, a code two
    steps old, a reused code (refused, counted, shown at the next login), a reused recovery
    code, a missing or stale CSRF token (the form comes back with what was typed), a
    foreign Origin or Sec-Fetch-Site, an expired session (idle, absolute, pending), a
    logged-out session, a role below the action's;
  - eleven wrong passwords in a row are throttled (the right one too, then);
  - no console URL but the login pages and the static assets answers without both steps
    (every route of `infohub-console --routes`, without a session and with a pending one);
  - a new session id at login; cookies HttpOnly, SameSite=Strict, Secure under TLS;
  - non-loopback addresses need TLS or --insecure-bind; HTTPS with agent/console tls-cert;
  - a password success ends the user's other pending sessions (one at a time);
  - the console works with the member's key files unreadable to it.

Everything is real: the agent daemon answers the console on its control socket
(totp-check, totp-new, and the signing ops through the broker), and accounts are made
with `infohub-agent user add --password-stdin` (ConsoleEnv).
"""
import http.client
import json
import os
import re
import ssl
import subprocess
import time

import pytest

from consoleutil import CONSOLE, ConsoleEnv, Session, age_sessions, cf, control, fresh_step, get_user, oathtool

IDLE_MS = 30 * 60 * 1000
UUID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def zone(deploy):
    env = ConsoleEnv(deploy)
    try:
        m = env.member("soc", "bank-a", sector="finance", role="publisher")
        pw, secret, codes = env.add_user(m, "alice", "publisher", display="Alice Martin")
        port = env.start_console(m)
        env.m, env.port = m, port
        env.alice = (pw, secret, codes)
        yield env
    finally:
        env.close()


def events(env, m):
    return [json.loads(line) for line in env.audit(m).splitlines()]


def flash(body):
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', body, re.S))


def test_login_refusals_reuse_and_logout(zone):
    m, port = zone.m, zone.port
    pw, secret, codes = zone.alice
    s = Session(port)
    st, h, b = s.get("/")
    assert st == 303 and h["location"] == "/login"
    # A page that a DNS rebinding points at the console sends its own host name: refused.
    st, h, b = s.get("/login", headers={"Host": "evil.example:%d" % port})
    assert st == 400 and "host name" in b
    assert s.get("/login", headers={"Host": "localhost:%d" % port})[0] == 200

    # A wrong password, and an unknown user: the same answer, the same work (argon2id).
    t0 = time.monotonic()
    st, h, b = s.login_password("alice", "not the password at all")
    t_wrong = time.monotonic() - t0
    assert st == 403 and "Wrong user name or password." in b and s.cookie is None
    t0 = time.monotonic()
    st2, h2, b2 = s.login_password("nobody", "not the password at all")
    t_unknown = time.monotonic() - t0
    assert st2 == 403 and s.cookie is None
    strip = lambda t: re.sub(r'value="[^"]*"', "", t)
    assert strip(b) == strip(b2), "an unknown user is told apart from a wrong password"
    assert t_unknown > t_wrong / 4, (t_unknown, t_wrong)      # the dummy hash ran

    # One pending session at a time: a second password step ends the first.
    early = Session(port)
    assert early.login_password("alice", pw)[0] == 303 and early.cookie
    assert early.get("/login/code")[0] == 200

    # The password step: a pending session that sees the code page only.
    st, h, b = s.login_password("alice", pw)
    assert st == 303 and h["location"] == "/login/code" and s.cookie
    cookies = " ".join(h["set-cookie"])
    assert "HttpOnly" in cookies and "SameSite=Strict" in cookies and "Path=/" in cookies
    assert "Secure" not in cookies                      # plain HTTP on loopback
    pending = s.cookie
    for path in ("/", "/alerts", "/share", "/account", "/admin", "/alerts/" + UUID):
        st, h, _ = s.get(path)
        assert st == 303 and h["location"] == "/login/code", path
    s.get("/login/code")
    st, h, _ = early.get("/login/code")
    assert st == 303 and h["location"] == "/login", "an earlier pending session outlived a new password step"
    assert any("earlier pending login ended" in e["detail"] for e in events(zone, m)
               if e["event"] == "login-password")

    # A wrong code; a code two steps old (the daemon accepts one step either side).
    st, h, b = s.post("/login/code", {"code": "000000" if oathtool(secret) != "000000" else "111111"})
    assert st == 403 and "Wrong code." in b
    st, h, b = s.post("/login/code", {"code": oathtool(secret, time.time() - 60)})
    assert st == 403 and "Wrong code." in b, "a code two steps old was taken"

    # The right code: a new session id (the pending one is gone), home. (The address has
    # failed four times: the fourth asks for a second's wait.)
    time.sleep(1.1)
    fresh_step()
    code = oathtool(secret)
    st, h, b = s.post("/login/code", {"code": code})
    assert st == 303 and h["location"] == "/" and s.cookie and s.cookie != pending
    full = s.cookie
    st, h, b = s.get("/")
    assert st == 200 and "Alice Martin" in b
    s2 = Session(port)
    s2.cookie = pending
    assert s2.get("/login/code")[0] == 303, "the pending session outlived the login"

    # Logout: the session is gone; its cookie replayed gets the login page.
    st, h, b = s.post("/logout", {})
    assert st == 303 and h["location"].startswith("/login") and s.cookie is None
    s.cookie = full
    st, h, b = s.get("/")
    assert st == 303 and h["location"] == "/login", "a logged-out session still answers"
    s.cookie = None

    # The same code again (a replay within its 30 s): refused, counted.
    st, h, b = s.login_password("alice", pw)
    assert st == 303
    s.get("/login/code")
    st, h, b = s.post("/login/code", {"code": code})
    assert st == 403 and "used already" in b, "a reused code was taken"
    assert get_user(m.agentdir, "alice")["reuse"] == 1

    # A recovery code logs in (and says what happened meanwhile); used twice, it fails.
    time.sleep(2.2)                 # the address's 5th failure asks for two seconds
    st, h, b = s.post("/login/code", {"code": codes[0].upper()})
    assert st == 303 and h["location"] == "/", b[-1500:]
    st, h, b = s.get("/")
    assert st == 200 and "code of yours that had been used already was refused" in b
    assert "used already" not in s.get("/")[2], "the reuse warning is shown once"
    s.post("/logout", {})
    s.login_password("alice", pw)
    s.get("/login/code")
    st, h, b = s.post("/login/code", {"code": codes[0]})
    assert st == 403 and "Wrong code." in b, "a recovery code worked twice"

    ev = [e["event"] for e in events(zone, m)]
    for want in ("login-failed", "login-password", "totp-failed", "login", "logout", "totp-reuse",
                 "recovery-used"):
        assert want in ev, (want, ev)
    failed = [e for e in events(zone, m) if e["event"] == "login-failed"]
    assert any("no such user" in e["detail"] for e in failed) and any("wrong password" in e["detail"] for e in failed)


def test_csrf_origin_and_stale_forms_keep_what_was_typed(zone):
    m, port = zone.m, zone.port
    pw, secret, _ = zone.alice
    s = Session(port).login("alice", pw, oathtool(secret))
    aid = s.post("/share", [("title", "Base alert"), ("tlp", "GREEN"), ("severity", "low"),
                            ("category", "advisory"), ("action", "send")])[1]["location"].split("/")[2][:36]
    cf.wait_until(lambda: s.get("/alerts/" + aid)[0] == 200, 15, what="the alert in the store")
    comments = lambda: len(zone.audit_events(m, "comment"))
    before = comments()
    typed = "Seen on our side <script>alert(1)</script> & blocked"

    # No token: not sent; the alert page again, the reply box holding what was typed.
    st, h, b = s.post("/comment", {"ref": aid, "text": typed}, csrf=False)
    assert st == 403 and "Nothing was sent yet" in b
    assert "Seen on our side &lt;script&gt;alert(1)&lt;/script&gt; &amp; blocked</textarea>" in b
    assert "<script>alert(1)" not in b
    fresh = re.search(r'name="csrf" value="([^"]+)"', b).group(1)
    # A wrong token: the same.
    st, h, b = s.post("/comment", {"ref": aid, "text": typed, "csrf": "x" * 43}, csrf=False)
    assert st == 403 and "Nothing was sent yet" in b

    # A foreign Origin, a cross-site fetch: refused before anything, even with the token.
    st, h, b = s.post("/comment", {"ref": aid, "text": typed}, headers={"Origin": "http://evil.example"})
    assert st == 403 and "did not come from the console" in b
    st, h, b = s.post("/comment", {"ref": aid, "text": typed},
                      headers={"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:%d" % port})
    assert st == 403
    st, h, b = s.post("/comment", {"ref": aid, "text": typed}, headers={"Origin": "null"})
    assert st == 403
    assert comments() == before, "a refused form acted"
    assert "Seen on our side" not in s.get("/alerts/" + aid)[2], "a refused comment reached the store"

    # The fresh token from the page shown again: sent, signed with the author's name, and
    # back from the broker into the thread (escaped).
    s.csrf = fresh
    st, h, b = s.post("/comment", {"ref": aid, "text": typed})
    assert st == 303 and "posted=comment" in h["location"]
    assert comments() == before + 1

    def thread():
        page = s.get("/alerts/" + aid)[2]
        return re.search(r'id="discussion".*?</form>', page, re.S).group(0)
    cf.wait_until(lambda: "Seen on our side" in thread(), 15, what="the comment in the thread")
    t = thread()
    assert re.search(r'<div class="who"><b>Alice Martin</b> \xb7 <span class="org">bank-a</span>', t), t[:600]
    assert "<script>alert(1)" not in t

    # A stale share form: every field comes back, escaped.
    st, h, b = s.post("/share", [("title", "Draft <b>title</b>"), ("summary", "line one\n**two**"),
                                 ("tlp", "RED"), ("severity", "high"), ("category", "fraud"),
                                 ("tags", "x, y"), ("manual", "203.0.113.5 # c2"), ("action", "send")],
                      csrf=False)
    assert st == 403 and "Nothing was sent yet" in b
    assert 'value="Draft &lt;b&gt;title&lt;/b&gt;"' in b and "line one\n**two**</textarea>" in b
    assert 'value="RED" checked' in b and "203.0.113.5 # c2</textarea>" in b
    assert not [e for e in zone.audit_events(m, "publish") if "Draft" in e["detail"]]
    assert "Draft" not in s.get("/alerts")[2]

    # Roles: an analyst reads and comments, but neither shares, retracts nor administers,
    # whatever the buttons show.
    apw, asecret, _ = zone.add_user(m, "bob", "analyst")
    a = Session(port).login("bob", apw, oathtool(asecret))
    assert a.get("/share")[0] == 403 and a.get("/admin")[0] == 403
    assert a.post("/share", [("title", "x"), ("tlp", "GREEN"), ("severity", "low"), ("category", "other"),
                             ("action", "send")])[0] == 403
    assert a.post("/retract", {"ref": aid, "whole": "1"})[0] == 403
    assert a.post("/admin/add", {"name": "eve", "role": "admin"})[0] == 403
    assert a.post("/comment", {"ref": aid, "text": "an analyst may comment"})[0] == 303
    assert "Share" not in re.search(r'<nav class="main">(.*?)</nav>', a.get("/")[2]).group(1)
    refused = [e for e in events(zone, m) if e["event"] == "refused"]
    assert any("cross-site" in e["detail"] for e in refused) and any("token" in e["detail"] for e in refused)
    assert any("publisher role" in e["detail"] for e in refused)


def test_expired_sessions(zone):
    m, port = zone.m, zone.port
    pw, secret, _ = zone.alice
    s = Session(port).login("alice", pw, oathtool(secret))
    assert s.get("/alerts")[0] == 200
    # 30 minutes idle.
    age_sessions(m.agentdir, IDLE_MS + 60000)
    st, h, _ = s.get("/alerts")
    assert st == 303 and h["location"] == "/login", "an idle session still answers"
    assert s.post("/comment", {"ref": UUID, "text": "x"})[0] == 401
    # 12 hours in all, however recently seen.
    fresh_step(8)
    time.sleep(30 - time.time() % 30 + 0.3)      # a code of a new step: the last one is used
    s = Session(port).login("alice", pw, oathtool(secret))
    age_sessions(m.agentdir, 12 * 3600 * 1000 + 60000, fields=("created",))
    st, h, _ = s.get("/")
    assert st == 303 and h["location"] == "/login", "a session older than 12 h still answers"
    # A pending session lasts 5 minutes.
    s = Session(port)
    assert s.login_password("alice", pw)[0] == 303
    age_sessions(m.agentdir, 6 * 60000)
    st, h, _ = s.get("/login/code")
    assert st == 303 and h["location"] == "/login"


def test_eleven_wrong_passwords_are_throttled(zone):
    m, port = zone.m, zone.port
    pw, _, _ = zone.alice
    s = Session(port)
    statuses = [s.login_password("alice", "wrong password number %d" % i)[0] for i in range(11)]
    assert statuses[:3] == [403, 403, 403], statuses
    assert statuses[-1] == 429, statuses
    st, h, b = s.login_password("alice", pw)
    assert st == 429 and "Too many failed attempts" in b and s.cookie is None, "throttled, yet the password worked"
    # The address is throttled too: another account from here waits as well.
    assert s.login_password("nobody-else", "whatever it is")[0] == 429
    ev = events(zone, m)
    assert any(e["event"] == "throttled" for e in ev)
    assert sum(1 for e in ev if e["event"] == "login-failed") < 11


def _routes():
    out = subprocess.run([CONSOLE, "--routes"], stdout=subprocess.PIPE, check=True).stdout.decode()
    routes = []
    for line in out.splitlines():
        methods, match, gate, path = line.split()
        routes.append((methods.split(","), match, gate, path))
    return routes


def test_no_url_answers_without_both_steps(zone):
    m, port = zone.m, zone.port
    pw, secret, _ = zone.alice
    s = Session(port).login("alice", pw, oathtool(secret))
    secret_title = "Only for logged-in members %d" % os.getpid()
    st, h, _ = s.post("/share", [("title", secret_title), ("tlp", "RED"), ("severity", "high"),
                                 ("category", "intrusion"), ("action", "send")])
    aid = h["location"].split("/")[2][:36]
    cf.wait_until(lambda: secret_title in s.get("/alerts/" + aid)[2], 15, what="the alert in the store")
    s.post("/logout", {})

    routes = _routes()
    assert len(routes) >= 20 and any(p == "/admin/user" for _, _, _, p in routes)
    public = {"/static/style.css", "/static/icon.svg", "/favicon.ico", "/robots.txt", "/login"}
    anon = Session(port)
    pending = Session(port)
    assert pending.login_password("alice", pw)[0] == 303
    pending.get("/login/code")
    for methods, match, gate, path in routes:
        url = path + (aid if match == "prefix" else "")
        for who, sess in (("nobody", anon), ("pending", pending)):
            for method in methods:
                if method == "GET":
                    st, h, b = sess.get(url)
                else:
                    st, h, b = sess.post(url, {"ref": aid, "name": "eve", "role": "admin", "text": "x",
                                               "title": "x", "action": "send"})
                assert secret_title not in b, (who, method, url)
                if path in public:
                    assert st in (200, 400, 403), (who, method, url, st)
                    continue
                if path == "/login/code" and who == "pending":
                    assert st in (200, 403), (who, method, url, st)
                    continue
                if path == "/logout" and who == "pending":
                    assert st == 303, (who, method, url, st)
                    assert pending.login_password("alice", pw)[0] == 303
                    pending.get("/login/code")
                    continue
                if method == "GET":
                    want = "/login/code" if who == "pending" else "/login"
                    assert st == 303 and h["location"] == want, (who, method, url, st, h.get("location"))
                else:
                    assert st == 401, (who, method, url, st)
    # Nothing was done on the way (the one account is the command line's `user add`).
    assert not [e for e in events(zone, m) if e["event"] in ("user-added", "publish", "comment")
                and e["actor"] not in ("alice", "cli")]
    assert len([e for e in events(zone, m) if e["event"] == "user-added"]) == 1


def test_bind_rules_and_tls(deploy, tmp_path):
    env = ConsoleEnv(deploy)
    try:
        m = env.member("soc", "bank-a")
        run = lambda *a: subprocess.run([CONSOLE, "-c", m.cfg] + list(a), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, timeout=30)
        r = run("--bind", "0.0.0.0:0", "-n")
        assert r.returncode == 2 and b"not a loopback address" in r.stderr, r.stderr
        r = run("--bind", "[::]:0", "-n")
        assert r.returncode == 2
        assert run("--bind", "0.0.0.0:0", "--insecure-bind", "-n").returncode == 0
        assert run("--bind", "127.0.0.2:0", "-n").returncode == 0
        assert run("--bind", "[::1]:0", "-n").returncode == 0
        r = run("--bind", "nonsense", "-n")
        assert r.returncode == 2 and b"not ADDR:PORT" in r.stderr

        # HTTPS with the console's certificate: Secure cookies, HSTS.
        cert, key = os.path.join(m.agentdir, "console.crt"), os.path.join(m.agentdir, "console.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o600)
        with open(m.cfg) as f:
            text = f.read()
        text = text.replace("    broker\n", "    console\n        tls-cert = \"console.crt\"\n"
                                             "        tls-key = \"console.pem\"\n    broker\n")
        with open(m.cfg, "w") as f:
            f.write(text)
        assert run("--bind", "0.0.0.0:0", "-n").returncode == 0     # TLS: any address
        pw, secret, _ = env.add_user(m, "alice", "analyst")
        port = env.start_console(m, wait=False)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def req(method, path, body=None, headers=None):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
            try:
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                return r.status, r.getheaders(), r.read().decode()
            finally:
                c.close()

        def up():
            try:
                return req("GET", "/login")[0] == 200
            except OSError:
                return False
        cf.wait_until(up, 15, what="the console over HTTPS")
        st, hdrs, _ = req("POST", "/login", "user=alice&password=" + pw.replace(" ", "+"),
                          {"Content-Type": "application/x-www-form-urlencoded",
                           "Origin": "https://127.0.0.1:%d" % port})
        assert st == 303, st
        cookie = [v for k, v in hdrs if k.lower() == "set-cookie"][0]
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert any(k.lower() == "strict-transport-security" for k, v in hdrs)
        # Plain HTTP to it is not served.
        with pytest.raises((OSError, http.client.HTTPException)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/login")
            r = c.getresponse()
            assert r.status != 200
            raise OSError("answered plain HTTP with %d" % r.status)
    finally:
        env.close()


def test_console_works_without_reading_key_files(deploy):
    """The console never opens a key file: with the member's keys (and the console key)
    unreadable to it, and no way around file modes (no CAP_DAC_OVERRIDE), it logs in,
    reads, comments and shares."""
    env = ConsoleEnv(deploy)
    try:
        m = env.member("soc", "bank-a", role="publisher")
        pw, secret, _ = env.add_user(m, "alice", "publisher")
        # The daemon read the signing key at start; the console key (made by the first
        # `user add`, after the start) it reads at the first TOTP request, then keeps.
        ans = control(m, {"op": "totp-check", "sealed": get_user(m.agentdir, "alice")["totp"], "code": "000000"})
        assert ans.get("code") in (None, "wrong-code"), ans
        keys = [os.path.join(m.agentdir, f) for f in os.listdir(m.agentdir)
                if f.endswith((".key", "_secret")) or f == "console.key"]
        assert any(k.endswith("console.key") for k in keys) and len(keys) >= 3, keys
        for k in keys:
            os.chmod(k, 0)
        drop = ["/usr/bin/setpriv", "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search", "--"]
        probe = subprocess.run(drop + ["cat", keys[0]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert probe.returncode != 0, "the key file is readable without DAC override"
        port = cf.free_port()
        p = deploy.spawn("console-nokeys", drop + [CONSOLE, "-c", m.cfg, "--bind", "127.0.0.1:%d" % port])
        cf.wait_until(lambda: _up(port, p), 15, what="the console without keys")
        s = Session(port).login("alice", pw, oathtool(secret))
        st, h, b = s.post("/share", [("title", "Shared without keys"), ("tlp", "GREEN"), ("severity", "low"),
                                     ("category", "advisory"), ("manual", "198.51.100.7"), ("action", "send")])
        assert st == 303, flash(b)
        aid = h["location"].split("/")[2][:36]
        cf.wait_until(lambda: s.get("/alerts/" + aid)[0] == 200, 15, what="the alert")
        assert s.post("/comment", {"ref": aid, "text": "works"})[0] == 303
        assert p.alive()
    finally:
        env.close()


def _up(port, p):
    if not p.alive():
        pytest.fail("console exited: %s" % p.text()[-2000:], pytrace=False)
    try:
        return Session(port).get("/login")[0] == 200
    except OSError:
        return False
