/*  ih_envelope.h: the envelopes of the wire protocol (msgpack-c). PROTOCOL.md is the
    normative spec; this header summarises it. Signed bodies and member records, the
    canonical encoding and the pre-scan are in ih_codec.h, which includes this header.

    ENVELOPES. Every ZeroMQ message between agent (DEALER) and broker (ROUTER) is one
    frame holding one msgpack map with "v" (uint, protocol version, 1) and "t" (str,
    type) first, then the fields of its type in any order. Unknown keys and unknown
    types are rejected; missing required fields are rejected.

      hello    A->B  cursor uint, categories [str], sectors [str], min_severity str
                     ("" = all), window uint (1..10000), agent str
      welcome  B->A  head uint, owed uint, member str, org str, heartbeat uint (ms)
      publish  A->B  req uint, body bin, sig bin(64)
      ok       B->A  req uint, seq uint, id str
      error    B->A  req uint (0 = not about a request), code str, reason str,
                     retry_after uint (ms; optional, with `rate-limited` only)
      deliver  B->A  items [[seq uint, body bin, sig bin(64), rec bin, rec_sig bin(64)], …]
                     (1..IH_MAX_ITEMS items, seq strictly increasing)
      ack      A->B  seq uint (everything up to seq is durably stored)
      ping     A->B  (no fields)
      pong     B->A  head uint, owed uint
      bye      A->B  (no fields)
      status   A->B  (no fields; the broker answers with "stats")
      stats    B->A  json str (the broker's counters as a JSON object)
      roster   A->B  (no fields; the broker answers with "members")
      members  B->A  members [[rec bin, rec_sig bin(64)], …] (0..IH_MAX_MEMBERS): the
                     record of every registered, unrevoked member, as the registry
                     signed it (PROTOCOL.md 4.6)

    The encoder writes the fields of a type in the order above, in the smallest forms.
    Envelopes are not signed and need not be canonical: the decoder checks types and
    limits, and accepts any msgpack form of a value (a uint16 for 5) and any field order.

    `owed` (welcome, pong) is the highest seq the broker has journaled that this member
    is entitled to (<= head; the agent's lag is owed - cursor). It is optional: a broker
    older than it does not send it, and the decoder then sets owed = head.
    `retry_after` (error) is how many ms the client should wait before it sends the
    refused request again (1..IH_RETRY_AFTER_MAX); the encoder writes it only when it is
    not 0, which the broker does only for `rate-limited`, so every other error keeps the
    form older receivers accept; absent, it decodes as 0. Every other listed field is
    required.
*/
#ifndef IH_ENVELOPE_H
#define IH_ENVELOPE_H

#include "ih_msg.h"

#define IH_PROTO_VERSION 1

typedef enum {
    IH_T_HELLO = 1, IH_T_WELCOME, IH_T_PUBLISH, IH_T_OK, IH_T_ERROR, IH_T_DELIVER,
    IH_T_ACK, IH_T_PING, IH_T_PONG, IH_T_BYE, IH_T_STATUS, IH_T_STATS, IH_T_ROSTER,
    IH_T_MEMBERS
} ih_type_t;

#define IH_MAX_MEMBERS  4096        /* records in one members envelope */
#define IH_RETRY_AFTER_MAX  86400000 /* ms: a day, the longest a limit can ask to wait */

/*  The wire name of t ("hello"), or NULL when t is not a type. */
const char *ih_type_name(ih_type_t t);

typedef struct {
    uint64_t seq;
    const uint8_t *body;     /* borrowed: points into the decoded frame */
    size_t body_len;
    const uint8_t *sig;      /* 64 bytes, borrowed */
    const uint8_t *rec;      /* publisher's member record, borrowed */
    size_t rec_len;
    const uint8_t *rec_sig;  /* 64 bytes, borrowed */
} ih_item_t;

/*  One entry of a members envelope: a member record as the registry signed it. */
typedef struct {
    const uint8_t *rec;      /* canonical member record, borrowed */
    size_t rec_len;
    const uint8_t *rec_sig;  /* 64 bytes, borrowed */
} ih_record_t;

typedef struct {
    ih_type_t type;
    uint64_t req;            /* publish, ok, error */
    uint64_t seq;            /* ok, ack */
    uint64_t cursor;         /* hello */
    uint64_t head;           /* welcome, pong */
    uint64_t owed;           /* welcome, pong: <= head (absent on the wire: = head) */
    uint64_t retry_after;    /* error: ms to wait before trying again; 0 = not said */
    uint32_t window;         /* hello */
    uint32_t heartbeat;      /* welcome */
    const char *id;          /* ok */
    const char *code;        /* error */
    const char *reason;      /* error */
    const char *agent;       /* hello */
    const char *member;      /* welcome */
    const char *org;         /* welcome */
    const char *min_severity;/* hello, "" = all */
    const char *json;        /* stats */
    ih_strlist_t categories; /* hello */
    ih_strlist_t sectors;    /* hello */
    const uint8_t *body;     /* publish, borrowed */
    size_t body_len;
    const uint8_t *sig;      /* publish, 64 bytes, borrowed */
    ih_item_t *items;        /* deliver, in the arena */
    uint32_t item_count;
    ih_record_t *records;    /* members, in the arena (or the caller's when encoding) */
    uint32_t record_count;
    ih_arena_t arena;        /* decoded strings and arrays */
} ih_env_t;

/*  Zeroes e, sets type, all strings "" and lists empty; initialises the arena. */
void ih_env_init(ih_env_t *e, ih_type_t type);
/*  Frees the arena and re-initialises e (same type); safe twice. */
void ih_env_free(ih_env_t *e);

/*  Encodes e into out (reset first). Returns 0, or -1 with err (e.g. a missing sig). */
int ih_env_encode(const ih_env_t *e, ih_buf_t *out, ih_err_t *err);
/*  Strict decode (pre-scan first, see ih_codec.h); e is initialised by the call.
    Borrowed pointers (body, sig, items) point into data, which must outlive e. Returns
    0, or -1 with err naming the field; on failure nothing is left allocated (freeing e
    again is safe). */
int ih_env_decode(ih_env_t *e, const uint8_t *data, size_t len, ih_err_t *err);

void ih_envelope_test(bool verbose);

#endif
