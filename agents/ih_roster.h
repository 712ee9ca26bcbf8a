/*  ih_roster.h: the hub's members as the registry signed them, kept in the agent's store
    for the Members Zone (its "Members" page, and the orgs and sectors a publisher picks
    recipients from).

    WHERE IT COMES FROM. The agent daemon asks the broker for the roster (`roster`,
    PROTOCOL.md 4.6) after each welcome and every IH_ROSTER_EVERY_MS; the broker answers
    `members` with the record of every registered, unrevoked member. ih_roster_accept
    verifies each record against the registry key the agent pinned (a broker cannot add
    a member to the list: a record that does not verify is dropped and counted), leaves
    out the public gateway's identity (it is no organisation anyone addresses), and
    replaces the store's copy in one transaction (ih_store_aux_put "roster").

    STORED FORM (the value of "x:roster"; little-endian):
        "IHR1"  u64 updated (ms)  u32 count
        count x { u16 rec_len, rec_len bytes of the canonical record, 64 bytes rec_sig }
    The records stay as signed, so any reader can verify them again (ih_roster_load
    decodes them strictly, ih_member_decode; it does not verify the signatures again: the
    daemon did, and the store is the member's own).

    READING. ih_roster_load works on any store handle, the read-only one of the console
    included, and gives the members, their organisations and the sectors, each sorted.

    Threading: no state; an ih_roster_t is read-only once loaded and may be shared.
*/
#ifndef IH_ROSTER_H
#define IH_ROSTER_H

#include "ih_codec.h"
#include "ih_store.h"

#define IH_ROSTER_AUX       "roster"
#define IH_ROSTER_EVERY_MS  (10 * 60 * 1000)    /* how often the daemon asks again */

typedef struct {
    char name [IH_MAX_SHORT + 1];           /* org id (slug) */
    char sector [IH_MAX_SHORT + 1];         /* the sector its members name ("" when none;
                                               the first one when they name several) */
    uint32_t members;                       /* members of this org in the roster */
    uint32_t publishers;                    /* of which publishers */
} ih_roster_org_t;

typedef struct {
    int64_t updated;                        /* ms: when the daemon stored this roster */
    ih_member_t *members;                   /* by org, then name */
    size_t member_count;
    ih_roster_org_t *orgs;                  /* by name */
    size_t org_count;
    char (*sectors) [IH_MAX_SHORT + 1];     /* the sectors members name, sorted, unique */
    size_t sector_count;
} ih_roster_t;

/* ---- the daemon's side ------------------------------------------------------------------- */
/*  Verifies the records of a `members` envelope against registry_pk and stores those that
    verify (the gateway identity left out) as the roster, stamped now. *kept and *dropped
    (may be NULL) count the records stored and those refused; *why (may be NULL, 256
    bytes) gets the first refusal ("members[2]: bad signature") for the caller's log.
    Returns 0, or -1 with err, the old roster kept: the store failed, or records came and
    none verified ("members: no record verifies against the registry key": a broker with
    another registry, or a forger). An empty envelope stores an empty roster. */
int ih_roster_accept(ih_store_t *store, const ih_env_t *members, const uint8_t registry_pk[32],
                     int64_t now, size_t *kept, size_t *dropped, char *why, ih_err_t *err);

/* ---- the reader's side ------------------------------------------------------------------- */
/*  Loads the store's roster into *roster_p (new; ih_roster_destroy). Returns 1, 0 when
    the daemon has stored none yet (*roster_p NULL), or -1 with err (a damaged value:
    "roster: record 3: name: …"). */
int ih_roster_load(ih_store_t *store, ih_roster_t **roster_p, ih_err_t *err);
void ih_roster_destroy(ih_roster_t **self_p);

/*  The org of that name, or NULL (borrowed from self). */
const ih_roster_org_t *ih_roster_org(const ih_roster_t *self, const char *name);
/*  True when some member names that sector. */
bool ih_roster_has_sector(const ih_roster_t *self, const char *sector);

/*  Encodes records (n, already verified) as the stored form into out (reset first); for
    ih_roster_accept and tests. */
void ih_roster_encode(const ih_record_t *records, size_t n, int64_t updated, ih_buf_t *out);

void ih_roster_test(bool verbose);

#endif
