/*  ih_reccache.c: member records verified once (see ih_reccache.h).

    A chained hash table of the records that verified: the bucket comes from a keyed hash
    of the signature and the bytes, the entry is found by comparing both whole.
*/
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#include "ih_client.h"
#include "ih_reccache.h"

typedef struct s_entry {
    struct s_entry *next;
    uint64_t hash;
    ih_member_t rec;                /* the decoded record */
    uint8_t sig [64];
    size_t len;
    uint8_t bytes [];               /* the record as delivered */
} s_entry_t;

struct ih_reccache {
    uint8_t registry_pk [32];
    uint8_t key [crypto_generichash_KEYBYTES];
    size_t max, count;
    size_t nbuckets;                /* a power of two, at least 2 x max */
    s_entry_t **buckets;
    uint64_t hits, misses;
};

ih_reccache_t *
ih_reccache_new (const uint8_t registry_pk [32], size_t max)
{
    ih_reccache_t *self = (ih_reccache_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    memcpy (self->registry_pk, registry_pk, 32);
    randombytes_buf (self->key, sizeof self->key);
    self->max = max ? max : IH_RECCACHE_MAX;
    self->nbuckets = 16;
    while (self->nbuckets < 2 * self->max)
        self->nbuckets *= 2;
    self->buckets = (s_entry_t **) calloc (self->nbuckets, sizeof *self->buckets);
    if (!self->buckets)
        abort ();
    return self;
}

static void
s_clear (ih_reccache_t *self)
{
    for (size_t b = 0; b < self->nbuckets; b++) {
        s_entry_t *e = self->buckets [b];
        while (e) {
            s_entry_t *next = e->next;
            free (e);
            e = next;
        }
        self->buckets [b] = NULL;
    }
    self->count = 0;
}

void
ih_reccache_destroy (ih_reccache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_reccache_t *self = *self_p;
    s_clear (self);
    free (self->buckets);
    sodium_memzero (self->key, sizeof self->key);
    free (self);
    *self_p = NULL;
}

static uint64_t
s_hash (ih_reccache_t *self, const ih_item_t *item)
{
    crypto_generichash_state st;
    uint8_t out [crypto_generichash_BYTES_MIN];
    crypto_generichash_init (&st, self->key, sizeof self->key, sizeof out);
    crypto_generichash_update (&st, item->rec_sig, 64);
    crypto_generichash_update (&st, item->rec, item->rec_len);
    crypto_generichash_final (&st, out, sizeof out);
    uint64_t h;
    memcpy (&h, out, sizeof h);
    return h;
}

int
ih_reccache_verify (ih_reccache_t *self, const ih_item_t *item, ih_member_t *rec, ih_err_t *err)
{
    uint64_t h = s_hash (self, item);
    size_t b = (size_t) h & (self->nbuckets - 1);
    for (s_entry_t *e = self->buckets [b]; e; e = e->next)
        if (e->hash == h && e->len == item->rec_len
        &&  memcmp (e->sig, item->rec_sig, 64) == 0
        &&  memcmp (e->bytes, item->rec, item->rec_len) == 0) {
            self->hits++;
            *rec = e->rec;
            return 0;
        }
    self->misses++;
    if (ih_client_verify_record (item, self->registry_pk, rec, err) != 0)
        return -1;              //  never kept: a forged record is refused every time
    if (self->count >= self->max)
        s_clear (self);
    s_entry_t *e = (s_entry_t *) malloc (sizeof *e + item->rec_len);
    if (!e)
        abort ();
    e->hash = h;
    e->rec = *rec;
    memcpy (e->sig, item->rec_sig, 64);
    e->len = item->rec_len;
    memcpy (e->bytes, item->rec, item->rec_len);
    e->next = self->buckets [b];
    self->buckets [b] = e;
    self->count++;
    return 0;
}

size_t
ih_reccache_size (ih_reccache_t *self)
{
    return self->count;
}

uint64_t
ih_reccache_hits (ih_reccache_t *self)
{
    return self->hits;
}

uint64_t
ih_reccache_misses (ih_reccache_t *self)
{
    return self->misses;
}

/* ---- self-test ------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static bool
s_same_rec (const ih_member_t *a, const ih_member_t *b)
{
    return streq (a->name, b->name) && streq (a->org, b->org) && streq (a->sector, b->sector)
        && a->role == b->role && memcmp (a->curve, b->curve, 32) == 0
        && memcmp (a->sign, b->sign, 32) == 0 && a->created == b->created
        && a->gateway == b->gateway;
}

/*  The cache's answer and ih_client_verify_record's must be the same, error included. */
static int
s_check_same (ih_reccache_t *cache, const ih_item_t *it, const uint8_t reg_pk [32])
{
    ih_member_t a, b;
    ih_err_t ea = { "" }, eb = { "" };
    int ra = ih_reccache_verify (cache, it, &a, &ea);
    int rb = ih_client_verify_record (it, reg_pk, &b, &eb);
    IH_CHECK (ra == rb);
    IH_CHECK (streq (ea.msg, eb.msg));
    IH_CHECK (s_same_rec (&a, &b));
    return ra;
}

void
ih_reccache_test (bool verbose)
{
    ih_tk_keypair_t reg, other;
    ih_tk_keypair (&reg);
    ih_tk_keypair (&other);
    ih_tk_member_t soc, analyst, forger;
    ih_tk_member (&soc, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_tk_member (&analyst, &reg, "analyst", "bank-b", NULL, IH_ROLE_READER);
    ih_tk_member (&forger, &other, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_msg_t m;
    ih_tk_alert (&m, &soc, IH_TLP_GREEN, "cached");
    ih_tk_item_t t;
    ih_tk_item (&t, &m, &soc, 1);
    ih_item_t it = t.item;

    ih_reccache_t *cache = ih_reccache_new (reg.pk, 0);
    //  1. The first time verifies; the same bytes again are answered from the cache.
    IH_CHECK (s_check_same (cache, &it, reg.pk) == 0);
    IH_CHECK (ih_reccache_misses (cache) == 1 && ih_reccache_hits (cache) == 0);
    for (int i = 0; i < 3; i++)
        IH_CHECK (s_check_same (cache, &it, reg.pk) == 0);
    IH_CHECK (ih_reccache_misses (cache) == 1 && ih_reccache_hits (cache) == 3);
    IH_CHECK (ih_reccache_size (cache) == 1);
    //  … from another buffer with the same bytes too
    uint8_t copy [1024], sig [64];
    IH_CHECK (it.rec_len <= sizeof copy);
    memcpy (copy, it.rec, it.rec_len);
    memcpy (sig, it.rec_sig, 64);
    ih_item_t cit = it;
    cit.rec = copy;
    cit.rec_sig = sig;
    IH_CHECK (s_check_same (cache, &cit, reg.pk) == 0);
    IH_CHECK (ih_reccache_hits (cache) == 4);

    //  2. A record changed after it verified never hits: every byte of it, and of its
    //     signature, flipped in turn is verified afresh and refused (or, for a byte the
    //     decoder rejects first, refused by the decoder).
    uint64_t misses = ih_reccache_misses (cache);
    for (size_t i = 0; i < cit.rec_len; i++) {
        copy [i] ^= 0x20;
        IH_CHECK (s_check_same (cache, &cit, reg.pk) == -1);
        copy [i] ^= 0x20;
    }
    for (size_t i = 0; i < 64; i++) {
        sig [i] ^= 1;
        IH_CHECK (s_check_same (cache, &cit, reg.pk) == -1);
        sig [i] ^= 1;
    }
    //  A shorter record (the same first bytes) does not hit either.
    cit.rec_len--;
    IH_CHECK (s_check_same (cache, &cit, reg.pk) == -1);
    cit.rec_len++;
    IH_CHECK (ih_reccache_misses (cache) == misses + it.rec_len + 64 + 1);
    IH_CHECK (ih_reccache_size (cache) == 1);      //  refused records are never kept
    //  … nor does a record signed by another registry, however often it comes
    ih_item_t fit = it;
    fit.rec = forger.rec_bytes.data;
    fit.rec_len = forger.rec_bytes.len;
    fit.rec_sig = forger.rec_sig;
    for (int i = 0; i < 3; i++) {
        ih_err_t err = { "" };
        ih_member_t r;
        IH_CHECK (ih_reccache_verify (cache, &fit, &r, &err) == -1);
        IH_CHECK (streq (err.msg, "member record: bad signature"));
        IH_CHECK (streq (r.name, "soc"));      //  named for the log line
    }
    IH_CHECK (ih_reccache_size (cache) == 1);
    //  A genuine record of another member is its own entry, with its own fields.
    ih_item_t ait = it;
    ait.rec = analyst.rec_bytes.data;
    ait.rec_len = analyst.rec_bytes.len;
    ait.rec_sig = analyst.rec_sig;
    IH_CHECK (s_check_same (cache, &ait, reg.pk) == 0);
    IH_CHECK (s_check_same (cache, &ait, reg.pk) == 0);
    ih_member_t r;
    IH_CHECK (ih_reccache_verify (cache, &ait, &r, NULL) == 0);
    IH_CHECK (streq (r.name, "analyst") && r.role == IH_ROLE_READER);
    IH_CHECK (ih_reccache_verify (cache, &it, &r, NULL) == 0);
    IH_CHECK (streq (r.name, "soc") && r.role == IH_ROLE_PUBLISHER);
    IH_CHECK (ih_reccache_size (cache) == 2);
    //  The registry re-issues soc's record: another role, then a new signing key. Each
    //  is other bytes, so each is verified on its own (a miss) and answered with its own
    //  fields; the record it replaced still answers with its old ones.
    ih_tk_member_t demoted = soc, rekeyed;
    ih_buf_init (&demoted.rec_bytes);
    demoted.rec.role = IH_ROLE_READER;
    IH_CHECK (ih_member_encode (&demoted.rec, &demoted.rec_bytes, NULL) == 0);
    ih_sign (demoted.rec_sig, IH_CTX_MEMBER, demoted.rec_bytes.data, demoted.rec_bytes.len, reg.sk);
    ih_tk_member (&rekeyed, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    IH_CHECK (memcmp (rekeyed.rec.sign, soc.rec.sign, 32) != 0);
    ih_item_t dit = it, kit = it;
    dit.rec = demoted.rec_bytes.data;
    dit.rec_len = demoted.rec_bytes.len;
    dit.rec_sig = demoted.rec_sig;
    kit.rec = rekeyed.rec_bytes.data;
    kit.rec_len = rekeyed.rec_bytes.len;
    kit.rec_sig = rekeyed.rec_sig;
    misses = ih_reccache_misses (cache);
    IH_CHECK (s_check_same (cache, &dit, reg.pk) == 0);
    IH_CHECK (ih_reccache_misses (cache) == misses + 1);
    IH_CHECK (ih_reccache_verify (cache, &dit, &r, NULL) == 0 && r.role == IH_ROLE_READER);
    IH_CHECK (s_check_same (cache, &kit, reg.pk) == 0);
    IH_CHECK (ih_reccache_misses (cache) == misses + 2);
    IH_CHECK (ih_reccache_verify (cache, &kit, &r, NULL) == 0 && memcmp (r.sign, rekeyed.rec.sign, 32) == 0);
    IH_CHECK (ih_reccache_verify (cache, &it, &r, NULL) == 0);
    IH_CHECK (r.role == IH_ROLE_PUBLISHER && memcmp (r.sign, soc.rec.sign, 32) == 0);
    IH_CHECK (ih_reccache_misses (cache) == misses + 2 && ih_reccache_size (cache) == 4);
    //  … and a forged change (the role byte edited, the old signature kept) is refused
    //  every time, never kept.
    ih_item_t xit = dit;
    xit.rec_sig = soc.rec_sig;
    for (int i = 0; i < 3; i++)
        IH_CHECK (s_check_same (cache, &xit, reg.pk) == -1);
    IH_CHECK (ih_reccache_misses (cache) == misses + 5 && ih_reccache_size (cache) == 4);
    ih_buf_free (&demoted.rec_bytes);
    ih_tk_member_free (&rekeyed);
    //  A cache for another registry refuses what this one holds.
    ih_reccache_t *other_cache = ih_reccache_new (other.pk, 0);
    IH_CHECK (s_check_same (other_cache, &it, other.pk) == -1);
    IH_CHECK (s_check_same (other_cache, &fit, other.pk) == 0);
    ih_reccache_destroy (&other_cache);
    ih_reccache_destroy (&cache);
    ih_reccache_destroy (&cache);
    IH_CHECK (cache == NULL);

    //  3. The bound: 3 records in a cache of 2 never hold more than 2, and every answer
    //     stays right.
    ih_tk_member_t many [3];
    for (int i = 0; i < 3; i++) {
        char name [16];
        snprintf (name, sizeof name, "m%d", i);
        ih_tk_member (&many [i], &reg, name, "bank-c", NULL, IH_ROLE_PUBLISHER);
    }
    cache = ih_reccache_new (reg.pk, 2);
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 3; i++) {
            ih_item_t mit = it;
            mit.rec = many [i].rec_bytes.data;
            mit.rec_len = many [i].rec_bytes.len;
            mit.rec_sig = many [i].rec_sig;
            IH_CHECK (s_check_same (cache, &mit, reg.pk) == 0);
            IH_CHECK (ih_reccache_size (cache) <= 2);
            IH_CHECK (ih_reccache_verify (cache, &mit, &r, NULL) == 0);
            char name [16];
            snprintf (name, sizeof name, "m%d", i);
            IH_CHECK (streq (r.name, name));
        }
    if (verbose)
        printf ("\n    bound 2: %" PRIu64 " hits, %" PRIu64 " misses\n    ",
                ih_reccache_hits (cache), ih_reccache_misses (cache));
    ih_reccache_destroy (&cache);
    for (int i = 0; i < 3; i++)
        ih_tk_member_free (&many [i]);
    ih_tk_item_free (&t);
    ih_msg_free (&m);
    ih_tk_member_free (&soc);
    ih_tk_member_free (&analyst);
    ih_tk_member_free (&forger);
}
#endif
