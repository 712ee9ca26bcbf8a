/*  ih_added.c: the TAXII "date added" log (see ih_added.h). */
#include <czmq.h>
#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <time.h>

#include "ih_added.h"
#include "ih_mdbfile.h"

#define s_MAP       ((size_t) 1 << 30)     /* fixed: the map never grows under readers */
#define s_HDR       (16 + IH_UUID_LEN + 2)

struct ih_added {
    char *dir;
    MDB_env *env;
    MDB_dbi log, seqs, shared, objects, meta;
    MDB_txn *txn;                   /* the writer's open transaction */
    int64_t last;                   /* last date handed out (in txn) */
};

static int
s_mdb_err (int rc, const char *what, ih_err_t *err)
{
    return ih_err_set (err, "taxii log: %s: %s", what, mdb_strerror (rc));
}

/* ---- open, close ------------------------------------------------------------------------ */

ih_added_t *
ih_added_open (const char *dir, ih_err_t *err)
{
    ih_added_t *self = (ih_added_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->dir = strdup (dir);
    if (!self->dir)
        abort ();
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        ih_err_set (err, "taxii log %s: cannot create: %s", dir, strerror (errno));
        goto fail;
    }
    //  A data file cut short would be a SIGBUS at the first read past its end.
    if (ih_mdb_check (dir, "taxii log", "stop the gateway, remove the taxii directory and start "
                      "it again: the log is rebuilt from the store", err) != 0)
        goto fail;
    int rc = mdb_env_create (&self->env);
    if (rc == 0) {
        mdb_env_set_assert (self->env, (MDB_assert_func *) ih_mdb_assert_hook);
        mdb_env_set_maxdbs (self->env, 5);
        mdb_env_set_maxreaders (self->env, 254);
        mdb_env_set_mapsize (self->env, s_MAP);
        rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600);
    }
    if (rc) {
        ih_err_set (err, "taxii log %s: cannot open: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    MDB_txn *txn;
    rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "log", MDB_CREATE, &self->log);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "seqs", MDB_CREATE, &self->seqs);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "shared", MDB_CREATE, &self->shared);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "objects", MDB_CREATE, &self->objects);
    if (rc == 0)
        rc = mdb_dbi_open (txn, "meta", MDB_CREATE, &self->meta);
    if (rc == 0)
        rc = mdb_txn_commit (txn);
    else
        mdb_txn_abort (txn);
    if (rc) {
        ih_err_set (err, "taxii log %s: cannot initialise: %s", dir, mdb_strerror (rc));
        goto fail;
    }
    return self;
fail:
    ih_added_destroy (&self);
    return NULL;
}

void
ih_added_destroy (ih_added_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_added_t *self = *self_p;
    if (self->txn)
        mdb_txn_abort (self->txn);
    if (self->env)
        mdb_env_close (self->env);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

/* ---- writer ------------------------------------------------------------------------------ */

static uint64_t
s_meta_u64 (MDB_txn *txn, MDB_dbi dbi, const char *key)
{
    MDB_val k = { strlen (key), (void *) key }, v;
    if (ih_mdb_get (txn, dbi, &k, &v) == 0 && v.mv_size == 8)
        return ih_get_be64 (v.mv_data);
    return 0;
}

static int
s_meta_put (MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t value)
{
    uint8_t b [8];
    ih_put_be64 (b, value);
    MDB_val k = { strlen (key), (void *) key }, v = { 8, b };
    return mdb_put (txn, dbi, &k, &v, 0);
}

int
ih_added_begin (ih_added_t *self, ih_err_t *err)
{
    if (self->txn)
        return ih_err_set (err, "taxii log: a transaction is already open");
    int rc = mdb_txn_begin (self->env, NULL, 0, &self->txn);
    if (rc) {
        self->txn = NULL;
        return s_mdb_err (rc, "cannot begin", err);
    }
    self->last = (int64_t) s_meta_u64 (self->txn, self->meta, "last");
    return 0;
}

static int64_t
s_next_date (ih_added_t *self)
{
    int64_t now = ih_now_ms () * 1000;
    struct timespec ts;
    if (clock_gettime (CLOCK_REALTIME, &ts) == 0)
        now = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    self->last = now > self->last ? now : self->last + 1;
    return self->last;
}

static int
s_put_entry (ih_added_t *self, int64_t date, int kind, uint64_t seq, const char *id,
             const char *stix_id, ih_err_t *err)
{
    size_t n = stix_id ? strlen (stix_id) : 0;
    uint8_t val [s_HDR + IH_ADDED_IDMAX];
    memset (val, 0, s_HDR);
    val [0] = (uint8_t) kind;
    ih_put_be64 (val + 8, seq);
    memcpy (val + 16, id, IH_UUID_LEN);
    val [16 + IH_UUID_LEN] = (uint8_t) (n >> 8);
    val [17 + IH_UUID_LEN] = (uint8_t) n;
    if (n)
        memcpy (val + s_HDR, stix_id, n);
    uint8_t key [8];
    ih_put_be64 (key, (uint64_t) date);
    MDB_val k = { 8, key }, v = { s_HDR + n, val };
    int rc = mdb_put (self->txn, self->log, &k, &v, 0);
    return rc ? s_mdb_err (rc, "cannot write", err) : 0;
}

int64_t
ih_added_alert (ih_added_t *self, uint64_t seq, const char *id, ih_err_t *err)
{
    if (!self->txn)
        return ih_err_set (err, "taxii log: no transaction");
    if (!id || strlen (id) != IH_UUID_LEN)
        return ih_err_set (err, "taxii log: bad alert id");
    int64_t date = s_next_date (self);
    if (s_put_entry (self, date, IH_ADDED_ALERT, seq, id, NULL, err))
        return -1;
    uint8_t key [8], d [8];
    ih_put_be64 (key, seq);
    ih_put_be64 (d, (uint64_t) date);
    MDB_val k = { 8, key }, v = { 8, d };
    int rc = mdb_put (self->txn, self->seqs, &k, &v, 0);
    if (rc)
        return s_mdb_err (rc, "cannot write", err);
    return date;
}

int
ih_added_shared (ih_added_t *self, const char *stix_id, uint64_t seq, const char *id, ih_err_t *err)
{
    if (!self->txn)
        return ih_err_set (err, "taxii log: no transaction");
    size_t n = stix_id ? strlen (stix_id) : 0;
    if (n == 0 || n > IH_ADDED_IDMAX || !id || strlen (id) != IH_UUID_LEN)
        return ih_err_set (err, "taxii log: bad shared object id");
    MDB_val k = { n, (void *) stix_id }, v;
    int rc = ih_mdb_get (self->txn, self->shared, &k, &v);
    if (rc == 0)
        return 0;
    if (rc != MDB_NOTFOUND)
        return s_mdb_err (rc, "cannot read", err);
    int64_t date = s_next_date (self);
    if (s_put_entry (self, date, IH_ADDED_SHARED, seq, id, stix_id, err))
        return -1;
    uint8_t d [8];
    ih_put_be64 (d, (uint64_t) date);
    v.mv_size = 8;
    v.mv_data = d;
    rc = mdb_put (self->txn, self->shared, &k, &v, 0);
    return rc ? s_mdb_err (rc, "cannot write", err) : 1;
}

int
ih_added_object (ih_added_t *self, const char *stix_id, const char *id, ih_err_t *err)
{
    if (!self->txn)
        return ih_err_set (err, "taxii log: no transaction");
    size_t n = stix_id ? strlen (stix_id) : 0;
    if (n == 0 || n > IH_ADDED_IDMAX || !id || strlen (id) != IH_UUID_LEN)
        return ih_err_set (err, "taxii log: bad object id");
    MDB_val k = { n, (void *) stix_id }, v = { IH_UUID_LEN, (void *) id };
    int rc = mdb_put (self->txn, self->objects, &k, &v, 0);
    return rc ? s_mdb_err (rc, "cannot write", err) : 0;
}

int
ih_added_objects_done (ih_added_t *self, ih_err_t *err)
{
    if (!self->txn)
        return ih_err_set (err, "taxii log: no transaction");
    int rc = s_meta_put (self->txn, self->meta, "objects", 1);
    return rc ? s_mdb_err (rc, "cannot write", err) : 0;
}

int
ih_added_commit (ih_added_t *self, uint64_t cursor, ih_err_t *err)
{
    if (!self->txn)
        return ih_err_set (err, "taxii log: no transaction");
    int rc = s_meta_put (self->txn, self->meta, "cursor", cursor);
    if (rc == 0)
        rc = s_meta_put (self->txn, self->meta, "last", (uint64_t) self->last);
    if (rc) {
        ih_added_abort (self);
        return s_mdb_err (rc, "cannot write", err);
    }
    rc = mdb_txn_commit (self->txn);
    self->txn = NULL;
    return rc ? s_mdb_err (rc, "cannot commit", err) : 0;
}

void
ih_added_abort (ih_added_t *self)
{
    if (self->txn)
        mdb_txn_abort (self->txn);
    self->txn = NULL;
}

/* ---- readers ------------------------------------------------------------------------------ */

uint64_t
ih_added_cursor (ih_added_t *self)
{
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
        return 0;
    uint64_t c = s_meta_u64 (txn, self->meta, "cursor");
    mdb_txn_abort (txn);
    return c;
}

static bool
s_decode (const MDB_val *k, const MDB_val *v, ih_added_entry_t *e)
{
    if (k->mv_size != 8 || v->mv_size < s_HDR)
        return false;
    const uint8_t *p = (const uint8_t *) v->mv_data;
    size_t n = ((size_t) p [16 + IH_UUID_LEN] << 8) | p [17 + IH_UUID_LEN];
    if (n > IH_ADDED_IDMAX || v->mv_size != s_HDR + n)
        return false;
    e->date = (int64_t) ih_get_be64 (k->mv_data);
    e->kind = p [0];
    e->seq = ih_get_be64 (p + 8);
    memcpy (e->id, p + 16, IH_UUID_LEN);
    e->id [IH_UUID_LEN] = 0;
    memcpy (e->stix_id, p + s_HDR, n);
    e->stix_id [n] = 0;
    return true;
}

int
ih_added_walk (ih_added_t *self, int64_t from, ih_added_fn *fn, void *arg, ih_err_t *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return s_mdb_err (rc, "cannot read", err);
    MDB_cursor *cur;
    rc = mdb_cursor_open (txn, self->log, &cur);
    if (rc) {
        mdb_txn_abort (txn);
        return s_mdb_err (rc, "cannot read", err);
    }
    uint8_t key [8];
    ih_put_be64 (key, (uint64_t) (from > 0 ? from : 0));
    MDB_val k = { 8, key }, v;
    int result = 0;
    rc = ih_mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        ih_added_entry_t e;
        if (s_decode (&k, &v, &e) && (result = fn (&e, arg)) != 0)
            break;
        rc = ih_mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND && result == 0)
        result = s_mdb_err (rc, "cannot read", err);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return result;
}

static int64_t
s_get_date (ih_added_t *self, MDB_dbi dbi, const void *key, size_t len)
{
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
        return 0;
    MDB_val k = { len, (void *) key }, v;
    int64_t d = 0;
    if (ih_mdb_get (txn, dbi, &k, &v) == 0 && v.mv_size == 8)
        d = (int64_t) ih_get_be64 (v.mv_data);
    mdb_txn_abort (txn);
    return d;
}

int
ih_added_object_alert (ih_added_t *self, const char *stix_id, char id [IH_UUID_LEN + 1])
{
    size_t n = stix_id ? strlen (stix_id) : 0;
    if (n == 0 || n > IH_ADDED_IDMAX)
        return 0;
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
        return 0;
    MDB_val k = { n, (void *) stix_id }, v;
    int found = ih_mdb_get (txn, self->objects, &k, &v) == 0 && v.mv_size == IH_UUID_LEN;
    if (found) {
        memcpy (id, v.mv_data, IH_UUID_LEN);
        id [IH_UUID_LEN] = 0;
    }
    mdb_txn_abort (txn);
    return found;
}

bool
ih_added_objects_complete (ih_added_t *self)
{
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
        return false;
    bool done = s_meta_u64 (txn, self->meta, "objects") == 1;
    mdb_txn_abort (txn);
    return done;
}

int64_t
ih_added_seq_date (ih_added_t *self, uint64_t seq)
{
    uint8_t key [8];
    ih_put_be64 (key, seq);
    return s_get_date (self, self->seqs, key, 8);
}

int64_t
ih_added_shared_date (ih_added_t *self, const char *stix_id)
{
    if (!stix_id || !*stix_id)
        return 0;
    return s_get_date (self, self->shared, stix_id, strlen (stix_id));
}

void
ih_added_range (ih_added_t *self, int64_t *first, int64_t *last)
{
    *first = *last = 0;
    MDB_txn *txn;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn))
        return;
    MDB_cursor *cur;
    if (mdb_cursor_open (txn, self->log, &cur) == 0) {
        MDB_val k, v;
        if (ih_mdb_cursor_get (cur, &k, &v, MDB_FIRST) == 0 && k.mv_size == 8)
            *first = (int64_t) ih_get_be64 (k.mv_data);
        if (ih_mdb_cursor_get (cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
            *last = (int64_t) ih_get_be64 (k.mv_data);
        mdb_cursor_close (cur);
    }
    mdb_txn_abort (txn);
}

/* ---- time --------------------------------------------------------------------------------- */

void
ih_added_format (int64_t us, char *out)
{
    time_t secs = (time_t) (us / 1000000);
    int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r (&secs, &tm);
    ih_fmt (out, IH_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) frac);
}

static int
s_digits (const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s [i] < '0' || s [i] > '9')
            return -1;
        v = v * 10 + (s [i] - '0');
    }
    *out = v;
    return 0;
}

int
ih_added_parse (const char *s, int64_t *us, ih_err_t *err)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen (s) < 20 || strlen (s) > 40
    ||  s_digits (s, 4, &Y) || s [4] != '-' || s_digits (s + 5, 2, &M) || s [7] != '-'
    ||  s_digits (s + 8, 2, &D) || (s [10] != 'T' && s [10] != 't')
    ||  s_digits (s + 11, 2, &h) || s [13] != ':' || s_digits (s + 14, 2, &m) || s [16] != ':'
    ||  s_digits (s + 17, 2, &sec))
        return ih_err_set (err, "'%.40s' is not an RFC 3339 timestamp", s ? s : "");
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
        return ih_err_set (err, "'%.40s': date or time out of range", s);
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 6)
                frac = frac * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return ih_err_set (err, "'%.40s': bad fraction of a second", s);
        for (int i = nd; i < 6; i++)
            frac *= 10;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z')
        p++;
    else
    if ((*p == '+' || *p == '-') && strlen (p) == 6 && p [3] == ':') {
        int oh, om;
        if (s_digits (p + 1, 2, &oh) || s_digits (p + 4, 2, &om) || oh > 23 || om > 59)
            return ih_err_set (err, "'%.40s': bad offset", s);
        offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    }
    else
        return ih_err_set (err, "'%.40s': expected Z or an offset", s);
    if (*p)
        return ih_err_set (err, "'%.40s': trailing characters", s);
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec == 60 ? 59 : sec;
    time_t t = timegm (&tm);
    //  timegm normalises 31 February into March: refuse dates that moved.
    struct tm back;
    gmtime_r (&t, &back);
    if (back.tm_mday != D || back.tm_mon != M - 1)
        return ih_err_set (err, "'%.40s': no such date", s);
    *us = ((int64_t) t - offset) * 1000000 + frac;
    return 0;
}

/* ---- self-test ----------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    ih_added_entry_t e [16];
    int n;
    int stop_at;
} s_tcollect_t;

static int
s_tcollect (const ih_added_entry_t *e, void *arg)
{
    s_tcollect_t *c = (s_tcollect_t *) arg;
    if (c->n < 16)
        c->e [c->n] = *e;
    c->n++;
    return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

void
ih_added_test (bool verbose)
{
    //  Time: round trips and failures.
    int64_t us;
    char t [IH_TIME_MAX];
    IH_CHECK (ih_added_parse ("2026-11-28T17:25:36.123456Z", &us, NULL) == 0);
    ih_added_format (us, t);
    IH_CHECK (streq (t, "2026-11-28T17:25:36.123456Z"));
    IH_CHECK (ih_added_parse ("2026-11-28T17:25:36Z", &us, NULL) == 0 && us % 1000000 == 0);
    IH_CHECK (ih_added_parse ("2026-11-28T18:25:36.5+01:00", &us, NULL) == 0);
    ih_added_format (us, t);
    IH_CHECK (streq (t, "2026-11-28T17:25:36.500000Z"));
    IH_CHECK (ih_added_parse ("2026-11-28t17:25:36.123456789z", &us, NULL) == 0 && us % 1000000 == 123456);
    static const char *bad [] = {
        "", "2026-11-28", "2026-11-28T17:25:36", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-28T17:25:36.Z", "2026-11-28T17:25:36.1234567890Z", "2026-11-28T17:25:36Zjunk",
        "2026-11-28T17:25:36+0100", "x026-11-28T17:25:36Z", "1969-12-31T23:59:59Z", NULL
    };
    for (int i = 0; bad [i]; i++) {
        ih_err_t err = { "" };
        IH_CHECK (ih_added_parse (bad [i], &us, &err) == -1 && err.msg [0]);
        if (verbose)
            printf ("\n    %s", err.msg);
    }
    IH_CHECK (ih_added_parse (NULL, &us, NULL) == -1);

    //  The log.
    char dir [] = "/tmp/ih-added-test-XXXXXX";
    IH_CHECK (mkdtemp (dir));
    char sub [64];
    snprintf (sub, sizeof sub, "%s/taxii", dir);
    ih_err_t err = { "" };
    ih_added_t *a = ih_added_open (sub, &err);
    IH_CHECK (a);
    IH_CHECK (ih_added_cursor (a) == 0);
    int64_t f, l;
    ih_added_range (a, &f, &l);
    IH_CHECK (f == 0 && l == 0);
    IH_CHECK (ih_added_alert (a, 1, "11111111-1111-4111-8111-111111111111", &err) == -1);  // no txn
    IH_CHECK (ih_added_begin (a, &err) == 0);
    IH_CHECK (ih_added_begin (a, &err) == -1);
    const char *id1 = "11111111-1111-4111-8111-111111111111";
    const char *id2 = "22222222-2222-4222-8222-222222222222";
    IH_CHECK (ih_added_shared (a, "identity--aaaa", 5, id1, &err) == 1);
    int64_t d1 = ih_added_alert (a, 5, id1, &err);
    IH_CHECK (ih_added_shared (a, "identity--aaaa", 6, id2, &err) == 0);
    int64_t d2 = ih_added_alert (a, 6, id2, &err);
    IH_CHECK (d1 > 0 && d2 > d1);
    IH_CHECK (ih_added_alert (a, 7, "short", &err) == -1);
    IH_CHECK (ih_added_shared (a, "", 7, id1, &err) == -1);
    IH_CHECK (ih_added_commit (a, 6, &err) == 0);
    IH_CHECK (ih_added_cursor (a) == 6);
    //  An aborted batch leaves nothing.
    IH_CHECK (ih_added_begin (a, &err) == 0);
    IH_CHECK (ih_added_alert (a, 9, id1, &err) > d2);
    ih_added_abort (a);
    IH_CHECK (ih_added_seq_date (a, 9) == 0);
    IH_CHECK (ih_added_cursor (a) == 6);
    IH_CHECK (ih_added_seq_date (a, 5) == d1 && ih_added_seq_date (a, 6) == d2);
    IH_CHECK (ih_added_shared_date (a, "identity--aaaa") > 0);
    IH_CHECK (ih_added_shared_date (a, "identity--bbbb") == 0);
    IH_CHECK (ih_added_shared_date (a, NULL) == 0);
    //  The objects index: which alert an own object belongs to, complete once marked.
    char owner [IH_UUID_LEN + 1];
    IH_CHECK (!ih_added_objects_complete (a) && ih_added_object_alert (a, "report--x", owner) == 0);
    IH_CHECK (ih_added_object (a, "report--x", id1, &err) == -1);              //  no txn
    IH_CHECK (ih_added_begin (a, &err) == 0);
    IH_CHECK (ih_added_object (a, "indicator--1", id1, &err) == 0);
    IH_CHECK (ih_added_object (a, "indicator--1", id1, &err) == 0);            //  again: fine
    IH_CHECK (ih_added_object (a, "indicator--2", "short", &err) == -1);
    IH_CHECK (ih_added_objects_done (a, &err) == 0);
    IH_CHECK (ih_added_commit (a, 6, &err) == 0);
    IH_CHECK (ih_added_objects_complete (a));
    IH_CHECK (ih_added_object_alert (a, "indicator--1", owner) == 1 && streq (owner, id1));
    IH_CHECK (ih_added_object_alert (a, "indicator--2", owner) == 0);

    //  Reopen: dates keep increasing across restarts.
    ih_added_destroy (&a);
    ih_added_destroy (&a);
    a = ih_added_open (sub, &err);
    IH_CHECK (a && ih_added_cursor (a) == 6);
    IH_CHECK (ih_added_begin (a, &err) == 0);
    int64_t d3 = ih_added_alert (a, 10, id1, &err);     //  a revision of alert 1
    IH_CHECK (d3 > d2);
    IH_CHECK (ih_added_commit (a, 10, &err) == 0);

    s_tcollect_t c;
    memset (&c, 0, sizeof c);
    IH_CHECK (ih_added_walk (a, 0, s_tcollect, &c, &err) == 0);
    IH_CHECK (c.n == 4);
    IH_CHECK (c.e [0].kind == IH_ADDED_SHARED && streq (c.e [0].stix_id, "identity--aaaa")
              && streq (c.e [0].id, id1) && c.e [0].seq == 5);
    IH_CHECK (c.e [1].kind == IH_ADDED_ALERT && c.e [1].seq == 5 && c.e [1].date == d1
              && streq (c.e [1].stix_id, ""));
    IH_CHECK (c.e [3].seq == 10 && c.e [3].date == d3);
    for (int i = 1; i < c.n; i++)
        IH_CHECK (c.e [i].date > c.e [i - 1].date);
    memset (&c, 0, sizeof c);
    IH_CHECK (ih_added_walk (a, d2, s_tcollect, &c, &err) == 0 && c.n == 2 && c.e [0].date == d2);
    memset (&c, 0, sizeof c);
    c.stop_at = 1;
    IH_CHECK (ih_added_walk (a, 0, s_tcollect, &c, &err) == 7 && c.n == 1);
    ih_added_range (a, &f, &l);
    IH_CHECK (f == c.e [0].date && l == d3);
    ih_added_destroy (&a);

    //  A directory that cannot be created.
    IH_CHECK (ih_added_open ("/proc/no/such/dir", &err) == NULL && err.msg [0]);
    if (verbose)
        printf ("\n    %s\n    ", err.msg);
    ih_tk_rmtree (dir);
}
#endif
