/*  ih_bench_fan.c: the peers' fan-out run (N subscriber threads that count and check what
    they get, one publisher thread), and the peers' servers started on loopback.
    The contract is in ih_bench_peer.h.
*/
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ih_bench.h"
#include "ih_bench_peer.h"

#define s_TOPIC     "bench.fan"

/* ---- subscribers --------------------------------------------------------------------------- */
typedef struct {
    ih_bench_peer_t kind;
    ih_bench_nats_t *nats;
    ih_bench_mqtt_t *mqtt;
    size_t count;
    volatile uint64_t got;          //  read by the main thread while it runs
    uint64_t disorder;
    uint64_t expect;                //  the next req
    volatile int *stop;
    char note [512];
} s_sub_t;

//  Counts one payload: an Infohub publish envelope whose req must be the next expected.
static void
s_count (s_sub_t *s, const uint8_t *data, size_t len)
{
    ih_env_t e;
    ih_err_t err;
    if (ih_env_decode (&e, data, len, &err) != 0)
        s->disorder++;
    else {
        if (e.req != s->expect)
            s->disorder++;
        s->expect = e.req + 1;
        ih_env_free (&e);
    }
    s->got++;
}

static void *
s_sub_thread (void *arg)
{
    s_sub_t *s = (s_sub_t *) arg;
    while (s->got < s->count && !*s->stop) {
        if (s->kind == IH_BENCH_NATS) {
            ih_bench_nats_msg_t m;
            int rc = ih_bench_nats_next (s->nats, &m, 100);
            if (rc < 0) {
                snprintf (s->note, sizeof s->note, "subscriber: %s", s->nats->c->error);
                break;
            }
            if (rc == 1)
                s_count (s, m.data + m.hdr_len, m.len - m.hdr_len);
        }
        else {
            ih_bench_mqtt_pkt_t p;
            int rc = ih_bench_mqtt_next (s->mqtt, &p, 100);
            if (rc < 0) {
                snprintf (s->note, sizeof s->note, "subscriber: %s", s->mqtt->c->error);
                break;
            }
            if (rc == 1 && p.type == 3) {
                s_count (s, p.data, p.len);
                if (((p.flags >> 1) & 3) && ih_bench_mqtt_puback (s->mqtt, p.id))
                    break;
            }
            //  acknowledge in bursts: once what has arrived is consumed
            ih_bench_conn_t *c = s->mqtt->c;
            if (c->out_len && (rc == 0 || c->in_pos == c->in_len) && ih_bench_conn_flush (c))
                break;
        }
    }
    return NULL;
}

/* ---- the publisher ------------------------------------------------------------------------- */
typedef struct {
    ih_bench_peer_t kind;
    ih_bench_nats_t *nats;
    ih_bench_mqtt_t *mqtt;
    const uint8_t *const *payloads;
    const size_t *lens;
    size_t count, inflight;
    int64_t t_first;
    int rc;
    char note [512];
} s_pub_t;

static void *
s_pub_thread (void *arg)
{
    s_pub_t *p = (s_pub_t *) arg;
    p->t_first = ih_bench_now_ns ();
    if (p->kind == IH_BENCH_NATS) {
        for (size_t i = 0; i < p->count && p->rc == 0; i++)
            p->rc = ih_bench_nats_pub (p->nats, s_TOPIC, NULL, p->payloads [i], p->lens [i]);
        //  the server has taken everything once it answers a PING sent after it
        if (p->rc == 0)
            p->rc = ih_bench_nats_ping (p->nats, IH_BENCH_PHASE_TIMEOUT * 1000);
        if (p->rc)
            snprintf (p->note, sizeof p->note, "publisher: %s", p->nats->c->error);
        return NULL;
    }
    int qos = p->kind == IH_BENCH_MQTT1 ? 1 : 0;
    size_t acked = 0;
    int64_t deadline = ih_bench_now_ns () + (int64_t) IH_BENCH_PHASE_TIMEOUT * 1000000000LL;
    for (size_t i = 0; i < p->count && p->rc == 0; i++) {
        p->rc = ih_bench_mqtt_pub (p->mqtt, s_TOPIC, qos, 0, p->payloads [i], p->lens [i]);
        while (p->rc == 0 && qos && i + 1 - acked >= p->inflight) {
            if (ih_bench_conn_flush (p->mqtt->c) || ih_bench_now_ns () > deadline) {
                p->rc = -1;
                break;
            }
            ih_bench_mqtt_pkt_t k;
            int rc = ih_bench_mqtt_next (p->mqtt, &k, 100);
            if (rc < 0)
                p->rc = -1;
            else
            if (rc == 1 && k.type == 4)
                acked++;
        }
    }
    if (p->rc == 0)
        p->rc = ih_bench_conn_flush (p->mqtt->c);
    while (p->rc == 0 && qos && acked < p->count) {
        ih_bench_mqtt_pkt_t k;
        int rc = ih_bench_mqtt_next (p->mqtt, &k, 100);
        if (rc < 0 || ih_bench_now_ns () > deadline)
            p->rc = -1;
        else
        if (rc == 1 && k.type == 4)
            acked++;
    }
    if (p->rc)
        snprintf (p->note, sizeof p->note, "publisher: %s (%zu acknowledged)",
                  p->mqtt->c->error [0] ? p->mqtt->c->error : "timeout", acked);
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------- */
void
ih_bench_fan_run (ih_bench_peer_t kind, int port, SSL_CTX *ctx, size_t nsubs,
                  const uint8_t *const *payloads, const size_t *lens, size_t count, size_t inflight,
                  int idle_ms, pid_t server_pid, ih_bench_fanres_t *r)
{
    memset (r, 0, sizeof *r);
    r->subs = nsubs;
    r->msgs = count;
    volatile int stop = 0;
    s_sub_t *subs = calloc (nsubs, sizeof *subs);
    pthread_t *tids = calloc (nsubs, sizeof *tids);
    if (!subs || !tids)
        abort ();
    int qos = kind == IH_BENCH_MQTT1 ? 1 : 0;
    for (size_t i = 0; i < nsubs; i++) {
        s_sub_t *s = &subs [i];
        s->kind = kind;
        s->count = count;
        s->expect = 1;
        s->stop = &stop;
        char name [32];
        snprintf (name, sizeof name, "bench-sub-%zu", i);
        if (kind == IH_BENCH_NATS) {
            if (!(s->nats = ih_bench_nats_connect (port, ctx, name))
            ||  ih_bench_nats_sub (s->nats, s_TOPIC, 1) || ih_bench_nats_ping (s->nats, 5000))
                ih_bench_die ("nats subscriber %zu could not subscribe", i);
        }
        else
        if (!(s->mqtt = ih_bench_mqtt_connect (port, ctx, name))
        ||  ih_bench_mqtt_sub (s->mqtt, s_TOPIC, qos, 5000))
            ih_bench_die ("mqtt subscriber %zu could not subscribe", i);
    }
    s_pub_t pub = { .kind = kind, .payloads = payloads, .lens = lens, .count = count,
                    .inflight = inflight ? inflight : 1 };
    if (kind == IH_BENCH_NATS)
        pub.nats = ih_bench_nats_connect (port, ctx, "bench-pub");
    else
        pub.mqtt = ih_bench_mqtt_connect (port, ctx, "bench-pub");
    if (!pub.nats && !pub.mqtt)
        ih_bench_die ("the publisher could not connect to 127.0.0.1:%d", port);
    for (size_t i = 0; i < nsubs; i++)
        if (pthread_create (&tids [i], NULL, s_sub_thread, &subs [i]))
            ih_bench_die ("cannot start a thread");
    double cpu0 = server_pid > 0 ? ih_bench_proc_cpu (server_pid) : 0;
    pthread_t pt;
    if (pthread_create (&pt, NULL, s_pub_thread, &pub))
        ih_bench_die ("cannot start a thread");
    //  Watch: done when every subscriber has everything; given up when nothing moved for
    //  idle_ms, or after the phase timeout
    uint64_t want = (uint64_t) count * nsubs, last = 0;
    int64_t moved = ih_bench_now_ns (), t_done = 0;
    int64_t deadline = moved + (int64_t) IH_BENCH_PHASE_TIMEOUT * 1000000000LL;
    while (true) {
        uint64_t got = 0;
        for (size_t i = 0; i < nsubs; i++)
            got += subs [i].got;
        int64_t now = ih_bench_now_ns ();
        if (got >= want) {
            t_done = now;
            break;
        }
        if (got != last) {
            last = got;
            moved = now;
        }
        if (now - moved > (int64_t) idle_ms * 1000000 || now > deadline) {
            snprintf (r->note, sizeof r->note, "%s after %.1f s", now > deadline ? "timeout"
                      : "nothing more arrived", (double) (now - pub.t_first) / 1e9);
            t_done = moved;
            break;
        }
        usleep (got > want / 2 ? 200 : 1000);
    }
    stop = 1;
    pthread_join (pt, NULL);
    for (size_t i = 0; i < nsubs; i++)
        pthread_join (tids [i], NULL);
    r->server_cpu = server_pid > 0 ? ih_bench_proc_cpu (server_pid) - cpu0 : 0;
    for (size_t i = 0; i < nsubs; i++) {
        r->received += subs [i].got;
        r->disorder += subs [i].disorder;
        if (subs [i].note [0] && !r->note [0])
            snprintf (r->note, sizeof r->note, "%s", subs [i].note);
        ih_bench_nats_destroy (&subs [i].nats);
        ih_bench_mqtt_destroy (&subs [i].mqtt);
    }
    if (pub.note [0] && !r->note [0])
        snprintf (r->note, sizeof r->note, "%s", pub.note);
    ih_bench_nats_destroy (&pub.nats);
    ih_bench_mqtt_destroy (&pub.mqtt);
    r->lost = want > r->received ? want - r->received : 0;
    r->secs = (double) (t_done - pub.t_first) / 1e9;
    r->rate = r->secs > 0 ? (double) r->received / r->secs : 0;
    free (subs);
    free (tids);
}

/* ---- servers ------------------------------------------------------------------------------- */
static const char *
s_find (const char *name, char *out, size_t size)
{
    const char *dirs [] = { "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs [0]; i++) {
        snprintf (out, size, "%s/%s", dirs [i], name);
        if (access (out, X_OK) == 0)
            return out;
    }
    ih_bench_die ("%s is not installed (make deps: tests/deps.sh installs it)", name);
}

static void
s_write_file (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    if (!f || fputs (text, f) < 0 || fclose (f) != 0)
        ih_bench_die ("cannot write %s: %s", path, strerror (errno));
}

pid_t
ih_bench_nats_start (const char *work, SSL_CTX *ctx, int *port)
{
    char exe [256], conf [4200], log [4200], js [4200], text [16384];
    s_find ("nats-server", exe, sizeof exe);
    *port = ih_bench_free_port ();
    snprintf (conf, sizeof conf, "%s/nats.conf", work);
    snprintf (log, sizeof log, "%s/nats.log", work);
    snprintf (js, sizeof js, "%s/jetstream", work);
    mkdir (js, 0700);
    //  Slow subscribers are the bench's to count, not the server's to cut off: generous
    //  pending and write deadline, so that a loss means the server dropped something.
    snprintf (text, sizeof text,
              "listen: \"127.0.0.1:%d\"\n"
              "tls {\n  cert_file: \"%s/tls-cert.pem\"\n  key_file: \"%s/tls-key.pem\"\n  timeout: 5\n}\n"
              "max_payload: 1048576\nmax_pending: 1073741824\nwrite_deadline: \"60s\"\n"
              "jetstream {\n  store_dir: \"%s\"\n  max_memory_store: 268435456\n"
              "  max_file_store: 17179869184\n}\n", *port, work, work, js);
    s_write_file (conf, text);
    char *argv [] = { exe, "-c", conf, NULL };
    pid_t pid = ih_bench_start (argv, log, SIGTERM, 5000);
    for (int i = 0; i < 100; i++) {
        usleep (100 * 1000);
        ih_bench_nats_t *n = ih_bench_nats_connect (*port, ctx, "bench-probe");
        if (n) {
            ih_bench_nats_destroy (&n);
            return pid;
        }
    }
    ih_bench_die ("nats-server did not answer on 127.0.0.1:%d (see %s)", *port, log);
}

pid_t
ih_bench_mqtt_start (const char *work, SSL_CTX *ctx, int *port)
{
    char exe [256], conf [4200], log [4200], text [16384];
    s_find ("mosquitto", exe, sizeof exe);
    *port = ih_bench_free_port ();
    snprintf (conf, sizeof conf, "%s/mosquitto.conf", work);
    snprintf (log, sizeof log, "%s/mosquitto.log", work);
    //  No persistence and no queue limits, so that the broker queues rather than drops;
    //  1,000 QoS 1 messages in flight per client, as Infohub's window. Run as root, it
    //  would switch to the user "mosquitto", which cannot read our 0700 work directory.
    snprintf (text, sizeof text,
              "user %s\n"
              "per_listener_settings false\n"
              "allow_anonymous true\n"
              "persistence false\n"
              "max_inflight_messages 1000\n"
              "max_queued_messages 0\n"
              "max_queued_bytes 0\n"
              "set_tcp_nodelay true\n"
              "log_dest stderr\n"
              "log_type error\nlog_type warning\n"
              "listener %d 127.0.0.1\n"
              "certfile %s/tls-cert.pem\nkeyfile %s/tls-key.pem\n",
              getuid () == 0 ? "root" : "mosquitto", *port, work, work);
    s_write_file (conf, text);
    char *argv [] = { exe, "-c", conf, NULL };
    pid_t pid = ih_bench_start (argv, log, SIGTERM, 5000);
    for (int i = 0; i < 100; i++) {
        usleep (100 * 1000);
        ih_bench_mqtt_t *m = ih_bench_mqtt_connect (*port, ctx, "bench-probe");
        if (m) {
            ih_bench_mqtt_destroy (&m);
            return pid;
        }
    }
    ih_bench_die ("mosquitto did not answer on 127.0.0.1:%d (see %s)", *port, log);
}

void
ih_bench_tls_describe (ih_bench_peer_t kind, int port, SSL_CTX *ctx, char *out, size_t size)
{
    out [0] = 0;
    if (kind == IH_BENCH_NATS) {
        ih_bench_nats_t *n = ih_bench_nats_connect (port, ctx, "bench-probe");
        if (n && n->c->ssl)
            snprintf (out, size, "%s %s", SSL_get_version (n->c->ssl), SSL_get_cipher_name (n->c->ssl));
        ih_bench_nats_destroy (&n);
    }
    else {
        ih_bench_mqtt_t *m = ih_bench_mqtt_connect (port, ctx, "bench-probe");
        if (m && m->c->ssl)
            snprintf (out, size, "%s %s", SSL_get_version (m->c->ssl), SSL_get_cipher_name (m->c->ssl));
        ih_bench_mqtt_destroy (&m);
    }
}
