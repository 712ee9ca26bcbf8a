"""A headless Chromium driven over the DevTools protocol through a pipe
(--remote-debugging-pipe: JSON messages separated by NUL bytes on file descriptors 3 and 4),
with nothing but the standard library: navigate, type with the keyboard, wait for pages,
read the DOM, take screenshots. Pages run no script of their own; the test drives the
browser as a person would, with keys.

    with Browser(tmp_path) as b:
        tab = b.tab()                        # its own cookie jar (a browser context)
        tab.go("http://127.0.0.1:8090/login")
        tab.type("alice"); tab.key("Tab"); tab.type(password); tab.key("Enter")
        tab.wait_url("/login/code")
        tab.screenshot("build/screenshots/x.png")
"""
import base64
import json
import os
import select
import struct
import subprocess
import time

import pytest

CHROMIUM = "/usr/bin/chromium"


class Browser:
    def __init__(self, tmp_path):
        if not os.access(CHROMIUM, os.X_OK):
            pytest.fail("%s is missing (make deps installs Debian's chromium)" % CHROMIUM, pytrace=False)
        self.tmp = str(tmp_path)
        r_in, w_in = os.pipe()          # we write, chromium reads (its fd 3)
        r_out, w_out = os.pipe()        # chromium writes (its fd 4), we read
        prof = os.path.join(self.tmp, "chromium-cdp")
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=%s" % prof,
                "about:blank"]

        def fds():
            #  Chromium's ends on 3 and 4 (Popen's close_fds would close them after this).
            os.dup2(r_in, 3)
            os.dup2(w_out, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(self.tmp, "chromium.log"), "wb"),
                                  close_fds=False, preexec_fn=fds,
                                  env=dict(os.environ, HOME=self.tmp))
        os.close(r_in)
        os.close(w_out)
        self.w, self.r = w_in, r_out
        self.buf = b""
        self.next_id = 1
        self.events = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 (closing anyway)
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass

    # ---- the protocol
    def _read(self, timeout):
        end = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe:\n" + self.log())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        mid = self.next_id
        self.next_id += 1
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.w, json.dumps(m).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            msg = self._read(max(0.1, end - time.monotonic()))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, session=None, timeout=30, pred=None):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and (session is None or e.get("sessionId") == session) \
                        and (pred is None or pred(e.get("params", {}))):
                    return self.events.pop(i)
            self.events.append(self._read(max(0.1, end - time.monotonic())))

    def log(self):
        try:
            with open(os.path.join(self.tmp, "chromium.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def tab(self, width=1280, height=900):
        """A page in a browser context of its own (its own cookies)."""
        ctx = self.send("Target.createBrowserContext")["browserContextId"]
        tid = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": ctx})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        return Tab(self, sid, width, height)


class Tab:
    def __init__(self, browser, session, width, height):
        self.b, self.s = browser, session
        self.width, self.height = width, height
        self.cmd("Page.enable")
        #  A background tab gets no focus, so autofocus and keys would go nowhere.
        self.cmd("Emulation.setFocusEmulationEnabled", {"enabled": True})
        self.cmd("Page.bringToFront")
        self.cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                        "deviceScaleFactor": 1, "mobile": False})

    def cmd(self, method, params=None, timeout=30):
        return self.b.send(method, params, session=self.s, timeout=timeout)

    def go(self, url):
        self.b.events = [e for e in self.b.events if e.get("sessionId") != self.s]
        self.cmd("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", self.s)

    def url(self):
        return self.cmd("Runtime.evaluate", {"expression": "location.href", "returnByValue": True})["result"]["value"]

    def html(self):
        doc = self.cmd("DOM.getDocument", {"depth": -1})
        return self.cmd("DOM.getOuterHTML", {"nodeId": doc["root"]["nodeId"]})["outerHTML"]

    def type(self, text):
        self.cmd("Input.insertText", {"text": text})

    def key(self, name, wait_load=None):
        """Presses a key (Tab, Enter); with wait_load, waits for the page it loads."""
        codes = {"Tab": (9, "\t"), "Enter": (13, "\r")}
        vk, text = codes[name]
        if wait_load:
            self.b.events = [e for e in self.b.events if e.get("sessionId") != self.s]
        base = {"key": name, "code": name, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
        self.cmd("Input.dispatchKeyEvent", dict(base, type="rawKeyDown"))
        if name == "Enter":
            self.cmd("Input.dispatchKeyEvent", dict(base, type="char", text=text))
        self.cmd("Input.dispatchKeyEvent", dict(base, type="keyUp"))
        if wait_load:
            self.b.wait_event("Page.loadEventFired", self.s)

    def focus(self, selector):
        doc = self.cmd("DOM.getDocument", {"depth": 0})
        node = self.cmd("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})["nodeId"]
        assert node, "no element %s" % selector
        self.cmd("DOM.focus", {"nodeId": node})

    def click(self, selector, wait_load=True):
        """Clicks an element (by its box's centre), then (wait_load) waits for the page it
        loads; a checkbox loads none."""
        doc = self.cmd("DOM.getDocument", {"depth": 0})
        node = self.cmd("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})["nodeId"]
        assert node, "no element %s" % selector
        self.cmd("DOM.scrollIntoViewIfNeeded", {"nodeId": node})
        q = self.cmd("DOM.getContentQuads", {"nodeId": node})["quads"][0]
        x, y = (q[0] + q[4]) / 2, (q[1] + q[5]) / 2
        self.b.events = [e for e in self.b.events if e.get("sessionId") != self.s]
        for t in ("mousePressed", "mouseReleased"):
            self.cmd("Input.dispatchMouseEvent", {"type": t, "x": x, "y": y, "button": "left", "clickCount": 1})
        if wait_load:
            self.b.wait_event("Page.loadEventFired", self.s)

    def screenshot(self, path, full=True):
        """A PNG of the page (the whole page when full), written to path. Returns (w, h)."""
        clip = None
        if full:
            m = self.cmd("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            h = max(self.height, min(int(size["height"]), 6000))
            clip = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
        params = {"format": "png", "captureBeyondViewport": bool(full)}
        if clip:
            params["clip"] = clip
        data = base64.b64decode(self.cmd("Page.captureScreenshot", params, timeout=60)["data"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        return struct.unpack(">II", data[16:24])
