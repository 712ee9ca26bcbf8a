/*  ih_sync.c: the gateway's subscriber actor (see ih_sync.h). */
#include <inttypes.h>

#include "ih_added.h"
#include "ih_log.h"
#include "ih_stix.h"
#include "ih_subscriber.h"
#include "ih_sync.h"

struct ih_sync {
    zactor_t *actor;
    ih_gw_t *gw;
    ih_sync_cfg_t cfg;
    char *endpoint, *broker_key;
    zcert_t *cert;
};

#define s_log(level, ...) ih_log (level, "gateway", __VA_ARGS__)

/* ---- the TAXII log ------------------------------------------------------------------------- */

typedef struct {
    ih_gw_t *gw;
    int added;
    ih_err_t *err;
    const ih_msg_t *m;          /* the alert being logged */
    uint64_t seq;
    bool entries;               /* log entries too (not only the objects index) */
} s_catch_t;

/*  One shared object of the alert (ih_stix_shared): logged unless it already is. */
static int
s_catch_shared (json_t *o, void *arg)
{
    s_catch_t *c = (s_catch_t *) arg;
    const char *id = json_string_value (json_object_get (o, "id"));
    int rc = ih_added_shared (c->gw->added, id, c->seq, c->m->id, c->err);
    if (rc < 0)
        return -1;
    c->added += rc;
    return 0;
}

/*  One own object of the alert (ih_stix_own): the alert it belongs to, in the objects
    index, so that a request for it by id reads that alert's entries only. */
static int
s_catch_own (json_t *o, void *arg)
{
    s_catch_t *c = (s_catch_t *) arg;
    const char *id = json_string_value (json_object_get (o, "id"));
    return ih_added_object (c->gw->added, id, c->m->id, c->err) < 0 ? -1 : 0;
}

/*  One kept revision of an alert (ih_store_revisions_after): its log entry, with its
    shared objects first, and its own objects in the index. */
static int
s_catch_one (const ih_store_rev_t *rev, const ih_msg_t *m, void *arg)
{
    s_catch_t *c = (s_catch_t *) arg;
    if (!ih_gw_visible (m))
        return 0;
    c->m = m;
    c->seq = rev->seq;
    //  Shared objects (marking, identity) first, so a client never meets a reference
    //  to an object it cannot have yet.
    if (c->entries && ih_stix_shared (m, s_catch_shared, c) != 0)
        return -1;
    if (c->entries && ih_added_alert (c->gw->added, rev->seq, m->id, c->err) < 0)
        return -1;
    c->added += c->entries;
    //  Every IOC: an object's owner does not change when one is retracted.
    return ih_stix_own (m, m->iocs, m->ioc_count, s_catch_own, c) != 0 ? -1 : 0;
}

int
ih_sync_log_catch_up (ih_gw_t *gw, ih_err_t *err)
{
    uint64_t store_cursor = ih_store_cursor (gw->store);
    uint64_t log_cursor = ih_added_cursor (gw->added);
    bool indexed = ih_added_objects_complete (gw->added);
    if (log_cursor >= store_cursor && indexed)
        return 0;
    if (ih_added_begin (gw->added, err) != 0)
        return -1;
    s_catch_t c = { gw, 0, err, NULL, 0, false };
    //  A log written before the objects index existed: index what it has, once.
    if (!indexed && log_cursor > 0
    &&  ih_store_revisions_after (gw->store, 0, s_catch_one, &c, err) != 0) {
        ih_added_abort (gw->added);
        return -1;
    }
    //  Every revision the store kept past the log's cursor, in the order they came: each
    //  is a version of its alert's objects (ih_taxii.h).
    c.entries = true;
    if (ih_store_revisions_after (gw->store, log_cursor, s_catch_one, &c, err) != 0
    ||  (!indexed && ih_added_objects_done (gw->added, err) != 0)) {
        ih_added_abort (gw->added);
        return -1;
    }
    if (ih_added_commit (gw->added, store_cursor, err) != 0)
        return -1;
    return c.added;
}

/* ---- what the public may see ------------------------------------------------------------- */

/*  True when alert id is one the gateway holds (or takes in this batch) as CLEAR. */
static bool
s_ref_clear (ih_gw_t *gw, const ih_store_item_t *batch, size_t upto, const char *id)
{
    for (size_t i = upto; i-- > 0;) {
        const ih_msg_t *m = batch [i].msg;
        if (m && m->kind == IH_KIND_ALERT && streq (m->id, id))
            return m->tlp == IH_TLP_CLEAR;
    }
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    bool clear = ih_store_get (gw->store, id, &m, NULL, NULL) == 1 && ih_gw_visible (&m);
    ih_msg_free (&m);
    return clear;
}

/*  The subscriber's filter: why a verified message may not be public, or NULL when it
    may. The broker must never send the gateway anything else: this is defence in depth,
    and what it refuses is logged as an error. */
static const char *
s_not_public (const ih_msg_t *m, const ih_member_t *rec, const ih_store_item_t *batch, size_t k,
              void *arg)
{
    (void) rec;
    ih_gw_t *gw = ((ih_sync_t *) arg)->gw;
    switch (m->kind) {
        case IH_KIND_ALERT:
            return m->tlp == IH_TLP_CLEAR ? NULL : "it is not TLP:CLEAR";
        case IH_KIND_SIGHTING:
            if (m->tlp != IH_TLP_CLEAR)
                return "it is not TLP:CLEAR";
            //  A CLEAR sighting that cites an alert must cite a CLEAR one the gateway holds.
            return !*m->ref || s_ref_clear (gw, batch, k, m->ref)
                 ? NULL : "it refers to an alert the gateway does not hold as TLP:CLEAR";
        case IH_KIND_COMMENT:
        case IH_KIND_RETRACTION:
            return s_ref_clear (gw, batch, k, m->ref)
                 ? NULL : "it refers to an alert the gateway does not hold as TLP:CLEAR";
    }
    return "unknown kind";
}

/*  The related-advisories index catches up with the store (after a commit, never in it):
    the alert pages list related advisories from it. */
static void
s_related_catch_up (ih_gw_t *gw)
{
    if (!gw->related)
        return;
    ih_err_t err = { "" };
    int n;
    while ((n = ih_related_catch_up (gw->related, gw->store, 2000, &err)) >= 2000)
        ;
    if (n < 0)
        s_log ('W', "related advisories: %s", err.msg);
}

/*  After each commit: pages move on, the TAXII log and related advisories catch up. */
static void
s_on_commit (const ih_store_item_t *items, const ih_member_t *recs, size_t n, void *arg)
{
    ih_gw_t *gw = ((ih_sync_t *) arg)->gw;
    //  Pages move on at once: a request that read the old generation may already show
    //  the new content (harmless: the next one recomputes); none shows old content
    //  under the new generation.
    gw->gen++;
    gw->last_commit_ms = ih_now_ms ();
    for (size_t i = 0; i < n; i++) {
        const ih_store_item_t *it = &items [i];
        const ih_msg_t *m = it->msg;
        if (!m)
            continue;
        if (it->outcome == IH_STORE_NEW || it->outcome == IH_STORE_REVISED)
            s_log ('I', "published alert %s rev %u seq %" PRIu64 " from %s@%s (%s)", m->id,
                   m->revision, it->seq, recs [i].name, recs [i].org, ih_severity_name (m->severity));
        else
        if (it->outcome == IH_STORE_RETRACTED)
            s_log ('I', "retraction of %s%s seq %" PRIu64 " from %s@%s", m->ioc_count ? "IOCs of " : "",
                   m->ref, it->seq, recs [i].name, recs [i].org);
    }
    ih_err_t lerr = { "" };
    s_related_catch_up (gw);
    int added = ih_sync_log_catch_up (gw, &lerr);
    gw->gen++;                  //  the pages' related advisories
    if (added < 0)
        s_log ('E', "TAXII log: %s (retried after the next commit and at start)", lerr.msg);
    else
    if (added > 0)
        gw->gen++;              //  and TAXII answers once the log has the new objects
}

/*  The HTTP threads read the counters (/metrics): they move before the log lines. */
static void
s_on_count (const ih_subscriber_stats_t *st, void *arg)
{
    ih_gw_t *gw = ((ih_sync_t *) arg)->gw;
    gw->stored = st->stored;
    gw->rejected = st->rejected;
    gw->refused = st->refused;
}

static void
s_on_event (const ih_env_t *e, void *arg)
{
    ih_sync_t *self = (ih_sync_t *) arg;
    uint64_t cursor = ih_store_cursor (self->gw->store);
    if (e->type == IH_T_WELCOME) {
        s_log ('I', "connected to %s as %s@%s (broker head %" PRIu64 ", our cursor %" PRIu64 ")",
               self->endpoint, e->member, e->org, e->head, cursor);
        if (!streq (e->member, "gateway"))
            s_log ('W', "the broker knows this identity as %s@%s, not as the gateway: it may "
                   "receive more than TLP:CLEAR (everything above CLEAR is refused here)", e->member, e->org);
    }
    else
    if (e->type == IH_T_ERROR) {
        if (streq (e->code, "no-session"))
            s_log ('I', "broker %s forgot our session; hello again from cursor %" PRIu64,
                   self->endpoint, cursor);
        else
            s_log (streq (e->code, "revoked") || streq (e->code, "not-registered")
                   || streq (e->code, "bad-cursor") ? 'E' : 'W',
                   "broker %s: %s: %s", self->endpoint, e->code, e->reason);
    }
}

/* ---- the actor ---------------------------------------------------------------------------------- */

#define s_SCRUB_RECORDS  50                 //  records checked every s_SCRUB_MS
#define s_SCRUB_MS       250
#define s_SCRUB_REST_MS  (10 * 60 * 1000)   //  between passes

static void
s_scrub_damage (const char *line, void *arg)
{
    ih_gw_storage_bad ((ih_gw_t *) arg, line);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    ih_sync_t *self = (ih_sync_t *) args;
    ih_gw_t *gw = self->gw;
    zsock_signal (pipe, 0);             //  zactor_new waits for it; the status follows
    gw->gen = ih_store_cursor (gw->store);
    s_related_catch_up (gw);
    ih_err_t lerr = { "" };
    int added = ih_sync_log_catch_up (gw, &lerr);
    if (added < 0)
        s_log ('E', "TAXII log: %s", lerr.msg);
    else
    if (added > 0)
        s_log ('I', "TAXII log caught up with the store (%d %s)", added,
               ih_plural ((uint64_t) added, "entry", "entries"));
    ih_err_t err = { "" };
    ih_subscriber_cfg_t scfg = { self->endpoint, self->broker_key, self->cert, self->cfg.registry_pk,
                                 self->cfg.window, "gateway", "infohub-gateway/0.1", NULL,
                                 s_not_public, s_on_commit, s_on_event, s_on_count, self };
    ih_subscriber_t *sub = ih_subscriber_new (gw->store, &scfg, &err);
    if (!sub) {
        zstr_send (pipe, err.msg);
        return;
    }
    zstr_send (pipe, "");

    //  The scrub: the whole store, a few records at a time, every signature checked
    //  (ih_store.h, "checking"); what it finds makes /healthz answer 503
    ih_store_check_t *check = ih_store_check_new (self->cfg.registry_pk);
    int64_t scrub_at = 0;

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
        ih_subscriber_poll (sub, 200);
        ih_subscriber_stats_t sst;
        ih_subscriber_stats (sub, &sst);
        ih_gw_storage_write (gw, sst.store_error [0] ? sst.store_error : NULL);
        int64_t now = zclock_mono ();
        if (now >= scrub_at) {
            scrub_at = now + s_SCRUB_MS;
            ih_err_t cerr = { "" };
            int rc = ih_store_check_step (check, gw->store, s_SCRUB_RECORDS, s_scrub_damage, gw, &cerr);
            if (rc < 0)
                ih_gw_storage_bad (gw, cerr.msg);
            else
            if (rc == 1) {
                ih_store_check_stats_t cst;
                ih_store_check_stats (check, &cst);
                if (cst.damaged)
                    s_log ('E', "store check: %" PRIu64 " of %" PRIu64 " records damaged (first: %s)",
                           cst.damaged, cst.records, cst.first);
                else
                    ih_gw_storage_good (gw);
                ih_store_check_restart (check);
                scrub_at = now + s_SCRUB_REST_MS;
            }
        }
        ih_client_t *client = ih_subscriber_client (sub);
        gw->connected = ih_client_connected (client);
        uint64_t head = ih_client_head (client);
        if (head) {
            gw->head = head;
            gw->owed = ih_client_owed (client);
        }
    }
    s_log ('I', "subscriber stopping at cursor %" PRIu64, ih_store_cursor (gw->store));
    ih_store_check_destroy (&check);
    ih_subscriber_destroy (&sub);
    gw->connected = false;
}

ih_sync_t *
ih_sync_new (ih_gw_t *gw, const ih_sync_cfg_t *cfg, ih_err_t *err)
{
    ih_sync_t *self = (ih_sync_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->gw = gw;
    self->cfg = *cfg;
    self->cfg.cert = NULL;
    self->endpoint = strdup (cfg->endpoint);
    self->broker_key = strdup (cfg->broker_key);
    self->cert = zcert_dup (cfg->cert);
    if (!self->endpoint || !self->broker_key || !self->cert)
        abort ();
    self->actor = zactor_new (s_actor, self);
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
    zcert_destroy (&self->cert);
    free (self->endpoint);
    free (self->broker_key);
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
    //  Two CLEAR alerts (the GREEN one is never public), two publisher identities, one
    //  marking, Infohub's identity and its extension-definition (ih_stix_shared).
    IH_CHECK (added == 2 + 2 + 1 + 2);
    IH_CHECK (ih_added_shared_date (gw.added, IH_STIX_EXTENSION_ID) > 0);
    IH_CHECK (ih_added_shared_date (gw.added, IH_STIX_PRODUCER_ID) > 0);
    IH_CHECK (ih_added_shared_date (gw.added, IH_STIX_PRODUCER_ID)
              < ih_added_shared_date (gw.added, IH_STIX_EXTENSION_ID));
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
