/*  ih_mpack.c: the msgpack primitives of the wire codec, see ih_mpack.h (internal) and
    ih_codec.h (the pre-scan, which is public).
*/
#include <inttypes.h>
#include <string.h>

#include "ih_mpack.h"
#include "ih_codec.h"

/* ---- small helpers ---------------------------------------------------------------- */

const char *
ih_mpack_type_name (const msgpack_object *o)
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

bool
ih_mpack_key_is (const msgpack_object *k, const char *name)
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
int
ih_mpack_unpack (msgpack_unpacked *up, const uint8_t *data, size_t len, ih_err_t *err)
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
bool
ih_mpack_utf8_ok (const uint8_t *p, size_t n)
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

int
ih_mpack_get_str (const msgpack_object *o, const char *name, size_t max,
                  const char **p, size_t *n, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "%s: expected str, got %s", name, ih_mpack_type_name (o));
    if (o->via.str.size > max)
        return ih_err_set (err, "%s: too long (%u > %zu bytes)", name, o->via.str.size, max);
    if (o->via.str.size && memchr (o->via.str.ptr, 0, o->via.str.size))
        return ih_err_set (err, "%s: contains a NUL byte", name);
    if (!ih_mpack_utf8_ok ((const uint8_t *) o->via.str.ptr, o->via.str.size))
        return ih_err_set (err, "%s: invalid UTF-8", name);
    *p = o->via.str.ptr;
    *n = o->via.str.size;
    return 0;
}

//  A string copied into a fixed array of outsz bytes (outsz - 1 is the limit).
int
ih_mpack_get_fixed (const msgpack_object *o, const char *name, char *out, size_t outsz,
                    ih_err_t *err)
{
    const char *p;
    size_t n;
    if (ih_mpack_get_str (o, name, outsz - 1, &p, &n, err))
        return -1;
    memcpy (out, p, n);
    out [n] = 0;
    return 0;
}

int
ih_mpack_get_uint (const msgpack_object *o, const char *name, uint64_t max, uint64_t *out,
                   ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ih_err_set (err, "%s: expected uint, got %s", name, ih_mpack_type_name (o));
    if (o->via.u64 > max)
        return ih_err_set (err, "%s: out of range (%" PRIu64 " > %" PRIu64 ")", name, o->via.u64, max);
    *out = o->via.u64;
    return 0;
}

int
ih_mpack_get_int (const msgpack_object *o, const char *name, int64_t *out, ih_err_t *err)
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
        return ih_err_set (err, "%s: expected int, got %s", name, ih_mpack_type_name (o));
    return 0;
}

int
ih_mpack_get_bool (const msgpack_object *o, const char *name, bool *out, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return ih_err_set (err, "%s: expected bool, got %s", name, ih_mpack_type_name (o));
    *out = o->via.boolean;
    return 0;
}

//  bin of exactly `exact` bytes, or (exact == 0) of 1..IH_MAX_FRAME bytes.
int
ih_mpack_get_bin (const msgpack_object *o, const char *name, size_t exact,
                  const uint8_t **p, size_t *n, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return ih_err_set (err, "%s: expected bin, got %s", name, ih_mpack_type_name (o));
    if (exact && o->via.bin.size != exact)
        return ih_err_set (err, "%s: expected %zu bytes, got %u", name, exact, o->via.bin.size);
    if (o->via.bin.size == 0)
        return ih_err_set (err, "%s: empty", name);
    *p = (const uint8_t *) o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

int
ih_mpack_get_array (const msgpack_object *o, const char *name, uint32_t max, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return ih_err_set (err, "%s: expected array, got %s", name, ih_mpack_type_name (o));
    if (o->via.array.size > max)
        return ih_err_set (err, "%s: too many elements (%u > %u)", name, o->via.array.size, max);
    return 0;
}

/* ---- enumerations by wire name ------------------------------------------------------------ */

const char *
ih_mpack_enum_name (ih_mpack_enum_t e, int v)
{
    switch (e) {
        case IH_MPACK_E_TLP:  return ih_tlp_name ((ih_tlp_t) v);
        case IH_MPACK_E_SEV:  return ih_severity_name ((ih_severity_t) v);
        case IH_MPACK_E_CAT:  return ih_category_name ((ih_category_t) v);
        case IH_MPACK_E_IOC:  return ih_ioc_type_name ((ih_ioc_type_t) v);
        case IH_MPACK_E_KIND: return ih_kind_name ((ih_kind_t) v);
        case IH_MPACK_E_ROLE: return ih_role_name ((ih_role_t) v);
    }
    return NULL;
}

static int
s_enum_count (ih_mpack_enum_t e)
{
    switch (e) {
        case IH_MPACK_E_TLP:  return IH_TLP_COUNT;
        case IH_MPACK_E_SEV:  return IH_SEV_COUNT;
        case IH_MPACK_E_CAT:  return IH_CAT_COUNT;
        case IH_MPACK_E_IOC:  return IH_IOC_COUNT;
        case IH_MPACK_E_KIND: return IH_KIND_COUNT;
        case IH_MPACK_E_ROLE: return 2;
    }
    return 0;
}

//  Looks a wire name up exactly (the wire has one spelling: "AMBER", never "amber").
int
ih_mpack_enum_lookup (ih_mpack_enum_t e, const char *p, size_t n)
{
    for (int v = 0; v < s_enum_count (e); v++) {
        const char *name = ih_mpack_enum_name (e, v);
        if (name && strlen (name) == n && memcmp (name, p, n) == 0)
            return v;
    }
    return -1;
}

int
ih_mpack_get_enum (const msgpack_object *o, const char *name, ih_mpack_enum_t e, int *out,
                   ih_err_t *err)
{
    const char *p;
    size_t n;
    if (ih_mpack_get_str (o, name, IH_MAX_SHORT, &p, &n, err))
        return -1;
    int v = ih_mpack_enum_lookup (e, p, n);
    if (v < 0) {
        char q [IH_QUOTE_BUF];
        return ih_err_set (err, "%s: unknown value '%s'", name, ih_quote (p, n, IH_QUOTE_SHOW, q, sizeof q));
    }
    *out = v;
    return 0;
}

/* ---- packing --------------------------------------------------------------------------------- */

int
ih_mpack_buf_write (void *data, const char *buf, size_t len)
{
    ih_buf_append ((ih_buf_t *) data, buf, len);
    return 0;
}

//  Compares what the packer writes with the input instead of storing it, so the
//  canonical check of a decoded frame allocates nothing.
int
ih_mpack_cmp_write (void *data, const char *buf, size_t len)
{
    ih_mpack_cmp_t *c = (ih_mpack_cmp_t *) data;
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

void
ih_mpack_pack_strn (msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str (pk, n);
    if (n)
        msgpack_pack_str_body (pk, s, n);
}

void
ih_mpack_pack_str (msgpack_packer *pk, const char *s)
{
    if (!s)
        s = "";
    ih_mpack_pack_strn (pk, s, strlen (s));
}

void
ih_mpack_pack_bin (msgpack_packer *pk, const uint8_t *p, size_t n)
{
    msgpack_pack_bin (pk, n);
    if (n)
        msgpack_pack_bin_body (pk, p, n);
}

//  Canonical integers: non-negative values always in the unsigned forms.
void
ih_mpack_pack_int (msgpack_packer *pk, int64_t v)
{
    if (v >= 0)
        msgpack_pack_uint64 (pk, (uint64_t) v);
    else
        msgpack_pack_int64 (pk, v);
}

void
ih_mpack_pack_strlist (msgpack_packer *pk, const ih_strlist_t *l)
{
    msgpack_pack_array (pk, l->items ? l->count : 0);
    for (uint32_t i = 0; l->items && i < l->count; i++)
        ih_mpack_pack_str (pk, l->items [i]);
}

int
ih_mpack_pack_enum (msgpack_packer *pk, const char *field, ih_mpack_enum_t e, int v,
                    ih_err_t *err)
{
    const char *name = ih_mpack_enum_name (e, v);
    if (!name)
        return ih_err_set (err, "%s: invalid value %d", field, v);
    ih_mpack_pack_str (pk, name);
    return 0;
}

/* ---- keys ------------------------------------------------------------------------------------ */

uint32_t
ih_mpack_key_count (const char *const *keys)
{
    uint32_t n = 0;
    while (keys [n])
        n++;
    return n;
}

//  Checks that the keys of map are exactly `keys`, in that order, and names the first
//  problem: an unknown key, a duplicate, a key out of order, or a missing key.
int
ih_mpack_check_keys (const msgpack_object_map *map, const char *const *keys, const char *what,
                     ih_err_t *err)
{
    uint32_t nkeys = ih_mpack_key_count (keys);
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr [i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return ih_err_set (err, "%s: key #%u: expected str, got %s", what, i,
                               ih_mpack_type_name (k));
        if (i < nkeys && ih_mpack_key_is (k, keys [i]))
            continue;
        int pos = -1;
        for (uint32_t j = 0; j < nkeys && pos < 0; j++)
            if (ih_mpack_key_is (k, keys [j]))
                pos = (int) j;
        if (pos < 0) {
            char q [IH_QUOTE_BUF];
            return ih_err_set (err, "%s: unknown key '%s'", what,
                               ih_quote (k->via.str.ptr, k->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
        }
        if ((uint32_t) pos < i)
            return ih_err_set (err, "%s: duplicate key", keys [pos]);
        for (uint32_t j = i + 1; j < map->size; j++)
            if (ih_mpack_key_is (&map->ptr [j].key, keys [i]))
                return ih_err_set (err, "%s: out of order (expected '%s' at position %u)",
                                   keys [pos], keys [i], i);
        return ih_err_set (err, "%s: missing", keys [i]);
    }
    if (map->size < nkeys)
        return ih_err_set (err, "%s: missing", keys [map->size]);
    return 0;
}

/* ---- arena readers ---------------------------------------------------------------------------- */

/*  A string or list of strings, copied into the arena of a message or an envelope. */
int
ih_mpack_arena_str (ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
                    const char **out, ih_err_t *err)
{
    const char *p;
    size_t n;
    if (ih_mpack_get_str (o, name, max, &p, &n, err))
        return -1;
    *out = ih_arena_strndup (a, p, n);
    return 0;
}

int
ih_mpack_arena_strlist (ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
                        ih_strlist_t *list, ih_err_t *err)
{
    if (ih_mpack_get_array (o, name, IH_MAX_LIST, err))
        return -1;
    uint32_t n = o->via.array.size;
    if (n == 0)
        return 0;
    const char **items = (const char **) ih_arena_alloc (a, n * sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        char field [48];
        snprintf (field, sizeof field, "%s[%u]", name, i);
        if (ih_mpack_arena_str (a, &o->via.array.ptr [i], field, max, &items [i], err))
            return -1;
    }
    list->items = items;
    list->count = list->cap = n;
    return 0;
}


/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

//  Raw bytes (string literals, NULs allowed) and what is expected of them.
typedef struct {
    const char *bytes;
    size_t len;
    const char *expect;
} s_raw_t;

#define s_RAW(b, e) { b, sizeof b - 1, e }

//  Raw frames that the pre-scan must refuse, with the expected error.
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

void
ih_mpack_test (bool verbose)
{
    ih_err_t err;
    ih_buf_t buf;
    ih_buf_init (&buf);
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
            msgpack_packer_init (&pk, &buf, ih_mpack_buf_write);
            ih_mpack_pack_int (&pk, ints [i].v);
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
            msgpack_packer_init (&pk, &buf, ih_mpack_buf_write);
            ih_mpack_pack_strn (&pk, text, strs [i].n);
            IH_CHECK (buf.len == strs [i].head_len + strs [i].n);
            IH_CHECK (memcmp (buf.data, strs [i].head, strs [i].head_len) == 0);
            ih_buf_reset (&buf);
            ih_mpack_pack_bin (&pk, (const uint8_t *) text, strs [i].n);
            IH_CHECK (buf.data [0] == (strs [i].n < 256 ? 0xc4 : 0xc5));
        }
    }


    //  Pre-scan: lying lengths, nesting, truncation, bad bytes; every decoder runs it first
    for (size_t i = 0; i < sizeof s_raws / sizeof s_raws [0]; i++) {
        const uint8_t *p = (const uint8_t *) s_raws [i].bytes;
        IH_CHECK (ih_msgpack_prescan (p, s_raws [i].len, &err) == -1);
        if (!strstr (err.msg, s_raws [i].expect)) {
            fprintf (stderr, "\nraw case %zu: expected '%s', got '%s'\n", i, s_raws [i].expect, err.msg);
            IH_CHECK (false);
        }
        ih_tk_decode_fails (IH_TK_BODY, p, s_raws [i].len, s_raws [i].expect, verbose);
        ih_tk_decode_fails (IH_TK_ENV, p, s_raws [i].len, s_raws [i].expect, false);
        ih_tk_decode_fails (IH_TK_MEMBER, p, s_raws [i].len, s_raws [i].expect, false);
    }
    IH_CHECK (ih_msgpack_prescan (NULL, 0, &err) == -1);
    //  Exactly IH_MAX_DEPTH levels is fine for the pre-scan; more is not
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 9, NULL) == 0);
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\xd4\x01\x02", 3, NULL) == 0);
    IH_CHECK (ih_msgpack_prescan ((const uint8_t *) "\x92\xcb\0\0\0\0\0\0\0\0\xca\0\0\0\0", 15, NULL) == 0);


    //  UTF-8: what the wire accepts in a str
    {
        static const s_raw_t utf8 [] = {
            s_RAW ("caf\xc3\xa9", "ok"), s_RAW ("\xe2\x82\xac", "ok"), s_RAW ("\xf0\x9f\x98\x80", "ok"),
            s_RAW ("\xf4\x8f\xbf\xbf", "ok"), s_RAW ("\xef\xbf\xbf", "ok"),
            s_RAW ("caf\xc3", "truncated"), s_RAW ("\x80", "lone continuation byte"),
            s_RAW ("\xc0\xaf", "overlong"), s_RAW ("\xe0\x80\xaf", "overlong"),
            s_RAW ("\xf0\x80\x80\xaf", "overlong"), s_RAW ("\xed\xa0\x80", "surrogate"),
            s_RAW ("\xf4\x90\x80\x80", "above U+10FFFF"), s_RAW ("\xf8\x88\x80\x80\x80", "5 bytes"),
            s_RAW ("\xc3\x28", "bad continuation byte"),
        };
        for (size_t i = 0; i < sizeof utf8 / sizeof utf8 [0]; i++)
            IH_CHECK (ih_mpack_utf8_ok ((const uint8_t *) utf8 [i].bytes, utf8 [i].len)
                      == (strcmp (utf8 [i].expect, "ok") == 0));
    }

    //  Enumerations: one spelling on the wire
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_TLP, "AMBER+STRICT", 12) == IH_TLP_AMBER_STRICT);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_TLP, "amber", 5) == -1);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_TLP, "AMBERX", 5) == IH_TLP_AMBER);
    IH_CHECK (ih_mpack_enum_lookup (IH_MPACK_E_ROLE, "publisher", 9) == IH_ROLE_PUBLISHER);
    IH_CHECK (ih_mpack_enum_name (IH_MPACK_E_ROLE, 2) == NULL);
    IH_CHECK (ih_mpack_pack_enum (&pk, "tlp", IH_MPACK_E_TLP, 9, &err) == -1);
    IH_CHECK (strcmp (err.msg, "tlp: invalid value 9") == 0);

    //  Key order: exactly the keys, in order, and the first problem named
    {
        static const char *const keys [] = { "a", "b", NULL };
        static const s_raw_t maps [] = {
            s_RAW ("\x82\xa1" "a\x01\xa1" "b\x02", ""),
            s_RAW ("\x82\xa1" "b\x01\xa1" "a\x02", "b: out of order (expected 'a' at position 0)"),
            s_RAW ("\x81\xa1" "a\x01", "b: missing"),
            s_RAW ("\x83\xa1" "a\x01\xa1" "b\x02\xa1" "a\x03", "a: duplicate key"),
            s_RAW ("\x82\xa1" "a\x01\xa1" "c\x02", "t: unknown key 'c'"),
            s_RAW ("\x82\xa1" "a\x01\x05\x02", "t: key #1: expected str, got int"),
        };
        IH_CHECK (ih_mpack_key_count (keys) == 2);
        for (size_t i = 0; i < sizeof maps / sizeof maps [0]; i++) {
            msgpack_unpacked up;
            IH_CHECK (ih_mpack_unpack (&up, (const uint8_t *) maps [i].bytes, maps [i].len, &err) == 0);
            IH_CHECK (up.data.type == MSGPACK_OBJECT_MAP);
            int rc = ih_mpack_check_keys (&up.data.via.map, keys, "t", &err);
            IH_CHECK (*maps [i].expect ? rc == -1 && strcmp (err.msg, maps [i].expect) == 0 : rc == 0);
            msgpack_unpacked_destroy (&up);
        }
    }

    //  The canonical check: the packer's bytes against a frame, without storing them
    {
        static const struct { const char *frame; size_t len; bool same; size_t off; } cmp [] = {
            { "\xa3" "abc", 4, true, 4 },      //  the same bytes
            { "\xa3" "abd", 4, false, 3 },     //  differs at byte 3
            { "\xa3" "ab", 3, false, 3 },      //  the frame is shorter
            { "\xa3" "abcd", 5, true, 4 },     //  the frame is longer: the caller checks off
        };
        for (size_t i = 0; i < sizeof cmp / sizeof cmp [0]; i++) {
            ih_mpack_cmp_t c = { (const uint8_t *) cmp [i].frame, cmp [i].len, 0, false };
            msgpack_packer_init (&pk, &c, ih_mpack_cmp_write);
            ih_mpack_pack_str (&pk, "abc");
            IH_CHECK (c.differs == !cmp [i].same && c.off == cmp [i].off);
        }
    }

    ih_buf_free (&buf);
    if (verbose)
        printf ("\n");
}
#endif
