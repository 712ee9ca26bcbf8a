/*  bench_all_agents.c: real agents (bin/infohub-agent run, each with its own store,
    enrolled by infohub-admin) on a deployment of their own (bench_all.h).

    In this order, so that each agent starts at the head and no phase pays for another's
    backlog:
      1. publish -> stored latency at BENCH_LAT_RATE_FEW (1,000/s) with BENCH_LAT_FEW_AGENTS
         (2) agents; then the other agents start and catch up (untimed);
      2. hold: every agent, BENCH_HOLD_RATE (1,000/s) for BENCH_HOLD_SECS: each agent's lag
         every second and at the end, and whether it kept up;
      3. publish -> stored latency at BENCH_LAT_RATE_MANY (100/s) with every agent;
      4. catch-up: the agents stop; the journal is topped up to BENCH_CATCHUP_MIN alerts; a
         new member's agent starts from zero and is timed until it holds the head;
      5. bulk: the agents start again (untimed catch-up), then BENCH_BULK_IOCS IOCs in alerts
         of BENCH_BULK_PER are published, timed until every agent has stored and indexed all.

    Publishing is the bench's own CURVE DEALER as member "pub", as `infohub-agent publish`
    does (ih_client_publish_wait), paced (ih_bench_paced_thread); the publish time of each
    alert is taken just before its send. "Stored" is when the agent's store holds the seq,
    seen by the watcher (ih_bench_agent.c says how: inotify on data.mdb, the cursor read in
    a read transaction). Every alert every agent did not store is counted as lost.
*/
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bench_all.h"
#include "ih_related.h"

static size_t s_next_alert = 10000000;      //  alert numbers: apart from the fan-out's

typedef struct {
    const bench_cfg_t *cfg;
    ih_bench_deploy_t *d;
    void *pctx;
    ih_bench_agent_t *agent;        //  cfg->agents of them, then the catch-up agent
    ih_bench_agent_t **ptr;
    size_t running;                 //  agent [0 .. running) run
} s_ctx_t;

static void
s_start_agents (s_ctx_t *x, size_t upto)
{
    for (size_t i = x->running; i < upto; i++) {
        char name [32];
        snprintf (name, sizeof name, "agent%zu", i + 1);
        //  keep the cursor history of an agent started before
        int64_t *ht = x->agent [i].hist_t;
        uint64_t *hc = x->agent [i].hist_c;
        size_t hn = x->agent [i].hist_n, hcap = x->agent [i].hist_cap;
        uint64_t cur = x->agent [i].cursor;
        ih_bench_agent_start (x->d, &x->agent [i], name);
        x->agent [i].hist_t = ht;
        x->agent [i].hist_c = hc;
        x->agent [i].hist_n = hn;
        x->agent [i].hist_cap = hcap;
        x->agent [i].cursor = cur;
    }
    x->running = upto > x->running ? upto : x->running;
}

static void
s_stop_agents (s_ctx_t *x)
{
    for (size_t i = 0; i < x->running; i++)
        ih_bench_agent_stop (&x->agent [i]);
    x->running = 0;
}

//  Waits (untimed) until the running agents hold the broker's head.
static void
s_settle (s_ctx_t *x, ih_bench_watch_t *w)
{
    uint64_t head = ih_bench_broker_head (x->d, x->pctx);
    if (!ih_bench_watch_wait (w, head, x->cfg->drain_secs * 1000))
        bench_say ("agents: not all at head %" PRIu64 " after %d s", head, x->cfg->drain_secs);
}

/*  The related index's watermark in *rel (opened on a's store the first time it is
    there; a read transaction each call): 0 while there is no index yet. */
static uint64_t
s_related_wm (const ih_bench_agent_t *a, ih_related_t **rel)
{
    ih_err_t err;
    if (!*rel)
        *rel = ih_related_open (a->store, false, &err);
    return *rel ? ih_related_watermark (*rel) : 0;
}

/*  After a hold: how far the agents' related indexes (paused while alerts came in faster
    than the agent calls busy: agents/ih_analytics.c) are behind the head, and how long
    they take to catch up with nothing more published (at most 120 s). */
static void
s_related_after (s_ctx_t *x, size_t nagents, uint64_t head, json_t *j)
{
    int64_t t0 = ih_bench_now_ns ();
    ih_related_t **rel = (ih_related_t **) calloc (nagents + 1, sizeof *rel);
    if (!rel)
        abort ();
    uint64_t lag = 0;
    for (size_t i = 0; i < nagents; i++) {
        uint64_t w = s_related_wm (&x->agent [i], &rel [i]);
        lag = head > w && head - w > lag ? head - w : lag;
    }
    double took = -1;
    while (ih_bench_now_ns () - t0 < 120000000000LL) {
        size_t done = 0;
        for (size_t i = 0; i < nagents; i++)
            done += s_related_wm (&x->agent [i], &rel [i]) >= head;
        if (done == nagents) {
            took = (double) (ih_bench_now_ns () - t0) / 1e9;
            break;
        }
        usleep (100000);
    }
    for (size_t i = 0; i < nagents; i++)
        ih_related_destroy (&rel [i]);
    free (rel);
    bench_num (j, "related_lag", (double) lag);
    bench_num (j, "related_catchup_s", took);
    bench_say ("agents: related index: %" PRIu64 " alerts behind at the end, caught up in %.1f s", lag, took);
}

/* ---- a paced run: latency, and for the hold phase the lags ---------------------------------- */
static void
s_paced (s_ctx_t *x, size_t nagents, double rate, double secs, const char *phase, json_t *j, bool hold)
{
    const bench_cfg_t *cfg = x->cfg;
    size_t count = (size_t) (rate * secs);
    if (count < 1)
        count = 1;
    ih_bench_alerts_t a;
    ih_bench_alerts_make (&a, count, s_next_alert, x->d->sign_pk, x->d->sign_sk);
    s_next_alert += count;
    bench_say ("agents: %s: %zu agents, %.0f alerts/s for %.0f s", phase, nagents, rate, secs);
    ih_bench_watch_t *w = ih_bench_watch_new (x->ptr, nagents);
    s_settle (x, w);
    void **pub = ih_bench_connect_pubs (x->d, x->pctx, 1);
    ih_bench_paced_t p = { .sock = pub [0], .alerts = &a, .rate = rate };
    p.t_send = calloc (count, sizeof *p.t_send);
    p.seq = calloc (count, sizeof *p.seq);
    p.t_ok = calloc (count, sizeof *p.t_ok);
    if (!p.t_send || !p.seq || !p.t_ok)
        abort ();
    uint64_t base = ih_bench_broker_head (x->d, x->pctx);
    double cpu0 = 0;
    for (size_t i = 0; i < nagents; i++)
        cpu0 += ih_bench_proc_cpu (x->agent [i].pid);
    double bcpu0 = ih_bench_proc_cpu (x->d->broker_pid);
    pid_t perf = bench_perf_start (cfg, phase, x->agent [0].pid);
    pid_t bperf = 0;
    char bphase [64];
    snprintf (bphase, sizeof bphase, "%s-broker", phase);
    bperf = bench_perf_start (cfg, bphase, x->d->broker_pid);
    pthread_t t;
    if (pthread_create (&t, NULL, ih_bench_paced_thread, &p))
        ih_bench_die ("cannot start a thread");
    json_t *samples = json_array ();
    if (hold) {
        //  the largest lag (alerts published and answered, not stored) each second
        int64_t next = ih_bench_now_ns () + 1000000000LL;
        while (*(volatile uint64_t *) &p.ok < count && p.rc == 0) {
            usleep (20000);
            if (ih_bench_now_ns () < next)
                continue;
            next += 1000000000LL;
            uint64_t head = base + *(volatile uint64_t *) &p.ok, worst = 0;
            for (size_t i = 0; i < nagents; i++) {
                uint64_t c = x->agent [i].cursor;
                worst = head > c && head - c > worst ? head - c : worst;
            }
            json_array_append_new (samples, json_integer ((json_int_t) worst));
        }
    }
    pthread_join (t, NULL);
    int64_t t_end = ih_bench_now_ns ();
    if (p.rc)
        ih_bench_die ("agents: %s: %s", phase, p.error);
    uint64_t head = 0;
    for (size_t i = 0; i < count; i++)
        head = p.seq [i] > head ? p.seq [i] : head;
    double pub_rate = (double) count / ((double) (p.t_last - p.t_first) / 1e9);
    //  At the end of publishing: each agent's lag, in alerts and in age of the oldest
    //  alert it did not hold yet
    json_t *lags = json_array (), *ages = json_array ();
    size_t kept = 0;
    double worst_age = 0;
    uint64_t worst_lag = 0;
    for (size_t i = 0; i < nagents; i++) {
        uint64_t c = x->agent [i].cursor;
        uint64_t lag = head > c ? head - c : 0;
        double age = 0;
        if (lag)
            for (size_t k = 0; k < count; k++)
                if (p.seq [k] == c + 1) {
                    age = (double) (t_end - p.t_send [k]) / 1e9;
                    break;
                }
        json_array_append_new (lags, json_integer ((json_int_t) lag));
        json_array_append_new (ages, json_real (age));
        kept += age < 1.0;
        worst_age = age > worst_age ? age : worst_age;
        worst_lag = lag > worst_lag ? lag : worst_lag;
    }
    int64_t t_drain0 = ih_bench_now_ns ();
    bool drained = ih_bench_watch_wait (w, head, cfg->drain_secs * 1000);
    double drain = (double) (ih_bench_now_ns () - t_drain0) / 1e9;
    ih_bench_perf_stop (&perf);
    ih_bench_perf_stop (&bperf);
    double cpu = 0;
    for (size_t i = 0; i < nagents; i++)
        cpu += ih_bench_proc_cpu (x->agent [i].pid);
    cpu -= cpu0;
    double bcpu = ih_bench_proc_cpu (x->d->broker_pid) - bcpu0;
    uint64_t wev = 0, wto = 0;
    ih_bench_watch_counts (w, &wev, &wto);
    ih_bench_watch_destroy (&w);
    //  publish -> stored, every agent, every alert
    double *ms = calloc (count * nagents, sizeof *ms);
    if (!ms)
        abort ();
    size_t k = 0, missing = 0;
    for (size_t i = 0; i < nagents; i++)
        for (size_t m = 0; m < count; m++) {
            int64_t seen = ih_bench_agent_seen (&x->agent [i], p.seq [m]);
            if (seen)
                ms [k++] = (double) (seen - p.t_send [m]) / 1e6;
            else
                missing++;
        }
    ih_bench_pct_t pc;
    ih_bench_pct (ms, k, &pc);
    //  publish -> `ok` (journaled by the broker), the first half of the path
    for (size_t m = 0; m < count; m++)
        ms [m] = (double) (p.t_ok [m] - p.t_send [m]) / 1e6;
    ih_bench_pct_t po;
    ih_bench_pct (ms, count, &po);
    bench_num (j, "ok_p50_ms", po.p50);
    bench_num (j, "ok_p99_ms", po.p99);
    bench_num (j, "agents", (double) nagents);
    bench_num (j, "rate", rate);
    bench_num (j, "alerts", (double) count);
    bench_num (j, "published_rate", pub_rate);
    bench_num (j, "p50_ms", pc.p50);
    bench_num (j, "p99_ms", pc.p99);
    bench_num (j, "max_ms", pc.max);
    bench_num (j, "n", (double) k);
    bench_num (j, "lost", (double) missing);
    bench_num (j, "agent_cpu_us", cpu * 1e6 / (double) (count * nagents));
    bench_num (j, "broker_cpu_us", bcpu * 1e6 / (double) count);
    bench_num (j, "watch_events", (double) wev);
    bench_num (j, "watch_timeouts", (double) wto);
    if (hold) {
        json_object_set_new (j, "lag_end", lags);
        json_object_set_new (j, "lag_end_s", ages);
        json_object_set_new (j, "lag_samples", samples);
        bench_num (j, "kept_up", (double) kept);
        bench_num (j, "worst_lag", (double) worst_lag);
        bench_num (j, "worst_lag_s", worst_age);
        bench_num (j, "drain_s", drained ? drain : -1);
    }
    else {
        json_decref (lags);
        json_decref (ages);
        json_decref (samples);
    }
    if (hold)
        s_related_after (x, nagents, head, j);
    bench_say ("agents: %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms%s", phase, pc.p50, pc.p99, pc.max,
               hold ? "" : "");
    if (hold)
        bench_say ("agents: %s: %zu of %zu kept up; worst lag at the end %" PRIu64 " alerts "
                   "(%.2f s); drained in %.1f s", phase, kept, nagents, worst_lag, worst_age, drain);
    free (ms);
    free (p.t_send);
    free (p.t_ok);
    free (p.seq);
    ih_bench_close_socks (pub, 1);
    ih_bench_alerts_free (&a);
}

/* ---- catch-up ------------------------------------------------------------------------------ */
static void
s_catchup (s_ctx_t *x, json_t *j)
{
    const bench_cfg_t *cfg = x->cfg;
    uint64_t head = ih_bench_broker_head (x->d, x->pctx);
    if (head < cfg->catchup_min) {
        size_t more = cfg->catchup_min - head;
        bench_say ("catch-up: topping the journal up with %zu alerts", more);
        ih_bench_alerts_t a;
        ih_bench_alerts_make (&a, more, s_next_alert, x->d->sign_pk, x->d->sign_sk);
        s_next_alert += more;
        void **pubs = ih_bench_connect_pubs (x->d, x->pctx, cfg->pubs);
        ih_bench_pubrun_t pr = { .socks = pubs, .n = cfg->pubs, .alerts = &a, .inflight = cfg->inflight };
        pthread_t pt;
        if (pthread_create (&pt, NULL, ih_bench_pubs_thread, &pr))
            ih_bench_die ("cannot start a thread");
        pthread_join (pt, NULL);
        if (pr.rc || pr.errors)
            ih_bench_die ("catch-up: %s", pr.error);
        ih_bench_close_socks (pubs, cfg->pubs);
        ih_bench_alerts_free (&a);
        head = ih_bench_broker_head (x->d, x->pctx);
    }
    bench_say ("catch-up: a new agent from 0 to %" PRIu64, head);
    ih_bench_agent_t *cu = &x->agent [cfg->agents];
    int64_t t0 = ih_bench_now_ns ();
    ih_bench_agent_start (x->d, cu, "catchup");
    ih_bench_watch_t *w = ih_bench_watch_new (&x->ptr [cfg->agents], 1);
    pid_t perf = bench_perf_start (cfg, "catchup", cu->pid);
    bool done = ih_bench_watch_wait (w, head, cfg->drain_secs * 10000);
    ih_bench_perf_stop (&perf);
    double cpu = ih_bench_proc_cpu (cu->pid);
    ih_bench_watch_destroy (&w);
    int64_t t1 = ih_bench_agent_seen (cu, head);
    double secs = (double) ((done ? t1 : ih_bench_now_ns ()) - t0) / 1e9;
    uint64_t got = cu->cursor;
    bench_num (j, "alerts", (double) head);
    bench_num (j, "secs", secs);
    bench_num (j, "rate", (double) got / secs);
    bench_num (j, "agent_cpu_us", cpu * 1e6 / (double) (got ? got : 1));
    bench_num (j, "lost", (double) (head - got));
    bench_say ("catch-up: %.0f alerts/s (%" PRIu64 " in %.1f s)", (double) got / secs, got, secs);
    ih_bench_agent_stop (cu);
}

/* ---- bulk ---------------------------------------------------------------------------------- */
static void
s_bulk (s_ctx_t *x, json_t *j)
{
    const bench_cfg_t *cfg = x->cfg;
    size_t count = (cfg->bulk_iocs + cfg->bulk_per - 1) / cfg->bulk_per;
    bench_say ("bulk: making %zu alerts of %zu IOCs", count, cfg->bulk_per);
    ih_bench_alerts_t a;
    ih_bench_alerts_bulk (&a, count, s_next_alert, cfg->bulk_per, x->d->sign_pk, x->d->sign_sk);
    s_next_alert += count;
    double bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += (double) a.bodies [i].len;
    s_start_agents (x, cfg->agents);
    ih_bench_watch_t *w = ih_bench_watch_new (x->ptr, cfg->agents);
    s_settle (x, w);
    bench_say ("bulk: %zu IOCs to %zu agents", count * cfg->bulk_per, cfg->agents);
    void **pubs = ih_bench_connect_pubs (x->d, x->pctx, 1);
    ih_bench_pubrun_t pr = { .socks = pubs, .n = 1, .alerts = &a, .inflight = 16 };
    pid_t perf = bench_perf_start (cfg, "bulk", x->agent [0].pid);
    pid_t bperf = bench_perf_start (cfg, "bulk-broker", x->d->broker_pid);
    pthread_t pt;
    if (pthread_create (&pt, NULL, ih_bench_pubs_thread, &pr))
        ih_bench_die ("cannot start a thread");
    pthread_join (pt, NULL);
    if (pr.rc || pr.errors)
        ih_bench_die ("bulk: %s", pr.error);
    bool done = ih_bench_watch_wait (w, pr.max_seq, cfg->drain_secs * 10000);
    ih_bench_perf_stop (&perf);
    ih_bench_perf_stop (&bperf);
    ih_bench_watch_destroy (&w);
    double worst = 0, best = 1e18;
    uint64_t lost = 0;
    for (size_t i = 0; i < cfg->agents; i++) {
        int64_t t = ih_bench_agent_seen (&x->agent [i], pr.max_seq);
        double s = t ? (double) (t - pr.t_first) / 1e9 : (double) (ih_bench_now_ns () - pr.t_first) / 1e9;
        worst = s > worst ? s : worst;
        best = s < best ? s : best;
        if (!t) {
            uint64_t c = x->agent [i].cursor;
            lost += (pr.max_seq > c ? pr.max_seq - c : 0) * cfg->bulk_per;
        }
    }
    double iocs = (double) count * (double) cfg->bulk_per;
    bench_num (j, "iocs", iocs);
    bench_num (j, "alerts", (double) count);
    bench_num (j, "per", (double) cfg->bulk_per);
    bench_num (j, "agents", (double) cfg->agents);
    bench_num (j, "body_bytes", bytes / (double) count);
    bench_num (j, "publish_secs", (double) (pr.t_last - pr.t_first) / 1e9);
    bench_num (j, "stored_secs", worst);
    bench_num (j, "first_agent_secs", best);
    bench_num (j, "iocs_per_s", iocs / worst);
    bench_num (j, "iocs_per_s_all", iocs * (double) cfg->agents / worst);
    bench_num (j, "lost", (double) lost);
    bench_say ("bulk: published in %.1f s; stored and indexed at %zu agents in %.1f s%s",
               (double) (pr.t_last - pr.t_first) / 1e9, cfg->agents, worst, done ? "" : " (not all)");
    ih_bench_close_socks (pubs, 1);
    ih_bench_alerts_free (&a);
}

/* ---- the whole ------------------------------------------------------------------------------ */
void
bench_agents_all (const bench_cfg_t *cfg, bench_out_t *out)
{
    ih_bench_deploy_t d;
    memset (&d, 0, sizeof d);
    char work [4200];
    snprintf (work, sizeof work, "%s/agents", cfg->work);
    if (mkdir (work, 0700) != 0)
        ih_bench_die ("mkdir %s: %s", work, strerror (errno));
    d.work = work;
    d.bindir = cfg->bindir;
    d.nsubs = 0;
    bench_say ("agents: deployment with %zu agents", cfg->agents);
    ih_bench_deploy (&d);
    s_ctx_t x = { .cfg = cfg, .d = &d };
    x.agent = calloc (cfg->agents + 1, sizeof *x.agent);
    x.ptr = calloc (cfg->agents + 1, sizeof *x.ptr);
    if (!x.agent || !x.ptr)
        abort ();
    for (size_t i = 0; i <= cfg->agents; i++) {
        char name [32];
        if (i < cfg->agents)
            snprintf (name, sizeof name, "agent%zu", i + 1);
        else
            snprintf (name, sizeof name, "catchup");
        ih_bench_member_add (&d, name, "reader");
        x.ptr [i] = &x.agent [i];
    }
    x.pctx = zmq_ctx_new ();
    ih_bench_broker_start (&d, x.pctx);
    json_t *j = bench_obj (out->root, "agents");

    s_start_agents (&x, cfg->lat_few);
    s_paced (&x, cfg->lat_few, cfg->lat_rate_few, cfg->lat_secs, "lat_few", bench_obj (j, "lat_few"), false);
    s_start_agents (&x, cfg->agents);
    s_paced (&x, cfg->agents, cfg->hold_rate, cfg->hold_secs, "hold", bench_obj (j, "hold"), true);
    s_paced (&x, cfg->agents, cfg->lat_rate_many, cfg->lat_secs, "lat_many", bench_obj (j, "lat_many"), false);
    s_stop_agents (&x);
    s_catchup (&x, bench_obj (j, "catchup"));
    if (cfg->bulk_iocs)
        s_bulk (&x, bench_obj (j, "bulk"));
    s_stop_agents (&x);
    ih_bench_broker_stop (&d);
    for (size_t i = 0; i <= cfg->agents; i++)
        ih_bench_agent_free (&x.agent [i]);
    free (x.agent);
    free (x.ptr);
    ih_bench_deploy_free (&d);
    zmq_ctx_term (x.pctx);
}
