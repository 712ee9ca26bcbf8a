"""What a first-time user ran into (issue 10, item 15), one test per item, against the real
programs on 127.0.0.1: publish --dry-run, case-insensitive severity and category, `show`
by a unique id prefix, options missing their value, the broker's and the gateway's bind
errors, `search`'s exit status, plurals, the /trends tie, the `show` sightings line, the
API's `since` age, and GitHub-flavoured Markdown on the gateway's pages.
"""
import json
import os
import re
import socket
import subprocess
import time

import pytest

from conftest import ADMIN, AGENT, BROKER, run, wait_until
from gwutil import GATEWAY, GatewayEnv, ihclient


def out(r):
    return r.stdout.decode()


def err(r):
    return r.stderr.decode()


ALERT = {"title": "Dry run", "tlp": "green", "severity": "LOW", "category": "Phishing",
         "iocs": [{"type": "domain", "value": "dry[.]example"}]}


@pytest.fixture
def pub_rdr(deploy):
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("analyst", "bank-b", sector="energy", role="reader")
    deploy.start_broker()
    deploy.start_agent(pub)
    deploy.start_agent(rdr, extra=["-v"])   # a line per message (debug), for the log checks
    return deploy, pub, rdr


def publish(deploy, member, doc):
    r = deploy.agent_cmd(member, "publish", "-", input=json.dumps(doc).encode())
    return out(r).strip()


def wait_stored(deploy, member, aid):
    wait_until(lambda: any(a["id"] == aid for a in deploy.agent_list(member)),
               what="alert %s stored at %s" % (aid, member.name))


# ---- a. publish --dry-run, b. case-insensitive severity and category ---------------------------

def test_publish_dry_run_signs_and_sends_nothing(deploy, tmp_path):
    pub = deploy.add_member("soc", "bank-a", role="publisher")
    # No broker runs: a real publish would wait for it; a dry run answers at once.
    t0 = time.monotonic()
    r = deploy.agent_cmd(pub, "publish", "--dry-run", "-", input=json.dumps(ALERT).encode())
    assert time.monotonic() - t0 < 5
    lines = out(r).splitlines()
    assert len(lines) == 1, out(r)
    draft = json.loads(lines[0])
    assert draft["title"] == "Dry run" and draft["tlp"] == "GREEN"
    assert draft["severity"] == "low" and draft["category"] == "phishing"
    assert draft["iocs"][0]["value"] == "dry.example"
    assert draft["publisher"] == {"org": "bank-a", "member": "soc"}
    assert re.fullmatch(r"[0-9a-f]{64}", draft["signer"]) and draft["revision"] == 1
    assert "dry run" in err(r) and "nothing was signed or sent" in err(r)
    # a file, the option after it; and what is invalid fails as it would without --dry-run
    f = tmp_path / "a.json"
    f.write_text(json.dumps(ALERT))
    assert json.loads(out(deploy.agent_cmd(pub, "publish", str(f), "--dry-run")))["title"] == "Dry run"
    bad = dict(ALERT, severity="extreme")
    r = deploy.agent_cmd(pub, "publish", "--dry-run", "-", input=json.dumps(bad).encode(), check=False)
    assert r.returncode == 1 and "severity: unknown value 'extreme'" in err(r) and out(r) == ""
    r = deploy.agent_cmd(pub, "publish", "--dry-run", check=False)
    assert r.returncode == 1 and "FILE.json (or -) is missing" in err(r)
    r = deploy.agent_cmd(pub, "publish", "-", "x.json", check=False)
    assert r.returncode == 1 and "unexpected argument 'x.json'" in err(r)
    assert "--dry-run" in out(run([AGENT, "publish", "--help"]))


def test_severity_and_category_are_case_insensitive(pub_rdr):
    deploy, pub, rdr = pub_rdr
    aid = publish(deploy, pub, dict(ALERT, severity="HIGH", category="Data-Leak"))
    wait_stored(deploy, rdr, aid)
    shown = json.loads(out(deploy.agent_cmd(rdr, "show", aid, "--json")))
    assert shown["severity"] == "high" and shown["category"] == "data-leak"     # canonical
    got = [json.loads(l)["id"] for l in out(deploy.agent_cmd(
        rdr, "list", "--json", "--min-severity", "High", "--category", "DATA-LEAK")).splitlines()]
    assert got == [aid]
    # import's flags go through the same parsers
    r = deploy.agent_cmd(pub, "import", "--format", "text", "--tlp", "clear", "--severity", "CRITICAL",
                         "--category", "Malware", "--dry-run", "-", input=b"C2 at 203.0.113.5\n")
    draft = json.loads(out(r).splitlines()[0])
    assert draft["severity"] == "critical" and draft["category"] == "malware"


# ---- c. show by a unique id prefix -------------------------------------------------------------

def test_show_takes_a_unique_id_prefix(pub_rdr):
    deploy, pub, rdr = pub_rdr
    ids = ["abcd1234-0000-4000-8000-00000000000%d" % i for i in range(6)]
    for aid in ids:
        assert publish(deploy, pub, dict(ALERT, id=aid, title="alert " + aid[-1])) == aid
    other = publish(deploy, pub, dict(ALERT, title="the other one"))
    wait_stored(deploy, rdr, other)
    for aid in ids:
        wait_stored(deploy, rdr, aid)

    def show(*args):
        return deploy.agent_cmd(rdr, "show", *args, check=False)
    # unique: the alert, as with the whole id (upper case too)
    r = show(other[:8])
    assert r.returncode == 0 and "the other one" in out(r), err(r)
    assert json.loads(out(show(other[:6].upper(), "--json")))["id"] == other
    assert json.loads(out(show(other[:35], "--json")))["id"] == other
    assert json.loads(out(show(ids[3].upper(), "--json")))["id"] == ids[3]
    # ambiguous: up to 5 candidates, and how many more
    r = show("abcd1234")
    e = err(r)
    assert r.returncode == 1 and e.count("\n") == 1, e
    assert "show: 'abcd1234' is ambiguous: 6 alerts start with it:" in e, e
    assert sum(aid in e for aid in ids) == 5 and "and 1 more" in e, e
    r = show("abcd1234-0000-4000-8000-00000000000")
    assert "is ambiguous: 6 alerts" in err(r)
    # none, too short, not an id
    r = show("ffff")
    assert r.returncode == 1 and "show: no alert starts with 'ffff'" in err(r), err(r)
    r = show("abc")
    assert r.returncode == 1 and "at least 4" in err(r), err(r)
    r = show("abcd-xyz")
    assert r.returncode == 1 and "not an alert id" in err(r), err(r)


# ---- d. an option without its value ------------------------------------------------------------

def test_an_option_without_its_value_says_so(deploy):
    m = deploy.add_member("soc", "bank-a", role="publisher")
    for argv, want in [
        ([BROKER, "-c"], "infohub-broker: -c needs a value (DIR/broker.cfg)"),
        ([GATEWAY, "-c"], "infohub-gateway: -c needs a value (DIR/gateway.cfg)"),
        ([AGENT, "-c"], "infohub-agent: -c needs a value (AGENTDIR/agent.cfg)"),
        ([AGENT, "--config"], "infohub-agent: --config needs a value (AGENTDIR/agent.cfg)"),
        ([ADMIN, "init", deploy.dir + "-x", "--endpoint"], "init: --endpoint needs a value"),
        ([AGENT, "-c", m.cfg, "sight", "1.2.3.4", "--alert"], "sight: --alert needs a value"),
        ([AGENT, "-c", m.cfg, "sight", "1.2.3.4", "--count"], "sight: --count needs a value"),
        ([AGENT, "-c", m.cfg, "retract", "00000000-0000-4000-8000-000000000000", "--ioc"],
         "retract: --ioc needs a value"),
        ([AGENT, "-c", m.cfg, "retract", "00000000-0000-4000-8000-000000000000", "--reason"],
         "retract: --reason needs a value"),
        ([AGENT, "-c", m.cfg, "search", "1.2.3.4", "--type"], "search: --type needs a value"),
        ([AGENT, "-c", m.cfg, "tail", "--from"], "tail: --from needs a value"),
        ([AGENT, "-c", m.cfg, "list", "--since"], "list: --since needs a value"),
    ]:
        r = run(argv, check=False, timeout=20)
        e = err(r)
        assert r.returncode != 0, argv
        assert want in e, (argv, e)
        assert "unexpected argument" not in e, (argv, e)


# ---- e. the broker's bind error (and other doubled prefixes), f. the gateway's ----------------

def test_import_error_names_the_alert_not_the_command_twice(deploy, tmp_path):
    m = deploy.add_member("soc", "bank-a", role="publisher")
    big = tmp_path / "big.txt"            # 1,500 long URLs: a body over 1 MiB, refused before sending
    big.write_text("".join("http://evil%d.example/%s\n" % (i, "a" * 1000) for i in range(1500)))
    r = deploy.agent_cmd(m, "import", "--format", "text", "--tlp", "clear", "--plain-urls-as-iocs",
                         "--title", "Big list", str(big), check=False, timeout=30)
    assert r.returncode != 0
    assert "alert 'Big list': body: too large" in err(r), err(r)
    assert "import: import:" not in err(r), err(r)
    assert "import: import:" not in err(r)


def test_broker_bind_error_names_the_module_once(deploy):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", deploy.port))
    blocker.listen(1)
    try:
        p = deploy.start_broker(wait=False)
        assert p.wait(15) not in (None, 0)
        text = p.text()
        assert "E broker: cannot bind tcp://127.0.0.1:%d: Address already in use" % deploy.port in text, text
        assert not re.search(r"\b(\w+): \1: ", text), text
    finally:
        blocker.close()


def test_gateway_port_clash_names_address_port_and_reason(deploy):
    env = GatewayEnv(deploy)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", env.port))
    blocker.listen(1)
    try:
        p = env.start_gateway(wait=False)
        assert p.wait(15) not in (None, 0)
        text = p.text()
        assert ("infohub-gateway: cannot listen on 127.0.0.1:%d: Address already in use\n" % env.port
                in text), text
        assert "Failed to bind" not in text and "port 0" not in text, text
    finally:
        blocker.close()


# ---- g. search's exit status, j. the sightings line, h. plurals on the command line -------------

def test_search_exits_1_without_a_match(pub_rdr):
    deploy, pub, rdr = pub_rdr
    aid = publish(deploy, pub, dict(ALERT, iocs=[{"type": "ipv4", "value": "192.0.2.10"}]))
    wait_stored(deploy, rdr, aid)
    # found: 0; nothing: 1, like grep, for text and JSON alike; an error: 2
    assert deploy.agent_cmd(rdr, "search", "192.0.2.10").returncode == 0
    for args in (["203.0.113.200"], ["203.0.113.200", "--json"]):
        r = deploy.agent_cmd(rdr, "search", *args, check=False)
        assert r.returncode == 1 and err(r) == "", (args, r.returncode, err(r))
    assert "no match for ipv4 203.0.113.200" in out(deploy.agent_cmd(rdr, "search", "203.0.113.200",
                                                                     check=False))
    r = deploy.agent_cmd(rdr, "search", "x", "--type", "colour", check=False)
    assert r.returncode == 2 and "unknown IOC type" in err(r)
    r = run([AGENT, "-c", rdr.cfg + ".missing", "search", "192.0.2.10"], check=False)
    assert r.returncode == 2, err(r)
    assert "exit status" in out(run([AGENT, "search", "--help"])).lower()


def test_show_counts_sightings_and_reports_apart(pub_rdr):
    deploy, pub, rdr = pub_rdr
    aid = publish(deploy, pub, dict(ALERT, iocs=[{"type": "ipv4", "value": "192.0.2.10"}]))
    deploy.agent_cmd(pub, "sight", "192.0.2.10", "--alert", aid, "--count", "3")

    def sightings_line():
        text = out(deploy.agent_cmd(rdr, "show", aid, check=False))
        lines = [l for l in text.splitlines() if l.startswith("sightings")]
        return lines[0].split(None, 1)[1] if lines else ""
    # one report that counted 3
    wait_until(lambda: sightings_line().startswith("3"), what="the sighting at the reader")
    assert sightings_line() == "3 sightings in 1 report citing this alert"
    deploy.agent_cmd(pub, "sight", "192.0.2.10", "--alert", aid)
    wait_until(lambda: sightings_line() == "4 sightings in 2 reports citing this alert",
               what="a second report")
    other = publish(deploy, pub, dict(ALERT, title="never seen"))
    wait_stored(deploy, rdr, other)
    assert "none reported" in out(deploy.agent_cmd(rdr, "show", other))


def test_cli_counts_agree_with_their_nouns(pub_rdr):
    deploy, pub, rdr = pub_rdr
    deploy.agent_cmd(pub, "sight", "192.0.2.99", "--count", "1")
    wait_until(lambda: "sighted" in out(deploy.agent_cmd(rdr, "search", "192.0.2.99", check=False)),
               what="the sighting at the reader")
    r = deploy.agent_cmd(rdr, "search", "192.0.2.99", check=False)
    assert "ipv4 192.0.2.99 was sighted 1 time (1 report)" in out(r), out(r)
    # export's and import's summaries, the daemon's log of a retraction
    aid = publish(deploy, pub, dict(ALERT, iocs=[{"type": "ipv4", "value": "192.0.2.10"},
                                                 {"type": "ipv4", "value": "192.0.2.11"}]))
    wait_stored(deploy, rdr, aid)
    deploy.agent_cmd(pub, "retract", aid, "--ioc", "192.0.2.11")
    wait_until(lambda: "retraction of 1 IOC of alert %s" % aid in deploy.agents[rdr.name].text(),
               what="the retraction in the reader's log")
    r = deploy.agent_cmd(rdr, "export", "--format", "csv", "--status", "active")
    assert "export: csv: 1 alert, 1 IOC to stdout; left out: 0 retracted alerts, 1 retracted IOC" in err(r), err(r)
    r = deploy.agent_cmd(pub, "import", "--format", "text", "--tlp", "clear", "--dry-run", "-",
                         input=b"C2 at 203.0.113.5\n")
    assert "dry run, nothing published: 1 new, 0 revised" in err(r), err(r)
    assert "1 IOC with detect off" in err(r), err(r)


def test_daemon_logs_count_with_the_right_noun(deploy):
    deploy.start_broker()          # the registry holds the gateway only
    wait_until(lambda: "listening on" in deploy.broker.text(), what="the broker's first line")
    assert re.search(r"I broker: listening on \S+: head 0, 1 member, ", deploy.broker.text()), \
        deploy.broker.text()
    # the gateway with one HTTP thread (its config beside gateway.cfg: paths are relative)
    cfg = os.path.join(deploy.dir, "gateway-1.cfg")
    with open(os.path.join(deploy.dir, "gateway.cfg")) as f:
        text = f.read()
    assert 'tls-key = ""\n' in text
    with open(cfg, "w") as f:
        f.write(text.replace('tls-key = ""\n', 'tls-key = ""\n        threads = "1"\n'))
    gw = deploy.spawn("gateway", [GATEWAY, "-c", cfg])
    wait_until(lambda: "serving" in gw.text() or not gw.alive(), what="the gateway's first line")
    assert ", 1 thread)" in gw.text(), gw.text()


# ---- k. the API's since takes an age ------------------------------------------------------------

def test_api_since_takes_an_age_as_the_cli_does(deploy):
    env = GatewayEnv(deploy)
    env.start_gateway()
    day_ms = 86400000
    old = env.publish(title="three days old", tlp="CLEAR", created=ihclient.now_ms() - 3 * day_ms,
                      modified=ihclient.now_ms() - 3 * day_ms)
    new = env.publish(title="new", tlp="CLEAR")
    env.wait_all([old, new])
    for age, want in (("1h", [new]), ("30m", [new]), ("2d", [new]), ("4d", [new, old]), ("1w", [new, old])):
        j = env.get_json("/api/v1/alerts?since=" + age)
        assert sorted(a["id"] for a in j["alerts"]) == sorted(want), (age, j)
    s, _, b = env.get("/api/v1/alerts?since=7y")
    assert s == 400 and b"since" in b


# ---- h. plurals on the pages, i. the trends tie, l. GitHub-flavoured Markdown ----------------

@pytest.fixture
def gw_env(deploy):
    env = GatewayEnv(deploy)
    env.start_gateway()
    return env


def page(env, path):
    s, _, b = env.get(path)
    assert s == 200, (path, s)
    return b.decode()


def test_pages_count_with_the_right_noun(gw_env):
    env = gw_env
    one = env.publish(title="one of each", tlp="CLEAR", category="phishing",
                      iocs=[ihclient.ioc("ipv4", "192.0.2.1"), ihclient.ioc("domain", "a.example"),
                            ihclient.ioc("domain", "b.example")])
    env.wait_visible(one)
    index = page(env, "/")
    assert "1 advisory held" in index and "1 advisories" not in index
    alert = page(env, "/alerts/" + one)
    assert "Copy the IPv4 value</summary>" in alert, alert
    assert "Copy all 2 Domain values</summary>" in alert, alert
    assert "Copy all 1 " not in alert
    assert "<dd>0 sightings reported by members" in alert
    assert "<b>1</b><span>advisory in the period</span>" in page(env, "/trends")


def test_trends_calls_a_tie_a_tie(gw_env):
    env = gw_env
    first = env.publish(title="one", tlp="CLEAR", category="phishing")
    env.wait_visible(first)
    assert "<b>Phishing</b><span>most frequent category (1 of 1)</span>" in page(env, "/trends")
    two = env.publish(title="two", tlp="CLEAR", category="malware")
    env.wait_visible(two)
    text = page(env, "/trends")
    assert "most frequent category" not in text, text
    assert "<b>Phishing and Malware</b><span>tied for most frequent (1 advisory each)</span>" in text, text
    three = env.publish(title="three", tlp="CLEAR", category="ddos")
    env.wait_visible(three)
    text = page(env, "/trends")
    assert "<b>3 categories</b><span>tied for most frequent (1 advisory each)</span>" in text, text
    four = env.publish(title="four", tlp="CLEAR", category="ddos")
    env.wait_visible(four)
    text = page(env, "/trends")
    assert "<b>DDoS</b><span>most frequent category (2 of 4)</span>" in text, text
    assert "<b>4</b><span>advisories in the period</span>" in text, text


def test_summaries_render_tables_strikethrough_and_autolinks(gw_env):
    env = gw_env
    summary = ("| Host | Role |\n|---|---|\n| evil.example | C2 |\n\n~~withdrawn claim~~ and "
               "https://www.cisa.gov/advisory autolinked; <script>alert(1)</script> "
               "![pixel](data:image/png;base64,iVBORw0KGgo=) [x](javascript:alert(2))")
    aid = env.publish(title="markdown", tlp="CLEAR", summary=summary)
    env.wait_visible(aid)
    text = page(env, "/alerts/" + aid)
    assert "<table>" in text and "<td>evil.example</td>" in text, text
    assert "<del>withdrawn claim</del>" in text, text
    assert '<a href="https://www.cisa.gov/advisory">' in text, text
    assert "<script>alert(1)" not in text and "data:image" not in text and "javascript:" not in text
    assert len(re.findall(r"<img ", text)) == 1        # the site's logo, nothing else
