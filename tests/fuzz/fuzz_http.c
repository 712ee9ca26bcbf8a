/*  fuzz_http: libFuzzer target for HTTP request parsing and routing, the gateway's and
    the console's (built by `make bin/fuzz-http`, run by `make fuzz`). The first input
    byte picks the site (even: the gateway, odd: the console), the rest is the bytes of
    a request as a client sends them ("GET /search?q=x HTTP/1.1\r\nHost: ...").

    Each input goes two ways:
    - in this thread, through the web layer's pure parser (ih_request.h), which the
      server runs every request through: the request line's target (ih_request_path, and
      ih_request_query with the server's cap), the Cookie header (ih_request_cookies), a
      form body (ih_request_form_type, ih_request_form). What they make is checked: a
      path starts with '/' and holds no dot segment, no NUL; the pairs are within their
      caps and are C strings;
    - over a loopback socket to the real site (ih_gw_serve / ih_con_serve, started once,
      in this process, over a store of one alert): libmicrohttpd's parsing, ours, the
      route tables, the console's gate and the handlers. The bytes are sent, the sending
      side shut, and every byte of the answer read: whatever comes back must be HTTP
      ("HTTP/1.x NNN"), and a crash or a sanitizer report on the server's threads ends
      the run here.
*/
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <czmq.h>

#include "ih_con.h"
#include "ih_gw.h"
#include "ih_request.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static uint16_t s_gw_port, s_con_port;
static char s_dir [64];

static void
s_store_one (const char *dir)
{
    ih_err_t err = { "" };
    ih_store_t *store = ih_store_open (dir, IH_STORE_WRITER, 64 << 20, 64 << 20, &err);
    IH_CHECK (store);
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_uuid_new (m.id);
    m.created = m.modified = ih_now_ms ();
    m.org = ih_msg_str (&m, "bank-a");
    m.member = ih_msg_str (&m, "soc");
    m.title = ih_msg_str (&m, "<b>Fuzz</b> alert");
    m.summary = ih_msg_str (&m, "A *public* alert for the fuzzer.");
    m.tlp = IH_TLP_CLEAR;
    ih_msg_ioc_add (&m, IH_IOC_DOMAIN, "fuzz.example.com", "", true);
    uint64_t seq = 1;
    IH_CHECK (ih_store_ingest_msgs (store, &m, &seq, 1, NULL, &err) == 0);
    ih_msg_free (&m);
    ih_store_destroy (&store);
}

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

/*  The sites' files go when the process ends (the servers still hold them open, which
    Linux allows). */
static void
s_cleanup (void)
{
    nftw (s_dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/*  Both sites, once, on ephemeral ports; they live until the process ends. */
static void
s_setup (void)
{
    if (s_gw_port)
        return;
    snprintf (s_dir, sizeof s_dir, "/tmp/ih-fuzz-http-XXXXXX");
    IH_CHECK (mkdtemp (s_dir));
    atexit (s_cleanup);
    static char sdir [128], tdir [160], udir [128], apath [160];
    snprintf (sdir, sizeof sdir, "%s/store", s_dir);
    snprintf (tdir, sizeof tdir, "%s/taxii", sdir);
    snprintf (udir, sizeof udir, "%s/console", s_dir);
    s_store_one (sdir);
    ih_err_t err = { "" };
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "127.0.0.1";
    cfg.timeout_s = 2;

    static ih_gw_t gw;
    gw.title = "Fuzz Zone";
    gw.started_ms = ih_now_ms ();
    snprintf (gw.base_url, sizeof gw.base_url, "http://127.0.0.1");
    gw.store = ih_store_open (sdir, IH_STORE_WRITER, 64 << 20, 64 << 20, &err);
    IH_CHECK (gw.store);
    gw.added = ih_added_open (tdir, &err);
    IH_CHECK (gw.added);
    ih_http_t *http = ih_gw_serve (&gw, &cfg, &err);
    IH_CHECK (http);
    s_gw_port = ih_http_port (http);

    static ih_con_t con;
    con.org = "bank-a";
    con.member = "soc";
    con.sector = "finance";
    con.site = "Fuzz Console";
    con.store = ih_store_share (gw.store);
    IH_CHECK (con.store);
    con.users = ih_users_open (udir, &err);
    IH_CHECK (con.users);
    snprintf (apath, sizeof apath, "%s/audit.log", udir);
    con.audit = ih_audit_open (apath, &err);
    IH_CHECK (con.audit);
    con.audit_path = apath;
    con.control = "/nonexistent/agent.sock";
    con.public_url = "";
    con.bind = "127.0.0.1";
    con.control_ms = 200;
    con.started_ms = ih_now_ms ();
    http = ih_con_serve (&con, &cfg, &err);
    IH_CHECK (http);
    s_con_port = con.port = ih_http_port (http);
}

/*  Sends the request, shuts the sending side, reads the whole answer (2 s at most). */
static void
s_exchange (uint16_t port, const uint8_t *req, size_t len)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    IH_CHECK (fd >= 0);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons (port);
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        //  The machine's limits (ports, the listen queue), not the server's fault: the
        //  server is asked again with the next input.
        close (fd);
        return;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = send (fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;                  //  the server closed early (a refused request)
        off += (size_t) n;
    }
    shutdown (fd, SHUT_WR);
    static char buf [1 << 16];
    size_t got = 0;
    char head [16] = "";
    //  Until the server closes, 2 s at most, or 200 ms without a byte once the answer
    //  began: libmicrohttpd may not see the end of a request it read while the request
    //  was with a worker (suspended), and then keeps the connection to its idle timeout.
    int64_t until = zclock_mono () + 2000;
    while (zclock_mono () < until) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 100) <= 0) {
            if (got && poll (&p, 1, 100) <= 0)
                break;
            continue;
        }
        ssize_t n = recv (fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        if (got < sizeof head - 1) {
            size_t k = sizeof head - 1 - got < (size_t) n ? sizeof head - 1 - got : (size_t) n;
            memcpy (head + got, buf, k);
            head [got + k] = 0;
        }
        got += (size_t) n;
    }
    //  No TIME_WAIT left behind (the fuzzer opens thousands of connections a second).
    struct linger lg = { 1, 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close (fd);
    if (got >= 12 && !(memcmp (head, "HTTP/1.", 7) == 0 && head [8] == ' '
                       && head [9] >= '1' && head [9] <= '5')) {
        fprintf (stderr, "fuzz_http: an answer that is not HTTP: '%.15s'\n", head);
        abort ();
    }
}

static void
s_check_pairs (const ih_pairs_t *p, int max)
{
    IH_CHECK (p->n >= 0 && p->n <= max);
    for (int i = 0; i < p->n; i++) {
        IH_CHECK (p->kv [2 * i]);
        IH_CHECK (strlen (p->kv [2 * i]) < p->size);
        if (p->kv [2 * i + 1])
            IH_CHECK (strlen (p->kv [2 * i + 1]) < p->size);
    }
    ih_pairs_get (p, "q");
}

/*  The pure parser over the request line, the Cookie header and the body. */
static void
s_parse (const char *req, size_t len)
{
    const char *eol = memchr (req, '\n', len);
    size_t line = eol ? (size_t) (eol - req) : len;
    const char *sp = memchr (req, ' ', line);
    if (!sp)
        return;
    const char *target = sp + 1;
    const char *end = memchr (target, ' ', line - (size_t) (target - req));
    size_t tlen = end ? (size_t) (end - target) : line - (size_t) (target - req);
    const char *q = memchr (target, '?', tlen);
    size_t plen = q ? (size_t) (q - target) : tlen;
    ih_err_t err = { "" };
    char *path = (char *) malloc (plen + 2);
    IH_CHECK (path);
    if (ih_request_path (target, plen, path, plen + 2, &err) == 0) {
        IH_CHECK (path [0] == '/');
        IH_CHECK (!strstr (path, "/./") && !strstr (path, "/../"));
        size_t n = strlen (path);
        IH_CHECK (n <= plen + 1);
        IH_CHECK (!(n >= 2 && streq (path + n - 2, "/.")) && !(n >= 3 && streq (path + n - 3, "/..")));
        //  Normal already: a second pass changes nothing.
        char *again = (char *) malloc (n + 2);
        IH_CHECK (again);
        if (!strchr (path, '%')) {
            IH_CHECK (ih_request_path (path, n, again, n + 2, &err) == 0);
            IH_CHECK (streq (again, path));
        }
        free (again);
    }
    else
        IH_CHECK (err.msg [0] && !strchr (err.msg, '\n'));
    free (path);
    ih_pairs_t p;
    if (q) {
        if (ih_request_query (&p, q + 1, tlen - plen - 1, 32, &err) == 0)
            s_check_pairs (&p, 32);
        ih_pairs_free (&p);
    }
    //  Headers: the Cookie one, the Content-Type; the body after the blank line.
    const char *body = NULL;
    const char *h = eol ? eol + 1 : req + len;
    bool form = false;
    while (h < req + len) {
        const char *e = memchr (h, '\n', (size_t) (req + len - h));
        size_t hl = e ? (size_t) (e - h) : (size_t) (req + len - h);
        if (hl == 0 || (hl == 1 && h [0] == '\r')) {
            body = e ? e + 1 : NULL;
            break;
        }
        char *v = (char *) malloc (hl + 1);
        IH_CHECK (v);
        memcpy (v, h, hl);
        v [hl] = 0;
        v [strcspn (v, "\r")] = 0;
        if (strncasecmp (v, "Cookie:", 7) == 0) {
            ih_request_cookies (&p, v + 7);
            s_check_pairs (&p, IH_REQUEST_MAX_COOKIES);
            ih_pairs_free (&p);
        }
        if (strncasecmp (v, "Content-Type:", 13) == 0)
            form = ih_request_form_type (v + 13 + strspn (v + 13, " \t"));
        free (v);
        h = e ? e + 1 : req + len;
    }
    if (body && (form || body < req + len)) {
        if (ih_request_form (&p, body, (size_t) (req + len - body), 12000, &err) == 0)
            s_check_pairs (&p, 12000);
        ih_pairs_free (&p);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    s_setup ();
    //  A NUL-terminated copy: the parser takes C strings where the server does.
    char *req = (char *) malloc (size);
    IH_CHECK (req);
    memcpy (req, data + 1, size - 1);
    req [size - 1] = 0;
    s_parse (req, strlen (req));
    free (req);
    s_exchange (data [0] & 1 ? s_con_port : s_gw_port, data + 1, size - 1);
    return 0;
}
