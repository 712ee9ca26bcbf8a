/*  ih_analytics.h: the analytics' background work in a daemon that writes a store (the
    agent's `run`): the related-alerts index kept in step with the store, and the
    suggestion model retrained when enough new alerts have come in. Neither ever holds
    up ingest:
      - the loop thread copies new alerts out of the store (short reads, at most
        1,024 ahead of the index) while the agent is in step with the broker and not
        busy (below); a thread of its own at idle priority (SCHED_IDLE) indexes them in
        write transactions of the index's own (STORE/related, ih_related.h), never in
        the store's, and never reads the store: it takes only the CPU that storing
        leaves, and lags while the host's cores are busy storing (ih_analytics.c says
        why);
      - training runs in a child process (`infohub-agent -c CFG model train`, the
        running program itself), which reads the store read-only and replaces
        STORE/model atomically; at most one runs at a time, at nice 19.
    Retraining starts when the store holds at least IH_MODEL_MIN_ALERTS active alerts and
    there is no current model (missing or stale), or when the alerts grew by
    IH_ANALYTICS_RETRAIN (50) or 10 % of those the model was trained on, whichever is
    more, since it was trained; no sooner than IH_ANALYTICS_PAUSE_MS, nor than ten times
    the last training's length, after it; never while the agent is behind the broker;
    and while it is busy (alerts come in faster than IH_ANALYTICS_BUSY a second), only
    once it has been due for IH_ANALYTICS_DEFER_MS. While busy, the index waits too, and
    catches up after.

    Threading: the daemon's loop thread calls; the index has a thread of its own.
*/
#ifndef IH_ANALYTICS_H
#define IH_ANALYTICS_H

#include "ih_store.h"

#define IH_ANALYTICS_IDLE_MS    250         /* the ring's feed, and the indexer's look when idle */
#define IH_ANALYTICS_RETRAIN    50
#define IH_ANALYTICS_PAUSE_MS   10000
#define IH_ANALYTICS_BUSY       200         /* alerts/s from which the index and training wait */
#define IH_ANALYTICS_DEFER_MS   (15 * 60 * 1000)    /* and for at most so long */

typedef struct ih_analytics ih_analytics_t;

/*  Background analytics over store (the writer's handle), for the agent configured in
    cfg_path (the training child gets -c cfg_path). Returns NULL with err when the
    related index cannot be opened. */
ih_analytics_t *ih_analytics_new(ih_store_t *store, const char *cfg_path, ih_err_t *err);
/*  Stops: a training child still running is sent SIGTERM and reaped. Safe twice. */
void ih_analytics_destroy(ih_analytics_t **self_p);

/*  Feeds the index's ring; reaps or starts the training child; logs what it did (one
    line per event). Returns how soon (ms) it wants to be called again
    (IH_ANALYTICS_IDLE_MS, or 1000 while behind). behind: the caller is still catching
    up with the broker: the ring is not fed (storing comes first), and no training
    starts, as the store is about to change (one that runs is reaped). */
int ih_analytics_pump(ih_analytics_t *self, bool behind);

void ih_analytics_test(bool verbose);

#endif
