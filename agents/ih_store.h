/*  ih_store.h: the member agent's durable store (LMDB), shared by the daemon that
    writes it and the command-line tools that read it at the same time.

    One LMDB environment in a directory (created 0700 when missing). Data read from the
    map is copied out before a function returns, so nothing here is borrowed from LMDB.

    SCHEMA (format version 2; all integers in values are little-endian unless said)

      meta        "version"  u32            schema version (2)
                  "cursor"   u64            highest seq durably stored: the hello cursor.
                                            Written in the same transaction as the data.
                  "counts"   ih_store_counts_t fields as u64s (see below)
                  "x:NAME"   the daemon's own values (ih_store_aux_put), e.g. "x:hook"
                  "plen"     162 x u32      how many CIDR index entries exist per prefix
                                            length: [0..32] for IPv4, [33..161] for IPv6,
                                            so a containment lookup probes only lengths
                                            that exist
      alerts      id (36 chars) -> alert record:
                    u8 format (1), u8 status (0 active, 1 retracted), u16 0,
                    u32 revision (latest), u32 revisions (count seen), u32 nret (keys in
                    the retracted-IOC set), u64 seq (latest revision's), u64 first_seq,
                    u64 retract_seq (0), u32 body_len, u32 0, sig[64], body[body_len],
                    then nret x { u16 len, index key } (IOCs retracted one by one; the
                    set outlives revisions)
      byseq       seq (u64 big-endian) -> id (36): each alert's latest revision, so that
                  listing in broker order is a cursor walk
      log         seq (u64 BE) -> u8 kind (0xff = rejected), u8 outcome, u16 0, u32 rev,
                  id (36), ref (36, zero bytes when none): one entry per delivered seq,
                  for `tail` and the on-alert hook queue (ih_store_log_read); the oldest
                  are deleted beyond a bound the writer sets (ih_store_log_limit)
      refs        id (36) -> u64 sightings, u32 comments, u32 retractions: what refers to
                  an alert, kept even when the alert itself was never received (narrowing)
      comments    ref (36) + seq (u64 BE) -> sig[64] + signed comment body
      retractions ref (36) + seq (u64 BE) -> sig[64] + signed retraction body
      sightings   index key (ih_index.h) -> u64 count, u32 reports, u32 0, i64 first ms,
                  i64 last ms: sightings per IOC value, whatever alert they cite
      members     signer public key (32) -> rec_sig[64] + member record (as delivered), so
                  a stored message can be re-verified offline
      iocs        the IOC index: ih_index.h (type-tagged normalised keys -> 18-byte
                  entries: alert uuid, ioc type, flags detect/retracted/derived)
    Format 2 added:
      revisions   id (36) + revision (u32 BE) -> u64 seq, sig[64], body: every revision
                  of every alert as delivered (signed body and signature), the stale ones
                  that came late included; what TAXII versions and a revision history
                  are built from (ih_store_revisions_foreach). The latest revision's
                  entry stops after sig: its body is the alert record's (one body is not
                  kept twice); a newer revision gives the old one its body back
      revseq      seq (u64 BE) -> id (36) + revision (u32 BE): the same revisions in the
                  order they came (ih_store_revisions_after)
      facets      (dup-sorted, fixed 8-byte values) field + value -> seq (u64 BE) of the
                  latest revision of each alert that has it: 'c' + u8 category, 'v' + u8
                  severity, 't' + u8 TLP, 's' + sector name; a walk by facet
                  (ih_store_walk) reads only what it lists
      words       (dup-sorted, fixed 8-byte values) word -> seq (u64 BE) of the latest
                  revision of each alert that has it: the words (ih_store_words) of the
                  title, the summary and the values of domain, url, email and filename
                  IOCs
      weeks       Monday (u32 BE, days since 1970-01-01) + u8 category + u8 TLP -> u32
                  count of the active alerts created that week (UTC; a retracted alert
                  leaves its count): trends without a walk (ih_store_weeks)
    UPGRADE. A writer that opens a format 1 store builds the format 2 databases from the
    alert records, in one transaction, before anything else: every alert's latest
    revision becomes its first kept revision (older ones were never kept), and the
    indexes hold every alert. A reader that opens a format 1 store (an older daemon still
    writes it) reads it without them: walks, revisions and weeks give the same answers
    from the alert records, walking them all.

    INGEST. ih_store_ingest() applies a whole deliver envelope in one write transaction
    and stores the cursor in the same one, so the cursor and the data are atomic. Items
    with seq <= cursor are duplicates (replay after reconnect) and are skipped. An item
    that failed verification is not stored, but the cursor passes it (and the log notes
    it). Semantics:
      alert       new id: stored and indexed; retractions already known for it (received
                  while the alert was narrowed away) are applied. Higher revision than
                  stored: replaces body, reindexes, revisions += 1. Lower or equal: kept
                  out (revisions += 1 when lower: it is a distinct revision seen late).
      retraction  no IOCs: the alert is marked retracted; with IOCs: those index keys join
                  the alert's retracted set and their index entries get the flag.
      ownership   an alert belongs to the org of the first revision stored (read back from
                  the stored body's org: every stored revision has it). A revision or a
                  retraction from another org is REJECTED (nothing kept; item.why names
                  both orgs). A retraction that arrives before its alert is kept aside and
                  applied when the alert arrives only if the orgs match; otherwise it is
                  deleted then (item.why of the alert says so). Limitation: a forged
                  revision that arrives before the genuine first one makes its org the
                  owner; only the broker, which sees every publish, can prevent that.
      comment     stored under its ref; refs.comments += 1.
      sighting    sightings[key] += count; refs[ref].sightings += count when ref != "".
    MDB_MAP_FULL: the transaction is aborted, the map doubled (no transaction open) and
    the batch redone. A write error of the disk (ENOSPC, EDQUOT, EFBIG, or the EIO LMDB
    gives for a short write while the filesystem has less than 4 MiB or 1 % left) returns
    IH_ENOSPACE: nothing of the batch is kept, the cursor does not move, and a later
    call with the same items succeeds once there is room.

    RETURN CODES are proto/ih_util.h's: IH_OK (0), IH_EFAIL (-1) with err, and
    IH_ENOSPACE (-2) from the two functions that write (ih_store_ingest,
    ih_store_aux_put). Lookups (ih_store_get, ih_store_aux_get) return 1 for found and 0
    for absent; counting functions return a count. LMDB's codes never come out.

    READERS. Any number of processes may open the same store read-only while the daemon
    writes (LMDB multi-process); a reader adopts a map the writer grew (MDB_MAP_RESIZED).
    The threads of one process that share an environment (ih_store_share, snapshots)
    adopt it one at a time: every read holds the environment's map gate (a read-write
    lock) shared, and mapping the new size holds it alone, as LMDB requires (no other
    transaction of the process open). A read nested inside another read of the same
    thread cannot wait for that and fails once ("the writer grew the map … try again");
    the next read adopts. A writer that grows its map waits at the gate the same way.
    Only one process may open it for writing: the daemon holds an flock on
    DIR/agent.lock, and a second daemon gets "store DIR is in use by another agent".

    Threading: an ih_store_t belongs to one thread at a time (a snapshot may move from
    one thread to another between calls: the environment is opened MDB_NOTLS).

    The store is written in six files (ih_store.c, ih_store_ingest.c, ih_store_read.c,
    ih_store_index.c, ih_store_walk.c, ih_store_check.c) that share ih_store_int.h;
    nothing else includes that header.
*/
#ifndef IH_STORE_H
#define IH_STORE_H

#include "ih_cache.h"
#include "ih_index.h"

typedef struct ih_store ih_store_t;

/*  flags for ih_store_open */
#define IH_STORE_WRITER    1            /* the daemon: exclusive, creates the store */

/*  Opens the store in dir. A writer creates dir (0700) and the store when missing and
    sets the initial map to map_size bytes (0 = 64 MiB; an existing larger map is kept);
    max_map (0 = no limit) caps the growth, after which a full map is reported as
    IH_ENOSPACE ("map full at the configured maximum"). A reader (flags 0) needs an
    existing store: NULL with err "store DIR: not created yet" otherwise, which callers
    may treat as empty. Returns NULL with err on failure. */
ih_store_t *ih_store_open(const char *dir, unsigned flags, uint64_t map_size, uint64_t max_map,
                          ih_err_t *err);
/*  Closes; safe twice; nulls *self_p. */
void ih_store_destroy(ih_store_t **self_p);
/*  A read-only handle on the environment self has open, for another thread of the same
    process (LMDB allows one open environment per file per process, so a daemon that
    writes in one thread and reads in others shares it). Each handle has its own scratch
    buffers: threads may read through their own handles while the writer ingests. self
    must outlive the handle; destroying the handle leaves the environment open. The map
    may grow meanwhile (the writer's, or another process's): the handles share the map
    gate (READERS above). Added for the gateway; the Members Zone console's threads use
    it on a read-only environment. */
ih_store_t *ih_store_share(ih_store_t *self);
/*  A read handle on self's environment (as ih_store_share) that reads one snapshot: it
    holds one LMDB read transaction from now until it is destroyed, so every read through
    it sees the store as it was when it was made, whatever the writer does meanwhile (a
    stream that walks in several steps lists each alert once). The writer cannot reuse
    the pages the snapshot still sees: keep it for one stream, not for ever. NULL with err
    when no reader slot is free. */
ih_store_t *ih_store_snapshot(ih_store_t *self, ih_err_t *err);

/* ---- ingest ---------------------------------------------------------------------------- */
typedef enum {
    IH_STORE_SKIPPED = 0,   /* seq <= cursor: already stored */
    IH_STORE_REJECTED,      /* failed verification: not stored, cursor passes it */
    IH_STORE_NEW,           /* a new alert */
    IH_STORE_REVISED,       /* a newer revision replaced the stored one */
    IH_STORE_STALE,         /* an older or equal revision: ignored */
    IH_STORE_RETRACTED,     /* a retraction (whole alert or IOCs) */
    IH_STORE_COMMENTED,     /* a comment */
    IH_STORE_SIGHTED        /* a sighting */
} ih_store_outcome_t;

const char *ih_store_outcome_name(ih_store_outcome_t o);

typedef struct {
    uint64_t seq;
    const ih_msg_t *msg;        /* the verified, decoded body; NULL = rejected */
    const uint8_t *body;        /* the signed bytes */
    size_t body_len;
    const uint8_t *sig;         /* 64 */
    const uint8_t *rec;         /* publisher's member record and its registry signature */
    size_t rec_len;
    const uint8_t *rec_sig;     /* 64 */
    ih_store_outcome_t outcome; /* set by ih_store_ingest */
    char why[256];              /* set by ih_store_ingest: why the store refused the item
                                   (outcome REJECTED), or a note on what it dropped
                                   because of it (an alert's foreign retractions); callers
                                   log it as an error when not empty */
} ih_store_item_t;

/*  Applies count items (seq strictly increasing) in one transaction, with the cursor.
    Returns IH_OK; IH_ENOSPACE with err ("store: disk full: …; not advancing"); or
    IH_EFAIL with err (the transaction is discarded; the store is unchanged). Writer
    only. */
int ih_store_ingest(ih_store_t *self, ih_store_item_t *items, size_t count, ih_err_t *err);

/*  For tests and benchmarks: encodes each of count messages (ih_body_encode) and applies
    them with ih_store_ingest, msgs [i] under seqs [i], with an all-zero signature and no
    member record (nothing here was verified: never feed it what a peer sent). outcomes
    (may be NULL) receives each outcome. Returns as ih_store_ingest, or -1 when a message
    does not encode. */
int ih_store_ingest_msgs(ih_store_t *self, const ih_msg_t *msgs, const uint64_t *seqs, size_t count,
                         ih_store_outcome_t *outcomes, ih_err_t *err);

/* ---- reading --------------------------------------------------------------------------- */
typedef struct {
    uint64_t cursor;
    uint64_t alerts;            /* alert ids stored */
    uint64_t retracted;         /* of which retracted */
    uint64_t iocs;              /* IOCs of the stored latest revisions (not derived) */
    uint64_t comments;
    uint64_t retractions;
    uint64_t sightings;         /* sum of sighting counts */
    uint64_t messages;          /* items stored (all kinds) */
    uint64_t rejected;          /* items that failed verification */
    uint64_t map_size;          /* bytes */
    uint64_t used_bytes;        /* pages in use x page size */
} ih_store_counts_t;

/*  Current counters and cursor. Returns 0 or -1 with err. */
int ih_store_counts(ih_store_t *self, ih_store_counts_t *c, ih_err_t *err);
/*  The durable cursor (0 on error or when empty). */
uint64_t ih_store_cursor(ih_store_t *self);
/*  The current map size in bytes (no transaction: cheap). */
uint64_t ih_store_map_size(ih_store_t *self);
/*  The store directory (borrowed). */
const char *ih_store_dir(ih_store_t *self);

typedef struct {
    char id[IH_UUID_LEN + 1];
    uint64_t seq;               /* the latest revision's */
    uint64_t first_seq;
    uint32_t revision;
    uint32_t revisions;
    bool retracted;
    uint64_t retract_seq;
    uint32_t retracted_iocs;    /* IOCs retracted one by one */
    uint32_t comments;
    uint64_t sightings;
    /*  The keys of the IOCs retracted one by one (an ih_index.h key set), for
        ih_store_ioc_retracted. It lives in the arena of the message read with info:
        valid exactly as long as that message holds this alert (until it is freed or
        read into again); in a callback (walks, ih_store_get_with), during the call.
        NULL (and 0) when there are none, or when info was read without a message. */
    const uint8_t *retracted_set;
    size_t retracted_set_len;
} ih_store_alert_t;

/*  Looks an alert up. Returns 1 (found: msg holds the latest revision, info the rest),
    0 (absent), -1 with err. msg must be initialised (ih_msg_init); what it held is
    freed first; free it after use. msg or info may be NULL (info->retracted_set is
    filled only when msg is given: it lives in msg). */
int ih_store_get(ih_store_t *self, const char *id, ih_msg_t *msg, ih_store_alert_t *info,
                 ih_err_t *err);

/*  Calls fn for each alert whose latest revision has seq > after, in seq order (oldest
    first, or newest first when reverse). msg and info are valid during the call only.
    fn returns 0 to go on, anything else to stop (returned). Returns 0, fn's value, or
    -1 with err. The read transaction stays open during the walk: keep fn short. */
typedef int (ih_store_alert_fn)(const ih_msg_t *msg, const ih_store_alert_t *info, void *arg);
int ih_store_foreach(ih_store_t *self, uint64_t after, bool reverse, ih_store_alert_fn *fn,
                     void *arg, ih_err_t *err);

/*  Calls fn once with alert id (its latest revision) and info, as a walk would, and
    returns 1 (found; fn's value is not used), 0 (absent: fn is not called) or -1 with
    err. The read transaction is over when fn runs: fn may read the store again. With a
    cache (ih_store_cache) the message is borrowed from it, without a decode. */
int ih_store_get_with(ih_store_t *self, const char *id, ih_store_alert_fn *fn, void *arg,
                      ih_err_t *err);

/* ---- a cache of decoded alerts ---------------------------------------------------------- */
/*  Decoding an alert's body (strict: ih_body_decode validates every field and normalises
    every IOC) is the largest cost of a page that lists alerts. A server that lists the
    same alerts again and again (the gateway) gives its read handles a cache of decoded
    alerts: the walks (ih_store_walk, ih_store_foreach) and ih_store_get_with then hand
    fn the decoded message from the cache, and decode and put it there on a miss.
    ih_store_get still decodes into the caller's message.

    The key is the alert's id, the seq of its latest revision and the publisher's
    signature of that body (ih_store_load_view): a revision, which comes with a new seq
    and a new signature, is never answered with the message it replaced, whichever
    process wrote the store, so nothing needs invalidating; the rest of what a walk
    gives (ih_store_alert_t: retracted, the retracted IOCs, revisions, counts) is read
    from the store every time. Old entries age out (ih_cache.h, BOUND).

    ih_store_cache_new makes a cache for these values (a decoded ih_msg_t each, counted
    as its arena's size): any number of handles of any number of stores may share it,
    from any thread; destroy it (ih_cache_destroy) after the last handle that uses it.
    ih_store_cache sets it on one handle (NULL: none); ih_store_share copies it to the
    new handle, ih_store_snapshot does not (a stream through every alert would push out
    what the pages use). */
ih_cache_t *ih_store_cache_new(size_t max_bytes);
void ih_store_cache(ih_store_t *self, ih_cache_t *cache);

/* ---- walks by index -------------------------------------------------------------------- */
/*  What an index lists: alerts by category, severity or TLP (value: the enum), by sector
    or by word (text: a sector name, a word as ih_store_words gives it). */
typedef enum {
    IH_STORE_BY_CATEGORY = 0, IH_STORE_BY_SEVERITY, IH_STORE_BY_TLP, IH_STORE_BY_SECTOR,
    IH_STORE_BY_WORD
} ih_store_by_t;

typedef struct {
    ih_store_by_t by;
    int value;
    const char *text;
} ih_store_key_t;

#define IH_STORE_WALK_GROUPS  8
#define IH_STORE_WALK_KEYS    8

/*  A walk: the alerts listed under at least one key of every group (AND of ORs; no
    group: every alert), whose latest revision's seq is above after and below before (0:
    no bound), in seq order (newest first when reverse).

    budget (0: none) caps the records the walk reads. Groups that rarely meet (two
    common words that never appear together) make a join read both lists to the end, in
    proportion to the store: a caller that answers a request gives a budget, and when it
    runs out the walk stops and *cut (when not NULL) receives where to resume: the next
    walk's before (reverse) or after (forward). *cut is 0 when the walk ran to its end. */
typedef struct {
    int ngroups;
    struct {
        int nkeys;
        ih_store_key_t keys [IH_STORE_WALK_KEYS];
    } groups [IH_STORE_WALK_GROUPS];
    uint64_t after, before;
    bool reverse;
    uint64_t budget;
    uint64_t *cut;
} ih_store_walk_t;

/*  Calls fn for each alert w selects, as ih_store_foreach does. It starts where before
    (or after) puts it with a cursor seek and reads the index entries of the keys, so
    what it reads grows with what it lists, not with the store: groups are joined by
    leapfrogging from one to the next (the rarest first is cheapest), within w's budget.
    Returns 0, fn's value, or -1 with err. The read transaction stays open during the
    walk. */
int ih_store_walk(ih_store_t *self, const ih_store_walk_t *w, ih_store_alert_fn *fn, void *arg,
                  ih_err_t *err);
/*  How many alerts key lists (constant time), or -1 with err. */
int64_t ih_store_key_count(ih_store_t *self, const ih_store_key_t *key, ih_err_t *err);

/*  Whether alert m (its latest revision) is listed under key: the rule each index keeps. */
bool ih_store_key_has(const ih_msg_t *m, const ih_store_key_t *key);

#define IH_STORE_WORD_MAX  64       /* longer words are cut to this many bytes */
/*  The words of text as the word index holds them: runs of ASCII letters and digits and
    of bytes above 0x7f (UTF-8 letters), ASCII lower-cased, at least 2 bytes, cut to
    IH_STORE_WORD_MAX. Calls fn (word NUL-terminated, its length) for each, in order,
    repeats included; fn returns 0 to go on. Returns 0 or fn's value. */
typedef int (ih_store_word_fn)(const char *word, size_t len, void *arg);
int ih_store_words(const char *text, ih_store_word_fn *fn, void *arg);

/*  Active alerts created per week, category and TLP, for the weeks whose Monday (UTC) is
    in [from_ms, to_ms): fn gets the Monday (ms), the category, the TLP and the count,
    by Monday then category then TLP; fn returns 0 to go on. Returns 0, fn's value, or -1
    with err. */
typedef int (ih_store_week_fn)(int64_t monday_ms, ih_category_t category, ih_tlp_t tlp,
                               uint32_t count, void *arg);
int ih_store_weeks(ih_store_t *self, int64_t from_ms, int64_t to_ms, ih_store_week_fn *fn,
                   void *arg, ih_err_t *err);

/*  Records read from the store by every handle of this process so far (index entries,
    alert records, meta): what a test counts to show that a page reads a bounded number
    of records whatever the size of the store. */
uint64_t ih_store_reads(void);

/* ---- revisions ---------------------------------------------------------------------------- */
/*  One kept revision of an alert, as delivered: valid during the callback only. */
typedef struct {
    char id [IH_UUID_LEN + 1];
    uint32_t revision;
    uint64_t seq;                   /* the seq it was delivered with */
    const uint8_t *sig;             /* 64: the publisher's signature of body */
    const uint8_t *body;            /* the signed body */
    size_t body_len;
} ih_store_rev_t;

/*  msg: the decoded body (valid during the call). fn returns 0 to go on. */
typedef int (ih_store_rev_fn)(const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg);

/*  Calls fn for each kept revision of alert id, lowest revision first (revisions that
    came before the store kept them are not there: a store upgraded from format 1 starts
    with the revision it held). Returns 0 (also for an unknown id), fn's value, or -1
    with err. */
int ih_store_revisions_foreach(ih_store_t *self, const char *id, ih_store_rev_fn *fn, void *arg,
                               ih_err_t *err);
/*  Calls fn for each kept revision (of any alert) delivered with a seq above after, in
    seq order. Returns as ih_store_revisions_foreach. */
int ih_store_revisions_after(ih_store_t *self, uint64_t after, ih_store_rev_fn *fn, void *arg,
                             ih_err_t *err);
/*  The kept revision delivered at seq: 1 (found: msg holds it, rev the rest, rev->sig and
    rev->body NULL), 0 (absent), -1 with err. msg as for ih_store_get; either may be NULL. */
int ih_store_revision_at(ih_store_t *self, uint64_t seq, ih_msg_t *msg, ih_store_rev_t *rev,
                         ih_err_t *err);

/*  Whether an IOC of an alert's latest revision is retracted (alone or with its alert):
    a function of info alone (info->retracted, info->retracted_set), so info must come
    with its message (from ih_store_get with a msg, or an ih_store_foreach callback) and
    be used while that message still holds the alert. */
bool ih_store_ioc_retracted(const ih_store_alert_t *info, const ih_ioc_t *ioc);

/* ---- checking ----------------------------------------------------------------------------- */
/*  The store's integrity (ih_store_check.c). LMDB keeps no checksum, so a record is
    checked the way it was when it came: every signed message (alerts, kept revisions,
    comments, retractions) against the member record kept for its signer, and that
    against the pinned registry key (ih_client_verify_item), and against the keys it is
    filed under; every member record against the registry key; every other record read,
    its size checked where it is fixed, so that LMDB walks every page (a page whose
    structure is damaged is an LMDB error: that database's walk ends there, reported,
    and the next one goes on). Damage is reported, never repaired: README, Recovery. */
typedef struct {
    uint64_t records;           /* records read, every database */
    uint64_t verified;          /* signatures that verified */
    uint64_t damaged;           /* damaged records (and databases LMDB could not walk) */
    bool done;                  /* the walk reached the end of the last database */
    char first [300];           /* the first damage, as reported */
} ih_store_check_stats_t;

/*  One damaged record: "alert ID: the body does not decode (...)", one line. */
typedef void (ih_store_damage_fn)(const char *line, void *arg);

/*  The whole check, in one read transaction: fn (may be NULL) gets each damage. Returns
    0 (st says what was found), or -1 with err when the store cannot be read at all. */
int ih_store_check(ih_store_t *self, const uint8_t registry_pk[32], ih_store_damage_fn *fn, void *arg,
                   ih_store_check_stats_t *st, ih_err_t *err);

/*  A check in steps, for a daemon that checks its store in the background (a scrub): each
    step examines at most budget records (0: the rest) in a read transaction of its own,
    and the next goes on after the last one examined (what changed meanwhile is seen as
    it is then). */
typedef struct ih_store_check ih_store_check_t;
ih_store_check_t *ih_store_check_new(const uint8_t registry_pk[32]);
void ih_store_check_destroy(ih_store_check_t **self_p);
/*  Returns 1 when the walk is over (the stats are final), 0 when the budget ran out
    first, -1 with err when no read transaction could start. */
int ih_store_check_step(ih_store_check_t *self, ih_store_t *store, uint64_t budget,
                        ih_store_damage_fn *fn, void *arg, ih_err_t *err);
void ih_store_check_stats(ih_store_check_t *self, ih_store_check_stats_t *st);
/*  Starts a fresh pass (the counts go back to 0). */
void ih_store_check_restart(ih_store_check_t *self);

/* ---- search ---------------------------------------------------------------------------- */
/*  Looks a normalised value of type t up in the IOC index (ih_index_search: exact for
    every type, CIDRs containing an IP or CIDR, parent domains, and what flags ask:
    IH_SEARCH_SUBDOMAINS, IH_SEARCH_INSIDE). A hit's `retracted` is also set when its
    whole alert is retracted. fn returns 0 to go on. Returns the number of hits
    reported, or -1 with err ("search: 'x' is not a normalised ipv4"). */
int ih_store_search(ih_store_t *self, ih_ioc_type_t t, const char *value, unsigned flags,
                    ih_index_hit_fn *fn, void *arg, ih_err_t *err);

/*  Sightings recorded for a normalised value: total count and reports (0 when none).
    Returns 0 or -1 with err. */
int ih_store_sightings(ih_store_t *self, ih_ioc_type_t t, const char *value, uint64_t *count,
                       uint32_t *reports, ih_err_t *err);

/*  The same with when: the first and last sighting's time (the sighting messages' own
    modified times, ms; 0 when none). Returns 0 or -1 with err. */
typedef struct {
    uint64_t count;                 /* times seen, summed over the reports */
    uint32_t reports;               /* sighting messages */
    int64_t first_ms, last_ms;
} ih_store_sighting_t;
int ih_store_sighting_get(ih_store_t *self, ih_ioc_type_t t, const char *value, ih_store_sighting_t *out,
                          ih_err_t *err);

/* ---- the log, and what refers to an alert ---------------------------------------------- */
typedef struct {
    uint64_t seq;
    bool rejected;              /* failed verification: nothing below is set */
    ih_kind_t kind;
    ih_store_outcome_t outcome;
    uint32_t revision;          /* alert: the revision delivered */
    char id[IH_UUID_LEN + 1];   /* the message id (for an alert, the alert's) */
    char ref[IH_UUID_LEN + 1];  /* retraction, comment, sighting: the alert, or "" */
} ih_store_log_t;

/*  Reads up to max log entries with seq > after, oldest first, into out: what `tail`
    prints and what the on-alert hook walks. Returns how many (0: nothing after `after`
    yet), or -1 with err. */
int ih_store_log_read(ih_store_t *self, uint64_t after, ih_store_log_t *out, size_t max,
                      ih_err_t *err);

/*  Bounds the log (80 bytes an entry, one per delivered seq). From now on each ingest of
    this writer deletes, in its own transaction, the oldest entries beyond the newest
    `keep` (0: keep them all, the default), but never one with seq > keep_after: the
    daemon passes its on-alert hook's watermark, so that the hook never loses an entry it
    has not dealt with (UINT64_MAX when no hook runs). One ingest deletes at most 1024
    entries more than it adds, so that a bound lowered on a long log is reached over a
    few batches. The gateway does not call it (its TAXII log reads the whole log). Writer
    only; a reader ignores it. */
void ih_store_log_limit(ih_store_t *self, uint64_t keep, uint64_t keep_after);

/*  Calls fn for each stored comment (kind IH_KIND_COMMENT) or retraction
    (IH_KIND_RETRACTION) that refers to alert id, oldest first, with its seq and decoded
    body (valid during the call). fn returns 0 to go on. Returns 0, fn's value, or -1
    with err. Other kinds: -1 ("store: no messages of kind x are kept"). */
typedef int (ih_store_msg_fn)(uint64_t seq, const ih_msg_t *msg, void *arg);
int ih_store_refs_foreach(ih_store_t *self, const char *id, ih_kind_t kind, ih_store_msg_fn *fn,
                          void *arg, ih_err_t *err);

/* ---- small named values beside the data ------------------------------------------------- */
/*  The daemon's own durable state (the on-alert hook's cursor …), kept in meta under
    "x:" + name (name: 1..64 bytes). ih_store_aux_get copies the value into out (reset
    first) and returns 1, or 0 when absent, or -1 with err. ih_store_aux_put (writer
    only) replaces it, or deletes it when data is NULL, in one transaction of its own
    (durable on return; never while an ingest runs: same thread). Returns IH_OK,
    IH_ENOSPACE with err on a full disk (nothing changed), or IH_EFAIL with err. */
int ih_store_aux_get(ih_store_t *self, const char *name, ih_buf_t *out, ih_err_t *err);
int ih_store_aux_put(ih_store_t *self, const char *name, const void *data, size_t len,
                     ih_err_t *err);

/*  Self-tests: the environment, ingest, reading, the format 2 databases and their walks,
    the log's bound. */
void ih_store_test(bool verbose);
void ih_store_ingest_test(bool verbose);
void ih_store_read_test(bool verbose);
void ih_store_cache_test(bool verbose);
void ih_store_index_test(bool verbose);
void ih_store_walk_test(bool verbose);
void ih_store_check_test(bool verbose);
void ih_store_log_test(bool verbose);

#endif
