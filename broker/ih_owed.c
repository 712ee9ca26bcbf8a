/*  ih_owed.c: what the broker owes each member. See ih_owed.h.

    Read top to bottom: audiences (one constraint's, the intersection of two, their keys),
    the table (stage, write, commit), loading, the member's query, self-test.
*/
#include <inttypes.h>
#include <string.h>
#include <czmq.h>

#include "ih_owed.h"

#define s_AUD_MAX   (1 + IH_MAX_LIST)   //  a constraint: the publisher's org + recipients
#define s_KEY_MAX   (4 + 2 * 256)       //  "os:" + org + "/" + sector, each < 256 bytes
#define s_META      "owed"              //  meta: "owed" -> head, "owed/" + key -> seq

struct ih_owed {
    zhashx_t *live;                     //  key -> uint64_t *: committed
    zhashx_t *staged;                   //  key -> uint64_t *: in the open transaction
    uint64_t head;                      //  the journal head the table counts up to
    uint64_t staged_head;
};

/* ---- audiences -------------------------------------------------------------------------- */

//  org and sector NULL mean "any"; gw: the gateway belongs too (only "everyone" has it)
typedef struct {
    bool gw;
    const char *org;
    const char *sector;
} s_aud_t;

//  The audiences of one constraint: the members ih_entitled (who, tlp, org, recipients)
//  says yes for, as a union. Mirrors ih_entitled line by line.
static size_t
s_auds (const ih_ent_t *e, s_aud_t *out)
{
    if (e->tlp == IH_TLP_CLEAR) {
        out [0] = (s_aud_t) { true, NULL, NULL };
        return 1;
    }
    if ((unsigned) e->tlp > IH_TLP_RED)
        return 0;
    uint32_t n = e->recipients.count;
    if (e->tlp == IH_TLP_GREEN || (e->tlp == IH_TLP_AMBER && n == 0)) {
        out [0] = (s_aud_t) { false, NULL, NULL };
        return 1;
    }
    size_t k = 0;
    if (e->org)
        out [k++] = (s_aud_t) { false, e->org, NULL };
    for (uint32_t i = 0; i < n && k < s_AUD_MAX; i++) {
        const char *r = e->recipients.items [i];
        if (strncmp (r, "sector:", 7) != 0)
            out [k++] = (s_aud_t) { false, r, NULL };       //  an org id
        else
        if (e->tlp == IH_TLP_AMBER && r [7])
            out [k++] = (s_aud_t) { false, NULL, r + 7 };   //  (an org is never "sector:…")
    }
    return k;
}

//  a and b at once, into out; false when no member can be in both.
static bool
s_meet (const s_aud_t *a, const s_aud_t *b, s_aud_t *out)
{
    if (a->org && b->org && strcmp (a->org, b->org) != 0)
        return false;
    if (a->sector && b->sector && strcmp (a->sector, b->sector) != 0)
        return false;
    *out = (s_aud_t) { a->gw && b->gw, a->org ? a->org : b->org, a->sector ? a->sector : b->sector };
    return true;
}

static void
s_key (const s_aud_t *a, char *out, size_t size)
{
    if (a->gw)
        snprintf (out, size, "*");
    else
    if (a->org && a->sector)
        snprintf (out, size, "os:%s/%s", a->org, a->sector);
    else
    if (a->org)
        snprintf (out, size, "o:%s", a->org);
    else
    if (a->sector)
        snprintf (out, size, "s:%s", a->sector);
    else
        snprintf (out, size, "m");
}

/* ---- the table ---------------------------------------------------------------------------- */

static void
s_free_seq (void **item)
{
    free (*item);
    *item = NULL;
}

static zhashx_t *
s_table (void)
{
    zhashx_t *h = zhashx_new ();
    if (!h)
        abort ();
    zhashx_set_destructor (h, s_free_seq);
    return h;
}

static uint64_t
s_lookup (zhashx_t *h, const char *key)
{
    const uint64_t *v = (const uint64_t *) zhashx_lookup (h, key);
    return v ? *v : 0;
}

//  h [key] = max (h [key], seq)
static void
s_raise (zhashx_t *h, const char *key, uint64_t seq)
{
    uint64_t *v = (uint64_t *) zhashx_lookup (h, key);
    if (v) {
        if (seq > *v)
            *v = seq;
        return;
    }
    v = (uint64_t *) malloc (sizeof *v);
    if (!v)
        abort ();
    *v = seq;
    zhashx_insert (h, key, v);
}

ih_owed_t *
ih_owed_new (void)
{
    ih_owed_t *self = (ih_owed_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->live = s_table ();
    self->staged = s_table ();
    return self;
}

void
ih_owed_destroy (ih_owed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_owed_t *self = *self_p;
    zhashx_destroy (&self->live);
    zhashx_destroy (&self->staged);
    free (self);
    *self_p = NULL;
}

void
ih_owed_stage (ih_owed_t *self, const ih_jitem_t *it, uint64_t seq)
{
    s_aud_t a [s_AUD_MAX], b [s_AUD_MAX];
    char key [s_KEY_MAX];
    if (seq > self->staged_head)
        self->staged_head = seq;
    if (it->ent_count < 1 || it->ent_count > IH_JITEM_MAX_ENT)
        return;                         //  nobody is entitled (ih_jitem_entitled)
    size_t na = s_auds (&it->ent [0], a);
    if (it->ent_count == 1) {
        for (size_t i = 0; i < na; i++) {
            s_key (&a [i], key, sizeof key);
            s_raise (self->staged, key, seq);
        }
        return;
    }
    size_t nb = s_auds (&it->ent [1], b);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            s_aud_t m;
            if (s_meet (&a [i], &b [j], &m)) {
                s_key (&m, key, sizeof key);
                s_raise (self->staged, key, seq);
            }
        }
}

int
ih_owed_write (ih_owed_t *self, ih_journal_t *journal, ih_err_t *err)
{
    if (self->staged_head <= self->head)
        return IH_OK;
    char mkey [sizeof s_META + s_KEY_MAX];
    uint8_t v [8];
    for (uint64_t *seq = (uint64_t *) zhashx_first (self->staged); seq;
         seq = (uint64_t *) zhashx_next (self->staged)) {
        const char *key = (const char *) zhashx_cursor (self->staged);
        if (strlen (key) > 390)
            continue;                   //  a string no codec lets through: memory only
        snprintf (mkey, sizeof mkey, s_META "/%s", key);
        ih_put_be64 (v, *seq);
        int rc = ih_journal_meta_put (journal, mkey, v, 8, err);
        if (rc)
            return rc;
    }
    ih_put_be64 (v, self->staged_head);
    return ih_journal_meta_put (journal, s_META, v, 8, err);
}

void
ih_owed_commit (ih_owed_t *self)
{
    for (uint64_t *seq = (uint64_t *) zhashx_first (self->staged); seq;
         seq = (uint64_t *) zhashx_next (self->staged))
        s_raise (self->live, (const char *) zhashx_cursor (self->staged), *seq);
    if (self->staged_head > self->head)
        self->head = self->staged_head;
    ih_owed_discard (self);
}

void
ih_owed_discard (ih_owed_t *self)
{
    zhashx_purge (self->staged);
    self->staged_head = 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

static int
s_load_one (const char *key, size_t key_len, const uint8_t *val, size_t len, void *arg)
{
    ih_owed_t *self = (ih_owed_t *) arg;
    if (len != 8)
        return 0;                       //  not ours to judge: recounted below
    size_t plen = strlen (s_META);
    if (key_len == plen)
        self->head = ih_get_be64 (val);
    else
    if (key_len > plen + 1 && key [plen] == '/' && key_len - plen - 1 < s_KEY_MAX) {
        char k [s_KEY_MAX];
        memcpy (k, key + plen + 1, key_len - plen - 1);
        k [key_len - plen - 1] = 0;
        s_raise (self->live, k, ih_get_be64 (val));
    }
    return 0;
}

//  Counts the journal's items beyond self->head, and stores the result.
static int
s_catch_up (ih_owed_t *self, ih_journal_t *journal, ih_err_t *err)
{
    if (ih_journal_scan_begin (journal, self->head, err))
        return IH_EFAIL;
    uint64_t seq;
    const uint8_t *data;
    size_t len;
    int got;
    while ((got = ih_journal_scan_next (journal, &seq, &data, &len, err)) == 1) {
        ih_jitem_t it;
        if (ih_jitem_decode (&it, data, len, err) == 0)
            ih_owed_stage (self, &it, seq);
        else                            //  replay skips it too: nobody is owed it
            self->staged_head = seq > self->staged_head ? seq : self->staged_head;
    }
    ih_journal_scan_end (journal);
    if (got < 0)
        return IH_EFAIL;
    if (self->staged_head <= self->head)
        return IH_OK;
    for (int attempt = 0; attempt < 20; attempt++) {
        if (ih_journal_begin (journal, err))
            return IH_EFAIL;
        int rc = ih_owed_write (self, journal, err);
        if (rc == IH_OK)
            rc = ih_journal_commit (journal, err);
        else
            ih_journal_abort (journal);
        if (rc == IH_OK) {
            ih_owed_commit (self);
            return IH_OK;
        }
        if (rc != IH_EMAPFULL || ih_journal_grow (journal, err))
            return IH_EFAIL;
    }
    return ih_err_set (err, "owed: cannot grow the journal's map enough");
}

int
ih_owed_load (ih_owed_t *self, ih_journal_t *journal, ih_err_t *err)
{
    zhashx_purge (self->live);
    ih_owed_discard (self);
    self->head = 0;
    if (ih_journal_meta_walk (journal, s_META, s_load_one, self, err) < 0)
        return IH_EFAIL;
    if (self->head > ih_journal_head (journal)) {
        //  A table ahead of its journal cannot be: count everything again
        zhashx_purge (self->live);
        self->head = 0;
    }
    if (s_catch_up (self, journal, err)) {
        ih_err_prefix (err, "owed");
        return IH_EFAIL;
    }
    return IH_OK;
}

/* ---- the member's query ------------------------------------------------------------------- */

uint64_t
ih_owed_get (ih_owed_t *self, const ih_member_t *who)
{
    uint64_t best = s_lookup (self->live, "*");
    if (who->gateway)
        return best;
    char key [s_KEY_MAX];
    const s_aud_t auds [4] = { { false, NULL, NULL }, { false, who->org, NULL },
                               { false, NULL, who->sector }, { false, who->org, who->sector } };
    for (int i = 0; i < 4; i++) {
        if (i >= 2 && !who->sector [0])
            break;
        s_key (&auds [i], key, sizeof key);
        uint64_t v = s_lookup (self->live, key);
        if (v > best)
            best = v;
    }
    return best;
}

size_t
ih_owed_size (ih_owed_t *self)
{
    return zhashx_size (self->live);
}

/* ---- self-test ---------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static const char *const s_orgs [] = { "bank-a", "bank-b", "telco-c", "energy-d" };
static const char *const s_sectors [] = { "finance", "telecom", "energy", "" };
static const char *const s_rcpts [] = { "bank-a", "bank-b", "telco-c", "energy-d", "nobody-e",
                                        "sector:finance", "sector:telecom", "sector:energy",
                                        "sector:water" };
#define s_T_ITEMS 600

typedef struct {
    ih_jitem_t it;
    const char *rcpts [IH_JITEM_MAX_ENT][9];
} s_titem_t;

//  A random item: one constraint, or two (a sighting of an alert), from a small world so
//  that every audience is hit often.
static void
s_random_item (s_titem_t *t, uint32_t *rng)
{
    memset (&t->it, 0, offsetof (ih_jitem_t, ptrs_));
    #define s_RAND(n) ((*rng = *rng * 1103515245u + 12345u) >> 8) % (n)
    t->it.kind = (ih_kind_t) s_RAND (IH_KIND_COUNT);
    t->it.ent_count = t->it.kind == IH_KIND_SIGHTING && s_RAND (3) ? 2 : 1;
    for (uint32_t e = 0; e < t->it.ent_count; e++) {
        ih_ent_t *ent = &t->it.ent [e];
        ent->tlp = (ih_tlp_t) s_RAND (IH_TLP_COUNT + 1);   //  one out of range now and then
        ent->org = s_orgs [s_RAND (4)];
        uint32_t n = ent->tlp >= IH_TLP_AMBER && s_RAND (2) ? 1 + s_RAND (3) : 0;
        if (e == 0 && t->it.kind == IH_KIND_SIGHTING)
            n = 0;                      //  a sighting's own TLP has no recipients
        for (uint32_t i = 0; i < n; i++)
            t->rcpts [e][i] = s_rcpts [s_RAND (9)];
        ent->recipients = (ih_strlist_t) { t->rcpts [e], n, 0 };
    }
    #undef s_RAND
}

static void
s_check_members (ih_owed_t *owed, const s_titem_t *items, size_t n, bool verbose)
{
    //  every org x sector, and the gateway
    for (int o = 0; o <= 4; o++)
        for (int s = 0; s < 4; s++) {
            ih_member_t who;
            memset (&who, 0, sizeof who);
            snprintf (who.name, sizeof who.name, "m");
            snprintf (who.org, sizeof who.org, "%s", o < 4 ? s_orgs [o] : "public");
            snprintf (who.sector, sizeof who.sector, "%s", s_sectors [s]);
            who.gateway = o == 4;
            uint64_t want = 0;
            for (size_t i = 0; i < n; i++)
                if (ih_jitem_entitled (&items [i].it, &who))
                    want = i + 1;
            uint64_t got = ih_owed_get (owed, &who);
            if (got != want)
                fprintf (stderr, "\n    %s/%s%s: owed %" PRIu64 ", expected %" PRIu64 " (of %zu)\n",
                         who.org, who.sector, who.gateway ? " (gateway)" : "", got, want, n);
            IH_CHECK (got == want);
        }
}

void
ih_owed_test (bool verbose)
{
    //  1. Against ih_jitem_entitled: random items, every kind of member, at every step
    s_titem_t *items = (s_titem_t *) calloc (s_T_ITEMS, sizeof *items);
    IH_CHECK (items);
    uint32_t rng = 20260101;
    ih_owed_t *owed = ih_owed_new ();
    IH_CHECK (ih_owed_get (owed, &(ih_member_t) { .org = "bank-a" }) == 0);
    size_t since = 0;                   //  the first item of the open "transaction"
    for (size_t i = 0; i < s_T_ITEMS; i++) {
        s_random_item (&items [i], &rng);
        ih_owed_stage (owed, &items [i].it, i + 1);
        if (i % 7 == 3) {
            //  a failed transaction counts nothing; it is done again
            ih_owed_discard (owed);
            s_check_members (owed, items, since, verbose);
            for (size_t k = since; k <= i; k++)
                ih_owed_stage (owed, &items [k].it, k + 1);
        }
        if (i % 5 == 4 || i == s_T_ITEMS - 1) {
            ih_owed_commit (owed);
            since = i + 1;
            s_check_members (owed, items, i + 1, verbose);
        }
    }
    if (verbose)
        printf ("\n    %d items, %zu audiences", s_T_ITEMS, ih_owed_size (owed));
    ih_owed_destroy (&owed);
    ih_owed_destroy (&owed);

    //  ... and by hand: a RED sighting by bank-b of an alert AMBER to sector:finance
    //  reaches bank-b's members in finance, and nobody else
    owed = ih_owed_new ();
    const char *fin [] = { "sector:finance" };
    ih_jitem_t sighting;
    memset (&sighting, 0, offsetof (ih_jitem_t, ptrs_));
    sighting.kind = IH_KIND_SIGHTING;
    sighting.ent [0] = (ih_ent_t) { IH_TLP_RED, "bank-b", { NULL, 0, 0 } };
    sighting.ent [1] = (ih_ent_t) { IH_TLP_AMBER, "bank-a", { fin, 1, 0 } };
    sighting.ent_count = 2;
    ih_owed_stage (owed, &sighting, 9);
    ih_owed_commit (owed);
    ih_member_t bf = { .org = "bank-b", .sector = "finance" }, bt = { .org = "bank-b", .sector = "telecom" };
    ih_member_t cf = { .org = "bank-c", .sector = "finance" }, af = { .org = "bank-a", .sector = "finance" };
    IH_CHECK (ih_owed_get (owed, &bf) == 9 && ih_jitem_entitled (&sighting, &bf));
    IH_CHECK (ih_owed_get (owed, &bt) == 0 && !ih_jitem_entitled (&sighting, &bt));
    IH_CHECK (ih_owed_get (owed, &cf) == 0 && !ih_jitem_entitled (&sighting, &cf));
    IH_CHECK (ih_owed_get (owed, &af) == 0 && !ih_jitem_entitled (&sighting, &af));
    IH_CHECK (ih_owed_size (owed) == 1);
    ih_owed_destroy (&owed);

    //  2. Persisted with the journal's items, read back, and caught up on items the table
    //     never saw (a journal older than it)
    char dir [256], jdir [300];
    ih_tk_tempdir ("owed", dir, sizeof dir);
    ih_tk_path (jdir, sizeof jdir, dir, "journal");
    ih_err_t err;
    ih_journal_t *j = ih_journal_open (jdir, 1 << 20, &err);
    IH_CHECK (j);
    owed = ih_owed_new ();
    IH_CHECK (ih_owed_load (owed, j, &err) == IH_OK && ih_owed_size (owed) == 0);
    static const uint8_t sig [64], rec [8] = "record";
    size_t half = s_T_ITEMS / 2;
    for (size_t i = 0; i < s_T_ITEMS; i++) {
        ih_jitem_t *it = &items [i].it;
        snprintf (it->id, sizeof it->id, "00000000-0000-4000-8000-%012zu", i);
        it->kind = IH_KIND_COMMENT;      //  any kind but a revision: the index takes it
        for (uint32_t e = 0; e < it->ent_count; e++)
            it->ent [e].tlp = (ih_tlp_t) (it->ent [e].tlp % IH_TLP_COUNT);  //  as journaled
        it->body = (const uint8_t *) "body";
        it->body_len = 4;
        it->sig = it->rec_sig = sig;
        it->rec = rec;
        it->rec_len = sizeof rec;
        IH_CHECK (ih_journal_begin (j, &err) == 0);
        uint64_t seq;
        IH_CHECK (ih_journal_append (j, it, &seq, &err) == 0 && seq == i + 1);
        if (i < half) {
            ih_owed_stage (owed, it, seq);
            IH_CHECK (ih_owed_write (owed, j, &err) == IH_OK);
        }
        IH_CHECK (ih_journal_commit (j, &err) == 0);
        if (i < half)
            ih_owed_commit (owed);
    }
    s_check_members (owed, items, half, verbose);
    ih_owed_destroy (&owed);
    owed = ih_owed_new ();
    IH_CHECK (ih_owed_load (owed, j, &err) == IH_OK);
    s_check_members (owed, items, s_T_ITEMS, verbose);
    //  ... and the catch-up was stored: a second load reads it back without items to count
    ih_owed_destroy (&owed);
    owed = ih_owed_new ();
    IH_CHECK (ih_owed_load (owed, j, &err) == IH_OK);
    s_check_members (owed, items, s_T_ITEMS, verbose);
    ih_owed_destroy (&owed);

    ih_journal_destroy (&j);
    ih_tk_rmtree (dir);
    free (items);
    if (verbose)
        printf ("\n    ");
}
#endif
