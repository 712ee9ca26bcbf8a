/*  ih_limiter.c: rate limits and a day's quota per member key. See ih_limiter.h.

    Reading order: the state of one key (two token buckets, the day's bytes), the
    decision, the day's quota with the journal, the batch share, the self-test.
*/
#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ih_limiter.h"

#define S_DAY_MS        86400000LL
#define S_META_PREFIX   "quota/"

/* ---- the state of one key ----------------------------------------------------------- */
typedef struct {
    bool filled;                //  the buckets were filled once (a new key starts full)
    double msgs, bytes;         //  tokens
    int64_t refilled;           //  monotonic ms of the last refill
    int64_t day;                //  the UTC day `used` counts
    uint64_t used;              //  journaled that day, committed
    uint64_t held;              //  let through, not yet answered
    uint64_t staged;            //  journaled in the open transaction
    uint64_t batch_gen;
    uint32_t batch_count;
    int64_t cool_until;         //  cut off until then (monotonic ms)
} s_key_t;

struct ih_limiter {
    zhashx_t *keys;             //  Z85 -> s_key_t
    uint64_t batch_gen;
    bool staging;               //  some key has staged bytes
};

static void
s_key_free (void **item)
{
    free (*item);
    *item = NULL;
}

static s_key_t *
s_key (ih_limiter_t *self, const char *key)
{
    s_key_t *k = (s_key_t *) zhashx_lookup (self->keys, key);
    if (!k) {
        k = (s_key_t *) calloc (1, sizeof *k);
        if (!k)
            abort ();
        zhashx_insert (self->keys, key, k);
    }
    return k;
}

ih_limiter_t *
ih_limiter_new (void)
{
    ih_limiter_t *self = (ih_limiter_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->keys = zhashx_new ();             //  string keys, copied
    zhashx_set_destructor (self->keys, s_key_free);
    return self;
}

void
ih_limiter_destroy (ih_limiter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->keys);
    free (*self_p);
    *self_p = NULL;
}

static double
s_cap (uint64_t rate, double floor)
{
    double cap = (double) rate * IH_LIMITS_BURST_S;
    return cap < floor ? floor : cap;
}

//  Refills both buckets up to their capacity for the time since the last refill.
static void
s_refill (s_key_t *k, const ih_limits_t *lim, int64_t now)
{
    double mcap = s_cap (lim->msgs_per_s, 1), bcap = s_cap (lim->bytes_per_s, IH_MAX_FRAME);
    if (!k->filled) {
        k->filled = true;
        k->msgs = mcap;
        k->bytes = bcap;
    }
    else
    if (now > k->refilled) {
        double dt = (double) (now - k->refilled) / 1000.0;
        k->msgs += dt * (double) lim->msgs_per_s;
        k->bytes += dt * (double) lim->bytes_per_s;
    }
    if (k->msgs > mcap)
        k->msgs = mcap;             //  also when the limit was lowered
    if (k->bytes > bcap)
        k->bytes = bcap;
    k->refilled = now;
}

static void
s_roll_day (s_key_t *k, int64_t wall_ms)
{
    int64_t day = wall_ms / S_DAY_MS;
    if (day != k->day) {
        k->day = day;
        k->used = 0;
    }
}

//  ms until `need` tokens, at rate a second, from `have`.
static uint64_t
s_wait (double have, double need, uint64_t rate)
{
    double ms = ceil ((need - have) * 1000.0 / (double) rate);
    return ms < 1 ? 1 : (uint64_t) ms;
}

/* ---- the decision ------------------------------------------------------------------- */
uint64_t
ih_limiter_take (ih_limiter_t *self, const char *key, const ih_limits_t *lim, size_t bytes,
                 int64_t mono_ms, int64_t wall_ms, const char **which)
{
    s_key_t *k = s_key (self, key);
    s_refill (k, lim, mono_ms);
    s_roll_day (k, wall_ms);
    if (lim->msgs_per_s && k->msgs < 1) {
        *which = "messages-per-s";
        return s_wait (k->msgs, 1, lim->msgs_per_s);
    }
    if (lim->bytes_per_s && bytes && k->bytes < (double) bytes) {
        *which = "bytes-per-s";
        return s_wait (k->bytes, (double) bytes, lim->bytes_per_s);
    }
    //  What is held includes what the open transaction staged (the batch is answered,
    //  and so let go, after its commit): each byte counts once here
    if (lim->bytes_per_day && bytes && k->used + k->held + bytes > lim->bytes_per_day) {
        *which = "bytes-per-day";
        uint64_t left = (uint64_t) (S_DAY_MS - wall_ms % S_DAY_MS);
        return left ? left : 1;
    }
    if (lim->msgs_per_s)
        k->msgs -= 1;
    if (lim->bytes_per_s)
        k->bytes -= (double) bytes;
    k->held += bytes;
    return 0;
}

void
ih_limiter_done (ih_limiter_t *self, const char *key, size_t bytes)
{
    s_key_t *k = (s_key_t *) zhashx_lookup (self->keys, key);
    if (k)
        k->held = k->held > bytes ? k->held - bytes : 0;
}

/* ---- the day's quota, with the journal ----------------------------------------------
    meta "quota/" + the key's Z85 -> the UTC day (days since 1970, uint64 big-endian) and
    the bytes journaled that day (uint64 big-endian). */
typedef struct {
    ih_limiter_t *self;
    int64_t day;
} s_load_t;

static int
s_load_one (const char *key, size_t key_len, const uint8_t *val, size_t len, void *arg)
{
    s_load_t *l = (s_load_t *) arg;
    size_t plen = strlen (S_META_PREFIX);
    if (key_len != plen + 40 || len != 16)
        return 0;                   //  not ours: ignore
    char z85 [41];
    memcpy (z85, key + plen, 40);
    z85 [40] = 0;
    if ((int64_t) ih_get_be64 (val) != l->day)
        return 0;                   //  another day's count: today starts at 0
    s_key_t *k = s_key (l->self, z85);
    k->day = l->day;
    k->used = ih_get_be64 (val + 8);
    return 0;
}

int
ih_limiter_load (ih_limiter_t *self, ih_journal_t *journal, int64_t wall_ms, ih_err_t *err)
{
    s_load_t l = { self, wall_ms / S_DAY_MS };
    return ih_journal_meta_walk (journal, S_META_PREFIX, s_load_one, &l, err) < 0 ? -1 : 0;
}

void
ih_limiter_stage (ih_limiter_t *self, const char *key, size_t bytes)
{
    s_key (self, key)->staged += bytes;
    self->staging = true;
}

int
ih_limiter_write (ih_limiter_t *self, ih_journal_t *journal, int64_t wall_ms, ih_err_t *err)
{
    if (!self->staging)
        return IH_OK;
    for (s_key_t *k = (s_key_t *) zhashx_first (self->keys); k;
         k = (s_key_t *) zhashx_next (self->keys)) {
        if (!k->staged)
            continue;
        s_roll_day (k, wall_ms);
        const char *z85 = (const char *) zhashx_cursor (self->keys);
        char name [64];
        snprintf (name, sizeof name, "%s%s", S_META_PREFIX, z85);
        uint8_t val [16];
        ih_put_be64 (val, (uint64_t) k->day);
        ih_put_be64 (val + 8, k->used + k->staged);
        int rc = ih_journal_meta_put (journal, name, val, sizeof val, err);
        if (rc)
            return rc;
    }
    return IH_OK;
}

void
ih_limiter_commit (ih_limiter_t *self)
{
    if (!self->staging)
        return;
    for (s_key_t *k = (s_key_t *) zhashx_first (self->keys); k;
         k = (s_key_t *) zhashx_next (self->keys)) {
        k->used += k->staged;
        k->staged = 0;
    }
    self->staging = false;
}

void
ih_limiter_discard (ih_limiter_t *self)
{
    if (!self->staging)
        return;
    for (s_key_t *k = (s_key_t *) zhashx_first (self->keys); k;
         k = (s_key_t *) zhashx_next (self->keys))
        k->staged = 0;
    self->staging = false;
}

uint64_t
ih_limiter_used_today (ih_limiter_t *self, const char *key, int64_t wall_ms)
{
    s_key_t *k = (s_key_t *) zhashx_lookup (self->keys, key);
    if (!k)
        return 0;
    s_roll_day (k, wall_ms);
    return k->used;
}

/* ---- cutting a flooder off ------------------------------------------------------------ */
void
ih_limiter_cool_off (ih_limiter_t *self, const char *key, int64_t until)
{
    s_key_t *k = s_key (self, key);
    if (until > k->cool_until)
        k->cool_until = until;
}

bool
ih_limiter_cooling (ih_limiter_t *self, const char *key, int64_t mono_ms)
{
    s_key_t *k = (s_key_t *) zhashx_lookup (self->keys, key);
    return k && k->cool_until > mono_ms;
}

/* ---- a batch's share ---------------------------------------------------------------- */
uint32_t
ih_limiter_batch_note (ih_limiter_t *self, const char *key)
{
    s_key_t *k = s_key (self, key);
    if (k->batch_gen != self->batch_gen) {
        k->batch_gen = self->batch_gen;
        k->batch_count = 0;
    }
    return ++k->batch_count;
}

void
ih_limiter_batch_end (ih_limiter_t *self)
{
    self->batch_gen++;
}

/* ---- self-test ---------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_limiter_test (bool verbose)
{
    const char *a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    int64_t wall = 20000 * S_DAY_MS + 1000;         //  a day, one second after midnight
    int64_t now = 1000000;
    const char *which = NULL;

    //  Messages: a full bucket of 10 s at 5/s, then one every 200 ms; another key is
    //  not touched by the first
    ih_limiter_t *lim = ih_limiter_new ();
    ih_limits_t l = { 5, 0, 0 };
    for (int i = 0; i < 5 * IH_LIMITS_BURST_S; i++)
        IH_CHECK (ih_limiter_take (lim, a, &l, 100, now, wall, &which) == 0);
    uint64_t wait = ih_limiter_take (lim, a, &l, 100, now, wall, &which);
    IH_CHECK (wait == 200 && streq (which, "messages-per-s"));
    IH_CHECK (ih_limiter_take (lim, b, &l, 100, now, wall, &which) == 0);
    IH_CHECK (ih_limiter_take (lim, a, &l, 100, now + 100, wall, &which) == 100);
    IH_CHECK (ih_limiter_take (lim, a, &l, 100, now + 200, wall, &which) == 0);
    IH_CHECK (ih_limiter_take (lim, a, &l, 100, now + 200, wall, &which) > 0);
    //  a long pause refills no more than the bucket holds
    now += 3600 * 1000;
    int passed = 0;
    while (ih_limiter_take (lim, a, &l, 100, now, wall, &which) == 0)
        passed++;
    IH_CHECK (passed == 5 * IH_LIMITS_BURST_S);
    //  a lowered limit cuts the bucket down at once
    l.msgs_per_s = 1;
    now += 3600 * 1000;
    passed = 0;
    while (ih_limiter_take (lim, a, &l, 100, now, wall, &which) == 0)
        passed++;
    IH_CHECK (passed == IH_LIMITS_BURST_S);
    ih_limiter_destroy (&lim);
    ih_limiter_destroy (&lim);
    IH_CHECK (lim == NULL);

    //  Bytes: the bucket holds at least one largest message, even at a tiny rate
    lim = ih_limiter_new ();
    l = (ih_limits_t) { 0, 1000, 0 };
    IH_CHECK (ih_limiter_take (lim, a, &l, IH_MAX_FRAME, now, wall, &which) == 0);
    wait = ih_limiter_take (lim, a, &l, 500, now, wall, &which);
    IH_CHECK (wait == 500 && streq (which, "bytes-per-s"));
    IH_CHECK (ih_limiter_take (lim, a, &l, 0, now, wall, &which) == 0);   //  a request costs no bytes
    ih_limiter_destroy (&lim);

    //  The day's quota: what is held counts, what was refused is given back, what was
    //  journaled stays; the next day starts at 0; the journal keeps it across restarts
    char dir [256];
    ih_tk_tempdir ("limits", dir, sizeof dir);
    ih_err_t err;
    ih_journal_t *j = ih_journal_open (dir, 1 << 20, &err);
    IH_CHECK (j);
    lim = ih_limiter_new ();
    IH_CHECK (ih_limiter_load (lim, j, wall, &err) == 0);
    l = (ih_limits_t) { 0, 0, 10000 };
    IH_CHECK (ih_limiter_take (lim, a, &l, 6000, now, wall, &which) == 0);
    wait = ih_limiter_take (lim, a, &l, 6000, now, wall, &which);
    IH_CHECK (streq (which, "bytes-per-day") && wait == (uint64_t) (S_DAY_MS - 1000));
    ih_limiter_done (lim, a, 6000);                 //  refused later: not journaled
    IH_CHECK (ih_limiter_take (lim, a, &l, 6000, now, wall, &which) == 0);
    //  journaled, in a transaction that fails first, then in one that commits
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    ih_limiter_stage (lim, a, 6000);
    IH_CHECK (ih_limiter_write (lim, j, wall, &err) == 0);
    ih_journal_abort (j);
    ih_limiter_discard (lim);
    IH_CHECK (ih_limiter_used_today (lim, a, wall) == 0);
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    ih_limiter_stage (lim, a, 6000);
    IH_CHECK (ih_limiter_take (lim, a, &l, 4001, now, wall, &which) > 0);  //  held
    IH_CHECK (ih_limiter_write (lim, j, wall, &err) == 0);
    IH_CHECK (ih_journal_commit (j, &err) == 0);
    ih_limiter_commit (lim);
    ih_limiter_done (lim, a, 6000);
    IH_CHECK (ih_limiter_used_today (lim, a, wall) == 6000);
    IH_CHECK (ih_limiter_take (lim, a, &l, 4000, now, wall, &which) == 0);
    ih_limiter_done (lim, a, 4000);
    IH_CHECK (ih_limiter_take (lim, a, &l, 4001, now, wall, &which) > 0);
    IH_CHECK (ih_limiter_take (lim, b, &l, 10000, now, wall, &which) == 0);
    ih_limiter_destroy (&lim);
    //  read back after a restart: the same day counts on, the next starts afresh
    lim = ih_limiter_new ();
    IH_CHECK (ih_limiter_load (lim, j, wall + 3600000, &err) == 0);
    IH_CHECK (ih_limiter_used_today (lim, a, wall + 3600000) == 6000);
    IH_CHECK (ih_limiter_take (lim, a, &l, 4001, now, wall + 3600000, &which) > 0);
    IH_CHECK (ih_limiter_take (lim, a, &l, 4001, now, wall + S_DAY_MS, &which) == 0);
    ih_limiter_destroy (&lim);
    lim = ih_limiter_new ();
    IH_CHECK (ih_limiter_load (lim, j, wall + S_DAY_MS, &err) == 0);
    IH_CHECK (ih_limiter_used_today (lim, a, wall + S_DAY_MS) == 0);

    //  Cooling off
    IH_CHECK (!ih_limiter_cooling (lim, a, now) && !ih_limiter_cooling (lim, "nobody", now));
    ih_limiter_cool_off (lim, a, now + 10000);
    IH_CHECK (ih_limiter_cooling (lim, a, now + 9999) && !ih_limiter_cooling (lim, a, now + 10000));
    IH_CHECK (!ih_limiter_cooling (lim, b, now));

    //  The batch share
    IH_CHECK (ih_limiter_batch_note (lim, a) == 1 && ih_limiter_batch_note (lim, a) == 2);
    IH_CHECK (ih_limiter_batch_note (lim, b) == 1);
    ih_limiter_batch_end (lim);
    IH_CHECK (ih_limiter_batch_note (lim, a) == 1);
    ih_limiter_destroy (&lim);
    ih_journal_destroy (&j);
    ih_tk_rmtree (dir);
    (void) verbose;
}
#endif
