/*  ih_con_alert.c: the alert page and its actions (see ih_con_alert.h). */
#include <czmq.h>

#include "ih_con_alert.h"
#include "ih_con_suggest.h"
#include "ih_export.h"
#include "ih_html.h"
#include "ih_ioc.h"

#define s_MAX_REVS  64              /* revisions shown in the history */

/* ---- pieces -------------------------------------------------------------------------------- */

static void
s_list (ih_buf_t *b, const ih_strlist_t *l)
{
    for (uint32_t i = 0; i < l->count; i++) {
        if (i)
            ih_html_puts (b, ", ");
        ih_html_esc (b, l->items [i]);
    }
}

/*  Who receives the alert, in words (ih_entitled's rule, proto/ih_msg.h). */
static void
s_audience (ih_buf_t *b, const ih_msg_t *m)
{
    switch (m->tlp) {
        case IH_TLP_CLEAR:
            ih_html_puts (b, "everyone: members and the public gateway");
            return;
        case IH_TLP_GREEN:
            ih_html_puts (b, "every member");
            return;
        case IH_TLP_AMBER:
            if (m->recipients.count == 0) {
                ih_html_puts (b, "every member (need to know inside each)");
                return;
            }
            break;
        default:
            break;
    }
    ih_html_puts (b, "<strong>");
    ih_html_esc (b, m->org);
    ih_html_puts (b, "</strong>");
    if (m->recipients.count) {
        ih_html_puts (b, " and ");
        s_list (b, &m->recipients);
    }
    else
        ih_html_puts (b, " only");
}

static void
s_revision_row (ih_buf_t *b, const ih_msg_t *m)
{
    ih_con_tlp (b, m->tlp);
    ih_html_puts (b, " ");
    ih_con_sev (b, m->severity);
}

/*  What a list gained and lost from a to b ("tags: +x, -y"). */
static void
s_diff_list (ih_buf_t *b, const char *what, const ih_strlist_t *from, const ih_strlist_t *to)
{
    bool said = false;
    for (uint32_t i = 0; i < to->count; i++)
        if (!ih_strlist_has (from, to->items [i])) {
            ih_buf_printf (b, "%s<ins>+", said ? ", " : "<li>");
            if (!said)
                ih_buf_printf (b, "%s: <ins>+", what), b->len -= 6;
            ih_html_esc (b, to->items [i]);
            ih_html_puts (b, "</ins>");
            said = true;
        }
    for (uint32_t i = 0; i < from->count; i++)
        if (!ih_strlist_has (to, from->items [i])) {
            if (!said)
                ih_buf_printf (b, "<li>%s: ", what);
            else
                ih_html_puts (b, ", ");
            ih_html_puts (b, "<del>-");
            ih_html_esc (b, from->items [i]);
            ih_html_puts (b, "</del>");
            said = true;
        }
    if (said)
        ih_html_puts (b, "</li>");
}

static bool
s_has_ioc (const ih_msg_t *m, const ih_ioc_t *ioc)
{
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (m->iocs [i].type == ioc->type && streq (m->iocs [i].value, ioc->value))
            return true;
    return false;
}

/*  What changed from revision a to b, as list items. */
static void
s_diff (ih_buf_t *b, const ih_msg_t *a, const ih_msg_t *m)
{
    if (!streq (a->title, m->title)) {
        ih_html_puts (b, "<li>title: <del>");
        ih_html_esc (b, a->title);
        ih_html_puts (b, "</del> \xe2\x86\x92 <ins>");
        ih_html_esc (b, m->title);
        ih_html_puts (b, "</ins></li>");
    }
    if (a->tlp != m->tlp) {
        ih_html_puts (b, "<li>TLP: ");
        ih_con_tlp (b, a->tlp);
        ih_html_puts (b, " \xe2\x86\x92 ");
        ih_con_tlp (b, m->tlp);
        ih_html_puts (b, "</li>");
    }
    if (a->severity != m->severity)
        ih_buf_printf (b, "<li>severity: %s \xe2\x86\x92 %s</li>", ih_severity_name (a->severity),
                        ih_severity_name (m->severity));
    if (a->category != m->category) {
        ih_html_puts (b, "<li>category: ");
        ih_html_esc (b, ih_con_cat_label (a->category));
        ih_html_puts (b, " \xe2\x86\x92 ");
        ih_html_esc (b, ih_con_cat_label (m->category));
        ih_html_puts (b, "</li>");
    }
    if (!streq (a->summary ? a->summary : "", m->summary ? m->summary : ""))
        ih_buf_printf (b, "<li>summary edited (%zu \xe2\x86\x92 %zu characters)</li>",
                        strlen (a->summary ? a->summary : ""), strlen (m->summary ? m->summary : ""));
    int added = 0, removed = 0;
    ih_buf_t ins, del;
    ih_buf_init (&ins);
    ih_buf_init (&del);
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (!s_has_ioc (a, &m->iocs [i]) && added++ < 12) {
            ih_html_puts (&ins, added > 1 ? ", <code>" : "<code>");
            ih_html_esc (&ins, m->iocs [i].value);
            ih_html_puts (&ins, "</code>");
        }
    for (uint32_t i = 0; i < a->ioc_count; i++)
        if (!s_has_ioc (m, &a->iocs [i]) && removed++ < 12) {
            ih_html_puts (&del, removed > 1 ? ", <code>" : "<code>");
            ih_html_esc (&del, a->iocs [i].value);
            ih_html_puts (&del, "</code>");
        }
    if (added) {
        ih_buf_printf (b, "<li><ins>+%d %s</ins>: ", added, ih_plural ((uint64_t) added, "indicator", "indicators"));
        ih_buf_append (b, ins.data, ins.len);
        ih_html_puts (b, added > 12 ? " \xe2\x80\xa6</li>" : "</li>");
    }
    if (removed) {
        ih_buf_printf (b, "<li><del>-%d %s</del>: ", removed, ih_plural ((uint64_t) removed, "indicator", "indicators"));
        ih_buf_append (b, del.data, del.len);
        ih_html_puts (b, removed > 12 ? " \xe2\x80\xa6</li>" : "</li>");
    }
    ih_buf_free (&ins);
    ih_buf_free (&del);
    s_diff_list (b, "recipients", &a->recipients, &m->recipients);
    s_diff_list (b, "sectors", &a->sectors, &m->sectors);
    s_diff_list (b, "tags", &a->tags, &m->tags);
    s_diff_list (b, "references", &a->references, &m->references);
}

/* ---- the revision history -------------------------------------------------------------------- */

typedef struct {
    ih_msg_t revs [s_MAX_REVS];
    uint64_t seqs [s_MAX_REVS];
    int n;
} s_revs_t;

static int
s_rev_one (const ih_store_rev_t *rev, const ih_msg_t *msg, void *arg)
{
    s_revs_t *h = (s_revs_t *) arg;
    if (h->n == s_MAX_REVS) {
        //  Keep the newest: drop the oldest but the first.
        ih_msg_free (&h->revs [1]);
        memmove (&h->revs [1], &h->revs [2], (s_MAX_REVS - 2) * sizeof h->revs [0]);
        memmove (&h->seqs [1], &h->seqs [2], (s_MAX_REVS - 2) * sizeof h->seqs [0]);
        h->n--;
    }
    ih_msg_copy (&h->revs [h->n], msg);
    h->seqs [h->n] = rev->seq;
    h->n++;
    return 0;
}

static void
s_history (ih_buf_t *b, ih_store_t *store, const char *id)
{
    s_revs_t *h = (s_revs_t *) calloc (1, sizeof *h);
    if (!h)
        abort ();
    ih_store_revisions_foreach (store, id, s_rev_one, h, NULL);
    ih_html_puts (b, "<h2 id=\"history\">Revisions</h2>\n");
    if (h->n == 0)
        ih_html_puts (b, "<p class=\"muted small\">No revision kept.</p>\n");
    else {
        ih_html_puts (b, "<table class=\"dense\"><thead><tr><th>Rev</th><th>When</th><th>What changed</th>"
                         "</tr></thead><tbody>\n");
        for (int i = h->n - 1; i >= 0; i--) {
            const ih_msg_t *m = &h->revs [i];
            ih_buf_printf (b, "<tr><td class=\"num\">%u</td><td class=\"nowrap\">", m->revision);
            ih_con_time (b, m->modified);
            ih_html_puts (b, "</td><td>");
            if (i == 0) {
                ih_html_puts (b, "first kept: ");
                s_revision_row (b, m);
                ih_buf_printf (b, " %u %s", m->ioc_count, ih_plural (m->ioc_count, "indicator", "indicators"));
            }
            else {
                ih_buf_t d;
                ih_buf_init (&d);
                s_diff (&d, &h->revs [i - 1], m);
                if (d.len) {
                    ih_html_puts (b, "<ul class=\"small\">");
                    ih_buf_append (b, d.data, d.len);
                    ih_html_puts (b, "</ul>");
                }
                else
                    ih_html_puts (b, "<span class=\"muted\">no visible change</span>");
                ih_buf_free (&d);
            }
            ih_html_puts (b, "</td></tr>\n");
        }
        ih_html_puts (b, "</tbody></table>\n");
    }
    for (int i = 0; i < h->n; i++)
        ih_msg_free (&h->revs [i]);
    free (h);
}

/* ---- comments and retractions ------------------------------------------------------------------ */

typedef struct {
    ih_buf_t *b;
    int n;
} s_thread_t;

static int
s_comment_one (uint64_t seq, const ih_msg_t *c, void *arg)
{
    s_thread_t *t = (s_thread_t *) arg;
    ih_buf_t *b = t->b;
    //  Who (the author the member signed for, or its agent), which org, when.
    ih_buf_printf (b, "<div class=\"comment\" id=\"c%" PRIu64 "\"><div class=\"who\"><b>", seq);
    ih_html_esc (b, ih_con_msg_author (c));
    ih_html_puts (b, "</b> \xc2\xb7 <span class=\"org\">");
    ih_html_esc (b, c->org);
    ih_html_puts (b, "</span> \xc2\xb7 ");
    ih_con_time (b, c->modified);
    ih_html_puts (b, " UTC</div><div class=\"text\">");
    ih_html_markdown (b, c->text);
    ih_html_puts (b, "</div></div>\n");
    t->n++;
    return 0;
}

static int
s_retraction_one (uint64_t seq, const ih_msg_t *r, void *arg)
{
    s_thread_t *t = (s_thread_t *) arg;
    ih_buf_t *b = t->b;
    ih_html_puts (b, "<li>");
    ih_con_time (b, r->modified);
    ih_html_puts (b, " \xc2\xb7 ");
    if (r->ioc_count == 0)
        ih_html_puts (b, "<strong>the whole alert</strong>");
    else
        for (uint32_t i = 0; i < r->ioc_count; i++) {
            ih_html_puts (b, i ? ", <code>" : "<code>");
            ih_html_esc (b, r->iocs [i].value);
            ih_html_puts (b, "</code>");
        }
    if (r->text && *r->text) {
        ih_html_puts (b, ": ");
        ih_html_esc (b, r->text);
    }
    ih_html_puts (b, "</li>");
    t->n++;
    return 0;
}

/* ---- the page ---------------------------------------------------------------------------------- */

static bool
s_may_manage (const ih_con_req_t *x, const ih_msg_t *m)
{
    return x->user.role >= IH_USER_PUBLISHER && streq (m->org, x->con->org);
}

static void
s_iocs (ih_con_req_t *x, const ih_msg_t *m, const ih_store_alert_t *info, bool manage)
{
    ih_buf_t *b = &x->r->body;
    ih_buf_printf (b, "<h2 id=\"iocs\">Indicators (%u)</h2>\n", m->ioc_count);
    if (m->ioc_count == 0) {
        ih_html_puts (b, "<p class=\"muted\">This alert lists no indicators.</p>\n");
        return;
    }
    ih_html_puts (b, "<table class=\"dense iocs\"><thead><tr>");
    if (manage)
        ih_html_puts (b, "<th title=\"select to retract\">\xe2\x9c\x93</th>");
    ih_html_puts (b, "<th>Type</th><th>Value</th><th>Comment</th><th>Detect</th><th>Sightings</th>"
                     "<th></th></tr></thead><tbody>\n");
    for (uint32_t i = 0; i < m->ioc_count; i++) {
        const ih_ioc_t *ioc = &m->iocs [i];
        bool gone = ih_store_ioc_retracted (info, ioc);
        ih_html_puts (b, gone ? "<tr class=\"muted\">" : "<tr>");
        if (manage) {
            ih_html_puts (b, "<td>");
            if (!gone) {
                ih_html_puts (b, "<input type=\"checkbox\" form=\"retract\" name=\"ioc\" aria-label=\"retract\" value=\"");
                ih_html_esc (b, ih_ioc_type_name (ioc->type));
                ih_html_puts (b, " ");
                ih_html_esc (b, ioc->value);
                ih_html_puts (b, "\">");
            }
            ih_html_puts (b, "</td>");
        }
        ih_html_puts (b, "<td class=\"nowrap\">");
        ih_html_esc (b, ih_con_ioc_label (ioc->type));
        ih_html_puts (b, gone ? "</td><td class=\"value\"><del><code>" : "</td><td class=\"value\"><code>");
        ih_html_esc (b, ioc->value);
        ih_html_puts (b, gone ? "</code></del> retracted" : "</code>");
        const char *wl = x->con->wl ? ih_warninglist_match (x->con->wl, ioc->type, ioc->value) : NULL;
        if (wl) {
            ih_html_puts (b, " <span class=\"tag\" title=\"on a warninglist: likely benign\">");
            ih_html_esc (b, wl);
            ih_html_puts (b, "</span>");
        }
        ih_html_puts (b, "</td><td>");
        ih_html_esc (b, ioc->comment);
        ih_buf_printf (b, "</td><td>%s</td><td class=\"nowrap small\">", ioc->detect ? "yes" : "context");
        ih_store_sighting_t sg;
        if (ih_store_sighting_get (x->store, ioc->type, ioc->value, &sg, NULL) == 0 && sg.reports) {
            ih_buf_printf (b, "seen %" PRIu64 "\xc3\x97 in %u %s, last ", sg.count, sg.reports,
                            ih_plural (sg.reports, "report", "reports"));
            ih_con_ago (b, sg.last_ms);
        }
        else
            ih_html_puts (b, "<span class=\"muted\">none</span>");
        ih_html_puts (b, "</td><td>");
        if (!gone && !info->retracted) {
            ih_buf_printf (b, "<form class=\"inline\" method=\"post\" action=\"/sighting\">"
                            "<input type=\"hidden\" name=\"ref\" value=\"%s\"><input type=\"hidden\" "
                            "name=\"type\" value=\"%s\"><input type=\"hidden\" name=\"value\" value=\"",
                            m->id, ih_ioc_type_name (ioc->type));
            ih_html_esc (b, ioc->value);
            ih_html_puts (b, "\">");
            ih_con_csrf_field (x);
            ih_html_puts (b, "<button class=\"quiet small\" type=\"submit\" title=\"report a sighting to the "
                             "members who hold this alert\">Seen in our network</button></form>");
        }
        ih_html_puts (b, "</td></tr>\n");
    }
    ih_html_puts (b, "</tbody></table>\n");
    //  One plain list of the active values, for pasting into a blocklist.
    ih_html_puts (b, "<details class=\"copy\"><summary>Copy the active values</summary><textarea readonly "
                     "rows=\"6\" aria-label=\"indicator values\">");
    for (uint32_t i = 0; i < m->ioc_count; i++)
        if (!ih_store_ioc_retracted (info, &m->iocs [i])) {
            ih_html_esc (b, m->iocs [i].value);
            ih_html_puts (b, "\n");
        }
    ih_html_puts (b, "</textarea></details>\n");
}

static void
s_page (ih_con_req_t *x, const char *id, const char *reply)
{
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    ih_store_alert_t info;
    ih_err_t err = { "" };
    int rc = ih_store_get (x->store, id, &m, &info, &err);
    if (rc <= 0) {
        ih_msg_free (&m);
        if (rc < 0)
            ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        else
        if (ih_req_arg (x->r, "sent"))
            ih_con_fail (x, 404, "Sent. The broker accepted it; it shows here as soon as your agent "
                                 "stores it: reload in a moment.");
        else
            ih_con_fail (x, 404, "This member holds no such alert (not received, or not meant for it).");
        return;
    }
    ih_buf_t *b = &x->r->body;
    bool manage = s_may_manage (x, &m);
    ih_con_begin (x, m.title, "/alerts");
    ih_buf_printf (b, "<p class=\"crumbs\"><a href=\"/alerts\">Alerts</a> \xe2\x80\xba <code>%s</code></p>\n", m.id);
    ih_html_puts (b, "<div class=\"badges\">");
    ih_con_tlp (b, m.tlp);
    ih_con_sev (b, m.severity);
    ih_html_puts (b, "<a class=\"chip\" href=\"/alerts?category=");
    ih_html_urlenc (b, ih_category_name (m.category));
    ih_html_puts (b, "\">");
    ih_html_esc (b, ih_con_cat_label (m.category));
    ih_html_puts (b, "</a>");
    for (uint32_t i = 0; i < m.tags.count; i++) {
        ih_html_puts (b, "<span class=\"tag\">");
        ih_html_esc (b, m.tags.items [i]);
        ih_html_puts (b, "</span>");
    }
    ih_html_puts (b, "</div><h1>");
    ih_html_esc (b, m.title);
    ih_html_puts (b, "</h1>\n");
    if (info.retracted)
        ih_html_puts (b, "<div class=\"retracted\"><strong>Retracted.</strong> The publisher withdrew this "
                         "alert: do not use its indicators.</div>\n");
    ih_html_puts (b, "<div class=\"cols\"><div>");
    if (m.summary && *m.summary) {
        ih_html_puts (b, "<div class=\"summary\">");
        ih_html_markdown (b, m.summary);
        ih_html_puts (b, "</div>\n");
    }
    s_iocs (x, &m, &info, manage && !info.retracted);
    if (m.references.count) {
        ih_html_puts (b, "<h2>References</h2><ul class=\"refs\">");
        for (uint32_t i = 0; i < m.references.count; i++) {
            const char *u = m.references.items [i];
            ih_html_puts (b, "<li>");
            if (ih_html_safe_url (u)) {
                ih_html_puts (b, "<a rel=\"nofollow noopener noreferrer\" href=\"");
                ih_html_esc (b, u);
                ih_html_puts (b, "\">");
                ih_html_esc (b, u);
                ih_html_puts (b, "</a>");
            }
            else
                ih_html_esc (b, u);
            ih_html_puts (b, "</li>");
        }
        ih_html_puts (b, "</ul>\n");
    }

    //  The discussion.
    ih_buf_printf (b, "<h2 id=\"discussion\">Discussion (%u)</h2>\n", info.comments);
    s_thread_t t = { b, 0 };
    ih_store_refs_foreach (x->store, m.id, IH_KIND_COMMENT, s_comment_one, &t, NULL);
    if (t.n == 0)
        ih_html_puts (b, "<p class=\"muted\">No comments yet.</p>\n");
    ih_buf_printf (b, "<form class=\"form\" method=\"post\" action=\"/comment\"><input type=\"hidden\" "
                    "name=\"ref\" value=\"%s\">", m.id);
    ih_con_csrf_field (x);
    ih_html_puts (b, "<label for=\"reply\" class=\"small\">Reply as <strong>");
    ih_html_esc (b, ih_con_author (x));
    ih_html_puts (b, "</strong> (");
    ih_html_esc (b, x->con->org);
    ih_html_puts (b, "): Markdown; everyone who holds this alert reads it.</label>"
                     "<textarea id=\"reply\" name=\"text\" rows=\"4\" maxlength=\"16384\" required>");
    ih_html_esc (b, reply);
    ih_html_puts (b, "</textarea><div class=\"actions\"><button type=\"submit\" accesskey=\"s\">Post comment"
                     "</button><span class=\"small muted\"><kbd>Alt</kbd>+<kbd>S</kbd> sends</span></div></form>\n");
    ih_html_puts (b, "</div><div>");

    //  The facts column.
    ih_html_puts (b, "<dl class=\"facts\"><dt>Publisher</dt><dd><strong>");
    ih_html_esc (b, m.org);
    ih_html_puts (b, "</strong>");
    if (m.author && *m.author) {
        ih_html_puts (b, " \xc2\xb7 <span class=\"author\">");
        ih_html_esc (b, m.author);
        ih_html_puts (b, "</span>");
    }
    ih_html_puts (b, " <span class=\"muted small\">(agent ");
    ih_html_esc (b, m.member);
    ih_html_puts (b, ")</span></dd><dt>Receives it</dt><dd>");
    s_audience (b, &m);
    ih_html_puts (b, "</dd><dt>First shared</dt><dd>");
    ih_con_time (b, m.created);
    ih_html_puts (b, "</dd><dt>Updated</dt><dd>");
    ih_con_time (b, m.modified);
    ih_buf_printf (b, "</dd><dt>Revision</dt><dd>%u (%u received)</dd>", m.revision, info.revisions);
    if (m.sectors.count) {
        ih_html_puts (b, "<dt>Sectors</dt><dd>");
        s_list (b, &m.sectors);
        ih_html_puts (b, "</dd>");
    }
    ih_buf_printf (b, "<dt>Sightings</dt><dd>%" PRIu64 "</dd><dt>Seq</dt><dd>%" PRIu64 "</dd></dl>\n",
                    info.sightings, info.seq);
    ih_html_puts (b, "<h2>Export</h2><p class=\"small\">");
    for (int f = 0; f < IH_EXPORT_FORMATS; f++) {
        if (f == IH_EXPORT_MISP_FEED)
            continue;               //  a directory, not a download
        const char *name = ih_export_format_name ((ih_export_format_t) f);
        ih_buf_printf (b, "<a class=\"chip\" href=\"/export?format=%s&amp;id=%s&amp;tlp_max=RED&amp;"
                        "status=any\">%s</a> ", name, m.id, name);
    }
    ih_html_puts (b, "</p>\n");
    if (manage && !info.retracted) {
        ih_buf_printf (b, "<h2>Manage</h2><p><a class=\"button\" href=\"/share?revise=%s\">Revise this alert"
                        "</a></p>\n<form class=\"form\" id=\"retract\" method=\"post\" action=\"/retract\">"
                        "<input type=\"hidden\" name=\"ref\" value=\"%s\">", m.id, m.id);
        ih_con_csrf_field (x);
        ih_html_puts (b, "<label for=\"reason\" class=\"small\">Reason (sent with the retraction)</label>"
                         "<input type=\"text\" id=\"reason\" name=\"reason\" maxlength=\"1024\" value=\"");
        ih_html_esc (b, ih_con_val (x, "reason"));
        ih_html_puts (b, "\"><div class=\"actions\"><button type=\"submit\" class=\"quiet\">Retract the "
                         "selected indicators</button><button type=\"submit\" class=\"danger\" name=\"whole\" "
                         "value=\"1\">Retract the whole alert</button></div></form>\n");
    }
    //  Related alerts (the daemon's index: similar text, shared indicators or sources),
    //  near-duplicates marked.
    ih_related_hit_t hits [IH_CON_RELATED_SHOWN * 2];
    ih_err_t rerr = { "" };
    int nrel = ih_con_related_alert (x->con->analytics, m.id, hits, IH_CON_RELATED_SHOWN * 2, &rerr);
    if (nrel < 0)
        fprintf (stderr, "W console: related alerts of %s: %s\n", m.id, rerr.msg);
    else
        ih_con_related_list (x, "Related alerts", hits, nrel, m.id);
    s_history (b, x->store, m.id);
    ih_html_puts (b, "<h2>Retractions</h2>");
    ih_html_puts (b, "<ul class=\"small\">");
    s_thread_t rt = { b, 0 };
    ih_store_refs_foreach (x->store, m.id, IH_KIND_RETRACTION, s_retraction_one, &rt, NULL);
    ih_html_puts (b, "</ul>");
    if (rt.n == 0)
        ih_html_puts (b, "<p class=\"muted small\">None.</p>");
    ih_html_puts (b, "</div></div>\n");
    ih_con_end (x);
    ih_msg_free (&m);
}

void
ih_con_alert (ih_con_req_t *x)
{
    char id [IH_UUID_LEN + 1];
    if (!ih_con_id_after (x->r->path, "/alerts/", id)) {
        ih_con_fail (x, 404, "There is no such alert.");
        return;
    }
    //  What the daemon answered ("stored": the message is in the store already).
    const char *posted = ih_req_arg (x->r, "posted");
    const char *sent = ih_req_arg (x->r, "sent");
    bool stored = ih_req_arg (x->r, "stored") || (sent && streq (sent, "stored"));
    if (posted && streq (posted, "comment"))
        x->notice = stored ? "Comment posted: everyone who holds this alert reads it."
                           : "Comment sent. It shows in the thread as soon as your agent stores it (reload in a moment).";
    else
    if (posted && streq (posted, "sighting"))
        x->notice = "Sighting reported to the members who hold this alert.";
    else
    if (posted && streq (posted, "retraction"))
        x->notice = "Retraction sent.";
    else
    if (sent)
        x->notice = stored ? "Shared: the broker accepted it, and your agent holds it."
                           : "Sent: the broker accepted it.";
    s_page (x, id, "");
}

/* ---- actions ------------------------------------------------------------------------------------- */

/*  The ref field of an action, or NULL after answering 400. */
static const char *
s_ref (ih_con_req_t *x)
{
    const char *ref = ih_req_form (x->r, "ref");
    if (!ref || !ih_uuid_valid (ref)) {
        ih_con_fail (x, 400, "ref: not an alert id.");
        return NULL;
    }
    return ref;
}

/*  Calls the daemon; on refusal or silence sets x->error and a status and returns NULL. */
static json_t *
s_act (ih_con_req_t *x, const char *op, json_t *req)
{
    ih_err_t err = { "" };
    json_t *ans = ih_con_call (x, op, req, 0, &err);
    if (!ans) {
        fprintf (stderr, "E console: %s: %s\n", op, err.msg);
        x->error = "The agent daemon does not answer: nothing was sent. Is `infohub-agent run` running?";
        x->r->status = 503;
        return NULL;
    }
    if (!json_is_true (json_object_get (ans, "ok"))) {
        static __thread char why [600];
        char reason [512];
        ih_con_refusal (ans, reason, sizeof reason);
        snprintf (why, sizeof why, "Not sent: %s", reason);
        x->error = why;
        x->r->status = 502;
        ih_con_audit (x, "refused", "%s: %s", op, reason);
        json_decref (ans);
        return NULL;
    }
    return ans;
}

static void
s_back (ih_con_req_t *x, const char *ref, const char *what, json_t *ans, const char *anchor)
{
    char to [180];
    snprintf (to, sizeof to, "/alerts/%s?posted=%s%s#%s", ref, what,
              json_is_true (json_object_get (ans, "stored")) ? "&stored=1" : "", anchor);
    ih_req_redirect (x->r, to);
}

void
ih_con_comment_form (ih_con_req_t *x)
{
    const char *ref = s_ref (x);
    if (ref)
        s_page (x, ref, ih_con_val (x, "text"));
}

void
ih_con_comment (ih_con_req_t *x)
{
    const char *ref = s_ref (x);
    if (!ref)
        return;
    const char *text = ih_con_val (x, "text");
    size_t len = strlen (text);
    while (len && (text [len - 1] == ' ' || text [len - 1] == '\n' || text [len - 1] == '\r'))
        len--;
    if (len == 0 || len > IH_MAX_TEXT) {
        x->error = len ? "The comment is too long (16384 bytes at most)." : "Write something first.";
        s_page (x, ref, text);
        x->r->status = 400;
        return;
    }
    json_t *req = json_pack ("{s:s, s:s, s:s%}", "author", ih_con_author (x), "ref", ref, "text", text, len);
    json_t *ans = s_act (x, "comment", req);
    if (!ans) {
        int status = x->r->status;
        s_page (x, ref, text);
        x->r->status = status;
        return;
    }
    ih_con_audit (x, "comment", "on %s (seq %" PRId64 ")", ref,
                  (int64_t) json_integer_value (json_object_get (ans, "seq")));
    s_back (x, ref, "comment", ans, "discussion");
    json_decref (ans);
}

void
ih_con_sighting (ih_con_req_t *x)
{
    const char *ref = s_ref (x);
    if (!ref)
        return;
    const char *type = ih_con_val (x, "type");
    const char *value = ih_con_val (x, "value");
    ih_ioc_type_t t;
    char norm [IH_MAX_IOC_VALUE + 1];
    if (ih_ioc_type_parse (type, &t) != 0 || ih_ioc_normalise (t, value, norm, sizeof norm, NULL) != 0) {
        ih_con_fail (x, 400, "type, value: not an indicator.");
        return;
    }
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    if (ih_store_get (x->store, ref, &m, NULL, NULL) != 1) {
        ih_msg_free (&m);
        ih_con_fail (x, 404, "This member holds no such alert.");
        return;
    }
    //  The sighting tells who saw the value: it goes no wider than the alert (and a
    //  sighting of a public alert stays among members).
    ih_tlp_t tlp = m.tlp < IH_TLP_GREEN ? IH_TLP_GREEN : m.tlp;
    ih_msg_free (&m);
    json_t *req = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:i}", "author", ih_con_author (x), "ref", ref,
                             "tlp", ih_tlp_name (tlp), "type", ih_ioc_type_name (t), "value", norm, "count", 1);
    json_t *ans = s_act (x, "sighting", req);
    if (!ans) {
        int status = x->r->status;
        s_page (x, ref, "");
        x->r->status = status;
        return;
    }
    ih_con_audit (x, "sighting", "%s %s on %s (seq %" PRId64 ")", ih_ioc_type_name (t), norm, ref,
                  (int64_t) json_integer_value (json_object_get (ans, "seq")));
    s_back (x, ref, "sighting", ans, "iocs");
    json_decref (ans);
}

typedef struct {
    json_t *iocs;
    int bad;
} s_retract_t;

static int
s_retract_ioc (const char *v, void *arg)
{
    s_retract_t *rt = (s_retract_t *) arg;
    const char *sp = strchr (v, ' ');
    char type [24];
    ih_ioc_type_t t;
    if (!sp || (size_t) (sp - v) >= sizeof type) {
        rt->bad++;
        return 0;
    }
    snprintf (type, sizeof type, "%.*s", (int) (sp - v), v);
    if (ih_ioc_type_parse (type, &t) != 0) {
        rt->bad++;
        return 0;
    }
    json_array_append_new (rt->iocs, json_pack ("{s:s, s:s}", "type", type, "value", sp + 1));
    return 0;
}

void
ih_con_retract (ih_con_req_t *x)
{
    const char *ref = s_ref (x);
    if (!ref)
        return;
    ih_msg_t m;
    ih_msg_init (&m, IH_KIND_ALERT);
    int held = ih_store_get (x->store, ref, &m, NULL, NULL);
    bool own = held == 1 && streq (m.org, x->con->org);
    ih_msg_free (&m);
    if (!own) {
        ih_con_fail (x, 403, held == 1 ? "Only the publisher's organisation can retract this alert."
                                       : "This member holds no such alert.");
        return;
    }
    bool whole = streq (ih_con_val (x, "whole"), "1");
    s_retract_t rt = { json_array (), 0 };
    ih_req_form_all (x->r, "ioc", s_retract_ioc, &rt);
    if (rt.bad || (!whole && json_array_size (rt.iocs) == 0)) {
        json_decref (rt.iocs);
        x->error = rt.bad ? "ioc: not TYPE VALUE." : "Select the indicators to retract, or retract the whole alert.";
        s_page (x, ref, "");
        x->r->status = 400;
        return;
    }
    json_t *req = json_pack ("{s:s, s:s, s:s}", "author", ih_con_author (x), "ref", ref,
                             "text", ih_con_val (x, "reason"));
    size_t n = json_array_size (rt.iocs);
    if (whole)
        json_decref (rt.iocs);
    else
        json_object_set_new (req, "iocs", rt.iocs);
    json_t *ans = s_act (x, "retract", req);
    if (!ans) {
        int status = x->r->status;
        s_page (x, ref, "");
        x->r->status = status;
        return;
    }
    if (whole)
        ih_con_audit (x, "retract", "the whole alert %s", ref);
    else
        ih_con_audit (x, "retract", "%zu %s of %s", n, ih_plural (n, "indicator", "indicators"), ref);
    s_back (x, ref, "retraction", ans, "iocs");
    json_decref (ans);
}
