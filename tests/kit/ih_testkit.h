/*  ih_testkit.h: fixtures for the modules' self-tests. Built only into the test binaries
    (bin/ih-selftest and its ASan twin, whose objects are compiled with -DIH_SELFTEST):
    no program links it.

    - Temporary directories under $TMPDIR (or /tmp), removed with nftw, not system().
    - Keys and members: a registry keypair, and members with a real CURVE certificate,
      an ed25519 signing keypair and a member record signed by the registry key (the
      bytes and signature an item carries), optionally written into a registry dir.
    - Alerts and the other kinds: a valid message from a member, ready to add to, and
      signed items (body, signature, record) as a broker delivers them.

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
/*  Sends an envelope to the last peer. */
void ih_tk_broker_send(ih_tk_broker_t *self, const ih_env_t *e);
/*  Sends welcome (member "soc", org "bank-a", heartbeat 1000 ms) with head. */
void ih_tk_broker_welcome(ih_tk_broker_t *self, uint64_t head);
/*  Sends one deliver envelope with items [0..count). */
void ih_tk_broker_deliver(ih_tk_broker_t *self, const ih_item_t *items, size_t count);

void ih_testkit_test(bool verbose);

#endif
