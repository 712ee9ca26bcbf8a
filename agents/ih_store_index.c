/*  ih_store_index.c: the store's format 2 sub-databases on the write side (ih_store.h,
    SCHEMA: revisions, revseq, facets, words, weeks), kept inside the ingest transaction;
    the words of a text; and the upgrade of a format 1 store. Their read side is
    ih_store_walk.c; the store's files and return codes are in ih_store_int.h.

    Why indexes: the gateway's deep pages, filtered pages, search and trends used to walk
    the store from the newest alert and skip what they did not want, so a page took time
    in proportion to the store. Each index here lists, under a key, the seq of the latest
    revision of every alert that has it (facets and words), or keeps a count (weeks), so
    that a reader seeks straight to what it wants. They follow the latest revision: when
    a revision replaces another, the old one's postings leave with it.

    Read top to bottom: opening the databases, keys, words, the postings of an alert,
    revisions, the upgrade, then the self-test.
*/
#include <ctype.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "ih_store_int.h"
#include "ih_codec.h"
#include "ih_log.h"
#include "ih_mdbfile.h"

#define s_WHAT  "cannot store"

#define s_DAY_MS  86400000LL

/* ---- the databases -------------------------------------------------------------------------- */

static const char *s_v2_names [IH_STORE_NDBS - IH_STORE_NDBS_V1] = {
    "revisions", "revseq", "facets", "words", "weeks"
};

int
ih_store_v2_open (ih_store_t *self, MDB_txn *txn, bool create)
{
    for (int i = IH_STORE_NDBS_V1; i < IH_STORE_NDBS; i++) {
        bool posting = i == IH_STORE_DB_FACETS || i == IH_STORE_DB_WORDS;
        unsigned f = (create ? MDB_CREATE : 0) | (posting ? MDB_DUPSORT | MDB_DUPFIXED : 0);
        int rc = mdb_dbi_open (txn, s_v2_names [i - IH_STORE_NDBS_V1], f, &self->dbi [i]);
        if (rc == MDB_NOTFOUND && !create)
            return 1;
        if (rc)
            return ih_err_set (&self->why, "store %s: database %s: %s", self->dir,
                               s_v2_names [i - IH_STORE_NDBS_V1], mdb_strerror (rc));
    }
    return IH_OK;
}

static int
s_put (ih_store_t *self, int db, MDB_val *k, MDB_val *v, unsigned flags)
{
    int rc = mdb_put (self->txn, self->dbi [db], k, v, flags);
    return ih_store_mdb (self, rc == MDB_KEYEXIST ? 0 : rc, s_WHAT);
}

/*  Deletes the pair (k, v) of a dup-sorted database, or k when v is NULL; absent is fine. */
static int
s_del (ih_store_t *self, int db, MDB_val *k, MDB_val *v)
{
    int rc = mdb_del (self->txn, self->dbi [db], k, v);
    return ih_store_mdb (self, rc == MDB_NOTFOUND ? 0 : rc, s_WHAT);
}

/* ---- keys ------------------------------------------------------------------------------------ */

size_t
ih_store_facet_key (uint8_t *out, int field, const void *value, size_t len)
{
    if (len == 0 || len > IH_STORE_KEY_MAX - 1)
        return 0;
    out [0] = (uint8_t) field;
    memcpy (out + 1, value, len);
    return len + 1;
}

/*  The weeks key of an alert: its creation week's Monday, category, TLP. false when it was
    created before 1970 (never counted). */
static bool
s_week_key (const ih_msg_t *m, uint8_t key [6])
{
    if (m->created < 0)
        return false;
    int64_t day = m->created / s_DAY_MS;
    int64_t monday = day - (day + 3) % 7;           //  1970-01-01 was a Thursday
    if (monday < 0 || monday > UINT32_MAX)
        return false;
    uint8_t be [8];
    ih_put_be64 (be, (uint64_t) monday);
    memcpy (key, be + 4, 4);
    key [4] = (uint8_t) m->category;
    key [5] = (uint8_t) m->tlp;
    return true;
}

/* ---- words ----------------------------------------------------------------------------------- */

static bool
s_word_byte (unsigned char c)
{
    return isalnum (c) || c >= 0x80;
}

int
ih_store_words (const char *text, ih_store_word_fn *fn, void *arg)
{
    if (!text)
        return 0;
    const unsigned char *p = (const unsigned char *) text;
    char w [IH_STORE_WORD_MAX + 1];
    while (*p) {
        while (*p && !s_word_byte (*p))
            p++;
        size_t n = 0;
        while (*p && s_word_byte (*p)) {
            if (n < IH_STORE_WORD_MAX)
                w [n++] = (char) (*p < 0x80 ? tolower (*p) : *p);
            p++;
        }
        if (n < 2)
            continue;
        //  A cut in the middle of a UTF-8 sequence keeps the bytes: words are bytes here.
        w [n] = 0;
        int rc = fn (w, n, arg);
        if (rc)
            return rc;
    }
    return 0;
}

static bool
s_word_ioc (ih_ioc_type_t t)
{
    return t == IH_IOC_DOMAIN || t == IH_IOC_URL || t == IH_IOC_EMAIL || t == IH_IOC_FILENAME;
}

/*  Words are gathered as fixed slots: a length byte and IH_STORE_WORD_MAX bytes. */
#define s_SLOT  (1 + IH_STORE_WORD_MAX)

static int
s_collect_word (const char *word, size_t len, void *arg)
{
    uint8_t slot [s_SLOT];
    memset (slot, 0, sizeof slot);
    slot [0] = (uint8_t) len;
    memcpy (slot + 1, word, len);
    ih_buf_append ((ih_buf_t *) arg, slot, sizeof slot);
    return 0;
}

static int
s_slot_cmp (const void *a, const void *b)
{
    return memcmp (a, b, s_SLOT);
}

/*  The distinct words of alert m into self->words (sorted slots); returns how many. */
static size_t
s_alert_words (ih_store_t *self, const ih_msg_t *m)
{
    ih_buf_t *b = &self->words;
    ih_buf_reset (b);
    ih_store_words (m->title, s_collect_word, b);
    ih_store_words (m->summary, s_collect_word, b);
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (s_word_ioc (m->iocs [i].type))
            ih_store_words (m->iocs [i].value, s_collect_word, b);
    size_t n = b->len / s_SLOT;
    if (n < 2)
        return n;
    qsort (b->data, n, s_SLOT, s_slot_cmp);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (memcmp (b->data + i * s_SLOT, b->data + (u - 1) * s_SLOT, s_SLOT) != 0) {
            if (u != i)
                memcpy (b->data + u * s_SLOT, b->data + i * s_SLOT, s_SLOT);
            u++;
        }
    b->len = u * s_SLOT;
    return u;
}

/* ---- the postings of an alert ------------------------------------------------------------------ */

/*  Adds (add) or deletes the posting seq under key in db. */
static int
s_posting (ih_store_t *self, int db, const uint8_t *key, size_t klen, const uint8_t seq [8], bool add)
{
    if (klen == 0)
        return IH_OK;
    MDB_val k = ih_store_val (key, klen), v = ih_store_val (seq, 8);
    return add ? s_put (self, db, &k, &v, MDB_NODUPDATA) : s_del (self, db, &k, &v);
}

/*  weeks[key of m] += delta (the record goes when it reaches 0). */
static int
s_week_add (ih_store_t *self, const ih_msg_t *m, int delta)
{
    uint8_t key [6];
    if (!s_week_key (m, key))
        return IH_OK;
    MDB_val k = ih_store_val (key, 6), v;
    int found = ih_store_mdb_get (self, self->txn, IH_STORE_DB_WEEKS, &k, &v, s_WHAT);
    if (found < 0)
        return found;
    int64_t n = (found && v.mv_size == 4 ? (int64_t) ih_get_le32 (v.mv_data) : 0) + delta;
    if (n <= 0)
        return s_del (self, IH_STORE_DB_WEEKS, &k, NULL);
    uint8_t b [4];
    ih_put_le32 (b, (uint32_t) n);
    v = ih_store_val (b, 4);
    return s_put (self, IH_STORE_DB_WEEKS, &k, &v, 0);
}

/*  Every posting of alert m at seq, added or deleted. */
static int
s_postings (ih_store_t *self, const ih_msg_t *m, uint64_t seq, bool add)
{
    uint8_t sk [8], key [IH_STORE_KEY_MAX];
    ih_put_be64 (sk, seq);
    uint8_t c = (uint8_t) m->category, v = (uint8_t) m->severity, t = (uint8_t) m->tlp;
    int rc = s_posting (self, IH_STORE_DB_FACETS, key,
                        ih_store_facet_key (key, IH_STORE_FACET_CATEGORY, &c, 1), sk, add);
    if (rc == IH_OK)
        rc = s_posting (self, IH_STORE_DB_FACETS, key,
                        ih_store_facet_key (key, IH_STORE_FACET_SEVERITY, &v, 1), sk, add);
    if (rc == IH_OK)
        rc = s_posting (self, IH_STORE_DB_FACETS, key,
                        ih_store_facet_key (key, IH_STORE_FACET_TLP, &t, 1), sk, add);
    for (uint32_t i = 0; rc == IH_OK && i < m->sectors.count; i++) {
        const char *sector = m->sectors.items [i];
        rc = s_posting (self, IH_STORE_DB_FACETS, key,
                        ih_store_facet_key (key, IH_STORE_FACET_SECTOR, sector, strlen (sector)),
                        sk, add);
    }
    size_t n = rc == IH_OK ? s_alert_words (self, m) : 0;
    for (size_t i = 0; rc == IH_OK && i < n; i++) {
        const uint8_t *slot = self->words.data + i * s_SLOT;
        rc = s_posting (self, IH_STORE_DB_WORDS, slot + 1, slot [0], sk, add);
    }
    return rc;
}

int
ih_store_ix_add (ih_store_t *self, const ih_msg_t *m, uint64_t seq, bool retracted)
{
    int rc = s_postings (self, m, seq, true);
    if (rc == IH_OK && !retracted)
        rc = s_week_add (self, m, 1);
    return rc;
}

int
ih_store_ix_del (ih_store_t *self, const ih_msg_t *m, uint64_t seq, bool retracted)
{
    int rc = s_postings (self, m, seq, false);
    if (rc == IH_OK && !retracted)
        rc = s_week_add (self, m, -1);
    return rc;
}

int
ih_store_ix_retract (ih_store_t *self, const ih_msg_t *m)
{
    return s_week_add (self, m, -1);
}

/* ---- revisions ------------------------------------------------------------------------------------ */

/*  The key of revision `revision` of alert id: id (36) + revision (u32 BE). */
static void
s_rev_key (const char *id, uint32_t revision, uint8_t key [IH_UUID_LEN + 4])
{
    memcpy (key, id, IH_UUID_LEN);
    uint8_t be [8];
    ih_put_be64 (be, revision);
    memcpy (key + IH_UUID_LEN, be + 4, 4);
}

/*  Writes a revision entry: seq, sig, and the body unless it is the alert record's. */
static int
s_rev_write (ih_store_t *self, const uint8_t key [IH_UUID_LEN + 4], uint64_t seq, const uint8_t *sig,
             const uint8_t *body, size_t len)
{
    ih_buf_reset (&self->rbuf);
    ih_buf_reserve (&self->rbuf, IH_STORE_REVHDR + len);
    ih_put_le64 (self->rbuf.data, seq);
    memcpy (self->rbuf.data + 8, sig, 64);
    if (body && len)
        memcpy (self->rbuf.data + IH_STORE_REVHDR, body, len);
    self->rbuf.len = IH_STORE_REVHDR + (body ? len : 0);
    MDB_val k = ih_store_val (key, IH_UUID_LEN + 4), v = ih_store_val (self->rbuf.data, self->rbuf.len);
    return s_put (self, IH_STORE_DB_REVISIONS, &k, &v, 0);
}

int
ih_store_rev_keep (ih_store_t *self, const char *id, uint32_t revision, uint64_t seq,
                   const uint8_t *sig, const uint8_t *body, size_t len)
{
    uint8_t key [IH_UUID_LEN + 4];
    s_rev_key (id, revision, key);
    int rc = s_rev_write (self, key, seq, sig, body, len);
    if (rc)
        return rc;
    //  (Its revseq entry is there already, unless the store kept no revision then.)
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val qk = ih_store_val (sk, 8), qv = ih_store_val (key, sizeof key);
    return s_put (self, IH_STORE_DB_REVSEQ, &qk, &qv, 0);
}

int
ih_store_rev_put (ih_store_t *self, const ih_msg_t *m, uint64_t seq, const uint8_t *sig,
                  const uint8_t *body, size_t len)
{
    uint8_t key [IH_UUID_LEN + 4];
    s_rev_key (m->id, m->revision, key);
    MDB_val k = ih_store_val (key, sizeof key), v;
    int found = ih_store_mdb_get (self, self->txn, IH_STORE_DB_REVISIONS, &k, &v, s_WHAT);
    if (found != 0)
        return found < 0 ? found : IH_OK;       //  kept already: the first delivery stays
    int rc = s_rev_write (self, key, seq, sig, body, len);
    if (rc)
        return rc;
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val qk = ih_store_val (sk, 8), qv = ih_store_val (key, sizeof key);
    return s_put (self, IH_STORE_DB_REVSEQ, &qk, &qv, 0);
}

/* ---- the upgrade from format 1 --------------------------------------------------------------------- */

/*  One attempt: the format 2 databases from the alert records, and the version. */
static int
s_upgrade_txn (ih_store_t *self, uint64_t *alerts)
{
    int rc = ih_store_txn_begin (self, 0, &self->txn, "cannot upgrade");
    if (rc)
        return rc;
    //  A previous attempt that died left nothing (one transaction), but start clean.
    for (int i = IH_STORE_NDBS_V1; rc == IH_OK && i < IH_STORE_NDBS; i++)
        rc = ih_store_mdb (self, mdb_drop (self->txn, self->dbi [i], 0), "cannot upgrade");
    MDB_cursor *cur = NULL;
    if (rc == IH_OK)
        rc = ih_store_mdb (self, mdb_cursor_open (self->txn, self->dbi [IH_STORE_DB_ALERTS], &cur),
                           "cannot upgrade");
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    MDB_val k, v;
    *alerts = 0;
    int more = rc == IH_OK ? ih_store_mdb_next (self, cur, &k, &v, MDB_FIRST, "cannot upgrade") : 0;
    while (more == 1) {
        char id [IH_UUID_LEN + 1] = "";
        memcpy (id, k.mv_data, k.mv_size < IH_UUID_LEN ? k.mv_size : IH_UUID_LEN);
        ih_store_arec_t r;
        if ((rc = ih_store_arec_parse (self, id, &v, &r)))
            break;
        //  Copies: the writes below may move the map's pages.
        uint8_t sig [64];
        memcpy (sig, r.sig, 64);
        ih_buf_reset (&self->body);
        ih_buf_append (&self->body, r.body, r.body_len);
        ih_msg_free (&m);
        if (ih_body_decode (&m, self->body.data, self->body.len, NULL) != 0) {
            rc = ih_err_set (&self->why, "store: alert %s: corrupt record", id);
            break;
        }
        if ((rc = ih_store_ix_add (self, &m, r.seq, r.status != 0))
        ||  (rc = ih_store_rev_put (self, &m, r.seq, sig, NULL, 0)))
            break;
        (*alerts)++;
        //  The cursor stays valid across puts into other databases.
        more = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot upgrade");
    }
    if (more < 0)
        rc = more;
    ih_msg_free (&m);
    if (cur)
        mdb_cursor_close (cur);
    if (rc == IH_OK) {
        uint8_t ver [4];
        ih_put_le32 (ver, IH_STORE_FORMAT);
        MDB_val vk = ih_store_val ("version", 7), vv = ih_store_val (ver, 4);
        rc = ih_store_mdb (self, mdb_put (self->txn, self->dbi [IH_STORE_DB_META], &vk, &vv, 0),
                           "cannot upgrade");
    }
    if (rc) {
        mdb_txn_abort (self->txn);
        self->txn = NULL;
        return rc;
    }
    rc = ih_store_mdb (self, mdb_txn_commit (self->txn), "cannot upgrade");
    self->txn = NULL;
    return rc;
}

int
ih_store_upgrade (ih_store_t *self, ih_err_t *err)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t alerts = 0;
        int rc = s_upgrade_txn (self, &alerts);
        if (rc == IH_OK) {
            self->format = IH_STORE_FORMAT;
            self->upgrade = false;
            ih_log ('I', "store", "%s upgraded from format 1 to %d (%" PRIu64 " alerts indexed)",
                    self->dir, IH_STORE_FORMAT, alerts);
            return IH_OK;
        }
        rc = ih_store_recover (self, rc);
        if (rc == IH_OK)
            continue;           //  the map grew, or the environment was reopened: redo
        ih_err_set (err, "store %s: cannot upgrade from format 1: %s", self->dir, self->why.msg);
        return rc == IH_ENOSPACE ? IH_ENOSPACE : IH_EFAIL;
    }
    return ih_err_set (err, "store %s: cannot grow the map enough to upgrade it", self->dir);
}

/* ---- self-test ------------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    int n;
    char words [16][IH_STORE_WORD_MAX + 1];
} s_twords_t;

static int
s_tword (const char *word, size_t len, void *arg)
{
    s_twords_t *t = (s_twords_t *) arg;
    IH_CHECK (strlen (word) == len);
    if (t->n < 16)
        snprintf (t->words [t->n], sizeof t->words [0], "%s", word);
    t->n++;
    return 0;
}

/*  Every record of db, as a count. */
static size_t
s_tentries (ih_store_t *s, int db)
{
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (s->env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_stat st;
    IH_CHECK (mdb_stat (txn, s->dbi [db], &st) == 0);
    mdb_txn_abort (txn);
    return st.ms_entries;
}

typedef struct {
    int n;
    char titles [4][32];
    uint64_t seqs [4];
    size_t body_lens [4];
} s_trevs_t;

static int
s_trev (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_trevs_t *t = (s_trevs_t *) arg;
    if (t->n < 4) {
        snprintf (t->titles [t->n], sizeof t->titles [0], "%s", msg->title);
        t->seqs [t->n] = rev->seq;
        t->body_lens [t->n] = rev->body_len;
    }
    t->n++;
    return 0;
}

/*  The size of the revisions entry of (id, revision), 0 when absent. */
static size_t
s_tvalue_len (ih_store_t *s, const char *id, uint32_t revision)
{
    uint8_t key [IH_UUID_LEN + 4];
    s_rev_key (id, revision, key);
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (s->env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_val k = { sizeof key, key }, v;
    size_t n = mdb_get (txn, s->dbi [IH_STORE_DB_REVISIONS], &k, &v) == 0 ? v.mv_size : 0;
    mdb_txn_abort (txn);
    return n;
}

/*  Turns the store in dir back into what format 1 wrote: no format 2 database, version 1. */
static void
s_tdowngrade (const char *dir)
{
    MDB_env *env;
    IH_CHECK (mdb_env_create (&env) == 0);
    mdb_env_set_maxdbs (env, IH_STORE_NDBS + 2);
    IH_CHECK (mdb_env_open (env, dir, MDB_NOTLS, 0600) == 0);
    MDB_txn *txn;
    IH_CHECK (mdb_txn_begin (env, NULL, 0, &txn) == 0);
    for (int i = IH_STORE_NDBS_V1; i < IH_STORE_NDBS; i++) {
        MDB_dbi dbi;
        IH_CHECK (mdb_dbi_open (txn, s_v2_names [i - IH_STORE_NDBS_V1], 0, &dbi) == 0);
        IH_CHECK (mdb_drop (txn, dbi, 1) == 0);
    }
    MDB_dbi meta;
    IH_CHECK (mdb_dbi_open (txn, "meta", 0, &meta) == 0);
    uint8_t ver [4];
    ih_put_le32 (ver, 1);
    MDB_val k = { 7, (void *) "version" }, v = { 4, ver };
    IH_CHECK (mdb_put (txn, meta, &k, &v, 0) == 0);
    IH_CHECK (mdb_txn_commit (txn) == 0);
    mdb_env_close (env);
}

void
ih_store_index_test (bool verbose)
{
    //  1. Words: runs of letters and digits (UTF-8 bytes count as letters), lower-cased,
    //     two bytes at least, cut to IH_STORE_WORD_MAX.
    s_twords_t t;
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_words ("QR-code phishing (quishing): a CVE-2023-4966 \xc3\xa9t\xc3\xa9!", s_tword, &t) == 0);
    IH_CHECK (t.n == 8 && streq (t.words [7], "\xc3\xa9t\xc3\xa9"));
    IH_CHECK (streq (t.words [0], "qr") && streq (t.words [1], "code") && streq (t.words [3], "quishing"));
    IH_CHECK (streq (t.words [4], "cve") && streq (t.words [5], "2023") && streq (t.words [6], "4966"));
    memset (&t, 0, sizeof t);
    char longw [200];
    memset (longw, 'A', sizeof longw - 1);
    longw [sizeof longw - 1] = 0;
    IH_CHECK (ih_store_words (longw, s_tword, &t) == 0 && t.n == 1 && strlen (t.words [0]) == IH_STORE_WORD_MAX);
    IH_CHECK (t.words [0][0] == 'a');
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_store_words ("", s_tword, &t) == 0 && ih_store_words (NULL, s_tword, &t) == 0 && t.n == 0);

    //  2. The ingest keeps every index: the history's alerts A (3 revisions, one stale
    //     late), B (retracted) and C (retracted IOC, arrived after its retraction).
    char base [256], dir [300];
    ih_tk_tempdir ("store-index", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s && s->format == IH_STORE_FORMAT);
    for (int batch = 1; batch <= 3; batch++)
        ih_store_thistory (s, batch, NULL);
    //  Revisions: A rev 1 (seq 1), rev 2 (7), rev 3 (14); B rev 1 (2); C rev 2 (13). The
    //  stale rev 1 at seq 8 and the repeat at 9 were kept already.
    IH_CHECK (s_tentries (s, IH_STORE_DB_REVISIONS) == 5 && s_tentries (s, IH_STORE_DB_REVSEQ) == 5);
    //  Facets: category, severity and TLP per alert (the test alerts list no sector).
    IH_CHECK (s_tentries (s, IH_STORE_DB_FACETS) == 3 * 3);
    //  Weeks: A and C count (B is retracted); they share a week and category.
    IH_CHECK (s_tentries (s, IH_STORE_DB_WEEKS) == 1);
    size_t words = s_tentries (s, IH_STORE_DB_WORDS);
    IH_CHECK (words > 0);
    if (verbose)
        printf ("\n    %zu word postings", words);
    ih_store_destroy (&s);

    //  3. A format 1 store (as the old code left it) is upgraded at open: nothing lost,
    //     the latest revisions kept, the indexes as the ingest would have made them.
    s_tdowngrade (dir);
    ih_store_t *r = ih_store_open (dir, 0, 0, 0, &err);        //  a reader of format 1
    IH_CHECK (r && r->format == 1);
    ih_store_destroy (&r);
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s && s->format == IH_STORE_FORMAT);
    IH_CHECK (s_tentries (s, IH_STORE_DB_REVISIONS) == 3);     //  A rev 3, B rev 1, C rev 2
    IH_CHECK (s_tentries (s, IH_STORE_DB_FACETS) == 3 * 3);
    IH_CHECK (s_tentries (s, IH_STORE_DB_WEEKS) == 1);
    IH_CHECK (s_tentries (s, IH_STORE_DB_WORDS) > 0);
    ih_store_counts_t c;
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.alerts == 3 && c.cursor == 14);
    //  It records revisions from then on.
    static const char *a4 [] = { "ipv4:192.0.2.4", NULL };
    const ih_store_tmsg_t rev4 [] = {
        { .seq = 15, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 4, .title = "fourth", .iocs = a4 }
    };
    IH_CHECK (ih_store_tingest (s, rev4, 1, NULL, &err) == 0);
    IH_CHECK (s_tentries (s, IH_STORE_DB_REVISIONS) == 4);
    //  The latest revision's entry holds no body (it is the record's); the one it
    //  replaced got its own.
    s_trevs_t tr;
    memset (&tr, 0, sizeof tr);
    IH_CHECK (ih_store_revisions_foreach (s, IH_STORE_TID_A, s_trev, &tr, &err) == 0 && tr.n == 2);
    IH_CHECK (streq (tr.titles [0], "first, third revision") && tr.seqs [0] == 14);
    IH_CHECK (streq (tr.titles [1], "fourth") && tr.seqs [1] == 15);
    IH_CHECK (tr.body_lens [0] > 0 && tr.body_lens [1] > 0);
    IH_CHECK (s_tvalue_len (s, IH_STORE_TID_A, 3) > IH_STORE_REVHDR);
    IH_CHECK (s_tvalue_len (s, IH_STORE_TID_A, 4) == IH_STORE_REVHDR);
    ih_store_destroy (&s);
    //  Opened again: format 2 already, nothing to do.
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s && !s->upgrade && s_tentries (s, IH_STORE_DB_REVISIONS) == 4);
    ih_store_destroy (&s);

    //  4. A format this code does not know is refused.
    {
        MDB_env *env;
        IH_CHECK (mdb_env_create (&env) == 0);
        mdb_env_set_maxdbs (env, IH_STORE_NDBS + 2);
        IH_CHECK (mdb_env_open (env, dir, MDB_NOTLS, 0600) == 0);
        MDB_txn *txn;
        MDB_dbi meta;
        IH_CHECK (mdb_txn_begin (env, NULL, 0, &txn) == 0 && mdb_dbi_open (txn, "meta", 0, &meta) == 0);
        uint8_t ver [4];
        ih_put_le32 (ver, 9);
        MDB_val k = { 7, (void *) "version" }, v = { 4, ver };
        IH_CHECK (mdb_put (txn, meta, &k, &v, 0) == 0 && mdb_txn_commit (txn) == 0);
        mdb_env_close (env);
    }
    IH_CHECK (ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err) == NULL);
    if (verbose)
        printf ("\n    %s", err.msg);
    IH_CHECK (strstr (err.msg, "format 9 is not supported"));
    ih_tk_rmtree (base);
}
#endif
