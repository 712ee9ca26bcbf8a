/*  ih_client.h: a member's connection to the broker (agent, gateway, command-line tools).

    One ZeroMQ DEALER socket, CURVE client (PROTOCOL.md section 2): the member's CURVE
    certificate, the broker's public key (Z85), ZMQ transport heartbeats, ZMQ_MAXMSGSIZE =
    IH_ZMQ_MAXMSGSIZE (a frame of IH_MAX_FRAME bytes and CURVE's 33), linger 0. A socket monitor reports CURVE/ZAP handshake failures (a key
    the broker does not admit) as a log line instead of silence.

    Two ways to use it:

    - Request mode (publish): ih_client_new, ih_client_publish_wait, destroy. No hello.
      A publish needs no session, so a session-mode client may also publish without
      waiting (ih_client_publish_send: the ok or error comes back through
      ih_client_recv, with the request's req), as the agent daemon does for its console.

    - Session mode (agent `run`, gateway): ih_client_subscribe sets what the hello says;
      from then on ih_client_recv runs the session by itself: it connects, sends hello
      with the cursor the caller last reported (ih_client_set_cursor / ih_client_ack),
      sends ping every heartbeat, answers `error no-session` with a fresh hello, and when
      nothing arrives from the broker for 3 x heartbeat it closes the socket and connects
      again after a backoff (100 ms doubling to 5 s, reset by a welcome). Delivered items
      that were in flight on the old socket are simply delivered again after the new
      hello: the caller drops any seq <= its durable cursor.

    Item verification (ih_client_verify_item) is a pure function: the member record is
    decoded and verified against the pinned registry key, the body is decoded strictly
    and verified against the record's signing key, and the body's org/member/signer must
    equal the record's org/name/sign (PROTOCOL.md section 7). A broker therefore cannot
    forge a member or alter an alert.

    Logging: one line per event on stderr, "L NAME: message", NAME from the config
    ("agent", "gateway"). No secret is ever logged.

    Threading: an ih_client_t belongs to one thread, and does its session work (pings,
    liveness, reconnects) only inside ih_client_recv: call it at least once per heartbeat
    (work between calls, such as a store commit, should stay well under 3 heartbeats).
    ih_client_recv and ih_client_publish_wait return early once czmq's zsys_interrupted
    is set (a daemon's signal handler sets it).
*/
#ifndef IH_CLIENT_H
#define IH_CLIENT_H

#include <czmq.h>
#include "ih_codec.h"

typedef struct ih_client ih_client_t;

typedef struct {
    const char *endpoint;       /* "tcp://127.0.0.1:7710" */
    const char *broker_key;     /* broker CURVE public key, Z85 (40 chars) */
    zcert_t *cert;              /* the member's CURVE cert (borrowed; duplicated inside) */
    const char *log_name;       /* "agent", "gateway"; NULL = "client" */
    const char *agent;          /* hello.agent, e.g. "infohub-agent/0.1"; NULL = log_name */
    uint32_t heartbeat;         /* ms until the broker's welcome says otherwise; 0 = 1000 */
    bool quiet;                 /* no log lines at all (command-line tools: they report
                                   the errors the calls return) */
} ih_client_cfg_t;

/*  Creates the client and connects its socket (asynchronously: ZeroMQ connects in the
    background and retries by itself). Returns NULL with err when the configuration is
    unusable (bad broker key, bad endpoint). */
ih_client_t *ih_client_new(const ih_client_cfg_t *cfg, ih_err_t *err);
/*  Sends `bye` if a session is up, closes the socket, frees; nulls *self_p; safe twice. */
void ih_client_destroy(ih_client_t **self_p);

/* ---- request mode -------------------------------------------------------------------- */
/*  Sends `publish` with a fresh req and waits up to timeout_ms for the `ok` or `error`
    carrying that req. Returns:
       0  ok: *seq and id (37 bytes) are filled
       1  the broker refused: code (32 bytes) gets the error code, err "reason"
      -1  no answer in time, the handshake failed, or a transport error: err says which.
    seq, id and code may be NULL. */
int ih_client_publish_wait(ih_client_t *self, const uint8_t *body, size_t len,
                           const uint8_t sig[64], int timeout_ms, uint64_t *seq,
                           char *id, char *code, ih_err_t *err);
/*  After ih_client_publish_wait returned 1: how many ms the broker asked us to wait
    before sending again (its error's retry_after: `rate-limited`), else 0. */
uint64_t ih_client_retry_after(ih_client_t *self);
/*  Sends `publish` with a fresh req (into *req, may be NULL) and returns at once: the
    broker's `ok` or `error` with that req is one of the envelopes ih_client_recv returns
    later (a session-mode client), or is lost when the connection drops first: the
    caller keeps its own deadline. A session-mode client whose socket is down says
    "not connected to broker ENDPOINT"; a request-mode one connects first. 0, or -1 with
    err (nothing sent). */
int ih_client_publish_send(ih_client_t *self, const uint8_t *body, size_t len, const uint8_t sig[64],
                           uint64_t *req, ih_err_t *err);
/*  Sends `roster` (PROTOCOL.md 4.6); the broker's `members` comes back through
    ih_client_recv. 0, or -1 with err ("not connected …"). */
int ih_client_roster(ih_client_t *self, ih_err_t *err);

/* ---- session mode -------------------------------------------------------------------- */
typedef struct {
    uint64_t cursor;            /* durable cursor: deliver everything with seq > cursor */
    uint32_t window;            /* 1..10000; 0 = 1000 */
    const char *min_severity;   /* "" or NULL = all */
    ih_strlist_t categories;    /* narrowing, empty = all (strings borrowed, kept until
                                   ih_client_destroy: pass literals or long-lived storage) */
    ih_strlist_t sectors;
} ih_client_hello_t;

/*  Starts session mode: sends hello now and on every reconnect. */
int ih_client_subscribe(ih_client_t *self, const ih_client_hello_t *hello, ih_err_t *err);
/*  Reports the durable cursor (used by the next hello) without sending anything. */
void ih_client_set_cursor(ih_client_t *self, uint64_t cursor);
/*  Sends `ack` for seq and records it as the durable cursor. Call after the commit. */
int ih_client_ack(ih_client_t *self, uint64_t seq, ih_err_t *err);

/*  Waits up to timeout_ms for the next envelope from the broker, doing the session's
    housekeeping (ping, liveness, reconnect, hello) meanwhile. Returns:
       1  *env_p points to the decoded envelope (welcome, deliver, error, pong, ok,
          stats), owned by the client: it and its borrowed pointers (items, bodies) stay
          valid until the next ih_client_recv, ih_client_reset or ih_client_destroy
       0  nothing (timeout, or interrupted by a signal: check your stop flag)
      -1  the broker sent a frame that does not decode (err says why; it was dropped)
    Welcome, pong and `error no-session` are also acted upon inside (heartbeat, head,
    hello again) before they are returned. */
int ih_client_recv(ih_client_t *self, ih_env_t **env_p, int timeout_ms, ih_err_t *err);
/*  Watches sock (borrowed; NULL: none) while ih_client_recv waits: input on it ends the
    wait at once (recv returns 0), so that a daemon that polls the client also serves
    another socket without delay (the agent daemon's control socket). */
void ih_client_wake_on(ih_client_t *self, zsock_t *sock);

/*  Closes the socket now and reconnects after delay_ms (the caller gave up on the
    session, e.g. the store is full: the broker replays from the cursor later). */
void ih_client_reset(ih_client_t *self, int delay_ms);

/*  Whether the broker refuses this member for good (the agent daemon stops then):
      IH_CLIENT_ADMITTED         no (or not yet for good)
      IH_CLIENT_REVOKED          the broker said `error revoked`: the member was revoked or
                                 removed from the registry while connected; final at once
      IH_CLIENT_NOT_REGISTERED   the broker said our key is not registered (`error
                                 not-registered`, or its ZAP handler refused the key at the
                                 handshake, which it does for unknown and revoked keys
                                 alike) and still said so IH_CLIENT_REFUSED_MS (10 s) or
                                 more after the first time. The broker reloads its registry within
                                 250 ms of a change, and before it refuses an unknown key,
                                 so a member enrolled a moment ago is admitted well within
                                 that time and is never given up on.
    The client itself goes on reconnecting either way (a gateway waits to be admitted
    again); the first refusal is logged once, then once a minute. reason (may be NULL)
    gets one line saying what the broker said (borrowed until the next ih_client_recv;
    "" when admitted). A welcome clears it all. */
typedef enum {
    IH_CLIENT_ADMITTED = 0, IH_CLIENT_REVOKED, IH_CLIENT_NOT_REGISTERED
} ih_client_refusal_t;
#define IH_CLIENT_REFUSED_MS 10000
ih_client_refusal_t ih_client_refused(ih_client_t *self, const char **reason);
/*  Sets how long an unknown key must stay refused before it is final (for tests). */
void ih_client_set_refused_ms(ih_client_t *self, uint32_t ms);

/*  Session state for status reports. */
bool ih_client_connected(ih_client_t *self);       /* welcome received, not timed out */
uint64_t ih_client_head(ih_client_t *self);         /* broker head from welcome/pong */
uint64_t ih_client_owed(ih_client_t *self);         /* the highest seq the broker holds for
                                                       this member (welcome/pong `owed`, or
                                                       a later delivery): lag = owed - cursor */
uint32_t ih_client_heartbeat(ih_client_t *self);    /* ms, from the welcome */
const char *ih_client_endpoint(ih_client_t *self);

/*  A delivered seq a receiver accepts after prev (its cursor, or the last seq it took
    from the same delivery): greater than prev, at most IH_SEQ_MAX_STEP beyond it, and
    below IH_SEQ_LIMIT. Broker seqs count messages one by one, so an honest broker never
    jumps 2^40 (a trillion messages) at once; a hostile one cannot push a receiver's
    cursor to UINT64_MAX (or near it) with one item. Receivers drop an implausible item
    with an error and do not let it move the cursor. */
#define IH_SEQ_MAX_STEP     (1ULL << 40)
#define IH_SEQ_LIMIT        (1ULL << 62)
bool ih_client_seq_plausible(uint64_t prev, uint64_t seq);

/* ---- verification -------------------------------------------------------------------- */
/*  Verifies one delivered item (see top). rec is zeroed, then filled as soon as the record
    decodes (so a caller can name the claimed publisher in a log line even when a later
    step fails); msg must be initialised (ih_msg_init): what it held is freed, and it
    holds the decoded body on success (free it with ih_msg_free after use). Returns 0, or -1 with err:
      "member record: <decode error>", "member record: bad signature",
      "body: <decode error>", "bad signature",
      "member record: NAME is not a publisher (…)" (an alert or retraction whose record
         is a reader's, or anything from the gateway identity: ih_role_may_send),
      "signer mismatch: body org 'x' != record org 'y'" (or member, signer). */
int ih_client_verify_item(const ih_item_t *item, const uint8_t registry_pk[32],
                          ih_member_t *rec, ih_msg_t *msg, ih_err_t *err);

/*  The two halves of ih_client_verify_item, for a caller that verifies each distinct
    record once (ih_reccache.h) and the bodies on several threads (ih_sigpool.h):
    ih_client_verify_record decodes and verifies the record (rec zeroed, then filled as
    soon as it decodes), with the errors "member record: …" above;
    ih_client_verify_body decodes the body into msg (as above: what it held is freed)
    and checks the role, the publisher's signature and the signer against rec, a record
    that ih_client_verify_record accepted, with the other errors above. Both are pure:
    any thread, no shared state. */
int ih_client_verify_record(const ih_item_t *item, const uint8_t registry_pk[32], ih_member_t *rec,
                            ih_err_t *err);
int ih_client_verify_body(const ih_item_t *item, const ih_member_t *rec, ih_msg_t *msg, ih_err_t *err);

void ih_client_test(bool verbose);         /* ih_client_test.c */

#endif
