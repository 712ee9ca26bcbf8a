/*  ih_metrics.c: request counters and latency histograms (see ih_metrics.h). */
#include <czmq.h>
#include <stdatomic.h>

#include "ih_html.h"
#include "ih_metrics.h"

static const int s_codes [] = { 200, 304, 400, 404, 405, 406, 413, 414, 416, 431, 500, 503 };
#define s_NCODES ((int) (sizeof s_codes / sizeof s_codes [0]) + 1)     /* + "other" */

static const double s_bounds [] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define s_NBOUNDS ((int) (sizeof s_bounds / sizeof s_bounds [0]))

typedef struct {
    _Atomic uint64_t codes [s_NCODES];
    _Atomic uint64_t buckets [s_NBOUNDS];   /* not cumulative: rendered cumulatively */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} s_route_t;

struct ih_metrics {
    const char *const *names;
    int nroutes;
    s_route_t *routes;
};

ih_metrics_t *
ih_metrics_new (const char *const *routes, int nroutes)
{
    ih_metrics_t *self = (ih_metrics_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->names = routes;
    self->nroutes = nroutes;
    self->routes = (s_route_t *) calloc ((size_t) (nroutes > 0 ? nroutes : 1), sizeof (s_route_t));
    if (!self->routes)
        abort ();
    return self;
}

void
ih_metrics_destroy (ih_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->routes);
    free (*self_p);
    *self_p = NULL;
}

static int
s_code_index (int code)
{
    for (int i = 0; i < s_NCODES - 1; i++)
        if (s_codes [i] == code)
            return i;
    return s_NCODES - 1;
}

void
ih_metrics_request (ih_metrics_t *self, int route, int code, double seconds)
{
    if (!self || route < 0 || route >= self->nroutes)
        return;
    s_route_t *r = &self->routes [route];
    atomic_fetch_add_explicit (&r->codes [s_code_index (code)], 1, memory_order_relaxed);
    if (seconds < 0)
        seconds = 0;
    for (int i = 0; i < s_NBOUNDS; i++)
        if (seconds <= s_bounds [i]) {
            atomic_fetch_add_explicit (&r->buckets [i], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit (&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&r->sum_ns, (uint64_t) (seconds * 1e9), memory_order_relaxed);
}

uint64_t
ih_metrics_count (ih_metrics_t *self, int route, int code)
{
    if (!self || route < 0 || route >= self->nroutes)
        return 0;
    return atomic_load_explicit (&self->routes [route].codes [s_code_index (code)], memory_order_relaxed);
}

void
ih_metrics_value (ih_buf_t *out, const char *name, const char *type, const char *help, double value)
{
    ih_buf_printf (out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

void
ih_metrics_render (ih_metrics_t *self, ih_buf_t *out)
{
    ih_html_puts (out, "# HELP ih_http_requests_total HTTP requests answered, by route and status code.\n"
                       "# TYPE ih_http_requests_total counter\n");
    for (int r = 0; r < self->nroutes; r++)
        for (int c = 0; c < s_NCODES; c++) {
            uint64_t n = atomic_load_explicit (&self->routes [r].codes [c], memory_order_relaxed);
            if (n == 0)
                continue;
            if (c < s_NCODES - 1)
                ih_buf_printf (out, "ih_http_requests_total{route=\"%s\",code=\"%d\"} %" PRIu64 "\n",
                                self->names [r], s_codes [c], n);
            else
                ih_buf_printf (out, "ih_http_requests_total{route=\"%s\",code=\"other\"} %" PRIu64 "\n",
                                self->names [r], n);
        }
    ih_html_puts (out, "# HELP ih_http_request_duration_seconds Time from the request line to the "
                       "response being queued (streams: until the last byte), by route.\n"
                       "# TYPE ih_http_request_duration_seconds histogram\n");
    for (int r = 0; r < self->nroutes; r++) {
        s_route_t *rt = &self->routes [r];
        uint64_t count = atomic_load_explicit (&rt->count, memory_order_relaxed);
        if (count == 0)
            continue;
        uint64_t cum = 0;
        for (int i = 0; i < s_NBOUNDS; i++) {
            cum += atomic_load_explicit (&rt->buckets [i], memory_order_relaxed);
            ih_buf_printf (out, "ih_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                            self->names [r], s_bounds [i], cum);
        }
        //  count is read after the buckets: +Inf is never below the last bucket.
        if (count < cum)
            count = cum;
        ih_buf_printf (out, "ih_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
                             "ih_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                             "ih_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n",
                        self->names [r], count, self->names [r],
                        (double) atomic_load_explicit (&rt->sum_ns, memory_order_relaxed) / 1e9,
                        self->names [r], count);
    }
}

/* ---- self-test -------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_metrics_test (bool verbose)
{
    static const char *const routes [] = { "index", "alert" };
    ih_metrics_t *m = ih_metrics_new (routes, 2);
    ih_metrics_request (m, 0, 200, 0.0002);
    ih_metrics_request (m, 0, 200, 0.003);
    ih_metrics_request (m, 0, 304, 0.00001);
    ih_metrics_request (m, 1, 404, 0.5);
    ih_metrics_request (m, 1, 299, 20);          //  "other" code, beyond the last bucket
    ih_metrics_request (m, 1, 200, -1);          //  clock step back: counted as 0
    ih_metrics_request (m, 2, 200, 0.1);         //  unknown route: ignored
    ih_metrics_request (m, -1, 200, 0.1);
    IH_CHECK (ih_metrics_count (m, 0, 200) == 2);
    IH_CHECK (ih_metrics_count (m, 0, 304) == 1);
    IH_CHECK (ih_metrics_count (m, 1, 299) == 1);
    IH_CHECK (ih_metrics_count (m, 1, 298) == 1);    //  same "other" slot
    IH_CHECK (ih_metrics_count (m, 5, 200) == 0);

    ih_buf_t b;
    ih_buf_init (&b);
    ih_metrics_render (m, &b);
    ih_metrics_value (&b, "ih_gateway_alerts", "gauge", "Alerts held.", 42);
    const char *t = ih_html_cstr (&b);
    if (verbose)
        printf ("\n%s", t);
    IH_CHECK (strstr (t, "ih_http_requests_total{route=\"index\",code=\"200\"} 2\n"));
    IH_CHECK (strstr (t, "ih_http_requests_total{route=\"alert\",code=\"other\"} 1\n"));
    IH_CHECK (!strstr (t, "code=\"405\""));                     //  zero counters are left out
    IH_CHECK (strstr (t, "ih_http_request_duration_seconds_bucket{route=\"index\",le=\"0.00025\"} 2\n"));
    IH_CHECK (strstr (t, "ih_http_request_duration_seconds_bucket{route=\"index\",le=\"0.005\"} 3\n"));
    IH_CHECK (strstr (t, "ih_http_request_duration_seconds_bucket{route=\"alert\",le=\"10\"} 2\n"));
    IH_CHECK (strstr (t, "ih_http_request_duration_seconds_bucket{route=\"alert\",le=\"+Inf\"} 3\n"));
    IH_CHECK (strstr (t, "ih_http_request_duration_seconds_count{route=\"alert\"} 3\n"));
    IH_CHECK (strstr (t, "# TYPE ih_gateway_alerts gauge\nih_gateway_alerts 42\n"));
    //  Every bucket line is cumulative: never smaller than the one before it.
    uint64_t last = 0;
    const char *p = t;
    while ((p = strstr (p, "route=\"index\",le=\"")) != NULL) {
        const char *sp = strchr (p, ' ');
        uint64_t v = strtoull (sp + 1, NULL, 10);
        IH_CHECK (v >= last);
        last = v;
        p = sp;
    }
    ih_buf_free (&b);
    ih_metrics_destroy (&m);
    ih_metrics_destroy (&m);
    if (verbose)
        printf ("    ");
}
#endif
