/*  ih_mpack.h: the msgpack primitives of the wire codec (msgpack-c). INTERNAL: only
    proto's codec files (ih_codec.c, ih_envelope.c) include it; the wire format and the
    public API are in ih_codec.h and ih_envelope.h.

    Decoding is in three steps, and untrusted bytes reach msgpack-c only after the first:
      1. ih_msgpack_prescan walks the raw bytes and rejects truncation, lengths and
         counts larger than what is left, nesting deeper than IH_MAX_DEPTH, trailing
         bytes and oversized frames. After it, msgpack-c can allocate at most about
         24 bytes per input byte.
      2. msgpack_unpack_next builds the object tree (strings and bins point into the
         input, nothing is copied). ih_mpack_unpack does steps 1 and 2.
      3. The codec files walk the tree strictly with the getters below: key order / key
         set, types, limits; bodies and member records are then re-encoded and compared
         byte for byte with the input (canonical form, ih_mpack_cmp_write), and finally
         validated semantically.

    Getters read one object of the tree, check its type and limits, and return 0, or -1
    with err naming the field ("title: expected str, got int"). `name` is the field name
    used in that message ("iocs[2].value"). Strings they return are borrowed from the
    frame (ih_mpack_get_str) or copied (fixed arrays, arenas).

    Packers write through a msgpack_packer whose callback is ih_mpack_buf_write (into an
    ih_buf_t) or ih_mpack_cmp_write (compares with a decoded frame instead of storing).
    They always write the smallest forms msgpack-c has, which is the canonical encoding.

    Threading: no state; everything works on the caller's objects.
*/
#ifndef IH_MPACK_H
#define IH_MPACK_H

#include <msgpack.h>

#include "ih_msg.h"

/* ---- unpacking ------------------------------------------------------------------------ */
/*  Pre-scans (ih_msgpack_prescan, declared in ih_codec.h) and unpacks one frame. On
    success the caller destroys *up (msgpack_unpacked_destroy); on failure nothing is
    left to free. Returns 0, or -1 with err. */
int ih_mpack_unpack(msgpack_unpacked *up, const uint8_t *data, size_t len, ih_err_t *err);

/*  The type of o as error messages name it: "str", "int", "negative int", "map", … */
const char *ih_mpack_type_name(const msgpack_object *o);
/*  True when k is the str `name`, exactly. */
bool ih_mpack_key_is(const msgpack_object *k, const char *name);
/*  Valid UTF-8 (PROTOCOL.md 3: str MUST be UTF-8): no overlongs, surrogates or code
    points above U+10FFFF. NUL bytes are allowed here (ih_mpack_get_str refuses them). */
bool ih_mpack_utf8_ok(const uint8_t *p, size_t n);

/* ---- typed getters -------------------------------------------------------------------- */
/*  A str of at most max bytes, UTF-8, without NUL; *p borrowed from the frame. */
int ih_mpack_get_str(const msgpack_object *o, const char *name, size_t max,
                     const char **p, size_t *n, ih_err_t *err);
/*  A str copied into a fixed array of outsz bytes (outsz - 1 is the limit). */
int ih_mpack_get_fixed(const msgpack_object *o, const char *name, char *out, size_t outsz,
                       ih_err_t *err);
/*  A positive integer up to max. */
int ih_mpack_get_uint(const msgpack_object *o, const char *name, uint64_t max, uint64_t *out,
                      ih_err_t *err);
/*  Any integer that fits an int64_t. */
int ih_mpack_get_int(const msgpack_object *o, const char *name, int64_t *out, ih_err_t *err);
int ih_mpack_get_bool(const msgpack_object *o, const char *name, bool *out, ih_err_t *err);
/*  A bin of exactly `exact` bytes, or (exact == 0) of 1..IH_MAX_FRAME bytes; *p borrowed
    from the frame. */
int ih_mpack_get_bin(const msgpack_object *o, const char *name, size_t exact,
                     const uint8_t **p, size_t *n, ih_err_t *err);
/*  An array of at most max elements (the elements are the caller's to read). */
int ih_mpack_get_array(const msgpack_object *o, const char *name, uint32_t max, ih_err_t *err);

/*  A str, or an array (at most IH_MAX_LIST) of str, each of at most max bytes, copied
    into the arena of a message or an envelope. An empty array leaves *list untouched. */
int ih_mpack_arena_str(ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
                       const char **out, ih_err_t *err);
int ih_mpack_arena_strlist(ih_arena_t *a, const msgpack_object *o, const char *name, size_t max,
                           ih_strlist_t *list, ih_err_t *err);

/* ---- enumerations by wire name -------------------------------------------------------- */
typedef enum {
    IH_MPACK_E_TLP, IH_MPACK_E_SEV, IH_MPACK_E_CAT, IH_MPACK_E_IOC, IH_MPACK_E_KIND,
    IH_MPACK_E_ROLE
} ih_mpack_enum_t;

/*  The wire name of value v of enumeration e ("AMBER", "high"), or NULL if out of range. */
const char *ih_mpack_enum_name(ih_mpack_enum_t e, int v);
/*  Looks a wire name up exactly (the wire has one spelling: "AMBER", never "amber").
    Returns the value, or -1. */
int ih_mpack_enum_lookup(ih_mpack_enum_t e, const char *p, size_t n);
/*  A str that names a value of e; "tlp: unknown value 'amber'" otherwise. */
int ih_mpack_get_enum(const msgpack_object *o, const char *name, ih_mpack_enum_t e, int *out,
                      ih_err_t *err);

/* ---- keys ------------------------------------------------------------------------------ */
/*  Number of keys in a NULL-terminated key list. */
uint32_t ih_mpack_key_count(const char *const *keys);
/*  Checks that the keys of map are exactly `keys` (NULL-terminated), in that order, and
    names the first problem: an unknown key ("WHAT: unknown key 'x'"), a duplicate, a key
    out of order, or a missing key. */
int ih_mpack_check_keys(const msgpack_object_map *map, const char *const *keys,
                        const char *what, ih_err_t *err);

/* ---- packing --------------------------------------------------------------------------- */
/*  Packer callback: appends to the ih_buf_t given as the packer's data. */
int ih_mpack_buf_write(void *data, const char *buf, size_t len);

/*  Packer callback that compares what the packer writes with a frame instead of storing
    it, so the canonical check of a decoded frame allocates nothing. Start with
    { data, len, 0, false }; after packing, the frame was written exactly when !differs
    and off == len (off is then where the first difference is). */
typedef struct {
    const uint8_t *data;
    size_t len;
    size_t off;
    bool differs;
} ih_mpack_cmp_t;
int ih_mpack_cmp_write(void *data, const char *buf, size_t len);

/*  str of n bytes; str (NULL counts as ""); bin of n bytes. */
void ih_mpack_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void ih_mpack_pack_str(msgpack_packer *pk, const char *s);
void ih_mpack_pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n);
/*  Canonical integers: non-negative values always in the unsigned forms. */
void ih_mpack_pack_int(msgpack_packer *pk, int64_t v);
/*  An array of str (a list without items counts as empty). */
void ih_mpack_pack_strlist(msgpack_packer *pk, const ih_strlist_t *l);
/*  The wire name of v; -1 with "FIELD: invalid value 9" when out of range (nothing
    packed). */
int ih_mpack_pack_enum(msgpack_packer *pk, const char *field, ih_mpack_enum_t e, int v,
                       ih_err_t *err);

void ih_mpack_test(bool verbose);

#endif
