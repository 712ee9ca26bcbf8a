/*  ih_http_int.h: the inside of the web layer's server (ih_http.h), shared by ih_http.c,
    its streams (ih_http_stream.c) and its self-test (ih_http_test.c) only. Nothing else
    includes it.
*/
#ifndef IH_HTTP_INT_H
#define IH_HTTP_INT_H

#include <pthread.h>

#include "ih_http.h"
#include "ih_workq.h"

#define IH_HTTP_CACHE_SLOTS 512
#define IH_HTTP_MAX_HANDLES 256
#define IH_HTTP_TAG_MAX     40              /* an ETag: 32 hex digits in quotes, and a NUL */

/*  Response cache: direct-mapped by the hash of the URI. */
typedef struct {
    uint64_t hash;
    uint64_t gen;
    char *uri;
    const ih_http_route_t *route;
    int64_t expires_ms;
    char tag [IH_HTTP_TAG_MAX];     /* its ETag, for a 304 */
    const char *cache;              /* Cache-Control, for a 304 */
    size_t bytes;
    struct MHD_Response *resp;
} ih_http_slot_t;

struct ih_http {
    ih_http_cfg_t cfg;
    uint64_t serial;                /* names this server in the threads' values */
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool tls;
    char *tls_cert_pem, *tls_key_pem;

    /* routes, and the metrics labels they share (fixed once started) */
    ih_http_route_t routes [IH_HTTP_MAX_ROUTES];
    size_t path_len [IH_HTTP_MAX_ROUTES];
    int label_of [IH_HTTP_MAX_ROUTES];          /* index in labels */
    int nroutes;
    const char *labels [IH_HTTP_MAX_ROUTES + 1];
    int nlabels;
    int other;                                  /* the label of unrouted requests */
    ih_metrics_t *metrics;
    ih_workq_t *workq;              /* the handlers' threads (from start) */

    pthread_mutex_t mx;             /* cache and handle list */
    ih_http_slot_t cache [IH_HTTP_CACHE_SLOTS];
    size_t cache_bytes;
    void *handles [IH_HTTP_MAX_HANDLES];
    int nhandles;
};

/*  The client's address of conn as the workers share them out (ih_workq_key). */
void ih_http_conn_key (struct MHD_Connection *conn, uint8_t key [IH_WORKQ_KEY]);

/*  True when an If-None-Match header value lists tag (or is "*"). */
bool ih_http_inm_match(const char *inm, const char *tag);

#endif
