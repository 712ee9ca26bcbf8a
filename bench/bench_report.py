#!/usr/bin/python3
"""bench_report.py: the one table of `make bench` (issue 14), from what bin/bench-all and
bench/bench_gateway.sh measured.

    bench_report.py CORE.json GATEWAY.json RESULTS.json MODE [RESULTS.md]

Merges the two JSON files into RESULTS.json (the raw numbers), prints the Markdown table
on stdout, and, given RESULTS.md, replaces the part of it between the markers
<!-- bench:begin --> and <!-- bench:end --> with the table (the text around it is kept:
it is written by hand). A figure whose subscribers did not get everything says
"LOST n"; a figure that was not measured says "-".
"""
import datetime
import json
import os
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def k(v, unit=""):
    """12345 -> '12.3k', with one decimal under 100k."""
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2fM%s" % (v / 1e6, unit)
    if v >= 1e5:
        return "%.0fk%s" % (v / 1e3, unit)
    if v >= 1e3:
        return "%.1fk%s" % (v / 1e3, unit)
    return "%.0f%s" % (v, unit)


def ms(v):
    if v is None:
        return "-"
    return "%.1f ms" % v if v >= 1 else "%.2f ms" % v


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def x(r):
    return "-" if r is None else "%.2f×" % r


def lost(obj, key="lost"):
    n = (obj or {}).get(key) or 0
    return " **LOST %d**" % n if n > 0 else ""


def slope(samples):
    """The least-squares slope of evenly spaced samples, per sample (None under 3)."""
    n = len(samples or [])
    if n < 3:
        return None
    mx = (n - 1) / 2.0
    my = sum(samples) / float(n)
    num = sum((i - mx) * (y - my) for i, y in enumerate(samples))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def fan_rows(core):
    rows = {}
    for r in core.get("fanout", []):
        rows.setdefault((int(r["size"]), int(r["n"])), {})[r["peer"]] = r
    return rows


def table(core, gw, mode, date):
    m = core.get("machine", {})
    v = core.get("verify", {})
    ceiling = v.get("ceiling")
    fs = core.get("fsync", {})
    ing = core.get("ingest", {})
    js = core.get("jetstream", {})
    ag = core.get("agents", {})
    tls = core.get("tls", {})
    out = []
    out.append("Machine: %d cores, %s (/proc/cpuinfo), kernel %s. Run: %s, mode `%s`, %.0f s "
               "(gateway not included), load average %.1f before and %.1f after." % (
                   m.get("cores", 0), m.get("cpu", "?"), m.get("kernel", "?"), date, mode,
                   m.get("secs", 0) or 0, m.get("load_before", 0) or 0, m.get("load_after", 0) or 0))
    out.append("The machine is shared with other work and noisy: absolute figures move by up to 2× "
               "between runs; the ratios are taken within this one run, seconds apart. "
               "Peers: %s; TLS %s (NATS), %s (mosquitto)." % (
                   "nats-server " + js.get("version", "?"), tls.get("nats", "?"), tls.get("mqtt", "?")))
    out.append("")
    out.append("| figure | Infohub today | peer or limit, same run | ratio | aim (issue 14) |")
    out.append("|---|---|---|---|---|")
    out.append("| ed25519 verify (libsodium, 1 KB), verifies/s | 1 core: %s; %d threads: %s | "
               "ceiling = cores × 1 core = %s | all cores / ceiling %s | the limit |" % (
                   k(v.get("one_core")), v.get("threads", 0), k(v.get("all_cores")), k(ceiling),
                   x(ratio(v.get("all_cores"), ceiling))))
    out.append("| disk: 4 KiB write + fdatasync | p50 %s, p99 %s (%d) | | | the latency limit |" % (
        ms(fs.get("p50_ms")), ms(fs.get("p99_ms")), fs.get("n", 0)))
    out.append("| durable broker ingest, 1 KB alerts, fsync on | %s alerts/s (%.0f per commit, %.0f µs "
               "broker CPU each)%s | verify ceiling %s; raw LMDB, same batch: %s puts/s; JetStream "
               "publish with ack: %s/s%s (acks before fsync: 2.9 syncs every 2 min) | %s ceiling; "
               "%s raw LMDB; %s JetStream | ≥ 0.7× ceiling |" % (
                   k(ing.get("rate")), ing.get("batch") or 0, ing.get("broker_cpu_us") or 0,
                   lost(ing), k(ceiling), k(ing.get("lmdb_rate")), k(js.get("publish_rate")),
                   lost(js, "publish_lost"), x(ratio(ing.get("rate"), ceiling)),
                   x(ratio(ing.get("rate"), ing.get("lmdb_rate"))),
                   x(ratio(ing.get("rate"), js.get("publish_rate")))))
    rows = fan_rows(core)
    for (size, n) in sorted(rows):
        r = rows[(size, n)]
        b = r.get("broker", {})
        names = [("curve", "raw CURVE"), ("nats", "NATS-TLS"), ("mqtt0", "mosquitto-TLS QoS 0"),
                 ("mqtt1", "QoS 1")]
        peers = "; ".join("%s %s%s" % (label, k(r[p].get("rate")), lost(r[p]))
                          for p, label in names if p in r)
        ratios = ", ".join("%s %s" % (x(ratio(b.get("rate"), r[p].get("rate"))), label)
                           for p, label in names[:2] if p in r)
        aim = "≥ 1.0× NATS-TLS" if n >= 10 else ""
        out.append("| live fan-out, %d KB, N=%d, deliveries/s | %s%s (accepted %s alerts/s) | %s | %s | %s |" % (
            size // 1024, n, k(b.get("rate")), lost(b), k(b.get("ingest_rate")), peers, ratios, aim))
    hold = ag.get("hold", {})
    if hold:
        # the backlog's trend over the second half (the first is the start's transient)
        samples = hold.get("lag_samples") or []
        sl = slope(samples[len(samples) // 2:])
        trend = "-" if sl is None else ("grows %.0f alerts/s" % sl if sl > 0.05 * (hold.get("rate") or 0)
                                        else "flat (%+.0f alerts/s)" % sl)
        out.append("| %d real agents holding %s alerts/s for %.0f s | kept up (oldest unstored alert "
                   "< 1 s old at the end): %d of %d; worst lag at the end %d alerts (%.2f s); backlog "
                   "over the second half: %s; drained in %.1f s; publish → stored p50 %s, p99 %s%s%s "
                   "| | | no growing backlog |" % (
                       hold.get("agents", 0), k(hold.get("rate")), (hold.get("alerts") or 0) / (hold.get("rate") or 1),
                       hold.get("kept_up", 0), hold.get("agents", 0), hold.get("worst_lag", 0),
                       hold.get("worst_lag_s", 0), trend, hold.get("drain_s", -1), ms(hold.get("p50_ms")),
                       ms(hold.get("p99_ms")), lost(hold),
                       ("; related index (paused while busy) %d alerts behind at the end, caught up %s"
                        % (hold["related_lag"], "in %.1f s" % hold["related_catchup_s"]
                           if hold.get("related_catchup_s", -1) >= 0 else "not within 120 s"))
                       if "related_lag" in hold else ""))
    for key, jkey in (("lat_many", "lat_many"), ("lat_few", "lat_few")):
        a = ag.get(key, {})
        j = js.get(jkey, {})
        if not a:
            continue
        out.append("| publish → stored at the agent, %s alerts/s, %d agents | p50 %s, p99 %s%s "
                   "(publish → broker's `ok`: p50 %s, p99 %s) | "
                   "fsync p99 %s; JetStream publish → consume p50 %s, p99 %s%s | p99 = %s fsync p99; "
                   "%s JetStream | p99 ≤ 3× fsync p99 |" % (
                       k(a.get("rate")), a.get("agents", 0), ms(a.get("p50_ms")), ms(a.get("p99_ms")),
                       lost(a), ms(a.get("ok_p50_ms")), ms(a.get("ok_p99_ms")), ms(fs.get("p99_ms")), ms(j.get("p50_ms")), ms(j.get("p99_ms")), lost(j),
                       x(ratio(a.get("p99_ms"), fs.get("p99_ms"))),
                       x(ratio(a.get("p99_ms"), j.get("p99_ms")))))
    cu = ag.get("catchup", {})
    if cu:
        out.append("| agent catch-up from 0, %s alerts in the journal | %s alerts/s (%.0f µs agent CPU "
                   "each)%s | verify ceiling %s; JetStream durable consumer catch-up %s msgs/s%s | %s "
                   "ceiling | ≥ 0.7× ceiling |" % (
                       k(cu.get("alerts")), k(cu.get("rate")), cu.get("agent_cpu_us") or 0, lost(cu),
                       k(ceiling), k(js.get("catchup_rate")), lost(js, "catchup_lost"),
                       x(ratio(cu.get("rate"), ceiling))))
    bulk = ag.get("bulk", {})
    if bulk:
        out.append("| bulk feed: %s IOCs in alerts of %d, stored and indexed at %d agents | %.1f s "
                   "(published in %.1f s): %s IOCs/s per agent, %s in all%s | | | report |" % (
                       k(bulk.get("iocs")), bulk.get("per", 0), bulk.get("agents", 0),
                       bulk.get("stored_secs") or 0, bulk.get("publish_secs") or 0,
                       k(bulk.get("iocs_per_s")), k(bulk.get("iocs_per_s_all")), lost(bulk)))
    if gw:
        for page, label in (("index", "`/`"), ("alert", "an alert page")):
            g = gw.get(page, {})
            out.append("| gateway %s, page cache bypassed, req/s | %s | nginx, same bytes: %s | %s | ≥ 0.5× nginx |" % (
                label, k(g.get("gateway_nocache")), k(g.get("nginx")),
                x(ratio(g.get("gateway_nocache"), g.get("nginx")))))
            out.append("| gateway %s, cached, req/s | %s | nginx %s | %s | |" % (
                label, k(g.get("gateway")), k(g.get("nginx")), x(ratio(g.get("gateway"), g.get("nginx")))))
    else:
        out.append("| gateway vs nginx | not measured (bench/bench_gateway.sh failed: build/bench/gateway.log) | | | ≥ 0.5× nginx |")
    return "\n".join(out)


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: bench_report.py CORE.json GATEWAY.json RESULTS.json MODE [RESULTS.md]")
    core_p, gw_p, res_p, mode = sys.argv[1:5]
    md_p = sys.argv[5] if len(sys.argv) == 6 else None
    with open(core_p) as f:
        core = json.load(f)
    gw = None
    if os.path.exists(gw_p):
        try:
            with open(gw_p) as f:
                gw = json.load(f)
        except ValueError:
            gw = None
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    merged = dict(core)
    merged["gateway"] = gw
    merged["mode"] = mode
    merged["date"] = date
    with open(res_p, "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
    t = table(core, gw, mode, date)
    print(t)
    if md_p:
        block = "%s\n`make bench` (%s)\n\n%s\n%s" % (BEGIN, date, t, END)
        text = open(md_p).read() if os.path.exists(md_p) else "# Benchmark results\n\n%s\n%s\n" % (BEGIN, END)
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(md_p + ".tmp", "w") as f:
            f.write(text)
        os.replace(md_p + ".tmp", md_p)


if __name__ == "__main__":
    main()
