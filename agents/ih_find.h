/*  ih_find.h: what a person types in a search box, looked up in the store: the alerts
    whose IOCs match it as a value (defanged or not; an IP also finds the networks that
    contain it, a network what lies inside it, a domain its parents and subdomains:
    ih_store_search), and the alerts that have every word of it (the store's word index:
    titles, summaries and textual IOC values, ih_store_words). The Public Zone's /search
    and the Members Zone's alert list mean the same thing by the same query.

    The word search is a walk of the word index, one group per word, the rarest first,
    newest alert first, within a budget of records (ih_store_walk_t): words that rarely
    meet stop early, and f->cut says so.

    Threading: an ih_find_t is a value; a search runs on the caller's store handle.
*/
#ifndef IH_FIND_H
#define IH_FIND_H

#include "ih_store.h"

#define IH_FIND_MAX         100     /* alerts found at most */
#define IH_FIND_QUERY       256     /* bytes of a query */
#define IH_FIND_WORDS       IH_STORE_WALK_GROUPS   /* words of a query that count */

/*  Whether a word hit is kept (the caller's rule: the gateway keeps CLEAR, active ones). */
typedef bool (ih_find_keep_fn)(const ih_msg_t *m, const ih_store_alert_t *info, void *arg);

typedef struct {
    char ids [IH_FIND_MAX][IH_UUID_LEN + 1];    /* IOC hits first, then word hits, newest first */
    int n;
    bool ioc;                       /* the query is an IOC value ... */
    ih_ioc_type_t ioc_type;
    char ioc_value [IH_MAX_IOC_VALUE + 1];      /* ... in this normal form */
    char words [IH_FIND_WORDS][IH_STORE_WORD_MAX + 1];
    int nwords;
    bool full;                      /* IH_FIND_MAX reached: there may be more */
    uint64_t cut;                   /* the word walk's budget ran out here (0: it did not) */
} ih_find_t;

/*  Searches q (trimmed by the caller, at most IH_FIND_QUERY bytes) into f (zeroed first).
    keep (NULL: keep all) filters the word hits; IOC hits are all reported (retracted
    ones too: the caller shows or drops them). budget as ih_store_walk_t's (0: none).
    Returns 0, or -1 with err (the store). */
int ih_find_run(ih_store_t *store, const char *q, uint64_t budget, ih_find_keep_fn *keep, void *arg,
                ih_find_t *f, ih_err_t *err);

void ih_find_test(bool verbose);

#endif
