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
#include <string.h>
#include <msgpack.h>

#include "ih_codec.h"
#include "ih_sign.h"

/* ---- small helpers ---------------------------------------------------------------- */

//  Writes a printable, bounded rendition of untrusted bytes for error messages:
//  at most 32 bytes, non-printables as \xNN, "..." when cut.
static const char *
s_quote (const char *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        unsigned char c = (unsigned char) p [i];
        if (o + 5 >= outsz)
            break;
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            out [o++] = (char) c;
        else
            o += (size_t) snprintf (out + o, outsz - o, "\\x%02x", c);
    }
    if (n > 32 && o + 4 < outsz) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out [o] = 0;
    return out;
}

#define s_QUOTE_MAX 140

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

static uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p [i];
    return v;
}

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

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;   //  fixint, nil, bool
        else if (b <= 0x8f) {
            count = b & 0x0f; what = "map"; is_map = true;
        }
        else if (b <= 0x9f) {
            count = b & 0x0f; what = "array";
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
            case 0xdc: lenbytes = 2; what = "array"; break;
            case 0xdd: lenbytes = 4; what = "array"; break;
            case 0xde: lenbytes = 2; what = "map"; is_map = true; break;
            case 0xdf: lenbytes = 4; what = "map"; is_map = true; break;
            default:
                return ih_err_set (err, "msgpack: invalid byte 0x%02x at byte %zu", b, at);
        }
        off++;
        if ((size_t) lenbytes + fixed > len - off)
            return ih_err_set (err, "msgpack: truncated at byte %zu", at);
        if (lenbytes) {
            uint64_t n = s_be (data + off, lenbytes);
            if (is_map || (what && what [0] == 'a'))
                count = n;
            else
                payload = n;
        }
        off += (size_t) lenbytes + fixed;
        if (payload > len - off)
            return ih_err_set (err, "msgpack: %s of %" PRIu64 " bytes at byte %zu exceeds the %zu bytes left",
                               what, payload, at, len - off);
        off += (size_t) payload;
        if (is_map || (what && what [0] == 'a')) {
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
        char q [s_QUOTE_MAX];
        return ih_err_set (err, "%s: unknown value '%s'", name, s_quote (p, n, q, sizeof q));
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
