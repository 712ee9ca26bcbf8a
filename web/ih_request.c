/*  ih_request.c: what the web layer makes of the bytes of a request (see ih_request.h). */
#include <strings.h>

#include <sodium.h>
#include "ih_request.h"

static int
s_hexval (int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*  Decodes n bytes at in into out (%XX a byte, '+' a space when plus; a '%' without two
    hex digits stays as it is). Returns the length written, -1 when it decodes to a NUL
    byte. out has room for n + 1 bytes (it is NUL-terminated). */
static int
s_decode (const char *in, size_t n, char *out, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char) in [i];
        if (ch == '+' && plus)
            ch = ' ';
        else
        if (ch == '%' && i + 2 < n && s_hexval (in [i + 1]) >= 0 && s_hexval (in [i + 2]) >= 0) {
            ch = s_hexval (in [i + 1]) * 16 + s_hexval (in [i + 2]);
            i += 2;
        }
        if (ch == 0)
            return -1;
        out [o++] = (char) ch;
    }
    out [o] = 0;
    return (int) o;
}

const char *
ih_pairs_get (const ih_pairs_t *p, const char *key)
{
    int i = ih_pairs_find (p, key);
    return i < 0 ? NULL : p->kv [2 * i + 1];
}

int
ih_pairs_find (const ih_pairs_t *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (streq (p->kv [2 * i], key))
            return i;
    return -1;
}

void
ih_pairs_free (ih_pairs_t *p)
{
    if (p->buf)
        sodium_memzero (p->buf, p->size);
    free (p->buf);
    free (p->kv);
    memset (p, 0, sizeof *p);
}

/*  Room for the pairs of len bytes with at most parts parts. Decoded text is never longer
    than what it decodes: one buffer of len plus a NUL per key and value holds it all. */
static void
s_alloc (ih_pairs_t *out, size_t len, size_t parts)
{
    memset (out, 0, sizeof *out);
    out->size = len + 2 * parts + 1;
    out->buf = (char *) malloc (out->size);
    out->kv = (const char **) calloc (2 * parts + 1, sizeof (char *));
    if (!out->buf || !out->kv)
        abort ();
}

/*  '&'-separated key=value parts; a key without '=' gets NULL (query) or "" (form). */
static int
s_pairs (ih_pairs_t *out, const char *s, size_t len, int max, bool form, const char *what,
         ih_err_t *err)
{
    size_t parts = 1;
    for (size_t i = 0; i < len; i++)
        parts += s [i] == '&';
    if (max < 0)
        max = 0;
    if (parts > (size_t) max) {
        memset (out, 0, sizeof *out);
        return ih_err_set (err, "the %s has more than %d %s", what, max, form ? "fields" : "arguments");
    }
    s_alloc (out, len, parts);
    char *o = out->buf;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s [end] != '&')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && s [eq] != '=')
                eq++;
            int kl = s_decode (s + i, eq - i, o, true);
            if (kl < 0)
                return ih_err_set (err, "the %s holds a NUL byte (%%00)", what);
            out->kv [2 * out->n] = o;
            o += kl + 1;
            if (eq < end || form) {
                size_t v = eq < end ? eq + 1 : end;
                int vl = s_decode (s + v, end - v, o, true);
                if (vl < 0)
                    return ih_err_set (err, "the %s holds a NUL byte (%%00)", what);
                out->kv [2 * out->n + 1] = o;
                o += vl + 1;
            }
            out->n++;
        }
        i = end + 1;
    }
    return 0;
}

int
ih_request_query (ih_pairs_t *out, const char *query, size_t len, int max, ih_err_t *err)
{
    return s_pairs (out, query, len, max, false, "query", err);
}

int
ih_request_form (ih_pairs_t *out, const char *body, size_t len, int max, ih_err_t *err)
{
    return s_pairs (out, body, len, max, true, "form", err);
}

void
ih_request_cookies (ih_pairs_t *out, const char *header)
{
    size_t len = header ? strlen (header) : 0;
    s_alloc (out, len, IH_REQUEST_MAX_COOKIES);
    if (!header)
        return;
    char *o = out->buf;
    const char *p = header, *end = header + len;
    while (p < end && out->n < IH_REQUEST_MAX_COOKIES) {
        const char *e = memchr (p, ';', (size_t) (end - p));
        if (!e)
            e = end;
        const char *k = p;
        while (k < e && (*k == ' ' || *k == '\t'))
            k++;
        const char *eq = memchr (k, '=', (size_t) (e - k));
        if (eq) {
            const char *ke = eq;
            while (ke > k && (ke [-1] == ' ' || ke [-1] == '\t'))
                ke--;
            const char *v = eq + 1, *ve = e;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve [-1] == ' ' || ve [-1] == '\t'))
                ve--;
            if (ve - v >= 2 && *v == '"' && ve [-1] == '"') {
                v++;
                ve--;
            }
            if (ke > k) {
                out->kv [2 * out->n] = o;
                memcpy (o, k, (size_t) (ke - k));
                o += ke - k;
                *o++ = 0;
                out->kv [2 * out->n + 1] = o;
                memcpy (o, v, (size_t) (ve - v));
                o += ve - v;
                *o++ = 0;
                out->n++;
            }
        }
        p = e + 1;
    }
}

bool
ih_request_form_type (const char *ctype)
{
    static const char form [] = "application/x-www-form-urlencoded";
    if (!ctype || strncasecmp (ctype, form, sizeof form - 1) != 0)
        return false;
    char after = ctype [sizeof form - 1];
    return after == 0 || after == ';' || after == ' ' || after == '\t';
}

int
ih_request_path (const char *raw, size_t len, char *out, size_t size, ih_err_t *err)
{
    //  The absolute form (RFC 9112 3.2.2): "http://host/x" is "/x".
    if (len >= 7 && (strncasecmp (raw, "http://", 7) == 0
                     || (len >= 8 && strncasecmp (raw, "https://", 8) == 0))) {
        const char *p = raw + (raw [4] == ':' ? 7 : 8);
        const char *slash = memchr (p, '/', len - (size_t) (p - raw));
        if (!slash) {
            if (size < 2)
                return ih_err_set (err, "the path does not fit %zu bytes", size);
            out [0] = '/';
            out [1] = 0;
            return 0;
        }
        len -= (size_t) (slash - raw);
        raw = slash;
    }
    if (len == 0 || raw [0] != '/')
        return ih_err_set (err, "the request target is not a path");
    if (size < len + 1)
        return ih_err_set (err, "the path does not fit %zu bytes", size);
    char *dec = out;
    if (s_decode (raw, len, dec, false) < 0)
        return ih_err_set (err, "the address holds a NUL byte (%%00)");
    //  Dot segments removed after decoding (RFC 3986 5.2.4), in place: the output never
    //  outgrows the input. Each segment is copied after a '/'; "." is dropped, ".."
    //  drops the segment before it; a trailing "." or ".." leaves the '/'.
    size_t n = strlen (dec), o = 0, i = 0;
    while (i < n) {
        //  dec [i] == '/': the segment runs to the next '/'
        size_t s = i + 1, e = s;
        while (e < n && dec [e] != '/')
            e++;
        size_t sl = e - s;
        bool last = e == n;
        if (sl == 1 && dec [s] == '.') {
            if (last)
                out [o++] = '/';
        }
        else
        if (sl == 2 && dec [s] == '.' && dec [s + 1] == '.') {
            while (o > 0 && out [o - 1] != '/')
                o--;
            if (o > 0)
                o--;                //  the '/' before the dropped segment
            if (last)
                out [o++] = '/';
        }
        else {
            out [o++] = '/';
            memmove (out + o, dec + s, sl);
            o += sl;
        }
        i = e;
    }
    if (o == 0)
        out [o++] = '/';
    out [o] = 0;
    return 0;
}

/* ---- self-test ------------------------------------------------------------------------------ */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static void
s_path (const char *in, const char *want)
{
    char out [256];
    ih_err_t err = { "" };
    int rc = ih_request_path (in, strlen (in), out, sizeof out, &err);
    if (!want)
        IH_CHECK (rc == -1 && err.msg [0]);
    else {
        if (rc != 0 || !streq (out, want))
            fprintf (stderr, "\npath '%s' -> '%s' (%s), want '%s'\n", in, rc ? "" : out, err.msg, want);
        IH_CHECK (rc == 0 && streq (out, want));
    }
}

void
ih_request_test (bool verbose)
{
    //  Paths: decoded, dot segments removed, the absolute form, refusals.
    s_path ("/", "/");
    s_path ("/search", "/search");
    s_path ("/a%20b+c", "/a b+c");
    s_path ("/a/./b/../c", "/a/c");
    s_path ("/a/b/..", "/a/");
    s_path ("/a/.", "/a/");
    s_path ("/..", "/");
    s_path ("/../../x", "/x");
    s_path ("/alerts/%2e%2e/healthz", "/healthz");
    s_path ("/a//b", "/a//b");
    s_path ("/%zz%4", "/%zz%4");
    s_path ("/%", "/%");
    s_path ("http://example.org/x/../y", "/y");
    s_path ("HTTPS://example.org", "/");
    s_path ("/a%00b", NULL);
    s_path ("*", NULL);
    s_path ("x", NULL);
    s_path ("", NULL);
    char small [4];
    ih_err_t err = { "" };
    IH_CHECK (ih_request_path ("/abcdef", 7, small, sizeof small, &err) == -1);

    //  A query: '+' a space, %XX a byte, empty parts skipped, no '=' no value, the cap.
    ih_pairs_t p;
    const char *q = "a=1&b=x+y%21&&c&d=&a=2";
    IH_CHECK (ih_request_query (&p, q, strlen (q), 32, &err) == 0);
    IH_CHECK (p.n == 5);
    IH_CHECK (streq (ih_pairs_get (&p, "a"), "1") && streq (ih_pairs_get (&p, "b"), "x y!"));
    IH_CHECK (ih_pairs_get (&p, "c") == NULL && streq (ih_pairs_get (&p, "d"), ""));
    IH_CHECK (ih_pairs_get (&p, "A") == NULL && ih_pairs_get (&p, "zz") == NULL);
    IH_CHECK (streq (p.kv [8], "a") && streq (p.kv [9], "2"));
    ih_pairs_free (&p);
    ih_pairs_free (&p);
    char amps [1001];
    memset (amps, '&', 1000);
    amps [1000] = 0;
    IH_CHECK (ih_request_query (&p, amps, 1000, 32, &err) == -1);
    IH_CHECK (strstr (err.msg, "more than 32 arguments"));
    ih_pairs_free (&p);
    IH_CHECK (ih_request_query (&p, amps, 31, 32, &err) == 0 && p.n == 0);
    ih_pairs_free (&p);
    IH_CHECK (ih_request_query (&p, "a=%00", 5, 32, &err) == -1 && strstr (err.msg, "NUL"));
    ih_pairs_free (&p);
    IH_CHECK (ih_request_query (&p, "", 0, 32, &err) == 0 && p.n == 0);
    ih_pairs_free (&p);

    //  A form: a field without '=' is empty.
    IH_CHECK (ih_request_form (&p, "x&y=1+2&x=%41", 13, 10, &err) == 0 && p.n == 3);
    IH_CHECK (streq (ih_pairs_get (&p, "x"), "") && streq (ih_pairs_get (&p, "y"), "1 2"));
    IH_CHECK (streq (p.kv [5], "A"));
    ih_pairs_free (&p);
    IH_CHECK (ih_request_form (&p, "a&b&c", 5, 2, &err) == -1 && strstr (err.msg, "more than 2 fields"));
    ih_pairs_free (&p);

    //  Cookies: trimmed, quotes removed, no decoding, bad parts skipped.
    ih_request_cookies (&p, " sid = abc ; x=\"q v\";=nokey; novalue ; e=; y=%41");
    IH_CHECK (p.n == 4);
    IH_CHECK (streq (ih_pairs_get (&p, "sid"), "abc") && streq (ih_pairs_get (&p, "x"), "q v"));
    IH_CHECK (streq (ih_pairs_get (&p, "e"), "") && streq (ih_pairs_get (&p, "y"), "%41"));
    ih_pairs_free (&p);
    ih_request_cookies (&p, NULL);
    IH_CHECK (p.n == 0 && ih_pairs_get (&p, "sid") == NULL);
    ih_pairs_free (&p);
    char many [2000] = "";
    for (int i = 0; i < 100; i++)
        ih_fmt (many + strlen (many), sizeof many - strlen (many), "c%d=%d;", i, i);
    ih_request_cookies (&p, many);
    IH_CHECK (p.n == IH_REQUEST_MAX_COOKIES && streq (ih_pairs_get (&p, "c63"), "63"));
    ih_pairs_free (&p);

    //  Content types.
    IH_CHECK (ih_request_form_type ("application/x-www-form-urlencoded"));
    IH_CHECK (ih_request_form_type ("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    IH_CHECK (!ih_request_form_type ("application/x-www-form-urlencodedx"));
    IH_CHECK (!ih_request_form_type ("multipart/form-data") && !ih_request_form_type (NULL));
    if (verbose)
        printf ("\n    paths, queries, forms, cookies");
}
#endif
