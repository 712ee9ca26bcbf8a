/*  ih_http.h: the gateway's web server (libmicrohttpd) and what its route handlers share.

    THE SERVER. MHD with its own threads (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
    a pool of `threads`), GET and HEAD only (405 otherwise, with Allow). Limits: URI bytes
    (414), query arguments (400), header and request-line bytes (MHD's connection memory
    pool: 414/431), connections in total and per IP, and an idle timeout against slow
    clients. HTTPS with MHD's TLS when a certificate and key are configured.

    Every response carries Content-Security-Policy (default-src 'none'; style-src 'self';
    img-src 'self' data:; frame-ancestors 'none'; ...), X-Content-Type-Options: nosniff,
    Referrer-Policy: no-referrer and X-Frame-Options: DENY (and HSTS over TLS).

    CACHING. A generation counter (ih_gw_t gen), bumped by the subscriber right after
    every commit of the store or of the TAXII log, stands for everything a page shows. A route marks its 200 answer cacheable (r->etag): the answer gets
    ETag "<boot>-<generation>-<hash of URI>" and r->cache as Cache-Control, a request whose
    If-None-Match holds that tag gets 304 before any work, and the built response is kept
    in a small in-memory cache (MHD responses are reference counted and shared between
    connections) until the generation moves. Streams and errors are never cached.

    HANDLERS read the store through the calling thread's own handle (ih_req_store): LMDB
    allows one environment per process, so each HTTP thread has an ih_store_share handle
    on the subscriber's environment.

    Threading: ih_http_start/stop from the main thread; handlers run on MHD's threads.
*/
#ifndef IH_HTTP_H
#define IH_HTTP_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "ih_added.h"
#include "ih_metrics.h"
#include "ih_store.h"

/*  The running gateway, shared by the subscriber and the HTTP threads. */
typedef struct {
    const char *title;              /* site name on every page */
    char base_url [256];            /* absolute URL prefix for feeds (no trailing '/') */
    ih_store_t *store;              /* the subscriber's writer: readers share its env */
    ih_added_t *added;              /* TAXII date-added log */
    ih_metrics_t *metrics;
    int64_t started_ms;
    const char *broker_endpoint;

    /* written by the subscriber thread */
    _Atomic uint64_t gen;           /* bumped after every commit (store, TAXII log) */
    _Atomic uint64_t head;          /* the broker's head (welcome, pong) */
    _Atomic bool connected;
    _Atomic uint64_t stored;        /* items stored since start */
    _Atomic uint64_t refused;       /* items refused as not TLP:CLEAR */
    _Atomic uint64_t rejected;      /* items that failed verification */
    _Atomic int64_t last_commit_ms; /* wall clock of the last commit, 0 = none */
} ih_gw_t;

/*  Route labels (metrics) and kinds of error body. */
typedef enum {
    IH_R_INDEX = 0, IH_R_ALERT, IH_R_SEARCH, IH_R_TRENDS, IH_R_FEED, IH_R_API_ALERTS,
    IH_R_API_ALERT, IH_R_EXPORT_CSV, IH_R_EXPORT_STIX, IH_R_TAXII, IH_R_HEALTHZ, IH_R_METRICS,
    IH_R_STATIC, IH_R_OTHER, IH_R_COUNT
} ih_route_t;

/*  The IH_R_COUNT route labels, for ih_metrics_new. */
const char *const *ih_http_route_names(void);

/*  One request as a handler sees it; the handler fills the response part. */
typedef struct {
    ih_gw_t *gw;
    struct MHD_Connection *conn;
    const char *path;               /* decoded path, without the query */
    const char *uri;                /* the request target as received */
    uint64_t gen;                   /* generation when the request started */
    ih_route_t route;

    /* response */
    int status;                     /* 200 unless set */
    const char *ctype;              /* Content-Type (literal) */
    ih_buf_t body;
    const char *cache;              /* Cache-Control (literal); NULL = "no-store" */
    bool etag;                      /* cacheable: ETag, 304, response cache */
    int64_t salt;                   /* mixed into the ETag (e.g. the week for /trends) */
    int64_t expires_ms;             /* wall clock after which a cached copy is stale; 0 = never */
    bool vary_accept;
    int nhdr;
    char hdr [4][2][160];           /* extra headers (name, value) */
    struct MHD_Response *resp;      /* a handler's own response (a stream) instead of body */
} ih_req_t;

/*  A GET argument (decoded), or NULL. */
const char *ih_req_arg(ih_req_t *r, const char *key);
/*  A request header, or NULL. */
const char *ih_req_header(ih_req_t *r, const char *name);
/*  Adds a response header (up to 4; name and value are cut to fit). */
void ih_req_add_header(ih_req_t *r, const char *name, const char *value);
/*  This thread's read handle on the store (created on first use; the server frees it
    when it stops). ih_http_store is the same outside a request (a stream's callback). */
ih_store_t *ih_req_store(ih_req_t *r);
ih_store_t *ih_http_store(ih_gw_t *gw);
/*  Sets a plain error: status, and a body in the route's kind (HTML page, JSON object
    {"error": ...}, or a TAXII error message). msg is data: it is escaped. */
void ih_req_error(ih_req_t *r, int status, const char *msg);

/*  What the public may see: TLP:CLEAR alerts, whatever the store holds. The subscriber
    refuses anything else; every route checks again (defence in depth). */
bool ih_gw_visible(const ih_msg_t *m);

/* ---- the server ------------------------------------------------------------------------ */
typedef struct {
    const char *listen;             /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t port;                  /* 0 = any (see ih_http_port) */
    const char *tls_cert;           /* PEM file paths; both or none */
    const char *tls_key;
    unsigned threads;               /* 0 = 2 */
    unsigned max_conns;             /* 0 = 1024 */
    unsigned per_ip;                /* 0 = 100 */
    unsigned timeout_s;             /* idle timeout, 0 = 15 */
    size_t conn_memory;             /* per connection pool, 0 = 64 KiB */
    size_t max_uri;                 /* 0 = 2048 */
    bool verbose;                   /* log every request */
} ih_http_cfg_t;

typedef struct ih_http ih_http_t;

/*  Starts listening. NULL with err ("cannot listen on 127.0.0.1:8080: Address already
    in use", "tls-cert: cannot read ..."). */
ih_http_t *ih_http_start(ih_gw_t *gw, const ih_http_cfg_t *cfg, ih_err_t *err);
/*  The port bound. */
uint16_t ih_http_port(ih_http_t *self);
/*  Stops the server (waits for its threads), frees the per-thread store handles. */
void ih_http_stop(ih_http_t **self_p);

void ih_http_test(bool verbose);

#endif
