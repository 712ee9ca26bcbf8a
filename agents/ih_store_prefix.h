/*  ih_store_prefix.h: alerts of the store (ih_store.h) found by the start of their id, as
    git finds a commit: `show 3f2a9c` for `show 3f2a9c41-…`.

    The store keeps alerts by id in LMDB's byte order, so the ids that start with a
    prefix are neighbours: one cursor positioned at the prefix (MDB_SET_RANGE) walks
    exactly them. A lookup costs one B-tree descent and as many steps as it reports.

    It reads through the store's own handle and is written apart from the store's three
    files (ih_store_int.h) only to keep them as they are; it follows their rules: its own
    read transaction, ended before it returns, nothing borrowed from the map.

    Threading: as the ih_store_t it is given (one thread).
*/
#ifndef IH_STORE_PREFIX_H
#define IH_STORE_PREFIX_H

#include "ih_store.h"

/*  The shortest prefix ih_store_find_prefix takes: shorter ones match too much to mean
    one alert. */
#define IH_STORE_PREFIX_MIN  4

/*  Whether s can start an alert id: 1 to IH_UUID_LEN characters, each a lower-case hex
    digit or '-' (where a UUID has its dashes). Callers lower the case first. */
bool ih_store_prefix_valid(const char *s);

/*  Finds the alerts whose id starts with prefix (ih_store_prefix_valid, at least
    IH_STORE_PREFIX_MIN characters), in id order: ids [0 .. min(found, max) - 1] get
    the first of them (ids may be NULL when max is 0). Returns how many ids start with
    prefix (all are counted: at least 16 bits of the id are given, so they are few),
    or -1 with err when prefix is not valid ("'abc': too short; give at least 4
    characters of the id") or the store cannot be read. */
int ih_store_find_prefix(ih_store_t *self, const char *prefix, char (*ids)[IH_UUID_LEN + 1],
                         size_t max, ih_err_t *err);

void ih_store_prefix_test(bool verbose);

#endif
