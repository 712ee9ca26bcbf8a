/*  ih_cache.c: a bounded, thread-safe cache of values by key (see ih_cache.h).

    A chained hash table and a doubly-linked list in order of use, most recent first,
    under one mutex. The hash is a multiply-and-shift mix of the key's 8-byte words with a
    seed drawn at creation: several times cheaper than SipHash on the 50 to 110-byte keys
    the gateway looks up 40 times a page (measured: SipHash was 3.5% of a render), and
    enough here, where keys name stored content (seqs, signatures) that nobody chooses
    freely; the table stays correct, only slower, whatever the chains.

    The table holds a reference to each item it lists, and every get or put hands out
    one more: whoever drops the last one (a release, or the table dropping an item that
    nobody holds) frees the item, so a release takes no lock.
*/
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>

#include "ih_cache.h"

struct ih_cache_item {
    ih_cache_item_t *chain;         /* next in the bucket */
    ih_cache_item_t *prev, *next;   /* the use list (table items only) */
    uint64_t hash;
    void *value;
    size_t size;                    /* as put */
    size_t cost;                    /* size + header + key: what counts against the bound */
    atomic_int refs;                /* the table's (while listed) and each holder's */
    size_t key_len;
    uint8_t key [];
};

struct ih_cache {
    pthread_mutex_t lock;
    ih_cache_item_t **buckets;
    size_t nbuckets;                /* a power of two */
    ih_cache_item_t use;            /* sentinel of the use list: use.next is the newest */
    ih_cache_free_fn *free_fn;
    uint64_t seed;
    ih_cache_stats_t st;
};

#define s_MIN_BUCKETS 64

ih_cache_t *
ih_cache_new (size_t max_bytes, ih_cache_free_fn *free_fn)
{
    if (sodium_init () < 0)
        abort ();
    ih_cache_t *self = (ih_cache_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    pthread_mutex_init (&self->lock, NULL);
    self->nbuckets = s_MIN_BUCKETS;
    self->buckets = (ih_cache_item_t **) calloc (self->nbuckets, sizeof *self->buckets);
    if (!self->buckets)
        abort ();
    self->use.prev = self->use.next = &self->use;
    self->free_fn = free_fn;
    self->st.max_bytes = max_bytes ? max_bytes : 1;
    randombytes_buf (&self->seed, sizeof self->seed);
    return self;
}

static void
s_item_free (ih_cache_t *self, ih_cache_item_t *it)
{
    if (self->free_fn)
        self->free_fn (it->value);
    else
        free (it->value);
    free (it);
}

void
ih_cache_destroy (ih_cache_t **self_p)
{
    ih_cache_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    for (ih_cache_item_t *it = self->use.next, *next; it != &self->use; it = next) {
        next = it->next;
        s_item_free (self, it);
    }
    free (self->buckets);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

static uint64_t
s_hash (ih_cache_t *self, const void *key, size_t len)
{
    const uint8_t *p = (const uint8_t *) key;
    uint64_t h = self->seed ^ ((uint64_t) len * 0x9e3779b97f4a7c15ULL);
    uint64_t w;                     //  words in the machine's order: a hash, not a format
    for (; len >= 8; p += 8, len -= 8) {
        memcpy (&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (len) {
        w = 0;
        memcpy (&w, p, len);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/*  The item under key in the table, or NULL. Lock held. */
static ih_cache_item_t *
s_find (ih_cache_t *self, uint64_t hash, const void *key, size_t len)
{
    for (ih_cache_item_t *it = self->buckets [hash & (self->nbuckets - 1)]; it; it = it->chain)
        if (it->hash == hash && it->key_len == len && memcmp (it->key, key, len) == 0)
            return it;
    return NULL;
}

static void
s_use_unlink (ih_cache_item_t *it)
{
    it->prev->next = it->next;
    it->next->prev = it->prev;
    it->prev = it->next = NULL;
}

static void
s_use_front (ih_cache_t *self, ih_cache_item_t *it)
{
    it->next = self->use.next;
    it->prev = &self->use;
    self->use.next->prev = it;
    self->use.next = it;
}

/*  Takes it out of the table and the use list and drops the table's reference; returns it
    when that was the last (the caller frees it after unlocking), else NULL (its last
    release frees it). Lock held. */
static ih_cache_item_t *
s_detach (ih_cache_t *self, ih_cache_item_t *it)
{
    ih_cache_item_t **p = &self->buckets [it->hash & (self->nbuckets - 1)];
    while (*p != it)
        p = &(*p)->chain;
    *p = it->chain;
    it->chain = NULL;
    s_use_unlink (it);
    self->st.items--;
    self->st.bytes -= it->cost;
    return atomic_fetch_sub_explicit (&it->refs, 1, memory_order_acq_rel) == 1 ? it : NULL;
}

/*  Doubles the table when it holds more items than buckets. Lock held. */
static void
s_grow (ih_cache_t *self)
{
    if (self->st.items <= self->nbuckets)
        return;
    size_t n = self->nbuckets * 2;
    ih_cache_item_t **b = (ih_cache_item_t **) calloc (n, sizeof *b);
    if (!b)
        return;                     //  longer chains, still correct
    for (size_t i = 0; i < self->nbuckets; i++)
        for (ih_cache_item_t *it = self->buckets [i], *next; it; it = next) {
            next = it->chain;
            it->chain = b [it->hash & (n - 1)];
            b [it->hash & (n - 1)] = it;
        }
    free (self->buckets);
    self->buckets = b;
    self->nbuckets = n;
}

ih_cache_item_t *
ih_cache_get (ih_cache_t *self, const void *key, size_t key_len)
{
    if (key_len == 0 || key_len > IH_CACHE_KEY_MAX)
        return NULL;
    uint64_t hash = s_hash (self, key, key_len);
    pthread_mutex_lock (&self->lock);
    ih_cache_item_t *it = s_find (self, hash, key, key_len);
    if (it) {
        atomic_fetch_add_explicit (&it->refs, 1, memory_order_relaxed);
        s_use_unlink (it);
        s_use_front (self, it);
        self->st.hits++;
    }
    else
        self->st.misses++;
    pthread_mutex_unlock (&self->lock);
    return it;
}

ih_cache_item_t *
ih_cache_put (ih_cache_t *self, const void *key, size_t key_len, void *value, size_t size)
{
    bool keyed = key_len > 0 && key_len <= IH_CACHE_KEY_MAX;
    size_t klen = keyed ? key_len : 0;
    ih_cache_item_t *it = (ih_cache_item_t *) calloc (1, sizeof *it + klen);
    if (!it)
        abort ();
    it->value = value;
    it->size = size;
    it->cost = size + sizeof *it + klen;
    atomic_init (&it->refs, 1);     //  the caller's
    it->key_len = klen;
    if (klen)
        memcpy (it->key, key, klen);
    if (!keyed || it->cost > self->st.max_bytes / 8)
        return it;                  //  used once, never kept: freed at its release
    it->hash = s_hash (self, key, key_len);
    //  Dropped items are freed after the lock is left; they are chained through `chain`.
    ih_cache_item_t *gone = NULL;
    pthread_mutex_lock (&self->lock);
    ih_cache_item_t *held = s_find (self, it->hash, key, key_len);
    if (held) {
        atomic_fetch_add_explicit (&held->refs, 1, memory_order_relaxed);
        pthread_mutex_unlock (&self->lock);
        s_item_free (self, it);
        return held;
    }
    while (self->st.bytes + it->cost > self->st.max_bytes && self->use.prev != &self->use) {
        ih_cache_item_t *old = s_detach (self, self->use.prev);
        self->st.dropped++;
        if (old) {
            old->chain = gone;
            gone = old;
        }
    }
    atomic_fetch_add_explicit (&it->refs, 1, memory_order_relaxed);     //  the table's
    size_t slot = it->hash & (self->nbuckets - 1);
    it->chain = self->buckets [slot];
    self->buckets [slot] = it;
    s_use_front (self, it);
    self->st.items++;
    self->st.bytes += it->cost;
    s_grow (self);
    pthread_mutex_unlock (&self->lock);
    while (gone) {
        ih_cache_item_t *next = gone->chain;
        s_item_free (self, gone);
        gone = next;
    }
    return it;
}

void
ih_cache_release (ih_cache_t *self, ih_cache_item_t **item_p)
{
    ih_cache_item_t *it = item_p ? *item_p : NULL;
    if (!it)
        return;
    *item_p = NULL;
    if (atomic_fetch_sub_explicit (&it->refs, 1, memory_order_acq_rel) == 1)
        s_item_free (self, it);
}

void *
ih_cache_value (const ih_cache_item_t *item)
{
    return item->value;
}

size_t
ih_cache_size (const ih_cache_item_t *item)
{
    return item->size;
}

void
ih_cache_clear (ih_cache_t *self)
{
    ih_cache_item_t *gone = NULL;
    pthread_mutex_lock (&self->lock);
    while (self->use.next != &self->use) {
        ih_cache_item_t *old = s_detach (self, self->use.next);
        if (old) {
            old->chain = gone;
            gone = old;
        }
    }
    pthread_mutex_unlock (&self->lock);
    while (gone) {
        ih_cache_item_t *next = gone->chain;
        s_item_free (self, gone);
        gone = next;
    }
}

void
ih_cache_stats (ih_cache_t *self, ih_cache_stats_t *st)
{
    pthread_mutex_lock (&self->lock);
    *st = self->st;
    pthread_mutex_unlock (&self->lock);
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static int s_tfreed;

static void
s_tfree (void *value)
{
    s_tfreed++;
    free (value);
}

static char *
s_tval (const char *s)
{
    char *v = strdup (s);
    IH_CHECK (v);
    return v;
}

typedef struct {
    ih_cache_t *cache;
    int id;
    int found;
} s_tthread_t;

static void *
s_tthread (void *arg)
{
    s_tthread_t *t = (s_tthread_t *) arg;
    for (int i = 0; i < 20000; i++) {
        char key [32];
        int n = snprintf (key, sizeof key, "k%d", i % 300);
        ih_cache_item_t *it = ih_cache_get (t->cache, key, (size_t) n);
        if (!it) {
            char *v = (char *) malloc (32);
            IH_CHECK (v);
            snprintf (v, 32, "v%d", i % 300);
            it = ih_cache_put (t->cache, key, (size_t) n, v, 32);
        }
        else
            t->found++;
        //  Whoever put it, the value is the key's.
        char want [32];
        snprintf (want, sizeof want, "v%d", i % 300);
        IH_CHECK (streq ((const char *) ih_cache_value (it), want));
        ih_cache_release (t->cache, &it);
    }
    return NULL;
}

void
ih_cache_test (bool verbose)
{
    s_tfreed = 0;
    //  Hits, misses, a put that races a put of the same key.
    ih_cache_t *c = ih_cache_new (100000, s_tfree);
    IH_CHECK (ih_cache_get (c, "a", 1) == NULL);
    ih_cache_item_t *it = ih_cache_put (c, "a", 1, s_tval ("one"), 4);
    IH_CHECK (streq ((const char *) ih_cache_value (it), "one") && ih_cache_size (it) == 4);
    ih_cache_release (c, &it);
    IH_CHECK (it == NULL);
    ih_cache_release (c, &it);                  //  safe with NULL
    it = ih_cache_get (c, "a", 1);
    IH_CHECK (it && streq ((const char *) ih_cache_value (it), "one"));
    ih_cache_item_t *again = ih_cache_put (c, "a", 1, s_tval ("two"), 4);
    IH_CHECK (again == it && s_tfreed == 1);    //  the newcomer freed, the held one kept
    ih_cache_release (c, &again);
    ih_cache_release (c, &it);
    //  Keys are bytes: "a" and "a\0" differ; bad lengths are neither found nor kept.
    IH_CHECK (ih_cache_get (c, "a\0", 2) == NULL);
    IH_CHECK (ih_cache_get (c, "a", 0) == NULL);
    uint8_t big [IH_CACHE_KEY_MAX + 1] = { 0 };
    IH_CHECK (ih_cache_get (c, big, sizeof big) == NULL);
    it = ih_cache_put (c, big, sizeof big, s_tval ("unkept"), 7);
    IH_CHECK (streq ((const char *) ih_cache_value (it), "unkept"));
    ih_cache_release (c, &it);
    IH_CHECK (s_tfreed == 2 && ih_cache_get (c, big, sizeof big) == NULL);
    ih_cache_stats_t st;
    ih_cache_stats (c, &st);
    IH_CHECK (st.items == 1 && st.hits == 1 && st.misses == 2);
    ih_cache_destroy (&c);
    IH_CHECK (s_tfreed == 3 && c == NULL);
    ih_cache_destroy (&c);

    //  The bound: the least recently used go first; a held item outlives its drop; a
    //  value above an eighth of the bound is used once.
    s_tfreed = 0;
    c = ih_cache_new (20000, s_tfree);
    char key [32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf (key, sizeof key, "key %d", i);
        it = ih_cache_put (c, key, (size_t) n, s_tval ("x"), 100);
        ih_cache_release (c, &it);
    }
    ih_cache_stats (c, &st);
    IH_CHECK (st.bytes <= 20000 && st.items > 50 && st.items < 200 && st.dropped == 1000 - st.items);
    if (verbose)
        printf ("\n    bound 20000: %" PRIu64 " items, %" PRIu64 " bytes", st.items, st.bytes);
    IH_CHECK (s_tfreed == (int) st.dropped);
    IH_CHECK ((it = ih_cache_get (c, "key 999", 7)) != NULL);
    ih_cache_release (c, &it);
    IH_CHECK (ih_cache_get (c, "key 1", 5) == NULL);
    //  The oldest held, used again, outlives the next oldest.
    int low = 0;
    for (; low < 1000; low++) {
        int n = snprintf (key, sizeof key, "key %d", low);
        if ((it = ih_cache_get (c, key, (size_t) n)) != NULL)
            break;
    }
    IH_CHECK (it && low > 0);
    ih_cache_release (c, &it);
    it = ih_cache_put (c, "one more", 8, s_tval ("x"), 100);
    ih_cache_release (c, &it);
    int n = snprintf (key, sizeof key, "key %d", low);
    IH_CHECK ((it = ih_cache_get (c, key, (size_t) n)) != NULL);
    ih_cache_release (c, &it);
    n = snprintf (key, sizeof key, "key %d", low + 1);
    IH_CHECK (ih_cache_get (c, key, (size_t) n) == NULL);
    ih_cache_item_t *held = ih_cache_get (c, "key 998", 7);
    IH_CHECK (held);
    ih_cache_clear (c);
    IH_CHECK (streq ((const char *) ih_cache_value (held), "x"));   //  dropped, not freed
    ih_cache_release (c, &held);
    ih_cache_stats (c, &st);
    IH_CHECK (st.items == 0 && st.bytes == 0 && s_tfreed == 1001);
    it = ih_cache_put (c, "huge", 4, s_tval ("h"), 5000);
    ih_cache_release (c, &it);
    IH_CHECK (ih_cache_get (c, "huge", 4) == NULL && s_tfreed == 1002);
    ih_cache_destroy (&c);

    //  Threads: gets and racing puts of the same keys, some dropped under them.
    c = ih_cache_new (12000, NULL);       //  about 100 of the 300 keys: drops under the threads
    s_tthread_t t [4];
    pthread_t th [4];
    for (int i = 0; i < 4; i++) {
        t [i] = (s_tthread_t) { c, i, 0 };
        IH_CHECK (pthread_create (&th [i], NULL, s_tthread, &t [i]) == 0);
    }
    int found = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join (th [i], NULL);
        found += t [i].found;
    }
    ih_cache_stats (c, &st);
    if (verbose)
        printf ("\n    threads: %d hits of 80000; %" PRIu64 " items, %" PRIu64 " bytes, %" PRIu64
                " dropped\n    ", found, st.items, st.bytes, st.dropped);
    IH_CHECK (found > 0 && st.bytes <= 12000 && st.dropped > 0);
    ih_cache_destroy (&c);
}
#endif
