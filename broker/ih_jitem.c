/*  ih_jitem.c: journal item records, entitlement and session filters. See ih_jitem.h. */
#include <string.h>

#include "ih_jitem.h"
#include "ih_sign.h"

#define S_HEADER (8 + 12 + 2 * IH_UUID_LEN + 2 * IH_SIG_LEN)

/* ---- encoding --------------------------------------------------------------------- */

static int
s_put_str (ih_buf_t *out, const char *s, const char *field, ih_err_t *err)
{
    if (!s)
        return ih_err_set (err, "%s: missing", field);
    size_t n = strlen (s);
    if (n > 255)
        return ih_err_set (err, "%s: too long (%zu > 255 bytes)", field, n);
    uint8_t len = (uint8_t) n;
    ih_buf_append (out, &len, 1);
    ih_buf_append (out, s, n + 1);      //  with its NUL
    return 0;
}

static int
s_put_list (ih_buf_t *out, const ih_strlist_t *l, const char *field, ih_err_t *err)
{
    for (uint32_t i = 0; i < l->count; i++) {
        char name [64];
        snprintf (name, sizeof name, "%s[%u]", field, i);
        if (s_put_str (out, l->items [i], name, err))
            return -1;
    }
    return 0;
}

int
ih_jitem_encode (const ih_jitem_t *it, ih_buf_t *out, ih_err_t *err)
{
    ih_buf_reset (out);
    if (it->ent_count < 1 || it->ent_count > IH_JITEM_MAX_ENT)
        return ih_err_set (err, "record: ent_count %u out of range", it->ent_count);
    if (it->sectors.count > IH_MAX_LIST)
        return ih_err_set (err, "record: too many sectors (%u)", it->sectors.count);
    if (!it->body || !it->sig || !it->rec || !it->rec_sig)
        return ih_err_set (err, "record: body, sig, rec and rec_sig are required");
    if (it->body_len > UINT32_MAX || it->rec_len > UINT32_MAX)
        return ih_err_set (err, "record: body too large");
    if (strlen (it->id) != IH_UUID_LEN)
        return ih_err_set (err, "record: id must be a UUID");
    size_t reflen = strlen (it->ref);
    if (reflen != 0 && reflen != IH_UUID_LEN)
        return ih_err_set (err, "record: ref must be a UUID or empty");

    ih_buf_reserve (out, S_HEADER + it->rec_len + it->body_len + 256);
    uint8_t *h = out->data;
    memset (h, 0, S_HEADER);
    h [0] = 'J';
    h [1] = 1;
    h [2] = (uint8_t) it->kind;
    h [3] = (uint8_t) it->category;
    h [4] = (uint8_t) it->severity;
    h [5] = (uint8_t) it->ent_count;
    h [6] = (uint8_t) it->sectors.count;
    ih_put_le32 (h + 8, it->rev);
    ih_put_le32 (h + 12, (uint32_t) it->body_len);
    ih_put_le32 (h + 16, (uint32_t) it->rec_len);
    memcpy (h + 20, it->id, IH_UUID_LEN);
    memcpy (h + 20 + IH_UUID_LEN, it->ref, reflen);
    memcpy (h + 20 + 2 * IH_UUID_LEN, it->sig, IH_SIG_LEN);
    memcpy (h + 20 + 2 * IH_UUID_LEN + IH_SIG_LEN, it->rec_sig, IH_SIG_LEN);
    out->len = S_HEADER;

    if (s_put_list (out, &it->sectors, "sectors", err))
        return -1;
    for (uint32_t e = 0; e < it->ent_count; e++) {
        const ih_ent_t *ent = &it->ent [e];
        if ((unsigned) ent->tlp >= IH_TLP_COUNT)
            return ih_err_set (err, "record: ent[%u].tlp out of range", e);
        if (ent->recipients.count > IH_MAX_LIST)
            return ih_err_set (err, "record: ent[%u]: too many recipients", e);
        uint8_t hdr [2] = { (uint8_t) ent->tlp, (uint8_t) ent->recipients.count };
        ih_buf_append (out, hdr, 2);
        if (s_put_str (out, ent->org, "record: ent.org", err)
        ||  s_put_list (out, &ent->recipients, "record: ent.recipients", err))
            return -1;
    }
    ih_buf_append (out, it->rec, it->rec_len);
    ih_buf_append (out, it->body, it->body_len);
    return 0;
}

/* ---- decoding --------------------------------------------------------------------- */
typedef struct {
    const uint8_t *p;
    size_t left;
} s_reader_t;

static const char *
s_get_str (s_reader_t *r)
{
    if (r->left < 2)
        return NULL;
    size_t n = r->p [0];
    if (r->left < n + 2 || r->p [1 + n] != 0 || memchr (r->p + 1, 0, n))
        return NULL;
    const char *s = (const char *) r->p + 1;
    r->p += n + 2;
    r->left -= n + 2;
    return s;
}

static int
s_get_list (s_reader_t *r, ih_strlist_t *l, uint32_t count, const char **ptrs)
{
    l->items = ptrs;
    l->count = count;
    for (uint32_t i = 0; i < count; i++)
        if (!(ptrs [i] = s_get_str (r)))
            return -1;
    return 0;
}

int
ih_jitem_decode (ih_jitem_t *it, const uint8_t *data, size_t len, ih_err_t *err)
{
    memset (it, 0, offsetof (ih_jitem_t, ptrs_));
    if (len < S_HEADER || data [0] != 'J' || data [1] != 1)
        return ih_err_set (err, "record: bad header (%zu bytes)", len);
    it->kind = (ih_kind_t) data [2];
    it->category = (ih_category_t) data [3];
    it->severity = (ih_severity_t) data [4];
    it->ent_count = data [5];
    uint32_t nsec = data [6];
    if ((unsigned) it->kind >= IH_KIND_COUNT || (unsigned) it->category >= IH_CAT_COUNT
    ||  (unsigned) it->severity >= IH_SEV_COUNT || it->ent_count < 1
    ||  it->ent_count > IH_JITEM_MAX_ENT || nsec > IH_MAX_LIST)
        return ih_err_set (err, "record: field out of range");
    it->rev = ih_get_le32 (data + 8);
    it->body_len = ih_get_le32 (data + 12);
    it->rec_len = ih_get_le32 (data + 16);
    memcpy (it->id, data + 20, IH_UUID_LEN);
    it->id [IH_UUID_LEN] = 0;
    memcpy (it->ref, data + 20 + IH_UUID_LEN, IH_UUID_LEN);
    it->ref [IH_UUID_LEN] = 0;
    if (strlen (it->id) != IH_UUID_LEN || (it->ref [0] && strlen (it->ref) != IH_UUID_LEN))
        return ih_err_set (err, "record: bad id or ref");
    it->sig = data + 20 + 2 * IH_UUID_LEN;
    it->rec_sig = it->sig + IH_SIG_LEN;

    s_reader_t r = { data + S_HEADER, len - S_HEADER };
    const char **ptrs = it->ptrs_;
    if (s_get_list (&r, &it->sectors, nsec, ptrs))
        return ih_err_set (err, "record: truncated in sectors");
    ptrs += nsec;
    for (uint32_t e = 0; e < it->ent_count; e++) {
        if (r.left < 2)
            return ih_err_set (err, "record: truncated in ent[%u]", e);
        ih_ent_t *ent = &it->ent [e];
        ent->tlp = (ih_tlp_t) r.p [0];
        uint32_t nrcpt = r.p [1];
        r.p += 2;
        r.left -= 2;
        if ((unsigned) ent->tlp >= IH_TLP_COUNT || nrcpt > IH_MAX_LIST)
            return ih_err_set (err, "record: ent[%u] out of range", e);
        if (!(ent->org = s_get_str (&r))
        ||  s_get_list (&r, &ent->recipients, nrcpt, ptrs))
            return ih_err_set (err, "record: truncated in ent[%u]", e);
        ptrs += nrcpt;
    }
    if (r.left != it->rec_len + it->body_len)
        return ih_err_set (err, "record: length mismatch (%zu != %zu + %zu)",
                           r.left, it->rec_len, it->body_len);
    it->rec = r.p;
    it->body = r.p + it->rec_len;
    return 0;
}

/* ---- entitlement and filters ------------------------------------------------------ */
bool
ih_jitem_entitled (const ih_jitem_t *it, const ih_member_t *who)
{
    if (it->ent_count < 1)
        return false;
    for (uint32_t e = 0; e < it->ent_count && e < IH_JITEM_MAX_ENT; e++)
        if (!ih_entitled (who, it->ent [e].tlp, it->ent [e].org, &it->ent [e].recipients))
            return false;
    return true;
}

void
ih_filter_clear (ih_filter_t *f)
{
    f->categories = 0;
    f->sector_count = 0;
    f->min_severity = IH_SEV_LOW;
}

int
ih_filter_set (ih_filter_t *f, const ih_strlist_t *categories, const ih_strlist_t *sectors,
               const char *min_severity, ih_err_t *err)
{
    ih_filter_clear (f);
    ih_filter_t n;
    ih_filter_clear (&n);
    if (categories) {
        if (categories->count > IH_MAX_LIST)
            return ih_err_set (err, "categories: too many (%u > %d)", categories->count, IH_MAX_LIST);
        for (uint32_t i = 0; i < categories->count; i++) {
            //  The wire's names exactly: ih_category_parse also takes "Phishing" from
            //  people, a hello never does (the envelope decoder refused it already).
            ih_category_t c;
            if (ih_category_parse (categories->items [i], &c)
            ||  !streq (categories->items [i], ih_category_name (c)))
                return ih_err_set (err, "categories[%u]: unknown category", i);
            n.categories |= 1u << c;
        }
    }
    if (sectors) {
        if (sectors->count > IH_MAX_LIST)
            return ih_err_set (err, "sectors: too many (%u > %d)", sectors->count, IH_MAX_LIST);
        for (uint32_t i = 0; i < sectors->count; i++) {
            const char *s = sectors->items [i];
            if (!ih_slug_valid (s, IH_MAX_SHORT))
                return ih_err_set (err, "sectors[%u]: not a slug", i);
            memcpy (n.sectors [n.sector_count++], s, strlen (s) + 1);
        }
    }
    if (min_severity && *min_severity
    &&  (ih_severity_parse (min_severity, &n.min_severity)
    ||   !streq (min_severity, ih_severity_name (n.min_severity))))
        return ih_err_set (err, "min_severity: unknown severity");
    *f = n;
    return 0;
}

bool
ih_filter_pass (const ih_filter_t *f, const ih_jitem_t *it)
{
    if (it->kind != IH_KIND_ALERT)
        return true;
    if (f->categories && !(f->categories & (1u << it->category)))
        return false;
    if (it->severity < f->min_severity)
        return false;
    if (f->sector_count) {
        for (uint32_t i = 0; i < it->sectors.count; i++)
            for (uint32_t j = 0; j < f->sector_count; j++)
                if (strcmp (it->sectors.items [i], f->sectors [j]) == 0)
                    return true;
        return false;
    }
    return true;
}

/* ---- self-test -------------------------------------------------------------------- */
#ifdef IH_SELFTEST
static ih_member_t
s_member (const char *name, const char *org, const char *sector, bool gateway)
{
    ih_member_t m;
    memset (&m, 0, sizeof m);
    snprintf (m.name, sizeof m.name, "%s", name);
    snprintf (m.org, sizeof m.org, "%s", org);
    snprintf (m.sector, sizeof m.sector, "%s", sector);
    m.role = IH_ROLE_READER;
    m.gateway = gateway;
    return m;
}

void
ih_jitem_test (bool verbose)
{
    uint8_t sig [64], rsig [64], rec [100], body [300];
    for (int i = 0; i < 64; i++) {
        sig [i] = (uint8_t) i;
        rsig [i] = (uint8_t) (255 - i);
    }
    memset (rec, 'r', sizeof rec);
    memset (body, 'b', sizeof body);

    //  An AMBER alert to the finance sector and org telco, encoded and decoded back
    const char *sectors [] = { "finance", "energy" };
    const char *rcpt [] = { "sector:finance", "telco" };
    ih_jitem_t it;
    memset (&it, 0, sizeof it);
    it.kind = IH_KIND_ALERT;
    memcpy (it.id, "1b2c3d4e-0000-4000-8000-000000000001", IH_UUID_LEN + 1);
    it.rev = 3;
    it.category = IH_CAT_RANSOMWARE;
    it.severity = IH_SEV_HIGH;
    it.sectors = (ih_strlist_t) { sectors, 2, 0 };
    it.ent [0] = (ih_ent_t) { IH_TLP_AMBER, "bank-a", { rcpt, 2, 0 } };
    it.ent_count = 1;
    it.body = body;
    it.body_len = sizeof body;
    it.sig = sig;
    it.rec = rec;
    it.rec_len = sizeof rec;
    it.rec_sig = rsig;

    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_err_t err;
    IH_CHECK (ih_jitem_encode (&it, &buf, &err) == 0);
    ih_jitem_t back;
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (back.kind == IH_KIND_ALERT && back.rev == 3);
    IH_CHECK (strcmp (back.id, it.id) == 0 && back.ref [0] == 0);
    IH_CHECK (back.category == IH_CAT_RANSOMWARE && back.severity == IH_SEV_HIGH);
    IH_CHECK (back.sectors.count == 2 && strcmp (back.sectors.items [1], "energy") == 0);
    IH_CHECK (back.ent_count == 1 && back.ent [0].tlp == IH_TLP_AMBER);
    IH_CHECK (strcmp (back.ent [0].org, "bank-a") == 0);
    IH_CHECK (back.ent [0].recipients.count == 2);
    IH_CHECK (strcmp (back.ent [0].recipients.items [0], "sector:finance") == 0);
    IH_CHECK (back.body_len == sizeof body && memcmp (back.body, body, sizeof body) == 0);
    IH_CHECK (back.rec_len == sizeof rec && memcmp (back.rec, rec, sizeof rec) == 0);
    IH_CHECK (memcmp (back.sig, sig, 64) == 0 && memcmp (back.rec_sig, rsig, 64) == 0);

    //  Every truncation and every corrupted header byte is rejected, never read past
    for (size_t n = 0; n < buf.len - it.body_len; n++)
        IH_CHECK (ih_jitem_decode (&back, buf.data, n, &err) == -1);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len - 1, &err) == -1);
    uint8_t *copy = malloc (buf.len);
    IH_CHECK (copy);
    for (size_t pos = 0; pos < 8; pos++) {
        memcpy (copy, buf.data, buf.len);
        copy [pos] = 0xee;
        if (pos != 7)
            IH_CHECK (ih_jitem_decode (&back, copy, buf.len, &err) == -1);
    }
    memcpy (copy, buf.data, buf.len);
    copy [S_HEADER] = 200;          //  first sector length beyond the record
    IH_CHECK (ih_jitem_decode (&back, copy, buf.len, &err) == -1);
    free (copy);

    //  Encoding refuses what it cannot represent
    ih_jitem_t bad = it;
    bad.ent_count = 0;
    IH_CHECK (ih_jitem_encode (&bad, &buf, &err) == -1);
    bad = it;
    bad.ent [0].tlp = (ih_tlp_t) 7;
    IH_CHECK (ih_jitem_encode (&bad, &buf, &err) == -1);
    bad = it;
    bad.body = NULL;
    IH_CHECK (ih_jitem_encode (&bad, &buf, &err) == -1);
    char longs [300];
    memset (longs, 'a', sizeof longs - 1);
    longs [sizeof longs - 1] = 0;
    bad = it;
    bad.ent [0].org = longs;
    IH_CHECK (ih_jitem_encode (&bad, &buf, &err) == -1);
    if (verbose)
        printf ("\n   encode error: %s\n", err.msg);

    //  Entitlement, one constraint (AMBER to sector:finance + telco, from bank-a)
    ih_member_t fin = s_member ("soc", "bank-b", "finance", false);
    ih_member_t tel = s_member ("noc", "telco", "telecom", false);
    ih_member_t own = s_member ("cert", "bank-a", "", false);
    ih_member_t oth = s_member ("x", "energy-co", "energy", false);
    ih_member_t gw = s_member ("gateway", "public", "", true);
    IH_CHECK (ih_jitem_encode (&it, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (ih_jitem_entitled (&back, &fin));
    IH_CHECK (ih_jitem_entitled (&back, &tel));
    IH_CHECK (ih_jitem_entitled (&back, &own));
    IH_CHECK (!ih_jitem_entitled (&back, &oth));
    IH_CHECK (!ih_jitem_entitled (&back, &gw));

    //  The TLP matrix through records: (tlp, recipients) x members
    struct { ih_tlp_t tlp; uint32_t nr; bool fin, tel, own, oth, gw; } mx [] = {
        { IH_TLP_CLEAR,        0, true,  true,  true,  true,  true  },
        { IH_TLP_GREEN,        0, true,  true,  true,  true,  false },
        { IH_TLP_AMBER,        0, true,  true,  true,  true,  false },
        { IH_TLP_AMBER,        2, true,  true,  true,  false, false },
        { IH_TLP_AMBER_STRICT, 2, false, true,  true,  false, false },
        { IH_TLP_RED,          2, false, true,  true,  false, false },
        { IH_TLP_RED,          0, false, false, true,  false, false },
    };
    for (size_t i = 0; i < sizeof mx / sizeof mx [0]; i++) {
        ih_jitem_t t = it;
        t.ent [0].tlp = mx [i].tlp;
        t.ent [0].recipients.count = mx [i].nr;
        if (mx [i].tlp != IH_TLP_AMBER && mx [i].nr) {
            t.ent [0].recipients.items = rcpt + 1;      //  org ids only: "telco"
            t.ent [0].recipients.count = 1;
        }
        IH_CHECK (ih_jitem_encode (&t, &buf, &err) == 0);
        IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
        IH_CHECK (ih_jitem_entitled (&back, &fin) == mx [i].fin);
        IH_CHECK (ih_jitem_entitled (&back, &tel) == mx [i].tel);
        IH_CHECK (ih_jitem_entitled (&back, &own) == mx [i].own);
        IH_CHECK (ih_jitem_entitled (&back, &oth) == mx [i].oth);
        IH_CHECK (ih_jitem_entitled (&back, &gw) == mx [i].gw);
    }

    //  A sighting: own tlp CLEAR, limited by the RED alert it names (bank-a + telco)
    const char *telco [] = { "telco" };
    ih_jitem_t s = it;
    s.kind = IH_KIND_SIGHTING;
    s.rev = 0;
    memcpy (s.ref, it.id, IH_UUID_LEN + 1);
    s.sectors.count = 0;
    s.ent [0] = (ih_ent_t) { IH_TLP_CLEAR, "energy-co", { NULL, 0, 0 } };
    s.ent [1] = (ih_ent_t) { IH_TLP_RED, "bank-a", { telco, 1, 0 } };
    s.ent_count = 2;
    IH_CHECK (ih_jitem_encode (&s, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (back.kind == IH_KIND_SIGHTING && strcmp (back.ref, it.id) == 0);
    IH_CHECK (back.ent_count == 2);
    IH_CHECK (ih_jitem_entitled (&back, &tel));
    IH_CHECK (ih_jitem_entitled (&back, &own));
    IH_CHECK (!ih_jitem_entitled (&back, &oth));     //  the sighter's org, but not the alert's
    IH_CHECK (!ih_jitem_entitled (&back, &fin));
    IH_CHECK (!ih_jitem_entitled (&back, &gw));
    //  ...and a GREEN sighting of no alert: every member, not the gateway
    s.ent [0].tlp = IH_TLP_GREEN;
    s.ent_count = 1;
    s.ref [0] = 0;
    IH_CHECK (ih_jitem_encode (&s, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (ih_jitem_entitled (&back, &oth) && ih_jitem_entitled (&back, &fin));
    IH_CHECK (!ih_jitem_entitled (&back, &gw));

    //  Filters
    ih_filter_t f;
    ih_filter_clear (&f);
    IH_CHECK (ih_jitem_encode (&it, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (ih_filter_pass (&f, &back));
    const char *cats [] = { "phishing", "ransomware" };
    const char *cat_bad [] = { "Ransomware" };
    const char *secs [] = { "energy" };
    const char *secs_other [] = { "telecom", "health" };
    const char *sec_bad [] = { "Not A Slug" };
    ih_strlist_t cl = { cats, 2, 0 }, cl1 = { cats, 1, 0 }, cbad = { cat_bad, 1, 0 };
    ih_strlist_t sl = { secs, 1, 0 }, so = { secs_other, 2, 0 }, sbad = { sec_bad, 1, 0 };
    IH_CHECK (ih_filter_set (&f, &cl, NULL, "", &err) == 0 && ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, &cl1, NULL, "", &err) == 0 && !ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, NULL, &sl, NULL, &err) == 0 && ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, NULL, &so, NULL, &err) == 0 && !ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, NULL, NULL, "high", &err) == 0 && ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, NULL, NULL, "critical", &err) == 0 && !ih_filter_pass (&f, &back));
    IH_CHECK (ih_filter_set (&f, &cl, &sl, "medium", &err) == 0 && ih_filter_pass (&f, &back));
    //  an alert with no sectors fails a sector filter
    ih_jitem_t nosec = it;
    nosec.sectors.count = 0;
    IH_CHECK (ih_jitem_encode (&nosec, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (!ih_filter_pass (&f, &back));
    //  narrowing never applies to other kinds
    IH_CHECK (ih_filter_set (&f, &cl1, &so, "critical", &err) == 0);
    IH_CHECK (ih_jitem_encode (&s, &buf, &err) == 0);
    IH_CHECK (ih_jitem_decode (&back, buf.data, buf.len, &err) == 0);
    IH_CHECK (ih_filter_pass (&f, &back));
    //  bad filters are refused and leave "no narrowing"
    IH_CHECK (ih_filter_set (&f, &cbad, NULL, "", &err) == -1);
    IH_CHECK (strstr (err.msg, "categories[0]"));
    IH_CHECK (f.categories == 0 && f.sector_count == 0 && f.min_severity == IH_SEV_LOW);
    IH_CHECK (ih_filter_set (&f, NULL, &sbad, "", &err) == -1);
    IH_CHECK (ih_filter_set (&f, NULL, NULL, "urgent", &err) == -1);
    IH_CHECK (ih_filter_set (&f, NULL, NULL, "High", &err) == -1);
    IH_CHECK (strstr (err.msg, "min_severity"));
    ih_buf_free (&buf);
}
#endif
