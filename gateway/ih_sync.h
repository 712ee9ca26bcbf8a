/*  ih_sync.h: the gateway's subscriber, an actor (czmq zactor) that runs the subscriber
    core (agents/ih_subscriber.h: receive, verify, store a batch per transaction,
    acknowledge) with the gateway identity, on the store's writer.

    What is the gateway's own: a filter that refuses anything that is not TLP:CLEAR
    (defence in depth: the broker already gives the gateway CLEAR only): an alert or
    sighting above CLEAR, and a comment or retraction of an alert the gateway does not
    hold as CLEAR, is logged as an error and not stored (the cursor passes it, as for an
    item that fails verification); and, after each commit, the TAXII date-added log
    (ih_added.h) catches up by walking the revisions the store kept (every revision,
    the stale ones that came late too: each is a version of its objects) from the log's
    cursor, which also repairs the log after a crash between the two commits; it indexes
    the alert of each own object as it goes.

    The actor publishes its state in the shared ih_gw_t (generation, head, connected,
    counters) for the HTTP threads. New alerts are visible to the next request: nothing
    restarts.
*/
#ifndef IH_SYNC_H
#define IH_SYNC_H

#include <czmq.h>

#include "ih_gw.h"

typedef struct {
    const char *endpoint;           /* broker endpoint */
    const char *broker_key;         /* Z85 */
    zcert_t *cert;                  /* the gateway's CURVE cert (borrowed until ih_sync_new returns) */
    uint8_t registry_pk [32];       /* pinned registry key */
    uint32_t window;                /* 0 = 1000 */
} ih_sync_cfg_t;

typedef struct ih_sync ih_sync_t;

/*  Starts the actor (it connects in the background). NULL with err when the client
    cannot be created (a bad endpoint or key). */
ih_sync_t *ih_sync_new(ih_gw_t *gw, const ih_sync_cfg_t *cfg, ih_err_t *err);
/*  Stops the actor (bye to the broker), waits for it; safe twice. */
void ih_sync_destroy(ih_sync_t **self_p);

/*  Brings the TAXII log up to the store (every alert revision the store holds past the
    log's cursor). Called by the actor after each commit and at start. Writer thread
    only. Returns the entries added, or -1 with err. */
int ih_sync_log_catch_up(ih_gw_t *gw, ih_err_t *err);

void ih_sync_test(bool verbose);

#endif
