/*  ih_owed.h: what the broker owes each member: the highest journaled seq of a message the
    member is entitled to (`owed` in welcome and pong, PROTOCOL.md 4.1 and 4.4). An agent's
    lag is owed - cursor: the messages it will still receive, not the seqs of everybody
    else's traffic.

    AUDIENCES. Whether member m may receive a journaled item depends on three things of m
    (ih_jitem_entitled, ih_entitled): whether it is the gateway, its org and its sector.
    The members entitled to an item are a union of audiences, each one of:
        everyone            CLEAR: the gateway included                  key "*"
        members             every member but the gateway                 key "m"
        org O               the members of org O                         key "o:O"
        sector S            the members whose sector is S                key "s:S"
        org O, sector S     the members of O whose sector is S           key "os:O/S"
    One constraint (tlp, publisher org, recipients) is: CLEAR everyone; GREEN, and AMBER
    without recipients, members; otherwise the publisher's org, each recipient org, and
    (AMBER) each `sector:S`; a TLP out of range nobody. An item with two constraints (a
    sighting of an alert) gets their intersection, audience by audience (org O of one and
    sector S of the other is "org O, sector S"). The table keeps, per audience, the last
    seq given to it; a member's owed is the largest over the (at most five) audiences it
    belongs to. This is exactly ih_jitem_entitled, and the self-test checks it against it
    on random items and members.

    PERSISTENCE. The table lives in memory and in the journal's meta database (key
    "owed/" + audience -> seq, and "owed" -> the head it is complete up to), written in
    the same transaction as the items it counts: stage each appended item, write the
    staged audiences before the commit, and take them in after it (or discard them when
    the transaction failed). At start, ih_owed_load reads the table back and counts
    whatever the journal holds beyond it (all of it for a journal older than the table),
    so it is always exact.

    Memory: one entry per audience ever named (orgs, sectors and recipients in use); a
    few hundred in a deployment of a few hundred members.

    Threading: the broker's thread only.
*/
#ifndef IH_OWED_H
#define IH_OWED_H

#include "ih_journal.h"

typedef struct ih_owed ih_owed_t;

ih_owed_t *ih_owed_new(void);
/*  Frees; safe twice; nulls *self_p. */
void ih_owed_destroy(ih_owed_t **self_p);

/*  Reads the table from the journal (no transaction may be open), then counts the items
    beyond the head it was written at, and writes what changed in a transaction of its
    own. Returns IH_OK, or IH_EFAIL with err. */
int ih_owed_load(ih_owed_t *self, ih_journal_t *journal, ih_err_t *err);

/*  Notes that `it` was appended under seq in the open write transaction. */
void ih_owed_stage(ih_owed_t *self, const ih_jitem_t *it, uint64_t seq);
/*  Writes the staged audiences, and the head, into the open write transaction. Returns
    IH_OK, IH_EMAPFULL (the transaction is gone: discard) or IH_EFAIL with err. */
int ih_owed_write(ih_owed_t *self, ih_journal_t *journal, ih_err_t *err);
/*  After the commit: what was staged is owed. */
void ih_owed_commit(ih_owed_t *self);
/*  The transaction failed: forgets what was staged. */
void ih_owed_discard(ih_owed_t *self);

/*  The highest seq that who is entitled to, 0 when none. */
uint64_t ih_owed_get(ih_owed_t *self, const ih_member_t *who);
/*  Audiences in the table. */
size_t ih_owed_size(ih_owed_t *self);

void ih_owed_test(bool verbose);

#endif
