/*  ih_jcheck.h: the journal's integrity check (`infohub-broker -c CFG --verify`).

    LMDB keeps no checksum: a flipped bit in an item reads back as another item, which
    the broker would replay, and which every agent would then reject on its signature.
    The check reads every item from seq 1 to the head and checks it as an agent checks a
    delivery (ih_client_verify_item): the member record the item carries against the
    registry key, the body against the record's signing key, org, member and signer
    against the record; and the item's frozen metadata (kind, id, revision, ref) against
    the body. Sequence numbers must run 1 .. head without a gap. Then every entry of the
    ids index must parse and name revisions whose seqs are items of that id.

    A damaged item is reported and the check goes on. Where LMDB itself cannot read on
    (a damaged page: MDB_CORRUPTED, MDB_PAGE_NOTFOUND), the seqs it cannot reach are
    reported as one range, and the check resumes after them.

    It opens nothing and writes nothing: give it a journal opened read-only, beside a
    running broker if need be (ih_journal_open_readonly). Recovery is the README's.
*/
#ifndef IH_JCHECK_H
#define IH_JCHECK_H

#include "ih_journal.h"

typedef struct {
    uint64_t head;              /* the journal's head */
    uint64_t items;             /* items read */
    uint64_t verified;          /* items whose signatures verified */
    uint64_t ids;               /* entries of the ids index read */
    uint64_t damaged;           /* damaged items, index entries and unreadable ranges */
    char first [300];           /* the first damage, as reported */
} ih_jcheck_stats_t;

/*  One damage, one line: "seq 57: bad signature", "seqs 100..163: LMDB cannot read
    them (MDB_CORRUPTED: ...)", "ids: entry 'X': revision 2 names seq 9, which holds Y". */
typedef void (ih_jcheck_fn)(const char *line, void *arg);

/*  Checks journal with the pinned registry key. fn (may be NULL) gets each damage.
    Returns 0 (st says what was found), or -1 with err when the journal cannot be read
    at all. */
int ih_jcheck(ih_journal_t *journal, const uint8_t registry_pk[32], ih_jcheck_fn *fn, void *arg,
              ih_jcheck_stats_t *st, ih_err_t *err);

void ih_jcheck_test(bool verbose);

#endif
