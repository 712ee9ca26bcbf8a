/*  ih_sync.c: the gateway's subscriber actor (see ih_sync.h). */
#include <inttypes.h>

#include "ih_client.h"
#include "ih_log.h"
#include "ih_sync.h"
#include "ih_taxii.h"

#define s_BATCH_MAX     1024
#define s_BATCH_BYTES   (16 << 20)
#define s_RETRY_MS      5000

typedef struct {
    ih_gw_t *gw;
    ih_sync_cfg_t cfg;
    char *endpoint, *broker_key;
    zcert_t *cert;
    ih_client_t *client;
    uint64_t cursor;
    ih_msg_t msgs [s_BATCH_MAX];
    ih_member_t recs [s_BATCH_MAX];
    ih_store_item_t items [s_BATCH_MAX];
    size_t count;
    uint64_t last_seq;
    ih_arena_t arena;
    size_t arena_bytes;
} s_sub_t;

struct ih_sync {
    zactor_t *actor;
    s_sub_t *d;                     /* the actor's state, freed after it stopped */
};

#define s_log(level, ...) ih_log (level, "gateway", __VA_ARGS__)

/* ---- the TAXII log ------------------------------------------------------------------------- */

typedef struct {
    ih_gw_t *gw;
    int added;
    ih_err_t *err;
} s_catch_t;

static int
s_catch_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_catch_t *c = (s_catch_t *) arg;
    if (!ih_gw_visible (m))
        return 0;
    //  Shared objects (identity, marking) first, so a client never meets a reference
    //  to an object it cannot have yet.
    json_t *objs = ih_taxii_objects (m, NULL);
    size_t i;
    json_t *o;
    json_array_foreach (objs, i, o) {
        const char *id = json_string_value (json_object_get (o, "id"));
        if (ih_taxii_shared_type (id)) {
            int rc = ih_added_shared (c->gw->added, id, info->seq, m->id, c->err);
            if (rc < 0) {
                json_decref (objs);
                return -1;
            }
            c->added += rc;
        }
    }
    json_decref (objs);
    if (ih_added_alert (c->gw->added, info->seq, m->id, c->err) < 0)
        return -1;
    c->added++;
    return 0;
}

int
ih_sync_log_catch_up (ih_gw_t *gw, ih_err_t *err)
{
    uint64_t store_cursor = ih_store_cursor (gw->store);
    uint64_t log_cursor = ih_added_cursor (gw->added);
    if (log_cursor >= store_cursor)
        return 0;
    if (ih_added_begin (gw->added, err) != 0)
        return -1;
    s_catch_t c = { gw, 0, err };
    if (ih_store_foreach (gw->store, log_cursor, false, s_catch_one, &c, err) != 0) {
        ih_added_abort (gw->added);
        return -1;
    }
    if (ih_added_commit (gw->added, store_cursor, err) != 0)
        return -1;
    return c.added;
}

/* ---- collecting and storing ------------------------------------------------------------------ */

static const uint8_t *
s_copy (s_sub_t *d, const uint8_t *data, size_t len)
{
    uint8_t *p = (uint8_t *) ih_arena_alloc (&d->arena, len ? len : 1);
    if (len)
        memcpy (p, data, len);
    d->arena_bytes += len;
    return p;
}

/*  True when alert id is one the gateway holds (or takes in this batch) as CLEAR. */
static bool
s_ref_clear (s_sub_t *d, size_t upto, const char *id)
{
    for (size_t i = upto; i-- > 0;) {
        const ih_msg_t *m = d->items [i].msg;
        if (m && m->kind == IH_KIND_ALERT && streq (m->id, id))
            return m->tlp == IH_TLP_CLEAR;
    }
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    bool clear = ih_store_get (d->gw->store, id, &m, NULL, NULL) == 1 && ih_gw_visible (&m);
    ih_msg_free (&m);
    return clear;
}

/*  Why a verified message may not be public, or NULL when it may. */
static const char *
s_not_public (s_sub_t *d, size_t k, const ih_msg_t *m)
{
    switch (m->kind) {
        case IH_KIND_ALERT:
            return m->tlp == IH_TLP_CLEAR ? NULL : "it is not TLP:CLEAR";
        case IH_KIND_SIGHTING:
            if (m->tlp != IH_TLP_CLEAR)
                return "it is not TLP:CLEAR";
            //  A CLEAR sighting that cites an alert must cite a CLEAR one the gateway holds.
            return !*m->ref || s_ref_clear (d, k, m->ref)
                 ? NULL : "it refers to an alert the gateway does not hold as TLP:CLEAR";
        case IH_KIND_COMMENT:
        case IH_KIND_RETRACTION:
            return s_ref_clear (d, k, m->ref) ? NULL : "it refers to an alert the gateway does not hold as TLP:CLEAR";
    }
    return "unknown kind";
}

static void
s_collect (s_sub_t *d, const ih_env_t *e)
{
    ih_gw_t *gw = d->gw;
    for (uint32_t i = 0; i < e->item_count && d->count < s_BATCH_MAX; i++) {
        const ih_item_t *src = &e->items [i];
        if (src->seq <= d->cursor || src->seq <= d->last_seq)
            continue;
        uint64_t prev = d->last_seq > d->cursor ? d->last_seq : d->cursor;
        if (!ih_client_seq_plausible (prev, src->seq)) {
            //  A hostile broker could otherwise park our cursor near UINT64_MAX, after
            //  which every hello is a bad-cursor: the item is dropped, the cursor stays.
            s_log ('E', "dropped seq %" PRIu64 " from the broker: more than 2^40 beyond seq %"
                   PRIu64 " (or above 2^62); not storing it, not moving the cursor", src->seq, prev);
            gw->rejected++;
            continue;
        }
        size_t k = d->count++;
        d->last_seq = src->seq;
        ih_store_item_t *it = &d->items [k];
        memset (it, 0, sizeof *it);
        it->seq = src->seq;
        ih_err_t err = { "" };
        if (ih_client_verify_item (src, d->cfg.registry_pk, &d->recs [k], &d->msgs [k], &err) != 0) {
            char who [2 * IH_MAX_SHORT + 2] = "unknown member";
            if (d->recs [k].name [0])
                snprintf (who, sizeof who, "%s@%s", d->recs [k].name, d->recs [k].org);
            s_log ('E', "rejected seq %" PRIu64 " from %s: %s", src->seq, who, err.msg);
            gw->rejected++;
            continue;
        }
        const ih_msg_t *m = &d->msgs [k];
        const char *why = s_not_public (d, k, m);
        if (why) {
            //  The broker must never send this to the gateway: keep it out, loudly.
            char what [128];
            if (m->kind == IH_KIND_ALERT)
                snprintf (what, sizeof what, "alert %s seq %" PRIu64 " (TLP:%s)", m->id, src->seq,
                          ih_tlp_name (m->tlp) ? ih_tlp_name (m->tlp) : "?");
            else
            if (m->kind == IH_KIND_SIGHTING)
                snprintf (what, sizeof what, "sighting seq %" PRIu64 " (TLP:%s)%s%s", src->seq,
                          ih_tlp_name (m->tlp) ? ih_tlp_name (m->tlp) : "?", *m->ref ? " of alert " : "",
                          m->ref);
            else
                snprintf (what, sizeof what, "%s on alert %s seq %" PRIu64, ih_kind_name (m->kind),
                          m->ref, src->seq);
            s_log ('E', "refused %s from %s@%s: %s; nothing of it is stored or shown", what,
                   d->recs [k].name, d->recs [k].org, why);
            gw->refused++;
            continue;
        }
        it->msg = m;
        it->body = s_copy (d, src->body, src->body_len);
        it->body_len = src->body_len;
        it->sig = s_copy (d, src->sig, 64);
        it->rec = s_copy (d, src->rec, src->rec_len);
        it->rec_len = src->rec_len;
        it->rec_sig = s_copy (d, src->rec_sig, 64);
    }
}

static void
s_flush (s_sub_t *d)
{
    size_t n = d->count;
    if (n == 0)
        return;
    ih_gw_t *gw = d->gw;
    ih_err_t err = { "" };
    int rc = ih_store_ingest (gw->store, d->items, n, &err);
    if (rc != 0) {
        s_log ('E', "cannot store seq %" PRIu64 "..%" PRIu64 " in %s: %s; retrying in %d s",
               d->items [0].seq, d->items [n - 1].seq, ih_store_dir (gw->store), err.msg,
               s_RETRY_MS / 1000);
        ih_client_reset (d->client, s_RETRY_MS);
    }
    else {
        //  Pages move on at once: a request that read the old generation may already show
        //  the new content (harmless: the next one recomputes); none shows old content
        //  under the new generation.
        gw->gen++;
        gw->last_commit_ms = ih_now_ms ();
        for (size_t i = 0; i < n; i++) {
            const ih_store_item_t *it = &d->items [i];
            const ih_msg_t *m = it->msg;
            if (m && it->why [0])
                s_log ('E', "seq %" PRIu64 " from %s@%s: %s", it->seq, d->recs [i].name,
                       d->recs [i].org, it->why);
            if (m && it->outcome == IH_STORE_REJECTED)
                gw->rejected++;
            if (it->outcome == IH_STORE_SKIPPED || it->outcome == IH_STORE_REJECTED)
                continue;
            gw->stored++;
            if (it->outcome == IH_STORE_NEW || it->outcome == IH_STORE_REVISED)
                s_log ('I', "published alert %s rev %u seq %" PRIu64 " from %s@%s (%s)", m->id,
                       m->revision, it->seq, d->recs [i].name, d->recs [i].org,
                       ih_severity_name (m->severity));
            else
            if (it->outcome == IH_STORE_RETRACTED)
                s_log ('I', "retraction of %s%s seq %" PRIu64 " from %s@%s", m->ioc_count ? "IOCs of " : "",
                       m->ref, it->seq, d->recs [i].name, d->recs [i].org);
        }
        if (d->items [n - 1].seq > d->cursor)
            d->cursor = d->items [n - 1].seq;
        ih_err_t aerr = { "" };
        if (ih_client_ack (d->client, d->cursor, &aerr) != 0)
            s_log ('W', "%s (will retry)", aerr.msg);
        ih_err_t lerr = { "" };
        int added = ih_sync_log_catch_up (gw, &lerr);
        if (added < 0)
            s_log ('E', "TAXII log: %s (retried after the next commit and at start)", lerr.msg);
        else
        if (added > 0)
            gw->gen++;              //  and TAXII answers once the log has the new objects
    }
    for (size_t i = 0; i < n; i++)
        ih_msg_free (&d->msgs [i]);
    ih_arena_reset (&d->arena);
    d->arena_bytes = 0;
    d->count = 0;
    d->last_seq = 0;
}

static void
s_handle (s_sub_t *d, const ih_env_t *e)
{
    if (e->type == IH_T_WELCOME) {
        s_log ('I', "connected to %s as %s@%s (broker head %" PRIu64 ", our cursor %" PRIu64 ")",
               d->endpoint, e->member, e->org, e->head, d->cursor);
        if (!streq (e->member, "gateway"))
            s_log ('W', "the broker knows this identity as %s@%s, not as the gateway: it may "
                   "receive more than TLP:CLEAR (everything above CLEAR is refused here)", e->member, e->org);
    }
    else
    if (e->type == IH_T_ERROR) {
        if (streq (e->code, "no-session"))
            s_log ('I', "broker %s forgot our session; hello again from cursor %" PRIu64,
                   d->endpoint, d->cursor);
        else
            s_log (streq (e->code, "revoked") || streq (e->code, "not-registered")
                   || streq (e->code, "bad-cursor") ? 'E' : 'W',
                   "broker %s: %s: %s", d->endpoint, e->code, e->reason);
    }
}

/* ---- the actor ---------------------------------------------------------------------------------- */

static void
s_actor (zsock_t *pipe, void *args)
{
    s_sub_t *d = (s_sub_t *) args;
    ih_gw_t *gw = d->gw;
    zsock_signal (pipe, 0);             //  zactor_new waits for it; the status follows
    ih_err_t err = { "" };
    ih_client_cfg_t ccfg = { d->endpoint, d->broker_key, d->cert, "gateway", "infohub-gateway/0.1", 0, false };
    d->client = ih_client_new (&ccfg, &err);
    if (!d->client) {
        zstr_send (pipe, err.msg);
        return;
    }
    d->cursor = ih_store_cursor (gw->store);
    gw->gen = d->cursor;
    ih_err_t lerr = { "" };
    int added = ih_sync_log_catch_up (gw, &lerr);
    if (added < 0)
        s_log ('E', "TAXII log: %s", lerr.msg);
    else
    if (added > 0)
        s_log ('I', "TAXII log caught up with the store (%d entries)", added);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.cursor = d->cursor;
    hello.window = d->cfg.window ? d->cfg.window : 1000;
    if (ih_client_subscribe (d->client, &hello, &err) != 0)
        s_log ('W', "%s", err.msg);
    zstr_send (pipe, "");

    bool stop = false;
    while (!stop) {
        //  Commands first (only $TERM), without waiting unless a signal stopped the
        //  client's own waits. zmq_poll, not zpoller: a zpoller stops answering once
        //  a signal set zsys_interrupted, and the $TERM would never be read.
        zmq_pollitem_t item = { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, zsys_interrupted ? 100 : 0) > 0 && (item.revents & ZMQ_POLLIN)) {
            char *cmd = zstr_recv (pipe);
            stop = !cmd || streq (cmd, "$TERM");
            zstr_free (&cmd);
            if (stop)
                break;
        }
        ih_env_t *e = NULL;
        err.msg [0] = 0;
        int rc = ih_client_recv (d->client, &e, 200, &err);
        while (rc != 0) {
            if (rc < 0)
                s_log ('W', "bad frame from broker %s: %s", d->endpoint, err.msg);
            else
            if (e->type == IH_T_DELIVER) {
                size_t before = d->count;
                s_collect (d, e);
                if (d->count == before && d->count == 0)
                    ih_client_ack (d->client, d->cursor, NULL);
            }
            else
                s_handle (d, e);
            if (d->count == 0 || d->count + IH_MAX_ITEMS > s_BATCH_MAX || d->arena_bytes > s_BATCH_BYTES)
                break;
            err.msg [0] = 0;
            rc = ih_client_recv (d->client, &e, 0, &err);
        }
        s_flush (d);
        gw->connected = ih_client_connected (d->client);
        uint64_t head = ih_client_head (d->client);
        if (head)
            gw->head = head;
    }
    s_log ('I', "subscriber stopping at cursor %" PRIu64, d->cursor);
    ih_client_destroy (&d->client);
    gw->connected = false;
}

static void
s_sub_free (s_sub_t *d)
{
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_free (&d->msgs [i]);
    ih_arena_free (&d->arena);
    zcert_destroy (&d->cert);
    free (d->endpoint);
    free (d->broker_key);
    free (d);
}

ih_sync_t *
ih_sync_new (ih_gw_t *gw, const ih_sync_cfg_t *cfg, ih_err_t *err)
{
    s_sub_t *d = (s_sub_t *) calloc (1, sizeof *d);
    if (!d)
        abort ();
    d->gw = gw;
    d->cfg = *cfg;
    d->cfg.cert = NULL;
    d->endpoint = strdup (cfg->endpoint);
    d->broker_key = strdup (cfg->broker_key);
    d->cert = zcert_dup (cfg->cert);
    if (!d->endpoint || !d->broker_key || !d->cert)
        abort ();
    for (int i = 0; i < s_BATCH_MAX; i++)
        ih_msg_init (&d->msgs [i], IH_KIND_ALERT);
    ih_arena_init (&d->arena);
    ih_sync_t *self = (ih_sync_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->d = d;
    self->actor = zactor_new (s_actor, d);
    char *reply = zstr_recv (self->actor);
    bool ok = reply && !*reply;
    if (!ok)
        ih_err_set (err, "%s", reply ? reply : "the subscriber did not start");
    zstr_free (&reply);
    if (!ok)
        ih_sync_destroy (&self);
    return self;
}

void
ih_sync_destroy (ih_sync_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_sync_t *self = *self_p;
    zactor_destroy (&self->actor);      //  $TERM, and waits for the actor to end
    s_sub_free (self->d);
    free (self);
    *self_p = NULL;
}

/* ---- self-test ------------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_sync_test (bool verbose)
{
    //  A store and a log in a temporary directory; alerts ingested directly (as the
    //  actor would after verification); the log catches up, once.
    char dir [] = "/tmp/ih-sync-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char sdir [64], tdir [80];
    snprintf (sdir, sizeof sdir, "%s/store", dir);
    snprintf (tdir, sizeof tdir, "%s/store/taxii", dir);
    ih_err_t err = { "" };
    ih_gw_t gw;
    memset (&gw, 0, sizeof gw);
    gw.store = ih_store_open (sdir, IH_STORE_WRITER, 64 << 20, 64 << 20, &err);
    IH_CHECK (gw.store);
    gw.added = ih_added_open (tdir, &err);
    IH_CHECK (gw.added);
    IH_CHECK (ih_sync_log_catch_up (&gw, &err) == 0);

    ih_msg_t m [3];
    uint64_t seqs [3] = { 3, 5, 9 };
    for (int i = 0; i < 3; i++) {
        ih_msg_init (&m [i], IH_KIND_ALERT);
        ih_uuid_new (m [i].id);
        m [i].created = m [i].modified = 1767225600000 + i;
        m [i].org = ih_msg_str (&m [i], i == 2 ? "bank-b" : "bank-a");
        m [i].member = ih_msg_str (&m [i], "soc");
        m [i].signer [0] = 1;
        m [i].title = ih_msg_str (&m [i], "t");
        m [i].summary = ih_msg_str (&m [i], "");
        m [i].tlp = i == 1 ? IH_TLP_GREEN : IH_TLP_CLEAR;
        ih_msg_ioc_add (&m [i], IH_IOC_DOMAIN, "evil.example", "", true);
    }
    IH_CHECK (ih_store_ingest_msgs (gw.store, m, seqs, 3, NULL, &err) == 0);
    int added = ih_sync_log_catch_up (&gw, &err);
    if (verbose)
        printf ("\n    log entries added: %d (%s)", added, err.msg);
    //  Two CLEAR alerts (the GREEN one is never public), two identities, one marking.
    IH_CHECK (added == 2 + 2 + 1);
    IH_CHECK (ih_added_cursor (gw.added) == 9);
    IH_CHECK (ih_added_seq_date (gw.added, 3) > 0 && ih_added_seq_date (gw.added, 5) == 0);
    IH_CHECK (ih_sync_log_catch_up (&gw, &err) == 0);
    for (int i = 0; i < 3; i++)
        ih_msg_free (&m [i]);
    ih_added_destroy (&gw.added);
    ih_store_destroy (&gw.store);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n    ");
}
#endif
