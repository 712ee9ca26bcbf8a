/*  ih_bench_mqtt.c: a minimal MQTT 3.1.1 client for the bench: CONNECT (clean session, no
    keep-alive), SUBSCRIBE, PUBLISH at QoS 0 and 1, PUBACK. The contract is in
    ih_bench_peer.h.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_bench.h"
#include "ih_bench_peer.h"

//  The fixed header: type and flags, then the remaining length (1 to 4 bytes of 7 bits).
static size_t
s_header (uint8_t *p, int type_flags, size_t rem)
{
    size_t k = 0;
    p [k++] = (uint8_t) type_flags;
    do {
        uint8_t b = rem & 127;
        rem >>= 7;
        p [k++] = (uint8_t) (b | (rem ? 128 : 0));
    } while (rem);
    return k;
}

static size_t
s_str (uint8_t *p, const char *s)
{
    size_t l = strlen (s);
    p [0] = (uint8_t) (l >> 8);
    p [1] = (uint8_t) l;
    memcpy (p + 2, s, l);
    return l + 2;
}

ih_bench_mqtt_t *
ih_bench_mqtt_connect (int port, SSL_CTX *ctx, const char *client_id)
{
    ih_bench_conn_t *c = ih_bench_conn_new (port);
    if (!c) {
        fprintf (stderr, "mqtt: cannot connect to 127.0.0.1:%d\n", port);
        return NULL;
    }
    ih_bench_mqtt_t *m = calloc (1, sizeof *m);
    if (!m)
        abort ();
    m->c = c;
    m->next_id = 1;
    if (ctx && ih_bench_conn_tls (c, ctx)) {
        fprintf (stderr, "mqtt: %s\n", c->error);
        ih_bench_mqtt_destroy (&m);
        return NULL;
    }
    uint8_t body [256], pkt [300];
    size_t b = s_str (body, "MQTT");
    body [b++] = 4;             //  3.1.1
    body [b++] = 0x02;          //  clean session
    body [b++] = 0;             //  keep-alive 0: none
    body [b++] = 0;
    b += s_str (body + b, client_id);
    size_t h = s_header (pkt, 0x10, b);
    memcpy (pkt + h, body, b);
    ih_bench_mqtt_pkt_t p;
    if (ih_bench_conn_write (c, pkt, h + b) || ih_bench_conn_flush (c)
    ||  ih_bench_mqtt_next (m, &p, 5000) != 1 || p.type != 2 || p.len < 2 || p.data [1] != 0) {
        fprintf (stderr, "mqtt: CONNECT to 127.0.0.1:%d refused or unanswered %s\n", port, c->error);
        ih_bench_mqtt_destroy (&m);
        return NULL;
    }
    return m;
}

void
ih_bench_mqtt_destroy (ih_bench_mqtt_t **mp)
{
    if (!*mp)
        return;
    ih_bench_mqtt_t *m = *mp;
    if (m->c) {
        uint8_t disc [2] = { 0xe0, 0 };
        if (ih_bench_conn_write (m->c, disc, 2) == 0)
            ih_bench_conn_flush (m->c);
    }
    ih_bench_conn_destroy (&m->c);
    free (m);
    *mp = NULL;
}

int
ih_bench_mqtt_sub (ih_bench_mqtt_t *m, const char *topic, int qos, int timeout_ms)
{
    uint8_t body [300], pkt [320];
    size_t b = 0;
    uint16_t id = m->next_id++;
    body [b++] = (uint8_t) (id >> 8);
    body [b++] = (uint8_t) id;
    b += s_str (body + b, topic);
    body [b++] = (uint8_t) qos;
    size_t h = s_header (pkt, 0x82, b);
    memcpy (pkt + h, body, b);
    if (ih_bench_conn_write (m->c, pkt, h + b) || ih_bench_conn_flush (m->c))
        return -1;
    ih_bench_mqtt_pkt_t p;
    if (ih_bench_mqtt_next (m, &p, timeout_ms) != 1 || p.type != 9 || p.len < 3 || p.data [2] > 2)
        return -1;
    return 0;
}

int
ih_bench_mqtt_pub (ih_bench_mqtt_t *m, const char *topic, int qos, uint16_t id, const void *data,
                   size_t len)
{
    uint8_t head [400];
    size_t tl = strlen (topic);
    size_t rem = 2 + tl + (qos ? 2 : 0) + len;
    size_t h = s_header (head, 0x30 | (qos ? 0x02 : 0), rem);
    h += s_str (head + h, topic);
    if (qos) {
        if (id == 0) {
            id = m->next_id++;
            if (m->next_id == 0)
                m->next_id = 1;
        }
        head [h++] = (uint8_t) (id >> 8);
        head [h++] = (uint8_t) id;
    }
    if (ih_bench_conn_write (m->c, head, h) || ih_bench_conn_write (m->c, data, len))
        return -1;
    return 0;
}

int
ih_bench_mqtt_puback (ih_bench_mqtt_t *m, uint16_t id)
{
    uint8_t p [4] = { 0x40, 2, (uint8_t) (id >> 8), (uint8_t) id };
    return ih_bench_conn_write (m->c, p, 4);
}

int
ih_bench_mqtt_next (ih_bench_mqtt_t *m, ih_bench_mqtt_pkt_t *p, int timeout_ms)
{
    ih_bench_conn_t *c = m->c;
    int64_t deadline = ih_bench_now_ns () + (int64_t) timeout_ms * 1000000;
    while (true) {
        size_t avail = c->in_len - c->in_pos;
        const uint8_t *q = c->in + c->in_pos;
        if (avail >= 2) {
            size_t rem = 0, k = 1;
            int shift = 0;
            bool whole = false;
            while (k < avail && k <= 4) {
                rem |= (size_t) (q [k] & 127) << shift;
                shift += 7;
                if (!(q [k++] & 128)) {
                    whole = true;
                    break;
                }
            }
            if (!whole && k > 4) {
                snprintf (c->error, sizeof c->error, "bad remaining length");
                return -1;
            }
            if (whole && avail >= k + rem) {
                memset (p, 0, sizeof *p);
                p->type = q [0] >> 4;
                p->flags = q [0] & 15;
                const uint8_t *body = q + k;
                p->data = body;
                p->len = rem;
                if (p->type == 3 && rem >= 2) {
                    size_t tl = (size_t) body [0] << 8 | body [1];
                    size_t off = 2 + tl;
                    int qos = (p->flags >> 1) & 3;
                    if (qos && off + 2 <= rem) {
                        p->id = (uint16_t) (body [off] << 8 | body [off + 1]);
                        off += 2;
                    }
                    if (off > rem) {
                        snprintf (c->error, sizeof c->error, "bad PUBLISH");
                        return -1;
                    }
                    p->topic = body + 2;
                    p->topic_len = tl;
                    p->data = body + off;
                    p->len = rem - off;
                }
                else
                if (p->type == 4 && rem >= 2)
                    p->id = (uint16_t) (body [0] << 8 | body [1]);
                c->in_pos += k + rem;
                return 1;
            }
        }
        int64_t left = (deadline - ih_bench_now_ns ()) / 1000000;
        if (left <= 0)
            return 0;
        if (ih_bench_conn_fill (c, (int) left) < 0)
            return -1;
    }
}
