/*  ih_limiter.h: the broker's state for the limits of ih_limits.h, per member key: two
    token buckets (messages and bytes a second, IH_LIMITS_BURST_S seconds' worth each),
    the bytes journaled today, and the share of the batch being drained.

    Reading order: ih_limiter_take decides each message before the broker does anything
    costly with it; a publish let through holds its bytes against the day's quota until
    ih_limiter_done; what was journaled is staged, written and committed with the batch
    (like ih_owed.h), so the day's count survives a restart exactly.

    Threading: one limiter belongs to the broker's thread.
*/
#ifndef IH_LIMITER_H
#define IH_LIMITER_H

#include "ih_journal.h"
#include "ih_limits.h"

typedef struct ih_limiter ih_limiter_t;

ih_limiter_t *ih_limiter_new(void);
void ih_limiter_destroy(ih_limiter_t **self_p);

/*  Reads today's quotas back from the journal (wall_ms: now). Returns 0 or -1 with err. */
int ih_limiter_load(ih_limiter_t *self, ih_journal_t *journal, int64_t wall_ms, ih_err_t *err);

/*  Decides one message of key (Z85, 40 chars) carrying bytes body bytes (0 for a
    request), at mono_ms (monotonic) and wall_ms (for the day). Returns 0 when it may go
    on: it is charged to the buckets, and its bytes are held against the day's quota
    until ih_limiter_done. Otherwise nothing is charged, and the return is how many ms
    to wait before trying again (at least 1), *which naming the limit that refused
    ("messages-per-s", "bytes-per-s" or "bytes-per-day"). */
uint64_t ih_limiter_take(ih_limiter_t *self, const char *key, const ih_limits_t *lim,
                         size_t bytes, int64_t mono_ms, int64_t wall_ms, const char **which);
/*  A publish that ih_limiter_take let through is finished (answered): its hold on the
    day's quota ends (what was journaled is counted by commit). */
void ih_limiter_done(ih_limiter_t *self, const char *key, size_t bytes);

/*  The day's quota, journaled with the batch, like ih_owed: stage each journaled body
    inside the write transaction, write the staged totals into it (IH_OK, IH_EMAPFULL or
    IH_EFAIL as ih_journal_meta_put), then commit them once the transaction committed,
    or discard them when it did not. */
void ih_limiter_stage(ih_limiter_t *self, const char *key, size_t bytes);
int ih_limiter_write(ih_limiter_t *self, ih_journal_t *journal, int64_t wall_ms, ih_err_t *err);
void ih_limiter_commit(ih_limiter_t *self);
void ih_limiter_discard(ih_limiter_t *self);

/*  Bytes of key journaled today (committed). */
uint64_t ih_limiter_used_today(ih_limiter_t *self, const char *key, int64_t wall_ms);

/*  A member that keeps sending after it was told `rate-limited` (it ignores retry_after)
    is cut off for a while: its connections are closed and new ones refused at the
    handshake until `until` (monotonic ms). ih_limiter_cooling says whether key is. */
void ih_limiter_cool_off(ih_limiter_t *self, const char *key, int64_t until);
bool ih_limiter_cooling(ih_limiter_t *self, const char *key, int64_t mono_ms);

/*  A batch's share per key: ih_limiter_batch_note counts one more publish of key in the
    batch being drained and returns the count; ih_limiter_batch_end starts a new batch. */
uint32_t ih_limiter_batch_note(ih_limiter_t *self, const char *key);
void ih_limiter_batch_end(ih_limiter_t *self);

void ih_limiter_test(bool verbose);

#endif
