/*  bench_all_fanout.c: durable ingest against raw LMDB, live fan-out (the broker, raw
    CURVE, NATS-TLS, mosquitto-TLS) and NATS JetStream, on one deployment with as many
    readers as the largest N (bench_all.h).

    Broker fan-out: N DEALER sessions of N reader members (CURVE, status answered first so
    that handshakes are done), hello at the journal's head, welcome; then the publishers
    send M alerts (cfg pubs connections, cfg inflight in flight) and the run is timed from
    the first publish until every subscriber holds every seq. The subscribers decode each
    deliver, check seqs (no gap, no duplicate), count and acknowledge; they do not verify:
    this is the transport and the broker, not the agents. Subscriber 0 keeps the frames,
    which raw CURVE then sends to N SUBs as they are (the transport's ceiling). NATS and
    mosquitto get the same alerts' `publish` envelopes, one message each, which their
    subscribers decode and check the same way (ih_bench_fan_run).
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

static size_t s_next_alert = 0;     //  alert numbers already used (ids and IOCs differ)

static void
s_alerts (ih_bench_deploy_t *d, ih_bench_alerts_t *a, size_t count, size_t size)
{
    ih_bench_alerts_make_sized (a, count, s_next_alert, size, d->sign_pk, d->sign_sk);
    s_next_alert += count;
}

/* ---- durable ingest and raw LMDB ------------------------------------------------------------ */
static void
s_ingest (const bench_cfg_t *cfg, ih_bench_deploy_t *d, void *pctx, bench_out_t *out)
{
    json_t *j = bench_obj (out->root, "ingest");
    ih_bench_alerts_t a;
    s_alerts (d, &a, cfg->ingest, 1024);
    bench_say ("durable ingest: %zu alerts of 1 KiB, %zu connections, %zu in flight",
               cfg->ingest, cfg->pubs, cfg->inflight);
    void **pubs = ih_bench_connect_pubs (d, pctx, cfg->pubs);
    ih_bench_pubrun_t pr = { .socks = pubs, .n = cfg->pubs, .alerts = &a, .inflight = cfg->inflight };
    uint64_t tx0 = ih_bench_journal_txnid (d->journal);
    double cpu0 = ih_bench_proc_cpu (d->broker_pid);
    pid_t perf = bench_perf_start (cfg, "ingest", d->broker_pid);
    pthread_t pt;
    if (pthread_create (&pt, NULL, ih_bench_pubs_thread, &pr))
        ih_bench_die ("cannot start a thread");
    pthread_join (pt, NULL);
    ih_bench_perf_stop (&perf);
    if (pr.rc || pr.errors)
        ih_bench_die ("ingest: %s", pr.error);
    double cpu = ih_bench_proc_cpu (d->broker_pid) - cpu0;
    uint64_t commits = ih_bench_journal_txnid (d->journal) - tx0;
    double secs = (double) (pr.t_last - pr.t_first) / 1e9;
    double rate = (double) a.count / secs, batch = commits ? (double) a.count / (double) commits : 0;
    ih_bench_close_socks (pubs, cfg->pubs);
    bench_num (j, "alerts", (double) a.count);
    bench_num (j, "rate", rate);
    bench_num (j, "secs", secs);
    bench_num (j, "batch", batch);
    bench_num (j, "broker_cpu_us", cpu * 1e6 / (double) a.count);
    bench_num (j, "lost", (double) (a.count - pr.ok));
    //  Raw LMDB with the journal's own records, the broker idle: same batch, three times
    ih_bench_frames_t vals = { 0 };
    ih_bench_journal_values (d->journal, &vals);
    size_t b = (size_t) (batch + 0.5);
    b = b < 1 ? 1 : b;
    double r [3];
    for (int k = 0; k < 3; k++) {
        char dir [4300];
        snprintf (dir, sizeof dir, "%s/raw-lmdb-%d", d->work, k);
        r [k] = ih_bench_raw_lmdb (dir, &vals, 0, 0, vals.n, b);
    }
    double med = r [0] > r [1] ? (r [1] > r [2] ? r [1] : r [0] > r [2] ? r [2] : r [0])
                               : (r [0] > r [2] ? r [0] : r [1] > r [2] ? r [2] : r [1]);
    bench_num (j, "lmdb_rate", med);
    bench_num (j, "lmdb_batch", (double) b);
    bench_say ("ingest: %.0f alerts/s (%.0f per commit); raw LMDB at that batch %.0f puts/s",
               rate, batch, med);
    ih_bench_frames_free (&vals);
    ih_bench_alerts_free (&a);
}

/* ---- fan-out -------------------------------------------------------------------------------- */
static json_t *
s_row (json_t *rows, size_t size, size_t n, size_t msgs, const char *peer)
{
    json_t *r = json_object ();
    bench_num (r, "size", (double) size);
    bench_num (r, "n", (double) n);
    bench_num (r, "msgs", (double) msgs);
    json_object_set_new (r, "peer", json_string (peer));
    json_array_append_new (rows, r);
    return r;
}

static void
s_fan_broker (const bench_cfg_t *cfg, ih_bench_deploy_t *d, void *sctx, void *pctx, size_t n,
              const ih_bench_alerts_t *a, ih_bench_frames_t *capture, json_t *row, uint64_t *first)
{
    uint64_t head = ih_bench_broker_head (d, pctx);
    *first = head + 1;
    void **subs = ih_bench_connect_subs_n (d, sctx, n);
    ih_bench_hello_all (subs, n, head, cfg->window);
    ih_bench_expect_all (subs, n, IH_T_WELCOME, NULL, 20000);
    void **pubs = ih_bench_connect_pubs (d, pctx, cfg->pubs);
    ih_bench_sub_t *sub = calloc (n, sizeof *sub);
    if (!sub)
        abort ();
    for (size_t i = 0; i < n; i++)
        sub [i] = (ih_bench_sub_t) { .sock = subs [i], .expect = head + 1, .last = head + a->count,
                                     .capture = i == 0 ? capture : NULL };
    ih_bench_subrun_t sr = { .subs = sub, .n = n, .ack = true, .idle_ms = cfg->idle_ms };
    ih_bench_pubrun_t pr = { .socks = pubs, .n = cfg->pubs, .alerts = a, .inflight = cfg->inflight };
    char phase [64];
    snprintf (phase, sizeof phase, "fanout-%zu-%zu", (size_t) a->bodies [0].len, n);
    pid_t perf = bench_perf_start (cfg, phase, d->broker_pid);
    double cpu0 = ih_bench_proc_cpu (d->broker_pid);
    int rc = ih_bench_run_threads_counted (&sr, &pr);
    double cpu = ih_bench_proc_cpu (d->broker_pid) - cpu0;
    ih_bench_perf_stop (&perf);
    uint64_t got = 0;
    for (size_t i = 0; i < n; i++)
        got += sub [i].items;
    uint64_t want = (uint64_t) a->count * n;
    double secs = (double) ((rc ? sr.t_last : sr.t_done) - pr.t_first) / 1e9;
    bench_num (row, "rate", secs > 0 ? (double) got / secs : 0);
    bench_num (row, "secs", secs);
    bench_num (row, "lost", (double) (want - got));
    bench_num (row, "server_cpu", cpu);
    bench_num (row, "ingest_rate", (double) a->count / ((double) (pr.t_last - pr.t_first) / 1e9));
    bench_num (row, "items_per_frame", sub [0].frames ? (double) sub [0].items / (double) sub [0].frames : 0);
    if (rc)
        json_object_set_new (row, "note", json_string (sr.error));
    ih_bench_close_socks (pubs, cfg->pubs);
    ih_bench_close_subs (subs, n);
    free (sub);
}

static void
s_fan_result (json_t *row, double rate, double secs, uint64_t lost, double cpu, const char *note)
{
    bench_num (row, "rate", rate);
    bench_num (row, "secs", secs);
    bench_num (row, "lost", (double) lost);
    bench_num (row, "server_cpu", cpu);
    if (note && *note)
        json_object_set_new (row, "note", json_string (note));
}

/* ---- JetStream ------------------------------------------------------------------------------ */
//  The stream seq in a JetStream delivery's reply subject: $JS.ACK.STREAM.CONSUMER.DELIVERED.SSEQ...
static uint64_t
s_js_sseq (const char *reply)
{
    const char *p = reply;
    for (int dots = 0; dots < 5 && p; dots++) {
        p = strchr (p, '.');
        if (p)
            p++;
    }
    return p ? strtoull (p, NULL, 10) : 0;
}

typedef struct {
    ih_bench_nats_t *n;
    uint64_t base;                  //  stream seq before the run
    size_t count;
    int64_t *t_recv;
    volatile int stop;
    size_t got;
} s_jslat_t;

static void *
s_jslat_thread (void *arg)
{
    s_jslat_t *l = (s_jslat_t *) arg;
    while (l->got < l->count && !l->stop) {
        ih_bench_nats_msg_t m;
        int rc = ih_bench_nats_next (l->n, &m, 100);
        if (rc < 0)
            break;
        if (rc == 0 || m.hdr_len)
            continue;
        int64_t t = ih_bench_now_ns ();
        uint64_t s = s_js_sseq (m.reply);
        if (s > l->base && s <= l->base + l->count && l->t_recv [s - l->base - 1] == 0) {
            l->t_recv [s - l->base - 1] = t;
            l->got++;
        }
    }
    return NULL;
}

static void
s_js_delete (ih_bench_nats_t *n, const char *cname)
{
    char api [128], ans [1024];
    snprintf (api, sizeof api, "$JS.API.CONSUMER.DELETE.BENCH.%s", cname);
    if (ih_bench_nats_request (n, api, "", "_INBOX.bench.api", ans, sizeof ans, 10000))
        ih_bench_die ("jetstream: delete consumer %s: %s", cname, ans);
}

//  Publishes count alerts (cycling through a) at rate/s with acknowledgement, a push
//  consumer on another connection receiving; the latencies (ms) go into j.
static void
s_js_latency (const bench_cfg_t *cfg, int port, SSL_CTX *ctx, ih_bench_nats_t *n,
              const ih_bench_alerts_t *a, double rate, uint64_t *stream_seq, const char *cname,
              json_t *j)
{
    size_t count = (size_t) (rate * cfg->lat_secs);
    s_jslat_t l = { .base = *stream_seq, .count = count };
    l.t_recv = calloc (count ? count : 1, sizeof *l.t_recv);
    int64_t *t_send = calloc (count ? count : 1, sizeof *t_send);
    if (!l.t_recv || !t_send)
        abort ();
    l.n = ih_bench_nats_connect (port, ctx, "bench-js-lat");
    char deliver [64], api [128], json [512], ans [1024];
    snprintf (deliver, sizeof deliver, "bench.deliver.%s", cname);
    if (!l.n || ih_bench_nats_sub (l.n, deliver, 1) || ih_bench_nats_ping (l.n, 5000))
        ih_bench_die ("jetstream: the consumer's connection failed");
    snprintf (api, sizeof api, "$JS.API.CONSUMER.DURABLE.CREATE.BENCH.%s", cname);
    snprintf (json, sizeof json, "{\"stream_name\":\"BENCH\",\"config\":{\"durable_name\":\"%s\","
              "\"deliver_subject\":\"%s\",\"deliver_policy\":\"new\",\"ack_policy\":\"none\"}}",
              cname, deliver);
    if (ih_bench_nats_request (n, api, json, "_INBOX.bench.api", ans, sizeof ans, 10000))
        ih_bench_die ("jetstream: consumer %s: %s", cname, ans);
    pthread_t t;
    if (pthread_create (&t, NULL, s_jslat_thread, &l))
        ih_bench_die ("cannot start a thread");
    int64_t t0 = ih_bench_now_ns ();
    size_t acked = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t due = t0 + (int64_t) ((double) i * 1e9 / rate);
        while (ih_bench_now_ns () < due) {
            ih_bench_nats_msg_t m;
            int left = (int) ((due - ih_bench_now_ns ()) / 1000000);
            if (ih_bench_nats_next (n, &m, left < 1 ? 1 : left) == 1
            &&  streq (m.subject, "_INBOX.bench.ack"))
                acked++;
        }
        const ih_buf_t *e = &a->envs [i % a->count];
        t_send [i] = ih_bench_now_ns ();
        if (ih_bench_nats_pub (n, "bench.js", "_INBOX.bench.ack", e->data, e->len)
        ||  ih_bench_conn_flush (n->c))
            ih_bench_die ("jetstream: publish: %s", n->c->error);
    }
    int64_t give_up = ih_bench_now_ns () + (int64_t) cfg->idle_ms * 1000000;
    while ((acked < count || l.got < count) && ih_bench_now_ns () < give_up) {
        ih_bench_nats_msg_t m;
        if (ih_bench_nats_next (n, &m, 10) == 1 && streq (m.subject, "_INBOX.bench.ack"))
            acked++;
    }
    l.stop = 1;
    pthread_join (t, NULL);
    s_js_delete (n, cname);
    double *ms = calloc (count ? count : 1, sizeof *ms);
    if (!ms)
        abort ();
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (l.t_recv [i])
            ms [k++] = (double) (l.t_recv [i] - t_send [i]) / 1e6;
    ih_bench_pct_t p;
    ih_bench_pct (ms, k, &p);
    bench_num (j, "rate", rate);
    bench_num (j, "p50_ms", p.p50);
    bench_num (j, "p99_ms", p.p99);
    bench_num (j, "max_ms", p.max);
    bench_num (j, "n", (double) k);
    bench_num (j, "lost", (double) (count - k));
    *stream_seq += count;
    bench_say ("jetstream latency at %.0f/s: p50 %.2f ms, p99 %.2f ms (%zu of %zu)", rate, p.p50,
               p.p99, k, count);
    ih_bench_nats_destroy (&l.n);
    free (ms);
    free (l.t_recv);
    free (t_send);
}

static void
s_jetstream (const bench_cfg_t *cfg, ih_bench_deploy_t *d, int port, SSL_CTX *ctx, pid_t server,
             bench_out_t *out)
{
    json_t *j = bench_obj (out->root, "jetstream");
    size_t count = cfg->js_msgs;
    ih_bench_alerts_t a;
    s_alerts (d, &a, count, 1024);
    ih_bench_nats_t *n = ih_bench_nats_connect (port, ctx, "bench-js");
    if (!n || ih_bench_nats_sub (n, "_INBOX.bench.>", 1) || ih_bench_nats_ping (n, 5000))
        ih_bench_die ("jetstream: cannot connect");
    const char *v = strstr (n->info, "\"version\":\"");
    char version [32] = "?";
    if (v)
        snprintf (version, sizeof version, "%.*s", (int) strcspn (v + 11, "\""), v + 11);
    json_object_set_new (j, "version", json_string (version));
    char ans [1024];
    if (ih_bench_nats_request (n, "$JS.API.STREAM.CREATE.BENCH",
                               "{\"name\":\"BENCH\",\"subjects\":[\"bench.js\"],\"storage\":\"file\","
                               "\"retention\":\"limits\",\"discard\":\"old\",\"num_replicas\":1}",
                               "_INBOX.bench.api", ans, sizeof ans, 10000))
        ih_bench_die ("jetstream: stream: %s", ans);
    //  1. publish with acknowledgement, inflight at a time, as the broker's publishers
    bench_say ("jetstream: %zu publishes with ack, %zu in flight", count, cfg->inflight);
    double cpu0 = ih_bench_proc_cpu (server);
    int64_t t0 = ih_bench_now_ns (), moved = t0;
    size_t sent = 0, acked = 0, errors = 0;
    while (acked < count) {
        while (sent < count && sent - acked < cfg->inflight) {
            const ih_buf_t *e = &a.envs [sent];
            if (ih_bench_nats_pub (n, "bench.js", "_INBOX.bench.ack", e->data, e->len))
                ih_bench_die ("jetstream: publish: %s", n->c->error);
            sent++;
        }
        if (ih_bench_conn_flush (n->c))
            ih_bench_die ("jetstream: publish: %s", n->c->error);
        ih_bench_nats_msg_t m;
        int rc = ih_bench_nats_next (n, &m, 100);
        if (rc < 0)
            ih_bench_die ("jetstream: %s", n->c->error);
        if (rc == 1 && streq (m.subject, "_INBOX.bench.ack")) {
            acked++;
            moved = ih_bench_now_ns ();
            if (m.hdr_len || memmem (m.data, m.len, "\"error\"", 7))
                errors++;
        }
        if (ih_bench_now_ns () - moved > (int64_t) cfg->idle_ms * 1000000)
            break;
    }
    double secs = (double) (ih_bench_now_ns () - t0) / 1e9;
    bench_num (j, "publish_rate", (double) acked / secs);
    bench_num (j, "publish_cpu", ih_bench_proc_cpu (server) - cpu0);
    bench_num (j, "publish_lost", (double) (count - acked + errors));
    bench_num (j, "msgs", (double) count);
    bench_say ("jetstream: %.0f acknowledged publishes/s", (double) acked / secs);
    //  2. a durable push consumer from the start, cumulative acks, 1,000 unacknowledged at
    //  most (as an agent's window); its creation and its deliveries share the connection.
    //  Deliveries keep their subject (bench.js): they are told apart by their sid
    if (ih_bench_nats_sub (n, "bench.deliver.c1", 2) || ih_bench_nats_ping (n, 5000))
        ih_bench_die ("jetstream: subscribe");
    const char *c1 = "{\"stream_name\":\"BENCH\",\"config\":{\"durable_name\":\"C1\","
                     "\"deliver_subject\":\"bench.deliver.c1\",\"deliver_policy\":\"all\","
                     "\"ack_policy\":\"all\",\"max_ack_pending\":1000}}";
    cpu0 = ih_bench_proc_cpu (server);
    t0 = moved = ih_bench_now_ns ();
    if (ih_bench_nats_pub (n, "$JS.API.CONSUMER.DURABLE.CREATE.BENCH.C1", "_INBOX.bench.api", c1,
                           strlen (c1)) || ih_bench_conn_flush (n->c))
        ih_bench_die ("jetstream: consumer: %s", n->c->error);
    size_t got = 0, disorder = 0;
    uint64_t expect = 1;
    int64_t t_last = t0;
    while (got < acked) {
        ih_bench_nats_msg_t m;
        int rc = ih_bench_nats_next (n, &m, 100);
        if (rc < 0)
            ih_bench_die ("jetstream: %s", n->c->error);
        if (rc == 1 && streq (m.subject, "_INBOX.bench.api")) {
            if (memmem (m.data, m.len, "\"error\"", 7))
                ih_bench_die ("jetstream: consumer: %.*s", (int) m.len, (const char *) m.data);
        }
        else
        if (rc == 1 && m.sid == 2 && !m.hdr_len) {
            ih_env_t e;
            ih_err_t err;
            if (ih_env_decode (&e, m.data, m.len, &err) == 0) {
                if (e.req != expect)
                    disorder++;
                expect = e.req + 1;
                ih_env_free (&e);
            }
            else
                disorder++;
            got++;
            t_last = moved = ih_bench_now_ns ();
            if ((got % 100 == 0 || got == acked)
            &&  (ih_bench_nats_pub (n, m.reply, NULL, "", 0) || ih_bench_conn_flush (n->c)))
                ih_bench_die ("jetstream: ack: %s", n->c->error);
        }
        if (ih_bench_now_ns () - moved > (int64_t) cfg->idle_ms * 1000000)
            break;
    }
    secs = (double) (t_last - t0) / 1e9;
    bench_num (j, "catchup_rate", (double) got / secs);
    bench_num (j, "catchup_cpu", ih_bench_proc_cpu (server) - cpu0);
    bench_num (j, "catchup_lost", (double) (acked - got));
    bench_num (j, "catchup_disorder", (double) disorder);
    bench_say ("jetstream: durable consumer caught up at %.0f msgs/s", (double) got / secs);
    s_js_delete (n, "C1");
    if (ih_bench_conn_write (n->c, "UNSUB 2\r\n", 9) || ih_bench_nats_ping (n, 5000))
        ih_bench_die ("jetstream: unsubscribe: %s", n->c->error);
    //  3. publish -> consume latency at the agents' two rates
    uint64_t stream_seq = acked;
    s_js_latency (cfg, port, ctx, n, &a, cfg->lat_rate_many, &stream_seq, "L1",
                  bench_obj (j, "lat_many"));
    s_js_latency (cfg, port, ctx, n, &a, cfg->lat_rate_few, &stream_seq, "L2",
                  bench_obj (j, "lat_few"));
    ih_bench_nats_destroy (&n);
    ih_bench_alerts_free (&a);
}

/* ---- the whole ------------------------------------------------------------------------------ */
void
bench_fanout_all (const bench_cfg_t *cfg, bench_out_t *out)
{
    size_t maxn = 1;
    for (size_t i = 0; i < cfg->fan_nn; i++)
        maxn = cfg->fan_n [i] > maxn ? cfg->fan_n [i] : maxn;
    ih_bench_deploy_t d;
    memset (&d, 0, sizeof d);
    char work [4200];
    snprintf (work, sizeof work, "%s/fan", cfg->work);
    if (mkdir (work, 0700) != 0)
        ih_bench_die ("mkdir %s: %s", work, strerror (errno));
    d.work = work;
    d.bindir = cfg->bindir;
    d.nsubs = maxn;
    bench_say ("deployment: broker, 1 publisher, %zu readers", maxn);
    ih_bench_deploy (&d);
    //  The subscribers' context and the publishers' (one I/O thread each)
    void *sctx = zmq_ctx_new ();
    void *pctx = zmq_ctx_new ();
    ih_bench_broker_start (&d, pctx);
    s_ingest (cfg, &d, pctx, out);

    //  The peers, on the same certificate
    ih_bench_tls_cert (work);
    char ca [4300];
    snprintf (ca, sizeof ca, "%s/tls-cert.pem", work);
    SSL_CTX *ctx = ih_bench_tls_ctx (ca);
    int nats_port = 0, mqtt_port = 0;
    pid_t nats = 0, mqtt = 0;
    json_t *tls = bench_obj (out->root, "tls");
    char desc [128];
    if (cfg->peer_nats || cfg->js_msgs) {
        nats = ih_bench_nats_start (work, ctx, &nats_port);
        ih_bench_tls_describe (IH_BENCH_NATS, nats_port, ctx, desc, sizeof desc);
        json_object_set_new (tls, "nats", json_string (desc));
    }
    if (cfg->peer_mqtt0 || cfg->peer_mqtt1) {
        mqtt = ih_bench_mqtt_start (work, ctx, &mqtt_port);
        ih_bench_tls_describe (IH_BENCH_MQTT0, mqtt_port, ctx, desc, sizeof desc);
        json_object_set_new (tls, "mqtt", json_string (desc));
    }

    json_t *rows = json_array ();
    json_object_set_new (out->root, "fanout", rows);
    for (size_t si = 0; si < cfg->fan_ns; si++)
        for (size_t ni = 0; ni < cfg->fan_nn; ni++) {
            size_t size = cfg->fan_size [si], n = cfg->fan_n [ni];
            size_t msgs = cfg->fan_deliveries / n;
            msgs = msgs < cfg->fan_min ? cfg->fan_min : msgs > cfg->fan_max ? cfg->fan_max : msgs;
            ih_bench_alerts_t a;
            s_alerts (&d, &a, msgs, size);
            const uint8_t **pl = calloc (msgs, sizeof *pl);
            size_t *lens = calloc (msgs, sizeof *lens);
            if (!pl || !lens)
                abort ();
            for (size_t i = 0; i < msgs; i++) {
                pl [i] = a.envs [i].data;
                lens [i] = a.envs [i].len;
            }
            ih_bench_frames_t cap = { 0 };
            uint64_t first = 0;
            bench_say ("fan-out: %zu B x %zu alerts to %zu subscribers: broker", size, msgs, n);
            s_fan_broker (cfg, &d, sctx, pctx, n, &a, &cap, s_row (rows, size, n, msgs, "broker"), &first);
            if (cfg->peer_curve && cap.n) {
                bench_say ("fan-out: %zu B to %zu: raw CURVE (%zu frames)", size, n, cap.n);
                ih_bench_xpubres_t x;
                ih_bench_raw_xpub (&d, sctx, n, &cap, first, cfg->idle_ms, &x);
                s_fan_result (s_row (rows, size, n, cap.items, "curve"), x.rate, x.secs, x.lost,
                              x.sender_cpu, x.note);
            }
            struct { bool on; ih_bench_peer_t kind; int port; pid_t pid; const char *name; } peers [] = {
                { cfg->peer_nats, IH_BENCH_NATS, nats_port, nats, "nats" },
                { cfg->peer_mqtt0, IH_BENCH_MQTT0, mqtt_port, mqtt, "mqtt0" },
                { cfg->peer_mqtt1, IH_BENCH_MQTT1, mqtt_port, mqtt, "mqtt1" } };
            for (size_t k = 0; k < 3; k++) {
                if (!peers [k].on)
                    continue;
                bench_say ("fan-out: %zu B to %zu: %s", size, n, peers [k].name);
                ih_bench_fanres_t r;
                ih_bench_fan_run (peers [k].kind, peers [k].port, ctx, n, pl, lens, msgs,
                                  cfg->inflight, cfg->idle_ms, peers [k].pid, &r);
                s_fan_result (s_row (rows, size, n, msgs, peers [k].name), r.rate, r.secs, r.lost,
                              r.server_cpu, r.note);
                if (r.disorder)
                    bench_num (json_array_get (rows, json_array_size (rows) - 1), "disorder",
                               (double) r.disorder);
            }
            ih_bench_frames_free (&cap);
            free (pl);
            free (lens);
            ih_bench_alerts_free (&a);
        }
    ih_bench_stop (&mqtt);
    char stats [1024];
    ih_bench_broker_stats (&d, pctx, stats, sizeof stats);
    json_object_set_new (bench_obj (out->root, "ingest"), "broker_stats", json_string (stats));
    ih_bench_broker_stop (&d);
    if (cfg->js_msgs)
        s_jetstream (cfg, &d, nats_port, ctx, nats, out);
    ih_bench_stop (&nats);
    SSL_CTX_free (ctx);
    ih_bench_deploy_free (&d);
    zmq_ctx_term (sctx);
    zmq_ctx_term (pctx);
}
