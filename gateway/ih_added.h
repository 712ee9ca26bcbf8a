/*  ih_added.h: the gateway's "date added" log for TAXII 2.1 (OASIS TAXII 2.1 CS01, "date added"): when the
    gateway added each object to its public collection, in the order it added them.

    TAXII sorts a collection by the date the server added each object and filters on it
    (added_after), so the gateway keeps those dates itself: an LMDB environment of its own
    in a directory (STORE/taxii), beside the alert store. Dates are microseconds since the
    epoch and strictly increasing (each new one is max(now, last + 1)), so "added after
    the last date I saw" never skips an object that arrived in the same millisecond.

      log      date (u64 BE) -> u8 kind, u8 0, u16 0, u32 0, u64 seq, id[36],
                                u16 n, stix id[n]
               kind 1 (IH_ADDED_ALERT): revision seq of alert id was added; its objects
                      are the alert's STIX objects except the shared ones
               kind 2 (IH_ADDED_SHARED): the object `stix id` (an identity, a marking
                      definition), first seen in alert id at seq, was added
      seqs     seq (u64 BE) -> date: the date of each alert revision's entry
      shared   stix id -> date: shared objects already added (each is added once)
      objects  stix id -> alert id (36): the alert each own object (report, indicator,
               vulnerability) belongs to, whatever revision carried it: a request for
               an object by id reads only its alert's entries (ih_taxii.h)
      meta     "cursor" -> u64: the store cursor up to which the log is complete;
               "last" -> u64: the last date handed out;
               "objects" -> u64 1: objects covers every alert in the log (a log
               written before objects existed is filled in once: ih_sync.h)

    WRITER (the subscriber thread): ih_added_begin, ih_added_alert / ih_added_shared per
    item, ih_added_commit with the store's cursor. The log follows the store: after a
    crash between the store's commit and this one, the caller finds cursor behind the
    store's and adds what is missing (the store is the source of truth).
    READERS (HTTP threads): each call runs its own read-only transaction.
    One environment per process (LMDB): open it once and share the handle.
*/
#ifndef IH_ADDED_H
#define IH_ADDED_H

#include "ih_util.h"

#define IH_ADDED_ALERT   1
#define IH_ADDED_SHARED  2
#define IH_ADDED_IDMAX   128        /* longest STIX id kept */

typedef struct ih_added ih_added_t;

typedef struct {
    int64_t date;                   /* microseconds since the epoch */
    int kind;                       /* IH_ADDED_ALERT | IH_ADDED_SHARED */
    uint64_t seq;
    char id [IH_UUID_LEN + 1];      /* the alert */
    char stix_id [IH_ADDED_IDMAX + 1];  /* shared: the object; alert: "" */
} ih_added_entry_t;

/*  Opens (creating dir 0700 and the environment when missing). NULL with err. */
ih_added_t *ih_added_open(const char *dir, ih_err_t *err);
void ih_added_destroy(ih_added_t **self_p);

/* ---- writer ---------------------------------------------------------------------------- */
int ih_added_begin(ih_added_t *self, ih_err_t *err);
/*  Logs revision seq of alert id; returns its date (> 0) or -1 with err. */
int64_t ih_added_alert(ih_added_t *self, uint64_t seq, const char *id, ih_err_t *err);
/*  Logs shared object stix_id (first seen in alert id at seq) unless already logged.
    Returns 1 (logged now), 0 (known) or -1 with err. */
int ih_added_shared(ih_added_t *self, const char *stix_id, uint64_t seq, const char *id,
                    ih_err_t *err);
/*  Records that own object stix_id belongs to alert id (once). Returns 0 or -1 with err. */
int ih_added_object(ih_added_t *self, const char *stix_id, const char *id, ih_err_t *err);
/*  Marks the objects index complete (meta "objects"), in the open transaction. */
int ih_added_objects_done(ih_added_t *self, ih_err_t *err);
/*  Commits, recording cursor. Returns 0 or -1 with err (nothing kept). */
int ih_added_commit(ih_added_t *self, uint64_t cursor, ih_err_t *err);
void ih_added_abort(ih_added_t *self);

/* ---- readers ---------------------------------------------------------------------------- */
/*  The store cursor the log is complete up to (0 when empty or on error). */
uint64_t ih_added_cursor(ih_added_t *self);
/*  Calls fn for each entry with date >= from (oldest first). fn returns 0 to go on,
    anything else to stop (returned). Returns 0, fn's value, or -1 with err. The read
    transaction stays open during the walk. */
typedef int (ih_added_fn)(const ih_added_entry_t *e, void *arg);
int ih_added_walk(ih_added_t *self, int64_t from, ih_added_fn *fn, void *arg, ih_err_t *err);
/*  The date of alert revision seq's entry, or 0 when it has none. */
int64_t ih_added_seq_date(ih_added_t *self, uint64_t seq);
/*  The date shared object stix_id was added, or 0. */
int64_t ih_added_shared_date(ih_added_t *self, const char *stix_id);
/*  The alert own object stix_id belongs to: 1 (id set), 0 (unknown). */
int ih_added_object_alert(ih_added_t *self, const char *stix_id, char id [IH_UUID_LEN + 1]);
/*  Whether the objects index covers every alert of the log. */
bool ih_added_objects_complete(ih_added_t *self);
/*  First and last dates in the log (0 when empty). */
void ih_added_range(ih_added_t *self, int64_t *first, int64_t *last);

/*  Formats a date as RFC 3339 UTC with microseconds: "2026-11-28T17:25:36.123456Z"
    (out: IH_TIME_MAX bytes). */
void ih_added_format(int64_t us, char *out);
/*  Parses RFC 3339 (fraction up to 9 digits, kept to microseconds; "Z" or an offset)
    into microseconds. Returns 0 or -1 with err. */
int ih_added_parse(const char *s, int64_t *us, ih_err_t *err);

void ih_added_test(bool verbose);

#endif
