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

void ih_mdbfile_test(bool verbose);

#endif
