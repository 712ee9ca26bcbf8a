/*  ih_store_read.c: reading the store: alerts (get, foreach), the IOC index (search),
    sightings, the log and what refers to an alert. The contract is in ih_store.h; the
    store's files and return codes in ih_store_int.h.

    Every function here opens a read transaction of its own, copies what it returns out
    of the map (into the caller's message, or the handle's scratch buffer while it
    decodes), and ends the transaction before it returns.
*/
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "ih_store_int.h"
#include "ih_codec.h"
#include "ih_ioc.h"
#include "ih_mdbfile.h"

/* ---- alerts ------------------------------------------------------------------------------- */

/*  Fills msg and info (either may be NULL) from the record v of alert id inside txn.
    The retracted-IOC set is copied into msg's arena, so that info carries it exactly as
    long as msg holds this alert (ih_store.h, ih_store_alert_t). */
int
ih_store_load_alert (ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *v, ih_msg_t *msg,
              ih_store_alert_t *info)
{
    ih_store_arec_t r;
    int rc = ih_store_arec_parse (self, id, v, &r);
    if (rc)
        return rc;
    if (msg) {
        //  Decode from a copy: the arena copies strings, but be independent of the map.
        ih_buf_reset (&self->body);
        ih_buf_append (&self->body, r.body, r.body_len);
        ih_msg_free (msg);
        if (ih_body_decode (msg, self->body.data, self->body.len, &self->why) != 0) {
            ih_err_prefix (&self->why, "store: alert %.36s", id);
            return IH_EFAIL;
        }
    }
    if (info) {
        memset (info, 0, sizeof *info);
        memcpy (info->id, id, IH_UUID_LEN);
        info->seq = r.seq;
        info->first_seq = r.first_seq;
        info->revision = r.revision;
        info->revisions = r.revisions;
        info->retracted = r.status != 0;
        info->retract_seq = r.retract_seq;
        info->retracted_iocs = r.nret;
        if (msg && r.rset_len) {
            uint8_t *set = (uint8_t *) ih_arena_alloc (&msg->arena, r.rset_len);
            memcpy (set, r.rset, r.rset_len);
            info->retracted_set = set;
            info->retracted_set_len = r.rset_len;
        }
        MDB_val k = ih_store_val (id, IH_UUID_LEN), rv;
        if (ih_store_mdb_get (self, txn, IH_STORE_DB_REFS, &k, &rv, "cannot read") == 1
        &&  rv.mv_size == 16) {
            info->sightings = ih_get_le64 (rv.mv_data);
            info->comments = ih_get_le32 ((const uint8_t *) rv.mv_data + 8);
        }
    }
    return IH_OK;
}

/* ---- the cache of decoded alerts ------------------------------------------------------------ */

static void
s_cached_free (void *value)
{
    ih_msg_t *m = (ih_msg_t *) value;
    ih_msg_free (m);
    free (m);
}

ih_cache_t *
ih_store_cache_new (size_t max_bytes)
{
    return ih_cache_new (max_bytes, s_cached_free);
}

void
ih_store_cache (ih_store_t *self, ih_cache_t *cache)
{
    self->cache = cache;
}

int
ih_store_load_view (ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *v, ih_msg_t *scratch,
                    ih_buf_t *rset, ih_store_view_t *view, ih_store_alert_t *info)
{
    view->msg = NULL;
    view->item = NULL;
    if (!self->cache) {
        int rc = ih_store_load_alert (self, txn, id, v, scratch, info);
        if (rc == IH_OK)
            view->msg = scratch;
        return rc;
    }
    ih_store_arec_t r;
    int rc = ih_store_arec_parse (self, id, v, &r);
    if (rc)
        return rc;
    //  The key names the body's bytes: the alert, the seq it was delivered with and the
    //  publisher's signature of it. A revision comes with another seq and signature, so
    //  it is never answered by the entry of the one it replaces, whichever process wrote
    //  the store; what changes without a new body (status, retracted IOCs, counts) is in
    //  info, read from the record below every time.
    uint8_t key [8 + IH_UUID_LEN + 64];
    ih_put_be64 (key, r.seq);
    memcpy (key + 8, id, IH_UUID_LEN);
    memcpy (key + 8 + IH_UUID_LEN, r.sig, 64);
    ih_cache_item_t *item = ih_cache_get (self->cache, key, sizeof key);
    if (!item) {
        ih_msg_t *m = (ih_msg_t *) malloc (sizeof *m);
        if (!m)
            abort ();
        ih_msg_init (m, IH_KIND_ALERT);
        ih_buf_reset (&self->body);
        ih_buf_append (&self->body, r.body, r.body_len);
        if (ih_body_decode (m, self->body.data, self->body.len, &self->why) != 0) {
            s_cached_free (m);
            ih_err_prefix (&self->why, "store: alert %.36s", id);
            return IH_EFAIL;
        }
        item = ih_cache_put (self->cache, key, sizeof key, m, sizeof *m + ih_arena_size (&m->arena));
    }
    rc = ih_store_load_alert (self, txn, id, v, NULL, info);
    if (rc) {
        ih_cache_release (self->cache, &item);
        return rc;
    }
    if (r.rset_len) {
        ih_buf_reset (rset);
        ih_buf_append (rset, r.rset, r.rset_len);
        info->retracted_set = rset->data;
        info->retracted_set_len = r.rset_len;
    }
    view->item = item;
    view->msg = (const ih_msg_t *) ih_cache_value (item);
    return IH_OK;
}

void
ih_store_view_done (ih_store_t *self, ih_store_view_t *view)
{
    if (view->item)
        ih_cache_release (self->cache, &view->item);
    view->msg = NULL;
}

int
ih_store_get_with (ih_store_t *self, const char *id, ih_store_alert_fn *fn, void *arg, ih_err_t *err)
{
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_val k = ih_store_val (id, IH_UUID_LEN), v;
    ih_msg_t scratch;
    ih_msg_init (&scratch, IH_KIND_ALERT);
    ih_buf_t rset;
    ih_buf_init (&rset);
    ih_store_view_t view = { NULL, NULL };
    ih_store_alert_t info;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &k, &v, "cannot read");
    if (found == 1 && ih_store_load_view (self, txn, id, &v, &scratch, &rset, &view, &info) != IH_OK)
        found = IH_EFAIL;
    //  The message is the view's (or scratch) from here: fn may read the store again.
    ih_store_txn_end (self, txn);
    if (found == 1)
        fn (view.msg, &info, arg);
    ih_store_view_done (self, &view);
    ih_msg_free (&scratch);
    ih_buf_free (&rset);
    return found < 0 ? ih_store_fail (self, err) : found;
}

int
ih_store_get (ih_store_t *self, const char *id, ih_msg_t *msg, ih_store_alert_t *info, ih_err_t *err)
{
    if (msg)
        ih_msg_free (msg);
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_val k = ih_store_val (id, IH_UUID_LEN), v;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &k, &v, "cannot read");
    if (found == 1 && ih_store_load_alert (self, txn, id, &v, msg, info) != IH_OK)
        found = IH_EFAIL;
    ih_store_txn_end (self, txn);
    return found < 0 ? ih_store_fail (self, err) : found;
}

int
ih_store_foreach (ih_store_t *self, uint64_t after, bool reverse, ih_store_alert_fn *fn,
                  void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_cursor *cur;
    if (ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [IH_STORE_DB_BYSEQ], &cur),
                      "cannot read") != IH_OK) {
        ih_store_txn_end (self, txn);
        return ih_store_fail (self, err);
    }
    ih_msg_t msg;
    ih_msg_init (&msg, IH_KIND_ALERT);
    ih_buf_t rset;
    ih_buf_init (&rset);
    ih_store_alert_t info;
    uint8_t sk [8];
    ih_put_be64 (sk, after + 1);
    MDB_val k = ih_store_val (sk, 8), v;
    int rc = ih_store_mdb_next (self, cur, &k, &v, reverse ? MDB_LAST : MDB_SET_RANGE, "cannot read");
    int result = 0;             //  fn's, when it stops the walk
    while (rc == 1) {
        if (k.mv_size != 8 || v.mv_size != IH_UUID_LEN)
            break;
        if (reverse && ih_get_be64 (k.mv_data) <= after)
            break;
        char id [IH_UUID_LEN + 1];
        memcpy (id, v.mv_data, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
        MDB_val ak = ih_store_val (id, IH_UUID_LEN), av;
        if (ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &ak, &av, "cannot read") == 1) {
            ih_store_view_t view;
            if ((rc = ih_store_load_view (self, txn, id, &av, &msg, &rset, &view, &info)) != IH_OK)
                break;
            result = fn (view.msg, &info, arg);
            ih_store_view_done (self, &view);
            if (result)
                break;
        }
        rc = ih_store_mdb_next (self, cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT, "cannot read");
    }
    if (rc < 0)
        result = ih_store_fail (self, err);
    ih_msg_free (&msg);
    ih_buf_free (&rset);
    mdb_cursor_close (cur);
    ih_store_txn_end (self, txn);
    return result;
}

bool
ih_store_ioc_retracted (const ih_store_alert_t *info, const ih_ioc_t *ioc)
{
    if (info->retracted)
        return true;
    if (info->retracted_iocs == 0)
        return false;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (ioc->type, ioc->value, key, NULL, NULL);
    return klen > 0 && ih_index_set_has (info->retracted_set, info->retracted_set_len, key,
                                         (size_t) klen);
}

/* ---- sightings and search ------------------------------------------------------------------ */

int
ih_store_sightings (ih_store_t *self, ih_ioc_type_t t, const char *value, uint64_t *count,
                    uint32_t *reports, ih_err_t *err)
{
    *count = 0;
    if (reports)
        *reports = 0;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (t, value, key, NULL, NULL);
    if (klen <= 0)
        return ih_err_set (err, "%s: not a normalised %s", value, ih_ioc_type_name (t));
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_val k = ih_store_val (key, (size_t) klen), v;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_SIGHTINGS, &k, &v, "cannot read");
    if (found == 1 && v.mv_size == 32) {
        *count = ih_get_le64 (v.mv_data);
        if (reports)
            *reports = ih_get_le32 ((const uint8_t *) v.mv_data + 8);
    }
    ih_store_txn_end (self, txn);
    return found < 0 ? ih_store_fail (self, err) : IH_OK;
}

int
ih_store_sighting_get (ih_store_t *self, ih_ioc_type_t t, const char *value, ih_store_sighting_t *out,
                       ih_err_t *err)
{
    memset (out, 0, sizeof *out);
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (t, value, key, NULL, NULL);
    if (klen <= 0)
        return ih_err_set (err, "%s: not a normalised %s", value, ih_ioc_type_name (t));
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_val k = ih_store_val (key, (size_t) klen), v;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_SIGHTINGS, &k, &v, "cannot read");
    if (found == 1 && v.mv_size == 32) {
        const uint8_t *p = (const uint8_t *) v.mv_data;
        out->count = ih_get_le64 (p);
        out->reports = ih_get_le32 (p + 8);
        out->first_ms = (int64_t) ih_get_le64 (p + 16);
        out->last_ms = (int64_t) ih_get_le64 (p + 24);
    }
    ih_store_txn_end (self, txn);
    return found < 0 ? ih_store_fail (self, err) : IH_OK;
}

typedef struct {
    ih_store_t *self;
    MDB_txn *txn;
    ih_index_hit_fn *fn;
    void *arg;
} s_search_t;

/*  Adds the alert's own status to each hit. */
static int
s_search_hit (const ih_index_hit_t *hit, void *arg)
{
    s_search_t *s = (s_search_t *) arg;
    if (hit->retracted)
        return s->fn (hit, s->arg);
    ih_index_hit_t h = *hit;
    MDB_val k = ih_store_val (h.id, IH_UUID_LEN), v;
    if (ih_store_mdb_get (s->self, s->txn, IH_STORE_DB_ALERTS, &k, &v, "search") == 1
    &&  v.mv_size >= IH_STORE_ARHDR && ((const uint8_t *) v.mv_data) [1])
        h.retracted = true;
    return s->fn (&h, s->arg);
}

int
ih_store_search (ih_store_t *self, ih_ioc_type_t t, const char *value, unsigned flags,
                 ih_index_hit_fn *fn, void *arg, ih_err_t *err)
{
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    if (!value || ih_index_key (t, value, key, NULL, NULL) <= 0) {
        const char *tn = ih_ioc_type_name (t);
        return ih_err_set (err, "search: '%.64s' is not a normalised %s", value ? value : "",
                           tn ? tn : "value");
    }
    s_search_t s = { self, NULL, fn, arg };
    if (ih_store_txn_begin (self, MDB_RDONLY, &s.txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    uint32_t plen [IH_INDEX_PLEN_N];
    uint64_t cursor;
    ih_store_meta_counts_t c;
    int rc = ih_store_meta_load (self, s.txn, &cursor, &c, plen, "search");
    int hits = 0;
    if (rc == IH_OK) {
        ih_index_t x = { s.txn, self->dbi [IH_STORE_DB_IOCS], plen };
        rc = ih_store_mdb (self, ih_index_search (&x, t, value, flags, s_search_hit, &s, &hits), "search");
    }
    ih_store_txn_end (self, s.txn);
    return rc ? ih_store_fail (self, err) : hits;
}

/* ---- the log and what refers to an alert ---------------------------------------------------- */

int
ih_store_log_read (ih_store_t *self, uint64_t after, ih_store_log_t *out, size_t max, ih_err_t *err)
{
    if (max == 0 || after == UINT64_MAX)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_cursor *cur;
    if (ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [IH_STORE_DB_LOG], &cur),
                      "cannot read the log") != IH_OK) {
        ih_store_txn_end (self, txn);
        return ih_store_fail (self, err);
    }
    uint8_t sk [8];
    ih_put_be64 (sk, after + 1);
    MDB_val k = ih_store_val (sk, 8), v;
    size_t n = 0;
    int rc = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read the log");
    while (rc == 1 && n < max) {
        if (k.mv_size == 8 && v.mv_size == IH_STORE_LOG_LEN) {
            const uint8_t *e = (const uint8_t *) v.mv_data;
            ih_store_log_t *o = &out [n++];
            memset (o, 0, sizeof *o);
            o->seq = ih_get_be64 (k.mv_data);
            o->rejected = e [0] == 0xff || e [0] >= IH_KIND_COUNT;
            if (!o->rejected) {
                o->kind = (ih_kind_t) e [0];
                o->outcome = (ih_store_outcome_t) e [1];
                o->revision = ih_get_le32 (e + 4);
                memcpy (o->id, e + 8, IH_UUID_LEN);
                memcpy (o->ref, e + 8 + IH_UUID_LEN, IH_UUID_LEN);
                o->id [IH_UUID_LEN] = o->ref [IH_UUID_LEN] = 0;
            }
            else
                o->outcome = IH_STORE_REJECTED;
        }
        rc = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read the log");
    }
    mdb_cursor_close (cur);
    ih_store_txn_end (self, txn);
    return rc < 0 ? ih_store_fail (self, err) : (int) n;
}

int
ih_store_refs_foreach (ih_store_t *self, const char *id, ih_kind_t kind, ih_store_msg_fn *fn,
                       void *arg, ih_err_t *err)
{
    int db = kind == IH_KIND_COMMENT ? IH_STORE_DB_COMMENTS
           : kind == IH_KIND_RETRACTION ? IH_STORE_DB_RETRACTIONS : -1;
    if (db < 0) {
        const char *kn = ih_kind_name (kind);
        return ih_err_set (err, "store: no messages of kind %s are kept", kn ? kn : "?");
    }
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_cursor *cur;
    if (ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [db], &cur), "cannot read") != IH_OK) {
        ih_store_txn_end (self, txn);
        return ih_store_fail (self, err);
    }
    ih_msg_t msg;
    ih_msg_init (&msg, kind);
    uint8_t start [IH_UUID_LEN + 8];
    ih_store_ref_key (id, 0, start);
    MDB_val k = ih_store_val (start, sizeof start), v;
    int result = 0;             //  fn's, when it stops the walk
    int rc = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
    while (rc == 1 && k.mv_size == sizeof start && memcmp (k.mv_data, id, IH_UUID_LEN) == 0) {
        if (v.mv_size > 64) {
            //  Decode from a copy, so that nothing depends on the map after the call.
            ih_buf_reset (&self->body);
            ih_buf_append (&self->body, (const uint8_t *) v.mv_data + 64, v.mv_size - 64);
            ih_msg_free (&msg);
            if (ih_body_decode (&msg, self->body.data, self->body.len, NULL) == 0) {
                result = fn (ih_get_be64 ((const uint8_t *) k.mv_data + IH_UUID_LEN), &msg, arg);
                if (result)
                    break;
            }
        }
        rc = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read");
    }
    if (rc < 0)
        result = ih_store_fail (self, err);
    ih_msg_free (&msg);
    mdb_cursor_close (cur);
    ih_store_txn_end (self, txn);
    return result;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    int n;
    uint64_t seqs [16];
    char ids [16][IH_UUID_LEN + 1];
    int retracted_iocs;         /* IOCs ih_store_ioc_retracted said yes to */
} s_walk_t;

static int
s_walk (const ih_msg_t *msg, const ih_store_alert_t *info, void *arg)
{
    s_walk_t *w = (s_walk_t *) arg;
    if (w->n < 16) {
        w->seqs [w->n] = info->seq;
        snprintf (w->ids [w->n], sizeof w->ids [0], "%s", msg->id);
    }
    w->n++;
    for (uint32_t i = 0; i < msg->ioc_count; i++)
        w->retracted_iocs += ih_store_ioc_retracted (info, &msg->iocs [i]);
    return 0;
}

typedef struct {
    int n;
    uint64_t seqs [8];
    char text [32];
    uint32_t iocs;
    bool stop;
} s_refs_t;

static int
s_tref (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    s_refs_t *r = (s_refs_t *) arg;
    if (r->stop)
        return 7;
    if (r->n < 8)
        r->seqs [r->n] = seq;
    r->n++;
    snprintf (r->text, sizeof r->text, "%s", msg->text ? msg->text : "");
    r->iocs = msg->ioc_count;
    return 0;
}

void
ih_store_read_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-read", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s);
    const char *ida = IH_STORE_TID_A, *idb = IH_STORE_TID_B, *idc = IH_STORE_TID_C;

    //  1. Alerts, sightings and the index after the first batch of the history.
    ih_store_thistory (s, 1, NULL);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1);
    IH_CHECK (streq (m.title, "first") && m.ioc_count == 3);
    IH_CHECK (info.seq == 1 && info.revision == 1 && info.revisions == 1 && !info.retracted);
    IH_CHECK (info.comments == 1 && info.sightings == 3);
    IH_CHECK (ih_store_get (s, "cccccccc-0000-4000-8000-000000000000", &m, &info, &err) == 0);
    IH_CHECK (ih_store_get (s, "short", &m, NULL, &err) == 0);
    uint64_t count;
    uint32_t reports;
    IH_CHECK (ih_store_sightings (s, IH_IOC_IPV4, "192.0.2.1", &count, &reports, &err) == 0);
    IH_CHECK (count == 5 && reports == 2);
    ih_store_sighting_t sg;
    IH_CHECK (ih_store_sighting_get (s, IH_IOC_IPV4, "192.0.2.1", &sg, &err) == 0);
    IH_CHECK (sg.count == 5 && sg.reports == 2 && sg.first_ms > 0 && sg.last_ms >= sg.first_ms);
    IH_CHECK (ih_store_sighting_get (s, IH_IOC_IPV4, "192.0.2.2", &sg, &err) == 0 && sg.count == 0
              && sg.last_ms == 0);
    IH_CHECK (ih_store_sightings (s, IH_IOC_IPV4, "192.0.2.2", &count, &reports, &err) == 0 && count == 0);
    IH_CHECK (ih_store_sightings (s, IH_IOC_IPV4, "192.0.2", &count, &reports, &err) == -1);
    ih_index_hit_t hit;
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "198.51.100.77", &hit) == 1 && streq (hit.id, ida));
    IH_CHECK (hit.match == IH_MATCH_CONTAINS);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_DOMAIN, "www.evil.example", &hit) == 1 && hit.match == IH_MATCH_PARENT);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_DOMAIN, "phish.example.net", &hit) == 1 && hit.derived);
    IH_CHECK (ih_store_search (s, IH_IOC_IPV4, "192.0.2", 0, NULL, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "not a normalised ipv4"));

    //  2. Walks in broker order: the revised alert moved behind the other one.
    ih_store_thistory (s, 2, NULL);
    s_walk_t w;
    memset (&w, 0, sizeof w);
    IH_CHECK (ih_store_foreach (s, 0, false, s_walk, &w, &err) == 0);
    IH_CHECK (w.n == 2 && w.seqs [0] == 2 && w.seqs [1] == 7 && streq (w.ids [1], ida));
    memset (&w, 0, sizeof w);
    IH_CHECK (ih_store_foreach (s, 0, true, s_walk, &w, &err) == 0);
    IH_CHECK (w.n == 2 && w.seqs [0] == 7);
    memset (&w, 0, sizeof w);
    IH_CHECK (ih_store_foreach (s, 2, false, s_walk, &w, &err) == 0 && w.n == 1);
    memset (&w, 0, sizeof w);
    IH_CHECK (ih_store_foreach (s, 2, true, s_walk, &w, &err) == 0 && w.n == 1);

    //  3. After the retractions: the log (one entry per seq, rejected ones too), and what
    //     refers to an alert.
    ih_store_thistory (s, 3, NULL);
    ih_store_log_t lg [32];
    IH_CHECK (ih_store_log_read (s, 0, lg, 32, &err) == 14);
    IH_CHECK (lg [0].seq == 1 && !lg [0].rejected && lg [0].kind == IH_KIND_ALERT);
    IH_CHECK (lg [0].outcome == IH_STORE_NEW && lg [0].revision == 1 && streq (lg [0].id, ida));
    IH_CHECK (lg [0].ref [0] == 0);
    IH_CHECK (lg [2].seq == 3 && lg [2].rejected && lg [2].outcome == IH_STORE_REJECTED);
    IH_CHECK (lg [3].kind == IH_KIND_COMMENT && streq (lg [3].ref, ida));
    IH_CHECK (lg [5].kind == IH_KIND_SIGHTING && lg [5].ref [0] == 0);
    IH_CHECK (lg [6].outcome == IH_STORE_REVISED && lg [6].revision == 2);
    IH_CHECK (lg [7].outcome == IH_STORE_STALE && lg [7].revision == 1);
    IH_CHECK (lg [11].kind == IH_KIND_RETRACTION && streq (lg [11].ref, idc));
    IH_CHECK (ih_store_log_read (s, 5, lg, 2, &err) == 2 && lg [0].seq == 6 && lg [1].seq == 7);
    IH_CHECK (ih_store_log_read (s, 14, lg, 32, &err) == 0);
    IH_CHECK (ih_store_log_read (s, UINT64_MAX, lg, 32, &err) == 0);
    s_refs_t rf;
    memset (&rf, 0, sizeof rf);
    IH_CHECK (ih_store_refs_foreach (s, ida, IH_KIND_COMMENT, s_tref, &rf, &err) == 0);
    IH_CHECK (rf.n == 1 && rf.seqs [0] == 4 && streq (rf.text, "because"));
    memset (&rf, 0, sizeof rf);
    IH_CHECK (ih_store_refs_foreach (s, ida, IH_KIND_RETRACTION, s_tref, &rf, &err) == 0);
    IH_CHECK (rf.n == 1 && rf.seqs [0] == 10 && rf.iocs == 1);
    memset (&rf, 0, sizeof rf);
    IH_CHECK (ih_store_refs_foreach (s, idc, IH_KIND_RETRACTION, s_tref, &rf, &err) == 0);
    IH_CHECK (rf.n == 1 && rf.seqs [0] == 12);
    memset (&rf, 0, sizeof rf);
    IH_CHECK (ih_store_refs_foreach (s, idb, IH_KIND_COMMENT, s_tref, &rf, &err) == 0 && rf.n == 0);
    rf.stop = true;
    IH_CHECK (ih_store_refs_foreach (s, ida, IH_KIND_COMMENT, s_tref, &rf, &err) == 7);
    IH_CHECK (ih_store_refs_foreach (s, ida, IH_KIND_SIGHTING, s_tref, &rf, &err) == -1);
    IH_CHECK (strstr (err.msg, "sighting"));

    //  4. Which IOCs are retracted is a function of what the caller holds: info carries
    //     the set (in msg's arena), whatever the store reads next.
    ih_msg_t other;
    ih_msg_init (&other, IH_KIND_ALERT);
    ih_store_alert_t other_info;
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1 && info.retracted_iocs == 1);
    IH_CHECK (info.retracted_set && info.retracted_set_len > 0);
    IH_CHECK (ih_store_get (s, idc, &other, &other_info, &err) == 1 && other_info.retracted_iocs == 1);
    IH_CHECK (ih_store_get (s, idb, &other, &other_info, &err) == 1 && other_info.retracted);
    IH_CHECK (ih_store_ioc_retracted (&info, &m.iocs [0]));           //  192.0.2.2
    IH_CHECK (!ih_store_ioc_retracted (&info, &m.iocs [1]));          //  192.0.2.3
    IH_CHECK (ih_store_get (s, idc, NULL, &other_info, &err) == 1 && !other_info.retracted_set);
    memset (&w, 0, sizeof w);
    IH_CHECK (ih_store_foreach (s, 0, false, s_walk, &w, &err) == 0 && w.n == 3);
    IH_CHECK (w.retracted_iocs == 1 + 2 + 1);       //  A: one; B: both (all of it); C: one
    if (verbose)
        printf ("\n    %d alerts, %d retracted IOCs", w.n, w.retracted_iocs);
    ih_msg_free (&other);

    ih_msg_free (&m);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
}

/*  What a callback saw of one alert (ih_store_get_with). */
typedef struct {
    const ih_msg_t *msg;
    char title [64];
    uint64_t seq;
    bool retracted;
    int retracted_iocs;
} s_seen_t;

static int
s_tsee (const ih_msg_t *msg, const ih_store_alert_t *info, void *arg)
{
    s_seen_t *x = (s_seen_t *) arg;
    x->msg = msg;
    snprintf (x->title, sizeof x->title, "%s", msg->title);
    x->seq = info->seq;
    x->retracted = info->retracted;
    x->retracted_iocs = 0;
    for (uint32_t i = 0; i < msg->ioc_count; i++)
        x->retracted_iocs += ih_store_ioc_retracted (info, &msg->iocs [i]);
    return 0;
}

/*  The cache of decoded alerts (ih_store_cache): a handle with one answers as a handle
    without, through revisions and retractions that another handle (the writer) stores:
    never the message a revision replaced, always the status of now. */
void
ih_store_cache_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-cache", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s);
    ih_cache_t *cache = ih_store_cache_new (1 << 20);
    ih_store_t *h = ih_store_share (s);
    ih_store_cache (h, cache);
    ih_store_t *plain = ih_store_share (s);
    const char *ida = IH_STORE_TID_A, *idb = IH_STORE_TID_B;

    ih_store_thistory (s, 1, NULL);
    s_seen_t a1, a2;
    IH_CHECK (ih_store_get_with (h, ida, s_tsee, &a1, &err) == 1);
    IH_CHECK (streq (a1.title, "first") && a1.seq == 1 && !a1.retracted);
    IH_CHECK (ih_store_get_with (h, ida, s_tsee, &a2, &err) == 1);
    IH_CHECK (a2.msg == a1.msg);                    //  the same decoded message, no decode
    IH_CHECK (ih_store_get_with (h, "cccccccc-0000-4000-8000-000000000000", s_tsee, &a2, &err) == 0);
    IH_CHECK (ih_store_get_with (h, "short", s_tsee, &a2, &err) == 0);
    ih_cache_stats_t st;
    ih_cache_stats (cache, &st);
    IH_CHECK (st.items == 1 && st.hits == 1 && st.misses == 1);

    //  Revisions: the walk and the lookup give the revised alert, never the cached one.
    ih_store_thistory (s, 2, NULL);
    IH_CHECK (ih_store_get_with (h, ida, s_tsee, &a2, &err) == 1);
    IH_CHECK (streq (a2.title, "first, revised") && a2.seq == 7 && a2.msg != a1.msg);
    //  Retractions (of a whole alert, of one IOC) and a third revision: the status and
    //  the retracted set are of now, the message the latest revision's.
    ih_store_thistory (s, 3, NULL);
    IH_CHECK (ih_store_get_with (h, idb, s_tsee, &a2, &err) == 1 && a2.retracted);
    IH_CHECK (ih_store_get_with (h, ida, s_tsee, &a1, &err) == 1 && !a1.retracted);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    IH_CHECK (ih_store_get (plain, ida, &m, &info, &err) == 1);
    IH_CHECK (streq (a1.title, m.title) && streq (a1.title, "first, third revision"));
    IH_CHECK (a1.seq == info.seq && info.retracted_iocs == 1);
    int want = 0;
    for (uint32_t i = 0; i < m.ioc_count; i++)
        want += ih_store_ioc_retracted (&info, &m.iocs [i]);
    IH_CHECK (a1.retracted_iocs == want && want == 1);
    ih_msg_free (&m);
    //  The walks of a handle with the cache and of one without agree, twice over (the
    //  second from the cache).
    for (int round = 0; round < 2; round++)
        for (int reverse = 0; reverse < 2; reverse++) {
            s_walk_t w1, w2;
            memset (&w1, 0, sizeof w1);
            memset (&w2, 0, sizeof w2);
            IH_CHECK (ih_store_foreach (h, 0, reverse, s_walk, &w1, &err) == 0);
            IH_CHECK (ih_store_foreach (plain, 0, reverse, s_walk, &w2, &err) == 0);
            IH_CHECK (w1.n == 3 && w1.n == w2.n && w1.retracted_iocs == w2.retracted_iocs);
            IH_CHECK (memcmp (w1.seqs, w2.seqs, sizeof w1.seqs) == 0);
            ih_store_walk_t wk;
            memset (&wk, 0, sizeof wk);
            wk.reverse = reverse;
            memset (&w1, 0, sizeof w1);
            memset (&w2, 0, sizeof w2);
            IH_CHECK (ih_store_walk (h, &wk, s_walk, &w1, &err) == 0);
            IH_CHECK (ih_store_walk (plain, &wk, s_walk, &w2, &err) == 0);
            IH_CHECK (w1.n == 3 && w1.n == w2.n && w1.retracted_iocs == w2.retracted_iocs);
            IH_CHECK (memcmp (w1.seqs, w2.seqs, sizeof w1.seqs) == 0);
        }
    IH_CHECK (ih_store_get_with (h, ida, s_tsee, &a2, &err) == 1);
    //  Shared handles take the cache; snapshots do not.
    ih_store_t *h2 = ih_store_share (h);
    ih_store_t *snap = ih_store_snapshot (h, &err);
    IH_CHECK (snap);
    ih_cache_stats (cache, &st);
    uint64_t asked = st.hits + st.misses;
    IH_CHECK (ih_store_get_with (h2, ida, s_tsee, &a1, &err) == 1 && a1.msg == a2.msg);
    IH_CHECK (ih_store_get_with (snap, ida, s_tsee, &a1, &err) == 1 && a1.msg != a2.msg);
    ih_cache_stats (cache, &st);
    IH_CHECK (st.hits + st.misses == asked + 1);
    if (verbose)
        printf ("\n    cache: %" PRIu64 " alerts, %" PRIu64 " bytes, %" PRIu64 " hits, %" PRIu64
                " misses\n    ", st.items, st.bytes, st.hits, st.misses);
    ih_store_destroy (&snap);
    ih_store_destroy (&h2);
    ih_store_destroy (&plain);
    ih_store_destroy (&h);
    ih_store_destroy (&s);
    ih_cache_destroy (&cache);
    ih_tk_rmtree (base);
}
#endif
