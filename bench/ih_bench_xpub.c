/*  ih_bench_xpub.c: raw libzmq CURVE XPUB to N SUBs, the transport's ceiling (moved here
    from bench_broker.c so that bench-all measures it too). The contract is in ih_bench.h.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "ih_bench.h"

#define s_SNDHWM    100000          //  the broker's ROUTER (ih_broker.c S_SNDHWM)

//  The sender: its own process and context, as the broker, so that its CPU time is its own.
static void
s_xpub_child (ih_bench_deploy_t *d, size_t nsubs, const ih_bench_frames_t *frames, int out, int in)
{
    void *xctx = zmq_ctx_new ();
    void *x = zmq_socket (xctx, ZMQ_XPUB);
    int one = 1, hwm = s_SNDHWM, zero = 0;
    char ep [256] = "";
    size_t eplen = sizeof ep;
    if (zmq_setsockopt (x, ZMQ_CURVE_SERVER, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_CURVE_SECRETKEY, zcert_secret_key (d->broker_cert), 32)
    ||  zmq_setsockopt (x, ZMQ_SNDHWM, &hwm, sizeof hwm)
    ||  zmq_setsockopt (x, ZMQ_XPUB_NODROP, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_XPUB_VERBOSE, &one, sizeof one)
    ||  zmq_setsockopt (x, ZMQ_LINGER, &zero, sizeof zero)
    ||  zmq_bind (x, "tcp://127.0.0.1:*")
    ||  zmq_getsockopt (x, ZMQ_LAST_ENDPOINT, ep, &eplen)) {
        fprintf (stderr, "raw XPUB: %s\n", zmq_strerror (zmq_errno ()));
        _exit (1);
    }
    if (write (out, ep, sizeof ep) != (ssize_t) sizeof ep)
        _exit (1);
    //  Every subscription has arrived: every SUB is connected, its handshake done
    for (size_t i = 0; i < nsubs; i++) {
        zmq_pollitem_t it = { x, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, 20000) <= 0) {
            fprintf (stderr, "raw XPUB: only %zu of %zu subscriptions\n", i, nsubs);
            _exit (1);
        }
        char buf [16];
        zmq_recv (x, buf, sizeof buf, 0);
    }
    double cpu0 = ih_bench_self_cpu ();
    int64_t t0 = ih_bench_now_ns ();
    for (size_t i = 0; i < frames->n; i++)
        if (zmq_send (x, frames->v [i].data, frames->v [i].len, 0) != (int) frames->v [i].len) {
            fprintf (stderr, "raw XPUB send: %s\n", zmq_strerror (zmq_errno ()));
            _exit (1);
        }
    //  Keep sending (the I/O thread) until the parent says every subscriber has it all
    char c;
    if (read (in, &c, 1) != 1)
        _exit (1);
    double cpu = ih_bench_self_cpu () - cpu0;
    zmq_close (x);
    zmq_ctx_term (xctx);
    if (write (out, &t0, sizeof t0) != (ssize_t) sizeof t0
    ||  write (out, &cpu, sizeof cpu) != (ssize_t) sizeof cpu)
        _exit (1);
    _exit (0);
}

void
ih_bench_raw_xpub (ih_bench_deploy_t *d, void *sctx, size_t nsubs, const ih_bench_frames_t *frames,
                   uint64_t first_seq, int idle_ms, ih_bench_xpubres_t *r)
{
    memset (r, 0, sizeof *r);
    r->subs = nsubs;
    if (nsubs > d->nsubs)
        ih_bench_die ("raw XPUB: %zu subscribers, the deployment has %zu", nsubs, d->nsubs);
    int up [2], down [2];
    if (pipe (up) || pipe (down))
        ih_bench_die ("pipe: %s", strerror (errno));
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid < 0)
        ih_bench_die ("fork: %s", strerror (errno));
    if (pid == 0) {
        close (up [0]);
        close (down [1]);
        s_xpub_child (d, nsubs, frames, up [1], down [0]);
    }
    close (up [1]);
    close (down [0]);
    char ep [256];
    if (read (up [0], ep, sizeof ep) != (ssize_t) sizeof ep)
        ih_bench_die ("raw XPUB: the child failed to start");
    ih_bench_sub_t *sub = calloc (nsubs, sizeof *sub);
    if (!sub)
        abort ();
    for (size_t i = 0; i < nsubs; i++) {
        void *s = ih_bench_curve_client (sctx, ZMQ_SUB, d->sub_certs [i],
                                         zcert_public_key (d->broker_cert), ep);
        zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0);
        sub [i] = (ih_bench_sub_t) { .sock = s, .expect = first_seq,
                                     .last = first_seq + frames->items - 1 };
    }
    ih_bench_subrun_t sr = { .subs = sub, .n = nsubs, .ack = false, .idle_ms = idle_ms };
    double scpu = ih_bench_self_cpu ();
    int rc = ih_bench_run_threads_counted (&sr, NULL);
    r->self_cpu = ih_bench_self_cpu () - scpu;
    int64_t t0 = 0;
    double cpu = 0;
    if (write (down [1], "x", 1) != 1
    ||  read (up [0], &t0, sizeof t0) != (ssize_t) sizeof t0
    ||  read (up [0], &cpu, sizeof cpu) != (ssize_t) sizeof cpu)
        ih_bench_die ("raw XPUB: the child failed");
    int status = 0;
    waitpid (pid, &status, 0);
    close (up [0]);
    close (down [1]);
    for (size_t i = 0; i < nsubs; i++) {
        r->received += sub [i].items;
        zmq_close (sub [i].sock);
    }
    free (sub);
    uint64_t want = frames->items * nsubs;
    r->lost = want > r->received ? want - r->received : 0;
    if (rc)
        snprintf (r->note, sizeof r->note, "%s", sr.error);
    r->sender_cpu = cpu;
    r->secs = (double) ((rc ? sr.t_last : sr.t_done) - t0) / 1e9;
    r->rate = r->secs > 0 ? (double) r->received / r->secs : 0;
}
