/*  bench_broker: the broker against raw libzmq and raw LMDB, side by side, in one run
    (issue 3, item 3: "at least 0.8x a raw libzmq CURVE XPUB fan-out of the same bytes to
    the same number of agents, and at least 0.5x raw LMDB for durable ingest at the same
    commit batching").

    usage: bench-broker WORKDIR [--subs N] [--fanout M] [--ingest M] [--pubs P]
                                [--inflight K] [--window W] [--bin DIR] [--perf PREFIX]

    WORKDIR must exist and be empty (bench/bench_broker.sh makes and removes it).
    In it, through bin/infohub-admin: a deployment whose broker binds 127.0.0.1 on a free
    port, one publisher member and N reader members. Then, with the real
    bin/infohub-broker running on it (stderr in WORKDIR/broker.log):

    0. Before the broker starts: FANOUT + INGEST alerts are built and signed (GREEN, every
       member entitled, 4 IOCs, the summary padded so that each signed body is exactly
       1024 bytes) and their `publish` envelopes encoded. ih_verify and ih_body_decode are
       timed per message on one thread (the broker's per-message CPU floor for ingest).
    1. Live fan-out: N DEALER CURVE sessions (status/stats to finish the handshake,
       hello cursor 0, welcome) wait; P publisher connections send FANOUT publishes with K
       in flight. Timed from the first publish to the moment every subscriber holds every
       message. Subscribers decode every deliver (ih_env_decode), check that seqs arrive
       without gap or duplicate, and ack cumulatively after each drained burst.
       Subscriber 0 keeps a copy of every deliver frame it received.
    2. Replay fan-out: N new connections (handshake finished first), hello cursor 0 on a
       journal holding FANOUT messages. Same measure; frames of subscriber 0 kept.
    3. Durable ingest: no subscribers; INGEST publishes with K in flight, timed from the
       first send to the last `ok`. The LMDB transaction id of the journal (read-only
       environment, mdb_env_info) before and after gives the commits, hence the batch the
       broker achieved.
    4. Raw LMDB, right after phase 3 (the broker idle, so that both meet the disk in the
       same state): a fresh environment in WORKDIR (same filesystem), default flags
       (fsync), the same 1 GiB map; pre-filled untimed with the phase 1 records, then the
       phase 3 records (the very values the journal holds, read back from it) put under
       8-byte big-endian keys with MDB_APPEND, committing every B puts: B = the broker's
       achieved batch, and B = 256 (its maximum). Three environments each; the median.
    Then the broker is stopped (SIGTERM), and:
    5. Raw XPUB, in a child process with its own context (as the broker is): one XPUB
       socket, CURVE server with the broker's key, ZMQ_XPUB_NODROP, SNDHWM as the broker's
       ROUTER, waits for the N subscriptions, then sends exactly the deliver frames
       subscriber 0 got in phase 1 (then, separately, in phase 2) to N SUB sockets with the
       subscribers' keys, which run the very same receive loop (minus the acks SUB cannot
       send). Also, for context, the same items one per frame.

    Output: a table, then `result KEY VALUE` lines for bench_broker.sh to aggregate.
    With --perf PREFIX, `perf record -g` is attached to the broker during each phase
    (PREFIX-live.data, PREFIX-replay.data, PREFIX-ingest.data); the figures of such a run
    carry perf's overhead.

    Everything binds 127.0.0.1 only. The broker (and perf) are stopped on exit, also on
    SIGINT/SIGTERM.

    This file holds the phases, the raw baselines and the table; the machinery they share
    with other benchmarks (processes, CPU accounting, perf, the alerts, CURVE clients, the
    subscriber and publisher threads, the deployment) is the bench kit, bench/ih_bench.h.
*/
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <czmq.h>

#include "ih_codec.h"
#include "ih_sign.h"
#include "ih_bench.h"

#define S_BROKER_BATCH  256         //  ih_broker_int.h IH_BROKER_BATCH

/* ---- broker phases ----------------------------------------------------------------------------- */
typedef struct {
    double rate;                    //  deliveries/s or msgs/s
    double secs;
    double broker_cpu;              //  s of CPU the broker used
    double self_cpu;                //  s of CPU this process used
    uint64_t frames, items;         //  of subscriber 0
    uint64_t commits;
    double batch;
    double ingest_rate;             //  live: accepted msgs/s meanwhile
    char threads [512];             //  the broker's threads: run/queued/asleep s
} s_result_t;

//  Phase 1: live fan-out.
static void
s_phase_live (ih_bench_deploy_t *d, void *sctx, void *pctx, const ih_bench_alerts_t *alerts,
              size_t npubs, size_t inflight, uint32_t window, const char *perf,
              ih_bench_frames_t *capture, s_result_t *r)
{
    void **subs = ih_bench_connect_subs (d, sctx);
    uint64_t head = 0;
    ih_bench_hello_all (subs, d->nsubs, 0, window);
    ih_bench_expect_all (subs, d->nsubs, IH_T_WELCOME, &head, 10000);
    void **pubs = ih_bench_connect_pubs (d, pctx, npubs);
    ih_bench_sub_t sub [IH_BENCH_MAX_SUBS];
    for (size_t i = 0; i < d->nsubs; i++)
        sub [i] = (ih_bench_sub_t) { .sock = subs [i], .expect = head + 1,
                                     .last = head + alerts->count,
                                     .capture = i == 0 ? capture : NULL };
    ih_bench_subrun_t sr = { .subs = sub, .n = d->nsubs, .ack = true };
    ih_bench_pubrun_t pr = { .socks = pubs, .n = npubs, .alerts = alerts, .inflight = inflight };
    pid_t perf_pid = ih_bench_perf_start (perf, "live", d->broker_pid);
    uint64_t tx0 = ih_bench_journal_txnid (d->journal);
    double bcpu = ih_bench_proc_cpu (d->broker_pid), scpu = ih_bench_self_cpu ();
    ih_bench_threads_t th0, th1;
    ih_bench_threads_snap (d->broker_pid, &th0);
    ih_bench_run_threads (&sr, &pr);
    ih_bench_threads_snap (d->broker_pid, &th1);
    ih_bench_threads_diff (d->broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    r->broker_cpu = ih_bench_proc_cpu (d->broker_pid) - bcpu;
    r->self_cpu = ih_bench_self_cpu () - scpu;
    ih_bench_perf_stop (&perf_pid);
    r->commits = ih_bench_journal_txnid (d->journal) - tx0;
    r->batch = r->commits ? (double) alerts->count / (double) r->commits : 0;
    r->secs = (double) (sr.t_done - pr.t_first) / 1e9;
    r->rate = (double) alerts->count * (double) d->nsubs / r->secs;
    r->ingest_rate = (double) alerts->count / ((double) (pr.t_last - pr.t_first) / 1e9);
    r->frames = sub [0].frames;
    r->items = sub [0].items;
    ih_bench_close_socks (pubs, npubs);
    ih_bench_close_subs (subs, d->nsubs);
}

//  Phase 2: replay fan-out from cursor 0.
static void
s_phase_replay (ih_bench_deploy_t *d, void *sctx, uint64_t count, uint32_t window,
                const char *perf, ih_bench_frames_t *capture, s_result_t *r)
{
    void **subs = ih_bench_connect_subs (d, sctx);
    ih_bench_sub_t sub [IH_BENCH_MAX_SUBS];
    for (size_t i = 0; i < d->nsubs; i++)
        sub [i] = (ih_bench_sub_t) { .sock = subs [i], .expect = 1, .last = count,
                                     .capture = i == 0 ? capture : NULL };
    pid_t perf_pid = ih_bench_perf_start (perf, "replay", d->broker_pid);
    double bcpu = ih_bench_proc_cpu (d->broker_pid), scpu = ih_bench_self_cpu ();
    ih_bench_threads_t th0, th1;
    ih_bench_threads_snap (d->broker_pid, &th0);
    int64_t t0 = ih_bench_now_ns ();
    ih_bench_hello_all (subs, d->nsubs, 0, window);
    ih_bench_expect_all (subs, d->nsubs, IH_T_WELCOME, NULL, 10000);
    ih_bench_subrun_t sr = { .subs = sub, .n = d->nsubs, .ack = true };
    ih_bench_run_threads (&sr, NULL);
    ih_bench_threads_snap (d->broker_pid, &th1);
    ih_bench_threads_diff (d->broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    r->broker_cpu = ih_bench_proc_cpu (d->broker_pid) - bcpu;
    r->self_cpu = ih_bench_self_cpu () - scpu;
    ih_bench_perf_stop (&perf_pid);
    r->secs = (double) (sr.t_done - t0) / 1e9;
    r->rate = (double) count * (double) d->nsubs / r->secs;
    r->frames = sub [0].frames;
    r->items = sub [0].items;
    ih_bench_close_subs (subs, d->nsubs);
}

//  Phase 3: durable ingest, no subscribers.
static void
s_phase_ingest (ih_bench_deploy_t *d, void *pctx, const ih_bench_alerts_t *alerts, size_t npubs,
                size_t inflight, const char *perf, s_result_t *r)
{
    void **pubs = ih_bench_connect_pubs (d, pctx, npubs);
    ih_bench_pubrun_t pr = { .socks = pubs, .n = npubs, .alerts = alerts, .inflight = inflight };
    pid_t perf_pid = ih_bench_perf_start (perf, "ingest", d->broker_pid);
    uint64_t tx0 = ih_bench_journal_txnid (d->journal);
    double bcpu = ih_bench_proc_cpu (d->broker_pid), scpu = ih_bench_self_cpu ();
    ih_bench_threads_t th0, th1;
    ih_bench_threads_snap (d->broker_pid, &th0);
    pthread_t pt;
    if (pthread_create (&pt, NULL, ih_bench_pubs_thread, &pr))
        ih_bench_die ("cannot start a thread");
    pthread_join (pt, NULL);
    ih_bench_threads_snap (d->broker_pid, &th1);
    ih_bench_threads_diff (d->broker_pid, &th0, &th1, r->threads, sizeof r->threads);
    if (pr.rc)
        ih_bench_die ("%s", pr.error);
    if (pr.errors)
        ih_bench_die ("%" PRIu64 " publishes refused; first: %s", pr.errors, pr.error);
    r->broker_cpu = ih_bench_proc_cpu (d->broker_pid) - bcpu;
    r->self_cpu = ih_bench_self_cpu () - scpu;
    ih_bench_perf_stop (&perf_pid);
    r->commits = ih_bench_journal_txnid (d->journal) - tx0;
    r->batch = r->commits ? (double) alerts->count / (double) r->commits : 0;
    r->secs = (double) (pr.t_last - pr.t_first) / 1e9;
    r->rate = (double) alerts->count / r->secs;
    ih_bench_close_socks (pubs, npubs);
}

/* ---- raw baselines ------------------------------------------------------------------------------- */
//  Raw XPUB (the bench kit, ih_bench_raw_xpub): the frames to N SUBs; the subscribers
//  count and check them as in the broker phases. r->broker_cpu gets the sender's CPU.
static void
s_raw_xpub (ih_bench_deploy_t *d, void *sctx, const ih_bench_frames_t *frames,
            uint64_t first_seq, s_result_t *r)
{
    ih_bench_xpubres_t x;
    ih_bench_raw_xpub (d, sctx, d->nsubs, frames, first_seq, 0, &x);
    if (x.lost)
        ih_bench_die ("raw XPUB: %" PRIu64 " deliveries lost: %s", x.lost, x.note);
    r->self_cpu = x.self_cpu;
    r->broker_cpu = x.sender_cpu;
    r->secs = x.secs;
    r->rate = x.rate;
    r->frames = frames->n;
    r->items = frames->items;
}

//  The same items, one per deliver frame.
static void
s_split_frames (const ih_bench_frames_t *in, ih_bench_frames_t *out)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    for (size_t f = 0; f < in->n; f++) {
        ih_env_t e;
        ih_err_t err;
        if (ih_env_decode (&e, in->v [f].data, in->v [f].len, &err))
            ih_bench_die ("captured frame %zu: %s", f, err.msg);
        for (uint32_t k = 0; k < e.item_count; k++) {
            ih_env_t one;
            ih_env_init (&one, IH_T_DELIVER);
            one.items = &e.items [k];
            one.item_count = 1;
            if (ih_env_encode (&one, &buf, &err))
                ih_bench_die ("split: %s", err.msg);
            ih_bench_frames_add (out, buf.data, buf.len, 1);
            ih_env_free (&one);
        }
        ih_env_free (&e);
    }
    ih_buf_free (&buf);
}

static double
s_median3 (const double v [3])
{
    double a = v [0], b = v [1], c = v [2];
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

/* ---- main -------------------------------------------------------------------------------------- */
static void
s_usage (void)
{
    fprintf (stderr,
        "usage: bench-broker WORKDIR [--subs N] [--fanout M] [--ingest M] [--pubs P]\n"
        "                            [--inflight K] [--window W] [--bin DIR] [--perf PREFIX]\n"
        "  defaults: N=10, fanout M=20000, ingest M=10000, P=2, K=1024, W=1000 (the broker's\n"
        "  max-window), DIR=bin. WORKDIR must exist and be empty. See bench/bench_broker.md.\n");
    exit (2);
}

int
main (int argc, char **argv)
{
    ih_bench_init ("bench-broker");
    if (argc < 2 || argv [1][0] == '-')
        s_usage ();
    ih_bench_deploy_t d;
    memset (&d, 0, sizeof d);
    d.work = argv [1];
    d.bindir = "bin";
    d.nsubs = 10;
    size_t mf = 20000, mi = 10000, npubs = 2, inflight = 1024;
    uint32_t window = 1000;
    const char *perf = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv [i];
        if (i + 1 >= argc)
            s_usage ();
        const char *v = argv [++i];
        if (streq (o, "--subs"))
            d.nsubs = (size_t) ih_bench_arg_num (o, v, 1, IH_BENCH_MAX_SUBS);
        else if (streq (o, "--fanout"))
            mf = (size_t) ih_bench_arg_num (o, v, 1, 1000000);
        else if (streq (o, "--ingest"))
            mi = (size_t) ih_bench_arg_num (o, v, 1, 1000000);
        else if (streq (o, "--pubs"))
            npubs = (size_t) ih_bench_arg_num (o, v, 1, IH_BENCH_MAX_PUBS);
        else if (streq (o, "--inflight"))
            inflight = (size_t) ih_bench_arg_num (o, v, 1, 100000);
        else if (streq (o, "--window"))
            window = (uint32_t) ih_bench_arg_num (o, v, 1, 10000);
        else if (streq (o, "--bin"))
            d.bindir = v;
        else if (streq (o, "--perf"))
            perf = v;
        else
            s_usage ();
    }
    ih_sign_init ();

    ih_bench_deploy (&d);
    //  0. Pre-signed alerts; verification and decoding timed in isolation
    ih_bench_alerts_t fan, ing;
    ih_bench_alerts_make (&fan, mf, 0, d.sign_pk, d.sign_sk);
    ih_bench_alerts_make (&ing, mi, mf, d.sign_pk, d.sign_sk);
    size_t nv = mi < 4000 ? mi : 4000;
    ih_err_t err;
    int64_t t0 = ih_bench_now_ns ();
    for (size_t i = 0; i < nv; i++)
        if (ih_verify (ing.sigs [i], IH_CTX_MSG, ing.bodies [i].data, ing.bodies [i].len,
                       d.sign_pk, &err))
            ih_bench_die ("verify %zu: %s", i, err.msg);
    double verify_us = (double) (ih_bench_now_ns () - t0) / 1e3 / (double) nv;
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    t0 = ih_bench_now_ns ();
    for (size_t i = 0; i < nv; i++) {
        if (ih_body_decode (&m, ing.bodies [i].data, ing.bodies [i].len, &err))
            ih_bench_die ("decode %zu: %s", i, err.msg);
        ih_msg_free (&m);
    }
    double decode_us = (double) (ih_bench_now_ns () - t0) / 1e3 / (double) nv;
    long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
    long vthreads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : ncpu;    //  ih_sigpool: the caller + helpers

    //  Clients: one context for the subscribers, one for the publishers (1 I/O thread each)
    void *sctx = zmq_ctx_new ();
    void *pctx = zmq_ctx_new ();
    ih_bench_broker_start (&d, pctx);
    ih_bench_frames_t live_frames = { 0 }, replay_frames = { 0 };
    s_result_t live = { 0 }, replay = { 0 }, ingest = { 0 };
    s_phase_live (&d, sctx, pctx, &fan, npubs, inflight, window, perf, &live_frames, &live);
    s_phase_replay (&d, sctx, mf, window, perf, &replay_frames, &replay);
    s_phase_ingest (&d, pctx, &ing, npubs, inflight, perf, &ingest);
    //  4. Raw LMDB with the journal's own records, right after the broker's ingest (the broker
    //  idle, still up) so that both meet the disk in the same state: fsync latency on a
    //  shared disk varies; three environments per batch size, the median
    ih_bench_frames_t vals = { 0 };
    ih_bench_journal_values (d.journal, &vals);
    if (vals.n != mf + mi)
        ih_bench_die ("journal holds %zu records, expected %zu", vals.n, mf + mi);
    double vbytes = 0;
    for (size_t i = mf; i < vals.n; i++)
        vbytes += (double) vals.v [i].len;
    vbytes /= (double) mi;
    size_t batch = (size_t) (ingest.batch + 0.5);
    if (batch < 1)
        batch = 1;
    double same [3], b256 [3];
    for (int rep = 0; rep < 3; rep++) {
        char dir [4300];
        snprintf (dir, sizeof dir, "%s/raw-lmdb-b%zu-%d", d.work, batch, rep);
        same [rep] = ih_bench_raw_lmdb (dir, &vals, mf, mf, mi, batch);
        snprintf (dir, sizeof dir, "%s/raw-lmdb-b%d-%d", d.work, S_BROKER_BATCH, rep);
        b256 [rep] = ih_bench_raw_lmdb (dir, &vals, mf, mf, mi, S_BROKER_BATCH);
    }
    double lmdb_same = s_median3 (same), lmdb_256 = s_median3 (b256);
    double commit_ms = 1e3 * (double) batch / lmdb_same;
    //  the broker's own counters, then stop it
    char stats [1024];
    ih_bench_broker_stats (&d, pctx, stats, sizeof stats);
    ih_bench_broker_stop (&d);

    //  5. Raw XPUB, the broker stopped
    s_result_t raw_live = { 0 }, raw_replay = { 0 }, raw_single = { 0 };
    s_raw_xpub (&d, sctx, &live_frames, 1, &raw_live);
    s_raw_xpub (&d, sctx, &replay_frames, 1, &raw_replay);
    ih_bench_frames_t single = { 0 };
    s_split_frames (&live_frames, &single);
    s_raw_xpub (&d, sctx, &single, 1, &raw_single);
    ih_bench_frames_free (&single);

    //  The table
    double item_bytes = (double) 0;
    for (size_t i = 0; i < live_frames.n; i++)
        item_bytes += (double) live_frames.v [i].len;
    item_bytes /= (double) (live_frames.items ? live_frames.items : 1);
    printf ("== bench-broker: %zu subscribers, fan-out %zu alerts, ingest %zu alerts, %zu publisher "
            "connections, %zu in flight, window %u\n", d.nsubs, mf, mi, npubs, inflight, window);
    printf ("   signed body %d B; a deliver item ~%.0f B on the wire; journal record %.0f B; "
            "%ld CPUs\n", IH_BENCH_BODY_SIZE, item_bytes, vbytes, ncpu);
    printf ("%-34s %14s %14s %7s  %s\n", "", "broker", "raw", "ratio", "notes");
    printf ("%-34s %14.0f %14.0f %7.2f  frames of 1 subscriber: broker %" PRIu64 " (%.1f items/frame); "
            "publishers got ok at %.0f msgs/s; %.0f per commit; CPU s: broker %.2f, raw sender %.2f\n",
            "live fan-out, deliveries/s", live.rate, raw_live.rate, live.rate / raw_live.rate,
            live.frames, (double) live.items / (double) live.frames, live.ingest_rate, live.batch,
            live.broker_cpu, raw_live.broker_cpu);
    printf ("%-34s %14s %14.0f %7.2f  the same items one per frame (what per-message framing "
            "costs); raw sender CPU %.2f s\n", "  raw XPUB, 1 item/frame", "", raw_single.rate,
            live.rate / raw_single.rate, raw_single.broker_cpu);
    printf ("%-34s %14.0f %14.0f %7.2f  frames: %" PRIu64 " (%.1f items/frame); CPU s: broker %.2f, "
            "raw sender %.2f\n", "replay fan-out, deliveries/s", replay.rate, raw_replay.rate,
            replay.rate / raw_replay.rate, replay.frames,
            (double) replay.items / (double) replay.frames, replay.broker_cpu, raw_replay.broker_cpu);
    printf ("%-34s %14.0f %14.0f %7.2f  %" PRIu64 " commits, %.1f per commit; raw LMDB at batch %zu; "
            "%.1f ms/commit; broker CPU %.2f s (%.0f us/msg)\n",
            "durable ingest, msgs/s", ingest.rate, lmdb_same, ingest.rate / lmdb_same,
            ingest.commits, ingest.batch, batch, commit_ms, ingest.broker_cpu,
            ingest.broker_cpu * 1e6 / (double) mi);
    printf ("%-34s %14s %14.0f %7.2f  raw LMDB at the broker's maximum batch\n",
            "  raw LMDB, batch 256", "", lmdb_256, ingest.rate / lmdb_256);
    printf ("%-34s %14.1f us/msg: ceiling %.0f msgs/s on 1 thread, %.0f on %ld (ih_sigpool)\n",
            "ih_verify, isolated", verify_us, 1e6 / verify_us, 1e6 * (double) vthreads / verify_us,
            vthreads);
    printf ("%-34s %14.1f us/msg: the broker's main thread does it for every publish\n",
            "ih_body_decode, isolated", decode_us);
    printf ("broker threads, seconds on a CPU / waiting for a CPU / asleep (fsync, condvar, poll):\n");
    printf ("  live   (%.2f s): %s\n", live.secs, live.threads);
    printf ("  replay (%.2f s): %s\n", replay.secs, replay.threads);
    printf ("  ingest (%.2f s): %s\n", ingest.secs, ingest.threads);
    printf ("%-34s %s\n", "broker stats", stats);

    printf ("result live_broker %.0f\nresult live_raw %.0f\nresult live_ratio %.3f\n",
            live.rate, raw_live.rate, live.rate / raw_live.rate);
    printf ("result live_raw_single %.0f\nresult live_ratio_single %.3f\n", raw_single.rate,
            live.rate / raw_single.rate);
    printf ("result live_items_per_frame %.1f\nresult live_ingest %.0f\nresult live_batch %.1f\n",
            (double) live.items / (double) live.frames, live.ingest_rate, live.batch);
    printf ("result replay_broker %.0f\nresult replay_raw %.0f\nresult replay_ratio %.3f\n",
            replay.rate, raw_replay.rate, replay.rate / raw_replay.rate);
    printf ("result replay_items_per_frame %.1f\n", (double) replay.items / (double) replay.frames);
    printf ("result ingest_broker %.0f\nresult ingest_batch %.1f\nresult ingest_raw %.0f\n"
            "result ingest_ratio %.3f\nresult ingest_raw256 %.0f\nresult ingest_ratio256 %.3f\n",
            ingest.rate, ingest.batch, lmdb_same, ingest.rate / lmdb_same, lmdb_256,
            ingest.rate / lmdb_256);
    printf ("result ingest_broker_cpu_us %.0f\nresult verify_us %.1f\nresult verify_ceiling %.0f\n"
            "result decode_us %.1f\n", ingest.broker_cpu * 1e6 / (double) mi, verify_us,
            1e6 * (double) vthreads / verify_us, decode_us);
    printf ("result live_broker_cpu %.2f\nresult live_bench_cpu %.2f\nresult live_secs %.2f\n"
            "result raw_live_bench_cpu %.2f\nresult raw_live_secs %.2f\n"
            "result replay_broker_cpu %.2f\nresult replay_bench_cpu %.2f\nresult replay_secs %.2f\n"
            "result raw_replay_bench_cpu %.2f\nresult raw_replay_secs %.2f\n"
            "result raw_live_sender_cpu %.2f\nresult raw_replay_sender_cpu %.2f\n"
            "result raw_single_sender_cpu %.2f\nresult ingest_broker_cpu %.2f\n",
            live.broker_cpu, live.self_cpu, live.secs, raw_live.self_cpu, raw_live.secs,
            replay.broker_cpu, replay.self_cpu, replay.secs, raw_replay.self_cpu, raw_replay.secs,
            raw_live.broker_cpu, raw_replay.broker_cpu, raw_single.broker_cpu, ingest.broker_cpu);
    printf ("result ingest_raw_commit_ms %.2f\n", commit_ms);
    printf ("result ingest_raw_min %.0f\nresult ingest_raw_max %.0f\n",
            same [0] < same [1] ? (same [0] < same [2] ? same [0] : same [2]) : (same [1] < same [2] ? same [1] : same [2]),
            same [0] > same [1] ? (same [0] > same [2] ? same [0] : same [2]) : (same [1] > same [2] ? same [1] : same [2]));

    ih_bench_frames_free (&live_frames);
    ih_bench_frames_free (&replay_frames);
    ih_bench_frames_free (&vals);
    ih_bench_alerts_free (&fan);
    ih_bench_alerts_free (&ing);
    ih_bench_deploy_free (&d);
    zmq_ctx_term (sctx);
    zmq_ctx_term (pctx);
    return 0;
}
