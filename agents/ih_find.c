/*  ih_find.c: a search box's query against the store (see ih_find.h). Moved out of the
    gateway's /search so that the Members Zone searches the same way. */
#include "ih_find.h"
#include "ih_ioc.h"

typedef struct {
    ih_find_t *f;
    ih_find_keep_fn *keep;
    void *arg;
} s_find_t;

static bool
s_add (ih_find_t *f, const char *id)
{
    for (int i = 0; i < f->n; i++)
        if (streq (f->ids [i], id))
            return true;
    if (f->n == IH_FIND_MAX) {
        f->full = true;
        return false;
    }
    snprintf (f->ids [f->n++], IH_UUID_LEN + 1, "%s", id);
    return true;
}

static int
s_hit (const ih_index_hit_t *hit, void *arg)
{
    return s_add (((s_find_t *) arg)->f, hit->id) ? 0 : 1;
}

/*  An alert that has every word of the query (ih_store_walk on the word index). */
static int
s_found (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_find_t *x = (s_find_t *) arg;
    if (x->keep && !x->keep (m, info, x->arg))
        return 0;
    return s_add (x->f, m->id) ? 0 : 1;
}

/*  The distinct words of the query (the first IH_FIND_WORDS). */
static int
s_word (const char *word, size_t len, void *arg)
{
    ih_find_t *f = (ih_find_t *) arg;
    for (int i = 0; i < f->nwords; i++)
        if (streq (f->words [i], word))
            return 0;
    if (f->nwords == IH_FIND_WORDS)
        return 1;
    snprintf (f->words [f->nwords++], IH_STORE_WORD_MAX + 1, "%s", word);
    return 0;
}

/*  Alerts with every word of the query, newest first: one group per word, so the walk
    leapfrogs from the rarest word's postings and reads about what it finds. */
static int
s_words (ih_store_t *store, const char *q, uint64_t budget, s_find_t *x, ih_err_t *err)
{
    ih_find_t *f = x->f;
    ih_store_words (q, s_word, f);
    if (f->nwords == 0)
        return 0;
    int64_t size [IH_FIND_WORDS];
    int order [IH_FIND_WORDS];
    for (int i = 0; i < f->nwords; i++) {
        ih_store_key_t key = { IH_STORE_BY_WORD, 0, f->words [i] };
        if ((size [i] = ih_store_key_count (store, &key, err)) < 0)
            return -1;
        if (size [i] == 0)
            return 0;               //  a word no alert has: no alert has them all
        //  In order of rarity, so that the join moves by the rarest word's postings.
        int j = i;
        for (; j > 0 && size [order [j - 1]] > size [i]; j--)
            order [j] = order [j - 1];
        order [j] = i;
    }
    ih_store_walk_t w;
    memset (&w, 0, sizeof w);
    w.reverse = true;
    w.budget = budget;
    w.cut = &f->cut;
    w.ngroups = f->nwords;
    for (int g = 0; g < f->nwords; g++) {
        w.groups [g].nkeys = 1;
        w.groups [g].keys [0] = (ih_store_key_t) { IH_STORE_BY_WORD, 0, f->words [order [g]] };
    }
    return ih_store_walk (store, &w, s_found, x, err) < 0 ? -1 : 0;
}

int
ih_find_run (ih_store_t *store, const char *q, uint64_t budget, ih_find_keep_fn *keep, void *arg,
             ih_find_t *f, ih_err_t *err)
{
    memset (f, 0, sizeof *f);
    if (!q || !*q)
        return 0;
    s_find_t x = { f, keep, arg };
    //  An IOC value first: the index also finds CIDRs containing an IP, parent domains
    //  and subdomains, and defanged input ("evil[.]example").
    char refanged [IH_FIND_QUERY + 1];
    ih_ioc_type_t t;
    if (strlen (q) <= IH_FIND_QUERY && ih_ioc_refang (q, refanged, sizeof refanged) >= 0
    &&  ih_ioc_guess (refanged, &t) == 0
    &&  ih_ioc_normalise (t, refanged, f->ioc_value, sizeof f->ioc_value, NULL) == 0) {
        f->ioc = true;
        f->ioc_type = t;
        if (ih_store_search (store, t, f->ioc_value, IH_SEARCH_SUBDOMAINS | IH_SEARCH_INSIDE,
                             s_hit, &x, err) < 0)
            return -1;
    }
    return s_words (store, q, budget, &x, err);
}

/* ---- self-test ------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static bool
s_t_keep_clear (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    (*(int *) arg)++;
    return m->tlp == IH_TLP_CLEAR;
}

void
ih_find_test (bool verbose)
{
    char dir [256];
    ih_tk_tempdir ("find", dir, sizeof dir);
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 0, 0, &err);
    IH_CHECK (store);
    ih_msg_t m [3];
    ih_tk_alert (&m [0], NULL, IH_TLP_CLEAR, "Citrix bleed exploited");
    ih_msg_ioc_add (&m [0], IH_IOC_CIDR, "203.0.113.0/24", "", true);
    ih_tk_alert (&m [1], NULL, IH_TLP_AMBER, "Citrix phishing wave");
    ih_msg_ioc_add (&m [1], IH_IOC_DOMAIN, "evil.example", "", true);
    ih_tk_alert (&m [2], NULL, IH_TLP_CLEAR, "Unrelated advisory");
    uint64_t seqs [3] = { 1, 2, 3 };
    IH_CHECK (ih_store_ingest_msgs (store, m, seqs, 3, NULL, &err) == 0);

    ih_find_t f;
    //  Words: every word must be there; newest first; the caller's rule applies.
    IH_CHECK (ih_find_run (store, "citrix", 0, NULL, NULL, &f, &err) == 0);
    IH_CHECK (f.n == 2 && streq (f.ids [0], m [1].id) && streq (f.ids [1], m [0].id) && !f.ioc);
    int asked = 0;
    IH_CHECK (ih_find_run (store, "CITRIX bleed", 0, s_t_keep_clear, &asked, &f, &err) == 0);
    IH_CHECK (f.n == 1 && streq (f.ids [0], m [0].id) && asked == 1 && f.nwords == 2);
    IH_CHECK (ih_find_run (store, "citrix nothing", 0, NULL, NULL, &f, &err) == 0 && f.n == 0);
    //  IOC values: an IP inside an indexed network, a defanged subdomain.
    IH_CHECK (ih_find_run (store, "203.0.113.77", 0, NULL, NULL, &f, &err) == 0);
    IH_CHECK (f.ioc && f.ioc_type == IH_IOC_IPV4 && f.n == 1 && streq (f.ids [0], m [0].id));
    IH_CHECK (ih_find_run (store, "login.evil[.]example", 0, NULL, NULL, &f, &err) == 0);
    IH_CHECK (f.ioc && streq (f.ioc_value, "login.evil.example") && f.n == 1 && streq (f.ids [0], m [1].id));
    if (verbose)
        printf ("\n    %d found for %s (%s)\n    ", f.n, f.ioc_value, ih_ioc_type_name (f.ioc_type));
    IH_CHECK (ih_find_run (store, "", 0, NULL, NULL, &f, &err) == 0 && f.n == 0);
    for (int i = 0; i < 3; i++)
        ih_msg_free (&m [i]);
    ih_store_destroy (&store);
    ih_tk_rmtree (dir);
}
#endif
