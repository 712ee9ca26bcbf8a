/*  ih_store_prefix.c: alerts found by the start of their id (ih_store_prefix.h). */
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "ih_store_int.h"
#include "ih_store_prefix.h"

bool
ih_store_prefix_valid (const char *s)
{
    size_t n = s ? strlen (s) : 0;
    if (n == 0 || n > IH_UUID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s [i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

int
ih_store_find_prefix (ih_store_t *self, const char *prefix, char (*ids)[IH_UUID_LEN + 1], size_t max,
                      ih_err_t *err)
{
    if (!ih_store_prefix_valid (prefix))
        return ih_err_set (err, "'%.40s': not the start of an alert id (a lower-case UUID)",
                           prefix ? prefix : "");
    size_t n = strlen (prefix);
    if (n < IH_STORE_PREFIX_MIN)
        return ih_err_set (err, "'%s': too short; give at least %d characters of the id", prefix,
                           IH_STORE_PREFIX_MIN);
    MDB_txn *txn;
    if (ih_store_txn_begin (self, MDB_RDONLY, &txn, "cannot read") != IH_OK)
        return ih_store_fail (self, err);
    MDB_cursor *cur;
    if (ih_store_mdb (self, mdb_cursor_open (txn, self->dbi [IH_STORE_DB_ALERTS], &cur),
                      "cannot read") != IH_OK) {
        ih_store_txn_end (self, txn);
        return ih_store_fail (self, err);
    }
    //  The ids are keys in byte order: the first key >= prefix starts the run of those
    //  that begin with it, and the first that does not ends it.
    MDB_val k = ih_store_val (prefix, n), v;
    int rc = ih_store_mdb_next (self, cur, &k, &v, MDB_SET_RANGE, "cannot read");
    int found = 0;
    while (rc == 1 && found < INT_MAX) {
        if (k.mv_size != IH_UUID_LEN || memcmp (k.mv_data, prefix, n) != 0)
            break;
        if ((size_t) found < max) {
            memcpy (ids [found], k.mv_data, IH_UUID_LEN);
            ids [found][IH_UUID_LEN] = 0;
        }
        found++;
        rc = ih_store_mdb_next (self, cur, &k, &v, MDB_NEXT, "cannot read");
    }
    mdb_cursor_close (cur);
    ih_store_txn_end (self, txn);
    return rc < 0 ? ih_store_fail (self, err) : found;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_store_prefix_test (bool verbose)
{
    char base [256], dir [300];
    ih_tk_tempdir ("store-prefix", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256 * 1024, 0, &err);
    IH_CHECK (s);
    char ids [4][IH_UUID_LEN + 1];

    //  An empty store: nothing starts with anything.
    IH_CHECK (ih_store_find_prefix (s, "abcd", ids, 4, &err) == 0);

    //  Neighbours in byte order, one just before and one just after the run of "abcd1".
    static const ih_store_tmsg_t alerts [] = {
        { .seq = 1, .kind = IH_KIND_ALERT, .id = "abcd0fff-0000-4000-8000-000000000001", .revision = 1, .title = "before" },
        { .seq = 2, .kind = IH_KIND_ALERT, .id = "abcd1000-0000-4000-8000-000000000002", .revision = 1, .title = "a" },
        { .seq = 3, .kind = IH_KIND_ALERT, .id = "abcd1000-0000-4000-8000-000000000003", .revision = 1, .title = "b" },
        { .seq = 4, .kind = IH_KIND_ALERT, .id = "abcd1fff-0000-4000-8000-000000000004", .revision = 1, .title = "c" },
        { .seq = 5, .kind = IH_KIND_ALERT, .id = "abcd2000-0000-4000-8000-000000000005", .revision = 1, .title = "after" },
        { .seq = 6, .kind = IH_KIND_COMMENT, .id = "abcd1000-0000-4000-8000-000000000003" },
    };
    IH_CHECK (ih_store_tingest (s, alerts, sizeof alerts / sizeof alerts [0], NULL, &err) == IH_OK);

    //  A unique prefix, short or whole.
    IH_CHECK (ih_store_find_prefix (s, "abcd0", ids, 4, &err) == 1);
    IH_CHECK (streq (ids [0], "abcd0fff-0000-4000-8000-000000000001"));
    IH_CHECK (ih_store_find_prefix (s, "abcd2000-0000-4000-8000-000000000005", ids, 4, &err) == 1);
    IH_CHECK (ih_store_find_prefix (s, "abcd1f", ids, 4, &err) == 1);
    IH_CHECK (streq (ids [0], "abcd1fff-0000-4000-8000-000000000004"));
    //  Ambiguous: in id order, at most max of them, and how many there are.
    IH_CHECK (ih_store_find_prefix (s, "abcd1", ids, 4, &err) == 3);
    IH_CHECK (streq (ids [0], "abcd1000-0000-4000-8000-000000000002"));
    IH_CHECK (streq (ids [1], "abcd1000-0000-4000-8000-000000000003"));
    IH_CHECK (streq (ids [2], "abcd1fff-0000-4000-8000-000000000004"));
    IH_CHECK (ih_store_find_prefix (s, "abcd", ids, 4, &err) == 5);
    IH_CHECK (ih_store_find_prefix (s, "abcd", ids, 2, &err) == 5);
    IH_CHECK (streq (ids [1], "abcd1000-0000-4000-8000-000000000002"));
    IH_CHECK (ih_store_find_prefix (s, "abcd", NULL, 0, &err) == 5);
    IH_CHECK (ih_store_find_prefix (s, "abcd1000-0000-4000-8000-00000000000", ids, 4, &err) == 2);
    //  Nothing: past the last key, between two keys.
    IH_CHECK (ih_store_find_prefix (s, "ffff", ids, 4, &err) == 0);
    IH_CHECK (ih_store_find_prefix (s, "abcd3", ids, 4, &err) == 0);
    IH_CHECK (ih_store_find_prefix (s, "0000", ids, 4, &err) == 0);
    //  Not a prefix of an id.
    IH_CHECK (ih_store_find_prefix (s, "abc", ids, 4, &err) == -1 && strstr (err.msg, "at least 4"));
    IH_CHECK (ih_store_find_prefix (s, "ABCD", ids, 4, &err) == -1 && strstr (err.msg, "not the start"));
    IH_CHECK (ih_store_find_prefix (s, "abcd10000", ids, 4, &err) == -1);
    IH_CHECK (ih_store_find_prefix (s, "", ids, 4, &err) == -1);
    IH_CHECK (ih_store_find_prefix (s, NULL, ids, 4, &err) == -1);
    IH_CHECK (ih_store_prefix_valid ("abcd1000-0000-4000-8000-000000000002"));
    IH_CHECK (!ih_store_prefix_valid ("abcd1000-0000-4000-8000-0000000000021"));
    IH_CHECK (!ih_store_prefix_valid ("abcd1000x"));
    IH_CHECK (ih_store_prefix_valid ("abcd1000-"));

    //  A reading handle (another thread's) sees what the writer stored.
    ih_store_t *r = ih_store_share (s);
    IH_CHECK (r);
    IH_CHECK (ih_store_find_prefix (r, "abcd1", ids, 4, &err) == 3);
    ih_store_destroy (&r);
    ih_store_destroy (&s);
    ih_tk_rmtree (base);
    if (verbose)
        printf ("    ");
}
#endif
