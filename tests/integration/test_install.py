"""`make install` (issue 10, item 1): the documented install used to copy bin/* alone, and
the agent then found no warninglists, so every detection export failed. `make install
DESTDIR=... PREFIX=/usr` must stage the programs, the warninglists where the programs look
for them (BINDIR/../share/infohub/warninglists), the systemd units with ExecStart in
BINDIR, and a man page per program that renders without warnings; and the installed agent
must check warninglists and run a detection export from there.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

import ihclient
from agentlib import wait_cursor
from conftest import ROOT

PROGRAMS = ["infohub-admin", "infohub-agent", "infohub-broker", "infohub-console", "infohub-gateway"]
MAN = {"infohub-agent": 1, "infohub-admin": 8, "infohub-broker": 8, "infohub-console": 1, "infohub-gateway": 8}
UNITS = ["infohub-agent@.service", "infohub-broker.service", "infohub-console@.service", "infohub-gateway.service"]


def clean_env():
    env = dict(os.environ)
    env.pop("INFOHUB_WARNINGLISTS", None)
    return env


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("stage"))
    r = subprocess.run(["make", "-s", "-C", ROOT, "install", "DESTDIR=" + dest, "PREFIX=/usr"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    return dest


def test_install_lays_out_everything(staged):
    usr = os.path.join(staged, "usr")
    for p in PROGRAMS:
        path = os.path.join(usr, "bin", p)
        assert os.access(path, os.X_OK), path
    wl = os.path.join(usr, "share", "infohub", "warninglists")
    shipped = sorted(os.listdir(os.path.join(ROOT, "config", "warninglists")))
    assert sorted(os.listdir(wl)) == shipped
    for u in UNITS:
        with open(os.path.join(usr, "lib", "systemd", "system", u)) as f:
            text = f.read()
        starts = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")]
        assert starts and all(ln.startswith("ExecStart=/usr/bin/infohub-") for ln in starts), text
        assert "/usr/local/" not in text, text
    with open(os.path.join(usr, "lib", "systemd", "system", "infohub-agent@.service")) as f:
        assert "RestartPreventExitStatus=2 4" in f.read()
    # nothing outside DESTDIR/PREFIX
    assert sorted(os.listdir(staged)) == ["usr"]
    assert sorted(os.listdir(usr)) == ["bin", "lib", "share"]


def test_man_pages_render_without_warnings(staged):
    if not shutil.which("groff"):
        pytest.skip("groff is not installed (Debian: groff-base)")
    for prog, section in MAN.items():
        page = os.path.join(staged, "usr", "share", "man", "man%d" % section, "%s.%d" % (prog, section))
        assert os.path.exists(page), page
        r = subprocess.run(["groff", "-man", "-ww", "-z", page], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0 and r.stderr == b"", (page, r.stderr.decode())
        if shutil.which("man"):
            r = subprocess.run(["man", "-l", "--warnings=all", page], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60, env=dict(os.environ, MANWIDTH="80"))
            out = r.stdout.decode()
            assert r.returncode == 0 and r.stderr == b"", (page, r.stderr.decode())
            assert "NAME" in out and prog in out and "EXIT STATUS" in out, out[:500]
        # the options each program's --help names are in its page
        prog_bin = os.path.join(staged, "usr", "bin", prog)
        helptext = subprocess.run([prog_bin, "--help"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE).stdout.decode()
        with open(page) as f:
            troff = f.read().replace("\\-", "-")
        for opt in set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", helptext)):
            assert opt in troff, "%s: %s is not in %s" % (prog, opt, page)


def test_installed_agent_finds_its_warninglists(staged, deploy, tmp_path):
    agent = os.path.join(staged, "usr", "bin", "infohub-agent")
    wl = os.path.realpath(os.path.join(staged, "usr", "share", "infohub", "warninglists"))
    env = clean_env()
    r = subprocess.run([agent, "warninglist", "check", "8.8.8.8", "login-bank.example"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr.decode()
    assert "8.8.8.8: public-resolvers" in r.stdout.decode(), r.stdout
    r = subprocess.run([agent, "warninglist", "list"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=str(tmp_path))
    assert r.returncode == 0 and r.stdout.decode().splitlines()[0] == "# " + wl, r.stdout

    # A detection export by the installed agent, from a store the agent filled
    pub = deploy.add_member("soc", "bank-a", sector="finance", role="publisher")
    rdr = deploy.add_member("desk", "bank-b", sector="finance")
    deploy.start_broker()
    c = deploy.client(pub)
    body = ihclient.alert_body(pub.ident, title="c2", iocs=[
        ihclient.ioc("ipv4", "45.77.1.2", "c2", True), ihclient.ioc("ipv4", "8.8.8.8", "", True),
        ihclient.ioc("domain", "login-secure-bank.com", "", True)])
    rep = c.publish_wait(body)
    assert rep["t"] == "ok", rep
    a = deploy.start_agent(rdr)
    wait_cursor(deploy, rdr, rep["seq"])
    a.stop()
    for fmt in ("plain", "suricata", "rpz"):
        r = subprocess.run([agent, "-c", rdr.cfg, "export", "--format", fmt], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, cwd=str(tmp_path))
        out = r.stdout.decode()
        assert r.returncode == 0, (fmt, r.stderr.decode())
        assert "login-secure-bank.com" in out and "8.8.8.8" not in out, (fmt, out)
        if fmt != "rpz":
            assert "45.77.1.2" in out, (fmt, out)
    st = subprocess.run([agent, "-c", rdr.cfg, "status", "--json"], stdout=subprocess.PIPE, env=env)
    assert st.returncode == 3 and json.loads(st.stdout)["alerts"] == 1
