/*  ih_request.h: what the web layer makes of the bytes of a request: its target (the path,
    decoded and normalised, and the query's arguments), its cookies, the form of a POST,
    and whether a Content-Type is a form's. Pure functions over bytes: no libmicrohttpd,
    no state. The server (ih_http.c) runs every request through them, and the fuzz target
    (tests/fuzz/fuzz_http.c) calls the same functions on raw input.

    WHY OUR OWN. libmicrohttpd (0.9.75) parses each query argument into the connection's
    memory pool before any callback of ours can refuse the request: a query of a thousand
    empty arguments ("/?&&&...") exhausted the pool, and MHD then either could not build
    our answer (the connection closed without one) or sent nothing and waited for the idle
    timeout. The server now hands MHD no query at all (ih_http.c, s_uri_log) and parses it
    here, with a cap, from the target as received; a request over the cap is a 400 with a
    body that says why. Cookies are read here from the Cookie header, paths decoded here,
    so that what a route sees is decided in one place that a fuzzer reaches.

    PAIRS. Query arguments, form fields and cookies are pairs (ih_pairs_t): keys and values
    decoded into one buffer, in the order sent, a key given twice kept twice. Keys compare
    exactly (case matters). A query argument without '=' has no value (NULL, as MHD gave
    it); a form field without '=' has the empty value. Every decoded byte string is
    NUL-terminated; one that would hold a NUL byte (%00) is refused, since the C strings
    handed to the routes would silently end there.

    THE PATH. ih_request_path decodes %XX (a '%' without two hex digits stays as it is; '+'
    stays '+'), refuses a NUL byte, removes dot segments ("/a/./b/../c" is "/a/c", RFC
    3986 5.2.4, after decoding) and accepts the absolute form of a target
    ("http://host/x" is "/x"). A target that is neither ("*", "x") is refused.

    Threading: none of its own; each function works on what it is given.
*/
#ifndef IH_REQUEST_H
#define IH_REQUEST_H

#include "ih_util.h"

#define IH_REQUEST_MAX_ARGS     32      /* query arguments ('&'-separated parts) */
#define IH_REQUEST_MAX_COOKIES  64      /* cookies in one Cookie header (more are ignored) */

typedef struct {
    char *buf;                  /* the decoded keys and values (owned) */
    size_t size;                /* its bytes (wiped when freed) */
    const char **kv;            /* key, value, key, value ... (into buf; a value may be NULL) */
    int n;                      /* pairs */
} ih_pairs_t;

/*  The value of the first pair whose key is key: NULL when there is none, or when it has
    no value. Borrowed from p. */
const char *ih_pairs_get(const ih_pairs_t *p, const char *key);
/*  The index of that pair (its value is p->kv [2 * i + 1]), or -1. */
int ih_pairs_find(const ih_pairs_t *p, const char *key);
/*  Wipes (a form may hold a password) and frees what p holds; safe twice, and on a
    zeroed one. */
void ih_pairs_free(ih_pairs_t *p);

/*  Decodes the path part of a request target (len bytes at raw: the target up to its
    '?', or all of it) into out (size bytes: len + 2 always suffice). Returns 0, or -1
    with err ("the address holds a NUL byte (%00)", "the request target is not a path",
    out too small). */
int ih_request_path(const char *raw, size_t len, char *out, size_t size, ih_err_t *err);

/*  Parses a query (len bytes after the '?', without it) into out (ih_pairs_free it, also
    after a failure): '&'-separated key=value parts, '+' a space, %XX a byte, empty parts
    skipped. Returns 0, or -1 with err: more than max parts (1,000 ampersands are 1,001
    parts), a NUL byte. */
int ih_request_query(ih_pairs_t *out, const char *query, size_t len, int max, ih_err_t *err);

/*  Parses an application/x-www-form-urlencoded body as ih_request_query does, but a
    field without '=' gets the empty value. max: fields at most. */
int ih_request_form(ih_pairs_t *out, const char *body, size_t len, int max, ih_err_t *err);

/*  Parses a Cookie header value ("a=1; b=\"2\"") into out: ';'-separated name=value,
    spaces around each trimmed, a value's surrounding double quotes removed, no other
    decoding. A part without '=' or with an empty name is skipped, as are parts beyond
    IH_REQUEST_MAX_COOKIES. Never fails (NULL is no cookie). */
void ih_request_cookies(ih_pairs_t *out, const char *header);

/*  True when a Content-Type value is application/x-www-form-urlencoded (any case),
    alone or followed by parameters ("; charset=UTF-8"). */
bool ih_request_form_type(const char *ctype);

void ih_request_test(bool verbose);

#endif
