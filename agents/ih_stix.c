/*  ih_stix.c: the STIX 2.1 objects of an alert (ih_stix.h).

    Read top to bottom: ids (UUIDv5 with nettle's SHA-1), markings, patterns, the object
    builders (with the one function that knows how Infohub's own properties are carried),
    the walks the callers use, the self-test.
*/
#include <czmq.h>
#include <nettle/sha1.h>

#include "ih_stix.h"

#define s_IDENTITY_TIME "2020-01-01T00:00:00.000Z"
#define s_MARKING_TIME  "2022-10-01T00:00:00.000Z"
#define s_EXT_TIME      "2026-01-01T00:00:00.000Z"
#define s_TLP_EXT       "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

/*  The extension-definition's schema property: the normative text in short, and where
    the whole of it is (STIX 2.1 section 7.3: a URL or plain text). */
#define s_EXT_SCHEMA \
    "Infohub alert properties 1.0, a property-extension. On a report (an Infohub alert): " \
    "severity (low, medium, high or critical), category (ransomware, phishing, malware, " \
    "vulnerability, ddos, intrusion, fraud, data-leak, advisory, other or event), revision " \
    "(integer, 1 or more), sectors (list of sector names; absent when none), recipients (list of org " \
    "names and sector:NAME groups the publisher addressed; absent when none, and then the " \
    "TLP alone says who may have the alert; a consumer that shares the alert further never " \
    "widens this audience), publisher_org and publisher_member (names). On an indicator or " \
    "a vulnerability: detect (boolean, MISP's to_ids: fit for automatic detection). Names " \
    "are slugs of at most 64 characters. The normative text and a JSON Schema: " \
    "docs/stix-extension.md in the Infohub source."

/*  The Infohub UUIDv5 namespace. */
static const uint8_t s_namespace [16] = {
    0x0a, 0x6a, 0xf5, 0x82, 0xb9, 0xc6, 0x4c, 0x87, 0xa2, 0x10, 0x1b, 0xdd, 0x44, 0xb0, 0x3d, 0x02
};

/*  TLP marking definitions (FIRST TLP 2.0; OASIS cti-stix-common-objects): TLP 2.0 first,
    in ih_tlp_t order, then TLP 1.0 (STIX 2.1 section 7.2.1.4), which imports still meet. */
static const struct { const char *id; ih_tlp_t tlp; } s_markings [] = {
    { "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", IH_TLP_CLEAR },
    { "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", IH_TLP_GREEN },
    { "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", IH_TLP_AMBER },
    { "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", IH_TLP_AMBER_STRICT },
    { "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", IH_TLP_RED },
    { "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", IH_TLP_CLEAR },
    { "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", IH_TLP_GREEN },
    { "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", IH_TLP_AMBER },
    { "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", IH_TLP_RED },
    { NULL, IH_TLP_CLEAR }
};
static const char *s_tlp_lower [IH_TLP_COUNT] = { "clear", "green", "amber", "amber+strict", "red" };

/* ---- ids -------------------------------------------------------------------------------- */

/*  The end of a UUIDv5: the version and variant bits on the first 16 bytes of the hash. */
static void
s_uuid5_finish (struct sha1_ctx *ctx, char out [IH_UUID_LEN + 1])
{
    uint8_t h [SHA1_DIGEST_SIZE];
    sha1_digest (ctx, sizeof h, h);
    h [6] = (uint8_t) ((h [6] & 0x0f) | 0x50);
    h [8] = (uint8_t) ((h [8] & 0x3f) | 0x80);
    ih_uuid_format (h, out);
}

/*  UUIDv5 of the concatenation of n parts: hashing them one after the other spares
    building the name (an IOC value may be 2 KiB). */
static void
s_uuid5_parts (const uint8_t ns [16], const char *const *parts, size_t n, char out [IH_UUID_LEN + 1])
{
    struct sha1_ctx ctx;
    sha1_init (&ctx);
    sha1_update (&ctx, 16, ns);
    for (size_t i = 0; i < n; i++)
        sha1_update (&ctx, strlen (parts [i]), (const uint8_t *) parts [i]);
    s_uuid5_finish (&ctx, out);
}

void
ih_stix_uuid5 (const char *name, size_t len, char out [IH_UUID_LEN + 1])
{
    struct sha1_ctx ctx;
    sha1_init (&ctx);
    sha1_update (&ctx, 16, s_namespace);
    sha1_update (&ctx, len, (const uint8_t *) name);
    s_uuid5_finish (&ctx, out);
}

void
ih_stix_identity_id (const char *org, char out [IH_STIX_ID_MAX])
{
    const char *parts [] = { "identity|", org };
    char u [IH_UUID_LEN + 1];
    s_uuid5_parts (s_namespace, parts, 2, u);
    snprintf (out, IH_STIX_ID_MAX, "identity--%s", u);
}

void
ih_stix_ioc_id (const char *type, const char *alert_id, const ih_ioc_t *ioc, char out [IH_STIX_ID_MAX])
{
    bool cve = ioc->type == IH_IOC_CVE;
    if (!type)
        type = cve ? "vulnerability" : "indicator";
    const char *parts [] = { type, "|", alert_id, "|", ih_ioc_type_name (ioc->type), "|", ioc->value };
    const char *cve_parts [] = { type, "|", alert_id, "|", ioc->value };
    char u [IH_UUID_LEN + 1];
    if (cve)
        s_uuid5_parts (s_namespace, cve_parts, 5, u);
    else
        s_uuid5_parts (s_namespace, parts, 7, u);
    snprintf (out, IH_STIX_ID_MAX, "%s--%s", type, u);
}

const char *
ih_stix_marking_id (ih_tlp_t tlp)
{
    return (int) tlp >= 0 && tlp < IH_TLP_COUNT ? s_markings [tlp].id : NULL;
}

int
ih_stix_marking_tlp (const char *id)
{
    for (int k = 0; id && s_markings [k].id; k++)
        if (streq (s_markings [k].id, id))
            return (int) s_markings [k].tlp;
    return -1;
}

/* ---- patterns --------------------------------------------------------------------------- */

int
ih_stix_pattern (const ih_ioc_t *ioc, ih_buf_t *out)
{
    const char *path = NULL;
    switch (ioc->type) {
        case IH_IOC_IPV4:     path = "ipv4-addr:value"; break;
        case IH_IOC_IPV6:     path = "ipv6-addr:value"; break;
        case IH_IOC_CIDR:     path = strchr (ioc->value, ':') ? "ipv6-addr:value" : "ipv4-addr:value"; break;
        case IH_IOC_DOMAIN:   path = "domain-name:value"; break;
        case IH_IOC_URL:      path = "url:value"; break;
        case IH_IOC_EMAIL:    path = "email-addr:value"; break;
        case IH_IOC_MD5:      path = "file:hashes.MD5"; break;
        case IH_IOC_SHA1:     path = "file:hashes.'SHA-1'"; break;
        case IH_IOC_SHA256:   path = "file:hashes.'SHA-256'"; break;
        case IH_IOC_FILENAME: path = "file:name"; break;
        case IH_IOC_ASN: {
            const char *v = ioc->value;
            if (strncmp (v, "AS", 2) == 0)
                v += 2;
            ih_buf_append (out, "[autonomous-system:number = ", 28);
            ih_buf_append (out, v, strlen (v));
            ih_buf_append (out, "]", 1);
            return 0;
        }
        default:
            return -1;
    }
    ih_buf_append (out, "[", 1);
    ih_buf_append (out, path, strlen (path));
    ih_buf_append (out, " = '", 4);
    for (const char *p = ioc->value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            ih_buf_append (out, "\\", 1);
        ih_buf_append (out, p, 1);
    }
    ih_buf_append (out, "']", 2);
    return 0;
}

/* ---- building objects ------------------------------------------------------------------- */

/*  Keys are literals of ours: no need for jansson to check them. */
static void
s_set (json_t *o, const char *key, json_t *value)
{
    json_object_set_new_nocheck (o, key, value);
}

/*  A string from the store (see the header on text that is not UTF-8). */
static json_t *
s_strn (const char *s, size_t n)
{
    json_t *j = json_stringn (s, n);
    if (j)
        return j;
    char *copy = (char *) malloc (n + 1);
    if (!copy)
        abort ();
    for (size_t i = 0; i < n; i++)
        copy [i] = (unsigned char) s [i] < 0x80 ? s [i] : '?';
    j = json_stringn (copy, n);
    free (copy);
    return j;
}

static json_t *
s_str (const char *s)
{
    return s_strn (s, strlen (s));
}

/*  An id, a time or a name of ours: ASCII. */
static json_t *
s_ascii (const char *s)
{
    return json_string_nocheck (s);
}

static json_t *
s_list (const ih_strlist_t *l)
{
    json_t *a = json_array ();
    for (uint32_t i = 0; i < l->count; i++)
        json_array_append_new (a, s_str (l->items [i]));
    return a;
}

static json_t *
s_one (const char *ascii)
{
    json_t *a = json_array ();
    json_array_append_new (a, s_ascii (ascii));
    return a;
}

/*  Infohub's own properties, and the one place that knows how they travel: in a STIX 2.1
    property-extension (section 7.3), "extensions": {IH_STIX_EXTENSION_ID:
    {"extension_type": "property-extension", NAME: VALUE, ...}}, last in the object, whose
    extension-definition (s_extension) is a shared object. s_prop_set adds one; the first
    call makes the extension. Strict consumers refuse the custom properties x_infohub_NAME
    earlier versions wrote (section 11.1); ih_stix_prop still reads them. */
static void
s_prop_set (json_t *o, const char *name, json_t *value)
{
    json_t *exts = json_object_get (o, "extensions");
    if (!exts) {
        exts = json_object ();
        json_object_set_new_nocheck (o, "extensions", exts);
    }
    json_t *ext = json_object_get (exts, IH_STIX_EXTENSION_ID);
    if (!ext) {
        ext = json_object ();
        json_object_set_new_nocheck (ext, "extension_type", json_string_nocheck ("property-extension"));
        json_object_set_new_nocheck (exts, IH_STIX_EXTENSION_ID, ext);
    }
    json_object_set_new_nocheck (ext, name, value);
}

json_t *
ih_stix_prop (json_t *o, const char *name)
{
    if (!json_is_object (o) || !name || streq (name, "extension_type"))
        return NULL;
    json_t *ext = json_object_get (json_object_get (o, "extensions"), IH_STIX_EXTENSION_ID);
    json_t *v = json_is_object (ext) ? json_object_get (ext, name) : NULL;
    if (v)
        return v;
    char key [64];
    if (!ih_fmt (key, sizeof key, "x_infohub_%s", name))
        return NULL;
    return json_object_get (o, key);
}

/*  The common head of an object: type, spec_version, id, created, and modified and
    created_by_ref when given. */
static json_t *
s_head (const char *type, const char *id, const char *created, const char *modified, const char *by)
{
    json_t *o = json_object ();
    s_set (o, "type", s_ascii (type));
    s_set (o, "spec_version", s_ascii ("2.1"));
    s_set (o, "id", s_ascii (id));
    s_set (o, "created", s_ascii (created));
    if (modified)
        s_set (o, "modified", s_ascii (modified));
    if (by)
        s_set (o, "created_by_ref", s_ascii (by));
    return o;
}

static json_t *
s_marking (ih_tlp_t t)
{
    json_t *o = s_head ("marking-definition", s_markings [t].id, s_MARKING_TIME, NULL, NULL);
    char name [32];
    ih_fmt (name, sizeof name, "TLP:%s", ih_tlp_name (t));
    s_set (o, "name", s_ascii (name));
    json_t *ext = json_object ();
    s_set (ext, "extension_type", s_ascii ("property-extension"));
    s_set (ext, "tlp_2_0", s_ascii (s_tlp_lower [t]));
    json_t *exts = json_object ();
    s_set (exts, s_TLP_EXT, ext);
    s_set (o, "extensions", exts);
    return o;
}

static json_t *
s_identity (const char *org)
{
    char id [IH_STIX_ID_MAX];
    ih_stix_identity_id (org, id);
    json_t *o = s_head ("identity", id, s_IDENTITY_TIME, s_IDENTITY_TIME, NULL);
    s_set (o, "name", s_str (org));
    s_set (o, "identity_class", s_ascii ("organization"));
    return o;
}

/*  Infohub itself, the producer of the extension-definition. */
static json_t *
s_producer (void)
{
    json_t *o = s_head ("identity", IH_STIX_PRODUCER_ID, s_IDENTITY_TIME, s_IDENTITY_TIME, NULL);
    s_set (o, "name", s_ascii ("Infohub"));
    s_set (o, "description", s_ascii ("Infohub, a threat information sharing hub: the producer "
                                      "of the Infohub alert properties extension."));
    s_set (o, "identity_class", s_ascii ("system"));
    return o;
}

/*  The extension-definition of Infohub's own properties (s_prop_set). */
static json_t *
s_extension (void)
{
    json_t *o = s_head ("extension-definition", IH_STIX_EXTENSION_ID, s_EXT_TIME, s_EXT_TIME,
                        IH_STIX_PRODUCER_ID);
    s_set (o, "name", s_ascii ("Infohub alert properties"));
    s_set (o, "description", s_ascii ("What an Infohub alert says that STIX has no property for: "
                                      "severity, category, revision, sectors, recipients and "
                                      "publisher on the report; the detect flag on indicators "
                                      "and vulnerabilities."));
    s_set (o, "schema", s_ascii (s_EXT_SCHEMA));
    s_set (o, "version", s_ascii ("1.0"));
    s_set (o, "extension_types", s_one ("property-extension"));
    return o;
}

/*  What every object of an alert shares. */
typedef struct {
    const ih_msg_t *m;
    char by [IH_STIX_ID_MAX];
    char created [IH_TIME_MAX];
    char modified [IH_TIME_MAX];
    const char *marking;
    ih_buf_t pattern;           /* scratch */
} s_alert_t;

static json_t *
s_report (s_alert_t *a, const ih_ioc_t *iocs, uint32_t n)
{
    const ih_msg_t *m = a->m;
    char id [IH_STIX_ID_MAX];
    snprintf (id, sizeof id, "report--%s", m->id);
    json_t *o = s_head ("report", id, a->created, a->modified, a->by);
    s_set (o, "name", s_str (m->title));
    if (m->summary [0])
        s_set (o, "description", s_str (m->summary));
    s_set (o, "published", s_ascii (a->modified));
    s_set (o, "report_types", s_one (m->category == IH_CAT_VULNERABILITY ? "vulnerability" : "threat-report"));
    if (m->tags.count)
        s_set (o, "labels", s_list (&m->tags));
    json_t *refs = json_array ();
    json_t *ours = json_object ();
    s_set (ours, "source_name", s_ascii ("infohub"));
    s_set (ours, "external_id", s_str (m->id));
    json_array_append_new (refs, ours);
    for (uint32_t i = 0; i < m->references.count; i++) {
        json_t *r = json_object ();
        s_set (r, "source_name", s_ascii ("reference"));
        s_set (r, "url", s_str (m->references.items [i]));
        json_array_append_new (refs, r);
    }
    s_set (o, "external_references", refs);
    //  The ids are derived, so known before the objects are built.
    json_t *objs = json_array ();
    for (uint32_t i = 0; i < n; i++) {
        ih_stix_ioc_id (NULL, m->id, &iocs [i], id);
        json_array_append_new (objs, s_ascii (id));
    }
    if (n == 0)
        json_array_append_new (objs, s_ascii (a->by));     //  object_refs may not be empty
    s_set (o, "object_refs", objs);
    s_set (o, "object_marking_refs", s_one (a->marking));
    s_prop_set (o, "severity", s_ascii (ih_severity_name (m->severity)));
    s_prop_set (o, "category", s_ascii (ih_category_name (m->category)));
    s_prop_set (o, "revision", json_integer (m->revision));
    //  Empty lists are left out: STIX 2.1 allows no empty list, in an extension either.
    if (m->sectors.count)
        s_prop_set (o, "sectors", s_list (&m->sectors));
    if (m->recipients.count)
        s_prop_set (o, "recipients", s_list (&m->recipients));
    s_prop_set (o, "publisher_org", s_str (m->org));
    s_prop_set (o, "publisher_member", s_str (m->member));
    return o;
}

/*  An indicator, or a vulnerability for a CVE. */
static json_t *
s_ioc (s_alert_t *a, const ih_ioc_t *ioc, const char *id)
{
    bool cve = ioc->type == IH_IOC_CVE;
    json_t *o = s_head (cve ? "vulnerability" : "indicator", id, a->created, a->modified, a->by);
    s_set (o, "name", s_str (ioc->value));
    if (ioc->comment [0])
        s_set (o, "description", s_str (ioc->comment));
    if (cve) {
        json_t *r = json_object ();
        s_set (r, "source_name", s_ascii ("cve"));
        s_set (r, "external_id", s_str (ioc->value));
        json_t *refs = json_array ();
        json_array_append_new (refs, r);
        s_set (o, "external_references", refs);
    }
    else {
        ih_buf_reset (&a->pattern);
        ih_stix_pattern (ioc, &a->pattern);
        s_set (o, "indicator_types", s_one ("malicious-activity"));
        s_set (o, "pattern", s_strn ((const char *) a->pattern.data, a->pattern.len));
        s_set (o, "pattern_type", s_ascii ("stix"));
        s_set (o, "pattern_version", s_ascii ("2.1"));
        s_set (o, "valid_from", s_ascii (a->created));
    }
    s_set (o, "object_marking_refs", s_one (a->marking));
    s_prop_set (o, "detect", json_boolean (ioc->detect));
    return o;
}

/*  Hands a new object to fn and lets go of it. */
static int
s_give (json_t *o, ih_stix_fn *fn, void *arg)
{
    int rc = fn (o, arg);
    json_decref (o);
    return rc;
}

/* ---- the walks -------------------------------------------------------------------------- */

/*  What every alert's objects need whatever the alert: the producer and the extension
    that carries Infohub's properties, in that order (the definition refers to the
    producer). */
static int
s_infohub (ih_stix_fn *fn, void *arg)
{
    int rc = s_give (s_producer (), fn, arg);
    if (rc == 0)
        rc = s_give (s_extension (), fn, arg);
    return rc;
}

int
ih_stix_fixed (ih_stix_fn *fn, void *arg)
{
    int rc = s_infohub (fn, arg);
    for (int t = 0; t < IH_TLP_COUNT && rc == 0; t++)
        rc = s_give (s_marking ((ih_tlp_t) t), fn, arg);
    return rc;
}

int
ih_stix_shared (const ih_msg_t *m, ih_stix_fn *fn, void *arg)
{
    int rc = s_infohub (fn, arg);
    if (rc == 0)
        rc = s_give (s_marking (m->tlp), fn, arg);
    if (rc == 0)
        rc = s_give (s_identity (m->org), fn, arg);
    return rc;
}

int
ih_stix_own (const ih_msg_t *m, const ih_ioc_t *iocs, uint32_t n, ih_stix_fn *fn, void *arg)
{
    s_alert_t a;
    a.m = m;
    ih_stix_identity_id (m->org, a.by);
    ih_time_format (m->created, a.created);
    ih_time_format (m->modified, a.modified);
    a.marking = s_markings [m->tlp].id;
    ih_buf_init (&a.pattern);
    json_t *rep = s_report (&a, iocs, n);
    //  The report's object_refs name the objects that follow: keep them for their ids
    //  (the callback may keep the report, never change it).
    json_t *refs = json_incref (json_object_get (rep, "object_refs"));
    int rc = s_give (rep, fn, arg);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = s_give (s_ioc (&a, &iocs [i], json_string_value (json_array_get (refs, i))), fn, arg);
    json_decref (refs);
    ih_buf_free (&a.pattern);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

typedef struct {
    json_t *all;
    int stop_at;                /* stop (returning 7) before this many; 0 = never */
} s_t_got_t;

static int
s_t_take (json_t *o, void *arg)
{
    s_t_got_t *g = (s_t_got_t *) arg;
    if (g->stop_at && (int) json_array_size (g->all) + 1 == g->stop_at)
        return 7;
    json_array_append (g->all, o);
    return 0;
}

static const char *
s_t_get (json_t *o, const char *key)
{
    return json_string_value (json_object_get (o, key));
}

void
ih_stix_test (bool verbose)
{
    //  UUIDv5 against the RFC 4122 example namespace (DNS), and ours.
    static const uint8_t dns_ns [16] = {
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
    };
    char u [IH_UUID_LEN + 1], u2 [IH_UUID_LEN + 1];
    const char *py [] = { "python", ".org" };
    s_uuid5_parts (dns_ns, py, 2, u);
    IH_CHECK (streq (u, "886313e1-3b8a-5372-9b90-0c9aee199e5d"));
    ih_stix_uuid5 ("x", 1, u);
    IH_CHECK (ih_uuid_valid (u) && u [14] == '5');
    ih_stix_uuid5 ("identity|bank-a", 15, u);
    char id [IH_STIX_ID_MAX];
    ih_stix_identity_id ("bank-a", id);
    IH_CHECK (strncmp (id, "identity--", 10) == 0 && streq (id + 10, u));
    IH_CHECK (streq (id, "identity--5bf9180d-ab8d-503a-8473-aa03ef42d812"));   //  published ids never change
    ih_stix_identity_id ("Infohub", id);
    IH_CHECK (streq (id, IH_STIX_PRODUCER_ID));

    //  IOC ids: the name with the IOC type, without it for a CVE; MISP's kind on request.
    ih_ioc_t ip = { IH_IOC_IPV4, "45.33.32.156", "", true };
    ih_ioc_t cve = { IH_IOC_CVE, "CVE-2024-3400", "", true };
    const char *alert = "6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10";
    ih_stix_ioc_id (NULL, alert, &ip, id);
    ih_stix_uuid5 ("indicator|6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10|ipv4|45.33.32.156", 64, u);
    IH_CHECK (strncmp (id, "indicator--", 11) == 0 && streq (id + 11, u));
    ih_stix_ioc_id (NULL, alert, &cve, id);
    ih_stix_uuid5 ("vulnerability|6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10|CVE-2024-3400", 64, u);
    IH_CHECK (strncmp (id, "vulnerability--", 15) == 0 && streq (id + 15, u));
    ih_stix_ioc_id ("indicator", alert, &cve, id);
    ih_stix_uuid5 ("indicator|6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10|CVE-2024-3400", 60, u2);
    IH_CHECK (streq (id + 11, u2));

    //  Markings: both ways, TLP 1.0 read, others not.
    for (int t = 0; t < IH_TLP_COUNT; t++)
        IH_CHECK (ih_stix_marking_tlp (ih_stix_marking_id ((ih_tlp_t) t)) == t);
    IH_CHECK (ih_stix_marking_id ((ih_tlp_t) 9) == NULL);
    IH_CHECK (ih_stix_marking_tlp ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9") == IH_TLP_CLEAR);
    IH_CHECK (ih_stix_marking_tlp ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed") == IH_TLP_RED);
    IH_CHECK (ih_stix_marking_tlp ("marking-definition--x") == -1 && ih_stix_marking_tlp (NULL) == -1);

    //  Patterns: escaping, asn, cidr family, hashes, no pattern for a cve.
    ih_buf_t pb;
    ih_buf_init (&pb);
    ih_ioc_t url = { IH_IOC_URL, "http://x.example/a'b\\c", "", true };
    IH_CHECK (ih_stix_pattern (&url, &pb) == 0);
    ih_buf_append (&pb, "", 1);
    IH_CHECK (streq ((char *) pb.data, "[url:value = 'http://x.example/a\\'b\\\\c']"));
    ih_ioc_t asn = { IH_IOC_ASN, "AS64496", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_stix_pattern (&asn, &pb) == 0);
    ih_buf_append (&pb, "", 1);
    IH_CHECK (streq ((char *) pb.data, "[autonomous-system:number = 64496]"));
    ih_ioc_t v6 = { IH_IOC_CIDR, "2001:db8::/32", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_stix_pattern (&v6, &pb) == 0);
    IH_CHECK (pb.len == 35 && memcmp (pb.data, "[ipv6-addr:value = '2001:db8::/32']", pb.len) == 0);
    ih_ioc_t sha1 = { IH_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "", true };
    ih_buf_reset (&pb);
    IH_CHECK (ih_stix_pattern (&sha1, &pb) == 0);
    IH_CHECK (memcmp (pb.data, "[file:hashes.'SHA-1' = '", 24) == 0);
    ih_buf_reset (&pb);
    IH_CHECK (ih_stix_pattern (&cve, &pb) == -1 && pb.len == 0);
    ih_buf_free (&pb);

    //  The objects of an alert.
    ih_msg_t m;
    ih_tk_alert (&m, NULL, IH_TLP_AMBER, "Wave \"one\"");
    m.created = 1764349536123LL;
    m.modified = m.created + 1000;
    m.revision = 3;
    m.category = IH_CAT_VULNERABILITY;
    ih_msg_strlist_add (&m, &m.tags, "wave");
    ih_msg_strlist_add (&m, &m.sectors, "finance");
    ih_msg_strlist_add (&m, &m.references, "https://ref.example.net/a");
    ih_msg_strlist_add (&m, &m.recipients, "bank-b");
    ih_msg_strlist_add (&m, &m.recipients, "sector:energy");
    const char *iocs [] = { "ipv4:45.33.32.156", "url:http://evil.example/a'b", "cve:CVE-2024-3400", NULL };
    ih_tk_iocs (&m, iocs, true);
    m.iocs [1].detect = false;
    m.iocs [0].comment = "c2";
    s_t_got_t g = { json_array (), 0 };
    IH_CHECK (ih_stix_own (&m, m.iocs, m.ioc_count, s_t_take, &g) == 0);
    IH_CHECK (json_array_size (g.all) == 4);
    json_t *rep = json_array_get (g.all, 0);
    char rid [IH_STIX_ID_MAX];
    snprintf (rid, sizeof rid, "report--%s", m.id);
    IH_CHECK (streq (s_t_get (rep, "type"), "report") && streq (s_t_get (rep, "id"), rid));
    IH_CHECK (streq (s_t_get (rep, "name"), "Wave \"one\"") && streq (s_t_get (rep, "description"), m.summary));
    IH_CHECK (streq (s_t_get (rep, "created"), "2025-11-28T17:05:36.123Z"));
    IH_CHECK (streq (s_t_get (rep, "published"), "2025-11-28T17:05:37.123Z"));
    IH_CHECK (streq (json_string_value (json_array_get (json_object_get (rep, "report_types"), 0)), "vulnerability"));
    IH_CHECK (streq (json_string_value (json_array_get (json_object_get (rep, "object_marking_refs"), 0)),
                     ih_stix_marking_id (IH_TLP_AMBER)));
    IH_CHECK (json_array_size (json_object_get (rep, "external_references")) == 2);
    IH_CHECK (streq (json_string_value (ih_stix_prop (rep, "severity")), "high"));
    IH_CHECK (json_integer_value (ih_stix_prop (rep, "revision")) == 3);
    IH_CHECK (json_array_size (ih_stix_prop (rep, "sectors")) == 1 && !ih_stix_prop (rep, "detect"));
    json_t *rcp = ih_stix_prop (rep, "recipients");
    IH_CHECK (json_array_size (rcp) == 2 && streq (json_string_value (json_array_get (rcp, 1)), "sector:energy"));
    IH_CHECK (streq (json_string_value (ih_stix_prop (rep, "publisher_org")), "bank-a"));
    IH_CHECK (streq (json_string_value (ih_stix_prop (rep, "publisher_member")), "soc"));
    IH_CHECK (!ih_stix_prop (rep, "extension_type") && !ih_stix_prop (rep, "nothing"));
    //  No custom property: everything of ours is in the one extension, last.
    const char *key;
    json_t *val;
    const char *last = NULL;
    json_object_foreach (rep, key, val) {
        IH_CHECK (strncmp (key, "x_", 2) != 0);
        last = key;
    }
    IH_CHECK (streq (last, "extensions") && json_object_size (json_object_get (rep, "extensions")) == 1);
    IH_CHECK (streq (s_t_get (json_object_get (json_object_get (rep, "extensions"), IH_STIX_EXTENSION_ID),
                              "extension_type"), "property-extension"));
    json_t *refs = json_object_get (rep, "object_refs");
    IH_CHECK (json_array_size (refs) == 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *o = json_array_get (g.all, i + 1);
        IH_CHECK (streq (s_t_get (o, "id"), json_string_value (json_array_get (refs, i))));
        IH_CHECK (streq (s_t_get (o, "created_by_ref"), s_t_get (rep, "created_by_ref")));
        IH_CHECK (json_is_true (ih_stix_prop (o, "detect")) == (i != 1));
    }
    json_t *vul = json_array_get (g.all, 3);
    IH_CHECK (streq (s_t_get (vul, "type"), "vulnerability") && !json_object_get (vul, "pattern"));
    //  The exact bytes of an indicator, as every export and TAXII page writes them.
    char *text = json_dumps (json_array_get (g.all, 1), JSON_COMPACT);
    ih_stix_ioc_id (NULL, m.id, &m.iocs [0], id);
    char by [IH_STIX_ID_MAX], want [1024];
    ih_stix_identity_id ("bank-a", by);
    ih_fmt (want, sizeof want, "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"%s\",\"created\":"
            "\"2025-11-28T17:05:36.123Z\",\"modified\":\"2025-11-28T17:05:37.123Z\",\"created_by_ref\":\"%s\","
            "\"name\":\"45.33.32.156\",\"description\":\"c2\",\"indicator_types\":[\"malicious-activity\"],"
            "\"pattern\":\"[ipv4-addr:value = '45.33.32.156']\",\"pattern_type\":\"stix\",\"pattern_version\":"
            "\"2.1\",\"valid_from\":\"2025-11-28T17:05:36.123Z\",\"object_marking_refs\":[\"%s\"],"
            "\"extensions\":{\"%s\":{\"extension_type\":\"property-extension\",\"detect\":true}}}",
            id, by, ih_stix_marking_id (IH_TLP_AMBER), IH_STIX_EXTENSION_ID);
    if (verbose)
        printf ("\n    %s", text);
    IH_CHECK (streq (text, want));
    free (text);
    //  Two builds, the same bytes.
    s_t_got_t g2 = { json_array (), 0 };
    IH_CHECK (ih_stix_own (&m, m.iocs, m.ioc_count, s_t_take, &g2) == 0);
    IH_CHECK (json_equal (g.all, g2.all));
    json_decref (g2.all);
    json_array_clear (g.all);

    //  Properties written by earlier versions as x_infohub_NAME still read; the
    //  extension wins when both are there.
    json_t *legacy = json_pack ("{s:s, s:s, s:b}", "type", "indicator", "x_infohub_severity", "low",
                                "x_infohub_detect", 0);
    IH_CHECK (streq (json_string_value (ih_stix_prop (legacy, "severity")), "low"));
    IH_CHECK (json_is_false (ih_stix_prop (legacy, "detect")));
    json_object_set_new (legacy, "extensions", json_pack ("{s:{s:s, s:b}}", IH_STIX_EXTENSION_ID,
                         "extension_type", "property-extension", "detect", 1));
    IH_CHECK (json_is_true (ih_stix_prop (legacy, "detect")));
    IH_CHECK (streq (json_string_value (ih_stix_prop (legacy, "severity")), "low"));
    IH_CHECK (ih_stix_prop (NULL, "detect") == NULL);
    json_decref (legacy);
    //  Empty lists stay out (STIX allows none): no sectors, no recipients.
    ih_msg_t bare;
    ih_tk_alert (&bare, NULL, IH_TLP_GREEN, "Bare");
    IH_CHECK (ih_stix_own (&bare, bare.iocs, 0, s_t_take, &g) == 0);
    json_t *brep = json_array_get (g.all, json_array_size (g.all) - 1);
    IH_CHECK (!ih_stix_prop (brep, "recipients") && !ih_stix_prop (brep, "sectors"));
    IH_CHECK (streq (json_string_value (ih_stix_prop (brep, "severity")), "high"));
    ih_msg_free (&bare);
    json_array_clear (g.all);

    //  No IOC: the report refers to its publisher. A callback stops a walk.
    IH_CHECK (ih_stix_own (&m, m.iocs, 0, s_t_take, &g) == 0 && json_array_size (g.all) == 1);
    refs = json_object_get (json_array_get (g.all, 0), "object_refs");
    IH_CHECK (json_array_size (refs) == 1 && streq (json_string_value (json_array_get (refs, 0)), by));
    json_array_clear (g.all);
    g.stop_at = 2;
    IH_CHECK (ih_stix_own (&m, m.iocs, m.ioc_count, s_t_take, &g) == 7 && json_array_size (g.all) == 1);
    json_array_clear (g.all);
    g.stop_at = 0;

    //  Shared and fixed objects: Infohub and its extension first.
    IH_CHECK (ih_stix_shared (&m, s_t_take, &g) == 0 && json_array_size (g.all) == 4);
    json_t *prod = json_array_get (g.all, 0), *ext = json_array_get (g.all, 1);
    IH_CHECK (streq (s_t_get (prod, "id"), IH_STIX_PRODUCER_ID) && streq (s_t_get (prod, "name"), "Infohub"));
    IH_CHECK (streq (s_t_get (prod, "type"), "identity") && streq (s_t_get (prod, "identity_class"), "system"));
    IH_CHECK (streq (s_t_get (ext, "id"), IH_STIX_EXTENSION_ID) && streq (s_t_get (ext, "type"), "extension-definition"));
    IH_CHECK (streq (s_t_get (ext, "created_by_ref"), IH_STIX_PRODUCER_ID) && streq (s_t_get (ext, "version"), "1.0"));
    IH_CHECK (streq (s_t_get (ext, "name"), "Infohub alert properties") && strstr (s_t_get (ext, "schema"), "docs/stix-extension.md"));
    json_t *types = json_object_get (ext, "extension_types");
    IH_CHECK (json_array_size (types) == 1 && streq (json_string_value (json_array_get (types, 0)), "property-extension"));
    IH_CHECK (s_t_get (ext, "modified") && s_t_get (ext, "spec_version"));
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 2), "id"), ih_stix_marking_id (IH_TLP_AMBER)));
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 2), "name"), "TLP:AMBER"));
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 3), "id"), by));
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 3), "name"), "bank-a"));
    json_array_clear (g.all);
    IH_CHECK (ih_stix_fixed (s_t_take, &g) == 0 && json_array_size (g.all) == 2 + IH_TLP_COUNT);
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 1), "id"), IH_STIX_EXTENSION_ID));
    json_t *strict = json_array_get (g.all, 2 + IH_TLP_AMBER_STRICT);
    IH_CHECK (streq (s_t_get (strict, "name"), "TLP:AMBER+STRICT"));
    IH_CHECK (streq (s_t_get (json_object_get (json_object_get (strict, "extensions"), s_TLP_EXT), "tlp_2_0"),
                     "amber+strict"));
    json_array_clear (g.all);

    //  Text that is not UTF-8 (the codec never lets it through) keeps its property.
    m.iocs [0].comment = "bad \xff byte";
    IH_CHECK (ih_stix_own (&m, m.iocs, 1, s_t_take, &g) == 0);
    IH_CHECK (streq (s_t_get (json_array_get (g.all, 1), "description"), "bad ? byte"));
    json_decref (g.all);
    ih_msg_free (&m);
    if (verbose)
        printf ("\n    ");
}
#endif
