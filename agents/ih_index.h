/*  ih_index.h: the agent's IOC index, one LMDB database inside the store (ih_store.h).

    The database is MDB_DUPSORT | MDB_DUPFIXED: each key is an IOC value in a
    type-tagged, normalised byte form, each duplicate a fixed 18-byte entry

        alert uuid (16 bytes, binary), u8 ioc type, u8 flags
        flags: IH_INDEX_DETECT, IH_INDEX_RETRACTED (retracted on its own),
               IH_INDEX_DERIVED (the host of a url / the domain of an email)

    KEYS (tag byte first):
      'A' 4|6 addr[4|16]            ipv4, ipv6 (and derived: IP hosts of URLs)
      'N' 4|6 prefixlen net[4|16]   cidr: network address (host bits zero)
      'D' reversed labels           domain "a.b.example" -> "example.b.a" (and derived:
                                    URL hosts, email domains)
      'm' 16 / 's' 20 / 'h' 32 bytes   md5 / sha1 / sha256, binary
      'u' url, 'e' email, 'f' filename, 'c' cve, 'a' asn: the text
    A key longer than IH_INDEX_KEY_MAX bytes becomes tag + its first 440 bytes + 0x00 +
    BLAKE2b-256 of the whole value (LMDB keys stop at 511 bytes): exact lookup still
    works, and no valid IOC text contains 0x00.

    LOOKUPS this layout makes cheap:
      exact        one MDB_SET_KEY per type
      IP in CIDR   one probe per prefix length in use: the caller keeps a count of
                   network keys per (family, length) in `plen` (162 slots: IPv4 /0../32,
                   then IPv6 /0../128), which put/del maintain
      parents      "example.b.a" -> probe "example.b", then "example" is skipped (one
                   label: not a domain)
      subdomains   prefix range "example.b.a."
      inside CIDR  byte range of 'A' keys and of 'N' keys per longer prefix length

    A KEY SET is bytes of { u16 little-endian length, key } records: the store keeps the
    keys of an alert's IOCs retracted one by one in one.

    Every function that reads or writes works inside the caller's LMDB transaction and
    returns 0 or an LMDB error code (MDB_MAP_FULL …, or an errno as LMDB's own functions
    do), like LMDB's: the index is a part of the store, and the store turns these codes
    into proto/ih_util.h's where it calls the index (ih_store_int.h).
*/
#ifndef IH_INDEX_H
#define IH_INDEX_H

#include <lmdb.h>
#include "ih_msg.h"

#define IH_INDEX_KEY_MAX    480
#define IH_INDEX_PLEN_N     162
#define IH_INDEX_ENTRY_LEN  18

#define IH_INDEX_DETECT     1
#define IH_INDEX_RETRACTED  2
#define IH_INDEX_DERIVED    4

/*  An open index: the caller's write (or read) transaction, the database, and the
    per-prefix-length counts the caller loads before and saves after writing. */
typedef struct {
    MDB_txn *txn;
    MDB_dbi dbi;
    uint32_t *plen;             /* IH_INDEX_PLEN_N counts */
} ih_index_t;

/* ---- keys ------------------------------------------------------------------------------ */
/*  The key of a normalised value of type t into key (IH_INDEX_KEY_MAX + 1 bytes).
    Returns its length, or -1 when the value cannot be keyed (not in normal form).
    derived (IH_INDEX_KEY_MAX + 1 bytes, may be NULL) receives the key of a url's host or
    an email's domain, its length in *derived_len (0 when there is none). */
int ih_index_key(ih_ioc_type_t t, const char *value, uint8_t *key, uint8_t *derived,
                 int *derived_len);
/*  The printable value of a key into out: an address, a network, a domain, a hash in
    hex, or the text. "" for a hashed (long) key or an unknown tag. */
void ih_index_key_text(const uint8_t *key, size_t len, char *out, size_t outsz);

/*  UUID text <-> 16 bytes. ih_index_uuid_bin returns -1 for a malformed id. */
int ih_index_uuid_bin(const char *id, uint8_t out[16]);
void ih_index_uuid_text(const uint8_t in[16], char out[IH_UUID_LEN + 1]);

/* ---- key sets ---------------------------------------------------------------------- */
bool ih_index_set_has(const uint8_t *set, size_t len, const uint8_t *key, size_t klen);
/*  Appends the keys of m's IOCs that are not in the set yet. */
void ih_index_set_add_msg(ih_buf_t *set, const ih_msg_t *m);
uint32_t ih_index_set_count(const uint8_t *set, size_t len);

/* ---- writing ----------------------------------------------------------------------- */
/*  Adds an entry for each IOC of m (and its derived key) for alert uuid; entries whose
    key is in the set `retracted` get IH_INDEX_RETRACTED. */
int ih_index_add_msg(ih_index_t *x, const ih_msg_t *m, const uint8_t uuid[16],
                     const uint8_t *retracted, size_t retracted_len);
/*  Removes every entry of alert uuid under the keys of m's IOCs. */
int ih_index_del_msg(ih_index_t *x, const ih_msg_t *m, const uint8_t uuid[16]);
/*  Sets IH_INDEX_RETRACTED on the entries of alert uuid for the IOCs of r (a retraction
    of single IOCs), and on the derived entries of the IOCs of alert m whose keys are in
    the set `retracted`. m may be NULL. */
int ih_index_retract(ih_index_t *x, const ih_msg_t *r, const ih_msg_t *m, const uint8_t uuid[16],
                     const uint8_t *retracted, size_t retracted_len);

/* ---- search ------------------------------------------------------------------------ */
typedef enum {
    IH_MATCH_EXACT = 0,     /* the same value */
    IH_MATCH_CONTAINS,      /* an indexed CIDR contains the IP/CIDR searched */
    IH_MATCH_INSIDE,        /* an indexed IP/CIDR lies inside the CIDR searched */
    IH_MATCH_PARENT,        /* an indexed domain is a parent of the domain searched */
    IH_MATCH_SUBDOMAIN      /* an indexed domain lies below the domain searched */
} ih_match_t;

const char *ih_match_name(ih_match_t m);

typedef struct {
    char id[IH_UUID_LEN + 1];   /* the alert */
    ih_ioc_type_t type;         /* the indexed IOC's type (url for a URL's host …) */
    ih_match_t match;
    bool detect;
    bool retracted;             /* the IOC was retracted (the store adds: or its alert) */
    bool derived;               /* matched the host of a url / the domain of an email */
    char value[IH_INDEX_KEY_MAX + 1]; /* the indexed value; for derived hits the host;
                                         for a hashed long key the query,
                                         cut to fit */
} ih_index_hit_t;

#define IH_SEARCH_SUBDOMAINS 1  /* domain: also the indexed domains below it */
#define IH_SEARCH_INSIDE     2  /* cidr: also the indexed IPs and CIDRs inside it */

/*  fn returns 0 to go on, anything else to stop. */
typedef int (ih_index_hit_fn)(const ih_index_hit_t *hit, void *arg);

/*  Looks a normalised value of type t up: exact for every type; for ipv4/ipv6/cidr also
    every indexed CIDR containing it; for a domain every indexed parent; plus what flags
    ask. x->plen must hold the current counts (read-only here). *hits receives the number
    of hits reported. Returns 0, an LMDB code, or EINVAL when value is not a normalised
    t (nothing reported). */
int ih_index_search(ih_index_t *x, ih_ioc_type_t t, const char *value, unsigned flags,
                    ih_index_hit_fn *fn, void *arg, int *hits);

void ih_index_test(bool verbose);

#endif
