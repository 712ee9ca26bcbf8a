/*  ih_store_int.h: the store's private header. ONLY the store's own files include it
    (agents/ih_store.c, ih_store_ingest.c, ih_store_read.c); every other module uses
    ih_store.h, which stays the store's manual. Nothing here is part of its API.

    The store (ih_store.h) is one object written in five files by job:
      ih_store.c         the environment: open, share, snapshot, destroy, grow, reopen,
                         recover after a failed write; meta (cursor, counts, plen); alert
                         records; counts; the daemon's own values (aux); the self-test
                         fixtures
      ih_store_ingest.c  ih_store_ingest: the write transaction, each kind, and what a
                         full map or a full disk does to it
      ih_store_read.c    get, foreach, search, sightings, the log, refs
      ih_store_index.c   the format 2 sub-databases on the write side: revisions, facets,
                         words, weeks, kept by the ingest; the words of a text; the upgrade
                         of a format 1 store
      ih_store_walk.c    their read side: walks by index (ih_store_walk), revisions, weeks,
                         and the count of records read
      ih_store_check.c   the integrity check of every record (verify, the scrub)
    Each file ends with the self-test of its part (ih_store_test, ih_store_ingest_test,
    ih_store_read_test, ih_store_index_test, ih_store_walk_test, ih_store_check_test).
    The functions below are the joints between the files: each belongs to the file named
    above its block.

    RETURN CODES. Every function here that can fail returns one of proto/ih_util.h's
    codes: IH_OK; IH_EFAIL, with the reason in self->why; IH_ENOSPACE (the disk, or the
    configured maximum map, is full: nothing of the transaction is kept; self->why says
    so); IH_EMAPFULL (the map is full: the writer aborts, grows the map and redoes the
    transaction). Lookups return 1 (found) or 0 (absent) instead of IH_OK, and say so.
    An LMDB code or an errno never travels: ih_store_mdb turns it into one of these
    where LMDB is called. The IOC index (ih_index.h) works inside the store's
    transactions and returns LMDB codes: they go through ih_store_mdb the same way. The
    public functions copy self->why into their ih_err_t (ih_store_fail).
*/
#ifndef IH_STORE_INT_H
#define IH_STORE_INT_H

#include <lmdb.h>

#include "ih_store.h"

#define IH_STORE_FORMAT      2              /* schema version, meta "version" */
#define IH_STORE_DEFAULT_MAP (64ULL << 20)
#define IH_STORE_ARHDR       112            /* alert record header incl. sig */
#define IH_STORE_LOG_LEN     80             /* a log entry */
#define IH_STORE_NCOUNTS     8              /* u64s in meta "counts" */

/*  The databases (ih_store.h, SCHEMA). Those from IH_STORE_DB_REVISIONS on came with
    format 2: a reader of a format 1 store (an older daemon still writes it) has none of
    them (self->format 1), and the read side falls back to the alert records. */
enum { IH_STORE_DB_META, IH_STORE_DB_ALERTS, IH_STORE_DB_BYSEQ, IH_STORE_DB_LOG,
       IH_STORE_DB_REFS, IH_STORE_DB_COMMENTS, IH_STORE_DB_RETRACTIONS, IH_STORE_DB_SIGHTINGS,
       IH_STORE_DB_MEMBERS, IH_STORE_DB_IOCS,
       IH_STORE_DB_REVISIONS, IH_STORE_DB_REVSEQ, IH_STORE_DB_FACETS, IH_STORE_DB_WORDS,
       IH_STORE_DB_WEEKS, IH_STORE_NDBS };
#define IH_STORE_NDBS_V1     IH_STORE_DB_REVISIONS

/*  Facet keys (ih_store.h, SCHEMA "facets"): a field byte, then the value. */
#define IH_STORE_FACET_CATEGORY  'c'
#define IH_STORE_FACET_SEVERITY  'v'
#define IH_STORE_FACET_TLP       't'
#define IH_STORE_FACET_SECTOR    's'
#define IH_STORE_KEY_MAX         (1 + IH_STORE_WORD_MAX)
#define IH_STORE_REVHDR          72     /* a revision record: u64 seq, sig[64] */

/*  Counters as kept in meta "counts", in this order. */
typedef struct {
    uint64_t alerts, retracted, iocs, comments, retractions, sightings, messages, rejected;
} ih_store_meta_counts_t;

struct ih_store {
    char *dir;
    bool writer;
    bool shared;                /* ih_store_share: the environment is borrowed */
    int format;                 /* the store's format: IH_STORE_FORMAT, or 1 (see above) */
    bool upgrade;               /* a writer found format 1: ih_store_upgrade at open */
    MDB_txn *snap;              /* ih_store_snapshot: every read runs in this one */
    struct ih_store_gate *gate; /* the process's lock on the map, shared by the handles of
                                   one environment (ih_store.c "the map gate") */
    int gate_depth;             /* read locks this handle holds (nested reads) */
    bool panic;                 /* LMDB said MDB_PANIC: reopen before the next write */
    int lock_fd;
    uint64_t max_map;
    MDB_env *env;
    MDB_dbi dbi [IH_STORE_NDBS];
    ih_err_t why;               /* the reason behind the last IH_EFAIL / IH_ENOSPACE */

    /* write transaction state (ih_store_ingest.c) */
    MDB_txn *txn;
    uint64_t cursor;
    ih_store_meta_counts_t counts;
    uint32_t plen [IH_INDEX_PLEN_N];
    ih_msg_t scratch;           /* an old revision, a stored retraction */
    ih_buf_t rbuf;              /* record being built */
    ih_buf_t rset;              /* retracted-IOC set being built */
    ih_buf_t body;              /* a copy of a body read from the map */
    ih_buf_t words;             /* an alert's words, sorted (ih_store_index.c) */
    ih_index_t ix;              /* the IOC index inside txn */
    uint64_t log_keep;          /* ih_store_log_limit: entries kept, 0 = all */
    uint64_t log_keep_after;    /* ... and never one above this seq */
    ih_cache_t *cache;          /* decoded alerts (ih_store_cache): borrowed; NULL = none */
};

/*  An alert record (ih_store.h, SCHEMA), parsed in place: the pointers are into the map
    (or into the buffer the record was read from). */
typedef struct {
    uint8_t status;
    uint32_t revision, revisions, nret;
    uint64_t seq, first_seq, retract_seq;
    const uint8_t *sig;
    const uint8_t *body;
    uint32_t body_len;
    const uint8_t *rset;        /* nret x { u16 len, key } */
    size_t rset_len;
} ih_store_arec_t;

static inline MDB_val
ih_store_val (const void *data, size_t len)
{
    MDB_val v = { len, (void *) data };
    return v;
}

/* ---- ih_store.c: LMDB codes ---------------------------------------------------------- */
/*  rc, what an LMDB call (or the index) returned, as one of our codes: IH_OK for 0;
    IH_EMAPFULL for MDB_MAP_FULL; for a writer, IH_ENOSPACE for a disk that is full
    (ENOSPC, EDQUOT, EFBIG, or EIO while the filesystem has almost no room left); else
    IH_EFAIL. Sets self->why ("store: WHAT: LMDB's reason", or "store: disk full: …"),
    and remembers MDB_PANIC for ih_store_recover. */
int ih_store_mdb(ih_store_t *self, int rc, const char *what);
/*  mdb_get: 1 found (v set), 0 absent, or a code (ih_store_mdb). */
int ih_store_mdb_get(ih_store_t *self, MDB_txn *txn, int db, MDB_val *k, MDB_val *v,
                     const char *what);
/*  mdb_cursor_get: 1 positioned (k, v set), 0 nothing there (MDB_NOTFOUND), or a code. */
int ih_store_mdb_next(ih_store_t *self, MDB_cursor *cur, MDB_val *k, MDB_val *v,
                      MDB_cursor_op op, const char *what);
/*  Copies self->why into err (may be NULL); returns IH_EFAIL. */
int ih_store_fail(ih_store_t *self, ih_err_t *err);

/* ---- ih_store.c: the environment ----------------------------------------------------- */
/*  Begins a transaction; a reader adopts a map the writer grew (MDB_MAP_RESIZED). A read
    transaction of a snapshot handle is the snapshot's own. A read transaction holds the
    environment's map gate (shared) until ih_store_txn_end: end every read transaction
    with it, never with mdb_txn_abort. */
int ih_store_txn_begin(ih_store_t *self, unsigned flags, MDB_txn **txn, const char *what);
/*  Ends a read transaction from ih_store_txn_begin (a snapshot's stays open) and leaves
    the map gate. */
void ih_store_txn_end(ih_store_t *self, MDB_txn *txn);
/*  After a failed write transaction (aborted: nothing of it kept) that returned rc:
    grows the map on IH_EMAPFULL (no transaction may be open), reopens the environment
    after a panic. Returns IH_OK when the caller should redo the transaction, or the
    code to return: rc, or what growing or reopening returned (IH_ENOSPACE when the map
    is at the configured maximum). */
int ih_store_recover(ih_store_t *self, int rc);

/* ---- ih_store.c: meta and alert records ---------------------------------------------- */
/*  Reads the cursor, the counts and (plen not NULL) the prefix-length counts inside txn;
    what is missing reads as zero. */
int ih_store_meta_load(ih_store_t *self, MDB_txn *txn, uint64_t *cursor,
                       ih_store_meta_counts_t *c, uint32_t *plen, const char *what);
/*  Writes self->cursor, self->counts and self->plen inside self->txn. */
int ih_store_meta_save(ih_store_t *self, const char *what);
/*  Parses the record v of alert id into r: IH_OK, or IH_EFAIL ("corrupt record"). */
int ih_store_arec_parse(ih_store_t *self, const char *id, const MDB_val *v, ih_store_arec_t *r);
/*  Builds a record into self->rbuf from r, with the retracted set rset. */
void ih_store_arec_build(ih_store_t *self, const ih_store_arec_t *r, const uint8_t *rset,
                         size_t rset_len);
/*  The key of a comment or retraction: ref (36) + seq (u64 BE). */
void ih_store_ref_key(const char *ref, uint64_t seq, uint8_t out [IH_UUID_LEN + 8]);

/* ---- ih_store_read.c: alerts ------------------------------------------------------------ */
/*  Fills msg and info (either may be NULL) from the record v of alert id inside txn (see
    ih_store_alert_t for the retracted set). IH_OK or IH_EFAIL. */
int ih_store_load_alert(ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *v,
                        ih_msg_t *msg, ih_store_alert_t *info);
/*  One alert for a callback: its message borrowed from the handle's cache (ih_store_cache:
    decoded and put there on a miss), or, without a cache, decoded into scratch. info is
    read from the record every time (never cached); its retracted set is copied into
    rset. The message stays valid until ih_store_view_done, after the transaction too.
    IH_OK or IH_EFAIL. */
typedef struct {
    const ih_msg_t *msg;
    ih_cache_item_t *item;      /* held from the cache until ih_store_view_done */
} ih_store_view_t;
int ih_store_load_view(ih_store_t *self, MDB_txn *txn, const char *id, const MDB_val *v,
                       ih_msg_t *scratch, ih_buf_t *rset, ih_store_view_t *view,
                       ih_store_alert_t *info);
void ih_store_view_done(ih_store_t *self, ih_store_view_t *view);

/* ---- ih_store_index.c: the format 2 sub-databases, inside the ingest transaction ------- */
/*  Posts alert m (its latest revision, at seq) in facets and words, and counts it in
    weeks unless retracted. */
int ih_store_ix_add(ih_store_t *self, const ih_msg_t *m, uint64_t seq, bool retracted);
/*  Undoes ih_store_ix_add for the revision m that was latest at seq. */
int ih_store_ix_del(ih_store_t *self, const ih_msg_t *m, uint64_t seq, bool retracted);
/*  Alert m (active until now) is retracted: it leaves the weekly counts. */
int ih_store_ix_retract(ih_store_t *self, const ih_msg_t *m);
/*  Keeps revision m->revision of alert m->id, as delivered at seq, unless that revision is
    kept already; and its entry in revseq. body NULL: it is the alert's latest, whose body
    is the alert record's (the entry holds seq and sig only, so that one revision is not
    stored twice); otherwise the signed body is kept in the entry. */
int ih_store_rev_put(ih_store_t *self, const ih_msg_t *m, uint64_t seq, const uint8_t *sig,
                     const uint8_t *body, size_t len);
/*  Revision `revision` of alert id was the latest and a newer one replaces it: its entry
    gets the body it had in the alert record (as delivered at seq, with sig). */
int ih_store_rev_keep(ih_store_t *self, const char *id, uint32_t revision, uint64_t seq,
                      const uint8_t *sig, const uint8_t *body, size_t len);
/*  The facet key of field and value into out (IH_STORE_KEY_MAX): its length, 0 when the
    value does not fit. */
size_t ih_store_facet_key(uint8_t *out, int field, const void *value, size_t len);
/*  Opens the format 2 databases inside txn (creating them when create); returns
    IH_OK, 0 < rc for "absent" (a reader of format 1), or a code. */
int ih_store_v2_open(ih_store_t *self, MDB_txn *txn, bool create);
/*  A writer that opened a format 1 store: builds the format 2 databases from the alert
    records in one transaction (growing the map as needed) and sets the version. */
int ih_store_upgrade(ih_store_t *self, ih_err_t *err);

/* ---- ih_store_walk.c: reads --------------------------------------------------------------- */
/*  Counts one record read (ih_store_reads). */
void ih_store_count_read(void);

/* ---- ih_store.c: self-test fixtures (test builds only) ------------------------------- */
#ifdef IH_SELFTEST
#define IH_STORE_TID_A  "aaaaaaaa-1111-4111-8111-000000000001"
#define IH_STORE_TID_B  "bbbbbbbb-2222-4222-8222-000000000002"
#define IH_STORE_TID_C  "cccccccc-3333-4333-8333-000000000003"

/*  A message to ingest, built with the test kit (ih_tk_alert, ih_tk_ref): an alert
    (id, NULL for a fresh one; revision; title) or a comment, retraction or sighting
    (count) referring to alert id ("" for none); IOCs "type:value", NULL-terminated;
    org NULL = "bank-a". Kind IH_KIND_COUNT is an item that failed verification. */
typedef struct {
    uint64_t seq;
    ih_kind_t kind;
    const char *id;
    uint32_t revision;
    const char *title;
    const char *const *iocs;
    uint32_t count;
    const char *org;
} ih_store_tmsg_t;

/*  What ih_store_ingest set on an item. */
typedef struct {
    ih_store_outcome_t outcome;
    char why [256];
} ih_store_tresult_t;

/*  Ingests n messages in one batch, as the daemon does (each with a made-up signature and
    member record). results (may be NULL) receives each item's. Returns ih_store_ingest's
    code. */
int ih_store_tingest(ih_store_t *s, const ih_store_tmsg_t *msgs, size_t n,
                     ih_store_tresult_t *results, ih_err_t *err);
/*  n big alerts (50 IOCs, an 8 kB summary) from seq first: map growth, full disks. */
int ih_store_tbulk(ih_store_t *s, uint64_t first, size_t n, ih_err_t *err);
/*  The tests' history, in three batches that must succeed: 1 (seqs 1..6) alerts A and B,
    a rejected item, a comment and sightings; 2 (7..9) revisions of A; 3 (10..14)
    retractions (of an IOC of A, of B, of an IOC of C before C arrives), C, and A rev 3.
    results (may be NULL) receives the batch's items' (6, 3 or 5). */
void ih_store_thistory(ih_store_t *s, int batch, ih_store_tresult_t *results);
/*  ih_store_search of value with no flags, which must not fail: the number of hits; last
    (may be NULL) receives the last hit. */
int ih_store_tsearch(ih_store_t *s, ih_ioc_type_t t, const char *value, ih_index_hit_t *last);
#endif

#endif
