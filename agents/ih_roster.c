/*  ih_roster.c: the hub's members in the agent's store (see ih_roster.h). */
#include <stdlib.h>
#include <string.h>

#include "ih_roster.h"
#include "ih_sign.h"

#define s_MAGIC     "IHR1"
#define s_HEAD      (4 + 8 + 4)

/* ---- the stored form ------------------------------------------------------------------- */

void
ih_roster_encode (const ih_record_t *records, size_t n, int64_t updated, ih_buf_t *out)
{
    ih_buf_reset (out);
    uint8_t head [s_HEAD];
    memcpy (head, s_MAGIC, 4);
    ih_put_le64 (head + 4, (uint64_t) updated);
    ih_put_le32 (head + 12, (uint32_t) n);
    ih_buf_append (out, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        uint8_t len [2];
        ih_put_le16 (len, (uint16_t) records [i].rec_len);
        ih_buf_append (out, len, 2);
        ih_buf_append (out, records [i].rec, records [i].rec_len);
        ih_buf_append (out, records [i].rec_sig, IH_SIG_LEN);
    }
}

/* ---- the daemon's side ------------------------------------------------------------------- */

int
ih_roster_accept (ih_store_t *store, const ih_env_t *members, const uint8_t registry_pk [32],
                  int64_t now, size_t *kept, size_t *dropped, char *why, ih_err_t *err)
{
    size_t n = members->record_count, k = 0, bad = 0;
    if (why)
        why [0] = 0;
    ih_record_t *ok = (ih_record_t *) calloc (n ? n : 1, sizeof *ok);
    if (!ok)
        abort ();
    for (size_t i = 0; i < n; i++) {
        const ih_record_t *r = &members->records [i];
        ih_member_t rec;
        ih_err_t e = { "" };
        //  A record is at most a few hundred bytes; the stored form keeps its length in 16 bits.
        if (r->rec_len > UINT16_MAX)
            ih_err_set (&e, "record of %zu bytes", r->rec_len);
        else
        if (ih_member_decode (&rec, r->rec, r->rec_len, &e) == 0
        &&  ih_verify (r->rec_sig, IH_CTX_MEMBER, r->rec, r->rec_len, registry_pk, &e) == 0) {
            if (!rec.gateway)
                ok [k++] = *r;
            continue;
        }
        if (why && bad == 0)
            ih_fmt (why, 256, "members[%zu]: %s", i, e.msg);
        bad++;
    }
    if (kept)
        *kept = k;
    if (dropped)
        *dropped = bad;
    if (n > 0 && k == 0 && bad == n) {
        free (ok);
        return ih_err_set (err, "members: no record verifies against the registry key");
    }
    ih_buf_t buf;
    ih_buf_init (&buf);
    ih_roster_encode (ok, k, now, &buf);
    free (ok);
    int rc = ih_store_aux_put (store, IH_ROSTER_AUX, buf.data, buf.len, err);
    ih_buf_free (&buf);
    return rc == IH_OK ? 0 : -1;
}

/* ---- the reader's side ------------------------------------------------------------------- */

static int
s_member_cmp (const void *a, const void *b)
{
    const ih_member_t *x = (const ih_member_t *) a, *y = (const ih_member_t *) b;
    int c = strcmp (x->org, y->org);
    return c ? c : strcmp (x->name, y->name);
}

static int
s_sector_cmp (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

/*  The orgs and sectors of the members (sorted by org, then name). */
static void
s_index (ih_roster_t *r)
{
    size_t n = r->member_count;
    r->orgs = (ih_roster_org_t *) calloc (n ? n : 1, sizeof *r->orgs);
    r->sectors = (char (*) [IH_MAX_SHORT + 1]) calloc (n ? n : 1, sizeof *r->sectors);
    if (!r->orgs || !r->sectors)
        abort ();
    for (size_t i = 0; i < n; i++) {
        const ih_member_t *m = &r->members [i];
        ih_roster_org_t *o = r->org_count ? &r->orgs [r->org_count - 1] : NULL;
        if (!o || strcmp (o->name, m->org) != 0) {
            o = &r->orgs [r->org_count++];
            snprintf (o->name, sizeof o->name, "%s", m->org);
        }
        if (!o->sector [0] && m->sector [0])
            snprintf (o->sector, sizeof o->sector, "%s", m->sector);
        o->members++;
        if (m->role == IH_ROLE_PUBLISHER)
            o->publishers++;
        if (m->sector [0]) {
            bool seen = false;
            for (size_t s = 0; s < r->sector_count && !seen; s++)
                seen = strcmp (r->sectors [s], m->sector) == 0;
            if (!seen)
                snprintf (r->sectors [r->sector_count++], IH_MAX_SHORT + 1, "%s", m->sector);
        }
    }
    qsort (r->sectors, r->sector_count, sizeof *r->sectors, s_sector_cmp);
}

int
ih_roster_load (ih_store_t *store, ih_roster_t **roster_p, ih_err_t *err)
{
    *roster_p = NULL;
    ih_buf_t buf;
    ih_buf_init (&buf);
    int found = ih_store_aux_get (store, IH_ROSTER_AUX, &buf, err);
    if (found != 1) {
        ih_buf_free (&buf);
        return found;
    }
    const uint8_t *p = buf.data;
    size_t left = buf.len;
    if (left < s_HEAD || memcmp (p, s_MAGIC, 4) != 0) {
        ih_buf_free (&buf);
        return ih_err_set (err, "roster: not a stored roster (%zu bytes)", left);
    }
    ih_roster_t *r = (ih_roster_t *) calloc (1, sizeof *r);
    if (!r)
        abort ();
    r->updated = (int64_t) ih_get_le64 (p + 4);
    uint32_t n = ih_get_le32 (p + 12);
    p += s_HEAD;
    left -= s_HEAD;
    //  Each entry takes at least 2 + 1 + 64 bytes: a count beyond that is damage.
    if ((uint64_t) n * 67 > left) {
        ih_buf_free (&buf);
        ih_roster_destroy (&r);
        return ih_err_set (err, "roster: %u records cannot fit in %zu bytes", n, left);
    }
    r->members = (ih_member_t *) calloc (n ? n : 1, sizeof *r->members);
    if (!r->members)
        abort ();
    for (uint32_t i = 0; i < n; i++) {
        size_t len = left >= 2 ? ih_get_le16 (p) : 0;
        if (left < 2 + len + IH_SIG_LEN) {
            ih_buf_free (&buf);
            ih_roster_destroy (&r);
            return ih_err_set (err, "roster: record %u: truncated", i);
        }
        ih_err_t e = { "" };
        if (ih_member_decode (&r->members [r->member_count], p + 2, len, &e) != 0) {
            ih_buf_free (&buf);
            ih_roster_destroy (&r);
            return ih_err_set (err, "roster: record %u: %s", i, e.msg);
        }
        r->member_count++;
        p += 2 + len + IH_SIG_LEN;
        left -= 2 + len + IH_SIG_LEN;
    }
    ih_buf_free (&buf);
    if (left) {
        ih_roster_destroy (&r);
        return ih_err_set (err, "roster: %zu bytes after the last record", left);
    }
    qsort (r->members, r->member_count, sizeof *r->members, s_member_cmp);
    s_index (r);
    *roster_p = r;
    return 1;
}

void
ih_roster_destroy (ih_roster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_roster_t *self = *self_p;
    free (self->members);
    free (self->orgs);
    free (self->sectors);
    free (self);
    *self_p = NULL;
}

const ih_roster_org_t *
ih_roster_org (const ih_roster_t *self, const char *name)
{
    for (size_t i = 0; self && name && i < self->org_count; i++)
        if (strcmp (self->orgs [i].name, name) == 0)
            return &self->orgs [i];
    return NULL;
}

bool
ih_roster_has_sector (const ih_roster_t *self, const char *sector)
{
    for (size_t i = 0; self && sector && i < self->sector_count; i++)
        if (strcmp (self->sectors [i], sector) == 0)
            return true;
    return false;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_roster_test (bool verbose)
{
    ih_sign_init ();
    char dir [256];
    ih_tk_tempdir ("roster", dir, sizeof dir);
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_roster_t *r = NULL;
    //  Nothing stored yet
    IH_CHECK (ih_roster_load (store, &r, &err) == 0 && r == NULL);

    ih_tk_keypair_t reg, other;
    ih_tk_keypair (&reg);
    ih_tk_keypair (&other);
    ih_tk_member_t m [5];
    ih_tk_member (&m [0], &reg, "soc", "bank-b", "finance", IH_ROLE_PUBLISHER);
    ih_tk_member (&m [1], &reg, "analyst", "bank-b", "finance", IH_ROLE_READER);
    ih_tk_member (&m [2], &reg, "noc", "telco", "telecom", IH_ROLE_READER);
    ih_tk_member (&m [3], &reg, "cert", "agency", NULL, IH_ROLE_PUBLISHER);
    ih_tk_member (&m [4], &other, "mallory", "forged", "finance", IH_ROLE_PUBLISHER);
    //  The gateway identity: a record of the same registry, left out of the roster
    ih_member_t gw = m [2].rec;
    snprintf (gw.name, sizeof gw.name, "gateway");
    snprintf (gw.org, sizeof gw.org, "public");
    gw.sector [0] = 0;
    gw.gateway = true;
    ih_buf_t gw_bytes;
    ih_buf_init (&gw_bytes);
    IH_CHECK (ih_member_encode (&gw, &gw_bytes, &err) == 0);
    uint8_t gw_sig [IH_SIG_LEN];
    ih_sign (gw_sig, IH_CTX_MEMBER, gw_bytes.data, gw_bytes.len, reg.sk);

    ih_record_t recs [6];
    for (int i = 0; i < 5; i++)
        recs [i] = (ih_record_t) { m [i].rec_bytes.data, m [i].rec_bytes.len, m [i].rec_sig };
    recs [5] = (ih_record_t) { gw_bytes.data, gw_bytes.len, gw_sig };
    ih_env_t e;
    ih_env_init (&e, IH_T_MEMBERS);
    e.records = recs;
    e.record_count = 6;
    size_t kept = 0, dropped = 0;
    char why [256];
    IH_CHECK (ih_roster_accept (store, &e, reg.pk, 1800000000000LL, &kept, &dropped, why, &err) == 0);
    if (verbose)
        printf ("\n    dropped %zu: %s", dropped, why);
    IH_CHECK (kept == 4 && dropped == 1 && streq (why, "members[4]: bad signature"));

    IH_CHECK (ih_roster_load (store, &r, &err) == 1 && r);
    IH_CHECK (r->updated == 1800000000000LL && r->member_count == 4);
    //  members by org, then name; orgs by name; sectors sorted and unique
    IH_CHECK (streq (r->members [0].org, "agency") && streq (r->members [0].name, "cert"));
    IH_CHECK (streq (r->members [1].name, "analyst") && streq (r->members [2].name, "soc"));
    IH_CHECK (streq (r->members [3].org, "telco"));
    IH_CHECK (memcmp (r->members [2].sign, m [0].rec.sign, 32) == 0);
    IH_CHECK (r->org_count == 3);
    IH_CHECK (streq (r->orgs [0].name, "agency") && streq (r->orgs [0].sector, ""));
    IH_CHECK (r->orgs [1].members == 2 && r->orgs [1].publishers == 1 && streq (r->orgs [1].sector, "finance"));
    IH_CHECK (r->sector_count == 2 && streq (r->sectors [0], "finance") && streq (r->sectors [1], "telecom"));
    IH_CHECK (ih_roster_org (r, "telco") == &r->orgs [2] && !ih_roster_org (r, "forged"));
    IH_CHECK (!ih_roster_org (r, "public"));
    IH_CHECK (ih_roster_has_sector (r, "telecom") && !ih_roster_has_sector (r, "energy"));
    ih_roster_destroy (&r);
    ih_roster_destroy (&r);

    //  Nothing verifies (another registry's broker): refused, the roster kept
    e.records = &recs [4];
    e.record_count = 1;
    IH_CHECK (ih_roster_accept (store, &e, reg.pk, 1800000001000LL, &kept, &dropped, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "no record verifies") && kept == 0 && dropped == 1);
    IH_CHECK (ih_roster_load (store, &r, &err) == 1 && r->member_count == 4);
    ih_roster_destroy (&r);
    //  An empty roster is a roster
    e.record_count = 0;
    IH_CHECK (ih_roster_accept (store, &e, reg.pk, 1800000002000LL, &kept, &dropped, NULL, &err) == 0);
    IH_CHECK (ih_roster_load (store, &r, &err) == 1 && r->member_count == 0 && r->org_count == 0);
    ih_roster_destroy (&r);

    //  Damaged values: each a one-line error, nothing loaded
    ih_buf_t b;
    ih_buf_init (&b);
    ih_roster_encode (recs, 2, 5, &b);
    static const struct { size_t cut; const char *flip; const char *expect; } bad [] = {
        { 3, NULL, "roster: not a stored roster" },
        { 1, NULL, "roster: record 1: truncated" },
        { 0, "count", "cannot fit" },
        { 0, "magic", "not a stored roster" },
        { 0, "record", "roster: record 0: " },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        ih_buf_t x;
        ih_buf_init (&x);
        ih_buf_append (&x, b.data, bad [i].cut == 3 ? 3 : b.len - bad [i].cut);
        if (bad [i].flip && streq (bad [i].flip, "count"))
            ih_put_le32 (x.data + 12, 1000000);
        if (bad [i].flip && streq (bad [i].flip, "magic"))
            x.data [0] = 'X';
        if (bad [i].flip && streq (bad [i].flip, "record"))
            x.data [s_HEAD + 2] = 0xc1;         //  not msgpack
        IH_CHECK (ih_store_aux_put (store, IH_ROSTER_AUX, x.data, x.len, &err) == 0);
        IH_CHECK (ih_roster_load (store, &r, &err) == -1 && r == NULL);
        if (verbose)
            printf ("\n    %s", err.msg);
        IH_CHECK (strstr (err.msg, bad [i].expect));
        ih_buf_free (&x);
    }
    //  Trailing bytes
    ih_buf_append (&b, "x", 1);
    IH_CHECK (ih_store_aux_put (store, IH_ROSTER_AUX, b.data, b.len, &err) == 0);
    IH_CHECK (ih_roster_load (store, &r, &err) == -1 && strstr (err.msg, "1 bytes after the last record"));
    ih_buf_free (&b);

    ih_buf_free (&gw_bytes);
    for (int i = 0; i < 5; i++)
        ih_tk_member_free (&m [i]);
    ih_store_destroy (&store);
    ih_tk_rmtree (dir);
}
#endif
