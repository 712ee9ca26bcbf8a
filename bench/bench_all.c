/*  bench_all: the whole pipeline of issue 14 side by side with its peers and the machine's
    own limits, in one run (`make bench`, through bench/bench.sh).

    usage: bench-all            (everything sized by the environment; bench/bench.sh sets it)

    It measures, in this order (bench_all.h names the file of each):
      1. the machine: ed25519 verifies/s on one core and on every core (the verify
         ceiling), and the disk's raw fsync latency in the work directory;
      2. durable broker ingest against raw LMDB at the same batching;
      3. live fan-out at each N and size: the broker (counting subscribers that do not
         verify), raw libzmq CURVE with the broker's own frames, NATS-TLS, mosquitto-TLS at
         QoS 0 and 1; then NATS JetStream (publish with ack, a durable consumer catching
         up, publish -> consume latency);
      4. real agents: holding a rate, publish -> stored latency, catch-up from zero, a bulk
         feed.
    and writes BENCH_OUT (JSON). bench/bench_report.py makes the table from it.

    Everything binds and connects 127.0.0.1 only; every process it starts is stopped on
    exit, on SIGINT and on SIGTERM (the bench kit, ih_bench_proc.c).
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <math.h>
#include <sys/utsname.h>

#include "bench_all.h"

/* ---- helpers the phases share ------------------------------------------------------------- */
void
bench_num (json_t *obj, const char *key, double v)
{
    json_object_set_new (obj, key, isfinite (v) ? json_real (v) : json_null ());
}

json_t *
bench_obj (json_t *obj, const char *key)
{
    json_t *o = json_object_get (obj, key);
    if (!o) {
        o = json_object ();
        json_object_set_new (obj, key, o);
    }
    return o;
}

pid_t
bench_perf_start (const bench_cfg_t *cfg, const char *phase, pid_t pid)
{
    //  BENCH_PERF is a list of phases ("ingest catchup")
    bool named = false;
    size_t len = strlen (phase);
    for (const char *p = cfg->perf; p && (p = strstr (p, phase)); p += len)
        if ((p == cfg->perf || p [-1] == ' ' || p [-1] == ',')
        &&  (p [len] == 0 || p [len] == ' ' || p [len] == ','))
            named = true;
    if (!named)
        return 0;
    bench_say ("perf record on pid %d during %s", (int) pid, phase);
    return ih_bench_perf_start (cfg->perf_prefix, phase, pid);
}

void
bench_say (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char line [1024];
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    time_t now = time (NULL);
    struct tm tm;
    localtime_r (&now, &tm);
    fprintf (stderr, "bench %02d:%02d:%02d %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, line);
}

/* ---- the sizes ---------------------------------------------------------------------------- */
static long
s_env (const char *name, long def, long min, long max)
{
    const char *v = getenv (name);
    return v && *v ? ih_bench_arg_num (name, v, min, max) : def;
}

static double
s_envf (const char *name, double def, double min, double max)
{
    const char *v = getenv (name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    double d = strtod (v, &end);
    if (!end || *end || !(d >= min && d <= max))
        ih_bench_die ("%s: expected a number from %g to %g, got '%s'", name, min, max, v);
    return d;
}

//  A list of numbers ("1 10 100").
static size_t
s_envlist (const char *name, const char *def, size_t *out, size_t cap, long min, long max)
{
    const char *v = getenv (name);
    char buf [256];
    snprintf (buf, sizeof buf, "%s", v && *v ? v : def);
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r (buf, " ,", &save); t; t = strtok_r (NULL, " ,", &save)) {
        if (n == cap)
            ih_bench_die ("%s: at most %zu values", name, cap);
        out [n++] = (size_t) ih_bench_arg_num (name, t, min, max);
    }
    return n;
}

static void
s_config (bench_cfg_t *c)
{
    memset (c, 0, sizeof *c);
    c->work = getenv ("BENCH_WORK");
    if (!c->work || !*c->work)
        ih_bench_die ("BENCH_WORK: an empty directory is needed (bench/bench.sh makes one)");
    c->bindir = getenv ("BENCH_BIN") && *getenv ("BENCH_BIN") ? getenv ("BENCH_BIN") : "bin";
    c->perf = getenv ("BENCH_PERF") && *getenv ("BENCH_PERF") ? getenv ("BENCH_PERF") : NULL;
    c->perf_prefix = getenv ("BENCH_PERF_PREFIX") && *getenv ("BENCH_PERF_PREFIX")
                   ? getenv ("BENCH_PERF_PREFIX") : "build/bench/perf";
    c->ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    if (c->ncpu < 1)
        c->ncpu = 1;
    c->verify_secs = s_envf ("BENCH_VERIFY_SECS", 2, 0.1, 60);
    c->fsync_count = (size_t) s_env ("BENCH_FSYNC_COUNT", 1000, 10, 100000);
    c->ingest = (size_t) s_env ("BENCH_INGEST", 20000, 10, 1000000);
    c->inflight = (size_t) s_env ("BENCH_INFLIGHT", 1024, 1, 100000);
    c->pubs = (size_t) s_env ("BENCH_PUBS", 2, 1, IH_BENCH_MAX_PUBS);
    c->window = (uint32_t) s_env ("BENCH_WINDOW", 1000, 1, 10000);
    c->fan_nn = s_envlist ("BENCH_FANOUT_N", "1 10 100", c->fan_n, 8, 1, 120);
    c->fan_ns = s_envlist ("BENCH_FANOUT_SIZES", "1024 4096", c->fan_size, 4, 1024, 60000);
    c->fan_deliveries = (size_t) s_env ("BENCH_FANOUT_DELIVERIES", 400000, 10, 100000000);
    c->fan_min = (size_t) s_env ("BENCH_FANOUT_MIN", 2000, 1, 1000000);
    c->fan_max = (size_t) s_env ("BENCH_FANOUT_MAX", 20000, 1, 1000000);
    const char *peers = getenv ("BENCH_PEERS") && *getenv ("BENCH_PEERS") ? getenv ("BENCH_PEERS")
                      : "curve nats mqtt0 mqtt1";
    c->peer_curve = strstr (peers, "curve") != NULL;
    c->peer_nats = strstr (peers, "nats") != NULL;
    c->peer_mqtt0 = strstr (peers, "mqtt0") != NULL;
    c->peer_mqtt1 = strstr (peers, "mqtt1") != NULL;
    c->js_msgs = (size_t) s_env ("BENCH_JS_MSGS", 20000, 0, 1000000);
    c->agents = (size_t) s_env ("BENCH_AGENTS", 10, 1, 64);
    c->hold_rate = s_envf ("BENCH_HOLD_RATE", 1000, 1, 100000);
    c->hold_secs = s_envf ("BENCH_HOLD_SECS", 20, 1, 600);
    c->lat_secs = s_envf ("BENCH_LAT_SECS", 15, 1, 600);
    c->lat_rate_many = s_envf ("BENCH_LAT_RATE_MANY", 100, 1, 100000);
    c->lat_rate_few = s_envf ("BENCH_LAT_RATE_FEW", 1000, 1, 100000);
    c->lat_few = (size_t) s_env ("BENCH_LAT_FEW_AGENTS", 2, 1, 64);
    c->catchup_min = (size_t) s_env ("BENCH_CATCHUP_MIN", 20000, 0, 10000000);
    c->bulk_iocs = (size_t) s_env ("BENCH_BULK_IOCS", 1000000, 0, 100000000);
    c->bulk_per = (size_t) s_env ("BENCH_BULK_PER", 5000, 1, IH_MAX_IOCS);
    c->drain_secs = (int) s_env ("BENCH_DRAIN_SECS", 60, 1, 3600);
    c->idle_ms = (int) s_env ("BENCH_IDLE_MS", 10000, 100, 600000);
    c->skip_agents = s_env ("BENCH_SKIP_AGENTS", 0, 0, 1) == 1;
    if (c->lat_few > c->agents)
        c->lat_few = c->agents;
}

static void
s_config_json (const bench_cfg_t *c, json_t *o)
{
    json_t *j = bench_obj (o, "config");
    bench_num (j, "ingest", (double) c->ingest);
    bench_num (j, "inflight", (double) c->inflight);
    bench_num (j, "pubs", (double) c->pubs);
    bench_num (j, "window", (double) c->window);
    bench_num (j, "fanout_deliveries", (double) c->fan_deliveries);
    bench_num (j, "js_msgs", (double) c->js_msgs);
    bench_num (j, "agents", (double) c->agents);
    bench_num (j, "hold_rate", c->hold_rate);
    bench_num (j, "hold_secs", c->hold_secs);
    bench_num (j, "lat_secs", c->lat_secs);
    bench_num (j, "catchup_min", (double) c->catchup_min);
    bench_num (j, "bulk_iocs", (double) c->bulk_iocs);
    bench_num (j, "bulk_per", (double) c->bulk_per);
}

/* ---- main --------------------------------------------------------------------------------- */
int
main (int argc, char **argv)
{
    if (argc > 1) {
        fprintf (stderr, "usage: bench-all (sized by BENCH_* variables: see bench/bench.sh)\n");
        return 2;
    }
    ih_bench_init ("bench-all");
    ih_sign_init ();
    bench_cfg_t cfg;
    s_config (&cfg);
    bench_out_t out = { .root = json_object () };
    const char *path = getenv ("BENCH_OUT") && *getenv ("BENCH_OUT") ? getenv ("BENCH_OUT")
                     : "build/bench/core.json";

    //  The machine
    json_t *m = bench_obj (out.root, "machine");
    char model [256];
    ih_bench_cpu_model (model, sizeof model);
    struct utsname u;
    uname (&u);
    json_object_set_new (m, "cpu", json_string (model));
    bench_num (m, "cores", (double) cfg.ncpu);
    json_object_set_new (m, "kernel", json_string (u.release));
    double load [3] = { 0, 0, 0 };
    if (getloadavg (load, 3) == 3)
        bench_num (m, "load_before", load [0]);
    s_config_json (&cfg, out.root);

    bench_say ("verify ceiling: ed25519 on 1 and %ld threads, %.1f s each", cfg.ncpu, cfg.verify_secs);
    out.verify_one = ih_bench_verify_rate (1, cfg.verify_secs, 1024);
    out.verify_all = ih_bench_verify_rate ((int) cfg.ncpu, cfg.verify_secs, 1024);
    json_t *v = bench_obj (out.root, "verify");
    bench_num (v, "one_core", out.verify_one);
    bench_num (v, "all_cores", out.verify_all);
    bench_num (v, "ceiling", out.verify_one * (double) cfg.ncpu);
    bench_num (v, "threads", (double) cfg.ncpu);

    bench_say ("fsync: %zu x (4 KiB pwrite + fdatasync) in %s", cfg.fsync_count, cfg.work);
    ih_bench_fsync_lat (cfg.work, cfg.fsync_count, &out.fsync);
    json_t *f = bench_obj (out.root, "fsync");
    bench_num (f, "p50_ms", out.fsync.p50);
    bench_num (f, "p99_ms", out.fsync.p99);
    bench_num (f, "max_ms", out.fsync.max);
    bench_num (f, "n", (double) out.fsync.n);

    int64_t t0 = ih_bench_now_ns ();
    bench_fanout_all (&cfg, &out);
    if (json_dump_file (out.root, path, JSON_INDENT (1) | JSON_SORT_KEYS) != 0)
        ih_bench_die ("cannot write %s", path);
    if (!cfg.skip_agents)
        bench_agents_all (&cfg, &out);
    bench_num (m, "secs", (double) (ih_bench_now_ns () - t0) / 1e9);
    if (getloadavg (load, 3) == 3)
        bench_num (m, "load_after", load [0]);
    if (json_dump_file (out.root, path, JSON_INDENT (1) | JSON_SORT_KEYS) != 0)
        ih_bench_die ("cannot write %s", path);
    bench_say ("wrote %s", path);
    json_decref (out.root);
    return 0;
}
