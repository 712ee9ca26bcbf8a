/*  ih_subscriber.c: the subscriber core (see ih_subscriber.h).

    Read top to bottom: the batch (collect, flush), one round, construction, self-test.
*/
#include <inttypes.h>

#include "ih_log.h"
#include "ih_reccache.h"
#include "ih_sigpool.h"
#include "ih_subscriber.h"

/*  A batch is bounded by items and by bytes copied out of the frames, so that one
    transaction stays well inside a heartbeat. */
#define s_BATCH_MAX     1024
#define s_BATCH_BYTES   (16 << 20)
#define s_RETRY_MS      5000            /* after a store failure, reconnect after */

struct ih_subscriber {
    ih_subscriber_cfg_t cfg;
    char *endpoint, *broker_key, *log_name, *agent;
    uint8_t registry_pk [32];
    ih_store_t *store;                  /* borrowed: the writer */
    ih_client_t *client;
    ih_reccache_t *reccache;            /* member records verified once */
    ih_sigpool_t *pool;                 /* verifies the batch's bodies on every core */
    ih_subscriber_stats_t st;
    ih_msg_t msgs [s_BATCH_MAX];
    ih_member_t recs [s_BATCH_MAX];
    ih_store_item_t items [s_BATCH_MAX];
    ih_item_t src [s_BATCH_MAX];        /* the collected items, as delivered (arena copies) */
    bool ok [s_BATCH_MAX];              /* verified so far */
    ih_err_t errs [s_BATCH_MAX];        /* why not */
    size_t count;                       /* items collected, not stored yet */
    uint64_t last_seq;                  /* highest seq collected */
    ih_arena_t arena;                   /* copies of the collected items' bytes */
    size_t arena_bytes;
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
s_copy (ih_subscriber_t *self, const uint8_t *data, size_t len)
{
    uint8_t *p = (uint8_t *) ih_arena_alloc (&self->arena, len ? len : 1);
    if (len)
        memcpy (p, data, len);
    self->arena_bytes += len;
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

/*  Adds the items of a deliver envelope to the batch: their bytes are copied out of the
    frame (which the next receive frees), and verified with the rest of the batch before
    it is stored (s_verify). */
static void
s_collect (ih_subscriber_t *self, const ih_env_t *e)
{
    uint64_t cursor = self->st.cursor;
    for (uint32_t i = 0; i < e->item_count && self->count < s_BATCH_MAX; i++) {
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
        size_t k = self->count++;
        self->last_seq = src->seq;
        ih_item_t *c = &self->src [k];
        c->seq = src->seq;
        c->body = s_copy (self, src->body, src->body_len);
        c->body_len = src->body_len;
        c->sig = s_copy (self, src->sig, 64);
        c->rec = s_copy (self, src->rec, src->rec_len);
        c->rec_len = src->rec_len;
        c->rec_sig = s_copy (self, src->rec_sig, 64);
    }
}

/*  One item's body, on any of the pool's threads: decoded and verified against its
    publisher's record (verified already, s_verify). Writes only item i's slots. */
static void
s_verify_body (void *arg, size_t i)
{
    ih_subscriber_t *self = (ih_subscriber_t *) arg;
    if (self->ok [i])
        self->ok [i] = ih_client_verify_body (&self->src [i], &self->recs [i], &self->msgs [i],
                                              &self->errs [i]) == 0;
}

/*  Verifies the batch (ih_client_verify_item, in two halves: each distinct member record
    once, through the cache; the bodies on every core), then, in delivery order, logs
    what failed and asks the caller's filter about the rest. What is kept gets its msg;
    a rejected or refused item stays without one, and the cursor passes it. */
static void
s_verify (ih_subscriber_t *self)
{
    size_t n = self->count;
    for (size_t k = 0; k < n; k++) {
        self->errs [k].msg [0] = 0;
        self->ok [k] = ih_reccache_verify (self->reccache, &self->src [k], &self->recs [k],
                                           &self->errs [k]) == 0;
    }
    ih_sigpool_run (self->pool, s_verify_body, self, n);
    for (size_t k = 0; k < n; k++) {
        ih_store_item_t *it = &self->items [k];
        const ih_item_t *c = &self->src [k];
        memset (it, 0, sizeof *it);
        it->seq = c->seq;
        const ih_member_t *rec = &self->recs [k];
        if (!self->ok [k]) {
            char who [2 * IH_MAX_SHORT + 2] = "unknown member";
            if (rec->name [0])
                ih_fmt (who, sizeof who, "%s@%s", rec->name, rec->org);
            s_count (self, &self->st.rejected);
            s_log (self, 'E', "rejected seq %" PRIu64 " from %s: %s", c->seq, who, self->errs [k].msg);
            continue;           //  not stored; the cursor still passes it
        }
        const ih_msg_t *m = &self->msgs [k];
        const char *why = self->cfg.filter
                        ? self->cfg.filter (m, rec, self->items, k, self->cfg.arg) : NULL;
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
    return self->count + IH_MAX_ITEMS > s_BATCH_MAX || self->arena_bytes > s_BATCH_BYTES;
}

/*  Stores the batch in one transaction and acknowledges it after the commit. Returns the
    items stored, or -1 when the store refused the batch. */
static int
s_flush (ih_subscriber_t *self)
{
    size_t n = self->count;
    if (n == 0)
        return 0;
    s_verify (self);
    uint64_t map0 = ih_store_map_size (self->store);
    ih_err_t err = { "" };
    int stored = 0;
    if (ih_store_ingest (self->store, self->items, n, &err) != IH_OK) {
        s_log (self, 'E', "cannot store seq %" PRIu64 "..%" PRIu64 " in %s: %s; retrying in %d s",
               self->items [0].seq, self->items [n - 1].seq, ih_store_dir (self->store), err.msg,
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
            const ih_store_item_t *it = &self->items [i];
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
                s_log (self, 'E', "seq %" PRIu64 " from %s@%s: %s", it->seq, self->recs [i].name,
                       self->recs [i].org, it->why);
        }
        if (self->items [n - 1].seq > self->st.cursor)
            self->st.cursor = self->items [n - 1].seq;
        ih_err_t aerr = { "" };
        if (ih_client_ack (self->client, self->st.cursor, &aerr) != 0)
            s_log (self, 'W', "%s (will retry)", aerr.msg);
        if (self->cfg.on_commit)
            self->cfg.on_commit (self->items, self->recs, n, self->cfg.arg);
    }
    //  Give the memory of large messages back; verification re-initialises them.
    for (size_t i = 0; i < n; i++)
        ih_msg_free (&self->msgs [i]);
    ih_arena_reset (&self->arena);
    self->arena_bytes = 0;
    self->count = 0;
    self->last_seq = 0;
    return stored;
}

/* ---- one round ------------------------------------------------------------------------------ */

int
ih_subscriber_poll (ih_subscriber_t *self, int timeout_ms)
{
    ih_env_t *e = NULL;
    ih_err_t err = { "" };
    int rc = ih_client_recv (self->client, &e, timeout_ms, &err);
    while (rc != 0) {
        if (rc < 0)
            s_log (self, 'W', "bad frame from broker %s: %s", self->endpoint, err.msg);
        else
        if (e->type == IH_T_DELIVER) {
            size_t before = self->count;
            s_collect (self, e);
            if (self->count == before && self->count == 0)
                ih_client_ack (self->client, self->st.cursor, NULL);    //  only duplicates
        }
        else
        if (self->cfg.on_event)
            self->cfg.on_event (e, self->cfg.arg);
        //  Take whatever else is already waiting into the same transaction.
        if (self->count == 0 || s_batch_full (self) || (self->cfg.stop && *self->cfg.stop))
            break;
        err.msg [0] = 0;
        rc = ih_client_recv (self->client, &e, 0, &err);
    }
    return s_flush (self);
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
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_init (&self->msgs [i], IH_KIND_ALERT);
    ih_arena_init (&self->arena);
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
    hello.window = cfg->window ? cfg->window : 1000;
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
    ih_client_destroy (&self->client);
    ih_sigpool_destroy (&self->pool);
    ih_reccache_destroy (&self->reccache);
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_free (&self->msgs [i]);
    ih_arena_free (&self->arena);
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
