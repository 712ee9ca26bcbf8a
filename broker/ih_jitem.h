/*  ih_jitem.h: one journaled message as the broker keeps it, who may receive it, and the
    narrowing filters of a session (PROTOCOL.md 4.1 and 10).

    The broker journals, per accepted message, the signed body and signature exactly as
    the publisher sent them, the publisher's member record and the registry's signature
    over it (what a `deliver` item carries), plus the metadata that delivery needs, so
    that neither live delivery nor replay ever decodes a body again:

      - kind, id, revision, ref (the alert a retraction/comment/sighting names);
      - category, severity, sectors (alerts: for the hello filters);
      - one or two entitlement constraints, frozen when the message is accepted:
          alert                 its own tlp, org, recipients
          retraction, comment   the referred alert's (latest revision's) tlp, org, recipients
          sighting              its own tlp and org, no recipients; and, when it names an
                                alert, that alert's entitlement as a second constraint
        A member receives the message only when it passes every constraint.

    Because the metadata is frozen in the journal, live delivery and replay decide alike,
    and a reconnecting agent skips exactly what it skipped before.

    Record format (little-endian, every length checked on decode):
        'J' 1 kind category severity ent_count sector_count 0
        rev u32, body_len u32, rec_len u32, id[36], ref[36] (zero-filled when none),
        sig[64], rec_sig[64],
        sectors: sector_count x (len u8, bytes, NUL)
        ent_count x (tlp u8, recipient_count u8, org (len u8, bytes, NUL),
                     recipient_count x (len u8, bytes, NUL))
        rec bytes, body bytes
*/
#ifndef IH_JITEM_H
#define IH_JITEM_H

#include "ih_msg.h"

#define IH_JITEM_MAX_ENT 2

/*  One entitlement constraint: the arguments of ih_entitled(). */
typedef struct {
    ih_tlp_t tlp;
    const char *org;            /* borrowed */
    ih_strlist_t recipients;    /* borrowed */
} ih_ent_t;

typedef struct {
    ih_kind_t kind;
    char id [IH_UUID_LEN + 1];
    uint32_t rev;
    char ref [IH_UUID_LEN + 1];     /* "" when none */
    ih_category_t category;         /* alerts */
    ih_severity_t severity;         /* alerts */
    ih_strlist_t sectors;           /* alerts */
    ih_ent_t ent [IH_JITEM_MAX_ENT];
    uint32_t ent_count;             /* 1 or 2 */
    const uint8_t *body;            /* borrowed: the signed body */
    size_t body_len;
    const uint8_t *sig;             /* 64 bytes, borrowed */
    const uint8_t *rec;             /* publisher's member record, borrowed */
    size_t rec_len;
    const uint8_t *rec_sig;         /* 64 bytes, borrowed */
    /*  Storage for the string lists of a decoded record. */
    const char *ptrs_ [IH_MAX_LIST * (1 + IH_JITEM_MAX_ENT)];
} ih_jitem_t;

/*  Encodes it into out (reset first). Fails with err when a string is longer than 255
    bytes, a list longer than IH_MAX_LIST, ent_count is not 1 or 2, or a pointer that
    must be set is NULL. */
int ih_jitem_encode(const ih_jitem_t *it, ih_buf_t *out, ih_err_t *err);

/*  Decodes a record; every pointer of it borrows data, which must outlive it.
    Returns 0, or -1 with err ("record: truncated at sectors[2]"). */
int ih_jitem_decode(ih_jitem_t *it, const uint8_t *data, size_t len, ih_err_t *err);

/*  True when member `who` passes every entitlement constraint of it (ih_entitled). */
bool ih_jitem_entitled(const ih_jitem_t *it, const ih_member_t *who);

/* ---- session filters (hello: categories, sectors, min_severity) ----------------------- */
typedef struct {
    uint32_t categories;            /* bit per ih_category_t; 0 = no narrowing */
    uint32_t sector_count;          /* 0 = no narrowing */
    char sectors [IH_MAX_LIST][IH_MAX_SHORT + 1];
    ih_severity_t min_severity;     /* IH_SEV_LOW = no narrowing */
} ih_filter_t;

/*  Sets f from the fields of a hello. Fails with err naming the field on an unknown
    category or severity, an invalid sector or more than IH_MAX_LIST entries. */
int ih_filter_set(ih_filter_t *f, const ih_strlist_t *categories, const ih_strlist_t *sectors,
                  const char *min_severity, ih_err_t *err);
/*  Resets f to "no narrowing". */
void ih_filter_clear(ih_filter_t *f);
/*  True when it passes f. Only alerts are narrowed; other kinds always pass. */
bool ih_filter_pass(const ih_filter_t *f, const ih_jitem_t *it);

void ih_jitem_test(bool verbose);

#endif
