/*  ih-wire: the C side of tests/interop (C and Python agree on the wire format).

    usage: ih-wire encode-sample NAME      writes a sample frame to stdout (raw bytes);
                                           NAME: alert retraction comment sighting member,
                                           or an envelope type (hello … stats, roster,
                                           members)
           ih-wire decode-body FILE        prints the decoded body as key=value lines
           ih-wire decode-member FILE      prints a decoded member record
           ih-wire decode-env FILE         prints a decoded envelope
           ih-wire sign HEXSK CTX FILE     prints the hex signature of ctx||0||FILE;
                                           HEXSK: 64-byte secret key or 32-byte seed
           ih-wire verify HEXPK CTX HEXSIG FILE   exits 0 when valid
    FILE "-" is stdin. Decoding errors go to stderr as one line, exit status 1.
    Values are printed escaped: '\\', '\n', '\t' and bytes outside 0x20..0x7e as \xNN;
    bin values as lower-case hex.
*/
#include <string.h>
#include <sodium.h>

#include "ih_codec.h"
#include "ih_sign.h"

#define s_ID   "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define s_ID2  "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
#define s_SHA  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define s_T0   1764350736123LL

static int
s_usage (void)
{
    fprintf (stderr, "usage: ih-wire encode-sample NAME | decode-body FILE | decode-member FILE |"
                     " decode-env FILE | sign HEXSK CTX FILE | verify HEXPK CTX HEXSIG FILE\n");
    return 2;
}

static int
s_read (const char *path, ih_buf_t *buf)
{
    FILE *f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "ih-wire: cannot open %s\n", path);
        return -1;
    }
    uint8_t chunk [65536];
    size_t n;
    while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
        ih_buf_append (buf, chunk, n);
    int rc = ferror (f) ? -1 : 0;
    if (f != stdin)
        fclose (f);
    if (rc)
        fprintf (stderr, "ih-wire: cannot read %s\n", path);
    return rc;
}

/* ---- printing --------------------------------------------------------------------- */

static void
s_put_escaped (const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '\\')
            fputs ("\\\\", stdout);
        else if (*p == '\n')
            fputs ("\\n", stdout);
        else if (*p == '\t')
            fputs ("\\t", stdout);
        else if (*p < 0x20 || *p > 0x7e)
            printf ("\\x%02x", *p);
        else
            putchar (*p);
    }
}

static void
s_str (const char *key, const char *value)
{
    printf ("%s=", key);
    s_put_escaped (value ? value : "");
    putchar ('\n');
}

static void
s_hex (const char *key, const uint8_t *p, size_t n)
{
    printf ("%s=", key);
    for (size_t i = 0; i < n; i++)
        printf ("%02x", p [i]);
    putchar ('\n');
}

static void
s_list (const char *key, const ih_strlist_t *l)
{
    printf ("%s#=%u\n", key, l->count);
    for (uint32_t i = 0; i < l->count; i++) {
        char k [64];
        snprintf (k, sizeof k, "%s[%u]", key, i);
        s_str (k, l->items [i]);
    }
}

static void
s_print_msg (const ih_msg_t *m)
{
    s_str ("k", ih_kind_name (m->kind));
    s_str ("id", m->id);
    printf ("rev=%u\ncreated=%lld\nmodified=%lld\n", m->revision, (long long) m->created,
            (long long) m->modified);
    s_str ("org", m->org);
    s_str ("member", m->member);
    s_hex ("signer", m->signer, sizeof m->signer);
    if (m->author && *m->author)
        s_str ("author", m->author);
    if (m->kind == IH_KIND_ALERT) {
        s_str ("title", m->title);
        s_str ("summary", m->summary);
        s_str ("severity", ih_severity_name (m->severity));
        s_str ("category", ih_category_name (m->category));
        s_list ("sectors", &m->sectors);
        s_list ("recipients", &m->recipients);
        s_list ("references", &m->references);
        s_list ("tags", &m->tags);
    }
    if (m->kind == IH_KIND_ALERT || m->kind == IH_KIND_SIGHTING)
        s_str ("tlp", ih_tlp_name (m->tlp));
    if (m->kind != IH_KIND_ALERT)
        s_str ("ref", m->ref);
    if (m->kind == IH_KIND_RETRACTION || m->kind == IH_KIND_COMMENT)
        s_str ("text", m->text);
    if (m->kind == IH_KIND_SIGHTING)
        printf ("count=%u\n", m->count);
    if (m->kind != IH_KIND_COMMENT) {
        printf ("iocs#=%u\n", m->ioc_count);
        for (uint32_t i = 0; i < m->ioc_count; i++) {
            char k [64];
            snprintf (k, sizeof k, "iocs[%u].type", i);
            s_str (k, ih_ioc_type_name (m->iocs [i].type));
            snprintf (k, sizeof k, "iocs[%u].value", i);
            s_str (k, m->iocs [i].value);
            snprintf (k, sizeof k, "iocs[%u].comment", i);
            s_str (k, m->iocs [i].comment);
            printf ("iocs[%u].detect=%s\n", i, m->iocs [i].detect ? "true" : "false");
        }
    }
}

static void
s_print_member (const ih_member_t *r)
{
    s_str ("k", "member");
    s_str ("name", r->name);
    s_str ("org", r->org);
    s_str ("sector", r->sector);
    s_str ("role", ih_role_name (r->role));
    s_hex ("curve", r->curve, sizeof r->curve);
    s_hex ("sign", r->sign, sizeof r->sign);
    printf ("created=%lld\ngateway=%s\n", (long long) r->created, r->gateway ? "true" : "false");
}

static void
s_print_env (const ih_env_t *e)
{
    printf ("v=%d\n", IH_PROTO_VERSION);
    s_str ("t", ih_type_name (e->type));
    switch (e->type) {
        case IH_T_HELLO:
            printf ("cursor=%llu\n", (unsigned long long) e->cursor);
            s_list ("categories", &e->categories);
            s_list ("sectors", &e->sectors);
            s_str ("min_severity", e->min_severity);
            printf ("window=%u\n", e->window);
            s_str ("agent", e->agent);
            break;
        case IH_T_WELCOME:
            printf ("head=%llu\n", (unsigned long long) e->head);
            printf ("owed=%llu\n", (unsigned long long) e->owed);
            s_str ("member", e->member);
            s_str ("org", e->org);
            printf ("heartbeat=%u\n", e->heartbeat);
            break;
        case IH_T_PUBLISH:
            printf ("req=%llu\n", (unsigned long long) e->req);
            s_hex ("body", e->body, e->body_len);
            s_hex ("sig", e->sig, IH_SIG_LEN);
            break;
        case IH_T_OK:
            printf ("req=%llu\nseq=%llu\n", (unsigned long long) e->req, (unsigned long long) e->seq);
            s_str ("id", e->id);
            break;
        case IH_T_ERROR:
            printf ("req=%llu\n", (unsigned long long) e->req);
            s_str ("code", e->code);
            s_str ("reason", e->reason);
            if (e->retry_after)             //  optional, with rate-limited (PROTOCOL.md 4.3)
                printf ("retry_after=%llu\n", (unsigned long long) e->retry_after);
            break;
        case IH_T_DELIVER:
            printf ("items#=%u\n", e->item_count);
            for (uint32_t i = 0; i < e->item_count; i++) {
                char k [64];
                printf ("items[%u].seq=%llu\n", i, (unsigned long long) e->items [i].seq);
                snprintf (k, sizeof k, "items[%u].body", i);
                s_hex (k, e->items [i].body, e->items [i].body_len);
                snprintf (k, sizeof k, "items[%u].sig", i);
                s_hex (k, e->items [i].sig, IH_SIG_LEN);
                snprintf (k, sizeof k, "items[%u].rec", i);
                s_hex (k, e->items [i].rec, e->items [i].rec_len);
                snprintf (k, sizeof k, "items[%u].rec_sig", i);
                s_hex (k, e->items [i].rec_sig, IH_SIG_LEN);
            }
            break;
        case IH_T_ACK:
            printf ("seq=%llu\n", (unsigned long long) e->seq);
            break;
        case IH_T_PONG:
            printf ("head=%llu\n", (unsigned long long) e->head);
            printf ("owed=%llu\n", (unsigned long long) e->owed);
            break;
        case IH_T_STATS:
            s_str ("json", e->json);
            break;
        case IH_T_MEMBERS:
            printf ("members#=%u\n", e->record_count);
            for (uint32_t i = 0; i < e->record_count; i++) {
                char k [64];
                snprintf (k, sizeof k, "members[%u].rec", i);
                s_hex (k, e->records [i].rec, e->records [i].rec_len);
                snprintf (k, sizeof k, "members[%u].rec_sig", i);
                s_hex (k, e->records [i].rec_sig, IH_SIG_LEN);
            }
            break;
        case IH_T_PING: case IH_T_BYE: case IH_T_STATUS: case IH_T_ROSTER:
            break;
    }
}

/* ---- samples (tests/interop/test_interop.py has the same values) ------------------ */
/*  The alert and the comment name an author; the retraction and the sighting do not, so
    both forms of a body are compared with Python's. */

static void
s_sample_msg (ih_msg_t *m, ih_kind_t kind)
{
    ih_msg_init (m, kind);
    snprintf (m->id, sizeof m->id, "%s", kind == IH_KIND_ALERT ? s_ID : s_ID2);
    m->revision = kind == IH_KIND_ALERT ? 2 : 0;
    m->created = s_T0;
    m->modified = s_T0 + 60000;
    m->org = "acme";
    m->member = "alice";
    memset (m->signer, 0x5a, sizeof m->signer);
    switch (kind) {
        case IH_KIND_ALERT:
            m->author = "Ana M\xc3\xbcller";
            m->title = "LockBit affiliate targeting payment processors \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9";
            m->summary = "# Summary\n\nSeen **twice**.\tTabbed.";
            m->tlp = IH_TLP_AMBER;
            m->severity = IH_SEV_HIGH;
            m->category = IH_CAT_DATA_LEAK;
            ih_msg_strlist_add (m, &m->sectors, "finance");
            ih_msg_strlist_add (m, &m->sectors, "energy");
            ih_msg_strlist_add (m, &m->recipients, "sector:finance");
            ih_msg_strlist_add (m, &m->recipients, "globex");
            ih_msg_strlist_add (m, &m->references, "https://example.org/advisory/1");
            ih_msg_strlist_add (m, &m->tags, "lockbit");
            ih_msg_strlist_add (m, &m->tags, "a tag of exactly forty bytes, str8 form!");
            ih_msg_ioc_add (m, IH_IOC_IPV4, "198.51.100.7", "C2 server", true);
            ih_msg_ioc_add (m, IH_IOC_IPV6, "2001:db8::1", "", true);
            ih_msg_ioc_add (m, IH_IOC_CIDR, "198.51.100.0/24", "", false);
            ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", true);
            ih_msg_ioc_add (m, IH_IOC_URL, "https://evil.example/x?a=1", "", true);
            ih_msg_ioc_add (m, IH_IOC_EMAIL, "ceo@evil.example", "", false);
            ih_msg_ioc_add (m, IH_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427e", "", true);
            ih_msg_ioc_add (m, IH_IOC_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "", true);
            ih_msg_ioc_add (m, IH_IOC_SHA256, s_SHA, "dropper", false);
            ih_msg_ioc_add (m, IH_IOC_FILENAME, "invoice.exe", "", true);
            ih_msg_ioc_add (m, IH_IOC_CVE, "CVE-2024-3400", "", false);
            ih_msg_ioc_add (m, IH_IOC_ASN, "AS64496", "", false);
            break;
        case IH_KIND_RETRACTION:
            snprintf (m->ref, sizeof m->ref, "%s", s_ID);
            m->text = "false positive";
            ih_msg_ioc_add (m, IH_IOC_IPV4, "198.51.100.7", "", false);
            break;
        case IH_KIND_COMMENT:
            snprintf (m->ref, sizeof m->ref, "%s", s_ID);
            m->text = "Seen at two more members.";
            m->author = "Bo (SOC, night shift)";
            break;
        case IH_KIND_SIGHTING:
            snprintf (m->ref, sizeof m->ref, "%s", s_ID);
            m->tlp = IH_TLP_GREEN;
            ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", false);
            m->count = 3;
            break;
    }
}

static void
s_sample_member (ih_member_t *r)
{
    memset (r, 0, sizeof *r);
    snprintf (r->name, sizeof r->name, "alice");
    snprintf (r->org, sizeof r->org, "acme");
    snprintf (r->sector, sizeof r->sector, "finance");
    r->role = IH_ROLE_PUBLISHER;
    memset (r->curve, 0xc5, sizeof r->curve);
    memset (r->sign, 0x5a, sizeof r->sign);
    r->created = s_T0;
}

static int
s_encode_sample (const char *name, ih_buf_t *out)
{
    ih_err_t err;
    ih_kind_t kind;
    if (ih_kind_parse (name, &kind) == 0) {
        ih_msg_t m;
        s_sample_msg (&m, kind);
        int rc = ih_body_encode (&m, out, &err);
        ih_msg_free (&m);
        if (rc)
            fprintf (stderr, "ih-wire: %s\n", err.msg);
        return rc;
    }
    if (strcmp (name, "member") == 0) {
        ih_member_t r;
        s_sample_member (&r);
        if (ih_member_encode (&r, out, &err)) {
            fprintf (stderr, "ih-wire: %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    int type = 0;
    for (int t = 1; ih_type_name ((ih_type_t) t); t++)
        if (strcmp (ih_type_name ((ih_type_t) t), name) == 0)
            type = t;
    if (!type) {
        fprintf (stderr, "ih-wire: unknown sample '%s'\n", name);
        return -1;
    }
    //  Envelopes carry the alert body and member record samples
    ih_buf_t body, rec;
    ih_buf_init (&body);
    ih_buf_init (&rec);
    s_encode_sample ("alert", &body);
    s_encode_sample ("member", &rec);
    uint8_t sig [IH_SIG_LEN], rec_sig [IH_SIG_LEN];
    memset (sig, 0x11, sizeof sig);
    memset (rec_sig, 0x22, sizeof rec_sig);
    static const char *cats [] = { "ransomware", "data-leak" };
    static const char *secs [] = { "finance" };
    ih_item_t items [2];
    ih_record_t recs [2];
    ih_env_t e;
    ih_env_init (&e, (ih_type_t) type);
    switch (e.type) {
        case IH_T_HELLO:
            e.cursor = 41;
            e.categories.items = cats;
            e.categories.count = 2;
            e.sectors.items = secs;
            e.sectors.count = 1;
            e.min_severity = "medium";
            e.window = 1000;
            e.agent = "infohub-agent/0.1";
            break;
        case IH_T_WELCOME:
            e.head = 123456789;
            e.owed = 123456700;
            e.member = "alice";
            e.org = "acme";
            e.heartbeat = 5000;
            break;
        case IH_T_PUBLISH:
            e.req = 7;
            e.body = body.data;
            e.body_len = body.len;
            e.sig = sig;
            break;
        case IH_T_OK:
            e.req = 7;
            e.seq = 300;
            e.id = s_ID;
            break;
        case IH_T_ERROR:
            e.req = 7;
            e.code = "bad-message";
            e.reason = "title: too long (300 > 256 bytes)";
            break;
        case IH_T_DELIVER:
            for (int i = 0; i < 2; i++) {
                items [i].seq = i ? 4294967296ULL : 5;
                items [i].body = body.data;
                items [i].body_len = body.len;
                items [i].sig = sig;
                items [i].rec = rec.data;
                items [i].rec_len = rec.len;
                items [i].rec_sig = rec_sig;
            }
            e.items = items;
            e.item_count = 2;
            break;
        case IH_T_ACK:
            e.seq = 70000;
            break;
        case IH_T_PONG:
            e.head = 5;
            e.owed = 4;
            break;
        case IH_T_STATS:
            e.json = "{\"connections\":2,\"head\":5}";
            break;
        case IH_T_MEMBERS:
            for (int i = 0; i < 2; i++)
                recs [i] = (ih_record_t) { rec.data, rec.len, rec_sig };
            e.records = recs;
            e.record_count = 2;
            break;
        case IH_T_PING: case IH_T_BYE: case IH_T_STATUS: case IH_T_ROSTER:
            break;
    }
    int rc = ih_env_encode (&e, out, &err);
    if (rc)
        fprintf (stderr, "ih-wire: %s\n", err.msg);
    ih_env_free (&e);
    ih_buf_free (&body);
    ih_buf_free (&rec);
    return rc;
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
    if (argc < 2 || strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0)
        return argc < 2 ? s_usage () : (s_usage (), 0);
    ih_sign_init ();
    const char *cmd = argv [1];
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err;
    int rc = 1;

    if (strcmp (cmd, "encode-sample") == 0 && argc == 3) {
        if (s_encode_sample (argv [2], &buf) == 0) {
            rc = fwrite (buf.data, 1, buf.len, stdout) == buf.len ? 0 : 1;
        }
    }
    else
    if ((strcmp (cmd, "decode-body") == 0 || strcmp (cmd, "decode-member") == 0
    ||   strcmp (cmd, "decode-env") == 0) && argc == 3) {
        if (s_read (argv [2], &buf) == 0) {
            if (strcmp (cmd, "decode-body") == 0) {
                ih_msg_t m;
                if (ih_body_decode (&m, buf.data, buf.len, &err) == 0) {
                    s_print_msg (&m);
                    rc = 0;
                }
                ih_msg_free (&m);
            }
            else
            if (strcmp (cmd, "decode-member") == 0) {
                ih_member_t r;
                if (ih_member_decode (&r, buf.data, buf.len, &err) == 0) {
                    s_print_member (&r);
                    rc = 0;
                }
            }
            else {
                ih_env_t e;
                if (ih_env_decode (&e, buf.data, buf.len, &err) == 0) {
                    s_print_env (&e);
                    rc = 0;
                }
                ih_env_free (&e);
            }
            if (rc)
                fprintf (stderr, "%s\n", err.msg);
        }
    }
    else
    if (strcmp (cmd, "sign") == 0 && argc == 5) {
        uint8_t sk [IH_SK_LEN], pk [IH_PK_LEN], sig [IH_SIG_LEN];
        size_t hexlen = strlen (argv [2]);
        if (hexlen == 2 * IH_SK_LEN && ih_hex_decode (argv [2], sk, IH_SK_LEN) == 0)
            rc = 0;
        else
        if (hexlen == 64 && ih_hex_decode (argv [2], pk, 32) == 0) {
            uint8_t seed [32];
            memcpy (seed, pk, 32);
            crypto_sign_seed_keypair (pk, sk, seed);
            sodium_memzero (seed, sizeof seed);
            rc = 0;
        }
        else
            fprintf (stderr, "ih-wire: HEXSK must be 128 (secret key) or 64 (seed) hex digits\n");
        if (rc == 0 && s_read (argv [4], &buf) == 0) {
            ih_sign (sig, argv [3], buf.data, buf.len, sk);
            char hex [2 * IH_SIG_LEN + 1];
            ih_hex_encode (sig, IH_SIG_LEN, hex);
            printf ("%s\n", hex);
        }
        else
            rc = 1;
        sodium_memzero (sk, sizeof sk);
    }
    else
    if (strcmp (cmd, "verify") == 0 && argc == 6) {
        uint8_t pk [IH_PK_LEN], sig [IH_SIG_LEN];
        if (strlen (argv [2]) != 2 * IH_PK_LEN || ih_hex_decode (argv [2], pk, IH_PK_LEN))
            fprintf (stderr, "ih-wire: HEXPK must be 64 hex digits\n");
        else
        if (strlen (argv [4]) != 2 * IH_SIG_LEN || ih_hex_decode (argv [4], sig, IH_SIG_LEN))
            fprintf (stderr, "ih-wire: HEXSIG must be 128 hex digits\n");
        else
        if (s_read (argv [5], &buf) == 0) {
            if (ih_verify (sig, argv [3], buf.data, buf.len, pk, &err) == 0) {
                printf ("ok\n");
                rc = 0;
            }
            else
                fprintf (stderr, "%s\n", err.msg);
        }
    }
    else
        rc = s_usage ();
    ih_buf_free (&buf);
    return rc;
}
