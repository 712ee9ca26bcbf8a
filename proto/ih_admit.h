/*  ih_admit.h: the admission rules for a message against what a holder already has.

    Two programs decide whether a message may join what they hold: the broker when it
    accepts a publish (its journal index, broker/ih_broker_publish.c) and the agent's
    store when it files a delivered item (its stored alerts, agents/ih_store.c). The
    rules are the same (PROTOCOL.md 4.3, 8); what each does about a refusal differs. So
    the rules live here, as pure functions: the caller says what it holds under the
    message's id (or under its ref), the function names the verdict and gives a one-line
    reason, and the caller maps the verdict to its own action. No I/O, no state, no
    allocation; safe from any thread.

    The rules, for the message's own id (ih_admit_id), in this order:
    1. Resend. The same kind and revision with the same body is held: the message is
       already there (the broker answers ok with the original seq).
    2. Hidden. When the sender is given (the broker), an alert held under the id that
       the sender is not entitled to see (ih_entitled, latest revision) is treated as
       unknown: a revision > 1 gets UNKNOWN_ALERT, anything else ID_TAKEN; neither says
       whose alert it is (PROTOCOL.md 4.3).
    3. Ids are unique across kinds: an id held by another kind, or by a non-alert
       message (whose id never takes a second body), is ID_TAKEN.
    4. Ownership. Only the org that published an alert may revise it, and a new alert
       may not reuse another org's alert id: NOT_OWNER.
    5. Revision order. A revision already held with another body is DUPLICATE_REV; one
       not above the latest held is SAME_REV (equal; only when the holder does not
       track revisions one by one, IH_ADMIT_REV_UNTRACKED) or STALE (below).
    6. Widening. A revision may widen entitlement, never narrow it
       (ih_entitlement_widens from the latest held revision): NARROWS.
    7. Otherwise a newer revision: REVISION. With nothing held: NEW for an alert's
       revision 1 or a message of another kind, UNKNOWN_ALERT for a revision > 1.

    And for what a retraction, comment or sighting refers to (ih_admit_ref):
    1. No ref: a sighting may cite no alert (NO_REF); a comment or retraction must
       (REF_REQUIRED; the codec refuses it first, but a rule is never trusted twice).
    2. The ref must be a held alert, visible to the sender when the sender is given:
       else UNKNOWN_ALERT (the same answer for hidden and absent, so nobody can probe).
    3. Only the alert's own org may retract it (or some of its IOCs): NOT_OWNER. Any
       member entitled to an alert may comment on it or report a sighting of it.
    4. Otherwise REF_OK.

    How the callers map the verdicts (one row per verdict; "-" = cannot happen there):

      verdict          broker (publish answer)          store (item outcome)
      NEW              journal it                       alert: IH_STORE_NEW
      REVISION         journal it                       IH_STORE_REVISED
      RESEND           ok with the original seq         - (REV_UNTRACKED)
      SAME_REV         - (per-revision index)           IH_STORE_STALE, nothing written
      STALE            error stale-revision             IH_STORE_STALE, revision counted
      DUPLICATE_REV    error duplicate-id               - (REV_UNTRACKED)
      ID_TAKEN         error duplicate-id               - (holds alerts only)
      NOT_OWNER        error not-owner                  IH_STORE_REJECTED (a stored early
                                                        retraction of another org: deleted)
      NARROWS          error bad-message                IH_STORE_REVISED, as before: the
                                                        broker enforces widening on publish
      UNKNOWN_ALERT    error unknown-alert              id: stored as NEW (the store may
                                                        have missed revision 1: cursor,
                                                        filters); ref: retraction kept
                                                        aside until its alert comes
      REF_OK, NO_REF   journal it                       IH_STORE_RETRACTED (or as today)
      REF_REQUIRED     error bad-message                - (the codec refuses it)

    The broker passes the sender (hidden alerts look absent) and the per-revision state
    from its index; the store passes sender NULL (the broker already judged visibility)
    and IH_ADMIT_REV_UNTRACKED (it keeps the latest revision only).
*/
#ifndef IH_ADMIT_H
#define IH_ADMIT_H

#include "ih_msg.h"

typedef enum {
    IH_ADMIT_NEW = 0,           /* nothing held under the id: a new message */
    IH_ADMIT_REVISION,          /* a newer revision of a held alert, by its owner */
    IH_ADMIT_RESEND,            /* the identical message is held already */
    IH_ADMIT_SAME_REV,          /* the held latest revision has this number (untracked) */
    IH_ADMIT_STALE,             /* a revision below the latest held */
    IH_ADMIT_DUPLICATE_REV,     /* this revision is held with another body */
    IH_ADMIT_ID_TAKEN,          /* the id is held by another kind, message or hidden alert */
    IH_ADMIT_NOT_OWNER,         /* the alert belongs to another org */
    IH_ADMIT_NARROWS,           /* a revision that would narrow entitlement */
    IH_ADMIT_UNKNOWN_ALERT,     /* no such alert (or not visible to the sender) */
    IH_ADMIT_REF_OK,            /* the referenced alert is held and may be referred to */
    IH_ADMIT_NO_REF,            /* a sighting that cites no alert */
    IH_ADMIT_REF_REQUIRED       /* a comment or retraction without a ref */
} ih_admit_t;
#define IH_ADMIT_COUNT 13

/*  What the holder knows of the incoming message's revision (rev 0 for non-alerts). */
typedef enum {
    IH_ADMIT_REV_UNTRACKED = 0, /* only the latest revision is kept (the store) */
    IH_ADMIT_REV_ABSENT,        /* this revision is not held */
    IH_ADMIT_REV_SAME,          /* held, with the same body (the same bytes) */
    IH_ADMIT_REV_OTHER          /* held, with another body */
} ih_admit_rev_t;

/*  What the holder has under one id. All zero = nothing held. Strings and the list
    are borrowed for the call. */
typedef struct {
    bool held;                      /* something is held under the id */
    ih_kind_t kind;                 /* its kind (the store holds alerts only) */
    const char *org;                /* the org that published it; NULL = unknown, never
                                       the owner */
    uint32_t latest_rev;            /* alerts: the latest revision held */
    ih_tlp_t tlp;                   /* alerts: the latest revision's TLP ... */
    const ih_strlist_t *recipients; /* ... and recipients (NULL = none) */
    ih_admit_rev_t rev;             /* the incoming message's revision, as held */
} ih_admit_held_t;

/*  Judges message m (decoded and valid) against what is held under m->id. sender, when
    not NULL, is the member sending it: alerts it may not see are treated as absent.
    Returns the verdict; why (may be NULL) gets the one-line reason for a refusal, as
    the broker sends it ("rev: 2 is not above the latest revision 3 of <id>"), and ""
    for NEW, REVISION and RESEND. */
ih_admit_t ih_admit_id(const ih_admit_held_t *held, const ih_msg_t *m, const ih_member_t *sender,
                       ih_err_t *why);

/*  Judges what retraction, comment or sighting m refers to: alert is what is held under
    m->ref (ignored when m->ref is ""). sender and why as for ih_admit_id; why is "" for
    REF_OK and NO_REF. Call it for non-alerts only (an alert refers to nothing: NO_REF). */
ih_admit_t ih_admit_ref(const ih_admit_held_t *alert, const ih_msg_t *m, const ih_member_t *sender,
                        ih_err_t *why);

/*  True for the verdicts that let the message in: NEW, REVISION, REF_OK, NO_REF. */
bool ih_admit_ok(ih_admit_t v);
/*  "IH_ADMIT_NEW", ... or "IH_ADMIT_?" when out of range. */
const char *ih_admit_name(ih_admit_t v);

void ih_admit_test(bool verbose);

#endif
