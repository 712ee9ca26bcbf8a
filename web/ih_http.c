/*  ih_http.c: the web layer's HTTP server (see ih_http.h). */
#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>
#include "ih_html.h"
#include "ih_http.h"

#define s_MAX_ARGS      32
#define s_MAX_ARGBYTES  4096
#define s_CACHE_SLOTS   512
#define s_CACHE_MAXBODY (256 * 1024)        /* bigger answers are not kept */
#define s_CACHE_MAXALL  (32 * 1024 * 1024)  /* bytes kept in all */
#define s_MAX_HANDLES   256
#define s_OTHER         "other"             /* the label of unrouted requests */
#define s_TAG_MAX       40                  /* an ETag: 32 hex digits in quotes, and a NUL */

/*  Response cache: direct-mapped by the hash of the URI. */
typedef struct {
    uint64_t hash;
    uint64_t gen;
    char *uri;
    const ih_http_route_t *route;
    int64_t expires_ms;
    char tag [s_TAG_MAX];           /* its ETag, for a 304 */
    const char *cache;              /* Cache-Control, for a 304 */
    size_t bytes;
    struct MHD_Response *resp;
} s_slot_t;

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

    pthread_mutex_t mx;             /* cache and handle list */
    s_slot_t cache [s_CACHE_SLOTS];
    size_t cache_bytes;
    void *handles [s_MAX_HANDLES];
    int nhandles;
};

/*  Per connection request state (*req_cls), made in the URI log callback. */
typedef struct {
    ih_req_t req;
    ih_http_t *http;
    int64_t t0;                     /* monotonic µs */
    size_t uri_len;
    bool too_many_args;             //  the query had more arguments than s_MAX_ARGS
    char *uri;
    bool headers_seen;              /* the first call to s_access happened */
    bool answered;
    char tag [s_TAG_MAX];           /* the answer's ETag ("" until computed) */
} s_conn_t;

//  The calling thread's value, and the server it belongs to (a serial, not the address:
//  a later server may be given the same memory).
static _Atomic uint64_t s_serials;
static __thread uint64_t tl_owner;
static __thread void *tl_local;

static int64_t
s_mono_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
s_fnv (const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char) s [i];
        h *= 1099511628211ULL;
    }
    return h;
}

static const char *
s_name (ih_http_t *self)
{
    return self->cfg.name ? self->cfg.name : "http";
}

/* ---- request helpers --------------------------------------------------------------------- */

const char *
ih_req_arg (ih_req_t *r, const char *key)
{
    return MHD_lookup_connection_value (r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
ih_req_header (ih_req_t *r, const char *name)
{
    return MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, name);
}

void
ih_req_add_header (ih_req_t *r, const char *name, const char *value)
{
    if (r->nhdr >= 4)
        return;
    snprintf (r->hdr [r->nhdr][0], sizeof r->hdr [0][0], "%s", name);
    snprintf (r->hdr [r->nhdr][1], sizeof r->hdr [0][1], "%s", value);
    r->nhdr++;
}

void *
ih_req_local (ih_req_t *r)
{
    return ih_http_local (r->http);
}

void *
ih_http_local (ih_http_t *self)
{
    if (!self || !self->cfg.local_new)
        return NULL;
    if (tl_owner == self->serial && tl_local)
        return tl_local;
    void *local = self->cfg.local_new (self->cfg.app);
    if (!local)
        return NULL;
    tl_owner = self->serial;
    tl_local = local;
    pthread_mutex_lock (&self->mx);
    if (self->nhandles < s_MAX_HANDLES)
        self->handles [self->nhandles++] = local;
    pthread_mutex_unlock (&self->mx);
    return local;
}

static const char *
s_reason (int status)
{
    switch (status) {
        case 400: return "Bad request";
        case 404: return "Not found";
        case 405: return "Method not allowed";
        case 406: return "Not acceptable";
        case 414: return "URI too long";
        case 416: return "Range not satisfiable";
        case 500: return "Internal error";
        case 503: return "Unavailable";
        default:  return "Error";
    }
}

/*  The HTML error of a front end without a layout: a page of its own, still escaped. */
static void
s_bare_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = "text/html; charset=utf-8";
    ih_buf_printf (&r->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<title>%d %s</title></head>\n<body><h1>%s</h1><p>", status, reason, reason);
    ih_html_esc (&r->body, msg);
    ih_html_puts (&r->body, "</p></body></html>\n");
}

void
ih_req_error (ih_req_t *r, int status, const char *msg)
{
    ih_buf_reset (&r->body);
    r->status = status;
    r->etag = false;
    r->cache = NULL;
    const ih_http_route_t *route = r->route;
    const char *reason = s_reason (status);
    if (route && route->error)
        route->error (r, status, reason, msg);
    else
    if (route && route->errors == IH_HTTP_JSON) {
        r->ctype = "application/json";
        ih_buf_printf (&r->body, "{\"error\":\"%s\",\"status\":%d,\"detail\":\"", reason, status);
        ih_html_json_esc (&r->body, msg);
        ih_html_puts (&r->body, "\"}\n");
    }
    else
    if (r->http && r->http->cfg.html_error)
        r->http->cfg.html_error (r, status, reason, msg);
    else
        s_bare_error (r, status, reason, msg);
}

/* ---- routing ------------------------------------------------------------------------------ */

int
ih_http_route (ih_http_t *self, const ih_http_route_t *route, ih_err_t *err)
{
    if (self->daemon)
        return ih_err_set (err, "route: routes are registered before the server starts");
    if (!route->path || route->path [0] != '/')
        return ih_err_set (err, "route: path '%s' does not start with '/'", route->path ? route->path : "");
    if (!route->label || !*route->label || !route->handler)
        return ih_err_set (err, "route '%s': a label and a handler are required", route->path);
    if (route->methods & ~IH_HTTP_GET)
        return ih_err_set (err, "route '%s': only GET (and HEAD) can be served", route->path);
    if (self->nroutes == IH_HTTP_MAX_ROUTES)
        return ih_err_set (err, "route '%s': more than %d routes", route->path, IH_HTTP_MAX_ROUTES);
    int i = self->nroutes++;
    self->routes [i] = *route;
    self->path_len [i] = strlen (route->path);
    return 0;
}

/*  The labels, in the order first registered, then "other"; and the metrics on them. */
static void
s_labels (ih_http_t *self)
{
    self->nlabels = 0;
    for (int i = 0; i < self->nroutes; i++) {
        int l = 0;
        while (l < self->nlabels && !streq (self->labels [l], self->routes [i].label))
            l++;
        if (l == self->nlabels)
            self->labels [self->nlabels++] = self->routes [i].label;
        self->label_of [i] = l;
    }
    //  "other" last, unless a front end gave that label to a route of its own.
    self->other = 0;
    while (self->other < self->nlabels && !streq (self->labels [self->other], s_OTHER))
        self->other++;
    if (self->other == self->nlabels)
        self->labels [self->nlabels++] = s_OTHER;
    self->metrics = ih_metrics_new (self->labels, self->nlabels);
}

/*  The metrics index of a route (NULL: unrouted, "other"). */
static int
s_label_index (ih_http_t *self, const ih_http_route_t *route)
{
    if (route && route >= self->routes && route < self->routes + self->nroutes)
        return self->label_of [route - self->routes];
    return self->other;
}

static const ih_http_route_t *
s_match (ih_http_t *self, const char *path)
{
    for (int i = 0; i < self->nroutes; i++) {
        const ih_http_route_t *route = &self->routes [i];
        if (route->match == IH_HTTP_PREFIX ? strncmp (path, route->path, self->path_len [i]) == 0
                                           : streq (path, route->path))
            return route;
    }
    return NULL;
}

static void
s_dispatch (ih_http_t *self, ih_req_t *r)
{
    r->route = s_match (self, r->path);
    if (r->route)
        r->route->handler (r);
    else
        ih_req_error (r, 404, "There is nothing at this address.");
}

/* ---- responses ------------------------------------------------------------------------------ */

/*  The ETag of an answer: a hash (BLAKE2b, 128 bits) of what is served, the content type,
    the extra headers and the body. Nothing of the process goes in, so two servers that
    serve the same bytes for a URL give the same tag (a load balancer may send a client's
    next request to either), and a tag changes exactly when what it names does. */
static void
s_etag (const ih_req_t *r, char out [s_TAG_MAX])
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, 16);
    const char *ctype = r->ctype ? r->ctype : "";
    crypto_generichash_update (&st, (const uint8_t *) ctype, strlen (ctype) + 1);
    for (int i = 0; i < r->nhdr; i++)
        for (int j = 0; j < 2; j++)
            crypto_generichash_update (&st, (const uint8_t *) r->hdr [i][j], strlen (r->hdr [i][j]) + 1);
    if (r->body.len)
        crypto_generichash_update (&st, r->body.data, r->body.len);
    uint8_t h [16];
    crypto_generichash_final (&st, h, sizeof h);
    char hex [33];
    ih_hex_encode (h, sizeof h, hex);
    snprintf (out, s_TAG_MAX, "\"%s\"", hex);
}

static void
s_common_headers (ih_http_t *self, struct MHD_Response *resp)
{
    MHD_add_response_header (resp, "Content-Security-Policy", self->cfg.csp);
    MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (resp, "X-Frame-Options", "DENY");
    MHD_add_response_header (resp, "Cross-Origin-Resource-Policy", "same-origin");
    if (self->tls)
        MHD_add_response_header (resp, "Strict-Transport-Security", "max-age=31536000");
}

/*  True when the If-None-Match header lists tag (or is "*"). */
static bool
s_inm_match (const char *inm, const char *tag)
{
    if (!inm)
        return false;
    size_t tl = strlen (tag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '*')
            return true;
        if (p [0] == 'W' && p [1] == '/')
            p += 2;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *end = e;
        while (end > p && (end [-1] == ' ' || end [-1] == '\t'))
            end--;
        if ((size_t) (end - p) == tl && memcmp (p, tag, tl) == 0)
            return true;
        p = e;
    }
    return false;
}

static enum MHD_Result
s_queue (ih_http_t *self, s_conn_t *c, struct MHD_Response *resp, int status)
{
    c->req.status = status;
    c->answered = true;
    enum MHD_Result rc = MHD_queue_response (c->req.conn, (unsigned) status, resp);
    return rc;
}

static enum MHD_Result
s_answer_304 (ih_http_t *self, s_conn_t *c, const char *tag)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header (resp, "ETag", tag);
    if (c->req.cache)
        MHD_add_response_header (resp, "Cache-Control", c->req.cache);
    s_common_headers (self, resp);
    enum MHD_Result rc = s_queue (self, c, resp, 304);
    MHD_destroy_response (resp);
    return rc;
}

static enum MHD_Result s_answer_304 (ih_http_t *self, s_conn_t *c, const char *tag);

/*  Looks the URI up in the cache: answers 304 when If-None-Match holds the tag, or
    queues the cached response; returns true when it answered. */
static bool
s_cache_answer (ih_http_t *self, s_conn_t *c, enum MHD_Result *rc)
{
    uint64_t h = s_fnv (c->uri, c->uri_len);
    s_slot_t *s = &self->cache [h % s_CACHE_SLOTS];
    bool hit = false;
    pthread_mutex_lock (&self->mx);
    //  The generation keys the cache (what may have changed since); the tag is the
    //  answer's own.
    if (s->resp && s->hash == h && s->gen == c->req.gen && streq (s->uri, c->uri)
    &&  (s->expires_ms == 0 || ih_now_ms () < s->expires_ms)
    //  Answers that depend on Accept (TAXII's 406): a refused one is not a hit.
    &&  (!s->route || !s->route->accept
         || s->route->accept (ih_req_header (&c->req, MHD_HTTP_HEADER_ACCEPT)))) {
        hit = true;
        c->req.route = s->route;
        c->req.cache = s->cache;
        char tag [s_TAG_MAX];
        memcpy (tag, s->tag, sizeof tag);
        if (s_inm_match (ih_req_header (&c->req, MHD_HTTP_HEADER_IF_NONE_MATCH), tag))
            hit = false;            //  answered below, outside the lock
        else
            *rc = s_queue (self, c, s->resp, 200);
        if (!hit) {
            pthread_mutex_unlock (&self->mx);
            *rc = s_answer_304 (self, c, tag);
            return true;
        }
    }
    pthread_mutex_unlock (&self->mx);
    return hit;
}

/*  Keeps resp (our reference) for the URI; returns false when it is not kept (too big,
    or the cache is full: an unbounded number of distinct URIs cannot grow memory). */
static bool
s_cache_put (ih_http_t *self, s_conn_t *c, struct MHD_Response *resp, size_t bytes)
{
    if (bytes > s_CACHE_MAXBODY)
        return false;
    uint64_t h = s_fnv (c->uri, c->uri_len);
    s_slot_t *s = &self->cache [h % s_CACHE_SLOTS];
    char *uri = strdup (c->uri);
    if (!uri)
        abort ();
    pthread_mutex_lock (&self->mx);
    size_t after = self->cache_bytes - s->bytes + bytes;
    if (after > s_CACHE_MAXALL) {
        pthread_mutex_unlock (&self->mx);
        free (uri);
        return false;
    }
    struct MHD_Response *old = s->resp;
    char *old_uri = s->uri;
    s->hash = h;
    s->gen = c->req.gen;
    s->route = c->req.route;
    memcpy (s->tag, c->tag, sizeof s->tag);
    s->expires_ms = c->req.expires_ms;
    s->cache = c->req.cache;
    s->uri = uri;
    s->resp = resp;
    s->bytes = bytes;
    self->cache_bytes = after;
    pthread_mutex_unlock (&self->mx);
    if (old)
        MHD_destroy_response (old);
    free (old_uri);
    return true;
}

static enum MHD_Result
s_respond (ih_http_t *self, s_conn_t *c)
{
    ih_req_t *r = &c->req;
    struct MHD_Response *resp = r->resp;
    bool stream = resp != NULL;
    size_t len = r->body.len;
    if (!resp) {
        void *data = r->body.data;
        r->body.data = NULL;            //  MHD frees it
        r->body.len = r->body.cap = 0;
        resp = data ? MHD_create_response_from_buffer (len, data, MHD_RESPMEM_MUST_FREE)
                    : MHD_create_response_from_buffer (0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free (data);
            return MHD_NO;
        }
    }
    r->resp = NULL;
    int status = r->status ? r->status : 200;
    if (r->ctype)
        MHD_add_response_header (resp, "Content-Type", r->ctype);
    bool cacheable = status == 200 && r->etag && !stream;
    if (cacheable)
        MHD_add_response_header (resp, "ETag", c->tag);
    MHD_add_response_header (resp, "Cache-Control", r->cache && status == 200 ? r->cache : "no-store");
    if (r->vary_accept)
        MHD_add_response_header (resp, "Vary", "Accept");
    if (status == 405)
        MHD_add_response_header (resp, "Allow", "GET, HEAD");
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header (resp, r->hdr [i][0], r->hdr [i][1]);
    s_common_headers (self, resp);
    enum MHD_Result rc = s_queue (self, c, resp, status);
    if (!cacheable || !s_cache_put (self, c, resp, len))
        MHD_destroy_response (resp);        //  else the cache keeps our reference
    return rc;
}

/* ---- MHD callbacks ---------------------------------------------------------------------------- */

static void *
s_uri_log (void *cls, const char *curi, struct MHD_Connection *conn)
{
    char *uri = (char *) curi;          //  libmicrohttpd's read buffer (see below)
    ih_http_t *self = (ih_http_t *) cls;
    s_conn_t *c = (s_conn_t *) calloc (1, sizeof *c);
    if (!c)
        abort ();
    c->http = self;
    c->t0 = s_mono_us ();
    c->uri_len = uri ? strlen (uri) : 0;
    //  Keep only what fits the limit: a longer URI is refused with 414 anyway.
    size_t keep = c->uri_len <= self->cfg.max_uri ? c->uri_len : 0;
    c->uri = (char *) malloc (keep + 1);
    if (!c->uri)
        abort ();
    if (keep)
        memcpy (c->uri, uri, keep);
    c->uri [keep] = 0;
    c->req.app = self->cfg.app;
    c->req.http = self;
    c->req.conn = conn;
    c->req.uri = c->uri;
    c->req.route = NULL;
    ih_buf_init (&c->req.body);
    //  libmicrohttpd parses the query right after this call, one record of the
    //  connection's memory pool for each argument: a query of a thousand '&' used it all
    //  up, and then it could not even build its error (431), and closed the connection
    //  without an answer. A query with more arguments than we would ever read is cut here,
    //  in libmicrohttpd's own buffer (the URI is its read buffer, which it parses next),
    //  so that it parses none of them, and s_access answers 400.
    char *q = uri ? strchr (uri, '?') : NULL;
    if (q) {
        size_t args = 1;
        for (const char *p = q + 1; *p; p++)
            args += *p == '&';
        if (args > s_MAX_ARGS || strlen (q + 1) > s_MAX_ARGBYTES + s_MAX_ARGS) {
            c->too_many_args = true;
            for (char *p = q; *p; p++)
                if (*p == '?' || *p == '&')
                    *p = 0;
        }
    }
    return c;
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    ih_http_t *self = (ih_http_t *) cls;
    s_conn_t *c = (s_conn_t *) *req_cls;
    if (!c)
        return;
    double secs = (double) (s_mono_us () - c->t0) / 1e6;
    if (c->answered)
        ih_metrics_request (self->metrics, s_label_index (self, c->req.route), c->req.status, secs);
    if (self->cfg.verbose) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char ip [INET6_ADDRSTRLEN] = "?";
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, ip, sizeof ip);
            else
            if (sa->sa_family == AF_INET6)
                inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, ip, sizeof ip);
        }
        fprintf (stderr, "I %s: %s %.200s %d %.1f ms%s\n", s_name (self), ip, c->uri_len > self->cfg.max_uri
                 ? "(too long)" : c->uri, c->answered ? c->req.status : 0, secs * 1000,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    if (c->req.resp)
        MHD_destroy_response (c->req.resp);
    ih_buf_free (&c->req.body);
    free (c->uri);
    free (c);
    *req_cls = NULL;
}

typedef struct {
    int count;
    size_t bytes;
} s_argcount_t;

static enum MHD_Result
s_count_arg (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    s_argcount_t *a = (s_argcount_t *) cls;
    a->count++;
    a->bytes += (key ? strlen (key) : 0) + (value ? strlen (value) : 0);
    return MHD_YES;
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
    ih_http_t *self = (ih_http_t *) cls;
    s_conn_t *c = (s_conn_t *) *req_cls;
    if (!c)
        return MHD_NO;
    if (c->answered) {
        *upload_data_size = 0;          //  a body we do not read (405 was queued)
        return MHD_YES;
    }
    ih_req_t *r = &c->req;
    r->path = url;
    r->method = method;
    r->gen = self->cfg.generation ? self->cfg.generation (self->cfg.app) : 0;
    if (!streq (method, MHD_HTTP_METHOD_GET) && !streq (method, MHD_HTTP_METHOD_HEAD)) {
        //  Answered at once: MHD then discards any body and closes the connection.
        ih_req_error (r, 405, "Only GET and HEAD are served here.");
        *upload_data_size = 0;
        return s_respond (self, c);
    }
    if (!c->headers_seen || *upload_data_size) {
        //  A response queued in the first call (before MHD knows there is no body) makes
        //  MHD close the connection: answer in the next one and keep it alive.
        c->headers_seen = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->uri_len > self->cfg.max_uri) {
        ih_req_error (r, 414, "The address is too long.");
        return s_respond (self, c);
    }
    s_argcount_t a = { 0, 0 };
    MHD_get_connection_values (conn, MHD_GET_ARGUMENT_KIND, s_count_arg, &a);
    if (c->too_many_args || a.count > s_MAX_ARGS || a.bytes > s_MAX_ARGBYTES) {
        ih_req_error (r, 400, "Too many or too long query arguments.");
        return s_respond (self, c);
    }
    //  The cache and 304 first: both cost no store access.
    enum MHD_Result rc;
    if (s_cache_answer (self, c, &rc))
        return rc;
    s_dispatch (self, r);
    if (r->status == 0)
        r->status = 200;
    if (r->status == 200 && r->etag && !r->resp) {
        s_etag (r, c->tag);
        if (s_inm_match (ih_req_header (r, MHD_HTTP_HEADER_IF_NONE_MATCH), c->tag)) {
            ih_buf_free (&r->body);
            return s_answer_304 (self, c, c->tag);
        }
    }
    return s_respond (self, c);
}

static void
s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    char line [512];
    vsnprintf (line, sizeof line, fmt, ap);
    line [strcspn (line, "\n")] = 0;
    fprintf (stderr, "W %s: http: %s\n", s_name ((ih_http_t *) cls), line);
}

/* ---- start, stop -------------------------------------------------------------------------------- */

static char *
s_read_file (const char *path, ih_err_t *err)
{
    //  It reads the TLS private key: no stdio buffer, and every buffer left behind while
    //  growing is wiped before it is freed (the caller wipes the result: s_free_secret).
    FILE *f = fopen (path, "rb");
    if (!f) {
        ih_err_set (err, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    setvbuf (f, NULL, _IONBF, 0);
    size_t cap = 8192, len = 0;
    char *data = (char *) malloc (cap);
    if (!data)
        abort ();
    while (len < (1 << 20)) {
        if (cap - len < 2) {
            char *bigger = (char *) malloc (cap * 2);
            if (!bigger)
                abort ();
            memcpy (bigger, data, len);
            sodium_memzero (data, cap);
            free (data);
            data = bigger;
            cap *= 2;
        }
        size_t n = fread (data + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose (f);
    data [len] = 0;
    return data;
}

/*  Wipes and frees a NUL-terminated secret (NULL is fine). */
static void
s_free_secret (char *s)
{
    if (!s)
        return;
    sodium_memzero (s, strlen (s));
    free (s);
}

/*  A socket bound to ai and listening, as libmicrohttpd would make it (SO_REUSEADDR; an
    IPv6 address serves IPv6 only). Returns it, or -1 with err naming where ("cannot
    listen on 127.0.0.1:8080: Address already in use"). */
static int
s_listen_socket (const struct addrinfo *ai, const char *where, ih_err_t *err)
{
    int fd = socket (ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        ih_err_set (err, "cannot listen on %s: %s", where, strerror (errno));
        return -1;
    }
    int one = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind (fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen (fd, SOMAXCONN) != 0) {
        ih_err_set (err, "cannot listen on %s: %s", where, strerror (errno));
        close (fd);
        return -1;
    }
    return fd;
}

ih_http_t *
ih_http_new (const ih_http_cfg_t *cfg)
{
    ih_http_t *self = (ih_http_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->cfg = *cfg;
    if (!self->cfg.threads) self->cfg.threads = 2;
    if (!self->cfg.max_conns) self->cfg.max_conns = 1024;
    if (!self->cfg.per_ip) self->cfg.per_ip = 100;
    if (!self->cfg.timeout_s) self->cfg.timeout_s = 15;
    if (!self->cfg.conn_memory) self->cfg.conn_memory = 64 * 1024;
    if (!self->cfg.max_uri) self->cfg.max_uri = 2048;
    if (!self->cfg.csp) self->cfg.csp = IH_HTTP_CSP;
    self->serial = ++s_serials;
    pthread_mutex_init (&self->mx, NULL);
    return self;
}

int
ih_http_start (ih_http_t *self, ih_err_t *err)
{
    const ih_http_cfg_t *cfg = &self->cfg;
    if (self->daemon)
        return ih_err_set (err, "http: the server is already started");
    if (!self->metrics)
        s_labels (self);

    //  The address to listen on.
    struct addrinfo hints, *ai = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char port [8];
    snprintf (port, sizeof port, "%u", cfg->port);
    int gai = getaddrinfo (cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1", port, &hints, &ai);
    if (gai != 0 || !ai)
        return ih_err_set (err, "listen: '%s' is not a numeric IPv4 or IPv6 address",
                           cfg->listen ? cfg->listen : "");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    bool want_tls = (cfg->tls_cert && *cfg->tls_cert) || (cfg->tls_key && *cfg->tls_key);
    if (want_tls) {
        if (!cfg->tls_cert || !*cfg->tls_cert || !cfg->tls_key || !*cfg->tls_key) {
            ih_err_set (err, "http: tls-cert and tls-key go together (one is empty)");
            goto fail;
        }
        self->tls_cert_pem = s_read_file (cfg->tls_cert, err);
        if (!self->tls_cert_pem)
            goto fail;
        self->tls_key_pem = s_read_file (cfg->tls_key, err);
        if (!self->tls_key_pem)
            goto fail;
        flags |= MHD_USE_TLS;
        self->tls = true;
    }
    struct MHD_OptionItem tls_opts [] = {
        { MHD_OPTION_HTTPS_MEM_CERT, 0, self->tls_cert_pem },
        { MHD_OPTION_HTTPS_MEM_KEY, 0, self->tls_key_pem },
        { MHD_OPTION_END, 0, NULL }
    };
    struct MHD_OptionItem no_opts [] = { { MHD_OPTION_END, 0, NULL } };
    //  The listening socket is ours: a clash is then reported with the address, the port
    //  and the reason, where libmicrohttpd, given an address, says "Failed to bind to
    //  port 0". libmicrohttpd owns it from MHD_start_daemon on, and closes it even when
    //  it fails to start.
    char where [80];
    snprintf (where, sizeof where, "%s%s%s:%u", ai->ai_family == AF_INET6 ? "[" : "",
              cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1",
              ai->ai_family == AF_INET6 ? "]" : "", cfg->port);
    int fd = s_listen_socket (ai, where, err);
    if (fd < 0)
        goto fail;
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) cfg->max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) cfg->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) cfg->conn_memory,
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, self,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_ARRAY, self->tls ? tls_opts : no_opts,
        MHD_OPTION_END);
    if (!self->daemon) {
        //  Not the address (it is bound): the TLS credentials, or resources.
        ih_err_set (err, "http: cannot serve on %s%s: %s", where,
                    self->tls ? " (check tls-cert and tls-key)" : "",
                    errno ? strerror (errno) : "libmicrohttpd failed to start");
        goto fail;
    }
    freeaddrinfo (ai);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    self->port = cfg->port;
    if (getsockname (fd, (struct sockaddr *) &bound, &blen) == 0)
        self->port = ntohs (bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                                         : ((struct sockaddr_in *) &bound)->sin_port);
    return 0;
fail:
    freeaddrinfo (ai);
    return -1;
}

uint16_t
ih_http_port (ih_http_t *self)
{
    return self->port;
}

ih_metrics_t *
ih_http_metrics (ih_http_t *self)
{
    return self->metrics;
}

void
ih_http_destroy (ih_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_http_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    for (int i = 0; i < s_CACHE_SLOTS; i++) {
        if (self->cache [i].resp)
            MHD_destroy_response (self->cache [i].resp);
        free (self->cache [i].uri);
    }
    for (int i = 0; i < self->nhandles; i++)
        if (self->cfg.local_free)
            self->cfg.local_free (self->handles [i]);
    free (self->tls_cert_pem);
    s_free_secret (self->tls_key_pem);
    ih_metrics_destroy (&self->metrics);
    pthread_mutex_destroy (&self->mx);
    free (self);
    *self_p = NULL;
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_tk_http.h"

//  A toy front end: its state, two handlers, its errors, its per-thread values.
typedef struct {
    _Atomic uint64_t gen;
    _Atomic int calls;
    _Atomic int locals;
} s_toy_t;

static uint64_t
s_toy_gen (void *app)
{
    return atomic_load (&((s_toy_t *) app)->gen);
}

static void *
s_toy_local_new (void *app)
{
    int *v = (int *) malloc (sizeof (int));
    IH_CHECK (v);
    *v = ++((s_toy_t *) app)->locals;
    return v;
}

static void
s_toy_local_free (void *local)
{
    free (local);
}

static void
s_toy_hello (ih_req_t *r)
{
    s_toy_t *toy = (s_toy_t *) r->app;
    toy->calls++;
    const char *name = ih_req_arg (r, "name");
    r->ctype = "text/html; charset=utf-8";
    ih_html_puts (&r->body, "<p>hello ");
    ih_html_esc (&r->body, name ? name : "world");
    ih_buf_printf (&r->body, " from thread value %d, generation %" PRIu64 "</p>\n",
                    *(int *) ih_req_local (r), r->gen);
    r->etag = true;
    r->cache = "public, max-age=5";
}

/*  The same bytes on any thread of any server (for comparing servers' tags). */
static void
s_toy_same (ih_req_t *r)
{
    const char *name = ih_req_arg (r, "name");
    r->ctype = "text/plain; charset=utf-8";
    ih_buf_printf (&r->body, "same for %s\n", name ? name : "all");
    r->etag = true;
    r->cache = "public, max-age=5";
}

static void
s_toy_missing (ih_req_t *r)
{
    ih_req_error (r, 404, "no such <thing>");
}

static void
s_toy_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = "text/plain; charset=utf-8";
    ih_buf_printf (&r->body, "toy error %d (%s): %s\n", status, reason, msg);
}

static void
s_toy_html_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = "text/html; charset=utf-8";
    ih_buf_printf (&r->body, "<h1>%s</h1><p>", reason);
    ih_html_esc (&r->body, msg);
    ih_html_puts (&r->body, "</p>\n");
}

/*  Waits for a count (the server records a request when it has completed, which may be
    a moment after the client has read the answer). */
static uint64_t
s_count (ih_http_t *h, int label, int code, uint64_t want)
{
    uint64_t n = 0;
    for (int i = 0; i < 200 && (n = ih_metrics_count (ih_http_metrics (h), label, code)) < want; i++)
        zclock_sleep (5);
    return n;
}

void
ih_http_test (bool verbose)
{
    //  If-None-Match lists.
    IH_CHECK (s_inm_match ("\"a-1\"", "\"a-1\""));
    IH_CHECK (s_inm_match ("W/\"a-1\"", "\"a-1\""));
    IH_CHECK (s_inm_match ("\"x\", \"a-1\"", "\"a-1\""));
    IH_CHECK (s_inm_match ("\"x\",W/\"a-1\" ", "\"a-1\""));
    IH_CHECK (s_inm_match ("*", "\"a-1\""));
    IH_CHECK (!s_inm_match ("\"a-10\"", "\"a-1\""));
    IH_CHECK (!s_inm_match ("\"a-1", "\"a-1\""));
    IH_CHECK (!s_inm_match ("", "\"a-1\""));
    IH_CHECK (!s_inm_match (NULL, "\"a-1\""));
    IH_CHECK (!s_inm_match (",,,", "\"a-1\""));

    //  A bad address and a missing TLS key fail cleanly.
    ih_err_t err = { "" };
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "not-an-address";
    ih_http_t *h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "not a numeric"));
    ih_http_destroy (&h);
    cfg.listen = "127.0.0.1";
    cfg.tls_cert = "/nonexistent/cert.pem";
    h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "go together"));
    ih_http_destroy (&h);
    cfg.tls_key = "/nonexistent/key.pem";
    h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "cannot read"));
    ih_http_destroy (&h);
    if (verbose)
        printf ("\n    %s", err.msg);
    cfg.tls_cert = cfg.tls_key = NULL;

    //  Routes that cannot be registered.
    h = ih_http_new (&cfg);
    ih_http_route_t bad = { .path = "hello", .label = "hello", .handler = s_toy_hello };
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "'hello'"));
    bad.path = "/hello";
    bad.label = "";
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "label"));
    bad.label = "hello";
    bad.methods = 2;
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "only GET"));
    bad.methods = 0;
    for (int i = 0; i < IH_HTTP_MAX_ROUTES; i++)
        IH_CHECK (ih_http_route (h, &bad, &err) == 0);
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "more than"));
    ih_http_destroy (&h);

    //  The toy front end on an ephemeral port (two threads).
    s_toy_t toy;
    memset (&toy, 0, sizeof toy);
    cfg.name = "toy";
    cfg.app = &toy;
    cfg.generation = s_toy_gen;
    cfg.local_new = s_toy_local_new;
    cfg.local_free = s_toy_local_free;
    cfg.html_error = s_toy_html_error;
    h = ih_http_new (&cfg);
    static const ih_http_route_t routes [] = {
        { .path = "/hello", .label = "hello", .handler = s_toy_hello },
        { .path = "/json/", .match = IH_HTTP_PREFIX, .label = "json", .handler = s_toy_missing,
          .errors = IH_HTTP_JSON },
        { .path = "/custom", .label = "custom", .handler = s_toy_missing, .error = s_toy_error },
        { .path = "/hello/", .label = "hello", .handler = s_toy_hello },
        { .path = "/same", .label = "same", .handler = s_toy_same },
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes [0]; i++)
        IH_CHECK (ih_http_route (h, &routes [i], &err) == 0);
    IH_CHECK (ih_http_metrics (h) == NULL && ih_http_port (h) == 0);
    IH_CHECK (ih_http_start (h, &err) == 0);
    uint16_t port = ih_http_port (h);
    IH_CHECK (port > 0 && ih_http_metrics (h));
    IH_CHECK (ih_http_route (h, &routes [0], &err) == -1 && strstr (err.msg, "before"));
    //  Labels: in the order first registered ("hello" once), then "other".
    IH_CHECK (h->nlabels == 5 && streq (h->labels [0], "hello") && streq (h->labels [1], "json")
           && streq (h->labels [2], "custom") && streq (h->labels [3], "same")
           && streq (h->labels [4], "other"));

    ih_tk_http_t res;
    char tag [96], v [200];
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", NULL) == 200);
    if (verbose)
        printf ("\n%s", (const char *) res.raw.data);
    IH_CHECK (streq (res.body, "<p>hello &lt;b&gt; from thread value 1, generation 0</p>\n"));
    IH_CHECK (ih_tk_http_header (&res, "Content-Security-Policy", v, sizeof v) && streq (v, IH_HTTP_CSP));
    IH_CHECK (ih_tk_http_header (&res, "X-Frame-Options", v, sizeof v) && streq (v, "DENY"));
    IH_CHECK (ih_tk_http_header (&res, "X-Content-Type-Options", v, sizeof v) && streq (v, "nosniff"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "public, max-age=5"));
    IH_CHECK (!ih_tk_http_header (&res, "Strict-Transport-Security", v, sizeof v));
    IH_CHECK (ih_tk_http_header (&res, "ETag", tag, sizeof tag) && strlen (tag) == 34 && tag [0] == '"');
    ih_tk_http_free (&res);
    //  The same URI again: from the cache (the handler is not called), then 304.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", NULL) == 200);
    IH_CHECK (toy.calls == 1 && strstr (res.body, "hello &lt;b&gt;"));
    ih_tk_http_free (&res);
    char inm [128];
    snprintf (inm, sizeof inm, "If-None-Match: %s\r\n", tag);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", inm) == 304);
    IH_CHECK (*res.body == 0 && toy.calls == 1);
    ih_tk_http_free (&res);
    //  A new generation: the handler runs again; its answer changed, and so did its tag.
    toy.gen++;
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", inm) == 200);
    IH_CHECK (toy.calls == 2 && ih_tk_http_header (&res, "ETag", v, sizeof v) && !streq (v, tag));
    ih_tk_http_free (&res);
    //  A second server started later with the same content gives the same tags (the tag
    //  is the content's, not the process's), and takes the first one's for a 304.
    {
        char same [200], v2 [200];
        IH_CHECK (ih_tk_http (&res, port, "GET", "/same?name=x", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", same, sizeof same));
        ih_tk_http_free (&res);
        zclock_sleep (3);
        s_toy_t toy2;
        memset (&toy2, 0, sizeof toy2);
        ih_http_cfg_t cfg2 = cfg;
        cfg2.app = &toy2;
        ih_http_t *h2 = ih_http_new (&cfg2);
        IH_CHECK (ih_http_route (h2, &routes [4], &err) == 0 && ih_http_start (h2, &err) == 0);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=x", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", v2, sizeof v2) && streq (v2, same));
        ih_tk_http_free (&res);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=y", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", v2, sizeof v2) && !streq (v2, same));
        ih_tk_http_free (&res);
        char inm2 [256];
        snprintf (inm2, sizeof inm2, "If-None-Match: %s\r\n", same);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=x", inm2) == 304);
        ih_tk_http_free (&res);
        ih_http_destroy (&h2);
    }
    //  HEAD: the headers without the body. A value per thread, made once.
    IH_CHECK (ih_tk_http (&res, port, "HEAD", "/hello/", NULL) == 200);
    IH_CHECK (*res.body == 0 && toy.locals >= 1 && toy.locals <= 2);
    ih_tk_http_free (&res);

    //  Errors in the route's kind: JSON, the route's own, the front end's HTML.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/json/x", NULL) == 404);
    IH_CHECK (streq (res.body, "{\"error\":\"Not found\",\"status\":404,\"detail\":"
                               "\"no such \\u003cthing\\u003e\"}\n"));
    IH_CHECK (ih_tk_http_header (&res, "Content-Type", v, sizeof v) && streq (v, "application/json"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "no-store"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/custom", NULL) == 404);
    IH_CHECK (streq (res.body, "toy error 404 (Not found): no such <thing>\n"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/custom/", NULL) == 404);      //  exact: unrouted
    IH_CHECK (streq (res.body, "<h1>Not found</h1><p>There is nothing at this address.</p>\n"));
    ih_tk_http_free (&res);
    //  Refused before routing: 405 (with Allow), 414, 400; all in the HTML kind.
    IH_CHECK (ih_tk_http (&res, port, "POST", "/hello", "Content-Length: 3\r\n") == 405);
    IH_CHECK (ih_tk_http_header (&res, "Allow", v, sizeof v) && streq (v, "GET, HEAD"));
    IH_CHECK (strstr (res.body, "<h1>Method not allowed</h1>"));
    ih_tk_http_free (&res);
    char path [2100] = "/hello?x=";
    memset (path + 9, 'a', sizeof path - 10);
    path [sizeof path - 1] = 0;
    IH_CHECK (ih_tk_http (&res, port, "GET", path, NULL) == 414);
    ih_tk_http_free (&res);
    ih_buf_t many;
    ih_buf_init (&many);
    ih_html_puts (&many, "/hello?");
    for (int i = 0; i < 40; i++)
        ih_buf_printf (&many, "a%d=1&", i);
    IH_CHECK (ih_tk_http (&res, port, "GET", ih_html_cstr (&many), NULL) == 400);
    ih_buf_free (&many);
    ih_tk_http_free (&res);

    //  Metrics per label: hello is 0, json 1, custom 2, same 3, other 4.
    IH_CHECK (s_count (h, 0, 200, 4) == 4 && s_count (h, 0, 304, 1) == 1);
    IH_CHECK (s_count (h, 1, 404, 1) == 1 && s_count (h, 2, 404, 1) == 1);
    IH_CHECK (s_count (h, 3, 200, 1) == 1);
    IH_CHECK (s_count (h, 4, 404, 1) == 1 && s_count (h, 4, 405, 1) == 1);
    IH_CHECK (s_count (h, 4, 414, 1) == 1 && s_count (h, 4, 400, 1) == 1);

    //  A second server on the same port fails with a message.
    ih_http_cfg_t cfg2 = cfg;
    cfg2.port = port;
    ih_http_t *h2 = ih_http_new (&cfg2);
    IH_CHECK (ih_http_start (h2, &err) == -1);
    char want [64];
    snprintf (want, sizeof want, "cannot listen on 127.0.0.1:%u: Address already in use", port);
    IH_CHECK (streq (err.msg, want));
    ih_http_destroy (&h2);
    ih_http_destroy (&h);
    ih_http_destroy (&h);
    IH_CHECK (h == NULL);
    if (verbose)
        printf ("    ");
}
#endif
