/*  ih_testkit.c: fixtures for the self-tests (see ih_testkit.h). */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "ih_testkit.h"

/* ---- temporary directories ---------------------------------------------------------------- */

char *
ih_tk_tempdir (const char *tag, char *out, size_t size)
{
    const char *tmp = getenv ("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf (out, size, "%s/ih-%s-XXXXXX", tmp, tag);
    IH_CHECK (n > 0 && (size_t) n < size);
    IH_CHECK (mkdtemp (out) != NULL);
    return out;
}

static int
s_rm_one (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    if (type == FTW_DP)
        return rmdir (path) == 0 ? 0 : -1;
    return unlink (path) == 0 ? 0 : -1;
}

void
ih_tk_rmtree (const char *path)
{
    struct stat st;
    if (lstat (path, &st) != 0)
        return;
    //  Depth first, without following links: a link in the tree is removed, never what
    //  it points to.
    IH_CHECK (nftw (path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

char *
ih_tk_path (char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf (out, size, "%s/%s", dir, name);
    IH_CHECK (n > 0 && (size_t) n < size);
    return out;
}

void
ih_tk_line (const char *line, void *arg)
{
    ih_tk_lines_t *t = (ih_tk_lines_t *) arg;
    if (t->n < 8)
        snprintf (t->lines [t->n], sizeof t->lines [0], "%s", line);
    t->n++;
}

/* ---- keys and members ------------------------------------------------------------------------- */

void
ih_tk_keypair (ih_tk_keypair_t *kp)
{
    ih_sign_keypair (kp->pk, kp->sk);
}

void
ih_tk_member (ih_tk_member_t *m, const ih_tk_keypair_t *registry, const char *name,
              const char *org, const char *sector, ih_role_t role)
{
    memset (m, 0, sizeof *m);
    snprintf (m->rec.name, sizeof m->rec.name, "%s", name);
    snprintf (m->rec.org, sizeof m->rec.org, "%s", org);
    snprintf (m->rec.sector, sizeof m->rec.sector, "%s", sector ? sector : "");
    m->rec.role = role;
    m->rec.created = 1767225600000;
    m->cert = zcert_new ();
    IH_CHECK (m->cert);
    memcpy (m->rec.curve, zcert_public_key (m->cert), 32);
    ih_sign_keypair (m->rec.sign, m->sk);
    ih_buf_init (&m->rec_bytes);
    ih_err_t err = { "" };
    IH_CHECK (ih_member_encode (&m->rec, &m->rec_bytes, &err) == 0);
    ih_sign (m->rec_sig, IH_CTX_MEMBER, m->rec_bytes.data, m->rec_bytes.len, registry->sk);
}

void
ih_tk_member_free (ih_tk_member_t *m)
{
    zcert_destroy (&m->cert);
    ih_buf_free (&m->rec_bytes);
}

/* ---- messages ------------------------------------------------------------------------------- */

static void
s_common (ih_msg_t *m, const ih_tk_member_t *who, ih_kind_t kind)
{
    static const uint8_t anon [32] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                       7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };
    ih_msg_init (m, kind);
    ih_uuid_new (m->id);
    m->created = m->modified = 1767225600000;
    m->org = ih_msg_str (m, who ? who->rec.org : "bank-a");
    m->member = ih_msg_str (m, who ? who->rec.name : "soc");
    memcpy (m->signer, who ? who->rec.sign : anon, 32);
}

void
ih_tk_alert (ih_msg_t *m, const ih_tk_member_t *who, ih_tlp_t tlp, const char *title)
{
    s_common (m, who, IH_KIND_ALERT);
    m->title = ih_msg_str (m, title);
    m->summary = ih_msg_str (m, "Block it.");
    m->tlp = tlp;
    m->severity = IH_SEV_HIGH;
    m->category = IH_CAT_MALWARE;
}

void
ih_tk_ref (ih_msg_t *m, const ih_tk_member_t *who, ih_kind_t kind, const char *ref)
{
    s_common (m, who, kind);
    m->revision = 0;
    snprintf (m->ref, sizeof m->ref, "%s", ref ? ref : "");
    if (kind == IH_KIND_SIGHTING) {
        m->tlp = IH_TLP_GREEN;
        m->count = 1;
    }
    else
        m->text = ih_msg_str (m, "because");
}

void
ih_tk_iocs (ih_msg_t *m, const char *const *iocs, bool detect)
{
    for (int i = 0; iocs && iocs [i]; i++) {
        const char *colon = strchr (iocs [i], ':');
        IH_CHECK (colon);
        char tname [16];
        snprintf (tname, sizeof tname, "%.*s", (int) (colon - iocs [i]), iocs [i]);
        ih_ioc_type_t t;
        IH_CHECK (ih_ioc_type_parse (tname, &t) == 0);
        ih_msg_ioc_add (m, t, colon + 1, "", detect);
    }
}

void
ih_tk_item (ih_tk_item_t *t, const ih_msg_t *m, const ih_tk_member_t *who, uint64_t seq)
{
    memset (t, 0, sizeof *t);
    ih_buf_init (&t->body);
    ih_err_t err = { "" };
    if (ih_body_encode (m, &t->body, &err) != 0) {
        fprintf (stderr, "ih_tk_item: %s\n", err.msg);
        IH_CHECK (false);
    }
    ih_sign (t->sig, IH_CTX_MSG, t->body.data, t->body.len, who->sk);
    t->item.seq = seq;
    t->item.body = t->body.data;
    t->item.body_len = t->body.len;
    t->item.sig = t->sig;
    t->item.rec = who->rec_bytes.data;
    t->item.rec_len = who->rec_bytes.len;
    t->item.rec_sig = who->rec_sig;
}

void
ih_tk_item_free (ih_tk_item_t *t)
{
    ih_buf_free (&t->body);
}

/* ---- a fake broker ------------------------------------------------------------------------------- */

struct ih_tk_broker {
    zcert_t *cert;
    zsock_t *router;
    char endpoint [64];
    zframe_t *rid;                  /* the last peer */
    zframe_t *frame;                /* the last envelope received (e borrows from it) */
};

ih_tk_broker_t *
ih_tk_broker_new (void)
{
    ih_tk_broker_t *self = (ih_tk_broker_t *) calloc (1, sizeof *self);
    IH_CHECK (self);
    self->cert = zcert_new ();
    self->router = zsock_new (ZMQ_ROUTER);
    IH_CHECK (self->cert && self->router);
    zcert_apply (self->cert, self->router);
    zsock_set_curve_server (self->router, 1);
    zsock_set_linger (self->router, 0);
    int port = zsock_bind (self->router, "tcp://127.0.0.1:*");
    IH_CHECK (port > 0);
    snprintf (self->endpoint, sizeof self->endpoint, "tcp://127.0.0.1:%d", port);
    return self;
}

void
ih_tk_broker_destroy (ih_tk_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_tk_broker_t *self = *self_p;
    zframe_destroy (&self->rid);
    zframe_destroy (&self->frame);
    zsock_destroy (&self->router);
    zcert_destroy (&self->cert);
    free (self);
    *self_p = NULL;
}

const char *
ih_tk_broker_endpoint (ih_tk_broker_t *self)
{
    return self->endpoint;
}

const char *
ih_tk_broker_key (ih_tk_broker_t *self)
{
    return zcert_public_txt (self->cert);
}

bool
ih_tk_broker_expect (ih_tk_broker_t *self, ih_type_t t, ih_env_t *e, int timeout,
                     ih_tk_pump_fn *pump, void *arg)
{
    int64_t deadline = zclock_mono () + timeout;
    ih_env_init (e, t);
    while (zclock_mono () < deadline) {
        if (pump)
            pump (arg);
        zmq_pollitem_t item = { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, pump ? 10 : (long) (deadline - zclock_mono ())) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv (self->router);
        IH_CHECK (msg && zmsg_size (msg) == 2);
        zframe_destroy (&self->rid);
        zframe_destroy (&self->frame);
        self->rid = zmsg_pop (msg);
        self->frame = zmsg_pop (msg);
        zmsg_destroy (&msg);
        ih_env_free (e);
        ih_err_t err = { "" };
        if (ih_env_decode (e, zframe_data (self->frame), zframe_size (self->frame), &err) != 0) {
            fprintf (stderr, "fake broker: %s\n", err.msg);
            IH_CHECK (false);
        }
        if (e->type == t)
            return true;
    }
    return false;
}

zframe_t *
ih_tk_broker_peer (ih_tk_broker_t *self)
{
    return self->rid;
}

void
ih_tk_broker_send (ih_tk_broker_t *self, const ih_env_t *e)
{
    IH_CHECK (self->rid);
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err = { "" };
    if (ih_env_encode (e, &buf, &err) != 0) {
        fprintf (stderr, "fake broker: %s\n", err.msg);
        IH_CHECK (false);
    }
    zmsg_t *msg = zmsg_new ();
    zframe_t *rid = zframe_dup (self->rid);
    zmsg_append (msg, &rid);
    zmsg_addmem (msg, buf.data, buf.len);
    IH_CHECK (zmsg_send (&msg, self->router) == 0);
    ih_buf_free (&buf);
}

void
ih_tk_broker_welcome (ih_tk_broker_t *self, uint64_t head)
{
    ih_env_t w;
    ih_env_init (&w, IH_T_WELCOME);
    w.head = head;
    w.heartbeat = 1000;
    w.member = "soc";
    w.org = "bank-a";
    ih_tk_broker_send (self, &w);
    ih_env_free (&w);
}

void
ih_tk_broker_deliver (ih_tk_broker_t *self, const ih_item_t *items, size_t count)
{
    ih_env_t d;
    ih_env_init (&d, IH_T_DELIVER);
    d.items = (ih_item_t *) items;
    d.item_count = (uint32_t) count;
    ih_tk_broker_send (self, &d);
    d.items = NULL;
    d.item_count = 0;
    ih_env_free (&d);
}

/* ---- wire frames --------------------------------------------------------------------------- */

bool
ih_tk_splice (const ih_buf_t *frame, const char *from, size_t from_len, const char *to,
              size_t to_len, ih_buf_t *out)
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

void
ih_tk_decode_fails (ih_tk_frame_t what, const uint8_t *data, size_t len, const char *expect,
                    bool verbose)
{
    ih_err_t err = { "" };
    int rc;
    if (what == IH_TK_BODY) {
        ih_msg_t m;
        rc = ih_body_decode (&m, data, len, &err);
        ih_msg_free (&m);
    }
    else
    if (what == IH_TK_ENV) {
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
        case IH_TK_V_NIL:   o.type = MSGPACK_OBJECT_NIL; break;
        case IH_TK_V_TRUE:  o.type = MSGPACK_OBJECT_BOOLEAN; o.via.boolean = true; break;
        case IH_TK_V_ZERO:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 0; break;
        case IH_TK_V_INT5:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 5; break;
        case IH_TK_V_TWO:   o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 2; break;
        case IH_TK_V_NEG:   o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER; o.via.i64 = -1; break;
        case IH_TK_V_BIG:   o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = 1ULL << 40; break;
        case IH_TK_V_HUGE:  o.type = MSGPACK_OBJECT_POSITIVE_INTEGER; o.via.u64 = UINT64_MAX; break;
        case IH_TK_V_FLOAT: o.type = MSGPACK_OBJECT_FLOAT64; o.via.f64 = 1.5; break;
        case IH_TK_V_STR:   o.via.str.ptr = "x"; o.via.str.size = 1; break;
        case IH_TK_V_STR300: o.via.str.ptr = long300; o.via.str.size = 300; break;
        case IH_TK_V_STRNUL: o.via.str.ptr = "a\0b"; o.via.str.size = 3; break;
        case IH_TK_V_BADUTF8: o.via.str.ptr = "caf\xc3"; o.via.str.size = 4; break;
        case IH_TK_V_AMBER_LC: o.via.str.ptr = "amber"; o.via.str.size = 5; break;
        case IH_TK_V_EVIL:  o.via.str.ptr = "EVIL.example"; o.via.str.size = 12; break;
        case IH_TK_V_BADUUID: o.via.str.ptr = "not-a-uuid"; o.via.str.size = 10; break;
        case IH_TK_V_ZAP:   o.via.str.ptr = "zap"; o.via.str.size = 3; break;
        case IH_TK_V_ALERT: o.via.str.ptr = "alert"; o.via.str.size = 5; break;
        case IH_TK_V_UPPER: o.via.str.ptr = "Alice"; o.via.str.size = 5; break;
        case IH_TK_V_BIN12: o.type = MSGPACK_OBJECT_BIN; o.via.bin.ptr = long300; o.via.bin.size = 12; break;
        case IH_TK_V_BIN32: o.type = MSGPACK_OBJECT_BIN; o.via.bin.ptr = long300; o.via.bin.size = 32; break;
        case IH_TK_V_MAP:   o.type = MSGPACK_OBJECT_MAP; break;
        case IH_TK_V_ARR3:
            for (int i = 0; i < 3; i++)
                arr3 [i] = s_val (IH_TK_V_STR);
            o.type = MSGPACK_OBJECT_ARRAY;
            o.via.array.ptr = arr3;
            o.via.array.size = 3;
            break;
        case IH_TK_V_EMPTYARR: o.type = MSGPACK_OBJECT_ARRAY; break;
        case IH_TK_V_CTRL:  o.via.str.ptr = "x)\nI broker: \x1b[2J"; o.via.str.size = 17; break;
        case IH_TK_V_HIGH:  o.via.str.ptr = "caf\xc3\xa9"; o.via.str.size = 5; break;
    }
    return o;
}

//  Re-packs the map `root` with one mutation applied.
static void
s_mutate (const msgpack_object *root, const ih_tk_mutation_t *c, ih_buf_t *out)
{
    msgpack_object_kv kvs [40];
    msgpack_object arr [40], sub [8];
    msgpack_object top = *root;
    IH_CHECK (root->type == MSGPACK_OBJECT_MAP && root->via.map.size < 40);
    uint32_t n = root->via.map.size;
    memcpy (kvs, root->via.map.ptr, n * sizeof *kvs);
    int at = -1;
    for (uint32_t j = 0; j < n && at < 0; j++)
        if (c->key && kvs [j].key.type == MSGPACK_OBJECT_STR
        &&  kvs [j].key.via.str.size == strlen (c->key)
        &&  memcmp (kvs [j].key.via.str.ptr, c->key, kvs [j].key.via.str.size) == 0)
            at = (int) j;
    switch (c->op) {
        case IH_TK_DROP:
            IH_CHECK (at >= 0);
            memmove (kvs + at, kvs + at + 1, (n - (uint32_t) at - 1) * sizeof *kvs);
            n--;
            break;
        case IH_TK_ADD:
            memset (&kvs [n], 0, sizeof kvs [n]);
            kvs [n].key.type = MSGPACK_OBJECT_STR;
            kvs [n].key.via.str.ptr = c->key;
            kvs [n].key.via.str.size = (uint32_t) strlen (c->key);
            kvs [n].val = s_val (c->val);
            n++;
            break;
        case IH_TK_SWAP: {
            IH_CHECK (at >= 0 && (uint32_t) at + 1 < n);
            msgpack_object_kv tmp = kvs [at];
            kvs [at] = kvs [at + 1];
            kvs [at + 1] = tmp;
            break;
        }
        case IH_TK_SET:
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
        case IH_TK_ROOT:
            top = s_val (c->val);
            break;
    }
    if (c->op != IH_TK_ROOT) {
        top.via.map.ptr = kvs;
        top.via.map.size = n;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    IH_CHECK (msgpack_pack_object (&pk, top) == 0);
    ih_buf_reset (out);
    ih_buf_append (out, sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
}

void
ih_tk_mutation_fails (const ih_buf_t *frame, const ih_tk_mutation_t *c, bool verbose)
{
    //  The frame is valid: pre-scanned and unpacked as the decoders do
    IH_CHECK (ih_msgpack_prescan (frame->data, frame->len, NULL) == 0);
    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    IH_CHECK (msgpack_unpack_next (&up, (const char *) frame->data, frame->len, &off)
              == MSGPACK_UNPACK_SUCCESS && off == frame->len);
    ih_buf_t buf;
    ih_buf_init (&buf);
    s_mutate (&up.data, c, &buf);
    msgpack_unpacked_destroy (&up);
    ih_tk_decode_fails (c->what, buf.data, buf.len, c->expect, verbose);
    ih_buf_free (&buf);
}

/* ---- self-test ---------------------------------------------------------------------------------- */

void
ih_testkit_test (bool verbose)
{
    char dir [256], path [300];
    ih_tk_tempdir ("kit", dir, sizeof dir);
    ih_tk_path (path, sizeof path, dir, "sub");
    IH_CHECK (mkdir (path, 0700) == 0);
    ih_tk_path (path, sizeof path, dir, "sub/file");
    FILE *f = fopen (path, "w");
    IH_CHECK (f && fputs ("x", f) >= 0 && fclose (f) == 0);
    //  A link to a directory outside: removed, the target kept.
    char outside [256];
    ih_tk_tempdir ("kit-outside", outside, sizeof outside);
    ih_tk_path (path, sizeof path, dir, "link");
    IH_CHECK (symlink (outside, path) == 0);
    ih_tk_rmtree (dir);
    struct stat st;
    IH_CHECK (lstat (dir, &st) != 0 && lstat (outside, &st) == 0);
    ih_tk_rmtree (outside);
    ih_tk_rmtree (outside);             //  missing is fine

    //  A member's item verifies against the registry key, as an agent checks it.
    ih_tk_keypair_t reg;
    ih_tk_keypair (&reg);
    ih_tk_member_t m;
    ih_tk_member (&m, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_msg_t a;
    ih_tk_alert (&a, &m, IH_TLP_AMBER, "Test alert");
    const char *iocs [] = { "ipv4:45.77.1.2", "domain:evil.example", NULL };
    ih_tk_iocs (&a, iocs, true);
    ih_err_t err = { "" };
    IH_CHECK (ih_msg_validate (&a, &err) == 0);
    ih_tk_item_t t;
    ih_tk_item (&t, &a, &m, 5);
    IH_CHECK (ih_verify (t.item.sig, IH_CTX_MSG, t.item.body, t.item.body_len, m.rec.sign, NULL) == 0);
    IH_CHECK (ih_verify (m.rec_sig, IH_CTX_MEMBER, m.rec_bytes.data, m.rec_bytes.len, reg.pk, NULL) == 0);
    ih_msg_t c;
    ih_tk_ref (&c, &m, IH_KIND_SIGHTING, a.id);
    const char *one [] = { "ipv4:45.77.1.2", NULL };
    ih_tk_iocs (&c, one, false);
    IH_CHECK (ih_msg_validate (&c, &err) == 0);
    ih_msg_free (&c);
    ih_tk_item_free (&t);
    ih_msg_free (&a);
    ih_tk_member_free (&m);
    ih_tk_member_free (&m);
    (void) verbose;
}
