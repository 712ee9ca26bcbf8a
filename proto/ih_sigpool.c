/*  ih_sigpool.c: parallel signature verification. See ih_sigpool.h.

    Fork-join with a generation counter: the caller publishes the job and bumps the
    generation, every helper verifies the jobs of its way (job i goes to way i % ways,
    the caller being way 0) and counts itself finished; the caller waits for all.
*/
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ih_sigpool.h"
#include "ih_sign.h"

typedef struct {
    ih_sigpool_t *pool;
    size_t way;
} s_arg_t;

struct ih_sigpool {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t threads [IH_SIGPOOL_MAX - 1];
    s_arg_t args [IH_SIGPOOL_MAX - 1];
    size_t nthreads;
    bool quit;
    uint64_t generation;            //  one per batch
    size_t finished;                //  helpers done with this generation
    ih_sigjob_t *jobs;              //  the batch
    size_t njobs;
    size_t ways;
};

static void
s_verify_way (ih_sigpool_t *self, size_t way)
{
    for (size_t i = way; i < self->njobs; i += self->ways) {
        ih_sigjob_t *j = &self->jobs [i];
        j->ok = ih_verify (j->sig, IH_CTX_MSG, j->body, j->len, j->pk, NULL) == 0;
    }
}

static void *
s_helper (void *arg)
{
    ih_sigpool_t *self = ((s_arg_t *) arg)->pool;
    size_t way = ((s_arg_t *) arg)->way;
    uint64_t seen = 0;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (self->generation == seen && !self->quit)
            pthread_cond_wait (&self->go, &self->lock);
        if (self->quit)
            break;
        seen = self->generation;
        pthread_mutex_unlock (&self->lock);
        s_verify_way (self, way);
        pthread_mutex_lock (&self->lock);
        self->finished++;
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
        self->args [i] = (s_arg_t) { self, i + 1 };
        if (pthread_create (&self->threads [i], NULL, s_helper, &self->args [i]) != 0)
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

size_t
ih_sigpool_verify (ih_sigpool_t *self, ih_sigjob_t *jobs, size_t n)
{
    if (n < 4 || self->nthreads == 0) {
        self->jobs = jobs;
        self->njobs = n;
        self->ways = 1;
        s_verify_way (self, 0);
        return n;
    }
    pthread_mutex_lock (&self->lock);
    self->jobs = jobs;
    self->njobs = n;
    self->ways = self->nthreads + 1;
    self->finished = 0;
    self->generation++;
    pthread_cond_broadcast (&self->go);
    pthread_mutex_unlock (&self->lock);
    s_verify_way (self, 0);
    pthread_mutex_lock (&self->lock);
    while (self->finished < self->nthreads)
        pthread_cond_wait (&self->done, &self->lock);
    pthread_mutex_unlock (&self->lock);
    return n;
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
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
        ih_sigpool_destroy (&pool);
        ih_sigpool_destroy (&pool);
        IH_CHECK (pool == NULL);
    }
}
#endif
