/*  ih_http_test.c: the self-test of the web layer's server (ih_http.h): a toy front end on
    an ephemeral port, through the test kit's HTTP client. */
#include <czmq.h>
#include <stdatomic.h>

#include "ih_html.h"
#include "ih_http.h"
#include "ih_http_int.h"

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_tk_http.h"

//  A toy front end: its state, two handlers, its errors, its per-thread values.
typedef struct {
    _Atomic uint64_t gen;
    _Atomic int calls;
    _Atomic int locals;
} s_toy_t;

static uint64_t
s_toy_gen (void *app)
{
    return atomic_load (&((s_toy_t *) app)->gen);
}

static void *
s_toy_local_new (void *app)
{
    int *v = (int *) malloc (sizeof (int));
    IH_CHECK (v);
    *v = ++((s_toy_t *) app)->locals;
    return v;
}

static void
s_toy_local_free (void *local)
{
    free (local);
}

static void
s_toy_hello (ih_req_t *r)
{
    s_toy_t *toy = (s_toy_t *) r->app;
    toy->calls++;
    const char *name = ih_req_arg (r, "name");
    r->ctype = "text/html; charset=utf-8";
    ih_html_puts (&r->body, "<p>hello ");
    ih_html_esc (&r->body, name ? name : "world");
    ih_buf_printf (&r->body, " from thread value %d, generation %" PRIu64 "</p>\n",
                    *(int *) ih_req_local (r), r->gen);
    r->etag = true;
    r->cache = "public, max-age=5";
}

/*  The same bytes on any thread of any server (for comparing servers' tags). */
static void
s_toy_same (ih_req_t *r)
{
    const char *name = ih_req_arg (r, "name");
    r->ctype = "text/plain; charset=utf-8";
    ih_buf_printf (&r->body, "same for %s\n", name ? name : "all");
    r->etag = true;
    r->cache = "public, max-age=5";
}

static void
s_toy_missing (ih_req_t *r)
{
    ih_req_error (r, 404, "no such <thing>");
}

/*  A form: echoes its fields in order ("k=v|"), the cookie "c", and sets one. */
static int
s_toy_field (const char *key, const char *value, void *arg)
{
    ih_buf_printf ((ih_buf_t *) arg, "%s=%s|", key, value);
    return 0;
}

static int
s_toy_count (const char *value, void *arg)
{
    (*(int *) arg)++;
    return 0;
}

static void
s_toy_form (ih_req_t *r)
{
    r->ctype = "text/plain; charset=utf-8";
    if (r->post)
        ih_req_form_each (r, s_toy_field, &r->body);
    int n = 0;
    ih_req_form_all (r, "a", s_toy_count, &n);
    const char *a = ih_req_form (r, "a");
    const char *c = ih_req_cookie (r, "c");
    ih_buf_printf (&r->body, " a=%s n=%d cookie=%s post=%d", a ? a : "(none)", n, c ? c : "(none)",
                   r->post);
    ih_req_set_cookie (r, "sid", "abc", -1);
    ih_req_set_cookie (r, "old", "", 0);
    r->etag = true;             //  ignored for a POST
}

static void
s_toy_go (ih_req_t *r)
{
    ih_req_redirect (r, "/hello?name=x&y=1");
}

/*  A stream of three parts, then the end; "fail" fails after the second. */
typedef struct {
    int part;
    bool fail;
    _Atomic int *freed;
} s_toy_stream_t;

static int
s_toy_fill (void *arg, ih_buf_t *out)
{
    s_toy_stream_t *s = (s_toy_stream_t *) arg;
    s->part++;
    if (s->fail && s->part == 3)
        return -1;
    ih_buf_printf (out, "part %d\n", s->part);
    return s->part < 3 ? 1 : 0;
}

static void
s_toy_stream_free (void *arg)
{
    s_toy_stream_t *s = (s_toy_stream_t *) arg;
    (*s->freed)++;
    free (s);
}

static _Atomic int s_toy_freed;

static void
s_toy_stream (ih_req_t *r)
{
    s_toy_stream_t *s = (s_toy_stream_t *) calloc (1, sizeof *s);
    IH_CHECK (s);
    s->fail = ih_req_arg (r, "fail") != NULL;
    s->freed = &s_toy_freed;
    r->ctype = "text/plain; charset=utf-8";
    ih_req_add_header (r, "Content-Disposition", "attachment; filename=\"x.txt\"");
    IH_CHECK (ih_req_stream (r, s_toy_fill, s_toy_stream_free, s) == 0);
}

static void
s_toy_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = "text/plain; charset=utf-8";
    ih_buf_printf (&r->body, "toy error %d (%s): %s\n", status, reason, msg);
}

static void
s_toy_html_error (ih_req_t *r, int status, const char *reason, const char *msg)
{
    r->ctype = "text/html; charset=utf-8";
    ih_buf_printf (&r->body, "<h1>%s</h1><p>", reason);
    ih_html_esc (&r->body, msg);
    ih_html_puts (&r->body, "</p>\n");
}

/*  Waits for a count (the server records a request when it has completed, which may be
    a moment after the client has read the answer). */
static uint64_t
s_count (ih_http_t *h, int label, int code, uint64_t want)
{
    uint64_t n = 0;
    for (int i = 0; i < 200 && (n = ih_metrics_count (ih_http_metrics (h), label, code)) < want; i++)
        zclock_sleep (5);
    return n;
}

void
ih_http_test (bool verbose)
{
    //  If-None-Match lists.
    IH_CHECK (ih_http_inm_match ("\"a-1\"", "\"a-1\""));
    IH_CHECK (ih_http_inm_match ("W/\"a-1\"", "\"a-1\""));
    IH_CHECK (ih_http_inm_match ("\"x\", \"a-1\"", "\"a-1\""));
    IH_CHECK (ih_http_inm_match ("\"x\",W/\"a-1\" ", "\"a-1\""));
    IH_CHECK (ih_http_inm_match ("*", "\"a-1\""));
    IH_CHECK (!ih_http_inm_match ("\"a-10\"", "\"a-1\""));
    IH_CHECK (!ih_http_inm_match ("\"a-1", "\"a-1\""));
    IH_CHECK (!ih_http_inm_match ("", "\"a-1\""));
    IH_CHECK (!ih_http_inm_match (NULL, "\"a-1\""));
    IH_CHECK (!ih_http_inm_match (",,,", "\"a-1\""));

    //  A bad address and a missing TLS key fail cleanly.
    ih_err_t err = { "" };
    ih_http_cfg_t cfg;
    memset (&cfg, 0, sizeof cfg);
    cfg.listen = "not-an-address";
    ih_http_t *h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "not a numeric"));
    ih_http_destroy (&h);
    cfg.listen = "127.0.0.1";
    cfg.tls_cert = "/nonexistent/cert.pem";
    h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "go together"));
    ih_http_destroy (&h);
    cfg.tls_key = "/nonexistent/key.pem";
    h = ih_http_new (&cfg);
    IH_CHECK (ih_http_start (h, &err) == -1 && strstr (err.msg, "cannot read"));
    ih_http_destroy (&h);
    if (verbose)
        printf ("\n    %s", err.msg);
    cfg.tls_cert = cfg.tls_key = NULL;

    //  Routes that cannot be registered.
    h = ih_http_new (&cfg);
    ih_http_route_t bad = { .path = "hello", .label = "hello", .handler = s_toy_hello };
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "'hello'"));
    bad.path = "/hello";
    bad.label = "";
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "label"));
    bad.label = "hello";
    bad.methods = 4;
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "only GET"));
    bad.methods = 0;
    for (int i = 0; i < IH_HTTP_MAX_ROUTES; i++)
        IH_CHECK (ih_http_route (h, &bad, &err) == 0);
    IH_CHECK (ih_http_route (h, &bad, &err) == -1 && strstr (err.msg, "more than"));
    ih_http_destroy (&h);

    //  The toy front end on an ephemeral port (two threads).
    s_toy_t toy;
    memset (&toy, 0, sizeof toy);
    cfg.name = "toy";
    cfg.app = &toy;
    cfg.generation = s_toy_gen;
    cfg.local_new = s_toy_local_new;
    cfg.local_free = s_toy_local_free;
    cfg.html_error = s_toy_html_error;
    h = ih_http_new (&cfg);
    static const ih_http_route_t routes [] = {
        { .path = "/hello", .label = "hello", .handler = s_toy_hello },
        { .path = "/json/", .match = IH_HTTP_PREFIX, .label = "json", .handler = s_toy_missing,
          .errors = IH_HTTP_JSON },
        { .path = "/custom", .label = "custom", .handler = s_toy_missing, .error = s_toy_error },
        { .path = "/hello/", .label = "hello", .handler = s_toy_hello },
        { .path = "/same", .label = "same", .handler = s_toy_same },
        { .path = "/form", .label = "form", .handler = s_toy_form, .methods = IH_HTTP_GET | IH_HTTP_POST,
          .max_body = 200 },
        { .path = "/post", .label = "form", .handler = s_toy_form, .methods = IH_HTTP_POST },
        { .path = "/go", .label = "go", .handler = s_toy_go },
        { .path = "/stream", .label = "stream", .handler = s_toy_stream },
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes [0]; i++)
        IH_CHECK (ih_http_route (h, &routes [i], &err) == 0);
    IH_CHECK (ih_http_metrics (h) == NULL && ih_http_port (h) == 0);
    IH_CHECK (ih_http_start (h, &err) == 0);
    uint16_t port = ih_http_port (h);
    IH_CHECK (port > 0 && ih_http_metrics (h));
    IH_CHECK (ih_http_route (h, &routes [0], &err) == -1 && strstr (err.msg, "before"));
    //  Labels: in the order first registered ("hello" once), then "other".
    IH_CHECK (h->nlabels == 8 && streq (h->labels [0], "hello") && streq (h->labels [1], "json")
           && streq (h->labels [2], "custom") && streq (h->labels [3], "same")
           && streq (h->labels [4], "form") && streq (h->labels [7], "other"));

    ih_tk_http_t res;
    char tag [96], v [200];
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", NULL) == 200);
    if (verbose)
        printf ("\n%s", (const char *) res.raw.data);
    IH_CHECK (streq (res.body, "<p>hello &lt;b&gt; from thread value 1, generation 0</p>\n"));
    IH_CHECK (ih_tk_http_header (&res, "Content-Security-Policy", v, sizeof v) && streq (v, IH_HTTP_CSP));
    IH_CHECK (ih_tk_http_header (&res, "X-Frame-Options", v, sizeof v) && streq (v, "DENY"));
    IH_CHECK (ih_tk_http_header (&res, "X-Content-Type-Options", v, sizeof v) && streq (v, "nosniff"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "public, max-age=5"));
    IH_CHECK (!ih_tk_http_header (&res, "Strict-Transport-Security", v, sizeof v));
    IH_CHECK (ih_tk_http_header (&res, "ETag", tag, sizeof tag) && strlen (tag) == 34 && tag [0] == '"');
    ih_tk_http_free (&res);
    //  The same URI again: from the cache (the handler is not called), then 304.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", NULL) == 200);
    IH_CHECK (toy.calls == 1 && strstr (res.body, "hello &lt;b&gt;"));
    ih_tk_http_free (&res);
    char inm [128];
    snprintf (inm, sizeof inm, "If-None-Match: %s\r\n", tag);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", inm) == 304);
    IH_CHECK (*res.body == 0 && toy.calls == 1);
    ih_tk_http_free (&res);
    //  A new generation: the handler runs again; its answer changed, and so did its tag.
    toy.gen++;
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=%3Cb%3E", inm) == 200);
    IH_CHECK (toy.calls == 2 && ih_tk_http_header (&res, "ETag", v, sizeof v) && !streq (v, tag));
    ih_tk_http_free (&res);
    //  An argument the handler does not read: answered every time, never kept, so that
    //  junk URIs cannot push the pages worth keeping out of the cache. The same page
    //  without it is kept.
    for (int i = 0; i < 2; i++) {
        IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=j&junk=1", NULL) == 200);
        IH_CHECK (strstr (res.body, "hello j from") && ih_tk_http_header (&res, "ETag", v, sizeof v));
        ih_tk_http_free (&res);
        IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=j&name=k", NULL) == 200);
        ih_tk_http_free (&res);     //  (a second pair of the same key is not read either)
    }
    IH_CHECK (toy.calls == 6);
    for (int i = 0; i < 2; i++) {
        IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=j", NULL) == 200);
        ih_tk_http_free (&res);
    }
    IH_CHECK (toy.calls == 7);
    //  A second server started later with the same content gives the same tags (the tag
    //  is the content's, not the process's), and takes the first one's for a 304.
    {
        char same [200], v2 [200];
        IH_CHECK (ih_tk_http (&res, port, "GET", "/same?name=x", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", same, sizeof same));
        ih_tk_http_free (&res);
        zclock_sleep (3);
        s_toy_t toy2;
        memset (&toy2, 0, sizeof toy2);
        ih_http_cfg_t cfg2 = cfg;
        cfg2.app = &toy2;
        ih_http_t *h2 = ih_http_new (&cfg2);
        IH_CHECK (ih_http_route (h2, &routes [4], &err) == 0 && ih_http_start (h2, &err) == 0);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=x", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", v2, sizeof v2) && streq (v2, same));
        ih_tk_http_free (&res);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=y", NULL) == 200);
        IH_CHECK (ih_tk_http_header (&res, "ETag", v2, sizeof v2) && !streq (v2, same));
        ih_tk_http_free (&res);
        char inm2 [256];
        snprintf (inm2, sizeof inm2, "If-None-Match: %s\r\n", same);
        IH_CHECK (ih_tk_http (&res, ih_http_port (h2), "GET", "/same?name=x", inm2) == 304);
        ih_tk_http_free (&res);
        ih_http_destroy (&h2);
    }
    //  HEAD: the headers without the body. A value per thread, made once.
    IH_CHECK (ih_tk_http (&res, port, "HEAD", "/hello/", NULL) == 200);
    IH_CHECK (*res.body == 0 && toy.locals >= 1 && toy.locals <= 2);
    ih_tk_http_free (&res);

    //  Errors in the route's kind: JSON, the route's own, the front end's HTML.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/json/x", NULL) == 404);
    IH_CHECK (streq (res.body, "{\"error\":\"Not found\",\"status\":404,\"detail\":"
                               "\"no such \\u003cthing\\u003e\"}\n"));
    IH_CHECK (ih_tk_http_header (&res, "Content-Type", v, sizeof v) && streq (v, "application/json"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "no-store"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/custom", NULL) == 404);
    IH_CHECK (streq (res.body, "toy error 404 (Not found): no such <thing>\n"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/custom/", NULL) == 404);      //  exact: unrouted
    IH_CHECK (streq (res.body, "<h1>Not found</h1><p>There is nothing at this address.</p>\n"));
    ih_tk_http_free (&res);
    //  Refused before routing: 405 (with Allow), 414, 400; all in the HTML kind.
    IH_CHECK (ih_tk_http (&res, port, "POST", "/hello", "Content-Length: 3\r\n") == 405);
    IH_CHECK (ih_tk_http_header (&res, "Allow", v, sizeof v) && streq (v, "GET, HEAD"));
    IH_CHECK (strstr (res.body, "<h1>Method not allowed</h1>"));
    ih_tk_http_free (&res);
    char path [2100] = "/hello?x=";
    memset (path + 9, 'a', sizeof path - 10);
    path [sizeof path - 1] = 0;
    IH_CHECK (ih_tk_http (&res, port, "GET", path, NULL) == 414);
    ih_tk_http_free (&res);
    ih_buf_t many;
    ih_buf_init (&many);
    ih_html_puts (&many, "/hello?");
    for (int i = 0; i < 40; i++)
        ih_buf_printf (&many, "a%d=1&", i);
    IH_CHECK (ih_tk_http (&res, port, "GET", ih_html_cstr (&many), NULL) == 400);
    ih_buf_free (&many);
    ih_tk_http_free (&res);
    //  The target is parsed here (ih_request.h), not by libmicrohttpd: a thousand empty
    //  arguments are a 400 with our page, a NUL byte in the path or the query a 400, dot
    //  segments are removed before routing, a query key is exact (case matters).
    char amps [1100] = "/hello?";
    memset (amps + 7, '&', 1000);
    IH_CHECK (ih_tk_http (&res, port, "GET", amps, NULL) == 400);
    IH_CHECK (strstr (res.body, "Too many or too long query arguments."));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hel%00lo", NULL) == 400);
    IH_CHECK (strstr (res.body, "NUL byte"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/hello?name=a%00b", NULL) == 400);
    IH_CHECK (strstr (res.body, "NUL byte"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/nowhere/../h%65llo?name=dots&NAME=no", NULL) == 200);
    IH_CHECK (strstr (res.body, "hello dots from"));
    ih_tk_http_free (&res);

    //  Metrics per label: hello is 0, json 1, custom 2, same 3, other 7.
    IH_CHECK (s_count (h, 0, 200, 11) == 11 && s_count (h, 0, 304, 1) == 1);   //  6 of them the junk test's
    IH_CHECK (s_count (h, 1, 404, 1) == 1 && s_count (h, 2, 404, 1) == 1);
    IH_CHECK (s_count (h, 3, 200, 1) == 1);
    IH_CHECK (s_count (h, 7, 404, 1) == 1 && s_count (h, 7, 405, 1) == 1);
    IH_CHECK (s_count (h, 7, 414, 1) == 1 && s_count (h, 7, 400, 4) == 4);

    //  Forms: fields decoded in order, a key twice kept twice; cookies read and set.
    static const char form [] = "a=1+2&b=%3Cx%3E&a=%C3%A9&empty=&novalue&&c%3D=%zz";
    char hdrs [256];
    snprintf (hdrs, sizeof hdrs, "Content-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: %zu\r\nCookie: c=v1; other=2\r\n", sizeof form - 1);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/form", hdrs, form, sizeof form - 1) == 200);
    if (verbose)
        printf ("\n%s", (const char *) res.raw.data);
    IH_CHECK (streq (res.body, "a=1 2|b=<x>|a=\xc3\xa9|empty=|novalue=|c==%zz| a=1 2 n=2 cookie=v1 post=1"));
    IH_CHECK (ih_tk_http_header (&res, "Set-Cookie", v, sizeof v)
              && streq (v, "sid=abc; Path=/; HttpOnly; SameSite=Strict"));
    IH_CHECK (strstr ((const char *) res.raw.data, "\r\nSet-Cookie: old=; Path=/; HttpOnly; SameSite=Strict; "
                                                   "Max-Age=0\r\n"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "no-store"));
    IH_CHECK (!ih_tk_http_header (&res, "ETag", v, sizeof v));
    ih_tk_http_free (&res);
    //  The same route by GET: no form.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/form", NULL) == 200);
    IH_CHECK (streq (res.body, " a=(none) n=0 cookie=(none) post=0"));
    ih_tk_http_free (&res);
    //  A body over the route's limit: 413 (by Content-Length, and by the bytes of a
    //  chunked body); another type: 415; a NUL: 400; POST-only by GET, and POST to a
    //  GET route: 405 with the route's Allow.
    char big [400];
    memset (big, 'x', sizeof big);
    big [0] = 'a';
    big [1] = '=';
    snprintf (hdrs, sizeof hdrs, "Content-Type: application/x-www-form-urlencoded\r\n"
              "Content-Length: %zu\r\n", sizeof big);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/form", hdrs, big, sizeof big) == 413);
    ih_tk_http_free (&res);
    ih_buf_t chunked;
    ih_buf_init (&chunked);
    for (int i = 0; i < 5; i++)
        ih_buf_printf (&chunked, "64\r\n%.100s\r\n", big);
    ih_buf_printf (&chunked, "0\r\n\r\n");
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n"
                               "Transfer-Encoding: chunked\r\n", chunked.data, chunked.len) == 413);
    ih_buf_free (&chunked);
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/form", "Content-Type: text/plain\r\nContent-Length: 3\r\n",
                               "a=1", 3) == 415);
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/form", "Content-Type: application/x-www-form-urlencoded; "
                               "charset=UTF-8\r\nContent-Length: 6\r\n", "a=%00x", 6) == 400);
    IH_CHECK (strstr (res.body, "NUL byte"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/post", NULL) == 405);
    IH_CHECK (ih_tk_http_header (&res, "Allow", v, sizeof v) && streq (v, "POST"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/post", "Content-Type: application/x-www-form-urlencoded\r\n"
                               "Content-Length: 3\r\n", "a=2", 3) == 200);
    IH_CHECK (streq (res.body, "a=2| a=2 n=1 cookie=(none) post=1"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http_send (&res, port, "POST", "/same", "Content-Type: application/x-www-form-urlencoded\r\n"
                               "Content-Length: 3\r\n", "a=2", 3) == 405);
    IH_CHECK (ih_tk_http_header (&res, "Allow", v, sizeof v) && streq (v, "GET, HEAD"));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "DELETE", "/form", NULL) == 405);
    ih_tk_http_free (&res);

    //  A redirect: 303 with Location.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/go", NULL) == 303);
    IH_CHECK (ih_tk_http_header (&res, "Location", v, sizeof v) && streq (v, "/hello?name=x&y=1"));
    IH_CHECK (strstr (res.body, "href=\"/hello?name=x&amp;y=1\""));
    ih_tk_http_free (&res);

    //  A stream: the parts in order, chunked, not cached; a failed one ends without the
    //  last chunk. Each state is freed once.
    IH_CHECK (ih_tk_http (&res, port, "GET", "/stream", NULL) == 200);
    IH_CHECK (strstr (res.body, "part 1\n") && strstr (res.body, "part 3\n") && strstr (res.body, "\r\n0\r\n"));
    IH_CHECK (ih_tk_http_header (&res, "Content-Disposition", v, sizeof v) && strstr (v, "x.txt"));
    IH_CHECK (ih_tk_http_header (&res, "Cache-Control", v, sizeof v) && streq (v, "no-store"));
    IH_CHECK (!ih_tk_http_header (&res, "ETag", v, sizeof v));
    ih_tk_http_free (&res);
    IH_CHECK (ih_tk_http (&res, port, "GET", "/stream?fail=1", NULL) == 200);
    IH_CHECK (strstr (res.body, "part 2\n") && !strstr (res.body, "part 3") && !strstr (res.body, "\r\n0\r\n"));
    ih_tk_http_free (&res);
    for (int i = 0; i < 200 && s_toy_freed < 2; i++)
        zclock_sleep (5);
    IH_CHECK (s_toy_freed == 2);

    //  A second server on the same port fails with a message.
    ih_http_cfg_t cfg2 = cfg;
    cfg2.port = port;
    ih_http_t *h2 = ih_http_new (&cfg2);
    IH_CHECK (ih_http_start (h2, &err) == -1);
    char want [64];
    snprintf (want, sizeof want, "cannot listen on 127.0.0.1:%u: Address already in use", port);
    IH_CHECK (streq (err.msg, want));
    ih_http_destroy (&h2);
    ih_http_destroy (&h);
    ih_http_destroy (&h);
    IH_CHECK (h == NULL);
    if (verbose)
        printf ("    ");
}
#endif
