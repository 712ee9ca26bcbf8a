/*  ih_tk_http.c: the self-tests' HTTP client (see ih_tk_http.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ih_tk_http.h"

int
ih_tk_http (ih_tk_http_t *res, uint16_t port, const char *method, const char *path,
            const char *headers)
{
    return ih_tk_http_send (res, port, method, path, headers, NULL, 0);
}

int
ih_tk_http_send (ih_tk_http_t *res, uint16_t port, const char *method, const char *path,
                 const char *headers, const void *body, size_t len)
{
    memset (res, 0, sizeof *res);
    ih_buf_init (&res->raw);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    IH_CHECK (fd >= 0);
    struct timeval tv = { 5, 0 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons (port);
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    IH_CHECK (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0);
    ih_buf_t req;
    ih_buf_init (&req);
    ih_buf_printf (&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s\r\n",
                   method, path, port, headers ? headers : "");
    if (body && len)
        ih_buf_append (&req, body, len);
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = send (fd, req.data + off, req.len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;                  //  the server may answer (414) before reading it all
        off += (size_t) n;
    }
    ih_buf_free (&req);
    char chunk [16384];
    ssize_t n;
    while ((n = recv (fd, chunk, sizeof chunk, 0)) > 0)
        ih_buf_append (&res->raw, chunk, (size_t) n);
    close (fd);
    ih_buf_append (&res->raw, "", 1);
    res->raw.len--;                 //  NUL-terminated, not counted
    const char *text = (const char *) res->raw.data;
    int status = 0;
    if (strncmp (text, "HTTP/1.", 7) == 0 && strlen (text) > 12)
        status = (int) strtol (text + 9, NULL, 10);
    res->status = status;
    const char *blank = strstr (text, "\r\n\r\n");
    res->body = blank ? blank + 4 : text + res->raw.len;
    return status;
}

const char *
ih_tk_http_header (const ih_tk_http_t *res, const char *name, char *out, size_t size)
{
    const char *text = (const char *) res->raw.data;
    const char *end = strstr (text, "\r\n\r\n");
    size_t nl = strlen (name);
    for (const char *p = strstr (text, "\r\n"); p && p < end; p = strstr (p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp (line, name, nl) == 0 && line [nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t) (strstr (v, "\r\n") - v);
            snprintf (out, size, "%.*s", (int) vl, v);
            return out;
        }
    }
    return NULL;
}

void
ih_tk_http_free (ih_tk_http_t *res)
{
    ih_buf_free (&res->raw);
    res->body = NULL;
}
