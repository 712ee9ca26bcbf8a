/*  ih_admit.c: the admission rules (ownership, revision order, widening, references).
    See ih_admit.h: the rules and the callers' mappings are documented there.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ih_admit.h"

static ih_admit_t
s_verdict (ih_err_t *why, ih_admit_t v, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

//  Returns v, with its reason in why (when there is a why).
static ih_admit_t
s_verdict (ih_err_t *why, ih_admit_t v, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (why->msg, sizeof why->msg, fmt, ap);
        va_end (ap);
    }
    return v;
}

//  An unknown owner (NULL) is nobody's: it never matches.
static bool
s_same_org (const char *owner, const char *org)
{
    return owner && org && strcmp (owner, org) == 0;
}

static const char *
s_org (const char *org)
{
    return org ? org : "?";
}

//  Whether sender may see what is held (no sender: the caller does not judge it).
static bool
s_visible (const ih_admit_held_t *h, const ih_member_t *sender)
{
    return !sender || h->kind != IH_KIND_ALERT
        || ih_entitled (sender, h->tlp, h->org, h->recipients);
}

ih_admit_t
ih_admit_id (const ih_admit_held_t *h, const ih_msg_t *m, const ih_member_t *sender, ih_err_t *why)
{
    if (why)
        why->msg [0] = 0;
    bool alert = m->kind == IH_KIND_ALERT;
    uint32_t rev = alert ? m->revision : 0;
    if (!h->held) {
        if (alert && rev > 1)
            return s_verdict (why, IH_ADMIT_UNKNOWN_ALERT, "id: no alert %s to revise (rev %u)",
                              m->id, rev);
        return IH_ADMIT_NEW;
    }
    if (h->kind == m->kind && h->rev == IH_ADMIT_REV_SAME)
        return IH_ADMIT_RESEND;
    //  Entitlement first: a sender who may not see the alert learns nothing of it
    //  (neither that it exists nor its owner) beyond what an absent id would tell.
    //  Only alerts carry an entitlement of their own: for the other kinds the sender's
    //  own message decides, and an id clash says nothing more than that.
    bool hidden = !s_visible (h, sender);
    if (hidden && alert && rev > 1)
        return s_verdict (why, IH_ADMIT_UNKNOWN_ALERT, "id: no alert %s to revise (rev %u)",
                          m->id, rev);
    if (hidden || h->kind != m->kind || !alert)
        //  an id is taken whoever holds it; say no more than that
        return s_verdict (why, IH_ADMIT_ID_TAKEN, "id: %s is already in use", m->id);
    if (!s_same_org (h->org, m->org))
        return s_verdict (why, IH_ADMIT_NOT_OWNER, "id: alert %s belongs to org %s", m->id,
                          s_org (h->org));
    if (h->rev == IH_ADMIT_REV_SAME || h->rev == IH_ADMIT_REV_OTHER)
        return s_verdict (why, IH_ADMIT_DUPLICATE_REV,
                          "rev: alert %s already has a different revision %u", m->id, rev);
    if (rev <= h->latest_rev)
        return s_verdict (why, rev == h->latest_rev ? IH_ADMIT_SAME_REV : IH_ADMIT_STALE,
                          "rev: %u is not above the latest revision %u of %s", rev,
                          h->latest_rev, m->id);
    //  A revision may widen who gets the alert, never narrow it: retractions and
    //  comments follow the latest revision's entitlement, so everyone who ever got a
    //  revision must be entitled to the latest (PROTOCOL.md 4.3).
    if (!ih_entitlement_widens (h->tlp, h->recipients, m->tlp, &m->recipients))
        return s_verdict (why, IH_ADMIT_NARROWS, "rev: a revision cannot narrow TLP or "
                          "recipients; retract it and publish a new alert");
    return IH_ADMIT_REVISION;
}

ih_admit_t
ih_admit_ref (const ih_admit_held_t *a, const ih_msg_t *m, const ih_member_t *sender, ih_err_t *why)
{
    if (why)
        why->msg [0] = 0;
    if (!m->ref [0]) {
        if (m->kind == IH_KIND_COMMENT || m->kind == IH_KIND_RETRACTION)
            return s_verdict (why, IH_ADMIT_REF_REQUIRED, "ref: required for a %s",
                              ih_kind_name (m->kind));
        return IH_ADMIT_NO_REF;
    }
    //  Absent, not an alert, or not visible to the sender: the same answer, so that ids
    //  and owners of alerts the sender may not see cannot be probed
    if (!a->held || a->kind != IH_KIND_ALERT || !s_visible (a, sender))
        return s_verdict (why, IH_ADMIT_UNKNOWN_ALERT, "ref: no alert %s", m->ref);
    if (m->kind == IH_KIND_RETRACTION && !s_same_org (a->org, m->org))
        return s_verdict (why, IH_ADMIT_NOT_OWNER, "ref: alert %s belongs to org %s", m->ref,
                          s_org (a->org));
    return IH_ADMIT_REF_OK;
}

bool
ih_admit_ok (ih_admit_t v)
{
    return v == IH_ADMIT_NEW || v == IH_ADMIT_REVISION || v == IH_ADMIT_REF_OK
        || v == IH_ADMIT_NO_REF;
}

const char *
ih_admit_name (ih_admit_t v)
{
    static const char *names [IH_ADMIT_COUNT] = {
        "IH_ADMIT_NEW", "IH_ADMIT_REVISION", "IH_ADMIT_RESEND", "IH_ADMIT_SAME_REV",
        "IH_ADMIT_STALE", "IH_ADMIT_DUPLICATE_REV", "IH_ADMIT_ID_TAKEN", "IH_ADMIT_NOT_OWNER",
        "IH_ADMIT_NARROWS", "IH_ADMIT_UNKNOWN_ALERT", "IH_ADMIT_REF_OK", "IH_ADMIT_NO_REF",
        "IH_ADMIT_REF_REQUIRED"
    };
    return (unsigned) v < IH_ADMIT_COUNT ? names [v] : "IH_ADMIT_?";
}

/* ---- self-test ----------------------------------------------------------------------
    One table: what is held, the message, the sender, and the verdict and reason wanted.
    Orgs: bank-a publishes; telco (sector telecom) and energy-co (sector energy) are other
    members; "sector:finance" reaches the finance sector. */
#ifdef IH_SELFTEST
#define S_ID  "11111111-2222-4333-8444-555555555555"
#define S_REF "66666666-7777-4888-8999-aaaaaaaaaaaa"

typedef struct {
    const char *name;
    bool by_ref;                    //  ih_admit_ref (else ih_admit_id)
    //  held
    bool held;
    ih_kind_t hkind;
    const char *horg;
    uint32_t hlatest;
    ih_tlp_t htlp;
    const char *hrcpt;              //  comma-separated recipients
    ih_admit_rev_t hrev;
    //  the message
    ih_kind_t kind;
    uint32_t rev;
    const char *org;
    ih_tlp_t tlp;
    const char *rcpt;
    bool ref;                       //  refers to S_REF
    //  the sender: an org with a sector, or NULL (no visibility check)
    const char *sender, *sector;
    //  wanted
    ih_admit_t want;
    const char *reason;             //  a substring of the reason; NULL = ""
} s_case_t;

#define A IH_KIND_ALERT
#define C IH_KIND_COMMENT
#define R IH_KIND_RETRACTION
#define S IH_KIND_SIGHTING
#define UNTR IH_ADMIT_REV_UNTRACKED
#define ABS  IH_ADMIT_REV_ABSENT
#define SAME IH_ADMIT_REV_SAME
#define OTHR IH_ADMIT_REV_OTHER
#define GRN  IH_TLP_GREEN
#define AMB  IH_TLP_AMBER
#define RED  IH_TLP_RED

static const s_case_t s_cases [] = {
    //  the message's own id: nothing held
    { "new alert", 0, 0, A, NULL, 0, GRN, NULL, ABS,  A, 1, "bank-a", GRN, NULL, 0, "bank-a", "finance",
      IH_ADMIT_NEW, NULL },
    { "revision of nothing", 0, 0, A, NULL, 0, GRN, NULL, ABS,  A, 3, "bank-a", GRN, NULL, 0, "bank-a", "",
      IH_ADMIT_UNKNOWN_ALERT, "id: no alert " S_ID " to revise (rev 3)" },
    { "late revision, store", 0, 0, A, NULL, 0, GRN, NULL, UNTR,  A, 3, "bank-a", GRN, NULL, 0, NULL, NULL,
      IH_ADMIT_UNKNOWN_ALERT, "to revise" },
    { "new comment", 0, 0, A, NULL, 0, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 1, "telco", "",
      IH_ADMIT_NEW, NULL },
    //  resends
    { "alert resent", 0, 1, A, "bank-a", 2, GRN, NULL, SAME,  A, 2, "bank-a", GRN, NULL, 0, "bank-a", "",
      IH_ADMIT_RESEND, NULL },
    { "comment resent", 0, 1, C, "telco", 0, GRN, NULL, SAME,  C, 0, "telco", GRN, NULL, 1, "telco", "",
      IH_ADMIT_RESEND, NULL },
    { "resend before visibility", 0, 1, A, "bank-a", 1, RED, "telco", SAME,  A, 1, "bank-a", RED, "telco", 0,
      "energy-co", "", IH_ADMIT_RESEND, NULL },
    //  ids are unique across kinds
    { "comment on an alert's id", 0, 1, A, "bank-a", 1, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 1, "telco",
      "", IH_ADMIT_ID_TAKEN, "id: " S_ID " is already in use" },
    { "alert on a comment's id", 0, 1, C, "telco", 0, GRN, NULL, ABS,  A, 1, "bank-a", GRN, NULL, 0, "bank-a",
      "", IH_ADMIT_ID_TAKEN, "already in use" },
    { "comment id, another body", 0, 1, C, "telco", 0, GRN, NULL, OTHR,  C, 0, "telco", GRN, NULL, 1, "telco",
      "", IH_ADMIT_ID_TAKEN, "already in use" },
    { "sighting on a comment's id", 0, 1, C, "telco", 0, GRN, NULL, SAME,  S, 0, "telco", GRN, NULL, 0, "telco",
      "", IH_ADMIT_ID_TAKEN, "already in use" },
    //  hidden alerts look absent, to a sender; the store judges no visibility
    { "revision of a hidden alert", 0, 1, A, "bank-a", 1, RED, "telco", ABS,  A, 2, "energy-co", RED, NULL, 0,
      "energy-co", "energy", IH_ADMIT_UNKNOWN_ALERT, "id: no alert " S_ID " to revise (rev 2)" },
    { "new alert on a hidden id", 0, 1, A, "bank-a", 1, RED, "telco", ABS,  A, 1, "energy-co", GRN, NULL, 0,
      "energy-co", "energy", IH_ADMIT_ID_TAKEN, "already in use" },
    { "hidden, no sender", 0, 1, A, "bank-a", 1, RED, "telco", UNTR,  A, 2, "energy-co", RED, NULL, 0, NULL, NULL,
      IH_ADMIT_NOT_OWNER, "id: alert " S_ID " belongs to org bank-a" },
    { "own RED alert revised", 0, 1, A, "bank-a", 1, RED, "telco", ABS,  A, 2, "bank-a", RED, "telco", 0,
      "bank-a", "", IH_ADMIT_REVISION, NULL },
    //  ownership
    { "revision by another org", 0, 1, A, "bank-a", 1, GRN, NULL, ABS,  A, 2, "telco", GRN, NULL, 0, "telco",
      "telecom", IH_ADMIT_NOT_OWNER, "id: alert " S_ID " belongs to org bank-a" },
    { "rev 1 reusing another's id", 0, 1, A, "bank-a", 1, GRN, NULL, OTHR,  A, 1, "telco", GRN, NULL, 0,
      "telco", "", IH_ADMIT_NOT_OWNER, "belongs to org bank-a" },
    { "visible by sector", 0, 1, A, "bank-a", 1, AMB, "sector:finance", ABS,  A, 2, "telco", AMB, NULL, 0,
      "telco", "finance", IH_ADMIT_NOT_OWNER, "belongs to org bank-a" },
    { "unknown owner", 0, 1, A, NULL, 1, GRN, NULL, UNTR,  A, 2, "bank-a", GRN, NULL, 0, NULL, NULL,
      IH_ADMIT_NOT_OWNER, "belongs to org ?" },
    //  revision order
    { "same revision, another body", 0, 1, A, "bank-a", 2, GRN, NULL, OTHR,  A, 2, "bank-a", GRN, NULL, 0,
      "bank-a", "", IH_ADMIT_DUPLICATE_REV, "rev: alert " S_ID " already has a different revision 2" },
    { "older revision, another body", 0, 1, A, "bank-a", 3, GRN, NULL, OTHR,  A, 1, "bank-a", GRN, NULL, 0,
      "bank-a", "", IH_ADMIT_DUPLICATE_REV, "different revision 1" },
    { "stale revision", 0, 1, A, "bank-a", 3, GRN, NULL, ABS,  A, 2, "bank-a", GRN, NULL, 0, "bank-a", "",
      IH_ADMIT_STALE, "rev: 2 is not above the latest revision 3 of " S_ID },
    { "stale, store", 0, 1, A, "bank-a", 3, GRN, NULL, UNTR,  A, 2, "bank-a", GRN, NULL, 0, NULL, NULL,
      IH_ADMIT_STALE, "not above" },
    { "same revision, store", 0, 1, A, "bank-a", 3, GRN, NULL, UNTR,  A, 3, "bank-a", GRN, NULL, 0, NULL, NULL,
      IH_ADMIT_SAME_REV, "rev: 3 is not above the latest revision 3" },
    { "newer revision, store", 0, 1, A, "bank-a", 3, GRN, NULL, UNTR,  A, 4, "bank-a", GRN, NULL, 0, NULL, NULL,
      IH_ADMIT_REVISION, NULL },
    //  widening only
    { "GREEN to AMBER", 0, 1, A, "bank-a", 1, GRN, NULL, ABS,  A, 2, "bank-a", AMB, NULL, 0, "bank-a", "",
      IH_ADMIT_NARROWS, "rev: a revision cannot narrow TLP or recipients; retract it and publish a new alert" },
    { "RED gains a recipient", 0, 1, A, "bank-a", 1, RED, "telco", ABS,  A, 2, "bank-a", RED, "telco,energy-co",
      0, "bank-a", "", IH_ADMIT_REVISION, NULL },
    { "RED swaps its recipient", 0, 1, A, "bank-a", 1, RED, "telco", ABS,  A, 2, "bank-a", RED, "energy-co", 0,
      "bank-a", "", IH_ADMIT_NARROWS, "cannot narrow" },
    { "AMBER to all, then listed", 0, 1, A, "bank-a", 1, AMB, NULL, ABS,  A, 2, "bank-a", AMB, "telco", 0,
      "bank-a", "", IH_ADMIT_NARROWS, "cannot narrow" },
    { "AMBER sector to GREEN", 0, 1, A, "bank-a", 1, AMB, "sector:finance", ABS,  A, 2, "bank-a", GRN, NULL, 0,
      "bank-a", "", IH_ADMIT_REVISION, NULL },
    { "narrowing, store", 0, 1, A, "bank-a", 1, GRN, NULL, UNTR,  A, 2, "bank-a", RED, "telco", 0, NULL, NULL,
      IH_ADMIT_NARROWS, "cannot narrow" },

    //  references
    { "comment without ref", 1, 0, A, NULL, 0, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 0, "telco", "",
      IH_ADMIT_REF_REQUIRED, "ref: required for a comment" },
    { "retraction without ref", 1, 0, A, NULL, 0, GRN, NULL, ABS,  R, 0, "bank-a", GRN, NULL, 0, "bank-a", "",
      IH_ADMIT_REF_REQUIRED, "ref: required for a retraction" },
    { "sighting of no alert", 1, 0, A, NULL, 0, GRN, NULL, ABS,  S, 0, "telco", GRN, NULL, 0, "telco", "",
      IH_ADMIT_NO_REF, NULL },
    { "an alert refers to nothing", 1, 0, A, NULL, 0, GRN, NULL, ABS,  A, 1, "bank-a", GRN, NULL, 0, "bank-a", "",
      IH_ADMIT_NO_REF, NULL },
    { "comment on nothing", 1, 0, A, NULL, 0, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 1, "telco", "",
      IH_ADMIT_UNKNOWN_ALERT, "ref: no alert " S_REF },
    { "comment on a comment", 1, 1, C, "telco", 0, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 1, "telco", "",
      IH_ADMIT_UNKNOWN_ALERT, "ref: no alert " S_REF },
    { "comment on a hidden alert", 1, 1, A, "bank-a", 1, RED, "telco", ABS,  C, 0, "energy-co", GRN, NULL, 1,
      "energy-co", "energy", IH_ADMIT_UNKNOWN_ALERT, "ref: no alert " S_REF },
    { "retraction of a hidden alert", 1, 1, A, "bank-a", 1, RED, "telco", ABS,  R, 0, "energy-co", GRN, NULL, 1,
      "energy-co", "energy", IH_ADMIT_UNKNOWN_ALERT, "ref: no alert " S_REF },
    { "sighting of a hidden alert", 1, 1, A, "bank-a", 1, AMB, "telco", ABS,  S, 0, "energy-co", GRN, NULL, 1,
      "energy-co", "energy", IH_ADMIT_UNKNOWN_ALERT, "no alert" },
    { "comment by another org", 1, 1, A, "bank-a", 1, GRN, NULL, ABS,  C, 0, "telco", GRN, NULL, 1, "telco", "",
      IH_ADMIT_REF_OK, NULL },
    { "sighting by a listed org", 1, 1, A, "bank-a", 1, RED, "telco", ABS,  S, 0, "telco", GRN, NULL, 1,
      "telco", "", IH_ADMIT_REF_OK, NULL },
    { "retraction by another org", 1, 1, A, "bank-a", 1, GRN, NULL, ABS,  R, 0, "telco", GRN, NULL, 1, "telco",
      "", IH_ADMIT_NOT_OWNER, "ref: alert " S_REF " belongs to org bank-a" },
    { "retraction by the owner", 1, 1, A, "bank-a", 1, RED, "telco", ABS,  R, 0, "bank-a", GRN, NULL, 1,
      "bank-a", "", IH_ADMIT_REF_OK, NULL },
    { "retraction, store, other org", 1, 1, A, "bank-a", 1, RED, "telco", UNTR,  R, 0, "energy-co", GRN, NULL, 1,
      NULL, NULL, IH_ADMIT_NOT_OWNER, "belongs to org bank-a" },
    { "retraction before its alert", 1, 0, A, NULL, 0, GRN, NULL, UNTR,  R, 0, "bank-a", GRN, NULL, 1, NULL, NULL,
      IH_ADMIT_UNKNOWN_ALERT, "no alert" },
    { "retraction, unknown owner", 1, 1, A, NULL, 1, GRN, NULL, UNTR,  R, 0, "bank-a", GRN, NULL, 1, NULL, NULL,
      IH_ADMIT_NOT_OWNER, "belongs to org ?" },
};

#undef A
#undef C
#undef R
#undef S
#undef UNTR
#undef ABS
#undef SAME
#undef OTHR
#undef GRN
#undef AMB
#undef RED

//  Splits "a,b" into list (items point into buf).
static void
s_list (ih_strlist_t *list, const char **items, char *buf, size_t size, const char *csv)
{
    list->items = items;
    list->count = 0;
    if (!csv)
        return;
    snprintf (buf, size, "%s", csv);
    for (char *save = NULL, *t = strtok_r (buf, ",", &save); t; t = strtok_r (NULL, ",", &save))
        items [list->count++] = t;
}

static void
s_run_case (const s_case_t *c, bool verbose)
{
    const char *hitems [4], *mitems [4];
    char hbuf [128], mbuf [128];
    ih_strlist_t hrcpt;
    s_list (&hrcpt, hitems, hbuf, sizeof hbuf, c->hrcpt);
    ih_admit_held_t held = { c->held, c->hkind, c->horg, c->hlatest, c->htlp,
                             c->hrcpt ? &hrcpt : NULL, c->hrev };
    ih_msg_t m;
    ih_msg_init (&m, c->kind);
    snprintf (m.id, sizeof m.id, "%s", S_ID);
    m.revision = c->rev;
    m.org = ih_msg_str (&m, c->org);
    m.tlp = c->tlp;
    if (c->ref)
        snprintf (m.ref, sizeof m.ref, "%s", S_REF);
    ih_strlist_t mrcpt;
    s_list (&mrcpt, mitems, mbuf, sizeof mbuf, c->rcpt);
    for (uint32_t i = 0; i < mrcpt.count; i++)
        ih_msg_strlist_add (&m, &m.recipients, mrcpt.items [i]);
    ih_member_t sender;
    memset (&sender, 0, sizeof sender);
    if (c->sender) {
        snprintf (sender.org, sizeof sender.org, "%s", c->sender);
        snprintf (sender.sector, sizeof sender.sector, "%s", c->sector ? c->sector : "");
        snprintf (sender.name, sizeof sender.name, "m");
        sender.role = IH_ROLE_PUBLISHER;
    }
    const ih_member_t *who = c->sender ? &sender : NULL;
    ih_err_t why = { "stale" };
    ih_admit_t v = c->by_ref ? ih_admit_ref (&held, &m, who, &why)
                             : ih_admit_id (&held, &m, who, &why);
    bool ok = v == c->want
           && (c->reason ? strstr (why.msg, c->reason) != NULL : why.msg [0] == 0);
    if (!ok || verbose)
        printf ("\n    %-30s %s%s%s", c->name, ih_admit_name (v), why.msg [0] ? ": " : "", why.msg);
    if (!ok)
        printf ("\n    wanted %s '%s'\n", ih_admit_name (c->want), c->reason ? c->reason : "");
    IH_CHECK (ok);
    //  A reason is one printable line; and a refusal always has one
    for (const char *p = why.msg; *p; p++)
        IH_CHECK (*p >= 0x20 && *p <= 0x7e);
    IH_CHECK (ih_admit_ok (v) || v == IH_ADMIT_RESEND || why.msg [0]);
    IH_CHECK (!ih_admit_ok (v) || why.msg [0] == 0);
    //  The same verdict without a reason buffer
    IH_CHECK ((c->by_ref ? ih_admit_ref (&held, &m, who, NULL) : ih_admit_id (&held, &m, who, NULL)) == v);
    ih_msg_free (&m);
}

void
ih_admit_test (bool verbose)
{
    size_t n = sizeof s_cases / sizeof s_cases [0];
    bool seen [IH_ADMIT_COUNT] = { false };
    for (size_t i = 0; i < n; i++) {
        s_run_case (&s_cases [i], verbose);
        seen [s_cases [i].want] = true;
    }
    //  Every verdict is named, and reached by some case
    for (int v = 0; v < IH_ADMIT_COUNT; v++) {
        IH_CHECK (seen [v]);
        IH_CHECK (strncmp (ih_admit_name ((ih_admit_t) v), "IH_ADMIT_", 9) == 0
               && strcmp (ih_admit_name ((ih_admit_t) v), "IH_ADMIT_?") != 0);
    }
    IH_CHECK (strcmp (ih_admit_name ((ih_admit_t) IH_ADMIT_COUNT), "IH_ADMIT_?") == 0);
    IH_CHECK (ih_admit_ok (IH_ADMIT_NEW) && ih_admit_ok (IH_ADMIT_REVISION)
           && ih_admit_ok (IH_ADMIT_REF_OK) && ih_admit_ok (IH_ADMIT_NO_REF)
           && !ih_admit_ok (IH_ADMIT_RESEND) && !ih_admit_ok (IH_ADMIT_NARROWS));
    if (verbose)
        printf ("\n    %zu cases ", n);
}
#endif
