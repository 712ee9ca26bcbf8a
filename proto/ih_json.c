/*  ih_json.c: the user-facing JSON form of a message (ih_json.h),
    with jansson, both ways.

    Output is built in a fixed key order (jansson keeps insertion order), so that
    `list --json` lines are stable and diffable. Input is strict: every key is known for
    the message kind, every value has the right type, strings and lists respect the
    limits of ih_msg.h, enums go through the ih_*_parse functions and IOC values through
    ih_ioc_normalise. Output-only keys (id, publisher, created, ...) are accepted and
    checked too, so that JSON -> ih_msg_t -> JSON loses nothing.
*/
#include "ih_json.h"
#include "ih_ioc.h"
#include "ih_codec.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>


/* ---- output helpers -------------------------------------------------------------- */

/*  Adds v under key; jansson only fails here when out of memory, and like czmq we
    abort then rather than return half an object. */
static void
s_set (json_t *obj, const char *key, json_t *v)
{
    if (!v)
        v = json_null ();
    if (json_object_set_new (obj, key, v) != 0) {
        fprintf (stderr, "ih_json: out of memory\n");
        abort ();
    }
}

static void
s_append (json_t *arr, json_t *v)
{
    if (!v)
        v = json_null ();
    if (json_array_append_new (arr, v) != 0) {
        fprintf (stderr, "ih_json: out of memory\n");
        abort ();
    }
}

/*  Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates,
    nothing above U+10FFFF), or 0 when it is not one. */
static size_t
s_utf8_len (const uint8_t *s, size_t left)
{
    uint8_t c = s [0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    else
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    }
    else
    if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    }
    else
    if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    }
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s [i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s [i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))
    ||  (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/*  A JSON string for s. Strings of a message decoded from the wire should be UTF-8; if
    one is not, each bad byte becomes U+FFFD rather than the whole output failing. */
static json_t *
s_str (const char *s)
{
    if (!s)
        s = "";
    json_t *j = json_string (s);
    if (j)
        return j;
    size_t len = strlen (s);
    ih_buf_t b;
    ih_buf_init (&b);
    const uint8_t *p = (const uint8_t *) s;
    size_t i = 0;
    while (i < len) {
        size_t n = s_utf8_len (p + i, len - i);
        if (n == 0) {
            ih_buf_append (&b, "\xEF\xBF\xBD", 3);
            i++;
        }
        else {
            ih_buf_append (&b, p + i, n);
            i += n;
        }
    }
    j = json_stringn (b.len ? (const char *) b.data : "", b.len);
    ih_buf_free (&b);
    return j;
}

/*  An enum name, or null when the value is out of range (ih_msg_validate rejects such a
    message; this keeps the dump of a broken one possible). */
static json_t *
s_name (const char *name)
{
    return name ? json_string (name) : json_null ();
}

static json_t *
s_time (int64_t ms)
{
    char t [IH_TIME_MAX];
    ih_time_format (ms, t);
    return json_string (t);
}

static json_t *
s_strlist (const ih_strlist_t *l)
{
    json_t *arr = json_array ();
    for (uint32_t i = 0; i < l->count; i++)
        s_append (arr, s_str (l->items [i]));
    return arr;
}

static json_t *
s_iocs (const ih_msg_t *m, const bool *retracted)
{
    json_t *arr = json_array ();
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        json_t *o = json_object ();
        s_set (o, "type", s_name (ih_ioc_type_name (ioc->type)));
        s_set (o, "value", s_str (ioc->value));
        s_set (o, "comment", s_str (ioc->comment));
        s_set (o, "detect", json_boolean (ioc->detect));
        if (retracted && retracted [i])
            s_set (o, "retracted", json_true ());
        s_append (arr, o);
    }
    return arr;
}

static bool
s_signer_set (const ih_msg_t *m)
{
    for (size_t i = 0; i < sizeof m->signer; i++)
        if (m->signer [i])
            return true;
    return false;
}

/*  The keys every kind shares, in output order. Keys whose value is unset in a draft
    (no id, no publisher yet) are left out rather than emitted empty; input treats an
    absent key as the same default, so nothing is lost. */
static void
s_common (json_t *o, const ih_msg_t *m, const ih_json_meta_t *meta)
{
    if (m->id [0])
        s_set (o, "id", s_str (m->id));
    if (m->kind == IH_KIND_ALERT || m->revision != 0)
        s_set (o, "revision", json_integer (m->revision));
    if (meta && meta->seq)
        s_set (o, "seq", json_integer ((json_int_t) meta->seq));
    if (m->created)
        s_set (o, "created", s_time (m->created));
    if (m->modified)
        s_set (o, "modified", s_time (m->modified));
    if ((m->org && *m->org) || (m->member && *m->member)) {
        json_t *p = json_object ();
        s_set (p, "org", s_str (m->org));
        s_set (p, "member", s_str (m->member));
        s_set (o, "publisher", p);
    }
    if (s_signer_set (m)) {
        char hex [2 * sizeof m->signer + 1];
        ih_hex_encode (m->signer, sizeof m->signer, hex);
        s_set (o, "signer", json_string (hex));
    }
    if (m->author && *m->author)
        s_set (o, "author", s_str (m->author));
}

json_t *
ih_msg_to_json (const ih_msg_t *m, const ih_json_meta_t *meta)
{
    json_t *o = json_object ();
    if (!o) {
        fprintf (stderr, "ih_json: out of memory\n");
        abort ();
    }
    if (m->kind != IH_KIND_ALERT)
        s_set (o, "kind", s_name (ih_kind_name (m->kind)));
    s_common (o, m, meta);

    switch (m->kind) {
        case IH_KIND_ALERT:
            if (meta)
                s_set (o, "status", json_string (meta->retracted ? "retracted" : "active"));
            s_set (o, "title", s_str (m->title));
            s_set (o, "summary", s_str (m->summary));
            s_set (o, "tlp", s_name (ih_tlp_name (m->tlp)));
            s_set (o, "severity", s_name (ih_severity_name (m->severity)));
            s_set (o, "category", s_name (ih_category_name (m->category)));
            s_set (o, "sectors", s_strlist (&m->sectors));
            s_set (o, "recipients", s_strlist (&m->recipients));
            s_set (o, "references", s_strlist (&m->references));
            s_set (o, "tags", s_strlist (&m->tags));
            s_set (o, "iocs", s_iocs (m, meta ? meta->ioc_retracted : NULL));
            if (meta && meta->revisions)
                s_set (o, "revisions", json_integer (meta->revisions));
            if (meta && meta->sightings)
                s_set (o, "sightings", json_integer (meta->sightings));
            break;
        case IH_KIND_RETRACTION:
            if (m->ref [0])
                s_set (o, "ref", s_str (m->ref));
            s_set (o, "text", s_str (m->text));
            s_set (o, "iocs", s_iocs (m, NULL));
            break;
        case IH_KIND_COMMENT:
            if (m->ref [0])
                s_set (o, "ref", s_str (m->ref));
            s_set (o, "text", s_str (m->text));
            break;
        case IH_KIND_SIGHTING:
            if (m->ref [0])
                s_set (o, "ref", s_str (m->ref));
            s_set (o, "iocs", s_iocs (m, NULL));
            s_set (o, "tlp", s_name (ih_tlp_name (m->tlp)));
            s_set (o, "count", json_integer (m->count));
            break;
        default:
            break;
    }
    return o;
}

char *
ih_msg_to_json_str (const ih_msg_t *m, const ih_json_meta_t *meta)
{
    json_t *o = ih_msg_to_json (m, meta);
    char *s = json_dumps (o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (o);
    if (!s) {
        fprintf (stderr, "ih_json: out of memory\n");
        abort ();
    }
    return s;
}

/* ---- input helpers --------------------------------------------------------------- */

static const char *
s_type_name (const json_t *v)
{
    switch (json_typeof (v)) {
        case JSON_OBJECT:  return "object";
        case JSON_ARRAY:   return "array";
        case JSON_STRING:  return "string";
        case JSON_INTEGER: return "integer";
        case JSON_REAL:    return "number";
        case JSON_TRUE:
        case JSON_FALSE:   return "boolean";
        case JSON_NULL:    return "null";
    }
    return "?";
}

/*  Which kinds a key is allowed in. */
#define S_ALERT   (1u << IH_KIND_ALERT)
#define S_RETR    (1u << IH_KIND_RETRACTION)
#define S_COMMENT (1u << IH_KIND_COMMENT)
#define S_SIGHT   (1u << IH_KIND_SIGHTING)
#define S_ANY     (S_ALERT | S_RETR | S_COMMENT | S_SIGHT)

static const struct {
    const char *name;
    unsigned kinds;
} s_fields [] = {
    { "kind", S_ANY }, { "id", S_ANY }, { "revision", S_ANY }, { "seq", S_ANY },
    { "created", S_ANY }, { "modified", S_ANY }, { "publisher", S_ANY }, { "signer", S_ANY },
    { "author", S_ANY },
    { "status", S_ALERT }, { "title", S_ALERT }, { "summary", S_ALERT },
    { "tlp", S_ALERT | S_SIGHT }, { "severity", S_ALERT }, { "category", S_ALERT },
    { "sectors", S_ALERT }, { "recipients", S_ALERT }, { "references", S_ALERT },
    { "tags", S_ALERT }, { "iocs", S_ALERT | S_RETR | S_SIGHT },
    { "revisions", S_ALERT }, { "sightings", S_ALERT },
    { "ref", S_RETR | S_COMMENT | S_SIGHT }, { "text", S_RETR | S_COMMENT },
    { "count", S_SIGHT },
    { NULL, 0 }
};

/*  Rejects any key of obj not in `allowed` (NULL-terminated); path prefixes the error
    ("iocs[2]" or "publisher"). */
static int
s_only_keys (const json_t *obj, const char *const *allowed, const char *path, ih_err_t *err)
{
    const char *key;
    json_t *v;
    json_t *o = (json_t *) obj;     /* the iterator API is not const-correct */
    json_object_foreach (o, key, v) {
        bool known = false;
        for (size_t i = 0; allowed [i]; i++)
            if (strcmp (key, allowed [i]) == 0)
                known = true;
        if (!known) {
            char q [IH_QUOTE_BUF];
            ih_quote (key, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            return ih_err_set (err, "%s: unknown field '%s'", path, q);
        }
    }
    return 0;
}

/*  Looks key up in obj; returns 1 with *out set when present, 0 when absent,
    -1 when present with another JSON type than `type` (JSON_TRUE meaning boolean). */
static int
s_get (const json_t *obj, const char *path, const char *key, json_type type,
       const json_t **out, ih_err_t *err)
{
    const json_t *v = json_object_get (obj, key);
    if (!v)
        return 0;
    bool ok = type == JSON_TRUE ? json_is_boolean (v) : json_typeof (v) == type;
    if (!ok) {
        const char *want = type == JSON_TRUE ? "boolean"
                         : type == JSON_STRING ? "string"
                         : type == JSON_INTEGER ? "integer"
                         : type == JSON_ARRAY ? "array"
                         : type == JSON_OBJECT ? "object" : "?";
        return ih_err_set (err, "%s%s: expected %s, got %s", path, key, want, s_type_name (v));
    }
    *out = v;
    return 1;
}

/*  A string of at most max bytes. */
static int
s_get_str (const json_t *obj, const char *path, const char *key, size_t max,
           const char **out, ih_err_t *err)
{
    const json_t *v = NULL;
    int rc = s_get (obj, path, key, JSON_STRING, &v, err);
    if (rc <= 0)
        return rc;
    size_t len = json_string_length (v);
    if (len > max)
        return ih_err_set (err, "%s%s: too long (%zu > %zu bytes)", path, key, len, max);
    *out = json_string_value (v);
    return 1;
}

/*  An integer in 0..max. */
static int
s_get_uint (const json_t *obj, const char *key, uint64_t max, uint64_t *out, ih_err_t *err)
{
    const json_t *v = NULL;
    int rc = s_get (obj, "", key, JSON_INTEGER, &v, err);
    if (rc <= 0)
        return rc;
    json_int_t n = json_integer_value (v);
    if (n < 0 || (uint64_t) n > max)
        return ih_err_set (err, "%s: out of range (%" JSON_INTEGER_FORMAT ", expected 0..%" PRIu64 ")",
                           key, n, max);
    *out = (uint64_t) n;
    return 1;
}

static int
s_get_uuid (const json_t *obj, const char *key, char out [IH_UUID_LEN + 1], ih_err_t *err)
{
    const char *s = NULL;
    int rc = s_get_str (obj, "", key, IH_UUID_LEN + 64, &s, err);
    if (rc <= 0)
        return rc;
    if (!ih_uuid_valid (s)) {
        char q [IH_QUOTE_BUF];
        ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
        return ih_err_set (err, "%s: invalid UUID '%s' (expected lower-case 8-4-4-4-12 hex)", key, q);
    }
    memcpy (out, s, IH_UUID_LEN + 1);
    return 1;
}

static int
s_get_time (const json_t *obj, const char *key, int64_t *out, ih_err_t *err)
{
    const char *s = NULL;
    int rc = s_get_str (obj, "", key, 64, &s, err);
    if (rc <= 0)
        return rc;
    if (ih_time_parse (s, out, err)) {
        ih_err_prefix (err, "%s", key);
        return -1;
    }
    return 1;
}

/*  What a list's items must look like. */
typedef enum { S_ITEM_TEXT, S_ITEM_SLUG, S_ITEM_RECIPIENT } s_item_t;

static int
s_get_strlist (ih_msg_t *m, ih_strlist_t *list, const json_t *obj, const char *key,
               size_t max_len, s_item_t what, ih_err_t *err)
{
    const json_t *arr = NULL;
    int rc = s_get (obj, "", key, JSON_ARRAY, &arr, err);
    if (rc <= 0)
        return rc;
    size_t n = json_array_size (arr);
    if (n > IH_MAX_LIST)
        return ih_err_set (err, "%s: too many (%zu > %d)", key, n, IH_MAX_LIST);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get (arr, i);
        if (!json_is_string (v))
            return ih_err_set (err, "%s[%zu]: expected string, got %s", key, i, s_type_name (v));
        const char *s = json_string_value (v);
        size_t len = json_string_length (v);
        if (len == 0)
            return ih_err_set (err, "%s[%zu]: empty", key, i);
        if (len > max_len)
            return ih_err_set (err, "%s[%zu]: too long (%zu > %zu bytes)", key, i, len, max_len);
        bool ok = true;
        if (what == S_ITEM_SLUG)
            ok = ih_slug_valid (s, max_len);
        else
        if (what == S_ITEM_RECIPIENT)
            ok = strncmp (s, "sector:", 7) == 0 ? ih_slug_valid (s + 7, max_len)
                                                : ih_slug_valid (s, max_len);
        if (!ok) {
            char q [IH_QUOTE_BUF];
            ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            return ih_err_set (err, "%s[%zu]: invalid %s '%s' (expected [a-z0-9._-], starting alphanumeric)",
                               key, i, what == S_ITEM_RECIPIENT ? "recipient" : "slug", q);
        }
        ih_msg_strlist_add (m, list, s);
    }
    return 1;
}

/*  An enum by name: parse is one of the ih_*_parse functions. */
static int
s_get_enum (const json_t *obj, const char *key, int (*parse) (const char *, void *),
            void *out, const char *expected, ih_err_t *err)
{
    const char *s = NULL;
    int rc = s_get_str (obj, "", key, 64, &s, err);
    if (rc <= 0)
        return rc;
    if (parse (s, out)) {
        char q [IH_QUOTE_BUF];
        ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
        return ih_err_set (err, "%s: unknown value '%s' (expected %s)", key, q, expected);
    }
    return 1;
}

/*  Adapters so that s_get_enum can take every parser. */
static int s_tlp (const char *s, void *o) { return ih_tlp_parse (s, (ih_tlp_t *) o); }
static int s_sev (const char *s, void *o) { return ih_severity_parse (s, (ih_severity_t *) o); }
static int s_cat (const char *s, void *o) { return ih_category_parse (s, (ih_category_t *) o); }

static int
s_get_iocs (ih_msg_t *m, const json_t *obj, ih_json_meta_t *meta, ih_err_t *err)
{
    const json_t *arr = NULL;
    int rc = s_get (obj, "", "iocs", JSON_ARRAY, &arr, err);
    if (rc <= 0)
        return rc;
    size_t n = json_array_size (arr);
    if (n > IH_MAX_IOCS)
        return ih_err_set (err, "iocs: too many (%zu > %d)", n, IH_MAX_IOCS);
    static const char *const keys [] = { "type", "value", "comment", "detect", "retracted", NULL };
    char buf [IH_MAX_IOC_VALUE + 1];
    bool *retracted = NULL;
    for (size_t i = 0; i < n; i++) {
        char path [32];
        snprintf (path, sizeof path, "iocs[%zu].", i);
        const json_t *o = json_array_get (arr, i);
        if (!json_is_object (o))
            return ih_err_set (err, "iocs[%zu]: expected object, got %s", i, s_type_name (o));
        char where [32];
        snprintf (where, sizeof where, "iocs[%zu]", i);
        if (s_only_keys (o, keys, where, err))
            return -1;

        const char *type_s = NULL, *value = NULL, *comment = "";
        ih_ioc_type_t type;
        /*  A retracted IOC carries no detect flag (ih_msg_validate). */
        bool detect = m->kind != IH_KIND_RETRACTION;
        const json_t *v = NULL;
        rc = s_get_str (o, path, "type", 64, &type_s, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "iocs[%zu].type: required", i);
        if (ih_ioc_type_parse (type_s, &type)) {
            char q [IH_QUOTE_BUF];
            ih_quote (type_s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            return ih_err_set (err, "iocs[%zu].type: unknown value '%s' (expected ipv4, ipv6, cidr, "
                               "domain, url, email, md5, sha1, sha256, filename, cve or asn)", i, q);
        }
        rc = s_get_str (o, path, "value", IH_JSON_MAX_RAW_IOC, &value, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "iocs[%zu].value: required", i);
        if (s_get_str (o, path, "comment", IH_MAX_IOC_COMMENT, &comment, err) < 0)
            return -1;
        rc = s_get (o, path, "detect", JSON_TRUE, &v, err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            detect = json_is_true (v);
        /*  Output of a stored alert marks IOCs retracted on their own (meta). */
        rc = s_get (o, path, "retracted", JSON_TRUE, &v, err);
        if (rc < 0)
            return -1;
        if (rc == 1 && m->kind != IH_KIND_ALERT)
            return ih_err_set (err, "iocs[%zu].retracted: not allowed for kind %s", i,
                               ih_kind_name (m->kind));
        if (rc == 1 && json_is_true (v) && meta) {
            if (!retracted) {
                retracted = (bool *) ih_arena_alloc (&m->arena, n * sizeof *retracted);
                memset (retracted, 0, n * sizeof *retracted);
                meta->ioc_retracted = retracted;
            }
            retracted [i] = true;
        }

        ih_err_t e = { "" };
        if (ih_ioc_normalise (type, value, buf, sizeof buf, &e))
            return ih_err_set (err, "iocs[%zu].value: %s", i, e.msg);
        ih_msg_ioc_add (m, type, buf, comment, detect);
    }
    return 1;
}

static int
s_get_publisher (ih_msg_t *m, const json_t *obj, ih_err_t *err)
{
    const json_t *p = NULL;
    int rc = s_get (obj, "", "publisher", JSON_OBJECT, &p, err);
    if (rc <= 0)
        return rc;
    static const char *const keys [] = { "org", "member", NULL };
    if (s_only_keys (p, keys, "publisher", err))
        return -1;
    for (int i = 0; keys [i]; i++) {
        const char *s = NULL;
        rc = s_get_str (p, "publisher.", keys [i], IH_MAX_SHORT, &s, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        /*  "" is what an unset publisher is; anything else must be a slug. */
        if (*s && !ih_slug_valid (s, IH_MAX_SHORT)) {
            char q [IH_QUOTE_BUF];
            ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            return ih_err_set (err, "publisher.%s: invalid slug '%s' (expected [a-z0-9._-], "
                               "starting alphanumeric)", keys [i], q);
        }
        if (i == 0)
            m->org = ih_msg_str (m, s);
        else
            m->member = ih_msg_str (m, s);
    }
    return 1;
}

/*  Everything but the kind, which the caller has read. */
static int
s_from_json (ih_msg_t *m, const json_t *j, ih_json_meta_t *meta, ih_err_t *err)
{
    ih_kind_t kind = m->kind;
    unsigned bit = 1u << kind;

    /*  Unknown and misplaced keys first, so that a typo is reported as such. */
    const char *key;
    json_t *v;
    json_t *o = (json_t *) j;
    json_object_foreach (o, key, v) {
        size_t i;
        for (i = 0; s_fields [i].name; i++)
            if (strcmp (key, s_fields [i].name) == 0)
                break;
        char q [IH_QUOTE_BUF];
        ih_quote (key, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
        if (!s_fields [i].name)
            return ih_err_set (err, "unknown field '%s'", q);
        if (!(s_fields [i].kinds & bit))
            return ih_err_set (err, "%s: not allowed for kind %s", q, ih_kind_name (kind));
    }

    const char *s = NULL;
    uint64_t n = 0;
    int rc;

    if (s_get_uuid (j, "id", m->id, err) < 0)
        return -1;
    if ((rc = s_get_uint (j, "revision", UINT32_MAX, &n, err)) < 0)
        return -1;
    if (rc)
        m->revision = (uint32_t) n;
    if ((rc = s_get_uint (j, "seq", INT64_MAX, &n, err)) < 0)
        return -1;
    if (rc && meta)
        meta->seq = n;
    if (s_get_time (j, "created", &m->created, err) < 0
    ||  s_get_time (j, "modified", &m->modified, err) < 0
    ||  s_get_publisher (m, j, err) < 0)
        return -1;
    if ((rc = s_get_str (j, "", "signer", 64, &s, err)) < 0)
        return -1;
    if (rc && (strlen (s) != 64 || ih_hex_decode (s, m->signer, sizeof m->signer))) {
        char q [IH_QUOTE_BUF];
        ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
        return ih_err_set (err, "signer: invalid key '%s' (expected 64 hex digits)", q);
    }
    //  "" (or absent) is no author; ih_msg_validate checks the rest (one line).
    if ((rc = s_get_str (j, "", "author", IH_MAX_AUTHOR, &s, err)) < 0)
        return -1;
    if (rc)
        m->author = ih_msg_str (m, s);
    if ((rc = s_get_str (j, "", "status", 64, &s, err)) < 0)
        return -1;
    if (rc) {
        bool retracted = strcmp (s, "retracted") == 0;
        if (!retracted && strcmp (s, "active") != 0) {
            char q [IH_QUOTE_BUF];
            ih_quote (s, SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            return ih_err_set (err, "status: unknown value '%s' (expected active or retracted)", q);
        }
        if (meta)
            meta->retracted = retracted;
    }

    if (kind == IH_KIND_ALERT) {
        if ((rc = s_get_str (j, "", "title", IH_MAX_TITLE, &s, err)) < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "title: required");
        m->title = ih_msg_str (m, s);
        if ((rc = s_get_str (j, "", "summary", IH_MAX_SUMMARY, &s, err)) < 0)
            return -1;
        if (rc)
            m->summary = ih_msg_str (m, s);
    }
    if (kind == IH_KIND_ALERT || kind == IH_KIND_SIGHTING) {
        /*  Required for sightings too: defaulting to CLEAR would publish them. */
        rc = s_get_enum (j, "tlp", s_tlp, &m->tlp, "CLEAR, GREEN, AMBER, AMBER+STRICT or RED", err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "tlp: required");
    }
    if (kind == IH_KIND_ALERT) {
        rc = s_get_enum (j, "severity", s_sev, &m->severity, "low, medium, high or critical", err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "severity: required");
        rc = s_get_enum (j, "category", s_cat, &m->category,
                         "ransomware, phishing, malware, vulnerability, ddos, intrusion, fraud, "
                         "data-leak, advisory, other or event", err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return ih_err_set (err, "category: required");
        if (s_get_strlist (m, &m->sectors, j, "sectors", IH_MAX_SHORT, S_ITEM_SLUG, err) < 0
        ||  s_get_strlist (m, &m->recipients, j, "recipients", IH_MAX_SHORT, S_ITEM_RECIPIENT, err) < 0
        ||  s_get_strlist (m, &m->references, j, "references", IH_MAX_REF, S_ITEM_TEXT, err) < 0
        ||  s_get_strlist (m, &m->tags, j, "tags", IH_MAX_SHORT, S_ITEM_TEXT, err) < 0)
            return -1;
    }
    if (s_get_iocs (m, j, meta, err) < 0)
        return -1;
    if (kind != IH_KIND_ALERT) {
        if (kind == IH_KIND_SIGHTING) {
            /*  "" is a sighting of no alert. */
            if ((rc = s_get_str (j, "", "ref", IH_UUID_LEN + 64, &s, err)) < 0)
                return -1;
            if (rc && *s && s_get_uuid (j, "ref", m->ref, err) < 0)
                return -1;
        }
        else
        if (s_get_uuid (j, "ref", m->ref, err) < 0)
            return -1;
        if ((rc = s_get_str (j, "", "text", IH_MAX_TEXT, &s, err)) < 0)
            return -1;
        if (rc)
            m->text = ih_msg_str (m, s);
        if ((rc = s_get_uint (j, "count", UINT32_MAX, &n, err)) < 0)
            return -1;
        if (rc)
            m->count = (uint32_t) n;
    }
    if ((rc = s_get_uint (j, "revisions", UINT32_MAX, &n, err)) < 0)
        return -1;
    if (rc && meta)
        meta->revisions = (uint32_t) n;
    if ((rc = s_get_uint (j, "sightings", UINT32_MAX, &n, err)) < 0)
        return -1;
    if (rc && meta)
        meta->sightings = (uint32_t) n;
    return 0;
}

int
ih_msg_from_json (ih_msg_t *m, const json_t *j, ih_json_meta_t *meta, ih_err_t *err)
{
    if (meta)
        memset (meta, 0, sizeof *meta);
    ih_kind_t kind = IH_KIND_ALERT;
    int rc = 0;
    if (!j || !json_is_object (j))
        rc = ih_err_set (err, "json: expected an object, got %s", j ? s_type_name (j) : "nothing");
    else {
        const json_t *k = json_object_get (j, "kind");
        if (k && !json_is_string (k))
            rc = ih_err_set (err, "kind: expected string, got %s", s_type_name (k));
        else
        if (k && ih_kind_parse (json_string_value (k), &kind)) {
            char q [IH_QUOTE_BUF];
            ih_quote (json_string_value (k), SIZE_MAX, IH_QUOTE_SHOW, q, sizeof q);
            rc = ih_err_set (err, "kind: unknown value '%s' (expected alert, retraction, comment or sighting)", q);
        }
    }
    ih_msg_init (m, kind);
    if (rc)
        return -1;
    /*  Only alerts have revisions (ih_msg.h); output leaves out a zero one. */
    if (kind != IH_KIND_ALERT)
        m->revision = 0;
    if (s_from_json (m, j, meta, err)) {
        /*  Change nothing on error: m goes back to empty, meta to zero. */
        ih_msg_reset (m, IH_KIND_ALERT);
        if (meta)
            memset (meta, 0, sizeof *meta);
        return -1;
    }
    return 0;
}

int
ih_msg_from_json_str (ih_msg_t *m, const char *text, size_t len, ih_json_meta_t *meta, ih_err_t *err)
{
    if (len > IH_JSON_MAX_TEXT) {
        ih_msg_init (m, IH_KIND_ALERT);
        if (meta)
            memset (meta, 0, sizeof *meta);
        return ih_err_set (err, "json: too large (%zu > %d bytes)", len, IH_JSON_MAX_TEXT);
    }
    json_error_t jerr;
    json_t *j = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        ih_msg_init (m, IH_KIND_ALERT);
        if (meta)
            memset (meta, 0, sizeof *meta);
        return ih_err_set (err, "json: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    int rc = ih_msg_from_json (m, j, meta, err);
    json_decref (j);
    return rc;
}
