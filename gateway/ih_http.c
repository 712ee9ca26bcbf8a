/*  ih_http.c: the gateway's web server (see ih_http.h). */
#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>
#include "ih_api.h"
#include "ih_feed.h"
#include "ih_html.h"
#include "ih_http.h"
#include "ih_pages.h"
#include "ih_taxii.h"

#define s_CSP "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; " \
              "form-action 'self'; frame-ancestors 'none'"
#define s_MAX_ARGS      32
#define s_MAX_ARGBYTES  4096
#define s_CACHE_SLOTS   512
#define s_CACHE_MAXBODY (256 * 1024)        /* bigger answers are not kept */
#define s_CACHE_MAXALL  (32 * 1024 * 1024)  /* bytes kept in all */
#define s_MAX_HANDLES   256

static const char *const s_route_names [IH_R_COUNT] = {
    "index", "alert", "search", "trends", "feed", "api_alerts", "api_alert", "export_csv",
    "export_stix21", "taxii", "healthz", "metrics", "static", "other"
};

/*  Response cache: direct-mapped by the hash of the URI. */
typedef struct {
    uint64_t hash;
    uint64_t gen;
    char *uri;
    ih_route_t route;
    int64_t salt, expires_ms;
    const char *cache;              /* Cache-Control, for a 304 */
    size_t bytes;
    struct MHD_Response *resp;
} s_slot_t;

struct ih_http {
    ih_gw_t *gw;
    ih_http_cfg_t cfg;
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool tls;
    char *tls_cert_pem, *tls_key_pem;
    char boot [16];                 /* in every ETag: a restart (new code) changes them */
    pthread_mutex_t mx;             /* cache and handle list */
    s_slot_t cache [s_CACHE_SLOTS];
    size_t cache_bytes;
    ih_store_t *handles [s_MAX_HANDLES];
    int nhandles;
};

/*  Per connection request state (*req_cls), made in the URI log callback. */
typedef struct {
    ih_req_t req;
    ih_http_t *http;
    int64_t t0;                     /* monotonic µs */
    size_t uri_len;
    char *uri;
    bool headers_seen;              /* the first call to s_access happened */
    bool answered;
} s_conn_t;

static ih_http_t *s_self;           /* for the per-thread store handles */
static __thread ih_store_t *tl_store;

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

const char *const *
ih_http_route_names (void)
{
    return s_route_names;
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

ih_store_t *
ih_req_store (ih_req_t *r)
{
    return ih_http_store (r->gw);
}

ih_store_t *
ih_http_store (ih_gw_t *gw)
{
    if (tl_store)
        return tl_store;
    ih_http_t *self = s_self;
    tl_store = ih_store_share (gw->store);
    pthread_mutex_lock (&self->mx);
    if (self->nhandles < s_MAX_HANDLES)
        self->handles [self->nhandles++] = tl_store;
    pthread_mutex_unlock (&self->mx);
    return tl_store;
}

bool
ih_gw_visible (const ih_msg_t *m)
{
    return m && m->kind == IH_KIND_ALERT && m->tlp == IH_TLP_CLEAR;
}

static bool
s_json_route (ih_route_t route)
{
    return route == IH_R_API_ALERTS || route == IH_R_API_ALERT || route == IH_R_EXPORT_CSV
        || route == IH_R_EXPORT_STIX || route == IH_R_HEALTHZ || route == IH_R_METRICS;
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

void
ih_req_error (ih_req_t *r, int status, const char *msg)
{
    ih_buf_reset (&r->body);
    r->status = status;
    r->etag = false;
    r->cache = NULL;
    if (r->route == IH_R_TAXII) {
        //  TAXII 2.1 error message resource.
        r->ctype = IH_TAXII_MEDIA;
        ih_buf_printf (&r->body, "{\"title\":\"%s\",\"http_status\":\"%d\",\"description\":\"",
                        s_reason (status), status);
        ih_html_json_esc (&r->body, msg);
        ih_html_puts (&r->body, "\"}\n");
    }
    else
    if (s_json_route (r->route)) {
        r->ctype = "application/json";
        ih_buf_printf (&r->body, "{\"error\":\"%s\",\"status\":%d,\"detail\":\"", s_reason (status), status);
        ih_html_json_esc (&r->body, msg);
        ih_html_puts (&r->body, "\"}\n");
    }
    else
        ih_pages_error (r, status, s_reason (status), msg);
}

/* ---- operations routes ------------------------------------------------------------------ */

static void
s_healthz (ih_req_t *r)
{
    ih_gw_t *gw = r->gw;
    ih_store_counts_t c;
    ih_err_t err = { "" };
    bool ok = ih_store_counts (ih_req_store (r), &c, &err) == 0;
    uint64_t head = atomic_load (&gw->head);
    bool connected = atomic_load (&gw->connected);
    r->ctype = "application/json";
    r->status = ok ? 200 : 503;
    ih_buf_printf (&r->body, "{\"status\":\"%s\",\"broker\":\"%s\",\"cursor\":%" PRIu64
                    ",\"head\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"alerts\":%" PRIu64
                    ",\"uptime_s\":%" PRId64 "",
                    ok ? (connected ? "ok" : "degraded") : "error",
                    connected ? "connected" : "disconnected", ok ? c.cursor : 0, head,
                    ok && head > c.cursor ? head - c.cursor : 0, ok ? c.alerts - c.retracted : 0,
                    (ih_now_ms () - gw->started_ms) / 1000);
    if (!ok) {
        ih_html_puts (&r->body, ",\"error\":\"");
        ih_html_json_esc (&r->body, err.msg);
        ih_html_puts (&r->body, "\"");
    }
    ih_html_puts (&r->body, "}\n");
}

static void
s_metrics (ih_req_t *r)
{
    ih_gw_t *gw = r->gw;
    ih_store_counts_t c;
    memset (&c, 0, sizeof c);
    ih_store_counts (ih_req_store (r), &c, NULL);
    uint64_t head = atomic_load (&gw->head);
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    ih_metrics_render (gw->metrics, &r->body);
    ih_metrics_value (&r->body, "ih_gateway_alerts", "gauge",
                      "TLP:CLEAR alerts held and shown (active).", (double) (c.alerts - c.retracted));
    ih_metrics_value (&r->body, "ih_gateway_alerts_retracted", "gauge",
                      "Alerts held that their publisher retracted.", (double) c.retracted);
    ih_metrics_value (&r->body, "ih_gateway_iocs", "gauge", "IOCs of the alerts held.", (double) c.iocs);
    ih_metrics_value (&r->body, "ih_gateway_cursor", "gauge",
                      "Highest broker sequence number durably stored.", (double) c.cursor);
    ih_metrics_value (&r->body, "ih_gateway_broker_head", "gauge",
                      "The broker's highest sequence number, as last reported.", (double) head);
    ih_metrics_value (&r->body, "ih_gateway_lag", "gauge",
                      "Sequence numbers the gateway is behind the broker (not all are for it).",
                      (double) (head > c.cursor ? head - c.cursor : 0));
    ih_metrics_value (&r->body, "ih_gateway_broker_connected", "gauge",
                      "1 when the session with the broker is up.", atomic_load (&gw->connected) ? 1 : 0);
    int64_t last = atomic_load (&gw->last_commit_ms);
    ih_metrics_value (&r->body, "ih_gateway_last_commit_timestamp_seconds", "gauge",
                      "When the store last changed (Unix time).", (double) last / 1000.0);
    ih_metrics_value (&r->body, "ih_gateway_items_stored_total", "counter",
                      "Messages stored since start.", (double) atomic_load (&gw->stored));
    ih_metrics_value (&r->body, "ih_gateway_items_refused_total", "counter",
                      "Messages refused because they were not TLP:CLEAR.", (double) atomic_load (&gw->refused));
    ih_metrics_value (&r->body, "ih_gateway_items_rejected_total", "counter",
                      "Messages that failed signature or record verification.",
                      (double) atomic_load (&gw->rejected));
    ih_metrics_value (&r->body, "ih_gateway_store_used_bytes", "gauge", "LMDB pages in use.",
                      (double) c.used_bytes);
    ih_metrics_value (&r->body, "ih_gateway_start_time_seconds", "gauge", "Process start (Unix time).",
                      (double) gw->started_ms / 1000.0);
}

/* ---- routing ------------------------------------------------------------------------------ */

/*  If path is prefix + a 36-char id + optional "/", copies the id. */
static bool
s_id_after (const char *path, const char *prefix, char id [IH_UUID_LEN + 1])
{
    size_t n = strlen (prefix);
    if (strncmp (path, prefix, n) != 0)
        return false;
    const char *p = path + n;
    size_t len = strlen (p);
    if (len == IH_UUID_LEN + 1 && p [IH_UUID_LEN] == '/')
        len = IH_UUID_LEN;
    if (len != IH_UUID_LEN)
        return false;
    memcpy (id, p, IH_UUID_LEN);
    id [IH_UUID_LEN] = 0;
    return true;
}

static void
s_dispatch (ih_req_t *r)
{
    const char *p = r->path;
    char id [IH_UUID_LEN + 1];
    if (streq (p, "/") || streq (p, "/index.html")) {
        r->route = IH_R_INDEX;
        ih_pages_index (r);
    }
    else
    if (strncmp (p, "/alerts/", 8) == 0) {
        r->route = IH_R_ALERT;
        if (s_id_after (p, "/alerts/", id))
            ih_pages_alert (r, id);
        else
            ih_req_error (r, 404, "There is no such advisory.");
    }
    else
    if (streq (p, "/search")) {
        r->route = IH_R_SEARCH;
        ih_pages_search (r);
    }
    else
    if (streq (p, "/trends")) {
        r->route = IH_R_TRENDS;
        ih_pages_trends (r);
    }
    else
    if (streq (p, "/feed.atom")) {
        r->route = IH_R_FEED;
        ih_feed_atom (r);
    }
    else
    if (streq (p, "/api/v1/alerts") || streq (p, "/api/v1/alerts/")) {
        r->route = IH_R_API_ALERTS;
        ih_api_alerts (r);
    }
    else
    if (strncmp (p, "/api/", 5) == 0) {
        r->route = IH_R_API_ALERT;
        if (s_id_after (p, "/api/v1/alerts/", id))
            ih_api_alert (r, id);
        else
            ih_req_error (r, 404, "no such API resource");
    }
    else
    if (streq (p, "/export/csv")) {
        r->route = IH_R_EXPORT_CSV;
        ih_api_export (r, "csv");
    }
    else
    if (streq (p, "/export/stix21")) {
        r->route = IH_R_EXPORT_STIX;
        ih_api_export (r, "stix21");
    }
    else
    if (streq (p, "/taxii2") || strncmp (p, "/taxii2/", 8) == 0) {
        r->route = IH_R_TAXII;
        ih_taxii_handle (r, p + 7);
    }
    else
    if (streq (p, "/healthz")) {
        r->route = IH_R_HEALTHZ;
        s_healthz (r);
    }
    else
    if (streq (p, "/metrics")) {
        r->route = IH_R_METRICS;
        s_metrics (r);
    }
    else
    if (streq (p, "/static/style.css") || streq (p, "/static/icon.svg")) {
        r->route = IH_R_STATIC;
        ih_pages_static (r, p + 8);
    }
    else
    if (streq (p, "/favicon.ico") || streq (p, "/robots.txt")) {
        r->route = IH_R_STATIC;
        ih_pages_static (r, p + 1);
    }
    else {
        r->route = IH_R_OTHER;
        ih_req_error (r, 404, "There is nothing at this address.");
    }
}

/* ---- responses ------------------------------------------------------------------------------ */

static void
s_etag (ih_http_t *self, ih_req_t *r, char *out, size_t outsz)
{
    uint64_t h = s_fnv (r->uri, strlen (r->uri)) ^ (uint64_t) r->salt * 0x9e3779b97f4a7c15ULL;
    snprintf (out, outsz, "\"%s-%" PRIx64 "-%016" PRIx64 "\"", self->boot, r->gen, h);
}

static void
s_common_headers (ih_http_t *self, struct MHD_Response *resp)
{
    MHD_add_response_header (resp, "Content-Security-Policy", s_CSP);
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
    if (s->resp && s->hash == h && s->gen == c->req.gen && streq (s->uri, c->uri)
    &&  (s->expires_ms == 0 || ih_now_ms () < s->expires_ms)
    //  TAXII answers depend on Accept too (406): a refused one is not a hit.
    &&  (s->route != IH_R_TAXII
         || ih_taxii_accept_ok (ih_req_header (&c->req, MHD_HTTP_HEADER_ACCEPT)))) {
        hit = true;
        c->req.route = s->route;
        c->req.salt = s->salt;
        c->req.cache = s->cache;
        char tag [96];
        s_etag (self, &c->req, tag, sizeof tag);
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
    s->salt = c->req.salt;
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
    char tag [96];
    if (cacheable) {
        s_etag (self, r, tag, sizeof tag);
        MHD_add_response_header (resp, "ETag", tag);
    }
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
s_uri_log (void *cls, const char *uri, struct MHD_Connection *conn)
{
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
    c->req.gw = self->gw;
    c->req.conn = conn;
    c->req.uri = c->uri;
    c->req.route = IH_R_OTHER;
    ih_buf_init (&c->req.body);
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
        ih_metrics_request (self->gw->metrics, c->req.route, c->req.status, secs);
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
        fprintf (stderr, "I gateway: %s %.200s %d %.1f ms%s\n", ip, c->uri_len > self->cfg.max_uri
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
    r->gen = atomic_load (&self->gw->gen);
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
    if (a.count > s_MAX_ARGS || a.bytes > s_MAX_ARGBYTES) {
        ih_req_error (r, 400, "Too many or too long query arguments.");
        return s_respond (self, c);
    }
    //  The cache and 304 first: both cost no store access.
    enum MHD_Result rc;
    if (s_cache_answer (self, c, &rc))
        return rc;
    s_dispatch (r);
    if (r->status == 0)
        r->status = 200;
    if (r->status == 200 && r->etag && !r->resp) {
        char tag [96];
        s_etag (self, r, tag, sizeof tag);
        if (s_inm_match (ih_req_header (r, MHD_HTTP_HEADER_IF_NONE_MATCH), tag)) {
            ih_buf_free (&r->body);
            return s_answer_304 (self, c, tag);
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
    fprintf (stderr, "W gateway: http: %s\n", line);
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

ih_http_t *
ih_http_start (ih_gw_t *gw, const ih_http_cfg_t *cfg, ih_err_t *err)
{
    ih_http_t *self = (ih_http_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->gw = gw;
    self->cfg = *cfg;
    if (!self->cfg.threads) self->cfg.threads = 2;
    if (!self->cfg.max_conns) self->cfg.max_conns = 1024;
    if (!self->cfg.per_ip) self->cfg.per_ip = 100;
    if (!self->cfg.timeout_s) self->cfg.timeout_s = 15;
    if (!self->cfg.conn_memory) self->cfg.conn_memory = 64 * 1024;
    if (!self->cfg.max_uri) self->cfg.max_uri = 2048;
    pthread_mutex_init (&self->mx, NULL);
    snprintf (self->boot, sizeof self->boot, "%" PRIx64, (uint64_t) (ih_now_ms () & 0xffffffffffLL));
    s_self = self;

    //  The address to listen on.
    struct addrinfo hints, *ai = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char port [8];
    snprintf (port, sizeof port, "%u", cfg->port);
    int gai = getaddrinfo (cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1", port, &hints, &ai);
    if (gai != 0 || !ai) {
        ih_err_set (err, "listen: '%s' is not a numeric IPv4 or IPv6 address", cfg->listen ? cfg->listen : "");
        goto fail;
    }
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
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_access, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) self->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) self->cfg.max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) self->cfg.per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) self->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) self->cfg.conn_memory,
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, self,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_ARRAY, self->tls ? tls_opts : no_opts,
        MHD_OPTION_END);
    if (!self->daemon) {
        ih_err_set (err, "cannot listen on %s port %u%s: %s (in use, or not a local address?)",
                    cfg->listen, cfg->port, self->tls ? " with TLS" : "",
                    errno ? strerror (errno) : "MHD_start_daemon failed");
        goto fail;
    }
    freeaddrinfo (ai);
    ai = NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    return self;
fail:
    if (ai)
        freeaddrinfo (ai);
    ih_http_stop (&self);
    return NULL;
}

uint16_t
ih_http_port (ih_http_t *self)
{
    return self->port;
}

void
ih_http_stop (ih_http_t **self_p)
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
        ih_store_destroy (&self->handles [i]);
    free (self->tls_cert_pem);
    s_free_secret (self->tls_key_pem);
    pthread_mutex_destroy (&self->mx);
    if (s_self == self)
        s_self = NULL;
    free (self);
    *self_p = NULL;
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

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

    //  Ids in paths.
    char id [IH_UUID_LEN + 1];
    IH_CHECK (s_id_after ("/alerts/11111111-1111-4111-8111-111111111111", "/alerts/", id));
    IH_CHECK (streq (id, "11111111-1111-4111-8111-111111111111"));
    IH_CHECK (s_id_after ("/alerts/11111111-1111-4111-8111-111111111111/", "/alerts/", id));
    IH_CHECK (!s_id_after ("/alerts/11111111-1111-4111-8111-111111111111//", "/alerts/", id));
    IH_CHECK (!s_id_after ("/alerts/short", "/alerts/", id));
    IH_CHECK (!s_id_after ("/other/11111111-1111-4111-8111-111111111111", "/alerts/", id));

    //  The server on an ephemeral port: a bad address and a missing TLS key fail cleanly.
    ih_gw_t gw;
    memset (&gw, 0, sizeof gw);
    ih_err_t err = { "" };
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "not-an-address";
    IH_CHECK (ih_http_start (&gw, &cfg, &err) == NULL && strstr (err.msg, "not a numeric"));
    cfg.listen = "127.0.0.1";
    cfg.tls_cert = "/nonexistent/cert.pem";
    IH_CHECK (ih_http_start (&gw, &cfg, &err) == NULL && strstr (err.msg, "go together"));
    cfg.tls_key = "/nonexistent/key.pem";
    IH_CHECK (ih_http_start (&gw, &cfg, &err) == NULL && strstr (err.msg, "cannot read"));
    if (verbose)
        printf ("\n    %s\n    ", err.msg);
    cfg.tls_cert = cfg.tls_key = NULL;
    static const char *const routes [] = { "x" };
    gw.metrics = ih_metrics_new (routes, 1);
    ih_http_t *h = ih_http_start (&gw, &cfg, &err);
    IH_CHECK (h && ih_http_port (h) > 0);
    //  A second server on the same port fails with a message.
    cfg.port = ih_http_port (h);
    ih_http_t *h2 = ih_http_start (&gw, &cfg, &err);
    IH_CHECK (h2 == NULL && strstr (err.msg, "cannot listen"));
    ih_http_stop (&h);
    ih_http_stop (&h);
    ih_metrics_destroy (&gw.metrics);
}
#endif
