"""The Public Zone in a real browser: Debian's headless Chromium loads /, an alert page and
/trends from a real gateway (real broker, real publishers) and saves screenshots under
build/screenshots/; an alert whose title, summary, tags, references and IOCs carry XSS
payloads renders inert (checked in the DOM Chromium built, not only in the bytes served).
"""
import html.parser
import os
import shutil
import struct
import subprocess

import pytest

from gwutil import ROOT, GatewayEnv, ihclient, publish_realistic

CHROMIUM = "/usr/bin/chromium"
SHOTS = os.path.join(ROOT, "build", "screenshots")


def chromium(args, tmp_path, timeout=90):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("%s is missing (make deps installs Debian's chromium)" % CHROMIUM, pytrace=False)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--disable-dev-shm-usage", "--user-data-dir=%s" % (tmp_path / "chromium-profile")] + args
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0, "chromium failed (%d): %s" % (r.returncode, r.stderr.decode()[-2000:])
    return r.stdout.decode("utf-8", "replace")


def screenshot(env, path, name, tmp_path, size="1280,1500"):
    os.makedirs(SHOTS, exist_ok=True)
    out = os.path.join(SHOTS, name)
    if os.path.exists(out):
        os.unlink(out)
    chromium(["--screenshot=%s" % out, "--window-size=%s" % size,
              "http://127.0.0.1:%d%s" % (env.port, path)], tmp_path)
    with open(out, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", head[16:24])
    assert (w, h) == tuple(int(x) for x in size.split(",")), (w, h)
    assert os.path.getsize(out) > 20000, "screenshot %s looks empty" % name
    return out


class DomAudit(html.parser.HTMLParser):
    """Collects what could execute or load: elements and attributes."""

    def __init__(self):
        super().__init__()
        self.tags, self.handlers, self.urls, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k.startswith("on"):
                self.handlers.append((tag, k, v))
            if k in ("href", "src", "action", "formaction", "xlink:href") and v:
                self.urls.append((tag, k, v))

    def handle_data(self, data):
        self.text.append(data)


def audit(dom):
    a = DomAudit()
    a.feed(dom)
    return a


@pytest.fixture
def env(deploy):
    e = GatewayEnv(deploy)
    e.start_gateway()
    return e


@pytest.mark.timeout(400)
def test_pages_in_chromium_and_xss_inert(env, tmp_path):
    ids = publish_realistic(env)
    xss = env.publish(env.pub,
                      title="<script>document.title='pwned'</script><img src=x onerror=alert(1)> XSS probe",
                      summary="Payloads: <script>alert('summary')</script> <img src=x onerror=alert(2)>\n\n"
                              "<iframe src=\"https://evil.example/\"></iframe>\n\n"
                              "[a link](javascript:alert(3)) and ![img](https://evil.example/t.png)\n\n"
                              "<a href=\"javascript:alert(4)\" onclick=\"alert(5)\">x</a> **still bold**",
                      tlp="CLEAR", severity="high", category="malware",
                      tags=["<svg/onload=alert(6)>"], sectors=["finance"],
                      references=["https://ok.example/?q=\"><script>alert(7)</script>"],
                      iocs=[ihclient.ioc("url", "http://xss.example/<script>alert(8)</script>",
                                         "<img src=x onerror=alert(9)>"),
                            ihclient.ioc("filename", "\"><svg onload=alert(10)>.exe", "'\"><b>x</b>"),
                            ihclient.ioc("domain", "xss-probe.example", "<style>body{display:none}</style>")])
    for aid in ids + [xss]:
        env.wait_visible(aid)

    # Screenshots of the three main pages (look at them: build/screenshots/).
    screenshot(env, "/", "gateway-index.png", tmp_path)
    screenshot(env, "/alerts/" + ids[0], "gateway-alert.png", tmp_path, size="1280,1800")
    screenshot(env, "/trends", "gateway-trends.png", tmp_path)
    screenshot(env, "/alerts/" + xss, "gateway-xss-alert.png", tmp_path, size="1280,1800")
    screenshot(env, "/search?q=citrix", "gateway-search.png", tmp_path, size="1280,900")

    # The bytes served: no payload survives as markup.
    s, h, body = env.get("/alerts/" + xss)
    page = body.decode()
    for bad in ("<script", "<iframe", "<svg/onload", "<svg onload", "<img src=x", "<style>",
                'href="javascript', "<b>x</b>"):
        assert bad not in page, bad

    # The DOM Chromium built: no script, no handler, no frame, nothing loaded from elsewhere.
    dom = chromium(["--dump-dom", "http://127.0.0.1:%d/alerts/%s" % (env.port, xss)], tmp_path)
    a = audit(dom)
    assert "<title>pwned</title>" not in dom and "XSS probe" in dom.split("</title>")[0], "script ran"
    for tag in ("script", "iframe", "object", "embed", "style", "frame", "base", "form"):
        assert tag not in a.tags, "a <%s> element exists in the DOM" % tag
    assert a.handlers == [], a.handlers
    assert a.tags.count("img") == 1, "only the site logo is an image: %r" % a.tags
    for tag, attr, url in a.urls:
        assert not url.lower().startswith(("javascript:", "data:text", "vbscript:")), (tag, attr, url)
        if attr != "href":                   # nothing is loaded from elsewhere; a link is fine
            assert url.startswith("/"), (tag, attr, url)
    text = "".join(a.text)
    assert "<script>document.title='pwned'</script>" in text      # shown as text
    assert "http://xss.example/<script>alert(8)</script>" in text
    assert "still bold" in text
    assert "strong" in a.tags                                        # Markdown kept

    # The index and the trends page as the browser sees them.
    for path in ("/", "/trends"):
        dom = chromium(["--dump-dom", "http://127.0.0.1:%d%s" % (env.port, path)], tmp_path)
        a = audit(dom)
        assert "script" not in a.tags and a.handlers == []
        assert "XSS probe" in "".join(a.text) or path == "/trends"
    assert "svg" in audit(chromium(["--dump-dom", "http://127.0.0.1:%d/trends" % env.port],
                                   tmp_path)).tags
    env.assert_alive()
