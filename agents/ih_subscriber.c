/*  ih_subscriber.c: the subscriber core (see ih_subscriber.h).

    Read top to bottom: the batch (collect, verify, store), one round (two batches overlap), construction, self-test.
*/
#include <inttypes.h>

#include "ih_log.h"
#include "ih_reccache.h"
#include "ih_sigpool.h"
#include "ih_subscriber.h"

/*  A batch is bounded by items and by bytes copied out of the frames, so that one
    transaction stays well inside a heartbeat, and by a third of the window that hello
    announced, so that the broker can send the next batch while one is stored. */
#define s_BATCH_MAX     1024
#define s_BATCH_BYTES   (16 << 20)
#define s_RETRY_MS      5000            /* after a store failure, reconnect after */
/*  With a batch pending, a round waits this long at most for the next delivery (the
    broker refills the window after the previous ack) before it stores the pending one. */
#define s_PENDING_WAIT_MS(timeout_ms)   ((timeout_ms) >= 0 && (timeout_ms) < 5 ? (timeout_ms) : 5)

/*  One batch: the items collected (copies out of the frames), then verified, then
    stored. There are two: while one is stored, the pool's helpers may verify the other
    (see ih_subscriber_poll). */
typedef struct {
    ih_msg_t msgs [s_BATCH_MAX];
    ih_member_t recs [s_BATCH_MAX];
    ih_store_item_t items [s_BATCH_MAX];
    ih_item_t src [s_BATCH_MAX];        /* the collected items, as delivered (arena copies) */
    bool ok [s_BATCH_MAX];              /* verified so far */
    ih_err_t errs [s_BATCH_MAX];        /* why not */
    size_t count;                       /* items collected, not stored yet */
    ih_arena_t arena;                   /* copies of the collected items' bytes */
    size_t arena_bytes;
} s_batch_t;

struct ih_subscriber {
    ih_subscriber_cfg_t cfg;
    char *endpoint, *broker_key, *log_name, *agent;
    uint8_t registry_pk [32];
    ih_store_t *store;                  /* borrowed: the writer */
    ih_client_t *client;
    ih_reccache_t *reccache;            /* member records verified once */
    ih_sigpool_t *pool;                 /* verifies the batch's bodies on every core */
    ih_subscriber_stats_t st;
    s_batch_t batches [2];
    s_batch_t *cur;                     /* collecting */
    s_batch_t *pending;                 /* collected, its bodies being verified by the
                                           pool (ih_sigpool_start), not stored; or NULL */
    size_t batch_max;                   /* a batch is full at so many items (see new) */
    uint64_t last_seq;                  /* highest seq collected (pending or cur) */
};

#define s_log(self, level, ...) ih_log (level, (self)->log_name, __VA_ARGS__)

/*  Counts an item (rejected, refused or stored) and tells the caller before the item's
    log line is written, so that a reader of the counters (the gateway's /metrics) never
    lags behind what the log already says. */
static void
s_count (ih_subscriber_t *self, uint64_t *counter)
{
    (*counter)++;
    if (self->cfg.on_count)
        self->cfg.on_count (&self->st, self->cfg.arg);
}

/* ---- the batch ------------------------------------------------------------------------- */

static const uint8_t *
s_copy (s_batch_t *b, const uint8_t *data, size_t len)
{
    uint8_t *p = (uint8_t *) ih_arena_alloc (&b->arena, len ? len : 1);
    if (len)
        memcpy (p, data, len);
    b->arena_bytes += len;
    return p;
}

/*  What a refused item was, for its log line. */
static void
s_describe (const ih_msg_t *m, uint64_t seq, char *out, size_t size)
{
    const char *tlp = ih_tlp_name (m->tlp) ? ih_tlp_name (m->tlp) : "?";
    if (m->kind == IH_KIND_ALERT)
        ih_fmt (out, size, "alert %s seq %" PRIu64 " (TLP:%s)", m->id, seq, tlp);
    else
    if (m->kind == IH_KIND_SIGHTING)
        ih_fmt (out, size, "sighting seq %" PRIu64 " (TLP:%s)%s%s", seq, tlp,
                *m->ref ? " of alert " : "", m->ref);
    else
        ih_fmt (out, size, "%s on alert %s seq %" PRIu64, ih_kind_name (m->kind), m->ref, seq);
}

/*  Adds the items of a deliver envelope to the batch being collected: their bytes are
    copied out of the frame (which the next receive frees), and verified with the rest of
    the batch before it is stored (s_verify_start, s_verify_finish). */
static void
s_collect (ih_subscriber_t *self, const ih_env_t *e)
{
    s_batch_t *b = self->cur;
    uint64_t cursor = self->st.cursor;
    for (uint32_t i = 0; i < e->item_count && b->count < s_BATCH_MAX; i++) {
        const ih_item_t *src = &e->items [i];
        //  Replayed duplicates (after a reconnect or a second hello) are dropped here.
        if (src->seq <= cursor || src->seq <= self->last_seq)
            continue;
        uint64_t prev = self->last_seq > cursor ? self->last_seq : cursor;
        if (!ih_client_seq_plausible (prev, src->seq)) {
            //  A hostile broker could otherwise park our cursor near UINT64_MAX, after
            //  which every hello is a bad-cursor: the item is dropped, the cursor stays.
            s_count (self, &self->st.rejected);
            s_log (self, 'E', "dropped seq %" PRIu64 " from the broker: more than 2^40 beyond seq %"
                   PRIu64 " (or above 2^62); not storing it, not moving the cursor", src->seq, prev);
            continue;
        }
        size_t k = b->count++;
        self->last_seq = src->seq;
        ih_item_t *c = &b->src [k];
        c->seq = src->seq;
        c->body = s_copy (b, src->body, src->body_len);
        c->body_len = src->body_len;
        c->sig = s_copy (b, src->sig, 64);
        c->rec = s_copy (b, src->rec, src->rec_len);
        c->rec_len = src->rec_len;
        c->rec_sig = s_copy (b, src->rec_sig, 64);
    }
}

/*  One item's body, on any of the pool's threads: decoded and verified against its
    publisher's record (verified already, s_verify_start). Writes only item i's slots. */
static void
s_verify_body (void *arg, size_t i)
{
    s_batch_t *b = (s_batch_t *) arg;
    if (b->ok [i])
        b->ok [i] = ih_client_verify_body (&b->src [i], &b->recs [i], &b->msgs [i],
                                           &b->errs [i]) == 0;
}

/*  Verifies the batch as ih_client_verify_item would, in two halves: each distinct
    member record once, through the cache, here; then the bodies on every core, which
    this only starts (ih_sigpool_start): s_verify_finish waits for them. Until then the
    batch belongs to the pool. */
static void
s_verify_start (ih_subscriber_t *self, s_batch_t *b)
{
    size_t n = b->count;
    for (size_t k = 0; k < n; k++) {
        b->errs [k].msg [0] = 0;
        b->ok [k] = ih_reccache_verify (self->reccache, &b->src [k], &b->recs [k],
                                        &b->errs [k]) == 0;
    }
    ih_sigpool_start (self->pool, s_verify_body, b, n);
}

/*  After the pool is done with the batch's bodies (ih_sigpool_wait), logs, in delivery
    order, what failed and asks the caller's filter about the rest. What is kept gets
    its msg; a rejected or refused item stays without one, and the cursor passes it.
    Runs after the batch before it was stored, so the filter sees that one in the
    store, as in a serial check. */
static void
s_verify_finish (ih_subscriber_t *self, s_batch_t *b)
{
    size_t n = b->count;
    for (size_t k = 0; k < n; k++) {
        ih_store_item_t *it = &b->items [k];
        const ih_item_t *c = &b->src [k];
        memset (it, 0, sizeof *it);
        it->seq = c->seq;
        const ih_member_t *rec = &b->recs [k];
        if (!b->ok [k]) {
            char who [2 * IH_MAX_SHORT + 2] = "unknown member";
            if (rec->name [0])
                ih_fmt (who, sizeof who, "%s@%s", rec->name, rec->org);
            s_count (self, &self->st.rejected);
            s_log (self, 'E', "rejected seq %" PRIu64 " from %s: %s", c->seq, who, b->errs [k].msg);
            continue;           //  not stored; the cursor still passes it
        }
        const ih_msg_t *m = &b->msgs [k];
        const char *why = self->cfg.filter
                        ? self->cfg.filter (m, rec, b->items, k, self->cfg.arg) : NULL;
        if (why) {
            char what [128];
            s_describe (m, c->seq, what, sizeof what);
            s_count (self, &self->st.refused);
            s_log (self, 'E', "refused %s from %s@%s: %s; nothing of it is stored or shown", what,
                   rec->name, rec->org, why);
            continue;           //  as a rejected item: not stored, the cursor passes it
        }
        it->msg = m;
        it->body = c->body;
        it->body_len = c->body_len;
        it->sig = c->sig;
        it->rec = c->rec;
        it->rec_len = c->rec_len;
        it->rec_sig = c->rec_sig;
    }
}

static bool
s_batch_full (ih_subscriber_t *self)
{
    return self->cur->count >= self->batch_max
        || self->cur->count + IH_MAX_ITEMS > s_BATCH_MAX
        || self->cur->arena_bytes > s_BATCH_BYTES;
}

/*  Empties a batch (stored or dropped). */
static void
s_batch_reset (s_batch_t *b)
{
    //  Give the memory of large messages back; verification re-initialises them.
    for (size_t i = 0; i < b->count; i++)
        ih_msg_free (&b->msgs [i]);
    ih_arena_reset (&b->arena);
    b->arena_bytes = 0;
    b->count = 0;
}

/*  Stores a verified batch (s_verify_finish) in one transaction and acknowledges it after
    the commit. Returns the items stored, or -1 when the store refused the batch (the
    session is then dropped: the caller drops whatever else it collected). */
static int
s_store (ih_subscriber_t *self, s_batch_t *b)
{
    size_t n = b->count;
    if (n == 0)
        return 0;
    uint64_t map0 = ih_store_map_size (self->store);
    ih_err_t err = { "" };
    int stored = 0;
    if (ih_store_ingest (self->store, b->items, n, &err) != IH_OK) {
        s_log (self, 'E', "cannot store seq %" PRIu64 "..%" PRIu64 " in %s: %s; retrying in %d s",
               b->items [0].seq, b->items [n - 1].seq, ih_store_dir (self->store), err.msg,
               s_RETRY_MS / 1000);
        //  Nothing was kept and nothing is acknowledged: drop the session and let the
        //  broker replay from the durable cursor later.
        ih_client_reset (self->client, s_RETRY_MS);
        snprintf (self->st.store_error, sizeof self->st.store_error, "%s", err.msg);
        stored = -1;
    }
    else {
        self->st.commits++;
        self->st.store_error [0] = 0;
        uint64_t map1 = ih_store_map_size (self->store);
        if (map1 != map0)
            s_log (self, 'I', "store map grown from %" PRIu64 " to %" PRIu64 " MiB", map0 >> 20, map1 >> 20);
        for (size_t i = 0; i < n; i++) {
            const ih_store_item_t *it = &b->items [i];
            if (!it->msg)
                continue;       //  counted when collected
            if (it->outcome == IH_STORE_REJECTED)
                s_count (self, &self->st.rejected);
            else
            if (it->outcome != IH_STORE_SKIPPED) {
                s_count (self, &self->st.stored);
                stored++;
            }
            if (it->why [0])
                s_log (self, 'E', "seq %" PRIu64 " from %s@%s: %s", it->seq, b->recs [i].name,
                       b->recs [i].org, it->why);
        }
        if (b->items [n - 1].seq > self->st.cursor)
            self->st.cursor = b->items [n - 1].seq;
        ih_err_t aerr = { "" };
        if (ih_client_ack (self->client, self->st.cursor, &aerr) != 0)
            s_log (self, 'W', "%s (will retry)", aerr.msg);
        if (self->cfg.on_commit)
            self->cfg.on_commit (b->items, b->recs, n, self->cfg.arg);
    }
    s_batch_reset (b);
    return stored;
}

/* ---- one round ------------------------------------------------------------------------------ */

/*  Stores the batch whose bodies the pool has verified (ih_sigpool_wait returned since
    its start). Meanwhile the pool may verify the next batch, `next` (started or NULL),
    which is dropped if the store fails (the broker replays both from the durable
    cursor, to the next session). */
static int
s_finish_and_store (ih_subscriber_t *self, s_batch_t *b, s_batch_t *next)
{
    s_verify_finish (self, b);
    int stored = s_store (self, b);
    if (stored < 0 && next) {
        ih_sigpool_wait (self->pool);
        s_batch_reset (next);
        self->pending = NULL;
    }
    return stored;
}

/*  In catch-up, the rounds overlap by one batch: a round starts the pool's helpers on
    the bodies of the batch it collected, stores the batch before it (verified by the
    round before) while they work, and leaves the new batch pending for the next round.
    So the helpers verify while this thread stores. A round overlaps when its batch is
    full (more is waiting) or when it stored a pending batch (its ack lets the broker
    send more); otherwise (nothing more came, or stop) it stores its batch before it
    returns, so a live alert waits for no later round. Everything else is as in a serial
    round: batches are verified, filtered, logged, stored and acknowledged in delivery
    order, one commit each; the cursor moves only with a commit. */
int
ih_subscriber_poll (ih_subscriber_t *self, int timeout_ms)
{
    ih_env_t *e = NULL;
    ih_err_t err = { "" };
    //  With a batch pending, never sleep long on the socket: it waits for its commit.
    int rc = ih_client_recv (self->client, &e, self->pending ? s_PENDING_WAIT_MS (timeout_ms)
                                                            : timeout_ms, &err);
    bool full = false;
    while (rc != 0) {
        if (rc < 0)
            s_log (self, 'W', "bad frame from broker %s: %s", self->endpoint, err.msg);
        else
        if (e->type == IH_T_DELIVER) {
            size_t before = self->cur->count;
            s_collect (self, e);
            if (self->cur->count == before && before == 0 && !self->pending)
                ih_client_ack (self->client, self->st.cursor, NULL);    //  only duplicates
        }
        else
        if (self->cfg.on_event)
            self->cfg.on_event (e, self->cfg.arg);
        //  Take whatever else is already waiting into the same transaction.
        if (self->cfg.stop && *self->cfg.stop)
            break;
        if (s_batch_full (self)) {
            full = true;
            break;
        }
        if (self->cur->count == 0 && !self->pending)
            break;
        err.msg [0] = 0;
        rc = ih_client_recv (self->client, &e, 0, &err);
    }
    bool stop = self->cfg.stop && *self->cfg.stop;
    s_batch_t *prev = self->pending, *b = self->cur->count ? self->cur : NULL;
    int stored = 0;
    //  The pool is done with the pending batch before it starts on the new one.
    ih_sigpool_wait (self->pool);
    self->pending = NULL;
    if (b) {
        s_verify_start (self, b);
        self->cur = b == &self->batches [0] ? &self->batches [1] : &self->batches [0];
        self->pending = b;
    }
    if (prev) {
        stored = s_finish_and_store (self, prev, b);
        if (stored < 0) {
            self->last_seq = 0;
            return -1;
        }
        if (b)
            self->st.overlapped++;
    }
    if (b && (!(full || prev) || stop)) {
        ih_sigpool_wait (self->pool);
        self->pending = NULL;
        int rc2 = s_finish_and_store (self, b, NULL);
        if (rc2 < 0) {
            self->last_seq = 0;
            return -1;
        }
        stored += rc2;
    }
    if (!self->pending)
        self->last_seq = 0;     //  everything collected is committed: the cursor says it
    return stored;
}

void
ih_subscriber_stats (ih_subscriber_t *self, ih_subscriber_stats_t *st)
{
    *st = self->st;
}

ih_client_t *
ih_subscriber_client (ih_subscriber_t *self)
{
    return self->client;
}

/* ---- construction ----------------------------------------------------------------------------- */

static char *
s_strdup (const char *s)
{
    char *d = strdup (s ? s : "");
    if (!d)
        abort ();
    return d;
}

ih_subscriber_t *
ih_subscriber_new (ih_store_t *store, const ih_subscriber_cfg_t *cfg, ih_err_t *err)
{
    ih_subscriber_t *self = (ih_subscriber_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->cfg = *cfg;
    self->endpoint = s_strdup (cfg->endpoint);
    self->broker_key = s_strdup (cfg->broker_key);
    self->log_name = s_strdup (cfg->log_name ? cfg->log_name : "agent");
    self->agent = s_strdup (cfg->agent ? cfg->agent : self->log_name);
    self->cfg.cert = NULL;
    memcpy (self->registry_pk, cfg->registry_pk, 32);
    self->store = store;
    self->reccache = ih_reccache_new (self->registry_pk, IH_RECCACHE_MAX);
    self->pool = ih_sigpool_new (SIZE_MAX);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < s_BATCH_MAX; i++)
            ih_msg_init (&self->batches [k].msgs [i], IH_KIND_ALERT);
        ih_arena_init (&self->batches [k].arena);
    }
    self->cur = &self->batches [0];
    uint32_t window = cfg->window ? cfg->window : 1000;
    //  A third of the window: with one batch pending (up to a third plus one envelope),
    //  the broker may still send a full batch after it.
    self->batch_max = window / 2 < s_BATCH_MAX ? window / 2 : s_BATCH_MAX;
    if (self->batch_max == 0)
        self->batch_max = 1;
    ih_client_cfg_t ccfg = { self->endpoint, self->broker_key, cfg->cert, self->log_name,
                             self->agent, 0, false };
    self->client = ih_client_new (&ccfg, err);
    if (!self->client) {
        ih_subscriber_destroy (&self);
        return NULL;
    }
    self->st.cursor = ih_store_cursor (store);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.cursor = self->st.cursor;
    hello.window = window;
    ih_err_t serr = { "" };
    if (ih_client_subscribe (self->client, &hello, &serr) != 0)
        s_log (self, 'W', "%s", serr.msg);     //  the session logic retries by itself
    return self;
}

void
ih_subscriber_destroy (ih_subscriber_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_subscriber_t *self = *self_p;
    //  A pending batch is dropped unstored and unacknowledged: the broker replays it
    //  from the durable cursor to the next session.
    ih_sigpool_wait (self->pool);
    ih_client_destroy (&self->client);
    ih_sigpool_destroy (&self->pool);
    ih_reccache_destroy (&self->reccache);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < s_BATCH_MAX; i++)
            ih_msg_free (&self->batches [k].msgs [i]);
        ih_arena_free (&self->batches [k].arena);
    }
    free (self->endpoint);
    free (self->broker_key);
    free (self->log_name);
    free (self->agent);
    free (self);
    *self_p = NULL;
}

/* ---- self-test ------------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    size_t commits, stored, events;
    bool saw_welcome;
} s_seen_t;

static const char *
s_test_filter (const ih_msg_t *m, const ih_member_t *rec, const ih_store_item_t *batch, size_t k, void *arg)
{
    (void) rec;
    (void) batch;
    (void) k;
    (void) arg;
    return m->kind == IH_KIND_ALERT && m->tlp == IH_TLP_RED ? "no RED here" : NULL;
}

static void
s_test_commit (const ih_store_item_t *items, const ih_member_t *recs, size_t count, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->commits++;
    for (size_t i = 0; i < count; i++)
        if (items [i].msg && items [i].outcome == IH_STORE_NEW) {
            IH_CHECK (streq (recs [i].org, items [i].msg->org));
            seen->stored++;
        }
}

static void
s_test_event (const ih_env_t *e, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    seen->events++;
    if (e->type == IH_T_WELCOME)
        seen->saw_welcome = true;
}

static void
s_pump (void *arg)
{
    ih_subscriber_poll ((ih_subscriber_t *) arg, 10);
}

void
ih_subscriber_test (bool verbose)
{
    //  A real CURVE session against the test kit's fake broker: hello from the store's
    //  cursor, a delivery of good, forged, filtered, duplicate and implausible items,
    //  one commit, one ack with the right cursor, and a restart that says hello from it.
    char dir [256], sdir [300];
    ih_tk_tempdir ("subscriber", dir, sizeof dir);
    ih_tk_path (sdir, sizeof sdir, dir, "store");
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (sdir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);

    ih_tk_keypair_t reg, other;
    ih_tk_keypair (&reg);
    ih_tk_keypair (&other);
    ih_tk_member_t bank, forger;
    ih_tk_member (&bank, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_tk_member (&forger, &other, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);

    ih_tk_broker_t *broker = ih_tk_broker_new ();
    zcert_t *cert = zcert_new ();
    s_seen_t seen;
    memset (&seen, 0, sizeof seen);
    ih_subscriber_cfg_t cfg = { ih_tk_broker_endpoint (broker), ih_tk_broker_key (broker), cert,
                                reg.pk, 100, "subscriber-test", "selftest/1", NULL,
                                s_test_filter, s_test_commit, s_test_event, NULL, &seen };
    ih_subscriber_t *sub = ih_subscriber_new (store, &cfg, &err);
    IH_CHECK (sub);
    ih_env_t e;
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, sub));
    IH_CHECK (e.cursor == 0 && e.window == 100);
    ih_env_free (&e);
    ih_tk_broker_welcome (broker, 10);

    //  seq 3 good, 4 forged (record signed by another registry), 5 RED (filtered), 6 good,
    //  6 again (duplicate), then 2^41 (implausible)
    ih_msg_t m [4];
    ih_tk_alert (&m [0], &bank, IH_TLP_GREEN, "one");
    ih_tk_alert (&m [1], &forger, IH_TLP_GREEN, "forged");
    ih_tk_alert (&m [2], &bank, IH_TLP_RED, "red");
    ih_tk_alert (&m [3], &bank, IH_TLP_CLEAR, "two");
    ih_tk_item_t t [6];
    ih_tk_item (&t [0], &m [0], &bank, 3);
    ih_tk_item (&t [1], &m [1], &forger, 4);
    ih_tk_item (&t [2], &m [2], &bank, 5);
    ih_tk_item (&t [3], &m [3], &bank, 6);
    ih_tk_item (&t [4], &m [3], &bank, 6);
    ih_tk_item (&t [5], &m [3], &bank, 6 + (1ULL << 41));
    ih_item_t items [6];
    for (int i = 0; i < 6; i++)
        items [i] = t [i].item;
    ih_tk_broker_deliver (broker, items, 3);
    ih_tk_broker_deliver (broker, items + 3, 1);
    ih_tk_broker_deliver (broker, items + 4, 2);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
    //  One batch normally; more when a frame came after a commit.
    while (e.seq < 6) {
        ih_env_free (&e);
        IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
    }
    IH_CHECK (e.seq == 6);
    ih_env_free (&e);
    IH_CHECK (seen.saw_welcome && seen.stored == 2 && seen.commits >= 1);
    ih_subscriber_stats_t st;
    ih_subscriber_stats (sub, &st);
    if (verbose)
        printf ("\n    stored %" PRIu64 ", rejected %" PRIu64 ", refused %" PRIu64 ", commits %" PRIu64,
                st.stored, st.rejected, st.refused, st.commits);
    IH_CHECK (st.cursor == 6 && st.stored == 2 && st.rejected == 2 && st.refused == 1);
    IH_CHECK (ih_store_cursor (store) == 6);
    IH_CHECK (ih_store_get (store, m [0].id, NULL, NULL, &err) == 1);
    IH_CHECK (ih_store_get (store, m [1].id, NULL, NULL, &err) == 0);
    IH_CHECK (ih_store_get (store, m [2].id, NULL, NULL, &err) == 0);
    IH_CHECK (ih_store_get (store, m [3].id, NULL, NULL, &err) == 1);

    //  A batch large enough for the signature pool: 40 alerts in one delivery, every
    //  fifth with a broken signature, every seventh with the publisher's record re-issued
    //  by the registry as a reader's (the same member and keys, other bytes: the cache
    //  never answers for it, and a reader may not publish alerts), in between the
    //  genuine record again. Exactly the genuine, well-signed ones are stored.
    ih_tk_member_t demoted = bank;
    ih_buf_init (&demoted.rec_bytes);
    demoted.rec.role = IH_ROLE_READER;
    IH_CHECK (ih_member_encode (&demoted.rec, &demoted.rec_bytes, &err) == 0);
    ih_sign (demoted.rec_sig, IH_CTX_MEMBER, demoted.rec_bytes.data, demoted.rec_bytes.len, reg.sk);
    enum { BIG = 40 };
    ih_msg_t bm [BIG];
    ih_tk_item_t bt [BIG];
    ih_item_t bitems [BIG];
    size_t want_stored = 0, want_rejected = 0;
    for (int i = 0; i < BIG; i++) {
        char title [32];
        snprintf (title, sizeof title, "batch %d", i);
        ih_tk_alert (&bm [i], &bank, IH_TLP_GREEN, title);
        bool reader = i % 7 == 3, broken = i % 5 == 1;
        ih_tk_item (&bt [i], &bm [i], reader ? &demoted : &bank, 7 + (uint64_t) i);
        if (broken)
            bt [i].sig [5] ^= 1;
        bitems [i] = bt [i].item;
        if (reader || broken)
            want_rejected++;
        else
            want_stored++;
    }
    ih_tk_broker_deliver (broker, bitems, BIG);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
    while (e.seq < 6 + BIG) {
        ih_env_free (&e);
        IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
    }
    IH_CHECK (e.seq == 6 + BIG);
    ih_env_free (&e);
    ih_subscriber_stats (sub, &st);
    IH_CHECK (st.cursor == 6 + BIG);
    IH_CHECK (st.stored == 2 + want_stored && st.rejected == 2 + want_rejected && st.refused == 1);
    for (int i = 0; i < BIG; i++) {
        bool kept = !(i % 7 == 3 || i % 5 == 1);
        IH_CHECK (ih_store_get (store, bm [i].id, NULL, NULL, &err) == (kept ? 1 : 0));
        ih_tk_item_free (&bt [i]);
        ih_msg_free (&bm [i]);
    }
    ih_buf_free (&demoted.rec_bytes);

    //  One forged body among valid ones, in one delivery of 8 (the pool's path: 4 items
    //  or more): item 5's body was changed after it was signed (it carries the signature
    //  of the genuine body). The 7 others are stored; exactly the forged one is rejected,
    //  and the cursor passes it.
    enum { FEW = 8, FORGED = 5 };
    ih_msg_t fm [FEW], genuine;
    ih_tk_item_t ft [FEW], gt;
    ih_item_t fitems [FEW];
    uint64_t base = 6 + BIG;
    ih_subscriber_stats (sub, &st);
    ih_subscriber_stats_t st0 = st;
    for (int i = 0; i < FEW; i++) {
        ih_tk_alert (&fm [i], &bank, IH_TLP_GREEN, i == FORGED ? "forged" : "valid");
        ih_tk_item (&ft [i], &fm [i], &bank, base + 1 + (uint64_t) i);
        fitems [i] = ft [i].item;
    }
    ih_tk_alert (&genuine, &bank, IH_TLP_GREEN, "genuine");
    ih_tk_item (&gt, &genuine, &bank, base + 1 + FORGED);
    memcpy (ft [FORGED].sig, gt.sig, sizeof gt.sig);
    ih_tk_broker_deliver (broker, fitems, FEW);
    uint64_t acked = 0;
    while (acked < base + FEW) {
        IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
        acked = e.seq;
        ih_env_free (&e);
    }
    IH_CHECK (acked == base + FEW);
    ih_subscriber_stats (sub, &st);
    IH_CHECK (st.cursor == base + FEW);
    IH_CHECK (st.stored == st0.stored + FEW - 1 && st.rejected == st0.rejected + 1);
    for (int i = 0; i < FEW; i++) {
        IH_CHECK (ih_store_get (store, fm [i].id, NULL, NULL, &err) == (i == FORGED ? 0 : 1));
        ih_tk_item_free (&ft [i]);
        ih_msg_free (&fm [i]);
    }
    IH_CHECK (ih_store_get (store, genuine.id, NULL, NULL, &err) == 0);
    ih_tk_item_free (&gt);
    ih_msg_free (&genuine);

    //  A new subscriber on the same store says hello from its durable cursor.
    ih_subscriber_destroy (&sub);
    ih_subscriber_destroy (&sub);
    sub = ih_subscriber_new (store, &cfg, &err);
    IH_CHECK (sub);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, sub));
    IH_CHECK (e.cursor == 6 + BIG + FEW);
    ih_env_free (&e);
    ih_subscriber_destroy (&sub);

    //  Overlapped rounds (a window of 20: batches of 10): three deliveries of 10, all
    //  waiting at once, so the pool verifies one batch while the one before is stored.
    //  Item 5 of the second batch is forged (a changed body). Exactly it is rejected,
    //  everything else is stored, and the acks end at the last seq.
    enum { PB = 10, PN = 3 * PB, PFORGED = PB + 5 };
    ih_msg_t pm [PN], pgenuine;
    ih_tk_item_t pt [PN], pgt;
    ih_item_t pitems [PN];
    uint64_t pbase = 6 + BIG + FEW;
    for (int i = 0; i < PN; i++) {
        ih_tk_alert (&pm [i], &bank, IH_TLP_GREEN, i == PFORGED ? "forged" : "pipelined");
        ih_tk_item (&pt [i], &pm [i], &bank, pbase + 1 + (uint64_t) i);
        pitems [i] = pt [i].item;
    }
    ih_tk_alert (&pgenuine, &bank, IH_TLP_GREEN, "genuine");
    ih_tk_item (&pgt, &pgenuine, &bank, pbase + 1 + PFORGED);
    memcpy (pt [PFORGED].sig, pgt.sig, sizeof pgt.sig);
    ih_subscriber_cfg_t pcfg = cfg;
    pcfg.window = 2 * PB;
    sub = ih_subscriber_new (store, &pcfg, &err);
    IH_CHECK (sub);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, sub));
    IH_CHECK (e.cursor == pbase && e.window == 2 * PB);
    ih_env_free (&e);
    ih_tk_broker_welcome (broker, pbase + PN);
    for (int i = 0; i < 20; i++)
        ih_subscriber_poll (sub, 10);       //  takes the welcome
    ih_subscriber_stats (sub, &st0);
    for (int b = 0; b < 3; b++)
        ih_tk_broker_deliver (broker, pitems + b * PB, PB);
    acked = 0;
    while (acked < pbase + PN) {
        IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
        IH_CHECK (e.seq > acked);           //  acks only move forward
        acked = e.seq;
        ih_env_free (&e);
    }
    IH_CHECK (acked == pbase + PN);
    ih_subscriber_stats (sub, &st);
    if (verbose)
        printf ("\n    overlapped rounds: %" PRIu64 " of %" PRIu64 " commits",
                st.overlapped - st0.overlapped, st.commits - st0.commits);
    IH_CHECK (st.overlapped > st0.overlapped);
    IH_CHECK (st.cursor == pbase + PN && ih_store_cursor (store) == pbase + PN);
    IH_CHECK (st.stored == st0.stored + PN - 1 && st.rejected == st0.rejected + 1);
    for (int i = 0; i < PN; i++)
        IH_CHECK (ih_store_get (store, pm [i].id, NULL, NULL, &err) == (i == PFORGED ? 0 : 1));
    IH_CHECK (ih_store_get (store, pgenuine.id, NULL, NULL, &err) == 0);

    //  A batch left pending (full, so its round does not store it) is neither stored
    //  nor acknowledged when the subscriber goes: the next session says hello from the
    //  durable cursor before it, and gets it again.
    pbase += PN;
    for (int i = 0; i < PB; i++) {
        ih_tk_item_free (&pt [i]);
        ih_msg_free (&pm [i]);
        ih_tk_alert (&pm [i], &bank, IH_TLP_GREEN, "left pending");
        ih_tk_item (&pt [i], &pm [i], &bank, pbase + 1 + (uint64_t) i);
        pitems [i] = pt [i].item;
    }
    ih_tk_broker_deliver (broker, pitems, PB);
    ih_subscriber_poll (sub, 2000);
    ih_subscriber_stats (sub, &st);
    IH_CHECK (st.cursor == pbase && ih_store_cursor (store) == pbase);
    IH_CHECK (ih_store_get (store, pm [0].id, NULL, NULL, &err) == 0);
    ih_subscriber_destroy (&sub);
    IH_CHECK (ih_store_cursor (store) == pbase);
    sub = ih_subscriber_new (store, &pcfg, &err);
    IH_CHECK (sub);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, sub));
    IH_CHECK (e.cursor == pbase);
    ih_env_free (&e);
    ih_tk_broker_welcome (broker, pbase + PB);
    ih_tk_broker_deliver (broker, pitems, PB);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, sub));
    IH_CHECK (e.seq == pbase + PB);
    ih_env_free (&e);
    for (int i = 0; i < PB; i++)
        IH_CHECK (ih_store_get (store, pm [i].id, NULL, NULL, &err) == 1);
    ih_subscriber_destroy (&sub);
    for (int i = 0; i < PN; i++) {
        ih_tk_item_free (&pt [i]);
        ih_msg_free (&pm [i]);
    }
    ih_tk_item_free (&pgt);
    ih_msg_free (&pgenuine);

    for (int i = 0; i < 6; i++)
        ih_tk_item_free (&t [i]);
    for (int i = 0; i < 4; i++)
        ih_msg_free (&m [i]);
    ih_tk_broker_destroy (&broker);
    zcert_destroy (&cert);
    ih_tk_member_free (&bank);
    ih_tk_member_free (&forger);
    ih_store_destroy (&store);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n    ");
}
#endif
