/*  ih_broker_session.c: peers and sessions. See ih_broker.h (the session states) and
    ih_broker_int.h.

    A peer is a connection (ROUTER routing id) that sent something, bound to the CURVE
    key it authenticated with; it holds a session after `hello`. Reading order: the peer
    table, the sessions of each member key, session states, the window ring, sending,
    the control messages (hello, ack, status), and resolving a message's sender.
*/
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "ih_broker_int.h"

/* ---- peer table --------------------------------------------------------------------- */
static size_t
s_rid_hash (const void *key)
{
    uint32_t v = *(const uint32_t *) key;
    v ^= v >> 16;
    v *= 0x45d9f3b;
    v ^= v >> 16;
    return v;
}

static int
s_rid_cmp (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

static uint32_t
s_rid_num (const uint8_t rid [5])
{
    return (uint32_t) rid [1] << 24 | (uint32_t) rid [2] << 16 | (uint32_t) rid [3] << 8 | rid [4];
}

void
ih_broker_label (char *out, size_t size, const ih_member_t *m)
{
    snprintf (out, size, "%s@%s", m->name, m->org);
}

static ih_broker_peer_t *
s_peer_find (ih_broker_t *self, const uint8_t rid [5])
{
    uint32_t key = s_rid_num (rid);
    return (ih_broker_peer_t *) zhashx_lookup (self->peers, &key);
}

//  Peers per member key: a count, kept as the hash's item (never 0 while present)
static size_t
s_key_peers (ih_broker_t *self, const char *z85)
{
    return (size_t) (uintptr_t) zhashx_lookup (self->key_peers, z85);
}

size_t
ih_broker_key_peers (ih_broker_t *self, const char *z85)
{
    return s_key_peers (self, z85);
}

static void
s_key_peers_add (ih_broker_t *self, const char *z85, int delta)
{
    size_t n = s_key_peers (self, z85) + (size_t) (ssize_t) delta;
    if (n)
        zhashx_update (self->key_peers, z85, (void *) (uintptr_t) n);
    else
        zhashx_delete (self->key_peers, z85);
}

static void s_peer_destroy (ih_broker_t *self, ih_broker_peer_t *p);

//  One member key holds at most max_peers peers: the one beyond makes the key's peer
//  that has been silent longest among those without a session be forgotten, and its
//  connection closed. A member that opens a thousand connections costs a thousand
//  handshakes, never a thousand descriptors or peers for long; its sessions are capped
//  apart (max_sessions < max_peers), so there is always one without a session.
static void
s_key_peers_cap (ih_broker_t *self, ih_broker_peer_t *newest)
{
    if (s_key_peers (self, newest->z85) <= self->max_peers)
        return;
    ih_broker_peer_t *idle = NULL;
    for (ih_broker_peer_t *p = self->first; p; p = p->next)
        if (p != newest && p->state == IH_SESSION_NONE && strcmp (p->z85, newest->z85) == 0
        &&  (!idle || p->last_heard < idle->last_heard))
            idle = p;
    if (!idle)
        return;
    ih_log_limited (newest->label, 'W', "broker", "%s holds more than %u connections: the one "
                    "silent longest (%" PRId64 " ms) was closed", newest->label, self->max_peers,
                    zclock_mono () - idle->last_heard);
    ih_broker_peer_close (self, idle, 0);
    s_peer_destroy (self, idle);
}

static ih_broker_peer_t *
s_peer_new (ih_broker_t *self, const uint8_t rid [5], const char *z85)
{
    ih_broker_peer_t *p = calloc (1, sizeof *p);
    if (!p)
        abort ();
    memcpy (p->rid, rid, 5);
    p->rid_num = s_rid_num (rid);
    p->fd = -1;
    snprintf (p->z85, sizeof p->z85, "%s", z85);
    snprintf (p->label, sizeof p->label, "key %.40s", z85);
    p->last_heard = zclock_mono ();
    ih_filter_clear (&p->filter);
    p->next = self->first;
    if (self->first)
        self->first->prev = p;
    self->first = p;
    zhashx_insert (self->peers, &p->rid_num, p);
    s_key_peers_add (self, z85, 1);
    return p;
}

//  Session lists per member key: a session joins its key's list when it starts and
//  leaves it when it ends; the list's head is the key's oldest session.
static ih_broker_keyset_t *
s_keyset (ih_broker_t *self, const char *z85, bool create)
{
    ih_broker_keyset_t *k = (ih_broker_keyset_t *) zhashx_lookup (self->keysets, z85);
    if (!k && create) {
        k = calloc (1, sizeof *k);
        if (!k)
            abort ();
        zhashx_insert (self->keysets, z85, k);
    }
    return k;
}

static void
s_keyset_join (ih_broker_t *self, ih_broker_peer_t *p)
{
    ih_broker_keyset_t *k = s_keyset (self, p->z85, true);
    p->knext = NULL;
    p->kprev = k->tail;
    if (k->tail)
        k->tail->knext = p;
    else
        k->head = p;
    k->tail = p;
    k->count++;
}

static void
s_keyset_leave (ih_broker_t *self, ih_broker_peer_t *p)
{
    ih_broker_keyset_t *k = s_keyset (self, p->z85, false);
    if (!k)
        return;                     //  cannot happen: joined when the session started
    if (p->kprev)
        p->kprev->knext = p->knext;
    else
        k->head = p->knext;
    if (p->knext)
        p->knext->kprev = p->kprev;
    else
        k->tail = p->kprev;
    p->kprev = p->knext = NULL;
    if (--k->count == 0)
        zhashx_delete (self->keysets, p->z85);      //  frees k (destructor)
}

static void
s_keyset_free (void **item)
{
    free (*item);
    *item = NULL;
}

void
ih_broker_session_set_state (ih_broker_t *self, ih_broker_peer_t *p, ih_session_state_t state)
{
    if (p->state == state)
        return;
    if (p->state == IH_SESSION_NONE) {
        self->session_count++;
        s_keyset_join (self, p);
    }
    if (state == IH_SESSION_NONE) {
        self->session_count--;
        s_keyset_leave (self, p);
    }
    if (p->state == IH_SESSION_LAGGING)
        self->lagging_count--;
    if (state == IH_SESSION_LAGGING)
        self->lagging_count++;
    p->state = state;
}

//  Ends a session (the peer stays known).
void
ih_broker_session_end (ih_broker_t *self, ih_broker_peer_t *p)
{
    ih_broker_session_set_state (self, p, IH_SESSION_NONE);
    p->ring_count = 0;
    p->ring_head = 0;
    p->inflight = 0;
    p->blocked_until = 0;
}

static void
s_peer_destroy (ih_broker_t *self, ih_broker_peer_t *p)
{
    ih_broker_session_end (self, p);
    if (self->refill_next == p)
        self->refill_next = p->next;
    if (p->close_at)
        self->closing--;
    if (p->fd >= 0 && (size_t) p->fd < self->fdmap_size && self->fdmap [p->fd].peer == p)
        self->fdmap [p->fd].peer = NULL;
    s_key_peers_add (self, p->z85, -1);
    zhashx_delete (self->peers, &p->rid_num);
    if (p->prev)
        p->prev->next = p->next;
    else
        self->first = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free (p->ring);
    free (p->ring_size);
    free (p);
}

void
ih_broker_peer_drop (ih_broker_t *self, ih_broker_peer_t *p, const char *why)
{
    if (p->state != IH_SESSION_NONE)
        ih_broker_log ('I', "session of %s ended: %s", p->label, why);
    else
        ih_broker_log ('D', "forgot peer %s: %s", p->label, why);
    s_peer_destroy (self, p);
}

/* ---- closing a connection ------------------------------------------------------------ */
uint64_t
ih_broker_fd_ident (int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    memset (&sa, 0, sizeof sa);
    if (fd < 0 || getpeername (fd, (struct sockaddr *) &sa, &len) != 0)
        return 0;
    uint64_t h = 14695981039346656037ULL;
    const uint8_t *b = (const uint8_t *) &sa;
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ b [i]) * 1099511628211ULL;
    return h ? h : 1;
}

bool
ih_broker_fd_shutdown (int fd, uint64_t ident)
{
    //  The descriptor is libzmq's: it may have been closed, and its number given to
    //  another connection (or file), since we learnt it. Only the same remote address
    //  on a connected socket is taken for the same connection.
    if (fd < 0 || !ident || ih_broker_fd_ident (fd) != ident)
        return false;
    struct linger lg = { 1, 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    return shutdown (fd, SHUT_RDWR) == 0;
}

void
ih_broker_peer_close (ih_broker_t *self, ih_broker_peer_t *p, int64_t delay_ms)
{
    if (delay_ms > 0) {
        if (!p->close_at)
            self->closing++;
        p->close_at = zclock_mono () + delay_ms;
        return;
    }
    if (p->close_at) {
        self->closing--;
        p->close_at = 0;
    }
    if (ih_broker_fd_shutdown (p->fd, p->fd_ident)) {
        self->closed++;
        ih_broker_log ('D', "connection of %s closed", p->label);
    }
}

void
ih_broker_conn_gone (ih_broker_t *self, ih_broker_conn_t *c)
{
    //  Only the peer of this very connection: the descriptor may be another one's by
    //  now, whose first message came in before the monitor told us of the first's end
    ih_broker_peer_t *p = c->peer;
    c->peer = NULL;
    if (p && p->fd_ident == c->ident && !p->tombstone)
        ih_broker_peer_drop (self, p, "disconnected");
}

void
ih_broker_close_due (ih_broker_t *self)
{
    if (!self->closing)
        return;
    int64_t now = zclock_mono ();
    for (ih_broker_peer_t *p = self->first; p && self->closing; p = p->next)
        if (p->close_at && p->close_at <= now)
            ih_broker_peer_close (self, p, 0);
}

/* ---- the table's life --------------------------------------------------------------- */
void
ih_broker_peers_init (ih_broker_t *self)
{
    self->peers = zhashx_new ();
    zhashx_set_key_hasher (self->peers, s_rid_hash);
    zhashx_set_key_comparator (self->peers, s_rid_cmp);
    zhashx_set_key_duplicator (self->peers, NULL);
    zhashx_set_key_destructor (self->peers, NULL);
    self->keysets = zhashx_new ();          //  string keys, copied
    zhashx_set_destructor (self->keysets, s_keyset_free);
    self->key_peers = zhashx_new ();        //  string keys, copied; counts as items
    self->admitted = zhashx_new ();
    zhashx_set_destructor (self->admitted, s_keyset_free);     //  free ()
}

void
ih_broker_peers_free (ih_broker_t *self)
{
    while (self->first)
        s_peer_destroy (self, self->first);
    zhashx_destroy (&self->peers);
    zhashx_destroy (&self->keysets);
    zhashx_destroy (&self->key_peers);
    zhashx_destroy (&self->admitted);
}

/* ---- window ring -------------------------------------------------------------------- */
//  What an item costs in a deliver frame, for the byte limits.
size_t
ih_broker_item_size (size_t body_len, size_t rec_len)
{
    return body_len + rec_len + 2 * IH_SIG_LEN + 32;
}

void
ih_broker_ring_push (ih_broker_peer_t *p, uint64_t seq, size_t size)
{
    //  callers check ring_count < window <= ring_cap
    uint32_t at = (p->ring_head + p->ring_count) % p->ring_cap;
    p->ring [at] = seq;
    p->ring_size [at] = (uint32_t) size;
    p->ring_count++;
    p->inflight += size;
    p->last_sent = seq;
}

static void
s_ring_ack (ih_broker_peer_t *p, uint64_t seq)
{
    while (p->ring_count && p->ring [p->ring_head] <= seq) {
        p->inflight -= p->ring_size [p->ring_head];
        p->ring_head = (p->ring_head + 1) % p->ring_cap;
        p->ring_count--;
    }
}

//  Full when the window (items) or the byte budget is used up: a slow agent pins at most
//  IH_BROKER_WINDOW_BYTES plus one item in the broker's queues, however large its items.
bool
ih_broker_window_full (const ih_broker_peer_t *p)
{
    return p->ring_count >= p->window || p->inflight >= IH_BROKER_WINDOW_BYTES;
}

/* ---- sending ------------------------------------------------------------------------ */
//  Sends rid + a prepared frame (copied by reference). Returns 0 or errno
//  (EAGAIN: the peer's queue is full; EHOSTUNREACH: the peer is gone).
int
ih_broker_send_msg (ih_broker_t *self, const uint8_t rid [5], zmq_msg_t *frame)
{
    if (zmq_send (self->rsock, rid, 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return zmq_errno ();
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, frame);
    if (zmq_msg_send (&copy, self->rsock, ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno ();
        zmq_msg_close (&copy);
        return e;
    }
    return 0;
}

//  Sends rid + bytes (copied). Returns 0 or errno.
int
ih_broker_send_bytes (ih_broker_t *self, const uint8_t rid [5], const uint8_t *data, size_t len)
{
    if (zmq_send (self->rsock, rid, 5, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return zmq_errno ();
    if (zmq_send (self->rsock, data, len, ZMQ_DONTWAIT) < 0)
        return zmq_errno ();
    return 0;
}

//  Encodes self->out_env and sends it. A reply that cannot leave is dropped with a
//  debug line: the peer is gone, or not reading at all (100,000 queued messages).
void
ih_broker_send_env (ih_broker_t *self, const uint8_t rid [5])
{
    ih_err_t err;
    if (ih_env_encode (&self->out_env, &self->out, &err)) {
        ih_broker_log ('E', "cannot encode %s: %s", ih_type_name (self->out_env.type), err.msg);
        return;
    }
    int eno = ih_broker_send_bytes (self, rid, self->out.data, self->out.len);
    if (eno)
        ih_broker_log ('D', "%s not sent: %s", ih_type_name (self->out_env.type),
                       zmq_strerror (eno));
}

void
ih_broker_send_error (ih_broker_t *self, const uint8_t rid [5], uint64_t req, const char *code,
                      const char *reason)
{
    ih_env_init (&self->out_env, IH_T_ERROR);
    self->out_env.req = req;
    self->out_env.code = code;
    self->out_env.reason = reason;
    ih_broker_send_env (self, rid);
}

void
ih_broker_send_ok (ih_broker_t *self, const uint8_t rid [5], uint64_t req, uint64_t seq,
                   const char *id)
{
    ih_env_init (&self->out_env, IH_T_OK);
    self->out_env.req = req;
    self->out_env.seq = seq;
    self->out_env.id = id;
    ih_broker_send_env (self, rid);
}

//  PROTOCOL.md 8, rate-limited: the reason says which limit and when to try again, and
//  so does retry_after, for programs.
void
ih_broker_send_limited (ih_broker_t *self, ih_broker_peer_t *p, uint64_t req, const char *what,
                        const char *which, uint64_t limit, uint64_t retry_ms, size_t bytes)
{
    char reason [256], value [32];
    bool day = streq (which, "bytes-per-day");
    ih_limit_format (limit, !streq (which, "messages-per-s"), value, sizeof value);
    ih_fmt (reason, sizeof reason, "rate: %s is over its %s limit (%s a %s); retry after %"
            PRIu64 " ms", p->label, which, value, day ? "day" : "second", retry_ms);
    self->rejected++;
    self->rate_limited++;
    ih_log_limited (p->label, 'W', "broker", "rejected %s from %s: rate-limited: over %s, "
                    "retry after %" PRIu64 " ms", what, p->label, which, retry_ms);
    ih_env_init (&self->out_env, IH_T_ERROR);
    self->out_env.req = req;
    self->out_env.code = "rate-limited";
    self->out_env.reason = reason;
    self->out_env.retry_after = retry_ms < IH_RETRY_AFTER_MAX ? retry_ms : IH_RETRY_AFTER_MAX;
    ih_broker_send_env (self, p->rid);
    //  A client that honours retry_after gets a few of these at a time; one that keeps
    //  sending regardless makes the broker read, decrypt and refuse each message, which
    //  costs the others (a 900 KB frame is a millisecond of ZeroMQ's I/O thread): it is
    //  cut off, its connection closed and its key refused at the handshake for
    //  IH_BROKER_COOL_OFF ms (ZAP 300: later)
    int64_t now = zclock_mono ();
    if (now - p->refusals_since > IH_BROKER_FLOOD_WINDOW) {
        p->refusals_since = now;
        p->refusals = 0;
        p->refused_bytes = 0;
    }
    p->refused_bytes += bytes;
    if (++p->refusals > IH_BROKER_FLOOD_REFUSALS || p->refused_bytes > IH_BROKER_FLOOD_BYTES) {
        ih_broker_log ('W', "%s ignored %u rate-limited answers (%" PRIu64 " KiB) in %d s: "
                       "connection closed, and its key refused for %d s", p->label, p->refusals,
                       p->refused_bytes >> 10, IH_BROKER_FLOOD_WINDOW / 1000, IH_BROKER_COOL_OFF / 1000);
        ih_limiter_cool_off (self->limiter, p->z85, now + IH_BROKER_COOL_OFF);
        ih_broker_session_end (self, p);
        p->tombstone = true;            //  what it queued before the close is dropped unread
        p->last_heard = now;
        ih_broker_peer_close (self, p, 0);
    }
}

/* ---- control messages --------------------------------------------------------------- */
void
ih_broker_on_hello (ih_broker_t *self, ih_broker_peer_t *p, const ih_env_t *e)
{
    ih_err_t err;
    ih_filter_t filter;
    if (ih_filter_set (&filter, &e->categories, &e->sectors, e->min_severity, &err)) {
        self->rejected++;
        ih_broker_log ('W', "rejected hello from %s: bad-frame: %s", p->label, err.msg);
        ih_broker_send_error (self, p->rid, 0, "bad-frame", err.msg);
        return;
    }
    uint64_t head = ih_journal_head (self->journal);
    if (e->cursor > head) {
        char reason [128];
        snprintf (reason, sizeof reason, "cursor: %" PRIu64 " is above the broker's head %" PRIu64,
                  e->cursor, head);
        self->rejected++;
        ih_broker_log ('W', "rejected hello from %s: bad-cursor: %s", p->label, reason);
        ih_broker_session_end (self, p);
        ih_broker_send_error (self, p->rid, 0, "bad-cursor", reason);
        return;
    }
    //  At most max_sessions sessions per member key, decided before any replay starts.
    //  When the key's oldest session has been silent for two heartbeats (its agent pings
    //  every heartbeat: the connection is probably dead, not yet expired), a new hello
    //  ends it, and the ended session is told `busy`: a reconnecting agent gets in at
    //  once. Otherwise the new hello is refused with `busy` and starts nothing, so a
    //  member that opens many connections makes the broker start at most max_sessions
    //  replays every two heartbeats, not one a hello.
    if (p->state == IH_SESSION_NONE) {
        ih_broker_keyset_t *k = s_keyset (self, p->z85, false);
        const char *noun = ih_plural (self->max_sessions, "session", "sessions");
        int64_t now = zclock_mono ();
        while (k && k->count >= self->max_sessions) {
            ih_broker_peer_t *old = k->head;
            char reason [192];
            if (now - old->last_heard < 2 * (int64_t) self->heartbeat) {
                ih_fmt (reason, sizeof reason, "session: member %s already has %u %s, all of "
                        "them alive; this one was refused", p->label, self->max_sessions, noun);
                self->rejected++;
                ih_log_limited (p->label, 'W', "broker", "refused hello from %s: busy: %u %s of "
                                "its key, all alive", p->label, self->max_sessions, noun);
                ih_broker_send_error (self, p->rid, 0, "busy", reason);
                return;
            }
            ih_fmt (reason, sizeof reason, "session: member %s has more than %u %s; "
                      "this one, silent for %" PRId64 " ms, was ended", old->label,
                      self->max_sessions, noun, now - old->last_heard);
            ih_broker_log ('W', "session of %s (%s) ended: busy: %u %s of its key, and it "
                           "was silent for %" PRId64 " ms", old->label, old->agent,
                           self->max_sessions, noun, now - old->last_heard);
            ih_broker_session_end (self, old);
            ih_broker_send_error (self, old->rid, 0, "busy", reason);
            k = s_keyset (self, p->z85, false);
        }
    }
    uint32_t window = e->window;
    if (window < 1)
        window = 1;
    if (window > self->max_window)
        window = self->max_window;
    if (p->ring_cap < window) {
        free (p->ring);
        free (p->ring_size);
        p->ring = calloc (window, sizeof *p->ring);
        p->ring_size = calloc (window, sizeof *p->ring_size);
        if (!p->ring || !p->ring_size)
            abort ();
        p->ring_cap = window;
    }
    p->window = window;
    p->ring_head = p->ring_count = 0;
    p->inflight = 0;
    p->pos = p->last_sent = e->cursor;
    p->blocked_until = 0;
    p->filter = filter;
    snprintf (p->agent, sizeof p->agent, "%s", e->agent && *e->agent ? e->agent : "-");
    bool restart = p->state != IH_SESSION_NONE;
    ih_broker_session_set_state (self, p, e->cursor == head ? IH_SESSION_LIVE : IH_SESSION_LAGGING);
    if (e->cursor < head)
        self->replays++;

    ih_env_init (&self->out_env, IH_T_WELCOME);
    self->out_env.head = head;
    self->out_env.owed = ih_owed_get (self->owed, &p->member);
    self->out_env.member = p->member.name;
    self->out_env.org = p->member.org;
    self->out_env.heartbeat = self->heartbeat;
    ih_broker_send_env (self, p->rid);
    ih_broker_log ('I', "%s %s (%s) from cursor %" PRIu64 ", head %" PRIu64 ", window %u%s",
                   restart ? "session restarted:" : "session:", p->label, p->agent, e->cursor, head,
                   window, e->cursor < head ? ": replaying" : "");
}

void
ih_broker_on_ack (ih_broker_t *self, ih_broker_peer_t *p, const ih_env_t *e)
{
    if (e->seq > p->last_sent) {
        ih_broker_log ('D', "ack %" PRIu64 " from %s ignored: last sent %" PRIu64,
                       e->seq, p->label, p->last_sent);
        return;
    }
    s_ring_ack (p, e->seq);
}

void
ih_broker_on_status (ih_broker_t *self, ih_broker_peer_t *p)
{
    char json [1024];
    ih_broker_stats (self, json, sizeof json);
    ih_env_init (&self->out_env, IH_T_STATS);
    self->out_env.json = json;
    ih_broker_send_env (self, p->rid);
}

/*  The roster: what a member's console shows under "Members" and offers as recipients.
    Each record goes as the registry signed it, so the agent verifies it against the key
    it pinned and a broker cannot add a member to the list. Revoked members are left out
    (the broker admits them no more; a record carries no revocation the agent could
    check). The gateway identity is a reader with no org to address: it asks nothing
    of this, and is told so. */
void
ih_broker_on_roster (ih_broker_t *self, ih_broker_peer_t *p)
{
    if (p->member.gateway) {
        ih_broker_send_error (self, p->rid, 0, "bad-type", "t: 'roster' is not answered to the gateway identity");
        return;
    }
    size_t n = ih_registry_size (self->registry);
    ih_record_t *recs = (ih_record_t *) calloc (n ? n : 1, sizeof *recs);
    if (!recs)
        abort ();
    uint32_t count = 0;
    size_t bytes = 64;
    for (size_t i = 0; i < n && count < IH_MAX_MEMBERS; i++) {
        const ih_reg_entry_t *e = ih_registry_at (self->registry, i);
        if (!e || e->revoked)
            continue;
        //  Each entry costs its record, its signature and a few header bytes.
        size_t cost = e->rec_len + IH_SIG_LEN + 16;
        if (bytes + cost > IH_MAX_FRAME) {
            ih_broker_log ('W', "roster for %s: the registry does not fit one frame; sent %u members",
                           p->label, count);
            break;
        }
        bytes += cost;
        recs [count++] = (ih_record_t) { e->rec_bytes, e->rec_len, e->rec_sig };
    }
    ih_env_init (&self->out_env, IH_T_MEMBERS);
    self->out_env.records = recs;
    self->out_env.record_count = count;
    ih_broker_send_env (self, p->rid);
    self->out_env.records = NULL;
    self->out_env.record_count = 0;
    free (recs);
    ih_broker_log ('D', "roster for %s: %u members", p->label, count);
}

/* ---- resolving the sender ----------------------------------------------------------- */
//  A routing id is bound to the CURVE key it came with; the member is looked up again
//  by that key on every message, so a revocation takes effect on the next one.
ih_broker_peer_t *
ih_broker_resolve (ih_broker_t *self, const uint8_t rid [5], const char *z85, int fd,
                   const ih_reg_entry_t **entry_p)
{
    ih_broker_peer_t *p = s_peer_find (self, rid);
    if (p && strcmp (p->z85, z85) != 0) {
        //  A routing id is never reused by one ROUTER; if it ever were, forget the old state
        s_peer_destroy (self, p);
        p = NULL;
    }
    if (p && p->tombstone) {
        p->last_heard = zclock_mono ();
        return NULL;                        //  told once already (its connection is closing)
    }
    const ih_reg_entry_t *entry = ih_registry_by_curve (self->registry, z85);
    if (!entry || entry->revoked) {
        char reason [128];
        const char *code = entry ? "revoked" : "not-registered";
        if (entry)
            ih_fmt (reason, sizeof reason, "member %s@%s is revoked", entry->rec.name,
                      entry->rec.org);
        else
            snprintf (reason, sizeof reason, "key %s is not registered", z85);
        if (!p)
            p = s_peer_new (self, rid, z85);
        if (entry)
            ih_broker_label (p->label, sizeof p->label, &entry->rec);
        else
            snprintf (p->label, sizeof p->label, "key %.40s", z85);
        ih_broker_session_end (self, p);
        p->tombstone = true;
        p->last_heard = zclock_mono ();
        self->rejected++;
        ih_log_limited (p->label, 'W', "broker", "refused message from %s: %s", p->label, code);
        ih_broker_send_error (self, rid, 0, code, reason);
        if (p->fd < 0) {
            p->fd = fd;
            p->fd_ident = ih_broker_fd_ident (fd);
        }
        ih_broker_peer_close (self, p, IH_BROKER_CLOSE_DELAY);
        return NULL;
    }
    if (!p) {
        p = s_peer_new (self, rid, z85);
        p->fd = fd;
        p->fd_ident = ih_broker_fd_ident (fd);
        if (fd >= 0 && (size_t) fd < self->fdmap_size && self->fdmap [fd].open
        &&  self->fdmap [fd].ident == p->fd_ident)
            self->fdmap [fd].peer = p;
        //  one of the key's admitted connections has spoken
        ih_broker_admitted_t *a = (ih_broker_admitted_t *) zhashx_lookup (self->admitted, z85);
        if (a && a->count)
            a->count--;
        ih_broker_label (p->label, sizeof p->label, &entry->rec);
        s_key_peers_cap (self, p);
    }
    p->member = entry->rec;
    ih_broker_label (p->label, sizeof p->label, &entry->rec);
    p->last_heard = zclock_mono ();
    *entry_p = entry;
    return p;
}

