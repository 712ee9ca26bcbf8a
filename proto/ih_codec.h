/*  ih_codec.h: the msgpack wire codec (msgpack-c). PROTOCOL.md is the normative spec;
    this header summarises it.

    SIGNED BODIES. A message body is a msgpack map whose keys appear in exactly this
    order, every key present (empty string / empty array when unused):

      common:     "k" str (alert|retraction|comment|sighting), "id" str (UUID),
                  "rev" uint, "created" int (ms), "modified" int (ms), "org" str,
                  "member" str, "signer" bin(32)
      alert:      common, "title" str, "summary" str, "tlp" str, "severity" str,
                  "category" str, "sectors" [str], "recipients" [str],
                  "references" [str], "tags" [str], "iocs" [ioc]
      retraction: common, "ref" str (UUID), "text" str, "iocs" [ioc]
      comment:    common, "ref" str, "text" str
      sighting:   common, "ref" str (UUID or ""), "tlp" str, "iocs" [ioc] (exactly 1),
                  "count" uint
      ioc:        array of 4: [type str, value str, comment str, detect bool]

    The encoding is canonical: smallest integer forms (non-negative integers as
    positive fixint/uint*, negative as int*), strings as str (fixstr/str8/16/32,
    smallest), byte strings as bin (smallest), maps/arrays with the smallest header.
    The decoder re-encodes what it decoded and rejects the frame unless the bytes are
    identical ("body: non-canonical encoding"), so one message has exactly one byte form,
    and that is what is signed (ih_sign.h, context IH_CTX_MSG).

    MEMBER RECORDS (signed by the registry key, context IH_CTX_MEMBER), same rules:
      "k" "member", "name" str, "org" str, "sector" str, "role" str, "curve" bin(32),
      "sign" bin(32), "created" int, "gateway" bool

    ENVELOPES. Every ZeroMQ message between agent (DEALER) and broker (ROUTER) is one
    frame holding one msgpack map with "v" (uint, protocol version, 1) and "t" (str,
    type) first, then the fields of its type in any order. Unknown keys and unknown
    types are rejected; missing required fields are rejected.

      hello    A->B  cursor uint, categories [str], sectors [str], min_severity str
                     ("" = all), window uint (1..10000), agent str
      welcome  B->A  head uint, member str, org str, heartbeat uint (ms)
      publish  A->B  req uint, body bin, sig bin(64)
      ok       B->A  req uint, seq uint, id str
      error    B->A  req uint (0 = not about a request), code str, reason str
      deliver  B->A  items [[seq uint, body bin, sig bin(64), rec bin, rec_sig bin(64)], …]
                     (1..IH_MAX_ITEMS items, seq strictly increasing)
      ack      A->B  seq uint (everything up to seq is durably stored)
      ping     A->B  (no fields)
      pong     B->A  head uint
      bye      A->B  (no fields)
      status   A->B  (no fields; the broker answers with "stats")
      stats    B->A  json str (the broker's counters as a JSON object)

    Decoding never trusts a length: a pre-scan walks the raw bytes and rejects any
    container or string that claims more than the bytes left, nesting deeper than
    IH_MAX_DEPTH, or trailing bytes, before msgpack-c sees the frame.
*/
#ifndef IH_CODEC_H
#define IH_CODEC_H

#include "ih_msg.h"

#define IH_PROTO_VERSION 1

/* ---- signed bodies ---------------------------------------------------------------- */
/*  Validates m (ih_msg_validate) and writes its canonical encoding into out (reset
    first). Returns 0, or -1 with err. */
int ih_body_encode(const ih_msg_t *m, ih_buf_t *out, ih_err_t *err);
/*  Strict decode: pre-scan, types, key order, limits, canonical form, then
    ih_msg_validate. m is (re)initialised by the call and owns copies of every string.
    Returns 0, or -1 with err naming the field ("title: expected str, got int"). */
int ih_body_decode(ih_msg_t *m, const uint8_t *data, size_t len, ih_err_t *err);

int ih_member_encode(const ih_member_t *r, ih_buf_t *out, ih_err_t *err);
int ih_member_decode(ih_member_t *r, const uint8_t *data, size_t len, ih_err_t *err);

/* ---- envelopes ---------------------------------------------------------------------- */
typedef enum {
    IH_T_HELLO = 1, IH_T_WELCOME, IH_T_PUBLISH, IH_T_OK, IH_T_ERROR, IH_T_DELIVER,
    IH_T_ACK, IH_T_PING, IH_T_PONG, IH_T_BYE, IH_T_STATUS, IH_T_STATS
} ih_type_t;

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

typedef struct {
    ih_type_t type;
    uint64_t req;            /* publish, ok, error */
    uint64_t seq;            /* ok, ack */
    uint64_t cursor;         /* hello */
    uint64_t head;           /* welcome, pong */
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
    ih_arena_t arena;        /* decoded strings and arrays */
} ih_env_t;

/*  Zeroes e, sets type, all strings "" and lists empty; initialises the arena. */
void ih_env_init(ih_env_t *e, ih_type_t type);
void ih_env_free(ih_env_t *e);

/*  Encodes e into out (reset first). Returns 0, or -1 with err (e.g. a missing sig). */
int ih_env_encode(const ih_env_t *e, ih_buf_t *out, ih_err_t *err);
/*  Strict decode; e is initialised by the call. Borrowed pointers (body, sig, items)
    point into data, which must outlive e. Returns 0, or -1 with err naming the field. */
int ih_env_decode(ih_env_t *e, const uint8_t *data, size_t len, ih_err_t *err);

/*  Pre-scan only (exposed for the fuzzer and tests). */
int ih_msgpack_prescan(const uint8_t *data, size_t len, ih_err_t *err);

void ih_codec_test(bool verbose);

#endif
