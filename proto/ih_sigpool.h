/*  ih_sigpool.h: verifies batches of ed25519 message signatures on several threads.

    Verification is the broker's largest cost per message (about 100 us for one
    signature on the machines this was measured on), so a batch of publishes is verified
    by the calling thread and up to IH_SIGPOOL_MAX - 1 helper threads together. Each job
    is verified as ih_verify (sig, IH_CTX_MSG, body, len, pk) and gets its own `ok`.

    The helpers only read the jobs' bytes and write their own jobs' `ok`; the hand-over
    under the pool's mutex orders that with the caller, which gets control back only when
    every job is done. Small batches (fewer than 4 jobs) are verified by the caller alone.

    Threading: one pool belongs to the thread that calls ih_sigpool_verify.
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

void ih_sigpool_test(bool verbose);

#endif
