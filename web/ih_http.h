/*  ih_http.h: the web layer's HTTP server (libmicrohttpd), for every front end: the
    Public Zone (gateway/) and the Members Zone console. The server knows no route: a
    front end registers its routes, and its own state reaches the handlers through an
    opaque pointer (ih_req_t app).

    LAYERING. web/ is the generic part of a web front end and depends on proto/ only:
      ih_http     this server: limits, TLS, routing, security headers, caching, errors
      ih_html     escaping, URL checks, Markdown (every byte of data goes through it)
      ih_layout   the page shell (head, navigation, footer), stylesheet, icon, error pages
      ih_svg      inline SVG charts
      ih_metrics  request counters and latency histograms per route label
    A front end is a state type, a route table and a site description (the gateway's is
    gateway/ih_gw.{h,c}); its route modules include its header and web/'s, never one
    another's, and nothing in web/ includes a front end.

    THE SERVER. MHD with its own threads (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
    a pool of `threads`), GET and HEAD only (405 otherwise, with Allow). Limits: URI bytes
    (414), query arguments (400), header and request-line bytes (MHD's connection memory
    pool: 414/431), connections in total and per IP, and an idle timeout against slow
    clients. HTTPS with MHD's TLS when a certificate and key are configured.

    Every response carries Content-Security-Policy (IH_HTTP_CSP unless the front end gives
    its own: no script anywhere), X-Content-Type-Options: nosniff, Referrer-Policy:
    no-referrer, X-Frame-Options: DENY, Cross-Origin-Resource-Policy: same-origin (and HSTS
    over TLS).

    ROUTES. Before starting, a front end registers its routes (ih_http_route): a path, exact
    or a prefix; a label for the metrics (several routes may share one); a handler; and
    how its errors look (an HTML page, a JSON object, or the front end's own callback, e.g.
    a TAXII error message). Routes are tried in the order registered; the first match
    handles the request. A request no route matches gets 404 with an HTML error, under the
    label "other". The handler reads the request (ih_req_arg, ih_req_header, r->path) and
    fills the response part of ih_req_t, or calls ih_req_error.

    METHODS. Only GET and HEAD are served today, for every route. Room for POST (the
    console's forms): ih_req_t carries the method and ih_http_route_t a `methods` set, so
    that a route can opt in to POST (the server reading a bounded body before calling the
    handler) without a change to the routes that leave it at 0 (GET and HEAD).

    ERRORS. ih_req_error sets a status and a body in the route's kind: IH_HTTP_HTML calls
    the front end's html_error (its layout's error page: ih_layout_error), or a bare page
    when it has none; IH_HTTP_JSON writes {"error": REASON, "status": N, "detail": MSG};
    a route's `error` callback writes anything else. Requests refused before routing
    (405, 414, 400) and unrouted ones get the HTML kind.

    CACHING. A handler marks its 200 answer cacheable (r->etag): the answer gets an ETag
    and r->cache as Cache-Control. The ETag is a hash of what is served (BLAKE2b, 128 bits,
    of the content type, the extra headers and the body), nothing of the process: two
    servers that serve the same bytes for a URL (the gateways behind a load balancer) give
    the same tag, and a tag one gave is a 304 at the other. A request whose If-None-Match
    holds the tag gets 304. The front end supplies a generation (cfg generation(app)), a
    counter that it bumps whenever anything a page shows may have changed (the gateway:
    after every commit of its store or of its TAXII log): the built response is kept in a
    small in-memory cache (MHD responses are reference counted and shared between
    connections) with its tag until the generation moves, and a 304 for a cached answer
    costs no work. Streams and errors are never cached and get no tag. A route whose
    answer depends on Accept names an accept check: a cached answer is reused only for
    requests that pass it (the others reach the handler, e.g. for 406).

    PER-THREAD VALUES. cfg local_new(app) makes a value for the calling thread on its first
    ih_req_local (the gateway: an ih_store_share read handle, as LMDB allows one
    environment per process); the server frees them all with local_free when it stops.

    METRICS. Every answered request is counted under its route's label with its status and
    duration (ih_http_metrics: an ih_metrics_t made at start from the labels, in the order
    first registered, then "other"); the front end decides where to show them.

    Threading: new, route, start and destroy from one thread (the main one); handlers, the
    html_error, accept and generation callbacks and local_new run on MHD's threads.
*/
#ifndef IH_HTTP_H
#define IH_HTTP_H

#include <microhttpd.h>

#include "ih_metrics.h"
#include "ih_util.h"

/*  The default Content-Security-Policy: no script, styles and images from the site only,
    forms posted to the site only, no framing. A front end may give a stricter or a
    looser one (cfg csp). */
#define IH_HTTP_CSP "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " \
                    "form-action 'self'; frame-ancestors 'none'"

#define IH_HTTP_MAX_ROUTES  64

typedef struct ih_http ih_http_t;
typedef struct ih_req ih_req_t;

/*  A route's handler: answers r (fills its response part, or calls ih_req_error). */
typedef void (ih_http_handler_fn)(ih_req_t *r);
/*  Writes an error body for status into r (r->body is empty, r->status set): reason is
    the status's short text ("Not found"), msg the detail (data: escape it). Sets
    r->ctype. */
typedef void (ih_http_error_fn)(ih_req_t *r, int status, const char *reason, const char *msg);
/*  True when an Accept header value (NULL when absent) admits what the route serves. */
typedef bool (ih_http_accept_fn)(const char *accept);

typedef enum {
    IH_HTTP_EXACT = 0,              /* the path is the route's path */
    IH_HTTP_PREFIX                  /* the path starts with the route's path */
} ih_http_match_t;

typedef enum {
    IH_HTTP_HTML = 0,               /* the front end's HTML error page (cfg html_error) */
    IH_HTTP_JSON                    /* {"error": ..., "status": N, "detail": ...} */
} ih_http_errors_t;

/*  Methods a route serves (a set). Only GET (with HEAD) exists so far; 0 means GET. */
#define IH_HTTP_GET     1u

typedef struct {
    const char *path;               /* "/search", or a prefix "/alerts/" (borrowed) */
    ih_http_match_t match;
    const char *label;              /* metrics label, "search" (borrowed; routes may share) */
    ih_http_handler_fn *handler;
    ih_http_errors_t errors;        /* the kind of error body ... */
    ih_http_error_fn *error;        /* ... unless this is set */
    ih_http_accept_fn *accept;      /* optional: see CACHING */
    unsigned methods;               /* 0 = IH_HTTP_GET */
} ih_http_route_t;

/*  One request as a handler sees it; the handler fills the response part. */
struct ih_req {
    void *app;                      /* the front end's state (cfg app) */
    ih_http_t *http;                /* the server (ih_http_local, ih_http_metrics) */
    struct MHD_Connection *conn;
    const char *method;             /* "GET" or "HEAD" */
    const char *path;               /* decoded path, without the query */
    const char *uri;                /* the request target as received */
    uint64_t gen;                   /* generation when the request started */
    const ih_http_route_t *route;   /* the route matched; NULL before routing or for none */

    /* response */
    int status;                     /* 200 unless set */
    const char *ctype;              /* Content-Type (literal) */
    ih_buf_t body;
    const char *cache;              /* Cache-Control (literal); NULL = "no-store" */
    bool etag;                      /* cacheable: ETag, 304, response cache */
    int64_t expires_ms;             /* wall clock after which a cached copy is stale; 0 = never */
    bool vary_accept;
    int nhdr;
    char hdr [4][2][160];           /* extra headers (name, value) */
    struct MHD_Response *resp;      /* a handler's own response (a stream) instead of body */
};

/*  A GET argument (decoded), or NULL. Borrowed for the request. */
const char *ih_req_arg(ih_req_t *r, const char *key);
/*  A request header, or NULL. Borrowed for the request. */
const char *ih_req_header(ih_req_t *r, const char *name);
/*  Adds a response header (up to 4; name and value are cut to fit). */
void ih_req_add_header(ih_req_t *r, const char *name, const char *value);
/*  This thread's value (ih_http_local of the request's server). */
void *ih_req_local(ih_req_t *r);
/*  Sets a plain error: status, no caching, and a body in the route's kind (see ERRORS).
    msg is data: it is escaped. */
void ih_req_error(ih_req_t *r, int status, const char *msg);

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

    /* the front end (every pointer borrowed for the server's life) */
    const char *name;               /* log prefix: "I NAME: ..."; NULL = "http" */
    const char *csp;                /* Content-Security-Policy; NULL = IH_HTTP_CSP */
    void *app;                      /* handed to the handlers (r->app) and callbacks */
    uint64_t (*generation)(void *app);  /* NULL: always 0 (then cache only what never changes) */
    void *(*local_new)(void *app);  /* per-thread values (NULL: none); NULL return = retry later */
    void (*local_free)(void *local);
    ih_http_error_fn *html_error;   /* HTML error bodies; NULL = a bare page */
} ih_http_cfg_t;

/*  A server with cfg (copied; what it points to is borrowed), not listening yet. */
ih_http_t *ih_http_new(const ih_http_cfg_t *cfg);
/*  Registers a route (copied; its strings are borrowed), before ih_http_start. Returns 0,
    or -1 with err (no path starting with '/', no label or handler, too many routes,
    already started). */
int ih_http_route(ih_http_t *self, const ih_http_route_t *route, ih_err_t *err);
/*  Starts listening. Returns 0, or -1 with err ("cannot listen on 127.0.0.1 port 8080:
    Address already in use ...", "/etc/tls/key.pem: cannot read: ..."); then destroy it. */
int ih_http_start(ih_http_t *self, ih_err_t *err);
/*  The port bound (0 before start). */
uint16_t ih_http_port(ih_http_t *self);
/*  The request counters (NULL before start). Owned by the server. */
ih_metrics_t *ih_http_metrics(ih_http_t *self);
/*  The calling thread's value (cfg local_new), made on first use; NULL when there is
    none. Also outside a request (a stream's callback), on the server's threads. */
void *ih_http_local(ih_http_t *self);
/*  Stops the server (waits for its threads), frees the per-thread values and the cache;
    safe twice, nulls *self_p. */
void ih_http_destroy(ih_http_t **self_p);

void ih_http_test(bool verbose);

#endif
