/*  ih_codec.c: the msgpack wire codec (msgpack-c), see ih_codec.h and PROTOCOL.md.

    Decoding is in three steps, and untrusted bytes reach msgpack-c only after the first:
      1. ih_msgpack_prescan walks the raw bytes and rejects truncation, lengths and
         counts larger than what is left, nesting deeper than IH_MAX_DEPTH, trailing
         bytes and oversized frames. After it, msgpack-c can allocate at most about
         24 bytes per input byte.
      2. msgpack_unpack_next builds the object tree (strings and bins point into the
         input, nothing is copied).
      3. We walk the tree strictly: key order / key set, types, limits; bodies and
         member records are then re-encoded and compared byte for byte with the input
         (canonical form), and finally validated semantically.

    On failure every decode function leaves nothing allocated (the message or envelope
    is freed, which is safe to do again), so a caller may or may not free after an error.
*/
#include <inttypes.h>
#include <string.h>
#include <msgpack.h>

#include "ih_codec.h"
#include "ih_sign.h"

/* ---- small helpers ---------------------------------------------------------------- */

static const char *
s_obj_type (const msgpack_object *o)
{
    switch (o->type) {
        case MSGPACK_OBJECT_NIL:              return "nil";
        case MSGPACK_OBJECT_BOOLEAN:          return "bool";
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return "int";
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:          return "float";
        case MSGPACK_OBJECT_STR:              return "str";
        case MSGPACK_OBJECT_BIN:              return "bin";
        case MSGPACK_OBJECT_ARRAY:            return "array";
        case MSGPACK_OBJECT_MAP:              return "map";
        case MSGPACK_OBJECT_EXT:              return "ext";
    }
    return "unknown";
}

static bool
s_key_is (const msgpack_object *k, const char *name)
{
    size_t n = strlen (name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
        && memcmp (k->via.str.ptr, name, n) == 0;
}

/* ---- pre-scan ------------------------------------------------------------------------- */

int
ih_msgpack_prescan (const uint8_t *data, size_t len, ih_err_t *err)
{
    if (!data || len == 0)
        return ih_err_set (err, "msgpack: empty frame");
    if (len > IH_MAX_FRAME)
        return ih_err_set (err, "msgpack: frame too large (%zu > %d bytes)", len, IH_MAX_FRAME);

    //  pending [d] = objects still to read in the container open at depth d;
    //  depth 0 is the frame itself, which holds exactly one object.
    uint64_t pending [IH_MAX_DEPTH + 1];
    int depth = 0;
    pending [0] = 1;
    size_t off = 0;
    while (true) {
        while (pending [depth] == 0) {
            if (depth == 0) {
                if (off != len)
                    return ih_err_set (err, "msgpack: %zu trailing bytes after the top-level object",
                                       len - off);
                return 0;
            }
            depth--;
        }
        pending [depth]--;
        if (off >= len)
            return ih_err_set (err, "msgpack: truncated at byte %zu", off);

        size_t at = off;
        uint8_t b = data [off];
        int lenbytes = 0;        //  big-endian length/count field after the type byte
        size_t fixed = 0;        //  other bytes after the type byte and length field
        uint64_t payload = 0;    //  str/bin/ext bytes
        uint64_t count = 0;      //  array elements, or map entries
        const char *what = NULL; //  "array"/"map" for containers, "str"/"bin"/"ext" for raw
        bool is_map = false;
        bool is_array = false;

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;   //  fixint, nil, bool
        else if (b <= 0x8f) {
            count = b & 0x0f; what = "map"; is_map = true;
        }
        else if (b <= 0x9f) {
            count = b & 0x0f; what = "array"; is_array = true;
        }
        else if (b <= 0xbf) {
            payload = b & 0x1f; what = "str";
        }
        else switch (b) {
            case 0xc4: lenbytes = 1; what = "bin"; break;
            case 0xc5: lenbytes = 2; what = "bin"; break;
            case 0xc6: lenbytes = 4; what = "bin"; break;
            case 0xc7: lenbytes = 1; fixed = 1; what = "ext"; break;
            case 0xc8: lenbytes = 2; fixed = 1; what = "ext"; break;
            case 0xc9: lenbytes = 4; fixed = 1; what = "ext"; break;
            case 0xca: fixed = 4; break;
            case 0xcb: fixed = 8; break;
            case 0xcc: case 0xd0: fixed = 1; break;
            case 0xcd: case 0xd1: fixed = 2; break;
            case 0xce: case 0xd2: fixed = 4; break;
            case 0xcf: case 0xd3: fixed = 8; break;
            case 0xd4: fixed = 2; break;
            case 0xd5: fixed = 3; break;
            case 0xd6: fixed = 5; break;
            case 0xd7: fixed = 9; break;
            case 0xd8: fixed = 17; break;
            case 0xd9: lenbytes = 1; what = "str"; break;
            case 0xda: lenbytes = 2; what = "str"; break;
            case 0xdb: lenbytes = 4; what = "str"; break;
            case 0xdc: lenbytes = 2; what = "array"; is_array = true; break;
            case 0xdd: lenbytes = 4; what = "array"; is_array = true; break;
            case 0xde: lenbytes = 2; what = "map"; is_map = true; break;
            case 0xdf: lenbytes = 4; what = "map"; is_map = true; break;
            default:
                return ih_err_set (err, "msgpack: invalid byte 0x%02x at byte %zu", b, at);
        }
        off++;
        if ((size_t) lenbytes + fixed > len - off)
            return ih_err_set (err, "msgpack: truncated at byte %zu", at);
        if (lenbytes) {
            uint64_t n = ih_get_be (data + off, lenbytes);
            if (is_map || is_array)
                count = n;
            else
                payload = n;
        }
        off += (size_t) lenbytes + fixed;
        if (payload > len - off)
            return ih_err_set (err, "msgpack: %s of %" PRIu64 " bytes at byte %zu exceeds the %zu bytes left",
                               what, payload, at, len - off);
        off += (size_t) payload;
        if (is_map || is_array) {
            //  every element takes at least one byte
            uint64_t children = is_map ? count * 2 : count;
            if (children > len - off)
                return ih_err_set (err, "msgpack: %s of %" PRIu64 " %s at byte %zu exceeds the %zu bytes left",
                                   what, count, is_map ? "entries" : "elements", at, len - off);
            if (depth + 1 > IH_MAX_DEPTH)
                return ih_err_set (err, "msgpack: nesting deeper than %d at byte %zu", IH_MAX_DEPTH, at);
            if (children)
                pending [++depth] = children;
        }
    }
}

//  Pre-scans and unpacks one frame; on success the caller destroys *up.
static int
s_unpack (msgpack_unpacked *up, const uint8_t *data, size_t len, ih_err_t *err)
{
    if (ih_msgpack_prescan (data, len, err))
        return -1;
    msgpack_unpacked_init (up);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (up, (const char *) data, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy (up);
        return ih_err_set (err, "msgpack: cannot unpack frame (%s)",
                           rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "parse error");
    }
    return 0;
}

/* ---- typed getters ------------------------------------------------------------------------ */

//  Valid UTF-8 (PROTOCOL.md 3: str MUST be UTF-8): no overlongs, surrogates or
//  code points above U+10FFFF. NUL bytes are refused separately.
static bool
s_utf8_ok (const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p [i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) { more = 1; cp = c & 0x1f; }
        else
        if ((c & 0xf0) == 0xe0) { more = 2; cp = c & 0x0f; }
        else
        if ((c & 0xf8) == 0xf0) { more = 3; cp = c & 0x07; }
        else
            return false;
        if (more > n - i - 1)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((p [i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p [i + k] & 0x3f);
        }
        if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000)
        ||  cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

static int
s_get_str (const msgpack_object *o, const char *name, size_t max,
           const char **p, size_t *n, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "%s: expected str, got %s", name, s_obj_type (o));
    if (o->via.str.size > max)
        return ih_err_set (err, "%s: too long (%u > %zu bytes)", name, o->via.str.size, max);
    if (o->via.str.size && memchr (o->via.str.ptr, 0, o->via.str.size))
        return ih_err_set (err, "%s: contains a NUL byte", name);
    if (!s_utf8_ok ((const uint8_t *) o->via.str.ptr, o->via.str.size))
        return ih_err_set (err, "%s: invalid UTF-8", name);
    *p = o->via.str.ptr;
    *n = o->via.str.size;
    return 0;
}

//  A string copied into a fixed array of outsz bytes (outsz - 1 is the limit).
static int
s_get_fixed (const msgpack_object *o, const char *name, char *out, size_t outsz, ih_err_t *err)
{
    const char *p;
    size_t n;
    if (s_get_str (o, name, outsz - 1, &p, &n, err))
        return -1;
    memcpy (out, p, n);
    out [n] = 0;
    return 0;
}

static int
s_get_uint (const msgpack_object *o, const char *name, uint64_t max, uint64_t *out, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ih_err_set (err, "%s: expected uint, got %s", name, s_obj_type (o));
    if (o->via.u64 > max)
        return ih_err_set (err, "%s: out of range (%" PRIu64 " > %" PRIu64 ")", name, o->via.u64, max);
    *out = o->via.u64;
    return 0;
}

static int
s_get_int (const msgpack_object *o, const char *name, int64_t *out, ih_err_t *err)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = o->via.i64;
    else
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t) INT64_MAX)
            return ih_err_set (err, "%s: out of range (%" PRIu64 " > %" PRId64 ")",
                               name, o->via.u64, INT64_MAX);
        *out = (int64_t) o->via.u64;
    }
    else
        return ih_err_set (err, "%s: expected int, got %s", name, s_obj_type (o));
    return 0;
}

static int
s_get_bool (const msgpack_object *o, const char *name, bool *out, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return ih_err_set (err, "%s: expected bool, got %s", name, s_obj_type (o));
    *out = o->via.boolean;
    return 0;
}

//  bin of exactly `exact` bytes, or (exact == 0) of 1..IH_MAX_FRAME bytes.
static int
s_get_bin (const msgpack_object *o, const char *name, size_t exact,
           const uint8_t **p, size_t *n, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return ih_err_set (err, "%s: expected bin, got %s", name, s_obj_type (o));
    if (exact && o->via.bin.size != exact)
        return ih_err_set (err, "%s: expected %zu bytes, got %u", name, exact, o->via.bin.size);
    if (o->via.bin.size == 0)
        return ih_err_set (err, "%s: empty", name);
    *p = (const uint8_t *) o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

static int
s_get_array (const msgpack_object *o, const char *name, uint32_t max, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return ih_err_set (err, "%s: expected array, got %s", name, s_obj_type (o));
    if (o->via.array.size > max)
        return ih_err_set (err, "%s: too many elements (%u > %u)", name, o->via.array.size, max);
    return 0;
}

/* ---- enumerations by wire name ------------------------------------------------------------ */

typedef enum { s_E_TLP, s_E_SEV, s_E_CAT, s_E_IOC, s_E_KIND, s_E_ROLE } s_enum_t;

static const char *
s_enum_name (s_enum_t e, int v)
{
    switch (e) {
        case s_E_TLP:  return ih_tlp_name ((ih_tlp_t) v);
        case s_E_SEV:  return ih_severity_name ((ih_severity_t) v);
        case s_E_CAT:  return ih_category_name ((ih_category_t) v);
        case s_E_IOC:  return ih_ioc_type_name ((ih_ioc_type_t) v);
        case s_E_KIND: return ih_kind_name ((ih_kind_t) v);
        case s_E_ROLE: return ih_role_name ((ih_role_t) v);
    }
    return NULL;
}

static int
s_enum_count (s_enum_t e)
{
    switch (e) {
        case s_E_TLP:  return IH_TLP_COUNT;
        case s_E_SEV:  return IH_SEV_COUNT;
        case s_E_CAT:  return IH_CAT_COUNT;
        case s_E_IOC:  return IH_IOC_COUNT;
        case s_E_KIND: return IH_KIND_COUNT;
        case s_E_ROLE: return 2;
    }
    return 0;
}

//  Looks a wire name up exactly (the wire has one spelling: "AMBER", never "amber").
static int
s_enum_lookup (s_enum_t e, const char *p, size_t n)
{
    for (int v = 0; v < s_enum_count (e); v++) {
        const char *name = s_enum_name (e, v);
        if (name && strlen (name) == n && memcmp (name, p, n) == 0)
            return v;
    }
    return -1;
}

static int
s_get_enum (const msgpack_object *o, const char *name, s_enum_t e, int *out, ih_err_t *err)
{
    const char *p;
    size_t n;
    if (s_get_str (o, name, IH_MAX_SHORT, &p, &n, err))
        return -1;
    int v = s_enum_lookup (e, p, n);
    if (v < 0) {
        char q [IH_QUOTE_BUF];
        return ih_err_set (err, "%s: unknown value '%s'", name, ih_quote (p, n, IH_QUOTE_SHOW, q, sizeof q));
    }
    *out = v;
    return 0;
}

/* ---- packing --------------------------------------------------------------------------------- */

static int
s_buf_write (void *data, const char *buf, size_t len)
{
    ih_buf_append ((ih_buf_t *) data, buf, len);
    return 0;
}

//  Compares what the packer writes with the input instead of storing it, so the
//  canonical check of a decoded frame allocates nothing.
typedef struct {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool differs;
} s_cmp_t;

static int
s_cmp_write (void *data, const char *buf, size_t len)
{
    s_cmp_t *c = (s_cmp_t *) data;
    if (c->differs)
        return 0;
    size_t n = len < c->len - c->off ? len : c->len - c->off;
    for (size_t i = 0; i < n; i++)
        if (c->data [c->off + i] != (uint8_t) buf [i]) {
            c->off += i;
            c->differs = true;
            return 0;
        }
    c->off += n;
    if (n < len)
        c->differs = true;
    return 0;
}

static void
s_pack_strn (msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str (pk, n);
    if (n)
        msgpack_pack_str_body (pk, s, n);
}

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    if (!s)
        s = "";
    s_pack_strn (pk, s, strlen (s));
}

static void
s_pack_bin (msgpack_packer *pk, const uint8_t *p, size_t n)
{
    msgpack_pack_bin (pk, n);
    if (n)
        msgpack_pack_bin_body (pk, p, n);
}

//  Canonical integers: non-negative values always in the unsigned forms.
static void
s_pack_int (msgpack_packer *pk, int64_t v)
{
    if (v >= 0)
        msgpack_pack_uint64 (pk, (uint64_t) v);
    else
        msgpack_pack_int64 (pk, v);
}

static void
s_pack_strlist (msgpack_packer *pk, const ih_strlist_t *l)
{
    msgpack_pack_array (pk, l->items ? l->count : 0);
    for (uint32_t i = 0; l->items && i < l->count; i++)
        s_pack_str (pk, l->items [i]);
}

static int
s_pack_enum (msgpack_packer *pk, const char *field, s_enum_t e, int v, ih_err_t *err)
{
    const char *name = s_enum_name (e, v);
    if (!name)
        return ih_err_set (err, "%s: invalid value %d", field, v);
    s_pack_str (pk, name);
    return 0;
}

/* ---- signed bodies ------------------------------------------------------------------------ */

static const char *const s_alert_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer",
    "title", "summary", "tlp", "severity", "category", "sectors", "recipients",
    "references", "tags", "iocs", NULL
};
static const char *const s_retraction_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer",
    "ref", "text", "iocs", NULL
};
static const char *const s_comment_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer",
    "ref", "text", NULL
};
static const char *const s_sighting_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer",
    "ref", "tlp", "iocs", "count", NULL
};
static const char *const s_member_keys [] = {
    "k", "name", "org", "sector", "role", "curve", "sign", "created", "gateway", NULL
};

static const char *const *
s_body_keys (ih_kind_t kind)
{
    switch (kind) {
        case IH_KIND_ALERT:      return s_alert_keys;
        case IH_KIND_RETRACTION: return s_retraction_keys;
        case IH_KIND_COMMENT:    return s_comment_keys;
        case IH_KIND_SIGHTING:   return s_sighting_keys;
    }
    return NULL;
}

static uint32_t
s_key_count (const char *const *keys)
{
    uint32_t n = 0;
    while (keys [n])
        n++;
    return n;
}

static void
s_pack_iocs (msgpack_packer *pk, const ih_msg_t *m)
{
    uint32_t n = m->iocs ? m->ioc_count : 0;
    msgpack_pack_array (pk, n);
    for (uint32_t i = 0; i < n; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        msgpack_pack_array (pk, 4);
        s_pack_str (pk, s_enum_name (s_E_IOC, (int) ioc->type));
        s_pack_str (pk, ioc->value);
        s_pack_str (pk, ioc->comment);
        if (ioc->detect)
            msgpack_pack_true (pk);
        else
            msgpack_pack_false (pk);
    }
}

//  Packs m without validating it (used by encode after validation, and by decode to
//  check the canonical form). Fails only on out-of-range enums.
static int
s_pack_body (msgpack_packer *pk, const ih_msg_t *m, ih_err_t *err)
{
    const char *const *keys = s_body_keys (m->kind);
    if (!keys)
        return ih_err_set (err, "k: invalid kind %d", (int) m->kind);
    for (uint32_t i = 0; i < m->ioc_count && m->iocs; i++)
        if (!s_enum_name (s_E_IOC, (int) m->iocs [i].type))
            return ih_err_set (err, "iocs[%u].type: invalid value %d", i, (int) m->iocs [i].type);
    if ((m->kind == IH_KIND_ALERT || m->kind == IH_KIND_SIGHTING) && !s_enum_name (s_E_TLP, (int) m->tlp))
        return ih_err_set (err, "tlp: invalid value %d", (int) m->tlp);
    if (m->kind == IH_KIND_ALERT) {
        if (!s_enum_name (s_E_SEV, (int) m->severity))
            return ih_err_set (err, "severity: invalid value %d", (int) m->severity);
        if (!s_enum_name (s_E_CAT, (int) m->category))
            return ih_err_set (err, "category: invalid value %d", (int) m->category);
    }
    uint32_t i = 0;
    msgpack_pack_map (pk, s_key_count (keys));
    s_pack_str (pk, keys [i++]);
    s_pack_str (pk, s_enum_name (s_E_KIND, (int) m->kind));
    s_pack_str (pk, keys [i++]);
    s_pack_str (pk, m->id);
    s_pack_str (pk, keys [i++]);
    msgpack_pack_uint64 (pk, m->revision);
    s_pack_str (pk, keys [i++]);
    s_pack_int (pk, m->created);
    s_pack_str (pk, keys [i++]);
    s_pack_int (pk, m->modified);
    s_pack_str (pk, keys [i++]);
    s_pack_str (pk, m->org);
    s_pack_str (pk, keys [i++]);
    s_pack_str (pk, m->member);
    s_pack_str (pk, keys [i++]);
    s_pack_bin (pk, m->signer, sizeof m->signer);
    for (; keys [i]; i++) {
        const char *k = keys [i];
        s_pack_str (pk, k);
        if (strcmp (k, "title") == 0)           s_pack_str (pk, m->title);
        else if (strcmp (k, "summary") == 0)    s_pack_str (pk, m->summary);
        else if (strcmp (k, "tlp") == 0)        s_pack_enum (pk, k, s_E_TLP, (int) m->tlp, err);
        else if (strcmp (k, "severity") == 0)   s_pack_enum (pk, k, s_E_SEV, (int) m->severity, err);
        else if (strcmp (k, "category") == 0)   s_pack_enum (pk, k, s_E_CAT, (int) m->category, err);
        else if (strcmp (k, "sectors") == 0)    s_pack_strlist (pk, &m->sectors);
        else if (strcmp (k, "recipients") == 0) s_pack_strlist (pk, &m->recipients);
        else if (strcmp (k, "references") == 0) s_pack_strlist (pk, &m->references);
        else if (strcmp (k, "tags") == 0)       s_pack_strlist (pk, &m->tags);
        else if (strcmp (k, "iocs") == 0)       s_pack_iocs (pk, m);
        else if (strcmp (k, "ref") == 0)        s_pack_str (pk, m->ref);
        else if (strcmp (k, "text") == 0)       s_pack_str (pk, m->text);
        else if (strcmp (k, "count") == 0)      msgpack_pack_uint64 (pk, m->count);
    }
    return 0;
}

//  Checks that the keys of map are exactly `keys`, in that order, and names the first
//  problem: an unknown key, a duplicate, a key out of order, or a missing key.
static int
s_check_keys (const msgpack_object_map *map, const char *const *keys, const char *what,
              ih_err_t *err)
{
    uint32_t nkeys = s_key_count (keys);
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr [i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return ih_err_set (err, "%s: key #%u: expected str, got %s", what, i, s_obj_type (k));
        if (i < nkeys && s_key_is (k, keys [i]))
            continue;
        int pos = -1;
        for (uint32_t j = 0; j < nkeys && pos < 0; j++)
            if (s_key_is (k, keys [j]))
                pos = (int) j;
        if (pos < 0) {
            char q [IH_QUOTE_BUF];
            return ih_err_set (err, "%s: unknown key '%s'", what,
                               ih_quote (k->via.str.ptr, k->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
        }
        if ((uint32_t) pos < i)
            return ih_err_set (err, "%s: duplicate key", keys [pos]);
        for (uint32_t j = i + 1; j < map->size; j++)
            if (s_key_is (&map->ptr [j].key, keys [i]))
                return ih_err_set (err, "%s: out of order (expected '%s' at position %u)",
                                   keys [pos], keys [i], i);
        return ih_err_set (err, "%s: missing", keys [i]);
    }
    if (map->size < nkeys)
        return ih_err_set (err, "%s: missing", keys [map->size]);
    return 0;
}

/*  A string or list of strings, copied into the arena of a message or an envelope. */
static int
s_arena_str (ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
             const char **out, ih_err_t *err)
{
    const char *p;
    size_t n;
    if (s_get_str (o, name, max, &p, &n, err))
        return -1;
    *out = ih_arena_strndup (a, p, n);
    return 0;
}

static int
s_arena_strlist (ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
                 ih_strlist_t *list, ih_err_t *err)
{
    if (s_get_array (o, name, IH_MAX_LIST, err))
        return -1;
    uint32_t n = o->via.array.size;
    if (n == 0)
        return 0;
    const char **items = (const char **) ih_arena_alloc (a, n * sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        char field [48];
        snprintf (field, sizeof field, "%s[%u]", name, i);
        if (s_arena_str (a, &o->via.array.ptr [i], field, max, &items [i], err))
            return -1;
    }
    list->items = items;
    list->count = n;
    return 0;
}

static int
s_get_iocs (ih_msg_t *m, const msgpack_object *o, ih_err_t *err)
{
    if (s_get_array (o, "iocs", IH_MAX_IOCS, err))
        return -1;
    char value [IH_MAX_IOC_VALUE + 1];
    char comment [IH_MAX_IOC_COMMENT + 1];
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        char field [48];
        if (it->type != MSGPACK_OBJECT_ARRAY)
            return ih_err_set (err, "iocs[%u]: expected array of 4, got %s", i, s_obj_type (it));
        if (it->via.array.size != 4)
            return ih_err_set (err, "iocs[%u]: expected array of 4, got array of %u", i,
                               it->via.array.size);
        const msgpack_object *a = it->via.array.ptr;
        int type;
        const char *vp, *cp;
        size_t vn, cn;
        bool detect = false;
        snprintf (field, sizeof field, "iocs[%u].type", i);
        if (s_get_enum (&a [0], field, s_E_IOC, &type, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].value", i);
        if (s_get_str (&a [1], field, IH_MAX_IOC_VALUE, &vp, &vn, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].comment", i);
        if (s_get_str (&a [2], field, IH_MAX_IOC_COMMENT, &cp, &cn, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].detect", i);
        if (s_get_bool (&a [3], field, &detect, err))
            return -1;
        memcpy (value, vp, vn);
        value [vn] = 0;
        memcpy (comment, cp, cn);
        comment [cn] = 0;
        ih_msg_ioc_add (m, (ih_ioc_type_t) type, value, comment, detect);
    }
    return 0;
}

//  Fills m from the object tree of a body (keys, types and limits; not semantics).
static int
s_body_from (ih_msg_t *m, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ih_err_set (err, "body: expected map, got %s", s_obj_type (o));
    const msgpack_object_map *map = &o->via.map;
    if (map->size == 0 || !s_key_is (&map->ptr [0].key, "k"))
        return ih_err_set (err, "k: missing (must be the first key)");
    int kind;
    if (s_get_enum (&map->ptr [0].val, "k", s_E_KIND, &kind, err))
        return -1;
    ih_msg_init (m, (ih_kind_t) kind);      //  nothing allocated yet
    const char *const *keys = s_body_keys ((ih_kind_t) kind);
    if (s_check_keys (map, keys, "body", err))
        return -1;

    const msgpack_object_kv *kv = map->ptr;
    uint64_t u;
    const uint8_t *bin;
    size_t bin_len;
    if (s_get_fixed (&kv [1].val, "id", m->id, sizeof m->id, err)
    ||  s_get_uint (&kv [2].val, "rev", UINT32_MAX, &u, err))
        return -1;
    m->revision = (uint32_t) u;
    if (s_get_int (&kv [3].val, "created", &m->created, err)
    ||  s_get_int (&kv [4].val, "modified", &m->modified, err)
    ||  s_arena_str (&m->arena, &kv [5].val, "org", IH_MAX_SHORT, &m->org, err)
    ||  s_arena_str (&m->arena, &kv [6].val, "member", IH_MAX_SHORT, &m->member, err)
    ||  s_get_bin (&kv [7].val, "signer", sizeof m->signer, &bin, &bin_len, err))
        return -1;
    memcpy (m->signer, bin, sizeof m->signer);

    for (uint32_t i = 8; keys [i]; i++) {
        const char *k = keys [i];
        const msgpack_object *v = &kv [i].val;
        int e = 0;
        int rc;
        if (strcmp (k, "title") == 0)
            rc = s_arena_str (&m->arena, v, k, IH_MAX_TITLE, &m->title, err);
        else if (strcmp (k, "summary") == 0)
            rc = s_arena_str (&m->arena, v, k, IH_MAX_SUMMARY, &m->summary, err);
        else if (strcmp (k, "tlp") == 0) {
            rc = s_get_enum (v, k, s_E_TLP, &e, err);
            m->tlp = (ih_tlp_t) e;
        }
        else if (strcmp (k, "severity") == 0) {
            rc = s_get_enum (v, k, s_E_SEV, &e, err);
            m->severity = (ih_severity_t) e;
        }
        else if (strcmp (k, "category") == 0) {
            rc = s_get_enum (v, k, s_E_CAT, &e, err);
            m->category = (ih_category_t) e;
        }
        else if (strcmp (k, "sectors") == 0)
            rc = s_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->sectors, err);
        else if (strcmp (k, "recipients") == 0)
            rc = s_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->recipients, err);
        else if (strcmp (k, "references") == 0)
            rc = s_arena_strlist (&m->arena, v, k, IH_MAX_REF, &m->references, err);
        else if (strcmp (k, "tags") == 0)
            rc = s_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->tags, err);
        else if (strcmp (k, "iocs") == 0)
            rc = s_get_iocs (m, v, err);
        else if (strcmp (k, "ref") == 0)
            rc = s_get_fixed (v, k, m->ref, sizeof m->ref, err);
        else if (strcmp (k, "text") == 0)
            rc = s_arena_str (&m->arena, v, k, IH_MAX_TEXT, &m->text, err);
        else if (strcmp (k, "count") == 0) {
            rc = s_get_uint (v, k, UINT32_MAX, &u, err);
            m->count = (uint32_t) u;
        }
        else
            rc = ih_err_set (err, "%s: no decoder", k);    //  programmer error
        if (rc)
            return -1;
    }
    return 0;
}

int
ih_body_encode (const ih_msg_t *m, ih_buf_t *out, ih_err_t *err)
{
    ih_buf_reset (out);
    if (ih_msg_validate (m, err))
        return -1;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, s_buf_write);
    if (s_pack_body (&pk, m, err)) {
        ih_buf_reset (out);
        return -1;
    }
    if (out->len > IH_MAX_FRAME) {
        size_t n = out->len;
        ih_buf_reset (out);
        return ih_err_set (err, "body: too large (%zu > %d bytes)", n, IH_MAX_FRAME);
    }
    return 0;
}

int
ih_body_decode (ih_msg_t *m, const uint8_t *data, size_t len, ih_err_t *err)
{
    ih_msg_init (m, IH_KIND_ALERT);
    msgpack_unpacked up;
    if (s_unpack (&up, data, len, err))
        return -1;
    int rc = s_body_from (m, &up.data, err);
    msgpack_unpacked_destroy (&up);
    if (rc == 0) {
        s_cmp_t cmp = { data, len, 0, false };
        msgpack_packer pk;
        msgpack_packer_init (&pk, &cmp, s_cmp_write);
        rc = s_pack_body (&pk, m, err);
        if (rc == 0 && (cmp.differs || cmp.off != len))
            rc = ih_err_set (err, "body: non-canonical encoding at byte %zu", cmp.off);
    }
    if (rc == 0)
        rc = ih_msg_validate (m, err);
    if (rc)
        ih_msg_free (m);
    return rc;
}

/* ---- member records ---------------------------------------------------------------------- */

static int
s_pack_member (msgpack_packer *pk, const ih_member_t *r, ih_err_t *err)
{
    const char *role = s_enum_name (s_E_ROLE, (int) r->role);
    if (!role)
        return ih_err_set (err, "role: invalid value %d", (int) r->role);
    const char *const *keys = s_member_keys;
    msgpack_pack_map (pk, s_key_count (keys));
    s_pack_str (pk, "k");
    s_pack_str (pk, "member");
    s_pack_str (pk, "name");
    s_pack_strn (pk, r->name, strnlen (r->name, sizeof r->name));
    s_pack_str (pk, "org");
    s_pack_strn (pk, r->org, strnlen (r->org, sizeof r->org));
    s_pack_str (pk, "sector");
    s_pack_strn (pk, r->sector, strnlen (r->sector, sizeof r->sector));
    s_pack_str (pk, "role");
    s_pack_str (pk, role);
    s_pack_str (pk, "curve");
    s_pack_bin (pk, r->curve, sizeof r->curve);
    s_pack_str (pk, "sign");
    s_pack_bin (pk, r->sign, sizeof r->sign);
    s_pack_str (pk, "created");
    s_pack_int (pk, r->created);
    s_pack_str (pk, "gateway");
    if (r->gateway)
        msgpack_pack_true (pk);
    else
        msgpack_pack_false (pk);
    return 0;
}

static int
s_member_from (ih_member_t *r, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ih_err_set (err, "member record: expected map, got %s", s_obj_type (o));
    const msgpack_object_map *map = &o->via.map;
    if (map->size == 0 || !s_key_is (&map->ptr [0].key, "k"))
        return ih_err_set (err, "k: missing (must be the first key)");
    const msgpack_object *k = &map->ptr [0].val;
    if (k->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "k: expected str, got %s", s_obj_type (k));
    if (!s_key_is (k, "member")) {
        char q [IH_QUOTE_BUF];
        return ih_err_set (err, "k: expected 'member', got '%s'",
                           ih_quote (k->via.str.ptr, k->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
    }
    if (s_check_keys (map, s_member_keys, "member record", err))
        return -1;
    const msgpack_object_kv *kv = map->ptr;
    int role;
    const uint8_t *bin;
    size_t n;
    if (s_get_fixed (&kv [1].val, "name", r->name, sizeof r->name, err)
    ||  s_get_fixed (&kv [2].val, "org", r->org, sizeof r->org, err)
    ||  s_get_fixed (&kv [3].val, "sector", r->sector, sizeof r->sector, err)
    ||  s_get_enum (&kv [4].val, "role", s_E_ROLE, &role, err))
        return -1;
    r->role = (ih_role_t) role;
    if (s_get_bin (&kv [5].val, "curve", sizeof r->curve, &bin, &n, err))
        return -1;
    memcpy (r->curve, bin, sizeof r->curve);
    if (s_get_bin (&kv [6].val, "sign", sizeof r->sign, &bin, &n, err))
        return -1;
    memcpy (r->sign, bin, sizeof r->sign);
    if (s_get_int (&kv [7].val, "created", &r->created, err)
    ||  s_get_bool (&kv [8].val, "gateway", &r->gateway, err))
        return -1;
    return 0;
}

int
ih_member_encode (const ih_member_t *r, ih_buf_t *out, ih_err_t *err)
{
    ih_buf_reset (out);
    if (ih_member_validate (r, err))
        return -1;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, s_buf_write);
    if (s_pack_member (&pk, r, err)) {
        ih_buf_reset (out);
        return -1;
    }
    return 0;
}

int
ih_member_decode (ih_member_t *r, const uint8_t *data, size_t len, ih_err_t *err)
{
    memset (r, 0, sizeof *r);
    msgpack_unpacked up;
    if (s_unpack (&up, data, len, err))
        return -1;
    int rc = s_member_from (r, &up.data, err);
    msgpack_unpacked_destroy (&up);
    if (rc == 0) {
        s_cmp_t cmp = { data, len, 0, false };
        msgpack_packer pk;
        msgpack_packer_init (&pk, &cmp, s_cmp_write);
        rc = s_pack_member (&pk, r, err);
        if (rc == 0 && (cmp.differs || cmp.off != len))
            rc = ih_err_set (err, "member record: non-canonical encoding at byte %zu", cmp.off);
    }
    if (rc == 0)
        rc = ih_member_validate (r, err);
    if (rc)
        memset (r, 0, sizeof *r);
    return rc;
}

/* ---- envelopes --------------------------------------------------------------------------- */

typedef enum {
    s_F_CURSOR, s_F_CATEGORIES, s_F_SECTORS, s_F_MIN_SEVERITY, s_F_WINDOW, s_F_AGENT,
    s_F_HEAD, s_F_MEMBER, s_F_ORG, s_F_HEARTBEAT, s_F_REQ, s_F_BODY, s_F_SIG, s_F_SEQ,
    s_F_ID, s_F_CODE, s_F_REASON, s_F_ITEMS, s_F_JSON
} s_field_t;

static const char *const s_field_names [] = {
    "cursor", "categories", "sectors", "min_severity", "window", "agent",
    "head", "member", "org", "heartbeat", "req", "body", "sig", "seq",
    "id", "code", "reason", "items", "json"
};

#define s_TYPE_MAX IH_T_STATS
#define s_END (-1)

static const char *const s_type_names [s_TYPE_MAX + 1] = {
    NULL, "hello", "welcome", "publish", "ok", "error", "deliver", "ack", "ping", "pong",
    "bye", "status", "stats"
};

//  Fields of each type, in the order the encoder writes them.
static const int8_t s_type_fields [s_TYPE_MAX + 1][7] = {
    [IH_T_HELLO]   = { s_F_CURSOR, s_F_CATEGORIES, s_F_SECTORS, s_F_MIN_SEVERITY, s_F_WINDOW,
                       s_F_AGENT, s_END },
    [IH_T_WELCOME] = { s_F_HEAD, s_F_MEMBER, s_F_ORG, s_F_HEARTBEAT, s_END },
    [IH_T_PUBLISH] = { s_F_REQ, s_F_BODY, s_F_SIG, s_END },
    [IH_T_OK]      = { s_F_REQ, s_F_SEQ, s_F_ID, s_END },
    [IH_T_ERROR]   = { s_F_REQ, s_F_CODE, s_F_REASON, s_END },
    [IH_T_DELIVER] = { s_F_ITEMS, s_END },
    [IH_T_ACK]     = { s_F_SEQ, s_END },
    [IH_T_PING]    = { s_END },
    [IH_T_PONG]    = { s_F_HEAD, s_END },
    [IH_T_BYE]     = { s_END },
    [IH_T_STATUS]  = { s_END },
    [IH_T_STATS]   = { s_F_JSON, s_END },
};

const char *
ih_type_name (ih_type_t t)
{
    if ((int) t < 1 || (int) t > s_TYPE_MAX)
        return NULL;
    return s_type_names [t];
}

static void
s_env_clear (ih_env_t *e, ih_type_t type)
{
    memset (e, 0, sizeof *e);
    e->type = type;
    e->id = e->code = e->reason = e->agent = e->member = e->org = "";
    e->min_severity = e->json = "";
    ih_arena_init (&e->arena);
}

void
ih_env_init (ih_env_t *e, ih_type_t type)
{
    s_env_clear (e, type);
}

void
ih_env_free (ih_env_t *e)
{
    ih_arena_free (&e->arena);
    s_env_clear (e, e->type);
}

//  A string field of an envelope, for encode (NULL counts as "") and decode alike.
static int
s_check_str (const char *name, const char *s, size_t max, ih_err_t *err)
{
    size_t n = s ? strlen (s) : 0;
    if (n > max)
        return ih_err_set (err, "%s: too long (%zu > %zu bytes)", name, n, max);
    if (n && !s_utf8_ok ((const uint8_t *) s, n))
        return ih_err_set (err, "%s: invalid UTF-8", name);
    return 0;
}

static int
s_check_list (const char *name, const ih_strlist_t *l, ih_err_t *err)
{
    if (l->count > IH_MAX_LIST)
        return ih_err_set (err, "%s: too many elements (%u > %d)", name, l->count, IH_MAX_LIST);
    if (l->count && !l->items)
        return ih_err_set (err, "%s: missing items", name);
    return 0;
}

//  Semantic checks of an envelope, shared by encode (what we send) and decode.
static int
s_env_check (const ih_env_t *e, ih_err_t *err)
{
    char q [IH_QUOTE_BUF];
    switch (e->type) {
        case IH_T_HELLO:
            if (e->window < 1 || e->window > 10000)
                return ih_err_set (err, "window: must be 1..10000, got %u", e->window);
            if (s_check_str ("min_severity", e->min_severity, IH_MAX_SHORT, err)
            ||  s_check_str ("agent", e->agent, IH_MAX_SHORT, err)
            ||  s_check_list ("categories", &e->categories, err)
            ||  s_check_list ("sectors", &e->sectors, err))
                return -1;
            //  The broker logs it: no control characters, no escape sequences, no
            //  bytes a terminal or a log reader could take for a line break
            for (const unsigned char *a = (const unsigned char *) e->agent; a && *a; a++)
                if (*a < 0x20 || *a > 0x7e)
                    return ih_err_set (err, "agent: must be printable ASCII");
            if (e->min_severity && *e->min_severity
            &&  s_enum_lookup (s_E_SEV, e->min_severity, strlen (e->min_severity)) < 0)
                return ih_err_set (err, "min_severity: unknown severity '%s'",
                                   ih_quote (e->min_severity, strlen (e->min_severity), IH_QUOTE_SHOW, q, sizeof q));
            for (uint32_t i = 0; i < e->categories.count; i++) {
                const char *c = e->categories.items [i] ? e->categories.items [i] : "";
                if (s_enum_lookup (s_E_CAT, c, strlen (c)) < 0)
                    return ih_err_set (err, "categories[%u]: unknown category '%s'", i,
                                       ih_quote (c, strlen (c), IH_QUOTE_SHOW, q, sizeof q));
            }
            for (uint32_t i = 0; i < e->sectors.count; i++) {
                const char *s = e->sectors.items [i] ? e->sectors.items [i] : "";
                if (!ih_slug_valid (s, IH_MAX_SHORT))
                    return ih_err_set (err, "sectors[%u]: not a valid sector '%s'", i,
                                       ih_quote (s, strlen (s), IH_QUOTE_SHOW, q, sizeof q));
            }
            return 0;
        case IH_T_WELCOME:
            if (!e->member || !ih_slug_valid (e->member, IH_MAX_SHORT))
                return ih_err_set (err, "member: not a valid member name");
            if (!e->org || !ih_slug_valid (e->org, IH_MAX_SHORT))
                return ih_err_set (err, "org: not a valid org id");
            return 0;
        case IH_T_PUBLISH:
            if (!e->body || e->body_len == 0)
                return ih_err_set (err, "body: missing");
            if (e->body_len > IH_MAX_FRAME)
                return ih_err_set (err, "body: too large (%zu > %d bytes)", e->body_len, IH_MAX_FRAME);
            if (!e->sig)
                return ih_err_set (err, "sig: missing");
            return 0;
        case IH_T_OK:
            if (!e->id || !ih_uuid_valid (e->id))
                return ih_err_set (err, "id: not a lower-case UUID");
            return 0;
        case IH_T_ERROR:
            if (!e->code || !*e->code)
                return ih_err_set (err, "code: missing");
            return s_check_str ("code", e->code, IH_MAX_SHORT, err)
                || s_check_str ("reason", e->reason, IH_MAX_TEXT, err);
        case IH_T_DELIVER:
            if (e->item_count < 1 || e->item_count > IH_MAX_ITEMS || !e->items)
                return ih_err_set (err, "items: expected 1..%d items, got %u", IH_MAX_ITEMS,
                                   e->items ? e->item_count : 0);
            for (uint32_t i = 0; i < e->item_count; i++) {
                const ih_item_t *it = &e->items [i];
                if (!it->body || it->body_len == 0)
                    return ih_err_set (err, "items[%u].body: missing", i);
                if (!it->sig)
                    return ih_err_set (err, "items[%u].sig: missing", i);
                if (!it->rec || it->rec_len == 0)
                    return ih_err_set (err, "items[%u].rec: missing", i);
                if (!it->rec_sig)
                    return ih_err_set (err, "items[%u].rec_sig: missing", i);
                if (i > 0 && it->seq <= e->items [i - 1].seq)
                    return ih_err_set (err, "items[%u].seq: not increasing (%" PRIu64 " after %" PRIu64 ")",
                                       i, it->seq, e->items [i - 1].seq);
            }
            return 0;
        case IH_T_STATS:
            return s_check_str ("json", e->json, IH_MAX_FRAME, err);
        case IH_T_ACK: case IH_T_PING: case IH_T_PONG: case IH_T_BYE: case IH_T_STATUS:
            return 0;
    }
    return ih_err_set (err, "t: unknown message type %d", (int) e->type);
}

int
ih_env_encode (const ih_env_t *e, ih_buf_t *out, ih_err_t *err)
{
    ih_buf_reset (out);
    if (s_env_check (e, err))
        return -1;
    const int8_t *fields = s_type_fields [e->type];
    uint32_t n = 0;
    while (fields [n] != s_END)
        n++;
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, s_buf_write);
    msgpack_pack_map (&pk, 2 + n);
    s_pack_str (&pk, "v");
    msgpack_pack_uint64 (&pk, IH_PROTO_VERSION);
    s_pack_str (&pk, "t");
    s_pack_str (&pk, ih_type_name (e->type));
    for (uint32_t i = 0; i < n; i++) {
        s_pack_str (&pk, s_field_names [fields [i]]);
        switch ((s_field_t) fields [i]) {
            case s_F_CURSOR:       msgpack_pack_uint64 (&pk, e->cursor); break;
            case s_F_CATEGORIES:   s_pack_strlist (&pk, &e->categories); break;
            case s_F_SECTORS:      s_pack_strlist (&pk, &e->sectors); break;
            case s_F_MIN_SEVERITY: s_pack_str (&pk, e->min_severity); break;
            case s_F_WINDOW:       msgpack_pack_uint64 (&pk, e->window); break;
            case s_F_AGENT:        s_pack_str (&pk, e->agent); break;
            case s_F_HEAD:         msgpack_pack_uint64 (&pk, e->head); break;
            case s_F_MEMBER:       s_pack_str (&pk, e->member); break;
            case s_F_ORG:          s_pack_str (&pk, e->org); break;
            case s_F_HEARTBEAT:    msgpack_pack_uint64 (&pk, e->heartbeat); break;
            case s_F_REQ:          msgpack_pack_uint64 (&pk, e->req); break;
            case s_F_BODY:         s_pack_bin (&pk, e->body, e->body_len); break;
            case s_F_SIG:          s_pack_bin (&pk, e->sig, IH_SIG_LEN); break;
            case s_F_SEQ:          msgpack_pack_uint64 (&pk, e->seq); break;
            case s_F_ID:           s_pack_str (&pk, e->id); break;
            case s_F_CODE:         s_pack_str (&pk, e->code); break;
            case s_F_REASON:       s_pack_str (&pk, e->reason); break;
            case s_F_JSON:         s_pack_str (&pk, e->json); break;
            case s_F_ITEMS:
                msgpack_pack_array (&pk, e->item_count);
                for (uint32_t j = 0; j < e->item_count; j++) {
                    const ih_item_t *it = &e->items [j];
                    msgpack_pack_array (&pk, 5);
                    msgpack_pack_uint64 (&pk, it->seq);
                    s_pack_bin (&pk, it->body, it->body_len);
                    s_pack_bin (&pk, it->sig, IH_SIG_LEN);
                    s_pack_bin (&pk, it->rec, it->rec_len);
                    s_pack_bin (&pk, it->rec_sig, IH_SIG_LEN);
                }
                break;
        }
    }
    if (out->len > IH_MAX_FRAME) {
        size_t len = out->len;
        ih_buf_reset (out);
        return ih_err_set (err, "%s: frame too large (%zu > %d bytes)", ih_type_name (e->type),
                           len, IH_MAX_FRAME);
    }
    return 0;
}

static int
s_env_items (ih_env_t *e, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return ih_err_set (err, "items: expected array, got %s", s_obj_type (o));
    uint32_t n = o->via.array.size;
    if (n < 1 || n > IH_MAX_ITEMS)
        return ih_err_set (err, "items: expected 1..%d items, got %u", IH_MAX_ITEMS, n);
    ih_item_t *items = (ih_item_t *) ih_arena_alloc (&e->arena, n * sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        if (it->type != MSGPACK_OBJECT_ARRAY)
            return ih_err_set (err, "items[%u]: expected array of 5, got %s", i, s_obj_type (it));
        if (it->via.array.size != 5)
            return ih_err_set (err, "items[%u]: expected array of 5, got array of %u", i,
                               it->via.array.size);
        const msgpack_object *a = it->via.array.ptr;
        ih_item_t *item = &items [i];
        char field [48];
        size_t n64;
        snprintf (field, sizeof field, "items[%u].seq", i);
        if (s_get_uint (&a [0], field, UINT64_MAX, &item->seq, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].body", i);
        if (s_get_bin (&a [1], field, 0, &item->body, &item->body_len, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].sig", i);
        if (s_get_bin (&a [2], field, IH_SIG_LEN, &item->sig, &n64, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].rec", i);
        if (s_get_bin (&a [3], field, 0, &item->rec, &item->rec_len, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].rec_sig", i);
        if (s_get_bin (&a [4], field, IH_SIG_LEN, &item->rec_sig, &n64, err))
            return -1;
    }
    e->items = items;
    e->item_count = n;
    return 0;
}

static int
s_env_field (ih_env_t *e, s_field_t f, const msgpack_object *v, ih_err_t *err)
{
    const char *name = s_field_names [f];
    uint64_t u;
    size_t n;
    switch (f) {
        case s_F_CURSOR:       return s_get_uint (v, name, UINT64_MAX, &e->cursor, err);
        case s_F_HEAD:         return s_get_uint (v, name, UINT64_MAX, &e->head, err);
        case s_F_REQ:          return s_get_uint (v, name, UINT64_MAX, &e->req, err);
        case s_F_SEQ:          return s_get_uint (v, name, UINT64_MAX, &e->seq, err);
        case s_F_WINDOW:
            if (s_get_uint (v, name, UINT32_MAX, &u, err))
                return -1;
            e->window = (uint32_t) u;
            return 0;
        case s_F_HEARTBEAT:
            if (s_get_uint (v, name, UINT32_MAX, &u, err))
                return -1;
            e->heartbeat = (uint32_t) u;
            return 0;
        case s_F_CATEGORIES:   return s_arena_strlist (&e->arena, v, name, IH_MAX_SHORT, &e->categories, err);
        case s_F_SECTORS:      return s_arena_strlist (&e->arena, v, name, IH_MAX_SHORT, &e->sectors, err);
        case s_F_MIN_SEVERITY: return s_arena_str (&e->arena, v, name, IH_MAX_SHORT, &e->min_severity, err);
        case s_F_AGENT:        return s_arena_str (&e->arena, v, name, IH_MAX_SHORT, &e->agent, err);
        case s_F_MEMBER:       return s_arena_str (&e->arena, v, name, IH_MAX_SHORT, &e->member, err);
        case s_F_ORG:          return s_arena_str (&e->arena, v, name, IH_MAX_SHORT, &e->org, err);
        case s_F_ID:           return s_arena_str (&e->arena, v, name, IH_UUID_LEN, &e->id, err);
        case s_F_CODE:         return s_arena_str (&e->arena, v, name, IH_MAX_SHORT, &e->code, err);
        case s_F_REASON:       return s_arena_str (&e->arena, v, name, IH_MAX_TEXT, &e->reason, err);
        case s_F_JSON:         return s_arena_str (&e->arena, v, name, IH_MAX_FRAME, &e->json, err);
        case s_F_BODY:         return s_get_bin (v, name, 0, &e->body, &e->body_len, err);
        case s_F_SIG:          return s_get_bin (v, name, IH_SIG_LEN, &e->sig, &n, err);
        case s_F_ITEMS:        return s_env_items (e, v, err);
    }
    return ih_err_set (err, "%s: no decoder", name);
}

static int
s_env_from (ih_env_t *e, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ih_err_set (err, "envelope: expected map, got %s", s_obj_type (o));
    const msgpack_object_map *map = &o->via.map;
    const msgpack_object_kv *kv = map->ptr;
    char q [IH_QUOTE_BUF];

    if (map->size < 1 || !s_key_is (&kv [0].key, "v"))
        return ih_err_set (err, "v: missing (must be the first key)");
    const msgpack_object *v = &kv [0].val;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return ih_err_set (err, "v: unsupported protocol version %" PRId64, v->via.i64);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ih_err_set (err, "v: expected uint, got %s", s_obj_type (v));
    if (v->via.u64 != IH_PROTO_VERSION)
        return ih_err_set (err, "v: unsupported protocol version %" PRIu64, v->via.u64);

    if (map->size < 2 || !s_key_is (&kv [1].key, "t"))
        return ih_err_set (err, "t: missing (must be the second key)");
    const msgpack_object *t = &kv [1].val;
    if (t->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "t: expected str, got %s", s_obj_type (t));
    int type = 0;
    for (int i = 1; i <= s_TYPE_MAX && !type; i++)
        if (s_key_is (t, s_type_names [i]))
            type = i;
    if (!type)
        return ih_err_set (err, "t: unknown message type '%s'",
                           ih_quote (t->via.str.ptr, t->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
    e->type = (ih_type_t) type;
    const char *tname = s_type_names [type];
    const int8_t *fields = s_type_fields [type];

    uint32_t seen = 0;
    for (uint32_t i = 2; i < map->size; i++) {
        const msgpack_object *k = &kv [i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return ih_err_set (err, "%s: key #%u: expected str, got %s", tname, i, s_obj_type (k));
        if (s_key_is (k, "v") || s_key_is (k, "t"))
            return ih_err_set (err, "%.*s: duplicate key", (int) k->via.str.size, k->via.str.ptr);
        int f = -1;
        for (int j = 0; fields [j] != s_END && f < 0; j++)
            if (s_key_is (k, s_field_names [fields [j]]))
                f = fields [j];
        if (f < 0)
            return ih_err_set (err, "%s: unknown key '%s'", tname,
                               ih_quote (k->via.str.ptr, k->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
        if (seen & (1u << f))
            return ih_err_set (err, "%s: duplicate key", s_field_names [f]);
        seen |= 1u << f;
        if (s_env_field (e, (s_field_t) f, &kv [i].val, err))
            return -1;
    }
    for (int j = 0; fields [j] != s_END; j++)
        if (!(seen & (1u << fields [j])))
            return ih_err_set (err, "%s: missing", s_field_names [fields [j]]);
    return 0;
}

int
ih_env_decode (ih_env_t *e, const uint8_t *data, size_t len, ih_err_t *err)
{
    s_env_clear (e, (ih_type_t) 0);
    msgpack_unpacked up;
    if (s_unpack (&up, data, len, err))
        return -1;
    int rc = s_env_from (e, &up.data, err);
    msgpack_unpacked_destroy (&up);
    if (rc == 0)
        rc = s_env_check (e, err);
    if (rc)
        ih_env_free (e);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST

#define s_T_ID   "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define s_T_ID2  "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
#define s_T_SHA  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void
s_test_msg (ih_msg_t *m, ih_kind_t kind)
{
    ih_msg_init (m, kind);
    memcpy (m->id, kind == IH_KIND_ALERT ? s_T_ID : s_T_ID2, IH_UUID_LEN + 1);
    m->revision = kind == IH_KIND_ALERT ? 2 : 0;
    m->created = 1764350736123LL;
    m->modified = m->created + 60000;
    m->org = ih_msg_str (m, "acme");
    m->member = ih_msg_str (m, "alice");
    memset (m->signer, 0x5a, sizeof m->signer);
    switch (kind) {
        case IH_KIND_ALERT: {
            m->title = ih_msg_str (m, "LockBit affiliate targeting payment processors");
            //  300 bytes: a str16 on the wire
            char summary [301];
            memset (summary, 's', 300);
            summary [300] = 0;
            summary [0] = '#';
            summary [1] = ' ';
            m->summary = ih_msg_str (m, summary);
            m->tlp = IH_TLP_AMBER;
            m->severity = IH_SEV_HIGH;
            m->category = IH_CAT_RANSOMWARE;
            ih_msg_strlist_add (m, &m->sectors, "finance");
            ih_msg_strlist_add (m, &m->sectors, "energy");
            ih_msg_strlist_add (m, &m->recipients, "sector:finance");
            ih_msg_strlist_add (m, &m->recipients, "globex");
            ih_msg_strlist_add (m, &m->references, "https://example.org/advisory/1");
            ih_msg_strlist_add (m, &m->tags, "lockbit");
            ih_msg_ioc_add (m, IH_IOC_IPV4, "198.51.100.7", "C2 server", true);
            ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", true);
            ih_msg_ioc_add (m, IH_IOC_SHA256, s_T_SHA, "dropper", false);
            break;
        }
        case IH_KIND_RETRACTION:
            memcpy (m->ref, s_T_ID, IH_UUID_LEN + 1);
            m->text = ih_msg_str (m, "false positive: shared hosting");
            ih_msg_ioc_add (m, IH_IOC_IPV4, "198.51.100.7", "", false);
            break;
        case IH_KIND_COMMENT:
            memcpy (m->ref, s_T_ID, IH_UUID_LEN + 1);
            m->text = ih_msg_str (m, "Seen at two more members.\nBlocked at the edge.");
            break;
        case IH_KIND_SIGHTING:
            memcpy (m->ref, s_T_ID, IH_UUID_LEN + 1);
            m->tlp = IH_TLP_GREEN;
            ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", false);
            m->count = 3;
            break;
    }
}

static void
s_test_member (ih_member_t *r)
{
    memset (r, 0, sizeof *r);
    snprintf (r->name, sizeof r->name, "alice");
    snprintf (r->org, sizeof r->org, "acme");
    snprintf (r->sector, sizeof r->sector, "finance");
    r->role = IH_ROLE_PUBLISHER;
    memset (r->curve, 0xc5, sizeof r->curve);
    memset (r->sign, 0x5a, sizeof r->sign);
    r->created = 1764350736123LL;
}

static bool
s_msg_equal (const ih_msg_t *a, const ih_msg_t *b)
{
    ih_buf_t x, y;
    ih_buf_init (&x);
    ih_buf_init (&y);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &x, s_buf_write);
    IH_CHECK (s_pack_body (&pk, a, NULL) == 0);
    msgpack_packer_init (&pk, &y, s_buf_write);
    IH_CHECK (s_pack_body (&pk, b, NULL) == 0);
    bool same = x.len == y.len && memcmp (x.data, y.data, x.len) == 0;
    ih_buf_free (&x);
    ih_buf_free (&y);
    return same;
}

//  Fills an envelope of each type with sample values; bytes borrowed from the arguments.
static void
s_test_env (ih_env_t *e, ih_type_t t, const ih_buf_t *body, const ih_buf_t *rec,
            const uint8_t *sig, ih_item_t items [3])
{
    static const char *cats [] = { "ransomware", "phishing" };
    static const char *secs [] = { "finance" };
    ih_env_init (e, t);
    switch (t) {
        case IH_T_HELLO:
            e->cursor = 41;
            e->categories.items = cats;
            e->categories.count = 2;
            e->sectors.items = secs;
            e->sectors.count = 1;
            e->min_severity = "medium";
            e->window = 1000;
            e->agent = "infohub-agent/0.1";
            break;
        case IH_T_WELCOME:
            e->head = 123456789;
            e->member = "alice";
            e->org = "acme";
            e->heartbeat = 5000;
            break;
        case IH_T_PUBLISH:
            e->req = 7;
            e->body = body->data;
            e->body_len = body->len;
            e->sig = sig;
            break;
        case IH_T_OK:
            e->req = 7;
            e->seq = 300;
            e->id = s_T_ID;
            break;
        case IH_T_ERROR:
            e->req = 7;
            e->code = "bad-message";
            e->reason = "title: too long (300 > 256 bytes)";
            break;
        case IH_T_DELIVER:
            for (int i = 0; i < 3; i++) {
                items [i].seq = i == 2 ? 9 : (uint64_t) (5 + i);
                items [i].body = body->data;
                items [i].body_len = body->len;
                items [i].sig = sig;
                items [i].rec = rec->data;
                items [i].rec_len = rec->len;
                items [i].rec_sig = sig;
            }
            e->items = items;
            e->item_count = 3;
            break;
        case IH_T_ACK:
            e->seq = 70000;
            break;
        case IH_T_PONG:
            e->head = 5;
            break;
        case IH_T_STATS:
            e->json = "{\"connections\":2,\"head\":5}";
            break;
        case IH_T_PING: case IH_T_BYE: case IH_T_STATUS:
            break;
    }
}

static bool
s_env_equal (const ih_env_t *a, const ih_env_t *b)
{
    ih_buf_t x, y;
    ih_buf_init (&x);
    ih_buf_init (&y);
    IH_CHECK (ih_env_encode (a, &x, NULL) == 0);
    IH_CHECK (ih_env_encode (b, &y, NULL) == 0);
    bool same = x.len == y.len && memcmp (x.data, y.data, x.len) == 0;
    ih_buf_free (&x);
    ih_buf_free (&y);
    return same;
}

//  Replacement values for the mutation cases.
enum {
    s_V_NIL, s_V_TRUE, s_V_ZERO, s_V_INT5, s_V_TWO, s_V_NEG, s_V_BIG, s_V_HUGE, s_V_FLOAT,
    s_V_STR, s_V_STR300, s_V_STRNUL, s_V_BADUTF8, s_V_AMBER_LC, s_V_EVIL, s_V_BADUUID,
    s_V_ZAP, s_V_ALERT, s_V_UPPER, s_V_BIN12, s_V_BIN32, s_V_MAP, s_V_ARR3, s_V_EMPTYARR,
    s_V_CTRL, s_V_HIGH
};

static msgpack_object
s_val (int which)
{
    static char long300 [300];
    static msgpack_object arr3 [3];
    memset (long300, 'a', sizeof long300);
    msgpack_object o;
    memset (&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_STR;
    switch (which) {
        case s_V_NIL:   o.type = MSGPACK_OBJECT_NIL; break;
        case s_V_TRUE:  o.type = MSGPACK_OBJECT_BOOLEAN; o.via.boolean = true; break;
        case s_V_ZERO:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 0; break;
        case s_V_INT5:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 5; break;
        case s_V_TWO:   o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 2; break;
        case s_V_NEG:   o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER; o.via.i64 = -1; break;
        case s_V_BIG:   o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 1ULL << 40; break;
        case s_V_HUGE:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = UINT64_MAX; break;
        case s_V_FLOAT: o.type = MSGPACK_OBJECT_FLOAT64; o.via.f64 = 1.5; break;
        case s_V_STR:   o.via.str.ptr = "x"; o.via.str.size = 1; break;
        case s_V_STR300: o.via.str.ptr = long300; o.via.str.size = 300; break;
        case s_V_STRNUL: o.via.str.ptr = "a\0b"; o.via.str.size = 3; break;
        case s_V_BADUTF8: o.via.str.ptr = "caf\xc3"; o.via.str.size = 4; break;
        case s_V_AMBER_LC: o.via.str.ptr = "amber"; o.via.str.size = 5; break;
        case s_V_EVIL:  o.via.str.ptr = "EVIL.example"; o.via.str.size = 12; break;
        case s_V_BADUUID: o.via.str.ptr = "not-a-uuid"; o.via.str.size = 10; break;
        case s_V_ZAP:   o.via.str.ptr = "zap"; o.via.str.size = 3; break;
        case s_V_ALERT: o.via.str.ptr = "alert"; o.via.str.size = 5; break;
        case s_V_UPPER: o.via.str.ptr = "Alice"; o.via.str.size = 5; break;
        case s_V_BIN12: o.type = MSGPACK_OBJECT_BIN; o.via.bin.ptr = long300; o.via.bin.size = 12; break;
        case s_V_BIN32: o.type = MSGPACK_OBJECT_BIN; o.via.bin.ptr = long300; o.via.bin.size = 32; break;
        case s_V_MAP:   o.type = MSGPACK_OBJECT_MAP; break;
        case s_V_ARR3:
            for (int i = 0; i < 3; i++)
                arr3 [i] = s_val (s_V_STR);
            o.type = MSGPACK_OBJECT_ARRAY;
            o.via.array.ptr = arr3;
            o.via.array.size = 3;
            break;
        case s_V_EMPTYARR: o.type = MSGPACK_OBJECT_ARRAY; break;
        case s_V_CTRL:  o.via.str.ptr = "x)\nI broker: \x1b[2J"; o.via.str.size = 17; break;
        case s_V_HIGH:  o.via.str.ptr = "caf\xc3\xa9"; o.via.str.size = 5; break;
    }
    return o;
}

typedef enum { s_OP_DROP, s_OP_ADD, s_OP_SWAP, s_OP_SET, s_OP_ROOT } s_op_t;
typedef enum { s_W_BODY, s_W_ENV, s_W_MEMBER } s_what_t;

typedef struct {
    s_what_t what;
    int base;               //  body: kind; env: type
    s_op_t op;
    const char *key;        //  key operated on (ADD: the new key)
    int idx;                //  SET: -1 for the value, else element idx of an array value
    int sub;                //  SET: -1, or element of that element
    int val;                //  s_V_* for SET / ADD / ROOT
    const char *expect;     //  substring of the expected error
} s_case_t;

//  Re-packs the map `root` with one mutation applied.
static void
s_mutate (const msgpack_object *root, const s_case_t *c, ih_buf_t *out)
{
    msgpack_object_kv kvs [40];
    msgpack_object arr [40], sub [8];
    msgpack_object top = *root;
    IH_CHECK (root->type == MSGPACK_OBJECT_MAP && root->via.map.size < 40);
    uint32_t n = root->via.map.size;
    memcpy (kvs, root->via.map.ptr, n * sizeof *kvs);
    int at = -1;
    for (uint32_t j = 0; j < n && at < 0; j++)
        if (c->key && s_key_is (&kvs [j].key, c->key))
            at = (int) j;
    switch (c->op) {
        case s_OP_DROP:
            IH_CHECK (at >= 0);
            memmove (kvs + at, kvs + at + 1, (n - (uint32_t) at - 1) * sizeof *kvs);
            n--;
            break;
        case s_OP_ADD:
            memset (&kvs [n], 0, sizeof kvs [n]);
            kvs [n].key.type = MSGPACK_OBJECT_STR;
            kvs [n].key.via.str.ptr = c->key;
            kvs [n].key.via.str.size = (uint32_t) strlen (c->key);
            kvs [n].val = s_val (c->val);
            n++;
            break;
        case s_OP_SWAP: {
            IH_CHECK (at >= 0 && (uint32_t) at + 1 < n);
            msgpack_object_kv tmp = kvs [at];
            kvs [at] = kvs [at + 1];
            kvs [at + 1] = tmp;
            break;
        }
        case s_OP_SET:
            IH_CHECK (at >= 0);
            if (c->idx < 0)
                kvs [at].val = s_val (c->val);
            else {
                msgpack_object *a = &kvs [at].val;
                IH_CHECK (a->type == MSGPACK_OBJECT_ARRAY && (uint32_t) c->idx < a->via.array.size
                          && a->via.array.size <= 40);
                memcpy (arr, a->via.array.ptr, a->via.array.size * sizeof *arr);
                if (c->sub < 0)
                    arr [c->idx] = s_val (c->val);
                else {
                    msgpack_object *b = &arr [c->idx];
                    IH_CHECK (b->type == MSGPACK_OBJECT_ARRAY && (uint32_t) c->sub < b->via.array.size
                              && b->via.array.size <= 8);
                    memcpy (sub, b->via.array.ptr, b->via.array.size * sizeof *sub);
                    sub [c->sub] = s_val (c->val);
                    b->via.array.ptr = sub;
                }
                a->via.array.ptr = arr;
            }
            break;
        case s_OP_ROOT:
            top = s_val (c->val);
            break;
    }
    if (c->op != s_OP_ROOT) {
        top.via.map.ptr = kvs;
        top.via.map.size = n;
    }
    ih_buf_reset (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, s_buf_write);
    IH_CHECK (msgpack_pack_object (&pk, top) == 0);
}

static const s_case_t s_cases [] = {
    //  bodies: keys
    { s_W_BODY, IH_KIND_ALERT, s_OP_DROP, "title", -1, -1, 0, "title: missing" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_DROP, "iocs", -1, -1, 0, "iocs: missing" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_DROP, "k", -1, -1, 0, "k: missing" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_ADD, "extra", -1, -1, s_V_NIL, "body: unknown key 'extra'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_ADD, "title", -1, -1, s_V_STR, "title: duplicate key" },
    { s_W_BODY, IH_KIND_COMMENT, s_OP_ADD, "text", -1, -1, s_V_STR, "text: duplicate key" },
    { s_W_BODY, IH_KIND_COMMENT, s_OP_ADD, "iocs", -1, -1, s_V_EMPTYARR, "body: unknown key 'iocs'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SWAP, "title", -1, -1, 0,
      "summary: out of order (expected 'title' at position 8)" },
    { s_W_BODY, IH_KIND_SIGHTING, s_OP_SWAP, "iocs", -1, -1, 0, "count: out of order" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SWAP, "k", -1, -1, 0, "k: missing (must be the first key)" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_ROOT, NULL, -1, -1, s_V_ARR3, "body: expected map, got array" },
    //  bodies: types and limits
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "k", -1, -1, s_V_ZAP, "k: unknown value 'zap'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_INT5, "title: expected str, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_NIL, "title: expected str, got nil" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_FLOAT, "title: expected str, got float" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_BIN12, "title: expected str, got bin" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_STR300, "title: too long (300 > 256 bytes)" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "title", -1, -1, s_V_BADUTF8, "title: invalid UTF-8" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "summary", -1, -1, s_V_STRNUL, "summary: contains a NUL byte" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "id", -1, -1, s_V_STR300, "id: too long (300 > 36 bytes)" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "id", -1, -1, s_V_BADUUID, "id: not a lower-case UUID" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "rev", -1, -1, s_V_STR, "rev: expected uint, got str" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "rev", -1, -1, s_V_NEG, "rev: expected uint, got negative int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "rev", -1, -1, s_V_BIG, "rev: out of range" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "rev", -1, -1, s_V_TRUE, "rev: expected uint, got bool" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "created", -1, -1, s_V_STR, "created: expected int, got str" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "created", -1, -1, s_V_HUGE, "created: out of range" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "modified", -1, -1, s_V_NEG, "modified: out of range" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "org", -1, -1, s_V_STR300, "org: too long (300 > 64 bytes)" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "member", -1, -1, s_V_UPPER, "member: not a valid member name" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "signer", -1, -1, s_V_BIN12, "signer: expected 32 bytes, got 12" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "signer", -1, -1, s_V_STR, "signer: expected bin, got str" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "tlp", -1, -1, s_V_AMBER_LC, "tlp: unknown value 'amber'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "severity", -1, -1, s_V_INT5, "severity: expected str, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "category", -1, -1, s_V_ZAP, "category: unknown value 'zap'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "sectors", -1, -1, s_V_MAP, "sectors: expected array, got map" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "sectors", 1, -1, s_V_UPPER, "sectors[1]: not a valid sector" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "tags", 0, -1, s_V_INT5, "tags[0]: expected str, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "recipients", 1, -1, s_V_STR300, "recipients[1]: too long" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "references", 0, -1, s_V_STR, "references[0]: not an http(s) URL" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", -1, -1, s_V_STR, "iocs: expected array, got str" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 0, -1, s_V_MAP, "iocs[0]: expected array of 4, got map" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 2, -1, s_V_ARR3, "iocs[2]: expected array of 4, got array of 3" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 0, 0, s_V_ZAP, "iocs[0].type: unknown value 'zap'" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 2, 1, s_V_INT5, "iocs[2].value: expected str, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 1, 2, s_V_INT5, "iocs[1].comment: expected str, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 0, 3, s_V_INT5, "iocs[0].detect: expected bool, got int" },
    { s_W_BODY, IH_KIND_ALERT, s_OP_SET, "iocs", 1, 1, s_V_EVIL, "iocs[1].value" },
    { s_W_BODY, IH_KIND_SIGHTING, s_OP_SET, "iocs", 0, 1, s_V_EVIL, "iocs[0].value" },
    { s_W_BODY, IH_KIND_SIGHTING, s_OP_SET, "iocs", -1, -1, s_V_EMPTYARR, "iocs: a sighting names exactly one" },
    { s_W_BODY, IH_KIND_SIGHTING, s_OP_SET, "count", -1, -1, s_V_ZERO, "count: must be 1..1000000" },
    { s_W_BODY, IH_KIND_SIGHTING, s_OP_SET, "count", -1, -1, s_V_BIG, "count: out of range" },
    { s_W_BODY, IH_KIND_COMMENT, s_OP_SET, "ref", -1, -1, s_V_BADUUID, "ref: not a lower-case UUID" },
    { s_W_BODY, IH_KIND_COMMENT, s_OP_SET, "rev", -1, -1, s_V_INT5, "rev: must be 0" },
    { s_W_BODY, IH_KIND_RETRACTION, s_OP_SET, "text", -1, -1, s_V_ARR3, "text: expected str, got array" },
    //  member records
    { s_W_MEMBER, 0, s_OP_SET, "k", -1, -1, s_V_ALERT, "k: expected 'member', got 'alert'" },
    { s_W_MEMBER, 0, s_OP_DROP, "sector", -1, -1, 0, "sector: missing" },
    { s_W_MEMBER, 0, s_OP_ADD, "admin", -1, -1, s_V_TRUE, "member record: unknown key 'admin'" },
    { s_W_MEMBER, 0, s_OP_SWAP, "curve", -1, -1, 0, "sign: out of order" },
    { s_W_MEMBER, 0, s_OP_SET, "curve", -1, -1, s_V_BIN12, "curve: expected 32 bytes, got 12" },
    { s_W_MEMBER, 0, s_OP_SET, "role", -1, -1, s_V_ZAP, "role: unknown value 'zap'" },
    { s_W_MEMBER, 0, s_OP_SET, "gateway", -1, -1, s_V_INT5, "gateway: expected bool, got int" },
    { s_W_MEMBER, 0, s_OP_SET, "name", -1, -1, s_V_STR300, "name: too long (300 > 64 bytes)" },
    { s_W_MEMBER, 0, s_OP_SET, "name", -1, -1, s_V_UPPER, "name: not a valid member name" },
    { s_W_MEMBER, 0, s_OP_SET, "created", -1, -1, s_V_FLOAT, "created: expected int, got float" },
    //  envelopes
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "v", -1, -1, s_V_TWO, "v: unsupported protocol version 2" },
    { s_W_ENV, IH_T_PING, s_OP_SET, "v", -1, -1, s_V_NEG, "v: unsupported protocol version -1" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "v", -1, -1, s_V_STR, "v: expected uint, got str" },
    { s_W_ENV, IH_T_HELLO, s_OP_SWAP, "v", -1, -1, 0, "v: missing (must be the first key)" },
    { s_W_ENV, IH_T_HELLO, s_OP_DROP, "t", -1, -1, 0, "t: missing" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "t", -1, -1, s_V_ZAP, "t: unknown message type 'zap'" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "t", -1, -1, s_V_INT5, "t: expected str, got int" },
    { s_W_ENV, IH_T_HELLO, s_OP_DROP, "window", -1, -1, 0, "window: missing" },
    { s_W_ENV, IH_T_HELLO, s_OP_ADD, "extra", -1, -1, s_V_NIL, "hello: unknown key 'extra'" },
    { s_W_ENV, IH_T_HELLO, s_OP_ADD, "cursor", -1, -1, s_V_INT5, "cursor: duplicate key" },
    { s_W_ENV, IH_T_HELLO, s_OP_ADD, "v", -1, -1, s_V_INT5, "v: duplicate key" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "window", -1, -1, s_V_ZERO, "window: must be 1..10000, got 0" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "window", -1, -1, s_V_BIG, "window: out of range" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "cursor", -1, -1, s_V_NEG, "cursor: expected uint, got negative int" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "categories", 1, -1, s_V_ZAP, "categories[1]: unknown category 'zap'" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "sectors", 0, -1, s_V_INT5, "sectors[0]: expected str, got int" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "min_severity", -1, -1, s_V_ZAP, "min_severity: unknown severity 'zap'" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "agent", -1, -1, s_V_STR300, "agent: too long (300 > 64 bytes)" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "agent", -1, -1, s_V_CTRL, "agent: must be printable ASCII" },
    { s_W_ENV, IH_T_HELLO, s_OP_SET, "agent", -1, -1, s_V_HIGH, "agent: must be printable ASCII" },
    { s_W_ENV, IH_T_WELCOME, s_OP_SET, "member", -1, -1, s_V_UPPER, "member: not a valid member name" },
    { s_W_ENV, IH_T_PUBLISH, s_OP_SET, "sig", -1, -1, s_V_BIN12, "sig: expected 64 bytes, got 12" },
    { s_W_ENV, IH_T_PUBLISH, s_OP_SET, "body", -1, -1, s_V_STR, "body: expected bin, got str" },
    { s_W_ENV, IH_T_PUBLISH, s_OP_DROP, "sig", -1, -1, 0, "sig: missing" },
    { s_W_ENV, IH_T_OK, s_OP_SET, "id", -1, -1, s_V_BADUUID, "id: not a lower-case UUID" },
    { s_W_ENV, IH_T_ERROR, s_OP_SET, "reason", -1, -1, s_V_BADUTF8, "reason: invalid UTF-8" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", -1, -1, s_V_EMPTYARR, "items: expected 1..256 items, got 0" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", 1, -1, s_V_ARR3, "items[1]: expected array of 5, got array of 3" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", 1, 0, s_V_INT5, "items[1].seq: not increasing (5 after 5)" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", 2, 2, s_V_BIN12, "items[2].sig: expected 64 bytes, got 12" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", 0, 4, s_V_BIN32, "items[0].rec_sig: expected 64 bytes, got 32" },
    { s_W_ENV, IH_T_DELIVER, s_OP_SET, "items", 0, 3, s_V_NIL, "items[0].rec: expected bin, got nil" },
    { s_W_ENV, IH_T_PING, s_OP_ADD, "x", -1, -1, s_V_NIL, "ping: unknown key 'x'" },
    { s_W_ENV, IH_T_STATS, s_OP_SET, "json", -1, -1, s_V_MAP, "json: expected str, got map" },
    { s_W_ENV, IH_T_ACK, s_OP_ROOT, NULL, -1, -1, s_V_ARR3, "envelope: expected map, got array" },
};

//  Raw frames that the pre-scan must refuse, with the expected error.
typedef struct {
    const char *bytes;
    size_t len;
    const char *expect;
} s_raw_t;

#define s_RAW(b, e) { b, sizeof b - 1, e }
static const s_raw_t s_raws [] = {
    s_RAW ("", "msgpack: empty frame"),
    s_RAW ("\xc1", "msgpack: invalid byte 0xc1 at byte 0"),
    s_RAW ("\x81\xa1k\xdd\xff\xff\xff\xff", "array of 4294967295 elements at byte 3 exceeds the 0 bytes left"),
    s_RAW ("\xdf\x7f\xff\xff\xff\xa1k", "map of 2147483647 entries at byte 0 exceeds the 2 bytes left"),
    s_RAW ("\x92\xdc\x00\x02\xc0", "array of 2 elements at byte 1 exceeds the 1 bytes left"),
    s_RAW ("\xdb\x40\x00\x00\x00" "abc", "str of 1073741824 bytes at byte 0 exceeds the 3 bytes left"),
    s_RAW ("\xc6\x00\x01\x00\x00" "abc", "bin of 65536 bytes at byte 0 exceeds the 3 bytes left"),
    s_RAW ("\xc9\x00\x00\x00\x09\x01" "abc", "ext of 9 bytes at byte 0 exceeds the 3 bytes left"),
    s_RAW ("\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0", "msgpack: nesting deeper than 8 at byte 8"),
    s_RAW ("\x91\x91\x91\x91\x91\x91\x91\x91\x90", "msgpack: nesting deeper than 8 at byte 8"),
    s_RAW ("\x80\xc0", "msgpack: 1 trailing bytes after the top-level object"),
    s_RAW ("\x82\xa1v\x01", "msgpack: map of 2 entries at byte 0 exceeds the 3 bytes left"),
    s_RAW ("\x81\xa1v", "msgpack: truncated at byte 3"),
    s_RAW ("\xcf\x00\x00", "msgpack: truncated at byte 0"),
    s_RAW ("\xd8\x01", "msgpack: truncated at byte 0"),
};

//  Replaces `from` (first occurrence) by `to` in frame; returns false if absent.
static bool
s_splice (const ih_buf_t *frame, const char *from, size_t from_len, const char *to, size_t to_len,
          ih_buf_t *out)
{
    ih_buf_reset (out);
    for (size_t i = 0; i + from_len <= frame->len; i++)
        if (memcmp (frame->data + i, from, from_len) == 0) {
            ih_buf_append (out, frame->data, i);
            ih_buf_append (out, to, to_len);
            ih_buf_append (out, frame->data + i + from_len, frame->len - i - from_len);
            return true;
        }
    return false;
}

static void
s_expect_fail (s_what_t what, const uint8_t *data, size_t len, const char *expect, bool verbose)
{
    ih_err_t err = { "" };
    int rc;
    if (what == s_W_BODY) {
        ih_msg_t m;
        rc = ih_body_decode (&m, data, len, &err);
        ih_msg_free (&m);
    }
    else
    if (what == s_W_ENV) {
        ih_env_t e;
        rc = ih_env_decode (&e, data, len, &err);
        ih_env_free (&e);
    }
    else {
        ih_member_t r;
        rc = ih_member_decode (&r, data, len, &err);
    }
    if (rc != -1 || (expect && !strstr (err.msg, expect))) {
        fprintf (stderr, "\nexpected error '%s', got rc=%d '%s'\n", expect ? expect : "(any)", rc, err.msg);
        IH_CHECK (false);
    }
    if (verbose && expect)
        printf ("\n    ok: %s", err.msg);
}

void
ih_codec_test (bool verbose)
{
    ih_err_t err;
    ih_buf_t buf, buf2;
    ih_buf_init (&buf);
    ih_buf_init (&buf2);
    msgpack_packer pk;

    //  msgpack-c picks the smallest forms (the canonical encoding relies on it)
    {
        static const struct { int64_t v; const char *hex; } ints [] = {
            { 0, "00" }, { 5, "05" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" },
            { 256, "cd0100" }, { 65536, "ce00010000" }, { 4294967296LL, "cf0000000100000000" },
            { -1, "ff" }, { -32, "e0" }, { -33, "d0df" }, { -129, "d1ff7f" },
            { -40000, "d2ffff63c0" }, { -3000000000LL, "d3ffffffff4d2fa200" }
        };
        for (size_t i = 0; i < sizeof ints / sizeof ints [0]; i++) {
            ih_buf_reset (&buf);
            msgpack_packer_init (&pk, &buf, s_buf_write);
            s_pack_int (&pk, ints [i].v);
            char hex [40];
            IH_CHECK (buf.len * 2 < sizeof hex);
            ih_hex_encode (buf.data, buf.len, hex);
            IH_CHECK (strcmp (hex, ints [i].hex) == 0);
        }
        static const struct { size_t n; uint8_t head [3]; size_t head_len; } strs [] = {
            { 0, { 0xa0 }, 1 }, { 31, { 0xbf }, 1 }, { 32, { 0xd9, 32 }, 2 },
            { 255, { 0xd9, 255 }, 2 }, { 256, { 0xda, 1, 0 }, 3 }
        };
        char text [300];
        memset (text, 'x', sizeof text);
        for (size_t i = 0; i < sizeof strs / sizeof strs [0]; i++) {
            ih_buf_reset (&buf);
            msgpack_packer_init (&pk, &buf, s_buf_write);
            s_pack_strn (&pk, text, strs [i].n);
            IH_CHECK (buf.len == strs [i].head_len + strs [i].n);
            IH_CHECK (memcmp (buf.data, strs [i].head, strs [i].head_len) == 0);
            ih_buf_reset (&buf);
            s_pack_bin (&pk, (const uint8_t *) text, strs [i].n);
            IH_CHECK (buf.data [0] == (strs [i].n < 256 ? 0xc4 : 0xc5));
        }
    }

    //  Round trip of each kind; the decoded message re-encodes to the same bytes
    ih_buf_t bodies [IH_KIND_COUNT];
    for (int k = 0; k < IH_KIND_COUNT; k++) {
        ih_msg_t m, d;
        s_test_msg (&m, (ih_kind_t) k);
        ih_buf_init (&bodies [k]);
        if (ih_body_encode (&m, &bodies [k], &err)) {
            fprintf (stderr, "\n%s: %s\n", ih_kind_name ((ih_kind_t) k), err.msg);
            IH_CHECK (false);
        }
        IH_CHECK (bodies [k].data [0] == (k == IH_KIND_ALERT ? 0xde : 0x80 + s_key_count (s_body_keys ((ih_kind_t) k))));
        if (ih_body_decode (&d, bodies [k].data, bodies [k].len, &err)) {
            fprintf (stderr, "\n%s: %s\n", ih_kind_name ((ih_kind_t) k), err.msg);
            IH_CHECK (false);
        }
        IH_CHECK (d.kind == (ih_kind_t) k);
        IH_CHECK (s_msg_equal (&m, &d));
        IH_CHECK (strcmp (d.id, m.id) == 0 && d.revision == m.revision);
        IH_CHECK (d.created == m.created && d.modified == m.modified);
        IH_CHECK (strcmp (d.org, "acme") == 0 && strcmp (d.member, "alice") == 0);
        IH_CHECK (memcmp (d.signer, m.signer, 32) == 0);
        IH_CHECK (d.ioc_count == m.ioc_count);
        for (uint32_t i = 0; i < d.ioc_count; i++) {
            IH_CHECK (d.iocs [i].type == m.iocs [i].type && d.iocs [i].detect == m.iocs [i].detect);
            IH_CHECK (strcmp (d.iocs [i].value, m.iocs [i].value) == 0);
            IH_CHECK (strcmp (d.iocs [i].comment, m.iocs [i].comment) == 0);
        }
        if (k == IH_KIND_ALERT) {
            IH_CHECK (strcmp (d.title, m.title) == 0 && strcmp (d.summary, m.summary) == 0);
            IH_CHECK (d.tlp == IH_TLP_AMBER && d.severity == IH_SEV_HIGH && d.category == IH_CAT_RANSOMWARE);
            IH_CHECK (d.sectors.count == 2 && strcmp (d.sectors.items [1], "energy") == 0);
            IH_CHECK (d.recipients.count == 2 && strcmp (d.recipients.items [0], "sector:finance") == 0);
            IH_CHECK (d.references.count == 1 && d.tags.count == 1);
        }
        else {
            IH_CHECK (strcmp (d.ref, s_T_ID) == 0);
            IH_CHECK (strcmp (d.text, m.text) == 0);
        }
        if (k == IH_KIND_SIGHTING)
            IH_CHECK (d.count == 3 && d.tlp == IH_TLP_GREEN);
        //  Decoding into a used message after freeing it, and a second decode of the same bytes
        ih_msg_free (&d);
        IH_CHECK (ih_body_decode (&d, bodies [k].data, bodies [k].len, NULL) == 0);
        ih_msg_free (&d);
        ih_msg_free (&d);

        //  Every truncation of a valid frame fails, and cleanly
        for (size_t n = 0; n < bodies [k].len; n++)
            s_expect_fail (s_W_BODY, bodies [k].data, n, NULL, false);
        //  A body is not an envelope nor a member record
        s_expect_fail (s_W_ENV, bodies [k].data, bodies [k].len, "v: missing", false);
        s_expect_fail (s_W_MEMBER, bodies [k].data, bodies [k].len, "k: expected 'member'", false);
        ih_msg_free (&m);
    }

    //  Encoding refuses invalid messages (validation before encoding)
    {
        ih_msg_t m;
        s_test_msg (&m, IH_KIND_ALERT);
        ih_msg_ioc_add (&m, IH_IOC_DOMAIN, "EVIL.example", "", true);
        IH_CHECK (ih_body_encode (&m, &buf, &err) == -1);
        IH_CHECK (strstr (err.msg, "iocs[3].value") && buf.len == 0);
        //  but packed anyway, the decoder refuses it too
        msgpack_packer_init (&pk, &buf, s_buf_write);
        IH_CHECK (s_pack_body (&pk, &m, NULL) == 0);
        s_expect_fail (s_W_BODY, buf.data, buf.len, "iocs[3].value", verbose);
        ih_msg_free (&m);

        s_test_msg (&m, IH_KIND_ALERT);
        m.tlp = (ih_tlp_t) 9;
        IH_CHECK (ih_body_encode (&m, &buf, &err) == -1 && strstr (err.msg, "tlp"));
        m.tlp = IH_TLP_AMBER;
        m.title = "";
        IH_CHECK (ih_body_encode (&m, &buf, &err) == -1 && strstr (err.msg, "title"));
        ih_msg_free (&m);

        //  The largest IOC list, 5000 IOCs of 500-byte URLs, does not fit in a frame
        s_test_msg (&m, IH_KIND_ALERT);
        char value [600];
        for (int i = 0; i < IH_MAX_IOCS - 3; i++) {
            snprintf (value, sizeof value, "http://evil.example/%04d/%0500d", i, 0);
            ih_msg_ioc_add (&m, IH_IOC_URL, value, "", true);
        }
        IH_CHECK (ih_body_encode (&m, &buf, &err) == -1);
        IH_CHECK (strstr (err.msg, "body: too large (") && buf.len == 0);
        //  One more IOC is over the limit
        ih_msg_ioc_add (&m, IH_IOC_URL, "http://evil.example/", "", true);
        IH_CHECK (ih_body_encode (&m, &buf, &err) == -1 && strstr (err.msg, "iocs: too many"));
        ih_msg_free (&m);
    }

    //  Non-canonical forms of a valid alert: each must be refused as such
    {
        const ih_buf_t *alert = &bodies [IH_KIND_ALERT];
        static const struct { const char *from; size_t from_len; const char *to; size_t to_len; } nc [] = {
            { "\xa3rev\x02", 5, "\xa3rev\xcd\x00\x02", 7 },                  //  uint16 for 2
            { "\xa3rev\x02", 5, "\xa3rev\xd0\x02", 6 },                      //  int8 for 2
            { "\xa3rev\x02", 5, "\xa3rev\xcc\x02", 6 },                      //  uint8 for 2
            { "\xde\x00\x12", 3, "\xdf\x00\x00\x00\x12", 5 },                //  map32 for 18
            { "\xa1k", 2, "\xd9\x01k", 3 },                                  //  str8 for "k"
            { "\xa6signer\xc4\x20", 9, "\xa6signer\xc5\x00\x20", 10 },       //  bin16 for 32 bytes
            { "\xa7" "created\xcf", 9, "\xa7" "created\xd3", 9 },               //  int64 for a positive
            { "\xa7sectors\x92", 9, "\xa7sectors\xdc\x00\x02", 11 },         //  array16 for 2
            { "\xa4tags\x91\xa7", 7, "\xa4tags\x91\xd9\x07", 8 },            //  str8 for 7 bytes
        };
        for (size_t i = 0; i < sizeof nc / sizeof nc [0]; i++) {
            IH_CHECK (s_splice (alert, nc [i].from, nc [i].from_len, nc [i].to, nc [i].to_len, &buf));
            s_expect_fail (s_W_BODY, buf.data, buf.len, "body: non-canonical encoding", verbose && i == 0);
        }
        //  Trailing bytes, oversized frame
        ih_buf_reset (&buf);
        ih_buf_append (&buf, alert->data, alert->len);
        ih_buf_append (&buf, "\xc0", 1);
        s_expect_fail (s_W_BODY, buf.data, buf.len, "msgpack: 1 trailing bytes after the top-level object", verbose);
        uint8_t *big = (uint8_t *) calloc (1, IH_MAX_FRAME + 1);
        IH_CHECK (big);
        memcpy (big, alert->data, alert->len);
        s_expect_fail (s_W_BODY, big, IH_MAX_FRAME + 1, "msgpack: frame too large (1048577 > 1048576 bytes)", verbose);
        s_expect_fail (s_W_ENV, big, IH_MAX_FRAME + 1, "frame too large", false);
        s_expect_fail (s_W_MEMBER, big, IH_MAX_FRAME + 1, "frame too large", false);
        free (big);
    }

    //  5001 IOCs in a retraction (its last key is "iocs", so the IOC ends the frame)
    {
        const ih_buf_t *retr = &bodies [IH_KIND_RETRACTION];
        IH_CHECK (s_splice (retr, "\xa4iocs\x91", 6, "\xa4iocs\xdd\x00\x00\x13\x89", 10, &buf));
        const size_t ioc_len = 21;      //  ["ipv4", "198.51.100.7", "", false]
        for (int i = 1; i < IH_MAX_IOCS + 1; i++)
            ih_buf_append (&buf, retr->data + retr->len - ioc_len, ioc_len);
        s_expect_fail (s_W_BODY, buf.data, buf.len, "iocs: too many elements (5001 > 5000)", verbose);
    }

    //  Pre-scan: lying lengths, nesting, truncation, bad bytes
    for (size_t i = 0; i < sizeof s_raws / sizeof s_raws [0]; i++) {
        const uint8_t *p = (const uint8_t *) s_raws [i].bytes;
        IH_CHECK (ih_msgpack_prescan (p, s_raws [i].len, &err) == -1);
        if (!strstr (err.msg, s_raws [i].expect)) {
            fprintf (stderr, "\nraw case %zu: expected '%s', got '%s'\n", i, s_raws [i].expect, err.msg);
            IH_CHECK (false);
        }
        s_expect_fail (s_W_BODY, p, s_raws [i].len, s_raws [i].expect, verbose);
        s_expect_fail (s_W_ENV, p, s_raws [i].len, s_raws [i].expect, false);
        s_expect_fail (s_W_MEMBER, p, s_raws [i].len, s_raws [i].expect, false);
    }
    IH_CHECK (ih_msgpack_prescan (NULL, 0, &err) == -1);
    //  Exactly IH_MAX_DEPTH levels is fine for the pre-scan; more is not
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 9, NULL) == 0);
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\xd4\x01\x02", 3, NULL) == 0);
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\x92\xcb\0\0\0\0\0\0\0\0\xca\0\0\0\0", 15, NULL) == 0);

    //  Member records
    ih_member_t rec, rec2;
    s_test_member (&rec);
    ih_buf_t recbuf;
    ih_buf_init (&recbuf);
    IH_CHECK (ih_member_encode (&rec, &recbuf, &err) == 0);
    IH_CHECK (ih_member_decode (&rec2, recbuf.data, recbuf.len, &err) == 0);
    IH_CHECK (memcmp (&rec, &rec2, sizeof rec) == 0);
    for (size_t n = 0; n < recbuf.len; n++)
        s_expect_fail (s_W_MEMBER, recbuf.data, n, NULL, false);
    rec2.gateway = true;     //  the gateway is a reader
    IH_CHECK (ih_member_encode (&rec2, &buf, &err) == -1 && buf.len == 0);
    rec2.role = IH_ROLE_READER;
    rec2.sector [0] = 0;
    IH_CHECK (ih_member_encode (&rec2, &buf, &err) == 0);
    IH_CHECK (ih_member_decode (&rec, buf.data, buf.len, &err) == 0);
    IH_CHECK (rec.gateway && rec.role == IH_ROLE_READER && rec.sector [0] == 0);
    IH_CHECK (s_splice (&buf, "\xa7gateway\xc3", 9, "\xa7gateway\xc2", 9, &buf2));
    IH_CHECK (ih_member_decode (&rec, buf2.data, buf2.len, &err) == 0 && !rec.gateway);
    IH_CHECK (s_splice (&buf, "\xa4name\xa5", 6, "\xa4name\xd9\x05", 7, &buf2));
    s_expect_fail (s_W_MEMBER, buf2.data, buf2.len, "member record: non-canonical encoding", verbose);

    //  Envelopes: round trip of every type
    uint8_t sig [IH_SIG_LEN];
    memset (sig, 0x11, sizeof sig);
    ih_item_t items [3];
    ih_buf_t envs [s_TYPE_MAX + 1];
    for (int t = 1; t <= s_TYPE_MAX; t++) {
        ih_env_t e, d;
        s_test_env (&e, (ih_type_t) t, &bodies [IH_KIND_ALERT], &recbuf, sig, items);
        ih_buf_init (&envs [t]);
        if (ih_env_encode (&e, &envs [t], &err)) {
            fprintf (stderr, "\n%s: %s\n", ih_type_name ((ih_type_t) t), err.msg);
            IH_CHECK (false);
        }
        if (ih_env_decode (&d, envs [t].data, envs [t].len, &err)) {
            fprintf (stderr, "\n%s: %s\n", ih_type_name ((ih_type_t) t), err.msg);
            IH_CHECK (false);
        }
        IH_CHECK (d.type == (ih_type_t) t);
        IH_CHECK (s_env_equal (&e, &d));
        IH_CHECK (d.req == e.req && d.seq == e.seq && d.cursor == e.cursor && d.head == e.head);
        IH_CHECK (d.window == e.window && d.heartbeat == e.heartbeat);
        IH_CHECK (strcmp (d.agent, e.agent) == 0 && strcmp (d.json, e.json) == 0);
        if (t == IH_T_PUBLISH) {
            //  borrowed: points into the frame
            IH_CHECK (d.body > envs [t].data && d.body + d.body_len <= envs [t].data + envs [t].len);
            IH_CHECK (d.body_len == bodies [IH_KIND_ALERT].len);
            IH_CHECK (memcmp (d.body, bodies [IH_KIND_ALERT].data, d.body_len) == 0);
            IH_CHECK (memcmp (d.sig, sig, IH_SIG_LEN) == 0);
        }
        if (t == IH_T_DELIVER) {
            IH_CHECK (d.item_count == 3 && d.items [2].seq == 9);
            IH_CHECK (d.items [1].rec_len == recbuf.len && memcmp (d.items [1].rec, recbuf.data, recbuf.len) == 0);
        }
        if (t == IH_T_HELLO)
            IH_CHECK (d.categories.count == 2 && strcmp (d.categories.items [1], "phishing") == 0);
        ih_env_free (&d);
        ih_env_free (&d);
        for (size_t n = 0; n < envs [t].len; n++)
            s_expect_fail (s_W_ENV, envs [t].data, n, NULL, false);
        s_expect_fail (s_W_BODY, envs [t].data, envs [t].len, "k: missing", false);
        ih_env_free (&e);
    }
    //  Fields after "v" and "t" may come in any order
    {
        ih_env_t d;
        IH_CHECK (s_splice (&envs [IH_T_WELCOME], "\xa4head\xce\x07\x5b\xcd\x15", 10, "", 0, &buf));
        ih_buf_append (&buf, "\xa4head\xce\x07\x5b\xcd\x15", 10);
        IH_CHECK (ih_env_decode (&d, buf.data, buf.len, &err) == 0);
        IH_CHECK (d.head == 123456789 && strcmp (d.org, "acme") == 0);
        ih_env_free (&d);
    }
    //  Encoding refuses incomplete envelopes
    {
        ih_env_t e;
        ih_env_init (&e, IH_T_PUBLISH);
        e.body = bodies [0].data;
        e.body_len = bodies [0].len;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strcmp (err.msg, "sig: missing") == 0);
        ih_env_init (&e, IH_T_HELLO);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "window: must be 1..10000"));
        ih_env_init (&e, IH_T_DELIVER);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "items: expected 1..256"));
        ih_env_init (&e, (ih_type_t) 99);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "unknown message type"));
        IH_CHECK (ih_type_name ((ih_type_t) 0) == NULL && ih_type_name ((ih_type_t) 13) == NULL);
        IH_CHECK (strcmp (ih_type_name (IH_T_STATS), "stats") == 0);
        //  a deliver of 257 items
        ih_item_t *many = (ih_item_t *) calloc (IH_MAX_ITEMS + 1, sizeof *many);
        IH_CHECK (many);
        for (int i = 0; i <= IH_MAX_ITEMS; i++) {
            many [i] = items [0];
            many [i].seq = (uint64_t) i + 1;
        }
        ih_env_init (&e, IH_T_DELIVER);
        e.items = many;
        e.item_count = IH_MAX_ITEMS;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == 0);
        e.item_count = IH_MAX_ITEMS + 1;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1);
        //  ... written by hand: 257 items, the first one 0xdc 0x01 0x01
        IH_CHECK (s_splice (&envs [IH_T_DELIVER], "\xa5items\x93", 7, "\xa5items\xdc\x01\x01", 9, &buf2));
        for (int i = 3; i <= IH_MAX_ITEMS; i++) {
            //  append copies of the last item with growing seq (a fixint is not enough)
            ih_buf_append (&buf2, "\x95\xcd", 2);
            uint8_t s16 [2] = { (uint8_t) ((i + 100) >> 8), (uint8_t) (i + 100) };
            ih_buf_append (&buf2, s16, 2);
            ih_buf_append (&buf2, "\xc4\x01x", 3);
            ih_buf_append (&buf2, "\xc4\x40", 2);
            ih_buf_append (&buf2, sig, IH_SIG_LEN);
            ih_buf_append (&buf2, "\xc4\x01x", 3);
            ih_buf_append (&buf2, "\xc4\x40", 2);
            ih_buf_append (&buf2, sig, IH_SIG_LEN);
        }
        s_expect_fail (s_W_ENV, buf2.data, buf2.len, "items: expected 1..256 items, got 257", verbose);
        free (many);
    }

    //  Data-driven rejections
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++) {
        const s_case_t *c = &s_cases [i];
        const ih_buf_t *base = c->what == s_W_BODY ? &bodies [c->base]
                             : c->what == s_W_ENV ? &envs [c->base] : &recbuf;
        msgpack_unpacked up;
        IH_CHECK (s_unpack (&up, base->data, base->len, NULL) == 0);
        s_mutate (&up.data, c, &buf);
        msgpack_unpacked_destroy (&up);
        s_expect_fail (c->what, buf.data, buf.len, c->expect, verbose);
    }

    for (int k = 0; k < IH_KIND_COUNT; k++)
        ih_buf_free (&bodies [k]);
    for (int t = 1; t <= s_TYPE_MAX; t++)
        ih_buf_free (&envs [t]);
    ih_buf_free (&recbuf);
    ih_buf_free (&buf);
    ih_buf_free (&buf2);
    if (verbose)
        printf ("\n");
}
#endif
