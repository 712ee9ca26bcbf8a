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
    uint64_t retry_after;       /* the last refused publish's retry_after (ms) */

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
    zsock_set_maxmsgsize (sock, IH_ZMQ_MAXMSGSIZE);
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
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == 300) {
            //  For now: our key holds as many connections as the broker allows (another
            //  copy of this agent?). Not a refusal of the key: retried with the backoff.
            s_log (self, 'W', "broker %s is refusing connections of our key for now (status "
                   "300: it holds too many); retrying", self->endpoint);
        }
        else
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
    self->retry_after = 0;
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
            self->retry_after = r->retry_after;
            ih_err_set (err, "%s", r->reason);
            return 1;
        }
        //  Anything else (a late answer to an earlier request) is not ours: ignore.
    }
    return ih_err_set (err, "no answer from broker %s within %d ms", self->endpoint, timeout_ms);
}

uint64_t
ih_client_retry_after (ih_client_t *self)
{
    return self->retry_after;
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
ih_client_verify_record (const ih_item_t *item, const uint8_t registry_pk [32], ih_member_t *rec,
                         ih_err_t *err)
{
    memset (rec, 0, sizeof *rec);
    ih_member_t r;
    if (ih_member_decode (&r, item->rec, item->rec_len, err) != 0) {
        if (err && strncmp (err->msg, "member record", 13) != 0)
            ih_err_prefix (err, "member record");
        return -1;
    }
    *rec = r;
    if (ih_verify (item->rec_sig, IH_CTX_MEMBER, item->rec, item->rec_len, registry_pk, err) != 0)
        return ih_err_set (err, "member record: bad signature");
    return 0;
}

int
ih_client_verify_body (const ih_item_t *item, const ih_member_t *rec, ih_msg_t *msg, ih_err_t *err)
{
    ih_msg_free (msg);
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

int
ih_client_verify_item (const ih_item_t *item, const uint8_t registry_pk [32],
                       ih_member_t *rec, ih_msg_t *msg, ih_err_t *err)
{
    ih_msg_free (msg);
    if (ih_client_verify_record (item, registry_pk, rec, err) != 0)
        return -1;
    return ih_client_verify_body (item, rec, msg, err);
}
