/*  ih_broker.c: the broker's loop and construction. See ih_broker.h and PROTOCOL.md.

    The broker is written in four files by job (ih_broker_int.h names them); this one
    holds what ties them together. Reading order: receiving (one message, then a drain
    of many, which ends in a publish batch), ZAP, the socket monitor, registry reloads,
    stats and timers, construction, the loop.
*/
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "ih_broker_int.h"

#define S_DRAIN_MAX      1024           //  messages read per batch
#define S_DRAIN_BATCHES  8              //  batches through the pipeline per loop iteration
#define S_MAX_IO_THREADS 4              //  ZeroMQ I/O threads when one per core is asked
#define S_MAX_SESSIONS   8              //  concurrent sessions per member key (default)
#define S_MAX_PEERS      32             //  connections that spoke per member key (default)
#define S_SILENT_MS      15000          //  a connection that says nothing this long is closed
#define S_HANDSHAKE_MS   10000          //  a CURVE handshake must end within this
#define S_SNDHWM         100000
#define S_TICK           250            //  ms: registry watch, expiry
#define S_TOMBSTONE_TTL  (10 * 60 * 1000)
#define S_ZAP_DOMAIN     "infohub"

/* ---- receiving ---------------------------------------------------------------------- */
//  Maps a decode error to its code (PROTOCOL.md section 8).
static const char *
s_env_error_code (const char *msg)
{
    if (strncmp (msg, "v: unsupported", 14) == 0)
        return "bad-version";
    if (strncmp (msg, "t: unknown message type", 23) == 0)
        return "bad-type";
    return "bad-frame";
}

static void
s_reject_frame (ih_broker_t *self, const uint8_t rid [5], const char *who, const char *code,
                const char *reason)
{
    self->rejected++;
    ih_log_limited (who, 'W', "broker", "rejected message from %s: %s: %s", who, code, reason);
    ih_broker_send_error (self, rid, 0, code, reason);
}

//  The limits of a message of p (PROTOCOL.md 4.3), checked before anything costly is done
//  with it (no body decoded, no signature verified, nothing journaled): false when it
//  was refused, and answered `rate-limited`.
static bool
s_within_limits (ih_broker_t *self, ih_broker_peer_t *p, const ih_reg_entry_t *entry,
                 const char *what, uint64_t req, size_t bytes)
{
    ih_limits_t lim = ih_limits_resolve (&entry->limits, &self->limits [entry->rec.role == IH_ROLE_PUBLISHER]);
    const char *which = "";
    uint64_t wait = ih_limiter_take (self->limiter, p->z85, &lim, bytes, zclock_mono (),
                                     ih_now_ms (), &which);
    if (!wait)
        return true;
    uint64_t limit = streq (which, "messages-per-s") ? lim.msgs_per_s
                   : streq (which, "bytes-per-s") ? lim.bytes_per_s : lim.bytes_per_day;
    ih_broker_send_limited (self, p, req, what, which, limit, wait, bytes);
    return false;
}

//  Reads one message. Returns 1 when one was handled, 2 when the sender has had its
//  share of the batch being drained (close it), 0 when none is pending, -1 on a socket
//  failure.
static int
s_recv_one (ih_broker_t *self)
{
    zmq_msg_t rid;
    zmq_msg_init (&rid);
    if (zmq_msg_recv (&rid, self->rsock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&rid);
        return zmq_errno () == EAGAIN || zmq_errno () == EINTR ? 0 : -1;
    }
    if (!zmq_msg_more (&rid)) {             //  cannot happen with ROUTER
        zmq_msg_close (&rid);
        return 1;
    }
    //  The frame goes into the next free slot: a publish keeps it through the batch
    ih_broker_slot_t *s = &self->recv->slots [self->recv->nslots];
    zmq_msg_t *frame = &s->frame;
    zmq_msg_close (frame);
    zmq_msg_init (frame);
    if (zmq_msg_recv (frame, self->rsock, 0) < 0) {
        zmq_msg_close (&rid);
        return -1;
    }
    self->frames_in++;
    bool multi = zmq_msg_more (frame);
    bool more = multi;
    while (more) {                          //  discard the rest of a multi-frame message
        zmq_msg_t extra;
        zmq_msg_init (&extra);
        more = zmq_msg_recv (&extra, self->rsock, 0) >= 0 && zmq_msg_more (&extra);
        zmq_msg_close (&extra);
    }
    //  The connection's descriptor (the deprecated ZMQ_SRCFD still works in libzmq 4.3):
    //  it spoke, and it is what ih_broker_peer_close shuts down
    int fd = zmq_msg_get (frame, ZMQ_SRCFD);
    if (fd >= 0 && (size_t) fd < self->fdmap_size)
        self->fdmap [fd].spoke = true;
    uint8_t r [5];
    size_t rlen = zmq_msg_size (&rid);
    bool generated = rlen == 5 && ((uint8_t *) zmq_msg_data (&rid)) [0] == 0;
    if (rlen <= 5)
        memcpy (r, zmq_msg_data (&rid), rlen);
    zmq_msg_close (&rid);
    const char *z85 = zmq_msg_gets (frame, "User-Id");
    //  NOT a security check. The ROUTER generates 5-byte ids starting with 0, but a
    //  client may set ZMQ_ROUTING_ID itself, and a chosen id of 00 xx xx xx xx passes
    //  this test (libzmq refuses only ids that collide with a connected peer's). What
    //  keeps one client from taking over another's session is ih_broker_resolve: a peer is
    //  bound to the CURVE key it authenticated with, and a message whose key differs
    //  from the one its routing id was bound to replaces that state (the old owner has
    //  disconnected, or libzmq would have refused the id). Sessions must never be
    //  trusted on the routing id alone. This test only discards ids our peer table
    //  cannot hold (any other length or first byte).
    if (!generated) {
        ih_log_limited (z85 ? z85 : "unknown key", 'W', "broker",
                        "ignored message from %s: client-set routing id", z85 ? z85 : "unknown key");
        return 1;
    }
    if (!z85 || strlen (z85) != 40) {
        ih_broker_log ('E', "message without a CURVE User-Id: is ZAP working?");
        return 1;
    }
    const ih_reg_entry_t *entry = NULL;
    ih_broker_peer_t *p = ih_broker_resolve (self, r, z85, fd, &entry);
    if (!p)
        return 1;
    if (multi) {
        s_reject_frame (self, r, p->label, "bad-frame", "frame: a message must be exactly one frame");
        return 1;
    }

    ih_env_t env;
    ih_err_t err;
    if (ih_env_decode (&env, zmq_msg_data (frame), zmq_msg_size (frame), &err)) {
        s_reject_frame (self, r, p->label, s_env_error_code (err.msg), err.msg);
        return 1;
    }
    int rc = 1;
    switch (env.type) {
        case IH_T_PUBLISH:
            if (!s_within_limits (self, p, entry, "publish", env.req, env.body_len))
                break;
            memcpy (s->rid, r, 5);
            memcpy (s->label, p->label, sizeof s->label);
            s->entry = entry;
            s->limited = true;
            s->held = env.body_len;
            ih_broker_publish_take (s, &env);
            self->recv->nslots++;           //  the frame stays with the slot; answered in order
            //  One key's publishes close the batch at its share, so that a flood within
            //  the limits never makes everyone else's batch long
            if (ih_limiter_batch_note (self->limiter, p->z85) >= IH_BROKER_KEY_SHARE)
                rc = 2;
            break;
        case IH_T_HELLO:
            ih_broker_on_hello (self, p, &env);
            break;
        case IH_T_ACK:
        case IH_T_PING:
            if (p->state == IH_SESSION_NONE) {
                s_reject_frame (self, r, p->label, "no-session",
                                "session: send hello first (none, or it expired)");
                break;
            }
            if (env.type == IH_T_ACK)
                ih_broker_on_ack (self, p, &env);
            else {
                ih_env_init (&self->out_env, IH_T_PONG);
                self->out_env.head = ih_journal_head (self->journal);
                self->out_env.owed = ih_owed_get (self->owed, &p->member);
                ih_broker_send_env (self, r);
            }
            break;
        case IH_T_BYE:
            ih_broker_peer_drop (self, p, "bye");
            break;
        case IH_T_STATUS:
            if (s_within_limits (self, p, entry, "status", 0, 0))
                ih_broker_on_status (self, p);
            break;
        case IH_T_ROSTER:
            if (s_within_limits (self, p, entry, "roster", 0, 0))
                ih_broker_on_roster (self, p);
            break;
        default: {
            char reason [96];
            snprintf (reason, sizeof reason, "t: '%s' is not accepted from clients",
                      ih_type_name (env.type));
            s_reject_frame (self, r, p->label, "bad-type", reason);
            break;
        }
    }
    ih_env_free (&env);
    return rc;
}

//  Drains pending messages; commits, answers and delivers the publishes among them.
//  Up to S_DRAIN_BATCHES batches in a row go through the pipeline (each verified while
//  the one before it commits); the last is committed before this returns, so that no
//  batch waits across a poll, a registry reload or a ZAP request.
static int
s_drain (ih_broker_t *self)
{
    int rc = 0;
    for (int batch = 0; batch < S_DRAIN_BATCHES; batch++) {
        rc = 0;
        for (int n = 0; n < S_DRAIN_MAX && self->recv->nslots < IH_BROKER_BATCH; n++) {
            rc = s_recv_one (self);
            if (rc <= 0 || rc == 2)
                break;
        }
        ih_limiter_batch_end (self->limiter);
        if (self->recv->nslots == 0)
            break;                  //  no publish among them (or none pending)
        ih_broker_batch_push (self);
        if (rc <= 0)
            break;                  //  nothing more pending, or the socket failed
    }
    ih_broker_batch_flush (self);
    return rc < 0 ? -1 : 0;
}

/* ---- ZAP, monitor, registry --------------------------------------------------------- */
static void s_registry_reload (ih_broker_t *self, const char *why);

static ih_zap_status_t
s_zap_decide (void *arg, const ih_zap_request_t *req, char *user_id, size_t user_id_size,
              char *text, size_t text_size)
{
    ih_broker_t *self = (ih_broker_t *) arg;
    if (strcmp (req->mechanism, "CURVE") != 0 || !req->has_key
    ||  strcmp (req->domain, S_ZAP_DOMAIN) != 0) {
        ih_log_limited (req->address, 'W', "broker", "denied %s connection from %s (domain '%s')",
                        req->mechanism, req->address, req->domain);
        snprintf (text, text_size, "CURVE only");
        return IH_ZAP_DENY;
    }
    const ih_reg_entry_t *e = ih_registry_by_curve (self->registry, req->key_z85);
    if ((!e || e->revoked) && ih_registry_changed (self->registry)) {
        s_registry_reload (self, "changed");      //  a member added a moment ago
        e = ih_registry_by_curve (self->registry, req->key_z85);
    }
    if (!e) {
        ih_log_limited (req->address, 'W', "broker", "denied unknown key %s from %s",
                        req->key_z85, req->address);
        snprintf (text, text_size, "not registered");
        return IH_ZAP_DENY;
    }
    if (e->revoked) {
        ih_log_limited (req->address, 'W', "broker", "denied revoked member %s@%s from %s",
                        e->rec.name, e->rec.org, req->address);
        snprintf (text, text_size, "revoked");
        return IH_ZAP_DENY;
    }
    //  A member cut off for flooding (ih_broker_send_limited) waits its time out
    if (ih_limiter_cooling (self->limiter, req->key_z85, zclock_mono ())) {
        char key [2 * IH_MAX_SHORT + 16];
        snprintf (key, sizeof key, "cooling %s@%s", e->rec.name, e->rec.org);
        ih_log_limited (key, 'W', "broker", "refused a connection of %s@%s from %s: cut off for "
                        "flooding, for now", e->rec.name, e->rec.org, req->address);
        snprintf (text, text_size, "cut off for a while: it ignored rate-limited answers");
        return IH_ZAP_LATER;
    }
    //  One key holds at most max_peers connections: those that spoke (peers) and those
    //  admitted a moment ago that have not yet. One more is refused at the handshake, for
    //  now (status 300), so that a thousand connections of one key cost a thousand
    //  handshakes, not a thousand descriptors held.
    int64_t now = zclock_mono ();
    ih_broker_admitted_t *a = (ih_broker_admitted_t *) zhashx_lookup (self->admitted, req->key_z85);
    if (a && now - a->last > S_SILENT_MS)
        a->count = 0;               //  those have spoken or been closed by now
    size_t held = ih_broker_key_peers (self, req->key_z85) + (a ? a->count : 0);
    if (held >= self->max_peers) {
        char key [2 * IH_MAX_SHORT + 16];
        snprintf (key, sizeof key, "busy %s@%s", e->rec.name, e->rec.org);
        ih_log_limited (key, 'W', "broker", "refused a connection of %s@%s from %s: it holds "
                        "%zu connections (max-peers %u)", e->rec.name, e->rec.org, req->address,
                        held, self->max_peers);
        snprintf (text, text_size, "too many connections of this key");
        return IH_ZAP_LATER;
    }
    if (!a) {
        a = (ih_broker_admitted_t *) calloc (1, sizeof *a);
        if (!a)
            abort ();
        zhashx_insert (self->admitted, req->key_z85, a);
    }
    a->count++;
    a->last = now;
    char key [2 * IH_MAX_SHORT + 16];
    snprintf (key, sizeof key, "admitted %s@%s", e->rec.name, e->rec.org);   //  apart from refusals
    ih_log_limited (key, 'I', "broker", "admitted %s@%s from %s", e->rec.name, e->rec.org,
                    req->address);
    snprintf (user_id, user_id_size, "%s", req->key_z85);
    return IH_ZAP_ADMIT;
}

static void
s_monitor_event (ih_broker_t *self)
{
    while (true) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, zsock_resolve (self->monitor), ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            return;
        }
        zmq_msg_init (&addr);
        if (zmq_msg_more (&ev))
            zmq_msg_recv (&addr, zsock_resolve (self->monitor), 0);
        if (zmq_msg_size (&ev) >= 6) {
            const uint8_t *d = zmq_msg_data (&ev);
            uint16_t event;
            uint32_t value;
            memcpy (&event, d, 2);
            memcpy (&value, d + 2, 4);
            size_t fd = value;
            if (fd < (1u << 20)) {
                if (fd >= self->fdmap_size) {
                    size_t size = fd * 2 + 64;
                    ih_broker_conn_t *map = realloc (self->fdmap, size * sizeof *map);
                    if (!map)
                        abort ();
                    memset (map + self->fdmap_size, 0, (size - self->fdmap_size) * sizeof *map);
                    self->fdmap = map;
                    self->fdmap_size = size;
                }
                ih_broker_conn_t *c = &self->fdmap [fd];
                if (event == ZMQ_EVENT_ACCEPTED && !c->open) {
                    *c = (ih_broker_conn_t) { true, false, zclock_mono (),
                                              ih_broker_fd_ident ((int) fd), NULL };
                    self->connections++;
                }
                else
                if (event == ZMQ_EVENT_DISCONNECTED && c->open) {
                    c->open = false;
                    self->connections--;
                    ih_broker_conn_gone (self, c);
                }
            }
        }
        zmq_msg_close (&ev);
        zmq_msg_close (&addr);
    }
}

//  Reloads the registry and re-resolves every peer: revoked or removed members get one
//  `error revoked` and are forgotten, so nothing more reaches them.
static void
s_registry_reload (ih_broker_t *self, const char *why)
{
    ih_err_t err;
    if (ih_registry_reload (self->registry, &err)) {
        ih_broker_log ('E', "registry reload failed (%s), keeping the old one: %s", why, err.msg);
        return;
    }
    ih_broker_log ('I', "registry reloaded (%s): %zu %s", why, ih_registry_size (self->registry),
                   ih_plural (ih_registry_size (self->registry), "member", "members"));
    for (ih_broker_peer_t *p = self->first, *next; p; p = next) {
        next = p->next;
        if (p->tombstone)
            continue;
        const ih_reg_entry_t *e = ih_registry_by_curve (self->registry, p->z85);
        if (e && !e->revoked) {
            p->member = e->rec;
            ih_broker_label (p->label, sizeof p->label, &e->rec);
            continue;
        }
        char reason [160];
        ih_fmt (reason, sizeof reason, "member %s is %s", p->label,
                  e ? "revoked" : "no longer registered");
        ih_broker_send_error (self, p->rid, 0, "revoked", reason);
        ih_broker_log ('W', "%s: %s, connection closed", reason,
                       p->state != IH_SESSION_NONE ? "session dropped" : "peer dropped");
        ih_broker_session_end (self, p);
        p->tombstone = true;
        p->last_heard = zclock_mono ();
        //  Nothing more may reach it: the `revoked` gets a moment to leave, then the
        //  connection goes, and with it whatever was still queued for it (PROTOCOL.md 2.3)
        ih_broker_peer_close (self, p, IH_BROKER_CLOSE_DELAY);
    }
}

/* ---- stats and timers --------------------------------------------------------------- */
void
ih_broker_stats (ih_broker_t *self, char *out, size_t size)
{
    snprintf (out, size,
              "{\"connections\":%" PRIu64 ",\"sessions\":%zu,\"messages_in\":%" PRIu64
              ",\"messages_out\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"replays\":%" PRIu64
              ",\"journal_bytes\":%" PRIu64 ",\"head\":%" PRIu64 ",\"uptime_s\":%" PRId64
              ",\"lagging\":%zu,\"peers\":%zu,\"frames_in\":%" PRIu64 ",\"map_size\":%" PRIu64
              ",\"rate_limited\":%" PRIu64 ",\"closed\":%" PRIu64 ",\"pipelined\":%" PRIu64 "}",
              self->connections, self->session_count, self->messages_in, self->messages_out,
              self->rejected, self->replays, ih_journal_bytes (self->journal),
              ih_journal_head (self->journal), (ih_now_ms () - self->started) / 1000,
              self->lagging_count, zhashx_size (self->peers), self->frames_in,
              ih_journal_map_size (self->journal), self->rate_limited, self->closed, self->pipelined);
}

static void
s_write_status (ih_broker_t *self)
{
    if (!self->status_path)
        return;
    char json [1024];
    ih_broker_stats (self, json, sizeof json);
    char tmp [4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", self->status_path);
    FILE *f = fopen (tmp, "w");
    if (!f) {
        ih_broker_log ('D', "cannot write %s: %s", tmp, strerror (errno));
        return;
    }
    bool ok = fprintf (f, "%s\n", json) > 0;
    ok = fclose (f) == 0 && ok;
    if (!ok || rename (tmp, self->status_path) != 0) {
        ih_broker_log ('D', "cannot write %s: %s", self->status_path, strerror (errno));
        unlink (tmp);
    }
}

//  Connections that said nothing S_SILENT_MS after they were accepted are closed: one
//  that never sends a message costs a descriptor and a handshake, never more, and not
//  for long (a client speaks at once: hello, publish, status).
static void
s_sweep_silent (ih_broker_t *self)
{
    int64_t now = zclock_mono ();
    for (size_t fd = 0; fd < self->fdmap_size; fd++) {
        ih_broker_conn_t *c = &self->fdmap [fd];
        if (!c->open || c->spoke || now - c->accepted < S_SILENT_MS)
            continue;
        c->spoke = true;                    //  decided once
        //  its first message may have been read before the monitor told us of it
        bool peer = false;
        for (ih_broker_peer_t *p = self->first; p && !peer; p = p->next)
            peer = p->fd == (int) fd && p->fd_ident == c->ident;
        if (!peer && ih_broker_fd_shutdown ((int) fd, c->ident)) {
            self->closed++;
            ih_log_limited ("silent connections", 'I', "broker", "closed a connection that "
                            "said nothing in %d s", S_SILENT_MS / 1000);
        }
    }
}

static void
s_expire (ih_broker_t *self)
{
    int64_t now = zclock_mono ();
    int64_t limit = 3 * (int64_t) self->heartbeat;
    for (ih_broker_peer_t *p = self->first, *next; p; p = next) {
        next = p->next;
        int64_t silent = now - p->last_heard;
        if (p->tombstone ? silent > S_TOMBSTONE_TTL : silent > limit) {
            char why [64];
            snprintf (why, sizeof why, "silent for %" PRId64 " ms", silent);
            ih_broker_peer_drop (self, p, why);
        }
    }
}

/* ---- construction ------------------------------------------------------------------- */
ih_broker_t *
ih_broker_new (const ih_broker_cfg_t *cfg, ih_err_t *err)
{
    ih_broker_t *self = calloc (1, sizeof *self);
    if (!self)
        abort ();
    self->heartbeat = cfg->heartbeat ? cfg->heartbeat : 1000;
    self->max_window = cfg->max_window ? cfg->max_window : 2000;
    self->max_sessions = cfg->max_sessions ? cfg->max_sessions : S_MAX_SESSIONS;
    self->max_peers = cfg->max_peers ? cfg->max_peers : S_MAX_PEERS;
    if (self->max_peers <= self->max_sessions)
        self->max_peers = self->max_sessions + 1;
    for (int r = 0; r < 2; r++)
        self->limits [r] = cfg->limits ? cfg->limits [r] : ih_limits_default ((ih_role_t) r);
    if (self->max_window > 10000)
        self->max_window = 10000;
    self->verbose = cfg->verbose;
    if (cfg->verbose)
        ih_log_set_level ('D');
    self->registry = cfg->registry;
    self->journal = cfg->journal;
    if (cfg->status_path && *cfg->status_path) {
        self->status_path = strdup (cfg->status_path);
        if (!self->status_path)
            abort ();
    }
    ih_broker_peers_init (self);
    ih_sign_init ();
    self->sigpool = ih_sigpool_new (SIZE_MAX);
    self->stage = ih_stage_new ();
    for (int b = 0; b < 2; b++) {
        ih_broker_batch_t *batch = &self->batches [b];
        batch->slots = calloc (IH_BROKER_BATCH + 1, sizeof *batch->slots);   //  +1: the frame being read
        if (!batch->slots)
            abort ();
        for (size_t i = 0; i <= IH_BROKER_BATCH; i++) {
            zmq_msg_init (&batch->slots [i].frame);
            ih_msg_init (&batch->slots [i].msg, IH_KIND_ALERT);
            ih_buf_init (&batch->slots [i].rec);
        }
        batch->sigpool = self->sigpool;
    }
    self->recv = &self->batches [0];
    ih_jindex_init (&self->xid);
    ih_jindex_init (&self->xref);
    ih_env_init (&self->out_env, IH_T_OK);
    ih_buf_init (&self->out);
    ih_buf_reserve (&self->out, 64 * 1024);
    self->started = ih_now_ms ();
    //  What each member is owed (welcome, pong): read back from the journal, and counted
    //  again for whatever it holds beyond (a journal older than the table)
    self->owed = ih_owed_new ();
    if (ih_owed_load (self->owed, self->journal, err))
        goto fail;
    //  The day's quotas as the journal counted them (a restart gives nobody a new day)
    self->limiter = ih_limiter_new ();
    if (ih_limiter_load (self->limiter, self->journal, ih_now_ms (), err))
        goto fail;
    ih_broker_log ('I', "journal head %" PRIu64 ", %zu audiences owed messages",
                   ih_journal_head (self->journal), ih_owed_size (self->owed));

    //  ZeroMQ's I/O threads: each connection's CURVE encryption and decryption runs on
    //  the one it was given, so with one thread every delivery's encryption is on one
    //  core. The context starts with the first socket; set before it, or ignored.
    uint32_t io = cfg->io_threads;
    if (io == 0) {
        long cpus = sysconf (_SC_NPROCESSORS_ONLN);
        io = cpus < 1 ? 1 : cpus > S_MAX_IO_THREADS ? S_MAX_IO_THREADS : (uint32_t) cpus;
    }
    zmq_ctx_set (zsys_init (), ZMQ_IO_THREADS, (int) io);

    //  ZAP first: a CURVE handshake that finds no handler would be admitted unchecked
    self->zap = ih_zap_new (err);
    if (!self->zap)
        goto fail;
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router) {
        ih_err_set (err, "broker: cannot create the ROUTER socket");
        goto fail;
    }
    self->rsock = zsock_resolve (self->router);
    zcert_apply (cfg->cert, self->router);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, S_ZAP_DOMAIN);
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_maxmsgsize (self->router, IH_ZMQ_MAXMSGSIZE);
    zsock_set_handshake_ivl (self->router, S_HANDSHAKE_MS);
    zsock_set_sndhwm (self->router, S_SNDHWM);
    //  No ZMTP heartbeats from this side, and no limit on what waits to be read. libzmq
    //  4.3 asserts (`!_io_error`, stream_engine_base.cpp:331) when a connection whose
    //  input had stopped (its queue to us full, or the socket closing) then failed, and
    //  a heartbeat timer or a PING read later makes it write: at our shutdown, with
    //  agents stopping at the same moment, it killed the broker. Without our heartbeat
    //  timer and with input that never stops for a full queue, neither can happen. The
    //  agents still send ZMTP pings (answered by libzmq) and the protocol's `ping`; a
    //  session silent for 3 heartbeats is forgotten by s_expire, and TCP keepalive finds
    //  the connections of hosts that vanished. Messages are read as fast as they come
    //  (a refusal costs microseconds), so the unbounded queue does not grow.
    zsock_set_rcvhwm (self->router, 0);
    zsock_set_tcp_keepalive (self->router, 1);
    zsock_set_tcp_keepalive_idle (self->router, 30);
    zsock_set_tcp_keepalive_intvl (self->router, 10);
    zsock_set_tcp_keepalive_cnt (self->router, 3);
    zsock_set_linger (self->router, 500);

    char monitor_ep [64];
    snprintf (monitor_ep, sizeof monitor_ep, "inproc://ih-broker-monitor-%p", (void *) self);
    if (zmq_socket_monitor (self->rsock, monitor_ep,
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        ih_err_set (err, "broker: cannot monitor the socket: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
    self->monitor = zsock_new (ZMQ_PAIR);
    if (!self->monitor || zsock_connect (self->monitor, "%s", monitor_ep) != 0) {
        ih_err_set (err, "broker: cannot connect the monitor");
        goto fail;
    }
    if (zsock_bind (self->router, "%s", cfg->endpoint) < 0) {
        ih_err_set (err, "broker: cannot bind %s: %s", cfg->endpoint, zmq_strerror (zmq_errno ()));
        goto fail;
    }
    const char *ep = zsock_endpoint (self->router);
    self->endpoint = strdup (ep ? ep : cfg->endpoint);
    if (!self->endpoint)
        abort ();
    return self;
fail:
    ih_broker_destroy (&self);
    return NULL;
}

void
ih_broker_destroy (ih_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ih_broker_t *self = *self_p;
    ih_broker_peers_free (self);
    if (self->router)
        zmq_socket_monitor (self->rsock, NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->router);
    ih_zap_destroy (&self->zap);
    ih_stage_destroy (&self->stage);        //  before the pool and the batches it uses
    for (int b = 0; b < 2; b++) {
        ih_broker_batch_t *batch = &self->batches [b];
        if (batch->slots)
            for (size_t i = 0; i <= IH_BROKER_BATCH; i++) {
                zmq_msg_close (&batch->slots [i].frame);
                ih_msg_free (&batch->slots [i].msg);
                ih_buf_free (&batch->slots [i].rec);
            }
        free (batch->slots);
    }
    ih_sigpool_destroy (&self->sigpool);
    ih_owed_destroy (&self->owed);
    ih_limiter_destroy (&self->limiter);
    free (self->plan_peers);
    ih_jindex_free (&self->xid);
    ih_jindex_free (&self->xref);
    ih_buf_free (&self->out);
    free (self->fdmap);
    free (self->endpoint);
    free (self->status_path);
    free (self);
    *self_p = NULL;
}

const char *
ih_broker_endpoint (ih_broker_t *self)
{
    return self->endpoint;
}

/* ---- the loop ----------------------------------------------------------------------- */
int
ih_broker_run (ih_broker_t *self, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    ih_broker_log ('I', "listening on %s: head %" PRIu64 ", %zu %s, heartbeat %u ms",
                   self->endpoint, ih_journal_head (self->journal), ih_registry_size (self->registry),
                   ih_plural (ih_registry_size (self->registry), "member", "members"), self->heartbeat);
    zmq_pollitem_t items [3] = {
        { self->rsock, 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (ih_zap_sock (self->zap)), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->monitor), 0, ZMQ_POLLIN, 0 },
    };
    int64_t now = zclock_mono ();
    self->next_tick = now + S_TICK;
    self->next_status = now;
    bool more = false;
    int rc = 0;
    while (!(stop && *stop)) {
        now = zclock_mono ();
        long timeout = more ? 0 : (long) (self->next_tick - now);
        if (!more && self->lagging_count)
            timeout = IH_BROKER_BLOCKED_RETRY;      //  queues that were full may have room now
        if (timeout < 0)
            timeout = 0;
        if (timeout > S_TICK)
            timeout = S_TICK;
        int n = zmq_poll (items, 3, timeout);
        if (n < 0 && zmq_errno () != EINTR) {
            ih_broker_log ('E', "poll failed: %s", zmq_strerror (zmq_errno ()));
            rc = -1;
            break;
        }
        if (n > 0) {
            if (items [1].revents & ZMQ_POLLIN)
                ih_zap_handle (self->zap, s_zap_decide, self);
            if (items [2].revents & ZMQ_POLLIN)
                s_monitor_event (self);
            if ((items [0].revents & ZMQ_POLLIN) && s_drain (self) < 0) {
                ih_broker_log ('E', "socket failed: %s", zmq_strerror (zmq_errno ()));
                rc = -1;
                break;
            }
        }
        more = ih_broker_refill_all (self);
        ih_broker_close_due (self);
        now = zclock_mono ();
        if (reload && *reload) {
            *reload = 0;
            s_registry_reload (self, "SIGHUP");
        }
        if (now >= self->next_tick) {
            self->next_tick = now + S_TICK;
            if (ih_registry_changed (self->registry))
                s_registry_reload (self, "changed");
            s_expire (self);
            s_sweep_silent (self);
            ih_log_limited_flush (false);
        }
        if (now >= self->next_status) {
            self->next_status = now + 1000;
            s_write_status (self);
        }
        fflush (stderr);
    }
    s_write_status (self);
    ih_log_limited_flush (true);
    ih_broker_log ('I', "stopping: head %" PRIu64 ", %" PRIu64 " messages in, %" PRIu64 " out",
                   ih_journal_head (self->journal), self->messages_in, self->messages_out);
    fflush (stderr);
    return rc;
}

