/*  ih_workq.c: the web layer's workers, shared fairly between client addresses (see
    ih_workq.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ih_util.h"
#include "ih_workq.h"

#define s_MAX_WORKERS 256

/*  One address with jobs waiting or running; freed when it has neither. */
struct ih_workq_entry {
    struct ih_workq_entry *next;
    uint8_t key [IH_WORKQ_KEY];
    unsigned running;
    unsigned queued;
};

struct ih_workq {
    ih_workq_cfg_t cfg;
    pthread_mutex_t mx;
    pthread_cond_t cv;
    bool stopping;
    bool stopped;                   /* the workers are joined */
    ih_workq_job_t *head, *tail;    /* waiting, oldest first */
    ih_workq_entry_t *entries;
    unsigned waiting, running;
    unsigned nthreads;
    pthread_t threads [s_MAX_WORKERS];
};

void
ih_workq_key (const void *sockaddr, uint8_t key [IH_WORKQ_KEY])
{
    memset (key, 0, IH_WORKQ_KEY);
    const struct sockaddr *sa = (const struct sockaddr *) sockaddr;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        key [10] = key [11] = 0xff;
        memcpy (key + 12, &((const struct sockaddr_in *) sa)->sin_addr, 4);
    }
    else
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        //  An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) keeps its whole address.
        static const uint8_t mapped [12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        memcpy (key, a, memcmp (a, mapped, 12) == 0 ? 16 : 8);
    }
}

/*  The entry of key (made when make is true and there is none). Under the lock. */
static ih_workq_entry_t *
s_entry (ih_workq_t *self, const uint8_t *key, bool make)
{
    for (ih_workq_entry_t *e = self->entries; e; e = e->next)
        if (memcmp (e->key, key, IH_WORKQ_KEY) == 0)
            return e;
    if (!make)
        return NULL;
    ih_workq_entry_t *e = (ih_workq_entry_t *) calloc (1, sizeof *e);
    if (!e)
        abort ();
    memcpy (e->key, key, IH_WORKQ_KEY);
    e->next = self->entries;
    self->entries = e;
    return e;
}

/*  Frees e when it has no job left. Under the lock. */
static void
s_entry_done (ih_workq_t *self, ih_workq_entry_t *e)
{
    if (e->running || e->queued)
        return;
    for (ih_workq_entry_t **p = &self->entries; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            free (e);
            return;
        }
}

/*  The job to run next, unlinked: the oldest job of an address with the fewest jobs
    running, below the cap; NULL when none may start. Under the lock. */
static ih_workq_job_t *
s_pick (ih_workq_t *self)
{
    ih_workq_job_t *best = NULL, *best_prev = NULL, *prev = NULL;
    for (ih_workq_job_t *j = self->head; j; prev = j, j = j->next) {
        unsigned run = j->entry->running;
        if (run >= self->cfg.per_key_running)
            continue;
        if (!best || run < best->entry->running) {
            best = j;
            best_prev = prev;
            if (run == 0)
                break;              //  nobody has fewer: the oldest such job
        }
    }
    if (!best)
        return NULL;
    if (best_prev)
        best_prev->next = best->next;
    else
        self->head = best->next;
    if (self->tail == best)
        self->tail = best_prev;
    best->next = NULL;
    return best;
}

static void *
s_worker (void *arg)
{
    ih_workq_t *self = (ih_workq_t *) arg;
    pthread_mutex_lock (&self->mx);
    while (!self->stopping) {
        ih_workq_job_t *job = s_pick (self);
        if (!job) {
            pthread_cond_wait (&self->cv, &self->mx);
            continue;
        }
        ih_workq_entry_t *e = job->entry;
        e->queued--;
        e->running++;
        self->waiting--;
        self->running++;
        pthread_mutex_unlock (&self->mx);
        job->fn (job->arg, false);      //  job may be gone after this
        pthread_mutex_lock (&self->mx);
        e->running--;
        self->running--;
        s_entry_done (self, e);
        //  A job of that address held back by the cap may start now: if this worker does
        //  not take it, another should look.
        if (self->head)
            pthread_cond_signal (&self->cv);
    }
    pthread_mutex_unlock (&self->mx);
    return NULL;
}

ih_workq_t *
ih_workq_new (const ih_workq_cfg_t *cfg)
{
    ih_workq_t *self = (ih_workq_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->cfg = *cfg;
    if (!self->cfg.workers)
        self->cfg.workers = 2;
    if (self->cfg.workers > s_MAX_WORKERS)
        self->cfg.workers = s_MAX_WORKERS;
    if (!self->cfg.per_key_running)
        self->cfg.per_key_running = self->cfg.workers / 2 ? self->cfg.workers / 2 : 1;
    if (!self->cfg.name)
        self->cfg.name = "http";
    pthread_mutex_init (&self->mx, NULL);
    pthread_cond_init (&self->cv, NULL);
    for (unsigned i = 0; i < self->cfg.workers; i++) {
        if (pthread_create (&self->threads [i], NULL, s_worker, self) != 0) {
            fprintf (stderr, "E %s: cannot start a worker thread\n", self->cfg.name);
            abort ();
        }
        self->nthreads++;
    }
    return self;
}

bool
ih_workq_busy (ih_workq_t *self, const uint8_t key [IH_WORKQ_KEY])
{
    pthread_mutex_lock (&self->mx);
    bool busy = false;
    if (self->cfg.per_key_queued) {
        ih_workq_entry_t *e = s_entry (self, key, false);
        busy = e && e->queued >= self->cfg.per_key_queued;
    }
    pthread_mutex_unlock (&self->mx);
    return busy;
}

int
ih_workq_submit (ih_workq_t *self, ih_workq_job_t *job, const uint8_t key [IH_WORKQ_KEY],
                 ih_workq_fn *fn, void *arg)
{
    job->fn = fn;
    job->arg = arg;
    job->next = NULL;
    pthread_mutex_lock (&self->mx);
    if (self->stopping) {
        pthread_mutex_unlock (&self->mx);
        fn (arg, true);
        return -1;
    }
    job->entry = s_entry (self, key, true);
    job->entry->queued++;
    self->waiting++;
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
    pthread_cond_signal (&self->cv);
    pthread_mutex_unlock (&self->mx);
    return 0;
}

void
ih_workq_counts (ih_workq_t *self, unsigned *waiting, unsigned *running)
{
    pthread_mutex_lock (&self->mx);
    *waiting = self->waiting;
    *running = self->running;
    pthread_mutex_unlock (&self->mx);
}

void
ih_workq_stop (ih_workq_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->mx);
    if (self->stopped) {
        pthread_mutex_unlock (&self->mx);
        return;
    }
    self->stopping = true;
    pthread_cond_broadcast (&self->cv);
    pthread_mutex_unlock (&self->mx);
    for (unsigned i = 0; i < self->nthreads; i++)
        pthread_join (self->threads [i], NULL);
    //  The workers are gone: what waits is cancelled here, outside the lock (its fn may
    //  call back into the server).
    pthread_mutex_lock (&self->mx);
    ih_workq_job_t *j = self->head;
    self->head = self->tail = NULL;
    self->stopped = true;
    while (j) {
        ih_workq_job_t *next = j->next;
        ih_workq_entry_t *e = j->entry;
        e->queued--;
        self->waiting--;
        s_entry_done (self, e);
        pthread_mutex_unlock (&self->mx);
        j->fn (j->arg, true);
        pthread_mutex_lock (&self->mx);
        j = next;
    }
    pthread_mutex_unlock (&self->mx);
}

void
ih_workq_destroy (ih_workq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_workq_t *self = *self_p;
    ih_workq_stop (self);
    while (self->entries) {
        ih_workq_entry_t *e = self->entries;
        self->entries = e->next;
        free (e);
    }
    pthread_cond_destroy (&self->cv);
    pthread_mutex_destroy (&self->mx);
    free (self);
    *self_p = NULL;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include <stdatomic.h>
#include <unistd.h>

#include "ih_testkit.h"

typedef struct {
    ih_workq_job_t job;
    int id;
    int gate;                       /* wait until s_open >= gate before finishing */
    atomic_int *order;              /* where the start order goes */
    int started;                    /* its place in the start order (1 = first) */
    bool cancelled;
    bool done;
} s_job_t;

static atomic_int s_open;
static atomic_int s_starts;

static void
s_run (void *arg, bool cancelled)
{
    s_job_t *j = (s_job_t *) arg;
    j->cancelled = cancelled;
    if (!cancelled) {
        j->started = atomic_fetch_add (&s_starts, 1) + 1;
        while (atomic_load (&s_open) < j->gate)
            usleep (1000);
    }
    j->done = true;
}

static void
s_wait_running (ih_workq_t *q, unsigned want)
{
    for (int i = 0; i < 5000; i++) {
        unsigned w, r;
        ih_workq_counts (q, &w, &r);
        if (r == want)
            return;
        usleep (1000);
    }
    IH_CHECK (false);
}

void
ih_workq_test (bool verbose)
{
    //  Keys: IPv4 whole, IPv6 by its /64, a mapped IPv4 whole.
    struct sockaddr_in a4;
    memset (&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    inet_pton (AF_INET, "127.0.0.2", &a4.sin_addr);
    uint8_t k1 [IH_WORKQ_KEY], k2 [IH_WORKQ_KEY];
    ih_workq_key (&a4, k1);
    struct sockaddr_in6 a6;
    memset (&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    inet_pton (AF_INET6, "::ffff:127.0.0.2", &a6.sin6_addr);
    ih_workq_key (&a6, k2);
    IH_CHECK (memcmp (k1, k2, IH_WORKQ_KEY) == 0);
    inet_pton (AF_INET6, "2001:db8:1:2:aaaa::1", &a6.sin6_addr);
    ih_workq_key (&a6, k1);
    inet_pton (AF_INET6, "2001:db8:1:2:bbbb::7", &a6.sin6_addr);
    ih_workq_key (&a6, k2);
    IH_CHECK (memcmp (k1, k2, IH_WORKQ_KEY) == 0);
    inet_pton (AF_INET6, "2001:db8:1:3::1", &a6.sin6_addr);
    ih_workq_key (&a6, k2);
    IH_CHECK (memcmp (k1, k2, IH_WORKQ_KEY) != 0);

    //  Two workers, one job of an address at a time, three waiting at most. A floods
    //  with 6 jobs; B's one job, submitted last, starts second (A holds one worker, the
    //  other was kept free for the others); A's run one at a time, in order.
    ih_workq_cfg_t cfg = { .workers = 2, .per_key_queued = 3 };
    ih_workq_t *q = ih_workq_new (&cfg);
    uint8_t ka [IH_WORKQ_KEY] = { 1 }, kb [IH_WORKQ_KEY] = { 2 };
    s_job_t a [6], b;
    memset (a, 0, sizeof a);
    memset (&b, 0, sizeof b);
    atomic_store (&s_open, 0);
    atomic_store (&s_starts, 0);
    for (int i = 0; i < 6; i++) {
        a [i].id = i;
        a [i].gate = i + 1;         //  a[i] finishes once s_open reaches i + 1
        if (i >= 4)
            IH_CHECK (ih_workq_busy (q, ka));
        else
            IH_CHECK (!ih_workq_busy (q, ka));
        IH_CHECK (ih_workq_submit (q, &a [i].job, ka, s_run, &a [i]) == 0);
        if (i == 0)
            s_wait_running (q, 1);
    }
    IH_CHECK (!ih_workq_busy (q, kb));
    b.gate = 0;
    IH_CHECK (ih_workq_submit (q, &b.job, kb, s_run, &b) == 0);
    for (int i = 0; i < 2000 && !b.done; i++)
        usleep (1000);
    IH_CHECK (b.done && b.started == 2 && a [0].started == 1 && !a [1].started);
    for (int i = 1; i <= 6; i++)
        atomic_store (&s_open, i);
    for (int i = 0; i < 5000 && !a [5].done; i++)
        usleep (1000);
    for (int i = 0; i < 6; i++)
        IH_CHECK (a [i].done && !a [i].cancelled);
    for (int i = 1; i < 6; i++)
        IH_CHECK (a [i].started > a [i - 1].started);
    unsigned w, r;
    ih_workq_counts (q, &w, &r);
    IH_CHECK (w == 0 && r == 0);

    //  Stopping: the running job finishes, the waiting ones are cancelled, a new one is
    //  cancelled at once.
    atomic_store (&s_open, 0);
    s_job_t c [3];
    memset (c, 0, sizeof c);
    c [0].gate = 1;
    IH_CHECK (ih_workq_submit (q, &c [0].job, ka, s_run, &c [0]) == 0);
    s_wait_running (q, 1);
    IH_CHECK (ih_workq_submit (q, &c [1].job, ka, s_run, &c [1]) == 0);
    atomic_store (&s_open, 1);
    ih_workq_stop (q);
    IH_CHECK (c [0].done && !c [0].cancelled);
    IH_CHECK (c [1].done && (c [1].cancelled || c [1].started));
    IH_CHECK (ih_workq_submit (q, &c [2].job, kb, s_run, &c [2]) == -1 && c [2].cancelled);
    ih_workq_destroy (&q);
    ih_workq_destroy (&q);
    IH_CHECK (q == NULL);

    //  More workers than jobs of one address: no cap when per_key_running >= workers.
    ih_workq_cfg_t all = { .workers = 3, .per_key_running = 3 };
    q = ih_workq_new (&all);
    atomic_store (&s_open, 0);
    s_job_t d [3];
    memset (d, 0, sizeof d);
    for (int i = 0; i < 3; i++) {
        d [i].gate = 1;
        IH_CHECK (ih_workq_submit (q, &d [i].job, ka, s_run, &d [i]) == 0);
    }
    s_wait_running (q, 3);
    atomic_store (&s_open, 1);
    ih_workq_destroy (&q);
    for (int i = 0; i < 3; i++)
        IH_CHECK (d [i].done && !d [i].cancelled);
    if (verbose)
        printf ("\n    fair queue: a flood of 6, another address served second, stop cancels");
}
#endif
