/*  ih_related.h: related alerts. For an alert (or a text being written), the most similar
    alerts a store holds, the near-duplicates (the same report shared twice) marked.

    CANDIDATES come from an index, so that a query reads a few lookups whatever the size
    of the store (aim: under 10 ms at 100,000 alerts):
      - MinHash LSH (ih_minhash.h: 128 hashes of word 3-shingles, 32 bands of 4): alerts
        that share a band are likely near-duplicates;
      - a shared IOC value or references URL;
      - a shared distinctive term: the query's 8 rarest terms that at most 1 % of the
        alerts (or 50) have.
    RANKING. TF-IDF cosine over the terms of ih_text.h (each alert's weights are computed
    with the index's document frequencies when it is indexed; the query's with the
    current ones: a plain TF-IDF that needs no trained model, so the gateway has it
    too). Shared IOCs are strong evidence, and so is a shared source: score = 1 - (1 -
    cosine) x 0.6^(shared IOCs) x (0.5 if a references URL is shared), at least the
    estimated Jaccard. An estimated Jaccard of IH_MINHASH_NEAR_DUP (0.6) or more marks a
    near-duplicate.

    THE INDEX is an LMDB environment of its own in STORE/related/, beside the store's
    (never written inside the store's ingest transaction):
      meta      "version" u32 (1), "watermark" u64: the store seq indexed up to,
                "next" u32: the next document number
      ids       alert id (36) -> document number (u32 BE)
      docs      document number (u32 BE) -> u8 1, u8 0, u16 title length, id (36),
                u64 seq, title, u32 x 128 signature, u32 shingles, u16 terms, terms x
                (u64 hash, f32 weight) sorted by hash, u16 n, n x u64 IOC and reference
                hashes sorted (bit 63 set for references)
      bands     (dup-sorted u32) u64 band hash -> document numbers
      posts     (dup-sorted u32) u64 term / IOC / reference hash -> document numbers;
                a term's count of them is its document frequency
    The writer commits without fsync, and starts again after a machine restart that may
    have torn it; readers see no index until it has (DIR/unsynced: ih_related.c).
    One writer (the daemon, the gateway's subscriber) keeps it in step with the store
    after each commit (ih_related_catch_up: alerts whose latest revision came after the
    watermark are indexed again, their old entries removed). Readers (command line,
    console, the gateway's pages) open it read-only in any number of processes. A
    missing index is not an error for a reader: it has nothing to say yet.

    USE FROM THE CONSOLE: open a reader once (ih_related_open, writer false; retry later
    when it says "no index yet"), then per request ih_related_for_alert for an alert page
    and ih_related_query for a draft on the share form. Check each hit against the store
    before showing it (the index lags a retraction until the alert's next revision; the
    member's store only ever holds what the member may read, so the index does too).

    Threading: one ih_related_t may be shared by the threads of a process: each call has
    its own LMDB transaction (the environment is MDB_NOTLS); catch-up from one thread
    at a time.
*/
#ifndef IH_RELATED_H
#define IH_RELATED_H

#include "ih_minhash.h"
#include "ih_store.h"

#define IH_RELATED_MAX      50          /* hits a query returns at most */
#define IH_RELATED_DEFAULT  10

typedef struct ih_related ih_related_t;

/*  Opens STORE_DIR/related. A writer creates it when missing; a reader needs it: NULL
    with err "related: no index yet (STORE_DIR/related)", which callers treat as empty.
    NULL with err on other failures. */
ih_related_t *ih_related_open(const char *store_dir, bool writer, ih_err_t *err);
/*  Closes; safe twice; nulls *self_p. */
void ih_related_destroy(ih_related_t **self_p);

/*  Indexes up to max (0: no limit) alerts of store whose latest revision's seq is above
    the watermark, oldest first, in one write transaction, and moves the watermark.
    Retracted alerts leave the index. Returns how many alerts were indexed (0: in step),
    or -1 with err. Writer only. */
int ih_related_catch_up(ih_related_t *self, ih_store_t *store, size_t max, ih_err_t *err);
/*  The same, ending the transaction also once max_ms (> 0) have gone by (after at least
    one alert): a daemon's step between reading deliveries. */
int ih_related_step(ih_related_t *self, ih_store_t *store, size_t max, int max_ms, ih_err_t *err);
/*  An alert read from the store (ih_store_foreach): its message, its latest revision's
    seq, and whether it is retracted. */
typedef struct {
    const ih_msg_t *msg;
    uint64_t seq;
    bool retracted;
} ih_related_doc_t;

/*  Indexes n alerts that a caller read from the store, in seq order, in one write
    transaction, and moves the watermark to the last (those at or below the watermark
    are skipped): the work of a step without reading the store, for a daemon whose
    indexer must not hold a read of the store (ih_analytics.c). Returns how many were
    indexed, or -1 with err. Writer only. */
int ih_related_add(ih_related_t *self, const ih_related_doc_t *docs, size_t n, ih_err_t *err);

/*  Whether the writer's open found the index written unsynced in an earlier boot (an
    OS crash or a power cut may have torn it) and started it again from nothing. */
bool ih_related_rebuilt(const ih_related_t *self);

/*  The store seq the index is in step with; alerts indexed. */
uint64_t ih_related_watermark(ih_related_t *self);
uint64_t ih_related_count(ih_related_t *self);

typedef struct {
    char id [IH_UUID_LEN + 1];
    char title [IH_MAX_TITLE + 1];
    double score;               /* 0..1, see top */
    double cosine;
    double jaccard;             /* estimated, of the word 3-shingles */
    uint32_t shared_iocs;
    bool shared_reference;
    bool near_duplicate;
} ih_related_hit_t;

/*  A text being written (analyse, the console's share form): its title and summary as
    one text, its IOCs (normalised, may be NULL) and references URLs (may be NULL). */
typedef struct {
    const char *text;
    size_t len;
    const ih_ioc_t *iocs;
    size_t niocs;
    const char *const *refs;
    size_t nrefs;
} ih_related_query_t;

/*  The alerts most related to q, best first, into out (max entries, at most
    IH_RELATED_MAX). Returns how many, or -1 with err. */
int ih_related_query(ih_related_t *self, const ih_related_query_t *q, ih_related_hit_t *out, size_t max,
                     ih_err_t *err);

/*  The alerts most related to indexed alert id (itself left out), best first. Returns
    how many (0 also when id is not indexed yet), or -1 with err. */
int ih_related_for_alert(ih_related_t *self, const char *id, ih_related_hit_t *out, size_t max, ih_err_t *err);

void ih_related_test(bool verbose);

#endif
