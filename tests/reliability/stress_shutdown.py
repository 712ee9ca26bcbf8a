#!/usr/bin/python3
"""The broker's shutdown under load (issue 12, item 8): 100 real agents (infohub-agent run),
a publisher that keeps publishing, and the broker stopped with SIGTERM while it delivers;
again and again. Each stop must end with exit status 0 and "stopped", never with a libzmq
assertion (it once died on `!_io_error`, stream_engine_base.cpp:331), a crash or a hang.
The agents reconnect by themselves to the broker started again.

    /usr/bin/python3 tests/reliability/stress_shutdown.py [--agents 100] [--runs 20]
        [--load-s 3] [--keep DIR]

Prints one line per run and a summary; exit status 0 when every run was clean. Uses the
integration fixtures (tests/integration/conftest.py), bin/ by default (INFOHUB_BIN).
"""
import argparse
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import conftest  # noqa: E402
import ihclient  # noqa: E402


class Load(threading.Thread):
    """Publishes GREEN alerts (delivered to every agent) as fast as the broker takes them,
    on fresh connections when the broker goes away."""

    def __init__(self, deploy, member):
        super().__init__(daemon=True)
        self.deploy, self.member = deploy, member
        self.stop_now = False
        self.sent = 0

    def run(self):
        while not self.stop_now:
            c = ihclient.Client(self.member.ident, ctx=self.deploy.ctx, endpoint=self.deploy.endpoint)
            try:
                bodies = [ihclient.alert_body(self.member.ident, title="load %d" % i,
                                              summary="x" * 1500) for i in range(200)]
                oks, errs, left = c.publish_many(bodies, inflight=64, timeout=5.0)
                self.sent += len(oks)
            except Exception:
                time.sleep(0.2)
            finally:
                c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--load-s", type=float, default=3.0, help="seconds of load before each stop")
    ap.add_argument("--keep", help="keep the deployment and logs in this directory")
    ap.add_argument("--kill-agents", type=float, default=0.3,
                    help="share of the agents SIGKILLed while the broker stops (as when a host "
                         "stops every service at once); they are started again")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base = a.keep or tempfile.mkdtemp(prefix="ih-stress-shutdown-")
    d = conftest.Deployment(base)
    bad = []
    try:
        d.init()
        pub = d.add_member("soc", "bank-a", role="publisher")
        d.unlimited(pub)
        members = [d.add_member("agent-%03d" % i, "org-%03d" % i) for i in range(a.agents)]
        d.start_broker()
        for m in members:
            d.start_agent(m)
        load = Load(d, pub)
        load.start()
        for run in range(1, a.runs + 1):
            time.sleep(a.load_s)
            b = d.broker
            t0 = time.monotonic()
            b.signal(signal.SIGTERM)
            killed = random.sample(members, int(len(members) * a.kill_agents))
            time.sleep(random.uniform(0.0, 0.3))
            for m in killed:
                d.agents[m.name].signal(signal.SIGKILL)
            rc = b.wait(30)
            took = time.monotonic() - t0
            text = b.text()
            verdict = "clean"
            if rc is None:
                verdict = "hung (killed)"
                b.kill()
            elif rc != 0:
                verdict = "exit status %s" % rc
            elif "stopped" not in text.splitlines()[-1]:
                verdict = "no 'stopped' line"
            for line in text.splitlines():
                if "Assertion failed" in line:
                    verdict = "assertion: " + line.strip()
            print("run %2d: %s in %.2f s (%d alerts published so far)" % (run, verdict, took, load.sent),
                  flush=True)
            if verdict != "clean":
                bad.append((run, verdict, b.log))
            d.start_broker()
            for m in killed:
                d.agents[m.name].wait(5)
                d.start_agent(m)
        load.stop_now = True
        load.join(10)
    finally:
        d.teardown_quiet = True
        for c in d.clients:
            c.close()
        for p in d.procs:
            p.close()
        d.ctx.term()
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("%d runs with %d agents under load: %d clean, %d not" % (a.runs, a.agents, a.runs - len(bad),
                                                                len(bad)))
    for run, verdict, log in bad:
        print("  run %d: %s (%s)" % (run, verdict, log))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
