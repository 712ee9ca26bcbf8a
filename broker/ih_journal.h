/*  ih_journal.h: the broker's durable journal (LMDB, group commit).

    One LMDB environment in a directory (created 0700 when missing), three databases:
      items   seq (uint64, big-endian, 8 bytes) -> ih_jitem record (ih_jitem.h)
      ids     message id (36 bytes) -> index entry: kind, publisher org, the latest
              revision's tlp and recipients, and per revision: rev, seq, body hash
              (BLAKE2b-256). Every kind has an entry, so ids are unique across kinds;
              an alert's revisions accumulate in its one entry.
      meta    "head" -> the highest sequence number (uint64, big-endian); and the
              broker's own small values (ih_journal_meta_put), such as what it owes each
              audience (ih_owed.h: "owed", "owed/AUDIENCE")

    Sequence numbers start at 1 and are monotonic across restarts: head is stored in the
    same transaction as the items.

    Writing is group commit: ih_journal_begin() opens the one write transaction,
    ih_journal_index_get() and ih_journal_append() work inside it (append sees what
    earlier appends of the same transaction wrote), and ih_journal_commit() makes all of
    it durable with one fsync. When the map is full, append or commit returns
    IH_EMAPFULL and the transaction is gone: call ih_journal_grow() (which needs no
    transaction open) and redo the batch.

    Return codes are the shared ones (ih_util.h): IH_OK, IH_EFAIL with err, IH_EMAPFULL;
    lookups return 1 for found. LMDB's own codes never leave ih_journal.c.

    Reading (replay) uses one reusable read transaction and cursor: scan_begin, then
    scan_next until it returns 0, then scan_end. Records returned are borrowed until
    the next scan_next or scan_end. Keep scans short: an open read transaction stops page
    reuse. One scan at a time.

    Single-threaded: one journal object belongs to one thread.
*/
#ifndef IH_JOURNAL_H
#define IH_JOURNAL_H

#include "ih_jitem.h"

#define IH_HASH_LEN 32

typedef struct ih_journal ih_journal_t;

/*  An index entry (table "ids"), copied out of the map. */
typedef struct {
    ih_kind_t kind;
    ih_tlp_t tlp;               /* alerts: the latest revision's */
    const char *org;            /* publisher org */
    ih_strlist_t recipients;    /* alerts: the latest revision's */
    uint32_t latest_rev;        /* alerts; 0 for other kinds */
    uint32_t rev_count;
    /* private */
    const uint8_t *revs_;
    const char *ptrs_ [IH_MAX_LIST];
    ih_buf_t buf_;
} ih_jindex_t;

void ih_jindex_init(ih_jindex_t *x);
void ih_jindex_free(ih_jindex_t *x);
/*  Finds revision rev (0 for non-alerts); true and seq/hash when present. */
bool ih_jindex_rev(const ih_jindex_t *x, uint32_t rev, uint64_t *seq, uint8_t hash[IH_HASH_LEN]);

/*  BLAKE2b-256 of a body, as kept per revision. */
void ih_journal_hash(const uint8_t *body, size_t len, uint8_t out[IH_HASH_LEN]);

/*  Opens (creating when missing) the journal in dir, with an initial map of map_size
    bytes (an existing larger file keeps its size). NULL with err on failure. */
ih_journal_t *ih_journal_open(const char *dir, uint64_t map_size, ih_err_t *err);
/*  Opens an existing journal to read it only, beside a running broker (no lock taken,
    LMDB readers share the file): for `infohub-broker --verify`. Writing through it
    fails. NULL with err when there is no journal in dir. */
ih_journal_t *ih_journal_open_readonly(const char *dir, ih_err_t *err);
/*  Aborts an open write transaction, closes everything. Safe twice. */
void ih_journal_destroy(ih_journal_t **self_p);

/*  Highest committed sequence number (0 when empty). */
uint64_t ih_journal_head(ih_journal_t *self);
/*  Bytes used by the map (pages in use times page size). */
uint64_t ih_journal_bytes(ih_journal_t *self);
/*  Current map size. */
uint64_t ih_journal_map_size(ih_journal_t *self);

/*  Opens the write transaction. Returns IH_OK or IH_EFAIL with err. */
int ih_journal_begin(ih_journal_t *self, ih_err_t *err);
/*  Looks an id up in the write transaction. Returns 1 (found, x filled), 0 (absent),
    IH_EFAIL with err. x must be initialised (ih_jindex_init) and is reused. */
int ih_journal_index_get(ih_journal_t *self, const char *id, ih_jindex_t *x, ih_err_t *err);
/*  Appends it under the next sequence number (returned in seq) and updates the index:
    a new entry for rev 1 / non-alerts (an existing id is an error), a new revision for
    an alert with rev > 1 (its entry must exist). Returns IH_OK, IH_EMAPFULL (the
    transaction was aborted), or IH_EFAIL with err (the transaction is still open:
    abort it). */
int ih_journal_append(ih_journal_t *self, const ih_jitem_t *it, uint64_t *seq, ih_err_t *err);
/*  The record (ih_jitem encoding) written by the last successful append: borrowed,
    valid until the next append. Live delivery decodes it, so that it decides on exactly
    the metadata that replay will read back. */
const uint8_t *ih_journal_record(ih_journal_t *self, size_t *len);
/*  Commits (one fsync). Returns IH_OK, IH_EMAPFULL or IH_EFAIL with err; on anything
    but IH_OK nothing of the transaction is kept and the head is unchanged. */
int ih_journal_commit(ih_journal_t *self, ih_err_t *err);
/*  Discards the write transaction, if any. */
void ih_journal_abort(ih_journal_t *self);
/*  Doubles the map. No transaction may be open (a scan is ended). Returns IH_OK or
    IH_EFAIL with err. */
int ih_journal_grow(ih_journal_t *self, ih_err_t *err);

/*  A small named value in meta (key 1..400 bytes, not "head"), written in the open
    write transaction: it commits or vanishes with the items. Returns IH_OK, IH_EMAPFULL
    (the transaction was aborted), or IH_EFAIL with err. */
int ih_journal_meta_put(ih_journal_t *self, const char *key, const void *val, size_t len,
                        ih_err_t *err);
/*  Calls fn for every meta key that starts with prefix (not ""), in key order, with its
    value (borrowed during the call), in a read transaction of its own. fn returns 0 to
    go on. Returns 0, fn's value, or IH_EFAIL with err. */
typedef int (ih_journal_meta_fn)(const char *key, size_t key_len, const uint8_t *val, size_t len,
                                 void *arg);
int ih_journal_meta_walk(ih_journal_t *self, const char *prefix, ih_journal_meta_fn *fn, void *arg,
                         ih_err_t *err);

/*  Replay: positions at the first item with seq > after. Returns IH_OK or IH_EFAIL
    with err. */
int ih_journal_scan_begin(ih_journal_t *self, uint64_t after, ih_err_t *err);
/*  Next item: 1 with seq and the record (borrowed), 0 at the end, IH_EFAIL with err. */
int ih_journal_scan_next(ih_journal_t *self, uint64_t *seq, const uint8_t **data, size_t *len,
                         ih_err_t *err);
void ih_journal_scan_end(ih_journal_t *self);

/*  Calls fn for every entry of the ids index, in id order, in a read transaction of its
    own: the id and its entry parsed (x, valid during the call), or x NULL and why when
    the entry does not parse. fn returns 0 to go on. Returns 0, fn's value, or IH_EFAIL
    with err (LMDB could not read on: err says after which id). */
typedef int (ih_journal_ids_fn)(const char *id, const ih_jindex_t *x, const char *why, void *arg);
int ih_journal_ids_walk(ih_journal_t *self, ih_journal_ids_fn *fn, void *arg, ih_err_t *err);

void ih_journal_test(bool verbose);

#endif
