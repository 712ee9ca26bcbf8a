"""`make bench` runs (issue 14): its smallest mode (sh bench/bench.sh smoke) goes through
every phase, prints the one table and loses nothing. It checks that the bench works,
never how fast anything is.
"""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _missing_tools():
    need = ["nats-server", "mosquitto", "nginx", "wrk", "openssl", "curl"]
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [t for t in need if not shutil.which(t, path=path)]


@pytest.mark.timeout(600)
def test_bench_smoke_prints_the_table_and_loses_nothing(tmp_path):
    missing = _missing_tools()
    if missing:
        pytest.skip("not installed (make deps): " + " ".join(missing))
    # bin/bench-all is not part of `make all`; the objects it needs are
    subprocess.run(["make", "-s", "-j2", "bin/bench-all", "all"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    out = tmp_path / "out"
    env = dict(os.environ, BENCH_OUT_DIR=str(out), BENCH_RESULTS_MD="none")
    r = subprocess.run(["sh", "bench/bench.sh", "smoke"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=540)
    assert r.returncode == 0, r.stderr[-3000:]
    table = r.stdout
    assert "| figure | Infohub today | peer or limit, same run | ratio | aim (issue 14) |" in table
    assert "Machine: " in table and "cores" in table
    for row in ("durable broker ingest", "live fan-out, 1 KB, N=1,", "live fan-out, 1 KB, N=3,",
                "publish → stored at the agent", "agent catch-up from 0", "bulk feed",
                "gateway `/`, page cache bypassed"):
        assert row in table, row
    assert "LOST" not in table, table
    assert "not measured" not in table, table
    res = json.loads((out / "results.json").read_text())
    peers = {(r["peer"], int(r["n"])) for r in res["fanout"]}
    for p in ("broker", "curve", "nats", "mqtt0", "mqtt1"):
        assert (p, 1) in peers and (p, 3) in peers, p
    assert all(r["lost"] == 0 for r in res["fanout"]), res["fanout"]
    agents = res["agents"]
    for k in ("lat_few", "hold", "lat_many", "catchup", "bulk"):
        assert agents[k]["lost"] == 0, (k, agents[k])
    assert res["jetstream"]["publish_lost"] == 0 and res["jetstream"]["catchup_lost"] == 0
    assert res["gateway"]["index"]["gateway_nocache"] > 0
