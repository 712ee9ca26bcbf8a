"""Helpers for the gateway tests (tests/integration/test_gateway*.py, tests/browser/): a real
deployment (bin/infohub-admin), a real broker, publishers, and bin/infohub-gateway, all on
127.0.0.1, on top of the integration fixtures in conftest.py.

    env = GatewayEnv(deploy)          # broker up, two publishers, gateway not started
    env.start_gateway()               # waits for /healthz
    aid = env.publish(title="x", tlp="CLEAR")      # Python client, signed, via the broker
    aid = env.publish_file(obj)                    # bin/infohub-agent publish FILE
    env.wait_visible(aid)
    status, headers, body = env.get("/alerts/" + aid)
"""
import http.client
import importlib.util
import json
import os
import socket
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_conftest():
    spec = importlib.util.spec_from_file_location("ih_integration_conftest",
                                                  os.path.join(HERE, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cf = _load_conftest()
import stix_strict  # noqa: E402  (beside this file; conftest put its directory on sys.path)
ihclient = cf.ihclient
ROOT, BIN = cf.ROOT, cf.BIN
GATEWAY = os.path.join(BIN, "infohub-gateway")
AGENT = os.path.join(BIN, "infohub-agent")
STIX_VALIDATE = os.path.normpath(os.path.join(ROOT, "..", "shared", "tools", "stix-validate"))
PY = "/usr/bin/python3"
TAXII = "application/taxii+json;version=2.1"
COLLECTION = "5e4f2c8a-61b7-4c3e-9d0a-7f3b1e6c2a94"
OBJECTS = "/taxii2/api/collections/%s/objects/" % COLLECTION
MANIFEST = "/taxii2/api/collections/%s/manifest/" % COLLECTION
DAY_MS = 86400000


class GatewayEnv:
    def __init__(self, deploy):
        self.d = deploy
        self.pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
        self.pub2 = deploy.add_member("cert", "gov-cert", sector="government", role="publisher")
        self.reader = deploy.add_member("desk", "bank-b", sector="finance", role="reader")
        deploy.start_broker()
        self.clients = {}
        self.cfg = os.path.join(deploy.dir, "gateway.cfg")
        node = ihclient.zpl_load(self.cfg)
        self.port = int(node.require("gateway/http/port"))
        self.gw = None

    # ---- the gateway
    def start_gateway(self, extra=(), cfg=None, wait=True):
        cf.need(GATEWAY)
        self.gw = self.d.spawn("gateway", [GATEWAY, "-c", cfg or self.cfg] + list(extra))
        if wait:
            self.wait_up()
        return self.gw

    def wait_up(self, timeout=15.0):
        def up():
            if not self.gw.alive():
                pytest.fail("gateway exited with %s:\n%s" % (self.gw.p.returncode,
                                                            self.gw.text()[-3000:]), pytrace=False)
            try:
                s, _, _ = self.get("/healthz", timeout=1.0)
                return s == 200
            except OSError:
                return False
        cf.wait_until(up, timeout, what="gateway answering /healthz on port %d" % self.port)

    def stop_gateway(self):
        rc = self.gw.stop()
        self.gw = None
        return rc

    def assert_alive(self):
        assert self.gw is not None and self.gw.alive(), \
            "gateway died (rc %s):\n%s" % (self.gw.p.returncode, self.gw.text()[-3000:])

    # ---- HTTP
    def get(self, path, headers=None, timeout=10.0, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def get_json(self, path, headers=None, expect=200):
        s, h, b = self.get(path, headers)
        assert s == expect, "GET %s: %d %s" % (path, s, b[:300])
        return json.loads(b)

    def taxii(self, path, expect=200):
        s, h, b = self.get(path, {"Accept": TAXII})
        assert s == expect, "GET %s: %d %s" % (path, s, b[:300])
        assert h.get("content-type") == TAXII, h
        return json.loads(b), h

    # ---- publishing
    def client(self, member):
        if member.name not in self.clients:
            self.clients[member.name] = self.d.client(member)
        return self.clients[member.name]

    def publish(self, member=None, **kw):
        """Publishes an alert body built by ihclient.alert_body; returns its id."""
        member = member or self.pub
        body = ihclient.alert_body(member.ident, **kw)
        reply = self.client(member).publish_wait(body, timeout=10.0)
        assert reply is not None and reply.get("t") == "ok", "publish refused: %r" % (reply,)
        return body["id"]

    def publish_body(self, member, body):
        reply = self.client(member).publish_wait(body, timeout=10.0)
        assert reply is not None and reply.get("t") == "ok", "publish refused: %r" % (reply,)
        return reply

    def publish_file(self, obj, member=None):
        """`infohub-agent publish FILE` (the publisher agent); returns the new id."""
        member = member or self.pub
        path = os.path.join(self.d.base, "pub-%d.json" % time.monotonic_ns())
        with open(path, "w") as f:
            json.dump(obj, f)
        r = self.d.agent_cmd(member, "publish", path)
        return r.stdout.decode().strip().splitlines()[-1]

    # ---- waiting
    def wait_visible(self, aid, timeout=15.0):
        cf.wait_until(lambda: self.get("/api/v1/alerts/" + aid)[0] == 200, timeout,
                      what="alert %s on the gateway" % aid)

    def wait_all(self, ids, timeout=20.0):
        for aid in ids:
            self.wait_visible(aid, timeout)

    def wait_cursor(self, at_least, timeout=15.0):
        def ok():
            s, _, b = self.get("/healthz")
            return s == 200 and json.loads(b)["cursor"] >= at_least
        cf.wait_until(ok, timeout, what="gateway cursor >= %d" % at_least)

    def broker_head(self):
        c = self.client(self.reader)
        st = c.status()
        return st


def taxii_walk(env, path=OBJECTS, limit=None, extra=""):
    """Every page of a TAXII listing; returns (objects or manifest records, pages)."""
    out, pages = [], 0
    q = "?limit=%d" % limit if limit else "?"
    nxt = None
    while True:
        url = path + q + ("&next=" + nxt if nxt else "") + extra
        env_, h = env.taxii(url)
        pages += 1
        objs = env_.get("objects", [])
        if objs:
            assert "x-taxii-date-added-first" in h and "x-taxii-date-added-last" in h, h
        out += objs
        if not env_.get("more"):
            assert "next" not in env_
            return out, pages
        nxt = env_["next"]
        assert limit is None or len(objs) == limit
        assert pages < 10000


def stix_validate(path_or_data, tmpdir):
    """(returncode, output) of ../shared/tools/stix-validate on a file or on JSON text, the
    extension-definition objects checked against their own OASIS schema (stix_strict.py
    says why)."""
    if isinstance(path_or_data, (bytes, str)) and not os.path.exists(str(path_or_data)[:4096]):
        return stix_strict.stix_validate_text(path_or_data, tmpdir)
    return stix_strict.stix_validate_file(path_or_data, tmpdir)


def raw_http(port, data, timeout=3.0, read=True, half_close=False):
    """Sends raw bytes (then shuts our side when half_close); returns what came back before
    the close or the timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            try:
                s.sendall(data)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass
        if not read:
            return b""
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out
    finally:
        s.close()


# A realistic set of public advisories, spread over the last weeks, for pages and trends.
REALISTIC = [
    ("ransomware", "critical", 2, "LockBit 3.0 affiliates exploiting Citrix Bleed for initial access",
     "Affiliates use **CVE-2023-4966** session hijacking, then deploy LockBit 3.0 within hours.\n\n"
     "- Patch NetScaler ADC/Gateway\n- Reset sessions\n- Block the infrastructure below",
     [("cve", "CVE-2023-4966", "Citrix Bleed"), ("ipv4", "45.86.230.137", "C2"),
      ("sha256", "a" * 64, "LockBit 3.0 encryptor")], ["finance", "health"]),
    ("phishing", "high", 4, "Invoice-themed phishing wave impersonating national tax office",
     "Emails with a `.html` attachment lead to a credential-harvesting page hosted on fresh domains.",
     [("domain", "tax-refund-portal.com", "landing page"), ("email", "noreply@tax-refund-portal.com", "sender"),
      ("url", "https://tax-refund-portal.com/login/verify", "")], ["government", "finance"]),
    ("ddos", "medium", 6, "NoName057(16) DDoS campaign against municipal websites",
     "Layer-7 floods announced on Telegram the day before. Rate-limit and geo-fence the sources.",
     [("ipv4", "185.220.101.34", "bot"), ("cidr", "91.132.147.0/24", "bot network")], ["government"]),
    ("vulnerability", "critical", 9, "Ivanti Connect Secure authentication bypass chained with command injection",
     "Chained **CVE-2023-46805** and **CVE-2024-21887** give unauthenticated RCE. Apply the mitigation XML now.",
     [("cve", "CVE-2023-46805", ""), ("cve", "CVE-2024-21887", "")], ["telecom", "government"]),
    ("malware", "high", 13, "QakBot resurfaces with new loader delivered through OneNote files",
     "New loader variant; the hashes below are the OneNote droppers.",
     [("md5", "0f" * 16, "dropper"), ("filename", "Invoice_0423.one", "attachment")], ["finance"]),
    ("intrusion", "high", 20, "Web shells found on exposed Exchange servers in the energy sector",
     "ProxyNotShell exploitation leading to China Chopper web shells.",
     [("filename", "errorEE.aspx", "web shell"), ("ipv6", "2a0b:4141:820:1f4::2", "operator")], ["energy"]),
    ("fraud", "medium", 27, "CEO fraud calls using cloned voices target treasury departments",
     "Attackers call finance staff with an AI-cloned executive voice asking for urgent transfers.",
     [("domain", "exec-approvals.net", "follow-up email domain")], ["finance"]),
    ("data-leak", "medium", 34, "Customer database of a regional ISP offered on a criminal forum",
     "Sample verified: names, addresses and hashed passwords. Reset shared credentials.",
     [("url", "http://leakbase-mirror.org/thread/8812", "listing")], ["telecom"]),
    ("advisory", "low", 41, "Hardening guidance for internet-facing VPN appliances",
     "A checklist: MFA, patch cadence, log forwarding, and disabling unused portals.", [], ["all"]),
    ("phishing", "medium", 48, "QR-code phishing (quishing) against Microsoft 365 users",
     "PDF attachments with QR codes lead to adversary-in-the-middle login pages.",
     [("domain", "m365-secure-login.com", "AiTM page"), ("asn", "AS209588", "hosting")], ["finance", "health"]),
    ("ransomware", "high", 62, "Akira ransomware targets Cisco ASA VPNs without MFA",
     "Brute force and credential stuffing against AnyConnect, then Akira deployment.",
     [("ipv4", "147.78.47.224", "brute-force source"), ("sha1", "b" * 40, "encryptor")], ["health"]),
    ("malware", "medium", 75, "Info-stealer distributed through fake browser updates",
     "SocGholish-style fake update pages on compromised WordPress sites.",
     [("url", "https://cdn-browser-update.net/update.js", "payload")], ["all"]),
]


def publish_realistic(env):
    """Publishes REALISTIC (CLEAR) from both publishers, created in the past (oldest first);
    returns the ids in REALISTIC's order."""
    now = ihclient.now_ms()
    ids = []
    # oldest first, as they would have been shared
    for i, (cat, sev, days, title, summary, iocs, sectors) in reversed(list(enumerate(REALISTIC))):
        member = env.pub if i % 3 else env.pub2
        created = now - days * DAY_MS - 3600000 * (i % 7)
        ids.append(env.publish(member, title=title, summary=summary, tlp="CLEAR", severity=sev,
                               category=cat, sectors=[s for s in sectors if s != "all"],
                               references=["https://www.cisa.gov/news-events/cybersecurity-advisories"],
                               tags=[cat, "public"], iocs=[ihclient.ioc(*x) for x in iocs],
                               created=created, modified=created + 1800000))
    return list(reversed(ids))          # in REALISTIC's order
