/*  ih_subscriber.h: the one subscriber core. A member's session with the broker that
    receives what the member is entitled to, verifies it, and keeps it: the agent daemon
    (`infohub-agent run`) and the gateway (gateway/ih_sync.c) both run it.

    ONE ROUND (ih_subscriber_poll) does, in this order:
      1. receive: waits up to timeout_ms for the broker (ih_client_recv, which also runs
         the session: hello, pings, liveness, reconnects), then takes every envelope that
         is already waiting, until the batch is full;
      2. verify: each delivered item, the whole batch at once, as ih_client_verify_item
         would one by one: the member record against the pinned registry key
         (ih_reccache: each distinct record decoded and verified once, by its exact
         bytes; a record that fails is never kept, so it fails every time), then the
         bodies against their records' signing keys on every core (ih_sigpool_run of
         ih_client_verify_body: decode, role, signature, signer). The verdicts are then
         taken in delivery order, so the log lines and what is kept are those of the
         serial check. Items at or below the cursor (a replay after a reconnect) are
         dropped; an item whose seq is implausible (ih_client_seq_plausible) is dropped
         and does not move the cursor; an item that fails verification is logged and not
         stored, but the cursor passes it. This is the one place where a delivered body
         is decoded (see ARCHITECTURE.md "The path of one alert");
      3. filter: the caller's filter may refuse a verified item (the gateway refuses
         anything that is not TLP:CLEAR); a refused item is logged, not stored, and the
         cursor passes it;
      4. persist: the batch goes into the store in one transaction (ih_store_ingest), with
         the cursor, so data and cursor are atomic (one fsync per batch);
      5. acknowledge: `ack` with the new cursor, after the commit;
      6. on_commit: the caller sees what was stored (per item: outcome, message, record).
    A store failure (full disk, ...) keeps nothing of the batch, acknowledges nothing,
    and drops the session for 5 s; the broker replays from the durable cursor later.

    IN CATCH-UP, TWO ROUNDS OVERLAP: a round starts the signature pool on the bodies of
    the batch it collected (step 2's second half), then does steps 2 (the verdicts in
    order), 3 to 6 for the batch of the round before, while the pool's helpers verify,
    and leaves its own batch pending. It does so when its batch is full (half the
    window, so the broker can send the next while one is pending) or when it stored a
    pending one (whose ack opens the window); otherwise (nothing more waiting, or stop)
    it stores its own batch before it returns, so a live alert waits for no later round.
    With a batch pending, a round waits at most 5 ms for the next delivery. The order of
    everything (log lines, filter, commits, acks, on_commit) is that of serial rounds;
    the cursor moves only with a commit. A pending batch is never stored partly: a
    crash, a stop (destroy) or a store failure drops it unacknowledged, and the broker
    replays it from the durable cursor.

    Envelopes other than deliveries (welcome, error, pong, stats) go to on_event after
    ih_client has acted on them.

    Threading: an ih_subscriber_t belongs to the thread that polls it; it uses the store
    handle given (the writer) from that thread only. It starts a signature pool
    (ih_sigpool: one helper thread per core beyond the first), whose helpers only decode
    and verify the bodies of one batch (ih_sigpool_start), while the polling thread
    stores the batch before it, then verifies what is left with them (ih_sigpool_wait).
    Call ih_subscriber_poll at least once per heartbeat (1 s by default).
*/
#ifndef IH_SUBSCRIBER_H
#define IH_SUBSCRIBER_H

#include <signal.h>

#include "ih_client.h"
#include "ih_store.h"

typedef struct ih_subscriber ih_subscriber_t;

/*  Why a verified item may not be kept, or NULL to keep it. batch [0..k) are the items
    already taken into this batch (not stored yet: a filter that looks an alert up must
    look there as well as in the store); m and rec are the item's. */
typedef const char *(ih_subscriber_filter_fn)(const ih_msg_t *m, const ih_member_t *rec,
                                               const ih_store_item_t *batch, size_t k, void *arg);
/*  After a commit: items [0..count) as ih_store_ingest left them (outcome, why), with
    the publishers' records recs [i] (valid for items whose msg is not NULL). */
typedef void (ih_subscriber_commit_fn)(const ih_store_item_t *items, const ih_member_t *recs,
                                       size_t count, void *arg);
/*  An envelope that is not a delivery (welcome, error, pong, stats). */
typedef void (ih_subscriber_event_fn)(const ih_env_t *e, void *arg);
typedef struct ih_subscriber_stats ih_subscriber_stats_t;
/*  A counter moved (called before the item's log line is written). */
typedef void (ih_subscriber_count_fn)(const ih_subscriber_stats_t *st, void *arg);

typedef struct {
    const char *endpoint;           /* broker endpoint */
    const char *broker_key;         /* broker CURVE public key, Z85 */
    zcert_t *cert;                  /* the member's CURVE cert (borrowed; duplicated) */
    const uint8_t *registry_pk;     /* 32 bytes, pinned registry key (copied) */
    uint32_t window;                /* hello window, 1..10000; 0 = 1000 */
    const char *log_name;           /* "agent", "gateway": the module of its log lines */
    const char *agent;              /* hello.agent, e.g. "infohub-agent/0.1" */
    volatile sig_atomic_t *stop;    /* when set, a round stops taking more (may be NULL) */
    ih_subscriber_filter_fn *filter;    /* may be NULL: keep everything verified */
    ih_subscriber_commit_fn *on_commit; /* may be NULL */
    ih_subscriber_event_fn *on_event;   /* may be NULL */
    ih_subscriber_count_fn *on_count;   /* may be NULL */
    void *arg;                      /* passed to the callbacks */
} ih_subscriber_cfg_t;

struct ih_subscriber_stats {
    uint64_t cursor;                /* durable: everything up to it is stored */
    uint64_t stored;                /* items stored since start (all kinds; not skipped) */
    uint64_t rejected;              /* failed verification, implausible seqs, or refused
                                       by the store (another org's revision, ...) */
    uint64_t refused;               /* refused by the filter */
    uint64_t commits;               /* transactions */
    uint64_t overlapped;            /* batches stored while the pool verified the next */
    char store_error [256];         /* why the store refused the last batch ("" after a
                                       commit): a full disk, a damaged page */
};

/*  Creates the client and sends hello from the store's cursor (the connection comes up
    in the background). store is the writer, borrowed. NULL with err when the client
    cannot be created (bad endpoint or key). */
ih_subscriber_t *ih_subscriber_new(ih_store_t *store, const ih_subscriber_cfg_t *cfg, ih_err_t *err);
/*  Sends `bye`, closes, frees; safe twice; nulls *self_p. A batch left pending by the
    last round (catch-up) is dropped unstored and unacknowledged: the broker replays it
    from the durable cursor to the next session. */
void ih_subscriber_destroy(ih_subscriber_t **self_p);

/*  One round (see top). Returns the number of items stored (0 when nothing came), or -1
    when the store refused the batch (logged; the session was dropped and retries). */
int ih_subscriber_poll(ih_subscriber_t *self, int timeout_ms);

void ih_subscriber_stats(ih_subscriber_t *self, ih_subscriber_stats_t *st);
/*  The session (for status reports: connected, head, heartbeat). Borrowed. */
ih_client_t *ih_subscriber_client(ih_subscriber_t *self);

void ih_subscriber_test(bool verbose);

#endif
