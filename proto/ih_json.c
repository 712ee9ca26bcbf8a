/*  ih_json.c: the user-facing JSON form of a message (DESIGN.md "User-facing alert JSON"),
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

/*  A JSON text bigger than this is refused before parsing: a signed body is at most
    IH_MAX_FRAME bytes, and JSON escaping can grow a string about sixfold. */
#define S_MAX_TEXT (8 * IH_MAX_FRAME)

/*  An IOC value before refanging may be longer than its normal form ("[dot]" -> "."),
    but not without bound. */
#define S_MAX_RAW_IOC (8 * IH_MAX_IOC_VALUE)

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
        rc = s_get_str (o, path, "value", S_MAX_RAW_IOC, &value, err);
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
                         "data-leak, advisory or other", err);
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
    if (len > S_MAX_TEXT) {
        ih_msg_init (m, IH_KIND_ALERT);
        if (meta)
            memset (meta, 0, sizeof *meta);
        return ih_err_set (err, "json: too large (%zu > %d bytes)", len, S_MAX_TEXT);
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

/* ---- self-test ------------------------------------------------------------------- */
#ifdef IH_SELFTEST

#define S_UUID1 "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
#define S_UUID2 "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
#define S_SIGNER "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define S_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S_BASE "\"title\":\"T\",\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\""
#define S_HEAD "\"id\":\"" S_UUID2 "\",\"seq\":43,\"created\":\"2026-11-28T17:45:36.123Z\"," \
               "\"modified\":\"2026-11-28T18:00:00.000Z\",\"publisher\":{\"org\":\"bank-b\"," \
               "\"member\":\"soc-2\"},\"signer\":\"" S_SIGNER "\","

/*  Inputs that must be rejected, and a piece of the error each must give. */
static const struct {
    const char *json;
    const char *error;
} s_invalid [] = {
    { "[1]", "json: expected an object, got array" },
    { "{\"title\":", "json: line 1 column" },
    { "{" S_BASE "} {}", "json: line 1" },
    { "{" S_BASE ",\"title\":\"U\"}", "duplicate" },
    { "{" S_BASE ",\"titel\":\"x\"}", "unknown field 'titel'" },
    { "{\"title\":\"a\\u0000b\"}", "json: line 1" },
    { "{" S_BASE ",\"ti\\u0001t'el\":1}", "unknown field 'ti\\x01t\\x27el'" },
    { "{\"title\":1,\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\"}",
      "title: expected string, got integer" },
    { "{" S_BASE ",\"summary\":null}", "summary: expected string, got null" },
    { "{" S_BASE ",\"summary\":[\"a\"]}", "summary: expected string, got array" },
    { "{\"tlp\":\"GREEN\",\"severity\":\"low\",\"category\":\"other\"}", "title: required" },
    { "{\"title\":\"T\",\"severity\":\"low\",\"category\":\"other\"}", "tlp: required" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"category\":\"other\"}", "severity: required" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"low\"}", "category: required" },
    { "{\"title\":\"T\",\"tlp\":\"PINK\",\"severity\":\"low\",\"category\":\"other\"}",
      "tlp: unknown value 'PINK'" },
    { "{\"title\":\"T\",\"tlp\":true,\"severity\":\"low\",\"category\":\"other\"}",
      "tlp: expected string, got boolean" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"urgent\",\"category\":\"other\"}",
      "severity: unknown value 'urgent'" },
    { "{\"title\":\"T\",\"tlp\":\"RED\",\"severity\":\"low\",\"category\":\"spam\"}",
      "category: unknown value 'spam'" },
    { "{" S_BASE ",\"sectors\":\"finance\"}", "sectors: expected array, got string" },
    { "{" S_BASE ",\"sectors\":[1]}", "sectors[0]: expected string, got integer" },
    { "{" S_BASE ",\"sectors\":[\"energy\",\"Finance\"]}", "sectors[1]: invalid slug 'Finance'" },
    { "{" S_BASE ",\"recipients\":[\"sector:\"]}", "recipients[0]: invalid recipient" },
    { "{" S_BASE ",\"recipients\":[\"bank a\"]}", "recipients[0]: invalid recipient" },
    { "{" S_BASE ",\"tags\":[\"\"]}", "tags[0]: empty" },
    { "{" S_BASE ",\"references\":[{}]}", "references[0]: expected string, got object" },
    { "{" S_BASE ",\"iocs\":{}}", "iocs: expected array, got object" },
    { "{" S_BASE ",\"iocs\":[\"1.2.3.4\"]}", "iocs[0]: expected object, got string" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\"}]}", "iocs[0].value: required" },
    { "{" S_BASE ",\"iocs\":[{\"value\":\"1.2.3.4\"}]}", "iocs[0].type: required" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ip\",\"value\":\"1.2.3.4\"}]}", "iocs[0].type: unknown value 'ip'" },
    { "{" S_BASE ",\"iocs\":[{\"type\":4,\"value\":\"1.2.3.4\"}]}", "iocs[0].type: expected string, got integer" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":1}]}", "iocs[0].value: expected string, got integer" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\"},{\"type\":\"ipv4\",\"value\":\"1.2.3\"}]}",
      "iocs[1].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"domain\",\"value\":\"a..b\"}]}", "iocs[0].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"sha256\",\"value\":\"abc\"}]}", "iocs[0].value: " },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"detect\":\"yes\"}]}",
      "iocs[0].detect: expected boolean, got string" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"comment\":false}]}",
      "iocs[0].comment: expected string, got boolean" },
    { "{" S_BASE ",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"valeu\":\"x\"}]}",
      "iocs[0]: unknown field 'valeu'" },
    { "{" S_BASE ",\"id\":\"not-a-uuid\"}", "id: invalid UUID 'not-a-uuid'" },
    { "{" S_BASE ",\"id\":\"01234567-89AB-4def-8123-456789abcdef\"}", "id: invalid UUID" },
    { "{" S_BASE ",\"id\":\"\"}", "id: invalid UUID" },
    { "{" S_BASE ",\"created\":\"yesterday\"}", "created: invalid time 'yesterday'" },
    { "{" S_BASE ",\"created\":\"2026-02-30T00:00:00Z\"}", "created: invalid time" },
    { "{" S_BASE ",\"modified\":1795887936123}", "modified: expected string, got integer" },
    { "{" S_BASE ",\"revision\":-1}", "revision: out of range (-1," },
    { "{" S_BASE ",\"revision\":4294967296}", "revision: out of range" },
    { "{" S_BASE ",\"revision\":1.0}", "revision: expected integer, got number" },
    { "{" S_BASE ",\"revision\":\"1\"}", "revision: expected integer, got string" },
    { "{" S_BASE ",\"seq\":-5}", "seq: out of range" },
    { "{" S_BASE ",\"revisions\":-5}", "revisions: out of range" },
    { "{" S_BASE ",\"sightings\":null}", "sightings: expected integer, got null" },
    { "{" S_BASE ",\"status\":\"deleted\"}", "status: unknown value 'deleted'" },
    { "{" S_BASE ",\"publisher\":\"bank-a\"}", "publisher: expected object, got string" },
    { "{" S_BASE ",\"publisher\":{\"org\":\"bank-a\",\"name\":\"x\"}}", "publisher: unknown field 'name'" },
    { "{" S_BASE ",\"publisher\":{\"org\":\"Bank A\"}}", "publisher.org: invalid slug 'Bank A'" },
    { "{" S_BASE ",\"publisher\":{\"member\":7}}", "publisher.member: expected string, got integer" },
    { "{" S_BASE ",\"signer\":\"abcd\"}", "signer: invalid key 'abcd'" },
    { "{" S_BASE ",\"signer\":\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}",
      "signer: invalid key" },
    { "{" S_BASE ",\"kind\":\"memo\"}", "kind: unknown value 'memo'" },
    { "{" S_BASE ",\"kind\":7}", "kind: expected string, got integer" },
    { "{" S_BASE ",\"ref\":\"" S_UUID1 "\"}", "ref: not allowed for kind alert" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"text\":\"x\",\"title\":\"y\"}",
      "title: not allowed for kind comment" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"iocs\":[]}", "iocs: not allowed for kind comment" },
    { "{\"kind\":\"comment\",\"ref\":\"bad\",\"text\":\"x\"}", "ref: invalid UUID 'bad'" },
    { "{\"kind\":\"comment\",\"ref\":\"" S_UUID1 "\",\"text\":[]}", "text: expected string, got array" },
    { "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"count\":1}", "count: not allowed for kind retraction" },
    { "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"status\":\"active\"}",
      "status: not allowed for kind retraction" },
    { "{\"kind\":\"sighting\",\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\"}]}", "tlp: required" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"count\":-1}", "count: out of range" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"ref\":\"x\"}", "ref: invalid UUID 'x'" },
    { "{\"kind\":\"sighting\",\"tlp\":\"GREEN\",\"iocs\":[{\"type\":\"url\",\"value\":\"\"}]}",
      "iocs[0].value: " },
    { NULL, NULL }
};

/*  Checks that text is rejected with an error containing `want`, and that m and meta
    are left empty. */
static void
s_expect_error (const char *text, size_t len, const char *want, bool verbose)
{
    ih_msg_t m;
    ih_json_meta_t meta = { 99, true, 99, 99, NULL };
    ih_err_t err = { "" };
    int rc = ih_msg_from_json_str (&m, text, len, &meta, &err);
    if (verbose)
        printf ("\n    %-60.60s -> %s", text, err.msg);
    if (rc != -1 || !strstr (err.msg, want)) {
        fprintf (stderr, "\ninput: %.200s\nwanted error: %s\ngot: rc=%d '%s'\n", text, want, rc, err.msg);
        IH_CHECK (false);
    }
    IH_CHECK (strchr (err.msg, '\n') == NULL);
    IH_CHECK (m.kind == IH_KIND_ALERT && m.ioc_count == 0 && m.title && *m.title == 0);
    IH_CHECK (meta.seq == 0 && !meta.retracted && meta.revisions == 0 && meta.sightings == 0);
    ih_msg_free (&m);
}

/*  Same for an object built in code (long strings, long lists). */
static void
s_expect_error_json (json_t *j, const char *want, bool verbose)
{
    char *text = json_dumps (j, JSON_COMPACT);
    IH_CHECK (text);
    s_expect_error (text, strlen (text), want, verbose);
    free (text);
    json_decref (j);
}

static json_t *
s_base (void)
{
    json_t *j = json_pack ("{s:s, s:s, s:s, s:s}", "title", "T", "tlp", "GREEN", "severity", "low",
                           "category", "other");
    IH_CHECK (j);
    return j;
}

/*  A string of n copies of c, as a JSON string. */
static json_t *
s_long (size_t n, char c)
{
    char *s = malloc (n + 1);
    IH_CHECK (s);
    memset (s, c, n);
    s [n] = 0;
    json_t *j = json_string (s);
    free (s);
    return j;
}

/*  Messages in their canonical output form, one per kind (and a sighting of no alert):
    each must survive JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON unchanged, key
    order included. */
static const char *s_lossless [] = {
    "{\"id\":\"" S_UUID1 "\",\"revision\":2,\"seq\":42,\"created\":\"2026-11-28T17:45:36.123Z\","
    "\"modified\":\"2026-11-28T18:00:00.000Z\",\"publisher\":{\"org\":\"bank-a\",\"member\":\"soc\"},"
    "\"signer\":\"" S_SIGNER "\",\"status\":\"retracted\",\"title\":\"Ransomware C2 \\u00e9\","
    "\"summary\":\"**LockBit** affiliate.\\nBlock it.\",\"tlp\":\"AMBER\",\"severity\":\"high\","
    "\"category\":\"ransomware\",\"sectors\":[\"finance\",\"energy\"],"
    "\"recipients\":[\"sector:finance\",\"bank-b\"],\"references\":[\"https://cert.example.net/a/1\"],"
    "\"tags\":[\"lockbit\"],\"iocs\":[{\"type\":\"ipv4\",\"value\":\"45.77.1.2\",\"comment\":\"C2\","
    "\"detect\":true},{\"type\":\"sha256\",\"value\":\"" S_SHA256 "\",\"comment\":\"\",\"detect\":false},"
    "{\"type\":\"domain\",\"value\":\"evil.example\",\"comment\":\"\",\"detect\":true}],"
    "\"revisions\":2,\"sightings\":7}",
    "{\"kind\":\"retraction\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"false positive\","
    "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"45.77.1.2\",\"comment\":\"\",\"detect\":false}]}",
    "{\"kind\":\"retraction\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"\",\"iocs\":[]}",
    "{\"kind\":\"comment\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"text\":\"Seen here too.\"}",
    "{\"kind\":\"sighting\"," S_HEAD "\"ref\":\"" S_UUID1 "\",\"iocs\":[{\"type\":\"domain\","
    "\"value\":\"evil.example\",\"comment\":\"\",\"detect\":true}],\"tlp\":\"GREEN\",\"count\":3}",
    "{\"kind\":\"sighting\"," S_HEAD "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"198.51.100.7\","
    "\"comment\":\"\",\"detect\":true}],\"tlp\":\"CLEAR\",\"count\":1}",
    NULL
};

void
ih_json_test (bool verbose)
{
    ih_msg_t m;
    ih_json_meta_t meta;
    ih_err_t err = { "" };

    /*  A user's input: defaults, refanging, normalisation, WHITE as CLEAR. */
    const char *in =
        "{\"title\":\"Phish\",\"tlp\":\"WHITE\",\"severity\":\"critical\",\"category\":\"data-leak\","
        "\"iocs\":[{\"type\":\"url\",\"value\":\" hxxp://Evil[.]Example/x \"},"
        "{\"type\":\"domain\",\"value\":\"EVIL[.]example.\",\"comment\":\"landing\",\"detect\":false},"
        "{\"type\":\"ipv4\",\"value\":\"198.51.100[.]7\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in, strlen (in), &meta, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_ALERT && m.revision == 1 && m.id [0] == 0);
    IH_CHECK (strcmp (m.title, "Phish") == 0 && strcmp (m.summary, "") == 0);
    IH_CHECK (m.tlp == IH_TLP_CLEAR && m.severity == IH_SEV_CRITICAL && m.category == IH_CAT_DATA_LEAK);
    IH_CHECK (m.sectors.count == 0 && m.recipients.count == 0 && m.tags.count == 0);
    IH_CHECK (m.ioc_count == 3);
    IH_CHECK (m.iocs [0].type == IH_IOC_URL && strcmp (m.iocs [0].value, "http://evil.example/x") == 0);
    IH_CHECK (strcmp (m.iocs [0].comment, "") == 0 && m.iocs [0].detect);
    IH_CHECK (m.iocs [1].type == IH_IOC_DOMAIN && strcmp (m.iocs [1].value, "evil.example") == 0);
    IH_CHECK (strcmp (m.iocs [1].comment, "landing") == 0 && !m.iocs [1].detect);
    IH_CHECK (strcmp (m.iocs [2].value, "198.51.100.7") == 0);
    IH_CHECK (meta.seq == 0 && !meta.retracted && meta.revisions == 0 && meta.sightings == 0);
    /*  A draft prints without id, times, publisher or signer, and reads back the same. */
    char *s = ih_msg_to_json_str (&m, NULL);
    if (verbose)
        printf ("\n    draft: %s", s);
    IH_CHECK (strcmp (s,
        "{\"revision\":1,\"title\":\"Phish\",\"summary\":\"\",\"tlp\":\"CLEAR\",\"severity\":\"critical\","
        "\"category\":\"data-leak\",\"sectors\":[],\"recipients\":[],\"references\":[],\"tags\":[],"
        "\"iocs\":[{\"type\":\"url\",\"value\":\"http://evil.example/x\",\"comment\":\"\",\"detect\":true},"
        "{\"type\":\"domain\",\"value\":\"evil.example\",\"comment\":\"landing\",\"detect\":false},"
        "{\"type\":\"ipv4\",\"value\":\"198.51.100.7\",\"comment\":\"\",\"detect\":true}]}") == 0);
    ih_msg_t m2;
    IH_CHECK (ih_msg_from_json_str (&m2, s, strlen (s), NULL, &err) == 0);
    char *s2 = ih_msg_to_json_str (&m2, NULL);
    IH_CHECK (strcmp (s, s2) == 0);
    free (s);
    free (s2);
    ih_msg_free (&m2);

    /*  Output of a stored alert: every key, in order, with meta. */
    ih_uuid_new (m.id);
    m.revision = 3;
    m.created = 1795887936123LL;
    m.modified = 1795888800000LL;
    m.org = ih_msg_str (&m, "bank-a");
    m.member = ih_msg_str (&m, "soc");
    for (int i = 0; i < 32; i++)
        m.signer [i] = (uint8_t) i;
    ih_msg_strlist_add (&m, &m.tags, "phishing-kit");
    ih_json_meta_t meta_out = { 1234, false, 3, 0, NULL };
    json_t *j = ih_msg_to_json (&m, &meta_out);
    const char *key;
    json_t *v;
    const char *order [] = { "id", "revision", "seq", "created", "modified", "publisher", "signer",
                             "status", "title", "summary", "tlp", "severity", "category", "sectors",
                             "recipients", "references", "tags", "iocs", "revisions", NULL };
    size_t k = 0;
    json_object_foreach (j, key, v) {
        IH_CHECK (order [k] && strcmp (key, order [k]) == 0);
        k++;
    }
    IH_CHECK (order [k] == NULL);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "created")), "2026-11-28T17:45:36.123Z") == 0);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "status")), "active") == 0);
    IH_CHECK (strcmp (json_string_value (json_object_get (j, "signer")), S_SIGNER) == 0);
    IH_CHECK (json_integer_value (json_object_get (j, "seq")) == 1234);
    IH_CHECK (strcmp (json_string_value (json_object_get (json_object_get (j, "publisher"), "member")), "soc") == 0);
    /*  ... and it reads back to the same message and meta. */
    IH_CHECK (ih_msg_from_json (&m2, j, &meta, &err) == 0);
    IH_CHECK (meta.seq == 1234 && !meta.retracted && meta.revisions == 3 && meta.sightings == 0);
    IH_CHECK (strcmp (m2.id, m.id) == 0 && m2.revision == 3 && m2.created == m.created);
    IH_CHECK (m2.modified == m.modified && memcmp (m2.signer, m.signer, 32) == 0);
    IH_CHECK (strcmp (m2.org, "bank-a") == 0 && strcmp (m2.member, "soc") == 0);
    json_t *j2 = ih_msg_to_json (&m2, &meta);
    IH_CHECK (json_equal (j, j2));
    json_decref (j2);
    json_decref (j);
    ih_msg_free (&m2);

    /*  IOCs retracted on their own: "retracted": true, read back into meta, and the
        round trip is lossless; other kinds may not carry the key. */
    {
        bool flags [3] = { false, true, false };
        ih_json_meta_t rm = { 77, false, 1, 0, NULL };
        rm.ioc_retracted = flags;
        IH_CHECK (m.ioc_count == 3);
        json_t *jr = ih_msg_to_json (&m, &rm);
        json_t *iocs = json_object_get (jr, "iocs");
        IH_CHECK (json_object_get (json_array_get (iocs, 0), "retracted") == NULL);
        IH_CHECK (json_is_true (json_object_get (json_array_get (iocs, 1), "retracted")));
        ih_json_meta_t back;
        IH_CHECK (ih_msg_from_json (&m2, jr, &back, &err) == 0);
        IH_CHECK (back.ioc_retracted && !back.ioc_retracted [0] && back.ioc_retracted [1]
                  && !back.ioc_retracted [2]);
        json_t *jr2 = ih_msg_to_json (&m2, &back);
        IH_CHECK (json_equal (jr, jr2));
        json_decref (jr2);
        ih_msg_free (&m2);
        /*  none flagged: no key, no array */
        rm.ioc_retracted = NULL;
        json_decref (jr);
        jr = ih_msg_to_json (&m, &rm);
        IH_CHECK (ih_msg_from_json (&m2, jr, &back, &err) == 0 && back.ioc_retracted == NULL);
        json_decref (jr);
        ih_msg_free (&m2);
        const char *bad = "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"text\":\"x\","
                          "\"iocs\":[{\"type\":\"ipv4\",\"value\":\"1.2.3.4\",\"retracted\":true}]}";
        IH_CHECK (ih_msg_from_json_str (&m2, bad, strlen (bad), &back, &err) == -1);
        IH_CHECK (strstr (err.msg, "iocs[0].retracted: not allowed for kind retraction"));
        ih_msg_free (&m2);
    }

    /*  Broken messages still print: bad UTF-8 becomes U+FFFD, unknown enums null. */
    m.title = ih_msg_str (&m, "a\xff" "b\xc3");
    m.tlp = (ih_tlp_t) 9;
    m.iocs [0].type = (ih_ioc_type_t) 77;
    s = ih_msg_to_json_str (&m, NULL);
    IH_CHECK (strstr (s, "\"title\":\"a\\uFFFDb\\uFFFD\""));
    IH_CHECK (strstr (s, "\"tlp\":null"));
    IH_CHECK (strstr (s, "{\"type\":null,"));
    free (s);
    ih_msg_free (&m);

    /*  Other spellings and kinds on input. */
    const char *in2 = "{\"kind\":\"sighting\",\"tlp\":\"amber+strict\",\"ref\":\"\","
                      "\"iocs\":[{\"type\":\"asn\",\"value\":\"as64496\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in2, strlen (in2), NULL, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_SIGHTING && m.tlp == IH_TLP_AMBER_STRICT && m.ref [0] == 0);
    IH_CHECK (m.revision == 0 && m.count == 1 && m.ioc_count == 1);
    IH_CHECK (strcmp (m.iocs [0].value, "AS64496") == 0 && m.iocs [0].detect);
    ih_msg_free (&m);
    const char *in3 = "{\"kind\":\"retraction\",\"ref\":\"" S_UUID1 "\",\"iocs\":[{\"type\":\"cve\","
                      "\"value\":\"cve-2024-3094\"}]}";
    IH_CHECK (ih_msg_from_json_str (&m, in3, strlen (in3), NULL, &err) == 0);
    IH_CHECK (m.kind == IH_KIND_RETRACTION && strcmp (m.ref, S_UUID1) == 0 && strcmp (m.text, "") == 0);
    /*  A retracted IOC carries no detect flag (ih_msg_validate), so it defaults off. */
    IH_CHECK (strcmp (m.iocs [0].value, "CVE-2024-3094") == 0 && !m.iocs [0].detect);
    ih_msg_free (&m);

    /*  Rejections, data-driven. */
    for (size_t i = 0; s_invalid [i].json; i++)
        s_expect_error (s_invalid [i].json, strlen (s_invalid [i].json), s_invalid [i].error, verbose);
    /*  Null and non-object roots through the json_t entry point. */
    IH_CHECK (ih_msg_from_json (&m, NULL, NULL, &err) == -1 && strstr (err.msg, "json: expected an object"));
    ih_msg_free (&m);
    j = json_string ("x");
    IH_CHECK (ih_msg_from_json (&m, j, NULL, NULL) == -1);   /* err may be NULL */
    json_decref (j);
    ih_msg_free (&m);
    /*  A NUL inside the text is not JSON. */
    s_expect_error ("{\"title\":\"a\0b\"}", 15, "json: line 1", verbose);

    /*  Limits, at and over the edge. */
    j = s_base ();
    json_object_set_new (j, "title", s_long (IH_MAX_TITLE, 't'));
    s = json_dumps (j, 0);
    IH_CHECK (ih_msg_from_json_str (&m, s, strlen (s), NULL, &err) == 0 && strlen (m.title) == IH_MAX_TITLE);
    free (s);
    ih_msg_free (&m);
    json_object_set_new (j, "title", s_long (IH_MAX_TITLE + 1, 't'));
    s_expect_error_json (j, "title: too long (257 > 256 bytes)", verbose);
    j = s_base ();
    json_object_set_new (j, "summary", s_long (IH_MAX_SUMMARY + 1, 's'));
    s_expect_error_json (j, "summary: too long", verbose);
    j = s_base ();
    json_t *refs = json_array ();
    json_array_append_new (refs, s_long (IH_MAX_REF + 1, 'r'));
    json_object_set_new (j, "references", refs);
    s_expect_error_json (j, "references[0]: too long", verbose);
    j = s_base ();
    json_t *tags = json_array ();
    for (int i = 0; i <= IH_MAX_LIST; i++)
        json_array_append_new (tags, json_sprintf ("t%d", i));
    json_object_set_new (j, "tags", tags);
    s_expect_error_json (j, "tags: too many (65 > 64)", verbose);
    /*  A recipient is at most IH_MAX_SHORT bytes, "sector:" included (the wire limit). */
    j = s_base ();
    json_t *recips = json_array ();
    json_array_append_new (recips, json_sprintf ("sector:%s", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefgh"));
    json_object_set_new (j, "recipients", recips);
    s_expect_error_json (j, "recipients[0]: too long (65 > 64 bytes)", verbose);
    j = s_base ();
    json_t *sectors = json_array ();
    json_array_append_new (sectors, s_long (IH_MAX_SHORT + 1, 'x'));
    json_object_set_new (j, "sectors", sectors);
    s_expect_error_json (j, "sectors[0]: too long", verbose);
    j = s_base ();
    json_t *iocs = json_array ();
    json_array_append_new (iocs, json_pack ("{s:s, s:s}", "type", "ipv4", "value", "1.2.3.4"));
    json_array_append_new (iocs, json_pack ("{s:s, s:s, s:o}", "type", "ipv4", "value", "1.2.3.5",
                                            "comment", s_long (IH_MAX_IOC_COMMENT + 1, 'c')));
    json_object_set_new (j, "iocs", iocs);
    s_expect_error_json (j, "iocs[1].comment: too long", verbose);
    j = s_base ();
    iocs = json_array ();
    json_array_append_new (iocs, json_pack ("{s:s, s:o}", "type", "url", "value", s_long (S_MAX_RAW_IOC + 1, 'u')));
    json_object_set_new (j, "iocs", iocs);
    s_expect_error_json (j, "iocs[0].value: too long", verbose);
    j = s_base ();
    iocs = json_array ();
    for (int i = 0; i <= IH_MAX_IOCS; i++)
        json_array_append_new (iocs, json_pack ("{s:s, s:o}", "type", "ipv4", "value",
                                                json_sprintf ("10.%d.%d.1", i / 256, i % 256)));
    json_object_set_new (j, "iocs", json_copy (iocs));
    json_array_remove (iocs, 0);
    /*  Exactly IH_MAX_IOCS is fine... */
    json_t *ok = s_base ();
    json_object_set_new (ok, "iocs", iocs);
    IH_CHECK (ih_msg_from_json (&m, ok, NULL, &err) == 0 && m.ioc_count == IH_MAX_IOCS);
    json_decref (ok);
    ih_msg_free (&m);
    /*  ...one more is not. */
    s_expect_error_json (j, "iocs: too many (5001 > 5000)", verbose);
    /*  Too large a text is refused before parsing. */
    IH_CHECK (ih_msg_from_json_str (&m, "{}", (size_t) S_MAX_TEXT + 1, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "json: too large"));
    ih_msg_free (&m);

    /*  Lossless: JSON -> ih_msg_t -> msgpack -> ih_msg_t -> JSON, for every kind. */
    for (size_t i = 0; s_lossless [i]; i++) {
        json_error_t jerr;
        j = json_loads (s_lossless [i], JSON_REJECT_DUPLICATES, &jerr);
        IH_CHECK (j);
        IH_CHECK (ih_msg_from_json (&m, j, &meta, &err) == 0);
        ih_buf_t body;
        ih_buf_init (&body);
        if (ih_body_encode (&m, &body, &err)) {
            fprintf (stderr, "\nlossless[%zu]: encode: %s\n", i, err.msg);
            IH_CHECK (false);
        }
        ih_msg_t back;
        if (ih_body_decode (&back, body.data, body.len, &err)) {
            fprintf (stderr, "\nlossless[%zu]: decode: %s\n", i, err.msg);
            IH_CHECK (false);
        }
        j2 = ih_msg_to_json (&back, &meta);
        s = json_dumps (j2, JSON_COMPACT);
        if (verbose)
            printf ("\n    lossless[%zu]: %zu body bytes: %.100s...", i, body.len, s);
        IH_CHECK (json_equal (j, j2));
        /*  Same key order too: the input was written in output order. */
        s2 = json_dumps (j, JSON_COMPACT);
        IH_CHECK (strcmp (s, s2) == 0);
        free (s);
        free (s2);
        json_decref (j2);
        json_decref (j);
        ih_buf_free (&body);
        ih_msg_free (&back);
        ih_msg_free (&m);
    }
    if (verbose)
        printf ("\n    ");
}
#endif
