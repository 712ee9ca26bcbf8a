/*  ih_import_plan.c: what an import does with a draft, given what the agent's store holds
    under its stable id (ih_import.h, IDS and ih_import_plan): publish it as a new alert,
    as the next revision, or not at all because it holds the same content already
    (ih_import_same). The store is read only: the daemon writes it, and an import run
    twice must not publish twice whether or not the daemon has stored the first run yet
    (the broker's duplicate-id answers that case: ih_import_cmd.c).
*/
#include <czmq.h>

#include "ih_import.h"

/* ---- the same content ------------------------------------------------------------------- */

/*  The same set of strings (each list holds a string once: the codec refuses duplicates). */
static bool
s_same_set (const ih_strlist_t *a, const ih_strlist_t *b)
{
    if (a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++)
        if (!ih_strlist_has (b, a->items [i]))
            return false;
    return true;
}

static int
s_ioc_cmp (const void *pa, const void *pb)
{
    const ih_ioc_t *a = *(const ih_ioc_t *const *) pa, *b = *(const ih_ioc_t *const *) pb;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    int c = strcmp (a->value, b->value);
    if (c == 0)
        c = strcmp (a->comment, b->comment);
    if (c == 0 && a->detect != b->detect)
        c = a->detect ? 1 : -1;
    return c;
}

/*  The IOCs of m, sorted (a malloc'd array the caller frees; NULL when there are none). */
static const ih_ioc_t **
s_sorted_iocs (const ih_msg_t *m)
{
    if (!m->ioc_count)
        return NULL;
    const ih_ioc_t **v = (const ih_ioc_t **) malloc (m->ioc_count * sizeof *v);
    if (!v)
        abort ();
    for (uint32_t i = 0; i < m->ioc_count; i++)
        v [i] = &m->iocs [i];
    qsort (v, m->ioc_count, sizeof *v, s_ioc_cmp);
    return v;
}

bool
ih_import_same (const ih_msg_t *a, const ih_msg_t *b)
{
    if (!streq (a->title, b->title) || !streq (a->summary, b->summary) || a->tlp != b->tlp
    ||  a->severity != b->severity || a->category != b->category || a->ioc_count != b->ioc_count)
        return false;
    if (!s_same_set (&a->recipients, &b->recipients) || !s_same_set (&a->sectors, &b->sectors)
    ||  !s_same_set (&a->references, &b->references) || !s_same_set (&a->tags, &b->tags))
        return false;
    const ih_ioc_t **va = s_sorted_iocs (a), **vb = s_sorted_iocs (b);
    bool same = true;
    for (uint32_t i = 0; same && i < a->ioc_count; i++)
        same = s_ioc_cmp (&va [i], &vb [i]) == 0;
    free (va);
    free (vb);
    return same;
}

/* ---- the plan --------------------------------------------------------------------------- */

int
ih_import_plan (ih_store_t *store, const char *org, ih_msg_t *draft, int64_t now, ih_err_t *why)
{
    draft->modified = now;
    if (!store) {
        draft->revision = 1;
        draft->created = now;
        return IH_IMPORT_NEW;
    }
    ih_msg_t held;
    ih_msg_init (&held, IH_KIND_ALERT);
    ih_store_alert_t info;
    int found = ih_store_get (store, draft->id, &held, &info, why);
    int plan;
    if (found < 0)
        plan = -1;
    else
    if (found == 0) {
        draft->revision = 1;
        draft->created = now;
        plan = IH_IMPORT_NEW;
    }
    else
    if (org && !streq (held.org, org)) {
        ih_err_set (why, "its id %s is another org's alert", draft->id);
        plan = IH_IMPORT_REFUSED;
    }
    else
    if (info.retracted) {
        ih_err_set (why, "imported before and retracted since");
        plan = IH_IMPORT_REFUSED;
    }
    else
    if (ih_import_same (draft, &held))
        plan = IH_IMPORT_UNCHANGED;
    else {
        //  As `publish` of a revision: the next revision, created kept.
        draft->revision = info.revision + 1;
        draft->created = held.created;
        plan = IH_IMPORT_REVISED;
    }
    ih_msg_free (&held);
    return plan;
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

void
ih_import_plan_test (bool verbose)
{
    //  The same content: every field of the definition counts, order does not.
    ih_msg_t a, b;
    ih_tk_alert (&a, NULL, IH_TLP_AMBER, "Same");
    static const char *vals [] = { "ipv4:45.33.32.156", "domain:evil-login.xyz", "md5:0c7b8f5d3e2a1b9c8d7e6f5a4b3c2d1e",
                                   NULL };
    ih_tk_iocs (&a, vals, true);
    ih_msg_strlist_add (&a, &a.tags, "t1");
    ih_msg_strlist_add (&a, &a.tags, "t2");
    ih_msg_strlist_add (&a, &a.recipients, "bank-b");
    ih_msg_copy (&b, &a);
    IH_CHECK (ih_import_same (&a, &b));
    //  Another order of tags and IOCs; another id, revision, publisher or times: the same.
    b.tags.items [0] = "t2";
    b.tags.items [1] = "t1";
    ih_ioc_t x = b.iocs [0];
    b.iocs [0] = b.iocs [2];
    b.iocs [2] = x;
    b.revision = 4;
    b.org = "bank-z";
    b.created = b.modified = 1;
    snprintf (b.id, sizeof b.id, "00000000-0000-4000-8000-000000000000");
    IH_CHECK (ih_import_same (&a, &b) && ih_import_same (&b, &a));
    //  Each field of the definition, changed alone: not the same.
    for (int k = 0; k < 14; k++) {
        ih_msg_t c;
        ih_msg_copy (&c, &a);
        switch (k) {
            case 0:  c.title = "Other"; break;
            case 1:  c.summary = "Other"; break;
            case 2:  c.tlp = IH_TLP_RED; break;
            case 3:  c.severity = IH_SEV_CRITICAL; break;
            case 4:  c.category = IH_CAT_FRAUD; break;
            case 5:  ih_msg_strlist_add (&c, &c.recipients, "sector:telecom"); break;
            case 6:  ih_msg_strlist_add (&c, &c.sectors, "energy"); break;
            case 7:  ih_msg_strlist_add (&c, &c.references, "https://ref.example.net/x"); break;
            case 8:  c.tags.count = 1; break;
            case 9:  c.iocs [1].comment = "other"; break;
            case 10: c.iocs [1].detect = false; break;
            case 11: c.iocs [1].value = "evil-login.top"; break;
            case 12: c.iocs [0].type = IH_IOC_CIDR; break;
            case 13: c.ioc_count = 2; break;
        }
        if (ih_import_same (&a, &c) || ih_import_same (&c, &a))
            fprintf (stderr, "case %d: the same\n", k);
        IH_CHECK (!ih_import_same (&a, &c) && !ih_import_same (&c, &a));
        ih_msg_free (&c);
    }

    //  The plan against a store: new, unchanged, revised, retracted, another org's.
    char base [256], dir [300];
    ih_tk_tempdir ("import-plan", base, sizeof base);
    snprintf (dir, sizeof dir, "%s/store", base);
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    int64_t t0 = ih_now_ms () - 60000;
    ih_msg_t d;
    ih_msg_copy (&d, &a);
    IH_CHECK (ih_import_plan (NULL, "bank-a", &d, t0 + 5, &err) == IH_IMPORT_NEW);
    IH_CHECK (d.revision == 1 && d.created == t0 + 5 && d.modified == t0 + 5);
    IH_CHECK (ih_import_plan (store, "bank-a", &d, t0 + 5, &err) == IH_IMPORT_NEW);
    //  Stored as bank-a published it (revision 1, created t0).
    a.org = "bank-a";
    a.created = a.modified = t0;
    uint64_t seq = 1;
    IH_CHECK (ih_store_ingest_msgs (store, &a, &seq, 1, NULL, &err) == 0);
    snprintf (b.id, sizeof b.id, "%s", a.id);      //  b: the same content in another order
    IH_CHECK (ih_import_plan (store, "bank-a", &b, t0 + 6, &err) == IH_IMPORT_UNCHANGED);
    ih_msg_free (&d);
    ih_msg_copy (&d, &a);
    d.summary = "Changed";
    IH_CHECK (ih_import_plan (store, "bank-a", &d, t0 + 6, &err) == IH_IMPORT_REVISED);
    IH_CHECK (d.revision == 2 && d.created == t0 && d.modified == t0 + 6);
    err.msg [0] = 0;
    IH_CHECK (ih_import_plan (store, "bank-c", &d, t0 + 6, &err) == IH_IMPORT_REFUSED);
    IH_CHECK (strstr (err.msg, "another org's alert"));
    ih_msg_t r;
    ih_tk_ref (&r, NULL, IH_KIND_RETRACTION, a.id);
    r.org = "bank-a";
    seq = 2;
    IH_CHECK (ih_store_ingest_msgs (store, &r, &seq, 1, NULL, &err) == 0);
    IH_CHECK (ih_import_plan (store, "bank-a", &b, t0 + 7, &err) == IH_IMPORT_REFUSED);
    if (verbose)
        printf ("\n    %s", err.msg);
    IH_CHECK (strstr (err.msg, "retracted since"));
    ih_msg_free (&r);
    ih_msg_free (&d);
    ih_store_destroy (&store);
    ih_tk_rmtree (base);
    ih_msg_free (&a);
    ih_msg_free (&b);
}
#endif
