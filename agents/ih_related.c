/*  ih_related.c: related alerts (ih_related.h).

    Read top to bottom: the environment, an alert's representation (terms with TF-IDF
    weights, signature, IOC and reference hashes) and its record, adding and removing
    index entries, catch-up, then the query.
*/
#include <czmq.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>

#include "ih_model_int.h"
#include "ih_related.h"

#define S_VERSION       2                   /* 2: MinHash by multiply-add (ih_minhash.c) */
#define S_MAP_SIZE      ((size_t) 8 << 30)  /* virtual: the file grows as it is written */
#define S_TERMS         128                 /* terms kept per alert, the heaviest */
#define S_CANDIDATES    300                 /* candidates scored per query */
#define S_PER_KEY       200                 /* entries read per band, IOC or term */
#define S_RARE_TERMS    8
#define S_REF_BIT       ((uint64_t) 1 << 63)

struct ih_related {
    MDB_env *env;
    MDB_dbi meta, ids, docs, bands, posts;
    bool writer;
    bool unsynced;              /* a writer that commits without fsync (s_boot_mark) */
    bool rebuilt;               /* the open found it written in an earlier boot, unsynced */
    char dir [4096];
};

static int
s_mdb (ih_err_t *err, int rc, const char *what)
{
    return ih_err_set (err, "related: %s: %s", what, mdb_strerror (rc));
}

/* ---- the environment ------------------------------------------------------------------------ */

/*  The writer commits without fsync (MDB_NOSYNC): the index is derived from the store, and
    ten agents' index fsyncs on one disk held up their stores' commits. A commit then
    survives the process (the kernel holds it), not the machine: an OS crash or a power
    cut may leave the file torn. So the writer records the boot it writes in
    (DIR/unsynced: the kernel's boot_id, synced before its first commit) and removes the
    record after a final sync when it closes. An open that finds the record of another
    boot: a writer deletes the files before it writes its own record, and starts the
    index again (the store holds everything to rebuild it from); a reader says "no index
    yet", so no reader ever maps a torn file, nor the deleted one (readers retry
    later). Without a boot id, the writer syncs every commit. */
static bool
s_boot_id (char out [64])
{
    FILE *f = fopen ("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return false;
    bool ok = fgets (out, 64, f) != NULL;
    fclose (f);
    if (ok)
        out [strcspn (out, "\n")] = 0;
    return ok && out [0];
}

/*  Whether DIR/unsynced names a boot other than this one (a torn index, maybe). */
static bool
s_boot_other (const char *dir, const char *boot)
{
    char path [4200], old [64] = "";
    snprintf (path, sizeof path, "%s/unsynced", dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    if (fgets (old, sizeof old, f))
        old [strcspn (old, "\n")] = 0;
    fclose (f);
    return strcmp (old, boot) != 0;
}

/*  The writer's side (above): the files of another boot go, then DIR/unsynced says this
    boot (written, synced, renamed, the directory synced), unless it says so already.
    Returns 0, or -1 when the record cannot be made (the index then syncs every commit;
    torn files that cannot be deleted: -2). */
static int
s_boot_mark (ih_related_t *self, const char *boot)
{
    char path [4200], tmp [4210];
    snprintf (path, sizeof path, "%s/unsynced", self->dir);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    if (s_boot_other (self->dir, boot)) {
        char db [4200];
        snprintf (db, sizeof db, "%s/data.mdb", self->dir);
        if (unlink (db) != 0 && errno != ENOENT)
            return -2;
        snprintf (db, sizeof db, "%s/lock.mdb", self->dir);
        unlink (db);
        self->rebuilt = true;
    }
    else
    if (access (path, F_OK) == 0)
        return 0;
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t n = strlen (boot);
    bool ok = write (fd, boot, n) == (ssize_t) n && write (fd, "\n", 1) == 1 && fsync (fd) == 0;
    ok = close (fd) == 0 && ok;
    ok = ok && rename (tmp, path) == 0;
    int dfd = ok ? open (self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    ok = ok && dfd >= 0 && fsync (dfd) == 0;
    if (dfd >= 0)
        close (dfd);
    if (!ok)
        unlink (tmp);
    return ok ? 0 : -1;
}

ih_related_t *
ih_related_open (const char *store_dir, bool writer, ih_err_t *err)
{
    ih_related_t *self = (ih_related_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->writer = writer;
    if (!ih_fmt (self->dir, sizeof self->dir, "%s/related", store_dir)) {
        free (self);
        ih_err_set (err, "related: path '%s' is too long", store_dir);
        return NULL;
    }
    char data [4200];
    snprintf (data, sizeof data, "%s/data.mdb", self->dir);
    if (!writer && access (data, F_OK) != 0) {
        ih_err_set (err, "related: no index yet (%s)", self->dir);
        free (self);
        return NULL;
    }
    if (writer && mkdir (self->dir, 0700) != 0 && errno != EEXIST) {
        ih_err_set (err, "related: cannot create %s: %s", self->dir, strerror (errno));
        free (self);
        return NULL;
    }
    char boot [64];
    if (s_boot_id (boot)) {
        int mrc = writer ? s_boot_mark (self, boot) : s_boot_other (self->dir, boot) ? -3 : 0;
        if (mrc == -2 || mrc == -3) {
            if (mrc == -2)
                ih_err_set (err, "related: cannot start %s again after a restart: %s", self->dir, strerror (errno));
            else
                ih_err_set (err, "related: no index yet (%s is being rebuilt after a restart)", self->dir);
            free (self);
            return NULL;
        }
        self->unsynced = writer && mrc == 0;
    }
    int rc = mdb_env_create (&self->env);
    if (rc == 0) {
        mdb_env_set_maxdbs (self->env, 8);
        mdb_env_set_maxreaders (self->env, 254);
        if (writer)
            mdb_env_set_mapsize (self->env, S_MAP_SIZE);
        //  Unsynced (above); else MDB_NOMETASYNC: a power cut that undoes its last commit
        //  only makes it index those alerts again (the watermark is in the same commit).
        unsigned sync = self->unsynced ? MDB_NOSYNC : MDB_NOMETASYNC;
        rc = mdb_env_open (self->env, self->dir, MDB_NOTLS | (writer ? sync : MDB_RDONLY), 0600);
    }
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = mdb_txn_begin (self->env, NULL, writer ? 0 : MDB_RDONLY, &txn);
    unsigned create = writer ? MDB_CREATE : 0;
    if (rc == 0)
        rc = mdb_dbi_open (txn, "meta", create, &self->meta);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "ids", create, &self->ids);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "docs", create, &self->docs);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "bands", create | MDB_DUPSORT | MDB_DUPFIXED, &self->bands);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "posts", create | MDB_DUPSORT | MDB_DUPFIXED, &self->posts);
    if (rc == 0 && writer) {
        MDB_val k = { 7, (void *) "version" }, v;
        uint8_t ver [4];
        ih_put_le32 (ver, S_VERSION);
        if (mdb_get (txn, self->meta, &k, &v) == MDB_NOTFOUND) {
            v = (MDB_val) { 4, ver };
            rc = mdb_put (txn, self->meta, &k, &v, 0);
        }
        else
        if (v.mv_size != 4 || ih_get_le32 ((const uint8_t *) v.mv_data) != S_VERSION) {
            //  Another version: start again (the store holds everything to rebuild from).
            mdb_drop (txn, self->ids, 0);
            mdb_drop (txn, self->docs, 0);
            mdb_drop (txn, self->bands, 0);
            mdb_drop (txn, self->posts, 0);
            mdb_drop (txn, self->meta, 0);
            v = (MDB_val) { 4, ver };
            rc = mdb_put (txn, self->meta, &k, &v, 0);
        }
    }
    if (rc == 0)
        rc = mdb_txn_commit (txn);       //  also read-only: it keeps the dbi handles
    else
    if (txn)
        mdb_txn_abort (txn);
    if (rc != 0) {
        s_mdb (err, rc, self->dir);
        ih_related_destroy (&self);
        return NULL;
    }
    return self;
}

void
ih_related_destroy (ih_related_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_related_t *self = *self_p;
    if (self->env) {
        //  A clean close leaves it synced: the record of the boot goes.
        if (self->unsynced && mdb_env_sync (self->env, 1) == 0) {
            char path [4200];
            snprintf (path, sizeof path, "%s/unsynced", self->dir);
            unlink (path);
        }
        mdb_env_close (self->env);
    }
    free (self);
    *self_p = NULL;
}

static uint64_t
s_meta_u64 (ih_related_t *self, MDB_txn *txn, const char *name)
{
    MDB_val k = { strlen (name), (void *) name }, v;
    if (mdb_get (txn, self->meta, &k, &v) != 0 || v.mv_size != 8)
        return 0;
    return ih_get_le64 ((const uint8_t *) v.mv_data);
}

static int
s_meta_put (ih_related_t *self, MDB_txn *txn, const char *name, uint64_t value)
{
    uint8_t b [8];
    ih_put_le64 (b, value);
    MDB_val k = { strlen (name), (void *) name }, v = { 8, b };
    return mdb_put (txn, self->meta, &k, &v, 0);
}

uint64_t
ih_related_watermark (ih_related_t *self)
{
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    uint64_t w = s_meta_u64 (self, txn, "watermark");
    mdb_txn_abort (txn);
    return w;
}

static uint64_t
s_count (ih_related_t *self, MDB_txn *txn)
{
    MDB_stat st;
    return mdb_stat (txn, self->docs, &st) == 0 ? st.ms_entries : 0;
}

uint64_t
ih_related_count (ih_related_t *self)
{
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    uint64_t n = s_count (self, txn);
    mdb_txn_abort (txn);
    return n;
}

/* ---- an alert's representation ----------------------------------------------------------- */

typedef struct {
    uint64_t h;
    float w;
} s_term_t;

typedef struct {
    ih_minhash_t sig;
    s_term_t terms [S_TERMS];
    size_t nterms;
    uint64_t *keys;             /* IOC hashes, then reference hashes (bit 63), sorted */
    size_t nkeys;
} s_repr_t;

typedef struct {
    uint64_t *h;
    size_t n, cap;
} s_hashes_t;

static void
s_push (s_hashes_t *s, uint64_t h)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 128;
        s->h = (uint64_t *) realloc (s->h, s->cap * sizeof *s->h);
        if (!s->h)
            abort ();
    }
    s->h [s->n++] = h;
}

static int
s_on_term (const char *term, size_t len, void *arg)
{
    s_push ((s_hashes_t *) arg, ih_text_hash (term, len));
    return 0;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static int
s_cmp_weight (const void *a, const void *b)
{
    float x = ((const s_term_t *) a)->w, y = ((const s_term_t *) b)->w;
    return x > y ? -1 : x < y;
}

static int
s_cmp_term_h (const void *a, const void *b)
{
    return s_cmp_u64 (&((const s_term_t *) a)->h, &((const s_term_t *) b)->h);
}

/*  How many indexed alerts have key (a term's document frequency). */
static size_t
s_df (ih_related_t *self, MDB_cursor *cur, uint64_t h)
{
    uint8_t kb [8];
    ih_put_be64 (kb, h);
    MDB_val k = { 8, kb }, v;
    size_t n = 0;
    if (mdb_cursor_get (cur, &k, &v, MDB_SET) == 0)
        mdb_cursor_count (cur, &n);
    return (size_t) n;
}

static uint64_t
s_ioc_hash (ih_ioc_type_t t, const char *value)
{
    char buf [IH_MAX_IOC_VALUE + 32];
    int n = snprintf (buf, sizeof buf, "i%s:%s", ih_ioc_type_name (t), value);
    return ih_text_hash (buf, (size_t) n) & ~S_REF_BIT;
}

static uint64_t
s_ref_hash (const char *url)
{
    char buf [IH_MAX_REF + 8];
    int n = snprintf (buf, sizeof buf, "r%s", url);
    return ih_text_hash (buf, (size_t) n) | S_REF_BIT;
}

/*  The representation of a text (weights by the index's document frequencies, read in
    txn), its IOCs and references. */
static void
s_repr (ih_related_t *self, MDB_txn *txn, ih_text_t *t, const ih_related_query_t *q, s_repr_t *r)
{
    memset (r, 0, sizeof *r);
    ih_minhash_text (&r->sig, t, q->text, q->len);
    s_hashes_t hs = { NULL, 0, 0 };
    ih_text_terms (t, q->text, q->len, s_on_term, &hs);
    if (hs.n)
        qsort (hs.h, hs.n, sizeof *hs.h, s_cmp_u64);
    MDB_cursor *cur = NULL;
    mdb_cursor_open (txn, self->posts, &cur);
    double docs = (double) s_count (self, txn);
    s_term_t *all = (s_term_t *) malloc ((hs.n + 1) * sizeof *all);
    if (!all)
        abort ();
    size_t nall = 0;
    for (size_t i = 0; i < hs.n; ) {
        size_t j = i;
        while (j < hs.n && hs.h [j] == hs.h [i])
            j++;
        double idf = log ((1.0 + docs) / (1.0 + (double) (cur ? s_df (self, cur, hs.h [i]) : 0))) + 1.0;
        all [nall++] = (s_term_t) { hs.h [i], (float) ((1 + log ((double) (j - i))) * idf) };
        i = j;
    }
    if (cur)
        mdb_cursor_close (cur);
    free (hs.h);
    qsort (all, nall, sizeof *all, s_cmp_weight);
    r->nterms = nall < S_TERMS ? nall : S_TERMS;
    double norm = 0;
    for (size_t i = 0; i < r->nterms; i++) {
        r->terms [i] = all [i];
        norm += (double) all [i].w * all [i].w;
    }
    free (all);
    norm = norm > 0 ? sqrt (norm) : 1;
    for (size_t i = 0; i < r->nterms; i++)
        r->terms [i].w = (float) (r->terms [i].w / norm);
    qsort (r->terms, r->nterms, sizeof r->terms [0], s_cmp_term_h);
    r->keys = (uint64_t *) malloc ((q->niocs + q->nrefs + 1) * sizeof *r->keys);
    if (!r->keys)
        abort ();
    for (size_t i = 0; i < q->niocs; i++)
        r->keys [r->nkeys++] = s_ioc_hash (q->iocs [i].type, q->iocs [i].value);
    for (size_t i = 0; i < q->nrefs; i++)
        r->keys [r->nkeys++] = s_ref_hash (q->refs [i]);
    qsort (r->keys, r->nkeys, sizeof *r->keys, s_cmp_u64);
    size_t u = 0;           //  distinct
    for (size_t i = 0; i < r->nkeys; i++)
        if (u == 0 || r->keys [u - 1] != r->keys [i])
            r->keys [u++] = r->keys [i];
    r->nkeys = u;
}

/* ---- records --------------------------------------------------------------------------------- */

static void
s_encode (const char *id, uint64_t seq, const char *title, const s_repr_t *r, ih_buf_t *b)
{
    size_t tl = strlen (title);
    tl = tl > IH_MAX_TITLE ? IH_MAX_TITLE : tl;
    uint8_t head [4 + IH_UUID_LEN + 8];
    head [0] = 1;
    head [1] = 0;
    ih_put_le16 (head + 2, (uint16_t) tl);
    memcpy (head + 4, id, IH_UUID_LEN);
    ih_put_le64 (head + 4 + IH_UUID_LEN, seq);
    ih_buf_append (b, head, sizeof head);
    ih_buf_append (b, title, tl);
    uint8_t w [12];
    for (int i = 0; i < IH_MINHASH_PERM; i++) {
        ih_put_le32 (w, r->sig.h [i]);
        ih_buf_append (b, w, 4);
    }
    ih_put_le32 (w, r->sig.shingles);
    ih_put_le16 (w + 4, (uint16_t) r->nterms);
    ih_buf_append (b, w, 6);
    for (size_t i = 0; i < r->nterms; i++) {
        ih_put_le64 (w, r->terms [i].h);
        uint32_t f;
        memcpy (&f, &r->terms [i].w, 4);
        ih_put_le32 (w + 8, f);
        ih_buf_append (b, w, 12);
    }
    ih_put_le16 (w, (uint16_t) (r->nkeys > 65535 ? 65535 : r->nkeys));
    ih_buf_append (b, w, 2);
    for (size_t i = 0; i < r->nkeys && i < 65535; i++) {
        ih_put_le64 (w, r->keys [i]);
        ih_buf_append (b, w, 8);
    }
}

/*  Decodes a record (borrowed bytes) into r (keys malloc'd), id and title. Returns 0 or
    -1 when it is malformed. */
static int
s_decode (const uint8_t *p, size_t n, s_repr_t *r, char *id, char *title, uint64_t *seq)
{
    memset (r, 0, sizeof *r);
    size_t fixed = 4 + IH_UUID_LEN + 8;
    if (n < fixed || p [0] != 1)
        return -1;
    size_t tl = ih_get_le16 (p + 2);
    size_t need = fixed + tl + 4 * IH_MINHASH_PERM + 6;
    if (tl > IH_MAX_TITLE || n < need)
        return -1;
    if (id) {
        memcpy (id, p + 4, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
    }
    if (seq)
        *seq = ih_get_le64 (p + 4 + IH_UUID_LEN);
    if (title) {
        memcpy (title, p + fixed, tl);
        title [tl] = 0;
    }
    const uint8_t *q = p + fixed + tl;
    for (int i = 0; i < IH_MINHASH_PERM; i++)
        r->sig.h [i] = ih_get_le32 (q + 4 * i);
    q += 4 * IH_MINHASH_PERM;
    r->sig.shingles = ih_get_le32 (q);
    r->nterms = ih_get_le16 (q + 4);
    q += 6;
    if (r->nterms > S_TERMS || (size_t) (p + n - q) < r->nterms * 12 + 2)
        return -1;
    for (size_t i = 0; i < r->nterms; i++) {
        r->terms [i].h = ih_get_le64 (q);
        uint32_t f = ih_get_le32 (q + 8);
        memcpy (&r->terms [i].w, &f, 4);
        q += 12;
    }
    r->nkeys = ih_get_le16 (q);
    q += 2;
    if ((size_t) (p + n - q) != r->nkeys * 8)
        return -1;
    r->keys = (uint64_t *) malloc ((r->nkeys + 1) * sizeof *r->keys);
    if (!r->keys)
        abort ();
    for (size_t i = 0; i < r->nkeys; i++)
        r->keys [i] = ih_get_le64 (q + 8 * i);
    return 0;
}

/* ---- index entries ----------------------------------------------------------------------- */

static int
s_dup_put (MDB_txn *txn, MDB_dbi dbi, uint64_t key, uint32_t no, bool del)
{
    uint8_t kb [8], vb [4];
    ih_put_be64 (kb, key);
    vb [0] = (uint8_t) (no >> 24);
    vb [1] = (uint8_t) (no >> 16);
    vb [2] = (uint8_t) (no >> 8);
    vb [3] = (uint8_t) no;
    MDB_val k = { 8, kb }, v = { 4, vb };
    if (del) {
        int rc = mdb_del (txn, dbi, &k, &v);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_put (txn, dbi, &k, &v, 0);
}

/*  Adds (or with del removes) the band and posting entries of record r as number no. */
static int
s_entries (ih_related_t *self, MDB_txn *txn, const s_repr_t *r, uint32_t no, bool del)
{
    int rc = 0;
    for (int b = 0; b < IH_MINHASH_BANDS && rc == 0 && r->sig.shingles; b++)
        rc = s_dup_put (txn, self->bands, ih_minhash_band (&r->sig, b), no, del);
    for (size_t i = 0; i < r->nterms && rc == 0; i++)
        rc = s_dup_put (txn, self->posts, r->terms [i].h, no, del);
    for (size_t i = 0; i < r->nkeys && rc == 0; i++)
        rc = s_dup_put (txn, self->posts, r->keys [i], no, del);
    return rc;
}

static void
s_no_key (uint32_t no, uint8_t out [4])
{
    out [0] = (uint8_t) (no >> 24);
    out [1] = (uint8_t) (no >> 16);
    out [2] = (uint8_t) (no >> 8);
    out [3] = (uint8_t) no;
}

/*  Removes alert id from the index (nothing when it is not there). */
static int
s_remove (ih_related_t *self, MDB_txn *txn, const char *id)
{
    MDB_val k = { IH_UUID_LEN, (void *) id }, v;
    int rc = mdb_get (txn, self->ids, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0 || v.mv_size != 4)
        return rc ? rc : MDB_CORRUPTED;
    uint8_t nk [4];
    memcpy (nk, v.mv_data, 4);
    uint32_t no = ((uint32_t) nk [0] << 24) | ((uint32_t) nk [1] << 16) | ((uint32_t) nk [2] << 8) | nk [3];
    MDB_val dk = { 4, nk }, dv;
    if (mdb_get (txn, self->docs, &dk, &dv) == 0) {
        s_repr_t r;
        if (s_decode ((const uint8_t *) dv.mv_data, dv.mv_size, &r, NULL, NULL, NULL) == 0) {
            rc = s_entries (self, txn, &r, no, true);
            free (r.keys);
            if (rc)
                return rc;
        }
        if ((rc = mdb_del (txn, self->docs, &dk, NULL)) != 0)
            return rc;
    }
    return mdb_del (txn, self->ids, &k, NULL);
}

typedef struct {
    ih_related_t *self;
    MDB_txn *txn;
    ih_text_t *t;
    ih_buf_t rec;
    size_t max, done;
    int64_t until;              /* zclock_usecs deadline, or 0 */
    uint64_t last_seq;
    int rc;
} s_catch_t;

/*  Up to S_READ alerts are copied out of one short read of the store, then indexed
    outside it: the indexer runs at low priority, and a read of the store that it held
    while it waited for the CPU kept the store's writer from reusing pages (the store
    grew to twice its size under load). */
#define S_READ  32

typedef struct {
    ih_msg_t m [S_READ];
    uint64_t seq [S_READ];
    bool retracted [S_READ];
    size_t n, max;
} s_read_t;

static int
s_copy_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_read_t *r = (s_read_t *) arg;
    if (r->n >= r->max)
        return 1;
    ih_msg_copy (&r->m [r->n], m);
    r->seq [r->n] = info->seq;
    r->retracted [r->n] = info->retracted;
    r->n++;
    return 0;
}

static int
s_index_one (s_catch_t *c, const ih_msg_t *m, uint64_t seq, bool retracted)
{
    c->rc = s_remove (c->self, c->txn, m->id);
    if (c->rc == 0 && !retracted) {
        uint32_t no = (uint32_t) s_meta_u64 (c->self, c->txn, "next");
        c->rc = s_meta_put (c->self, c->txn, "next", (uint64_t) no + 1);
        ih_buf_t text;
        ih_buf_init (&text);
        ih_buf_printf (&text, "%s\n%s", m->title, m->summary);
        const char **refs = m->references.items;
        ih_related_query_t q = { (const char *) text.data, text.len, m->iocs, m->ioc_count,
                                 (const char *const *) refs, m->references.count };
        s_repr_t r;
        s_repr (c->self, c->txn, c->t, &q, &r);
        ih_buf_free (&text);
        ih_buf_reset (&c->rec);
        s_encode (m->id, seq, m->title, &r, &c->rec);
        uint8_t nk [4];
        s_no_key (no, nk);
        MDB_val ik = { IH_UUID_LEN, (void *) m->id }, iv = { 4, nk };
        MDB_val dk = { 4, nk }, dv = { c->rec.len, c->rec.data };
        if (c->rc == 0)
            c->rc = mdb_put (c->txn, c->self->ids, &ik, &iv, 0);
        if (c->rc == 0)
            c->rc = mdb_put (c->txn, c->self->docs, &dk, &dv, 0);
        if (c->rc == 0)
            c->rc = s_entries (c->self, c->txn, &r, no, false);
        free (r.keys);
    }
    c->last_seq = seq;
    c->done++;
    return c->rc;
}

int
ih_related_catch_up (ih_related_t *self, ih_store_t *store, size_t max, ih_err_t *err)
{
    return ih_related_step (self, store, max, 0, err);
}

bool
ih_related_rebuilt (const ih_related_t *self)
{
    return self->rebuilt;
}

/*  The transaction of a step or an add: begun, or -1 with err. */
static int
s_begin (ih_related_t *self, s_catch_t *c, size_t max, int max_ms, uint64_t *after, ih_err_t *err)
{
    if (!self->writer)
        return ih_err_set (err, "related: catch-up needs the writer");
    memset (c, 0, sizeof *c);
    c->self = self;
    c->max = max;
    c->until = max_ms > 0 ? zclock_usecs () + (int64_t) max_ms * 1000 : 0;
    int rc = mdb_txn_begin (self->env, NULL, 0, &c->txn);
    if (rc != 0)
        return s_mdb (err, rc, "cannot begin");
    c->t = ih_text_new ();
    if (!c->t)
        abort ();
    ih_buf_init (&c->rec);
    *after = s_meta_u64 (self, c->txn, "watermark");
    c->last_seq = *after;
    return 0;
}

/*  Commits (the watermark moved to the last seq indexed) or aborts. Returns how many
    alerts were indexed, or -1 with err (a failed read of the store: read_err). */
static int
s_end (ih_related_t *self, s_catch_t *c, uint64_t after, const ih_err_t *read_err, ih_err_t *err)
{
    int ret;
    if (read_err) {
        mdb_txn_abort (c->txn);
        ret = ih_err_set (err, "related: %s", read_err->msg);
    }
    else
    if (c->rc != 0) {
        mdb_txn_abort (c->txn);
        ret = s_mdb (err, c->rc, "cannot index");
    }
    else {
        //  A failed mdb_txn_commit has ended the transaction already (an abort after it
        //  frees it twice: the next write transaction crashed in liblmdb on a full disk):
        //  only a failed put leaves it to abort.
        int rc = c->last_seq > after ? s_meta_put (self, c->txn, "watermark", c->last_seq) : 0;
        if (rc)
            mdb_txn_abort (c->txn);
        else
            rc = mdb_txn_commit (c->txn);
        ret = rc ? s_mdb (err, rc, "cannot commit") : (int) c->done;
    }
    ih_text_destroy (&c->t);
    ih_buf_free (&c->rec);
    return ret;
}

int
ih_related_step (ih_related_t *self, ih_store_t *store, size_t max, int max_ms, ih_err_t *err)
{
    s_catch_t c;
    uint64_t after;
    if (s_begin (self, &c, max, max_ms, &after, err) != 0)
        return -1;
    ih_err_t serr;
    int frc = 0;
    s_read_t *rd = (s_read_t *) calloc (1, sizeof *rd);
    if (!rd)
        abort ();
    while (c.rc == 0 && (!max || c.done < max) && !(c.until && c.done && zclock_usecs () >= c.until)) {
        rd->n = 0;
        rd->max = max && max - c.done < S_READ ? max - c.done : S_READ;
        frc = ih_store_foreach (store, c.last_seq, false, s_copy_one, rd, &serr);
        for (size_t i = 0; i < rd->n; i++) {
            if (c.rc == 0 && frc >= 0)
                s_index_one (&c, &rd->m [i], rd->seq [i], rd->retracted [i]);
            ih_msg_free (&rd->m [i]);
        }
        if (frc < 0 || rd->n < rd->max)
            break;      //  a failure, or the end of the store
    }
    free (rd);
    return s_end (self, &c, after, frc < 0 ? &serr : NULL, err);
}

int
ih_related_add (ih_related_t *self, const ih_related_doc_t *docs, size_t n, ih_err_t *err)
{
    s_catch_t c;
    uint64_t after;
    if (s_begin (self, &c, 0, 0, &after, err) != 0)
        return -1;
    for (size_t i = 0; i < n && c.rc == 0; i++)
        if (docs [i].seq > c.last_seq)     //  (older: indexed already)
            s_index_one (&c, docs [i].msg, docs [i].seq, docs [i].retracted);
    return s_end (self, &c, after, NULL, err);
}

/* ---- queries ----------------------------------------------------------------------------- */

/*  Reads up to S_PER_KEY document numbers listed under key in dbi into the candidate
    map, each adding votes. */
static void
s_collect (MDB_txn *txn, MDB_dbi dbi, uint64_t key, uint32_t votes, ih_u64map_t *cand)
{
    MDB_cursor *cur;
    if (mdb_cursor_open (txn, dbi, &cur) != 0)
        return;
    uint8_t kb [8];
    ih_put_be64 (kb, key);
    MDB_val k = { 8, kb }, v;
    int n = 0;
    for (int rc = mdb_cursor_get (cur, &k, &v, MDB_SET); rc == 0 && n < S_PER_KEY;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT_DUP), n++) {
        const uint8_t *p = (const uint8_t *) v.mv_data;
        uint32_t no = ((uint32_t) p [0] << 24) | ((uint32_t) p [1] << 16) | ((uint32_t) p [2] << 8) | p [3];
        *ih_u64map_put (cand, (uint64_t) no + 1, 0) += votes;
    }
    mdb_cursor_close (cur);
}

typedef struct {
    uint64_t no;
    uint32_t votes;
} s_cand_t;

static int
s_cmp_votes (const void *a, const void *b)
{
    const s_cand_t *x = (const s_cand_t *) a, *y = (const s_cand_t *) b;
    if (x->votes != y->votes)
        return x->votes > y->votes ? -1 : 1;
    return x->no < y->no ? -1 : x->no > y->no;
}

static int
s_cmp_hits (const void *a, const void *b)
{
    double x = ((const ih_related_hit_t *) a)->score, y = ((const ih_related_hit_t *) b)->score;
    return x > y ? -1 : x < y;
}

/*  The hits for representation q (self_no + 1 is left out; 0: nothing left out). */
static int
s_search (ih_related_t *self, MDB_txn *txn, const s_repr_t *q, uint64_t self_no, ih_related_hit_t *out, size_t max)
{
    if (max > IH_RELATED_MAX)
        max = IH_RELATED_MAX;
    ih_u64map_t cand;
    ih_u64map_init (&cand, 1024);
    for (int b = 0; b < IH_MINHASH_BANDS && q->sig.shingles; b++)
        s_collect (txn, self->bands, ih_minhash_band (&q->sig, b), 4, &cand);
    for (size_t i = 0; i < q->nkeys; i++)
        s_collect (txn, self->posts, q->keys [i], 3, &cand);
    //  The rarest terms (at most 1 % of the alerts, or 50) bring their alerts too.
    uint64_t docs = s_count (self, txn);
    size_t rare_max = docs / 100 > 50 ? docs / 100 : 50;
    MDB_cursor *cur = NULL;
    if (mdb_cursor_open (txn, self->posts, &cur) == 0) {
        s_term_t rare [S_TERMS];
        size_t nrare = 0;
        for (size_t i = 0; i < q->nterms; i++) {
            size_t df = s_df (self, cur, q->terms [i].h);
            if (df >= 1 && df <= rare_max)
                rare [nrare++] = (s_term_t) { q->terms [i].h, (float) df };
        }
        mdb_cursor_close (cur);
        qsort (rare, nrare, sizeof *rare, s_cmp_weight);      //  by df, descending …
        for (size_t i = nrare > S_RARE_TERMS ? nrare - S_RARE_TERMS : 0; i < nrare; i++)
            s_collect (txn, self->posts, rare [i].h, 1, &cand);    //  … so the rarest are last
    }
    s_cand_t *cs = (s_cand_t *) malloc ((cand.n + 1) * sizeof *cs);
    if (!cs)
        abort ();
    size_t nc = 0;
    for (size_t i = 0; i < cand.cap; i++)
        if (cand.keys [i] && cand.keys [i] != self_no)
            cs [nc++] = (s_cand_t) { cand.keys [i] - 1, cand.vals [i] };
    ih_u64map_free (&cand);
    qsort (cs, nc, sizeof *cs, s_cmp_votes);
    if (nc > S_CANDIDATES)
        nc = S_CANDIDATES;
    ih_related_hit_t *hits = (ih_related_hit_t *) calloc (nc + 1, sizeof *hits);
    if (!hits)
        abort ();
    size_t nh = 0;
    for (size_t c = 0; c < nc; c++) {
        uint8_t nk [4];
        s_no_key ((uint32_t) cs [c].no, nk);
        MDB_val dk = { 4, nk }, dv;
        s_repr_t d;
        ih_related_hit_t *h = &hits [nh];
        uint64_t seq;
        if (mdb_get (txn, self->docs, &dk, &dv) != 0
        ||  s_decode ((const uint8_t *) dv.mv_data, dv.mv_size, &d, h->id, h->title, &seq) != 0)
            continue;
        double cosine = 0;
        for (size_t i = 0, j = 0; i < q->nterms && j < d.nterms; ) {
            if (q->terms [i].h == d.terms [j].h)
                cosine += (double) q->terms [i++].w * d.terms [j++].w;
            else
            if (q->terms [i].h < d.terms [j].h)
                i++;
            else
                j++;
        }
        uint32_t iocs = 0;
        bool ref = false;
        for (size_t i = 0, j = 0; i < q->nkeys && j < d.nkeys; ) {
            if (q->keys [i] == d.keys [j]) {
                if (q->keys [i] & S_REF_BIT)
                    ref = true;
                else
                    iocs++;
                i++;
                j++;
            }
            else
            if (q->keys [i] < d.keys [j])
                i++;
            else
                j++;
        }
        free (d.keys);
        double jac = ih_minhash_jaccard (&q->sig, &d.sig);
        cosine = cosine > 1 ? 1 : cosine;
        double score = 1 - (1 - cosine) * pow (0.6, iocs) * (ref ? 0.5 : 1.0);
        h->score = score > jac ? score : jac;
        h->cosine = cosine;
        h->jaccard = jac;
        h->shared_iocs = iocs;
        h->shared_reference = ref;
        h->near_duplicate = jac >= IH_MINHASH_NEAR_DUP;
        if (h->score >= 0.05)
            nh++;
    }
    free (cs);
    qsort (hits, nh, sizeof *hits, s_cmp_hits);
    size_t n = nh < max ? nh : max;
    memcpy (out, hits, n * sizeof *out);
    free (hits);
    return (int) n;
}

int
ih_related_query (ih_related_t *self, const ih_related_query_t *q, ih_related_hit_t *out, size_t max, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize (self->env, 0) == 0)
        rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_mdb (err, rc, "cannot read");
    ih_text_t *t = ih_text_new ();
    if (!t)
        abort ();
    s_repr_t r;
    s_repr (self, txn, t, q, &r);
    int n = s_search (self, txn, &r, 0, out, max);
    free (r.keys);
    ih_text_destroy (&t);
    mdb_txn_abort (txn);
    return n;
}

int
ih_related_for_alert (ih_related_t *self, const char *id, ih_related_hit_t *out, size_t max, ih_err_t *err)
{
    if (strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize (self->env, 0) == 0)
        rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_mdb (err, rc, "cannot read");
    MDB_val k = { IH_UUID_LEN, (void *) id }, v, dv;
    int n = 0;
    if (mdb_get (txn, self->ids, &k, &v) == 0 && v.mv_size == 4
    &&  mdb_get (txn, self->docs, &v, &dv) == 0) {
        const uint8_t *p = (const uint8_t *) v.mv_data;
        uint32_t no = ((uint32_t) p [0] << 24) | ((uint32_t) p [1] << 16) | ((uint32_t) p [2] << 8) | p [3];
        s_repr_t r;
        if (s_decode ((const uint8_t *) dv.mv_data, dv.mv_size, &r, NULL, NULL, NULL) == 0) {
            n = s_search (self, txn, &r, (uint64_t) no + 1, out, max);
            free (r.keys);
        }
    }
    mdb_txn_abort (txn);
    return n;
}
