/*  ih_rules.c: detection-format text (ih_rules.h): suricata, zeek, rpz, nft, plain. */
#include <czmq.h>
#include <inttypes.h>

#include "ih_ioc.h"
#include "ih_rules.h"

#define s_MSG_TITLE     96          /* bytes of a title in a suricata msg, zeek desc, rpz comment */
#define s_NFT_PER_LINE  500

static const char *s_tlp_lower [IH_TLP_COUNT] = { "clear", "green", "amber", "amber+strict", "red" };

struct ih_rules {
    ih_rules_kind_t kind;
    uint32_t sid_base;
    char *generator;
    uint8_t *sids;              /* suricata: slots handed out */
};

ih_rules_t *
ih_rules_new (ih_rules_kind_t kind, uint32_t sid_base, const char *generator, ih_err_t *err)
{
    if (!sid_base)
        sid_base = IH_RULES_SID_BASE;
    if (sid_base > UINT32_MAX - IH_RULES_SID_SLOTS) {
        ih_err_set (err, "suricata: sid base %u too large (max %u)", sid_base, UINT32_MAX - IH_RULES_SID_SLOTS);
        return NULL;
    }
    ih_rules_t *self = (ih_rules_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->kind = kind;
    self->sid_base = sid_base;
    self->generator = strdup (generator ? generator : "");
    if (!self->generator)
        abort ();
    return self;
}

void
ih_rules_destroy (ih_rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_rules_t *self = *self_p;
    free (self->generator);
    free (self->sids);
    free (self);
    *self_p = NULL;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void
s_puts (ih_buf_t *b, const char *s)
{
    ih_buf_append (b, s, strlen (s));
}

static void
s_putf (ih_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_putf (ih_buf_t *b, const char *fmt, ...)
{
    char line [IH_MAX_IOC_VALUE + 512];
    va_list args;
    va_start (args, fmt);
    int n = vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    if (n > 0)
        ih_buf_append (b, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
}

/*  At most max bytes of s, cut at a UTF-8 boundary with "..." when cut; control
    characters and those in `drop` become spaces, those in `esc` get a backslash. */
static void
s_cut (const char *s, size_t max, const char *drop, const char *esc, char *out, size_t outsz)
{
    size_t n = strlen (s), o = 0;
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n && ((unsigned char) s [n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n && o + 6 < outsz; i++) {
        char c = s [i];
        if ((unsigned char) c < 0x20 || (drop && strchr (drop, c)))
            c = ' ';
        if (esc && strchr (esc, c))
            out [o++] = '\\';
        out [o++] = c;
    }
    if (cut && o + 4 < outsz) {
        memcpy (out + o, "...", 3);
        o += 3;
    }
    out [o] = 0;
}

static uint64_t
s_fnv1a (const char *s, uint64_t h)
{
    for (; *s; s++) {
        h ^= (uint8_t) *s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- suricata --------------------------------------------------------------------------- */

/*  Takes slot (or the next free one after it). Returns the slot, or UINT32_MAX when all
    are taken. */
static uint32_t
s_take_slot (ih_rules_t *self, uint32_t slot)
{
    if (!self->sids) {
        self->sids = (uint8_t *) calloc (IH_RULES_SID_SLOTS / 8, 1);
        if (!self->sids)
            abort ();
    }
    for (uint32_t tries = 0; tries < IH_RULES_SID_SLOTS; tries++) {
        if (!(self->sids [slot >> 3] & (1u << (slot & 7)))) {
            self->sids [slot >> 3] |= (uint8_t) (1u << (slot & 7));
            return slot;
        }
        slot = (slot + 1) % IH_RULES_SID_SLOTS;
    }
    return UINT32_MAX;
}

static uint32_t
s_sid (ih_rules_t *self, const char *alert_id, const ih_ioc_t *ioc, const char *variant, ih_err_t *err)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = s_fnv1a (alert_id, h);
    h = s_fnv1a ("|", h);
    h = s_fnv1a (ih_ioc_type_name (ioc->type), h);
    h = s_fnv1a ("|", h);
    h = s_fnv1a (ioc->value, h);
    h = s_fnv1a ("|", h);
    h = s_fnv1a (variant, h);
    uint32_t slot = s_take_slot (self, (uint32_t) (h % IH_RULES_SID_SLOTS));
    if (slot == UINT32_MAX) {
        ih_err_set (err, "suricata: all %u sids in use", IH_RULES_SID_SLOTS);
        return 0;
    }
    return self->sid_base + slot;
}

/*  A content string: printable ASCII as is; bytes outside it and " ; \ | as |XX|. */
static void
s_content (ih_buf_t *b, const char *s, size_t n)
{
    static const char hex [] = "0123456789ABCDEF";
    ih_buf_append (b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s [i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == '|') {
            char h [4] = { '|', hex [c >> 4], hex [c & 15], '|' };
            ih_buf_append (b, h, 4);
        }
        else
            ih_buf_append (b, s + i, 1);
    }
    ih_buf_append (b, "\"", 1);
}

/*  "alert PROTO ... (msg:"…"; " */
static void
s_rule_head (ih_buf_t *b, const char *head, const ih_msg_t *m, const ih_ioc_t *ioc)
{
    char title [s_MSG_TITLE * 2 + 8], value [s_MSG_TITLE * 2 + 8];
    s_cut (m->title, s_MSG_TITLE, NULL, "\";\\", title, sizeof title);
    s_cut (ioc->value, s_MSG_TITLE, NULL, "\";\\", value, sizeof value);
    s_putf (b, "%s (msg:\"Infohub TLP:%s %s: %s (%s)\"; ", head, ih_tlp_name (m->tlp),
            ih_category_name (m->category), title, value);
}

static void
s_rule_tail (ih_buf_t *b, const ih_msg_t *m, uint32_t sid)
{
    s_putf (b, "metadata:infohub_alert %s, infohub_tlp %s; priority:%d; sid:%u; rev:%u;)\n", m->id,
            s_tlp_lower [m->tlp], 4 - (int) m->severity, sid, m->revision);
}

/*  The rules of one IOC: 1 written, 0 no form, -1 sids exhausted. */
static int
s_suricata (ih_rules_t *self, const ih_msg_t *m, const ih_ioc_t *ioc, ih_buf_t *b, ih_err_t *err)
{
    uint32_t sid;
    switch (ioc->type) {
        case IH_IOC_IPV4:
        case IH_IOC_IPV6:
        case IH_IOC_CIDR: {
            //  `<>`: the address as source or as destination, in one rule (an address
            //  that calls in is as interesting as one that is called).
            if (!(sid = s_sid (self, m->id, ioc, "ip", err)))
                return -1;
            char head [IH_MAX_IOC_VALUE + 64];
            snprintf (head, sizeof head, "alert ip [%s] any <> any any", ioc->value);
            s_rule_head (b, head, m, ioc);
            s_rule_tail (b, m, sid);
            return 1;
        }
        case IH_IOC_DOMAIN: {
            //  dotprefix + endswith: the domain and every name below it.
            char dotted [IH_MAX_IOC_VALUE + 2];
            int n = snprintf (dotted, sizeof dotted, ".%s", ioc->value);
            static const char *heads [] = { "alert dns any any -> any any", "alert tls any any -> any any" };
            static const char *bufs [] = { "dns.query", "tls.sni" };
            static const char *variants [] = { "dns", "tls" };
            for (int k = 0; k < 2; k++) {
                if (!(sid = s_sid (self, m->id, ioc, variants [k], err)))
                    return -1;
                s_rule_head (b, heads [k], m, ioc);
                s_puts (b, bufs [k]);
                s_puts (b, "; dotprefix; content:");
                s_content (b, dotted, (size_t) n);
                s_puts (b, "; nocase; endswith; ");
                s_rule_tail (b, m, sid);
            }
            return 1;
        }
        case IH_IOC_URL: {
            //  http.host exactly (bsize), then http.uri.raw starting with the path.
            //  Suricata lower-cases the http.host buffer and refuses nocase on it: the
            //  content is written lower case instead (a normal form's host already is).
            const char *p = strstr (ioc->value, "://");
            p = p ? p + 3 : ioc->value;
            size_t alen = strcspn (p, "/?#");
            const char *path = p + alen;
            const char *at = memchr (p, '@', alen);
            const char *host = at ? at + 1 : p;
            size_t hlen = (size_t) (p + alen - host);
            if (hlen && host [0] == '[') {
                const char *close = memchr (host, ']', hlen);
                hlen = close ? (size_t) (close - host) + 1 : hlen;
            }
            else {
                const char *colon = memchr (host, ':', hlen);
                if (colon)
                    hlen = (size_t) (colon - host);
            }
            if (hlen == 0)
                return 0;
            if (!(sid = s_sid (self, m->id, ioc, "http", err)))
                return -1;
            char lower [IH_MAX_IOC_VALUE + 1];
            for (size_t i = 0; i < hlen; i++)       //  ASCII only, whatever the locale
                lower [i] = host [i] >= 'A' && host [i] <= 'Z' ? (char) (host [i] + 32) : host [i];
            s_rule_head (b, "alert http any any -> any any", m, ioc);
            s_puts (b, "http.host; content:");
            s_content (b, lower, hlen);
            s_putf (b, "; bsize:%zu; ", hlen);
            if (*path && !(path [0] == '/' && path [1] == 0)) {
                s_puts (b, "http.uri.raw; content:");
                if (path [0] == '/')
                    s_content (b, path, strlen (path));
                else {
                    //  "http://host?q" or "#f": the raw URI starts with "/?q"
                    char slash [IH_MAX_IOC_VALUE + 2];
                    int n = snprintf (slash, sizeof slash, "/%s", path);
                    s_content (b, slash, (size_t) n);
                }
                s_puts (b, "; startswith; ");
            }
            s_rule_tail (b, m, sid);
            return 1;
        }
        default:
            return 0;
    }
}

/* ---- zeek, rpz, nft, plain -------------------------------------------------------------- */

static int
s_zeek (const ih_msg_t *m, const ih_ioc_t *ioc, const char *desc, ih_buf_t *b)
{
    const char *type = NULL, *value = ioc->value;
    switch (ioc->type) {
        case IH_IOC_IPV4:
        case IH_IOC_IPV6:     type = "Intel::ADDR"; break;
        case IH_IOC_CIDR:     type = "Intel::SUBNET"; break;
        case IH_IOC_DOMAIN:   type = "Intel::DOMAIN"; break;
        case IH_IOC_URL: {
            type = "Intel::URL";            //  Zeek matches URLs without the scheme
            const char *p = strstr (value, "://");
            value = p ? p + 3 : value;
            break;
        }
        case IH_IOC_EMAIL:    type = "Intel::EMAIL"; break;
        case IH_IOC_MD5:
        case IH_IOC_SHA1:
        case IH_IOC_SHA256:   type = "Intel::FILE_HASH"; break;
        case IH_IOC_FILENAME: type = "Intel::FILE_NAME"; break;
        default:
            return 0;
    }
    s_puts (b, value);
    s_putf (b, "\t%s\tinfohub/%s\t", type, m->org);
    s_puts (b, desc);
    s_puts (b, "\t");
    s_puts (b, m->references.count ? m->references.items [0] : "-");
    s_puts (b, "\n");
    return 1;
}

/*  The rpz-ip owner name of an address or network (RPZ, as BIND reads it): the prefix
    length, then the address reversed, "32.7.113.0.203.rpz-ip" for 203.0.113.7; IPv6 words
    in hex, last first, with "zz" for the longest run of two or more zero words (the last
    such run in this reversed order when two are as long), "128.1.zz.db8.2001.rpz-ip" for
    2001:db8::1. That is the canonical form BIND 9 writes back (its ip2name): a
    name in another form loads with a complaint. An IPv4-mapped IPv6 network of /96 or
    longer is written in the IPv4 form, as BIND does. Returns the length written into out
    (outsz bytes; 64 always hold one), or 0 when value is not an address with a prefix of
    1 or more, or out is too small. */
static size_t
s_rpz_ip_name (const char *value, char *out, size_t outsz)
{
    int family, prefix;
    uint8_t a [16];
    if (ih_ioc_ip_parse (value, &family, a, &prefix) != 0 || prefix < 1)
        return 0;
    static const uint8_t mapped [12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (family == 6 && prefix >= 96 && memcmp (a, mapped, 12) == 0) {
        memmove (a, a + 12, 4);
        family = 4;
        prefix -= 96;
        if (prefix < 1)
            return 0;
    }
    int n;
    if (family == 4)
        n = snprintf (out, outsz, "%d.%u.%u.%u.%u.rpz-ip", prefix, a [3], a [2], a [1], a [0]);
    else {
        unsigned w [8];                     //  reversed: w [0] is the last word
        for (int i = 0; i < 8; i++)
            w [i] = (unsigned) a [14 - 2 * i] << 8 | a [15 - 2 * i];
        int best_first = -1, best_len = 0, cur_first = -1, cur_len = 0;
        for (int i = 0; i < 8; i++) {
            if (w [i]) {
                cur_first = -1;
                cur_len = 0;
                continue;
            }
            cur_len++;
            if (cur_first < 0)
                cur_first = i;
            else
            if (cur_len >= best_len) {
                best_first = cur_first;
                best_len = cur_len;
            }
        }
        n = snprintf (out, outsz, "%d", prefix);
        for (int i = 0; i < 8 && n > 0 && (size_t) n < outsz; i++) {
            if (i == best_first) {
                n += snprintf (out + n, outsz - (size_t) n, ".zz");
                i += best_len - 1;
            }
            else
                n += snprintf (out + n, outsz - (size_t) n, ".%x", w [i]);
        }
        if (n > 0 && (size_t) n < outsz)
            n += snprintf (out + n, outsz - (size_t) n, ".rpz-ip");
    }
    return n > 0 && (size_t) n < outsz ? (size_t) n : 0;
}

/*  The records of one IOC in a response policy zone: 1 written, 0 no form. A domain
    blocks the name and every name below it ("D CNAME ." and "*.D CNAME ."), with room for
    "*." and an origin of up to 30 bytes within DNS's 255; an address or network blocks
    answers that hold it (rpz-ip). */
static int
s_rpz (const ih_ioc_t *ioc, ih_buf_t *b)
{
    if (ioc->type == IH_IOC_DOMAIN) {
        if (strlen (ioc->value) > 220)
            return 0;
        s_puts (b, ioc->value);
        s_puts (b, "\tCNAME\t.\n*.");
        s_puts (b, ioc->value);
        s_puts (b, "\tCNAME\t.\n");
        return 1;
    }
    if (ioc->type == IH_IOC_IPV4 || ioc->type == IH_IOC_IPV6 || ioc->type == IH_IOC_CIDR) {
        char name [96];
        if (!s_rpz_ip_name (ioc->value, name, sizeof name))
            return 0;
        s_puts (b, name);
        s_puts (b, "\tCNAME\t.\n");
        return 1;
    }
    return 0;
}

void
ih_rules_header (ih_rules_t *self, ih_buf_t *out)
{
    const char *by = self->generator [0] ? ", written by " : "";
    switch (self->kind) {
        case IH_RULES_SURICATA:
            s_putf (out, "# Infohub Suricata rules%s%s.\n"
                    "# sid = %u + (FNV-1a 64 of \"alert-id|type|value|variant\" mod 2^26), the next free\n"
                    "# one on a collision: sids %u..%u. rev = the alert's revision.\n",
                    by, self->generator, self->sid_base, self->sid_base,
                    self->sid_base + IH_RULES_SID_SLOTS - 1);
            break;
        case IH_RULES_ZEEK:
            s_puts (out, "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n");
            break;
        case IH_RULES_RPZ: {
            //  The serial: the time in seconds (it grows with every export).
            int64_t serial = (ih_now_ms () / 1000) % 4294967296LL;
            s_putf (out, "; Infohub response policy zone%s%s. Names are relative to the zone's origin.\n"
                    "$TTL 300\n"
                    "@\tIN\tSOA\tlocalhost. hostmaster.localhost. %" PRId64 " 3600 600 86400 300\n"
                    "@\tIN\tNS\tlocalhost.\n", by, self->generator, serial);
            break;
        }
        case IH_RULES_NFT:
            s_putf (out, "# Infohub blocklist sets for nftables%s%s. Load with: nft -f FILE\n"
                    "# Refer to them from your own rules: ip daddr @blocklist_v4 drop\n"
                    "table inet infohub {\n"
                    "\tset blocklist_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t}\n"
                    "\tset blocklist_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\tauto-merge\n\t}\n"
                    "}\n"
                    "flush set inet infohub blocklist_v4\n"
                    "flush set inet infohub blocklist_v6\n", by, self->generator);
            break;
        case IH_RULES_PLAIN:
            break;
    }
}

int
ih_rules_alert (ih_rules_t *self, const ih_msg_t *m, const ih_ioc_t *iocs, uint32_t n, ih_buf_t *out,
                uint64_t *written, uint64_t *no_form, ih_err_t *err)
{
    if (self->kind == IH_RULES_NFT) {
        //  One `add element` line per family, at most s_NFT_PER_LINE elements each.
        for (int fam = 4; fam <= 6; fam += 2) {
            uint32_t in_line = 0;
            for (uint32_t i = 0; i < n; i++) {
                const ih_ioc_t *ioc = &iocs [i];
                bool ip = ioc->type == IH_IOC_IPV4 || ioc->type == IH_IOC_IPV6 || ioc->type == IH_IOC_CIDR;
                if (!ip) {
                    if (fam == 4)
                        (*no_form)++;
                    continue;
                }
                if ((fam == 6) != (strchr (ioc->value, ':') != NULL))
                    continue;
                if (in_line == 0)
                    s_putf (out, "add element inet infohub blocklist_v%d { ", fam);
                else
                    s_puts (out, ", ");
                s_puts (out, ioc->value);
                (*written)++;
                if (++in_line == s_NFT_PER_LINE) {
                    s_puts (out, " }\n");
                    in_line = 0;
                }
            }
            if (in_line)
                s_puts (out, " }\n");
        }
        return 0;
    }
    char title [s_MSG_TITLE * 2 + 8], desc [s_MSG_TITLE * 2 + 128];
    bool commented = false;
    if (self->kind == IH_RULES_ZEEK) {
        s_cut (m->title, s_MSG_TITLE, "\t", NULL, title, sizeof title);
        snprintf (desc, sizeof desc, "%s [TLP:%s %s, alert %s]", title, ih_tlp_name (m->tlp),
                  ih_category_name (m->category), m->id);
    }
    for (uint32_t i = 0; i < n; i++) {
        const ih_ioc_t *ioc = &iocs [i];
        int rc = 0;
        switch (self->kind) {
            case IH_RULES_SURICATA:
                rc = s_suricata (self, m, ioc, out, err);
                break;
            case IH_RULES_ZEEK:
                rc = s_zeek (m, ioc, desc, out);
                break;
            case IH_RULES_RPZ: {
                //  The alert's comment line goes before its first record.
                size_t mark = out->len;
                if (!commented) {
                    s_cut (m->title, s_MSG_TITLE, NULL, NULL, title, sizeof title);
                    s_putf (out, "; alert %s TLP:%s %s: %s\n", m->id, ih_tlp_name (m->tlp),
                            ih_category_name (m->category), title);
                }
                rc = s_rpz (ioc, out);
                if (rc)
                    commented = true;
                else
                    out->len = mark;
                break;
            }
            default:
                s_puts (out, ioc->value);
                s_puts (out, "\n");
                rc = 1;
        }
        if (rc < 0)
            return -1;
        if (rc)
            (*written)++;
        else
            (*no_form)++;
    }
    return 0;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_rules_test (bool verbose)
{
    ih_err_t err = { "" };
    IH_CHECK (ih_rules_new (IH_RULES_SURICATA, UINT32_MAX - 5, NULL, &err) == NULL);
    IH_CHECK (strstr (err.msg, "too large"));
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    snprintf (m.id, sizeof m.id, "6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10");
    m.title = "Say \"hi\"; then\tgo \\ away";
    m.org = "bank-a";
    m.revision = 3;
    m.tlp = IH_TLP_AMBER_STRICT;
    m.severity = IH_SEV_CRITICAL;
    m.category = IH_CAT_MALWARE;
    ih_msg_ioc_add (&m, IH_IOC_IPV4, "45.33.32.156", "", true);
    ih_msg_ioc_add (&m, IH_IOC_DOMAIN, "evil-login.xyz", "", true);
    ih_msg_ioc_add (&m, IH_IOC_URL, "https://u@[2a03:2880::1]:8443?x=\"1\";|", "", true);
    ih_msg_ioc_add (&m, IH_IOC_URL, "http://evil-login.xyz/", "", true);
    ih_msg_ioc_add (&m, IH_IOC_MD5, "0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e", "", true);
    ih_msg_ioc_add (&m, IH_IOC_CVE, "CVE-2024-3400", "", true);
    ih_msg_ioc_add (&m, IH_IOC_CIDR, "2a03:2880::/32", "", true);

    ih_buf_t b;
    ih_buf_init (&b);
    uint64_t w = 0, nf = 0;
    ih_rules_t *r = ih_rules_new (IH_RULES_SURICATA, 0, "test", &err);
    IH_CHECK (r);
    ih_rules_header (r, &b);
    IH_CHECK (ih_rules_alert (r, &m, m.iocs, m.ioc_count, &b, &w, &nf, &err) == 0);
    ih_buf_append (&b, "", 1);
    const char *t = (const char *) b.data;
    if (verbose)
        printf ("%s", t);
    IH_CHECK (w == 5 && nf == 2);
    IH_CHECK (strstr (t, "msg:\"Infohub TLP:AMBER+STRICT malware: Say \\\"hi\\\"\\; then go \\\\ away (45.33.32.156)\"; "));
    IH_CHECK (strstr (t, "priority:1; ") && strstr (t, "rev:3;)\n"));
    //  http.host takes no nocase (Suricata refuses the rule): a lower-case content.
    IH_CHECK (!strstr (t, "nocase; bsize") && !strstr (t, "http.host; content:\"EVIL"));
    IH_CHECK (strstr (t, "http.host; content:\"[2a03:2880::1]\"; bsize:14; http.uri.raw; "
                         "content:\"/?x=|22|1|22||3B||7C|\"; startswith;"));
    IH_CHECK (strstr (t, "http.host; content:\"evil-login.xyz\"; bsize:14; metadata:"));
    //  Addresses either way.
    IH_CHECK (strstr (t, "\nalert ip [2a03:2880::/32] any <> any any (msg:"));
    IH_CHECK (strstr (t, "\nalert ip [45.33.32.156] any <> any any (msg:"));
    IH_CHECK (strstr (t, "dns.query; dotprefix; content:\".evil-login.xyz\"; nocase; endswith;"));
    //  Collisions: a taken slot moves to the next free one; the last wraps to the first.
    uint32_t s1 = s_take_slot (r, 77), s2 = s_take_slot (r, 77), s3 = s_take_slot (r, 76);
    IH_CHECK (s1 == 77 && s2 == 78 && s3 == 76);
    IH_CHECK (s_take_slot (r, IH_RULES_SID_SLOTS - 1) == IH_RULES_SID_SLOTS - 1);
    uint32_t wrap = s_take_slot (r, IH_RULES_SID_SLOTS - 1);
    IH_CHECK (wrap < 76);
    ih_rules_destroy (&r);
    ih_rules_destroy (&r);

    //  zeek: tabs in titles become spaces; url without the scheme.
    ih_buf_reset (&b);
    w = nf = 0;
    r = ih_rules_new (IH_RULES_ZEEK, 0, NULL, &err);
    ih_rules_header (r, &b);
    IH_CHECK (ih_rules_alert (r, &m, m.iocs, m.ioc_count, &b, &w, &nf, &err) == 0);
    ih_buf_append (&b, "", 1);
    t = (const char *) b.data;
    IH_CHECK (w == 6 && nf == 1);
    IH_CHECK (strstr (t, "\nu@[2a03:2880::1]:8443?x=\"1\";|\tIntel::URL\tinfohub/bank-a\tSay \"hi\"; then go \\ away "));
    ih_rules_destroy (&r);

    //  rpz: domains, and addresses as rpz-ip triggers; nft: addresses by family.
    ih_buf_reset (&b);
    w = nf = 0;
    r = ih_rules_new (IH_RULES_RPZ, 0, NULL, &err);
    IH_CHECK (ih_rules_alert (r, &m, m.iocs, m.ioc_count, &b, &w, &nf, &err) == 0);
    ih_buf_append (&b, "", 1);
    t = (const char *) b.data;
    if (verbose)
        printf ("%s", t);
    IH_CHECK (w == 3 && nf == 4);
    const char *head = "; alert 6f1c2a52-6b0e-4c4e-9a55-2d3c1c0f7a10 TLP:AMBER+STRICT malware: ";
    IH_CHECK (strncmp (t, head, strlen (head)) == 0);
    IH_CHECK (strstr (t, "\n32.156.32.33.45.rpz-ip\tCNAME\t.\n"));
    IH_CHECK (strstr (t, "\nevil-login.xyz\tCNAME\t.\n*.evil-login.xyz\tCNAME\t.\n"));
    IH_CHECK (strstr (t, "\n32.zz.2880.2a03.rpz-ip\tCNAME\t.\n"));
    size_t lines = 0;
    for (const char *p = t; *p; p++)
        lines += *p == '\n';
    IH_CHECK (lines == 5);
    ih_rules_destroy (&r);
    //  An alert with nothing rpz can say writes nothing, not even its comment.
    ih_buf_reset (&b);
    w = nf = 0;
    r = ih_rules_new (IH_RULES_RPZ, 0, NULL, &err);
    IH_CHECK (ih_rules_alert (r, &m, m.iocs + 4, 2, &b, &w, &nf, &err) == 0);
    IH_CHECK (b.len == 0 && w == 0 && nf == 2);
    ih_rules_destroy (&r);
    //  rpz-ip names, in BIND 9's canonical form.
    static const struct { const char *value, *name; } rpz [] = {
        { "203.0.113.7", "32.7.113.0.203.rpz-ip" },
        { "198.51.100.0/24", "24.0.100.51.198.rpz-ip" },
        { "10.0.0.0/8", "8.0.0.0.10.rpz-ip" },
        { "2001:db8::1", "128.1.zz.db8.2001.rpz-ip" },
        { "2001:db8::1:0:0:1", "128.1.0.0.1.zz.db8.2001.rpz-ip" },     //  equal runs: the first in address order
        { "2001:db8:0:1:1:1:1:1", "128.1.1.1.1.1.0.db8.2001.rpz-ip" },  //  one zero word is no run
        { "2001:db8:1:2:3:4:5:6", "128.6.5.4.3.2.1.db8.2001.rpz-ip" },
        { "::1", "128.1.zz.rpz-ip" },
        { "2a03:2880::/32", "32.zz.2880.2a03.rpz-ip" },
        { "::ffff:45.33.32.156", "32.156.32.33.45.rpz-ip" },
        { "0.0.0.0/0", NULL }, { "::/0", NULL }, { "evil.example", NULL }, { "10.1.2.3/8", NULL },
    };
    for (size_t i = 0; i < sizeof rpz / sizeof rpz [0]; i++) {
        char name [96];
        size_t n = s_rpz_ip_name (rpz [i].value, name, sizeof name);
        if (verbose || (rpz [i].name ? !n || !streq (name, rpz [i].name) : n != 0))
            printf ("    rpz-ip %s -> %s\n", rpz [i].value, n ? name : "(none)");
        IH_CHECK (rpz [i].name ? n == strlen (rpz [i].name) && streq (name, rpz [i].name) : n == 0);
    }
    char small [8];
    IH_CHECK (s_rpz_ip_name ("2001:db8::1", small, sizeof small) == 0);
    ih_buf_reset (&b);
    w = nf = 0;
    r = ih_rules_new (IH_RULES_NFT, 0, NULL, &err);
    IH_CHECK (ih_rules_alert (r, &m, m.iocs, m.ioc_count, &b, &w, &nf, &err) == 0);
    ih_buf_append (&b, "", 1);
    IH_CHECK (streq ((char *) b.data, "add element inet infohub blocklist_v4 { 45.33.32.156 }\n"
                                      "add element inet infohub blocklist_v6 { 2a03:2880::/32 }\n"));
    IH_CHECK (w == 2 && nf == 5);
    ih_rules_destroy (&r);
    ih_buf_free (&b);
    ih_msg_free (&m);
}
#endif
