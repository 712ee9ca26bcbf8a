/*  ih_http.h: the web layer's HTTP server (libmicrohttpd), for every front end: the
    Public Zone (gateway/) and the Members Zone console. The server knows no route: a
    front end registers its routes, and its own state reaches the handlers through an
    opaque pointer (ih_req_t app).

    LAYERING. web/ is the generic part of a web front end and depends on proto/ only:
      ih_http     this server: limits, TLS, routing, forms, cookies, security headers,
                  caching, streams, errors (its self-test: ih_http_test.c)
      ih_html     escaping, URL checks, Markdown (every byte of data goes through it)
      ih_layout   the page shell (head, navigation, footer), stylesheet, icon, error pages
      ih_svg      inline SVG charts
      ih_metrics  request counters and latency histograms per route label
    A front end is a state type, a route table and a site description (the gateway's is
    gateway/ih_gw.{h,c}); its route modules include its header and web/'s, never one
    another's, and nothing in web/ includes a front end.

    THE SERVER. MHD with its own threads (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
    a pool of `threads`), GET and HEAD for every route, POST for the routes that ask for
    it (405 otherwise, with Allow). Limits: URI bytes (414), query arguments (400), header
    and request-line bytes (MHD's connection memory pool: 414/431), a POST body's bytes
    per route (413), connections in total and per IP, and an idle timeout against slow
    clients. HTTPS with MHD's TLS when a certificate and key are configured. The target
    is parsed by ih_request.h (the path decoded, dot segments removed; the query, at most
    32 arguments; a NUL byte anywhere is a 400), never by MHD, which is handed an empty
    query.

    WORKERS. MHD's threads only move bytes and answer from the cache: every handler, and
    every part of a stream, runs on `threads` workers of the server's own (ih_workq.h),
    the connection suspended meanwhile. The workers are shared fairly between client
    addresses: the oldest request of the address with the fewest running goes next, one
    address runs at most per_ip_workers at once, and an address with per_ip_queue
    requests waiting is answered 429 with Retry-After (the other addresses are not).
    Everyone behind one NAT or proxy is one address. At destroy, the running handlers
    finish and the waiting ones are answered 503.

    Every response carries Content-Security-Policy (IH_HTTP_CSP unless the front end gives
    its own: no script anywhere), X-Content-Type-Options: nosniff, Referrer-Policy
    (no-referrer unless the front end gives its own), X-Frame-Options: DENY,
    Cross-Origin-Resource-Policy: same-origin (and HSTS over TLS).

    ROUTES. Before starting, a front end registers its routes (ih_http_route): a path, exact
    or a prefix; a label for the metrics (several routes may share one); a handler; and
    how its errors look (an HTML page, a JSON object, or the front end's own callback, e.g.
    a TAXII error message); the methods it serves and, for POST, its body limit; and an
    opaque value of the front end's (data: the console's gate reads who may see the
    route there). Routes are tried in the order registered; the first match handles the
    request. A request no route matches gets 404 with an HTML error, under the label
    "other". The handler reads the request (ih_req_arg, ih_req_header, ih_req_form,
    ih_req_cookie, r->path) and fills the response part of ih_req_t, or calls
    ih_req_error.

    METHODS. Every route serves GET and HEAD unless its `methods` set says otherwise; a
    route that lists IH_HTTP_POST also takes POST with an application/x-www-form-urlencoded
    body (415 for any other type) of at most its max_body bytes (413 beyond, answered as
    soon as the Content-Length or the bytes received say so). The server reads the whole
    body before it calls the handler, and decodes it (percent-decoding, '+' as a space,
    fields in the order sent, a key given twice kept twice; a field holding a NUL byte, or
    more than IH_HTTP_MAX_FIELDS fields, is a 400): the handler reads it with ih_req_form
    and ih_req_form_all. A POST is never cached. Other methods get 405.

    COOKIES AND REDIRECTS. ih_req_cookie reads the Cookie header; ih_req_set_cookie sets
    one with HttpOnly, SameSite=Strict, Path=/ and, over TLS, Secure. ih_req_redirect
    answers 303 See Other (the answer to a POST that acted: a reload does not act twice).

    STREAMS. ih_req_stream answers with a body the handler's fill callback writes part by
    part as the client reads (a bulk export): MHD calls it on its threads, one call at a
    time for a connection, and the free callback once when the response is done with
    (sent, failed, or the client gone). A stream is never cached and gets no ETag.

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

    Threading: new, route, start and destroy from one thread (the main one); handlers,
    a stream's fill, html_error and local_new run on the workers; a stream's free, the
    accept and generation callbacks on MHD's threads.
*/
#ifndef IH_HTTP_H
#define IH_HTTP_H

#include <microhttpd.h>

#include "ih_metrics.h"
#include "ih_request.h"
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

/*  Methods a route serves (a set); 0 means GET (with HEAD). */
#define IH_HTTP_GET     1u          /* GET and HEAD */
#define IH_HTTP_POST    2u

#define IH_HTTP_BODY_DEFAULT  (64 * 1024)   /* a POST route's max_body when 0 */
#define IH_HTTP_MAX_FIELDS    12000         /* form fields in one POST body (a share form reviews
                                               up to 5,000 indicators, two fields each) */
#define IH_HTTP_MAX_HDRS      8             /* extra response headers */
#define IH_HTTP_HDR_VALUE     1024          /* bytes of an extra header's value (cut to fit) */

typedef struct {
    const char *path;               /* "/search", or a prefix "/alerts/" (borrowed) */
    ih_http_match_t match;
    const char *label;              /* metrics label, "search" (borrowed; routes may share) */
    ih_http_handler_fn *handler;
    ih_http_errors_t errors;        /* the kind of error body ... */
    ih_http_error_fn *error;        /* ... unless this is set */
    ih_http_accept_fn *accept;      /* optional: see CACHING */
    unsigned methods;               /* 0 = IH_HTTP_GET */
    size_t max_body;                /* POST: body bytes at most (0 = IH_HTTP_BODY_DEFAULT) */
    const void *data;               /* the front end's own value for the route (borrowed) */
} ih_http_route_t;

/*  One request as a handler sees it; the handler fills the response part. */
struct ih_req {
    void *app;                      /* the front end's state (cfg app) */
    ih_http_t *http;                /* the server (ih_http_local, ih_http_metrics) */
    struct MHD_Connection *conn;
    const char *method;             /* "GET", "HEAD" or "POST" */
    bool post;                      /* a POST: its form is read (ih_req_form) */
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
    struct {
        char name [48];
        char value [IH_HTTP_HDR_VALUE];
    } hdr [IH_HTTP_MAX_HDRS];       /* extra headers (ih_req_add_header) */
    struct MHD_Response *resp;      /* a handler's own response (a stream) instead of body */

    /* the server's own (ih_request.h): the query's arguments (ih_req_arg), the form of a
       POST (ih_req_form), the cookies (ih_req_cookie, read on first use) */
    ih_pairs_t args;
    uint64_t args_read;             /* bit i: the handler read pair i of args (ih_req_arg) */
    ih_pairs_t form;
    ih_pairs_t cookies;
    bool cookies_read;
};

/*  A GET argument (decoded), or NULL. Borrowed for the request. The server notes which
    arguments the handler read: an answer is not kept in the response cache when the
    request carried an argument it did not read (?x=RANDOM would otherwise push out the
    pages worth keeping, one junk URI after another; the answer does not depend on it,
    so nothing is lost but the slot). */
const char *ih_req_arg(ih_req_t *r, const char *key);
/*  A request header, or NULL. Borrowed for the request. */
const char *ih_req_header(ih_req_t *r, const char *name);
/*  The first value of a field of a POST's form, or NULL (also for a GET). Borrowed for
    the request. */
const char *ih_req_form(ih_req_t *r, const char *key);
/*  Calls fn for each value of key in the form, in the order sent; fn returns 0 to go on.
    Returns how many values fn was given, or fn's value when it stopped. */
typedef int (ih_req_form_fn)(const char *value, void *arg);
int ih_req_form_all(ih_req_t *r, const char *key, ih_req_form_fn *fn, void *arg);
/*  Calls fn for each field of the form (key and value), in order; fn returns 0 to go on.
    Returns 0 or fn's value. */
typedef int (ih_req_field_fn)(const char *key, const char *value, void *arg);
int ih_req_form_each(ih_req_t *r, ih_req_field_fn *fn, void *arg);
/*  A cookie sent with the request, or NULL. Borrowed for the request. */
const char *ih_req_cookie(ih_req_t *r, const char *name);
/*  The client's address as text ("127.0.0.1", "::1"; "?" when unknown) into out. */
void ih_req_addr(ih_req_t *r, char *out, size_t size);
/*  True when the request came over TLS. */
bool ih_req_tls(ih_req_t *r);
/*  Adds a response header (up to IH_HTTP_MAX_HDRS; the value is cut to fit
    IH_HTTP_HDR_VALUE). */
void ih_req_add_header(ih_req_t *r, const char *name, const char *value);
/*  Sets a cookie: name=value; Path=/; HttpOnly; SameSite=Strict, Secure over TLS, and
    Max-Age=max_age_s unless it is negative (a cookie for the browser's session). 0
    deletes the cookie. name and value must be cookie-safe (base64url, slugs). */
void ih_req_set_cookie(ih_req_t *r, const char *name, const char *value, int64_t max_age_s);
/*  Answers 303 See Other to location (a path on this site, or an absolute URL), with a
    short HTML body; not cacheable. */
void ih_req_redirect(ih_req_t *r, const char *location);
/*  This thread's value (ih_http_local of the request's server). */
void *ih_req_local(ih_req_t *r);
/*  Sets a plain error: status, no caching, and a body in the route's kind (see ERRORS).
    msg is data: it is escaped. */
void ih_req_error(ih_req_t *r, int status, const char *msg);

/*  A stream's next part: append it to out (empty on each call). Returns 1 when more
    parts follow, 0 when this was the last (out may hold it), -1 on failure: what out
    holds is sent, then the connection closes without the end of the body, so that the
    client sees the answer is incomplete. */
typedef int (ih_http_fill_fn)(void *arg, ih_buf_t *out);
/*  Frees a stream's state (called once, whatever happened). */
typedef void (ih_http_free_fn)(void *arg);
/*  Answers r with a stream (see STREAMS): status 200 unless the handler set another,
    r->ctype and the headers added, no caching unless r->cache says (never an ETag).
    Returns 0, or -1 (free_fn(arg) was called; r holds a 500). */
int ih_req_stream(ih_req_t *r, ih_http_fill_fn *fill, ih_http_free_fn *free_fn, void *arg);

/* ---- the server ------------------------------------------------------------------------ */
typedef struct {
    const char *listen;             /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t port;                  /* 0 = any (see ih_http_port) */
    const char *tls_cert;           /* PEM file paths; both or none */
    const char *tls_key;
    unsigned threads;               /* 0 = 2 */
    unsigned max_conns;             /* 0 = 1024 */
    unsigned per_ip;                /* connections per address; 0 = 100 */
    unsigned per_ip_workers;        /* handlers of one address running at once; 0 = half the
                                       threads (at least 1); threads or more: no cap */
    unsigned per_ip_queue;          /* an address's requests waiting for a worker before it
                                       is answered 429; 0 = 16 (set max_conns: no cap) */
    unsigned timeout_s;             /* idle timeout, 0 = 15 */
    size_t conn_memory;             /* per connection pool, 0 = 64 KiB */
    size_t max_uri;                 /* 0 = 2048 */
    bool verbose;                   /* log every request */

    /* the front end (every pointer borrowed for the server's life) */
    const char *name;               /* log prefix: "I NAME: ..."; NULL = "http" */
    const char *csp;                /* Content-Security-Policy; NULL = IH_HTTP_CSP */
    const char *referrer;           /* Referrer-Policy; NULL = "no-referrer" (a front end that
                                       checks Origin on its forms needs "same-origin": with
                                       no-referrer, browsers send Origin: null) */
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
