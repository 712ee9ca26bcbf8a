/*  ih_store_ingest.c: the store's write path, ih_store_ingest (semantics in ih_store.h,
    INGEST; the store's files and return codes in ih_store_int.h).

    Read top to bottom: LMDB inside the ingest transaction, each kind, the log and the
    members, the transaction and what a full map or a full disk does to it, then the
    self-test.
*/
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ih_admit.h"
#include "ih_store_int.h"
#include "ih_codec.h"
#include "ih_mdbfile.h"

/*  What every failure inside the ingest transaction says: "store: cannot store: …". */
#define s_WHAT  "cannot store"

/* ---- LMDB inside the ingest transaction --------------------------------------------------- */

static int
s_get (ih_store_t *self, int db, MDB_val *k, MDB_val *v)
{
    return ih_store_mdb_get (self, self->txn, db, k, v, s_WHAT);
}

static int
s_put (ih_store_t *self, int db, MDB_val *k, MDB_val *v)
{
    return ih_store_mdb (self, mdb_put (self->txn, self->dbi [db], k, v, 0), s_WHAT);
}

/*  Deletes k (with all its values); absent is fine. */
static int
s_del (ih_store_t *self, int db, MDB_val *k)
{
    int rc = mdb_del (self->txn, self->dbi [db], k, NULL);
    return ih_store_mdb (self, rc == MDB_NOTFOUND ? 0 : rc, s_WHAT);
}

/*  The IOC index returns LMDB codes. */
static int
s_index (ih_store_t *self, int rc)
{
    return ih_store_mdb (self, rc, s_WHAT);
}

/* ---- ingest, per kind -------------------------------------------------------------------- */

static int
s_bad (ih_store_t *self, const char *id)
{
    return ih_err_set (&self->why, "store: alert %.36s: corrupt record", id);
}

/*  Decodes a stored body into self->scratch (freeing what it held). Returns 0 or -1
    (ih_body_decode's). */
static int
s_decode_scratch (ih_store_t *self, const uint8_t *data, size_t len)
{
    ih_msg_free (&self->scratch);
    return ih_body_decode (&self->scratch, data, len, NULL);
}

/*  refs[id] += (sightings, comments, retractions). */
static int
s_refs_add (ih_store_t *self, const char *id, uint64_t sightings, uint32_t comments, int32_t retractions)
{
    uint8_t b [16] = { 0 };
    MDB_val k = ih_store_val (id, IH_UUID_LEN), v;
    int found = s_get (self, IH_STORE_DB_REFS, &k, &v);
    if (found < 0)
        return found;
    if (found && v.mv_size == 16)
        memcpy (b, v.mv_data, 16);
    ih_put_le64 (b, ih_get_le64 (b) + sightings);
    ih_put_le32 (b + 8, ih_get_le32 (b + 8) + comments);
    int64_t nret = (int64_t) ih_get_le32 (b + 12) + retractions;
    ih_put_le32 (b + 12, nret > 0 ? (uint32_t) nret : 0);
    v = ih_store_val (b, 16);
    return s_put (self, IH_STORE_DB_REFS, &k, &v);
}

/*  Marks it rejected by the store, with the reason (what callers log). */
static void
s_reject (ih_store_t *self, ih_store_item_t *it, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void
s_reject (ih_store_t *self, ih_store_item_t *it, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (it->why, sizeof it->why, fmt, ap);
    va_end (ap);
    it->outcome = IH_STORE_REJECTED;
    self->counts.rejected++;
}

/*  A retraction delivered before its alert (narrowing): replays stored retractions of
    id into r and self->rset. Only the alert's own org may retract it: a stored
    retraction from another org (which the agent could not judge when it came) is
    deleted now, and it->why says so. */
static int
s_apply_known_retractions (ih_store_t *self, ih_store_item_t *it, const char *id, ih_store_arec_t *r)
{
    const char *org = it->msg->org;
    //  The arriving alert is what the stored retractions refer to (ih_admit.h).
    const ih_admit_held_t held = { true, IH_KIND_ALERT, org, it->msg->revision, it->msg->tlp,
                                   &it->msg->recipients, IH_ADMIT_REV_UNTRACKED };
    MDB_cursor *cur;
    int rc = ih_store_mdb (self, mdb_cursor_open (self->txn, self->dbi [IH_STORE_DB_RETRACTIONS], &cur),
                           s_WHAT);
    if (rc)
        return rc;
    uint8_t start [IH_UUID_LEN + 8];
    ih_store_ref_key (id, 0, start);
    MDB_val k = ih_store_val (start, sizeof start), v;
    ih_buf_t foreign;           /* seqs (u64) of retractions from other orgs */
    ih_buf_init (&foreign);
    size_t dropped = 0;
    uint64_t first_seq = 0;
    char first_org [IH_MAX_SHORT + 1] = "";
    rc = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, s_WHAT);
    while (rc == 1 && k.mv_size == sizeof start && memcmp (k.mv_data, id, IH_UUID_LEN) == 0) {
        uint64_t seq = ih_get_be64 ((const uint8_t *) k.mv_data + IH_UUID_LEN);
        if (v.mv_size > 64
        &&  s_decode_scratch (self, (const uint8_t *) v.mv_data + 64, v.mv_size - 64) == 0) {
            if (self->scratch.kind != IH_KIND_RETRACTION
            ||  ih_admit_ref (&held, &self->scratch, NULL, NULL) == IH_ADMIT_NOT_OWNER) {
                if (dropped++ == 0) {
                    first_seq = seq;
                    snprintf (first_org, sizeof first_org, "%s",
                              self->scratch.org ? self->scratch.org : "?");
                }
                ih_buf_append (&foreign, &seq, sizeof seq);
            }
            else
            if (self->scratch.ioc_count == 0) {
                r->status = 1;
                r->retract_seq = seq;
            }
            else
                ih_index_set_add_msg (&self->rset, &self->scratch);
        }
        rc = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, s_WHAT);
    }
    mdb_cursor_close (cur);
    rc = rc < 0 ? rc : IH_OK;   //  the end of the database, or of this alert's keys
    //  Delete the foreign ones: refused, they are no longer listed with the alert.
    for (size_t i = 0; rc == IH_OK && i < foreign.len / 8; i++) {
        uint64_t seq;
        memcpy (&seq, foreign.data + 8 * i, 8);
        uint8_t key [IH_UUID_LEN + 8];
        ih_store_ref_key (id, seq, key);
        MDB_val dk = ih_store_val (key, sizeof key);
        rc = s_del (self, IH_STORE_DB_RETRACTIONS, &dk);
        if (rc == IH_OK)
            rc = s_refs_add (self, id, 0, 0, -1);
        if (rc == IH_OK && self->counts.retractions)
            self->counts.retractions--;
    }
    ih_buf_free (&foreign);
    if (rc)
        return rc;
    if (dropped)
        snprintf (it->why, sizeof it->why, "dropped %zu retraction%s of alert %s received before it"
                  " (first: seq %" PRIu64 " from org '%s'): the alert's publisher is org '%s'",
                  dropped, dropped == 1 ? "" : "s", id, first_seq, first_org, org);
    return IH_OK;
}

/*  The org that published the stored alert, from the stored body (every revision has
    the org of the first one: see s_ingest_alert). Decodes it into self->scratch.
    Returns IH_OK, or IH_EFAIL when the stored body does not decode. */
static int
s_owner_org (ih_store_t *self, const char *id, const uint8_t *body, size_t len)
{
    if (s_decode_scratch (self, body, len) != 0 || !self->scratch.org)
        return s_bad (self, id);
    return IH_OK;
}

static int
s_put_byseq (ih_store_t *self, uint64_t seq, const char *id)
{
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val k = ih_store_val (sk, 8), v = ih_store_val (id, IH_UUID_LEN);
    return s_put (self, IH_STORE_DB_BYSEQ, &k, &v);
}

static int
s_del_byseq (ih_store_t *self, uint64_t seq)
{
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val k = ih_store_val (sk, 8);
    return s_del (self, IH_STORE_DB_BYSEQ, &k);
}

static int
s_ingest_alert (ih_store_t *self, ih_store_item_t *it)
{
    const ih_msg_t *m = it->msg;
    uint8_t uuid [16];
    ih_index_uuid_bin (m->id, uuid);
    MDB_val k = ih_store_val (m->id, IH_UUID_LEN), v;
    int found = s_get (self, IH_STORE_DB_ALERTS, &k, &v);
    if (found < 0)
        return found;
    ih_store_arec_t r;
    int rc;
    if (!found) {
        memset (&r, 0, sizeof r);
        r.revision = m->revision;
        r.revisions = 1;
        r.seq = r.first_seq = it->seq;
        r.sig = it->sig;
        r.body = it->body;
        r.body_len = (uint32_t) it->body_len;
        ih_buf_reset (&self->rset);
        MDB_val rk = ih_store_val (m->id, IH_UUID_LEN), rv;
        int refs = s_get (self, IH_STORE_DB_REFS, &rk, &rv);
        if (refs < 0)
            return refs;
        if (refs && rv.mv_size == 16 && ih_get_le32 ((const uint8_t *) rv.mv_data + 12) > 0) {
            if ((rc = s_apply_known_retractions (self, it, m->id, &r)))
                return rc;
        }
        r.nret = ih_index_set_count (self->rset.data, self->rset.len);
        if ((rc = s_index (self, ih_index_add_msg (&self->ix, m, uuid, self->rset.data, self->rset.len))))
            return rc;
        ih_store_arec_build (self, &r, self->rset.data, self->rset.len);
        v = ih_store_val (self->rbuf.data, self->rbuf.len);
        if ((rc = s_put (self, IH_STORE_DB_ALERTS, &k, &v)))
            return rc;
        if ((rc = s_put_byseq (self, it->seq, m->id)))
            return rc;
        //  The format 2 databases (ih_store_index.c): this revision (its body is the
        //  record's), the indexes.
        if ((rc = ih_store_rev_put (self, m, it->seq, it->sig, NULL, 0))
        ||  (rc = ih_store_ix_add (self, m, it->seq, r.status != 0)))
            return rc;
        self->counts.alerts++;
        self->counts.iocs += m->ioc_count;
        if (r.status)
            self->counts.retracted++;
        it->outcome = IH_STORE_NEW;
        return IH_OK;
    }
    if ((rc = ih_store_arec_parse (self, m->id, &v, &r)))
        return rc;
    //  Keep the stored record's pieces before the map changes under them.
    ih_buf_reset (&self->rset);
    ih_buf_append (&self->rset, r.rset, r.rset_len);
    ih_buf_reset (&self->body);
    ih_buf_append (&self->body, r.body, r.body_len);
    uint8_t old_sig [64];
    memcpy (old_sig, r.sig, 64);
    //  Only the org that published an alert may revise it. The owner is the org of the
    //  first revision this store received. LIMITATION: when a forged "revision" from
    //  another org arrives before the genuine first one (a compromised broker sending
    //  rev 99 of an id it saw nowhere yet), the store cannot know the true owner and
    //  keeps the first-seen org, so the genuine alert is then refused here; ownership
    //  of an id is the broker's to enforce when it accepts a publish.
    if ((rc = s_owner_org (self, m->id, self->body.data, self->body.len)))
        return rc;
    //  The rules (ih_admit.h): NOT_OWNER is refused; SAME_REV and STALE are kept out;
    //  REVISION (and NARROWS: only the broker enforces widening) replaces the body.
    const ih_admit_held_t held = { true, IH_KIND_ALERT, self->scratch.org, r.revision,
                                   self->scratch.tlp, &self->scratch.recipients,
                                   IH_ADMIT_REV_UNTRACKED };
    ih_admit_t verdict = ih_admit_id (&held, m, NULL, NULL);
    if (verdict == IH_ADMIT_NOT_OWNER) {
        s_reject (self, it, "revision %u of alert %s from org '%s' refused: the alert was published"
                  " by org '%s'", m->revision, m->id, m->org, self->scratch.org);
        return IH_OK;
    }
    if (verdict == IH_ADMIT_SAME_REV || verdict == IH_ADMIT_STALE) {
        it->outcome = IH_STORE_STALE;
        if (verdict == IH_ADMIT_SAME_REV)
            return IH_OK;
        //  A distinct, older revision seen late: count it and keep it among the
        //  revisions; the latest stays the alert's body.
        uint8_t sig [64];
        memcpy (sig, r.sig, 64);
        r.sig = sig;
        r.body = self->body.data;
        r.revisions++;
        if ((rc = ih_store_rev_put (self, m, it->seq, it->sig, it->body, it->body_len)))
            return rc;
        ih_store_arec_build (self, &r, self->rset.data, self->rset.len);
        v = ih_store_val (self->rbuf.data, self->rbuf.len);
        return s_put (self, IH_STORE_DB_ALERTS, &k, &v);
    }
    //  A newer revision: unindex the old body (decoded above), index the new one.
    uint32_t old_iocs = self->scratch.ioc_count;
    if ((rc = s_index (self, ih_index_del_msg (&self->ix, &self->scratch, uuid))))
        return rc;
    if ((rc = s_index (self, ih_index_add_msg (&self->ix, m, uuid, self->rset.data, self->rset.len))))
        return rc;
    if ((rc = s_del_byseq (self, r.seq)) || (rc = s_put_byseq (self, it->seq, m->id)))
        return rc;
    //  The indexes follow the latest revision (the old one is still in scratch); the old
    //  revision keeps its body in its own entry now, the new one's is the record's.
    if ((rc = ih_store_ix_del (self, &self->scratch, r.seq, r.status != 0))
    ||  (rc = ih_store_ix_add (self, m, it->seq, r.status != 0))
    ||  (rc = ih_store_rev_keep (self, m->id, r.revision, r.seq, old_sig, self->body.data,
                                 self->body.len))
    ||  (rc = ih_store_rev_put (self, m, it->seq, it->sig, NULL, 0)))
        return rc;
    r.revision = m->revision;
    r.revisions++;
    r.seq = it->seq;
    r.sig = it->sig;
    r.body = it->body;
    r.body_len = (uint32_t) it->body_len;
    ih_store_arec_build (self, &r, self->rset.data, self->rset.len);
    v = ih_store_val (self->rbuf.data, self->rbuf.len);
    if ((rc = s_put (self, IH_STORE_DB_ALERTS, &k, &v)))
        return rc;
    self->counts.iocs = self->counts.iocs - old_iocs + m->ioc_count;
    it->outcome = IH_STORE_REVISED;
    return IH_OK;
}

/*  Stores a comment or retraction body under ref+seq. */
static int
s_put_refmsg (ih_store_t *self, int db, const ih_store_item_t *it)
{
    uint8_t key [IH_UUID_LEN + 8];
    ih_store_ref_key (it->msg->ref, it->seq, key);
    ih_buf_reset (&self->rbuf);
    ih_buf_append (&self->rbuf, it->sig, 64);
    ih_buf_append (&self->rbuf, it->body, it->body_len);
    MDB_val k = ih_store_val (key, sizeof key), v = ih_store_val (self->rbuf.data, self->rbuf.len);
    return s_put (self, db, &k, &v);
}

/*  Only the alert's own org may retract it (or some of its IOCs). A retraction that
    arrives before its alert is kept aside and judged when the alert comes
    (s_apply_known_retractions). */
static int
s_ingest_retraction (ih_store_t *self, ih_store_item_t *it)
{
    const ih_msg_t *m = it->msg;
    MDB_val k = ih_store_val (m->ref, IH_UUID_LEN), v;
    int held = s_get (self, IH_STORE_DB_ALERTS, &k, &v);
    if (held < 0)
        return held;
    ih_store_arec_t r;
    uint8_t sig [64];
    int rc;
    if (held) {
        //  Copy the record's pieces out before the map changes under them.
        if ((rc = ih_store_arec_parse (self, m->ref, &v, &r)))
            return rc;
        ih_buf_reset (&self->rset);
        ih_buf_append (&self->rset, r.rset, r.rset_len);
        ih_buf_reset (&self->body);
        ih_buf_append (&self->body, r.body, r.body_len);
        memcpy (sig, r.sig, 64);
        r.sig = sig;
        r.body = self->body.data;
        r.rset = NULL;
        if ((rc = s_owner_org (self, m->ref, self->body.data, self->body.len)))
            return rc;
        const ih_admit_held_t alert = { true, IH_KIND_ALERT, self->scratch.org, r.revision,
                                        self->scratch.tlp, &self->scratch.recipients,
                                        IH_ADMIT_REV_UNTRACKED };
        if (ih_admit_ref (&alert, m, NULL, NULL) == IH_ADMIT_NOT_OWNER) {
            s_reject (self, it, "retraction of alert %s from org '%s' refused: the alert was"
                      " published by org '%s'", m->ref, m->org, self->scratch.org);
            return IH_OK;
        }
    }
    rc = s_put_refmsg (self, IH_STORE_DB_RETRACTIONS, it);
    if (rc == IH_OK)
        rc = s_refs_add (self, m->ref, 0, 0, 1);
    if (rc)
        return rc;
    self->counts.retractions++;
    it->outcome = IH_STORE_RETRACTED;
    if (!held)
        return IH_OK;           //  applied if the alert ever arrives (and is m->org's)
    if (m->ioc_count == 0) {
        if (!r.status) {
            self->counts.retracted++;
            //  It leaves the weekly counts of active alerts (scratch: its body).
            if ((rc = ih_store_ix_retract (self, &self->scratch)))
                return rc;
        }
        r.status = 1;
        r.retract_seq = it->seq;
    }
    else {
        uint8_t uuid [16];
        ih_index_uuid_bin (m->ref, uuid);
        ih_index_set_add_msg (&self->rset, m);
        r.nret = ih_index_set_count (self->rset.data, self->rset.len);
        const ih_msg_t *alert = &self->scratch;     //  the stored body, decoded above
        if ((rc = s_index (self, ih_index_retract (&self->ix, m, alert, uuid, self->rset.data,
                                                   self->rset.len))))
            return rc;
    }
    ih_store_arec_build (self, &r, self->rset.data, self->rset.len);
    v = ih_store_val (self->rbuf.data, self->rbuf.len);
    return s_put (self, IH_STORE_DB_ALERTS, &k, &v);
}

static int
s_ingest_comment (ih_store_t *self, ih_store_item_t *it)
{
    int rc = s_put_refmsg (self, IH_STORE_DB_COMMENTS, it);
    if (rc == IH_OK)
        rc = s_refs_add (self, it->msg->ref, 0, 1, 0);
    if (rc == IH_OK) {
        self->counts.comments++;
        it->outcome = IH_STORE_COMMENTED;
    }
    return rc;
}

static int
s_ingest_sighting (ih_store_t *self, ih_store_item_t *it)
{
    const ih_msg_t *m = it->msg;
    it->outcome = IH_STORE_SIGHTED;
    if (m->ioc_count < 1)
        return IH_OK;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (m->iocs [0].type, m->iocs [0].value, key, NULL, NULL);
    if (klen <= 0)
        return IH_OK;
    uint8_t b [32] = { 0 };
    MDB_val k = ih_store_val (key, (size_t) klen), v;
    int found = s_get (self, IH_STORE_DB_SIGHTINGS, &k, &v);
    if (found < 0)
        return found;
    if (found && v.mv_size == 32)
        memcpy (b, v.mv_data, 32);
    bool first = ih_get_le32 (b + 8) == 0;
    ih_put_le64 (b, ih_get_le64 (b) + m->count);
    ih_put_le32 (b + 8, ih_get_le32 (b + 8) + 1);
    if (first || (int64_t) ih_get_le64 (b + 16) > m->modified)
        ih_put_le64 (b + 16, (uint64_t) m->modified);
    if ((int64_t) ih_get_le64 (b + 24) < m->modified)
        ih_put_le64 (b + 24, (uint64_t) m->modified);
    v = ih_store_val (b, 32);
    int rc;
    if ((rc = s_put (self, IH_STORE_DB_SIGHTINGS, &k, &v)))
        return rc;
    if (m->ref [0] && (rc = s_refs_add (self, m->ref, m->count, 0, 0)))
        return rc;
    self->counts.sightings += m->count;
    return IH_OK;
}

/* ---- the log, the members ---------------------------------------------------------------- */

static int
s_put_log (ih_store_t *self, const ih_store_item_t *it)
{
    uint8_t sk [8], e [IH_STORE_LOG_LEN];
    memset (e, 0, sizeof e);
    ih_put_be64 (sk, it->seq);
    if (it->msg && it->outcome != IH_STORE_REJECTED) {
        e [0] = (uint8_t) it->msg->kind;
        ih_put_le32 (e + 4, it->msg->revision);
        memcpy (e + 8, it->msg->id, IH_UUID_LEN);
        memcpy (e + 8 + IH_UUID_LEN, it->msg->ref, strlen (it->msg->ref));
    }
    else
        e [0] = 0xff;
    e [1] = (uint8_t) it->outcome;
    MDB_val k = ih_store_val (sk, 8), v = ih_store_val (e, sizeof e);
    return s_put (self, IH_STORE_DB_LOG, &k, &v);
}

static int
s_put_member (ih_store_t *self, const ih_store_item_t *it)
{
    if (!it->rec || !it->rec_sig || !it->msg)
        return IH_OK;
    MDB_val k = ih_store_val (it->msg->signer, 32), v;
    int found = s_get (self, IH_STORE_DB_MEMBERS, &k, &v);
    if (found < 0)
        return found;
    if (found && v.mv_size == 64 + it->rec_len
    &&  memcmp (v.mv_data, it->rec_sig, 64) == 0
    &&  memcmp ((const uint8_t *) v.mv_data + 64, it->rec, it->rec_len) == 0)
        return IH_OK;
    ih_buf_reset (&self->rbuf);
    ih_buf_append (&self->rbuf, it->rec_sig, 64);
    ih_buf_append (&self->rbuf, it->rec, it->rec_len);
    v = ih_store_val (self->rbuf.data, self->rbuf.len);
    return s_put (self, IH_STORE_DB_MEMBERS, &k, &v);
}

/*  The log's bound (ih_store_log_limit): deletes the oldest entries beyond log_keep, at
    most `added` + 1024 of them, none above log_keep_after (the hook has yet to see them). */
static int
s_prune_log (ih_store_t *self, size_t added)
{
    MDB_stat st;
    int rc = ih_store_mdb (self, mdb_stat (self->txn, self->dbi [IH_STORE_DB_LOG], &st), s_WHAT);
    if (rc || st.ms_entries <= self->log_keep)
        return rc;
    uint64_t n = st.ms_entries - self->log_keep;
    if (n > added + 1024)
        n = added + 1024;
    MDB_cursor *cur;
    if ((rc = ih_store_mdb (self, mdb_cursor_open (self->txn, self->dbi [IH_STORE_DB_LOG], &cur), s_WHAT)))
        return rc;
    MDB_val k, v;
    while (n-- && rc == IH_OK) {
        int got = ih_store_mdb_next (self, cur, &k, &v, MDB_FIRST, s_WHAT);
        if (got != 1) {
            rc = got < 0 ? got : IH_OK;
            break;
        }
        if (k.mv_size != 8 || ih_get_be64 (k.mv_data) > self->log_keep_after)
            break;
        rc = ih_store_mdb (self, mdb_cursor_del (cur, 0), s_WHAT);
    }
    mdb_cursor_close (cur);
    return rc;
}

void
ih_store_log_limit (ih_store_t *self, uint64_t keep, uint64_t keep_after)
{
    self->log_keep = keep;
    self->log_keep_after = keep_after;
}

/* ---- the transaction ------------------------------------------------------------------------ */

/*  One attempt: the whole batch in one transaction. Returns IH_OK, or a code with
    nothing of the batch kept. */
static int
s_ingest_txn (ih_store_t *self, ih_store_item_t *items, size_t count)
{
    int rc = ih_store_txn_begin (self, 0, &self->txn, s_WHAT);
    if (rc)
        return rc;
    self->ix.txn = self->txn;
    self->ix.dbi = self->dbi [IH_STORE_DB_IOCS];
    self->ix.plen = self->plen;
    rc = ih_store_meta_load (self, self->txn, &self->cursor, &self->counts, self->plen, s_WHAT);
    bool changed = false;
    for (size_t i = 0; rc == IH_OK && i < count; i++) {
        ih_store_item_t *it = &items [i];
        it->outcome = IH_STORE_SKIPPED;
        it->why [0] = 0;
        if (it->seq <= self->cursor)
            continue;
        changed = true;
        if (!it->msg) {
            it->outcome = IH_STORE_REJECTED;
            self->counts.rejected++;
        }
        else {
            switch (it->msg->kind) {
                case IH_KIND_ALERT:      rc = s_ingest_alert (self, it); break;
                case IH_KIND_RETRACTION: rc = s_ingest_retraction (self, it); break;
                case IH_KIND_COMMENT:    rc = s_ingest_comment (self, it); break;
                case IH_KIND_SIGHTING:   rc = s_ingest_sighting (self, it); break;
            }
            if (it->outcome == IH_STORE_REJECTED)
                ;               //  refused by the store (s_reject): nothing of it kept
            else {
                if (rc == IH_OK)
                    rc = s_put_member (self, it);
                self->counts.messages++;
            }
        }
        if (rc == IH_OK)
            rc = s_put_log (self, it);
        self->cursor = it->seq;
    }
    if (rc == IH_OK && changed && self->log_keep)
        rc = s_prune_log (self, count);
    if (rc == IH_OK && changed)
        rc = ih_store_meta_save (self, s_WHAT);
    if (rc) {
        mdb_txn_abort (self->txn);
        self->txn = NULL;
        return rc;
    }
    //  The commit syncs the data pages and writes the meta page without a second sync
    //  (MDB_NOMETASYNC, for this commit only: one fdatasync instead of two). LMDB keeps
    //  the file consistent (the old meta page still names a whole earlier state); what a
    //  power cut may undo is this last commit, and the cursor is in it: the agent says
    //  hello from the earlier cursor and the broker replays what was lost. Nothing else
    //  depends on it being durable: the ack is flow control only (ih_broker_on_ack), and
    //  the next commit, or any ih_store_aux_put (fully synced), makes it durable too.
    //  Never for the broker's journal, whose commit is what a publisher's `ok` promises.
    mdb_env_set_flags (self->env, MDB_NOMETASYNC, 1);
    rc = ih_store_mdb (self, mdb_txn_commit (self->txn), s_WHAT);
    mdb_env_set_flags (self->env, MDB_NOMETASYNC, 0);
    self->txn = NULL;
    return rc;
}

int
ih_store_ingest (ih_store_t *self, ih_store_item_t *items, size_t count, ih_err_t *err)
{
    if (!self->writer)
        return ih_err_set (err, "store: opened read-only");
    for (size_t i = 1; i < count; i++)
        if (items [i].seq <= items [i - 1].seq)
            return ih_err_set (err, "store: items out of order (seq %" PRIu64 " after %" PRIu64 ")",
                               items [i].seq, items [i - 1].seq);
    for (int attempt = 0; attempt < 64; attempt++) {
        int rc = s_ingest_txn (self, items, count);
        if (rc == IH_OK)
            return IH_OK;
        rc = ih_store_recover (self, rc);
        if (rc == IH_OK)
            continue;           //  the map grew, or the environment was reopened: redo
        if (rc == IH_ENOSPACE) {
            //  Nothing of the batch was kept: LMDB writes the meta page last. If the meta
            //  write itself failed, the next transaction says MDB_PANIC and we reopen.
            ih_err_set (err, "%s; not advancing", self->why.msg);
            return IH_ENOSPACE;
        }
        return ih_store_fail (self, err);
    }
    return ih_err_set (err, "store: cannot grow the map enough for one batch");
}

int
ih_store_ingest_msgs (ih_store_t *self, const ih_msg_t *msgs, const uint64_t *seqs, size_t count,
                      ih_store_outcome_t *outcomes, ih_err_t *err)
{
    ih_store_item_t *items = (ih_store_item_t *) calloc (count ? count : 1, sizeof *items);
    ih_buf_t *bodies = (ih_buf_t *) calloc (count ? count : 1, sizeof *bodies);
    if (!items || !bodies)
        abort ();
    static const uint8_t zero_sig [64] = { 0 };
    int rc = IH_OK;
    size_t made = 0;
    for (; made < count; made++) {
        ih_buf_init (&bodies [made]);
        if (ih_body_encode (&msgs [made], &bodies [made], err) != 0) {
            ih_err_prefix (err, "message %zu", made);
            ih_buf_free (&bodies [made]);
            rc = IH_EFAIL;
            break;
        }
        items [made].seq = seqs [made];
        items [made].msg = &msgs [made];
        items [made].body = bodies [made].data;
        items [made].body_len = bodies [made].len;
        items [made].sig = zero_sig;
    }
    if (rc == IH_OK)
        rc = ih_store_ingest (self, items, count, err);
    for (size_t i = 0; i < made; i++) {
        if (outcomes && rc == IH_OK)
            outcomes [i] = items [i].outcome;
        ih_buf_free (&bodies [i]);
    }
    free (items);
    free (bodies);
    return rc;
}

const char *
ih_store_outcome_name (ih_store_outcome_t o)
{
    static const char *names [] = { "skipped", "rejected", "new", "revised", "stale",
                                    "retracted", "commented", "sighted" };
    return (unsigned) o < sizeof names / sizeof names [0] ? names [o] : "?";
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static int
s_tref (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    (*(int *) arg)++;
    return 0;
}

void
ih_store_ingest_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-ingest", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s);
    const char *ida = IH_STORE_TID_A, *idb = IH_STORE_TID_B, *idc = IH_STORE_TID_C;
    ih_store_tresult_t t [10];
    ih_index_hit_t hit;

    //  1. One batch of every kind, with a rejected item in the middle.
    ih_store_thistory (s, 1, t);
    IH_CHECK (t [0].outcome == IH_STORE_NEW && t [1].outcome == IH_STORE_NEW);
    IH_CHECK (t [2].outcome == IH_STORE_REJECTED);
    IH_CHECK (t [3].outcome == IH_STORE_COMMENTED && t [4].outcome == IH_STORE_SIGHTED);
    ih_store_counts_t c;
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    IH_CHECK (c.cursor == 6 && c.alerts == 2 && c.iocs == 5 && c.rejected == 1);
    IH_CHECK (c.comments == 1 && c.sightings == 5 && c.messages == 5);

    //  2. The same batch again (a replay after a reconnect) changes nothing.
    ih_store_thistory (s, 1, t);
    for (int i = 0; i < 6; i++)
        IH_CHECK (t [i].outcome == IH_STORE_SKIPPED);
    ih_store_counts_t c2;
    IH_CHECK (ih_store_counts (s, &c2, &err) == 0);
    IH_CHECK (c2.cursor == 6 && c2.alerts == 2 && c2.messages == 5 && c2.sightings == 5);

    //  3. Revisions: a higher one replaces (and reindexes), a lower one late is counted
    //     but kept out, an equal one is ignored.
    ih_store_thistory (s, 2, t);
    IH_CHECK (t [0].outcome == IH_STORE_REVISED);
    IH_CHECK (t [1].outcome == IH_STORE_STALE && t [2].outcome == IH_STORE_STALE);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1);
    IH_CHECK (streq (m.title, "first, revised") && m.revision == 2);
    IH_CHECK (info.revision == 2 && info.revisions == 3 && info.seq == 7 && info.first_seq == 1);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "192.0.2.1", NULL) == 0);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "192.0.2.2", NULL) == 1);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "198.51.100.77", NULL) == 0);   //  the /24 is gone
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.iocs == 4 && c.alerts == 2);

    //  4. Retractions: of one IOC (sticky across revisions), of a whole alert, and of an
    //     alert not received yet (applied when it comes).
    ih_store_thistory (s, 3, t);
    IH_CHECK (t [0].outcome == IH_STORE_RETRACTED && t [2].outcome == IH_STORE_RETRACTED);
    IH_CHECK (t [3].outcome == IH_STORE_NEW && t [4].outcome == IH_STORE_REVISED);
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1);
    IH_CHECK (!info.retracted && info.retracted_iocs == 1 && m.ioc_count == 2);
    IH_CHECK (ih_store_ioc_retracted (&info, &m.iocs [0]));           //  192.0.2.2
    IH_CHECK (!ih_store_ioc_retracted (&info, &m.iocs [1]));          //  192.0.2.3
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "192.0.2.2", &hit) == 1 && hit.retracted);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "192.0.2.3", &hit) == 1 && !hit.retracted);
    IH_CHECK (ih_store_get (s, idb, &m, &info, &err) == 1 && info.retracted && info.retract_seq == 11);
    IH_CHECK (ih_store_ioc_retracted (&info, &m.iocs [0]));
    IH_CHECK (ih_store_tsearch (s, IH_IOC_URL, "http://phish.example.net/login", &hit) == 1 && hit.retracted);
    IH_CHECK (ih_store_get (s, idc, &m, &info, &err) == 1 && !info.retracted && info.retracted_iocs == 1);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_FILENAME, "evil.exe", &hit) == 1 && hit.retracted);
    IH_CHECK (ih_store_tsearch (s, IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", &hit) == 1 && !hit.retracted);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    IH_CHECK (c.cursor == 14 && c.alerts == 3 && c.retracted == 1 && c.retractions == 3);

    //  5. A cap on the map: full is reported as no space, nothing moves, and a larger
    //     cap lets the same batch in.
    IH_CHECK (ih_store_tbulk (s, 15, 60, &err) == 0);
    IH_CHECK (ih_store_aux_put (s, "keep", "1", 1, &err) == 0);
    ih_store_destroy (&s);
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 1, &err);    //  cap below the current map
    IH_CHECK (s);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    uint64_t cap_cursor = c.cursor;
    int rc = ih_store_tbulk (s, cap_cursor + 1, 64, &err);
    if (rc == 0) {
        //  the free pages sufficed: try again until the map is really full
        for (uint64_t seq = cap_cursor + 65; rc == 0 && seq < cap_cursor + 65 + 64 * 64; seq += 64)
            rc = ih_store_tbulk (s, seq, 64, &err);
    }
    IH_CHECK (rc == IH_ENOSPACE);
    if (verbose)
        printf ("\n    capped: %s", err.msg);
    IH_CHECK (strstr (err.msg, "disk full") && strstr (err.msg, "not advancing"));
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    cap_cursor = c.cursor;
    ih_store_destroy (&s);
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);
    IH_CHECK (ih_store_tbulk (s, cap_cursor + 1, 64, &err) == 0);
    IH_CHECK (ih_store_cursor (s) == cap_cursor + 64);

    //  6. The disk is full (simulated with RLIMIT_FSIZE: writes past the limit fail with
    //     EFBIG): no space, nothing kept, cursor unchanged; then room again.
    char datafile [400];
    snprintf (datafile, sizeof datafile, "%s/data.mdb", dir);
    struct stat st;
    IH_CHECK (stat (datafile, &st) == 0);
    struct rlimit old_lim, lim;
    IH_CHECK (getrlimit (RLIMIT_FSIZE, &old_lim) == 0);
    void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
    lim = old_lim;
    lim.rlim_cur = (rlim_t) st.st_size;
    IH_CHECK (setrlimit (RLIMIT_FSIZE, &lim) == 0);
    uint64_t full_cursor = ih_store_cursor (s);
    rc = 0;
    for (int i = 0; rc == 0 && i < 64; i++)
        rc = ih_store_tbulk (s, ih_store_cursor (s) + 1, 64, &err);
    IH_CHECK (setrlimit (RLIMIT_FSIZE, &old_lim) == 0);
    signal (SIGXFSZ, old_handler);
    IH_CHECK (rc == IH_ENOSPACE);
    if (verbose)
        printf ("\n    disk full: %s", err.msg);
    IH_CHECK (strstr (err.msg, "disk full"));
    full_cursor = ih_store_cursor (s);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == full_cursor);
    IH_CHECK (ih_store_tbulk (s, full_cursor + 1, 64, &err) == 0);
    IH_CHECK (ih_store_cursor (s) == full_cursor + 64);
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1 && info.revision == 3);
    ih_buf_t aux;
    ih_buf_init (&aux);
    IH_CHECK (ih_store_aux_get (s, "keep", &aux, &err) == 1 && aux.len == 1);
    ih_buf_free (&aux);

    //  7. Misuse is an error, not a crash.
    ih_store_item_t bad [2];
    memset (bad, 0, sizeof bad);
    bad [0].seq = 5;
    bad [1].seq = 4;
    IH_CHECK (ih_store_ingest (s, bad, 2, &err) == -1 && strstr (err.msg, "out of order"));

    //  8. Ownership: only the alert's org revises or retracts it; another org's early
    //     retraction is dropped when the alert arrives, the publisher's own applied.
    {
        uint64_t q = ih_store_cursor (s);
        const char *ido = "dddddddd-4444-4444-8444-000000000004";
        const char *idp = "eeeeeeee-5555-4555-8555-000000000005";
        const char *idq = "ffffffff-6666-4666-8666-000000000006";
        const char *o1 [] = { "domain:owned.example", NULL };
        const char *o2 [] = { "ipv4:203.0.113.99", NULL };
        const ih_kind_t A = IH_KIND_ALERT, R = IH_KIND_RETRACTION;
        const ih_store_tmsg_t own [10] = {
            { .seq = q + 1, .kind = A, .id = ido, .revision = 1, .title = "owned by bank-a", .iocs = o1 },
            { .seq = q + 2, .kind = A, .id = ido, .revision = 9, .title = "forged by bank-b", .iocs = o2,
              .org = "bank-b" },
            { .seq = q + 3, .kind = A, .id = ido, .revision = 1, .title = "forged stale", .iocs = o2,
              .org = "bank-b" },
            { .seq = q + 4, .kind = R, .id = ido, .org = "bank-b" },
            { .seq = q + 5, .kind = R, .id = ido, .iocs = o1, .org = "bank-b" },
            { .seq = q + 6, .kind = R, .id = idp, .org = "bank-b" },        //  before its alert
            { .seq = q + 7, .kind = R, .id = idq },                         //  before its alert
            { .seq = q + 8, .kind = A, .id = idp, .revision = 1, .title = "p", .iocs = o1 },
            { .seq = q + 9, .kind = A, .id = idq, .revision = 1, .title = "q", .iocs = o1 },
            { .seq = q + 10, .kind = A, .id = ido, .revision = 2, .title = "owned by bank-a, rev 2", .iocs = o1 }
        };
        ih_store_counts_t c0;
        IH_CHECK (ih_store_counts (s, &c0, &err) == 0);
        IH_CHECK (ih_store_tingest (s, own, 10, t, &err) == 0);
        IH_CHECK (t [0].outcome == IH_STORE_NEW && !t [0].why [0]);
        for (int i = 1; i <= 4; i++) {
            if (verbose)
                printf ("\n    refused: %s", t [i].why);
            IH_CHECK (t [i].outcome == IH_STORE_REJECTED);
            IH_CHECK (strstr (t [i].why, "'bank-b' refused") && strstr (t [i].why, "'bank-a'"));
        }
        IH_CHECK (t [5].outcome == IH_STORE_RETRACTED && t [6].outcome == IH_STORE_RETRACTED);
        IH_CHECK (t [7].outcome == IH_STORE_NEW && strstr (t [7].why, "dropped 1 retraction"));
        IH_CHECK (strstr (t [7].why, "'bank-b'") && strstr (t [7].why, "'bank-a'"));
        IH_CHECK (t [8].outcome == IH_STORE_NEW && !t [8].why [0]);
        IH_CHECK (t [9].outcome == IH_STORE_REVISED);
        IH_CHECK (ih_store_get (s, ido, &m, &info, &err) == 1);
        IH_CHECK (streq (m.title, "owned by bank-a, rev 2") && streq (m.org, "bank-a"));
        IH_CHECK (info.revisions == 2 && !info.retracted && info.retracted_iocs == 0);
        IH_CHECK (ih_store_tsearch (s, IH_IOC_IPV4, "203.0.113.99", NULL) == 0);
        IH_CHECK (ih_store_tsearch (s, IH_IOC_DOMAIN, "owned.example", NULL) == 3);
        IH_CHECK (ih_store_get (s, idp, &m, &info, &err) == 1 && !info.retracted);
        IH_CHECK (ih_store_get (s, idq, &m, &info, &err) == 1 && info.retracted);
        int refs = 0;
        IH_CHECK (ih_store_refs_foreach (s, idp, IH_KIND_RETRACTION, s_tref, &refs, &err) == 0 && refs == 0);
        IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == q + 10);
        IH_CHECK (c.rejected == c0.rejected + 4 && c.retractions == c0.retractions + 1);
        IH_CHECK (c.alerts == c0.alerts + 3 && c.retracted == c0.retracted + 1);
        ih_store_log_t ol [4];
        IH_CHECK (ih_store_log_read (s, q + 1, ol, 2, &err) == 2 && ol [0].rejected && ol [1].rejected);
    }

    ih_msg_free (&m);
    ih_store_destroy (&s);

    //  A reader does not write (one environment per process: the writer is closed).
    ih_store_t *r = ih_store_open (dir, 0, 0, 0, &err);
    IH_CHECK (r);
    IH_CHECK (ih_store_ingest (r, bad, 1, &err) == -1 && strstr (err.msg, "read-only"));
    IH_CHECK (ih_store_aux_put (r, "keep", "2", 1, &err) == -1 && strstr (err.msg, "read-only"));
    ih_store_destroy (&r);
    ih_tk_rmtree (base);
}

/*  The log's bound: the newest `keep` entries stay, and so does every entry above
    keep_after (the on-alert hook's watermark), whatever the bound. */
void
ih_store_log_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-log", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);
    ih_store_tmsg_t batch [5];
    ih_store_log_t log [64];
    uint64_t seq = 0;
    //  unbounded (the default): every entry stays
    for (int b = 0; b < 2; b++) {
        for (int i = 0; i < 5; i++)
            batch [i] = (ih_store_tmsg_t) { ++seq, IH_KIND_ALERT, NULL, 1, "log", NULL, 0, NULL };
        IH_CHECK (ih_store_tingest (s, batch, 5, NULL, &err) == IH_OK);
    }
    IH_CHECK (ih_store_log_read (s, 0, log, 64, &err) == 10);
    //  keep 4: each batch trims the oldest
    ih_store_log_limit (s, 4, UINT64_MAX);
    for (int b = 0; b < 2; b++) {
        for (int i = 0; i < 5; i++)
            batch [i] = (ih_store_tmsg_t) { ++seq, IH_KIND_ALERT, NULL, 1, "log", NULL, 0, NULL };
        IH_CHECK (ih_store_tingest (s, batch, 5, NULL, &err) == IH_OK);
        IH_CHECK (ih_store_log_read (s, 0, log, 64, &err) == 4);
        IH_CHECK (log [0].seq == seq - 3 && log [3].seq == seq);
    }
    //  ... but never past the hook's watermark: entries above 17 stay
    ih_store_log_limit (s, 4, 17);
    for (int i = 0; i < 5; i++)
        batch [i] = (ih_store_tmsg_t) { ++seq, IH_KIND_ALERT, NULL, 1, "log", NULL, 0, NULL };
    IH_CHECK (ih_store_tingest (s, batch, 5, NULL, &err) == IH_OK);
    int n = ih_store_log_read (s, 0, log, 64, &err);
    if (verbose)
        printf ("\n    %d entries kept, from seq %" PRIu64 " to %" PRIu64, n, log [0].seq, log [n - 1].seq);
    IH_CHECK (n == 8 && log [0].seq == 18 && log [7].seq == 25);
    //  the counts are the store's, not the log's
    ih_store_counts_t c;
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == 25 && c.alerts == 25);
    //  a reader's limit changes nothing
    ih_store_destroy (&s);
    s = ih_store_open (dir, 0, 0, 0, &err);
    IH_CHECK (s);
    ih_store_log_limit (s, 1, UINT64_MAX);
    IH_CHECK (ih_store_log_read (s, 0, log, 64, &err) == 8);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
    if (verbose)
        printf ("\n    ");
}
#endif
