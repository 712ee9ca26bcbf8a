/*  ih_import.c: STIX 2.1, MISP, CSV and free text into alert drafts (ih_import.h).

    Read top to bottom: the report and the drafts (every value goes through s_draft_ioc,
    the one place that validates, deduplicates and splits at IH_MAX_IOCS), then one
    reader per format (free text through ih_extract), the public entry point, the self-test.
    The command line is in ih_import_cmd.c (public API only).
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>

#include "ih_extract.h"
#include "ih_import.h"
#include "ih_ioc.h"
#include "ih_json.h"

/*  One import in progress. */
typedef struct {
    const ih_import_opts_t *opts;
    ih_import_report_t *rep;
    ih_import_alert_fn *fn;
    void *arg;
    ih_err_t *err;
    const char *format;
    zhashx_t *seen;             /* "draft uid|type|value": IOCs already in a draft */
    uint64_t uids;
    bool stopped;
} s_imp_t;

/*  An alert being built. */
typedef struct {
    ih_msg_t m;
    int tlp;                    /* most restrictive seen; -1 = none */
    uint32_t part;
    uint64_t uid;               /* dedup scope: an IOC once per draft, whatever the part */
    char title [IH_MAX_TITLE + 1];
} s_draft_t;

static void s_draft_title (s_draft_t *d, const char *title);

static const char *s_format_names [IH_IMPORT_FORMATS] = { "stix21", "misp", "csv", "text" };

const char *
ih_import_format_name (ih_import_format_t f)
{
    return (int) f >= 0 && f < IH_IMPORT_FORMATS ? s_format_names [f] : NULL;
}

int
ih_import_format_parse (const char *s, ih_import_format_t *f)
{
    for (int i = 0; s && i < IH_IMPORT_FORMATS; i++)
        if (streq (s, s_format_names [i])) {
            *f = (ih_import_format_t) i;
            return 0;
        }
    return -1;
}

void
ih_import_opts_init (ih_import_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->tlp = -1;
    opts->severity = IH_SEV_MEDIUM;
    opts->category = IH_CAT_OTHER;
}

/* ---- the report ------------------------------------------------------------------------- */

static void
s_imp_skip (s_imp_t *imp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_imp_skip (s_imp_t *imp, const char *fmt, ...)
{
    char what [64];
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    ih_import_report_t *r = imp->rep;
    int i = 0;
    for (; i < IH_IMPORT_KINDS - 1; i++) {
        if (r->skipped [i].count == 0) {
            snprintf (r->skipped [i].what, sizeof r->skipped [i].what, "%s", what);
            break;
        }
        if (streq (r->skipped [i].what, what))
            break;
    }
    if (i == IH_IMPORT_KINDS - 1)
        snprintf (r->skipped [i].what, sizeof r->skipped [i].what, "other");
    r->skipped [i].count++;
}

void
ih_import_report_text (const ih_import_report_t *r, char *out, size_t outsz)
{
    size_t o = 0;
    out [0] = 0;
    for (int i = 0; i < IH_IMPORT_KINDS && r->skipped [i].count && o + 1 < outsz; i++)
        o += (size_t) snprintf (out + o, outsz - o, "%s%" PRIu64 " %s", i ? ", " : "",
                                r->skipped [i].count, r->skipped [i].what);
    if (r->invalid && o + 1 < outsz)
        o += (size_t) snprintf (out + o, outsz - o, "%s%" PRIu64 " invalid value%s (first: %s)",
                                o ? "; " : "", r->invalid, r->invalid > 1 ? "s" : "", r->first_invalid);
    if (r->duplicates && o + 1 < outsz)
        snprintf (out + o, outsz - o, "%s%" PRIu64 " duplicate IOC%s kept once", o ? "; " : "",
                  r->duplicates, r->duplicates > 1 ? "s" : "");
}

/* ---- text helpers ----------------------------------------------------------------------- */

/*  Copies s into out (outsz >= max + 4): at most max bytes cut at a UTF-8 boundary; bytes
    that are not valid UTF-8 become '?'; control characters become spaces, except \n
    and \t when multiline (\r is dropped). */
static void
s_clean_text (const char *s, size_t len, size_t max, bool multiline, char *out, size_t outsz)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end && *p) {
        unsigned char c = *p;
        size_t n = 1;
        if (c >= 0x80) {
            n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            bool ok = n >= 2 && p + n <= end;
            for (size_t i = 1; ok && i < n; i++)
                ok = (p [i] & 0xc0) == 0x80;
            if (ok && n == 2 && c < 0xc2)
                ok = false;
            if (ok && n == 3 && ((c == 0xe0 && p [1] < 0xa0) || (c == 0xed && p [1] >= 0xa0)))
                ok = false;
            if (ok && n == 4 && ((c == 0xf0 && p [1] < 0x90) || c > 0xf4 || (c == 0xf4 && p [1] >= 0x90)))
                ok = false;
            if (!ok) {
                if (o + 1 > max || o + 1 >= outsz)
                    break;
                out [o++] = '?';
                p++;
                continue;
            }
            if (o + n > max || o + n >= outsz)
                break;
            memcpy (out + o, p, n);
            o += n;
            p += n;
            continue;
        }
        p++;
        if (c == '\r' && multiline)
            continue;
        if (c < 0x20 || c == 0x7f)
            c = (multiline && (c == '\n' || c == '\t')) ? c : ' ';
        if (o + 1 > max || o + 1 >= outsz)
            break;
        out [o++] = (char) c;
    }
    //  No trailing blanks (a title of "x  " reads as "x").
    while (o && (out [o - 1] == ' ' || out [o - 1] == '\n' || out [o - 1] == '\t'))
        o--;
    out [o] = 0;
}

/* ---- drafts ----------------------------------------------------------------------------- */

static void
s_draft_init (s_imp_t *imp, s_draft_t *d, const char *title)
{
    memset (d, 0, sizeof *d);
    ih_msg_init (&d->m, IH_KIND_ALERT);
    d->m.severity = imp->opts->severity;
    d->m.category = imp->opts->category;
    d->tlp = -1;
    d->part = 1;
    d->uid = ++imp->uids;
    s_draft_title (d, title);
}

static void
s_draft_free (s_draft_t *d)
{
    ih_msg_free (&d->m);
    memset (d, 0, sizeof *d);
}

static void
s_draft_title (s_draft_t *d, const char *title)
{
    s_clean_text (title ? title : "", title ? strlen (title) : 0, IH_MAX_TITLE - 16, false, d->title,
                  sizeof d->title);
    if (!d->title [0])
        snprintf (d->title, sizeof d->title, "Imported alert");
    d->m.title = ih_msg_str (&d->m, d->title);
}

static void
s_draft_summary (s_draft_t *d, const char *text, size_t len)
{
    char *buf = (char *) malloc (IH_MAX_SUMMARY + 8);
    if (!buf)
        abort ();
    s_clean_text (text, len, IH_MAX_SUMMARY, true, buf, IH_MAX_SUMMARY + 8);
    d->m.summary = ih_msg_str (&d->m, buf);
    free (buf);
}

static void
s_draft_tlp (s_draft_t *d, int tlp)
{
    if (tlp >= 0 && tlp > d->tlp)
        d->tlp = tlp;
}

static bool
s_list_has (const ih_strlist_t *l, const char *s)
{
    for (uint32_t i = 0; i < l->count; i++)
        if (streq (l->items [i], s))
            return true;
    return false;
}

static void
s_draft_tag (s_imp_t *imp, s_draft_t *d, const char *tag)
{
    char t [IH_MAX_SHORT + 8];
    size_t n = strlen (tag);
    if (n > IH_MAX_SHORT) {
        s_imp_skip (imp, "tag longer than %d bytes", IH_MAX_SHORT);
        return;
    }
    s_clean_text (tag, n, IH_MAX_SHORT, false, t, sizeof t);
    if (!t [0] || s_list_has (&d->m.tags, t))
        return;
    if (d->m.tags.count == IH_MAX_LIST) {
        s_imp_skip (imp, "tag beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.tags, t);
}

static void
s_draft_sector (s_imp_t *imp, s_draft_t *d, const char *sector)
{
    if (!ih_slug_valid (sector, IH_MAX_SHORT)) {
        s_imp_skip (imp, "sector that is not a slug");
        return;
    }
    if (s_list_has (&d->m.sectors, sector))
        return;
    if (d->m.sectors.count == IH_MAX_LIST) {
        s_imp_skip (imp, "sector beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.sectors, sector);
}

static void
s_draft_reference (s_imp_t *imp, s_draft_t *d, const char *url)
{
    size_t n = strlen (url);
    bool ok = n > 8 && n <= IH_MAX_REF && (strncmp (url, "https://", 8) == 0 || strncmp (url, "http://", 7) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char) url [i] > 0x20 && url [i] != 0x7f;
    if (!ok) {
        s_imp_skip (imp, "reference that is not an http(s) URL");
        return;
    }
    if (s_list_has (&d->m.references, url))
        return;
    if (d->m.references.count == IH_MAX_LIST) {
        s_imp_skip (imp, "reference beyond %d", IH_MAX_LIST);
        return;
    }
    ih_msg_strlist_add (&d->m, &d->m.references, url);
}

/*  Validates and hands the draft over; with `more`, the same draft then continues as
    the next part (its IOCs emptied). */
static int
s_draft_emit (s_imp_t *imp, s_draft_t *d, bool more)
{
    if (imp->stopped)
        return -1;
    ih_msg_t *m = &d->m;
    int tlp = d->tlp >= 0 ? d->tlp : imp->opts->tlp;
    if (tlp < 0) {
        imp->stopped = true;
        return ih_err_set (imp->err, "%s: '%.60s': no TLP in the input: give --tlp", imp->format,
                           d->title);
    }
    m->tlp = (ih_tlp_t) tlp;
    if (more || d->part > 1) {
        char title [IH_MAX_TITLE + 1];
        ih_fmt (title, sizeof title, "%s (part %u)", d->title, d->part);
        m->title = ih_msg_str (m, title);
    }
    //  Validate as it will be published: the publisher fills id, org, member and times.
    ih_uuid_new (m->id);
    m->org = m->member = "import";
    m->created = m->modified = ih_now_ms ();
    ih_err_t verr = { "" };
    int rc = ih_msg_validate (m, &verr);
    m->id [0] = 0;
    m->org = m->member = "";
    m->created = m->modified = 0;
    if (rc != 0) {
        imp->stopped = true;
        return ih_err_set (imp->err, "%s: '%.60s': %s", imp->format, d->title, verr.msg);
    }
    if (imp->fn (m, imp->arg) != 0) {
        imp->stopped = true;
        return ih_err_set (imp->err, "stopped after %" PRIu64 " alert%s", imp->rep->alerts,
                           imp->rep->alerts == 1 ? "" : "s");
    }
    imp->rep->alerts++;
    imp->rep->iocs += m->ioc_count;
    if (more) {
        d->part++;
        m->ioc_count = 0;           //  the arena keeps the rest: fine for one import
        m->title = ih_msg_str (m, d->title);
    }
    return 0;
}

/*  Adds an IOC given as written in the input (refanged, validated, normalised). */
static int
s_draft_ioc (s_imp_t *imp, s_draft_t *d, ih_ioc_type_t t, const char *raw, const char *comment, bool detect)
{
    char norm [IH_MAX_IOC_VALUE + 1];
    ih_err_t verr = { "" };
    if (ih_ioc_normalise (t, raw, norm, sizeof norm, &verr) != 0) {
        if (imp->rep->invalid++ == 0)
            ih_fmt (imp->rep->first_invalid, sizeof imp->rep->first_invalid, "%s", verr.msg);
        return 0;
    }
    char key [IH_MAX_IOC_VALUE + 64];
    snprintf (key, sizeof key, "%" PRIu64 "|%d|%s", d->uid, (int) t, norm);
    if (zhashx_lookup (imp->seen, key)) {
        imp->rep->duplicates++;
        return 0;
    }
    if (d->m.ioc_count == IH_MAX_IOCS && s_draft_emit (imp, d, true) != 0)
        return -1;
    zhashx_insert (imp->seen, key, (void *) 1);
    char c [IH_MAX_IOC_COMMENT + 8];
    s_clean_text (comment ? comment : "", comment ? strlen (comment) : 0, IH_MAX_IOC_COMMENT, false, c, sizeof c);
    ih_msg_ioc_add (&d->m, t, norm, c, detect);
    return 0;
}

/*  MISP-style and our own type names to our types ("ip-dst" -> ipv4/ipv6/cidr by the
    value). Returns 0, or -1 for a name that is no IOC type of ours. */
static int
s_type_for (const char *name, const char *value, ih_ioc_type_t *t)
{
    if (ih_ioc_type_parse (name, t) == 0)
        return 0;
    char low [40];
    snprintf (low, sizeof low, "%s", name);
    for (char *p = low; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
    if (streq (low, "ip-dst") || streq (low, "ip-src") || streq (low, "ip") || streq (low, "ip-address")) {
        *t = strchr (value, '/') ? IH_IOC_CIDR : strchr (value, ':') ? IH_IOC_IPV6 : IH_IOC_IPV4;
        return 0;
    }
    static const struct { const char *name; ih_ioc_type_t t; } map [] = {
        { "hostname", IH_IOC_DOMAIN }, { "domain-name", IH_IOC_DOMAIN }, { "fqdn", IH_IOC_DOMAIN },
        { "uri", IH_IOC_URL }, { "link", IH_IOC_URL }, { "email-src", IH_IOC_EMAIL },
        { "email-dst", IH_IOC_EMAIL }, { "email-addr", IH_IOC_EMAIL }, { "as", IH_IOC_ASN },
        { "vulnerability", IH_IOC_CVE }, { "sha-1", IH_IOC_SHA1 }, { "sha-256", IH_IOC_SHA256 },
        { "file", IH_IOC_FILENAME }, { "file-name", IH_IOC_FILENAME }, { NULL, IH_IOC_IPV4 }
    };
    for (int i = 0; map [i].name; i++)
        if (streq (low, map [i].name)) {
            *t = map [i].t;
            return 0;
        }
    return -1;
}

/* ---- stix 2.1 --------------------------------------------------------------------------- */

static const struct { const char *id; ih_tlp_t tlp; } s_stix_tlp [] = {
    { "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", IH_TLP_CLEAR },
    { "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", IH_TLP_GREEN },
    { "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", IH_TLP_AMBER },
    { "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", IH_TLP_AMBER_STRICT },
    { "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", IH_TLP_RED },
    //  TLP 1.0 (STIX 2.1 section 7.2.1.4)
    { "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", IH_TLP_CLEAR },
    { "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", IH_TLP_GREEN },
    { "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", IH_TLP_AMBER },
    { "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", IH_TLP_RED },
    { NULL, IH_TLP_CLEAR }
};

typedef struct {
    s_imp_t *imp;
    zhashx_t *byid;             /* id -> json_t * (borrowed from the document) */
    zhashx_t *tlp;              /* marking id -> tlp + 1 */
    zhashx_t *used;             /* indicator/vulnerability ids a report refers to */
} s_stix_t;

/*  A marking-definition object's TLP, if it is one: TLP 2.0 extension, TLP 1.0
    definition, or a name "TLP:X". -1 otherwise. */
static int
s_stix_marking_tlp (json_t *o)
{
    ih_tlp_t t;
    json_t *ext;
    const char *key;
    json_object_foreach (json_object_get (o, "extensions"), key, ext) {
        const char *v = json_string_value (json_object_get (ext, "tlp_2_0"));
        if (v && ih_tlp_parse (v, &t) == 0)
            return (int) t;
    }
    const char *v = json_string_value (json_object_get (json_object_get (o, "definition"), "tlp"));
    if (v && ih_tlp_parse (v, &t) == 0)
        return (int) t;
    const char *name = json_string_value (json_object_get (o, "name"));
    if (name && strncasecmp (name, "TLP:", 4) == 0 && ih_tlp_parse (name + 4, &t) == 0)
        return (int) t;
    return -1;
}

/*  The most restrictive TLP among an object's object_marking_refs; -1 when none. */
static int
s_stix_tlp_of (s_stix_t *s, json_t *o)
{
    int best = -1;
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get (o, "object_marking_refs"), i, r) {
        const char *id = json_string_value (r);
        if (!id)
            continue;
        int t = -1;
        for (int k = 0; s_stix_tlp [k].id && t < 0; k++)
            if (streq (s_stix_tlp [k].id, id))
                t = (int) s_stix_tlp [k].tlp;
        if (t < 0) {
            uintptr_t v = (uintptr_t) zhashx_lookup (s->tlp, id);
            t = v ? (int) v - 1 : -1;
        }
        if (t > best)
            best = t;
    }
    return best;
}

/*  A pattern tokenizer: enough of the STIX patterning grammar to accept comparisons with
    '=' joined by OR, and to recognise anything else as something we do not import. */
typedef enum { s_T_END, s_T_OPEN, s_T_CLOSE, s_T_PATH, s_T_STR, s_T_NUM, s_T_EQ, s_T_OR, s_T_OTHER } s_tok_t;

static s_tok_t
s_pat_next (const char **pp, char *text, size_t textsz)
{
    const char *p = *pp;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    text [0] = 0;
    s_tok_t tok = s_T_OTHER;
    if (!*p)
        tok = s_T_END;
    else
    if (*p == '[' || *p == '(') {
        tok = s_T_OPEN;
        p++;
    }
    else
    if (*p == ']' || *p == ')') {
        tok = s_T_CLOSE;
        p++;
    }
    else
    if (*p == '=') {
        tok = s_T_EQ;
        p++;
    }
    else
    if (*p == '\'') {
        size_t o = 0;
        p++;
        tok = s_T_OTHER;
        while (*p) {
            if (*p == '\\' && (p [1] == '\'' || p [1] == '\\'))
                p++;
            else
            if (*p == '\'') {
                tok = s_T_STR;
                p++;
                break;
            }
            if (o + 1 < textsz)
                text [o++] = *p;
            p++;
        }
        text [o] = 0;
    }
    else
    if (isdigit ((unsigned char) *p)) {
        size_t o = 0;
        while (isdigit ((unsigned char) *p)) {
            if (o + 1 < textsz)
                text [o++] = *p;
            p++;
        }
        text [o] = 0;
        tok = s_T_NUM;
    }
    else
    if (isalpha ((unsigned char) *p)) {
        size_t o = 0;
        while (*p && (isalnum ((unsigned char) *p) || strchr ("_-:.'", *p))) {
            if (*p == '\'') {
                //  a quoted path segment: file:hashes.'SHA-256'
                if (o + 1 < textsz)
                    text [o++] = *p;
                p++;
                while (*p && *p != '\'') {
                    if (o + 1 < textsz)
                        text [o++] = *p;
                    p++;
                }
                if (!*p)
                    break;
            }
            if (o + 1 < textsz)
                text [o++] = *p;
            p++;
        }
        text [o] = 0;
        tok = streq (text, "OR") ? s_T_OR : strchr (text, ':') ? s_T_PATH : s_T_OTHER;
    }
    else
        p++;
    *pp = p;
    return tok;
}

/*  An object path of a pattern to our IOC type; -1 when we have none. */
static int
s_stix_path_type (const char *path, const char *value, ih_ioc_type_t *t)
{
    if (streq (path, "ipv4-addr:value") || streq (path, "ipv6-addr:value")) {
        *t = strchr (value, '/') ? IH_IOC_CIDR : path [3] == '6' ? IH_IOC_IPV6 : IH_IOC_IPV4;
        return 0;
    }
    static const struct { const char *path; ih_ioc_type_t t; } map [] = {
        { "domain-name:value", IH_IOC_DOMAIN }, { "url:value", IH_IOC_URL },
        { "email-addr:value", IH_IOC_EMAIL }, { "email-message:from_ref.value", IH_IOC_EMAIL },
        { "email-message:sender_ref.value", IH_IOC_EMAIL }, { "file:name", IH_IOC_FILENAME },
        { "autonomous-system:number", IH_IOC_ASN }, { NULL, IH_IOC_IPV4 }
    };
    for (int i = 0; map [i].path; i++)
        if (streq (path, map [i].path)) {
            *t = map [i].t;
            return 0;
        }
    if (strncmp (path, "file:hashes.", 12) == 0) {
        char h [32];
        size_t o = 0;
        for (const char *p = path + 12; *p && o + 1 < sizeof h; p++)
            if (*p != '\'' && *p != '-')
                h [o++] = (char) toupper ((unsigned char) *p);
        h [o] = 0;
        if (streq (h, "MD5")) { *t = IH_IOC_MD5; return 0; }
        if (streq (h, "SHA1")) { *t = IH_IOC_SHA1; return 0; }
        if (streq (h, "SHA256")) { *t = IH_IOC_SHA256; return 0; }
    }
    return -1;
}

/*  Adds the IOCs of an indicator's pattern to d. */
static int
s_stix_indicator (s_stix_t *s, s_draft_t *d, json_t *ind)
{
    s_imp_t *imp = s->imp;
    const char *pattern = json_string_value (json_object_get (ind, "pattern"));
    const char *ptype = json_string_value (json_object_get (ind, "pattern_type"));
    if (ptype && !streq (ptype, "stix")) {
        s_imp_skip (imp, "indicator with pattern_type %.24s", ptype);
        return 0;
    }
    if (!pattern) {
        s_imp_skip (imp, "indicator without a pattern");
        return 0;
    }
    const char *desc = json_string_value (json_object_get (ind, "description"));
    json_t *det = json_object_get (ind, "x_infohub_detect");
    bool detect = json_is_boolean (det) ? json_is_true (det) : true;
    s_draft_tlp (d, s_stix_tlp_of (s, ind));

    //  First pass: is it only comparisons with '=' joined by OR?
    char text [IH_MAX_IOC_VALUE + 64], path [128];
    const char *p = pattern;
    bool simple = true;
    int state = 0;      //  0 expect path, 1 expect '=', 2 expect value, 3 expect OR or end
    for (s_tok_t t = s_pat_next (&p, text, sizeof text); t != s_T_END && simple;
         t = s_pat_next (&p, text, sizeof text)) {
        if (t == s_T_OPEN || t == s_T_CLOSE)
            continue;
        if (state == 0 && t == s_T_PATH) state = 1;
        else
        if (state == 1 && t == s_T_EQ) state = 2;
        else
        if (state == 2 && (t == s_T_STR || t == s_T_NUM)) state = 3;
        else
        if (state == 3 && t == s_T_OR) state = 0;
        else
            simple = false;
    }
    if (!simple || state != 3) {
        s_imp_skip (imp, "indicator with a pattern other than '=' and OR");
        return 0;
    }
    p = pattern;
    for (s_tok_t t = s_pat_next (&p, text, sizeof text); t != s_T_END; t = s_pat_next (&p, text, sizeof text)) {
        if (t == s_T_PATH)
            if (!ih_fmt (path, sizeof path, "%s", text))
                path [0] = 0;       //  longer than any path we know: unsupported
        if (t != s_T_STR && t != s_T_NUM)
            continue;
        ih_ioc_type_t ty;
        if (s_stix_path_type (path, text, &ty) != 0) {
            s_imp_skip (imp, "pattern on %.40s", path);
            continue;
        }
        if ((ty == IH_IOC_ASN) != (t == s_T_NUM)) {
            s_imp_skip (imp, "pattern on %.40s with a %s", path, t == s_T_NUM ? "number" : "string");
            continue;
        }
        if (s_draft_ioc (imp, d, ty, text, desc, detect) != 0)
            return -1;
    }
    return 0;
}

static int
s_stix_vulnerability (s_stix_t *s, s_draft_t *d, json_t *v)
{
    const char *cve = NULL;
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get (v, "external_references"), i, r) {
        const char *src = json_string_value (json_object_get (r, "source_name"));
        if (src && strcasecmp (src, "cve") == 0)
            cve = json_string_value (json_object_get (r, "external_id"));
    }
    if (!cve)
        cve = json_string_value (json_object_get (v, "name"));
    if (!cve || strncasecmp (cve, "CVE-", 4) != 0) {
        s_imp_skip (s->imp, "vulnerability without a CVE id");
        return 0;
    }
    json_t *det = json_object_get (v, "x_infohub_detect");
    s_draft_tlp (d, s_stix_tlp_of (s, v));
    return s_draft_ioc (s->imp, d, IH_IOC_CVE, cve, json_string_value (json_object_get (v, "description")),
                        json_is_boolean (det) ? json_is_true (det) : true);
}

static int
s_stix_report (s_stix_t *s, json_t *rep)
{
    s_imp_t *imp = s->imp;
    const char *name = json_string_value (json_object_get (rep, "name"));
    s_draft_t d;
    s_draft_init (imp, &d, name ? name : imp->opts->title);
    const char *desc = json_string_value (json_object_get (rep, "description"));
    if (desc)
        s_draft_summary (&d, desc, strlen (desc));
    s_draft_tlp (&d, s_stix_tlp_of (s, rep));
    ih_severity_t sev;
    ih_category_t cat;
    const char *v = json_string_value (json_object_get (rep, "x_infohub_severity"));
    if (v && ih_severity_parse (v, &sev) == 0)
        d.m.severity = sev;
    v = json_string_value (json_object_get (rep, "x_infohub_category"));
    if (v && ih_category_parse (v, &cat) == 0)
        d.m.category = cat;
    else {
        size_t i;
        json_t *rt;
        json_array_foreach (json_object_get (rep, "report_types"), i, rt)
            if (json_string_value (rt) && streq (json_string_value (rt), "vulnerability"))
                d.m.category = IH_CAT_VULNERABILITY;
    }
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get (rep, "x_infohub_sectors"), i, x)
        if (json_string_value (x))
            s_draft_sector (imp, &d, json_string_value (x));
    json_array_foreach (json_object_get (rep, "labels"), i, x)
        if (json_string_value (x))
            s_draft_tag (imp, &d, json_string_value (x));
    json_array_foreach (json_object_get (rep, "external_references"), i, x) {
        const char *url = json_string_value (json_object_get (x, "url"));
        if (url)
            s_draft_reference (imp, &d, url);
    }
    int rc = 0;
    json_array_foreach (json_object_get (rep, "object_refs"), i, x) {
        const char *id = json_string_value (x);
        json_t *o = id ? (json_t *) zhashx_lookup (s->byid, id) : NULL;
        if (!o) {
            if (id && strncmp (id, "identity--", 10) != 0)
                s_imp_skip (imp, "report reference to an object not in the input");
            continue;
        }
        const char *type = json_string_value (json_object_get (o, "type"));
        if (streq (type, "indicator"))
            rc = s_stix_indicator (s, &d, o);
        else
        if (streq (type, "vulnerability"))
            rc = s_stix_vulnerability (s, &d, o);
        else
            continue;       //  counted once, where the object itself is
        zhashx_insert (s->used, id, (void *) 1);
        if (rc)
            break;
    }
    if (rc == 0)
        rc = s_draft_emit (imp, &d, false);
    s_draft_free (&d);
    return rc;
}

static int
s_import_stix (s_imp_t *imp, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return ih_err_set (imp->err, "stix21: not JSON: %s (line %d)", jerr.text, jerr.line);
    json_t *objects = json_is_array (doc) ? doc : json_object_get (doc, "objects");
    json_t *single = NULL;
    if (!objects && json_is_object (doc) && json_object_get (doc, "type")) {
        single = json_array ();
        json_array_append (single, doc);
        objects = single;
    }
    if (!json_is_array (objects)) {
        json_decref (doc);
        return ih_err_set (imp->err, "stix21: expected a bundle, an envelope or an array of objects");
    }
    s_stix_t s = { imp, zhashx_new (), zhashx_new (), zhashx_new () };
    if (!s.byid || !s.tlp || !s.used)
        abort ();
    size_t i;
    json_t *o;
    json_array_foreach (objects, i, o) {
        const char *id = json_string_value (json_object_get (o, "id"));
        const char *type = json_string_value (json_object_get (o, "type"));
        if (!id || !type)
            continue;
        zhashx_insert (s.byid, id, o);
        if (streq (type, "marking-definition")) {
            int t = s_stix_marking_tlp (o);
            if (t >= 0)
                zhashx_insert (s.tlp, id, (void *) (uintptr_t) (t + 1));
        }
    }
    int rc = 0;
    json_array_foreach (objects, i, o) {
        const char *type = json_string_value (json_object_get (o, "type"));
        if (!type) {
            s_imp_skip (imp, "object without a type");
            continue;
        }
        if (streq (type, "report"))
            rc = s_stix_report (&s, o);
        else
        if (!streq (type, "indicator") && !streq (type, "vulnerability") && !streq (type, "identity")
        &&  !streq (type, "marking-definition"))
            s_imp_skip (imp, "%.40s", type);
        if (rc)
            break;
    }
    //  Indicators and vulnerabilities of no report: one alert per TLP (and one unmarked).
    s_draft_t loose [IH_TLP_COUNT + 1];
    bool open [IH_TLP_COUNT + 1] = { false };
    json_array_foreach (objects, i, o) {
        if (rc)
            break;
        const char *type = json_string_value (json_object_get (o, "type"));
        const char *id = json_string_value (json_object_get (o, "id"));
        if (!type || (!streq (type, "indicator") && !streq (type, "vulnerability"))
        ||  (id && zhashx_lookup (s.used, id)))
            continue;
        int t = s_stix_tlp_of (&s, o);
        int slot = t < 0 ? IH_TLP_COUNT : t;
        if (!open [slot]) {
            char title [IH_MAX_TITLE];
            snprintf (title, sizeof title, "STIX indicators from %s",
                      imp->opts->source ? imp->opts->source : "an import");
            s_draft_init (imp, &loose [slot], imp->opts->title ? imp->opts->title : title);
            open [slot] = true;
        }
        rc = streq (type, "indicator") ? s_stix_indicator (&s, &loose [slot], o)
                                       : s_stix_vulnerability (&s, &loose [slot], o);
    }
    for (int k = 0; k <= IH_TLP_COUNT; k++)
        if (open [k]) {
            if (rc == 0)
                rc = s_draft_emit (imp, &loose [k], false);
            s_draft_free (&loose [k]);
        }
    zhashx_destroy (&s.byid);
    zhashx_destroy (&s.tlp);
    zhashx_destroy (&s.used);
    json_decref (single);
    json_decref (doc);
    return rc;
}

/* ---- misp --------------------------------------------------------------------------------- */

/*  Tags of an event: TLP, infohub:key="value" machine tags, the rest as tags. */
static void
s_misp_tags (s_imp_t *imp, s_draft_t *d, json_t *tags)
{
    size_t i;
    json_t *t;
    json_array_foreach (tags, i, t) {
        const char *name = json_string_value (json_object_get (t, "name"));
        if (!name)
            continue;
        ih_tlp_t tlp;
        if (strncasecmp (name, "tlp:", 4) == 0 && ih_tlp_parse (name + 4, &tlp) == 0) {
            s_draft_tlp (d, (int) tlp);
            continue;
        }
        if (strncmp (name, "infohub:", 8) == 0) {
            char key [32], value [IH_MAX_SHORT + 1];
            const char *eq = strchr (name, '=');
            size_t kl = eq ? (size_t) (eq - name - 8) : 0;
            size_t vl = eq ? strlen (eq + 1) : 0;
            if (eq && kl < sizeof key && vl >= 2 && vl - 2 < sizeof value && eq [1] == '"' && eq [vl] == '"') {
                memcpy (key, name + 8, kl);
                key [kl] = 0;
                memcpy (value, eq + 2, vl - 2);
                value [vl - 2] = 0;
                ih_severity_t sev;
                ih_category_t cat;
                if (streq (key, "severity") && ih_severity_parse (value, &sev) == 0)
                    d->m.severity = sev;
                else
                if (streq (key, "category") && ih_category_parse (value, &cat) == 0)
                    d->m.category = cat;
                else
                if (streq (key, "sector"))
                    s_draft_sector (imp, d, value);
                else
                    s_draft_tag (imp, d, name);
                continue;
            }
        }
        s_draft_tag (imp, d, name);
    }
}

static int
s_misp_attribute (s_imp_t *imp, s_draft_t *d, json_t *a)
{
    const char *type = json_string_value (json_object_get (a, "type"));
    const char *value = json_string_value (json_object_get (a, "value"));
    if (!type || !value) {
        s_imp_skip (imp, "MISP attribute without type or value");
        return 0;
    }
    json_t *del = json_object_get (a, "deleted");
    if (json_is_true (del)) {
        s_imp_skip (imp, "deleted MISP attribute");
        return 0;
    }
    const char *comment = json_string_value (json_object_get (a, "comment"));
    json_t *ids = json_object_get (a, "to_ids");
    bool detect = json_is_boolean (ids) ? json_is_true (ids)
                : json_is_string (ids) ? streq (json_string_value (ids), "1") : true;
    if (streq (type, "link")) {
        s_draft_reference (imp, d, value);
        return 0;
    }
    if (streq (type, "text") && comment && streq (comment, "summary") && !d->m.summary [0]) {
        s_draft_summary (d, value, strlen (value));
        return 0;
    }
    //  Composite types: "a|b".
    const char *bar = strchr (type, '|');
    if (bar) {
        char left [IH_MAX_IOC_VALUE + 1], right [IH_MAX_IOC_VALUE + 1];
        const char *vbar = strchr (value, '|');
        if (!vbar || (size_t) (vbar - value) > IH_MAX_IOC_VALUE || strlen (vbar + 1) > IH_MAX_IOC_VALUE) {
            s_imp_skip (imp, "MISP attribute %.24s without its '|'", type);
            return 0;
        }
        snprintf (left, sizeof left, "%.*s", (int) (vbar - value), value);
        snprintf (right, sizeof right, "%s", vbar + 1);
        char t1 [32], t2 [32];
        snprintf (t1, sizeof t1, "%.*s", (int) (bar - type), type);
        snprintf (t2, sizeof t2, "%s", bar + 1);
        ih_ioc_type_t a1, a2;
        bool port = streq (t2, "port");
        if (s_type_for (t1, left, &a1) != 0 || (!port && s_type_for (t2, right, &a2) != 0)) {
            s_imp_skip (imp, "MISP attribute type %.32s", type);
            return 0;
        }
        char c [IH_MAX_IOC_COMMENT + 1];
        ih_fmt (c, sizeof c, "%s%sport %s", comment ? comment : "", comment && *comment ? "; " : "", right);
        if (s_draft_ioc (imp, d, a1, left, port ? c : comment, detect) != 0)
            return -1;
        return port ? 0 : s_draft_ioc (imp, d, a2, right, comment, detect);
    }
    ih_ioc_type_t t;
    if (s_type_for (type, value, &t) != 0 || streq (type, "uri")) {
        s_imp_skip (imp, "MISP attribute type %.32s", type);
        return 0;
    }
    return s_draft_ioc (imp, d, t, value, comment, detect);
}

static int
s_misp_event (s_imp_t *imp, json_t *ev)
{
    const char *info = json_string_value (json_object_get (ev, "info"));
    s_draft_t d;
    s_draft_init (imp, &d, info ? info : imp->opts->title);
    s_misp_tags (imp, &d, json_object_get (ev, "Tag"));
    //  threat_level_id applies when no infohub:severity tag said otherwise.
    const char *tl = json_string_value (json_object_get (ev, "threat_level_id"));
    bool sev_tagged = false;
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get (ev, "Tag"), i, x) {
        const char *n = json_string_value (json_object_get (x, "name"));
        if (n && strncmp (n, "infohub:severity=", 17) == 0)
            sev_tagged = true;
    }
    if (tl && !sev_tagged)
        d.m.severity = streq (tl, "1") ? IH_SEV_HIGH : streq (tl, "2") ? IH_SEV_MEDIUM
                     : streq (tl, "3") ? IH_SEV_LOW : imp->opts->severity;
    int rc = 0;
    json_array_foreach (json_object_get (ev, "Attribute"), i, x)
        if (rc == 0)
            rc = s_misp_attribute (imp, &d, x);
    json_t *obj;
    json_array_foreach (json_object_get (ev, "Object"), i, obj) {
        size_t k;
        json_array_foreach (json_object_get (obj, "Attribute"), k, x)
            if (rc == 0)
                rc = s_misp_attribute (imp, &d, x);
    }
    json_array_foreach (json_object_get (ev, "Galaxy"), i, x)
        s_imp_skip (imp, "MISP galaxy");
    json_array_foreach (json_object_get (ev, "EventReport"), i, x)
        s_imp_skip (imp, "MISP event report");
    if (rc == 0)
        rc = s_draft_emit (imp, &d, false);
    s_draft_free (&d);
    return rc;
}

static int
s_import_misp (s_imp_t *imp, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return ih_err_set (imp->err, "misp: not JSON: %s (line %d)", jerr.text, jerr.line);
    json_t *list = json_object_get (doc, "response");
    if (!list)
        list = doc;
    int rc = 0;
    size_t events = 0;
    if (json_is_object (list) && json_object_get (list, "Event")) {
        rc = s_misp_event (imp, json_object_get (list, "Event"));
        events++;
    }
    else
    if (json_is_array (list)) {
        size_t i;
        json_t *e;
        json_array_foreach (list, i, e) {
            json_t *ev = json_object_get (e, "Event");
            if (!ev) {
                s_imp_skip (imp, "array entry without an Event");
                continue;
            }
            events++;
            if ((rc = s_misp_event (imp, ev)) != 0)
                break;
        }
    }
    json_decref (doc);
    if (rc == 0 && events == 0)
        return ih_err_set (imp->err, "misp: no Event in the input (expected {\"Event\": …} or "
                           "{\"response\": [{\"Event\": …}]})");
    return rc;
}

/* ---- csv ---------------------------------------------------------------------------------- */

#define s_CSV_COLS 64

typedef struct {
    char *fields [s_CSV_COLS];
    int count;
    ih_buf_t buf;               /* the fields, NUL-separated */
} s_row_t;

/*  Parses the next record at *pp (RFC 4180, LF or CRLF). Returns 1 with a row, 0 at the
    end, -1 with err. */
static int
s_csv_row (const char **pp, const char *end, s_row_t *row, int line, ih_err_t *err)
{
    const char *p = *pp;
    if (p >= end)
        return 0;
    ih_buf_reset (&row->buf);
    size_t offs [s_CSV_COLS];
    int n = 0;
    offs [n++] = 0;
    bool quoted = false, was_quoted = false;
    while (p < end) {
        char c = *p;
        if (quoted) {
            if (c == '"' && p + 1 < end && p [1] == '"') {
                ih_buf_append (&row->buf, "\"", 1);
                p += 2;
                continue;
            }
            if (c == '"') {
                quoted = false;
                p++;
                continue;
            }
            ih_buf_append (&row->buf, p, 1);
            p++;
            continue;
        }
        if (c == '"' && !was_quoted && row->buf.len == offs [n - 1]) {
            quoted = was_quoted = true;
            p++;
            continue;
        }
        if (c == ',') {
            ih_buf_append (&row->buf, "", 1);
            if (n == s_CSV_COLS)
                return ih_err_set (err, "csv: line %d: more than %d columns", line, s_CSV_COLS);
            offs [n++] = row->buf.len;
            was_quoted = false;
            p++;
            continue;
        }
        if (c == '\n' || c == '\r') {
            p += (c == '\r' && p + 1 < end && p [1] == '\n') ? 2 : 1;
            break;
        }
        ih_buf_append (&row->buf, p, 1);
        p++;
    }
    if (quoted)
        return ih_err_set (err, "csv: line %d: unterminated quoted field", line);
    ih_buf_append (&row->buf, "", 1);
    row->count = n;
    for (int i = 0; i < n; i++) {
        row->fields [i] = (char *) row->buf.data + offs [i];
        //  A ' in front of what a spreadsheet would take for a formula ('=…, '-…, ''+…)
        //  is the CSV-injection guard (ih_export writes it; so do other tools): drop it.
        const char *q = row->fields [i];
        while (*q == '\'')
            q++;
        if (q > row->fields [i] && *q && strchr ("=+-@\t\r", *q))
            row->fields [i]++;
    }
    *pp = p;
    return 1;
}

enum { s_C_VALUE, s_C_TYPE, s_C_ID, s_C_TITLE, s_C_TLP, s_C_SEV, s_C_CAT, s_C_SECTORS, s_C_TAGS,
       s_C_COMMENT, s_C_DETECT, s_C_N };

static int
s_csv_column (const char *name)
{
    static const struct { const char *name; int col; } names [] = {
        { "value", s_C_VALUE }, { "indicator", s_C_VALUE }, { "ioc", s_C_VALUE },
        { "type", s_C_TYPE }, { "indicator_type", s_C_TYPE }, { "alert_id", s_C_ID },
        { "event_id", s_C_ID }, { "event_uuid", s_C_ID }, { "title", s_C_TITLE }, { "info", s_C_TITLE },
        { "tlp", s_C_TLP }, { "severity", s_C_SEV }, { "category", s_C_CAT }, { "sectors", s_C_SECTORS },
        { "tags", s_C_TAGS }, { "comment", s_C_COMMENT }, { "detect", s_C_DETECT },
        { "to_ids", s_C_DETECT }, { NULL, 0 }
    };
    char low [32];
    snprintf (low, sizeof low, "%s", name);
    for (char *p = low; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
    for (int i = 0; names [i].name; i++)
        if (streq (low, names [i].name))
            return names [i].col;
    return -1;
}

static void
s_csv_list (s_imp_t *imp, s_draft_t *d, const char *s, bool sectors)
{
    char buf [4096];
    snprintf (buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r (buf, ";", &save); t; t = strtok_r (NULL, ";", &save)) {
        while (*t == ' ')
            t++;
        size_t n = strlen (t);
        while (n && t [n - 1] == ' ')
            t [--n] = 0;
        if (!*t)
            continue;
        if (sectors)
            s_draft_sector (imp, d, t);
        else
            s_draft_tag (imp, d, t);
    }
}

typedef struct {
    char *key;
    s_draft_t d;
} s_group_t;

static int
s_import_csv (s_imp_t *imp, const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    s_row_t row;
    memset (&row, 0, sizeof row);
    ih_buf_init (&row.buf);
    int col [s_C_N];
    for (int i = 0; i < s_C_N; i++)
        col [i] = -1;
    int line = 1, rc = s_csv_row (&p, end, &row, line, imp->err);
    if (rc <= 0) {
        ih_buf_free (&row.buf);
        return rc < 0 ? -1 : ih_err_set (imp->err, "csv: empty input (a header line is needed)");
    }
    for (int i = 0; i < row.count; i++) {
        int c = s_csv_column (row.fields [i]);
        if (c >= 0 && col [c] < 0)
            col [c] = i;
        else
        if (c < 0 && row.fields [i][0])
            s_imp_skip (imp, "CSV column %.32s", row.fields [i]);
    }
    if (col [s_C_VALUE] < 0) {
        ih_buf_free (&row.buf);
        return ih_err_set (imp->err, "csv: line 1: no 'value' column (the header names the columns: "
                           "value, type, alert_id, title, tlp, severity, category, sectors, tags, "
                           "comment, detect)");
    }
    zhashx_t *groups = zhashx_new ();
    s_group_t **order = NULL;
    size_t ngroups = 0;
    rc = 0;
    while (rc == 0) {
        line++;
        int r = s_csv_row (&p, end, &row, line, imp->err);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        if (row.count == 1 && !row.fields [0][0])
            continue;       //  a blank line
        const char *f [s_C_N];
        for (int i = 0; i < s_C_N; i++)
            f [i] = col [i] >= 0 && col [i] < row.count ? row.fields [col [i]] : "";
        const char *key = f [s_C_ID][0] ? f [s_C_ID] : f [s_C_TITLE];
        s_group_t *g = (s_group_t *) zhashx_lookup (groups, key);
        if (!g) {
            g = (s_group_t *) calloc (1, sizeof *g);
            if (!g)
                abort ();
            g->key = strdup (key);
            zhashx_insert (groups, key, g);
            order = (s_group_t **) realloc (order, (ngroups + 1) * sizeof *order);
            if (!order || !g->key)
                abort ();
            order [ngroups++] = g;
            char title [IH_MAX_TITLE];
            snprintf (title, sizeof title, "CSV import of %s", imp->opts->source ? imp->opts->source : "a file");
            s_draft_init (imp, &g->d, f [s_C_TITLE][0] ? f [s_C_TITLE] : imp->opts->title ? imp->opts->title : title);
            ih_severity_t sev;
            ih_category_t cat;
            if (f [s_C_SEV][0] && ih_severity_parse (f [s_C_SEV], &sev) == 0)
                g->d.m.severity = sev;
            if (f [s_C_CAT][0] && ih_category_parse (f [s_C_CAT], &cat) == 0)
                g->d.m.category = cat;
            s_csv_list (imp, &g->d, f [s_C_SECTORS], true);
            s_csv_list (imp, &g->d, f [s_C_TAGS], false);
        }
        ih_tlp_t tlp;
        if (f [s_C_TLP][0]) {
            const char *tv = strncasecmp (f [s_C_TLP], "tlp:", 4) == 0 ? f [s_C_TLP] + 4 : f [s_C_TLP];
            if (ih_tlp_parse (tv, &tlp) == 0)
                s_draft_tlp (&g->d, (int) tlp);
            else
                s_imp_skip (imp, "unknown TLP in a tlp column");
        }
        const char *value = f [s_C_VALUE];
        if (!value [0]) {
            s_imp_skip (imp, "CSV row without a value");
            continue;
        }
        ih_ioc_type_t t;
        if (f [s_C_TYPE][0] ? s_type_for (f [s_C_TYPE], value, &t) != 0 : ih_ioc_guess (value, &t) != 0) {
            if (f [s_C_TYPE][0])
                s_imp_skip (imp, "CSV type %.32s", f [s_C_TYPE]);
            else
                s_imp_skip (imp, "CSV value of no known type");
            continue;
        }
        const char *det = f [s_C_DETECT];
        bool detect = !(streq (det, "false") || streq (det, "0") || streq (det, "False") || streq (det, "FALSE"));
        rc = s_draft_ioc (imp, &g->d, t, value, f [s_C_COMMENT], detect);
    }
    for (size_t i = 0; i < ngroups; i++) {
        if (rc == 0)
            rc = s_draft_emit (imp, &order [i]->d, false);
        s_draft_free (&order [i]->d);
        free (order [i]->key);
        free (order [i]);
    }
    free (order);
    zhashx_destroy (&groups);
    ih_buf_free (&row.buf);
    return rc;
}

/* ---- free text (ih_extract) ------------------------------------------------------------- */

typedef struct {
    s_imp_t *imp;
    s_draft_t *d;
} s_text_t;

static int
s_text_hit (const ih_extract_hit_t *h, void *arg)
{
    s_text_t *t = (s_text_t *) arg;
    if (h->kind == IH_EXTRACT_REFERENCE)
        s_draft_reference (t->imp, t->d, h->value);
    else
    if (h->kind == IH_EXTRACT_SKIPPED)
        s_imp_skip (t->imp, "%s", h->why);
    else
        return s_draft_ioc (t->imp, t->d, h->type, h->value, h->comment, h->detect);
    return 0;
}

static int
s_import_text (s_imp_t *imp, const char *data, size_t len)
{
    //  The title: the option, else the first line that is not only a TLP marking.
    char first [IH_MAX_TITLE + 1] = "";
    for (const char *p = data, *end = data + len; p < end && !first [0]; ) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
        s_clean_text (p, n, IH_MAX_TITLE - 16, false, first, sizeof first);
        char *f = first;
        while (*f == ' ')
            f++;
        if (strncasecmp (f, "subject:", 8) == 0)
            f += 8;
        while (*f == ' ')
            f++;
        memmove (first, f, strlen (f) + 1);
        if (ih_extract_tlp (first, strlen (first)) >= 0 && strlen (first) < 24)
            first [0] = 0;
        p = nl ? nl + 1 : end;
    }
    s_draft_t d;
    s_draft_init (imp, &d, imp->opts->title ? imp->opts->title : first [0] ? first : "Imported text");
    s_draft_summary (&d, data, len);
    s_draft_tlp (&d, ih_extract_tlp (data, len));
    s_text_t t = { imp, &d };
    int rc = ih_extract_scan (data, len, imp->opts->plain_urls_as_iocs, s_text_hit, &t);
    if (rc == 0 && d.part == 1 && d.m.ioc_count == 0)
        rc = ih_err_set (imp->err, "text: no IOC found in it (nothing published)");
    if (rc == 0)
        rc = s_draft_emit (imp, &d, false);
    s_draft_free (&d);
    return rc;
}

/* ---- the entry point -------------------------------------------------------------------- */

int
ih_import_run (ih_import_format_t format, const char *data, size_t len, const ih_import_opts_t *opts,
               ih_import_alert_fn *fn, void *arg, ih_import_report_t *report, ih_err_t *err)
{
    ih_import_report_t local;
    if (!report)
        report = &local;
    memset (report, 0, sizeof *report);
    ih_import_opts_t defaults;
    if (!opts) {
        ih_import_opts_init (&defaults);
        opts = &defaults;
    }
    if (!ih_import_format_name (format))
        return ih_err_set (err, "import: unknown format %d", (int) format);
    s_imp_t imp;
    memset (&imp, 0, sizeof imp);
    imp.opts = opts;
    imp.rep = report;
    imp.fn = fn;
    imp.arg = arg;
    imp.err = err;
    imp.format = s_format_names [format];
    imp.seen = zhashx_new ();
    if (!imp.seen)
        abort ();
    int rc;
    switch (format) {
        case IH_IMPORT_STIX21: rc = s_import_stix (&imp, data, len); break;
        case IH_IMPORT_MISP:   rc = s_import_misp (&imp, data, len); break;
        case IH_IMPORT_CSV:    rc = s_import_csv (&imp, data, len); break;
        default:               rc = s_import_text (&imp, data, len); break;
    }
    zhashx_destroy (&imp.seen);
    return rc ? -1 : 0;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

#include "ih_export.h"

typedef struct {
    ih_msg_t msgs [8];
    int n;
    int stop_after;             /* 0 = never */
} s_got_t;

static int
s_t_collect (ih_msg_t *draft, void *arg)
{
    s_got_t *g = (s_got_t *) arg;
    if (g->stop_after && g->n == g->stop_after)
        return -1;
    IH_CHECK (g->n < 8);
    ih_msg_copy (&g->msgs [g->n++], draft);
    return 0;
}

static void
s_t_reset (s_got_t *g)
{
    for (int i = 0; i < g->n; i++)
        ih_msg_free (&g->msgs [i]);
    g->n = 0;
    g->stop_after = 0;
}

static bool
s_t_has (const ih_msg_t *m, ih_ioc_type_t t, const char *value)
{
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (m->iocs [i].type == t && streq (m->iocs [i].value, value))
            return true;
    return false;
}

static uint64_t
s_t_skipped (const ih_import_report_t *r, const char *what)
{
    for (int i = 0; i < IH_IMPORT_KINDS; i++)
        if (r->skipped [i].count && streq (r->skipped [i].what, what))
            return r->skipped [i].count;
    return 0;
}

static int
s_t_sink (const void *data, size_t len, void *arg)
{
    ih_buf_append ((ih_buf_t *) arg, data, len);
    return 0;
}

static int
s_t_run (ih_import_format_t f, const char *text, const ih_import_opts_t *o, s_got_t *g,
         ih_import_report_t *rep, ih_err_t *err)
{
    return ih_import_run (f, text, strlen (text), o, s_t_collect, g, rep, err);
}

void
ih_import_test (bool verbose)
{
    ih_import_opts_t o;
    ih_import_opts_init (&o);
    ih_import_report_t rep;
    ih_err_t err = { "" };
    s_got_t g;
    memset (&g, 0, sizeof g);
    ih_import_format_t f;
    IH_CHECK (ih_import_format_parse ("misp", &f) == 0 && f == IH_IMPORT_MISP);
    IH_CHECK (ih_import_format_parse ("misp-feed", &f) == -1);
    IH_CHECK (streq (ih_import_format_name (IH_IMPORT_TEXT), "text"));

    //  STIX: a report with its indicators and a vulnerability, TLP 1.0 and 2.0 markings,
    //  an indicator of no report, and what is not imported, counted.
    const char *stix =
        "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
        "{\"type\":\"marking-definition\",\"id\":\"marking-definition--00000000-0000-4000-8000-000000000001\","
        " \"definition_type\":\"tlp\",\"definition\":{\"tlp\":\"red\"}},"
        "{\"type\":\"report\",\"id\":\"report--1\",\"name\":\"Phishing wave\",\"description\":\"Look out\","
        " \"labels\":[\"wave\"],\"object_marking_refs\":[\"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9\"],"
        " \"external_references\":[{\"source_name\":\"x\",\"url\":\"https://ref.example.net/a\"}],"
        " \"x_infohub_severity\":\"critical\",\"x_infohub_sectors\":[\"finance\"],"
        " \"object_refs\":[\"indicator--1\",\"indicator--2\",\"vulnerability--1\",\"malware--1\",\"indicator--404\"]},"
        "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern_type\":\"stix\",\"description\":\"c2\","
        " \"pattern\":\"[ipv4-addr:value = '45.33.32.156'] OR [domain-name:value = 'Evil-Login.xyz']\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--2\",\"pattern_type\":\"stix\",\"x_infohub_detect\":false,"
        " \"pattern\":\"[url:value = 'http://evil-login.xyz/a\\\\'b' OR file:hashes.'SHA-256' = "
        "'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855' OR autonomous-system:number = 64496]\"},"
        "{\"type\":\"vulnerability\",\"id\":\"vulnerability--1\",\"name\":\"CVE-2024-3400\","
        " \"external_references\":[{\"source_name\":\"cve\",\"external_id\":\"CVE-2024-3400\"}]},"
        "{\"type\":\"indicator\",\"id\":\"indicator--3\",\"pattern_type\":\"stix\","
        " \"object_marking_refs\":[\"marking-definition--00000000-0000-4000-8000-000000000001\"],"
        " \"pattern\":\"[file:hashes.MD5 = '0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e']\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--4\",\"pattern_type\":\"stix\","
        " \"pattern\":\"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--5\",\"pattern_type\":\"sigma\",\"pattern\":\"x\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--6\",\"pattern\":\"[ipv4-addr:value = '999.1.1.1' OR "
        "x509-certificate:serial_number = '1']\"},"
        "{\"type\":\"malware\",\"id\":\"malware--1\"},{\"type\":\"relationship\",\"id\":\"relationship--1\"},"
        "{\"type\":\"relationship\",\"id\":\"relationship--2\"}]}";
    IH_CHECK (s_t_run (IH_IMPORT_STIX21, stix, &o, &g, &rep, &err) == -1);
    IH_CHECK (strstr (err.msg, "no TLP in the input: give --tlp"));     //  indicator--4..6 unmarked
    s_t_reset (&g);
    o.tlp = IH_TLP_AMBER;
    if (s_t_run (IH_IMPORT_STIX21, stix, &o, &g, &rep, &err) != 0)
        fprintf (stderr, "%s\n", err.msg);
    IH_CHECK (g.n == 3 && rep.alerts == 3);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (streq (m->title, "Phishing wave") && streq (m->summary, "Look out"));
    IH_CHECK (m->tlp == IH_TLP_CLEAR && m->severity == IH_SEV_CRITICAL);
    IH_CHECK (m->ioc_count == 6 && m->id [0] == 0);
    IH_CHECK (s_t_has (m, IH_IOC_IPV4, "45.33.32.156") && s_t_has (m, IH_IOC_DOMAIN, "evil-login.xyz"));
    IH_CHECK (s_t_has (m, IH_IOC_URL, "http://evil-login.xyz/a'b") && s_t_has (m, IH_IOC_ASN, "AS64496"));
    IH_CHECK (s_t_has (m, IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    IH_CHECK (s_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (m->iocs [0].detect && streq (m->iocs [0].comment, "c2") && !m->iocs [2].detect);
    IH_CHECK (m->tags.count == 1 && m->sectors.count == 1 && m->references.count == 1);
    IH_CHECK (g.msgs [1].tlp == IH_TLP_RED && s_t_has (&g.msgs [1], IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e"));
    IH_CHECK (g.msgs [2].tlp == IH_TLP_AMBER && g.msgs [2].ioc_count == 0);    //  the option's TLP
    IH_CHECK (s_t_skipped (&rep, "malware") == 1 && s_t_skipped (&rep, "relationship") == 2);
    IH_CHECK (s_t_skipped (&rep, "indicator with a pattern other than '=' and OR") == 1);
    IH_CHECK (s_t_skipped (&rep, "indicator with pattern_type sigma") == 1);
    IH_CHECK (s_t_skipped (&rep, "pattern on x509-certificate:serial_number") == 1);
    IH_CHECK (s_t_skipped (&rep, "report reference to an object not in the input") == 1);
    IH_CHECK (rep.invalid == 1 && strstr (rep.first_invalid, "999.1.1.1"));
    char line [1024];
    ih_import_report_text (&rep, line, sizeof line);
    if (verbose)
        printf ("  stix: %s\n", line);
    IH_CHECK (strstr (line, "2 relationship") && strstr (line, "1 invalid value"));
    s_t_reset (&g);
    IH_CHECK (s_t_run (IH_IMPORT_STIX21, "{\"type\":", &o, &g, &rep, &err) == -1);
    IH_CHECK (strstr (err.msg, "stix21: not JSON"));
    IH_CHECK (s_t_run (IH_IMPORT_STIX21, "{\"a\":1}", &o, &g, &rep, &err) == -1 && strstr (err.msg, "expected a bundle"));
    //  The callback can stop an import.
    g.stop_after = 1;
    IH_CHECK (s_t_run (IH_IMPORT_STIX21, stix, &o, &g, &rep, &err) == -1 && strstr (err.msg, "stopped after 1 alert"));
    s_t_reset (&g);

    //  MISP: tags (TLP:WHITE is CLEAR), composite attributes, links, objects, and skips.
    const char *misp =
        "{\"response\":[{\"Event\":{\"info\":\"Fraud \\u00e9vent\",\"threat_level_id\":\"3\","
        "\"Tag\":[{\"name\":\"TLP:WHITE\"},{\"name\":\"infohub:category=\\\"fraud\\\"\"},{\"name\":\"bec\"}],"
        "\"Attribute\":[{\"type\":\"ip-dst|port\",\"value\":\"45.33.32.156|8443\",\"to_ids\":true},"
        "{\"type\":\"domain|ip\",\"value\":\"pay-portal.top|2a03:2880::1\",\"to_ids\":false,\"comment\":\"x\"},"
        "{\"type\":\"link\",\"value\":\"https://ref.example.net/b\"},"
        "{\"type\":\"text\",\"value\":\"The summary\",\"comment\":\"summary\"},"
        "{\"type\":\"regkey\",\"value\":\"HKLM\\\\x\"},"
        "{\"type\":\"md5\",\"value\":\"0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e\",\"deleted\":true},"
        "{\"type\":\"filename|sha1\",\"value\":\"a.exe|DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\"}],"
        "\"Object\":[{\"Attribute\":[{\"type\":\"email-src\",\"value\":\"ceo@pay-portal.top\"}]}]}}]}";
    o.tlp = -1;
    if (s_t_run (IH_IMPORT_MISP, misp, &o, &g, &rep, &err) != 0)
        fprintf (stderr, "%s\n", err.msg);
    IH_CHECK (g.n == 1);
    m = &g.msgs [0];
    IH_CHECK (m->tlp == IH_TLP_CLEAR && m->category == IH_CAT_FRAUD && m->severity == IH_SEV_LOW);
    IH_CHECK (streq (m->title, "Fraud \xc3\xa9vent") && streq (m->summary, "The summary"));
    IH_CHECK (m->tags.count == 1 && streq (m->tags.items [0], "bec") && m->references.count == 1);
    IH_CHECK (m->ioc_count == 6);
    IH_CHECK (s_t_has (m, IH_IOC_IPV4, "45.33.32.156") && streq (m->iocs [0].comment, "port 8443"));
    IH_CHECK (s_t_has (m, IH_IOC_IPV6, "2a03:2880::1") && !m->iocs [2].detect);
    IH_CHECK (s_t_has (m, IH_IOC_FILENAME, "a.exe") && s_t_has (m, IH_IOC_EMAIL, "ceo@pay-portal.top"));
    IH_CHECK (s_t_skipped (&rep, "MISP attribute type regkey") == 1 && s_t_skipped (&rep, "deleted MISP attribute") == 1);
    s_t_reset (&g);
    IH_CHECK (s_t_run (IH_IMPORT_MISP, "{\"x\":1}", &o, &g, &rep, &err) == -1 && strstr (err.msg, "no Event"));

    //  CSV: grouping by alert_id, quoting, our and MISP type names, guessed types.
    const char *csv =
        "\xef\xbb\xbf" "alert_id,title,tlp,severity,category,sectors,tags,type,value,comment,detect,extra\r\n"
        "a1,\"Wave, one\",AMBER,high,phishing,finance;energy,t1;t2,ipv4,45.33.32.156,\"c2, \"\"main\"\"\",true,x\r\n"
        "a2,Other,tlp:red,low,malware,,,domain,pay-portal.top,,false,\n"
        "a1,\"Wave, one\",AMBER,high,phishing,,,ip-dst,2a03:2880::/32,,,\n"
        "\n"
        "a1,\"Wave, one\",AMBER,high,phishing,,,frobnicator,xyz,,,\n"
        "a2,Other,RED,low,malware,,,,CVE-2024-3400,,,\n";
    IH_CHECK (s_t_run (IH_IMPORT_CSV, csv, &o, &g, &rep, &err) == 0);
    IH_CHECK (g.n == 2);
    m = &g.msgs [0];
    IH_CHECK (streq (m->title, "Wave, one") && m->tlp == IH_TLP_AMBER && m->ioc_count == 2);
    IH_CHECK (streq (m->iocs [0].comment, "c2, \"main\"") && s_t_has (m, IH_IOC_CIDR, "2a03:2880::/32"));
    IH_CHECK (m->sectors.count == 2 && m->tags.count == 2 && m->category == IH_CAT_PHISHING);
    m = &g.msgs [1];
    IH_CHECK (m->tlp == IH_TLP_RED && !m->iocs [0].detect && s_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (s_t_skipped (&rep, "CSV type frobnicator") == 1 && s_t_skipped (&rep, "CSV column extra") == 1);
    s_t_reset (&g);
    IH_CHECK (s_t_run (IH_IMPORT_CSV, "type,indicator\nipv4,\"1.2.3.4\n", &o, &g, &rep, &err) == -1);
    IH_CHECK (strstr (err.msg, "line 2: unterminated"));
    IH_CHECK (s_t_run (IH_IMPORT_CSV, "type,val\nipv4,1.2.3.4\n", &o, &g, &rep, &err) == -1);
    IH_CHECK (strstr (err.msg, "no 'value' column"));
    IH_CHECK (s_t_run (IH_IMPORT_CSV, "value\n45.33.32.156\n", &o, &g, &rep, &err) == -1);
    IH_CHECK (strstr (err.msg, "no TLP"));
    IH_CHECK (s_t_run (IH_IMPORT_CSV, "", &o, &g, &rep, &err) == -1 && strstr (err.msg, "empty input"));
    s_t_reset (&g);

    //  More than IH_MAX_IOCS in one alert: parts.
    ih_buf_t big;
    ih_buf_init (&big);
    ih_buf_append (&big, "value\n", 6);
    for (int i = 0; i < IH_MAX_IOCS + 10; i++) {
        char row [32];
        int n = snprintf (row, sizeof row, "45.%d.%d.%d\n", i >> 16, (i >> 8) & 255, i & 255);
        ih_buf_append (&big, row, (size_t) n);
    }
    ih_buf_append (&big, "45.0.0.0\n", 9);      //  a duplicate
    ih_buf_append (&big, "", 1);
    o.tlp = IH_TLP_GREEN;
    o.title = "Big";
    IH_CHECK (s_t_run (IH_IMPORT_CSV, (char *) big.data, &o, &g, &rep, &err) == 0);
    IH_CHECK (g.n == 2 && g.msgs [0].ioc_count == IH_MAX_IOCS && g.msgs [1].ioc_count == 10);
    IH_CHECK (streq (g.msgs [0].title, "Big (part 1)") && streq (g.msgs [1].title, "Big (part 2)"));
    IH_CHECK (rep.duplicates == 1);
    ih_buf_free (&big);
    s_t_reset (&g);
    o.title = NULL;

    //  Text: defanged forms, ports, public suffixes, file names, references, TLP in prose.
    const char *text =
        "Subject: Invoice fraud wave\n"
        "TLP:AMBER\n\n"
        "The lure (invoice.exe, also seen as update.zip) calls hxxps://pay-portal[.]top/login and\n"
        "45.33.32[.]156:8443, then evil-cdn[.]com. Mail comes from billing[@]pay-portal[.]top.\n"
        "Hash: 0C7B8F5D3E2A1B9C8D7E6F5A4B3C2D1E; see CVE-2024-3400 and AS64496, e.g. the report\n"
        "at https://advisories.example.org/2024/1 (also mentions readme.md and notes.txt, and\n"
        "www.evil.example, and [2a03:2880::1]:443). Do not forward: TLP:AMBER+STRICT.\n";
    o.tlp = -1;
    IH_CHECK (s_t_run (IH_IMPORT_TEXT, text, &o, &g, &rep, &err) == 0);
    IH_CHECK (g.n == 1);
    m = &g.msgs [0];
    if (verbose) {
        char *j = ih_msg_to_json_str (m, NULL);
        printf ("  text: %s\n", j);
        free (j);
    }
    IH_CHECK (streq (m->title, "Invoice fraud wave") && m->tlp == IH_TLP_AMBER_STRICT);
    IH_CHECK (s_t_has (m, IH_IOC_URL, "https://pay-portal.top/login"));
    IH_CHECK (s_t_has (m, IH_IOC_IPV4, "45.33.32.156") && s_t_has (m, IH_IOC_DOMAIN, "evil-cdn.com"));
    IH_CHECK (s_t_has (m, IH_IOC_EMAIL, "billing@pay-portal.top"));
    IH_CHECK (s_t_has (m, IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e") && s_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (s_t_has (m, IH_IOC_ASN, "AS64496") && s_t_has (m, IH_IOC_IPV6, "2a03:2880::1"));
    IH_CHECK (s_t_has (m, IH_IOC_FILENAME, "invoice.exe"));
    IH_CHECK (!s_t_has (m, IH_IOC_DOMAIN, "invoice.exe") && !s_t_has (m, IH_IOC_DOMAIN, "update.zip"));
    IH_CHECK (!s_t_has (m, IH_IOC_DOMAIN, "readme.md") && !s_t_has (m, IH_IOC_DOMAIN, "e.g"));
    IH_CHECK (!s_t_has (m, IH_IOC_DOMAIN, "www.evil.example"));     //  .example: no public suffix
    IH_CHECK (m->references.count == 1 && streq (m->references.items [0], "https://advisories.example.org/2024/1"));
    IH_CHECK (m->ioc_count == 9);
    IH_CHECK (strstr (m->summary, "Invoice fraud wave"));
    s_t_reset (&g);
    IH_CHECK (s_t_run (IH_IMPORT_TEXT, "evil-cdn[.]com\n", &o, &g, &rep, &err) == -1 && strstr (err.msg, "no TLP"));
    o.plain_urls_as_iocs = true;
    o.tlp = IH_TLP_GREEN;
    IH_CHECK (s_t_run (IH_IMPORT_TEXT, "see https://pay-portal.top/x.", &o, &g, &rep, &err) == 0);
    IH_CHECK (g.n == 1 && s_t_has (&g.msgs [0], IH_IOC_URL, "https://pay-portal.top/x"));
    IH_CHECK (streq (g.msgs [0].title, "see https://pay-portal.top/x."));
    s_t_reset (&g);
    o.plain_urls_as_iocs = false;

    //  import (export (x)) keeps every IOC and the TLP: stix21, misp, csv.
    ih_msg_t src;
    ih_msg_init (&src, IH_KIND_ALERT);
    snprintf (src.id, sizeof src.id, "6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10");
    src.created = src.modified = 1764349536123LL;
    src.org = src.member = "bank-a";
    src.title = "Round trip";
    src.summary = "Summary";
    src.tlp = IH_TLP_AMBER_STRICT;
    src.severity = IH_SEV_CRITICAL;
    src.category = IH_CAT_RANSOMWARE;
    const struct { ih_ioc_type_t t; const char *v; } vals [] = {
        { IH_IOC_IPV4, "45.33.32.156" }, { IH_IOC_IPV6, "2a03:2880::1" }, { IH_IOC_CIDR, "91.215.85.0/24" },
        { IH_IOC_DOMAIN, "evil-login.xyz" }, { IH_IOC_URL, "http://evil-login.xyz/a'b\\c" },
        { IH_IOC_EMAIL, "a@evil-login.xyz" }, { IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e" },
        { IH_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { IH_IOC_FILENAME, "in voice,\".exe" }, { IH_IOC_CVE, "CVE-2024-3400" }, { IH_IOC_ASN, "AS64496" }
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals [0]; i++)
        ih_msg_ioc_add (&src, vals [i].t, vals [i].v, "", i % 2 == 0);
    ih_export_format_t ef [] = { IH_EXPORT_STIX21, IH_EXPORT_MISP, IH_EXPORT_CSV };
    ih_import_format_t inf [] = { IH_IMPORT_STIX21, IH_IMPORT_MISP, IH_IMPORT_CSV };
    o.tlp = -1;
    for (int k = 0; k < 3; k++) {
        ih_buf_t b;
        ih_buf_init (&b);
        ih_export_t *x = ih_export_new (ef [k], NULL, s_t_sink, &b, NULL, &err);
        IH_CHECK (x && ih_export_alert (x, &src, NULL, &err) == 0 && ih_export_finish (x, &err) == 0);
        ih_export_destroy (&x);
        ih_buf_append (&b, "", 1);
        if (s_t_run (inf [k], (char *) b.data, &o, &g, &rep, &err) != 0)
            fprintf (stderr, "%s\n", err.msg);
        IH_CHECK (g.n == 1);
        m = &g.msgs [0];
        IH_CHECK (m->tlp == IH_TLP_AMBER_STRICT && m->ioc_count == src.ioc_count);
        IH_CHECK (m->severity == IH_SEV_CRITICAL && m->category == IH_CAT_RANSOMWARE);
        IH_CHECK (streq (m->title, "Round trip"));
        for (uint32_t i = 0; i < src.ioc_count; i++) {
            IH_CHECK (s_t_has (m, src.iocs [i].type, src.iocs [i].value));
            IH_CHECK (m->iocs [i].detect == src.iocs [i].detect);
        }
        s_t_reset (&g);
        ih_buf_free (&b);
    }
    ih_msg_free (&src);

    //  CSV injection: fields a spreadsheet would run get a ' in front on export, which
    //  the import takes off again (lossless, quotes already in front included).
    ih_msg_init (&src, IH_KIND_ALERT);
    snprintf (src.id, sizeof src.id, "6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a11");
    src.created = src.modified = 1764349536123LL;
    src.org = src.member = "bank-a";
    src.title = "=HYPERLINK(\"http://x.example\",\"click\")";
    src.summary = "";
    src.tlp = IH_TLP_GREEN;
    src.severity = IH_SEV_LOW;
    src.category = IH_CAT_OTHER;
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "-cmd.exe", "=1+1", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "@evil.exe", "+x", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "'+quoted.exe", "'", true);
    ih_msg_ioc_add (&src, IH_IOC_FILENAME, "plain'.exe", "-", true);
    {
        ih_buf_t b;
        ih_buf_init (&b);
        ih_export_t *x = ih_export_new (IH_EXPORT_CSV, NULL, s_t_sink, &b, NULL, &err);
        IH_CHECK (x && ih_export_alert (x, &src, NULL, &err) == 0 && ih_export_finish (x, &err) == 0);
        ih_export_destroy (&x);
        ih_buf_append (&b, "", 1);
        const char *csv_out = (const char *) b.data;
        IH_CHECK (strstr (csv_out, ",'-cmd.exe,") && strstr (csv_out, "\"'=HYPERLINK("));
        IH_CHECK (strstr (csv_out, ",'@evil.exe,") && strstr (csv_out, ",''+quoted.exe,"));
        IH_CHECK (strstr (csv_out, ",plain'.exe,") && strstr (csv_out, ",'=1+1,"));
        IH_CHECK (!strstr (csv_out, ",=") && !strstr (csv_out, ",-") && !strstr (csv_out, ",@"));
        IH_CHECK (s_t_run (IH_IMPORT_CSV, csv_out, &o, &g, &rep, &err) == 0);
        IH_CHECK (g.n == 1);
        m = &g.msgs [0];
        IH_CHECK (streq (m->title, src.title) && m->ioc_count == 4);
        for (uint32_t i = 0; i < src.ioc_count; i++) {
            IH_CHECK (s_t_has (m, src.iocs [i].type, src.iocs [i].value));
            bool same = false;
            for (uint32_t j = 0; j < m->ioc_count; j++)
                if (streq (m->iocs [j].value, src.iocs [i].value))
                    same = streq (m->iocs [j].comment, src.iocs [i].comment);
            IH_CHECK (same);
        }
        s_t_reset (&g);
        ih_buf_free (&b);
    }
    ih_msg_free (&src);
}
#endif
