/*  ih_import_stix.c: STIX 2.1 into alert drafts (ih_import.h documents what is read).

    One alert per report, with the IOCs of the indicators and vulnerabilities it refers
    to; those no report refers to make one more alert per TLP and creator. Markings are
    read by id (ih_stix_marking_tlp) or from the marking-definitions of the input,
    Infohub's own properties (severity, category, sectors, recipients, publisher_org)
    with ih_stix_prop (ih_stix.h knows how they are carried). Patterns are read by a
    tokenizer that knows enough of the patterning grammar to take comparisons with '='
    joined by OR, and to recognise anything else as something not imported.
*/
#include <czmq.h>

#include "ih_import_priv.h"
#include "ih_stix.h"

/*  One stix21 import: the input's objects by id, its own TLP marking definitions. */
typedef struct {
    ih_import_job_t *job;
    zhashx_t *byid;             /* id -> json_t * (borrowed from the document) */
    zhashx_t *tlp;              /* marking id -> tlp + 1 */
    zhashx_t *used;             /* indicator/vulnerability ids a report refers to */
} s_stix_t;

/*  A marking-definition object's TLP, if it is one: TLP 2.0 extension, TLP 1.0
    definition, or a name "TLP:X". -1 otherwise. */
static int
s_marking_object_tlp (json_t *o)
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
        int t = ih_stix_marking_tlp (id);
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
s_stix_indicator (s_stix_t *s, ih_import_draft_t *d, json_t *ind)
{
    ih_import_job_t *job = s->job;
    const char *pattern = json_string_value (json_object_get (ind, "pattern"));
    const char *ptype = json_string_value (json_object_get (ind, "pattern_type"));
    if (ptype && !streq (ptype, "stix")) {
        ih_import_skip (job, "indicator with pattern_type %.24s", ptype);
        return 0;
    }
    if (!pattern) {
        ih_import_skip (job, "indicator without a pattern");
        return 0;
    }
    const char *desc = json_string_value (json_object_get (ind, "description"));
    json_t *det = ih_stix_prop (ind, "detect");
    bool detect = json_is_boolean (det) ? json_is_true (det) : true;
    ih_import_draft_tlp (d, s_stix_tlp_of (s, ind));

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
        ih_import_skip (job, "indicator with a pattern other than '=' and OR");
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
            ih_import_skip (job, "pattern on %.40s", path);
            continue;
        }
        if ((ty == IH_IOC_ASN) != (t == s_T_NUM)) {
            ih_import_skip (job, "pattern on %.40s with a %s", path, t == s_T_NUM ? "number" : "string");
            continue;
        }
        if (ih_import_draft_ioc (job, d, ty, text, desc, detect) != 0)
            return -1;
    }
    return 0;
}

static int
s_stix_vulnerability (s_stix_t *s, ih_import_draft_t *d, json_t *v)
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
        ih_import_skip (s->job, "vulnerability without a CVE id");
        return 0;
    }
    json_t *det = ih_stix_prop (v, "detect");
    ih_import_draft_tlp (d, s_stix_tlp_of (s, v));
    return ih_import_draft_ioc (s->job, d, IH_IOC_CVE, cve, json_string_value (json_object_get (v, "description")),
                        json_is_boolean (det) ? json_is_true (det) : true);
}

/*  The name of the identity an object's created_by_ref names, when the input holds it. */
static const char *
s_stix_creator (s_stix_t *s, json_t *o)
{
    const char *by = json_string_value (json_object_get (o, "created_by_ref"));
    json_t *ident = by ? (json_t *) zhashx_lookup (s->byid, by) : NULL;
    return json_string_value (json_object_get (ident, "name"));
}

static int
s_stix_report (s_stix_t *s, json_t *rep)
{
    ih_import_job_t *job = s->job;
    const char *name = json_string_value (json_object_get (rep, "name"));
    //  IDS (ih_import.h): the report's id; one without is known by its content.
    const char *id = json_string_value (json_object_get (rep, "id"));
    char source [IH_UUID_LEN + 16];
    if (!id) {
        char *text = json_dumps (rep, JSON_COMPACT | JSON_SORT_KEYS);
        char digest [IH_UUID_LEN + 1];
        ih_import_digest (text ? text : "", text ? strlen (text) : 0, digest);
        snprintf (source, sizeof source, "report:%s", digest);
        free (text);
    }
    ih_import_draft_t d;
    ih_import_draft_init (job, &d, name ? name : job->opts->title, id ? id : source);
    const char *desc = json_string_value (json_object_get (rep, "description"));
    if (desc)
        ih_import_draft_summary (&d, desc, strlen (desc));
    ih_import_draft_tlp (&d, s_stix_tlp_of (s, rep));
    //  AUDIENCE and ATTRIBUTION (ih_import.h): the recipients and the publisher as
    //  Infohub wrote them, else the creator's identity.
    size_t i;
    json_t *x;
    json_t *rcpt = ih_stix_prop (rep, "recipients");
    json_array_foreach (rcpt, i, x)
        ih_import_draft_recipient (job, &d, json_is_string (x) ? json_string_value (x) : "");
    if (rcpt && !json_is_array (rcpt))
        ih_import_draft_narrow (&d, "STIX recipients property that is no list");
    ih_import_draft_publisher (&d, json_string_value (ih_stix_prop (rep, "publisher_org")));
    ih_import_draft_publisher (&d, s_stix_creator (s, rep));
    ih_severity_t sev;
    ih_category_t cat;
    const char *v = json_string_value (ih_stix_prop (rep, "severity"));
    if (v && ih_severity_parse (v, &sev) == 0)
        d.m.severity = sev;
    v = json_string_value (ih_stix_prop (rep, "category"));
    if (v && ih_category_parse (v, &cat) == 0)
        d.m.category = cat;
    else {
        json_t *rt;
        json_array_foreach (json_object_get (rep, "report_types"), i, rt)
            if (json_string_value (rt) && streq (json_string_value (rt), "vulnerability"))
                d.m.category = IH_CAT_VULNERABILITY;
    }
    json_array_foreach (ih_stix_prop (rep, "sectors"), i, x)
        if (json_string_value (x))
            ih_import_draft_sector (job, &d, json_string_value (x));
    json_array_foreach (json_object_get (rep, "labels"), i, x)
        if (json_string_value (x))
            ih_import_draft_tag (job, &d, json_string_value (x));
    json_array_foreach (json_object_get (rep, "external_references"), i, x) {
        const char *url = json_string_value (json_object_get (x, "url"));
        if (url)
            ih_import_draft_reference (job, &d, url);
    }
    int rc = 0;
    json_array_foreach (json_object_get (rep, "object_refs"), i, x) {
        const char *ref = json_string_value (x);
        json_t *o = ref ? (json_t *) zhashx_lookup (s->byid, ref) : NULL;
        if (!o) {
            if (ref && strncmp (ref, "identity--", 10) != 0)
                ih_import_skip (job, "report reference to an object not in the input");
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
        zhashx_insert (s->used, ref, (void *) 1);
        if (rc)
            break;
    }
    return ih_import_draft_done (job, &d, rc);
}

/*  Indicators and vulnerabilities of no report with one TLP and one creator: one alert. */
typedef struct {
    int tlp;                    /* -1: unmarked */
    const char *creator;        /* created_by_ref, "" when none (borrowed) */
    json_t **objects;           /* borrowed from the document, input order */
    size_t count;
} s_loose_t;

static int
s_strcmp_p (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  One group's alert. IDS (ih_import.h): "indicators|TLP|CREATOR|" and the sorted ids of
    its objects. */
static int
s_stix_loose (s_stix_t *s, s_loose_t *g)
{
    ih_import_job_t *job = s->job;
    const char **ids = (const char **) malloc (g->count * sizeof *ids);
    if (!ids)
        abort ();
    for (size_t i = 0; i < g->count; i++)
        ids [i] = json_string_value (json_object_get (g->objects [i], "id"));
    qsort (ids, g->count, sizeof *ids, s_strcmp_p);
    ih_buf_t source;
    ih_buf_init (&source);
    ih_buf_printf (&source, "indicators|%s|%s|", g->tlp < 0 ? "-" : ih_tlp_name ((ih_tlp_t) g->tlp), g->creator);
    for (size_t i = 0; i < g->count; i++)
        ih_buf_printf (&source, "%s%s", i ? "," : "", ids [i]);
    free (ids);
    char title [IH_MAX_TITLE];
    snprintf (title, sizeof title, "STIX indicators from %s", job->opts->source ? job->opts->source : "an import");
    ih_import_draft_t d;
    ih_import_draft_init (job, &d, job->opts->title ? job->opts->title : title, (const char *) source.data);
    ih_buf_free (&source);
    ih_import_draft_publisher (&d, s_stix_creator (s, g->objects [0]));
    int rc = 0;
    for (size_t i = 0; i < g->count && rc == 0; i++) {
        json_t *o = g->objects [i];
        rc = streq (json_string_value (json_object_get (o, "type")), "indicator") ? s_stix_indicator (s, &d, o)
                                                                                 : s_stix_vulnerability (s, &d, o);
    }
    return ih_import_draft_done (job, &d, rc);
}

/*  Whether o is the version of its object the import reads (the latest, by modified). */
static bool
s_stix_current (s_stix_t *s, json_t *o)
{
    const char *id = json_string_value (json_object_get (o, "id"));
    return !id || zhashx_lookup (s->byid, id) == o;
}

int
ih_import_read_stix21 (ih_import_job_t *job, const char *data, size_t len)
{
    json_t *doc = ih_import_json (job, data, len);
    if (!doc)
        return -1;
    json_t *objects = json_is_array (doc) ? doc : json_object_get (doc, "objects");
    json_t *single = NULL;
    if (!objects && json_is_object (doc) && json_object_get (doc, "type")) {
        single = json_array ();
        json_array_append (single, doc);
        objects = single;
    }
    if (!json_is_array (objects)) {
        json_decref (doc);
        return ih_err_set (job->err, "stix21: expected a bundle, an envelope or an array of objects");
    }
    s_stix_t s = { job, zhashx_new (), zhashx_new (), zhashx_new () };
    if (!s.byid || !s.tlp || !s.used)
        abort ();
    size_t i;
    json_t *o;
    json_array_foreach (objects, i, o) {
        const char *id = json_string_value (json_object_get (o, "id"));
        const char *type = json_string_value (json_object_get (o, "type"));
        if (!id || !type)
            continue;
        //  Several versions of one object (STIX 2.1 section 3.6): the latest counts.
        json_t *had = (json_t *) zhashx_lookup (s.byid, id);
        const char *m1 = had ? json_string_value (json_object_get (had, "modified")) : NULL;
        const char *m2 = json_string_value (json_object_get (o, "modified"));
        if (had && (!m2 || (m1 && strcmp (m1, m2) >= 0)))
            continue;
        zhashx_update (s.byid, id, o);
        if (streq (type, "marking-definition")) {
            int t = s_marking_object_tlp (o);
            if (t >= 0)
                zhashx_update (s.tlp, id, (void *) (uintptr_t) (t + 1));
        }
    }
    int rc = 0;
    json_array_foreach (objects, i, o) {
        const char *type = json_string_value (json_object_get (o, "type"));
        if (!type) {
            ih_import_skip (job, "object without a type");
            continue;
        }
        if (!s_stix_current (&s, o))
            ih_import_skip (job, "older version of a STIX object");
        else
        if (streq (type, "report"))
            rc = s_stix_report (&s, o);
        else
        if (!streq (type, "indicator") && !streq (type, "vulnerability") && !streq (type, "identity")
        &&  !streq (type, "marking-definition")
        &&  !streq (json_string_value (json_object_get (o, "id")) ?: "", IH_STIX_EXTENSION_ID))
            ih_import_skip (job, "%.40s", type);    //  Infohub's own extension is read, not lost
        if (rc)
            break;
    }
    //  Indicators and vulnerabilities of no report: one alert per TLP and creator.
    s_loose_t *groups = NULL;
    size_t ngroups = 0;
    zhashx_t *bykey = zhashx_new ();        //  "TLP|CREATOR" -> group index + 1
    if (!bykey)
        abort ();
    json_array_foreach (objects, i, o) {
        const char *type = json_string_value (json_object_get (o, "type"));
        const char *id = json_string_value (json_object_get (o, "id"));
        if (rc || !type || !id || (!streq (type, "indicator") && !streq (type, "vulnerability"))
        ||  zhashx_lookup (s.used, id) || !s_stix_current (&s, o))
            continue;
        int t = s_stix_tlp_of (&s, o);
        const char *by = json_string_value (json_object_get (o, "created_by_ref"));
        char key [IH_STIX_ID_MAX + 300];
        snprintf (key, sizeof key, "%d|%.256s", t, by ? by : "");
        size_t k = (size_t) (uintptr_t) zhashx_lookup (bykey, key);
        if (k-- == 0) {
            groups = (s_loose_t *) realloc (groups, (ngroups + 1) * sizeof *groups);
            if (!groups)
                abort ();
            groups [ngroups++] = (s_loose_t) { t, by ? by : "", NULL, 0 };
            k = ngroups - 1;
            zhashx_insert (bykey, key, (void *) (uintptr_t) ngroups);
        }
        s_loose_t *g = &groups [k];
        g->objects = (json_t **) realloc (g->objects, (g->count + 1) * sizeof *g->objects);
        if (!g->objects)
            abort ();
        g->objects [g->count++] = o;
    }
    for (size_t k = 0; k < ngroups; k++) {
        if (rc == 0)
            rc = s_stix_loose (&s, &groups [k]);
        free (groups [k].objects);
    }
    free (groups);
    zhashx_destroy (&bykey);
    zhashx_destroy (&s.byid);
    zhashx_destroy (&s.tlp);
    zhashx_destroy (&s.used);
    json_decref (single);
    json_decref (doc);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_import_stix_test (bool verbose)
{
    ih_import_t_fixture_t g;
    ih_import_t_fixture (&g);

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
    //  Without a TLP option, the unmarked indicators (4..6) are not imported; the rest is.
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, stix) == 0);
    IH_CHECK (g.n == 2 && g.rep.outcome [IH_IMPORT_REFUSED] == 1 && g.rep.alerts == 2);
    IH_CHECK (streq (g.notes, "STIX indicators from an import: not imported: no TLP marking (give --tlp)\n"));
    ih_import_t_reset (&g);
    g.o.tlp = IH_TLP_AMBER;
    if (ih_import_t_run (&g, IH_IMPORT_STIX21, stix) != 0)
        fprintf (stderr, "%s\n", g.err.msg);
    IH_CHECK (g.n == 3 && g.rep.alerts == 3);
    ih_msg_t *m = &g.msgs [0];
    IH_CHECK (streq (m->title, "Phishing wave") && streq (m->summary, "Look out"));
    IH_CHECK (m->tlp == IH_TLP_CLEAR && m->severity == IH_SEV_CRITICAL);
    IH_CHECK (m->ioc_count == 6);
    //  IDS (ih_import.h): the report's, in no org (the options name none).
    char want [IH_UUID_LEN + 1];
    ih_stix_uuid5 ("import||stix21|report--1", 24, want);
    IH_CHECK (streq (m->id, want));
    IH_CHECK (ih_import_t_has (m, IH_IOC_IPV4, "45.33.32.156") && ih_import_t_has (m, IH_IOC_DOMAIN, "evil-login.xyz"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_URL, "http://evil-login.xyz/a'b") && ih_import_t_has (m, IH_IOC_ASN, "AS64496"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    IH_CHECK (ih_import_t_has (m, IH_IOC_CVE, "CVE-2024-3400"));
    IH_CHECK (m->iocs [0].detect && streq (m->iocs [0].comment, "c2") && !m->iocs [2].detect);
    IH_CHECK (m->tags.count == 1 && m->sectors.count == 1 && m->references.count == 1);
    IH_CHECK (g.msgs [1].tlp == IH_TLP_RED && ih_import_t_has (&g.msgs [1], IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e"));
    IH_CHECK (g.msgs [2].tlp == IH_TLP_AMBER && g.msgs [2].ioc_count == 0);    //  the option's TLP
    IH_CHECK (ih_import_t_skipped (&g.rep, "malware") == 1 && ih_import_t_skipped (&g.rep, "relationship") == 2);
    IH_CHECK (ih_import_t_skipped (&g.rep, "indicator with a pattern other than '=' and OR") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "indicator with pattern_type sigma") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "pattern on x509-certificate:serial_number") == 1);
    IH_CHECK (ih_import_t_skipped (&g.rep, "report reference to an object not in the input") == 1);
    IH_CHECK (g.rep.invalid == 1 && strstr (g.rep.first_invalid, "999.1.1.1"));
    char line [1024];
    ih_import_report_text (&g.rep, line, sizeof line);
    if (verbose)
        printf ("  stix: %s\n", line);
    IH_CHECK (strstr (line, "2 relationship") && strstr (line, "1 invalid value"));
    ih_import_t_reset (&g);
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, "{\"type\":") == -1);
    IH_CHECK (strstr (g.err.msg, "stix21: not JSON"));
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, "{\"a\":1}") == -1 && strstr (g.err.msg, "expected a bundle"));
    //  The callback can stop an import.
    g.stop_after = 1;
    IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, stix) == -1 && strstr (g.err.msg, "stopped after 1 alert"));
    ih_import_t_reset (&g);

    //  A TAXII envelope, a bare array and one object are read too.
    g.o.tlp = IH_TLP_GREEN;
    const char *ind = "{\"type\":\"indicator\",\"id\":\"indicator--9\",\"pattern\":\"[domain-name:value = 'evil-cdn.com']\"}";
    char doc [1024];
    const char *forms [] = { "{\"more\":false,\"objects\":[%s]}", "[%s]", "%s" };
    for (int k = 0; k < 3; k++) {
        snprintf (doc, sizeof doc, forms [k], ind);
        IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, doc) == 0);
        IH_CHECK (g.n == 1 && ih_import_t_has (&g.msgs [0], IH_IOC_DOMAIN, "evil-cdn.com"));
        IH_CHECK (g.msgs [0].tlp == IH_TLP_GREEN);
        ih_import_t_reset (&g);
    }

    //  AUDIENCE and ATTRIBUTION: the recipients and publisher Infohub wrote (in its
    //  extension, or as the older x_infohub_ properties: whichever ih_stix_prop reads),
    //  else the creator's identity; the latest version of an object counts; indicators of
    //  no report, one alert per TLP and creator, whose id does not depend on their order.
    const char *ext =
        "{\"type\":\"bundle\",\"id\":\"bundle--2\",\"objects\":["
        "{\"type\":\"identity\",\"id\":\"identity--1\",\"name\":\"bank-a\"},"
        "{\"type\":\"identity\",\"id\":\"identity--2\",\"name\":\"CERT-X\"},"
        "{\"type\":\"report\",\"id\":\"report--2\",\"name\":\"Old\",\"modified\":\"2024-01-01T00:00:00.000Z\","
        " \"object_marking_refs\":[\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\"],\"object_refs\":[]},"
        "{\"type\":\"report\",\"id\":\"report--2\",\"name\":\"Strict\",\"modified\":\"2024-01-02T00:00:00.000Z\","
        " \"created_by_ref\":\"identity--2\","
        " \"object_marking_refs\":[\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\"],"
        " \"extensions\":{\"extension-definition--3d7f2a90-5b1c-4e8f-9a6d-0c2b7e5f41a8\":{\"extension_type\":"
        "\"property-extension\",\"recipients\":[\"sector:telecom\",\"bank-x\"],\"publisher_org\":\"bank-a\"}},"
        " \"x_infohub_recipients\":[\"sector:telecom\",\"bank-x\"],\"x_infohub_publisher_org\":\"bank-a\","
        " \"object_refs\":[\"indicator--7\"]},"
        "{\"type\":\"report\",\"id\":\"report--3\",\"name\":\"By creator\",\"created_by_ref\":\"identity--2\","
        " \"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"],\"object_refs\":[]},"
        "{\"type\":\"indicator\",\"id\":\"indicator--7\",\"pattern\":\"[domain-name:value = 'evil-7.xyz']\"},"
        "%s]}";
    const char *loose [2] = {
        "{\"type\":\"indicator\",\"id\":\"indicator--8\",\"created_by_ref\":\"identity--1\","
        " \"pattern\":\"[domain-name:value = 'evil-8.xyz']\"}",
        "{\"type\":\"indicator\",\"id\":\"indicator--9\",\"created_by_ref\":\"identity--2\","
        " \"pattern\":\"[domain-name:value = 'evil-9.xyz']\"},"
        "{\"type\":\"indicator\",\"id\":\"indicator--10\",\"created_by_ref\":\"identity--2\","
        " \"pattern\":\"[domain-name:value = 'evil-10.xyz']\"}" };
    char text [4096], ids [2][IH_UUID_LEN + 1];
    g.o.org = "bank-b";
    g.o.tlp = IH_TLP_GREEN;
    for (int k = 0; k < 2; k++) {
        snprintf (doc, sizeof doc, "%s,%s", loose [k], loose [1 - k]);
        snprintf (text, sizeof text, ext, doc);
        IH_CHECK (ih_import_t_run (&g, IH_IMPORT_STIX21, text) == 0 && g.n == 4);
        m = &g.msgs [0];
        IH_CHECK (streq (m->title, "Strict") && m->tlp == IH_TLP_AMBER && m->recipients.count == 2);
        IH_CHECK (ih_strlist_has (&m->recipients, "sector:telecom") && ih_strlist_has (&m->tags, "source:bank-a"));
        IH_CHECK (ih_import_t_has (m, IH_IOC_DOMAIN, "evil-7.xyz"));
        IH_CHECK (ih_import_t_skipped (&g.rep, "older version of a STIX object") == 1);
        IH_CHECK (streq (g.msgs [1].title, "By creator") && ih_strlist_has (&g.msgs [1].tags, "source:CERT-X"));
        //  the loose indicators: bank-a's, then CERT-X's (order of first appearance)
        int a = k == 0 ? 2 : 3, b = k == 0 ? 3 : 2;
        IH_CHECK (ih_strlist_has (&g.msgs [a].tags, "source:bank-a") && g.msgs [a].ioc_count == 1);
        IH_CHECK (ih_strlist_has (&g.msgs [b].tags, "source:CERT-X") && g.msgs [b].ioc_count == 2);
        if (k == 0)
            snprintf (ids [0], sizeof ids [0], "%s", g.msgs [b].id);
        else
            snprintf (ids [1], sizeof ids [1], "%s", g.msgs [b].id);
        ih_import_t_reset (&g);
    }
    IH_CHECK (streq (ids [0], ids [1]));
    g.o.org = NULL;
    g.o.tlp = -1;

    //  import (export (x)) keeps every IOC and the TLP.
    ih_import_t_round_trip (IH_EXPORT_STIX21, IH_IMPORT_STIX21);
}
#endif
