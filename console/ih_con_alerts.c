/*  ih_con_alerts.c: the home page and the alert list (see ih_con_alerts.h). */
#include <czmq.h>

#include "ih_con_alerts.h"
#include "ih_con_more.h"
#include "ih_find.h"
#include "ih_html.h"
#include "ih_select.h"

#define s_PAGE          50          /* rows of the list */
#define s_HOME_NEW      15          /* rows of "new since" */
#define s_HOME_READ     5000        /* alerts home reads at most for its counts */
#define s_HOME_TALK     8           /* comments in "latest discussion" */
#define s_LOG_WINDOW    4096        /* log entries read per step, looking for comments */
#define s_DAY_MS        86400000LL

/* ---- the alert table ---------------------------------------------------------------------- */

void
ih_con_alert_thead (ih_buf_t *b)
{
    ih_html_puts (b, "<table class=\"dense alerts\"><thead><tr><th>TLP</th><th>Severity</th><th>Title</th>"
                     "<th>Category</th><th>Publisher</th><th>Sectors</th><th class=\"num\">IOCs</th>"
                     "<th class=\"num\" title=\"comments\">Talk</th><th class=\"num\" title=\"sightings "
                     "reported\">Seen</th><th class=\"num\">Rev</th><th>Updated</th></tr></thead><tbody>\n");
}

void
ih_con_alert_row (ih_buf_t *b, const ih_msg_t *m, const ih_store_alert_t *info)
{
    bool retracted = info && info->retracted;
    ih_html_puts (b, retracted ? "<tr class=\"muted\"><td>" : "<tr><td>");
    ih_con_tlp (b, m->tlp);
    ih_html_puts (b, "</td><td>");
    ih_con_sev (b, m->severity);
    ih_buf_printf (b, "</td><td class=\"t\"><a href=\"/alerts/%s\">", m->id);
    ih_html_esc (b, m->title);
    ih_html_puts (b, "</a>");
    if (retracted)
        ih_html_puts (b, " <span class=\"tag\">retracted</span>");
    for (uint32_t i = 0; i < m->tags.count && i < 4; i++) {
        ih_html_puts (b, " <span class=\"tag\">");
        ih_html_esc (b, m->tags.items [i]);
        ih_html_puts (b, "</span>");
    }
    ih_html_puts (b, "</td><td class=\"nowrap\">");
    ih_html_esc (b, ih_con_cat_label (m->category));
    ih_html_puts (b, "</td><td class=\"nowrap\">");
    ih_html_esc (b, m->org);
    ih_html_puts (b, "</td><td>");
    for (uint32_t i = 0; i < m->sectors.count; i++) {
        if (i)
            ih_html_puts (b, ", ");
        ih_html_esc (b, m->sectors.items [i]);
    }
    ih_buf_printf (b, "</td><td class=\"num\">%u</td><td class=\"num\">%u</td><td class=\"num\">%" PRIu64
                    "</td><td class=\"num\">%u</td><td class=\"nowrap\">", m->ioc_count,
                    info ? info->comments : 0, info ? info->sightings : 0, m->revision);
    ih_con_time (b, m->modified);
    ih_html_puts (b, "</td></tr>\n");
}

/* ---- home ---------------------------------------------------------------------------------- */

typedef struct {
    int64_t since;
    uint32_t counts [IH_TLP_COUNT][IH_SEV_COUNT];
    uint32_t total;
    int read;
    int listed;
    ih_buf_t rows;
} s_home_t;

static int
s_home_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_home_t *h = (s_home_t *) arg;
    if (++h->read > s_HOME_READ)
        return 1;
    //  Newest first by the latest revision's seq: modified times follow, near enough
    //  (a publisher's clock may lag a little), so a few older ones are passed over.
    if (m->modified < h->since)
        return h->read > 200 && m->modified < h->since - s_DAY_MS ? 1 : 0;
    if (info->retracted)
        return 0;
    if ((int) m->tlp >= 0 && m->tlp < IH_TLP_COUNT && (int) m->severity >= 0 && m->severity < IH_SEV_COUNT)
        h->counts [m->tlp][m->severity]++;
    h->total++;
    if (h->listed++ < s_HOME_NEW)
        ih_con_alert_row (&h->rows, m, info);
    return 0;
}

typedef struct {
    uint64_t seq;
    char ref [IH_UUID_LEN + 1];
} s_talk_t;

typedef struct {
    uint64_t seq;
    ih_msg_t *out;
    bool found;
} s_comment_at_t;

static int
s_comment_at (uint64_t seq, const ih_msg_t *msg, void *arg)
{
    s_comment_at_t *c = (s_comment_at_t *) arg;
    if (seq != c->seq)
        return 0;
    ih_msg_copy (c->out, msg);
    c->found = true;
    return 1;
}

/*  The newest comments, from the store's log read backwards in windows. */
static int
s_latest_talk (ih_store_t *store, s_talk_t *talk, int max)
{
    uint64_t cursor = ih_store_cursor (store);
    ih_store_log_t *log = (ih_store_log_t *) calloc (s_LOG_WINDOW, sizeof *log);
    if (!log)
        abort ();
    int n = 0;
    uint64_t hi = cursor;
    //  A few windows at most: the home page must not read the whole log.
    for (int step = 0; step < 4 && hi > 0 && n < max; step++) {
        uint64_t after = hi > s_LOG_WINDOW ? hi - s_LOG_WINDOW : 0;
        int got = ih_store_log_read (store, after, log, s_LOG_WINDOW, NULL);
        for (int i = got - 1; i >= 0 && n < max; i--)
            if (log [i].seq <= hi && !log [i].rejected && log [i].kind == IH_KIND_COMMENT && log [i].ref [0]) {
                talk [n].seq = log [i].seq;
                snprintf (talk [n].ref, sizeof talk [n].ref, "%s", log [i].ref);
                n++;
            }
        hi = after;
    }
    free (log);
    return n;
}

static void
s_home_talk (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    s_talk_t talk [s_HOME_TALK];
    int n = s_latest_talk (x->store, talk, s_HOME_TALK);
    ih_html_puts (b, "<h2>Latest discussion</h2>\n");
    if (n == 0) {
        ih_html_puts (b, "<p class=\"muted\">No comments yet. Open an alert to start a thread.</p>\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        ih_msg_t c, a;
        ih_msg_init (&c, IH_KIND_COMMENT);
        ih_msg_init (&a, IH_KIND_ALERT);
        s_comment_at_t at = { talk [i].seq, &c, false };
        ih_store_refs_foreach (x->store, talk [i].ref, IH_KIND_COMMENT, s_comment_at, &at, NULL);
        bool have_alert = ih_store_get (x->store, talk [i].ref, &a, NULL, NULL) == 1;
        if (at.found) {
            ih_html_puts (b, "<div class=\"comment\"><div class=\"who\"><b>");
            ih_html_esc (b, ih_con_msg_author (&c));
            ih_html_puts (b, "</b> (");
            ih_html_esc (b, c.org);
            ih_html_puts (b, ") on <a href=\"/alerts/");
            ih_html_esc (b, talk [i].ref);
            ih_html_puts (b, "#discussion\">");
            ih_html_esc (b, have_alert ? a.title : talk [i].ref);
            ih_html_puts (b, "</a> \xc2\xb7 ");
            ih_con_ago (b, c.modified);
            ih_html_puts (b, "</div><div class=\"text\">");
            ih_buf_t t;
            ih_buf_init (&t);
            ih_html_md_text (&t, c.text, 280);
            ih_html_escn (b, t.data ? (const char *) t.data : "", t.len);
            ih_buf_free (&t);
            ih_html_puts (b, "</div></div>\n");
        }
        ih_msg_free (&c);
        ih_msg_free (&a);
    }
}

/*  The daemon's state, asked with a short time limit: the home page must not hang. */
static void
s_home_daemon (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    ih_err_t err = { "" };
    json_t *ans = ih_con_call (x, "ping", NULL, 1000, &err);
    if (!ans || !json_is_true (json_object_get (ans, "ok"))) {
        ih_html_puts (b, "<div class=\"flash warn\">The agent daemon does not answer: nothing can be "
                         "shared, commented or reported until <code>infohub-agent run</code> runs. "
                         "What the store holds is shown.</div>\n");
        json_decref (ans);
        return;
    }
    bool connected = json_is_true (json_object_get (ans, "connected"));
    json_int_t cursor = json_integer_value (json_object_get (ans, "cursor"));
    json_int_t head = json_integer_value (json_object_get (ans, "head"));
    if (!connected)
        ih_html_puts (b, "<div class=\"flash warn\">The agent is not connected to the broker: what "
                         "you send waits until it is.</div>\n");
    else
        ih_buf_printf (b, "<p class=\"small muted\">Agent connected to the broker \xc2\xb7 stored up to "
                        "#%" PRId64 " of #%" PRId64 "</p>\n", (int64_t) cursor, (int64_t) head);
    json_decref (ans);
}

void
ih_con_home (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    //  Codes someone tried again since the last login: shown once, then cleared.
    uint32_t reuse = x->user.reuse_seen;
    if (reuse) {
        ih_user_t u;
        if (ih_users_get (x->con->users, x->user.name, &u, NULL) == 1) {
            u.reuse_seen = 0;
            ih_users_put (x->con->users, &u, false, NULL);
            sodium_memzero (&u, sizeof u);
        }
    }
    s_home_t h;
    memset (&h, 0, sizeof h);
    ih_buf_init (&h.rows);
    int64_t now = ih_now_ms ();
    h.since = x->user.prev_login > 0 ? x->user.prev_login : now - 7 * s_DAY_MS;
    ih_err_t err = { "" };
    if (ih_store_foreach (x->store, 0, true, s_home_one, &h, &err) < 0) {
        ih_buf_free (&h.rows);
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        return;
    }
    ih_con_begin (x, "Home", "/");
    if (reuse)
        ih_buf_printf (b, "<div class=\"flash err\" role=\"alert\"><strong>Security:</strong> %u login%s "
                        "with a code of yours that had been used already %s refused since your last "
                        "login. If that was not you, change your password (Account) and tell your "
                        "admin.</div>\n", reuse, reuse == 1 ? "" : "s", reuse == 1 ? "was" : "were");
    s_home_daemon (x);
    ih_html_puts (b, "<h1>New since ");
    ih_html_puts (b, x->user.prev_login > 0 ? "your last login" : "the last 7 days");
    ih_html_puts (b, "</h1><p class=\"lede\">");
    ih_con_time (b, h.since);
    ih_buf_printf (b, " UTC \xc2\xb7 %u new or revised %s.</p>\n", h.total,
                    ih_plural (h.total, "alert", "alerts"));
    char since [IH_TIME_MAX];
    ih_time_format (h.since, since);
    ih_html_puts (b, "<div class=\"cols\"><div><table class=\"dense matrix\"><thead><tr><th>TLP</th>");
    for (int s = IH_SEV_COUNT - 1; s >= 0; s--)
        ih_buf_printf (b, "<th>%s</th>", ih_severity_name ((ih_severity_t) s));
    ih_html_puts (b, "<th>All</th></tr></thead><tbody>\n");
    for (int t = IH_TLP_COUNT - 1; t >= 0; t--) {
        uint32_t row = 0;
        for (int s = 0; s < IH_SEV_COUNT; s++)
            row += h.counts [t][s];
        ih_html_puts (b, "<tr><th>");
        ih_con_tlp (b, (ih_tlp_t) t);
        ih_html_puts (b, "</th>");
        for (int s = IH_SEV_COUNT - 1; s >= 0; s--) {
            uint32_t n = h.counts [t][s];
            if (n)
                ih_buf_printf (b, "<td class=\"num\"><a href=\"/alerts?tlp=%s&amp;severity=%s&amp;since=",
                                ih_tlp_name ((ih_tlp_t) t), ih_severity_name ((ih_severity_t) s));
            else
                ih_html_puts (b, "<td class=\"num zero\">");
            if (n) {
                ih_html_urlenc (b, since);
                ih_buf_printf (b, "\">%u</a></td>", n);
            }
            else
                ih_html_puts (b, "0</td>");
        }
        ih_buf_printf (b, "<td class=\"num\"><strong>%u</strong></td></tr>\n", row);
    }
    ih_html_puts (b, "</tbody></table></div><div>");
    s_home_talk (x);
    ih_html_puts (b, "</div></div>\n");
    ih_html_puts (b, "<h2>Newest</h2>\n");
    if (h.listed) {
        ih_con_alert_thead (b);
        ih_buf_append (b, h.rows.data, h.rows.len);
        ih_html_puts (b, "</tbody></table>\n");
        if (h.listed > s_HOME_NEW) {
            ih_html_puts (b, "<p><a href=\"/alerts?since=");
            ih_html_urlenc (b, since);
            ih_buf_printf (b, "\">All %d \xe2\x86\x92</a></p>\n", h.listed);
        }
    }
    else
        ih_html_puts (b, "<div class=\"empty\">Nothing new. <a href=\"/alerts\">Every alert</a></div>\n");
    ih_buf_free (&h.rows);
    //  The visit: the next "new since" starts from the login after this one.
    ih_con_end (x);
}

/* ---- /alerts --------------------------------------------------------------------------------- */

typedef struct {
    ih_con_req_t *x;
    ih_select_t sel;
    ih_buf_t rows;
    int shown;
    uint64_t last_seq;
    bool more;
} s_list_t;

static int
s_list_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_list_t *l = (s_list_t *) arg;
    if (l->shown == s_PAGE) {
        l->more = true;
        return 1;
    }
    ih_con_alert_row (&l->rows, m, info);
    l->shown++;
    l->last_seq = info->seq;
    return 0;
}

static const char *
s_arg (void *r, const char *key)
{
    const char *v = ih_req_arg ((ih_req_t *) r, key);
    return v && *v ? v : NULL;          //  an empty form field means "any"
}

/*  A <select> of names (NULL-terminated pairs value, label), value selected. */
static void
s_select (ih_buf_t *b, const char *name, const char *label, const char *const *opts, const char *value)
{
    ih_buf_printf (b, "<label>%s<select name=\"%s\">", label, name);
    for (int i = 0; opts [i]; i += 2) {
        ih_html_puts (b, "<option value=\"");
        ih_html_esc (b, opts [i]);
        ih_html_puts (b, streq (opts [i], value ? value : "") ? "\" selected>" : "\">");
        ih_html_esc (b, opts [i + 1]);
        ih_html_puts (b, "</option>");
    }
    ih_html_puts (b, "</select></label>");
}

static void
s_filters (ih_con_req_t *x, const char *q)
{
    ih_buf_t *b = &x->r->body;
    ih_req_t *r = x->r;
    ih_html_puts (b, "<form class=\"filters\" method=\"get\" action=\"/alerts\" role=\"search\">"
                     "<label>Search<input type=\"search\" name=\"q\" size=\"34\" maxlength=\"256\" "
                     "placeholder=\"words, an IP, a domain, a hash, a CVE\" value=\"");
    ih_html_esc (b, q);
    ih_html_puts (b, "\" autofocus></label>");
    static const char *const tlps [] = { "", "any", "CLEAR", "CLEAR", "GREEN", "GREEN", "AMBER", "AMBER",
                                         "AMBER+STRICT", "AMBER+STRICT", "RED", "RED", NULL };
    s_select (b, "tlp", "TLP", tlps, ih_req_arg (r, "tlp"));
    static const char *const sevs [] = { "", "any", "low", "low+", "medium", "medium+", "high", "high+",
                                         "critical", "critical", NULL };
    s_select (b, "severity", "Severity", sevs, ih_req_arg (r, "severity"));
    const char *cats [2 * (IH_CAT_COUNT + 4) + 1];
    int n = 0;
    cats [n++] = "";
    cats [n++] = "any";
    for (int c = 0; c < IH_CAT_COUNT + 2 && ih_category_name ((ih_category_t) c); c++) {
        cats [n++] = ih_category_name ((ih_category_t) c);
        cats [n++] = ih_con_cat_label ((ih_category_t) c);
    }
    cats [n] = NULL;
    s_select (b, "category", "Category", cats, ih_req_arg (r, "category"));
    ih_html_puts (b, "<label>Sector<input type=\"text\" name=\"sector\" size=\"10\" list=\"sectors\" value=\"");
    ih_html_esc (b, ih_req_arg (r, "sector"));
    ih_html_puts (b, "\"></label>");
    ih_con_sector_datalist (x, "sectors");
    static const char *const since [] = { "", "any time", "24h", "24 hours", "7d", "7 days", "30d", "30 days",
                                          "90d", "90 days", NULL };
    const char *sv = ih_req_arg (r, "since");
    bool custom = sv && *sv && !streq (sv, "24h") && !streq (sv, "7d") && !streq (sv, "30d") && !streq (sv, "90d");
    if (custom) {
        ih_html_puts (b, "<label>Since<input type=\"text\" name=\"since\" size=\"12\" value=\"");
        ih_html_esc (b, sv);
        ih_html_puts (b, "\"></label>");
    }
    else
        s_select (b, "since", "Since", since, sv);
    static const char *const status [] = { "", "active", "any", "with retracted", "retracted", "retracted only",
                                           NULL };
    s_select (b, "status", "Status", status, ih_req_arg (r, "status"));
    ih_html_puts (b, "<button type=\"submit\">Filter</button> <a class=\"small\" href=\"/alerts\">Reset</a>"
                     "</form>\n");
}

/*  A search hit the filters take. */
static bool
s_find_keep (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    return ih_select_alert ((const ih_select_t *) arg, m, info) == IH_SELECT_TAKEN;
}

void
ih_con_alerts (ih_con_req_t *x)
{
    ih_req_t *r = x->r;
    s_list_t l;
    memset (&l, 0, sizeof l);
    l.x = x;
    ih_select_init (&l.sel);
    static const char *const keys [] = { "before", "tlp", "category", "sector", "severity", "since",
                                         "status", "type", NULL };
    ih_err_t err = { "" };
    if (ih_select_from (&l.sel, keys, s_arg, r, &err) != 0) {
        ih_con_fail (x, 400, err.msg);
        return;
    }
    const char *q = ih_req_arg (r, "q");
    char qt [IH_FIND_QUERY + 1] = "";
    if (q) {
        while (*q == ' ' || *q == '\t')
            q++;
        size_t n = strlen (q);
        while (n && (q [n - 1] == ' ' || q [n - 1] == '\t'))
            n--;
        if (n > IH_FIND_QUERY) {
            ih_con_fail (x, 400, "The search text is too long (256 characters at most).");
            return;
        }
        memcpy (qt, q, n);
        qt [n] = 0;
    }
    ih_buf_init (&l.rows);
    uint64_t cut = 0;
    ih_find_t *f = NULL;
    if (*qt) {
        f = (ih_find_t *) calloc (1, sizeof *f);
        if (!f)
            abort ();
        ih_select_t sel = l.sel;
        sel.before = 0;
        if (ih_find_run (x->store, qt, IH_CON_WALK_BUDGET, s_find_keep, &sel, f, &err) < 0) {
            free (f);
            ih_buf_free (&l.rows);
            ih_con_fail (x, 503, "The agent's store cannot be read right now.");
            return;
        }
        for (int i = 0; i < f->n; i++) {
            ih_msg_t m;
            ih_msg_init (&m, IH_KIND_ALERT);
            ih_store_alert_t info;
            if (ih_store_get (x->store, f->ids [i], &m, &info, NULL) == 1
            &&  ih_select_alert (&sel, &m, &info) == IH_SELECT_TAKEN) {
                ih_con_alert_row (&l.rows, &m, &info);
                l.shown++;
            }
            ih_msg_free (&m);
        }
    }
    else
    if (ih_select_walk (x->store, &l.sel, true, IH_CON_WALK_BUDGET, &cut, s_list_one, &l, &err) < 0) {
        ih_buf_free (&l.rows);
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        return;
    }
    if (cut && !l.more) {
        l.more = true;
        l.last_seq = cut;
    }
    ih_buf_t *b = &r->body;
    ih_con_begin (x, *qt ? qt : "Alerts", "/alerts");
    ih_store_counts_t c;
    memset (&c, 0, sizeof c);
    ih_store_counts (x->store, &c, NULL);
    ih_buf_printf (b, "<h1>Alerts</h1><p class=\"lede\">Every alert this member holds, at every TLP: "
                    "%" PRIu64 " active, %" PRIu64 " retracted, %" PRIu64 " indicators.</p>\n",
                    c.alerts - c.retracted, c.retracted, c.iocs);
    s_filters (x, qt);
    ih_buf_t qs;
    ih_buf_init (&qs);
    ih_select_query (&l.sel, &qs);
    if (f) {
        ih_buf_printf (b, "<p class=\"small\">%d result%s for \xe2\x80\x9c", l.shown, l.shown == 1 ? "" : "s");
        ih_html_esc (b, qt);
        ih_html_puts (b, "\xe2\x80\x9d");
        if (f->ioc) {
            ih_html_puts (b, " (an indicator: ");
            ih_html_esc (b, ih_ioc_type_name (f->ioc_type));
            ih_html_puts (b, " <code>");
            ih_html_esc (b, f->ioc_value);
            ih_html_puts (b, "</code>, with the networks that contain it and parent domains)");
        }
        ih_buf_printf (b, ".%s%s</p>\n", f->full ? " Only the first 100 are shown." : "",
                        f->cut ? " The word search stopped before the oldest alerts: add a word." : "");
    }
    if (l.shown) {
        ih_con_alert_thead (b);
        ih_buf_append (b, l.rows.data, l.rows.len);
        ih_html_puts (b, "</tbody></table>\n");
    }
    else
        ih_html_puts (b, cut ? "<div class=\"empty\">None among the most recent alerts: look at older ones."
                                "</div>\n"
                             : "<div class=\"empty\">No alert matches.</div>\n");
    if (!f && (l.sel.before || l.more)) {
        ih_html_puts (b, "<nav class=\"pager\"><span>");
        if (l.sel.before) {
            ih_html_puts (b, "<a href=\"/alerts?");
            ih_html_esc (b, qs.data ? (const char *) qs.data : "");
            ih_html_puts (b, "\">\xe2\x86\x90 Newest</a>");
        }
        ih_html_puts (b, "</span><span>");
        if (l.more) {
            ih_buf_printf (b, "<a href=\"/alerts?before=%" PRIu64 "&amp;", l.last_seq);
            ih_html_esc (b, qs.data ? (const char *) qs.data : "");
            ih_html_puts (b, "\" accesskey=\"n\">Older \xe2\x86\x92</a>");
        }
        ih_html_puts (b, "</span></nav>\n");
    }
    ih_html_puts (b, "<p class=\"small\">Download this selection: ");
    static const char *const formats [] = { "csv", "stix21", "misp", "suricata", "plain", NULL };
    for (int i = 0; formats [i]; i++) {
        ih_buf_printf (b, "%s<a href=\"/export?format=%s&amp;", i ? " \xc2\xb7 " : "", formats [i]);
        ih_html_esc (b, qs.data ? (const char *) qs.data : "");
        ih_buf_printf (b, "\">%s</a>", formats [i]);
    }
    ih_html_puts (b, " \xc2\xb7 <a href=\"/downloads\">more</a></p>\n");
    ih_buf_free (&qs);
    ih_buf_free (&l.rows);
    free (f);
    ih_con_end (x);
}
