/*  ih_jcheck.c: the journal's integrity check. See ih_jcheck.h.

    Reading order: the items (a scan from seq 1, resumed past what LMDB cannot read),
    then the ids index (each entry's revisions looked up among the items).
*/
#include <inttypes.h>
#include <string.h>

#include "ih_client.h"
#include "ih_jcheck.h"

typedef struct {
    ih_journal_t *j;
    const uint8_t *registry_pk;
    ih_jcheck_fn *fn;
    void *arg;
    ih_jcheck_stats_t *st;
    ih_msg_t msg;
    ih_member_t rec;
} s_check_t;

static void s_damage (s_check_t *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_damage (s_check_t *c, const char *fmt, ...)
{
    char line [512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    c->st->damaged++;
    if (!c->st->first [0])
        ih_fmt (c->st->first, sizeof c->st->first, "%s", line);
    if (c->fn)
        c->fn (line, c->arg);
}

/* ---- items -------------------------------------------------------------------------- */
static void
s_item (s_check_t *c, uint64_t seq, const uint8_t *data, size_t len)
{
    ih_jitem_t it;
    ih_err_t err;
    c->st->items++;
    if (ih_jitem_decode (&it, data, len, &err)) {
        s_damage (c, "seq %" PRIu64 ": the item does not decode (%s)", seq, err.msg);
        return;
    }
    ih_item_t item = { seq, it.body, it.body_len, it.sig, it.rec, it.rec_len, it.rec_sig };
    ih_msg_free (&c->msg);          //  the decode initialises it: what it held goes first
    if (ih_client_verify_item (&item, c->registry_pk, &c->rec, &c->msg, &err)) {
        s_damage (c, "seq %" PRIu64 ": %s %s: %s", seq, ih_kind_name (it.kind), it.id, err.msg);
        return;
    }
    const ih_msg_t *m = &c->msg;
    bool alert = m->kind == IH_KIND_ALERT;
    if (m->kind != it.kind || !streq (m->id, it.id) || (alert && m->revision != it.rev)
    ||  (!alert && !streq (m->ref, it.ref))) {
        s_damage (c, "seq %" PRIu64 ": the item's metadata (%s %s rev %u) is not its body's (%s %s "
                  "rev %u)", seq, ih_kind_name (it.kind), it.id, it.rev, ih_kind_name (m->kind), m->id,
                  m->revision);
        return;
    }
    c->st->verified++;
}

//  Every item from seq 1 to the head, in order; what LMDB cannot read is skipped over.
static int
s_items (s_check_t *c, ih_err_t *err)
{
    uint64_t head = ih_journal_head (c->j), last = 0;
    while (true) {
        ih_err_t serr;
        if (ih_journal_scan_begin (c->j, last, &serr)) {
            s_damage (c, "after seq %" PRIu64 ": LMDB cannot read on (%s)", last, serr.msg);
            break;
        }
        uint64_t seq;
        const uint8_t *data;
        size_t len;
        int got;
        while ((got = ih_journal_scan_next (c->j, &seq, &data, &len, &serr)) == 1) {
            if (seq != last + 1)
                s_damage (c, "seqs %" PRIu64 "..%" PRIu64 ": missing", last + 1, seq - 1);
            s_item (c, seq, data, len);
            last = seq;
        }
        ih_journal_scan_end (c->j);
        if (got == 0)
            break;
        //  A page LMDB cannot read: look for the next item it can, a growing step at a
        //  time, and report what lies between as one range
        uint64_t from = last + 1, step = 1, resume = 0;
        char why [256];
        ih_fmt (why, sizeof why, "%s", serr.msg);
        for (uint64_t at = from; at <= head; at += step, step *= 2) {
            if (ih_journal_scan_begin (c->j, at, &serr) == 0
            &&  ih_journal_scan_next (c->j, &seq, &data, &len, &serr) == 1) {
                resume = seq;
                ih_journal_scan_end (c->j);
                break;
            }
            ih_journal_scan_end (c->j);
        }
        uint64_t to = resume ? resume - 1 : head;
        s_damage (c, "seqs %" PRIu64 "..%" PRIu64 ": LMDB cannot read them (%s)", from,
                  to >= from ? to : from, why);
        if (!resume)
            break;
        last = resume - 1;
        //  the item found is read again by the next scan, from last
        if (last < from - 1)
            last = from - 1;
    }
    if (last < head)
        s_damage (c, "seqs %" PRIu64 "..%" PRIu64 ": missing (the head is %" PRIu64 ")", last + 1,
                  head, head);
    (void) err;
    return 0;
}

/* ---- the ids index ------------------------------------------------------------------ */
static int
s_id (const char *id, const ih_jindex_t *x, const char *why, void *arg)
{
    s_check_t *c = (s_check_t *) arg;
    c->st->ids++;
    if (!x) {
        s_damage (c, "ids: entry '%s': %s", id, why);
        return 0;
    }
    uint64_t head = ih_journal_head (c->j);
    for (uint32_t i = 0; i < x->rev_count; i++) {
        const uint8_t *r = (const uint8_t *) x->revs_ + (size_t) i * (4 + 8 + IH_HASH_LEN);
        uint32_t rev = ih_get_le32 (r);
        uint64_t seq = ih_get_be64 (r + 4);
        ih_err_t err;
        uint64_t got_seq = 0;
        const uint8_t *data;
        size_t len;
        ih_jitem_t it;
        bool ok = seq >= 1 && seq <= head && ih_journal_scan_begin (c->j, seq - 1, &err) == 0
               && ih_journal_scan_next (c->j, &got_seq, &data, &len, &err) == 1 && got_seq == seq
               && ih_jitem_decode (&it, data, len, &err) == 0 && streq (it.id, id);
        ih_journal_scan_end (c->j);
        if (!ok)
            s_damage (c, "ids: entry '%s': revision %u names seq %" PRIu64 ", which is not an item "
                      "of that id", id, rev, seq);
    }
    return 0;
}

int
ih_jcheck (ih_journal_t *journal, const uint8_t registry_pk [32], ih_jcheck_fn *fn, void *arg,
           ih_jcheck_stats_t *st, ih_err_t *err)
{
    memset (st, 0, sizeof *st);
    st->head = ih_journal_head (journal);
    s_check_t c;
    memset (&c, 0, sizeof c);
    c = (s_check_t) { .j = journal, .registry_pk = registry_pk, .fn = fn, .arg = arg, .st = st };
    ih_msg_init (&c.msg, IH_KIND_ALERT);
    int rc = s_items (&c, err);
    if (rc == 0) {
        ih_err_t ierr;
        if (ih_journal_ids_walk (journal, s_id, &c, &ierr) < 0)
            s_damage (&c, "%s", ierr.msg);
    }
    ih_msg_free (&c.msg);
    return rc;
}

/* ---- self-test ---------------------------------------------------------------------- */
#ifdef IH_SELFTEST
#include "ih_testkit.h"

//  Appends a signed alert as the broker journals it (ih_broker_publish.c).
static void
s_tappend (ih_journal_t *j, const ih_tk_member_t *who, const char *title)
{
    ih_msg_t m;
    ih_tk_alert (&m, who, IH_TLP_GREEN, title);
    ih_tk_item_t t;
    ih_tk_item (&t, &m, who, 0);
    ih_jitem_t it;
    memset (&it, 0, sizeof it);
    it.kind = IH_KIND_ALERT;
    memcpy (it.id, m.id, sizeof it.id);
    it.rev = m.revision;
    it.category = m.category;
    it.severity = m.severity;
    it.sectors = m.sectors;
    it.ent [0] = (ih_ent_t) { m.tlp, m.org, m.recipients };
    it.ent_count = 1;
    it.body = t.item.body;
    it.body_len = t.item.body_len;
    it.sig = t.item.sig;
    it.rec = t.item.rec;
    it.rec_len = t.item.rec_len;
    it.rec_sig = t.item.rec_sig;
    ih_err_t err;
    uint64_t seq;
    IH_CHECK (ih_journal_begin (j, &err) == 0);
    IH_CHECK (ih_journal_append (j, &it, &seq, &err) == 0);
    IH_CHECK (ih_journal_commit (j, &err) == 0);
    ih_tk_item_free (&t);
    ih_msg_free (&m);
}

void
ih_jcheck_test (bool verbose)
{
    char dir [256], path [512];
    ih_tk_tempdir ("jcheck", dir, sizeof dir);
    ih_tk_keypair_t reg, other;
    ih_tk_keypair (&reg);
    ih_tk_keypair (&other);
    ih_tk_member_t soc;
    ih_tk_member (&soc, &reg, "soc", "bank-a", "finance", IH_ROLE_PUBLISHER);
    ih_err_t err;
    ih_journal_t *j = ih_journal_open (dir, 1 << 20, &err);
    IH_CHECK (j);
    for (int i = 0; i < 30; i++) {
        char title [64];
        snprintf (title, sizeof title, "journal alert %02d", i);
        s_tappend (j, &soc, title);
    }
    //  Sound, beside the broker that holds the journal (read-only, no lock)
    ih_journal_t *ro = ih_journal_open_readonly (dir, &err);
    IH_CHECK (ro && ih_journal_head (ro) == 30);
    IH_CHECK (ih_journal_begin (ro, &err) == -1 && strstr (err.msg, "read only"));
    ih_tk_lines_t t = { 0 };
    ih_jcheck_stats_t st;
    IH_CHECK (ih_jcheck (ro, reg.pk, ih_tk_line, &t, &st, &err) == 0);
    IH_CHECK (st.head == 30 && st.items == 30 && st.verified == 30 && st.ids == 30 && st.damaged == 0);
    //  Another registry key: nothing verifies
    IH_CHECK (ih_jcheck (ro, other.pk, NULL, NULL, &st, &err) == 0);
    IH_CHECK (st.verified == 0 && st.damaged == 30 && strstr (st.first, "seq 1: alert "));
    ih_journal_destroy (&ro);
    ih_journal_destroy (&j);

    //  A flipped bit in one item's title, in the file: that item, and nothing else
    ih_tk_path (path, sizeof path, dir, "data.mdb");
    size_t size = 0;
    char *data = ih_file_read (path, 64 << 20, &size, NULL);
    IH_CHECK (data);
    char *hit = (char *) memmem (data, size, "journal alert 17", 16);
    IH_CHECK (hit);
    hit [3] ^= 0x01;
    FILE *f = fopen (path, "r+b");
    IH_CHECK (f && fwrite (data, 1, size, f) == size && fclose (f) == 0);
    free (data);
    ro = ih_journal_open_readonly (dir, &err);
    IH_CHECK (ro);
    memset (&t, 0, sizeof t);
    IH_CHECK (ih_jcheck (ro, reg.pk, ih_tk_line, &t, &st, &err) == 0);
    if (verbose)
        printf ("\n   %s", t.lines [0]);
    IH_CHECK (st.items == 30 && st.verified == 29 && st.damaged == 1 && t.n == 1);
    IH_CHECK (strstr (t.lines [0], "seq 18: alert ") == t.lines [0] && strstr (t.lines [0], "signature"));
    ih_journal_destroy (&ro);
    //  No journal at all
    ih_tk_path (path, sizeof path, dir, "absent");
    IH_CHECK (!ih_journal_open_readonly (path, &err) && strstr (err.msg, "no journal in"));
    ih_tk_member_free (&soc);
    ih_tk_rmtree (dir);
}
#endif
