/*  ih_msg.h: the Infohub message model (docs/ARCHITECTURE.md; PROTOCOL.md "Signed bodies").

    A message is one of: alert (create, and new revisions of the same id), retraction
    (of an alert or of single IOCs), comment (on an alert), sighting ("seen in our
    network", per IOC value). It is what a member signs; PROTOCOL.md section "Signed
    bodies" gives the wire form. Member records, signed by the registry key, are here too.

    Every string and array of an ih_msg_t lives in its arena: an ih_msg_t owns its
    memory, and ih_msg_reset() recycles it without freeing the first arena block.
*/
#ifndef IH_MSG_H
#define IH_MSG_H

#include "ih_util.h"

/* ---- limits (PROTOCOL.md "Limits"; the decoder enforces every one) ----------------- */
#define IH_MAX_FRAME        (1024 * 1024)  /* one ZeroMQ frame */
/*  ZMQ_MAXMSGSIZE for our CURVE sockets. libzmq applies it to the frame as it arrives,
    which CURVE has wrapped in a MESSAGE command: 8 bytes of name, an 8-byte nonce, a
    flags byte and a 16-byte MAC, 33 bytes in all. Set to IH_MAX_FRAME, a frame of
    1,048,545 to 1,048,576 bytes, which PROTOCOL.md allows, would disconnect the peer;
    the decoders refuse anything above IH_MAX_FRAME themselves. */
#define IH_CURVE_OVERHEAD   33
#define IH_ZMQ_MAXMSGSIZE   (IH_MAX_FRAME + IH_CURVE_OVERHEAD)
#define IH_MAX_TITLE        256
#define IH_MAX_SUMMARY      (64 * 1024)
#define IH_MAX_TEXT         (16 * 1024)    /* comment text, retraction reason */
#define IH_MAX_SHORT        64             /* org, member, sector, tag, recipient */
#define IH_MAX_LIST         64             /* sectors, recipients, references, tags */
#define IH_MAX_REF          2048           /* one reference URL */
#define IH_MAX_IOCS         5000
#define IH_MAX_IOC_VALUE    2048
#define IH_MAX_IOC_COMMENT  1024
#define IH_MAX_AUTHOR       128            /* the author's display name */
#define IH_MAX_ITEMS        256            /* items in one deliver envelope */
#define IH_MAX_DEPTH        8              /* msgpack nesting */

/* ---- enumerations --------------------------------------------------------------- */
typedef enum {
    IH_TLP_CLEAR = 0, IH_TLP_GREEN = 1, IH_TLP_AMBER = 2, IH_TLP_AMBER_STRICT = 3, IH_TLP_RED = 4
} ih_tlp_t;
#define IH_TLP_COUNT 5

typedef enum { IH_SEV_LOW = 0, IH_SEV_MEDIUM, IH_SEV_HIGH, IH_SEV_CRITICAL } ih_severity_t;
#define IH_SEV_COUNT 4

typedef enum {
    IH_CAT_RANSOMWARE = 0, IH_CAT_PHISHING, IH_CAT_MALWARE, IH_CAT_VULNERABILITY, IH_CAT_DDOS,
    IH_CAT_INTRUSION, IH_CAT_FRAUD, IH_CAT_DATA_LEAK, IH_CAT_ADVISORY, IH_CAT_OTHER,
    IH_CAT_EVENT            /* a seminar or workshop (ih_msg_event); last, because stores
                               index categories by number */
} ih_category_t;
#define IH_CAT_COUNT 11

typedef enum {
    IH_IOC_IPV4 = 0, IH_IOC_IPV6, IH_IOC_CIDR, IH_IOC_DOMAIN, IH_IOC_URL, IH_IOC_EMAIL,
    IH_IOC_MD5, IH_IOC_SHA1, IH_IOC_SHA256, IH_IOC_FILENAME, IH_IOC_CVE, IH_IOC_ASN
} ih_ioc_type_t;
#define IH_IOC_COUNT 12

typedef enum { IH_KIND_ALERT = 0, IH_KIND_RETRACTION, IH_KIND_COMMENT, IH_KIND_SIGHTING } ih_kind_t;
#define IH_KIND_COUNT 4

typedef enum { IH_ROLE_READER = 0, IH_ROLE_PUBLISHER } ih_role_t;

/*  Names as they appear on the wire and in JSON: "CLEAR", "AMBER+STRICT", "high",
    "data-leak", "sha256", "retraction", "publisher". Return NULL for out-of-range. */
const char *ih_tlp_name(ih_tlp_t v);
const char *ih_severity_name(ih_severity_t v);
const char *ih_category_name(ih_category_t v);
const char *ih_ioc_type_name(ih_ioc_type_t v);
const char *ih_kind_name(ih_kind_t v);
const char *ih_role_name(ih_role_t v);
/*  Parse a name (exact, case-sensitive as above; ih_tlp_parse also accepts lower case,
    a "TLP:" prefix and "WHITE"/"white" as CLEAR, for imports; ih_severity_parse and
    ih_category_parse accept any case, "High", "LOW", "Data-Leak", since people type
    them). Return 0 or -1 (value untouched). The wire codec does not use these: it
    takes the canonical names only (ih_mpack_enum_lookup), and the names above are what
    every output prints. */
int ih_tlp_parse(const char *s, ih_tlp_t *out);
int ih_severity_parse(const char *s, ih_severity_t *out);
int ih_category_parse(const char *s, ih_category_t *out);
int ih_ioc_type_parse(const char *s, ih_ioc_type_t *out);
int ih_kind_parse(const char *s, ih_kind_t *out);
int ih_role_parse(const char *s, ih_role_t *out);

/* ---- the message ------------------------------------------------------------------ */
typedef struct {
    ih_ioc_type_t type;
    const char *value;      /* normalised (ih_ioc_normalise) */
    const char *comment;    /* "" when none */
    bool detect;            /* use in detection exports (MISP to_ids) */
} ih_ioc_t;

typedef struct {
    const char **items;
    uint32_t count;
    uint32_t cap;               /* slots allocated (0: unknown, as in a literal: the next
                                   ih_msg_strlist_add copies the list before it adds) */
} ih_strlist_t;

typedef struct {
    ih_kind_t kind;
    char id[IH_UUID_LEN + 1];   /* this message's id; for alerts, the alert id (same for
                                   every revision) */
    uint32_t revision;          /* alerts: 1, 2, …; other kinds: 0 */
    int64_t created;            /* ms since epoch; alerts: when revision 1 was created */
    int64_t modified;           /* ms since epoch; when this message/revision was made */
    const char *org;            /* publisher org id (slug) */
    const char *member;         /* publisher member name (slug) */
    uint8_t signer[32];         /* publisher's ed25519 public key */
    const char *author;         /* every kind: the display name of the person at the
                                   member who wrote it (the Members Zone's user), signed
                                   with the rest; "" = none (then absent on the wire).
                                   One line of 1..IH_MAX_AUTHOR bytes, no control
                                   characters */

    /* alert */
    const char *title;
    const char *summary;        /* Markdown */
    ih_tlp_t tlp;               /* alert, sighting */
    ih_severity_t severity;
    ih_category_t category;
    ih_strlist_t sectors;       /* slugs */
    ih_strlist_t recipients;    /* org slugs, or "sector:SLUG" (AMBER only) */
    ih_strlist_t references;    /* URLs */
    ih_strlist_t tags;
    ih_ioc_t *iocs;             /* alert: indicators; retraction: the IOCs retracted
                                   (empty = whole alert); sighting: exactly one */
    uint32_t ioc_count;
    uint32_t ioc_cap;           /* slots allocated in iocs (ih_msg_ioc_add) */

    /* retraction, comment, sighting */
    char ref[IH_UUID_LEN + 1];  /* the alert referred to; "" for a sighting of no alert */
    const char *text;           /* comment text; retraction reason */
    uint32_t count;             /* sighting: times seen (>= 1) */

    ih_arena_t arena;
} ih_msg_t;

/*  Initialise to an empty alert (all strings "", lists empty, revision 1). */
void ih_msg_init(ih_msg_t *m, ih_kind_t kind);
/*  Recycles the arena and re-initialises. */
void ih_msg_reset(ih_msg_t *m, ih_kind_t kind);
/*  Frees the arena; safe twice. */
void ih_msg_free(ih_msg_t *m);
/*  Deep copy of src into dst (dst is initialised by the call). */
void ih_msg_copy(ih_msg_t *dst, const ih_msg_t *src);

/*  Builders that copy into the arena. */
const char *ih_msg_str(ih_msg_t *m, const char *s);
void ih_msg_strlist_add(ih_msg_t *m, ih_strlist_t *list, const char *s);
/*  True when list holds s (exact bytes). */
bool ih_strlist_has(const ih_strlist_t *list, const char *s);
/*  Appends an IOC; value and comment are copied as given (normalise first). */
void ih_msg_ioc_add(ih_msg_t *m, ih_ioc_type_t type, const char *value, const char *comment, bool detect);

/*  Bidirectional formatting: the embeddings and overrides U+202A..U+202E and the isolates
    U+2066..U+2069 reorder what is shown around them (a title that reads backwards, a
    file name "invoice<U+202E>fdp.exe" shown as "invoiceexe.pdf"). ih_msg_validate refuses
    them in every text field: title, summary, tags, author, references, IOC comments,
    comment and retraction texts ("title: U+202E (RIGHT-TO-LEFT OVERRIDE) at byte 5:
    ..."). The marks U+200E, U+200F and U+061C reorder no letters and are allowed. IOC
    values keep them: they are evidence (the file name an attacker chose), and pages show
    them escaped (web/ih_html.h). */
bool ih_text_is_bidi_control(uint32_t cp);
/*  The first such character in s (NULL: none), its code point into *cp (may be NULL). */
const char *ih_text_find_bidi(const char *s, uint32_t *cp);
/*  Removes them from s in place (imports clean a field of another platform rather than
    fail on it); returns how many were removed. */
size_t ih_text_strip_bidi(char *s);

/*  Full semantic validation of a message: enums in range, every limit, required fields
    per kind, slugs, UUIDs, URLs in references, IOC values already in normal form
    (ih_ioc_normalise(v) == v), sighting count >= 1, recipients rules per TLP
    ("sector:" entries only with AMBER), revision >= 1 for alerts. Returns 0 or -1 with
    err naming the field: "iocs[2].value: invalid ipv4 address '1.2.3'". */
int ih_msg_validate(const ih_msg_t *m, ih_err_t *err);

/* ---- events (category "event") ------------------------------------------------------ */
/*  A seminar or workshop is an alert of category event, by convention (PROTOCOL.md 5.3):
      a tag "date:YYYY-MM-DD" (all day, UTC) or "date:YYYY-MM-DDTHH:MMZ" (when it starts)
      an optional tag "place:TEXT" (where: a town, a room, "online")
      its link (programme, registration) as the first reference
    The first tag of each kind counts. */
typedef struct {
    int64_t when;               /* ms since the epoch: the start, or 00:00 UTC of the day */
    bool all_day;               /* the date tag gave no time */
    const char *place;          /* borrowed from the message (after "place:"), or "" */
    const char *link;           /* borrowed: the first reference, or "" */
} ih_event_t;

/*  Reads m's event tags into ev. Returns 1 when m is an alert of category event with a
    valid date tag; 0 when it is not an event (ev zeroed, strings ""); -1 with err when it
    is an event whose date tag is missing or malformed ("tags: an event needs a tag
    date:YYYY-MM-DD or date:YYYY-MM-DDTHH:MMZ", "tags[2]: 'date:2026-02-30' is not a
    date"). The strings in ev live as long as m. */
int ih_msg_event(const ih_msg_t *m, ih_event_t *ev, ih_err_t *err);

/* ---- member records (signed by the registry key) ------------------------------------ */
typedef struct {
    char name[IH_MAX_SHORT + 1];   /* member name, unique in the deployment (slug) */
    char org[IH_MAX_SHORT + 1];    /* org id (slug) */
    char sector[IH_MAX_SHORT + 1]; /* slug, "" when none */
    ih_role_t role;
    uint8_t curve[32];             /* CURVE public key */
    uint8_t sign[32];              /* ed25519 public key */
    int64_t created;               /* ms */
    bool gateway;                  /* the public gateway identity: receives CLEAR only */
} ih_member_t;

int ih_member_validate(const ih_member_t *r, ih_err_t *err);

/* ---- entitlement (docs/ARCHITECTURE.md invariant 2) -------------------------------------------- */
/*  True when member `who` may receive something marked `tlp`, published by org
    `publisher_org`, with the publisher's `recipients` list (org ids, or "sector:S" for
    AMBER):
      CLEAR         everyone, the gateway included
      GREEN         every member; not the gateway
      AMBER         every member when recipients is empty; otherwise members whose org,
                    or "sector:" + sector, is listed; not the gateway
      AMBER+STRICT  members of the listed orgs; not the gateway
      RED           members of the listed orgs; not the gateway
    The publisher's own org always receives its AMBER, AMBER+STRICT and RED messages.
    Comments and retractions use the entitlement of the alert they refer to. */
bool ih_entitled(const ih_member_t *who, ih_tlp_t tlp, const char *publisher_org,
                 const ih_strlist_t *recipients);

/*  True when a member with record `who` may send a message of `kind` (PROTOCOL.md 4.3):
      alert, retraction     publishers only (they publish, revise and retract alerts)
      comment, sighting     publishers and readers (readers collaborate)
    The gateway identity sends nothing. The broker refuses the rest (`not-publisher`);
    receivers refuse a delivered message whose member record does not allow it. */
bool ih_role_may_send(const ih_member_t *who, ih_kind_t kind);

/*  True when a revision marked new_tlp/new_rcpts of an alert marked old_tlp/old_rcpts
    (same publisher org) reaches every member the old revision reached, so that a
    revision never narrows entitlement (PROTOCOL.md 4.3):
      new_tlp more restrictive than old_tlp            false
      new_tlp CLEAR or GREEN                           true
      new AMBER with no recipients                     true
      otherwise (new has a recipient list)             old must have a recipient list too
                                                       (AMBER with recipients, AMBER+STRICT
                                                       or RED), and every old recipient must
                                                       be in the new list
    Out-of-range TLPs are false. NULL lists count as empty. */
bool ih_entitlement_widens(ih_tlp_t old_tlp, const ih_strlist_t *old_rcpts, ih_tlp_t new_tlp,
                           const ih_strlist_t *new_rcpts);

void ih_msg_test(bool verbose);

#endif
