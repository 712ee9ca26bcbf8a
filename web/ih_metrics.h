/*  ih_metrics.h: the web server's request counters and latency histograms (web/),
    rendered in the Prometheus text exposition format (version 0.0.4); a front end shows
    them where it likes (the gateway at /metrics, its own gauges after them).

    Routes are a fixed list of labels given at creation (ih_http makes it from the labels
    of the routes a front end registers, plus "other"), an index per route, so that a
    request costs a few relaxed atomic adds, no lock and no allocation. Status codes are
    counted per route for a fixed set of codes, the rest under "other".

        ih_http_requests_total{route="alert",code="200"} 12
        ih_http_request_duration_seconds_bucket{route="alert",le="0.001"} 10
        ...

    Threading: ih_metrics_request and ih_metrics_render may be called from any thread at
    once; new and destroy from one.
*/
#ifndef IH_METRICS_H
#define IH_METRICS_H

#include "ih_util.h"

typedef struct ih_metrics ih_metrics_t;

/*  routes: nroutes label values (literals, borrowed for the object's life). */
ih_metrics_t *ih_metrics_new(const char *const *routes, int nroutes);
void ih_metrics_destroy(ih_metrics_t **self_p);

/*  Records one request of route (0..nroutes-1; out of range is ignored) that ended with
    HTTP status code after seconds. */
void ih_metrics_request(ih_metrics_t *self, int route, int code, double seconds);
/*  Total requests recorded for route with code (for tests and /healthz). */
uint64_t ih_metrics_count(ih_metrics_t *self, int route, int code);

/*  Appends the counters and histograms. */
void ih_metrics_render(ih_metrics_t *self, ih_buf_t *out);
/*  Appends one gauge or counter with its HELP and TYPE lines. type: "gauge"|"counter". */
void ih_metrics_value(ih_buf_t *out, const char *name, const char *type, const char *help,
                      double value);

void ih_metrics_test(bool verbose);

#endif
