/*  ih_bench_zmq.c: CURVE client sockets, envelope send/expect, captured frames, and the
    two threads every phase runs: the counting subscribers and the publishers.
    The contract is in ih_bench.h.
*/
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_bench.h"

/* ---- sockets -------------------------------------------------------------------------------- */
void *
ih_bench_curve_client (void *ctx, int type, zcert_t *cert, const uint8_t server_pk [32],
                       const char *ep)
{
    void *s = zmq_socket (ctx, type);
    int zero = 0, hwm = IH_BENCH_CLIENT_HWM;
    int64_t maxmsg = IH_MAX_FRAME;
    if (!s
    ||  zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, server_pk, 32)
    ||  zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, zcert_public_key (cert), 32)
    ||  zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, zcert_secret_key (cert), 32)
    ||  zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero)
    ||  zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)
    ||  zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm)
    ||  zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof hwm)
    ||  zmq_connect (s, ep))
        ih_bench_die ("client socket on %s: %s", ep, zmq_strerror (zmq_errno ()));
    return s;
}

void
ih_bench_send_env (void *sock, ih_env_t *e)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err;
    if (ih_env_encode (e, &buf, &err))
        ih_bench_die ("encode %s: %s", ih_type_name (e->type), err.msg);
    if (zmq_send (sock, buf.data, buf.len, 0) != (int) buf.len)
        ih_bench_die ("send %s: %s", ih_type_name (e->type), zmq_strerror (zmq_errno ()));
    ih_buf_free (&buf);
}

void
ih_bench_send_simple (void *sock, ih_type_t type)
{
    ih_env_t e;
    ih_env_init (&e, type);
    ih_bench_send_env (sock, &e);
    ih_env_free (&e);
}

void
ih_bench_expect_all (void **socks, size_t n, ih_type_t type, uint64_t *head, int timeout_ms)
{
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    for (size_t i = 0; i < n; i++) {
        zmq_pollitem_t it = { socks [i], 0, ZMQ_POLLIN, 0 };
        long left = (long) ((deadline - ih_bench_now_ns ()) / 1000000);
        if (left < 0 || zmq_poll (&it, 1, left) <= 0)
            ih_bench_die ("no %s on connection %zu within %d ms (see broker.log)",
                          ih_type_name (type), i, timeout_ms);
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        if (zmq_msg_recv (&msg, socks [i], 0) < 0)
            ih_bench_die ("recv: %s", zmq_strerror (zmq_errno ()));
        ih_env_t e;
        ih_err_t err;
        if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err))
            ih_bench_die ("connection %zu: undecodable frame: %s", i, err.msg);
        if (e.type != type)
            ih_bench_die ("connection %zu: expected %s, got %s%s%s", i, ih_type_name (type),
                          ih_type_name (e.type), e.type == IH_T_ERROR ? ": " : "",
                          e.type == IH_T_ERROR ? e.reason : "");
        if (head)
            *head = e.head;
        ih_env_free (&e);
        zmq_msg_close (&msg);
    }
}

/* ---- frames --------------------------------------------------------------------------------- */
void
ih_bench_frames_add (ih_bench_frames_t *f, const void *data, size_t len, uint32_t items)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->v = realloc (f->v, f->cap * sizeof *f->v);
        if (!f->v)
            abort ();
    }
    f->v [f->n].data = malloc (len);
    if (!f->v [f->n].data)
        abort ();
    memcpy (f->v [f->n].data, data, len);
    f->v [f->n].len = len;
    f->n++;
    f->items += items;
}

void
ih_bench_frames_free (ih_bench_frames_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free (f->v [i].data);
    free (f->v);
    memset (f, 0, sizeof *f);
}

/* ---- subscribers ------------------------------------------------------------------------------
    One thread runs every subscriber socket (the same loop for the broker's DEALERs and the
    raw SUBs): it decodes each deliver, checks the seqs, counts, and (DEALER only) acks the
    highest seq after each drained burst of up to 32 frames. */
void *
ih_bench_subs_thread (void *arg)
{
    ih_bench_subrun_t *run = (ih_bench_subrun_t *) arg;
    zmq_pollitem_t items [IH_BENCH_MAX_SUBS];
    for (size_t i = 0; i < run->n; i++)
        items [i] = (zmq_pollitem_t) { run->subs [i].sock, 0, ZMQ_POLLIN, 0 };
    int64_t deadline = ih_bench_now_ns () + (int64_t) IH_BENCH_PHASE_TIMEOUT * 1000000000LL;
    size_t done = 0;
    for (size_t i = 0; i < run->n; i++)
        if (run->subs [i].expect > run->subs [i].last)
            done++;
    run->t_last = ih_bench_now_ns ();
    while (done < run->n) {
        if (run->idle_ms > 0 && ih_bench_now_ns () - run->t_last > (int64_t) run->idle_ms * 1000000) {
            snprintf (run->error, sizeof run->error, "nothing more arrived for %d ms: %zu of %zu "
                      "subscribers complete", run->idle_ms, done, run->n);
            run->rc = -1;
            return NULL;
        }
        if (ih_bench_now_ns () > deadline) {
            size_t k = 0;
            while (k < run->n && run->subs [k].expect > run->subs [k].last)
                k++;
            snprintf (run->error, sizeof run->error,
                      "timeout: %zu of %zu subscribers complete; subscriber %zu is at seq %" PRIu64
                      " of %" PRIu64, done, run->n, k, run->subs [k].expect - 1, run->subs [k].last);
            run->rc = -1;
            return NULL;
        }
        if (zmq_poll (items, (int) run->n, 100) < 0 && zmq_errno () != EINTR) {
            snprintf (run->error, sizeof run->error, "poll: %s", zmq_strerror (zmq_errno ()));
            run->rc = -1;
            return NULL;
        }
        for (size_t i = 0; i < run->n; i++) {
            if (!(items [i].revents & ZMQ_POLLIN))
                continue;
            ih_bench_sub_t *s = &run->subs [i];
            bool was_done = s->expect > s->last;
            uint64_t top = 0;
            for (int burst = 0; burst < 32; burst++) {
                zmq_msg_t msg;
                zmq_msg_init (&msg);
                if (zmq_msg_recv (&msg, s->sock, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&msg);
                    break;
                }
                ih_env_t e;
                ih_err_t err;
                if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err)) {
                    snprintf (run->error, sizeof run->error, "subscriber %zu: bad frame: %s", i,
                              err.msg);
                    run->rc = -1;
                    zmq_msg_close (&msg);
                    return NULL;
                }
                if (e.type == IH_T_DELIVER) {
                    for (uint32_t k = 0; k < e.item_count; k++) {
                        if (e.items [k].seq != s->expect) {
                            snprintf (run->error, sizeof run->error,
                                      "subscriber %zu: got seq %" PRIu64 ", expected %" PRIu64
                                      " (gap or duplicate)", i, e.items [k].seq, s->expect);
                            run->rc = -1;
                            ih_env_free (&e);
                            zmq_msg_close (&msg);
                            return NULL;
                        }
                        s->expect++;
                    }
                    s->items += e.item_count;
                    s->frames++;
                    run->t_last = ih_bench_now_ns ();
                    top = s->expect - 1;
                    if (s->capture)
                        ih_bench_frames_add (s->capture, zmq_msg_data (&msg), zmq_msg_size (&msg),
                                             e.item_count);
                    if (!was_done && s->expect > s->last) {
                        was_done = true;
                        done++;
                        if (done == run->n)
                            run->t_done = ih_bench_now_ns ();
                    }
                }
                else
                if (e.type == IH_T_ERROR) {
                    snprintf (run->error, sizeof run->error, "subscriber %zu: error %s: %s", i,
                              e.code, e.reason);
                    run->rc = -1;
                    ih_env_free (&e);
                    zmq_msg_close (&msg);
                    return NULL;
                }
                ih_env_free (&e);
                zmq_msg_close (&msg);
            }
            if (run->ack && top > s->acked) {
                ih_env_t a;
                ih_env_init (&a, IH_T_ACK);
                a.seq = top;
                ih_bench_send_env (s->sock, &a);
                ih_env_free (&a);
                s->acked = top;
            }
        }
    }
    return NULL;
}

/* ---- publishers: P DEALER connections, K publishes in flight in all ------------------------- */
void *
ih_bench_pubs_thread (void *arg)
{
    ih_bench_pubrun_t *run = (ih_bench_pubrun_t *) arg;
    zmq_pollitem_t items [IH_BENCH_MAX_PUBS];
    for (size_t i = 0; i < run->n; i++)
        items [i] = (zmq_pollitem_t) { run->socks [i], 0, ZMQ_POLLIN, 0 };
    size_t total = run->alerts->count, sent = 0, answered = 0;
    int64_t deadline = ih_bench_now_ns () + (int64_t) IH_BENCH_PHASE_TIMEOUT * 1000000000LL;
    run->t_first = ih_bench_now_ns ();
    while (answered < total) {
        while (sent < total && sent - answered < run->inflight) {
            const ih_buf_t *env = &run->alerts->envs [sent];
            if (zmq_send (run->socks [sent % run->n], env->data, env->len, 0) != (int) env->len) {
                snprintf (run->error, sizeof run->error, "publish: %s", zmq_strerror (zmq_errno ()));
                run->rc = -1;
                return NULL;
            }
            sent++;
        }
        if (ih_bench_now_ns () > deadline) {
            snprintf (run->error, sizeof run->error, "timeout: %zu of %zu publishes answered",
                      answered, total);
            run->rc = -1;
            return NULL;
        }
        if (zmq_poll (items, (int) run->n, 100) <= 0)
            continue;
        for (size_t i = 0; i < run->n; i++) {
            if (!(items [i].revents & ZMQ_POLLIN))
                continue;
            while (true) {
                zmq_msg_t msg;
                zmq_msg_init (&msg);
                if (zmq_msg_recv (&msg, run->socks [i], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&msg);
                    break;
                }
                ih_env_t e;
                ih_err_t err;
                if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err) == 0) {
                    if (e.type == IH_T_OK) {
                        run->ok++;
                        if (e.seq > run->max_seq)
                            run->max_seq = e.seq;
                        answered++;
                    }
                    else
                    if (e.type == IH_T_ERROR) {
                        if (run->errors++ == 0)
                            snprintf (run->error, sizeof run->error, "publish refused: %s: %s",
                                      e.code, e.reason);
                        if (e.req)
                            answered++;
                    }
                    ih_env_free (&e);
                }
                zmq_msg_close (&msg);
            }
        }
    }
    run->t_last = ih_bench_now_ns ();
    return NULL;
}

int
ih_bench_run_threads_counted (ih_bench_subrun_t *sr, ih_bench_pubrun_t *pr)
{
    pthread_t st, pt;
    if (pthread_create (&st, NULL, ih_bench_subs_thread, sr)
    ||  (pr && pthread_create (&pt, NULL, ih_bench_pubs_thread, pr)))
        ih_bench_die ("cannot start a thread");
    pthread_join (st, NULL);
    if (pr)
        pthread_join (pt, NULL);
    if (pr && pr->rc)
        ih_bench_die ("%s", pr->error);
    if (pr && pr->errors)
        ih_bench_die ("%" PRIu64 " publishes refused; first: %s", pr->errors, pr->error);
    return sr->rc;
}

void
ih_bench_run_threads (ih_bench_subrun_t *sr, ih_bench_pubrun_t *pr)
{
    pthread_t st, pt;
    if (pthread_create (&st, NULL, ih_bench_subs_thread, sr)
    ||  (pr && pthread_create (&pt, NULL, ih_bench_pubs_thread, pr)))
        ih_bench_die ("cannot start a thread");
    pthread_join (st, NULL);
    if (pr)
        pthread_join (pt, NULL);
    if (sr->rc)
        ih_bench_die ("%s", sr->error);
    if (pr && pr->rc)
        ih_bench_die ("%s", pr->error);
    if (pr && pr->errors)
        ih_bench_die ("%" PRIu64 " publishes refused; first: %s", pr->errors, pr->error);
}
