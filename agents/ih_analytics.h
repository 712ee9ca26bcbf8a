/*  ih_analytics.h: the analytics' background work in a daemon that writes a store (the
    agent's `run`): the related-alerts index kept in step with the store after each
    commit, and the suggestion model retrained when enough new alerts have come in.
    Neither ever blocks ingest:
      - ih_analytics_pump indexes at most IH_ANALYTICS_BATCH new alerts per call, in a
        write transaction of the index's own (STORE/related, ih_related.h), never in
        the store's;
      - training runs in a child process (`infohub-agent -c CFG model train`, the
        running program itself), which reads the store read-only and replaces
        STORE/model atomically; at most one runs at a time, at nice 19.
    Retraining starts when the store holds at least IH_MODEL_MIN_ALERTS active alerts and
    there is no current model (missing or stale), or when the alerts grew by
    IH_ANALYTICS_RETRAIN (50) or 10 % of those the model was trained on, whichever is
    more, since it was trained; at most every 10 s.

    Threading: the daemon's loop thread only.
*/
#ifndef IH_ANALYTICS_H
#define IH_ANALYTICS_H

#include "ih_store.h"

#define IH_ANALYTICS_BATCH      64          /* 10-20 ms of indexing: deliveries are read between steps */
#define IH_ANALYTICS_RETRAIN    50
#define IH_ANALYTICS_PAUSE_MS   10000

typedef struct ih_analytics ih_analytics_t;

/*  Background analytics over store (the writer's handle), for the agent configured in
    cfg_path (the training child gets -c cfg_path). Returns NULL with err when the
    related index cannot be opened. */
ih_analytics_t *ih_analytics_new(ih_store_t *store, const char *cfg_path, ih_err_t *err);
/*  Stops: a training child still running is sent SIGTERM and reaped. Safe twice. */
void ih_analytics_destroy(ih_analytics_t **self_p);

/*  Does a bounded step: indexes new alerts, reaps or starts the training child. Logs
    what it did (one line per event). Returns how soon (ms) it wants to be called
    again: 0 while the index is catching up, else 1000. behind: the caller is still
    catching up with the broker (the agent's `run` calls then at most once a second):
    the step indexes a tenth as many alerts, and no training starts, as the store is
    about to change (one that runs is reaped). */
int ih_analytics_pump(ih_analytics_t *self, bool behind);

void ih_analytics_test(bool verbose);

#endif
