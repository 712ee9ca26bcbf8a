/*  bench_search: how fast `search` answers from a store of a million IOCs.

    usage: bench-search DIR [IOCS] [LOOKUPS]

    Builds DIR/store (which must not exist) through the store API, not the broker:
    IOCS indicators (default 1,000,000) in alerts of 5,000, ten types in equal parts
    (ipv4, ipv6, cidr of /16../30, domain, url, email, md5, sha1, sha256, filename),
    pseudo-random but reproducible. Then closes it, reopens it read-only as the CLI
    does, and times LOOKUPS (default 200,000) calls of ih_store_search, in-process, each
    one whole: read transaction, prefix-length table, index probes, hits reported.
    Prints the build time and size, then per kind of query and overall: the median,
    p90, p99, p99.9 and maximum latency in microseconds, and the hits found.

    Queries (one class after another, LOOKUPS / 8 each):
      ipv4 exact       an indexed address (also probes every CIDR length in use)
      ipv4 absent      a random address (mostly no hit; same probes)
      ipv4 in cidr     an address inside an indexed network (a containment hit)
      domain exact     an indexed domain (plus its parents)
      domain parent    a name two labels below an indexed domain (parent hits)
      sha256 exact     an indexed hash
      sha256 absent    a random hash
      url exact        an indexed URL
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ih_store.h"
#include "ih_ioc.h"

#define PER_ALERT   5000
#define BATCH       10          /* alerts per transaction */

static uint64_t
s_mix (uint64_t x)
{
    //  splitmix64: a fixed permutation, so value i can be made again for a query
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
s_hex (uint64_t seed, int digits, char *out)
{
    static const char hex [] = "0123456789abcdef";
    uint64_t h = 0;
    for (int i = 0; i < digits; i++) {
        if (i % 16 == 0)
            h = s_mix (seed + (uint64_t) i);
        out [i] = hex [h & 15];
        h >>= 4;
    }
    out [digits] = 0;
}

static uint32_t
s_ipv4_of (uint64_t k)
{
    uint32_t a = (uint32_t) s_mix (k * 7 + 1);
    uint32_t first = 1 + (a >> 24) % 223;          //  1..223: unicast-looking
    return (first << 24) | (a & 0xffffff);
}

/*  The k-th value of type t (k counts the values of that type). */
static void
s_value (ih_ioc_type_t t, uint64_t k, char *out, size_t outsz)
{
    uint64_t r = s_mix (k * 131 + (uint64_t) t);
    switch (t) {
        case IH_IOC_IPV4: {
            uint32_t a = s_ipv4_of (k);
            snprintf (out, outsz, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
            break;
        }
        case IH_IOC_IPV6: {
            //  eight non-zero groups: already RFC 5952 canonical
            unsigned g [6];
            for (int i = 0; i < 6; i++)
                g [i] = (unsigned) ((s_mix (r + (uint64_t) i) & 0xfffe) | 1);
            snprintf (out, outsz, "2001:db8:%x:%x:%x:%x:%x:%x", g [0], g [1], g [2], g [3], g [4], g [5]);
            break;
        }
        case IH_IOC_CIDR: {
            int len = 16 + (int) (r % 15);             //  /16 .. /30
            uint32_t a = (uint32_t) s_mix (r) & (len ? 0xffffffffu << (32 - len) : 0);
            a = (a & 0x00ffffffu) | ((1 + ((a >> 24) % 223)) << 24);
            a &= 0xffffffffu << (32 - len);
            snprintf (out, outsz, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
            break;
        }
        case IH_IOC_DOMAIN:
            snprintf (out, outsz, "h%" PRIu64 ".d%" PRIu64 ".bench-example.com", k, r % 5000);
            break;
        case IH_IOC_URL:
            snprintf (out, outsz, "https://u%" PRIu64 ".bench-example.net/path/%" PRIx64, k, r);
            break;
        case IH_IOC_EMAIL:
            snprintf (out, outsz, "user%" PRIu64 "@m%" PRIu64 ".bench-example.org", k, r % 1000);
            break;
        case IH_IOC_MD5:
            s_hex (r, 32, out);
            break;
        case IH_IOC_SHA1:
            s_hex (r, 40, out);
            break;
        case IH_IOC_SHA256:
            s_hex (r, 64, out);
            break;
        default:
            snprintf (out, outsz, "payload-%" PRIu64 ".exe", k);
            break;
    }
}

static const ih_ioc_type_t s_types [] = {
    IH_IOC_IPV4, IH_IOC_IPV6, IH_IOC_CIDR, IH_IOC_DOMAIN, IH_IOC_URL, IH_IOC_EMAIL,
    IH_IOC_MD5, IH_IOC_SHA1, IH_IOC_SHA256, IH_IOC_FILENAME
};
#define NTYPES 10

static int
s_count (const ih_index_hit_t *hit, void *arg)
{
    (void) hit;
    (*(uint64_t *) arg)++;
    return 0;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_report (const char *name, double *us, size_t n, uint64_t hits)
{
    qsort (us, n, sizeof *us, s_cmp_double);
    printf ("  %-16s %8zu  %8.1f %8.1f %8.1f %8.1f %9.1f  %10" PRIu64 "\n", name, n,
            us [n / 2], us [n * 90 / 100], us [n * 99 / 100], us [n * 999 / 1000], us [n - 1], hits);
}

int
main (int argc, char **argv)
{
    if (argc < 2 || strcmp (argv [1], "-h") == 0 || strcmp (argv [1], "--help") == 0) {
        printf ("usage: bench-search DIR [IOCS] [LOOKUPS]\n");
        return argc < 2;
    }
    uint64_t total = argc > 2 ? strtoull (argv [2], NULL, 10) : 1000000;
    size_t lookups = argc > 3 ? (size_t) strtoull (argv [3], NULL, 10) : 200000;
    if (total < PER_ALERT || lookups < 8) {
        fprintf (stderr, "bench-search: IOCS must be >= %d and LOOKUPS >= 8\n", PER_ALERT);
        return 1;
    }
    char dir [4096];
    snprintf (dir, sizeof dir, "%s/store", argv [1]);
    struct stat st;
    if (stat (dir, &st) == 0) {
        fprintf (stderr, "bench-search: %s exists; give a fresh DIR\n", dir);
        return 1;
    }
    ih_err_t err = { "" };
    ih_store_t *s = ih_store_open (dir, IH_STORE_WRITER, 256ULL << 20, 0, &err);
    if (!s) {
        fprintf (stderr, "bench-search: %s\n", err.msg);
        return 1;
    }

    //  Build: alerts of PER_ALERT IOCs, BATCH alerts per transaction.
    uint64_t alerts = total / PER_ALERT;
    uint64_t per_type = alerts * PER_ALERT / NTYPES;
    double t0 = s_now ();
    ih_msg_t *msgs = (ih_msg_t *) calloc (BATCH, sizeof *msgs);
    uint64_t seqs [BATCH];
    uint64_t made = 0, seq = 0;
    char v [512];
    for (uint64_t a = 0; a < alerts; ) {
        size_t n = 0;
        for (; n < BATCH && a < alerts; n++, a++) {
            ih_msg_t *m = &msgs [n];
            ih_msg_init (m, IH_KIND_ALERT);
            ih_fmt (m->id, sizeof m->id, "%08" PRIx64 "-0000-4000-8000-%012" PRIx64, a & 0xffffffffu, a);
            m->created = m->modified = 1767225600000LL + (int64_t) a;
            m->org = ih_msg_str (m, "bench-org");
            m->member = ih_msg_str (m, "bench");
            m->signer [0] = 1;
            snprintf (v, sizeof v, "bench alert %" PRIu64, a);
            m->title = ih_msg_str (m, v);
            m->tlp = IH_TLP_GREEN;
            for (int i = 0; i < PER_ALERT; i++, made++) {
                ih_ioc_type_t t = s_types [made % NTYPES];
                s_value (t, made / NTYPES, v, sizeof v);
                ih_msg_ioc_add (m, t, v, "", true);
            }
            seqs [n] = ++seq;
        }
        if (ih_store_ingest_msgs (s, msgs, seqs, n, NULL, &err) != 0) {
            fprintf (stderr, "bench-search: ingest: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            ih_msg_free (&msgs [i]);
    }
    free (msgs);
    double built = s_now () - t0;
    ih_store_counts_t c;
    ih_store_counts (s, &c, &err);
    printf ("store: %" PRIu64 " IOCs in %" PRIu64 " alerts, built in %.1f s (%.0f IOCs/s), %.0f MiB used\n",
            c.iocs, c.alerts, built, (double) c.iocs / built, (double) c.used_bytes / 1048576.0);
    ih_store_destroy (&s);

    //  Query: read-only, as `infohub-agent search` opens it.
    s = ih_store_open (dir, 0, 0, 0, &err);
    if (!s) {
        fprintf (stderr, "bench-search: %s\n", err.msg);
        return 1;
    }
    static const char *classes [] = { "ipv4 exact", "ipv4 absent", "ipv4 in cidr", "domain exact",
                                      "domain parent", "sha256 exact", "sha256 absent", "url exact" };
    size_t per = lookups / 8;
    double *all = (double *) malloc (per * 8 * sizeof *all);
    double *us = (double *) malloc (per * sizeof *us);
    uint64_t all_hits = 0;
    printf ("search latency, in-process ih_store_search, microseconds:\n");
    printf ("  %-16s %8s  %8s %8s %8s %8s %9s  %10s\n", "query", "n", "median", "p90", "p99", "p99.9", "max", "hits");
    //  Warm the page cache the way a running agent's is: one pass, not timed.
    for (int pass = 0; pass < 2; pass++) {
        size_t k_all = 0;
        all_hits = 0;
        for (int cl = 0; cl < 8; cl++) {
            uint64_t hits = 0;
            for (size_t q = 0; q < per; q++) {
                uint64_t k = s_mix (q * 8 + (uint64_t) cl + 12345) % per_type;
                ih_ioc_type_t t = IH_IOC_IPV4;
                switch (cl) {
                    case 0: s_value (IH_IOC_IPV4, k, v, sizeof v); break;
                    case 1: {
                        uint32_t a = (uint32_t) s_mix (q + 999);
                        snprintf (v, sizeof v, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
                        break;
                    }
                    case 2: {
                        char net [64];
                        s_value (IH_IOC_CIDR, k, net, sizeof net);
                        unsigned b [4];
                        int len = 0;
                        sscanf (net, "%u.%u.%u.%u/%d", &b [0], &b [1], &b [2], &b [3], &len);
                        uint32_t a = (b [0] << 24) | (b [1] << 16) | (b [2] << 8) | b [3];
                        a |= (uint32_t) s_mix (q) & (0xffffffffu >> len);
                        snprintf (v, sizeof v, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
                        break;
                    }
                    case 3: t = IH_IOC_DOMAIN; s_value (t, k, v, sizeof v); break;
                    case 4: {
                        char d [256];
                        t = IH_IOC_DOMAIN;
                        s_value (t, k, d, sizeof d);
                        snprintf (v, sizeof v, "www.x%zu.%s", q, d);
                        break;
                    }
                    case 5: t = IH_IOC_SHA256; s_value (t, k, v, sizeof v); break;
                    case 6: t = IH_IOC_SHA256; s_hex (s_mix (s_mix (q) ^ 0x5eed5eed5eedULL), 64, v); break;
                    default: t = IH_IOC_URL; s_value (t, k, v, sizeof v); break;
                }
                double a0 = s_now ();
                int n = ih_store_search (s, t, v, 0, s_count, &hits, &err);
                double a1 = s_now ();
                if (n < 0) {
                    fprintf (stderr, "bench-search: search %s: %s\n", v, err.msg);
                    return 1;
                }
                us [q] = (a1 - a0) * 1e6;
                all [k_all++] = us [q];
            }
            all_hits += hits;
            if (pass == 1)
                s_report (classes [cl], us, per, hits);
        }
        if (pass == 1)
            s_report ("all", all, k_all, all_hits);
    }
    free (all);
    free (us);
    ih_store_destroy (&s);
    //  Values for the script's command-line timing.
    s_value (IH_IOC_IPV4, 4242 % per_type, v, sizeof v);
    printf ("cli-sample %s\n", v);
    s_value (IH_IOC_DOMAIN, 4243 % per_type, v, sizeof v);
    printf ("cli-sample www.%s\n", v);
    s_value (IH_IOC_SHA256, 4244 % per_type, v, sizeof v);
    printf ("cli-sample %s\n", v);
    return 0;
}
