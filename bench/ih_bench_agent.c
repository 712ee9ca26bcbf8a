/*  ih_bench_agent.c: real agents (bin/infohub-agent run, each with its own store), the
    watcher that sees when each store holds a seq, and a publisher paced at a given rate.
    The contract is in ih_bench.h.

    How "stored" is seen. The agent commits each batch in one LMDB transaction with its
    cursor (ih_store.h). LMDB writes the data pages with pwrite, fdatasyncs, then writes
    the meta page, which makes the transaction visible, through a descriptor it opened
    O_DSYNC: that write returns once the meta page is on disk, and only then does the
    kernel queue the inotify IN_MODIFY event for it. The watcher sleeps on inotify
    (IN_MODIFY of each store's data.mdb), and on each event reads the agent's cursor in a
    read transaction of its own (ih_store_cursor on a read-only handle); the time taken
    right after that read is when the store held everything up to that cursor. It also
    reads every cursor every 20 ms, should an event be missed. A watcher woken by the
    data pages' event and scheduled only after the meta page was copied but before it
    reached the disk would see a commit up to one fsync early; that can only make the
    figures better than they are, never worse.
*/
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <jansson.h>

#include "ih_bench.h"
#include "ih_store.h"

/* ---- agents -------------------------------------------------------------------------------- */
static bool
s_connected (const char *status)
{
    json_error_t jerr;
    json_t *j = json_load_file (status, 0, &jerr);
    bool yes = j && json_is_true (json_object_get (j, "connected"));
    json_decref (j);
    return yes;
}

void
ih_bench_agent_start (ih_bench_deploy_t *d, ih_bench_agent_t *a, const char *name)
{
    memset (a, 0, sizeof *a);
    a->wd = -1;
    snprintf (a->name, sizeof a->name, "%s", name);
    snprintf (a->cfg, sizeof a->cfg, "%s/%s/agent.cfg", d->work, name);
    snprintf (a->store, sizeof a->store, "%s/%s/store", d->work, name);
    snprintf (a->log, sizeof a->log, "%s/%s/agent.log", d->work, name);
    char exe [4200];
    snprintf (exe, sizeof exe, "%s/infohub-agent", d->bindir);
    char *argv [] = { exe, "-c", a->cfg, "run", NULL };
    a->pid = ih_bench_start (argv, a->log, SIGTERM, 20000);
    char status [4300];
    snprintf (status, sizeof status, "%s/agent.status", a->store);
    for (int i = 0; i < 400; i++) {
        if (s_connected (status))
            return;
        usleep (50 * 1000);
    }
    ih_bench_die ("agent %s did not connect within 20 s (see %s)", name, a->log);
}

void
ih_bench_agent_stop (ih_bench_agent_t *a)
{
    ih_bench_stop (&a->pid);
}

void
ih_bench_agent_free (ih_bench_agent_t *a)
{
    free (a->hist_t);
    free (a->hist_c);
    a->hist_t = NULL;
    a->hist_c = NULL;
    a->hist_n = a->hist_cap = 0;
}

int64_t
ih_bench_agent_seen (const ih_bench_agent_t *a, uint64_t seq)
{
    //  the cursor only grows: the first entry at or above seq
    size_t lo = 0, hi = a->hist_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->hist_c [mid] >= seq)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo < a->hist_n ? a->hist_t [lo] : 0;
}

/* ---- the watcher --------------------------------------------------------------------------- */
struct ih_bench_watch {
    ih_bench_agent_t **a;
    size_t n;
    int ifd;
    pthread_t thread;
    volatile int stop;
    bool *hit;
    uint64_t events, timeouts;      //  wake-ups by inotify, by the 20 ms timer
};

static void
s_check (ih_bench_agent_t *a)
{
    uint64_t c = ih_store_cursor ((ih_store_t *) a->reader);
    int64_t t = ih_bench_now_ns ();
    if (c == a->cursor && a->hist_n)
        return;
    if (a->hist_n == a->hist_cap) {
        a->hist_cap = a->hist_cap ? a->hist_cap * 2 : 4096;
        a->hist_t = realloc (a->hist_t, a->hist_cap * sizeof *a->hist_t);
        a->hist_c = realloc (a->hist_c, a->hist_cap * sizeof *a->hist_c);
        if (!a->hist_t || !a->hist_c)
            abort ();
    }
    a->hist_t [a->hist_n] = t;
    a->hist_c [a->hist_n] = c;
    a->hist_n++;
    a->cursor = c;
}

static void *
s_watch_thread (void *arg)
{
    ih_bench_watch_t *w = (ih_bench_watch_t *) arg;
    //  aligned for struct inotify_event
    static __thread char buf [65536] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
    while (!w->stop) {
        struct pollfd p = { w->ifd, POLLIN, 0 };
        int rc = poll (&p, 1, 20);
        bool all = rc <= 0;
        if (rc > 0)
            w->events++;
        else
            w->timeouts++;
        memset (w->hit, 0, w->n * sizeof *w->hit);
        if (rc > 0) {
            ssize_t len;
            while ((len = read (w->ifd, buf, sizeof buf)) > 0)
                for (char *q = buf; q < buf + len; ) {
                    struct inotify_event *e = (struct inotify_event *) q;
                    if (e->mask & IN_Q_OVERFLOW)
                        all = true;
                    for (size_t i = 0; i < w->n; i++)
                        if (w->a [i]->wd == e->wd)
                            w->hit [i] = true;
                    q += sizeof *e + e->len;
                }
        }
        for (size_t i = 0; i < w->n; i++)
            if (all || w->hit [i])
                s_check (w->a [i]);
    }
    return NULL;
}

ih_bench_watch_t *
ih_bench_watch_new (ih_bench_agent_t **agents, size_t n)
{
    ih_bench_watch_t *w = calloc (1, sizeof *w);
    if (!w)
        abort ();
    w->a = agents;
    w->n = n;
    w->hit = calloc (n ? n : 1, sizeof *w->hit);
    w->ifd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    if (!w->hit || w->ifd < 0)
        ih_bench_die ("inotify: %s", strerror (errno));
    for (size_t i = 0; i < n; i++) {
        ih_bench_agent_t *a = agents [i];
        ih_err_t err;
        a->reader = ih_store_open (a->store, 0, 0, 0, &err);
        if (!a->reader)
            ih_bench_die ("agent %s: %s", a->name, err.msg);
        char path [4300];
        snprintf (path, sizeof path, "%s/data.mdb", a->store);
        a->wd = inotify_add_watch (w->ifd, path, IN_MODIFY);
        if (a->wd < 0)
            ih_bench_die ("inotify on %s: %s", path, strerror (errno));
        s_check (a);
    }
    if (pthread_create (&w->thread, NULL, s_watch_thread, w))
        ih_bench_die ("cannot start a thread");
    return w;
}

void
ih_bench_watch_destroy (ih_bench_watch_t **wp)
{
    ih_bench_watch_t *w = *wp;
    if (!w)
        return;
    w->stop = 1;
    pthread_join (w->thread, NULL);
    for (size_t i = 0; i < w->n; i++) {
        ih_store_t *s = (ih_store_t *) w->a [i]->reader;
        ih_store_destroy (&s);
        w->a [i]->reader = NULL;
        w->a [i]->wd = -1;
    }
    close (w->ifd);
    free (w->hit);
    free (w);
    *wp = NULL;
}

void
ih_bench_watch_counts (ih_bench_watch_t *w, uint64_t *events, uint64_t *timeouts)
{
    *events = w->events;
    *timeouts = w->timeouts;
}

bool
ih_bench_watch_wait (ih_bench_watch_t *w, uint64_t seq, int timeout_ms)
{
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    while (true) {
        bool all = true;
        for (size_t i = 0; i < w->n; i++)
            if (w->a [i]->cursor < seq)
                all = false;
        if (all)
            return true;
        if (ih_bench_now_ns () > deadline)
            return false;
        usleep (2000);
    }
}

/* ---- the paced publisher ------------------------------------------------------------------- */
void *
ih_bench_paced_thread (void *arg)
{
    ih_bench_paced_t *p = (ih_bench_paced_t *) arg;
    size_t n = p->alerts->count, sent = 0, answered = 0;
    double gap_ns = 1e9 / p->rate;
    zmq_pollitem_t it = { p->sock, 0, ZMQ_POLLIN, 0 };
    p->t_first = ih_bench_now_ns ();
    int64_t give_up = 0;
    while (answered < n) {
        int64_t now = ih_bench_now_ns ();
        while (sent < n && now >= p->t_first + (int64_t) ((double) sent * gap_ns)) {
            const ih_buf_t *env = &p->alerts->envs [sent];
            p->t_send [sent] = ih_bench_now_ns ();
            if (zmq_send (p->sock, env->data, env->len, 0) != (int) env->len) {
                snprintf (p->error, sizeof p->error, "publish: %s", zmq_strerror (zmq_errno ()));
                p->rc = -1;
                return NULL;
            }
            sent++;
            now = ih_bench_now_ns ();
        }
        if (sent == n && give_up == 0)
            give_up = now + 30000000000LL;
        if (give_up && now > give_up) {
            snprintf (p->error, sizeof p->error, "%zu of %zu publishes unanswered 30 s after the last",
                      n - answered, n);
            p->rc = -1;
            return NULL;
        }
        long wait_ms = 100;
        if (sent < n) {
            int64_t next = p->t_first + (int64_t) ((double) sent * gap_ns);
            //  rounded up: a poll of 0 ms between sends a millisecond apart would spin a
            //  core the agents under test need (the send is timed when it happens)
            wait_ms = next > now ? (long) ((next - now + 999999) / 1000000) : 0;
        }
        if (zmq_poll (&it, 1, wait_ms) <= 0)
            continue;
        while (true) {
            zmq_msg_t msg;
            zmq_msg_init (&msg);
            if (zmq_msg_recv (&msg, p->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close (&msg);
                break;
            }
            ih_env_t e;
            ih_err_t err;
            if (ih_env_decode (&e, zmq_msg_data (&msg), zmq_msg_size (&msg), &err) == 0) {
                if (e.type == IH_T_OK && e.req >= 1 && e.req <= n) {
                    p->seq [e.req - 1] = e.seq;
                    p->t_ok [e.req - 1] = ih_bench_now_ns ();
                    p->ok++;
                    answered++;
                }
                else
                if (e.type == IH_T_ERROR) {
                    snprintf (p->error, sizeof p->error, "publish refused: %s: %s", e.code, e.reason);
                    p->rc = -1;
                    ih_env_free (&e);
                    zmq_msg_close (&msg);
                    return NULL;
                }
                ih_env_free (&e);
            }
            zmq_msg_close (&msg);
        }
    }
    p->t_last = ih_bench_now_ns ();
    return NULL;
}
