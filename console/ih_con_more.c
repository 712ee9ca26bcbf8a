/*  ih_con_more.c: events, members, downloads and exports (see ih_con_more.h). */
#include <czmq.h>

#include "ih_con_alerts.h"
#include "ih_con_more.h"
#include "ih_export.h"
#include "ih_html.h"
#include "ih_roster.h"
#include "ih_select.h"

#define s_MAX_EVENTS    500
#define s_MAX_EXPORTS   4
#define s_CHUNK         (64 * 1024)

/* ---- the roster -------------------------------------------------------------------------- */

static int
s_by_org (const void *a, const void *b)
{
    const char *x = json_string_value (json_object_get (*(json_t *const *) a, "org"));
    const char *y = json_string_value (json_object_get (*(json_t *const *) b, "org"));
    return strcmp (x ? x : "", y ? y : "");
}

static int
s_by_text (const void *a, const void *b)
{
    return strcmp (json_string_value (*(json_t *const *) a), json_string_value (*(json_t *const *) b));
}

/*  Sorts a JSON array in place with cmp. */
static void
s_sort (json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size (arr);
    json_t **list = (json_t **) calloc (n ? n : 1, sizeof (json_t *));
    if (!list)
        abort ();
    for (size_t i = 0; i < n; i++)
        list [i] = json_incref (json_array_get (arr, i));
    qsort (list, n, sizeof *list, cmp);
    json_array_clear (arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new (arr, list [i]);
    free (list);
}

/*  The roster (ih_roster_load's, NULL when the daemon has stored none) as the pages use
    it (ih_con_more.h), the member's own org and sector always in it. */
static json_t *
s_roster_json (const ih_roster_t *r, const char *own_org, const char *own_sector)
{
    json_t *orgs = json_array (), *sectors = json_array ();
    for (size_t i = 0; r && i < r->org_count; i++) {
        const ih_roster_org_t *o = &r->orgs [i];
        json_t *members = json_array ();
        for (size_t k = 0; k < r->member_count; k++)
            if (streq (r->members [k].org, o->name))
                json_array_append_new (members, json_pack ("{s:s, s:s}", "name", r->members [k].name, "role",
                                                           ih_role_name (r->members [k].role)));
        json_array_append_new (orgs, json_pack ("{s:s, s:s, s:o}", "org", o->name, "sector", o->sector,
                                                "members", members));
    }
    for (size_t i = 0; r && i < r->sector_count; i++)
        json_array_append_new (sectors, json_string (r->sectors [i]));
    if (own_org && *own_org && !(r && ih_roster_org (r, own_org))) {
        json_array_append_new (orgs, json_pack ("{s:s, s:s, s:[]}", "org", own_org, "sector",
                                                own_sector ? own_sector : "", "members"));
        s_sort (orgs, s_by_org);
    }
    if (own_sector && *own_sector && !(r && ih_roster_has_sector (r, own_sector))) {
        json_array_append_new (sectors, json_string (own_sector));
        s_sort (sectors, s_by_text);
    }
    return json_pack ("{s:b, s:I, s:o, s:o}", "available", r != NULL, "updated",
                      (json_int_t) (r ? r->updated : 0), "orgs", orgs, "sectors", sectors);
}

json_t *
ih_con_roster (ih_con_req_t *x)
{
    ih_roster_t *r = NULL;
    ih_err_t err = { "" };
    if (ih_roster_load (x->store, &r, &err) < 0)
        fprintf (stderr, "E console: %s\n", err.msg);
    json_t *j = s_roster_json (r, x->con->org, x->con->sector);
    ih_roster_destroy (&r);
    return j;
}

void
ih_con_sector_datalist (ih_con_req_t *x, const char *id)
{
    json_t *r = ih_con_roster (x);
    ih_buf_t *b = &x->r->body;
    ih_html_puts (b, "<datalist id=\"");
    ih_html_esc (b, id);
    ih_html_puts (b, "\">");
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get (r, "sectors"), i, v) {
        ih_html_puts (b, "<option value=\"");
        ih_html_esc (b, json_string_value (v));
        ih_html_puts (b, "\">");
    }
    ih_html_puts (b, "</datalist>");
    json_decref (r);
}

/* ---- /members -------------------------------------------------------------------------------- */

void
ih_con_members (ih_con_req_t *x)
{
    json_t *r = ih_con_roster (x);
    ih_buf_t *b = &x->r->body;
    json_t *orgs = json_object_get (r, "orgs");
    json_t *sectors = json_object_get (r, "sectors");
    ih_con_begin (x, "Members", "/members");
    ih_buf_printf (b, "<h1>Members</h1><p class=\"lede\">The organisations and sectors of this hub: %zu %s, "
                    "%zu %s. Name them as recipients when you share at AMBER or above.</p>\n",
                    json_array_size (orgs), ih_plural (json_array_size (orgs), "organisation", "organisations"),
                    json_array_size (sectors), ih_plural (json_array_size (sectors), "sector", "sectors"));
    if (!json_is_true (json_object_get (r, "available")))
        ih_html_puts (b, "<div class=\"flash warn\">The agent has not received the hub's roster yet: only this "
                         "member's own organisation is listed.</div>\n");
    else {
        ih_html_puts (b, "<p class=\"small muted\">As the hub's registry signed each member (the agent checks "
                         "every record against the registry key it pinned); received ");
        ih_con_ago (b, json_integer_value (json_object_get (r, "updated")));
        ih_html_puts (b, ".</p>\n");
    }
    ih_html_puts (b, "<div class=\"cols\"><div><table class=\"dense\"><thead><tr><th>Organisation</th>"
                     "<th>Sector</th><th>Agents</th></tr></thead><tbody>\n");
    size_t i, j;
    json_t *o, *m;
    json_array_foreach (orgs, i, o) {
        const char *org = json_string_value (json_object_get (o, "org"));
        ih_html_puts (b, "<tr><td><strong>");
        ih_html_esc (b, org);
        ih_html_puts (b, streq (org, x->con->org) ? "</strong> <span class=\"tag\">you</span></td><td>"
                                                  : "</strong></td><td>");
        ih_html_esc (b, json_string_value (json_object_get (o, "sector")));
        ih_html_puts (b, "</td><td>");
        json_array_foreach (json_object_get (o, "members"), j, m) {
            if (j)
                ih_html_puts (b, ", ");
            ih_html_esc (b, json_string_value (json_object_get (m, "name")));
            const char *role = json_string_value (json_object_get (m, "role"));
            if (role && *role) {
                ih_html_puts (b, " <span class=\"muted small\">");
                ih_html_esc (b, role);
                ih_html_puts (b, "</span>");
            }
        }
        ih_html_puts (b, "</td></tr>\n");
    }
    ih_html_puts (b, "</tbody></table></div><div><table class=\"dense\"><thead><tr><th>Sector</th>"
                     "<th class=\"num\">Orgs</th><th></th></tr></thead><tbody>\n");
    json_array_foreach (sectors, i, o) {
        const char *s = json_string_value (o);
        int n = 0;
        json_array_foreach (orgs, j, m)
            n += streq (json_string_value (json_object_get (m, "sector")), s);
        ih_html_puts (b, "<tr><td>");
        ih_html_esc (b, s);
        ih_buf_printf (b, "</td><td class=\"num\">%d</td><td><a href=\"/alerts?sector=", n);
        ih_html_urlenc (b, s);
        ih_html_puts (b, "\">alerts</a></td></tr>\n");
    }
    ih_html_puts (b, "</tbody></table></div></div>\n");
    json_decref (r);
    ih_con_end (x);
}

/* ---- /events ---------------------------------------------------------------------------------- */

/*  One event as the page lists it (ih_msg_event's fields, copied out of the message). */
typedef struct {
    char id [IH_UUID_LEN + 1];
    int64_t when;                   /* 0: its date tag is missing or wrong */
    bool all_day;
    char title [IH_MAX_TITLE + 1];
    char place [IH_MAX_SHORT + 1];
    char link [IH_MAX_REF + 1];
    char org [IH_MAX_SHORT + 1];
    char author [IH_MAX_AUTHOR + 1];
    ih_tlp_t tlp;
    bool retracted;
} s_event_t;

typedef struct {
    s_event_t *ev;
    int n;
} s_events_t;

static int
s_event_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_events_t *e = (s_events_t *) arg;
    if (e->n == s_MAX_EVENTS)
        return 1;
    ih_event_t ev;
    int rc = ih_msg_event (m, &ev, NULL);
    if (rc == 0)
        return 0;                   //  not an event (the walk is by category: none)
    s_event_t *v = &e->ev [e->n++];
    memset (v, 0, sizeof *v);
    snprintf (v->id, sizeof v->id, "%s", m->id);
    snprintf (v->title, sizeof v->title, "%s", m->title);
    snprintf (v->org, sizeof v->org, "%s", m->org);
    snprintf (v->author, sizeof v->author, "%s", m->author ? m->author : "");
    v->tlp = m->tlp;
    v->retracted = info->retracted;
    if (rc == 1) {
        v->when = ev.when;
        v->all_day = ev.all_day;
        snprintf (v->place, sizeof v->place, "%s", ev.place);
        snprintf (v->link, sizeof v->link, "%s", ev.link);
    }
    return 0;
}

static int
s_event_cmp (const void *a, const void *b)
{
    int64_t x = ((const s_event_t *) a)->when, y = ((const s_event_t *) b)->when;
    return x < y ? -1 : x > y;
}

/*  Has it begun? An all-day event stays upcoming for its whole day. */
static bool
s_event_past (const s_event_t *v, int64_t now)
{
    return v->all_day ? v->when + 86400000LL <= now : v->when <= now;
}

static void
s_event_rows (ih_buf_t *b, s_event_t *ev, int from, int to, int step)
{
    ih_html_puts (b, "<table class=\"dense\"><thead><tr><th>When (UTC)</th><th>Event</th><th>Place</th><th>TLP</th>"
                     "<th>Organiser</th><th>Link</th></tr></thead><tbody>\n");
    for (int i = from; i != to; i += step) {
        s_event_t *v = &ev [i];
        ih_html_puts (b, v->retracted ? "<tr class=\"muted\"><td class=\"nowrap\">" : "<tr><td class=\"nowrap\">");
        if (v->when) {
            char iso [IH_TIME_MAX];
            ih_time_format (v->when, iso);
            ih_buf_printf (b, "<time datetime=\"%s\">%.10s%s%.*s</time>", iso, iso, v->all_day ? "" : " ",
                           v->all_day ? 0 : 5, iso + 11);
        }
        else
            ih_html_puts (b, "<span class=\"muted\">no valid date</span>");
        ih_buf_printf (b, "</td><td class=\"t\"><a href=\"/alerts/%s\">", v->id);
        ih_html_esc (b, v->title);
        ih_html_puts (b, "</a>");
        if (v->retracted)
            ih_html_puts (b, " <span class=\"tag\">cancelled</span>");
        ih_html_puts (b, "</td><td>");
        ih_html_esc (b, v->place);
        ih_html_puts (b, "</td><td>");
        ih_con_tlp (b, v->tlp);
        ih_html_puts (b, "</td><td>");
        ih_html_esc (b, v->org);
        if (v->author [0]) {
            ih_html_puts (b, " <span class=\"small muted\">(");
            ih_html_esc (b, v->author);
            ih_html_puts (b, ")</span>");
        }
        ih_html_puts (b, "</td><td>");
        if (v->link [0] && ih_html_safe_url (v->link)) {
            ih_html_puts (b, "<a rel=\"nofollow noopener noreferrer\" href=\"");
            ih_html_esc (b, v->link);
            ih_html_puts (b, "\">link</a>");
        }
        ih_html_puts (b, "</td></tr>\n");
    }
    ih_html_puts (b, "</tbody></table>\n");
}

void
ih_con_events (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    s_events_t e = { (s_event_t *) calloc (s_MAX_EVENTS, sizeof (s_event_t)), 0 };
    if (!e.ev)
        abort ();
    ih_select_t sel;
    ih_select_init (&sel);
    sel.category = (int) IH_CAT_EVENT;
    sel.status = IH_SELECT_ANY;     //  a retracted event is shown, as cancelled
    ih_err_t err = { "" };
    if (ih_select_walk (x->store, &sel, true, IH_CON_WALK_BUDGET, NULL, s_event_one, &e, &err) < 0) {
        free (e.ev);
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        return;
    }
    qsort (e.ev, (size_t) e.n, sizeof *e.ev, s_event_cmp);
    //  Sorted by start: the undated first, then the past, then the upcoming.
    int64_t now = ih_now_ms ();
    int undated = 0, split;
    while (undated < e.n && e.ev [undated].when == 0)
        undated++;
    split = undated;
    while (split < e.n && s_event_past (&e.ev [split], now))
        split++;
    ih_con_begin (x, "Events", "/events");
    ih_html_puts (b, "<h1>Events</h1><p class=\"lede\">Seminars, workshops and exercises members announce "
                     "(alerts of category Event, with a date, a place and a link). CLEAR ones are also listed "
                     "in the Public Zone.");
    if (x->user.role >= IH_USER_PUBLISHER)
        ih_html_puts (b, " <a href=\"/share\">Announce one</a> (category Event).");
    ih_html_puts (b, "</p>\n");
    ih_buf_printf (b, "<h2 id=\"upcoming\">Upcoming (%d)</h2>\n", e.n - split);
    if (e.n - split)
        s_event_rows (b, e.ev, split, e.n, 1);
    else
        ih_html_puts (b, "<p class=\"muted\">None announced.</p>\n");
    ih_buf_printf (b, "<h2 id=\"past\">Past (%d)</h2>\n", split - undated);
    if (split - undated)
        s_event_rows (b, e.ev, split - 1, undated - 1, -1);
    if (undated) {
        ih_buf_printf (b, "<h2 id=\"undated\">Without a valid date (%d)</h2>\n", undated);
        s_event_rows (b, e.ev, 0, undated, 1);
    }
    free (e.ev);
    ih_con_end (x);
}

/* ---- /downloads --------------------------------------------------------------------------------- */

static const struct {
    const char *name, *ext, *ctype, *what;
} s_formats [] = {
    { "csv", "csv", "text/csv; charset=utf-8; header=present", "one row per indicator (spreadsheets, SIEMs)" },
    { "jsonl", "jsonl", "application/x-ndjson", "one alert a line, Infohub's alert JSON" },
    { "stix21", "stix.json", "application/stix+json;version=2.1", "a STIX 2.1 bundle (OpenCTI, TIPs)" },
    { "misp", "misp.json", "application/json", "MISP events (import into MISP)" },
    { "suricata", "rules", "text/plain; charset=utf-8", "Suricata rules (detect indicators only)" },
    { "zeek", "intel", "text/plain; charset=utf-8", "a Zeek Intel framework file" },
    { "rpz", "rpz.zone", "text/plain; charset=utf-8", "a DNS response policy zone" },
    { "nft", "nft", "text/plain; charset=utf-8", "nftables blocklist sets" },
    { "plain", "txt", "text/plain; charset=utf-8", "one value a line" },
};
#define s_NFORMATS ((int) (sizeof s_formats / sizeof s_formats [0]))

void
ih_con_downloads (ih_con_req_t *x)
{
    ih_buf_t *b = &x->r->body;
    ih_con_begin (x, "Downloads", "/downloads");
    ih_html_puts (b, "<h1>Downloads</h1><p class=\"lede\">Everything this member holds, for firewalls, IDS, "
                     "SIEMs and other platforms. Retracted alerts and indicators are left out; detection "
                     "formats also leave out context-only indicators and values on a warninglist. TLP:RED "
                     "stays out unless you ask for it.</p>\n"
                     "<form class=\"filters\" method=\"get\" action=\"/export\">");
    ih_html_puts (b, "<label>Format<select name=\"format\">");
    for (int i = 0; i < s_NFORMATS; i++)
        ih_buf_printf (b, "<option value=\"%s\">%s</option>", s_formats [i].name, s_formats [i].name);
    ih_html_puts (b, "</select></label><label>TLP at most<select name=\"tlp_max\">"
                     "<option>CLEAR</option><option>GREEN</option><option selected>AMBER</option>"
                     "<option>AMBER+STRICT</option><option>RED</option></select></label>"
                     "<label>Severity<select name=\"severity\"><option value=\"\">any</option>"
                     "<option>low</option><option>medium</option><option>high</option><option>critical</option>"
                     "</select></label><label>Category<select name=\"category\"><option value=\"\">any</option>");
    for (int c = 0; c < IH_CAT_COUNT + 2 && ih_category_name ((ih_category_t) c); c++) {
        ih_buf_printf (b, "<option value=\"%s\">", ih_category_name ((ih_category_t) c));
        ih_html_esc (b, ih_con_cat_label ((ih_category_t) c));
        ih_html_puts (b, "</option>");
    }
    ih_html_puts (b, "</select></label><label>Sector<input type=\"text\" name=\"sector\" size=\"10\" "
                     "list=\"sectors\"></label>");
    ih_con_sector_datalist (x, "sectors");
    ih_html_puts (b, "<label>Since<select name=\"since\"><option value=\"\">any time</option><option>24h</option>"
                     "<option>7d</option><option>30d</option><option>90d</option></select></label>"
                     "<label>Types<input type=\"text\" name=\"type\" size=\"14\" placeholder=\"ipv4,domain\">"
                     "</label><label>Detect only<select name=\"detect\"><option value=\"\">no</option>"
                     "<option value=\"1\">yes</option></select></label>"
                     "<button type=\"submit\">Download</button></form>\n");
    ih_html_puts (b, "<table class=\"dense\"><thead><tr><th>Format</th><th>What</th><th>Everything up to AMBER"
                     "</th><th>Up to RED</th></tr></thead><tbody>\n");
    for (int i = 0; i < s_NFORMATS; i++)
        ih_buf_printf (b, "<tr><td><code>%s</code></td><td>%s</td><td><a href=\"/export?format=%s\">download</a>"
                        "</td><td><a href=\"/export?format=%s&amp;tlp_max=RED\">download</a></td></tr>\n",
                        s_formats [i].name, s_formats [i].what, s_formats [i].name, s_formats [i].name);
    ih_html_puts (b, "</tbody></table>\n");
    ih_con_end (x);
}

/* ---- /export ---------------------------------------------------------------------------------- */

/*  A stream reads one snapshot of the store (as the gateway's exports do: each alert
    once, as it was when the request came) in parts the web layer asks for. */
typedef struct {
    ih_con_t *con;
    ih_store_t *snap;
    ih_export_t *x;
    ih_buf_t *out;
    uint64_t after;
    int batch;
    bool failed;
    char id [IH_UUID_LEN + 1];      /* one alert, or "" */
} s_stream_t;

static int
s_sink (const void *data, size_t len, void *arg)
{
    ih_buf_append (((s_stream_t *) arg)->out, data, len);
    return 0;
}

static int
s_stream_one (const ih_msg_t *m, const ih_store_alert_t *info, void *arg)
{
    s_stream_t *s = (s_stream_t *) arg;
    s->after = info->seq;
    ih_err_t err = { "" };
    if (ih_export_alert (s->x, m, info, &err) != 0) {
        fprintf (stderr, "E console: export of alert %s failed: %s\n", m->id, err.msg);
        s->failed = true;
        return -1;
    }
    return ++s->batch >= 64 || s->out->len >= s_CHUNK ? 1 : 0;
}

static int
s_stream_fill (void *arg, ih_buf_t *out)
{
    s_stream_t *s = (s_stream_t *) arg;
    s->out = out;
    s->batch = 0;
    ih_err_t err = { "" };
    int rc;
    if (s->id [0]) {
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_store_alert_t info;
        rc = ih_store_get (s->snap, s->id, &m, &info, &err);
        if (rc == 1 && s_stream_one (&m, &info, s) < 0)
            rc = -1;
        else
        if (rc == 1)
            rc = 0;
        ih_msg_free (&m);
    }
    else
        rc = ih_store_foreach (s->snap, s->after, false, s_stream_one, s, &err);
    if (rc < 0 || s->failed) {
        if (!s->failed)
            fprintf (stderr, "E console: export stopped: %s\n", err.msg);
        return -1;
    }
    if (rc == 0) {
        if (ih_export_finish (s->x, &err) != 0) {
            fprintf (stderr, "E console: export could not finish: %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    return 1;
}

static void
s_stream_free (void *arg)
{
    s_stream_t *s = (s_stream_t *) arg;
    ih_export_destroy (&s->x);
    ih_store_destroy (&s->snap);
    s->con->streams--;
    free (s);
}

static const char *
s_arg (void *r, const char *key)
{
    const char *v = ih_req_arg ((ih_req_t *) r, key);
    return v && *v ? v : NULL;
}

void
ih_con_export (ih_con_req_t *x)
{
    ih_req_t *r = x->r;
    const char *format = ih_req_arg (r, "format");
    int fi = -1;
    for (int i = 0; format && i < s_NFORMATS; i++)
        if (streq (format, s_formats [i].name))
            fi = i;
    ih_export_format_t f;
    if (fi < 0 || ih_export_format_parse (format, &f) != 0) {
        ih_con_fail (x, 400, "format: one of csv, jsonl, stix21, misp, suricata, zeek, rpz, nft, plain.");
        return;
    }
    ih_export_opts_t opts;
    ih_export_opts_init (&opts);
    static const char *const keys [] = { "since", "tlp", "tlp_max", "category", "sector", "severity",
                                         "status", "type", "detect", NULL };
    ih_err_t err = { "" };
    if (ih_select_from (&opts.sel, keys, s_arg, r, &err) != 0) {
        ih_con_fail (x, 400, err.msg);
        return;
    }
    //  As `infohub-agent export`: AMBER+STRICT and RED only when asked for.
    if (opts.sel.tlp < 0 && opts.sel.tlp_max < 0)
        opts.sel.tlp_max = IH_TLP_AMBER;
    const char *id = ih_req_arg (r, "id");
    if (id && *id && !ih_uuid_valid (id)) {
        ih_con_fail (x, 400, "id: not an alert id.");
        return;
    }
    if (++x->con->streams > s_MAX_EXPORTS) {
        x->con->streams--;
        ih_con_fail (x, 503, "Too many exports are running: try again in a moment.");
        ih_req_add_header (r, "Retry-After", "5");
        return;
    }
    s_stream_t *s = (s_stream_t *) calloc (1, sizeof *s);
    if (!s)
        abort ();
    s->con = x->con;
    if (id)
        snprintf (s->id, sizeof s->id, "%s", id);
    s->snap = ih_store_snapshot (x->store, &err);
    if (!s->snap) {
        fprintf (stderr, "E console: export: %s\n", err.msg);
        s_stream_free (s);
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        return;
    }
    opts.wl = x->con->wl;
    opts.generator = "infohub-console";
    s->x = ih_export_new (f, &opts, s_sink, s, NULL, &err);
    if (!s->x) {
        s_stream_free (s);
        ih_con_fail (x, 500, err.msg);
        return;
    }
    ih_buf_t q;
    ih_buf_init (&q);
    ih_select_query (&opts.sel, &q);
    ih_con_audit (x, "export", "%s%s%s %s", format, id ? " of alert " : "", id ? id : "",
                  q.data ? (const char *) q.data : "");
    ih_buf_free (&q);
    char disp [200];
    snprintf (disp, sizeof disp, "attachment; filename=\"infohub-%s%s%.8s.%s\"", x->con->org, id ? "-" : "",
              id ? id : "", s_formats [fi].ext);
    r->ctype = s_formats [fi].ctype;
    ih_req_add_header (r, "Content-Disposition", disp);
    ih_req_stream (r, s_stream_fill, s_stream_free, s);     //  frees s when it fails
}

/* ---- self-test --------------------------------------------------------------------------------- */
#ifdef IH_SELFTEST

void
ih_con_more_test (bool verbose)
{
    //  The roster as ih_roster_load gives it: by org, the own org always there.
    ih_member_t mem [3];
    memset (mem, 0, sizeof mem);
    snprintf (mem [0].name, sizeof mem [0].name, "soc");
    snprintf (mem [0].org, sizeof mem [0].org, "bank-b");
    snprintf (mem [0].sector, sizeof mem [0].sector, "finance");
    mem [0].role = IH_ROLE_PUBLISHER;
    mem [1] = mem [0];
    snprintf (mem [1].name, sizeof mem [1].name, "desk");
    mem [1].role = IH_ROLE_READER;
    snprintf (mem [2].name, sizeof mem [2].name, "csirt");
    snprintf (mem [2].org, sizeof mem [2].org, "hospital");
    snprintf (mem [2].sector, sizeof mem [2].sector, "health");
    ih_roster_org_t orgs [2] = { { "bank-b", "finance", 2, 1 }, { "hospital", "health", 1, 0 } };
    char sectors [2][IH_MAX_SHORT + 1] = { "finance", "health" };
    ih_roster_t r = { 1800000000000LL, mem, 3, orgs, 2, sectors, 2 };
    json_t *j = s_roster_json (&r, "bank-a", "energy");
    char *t = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
    if (verbose)
        printf ("\n    %s", t);
    IH_CHECK (streq (t, "{\"available\":true,\"orgs\":[{\"members\":[],\"org\":\"bank-a\",\"sector\":\"energy\"},"
                        "{\"members\":[{\"name\":\"soc\",\"role\":\"publisher\"},{\"name\":\"desk\",\"role\":"
                        "\"reader\"}],\"org\":\"bank-b\",\"sector\":\"finance\"},{\"members\":[{\"name\":\"csirt\","
                        "\"role\":\"reader\"}],\"org\":\"hospital\",\"sector\":\"health\"}],\"sectors\":[\"energy\","
                        "\"finance\",\"health\"],\"updated\":1800000000000}"));
    free (t);
    json_decref (j);
    //  None stored yet: only the own org, not available.
    j = s_roster_json (NULL, "bank-a", "finance");
    IH_CHECK (!json_is_true (json_object_get (j, "available")) && json_array_size (json_object_get (j, "orgs")) == 1);
    IH_CHECK (json_array_size (json_object_get (j, "sectors")) == 1);
    json_decref (j);

    //  Events: the date, place and link of ih_msg_event; a wrong date is kept, undated.
    s_events_t e = { (s_event_t *) calloc (3, sizeof (s_event_t)), 0 };
    IH_CHECK (e.ev);
    ih_store_alert_t info;
    memset (&info, 0, sizeof info);
    const char *dates [3] = { "date:2027-01-14T09:00Z", "date:2027-02-30", "date:2001-05-02" };
    for (int i = 0; i < 3; i++) {
        ih_msg_t m;
        ih_msg_init (&m, IH_KIND_ALERT);
        ih_uuid_new (m.id);
        m.title = "Workshop";
        m.org = "bank-a";
        m.category = IH_CAT_EVENT;
        ih_msg_strlist_add (&m, &m.tags, dates [i]);
        ih_msg_strlist_add (&m, &m.tags, "place:Bern, Hall 2");
        ih_msg_strlist_add (&m, &m.references, "https://example.org/register");
        IH_CHECK (s_event_one (&m, &info, &e) == 0);
        ih_msg_free (&m);
    }
    IH_CHECK (e.n == 3);
    qsort (e.ev, 3, sizeof *e.ev, s_event_cmp);
    IH_CHECK (e.ev [0].when == 0 && e.ev [1].all_day && !e.ev [2].all_day);
    IH_CHECK (streq (e.ev [2].place, "Bern, Hall 2") && streq (e.ev [2].link, "https://example.org/register"));
    int64_t now = e.ev [2].when - 1;
    IH_CHECK (s_event_past (&e.ev [1], now) && !s_event_past (&e.ev [2], now) && s_event_past (&e.ev [2], now + 2));
    free (e.ev);
    if (verbose)
        printf ("\n    ");
}
#endif
