/*  ih_client.c: a member's DEALER connection to the broker, with the session logic
    (hello, ping, liveness, reconnect with backoff) and delivered-item verification.

    The socket is libzmq's, reached through czmq's zsock; frames are received as
    zmq_msg_t so that a decoded envelope's borrowed pointers can point straight into the
    frame, which the client keeps until the next receive.
*/
#include <string.h>
#include <errno.h>
#include <sodium.h>

#include "ih_client.h"
#include "ih_log.h"
#include "ih_sign.h"

#define s_BACKOFF_MIN   100
#define s_BACKOFF_MAX   5000

typedef enum { s_DOWN, s_HELLO_SENT, s_ACTIVE } s_state_t;

struct ih_client {
    char *endpoint;
    char broker_key [41];
    zcert_t *cert;
    char log_name [32];
    char agent [65];
    bool quiet;
    int64_t refused_ms;         /* ih_client_refused: how long before an unknown key is final */

    zsock_t *sock;              /* DEALER, NULL while down */
    zsock_t *mon;               /* PAIR receiving the socket monitor's events */
    zsock_t *wake;              /* the caller's socket: input on it ends a wait (borrowed) */
    unsigned mon_gen;           /* makes each monitor endpoint unique */

    zmq_msg_t frame;            /* the last frame received (env points into it) */
    bool frame_live;
    ih_env_t env;
    bool env_live;

    uint64_t next_req;

    /* session */
    bool subscribed;
    ih_client_hello_t hello;
    s_state_t state;
    uint32_t heartbeat;
    uint64_t head;
    uint64_t owed;              /* what the broker owes us: welcome, pong, deliveries */
    uint64_t cursor;
    uint64_t ack_pending;       /* an ack that could not be sent yet, 0 = none */
    int64_t last_rx;            /* last time anything arrived (or the connect) */
    int64_t next_ping;
    int64_t reconnect_at;
    int backoff;
    bool auth_failed;           /* the broker's ZAP refused our key (monitor) */

    /* refusals since the last welcome (ih_client_refused) */
    ih_client_refusal_t refusal;    /* the verdict, once final */
    char refusal_reason [256];
    int64_t refused_first;          /* first "not registered" (mono ms), 0 = none */
    int64_t refused_logged;         /* when a refusal was last logged */
};

/* ---- logging ------------------------------------------------------------------------- */

static void
s_log (ih_client_t *self, char level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
s_log (ih_client_t *self, char level, const char *fmt, ...)
{
    if (self->quiet)
        return;                 //  a command-line tool reports the error it gets back
    va_list args;
    va_start (args, fmt);
    ih_logv (level, self->log_name, fmt, args);
    va_end (args);
}

/* ---- socket -------------------------------------------------------------------------- */

static void
s_release_frame (ih_client_t *self)
{
    if (self->env_live) {
        ih_env_free (&self->env);
        self->env_live = false;
    }
    if (self->frame_live) {
        zmq_msg_close (&self->frame);
        self->frame_live = false;
    }
}

static void
s_close (ih_client_t *self)
{
    s_release_frame (self);
    if (self->mon) {
        if (self->sock)
            zmq_socket_monitor (zsock_resolve (self->sock), NULL, 0);
        zsock_destroy (&self->mon);
    }
    zsock_destroy (&self->sock);
    self->state = s_DOWN;
}

static int
s_open (ih_client_t *self, ih_err_t *err)
{
    assert (!self->sock);
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return ih_err_set (err, "cannot create a ZeroMQ socket: %s", zmq_strerror (zmq_errno ()));
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, self->broker_key);
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, IH_MAX_FRAME);
    zsock_set_heartbeat_ivl (sock, (int) self->heartbeat);
    zsock_set_heartbeat_timeout (sock, (int) self->heartbeat * 3);
    zsock_set_reconnect_ivl (sock, s_BACKOFF_MIN);
    zsock_set_reconnect_ivl_max (sock, s_BACKOFF_MAX);
    zsock_set_sndhwm (sock, 10000);
    zsock_set_rcvhwm (sock, 10000);

    //  The monitor tells us when the broker refuses our key: without it a refused CURVE
    //  client sees nothing at all.
    char mon_ep [96];
    snprintf (mon_ep, sizeof mon_ep, "inproc://ih-client-mon-%p-%u", (void *) self, self->mon_gen++);
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (zmq_socket_monitor (zsock_resolve (sock), mon_ep, events) == 0) {
        self->mon = zsock_new (ZMQ_PAIR);
        if (self->mon && zsock_connect (self->mon, "%s", mon_ep) != 0)
            zsock_destroy (&self->mon);
        if (!self->mon)
            zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
    }
    if (zsock_connect (sock, "%s", self->endpoint) != 0) {
        int e = zmq_errno ();
        if (self->mon) {
            zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
            zsock_destroy (&self->mon);
        }
        zsock_destroy (&sock);
        return ih_err_set (err, "cannot connect to %s: %s", self->endpoint, zmq_strerror (e));
    }
    self->sock = sock;
    self->auth_failed = false;
    return 0;
}

/*  Encodes and sends one envelope without blocking. */
static int
s_send (ih_client_t *self, const ih_env_t *e, ih_err_t *err)
{
    if (!self->sock)
        return ih_err_set (err, "not connected");
    ih_buf_t buf;
    ih_buf_init (&buf);
    if (ih_env_encode (e, &buf, err) != 0) {
        ih_buf_free (&buf);
        return -1;
    }
    int rc = zmq_send (zsock_resolve (self->sock), buf.data, buf.len, ZMQ_DONTWAIT);
    ih_buf_free (&buf);
    if (rc < 0)
        return ih_err_set (err, "cannot send %s: %s", ih_type_name (e->type), zmq_strerror (zmq_errno ()));
    return 0;
}

static int
s_send_simple (ih_client_t *self, ih_type_t type, ih_err_t *err)
{
    ih_env_t e;
    ih_env_init (&e, type);
    int rc = s_send (self, &e, err);
    ih_env_free (&e);
    return rc;
}

static int
s_send_hello (ih_client_t *self, ih_err_t *err)
{
    ih_env_t e;
    ih_env_init (&e, IH_T_HELLO);
    e.cursor = self->cursor;
    e.window = self->hello.window;
    e.min_severity = self->hello.min_severity;
    e.categories = self->hello.categories;
    e.sectors = self->hello.sectors;
    e.agent = self->agent;
    int rc = s_send (self, &e, err);
    //  The lists are borrowed from self->hello: do not let ih_env_free see them.
    memset (&e.categories, 0, sizeof e.categories);
    memset (&e.sectors, 0, sizeof e.sectors);
    ih_env_free (&e);
    if (rc == 0) {
        self->state = s_HELLO_SENT;
        self->ack_pending = 0;
    }
    return rc;
}

static int
s_send_ack (ih_client_t *self, uint64_t seq, ih_err_t *err)
{
    ih_env_t e;
    ih_env_init (&e, IH_T_ACK);
    e.seq = seq;
    int rc = s_send (self, &e, err);
    ih_env_free (&e);
    return rc;
}

/*  The broker refused us: revoked (`error revoked`: final at once), or our key is not
    registered (`error not-registered`, or the ZAP handler refused it at the handshake:
    final when it still does refused_ms (IH_CLIENT_REFUSED_MS) after the first time, so that a member
    enrolled a moment ago is not given up on before the broker has read its registry). */
static void
s_refused (ih_client_t *self, bool revoked, const char *reason)
{
    int64_t now = zclock_mono ();
    if (revoked) {
        self->refusal = IH_CLIENT_REVOKED;
        snprintf (self->refusal_reason, sizeof self->refusal_reason, "%s", reason);
        return;
    }
    if (!self->refused_first) {
        self->refused_first = now;
        self->refused_logged = now;
        s_log (self, 'E', "broker %s: %s; retrying", self->endpoint, reason);
    }
    else
    if (now - self->refused_logged >= 60000) {
        self->refused_logged = now;
        s_log (self, 'W', "broker %s still refuses us after %" PRId64 " s: %s", self->endpoint,
               (now - self->refused_first) / 1000, reason);
    }
    if (self->refusal == IH_CLIENT_ADMITTED && now - self->refused_first >= self->refused_ms) {
        self->refusal = IH_CLIENT_NOT_REGISTERED;
        snprintf (self->refusal_reason, sizeof self->refusal_reason, "%s (for %" PRId64 " s)",
                  reason, (now - self->refused_first) / 1000);
    }
}

/*  Drains the monitor; logs handshake results. */
static void
s_check_monitor (ih_client_t *self)
{
    while (self->mon) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, zsock_resolve (self->mon), ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&m) >= 6) {
            const uint8_t *d = (const uint8_t *) zmq_msg_data (&m);
            memcpy (&event, d, 2);
            memcpy (&value, d + 2, 4);
        }
        bool more = zmq_msg_more (&m);
        zmq_msg_close (&m);
        while (more) {         //  second frame: the endpoint
            zmq_msg_t m2;
            zmq_msg_init (&m2);
            if (zmq_msg_recv (&m2, zsock_resolve (self->mon), 0) < 0) {
                zmq_msg_close (&m2);
                break;
            }
            more = zmq_msg_more (&m2);
            zmq_msg_close (&m2);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            //  ZAP says 400 for an unknown key and for a revoked one alike: which it is
            //  cannot be told here. Logged once (and every minute) by s_refused.
            char why [96];
            snprintf (why, sizeof why, "it refused our CURVE key at the handshake (status %u): "
                      "not registered, or revoked", value);
            self->auth_failed = true;
            s_refused (self, false, why);
        }
        else
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            if (!self->auth_failed)
                s_log (self, 'W', "CURVE handshake with %s failed (wrong broker key?)", self->endpoint);
            self->auth_failed = true;
        }
        else
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            self->auth_failed = false;
    }
}

/*  Receives one frame (non-blocking) and decodes it into self->env. Returns 1, 0 when
    there was nothing, -1 on a bad frame. */
static int
s_recv_frame (ih_client_t *self, ih_err_t *err)
{
    s_release_frame (self);
    zmq_msg_init (&self->frame);
    self->frame_live = true;
    void *handle = zsock_resolve (self->sock);
    if (zmq_msg_recv (&self->frame, handle, ZMQ_DONTWAIT) < 0) {
        s_release_frame (self);
        return 0;
    }
    self->last_rx = zclock_mono ();
    if (zmq_msg_more (&self->frame)) {
        //  Protocol says one frame; drain the rest and drop the whole message.
        bool more = true;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init (&m);
            if (zmq_msg_recv (&m, handle, 0) < 0) {
                zmq_msg_close (&m);
                break;
            }
            more = zmq_msg_more (&m);
            zmq_msg_close (&m);
        }
        s_release_frame (self);
        return ih_err_set (err, "broker sent a multi-frame message");
    }
    if (ih_env_decode (&self->env, (const uint8_t *) zmq_msg_data (&self->frame),
                       zmq_msg_size (&self->frame), err) != 0) {
        self->env_live = true;      //  decode initialised it
        s_release_frame (self);
        return -1;
    }
    self->env_live = true;
    return 1;
}

/*  Waits for something readable on the socket or monitor until deadline (monotonic ms).
    Returns 1 when the socket is readable, 0 otherwise (timeout, EINTR, monitor only, or
    input on the caller's wake socket, which *woken then says; woken NULL: the wake socket
    is not watched). */
static int
s_wait_woken (ih_client_t *self, int64_t deadline, bool *woken)
{
    int64_t now = zclock_mono ();
    long timeout = deadline > now ? (long) (deadline - now) : 0;
    zmq_pollitem_t items [3];
    int n = 0;
    bool watch = woken && self->wake;
    if (woken)
        *woken = false;
    if (watch) {
        items [n].socket = zsock_resolve (self->wake);
        items [n].fd = 0;
        items [n].events = ZMQ_POLLIN;
        items [n].revents = 0;
        n++;
    }
    int first = n;
    if (self->sock) {
        items [n].socket = zsock_resolve (self->sock);
        items [n].fd = 0;
        items [n].events = ZMQ_POLLIN;
        items [n].revents = 0;
        n++;
    }
    if (self->mon) {
        items [n].socket = zsock_resolve (self->mon);
        items [n].fd = 0;
        items [n].events = ZMQ_POLLIN;
        items [n].revents = 0;
        n++;
    }
    if (n == 0) {
        if (timeout > 0)
            zclock_sleep ((int) timeout);   //  interrupted sleeps return early too
        return 0;
    }
    int rc = zmq_poll (items, n, timeout);
    if (rc <= 0)
        return 0;
    if (watch && (items [0].revents & ZMQ_POLLIN))
        *woken = true;
    if (self->mon && n > first && (items [n - 1].revents & ZMQ_POLLIN))
        s_check_monitor (self);
    return self->sock && n > first && (items [first].revents & ZMQ_POLLIN) ? 1 : 0;
}

static int
s_wait (ih_client_t *self, int64_t deadline)
{
    return s_wait_woken (self, deadline, NULL);
}

/* ---- construction -------------------------------------------------------------------- */

ih_client_t *
ih_client_new (const ih_client_cfg_t *cfg, ih_err_t *err)
{
    if (!cfg || !cfg->endpoint || !*cfg->endpoint) {
        ih_err_set (err, "broker endpoint: missing");
        return NULL;
    }
    if (!cfg->broker_key || strlen (cfg->broker_key) != 40) {
        ih_err_set (err, "broker public key: expected 40 Z85 characters");
        return NULL;
    }
    uint8_t probe [32];
    if (!zmq_z85_decode (probe, cfg->broker_key)) {
        ih_err_set (err, "broker public key: not valid Z85");
        return NULL;
    }
    if (!cfg->cert) {
        ih_err_set (err, "CURVE certificate: missing");
        return NULL;
    }
    ih_client_t *self = (ih_client_t *) calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->endpoint = strdup (cfg->endpoint);
    if (!self->endpoint)
        abort ();
    memcpy (self->broker_key, cfg->broker_key, 41);
    self->cert = zcert_dup (cfg->cert);
    snprintf (self->log_name, sizeof self->log_name, "%s", cfg->log_name ? cfg->log_name : "client");
    snprintf (self->agent, sizeof self->agent, "%s", cfg->agent ? cfg->agent : self->log_name);
    self->quiet = cfg->quiet;
    self->refused_ms = IH_CLIENT_REFUSED_MS;
    self->heartbeat = cfg->heartbeat ? cfg->heartbeat : 1000;
    self->backoff = s_BACKOFF_MIN;
    self->next_req = 1;
    if (!self->cert || s_open (self, err) != 0) {
        if (!self->cert)
            ih_err_set (err, "CURVE certificate: cannot copy");
        ih_client_destroy (&self);
        return NULL;
    }
    self->last_rx = zclock_mono ();
    return self;
}

void
ih_client_destroy (ih_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_client_t *self = *self_p;
    if (self->sock && self->subscribed && self->state != s_DOWN
    &&  s_send_simple (self, IH_T_BYE, NULL) == 0)
        zsock_set_linger (self->sock, 200);     //  let the bye leave, briefly
    s_close (self);
    zcert_destroy (&self->cert);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

/* ---- request mode -------------------------------------------------------------------- */

int
ih_client_publish_send (ih_client_t *self, const uint8_t *body, size_t len, const uint8_t sig [64],
                        uint64_t *req_p, ih_err_t *err)
{
    if (!self->sock) {
        if (self->subscribed)
            return ih_err_set (err, "not connected to broker %s", self->endpoint);
        if (s_open (self, err) != 0)
            return -1;
    }
    uint64_t req = self->next_req++;
    ih_env_t e;
    ih_env_init (&e, IH_T_PUBLISH);
    e.req = req;
    e.body = body;
    e.body_len = len;
    e.sig = sig;
    int rc = s_send (self, &e, err);
    ih_env_free (&e);
    if (rc == 0 && req_p)
        *req_p = req;
    return rc;
}

int
ih_client_roster (ih_client_t *self, ih_err_t *err)
{
    if (!self->sock)
        return ih_err_set (err, "not connected to broker %s", self->endpoint);
    return s_send_simple (self, IH_T_ROSTER, err);
}

void
ih_client_wake_on (ih_client_t *self, zsock_t *sock)
{
    self->wake = sock;
}

int
ih_client_publish_wait (ih_client_t *self, const uint8_t *body, size_t len,
                        const uint8_t sig [64], int timeout_ms, uint64_t *seq,
                        char *id, char *code, ih_err_t *err)
{
    uint64_t req = 0;
    if (ih_client_publish_send (self, body, len, sig, &req, err) != 0)
        return -1;

    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        int ready = s_wait (self, deadline);
        if (self->auth_failed)
            return ih_err_set (err, "broker %s refused our CURVE key (not registered, or revoked)",
                               self->endpoint);
        if (!ready) {
            if (zsys_interrupted)
                return ih_err_set (err, "interrupted");
            continue;
        }
        ih_err_t ferr = { "" };
        int got = s_recv_frame (self, &ferr);
        if (got < 0) {
            s_log (self, 'W', "bad frame from broker: %s", ferr.msg);
            continue;
        }
        if (got == 0)
            continue;
        const ih_env_t *r = &self->env;
        if (r->type == IH_T_OK && r->req == req) {
            if (seq)
                *seq = r->seq;
            if (id)
                snprintf (id, IH_UUID_LEN + 1, "%s", r->id);
            return 0;
        }
        if (r->type == IH_T_ERROR && (r->req == req || r->req == 0)) {
            if (code)
                snprintf (code, 32, "%s", r->code);
            ih_err_set (err, "%s", r->reason);
            return 1;
        }
        //  Anything else (a late answer to an earlier request) is not ours: ignore.
    }
    return ih_err_set (err, "no answer from broker %s within %d ms", self->endpoint, timeout_ms);
}

/* ---- session mode -------------------------------------------------------------------- */

int
ih_client_subscribe (ih_client_t *self, const ih_client_hello_t *hello, ih_err_t *err)
{
    self->hello = *hello;
    if (!self->hello.min_severity)
        self->hello.min_severity = "";
    if (self->hello.window == 0)
        self->hello.window = 1000;
    if (self->hello.window > 10000)
        return ih_err_set (err, "window: %u out of range (1..10000)", self->hello.window);
    self->cursor = hello->cursor;
    self->subscribed = true;
    if (!self->sock && s_open (self, err) != 0)
        return -1;
    self->last_rx = zclock_mono ();
    return s_send_hello (self, err);
}

void
ih_client_set_cursor (ih_client_t *self, uint64_t cursor)
{
    self->cursor = cursor;
}

int
ih_client_ack (ih_client_t *self, uint64_t seq, ih_err_t *err)
{
    self->cursor = seq;
    if (self->state == s_DOWN || !self->sock)
        return 0;               //  the next hello carries the cursor
    if (s_send_ack (self, seq, err) != 0) {
        self->ack_pending = seq;
        return -1;
    }
    self->ack_pending = 0;
    return 0;
}

void
ih_client_reset (ih_client_t *self, int delay_ms)
{
    s_close (self);
    self->reconnect_at = zclock_mono () + delay_ms;
}

/*  Housekeeping before waiting: reconnect when due, ping when due, give up on a silent
    broker. Returns the time by which it must run again. */
static int64_t
s_housekeeping (ih_client_t *self, int64_t deadline)
{
    int64_t now = zclock_mono ();
    if (!self->subscribed)
        return deadline;
    if (!self->sock) {
        if (now < self->reconnect_at)
            return self->reconnect_at < deadline ? self->reconnect_at : deadline;
        ih_err_t err = { "" };
        if (s_open (self, &err) != 0) {
            s_log (self, 'E', "%s; retrying in %d ms", err.msg, self->backoff);
            self->reconnect_at = now + self->backoff;
            self->backoff = self->backoff * 2 > s_BACKOFF_MAX ? s_BACKOFF_MAX : self->backoff * 2;
            return self->reconnect_at < deadline ? self->reconnect_at : deadline;
        }
        self->last_rx = now;
        if (s_send_hello (self, &err) != 0)
            s_log (self, 'W', "%s", err.msg);
        s_log (self, 'I', "connecting to %s from cursor %" PRIu64, self->endpoint, self->cursor);
    }
    int64_t silence = (int64_t) self->heartbeat * 3;
    if (now - self->last_rx > silence) {
        s_log (self, 'W', "no answer from broker %s for %" PRId64 " ms; reconnecting in %d ms",
               self->endpoint, now - self->last_rx, self->backoff);
        s_close (self);
        self->reconnect_at = now + self->backoff;
        self->backoff = self->backoff * 2 > s_BACKOFF_MAX ? s_BACKOFF_MAX : self->backoff * 2;
        return self->reconnect_at < deadline ? self->reconnect_at : deadline;
    }
    if (self->state == s_ACTIVE) {
        if (self->ack_pending) {
            if (s_send_ack (self, self->ack_pending, NULL) == 0)
                self->ack_pending = 0;
        }
        if (now >= self->next_ping) {
            ih_err_t err = { "" };
            if (s_send_simple (self, IH_T_PING, &err) != 0)
                s_log (self, 'W', "%s", err.msg);
            self->next_ping = now + self->heartbeat;
        }
    }
    int64_t next = self->last_rx + silence + 1;
    if (self->state == s_ACTIVE && self->next_ping < next)
        next = self->next_ping;
    return next < deadline ? next : deadline;
}

int
ih_client_recv (ih_client_t *self, ih_env_t **env_p, int timeout_ms, ih_err_t *err)
{
    *env_p = NULL;
    s_release_frame (self);
    int64_t deadline = zclock_mono () + (timeout_ms > 0 ? timeout_ms : 0);
    while (true) {
        int64_t wake = s_housekeeping (self, deadline);
        bool woken = false;
        int ready = s_wait_woken (self, wake, &woken);
        if (ready) {
            int got = s_recv_frame (self, err);
            if (got < 0)
                return -1;
            if (got > 0) {
                ih_env_t *e = &self->env;
                int64_t now = zclock_mono ();
                if (e->type == IH_T_WELCOME) {
                    self->state = s_ACTIVE;
                    self->refusal = IH_CLIENT_ADMITTED;
                    self->refused_first = 0;
                    self->heartbeat = e->heartbeat >= 100 && e->heartbeat <= 600000 ? e->heartbeat : 1000;
                    self->head = e->head;
                    self->owed = e->owed;
                    self->backoff = s_BACKOFF_MIN;
                    self->next_ping = now + self->heartbeat;
                }
                else
                if (e->type == IH_T_PONG) {
                    if (e->head > self->head)
                        self->head = e->head;
                    if (e->owed > self->owed)
                        self->owed = e->owed;
                }
                else
                if (e->type == IH_T_DELIVER && e->item_count) {
                    uint64_t last = e->items [e->item_count - 1].seq;
                    if (last > self->head)
                        self->head = last;
                    if (last > self->owed)
                        self->owed = last;      //  delivered, so owed
                }
                else
                if (e->type == IH_T_ERROR && self->subscribed && e->code && streq (e->code, "no-session")) {
                    ih_err_t herr = { "" };
                    if (s_send_hello (self, &herr) != 0)
                        s_log (self, 'W', "%s", herr.msg);
                }
                else
                if (e->type == IH_T_ERROR && e->code
                &&  (streq (e->code, "revoked") || streq (e->code, "not-registered"))) {
                    char why [IH_MAX_SHORT + 300];
                    ih_fmt (why, sizeof why, "%s: %s", e->code, e->reason);
                    s_refused (self, streq (e->code, "revoked"), why);
                }
                *env_p = e;
                return 1;
            }
        }
        if (woken || zsys_interrupted || zclock_mono () >= deadline)
            return 0;
    }
}

bool
ih_client_connected (ih_client_t *self)
{
    return self->sock && self->state == s_ACTIVE;
}

ih_client_refusal_t
ih_client_refused (ih_client_t *self, const char **reason)
{
    if (reason)
        *reason = self->refusal ? self->refusal_reason : "";
    return self->refusal;
}

void
ih_client_set_refused_ms (ih_client_t *self, uint32_t ms)
{
    self->refused_ms = ms;
}

uint64_t
ih_client_head (ih_client_t *self)
{
    return self->head;
}

uint64_t
ih_client_owed (ih_client_t *self)
{
    return self->owed;
}

uint32_t
ih_client_heartbeat (ih_client_t *self)
{
    return self->heartbeat;
}

const char *
ih_client_endpoint (ih_client_t *self)
{
    return self->endpoint;
}

/* ---- verification -------------------------------------------------------------------- */

bool
ih_client_seq_plausible (uint64_t prev, uint64_t seq)
{
    return seq > prev && seq - prev <= IH_SEQ_MAX_STEP && seq < IH_SEQ_LIMIT;
}

int
ih_client_verify_item (const ih_item_t *item, const uint8_t registry_pk [32],
                       ih_member_t *rec, ih_msg_t *msg, ih_err_t *err)
{
    memset (rec, 0, sizeof *rec);
    ih_msg_free (msg);
    ih_member_t r;
    if (ih_member_decode (&r, item->rec, item->rec_len, err) != 0) {
        if (err && strncmp (err->msg, "member record", 13) != 0)
            ih_err_prefix (err, "member record");
        return -1;
    }
    *rec = r;
    if (ih_verify (item->rec_sig, IH_CTX_MEMBER, item->rec, item->rec_len, registry_pk, err) != 0)
        return ih_err_set (err, "member record: bad signature");
    if (ih_body_decode (msg, item->body, item->body_len, err) != 0) {
        if (err && strncmp (err->msg, "body", 4) != 0)
            ih_err_prefix (err, "body");
        return -1;
    }
    //  Only publishers publish, revise and retract alerts; readers may comment and report
    //  sightings (ih_role_may_send, the broker's rule): anything else from a reader, or
    //  anything from the gateway's identity, was not accepted by an honest broker.
    if (!ih_role_may_send (rec, msg->kind))
        return ih_err_set (err, "member record: %s is not a publisher (%s%s), and a%s %s needs one",
                           rec->name, rec->gateway ? "the gateway" : "role ",
                           rec->gateway ? "" : ih_role_name (rec->role) ? ih_role_name (rec->role) : "?",
                           msg->kind == IH_KIND_ALERT ? "n" : "", ih_kind_name (msg->kind));
    if (ih_verify (item->sig, IH_CTX_MSG, item->body, item->body_len, rec->sign, err) != 0)
        return ih_err_set (err, "bad signature");
    if (!streq (msg->org, rec->org))
        return ih_err_set (err, "signer mismatch: body org '%s' != record org '%s'", msg->org, rec->org);
    if (!streq (msg->member, rec->name))
        return ih_err_set (err, "signer mismatch: body member '%s' != record name '%s'", msg->member, rec->name);
    if (sodium_memcmp (msg->signer, rec->sign, 32) != 0)
        return ih_err_set (err, "signer mismatch: body signer is not the record's signing key");
    return 0;
}

/* ---- self-test ----------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

static void
s_test_record (ih_member_t *r, const char *name, const char *org, const uint8_t sign_pk [32])
{
    memset (r, 0, sizeof *r);
    snprintf (r->name, sizeof r->name, "%s", name);
    snprintf (r->org, sizeof r->org, "%s", org);
    snprintf (r->sector, sizeof r->sector, "finance");
    r->role = IH_ROLE_PUBLISHER;
    randombytes_buf (r->curve, 32);
    memcpy (r->sign, sign_pk, 32);
    r->created = 1767225600000;     //  2026-01-01
    r->gateway = false;
}

static void
s_test_alert (ih_msg_t *m, const char *org, const char *member, const uint8_t signer [32])
{
    ih_msg_init (m, IH_KIND_ALERT);
    ih_uuid_new (m->id);
    m->revision = 1;
    m->created = m->modified = 1767225600000;
    m->org = ih_msg_str (m, org);
    m->member = ih_msg_str (m, member);
    memcpy (m->signer, signer, 32);
    m->title = ih_msg_str (m, "Phishing wave against banks");
    m->summary = ih_msg_str (m, "Look *out*.");
    m->tlp = IH_TLP_GREEN;
    m->severity = IH_SEV_HIGH;
    m->category = IH_CAT_PHISHING;
    ih_msg_strlist_add (m, &m->sectors, "finance");
    ih_msg_ioc_add (m, IH_IOC_DOMAIN, "evil.example", "", true);
    ih_msg_ioc_add (m, IH_IOC_IPV4, "192.0.2.1", "c2", true);
}

/*  Builds an item: record signed with reg_sk, body signed with msg_sk. */
static void
s_test_item (ih_item_t *it, ih_buf_t *rec_buf, uint8_t rec_sig [64], ih_buf_t *body_buf,
             uint8_t sig [64], const ih_member_t *r, const uint8_t reg_sk [64],
             const ih_msg_t *m, const uint8_t msg_sk [64])
{
    IH_CHECK (ih_member_encode (r, rec_buf, NULL) == 0);
    ih_sign (rec_sig, IH_CTX_MEMBER, rec_buf->data, rec_buf->len, reg_sk);
    IH_CHECK (ih_body_encode (m, body_buf, NULL) == 0);
    ih_sign (sig, IH_CTX_MSG, body_buf->data, body_buf->len, msg_sk);
    it->seq = 7;
    it->body = body_buf->data;
    it->body_len = body_buf->len;
    it->sig = sig;
    it->rec = rec_buf->data;
    it->rec_len = rec_buf->len;
    it->rec_sig = rec_sig;
}

/*  Receives from the client until an envelope of type t (others are dropped). */
static ih_env_t *
s_client_expect (ih_client_t *c, ih_type_t t, int timeout)
{
    int64_t deadline = zclock_mono () + timeout;
    while (zclock_mono () < deadline) {
        ih_env_t *e = NULL;
        int rc = ih_client_recv (c, &e, (int) (deadline - zclock_mono ()), NULL);
        if (rc == 1 && e->type == t)
            return e;
    }
    return NULL;
}

/*  Lets the single-threaded client run its session while the fake broker waits. */
static void
s_pump (void *arg)
{
    ih_env_t *ignored;
    ih_client_recv ((ih_client_t *) arg, &ignored, 10, NULL);
}

/*  A session against the test kit's fake broker: hello, welcome, deliver, ack,
    ping/pong, no-session, a silent broker (reconnect with the cursor), publish ok and
    error. */
static void
s_test_session (bool verbose, const ih_item_t *item)
{
    ih_tk_broker_t *broker = ih_tk_broker_new ();
    zcert_t *client_cert = zcert_new ();
    ih_client_cfg_t cfg = { ih_tk_broker_endpoint (broker), ih_tk_broker_key (broker), client_cert,
                            "test", "selftest/1", 0, true };
    ih_err_t err = { "" };
    ih_client_t *c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    ih_client_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.cursor = 0;
    hello.window = 50;
    IH_CHECK (ih_client_subscribe (c, &hello, &err) == 0);
    ih_client_set_refused_ms (c, 200);

    ih_env_t e;
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c));
    IH_CHECK (e.cursor == 0 && e.window == 50 && streq (e.agent, "selftest/1"));
    ih_env_free (&e);
    IH_CHECK (!ih_client_connected (c));

    //  welcome (heartbeat 100 ms) and a delivery
    ih_env_t w;
    ih_env_init (&w, IH_T_WELCOME);
    w.head = 7;
    w.owed = 6;
    w.heartbeat = 100;
    w.member = "soc";
    w.org = "bank-a";
    ih_tk_broker_send (broker, &w);
    ih_env_t *got = s_client_expect (c, IH_T_WELCOME, 3000);
    IH_CHECK (got && got->head == 7);
    IH_CHECK (ih_client_connected (c) && ih_client_heartbeat (c) == 100 && ih_client_head (c) == 7);
    IH_CHECK (ih_client_owed (c) == 6);
    ih_item_t it = *item;
    it.seq = 7;
    ih_tk_broker_deliver (broker, &it, 1);
    got = s_client_expect (c, IH_T_DELIVER, 3000);
    IH_CHECK (got && got->item_count == 1 && got->items [0].seq == 7);
    IH_CHECK (ih_client_owed (c) == 7);             //  delivered, so owed
    IH_CHECK (got->items [0].body_len == item->body_len
           && memcmp (got->items [0].body, item->body, item->body_len) == 0);
    IH_CHECK (ih_client_ack (c, 7, &err) == 0);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ACK, &e, 3000, s_pump, c) && e.seq == 7);
    ih_env_free (&e);

    //  pings come every heartbeat; answer one
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PING, &e, 3000, s_pump, c));
    ih_env_free (&e);
    ih_env_t pong;
    ih_env_init (&pong, IH_T_PONG);
    pong.head = 9;
    pong.owed = 8;
    ih_tk_broker_send (broker, &pong);
    got = s_client_expect (c, IH_T_PONG, 3000);
    IH_CHECK (got && ih_client_head (c) == 9 && ih_client_owed (c) == 8);

    //  a publish on the session without waiting: its ok comes back through recv; the
    //  roster likewise
    uint64_t req = 0;
    IH_CHECK (ih_client_publish_send (c, item->body, item->body_len, item->sig, &req, &err) == 0 && req);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PUBLISH, &e, 3000, s_pump, c) && e.req == req);
    ih_env_free (&e);
    ih_env_t ok;
    ih_env_init (&ok, IH_T_OK);
    ok.req = req;
    ok.seq = 10;
    ok.id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    ih_tk_broker_send (broker, &ok);
    got = s_client_expect (c, IH_T_OK, 3000);
    IH_CHECK (got && got->req == req && got->seq == 10);
    IH_CHECK (ih_client_roster (c, &err) == 0);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_ROSTER, &e, 3000, s_pump, c));
    ih_env_free (&e);
    //  input on the wake socket ends a wait at once
    zsock_t *wake_in = zsock_new_pair ("@inproc://ih-client-test-wake");
    zsock_t *wake_out = zsock_new_pair (">inproc://ih-client-test-wake");
    IH_CHECK (wake_in && wake_out);
    ih_client_wake_on (c, wake_in);
    zstr_send (wake_out, "now");
    int64_t t_wake = zclock_mono ();
    ih_env_t *none = NULL;
    IH_CHECK (ih_client_recv (c, &none, 5000, &err) == 0 && none == NULL);
    IH_CHECK (zclock_mono () - t_wake < 1000);
    char *word = zstr_recv (wake_in);
    zstr_free (&word);
    ih_client_wake_on (c, NULL);
    zsock_destroy (&wake_out);
    zsock_destroy (&wake_in);

    //  the broker forgot us: the client says hello again, from its cursor
    ih_env_t nos;
    ih_env_init (&nos, IH_T_ERROR);
    nos.code = "no-session";
    nos.reason = "who are you";
    ih_tk_broker_send (broker, &nos);
    got = s_client_expect (c, IH_T_ERROR, 3000);
    IH_CHECK (got && streq (got->code, "no-session"));
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c) && e.cursor == 7);
    ih_env_free (&e);
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));

    //  refusals: `not-registered` is final only when the broker still says it
    //  refused_ms after the first time; `revoked` at once; a welcome clears both
    const char *why = NULL;
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_ADMITTED && streq (why, ""));
    ih_env_t unk;
    ih_env_init (&unk, IH_T_ERROR);
    unk.code = "not-registered";
    unk.reason = "key x is not registered";
    ih_tk_broker_send (broker, &unk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, NULL) == IH_CLIENT_ADMITTED);   //  enrolled a moment ago?
    zclock_sleep (250);
    ih_tk_broker_send (broker, &unk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_NOT_REGISTERED);
    if (verbose)
        printf ("\n    refused: %s", why);
    IH_CHECK (strstr (why, "not-registered: key x is not registered (for 0 s)"));
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));
    IH_CHECK (ih_client_refused (c, NULL) == IH_CLIENT_ADMITTED);
    ih_env_t rvk;
    ih_env_init (&rvk, IH_T_ERROR);
    rvk.code = "revoked";
    rvk.reason = "member soc@bank-a is revoked";
    ih_tk_broker_send (broker, &rvk);
    IH_CHECK (s_client_expect (c, IH_T_ERROR, 3000));
    IH_CHECK (ih_client_refused (c, &why) == IH_CLIENT_REVOKED);
    IH_CHECK (streq (why, "revoked: member soc@bank-a is revoked"));
    ih_tk_broker_send (broker, &w);
    IH_CHECK (s_client_expect (c, IH_T_WELCOME, 3000));
    ih_env_free (&unk);
    ih_env_free (&rvk);

    //  a silent broker: after 3 heartbeats the client reconnects (new socket, new
    //  routing id) and says hello from its durable cursor
    int64_t t0 = zclock_mono ();
    ih_client_set_cursor (c, 8);
    zframe_t *old_rid = zframe_dup (ih_tk_broker_peer (broker));
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_HELLO, &e, 3000, s_pump, c) && e.cursor == 8);
    ih_env_free (&e);
    IH_CHECK (!zframe_eq (old_rid, ih_tk_broker_peer (broker)));
    int64_t took = zclock_mono () - t0;
    if (verbose)
        printf ("\n    reconnected after %" PRId64 " ms of silence", took);
    IH_CHECK (took >= 300);
    zframe_destroy (&old_rid);
    ih_client_destroy (&c);

    //  request mode: ok, then an error, each matched to its req
    cfg.quiet = true;
    c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    uint8_t sig [64] = { 0 };
    //  a first request times out (nobody answers in time); its late answer must not be
    //  taken for the answer to the next request: replies are matched by req
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 300, NULL, NULL, NULL, &err) == -1);
    IH_CHECK (ih_tk_broker_expect (broker, IH_T_PUBLISH, &e, 3000, NULL, NULL));
    IH_CHECK (e.req == 1 && e.body_len == item->body_len);
    ih_env_free (&e);
    ih_env_t late;
    ih_env_init (&late, IH_T_OK);
    late.req = 1;
    late.seq = 10;
    late.id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff";
    ih_tk_broker_send (broker, &late);  //  a late answer to req 1: ignored by req 2
    ih_env_t refuse;
    ih_env_init (&refuse, IH_T_ERROR);
    refuse.req = 2;
    refuse.code = "not-publisher";
    refuse.reason = "role: reader";
    ih_tk_broker_send (broker, &refuse);
    char code [32] = "";
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 3000, NULL, NULL, code, &err) == 1);
    IH_CHECK (streq (code, "not-publisher") && streq (err.msg, "role: reader"));
    ih_env_t okay;
    ih_env_init (&okay, IH_T_OK);
    okay.req = 3;
    okay.seq = 11;
    okay.id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff";
    ih_tk_broker_send (broker, &okay);
    uint64_t seq = 0;
    char id [IH_UUID_LEN + 1] = "";
    IH_CHECK (ih_client_publish_wait (c, item->body, item->body_len, sig, 3000, &seq, id, code, &err) == 0);
    IH_CHECK (seq == 11 && streq (id, okay.id));
    ih_client_destroy (&c);

    ih_env_free (&w);
    ih_env_free (&pong);
    ih_env_free (&nos);
    ih_env_free (&late);
    ih_env_free (&refuse);
    ih_env_free (&okay);
    ih_tk_broker_destroy (&broker);
    zcert_destroy (&client_cert);
}

void
ih_client_test (bool verbose)
{
    ih_sign_init ();
    uint8_t reg_pk [32], reg_sk [64], other_pk [32], other_sk [64];
    uint8_t pub_pk [32], pub_sk [64], mal_pk [32], mal_sk [64];
    ih_sign_keypair (reg_pk, reg_sk);
    ih_sign_keypair (other_pk, other_sk);
    ih_sign_keypair (pub_pk, pub_sk);
    ih_sign_keypair (mal_pk, mal_sk);

    ih_member_t r;
    s_test_record (&r, "soc", "bank-a", pub_pk);
    ih_msg_t m;
    s_test_alert (&m, "bank-a", "soc", pub_pk);

    ih_buf_t rec_buf, body_buf;
    ih_buf_init (&rec_buf);
    ih_buf_init (&body_buf);
    uint8_t rec_sig [64], sig [64];
    ih_item_t it;
    ih_member_t got_rec;
    ih_msg_t got;
    ih_msg_init (&got, IH_KIND_ALERT);
    ih_err_t err;

    //  1. a good item verifies, and the body comes back decoded
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    err.msg [0] = 0;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == 0);
    IH_CHECK (streq (got.id, m.id));
    IH_CHECK (streq (got.title, m.title));
    IH_CHECK (got.ioc_count == 2);
    IH_CHECK (streq (got_rec.name, "soc") && streq (got_rec.org, "bank-a"));
    ih_msg_free (&got);

    //  2. wrong registry key: the record does not verify
    IH_CHECK (ih_client_verify_item (&it, other_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    wrong registry key: %s", err.msg);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    IH_CHECK (streq (got_rec.name, "soc"));     //  named for the log line
    ih_msg_free (&got);

    //  3. forged record: a broker makes up a member with its own signing key and signs
    //     the record with a key of its own; the alert is signed by that forged key
    ih_member_t forged;
    s_test_record (&forged, "soc", "bank-a", mal_pk);
    ih_msg_t fm;
    s_test_alert (&fm, "bank-a", "soc", mal_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &forged, mal_sk, &fm, mal_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    ih_msg_free (&got);
    //  … and a genuine record whose bytes were altered (sign key swapped) after signing
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &fm, mal_sk);
    IH_CHECK (ih_member_encode (&forged, &rec_buf, NULL) == 0);   //  rec_sig is r's
    it.rec = rec_buf.data;
    it.rec_len = rec_buf.len;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "member record: bad signature"));
    ih_msg_free (&got);
    ih_msg_free (&fm);

    //  4. altered body: one byte of the title changes after signing
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    uint8_t *p = (uint8_t *) memmem (body_buf.data, body_buf.len, "Phishing", 8);
    IH_CHECK (p);
    p [0] = 'F';
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    altered body: %s", err.msg);
    IH_CHECK (streq (err.msg, "bad signature"));
    ih_msg_free (&got);
    //  … a signature by someone else
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, mal_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (streq (err.msg, "bad signature"));
    ih_msg_free (&got);
    //  … a body that no longer decodes
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    it.body_len = body_buf.len - 1;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "body: ", 6) == 0);
    ih_msg_free (&got);

    //  5. signer mismatch: a genuine member signs an alert claiming another org/member
    ih_msg_t mm;
    s_test_alert (&mm, "bank-b", "soc", pub_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    if (verbose)
        printf ("\n    signer mismatch: %s", err.msg);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body org", 25) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    s_test_alert (&mm, "bank-a", "analyst", pub_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body member", 28) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    //  the body names a signer key that is not the record's (and is signed by it)
    s_test_alert (&mm, "bank-a", "soc", mal_pk);
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &mm, pub_sk);
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "signer mismatch: body signer", 28) == 0);
    ih_msg_free (&got);
    ih_msg_free (&mm);
    //  an alert or a retraction from a reader, or anything from the gateway identity:
    //  not a publisher's; a reader's comment and sighting are fine (readers collaborate)
    for (int g = 0; g < 2; g++) {
        ih_member_t rr = r;
        rr.role = IH_ROLE_READER;
        rr.gateway = g == 1;            //  (a gateway record is always a reader's)
        for (int k = 0; k < IH_KIND_COUNT; k++) {
            ih_msg_t km;
            if (k == IH_KIND_ALERT)
                s_test_alert (&km, "bank-a", "soc", pub_pk);
            else {
                ih_msg_init (&km, (ih_kind_t) k);
                ih_uuid_new (km.id);
                km.created = km.modified = 1767225600000;
                km.org = ih_msg_str (&km, "bank-a");
                km.member = ih_msg_str (&km, "soc");
                memcpy (km.signer, pub_pk, 32);
                memcpy (km.ref, m.id, sizeof km.ref);
                if (k == IH_KIND_SIGHTING) {
                    km.tlp = IH_TLP_GREEN;
                    km.count = 2;
                    ih_msg_ioc_add (&km, IH_IOC_IPV4, "192.0.2.1", "", false);
                }
                else
                    km.text = ih_msg_str (&km, "seen here too");
            }
            s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &rr, reg_sk, &km, pub_sk);
            bool chat = k == IH_KIND_COMMENT || k == IH_KIND_SIGHTING;
            int rc = ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err);
            if (verbose && rc != 0)
                printf ("\n    %s: %s", ih_kind_name ((ih_kind_t) k), err.msg);
            if (chat && !g)
                IH_CHECK (rc == 0 && got.kind == (ih_kind_t) k);
            else {
                IH_CHECK (rc == -1);
                IH_CHECK (strstr (err.msg, "member record: ") && strstr (err.msg, " is not a publisher"));
                IH_CHECK (!g == !strstr (err.msg, "the gateway"));
            }
            ih_msg_free (&got);
            ih_msg_free (&km);
        }
    }
    IH_CHECK (ih_client_seq_plausible (0, 1) && ih_client_seq_plausible (5, 5 + IH_SEQ_MAX_STEP));
    IH_CHECK (!ih_client_seq_plausible (5, 5) && !ih_client_seq_plausible (5, 4));
    IH_CHECK (!ih_client_seq_plausible (5, 6 + IH_SEQ_MAX_STEP) && !ih_client_seq_plausible (0, UINT64_MAX));
    IH_CHECK (!ih_client_seq_plausible (IH_SEQ_LIMIT - 1, IH_SEQ_LIMIT));

    //  6. a garbage record
    uint8_t junk [3] = { 0xc1, 0x00, 0x01 };
    it.rec = junk;
    it.rec_len = sizeof junk;
    IH_CHECK (ih_client_verify_item (&it, reg_pk, &got_rec, &got, &err) == -1);
    IH_CHECK (strncmp (err.msg, "member record: ", 15) == 0);
    IH_CHECK (got_rec.name [0] == 0);
    ih_msg_free (&got);

    //  7. configuration errors are reported, not asserted
    ih_client_cfg_t cfg = { 0 };
    IH_CHECK (ih_client_new (&cfg, &err) == NULL);
    cfg.endpoint = "tcp://127.0.0.1:1";
    cfg.broker_key = "short";
    IH_CHECK (ih_client_new (&cfg, &err) == NULL);
    IH_CHECK (strstr (err.msg, "broker public key"));

    //  8. a request to a port where nobody listens times out with a clear error
    zcert_t *server = zcert_new ();
    zcert_t *client = zcert_new ();
    cfg.broker_key = zcert_public_txt (server);
    cfg.cert = client;
    cfg.quiet = true;
    ih_client_t *c = ih_client_new (&cfg, &err);
    IH_CHECK (c);
    IH_CHECK (ih_client_publish_wait (c, body_buf.data, body_buf.len, sig, 200, NULL, NULL, NULL, &err) == -1);
    IH_CHECK (strstr (err.msg, "no answer"));
    ih_client_destroy (&c);
    ih_client_destroy (&c);
    zcert_destroy (&server);
    zcert_destroy (&client);

    //  9. the session logic against a fake broker
    s_test_item (&it, &rec_buf, rec_sig, &body_buf, sig, &r, reg_sk, &m, pub_sk);
    s_test_session (verbose, &it);

    ih_msg_free (&m);
    ih_buf_free (&rec_buf);
    ih_buf_free (&body_buf);
    sodium_memzero (reg_sk, sizeof reg_sk);
    sodium_memzero (pub_sk, sizeof pub_sk);
}
#endif
