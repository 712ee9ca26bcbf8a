/*  bench-pages: how long the gateway's deep pages, filtered pages, search and trends take
    as the store grows (issue 10). A benchmark, not a test: tests count records read
    (gateway/ih_pages.c, the scale self-test), this measures wall time.

    usage: bench-pages DIR ALERTS [RUNS]      (RUNS requests per URL, default 20)

    Fills a store in DIR with ALERTS TLP:CLEAR alerts straight through the store API (as
    bench/ih_bench_load.c does, as the gateway's subscriber would after verification):
    categories in turn, three sectors, created over the last 40 weeks; every title says
    "advisory", one in ten "ransomware", another one in ten "wiper", one in a thousand
    "needle". Then serves them with the gateway's own routes (ih_gw_serve, no broker) on
    127.0.0.1 and times RUNS GETs of each URL from one client, one at a time, the response
    cache defeated (the generation moves before each request). Prints, per URL, the
    median and the maximum wall time in milliseconds and the store records each request
    read (ih_store_reads); and how long the fill took and the store's size.
*/
#include <arpa/inet.h>
#include <czmq.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "ih_gw.h"
#include "ih_store.h"

#define s_BATCH 1000

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static void
s_fill (ih_store_t *store, long n)
{
    static const char *const sectors [] = { "finance", "health", "energy" };
    ih_msg_t *m = (ih_msg_t *) calloc (s_BATCH, sizeof *m);
    uint64_t seqs [s_BATCH];
    if (!m)
        abort ();
    int64_t now = ih_now_ms ();
    ih_err_t err = { "" };
    for (long first = 0; first < n; first += s_BATCH) {
        int k = 0;
        for (; k < s_BATCH && first + k < n; k++) {
            long i = first + k;
            ih_msg_t *x = &m [k];
            ih_msg_init (x, IH_KIND_ALERT);
            ih_uuid_new (x->id);
            x->revision = 1;
            x->created = x->modified = now - (n - i) * (280LL * 86400000 / n);
            x->org = ih_msg_str (x, "bench-org");
            x->member = ih_msg_str (x, "bench");
            x->signer [0] = 1;
            char title [128];
            snprintf (title, sizeof title, "Public advisory %ld%s%s", i,
                      i % 10 == 3 ? " on ransomware" : i % 10 == 4 ? " on a wiper" : "",
                      i % 1000 == 13 ? " with a needle" : "");
            x->title = ih_msg_str (x, title);
            x->summary = ih_msg_str (x, "Block the indicators and hunt for them in proxy and DNS logs.");
            x->tlp = IH_TLP_CLEAR;
            x->category = (ih_category_t) (i % 10);     //  the first ten categories, in turn
            x->severity = (ih_severity_t) (i % IH_SEV_COUNT);
            ih_msg_strlist_add (x, &x->sectors, sectors [i % 3]);
            char dom [64];
            snprintf (dom, sizeof dom, "host-%ld.bench-pages.com", i);
            ih_msg_ioc_add (x, IH_IOC_DOMAIN, dom, "", true);
            seqs [k] = (uint64_t) i + 1;
        }
        if (ih_store_ingest_msgs (store, m, seqs, (size_t) k, NULL, &err) != 0) {
            fprintf (stderr, "bench-pages: %s\n", err.msg);
            exit (1);
        }
        for (int j = 0; j < k; j++)
            ih_msg_free (&m [j]);
    }
    free (m);
}

/*  GET path on 127.0.0.1:port, HTTP/1.0; returns the status (0 on failure). */
static int
s_get (uint16_t port, const char *path)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset (&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons (port);
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        if (fd >= 0)
            close (fd);
        return 0;
    }
    char req [512];
    int n = snprintf (req, sizeof req, "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n", path);
    if (write (fd, req, (size_t) n) != n) {
        close (fd);
        return 0;
    }
    char buf [65536], head [16] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read (fd, buf, sizeof buf)) > 0) {
        if (got < sizeof head - 1) {
            size_t c = (size_t) r < sizeof head - 1 - got ? (size_t) r : sizeof head - 1 - got;
            memcpy (head + got, buf, c);
        }
        got += (size_t) r;
    }
    close (fd);
    return got > 12 ? atoi (head + 9) : 0;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf (stderr, "usage: bench-pages DIR ALERTS [RUNS]\n");
        return 2;
    }
    long n = atol (argv [2]);
    int runs = argc > 3 ? atoi (argv [3]) : 20;
    if (n < 1000 || runs < 1 || runs > 10000) {
        fprintf (stderr, "bench-pages: ALERTS from 1000, RUNS from 1 to 10000\n");
        return 2;
    }
    ih_err_t err = { "" };
    char sdir [4096], tdir [4200];
    snprintf (sdir, sizeof sdir, "%s/store", argv [1]);
    snprintf (tdir, sizeof tdir, "%s/taxii", sdir);
    uint64_t map = 4ULL << 30;
    ih_gw_t gw;
    memset (&gw, 0, sizeof gw);
    gw.title = "Bench";
    gw.started_ms = ih_now_ms ();
    snprintf (gw.base_url, sizeof gw.base_url, "http://127.0.0.1");
    gw.store = ih_store_open (sdir, IH_STORE_WRITER, map, map, &err);
    gw.added = gw.store ? ih_added_open (tdir, &err) : NULL;
    if (!gw.added) {
        fprintf (stderr, "bench-pages: %s\n", err.msg);
        return 1;
    }
    double t0 = s_now_ms ();
    s_fill (gw.store, n);
    double fill_s = (s_now_ms () - t0) / 1000.0;
    ih_store_counts_t c;
    if (ih_store_counts (gw.store, &c, &err) != 0) {
        fprintf (stderr, "bench-pages: %s\n", err.msg);
        return 1;
    }
    printf ("store: %ld alerts, filled in %.1f s, %" PRIu64 " MiB used\n", n, fill_s, c.used_bytes >> 20);
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    ih_http_t *http = ih_gw_serve (&gw, &cfg, &err);
    if (!http) {
        fprintf (stderr, "bench-pages: %s\n", err.msg);
        return 1;
    }
    uint16_t port = ih_http_port (http);
    char deep [64], deep_cat [96], api [96];
    snprintf (deep, sizeof deep, "/?before=%ld", n / 2);
    snprintf (deep_cat, sizeof deep_cat, "/?category=phishing&before=%ld", n / 3);
    snprintf (api, sizeof api, "/api/v1/alerts?category=fraud&next=%ld", n * 7 / 10);
    const char *urls [] = {
        "/", deep, "/?category=phishing", deep_cat, "/?sector=energy&severity=critical",
        "/search?q=needle", "/search?q=needle+ransomware", "/search?q=ransomware+wiper",
        "/trends", "/trends?weeks=104", api, NULL
    };
    printf ("%-44s %9s %9s %10s\n", "GET", "median ms", "max ms", "reads/req");
    double *t = (double *) calloc ((size_t) runs, sizeof *t);
    for (int u = 0; urls [u]; u++) {
        uint64_t reads = 0;
        for (int i = 0; i < runs; i++) {
            gw.gen++;                   //  no cached answer: the page is built each time
            uint64_t r0 = ih_store_reads ();
            double a = s_now_ms ();
            int status = s_get (port, urls [u]);
            t [i] = s_now_ms () - a;
            reads += ih_store_reads () - r0;
            if (status != 200) {
                fprintf (stderr, "bench-pages: GET %s: %d\n", urls [u], status);
                return 1;
            }
        }
        qsort (t, (size_t) runs, sizeof *t, s_cmp);
        printf ("%-44s %9.2f %9.2f %10" PRIu64 "\n", urls [u], t [runs / 2], t [runs - 1],
                reads / (uint64_t) runs);
    }
    free (t);
    ih_http_destroy (&http);
    ih_gw_release (&gw);
    ih_added_destroy (&gw.added);
    ih_store_destroy (&gw.store);
    return 0;
}
