/*  ih_broker_publish.c: the publish pipeline. See ih_broker.h and ih_broker_int.h.

    A batch of up to 256 publishes goes through four steps: taken as each arrives
    (ih_broker_publish_take, after its limits), then on the verifier stage the checks
    without state (strict decode, role, signer) and the signature of each, on every core
    (ih_sigpool_run), then here the rules with state (ih_admit.h, on the journal's index)
    and the journal in ONE write transaction, then the answers, in order, and the
    delivery of the new messages (ih_broker_deliver.c). The stage verifies batch n+1
    while this thread commits and delivers batch n (ih_broker_batch_push).
*/
#include <inttypes.h>
#include <string.h>

#include "ih_broker_int.h"
#include "ih_admit.h"

#define S_DELIVER_SLACK  512            //  bytes a deliver adds to a body and a record

/* ---- the publish pipeline: 1. checks without state ---------------------------------- */
static void s_slot_reject (ih_broker_slot_t *s, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_slot_reject (ih_broker_slot_t *s, const char *code, const char *fmt, ...)
{
    s->code = code;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (s->reason, sizeof s->reason, fmt, ap);
    va_end (ap);
}

void
ih_broker_publish_take (ih_broker_slot_t *s, const ih_env_t *env)
{
    s->code = NULL;
    s->pending = true;
    s->fresh = false;
    s->req = env->req;
    s->body = env->body;
    s->body_len = env->body_len;
    s->sig = env->sig;
}

//  Strict decode, role (for the kind), signer = the authenticated member, deliverable
//  size; false (and s->code) when the publish is refused. On the verifier stage: it
//  writes only s, and reads the sender's registry entry, which stays put until the
//  batch is answered (the registry is reloaded between drains only).
static bool
s_publish_check (ih_broker_slot_t *s)
{
    const ih_member_t *rec = &s->entry->rec;
    s->pending = false;
    if (rec->gateway) {
        s_slot_reject (s, "not-publisher", "role: %s is the public gateway identity, which "
                       "publishes nothing", s->label);
        return false;
    }
    ih_err_t err;
    if (ih_body_decode (&s->msg, s->body, s->body_len, &err)) {
        s_slot_reject (s, "bad-message", "%s", err.msg);
        return false;
    }
    s->msg_live = true;
    const ih_msg_t *m = &s->msg;
    //  Readers collaborate (comments, sightings); only publishers publish, revise and
    //  retract alerts (ih_role_may_send, the same rule agents apply to what they receive)
    if (!ih_role_may_send (rec, m->kind)) {
        s_slot_reject (s, "not-publisher", "role: member %s has the role %s, which may not "
                       "send a%s %s", s->label, ih_role_name (rec->role),
                       m->kind == IH_KIND_ALERT ? "n" : "", ih_kind_name (m->kind));
        return false;
    }
    if (strcmp (m->org, rec->org) != 0) {
        s_slot_reject (s, "signer-mismatch", "org: '%s' is not the org of %s", m->org, s->label);
        return false;
    }
    if (strcmp (m->member, rec->name) != 0) {
        s_slot_reject (s, "signer-mismatch", "member: '%s' is not the authenticated member %s",
                       m->member, s->label);
        return false;
    }
    if (memcmp (m->signer, rec->sign, IH_PK_LEN) != 0) {
        s_slot_reject (s, "signer-mismatch", "signer: not the signing key of %s", s->label);
        return false;
    }
    if (s->body_len + s->entry->rec_len + S_DELIVER_SLACK > IH_MAX_FRAME) {
        s_slot_reject (s, "bad-message", "body: too large to deliver (%zu bytes, at most %zu)",
                       s->body_len,
                       (size_t) IH_MAX_FRAME - s->entry->rec_len - S_DELIVER_SLACK);
        return false;
    }
    s->pending = true;
    return true;
}

//  One publish of a batch on the pool: the checks without state, then its signature
//  (only for a publish that passed them: a body that does not decode costs no verify).
static void
s_verify_one (void *arg, size_t i)
{
    ih_broker_batch_t *b = (ih_broker_batch_t *) arg;
    ih_broker_slot_t *s = &b->slots [i];
    if (!s->pending || !s_publish_check (s))
        return;
    if (ih_verify (s->sig, IH_CTX_MSG, s->body, s->body_len, s->entry->rec.sign, NULL) != 0) {
        s->pending = false;
        s_slot_reject (s, "bad-signature", "sig: bad signature (not made by %s's key "
                       "over this body)", s->label);
    }
}

//  The verifier stage's job: every publish of the batch, on every core.
static void
s_batch_verify (void *arg)
{
    ih_broker_batch_t *b = (ih_broker_batch_t *) arg;
    ih_sigpool_run (b->sigpool, s_verify_one, b, b->nslots);
}

/* ---- the publish pipeline: 2. rules with state, journal ----------------------------- */
//  The error code a publish refused by the rules gets (ih_admit.h, the broker's column).
static const char *
s_admit_code (ih_admit_t v)
{
    switch (v) {
        case IH_ADMIT_SAME_REV:
        case IH_ADMIT_STALE:         return "stale-revision";
        case IH_ADMIT_DUPLICATE_REV:
        case IH_ADMIT_ID_TAKEN:      return "duplicate-id";
        case IH_ADMIT_NOT_OWNER:     return "not-owner";
        case IH_ADMIT_UNKNOWN_ALERT: return "unknown-alert";
        case IH_ADMIT_NARROWS:
        case IH_ADMIT_REF_REQUIRED:  return "bad-message";
        default:                     return "internal";     //  not a refusal: never asked
    }
}

//  Applies the stateful rules (ih_admit.h) to one checked publish inside the write
//  transaction, on the journal's index, and appends it when it passes. Returns IH_OK
//  (accepted, resend, or s->code set), IH_EMAPFULL (the transaction is gone), or
//  IH_EFAIL (journal failure, err set; the transaction is still open).
static int
s_publish_apply (ih_broker_t *self, ih_broker_slot_t *s, ih_err_t *err)
{
    if (!s->pending)
        return IH_OK;               //  refused already: s->code says why
    const ih_msg_t *m = &s->msg;
    const ih_member_t *sender = &s->entry->rec;
    s->code = NULL;
    s->fresh = false;
    s->seq = 0;
    uint8_t hash [IH_HASH_LEN];
    ih_journal_hash (s->body, s->body_len, hash);
    int found = ih_journal_index_get (self->journal, m->id, &self->xid, err);
    if (found < 0)
        return IH_EFAIL;
    uint32_t rev = m->kind == IH_KIND_ALERT ? m->revision : 0;
    uint64_t old_seq = 0;
    ih_admit_held_t held = { false };
    if (found) {
        const ih_jindex_t *x = &self->xid;
        uint8_t h [IH_HASH_LEN];
        held = (ih_admit_held_t) { true, x->kind, x->org, x->latest_rev, x->tlp, &x->recipients,
                                   IH_ADMIT_REV_ABSENT };
        if (ih_jindex_rev (x, rev, &old_seq, h))
            held.rev = memcmp (h, hash, IH_HASH_LEN) == 0 ? IH_ADMIT_REV_SAME : IH_ADMIT_REV_OTHER;
    }
    ih_err_t why;
    ih_admit_t v = ih_admit_id (&held, m, sender, &why);
    if (v == IH_ADMIT_RESEND) {
        s->seq = old_seq;               //  an identical resend: its original seq
        return IH_OK;
    }
    if (!ih_admit_ok (v)) {
        s_slot_reject (s, s_admit_code (v), "%s", why.msg);
        return IH_OK;
    }
    ih_jitem_t it;
    memset (&it, 0, offsetof (ih_jitem_t, ptrs_));
    it.kind = m->kind;
    memcpy (it.id, m->id, sizeof it.id);
    memcpy (it.ref, m->ref, sizeof it.ref);
    it.rev = rev;
    it.body = s->body;
    it.body_len = s->body_len;
    it.sig = s->sig;
    it.rec = s->entry->rec_bytes;
    it.rec_len = s->entry->rec_len;
    it.rec_sig = s->entry->rec_sig;
    if (m->kind == IH_KIND_ALERT) {
        it.category = m->category;
        it.severity = m->severity;
        it.sectors = m->sectors;
        it.ent [0] = (ih_ent_t) { m->tlp, m->org, m->recipients };
        it.ent_count = 1;
    }
    else {
        //  What the ref names: a retraction or comment always has one (REF_REQUIRED
        //  otherwise), so past the rules a is NULL only for a sighting of no alert
        const ih_jindex_t *a = NULL;
        held = (ih_admit_held_t) { false };
        if (m->ref [0]) {
            int got = ih_journal_index_get (self->journal, m->ref, &self->xref, err);
            if (got < 0)
                return IH_EFAIL;
            if (got) {
                a = &self->xref;
                held = (ih_admit_held_t) { true, a->kind, a->org, a->latest_rev, a->tlp,
                                           &a->recipients, IH_ADMIT_REV_UNTRACKED };
            }
        }
        v = ih_admit_ref (&held, m, sender, &why);
        if (!ih_admit_ok (v)) {
            s_slot_reject (s, s_admit_code (v), "%s", why.msg);
            return IH_OK;
        }
        if (m->kind == IH_KIND_SIGHTING) {
            it.ent [0] = (ih_ent_t) { m->tlp, m->org, { NULL, 0, 0 } };
            it.ent_count = 1;
            if (a) {
                it.ent [1] = (ih_ent_t) { a->tlp, a->org, a->recipients };
                it.ent_count = 2;
            }
        }
        else {
            it.ent [0] = (ih_ent_t) { a->tlp, a->org, a->recipients };
            it.ent_count = 1;
        }
    }
    uint64_t seq;
    int rc = ih_journal_append (self->journal, &it, &seq, err);
    if (rc)
        return rc;
    size_t len;
    const uint8_t *rec = ih_journal_record (self->journal, &len);
    ih_buf_reset (&s->rec);
    ih_buf_append (&s->rec, rec, len);
    s->seq = seq;
    s->fresh = true;
    ih_owed_stage (self->owed, &it, seq);      //  written with the batch (s_batch_commit)
    ih_limiter_stage (self->limiter, s->entry->curve_z85, s->body_len);     //  and the day's quota
    return IH_OK;
}

//  Journals the batch in one transaction; grows the map and redoes the batch when it is
//  full. On a journal failure every publish of the batch gets `internal`.
static void
s_batch_commit (ih_broker_t *self, ih_broker_batch_t *b)
{
    ih_err_t err;
    int rc = IH_EFAIL;
    for (int attempt = 0; attempt < 40; attempt++) {
        if (ih_journal_begin (self->journal, &err)) {
            rc = IH_EFAIL;
            break;
        }
        rc = IH_OK;
        ih_owed_discard (self->owed);
        ih_limiter_discard (self->limiter);
        for (size_t i = 0; i < b->nslots && rc == IH_OK; i++)
            rc = s_publish_apply (self, &b->slots [i], &err);
        //  What the batch adds to what members are owed, and to each sender's day, in
        //  the same transaction
        if (rc == IH_OK)
            rc = ih_owed_write (self->owed, self->journal, &err);
        if (rc == IH_OK)
            rc = ih_limiter_write (self->limiter, self->journal, ih_now_ms (), &err);
        if (rc == IH_OK)
            rc = ih_journal_commit (self->journal, &err);
        else
            ih_journal_abort (self->journal);       //  a full map has aborted it already
        if (rc == IH_OK) {
            ih_owed_commit (self->owed);
            ih_limiter_commit (self->limiter);
        }
        else {
            ih_owed_discard (self->owed);
            ih_limiter_discard (self->limiter);
        }
        if (rc != IH_EMAPFULL)
            break;
        uint64_t before = ih_journal_map_size (self->journal);
        if (ih_journal_grow (self->journal, &err)) {
            rc = IH_EFAIL;
            break;
        }
        ih_broker_log ('I', "journal map grown from %" PRIu64 " to %" PRIu64 " bytes",
                       before, ih_journal_map_size (self->journal));
    }
    if (rc != IH_OK) {
        //  Every batch meets it again until there is room: a few lines, then a summary
        ih_log_limited ("journal failure", 'E', "broker", "journal failed, %zu %s refused: %s",
                        b->nslots, ih_plural (b->nslots, "publish", "publishes"), err.msg);
        for (size_t i = 0; i < b->nslots; i++) {
            ih_broker_slot_t *s = &b->slots [i];
            s->fresh = false;
            if (s->pending)
                s_slot_reject (s, "internal", "journal: the broker could not store the message");
        }
    }
}

/* ---- the publish pipeline: 3. answer, then deliver ---------------------------------- */
//  Answers every publish of the batch in order, hands the new ones to delivery, and
//  empties the batch.
static void
s_batch_finish (ih_broker_t *self, ih_broker_batch_t *b)
{
    self->nfresh = 0;
    for (size_t i = 0; i < b->nslots; i++) {
        ih_broker_slot_t *s = &b->slots [i];
        const ih_msg_t *m = &s->msg;
        if (s->limited)
            ih_limiter_done (self->limiter, s->entry->curve_z85, s->held);
        if (s->code) {
            self->rejected++;
            ih_log_limited (s->label, 'W', "broker", "rejected publish from %s: %s: %s",
                            s->label, s->code, s->reason);
            ih_broker_send_error (self, s->rid, s->req, s->code, s->reason);
        }
        else {
            ih_broker_send_ok (self, s->rid, s->req, s->seq, m->id);
            if (!s->fresh)          //  a client may resend as often as it likes: limited
                ih_log_limited (s->label, 'I', "broker", "%s %s resent by %s: already seq %" PRIu64,
                                ih_kind_name (m->kind), m->id, s->label, s->seq);
            else {
                self->messages_in++;
                //  A debug line (-v): at thousands a second one line each is what the log
                //  would be made of; the status file counts them (messages_in)
                if (m->kind == IH_KIND_ALERT)
                    ih_broker_log ('D', "accepted alert %s rev %u seq %" PRIu64 " from %s",
                                   m->id, m->revision, s->seq, s->label);
                else
                    ih_broker_log ('D', "accepted %s %s%s%s seq %" PRIu64 " from %s",
                                   ih_kind_name (m->kind), m->id, m->ref [0] ? " on " : "", m->ref,
                                   s->seq, s->label);
                ih_err_t err;
                if (ih_jitem_decode (&self->fresh [self->nfresh], s->rec.data, s->rec.len, &err) == 0)
                    self->fresh_seq [self->nfresh++] = s->seq;
                else        //  cannot happen: we encoded it; replay would skip it too
                    ih_broker_log ('E', "seq %" PRIu64 ": %s", s->seq, err.msg);
            }
        }
    }
    //  Deliver while the slots' records (which the fresh items point into) still exist
    ih_broker_deliver_batch (self);
    for (size_t i = 0; i < b->nslots; i++) {
        ih_broker_slot_t *s = &b->slots [i];
        if (s->msg_live)
            ih_msg_free (&s->msg);
        s->msg_live = false;
        s->pending = false;
        s->limited = false;
        zmq_msg_close (&s->frame);
        zmq_msg_init (&s->frame);
    }
    b->nslots = 0;
    self->nfresh = 0;
}

/* ---- the pipeline ------------------------------------------------------------------- */
//  Batch n+1 is verified on the stage while batch n is committed and delivered here.
//  What each side touches: the stage, the new batch's slots (their frames, the decoded
//  bodies, the verdicts), the registry entries they point to (read only) and the pool;
//  this thread, the held batch, the journal, the limiter, what each member is owed and
//  the sessions. The answers still come only after the commit, in the order the
//  publishes came in, and seqs follow that order, batch after batch.
void
ih_broker_batch_push (ih_broker_t *self)
{
    ih_broker_batch_t *b = self->recv;
    if (b->nslots == 0)
        return;
    ih_broker_batch_t *other = b == &self->batches [0] ? &self->batches [1] : &self->batches [0];
    if (self->held) {
        ih_stage_start (self->stage, s_batch_verify, b);
        s_batch_commit (self, self->held);
        s_batch_finish (self, self->held);
        ih_stage_wait (self->stage);
        self->pipelined++;
    }
    else
        s_batch_verify (b);         //  nothing to overlap: at once, here and on the pool
    self->held = b;
    self->recv = other;             //  empty: finished, or never used
}

void
ih_broker_batch_flush (ih_broker_t *self)
{
    if (!self->held)
        return;
    s_batch_commit (self, self->held);
    s_batch_finish (self, self->held);
    self->held = NULL;
}
