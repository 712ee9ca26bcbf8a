/*  bench-console: page times of the Members Zone console over a large store, and logins
    per second (issue 11). A benchmark, not a test.

    usage: bench-console DIR ALERTS [RUNS [LOGINS]]     (RUNS per URL, default 200;
                                                         LOGINS per run, default 40)

    1. Fills DIR/store with ALERTS alerts straight through the store API (as
       bench/ih_bench_load.c and bench/bench_pages.c do, as the daemon would after
       verification): TLP CLEAR..RED in turn, the first ten categories, three sectors,
       three IOCs each, created over the last 40 weeks; one in ten titles says
       "ransomware", one in a thousand "needle". The alert the alert page shows (the
       middle one) has a second revision, five comments and a sighting, as a discussed
       alert has. Unless RELATED=0, the related-alerts index is built too (ih_related:
       the daemon keeps it; the alert page lists related alerts from it).
    2. An accounts database with one analyst and a full session for the page timings
       (ih_users), an agent.cfg for the store, and a stand-in for the agent daemon's
       control socket that answers ping (the home page asks it; nothing here signs).
    3. Starts the real bin/infohub-console on it (4 HTTP threads, the default) and times
       RUNS GETs of each URL, one at a time, each on a new connection: p50, p99, max.
    4. Logins: LOGINS password steps (POST /login: argon2id, libsodium's
       crypto_pwhash_str_verify with the INTERACTIVE limits the accounts are hashed with:
       64 MiB, 2 passes, 1 lane) from 4 clients at once, then from 1: logins per second
       and the time of one. The code step is a control-socket round trip to the daemon
       (its own TOTP check: microseconds), not timed here.
    Prints the figures on stdout; progress on stderr.
*/
#include <arpa/inet.h>
#include <czmq.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "ih_control.h"
#include "ih_related.h"
#include "ih_store.h"
#include "ih_users.h"

#define s_BATCH     1000
#define s_PASSWORD  "a quiet bench at the harbour"
#define s_COMMENTS  5

static double
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static pid_t s_console;                 /* the console started, stopped on the way out */

static void
s_die (const char *what, const char *msg)
{
    fprintf (stderr, "bench-console: %s: %s\n", what, msg);
    if (s_console > 0) {
        kill (s_console, SIGTERM);
        waitpid (s_console, NULL, 0);
    }
    exit (1);
}

/* ---- the store ----------------------------------------------------------------------------- */

static void
s_alert (ih_msg_t *x, long i, long n, int64_t now)
{
    static const char *const sectors [] = { "finance", "health", "energy" };
    ih_msg_init (x, IH_KIND_ALERT);
    ih_uuid_new (x->id);
    x->revision = 1;
    x->created = x->modified = now - (n - i) * (280LL * 86400000 / n);
    x->org = ih_msg_str (x, i % 4 ? "bank-b" : "bank-a");
    x->member = ih_msg_str (x, "soc");
    x->author = ih_msg_str (x, "Bench Analyst");
    x->signer [0] = 1;
    char text [160];
    snprintf (text, sizeof text, "Advisory %ld: credential phishing against online banking%s%s", i,
              i % 10 == 3 ? " with ransomware" : "", i % 1000 == 13 ? " and a needle" : "");
    x->title = ih_msg_str (x, text);
    x->summary = ih_msg_str (x, "Staff received e-mails that lead to a **fake login page**. Block the "
                                "indicators below and hunt for them in proxy and DNS logs; reset the "
                                "passwords of anyone who entered them.");
    x->tlp = (ih_tlp_t) (i % IH_TLP_COUNT);
    if (x->tlp >= IH_TLP_AMBER_STRICT)
        ih_msg_strlist_add (x, &x->recipients, "bank-a");
    x->category = (ih_category_t) (i % 10);
    x->severity = (ih_severity_t) (i % IH_SEV_COUNT);
    ih_msg_strlist_add (x, &x->sectors, sectors [i % 3]);
    ih_msg_strlist_add (x, &x->tags, "T1566.002");
    snprintf (text, sizeof text, "%ld.%ld.%ld.%ld", 11 + i / 16581375 % 100, i / 65025 % 255, i / 255 % 255,
              1 + i % 254);
    ih_msg_ioc_add (x, IH_IOC_IPV4, text, "c2", true);
    snprintf (text, sizeof text, "login-%ld.bench-console.com", i);
    ih_msg_ioc_add (x, IH_IOC_DOMAIN, text, "", true);
    char hex [65];
    uint8_t h [32];
    crypto_generichash (h, sizeof h, (const uint8_t *) text, strlen (text), NULL, 0);
    ih_hex_encode (h, sizeof h, hex);
    ih_msg_ioc_add (x, IH_IOC_SHA256, hex, "dropper", true);
}

/*  Fills the store; returns the id of the alert the alert page shows (static). */
static const char *
s_fill (ih_store_t *store, long n)
{
    static char target [IH_UUID_LEN + 1];
    ih_msg_t *m = (ih_msg_t *) calloc (s_BATCH, sizeof *m);
    uint64_t seqs [s_BATCH];
    if (!m)
        abort ();
    int64_t now = ih_now_ms ();
    ih_err_t err = { "" };
    uint64_t seq = 0;
    ih_msg_t keep;
    ih_msg_init (&keep, IH_KIND_ALERT);
    for (long first = 0; first < n; first += s_BATCH) {
        int k = 0;
        for (; k < s_BATCH && first + k < n; k++) {
            s_alert (&m [k], first + k, n, now);
            if (first + k == n / 2) {
                m [k].tlp = IH_TLP_AMBER;
                m [k].recipients.count = 0;
                ih_msg_copy (&keep, &m [k]);
                snprintf (target, sizeof target, "%s", m [k].id);
            }
            seqs [k] = ++seq;
        }
        if (ih_store_ingest_msgs (store, m, seqs, (size_t) k, NULL, &err) != 0)
            s_die ("fill", err.msg);
        for (int j = 0; j < k; j++)
            ih_msg_free (&m [j]);
        if (first % 20000 == 0)
            fprintf (stderr, "bench-console: %ld alerts stored\n", first + k);
    }
    //  The discussed alert: a second revision, comments from two members, a sighting.
    ih_msg_t extra [s_COMMENTS + 2];
    ih_msg_copy (&extra [0], &keep);
    extra [0].revision = 2;
    extra [0].modified = now;
    ih_msg_ioc_add (&extra [0], IH_IOC_CVE, "CVE-2024-3400", "", true);
    for (int i = 0; i < s_COMMENTS; i++) {
        ih_msg_t *c = &extra [1 + i];
        ih_msg_init (c, IH_KIND_COMMENT);
        ih_uuid_new (c->id);
        c->created = c->modified = now - (s_COMMENTS - i) * 60000;
        c->org = ih_msg_str (c, i % 2 ? "bank-b" : "bank-a");
        c->member = ih_msg_str (c, "soc");
        c->author = ih_msg_str (c, i % 2 ? "Bob Peeters" : "Alice Martin");
        c->signer [0] = 1;
        snprintf (c->ref, sizeof c->ref, "%s", keep.id);
        c->text = ih_msg_str (c, "Seen here too: **two hits** on the C2 from our proxy this morning; "
                                 "blocked at the edge. Anyone with a sample of the dropper?");
    }
    ih_msg_t *sg = &extra [1 + s_COMMENTS];
    ih_msg_init (sg, IH_KIND_SIGHTING);
    ih_uuid_new (sg->id);
    sg->created = sg->modified = now;
    sg->org = ih_msg_str (sg, "bank-b");
    sg->member = ih_msg_str (sg, "soc");
    sg->signer [0] = 1;
    sg->tlp = IH_TLP_AMBER;
    sg->count = 2;
    snprintf (sg->ref, sizeof sg->ref, "%s", keep.id);
    ih_msg_ioc_add (sg, keep.iocs [0].type, keep.iocs [0].value, "", false);
    uint64_t eseq [s_COMMENTS + 2];
    for (int i = 0; i < s_COMMENTS + 2; i++)
        eseq [i] = ++seq;
    if (ih_store_ingest_msgs (store, extra, eseq, s_COMMENTS + 2, NULL, &err) != 0)
        s_die ("fill", err.msg);
    for (int i = 0; i < s_COMMENTS + 2; i++)
        ih_msg_free (&extra [i]);
    ih_msg_free (&keep);
    free (m);
    return target;
}

/* ---- the agent daemon's stand-in: ping only -------------------------------------------------- */

static _Atomic bool s_stop;

static json_t *
s_daemon_op (const char *op, json_t *req, void *arg)
{
    if (streq (op, "ping"))
        return json_pack ("{s:b, s:b, s:I, s:I}", "ok", 1, "connected", 1, "cursor", (json_int_t) 1, "head",
                          (json_int_t) 1);
    return ih_control_refuse ("bad-request", "op: the benchmark's stand-in answers ping only");
}

static void *
s_daemon (void *arg)
{
    ih_control_t *ctl = (ih_control_t *) arg;
    zpoller_t *poller = zpoller_new (ih_control_sock (ctl), NULL);
    while (!s_stop)
        if (zpoller_wait (poller, 50))
            ih_control_serve (ctl);
    zpoller_destroy (&poller);
    return NULL;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

/*  One request on a new connection to 127.0.0.1:port (HTTP/1.0, the answer read to the
    end; its first size - 1 bytes into keep when not NULL); returns the status, 0 on
    failure. */
static int
s_http_keep (uint16_t port, const char *method, const char *path, const char *cookie, const char *form,
             char *keep, size_t size)
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
    char req [1024];
    int n = snprintf (req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n%s%s%s", method, path, port,
                      cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
    if (form)
        n += snprintf (req + n, sizeof req - (size_t) n, "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: %zu\r\n\r\n%s", strlen (form), form);
    else
        n += snprintf (req + n, sizeof req - (size_t) n, "\r\n");
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
        if (keep && got < size - 1) {
            size_t c = (size_t) r < size - 1 - got ? (size_t) r : size - 1 - got;
            memcpy (keep + got, buf, c);
            keep [got + c] = 0;
        }
        got += (size_t) r;
    }
    close (fd);
    return got > 12 ? (int) strtol (head + 9, NULL, 10) : 0;
}

static int
s_http (uint16_t port, const char *method, const char *path, const char *cookie, const char *form)
{
    return s_http_keep (port, method, path, cookie, form, NULL, 0);
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    uint16_t port;
    int n;
    int failed;
} s_logins_t;

static void *
s_login_thread (void *arg)
{
    s_logins_t *l = (s_logins_t *) arg;
    for (int i = 0; i < l->n; i++)
        if (s_http (l->port, "POST", "/login", NULL, "user=bench&password=a+quiet+bench+at+the+harbour") != 303)
            l->failed++;
    return NULL;
}

/*  LOGINS password steps from `clients` clients at once: logins per second. */
static double
s_logins (uint16_t port, int logins, int clients, int *failed)
{
    s_logins_t l [8];
    pthread_t th [8];
    double t0 = s_now_ms ();
    for (int i = 0; i < clients; i++) {
        l [i] = (s_logins_t) { port, logins / clients, 0 };
        pthread_create (&th [i], NULL, s_login_thread, &l [i]);
    }
    *failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join (th [i], NULL);
        *failed += l [i].failed;
    }
    return (double) (logins / clients * clients) / ((s_now_ms () - t0) / 1000.0);
}

/* ---- main ------------------------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf (stderr, "usage: bench-console DIR ALERTS [RUNS [LOGINS]]\n");
        return 2;
    }
    const char *dir = argv [1];
    long n = strtol (argv [2], NULL, 10);
    int runs = argc > 3 ? (int) strtol (argv [3], NULL, 10) : 200;
    int logins = argc > 4 ? (int) strtol (argv [4], NULL, 10) : 40;
    if (n < 1000 || runs < 10 || runs > 100000 || logins < 4 || logins > 10000) {
        fprintf (stderr, "bench-console: ALERTS from 1000, RUNS from 10, LOGINS from 4\n");
        return 2;
    }
    zsys_handler_set (NULL);
    signal (SIGPIPE, SIG_IGN);
    ih_err_t err = { "" };
    char path [4096], store_dir [4096], cfg [4096], sock [4096];
    snprintf (store_dir, sizeof store_dir, "%s/store", dir);
    snprintf (cfg, sizeof cfg, "%s/agent.cfg", dir);
    snprintf (sock, sizeof sock, "%s/agent.sock", dir);

    //  The store and, unless RELATED=0, the related-alerts index.
    ih_store_t *store = ih_store_open (store_dir, IH_STORE_WRITER, 1ULL << 30, 0, &err);
    if (!store)
        s_die ("store", err.msg);
    double t0 = s_now_ms ();
    const char *target = s_fill (store, n);
    double fill_s = (s_now_ms () - t0) / 1000.0;
    ih_store_counts_t c;
    if (ih_store_counts (store, &c, &err) != 0)
        s_die ("store", err.msg);
    const char *rel_env = getenv ("RELATED");
    bool related = !rel_env || !streq (rel_env, "0");
    double rel_s = 0;
    if (related) {
        t0 = s_now_ms ();
        ih_related_t *rel = ih_related_open (store_dir, true, &err);
        int got;
        while (rel && (got = ih_related_catch_up (rel, store, 5000, &err)) > 0)
            fprintf (stderr, "bench-console: related index: %" PRIu64 " alerts\n", ih_related_count (rel));
        if (!rel || got < 0)
            s_die ("related", err.msg);
        ih_related_destroy (&rel);
        rel_s = (s_now_ms () - t0) / 1000.0;
    }
    ih_store_destroy (&store);          //  the console reads it, read-only

    //  The account, its full session, the config.
    snprintf (path, sizeof path, "%s/console", dir);
    ih_users_t *users = ih_users_open (path, &err);
    if (!users)
        s_die ("accounts", err.msg);
    ih_user_t u;
    memset (&u, 0, sizeof u);
    snprintf (u.name, sizeof u.name, "bench");
    snprintf (u.display, sizeof u.display, "Bench Analyst");
    u.role = IH_USER_ANALYST;
    u.created = ih_now_ms ();
    char id [IH_SESSION_ID + 1], cookie [IH_SESSION_ID + 32];
    ih_session_t s;
    if (ih_users_password_set (&u, s_PASSWORD, &err) != 0 || ih_users_put (users, &u, true, &err) != 0
    ||  ih_users_session_new (users, "bench", true, "127.0.0.1", id, &s, &err) != 0)
        s_die ("accounts", err.msg);
    ih_users_destroy (&users);
    snprintf (cookie, sizeof cookie, "ih_console=%s", id);
    zcert_t *broker = zcert_new ();
    FILE *f = fopen (cfg, "w");
    if (!f)
        s_die (cfg, "cannot write");
    fprintf (f, "agent\n    name = \"soc\"\n    org = \"bank-a\"\n    sector = \"finance\"\n"
             "    role = \"publisher\"\n    curve-cert = \"curve.cert_secret\"\n    signing-key = \"signing.key\"\n"
             "    registry-key = \"%064d\"\n    store = \"store\"\n    broker\n        endpoint = "
             "\"tcp://127.0.0.1:1\"\n        public-key = \"%s\"\n", 0, zcert_public_txt (broker));
    fclose (f);
    zcert_destroy (&broker);

    //  The daemon's stand-in, then the real console.
    ih_control_t *ctl = ih_control_new (sock, s_daemon_op, NULL, &err);
    if (!ctl)
        s_die ("control", err.msg);
    pthread_t daemon;
    pthread_create (&daemon, NULL, s_daemon, ctl);
    int port = 0;
    {
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        memset (&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) != 0
        ||  getsockname (fd, (struct sockaddr *) &a, &len) != 0)
            s_die ("port", strerror (errno));
        port = ntohs (a.sin_port);
        close (fd);
    }
    char bind_arg [64], console [4096];
    snprintf (bind_arg, sizeof bind_arg, "127.0.0.1:%d", port);
    const char *bin = getenv ("INFOHUB_BIN");
    snprintf (console, sizeof console, "%s/infohub-console", bin ? bin : "bin");
    snprintf (path, sizeof path, "%s/console.log", dir);
    pid_t pid = fork ();
    if (pid == 0) {
        FILE *log = freopen (path, "w", stderr);
        FILE *out = freopen ("/dev/null", "w", stdout);
        (void) log;
        (void) out;
        execl (console, console, "-c", cfg, "--bind", bind_arg, (char *) NULL);
        _exit (127);
    }
    s_console = pid;
    for (int i = 0; i < 200 && s_http ((uint16_t) port, "GET", "/login", NULL, NULL) != 200; i++)
        zclock_sleep (50);
    if (s_http ((uint16_t) port, "GET", "/login", NULL, NULL) != 200)
        s_die (console, "did not start (see console.log)");

    printf ("store: %ld alerts, %" PRIu64 " MiB, filled in %.1f s through the store API", n, c.used_bytes >> 20,
            fill_s);
    if (related)
        printf ("; related index built in %.1f s", rel_s);
    printf ("\n%-52s %8s %8s %8s\n", "GET (one client, a new connection each)", "p50 ms", "p99 ms", "max ms");
    char alert [80], deep [80];
    snprintf (alert, sizeof alert, "/alerts/%s", target);
    snprintf (deep, sizeof deep, "/alerts?q=login-%ld.bench-console.com", n / 3);
    const char *urls [] = {
        "/alerts", alert, "/alerts?tlp=AMBER", "/alerts?category=phishing&severity=high", "/alerts?q=needle",
        deep, "/", "/events", NULL
    };
    //  What each page must show (checked once, untimed): the page and not another.
    const char *marks [] = {
        "Every alert this member holds", "Bob Peeters", "TLP:AMBER", "Phishing", "and a needle", "bench-console.com", "Latest discussion",
        "Upcoming", NULL
    };
    double *t = (double *) calloc ((size_t) runs, sizeof *t);
    char *page = (char *) malloc (1 << 20);
    if (!t || !page)
        abort ();
    for (int k = 0; urls [k]; k++) {
        if (s_http_keep ((uint16_t) port, "GET", urls [k], cookie, NULL, page, 1 << 20) != 200
        ||  !strstr (page, marks [k]))
            s_die (urls [k], "the page does not show what it should");
        for (int i = 0; i < runs; i++) {
            double a = s_now_ms ();
            int status = s_http ((uint16_t) port, "GET", urls [k], cookie, NULL);
            t [i] = s_now_ms () - a;
            if (status != 200) {
                char why [64];
                snprintf (why, sizeof why, "answered %d", status);
                s_die (urls [k], why);
            }
        }
        qsort (t, (size_t) runs, sizeof *t, s_cmp);
        printf ("%-52s %8.2f %8.2f %8.2f\n", k == 1 ? "/alerts/ID (2 revisions, 5 comments, a sighting)" : urls [k],
                t [runs / 2], t [(int) (runs * 0.99) < runs ? (int) (runs * 0.99) : runs - 1], t [runs - 1]);
    }
    free (t);
    free (page);

    //  Logins: the password step, argon2id bound.
    int failed4 = 0, failed1 = 0;
    double per4 = s_logins ((uint16_t) port, logins, 4, &failed4);
    double per1 = s_logins ((uint16_t) port, logins / 4, 1, &failed1);
    printf ("logins (POST /login, argon2id m=%zu MiB t=%llu p=1): %.1f/s from 4 clients, %.1f/s from 1 "
            "(%.0f ms each)%s\n", (size_t) (crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20),
            (unsigned long long) crypto_pwhash_OPSLIMIT_INTERACTIVE, per4, per1, 1000.0 / per1,
            failed4 + failed1 ? " (some failed!)" : "");

    kill (pid, SIGTERM);
    waitpid (pid, NULL, 0);
    s_console = 0;
    s_stop = true;
    pthread_join (daemon, NULL);
    ih_control_destroy (&ctl);
    return failed4 + failed1 ? 1 : 0;
}
