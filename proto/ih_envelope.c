/*  ih_envelope.c: the envelopes agent and broker exchange (msgpack-c), see ih_envelope.h
    and PROTOCOL.md. The msgpack primitives, and how decoding is done in three steps
    (pre-scan, unpack, strict walk), are in ih_mpack.h.

    One table, s_type_fields, says which fields each type has; the encoder writes them in
    that order, the decoder accepts them in any order after "v" and "t", and one set of
    semantic checks (s_env_check) runs on what we send and on what we receive.

    On failure ih_env_decode leaves nothing allocated (the envelope is freed, which is
    safe to do again), so a caller may or may not free after an error.
*/
#include <inttypes.h>
#include <string.h>

#include "ih_envelope.h"
#include "ih_mpack.h"
#include "ih_sign.h"

/* ---- types and their fields ----------------------------------------------------------------- */

typedef enum {
    s_F_CURSOR, s_F_CATEGORIES, s_F_SECTORS, s_F_MIN_SEVERITY, s_F_WINDOW, s_F_AGENT,
    s_F_HEAD, s_F_MEMBER, s_F_ORG, s_F_HEARTBEAT, s_F_REQ, s_F_BODY, s_F_SIG, s_F_SEQ,
    s_F_ID, s_F_CODE, s_F_REASON, s_F_ITEMS, s_F_JSON, s_F_OWED, s_F_MEMBERS, s_F_RETRY_AFTER
} s_field_t;

static const char *const s_field_names [] = {
    "cursor", "categories", "sectors", "min_severity", "window", "agent",
    "head", "member", "org", "heartbeat", "req", "body", "sig", "seq",
    "id", "code", "reason", "items", "json", "owed", "members", "retry_after"
};

#define s_TYPE_MAX IH_T_MEMBERS
#define s_END (-1)

static const char *const s_type_names [s_TYPE_MAX + 1] = {
    NULL, "hello", "welcome", "publish", "ok", "error", "deliver", "ack", "ping", "pong",
    "bye", "status", "stats", "roster", "members"
};

//  Fields of each type, in the order the encoder writes them.
static const int8_t s_type_fields [s_TYPE_MAX + 1][7] = {
    [IH_T_HELLO]   = { s_F_CURSOR, s_F_CATEGORIES, s_F_SECTORS, s_F_MIN_SEVERITY, s_F_WINDOW,
                       s_F_AGENT, s_END },
    [IH_T_WELCOME] = { s_F_HEAD, s_F_OWED, s_F_MEMBER, s_F_ORG, s_F_HEARTBEAT, s_END },
    [IH_T_PUBLISH] = { s_F_REQ, s_F_BODY, s_F_SIG, s_END },
    [IH_T_OK]      = { s_F_REQ, s_F_SEQ, s_F_ID, s_END },
    [IH_T_ERROR]   = { s_F_REQ, s_F_CODE, s_F_REASON, s_F_RETRY_AFTER, s_END },
    [IH_T_DELIVER] = { s_F_ITEMS, s_END },
    [IH_T_ACK]     = { s_F_SEQ, s_END },
    [IH_T_PING]    = { s_END },
    [IH_T_PONG]    = { s_F_HEAD, s_F_OWED, s_END },
    [IH_T_BYE]     = { s_END },
    [IH_T_STATUS]  = { s_END },
    [IH_T_STATS]   = { s_F_JSON, s_END },
    [IH_T_ROSTER]  = { s_END },
    [IH_T_MEMBERS] = { s_F_MEMBERS, s_END },
};

//  Fields a receiver may miss (a broker older than the field): the encoder always writes
//  them; the decoder fills in what their absence means (s_env_default).
static const uint32_t s_type_optional [s_TYPE_MAX + 1] = {
    [IH_T_WELCOME] = 1u << s_F_OWED,
    [IH_T_PONG]    = 1u << s_F_OWED,
    [IH_T_ERROR]   = 1u << s_F_RETRY_AFTER,
};

//  Optional fields the encoder writes only when they say something (non-zero), so that
//  every envelope without them keeps the form older receivers accept.
static const uint32_t s_sparse = 1u << s_F_RETRY_AFTER;

static bool
s_field_present (const ih_env_t *e, s_field_t f)
{
    if (!(s_sparse & (1u << f)))
        return true;
    return f == s_F_RETRY_AFTER ? e->retry_after != 0 : true;
}

const char *
ih_type_name (ih_type_t t)
{
    if ((int) t < 1 || (int) t > s_TYPE_MAX)
        return NULL;
    return s_type_names [t];
}

/* ---- init, free, checks ---------------------------------------------------------------------- */

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
    if (n && !ih_mpack_utf8_ok ((const uint8_t *) s, n))
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
            size_t sevlen = e->min_severity ? strlen (e->min_severity) : 0;
            if (sevlen && ih_mpack_enum_lookup (IH_MPACK_E_SEV, e->min_severity, sevlen) < 0)
                return ih_err_set (err, "min_severity: unknown severity '%s'",
                                   ih_quote (e->min_severity, sevlen, IH_QUOTE_SHOW, q, sizeof q));
            for (uint32_t i = 0; i < e->categories.count; i++) {
                const char *c = e->categories.items [i] ? e->categories.items [i] : "";
                if (ih_mpack_enum_lookup (IH_MPACK_E_CAT, c, strlen (c)) < 0)
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
            __attribute__ ((fallthrough));      //  and owed <= head, as in a pong
        case IH_T_PONG:
            if (e->owed > e->head)
                return ih_err_set (err, "owed: %" PRIu64 " is above head %" PRIu64, e->owed, e->head);
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
            if (e->retry_after > IH_RETRY_AFTER_MAX)
                return ih_err_set (err, "retry_after: %" PRIu64 " is above %d ms", e->retry_after,
                                   IH_RETRY_AFTER_MAX);
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
        case IH_T_MEMBERS:
            if (e->record_count > IH_MAX_MEMBERS || (e->record_count && !e->records))
                return ih_err_set (err, "members: expected 0..%d records, got %u", IH_MAX_MEMBERS,
                                   e->record_count);
            for (uint32_t i = 0; i < e->record_count; i++) {
                if (!e->records [i].rec || e->records [i].rec_len == 0)
                    return ih_err_set (err, "members[%u].rec: missing", i);
                if (!e->records [i].rec_sig)
                    return ih_err_set (err, "members[%u].rec_sig: missing", i);
            }
            return 0;
        case IH_T_ACK: case IH_T_PING: case IH_T_BYE: case IH_T_STATUS: case IH_T_ROSTER:
            return 0;
    }
    return ih_err_set (err, "t: unknown message type %d", (int) e->type);
}

/* ---- encoding -------------------------------------------------------------------------------- */

int
ih_env_encode (const ih_env_t *e, ih_buf_t *out, ih_err_t *err)
{
    ih_buf_reset (out);
    if (s_env_check (e, err))
        return -1;
    const int8_t *fields = s_type_fields [e->type];
    uint32_t n = 0, present = 0;
    while (fields [n] != s_END)
        present += s_field_present (e, (s_field_t) fields [n++]);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, ih_mpack_buf_write);
    msgpack_pack_map (&pk, 2 + present);
    ih_mpack_pack_str (&pk, "v");
    msgpack_pack_uint64 (&pk, IH_PROTO_VERSION);
    ih_mpack_pack_str (&pk, "t");
    ih_mpack_pack_str (&pk, ih_type_name (e->type));
    for (uint32_t i = 0; i < n; i++) {
        if (!s_field_present (e, (s_field_t) fields [i]))
            continue;
        ih_mpack_pack_str (&pk, s_field_names [fields [i]]);
        switch ((s_field_t) fields [i]) {
            case s_F_CURSOR:       msgpack_pack_uint64 (&pk, e->cursor); break;
            case s_F_CATEGORIES:   ih_mpack_pack_strlist (&pk, &e->categories); break;
            case s_F_SECTORS:      ih_mpack_pack_strlist (&pk, &e->sectors); break;
            case s_F_MIN_SEVERITY: ih_mpack_pack_str (&pk, e->min_severity); break;
            case s_F_WINDOW:       msgpack_pack_uint64 (&pk, e->window); break;
            case s_F_AGENT:        ih_mpack_pack_str (&pk, e->agent); break;
            case s_F_HEAD:         msgpack_pack_uint64 (&pk, e->head); break;
            case s_F_OWED:         msgpack_pack_uint64 (&pk, e->owed); break;
            case s_F_MEMBER:       ih_mpack_pack_str (&pk, e->member); break;
            case s_F_ORG:          ih_mpack_pack_str (&pk, e->org); break;
            case s_F_HEARTBEAT:    msgpack_pack_uint64 (&pk, e->heartbeat); break;
            case s_F_REQ:          msgpack_pack_uint64 (&pk, e->req); break;
            case s_F_BODY:         ih_mpack_pack_bin (&pk, e->body, e->body_len); break;
            case s_F_SIG:          ih_mpack_pack_bin (&pk, e->sig, IH_SIG_LEN); break;
            case s_F_SEQ:          msgpack_pack_uint64 (&pk, e->seq); break;
            case s_F_ID:           ih_mpack_pack_str (&pk, e->id); break;
            case s_F_CODE:         ih_mpack_pack_str (&pk, e->code); break;
            case s_F_REASON:       ih_mpack_pack_str (&pk, e->reason); break;
            case s_F_JSON:         ih_mpack_pack_str (&pk, e->json); break;
            case s_F_RETRY_AFTER:  msgpack_pack_uint64 (&pk, e->retry_after); break;
            case s_F_MEMBERS:
                msgpack_pack_array (&pk, e->record_count);
                for (uint32_t j = 0; j < e->record_count; j++) {
                    msgpack_pack_array (&pk, 2);
                    ih_mpack_pack_bin (&pk, e->records [j].rec, e->records [j].rec_len);
                    ih_mpack_pack_bin (&pk, e->records [j].rec_sig, IH_SIG_LEN);
                }
                break;
            case s_F_ITEMS:
                msgpack_pack_array (&pk, e->item_count);
                for (uint32_t j = 0; j < e->item_count; j++) {
                    const ih_item_t *it = &e->items [j];
                    msgpack_pack_array (&pk, 5);
                    msgpack_pack_uint64 (&pk, it->seq);
                    ih_mpack_pack_bin (&pk, it->body, it->body_len);
                    ih_mpack_pack_bin (&pk, it->sig, IH_SIG_LEN);
                    ih_mpack_pack_bin (&pk, it->rec, it->rec_len);
                    ih_mpack_pack_bin (&pk, it->rec_sig, IH_SIG_LEN);
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

/* ---- decoding -------------------------------------------------------------------------------- */

static int
s_env_items (ih_env_t *e, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return ih_err_set (err, "items: expected array, got %s", ih_mpack_type_name (o));
    uint32_t n = o->via.array.size;
    if (n < 1 || n > IH_MAX_ITEMS)
        return ih_err_set (err, "items: expected 1..%d items, got %u", IH_MAX_ITEMS, n);
    ih_item_t *items = (ih_item_t *) ih_arena_alloc (&e->arena, n * sizeof *items);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        if (it->type != MSGPACK_OBJECT_ARRAY)
            return ih_err_set (err, "items[%u]: expected array of 5, got %s", i,
                               ih_mpack_type_name (it));
        if (it->via.array.size != 5)
            return ih_err_set (err, "items[%u]: expected array of 5, got array of %u", i,
                               it->via.array.size);
        const msgpack_object *a = it->via.array.ptr;
        ih_item_t *item = &items [i];
        char field [48];
        size_t n64;
        snprintf (field, sizeof field, "items[%u].seq", i);
        if (ih_mpack_get_uint (&a [0], field, UINT64_MAX, &item->seq, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].body", i);
        if (ih_mpack_get_bin (&a [1], field, 0, &item->body, &item->body_len, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].sig", i);
        if (ih_mpack_get_bin (&a [2], field, IH_SIG_LEN, &item->sig, &n64, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].rec", i);
        if (ih_mpack_get_bin (&a [3], field, 0, &item->rec, &item->rec_len, err))
            return -1;
        snprintf (field, sizeof field, "items[%u].rec_sig", i);
        if (ih_mpack_get_bin (&a [4], field, IH_SIG_LEN, &item->rec_sig, &n64, err))
            return -1;
    }
    e->items = items;
    e->item_count = n;
    return 0;
}

static int
s_env_members (ih_env_t *e, const msgpack_object *o, ih_err_t *err)
{
    if (ih_mpack_get_array (o, "members", IH_MAX_MEMBERS, err))
        return -1;
    uint32_t n = o->via.array.size;
    ih_record_t *recs = n ? (ih_record_t *) ih_arena_alloc (&e->arena, n * sizeof *recs) : NULL;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *it = &o->via.array.ptr [i];
        if (it->type != MSGPACK_OBJECT_ARRAY)
            return ih_err_set (err, "members[%u]: expected array of 2, got %s", i,
                               ih_mpack_type_name (it));
        if (it->via.array.size != 2)
            return ih_err_set (err, "members[%u]: expected array of 2, got array of %u", i,
                               it->via.array.size);
        char field [48];
        size_t n64;
        snprintf (field, sizeof field, "members[%u].rec", i);
        if (ih_mpack_get_bin (&it->via.array.ptr [0], field, 0, &recs [i].rec, &recs [i].rec_len, err))
            return -1;
        snprintf (field, sizeof field, "members[%u].rec_sig", i);
        if (ih_mpack_get_bin (&it->via.array.ptr [1], field, IH_SIG_LEN, &recs [i].rec_sig, &n64, err))
            return -1;
    }
    e->records = recs;
    e->record_count = n;
    return 0;
}

static int
s_env_field (ih_env_t *e, s_field_t f, const msgpack_object *v, ih_err_t *err)
{
    const char *name = s_field_names [f];
    ih_arena_t *a = &e->arena;
    uint64_t u;
    size_t n;
    switch (f) {
        case s_F_CURSOR:       return ih_mpack_get_uint (v, name, UINT64_MAX, &e->cursor, err);
        case s_F_HEAD:         return ih_mpack_get_uint (v, name, UINT64_MAX, &e->head, err);
        case s_F_OWED:         return ih_mpack_get_uint (v, name, UINT64_MAX, &e->owed, err);
        case s_F_RETRY_AFTER:  return ih_mpack_get_uint (v, name, IH_RETRY_AFTER_MAX, &e->retry_after, err);
        case s_F_REQ:          return ih_mpack_get_uint (v, name, UINT64_MAX, &e->req, err);
        case s_F_SEQ:          return ih_mpack_get_uint (v, name, UINT64_MAX, &e->seq, err);
        case s_F_WINDOW:
            if (ih_mpack_get_uint (v, name, UINT32_MAX, &u, err))
                return -1;
            e->window = (uint32_t) u;
            return 0;
        case s_F_HEARTBEAT:
            if (ih_mpack_get_uint (v, name, UINT32_MAX, &u, err))
                return -1;
            e->heartbeat = (uint32_t) u;
            return 0;
        case s_F_CATEGORIES:   return ih_mpack_arena_strlist (a, v, name, IH_MAX_SHORT, &e->categories, err);
        case s_F_SECTORS:      return ih_mpack_arena_strlist (a, v, name, IH_MAX_SHORT, &e->sectors, err);
        case s_F_MIN_SEVERITY: return ih_mpack_arena_str (a, v, name, IH_MAX_SHORT, &e->min_severity, err);
        case s_F_AGENT:        return ih_mpack_arena_str (a, v, name, IH_MAX_SHORT, &e->agent, err);
        case s_F_MEMBER:       return ih_mpack_arena_str (a, v, name, IH_MAX_SHORT, &e->member, err);
        case s_F_ORG:          return ih_mpack_arena_str (a, v, name, IH_MAX_SHORT, &e->org, err);
        case s_F_ID:           return ih_mpack_arena_str (a, v, name, IH_UUID_LEN, &e->id, err);
        case s_F_CODE:         return ih_mpack_arena_str (a, v, name, IH_MAX_SHORT, &e->code, err);
        case s_F_REASON:       return ih_mpack_arena_str (a, v, name, IH_MAX_TEXT, &e->reason, err);
        case s_F_JSON:         return ih_mpack_arena_str (a, v, name, IH_MAX_FRAME, &e->json, err);
        case s_F_BODY:         return ih_mpack_get_bin (v, name, 0, &e->body, &e->body_len, err);
        case s_F_SIG:          return ih_mpack_get_bin (v, name, IH_SIG_LEN, &e->sig, &n, err);
        case s_F_ITEMS:        return s_env_items (e, v, err);
        case s_F_MEMBERS:      return s_env_members (e, v, err);
    }
    return ih_err_set (err, "%s: no decoder", name);
}

static int
s_env_from (ih_env_t *e, const msgpack_object *o, ih_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return ih_err_set (err, "envelope: expected map, got %s", ih_mpack_type_name (o));
    const msgpack_object_map *map = &o->via.map;
    const msgpack_object_kv *kv = map->ptr;
    char q [IH_QUOTE_BUF];

    if (map->size < 1 || !ih_mpack_key_is (&kv [0].key, "v"))
        return ih_err_set (err, "v: missing (must be the first key)");
    const msgpack_object *v = &kv [0].val;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return ih_err_set (err, "v: unsupported protocol version %" PRId64, v->via.i64);
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ih_err_set (err, "v: expected uint, got %s", ih_mpack_type_name (v));
    if (v->via.u64 != IH_PROTO_VERSION)
        return ih_err_set (err, "v: unsupported protocol version %" PRIu64, v->via.u64);

    if (map->size < 2 || !ih_mpack_key_is (&kv [1].key, "t"))
        return ih_err_set (err, "t: missing (must be the second key)");
    const msgpack_object *t = &kv [1].val;
    if (t->type != MSGPACK_OBJECT_STR)
        return ih_err_set (err, "t: expected str, got %s", ih_mpack_type_name (t));
    int type = 0;
    for (int i = 1; i <= s_TYPE_MAX && !type; i++)
        if (ih_mpack_key_is (t, s_type_names [i]))
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
            return ih_err_set (err, "%s: key #%u: expected str, got %s", tname, i,
                               ih_mpack_type_name (k));
        if (ih_mpack_key_is (k, "v") || ih_mpack_key_is (k, "t"))
            return ih_err_set (err, "%.*s: duplicate key", (int) k->via.str.size, k->via.str.ptr);
        int f = -1;
        for (int j = 0; fields [j] != s_END && f < 0; j++)
            if (ih_mpack_key_is (k, s_field_names [fields [j]]))
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
        if (!(seen & (1u << fields [j])) && !(s_type_optional [type] & (1u << fields [j])))
            return ih_err_set (err, "%s: missing", s_field_names [fields [j]]);
    //  What a missing optional field means: a broker that does not say what it owes
    //  a member owes it as much as its head (the lag then counts every seq, as before)
    if ((s_type_optional [type] & (1u << s_F_OWED)) && !(seen & (1u << s_F_OWED)))
        e->owed = e->head;
    return 0;
}

int
ih_env_decode (ih_env_t *e, const uint8_t *data, size_t len, ih_err_t *err)
{
    s_env_clear (e, (ih_type_t) 0);
    msgpack_unpacked up;
    if (ih_mpack_unpack (&up, data, len, err))
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
#include "ih_testkit.h"

#define s_T_ID   "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

//  Fills an envelope of each type with sample values; bytes borrowed from item (a signed
//  item: body, signature and member record), which deliver repeats in items.
static void
s_test_env (ih_env_t *e, ih_type_t t, const ih_item_t *item, ih_item_t items [3])
{
    static ih_record_t recs [2];
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
            e->owed = 123456700;
            e->member = "alice";
            e->org = "acme";
            e->heartbeat = 5000;
            break;
        case IH_T_PUBLISH:
            e->req = 7;
            e->body = item->body;
            e->body_len = item->body_len;
            e->sig = item->sig;
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
                items [i] = *item;
                items [i].seq = i == 2 ? 9 : (uint64_t) (5 + i);
            }
            e->items = items;
            e->item_count = 3;
            break;
        case IH_T_ACK:
            e->seq = 70000;
            break;
        case IH_T_PONG:
            e->head = 5;
            e->owed = 4;
            break;
        case IH_T_STATS:
            e->json = "{\"connections\":2,\"head\":5}";
            break;
        case IH_T_MEMBERS:
            for (int i = 0; i < 2; i++)
                recs [i] = (ih_record_t) { item->rec, item->rec_len, item->rec_sig };
            e->records = recs;
            e->record_count = 2;
            break;
        case IH_T_PING: case IH_T_BYE: case IH_T_STATUS: case IH_T_ROSTER:
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

//  Data-driven rejections: one mutation of a valid envelope of type base.
static const ih_tk_mutation_t s_cases [] = {
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "v", -1, -1, IH_TK_V_TWO, "v: unsupported protocol version 2" },
    { IH_TK_ENV, IH_T_PING, IH_TK_SET, "v", -1, -1, IH_TK_V_NEG, "v: unsupported protocol version -1" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "v", -1, -1, IH_TK_V_STR, "v: expected uint, got str" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SWAP, "v", -1, -1, 0, "v: missing (must be the first key)" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_DROP, "t", -1, -1, 0, "t: missing" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "t", -1, -1, IH_TK_V_ZAP, "t: unknown message type 'zap'" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "t", -1, -1, IH_TK_V_INT5, "t: expected str, got int" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_DROP, "window", -1, -1, 0, "window: missing" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_ADD, "extra", -1, -1, IH_TK_V_NIL, "hello: unknown key 'extra'" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_ADD, "cursor", -1, -1, IH_TK_V_INT5, "cursor: duplicate key" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_ADD, "v", -1, -1, IH_TK_V_INT5, "v: duplicate key" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "window", -1, -1, IH_TK_V_ZERO, "window: must be 1..10000, got 0" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "window", -1, -1, IH_TK_V_BIG, "window: out of range" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "cursor", -1, -1, IH_TK_V_NEG, "cursor: expected uint, got negative int" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "categories", 1, -1, IH_TK_V_ZAP, "categories[1]: unknown category 'zap'" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "sectors", 0, -1, IH_TK_V_INT5, "sectors[0]: expected str, got int" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "min_severity", -1, -1, IH_TK_V_ZAP, "min_severity: unknown severity 'zap'" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "agent", -1, -1, IH_TK_V_STR300, "agent: too long (300 > 64 bytes)" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "agent", -1, -1, IH_TK_V_CTRL, "agent: must be printable ASCII" },
    { IH_TK_ENV, IH_T_HELLO, IH_TK_SET, "agent", -1, -1, IH_TK_V_HIGH, "agent: must be printable ASCII" },
    { IH_TK_ENV, IH_T_WELCOME, IH_TK_SET, "member", -1, -1, IH_TK_V_UPPER, "member: not a valid member name" },
    { IH_TK_ENV, IH_T_WELCOME, IH_TK_SET, "owed", -1, -1, IH_TK_V_HUGE, "owed: 18446744073709551615 is above head 123456789" },
    { IH_TK_ENV, IH_T_WELCOME, IH_TK_SET, "owed", -1, -1, IH_TK_V_NEG, "owed: expected uint, got negative int" },
    { IH_TK_ENV, IH_T_PONG, IH_TK_SET, "owed", -1, -1, IH_TK_V_BIG, "owed: 1099511627776 is above head 5" },
    { IH_TK_ENV, IH_T_PONG, IH_TK_SET, "owed", -1, -1, IH_TK_V_STR, "owed: expected uint, got str" },
    { IH_TK_ENV, IH_T_PONG, IH_TK_ADD, "owed", -1, -1, IH_TK_V_ZERO, "owed: duplicate key" },
    { IH_TK_ENV, IH_T_PONG, IH_TK_DROP, "head", -1, -1, 0, "head: missing" },
    { IH_TK_ENV, IH_T_PING, IH_TK_ADD, "owed", -1, -1, IH_TK_V_ZERO, "ping: unknown key 'owed'" },
    { IH_TK_ENV, IH_T_PUBLISH, IH_TK_SET, "sig", -1, -1, IH_TK_V_BIN12, "sig: expected 64 bytes, got 12" },
    { IH_TK_ENV, IH_T_PUBLISH, IH_TK_SET, "body", -1, -1, IH_TK_V_STR, "body: expected bin, got str" },
    { IH_TK_ENV, IH_T_PUBLISH, IH_TK_DROP, "sig", -1, -1, 0, "sig: missing" },
    { IH_TK_ENV, IH_T_OK, IH_TK_SET, "id", -1, -1, IH_TK_V_BADUUID, "id: not a lower-case UUID" },
    { IH_TK_ENV, IH_T_ERROR, IH_TK_SET, "reason", -1, -1, IH_TK_V_BADUTF8, "reason: invalid UTF-8" },
    { IH_TK_ENV, IH_T_ERROR, IH_TK_ADD, "retry_after", -1, -1, IH_TK_V_STR, "retry_after: expected uint, got str" },
    { IH_TK_ENV, IH_T_ERROR, IH_TK_ADD, "retry_after", -1, -1, IH_TK_V_BIG, "retry_after: out of range" },
    { IH_TK_ENV, IH_T_ERROR, IH_TK_ADD, "retry_after", -1, -1, IH_TK_V_NEG, "retry_after: expected uint, got negative int" },
    { IH_TK_ENV, IH_T_OK, IH_TK_ADD, "retry_after", -1, -1, IH_TK_V_INT5, "ok: unknown key 'retry_after'" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", -1, -1, IH_TK_V_EMPTYARR, "items: expected 1..256 items, got 0" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", 1, -1, IH_TK_V_ARR3, "items[1]: expected array of 5, got array of 3" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", 1, 0, IH_TK_V_INT5, "items[1].seq: not increasing (5 after 5)" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", 2, 2, IH_TK_V_BIN12, "items[2].sig: expected 64 bytes, got 12" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", 0, 4, IH_TK_V_BIN32, "items[0].rec_sig: expected 64 bytes, got 32" },
    { IH_TK_ENV, IH_T_DELIVER, IH_TK_SET, "items", 0, 3, IH_TK_V_NIL, "items[0].rec: expected bin, got nil" },
    { IH_TK_ENV, IH_T_PING, IH_TK_ADD, "x", -1, -1, IH_TK_V_NIL, "ping: unknown key 'x'" },
    { IH_TK_ENV, IH_T_STATS, IH_TK_SET, "json", -1, -1, IH_TK_V_MAP, "json: expected str, got map" },
    { IH_TK_ENV, IH_T_ACK, IH_TK_ROOT, NULL, -1, -1, IH_TK_V_ARR3, "envelope: expected map, got array" },
    { IH_TK_ENV, IH_T_ROSTER, IH_TK_ADD, "members", -1, -1, IH_TK_V_EMPTYARR, "roster: unknown key 'members'" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_DROP, "members", -1, -1, 0, "members: missing" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_SET, "members", -1, -1, IH_TK_V_MAP, "members: expected array, got map" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_SET, "members", 1, -1, IH_TK_V_ARR3, "members[1]: expected array of 2, got array of 3" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_SET, "members", 0, -1, IH_TK_V_STR, "members[0]: expected array of 2, got str" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_SET, "members", 0, 0, IH_TK_V_STR, "members[0].rec: expected bin, got str" },
    { IH_TK_ENV, IH_T_MEMBERS, IH_TK_SET, "members", 1, 1, IH_TK_V_BIN32, "members[1].rec_sig: expected 64 bytes, got 32" },
};

void
ih_envelope_test (bool verbose)
{
    ih_err_t err;
    ih_buf_t buf, buf2;
    ih_buf_init (&buf);
    ih_buf_init (&buf2);

    //  What publish and deliver carry: an alert signed by a member, with its record
    ih_tk_keypair_t reg;
    ih_tk_keypair (&reg);
    ih_tk_member_t who;
    ih_tk_member (&who, &reg, "alice", "acme", "finance", IH_ROLE_PUBLISHER);
    ih_msg_t alert;
    ih_tk_alert (&alert, &who, IH_TLP_AMBER, "LockBit affiliate targeting payment processors");
    ih_tk_item_t signed_item;
    ih_tk_item (&signed_item, &alert, &who, 5);
    const ih_item_t *item = &signed_item.item;
    const uint8_t *sig = item->sig;

    //  Round trip of every type
    ih_item_t items [3];
    ih_buf_t envs [s_TYPE_MAX + 1];
    for (int t = 1; t <= s_TYPE_MAX; t++) {
        ih_env_t e, d;
        s_test_env (&e, (ih_type_t) t, item, items);
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
        IH_CHECK (d.owed == e.owed);
        IH_CHECK (d.window == e.window && d.heartbeat == e.heartbeat);
        IH_CHECK (strcmp (d.agent, e.agent) == 0 && strcmp (d.json, e.json) == 0);
        if (t == IH_T_PUBLISH) {
            //  borrowed: points into the frame
            IH_CHECK (d.body > envs [t].data && d.body + d.body_len <= envs [t].data + envs [t].len);
            IH_CHECK (d.body_len == item->body_len);
            IH_CHECK (memcmp (d.body, item->body, d.body_len) == 0);
            IH_CHECK (memcmp (d.sig, sig, IH_SIG_LEN) == 0);
        }
        if (t == IH_T_DELIVER) {
            IH_CHECK (d.item_count == 3 && d.items [2].seq == 9);
            IH_CHECK (d.items [1].rec_len == item->rec_len
                      && memcmp (d.items [1].rec, item->rec, item->rec_len) == 0);
        }
        if (t == IH_T_HELLO)
            IH_CHECK (d.categories.count == 2 && strcmp (d.categories.items [1], "phishing") == 0);
        if (t == IH_T_MEMBERS) {
            IH_CHECK (d.record_count == 2 && d.records [1].rec_len == item->rec_len);
            IH_CHECK (memcmp (d.records [1].rec, item->rec, item->rec_len) == 0);
            IH_CHECK (memcmp (d.records [0].rec_sig, item->rec_sig, IH_SIG_LEN) == 0);
        }
        ih_env_free (&d);
        ih_env_free (&d);
        for (size_t n = 0; n < envs [t].len; n++)
            ih_tk_decode_fails (IH_TK_ENV, envs [t].data, n, NULL, false);
        ih_tk_decode_fails (IH_TK_BODY, envs [t].data, envs [t].len, "k: missing", false);
        ih_env_free (&e);
    }
    //  Fields after "v" and "t" may come in any order
    {
        ih_env_t d;
        IH_CHECK (ih_tk_splice (&envs [IH_T_WELCOME], "\xa4head\xce\x07\x5b\xcd\x15", 10, "", 0, &buf));
        ih_buf_append (&buf, "\xa4head\xce\x07\x5b\xcd\x15", 10);
        IH_CHECK (ih_env_decode (&d, buf.data, buf.len, &err) == 0);
        IH_CHECK (d.head == 123456789 && strcmp (d.org, "acme") == 0);
        ih_env_free (&d);
    }
    //  owed may be missing (a broker older than it): it then reads as head
    for (int t = IH_T_WELCOME; t <= IH_T_PONG; t += IH_T_PONG - IH_T_WELCOME) {
        IH_CHECK (ih_tk_splice (&envs [t], "\xa4owed", 5, "\xa4oxed", 5, &buf));
        ih_env_t d;
        ih_tk_decode_fails (IH_TK_ENV, buf.data, buf.len, "unknown key 'oxed'", false);
        //  the same envelope without the key: one map entry fewer, key and value dropped
        ih_env_t e;
        ih_item_t unused [3];
        s_test_env (&e, (ih_type_t) t, item, unused);
        msgpack_packer pk;
        ih_buf_reset (&buf2);
        msgpack_packer_init (&pk, &buf2, ih_mpack_buf_write);
        msgpack_pack_map (&pk, t == IH_T_PONG ? 3 : 6);
        ih_mpack_pack_str (&pk, "v");
        msgpack_pack_uint64 (&pk, 1);
        ih_mpack_pack_str (&pk, "t");
        ih_mpack_pack_str (&pk, ih_type_name ((ih_type_t) t));
        ih_mpack_pack_str (&pk, "head");
        msgpack_pack_uint64 (&pk, e.head);
        if (t == IH_T_WELCOME) {
            ih_mpack_pack_str (&pk, "member");
            ih_mpack_pack_str (&pk, e.member);
            ih_mpack_pack_str (&pk, "org");
            ih_mpack_pack_str (&pk, e.org);
            ih_mpack_pack_str (&pk, "heartbeat");
            msgpack_pack_uint64 (&pk, e.heartbeat);
        }
        IH_CHECK (ih_env_decode (&d, buf2.data, buf2.len, &err) == 0);
        IH_CHECK (d.type == (ih_type_t) t && d.head == e.head && d.owed == e.head);
        ih_env_free (&d);
        ih_env_free (&e);
    }

    //  retry_after (error) is written only when it says something: an error without it
    //  has exactly the form older receivers know; with it, it round-trips
    {
        IH_CHECK (!memmem (envs [IH_T_ERROR].data, envs [IH_T_ERROR].len, "retry_after", 11));
        ih_env_t e, d;
        ih_env_init (&e, IH_T_ERROR);
        e.req = 9;
        e.code = "rate-limited";
        e.reason = "rate: over messages-per-s; retry after 250 ms";
        e.retry_after = 250;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == 0);
        IH_CHECK (memmem (buf.data, buf.len, "\xabretry_after\xcc\xfa", 13));
        IH_CHECK (ih_env_decode (&d, buf.data, buf.len, &err) == 0);
        IH_CHECK (d.retry_after == 250 && d.req == 9 && streq (d.code, "rate-limited"));
        ih_env_free (&d);
        IH_CHECK (ih_env_decode (&d, envs [IH_T_ERROR].data, envs [IH_T_ERROR].len, &err) == 0);
        IH_CHECK (d.retry_after == 0);
        ih_env_free (&d);
        e.retry_after = IH_RETRY_AFTER_MAX;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == 0);
        IH_CHECK (ih_env_decode (&d, buf.data, buf.len, &err) == 0 && d.retry_after == IH_RETRY_AFTER_MAX);
        ih_env_free (&d);
    }

    //  Encoding refuses incomplete envelopes
    {
        ih_env_t e;
        ih_env_init (&e, IH_T_PUBLISH);
        e.body = item->body;
        e.body_len = item->body_len;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strcmp (err.msg, "sig: missing") == 0);
        ih_env_init (&e, IH_T_HELLO);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "window: must be 1..10000"));
        ih_env_init (&e, IH_T_DELIVER);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "items: expected 1..256"));
        ih_env_init (&e, (ih_type_t) 99);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "unknown message type"));
        IH_CHECK (ih_type_name ((ih_type_t) 0) == NULL && ih_type_name ((ih_type_t) 15) == NULL);
        IH_CHECK (streq (ih_type_name (IH_T_ROSTER), "roster") && streq (ih_type_name (IH_T_MEMBERS), "members"));
        //  members: none is a valid answer; more than IH_MAX_MEMBERS is not
        ih_env_init (&e, IH_T_MEMBERS);
        IH_CHECK (ih_env_encode (&e, &buf, &err) == 0);
        ih_env_t d0;
        IH_CHECK (ih_env_decode (&d0, buf.data, buf.len, &err) == 0 && d0.record_count == 0);
        ih_env_free (&d0);
        ih_record_t rec1 = { item->rec, item->rec_len, item->rec_sig };
        e.records = &rec1;
        e.record_count = IH_MAX_MEMBERS + 1;
        IH_CHECK (ih_env_encode (&e, &buf, &err) == -1 && strstr (err.msg, "members: expected 0..4096 records"));
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
        IH_CHECK (ih_tk_splice (&envs [IH_T_DELIVER], "\xa5items\x93", 7, "\xa5items\xdc\x01\x01", 9,
                                &buf2));
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
        ih_tk_decode_fails (IH_TK_ENV, buf2.data, buf2.len, "items: expected 1..256 items, got 257",
                            verbose);
        free (many);
    }

    //  Data-driven rejections
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases [0]; i++)
        ih_tk_mutation_fails (&envs [s_cases [i].base], &s_cases [i], verbose);

    for (int t = 1; t <= s_TYPE_MAX; t++)
        ih_buf_free (&envs [t]);
    ih_tk_item_free (&signed_item);
    ih_msg_free (&alert);
    ih_tk_member_free (&who);
    ih_buf_free (&buf);
    ih_buf_free (&buf2);
    if (verbose)
        printf ("\n");
}
#endif
