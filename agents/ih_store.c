/*  ih_store.c: the member agent's LMDB store. The schema is documented in ih_store.h.

    Read top to bottom: helpers, index keys, environment (open, grow, reopen),
    alert records, the ingest transaction per kind, reading, search, self-test.

    Every LMDB call's return code flows back as an int: 0, an LMDB code (MDB_*), an
    errno value (ENOSPC …), or s_EBAD when err already says what went wrong. Only the
    public entry points turn codes into messages.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ih_store.h"
#include "ih_codec.h"
#include "ih_index.h"
#include "ih_ioc.h"
#include "ih_sign.h"

#define s_FORMAT        1
#define s_EBAD          (-40000)
#define s_DEFAULT_MAP   (64ULL << 20)
#define s_ARHDR         112         /* alert record header incl. sig */
#define s_LOG_LEN       80
#define s_NCOUNTS       8

enum { s_META, s_ALERTS, s_BYSEQ, s_LOG, s_REFS, s_COMMENTS, s_RETRACTIONS, s_SIGHTINGS,
       s_MEMBERS, s_IOCS, s_NDBS };

static const char *s_db_names [s_NDBS] = {
    "meta", "alerts", "byseq", "log", "refs", "comments", "retractions", "sightings",
    "members", "iocs"
};

/*  Counters as kept in meta "counts", in this order. */
typedef struct {
    uint64_t alerts, retracted, iocs, comments, retractions, sightings, messages, rejected;
} s_counts_t;

struct ih_store {
    char *dir;
    bool writer;
    bool shared;                /* ih_store_share: the environment is borrowed */
    int lock_fd;
    uint64_t max_map;
    MDB_env *env;
    MDB_dbi dbi [s_NDBS];

    /* write transaction state */
    MDB_txn *txn;
    uint64_t cursor;
    s_counts_t counts;
    uint32_t plen [IH_INDEX_PLEN_N];
    ih_msg_t scratch;           /* an old revision, a stored retraction */
    ih_buf_t rbuf;              /* record being built */
    ih_buf_t rset;              /* retracted-IOC set being built / last read */
    ih_buf_t body;              /* a copy of a body read from the map */
    ih_err_t why;               /* the reason behind s_EBAD */
    ih_index_t ix;              /* the IOC index inside txn */
};

/* ---- helpers ------------------------------------------------------------------------------ */

static MDB_val
s_val (const void *data, size_t len)
{
    MDB_val v = { len, (void *) data };
    return v;
}

/* ---- environment ------------------------------------------------------------------------- */

static int
s_errcode (int rc, const char *what, ih_err_t *err)
{
    if (rc == s_EBAD)
        return -1;
    return ih_err_set (err, "store: %s: %s", what, mdb_strerror (rc));
}

static bool
s_is_nospace (int rc)
{
    return rc == ENOSPC || rc == EDQUOT || rc == EFBIG;
}

/*  LMDB reports a short write (a disk that filled up during the write) as EIO. It is a
    full disk when the filesystem has (almost) no room left: less than 4 MiB or 1 % of
    it. *avail receives the bytes available to us. */
static bool
s_eio_is_full (ih_store_t *self, uint64_t *avail)
{
    struct statvfs sv;
    *avail = 0;
    if (statvfs (self->dir, &sv) != 0)
        return false;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    *avail = (uint64_t) sv.f_bavail * unit;
    uint64_t total = (uint64_t) sv.f_blocks * unit;
    return *avail < (4ULL << 20) || *avail < total / 100;
}

static int
s_txn_begin (ih_store_t *self, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin (self->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        //  The writer grew the map: adopt its size and try again.
        mdb_env_set_mapsize (self->env, 0);
        rc = mdb_txn_begin (self->env, NULL, flags, txn);
    }
    return rc;
}

static int
s_env_open (ih_store_t *self, uint64_t map_size, ih_err_t *err)
{
    int rc = mdb_env_create (&self->env);
    if (rc)
        return s_errcode (rc, "cannot create environment", err);
    mdb_env_set_maxdbs (self->env, s_NDBS + 2);
    mdb_env_set_maxreaders (self->env, 254);
    if (self->writer)
        mdb_env_set_mapsize (self->env, (size_t) map_size);
    unsigned flags = MDB_NOTLS | (self->writer ? 0 : MDB_RDONLY);
    rc = mdb_env_open (self->env, self->dir, flags, 0600);
    if (rc) {
        mdb_env_close (self->env);
        self->env = NULL;
        return ih_err_set (err, "store %s: cannot open: %s", self->dir, mdb_strerror (rc));
    }
    MDB_txn *txn;
    rc = s_txn_begin (self, self->writer ? 0 : MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot begin transaction", err);
    for (int i = 0; i < s_NDBS; i++) {
        unsigned f = (self->writer ? MDB_CREATE : 0)
                   | (i == s_IOCS ? MDB_DUPSORT | MDB_DUPFIXED : 0);
        rc = mdb_dbi_open (txn, s_db_names [i], f, &self->dbi [i]);
        if (rc) {
            mdb_txn_abort (txn);
            if (rc == MDB_NOTFOUND)
                return ih_err_set (err, "store %s: not created yet", self->dir);
            return ih_err_set (err, "store %s: database %s: %s", self->dir, s_db_names [i],
                               mdb_strerror (rc));
        }
    }
    MDB_val k = s_val ("version", 7), v;
    rc = mdb_get (txn, self->dbi [s_META], &k, &v);
    if (rc == MDB_NOTFOUND && self->writer) {
        uint8_t ver [4];
        ih_put_le32 (ver, s_FORMAT);
        v = s_val (ver, 4);
        rc = mdb_put (txn, self->dbi [s_META], &k, &v, 0);
    }
    else
    if (rc == 0 && (v.mv_size != 4 || ih_get_le32 (v.mv_data) != s_FORMAT)) {
        mdb_txn_abort (txn);
        return ih_err_set (err, "store %s: format %u is not supported (want %d)", self->dir,
                           v.mv_size == 4 ? ih_get_le32 (v.mv_data) : 0, s_FORMAT);
    }
    else
    if (rc == MDB_NOTFOUND)
        rc = 0;                 //  a reader racing the writer's first transaction
    if (rc) {
        mdb_txn_abort (txn);
        return s_errcode (rc, "cannot initialise", err);
    }
    rc = mdb_txn_commit (txn);
    if (rc)
        return s_errcode (rc, "cannot initialise", err);
    return 0;
}

ih_store_t *
ih_store_open (const char *dir, unsigned flags, uint64_t map_size, uint64_t max_map, ih_err_t *err)
{
    ih_store_t *self = (ih_store_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->dir = strdup (dir);
    if (!self->dir)
        abort ();
    self->writer = (flags & IH_STORE_WRITER) != 0;
    self->lock_fd = -1;
    self->max_map = max_map;
    ih_msg_init (&self->scratch, IH_KIND_ALERT);
    ih_buf_init (&self->rbuf);
    ih_buf_init (&self->rset);
    ih_buf_init (&self->body);
    ih_sign_init ();

    if (self->writer) {
        if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
            ih_err_set (err, "store %s: cannot create: %s", dir, strerror (errno));
            goto fail;
        }
        char path [4096];
        snprintf (path, sizeof path, "%s/agent.lock", dir);
        self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (self->lock_fd < 0) {
            ih_err_set (err, "store %s: cannot open %s: %s", dir, path, strerror (errno));
            goto fail;
        }
        if (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            char pid [32] = "";
            ssize_t n = pread (self->lock_fd, pid, sizeof pid - 1, 0);
            pid [n > 0 ? n : 0] = 0;
            pid [strcspn (pid, "\n")] = 0;
            ih_err_set (err, "store %s is in use by another agent%s%s%s", dir,
                        *pid ? " (pid " : "", pid, *pid ? ")" : "");
            goto fail;
        }
        char pid [32];
        int n = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
        if (ftruncate (self->lock_fd, 0) != 0 || pwrite (self->lock_fd, pid, (size_t) n, 0) != n) {
            //  The lock is what matters; the pid is only for the message above.
        }
        if (map_size == 0)
            map_size = s_DEFAULT_MAP;
        if (max_map && map_size > max_map)
            map_size = max_map;
    }
    else {
        char path [4096];
        snprintf (path, sizeof path, "%s/data.mdb", dir);
        if (access (path, R_OK) != 0) {
            ih_err_set (err, "store %s: not created yet", dir);
            goto fail;
        }
    }
    if (s_env_open (self, map_size, err) != 0)
        goto fail;
    if (self->writer) {
        int dead = 0;
        mdb_reader_check (self->env, &dead);
    }
    return self;
fail:
    ih_store_destroy (&self);
    return NULL;
}

ih_store_t *
ih_store_share (ih_store_t *self)
{
    //  LMDB allows one environment per file per process, so threads of one process
    //  share it; each handle keeps its own scratch buffers (s_load_alert uses them).
    ih_store_t *copy = (ih_store_t *) calloc (1, sizeof *copy);
    if (!copy)
        abort ();
    copy->dir = strdup (self->dir);
    if (!copy->dir)
        abort ();
    copy->shared = true;
    copy->lock_fd = -1;
    copy->max_map = self->max_map;
    copy->env = self->env;
    memcpy (copy->dbi, self->dbi, sizeof copy->dbi);
    ih_msg_init (&copy->scratch, IH_KIND_ALERT);
    ih_buf_init (&copy->rbuf);
    ih_buf_init (&copy->rset);
    ih_buf_init (&copy->body);
    return copy;
}

void
ih_store_destroy (ih_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_store_t *self = *self_p;
    if (self->txn)
        mdb_txn_abort (self->txn);
    if (self->env && !self->shared)
        mdb_env_close (self->env);
    if (self->lock_fd >= 0)
        close (self->lock_fd);      //  releases the flock
    ih_msg_free (&self->scratch);
    ih_buf_free (&self->rbuf);
    ih_buf_free (&self->rset);
    ih_buf_free (&self->body);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/*  Doubles the map (capped by max_map). No transaction may be open. Returns 0, or
    IH_STORE_NOSPACE when the cap is reached, or -1. */
static int
s_grow (ih_store_t *self, ih_err_t *err)
{
    //  Readers that died without closing (a killed CLI) pin old pages: free them first.
    int dead = 0;
    mdb_reader_check (self->env, &dead);
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    uint64_t size = info.me_mapsize;
    uint64_t want = size * 2;
    if (self->max_map && want > self->max_map) {
        if (size >= self->max_map) {
            ih_err_set (err, "store: disk full: map full at the configured maximum (%" PRIu64
                        " bytes); not advancing", self->max_map);
            return IH_STORE_NOSPACE;
        }
        want = self->max_map;
    }
    int rc = mdb_env_set_mapsize (self->env, (size_t) want);
    if (rc)
        return s_errcode (rc, "cannot grow the map", err);
    return 0;
}

/*  After MDB_PANIC (a failed write of the meta page), the environment must be reopened. */
static int
s_reopen (ih_store_t *self, ih_err_t *err)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    mdb_env_close (self->env);
    self->env = NULL;
    return s_env_open (self, info.me_mapsize, err);
}

/*  After a failed write transaction: grows the map on MDB_MAP_FULL, reopens the
    environment on MDB_PANIC. Returns 1 to retry, 0 when rc is neither, or the (negative)
    code to return: IH_STORE_NOSPACE or -1, with err. */
static int
s_recover (ih_store_t *self, int rc, ih_err_t *err)
{
    if (rc == MDB_MAP_FULL) {
        int g = s_grow (self, err);
        return g != 0 ? g : 1;
    }
    if (rc == MDB_PANIC)
        return s_reopen (self, err) != 0 ? -1 : 1;
    return 0;
}

static int
s_bad (ih_store_t *self, const char *id)
{
    ih_err_set (&self->why, "store: alert %.36s: corrupt record", id);
    return s_EBAD;
}

/*  Decodes a stored body into self->scratch (freeing what it held). */
static int
s_decode_scratch (ih_store_t *self, const uint8_t *data, size_t len)
{
    ih_msg_free (&self->scratch);
    return ih_body_decode (&self->scratch, data, len, NULL);
}

/* ---- meta ------------------------------------------------------------------------------- */

static int
s_meta_load (ih_store_t *self, MDB_txn *txn, uint64_t *cursor, s_counts_t *c, uint32_t *plen)
{
    MDB_val k, v;
    *cursor = 0;
    k = s_val ("cursor", 6);
    int rc = mdb_get (txn, self->dbi [s_META], &k, &v);
    if (rc == 0 && v.mv_size == 8)
        *cursor = ih_get_le64 (v.mv_data);
    else
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    memset (c, 0, sizeof *c);
    k = s_val ("counts", 6);
    rc = mdb_get (txn, self->dbi [s_META], &k, &v);
    if (rc == 0) {
        uint64_t *f = (uint64_t *) c;
        size_t n = v.mv_size / 8 < s_NCOUNTS ? v.mv_size / 8 : s_NCOUNTS;
        for (size_t i = 0; i < n; i++)
            f [i] = ih_get_le64 ((const uint8_t *) v.mv_data + 8 * i);
    }
    else
    if (rc != MDB_NOTFOUND)
        return rc;
    if (plen) {
        memset (plen, 0, IH_INDEX_PLEN_N * sizeof *plen);
        k = s_val ("plen", 4);
        rc = mdb_get (txn, self->dbi [s_META], &k, &v);
        if (rc == 0 && v.mv_size == IH_INDEX_PLEN_N * 4) {
            for (int i = 0; i < IH_INDEX_PLEN_N; i++)
                plen [i] = ih_get_le32 ((const uint8_t *) v.mv_data + 4 * i);
        }
        else
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

static int
s_meta_save (ih_store_t *self)
{
    uint8_t b8 [8];
    ih_put_le64 (b8, self->cursor);
    MDB_val k = s_val ("cursor", 6), v = s_val (b8, 8);
    int rc = mdb_put (self->txn, self->dbi [s_META], &k, &v, 0);
    if (rc)
        return rc;
    uint8_t cb [8 * s_NCOUNTS];
    const uint64_t *f = (const uint64_t *) &self->counts;
    for (int i = 0; i < s_NCOUNTS; i++)
        ih_put_le64 (cb + 8 * i, f [i]);
    k = s_val ("counts", 6);
    v = s_val (cb, sizeof cb);
    rc = mdb_put (self->txn, self->dbi [s_META], &k, &v, 0);
    if (rc)
        return rc;
    uint8_t pb [4 * IH_INDEX_PLEN_N];
    for (int i = 0; i < IH_INDEX_PLEN_N; i++)
        ih_put_le32 (pb + 4 * i, self->plen [i]);
    k = s_val ("plen", 4);
    v = s_val (pb, sizeof pb);
    return mdb_put (self->txn, self->dbi [s_META], &k, &v, 0);
}

/* ---- alert records --------------------------------------------------------------------- */

typedef struct {
    uint8_t status;
    uint32_t revision, revisions, nret;
    uint64_t seq, first_seq, retract_seq;
    const uint8_t *sig;
    const uint8_t *body;
    uint32_t body_len;
    const uint8_t *rset;        /* nret x { u16 len, key } */
    size_t rset_len;
} s_arec_t;

static int
s_arec_parse (const MDB_val *v, s_arec_t *r)
{
    const uint8_t *p = (const uint8_t *) v->mv_data;
    if (v->mv_size < s_ARHDR || p [0] != 1)
        return -1;
    r->status = p [1];
    r->revision = ih_get_le32 (p + 4);
    r->revisions = ih_get_le32 (p + 8);
    r->nret = ih_get_le32 (p + 12);
    r->seq = ih_get_le64 (p + 16);
    r->first_seq = ih_get_le64 (p + 24);
    r->retract_seq = ih_get_le64 (p + 32);
    r->body_len = ih_get_le32 (p + 40);
    r->sig = p + 48;
    if ((size_t) s_ARHDR + r->body_len > v->mv_size)
        return -1;
    r->body = p + s_ARHDR;
    r->rset = p + s_ARHDR + r->body_len;
    r->rset_len = v->mv_size - s_ARHDR - r->body_len;
    return 0;
}

/*  Builds a record into self->rbuf from r, with the retracted set from rset. */
static void
s_arec_build (ih_store_t *self, const s_arec_t *r, const uint8_t *rset, size_t rset_len)
{
    ih_buf_t *b = &self->rbuf;
    ih_buf_reset (b);
    ih_buf_reserve (b, s_ARHDR + r->body_len + rset_len);
    uint8_t *p = b->data;
    memset (p, 0, s_ARHDR);
    p [0] = 1;
    p [1] = r->status;
    ih_put_le32 (p + 4, r->revision);
    ih_put_le32 (p + 8, r->revisions);
    ih_put_le32 (p + 12, r->nret);
    ih_put_le64 (p + 16, r->seq);
    ih_put_le64 (p + 24, r->first_seq);
    ih_put_le64 (p + 32, r->retract_seq);
    ih_put_le32 (p + 40, r->body_len);
    memcpy (p + 48, r->sig, 64);
    memcpy (p + s_ARHDR, r->body, r->body_len);
    if (rset_len)
        memcpy (p + s_ARHDR + r->body_len, rset, rset_len);
    b->len = s_ARHDR + r->body_len + rset_len;
}

/* ---- ingest, per kind -------------------------------------------------------------------- */

static void
s_ref_key (const char *ref, uint64_t seq, uint8_t out [IH_UUID_LEN + 8])
{
    memcpy (out, ref, IH_UUID_LEN);
    ih_put_be64 (out + IH_UUID_LEN, seq);
}

/*  refs[id] += (sightings, comments, retractions). */
static int
s_refs_add (ih_store_t *self, const char *id, uint64_t sightings, uint32_t comments, int32_t retractions)
{
    uint8_t b [16] = { 0 };
    MDB_val k = s_val (id, IH_UUID_LEN), v;
    int rc = mdb_get (self->txn, self->dbi [s_REFS], &k, &v);
    if (rc == 0 && v.mv_size == 16)
        memcpy (b, v.mv_data, 16);
    else
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    ih_put_le64 (b, ih_get_le64 (b) + sightings);
    ih_put_le32 (b + 8, ih_get_le32 (b + 8) + comments);
    int64_t nret = (int64_t) ih_get_le32 (b + 12) + retractions;
    ih_put_le32 (b + 12, nret > 0 ? (uint32_t) nret : 0);
    v = s_val (b, 16);
    return mdb_put (self->txn, self->dbi [s_REFS], &k, &v, 0);
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
s_apply_known_retractions (ih_store_t *self, ih_store_item_t *it, const char *id, s_arec_t *r)
{
    const char *org = it->msg->org;
    MDB_cursor *cur;
    int rc = mdb_cursor_open (self->txn, self->dbi [s_RETRACTIONS], &cur);
    if (rc)
        return rc;
    uint8_t start [IH_UUID_LEN + 8];
    s_ref_key (id, 0, start);
    MDB_val k = s_val (start, sizeof start), v;
    ih_buf_t foreign;           /* seqs (u64) of retractions from other orgs */
    ih_buf_init (&foreign);
    size_t dropped = 0;
    uint64_t first_seq = 0;
    char first_org [IH_MAX_SHORT + 1] = "";
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == sizeof start && memcmp (k.mv_data, id, IH_UUID_LEN) == 0) {
        uint64_t seq = ih_get_be64 ((const uint8_t *) k.mv_data + IH_UUID_LEN);
        if (v.mv_size > 64
        &&  s_decode_scratch (self, (const uint8_t *) v.mv_data + 64, v.mv_size - 64) == 0) {
            if (!self->scratch.org || !streq (self->scratch.org, org)) {
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
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    //  Delete the foreign ones: refused, they are no longer listed with the alert.
    for (size_t i = 0; rc == 0 && i < foreign.len / 8; i++) {
        uint64_t seq;
        memcpy (&seq, foreign.data + 8 * i, 8);
        uint8_t key [IH_UUID_LEN + 8];
        s_ref_key (id, seq, key);
        MDB_val dk = s_val (key, sizeof key);
        rc = mdb_del (self->txn, self->dbi [s_RETRACTIONS], &dk, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc == 0)
            rc = s_refs_add (self, id, 0, 0, -1);
        if (rc == 0 && self->counts.retractions)
            self->counts.retractions--;
    }
    ih_buf_free (&foreign);
    if (rc)
        return rc;
    if (dropped)
        snprintf (it->why, sizeof it->why, "dropped %zu retraction%s of alert %s received before it"
                  " (first: seq %" PRIu64 " from org '%s'): the alert's publisher is org '%s'",
                  dropped, dropped == 1 ? "" : "s", id, first_seq, first_org, org);
    return 0;
}

/*  The org that published the stored alert, from the stored body (every revision has
    the org of the first one: see s_ingest_alert). Decodes it into self->scratch.
    Returns 0, or s_EBAD when the stored body does not decode. */
static int
s_owner_org (ih_store_t *self, const char *id, const uint8_t *body, size_t len)
{
    if (s_decode_scratch (self, body, len) != 0 || !self->scratch.org)
        return s_bad (self, id);
    return 0;
}

static int
s_put_byseq (ih_store_t *self, uint64_t seq, const char *id)
{
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val k = s_val (sk, 8), v = s_val (id, IH_UUID_LEN);
    return mdb_put (self->txn, self->dbi [s_BYSEQ], &k, &v, 0);
}

static int
s_del_byseq (ih_store_t *self, uint64_t seq)
{
    uint8_t sk [8];
    ih_put_be64 (sk, seq);
    MDB_val k = s_val (sk, 8);
    int rc = mdb_del (self->txn, self->dbi [s_BYSEQ], &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
s_ingest_alert (ih_store_t *self, ih_store_item_t *it)
{
    const ih_msg_t *m = it->msg;
    uint8_t uuid [16];
    ih_index_uuid_bin (m->id, uuid);
    MDB_val k = s_val (m->id, IH_UUID_LEN), v;
    int rc = mdb_get (self->txn, self->dbi [s_ALERTS], &k, &v);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    s_arec_t r;
    if (rc == MDB_NOTFOUND) {
        memset (&r, 0, sizeof r);
        r.revision = m->revision;
        r.revisions = 1;
        r.seq = r.first_seq = it->seq;
        r.sig = it->sig;
        r.body = it->body;
        r.body_len = (uint32_t) it->body_len;
        ih_buf_reset (&self->rset);
        MDB_val rk = s_val (m->id, IH_UUID_LEN), rv;
        rc = mdb_get (self->txn, self->dbi [s_REFS], &rk, &rv);
        if (rc == 0 && rv.mv_size == 16 && ih_get_le32 ((const uint8_t *) rv.mv_data + 12) > 0)
            rc = s_apply_known_retractions (self, it, m->id, &r);
        else
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc)
            return rc;
        r.nret = ih_index_set_count (self->rset.data, self->rset.len);
        if ((rc = ih_index_add_msg (&self->ix, m, uuid, self->rset.data, self->rset.len)))
            return rc;
        s_arec_build (self, &r, self->rset.data, self->rset.len);
        v = s_val (self->rbuf.data, self->rbuf.len);
        if ((rc = mdb_put (self->txn, self->dbi [s_ALERTS], &k, &v, 0)))
            return rc;
        if ((rc = s_put_byseq (self, it->seq, m->id)))
            return rc;
        self->counts.alerts++;
        self->counts.iocs += m->ioc_count;
        if (r.status)
            self->counts.retracted++;
        it->outcome = IH_STORE_NEW;
        return 0;
    }
    if (s_arec_parse (&v, &r) != 0)
        return s_bad (self, m->id);
    //  Keep the stored record's pieces before the map changes under them.
    ih_buf_reset (&self->rset);
    ih_buf_append (&self->rset, r.rset, r.rset_len);
    ih_buf_reset (&self->body);
    ih_buf_append (&self->body, r.body, r.body_len);
    //  Only the org that published an alert may revise it. The owner is the org of the
    //  first revision this store received. LIMITATION: when a forged "revision" from
    //  another org arrives before the genuine first one (a compromised broker sending
    //  rev 99 of an id it saw nowhere yet), the store cannot know the true owner and
    //  keeps the first-seen org, so the genuine alert is then refused here; ownership
    //  of an id is the broker's to enforce when it accepts a publish.
    if ((rc = s_owner_org (self, m->id, self->body.data, self->body.len)))
        return rc;
    if (!streq (self->scratch.org, m->org)) {
        s_reject (self, it, "revision %u of alert %s from org '%s' refused: the alert was published"
                  " by org '%s'", m->revision, m->id, m->org, self->scratch.org);
        return 0;
    }
    if (m->revision <= r.revision) {
        it->outcome = IH_STORE_STALE;
        if (m->revision == r.revision)
            return 0;
        //  A distinct, older revision seen late: count it, keep the latest.
        uint8_t sig [64];
        memcpy (sig, r.sig, 64);
        r.sig = sig;
        r.body = self->body.data;
        r.revisions++;
        s_arec_build (self, &r, self->rset.data, self->rset.len);
        v = s_val (self->rbuf.data, self->rbuf.len);
        return mdb_put (self->txn, self->dbi [s_ALERTS], &k, &v, 0);
    }
    //  A newer revision: unindex the old body (decoded above), index the new one.
    uint32_t old_iocs = self->scratch.ioc_count;
    if ((rc = ih_index_del_msg (&self->ix, &self->scratch, uuid)))
        return rc;
    if ((rc = ih_index_add_msg (&self->ix, m, uuid, self->rset.data, self->rset.len)))
        return rc;
    if ((rc = s_del_byseq (self, r.seq)) || (rc = s_put_byseq (self, it->seq, m->id)))
        return rc;
    r.revision = m->revision;
    r.revisions++;
    r.seq = it->seq;
    r.sig = it->sig;
    r.body = it->body;
    r.body_len = (uint32_t) it->body_len;
    s_arec_build (self, &r, self->rset.data, self->rset.len);
    v = s_val (self->rbuf.data, self->rbuf.len);
    if ((rc = mdb_put (self->txn, self->dbi [s_ALERTS], &k, &v, 0)))
        return rc;
    self->counts.iocs = self->counts.iocs - old_iocs + m->ioc_count;
    it->outcome = IH_STORE_REVISED;
    return 0;
}

/*  Stores a comment or retraction body under ref+seq. */
static int
s_put_refmsg (ih_store_t *self, int db, const ih_store_item_t *it)
{
    uint8_t key [IH_UUID_LEN + 8];
    s_ref_key (it->msg->ref, it->seq, key);
    ih_buf_reset (&self->rbuf);
    ih_buf_append (&self->rbuf, it->sig, 64);
    ih_buf_append (&self->rbuf, it->body, it->body_len);
    MDB_val k = s_val (key, sizeof key), v = s_val (self->rbuf.data, self->rbuf.len);
    return mdb_put (self->txn, self->dbi [db], &k, &v, 0);
}

/*  Only the alert's own org may retract it (or some of its IOCs). A retraction that
    arrives before its alert is kept aside and judged when the alert comes
    (s_apply_known_retractions). */
static int
s_ingest_retraction (ih_store_t *self, ih_store_item_t *it)
{
    const ih_msg_t *m = it->msg;
    MDB_val k = s_val (m->ref, IH_UUID_LEN), v;
    int rc = mdb_get (self->txn, self->dbi [s_ALERTS], &k, &v);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    bool held = rc == 0;
    s_arec_t r;
    uint8_t sig [64];
    if (held) {
        //  Copy the record's pieces out before the map changes under them.
        if (s_arec_parse (&v, &r) != 0)
            return s_bad (self, m->ref);
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
        if (!streq (self->scratch.org, m->org)) {
            s_reject (self, it, "retraction of alert %s from org '%s' refused: the alert was"
                      " published by org '%s'", m->ref, m->org, self->scratch.org);
            return 0;
        }
    }
    rc = s_put_refmsg (self, s_RETRACTIONS, it);
    if (rc == 0)
        rc = s_refs_add (self, m->ref, 0, 0, 1);
    if (rc)
        return rc;
    self->counts.retractions++;
    it->outcome = IH_STORE_RETRACTED;
    if (!held)
        return 0;               //  applied if the alert ever arrives (and is m->org's)
    if (m->ioc_count == 0) {
        if (!r.status)
            self->counts.retracted++;
        r.status = 1;
        r.retract_seq = it->seq;
    }
    else {
        uint8_t uuid [16];
        ih_index_uuid_bin (m->ref, uuid);
        ih_index_set_add_msg (&self->rset, m);
        r.nret = ih_index_set_count (self->rset.data, self->rset.len);
        const ih_msg_t *alert = &self->scratch;     //  the stored body, decoded above
        if ((rc = ih_index_retract (&self->ix, m, alert, uuid, self->rset.data, self->rset.len)))
            return rc;
    }
    s_arec_build (self, &r, self->rset.data, self->rset.len);
    v = s_val (self->rbuf.data, self->rbuf.len);
    return mdb_put (self->txn, self->dbi [s_ALERTS], &k, &v, 0);
}

static int
s_ingest_comment (ih_store_t *self, ih_store_item_t *it)
{
    int rc = s_put_refmsg (self, s_COMMENTS, it);
    if (rc == 0)
        rc = s_refs_add (self, it->msg->ref, 0, 1, 0);
    if (rc == 0) {
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
        return 0;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (m->iocs [0].type, m->iocs [0].value, key, NULL, NULL);
    if (klen <= 0)
        return 0;
    uint8_t b [32] = { 0 };
    MDB_val k = s_val (key, (size_t) klen), v;
    int rc = mdb_get (self->txn, self->dbi [s_SIGHTINGS], &k, &v);
    if (rc == 0 && v.mv_size == 32)
        memcpy (b, v.mv_data, 32);
    else
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    bool first = ih_get_le32 (b + 8) == 0;
    ih_put_le64 (b, ih_get_le64 (b) + m->count);
    ih_put_le32 (b + 8, ih_get_le32 (b + 8) + 1);
    if (first || (int64_t) ih_get_le64 (b + 16) > m->modified)
        ih_put_le64 (b + 16, (uint64_t) m->modified);
    if ((int64_t) ih_get_le64 (b + 24) < m->modified)
        ih_put_le64 (b + 24, (uint64_t) m->modified);
    v = s_val (b, 32);
    if ((rc = mdb_put (self->txn, self->dbi [s_SIGHTINGS], &k, &v, 0)))
        return rc;
    if (m->ref [0] && (rc = s_refs_add (self, m->ref, m->count, 0, 0)))
        return rc;
    self->counts.sightings += m->count;
    return 0;
}

static int
s_put_log (ih_store_t *self, const ih_store_item_t *it)
{
    uint8_t sk [8], e [s_LOG_LEN];
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
    MDB_val k = s_val (sk, 8), v = s_val (e, sizeof e);
    return mdb_put (self->txn, self->dbi [s_LOG], &k, &v, 0);
}

static int
s_put_member (ih_store_t *self, const ih_store_item_t *it)
{
    if (!it->rec || !it->rec_sig || !it->msg)
        return 0;
    MDB_val k = s_val (it->msg->signer, 32), v;
    int rc = mdb_get (self->txn, self->dbi [s_MEMBERS], &k, &v);
    if (rc == 0 && v.mv_size == 64 + it->rec_len
    &&  memcmp (v.mv_data, it->rec_sig, 64) == 0
    &&  memcmp ((const uint8_t *) v.mv_data + 64, it->rec, it->rec_len) == 0)
        return 0;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    ih_buf_reset (&self->rbuf);
    ih_buf_append (&self->rbuf, it->rec_sig, 64);
    ih_buf_append (&self->rbuf, it->rec, it->rec_len);
    v = s_val (self->rbuf.data, self->rbuf.len);
    return mdb_put (self->txn, self->dbi [s_MEMBERS], &k, &v, 0);
}

/*  One attempt: the whole batch in one transaction. Returns 0 or a code. */
static int
s_ingest_txn (ih_store_t *self, ih_store_item_t *items, size_t count)
{
    int rc = s_txn_begin (self, 0, &self->txn);
    if (rc)
        return rc;
    self->ix.txn = self->txn;
    self->ix.dbi = self->dbi [s_IOCS];
    self->ix.plen = self->plen;
    rc = s_meta_load (self, self->txn, &self->cursor, &self->counts, self->plen);
    bool changed = false;
    for (size_t i = 0; rc == 0 && i < count; i++) {
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
                if (rc == 0)
                    rc = s_put_member (self, it);
                self->counts.messages++;
            }
        }
        if (rc == 0)
            rc = s_put_log (self, it);
        self->cursor = it->seq;
    }
    if (rc == 0 && changed)
        rc = s_meta_save (self);
    if (rc) {
        mdb_txn_abort (self->txn);
        self->txn = NULL;
        return rc;
    }
    rc = mdb_txn_commit (self->txn);
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
        if (rc == 0)
            return 0;
        int r = s_recover (self, rc, err);
        if (r > 0)
            continue;
        if (r < 0)
            return r;
        uint64_t avail = 0;
        if (s_is_nospace (rc)) {
            //  Nothing of the batch was kept: LMDB writes the meta page last. If the meta
            //  write itself failed, the next transaction says MDB_PANIC and we reopen.
            ih_err_set (err, "store: disk full: %s; not advancing", strerror (rc));
            return IH_STORE_NOSPACE;
        }
        if (rc == EIO && s_eio_is_full (self, &avail)) {
            ih_err_set (err, "store: disk full: a write came up short with %" PRIu64 " KiB left on"
                        " the filesystem; not advancing", avail >> 10);
            return IH_STORE_NOSPACE;
        }
        if (rc == s_EBAD) {
            ih_err_set (err, "%s", self->why.msg);
            return -1;
        }
        return s_errcode (rc, "cannot store", err);
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
    int rc = 0;
    size_t made = 0;
    for (; made < count; made++) {
        ih_buf_init (&bodies [made]);
        if (ih_body_encode (&msgs [made], &bodies [made], err) != 0) {
            ih_err_prefix (err, "message %zu", made);
            ih_buf_free (&bodies [made]);
            rc = -1;
            break;
        }
        items [made].seq = seqs [made];
        items [made].msg = &msgs [made];
        items [made].body = bodies [made].data;
        items [made].body_len = bodies [made].len;
        items [made].sig = zero_sig;
    }
    if (rc == 0)
        rc = ih_store_ingest (self, items, count, err);
    for (size_t i = 0; i < made; i++) {
        if (outcomes && rc == 0)
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

/* ---- reading ------------------------------------------------------------------------------ */

int
ih_store_counts (ih_store_t *self, ih_store_counts_t *c, ih_err_t *err)
{
    memset (c, 0, sizeof *c);
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    s_counts_t sc;
    rc = s_meta_load (self, txn, &c->cursor, &sc, NULL);
    mdb_txn_abort (txn);
    if (rc)
        return s_errcode (rc, "cannot read meta", err);
    c->alerts = sc.alerts;
    c->retracted = sc.retracted;
    c->iocs = sc.iocs;
    c->comments = sc.comments;
    c->retractions = sc.retractions;
    c->sightings = sc.sightings;
    c->messages = sc.messages;
    c->rejected = sc.rejected;
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &st);
    c->map_size = info.me_mapsize;
    c->used_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    return 0;
}

uint64_t
ih_store_cursor (ih_store_t *self)
{
    ih_store_counts_t c;
    return ih_store_counts (self, &c, NULL) == 0 ? c.cursor : 0;
}

uint64_t
ih_store_map_size (ih_store_t *self)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    return info.me_mapsize;
}

const char *
ih_store_dir (ih_store_t *self)
{
    return self->dir;
}

/*  Fills msg/info from an alert record inside txn; copies the retracted set. */
static int
s_load_alert (ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *v, ih_msg_t *msg,
              ih_store_alert_t *info, ih_err_t *err)
{
    s_arec_t r;
    if (s_arec_parse (v, &r) != 0)
        return ih_err_set (err, "store: alert %.36s: corrupt record", id);
    ih_buf_reset (&self->rset);
    ih_buf_append (&self->rset, r.rset, r.rset_len);
    if (msg) {
        //  Decode from a copy: the arena copies strings, but be independent of the map.
        ih_buf_reset (&self->body);
        ih_buf_append (&self->body, r.body, r.body_len);
        ih_msg_free (msg);
        if (ih_body_decode (msg, self->body.data, self->body.len, err) != 0) {
            ih_err_prefix (err, "store: alert %.36s", id);
            return -1;
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
        MDB_val k = s_val (id, IH_UUID_LEN), rv;
        if (mdb_get (txn, self->dbi [s_REFS], &k, &rv) == 0 && rv.mv_size == 16) {
            info->sightings = ih_get_le64 (rv.mv_data);
            info->comments = ih_get_le32 ((const uint8_t *) rv.mv_data + 8);
        }
    }
    return 0;
}

int
ih_store_get (ih_store_t *self, const char *id, ih_msg_t *msg, ih_store_alert_t *info, ih_err_t *err)
{
    if (msg)
        ih_msg_free (msg);
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_val k = s_val (id, IH_UUID_LEN), v;
    rc = mdb_get (txn, self->dbi [s_ALERTS], &k, &v);
    int result;
    if (rc == MDB_NOTFOUND)
        result = 0;
    else
    if (rc)
        result = s_errcode (rc, "cannot read", err);
    else {
        result = s_load_alert (self, txn, id, &v, msg, info, err) == 0 ? 1 : -1;
    }
    mdb_txn_abort (txn);
    return result;
}

int
ih_store_foreach (ih_store_t *self, uint64_t after, bool reverse, ih_store_alert_fn *fn,
                  void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->dbi [s_BYSEQ], &cur);
    if (rc) {
        mdb_txn_abort (txn);
        return s_errcode (rc, "cannot read", err);
    }
    ih_msg_t msg;
    ih_msg_init (&msg, IH_KIND_ALERT);
    ih_store_alert_t info;
    uint8_t sk [8];
    ih_put_be64 (sk, after + 1);
    MDB_val k = s_val (sk, 8), v;
    rc = reverse ? mdb_cursor_get (cur, &k, &v, MDB_LAST)
                 : mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    int result = 0;
    while (rc == 0) {
        if (k.mv_size != 8 || v.mv_size != IH_UUID_LEN)
            break;
        if (reverse && ih_get_be64 (k.mv_data) <= after)
            break;
        char id [IH_UUID_LEN + 1];
        memcpy (id, v.mv_data, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
        MDB_val ak = s_val (id, IH_UUID_LEN), av;
        if (mdb_get (txn, self->dbi [s_ALERTS], &ak, &av) == 0) {
            if (s_load_alert (self, txn, id, &av, &msg, &info, err) != 0) {
                result = -1;
                break;
            }
            result = fn (&msg, &info, arg);
            if (result)
                break;
        }
        rc = mdb_cursor_get (cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND && result == 0)
        result = s_errcode (rc, "cannot read", err);
    ih_msg_free (&msg);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return result;
}

bool
ih_store_ioc_retracted (ih_store_t *self, const ih_store_alert_t *info, const ih_ioc_t *ioc)
{
    if (info->retracted)
        return true;
    if (info->retracted_iocs == 0)
        return false;
    uint8_t key [IH_INDEX_KEY_MAX + 1];
    int klen = ih_index_key (ioc->type, ioc->value, key, NULL, NULL);
    return klen > 0 && ih_index_set_has (self->rset.data, self->rset.len, key, (size_t) klen);
}

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
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_val k = s_val (key, (size_t) klen), v;
    rc = mdb_get (txn, self->dbi [s_SIGHTINGS], &k, &v);
    if (rc == 0 && v.mv_size == 32) {
        *count = ih_get_le64 (v.mv_data);
        if (reports)
            *reports = ih_get_le32 ((const uint8_t *) v.mv_data + 8);
    }
    mdb_txn_abort (txn);
    if (rc && rc != MDB_NOTFOUND)
        return s_errcode (rc, "cannot read", err);
    return 0;
}

/* ---- search ------------------------------------------------------------------------------- */

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
    MDB_val k = s_val (h.id, IH_UUID_LEN), v;
    if (mdb_get (s->txn, s->self->dbi [s_ALERTS], &k, &v) == 0
    &&  v.mv_size >= s_ARHDR && ((const uint8_t *) v.mv_data) [1])
        h.retracted = true;
    return s->fn (&h, s->arg);
}

int
ih_store_search (ih_store_t *self, ih_ioc_type_t t, const char *value, unsigned flags,
                 ih_index_hit_fn *fn, void *arg, ih_err_t *err)
{
    s_search_t s = { self, NULL, fn, arg };
    int rc = s_txn_begin (self, MDB_RDONLY, &s.txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    uint32_t plen [IH_INDEX_PLEN_N];
    uint64_t cursor;
    s_counts_t c;
    rc = s_meta_load (self, s.txn, &cursor, &c, plen);
    int hits = -1;
    if (rc == 0) {
        ih_index_t x = { s.txn, self->dbi [s_IOCS], plen };
        hits = ih_index_search (&x, t, value, flags, s_search_hit, &s, &rc);
    }
    mdb_txn_abort (s.txn);
    if (hits == -2) {
        const char *tn = ih_ioc_type_name (t);
        return ih_err_set (err, "search: '%.64s' is not a normalised %s", value ? value : "",
                           tn ? tn : "value");
    }
    if (hits < 0)
        return s_errcode (rc, "search", err);
    return hits;
}

/* ---- the log and what refers to an alert ---------------------------------------------------- */

int
ih_store_log_read (ih_store_t *self, uint64_t after, ih_store_log_t *out, size_t max, ih_err_t *err)
{
    if (max == 0 || after == UINT64_MAX)
        return 0;
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->dbi [s_LOG], &cur);
    if (rc) {
        mdb_txn_abort (txn);
        return s_errcode (rc, "cannot read the log", err);
    }
    uint8_t sk [8];
    ih_put_be64 (sk, after + 1);
    MDB_val k = s_val (sk, 8), v;
    size_t n = 0;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && n < max) {
        if (k.mv_size == 8 && v.mv_size == s_LOG_LEN) {
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
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    if (rc && rc != MDB_NOTFOUND)
        return s_errcode (rc, "cannot read the log", err);
    return (int) n;
}

int
ih_store_refs_foreach (ih_store_t *self, const char *id, ih_kind_t kind, ih_store_msg_fn *fn,
                       void *arg, ih_err_t *err)
{
    int db = kind == IH_KIND_COMMENT ? s_COMMENTS : kind == IH_KIND_RETRACTION ? s_RETRACTIONS : -1;
    if (db < 0) {
        const char *kn = ih_kind_name (kind);
        return ih_err_set (err, "store: no messages of kind %s are kept", kn ? kn : "?");
    }
    if (!id || strlen (id) != IH_UUID_LEN)
        return 0;
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->dbi [db], &cur);
    if (rc) {
        mdb_txn_abort (txn);
        return s_errcode (rc, "cannot read", err);
    }
    ih_msg_t msg;
    ih_msg_init (&msg, kind);
    uint8_t start [IH_UUID_LEN + 8];
    s_ref_key (id, 0, start);
    MDB_val k = s_val (start, sizeof start), v;
    int result = 0;
    rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == sizeof start && memcmp (k.mv_data, id, IH_UUID_LEN) == 0) {
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
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND && result == 0)
        result = s_errcode (rc, "cannot read", err);
    ih_msg_free (&msg);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return result;
}

/* ---- small named values ----------------------------------------------------------------------- */

static int
s_aux_key (const char *name, char key [80], ih_err_t *err)
{
    size_t n = name ? strlen (name) : 0;
    if (n == 0 || n > 64)
        return ih_err_set (err, "store: aux name must be 1..64 bytes");
    memcpy (key, "x:", 2);
    memcpy (key + 2, name, n);
    return (int) n + 2;
}

int
ih_store_aux_get (ih_store_t *self, const char *name, ih_buf_t *out, ih_err_t *err)
{
    char key [80];
    int klen = s_aux_key (name, key, err);
    if (klen < 0)
        return -1;
    ih_buf_reset (out);
    MDB_txn *txn;
    int rc = s_txn_begin (self, MDB_RDONLY, &txn);
    if (rc)
        return s_errcode (rc, "cannot read", err);
    MDB_val k = s_val (key, (size_t) klen), v;
    rc = mdb_get (txn, self->dbi [s_META], &k, &v);
    if (rc == 0)
        ih_buf_append (out, v.mv_data, v.mv_size);
    mdb_txn_abort (txn);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return s_errcode (rc, "cannot read", err);
    return 1;
}

int
ih_store_aux_put (ih_store_t *self, const char *name, const void *data, size_t len, ih_err_t *err)
{
    if (!self->writer)
        return ih_err_set (err, "store: opened read-only");
    char key [80];
    int klen = s_aux_key (name, key, err);
    if (klen < 0)
        return -1;
    for (int attempt = 0; attempt < 16; attempt++) {
        MDB_txn *txn;
        int rc = s_txn_begin (self, 0, &txn);
        if (rc == 0) {
            MDB_val k = s_val (key, (size_t) klen), v = s_val (data, len);
            rc = data ? mdb_put (txn, self->dbi [s_META], &k, &v, 0)
                      : mdb_del (txn, self->dbi [s_META], &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
            if (rc)
                mdb_txn_abort (txn);
            else
                rc = mdb_txn_commit (txn);
        }
        if (rc == 0)
            return 0;
        int r = s_recover (self, rc, err);
        if (r > 0)
            continue;
        if (r < 0)
            return r;
        uint64_t avail = 0;
        if (s_is_nospace (rc) || (rc == EIO && s_eio_is_full (self, &avail)))
            return ih_err_set (err, "store: disk full: %s", strerror (rc)), IH_STORE_NOSPACE;
        return s_errcode (rc, "cannot write", err);
    }
    return ih_err_set (err, "store: cannot grow the map for %s", name);
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    ih_msg_t msg;
    ih_buf_t body;
    uint8_t sig [64];
    ih_store_item_t item;
} s_titem_t;

static const uint8_t s_test_signer [32] = { 7, 7, 7 };
static const char *s_t_org = "bank-a";     /* the org of the test messages built next */

static void
s_t_common (ih_msg_t *m, ih_kind_t kind, const char *id)
{
    ih_msg_init (m, kind);
    if (id)
        snprintf (m->id, sizeof m->id, "%s", id);
    else
        ih_uuid_new (m->id);
    m->created = m->modified = 1767225600000;
    m->org = ih_msg_str (m, s_t_org);
    m->member = ih_msg_str (m, "soc");
    memcpy (m->signer, s_test_signer, 32);
}

/*  "type:value" strings, NULL-terminated. */
static void
s_t_iocs (ih_msg_t *m, const char **iocs, bool detect)
{
    for (int i = 0; iocs && iocs [i]; i++) {
        const char *colon = strchr (iocs [i], ':');
        IH_CHECK (colon);
        char tname [16];
        snprintf (tname, sizeof tname, "%.*s", (int) (colon - iocs [i]), iocs [i]);
        ih_ioc_type_t t;
        IH_CHECK (ih_ioc_type_parse (tname, &t) == 0);
        ih_msg_ioc_add (m, t, colon + 1, "", detect);
    }
}

static void
s_t_finish (s_titem_t *t, uint64_t seq)
{
    ih_buf_init (&t->body);
    ih_err_t err = { "" };
    if (ih_body_encode (&t->msg, &t->body, &err) != 0) {
        fprintf (stderr, "s_t_finish: %s\n", err.msg);
        IH_CHECK (false);
    }
    memset (t->sig, (int) (seq & 0xff), 64);
    memset (&t->item, 0, sizeof t->item);
    t->item.seq = seq;
    t->item.msg = &t->msg;
    t->item.body = t->body.data;
    t->item.body_len = t->body.len;
    t->item.sig = t->sig;
    t->item.rec = (const uint8_t *) "record";
    t->item.rec_len = 6;
    t->item.rec_sig = t->sig;
}

static void
s_t_alert (s_titem_t *t, uint64_t seq, const char *id, uint32_t rev, const char *title, const char **iocs)
{
    s_t_common (&t->msg, IH_KIND_ALERT, id);
    t->msg.revision = rev;
    t->msg.modified += rev;
    t->msg.title = ih_msg_str (&t->msg, title);
    t->msg.tlp = IH_TLP_GREEN;
    t->msg.severity = IH_SEV_HIGH;
    t->msg.category = IH_CAT_MALWARE;
    s_t_iocs (&t->msg, iocs, true);
    s_t_finish (t, seq);
}

static void
s_t_ref (s_titem_t *t, uint64_t seq, ih_kind_t kind, const char *ref, const char **iocs, uint32_t count)
{
    s_t_common (&t->msg, kind, NULL);
    snprintf (t->msg.ref, sizeof t->msg.ref, "%s", ref ? ref : "");
    if (kind != IH_KIND_SIGHTING)
        t->msg.text = ih_msg_str (&t->msg, "because");
    else {
        t->msg.tlp = IH_TLP_GREEN;
        t->msg.count = count;
    }
    s_t_iocs (&t->msg, iocs, false);
    s_t_finish (t, seq);
}

static void
s_t_rejected (s_titem_t *t, uint64_t seq)
{
    ih_msg_init (&t->msg, IH_KIND_ALERT);
    ih_buf_init (&t->body);
    memset (&t->item, 0, sizeof t->item);
    t->item.seq = seq;
}

static void
s_t_free (s_titem_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ih_msg_free (&t [i].msg);
        ih_buf_free (&t [i].body);
    }
}

static int
s_t_ingest (ih_store_t *s, s_titem_t *t, size_t n, ih_err_t *err)
{
    ih_store_item_t items [64];
    IH_CHECK (n <= 64);
    for (size_t i = 0; i < n; i++)
        items [i] = t [i].item;
    int rc = ih_store_ingest (s, items, n, err);
    for (size_t i = 0; i < n; i++) {
        t [i].item.outcome = items [i].outcome;
        memcpy (t [i].item.why, items [i].why, sizeof items [i].why);
    }
    return rc;
}

/*  A batch of big alerts (for map growth and full-disk tests). */
static int
s_t_big_batch (ih_store_t *s, uint64_t first_seq, size_t n, ih_err_t *err)
{
    s_titem_t *t = (s_titem_t *) calloc (n, sizeof *t);
    IH_CHECK (t);
    char summary [8000];
    memset (summary, 'x', sizeof summary - 1);
    summary [sizeof summary - 1] = 0;
    for (size_t i = 0; i < n; i++) {
        s_t_common (&t [i].msg, IH_KIND_ALERT, NULL);
        t [i].msg.title = ih_msg_str (&t [i].msg, "bulk");
        t [i].msg.summary = ih_msg_str (&t [i].msg, summary);
        t [i].msg.tlp = IH_TLP_GREEN;
        for (int j = 0; j < 50; j++) {
            char ip [32];
            snprintf (ip, sizeof ip, "172.%d.%d.%d", (int) ((first_seq + i) % 200), j, (int) (i % 250) + 1);
            ih_msg_ioc_add (&t [i].msg, IH_IOC_IPV4, ip, "", true);
        }
        s_t_finish (&t [i], first_seq + i);
    }
    int rc = s_t_ingest (s, t, n, err);
    s_t_free (t, n);
    free (t);
    return rc;
}

typedef struct {
    int n;
    uint64_t seqs [16];
    char ids [16][IH_UUID_LEN + 1];
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
    return 0;
}

typedef struct {
    int n;
    ih_index_hit_t last;
} s_thits_t;

static int
s_thit (const ih_index_hit_t *hit, void *arg)
{
    s_thits_t *h = (s_thits_t *) arg;
    h->n++;
    h->last = *hit;
    return 0;
}

static int
s_tsearch (ih_store_t *s, ih_ioc_type_t t, const char *v, s_thits_t *h)
{
    memset (h, 0, sizeof *h);
    ih_err_t err = { "" };
    int n = ih_store_search (s, t, v, 0, s_thit, h, &err);
    IH_CHECK (n >= 0);
    return n;
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
ih_store_test (bool verbose)
{
    char base [] = "/tmp/ih-store-test-XXXXXX";
    IH_CHECK (mkdtemp (base));
    char dir [256];
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };

    //  A reader needs an existing store; a writer creates it; a second writer is refused.
    IH_CHECK (ih_store_open (dir, 0, 0, 0, &err) == NULL);
    IH_CHECK (strstr (err.msg, "not created yet"));
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s);
    IH_CHECK (ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err) == NULL);
    if (verbose)
        printf ("\n    second writer: %s", err.msg);
    IH_CHECK (strstr (err.msg, "in use by another agent"));
    IH_CHECK (ih_store_cursor (s) == 0);

    //  1. One batch of every kind, with a rejected item in the middle.
    const char *ida = "aaaaaaaa-1111-4111-8111-000000000001";
    const char *idb = "bbbbbbbb-2222-4222-8222-000000000002";
    const char *a1 [] = { "ipv4:192.0.2.1", "domain:evil.example", "cidr:198.51.100.0/24", NULL };
    const char *b1 [] = { "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "url:http://phish.example.net/login", NULL };
    const char *seen [] = { "ipv4:192.0.2.1", NULL };
    s_titem_t t [10];
    s_t_alert (&t [0], 1, ida, 1, "first", a1);
    s_t_alert (&t [1], 2, idb, 1, "second", b1);
    s_t_rejected (&t [2], 3);
    s_t_ref (&t [3], 4, IH_KIND_COMMENT, ida, NULL, 0);
    s_t_ref (&t [4], 5, IH_KIND_SIGHTING, ida, seen, 3);
    s_t_ref (&t [5], 6, IH_KIND_SIGHTING, "", seen, 2);
    IH_CHECK (s_t_ingest (s, t, 6, &err) == 0);
    IH_CHECK (t [0].item.outcome == IH_STORE_NEW && t [1].item.outcome == IH_STORE_NEW);
    IH_CHECK (t [2].item.outcome == IH_STORE_REJECTED);
    IH_CHECK (t [3].item.outcome == IH_STORE_COMMENTED && t [4].item.outcome == IH_STORE_SIGHTED);
    ih_store_counts_t c;
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    IH_CHECK (c.cursor == 6 && c.alerts == 2 && c.iocs == 5 && c.rejected == 1);
    IH_CHECK (c.comments == 1 && c.sightings == 5 && c.messages == 5);

    //  2. The same batch again (a replay after a reconnect) changes nothing.
    IH_CHECK (s_t_ingest (s, t, 6, &err) == 0);
    for (int i = 0; i < 6; i++)
        IH_CHECK (t [i].item.outcome == IH_STORE_SKIPPED);
    ih_store_counts_t c2;
    IH_CHECK (ih_store_counts (s, &c2, &err) == 0);
    IH_CHECK (c2.cursor == 6 && c2.alerts == 2 && c2.messages == 5 && c2.sightings == 5);
    s_t_free (t, 6);

    //  Reading back
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
    IH_CHECK (ih_store_sightings (s, IH_IOC_IPV4, "192.0.2.2", &count, &reports, &err) == 0 && count == 0);
    IH_CHECK (ih_store_sightings (s, IH_IOC_IPV4, "192.0.2", &count, &reports, &err) == -1);
    s_thits_t h;
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "198.51.100.77", &h) == 1 && streq (h.last.id, ida));
    IH_CHECK (h.last.match == IH_MATCH_CONTAINS);
    IH_CHECK (s_tsearch (s, IH_IOC_DOMAIN, "www.evil.example", &h) == 1 && h.last.match == IH_MATCH_PARENT);
    IH_CHECK (s_tsearch (s, IH_IOC_DOMAIN, "phish.example.net", &h) == 1 && h.last.derived);
    IH_CHECK (ih_store_search (s, IH_IOC_IPV4, "192.0.2", 0, s_thit, &h, &err) == -1);
    IH_CHECK (strstr (err.msg, "not a normalised ipv4"));

    //  3. Revisions: a higher one replaces (and reindexes), a lower one late is counted
    //     but kept out, an equal one is ignored.
    const char *a2 [] = { "ipv4:192.0.2.2", "domain:evil.example", NULL };
    s_t_alert (&t [0], 7, ida, 2, "first, revised", a2);
    s_t_alert (&t [1], 8, ida, 1, "first, stale", a1);
    s_t_alert (&t [2], 9, ida, 2, "first, again", a2);
    IH_CHECK (s_t_ingest (s, t, 3, &err) == 0);
    IH_CHECK (t [0].item.outcome == IH_STORE_REVISED);
    IH_CHECK (t [1].item.outcome == IH_STORE_STALE && t [2].item.outcome == IH_STORE_STALE);
    s_t_free (t, 3);
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1);
    IH_CHECK (streq (m.title, "first, revised") && m.revision == 2);
    IH_CHECK (info.revision == 2 && info.revisions == 3 && info.seq == 7 && info.first_seq == 1);
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "192.0.2.1", &h) == 0);
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "192.0.2.2", &h) == 1);
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "198.51.100.77", &h) == 0);       //  the /24 is gone
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.iocs == 4 && c.alerts == 2);

    //  4. Walks in broker order: the revised alert moved behind the other one.
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

    //  5. Retractions: of one IOC (sticky across revisions), of a whole alert, and of an
    //     alert not received yet (applied when it comes).
    const char *r1 [] = { "ipv4:192.0.2.2", NULL };
    const char *idc = "cccccccc-3333-4333-8333-000000000003";
    const char *c1 [] = { "md5:d41d8cd98f00b204e9800998ecf8427e", "filename:evil.exe", NULL };
    const char *rc1 [] = { "filename:evil.exe", NULL };
    const char *a3 [] = { "ipv4:192.0.2.2", "ipv4:192.0.2.3", NULL };
    s_t_ref (&t [0], 10, IH_KIND_RETRACTION, ida, r1, 0);
    s_t_ref (&t [1], 11, IH_KIND_RETRACTION, idb, NULL, 0);
    s_t_ref (&t [2], 12, IH_KIND_RETRACTION, idc, rc1, 0);
    s_t_alert (&t [3], 13, idc, 2, "third", c1);
    s_t_alert (&t [4], 14, ida, 3, "first, third revision", a3);
    IH_CHECK (s_t_ingest (s, t, 5, &err) == 0);
    IH_CHECK (t [0].item.outcome == IH_STORE_RETRACTED && t [2].item.outcome == IH_STORE_RETRACTED);
    IH_CHECK (t [3].item.outcome == IH_STORE_NEW && t [4].item.outcome == IH_STORE_REVISED);
    s_t_free (t, 5);
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1);
    IH_CHECK (!info.retracted && info.retracted_iocs == 1 && m.ioc_count == 2);
    IH_CHECK (ih_store_ioc_retracted (s, &info, &m.iocs [0]));         //  192.0.2.2
    IH_CHECK (!ih_store_ioc_retracted (s, &info, &m.iocs [1]));        //  192.0.2.3
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "192.0.2.2", &h) == 1 && h.last.retracted);
    IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "192.0.2.3", &h) == 1 && !h.last.retracted);
    IH_CHECK (ih_store_get (s, idb, &m, &info, &err) == 1 && info.retracted && info.retract_seq == 11);
    IH_CHECK (ih_store_ioc_retracted (s, &info, &m.iocs [0]));
    IH_CHECK (s_tsearch (s, IH_IOC_URL, "http://phish.example.net/login", &h) == 1 && h.last.retracted);
    IH_CHECK (ih_store_get (s, idc, &m, &info, &err) == 1 && !info.retracted && info.retracted_iocs == 1);
    IH_CHECK (s_tsearch (s, IH_IOC_FILENAME, "evil.exe", &h) == 1 && h.last.retracted);
    IH_CHECK (s_tsearch (s, IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", &h) == 1 && !h.last.retracted);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    IH_CHECK (c.cursor == 14 && c.alerts == 3 && c.retracted == 1 && c.retractions == 3);

    //  5b. The log (one entry per seq, rejected ones too), what refers to an alert, and
    //      the daemon's own values.
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
    ih_buf_t aux;
    ih_buf_init (&aux);
    IH_CHECK (ih_store_aux_get (s, "hook", &aux, &err) == 0 && aux.len == 0);
    IH_CHECK (ih_store_aux_put (s, "hook", "0123456789", 10, &err) == 0);
    IH_CHECK (ih_store_aux_get (s, "hook", &aux, &err) == 1 && aux.len == 10);
    IH_CHECK (memcmp (aux.data, "0123456789", 10) == 0);
    IH_CHECK (ih_store_aux_put (s, "hook", "ab", 2, &err) == 0);
    IH_CHECK (ih_store_aux_get (s, "hook", &aux, &err) == 1 && aux.len == 2);
    IH_CHECK (ih_store_aux_put (s, "hook", NULL, 0, &err) == 0);
    IH_CHECK (ih_store_aux_get (s, "hook", &aux, &err) == 0);
    IH_CHECK (ih_store_aux_put (s, "hook", NULL, 0, &err) == 0);      //  absent: fine
    IH_CHECK (ih_store_aux_put (s, "", "x", 1, &err) == -1 && strstr (err.msg, "aux name"));
    IH_CHECK (ih_store_aux_get (s, NULL, &aux, &err) == -1);
    //  The aux values are not data: the cursor and counts did not move.
    IH_CHECK (ih_store_aux_put (s, "keep", "1", 1, &err) == 0);
    IH_CHECK (ih_store_counts (s, &c2, &err) == 0 && c2.cursor == 14 && c2.messages == c.messages);

    //  6. The map grows by itself.
    uint64_t map0 = c.map_size;
    IH_CHECK (s_t_big_batch (s, 15, 60, &err) == 0);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    if (verbose)
        printf ("\n    map grew from %" PRIu64 " to %" PRIu64 " bytes (%" PRIu64 " used)",
                map0, c.map_size, c.used_bytes);
    IH_CHECK (c.map_size > map0 && c.cursor == 74 && c.alerts == 63);

    //  7. A reader in another process, while this one writes and grows the map.
    int to_child [2], to_parent [2];
    IH_CHECK (pipe (to_child) == 0 && pipe (to_parent) == 0);
    pid_t pid = fork ();
    IH_CHECK (pid >= 0);
    if (pid == 0) {
        //  child: never touch the parent's environment
        ih_err_t cerr;
        ih_store_t *r = ih_store_open (dir, 0, 0, 0, &cerr);
        uint64_t cur = r ? ih_store_cursor (r) : 0;
        if (write (to_parent [1], &cur, 8) != 8)
            _exit (2);
        char go;
        if (read (to_child [0], &go, 1) != 1)
            _exit (3);
        cur = r ? ih_store_cursor (r) : 0;
        s_thits_t ch;
        memset (&ch, 0, sizeof ch);
        int n = r ? ih_store_search (r, IH_IOC_IPV4, "192.0.2.3", 0, s_thit, &ch, &cerr) : -1;
        uint64_t out [2] = { cur, (uint64_t) (int64_t) n };
        if (write (to_parent [1], out, 16) != 16)
            _exit (4);
        ih_store_destroy (&r);
        _exit (0);
    }
    uint64_t child_cur = 0;
    IH_CHECK (read (to_parent [0], &child_cur, 8) == 8 && child_cur == 74);
    IH_CHECK (s_t_big_batch (s, 75, 64, &err) == 0);
    IH_CHECK (s_t_big_batch (s, 139, 64, &err) == 0);
    IH_CHECK (write (to_child [1], "g", 1) == 1);
    uint64_t child_out [2] = { 0, 0 };
    IH_CHECK (read (to_parent [0], child_out, 16) == 16);
    int status;
    IH_CHECK (waitpid (pid, &status, 0) == pid && WIFEXITED (status) && WEXITSTATUS (status) == 0);
    IH_CHECK (child_out [0] == 202 && child_out [1] == 1);
    close (to_child [0]);
    close (to_child [1]);
    close (to_parent [0]);
    close (to_parent [1]);

    //  8. A cap on the map: full is reported as no space, nothing moves, and a larger
    //     cap lets the same batch in.
    ih_store_destroy (&s);
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 1, &err);    //  cap below the current map
    IH_CHECK (s);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    uint64_t cap_cursor = c.cursor;
    int rc = s_t_big_batch (s, 203, 64, &err);
    if (rc == 0) {
        //  the free pages sufficed: try again until the map is really full
        for (uint64_t seq = 267; rc == 0 && seq < 267 + 64 * 64; seq += 64)
            rc = s_t_big_batch (s, seq, 64, &err);
    }
    IH_CHECK (rc == IH_STORE_NOSPACE);
    if (verbose)
        printf ("\n    capped: %s", err.msg);
    IH_CHECK (strstr (err.msg, "disk full") && strstr (err.msg, "not advancing"));
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    cap_cursor = c.cursor;
    ih_store_destroy (&s);
    s = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (s);
    IH_CHECK (s_t_big_batch (s, cap_cursor + 1, 64, &err) == 0);
    IH_CHECK (ih_store_cursor (s) == cap_cursor + 64);

    //  9. The disk is full (simulated with RLIMIT_FSIZE: writes past the limit fail with
    //     EFBIG): no space, nothing kept, cursor unchanged; then room again.
    char datafile [300];
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
        rc = s_t_big_batch (s, ih_store_cursor (s) + 1, 64, &err);
    IH_CHECK (setrlimit (RLIMIT_FSIZE, &old_lim) == 0);
    signal (SIGXFSZ, old_handler);
    IH_CHECK (rc == IH_STORE_NOSPACE);
    if (verbose)
        printf ("\n    disk full: %s", err.msg);
    IH_CHECK (strstr (err.msg, "disk full"));
    full_cursor = ih_store_cursor (s);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == full_cursor);
    IH_CHECK (s_t_big_batch (s, full_cursor + 1, 64, &err) == 0);
    IH_CHECK (ih_store_cursor (s) == full_cursor + 64);
    IH_CHECK (ih_store_get (s, ida, &m, &info, &err) == 1 && info.revision == 3);
    IH_CHECK (ih_store_aux_get (s, "keep", &aux, &err) == 1 && aux.len == 1);
    ih_buf_free (&aux);

    //  10. Misuse is an error, not a crash.
    ih_store_item_t bad [2];
    memset (bad, 0, sizeof bad);
    bad [0].seq = 5;
    bad [1].seq = 4;
    IH_CHECK (ih_store_ingest (s, bad, 2, &err) == -1 && strstr (err.msg, "out of order"));

    //  11. Ownership: only the alert's org revises or retracts it; another org's early
    //      retraction is dropped when the alert arrives, the publisher's own applied.
    {
        uint64_t q = ih_store_cursor (s);
        const char *ido = "dddddddd-4444-4444-8444-000000000004";
        const char *idp = "eeeeeeee-5555-4555-8555-000000000005";
        const char *idq = "ffffffff-6666-4666-8666-000000000006";
        const char *o1 [] = { "domain:owned.example", NULL };
        const char *o2 [] = { "ipv4:203.0.113.99", NULL };
        ih_store_counts_t c0;
        IH_CHECK (ih_store_counts (s, &c0, &err) == 0);
        s_t_alert (&t [0], q + 1, ido, 1, "owned by bank-a", o1);
        s_t_org = "bank-b";
        s_t_alert (&t [1], q + 2, ido, 9, "forged by bank-b", o2);
        s_t_alert (&t [2], q + 3, ido, 1, "forged stale", o2);
        s_t_ref (&t [3], q + 4, IH_KIND_RETRACTION, ido, NULL, 0);
        s_t_ref (&t [4], q + 5, IH_KIND_RETRACTION, ido, o1, 0);
        s_t_ref (&t [5], q + 6, IH_KIND_RETRACTION, idp, NULL, 0);     //  before its alert
        s_t_org = "bank-a";
        s_t_ref (&t [6], q + 7, IH_KIND_RETRACTION, idq, NULL, 0);     //  before its alert
        s_t_alert (&t [7], q + 8, idp, 1, "p", o1);
        s_t_alert (&t [8], q + 9, idq, 1, "q", o1);
        s_t_alert (&t [9], q + 10, ido, 2, "owned by bank-a, rev 2", o1);
        IH_CHECK (s_t_ingest (s, t, 10, &err) == 0);
        IH_CHECK (t [0].item.outcome == IH_STORE_NEW && !t [0].item.why [0]);
        for (int i = 1; i <= 4; i++) {
            if (verbose)
                printf ("\n    refused: %s", t [i].item.why);
            IH_CHECK (t [i].item.outcome == IH_STORE_REJECTED);
            IH_CHECK (strstr (t [i].item.why, "'bank-b' refused") && strstr (t [i].item.why, "'bank-a'"));
        }
        IH_CHECK (t [5].item.outcome == IH_STORE_RETRACTED && t [6].item.outcome == IH_STORE_RETRACTED);
        IH_CHECK (t [7].item.outcome == IH_STORE_NEW && strstr (t [7].item.why, "dropped 1 retraction"));
        IH_CHECK (strstr (t [7].item.why, "'bank-b'") && strstr (t [7].item.why, "'bank-a'"));
        IH_CHECK (t [8].item.outcome == IH_STORE_NEW && !t [8].item.why [0]);
        IH_CHECK (t [9].item.outcome == IH_STORE_REVISED);
        s_t_free (t, 10);
        IH_CHECK (ih_store_get (s, ido, &m, &info, &err) == 1);
        IH_CHECK (streq (m.title, "owned by bank-a, rev 2") && streq (m.org, "bank-a"));
        IH_CHECK (info.revisions == 2 && !info.retracted && info.retracted_iocs == 0);
        s_thits_t oh;
        IH_CHECK (s_tsearch (s, IH_IOC_IPV4, "203.0.113.99", &oh) == 0);
        IH_CHECK (s_tsearch (s, IH_IOC_DOMAIN, "owned.example", &oh) == 3);
        IH_CHECK (ih_store_get (s, idp, &m, &info, &err) == 1 && !info.retracted);
        IH_CHECK (ih_store_get (s, idq, &m, &info, &err) == 1 && info.retracted);
        memset (&rf, 0, sizeof rf);
        IH_CHECK (ih_store_refs_foreach (s, idp, IH_KIND_RETRACTION, s_tref, &rf, &err) == 0 && rf.n == 0);
        IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == q + 10);
        IH_CHECK (c.rejected == c0.rejected + 4 && c.retractions == c0.retractions + 1);
        IH_CHECK (c.alerts == c0.alerts + 3 && c.retracted == c0.retracted + 1);
        ih_store_log_t ol [4];
        IH_CHECK (ih_store_log_read (s, q + 1, ol, 2, &err) == 2 && ol [0].rejected && ol [1].rejected);
    }

    ih_msg_free (&m);
    ih_store_destroy (&s);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
}
#endif
