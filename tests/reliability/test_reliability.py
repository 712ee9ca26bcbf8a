"""The reliability suite in short mode (issue 12, "The suite"): every registered fault
scenario (scenarios.py) on a fresh deployment with 700 alerts and 5 s stops, each asserted
to lose, duplicate and leak nothing, to recover, and to pass its own checks (the flood's
latency bound; a process that had to stop did so with one line). `make reliability` runs the same in full mode and prints
the table (run.py).

One more test checks the counting itself: a clean run, then a ledger that claims an alert
nobody received and relabels a CLEAR alert as RED for nobody: the row must show them lost
and leaked.
"""

import pytest

import rlib
import scenarios  # noqa: F401  (registers them)

MODE = rlib.Mode(short=True)


def logs_tail(path, n=6000):
    try:
        with open(path) as f:
            return f.read()[-n:]
    except OSError:
        return ""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sc", rlib.SCENARIOS, ids=lambda s: s.slug)
def test_scenario(sc, tmp_path):
    if sc.pending:
        pytest.skip("not built yet: " + sc.pending)
    logs = str(tmp_path / "processes.txt")
    row = rlib.run_scenario(sc, MODE, str(tmp_path), keep_logs=logs)
    if row.skipped():
        pytest.skip(row.error)
    rlib.RESULTS.append(row)
    print(rlib.md_table([row]))
    why = "\n%s\n%s" % (rlib.md_table([row]), logs_tail(logs))
    assert row.error is None, row.error + why
    assert row.published == row.sent >= MODE.alerts, \
        "published %d of %s (%d in the burst)%s" % (row.published, row.sent, MODE.alerts, why)
    assert not row.failures, "; ".join(row.failures) + why
    assert (row.lost, row.duplicated, row.leaked) == (0, 0, 0), \
        "lost %d, duplicated %d, leaked %d%s" % (row.lost, row.duplicated, row.leaked, why)
    assert row.recover_s is not None, "did not recover within %.0f s%s" % (MODE.recover_timeout, why)
    assert row.saw, "no line told the operator what happened" + why


@pytest.mark.timeout(120)
def test_the_counting_sees_loss_duplicates_and_leaks(tmp_path):
    mode = rlib.Mode(short=True)
    mode.alerts, mode.recover_timeout = 120, 2.0
    w = rlib.World(str(tmp_path / "w"), mode, name="control")
    try:
        w.start()
        w.burst()
        clean = w.row(saw="-")
        assert clean.ok() and clean.published == 120 and not clean.notes, rlib.md_table([clean])
        # an alert acknowledged but never delivered: lost at every holder (4 agents, the
        # gateway, the journal)
        p = w.publishers[0]
        ghost = rlib.make_alerts(p.member, "telco-b", 1, "ghost")[0]
        w.items[ghost[0]["id"]] = ghost[0]
        p.items.append(ghost)
        p.acked[len(p.items) - 1] = 10 ** 6
        # a CLEAR alert of bank-a's, said to be RED for nobody: held by the three other
        # agents and the gateway, so leaked 4 times
        i = next(i for i, (b, _, _) in enumerate(p.items) if b["tlp"] == "CLEAR")
        p.items[i][0].update(tlp="RED", recipients=["nobody-org"])
        # a resend that got another seq: a duplicate in the journal
        p.conflicts.append((0, 1, 2))
        bad = w.row(saw="-")
        assert bad.recover_s is None
        assert bad.lost == 6, rlib.md_table([bad])
        assert bad.leaked == 4, rlib.md_table([bad])
        assert bad.duplicated == 1, rlib.md_table([bad])
    finally:
        w.close()
