/*  ih_bench_nats.c: a minimal NATS client for the bench (the client protocol is text:
    INFO, CONNECT, PUB, SUB, MSG, HMSG, PING, PONG, +OK, -ERR), and JetStream requests.
    The contract is in ih_bench_peer.h.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_bench.h"
#include "ih_bench_peer.h"

//  The index of "\r\n" at or after from in c's buffer, or -1.
static long
s_crlf (ih_bench_conn_t *c, size_t from)
{
    for (size_t i = from; i + 1 < c->in_len; i++)
        if (c->in [i] == '\r' && c->in [i + 1] == '\n')
            return (long) i;
    return -1;
}

//  Waits for a whole line; returns its length (without CRLF) at c->in + c->in_pos, 0 on
//  timeout (the protocol has no empty line), -1 on error.
static long
s_line (ih_bench_conn_t *c, int64_t deadline)
{
    long at;
    while ((at = s_crlf (c, c->in_pos)) < 0) {
        int64_t left = (deadline - ih_bench_now_ns ()) / 1000000;
        if (left <= 0)
            return 0;
        if (ih_bench_conn_fill (c, (int) left) < 0)
            return -1;
    }
    return at - (long) c->in_pos;
}

ih_bench_nats_t *
ih_bench_nats_connect (int port, SSL_CTX *ctx, const char *name)
{
    ih_bench_conn_t *c = ih_bench_conn_new (port);
    if (!c) {
        fprintf (stderr, "nats: cannot connect to 127.0.0.1:%d\n", port);
        return NULL;
    }
    ih_bench_nats_t *n = calloc (1, sizeof *n);
    if (!n)
        abort ();
    n->c = c;
    //  INFO comes in clear, then TLS (the server asks for it in INFO)
    long len = s_line (c, ih_bench_now_ns () + 5000000000LL);
    if (len <= 0 || strncmp ((char *) c->in + c->in_pos, "INFO ", 5) != 0) {
        fprintf (stderr, "nats: no INFO from 127.0.0.1:%d\n", port);
        ih_bench_nats_destroy (&n);
        return NULL;
    }
    snprintf (n->info, sizeof n->info, "%.*s", (int) len, (char *) c->in + c->in_pos);
    c->in_pos += (size_t) len + 2;
    if (ctx && ih_bench_conn_tls (c, ctx)) {
        fprintf (stderr, "nats: %s\n", c->error);
        ih_bench_nats_destroy (&n);
        return NULL;
    }
    char connect [512];
    int cl = snprintf (connect, sizeof connect,
                       "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":%s,"
                       "\"name\":\"%s\",\"lang\":\"c\",\"version\":\"0.1\",\"protocol\":1,"
                       "\"echo\":false,\"headers\":true,\"no_responders\":true}\r\n",
                       ctx ? "true" : "false", name);
    if (ih_bench_conn_write (c, connect, (size_t) cl) || ih_bench_nats_ping (n, 5000)) {
        fprintf (stderr, "nats: CONNECT to 127.0.0.1:%d failed: %s\n", port, c->error);
        ih_bench_nats_destroy (&n);
        return NULL;
    }
    return n;
}

void
ih_bench_nats_destroy (ih_bench_nats_t **np)
{
    if (!*np)
        return;
    ih_bench_conn_destroy (&(*np)->c);
    free (*np);
    *np = NULL;
}

int
ih_bench_nats_sub (ih_bench_nats_t *n, const char *subject, unsigned sid)
{
    char line [320];
    int l = snprintf (line, sizeof line, "SUB %s %u\r\n", subject, sid);
    return ih_bench_conn_write (n->c, line, (size_t) l);
}

int
ih_bench_nats_pub (ih_bench_nats_t *n, const char *subject, const char *reply, const void *data,
                   size_t len)
{
    char line [600];
    int l = snprintf (line, sizeof line, "PUB %s%s%s %zu\r\n", subject, reply ? " " : "",
                      reply ? reply : "", len);
    if (ih_bench_conn_write (n->c, line, (size_t) l)
    ||  ih_bench_conn_write (n->c, data, len)
    ||  ih_bench_conn_write (n->c, "\r\n", 2))
        return -1;
    return 0;
}

int
ih_bench_nats_ping (ih_bench_nats_t *n, int timeout_ms)
{
    uint64_t want = n->pongs + 1;
    if (ih_bench_conn_write (n->c, "PING\r\n", 6) || ih_bench_conn_flush (n->c))
        return -1;
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    while (n->pongs < want) {
        ih_bench_nats_msg_t m;
        int left = (int) ((deadline - ih_bench_now_ns ()) / 1000000);
        if (left <= 0 || ih_bench_nats_next (n, &m, left) < 0)
            return -1;
    }
    return 0;
}

//  Splits the line's arguments (after the op) into at most max words; returns how many.
static int
s_words (char *s, char **w, int max)
{
    int k = 0;
    while (*s && k < max) {
        while (*s == ' ' || *s == '\t')
            *s++ = 0;
        if (!*s)
            break;
        w [k++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    return k;
}

int
ih_bench_nats_next (ih_bench_nats_t *n, ih_bench_nats_msg_t *m, int timeout_ms)
{
    ih_bench_conn_t *c = n->c;
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    while (true) {
        long len = s_line (c, deadline);
        if (len <= 0)
            return (int) (len < 0 ? -1 : 0);
        char *line = (char *) c->in + c->in_pos;
        if (len >= 4 && (strncmp (line, "MSG ", 4) == 0 || strncmp (line, "HMSG ", 5) == 0)) {
            bool hmsg = line [0] == 'H';
            char args [600];
            snprintf (args, sizeof args, "%.*s", (int) len - (hmsg ? 5 : 4), line + (hmsg ? 5 : 4));
            char *w [6];
            int k = s_words (args, w, 6);
            //  MSG subject sid [reply] bytes; HMSG subject sid [reply] hdr_bytes bytes
            int base = hmsg ? 4 : 3;
            if (k != base && k != base + 1) {
                fprintf (stderr, "nats: bad line: %.*s\n", (int) (len > 200 ? 200 : len), line);
                return -1;
            }
            size_t total = (size_t) strtoull (w [k - 1], NULL, 10);
            size_t hdr = hmsg ? (size_t) strtoull (w [k - 2], NULL, 10) : 0;
            //  the payload and its CRLF, after the line
            size_t need = (size_t) len + 2 + total + 2;
            while (c->in_len - c->in_pos < need) {
                int64_t left = (deadline - ih_bench_now_ns ()) / 1000000;
                //  a message that has started is worth a second more
                if (left < 1000)
                    left = 1000;
                if (ih_bench_conn_fill (c, (int) left) <= 0) {
                    if (c->error [0] == 0)
                        snprintf (c->error, sizeof c->error, "a message stopped half-way");
                    return -1;
                }
            }
            line = (char *) c->in + c->in_pos;
            snprintf (m->sbuf, sizeof m->sbuf, "%s", w [0]);
            snprintf (m->rbuf, sizeof m->rbuf, "%s", k == base + 1 ? w [2] : "");
            m->subject = m->sbuf;
            m->sid = (unsigned) strtoul (w [1], NULL, 10);
            m->reply = m->rbuf;
            m->data = (const uint8_t *) line + len + 2;
            m->len = total;
            m->hdr_len = hdr;
            c->in_pos += need;
            return 1;
        }
        if (len == 4 && strncmp (line, "PING", 4) == 0) {
            c->in_pos += 6;
            if (ih_bench_conn_write (c, "PONG\r\n", 6) || ih_bench_conn_flush (c))
                return -1;
            continue;
        }
        if (len == 4 && strncmp (line, "PONG", 4) == 0) {
            c->in_pos += 6;
            n->pongs++;
            return 0;           //  for ih_bench_nats_ping, which counts them
        }
        if (len >= 4 && strncmp (line, "-ERR", 4) == 0) {
            snprintf (c->error, sizeof c->error, "%.*s", (int) len, line);
            fprintf (stderr, "nats: %s\n", c->error);
            c->in_pos += (size_t) len + 2;
            return -1;
        }
        //  +OK, INFO (cluster updates): nothing to do
        c->in_pos += (size_t) len + 2;
    }
}

int
ih_bench_nats_request (ih_bench_nats_t *n, const char *api, const char *json, const char *inbox,
                       char *out, size_t size, int timeout_ms)
{
    out [0] = 0;
    if (ih_bench_nats_pub (n, api, inbox, json, strlen (json)) || ih_bench_conn_flush (n->c))
        return -1;
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    while (true) {
        int left = (int) ((deadline - ih_bench_now_ns ()) / 1000000);
        ih_bench_nats_msg_t m;
        if (left <= 0 || ih_bench_nats_next (n, &m, left) <= 0) {
            snprintf (out, size, "no answer to %s within %d ms", api, timeout_ms);
            return -1;
        }
        if (strcmp (m.subject, inbox) != 0)
            continue;
        snprintf (out, size, "%.*s", (int) (m.len - m.hdr_len), (const char *) m.data + m.hdr_len);
        if (m.hdr_len || strstr (out, "\"error\""))
            return -1;
        return 0;
    }
}
