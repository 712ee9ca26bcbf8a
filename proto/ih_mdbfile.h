/*  ih_mdbfile.h: checks an LMDB data file before LMDB maps it.

    LMDB maps data.mdb whole and trusts it: a file cut short (a full disk during a copy,
    `truncate`, a broken restore) makes the first read past its end a SIGBUS, which
    kills the process without a word, and under systemd becomes a silent restart loop.
    ih_mdb_check reads the two meta pages at the head of the file (LMDB's own format,
    lmdb.h/mdb.c: MDB_meta at offset 16 of pages 0 and 1; the page size in the free
    database's md_pad) and refuses, with one line naming the file and what to do, a file
    that is empty, is not an LMDB file, or is shorter than its newest valid meta page
    says it uses.

    What it cannot see: damage inside the file (flipped bits in a page) that leaves the
    size right; `verify` commands walk every record for that.

    Threading: stateless.
*/
#ifndef IH_MDBFILE_H
#define IH_MDBFILE_H

#include <setjmp.h>

#include "ih_util.h"

/*  Checks DIR/data.mdb. what names the database in the message ("store", "journal",
    "accounts", "taxii log"); hint says what to do ("rebuild it from the broker: stop
    the agent, move the store away, start it again"). Returns 0 (sound, or no file yet:
    LMDB will create it), or -1 with err. */
int ih_mdb_check(const char *dir, const char *what, const char *hint, ih_err_t *err);

/*  One writer per database: takes an exclusive flock on DIR/NAME (created 0600; it holds
    the owner's pid for the message). Returns the open descriptor (close it to release),
    or -1 with err "WHAT DIR is in use by another OWNER (pid N)". */
int ih_mdb_lock(const char *dir, const char *name, const char *what, const char *owner, ih_err_t *err);

/*  Whether errno value rc from an LMDB write in dir means a full disk: ENOSPC, EDQUOT or
    EFBIG, or the EIO LMDB returns for a short write ("filesystem full?") while the
    filesystem of dir has less than 4 MiB or 1 % left. *avail (may be NULL) receives the
    bytes left to us. So that an operator reads "disk full", not "Input/output error". */
bool ih_mdb_disk_full(const char *dir, int rc, uint64_t *avail);

/*  LMDB ASSERTS ON SOME DAMAGED PAGES. A page whose header says neither branch nor leaf
    (bits flipped on disk) fails an assertion inside LMDB ("Assertion 'IS_LEAF(mp)'
    failed in mdb_cursor_next()"), and LMDB then aborts the process: one damaged page
    would crash every reader of the file, and a daemon would restart into the same crash.
    Each opener installs ih_mdb_assert_hook (mdb_env_set_assert (env, ...)); a read made
    through IH_MDB_GUARD then returns MDB_CORRUPTED instead, the hook having jumped back
    out of LMDB (siglongjmp), and ih_mdb_assertion says what LMDB asserted. The caller
    must end that transaction (a read transaction may be reset or aborted; it holds no
    lock) and use no cursor of it again. An assertion outside a guarded call still ends
    the process, after one line that says a database file is damaged.

    ih_mdb_get and ih_mdb_cursor_get are mdb_get and mdb_cursor_get so guarded (a file
    that includes <lmdb.h> before this header gets them); the guard's setjmp stays in
    their own frame, so the caller's variables are never at risk from the jump.

    Threading: the guard is per thread. */
void ih_mdb_assert_hook(void *env, const char *msg);
const char *ih_mdb_assertion(void);
sigjmp_buf *ih_mdb_guard_swap(sigjmp_buf *jb);
#define IH_MDB_GUARD(call) __extension__ ({                                     \
        sigjmp_buf ih_mdb_jb_;                                                  \
        sigjmp_buf *ih_mdb_prev_ = ih_mdb_guard_swap (NULL);                    \
        volatile int ih_mdb_rc_ = MDB_CORRUPTED;                                \
        if (sigsetjmp (ih_mdb_jb_, 0) == 0) {                                   \
            ih_mdb_guard_swap (&ih_mdb_jb_);                                    \
            ih_mdb_rc_ = (call);                                                \
        }                                                                       \
        ih_mdb_guard_swap (ih_mdb_prev_);                                       \
        ih_mdb_rc_;                                                             \
    })

#ifdef MDB_VERSION_MAJOR
static inline int
ih_mdb_get (MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    return IH_MDB_GUARD (mdb_get (txn, dbi, k, v));
}

static inline int
ih_mdb_cursor_get (MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    return IH_MDB_GUARD (mdb_cursor_get (cur, k, v, op));
}
#endif

void ih_mdbfile_test(bool verbose);

#endif
