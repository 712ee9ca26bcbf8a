/*  ih_sigpool.c: parallel signature verification. See ih_sigpool.h.

    Fork-join with a generation counter: the caller publishes the batch and bumps the
    generation; every thread, the caller included, takes the next item from an atomic
    counter until none is left. A helper joins a batch only while it is open, counting
    itself active; once the caller has run out of items it closes the batch and waits
    for the active helpers to finish the items they took. A helper that wakes after that
    (the machine was busy elsewhere) finds the batch closed and waits for the next one:
    the caller never waits for a thread that has not started.
*/
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ih_sigpool.h"
#include "ih_sign.h"

struct ih_sigpool {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t threads [IH_SIGPOOL_MAX - 1];
    size_t nthreads;
    bool quit;
    uint64_t generation;            //  one per batch
    bool closed;                    //  no helper may join this batch any more
    size_t active;                  //  helpers working on this batch
    ih_sigpool_fn *fn;              //  the batch: fn (arg, i) for i < n
    void *arg;
    size_t n;
    atomic_size_t next;             //  the next item nobody took yet
    bool started;                   //  the caller's: a batch started, not waited for
};

static void
s_work (ih_sigpool_t *self)
{
    size_t i;
    while ((i = atomic_fetch_add_explicit (&self->next, 1, memory_order_relaxed)) < self->n)
        self->fn (self->arg, i);
}

static void *
s_helper (void *arg)
{
    pthread_setname_np (pthread_self (), "ih-verify");
    ih_sigpool_t *self = (ih_sigpool_t *) arg;
    uint64_t seen = 0;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (self->generation == seen && !self->quit)
            pthread_cond_wait (&self->go, &self->lock);
        if (self->quit)
            break;
        seen = self->generation;
        if (self->closed)
            continue;           //  too late: the caller has done this batch
        self->active++;
        pthread_mutex_unlock (&self->lock);
        s_work (self);
        pthread_mutex_lock (&self->lock);
        if (--self->active == 0)
            pthread_cond_signal (&self->done);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

ih_sigpool_t *
ih_sigpool_new (size_t helpers)
{
    ih_sign_init ();
    ih_sigpool_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    if (helpers == SIZE_MAX) {
        long cpus = sysconf (_SC_NPROCESSORS_ONLN);
        helpers = cpus > 1 ? (size_t) cpus - 1 : 0;
    }
    if (helpers > IH_SIGPOOL_MAX - 1)
        helpers = IH_SIGPOOL_MAX - 1;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->go, NULL);
    pthread_cond_init (&self->done, NULL);
    //  Helpers inherit a full signal mask: signals go to the caller's thread, where they
    //  interrupt its poll
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    for (size_t i = 0; i < helpers; i++) {
        if (pthread_create (&self->threads [i], NULL, s_helper, self) != 0)
            break;
        self->nthreads++;
    }
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return self;
}

void
ih_sigpool_destroy (ih_sigpool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_sigpool_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->quit = true;
    pthread_cond_broadcast (&self->go);
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->nthreads; i++)
        pthread_join (self->threads [i], NULL);
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->go);
    pthread_cond_destroy (&self->done);
    free (self);
    *self_p = NULL;
}

size_t
ih_sigpool_helpers (ih_sigpool_t *self)
{
    return self->nthreads;
}

void
ih_sigpool_start (ih_sigpool_t *self, ih_sigpool_fn *fn, void *arg, size_t n)
{
    assert (!self->started);
    self->started = true;
    self->fn = fn;
    self->arg = arg;
    self->n = n;
    atomic_store_explicit (&self->next, 0, memory_order_relaxed);
    if (n < 4 || self->nthreads == 0)
        return;                 //  the caller does it all in ih_sigpool_wait
    pthread_mutex_lock (&self->lock);
    self->closed = false;
    self->generation++;
    pthread_cond_broadcast (&self->go);
    pthread_mutex_unlock (&self->lock);
}

void
ih_sigpool_wait (ih_sigpool_t *self)
{
    if (!self->started)
        return;
    self->started = false;
    s_work (self);
    if (self->n < 4 || self->nthreads == 0)
        return;
    //  Every item is taken: those of the helpers that joined may still be running.
    pthread_mutex_lock (&self->lock);
    self->closed = true;
    while (self->active > 0)
        pthread_cond_wait (&self->done, &self->lock);
    pthread_mutex_unlock (&self->lock);
}

void
ih_sigpool_run (ih_sigpool_t *self, ih_sigpool_fn *fn, void *arg, size_t n)
{
    ih_sigpool_start (self, fn, arg, n);
    ih_sigpool_wait (self);
}

static void
s_verify_job (void *arg, size_t i)
{
    ih_sigjob_t *j = &((ih_sigjob_t *) arg) [i];
    j->ok = ih_verify (j->sig, IH_CTX_MSG, j->body, j->len, j->pk, NULL) == 0;
}

size_t
ih_sigpool_verify (ih_sigpool_t *self, ih_sigjob_t *jobs, size_t n)
{
    ih_sigpool_run (self, s_verify_job, jobs, n);
    return n;
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
typedef struct {
    atomic_int calls [300];         //  how often fn ran for each i
    int slow_every;                 //  every so many items sleep 1 ms (0: never)
} s_tally_t;

static void
s_tally (void *arg, size_t i)
{
    s_tally_t *t = (s_tally_t *) arg;
    atomic_fetch_add (&t->calls [i], 1);
    if (t->slow_every && i % (size_t) t->slow_every == 0)
        usleep (1000);
}

void
ih_sigpool_test (bool verbose)
{
    ih_sign_init ();
    uint8_t pk [IH_PK_LEN], sk [IH_SK_LEN], other_pk [IH_PK_LEN], other_sk [IH_SK_LEN];
    ih_sign_keypair (pk, sk);
    ih_sign_keypair (other_pk, other_sk);
    enum { N = 37 };
    uint8_t bodies [N][64], sigs [N][IH_SIG_LEN];
    ih_sigjob_t jobs [N];
    for (size_t i = 0; i < N; i++) {
        memset (bodies [i], (int) i, sizeof bodies [i]);
        ih_sign (sigs [i], IH_CTX_MSG, bodies [i], sizeof bodies [i], sk);
        jobs [i] = (ih_sigjob_t) { sigs [i], bodies [i], sizeof bodies [i], pk, false };
    }
    //  Every third signature is broken: a flipped bit, a different key, another context
    for (size_t i = 0; i < N; i += 3) {
        if (i % 9 == 0)
            sigs [i][10] ^= 1;
        else
        if (i % 9 == 3)
            jobs [i].pk = other_pk;
        else
            ih_sign (sigs [i], IH_CTX_MEMBER, bodies [i], sizeof bodies [i], sk);
    }
    size_t sizes [] = { 0, 1, 3, 4, 5, N };
    size_t helpers [] = { 0, 1, 3, SIZE_MAX };
    for (size_t h = 0; h < sizeof helpers / sizeof helpers [0]; h++) {
        ih_sigpool_t *pool = ih_sigpool_new (helpers [h]);
        IH_CHECK (pool);
        IH_CHECK (ih_sigpool_helpers (pool) <= IH_SIGPOOL_MAX - 1);
        if (verbose && h == 3)
            printf ("\n   %zu helper threads on this machine\n", ih_sigpool_helpers (pool));
        //  several batches on the same pool, of every size
        for (int round = 0; round < 3; round++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes [0]; s++) {
                for (size_t i = 0; i < N; i++)
                    jobs [i].ok = i % 3 == 0;           //  the opposite of the truth
                IH_CHECK (ih_sigpool_verify (pool, jobs, sizes [s]) == sizes [s]);
                for (size_t i = 0; i < sizes [s]; i++)
                    IH_CHECK (jobs [i].ok == (i % 3 != 0));
                for (size_t i = sizes [s]; i < N; i++)
                    IH_CHECK (jobs [i].ok != (i % 3 != 0));    //  untouched
            }
        //  ih_sigpool_run calls fn once per item, whatever the sizes and the delays,
        //  batch after batch (a helper that wakes late must never take an item of a
        //  later batch with the fn of an earlier one)
        static s_tally_t tally;
        size_t run_sizes [] = { 0, 1, 3, 4, 7, 64, 300 };
        for (int round = 0; round < 20; round++)
            for (size_t s = 0; s < sizeof run_sizes / sizeof run_sizes [0]; s++) {
                size_t n = run_sizes [s];
                for (size_t i = 0; i < 300; i++)
                    atomic_store (&tally.calls [i], 0);
                tally.slow_every = round % 4 == 1 ? 16 : round % 4 == 3 ? 1 : 0;
                if (tally.slow_every == 1 && n > 7)
                    continue;       //  a 1 ms sleep per item: the small batches only
                ih_sigpool_run (pool, s_tally, &tally, n);
                for (size_t i = 0; i < 300; i++)
                    IH_CHECK (atomic_load (&tally.calls [i]) == (i < n ? 1 : 0));
            }
        //  start and wait: the caller away for a while (the helpers may finish the
        //  batch alone) or back at once (it takes its share), and wait without a start
        ih_sigpool_wait (pool);
        for (int round = 0; round < 8; round++)
            for (size_t s = 0; s < sizeof run_sizes / sizeof run_sizes [0]; s++) {
                size_t n = run_sizes [s];
                for (size_t i = 0; i < 300; i++)
                    atomic_store (&tally.calls [i], 0);
                tally.slow_every = round % 2 ? 32 : 0;
                ih_sigpool_start (pool, s_tally, &tally, n);
                if (round % 4 < 2)
                    usleep (2000);
                ih_sigpool_wait (pool);
                for (size_t i = 0; i < 300; i++)
                    IH_CHECK (atomic_load (&tally.calls [i]) == (i < n ? 1 : 0));
            }
        ih_sigpool_wait (pool);
        ih_sigpool_destroy (&pool);
        ih_sigpool_destroy (&pool);
        IH_CHECK (pool == NULL);
    }
}
#endif
