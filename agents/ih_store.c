/*  ih_store.c: the member agent's LMDB store: its environment. The schema and the
    contract are in ih_store.h; how the store's three files share the work, and the
    return codes between them, in ih_store_int.h.

    Read top to bottom: LMDB codes, the environment (open, share, grow, reopen, recover),
    meta, alert records, counts, the daemon's own values, then the self-test fixtures
    the three files' tests share, and this file's self-test.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ih_mdbfile.h"
#include "ih_store_int.h"
#include "ih_codec.h"
#include "ih_sign.h"

static const char *s_db_names [IH_STORE_NDBS_V1] = {
    "meta", "alerts", "byseq", "log", "refs", "comments", "retractions", "sightings",
    "members", "iocs"
};

/* ---- LMDB codes --------------------------------------------------------------------------- */

int
ih_store_mdb (ih_store_t *self, int rc, const char *what)
{
    if (rc == 0)
        return IH_OK;
    //  LMDB reports a short write (a disk that filled up during the write) as EIO:
    //  ih_mdb_disk_full tells it from a real I/O error by the room left
    uint64_t avail = 0;
    if (self->writer && rc != EIO && ih_mdb_disk_full (self->dir, rc, &avail)) {
        ih_err_set (&self->why, "store: disk full: %s", strerror (rc));
        return IH_ENOSPACE;
    }
    if (self->writer && rc == EIO && ih_mdb_disk_full (self->dir, rc, &avail)) {
        ih_err_set (&self->why, "store: disk full: a write came up short with %" PRIu64
                    " KiB left on the filesystem", avail >> 10);
        return IH_ENOSPACE;
    }
    if (rc == MDB_PANIC)
        self->panic = true;     //  a failed write of the meta page: ih_store_recover reopens
    ih_err_set (&self->why, "store: %s: %s", what, mdb_strerror (rc));
    return rc == MDB_MAP_FULL ? IH_EMAPFULL : IH_EFAIL;
}

int
ih_store_mdb_get (ih_store_t *self, MDB_txn *txn, int db, MDB_val *k, MDB_val *v, const char *what)
{
    ih_store_count_read ();
    int rc = ih_mdb_get (txn, self->dbi [db], k, v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == 0 ? 1 : ih_store_mdb (self, rc, what);
}

int
ih_store_mdb_next (ih_store_t *self, MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op,
                   const char *what)
{
    ih_store_count_read ();
    int rc = ih_mdb_cursor_get (cur, k, v, op);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == 0 ? 1 : ih_store_mdb (self, rc, what);
}

int
ih_store_fail (ih_store_t *self, ih_err_t *err)
{
    if (err)
        *err = self->why;
    return IH_EFAIL;
}

/* ---- the map gate ------------------------------------------------------------------------ */

/*  When the daemon grows the map past what a reader process mapped, that process's next
    mdb_txn_begin says MDB_MAP_RESIZED, and it must map the new size with
    mdb_env_set_mapsize (env, 0) before it can read on. That call unmaps and maps the
    file again, so LMDB allows it only while no other thread of the process is inside a
    read: a console with several HTTP threads on one environment (ih_store_share) would
    pull the map from under the others (SIGSEGV). The gate is a read-write lock per
    environment: every read (from ih_store_txn_begin to ih_store_txn_end, a snapshot's
    reads included; a snapshot's transaction itself stays open between reads, which is
    fine: it points at pages, not addresses) holds it shared, and adopting a new size
    holds it exclusive. A thread that already reads elsewhere cannot wait for the others
    to leave (it would wait for itself): its nested read fails once with "the writer grew
    the map", and the next read adopts. The lock prefers readers, so a thread may take it
    again inside its own read; a waiting adopter cannot starve, since every new read that
    begins a transaction after the growth comes to adopt too. */
struct ih_store_gate {
    pthread_rwlock_t lock;
};

static __thread int s_gate_held;        /* shared holds of this thread, on any store */

static void
s_gate_enter (ih_store_t *self)
{
    if (self->gate && self->gate_depth++ == 0) {
        pthread_rwlock_rdlock (&self->gate->lock);
        s_gate_held++;
    }
}

static void
s_gate_leave (ih_store_t *self)
{
    if (self->gate && --self->gate_depth == 0) {
        pthread_rwlock_unlock (&self->gate->lock);
        s_gate_held--;
    }
}

/*  Maps the size the writer grew the map to (or, for the writer, size). With a gate,
    waits until no other thread of the process reads; refused (-1) when this thread
    reads elsewhere itself. Returns 0, -1, or an LMDB code. */
static int
s_gate_set_mapsize (ih_store_t *self, size_t size)
{
    if (!self->gate)
        return mdb_env_set_mapsize (self->env, size);
    bool mine = self->gate_depth > 0;       //  the caller's own read, left while waiting
    if (s_gate_held > (mine ? 1 : 0))
        return -1;
    if (mine)
        pthread_rwlock_unlock (&self->gate->lock);
    pthread_rwlock_wrlock (&self->gate->lock);
    int rc = mdb_env_set_mapsize (self->env, size);
    pthread_rwlock_unlock (&self->gate->lock);
    if (mine)
        pthread_rwlock_rdlock (&self->gate->lock);
    return rc;
}

/* ---- environment ------------------------------------------------------------------------- */

int
ih_store_txn_begin (ih_store_t *self, unsigned flags, MDB_txn **txn, const char *what)
{
    bool read = (flags & MDB_RDONLY) != 0;
    if (read)
        s_gate_enter (self);
    if (self->snap && read) {
        *txn = self->snap;
        return IH_OK;
    }
    int rc = mdb_txn_begin (self->env, NULL, flags, txn);
    for (int tries = 0; rc == MDB_MAP_RESIZED && tries < 3; tries++) {
        //  The writer grew the map: adopt its size and try again.
        int src = s_gate_set_mapsize (self, 0);
        if (src == -1) {
            if (read)
                s_gate_leave (self);
            return ih_err_set (&self->why, "store: %s: the writer grew the map while this thread "
                               "reads the store elsewhere: try again", what);
        }
        rc = src ? src : mdb_txn_begin (self->env, NULL, flags, txn);
    }
    if (rc && read)
        s_gate_leave (self);
    return ih_store_mdb (self, rc, what);
}

void
ih_store_txn_end (ih_store_t *self, MDB_txn *txn)
{
    if (!txn)
        return;
    if (txn != self->snap)
        mdb_txn_abort (txn);
    s_gate_leave (self);
}

/*  Opens the environment and its databases; a writer creates them and the version. */
static int
s_env_open (ih_store_t *self, uint64_t map_size)
{
    //  A data file cut short would be a SIGBUS at the first read past its end.
    if (ih_mdb_check (self->dir, "store", "stop the agent, move the store directory away and "
                      "start it again: it rebuilds from the broker (README, Recovery)", &self->why) != 0)
        return IH_EFAIL;
    int rc = ih_store_mdb (self, mdb_env_create (&self->env), "cannot create environment");
    if (rc)
        return rc;
    mdb_env_set_assert (self->env, (MDB_assert_func *) ih_mdb_assert_hook);  //  damaged pages
    mdb_env_set_maxdbs (self->env, IH_STORE_NDBS + 2);
    mdb_env_set_maxreaders (self->env, 254);
    if (self->writer)
        mdb_env_set_mapsize (self->env, (size_t) map_size);
    unsigned flags = MDB_NOTLS | (self->writer ? 0 : MDB_RDONLY);
    int mrc = mdb_env_open (self->env, self->dir, flags, 0600);
    if (mrc) {
        mdb_env_close (self->env);
        self->env = NULL;
        return ih_err_set (&self->why, "store %s: cannot open: %s", self->dir, mdb_strerror (mrc));
    }
    MDB_txn *txn;
    rc = ih_store_txn_begin (self, self->writer ? 0 : MDB_RDONLY, &txn, "cannot begin transaction");
    if (rc)
        return rc;
    for (int i = 0; i < IH_STORE_NDBS_V1; i++) {
        unsigned f = (self->writer ? MDB_CREATE : 0)
                   | (i == IH_STORE_DB_IOCS ? MDB_DUPSORT | MDB_DUPFIXED : 0);
        mrc = mdb_dbi_open (txn, s_db_names [i], f, &self->dbi [i]);
        if (mrc) {
            mdb_txn_abort (txn);
            if (mrc == MDB_NOTFOUND)
                return ih_err_set (&self->why, "store %s: not created yet", self->dir);
            return ih_err_set (&self->why, "store %s: database %s: %s", self->dir, s_db_names [i],
                               mdb_strerror (mrc));
        }
    }
    MDB_val k = ih_store_val ("version", 7), v;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_META, &k, &v, "cannot initialise");
    uint32_t version = found == 1 && v.mv_size == 4 ? ih_get_le32 (v.mv_data) : 0;
    if (found == 1 && version != IH_STORE_FORMAT && version != 1) {
        mdb_txn_abort (txn);
        return ih_err_set (&self->why, "store %s: format %u is not supported (want %d)", self->dir,
                           version, IH_STORE_FORMAT);
    }
    //  Format 1 (an older daemon's): a writer upgrades it once open (ih_store_upgrade); a
    //  reader reads it as it is, without the format 2 databases.
    self->format = found == 1 ? (int) version : IH_STORE_FORMAT;
    self->upgrade = self->writer && self->format == 1;
    rc = found < 0 ? found : ih_store_v2_open (self, txn, self->writer);
    if (rc > 0) {
        self->format = 1;       //  a reader of format 1: the databases are not there
        rc = IH_OK;
    }
    if (rc == IH_OK && found == 0 && self->writer) {
        uint8_t ver [4];
        ih_put_le32 (ver, IH_STORE_FORMAT);
        v = ih_store_val (ver, 4);
        rc = ih_store_mdb (self, mdb_put (txn, self->dbi [IH_STORE_DB_META], &k, &v, 0),
                           "cannot initialise");
    }
    //  (A reader that finds no version raced the writer's first transaction: fine.)
    if (rc) {
        mdb_txn_abort (txn);
        return rc;
    }
    return ih_store_mdb (self, mdb_txn_commit (txn), "cannot initialise");
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
    ih_buf_init (&self->words);
    ih_sign_init ();

    if (self->writer) {
        if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
            ih_err_set (err, "store %s: cannot create: %s", dir, strerror (errno));
            goto fail;
        }
        self->lock_fd = ih_mdb_lock (dir, "agent.lock", "store", "agent", err);
        if (self->lock_fd < 0)
            goto fail;
        if (map_size == 0)
            map_size = IH_STORE_DEFAULT_MAP;
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
    if (s_env_open (self, map_size) != IH_OK) {
        ih_store_fail (self, err);
        goto fail;
    }
    self->gate = (struct ih_store_gate *) calloc (1, sizeof *self->gate);
    if (!self->gate)
        abort ();
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init (&attr);
    pthread_rwlockattr_setkind_np (&attr, PTHREAD_RWLOCK_PREFER_READER_NP);
    pthread_rwlock_init (&self->gate->lock, &attr);
    pthread_rwlockattr_destroy (&attr);
    if (self->writer) {
        int dead = 0;
        mdb_reader_check (self->env, &dead);
    }
    if (self->upgrade && ih_store_upgrade (self, err) != IH_OK)
        goto fail;
    return self;
fail:
    ih_store_destroy (&self);
    return NULL;
}

ih_store_t *
ih_store_share (ih_store_t *self)
{
    //  LMDB allows one environment per file per process, so threads of one process
    //  share it; each handle keeps its own scratch buffers and its own why.
    ih_store_t *copy = (ih_store_t *) calloc (1, sizeof *copy);
    if (!copy)
        abort ();
    copy->dir = strdup (self->dir);
    if (!copy->dir)
        abort ();
    copy->shared = true;
    copy->format = self->format;
    copy->lock_fd = -1;
    copy->max_map = self->max_map;
    copy->env = self->env;
    copy->gate = self->gate;
    memcpy (copy->dbi, self->dbi, sizeof copy->dbi);
    copy->cache = self->cache;
    ih_msg_init (&copy->scratch, IH_KIND_ALERT);
    ih_buf_init (&copy->rbuf);
    ih_buf_init (&copy->rset);
    ih_buf_init (&copy->body);
    ih_buf_init (&copy->words);
    return copy;
}

ih_store_t *
ih_store_snapshot (ih_store_t *self, ih_err_t *err)
{
    //  The environment is opened MDB_NOTLS: the read transaction is not tied to the
    //  thread that began it, and that thread may hold other read transactions too (its
    //  own handle's), as an HTTP stream needs.
    ih_store_t *snap = ih_store_share (self);
    snap->cache = NULL;             //  ih_store.h: a stream would push out what pages use
    if (ih_store_txn_begin (snap, MDB_RDONLY, &snap->snap, "cannot take a snapshot") != IH_OK) {
        snap->snap = NULL;
        ih_store_fail (snap, err);
        ih_store_destroy (&snap);
    }
    else
        s_gate_leave (snap);        //  the transaction stays; each read takes the gate again
    return snap;
}

void
ih_store_destroy (ih_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_store_t *self = *self_p;
    if (self->txn)
        mdb_txn_abort (self->txn);
    if (self->snap)
        mdb_txn_abort (self->snap);
    if (self->env && !self->shared)
        mdb_env_close (self->env);
    if (self->gate && !self->shared) {
        pthread_rwlock_destroy (&self->gate->lock);
        free (self->gate);
    }
    if (self->lock_fd >= 0)
        close (self->lock_fd);      //  releases the flock
    ih_msg_free (&self->scratch);
    ih_buf_free (&self->rbuf);
    ih_buf_free (&self->rset);
    ih_buf_free (&self->body);
    ih_buf_free (&self->words);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/*  Doubles the map (capped by max_map). No transaction may be open. Returns IH_OK, or
    IH_ENOSPACE when the cap is reached, or IH_EFAIL. */
static int
s_grow (ih_store_t *self)
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
            ih_err_set (&self->why, "store: disk full: map full at the configured maximum (%"
                        PRIu64 " bytes)", self->max_map);
            return IH_ENOSPACE;
        }
        want = self->max_map;
    }
    //  Threads of this process that read through shared handles wait (the gate).
    int rc = s_gate_set_mapsize (self, (size_t) want);
    if (rc == -1)
        return ih_err_set (&self->why, "store: cannot grow the map while this thread reads it");
    return ih_store_mdb (self, rc, "cannot grow the map");
}

/*  After MDB_PANIC (a failed write of the meta page), the environment must be reopened. */
static int
s_reopen (ih_store_t *self)
{
    MDB_envinfo info;
    mdb_env_info (self->env, &info);
    mdb_env_close (self->env);
    self->env = NULL;
    self->panic = false;
    return s_env_open (self, info.me_mapsize);
}

int
ih_store_recover (ih_store_t *self, int rc)
{
    if (rc == IH_EMAPFULL)
        return s_grow (self);
    if (self->panic)
        return s_reopen (self);
    return rc;
}

/* ---- meta ------------------------------------------------------------------------------- */

int
ih_store_meta_load (ih_store_t *self, MDB_txn *txn, uint64_t *cursor, ih_store_meta_counts_t *c,
                    uint32_t *plen, const char *what)
{
    MDB_val k, v;
    *cursor = 0;
    k = ih_store_val ("cursor", 6);
    int rc = ih_store_mdb_get (self, txn, IH_STORE_DB_META, &k, &v, what);
    if (rc < 0)
        return rc;
    if (rc == 1 && v.mv_size == 8)
        *cursor = ih_get_le64 (v.mv_data);
    memset (c, 0, sizeof *c);
    k = ih_store_val ("counts", 6);
    rc = ih_store_mdb_get (self, txn, IH_STORE_DB_META, &k, &v, what);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        uint64_t *f = (uint64_t *) c;
        size_t n = v.mv_size / 8 < IH_STORE_NCOUNTS ? v.mv_size / 8 : IH_STORE_NCOUNTS;
        for (size_t i = 0; i < n; i++)
            f [i] = ih_get_le64 ((const uint8_t *) v.mv_data + 8 * i);
    }
    if (plen) {
        memset (plen, 0, IH_INDEX_PLEN_N * sizeof *plen);
        k = ih_store_val ("plen", 4);
        rc = ih_store_mdb_get (self, txn, IH_STORE_DB_META, &k, &v, what);
        if (rc < 0)
            return rc;
        if (rc == 1 && v.mv_size == IH_INDEX_PLEN_N * 4) {
            for (int i = 0; i < IH_INDEX_PLEN_N; i++)
                plen [i] = ih_get_le32 ((const uint8_t *) v.mv_data + 4 * i);
        }
    }
    return IH_OK;
}

int
ih_store_meta_save (ih_store_t *self, const char *what)
{
    MDB_dbi meta = self->dbi [IH_STORE_DB_META];
    uint8_t b8 [8];
    ih_put_le64 (b8, self->cursor);
    MDB_val k = ih_store_val ("cursor", 6), v = ih_store_val (b8, 8);
    int rc = ih_store_mdb (self, mdb_put (self->txn, meta, &k, &v, 0), what);
    if (rc)
        return rc;
    uint8_t cb [8 * IH_STORE_NCOUNTS];
    const uint64_t *f = (const uint64_t *) &self->counts;
    for (int i = 0; i < IH_STORE_NCOUNTS; i++)
        ih_put_le64 (cb + 8 * i, f [i]);
    k = ih_store_val ("counts", 6);
    v = ih_store_val (cb, sizeof cb);
    rc = ih_store_mdb (self, mdb_put (self->txn, meta, &k, &v, 0), what);
    if (rc)
        return rc;
    uint8_t pb [4 * IH_INDEX_PLEN_N];
    for (int i = 0; i < IH_INDEX_PLEN_N; i++)
        ih_put_le32 (pb + 4 * i, self->plen [i]);
    k = ih_store_val ("plen", 4);
    v = ih_store_val (pb, sizeof pb);
    return ih_store_mdb (self, mdb_put (self->txn, meta, &k, &v, 0), what);
}

/* ---- alert records --------------------------------------------------------------------- */

int
ih_store_arec_parse (ih_store_t *self, const char *id, const MDB_val *v, ih_store_arec_t *r)
{
    const uint8_t *p = (const uint8_t *) v->mv_data;
    if (v->mv_size < IH_STORE_ARHDR || p [0] != 1)
        return ih_err_set (&self->why, "store: alert %.36s: corrupt record", id);
    r->status = p [1];
    r->revision = ih_get_le32 (p + 4);
    r->revisions = ih_get_le32 (p + 8);
    r->nret = ih_get_le32 (p + 12);
    r->seq = ih_get_le64 (p + 16);
    r->first_seq = ih_get_le64 (p + 24);
    r->retract_seq = ih_get_le64 (p + 32);
    r->body_len = ih_get_le32 (p + 40);
    r->sig = p + 48;
    if ((size_t) IH_STORE_ARHDR + r->body_len > v->mv_size)
        return ih_err_set (&self->why, "store: alert %.36s: corrupt record", id);
    r->body = p + IH_STORE_ARHDR;
    r->rset = p + IH_STORE_ARHDR + r->body_len;
    r->rset_len = v->mv_size - IH_STORE_ARHDR - r->body_len;
    return IH_OK;
}

void
ih_store_arec_build (ih_store_t *self, const ih_store_arec_t *r, const uint8_t *rset, size_t rset_len)
{
    ih_buf_t *b = &self->rbuf;
    ih_buf_reset (b);
    ih_buf_reserve (b, IH_STORE_ARHDR + r->body_len + rset_len);
    uint8_t *p = b->data;
    memset (p, 0, IH_STORE_ARHDR);
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
    memcpy (p + IH_STORE_ARHDR, r->body, r->body_len);
    if (rset_len)
        memcpy (p + IH_STORE_ARHDR + r->body_len, rset, rset_len);
    b->len = IH_STORE_ARHDR + r->body_len + rset_len;
}

void
ih_store_ref_key (const char *ref, uint64_t seq, uint8_t out [IH_UUID_LEN + 8])
{
    memcpy (out, ref, IH_UUID_LEN);
    ih_put_be64 (out + IH_UUID_LEN, seq);
}

/* ---- counts ------------------------------------------------------------------------------ */

int
ih_store_counts (ih_store_t *self, ih_store_counts_t *c, ih_err_t *err)
{
    memset (c, 0, sizeof *c);
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    ih_store_meta_counts_t sc;
    int rc = ih_store_meta_load (self, txn, &c->cursor, &sc, NULL, "cannot read meta");
    //  The environment's figures read the map's meta pages: inside the gate.
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info (self->env, &info);
    mdb_env_stat (self->env, &st);
    ih_store_txn_end (self, txn);
    if (rc)
        return ih_store_fail (self, err);
    c->alerts = sc.alerts;
    c->retracted = sc.retracted;
    c->iocs = sc.iocs;
    c->comments = sc.comments;
    c->retractions = sc.retractions;
    c->sightings = sc.sightings;
    c->messages = sc.messages;
    c->rejected = sc.rejected;
    c->map_size = info.me_mapsize;
    c->used_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    return IH_OK;
}

uint64_t
ih_store_cursor (ih_store_t *self)
{
    ih_store_counts_t c;
    return ih_store_counts (self, &c, NULL) == IH_OK ? c.cursor : 0;
}

uint64_t
ih_store_map_size (ih_store_t *self)
{
    MDB_envinfo info;
    s_gate_enter (self);
    mdb_env_info (self->env, &info);
    s_gate_leave (self);
    return info.me_mapsize;
}

const char *
ih_store_dir (ih_store_t *self)
{
    return self->dir;
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
        return IH_EFAIL;
    ih_buf_reset (out);
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_val k = ih_store_val (key, (size_t) klen), v;
    int found = ih_store_mdb_get (self, txn, IH_STORE_DB_META, &k, &v, "cannot read");
    if (found == 1)
        ih_buf_append (out, v.mv_data, v.mv_size);
    ih_store_txn_end (self, txn);
    return found < 0 ? ih_store_fail (self, err) : found;
}

/*  One attempt: the value in a transaction of its own. */
static int
s_aux_txn (ih_store_t *self, const char *key, size_t klen, const void *data, size_t len)
{
    MDB_txn *txn;
    int rc = ih_store_txn_begin (self, 0, &txn, "cannot write");
    if (rc)
        return rc;
    MDB_val k = ih_store_val (key, klen), v = ih_store_val (data, len);
    int mrc = data ? mdb_put (txn, self->dbi [IH_STORE_DB_META], &k, &v, 0)
                   : mdb_del (txn, self->dbi [IH_STORE_DB_META], &k, NULL);
    rc = ih_store_mdb (self, mrc == MDB_NOTFOUND ? 0 : mrc, "cannot write");
    if (rc) {
        mdb_txn_abort (txn);
        return rc;
    }
    return ih_store_mdb (self, mdb_txn_commit (txn), "cannot write");
}

int
ih_store_aux_put (ih_store_t *self, const char *name, const void *data, size_t len, ih_err_t *err)
{
    if (!self->writer)
        return ih_err_set (err, "store: opened read-only");
    char key [80];
    int klen = s_aux_key (name, key, err);
    if (klen < 0)
        return IH_EFAIL;
    for (int attempt = 0; attempt < 16; attempt++) {
        int rc = s_aux_txn (self, key, (size_t) klen, data, len);
        if (rc == IH_OK)
            return IH_OK;
        rc = ih_store_recover (self, rc);
        if (rc == IH_OK)
            continue;           //  the map grew, or the environment was reopened: redo
        ih_store_fail (self, err);
        return rc == IH_ENOSPACE ? IH_ENOSPACE : IH_EFAIL;
    }
    return ih_err_set (err, "store: cannot grow the map for %s", name);
}

/* ---- self-test fixtures ------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include <signal.h>
#include <stdatomic.h>

#include "ih_testkit.h"

/*  A message, its encoded body and signature. */
typedef struct {
    ih_msg_t msg;
    ih_buf_t body;
    uint8_t sig [64];
} s_tbuilt_t;

/*  Encodes b->msg into an item under seq, with a made-up signature and member record
    (the store keeps both but checks neither). */
static void
s_tencode (s_tbuilt_t *b, ih_store_item_t *it, uint64_t seq)
{
    ih_err_t err = { "" };
    if (ih_body_encode (&b->msg, &b->body, &err) != 0) {
        fprintf (stderr, "store test: %s\n", err.msg);
        IH_CHECK (false);
    }
    memset (b->sig, (int) (seq & 0xff), 64);
    memset (it, 0, sizeof *it);
    it->seq = seq;
    it->msg = &b->msg;
    it->body = b->body.data;
    it->body_len = b->body.len;
    it->sig = b->sig;
    it->rec = (const uint8_t *) "record";
    it->rec_len = 6;
    it->rec_sig = b->sig;
}

/*  Ingests the n items built, hands their outcomes back and frees what was built. */
static int
s_tapply (ih_store_t *s, s_tbuilt_t *b, ih_store_item_t *items, size_t n,
          ih_store_tresult_t *results, ih_err_t *err)
{
    int rc = ih_store_ingest (s, items, n, err);
    for (size_t i = 0; i < n; i++) {
        if (results) {
            results [i].outcome = items [i].outcome;
            memcpy (results [i].why, items [i].why, sizeof results [i].why);
        }
        ih_msg_free (&b [i].msg);
        ih_buf_free (&b [i].body);
    }
    free (b);
    free (items);
    return rc;
}

int
ih_store_tingest (ih_store_t *s, const ih_store_tmsg_t *msgs, size_t n, ih_store_tresult_t *results,
                  ih_err_t *err)
{
    s_tbuilt_t *b = (s_tbuilt_t *) calloc (n, sizeof *b);
    ih_store_item_t *items = (ih_store_item_t *) calloc (n, sizeof *items);
    IH_CHECK (b && items);
    for (size_t i = 0; i < n; i++) {
        const ih_store_tmsg_t *t = &msgs [i];
        ih_msg_t *m = &b [i].msg;
        ih_buf_init (&b [i].body);
        if (t->kind == IH_KIND_COUNT) {
            //  failed verification: only the seq is delivered
            ih_msg_init (m, IH_KIND_ALERT);
            items [i].seq = t->seq;
            continue;
        }
        if (t->kind == IH_KIND_ALERT) {
            ih_tk_alert (m, NULL, IH_TLP_GREEN, t->title);
            if (t->id)
                snprintf (m->id, sizeof m->id, "%s", t->id);
            m->revision = t->revision;
            m->modified += t->revision;
        }
        else {
            ih_tk_ref (m, NULL, t->kind, t->id);
            if (t->kind == IH_KIND_SIGHTING)
                m->count = t->count;
        }
        if (t->org)
            m->org = ih_msg_str (m, t->org);
        ih_tk_iocs (m, t->iocs, t->kind == IH_KIND_ALERT);
        s_tencode (&b [i], &items [i], t->seq);
    }
    return s_tapply (s, b, items, n, results, err);
}

int
ih_store_tbulk (ih_store_t *s, uint64_t first, size_t n, ih_err_t *err)
{
    s_tbuilt_t *b = (s_tbuilt_t *) calloc (n, sizeof *b);
    ih_store_item_t *items = (ih_store_item_t *) calloc (n, sizeof *items);
    IH_CHECK (b && items);
    char summary [8000];
    memset (summary, 'x', sizeof summary - 1);
    summary [sizeof summary - 1] = 0;
    for (size_t i = 0; i < n; i++) {
        ih_msg_t *m = &b [i].msg;
        ih_buf_init (&b [i].body);
        ih_tk_alert (m, NULL, IH_TLP_GREEN, "bulk");
        m->summary = ih_msg_str (m, summary);
        for (int j = 0; j < 50; j++) {
            char ip [32];
            snprintf (ip, sizeof ip, "172.%d.%d.%d", (int) ((first + i) % 200), j, (int) (i % 250) + 1);
            ih_msg_ioc_add (m, IH_IOC_IPV4, ip, "", true);
        }
        s_tencode (&b [i], &items [i], first + i);
    }
    return s_tapply (s, b, items, n, NULL, err);
}

void
ih_store_thistory (ih_store_t *s, int batch, ih_store_tresult_t *results)
{
    static const char *a1 [] = { "ipv4:192.0.2.1", "domain:evil.example", "cidr:198.51.100.0/24", NULL };
    static const char *b1 [] = { "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                 "url:http://phish.example.net/login", NULL };
    static const char *seen [] = { "ipv4:192.0.2.1", NULL };
    static const char *a2 [] = { "ipv4:192.0.2.2", "domain:evil.example", NULL };
    static const char *r1 [] = { "ipv4:192.0.2.2", NULL };
    static const char *c1 [] = { "md5:d41d8cd98f00b204e9800998ecf8427e", "filename:evil.exe", NULL };
    static const char *rc1 [] = { "filename:evil.exe", NULL };
    static const char *a3 [] = { "ipv4:192.0.2.2", "ipv4:192.0.2.3", NULL };
    //  1. One batch of every kind, with a rejected item in the middle.
    static const ih_store_tmsg_t first [] = {
        { .seq = 1, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 1, .title = "first", .iocs = a1 },
        { .seq = 2, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_B, .revision = 1, .title = "second", .iocs = b1 },
        { .seq = 3, .kind = IH_KIND_COUNT },
        { .seq = 4, .kind = IH_KIND_COMMENT, .id = IH_STORE_TID_A },
        { .seq = 5, .kind = IH_KIND_SIGHTING, .id = IH_STORE_TID_A, .iocs = seen, .count = 3 },
        { .seq = 6, .kind = IH_KIND_SIGHTING, .id = "", .iocs = seen, .count = 2 }
    };
    //  2. Revisions: a higher one, a lower one late, an equal one.
    static const ih_store_tmsg_t second [] = {
        { .seq = 7, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 2, .title = "first, revised", .iocs = a2 },
        { .seq = 8, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 1, .title = "first, stale", .iocs = a1 },
        { .seq = 9, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 2, .title = "first, again", .iocs = a2 }
    };
    //  3. Retractions: of one IOC (sticky across revisions), of a whole alert, and of an
    //     alert not received yet (applied when it comes).
    static const ih_store_tmsg_t third [] = {
        { .seq = 10, .kind = IH_KIND_RETRACTION, .id = IH_STORE_TID_A, .iocs = r1 },
        { .seq = 11, .kind = IH_KIND_RETRACTION, .id = IH_STORE_TID_B },
        { .seq = 12, .kind = IH_KIND_RETRACTION, .id = IH_STORE_TID_C, .iocs = rc1 },
        { .seq = 13, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_C, .revision = 2, .title = "third", .iocs = c1 },
        { .seq = 14, .kind = IH_KIND_ALERT, .id = IH_STORE_TID_A, .revision = 3, .title = "first, third revision",
          .iocs = a3 }
    };
    const ih_store_tmsg_t *msgs = batch == 1 ? first : batch == 2 ? second : third;
    size_t n = batch == 1 ? 6 : batch == 2 ? 3 : 5;
    IH_CHECK (batch >= 1 && batch <= 3);
    ih_err_t err = { "" };
    int rc = ih_store_tingest (s, msgs, n, results, &err);
    if (rc != IH_OK)
        fprintf (stderr, "store test: history batch %d: %s\n", batch, err.msg);
    IH_CHECK (rc == IH_OK);
}

typedef struct {
    int n;
    ih_index_hit_t *last;
} s_thits_t;

static int
s_thit (const ih_index_hit_t *hit, void *arg)
{
    s_thits_t *h = (s_thits_t *) arg;
    h->n++;
    if (h->last)
        *h->last = *hit;
    return 0;
}

int
ih_store_tsearch (ih_store_t *s, ih_ioc_type_t t, const char *value, ih_index_hit_t *last)
{
    s_thits_t h = { 0, last };
    ih_err_t err = { "" };
    int n = ih_store_search (s, t, value, 0, s_thit, &h, &err);
    IH_CHECK (n >= 0 && n == h.n);
    return n;
}

/* ---- self-test ------------------------------------------------------------------------------ */

static int
s_tcount (const ih_index_hit_t *hit, void *arg)
{
    (*(int *) arg)++;
    return 0;
}

/*  A reader process as the console is one: threads with their own handles (ih_store_share)
    on one read-only environment, and an export's snapshot, reading while a writer in
    another process grows the map. */
typedef struct {
    ih_store_t *h;
    bool snapshot;                  /* h is a snapshot: reads only what it saw */
    _Atomic bool *stop;
    int reads, errors;
    uint64_t last_cursor;
    char first_error [256];
} s_treader_t;

static int
s_tread_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    return ++*(int *) arg >= 8 ? 1 : 0;
}

static void *
s_treader (void *arg)
{
    s_treader_t *t = (s_treader_t *) arg;
    while (!*t->stop) {
        ih_err_t err = { "" };
        ih_store_counts_t c;
        int n = 0, hits = 0;
        int rc = ih_store_counts (t->h, &c, &err);
        if (rc == 0)
            rc = ih_store_foreach (t->h, c.cursor > 16 ? c.cursor - 16 : 0, false, s_tread_one, &n, &err);
        if (rc >= 0)
            rc = ih_store_search (t->h, IH_IOC_IPV4, "192.0.2.3", 0, s_tcount, &hits, &err);
        if (rc >= 0 && ih_store_map_size (t->h) == 0)
            rc = ih_err_set (&err, "map size 0");
        if (rc < 0) {
            if (t->errors++ == 0)
                snprintf (t->first_error, sizeof t->first_error, "%s", err.msg);
        }
        else
            t->last_cursor = c.cursor;
        t->reads++;
    }
    return NULL;
}

/*  The child's part: 3 threads and a snapshot read until the parent says stop (a byte on
    go), then the newest cursor goes back on out. Exits 0 when no read failed. */
static void
s_treaders (const char *dir, int go, int out)
{
    ih_err_t err;
    ih_store_t *r = ih_store_open (dir, 0, 0, 0, &err);
    if (!r)
        _exit (2);
    _Atomic bool stop = false;
    s_treader_t t [4];
    pthread_t th [4];
    memset (t, 0, sizeof t);
    for (int i = 0; i < 4; i++) {
        t [i].snapshot = i == 3;
        t [i].h = i < 3 ? ih_store_share (r) : ih_store_snapshot (r, &err);
        t [i].stop = &stop;
        if (!t [i].h || pthread_create (&th [i], NULL, s_treader, &t [i]) != 0)
            _exit (3);
    }
    char c;
    if (read (go, &c, 1) != 1)
        _exit (4);
    stop = true;
    int errors = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join (th [i], NULL);
        if (t [i].errors)
            fprintf (stderr, "store: reader %d: %d of %d reads failed, first: %s\n", i, t [i].errors,
                     t [i].reads, t [i].first_error);
        errors += t [i].errors;
        ih_store_destroy (&t [i].h);
    }
    uint64_t cur = ih_store_cursor (r);
    ih_store_destroy (&r);
    if (write (out, &cur, 8) != 8)
        _exit (5);
    _exit (errors ? 1 : 0);
}

void
ih_store_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store", base, sizeof base);
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
    IH_CHECK (streq (ih_store_dir (s), dir));

    //  The tests' history (what it does is checked in ih_store_ingest_test).
    for (int batch = 1; batch <= 3; batch++)
        ih_store_thistory (s, batch, NULL);
    ih_store_counts_t c, c2;
    IH_CHECK (ih_store_counts (s, &c, &err) == 0 && c.cursor == 14 && c.alerts == 3);
    IH_CHECK (c.map_size == ih_store_map_size (s));

    //  The daemon's own values.
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
    ih_buf_free (&aux);

    //  A handle for another thread reads the same environment; destroying it leaves the
    //  environment open.
    ih_store_t *shared = ih_store_share (s);
    IH_CHECK (ih_store_cursor (shared) == 14);
    ih_store_destroy (&shared);
    IH_CHECK (shared == NULL && ih_store_cursor (s) == 14);

    //  The map grows by itself.
    uint64_t map0 = c.map_size;
    IH_CHECK (ih_store_tbulk (s, 15, 60, &err) == 0);
    IH_CHECK (ih_store_counts (s, &c, &err) == 0);
    if (verbose)
        printf ("\n    map grew from %" PRIu64 " to %" PRIu64 " bytes (%" PRIu64 " used)",
                map0, c.map_size, c.used_bytes);
    IH_CHECK (c.map_size > map0 && c.cursor == 74 && c.alerts == 63);

    //  A reader in another process, while this one writes and grows the map.
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
        int hits = 0;
        int n = r ? ih_store_search (r, IH_IOC_IPV4, "192.0.2.3", 0, s_tcount, &hits, &cerr) : -1;
        uint64_t out [2] = { cur, (uint64_t) (int64_t) n };
        if (write (to_parent [1], out, 16) != 16)
            _exit (4);
        ih_store_destroy (&r);
        _exit (0);
    }
    uint64_t child_cur = 0;
    IH_CHECK (read (to_parent [0], &child_cur, 8) == 8 && child_cur == 74);
    IH_CHECK (ih_store_tbulk (s, 75, 64, &err) == 0);
    IH_CHECK (ih_store_tbulk (s, 139, 64, &err) == 0);
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

    //  Threads of a reader process share its environment while the writer grows the map
    //  several times (the Members Zone console and its daemon): a reader that adopts the
    //  new size must not pull the map from under the others (mdb_env_set_mapsize with
    //  their transactions open), so every read succeeds and the readers catch up.
    IH_CHECK (pipe (to_child) == 0 && pipe (to_parent) == 0);
    uint64_t map1 = ih_store_map_size (s);
    pid = fork ();
    IH_CHECK (pid >= 0);
    if (pid == 0)
        s_treaders (dir, to_child [0], to_parent [1]);
    close (to_child [0]);           //  a reader that dies is seen at once (EOF)
    close (to_parent [1]);
    signal (SIGPIPE, SIG_IGN);
    usleep (50000);
    uint64_t next = 203;
    for (int i = 0; i < 12; i++, next += 64)
        IH_CHECK (ih_store_tbulk (s, next, 64, &err) == 0);
    uint64_t map2 = ih_store_map_size (s);
    if (verbose)
        printf ("\n    readers in another process while the map grew from %" PRIu64 " to %" PRIu64 " bytes",
                map1, map2);
    IH_CHECK (map2 >= 4 * map1);
    usleep (100000);
    IH_CHECK (write (to_child [1], "s", 1) == 1 || errno == EPIPE);
    uint64_t reader_cur = 0;
    bool got = read (to_parent [0], &reader_cur, 8) == 8;
    IH_CHECK (waitpid (pid, &status, 0) == pid);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        fprintf (stderr, "store: the reader process ended with %s %d\n",
                 WIFSIGNALED (status) ? "signal" : "status",
                 WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    IH_CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    IH_CHECK (got && reader_cur == next - 1);
    close (to_child [1]);
    close (to_parent [0]);

    ih_store_destroy (&s);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
}
#endif
