/*  ih_stage.c: a pipeline stage on a thread of its own. See ih_stage.h.

    One mutex and one condition variable: start sets the job and wakes the thread; the
    thread runs it without the lock, then clears it and wakes the owner. The owner waits
    until the job is cleared. Each side reads what the other wrote only after taking the
    mutex the other released, which is what makes the job's writes visible to the owner.
*/
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "ih_stage.h"
#include "ih_util.h"

struct ih_stage {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running;                   //  the thread started
    bool quit;
    ih_stage_fn *fn;                //  the job, NULL when there is none
    void *arg;
    bool busy;                      //  started and not yet waited for
};

static void *
s_thread (void *arg)
{
    ih_stage_t *self = (ih_stage_t *) arg;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (!self->fn && !self->quit)
            pthread_cond_wait (&self->cond, &self->lock);
        if (!self->fn)
            break;                  //  quit, and nothing left to run
        ih_stage_fn *fn = self->fn;
        void *fn_arg = self->arg;
        pthread_mutex_unlock (&self->lock);
        fn (fn_arg);
        pthread_mutex_lock (&self->lock);
        self->fn = NULL;
        pthread_cond_broadcast (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

ih_stage_t *
ih_stage_new (void)
{
    ih_stage_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    //  The thread gets a full signal mask: signals go to the owner, where they interrupt
    //  its poll
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_SETMASK, &all, &old);
    self->running = pthread_create (&self->thread, NULL, s_thread, self) == 0;
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return self;
}

void
ih_stage_destroy (ih_stage_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_stage_t *self = *self_p;
    ih_stage_wait (self);
    if (self->running) {
        pthread_mutex_lock (&self->lock);
        self->quit = true;
        pthread_cond_broadcast (&self->cond);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->thread, NULL);
    }
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->cond);
    free (self);
    *self_p = NULL;
}

void
ih_stage_start (ih_stage_t *self, ih_stage_fn *fn, void *arg)
{
    if (self->busy) {
        fprintf (stderr, "ih_stage_start: a job is in progress (the owner must wait first)\n");
        abort ();
    }
    self->busy = true;
    if (!self->running) {
        fn (arg);                   //  no thread: the owner's, now
        return;
    }
    pthread_mutex_lock (&self->lock);
    self->fn = fn;
    self->arg = arg;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
}

void
ih_stage_wait (ih_stage_t *self)
{
    if (!self->busy)
        return;
    if (self->running) {
        pthread_mutex_lock (&self->lock);
        while (self->fn)
            pthread_cond_wait (&self->cond, &self->lock);
        pthread_mutex_unlock (&self->lock);
    }
    self->busy = false;
}

bool
ih_stage_busy (ih_stage_t *self)
{
    return self->busy;
}

#ifdef IH_SELFTEST
#include <unistd.h>

typedef struct {
    pthread_t owner;
    bool other_thread;
    uint64_t sum;
    uint64_t upto;
    int sleep_us;
} s_test_job_t;

static void
s_test_job (void *arg)
{
    s_test_job_t *j = (s_test_job_t *) arg;
    j->other_thread = !pthread_equal (pthread_self (), j->owner);
    if (j->sleep_us)
        usleep ((useconds_t) j->sleep_us);
    for (uint64_t i = 1; i <= j->upto; i++)
        j->sum += i;
}

void
ih_stage_test (bool verbose)
{
    if (verbose)
        printf (" * ih_stage: ");
    ih_stage_t *st = ih_stage_new ();
    IH_CHECK (st && !ih_stage_busy (st));
    ih_stage_wait (st);                                 //  nothing started: returns at once

    //  A job runs on the stage's thread, and what it wrote is there after the wait
    s_test_job_t j = { pthread_self (), false, 0, 1000, 20000 };
    ih_stage_start (st, s_test_job, &j);
    IH_CHECK (ih_stage_busy (st));
    ih_stage_wait (st);
    IH_CHECK (!ih_stage_busy (st));
    IH_CHECK (j.other_thread && j.sum == 500500);

    //  Many short jobs in a row, each handed over and waited for
    for (uint64_t k = 0; k < 2000; k++) {
        j = (s_test_job_t) { pthread_self (), false, 0, k, 0 };
        ih_stage_start (st, s_test_job, &j);
        ih_stage_wait (st);
        IH_CHECK (j.sum == k * (k + 1) / 2);
    }
    //  Destroy waits for the job in progress
    j = (s_test_job_t) { pthread_self (), false, 0, 10, 20000 };
    ih_stage_start (st, s_test_job, &j);
    ih_stage_destroy (&st);
    IH_CHECK (st == NULL && j.sum == 55);
    ih_stage_destroy (&st);                             //  safe twice
    if (verbose)
        printf ("OK\n");
}
#endif
