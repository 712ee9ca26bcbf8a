"""Helpers for the Members Zone console's tests (tests/integration/test_console_*.py,
tests/browser/test_console_browser.py): members with their agents, the control socket,
accounts, bin/infohub-console, and an HTTP session that keeps the console's cookie and its
CSRF token, on top of the integration fixtures in conftest.py.

    env = ConsoleEnv(deploy)
    m = env.member("soc", "bank-a", sector="finance")   # agent running, control socket up
    pw, secret, codes = env.add_user(m, "alice", "publisher")
    port = env.start_console(m)
    s = Session(port)
    s.login("alice", pw, oathtool(secret))

THE CONTROL SOCKET. Until the agent daemon answers on its control socket itself, the
socket is served by tests/integration/console_standin.py (USE_STANDIN), which also writes
accounts the way `infohub-agent user add` will. Once the daemon side is merged, set
USE_STANDIN to False: the agent daemon then serves the socket, and add_user runs
`infohub-agent -c CFG user add NAME --role ROLE --password-stdin`.
"""
import http.client
import importlib.util
import os
import re
import subprocess
import time
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_conftest():
    spec = importlib.util.spec_from_file_location("ih_console_conftest", os.path.join(HERE, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cf = _load_conftest()
import console_standin  # noqa: E402  (beside this file; conftest put its directory on sys.path)

ihclient = cf.ihclient
ROOT, BIN = cf.ROOT, cf.BIN
CONSOLE = os.path.join(BIN, "infohub-console")
OATHTOOL = "/usr/bin/oathtool"

# The daemon's control ops (agents/ih_control.h) are served by the Python stand-in until the
# daemon side is merged; then False.
USE_STANDIN = True


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


class ConsoleEnv:
    def __init__(self, deploy):
        self.d = deploy
        self.standins = []
        self.consoles = {}
        self._broker = False

    def member(self, name, org, sector=None, role="publisher"):
        """A member whose agent runs and whose control socket answers."""
        m = self.d.add_member(name, org, sector=sector, role=role)
        if not self._broker:
            self.d.start_broker()
            self._broker = True
        self.d.start_agent(m)
        store = os.path.join(m.agentdir, "store", "data.mdb")
        cf.wait_until(lambda: os.path.exists(store), 15, what="%r's store" % (m,))
        if USE_STANDIN:
            self.standins.append(console_standin.StandIn(m, endpoint=self.d.endpoint, ctx=self.d.ctx))
        return m

    def standin(self, m):
        return next(s for s in self.standins if s.member is m)

    def add_user(self, m, name, role="analyst", password=None, display=None):
        """(password, base32 TOTP secret, recovery codes) of a new account."""
        if USE_STANDIN:
            return console_standin.add_user(m.agentdir, name, role, password, display)
        raise NotImplementedError("infohub-agent user add: parse its output here after the merge")

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

    def close(self):
        for s in self.standins:
            s.close()


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
