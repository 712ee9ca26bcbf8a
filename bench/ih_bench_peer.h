/*  ih_bench_peer.h: the peers `make bench` measures Infohub against, and minimal clients
    for them, so that the clients are C threads as cheap as the CURVE ones (bench kit,
    see ih_bench.h; not a library any program uses).

    Reading order, one file per job:
      ih_bench_tls.c     a TCP connection to 127.0.0.1 with buffered reads and writes, TLS
                         on it through OpenSSL (the server's certificate verified against
                         the one the bench made), and the certificate itself (openssl req)
      ih_bench_nats.c    a NATS client (the text protocol: INFO, CONNECT, PUB, SUB, MSG,
                         HMSG, PING/PONG) and the JetStream API calls the bench needs
      ih_bench_mqtt.c    an MQTT 3.1.1 client (CONNECT, SUBSCRIBE, PUBLISH at QoS 0 and 1,
                         PUBACK)
      ih_bench_fan.c     the peers' fan-out run: N subscriber threads that count and check
                         what they get, one publisher; the servers (nats-server, mosquitto)
                         started on loopback with a configuration the bench writes

    Errors: connection functions return -1 with a one-line message in the connection's
    error field; the run functions never die for a slow or lossy peer: they report what
    each subscriber got, and the caller prints "LOST n".

    Threads: a connection belongs to one thread at a time.

    Everything connects to and listens on 127.0.0.1 only.
*/
#ifndef IH_BENCH_PEER_H
#define IH_BENCH_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/ssl.h>

/* ---- connections (ih_bench_tls.c) --------------------------------------------------------- */

typedef struct {
    int fd;
    SSL *ssl;                       //  NULL: plain TCP
    uint8_t *in;                    //  received, not consumed: in [in_pos .. in_len)
    size_t in_pos, in_len, in_cap;
    uint8_t *out;                   //  written, not sent yet
    size_t out_len, out_cap;
    char error [256];
} ih_bench_conn_t;

/*  Makes WORK/tls-cert.pem and WORK/tls-key.pem (P-256, self-signed, CN and subjectAltName
    127.0.0.1, two days) with /usr/bin/openssl. Dies on failure. */
void ih_bench_tls_cert (const char *work);

/*  A client context that trusts only cafile (the bench's certificate) and checks the
    server's name against 127.0.0.1. Dies on failure. Freed with SSL_CTX_free. */
SSL_CTX *ih_bench_tls_ctx (const char *cafile);

/*  Connects to 127.0.0.1:port (TCP_NODELAY); NULL when it cannot (errno). */
ih_bench_conn_t *ih_bench_conn_new (int port);

/*  Runs the TLS handshake on c now. Returns 0, or -1 with c->error. */
int ih_bench_conn_tls (ih_bench_conn_t *c, SSL_CTX *ctx);

/*  Closes and frees; safe with *cp NULL and twice. */
void ih_bench_conn_destroy (ih_bench_conn_t **cp);

/*  Appends len bytes to what c will send, and sends once 64 KiB are waiting. Returns 0
    or -1 with c->error. */
int ih_bench_conn_write (ih_bench_conn_t *c, const void *data, size_t len);

/*  Sends everything waiting. Returns 0 or -1 with c->error. */
int ih_bench_conn_flush (ih_bench_conn_t *c);

/*  Waits up to timeout_ms for bytes and appends what came to c->in (compacting first).
    Returns the bytes read, 0 on timeout, -1 with c->error when the peer closed or on an
    error. */
int ih_bench_conn_fill (ih_bench_conn_t *c, int timeout_ms);

/* ---- NATS (ih_bench_nats.c) --------------------------------------------------------------- */

typedef struct {
    ih_bench_conn_t *c;
    uint64_t pongs;                 //  PONGs received since connect
    uint64_t pings_sent;
    char info [512];                //  the server's INFO line (cut)
} ih_bench_nats_t;

/*  One message: subject, reply (may be "") and payload point into the connection's
    buffer, valid until the next ih_bench_nats_next. hdr_len > 0 for HMSG (the headers
    lead the payload: a JetStream status, say "NATS/1.0 404"). */
typedef struct {
    const char *subject;
    const char *reply;
    const uint8_t *data;
    size_t len;
    size_t hdr_len;
    unsigned sid;                   //  the subscription it came by
    char sbuf [256], rbuf [256];
} ih_bench_nats_msg_t;

/*  Connects to nats-server on 127.0.0.1:port: INFO, TLS when ctx is not NULL, CONNECT
    (no echo, no verbose, headers on), PING/PONG. NULL with a message on stderr when it
    fails. Destroy with ih_bench_nats_destroy. */
ih_bench_nats_t *ih_bench_nats_connect (int port, SSL_CTX *ctx, const char *name);

void ih_bench_nats_destroy (ih_bench_nats_t **np);

/*  SUB subject [queue] sid. Buffered: flush or ping to send it. */
int ih_bench_nats_sub (ih_bench_nats_t *n, const char *subject, unsigned sid);

/*  PUB subject [reply] len payload (buffered). reply may be NULL. */
int ih_bench_nats_pub (ih_bench_nats_t *n, const char *subject, const char *reply,
                       const void *data, size_t len);

/*  Sends a PING (flushing what waits) and waits up to timeout_ms for its PONG, taking
    every MSG meanwhile as lost (only for set-up, when nothing else comes). Returns 0 or
    -1. */
int ih_bench_nats_ping (ih_bench_nats_t *n, int timeout_ms);

/*  The next MSG or HMSG, waiting up to timeout_ms: 1 and *m filled, 0 on timeout or right
    after a PONG (counted in pongs), -1 on an error or -ERR (on stderr). A PING is
    answered; +OK and INFO are skipped. */
int ih_bench_nats_next (ih_bench_nats_t *n, ih_bench_nats_msg_t *m, int timeout_ms);

/*  A JetStream API request: PUB api with reply inbox, then waits up to timeout_ms for the
    answer on that inbox (subscribed by the caller as sid). Copies the answer (cut) into
    out. Returns 0, or -1 when no answer came or it holds "error" (the answer in out). */
int ih_bench_nats_request (ih_bench_nats_t *n, const char *api, const char *json,
                           const char *inbox, char *out, size_t size, int timeout_ms);

/* ---- MQTT 3.1.1 (ih_bench_mqtt.c) --------------------------------------------------------- */

typedef struct {
    ih_bench_conn_t *c;
    uint16_t next_id;
} ih_bench_mqtt_t;

/*  One packet: type (the high nibble: 3 PUBLISH, 4 PUBACK, ...), the flags, and for a
    PUBLISH its topic, packet id and payload (pointers into the buffer, valid until the
    next call). */
typedef struct {
    int type, flags;
    uint16_t id;
    const uint8_t *topic;
    size_t topic_len;
    const uint8_t *data;
    size_t len;
} ih_bench_mqtt_pkt_t;

/*  Connects (TLS with ctx), CONNECT with a clean session and no keep-alive, CONNACK.
    NULL with a message on stderr when it fails. */
ih_bench_mqtt_t *ih_bench_mqtt_connect (int port, SSL_CTX *ctx, const char *client_id);

void ih_bench_mqtt_destroy (ih_bench_mqtt_t **mp);

/*  SUBSCRIBE topic at qos, and waits for its SUBACK. Returns 0 or -1. */
int ih_bench_mqtt_sub (ih_bench_mqtt_t *m, const char *topic, int qos, int timeout_ms);

/*  PUBLISH (buffered) at qos 0 or 1; for qos 1 the packet id is *id (0 picks the next). */
int ih_bench_mqtt_pub (ih_bench_mqtt_t *m, const char *topic, int qos, uint16_t id,
                       const void *data, size_t len);

/*  PUBACK id (buffered). */
int ih_bench_mqtt_puback (ih_bench_mqtt_t *m, uint16_t id);

/*  The next packet within timeout_ms: 1, 0 on timeout, -1 on error. */
int ih_bench_mqtt_next (ih_bench_mqtt_t *m, ih_bench_mqtt_pkt_t *p, int timeout_ms);

/* ---- the peers' fan-out, and their servers (ih_bench_fan.c) ------------------------------- */

typedef enum { IH_BENCH_NATS, IH_BENCH_MQTT0, IH_BENCH_MQTT1 } ih_bench_peer_t;

/*  What one fan-out run of a peer got. */
typedef struct {
    size_t subs;                    //  subscribers
    size_t msgs;                    //  published
    uint64_t received;              //  by all subscribers
    uint64_t lost;                  //  subs x msgs - received (0 when all arrived)
    uint64_t disorder;              //  messages out of order or undecodable
    double secs;                    //  first publish .. last subscriber complete
    double rate;                    //  deliveries/s (received / secs)
    double server_cpu;              //  s of CPU the server used meanwhile
    char note [512];                //  why something was lost (timeout, disconnect)
} ih_bench_fanres_t;

/*  One fan-out run: nsubs subscriber threads connect (TLS with ctx) and subscribe; then
    payloads [0..count) are published once each, in order, on one connection (QoS 1: up
    to inflight unacknowledged). Each payload must be an Infohub `publish` envelope: a
    subscriber decodes each (ih_env_decode) and checks that req is the one it expects, as
    the CURVE subscribers check seqs. Waits until every subscriber has everything, or
    until no subscriber got anything for idle_ms. server_pid: for the CPU time (0: none). */
void ih_bench_fan_run (ih_bench_peer_t kind, int port, SSL_CTX *ctx, size_t nsubs,
                       const uint8_t *const *payloads, const size_t *lens, size_t count,
                       size_t inflight, int idle_ms, pid_t server_pid, ih_bench_fanres_t *r);

/*  Starts nats-server (PATH or /usr/sbin) on 127.0.0.1 with TLS (WORK/tls-*.pem) and
    JetStream (file storage in WORK/jetstream), its configuration in WORK/nats.conf and its
    log in WORK/nats.log; waits until it answers. Returns its pid (watched: stopped at exit),
    *port set. Dies on failure. */
pid_t ih_bench_nats_start (const char *work, SSL_CTX *ctx, int *port);

/*  Starts mosquitto on 127.0.0.1 with TLS, no persistence, no queue limits (WORK/mosquitto.conf,
    log WORK/mosquitto.log); waits until a client connects. Returns its pid, *port set. */
pid_t ih_bench_mqtt_start (const char *work, SSL_CTX *ctx, int *port);

/*  The TLS version and cipher a connection to port negotiates ("TLSv1.3 TLS_AES_256_GCM_SHA384"),
    for the table's notes; "" when it cannot tell. kind: NATS or MQTT. */
void ih_bench_tls_describe (ih_bench_peer_t kind, int port, SSL_CTX *ctx, char *out, size_t size);

#endif
