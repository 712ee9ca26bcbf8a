/*  ih_cache.h: a bounded, thread-safe cache of values by key, for work that a server
    would otherwise redo on every request (the gateway: decoded alerts, rendered cards).

    KEYS NAME CONTENT. A key is a byte string (1..IH_CACHE_KEY_MAX bytes) that the
    caller builds from whatever identifies the value's inputs exactly (an alert's id, the
    seq of its latest revision and its signature; a card's alert, revision and status).
    Nothing here invalidates: a value whose inputs changed is simply never asked for
    again under its old key, and ages out. So a cache can never answer stale as long as
    the key covers every input of the value: that is the caller's rule, written beside
    each key it builds.

    BOUND. max_bytes bounds the bytes held: each value's size as the caller states it at
    ih_cache_put, plus the item's own header and key. When a put goes over, the least
    recently used items are dropped until it fits. A value larger than an eighth of the
    bound is not kept (it is handed back, used once, freed at its release), so that one
    huge value cannot empty the cache.

    REFERENCES. ih_cache_get and ih_cache_put hand back an item with a reference held:
    its value stays valid, and unchanged, until ih_cache_release, even if the item is
    dropped meanwhile (then it is freed at the last release). Values are read-only once
    put: any number of threads may read one value at a time.

    Threading: every function may be called from any thread; one mutex guards the table
    (held for a lookup or an insertion, never while a value is built or freed; a release
    only counts the item's references down).
*/
#ifndef IH_CACHE_H
#define IH_CACHE_H

#include "ih_util.h"

#define IH_CACHE_KEY_MAX    128     /* bytes of a key */

typedef struct ih_cache ih_cache_t;
typedef struct ih_cache_item ih_cache_item_t;

/*  Frees a value the cache drops (called without the cache's lock held). */
typedef void (ih_cache_free_fn)(void *value);

/*  A cache of at most max_bytes (> 0); free_fn frees a value it drops (NULL: free()).
    Never NULL. */
ih_cache_t *ih_cache_new(size_t max_bytes, ih_cache_free_fn *free_fn);
/*  Frees every value; no item may still be held. Safe twice; nulls *self_p. */
void ih_cache_destroy(ih_cache_t **self_p);

/*  The item under key, with a reference held (release it), or NULL when absent (or when
    key_len is 0 or above IH_CACHE_KEY_MAX). */
ih_cache_item_t *ih_cache_get(ih_cache_t *self, const void *key, size_t key_len);
/*  Puts value (size bytes, as counted against the bound) under key: the cache owns value
    from now on. When another thread put the same key meanwhile, value is freed and the
    item already held is returned. Returns the item with a reference held (release it):
    never NULL, also when the value is not kept (see BOUND, or a bad key length). */
ih_cache_item_t *ih_cache_put(ih_cache_t *self, const void *key, size_t key_len, void *value,
                              size_t size);
/*  Drops the reference; nulls *item_p; safe with NULL. */
void ih_cache_release(ih_cache_t *self, ih_cache_item_t **item_p);
/*  The item's value and its size (as put). Borrowed until the release. */
void *ih_cache_value(const ih_cache_item_t *item);
size_t ih_cache_size(const ih_cache_item_t *item);

/*  Drops every item (those held are freed at their release). */
void ih_cache_clear(ih_cache_t *self);

typedef struct {
    uint64_t items;             /* held now */
    uint64_t bytes;             /* counted against the bound now */
    uint64_t max_bytes;
    uint64_t hits, misses;      /* ih_cache_get answers since the start */
    uint64_t dropped;           /* items dropped to keep the bound */
} ih_cache_stats_t;
void ih_cache_stats(ih_cache_t *self, ih_cache_stats_t *st);

void ih_cache_test(bool verbose);

#endif
