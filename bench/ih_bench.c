/*  ih_bench.c: the basics of the bench kit (the program's name and dying with it, the
    clock, numeric arguments, free ports) and the signed alerts every phase sends.
    The contract is in ih_bench.h.
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ih_bench.h"

/* ---- the basics ------------------------------------------------------------------------- */
static const char *s_name = "bench";

void
ih_bench_init (const char *name)
{
    s_name = name;
    zsys_handler_set (NULL);
    ih_bench_stop_on_signals ();
    signal (SIGPIPE, SIG_IGN);
}

void
ih_bench_die (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", s_name);
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    exit (1);
}

int64_t
ih_bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long
ih_bench_arg_num (const char *name, const char *s, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (errno || !end || *end || v < min || v > max)
        ih_bench_die ("%s: expected a number from %ld to %ld, got '%s'", name, min, max, s);
    return v;
}

int
ih_bench_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset (&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) != 0
    ||  getsockname (fd, (struct sockaddr *) &a, &alen) != 0)
        ih_bench_die ("cannot find a free port: %s", strerror (errno));
    int port = ntohs (a.sin_port);
    close (fd);
    return port;
}

/* ---- the alerts --------------------------------------------------------------------------- */
#define s_MAX_BODY  60000

//  Signs body i of a and encodes its `publish` envelope (req = i + 1).
static void
s_seal (ih_bench_alerts_t *a, size_t i, size_t k, const uint8_t sk [64])
{
    ih_err_t err;
    ih_sign (a->sigs [i], IH_CTX_MSG, a->bodies [i].data, a->bodies [i].len, sk);
    ih_env_t e;
    ih_env_init (&e, IH_T_PUBLISH);
    e.req = i + 1;
    e.body = a->bodies [i].data;
    e.body_len = a->bodies [i].len;
    e.sig = a->sigs [i];
    ih_buf_init (&a->envs [i]);
    if (ih_env_encode (&e, &a->envs [i], &err))
        ih_bench_die ("publish %zu: %s", k, err.msg);
    ih_env_free (&e);
}

static void
s_alloc (ih_bench_alerts_t *a, size_t count)
{
    a->count = count;
    a->bodies = calloc (count ? count : 1, sizeof *a->bodies);
    a->sigs = calloc (count ? count : 1, sizeof *a->sigs);
    a->envs = calloc (count ? count : 1, sizeof *a->envs);
    if (!a->bodies || !a->sigs || !a->envs)
        abort ();
}

void
ih_bench_alerts_make (ih_bench_alerts_t *a, size_t count, size_t first, const uint8_t pk [32],
                      const uint8_t sk [64])
{
    ih_bench_alerts_make_sized (a, count, first, IH_BENCH_BODY_SIZE, pk, sk);
}

void
ih_bench_alerts_make_sized (ih_bench_alerts_t *a, size_t count, size_t first, size_t size,
                            const uint8_t pk [32], const uint8_t sk [64])
{
    if (size < IH_BENCH_BODY_SIZE || size > s_MAX_BODY)
        ih_bench_die ("alerts of %zu bytes: from %d to %d", size, IH_BENCH_BODY_SIZE, s_MAX_BODY);
    s_alloc (a, count);
    static char pad [s_MAX_BODY];
    static const char words [] = "Observed phishing wave against member banks; indicators below. ";
    for (size_t i = 0; i < sizeof pad; i++)
        pad [i] = words [i % (sizeof words - 1)];
    char *summary = malloc (s_MAX_BODY + 1);
    if (!summary)
        abort ();
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_err_t err;
    int64_t now = ih_now_ms ();
    for (size_t i = 0; i < count; i++) {
        size_t k = first + i;
        size_t summary_len = 0;
        ih_buf_init (&a->bodies [i]);
        for (int attempt = 0; attempt < 4; attempt++) {
            ih_msg_reset (&m, IH_KIND_ALERT);
            ih_uuid_new (m.id);
            m.created = m.modified = now - 1000 + (int64_t) (k % 1000);
            m.org = ih_msg_str (&m, "org-pub");
            m.member = ih_msg_str (&m, "pub");
            memcpy (m.signer, pk, 32);
            char s [128];
            snprintf (s, sizeof s, "Benchmark alert %zu: credential phishing kit", k);
            m.title = ih_msg_str (&m, s);
            memcpy (summary, pad, summary_len);
            summary [summary_len] = 0;
            m.summary = ih_msg_str (&m, summary);
            m.tlp = IH_TLP_GREEN;
            m.severity = (ih_severity_t) (k % IH_SEV_COUNT);
            m.category = IH_CAT_PHISHING;
            ih_msg_strlist_add (&m, &m.sectors, "finance");
            ih_msg_strlist_add (&m, &m.tags, "bench");
            snprintf (s, sizeof s, "%u.%u.%u.7", 11 + (unsigned) ((k >> 16) & 15),
                      (unsigned) ((k >> 8) & 255), (unsigned) (k & 255));
            ih_msg_ioc_add (&m, IH_IOC_IPV4, s, "", true);
            snprintf (s, sizeof s, "login-%zu.bench-phish.com", k);
            ih_msg_ioc_add (&m, IH_IOC_DOMAIN, s, "", true);
            snprintf (s, sizeof s, "https://login-%zu.bench-phish.com/owa/", k);
            ih_msg_ioc_add (&m, IH_IOC_URL, s, "landing page", true);
            snprintf (s, sizeof s, "%064zx", k * 2654435761u + 1);
            ih_msg_ioc_add (&m, IH_IOC_SHA256, s, "kit archive", false);
            ih_buf_reset (&a->bodies [i]);
            if (ih_body_encode (&m, &a->bodies [i], &err))
                ih_bench_die ("alert %zu: %s", k, err.msg);
            size_t len = a->bodies [i].len;
            if (len == size)
                break;
            if (len > size && summary_len == 0)
                ih_bench_die ("alert %zu: %zu bytes without a summary", k, len);
            //  the string header grows by a byte at 32, 256 and 65536 characters: converge
            summary_len = summary_len + size - len;
            if (summary_len > s_MAX_BODY)
                ih_bench_die ("alert %zu: cannot pad to %zu bytes", k, size);
        }
        if (a->bodies [i].len != size)
            ih_bench_die ("alert %zu: %zu bytes, not %zu", k, a->bodies [i].len, size);
        s_seal (a, i, k, sk);
    }
    ih_msg_free (&m);
    free (summary);
}

static uint64_t
s_mix (uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void
ih_bench_alerts_bulk (ih_bench_alerts_t *a, size_t count, size_t first, size_t per,
                      const uint8_t pk [32], const uint8_t sk [64])
{
    if (per < 1 || per > IH_MAX_IOCS)
        ih_bench_die ("bulk alerts of %zu IOCs: from 1 to %d", per, IH_MAX_IOCS);
    s_alloc (a, count);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_err_t err;
    int64_t now = ih_now_ms ();
    for (size_t i = 0; i < count; i++) {
        size_t k = first + i;
        ih_msg_reset (&m, IH_KIND_ALERT);
        ih_uuid_new (m.id);
        m.created = m.modified = now - 1000 + (int64_t) (k % 1000);
        m.org = ih_msg_str (&m, "org-pub");
        m.member = ih_msg_str (&m, "pub");
        memcpy (m.signer, pk, 32);
        char s [160];
        snprintf (s, sizeof s, "Bulk feed %zu: %zu indicators", k, per);
        m.title = ih_msg_str (&m, s);
        m.summary = ih_msg_str (&m, "A daily feed of indicators, in bulk.");
        m.tlp = IH_TLP_GREEN;
        m.severity = IH_SEV_MEDIUM;
        m.category = IH_CAT_MALWARE;
        ih_msg_strlist_add (&m, &m.sectors, "finance");
        ih_msg_strlist_add (&m, &m.tags, "bulk");
        for (size_t j = 0; j < per; j++) {
            uint64_t id = (uint64_t) k * (uint64_t) per + (uint64_t) j;
            ih_ioc_type_t t;
            switch (j % 4) {
                case 0:
                    t = IH_IOC_IPV4;
                    snprintf (s, sizeof s, "%u.%u.%u.%u", 11 + (unsigned) ((id >> 22) % 16),
                              (unsigned) ((id >> 14) & 255), (unsigned) ((id >> 6) & 255),
                              1 + (unsigned) (id & 63));
                    break;
                case 1:
                    t = IH_IOC_DOMAIN;
                    snprintf (s, sizeof s, "host-%" PRIu64 ".bulk-%zu.com", id, k);
                    break;
                case 2:
                    t = IH_IOC_SHA256;
                    snprintf (s, sizeof s, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
                              s_mix (id), s_mix (id + 1), s_mix (id + 2), s_mix (id + 3));
                    break;
                default:
                    t = IH_IOC_URL;
                    snprintf (s, sizeof s, "http://bulk-%zu.net/p/%" PRIu64 "?q=%zu", k, id, j);
                    break;
            }
            ih_msg_ioc_add (&m, t, s, "", true);
        }
        ih_buf_init (&a->bodies [i]);
        if (ih_body_encode (&m, &a->bodies [i], &err))
            ih_bench_die ("bulk alert %zu: %s", k, err.msg);
        s_seal (a, i, k, sk);
    }
    ih_msg_free (&m);
}

void
ih_bench_alerts_free (ih_bench_alerts_t *a)
{
    for (size_t i = 0; i < a->count; i++) {
        ih_buf_free (&a->bodies [i]);
        ih_buf_free (&a->envs [i]);
    }
    free (a->bodies);
    free (a->sigs);
    free (a->envs);
}
