/*  ih_gw.c: the Public Zone on the web layer: its state's accessors, its site (route
    table, page shell) and the operations routes /healthz and /metrics (see ih_gw.h). */
#include <czmq.h>
#include <pthread.h>

#include "ih_api.h"
#include "ih_feed.h"
#include "ih_gw.h"
#include "ih_html.h"
#include "ih_log.h"
#include "ih_pages.h"
#include "ih_taxii.h"

ih_gw_t *
ih_gw_of (ih_req_t *r)
{
    return (ih_gw_t *) r->app;
}

ih_store_t *
ih_gw_store (ih_req_t *r)
{
    return (ih_store_t *) ih_req_local (r);
}

bool
ih_gw_visible (const ih_msg_t *m)
{
    return m && m->kind == IH_KIND_ALERT && m->tlp == IH_TLP_CLEAR;
}

/* ---- the store's health -------------------------------------------------------------------- */

static pthread_mutex_t s_storage_lock = PTHREAD_MUTEX_INITIALIZER;

void
ih_gw_storage_bad (ih_gw_t *gw, const char *why)
{
    pthread_mutex_lock (&s_storage_lock);
    if (!atomic_load (&gw->storage_bad))
        snprintf (gw->storage_why, sizeof gw->storage_why, "%s", why);
    atomic_store (&gw->storage_bad, true);
    pthread_mutex_unlock (&s_storage_lock);
    ih_log_limited ("gateway store", 'E', "gateway", "the store cannot be read: %s (infohub-agent "
                    "verify on a copy lists what is damaged; README, Recovery)", why);
}

void
ih_gw_storage_good (ih_gw_t *gw)
{
    pthread_mutex_lock (&s_storage_lock);
    atomic_store (&gw->storage_bad, false);
    gw->storage_why [0] = 0;
    atomic_store (&gw->storage_checked_ms, ih_now_ms ());
    pthread_mutex_unlock (&s_storage_lock);
}

void
ih_gw_storage_write (ih_gw_t *gw, const char *why)
{
    if (!why && !atomic_load (&gw->write_failing))
        return;
    pthread_mutex_lock (&s_storage_lock);
    snprintf (gw->write_why, sizeof gw->write_why, "%s", why ? why : "");
    atomic_store (&gw->write_failing, why != NULL);
    pthread_mutex_unlock (&s_storage_lock);
}

bool
ih_gw_storage_ok (ih_gw_t *gw, char *why, size_t size)
{
    if (!atomic_load (&gw->storage_bad) && !atomic_load (&gw->write_failing))
        return true;
    pthread_mutex_lock (&s_storage_lock);
    if (gw->storage_bad)
        snprintf (why, size, "store damaged: %s", gw->storage_why);
    else
        snprintf (why, size, "store cannot be written: %s", gw->write_why);
    pthread_mutex_unlock (&s_storage_lock);
    return false;
}

void
ih_gw_store_failed (ih_req_t *r, const char *why)
{
    ih_gw_storage_bad (ih_gw_of (r), why && *why ? why : "a read of the store failed");
}

/* ---- operations routes ------------------------------------------------------------------ */

static void
s_healthz (ih_req_t *r)
{
    ih_gw_t *gw = ih_gw_of (r);
    ih_store_counts_t c;
    ih_err_t err = { "" };
    bool ok = ih_store_counts (ih_gw_store (r), &c, &err) == 0;
    char why [300] = "";
    bool sound = ih_gw_storage_ok (gw, why, sizeof why);
    if (ok && !sound) {
        ok = false;
        ih_err_set (&err, "%s", why);
    }
    uint64_t head = atomic_load (&gw->head);
    uint64_t owed = atomic_load (&gw->owed);     //  the lag counts what is for the gateway
    bool connected = atomic_load (&gw->connected);
    r->ctype = "application/json";
    r->status = ok ? 200 : 503;
    ih_buf_printf (&r->body, "{\"status\":\"%s\",\"broker\":\"%s\",\"cursor\":%" PRIu64
                    ",\"head\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"alerts\":%" PRIu64
                    ",\"uptime_s\":%" PRId64 "",
                    ok ? (connected ? "ok" : "degraded") : "error",
                    connected ? "connected" : "disconnected", ok ? c.cursor : 0, head,
                    ok && owed > c.cursor ? owed - c.cursor : 0, ok ? c.alerts - c.retracted : 0,
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
    ih_gw_t *gw = ih_gw_of (r);
    ih_store_counts_t c;
    memset (&c, 0, sizeof c);
    ih_store_counts (ih_gw_store (r), &c, NULL);
    uint64_t head = atomic_load (&gw->head);
    uint64_t owed = atomic_load (&gw->owed);
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    ih_metrics_render (ih_http_metrics (r->http), &r->body);
    ih_metrics_value (&r->body, "ih_gateway_alerts", "gauge",
                      "TLP:CLEAR alerts held and shown (active).", (double) (c.alerts - c.retracted));
    ih_metrics_value (&r->body, "ih_gateway_alerts_retracted", "gauge",
                      "Alerts held that their publisher retracted.", (double) c.retracted);
    ih_metrics_value (&r->body, "ih_gateway_iocs", "gauge", "IOCs of the alerts held.", (double) c.iocs);
    ih_metrics_value (&r->body, "ih_gateway_cursor", "gauge",
                      "Highest broker sequence number durably stored.", (double) c.cursor);
    ih_metrics_value (&r->body, "ih_gateway_broker_head", "gauge",
                      "The broker's highest sequence number, as last reported.", (double) head);
    ih_metrics_value (&r->body, "ih_gateway_broker_owed", "gauge",
                      "The broker's last sequence number for the gateway (TLP:CLEAR), as last reported.",
                      (double) owed);
    ih_metrics_value (&r->body, "ih_gateway_lag", "gauge",
                      "Messages for the gateway the broker holds and the gateway has not stored yet.",
                      (double) (owed > c.cursor ? owed - c.cursor : 0));
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
    ih_metrics_value (&r->body, "ih_gateway_store_reads_total", "counter",
                      "Records read from the store (index entries, alerts, meta) since start.",
                      (double) ih_store_reads ());
    ih_metrics_value (&r->body, "ih_gateway_start_time_seconds", "gauge", "Process start (Unix time).",
                      (double) gw->started_ms / 1000.0);
}

/* ---- the route table ---------------------------------------------------------------------- */

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
s_alert (ih_req_t *r)
{
    char id [IH_UUID_LEN + 1];
    if (s_id_after (r->path, "/alerts/", id))
        ih_pages_alert (r, id);
    else
        ih_req_error (r, 404, "There is no such advisory.");
}

static void
s_api_alert (ih_req_t *r)
{
    char id [IH_UUID_LEN + 1];
    if (s_id_after (r->path, "/api/v1/alerts/", id))
        ih_api_alert (r, id);
    else
        ih_req_error (r, 404, "no such API resource");
}

static void
s_export_csv (ih_req_t *r)
{
    ih_api_export (r, "csv");
}

static void
s_export_stix (ih_req_t *r)
{
    ih_api_export (r, "stix21");
}

static void
s_taxii (ih_req_t *r)
{
    ih_taxii_handle (r, r->path + strlen ("/taxii2"));
}

/*  /static/NAME and /NAME alike: the name is what follows the last '/'. */
static void
s_static (ih_req_t *r)
{
    ih_pages_static (r, strrchr (r->path, '/') + 1);
}

//  In order: the first match answers. Labels name the routes in the metrics
//  (ih_http_requests_total{route="..."}), whose lines come in this order.
#define s_HTML(p, m, l, h)  { .path = p, .match = m, .label = l, .handler = h }
#define s_JSON(p, m, l, h)  { .path = p, .match = m, .label = l, .handler = h, .errors = IH_HTTP_JSON }
#define s_TAXII(p, m)       { .path = p, .match = m, .label = "taxii", .handler = s_taxii, \
                              .error = ih_taxii_error, .accept = ih_taxii_accept_ok }
static const ih_http_route_t s_routes [] = {
    s_HTML ("/",                    IH_HTTP_EXACT,  "index",         ih_pages_index),
    s_HTML ("/index.html",          IH_HTTP_EXACT,  "index",         ih_pages_index),
    s_HTML ("/alerts/",             IH_HTTP_PREFIX, "alert",         s_alert),
    s_HTML ("/search",              IH_HTTP_EXACT,  "search",        ih_pages_search),
    s_HTML ("/trends",              IH_HTTP_EXACT,  "trends",        ih_pages_trends),
    s_HTML ("/feed.atom",           IH_HTTP_EXACT,  "feed",          ih_feed_atom),
    s_JSON ("/api/v1/alerts",       IH_HTTP_EXACT,  "api_alerts",    ih_api_alerts),
    s_JSON ("/api/v1/alerts/",      IH_HTTP_EXACT,  "api_alerts",    ih_api_alerts),
    s_JSON ("/api/",                IH_HTTP_PREFIX, "api_alert",     s_api_alert),
    s_JSON ("/export/csv",          IH_HTTP_EXACT,  "export_csv",    s_export_csv),
    s_JSON ("/export/stix21",       IH_HTTP_EXACT,  "export_stix21", s_export_stix),
    s_TAXII ("/taxii2",             IH_HTTP_EXACT),
    s_TAXII ("/taxii2/",            IH_HTTP_PREFIX),
    s_JSON ("/healthz",             IH_HTTP_EXACT,  "healthz",       s_healthz),
    s_JSON ("/metrics",             IH_HTTP_EXACT,  "metrics",       s_metrics),
    s_HTML ("/static/style.css",    IH_HTTP_EXACT,  "static",        s_static),
    s_HTML ("/static/icon.svg",     IH_HTTP_EXACT,  "static",        s_static),
    s_HTML ("/favicon.ico",         IH_HTTP_EXACT,  "static",        s_static),
    s_HTML ("/robots.txt",          IH_HTTP_EXACT,  "static",        s_static),
};

/* ---- the site ------------------------------------------------------------------------------ */

static const ih_layout_link_t s_nav [] = {
    { "/", "Advisories" }, { "/search", "Search" }, { "/trends", "Trends" },
    { "/feed.atom", "Atom feed" }, { "/taxii2/", "TAXII 2.1" }
};

static void
s_layout (ih_gw_t *gw)
{
    memset (&gw->layout, 0, sizeof gw->layout);
    gw->layout.site = gw->title ? gw->title : "Infohub Public Zone";
    gw->layout.home = "/";
    gw->layout.nav = s_nav;
    gw->layout.nnav = (int) (sizeof s_nav / sizeof s_nav [0]);
    gw->layout.head = "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"/feed.atom\" "
                      "title=\"Latest advisories (Atom)\">";
    gw->layout.footer = "<div>Public threat intelligence shared by Infohub members under "
                        "<strong>TLP:CLEAR</strong>: free to share, no restriction.</div><div>"
                        "<a href=\"/api/v1/alerts\">JSON API</a><a href=\"/export/csv\">CSV</a>"
                        "<a href=\"/export/stix21\">STIX 2.1</a><a href=\"/taxii2/\">TAXII 2.1</a>"
                        "<a href=\"/feed.atom\">Atom</a></div>";
    gw->layout.back = "Back to the latest advisories";
}

/* ---- the server's callbacks ---------------------------------------------------------------- */

static uint64_t
s_generation (void *app)
{
    return atomic_load (&((ih_gw_t *) app)->gen);
}

static void *
s_store_new (void *app)
{
    ih_gw_t *gw = (ih_gw_t *) app;
    ih_store_t *store = ih_store_share (gw->store);
    ih_store_cache (store, gw->alerts);
    return store;
}

size_t
ih_gw_frag_key (uint8_t key [IH_GW_FRAG_KEY_MAX], const char *kind, const ih_store_alert_t *info)
{
    //  Everything a piece is rendered from: the body (named by the alert and the seq its
    //  latest revision came with), that revision's number and the status.
    memset (key, 0, 16);
    memcpy (key, kind, strnlen (kind, 15));
    memcpy (key + 16, info->id, IH_UUID_LEN);
    ih_put_be64 (key + 16 + IH_UUID_LEN, info->seq);
    ih_put_le32 (key + 16 + IH_UUID_LEN + 8, info->revision);
    key [16 + IH_UUID_LEN + 12] = info->retracted ? 1 : 0;
    return IH_GW_FRAG_KEY_MAX;
}

void
ih_gw_release (ih_gw_t *gw)
{
    ih_cache_destroy (&gw->alerts);
    ih_cache_destroy (&gw->frags);
}

static void
s_store_free (void *local)
{
    ih_store_t *store = (ih_store_t *) local;
    ih_store_destroy (&store);
}

static void
s_html_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    ih_layout_error (&ih_gw_of (r)->layout, r, status, reason, msg);
}

ih_http_t *
ih_gw_serve (ih_gw_t *gw, const ih_http_cfg_t *cfg, ih_err_t *err)
{
    s_layout (gw);
    if (!gw->alerts)
        gw->alerts = ih_store_cache_new (IH_GW_ALERT_CACHE);
    if (!gw->frags)
        gw->frags = ih_cache_new (IH_GW_FRAG_CACHE, NULL);
    ih_http_cfg_t c = *cfg;
    c.name = "gateway";
    c.app = gw;
    c.generation = s_generation;
    c.local_new = s_store_new;
    c.local_free = s_store_free;
    c.html_error = s_html_error;
    ih_http_t *http = ih_http_new (&c);
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes [0]; i++)
        if (ih_http_route (http, &s_routes [i], err) != 0) {
            ih_http_destroy (&http);
            return NULL;
        }
    if (ih_http_start (http, err) != 0)
        ih_http_destroy (&http);
    return http;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"
#include "ih_tk_http.h"

/*  GET path; checks the status and that the body holds want (NULL: anything). */
static void
s_expect (uint16_t port, const char *path, const char *headers, int status, const char *want,
          bool verbose)
{
    ih_tk_http_t res;
    int got = ih_tk_http (&res, port, "GET", path, headers);
    if (verbose)
        printf ("\n    GET %s -> %d %.100s", path, got, res.body);
    IH_CHECK (got == status);
    IH_CHECK (!want || strstr (res.body, want));
    ih_tk_http_free (&res);
}

void
ih_gw_test_open (ih_gw_t *gw, const char *title, const char *name, uint64_t map, char dir [256])
{
    char sdir [300], tdir [320];
    IH_CHECK (ih_tk_tempdir (name, dir, 256));
    ih_tk_path (sdir, sizeof sdir, dir, "store");
    ih_tk_path (tdir, sizeof tdir, sdir, "taxii");
    ih_err_t err = { "" };
    memset (gw, 0, sizeof *gw);
    gw->title = title;
    gw->started_ms = ih_now_ms ();
    snprintf (gw->base_url, sizeof gw->base_url, "http://127.0.0.1");
    gw->store = ih_store_open (sdir, IH_STORE_WRITER, map, map, &err);
    IH_CHECK (gw->store);
    gw->added = ih_added_open (tdir, &err);
    IH_CHECK (gw->added);
}

void
ih_gw_test (bool verbose)
{
    //  Ids in paths.
    char id [IH_UUID_LEN + 1];
    IH_CHECK (s_id_after ("/alerts/11111111-1111-4111-8111-111111111111", "/alerts/", id));
    IH_CHECK (streq (id, "11111111-1111-4111-8111-111111111111"));
    IH_CHECK (s_id_after ("/alerts/11111111-1111-4111-8111-111111111111/", "/alerts/", id));
    IH_CHECK (!s_id_after ("/alerts/11111111-1111-4111-8111-111111111111//", "/alerts/", id));
    IH_CHECK (!s_id_after ("/alerts/short", "/alerts/", id));
    IH_CHECK (!s_id_after ("/other/11111111-1111-4111-8111-111111111111", "/alerts/", id));

    //  Only TLP:CLEAR alerts are public.
    ih_msg_t m [2];
    ih_tk_alert (&m [0], NULL, IH_TLP_CLEAR, "<script>x</script> public");
    ih_tk_alert (&m [1], NULL, IH_TLP_GREEN, "members only");
    IH_CHECK (ih_gw_visible (&m [0]) && !ih_gw_visible (&m [1]) && !ih_gw_visible (NULL));

    //  The site over a store holding both, on an ephemeral port.
    char dir [256];
    ih_err_t err = { "" };
    ih_gw_t gw;
    ih_gw_test_open (&gw, "Test Zone", "gw", 64 << 20, dir);
    uint64_t seqs [2] = { 1, 2 };
    IH_CHECK (ih_store_ingest_msgs (gw.store, m, seqs, 2, NULL, &err) == 0);
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    ih_http_t *http = ih_gw_serve (&gw, &cfg, &err);
    IH_CHECK (http);
    uint16_t port = ih_http_port (http);
    char path [128];

    //  Pages in the shell, errors in each route's kind.
    s_expect (port, "/", NULL, 200, "<a href=\"/\" class=\"active\">Advisories</a>", verbose);
    snprintf (path, sizeof path, "/alerts/%s", m [0].id);
    s_expect (port, path, NULL, 200, "&lt;script&gt;x&lt;/script&gt; public \xc2\xb7 Test Zone</title>",
              verbose);
    snprintf (path, sizeof path, "/alerts/%s", m [1].id);
    s_expect (port, path, NULL, 404, "Back to the latest advisories", verbose);
    s_expect (port, "/alerts/short", NULL, 404, "There is no such advisory.", verbose);
    s_expect (port, "/nowhere", NULL, 404, "<title>Not found \xc2\xb7 Test Zone</title>", verbose);
    s_expect (port, "/api/v1/alerts", NULL, 200, "\"count\":1", verbose);
    s_expect (port, "/api/v1/alerts/x", NULL, 404,
              "{\"error\":\"Not found\",\"status\":404,\"detail\":\"no such API resource\"}", verbose);
    s_expect (port, "/healthz", NULL, 200, "\"status\":\"degraded\"", verbose);
    s_expect (port, "/static/style.css", NULL, 200, ":root{", verbose);
    s_expect (port, "/favicon.ico", NULL, 200, "<svg ", verbose);
    s_expect (port, "/robots.txt", NULL, 200, "Disallow: /taxii2/", verbose);
    //  TAXII: its own errors; a cached answer is not reused for an Accept it refuses.
    s_expect (port, "/taxii2/", NULL, 200, "\"api_roots\"", verbose);
    s_expect (port, "/taxii2/", "Accept: text/html\r\n", 406,
              "{\"title\":\"Not acceptable\",\"http_status\":\"406\"", verbose);
    s_expect (port, "/taxii2/nope", NULL, 404, "\"description\":\"no such API root\"", verbose);

    //  The metrics: the server's counters by label, then the gateway's gauges.
    for (int i = 0; i < 200 && ih_metrics_count (ih_http_metrics (http), 13, 404) < 1; i++)
        zclock_sleep (5);
    s_expect (port, "/metrics", NULL, 200, "ih_http_requests_total{route=\"other\",code=\"404\"} 1\n",
              verbose);
    s_expect (port, "/metrics", NULL, 200, "ih_http_requests_total{route=\"taxii\",code=\"406\"} 1\n",
              verbose);
    s_expect (port, "/metrics", NULL, 200, "\n# TYPE ih_gateway_alerts gauge\n", verbose);

    ih_http_destroy (&http);
    ih_http_destroy (&http);
    ih_gw_release (&gw);
    ih_gw_release (&gw);
    for (int i = 0; i < 2; i++)
        ih_msg_free (&m [i]);
    ih_added_destroy (&gw.added);
    ih_store_destroy (&gw.store);
    ih_tk_rmtree (dir);
    if (verbose)
        printf ("\n    ");
}
#endif
