/*  ih_http.c: the web layer's HTTP server (see ih_http.h). */
#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#define XXH_STATIC_LINKING_ONLY         /* XXH3_state_t on the stack */
#include <xxhash.h>
#include <time.h>

#include <sodium.h>
#include "ih_html.h"
#include "ih_http.h"
#include "ih_http_int.h"
#include "ih_workq.h"

#define s_MAX_ARGS      32
_Static_assert (s_MAX_ARGS < 64, "ih_req_t's args_read has a bit per argument");
#define s_MAX_ARGBYTES  4096
#define s_CACHE_MAXBODY (256 * 1024)        /* bigger answers are not kept */
#define s_CACHE_MAXALL  (32 * 1024 * 1024)  /* bytes kept in all */
#define s_OTHER         "other"             /* the label of unrouted requests */
#define s_MAX_DROPPED   (1024 * 1024)       /* a too large chunked body: then cut off */

/*  Per connection request state (*req_cls), made in the URI log callback. */
typedef struct {
    ih_req_t req;
    ih_http_t *http;
    int64_t t0;                     /* monotonic µs */
    size_t uri_len;
    char *uri;                      /* the target as received (when within max_uri) */
    char *path;                     /* its path, decoded (ih_request_path) */
    const char *bad_target;         /* why the target is refused (400), or NULL */
    bool headers_seen;              /* the first call to s_access happened */
    bool answered;
    const ih_http_route_t *post_route;  /* a POST being read: its route */
    unsigned allow;                 /* a 405's Allow: the methods of the route that refused */
    bool too_large;                 /* a POST body beyond the route's max_body */
    size_t dropped;                 /* bytes of it dropped */
    ih_buf_t post;                  /* the POST body read so far */
    char tag [IH_HTTP_TAG_MAX];           /* the answer's ETag ("" until computed) */
    ih_workq_job_t job;             /* its handler, queued for a worker */
    uint8_t key [IH_WORKQ_KEY];     /* the client's address, as the workers share it */
    bool handled;                   /* the worker is done: the answer is in req */
    bool not_modified;              /* ... and it is a 304 (c->tag) */
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
    int i = ih_pairs_find (&r->args, key);
    if (i < 0)
        return NULL;
    r->args_read |= 1ULL << i;          //  i < s_MAX_ARGS
    return r->args.kv [2 * i + 1];
}

/*  True when the handler read every argument of the request (ih_req_arg). */
static bool
s_args_all_read (const ih_req_t *r)
{
    return r->args_read == (1ULL << r->args.n) - 1;
}

const char *
ih_req_header (ih_req_t *r, const char *name)
{
    return MHD_lookup_connection_value (r->conn, MHD_HEADER_KIND, name);
}

void
ih_req_add_header (ih_req_t *r, const char *name, const char *value)
{
    if (r->nhdr >= IH_HTTP_MAX_HDRS)
        return;
    snprintf (r->hdr [r->nhdr].name, sizeof r->hdr [0].name, "%s", name);
    snprintf (r->hdr [r->nhdr].value, sizeof r->hdr [0].value, "%s", value);
    r->nhdr++;
}

const char *
ih_req_form (ih_req_t *r, const char *key)
{
    return ih_pairs_get (&r->form, key);
}

int
ih_req_form_all (ih_req_t *r, const char *key, ih_req_form_fn *fn, void *arg)
{
    int n = 0;
    for (int i = 0; i < r->form.n; i++)
        if (streq (r->form.kv [2 * i], key)) {
            int rc = fn (r->form.kv [2 * i + 1], arg);
            if (rc)
                return rc;
            n++;
        }
    return n;
}

int
ih_req_form_each (ih_req_t *r, ih_req_field_fn *fn, void *arg)
{
    for (int i = 0; i < r->form.n; i++) {
        int rc = fn (r->form.kv [2 * i], r->form.kv [2 * i + 1], arg);
        if (rc)
            return rc;
    }
    return 0;
}

const char *
ih_req_cookie (ih_req_t *r, const char *name)
{
    if (!r->cookies_read) {
        ih_request_cookies (&r->cookies, ih_req_header (r, MHD_HTTP_HEADER_COOKIE));
        r->cookies_read = true;
    }
    return ih_pairs_get (&r->cookies, name);
}

static void
s_client_addr (struct MHD_Connection *conn, char *out, size_t size)
{
    snprintf (out, size, "?");
    const union MHD_ConnectionInfo *ci = conn ? MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)
                                              : NULL;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char ip [INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, ip, sizeof ip);
    else
    if (sa->sa_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, ip, sizeof ip);
    snprintf (out, size, "%s", ip);
}

void
ih_http_conn_key (struct MHD_Connection *conn, uint8_t key [IH_WORKQ_KEY])
{
    const union MHD_ConnectionInfo *ci = conn ? MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS)
                                              : NULL;
    ih_workq_key (ci ? ci->client_addr : NULL, key);
}

void
ih_req_addr (ih_req_t *r, char *out, size_t size)
{
    s_client_addr (r->conn, out, size);
}

bool
ih_req_tls (ih_req_t *r)
{
    return r->http && r->http->tls;
}

void
ih_req_set_cookie (ih_req_t *r, const char *name, const char *value, int64_t max_age_s)
{
    char v [IH_HTTP_HDR_VALUE];
    char age [40] = "";
    if (max_age_s >= 0)
        snprintf (age, sizeof age, "; Max-Age=%" PRId64, max_age_s);
    snprintf (v, sizeof v, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value, age,
              ih_req_tls (r) ? "; Secure" : "");
    ih_req_add_header (r, "Set-Cookie", v);
}

void
ih_req_redirect (ih_req_t *r, const char *location)
{
    ih_buf_reset (&r->body);
    r->status = 303;
    r->etag = false;
    r->cache = NULL;
    r->ctype = "text/html; charset=utf-8";
    ih_req_add_header (r, "Location", location);
    ih_html_puts (&r->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                            "<title>See other</title></head><body><p><a href=\"");
    ih_html_esc (&r->body, location);
    ih_html_puts (&r->body, "\">Continue</a></p></body></html>\n");
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
    if (self->nhandles < IH_HTTP_MAX_HANDLES)
        self->handles [self->nhandles++] = local;
    pthread_mutex_unlock (&self->mx);
    return local;
}

static const char *
s_reason (int status)
{
    switch (status) {
        case 400: return "Bad request";
        case 401: return "Not logged in";
        case 403: return "Forbidden";
        case 404: return "Not found";
        case 405: return "Method not allowed";
        case 406: return "Not acceptable";
        case 409: return "Conflict";
        case 413: return "Content too large";
        case 414: return "URI too long";
        case 415: return "Unsupported media type";
        case 416: return "Range not satisfiable";
        case 429: return "Too many requests";
        case 502: return "Bad gateway";
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
    if (route->methods & ~(IH_HTTP_GET | IH_HTTP_POST))
        return ih_err_set (err, "route '%s': only GET (and HEAD) and POST can be served", route->path);
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
s_etag (const ih_req_t *r, char out [IH_HTTP_TAG_MAX])
{
    //  XXH3 (libxxhash), 128 bits: an ETag tells versions of a page apart for caches, it
    //  guards no secret, and BLAKE2b over each uncached page was a third of the gateway's
    //  CPU for it (perf, bench/RESULTS.md). A collision (not a practical accident at 128
    //  bits) would keep a client's copy until the page changes again.
    XXH3_state_t st;
    XXH3_128bits_reset (&st);
    const char *ctype = r->ctype ? r->ctype : "";
    XXH3_128bits_update (&st, ctype, strlen (ctype) + 1);
    for (int i = 0; i < r->nhdr; i++)
    {
        XXH3_128bits_update (&st, r->hdr [i].name, strlen (r->hdr [i].name) + 1);
        XXH3_128bits_update (&st, r->hdr [i].value, strlen (r->hdr [i].value) + 1);
    }
    if (r->body.len)
        XXH3_128bits_update (&st, r->body.data, r->body.len);
    XXH128_canonical_t h;
    XXH128_canonicalFromHash (&h, XXH3_128bits_digest (&st));
    char hex [33];
    ih_hex_encode (h.digest, sizeof h.digest, hex);
    snprintf (out, IH_HTTP_TAG_MAX, "\"%s\"", hex);
}

static void
s_common_headers (ih_http_t *self, struct MHD_Response *resp)
{
    MHD_add_response_header (resp, "Content-Security-Policy", self->cfg.csp);
    MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (resp, "Referrer-Policy", self->cfg.referrer);
    MHD_add_response_header (resp, "X-Frame-Options", "DENY");
    MHD_add_response_header (resp, "Cross-Origin-Resource-Policy", "same-origin");
    if (self->tls)
        MHD_add_response_header (resp, "Strict-Transport-Security", "max-age=31536000");
}

/*  True when the If-None-Match header lists tag (or is "*"). */
bool
ih_http_inm_match (const char *inm, const char *tag)
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
    ih_http_slot_t *s = &self->cache [h % IH_HTTP_CACHE_SLOTS];
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
        char tag [IH_HTTP_TAG_MAX];
        memcpy (tag, s->tag, sizeof tag);
        if (ih_http_inm_match (ih_req_header (&c->req, MHD_HTTP_HEADER_IF_NONE_MATCH), tag))
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
    ih_http_slot_t *s = &self->cache [h % IH_HTTP_CACHE_SLOTS];
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

/*  The Allow header of a route's methods. */
static const char *
s_allow (unsigned methods)
{
    if (!methods)
        methods = IH_HTTP_GET;
    if ((methods & IH_HTTP_GET) && (methods & IH_HTTP_POST))
        return "GET, HEAD, POST";
    return methods & IH_HTTP_POST ? "POST" : "GET, HEAD";
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
        MHD_add_response_header (resp, "Allow", s_allow (c->allow));
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header (resp, r->hdr [i].name, r->hdr [i].value);
    s_common_headers (self, resp);
    enum MHD_Result rc = s_queue (self, c, resp, status);
    if (!cacheable || !s_args_all_read (r) || !s_cache_put (self, c, resp, len))
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
    //  The target is ours to parse (ih_request.h), from the copy above: the path decoded,
    //  the query with a cap. libmicrohttpd parses the query right after this call, one
    //  record of the connection's memory pool for each argument: a query of a thousand
    //  '&' used it all up, and then it could not even build its error (431), and closed
    //  the connection without an answer. So it is given none: the query is emptied here,
    //  in libmicrohttpd's own buffer (the URI is its read buffer, which it parses next,
    //  from just after the '?' it found before this call).
    char *q = uri ? strchr (uri, '?') : NULL;
    if (q)
        q [1] = 0;
    const char *cq = strchr (c->uri, '?');
    size_t plen = cq ? (size_t) (cq - c->uri) : keep;
    c->path = (char *) malloc (plen + 2);
    if (!c->path)
        abort ();
    ih_err_t err = { "" };
    if (keep && ih_request_path (c->uri, plen, c->path, plen + 2, &err) != 0) {
        c->bad_target = strstr (err.msg, "NUL") ? "The address holds a NUL byte (%00)."
                                                : "The address is not a path this server can read.";
        snprintf (c->path, plen + 2, "/");
    }
    else
    if (!keep)
        snprintf (c->path, plen + 2, "/");
    else
    if (cq && strlen (cq + 1) > s_MAX_ARGBYTES)
        c->bad_target = "Too many or too long query arguments.";
    else
    if (cq && ih_request_query (&c->req.args, cq + 1, strlen (cq + 1), s_MAX_ARGS, &err) != 0)
        c->bad_target = strstr (err.msg, "NUL") ? "The address holds a NUL byte (%00)."
                                                : "Too many or too long query arguments.";
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
        char ip [INET6_ADDRSTRLEN + 1];
        s_client_addr (conn, ip, sizeof ip);
        fprintf (stderr, "I %s: %s %s %.200s %d %.1f ms%s\n", s_name (self), ip,
                 c->req.method ? c->req.method : "?", c->uri_len > self->cfg.max_uri
                 ? "(too long)" : c->uri, c->answered ? c->req.status : 0, secs * 1000,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    if (c->req.resp)
        MHD_destroy_response (c->req.resp);
    ih_buf_free (&c->req.body);
    ih_buf_free (&c->post);
    ih_pairs_free (&c->req.form);      //  wiped: it may hold a password
    ih_pairs_free (&c->req.args);
    ih_pairs_free (&c->req.cookies);
    free (c->path);
    free (c->uri);
    free (c);
    *req_cls = NULL;
}

static size_t
s_max_body (const ih_http_route_t *route)
{
    return route->max_body ? route->max_body : IH_HTTP_BODY_DEFAULT;
}

/*  The first call of a POST (headers only): is it one we read? Returns true when it
    answered (405, 415, 413), false when the body is to be read. */
static bool
s_post_start (ih_http_t *self, s_conn_t *c, enum MHD_Result *rc)
{
    ih_req_t *r = &c->req;
    const ih_http_route_t *route = s_match (self, r->path);
    if (!route || !(route->methods & IH_HTTP_POST)) {
        c->allow = route ? route->methods : 0;
        ih_req_error (r, 405, route ? "This address does not take a form." : "Only GET and HEAD are served here.");
        *rc = s_respond (self, c);
        return true;
    }
    r->route = route;
    if (!ih_request_form_type (ih_req_header (r, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        ih_req_error (r, 415, "A form is sent as application/x-www-form-urlencoded.");
        *rc = s_respond (self, c);
        return true;
    }
    const char *cl = ih_req_header (r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;
    if (cl && ih_parse_u64 (cl, &n) && n > s_max_body (route)) {
        //  Refused before a byte of the body is read (and before 100 Continue).
        ih_req_error (r, 413, "The form is too large.");
        *rc = s_respond (self, c);
        return true;
    }
    c->post_route = route;
    r->post = true;
    return false;
}

/*  A worker's job: the handler of the request, and what follows it that needs no
    libmicrohttpd call (the ETag, a 304); then the connection resumes, and s_access
    queues the answer. */
static void
s_work (void *arg, bool cancelled)
{
    s_conn_t *c = (s_conn_t *) arg;
    ih_req_t *r = &c->req;
    if (cancelled)
        ih_req_error (r, 503, "The server is stopping.");
    else
    if (r->post) {
        //  A form is answered afresh, never from the cache nor into it.
        r->route->handler (r);
        if (r->status == 0)
            r->status = 200;
        r->etag = false;
    }
    else {
        s_dispatch (c->http, r);
        if (r->status == 0)
            r->status = 200;
        if (r->status == 200 && r->etag && !r->resp) {
            s_etag (r, c->tag);
            if (ih_http_inm_match (ih_req_header (r, MHD_HTTP_HEADER_IF_NONE_MATCH), c->tag)) {
                ih_buf_free (&r->body);
                c->not_modified = true;
            }
        }
    }
    c->handled = true;
    MHD_resume_connection (r->conn);
}

/*  Hands the request to the workers (ih_workq.h: a fair share for each address), or
    answers 429 when its address already has its share waiting. */
static enum MHD_Result
s_submit (ih_http_t *self, s_conn_t *c)
{
    ih_req_t *r = &c->req;
    ih_http_conn_key (r->conn, c->key);
    if (ih_workq_busy (self->workq, c->key)) {
        ih_req_error (r, 429, "Too many of your requests are waiting: try again in a moment.");
        ih_req_add_header (r, "Retry-After", "2");
        return s_respond (self, c);
    }
    //  Suspended first: the worker resumes it, maybe before submit returns.
    MHD_suspend_connection (r->conn);
    ih_workq_submit (self->workq, &c->job, c->key, s_work, c);
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
        *upload_data_size = 0;          //  a body we do not read (405, 413 was queued)
        return MHD_YES;
    }
    if (c->handled)                     //  resumed: a worker ran the handler (s_work)
        return c->not_modified ? s_answer_304 (self, c, c->tag) : s_respond (self, c);
    ih_req_t *r = &c->req;
    r->path = c->path;                  //  ours, not libmicrohttpd's url (ih_request_path)
    r->method = method;
    bool post = streq (method, MHD_HTTP_METHOD_POST);
    if (!c->headers_seen)
        r->gen = self->cfg.generation ? self->cfg.generation (self->cfg.app) : 0;
    if (!post && !streq (method, MHD_HTTP_METHOD_GET) && !streq (method, MHD_HTTP_METHOD_HEAD)) {
        //  Answered at once: MHD then discards any body and closes the connection.
        ih_req_error (r, 405, "Only GET and HEAD are served here.");
        *upload_data_size = 0;
        return s_respond (self, c);
    }
    if (!c->headers_seen) {
        enum MHD_Result rc;
        if (c->uri_len <= self->cfg.max_uri && !c->bad_target && post && s_post_start (self, c, &rc))
            return rc;
        //  A response queued in the first call (before MHD knows there is no body) makes
        //  MHD close the connection: answer in the next one and keep it alive.
        c->headers_seen = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (c->post_route) {
            if (!c->too_large && c->post.len + *upload_data_size > s_max_body (c->post_route)) {
                //  No Content-Length said so (a chunked body): the rest is read and
                //  dropped (MHD answers only once a body is complete), and 413 follows;
                //  a client that goes on sending long after is cut off.
                c->too_large = true;
                ih_buf_free (&c->post);
            }
            if (c->too_large) {
                c->dropped += *upload_data_size;
                if (c->dropped > s_MAX_DROPPED)
                    return MHD_NO;
            }
            else
                ih_buf_append (&c->post, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->too_large) {
        ih_req_error (r, 413, "The form is too large.");
        return s_respond (self, c);
    }
    if (c->uri_len > self->cfg.max_uri) {
        ih_req_error (r, 414, "The address is too long.");
        return s_respond (self, c);
    }
    if (c->bad_target) {
        ih_req_error (r, 400, c->bad_target);
        return s_respond (self, c);
    }
    if (r->post) {
        ih_err_t err = { "" };
        int prc = ih_request_form (&r->form, c->post.data ? (const char *) c->post.data : "", c->post.len,
                                   IH_HTTP_MAX_FIELDS, &err);
        if (c->post.data)
            sodium_memzero (c->post.data, c->post.len);     //  it may hold a password
        ih_buf_free (&c->post);
        if (prc != 0) {
            ih_req_error (r, 400, err.msg);
            return s_respond (self, c);
        }
        return s_submit (self, c);
    }
    //  The cache and 304 first: both cost no store access.
    enum MHD_Result rc;
    if (s_cache_answer (self, c, &rc))
        return rc;
    r->route = s_match (self, r->path);
    if (r->route && r->route->methods && !(r->route->methods & IH_HTTP_GET)) {
        c->allow = r->route->methods;
        ih_req_error (r, 405, "This address takes a form only (POST).");
        return s_respond (self, c);
    }
    return s_submit (self, c);
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
    if (!self->cfg.per_ip_queue) self->cfg.per_ip_queue = 16;
    if (!self->cfg.csp) self->cfg.csp = IH_HTTP_CSP;
    if (!self->cfg.referrer) self->cfg.referrer = "no-referrer";
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO
                   | MHD_ALLOW_SUSPEND_RESUME;
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
    //  The handlers' threads: libmicrohttpd's own only move bytes and answer from the
    //  cache (ih_workq.h).
    ih_workq_cfg_t wcfg = { .workers = cfg->threads, .per_key_running = cfg->per_ip_workers,
                            .per_key_queued = cfg->per_ip_queue, .name = s_name (self) };
    self->workq = ih_workq_new (&wcfg);
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
    //  The workers first: the running handlers finish, the waiting ones are answered 503
    //  and their connections resumed (libmicrohttpd refuses to stop with one suspended).
    ih_workq_stop (self->workq);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    ih_workq_destroy (&self->workq);
    for (int i = 0; i < IH_HTTP_CACHE_SLOTS; i++) {
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

//  The self-test is ih_http_test.c (it reads the server's inside: ih_http_int.h).
