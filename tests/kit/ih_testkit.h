/*  ih_testkit.h: fixtures for the modules' self-tests. Built only into the test binaries
    (bin/ih-selftest and its ASan twin, whose objects are compiled with -DIH_SELFTEST):
    no program links it.

    - Temporary directories under $TMPDIR (or /tmp), removed with nftw, not system().
    - Keys and members: a registry keypair, and members with a real CURVE certificate,
      an ed25519 signing keypair and a member record signed by the registry key (the
      bytes and signature an item carries), optionally written into a registry dir.
    - Alerts and the other kinds: a valid message from a member, ready to add to, and
      signed items (body, signature, record) as a broker delivers them.
    - Wire frames, for the codec tests: decoding that must fail with a given error,
      byte splices, and mutations of a valid frame's msgpack map (data-driven cases).
    - A fake broker (a CURVE ROUTER speaking the envelopes) for clients and subscribers.

    Every function aborts the test (IH_CHECK) when something it needs fails: a fixture
    that cannot be built is a broken test, not a case to handle.
*/
#ifndef IH_TESTKIT_H
#define IH_TESTKIT_H

#include <czmq.h>

#include "ih_codec.h"
#include "ih_sign.h"

/* ---- temporary directories ------------------------------------------------------------- */
/*  Creates a fresh directory "TMPDIR/ih-TAG-XXXXXX" (0700) and writes its path into out
    (size bytes). Returns out. */
char *ih_tk_tempdir(const char *tag, char *out, size_t size);
/*  Removes path and everything below it (symbolic links are removed, not followed).
    Missing is fine. */
void ih_tk_rmtree(const char *path);
/*  path joined with name into out (size bytes); returns out. */
char *ih_tk_path(char *out, size_t size, const char *dir, const char *name);

/* ---- keys and members ------------------------------------------------------------------- */
typedef struct {
    uint8_t pk [IH_PK_LEN];
    uint8_t sk [IH_SK_LEN];
} ih_tk_keypair_t;

/*  A fresh ed25519 keypair (a registry key, or any signer). */
void ih_tk_keypair(ih_tk_keypair_t *kp);

typedef struct {
    ih_member_t rec;                /* name, org, sector, role, keys */
    zcert_t *cert;                  /* CURVE certificate (secret inside) */
    uint8_t sk [IH_SK_LEN];         /* signing secret key (rec.sign is its public half) */
    ih_buf_t rec_bytes;             /* the encoded record, as delivered in items */
    uint8_t rec_sig [IH_SIG_LEN];   /* the registry's signature on rec_bytes */
} ih_tk_member_t;

/*  A member with fresh keys; its record is signed by registry (the sk half). sector may
    be NULL or "". */
void ih_tk_member(ih_tk_member_t *m, const ih_tk_keypair_t *registry, const char *name,
                  const char *org, const char *sector, ih_role_t role);
/*  Frees the certificate and the record bytes; safe twice. */
void ih_tk_member_free(ih_tk_member_t *m);

/* ---- messages ---------------------------------------------------------------------------- */
/*  Initialises m as a valid alert by who (org, member, signer), revision 1, a fresh id,
    title, a one-line summary, the given TLP, severity high, category malware, and no
    IOC. who may be NULL: then org "bank-a", member "soc", signer all 7s. */
void ih_tk_alert(ih_msg_t *m, const ih_tk_member_t *who, ih_tlp_t tlp, const char *title);
/*  Initialises m as a comment, retraction (text "because") or sighting (tlp GREEN, count
    1: add the one IOC) referring to alert ref (may be "" for a sighting). */
void ih_tk_ref(ih_msg_t *m, const ih_tk_member_t *who, ih_kind_t kind, const char *ref);
/*  Adds IOCs written "type:value" (already normalised), NULL-terminated. */
void ih_tk_iocs(ih_msg_t *m, const char *const *iocs, bool detect);

/*  A delivered item: the encoded body, its signature by who, and who's record. */
typedef struct {
    ih_buf_t body;
    uint8_t sig [IH_SIG_LEN];
    ih_item_t item;                 /* points into body, sig and who's record */
} ih_tk_item_t;

/*  Encodes m (it must validate), signs it with who's key and fills t->item with seq.
    who must outlive t. */
void ih_tk_item(ih_tk_item_t *t, const ih_msg_t *m, const ih_tk_member_t *who, uint64_t seq);
void ih_tk_item_free(ih_tk_item_t *t);

/* ---- wire frames (the codec tests: ih_mpack, ih_codec, ih_envelope) ---------------------- */
typedef enum { IH_TK_BODY, IH_TK_ENV, IH_TK_MEMBER } ih_tk_frame_t;

/*  Decodes data as a signed body, an envelope or a member record and checks that it
    fails, with an error containing expect (NULL: any error); prints the error when
    verbose and expect are set. */
void ih_tk_decode_fails(ih_tk_frame_t what, const uint8_t *data, size_t len, const char *expect,
                        bool verbose);
/*  Copies frame into out with the first `from` replaced by `to`; false if absent. */
bool ih_tk_splice(const ih_buf_t *frame, const char *from, size_t from_len, const char *to,
                  size_t to_len, ih_buf_t *out);

/*  One mutation of a valid frame (a msgpack map), and the error its decoding must give:
      DROP  removes key                 ADD   appends key with value val (duplicates too)
      SWAP  swaps key with the next one ROOT  replaces the whole map by value val
      SET   sets key to value val; with idx >= 0, element idx of its array value
            instead, and with sub >= 0, element sub of that element */
typedef enum { IH_TK_DROP, IH_TK_ADD, IH_TK_SWAP, IH_TK_SET, IH_TK_ROOT } ih_tk_op_t;

/*  The replacement values. */
enum {
    IH_TK_V_NIL, IH_TK_V_TRUE, IH_TK_V_ZERO, IH_TK_V_INT5, IH_TK_V_TWO, IH_TK_V_NEG,
    IH_TK_V_BIG, IH_TK_V_HUGE, IH_TK_V_FLOAT, IH_TK_V_STR, IH_TK_V_STR300, IH_TK_V_STRNUL,
    IH_TK_V_BADUTF8, IH_TK_V_AMBER_LC, IH_TK_V_EVIL, IH_TK_V_BADUUID, IH_TK_V_ZAP,
    IH_TK_V_ALERT, IH_TK_V_UPPER, IH_TK_V_BIN12, IH_TK_V_BIN32, IH_TK_V_MAP, IH_TK_V_ARR3,
    IH_TK_V_EMPTYARR, IH_TK_V_CTRL, IH_TK_V_HIGH
};

typedef struct {
    ih_tk_frame_t what;     /* decoded as */
    int base;               /* the test's choice of valid frame: a body kind, an envelope type */
    ih_tk_op_t op;
    const char *key;        /* key operated on (ADD: the new key) */
    int idx;                /* SET: -1 for the value, else element idx of an array value */
    int sub;                /* SET: -1, or element of that element */
    int val;                /* IH_TK_V_* for SET / ADD / ROOT */
    const char *expect;     /* substring of the expected error */
} ih_tk_mutation_t;

/*  Re-packs the valid frame with mutation c applied, and checks that decoding it as
    c->what fails with c->expect (ih_tk_decode_fails). */
void ih_tk_mutation_fails(const ih_buf_t *frame, const ih_tk_mutation_t *c, bool verbose);

/* ---- lines a callback reports -------------------------------------------------------------- */
/*  The first 8 lines a checker reports (ih_store_check, ih_jcheck: one line per damage),
    and how many it reported in all. ih_tk_line is the callback, arg an ih_tk_lines_t. */
typedef struct {
    int n;
    char lines [8][512];
} ih_tk_lines_t;

void ih_tk_line(const char *line, void *arg);

/* ---- a fake broker ------------------------------------------------------------------------ */
/*  A CURVE ROUTER on tcp://127.0.0.1:* that speaks the envelopes of PROTOCOL.md, for
    testing clients and subscribers without a real broker. It answers to the peer that
    last sent it something. */
typedef struct ih_tk_broker ih_tk_broker_t;
typedef void (ih_tk_pump_fn)(void *arg);

ih_tk_broker_t *ih_tk_broker_new(void);
void ih_tk_broker_destroy(ih_tk_broker_t **self_p);
const char *ih_tk_broker_endpoint(ih_tk_broker_t *self);
/*  The broker's public key, Z85. */
const char *ih_tk_broker_key(ih_tk_broker_t *self);
/*  Receives until an envelope of type t arrives (others are dropped), for up to timeout
    ms, calling pump (if not NULL) between waits so that a single-threaded client under
    test can run its session. e is initialised and holds the envelope (free it with
    ih_env_free); its borrowed pointers stay valid until the next expect. */
bool ih_tk_broker_expect(ih_tk_broker_t *self, ih_type_t t, ih_env_t *e, int timeout,
                         ih_tk_pump_fn *pump, void *arg);
/*  The routing id of the last peer (borrowed; NULL before any message). */
zframe_t *ih_tk_broker_peer(ih_tk_broker_t *self);
/*  Sends an envelope to the last peer. */
void ih_tk_broker_send(ih_tk_broker_t *self, const ih_env_t *e);
/*  Sends welcome (member "soc", org "bank-a", heartbeat 1000 ms) with head. */
void ih_tk_broker_welcome(ih_tk_broker_t *self, uint64_t head);
/*  Sends one deliver envelope with items [0..count). */
void ih_tk_broker_deliver(ih_tk_broker_t *self, const ih_item_t *items, size_t count);

void ih_testkit_test(bool verbose);

#endif
