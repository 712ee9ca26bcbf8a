/*  ih_broker_deliver.c: fan-out and refill. See ih_broker.h ("Delivery", "Sessions")
    and ih_broker_int.h.

    Live delivery sends a committed batch to the live sessions, one shared set of
    deliver frames per distinct plan; refill serves the lagging sessions from the
    journal, round-robin under a scan budget. Both decide on the same journaled metadata
    (ih_jitem_entitled, ih_filter_pass), so a session that falls back to the journal and
    catches up again gets exactly what it would have got live.
*/
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ih_broker_int.h"

#define S_REFILL_BYTES   (256 * 1024)   //  bytes per deliver frame (live or refill)
#define S_REFILL_SCAN    4096           //  records examined per refill, at most
#define S_SCAN_BUDGET    16384          //  records examined per loop, all refills together
#define S_SCAN_QUANTUM   256            //  a lagging session's share, at least

/* ---- live delivery ------------------------------------------------------------------ */
static void
s_lag (ih_broker_t *self, ih_broker_peer_t *p, const char *why)
{
    if (p->state == IH_SESSION_LIVE)
        ih_broker_log ('D', "%s lags at seq %" PRIu64 ": %s", p->label, p->pos, why);
    ih_broker_session_set_state (self, p, IH_SESSION_LAGGING);
}

//  Delivery of a committed batch to the live sessions.
//
//  Each live session gets the batch's messages it is entitled to (and its filters let
//  through), as far as its window allows: its "plan", a bitmap over the batch. Sessions
//  with the same plan share the same deliver frames: each is encoded once, kept in a
//  zmq_msg_t and sent to every one of them by reference (zmq_msg_copy), so the cost per
//  recipient is a routing-id frame and a reference count, never an allocation or an
//  encoding. When the batch holds one message this is exactly "encode once, send to
//  all"; under load, several messages travel in one frame (up to 256 items / 256 KiB),
//  which divides the CURVE cost per delivered message on both ends.
static int
s_plan_cmp (const void *a, const void *b)
{
    const ih_broker_peer_t *x = *(ih_broker_peer_t *const *) a, *y = *(ih_broker_peer_t *const *) b;
    return memcmp (x->plan, y->plan, sizeof x->plan);
}

static bool
s_plan_has (const ih_broker_peer_t *p, size_t i)
{
    return (p->plan [i / 64] >> (i % 64)) & 1;
}

//  Builds the plan of a live session; false when it gets nothing from this batch.
static bool
s_plan_make (ih_broker_t *self, ih_broker_peer_t *p)
{
    memset (p->plan, 0, sizeof p->plan);
    uint32_t room = p->window - p->ring_count;
    uint64_t bytes = p->inflight;
    uint64_t pos = p->pos;
    bool cut = false, any = false;
    for (size_t i = 0; i < self->nfresh; i++) {
        const ih_jitem_t *it = &self->fresh [i];
        if (!ih_jitem_entitled (it, &p->member) || !ih_filter_pass (&p->filter, it)) {
            if (!cut)
                pos = self->fresh_seq [i];      //  skipped, as replay skips it
            continue;
        }
        if (cut || room == 0 || bytes >= IH_BROKER_WINDOW_BYTES) {
            cut = true;
            continue;
        }
        p->plan [i / 64] |= 1ull << (i % 64);
        room--;
        bytes += ih_broker_item_size (it->body_len, it->rec_len);
        any = true;
        pos = self->fresh_seq [i];
    }
    p->plan_pos = pos;
    p->plan_lag = cut;
    return any;
}

//  Encodes the deliver frames of one plan into self->chunks; returns how many.
static size_t
s_plan_encode (ih_broker_t *self, const ih_broker_peer_t *p)
{
    size_t nchunks = 0, n = 0, bytes = 0;
    ih_err_t err;
    for (size_t i = 0; i <= self->nfresh; i++) {
        bool has = i < self->nfresh && s_plan_has (p, i);
        size_t size = 0;
        if (has) {
            const ih_jitem_t *it = &self->fresh [i];
            size = ih_broker_item_size (it->body_len, it->rec_len);
        }
        //  close the chunk being built at the end, or when this item would overflow it
        if (n > 0 && (i == self->nfresh || (has && (n == IH_BROKER_REFILL_ITEMS
                                                 || bytes + size > S_REFILL_BYTES)))) {
            ih_env_init (&self->out_env, IH_T_DELIVER);
            self->out_env.items = self->items;
            self->out_env.item_count = (uint32_t) n;
            zmq_msg_t *frame = &self->chunks [nchunks];
            if (ih_env_encode (&self->out_env, &self->out, &err)) {
                ih_broker_log ('E', "cannot encode a deliver: %s", err.msg);
                zmq_msg_init (frame);           //  an empty frame: the agent rejects it
            }
            else {
                zmq_msg_init_size (frame, self->out.len);
                memcpy (zmq_msg_data (frame), self->out.data, self->out.len);
            }
            self->chunk_items [nchunks] = (uint32_t) n;
            nchunks++;
            n = 0;
            bytes = 0;
        }
        if (has) {
            const ih_jitem_t *it = &self->fresh [i];
            if (n == 0)
                self->chunk_first [nchunks] = (uint32_t) i;
            self->items [n++] = (ih_item_t) { self->fresh_seq [i], it->body, it->body_len, it->sig,
                                              it->rec, it->rec_len, it->rec_sig };
            bytes += size;
        }
    }
    return nchunks;
}

//  Sends the encoded chunks to one session of the plan.
static void
s_plan_send (ih_broker_t *self, ih_broker_peer_t *p, size_t nchunks)
{
    for (size_t c = 0; c < nchunks; c++) {
        int eno = ih_broker_send_msg (self, p->rid, &self->chunks [c]);
        if (eno == EAGAIN) {
            //  resume with this chunk's first message, from the journal
            p->pos = self->fresh_seq [self->chunk_first [c]] - 1;
            p->blocked_until = zclock_mono () + IH_BROKER_BLOCKED_RETRY;
            s_lag (self, p, "queue full");
            return;
        }
        if (eno) {
            ih_broker_peer_drop (self, p, "disconnected");
            return;
        }
        for (size_t i = self->chunk_first [c], k = 0; k < self->chunk_items [c]; i++)
            if (s_plan_has (p, i)) {
                const ih_jitem_t *it = &self->fresh [i];
                ih_broker_ring_push (p, self->fresh_seq [i],
                                     ih_broker_item_size (it->body_len, it->rec_len));
                k++;
            }
        self->messages_out += self->chunk_items [c];
    }
    p->pos = p->plan_pos;
    if (p->plan_lag)
        s_lag (self, p, "window full");
}

void
ih_broker_deliver_batch (ih_broker_t *self)
{
    if (self->nfresh == 0)
        return;
    uint64_t first = self->fresh_seq [0];
    if (self->plan_cap < self->session_count) {
        self->plan_cap = self->session_count * 2 + 16;
        free (self->plan_peers);
        self->plan_peers = calloc (self->plan_cap, sizeof *self->plan_peers);
        if (!self->plan_peers)
            abort ();
    }
    size_t np = 0;
    for (ih_broker_peer_t *p = self->first; p; p = p->next) {
        if (p->state != IH_SESSION_LIVE)
            continue;
        if (p->pos != first - 1) {
            s_lag (self, p, "out of step");     //  never expected: replay repairs it
            continue;
        }
        if (np == self->plan_cap)
            s_lag (self, p, "no plan slot");    //  cannot happen: plan_cap >= sessions
        else
        if (s_plan_make (self, p))
            self->plan_peers [np++] = p;
        else {
            p->pos = p->plan_pos;
            if (p->plan_lag)
                s_lag (self, p, "window full");
        }
    }
    if (np > 1)
        qsort (self->plan_peers, np, sizeof *self->plan_peers, s_plan_cmp);
    for (size_t a = 0; a < np; ) {
        size_t b = a + 1;
        while (b < np && s_plan_cmp (&self->plan_peers [a], &self->plan_peers [b]) == 0)
            b++;
        size_t nchunks = s_plan_encode (self, self->plan_peers [a]);
        for (size_t k = a; k < b; k++)
            s_plan_send (self, self->plan_peers [k], nchunks);
        for (size_t c = 0; c < nchunks; c++)
            zmq_msg_close (&self->chunks [c]);
        a = b;
    }
}

/* ---- replay: refilling a lagging session from the journal --------------------------- */
//  Sends the next deliver of a lagging session (up to 256 items / 256 KiB, and no more
//  than its window allows), examining at most max_scan journal records (how many it
//  examined goes to *scanned_p). Returns true when it did some work that may continue.
//  The journal could not be read where p's replay stands (a damaged page, an I/O
//  error): the session waits, twice as long each time up to 10 s, and says so once,
//  not once a loop (a hundred lines a second); the next read that works says so too.
static void
s_replay_failed (ih_broker_t *self, ih_broker_peer_t *p, const char *why)
{
    p->replay_retry_ms = p->replay_retry_ms ? p->replay_retry_ms * 2 : IH_BROKER_REPLAY_RETRY;
    if (p->replay_retry_ms > IH_BROKER_REPLAY_RETRY_MAX)
        p->replay_retry_ms = IH_BROKER_REPLAY_RETRY_MAX;
    p->blocked_until = zclock_mono () + p->replay_retry_ms;
    if (!p->replay_stalled)
        ih_broker_log ('E', "replay for %s stalls after seq %" PRIu64 ": %s; retrying every "
                       "%d s at most (check the journal: infohub-broker --verify; README, "
                       "Recovery)", p->label, p->pos, why, IH_BROKER_REPLAY_RETRY_MAX / 1000);
    p->replay_stalled = true;
}

static void
s_replay_ok (ih_broker_peer_t *p)
{
    if (p->replay_stalled)
        ih_broker_log ('I', "replay for %s goes on after seq %" PRIu64, p->label, p->pos);
    p->replay_stalled = false;
    p->replay_retry_ms = 0;
}

static bool
s_refill (ih_broker_t *self, ih_broker_peer_t *p, uint32_t max_scan, uint32_t *scanned_p)
{
    *scanned_p = 0;
    ih_err_t err;
    uint32_t room = p->window - p->ring_count;
    if (room > IH_BROKER_REFILL_ITEMS)
        room = IH_BROKER_REFILL_ITEMS;
    if (ih_journal_scan_begin (self->journal, p->pos, &err)) {
        s_replay_failed (self, p, err.msg);
        return false;
    }
    uint32_t n = 0, scanned = 0;
    size_t bytes = 0;
    uint64_t last = p->pos;
    bool at_end = false;
    while (n < room && scanned < max_scan && p->inflight + bytes < IH_BROKER_WINDOW_BYTES) {
        uint64_t seq;
        const uint8_t *data;
        size_t len;
        int got = ih_journal_scan_next (self->journal, &seq, &data, &len, &err);
        if (got == 0) {
            at_end = true;
            break;
        }
        if (got < 0) {
            if (n == 0 && last == p->pos) {
                ih_journal_scan_end (self->journal);
                s_replay_failed (self, p, err.msg);
                return false;
            }
            break;                  //  send what was read; the next round meets it again
        }
        scanned++;
        ih_jitem_t it;
        if (ih_jitem_decode (&it, data, len, &err)) {
            //  Each session that replays past it would say so: once per record and interval
            char key [48];
            snprintf (key, sizeof key, "journal seq %" PRIu64, seq);
            ih_log_limited (key, 'E', "broker", "journal seq %" PRIu64 " skipped (damaged: "
                            "infohub-broker --verify): %s", seq, err.msg);
            last = seq;
            continue;
        }
        if (!ih_jitem_entitled (&it, &p->member) || !ih_filter_pass (&p->filter, &it)) {
            last = seq;
            continue;
        }
        size_t size = ih_broker_item_size (it.body_len, it.rec_len);
        if (n > 0 && bytes + size > S_REFILL_BYTES)
            break;
        self->items [n++] = (ih_item_t) { seq, it.body, it.body_len, it.sig, it.rec, it.rec_len,
                                          it.rec_sig };
        bytes += size;
        last = seq;
    }
    *scanned_p = scanned;
    bool progress = last != p->pos;
    if (progress || at_end)
        s_replay_ok (p);
    if (n > 0) {
        ih_env_init (&self->out_env, IH_T_DELIVER);
        self->out_env.items = self->items;
        self->out_env.item_count = n;
        int rc = ih_env_encode (&self->out_env, &self->out, &err);
        ih_journal_scan_end (self->journal);      //  the items borrowed the map until here
        if (rc) {
            ih_broker_log ('E', "cannot encode replay for %s: %s", p->label, err.msg);
            return false;
        }
        int eno = ih_broker_send_bytes (self, p->rid, self->out.data, self->out.len);
        if (eno == EAGAIN) {
            p->blocked_until = zclock_mono () + IH_BROKER_BLOCKED_RETRY;
            return false;                   //  nothing consumed: the same items next time
        }
        if (eno) {
            ih_broker_peer_drop (self, p, "disconnected");
            return false;
        }
        for (uint32_t i = 0; i < n; i++) {
            const ih_item_t *item = &self->items [i];
            ih_broker_ring_push (p, item->seq, ih_broker_item_size (item->body_len, item->rec_len));
        }
        self->messages_out += n;
    }
    else
        ih_journal_scan_end (self->journal);
    p->pos = last;
    if (at_end && p->pos >= ih_journal_head (self->journal)) {
        ih_broker_session_set_state (self, p, IH_SESSION_LIVE);
        ih_broker_log ('D', "%s caught up at seq %" PRIu64 ", live", p->label, p->pos);
        return false;
    }
    return progress;
}

//  One refill round over the lagging sessions (ih_broker_int.h).
//
//  The round examines at most S_SCAN_BUDGET journal records in all, each session at
//  most its share (the budget over the lagging sessions, S_SCAN_QUANTUM at least,
//  S_REFILL_SCAN at most), and starts where the previous round stopped: however many
//  sessions replay (say, with filters that match nothing), one loop iteration does
//  bounded work, live delivery goes on between rounds, and every replay advances in
//  turn (docs/ARCHITECTURE.md invariant 5).
bool
ih_broker_refill_all (ih_broker_t *self)
{
    if (self->lagging_count == 0 || !self->first)
        return false;
    bool more = false;
    int64_t now = zclock_mono ();
    uint32_t budget = S_SCAN_BUDGET;
    size_t share = S_SCAN_BUDGET / self->lagging_count;
    if (share < S_SCAN_QUANTUM)
        share = S_SCAN_QUANTUM;
    if (share > S_REFILL_SCAN)
        share = S_REFILL_SCAN;
    //  Visit every peer once, from refill_next round the list. Only p itself can be
    //  destroyed by its refill, and no peer is added meanwhile.
    ih_broker_peer_t *p = self->refill_next ? self->refill_next : self->first;
    size_t visits = zhashx_size (self->peers);
    for (size_t i = 0; i < visits && p; i++) {
        ih_broker_peer_t *next = p->next ? p->next : self->first;
        bool alone = next == p;
        if (budget == 0) {
            more = true;            //  out of budget: the rest start the next round
            self->refill_next = p;
            return more;
        }
        if (p->state == IH_SESSION_LAGGING && p->blocked_until <= now
        &&  !ih_broker_window_full (p)) {
            uint32_t scanned = 0;
            uint32_t max_scan = (uint32_t) (share < budget ? share : budget);
            if (s_refill (self, p, max_scan, &scanned) && p->state == IH_SESSION_LAGGING
            &&  !ih_broker_window_full (p))
                more = true;        //  p is valid here: s_refill returns false when it drops p
            budget -= scanned < budget ? scanned : budget;
        }
        if (alone) {
            p = NULL;               //  the only peer (maybe gone now)
            break;
        }
        p = next;
    }
    self->refill_next = p;          //  the round went round: start there next time
    return more;
}

