"""Fixtures for the integration tests: a real deployment in a temporary directory, made with
bin/infohub-admin, a real broker and real agents as subprocesses on loopback.

    def test_x(deploy):
        pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
        deploy.start_broker()
        c = deploy.client(pub)               # ihclient.Client, closed at teardown
        deploy.start_agent(pub)              # infohub-agent -c AGENTDIR/agent.cfg run
        deploy.agent_list(pub)               # list --json, parsed

Every process is killed at teardown (and, through PR_SET_PDEATHSIG, if pytest dies).
Each process writes stdout+stderr to DIR/logs/NAME.N.log; the tails are printed at teardown,
so pytest shows them with a failing test.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ihclient  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("INFOHUB_BIN") or os.path.join(ROOT, "bin")
ADMIN = os.path.join(BIN, "infohub-admin")
BROKER = os.path.join(BIN, "infohub-broker")
AGENT = os.path.join(BIN, "infohub-agent")

DEFAULT_TEST_TIMEOUT = 150  # seconds; a hanging test fails instead of stalling the suite


# ---- per-test timeout without pytest-timeout ------------------------------------------
class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    m = item.get_closest_marker("timeout")
    secs = int(m.args[0]) if m else DEFAULT_TEST_TIMEOUT
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(secs)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): per-test time limit")


# ---- helpers -----------------------------------------------------------------------------
def need(path):
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (run make)" % os.path.relpath(path, ROOT), pytrace=False)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(cond, timeout=10.0, interval=0.05, what="condition"):
    """Polls cond() until true; returns its value, or fails the test naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, what), pytrace=False)
        time.sleep(interval)


_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the test runner


class Proc:
    def __init__(self, name, argv, log, cwd=None, env=None):
        self.name, self.argv, self.log = name, argv, log
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                  stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                  preexec_fn=_child_setup)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status (None if killed)."""
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            rc = self.wait(timeout)
            if rc is None:
                self.p.kill()
                self.p.wait()
                return None
        return self.p.returncode

    def kill(self):
        if self.alive():
            self.p.kill()
        self.p.wait()

    def text(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        self.kill()
        self.logf.close()


class Member:
    def __init__(self, name, org, sector, role, agentdir):
        self.name, self.org, self.sector, self.role = name, org, sector, role
        self.agentdir = agentdir
        self.cfg = os.path.join(agentdir, "agent.cfg")
        self.ident = ihclient.Identity.from_agentdir(agentdir)
        self.gateway = False

    def __repr__(self):
        return "<%s@%s>" % (self.name, self.org)


class Gateway:
    def __init__(self, d):
        self.name, self.org, self.sector, self.role = "gateway", "public", "", "reader"
        self.cfg = os.path.join(d, "gateway.cfg")
        self.ident = ihclient.Identity.from_gateway_cfg(self.cfg)
        self.gateway = True

    def __repr__(self):
        return "<gateway>"


def run(argv, timeout=60, input=None, check=True):
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=_child_setup)
    if check and r.returncode != 0:
        pytest.fail("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv), r.returncode, r.stdout.decode(errors="replace")[-2000:],
            r.stderr.decode(errors="replace")[-2000:]), pytrace=False)
    return r


class Deployment:
    def __init__(self, base):
        self.base = str(base)
        self.dir = os.path.join(self.base, "dep")
        self.logs = os.path.join(self.base, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.port = free_port()
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.procs = []
        self.clients = []
        self.members = {}
        self.broker = None
        self.agents = {}
        self.ctx = zmq.Context()
        self._n = 0

    # ---- admin
    def init(self):
        need(ADMIN)
        run([ADMIN, "init", self.dir, "--endpoint", self.endpoint, "--http-port", str(free_port())])
        self.gateway = Gateway(self.dir)
        return self

    def add_member(self, name, org, sector=None, role="reader"):
        out = os.path.join(self.base, "agents", name)
        argv = [ADMIN, "member", "add", self.dir, "--org", org, "--name", name, "--role", role,
                "--out", out]
        if sector:
            argv += ["--sector", sector]
        run(argv)
        m = Member(name, org, sector or "", role, out)
        self.members[name] = m
        return m

    def revoke(self, name):
        return run([ADMIN, "member", "revoke", self.dir, name])

    def set_limits(self, member, rate=None, bandwidth=None, quota=None):
        """infohub-admin member set: the broker's limits for member (a running broker
        applies them within a second)."""
        argv = [ADMIN, "member", "set", self.dir, member.name]
        for opt, v in (("--rate", rate), ("--bandwidth", bandwidth), ("--quota", quota)):
            if v is not None:
                argv += [opt, str(v)]
        return run(argv)

    def unlimited(self, member):
        """No limits for a member whose test publishes as fast as it can on purpose (a
        flood is the point of the test, not a rate limit)."""
        return self.set_limits(member, "unlimited", "unlimited", "unlimited")

    # ---- processes
    def _log(self, name):
        self._n += 1
        return os.path.join(self.logs, "%s.%d.log" % (name, self._n))

    def spawn(self, name, argv):
        p = Proc(name, argv, self._log(name))
        self.procs.append(p)
        return p

    def start_broker(self, wait=True):
        need(BROKER)
        assert self.broker is None or not self.broker.alive(), "broker already running"
        self.broker = self.spawn("broker", [BROKER, "-c", os.path.join(self.dir, "broker.cfg")])
        if wait:
            self.wait_broker_ready()
        return self.broker

    def wait_broker_ready(self, timeout=15.0):
        def up():
            if not self.broker.alive():
                pytest.fail("broker exited with %s at start:\n%s" % (
                    self.broker.p.returncode, self.broker.text()[-3000:]), pytrace=False)
            s = socket.socket()
            s.settimeout(0.2)
            try:
                s.connect(("127.0.0.1", self.port))
                return True
            except OSError:
                return False
            finally:
                s.close()
        wait_until(up, timeout, what="broker listening on %s" % self.endpoint)

    def restart_broker(self):
        if self.broker is not None:
            self.broker.stop()
        return self.start_broker()

    def assert_broker_alive(self):
        assert self.broker is not None and self.broker.alive(), \
            "broker died (rc %s):\n%s" % (self.broker.p.returncode, self.broker.text()[-3000:])

    def start_agent(self, member, extra=()):
        need(AGENT)
        p = self.spawn("agent-" + member.name, [AGENT, "-c", member.cfg] + list(extra) + ["run"])
        self.agents[member.name] = p
        return p

    def agent_cmd(self, member, *args, input=None, check=True, timeout=60):
        need(AGENT)
        return run([AGENT, "-c", member.cfg] + list(args), input=input, check=check,
                   timeout=timeout)

    def agent_list(self, member):
        """`list --json`: one JSON object a line. [] when the store does not exist yet."""
        r = self.agent_cmd(member, "list", "--json", check=False)
        if r.returncode != 0:
            if not os.path.exists(os.path.join(member.agentdir, "store")):
                return []
            pytest.fail("list --json failed (%d): %s" % (r.returncode, r.stderr.decode(
                errors="replace")[-1000:]), pytrace=False)
        out = []
        for line in r.stdout.decode().splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    # ---- clients
    def client(self, who, **kw):
        ident = who if isinstance(who, ihclient.Identity) else who.ident
        c = ihclient.Client(ident, ctx=self.ctx, endpoint=self.endpoint, **kw)
        self.clients.append(c)
        return c

    def subscriber(self, who, cursor=0, **kw):
        """A client that said hello and got welcome (fails otherwise)."""
        hello_kw = {k: kw.pop(k) for k in list(kw)
                    if k in ("window", "categories", "sectors", "min_severity")}
        c = self.client(who, **kw)
        w = c.hello(cursor=cursor, **hello_kw)
        assert w is not None, "%r: no answer to hello within 5 s" % (who,)
        assert w["t"] == "welcome", "%r: hello answered %r" % (who, w)
        return c

    def teardown(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.ctx.term()
        for p in self.procs:
            p.close()
        for p in self.procs:
            t = p.text()
            print("---- %s (%s) rc=%s, last lines:" % (p.name, os.path.basename(p.log),
                                                     p.p.returncode))
            print("\n".join(t.splitlines()[-40:]))


@pytest.fixture
def deploy(tmp_path):
    d = Deployment(tmp_path)
    try:
        yield d.init()
    finally:
        d.teardown()


def publisher_signed(ident, n, prefix="alert", **kw):
    """n signed (body bytes, sig, id) triples of GREEN alerts (or as kw says)."""
    out = []
    for i in range(n):
        b = ihclient.alert_body(ident, title="%s %d" % (prefix, i), **kw)
        data = ihclient.pack(b)
        out.append((data, ihclient.sign(ident.sign_sk, data), b["id"]))
    return out
