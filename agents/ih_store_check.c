/*  ih_store_check.c: the store's integrity check, whole (`infohub-agent verify`) or a few
    records at a time (the daemon's and the gateway's scrub). See ih_store.h, "checking".

    LMDB keeps no checksum: a flipped bit in a record reads back as a different record,
    and only a damaged page's structure is caught by LMDB itself (MDB_CORRUPTED,
    MDB_PAGE_NOTFOUND). So every record that holds a signed message is checked the way
    the subscriber checked it when it came (ih_client_verify_item): the member record
    kept with it (members, by signing key) against the pinned registry key, the body
    against the record's key, org, member and signer against the record, and the keys it
    is filed under against the body. Every other record is read, its size checked where
    it is fixed, so that LMDB walks every page.

    A damaged record is counted and reported, and the walk goes on with the next; an
    LMDB error ends that database's walk (its cursor cannot be trusted past it), reported
    once, and the walk goes on with the next database.
*/
#include <inttypes.h>
#include <string.h>

#include "ih_client.h"
#include "ih_sign.h"
#include "ih_store_int.h"
#include "ih_mdbfile.h"

#define S_KEY_MAX  512

static const char *s_names [IH_STORE_NDBS] = {
    "meta", "alerts", "byseq", "log", "refs", "comments", "retractions", "sightings",
    "members", "iocs", "revisions", "revseq", "facets", "words", "weeks"
};

struct ih_store_check {
    uint8_t registry_pk [32];
    int db;                         //  the database being walked
    uint8_t key [S_KEY_MAX];        //  the last record examined in it (resume after it)
    size_t key_len;
    uint8_t data [8];               //  and its value, in a dup-sorted database
    size_t data_len;
    bool started;                   //  key holds a record of db
    ih_store_check_stats_t stats;
    ih_msg_t msg;
    ih_member_t rec;
};

ih_store_check_t *
ih_store_check_new (const uint8_t registry_pk [32])
{
    ih_store_check_t *self = (ih_store_check_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    memcpy (self->registry_pk, registry_pk, 32);
    ih_msg_init (&self->msg, IH_KIND_ALERT);
    return self;
}

void
ih_store_check_destroy (ih_store_check_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_msg_free (&(*self_p)->msg);
    free (*self_p);
    *self_p = NULL;
}

void
ih_store_check_restart (ih_store_check_t *self)
{
    self->db = 0;
    self->started = false;
    memset (&self->stats, 0, sizeof self->stats);
}

void
ih_store_check_stats (ih_store_check_t *self, ih_store_check_stats_t *st)
{
    *st = self->stats;
}

/* ---- one record --------------------------------------------------------------------- */
typedef struct {
    ih_store_check_t *self;
    ih_store_t *store;
    MDB_txn *txn;
    ih_store_damage_fn *fn;
    void *arg;
} s_walk_t;

static void s_damage (s_walk_t *w, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_damage (s_walk_t *w, const char *fmt, ...)
{
    char line [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    w->self->stats.damaged++;
    if (!w->self->stats.first [0])
        ih_fmt (w->self->stats.first, sizeof w->self->stats.first, "%s", line);
    if (w->fn)
        w->fn (line, w->arg);
}

//  A signed message as kept (body, sig), verified with the member record kept for its
//  signing key. Returns true when it holds; else reports "WHAT: why" and returns false.
//  On success self->msg holds the decoded body.
static bool
s_signed (s_walk_t *w, const char *what, const uint8_t *body, size_t len, const uint8_t *sig)
{
    ih_store_check_t *self = w->self;
    ih_err_t err;
    //  The signer names the member record (its key in `members`): decoded once to find it
    //  (a decode initialises the message: what it held is freed first)
    ih_msg_free (&self->msg);
    if (ih_body_decode (&self->msg, body, len, &err)) {
        s_damage (w, "%s: the body does not decode (%s)", what, err.msg);
        return false;
    }
    MDB_val k = ih_store_val (self->msg.signer, 32), v;
    int found = ih_store_mdb_get (w->store, w->txn, IH_STORE_DB_MEMBERS, &k, &v, "cannot read");
    if (found != 1 || v.mv_size <= 64) {
        s_damage (w, "%s: no member record for its signer (%s)", what,
                  found < 0 ? w->store->why.msg : "not kept");
        return false;
    }
    ih_item_t item = { 0, body, len, sig, (const uint8_t *) v.mv_data + 64, v.mv_size - 64,
                       (const uint8_t *) v.mv_data };
    ih_msg_free (&self->msg);
    if (ih_client_verify_item (&item, self->registry_pk, &self->rec, &self->msg, &err)) {
        s_damage (w, "%s: %s", what, err.msg);
        return false;
    }
    self->stats.verified++;
    return true;
}

static void
s_check_record (s_walk_t *w, int db, const MDB_val *k, const MDB_val *v)
{
    ih_store_check_t *self = w->self;
    const uint8_t *kd = (const uint8_t *) k->mv_data, *vd = (const uint8_t *) v->mv_data;
    char id [IH_UUID_LEN + 1] = "";
    if (k->mv_size >= IH_UUID_LEN && db != IH_STORE_DB_MEMBERS && db != IH_STORE_DB_META) {
        memcpy (id, kd, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
    }
    char what [96];
    switch (db) {
        case IH_STORE_DB_ALERTS: {
            snprintf (what, sizeof what, "alert %s", id);
            ih_store_arec_t r;
            if (k->mv_size != IH_UUID_LEN || !ih_uuid_valid (id)
            ||  ih_store_arec_parse (w->store, id, v, &r) != IH_OK) {
                s_damage (w, "%s: the record does not parse", what);
                return;
            }
            if (s_signed (w, what, r.body, r.body_len, r.sig)
            &&  (!streq (self->msg.id, id) || self->msg.revision != r.revision))
                s_damage (w, "%s: the record holds another alert (%s rev %u)", what, self->msg.id,
                          self->msg.revision);
            return;
        }
        case IH_STORE_DB_REVISIONS: {
            uint32_t rev = k->mv_size == IH_UUID_LEN + 4 ? (uint32_t) ih_get_be (kd + IH_UUID_LEN, 4) : 0;
            snprintf (what, sizeof what, "alert %s revision %u", id, rev);
            if (k->mv_size != IH_UUID_LEN + 4 || v->mv_size < IH_STORE_REVHDR) {
                s_damage (w, "%s: the record does not parse", what);
                return;
            }
            if (v->mv_size == IH_STORE_REVHDR)
                return;             //  the latest: its body is the alert record's
            if (s_signed (w, what, vd + IH_STORE_REVHDR, v->mv_size - IH_STORE_REVHDR, vd + 8)
            &&  (!streq (self->msg.id, id) || self->msg.revision != rev))
                s_damage (w, "%s: the record holds another revision (%s rev %u)", what,
                          self->msg.id, self->msg.revision);
            return;
        }
        case IH_STORE_DB_COMMENTS:
        case IH_STORE_DB_RETRACTIONS: {
            bool comment = db == IH_STORE_DB_COMMENTS;
            uint64_t seq = k->mv_size == IH_UUID_LEN + 8 ? ih_get_be64 (kd + IH_UUID_LEN) : 0;
            snprintf (what, sizeof what, "%s seq %" PRIu64 " on alert %s",
                      comment ? "comment" : "retraction", seq, id);
            if (k->mv_size != IH_UUID_LEN + 8 || v->mv_size <= 64) {
                s_damage (w, "%s: the record does not parse", what);
                return;
            }
            if (s_signed (w, what, vd + 64, v->mv_size - 64, vd)
            &&  (!streq (self->msg.ref, id)
            ||   self->msg.kind != (comment ? IH_KIND_COMMENT : IH_KIND_RETRACTION)))
                s_damage (w, "%s: the record holds another message (%s on %s)", what,
                          ih_kind_name (self->msg.kind), self->msg.ref);
            return;
        }
        case IH_STORE_DB_MEMBERS: {
            char hex [17];
            ih_hex_encode (kd, k->mv_size >= 8 ? 8 : k->mv_size, hex);
            snprintf (what, sizeof what, "member record of key %s…", hex);
            ih_err_t err;
            if (k->mv_size != 32 || v->mv_size <= 64
            ||  ih_verify (vd, IH_CTX_MEMBER, vd + 64, v->mv_size - 64, self->registry_pk, &err)) {
                s_damage (w, "%s: it does not verify against the registry key", what);
                return;
            }
            if (ih_member_decode (&self->rec, vd + 64, v->mv_size - 64, &err)
            ||  memcmp (self->rec.sign, kd, 32) != 0) {
                s_damage (w, "%s: it is not the record of that key", what);
                return;
            }
            self->stats.verified++;
            return;
        }
        case IH_STORE_DB_BYSEQ:
        case IH_STORE_DB_REVSEQ: {
            size_t want = db == IH_STORE_DB_BYSEQ ? IH_UUID_LEN : IH_UUID_LEN + 4;
            char vid [IH_UUID_LEN + 1] = "";
            if (v->mv_size == want) {
                memcpy (vid, vd, IH_UUID_LEN);
                vid [IH_UUID_LEN] = 0;
            }
            if (k->mv_size != 8 || v->mv_size != want || !ih_uuid_valid (vid))
                s_damage (w, "%s seq %" PRIu64 ": the record does not parse", s_names [db],
                          k->mv_size == 8 ? ih_get_be64 (kd) : 0);
            return;
        }
        case IH_STORE_DB_LOG:
            if (k->mv_size != 8 || v->mv_size != IH_STORE_LOG_LEN)
                s_damage (w, "log seq %" PRIu64 ": the record does not parse",
                          k->mv_size == 8 ? ih_get_be64 (kd) : 0);
            return;
        default:
            return;                 //  read, so that LMDB walked its page
    }
}

/* ---- the walk ----------------------------------------------------------------------- */
static bool
s_dupsort (ih_store_t *store, MDB_txn *txn, int db)
{
    unsigned flags = 0;
    return mdb_dbi_flags (txn, store->dbi [db], &flags) == 0 && (flags & MDB_DUPSORT);
}

int
ih_store_check_step (ih_store_check_t *self, ih_store_t *store, uint64_t budget,
                     ih_store_damage_fn *fn, void *arg, ih_err_t *err)
{
    int ndbs = store->format >= 2 ? IH_STORE_NDBS : IH_STORE_NDBS_V1;
    if (self->db >= ndbs) {
        self->stats.done = true;
        return 1;
    }
    s_walk_t w = { self, store, NULL, fn, arg };
    if (ih_store_txn_begin (store, MDB_RDONLY, &w.txn, "cannot read") != IH_OK)
        return ih_store_fail (store, err);
    uint64_t seen = 0;
    while (self->db < ndbs && (budget == 0 || seen < budget)) {
        int db = self->db;
        MDB_cursor *cur;
        int rc = mdb_cursor_open (w.txn, store->dbi [db], &cur);
        if (rc) {
            s_damage (&w, "%s: cannot be read: %s", s_names [db], mdb_strerror (rc));
            self->db++;
            self->started = false;
            continue;
        }
        bool dup = s_dupsort (store, w.txn, db);
        MDB_val k, v;
        if (self->started) {
            k = ih_store_val (self->key, self->key_len);
            v = ih_store_val (self->data, self->data_len);
            rc = ih_mdb_cursor_get (cur, &k, &v, dup ? MDB_GET_BOTH_RANGE : MDB_SET_RANGE);
            //  resume after the last record examined (or at the next one, gone meanwhile)
            if (rc == 0 && k.mv_size == self->key_len && memcmp (k.mv_data, self->key, k.mv_size) == 0
            && (!dup || (v.mv_size == self->data_len && memcmp (v.mv_data, self->data, v.mv_size) == 0)))
                rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT);
            else
            if (rc == MDB_NOTFOUND && dup) {
                //  no dup at or above data under that key: the next key
                k = ih_store_val (self->key, self->key_len);
                rc = ih_mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
                if (rc == 0 && k.mv_size == self->key_len && memcmp (k.mv_data, self->key, k.mv_size) == 0)
                    rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT_NODUP);
            }
        }
        else
            rc = ih_mdb_cursor_get (cur, &k, &v, MDB_FIRST);
        while (rc == 0 && (budget == 0 || seen < budget)) {
            seen++;
            self->stats.records++;
            s_check_record (&w, db, &k, &v);
            self->started = true;
            self->key_len = k.mv_size < S_KEY_MAX ? k.mv_size : S_KEY_MAX;
            memcpy (self->key, k.mv_data, self->key_len);
            self->data_len = dup && v.mv_size <= sizeof self->data ? v.mv_size : 0;
            if (self->data_len)
                memcpy (self->data, v.mv_data, self->data_len);
            rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close (cur);
        if (rc == 0)
            break;                  //  the budget is spent: go on from here next time
        self->db++;
        self->started = false;
        if (rc != MDB_NOTFOUND) {
            const char *lmdb = ih_mdb_assertion ();
            s_damage (&w, "%s: LMDB cannot read on after %zu records: %s%s%s%s", s_names [db],
                      (size_t) self->stats.records, mdb_strerror (rc), *lmdb ? " (" : "", lmdb,
                      *lmdb ? ")" : "");
            //  the transaction may be in error now: the next database gets a fresh one
            ih_store_txn_end (store, w.txn);
            if (ih_store_txn_begin (store, MDB_RDONLY, &w.txn, "cannot read") != IH_OK)
                return ih_store_fail (store, err);
        }
    }
    ih_store_txn_end (store, w.txn);
    if (self->db >= ndbs) {
        self->stats.done = true;
        return 1;
    }
    return 0;
}

int
ih_store_check (ih_store_t *store, const uint8_t registry_pk [32], ih_store_damage_fn *fn, void *arg,
                ih_store_check_stats_t *st, ih_err_t *err)
{
    ih_store_check_t *self = ih_store_check_new (registry_pk);
    int rc = ih_store_check_step (self, store, 0, fn, arg, err);
    ih_store_check_stats (self, st);
    ih_store_check_destroy (&self);
    return rc < 0 ? -1 : 0;
}

/* ---- self-test ---------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static void
s_tbe32 (uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p [i] = (uint8_t) (v >> (24 - 8 * i));
}

//  Rewrites the record k of db through the store's own environment (the test's damage).
static void
s_tput (ih_store_t *s, int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (s->env, NULL, 0, &txn) == 0);
    MDB_val k = ih_store_val (key, klen), v = ih_store_val (val, vlen);
    IH_CHECK (mdb_put (txn, s->dbi [db], &k, &v, 0) == 0);
    IH_CHECK (mdb_txn_commit (txn) == 0);
}

static void
s_tget (ih_store_t *s, int db, const void *key, size_t klen, ih_buf_t *out)
{
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (s->env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_val k = ih_store_val (key, klen), v;
    IH_CHECK (mdb_get (txn, s->dbi [db], &k, &v) == 0);
    ih_buf_reset (out);
    ih_buf_append (out, v.mv_data, v.mv_size);
    mdb_txn_abort (txn);
}

void
ih_store_check_test (bool verbose)
{
    char dir [256];
    ih_tk_tempdir ("store-check", dir, sizeof dir);
    ih_err_t err;
    ih_tk_keypair_t reg;
    ih_tk_keypair (&reg);
    ih_tk_member_t soc;
    ih_tk_member (&soc, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);

    //  Twenty alerts, a revision and a comment, stored as the subscriber stores them
    enum { N = 20 };
    ih_msg_t msgs [N + 2];
    ih_tk_item_t items [N + 2];
    ih_store_item_t si [N + 2];
    for (int i = 0; i < N + 2; i++) {
        if (i < N) {
            char title [64];
            snprintf (title, sizeof title, "alert number %d", i);
            ih_tk_alert (&msgs [i], &soc, IH_TLP_GREEN, title);
        }
        else
        if (i == N) {
            ih_tk_alert (&msgs [i], &soc, IH_TLP_GREEN, "alert number 0, revised");
            snprintf (msgs [i].id, sizeof msgs [i].id, "%s", msgs [0].id);
            msgs [i].revision = 2;
            msgs [i].created = msgs [0].created;
        }
        else
            ih_tk_ref (&msgs [i], &soc, IH_KIND_COMMENT, msgs [1].id);
        ih_tk_item (&items [i], &msgs [i], &soc, (uint64_t) i + 1);
        const ih_item_t *it = &items [i].item;
        si [i] = (ih_store_item_t) { it->seq, &msgs [i], it->body, it->body_len, it->sig, it->rec,
                                     it->rec_len, it->rec_sig, 0, "" };
    }
    IH_CHECK (ih_store_ingest (s, si, N + 2, &err) == IH_OK);

    //  Sound: every signed record verified, nothing damaged; in steps, the same
    ih_tk_lines_t t = { 0 };
    ih_store_check_stats_t st;
    IH_CHECK (ih_store_check (s, reg.pk, ih_tk_line, &t, &st, &err) == 0);
    IH_CHECK (st.done && st.damaged == 0 && t.n == 0);
    //  20 alerts + 1 kept old revision + 1 comment + 1 member record
    IH_CHECK (st.verified == N + 3);
    uint64_t records = st.records;
    ih_store_check_t *c = ih_store_check_new (reg.pk);
    int steps = 0, rc;
    while ((rc = ih_store_check_step (c, s, 7, ih_tk_line, &t, &err)) == 0)
        steps++;
    IH_CHECK (rc == 1);
    ih_store_check_stats (c, &st);
    IH_CHECK (st.records == records && st.verified == N + 3 && st.damaged == 0 && steps > 5);

    //  A flipped bit in an alert's body: its signature no longer verifies
    ih_buf_t b;
    ih_buf_init (&b);
    s_tget (s, IH_STORE_DB_ALERTS, msgs [5].id, IH_UUID_LEN, &b);
    uint8_t *title = (uint8_t *) memmem (b.data, b.len, "number 5", 8);
    IH_CHECK (title);
    title [1] ^= 0x01;                  //  "number" -> "nmmber": still decodes
    s_tput (s, IH_STORE_DB_ALERTS, msgs [5].id, IH_UUID_LEN, b.data, b.len);
    //  A kept revision made another message's, and a comment cut short
    uint8_t rk [IH_UUID_LEN + 4];
    memcpy (rk, msgs [0].id, IH_UUID_LEN);
    s_tbe32 (rk + IH_UUID_LEN, 1);
    ih_buf_t r;
    ih_buf_init (&r);
    s_tget (s, IH_STORE_DB_REVISIONS, rk, sizeof rk, &r);
    IH_CHECK (r.len > IH_STORE_REVHDR);
    s_tbe32 (rk + IH_UUID_LEN, 7);
    s_tput (s, IH_STORE_DB_REVISIONS, rk, sizeof rk, r.data, r.len);
    uint8_t ck [IH_UUID_LEN + 8];
    ih_store_ref_key (msgs [1].id, N + 2, ck);
    s_tput (s, IH_STORE_DB_COMMENTS, ck, sizeof ck, "short", 5);
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_check (s, reg.pk, ih_tk_line, &t, &st, &err) == 0);
    if (verbose)
        for (int i = 0; i < t.n && i < 8; i++)
            printf ("\n   %s", t.lines [i]);
    IH_CHECK (st.done && st.damaged == 3 && t.n == 3);
    char want [128];
    snprintf (want, sizeof want, "alert %s: ", msgs [5].id);
    IH_CHECK (strstr (t.lines [0], want) == t.lines [0] && strstr (t.lines [0], "signature"));
    IH_CHECK (strstr (t.lines [1], "comment seq 22 on alert") && strstr (t.lines [1], "does not parse"));
    IH_CHECK (strstr (t.lines [2], "revision 7: the record holds another revision"));
    IH_CHECK (streq (st.first, t.lines [0]));
    //  Another registry key: no member record verifies, so nothing does
    ih_tk_keypair_t other;
    ih_tk_keypair (&other);
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_check (s, other.pk, ih_tk_line, &t, &st, &err) == 0);
    IH_CHECK (st.verified == 0 && st.damaged >= N + 1);
    IH_CHECK (strstr (st.first, "registry") || strstr (st.first, "record"));
    //  restart: a fresh pass
    ih_store_check_restart (c);
    while (ih_store_check_step (c, s, 0, NULL, NULL, &err) == 0)
        ;
    ih_store_check_stats (c, &st);
    IH_CHECK (st.done && st.damaged == 3);
    ih_store_check_destroy (&c);
    ih_store_check_destroy (&c);

    ih_buf_free (&b);
    ih_buf_free (&r);
    for (int i = 0; i < N + 2; i++) {
        ih_tk_item_free (&items [i]);
        ih_msg_free (&msgs [i]);
    }
    ih_store_destroy (&s);
    ih_tk_member_free (&soc);
    ih_tk_rmtree (dir);
}
#endif
