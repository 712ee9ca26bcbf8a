/*  ih_journal.c: the broker's LMDB journal. See ih_journal.h. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <sodium.h>

#include "ih_journal.h"
#include "ih_mdbfile.h"

struct ih_journal {
    char *dir;
    bool readonly;          //  ih_journal_open_readonly
    int lock_fd;            //  holds the flock on DIR/broker.lock
    MDB_env *env;
    MDB_dbi items;
    MDB_dbi ids;
    MDB_dbi meta;
    uint64_t head;          //  committed
    uint64_t pending;       //  head inside the write transaction
    MDB_txn *wtxn;          //  the write transaction, when open
    MDB_txn *rtxn;          //  the reusable read transaction (reset when idle)
    MDB_cursor *rcur;
    bool scanning;
    bool scan_first;        //  the next call returns the cursor's current item
    bool scan_empty;        //  nothing (more) to return
    ih_buf_t rec;           //  scratch: the record being appended
    ih_buf_t idx;           //  scratch: the index entry being written
};

/* ---- helpers ---------------------------------------------------------------------- */

void
ih_journal_hash (const uint8_t *body, size_t len, uint8_t out [IH_HASH_LEN])
{
    crypto_generichash (out, IH_HASH_LEN, body, len, NULL, 0);
}

/* ---- index entries ------------------------------------------------------------------
    'X' 1 kind tlp, latest_rev u32, rev_count u32, org (len u8, bytes, NUL),
    recipient_count u8, recipients (len u8, bytes, NUL), then rev_count x
    (rev u32, seq u64 big-endian, hash[32]).                                            */
#define S_REV_SIZE (4 + 8 + IH_HASH_LEN)

void
ih_jindex_init (ih_jindex_t *x)
{
    memset (x, 0, sizeof *x);
    ih_buf_init (&x->buf_);
}

void
ih_jindex_free (ih_jindex_t *x)
{
    ih_buf_free (&x->buf_);
}

static const char *
s_idx_str (const uint8_t **p, size_t *left)
{
    if (*left < 2)
        return NULL;
    size_t n = (*p) [0];
    if (*left < n + 2 || (*p) [1 + n] != 0)
        return NULL;
    const char *s = (const char *) *p + 1;
    *p += n + 2;
    *left -= n + 2;
    return s;
}

//  Parses the entry held in x->buf_.
static int
s_idx_parse (ih_jindex_t *x, ih_err_t *err)
{
    const uint8_t *p = x->buf_.data;
    size_t left = x->buf_.len;
    if (left < 12 || p [0] != 'X' || p [1] != 1 || p [2] >= IH_KIND_COUNT || p [3] >= IH_TLP_COUNT)
        return ih_err_set (err, "journal: corrupt index entry");
    x->kind = (ih_kind_t) p [2];
    x->tlp = (ih_tlp_t) p [3];
    x->latest_rev = ih_get_le32 (p + 4);
    x->rev_count = ih_get_le32 (p + 8);
    p += 12;
    left -= 12;
    if (!(x->org = s_idx_str (&p, &left)) || left < 1)
        return ih_err_set (err, "journal: corrupt index entry (org)");
    uint32_t n = *p++;
    left--;
    if (n > IH_MAX_LIST)
        return ih_err_set (err, "journal: corrupt index entry (recipients)");
    for (uint32_t i = 0; i < n; i++)
        if (!(x->ptrs_ [i] = s_idx_str (&p, &left)))
            return ih_err_set (err, "journal: corrupt index entry (recipients)");
    x->recipients.items = x->ptrs_;
    x->recipients.count = n;
    if (left != (size_t) x->rev_count * S_REV_SIZE)
        return ih_err_set (err, "journal: corrupt index entry (revisions)");
    x->revs_ = p;
    return 0;
}

bool
ih_jindex_rev (const ih_jindex_t *x, uint32_t rev, uint64_t *seq, uint8_t hash [IH_HASH_LEN])
{
    for (uint32_t i = 0; i < x->rev_count; i++) {
        const uint8_t *r = x->revs_ + (size_t) i * S_REV_SIZE;
        if (ih_get_le32 (r) == rev) {
            if (seq)
                *seq = ih_get_be64 (r + 4);
            if (hash)
                memcpy (hash, r + 12, IH_HASH_LEN);
            return true;
        }
    }
    return false;
}

static void
s_idx_put_str (ih_buf_t *b, const char *s)
{
    size_t n = strlen (s);
    if (n > 255)
        n = 255;        //  ih_jitem_encode already refused longer ones
    uint8_t len = (uint8_t) n;
    ih_buf_append (b, &len, 1);
    ih_buf_append (b, s, n);
    ih_buf_append (b, "", 1);
}

//  Builds an index entry in b: header and org/recipients from it, the revisions of old
//  (may be NULL) followed by (rev, seq, hash).
static void
s_idx_build (ih_buf_t *b, const ih_jitem_t *it, const ih_jindex_t *old, uint64_t seq,
             const uint8_t hash [IH_HASH_LEN])
{
    ih_buf_reset (b);
    uint32_t nrev = old ? old->rev_count + 1 : 1;
    uint8_t h [12] = { 'X', 1, (uint8_t) it->kind, (uint8_t) it->ent [0].tlp };
    ih_put_le32 (h + 4, it->kind == IH_KIND_ALERT ? it->rev : 0);
    ih_put_le32 (h + 8, nrev);
    ih_buf_append (b, h, sizeof h);
    s_idx_put_str (b, it->ent [0].org);
    const ih_strlist_t *r = &it->ent [0].recipients;
    uint8_t n = (uint8_t) (it->kind == IH_KIND_ALERT ? r->count : 0);
    ih_buf_append (b, &n, 1);
    for (uint32_t i = 0; i < n; i++)
        s_idx_put_str (b, r->items [i]);
    if (old)
        ih_buf_append (b, old->revs_, (size_t) old->rev_count * S_REV_SIZE);
    uint8_t rv [S_REV_SIZE];
    ih_put_le32 (rv, it->kind == IH_KIND_ALERT ? it->rev : 0);
    ih_put_be64 (rv + 4, seq);
    memcpy (rv + 12, hash, IH_HASH_LEN);
    ih_buf_append (b, rv, sizeof rv);
}

/* ---- open / close ------------------------------------------------------------------- */
static int
s_mdb_err (ih_err_t *err, const char *what, int rc)
{
    return ih_err_set (err, "journal: %s: %s", what, mdb_strerror (rc));
}

//  A failed write: LMDB says "Input/output error" for a short write on a full disk
//  (ih_mdb_disk_full): the operator must read "disk full", and what to do.
static int
s_write_err (ih_journal_t *self, ih_err_t *err, const char *what, int rc)
{
    uint64_t avail = 0;
    if (ih_mdb_disk_full (self->dir, rc, &avail))
        return ih_err_set (err, "journal: %s: disk full (%s; %" PRIu64 " KiB left on the filesystem "
                           "of %s): publishes are refused until there is room", what, mdb_strerror (rc),
                           avail >> 10, self->dir);
    return s_mdb_err (err, what, rc);
}

ih_journal_t *
ih_journal_open (const char *dir, uint64_t map_size, ih_err_t *err)
{
    if (sodium_init () < 0) {
        ih_err_set (err, "journal: libsodium failed to start");
        return NULL;
    }
    if (mkdir (dir, 0700) && errno != EEXIST) {
        ih_err_set (err, "journal: cannot create %s: %s", dir, strerror (errno));
        return NULL;
    }
    ih_journal_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->dir = strdup (dir);
    if (!self->dir)
        abort ();
    self->lock_fd = -1;
    ih_buf_init (&self->rec);
    ih_buf_init (&self->idx);
    if (map_size < 65536)
        map_size = 65536;

    int rc;
    MDB_txn *txn = NULL;
    //  One broker per journal: a second one would answer `internal` to every publish and
    //  corrupt the first one's view of it.
    self->lock_fd = ih_mdb_lock (dir, "broker.lock", "journal", "broker", err);
    if (self->lock_fd < 0)
        goto fail;
    //  A data file cut short would be a SIGBUS at the first read past its end.
    if (ih_mdb_check (dir, "journal", "restore the journal from a copy (mdb_copy of a healthy "
                      "journal, or a standby's) before starting the broker (README, Recovery)", err) != 0)
        goto fail;
    if ((rc = mdb_env_create (&self->env))) {
        s_mdb_err (err, "create", rc);
        self->env = NULL;
        goto fail;
    }
    mdb_env_set_assert (self->env, (MDB_assert_func *) ih_mdb_assert_hook);   //  damaged pages
    mdb_env_set_maxdbs (self->env, 4);
    mdb_env_set_mapsize (self->env, (size_t) map_size);
    if ((rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600))) {
        ih_err_set (err, "journal: cannot open %s: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn))) {
        s_mdb_err (err, "begin", rc);
        goto fail;
    }
    if ((rc = mdb_dbi_open (txn, "items", MDB_CREATE, &self->items))
    ||  (rc = mdb_dbi_open (txn, "ids", MDB_CREATE, &self->ids))
    ||  (rc = mdb_dbi_open (txn, "meta", MDB_CREATE, &self->meta))) {
        s_mdb_err (err, "open databases", rc);
        goto fail;
    }
    //  The head: from meta, and never below the last item (a journal is append-only)
    MDB_val k = { 4, "head" }, v;
    rc = ih_mdb_get (txn, self->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8)
        self->head = ih_get_be64 (v.mv_data);
    else
    if (rc != MDB_NOTFOUND) {
        ih_err_set (err, "journal: corrupt head in %s", dir);
        goto fail;
    }
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open (txn, self->items, &cur))) {
        s_mdb_err (err, "cursor", rc);
        goto fail;
    }
    if (ih_mdb_cursor_get (cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8) {
        uint64_t last = ih_get_be64 (k.mv_data);
        if (last > self->head)
            self->head = last;
    }
    mdb_cursor_close (cur);
    if ((rc = mdb_txn_commit (txn))) {
        txn = NULL;
        s_mdb_err (err, "commit", rc);
        goto fail;
    }
    self->pending = self->head;
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
    ih_journal_destroy (&self);
    return NULL;
}

ih_journal_t *
ih_journal_open_readonly (const char *dir, ih_err_t *err)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    if (stat (path, &st) != 0) {
        ih_err_set (err, "journal: no journal in %s: %s", dir, strerror (errno));
        return NULL;
    }
    if (ih_mdb_check (dir, "journal", "restore the journal from a copy (README, Recovery)", err) != 0)
        return NULL;
    ih_journal_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->dir = strdup (dir);
    if (!self->dir)
        abort ();
    self->lock_fd = -1;
    self->readonly = true;
    ih_buf_init (&self->rec);
    ih_buf_init (&self->idx);
    int rc;
    MDB_txn *txn = NULL;
    if ((rc = mdb_env_create (&self->env))) {
        self->env = NULL;
        s_mdb_err (err, "create", rc);
        goto fail;
    }
    mdb_env_set_assert (self->env, (MDB_assert_func *) ih_mdb_assert_hook);   //  damaged pages
    mdb_env_set_maxdbs (self->env, 4);
    if ((rc = mdb_env_open (self->env, dir, MDB_NOTLS | MDB_RDONLY, 0600))) {
        ih_err_set (err, "journal: cannot open %s: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    if ((rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
    ||  (rc = mdb_dbi_open (txn, "items", 0, &self->items))
    ||  (rc = mdb_dbi_open (txn, "ids", 0, &self->ids))
    ||  (rc = mdb_dbi_open (txn, "meta", 0, &self->meta))) {
        ih_err_set (err, "journal: cannot read %s: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    MDB_val k = { 4, "head" }, v;
    if (ih_mdb_get (txn, self->meta, &k, &v) == 0 && v.mv_size == 8)
        self->head = ih_get_be64 (v.mv_data);
    //  committed, not aborted: the database handles opened in it must outlive it
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc) {
        ih_err_set (err, "journal: cannot read %s: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    self->pending = self->head;
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
    ih_journal_destroy (&self);
    return NULL;
}

static void
s_reader_close (ih_journal_t *self)
{
    if (self->rcur)
        mdb_cursor_close (self->rcur);
    if (self->rtxn)
        mdb_txn_abort (self->rtxn);
    self->rcur = NULL;
    self->rtxn = NULL;
    self->scanning = false;
}

void
ih_journal_destroy (ih_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_journal_t *self = *self_p;
    ih_journal_abort (self);
    s_reader_close (self);
    if (self->env)
        mdb_env_close (self->env);
    if (self->lock_fd >= 0)
        close (self->lock_fd);      //  releases the flock
    ih_buf_free (&self->rec);
    ih_buf_free (&self->idx);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

uint64_t
ih_journal_head (ih_journal_t *self)
{
    return self->head;
}

uint64_t
ih_journal_bytes (ih_journal_t *self)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info (self->env, &info) || mdb_env_stat (self->env, &st))
        return 0;
    return ((uint64_t) info.me_last_pgno + 1) * st.ms_psize;
}

uint64_t
ih_journal_map_size (ih_journal_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info (self->env, &info))
        return 0;
    return info.me_mapsize;
}

/* ---- writing ------------------------------------------------------------------------ */
int
ih_journal_begin (ih_journal_t *self, ih_err_t *err)
{
    if (self->readonly)
        return ih_err_set (err, "journal: opened to be read only");
    if (self->wtxn)
        return ih_err_set (err, "journal: a write transaction is already open");
    int rc = mdb_txn_begin (self->env, NULL, 0, &self->wtxn);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize (self->env, 0);
        rc = mdb_txn_begin (self->env, NULL, 0, &self->wtxn);
    }
    if (rc) {
        self->wtxn = NULL;
        return s_mdb_err (err, "begin", rc);
    }
    self->pending = self->head;
    return 0;
}

void
ih_journal_abort (ih_journal_t *self)
{
    if (self->wtxn)
        mdb_txn_abort (self->wtxn);
    self->wtxn = NULL;
    self->pending = self->head;
}

int
ih_journal_index_get (ih_journal_t *self, const char *id, ih_jindex_t *x, ih_err_t *err)
{
    if (!self->wtxn)
        return ih_err_set (err, "journal: no write transaction");
    MDB_val k = { strlen (id), (void *) id }, v;
    int rc = ih_mdb_get (self->wtxn, self->ids, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return s_mdb_err (err, "get id", rc);
    ih_buf_reset (&x->buf_);
    ih_buf_append (&x->buf_, v.mv_data, v.mv_size);
    if (s_idx_parse (x, err))
        return -1;
    return 1;
}

//  Maps a failed put (an LMDB code) to ours: MDB_MAP_FULL/MDB_TXN_FULL abort the
//  transaction (IH_EMAPFULL); anything else is IH_EFAIL.
static int
s_put_failed (ih_journal_t *self, const char *what, int rc, ih_err_t *err)
{
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) {
        ih_journal_abort (self);
        ih_err_set (err, "journal: %s: %s", what, mdb_strerror (rc));
        return IH_EMAPFULL;
    }
    return s_write_err (self, err, what, rc);
}

int
ih_journal_append (ih_journal_t *self, const ih_jitem_t *it, uint64_t *seq, ih_err_t *err)
{
    if (!self->wtxn)
        return ih_err_set (err, "journal: no write transaction");
    if (ih_jitem_encode (it, &self->rec, err))
        return -1;
    uint64_t s = self->pending + 1;
    uint8_t hash [IH_HASH_LEN];
    ih_journal_hash (it->body, it->body_len, hash);

    //  The index first: it is where a broken rule (existing id) is caught
    ih_jindex_t old;
    ih_jindex_init (&old);
    int found = ih_journal_index_get (self, it->id, &old, err);
    if (found < 0) {
        ih_jindex_free (&old);
        return -1;
    }
    bool revision = it->kind == IH_KIND_ALERT && it->rev > 1;
    if (revision && !found) {
        ih_jindex_free (&old);
        return ih_err_set (err, "journal: revision %u of unknown alert %s", it->rev, it->id);
    }
    if (!revision && found) {
        ih_jindex_free (&old);
        return ih_err_set (err, "journal: id %s exists", it->id);
    }
    if (revision && (old.kind != IH_KIND_ALERT || it->rev <= old.latest_rev)) {
        ih_jindex_free (&old);
        return ih_err_set (err, "journal: revision %u of %s is not above %u", it->rev, it->id,
                           old.latest_rev);
    }
    s_idx_build (&self->idx, it, found ? &old : NULL, s, hash);
    ih_jindex_free (&old);

    MDB_val k = { strlen (it->id), (void *) it->id };
    MDB_val v = { self->idx.len, self->idx.data };
    int rc = mdb_put (self->wtxn, self->ids, &k, &v, 0);
    if (rc)
        return s_put_failed (self, "put id", rc, err);
    uint8_t key [8];
    ih_put_be64 (key, s);
    k = (MDB_val) { 8, key };
    v = (MDB_val) { self->rec.len, self->rec.data };
    rc = mdb_put (self->wtxn, self->items, &k, &v, MDB_APPEND);
    if (rc)
        return s_put_failed (self, "put item", rc, err);
    self->pending = s;
    if (seq)
        *seq = s;
    return 0;
}

const uint8_t *
ih_journal_record (ih_journal_t *self, size_t *len)
{
    *len = self->rec.len;
    return self->rec.data;
}

int
ih_journal_commit (ih_journal_t *self, ih_err_t *err)
{
    if (!self->wtxn)
        return ih_err_set (err, "journal: no write transaction");
    if (self->pending != self->head) {
        uint8_t h [8];
        ih_put_be64 (h, self->pending);
        MDB_val k = { 4, "head" }, v = { 8, h };
        int rc = mdb_put (self->wtxn, self->meta, &k, &v, 0);
        if (rc) {
            int r = s_put_failed (self, "put head", rc, err);
            ih_journal_abort (self);
            return r;
        }
    }
    int rc = mdb_txn_commit (self->wtxn);
    self->wtxn = NULL;
    if (rc) {
        self->pending = self->head;
        s_write_err (self, err, "commit", rc);
        return rc == MDB_MAP_FULL ? IH_EMAPFULL : IH_EFAIL;
    }
    self->head = self->pending;
    return 0;
}

int
ih_journal_grow (ih_journal_t *self, ih_err_t *err)
{
    if (self->wtxn)
        return ih_err_set (err, "journal: cannot grow the map inside a transaction");
    s_reader_close (self);          //  a reset read transaction counts as open
    uint64_t size = ih_journal_map_size (self);
    if (size == 0)
        return ih_err_set (err, "journal: cannot read the map size");
    int rc = mdb_env_set_mapsize (self->env, (size_t) (size * 2));
    if (rc)
        return s_mdb_err (err, "grow map", rc);
    return 0;
}

int
ih_journal_meta_put (ih_journal_t *self, const char *key, const void *val, size_t len, ih_err_t *err)
{
    if (!self->wtxn)
        return ih_err_set (err, "journal: no write transaction");
    size_t klen = strlen (key);
    if (klen == 0 || klen > 400 || strcmp (key, "head") == 0)
        return ih_err_set (err, "journal: meta key '%.40s' refused", key);
    MDB_val k = { klen, (void *) key }, v = { len, (void *) val };
    int rc = mdb_put (self->wtxn, self->meta, &k, &v, 0);
    return rc ? s_put_failed (self, "put meta", rc, err) : IH_OK;
}

int
ih_journal_meta_walk (ih_journal_t *self, const char *prefix, ih_journal_meta_fn *fn, void *arg,
                      ih_err_t *err)
{
    size_t plen = strlen (prefix);
    if (plen == 0)
        return ih_err_set (err, "journal: meta walk needs a prefix");
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize (self->env, 0);
        rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    }
    if (rc)
        return s_mdb_err (err, "read meta", rc);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open (txn, self->meta, &cur))) {
        mdb_txn_abort (txn);
        return s_mdb_err (err, "meta cursor", rc);
    }
    MDB_val k = { plen, (void *) prefix }, v;
    int ret = 0;
    for (rc = ih_mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE); rc == 0 && ret == 0;
         rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp (k.mv_data, prefix, plen) != 0)
            break;
        ret = fn ((const char *) k.mv_data, k.mv_size, (const uint8_t *) v.mv_data, v.mv_size, arg);
    }
    if (rc && rc != MDB_NOTFOUND && ret == 0)
        ret = s_mdb_err (err, "walk meta", rc);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return ret;
}

/* ---- reading ------------------------------------------------------------------------ */
int
ih_journal_scan_begin (ih_journal_t *self, uint64_t after, ih_err_t *err)
{
    if (self->scanning)
        ih_journal_scan_end (self);
    int rc;
    if (self->rtxn)
        rc = mdb_txn_renew (self->rtxn);
    else {
        rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->rtxn);
        if (rc == MDB_MAP_RESIZED) {
            mdb_env_set_mapsize (self->env, 0);
            rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &self->rtxn);
        }
        if (rc)
            self->rtxn = NULL;
    }
    if (rc) {
        s_reader_close (self);
        return s_mdb_err (err, "read", rc);
    }
    if (self->rcur)
        rc = mdb_cursor_renew (self->rtxn, self->rcur);
    else
        rc = mdb_cursor_open (self->rtxn, self->items, &self->rcur);
    if (rc) {
        s_reader_close (self);
        return s_mdb_err (err, "cursor", rc);
    }
    self->scanning = true;
    self->scan_first = false;
    self->scan_empty = true;
    if (after == UINT64_MAX)
        return 0;
    uint8_t key [8];
    ih_put_be64 (key, after + 1);
    MDB_val k = { 8, key }, v;
    rc = ih_mdb_cursor_get (self->rcur, &k, &v, MDB_SET_RANGE);
    if (rc && rc != MDB_NOTFOUND) {
        ih_journal_scan_end (self);
        return s_mdb_err (err, "seek", rc);
    }
    self->scan_first = rc == 0;
    self->scan_empty = rc == MDB_NOTFOUND;
    return 0;
}

int
ih_journal_scan_next (ih_journal_t *self, uint64_t *seq, const uint8_t **data, size_t *len,
                      ih_err_t *err)
{
    if (!self->scanning)
        return ih_err_set (err, "journal: no scan");
    if (self->scan_empty)
        return 0;
    MDB_val k, v;
    int rc = ih_mdb_cursor_get (self->rcur, &k, &v, self->scan_first ? MDB_GET_CURRENT : MDB_NEXT);
    self->scan_first = false;
    if (rc == MDB_NOTFOUND) {
        self->scan_empty = true;
        return 0;
    }
    if (rc)
        return s_mdb_err (err, "next", rc);
    if (k.mv_size != 8)
        return ih_err_set (err, "journal: corrupt key");
    *seq = ih_get_be64 (k.mv_data);
    *data = v.mv_data;
    *len = v.mv_size;
    return 1;
}

void
ih_journal_scan_end (ih_journal_t *self)
{
    if (self->scanning && self->rtxn)
        mdb_txn_reset (self->rtxn);
    self->scanning = false;
}

/* ---- the ids index, for a check --------------------------------------------------- */
int
ih_journal_ids_walk (ih_journal_t *self, ih_journal_ids_fn *fn, void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb_err (err, "read ids", rc);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open (txn, self->ids, &cur))) {
        mdb_txn_abort (txn);
        return s_mdb_err (err, "ids cursor", rc);
    }
    ih_jindex_t x;
    ih_jindex_init (&x);
    char id [IH_UUID_LEN + 1] = "";
    MDB_val k, v;
    int ret = 0;
    for (rc = ih_mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
         rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        snprintf (id, sizeof id, "%.*s", (int) (k.mv_size < IH_UUID_LEN ? k.mv_size : IH_UUID_LEN),
                  (const char *) k.mv_data);
        ih_buf_reset (&x.buf_);
        ih_buf_append (&x.buf_, v.mv_data, v.mv_size);
        ih_err_t why;
        if (k.mv_size != IH_UUID_LEN || s_idx_parse (&x, &why))
            ret = fn (id, NULL, k.mv_size != IH_UUID_LEN ? "the key is not an id" : why.msg, arg);
        else
            ret = fn (id, &x, NULL, arg);
    }
    if (rc && rc != MDB_NOTFOUND && ret == 0)
        ret = ih_err_set (err, "journal: ids: LMDB cannot read on after '%s': %s", id, mdb_strerror (rc));
    ih_jindex_free (&x);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return ret;
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"
static uint8_t s_sig [64], s_rec [120];

//  A journal item for tests: kind, id, rev, tlp; body of body_len bytes of `fill`.
static void
s_test_item (ih_jitem_t *it, ih_kind_t kind, const char *id, uint32_t rev, ih_tlp_t tlp,
             const uint8_t *body, size_t body_len)
{
    memset (it, 0, sizeof *it);
    it->kind = kind;
    snprintf (it->id, sizeof it->id, "%s", id);
    it->rev = rev;
    it->ent [0].tlp = tlp;
    it->ent [0].org = "bank-a";
    it->ent_count = 1;
    it->body = body;
    it->body_len = body_len;
    it->sig = s_sig;
    it->rec = s_rec;
    it->rec_len = sizeof s_rec;
    it->rec_sig = s_sig;
}

static void
s_test_id (char out [IH_UUID_LEN + 1], unsigned n)
{
    snprintf (out, IH_UUID_LEN + 1, "00000000-0000-4000-8000-%012u", n);
}

//  Scans from `after`, checks the seqs are after+1 .. head in order; returns the count.
static uint64_t
s_test_scan (ih_journal_t *j, uint64_t after)
{
    ih_err_t err;
    IH_CHECK (ih_journal_scan_begin (j, after, &err) == 0);
    uint64_t seq, expect = after + 1, n = 0;
    const uint8_t *data;
    size_t len;
    int rc;
    while ((rc = ih_journal_scan_next (j, &seq, &data, &len, &err)) == 1) {
        IH_CHECK (seq == expect);
        ih_jitem_t it;
        IH_CHECK (ih_jitem_decode (&it, data, len, &err) == 0);
        expect++;
        n++;
    }
    IH_CHECK (rc == 0);
    IH_CHECK (ih_journal_scan_next (j, &seq, &data, &len, &err) == 0);   //  stays at the end
    ih_journal_scan_end (j);
    return n;
}

void
ih_journal_test (bool verbose)
{
    char dir [] = "/tmp/ih-journal-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char path [256];
    snprintf (path, sizeof path, "%s/journal", dir);
    memset (s_rec, 'r', sizeof s_rec);
    ih_err_t err;

    //  A tiny map, to exercise growth
    ih_journal_t *j = ih_journal_open (path, 65536, &err);
    IH_CHECK (j);
    IH_CHECK (ih_journal_head (j) == 0);
    IH_CHECK (s_test_scan (j, 0) == 0);
    uint8_t body [4096];
    memset (body, 'b', sizeof body);

    //  An alert and a comment in one transaction
    char a [IH_UUID_LEN + 1], c [IH_UUID_LEN + 1];
    s_test_id (a, 1);
    s_test_id (c, 2);
    ih_jitem_t it;
    uint64_t seq;
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);       //  no transaction
    IH_CHECK (ih_journal_commit (j, &err) == -1);
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (ih_journal_begin (j, &err) == -1);                    //  already open
    s_test_item (&it, IH_KIND_ALERT, a, 1, IH_TLP_GREEN, body, 100);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 1);
    size_t rlen;
    const uint8_t *rdata = ih_journal_record (j, &rlen);
    ih_jitem_t rit;
    IH_CHECK (ih_jitem_decode (&rit, rdata, rlen, &err) == 0);
    IH_CHECK (strcmp (rit.id, a) == 0 && rit.body_len == 100);
    s_test_item (&it, IH_KIND_COMMENT, c, 0, IH_TLP_GREEN, body, 50);
    memcpy (it.ref, a, sizeof it.ref);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 2);
    //  the transaction sees its own writes
    ih_jindex_t x;
    ih_jindex_init (&x);
    IH_CHECK (ih_journal_index_get (j, c, &x, &err) == 1 && x.kind == IH_KIND_COMMENT);
    IH_CHECK (ih_journal_head (j) == 0);                            //  not committed yet
    IH_CHECK (s_test_scan (j, 0) == 0);                             //  readers do not see it
    IH_CHECK (ih_journal_commit (j, &err) == 0);
    IH_CHECK (ih_journal_head (j) == 2);
    IH_CHECK (s_test_scan (j, 0) == 2);

    //  The index: revisions, hashes, seqs
    IH_CHECK (ih_journal_index_get (j, a, &x, &err) == -1);         //  no transaction
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (ih_journal_index_get (j, a, &x, &err) == 1);
    IH_CHECK (x.kind == IH_KIND_ALERT && x.latest_rev == 1 && x.rev_count == 1);
    IH_CHECK (x.tlp == IH_TLP_GREEN && strcmp (x.org, "bank-a") == 0);
    uint8_t h [IH_HASH_LEN], h2 [IH_HASH_LEN];
    ih_journal_hash (body, 100, h);
    IH_CHECK (ih_jindex_rev (&x, 1, &seq, h2) && seq == 1 && memcmp (h, h2, IH_HASH_LEN) == 0);
    IH_CHECK (!ih_jindex_rev (&x, 2, NULL, NULL));
    char none [IH_UUID_LEN + 1];
    s_test_id (none, 99);
    IH_CHECK (ih_journal_index_get (j, none, &x, &err) == 0);

    //  Revision 2 narrows to RED with a recipient; the entry follows the latest revision
    const char *rc [] = { "telco" };
    s_test_item (&it, IH_KIND_ALERT, a, 2, IH_TLP_RED, body, 120);
    it.ent [0].recipients = (ih_strlist_t) { rc, 1, 0 };
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 3);
    IH_CHECK (ih_journal_index_get (j, a, &x, &err) == 1);
    IH_CHECK (x.latest_rev == 2 && x.rev_count == 2 && x.tlp == IH_TLP_RED);
    IH_CHECK (x.recipients.count == 1 && strcmp (x.recipients.items [0], "telco") == 0);
    IH_CHECK (ih_jindex_rev (&x, 1, &seq, NULL) && seq == 1);
    IH_CHECK (ih_jindex_rev (&x, 2, &seq, NULL) && seq == 3);
    //  broken rules are refused without changing anything
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  rev 2 again
    if (verbose)
        printf ("\n   %s\n", err.msg);
    s_test_item (&it, IH_KIND_ALERT, a, 1, IH_TLP_RED, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  rev 1 of an existing id
    s_test_item (&it, IH_KIND_SIGHTING, c, 0, IH_TLP_RED, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  id of the comment
    s_test_item (&it, IH_KIND_ALERT, none, 2, IH_TLP_RED, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  revision of nothing
    s_test_item (&it, IH_KIND_ALERT, c, 2, IH_TLP_RED, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  "revision" of a comment
    s_test_item (&it, IH_KIND_ALERT, none, 1, IH_TLP_RED, body, 10);
    it.ent_count = 0;
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == -1);        //  bad record
    IH_CHECK (ih_journal_commit (j, &err) == 0);
    IH_CHECK (ih_journal_head (j) == 3);

    //  An aborted transaction leaves nothing
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    s_test_item (&it, IH_KIND_ALERT, none, 1, IH_TLP_CLEAR, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 4);
    ih_journal_abort (j);
    IH_CHECK (ih_journal_head (j) == 3);
    IH_CHECK (s_test_scan (j, 0) == 3);
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (ih_journal_index_get (j, none, &x, &err) == 0);
    IH_CHECK (ih_journal_commit (j, &err) == 0);                    //  empty commit
    IH_CHECK (ih_journal_head (j) == 3);

    //  Fill the 64 KiB map: batches of 20 items of 4 KiB; on IH_EMAPFULL grow and
    //  redo the batch (what the broker does)
    uint64_t map0 = ih_journal_map_size (j);
    unsigned next_id = 1000, grown = 0;
    for (int batch = 0; batch < 10; batch++) {
        bool done = false;
        while (!done) {
            IH_CHECK (ih_journal_begin (j, &err) == 0);
            int r = 0;
            for (unsigned i = 0; i < 20 && r == 0; i++) {
                char id [IH_UUID_LEN + 1];
                s_test_id (id, next_id + i);
                s_test_item (&it, IH_KIND_ALERT, id, 1, IH_TLP_GREEN, body, sizeof body);
                r = ih_journal_append (j, &it, &seq, &err);
                IH_CHECK (r == 0 || r == IH_EMAPFULL);
            }
            if (r == 0)
                r = ih_journal_commit (j, &err);
            IH_CHECK (r == 0 || r == IH_EMAPFULL);
            if (r == IH_EMAPFULL) {
                IH_CHECK (ih_journal_head (j) == 3 + (uint64_t) batch * 20);
                IH_CHECK (ih_journal_grow (j, &err) == 0);
                grown++;
            }
            else
                done = true;
        }
        next_id += 20;
    }
    IH_CHECK (grown > 0);
    IH_CHECK (ih_journal_map_size (j) > map0);
    IH_CHECK (ih_journal_head (j) == 203);
    IH_CHECK (ih_journal_bytes (j) > 200 * 4096);
    if (verbose)
        printf ("   map %llu -> %llu after %u growths, %llu bytes used\n",
                (unsigned long long) map0, (unsigned long long) ih_journal_map_size (j), grown,
                (unsigned long long) ih_journal_bytes (j));

    //  Replay from every kind of cursor
    IH_CHECK (s_test_scan (j, 0) == 203);
    IH_CHECK (s_test_scan (j, 2) == 201);
    IH_CHECK (s_test_scan (j, 202) == 1);
    IH_CHECK (s_test_scan (j, 203) == 0);
    IH_CHECK (s_test_scan (j, 500) == 0);
    IH_CHECK (s_test_scan (j, UINT64_MAX) == 0);
    //  The records read back are what was written (seq 3 is revision 2, RED to telco)
    IH_CHECK (ih_journal_scan_begin (j, 2, &err) == 0);
    const uint8_t *data;
    size_t len;
    IH_CHECK (ih_journal_scan_next (j, &seq, &data, &len, &err) == 1 && seq == 3);
    ih_jitem_t back;
    IH_CHECK (ih_jitem_decode (&back, data, len, &err) == 0);
    IH_CHECK (back.kind == IH_KIND_ALERT && back.rev == 2 && strcmp (back.id, a) == 0);
    IH_CHECK (back.ent [0].tlp == IH_TLP_RED && back.body_len == 120);
    IH_CHECK (back.ent [0].recipients.count == 1);
    //  growing ends a scan; a scan during a write transaction sees the committed state
    ih_journal_scan_end (j);
    IH_CHECK (ih_journal_scan_next (j, &seq, &data, &len, &err) == -1);

    //  Reopen: the head and the index survive, numbering continues
    ih_journal_destroy (&j);
    ih_journal_destroy (&j);
    IH_CHECK (j == NULL);
    j = ih_journal_open (path, 65536, &err);
    IH_CHECK (j);
    IH_CHECK (ih_journal_head (j) == 203);
    IH_CHECK (ih_journal_map_size (j) > map0);      //  the file keeps its size
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (s_test_scan (j, 200) == 3);
    IH_CHECK (ih_journal_index_get (j, a, &x, &err) == 1 && x.latest_rev == 2);
    s_test_item (&it, IH_KIND_ALERT, a, 5, IH_TLP_AMBER, body, 30);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 204);
    IH_CHECK (ih_journal_commit (j, &err) == 0);
    ih_journal_destroy (&j);        //  (an open transaction would be aborted here)
    j = ih_journal_open (path, 65536, &err);
    IH_CHECK (j && ih_journal_head (j) == 204);
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (ih_journal_index_get (j, a, &x, &err) == 1);
    IH_CHECK (x.latest_rev == 5 && x.rev_count == 3 && x.tlp == IH_TLP_AMBER);
    s_test_item (&it, IH_KIND_ALERT, none, 1, IH_TLP_CLEAR, body, 10);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0 && seq == 205);
    ih_journal_destroy (&j);        //  uncommitted: lost
    j = ih_journal_open (path, 0, &err);
    IH_CHECK (j && ih_journal_head (j) == 204);
    ih_journal_destroy (&j);
    ih_jindex_free (&x);

    //  A journal that cannot be created
    IH_CHECK (ih_journal_open ("/proc/no-such-dir/journal", 65536, &err) == NULL);
    if (verbose)
        printf ("   %s\n", err.msg);

    ih_tk_rmtree (dir);
}
#endif
