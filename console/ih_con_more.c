/*  ih_con_more.c: events, members, downloads and exports (see ih_con_more.h). */
#include <czmq.h>

#include "ih_con_alerts.h"
#include "ih_con_more.h"
#include "ih_export.h"
#include "ih_html.h"
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
    const char *x = json_string_value (*(json_t *const *) a);
    const char *y = json_string_value (*(json_t *const *) b);
    return strcmp (x ? x : "", y ? y : "");
}

/*  The org entry for org in orgs (made when missing). */
static json_t *
s_org (json_t *orgs, const char *org, const char *sector)
{
    size_t i;
    json_t *o;
    json_array_foreach (orgs, i, o)
        if (streq (json_string_value (json_object_get (o, "org")), org))
            return o;
    o = json_pack ("{s:s, s:s, s:[]}", "org", org, "sector", sector ? sector : "", "members");
    json_array_append_new (orgs, o);
    return o;
}

static void
s_sector (json_t *sectors, const char *s)
{
    if (!s || !*s || !ih_slug_valid (s, IH_MAX_SHORT))
        return;
    size_t i;
    json_t *v;
    json_array_foreach (sectors, i, v)
        if (streq (json_string_value (v), s))
            return;
    json_array_append_new (sectors, json_string (s));
}

static void
s_member (json_t *orgs, json_t *sectors, json_t *m)
{
    const char *org = json_string_value (json_object_get (m, "org"));
    const char *name = json_string_value (json_object_get (m, "name"));
    const char *sector = json_string_value (json_object_get (m, "sector"));
    const char *role = json_string_value (json_object_get (m, "role"));
    if (!org || !ih_slug_valid (org, IH_MAX_SHORT) || json_is_true (json_object_get (m, "gateway")))
        return;
    json_t *o = s_org (orgs, org, sector);
    if (name)
        json_array_append_new (json_object_get (o, "members"),
                               json_pack ("{s:s, s:s}", "name", name, "role", role ? role : ""));
    s_sector (sectors, sector);
}

/*  The roster document (see ih_con_more.h) in its normal form. */
static json_t *
s_roster_parse (const char *text, size_t len, const char *own_org, const char *own_sector)
{
    json_t *orgs = json_array (), *sectors = json_array ();
    json_t *doc = text ? json_loadb (text, len, 0, NULL) : NULL;
    json_t *members = json_is_array (doc) ? doc : json_object_get (doc, "members");
    size_t i, j;
    json_t *v, *w;
    json_array_foreach (members, i, v)
        s_member (orgs, sectors, v);
    json_array_foreach (json_object_get (doc, "orgs"), i, v) {
        const char *org = json_string_value (json_object_get (v, "org"));
        if (!org)
            org = json_string_value (json_object_get (v, "name"));
        if (!org || !ih_slug_valid (org, IH_MAX_SHORT))
            continue;
        const char *sector = json_string_value (json_object_get (v, "sector"));
        json_t *o = s_org (orgs, org, sector);
        s_sector (sectors, sector);
        json_array_foreach (json_object_get (v, "members"), j, w) {
            const char *name = json_is_string (w) ? json_string_value (w)
                                                  : json_string_value (json_object_get (w, "name"));
            const char *role = json_string_value (json_object_get (w, "role"));
            if (name)
                json_array_append_new (json_object_get (o, "members"),
                                       json_pack ("{s:s, s:s}", "name", name, "role", role ? role : ""));
        }
    }
    json_array_foreach (json_object_get (doc, "sectors"), i, v)
        s_sector (sectors, json_is_string (v) ? json_string_value (v)
                                              : json_string_value (json_object_get (v, "name")));
    bool available = json_array_size (orgs) > 0;
    if (own_org && *own_org)
        s_org (orgs, own_org, own_sector);
    s_sector (sectors, own_sector);
    json_decref (doc);
    //  Sorted, for stable pages.
    size_t n = json_array_size (orgs);
    json_t **list = (json_t **) calloc (n ? n : 1, sizeof (json_t *));
    if (!list)
        abort ();
    for (i = 0; i < n; i++)
        list [i] = json_incref (json_array_get (orgs, i));
    qsort (list, n, sizeof *list, s_by_org);
    json_array_clear (orgs);
    for (i = 0; i < n; i++)
        json_array_append_new (orgs, list [i]);
    free (list);
    n = json_array_size (sectors);
    list = (json_t **) calloc (n ? n : 1, sizeof (json_t *));
    if (!list)
        abort ();
    for (i = 0; i < n; i++)
        list [i] = json_incref (json_array_get (sectors, i));
    qsort (list, n, sizeof *list, s_by_text);
    json_array_clear (sectors);
    for (i = 0; i < n; i++)
        json_array_append_new (sectors, list [i]);
    free (list);
    return json_pack ("{s:b, s:o, s:o}", "available", available, "orgs", orgs, "sectors", sectors);
}

json_t *
ih_con_roster (ih_con_req_t *x)
{
    ih_buf_t buf;
    ih_buf_init (&buf);
    int rc = ih_store_aux_get (x->store, "roster", &buf, NULL);
    json_t *r = s_roster_parse (rc == 1 ? (const char *) buf.data : NULL, buf.len, x->con->org,
                                x->con->sector);
    ih_buf_free (&buf);
    return r;
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

typedef struct {
    char id [IH_UUID_LEN + 1];
    char date [16];
    char title [IH_MAX_TITLE + 1];
    char place [IH_MAX_SHORT + 1];
    char link [IH_MAX_REF + 1];
    char org [IH_MAX_SHORT + 1];
    ih_tlp_t tlp;
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
    s_event_t *v = &e->ev [e->n++];
    memset (v, 0, sizeof *v);
    snprintf (v->id, sizeof v->id, "%s", m->id);
    snprintf (v->title, sizeof v->title, "%s", m->title);
    snprintf (v->org, sizeof v->org, "%s", m->org);
    v->tlp = m->tlp;
    for (uint32_t i = 0; i < m->tags.count; i++) {
        const char *t = m->tags.items [i];
        if (strncmp (t, "date:", 5) == 0)
            snprintf (v->date, sizeof v->date, "%.10s", t + 5);
        else
        if (strncmp (t, "place:", 6) == 0)
            snprintf (v->place, sizeof v->place, "%s", t + 6);
    }
    if (!v->date [0]) {
        //  No date tag: the day it was shared.
        char iso [IH_TIME_MAX];
        ih_time_format (m->created, iso);
        snprintf (v->date, sizeof v->date, "%.10s", iso);
    }
    if (m->references.count)
        snprintf (v->link, sizeof v->link, "%s", m->references.items [0]);
    return 0;
}

static int
s_event_cmp (const void *a, const void *b)
{
    return strcmp (((const s_event_t *) a)->date, ((const s_event_t *) b)->date);
}

static void
s_event_rows (ih_buf_t *b, s_event_t *ev, int from, int to, int step)
{
    ih_html_puts (b, "<table class=\"dense\"><thead><tr><th>Date</th><th>Event</th><th>Place</th><th>TLP</th>"
                     "<th>Organiser</th><th>Link</th></tr></thead><tbody>\n");
    for (int i = from; i != to; i += step) {
        s_event_t *v = &ev [i];
        ih_html_puts (b, "<tr><td class=\"nowrap\">");
        ih_html_esc (b, v->date);
        ih_buf_printf (b, "</td><td class=\"t\"><a href=\"/alerts/%s\">", v->id);
        ih_html_esc (b, v->title);
        ih_html_puts (b, "</a></td><td>");
        ih_html_esc (b, v->place);
        ih_html_puts (b, "</td><td>");
        ih_con_tlp (b, v->tlp);
        ih_html_puts (b, "</td><td>");
        ih_html_esc (b, v->org);
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
    ih_category_t cat;
    if (ih_category_parse ("event", &cat) != 0) {
        ih_con_begin (x, "Events", "/events");
        ih_html_puts (b, "<h1>Events</h1><div class=\"empty\">This hub's version has no event category yet.</div>\n");
        ih_con_end (x);
        return;
    }
    s_events_t e = { (s_event_t *) calloc (s_MAX_EVENTS, sizeof (s_event_t)), 0 };
    if (!e.ev)
        abort ();
    ih_select_t sel;
    ih_select_init (&sel);
    sel.category = (int) cat;
    ih_err_t err = { "" };
    if (ih_select_walk (x->store, &sel, true, IH_CON_WALK_BUDGET, NULL, s_event_one, &e, &err) < 0) {
        free (e.ev);
        ih_con_fail (x, 503, "The agent's store cannot be read right now.");
        return;
    }
    qsort (e.ev, (size_t) e.n, sizeof *e.ev, s_event_cmp);
    char today [IH_TIME_MAX];
    ih_time_format (ih_now_ms (), today);
    today [10] = 0;
    int split = 0;
    while (split < e.n && strcmp (e.ev [split].date, today) < 0)
        split++;
    ih_con_begin (x, "Events", "/events");
    ih_html_puts (b, "<h1>Events</h1><p class=\"lede\">Seminars, workshops and exercises members announce "
                     "(alerts of category Event). CLEAR ones are also listed in the Public Zone.");
    if (x->user.role >= IH_USER_PUBLISHER)
        ih_html_puts (b, " <a href=\"/share\">Announce one</a>.");
    ih_html_puts (b, "</p>\n");
    ih_buf_printf (b, "<h2>Upcoming (%d)</h2>\n", e.n - split);
    if (e.n - split)
        s_event_rows (b, e.ev, split, e.n, 1);
    else
        ih_html_puts (b, "<p class=\"muted\">None announced.</p>\n");
    ih_buf_printf (b, "<h2>Past (%d)</h2>\n", split);
    if (split)
        s_event_rows (b, e.ev, split - 1, -1, -1);
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
    //  The roster in both shapes, sorted, the own org always there, the gateway left out.
    static const char a [] = "{\"members\":[{\"name\":\"soc\",\"org\":\"bank-b\",\"sector\":\"finance\","
        "\"role\":\"publisher\"},{\"name\":\"gw\",\"org\":\"public\",\"gateway\":true},"
        "{\"name\":\"csirt\",\"org\":\"hospital\",\"sector\":\"health\"},{\"name\":\"x\",\"org\":\"BAD ORG\"}]}";
    json_t *r = s_roster_parse (a, sizeof a - 1, "bank-a", "finance");
    char *t = json_dumps (r, JSON_COMPACT | JSON_SORT_KEYS);
    if (verbose)
        printf ("\n    %s", t);
    IH_CHECK (streq (t, "{\"available\":true,\"orgs\":[{\"members\":[],\"org\":\"bank-a\",\"sector\":\"finance\"},"
                        "{\"members\":[{\"name\":\"soc\",\"role\":\"publisher\"}],\"org\":\"bank-b\",\"sector\":"
                        "\"finance\"},{\"members\":[{\"name\":\"csirt\",\"role\":\"\"}],\"org\":\"hospital\","
                        "\"sector\":\"health\"}],\"sectors\":[\"finance\",\"health\"]}"));
    free (t);
    json_decref (r);
    static const char b [] = "{\"orgs\":[{\"name\":\"zeta\",\"sector\":\"energy\",\"members\":[\"a\","
        "{\"name\":\"b\",\"role\":\"reader\"}]}],\"sectors\":[\"telecom\",{\"name\":\"energy\"}]}";
    r = s_roster_parse (b, sizeof b - 1, "bank-a", "");
    t = json_dumps (r, JSON_COMPACT | JSON_SORT_KEYS);
    if (verbose)
        printf ("\n    %s", t);
    IH_CHECK (streq (t, "{\"available\":true,\"orgs\":[{\"members\":[],\"org\":\"bank-a\",\"sector\":\"\"},"
                        "{\"members\":[{\"name\":\"a\",\"role\":\"\"},{\"name\":\"b\",\"role\":\"reader\"}],"
                        "\"org\":\"zeta\",\"sector\":\"energy\"}],\"sectors\":[\"energy\",\"telecom\"]}"));
    free (t);
    json_decref (r);
    //  None, or not JSON: only the own org, not available.
    r = s_roster_parse (NULL, 0, "bank-a", "finance");
    IH_CHECK (!json_is_true (json_object_get (r, "available")) && json_array_size (json_object_get (r, "orgs")) == 1);
    json_decref (r);
    r = s_roster_parse ("{nope", 5, "bank-a", "");
    IH_CHECK (json_array_size (json_object_get (r, "orgs")) == 1 && json_array_size (json_object_get (r, "sectors")) == 0);
    json_decref (r);
    if (verbose)
        printf ("\n    ");
}
#endif
