/*  ih_bench_tls.c: a TCP connection to 127.0.0.1 with buffered reads and writes, TLS on
    it through OpenSSL, and the self-signed certificate the peers serve.
    The contract is in ih_bench_peer.h.
*/
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ih_bench.h"
#include "ih_bench_peer.h"

#define s_FLUSH_AT  (64 * 1024)

void
ih_bench_tls_cert (const char *work)
{
    char key [4200], cert [4200], log [4200];
    snprintf (key, sizeof key, "%s/tls-key.pem", work);
    snprintf (cert, sizeof cert, "%s/tls-cert.pem", work);
    snprintf (log, sizeof log, "%s/openssl.log", work);
    char *argv [] = { "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert, NULL };
    ih_bench_run (argv, log);
}

SSL_CTX *
ih_bench_tls_ctx (const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());
    if (!ctx || SSL_CTX_load_verify_locations (ctx, cafile, NULL) != 1)
        ih_bench_die ("TLS context with %s: %s", cafile,
                      ERR_reason_error_string (ERR_get_error ()));
    SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM_set1_ip_asc (SSL_CTX_get0_param (ctx), "127.0.0.1");
    return ctx;
}

ih_bench_conn_t *
ih_bench_conn_new (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in a;
    memset (&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons ((uint16_t) port);
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        close (fd);
        return NULL;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ih_bench_conn_t *c = calloc (1, sizeof *c);
    if (!c)
        abort ();
    c->fd = fd;
    c->in_cap = 256 * 1024;
    c->out_cap = 2 * s_FLUSH_AT;
    c->in = malloc (c->in_cap);
    c->out = malloc (c->out_cap);
    if (!c->in || !c->out)
        abort ();
    return c;
}

static int
s_ssl_fail (ih_bench_conn_t *c, const char *what, int rc)
{
    int e = SSL_get_error (c->ssl, rc);
    unsigned long q = ERR_get_error ();
    snprintf (c->error, sizeof c->error, "%s: SSL error %d: %s%s%s", what, e,
              q ? ERR_reason_error_string (q) : "", q ? "" : " ", q ? "" : strerror (errno));
    return -1;
}

int
ih_bench_conn_tls (ih_bench_conn_t *c, SSL_CTX *ctx)
{
    c->ssl = SSL_new (ctx);
    if (!c->ssl || SSL_set_fd (c->ssl, c->fd) != 1) {
        snprintf (c->error, sizeof c->error, "SSL_new failed");
        return -1;
    }
    SSL_set_tlsext_host_name (c->ssl, "127.0.0.1");
    int rc = SSL_connect (c->ssl);
    if (rc != 1)
        return s_ssl_fail (c, "TLS handshake", rc);
    return 0;
}

void
ih_bench_conn_destroy (ih_bench_conn_t **cp)
{
    ih_bench_conn_t *c = *cp;
    if (!c)
        return;
    if (c->ssl) {
        SSL_shutdown (c->ssl);
        SSL_free (c->ssl);
    }
    close (c->fd);
    free (c->in);
    free (c->out);
    free (c);
    *cp = NULL;
}

static int
s_send_all (ih_bench_conn_t *c, const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (c->ssl) {
            int rc = SSL_write (c->ssl, p, (int) (len > (1 << 30) ? (1 << 30) : len));
            if (rc <= 0)
                return s_ssl_fail (c, "write", rc);
            p += rc;
            len -= (size_t) rc;
        }
        else {
            ssize_t rc = send (c->fd, p, len, MSG_NOSIGNAL);
            if (rc < 0 && errno == EINTR)
                continue;
            if (rc <= 0) {
                snprintf (c->error, sizeof c->error, "write: %s", strerror (errno));
                return -1;
            }
            p += rc;
            len -= (size_t) rc;
        }
    }
    return 0;
}

int
ih_bench_conn_flush (ih_bench_conn_t *c)
{
    int rc = s_send_all (c, c->out, c->out_len);
    c->out_len = 0;
    return rc;
}

int
ih_bench_conn_write (ih_bench_conn_t *c, const void *data, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        if (ih_bench_conn_flush (c))
            return -1;
        if (len > c->out_cap)
            return s_send_all (c, data, len);
    }
    memcpy (c->out + c->out_len, data, len);
    c->out_len += len;
    return c->out_len >= s_FLUSH_AT ? ih_bench_conn_flush (c) : 0;
}

int
ih_bench_conn_fill (ih_bench_conn_t *c, int timeout_ms)
{
    //  compact, then make room for at least 64 KiB
    if (c->in_pos > 0) {
        memmove (c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    if (c->in_cap - c->in_len < 64 * 1024) {
        c->in_cap *= 2;
        c->in = realloc (c->in, c->in_cap);
        if (!c->in)
            abort ();
    }
    if (!(c->ssl && SSL_has_pending (c->ssl))) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        int rc = poll (&p, 1, timeout_ms);
        if (rc == 0 || (rc < 0 && errno == EINTR))
            return 0;
        if (rc < 0) {
            snprintf (c->error, sizeof c->error, "poll: %s", strerror (errno));
            return -1;
        }
    }
    size_t room = c->in_cap - c->in_len;
    if (c->ssl) {
        int rc = SSL_read (c->ssl, c->in + c->in_len, (int) (room > (1 << 30) ? (1 << 30) : room));
        if (rc <= 0) {
            int e = SSL_get_error (c->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;       //  a record not complete yet, or a TLS 1.3 ticket
            if (e == SSL_ERROR_ZERO_RETURN) {
                snprintf (c->error, sizeof c->error, "the server closed the connection");
                return -1;
            }
            return s_ssl_fail (c, "read", rc);
        }
        c->in_len += (size_t) rc;
        return rc;
    }
    ssize_t rc = recv (c->fd, c->in + c->in_len, room, 0);
    if (rc < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (rc <= 0) {
        snprintf (c->error, sizeof c->error, "%s", rc == 0 ? "the server closed the connection"
                                                            : strerror (errno));
        return -1;
    }
    c->in_len += (size_t) rc;
    return (int) rc;
}
