/*  ih_codec.c: signed bodies and member records (msgpack-c), see ih_codec.h and
    PROTOCOL.md. The msgpack primitives, and how decoding is done in three steps (pre-scan,
    unpack, strict walk), are in ih_mpack.h; envelopes are in ih_envelope.c.

    Bodies and member records are signed, so each has exactly one byte form: the decoders
    re-encode what they decoded and compare it byte for byte with the input (canonical
    form) before the semantic validation.

    On failure every decode function leaves nothing allocated (the message is freed,
    which is safe to do again), so a caller may or may not free after an error.
*/
#include <inttypes.h>
#include <string.h>

#include "ih_codec.h"
#include "ih_mpack.h"

/* ---- signed bodies ------------------------------------------------------------------------ */

static const char *const s_alert_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer", "author",
    "title", "summary", "tlp", "severity", "category", "sectors", "recipients",
    "references", "tags", "iocs", NULL
};
static const char *const s_retraction_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer", "author",
    "ref", "text", "iocs", NULL
};
static const char *const s_comment_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer", "author",
    "ref", "text", NULL
};
static const char *const s_sighting_keys [] = {
    "k", "id", "rev", "created", "modified", "org", "member", "signer", "author",
    "ref", "tlp", "iocs", "count", NULL
};

static const char *const *
s_body_keys_all (ih_kind_t kind)
{
    switch (kind) {
        case IH_KIND_ALERT:      return s_alert_keys;
        case IH_KIND_RETRACTION: return s_retraction_keys;
        case IH_KIND_COMMENT:    return s_comment_keys;
        case IH_KIND_SIGHTING:   return s_sighting_keys;
    }
    return NULL;
}

#define s_MAX_KEYS  24

/*  The keys of a body of kind, in order, into out (s_MAX_KEYS): "author" is the one
    optional key, present only when the message has an author, so that a body without
    one keeps the form it had before the key existed. Returns out, or NULL for a bad
    kind. */
static const char *const *
s_body_keys (ih_kind_t kind, bool author, const char *out [s_MAX_KEYS])
{
    const char *const *all = s_body_keys_all (kind);
    if (!all)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; all [i]; i++)
        if (author || strcmp (all [i], "author") != 0)
            out [n++] = all [i];
    out [n] = NULL;
    return out;
}

static bool
s_has_author (const ih_msg_t *m)
{
    return m->author && *m->author;
}

static void
s_pack_iocs (msgpack_packer *pk, const ih_msg_t *m)
{
    uint32_t n = m->iocs ? m->ioc_count : 0;
    msgpack_pack_array (pk, n);
    for (uint32_t i = 0; i < n; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        msgpack_pack_array (pk, 4);
        ih_mpack_pack_str (pk, ih_mpack_enum_name (IH_MPACK_E_IOC, (int) ioc->type));
        ih_mpack_pack_str (pk, ioc->value);
        ih_mpack_pack_str (pk, ioc->comment);
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
    const char *kbuf [s_MAX_KEYS];
    const char *const *keys = s_body_keys (m->kind, s_has_author (m), kbuf);
    if (!keys)
        return ih_err_set (err, "k: invalid kind %d", (int) m->kind);
    for (uint32_t i = 0; i < m->ioc_count && m->iocs; i++)
        if (!ih_mpack_enum_name (IH_MPACK_E_IOC, (int) m->iocs [i].type))
            return ih_err_set (err, "iocs[%u].type: invalid value %d", i, (int) m->iocs [i].type);
    if ((m->kind == IH_KIND_ALERT || m->kind == IH_KIND_SIGHTING)
    &&  !ih_mpack_enum_name (IH_MPACK_E_TLP, (int) m->tlp))
        return ih_err_set (err, "tlp: invalid value %d", (int) m->tlp);
    if (m->kind == IH_KIND_ALERT) {
        if (!ih_mpack_enum_name (IH_MPACK_E_SEV, (int) m->severity))
            return ih_err_set (err, "severity: invalid value %d", (int) m->severity);
        if (!ih_mpack_enum_name (IH_MPACK_E_CAT, (int) m->category))
            return ih_err_set (err, "category: invalid value %d", (int) m->category);
    }
    uint32_t i = 0;
    msgpack_pack_map (pk, ih_mpack_key_count (keys));
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_str (pk, ih_mpack_enum_name (IH_MPACK_E_KIND, (int) m->kind));
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_str (pk, m->id);
    ih_mpack_pack_str (pk, keys [i++]);
    msgpack_pack_uint64 (pk, m->revision);
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_int (pk, m->created);
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_int (pk, m->modified);
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_str (pk, m->org);
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_str (pk, m->member);
    ih_mpack_pack_str (pk, keys [i++]);
    ih_mpack_pack_bin (pk, m->signer, sizeof m->signer);
    for (; keys [i]; i++) {
        const char *k = keys [i];
        ih_mpack_pack_str (pk, k);
        if (strcmp (k, "author") == 0)          ih_mpack_pack_str (pk, m->author);
        else if (strcmp (k, "title") == 0)      ih_mpack_pack_str (pk, m->title);
        else if (strcmp (k, "summary") == 0)    ih_mpack_pack_str (pk, m->summary);
        else if (strcmp (k, "tlp") == 0)
            ih_mpack_pack_enum (pk, k, IH_MPACK_E_TLP, (int) m->tlp, err);
        else if (strcmp (k, "severity") == 0)
            ih_mpack_pack_enum (pk, k, IH_MPACK_E_SEV, (int) m->severity, err);
        else if (strcmp (k, "category") == 0)
            ih_mpack_pack_enum (pk, k, IH_MPACK_E_CAT, (int) m->category, err);
        else if (strcmp (k, "sectors") == 0)    ih_mpack_pack_strlist (pk, &m->sectors);
        else if (strcmp (k, "recipients") == 0) ih_mpack_pack_strlist (pk, &m->recipients);
        else if (strcmp (k, "references") == 0) ih_mpack_pack_strlist (pk, &m->references);
        else if (strcmp (k, "tags") == 0)       ih_mpack_pack_strlist (pk, &m->tags);
        else if (strcmp (k, "iocs") == 0)       s_pack_iocs (pk, m);
        else if (strcmp (k, "ref") == 0)        ih_mpack_pack_str (pk, m->ref);
        else if (strcmp (k, "text") == 0)       ih_mpack_pack_str (pk, m->text);
        else if (strcmp (k, "count") == 0)      msgpack_pack_uint64 (pk, m->count);
    }
    return 0;
}

static int
s_get_iocs (ih_msg_t *m, const msgpack_object *o, ih_err_t *err)
{
    if (ih_mpack_get_array (o, "iocs", IH_MAX_IOCS, err))
        return -1;
    char value [IH_MAX_IOC_VALUE + 1];
    char comment [IH_MAX_IOC_COMMENT + 1];
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        char field [48];
        if (it->type != MSGPACK_OBJECT_ARRAY)
            return ih_err_set (err, "iocs[%u]: expected array of 4, got %s", i,
                               ih_mpack_type_name (it));
        if (it->via.array.size != 4)
            return ih_err_set (err, "iocs[%u]: expected array of 4, got array of %u", i,
                               it->via.array.size);
        const msgpack_object *a = it->via.array.ptr;
        int type;
        const char *vp, *cp;
        size_t vn, cn;
        bool detect = false;
        snprintf (field, sizeof field, "iocs[%u].type", i);
        if (ih_mpack_get_enum (&a [0], field, IH_MPACK_E_IOC, &type, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].value", i);
        if (ih_mpack_get_str (&a [1], field, IH_MAX_IOC_VALUE, &vp, &vn, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].comment", i);
        if (ih_mpack_get_str (&a [2], field, IH_MAX_IOC_COMMENT, &cp, &cn, err))
            return -1;
        snprintf (field, sizeof field, "iocs[%u].detect", i);
        if (ih_mpack_get_bool (&a [3], field, &detect, err))
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
        return ih_err_set (err, "body: expected map, got %s", ih_mpack_type_name (o));
    const msgpack_object_map *map = &o->via.map;
    if (map->size == 0 || !ih_mpack_key_is (&map->ptr [0].key, "k"))
        return ih_err_set (err, "k: missing (must be the first key)");
    int kind;
    if (ih_mpack_get_enum (&map->ptr [0].val, "k", IH_MPACK_E_KIND, &kind, err))
        return -1;
    ih_msg_init (m, (ih_kind_t) kind);      //  nothing allocated yet
    //  With "author" anywhere in the map, the key list that has it names what is wrong
    //  (out of order, duplicate); without it, the list that has not.
    bool author = false;
    for (uint32_t i = 0; i < map->size && !author; i++)
        author = ih_mpack_key_is (&map->ptr [i].key, "author");
    const char *kbuf [s_MAX_KEYS];
    const char *const *keys = s_body_keys ((ih_kind_t) kind, author, kbuf);
    if (ih_mpack_check_keys (map, keys, "body", err))
        return -1;

    const msgpack_object_kv *kv = map->ptr;
    uint64_t u;
    const uint8_t *bin;
    size_t bin_len;
    if (ih_mpack_get_fixed (&kv [1].val, "id", m->id, sizeof m->id, err)
    ||  ih_mpack_get_uint (&kv [2].val, "rev", UINT32_MAX, &u, err))
        return -1;
    m->revision = (uint32_t) u;
    if (ih_mpack_get_int (&kv [3].val, "created", &m->created, err)
    ||  ih_mpack_get_int (&kv [4].val, "modified", &m->modified, err)
    ||  ih_mpack_arena_str (&m->arena, &kv [5].val, "org", IH_MAX_SHORT, &m->org, err)
    ||  ih_mpack_arena_str (&m->arena, &kv [6].val, "member", IH_MAX_SHORT, &m->member, err)
    ||  ih_mpack_get_bin (&kv [7].val, "signer", sizeof m->signer, &bin, &bin_len, err))
        return -1;
    memcpy (m->signer, bin, sizeof m->signer);

    for (uint32_t i = 8; keys [i]; i++) {
        const char *k = keys [i];
        const msgpack_object *v = &kv [i].val;
        int e = 0;
        int rc;
        if (strcmp (k, "author") == 0) {
            rc = ih_mpack_arena_str (&m->arena, v, k, IH_MAX_AUTHOR, &m->author, err);
            //  "" is written by leaving the key out: one form per message
            if (rc == 0 && !*m->author)
                rc = ih_err_set (err, "author: empty (a body without an author leaves the key out)");
        }
        else if (strcmp (k, "title") == 0)
            rc = ih_mpack_arena_str (&m->arena, v, k, IH_MAX_TITLE, &m->title, err);
        else if (strcmp (k, "summary") == 0)
            rc = ih_mpack_arena_str (&m->arena, v, k, IH_MAX_SUMMARY, &m->summary, err);
        else if (strcmp (k, "tlp") == 0) {
            rc = ih_mpack_get_enum (v, k, IH_MPACK_E_TLP, &e, err);
            m->tlp = (ih_tlp_t) e;
        }
        else if (strcmp (k, "severity") == 0) {
            rc = ih_mpack_get_enum (v, k, IH_MPACK_E_SEV, &e, err);
            m->severity = (ih_severity_t) e;
        }
        else if (strcmp (k, "category") == 0) {
            rc = ih_mpack_get_enum (v, k, IH_MPACK_E_CAT, &e, err);
            m->category = (ih_category_t) e;
        }
        else if (strcmp (k, "sectors") == 0)
            rc = ih_mpack_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->sectors, err);
        else if (strcmp (k, "recipients") == 0)
            rc = ih_mpack_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->recipients, err);
        else if (strcmp (k, "references") == 0)
            rc = ih_mpack_arena_strlist (&m->arena, v, k, IH_MAX_REF, &m->references, err);
        else if (strcmp (k, "tags") == 0)
            rc = ih_mpack_arena_strlist (&m->arena, v, k, IH_MAX_SHORT, &m->tags, err);
        else if (strcmp (k, "iocs") == 0)
            rc = s_get_iocs (m, v, err);
        else if (strcmp (k, "ref") == 0)
            rc = ih_mpack_get_fixed (v, k, m->ref, sizeof m->ref, err);
        else if (strcmp (k, "text") == 0)
            rc = ih_mpack_arena_str (&m->arena, v, k, IH_MAX_TEXT, &m->text, err);
        else if (strcmp (k, "count") == 0) {
            rc = ih_mpack_get_uint (v, k, UINT32_MAX, &u, err);
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
    msgpack_packer_init (&pk, out, ih_mpack_buf_write);
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
    if (ih_mpack_unpack (&up, data, len, err))
        return -1;
    int rc = s_body_from (m, &up.data, err);
    msgpack_unpacked_destroy (&up);
    if (rc == 0) {
        ih_mpack_cmp_t cmp = { data, len, 0, false };
        msgpack_packer pk;
        msgpack_packer_init (&pk, &cmp, ih_mpack_cmp_write);
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

static const char *const s_member_keys [] = {
    "k", "name", "org", "sector", "role", "curve", "sign", "created", "gateway", NULL
};

static int
s_pack_member (msgpack_packer *pk, const ih_member_t *r, ih_err_t *err)
{
    const char *role = ih_mpack_enum_name (IH_MPACK_E_ROLE, (int) r->role);
    if (!role)
        return ih_err_set (err, "role: invalid value %d", (int) r->role);
    const char *const *keys = s_member_keys;
    msgpack_pack_map (pk, ih_mpack_key_count (keys));
    ih_mpack_pack_str (pk, "k");
    ih_mpack_pack_str (pk, "member");
    ih_mpack_pack_str (pk, "name");
    ih_mpack_pack_strn (pk, r->name, strnlen (r->name, sizeof r->name));
    ih_mpack_pack_str (pk, "org");
    ih_mpack_pack_strn (pk, r->org, strnlen (r->org, sizeof r->org));
    ih_mpack_pack_str (pk, "sector");
    ih_mpack_pack_strn (pk, r->sector, strnlen (r->sector, sizeof r->sector));
    ih_mpack_pack_str (pk, "role");
    ih_mpack_pack_str (pk, role);
    ih_mpack_pack_str (pk, "curve");
    ih_mpack_pack_bin (pk, r->curve, sizeof r->curve);
    ih_mpack_pack_str (pk, "sign");
    ih_mpack_pack_bin (pk, r->sign, sizeof r->sign);
    ih_mpack_pack_str (pk, "created");
    ih_mpack_pack_int (pk, r->created);
    ih_mpack_pack_str (pk, "gateway");
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
        return ih_err_set (err, "member record: expected map, got %s", ih_mpack_type_name (o));
    const msgpack_object_map *map = &o->via.map;
    if (map->size == 0 || !ih_mpack_key_is (&map->ptr [0].key, "k"))
        return ih_err_set (err, "k: missing (must be the first key)");
    const msgpack_object *k = &map->ptr [0].val;
    if (k->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "k: expected str, got %s", ih_mpack_type_name (k));
    if (!ih_mpack_key_is (k, "member")) {
        char q [IH_QUOTE_BUF];
        return ih_err_set (err, "k: expected 'member', got '%s'",
                           ih_quote (k->via.str.ptr, k->via.str.size, IH_QUOTE_SHOW, q, sizeof q));
    }
    if (ih_mpack_check_keys (map, s_member_keys, "member record", err))
        return -1;
    const msgpack_object_kv *kv = map->ptr;
    int role;
    const uint8_t *bin;
    size_t n;
    if (ih_mpack_get_fixed (&kv [1].val, "name", r->name, sizeof r->name, err)
    ||  ih_mpack_get_fixed (&kv [2].val, "org", r->org, sizeof r->org, err)
    ||  ih_mpack_get_fixed (&kv [3].val, "sector", r->sector, sizeof r->sector, err)
    ||  ih_mpack_get_enum (&kv [4].val, "role", IH_MPACK_E_ROLE, &role, err))
        return -1;
    r->role = (ih_role_t) role;
    if (ih_mpack_get_bin (&kv [5].val, "curve", sizeof r->curve, &bin, &n, err))
        return -1;
    memcpy (r->curve, bin, sizeof r->curve);
    if (ih_mpack_get_bin (&kv [6].val, "sign", sizeof r->sign, &bin, &n, err))
        return -1;
    memcpy (r->sign, bin, sizeof r->sign);
    if (ih_mpack_get_int (&kv [7].val, "created", &r->created, err)
    ||  ih_mpack_get_bool (&kv [8].val, "gateway", &r->gateway, err))
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
    msgpack_packer_init (&pk, out, ih_mpack_buf_write);
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
    if (ih_mpack_unpack (&up, data, len, err))
        return -1;
    int rc = s_member_from (r, &up.data, err);
    msgpack_unpacked_destroy (&up);
    if (rc == 0) {
        ih_mpack_cmp_t cmp = { data, len, 0, false };
        msgpack_packer pk;
        msgpack_packer_init (&pk, &cmp, ih_mpack_cmp_write);
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


/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

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
            //  The comment carries an author; the other samples have none.
            m->author = ih_msg_str (m, "Ana M\xc3\xbcller");
            break;
        case IH_KIND_SIGHTING:
            memcpy (m->ref, s_T_ID, IH_UUID_LEN + 1);
            m->tlp = IH_TLP_GREEN;
            ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", false);
            m->count = 3;
            break;
    }
}

static bool
s_msg_equal (const ih_msg_t *a, const ih_msg_t *b)
{
    ih_buf_t x, y;
    ih_buf_init (&x);
    ih_buf_init (&y);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &x, ih_mpack_buf_write);
    IH_CHECK (s_pack_body (&pk, a, NULL) == 0);
    msgpack_packer_init (&pk, &y, ih_mpack_buf_write);
    IH_CHECK (s_pack_body (&pk, b, NULL) == 0);
    bool same = x.len == y.len && memcmp (x.data, y.data, x.len) == 0;
    ih_buf_free (&x);
    ih_buf_free (&y);
    return same;
}

//  Data-driven rejections: one mutation of a valid body (of kind base) or member record.
static const ih_tk_mutation_t s_cases [] = {
    //  bodies: keys
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_DROP, "title", -1, -1, 0, "title: missing" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_DROP, "iocs", -1, -1, 0, "iocs: missing" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_DROP, "k", -1, -1, 0, "k: missing" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_ADD, "extra", -1, -1, IH_TK_V_NIL, "body: unknown key 'extra'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_ADD, "title", -1, -1, IH_TK_V_STR, "title: duplicate key" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_ADD, "text", -1, -1, IH_TK_V_STR, "text: duplicate key" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_ADD, "iocs", -1, -1, IH_TK_V_EMPTYARR, "body: unknown key 'iocs'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SWAP, "title", -1, -1, 0,
      "summary: out of order (expected 'title' at position 8)" },
    { IH_TK_BODY, IH_KIND_SIGHTING, IH_TK_SWAP, "iocs", -1, -1, 0, "count: out of order" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SWAP, "k", -1, -1, 0, "k: missing (must be the first key)" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_ROOT, NULL, -1, -1, IH_TK_V_ARR3, "body: expected map, got array" },
    //  bodies: types and limits
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "k", -1, -1, IH_TK_V_ZAP, "k: unknown value 'zap'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_INT5, "title: expected str, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_NIL, "title: expected str, got nil" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_FLOAT, "title: expected str, got float" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_BIN12, "title: expected str, got bin" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_STR300, "title: too long (300 > 256 bytes)" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "title", -1, -1, IH_TK_V_BADUTF8, "title: invalid UTF-8" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "summary", -1, -1, IH_TK_V_STRNUL, "summary: contains a NUL byte" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "id", -1, -1, IH_TK_V_STR300, "id: too long (300 > 36 bytes)" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "id", -1, -1, IH_TK_V_BADUUID, "id: not a lower-case UUID" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "rev", -1, -1, IH_TK_V_STR, "rev: expected uint, got str" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "rev", -1, -1, IH_TK_V_NEG, "rev: expected uint, got negative int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "rev", -1, -1, IH_TK_V_BIG, "rev: out of range" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "rev", -1, -1, IH_TK_V_TRUE, "rev: expected uint, got bool" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "created", -1, -1, IH_TK_V_STR, "created: expected int, got str" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "created", -1, -1, IH_TK_V_HUGE, "created: out of range" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "modified", -1, -1, IH_TK_V_NEG, "modified: out of range" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "org", -1, -1, IH_TK_V_STR300, "org: too long (300 > 64 bytes)" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "member", -1, -1, IH_TK_V_UPPER, "member: not a valid member name" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "signer", -1, -1, IH_TK_V_BIN12, "signer: expected 32 bytes, got 12" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "signer", -1, -1, IH_TK_V_STR, "signer: expected bin, got str" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "tlp", -1, -1, IH_TK_V_AMBER_LC, "tlp: unknown value 'amber'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "severity", -1, -1, IH_TK_V_INT5, "severity: expected str, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "category", -1, -1, IH_TK_V_ZAP, "category: unknown value 'zap'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "sectors", -1, -1, IH_TK_V_MAP, "sectors: expected array, got map" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "sectors", 1, -1, IH_TK_V_UPPER, "sectors[1]: not a valid sector" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "tags", 0, -1, IH_TK_V_INT5, "tags[0]: expected str, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "recipients", 1, -1, IH_TK_V_STR300, "recipients[1]: too long" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "references", 0, -1, IH_TK_V_STR, "references[0]: not an http(s) URL" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", -1, -1, IH_TK_V_STR, "iocs: expected array, got str" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 0, -1, IH_TK_V_MAP, "iocs[0]: expected array of 4, got map" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 2, -1, IH_TK_V_ARR3, "iocs[2]: expected array of 4, got array of 3" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 0, 0, IH_TK_V_ZAP, "iocs[0].type: unknown value 'zap'" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 2, 1, IH_TK_V_INT5, "iocs[2].value: expected str, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 1, 2, IH_TK_V_INT5, "iocs[1].comment: expected str, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 0, 3, IH_TK_V_INT5, "iocs[0].detect: expected bool, got int" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_SET, "iocs", 1, 1, IH_TK_V_EVIL, "iocs[1].value" },
    { IH_TK_BODY, IH_KIND_SIGHTING, IH_TK_SET, "iocs", 0, 1, IH_TK_V_EVIL, "iocs[0].value" },
    { IH_TK_BODY, IH_KIND_SIGHTING, IH_TK_SET, "iocs", -1, -1, IH_TK_V_EMPTYARR, "iocs: a sighting names exactly one" },
    { IH_TK_BODY, IH_KIND_SIGHTING, IH_TK_SET, "count", -1, -1, IH_TK_V_ZERO, "count: must be 1..1000000" },
    { IH_TK_BODY, IH_KIND_SIGHTING, IH_TK_SET, "count", -1, -1, IH_TK_V_BIG, "count: out of range" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "ref", -1, -1, IH_TK_V_BADUUID, "ref: not a lower-case UUID" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "rev", -1, -1, IH_TK_V_INT5, "rev: must be 0" },
    { IH_TK_BODY, IH_KIND_RETRACTION, IH_TK_SET, "text", -1, -1, IH_TK_V_ARR3, "text: expected str, got array" },
    //  bodies: the optional author (the comment sample has one, the alert none)
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "author", -1, -1, IH_TK_V_INT5, "author: expected str, got int" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "author", -1, -1, IH_TK_V_STR300, "author: too long (300 > 128 bytes)" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "author", -1, -1, IH_TK_V_CTRL, "author: invalid UTF-8 or control character" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SET, "author", -1, -1, IH_TK_V_BADUTF8, "author: invalid UTF-8" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_ADD, "author", -1, -1, IH_TK_V_STR, "author: duplicate key" },
    { IH_TK_BODY, IH_KIND_COMMENT, IH_TK_SWAP, "author", -1, -1, 0, "ref: out of order (expected 'author' at position 8)" },
    { IH_TK_BODY, IH_KIND_ALERT, IH_TK_ADD, "author", -1, -1, IH_TK_V_STR, "title: out of order (expected 'author' at position 8)" },
    //  member records
    { IH_TK_MEMBER, 0, IH_TK_SET, "k", -1, -1, IH_TK_V_ALERT, "k: expected 'member', got 'alert'" },
    { IH_TK_MEMBER, 0, IH_TK_DROP, "sector", -1, -1, 0, "sector: missing" },
    { IH_TK_MEMBER, 0, IH_TK_ADD, "admin", -1, -1, IH_TK_V_TRUE, "member record: unknown key 'admin'" },
    { IH_TK_MEMBER, 0, IH_TK_SWAP, "curve", -1, -1, 0, "sign: out of order" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "curve", -1, -1, IH_TK_V_BIN12, "curve: expected 32 bytes, got 12" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "role", -1, -1, IH_TK_V_ZAP, "role: unknown value 'zap'" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "gateway", -1, -1, IH_TK_V_INT5, "gateway: expected bool, got int" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "name", -1, -1, IH_TK_V_STR300, "name: too long (300 > 64 bytes)" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "name", -1, -1, IH_TK_V_UPPER, "name: not a valid member name" },
    { IH_TK_MEMBER, 0, IH_TK_SET, "created", -1, -1, IH_TK_V_FLOAT, "created: expected int, got float" },
};

void
ih_codec_test (bool verbose)
{
    ih_err_t err;
    ih_buf_t buf, buf2;
    ih_buf_init (&buf);
    ih_buf_init (&buf2);
    msgpack_packer pk;

    //  A decoded list is sized exactly: adding to it must copy it first, never write past
    //  it (a three-tag list once got its fourth tag over tags[0], inside the arena).
    {
        ih_msg_t m3, d3;
        ih_tk_alert (&m3, NULL, IH_TLP_GREEN, "three tags");
        const char *three [] = { "domain:a.example.com", "domain:b.example.com", "domain:c.example.com", NULL };
        ih_tk_iocs (&m3, three, true);
        ih_msg_strlist_add (&m3, &m3.tags, "one");
        ih_msg_strlist_add (&m3, &m3.tags, "two");
        ih_msg_strlist_add (&m3, &m3.tags, "three");
        IH_CHECK (ih_body_encode (&m3, &buf, &err) == 0);
        IH_CHECK (ih_body_decode (&d3, buf.data, buf.len, &err) == 0);
        IH_CHECK (d3.tags.count == 3 && d3.tags.cap == 3 && d3.ioc_count == 3);
        ih_msg_strlist_add (&d3, &d3.tags, "four");
        ih_msg_ioc_add (&d3, IH_IOC_DOMAIN, "d.example.com", "", true);
        IH_CHECK (streq (d3.tags.items [0], "one") && streq (d3.tags.items [2], "three")
                  && streq (d3.tags.items [3], "four") && d3.tags.count == 4);
        IH_CHECK (streq (d3.iocs [0].value, "a.example.com") && streq (d3.iocs [3].value, "d.example.com"));
        IH_CHECK (ih_msg_validate (&d3, &err) == 0);
        ih_msg_free (&d3);
        ih_msg_free (&m3);
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
        const char *kb [s_MAX_KEYS];
        IH_CHECK (bodies [k].data [0] == (k == IH_KIND_ALERT ? 0xde
                                          : 0x80 + ih_mpack_key_count (s_body_keys ((ih_kind_t) k,
                                                                       s_has_author (&m), kb))));
        //  Only the comment has an author: the others keep the form they had before the key
        IH_CHECK ((memmem (bodies [k].data, bodies [k].len, "\xa6" "author", 7) != NULL) == (k == IH_KIND_COMMENT));
        if (ih_body_decode (&d, bodies [k].data, bodies [k].len, &err)) {
            fprintf (stderr, "\n%s: %s\n", ih_kind_name ((ih_kind_t) k), err.msg);
            IH_CHECK (false);
        }
        IH_CHECK (d.kind == (ih_kind_t) k);
        IH_CHECK (s_msg_equal (&m, &d));
        IH_CHECK (strcmp (d.id, m.id) == 0 && d.revision == m.revision);
        IH_CHECK (d.created == m.created && d.modified == m.modified);
        IH_CHECK (strcmp (d.org, "acme") == 0 && strcmp (d.member, "alice") == 0);
        IH_CHECK (streq (d.author, k == IH_KIND_COMMENT ? "Ana M\xc3\xbcller" : ""));
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
            ih_tk_decode_fails (IH_TK_BODY, bodies [k].data, n, NULL, false);
        //  A body is not an envelope nor a member record
        ih_tk_decode_fails (IH_TK_ENV, bodies [k].data, bodies [k].len, "v: missing", false);
        ih_tk_decode_fails (IH_TK_MEMBER, bodies [k].data, bodies [k].len, "k: expected 'member'",
                            false);
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
        msgpack_packer_init (&pk, &buf, ih_mpack_buf_write);
        IH_CHECK (s_pack_body (&pk, &m, NULL) == 0);
        ih_tk_decode_fails (IH_TK_BODY, buf.data, buf.len, "iocs[3].value", verbose);
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
            IH_CHECK (ih_tk_splice (alert, nc [i].from, nc [i].from_len, nc [i].to, nc [i].to_len, &buf));
            ih_tk_decode_fails (IH_TK_BODY, buf.data, buf.len, "body: non-canonical encoding",
                                verbose && i == 0);
        }
        //  Trailing bytes, oversized frame
        ih_buf_reset (&buf);
        ih_buf_append (&buf, alert->data, alert->len);
        ih_buf_append (&buf, "\xc0", 1);
        ih_tk_decode_fails (IH_TK_BODY, buf.data, buf.len,
                            "msgpack: 1 trailing bytes after the top-level object", verbose);
        uint8_t *big = (uint8_t *) calloc (1, IH_MAX_FRAME + 1);
        IH_CHECK (big);
        memcpy (big, alert->data, alert->len);
        ih_tk_decode_fails (IH_TK_BODY, big, IH_MAX_FRAME + 1,
                            "msgpack: frame too large (1048577 > 1048576 bytes)", verbose);
        ih_tk_decode_fails (IH_TK_ENV, big, IH_MAX_FRAME + 1, "frame too large", false);
        ih_tk_decode_fails (IH_TK_MEMBER, big, IH_MAX_FRAME + 1, "frame too large", false);
        free (big);
    }

    //  An empty author is written by leaving the key out, never as "author": ""
    {
        const ih_buf_t *cm = &bodies [IH_KIND_COMMENT];
        IH_CHECK (ih_tk_splice (cm, "\xa6" "author\xab" "Ana M\xc3\xbcller", 19, "\xa6" "author\xa0", 8, &buf));
        ih_tk_decode_fails (IH_TK_BODY, buf.data, buf.len, "author: empty (a body without an author leaves the key out)",
                            verbose);
        //  and the same comment without the key decodes, to no author
        IH_CHECK (ih_tk_splice (cm, "\xa6" "author\xab" "Ana M\xc3\xbcller", 19, "", 0, &buf));
        buf.data [0]--;         //  one key fewer in the fixmap
        ih_msg_t d;
        IH_CHECK (ih_body_decode (&d, buf.data, buf.len, &err) == 0 && streq (d.author, ""));
        ih_msg_free (&d);
    }

    //  5001 IOCs in a retraction (its last key is "iocs", so the IOC ends the frame)
    {
        const ih_buf_t *retr = &bodies [IH_KIND_RETRACTION];
        IH_CHECK (ih_tk_splice (retr, "\xa4iocs\x91", 6, "\xa4iocs\xdd\x00\x00\x13\x89", 10, &buf));
        const size_t ioc_len = 21;      //  ["ipv4", "198.51.100.7", "", false]
        for (int i = 1; i < IH_MAX_IOCS + 1; i++)
            ih_buf_append (&buf, retr->data + retr->len - ioc_len, ioc_len);
        ih_tk_decode_fails (IH_TK_BODY, buf.data, buf.len, "iocs: too many elements (5001 > 5000)",
                            verbose);
    }

    //  Member records: a member from the test kit (fresh keys), encoded again here
    ih_tk_keypair_t reg;
    ih_tk_keypair (&reg);
    ih_tk_member_t who;
    ih_tk_member (&who, &reg, "alice", "acme", "finance", IH_ROLE_PUBLISHER);
    ih_member_t rec, rec2;
    memcpy (&rec, &who.rec, sizeof rec);
    ih_buf_t recbuf;
    ih_buf_init (&recbuf);
    IH_CHECK (ih_member_encode (&rec, &recbuf, &err) == 0);
    IH_CHECK (ih_member_decode (&rec2, recbuf.data, recbuf.len, &err) == 0);
    IH_CHECK (memcmp (&rec, &rec2, sizeof rec) == 0);
    for (size_t n = 0; n < recbuf.len; n++)
        ih_tk_decode_fails (IH_TK_MEMBER, recbuf.data, n, NULL, false);
    rec2.gateway = true;     //  the gateway is a reader
    IH_CHECK (ih_member_encode (&rec2, &buf, &err) == -1 && buf.len == 0);
    rec2.role = IH_ROLE_READER;
    rec2.sector [0] = 0;
    IH_CHECK (ih_member_encode (&rec2, &buf, &err) == 0);
    IH_CHECK (ih_member_decode (&rec, buf.data, buf.len, &err) == 0);
    IH_CHECK (rec.gateway && rec.role == IH_ROLE_READER && rec.sector [0] == 0);
    IH_CHECK (ih_tk_splice (&buf, "\xa7gateway\xc3", 9, "\xa7gateway\xc2", 9, &buf2));
    IH_CHECK (ih_member_decode (&rec, buf2.data, buf2.len, &err) == 0 && !rec.gateway);
    IH_CHECK (ih_tk_splice (&buf, "\xa4name\xa5", 6, "\xa4name\xd9\x05", 7, &buf2));
    ih_tk_decode_fails (IH_TK_MEMBER, buf2.data, buf2.len, "member record: non-canonical encoding",
                        verbose);

    //  Data-driven rejections
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++) {
        const ih_tk_mutation_t *c = &s_cases [i];
        ih_tk_mutation_fails (c->what == IH_TK_BODY ? &bodies [c->base] : &recbuf, c, verbose);
    }

    for (int k = 0; k < IH_KIND_COUNT; k++)
        ih_buf_free (&bodies [k]);
    ih_buf_free (&recbuf);
    ih_tk_member_free (&who);
    ih_buf_free (&buf);
    ih_buf_free (&buf2);
    if (verbose)
        printf ("\n");
}
#endif
