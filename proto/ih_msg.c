/*  ih_msg.c: the message model: enum names, construction, copying and validation. */
#include "ih_msg.h"
#include "ih_ioc.h"

#include <string.h>

/* ---- enumerations --------------------------------------------------------------- */
static const char *s_tlp [] = { "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED" };
static const char *s_sev [] = { "low", "medium", "high", "critical" };
static const char *s_cat [] = { "ransomware", "phishing", "malware", "vulnerability", "ddos",
                                "intrusion", "fraud", "data-leak", "advisory", "other", "event" };
static const char *s_ioc [] = { "ipv4", "ipv6", "cidr", "domain", "url", "email", "md5",
                                "sha1", "sha256", "filename", "cve", "asn" };
static const char *s_kind [] = { "alert", "retraction", "comment", "sighting" };
static const char *s_role [] = { "reader", "publisher" };

#define S_NAME(table, v) ((unsigned) (v) < sizeof table / sizeof table [0] ? table [v] : NULL)

const char *ih_tlp_name (ih_tlp_t v) { return S_NAME (s_tlp, v); }
const char *ih_severity_name (ih_severity_t v) { return S_NAME (s_sev, v); }
const char *ih_category_name (ih_category_t v) { return S_NAME (s_cat, v); }
const char *ih_ioc_type_name (ih_ioc_type_t v) { return S_NAME (s_ioc, v); }
const char *ih_kind_name (ih_kind_t v) { return S_NAME (s_kind, v); }
const char *ih_role_name (ih_role_t v) { return S_NAME (s_role, v); }

static int
s_lookup (const char **table, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp (table [i], s) == 0)
            return i;
    return -1;
}

/*  s in lower case (ASCII) into low (size bytes); NULL when it does not fit. */
static const char *
s_lower (const char *s, char *low, size_t size)
{
    if (!s)
        return NULL;
    size_t n = strlen (s);
    if (n >= size)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        low [i] = (s [i] >= 'A' && s [i] <= 'Z') ? (char) (s [i] + 32) : s [i];
    return low;
}

#define S_PARSE(name, type, table) \
int name (const char *s, type *out) \
{ \
    int i = s_lookup (table, (int) (sizeof table / sizeof table [0]), s); \
    if (i < 0) \
        return -1; \
    *out = (type) i; \
    return 0; \
}

/*  Severity and category are what people type ("High", "Phishing"): any case. The wire
    codec has its own tables (ih_mpack.h) and stays exact. */
#define S_PARSE_ANYCASE(name, type, table) \
int name (const char *s, type *out) \
{ \
    char low [32]; \
    int i = s_lookup (table, (int) (sizeof table / sizeof table [0]), s_lower (s, low, sizeof low)); \
    if (i < 0) \
        return -1; \
    *out = (type) i; \
    return 0; \
}

S_PARSE_ANYCASE (ih_severity_parse, ih_severity_t, s_sev)
S_PARSE_ANYCASE (ih_category_parse, ih_category_t, s_cat)
S_PARSE (ih_ioc_type_parse, ih_ioc_type_t, s_ioc)
S_PARSE (ih_kind_parse, ih_kind_t, s_kind)
S_PARSE (ih_role_parse, ih_role_t, s_role)

int
ih_tlp_parse (const char *s, ih_tlp_t *out)
{
    if (!s)
        return -1;
    char up [32];
    size_t n = strlen (s);
    if (n >= sizeof up)
        return -1;
    for (size_t i = 0; i <= n; i++)
        up [i] = (s [i] >= 'a' && s [i] <= 'z') ? (char) (s [i] - 32) : s [i];
    if (strncmp (up, "TLP:", 4) == 0)
        memmove (up, up + 4, n - 3);
    if (strcmp (up, "WHITE") == 0) {
        *out = IH_TLP_CLEAR;
        return 0;
    }
    int i = s_lookup (s_tlp, IH_TLP_COUNT, up);
    if (i < 0)
        return -1;
    *out = (ih_tlp_t) i;
    return 0;
}

/* ---- construction ----------------------------------------------------------------- */
void
ih_msg_init (ih_msg_t *m, ih_kind_t kind)
{
    memset (m, 0, sizeof *m);
    ih_arena_init (&m->arena);
    m->kind = kind;
    m->revision = kind == IH_KIND_ALERT ? 1 : 0;
    m->org = m->member = m->author = m->title = m->summary = m->text = "";
    m->tlp = IH_TLP_AMBER;
    m->severity = IH_SEV_MEDIUM;
    m->category = IH_CAT_OTHER;
    m->count = kind == IH_KIND_SIGHTING ? 1 : 0;
}

void
ih_msg_reset (ih_msg_t *m, ih_kind_t kind)
{
    ih_arena_t arena = m->arena;
    ih_arena_reset (&arena);
    ih_msg_init (m, kind);
    m->arena = arena;
}

void
ih_msg_free (ih_msg_t *m)
{
    ih_arena_free (&m->arena);
    ih_arena_t arena = m->arena;
    ih_msg_init (m, m->kind);
    m->arena = arena;
}

const char *
ih_msg_str (ih_msg_t *m, const char *s)
{
    return ih_arena_strdup (&m->arena, s ? s : "");
}

void
ih_msg_strlist_add (ih_msg_t *m, ih_strlist_t *list, const char *s)
{
    /*  Grow by doubling inside the arena; the old array is simply abandoned there. The
        capacity is the list's own (a decoded list is sized exactly), never guessed from
        the count.  */
    uint32_t n = list->count;
    if (n >= list->cap) {
        uint32_t cap = n ? n * 2 : 4;
        const char **items = ih_arena_alloc (&m->arena, cap * sizeof *items);
        if (n)
            memcpy (items, list->items, n * sizeof *items);
        list->items = items;
        list->cap = cap;
    }
    list->items [n] = ih_msg_str (m, s);
    list->count = n + 1;
}

bool
ih_strlist_has (const ih_strlist_t *list, const char *s)
{
    for (uint32_t i = 0; i < list->count; i++)
        if (streq (list->items [i], s))
            return true;
    return false;
}

void
ih_msg_ioc_add (ih_msg_t *m, ih_ioc_type_t type, const char *value, const char *comment, bool detect)
{
    uint32_t n = m->ioc_count;
    if (n >= m->ioc_cap) {
        uint32_t cap = n ? n * 2 : 4;
        ih_ioc_t *iocs = ih_arena_alloc (&m->arena, cap * sizeof *iocs);
        if (n)
            memcpy (iocs, m->iocs, n * sizeof *iocs);
        m->iocs = iocs;
        m->ioc_cap = cap;
    }
    m->iocs [n].type = type;
    m->iocs [n].value = ih_msg_str (m, value);
    m->iocs [n].comment = ih_msg_str (m, comment);
    m->iocs [n].detect = detect;
    m->ioc_count = n + 1;
}

static void
s_copy_list (ih_msg_t *dst, ih_strlist_t *to, const ih_strlist_t *from)
{
    memset (to, 0, sizeof *to);
    for (uint32_t i = 0; i < from->count; i++)
        ih_msg_strlist_add (dst, to, from->items [i]);
}

void
ih_msg_copy (ih_msg_t *dst, const ih_msg_t *src)
{
    ih_msg_init (dst, src->kind);
    ih_arena_t arena = dst->arena;
    *dst = *src;
    dst->arena = arena;
    dst->org = ih_msg_str (dst, src->org);
    dst->member = ih_msg_str (dst, src->member);
    dst->author = ih_msg_str (dst, src->author);
    dst->title = ih_msg_str (dst, src->title);
    dst->summary = ih_msg_str (dst, src->summary);
    dst->text = ih_msg_str (dst, src->text);
    s_copy_list (dst, &dst->sectors, &src->sectors);
    s_copy_list (dst, &dst->recipients, &src->recipients);
    s_copy_list (dst, &dst->references, &src->references);
    s_copy_list (dst, &dst->tags, &src->tags);
    dst->iocs = NULL;
    dst->ioc_count = dst->ioc_cap = 0;
    for (uint32_t i = 0; i < src->ioc_count; i++)
        ih_msg_ioc_add (dst, src->iocs [i].type, src->iocs [i].value, src->iocs [i].comment,
                        src->iocs [i].detect);
}

/* ---- validation ------------------------------------------------------------------ */
/*  Valid UTF-8 (no overlongs, no surrogates) and, unless multiline, no control
    characters; multiline text may hold \n, \r and \t.                            */
static bool
s_text_ok (const char *s, bool multiline)
{
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        unsigned c = *p;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                if (!(multiline && (c == '\n' || c == '\r' || c == '\t')))
                    return false;
            }
            p++;
            continue;
        }
        int n;
        unsigned cp;
        if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
        else
        if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
        else
        if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
        else
            return false;
        for (int i = 1; i <= n; i++) {
            if ((p [i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p [i] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
        ||  cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* ---- bidirectional formatting (PROTOCOL.md 5.1) ---------------------------------- */
bool
ih_text_is_bidi_control (uint32_t cp)
{
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

//  The encodings are E2 80 AA..AE (U+202A..E) and E2 81 A6..A9 (U+2066..9).
static size_t
s_bidi_at (const unsigned char *p)
{
    if (p [0] != 0xe2)
        return 0;
    if ((p [1] == 0x80 && p [2] >= 0xaa && p [2] <= 0xae) || (p [1] == 0x81 && p [2] >= 0xa6 && p [2] <= 0xa9))
        return 3;
    return 0;
}

const char *
ih_text_find_bidi (const char *s, uint32_t *cp)
{
    for (const unsigned char *p = (const unsigned char *) s; p && *p; p++)
        if (p [0] == 0xe2 && p [1] && p [2] && s_bidi_at (p)) {
            if (cp)
                *cp = (uint32_t) ((p [0] & 0x0f) << 12 | (p [1] & 0x3f) << 6 | (p [2] & 0x3f));
            return (const char *) p;
        }
    return NULL;
}

size_t
ih_text_strip_bidi (char *s)
{
    size_t removed = 0;
    unsigned char *w = (unsigned char *) s;
    for (const unsigned char *r = (const unsigned char *) s; r && *r; ) {
        if (r [0] == 0xe2 && r [1] && r [2] && s_bidi_at (r)) {
            r += 3;
            removed++;
            continue;
        }
        *w++ = *r++;
    }
    if (s)
        *w = 0;
    return removed;
}

static const char *
s_bidi_name (uint32_t cp)
{
    static const char *const names [] = {
        "LEFT-TO-RIGHT EMBEDDING", "RIGHT-TO-LEFT EMBEDDING", "POP DIRECTIONAL FORMATTING",
        "LEFT-TO-RIGHT OVERRIDE", "RIGHT-TO-LEFT OVERRIDE"
    };
    static const char *const isolates [] = {
        "LEFT-TO-RIGHT ISOLATE", "RIGHT-TO-LEFT ISOLATE", "FIRST STRONG ISOLATE",
        "POP DIRECTIONAL ISOLATE"
    };
    if (cp >= 0x202a && cp <= 0x202e)
        return names [cp - 0x202a];
    if (cp >= 0x2066 && cp <= 0x2069)
        return isolates [cp - 0x2066];
    return "?";
}

/*  Values in error messages go through ih_quote (ih_util.h), so a value a client sent
    cannot forge a log line or drive a terminal when the error is logged. */

static int
s_check_text (const char *field, const char *s, size_t min, size_t max, bool multiline, ih_err_t *err)
{
    size_t n = strlen (s);
    if (n < min)
        return ih_err_set (err, "%s: must not be empty", field);
    if (n > max)
        return ih_err_set (err, "%s: too long (%zu > %zu bytes)", field, n, max);
    if (!s_text_ok (s, multiline))
        return ih_err_set (err, "%s: invalid UTF-8 or control character", field);
    uint32_t cp;
    const char *at = ih_text_find_bidi (s, &cp);
    if (at)
        return ih_err_set (err, "%s: U+%04X (%s) at byte %zu: bidirectional embedding, override "
                           "and isolate characters are not allowed (they reorder what is shown)",
                           field, (unsigned) cp, s_bidi_name (cp), (size_t) (at - s));
    return 0;
}

static int
s_check_list (const char *field, const ih_strlist_t *l, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    if (l->count > IH_MAX_LIST)
        return ih_err_set (err, "%s: too many entries (%u > %d)", field, l->count, IH_MAX_LIST);
    for (uint32_t i = 0; i < l->count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp (l->items [i], l->items [j]) == 0)
                return ih_err_set (err, "%s[%u]: duplicate '%s'", field, i,
                                   ih_quote (l->items [i], SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    return 0;
}

static bool
s_url_ok (const char *s)
{
    if (strncmp (s, "https://", 8) != 0 && strncmp (s, "http://", 7) != 0)
        return false;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return strlen (s) > 8;
}

static int
s_check_times (const ih_msg_t *m, ih_err_t *err)
{
    /*  2000-01-01 .. 2200-01-01: outside that a clock is wrong or the field is junk. */
    const int64_t lo = 946684800000LL, hi = 7258118400000LL;
    if (m->created < lo || m->created > hi)
        return ih_err_set (err, "created: out of range (%lld ms)", (long long) m->created);
    if (m->modified < lo || m->modified > hi)
        return ih_err_set (err, "modified: out of range (%lld ms)", (long long) m->modified);
    if (m->modified < m->created)
        return ih_err_set (err, "modified: earlier than created");
    return 0;
}

static int
s_check_ioc (const ih_msg_t *m, uint32_t i, const ih_ioc_t *ioc, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    if (!ih_ioc_type_name (ioc->type))
        return ih_err_set (err, "iocs[%u].type: unknown IOC type %d", i, (int) ioc->type);
    char norm [IH_MAX_IOC_VALUE + 1];
    if (ih_ioc_normalise (ioc->type, ioc->value, norm, sizeof norm, err) != 0) {
        ih_err_prefix (err, "iocs[%u].value", i);
        return -1;
    }
    if (strcmp (norm, ioc->value) != 0)
        return ih_err_set (err, "iocs[%u].value: not in normal form (expected '%s')", i,
                           ih_quote (norm, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    char field [32];
    snprintf (field, sizeof field, "iocs[%u].comment", i);
    if (s_check_text (field, ioc->comment, 0, IH_MAX_IOC_COMMENT, false, err))
        return -1;
    if (m->kind == IH_KIND_RETRACTION && (ioc->comment [0] || ioc->detect))
        return ih_err_set (err, "iocs[%u]: a retracted IOC carries no comment or detect flag", i);
    return 0;
}

int
ih_msg_validate (const ih_msg_t *m, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    if (!ih_kind_name (m->kind))
        return ih_err_set (err, "k: unknown message kind %d", (int) m->kind);
    if (!ih_uuid_valid (m->id))
        return ih_err_set (err, "id: not a lower-case UUID");
    if (m->kind == IH_KIND_ALERT && m->revision < 1)
        return ih_err_set (err, "rev: an alert revision starts at 1");
    if (m->kind != IH_KIND_ALERT && m->revision != 0)
        return ih_err_set (err, "rev: must be 0 for a %s", ih_kind_name (m->kind));
    if (s_check_times (m, err))
        return -1;
    if (!ih_slug_valid (m->org, IH_MAX_SHORT))
        return ih_err_set (err, "org: not a valid org id (a-z, 0-9, '-', '_', '.', max %d)", IH_MAX_SHORT);
    if (!ih_slug_valid (m->member, IH_MAX_SHORT))
        return ih_err_set (err, "member: not a valid member name (a-z, 0-9, '-', '_', '.', max %d)", IH_MAX_SHORT);
    //  The author's name is shown beside the text: one line, so that it cannot break
    //  a page's or a log's layout; "" is no author (the key is then left out).
    if (m->author && *m->author && s_check_text ("author", m->author, 1, IH_MAX_AUTHOR, false, err))
        return -1;

    if (m->kind == IH_KIND_ALERT) {
        if (s_check_text ("title", m->title, 1, IH_MAX_TITLE, false, err)
        ||  s_check_text ("summary", m->summary, 0, IH_MAX_SUMMARY, true, err))
            return -1;
        if (!ih_tlp_name (m->tlp))
            return ih_err_set (err, "tlp: out of range");
        if (!ih_severity_name (m->severity))
            return ih_err_set (err, "severity: out of range");
        if (!ih_category_name (m->category))
            return ih_err_set (err, "category: out of range");
        if (s_check_list ("sectors", &m->sectors, err) || s_check_list ("recipients", &m->recipients, err)
        ||  s_check_list ("references", &m->references, err) || s_check_list ("tags", &m->tags, err))
            return -1;
        for (uint32_t i = 0; i < m->sectors.count; i++)
            if (!ih_slug_valid (m->sectors.items [i], IH_MAX_SHORT))
                return ih_err_set (err, "sectors[%u]: not a valid sector name '%s'", i,
                                   ih_quote (m->sectors.items [i], SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
        if (m->recipients.count && m->tlp < IH_TLP_AMBER)
            return ih_err_set (err, "recipients: only AMBER, AMBER+STRICT and RED alerts name recipients");
        for (uint32_t i = 0; i < m->recipients.count; i++) {
            const char *r = m->recipients.items [i];
            if (strlen (r) > IH_MAX_SHORT)
                return ih_err_set (err, "recipients[%u]: too long (%zu > %d bytes)", i, strlen (r), IH_MAX_SHORT);
            if (strncmp (r, "sector:", 7) == 0) {
                if (m->tlp != IH_TLP_AMBER)
                    return ih_err_set (err, "recipients[%u]: sector recipients are for AMBER only; "
                                       "%s goes to named orgs", i, ih_tlp_name (m->tlp));
                if (!ih_slug_valid (r + 7, IH_MAX_SHORT))
                    return ih_err_set (err, "recipients[%u]: not a valid sector '%s'", i,
                                       ih_quote (r + 7, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            }
            else
            if (!ih_slug_valid (r, IH_MAX_SHORT))
                return ih_err_set (err, "recipients[%u]: not a valid org id '%s'", i,
                                   ih_quote (r, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
        }
        for (uint32_t i = 0; i < m->references.count; i++) {
            const char *r = m->references.items [i];
            if (strlen (r) > IH_MAX_REF)
                return ih_err_set (err, "references[%u]: too long (%zu > %d bytes)", i, strlen (r), IH_MAX_REF);
            if (!s_url_ok (r))
                return ih_err_set (err, "references[%u]: not an http(s) URL '%s'", i,
                                   ih_quote (r, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            char field [32];
            snprintf (field, sizeof field, "references[%u]", i);
            if (s_check_text (field, r, 1, IH_MAX_REF, false, err))
                return -1;
        }
        for (uint32_t i = 0; i < m->tags.count; i++) {
            char field [32];
            snprintf (field, sizeof field, "tags[%u]", i);
            if (s_check_text (field, m->tags.items [i], 1, IH_MAX_SHORT, false, err))
                return -1;
        }
    }
    else
    if (m->kind == IH_KIND_SIGHTING) {
        if (m->ref [0] && !ih_uuid_valid (m->ref))
            return ih_err_set (err, "ref: not a lower-case UUID");
        if (!ih_tlp_name (m->tlp))
            return ih_err_set (err, "tlp: out of range");
        if (m->ioc_count != 1)
            return ih_err_set (err, "iocs: a sighting names exactly one IOC (got %u)", m->ioc_count);
        if (m->count < 1 || m->count > 1000000)
            return ih_err_set (err, "count: must be 1..1000000");
    }
    else {
        if (!ih_uuid_valid (m->ref))
            return ih_err_set (err, "ref: not a lower-case UUID");
        if (s_check_text ("text", m->text, m->kind == IH_KIND_COMMENT ? 1 : 0, IH_MAX_TEXT, true, err))
            return -1;
        if (m->kind == IH_KIND_COMMENT && m->ioc_count)
            return ih_err_set (err, "iocs: a comment carries no IOCs");
    }
    if (m->ioc_count > IH_MAX_IOCS)
        return ih_err_set (err, "iocs: too many (%u > %d)", m->ioc_count, IH_MAX_IOCS);
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (s_check_ioc (m, i, &m->iocs [i], err))
            return -1;
    return 0;
}

int
ih_member_validate (const ih_member_t *r, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    if (!ih_slug_valid (r->name, IH_MAX_SHORT))
        return ih_err_set (err, "name: not a valid member name '%s'", ih_quote (r->name, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    if (!ih_slug_valid (r->org, IH_MAX_SHORT))
        return ih_err_set (err, "org: not a valid org id '%s'", ih_quote (r->org, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    if (r->sector [0] && !ih_slug_valid (r->sector, IH_MAX_SHORT))
        return ih_err_set (err, "sector: not a valid sector '%s'", ih_quote (r->sector, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
    if (!ih_role_name (r->role))
        return ih_err_set (err, "role: out of range");
    if (r->gateway && r->role != IH_ROLE_READER)
        return ih_err_set (err, "role: the gateway identity is a reader");
    if (r->created < 946684800000LL || r->created > 7258118400000LL)
        return ih_err_set (err, "created: out of range");
    return 0;
}

/* ---- events ----------------------------------------------------------------------- */
/*  "YYYY-MM-DD" (all day) or "YYYY-MM-DDTHH:MMZ". Returns 0 or -1. */
static int
s_event_date (const char *s, int64_t *when, bool *all_day)
{
    size_t n = strlen (s);
    if (n == 10) {
        *all_day = true;
        return ih_time_parse (s, when, NULL);
    }
    if (n != 17 || s [10] != 'T' || s [13] != ':' || s [16] != 'Z')
        return -1;
    //  ih_time_parse wants seconds: "YYYY-MM-DDTHH:MM" + ":00Z"
    char full [24];
    memcpy (full, s, 16);
    memcpy (full + 16, ":00Z", 5);
    *all_day = false;
    return ih_time_parse (full, when, NULL);
}

int
ih_msg_event (const ih_msg_t *m, ih_event_t *ev, ih_err_t *err)
{
    memset (ev, 0, sizeof *ev);
    ev->place = ev->link = "";
    if (m->kind != IH_KIND_ALERT || m->category != IH_CAT_EVENT)
        return 0;
    if (m->references.count)
        ev->link = m->references.items [0];
    bool dated = false, placed = false;
    char q [IH_QUOTE_BUF];
    for (uint32_t i = 0; i < m->tags.count; i++) {
        const char *t = m->tags.items [i];
        if (!dated && strncmp (t, "date:", 5) == 0) {
            if (s_event_date (t + 5, &ev->when, &ev->all_day) != 0) {
                memset (ev, 0, sizeof *ev);
                ev->place = ev->link = "";
                return ih_err_set (err, "tags[%u]: '%s' is not a date (date:YYYY-MM-DD or "
                                   "date:YYYY-MM-DDTHH:MMZ)", i,
                                   ih_quote (t, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q));
            }
            dated = true;
        }
        else
        if (!placed && strncmp (t, "place:", 6) == 0) {
            ev->place = t + 6;
            placed = true;
        }
    }
    if (!dated) {
        ev->place = ev->link = "";
        return ih_err_set (err, "tags: an event needs a tag date:YYYY-MM-DD or date:YYYY-MM-DDTHH:MMZ");
    }
    return 1;
}

/* ---- roles ------------------------------------------------------------------------ */
bool
ih_role_may_send (const ih_member_t *who, ih_kind_t kind)
{
    if (who->gateway)
        return false;
    if (kind == IH_KIND_COMMENT || kind == IH_KIND_SIGHTING)
        return who->role == IH_ROLE_PUBLISHER || who->role == IH_ROLE_READER;
    return who->role == IH_ROLE_PUBLISHER;
}

/* ---- entitlement ----------------------------------------------------------------- */
bool
ih_entitled (const ih_member_t *who, ih_tlp_t tlp, const char *publisher_org,
             const ih_strlist_t *recipients)
{
    if (tlp == IH_TLP_CLEAR)
        return true;
    if (who->gateway || (unsigned) tlp > IH_TLP_RED)
        return false;
    if (tlp == IH_TLP_GREEN)
        return true;
    if (publisher_org && strcmp (who->org, publisher_org) == 0)
        return true;
    uint32_t n = recipients ? recipients->count : 0;
    if (tlp == IH_TLP_AMBER && n == 0)
        return true;
    for (uint32_t i = 0; i < n; i++) {
        const char *r = recipients->items [i];
        if (strcmp (r, who->org) == 0)
            return true;
        if (tlp == IH_TLP_AMBER && strncmp (r, "sector:", 7) == 0 && who->sector [0]
        &&  strcmp (r + 7, who->sector) == 0)
            return true;
    }
    return false;
}

bool
ih_entitlement_widens (ih_tlp_t old_tlp, const ih_strlist_t *old_rcpts, ih_tlp_t new_tlp,
                       const ih_strlist_t *new_rcpts)
{
    if ((unsigned) old_tlp > IH_TLP_RED || (unsigned) new_tlp > IH_TLP_RED)
        return false;
    if (new_tlp > old_tlp)
        return false;               //  more restrictive
    if (new_tlp <= IH_TLP_GREEN)
        return true;                //  every member (CLEAR: the gateway too; then old was CLEAR)
    uint32_t nold = old_rcpts ? old_rcpts->count : 0;
    uint32_t nnew = new_rcpts ? new_rcpts->count : 0;
    if (new_tlp == IH_TLP_AMBER && nnew == 0)
        return true;                //  every member; old was AMBER or above: no gateway
    //  new is restricted to a list: old must have been restricted to a list as well
    if (old_tlp == IH_TLP_AMBER && nold == 0)
        return false;
    for (uint32_t i = 0; i < nold; i++) {
        bool found = false;
        for (uint32_t j = 0; j < nnew && !found; j++)
            found = strcmp (old_rcpts->items [i], new_rcpts->items [j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* ---- self-test ------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_mpack.h"
static void
s_sample (ih_msg_t *m)
{
    ih_msg_init (m, IH_KIND_ALERT);
    ih_uuid_new (m->id);
    m->created = m->modified = 1795887936123LL;
    m->org = ih_msg_str (m, "bank-a");
    m->member = ih_msg_str (m, "soc");
    m->title = ih_msg_str (m, "Ransomware C2 at 45.77.1.2");
    m->summary = ih_msg_str (m, "**LockBit** affiliate.\nBlock it.");
    m->tlp = IH_TLP_AMBER;
    m->severity = IH_SEV_HIGH;
    m->category = IH_CAT_RANSOMWARE;
    ih_msg_strlist_add (m, &m->sectors, "finance");
    ih_msg_strlist_add (m, &m->recipients, "sector:finance");
    ih_msg_strlist_add (m, &m->references, "https://cert.example.net/a/1");
    ih_msg_strlist_add (m, &m->tags, "lockbit");
    ih_msg_ioc_add (m, IH_IOC_IPV4, "45.77.1.2", "C2", true);
}

void
ih_msg_test (bool verbose)
{
    ih_err_t err;
    /*  Names and parsing, both ways, every value.  */
    for (int i = 0; i < IH_TLP_COUNT; i++) {
        ih_tlp_t t;
        IH_CHECK (ih_tlp_parse (ih_tlp_name ((ih_tlp_t) i), &t) == 0 && (int) t == i);
    }
    ih_tlp_t tlp;
    IH_CHECK (ih_tlp_parse ("white", &tlp) == 0 && tlp == IH_TLP_CLEAR);
    IH_CHECK (ih_tlp_parse ("TLP:AMBER+STRICT", &tlp) == 0 && tlp == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_tlp_parse ("amber+strict", &tlp) == 0 && tlp == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_tlp_parse ("PURPLE", &tlp) == -1);
    IH_CHECK (ih_tlp_parse ("AMBERAMBERAMBERAMBER", &tlp) == -1);
    IH_CHECK (ih_tlp_name ((ih_tlp_t) 9) == NULL);
    for (int i = 0; i < IH_CAT_COUNT; i++) {
        ih_category_t c;
        IH_CHECK (ih_category_parse (ih_category_name ((ih_category_t) i), &c) == 0 && (int) c == i);
    }
    for (int i = 0; i < IH_IOC_COUNT; i++) {
        ih_ioc_type_t t;
        IH_CHECK (ih_ioc_type_parse (ih_ioc_type_name ((ih_ioc_type_t) i), &t) == 0 && (int) t == i);
    }
    //  Severity and category in any case, as people type them; the wire stays strict.
    ih_severity_t sev;
    IH_CHECK (ih_severity_parse ("High", &sev) == 0 && sev == IH_SEV_HIGH);
    IH_CHECK (ih_severity_parse ("LOW", &sev) == 0 && sev == IH_SEV_LOW);
    IH_CHECK (ih_severity_parse ("critical", &sev) == 0 && sev == IH_SEV_CRITICAL);
    IH_CHECK (ih_severity_parse ("urgent", &sev) == -1 && sev == IH_SEV_CRITICAL);
    IH_CHECK (ih_severity_parse ("highhighhighhighhighhighhighhighhigh", &sev) == -1);
    IH_CHECK (ih_severity_parse ("", &sev) == -1 && ih_severity_parse (NULL, &sev) == -1);
    ih_category_t cat;
    IH_CHECK (ih_category_parse ("Data-Leak", &cat) == 0 && cat == IH_CAT_DATA_LEAK);
    IH_CHECK (ih_category_parse ("PHISHING", &cat) == 0 && cat == IH_CAT_PHISHING);
    IH_CHECK (ih_category_parse ("data_leak", &cat) == -1);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_SEV, "LOW", 3) < 0);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_CAT, "Phishing", 8) < 0);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_SEV, "low", 3) == IH_SEV_LOW);
    ih_role_t role;
    IH_CHECK (ih_role_parse ("publisher", &role) == 0 && role == IH_ROLE_PUBLISHER);
    ih_kind_t kind;
    IH_CHECK (ih_kind_parse ("sighting", &kind) == 0 && kind == IH_KIND_SIGHTING);
    IH_CHECK (ih_kind_parse (NULL, &kind) == -1);

    /*  A valid alert, its copy, and each way of breaking it.  */
    ih_msg_t m, c;
    s_sample (&m);
    if (ih_msg_validate (&m, &err) != 0)
        fprintf (stderr, "%s\n", err.msg);
    IH_CHECK (ih_msg_validate (&m, &err) == 0);
    ih_msg_copy (&c, &m);
    IH_CHECK (ih_msg_validate (&c, &err) == 0);
    IH_CHECK (c.title != m.title && strcmp (c.title, m.title) == 0);
    IH_CHECK (c.iocs != m.iocs && strcmp (c.iocs [0].value, "45.77.1.2") == 0);
    ih_msg_free (&c);
    ih_msg_free (&c);

#define S_BREAK(expect, stmt) do { \
        ih_msg_t b; ih_msg_copy (&b, &m); { ih_msg_t *x = &b; stmt; } \
        IH_CHECK (ih_msg_validate (&b, &err) == -1); \
        if (verbose || !strstr (err.msg, expect)) printf ("\n   %s", err.msg); \
        IH_CHECK (strstr (err.msg, expect) != NULL); \
        ih_msg_free (&b); } while (0)

    S_BREAK ("id:", memcpy (x->id, "zz", 3));
    S_BREAK ("rev:", x->revision = 0);
    S_BREAK ("created:", x->created = 5);
    S_BREAK ("modified: earlier", x->modified = x->created - 1);
    S_BREAK ("org:", x->org = "Bank A");
    S_BREAK ("member:", x->member = "");
    S_BREAK ("title: must not be empty", x->title = "");
    S_BREAK ("title: invalid UTF-8", x->title = "bad \xc0\xaf slash");
    S_BREAK ("title: invalid UTF-8", x->title = "tab\there");
    S_BREAK ("tlp:", x->tlp = (ih_tlp_t) 7);
    S_BREAK ("severity:", x->severity = (ih_severity_t) 7);
    S_BREAK ("category:", x->category = (ih_category_t) 70);
    S_BREAK ("sectors[1]: duplicate", ih_msg_strlist_add (x, &x->sectors, "finance"));
    S_BREAK ("sectors[1]: not a valid", ih_msg_strlist_add (x, &x->sectors, "Fin Ance"));
    S_BREAK ("recipients: only AMBER", x->tlp = IH_TLP_GREEN);
    S_BREAK ("recipients[0]: sector recipients are for AMBER only", x->tlp = IH_TLP_RED);
    S_BREAK ("recipients[1]: not a valid org", ih_msg_strlist_add (x, &x->recipients, "ORG!"));
    S_BREAK ("references[1]: not an http(s) URL", ih_msg_strlist_add (x, &x->references, "javascript:alert(1)"));
    S_BREAK ("tags[1]: must not be empty", ih_msg_strlist_add (x, &x->tags, ""));
    S_BREAK ("iocs[1].value", ih_msg_ioc_add (x, IH_IOC_IPV4, "1.2.3", "", true));
    S_BREAK ("iocs[1].value: not in normal form", ih_msg_ioc_add (x, IH_IOC_DOMAIN, "EVIL.example.net", "", true));
    S_BREAK ("iocs[1].type", ih_msg_ioc_add (x, (ih_ioc_type_t) 99, "x", "", true));
    {
        char big [IH_MAX_TITLE + 2];
        memset (big, 'a', sizeof big - 1);
        big [sizeof big - 1] = 0;
        S_BREAK ("title: too long (257 > 256 bytes)", x->title = ih_msg_str (x, big));
    }
    S_BREAK ("sectors: too many", for (int i = 0; i <= IH_MAX_LIST; i++) {
        char s [16]; snprintf (s, sizeof s, "s%d", i); ih_msg_strlist_add (x, &x->sectors, s); });

    /*  The author: "" is none; else one line of 1..128 bytes, copied with the message.  */
    IH_CHECK (streq (m.author, ""));
    {
        ih_msg_t a;
        ih_msg_copy (&a, &m);
        a.author = ih_msg_str (&a, "Ana M\xc3\xbcller (SOC)");
        IH_CHECK (ih_msg_validate (&a, &err) == 0);
        ih_msg_copy (&c, &a);
        IH_CHECK (c.author != a.author && streq (c.author, "Ana M\xc3\xbcller (SOC)"));
        ih_msg_free (&c);
        char big [IH_MAX_AUTHOR + 2];
        memset (big, 'a', sizeof big - 1);
        big [sizeof big - 1] = 0;
        a.author = ih_msg_str (&a, big);
        IH_CHECK (ih_msg_validate (&a, &err) == -1 && strstr (err.msg, "author: too long (129 > 128 bytes)"));
        big [IH_MAX_AUTHOR] = 0;
        a.author = ih_msg_str (&a, big);
        IH_CHECK (ih_msg_validate (&a, &err) == 0);
        ih_msg_free (&a);
    }
    S_BREAK ("author: invalid UTF-8 or control character", x->author = "Ana\nMallory");
    S_BREAK ("author: invalid UTF-8 or control character", x->author = "\x1b[31mred");
    S_BREAK ("author: invalid UTF-8 or control character", x->author = "bad \xc0\xaf");

    /*  Bidirectional embeddings, overrides and isolates: refused in every text field,
        named by field, code point and byte; the marks (U+200E, U+200F, U+061C) pass.  */
    S_BREAK ("title: U+202E (RIGHT-TO-LEFT OVERRIDE) at byte 6: bidirectional",
             x->title = "alert \xe2\x80\xaegnp.exe");
    S_BREAK ("summary: U+2067 (RIGHT-TO-LEFT ISOLATE) at byte 2", x->summary = "a\n\xe2\x81\xa7" "b");
    S_BREAK ("summary: U+202A (LEFT-TO-RIGHT EMBEDDING) at byte 0", x->summary = "\xe2\x80\xaax");
    S_BREAK ("tags[1]: U+2069 (POP DIRECTIONAL ISOLATE)", ih_msg_strlist_add (x, &x->tags, "t\xe2\x81\xa9"));
    S_BREAK ("author: U+202D (LEFT-TO-RIGHT OVERRIDE)", x->author = "\xe2\x80\xad" "Ana");
    S_BREAK ("references[1]: U+202E", ih_msg_strlist_add (x, &x->references, "https://x.example/\xe2\x80\xae"));
    S_BREAK ("iocs[1].comment: U+2066 (LEFT-TO-RIGHT ISOLATE)",
             ih_msg_ioc_add (x, IH_IOC_DOMAIN, "evil2.example", "seen \xe2\x81\xa6here", true));
    {
        ih_msg_t b;
        ih_msg_copy (&b, &m);
        b.title = ih_msg_str (&b, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe2\x80\x8f(1)\xe2\x80\x8e \xd8\x9c");
        IH_CHECK (ih_msg_validate (&b, &err) == 0);             //  Hebrew with RLM, LRM, ALM
        //  an IOC value is evidence: the file name an attacker chose keeps its override
        ih_msg_ioc_add (&b, IH_IOC_FILENAME, "invoice\xe2\x80\xae" "fdp.exe", "", true);
        IH_CHECK (ih_msg_validate (&b, &err) == 0);
        ih_msg_free (&b);
        char t [] = "a\xe2\x80\xae" "b\xe2\x81\xa9" "c\xe2\x80\x8f";
        uint32_t cp = 0;
        IH_CHECK (ih_text_find_bidi (t, &cp) == t + 1 && cp == 0x202e);
        IH_CHECK (ih_text_strip_bidi (t) == 2 && streq (t, "abc\xe2\x80\x8f"));
        IH_CHECK (!ih_text_find_bidi (t, NULL) && ih_text_is_bidi_control (0x2066)
                  && !ih_text_is_bidi_control (0x200f));
    }

    /*  Events: category event, a date tag, a place tag, the first reference.  */
    {
        ih_event_t ev;
        IH_CHECK (ih_msg_event (&m, &ev, &err) == 0 && ev.when == 0 && streq (ev.place, ""));
        ih_msg_t e;
        ih_msg_copy (&e, &m);
        e.category = IH_CAT_EVENT;
        IH_CHECK (streq (ih_category_name (IH_CAT_EVENT), "event"));
        IH_CHECK (ih_category_parse ("Event", &cat) == 0 && cat == IH_CAT_EVENT);
        IH_CHECK (ih_msg_event (&e, &ev, &err) == -1 && strstr (err.msg, "tags: an event needs a tag date:"));
        ih_msg_strlist_add (&e, &e.tags, "place:Zurich, room 4");
        ih_msg_strlist_add (&e, &e.tags, "date:2026-03-05");
        ih_msg_strlist_add (&e, &e.tags, "date:2027-01-01");        //  the first one counts
        ih_msg_strlist_add (&e, &e.references, "https://example.org/workshop");
        IH_CHECK (ih_msg_validate (&e, &err) == 0);
        IH_CHECK (ih_msg_event (&e, &ev, &err) == 1);
        IH_CHECK (ev.all_day && ev.when == 1772668800000LL);        //  2026-03-05T00:00:00Z
        //  the link is the first reference (the sample's)
        IH_CHECK (streq (ev.place, "Zurich, room 4") && streq (ev.link, "https://cert.example.net/a/1"));
        static const struct { const char *tag; int rc; int64_t when; } dates [] = {
            { "date:2026-03-05T09:30Z", 1, 1772703000000LL },
            { "date:2024-02-29", 1, 1709164800000LL },
            { "date:2026-02-29", -1, 0 },
            { "date:2026-03-05T24:00Z", -1, 0 },
            { "date:2026-03-05T09:30", -1, 0 },
            { "date:2026-03-05T09:30:00Z", -1, 0 },
            { "date:5 March", -1, 0 },
            { "date:", -1, 0 },
        };
        for (size_t i = 0; i < sizeof dates / sizeof dates [0]; i++) {
            ih_msg_t d;
            ih_msg_copy (&d, &m);
            d.category = IH_CAT_EVENT;
            ih_msg_strlist_add (&d, &d.tags, dates [i].tag);
            int rc = ih_msg_event (&d, &ev, &err);
            if (verbose && rc < 0)
                printf ("\n   %s", err.msg);
            IH_CHECK (rc == dates [i].rc && (rc < 0 || ev.when == dates [i].when));
            IH_CHECK (rc > 0 || (streq (ev.place, "") && streq (ev.link, "")));
            IH_CHECK (rc > 0 || strstr (err.msg, "tags[1]: 'date:"));
            ih_msg_free (&d);
        }
        ih_msg_free (&e);
    }

    /*  Other kinds.  */
    ih_msg_t r;
    ih_msg_init (&r, IH_KIND_RETRACTION);
    ih_uuid_new (r.id);
    memcpy (r.ref, m.id, sizeof r.ref);
    r.created = r.modified = m.created;
    r.org = "bank-a";
    r.member = "soc";
    r.text = "false positive";
    IH_CHECK (ih_msg_validate (&r, &err) == 0);
    ih_msg_ioc_add (&r, IH_IOC_IPV4, "45.77.1.2", "", false);
    IH_CHECK (ih_msg_validate (&r, &err) == 0);
    r.iocs [0].detect = true;
    IH_CHECK (ih_msg_validate (&r, &err) == -1);
    r.iocs [0].detect = false;
    r.revision = 2;
    IH_CHECK (ih_msg_validate (&r, &err) == -1 && strstr (err.msg, "rev: must be 0"));
    r.revision = 0;
    r.kind = IH_KIND_COMMENT;
    IH_CHECK (ih_msg_validate (&r, &err) == -1 && strstr (err.msg, "comment carries no IOCs"));
    r.ioc_count = 0;
    IH_CHECK (ih_msg_validate (&r, &err) == 0);
    r.text = "";
    IH_CHECK (ih_msg_validate (&r, &err) == -1 && strstr (err.msg, "text: must not be empty"));
    r.kind = IH_KIND_SIGHTING;
    r.ref [0] = 0;
    IH_CHECK (ih_msg_validate (&r, &err) == -1 && strstr (err.msg, "exactly one IOC"));
    ih_msg_ioc_add (&r, IH_IOC_DOMAIN, "evil.example.net", "", false);
    r.ioc_count = 1;
    r.iocs [0] = (ih_ioc_t) { IH_IOC_DOMAIN, "evil.example.net", "", false };
    r.count = 3;
    IH_CHECK (ih_msg_validate (&r, &err) == 0);
    r.count = 0;
    IH_CHECK (ih_msg_validate (&r, &err) == -1 && strstr (err.msg, "count:"));
    ih_msg_reset (&r, IH_KIND_COMMENT);
    IH_CHECK (r.kind == IH_KIND_COMMENT && r.ioc_count == 0 && r.revision == 0);
    ih_msg_free (&r);

    /*  Member records.  */
    ih_member_t rec = { .name = "soc", .org = "bank-a", .sector = "finance",
                        .role = IH_ROLE_PUBLISHER, .created = 1795887936123LL };
    IH_CHECK (ih_member_validate (&rec, &err) == 0);
    rec.gateway = true;
    IH_CHECK (ih_member_validate (&rec, &err) == -1);
    rec.gateway = false;
    memcpy (rec.org, "A B", 4);
    IH_CHECK (ih_member_validate (&rec, &err) == -1 && strstr (err.msg, "org:"));
    ih_msg_free (&m);

    /*  Roles: readers comment and report sightings; only publishers publish, revise and
        retract; the gateway sends nothing.  */
    ih_member_t pub = { .role = IH_ROLE_PUBLISHER }, rdr = { .role = IH_ROLE_READER };
    ih_member_t gwr = { .role = IH_ROLE_READER, .gateway = true };
    for (int k = 0; k < IH_KIND_COUNT; k++) {
        bool chat = k == IH_KIND_COMMENT || k == IH_KIND_SIGHTING;
        IH_CHECK (ih_role_may_send (&pub, (ih_kind_t) k));
        IH_CHECK (ih_role_may_send (&rdr, (ih_kind_t) k) == chat);
        IH_CHECK (!ih_role_may_send (&gwr, (ih_kind_t) k));
    }
    rdr.role = (ih_role_t) 7;
    IH_CHECK (!ih_role_may_send (&rdr, IH_KIND_COMMENT));

    /*  Entitlement: the matrix of invariant 2.  */
    ih_member_t fin = { .name = "f", .org = "bank-b", .sector = "finance" };
    ih_member_t tel = { .name = "t", .org = "telco-c", .sector = "telecom" };
    ih_member_t own = { .name = "o", .org = "bank-a", .sector = "finance" };
    ih_member_t gw = { .name = "gw", .org = "public", .gateway = true };
    const char *to_b [] = { "bank-b" };
    const char *to_fin [] = { "sector:finance" };
    ih_strlist_t none = { NULL, 0, 0 }, lb = { to_b, 1, 0 }, lf = { to_fin, 1, 0 };
    IH_CHECK (ih_strlist_has (&lb, "bank-b") && !ih_strlist_has (&lb, "bank") && !ih_strlist_has (&none, ""));
    struct { ih_tlp_t tlp; ih_strlist_t *rcpt; bool fin, tel, own, gw; } mx [] = {
        { IH_TLP_CLEAR,        &none, true,  true,  true,  true  },
        { IH_TLP_GREEN,        &none, true,  true,  true,  false },
        { IH_TLP_AMBER,        &none, true,  true,  true,  false },
        { IH_TLP_AMBER,        &lb,   true,  false, true,  false },
        { IH_TLP_AMBER,        &lf,   true,  false, true,  false },
        { IH_TLP_AMBER_STRICT, &none, false, false, true,  false },
        { IH_TLP_AMBER_STRICT, &lb,   true,  false, true,  false },
        { IH_TLP_AMBER_STRICT, &lf,   false, false, true,  false },
        { IH_TLP_RED,          &none, false, false, true,  false },
        { IH_TLP_RED,          &lb,   true,  false, true,  false },
        { IH_TLP_RED,          NULL,  false, false, true,  false },
    };
    for (size_t i = 0; i < sizeof mx / sizeof mx [0]; i++) {
        IH_CHECK (ih_entitled (&fin, mx [i].tlp, "bank-a", mx [i].rcpt) == mx [i].fin);
        IH_CHECK (ih_entitled (&tel, mx [i].tlp, "bank-a", mx [i].rcpt) == mx [i].tel);
        IH_CHECK (ih_entitled (&own, mx [i].tlp, "bank-a", mx [i].rcpt) == mx [i].own);
        IH_CHECK (ih_entitled (&gw, mx [i].tlp, "bank-a", mx [i].rcpt) == mx [i].gw);
    }
    IH_CHECK (!ih_entitled (&fin, (ih_tlp_t) 9, "bank-a", &none));

    /*  Revisions never narrow entitlement: old -> new, and whether it is allowed.  */
    const char *to_bc [] = { "bank-b", "telco-c" };
    const char *to_c [] = { "telco-c" };
    const char *to_bf [] = { "bank-b", "sector:finance" };
    ih_strlist_t lbc = { to_bc, 2, 0 }, lc = { to_c, 1, 0 }, lbf = { to_bf, 2, 0 };
    struct { ih_tlp_t o; ih_strlist_t *orc; ih_tlp_t n; ih_strlist_t *nrc; bool ok; } wx [] = {
        { IH_TLP_CLEAR,        &none, IH_TLP_CLEAR,        &none, true  },
        { IH_TLP_CLEAR,        &none, IH_TLP_GREEN,        &none, false },   //  the gateway loses it
        { IH_TLP_CLEAR,        &none, IH_TLP_RED,          &lb,   false },
        { IH_TLP_GREEN,        &none, IH_TLP_CLEAR,        &none, true  },
        { IH_TLP_GREEN,        &none, IH_TLP_AMBER,        &none, false },
        { IH_TLP_AMBER,        &none, IH_TLP_AMBER,        &none, true  },
        { IH_TLP_AMBER,        &none, IH_TLP_GREEN,        &none, true  },
        { IH_TLP_AMBER,        &none, IH_TLP_AMBER,        &lb,   false },   //  everyone -> a list
        { IH_TLP_AMBER,        &lb,   IH_TLP_AMBER,        &lbc,  true  },
        { IH_TLP_AMBER,        &lb,   IH_TLP_AMBER,        NULL,  true  },
        { IH_TLP_AMBER,        &lbc,  IH_TLP_AMBER,        &lb,   false },   //  telco-c dropped
        { IH_TLP_AMBER,        &lb,   IH_TLP_AMBER,        &lc,   false },
        { IH_TLP_AMBER,        &lf,   IH_TLP_AMBER,        &lbf,  true  },
        { IH_TLP_AMBER,        &lf,   IH_TLP_AMBER,        &lb,   false },   //  sector dropped
        { IH_TLP_AMBER,        &lb,   IH_TLP_AMBER_STRICT, &lb,   false },
        { IH_TLP_AMBER_STRICT, &lb,   IH_TLP_AMBER_STRICT, &lbc,  true  },
        { IH_TLP_AMBER_STRICT, &none, IH_TLP_AMBER_STRICT, &lb,   true  },   //  own org only -> more
        { IH_TLP_AMBER_STRICT, &lbc,  IH_TLP_AMBER_STRICT, &lc,   false },
        { IH_TLP_AMBER_STRICT, &lb,   IH_TLP_AMBER,        &lb,   true  },
        { IH_TLP_AMBER_STRICT, &lb,   IH_TLP_AMBER,        &lc,   false },
        { IH_TLP_AMBER_STRICT, &lb,   IH_TLP_RED,          &lbc,  false },
        { IH_TLP_RED,          &lb,   IH_TLP_RED,          &lb,   true  },
        { IH_TLP_RED,          &none, IH_TLP_RED,          &none, true  },
        { IH_TLP_RED,          &lbc,  IH_TLP_RED,          &lb,   false },
        { IH_TLP_RED,          &lb,   IH_TLP_AMBER_STRICT, &lbc,  true  },
        { IH_TLP_RED,          &lb,   IH_TLP_AMBER,        &lbf,  true  },
        { IH_TLP_RED,          &lb,   IH_TLP_CLEAR,        &none, true  },
        { IH_TLP_RED,          NULL,  IH_TLP_AMBER,        NULL,  true  },
        { (ih_tlp_t) 9,        &none, IH_TLP_CLEAR,        &none, false },
        { IH_TLP_CLEAR,        &none, (ih_tlp_t) 9,        &none, false },
    };
    for (size_t i = 0; i < sizeof wx / sizeof wx [0]; i++) {
        bool ok = ih_entitlement_widens (wx [i].o, wx [i].orc, wx [i].n, wx [i].nrc);
        if (verbose || ok != wx [i].ok)
            printf ("  widens %zu: %d -> %d: %s\n", i, (int) wx [i].o, (int) wx [i].n,
                    ok ? "yes" : "no");
        IH_CHECK (ok == wx [i].ok);
        //  the rule agrees with ih_entitled: whoever had the old one has the new one
        if (ok && (unsigned) wx [i].o <= IH_TLP_RED) {
            const ih_member_t *who [] = { &fin, &tel, &own, &gw };
            for (size_t w = 0; w < 4; w++)
                IH_CHECK (!ih_entitled (who [w], wx [i].o, "bank-a", wx [i].orc)
                          || ih_entitled (who [w], wx [i].n, "bank-a", wx [i].nrc));
        }
    }

    /*  Error messages quote what a client sent without control bytes.  */
    ih_msg_t qm;
    s_sample (&qm);
    ih_msg_strlist_add (&qm, &qm.recipients, "x\n\x1b[2Jy");
    IH_CHECK (ih_msg_validate (&qm, &err) == -1);
    IH_CHECK (strstr (err.msg, "recipients[1]: not a valid org id 'x\\x0a\\x1b[2Jy'"));
    IH_CHECK (!strchr (err.msg, '\n') && !strchr (err.msg, 0x1b));
    ih_msg_free (&qm);
    s_sample (&qm);
    ih_msg_strlist_add (&qm, &qm.references, "https://a.example/\x7f\\");
    IH_CHECK (ih_msg_validate (&qm, &err) == -1);
    IH_CHECK (strstr (err.msg, "'https://a.example/\\x7f\\x5c'"));
    ih_msg_free (&qm);
}
#endif
