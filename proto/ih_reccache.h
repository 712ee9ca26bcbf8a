/*  ih_reccache.h: member records verified once, kept by their exact bytes.

    Every delivered item carries its publisher's member record and the registry's
    signature on it (PROTOCOL.md section 7), and a subscriber verifies both before it
    trusts the item. A hub has few publishers, so the record is nearly always one seen a
    moment ago: verifying its signature again is a second ed25519 verification per item
    for nothing (about a third of an agent's CPU in catch-up). The cache remembers the
    records that verified, with their decoded form, so that each distinct record is
    decoded and verified once.

    KEY. The record's bytes and its signature, whole: an entry is found by a keyed hash of
    them (BLAKE2b with a random key, so no peer can aim at one bucket) and then compared
    byte for byte, so only the very bytes that verified can hit. A record the registry
    changed (another role, a new key) or revoked and re-issued is a different byte string
    and is verified on its own; nothing needs to tell the cache that the registry changed.
    The registry key is fixed for the cache's life (ih_reccache_new).

    BOUND. At most `max` records; when a new one does not fit, the cache is emptied and
    starts again (a hub with more publishers than that only verifies more often). Only
    records that verified are kept, so a peer sending forged or garbled records fills
    nothing: each of them is verified, and refused, every time, exactly as without the
    cache.

    Answers are the same as ih_client_verify_record's, errors included.

    Threading: one cache belongs to one thread at a time.
*/
#ifndef IH_RECCACHE_H
#define IH_RECCACHE_H

#include "ih_envelope.h"

typedef struct ih_reccache ih_reccache_t;

#define IH_RECCACHE_MAX     1024        /* the subscriber core's bound */

/*  A cache for records signed by registry_pk (32 bytes, copied), holding at most max
    records (0 = IH_RECCACHE_MAX). Never NULL. */
ih_reccache_t *ih_reccache_new(const uint8_t registry_pk[32], size_t max);
/*  Frees; nulls *self_p; safe twice. */
void ih_reccache_destroy(ih_reccache_t **self_p);

/*  Verifies item's member record (item->rec, rec_len, rec_sig) as ih_client_verify_record
    does and fills rec: from the cache when these exact bytes verified before, else by
    decoding and verifying them (and keeping them when they verify). 0, or -1 with err
    ("member record: …"; rec is filled as far as the record decoded, for a log line). */
int ih_reccache_verify(ih_reccache_t *self, const ih_item_t *item, ih_member_t *rec, ih_err_t *err);

/*  Records held; lookups answered from the cache; records verified (hits + misses is
    every call). */
size_t ih_reccache_size(ih_reccache_t *self);
uint64_t ih_reccache_hits(ih_reccache_t *self);
uint64_t ih_reccache_misses(ih_reccache_t *self);

void ih_reccache_test(bool verbose);

#endif
