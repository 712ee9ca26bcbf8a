/*  ih_store_walk.c: the read side of the store's format 2 sub-databases (ih_store.h,
    SCHEMA): walks by index (ih_store_walk), kept revisions, weekly counts, and the count
    of records read. Their write side is ih_store_index.c; the store's files and return
    codes are in ih_store_int.h.

    A WALK is a leapfrog join. Each group of keys is a source of seqs in order (the union
    of its keys' postings: the nearest one in the walk's direction); the walk proposes a
    target seq, asks each group for its nearest seq at or past the target, and moves the
    target there until every group agrees; then it reads that alert and goes one step on.
    Each group answers with a cursor seek (or one step when its next posting is the
    answer), so what a walk reads grows with what it lists and with how often the groups
    disagree, not with the size of the store.

    A store of format 1 (read while an older daemon writes it) has no index: the same
    functions walk the alert records and apply each index's rule (ih_store_key_has), so
    they give the same answers, only slower.

    Read top to bottom: the read counter, keys, the walk, revisions, weeks, the self-test.
*/
#include <inttypes.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ih_store_int.h"
#include "ih_codec.h"
#include "ih_mdbfile.h"

#define s_DAY_MS  86400000LL

/* ---- records read --------------------------------------------------------------------------- */

//  Relaxed: a statistic for tests and metrics, read while other threads add to it.
static _Atomic uint64_t s_reads;

void
ih_store_count_read (void)
{
    atomic_fetch_add_explicit (&s_reads, 1, memory_order_relaxed);
}

uint64_t
ih_store_reads (void)
{
    return atomic_load_explicit (&s_reads, memory_order_relaxed);
}

/* ---- keys ------------------------------------------------------------------------------------ */

/*  The database and key bytes of key; 0 when the key cannot list anything. */
static size_t
s_key (const ih_store_key_t *key, uint8_t out [IH_STORE_KEY_MAX], int *db)
{
    *db = IH_STORE_DB_FACETS;
    uint8_t b = (uint8_t) key->value;
    switch (key->by) {
        case IH_STORE_BY_CATEGORY:
            return key->value >= 0 && key->value < IH_CAT_COUNT
                 ? ih_store_facet_key (out, IH_STORE_FACET_CATEGORY, &b, 1) : 0;
        case IH_STORE_BY_SEVERITY:
            return key->value >= 0 && key->value < IH_SEV_COUNT
                 ? ih_store_facet_key (out, IH_STORE_FACET_SEVERITY, &b, 1) : 0;
        case IH_STORE_BY_TLP:
            return key->value >= 0 && key->value < IH_TLP_COUNT
                 ? ih_store_facet_key (out, IH_STORE_FACET_TLP, &b, 1) : 0;
        case IH_STORE_BY_SECTOR:
            return key->text ? ih_store_facet_key (out, IH_STORE_FACET_SECTOR, key->text,
                                                   strlen (key->text)) : 0;
        case IH_STORE_BY_WORD: {
            *db = IH_STORE_DB_WORDS;
            size_t n = key->text ? strlen (key->text) : 0;
            if (n > IH_STORE_WORD_MAX)
                n = IH_STORE_WORD_MAX;      //  as the words were cut when indexed
            if (n)
                memcpy (out, key->text, n);
            return n;
        }
    }
    return 0;
}

typedef struct {
    const char *word;
    size_t len;
} s_wordhas_t;

static int
s_word_eq (const char *word, size_t len, void *arg)
{
    s_wordhas_t *h = (s_wordhas_t *) arg;
    return len == h->len && memcmp (word, h->word, len) == 0 ? 1 : 0;
}

bool
ih_store_key_has (const ih_msg_t *m, const ih_store_key_t *key)
{
    switch (key->by) {
        case IH_STORE_BY_CATEGORY:  return (int) m->category == key->value;
        case IH_STORE_BY_SEVERITY:  return (int) m->severity == key->value;
        case IH_STORE_BY_TLP:       return (int) m->tlp == key->value;
        case IH_STORE_BY_SECTOR:    return key->text && ih_strlist_has (&m->sectors, key->text);
        case IH_STORE_BY_WORD: {
            if (!key->text || !*key->text)
                return false;
            size_t n = strlen (key->text);
            s_wordhas_t h = { key->text, n > IH_STORE_WORD_MAX ? IH_STORE_WORD_MAX : n };
            if (ih_store_words (m->title, s_word_eq, &h) || ih_store_words (m->summary, s_word_eq, &h))
                return true;
            for (uint32_t i = 0; i < m->ioc_count; i++) {
                ih_ioc_type_t t = m->iocs [i].type;
                if ((t == IH_IOC_DOMAIN || t == IH_IOC_URL || t == IH_IOC_EMAIL || t == IH_IOC_FILENAME)
                &&  ih_store_words (m->iocs [i].value, s_word_eq, &h))
                    return true;
            }
            return false;
        }
    }
    return false;
}

int64_t
ih_store_key_count (ih_store_t *self, const ih_store_key_t *key, ih_err_t *err)
{
    uint8_t kb [IH_STORE_KEY_MAX];
    int db;
    size_t klen = s_key (key, kb, &db);
    if (klen == 0)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    int64_t n = 0;
    int rc = IH_OK;
    if (self->format < 2) {
        //  No index: an estimate that never hides anything (every alert may have it).
        ih_store_meta_counts_t c;
        uint64_t cursor;
        rc = ih_store_meta_load (self, txn, &cursor, &c, NULL, "cannot read");
        n = (int64_t) c.alerts;
    }
    else {
        MDB_cursor *cur;
        rc = ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [db], &cur), "cannot read");
        if (rc == IH_OK) {
            MDB_val k = ih_store_val (kb, klen), v;
            int found = ih_store_mdb_next (self, cur, &k, &v, MDB_SET, "cannot read");
            size_t count = 0;
            if (found == 1)
                rc = ih_store_mdb (self, mdb_cursor_count (cur, &count), "cannot read");
            else
                rc = found;
            n = (int64_t) count;
            mdb_cursor_close (cur);
        }
    }
    ih_store_txn_end (self, txn);
    return rc ? ih_store_fail (self, err) : n;
}

/* ---- the walk ----------------------------------------------------------------------------------- */

/*  One key's postings: a cursor in its database, and where it stands. */
typedef struct {
    MDB_cursor *cur;
    uint8_t key [IH_STORE_KEY_MAX];
    size_t klen;
    bool at;                    /* the cursor stands on seq */
    uint64_t seq;
    bool done;                  /* nothing more in the walk's direction */
} s_src_t;

typedef struct {
    int n;
    s_src_t src [IH_STORE_WALK_KEYS];
} s_group_t;

typedef struct {
    ih_store_t *self;
    MDB_txn *txn;
    const ih_store_walk_t *w;
    ih_store_alert_fn *fn;
    void *arg;
    ih_msg_t msg;
    ih_store_alert_t info;
    s_group_t groups [IH_STORE_WALK_GROUPS];
    int ngroups;
    uint64_t reads;             /* records read so far, against w->budget */
    ih_buf_t rset;              /* the retracted set of a cached alert (ih_store_load_view) */
} s_walk_t;

/*  True when the budget is spent: *cut says where to resume, from target (the first
    seq not decided yet). */
static bool
s_spent (s_walk_t *x, uint64_t target)
{
    const ih_store_walk_t *w = x->w;
    if (!w->budget || x->reads < w->budget)
        return false;
    if (w->cut)
        *w->cut = w->reverse ? (target == UINT64_MAX ? target : target + 1)
                             : (target ? target - 1 : 0);
    return true;
}

/*  Positions src on its nearest posting at or past target in the walk's direction:
    1 (src->seq), 0 (none), or a code. */
static int
s_src_seek (s_walk_t *x, s_src_t *src, uint64_t target, bool reverse)
{
    ih_store_t *self = x->self;
    if (src->done)
        return 0;
    x->reads++;
    if (src->at && (reverse ? src->seq <= target : src->seq >= target))
        return 1;               //  nothing lies between: it is still the nearest
    MDB_val k = ih_store_val (src->key, src->klen), v;
    int rc;
    if (src->at) {
        //  Most often the next posting is the answer: one step, not a seek.
        rc = ih_store_mdb_next (self, src->cur, &k, &v, reverse ? MDB_PREV_DUP : MDB_NEXT_DUP,
                                "cannot read an index");
        if (rc == 1 && v.mv_size == 8) {
            src->seq = ih_get_be64 (v.mv_data);
            if (reverse ? src->seq <= target : src->seq >= target)
                return 1;
        }
        else {
            src->at = false;
            src->done = rc == 0;
            return rc == 1 ? 0 : rc;
        }
    }
    uint8_t tb [8];
    ih_put_be64 (tb, target);
    k = ih_store_val (src->key, src->klen);
    v = ih_store_val (tb, 8);
    src->at = false;
    x->reads++;
    rc = ih_store_mdb_next (self, src->cur, &k, &v, MDB_GET_BOTH_RANGE, "cannot read an index");
    if (rc < 0)
        return rc;
    if (rc == 1 && !reverse) {
        src->at = true;
        src->seq = ih_get_be64 (v.mv_data);
        return 1;
    }
    if (rc == 0 && !reverse) {
        src->done = true;
        return 0;
    }
    if (rc == 1 && ih_get_be64 (v.mv_data) == target) {
        src->at = true;
        src->seq = target;
        return 1;
    }
    //  Reverse: the posting below the first one at or above target, or the last one
    //  when none is at or above it.
    if (rc == 1)
        rc = ih_store_mdb_next (self, src->cur, &k, &v, MDB_PREV_DUP, "cannot read an index");
    else {
        k = ih_store_val (src->key, src->klen);
        rc = ih_store_mdb_next (self, src->cur, &k, &v, MDB_SET, "cannot read an index");
        if (rc == 1)
            rc = ih_store_mdb_next (self, src->cur, &k, &v, MDB_LAST_DUP, "cannot read an index");
    }
    if (rc < 0)
        return rc;
    if (rc == 0 || v.mv_size != 8) {
        src->done = true;
        return 0;
    }
    src->at = true;
    src->seq = ih_get_be64 (v.mv_data);
    return 1;
}

/*  The group's nearest seq at or past target: 1 (*seq), 0 (none), or a code. */
static int
s_group_seek (s_walk_t *x, s_group_t *g, uint64_t target, bool reverse, uint64_t *seq)
{
    bool any = false;
    for (int i = 0; i < g->n; i++) {
        int rc = s_src_seek (x, &g->src [i], target, reverse);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            uint64_t s = g->src [i].seq;
            if (!any || (reverse ? s > *seq : s < *seq))
                *seq = s;
            any = true;
        }
    }
    return any ? 1 : 0;
}

/*  Reads the alert whose latest revision is seq (id: from byseq when NULL) and hands it
    to fn when the groups' rules hold (check: a format 1 store). Returns 0 to go on, fn's
    value, or a negative code. */
static int
s_emit (s_walk_t *x, uint64_t seq, const MDB_val *idv, bool check)
{
    ih_store_t *self = x->self;
    MDB_val v;
    if (!idv) {
        uint8_t sk [8];
        ih_put_be64 (sk, seq);
        MDB_val k = ih_store_val (sk, 8);
        int found = ih_store_mdb_get (self, x->txn, IH_STORE_DB_BYSEQ, &k, &v, "cannot read");
        if (found <= 0)
            return found;           //  a posting without its alert: never written so
        idv = &v;
    }
    if (idv->mv_size != IH_UUID_LEN)
        return 0;
    x->reads += 2;
    char id [IH_UUID_LEN + 1];
    memcpy (id, idv->mv_data, IH_UUID_LEN);
    id [IH_UUID_LEN] = 0;
    MDB_val ak = ih_store_val (id, IH_UUID_LEN), av;
    int found = ih_store_mdb_get (self, x->txn, IH_STORE_DB_ALERTS, &ak, &av, "cannot read");
    if (found <= 0)
        return found;
    ih_store_view_t view;
    int rc = ih_store_load_view (self, x->txn, id, &av, &x->msg, &x->rset, &view, &x->info);
    if (rc)
        return rc;
    bool skip = x->info.seq != seq;
    for (int g = 0; !skip && check && g < x->w->ngroups; g++) {
        bool any = false;
        for (int i = 0; i < x->w->groups [g].nkeys && !any; i++)
            any = ih_store_key_has (view.msg, &x->w->groups [g].keys [i]);
        skip = !any;
    }
    rc = skip ? 0 : x->fn (view.msg, &x->info, x->arg);
    ih_store_view_done (self, &view);
    //  fn's own negative values are its to return: keep them apart from our codes.
    return rc < 0 ? rc - 1000 : rc;
}

/*  Every alert by seq, within the bounds (check: apply the groups' rules). */
static int
s_walk_all (s_walk_t *x, bool check)
{
    ih_store_t *self = x->self;
    const ih_store_walk_t *w = x->w;
    MDB_cursor *cur;
    int rc = ih_store_mdb (self, mdb_cursor_open (x->txn, self->dbi [IH_STORE_DB_BYSEQ], &cur),
                           "cannot read");
    if (rc)
        return rc;
    uint8_t sk [8];
    MDB_val k, v;
    if (w->reverse) {
        if (w->before) {
            ih_put_be64 (sk, w->before);
            k = ih_store_val (sk, 8);
            rc = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
            rc = rc == 1 ? ih_store_mdb_next (self, cur, &k, &v, MDB_PREV, "cannot read")
               : rc == 0 ? ih_store_mdb_next (self, cur, &k, &v, MDB_LAST, "cannot read") : rc;
        }
        else
            rc = ih_store_mdb_next (self, cur, &k, &v, MDB_LAST, "cannot read");
    }
    else {
        ih_put_be64 (sk, w->after + 1);
        k = ih_store_val (sk, 8);
        rc = w->after == UINT64_MAX ? 0 : ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
    }
    int result = 0;
    while (rc == 1 && k.mv_size == 8) {
        uint64_t seq = ih_get_be64 (k.mv_data);
        if (w->reverse ? seq <= w->after : (w->before && seq >= w->before))
            break;
        x->reads++;
        if (s_spent (x, seq))
            break;
        if ((result = s_emit (x, seq, &v, check)) != 0)
            break;
        rc = ih_store_mdb_next (self, cur, &k, &v, w->reverse ? MDB_PREV : MDB_NEXT, "cannot read");
    }
    mdb_cursor_close (cur);
    return result ? result : rc < 0 ? rc : 0;
}

/*  The leapfrog join of the groups. */
static int
s_walk_join (s_walk_t *x)
{
    const ih_store_walk_t *w = x->w;
    bool rev = w->reverse;
    uint64_t target = rev ? (w->before ? w->before - 1 : UINT64_MAX) : w->after + 1;
    if ((rev && w->before == 1) || (!rev && w->after == UINT64_MAX))
        return 0;
    int result = 0;
    while (result == 0) {
        if (rev ? target <= w->after : (w->before && target >= w->before))
            break;
        if (s_spent (x, target))
            break;
        bool agree = true;
        for (int g = 0; g < x->ngroups; g++) {
            uint64_t seq = 0;
            int rc = s_group_seek (x, &x->groups [g], target, rev, &seq);
            if (rc <= 0)
                return rc;          //  a group has nothing more: the walk is over
            if (seq != target) {
                target = seq;       //  the others must reach this one
                agree = false;
                break;
            }
        }
        if (!agree)
            continue;
        result = s_emit (x, target, NULL, false);
        if (rev ? target == 0 : target == UINT64_MAX)
            break;
        target = rev ? target - 1 : target + 1;
    }
    return result;
}

int
ih_store_walk (ih_store_t *self, const ih_store_walk_t *w, ih_store_alert_fn *fn, void *arg,
               ih_err_t *err)
{
    if (w->ngroups < 0 || w->ngroups > IH_STORE_WALK_GROUPS)
        return ih_err_set (err, "store: a walk has 0 to %d groups of keys", IH_STORE_WALK_GROUPS);
    for (int g = 0; g < w->ngroups; g++)
        if (w->groups [g].nkeys < 0 || w->groups [g].nkeys > IH_STORE_WALK_KEYS)
            return ih_err_set (err, "store: a group has 0 to %d keys", IH_STORE_WALK_KEYS);
    s_walk_t x;
    memset (&x, 0, sizeof x);
    x.self = self;
    x.w = w;
    x.fn = fn;
    x.arg = arg;
    if (w->cut)
        *w->cut = 0;
    if (ih_store_txn_begin (self, MDB_RDONLY, &x.txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    ih_msg_init (&x.msg, IH_KIND_ALERT);
    ih_buf_init (&x.rset);
    int rc = IH_OK;
    bool empty = false;
    if (self->format >= 2) {
        //  A cursor per key that can list something; a group with none lists nothing.
        x.ngroups = w->ngroups;
        for (int g = 0; rc == IH_OK && g < w->ngroups; g++) {
            s_group_t *grp = &x.groups [g];
            for (int i = 0; rc == IH_OK && i < w->groups [g].nkeys; i++) {
                s_src_t *src = &grp->src [grp->n];
                int db;
                src->klen = s_key (&w->groups [g].keys [i], src->key, &db);
                if (src->klen == 0)
                    continue;
                rc = ih_store_mdb (self, mdb_cursor_open (x.txn, self->dbi [db], &src->cur),
                                   "cannot read an index");
                if (rc == IH_OK)
                    grp->n++;
            }
            empty = empty || grp->n == 0;
        }
        if (rc == IH_OK && !empty)
            rc = x.ngroups ? s_walk_join (&x) : s_walk_all (&x, false);
    }
    else
        rc = s_walk_all (&x, w->ngroups > 0);
    for (int g = 0; g < x.ngroups; g++)
        for (int i = 0; i < x.groups [g].n; i++)
            mdb_cursor_close (x.groups [g].src [i].cur);
    ih_msg_free (&x.msg);
    ih_buf_free (&x.rset);
    ih_store_txn_end (self, x.txn);
    if (rc <= -1000)
        return rc + 1000;           //  fn's own negative value
    if (rc < 0)
        return ih_store_fail (self, err);
    return rc;
}

/* ---- revisions ---------------------------------------------------------------------------------- */

/*  Decodes a kept revision (value v of key id + revision) and calls fn. The latest
    revision's entry holds no body: it is the alert record's. */
static int
s_rev_call (ih_store_t *self, MDB_txn *txn, const uint8_t *key, const MDB_val *v, ih_msg_t *msg,
            ih_store_rev_fn *fn, void *arg)
{
    if (v->mv_size < IH_STORE_REVHDR)
        return 0;
    ih_store_rev_t rev;
    memset (&rev, 0, sizeof rev);
    memcpy (rev.id, key, IH_UUID_LEN);
    uint8_t be [8] = { 0 };
    memcpy (be + 4, key + IH_UUID_LEN, 4);
    rev.revision = (uint32_t) ih_get_be64 (be);
    const uint8_t *p = (const uint8_t *) v->mv_data;
    rev.seq = ih_get_le64 (p);
    //  Decode from a copy, so that nothing depends on the map after the call.
    ih_buf_reset (&self->rbuf);
    ih_buf_append (&self->rbuf, p, v->mv_size);
    if (v->mv_size == IH_STORE_REVHDR) {
        MDB_val ak = ih_store_val (key, IH_UUID_LEN), av;
        ih_store_arec_t r;
        int found = ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &ak, &av, "cannot read");
        if (found < 0)
            return found;
        if (found == 0 || ih_store_arec_parse (self, rev.id, &av, &r) != IH_OK || r.seq != rev.seq)
            return 0;               //  (never written so: the record is the latest's)
        ih_buf_append (&self->rbuf, r.body, r.body_len);
    }
    rev.sig = self->rbuf.data + 8;
    rev.body = self->rbuf.data + IH_STORE_REVHDR;
    rev.body_len = self->rbuf.len - IH_STORE_REVHDR;
    ih_msg_free (msg);
    if (ih_body_decode (msg, rev.body, rev.body_len, NULL) != 0)
        return 0;                   //  (the store keeps only bodies that decoded)
    return fn ? fn (&rev, msg, arg) : 0;
}

/*  Format 1: the alert's record is its one revision. */
static int
s_rev_v1 (ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *av, ih_msg_t *msg,
          ih_store_rev_fn *fn, void *arg)
{
    ih_store_arec_t r;
    int rc = ih_store_arec_parse (self, id, av, &r);
    if (rc)
        return rc;
    uint8_t key [IH_UUID_LEN + 4];
    memcpy (key, id, IH_UUID_LEN);
    uint8_t be [8];
    ih_put_be64 (be, r.revision);
    memcpy (key + IH_UUID_LEN, be + 4, 4);
    ih_buf_t tmp;
    ih_buf_init (&tmp);
    ih_buf_reserve (&tmp, IH_STORE_REVHDR + r.body_len);
    ih_put_le64 (tmp.data, r.seq);
    memcpy (tmp.data + 8, r.sig, 64);
    memcpy (tmp.data + IH_STORE_REVHDR, r.body, r.body_len);
    tmp.len = IH_STORE_REVHDR + r.body_len;
    MDB_val v = ih_store_val (tmp.data, tmp.len);
    rc = s_rev_call (self, txn, key, &v, msg, fn, arg);
    ih_buf_free (&tmp);
    return rc;
}

int
ih_store_revisions_foreach (ih_store_t *self, const char *id, ih_store_rev_fn *fn, void *arg,
                            ih_err_t *err)
{
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    ih_msg_t msg;
    ih_msg_init (&msg, IH_KIND_ALERT);
    int result = 0, rc = IH_OK;
    if (self->format < 2) {
        MDB_val k = ih_store_val (id, IH_UUID_LEN), v;
        rc = ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &k, &v, "cannot read");
        if (rc == 1)
            result = s_rev_v1 (self, txn, id, &v, &msg, fn, arg);
        rc = rc < 0 ? rc : IH_OK;
    }
    else {
        MDB_cursor *cur;
        rc = ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [IH_STORE_DB_REVISIONS], &cur),
                           "cannot read");
        if (rc == IH_OK) {
            uint8_t start [IH_UUID_LEN + 4] = { 0 };
            memcpy (start, id, IH_UUID_LEN);
            MDB_val k = ih_store_val (start, sizeof start), v;
            int more = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
            while (more == 1 && k.mv_size == sizeof start && memcmp (k.mv_data, id, IH_UUID_LEN) == 0) {
                uint8_t key [IH_UUID_LEN + 4];
                memcpy (key, k.mv_data, sizeof key);
                if ((result = s_rev_call (self, txn, key, &v, &msg, fn, arg)) != 0)
                    break;
                more = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read");
            }
            rc = more < 0 ? more : IH_OK;
            mdb_cursor_close (cur);
        }
    }
    ih_msg_free (&msg);
    ih_store_txn_end (self, txn);
    return rc ? ih_store_fail (self, err) : result;
}

int
ih_store_revisions_after (ih_store_t *self, uint64_t after, ih_store_rev_fn *fn, void *arg,
                          ih_err_t *err)
{
    if (after == UINT64_MAX)
        return 0;
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    ih_msg_t msg;
    ih_msg_init (&msg, IH_KIND_ALERT);
    int result = 0;
    //  Format 2: revseq, then each revision; format 1: byseq, then each alert.
    bool v2 = self->format >= 2;
    MDB_cursor *cur;
    int rc = ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [v2 ? IH_STORE_DB_REVSEQ
                                                                       : IH_STORE_DB_BYSEQ], &cur),
                           "cannot read");
    if (rc == IH_OK) {
        uint8_t sk [8];
        ih_put_be64 (sk, after + 1);
        MDB_val k = ih_store_val (sk, 8), v;
        int more = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
        while (more == 1) {
            if (v2 && v.mv_size == IH_UUID_LEN + 4) {
                uint8_t key [IH_UUID_LEN + 4];
                memcpy (key, v.mv_data, sizeof key);
                MDB_val rk = ih_store_val (key, sizeof key), rv;
                int found = ih_store_mdb_get (self, txn, IH_STORE_DB_REVISIONS, &rk, &rv, "cannot read");
                if (found < 0) {
                    more = found;
                    break;
                }
                if (found && (result = s_rev_call (self, txn, key, &rv, &msg, fn, arg)) != 0)
                    break;
            }
            else
            if (!v2 && v.mv_size == IH_UUID_LEN) {
                char id [IH_UUID_LEN + 1];
                memcpy (id, v.mv_data, IH_UUID_LEN);
                id [IH_UUID_LEN] = 0;
                MDB_val ak = ih_store_val (id, IH_UUID_LEN), av;
                int found = ih_store_mdb_get (self, txn, IH_STORE_DB_ALERTS, &ak, &av, "cannot read");
                if (found < 0) {
                    more = found;
                    break;
                }
                if (found && (result = s_rev_v1 (self, txn, id, &av, &msg, fn, arg)) != 0)
                    break;
            }
            more = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read");
        }
        rc = more < 0 ? more : IH_OK;
        mdb_cursor_close (cur);
    }
    ih_msg_free (&msg);
    ih_store_txn_end (self, txn);
    return rc ? ih_store_fail (self, err) : result;
}

typedef struct {
    uint64_t seq;
    ih_msg_t *msg;
    ih_store_rev_t *rev;
} s_revat_t;

static int
s_rev_take (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_revat_t *a = (s_revat_t *) arg;
    if (rev->seq != a->seq)
        return 2;                   //  the first kept one after seq - 1 is not at seq
    if (a->rev) {
        *a->rev = *rev;
        a->rev->sig = a->rev->body = NULL;
        a->rev->body_len = 0;
    }
    if (a->msg) {
        //  msg is the walk's: hand its bytes over by decoding the body again.
        ih_msg_free (a->msg);
        if (ih_body_decode (a->msg, rev->body, rev->body_len, NULL) != 0)
            return 3;
    }
    return 1;
}

int
ih_store_revision_at (ih_store_t *self, uint64_t seq, ih_msg_t *msg, ih_store_rev_t *rev,
                      ih_err_t *err)
{
    if (msg)
        ih_msg_free (msg);
    if (seq == 0)
        return 0;
    s_revat_t a = { seq, msg, rev };
    int rc = ih_store_revisions_after (self, seq - 1, s_rev_take, &a, err);
    if (rc < 0)
        return rc;
    if (rc != 1 && msg)
        ih_msg_free (msg);
    return rc == 1 ? 1 : 0;
}

/* ---- weeks ----------------------------------------------------------------------------------------- */

/*  The Monday (days) of the week whose Monday is at or after ms. */
static int64_t
s_monday_from (int64_t ms)
{
    if (ms <= 0)
        return 0;
    int64_t day = (ms + s_DAY_MS - 1) / s_DAY_MS;
    int64_t back = (day + 3) % 7;                   //  1970-01-01 was a Thursday
    return back ? day - back + 7 : day;
}

static int
s_week_call (const uint8_t key [6], uint32_t count, ih_store_week_fn *fn, void *arg)
{
    uint8_t be [8] = { 0 };
    memcpy (be + 4, key, 4);
    int64_t monday = (int64_t) ih_get_be64 (be);
    return fn (monday * s_DAY_MS, (ih_category_t) key [4], (ih_tlp_t) key [5], count, arg);
}

typedef struct {
    int64_t from, to;               /* Mondays, days */
    ih_buf_t keys;                  /* 6-byte keys of the active alerts in range */
} s_weeks1_t;

static int
s_weeks1_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_weeks1_t *x = (s_weeks1_t *) arg;
    if (info->retracted || m->created < 0)
        return 0;
    int64_t day = m->created / s_DAY_MS;
    int64_t monday = day - (day + 3) % 7;
    if (monday < x->from || monday >= x->to || monday > UINT32_MAX)
        return 0;
    uint8_t be [8], key [6];
    ih_put_be64 (be, (uint64_t) monday);
    memcpy (key, be + 4, 4);
    key [4] = (uint8_t) m->category;
    key [5] = (uint8_t) m->tlp;
    ih_buf_append (&x->keys, key, 6);
    return 0;
}

static int
s_key6_cmp (const void *a, const void *b)
{
    return memcmp (a, b, 6);
}

int
ih_store_weeks (ih_store_t *self, int64_t from_ms, int64_t to_ms, ih_store_week_fn *fn, void *arg,
                ih_err_t *err)
{
    int64_t from = s_monday_from (from_ms);
    int64_t to = to_ms <= 0 ? 0 : (to_ms + s_DAY_MS - 1) / s_DAY_MS;    //  Mondays < to
    if (to > (int64_t) UINT32_MAX + 1)
        to = (int64_t) UINT32_MAX + 1;
    if (from >= to)
        return 0;
    if (self->format < 2) {
        //  No counts kept: count the alert records, then hand the counts out in order.
        s_weeks1_t x = { from, to, { 0 } };
        ih_buf_init (&x.keys);
        int rc = ih_store_foreach (self, 0, false, s_weeks1_one, &x, err);
        size_t n = x.keys.len / 6;
        if (rc == 0 && n)
            qsort (x.keys.data, n, 6, s_key6_cmp);
        for (size_t i = 0; rc == 0 && i < n;) {
            size_t j = i + 1;
            while (j < n && memcmp (x.keys.data + 6 * j, x.keys.data + 6 * i, 6) == 0)
                j++;
            rc = s_week_call (x.keys.data + 6 * i, (uint32_t) (j - i), fn, arg);
            i = j;
        }
        ih_buf_free (&x.keys);
        return rc;
    }
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_cursor *cur;
    int result = 0;
    int rc = ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [IH_STORE_DB_WEEKS], &cur), "cannot read");
    if (rc == IH_OK) {
        uint8_t be [8], start [6] = { 0 };
        ih_put_be64 (be, (uint64_t) from);
        memcpy (start, be + 4, 4);
        MDB_val k = ih_store_val (start, 6), v;
        int more = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
        while (more == 1 && k.mv_size == 6) {
            uint8_t key [6];
            memcpy (key, k.mv_data, 6);
            memset (be, 0, 4);
            memcpy (be + 4, key, 4);
            if ((int64_t) ih_get_be64 (be) >= to)
                break;
            if (v.mv_size == 4 && (result = s_week_call (key, ih_get_le32 (v.mv_data), fn, arg)) != 0)
                break;
            more = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read");
        }
        rc = more < 0 ? more : IH_OK;
        mdb_cursor_close (cur);
    }
    ih_store_txn_end (self, txn);
    return rc ? ih_store_fail (self, err) : result;
}

/* ---- self-test ---------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    int n;
    uint64_t seqs [64];
    int stop_at;                    /* fn returns 5 at this call (0: never) */
} s_tlist_t;

static int
s_tlist (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_tlist_t *l = (s_tlist_t *) arg;
    if (l->n < 64)
        l->seqs [l->n] = info->seq;
    l->n++;
    return l->stop_at && l->n == l->stop_at ? 5 : 0;
}

typedef struct {
    const ih_store_walk_t *w;
    s_tlist_t expect;
} s_tbrute_t;

/*  What a walk must list, by the rules alone: every alert, filtered. */
static int
s_tbrute (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_tbrute_t *b = (s_tbrute_t *) arg;
    const ih_store_walk_t *w = b->w;
    if ((w->before && info->seq >= w->before) || info->seq <= w->after)
        return 0;
    for (int g = 0; g < w->ngroups; g++) {
        bool any = false;
        for (int i = 0; i < w->groups [g].nkeys && !any; i++)
            any = ih_store_key_has (m, &w->groups [g].keys [i]);
        if (!any)
            return 0;
    }
    return s_tlist (m, info, &b->expect);
}

/*  A walk lists what the rules say, in order, in both directions. */
static void
s_tcheck (ih_store_t *s, ih_store_walk_t *w, bool verbose, const char *what)
{
    ih_err_t err = { "" };
    for (int dir = 0; dir < 2; dir++) {
        w->reverse = dir == 1;
        s_tbrute_t b;
        memset (&b, 0, sizeof b);
        b.w = w;
        IH_CHECK (ih_store_foreach (s, 0, w->reverse, s_tbrute, &b, &err) == 0);
        s_tlist_t got;
        memset (&got, 0, sizeof got);
        IH_CHECK (ih_store_walk (s, w, s_tlist, &got, &err) == 0);
        if (got.n != b.expect.n || memcmp (got.seqs, b.expect.seqs, sizeof got.seqs) != 0) {
            fprintf (stderr, "walk %s (%s): %d listed, %d expected\n", what, dir ? "reverse" : "forward",
                     got.n, b.expect.n);
            IH_CHECK (false);
        }
        if (verbose && dir)
            printf ("\n    %-34s %d", what, got.n);
    }
}

typedef struct {
    int revs [8];
    uint64_t seqs [8];
    char titles [8][32];
    int n;
} s_trevs_t;

static int
s_trev (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_trevs_t *t = (s_trevs_t *) arg;
    IH_CHECK (rev->sig && rev->body && rev->body_len > 0 && msg->revision == rev->revision);
    if (t->n < 8) {
        t->revs [t->n] = (int) rev->revision;
        t->seqs [t->n] = rev->seq;
        snprintf (t->titles [t->n], sizeof t->titles [0], "%s", msg->title);
    }
    t->n++;
    return 0;
}

typedef struct {
    uint32_t total;
    int calls;
} s_tweeks_t;

static int
s_tweek (int64_t monday_ms, ih_category_t category, ih_tlp_t tlp, uint32_t count, void *arg)
{
    s_tweeks_t *t = (s_tweeks_t *) arg;
    IH_CHECK (monday_ms % (7 * s_DAY_MS) == 4 * s_DAY_MS);         //  a Monday
    t->total += count;
    t->calls++;
    return 0;
}

/*  n alerts from seq first, varied: category, severity, TLP, sectors and words by i. */
static void
s_tfill (ih_store_t *s, uint64_t first, int n)
{
    static const char *const sectors [] = { "finance", "health", "energy" };
    static const char *const words [] = { "ransom", "phish", "botnet", "leak", "zero day" };
    ih_msg_t *m = (ih_msg_t *) calloc ((size_t) n, sizeof *m);
    uint64_t *seqs = (uint64_t *) calloc ((size_t) n, sizeof *seqs);
    IH_CHECK (m && seqs);
    int64_t now = ih_now_ms ();
    for (int i = 0; i < n; i++) {
        int k = (int) first + i;
        char title [96];
        snprintf (title, sizeof title, "Alert %d about %s and %s", k, words [k % 5], words [(k / 5) % 5]);
        ih_tk_alert (&m [i], NULL, (ih_tlp_t) (k % 3), title);
        m [i].category = (ih_category_t) (k % 10);     //  the first ten categories, in turn
        m [i].severity = (ih_severity_t) (k % IH_SEV_COUNT);
        m [i].created = m [i].modified = now - (int64_t) (k % 40) * 3 * s_DAY_MS;
        ih_msg_strlist_add (&m [i], &m [i].sectors, sectors [k % 3]);
        if (k % 4 == 0)
            ih_msg_strlist_add (&m [i], &m [i].sectors, sectors [(k + 1) % 3]);
        seqs [i] = first + (uint64_t) i;
    }
    ih_err_t err = { "" };
    IH_CHECK (ih_store_ingest_msgs (s, m, seqs, (size_t) n, NULL, &err) == 0);
    for (int i = 0; i < n; i++)
        ih_msg_free (&m [i]);
    free (m);
    free (seqs);
}

void
ih_store_walk_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-walk", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 1 << 20, 0, &err);
    IH_CHECK (s);

    //  1. Revisions, kept one by one (the history: A revised twice, a stale one late).
    for (int batch = 1; batch <= 3; batch++)
        ih_store_thistory (s, batch, NULL);
    s_trevs_t t;
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_revisions_foreach (s, IH_STORE_TID_A, s_trev, &t, &err) == 0 && t.n == 3);
    IH_CHECK (t.revs [0] == 1 && t.revs [1] == 2 && t.revs [2] == 3);
    IH_CHECK (t.seqs [0] == 1 && t.seqs [1] == 7 && t.seqs [2] == 14);
    IH_CHECK (streq (t.titles [0], "first") && streq (t.titles [2], "first, third revision"));
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_revisions_foreach (s, "dddddddd-0000-4000-8000-000000000000", s_trev, &t, &err) == 0
              && t.n == 0);
    IH_CHECK (ih_store_revisions_after (s, 2, s_trev, &t, &err) == 0 && t.n == 3);
    IH_CHECK (t.seqs [0] == 7 && t.seqs [1] == 13 && t.seqs [2] == 14);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_rev_t rev;
    IH_CHECK (ih_store_revision_at (s, 7, &m, &rev, &err) == 1 && rev.revision == 2 && streq (m.title, "first, revised"));
    IH_CHECK (streq (rev.id, IH_STORE_TID_A) && rev.seq == 7 && !rev.body);
    IH_CHECK (ih_store_revision_at (s, 8, &m, &rev, &err) == 0);          //  stale, kept at seq 1
    IH_CHECK (ih_store_revision_at (s, 3, NULL, NULL, &err) == 0);
    ih_msg_free (&m);

    //  2. Walks list what the rules say: every combination of groups, bounds, both ways.
    s_tfill (s, 100, 400);
    ih_store_walk_t w;
    memset (&w, 0, sizeof w);
    s_tcheck (s, &w, verbose, "everything");
    w.before = 300;
    w.after = 120;
    s_tcheck (s, &w, verbose, "everything in (120, 300)");
    memset (&w, 0, sizeof w);
    w.ngroups = 1;
    w.groups [0].nkeys = 1;
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_CATEGORY, IH_CAT_PHISHING, NULL };
    s_tcheck (s, &w, verbose, "category");
    w.before = 250;
    s_tcheck (s, &w, verbose, "category, before 250");
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_SECTOR, 0, "energy" };
    s_tcheck (s, &w, verbose, "sector, before 250");
    w.before = 0;
    w.groups [0].nkeys = 2;
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_SEVERITY, IH_SEV_HIGH, NULL };
    w.groups [0].keys [1] = (ih_store_key_t) { IH_STORE_BY_SEVERITY, IH_SEV_CRITICAL, NULL };
    s_tcheck (s, &w, verbose, "severity high or critical");
    w.ngroups = 3;
    w.groups [1].nkeys = 1;
    w.groups [1].keys [0] = (ih_store_key_t) { IH_STORE_BY_SECTOR, 0, "finance" };
    w.groups [2].nkeys = 2;
    w.groups [2].keys [0] = (ih_store_key_t) { IH_STORE_BY_TLP, IH_TLP_CLEAR, NULL };
    w.groups [2].keys [1] = (ih_store_key_t) { IH_STORE_BY_TLP, IH_TLP_AMBER, NULL };
    s_tcheck (s, &w, verbose, "severity, sector and TLP");
    memset (&w, 0, sizeof w);
    w.ngroups = 2;
    w.groups [0].nkeys = w.groups [1].nkeys = 1;
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_WORD, 0, "phish" };
    w.groups [1].keys [0] = (ih_store_key_t) { IH_STORE_BY_WORD, 0, "botnet" };
    s_tcheck (s, &w, verbose, "words phish and botnet");
    w.groups [1].keys [0] = (ih_store_key_t) { IH_STORE_BY_WORD, 0, "nowhere" };
    s_tcheck (s, &w, verbose, "a word no alert has");
    w.groups [1].nkeys = 0;
    s_tcheck (s, &w, verbose, "an empty group");
    //  Two words that never meet: the join reads both lists (in proportion to the
    //  store), unless a budget stops it; resuming where it stopped lists the rest.
    memset (&w, 0, sizeof w);
    w.ngroups = 2;
    w.groups [0].nkeys = w.groups [1].nkeys = 1;
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_CATEGORY, IH_CAT_PHISHING, NULL };
    w.groups [1].keys [0] = (ih_store_key_t) { IH_STORE_BY_CATEGORY, IH_CAT_MALWARE, NULL };
    w.reverse = true;
    uint64_t cut = 1;
    w.cut = &cut;
    s_tlist_t l;
    memset (&l, 0, sizeof l);
    uint64_t r1 = ih_store_reads ();
    IH_CHECK (ih_store_walk (s, &w, s_tlist, &l, &err) == 0 && l.n == 0 && cut == 0);
    uint64_t unbounded = ih_store_reads () - r1;
    w.budget = 20;
    w.groups [1].keys [0] = (ih_store_key_t) { IH_STORE_BY_SECTOR, 0, "finance" };
    s_tlist_t all;
    memset (&all, 0, sizeof all);
    IH_CHECK (ih_store_walk (s, &w, s_tlist, &all, &err) == 0 && cut > 0);
    int steps = 1;
    while (cut) {
        w.before = cut;
        IH_CHECK (ih_store_walk (s, &w, s_tlist, &all, &err) == 0);
        steps++;
    }
    w.budget = 0;
    w.before = 0;
    s_tcheck (s, &w, false, "category and sector");
    s_tbrute_t b;
    memset (&b, 0, sizeof b);
    b.w = &w;
    IH_CHECK (ih_store_foreach (s, 0, true, s_tbrute, &b, &err) == 0);
    IH_CHECK (all.n == b.expect.n && memcmp (all.seqs, b.expect.seqs, sizeof all.seqs) == 0);
    if (verbose)
        printf ("\n    disjoint categories: %" PRIu64 " records; in steps of 20: %d steps for %d alerts",
                unbounded, steps, all.n);
    IH_CHECK (steps > 2);

    //  fn stops the walk; bad walks are refused.
    memset (&w, 0, sizeof w);
    w.reverse = true;
    memset (&l, 0, sizeof l);
    l.stop_at = 3;
    IH_CHECK (ih_store_walk (s, &w, s_tlist, &l, &err) == 5 && l.n == 3);
    w.ngroups = 99;
    IH_CHECK (ih_store_walk (s, &w, s_tlist, &l, &err) == -1 && strstr (err.msg, "groups"));
    ih_store_key_t key = { IH_STORE_BY_CATEGORY, IH_CAT_PHISHING, NULL };
    IH_CHECK (ih_store_key_count (s, &key, &err) == 40);
    key = (ih_store_key_t) { IH_STORE_BY_WORD, 0, "nowhere" };
    IH_CHECK (ih_store_key_count (s, &key, &err) == 0);

    //  3. What a deep page reads is bounded: 20 alerts below a seq deep in the store.
    memset (&w, 0, sizeof w);
    w.reverse = true;
    w.before = 150;
    memset (&l, 0, sizeof l);
    l.stop_at = 20;
    uint64_t r0 = ih_store_reads ();
    IH_CHECK (ih_store_walk (s, &w, s_tlist, &l, &err) == 5 && l.seqs [0] == 149);
    uint64_t reads = ih_store_reads () - r0;
    if (verbose)
        printf ("\n    20 alerts below seq 150: %" PRIu64 " records read", reads);
    IH_CHECK (reads < 100);

    //  4. Weekly counts: the active alerts, by the week they were created.
    s_tweeks_t wk;
    memset (&wk, 0, sizeof wk);
    IH_CHECK (ih_store_weeks (s, 0, INT64_MAX / 2, s_tweek, &wk, &err) == 0);
    IH_CHECK (wk.total == 400 + 2);     //  the fill, and A and C (B is retracted)

    //  5. A snapshot sees the store as it was, whatever is written after it.
    ih_store_t *snap = ih_store_snapshot (s, &err);
    IH_CHECK (snap);
    uint64_t cursor = ih_store_cursor (snap);
    s_tfill (s, cursor + 1, 5);
    IH_CHECK (ih_store_cursor (snap) == cursor && ih_store_cursor (s) == cursor + 5);
    memset (&l, 0, sizeof l);
    IH_CHECK (ih_store_foreach (snap, cursor, false, s_tlist, &l, &err) == 0 && l.n == 0);
    ih_store_destroy (&snap);
    ih_store_destroy (&s);

    //  6. A reader of a format 1 store gives the same answers without the indexes.
    s = ih_store_open (dir, 0, 0, 0, &err);
    IH_CHECK (s);
    s->format = 1;              //  as if the format 2 databases were not there
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_revisions_foreach (s, IH_STORE_TID_A, s_trev, &t, &err) == 0 && t.n == 1);
    IH_CHECK (t.revs [0] == 3 && t.seqs [0] == 14);
    memset (&w, 0, sizeof w);
    w.ngroups = 1;
    w.groups [0].nkeys = 1;
    w.groups [0].keys [0] = (ih_store_key_t) { IH_STORE_BY_WORD, 0, "ransom" };
    s_tcheck (s, &w, verbose, "format 1: a word");
    memset (&wk, 0, sizeof wk);
    IH_CHECK (ih_store_weeks (s, 0, INT64_MAX / 2, s_tweek, &wk, &err) == 0);
    IH_CHECK (wk.total == 405 + 2);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
}
#endif
