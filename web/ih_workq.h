/*  ih_workq.h: the web layer's workers, shared fairly between client addresses. The
    server (ih_http.c) runs every route's handler, and every part of a stream, as a job
    here, tagged with the address of the client that asked for it; its own threads
    (libmicrohttpd's) only move bytes and answer from the cache.

    WHY. libmicrohttpd hands each connection to one of its threads for good, and a handler
    runs on that thread: one address that kept eight expensive requests running held every
    thread, and a cheap page of anyone else waited behind them (its median went from a
    millisecond to the time of an expensive request). Counting connections per address
    does not help: eight connections are far below any sane cap.

    THE RULE. A free worker takes, among the jobs waiting, one of the address that has the
    fewest jobs running (the oldest such job: one address's jobs run in the order they
    came), and never starts more than per_key_running jobs of one address at once. So an
    address that floods gets its share of the workers and waits for the rest, and a client
    that asks for one page gets the next free worker, or a worker that was kept free: with
    per_key_running below the number of workers, one address cannot hold them all.
    ih_workq_busy says when an address already has per_key_queued jobs waiting: the server
    then answers a new request from it 429 with a Retry-After, at once, rather than let it
    wait behind its own flood. Parts of a stream already answered are never refused.

    ADDRESSES. A key is 16 bytes: an IPv4 address as ::ffff:a.b.c.d, an IPv6 address cut
    to its /64 (one host usually has a whole /64, and may use any address in it). Everyone
    behind one NAT, proxy or CDN is one address here: a gateway only a proxy reaches
    should lift the per-address limits (the gateway's http/per-ip-workers and
    http/per-ip-queue, 0).

    JOBS. The caller owns each job's memory (ih_workq_job_t, inside its own request
    state) until fn runs; fn is called exactly once: on a worker (cancelled false), or
    with cancelled true when the queue stops before running it, or at once, on the
    submitting thread, when it is already stopping.

    Threading: submit and busy from any thread; new and destroy from one.
*/
#ifndef IH_WORKQ_H
#define IH_WORKQ_H

#include <stdbool.h>
#include <stdint.h>

#define IH_WORKQ_KEY 16

typedef struct ih_workq ih_workq_t;
typedef struct ih_workq_entry ih_workq_entry_t;

/*  What a job does; arg is the submitter's. cancelled: the queue stopped first. */
typedef void (ih_workq_fn)(void *arg, bool cancelled);

typedef struct ih_workq_job {
    struct ih_workq_job *next;      /* the queue's own */
    ih_workq_entry_t *entry;        /* the queue's own: its address's counts */
    ih_workq_fn *fn;
    void *arg;
} ih_workq_job_t;

typedef struct {
    unsigned workers;               /* threads; 0 = 2 */
    unsigned per_key_running;       /* jobs of one address running at once; 0 = half the
                                       workers (at least 1); workers or more: no cap */
    unsigned per_key_queued;        /* ih_workq_busy beyond this many waiting; 0 = never */
    const char *name;               /* for the log; NULL = "http" */
} ih_workq_cfg_t;

/*  Starts the workers. Aborts when it cannot make a thread (as on memory). */
ih_workq_t *ih_workq_new(const ih_workq_cfg_t *cfg);
/*  The key of a socket address (struct sockaddr *: AF_INET or AF_INET6; anything else is
    one key of zeros). */
void ih_workq_key(const void *sockaddr, uint8_t key [IH_WORKQ_KEY]);
/*  True when key already has per_key_queued jobs waiting. */
bool ih_workq_busy(ih_workq_t *self, const uint8_t key [IH_WORKQ_KEY]);
/*  Queues job (fn(arg) for key). Returns 0, or -1 when the queue is stopping: fn was then
    called at once, cancelled. */
int ih_workq_submit(ih_workq_t *self, ih_workq_job_t *job, const uint8_t key [IH_WORKQ_KEY],
                    ih_workq_fn *fn, void *arg);
/*  Jobs waiting and running now (for tests and metrics). */
void ih_workq_counts(ih_workq_t *self, unsigned *waiting, unsigned *running);
/*  Stops: no job starts any more, the running ones finish, every one still waiting is
    called cancelled (on this thread), the workers are joined. The queue then refuses
    (and cancels) what is submitted, until destroyed. Safe twice. */
void ih_workq_stop(ih_workq_t *self);
/*  Stops (as ih_workq_stop) and frees; safe twice, nulls *self_p. */
void ih_workq_destroy(ih_workq_t **self_p);

void ih_workq_test(bool verbose);

#endif
