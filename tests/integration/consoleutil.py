"""Helpers for the Members Zone console's tests (tests/integration/test_console_*.py,
tests/browser/test_console_browser.py): members with their agents, accounts, the
control socket, bin/infohub-console, and an HTTP session that keeps the console's cookie
and its CSRF token, on top of the integration fixtures in conftest.py.

    env = ConsoleEnv(deploy)
    m = env.member("soc", "bank-a", sector="finance")   # agent running, control socket up
    pw, secret, codes = env.add_user(m, "alice", "publisher")
    port = env.start_console(m)
    s = Session(port)
    s.login("alice", pw, oathtool(secret))

Everything is real: the agent daemon (`infohub-agent run`) answers on its control socket
(agents/ih_control.h), accounts are made with `infohub-agent -c CFG user add NAME --role R
--display "…" --password-stdin`, whose output gives the TOTP secret (the otpauth URI's
secret=) and the recovery codes. get_user, sessions and age_sessions read or age the
accounts database (agents/ih_users.h: LMDB in AGENTDIR/console, JSON records) as a test
needs to (an expired session, a reuse counted).
"""
import http.client
import importlib.util
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse

import lmdb
import pytest
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_conftest():
    spec = importlib.util.spec_from_file_location("ih_console_conftest", os.path.join(HERE, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cf = _load_conftest()

ihclient = cf.ihclient
ROOT, BIN = cf.ROOT, cf.BIN
CONSOLE = os.path.join(BIN, "infohub-console")
AGENT = os.path.join(BIN, "infohub-agent")
OATHTOOL = "/usr/bin/oathtool"


def oathtool(secret, when=None):
    """Debian's oathtool: the TOTP code of a base32 secret, now or at time `when` (seconds)."""
    if not os.access(OATHTOOL, os.X_OK):
        pytest.fail("%s is missing (make deps installs Debian's oathtool)" % OATHTOOL, pytrace=False)
    argv = [OATHTOOL, "--totp", "-b"]
    if when is not None:
        argv += ["-N", "@%d" % int(when)]
    r = subprocess.run(argv + [secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10, check=True)
    return r.stdout.decode().strip()


def fresh_step(margin=4):
    """Waits, if needed, so that at least `margin` seconds are left in this 30 s step: a test
    that uses one code twice must not cross into the next step by accident."""
    left = 30 - (time.time() % 30)
    if left < margin:
        time.sleep(left + 0.2)


def control(member, req, timeout=20.0):
    """One request on the member's control socket (the agent daemon's); the answer."""
    s = zmq.Context.instance().socket(zmq.REQ)
    s.linger = 0
    s.rcvtimeo = int(timeout * 1000)
    try:
        s.connect("ipc://" + os.path.join(member.agentdir, "agent.sock"))
        s.send(json.dumps(req).encode())
        return json.loads(s.recv())
    finally:
        s.close()


def parse_user_add(out):
    """(base32 secret, [recovery codes]) from the output of `user add`."""
    uri = re.search(r"^(otpauth://totp/\S+)$", out, re.M)
    assert uri, "no otpauth URI in:\n" + out
    q = urllib.parse.parse_qs(urllib.parse.urlparse(uri.group(1)).query)
    codes = re.findall(r"^\s+([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$", out, re.M)
    assert len(codes) == 10, out
    return q["secret"][0], codes


# ---- the accounts database (agents/ih_users.h) -------------------------------------------
def _accounts(agentdir):
    return lmdb.open(os.path.join(agentdir, "console"), max_dbs=4, map_size=64 << 20, subdir=True)


def get_user(agentdir, name):
    env = _accounts(agentdir)
    try:
        db = env.open_db(b"users")
        with env.begin() as txn:
            v = txn.get(name.encode(), db=db)
            return json.loads(bytes(v)) if v is not None else None
    finally:
        env.close()


def sessions(agentdir):
    """Every session record: [(key bytes, dict)]."""
    env = _accounts(agentdir)
    try:
        db = env.open_db(b"sessions")
        with env.begin() as txn:
            return [(bytes(k), json.loads(bytes(v))) for k, v in txn.cursor(db=db)]
    finally:
        env.close()


def age_sessions(agentdir, ms, fields=("created", "seen")):
    """Moves every session's clocks (created, seen, or one of them) back by ms, as if that
    long had passed."""
    env = _accounts(agentdir)
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


class ConsoleEnv:
    def __init__(self, deploy):
        self.d = deploy
        self.consoles = {}
        self._broker = False

    def members(self, *specs):
        """Several members, enrolled before any agent starts, so that each agent's first
        roster (asked after its welcome) names them all: specs are (name, org, sector,
        role)."""
        ms = [self.d.add_member(n, o, sector=s, role=r) for n, o, s, r in specs]
        for m in ms:
            self.start(m)
        return ms

    def member(self, name, org, sector=None, role="publisher"):
        """A member whose agent runs and whose control socket answers."""
        return self.start(self.d.add_member(name, org, sector=sector, role=role))

    def start(self, m):
        if not self._broker:
            self.d.start_broker()
            self._broker = True
        self.d.start_agent(m)
        self.wait_connected(m)
        return m

    def wait_connected(self, m, timeout=20.0):
        def up():
            p = self.d.agents.get(m.name)
            if p is not None and not p.alive():
                pytest.fail("agent %r exited:\n%s" % (m, p.text()[-3000:]), pytrace=False)
            if not os.path.exists(os.path.join(m.agentdir, "agent.sock")):
                return False
            try:
                return control(m, {"op": "ping"}, timeout=2.0).get("connected")
            except zmq.ZMQError:
                return False
        cf.wait_until(up, timeout, interval=0.1, what="%r's daemon connected" % (m,))

    def add_user(self, m, name, role="analyst", password=None, display=None):
        """(password, base32 TOTP secret, recovery codes) of a new account, made with
        `infohub-agent user add … --password-stdin`."""
        password = password or "correct horse %s staple" % secrets.token_hex(4)
        r = cf.run([AGENT, "-c", m.cfg, "user", "add", name, "--role", role, "--display",
                    display or name.capitalize(), "--password-stdin"], input=(password + "\n").encode())
        secret, codes = parse_user_add(r.stdout.decode())
        return password, secret, codes

    def start_console(self, m, extra=(), wait=True):
        cf.need(CONSOLE)
        port = cf.free_port()
        p = self.d.spawn("console-" + m.name, [CONSOLE, "-c", m.cfg, "--bind", "127.0.0.1:%d" % port]
                         + list(extra))
        self.consoles[m.name] = (p, port)
        if wait:
            def up():
                if not p.alive():
                    pytest.fail("console exited with %s:\n%s" % (p.p.returncode, p.text()[-3000:]),
                                pytrace=False)
                try:
                    return Session(port).get("/login")[0] == 200
                except OSError:
                    return False
            cf.wait_until(up, 15, what="console on port %d" % port)
        return port

    def console_proc(self, m):
        return self.consoles[m.name][0]

    def audit(self, m):
        path = os.path.join(m.agentdir, "console", "audit.log")
        with open(path) as f:
            return f.read()

    def audit_events(self, m, event=None):
        ev = [json.loads(line) for line in self.audit(m).splitlines()]
        return [e for e in ev if event is None or e["event"] == event]

    def close(self):
        pass


class Session:
    """One browser: the console's cookie and the last CSRF token seen."""

    def __init__(self, port, host="127.0.0.1"):
        self.port, self.host = port, host
        self.cookie = None
        self.csrf = None
        self.last = None

    def request(self, method, path, fields=None, headers=None, timeout=30.0):
        h = {"Host": "%s:%d" % (self.host, self.port)}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(list(fields.items()) if isinstance(fields, dict) else fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            h["Cookie"] = "ih_console=" + self.cookie
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode("utf-8", "replace")
            hdrs = {}
            for k, v in r.getheaders():
                k = k.lower()
                if k == "set-cookie":
                    m = re.match(r"ih_console=([^;]*)", v)
                    if m:
                        self.cookie = m.group(1) or None
                    hdrs.setdefault("set-cookie", []).append(v)
                else:
                    hdrs[k] = v
        finally:
            c.close()
        tok = re.search(r'name="csrf" value="([^"]+)"', data)
        if tok:
            self.csrf = tok.group(1)
        self.last = (r.status, hdrs, data)
        return r.status, hdrs, data

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, fields, csrf=True, headers=None):
        fields = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if csrf and self.csrf:
            fields.append(("csrf", self.csrf))
        h = {"Origin": "http://%s:%d" % (self.host, self.port), "Sec-Fetch-Site": "same-origin"}
        h.update(headers or {})
        return self.request("POST", path, fields, h)

    def login_password(self, user, password):
        s, h, b = self.post("/login", {"user": user, "password": password}, csrf=False)
        return s, h, b

    def login(self, user, password, code):
        s, h, b = self.login_password(user, password)
        assert s == 303 and h["location"] == "/login/code", (s, b[-800:])
        s, h, b = self.get("/login/code")
        assert s == 200, (s, b[-800:])
        s, h, b = self.post("/login/code", {"code": code})
        assert s == 303 and h["location"] == "/", (s, b[-1500:])
        s, h, b = self.get("/")         # the full session's token
        assert s == 200, (s, b[-800:])
        return self
