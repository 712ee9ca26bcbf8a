#!/usr/bin/python3
"""Runs the reliability scenarios and prints the table (`make reliability`).

    tests/reliability/run.py                 every scenario, full mode (5,000 alerts, 60 s stops)
    tests/reliability/run.py --short         the short mode of `make test`
    tests/reliability/run.py --only kill     the scenarios whose name contains "kill"
    tests/reliability/run.py --list          the registry

Writes the table to build/reliability.md (--out), the processes' last log lines to
build/reliability-logs.txt, and keeps each scenario's deployment under build/reliability/
until the next run. Exits 1 when a scenario lost, duplicated or leaked anything, did not
recover, or failed (a scenario skipped for want of root does not count).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rlib  # noqa: E402
import scenarios  # noqa: E402,F401  (registers them)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="the short mode of make test")
    ap.add_argument("--only", action="append", default=[], help="scenarios whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--out", default=os.path.join(rlib.ROOT, "build", "reliability.md"))
    ap.add_argument("--base", default=os.path.join(rlib.ROOT, "build", "reliability"))
    a = ap.parse_args()
    if a.list:
        for s in rlib.SCENARIOS:
            print("%-70s %s" % (s.name, "pending: " + s.pending if s.pending else ""))
        return 0
    mode = rlib.Mode(short=a.short)
    todo = [s for s in rlib.SCENARIOS if s.fn and (not a.only or any(o in s.name for o in a.only))]
    pend = [s for s in rlib.SCENARIOS if s.pending and not a.only]
    rlib.clean(a.base)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    logs = os.path.splitext(a.out)[0] + "-logs.txt"
    open(logs, "w").close()
    print("reliability: %d scenarios, %r" % (len(todo), mode), flush=True)
    rows = []
    t0 = time.monotonic()
    for s in todo:
        t = time.monotonic()
        row = rlib.run_scenario(s, mode, a.base, keep_logs=logs)
        rows.append(row)
        print("  %-4s %s (%.0f s)" % ("ok" if row.ok() else "skip" if row.skipped() else "BAD",
                                      row.name, time.monotonic() - t),
              flush=True)
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    head = ("Reliability suite, %s mode: %d alerts a scenario (two publishers, four orgs, every "
            "TLP), stops of %.0f s; %s on %s, %.0f s in all.\n\n"
            % ("short" if mode.short else "full", mode.alerts, mode.stop_s, when,
               os.uname().nodename, time.monotonic() - t0))
    table = rlib.md_table(rows, pend)
    with open(a.out, "w") as f:
        f.write(head + table)
    print()
    print(head + table)
    print("written to %s (process logs: %s)" % (os.path.relpath(a.out, rlib.ROOT),
                                               os.path.relpath(logs, rlib.ROOT)))
    return 0 if all(r.ok() or r.skipped() for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
