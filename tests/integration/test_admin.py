"""infohub-admin: init, member add / revoke / list, --help, error lines, file modes, and
that no secret ever appears in what the tool prints.

Run with: /usr/bin/python3 -m pytest tests/integration/test_admin.py
Self-contained (own helpers below); uses only msgpack and nacl besides the standard library.
"""
import json
import os
import re
import stat
import subprocess

import msgpack
import nacl.signing
import pytest
import zmq.utils.z85 as z85

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# INFOHUB_ADMIN runs the suite against another build (e.g. one with ASan)
ADMIN = os.environ.get("INFOHUB_ADMIN") or os.path.join(ROOT, "bin", "infohub-admin")

SECRET_FILES_INIT = ["registry.key", "broker.cert_secret", "gateway.cert_secret"]
PUBLIC_FILES_INIT = ["registry.pub", "broker.cert", "gateway.cert", "broker.cfg", "gateway.cfg",
                     "members/gateway.member"]
SECRET_FILES_AGENT = ["curve.cert_secret", "signing.key"]
PUBLIC_FILES_AGENT = ["curve.cert", "signing.pub", "agent.cfg"]


# ---- helpers ---------------------------------------------------------------------------
class Out:
    """Every stdout/stderr the tool produced in a test, to check for secrets at the end."""
    def __init__(self):
        self.texts = []


@pytest.fixture
def out():
    return Out()


@pytest.fixture(autouse=True)
def _built():
    if not os.access(ADMIN, os.X_OK):
        pytest.fail("bin/infohub-admin is not built (run make)", pytrace=False)


def admin(out, *args, rc=0):
    r = subprocess.run([ADMIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    so, se = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    out.texts += [so, se]
    if rc is not None:
        assert r.returncode == rc, "infohub-admin %s: exit %d (want %d)\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, args)), r.returncode, rc, so, se)
    return r.returncode, so, se


def one_line_error(se):
    """Errors are exactly one line on stderr, 'infohub-admin: <reason>'."""
    lines = se.splitlines()
    assert len(lines) == 1, "want one line on stderr, got %r" % se
    assert lines[0].startswith("infohub-admin: ") and len(lines[0]) > len("infohub-admin: ")
    return lines[0]


class ZNode:
    def __init__(self, value=None):
        self.value, self.children = value, {}

    def get(self, path):
        node = self
        for part in path.split("/"):
            node = node.children.get(part)
            if node is None:
                return None
        return node.value


def zpl(path):
    """Minimal reader for the ZPL files the tool writes (czmq zconfig format)."""
    root = ZNode()
    stack = [(-1, root)]
    with open(path, encoding="utf-8") as f:
        for raw in f.read().splitlines():
            body = raw.rstrip().lstrip(" ")
            if not body or body.startswith("#"):
                continue
            level = (len(raw) - len(raw.lstrip(" "))) // 4
            m = re.match(r"([^\s=#]+)\s*(?:=\s*(.*))?$", body)
            assert m, "%s: bad line %r" % (path, raw)
            value = None
            if m.group(2) is not None:
                rest = m.group(2).strip()
                if rest[:1] in "\"'" and rest:
                    value = rest[1:rest.index(rest[0], 1)]
                else:
                    value = rest.split("#", 1)[0].strip()
            while stack[-1][0] >= level:
                stack.pop()
            node = ZNode(value)
            stack[-1][1].children[m.group(1)] = node
            stack.append((level, node))
    return root


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def secrets_of(*dirs):
    """Every secret, in every spelling the tool could print: the hex of signing secret keys
    (whole, and the seed), the Z85 of CURVE secret keys (and its hex)."""
    found = []
    for d in dirs:
        for base, _, files in os.walk(d):
            for name in files:
                p = os.path.join(base, name)
                if name.endswith(".key"):
                    sk = zpl(p).get("signing/secret-key")
                    if sk:
                        found += [sk, sk[:64], sk.upper()]
                if name.endswith("_secret"):
                    sk = zpl(p).get("curve/secret-key")
                    assert sk and len(sk) == 40
                    found += [sk, z85.decode(sk.encode()).hex()]
    return found


def assert_no_secret(out, *dirs):
    secrets = secrets_of(*dirs)
    assert secrets, "found no secrets to look for"
    for text in out.texts:
        for s in secrets:
            assert s not in text, "a secret appeared in the output of infohub-admin"


def init(out, d, *extra):
    admin(out, "init", d, "--endpoint", "tcp://127.0.0.1:7799", "--http-port", "8099", *extra)
    return d


def add(out, d, name, org="bank-a", agentdir=None, *extra, rc=0):
    agentdir = agentdir or os.path.join(os.path.dirname(d), "agents", name)
    return admin(out, "member", "add", d, "--org", org, "--name", name, "--out", agentdir,
                 *extra, rc=rc), agentdir


def verify_member_file(path, registry_pk):
    """Checks the signed record as a third party would (PROTOCOL.md sections 6, 7)."""
    m = zpl(path)
    record = bytes.fromhex(m.get("member/record"))
    sig = bytes.fromhex(m.get("member/signature"))
    nacl.signing.VerifyKey(registry_pk).verify(b"infohub/member/1\x00" + record, sig)
    rec = msgpack.unpackb(record, raw=False)
    assert list(rec.keys()) == ["k", "name", "org", "sector", "role", "curve", "sign", "created",
                                "gateway"]
    assert rec["k"] == "member"
    return m, rec


# ---- init -----------------------------------------------------------------------------
def test_init_creates_files_with_modes(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    for f in SECRET_FILES_INIT:
        assert mode(os.path.join(d, f)) == 0o600, f
    for f in PUBLIC_FILES_INIT:
        m = mode(os.path.join(d, f))
        assert m & 0o022 == 0 and m & 0o400, "%s: mode %o" % (f, m)
    assert os.path.isdir(os.path.join(d, "members"))
    assert not os.path.exists(os.path.join(d, "journal"))   # the broker creates it

    b = zpl(os.path.join(d, "broker.cfg"))
    assert b.get("broker/endpoint") == "tcp://127.0.0.1:7799"
    for key, want in [("cert", "broker.cert_secret"), ("registry", "members"),
                      ("registry-key", "registry.pub"), ("journal", "journal"),
                      ("heartbeat", "1000"), ("max-window", "2000"),
                      ("map-size", "1073741824"), ("status", "broker.status")]:
        assert b.get("broker/" + key) == want, key

    reg_pk_hex = zpl(os.path.join(d, "registry.pub")).get("signing/public-key")
    assert re.fullmatch(r"[0-9a-f]{64}", reg_pk_hex)
    assert zpl(os.path.join(d, "registry.pub")).get("signing/secret-key") is None
    reg = zpl(os.path.join(d, "registry.key"))
    assert reg.get("signing/public-key") == reg_pk_hex
    sk = bytes.fromhex(reg.get("signing/secret-key"))
    assert bytes(nacl.signing.SigningKey(sk[:32]).verify_key).hex() == reg_pk_hex
    broker_pub = zpl(os.path.join(d, "broker.cert")).get("curve/public-key")
    assert zpl(os.path.join(d, "broker.cert")).get("curve/secret-key") is None
    assert zpl(os.path.join(d, "broker.cert_secret")).get("curve/public-key") == broker_pub

    g = zpl(os.path.join(d, "gateway.cfg"))
    assert g.get("gateway/name") == "gateway" and g.get("gateway/org") == "public"
    assert g.get("gateway/curve-cert") == "gateway.cert_secret"
    assert g.get("gateway/registry-key") == reg_pk_hex
    assert g.get("gateway/store") == "gateway-store"
    assert g.get("gateway/broker/endpoint") == "tcp://127.0.0.1:7799"
    assert g.get("gateway/broker/public-key") == broker_pub
    assert g.get("gateway/http/port") == "8099"
    assert g.get("gateway/http/listen") == "127.0.0.1"

    m, rec = verify_member_file(os.path.join(d, "members", "gateway.member"),
                                bytes.fromhex(reg_pk_hex))
    assert rec["name"] == "gateway" and rec["org"] == "public" and rec["role"] == "reader"
    assert rec["gateway"] is True and rec["sector"] == ""
    gw_pub = zpl(os.path.join(d, "gateway.cert")).get("curve/public-key")
    assert rec["curve"] == z85.decode(gw_pub.encode())
    assert m.get("member/curve-public-key") == gw_pub

    rc, so, se = admin(out, "member", "list", d, "--json")
    rows = [json.loads(line) for line in so.splitlines()]
    assert [(r["name"], r["gateway"], r["status"]) for r in rows] == [("gateway", True, "active")]
    assert_no_secret(out, d)


def test_init_defaults_and_refuses_twice(tmp_path, out):
    d = str(tmp_path / "a" / "b" / "dep")      # parents are created
    admin(out, "init", d)
    b = zpl(os.path.join(d, "broker.cfg"))
    assert b.get("broker/endpoint") == "tcp://127.0.0.1:7710"
    assert zpl(os.path.join(d, "gateway.cfg")).get("gateway/http/port") == "8080"
    before = {f: open(os.path.join(d, f), "rb").read() for f in SECRET_FILES_INIT}
    rc, so, se = admin(out, "init", d, rc=1)
    assert one_line_error(se) == "infohub-admin: %s already initialised" % d
    for f, data in before.items():      # nothing overwritten
        assert open(os.path.join(d, f), "rb").read() == data
    assert_no_secret(out, d)


def test_init_wildcard_endpoint_gives_loopback_to_clients(tmp_path, out):
    d = str(tmp_path / "dep")
    admin(out, "init", d, "--endpoint", "tcp://*:7798")
    assert zpl(os.path.join(d, "broker.cfg")).get("broker/endpoint") == "tcp://*:7798"
    assert zpl(os.path.join(d, "gateway.cfg")).get("gateway/broker/endpoint") == \
        "tcp://127.0.0.1:7798"
    (rc, so, se), agentdir = add(out, d, "soc")
    assert zpl(os.path.join(agentdir, "agent.cfg")).get("agent/broker/endpoint") == \
        "tcp://127.0.0.1:7798"


@pytest.mark.parametrize("args, words", [
    (["--endpoint", "http://x"], "--endpoint"),
    (["--endpoint", 'tcp://"evil"'], "--endpoint"),
    (["--http-port", "0"], "--http-port"),
    (["--http-port", "65536"], "--http-port"),
    (["--http-port", "80x"], "--http-port"),
])
def test_init_bad_options(tmp_path, out, args, words):
    d = str(tmp_path / "dep")
    rc, so, se = admin(out, "init", d, *args, rc=1)
    assert words in one_line_error(se)
    assert not os.path.exists(os.path.join(d, "broker.cfg"))


def test_init_rolls_back_on_failure(tmp_path, out):
    d = str(tmp_path / "dep")
    os.makedirs(d)
    open(os.path.join(d, "gateway.cert"), "w").close()    # in the way
    rc, so, se = admin(out, "init", d, rc=1)
    assert "gateway.cert: exists" in one_line_error(se)
    # everything created before the failure is gone again; DIR itself existed before
    assert sorted(os.listdir(d)) == ["gateway.cert"]


# ---- member add -------------------------------------------------------------------------
def test_member_add_writes_loadable_agent_cfg(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    (rc, so, se), agentdir = add(out, d, "soc", "bank-a", None, "--sector", "finance",
                                 "--role", "publisher")
    for f in SECRET_FILES_AGENT:
        assert mode(os.path.join(agentdir, f)) == 0o600, f
    for f in PUBLIC_FILES_AGENT:
        assert mode(os.path.join(agentdir, f)) & 0o022 == 0, f

    reg_pk_hex = zpl(os.path.join(d, "registry.pub")).get("signing/public-key")
    broker_pub = zpl(os.path.join(d, "broker.cert")).get("curve/public-key")
    a = zpl(os.path.join(agentdir, "agent.cfg"))
    assert a.get("agent/name") == "soc" and a.get("agent/org") == "bank-a"
    assert a.get("agent/sector") == "finance" and a.get("agent/role") == "publisher"
    assert a.get("agent/registry-key") == reg_pk_hex          # the pinned registry key
    assert a.get("agent/broker/public-key") == broker_pub
    assert a.get("agent/broker/endpoint") == "tcp://127.0.0.1:7799"
    assert a.get("agent/store") == "store" and a.get("agent/on-alert") == ""
    curve_secret = os.path.join(agentdir, a.get("agent/curve-cert"))
    signing_key = os.path.join(agentdir, a.get("agent/signing-key"))
    assert os.path.isfile(curve_secret) and os.path.isfile(signing_key)
    cs = zpl(curve_secret)
    assert len(cs.get("curve/secret-key")) == 40
    sk = zpl(signing_key)
    seed = bytes.fromhex(sk.get("signing/secret-key"))[:32]
    sign_pk = bytes(nacl.signing.SigningKey(seed).verify_key)
    assert sign_pk.hex() == sk.get("signing/public-key")
    assert zpl(os.path.join(agentdir, "signing.pub")).get("signing/public-key") == sign_pk.hex()
    assert zpl(os.path.join(agentdir, "signing.pub")).get("signing/secret-key") is None

    # the registry record: signed by the registry key, matching the agent's keys
    m, rec = verify_member_file(os.path.join(d, "members", "soc.member"),
                                bytes.fromhex(reg_pk_hex))
    assert (rec["name"], rec["org"], rec["sector"], rec["role"], rec["gateway"]) == \
        ("soc", "bank-a", "finance", "publisher", False)
    assert rec["curve"] == z85.decode(cs.get("curve/public-key").encode())
    assert rec["sign"] == sign_pk
    assert mode(os.path.join(d, "members", "soc.member")) & 0o022 == 0

    # a reader with no sector
    (rc, so, se), agentdir2 = add(out, d, "intel", "telco-c")
    a2 = zpl(os.path.join(agentdir2, "agent.cfg"))
    assert a2.get("agent/role") == "reader" and a2.get("agent/sector") == ""
    assert a2.get("agent/registry-key") == reg_pk_hex
    rc, so, se = admin(out, "member", "list", d, "--json")
    rows = {r["name"]: r for r in map(json.loads, so.splitlines())}
    assert set(rows) == {"gateway", "soc", "intel"}
    assert rows["intel"]["role"] == "reader" and rows["intel"]["sector"] == ""
    assert rows["soc"]["curve_public_key"] == cs.get("curve/public-key")
    assert_no_secret(out, d, agentdir, agentdir2)


def test_member_add_endpoint_override_and_existing_empty_dir(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    agentdir = str(tmp_path / "empty")
    os.makedirs(agentdir)
    add(out, d, "soc", "bank-a", agentdir, "--endpoint", "tcp://10.0.0.1:7799")
    assert zpl(os.path.join(agentdir, "agent.cfg")).get("agent/broker/endpoint") == \
        "tcp://10.0.0.1:7799"


def test_member_add_duplicate_name_refused(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    add(out, d, "soc")
    (rc, so, se), agentdir = add(out, d, "soc", "bank-b", str(tmp_path / "other"), rc=1)
    assert one_line_error(se) == "infohub-admin: member 'soc' exists"
    assert not os.path.exists(agentdir)
    (rc, so, se), agentdir = add(out, d, "gateway", "bank-b", str(tmp_path / "gw"), rc=1)
    assert "member 'gateway' exists" in one_line_error(se)
    # a revoked name stays taken
    admin(out, "member", "revoke", d, "soc")
    (rc, so, se), agentdir = add(out, d, "soc", "bank-a", str(tmp_path / "again"), rc=1)
    assert "member 'soc' exists" in one_line_error(se)


@pytest.mark.parametrize("opt, value, words", [
    ("--org", "Bank A", "--org: 'Bank A' is not a valid org id"),
    ("--org", "-bank", "--org:"),
    ("--org", "../etc", "--org:"),
    ("--org", "a" * 65, "--org:"),
    ("--name", "../../x", "--name:"),
    ("--name", "SOC", "--name:"),
    ("--sector", "Fin Ance", "--sector:"),
    ("--role", "admin", "--role: 'admin' is not a role"),
])
def test_member_add_bad_values(tmp_path, out, opt, value, words):
    d = init(out, str(tmp_path / "dep"))
    args = {"--org": "bank-a", "--name": "soc", "--out": str(tmp_path / "ag")}
    args[opt] = value
    flat = [x for kv in args.items() for x in kv]
    rc, so, se = admin(out, "member", "add", d, *flat, rc=1)
    assert words in one_line_error(se)
    assert not os.path.exists(tmp_path / "ag")
    assert os.listdir(os.path.join(d, "members")) == ["gateway.member"]


def test_member_add_refuses_non_empty_agentdir(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    agentdir = tmp_path / "full"
    agentdir.mkdir()
    (agentdir / "keep.txt").write_text("mine")
    (rc, so, se), _ = add(out, d, "soc", "bank-a", str(agentdir), rc=1)
    assert "exists and is not empty" in one_line_error(se)
    assert os.listdir(agentdir) == ["keep.txt"]
    assert not os.path.exists(os.path.join(d, "members", "soc.member"))
    f = tmp_path / "afile"
    f.write_text("x")
    (rc, so, se), _ = add(out, d, "soc", "bank-a", str(f), rc=1)
    assert "not a directory" in one_line_error(se)


def test_member_add_usage_errors(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    for args, words in [
        (["member", "add", d, "--name", "soc", "--out", "x"], "missing --org"),
        (["member", "add", d, "--org", "o", "--out", "x"], "missing --name"),
        (["member", "add", d, "--org", "o", "--name", "n"], "missing --out"),
        (["member", "add", "--org", "o", "--name", "n", "--out", "x"], "missing DIR"),
        (["member", "add", d, "--org", "o", "--name", "n", "--out", "x", "--bogus"],
         "unknown option '--bogus'"),
        (["member", "add", d, "--org"], "--org needs a value"),
        (["member", "add", d, "extra", "--org", "o", "--name", "n", "--out", "x"],
         "unexpected argument 'extra'"),
        (["member"], "member:"),
        (["member", "frobnicate"], "unknown command 'frobnicate'"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["member", "revoke", d], "missing NAME"),
        (["member", "list"], "missing DIR"),
        (["member", "list", d, "--json=yes"], "--json takes no value"),
    ]:
        rc, so, se = admin(out, *args, rc=2)
        assert words in one_line_error(se), (args, se)
        assert so == ""


def test_member_add_not_initialised(tmp_path, out):
    d = str(tmp_path / "nothing")
    os.makedirs(d)
    (rc, so, se), _ = add(out, d, "soc", rc=1)
    assert "not initialised" in one_line_error(se)
    (rc, so, se), _ = add(out, str(tmp_path / "absent"), "soc", rc=1)
    assert "no such deployment directory" in one_line_error(se)


def test_member_add_refuses_open_registry_key(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    os.chmod(os.path.join(d, "registry.key"), 0o644)
    (rc, so, se), agentdir = add(out, d, "soc", rc=1)
    assert "registry.key: permissions 0644 are too open (want 0600)" in one_line_error(se)
    assert not os.path.exists(agentdir)


def test_member_add_rolls_back_when_registry_write_fails(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    members = os.path.join(d, "members")
    os.chmod(members, 0o555)
    try:
        if os.access(members, os.W_OK):
            pytest.skip("running as root: directory permissions are not enforced")
        (rc, so, se), agentdir = add(out, d, "soc", rc=1)
        one_line_error(se)
        assert not os.path.exists(agentdir)
    finally:
        os.chmod(members, 0o755)


# ---- revoke, list -------------------------------------------------------------------------
def test_revoke_then_list_shows_revoked(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    add(out, d, "soc", "bank-a", None, "--sector", "finance", "--role", "publisher")
    add(out, d, "intel", "telco-c")
    rc, so, se = admin(out, "member", "list", d)
    lines = so.splitlines()
    assert lines[0].split() == ["NAME", "ORG", "SECTOR", "ROLE", "CREATED", "STATUS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["soc"][1:4] == ["bank-a", "finance", "publisher"]
    assert rows["soc"][5] == "active" and rows["intel"][5] == "active"
    assert rows["intel"][2] == "-"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows["soc"][4])

    rc, so, se = admin(out, "member", "revoke", d, "soc")
    assert "soc" in so
    m = zpl(os.path.join(d, "members", "soc.member"))
    assert re.fullmatch(r"\d{4}-.*Z", m.get("member/revoked"))
    rc, so, se = admin(out, "member", "list", d)
    rows = {line.split()[0]: line.split() for line in so.splitlines()[1:]}
    assert rows["soc"][5] == "revoked" and rows["intel"][5] == "active"
    assert rows["gateway"][5] == "active"
    rc, so, se = admin(out, "member", "list", d, "--json")
    js = {r["name"]: r for r in map(json.loads, so.splitlines())}
    assert js["soc"]["status"] == "revoked" and js["intel"]["status"] == "active"
    # the record itself is untouched and still verifies
    reg_pk = bytes.fromhex(zpl(os.path.join(d, "registry.pub")).get("signing/public-key"))
    verify_member_file(os.path.join(d, "members", "soc.member"), reg_pk)

    rc, so, se = admin(out, "member", "revoke", d, "soc", rc=1)
    assert one_line_error(se) == "infohub-admin: member 'soc' is already revoked"
    rc, so, se = admin(out, "member", "revoke", d, "nobody", rc=1)
    assert one_line_error(se) == "infohub-admin: no member 'nobody'"
    rc, so, se = admin(out, "member", "revoke", d, "../registry", rc=1)
    one_line_error(se)
    assert not [f for f in os.listdir(os.path.join(d, "members")) if f.startswith(".")]
    assert_no_secret(out, d)


def test_list_skips_tampered_record(tmp_path, out):
    d = init(out, str(tmp_path / "dep"))
    add(out, d, "soc")
    path = os.path.join(d, "members", "soc.member")
    text = open(path).read()
    with open(path, "w") as f:
        f.write(text.replace('org = "bank-a"', 'org = "bank-z"'))
    rc, so, se = admin(out, "member", "list", d, "--json")
    assert [json.loads(line)["name"] for line in so.splitlines()] == ["gateway"]
    assert "soc.member" in se and "skipped" in se


# ---- help and secrets ------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--help"], ["-h"], ["help"],
    ["init", "--help"], ["init", "DIR", "--help"],
    ["member", "--help"],
    ["member", "add", "--help"], ["member", "add", "x", "--org", "o", "-h"],
    ["member", "revoke", "--help"],
    ["member", "list", "--help"],
])
def test_help(out, args):
    rc, so, se = admin(out, *args)
    assert so.startswith("usage: infohub-admin")
    assert se == ""


def test_no_arguments_prints_usage(out):
    rc, so, se = admin(out, rc=2)
    assert "usage: infohub-admin" in se


def test_no_secret_in_any_output(tmp_path, out):
    """Runs every command, successful and failing, and looks for every secret."""
    d = init(out, str(tmp_path / "dep"))
    (rc, so, se), a1 = add(out, d, "soc", "bank-a", None, "--role", "publisher")
    (rc, so, se), a2 = add(out, d, "intel", "telco-c", None, "--sector", "telecom")
    add(out, d, "soc", "bank-a", str(tmp_path / "dup"), rc=1)
    admin(out, "member", "list", d)
    admin(out, "member", "list", d, "--json")
    admin(out, "member", "revoke", d, "intel")
    admin(out, "member", "list", d, "--json")
    admin(out, "init", d, rc=1)
    os.chmod(os.path.join(d, "registry.key"), 0o640)
    add(out, d, "late", "bank-c", str(tmp_path / "late"), rc=1)
    os.chmod(os.path.join(d, "registry.key"), 0o600)
    # a corrupted secret key file: the error names the file, never the content
    with open(os.path.join(d, "registry.key")) as f:
        text = f.read()
    with open(os.path.join(d, "registry.key"), "w") as f:
        f.write(text.replace("secret-key = \"", "secret-key = \"zz"))
    rc, so, se = admin(out, "member", "add", d, "--org", "o", "--name", "n2", "--out",
                       str(tmp_path / "n2"), rc=1)
    assert "registry.key" in one_line_error(se)
    with open(os.path.join(d, "registry.key"), "w") as f:
        f.write(text)
    for args in (["--help"], ["init", "--help"], ["member", "add", "--help"]):
        admin(out, *args)
    assert_no_secret(out, d, a1, a2)
