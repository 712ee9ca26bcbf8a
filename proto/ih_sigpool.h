/*  ih_sigpool.h: verifies batches of ed25519 message signatures on several threads.

    Verification is the largest cost per message of the broker and of every subscriber
    (40 to 100 us for one signature on the machines this was measured on), so a batch is
    verified by the calling thread and up to IH_SIGPOOL_MAX - 1 helper threads together:
    the broker's publishes (ih_sigpool_verify: each job is verified as ih_verify (sig,
    IH_CTX_MSG, body, len, pk) and gets its own `ok`), and a subscriber's deliveries
    (ih_sigpool_run: any work per item, there the decode and verification of each body).

    Work is handed out one item at a time from a shared counter, so a thread that the
    machine's other load holds back delays the batch by one item at most: the others take
    what it has not started. The helpers only read what the caller prepared and write the
    results of their own items; the hand-over under the pool's mutex orders that with the
    caller, which gets control back only when every item is done. Small batches (fewer
    than 4 items) are done by the caller alone.

    Threading: one pool belongs to the thread that calls ih_sigpool_verify and
    ih_sigpool_run.
*/
#ifndef IH_SIGPOOL_H
#define IH_SIGPOOL_H

#include "ih_util.h"

#define IH_SIGPOOL_MAX 4            /* threads verifying, the caller's included */

typedef struct {
    const uint8_t *sig;             /* 64 bytes */
    const uint8_t *body;
    size_t len;
    const uint8_t *pk;              /* 32 bytes */
    bool ok;                        /* out */
} ih_sigjob_t;

typedef struct ih_sigpool ih_sigpool_t;

/*  Starts `helpers` helper threads; SIZE_MAX = one per CPU beyond the first (at most
    IH_SIGPOOL_MAX - 1). A helper that cannot start is done without. Never NULL. */
ih_sigpool_t *ih_sigpool_new(size_t helpers);
/*  Stops and joins the helpers. Safe twice. */
void ih_sigpool_destroy(ih_sigpool_t **self_p);
/*  Helper threads running. */
size_t ih_sigpool_helpers(ih_sigpool_t *self);
/*  Verifies jobs[0..n-1], setting each one's ok; returns how many verified. */
size_t ih_sigpool_verify(ih_sigpool_t *self, ih_sigjob_t *jobs, size_t n);

/*  Calls fn (arg, i) once for every i in [0, n), on the caller's thread and the helpers'
    at once, and returns when every call has returned. fn must be safe to run on several
    threads at a time for different i (each call writes only what belongs to its i). */
typedef void (ih_sigpool_fn)(void *arg, size_t i);
void ih_sigpool_run(ih_sigpool_t *self, ih_sigpool_fn *fn, void *arg, size_t n);

/*  ih_sigpool_run in two halves, so that the caller can do other work while the helpers
    start on the batch (the subscriber stores batch n while they verify batch n+1):
    ih_sigpool_start hands the batch to the helpers and returns at once; ih_sigpool_wait
    does whatever they have not taken yet on the caller's thread and returns when every
    call has returned. Until then, everything fn reads and writes belongs to the batch,
    and the caller must not touch it. One batch at a time: start, wait, start, ...;
    wait without a start returns at once. Without helpers (or for fewer than 4 items),
    the whole batch runs in ih_sigpool_wait. */
void ih_sigpool_start(ih_sigpool_t *self, ih_sigpool_fn *fn, void *arg, size_t n);
void ih_sigpool_wait(ih_sigpool_t *self);

void ih_sigpool_test(bool verbose);

#endif
