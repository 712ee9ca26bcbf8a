/*  ih_tk_http.h: a small blocking HTTP/1.1 client for the self-tests of the web layer
    (web/ih_http) and of its front ends (gateway/ih_gw): one request per connection, sent
    with "Connection: close", read until the server closes. Built only into the test
    binaries, like ih_testkit.h.

    It aborts the test (IH_CHECK) when it cannot connect: a server that a test started
    and cannot reach is a broken test. It does not decode chunked bodies.
*/
#ifndef IH_TK_HTTP_H
#define IH_TK_HTTP_H

#include "ih_util.h"

typedef struct {
    int status;                     /* from the status line; 0 when none came */
    ih_buf_t raw;                   /* the whole answer, NUL-terminated */
    const char *body;               /* inside raw, after the blank line ("" when none) */
} ih_tk_http_t;

/*  Sends "METHOD PATH HTTP/1.1" to 127.0.0.1:port with Host, Connection: close and the
    extra header lines `headers` (each ending in "\r\n"; NULL for none), reads the answer
    (5 s at most) into res (ih_tk_http_free it). Returns the status. */
int ih_tk_http(ih_tk_http_t *res, uint16_t port, const char *method, const char *path,
               const char *headers);
/*  The same with a body of len bytes after the headers (headers must then carry its
    Content-Length, or Transfer-Encoding: chunked and a body in chunks). */
int ih_tk_http_send(ih_tk_http_t *res, uint16_t port, const char *method, const char *path,
                    const char *headers, const void *body, size_t len);
/*  The value of the first header called name (any case), copied into out (size bytes,
    cut to fit); NULL when there is none. */
const char *ih_tk_http_header(const ih_tk_http_t *res, const char *name, char *out, size_t size);
/*  Frees the answer; safe twice. */
void ih_tk_http_free(ih_tk_http_t *res);

#endif
