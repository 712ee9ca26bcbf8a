#!/usr/bin/python3
"""One member's flood, in a process of its own (rlib.flood starts it): new alerts, 256 in
flight, at `rate` a second (0: as fast as it can, whatever the broker says), for `seconds`
or until SIGTERM. Prints one line "sent N ok N limited N"; with --bodies, before it, one
line "ok JSON" for each alert the broker acknowledged (the fields the suite's ledger needs,
without the IOCs), so that the suite counts the flood's alerts at every holder too.

    flooder.py INTEGRATION_DIR AGENTDIR BYTES SECONDS RATE [--bodies]
"""
import json
import signal
import sys
import time

sys.path.insert(0, sys.argv[1])
import ihclient  # noqa: E402
import zmq  # noqa: E402

ident = ihclient.Identity.from_agentdir(sys.argv[2])
big = int(sys.argv[3])
seconds = float(sys.argv[4])
rate = float(sys.argv[5])
bodies = "--bodies" in sys.argv[6:]
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def body(i):
    # a big alert is many IOCs (a summary holds 64 KiB at most): ~180 bytes each
    n = min(4900, big // 180)
    pad = max(1, big // n - 45)
    iocs = [ihclient.ioc("url", "http://h%d-%d.example/%s" % (i, k, "a" * pad)) for k in range(n)]
    b = ihclient.alert_body(ident, title="flood %d" % i, summary="f" * min(big, 100), iocs=iocs)
    d = ihclient.pack(b)
    return b, d, ihclient.sign(ident.sign_sk, d)


def answers():
    global ok, limited
    for req in list(c.replies):
        rep = c.replies.pop(req)
        b = pending.pop(req, None)
        if rep["t"] == "ok":
            ok += 1
            if bodies and b is not None:
                print("ok " + json.dumps({k: b[k] for k in ("id", "rev", "org", "member", "tlp",
                                                             "recipients", "title")}))
        elif rep.get("code") == "rate-limited":
            limited += 1


c = ihclient.Client(ident, verify=False)
sent = limited = ok = 0
pending = {}
t0 = time.monotonic()
t_end = t0 + seconds
i = 0
while time.monotonic() < t_end and not stop:
    while (c.sock.poll(0, zmq.POLLOUT) and len(pending) < 256
           and (rate == 0 or sent < (time.monotonic() - t0) * rate)):
        b, d, s = body(i)          # a new alert each time: each is journaled if let through
        pending[c.publish(d, sig=s)] = b
        i += 1
        sent += 1
    c.poll(0.001)
    answers()
# the answers still on their way, for the count of what was acknowledged (none come to a
# member cut off for flooding)
deadline = time.monotonic() + (5 if bodies else 0)
while pending and time.monotonic() < deadline:
    c.poll(0.05)
    answers()
print("sent %d ok %d limited %d" % (sent, ok, limited))
